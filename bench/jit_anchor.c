/*
 * JIT lookup anchors: what a JIT gets today from the system unwinder when
 * it registers each generated function with __register_frame.
 *
 *   [JIT_ANCHOR_LIB=PATH] jit_anchor NAME N...   (e.g. jit_anchor libgcc 1000 10000 100000)
 *
 * For each N: N adjacent 64-byte procedures in an address range reserved
 * PROT_NONE (the unwinder never reads the code), each with its own
 * zero-terminated .eh_frame (one CIE, one FDE, built with the CFI builder,
 * pc-relative sdata4) registered with one __register_frame call, in
 * address order, as a JIT emitting functions one by one would.  Then:
 *   - the first _Unwind_Find_FDE, on a PC of the first procedure: libgcc
 *     classifies (sorts) every registered object on its first lookup, so
 *     it is timed alone and printed as jit.first_lookup.N.NAME in ms (on
 *     stdout for libgcc at N = 100000 only, on stderr otherwise);
 *   - _Unwind_Find_FDE on a precomputed array of random PCs across all
 *     procedures, every result checked once against the expected FDE,
 *     then timed over RUNS passes: jit.lookup.N.NAME, the median, in ns;
 *   - __deregister_frame of every object with the same pointers (in
 *     reverse address order: libgcc keeps its classified objects sorted by
 *     decreasing address, so that order finds each at the list head), timed
 *     on stderr.
 *
 * Which unwinder answers is decided at link time: the program is linked
 * either against libgcc_s (NAME libgcc) or, built with -DANCHOR_LLVM,
 * against LLVM libunwind 16 (NAME llvm), the unwinder library before
 * libstackwalk.a (only the CFI builder is used from it).  The two take
 * different pointers: libgcc's __register_frame wants the start of a
 * zero-terminated .eh_frame (it walks CIEs and FDEs), LLVM libunwind's
 * (16, on Linux) wants one FDE (__unw_add_dynamic_fde: "FDE is really a
 * CIE" otherwise), as LLVM's own RegisterEHFrames.cpp does it.  The library that provides __register_frame and
 * _Unwind_Find_FDE is printed on stderr (dladdr); with JIT_ANCHOR_LIB set
 * to a library's path, the program refuses to measure any other.
 *
 * stdout carries only `name: value unit` lines; progress goes to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "bench_util.h"

/* libgcc's (and LLVM libunwind's) registration and lookup entry points;
 * <unwind.h> does not declare them. */
struct dwarf_eh_bases {
	void *tbase;
	void *dbase;
	void *func;
};
void __register_frame(void *begin);
void __deregister_frame(void *begin);
const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

/* what __register_frame / __deregister_frame get (see the top comment) */
#ifdef ANCHOR_LLVM
#define REG_PTR(eh, fde_off) ((eh) + (fde_off))
#define FIRST_ON_STDOUT 0   /* LLVM keeps an unsorted array: nothing to sort */
#else
#define REG_PTR(eh, fde_off) (eh)
#define FIRST_ON_STDOUT 1
#endif

#define PROC_SIZE 64        /* bytes of code per procedure */
#define EH_STRIDE 128       /* bytes reserved per .eh_frame copy */
#define RUNS 5
#define LOOKUP_BUDGET 1e8   /* N * lookups per pass: ~0.06 s per pass for a linear search */

static volatile uintptr_t sink;

static void die(const char *what)
{
	fprintf(stderr, "jit_anchor: %s\n", what);
	exit(1);
}

/*
 * Build the .eh_frame for the procedure at `code` into `eh` (EH_STRIDE
 * bytes): push rbp at offset 0, mov rbp,rsp at offset 1, rbp-based CFA
 * from offset 4 on, as a frame-pointer JIT function would describe itself.
 * Returns the offset of the FDE in the bytes (the CIE's size).
 */
