/*
 * jit_target: a process with JIT frames on its stacks, for the remote
 * walks of tests/scripts/remote_jit.sh (attach, gcore, gdb).
 *
 *   jit_target [corrupt|churn|fuzz]
 *
 * Two chains of generated x86-64 code (tests/jit/emit.c: shapes with and
 * without a frame pointer, saved registers, frames of every size, so a
 * walk needs their CFI), each registered with stackwalk's registry and so
 * published to the GDB JIT interface (SW_JIT_PUB_GDB):
 *
 *   main thread:   main -> run_chain -> jit_f0 -> jit_f1 -> jit_f2 -> jit_f3
 *                  -> on_leaf -> block_here -> pause()
 *                  (sw_jit_add_procs, SW_JIT_UNWIND_CFI)
 *   second thread: thread_main -> run_chain -> jit_g0 -> ... -> jit_g3
 *                  -> on_leaf -> block_here -> pause()
 *                  (sw_jit_add_eh_frame: .eh_frame bytes, pc-relative)
 *
 * plus one generated leaf function that no registry knows, named only in
 * /tmp/perf-PID.map ("START SIZE perf only fn(int)"), after a malformed
 * line the reader must skip.  When both threads are blocked it prints
 *
 *   ready PID PERF_ADDR
 *
 * (PERF_ADDR: an address inside the perf-map-only function) to stdout and
 * sleeps until killed.
 *
 * With `corrupt`, entries no JIT would write are appended to the GDB JIT
 * list after the two real objects (a reader must skip each with a
 * warning and still add the real ones): a size of 0, a size of 1 TiB, an
 * object at an unmapped address, an object that is not ELF, a second entry
 * for the first real object (its code overlaps), and the last entry's
 * next pointer back to the first entry (a cycle: GDB itself would loop, so
 * the test keeps GDB away from this one); and the perf map has a line of
 * 5000 bytes before the function's, which is 0x-prefixed and has no
 * newline.
 *
 * With `churn`, a third thread registers and removes a one-procedure
 * chunk ("churn_fn") in a loop for as long as the process lives: GDB's
 * list changes under a reader (objects built, linked, unlinked, freed and
 * their memory reused) while the two chains stay.
 *
 * With `fuzz`, FUZZ_COPIES copies of the first real object follow the two
 * in the list, each with a few bytes changed (a fixed pseudo-random
 * sequence: the same run every time) and every other one with a section
 * turned into SHT_RELA: a reader must neither crash nor hang on them.  It lets any process ptrace it (PR_SET_PTRACER, for
 * Yama's ptrace_scope 1).  The caller removes /tmp/perf-PID.map.  Exits 1 on
 * a setup failure.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "emit.h"
#include "gdb_jit.h"

#define NFNS 4

static struct emit_fn fa[NFNS], fb[NFNS];
static int arrived;
static uint64_t perf_addr;

__attribute__((noinline)) static void block_here(void)
{
	for (;;)
		pause();
}

__attribute__((noinline)) static uint64_t on_leaf(uint64_t arg)
{
	if (__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL) == 2) {
		printf("ready %d 0x%" PRIx64 "\n", (int)getpid(), perf_addr);
		fflush(stdout);
	}
	block_here();
	return arg;
}

/* Its name must stay run_chain (no .isra / .constprop clone): gcc's noipa. */
#ifdef __clang__
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

NOIPA static uint64_t run_chain(const struct emit_fn *fns, uint64_t arg)
{
	uint64_t (*f)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)fns[0].start;
	uint64_t r = f(arg);
	__asm__ __volatile__("" ::: "memory");
	return r + 1;
}

static void *thread_main(void *arg)
{
	(void)arg;
	run_chain(fb, 2);
	return NULL;
}

/* Chain a: procedures with CFI instructions. */
static int add_a(void)
{
	struct sw_jit_proc p[NFNS];
	sw_jit_handle_t h;
	for (size_t i = 0; i < NFNS; i++)
		if (emit_proc(&fa[i], SW_JIT_UNWIND_CFI, &p[i]) != 0)
			return -1;
	return sw_jit_add_procs(p, NFNS, &h);
}

