/*
 * pub_tool: a JIT workload for the external tools of
 * tests/scripts/publishers.sh (GDB, perf).
 *
 *   pub_tool MASK FORM SECONDS
 *
 * Sets the publishers to MASK (SW_JIT_PUB_* bits), generates the chain
 * main -> run_chain -> jit_f0 -> ... -> jit_f11 -> on_leaf (emit_chain,
 * each JIT function spinning a little) and registers it with FORM (an
 * index of jit_common.c's enum form).  Then:
 *   - calls the chain once; on_leaf calls gdb_stop_here() (GDB's first
 *     breakpoint: bt lists jit_f11 ... jit_f0, run_chain, main);
 *   - keeps calling it for SECONDS (a profile for perf);
 *   - sw_jit_remove, then gdb_after_remove() (GDB's second breakpoint:
 *     the JIT names are gone; `jit_addr` holds jit_f3's address).
 * Prints "pub_tool: N calls" and exits 0, or 1 on a setup failure.
 */
#include <time.h>

#include "jit_common.c"

#define NFNS 12

static struct emit_fn fns[NFNS];
volatile uint64_t jit_addr;          /* for GDB: an address inside jit_f3 */
static volatile int stop_once = 1;

NOINLINE void gdb_stop_here(void);
NOINLINE void gdb_after_remove(void);

NOINLINE void gdb_stop_here(void)
{
	__asm__ __volatile__("" ::: "memory");
}

NOINLINE void gdb_after_remove(void)
{
	__asm__ __volatile__("" ::: "memory");
}

NOINLINE static uint64_t on_leaf(uint64_t arg)
{
	if (stop_once) {
		stop_once = 0;
		gdb_stop_here();
	}
	return arg;
}

__attribute__((noipa)) static uint64_t run_chain(uint64_t arg)
{
	uint64_t (*f)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)fns[0].start;
	uint64_t r = f(arg);
	__asm__ __volatile__("" ::: "memory");
	return r + 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: pub_tool MASK FORM SECONDS\n");
		return 1;
	}
	unsigned mask = (unsigned)strtoul(argv[1], NULL, 0);
	int form = atoi(argv[2]);
	double secs = atof(argv[3]);
	struct emit_buf b;
	if (emit_buf_init(&b, 1 << 20, 0) != 0 ||
	    emit_chain(&b, fns, NFNS, (uint64_t)(uintptr_t)on_leaf, 2000) != 0) {
		printf("emit failed\n");
		return 1;
	}
	jit_addr = fns[3].start + 4;
	if (sw_jit_set_publishers(mask) < 0) {
		printf("sw_jit_set_publishers failed\n");
		return 1;
	}
	struct regset rs = { .fns = fns, .n = NFNS, .form = form, .kind = form_kind(form) };
	int rc = regset_add(&rs, true);
	if (rc != 0) {
		printf("register: %s\n", t_status(rc));
		return 1;
	}
	unsigned long calls = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		run_chain(calls++);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 < secs);
	rc = regset_remove(&rs);
	if (rc != 0) {
		printf("remove: %s\n", t_status(rc));
		return 1;
	}
	gdb_after_remove();
	printf("pub_tool: %lu calls\n", calls);
	return 0;
}
