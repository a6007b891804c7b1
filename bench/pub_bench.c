/*
 * pub_bench: what publishing costs per registration.
 *
 *   pub_bench N
 *
 * Registers N procedures one sw_jit_add_procs call each (standard-frame
 * descriptors with names, 64-byte procedures in a mapped, readable range:
 * jitdump copies the code) with the publishers of each mode on, then
 * removes them (not timed).  Prints, in ns per procedure:
 *   jit.register.gdb             GDB JIT interface (grouped ELF objects)
 *   jit.register.perf            perf map line + jitdump records
 *   jit.register.libgcc          __register_frame (libgcc_s here)
 *   jit.register.all_publishers  all of them (nongnu libunwind too when
 *                                loaded: it is not, in this program)
 * and the registration without publishers on stderr for reference.  The
 * median of 3 rounds per mode.  Then, at 10^5 one-procedure registrations
 * (median of 3 rounds each):
 *   jit.register.1e5.none / .default   without publishers / with the
 *                                default ones, never calling
 *                                sw_jit_set_publishers (libgcc, GDB, and
 *                                libunwind, which is absent here)
 *   jit.remove.1e5.default       sw_jit_remove of those
 *   jit.memory.1e5.none / .default   heap bytes per procedure (mallinfo2)
 *   jit.lookup.1e5.libgcc_default    _Unwind_Find_FDE of random JIT PCs in
 *                                libgcc_s (linked) after the registrations,
 *                                the first (sorting) lookup excluded  perf files go to $JITDUMPDIR (run.sh
 * points it at a scratch directory) and /tmp/perf-PID.map, removed after.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "bench_util.h"

static uint8_t *code;
static size_t nprocs;
static sw_jit_handle_t *handles;
static char (*names)[32];

/* Register procedure i: 64 bytes at code + i * 64, a standard frame with
 * a frame pointer and its ret at offset 63, named names[i]. */
static void add_one(size_t i)
{
	static const uint32_t ret_at = 63;
	struct sw_jit_proc p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.start = sw_jit_addr(code + i * 64);
	p.end = p.start + 64;
	p.name = names[i];
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = &ret_at;
	rc = sw_jit_add_procs(&p, 1, &handles[i]);
	if (rc < 0) {
		fprintf(stderr, "pub_bench: sw_jit_add_procs: %s\n", sw_strerror(rc));
		exit(1);
	}
}

static double round_ns(unsigned mask)
{
	double t0, t1;

	if (sw_jit_set_publishers(mask) < 0) {
		fprintf(stderr, "pub_bench: sw_jit_set_publishers(%#x) failed\n", mask);
		exit(1);
	}
	t0 = now_ns();
	for (size_t i = 0; i < nprocs; i++)
		add_one(i);
	t1 = now_ns();
	for (size_t i = 0; i < nprocs; i++)
		sw_jit_remove(handles[i]);
	sw_jit_set_publishers(0);
	return (t1 - t0) / (double)nprocs;
}

/* libgcc's lookup (unwind-dw2-fde.h) */
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

struct big {
	double reg_ns, rm_ns, bytes, lookup_ns;
};

/* One round of `n` registrations with the default publishers (dflt) or
 * none; the lookups only with dflt. */
static struct big big_round(size_t n, int dflt)
{
	struct big r = { 0, 0, 0, 0 };
	struct mallinfo2 m0 = mallinfo2(), m1;
	int prev = 0;

	if (!dflt)
		prev = sw_jit_set_publishers(0);
	double t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		add_one(i);
	r.reg_ns = (now_ns() - t0) / (double)n;
	m1 = mallinfo2();
	r.bytes = ((double)m1.uordblks - (double)m0.uordblks) / (double)n;
	if (dflt) {
		struct dwarf_eh_bases b;
		if (!_Unwind_Find_FDE(code + 8, &b)) {   /* libgcc sorts here */
			fprintf(stderr, "pub_bench: libgcc_s does not know the JIT code\n");
			exit(1);
		}
		const int K = 100000;
		size_t miss = 0;
		t0 = now_ns();
		for (int k = 0; k < K; k++)
			miss += _Unwind_Find_FDE(code + (rng() % n) * 64 + 5, &b) == NULL;
		r.lookup_ns = (now_ns() - t0) / K;
		if (miss) {
			fprintf(stderr, "pub_bench: %zu libgcc lookups failed\n", miss);
			exit(1);
		}
	}
	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		sw_jit_remove(handles[i]);
	r.rm_ns = (now_ns() - t0) / (double)n;
	if (!dflt)
		sw_jit_set_publishers((unsigned)prev);
	return r;
}

static int cmp_big(const void *a, const void *b)
{
	double x = ((const struct big *)a)->reg_ns, y = ((const struct big *)b)->reg_ns;
	return x < y ? -1 : x > y;
}

static double median3(unsigned mask)
{
	double r[3];

	for (int i = 0; i < 3; i++)
		r[i] = round_ns(mask);
	qsort(r, 3, sizeof(r[0]), cmp_double);
	return r[1];
}

int main(int argc, char **argv)
{
	const size_t NBIG = 100000;
	nprocs = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	size_t nmax = nprocs > NBIG ? nprocs : NBIG;
	code = mmap(NULL, nmax * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	handles = calloc(nmax, sizeof(*handles));
	names = calloc(nmax, sizeof(*names));
	if (code == MAP_FAILED || !handles || !names)
		return 1;
	memset(code, 0xc3, nmax * 64);          /* ret: jitdump copies real bytes */
	for (size_t i = 0; i < nmax; i++)
		snprintf(names[i], sizeof(names[i]), "jit_fn_%zu", i);

	/* first, while the defaults are untouched (median3 sets masks) */
	struct big none[3], dflt[3];
	for (int i = 0; i < 3; i++) {
		dflt[i] = big_round(NBIG, 1);
		none[i] = big_round(NBIG, 0);
	}
	qsort(none, 3, sizeof(none[0]), cmp_big);
	qsort(dflt, 3, sizeof(dflt[0]), cmp_big);
	printf("jit.register.1e5.none: %.1f ns/proc\n", none[1].reg_ns);
	printf("jit.register.1e5.default: %.1f ns/proc\n", dflt[1].reg_ns);
	printf("jit.remove.1e5.default: %.1f ns/proc\n", dflt[1].rm_ns);
	printf("jit.memory.1e5.none: %.1f bytes/proc\n", none[1].bytes);
	printf("jit.memory.1e5.default: %.1f bytes/proc\n", dflt[1].bytes);
	printf("jit.lookup.1e5.libgcc_default: %.1f ns\n", dflt[1].lookup_ns);

	double base = median3(0);
	double gdb = median3(SW_JIT_PUB_GDB);
	double perf = median3(SW_JIT_PUB_PERF_MAP | SW_JIT_PUB_JITDUMP);
	double gcc = median3(SW_JIT_PUB_LIBGCC);
	double all = median3(SW_JIT_PUB_ALL);

	fprintf(stderr, "pub_bench: %zu procedures; without publishers %.1f ns/proc\n", nprocs, base);
	printf("jit.register.gdb: %.1f ns/proc\n", gdb);
	printf("jit.register.perf: %.1f ns/proc\n", perf);
	printf("jit.register.libgcc: %.1f ns/proc\n", gcc);
	printf("jit.register.all_publishers: %.1f ns/proc\n", all);

	char map[64];
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)getpid());
	unlink(map);
	return 0;
}