/* Chain b: one .eh_frame for the four, pc-relative pointers encoded for
 * an address next to the code (the registry reads them as if the bytes
 * were there; the GDB publisher re-encodes them). */
static int add_b(void)
{
	const struct emit_fn *sorted[NFNS];
	const char *names[NFNS];
	sw_jit_handle_t h;
	for (size_t i = 0; i < NFNS; i++)   /* emit_chain places the last one first */
		sorted[i] = &fb[NFNS - 1 - i];
	for (size_t i = 0; i < NFNS; i++)
		names[i] = sorted[i]->name;
	uint64_t eh_addr = sorted[0]->start - 0x10000;
	int size = emit_eh_frame(sorted, NFNS, NULL, 0, eh_addr, SW_CFI_B_PCREL4);
	uint8_t *eh = size > 0 ? malloc((size_t)size) : NULL;
	if (!eh)
		return -1;
	size = emit_eh_frame(sorted, NFNS, eh, (size_t)size, eh_addr, SW_CFI_B_PCREL4);
	int rc = size < 0 ? size : sw_jit_add_eh_frame(eh, (size_t)size, eh_addr, names, NFNS, &h);
	free(eh);
	return rc;
}

/* `churn`: register and remove churn_fn forever. */
static void *churn_main(void *arg)
{
	const struct emit_fn *fn = arg;
	struct sw_jit_proc p;
	if (emit_proc(fn, SW_JIT_UNWIND_CFI, &p) != 0)
		return NULL;
	for (;;) {
		sw_jit_handle_t h;
		if (sw_jit_add_procs(&p, 1, &h) == 0)
			sw_jit_remove(h);
	}
	return NULL;
}

/* `fuzz`: mutated copies of the first object after the tail. */
#define FUZZ_COPIES 300
static void fuzz_list(void)
{
	static struct jit_code_entry e[FUZZ_COPIES];
	struct jit_code_entry *first = __jit_debug_descriptor.first_entry, *tail = first;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t size = first->symfile_size;

	while (tail->next_entry)
		tail = tail->next_entry;
	for (size_t i = 0; i < FUZZ_COPIES; i++) {
		uint8_t *img = malloc(size);
		if (!img)
			break;
		memcpy(img, first->symfile_addr, size);
		for (int k = 0; k < 1 + (int)(i % 4); k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			img[(x >> 33) % size] ^= (uint8_t)(1u << ((x >> 20) % 8));
		}
		Elf64_Ehdr eh;
		memcpy(&eh, img, sizeof(eh));
		if (i % 2 && eh.e_shoff < size && eh.e_shnum > 1 &&
		    eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) <= size) {
			uint32_t rela = SHT_RELA;
			size_t sec = 1 + (x >> 40) % (eh.e_shnum - 1u);
			memcpy(img + eh.e_shoff + sec * sizeof(Elf64_Shdr) +
			       offsetof(Elf64_Shdr, sh_type), &rela, sizeof(rela));
		}
		e[i].symfile_addr = (const char *)img;
		e[i].symfile_size = size;
		e[i].prev_entry = tail;
		tail->next_entry = &e[i];
		tail = &e[i];
	}
}

/* `corrupt`: the bad entries of the header comment, after the tail. */
static void corrupt_list(void)
{
	static struct jit_code_entry bad[5];
	static char garbage[4096];
	struct jit_code_entry *first = __jit_debug_descriptor.first_entry, *tail = first;

	while (tail->next_entry)
		tail = tail->next_entry;
	memset(garbage, 0x41, sizeof(garbage));
	bad[0].symfile_addr = garbage;                  /* size 0 */
	bad[1].symfile_addr = garbage;
	bad[1].symfile_size = 1ull << 40;               /* 1 TiB */
	bad[2].symfile_addr = (const char *)16;         /* unmapped */
	bad[2].symfile_size = 4096;
	bad[3].symfile_addr = garbage;                  /* not ELF */
	bad[3].symfile_size = sizeof(garbage);
	bad[4].symfile_addr = first->symfile_addr;      /* the first object again */
	bad[4].symfile_size = first->symfile_size;
	for (size_t i = 0; i < 5; i++) {
		bad[i].prev_entry = i ? &bad[i - 1] : tail;
		bad[i].next_entry = i + 1 < 5 ? &bad[i + 1] : first;   /* the cycle */
	}
	tail->next_entry = &bad[0];
}