static size_t build_eh(uint8_t *eh, uint64_t code)
{
	sw_cfi_builder_t b;
	int size;

	sw_cfi_b_init(&b, eh, EH_STRIDE, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	sw_cfi_b_startproc(&b, code, PROC_SIZE);
	sw_cfi_b_advance(&b, 1);
	sw_cfi_b_def_cfa_offset(&b, 16);
	sw_cfi_b_offset(&b, SW_REG_RBP, -16);
	sw_cfi_b_advance(&b, 4);
	sw_cfi_b_def_cfa_register(&b, SW_REG_RBP);
	sw_cfi_b_endproc(&b);
	size = sw_cfi_b_finish(&b);
	if (size <= 0) {
		fprintf(stderr, "jit_anchor: CFI builder: %s\n", sw_strerror(size));
		exit(1);
	}
	uint32_t cie_len;
	memcpy(&cie_len, eh, 4);
	return 4 + (size_t)cie_len;
}

/*
 * Say which library provides `sym`; with `expect` (a path), exit 1 unless it
 * is that file: several libunwind.so.1 exist (LLVM 14's in the system
 * library directory, LLVM 16's unpacked by run.sh) and a wrong rpath falls
 * back silently to the other.
 */
static void where(const char *sym, void *addr, const char *expect)
{
	Dl_info info;
	char got[4096], want[4096];

	if (!dladdr(addr, &info) || !info.dli_fname) {
		fprintf(stderr, "jit_anchor: %s: dladdr failed\n", sym);
		exit(1);
	}
	fprintf(stderr, "jit_anchor: %s from %s\n", sym, info.dli_fname);
	if (expect && (!realpath(info.dli_fname, got) || !realpath(expect, want) ||
		       strcmp(got, want) != 0)) {
		fprintf(stderr, "jit_anchor: %s is not from %s\n", sym, expect);
		exit(1);
	}
}

static void run(const char *name, size_t n)
{
	/* (rounded to pages: the unwind bytes are made writable apart) */
	size_t code_bytes = (n * PROC_SIZE + 4095) & ~(size_t)4095, eh_bytes = n * EH_STRIDE;
	size_t nlookups = (size_t)(LOOKUP_BUDGET / (double)n);
	struct dwarf_eh_bases bases;
	double t0, t[RUNS];

	if (nlookups < 500)
		nlookups = 500;
	if (nlookups > 200000)
		nlookups = 200000;

	/* One reservation for code and unwind bytes keeps them within the
	 * +-2 GiB of pc-relative sdata4. */
	uint8_t *base = mmap(NULL, code_bytes + eh_bytes, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		die("mmap failed");
	uint8_t *eh = base + code_bytes;
	if (mprotect(eh, eh_bytes, PROT_READ | PROT_WRITE) != 0)
		die("mprotect failed");
	size_t fde_off = 0;
	for (size_t i = 0; i < n; i++)
		fde_off = build_eh(eh + i * EH_STRIDE, (uint64_t)(uintptr_t)(base + i * PROC_SIZE));

	uint32_t *idx = malloc(nlookups * sizeof *idx);
	void **pcs = malloc(nlookups * sizeof *pcs);
	if (!idx || !pcs)
		die("out of memory");
	for (size_t i = 0; i < nlookups; i++) {
		idx[i] = (uint32_t)(rng() % n);
		pcs[i] = base + (size_t)idx[i] * PROC_SIZE + rng() % PROC_SIZE;
	}

	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		__register_frame(REG_PTR(eh + i * EH_STRIDE, fde_off));
	fprintf(stderr, "jit_anchor: %s N=%zu: __register_frame %.1f ns each\n", name, n,
		(now_ns() - t0) / (double)n);

	t0 = now_ns();
	const void *fde = _Unwind_Find_FDE(base + 8, &bases);
	double first = now_ns() - t0;
	if (fde != eh + fde_off || bases.func != base)
		die("first _Unwind_Find_FDE returned the wrong FDE");
	if (FIRST_ON_STDOUT && n == 100000)
		printf("jit.first_lookup.%s.%s: %.1f ms\n", label(n), name, first / 1e6);
	else
		fprintf(stderr, "jit_anchor: %s N=%zu: first lookup %.3f ms\n", name, n, first / 1e6);

	/* check every answer once (also warms the caches) */
	for (size_t i = 0; i < nlookups; i++) {
		fde = _Unwind_Find_FDE(pcs[i], &bases);
		if (fde != eh + (size_t)idx[i] * EH_STRIDE + fde_off ||
		    bases.func != base + (size_t)idx[i] * PROC_SIZE)
			die("_Unwind_Find_FDE returned the wrong FDE");
	}
	for (int r = 0; r < RUNS; r++) {
		uintptr_t acc = 0;
		t0 = now_ns();
		for (size_t i = 0; i < nlookups; i++)
			acc += (uintptr_t)_Unwind_Find_FDE(pcs[i], &bases);
		t[r] = (now_ns() - t0) / (double)nlookups;
		sink = acc;
	}
	qsort(t, RUNS, sizeof t[0], cmp_double);
	printf("jit.lookup.%s.%s: %.1f ns\n", label(n), name, t[RUNS / 2]);
	fprintf(stderr, "jit_anchor: %s N=%zu: %zu random lookups x %d passes, %.1f..%.1f ns\n",
		name, n, nlookups, RUNS, t[0], t[RUNS - 1]);
	fflush(stdout);

	t0 = now_ns();
	for (size_t i = n; i-- > 0;)
		__deregister_frame(REG_PTR(eh + i * EH_STRIDE, fde_off));
	fprintf(stderr, "jit_anchor: %s N=%zu: __deregister_frame %.1f ns each\n", name, n,
		(now_ns() - t0) / (double)n);
	if (_Unwind_Find_FDE(base + 8, &bases) != NULL)
		die("a PC still has an FDE after __deregister_frame");

	free(pcs);
	free(idx);
	munmap(base, code_bytes + eh_bytes);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME N...\n", argv[0]);
		return 2;
	}
	const char *expect = getenv("JIT_ANCHOR_LIB");

	where("__register_frame", (void *)__register_frame, expect);
	where("_Unwind_Find_FDE", (void *)_Unwind_Find_FDE, expect);
	for (int i = 2; i < argc; i++) {
		long n = strtol(argv[i], NULL, 10);
		if (n < 1 || n > 10000000)
			die("N out of range");
		run(argv[1], (size_t)n);
	}
	return 0;
}