int main(int argc, char **argv)
{
	bool corrupt = argc == 2 && strcmp(argv[1], "corrupt") == 0;
	bool churn = argc == 2 && strcmp(argv[1], "churn") == 0;
	bool fuzz = argc == 2 && strcmp(argv[1], "fuzz") == 0;
	if (argc > 2 || (argc == 2 && !corrupt && !churn && !fuzz)) {
		fprintf(stderr, "usage: jit_target [corrupt|churn|fuzz]\n");
		return 1;
	}
	struct emit_buf ba, bb;
	struct emit_fn perf_fn;
	struct emit_spec leaf = { .name = "perf_only", .fp = 1 };

	/* Yama ptrace_scope 1: let the test's probe, gdb and gcore attach */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	/* two buffers far apart: two objects in GDB's list */
	if (emit_buf_init(&ba, 1 << 16, 0) != 0 || emit_buf_init(&bb, 1 << 16, 0) != 0 ||
	    emit_chain(&ba, fa, NFNS, (uint64_t)(uintptr_t)on_leaf, 0) != 0 ||
	    emit_chain(&bb, fb, NFNS, (uint64_t)(uintptr_t)on_leaf, 0) != 0 ||
	    emit_fn(&ba, &leaf, &perf_fn) != 0) {
		fprintf(stderr, "jit_target: emit failed\n");
		return 1;
	}
	for (size_t i = 0; i < NFNS; i++)
		snprintf(fb[i].name, sizeof(fb[i].name), "jit_g%zu", i);
	if (sw_jit_set_publishers(SW_JIT_PUB_GDB | SW_JIT_PUB_LIBGCC) < 0) {
		fprintf(stderr, "jit_target: sw_jit_set_publishers failed\n");
		return 1;
	}
	int rc;
	if ((rc = add_a()) != 0 || (rc = add_b()) != 0) {
		fprintf(stderr, "jit_target: register: %s\n", sw_strerror(rc));
		return 1;
	}

	if (corrupt)
		corrupt_list();
	if (fuzz)
		fuzz_list();

	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "not a perf map line\n");
	if (corrupt) {
		/* a line too long, then the function's, 0x-prefixed, no newline */
		for (int i = 0; i < 5000; i++)
			fputc('a', f);
		fprintf(f, "\n0x%" PRIx64 " 0x%" PRIx64 " perf only fn(int)",
			perf_fn.start, perf_fn.end - perf_fn.start);
	} else {
		fprintf(f, "%" PRIx64 " %" PRIx64 " perf only fn(int)\n",
			perf_fn.start, perf_fn.end - perf_fn.start);
	}
	fclose(f);
	perf_addr = perf_fn.start + 1;

	static struct emit_buf bc;
	static struct emit_fn churn_fn;
	struct emit_spec cs = { .name = "churn_fn", .fp = 1 };
	pthread_t t;
	if (churn && (emit_buf_init(&bc, 1 << 16, 0) != 0 || emit_fn(&bc, &cs, &churn_fn) != 0 ||
		      pthread_create(&t, NULL, churn_main, &churn_fn) != 0)) {
		fprintf(stderr, "jit_target: churn setup failed\n");
		return 1;
	}
	if (pthread_create(&t, NULL, thread_main, NULL) != 0) {
		fprintf(stderr, "jit_target: pthread_create failed\n");
		return 1;
	}
	run_chain(fa, 1);
	return 0;
}
