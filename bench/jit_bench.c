/*
 * JIT registry benchmarks (include/stackwalk/jit.h).
 *
 *   jit_bench lookup     jit.lookup.N.stackwalk (N = 1e3 .. 1e6), ns per
 *                        sw_jit_lookup on random PCs; jit.first_lookup.1e5.stackwalk,
 *                        ms for the first lookup after 10^5 registrations
 *   jit_bench register   jit.register.stackwalk / jit.remove.stackwalk, ns
 *                        per procedure over 10^6 single-procedure
 *                        registrations and removals in address order (random
 *                        order on stderr); jit.memory.stackwalk, registry
 *                        bytes per procedure at 10^6 (sw_jit_stats: index +
 *                        records), checked on stderr against the heap growth
 *   jit_bench unwind     jit.unwind.threads2.speedup: sw_backtrace throughput
 *                        through a chain of generated functions, 2 threads at
 *                        once over 1 thread alone (ns/frame on stderr)
 *
 * Procedures for the lookup and registration figures are adjacent 64-byte
 * ranges in an address range reserved PROT_NONE (the registry never reads
 * code), each registered by its own sw_jit_add_procs call as a
 * SW_JIT_UNWIND_FRAME descriptor with a name ("jit_fn_123"), as a JIT
 * registering functions one by one would.  The anchors for the lookup
 * figures (libgcc, LLVM libunwind) are in jit_anchor.c.
 *
 * stdout carries only `name: value unit` lines; progress goes to stderr.
 * Each timed figure is the median of several passes.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "emit.h"
#include "bench_util.h"

#define PROC_SIZE 64               /* bytes per procedure */
#define LOOKUP_PCS (1u << 18)      /* random PCs per lookup pass */
#define LOOKUP_RUNS 7
#define REG_N 1000000              /* procedures for register/remove/memory */
#define REG_RUNS 3

static volatile uint64_t sink;

static double clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	return v[n / 2];
}

static void die(const char *what, int rc)
{
	if (rc)
		fprintf(stderr, "jit_bench: %s: %s\n", what, sw_strerror(rc));
	else
		fprintf(stderr, "jit_bench: %s\n", what);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("out of memory", 0);
	return p;
}

/* An address range of n procedures, reserved and never accessible. */
static uint8_t *reserve(size_t n)
{
	void *p = mmap(NULL, n * PROC_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap failed", 0);
	return p;
}

/* Random permutation of 0..n-1 (Fisher-Yates). */
static void shuffle(uint32_t *perm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng() % (i + 1);
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

/*
 * Register procedure i of the range at base: the canonical frame-pointer
 * prologue (push rbp; mov rbp, rsp), one epilogue whose ret is the last
 * byte.  One sw_jit_add_procs call per procedure, the name formatted on
 * the stack (the registry copies it).
 */
static sw_jit_handle_t add_one(const uint8_t *base, size_t i)
{
	static const uint32_t epilogue[1] = { PROC_SIZE - 1 };
	char name[32];
	struct sw_jit_proc p;
	sw_jit_handle_t h;
	int rc;

	snprintf(name, sizeof name, "jit_fn_%zu", i);
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)base + i * PROC_SIZE;
	p.end = p.start + PROC_SIZE;
	p.name = name;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = epilogue;
	rc = sw_jit_add_procs(&p, 1, &h);
	if (rc != 0)
		die("sw_jit_add_procs", rc);
	return h;
}

static void remove_one(sw_jit_handle_t h)
{
	int rc = sw_jit_remove(h);

	if (rc != 0)
		die("sw_jit_remove", rc);
}

/* ---------------------------------------------------------------- lookup */

static void lookup_n(size_t n)
{
	sw_jit_handle_t *handles = xmalloc(n * sizeof *handles);
	uint32_t *idx = xmalloc(LOOKUP_PCS * sizeof *idx);
	uint64_t *pcs = xmalloc(LOOKUP_PCS * sizeof *pcs);
	uint8_t *base = reserve(n);
	struct sw_jit_found f;
	double t0, t[LOOKUP_RUNS];
	int rc;

	for (size_t i = 0; i < LOOKUP_PCS; i++) {
		idx[i] = (uint32_t)(rng() % n);
		pcs[i] = (uint64_t)(uintptr_t)base + (uint64_t)idx[i] * PROC_SIZE + rng() % PROC_SIZE;
	}

	t0 = now_ns();
	for (size_t i = 0; i < n; i++)
		handles[i] = add_one(base, i);
	fprintf(stderr, "jit_bench: lookup N=%zu: registered in %.1f ms\n", n, (now_ns() - t0) / 1e6);

	/* the first lookup, on the first procedure as for the anchors */
	t0 = now_ns();
	rc = sw_jit_lookup((uint64_t)(uintptr_t)base + 8, &f);
	double first = now_ns() - t0;
	if (rc != 0 || f.start != (uint64_t)(uintptr_t)base)
		die("first sw_jit_lookup found the wrong procedure", rc);
	if (n == 100000)
		printf("jit.first_lookup.1e5.stackwalk: %.4f ms\n", first / 1e6);
	else
		fprintf(stderr, "jit_bench: lookup N=%zu: first lookup %.4f ms\n", n, first / 1e6);

	/* every answer checked once (this pass also warms the caches) */
	for (size_t i = 0; i < LOOKUP_PCS; i++) {
		rc = sw_jit_lookup(pcs[i], &f);
		if (rc != 0 || f.start != (uint64_t)(uintptr_t)base + (uint64_t)idx[i] * PROC_SIZE ||
		    f.end != f.start + PROC_SIZE ||
		    f.form != SW_JIT_FORM_EAGER)
			die("sw_jit_lookup found the wrong procedure", rc);
	}
	for (int r = 0; r < LOOKUP_RUNS; r++) {
		uint64_t acc = 0;
		t0 = now_ns();
		for (size_t i = 0; i < LOOKUP_PCS; i++) {
			sw_jit_lookup(pcs[i], &f);
			acc += f.start;
		}
		t[r] = (now_ns() - t0) / LOOKUP_PCS;
		sink = acc;
	}
	double med = median(t, LOOKUP_RUNS);
	printf("jit.lookup.%s.stackwalk: %.1f ns\n", label(n), med);
	fprintf(stderr, "jit_bench: lookup N=%zu: %u random PCs x %d passes, %.1f..%.1f ns\n", n,
		LOOKUP_PCS, LOOKUP_RUNS, t[0], t[LOOKUP_RUNS - 1]);
	fflush(stdout);

	for (size_t i = 0; i < n; i++)
		remove_one(handles[i]);
	if (sw_jit_lookup(pcs[0], &f) != SW_ENOTFOUND)
		die("a procedure is still found after sw_jit_remove", 0);
	munmap(base, n * PROC_SIZE);
	free(pcs);
	free(idx);
	free(handles);
}

static void bench_lookup(void)
{
	static const size_t ns[] = { 1000, 10000, 100000, 1000000 };

	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
		lookup_n(ns[k]);
}

/* ---------------------------------------------------------------- register */

/* Heap bytes in use: the main arena and other arenas (uordblks) plus
 * blocks malloc took straight from mmap (hblkhd). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * One round: register n procedures in `reg` order, remove them in `rem`
 * order (NULL: address order), per-procedure ns in *reg_ns / *rem_ns.
 * With `memory`, print the memory figure and its cross-check at n.
 */
static void register_round(uint8_t *base, size_t n, sw_jit_handle_t *handles,
			   const uint32_t *reg, const uint32_t *rem, bool memory,
			   double *reg_ns, double *rem_ns)
{
	struct sw_jit_stats st0, st;
	struct sw_jit_found f;
	size_t heap0, heap;
	double t0;

	sw_jit_get_stats(&st0);
	heap0 = heap_in_use();
	t0 = now_ns();
	for (size_t k = 0; k < n; k++) {
		size_t i = reg ? reg[k] : k;
		handles[i] = add_one(base, i);
	}
	*reg_ns = (now_ns() - t0) / (double)n;
	heap = heap_in_use();
	sw_jit_get_stats(&st);
	if (st.entries != st0.entries + n)
		die("sw_jit_stats does not count every procedure", 0);

	/* spot checks: the registry holds what was added */
	for (int k = 0; k < 1000; k++) {
		size_t i = rng() % n;
		char name[32], want[32];
		uint64_t off;
		uint64_t pc = (uint64_t)(uintptr_t)base + i * PROC_SIZE + 5;
		if (sw_jit_lookup(pc, &f) != 0 || f.start != pc - 5)
			die("sw_jit_lookup after registration", 0);
		snprintf(want, sizeof want, "jit_fn_%zu", i);
		if (sw_jit_get_name(pc, name, sizeof name, &off) != 0 || strcmp(name, want) != 0 ||
		    off != 5)
			die("sw_jit_get_name after registration", 0);
	}

	if (memory) {
		double reg_b = (double)(st.index_bytes + st.record_bytes) / (double)st.entries;
		double heap_b = ((double)heap - (double)heap0 - (double)st.unwind_bytes) / (double)n;
		printf("jit.memory.stackwalk: %.1f bytes/proc\n", reg_b);
		fprintf(stderr,
			"jit_bench: memory at %zu procs: index %zu B, records %zu B, unwind+names %zu B, "
			"retired %zu B, %zu handles\n",
			n, st.index_bytes, st.record_bytes, st.unwind_bytes, st.retired_bytes,
			st.handles);
		/* the index's nodes live in chunks of their own (mmap, not the
		 * malloc heap: src/jit/registry/slab.h) */
		fprintf(stderr,
			"jit_bench: memory cross-check: malloc heap grew %.1f B/proc beyond the unwind "
			"bytes and names, %.1f with the index's own chunks (stats say %.1f B/proc, "
			"%.1f with retired memory)\n",
			heap_b, heap_b + (double)st.index_bytes / (double)n, reg_b,
			(double)(st.index_bytes + st.record_bytes + st.retired_bytes) / (double)n);
	}

	t0 = now_ns();
	for (size_t k = 0; k < n; k++)
		remove_one(handles[rem ? rem[k] : k]);
	*rem_ns = (now_ns() - t0) / (double)n;
	if (sw_jit_lookup((uint64_t)(uintptr_t)base, &f) != SW_ENOTFOUND)
		die("a procedure is still found after sw_jit_remove", 0);
}

static void bench_register(void)
{
	size_t n = REG_N;
	sw_jit_handle_t *handles = xmalloc(n * sizeof *handles);
	uint32_t *perm_reg = xmalloc(n * sizeof *perm_reg);
	uint32_t *perm_rem = xmalloc(n * sizeof *perm_rem);
	uint8_t *base = reserve(n);
	double reg[REG_RUNS], rem[REG_RUNS], rreg[REG_RUNS], rrem[REG_RUNS];

	memset(handles, 0, n * sizeof *handles);   /* touch the pages before measuring */
	for (int r = 0; r < REG_RUNS; r++) {
		register_round(base, n, handles, NULL, NULL, r == 0, &reg[r], &rem[r]);
		fprintf(stderr, "jit_bench: register %zu in address order: %.1f ns add, %.1f ns remove\n",
			n, reg[r], rem[r]);
	}
	for (int r = 0; r < REG_RUNS; r++) {
		shuffle(perm_reg, n);
		shuffle(perm_rem, n);
		register_round(base, n, handles, perm_reg, perm_rem, false, &rreg[r], &rrem[r]);
		fprintf(stderr, "jit_bench: register %zu in random order: %.1f ns add, %.1f ns remove\n",
			n, rreg[r], rrem[r]);
	}
	printf("jit.register.stackwalk: %.1f ns/proc\n", median(reg, REG_RUNS));
	printf("jit.remove.stackwalk: %.1f ns/proc\n", median(rem, REG_RUNS));
	fprintf(stderr, "jit_bench: random order (median): register %.1f ns/proc, remove %.1f ns/proc\n",
		median(rreg, REG_RUNS), median(rrem, REG_RUNS));

	munmap(base, n * PROC_SIZE);
	free(perm_rem);
	free(perm_reg);
	free(handles);
}

/* ---------------------------------------------------------------- unwind */

/*
 * A C function (worker) calls the first of a chain of CHAIN_LEN generated
 * functions (tests/jit/emit.c: varied shapes, with and without frame
 * pointer, saved registers, frames up to 8 KiB), registered as one
 * sw_jit_add_procs handle of SW_JIT_UNWIND_FRAME descriptors; the innermost
 * calls back into C (unwind_leaf), which runs sw_backtrace in a loop until
 * told to stop.  Throughput = backtraces per second, summed over threads,
 * over the same wall-clock window.  Configurations, UNWIND_RUNS rounds
 * each, interleaved, medians compared:
 *   1 thread alone; 2 threads each on its own chain (the figure); 2 threads
 *   on the same chain (stderr); and the same three with sw_flush_cache
 *   before each backtrace, so every JIT frame goes through the registry
 *   rather than the rule cache (stderr).
 */
#define CHAIN_LEN 10
#define UNWIND_RUNS 7
#define UNWIND_WINDOW_NS 300000000.0   /* each timed window: 0.3 s */
#define BT_MAX 64
#define UNWIND_ATTEMPTS 3
#define UNWIND_MIN_SHARE 0.9       /* of two cores, for a valid 2-thread figure */

struct chain {
	struct emit_buf buf;
	struct emit_fn fns[CHAIN_LEN];
	sw_jit_handle_t handle;
};

struct worker {
	pthread_t thread;
	const struct chain *chain;
	bool cold;                 /* sw_flush_cache before each backtrace */
	uint64_t count;            /* backtraces done in the window */
	double cpu_ns;             /* the thread's CPU time in the window */
	int frames;                /* frames per backtrace */
	const char *error;         /* set when the backtrace is wrong */
};

/* the round's control words: workers ready, go, stop */
static int unwind_ready;
static int unwind_go;
static int unwind_stop;

static uint64_t unwind_leaf(uint64_t arg);

static void chain_init(struct chain *c)
{
	struct sw_jit_proc procs[CHAIN_LEN];
	int rc;

	if (emit_buf_init(&c->buf, 1 << 16, 0) != 0)
		die("emit_buf_init failed", 0);
	if (emit_chain(&c->buf, c->fns, CHAIN_LEN, (uint64_t)(uintptr_t)unwind_leaf, 0) != 0)
		die("emit_chain failed", 0);
	for (int i = 0; i < CHAIN_LEN; i++)
		if (emit_proc(&c->fns[i], SW_JIT_UNWIND_FRAME, &procs[i]) != 0)
			die("emit_proc failed", 0);
	rc = sw_jit_add_procs(procs, CHAIN_LEN, &c->handle);
	if (rc != 0)
		die("sw_jit_add_procs (chain)", rc);
}

static void chain_free(struct chain *c)
{
	int rc = sw_jit_remove(c->handle);

	if (rc != 0)
		die("sw_jit_remove (chain)", rc);
	for (int i = 0; i < CHAIN_LEN; i++)
		emit_fn_free(&c->fns[i]);
	emit_buf_free(&c->buf);
}

/* The backtrace must hold every return address of the chain, innermost
 * first, right after unwind_leaf's own frame. */
static const char *check_backtrace(const struct chain *c, void *const *pcs, int n)
{
	int k = 0;

	while (k < n && (uint64_t)(uintptr_t)pcs[k] != c->fns[CHAIN_LEN - 1].start +
							c->fns[CHAIN_LEN - 1].call_ret)
		k++;
	if (k != 1)
		return "the innermost JIT frame is not the second frame";
	for (int i = CHAIN_LEN - 1; i >= 0; i--, k++)
		if (k >= n || (uint64_t)(uintptr_t)pcs[k] != c->fns[i].start + c->fns[i].call_ret)
			return "a JIT frame is missing or wrong";
	if (k + 2 > n)
		return "the backtrace stops in or right after the JIT chain";
	return NULL;
}

/* A cursor walk from unwind_leaf must see each JIT frame as SW_SRC_JIT,
 * with its procedure range and name: the measured path is the registry's,
 * not a fallback that happens to give the same return addresses. */
static const char *check_cursor(const struct chain *c)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	struct sw_proc_info pi;
	char name[EMIT_NAME_MAX];
	uint64_t off;

	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) != 0)
		return "sw_init_local failed";
	for (int i = CHAIN_LEN - 1; i >= 0; i--) {
		const struct emit_fn *f = &c->fns[i];
		if (sw_step(&cur) != 0)
			return "sw_step failed before the end of the JIT chain";
		if (sw_get_proc_info(&cur, &pi) != 0 || pi.source != SW_SRC_JIT ||
		    pi.start != f->start || pi.end != f->end)
			return "a JIT frame's sw_get_proc_info is not the registered procedure";
		if (sw_get_proc_name(&cur, name, sizeof name, &off) != 0 ||
		    strcmp(name, f->name) != 0 || off != f->call_ret)
			return "a JIT frame's sw_get_proc_name is not the registered name";
	}
	return NULL;
}

__attribute__((noinline)) static uint64_t unwind_leaf(uint64_t arg)
{
	struct worker *w = (struct worker *)(uintptr_t)arg;
	void *pcs[BT_MAX];
	uint64_t count = 0;
	int n = sw_backtrace(pcs, BT_MAX);

	w->frames = n;
	w->error = check_backtrace(w->chain, pcs, n);
	if (!w->error)
		w->error = check_cursor(w->chain);
	__atomic_fetch_add(&unwind_ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&unwind_go, __ATOMIC_ACQUIRE))
		;
	double cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	while (!__atomic_load_n(&unwind_stop, __ATOMIC_RELAXED)) {
		if (w->cold)
			sw_flush_cache();
		n = sw_backtrace(pcs, BT_MAX);
		count++;
	}
	if (n != w->frames && !w->error)
		w->error = "the frame count changed";
	w->count = count;
	w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	return arg;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t (*entry)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)w->chain->fns[0].start;

	sink = entry((uint64_t)(uintptr_t)w);
	return NULL;
}

/* One window with nthreads workers on the given chains; returns the
 * backtraces per second summed over the workers, *frames per backtrace,
 * and *cpu_share, the CPU time the workers got over nthreads x the window
 * (below 1 when other processes took a core: the machine was not idle). */
static double unwind_round(struct chain *const *chains, int nthreads, bool cold, int *frames,
			   double *cpu_share)
{
	struct worker w[2];
	double t0, t1, cpu = 0;
	uint64_t total = 0;

	unwind_ready = unwind_go = unwind_stop = 0;
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].chain = chains[i];
		w[i].cold = cold;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			die("pthread_create failed", 0);
	}
	while (__atomic_load_n(&unwind_ready, __ATOMIC_ACQUIRE) < nthreads)
		sched_yield();
	t0 = now_ns();
	__atomic_store_n(&unwind_go, 1, __ATOMIC_RELEASE);
	struct timespec d = { 0, (long)UNWIND_WINDOW_NS };
	nanosleep(&d, NULL);
	__atomic_store_n(&unwind_stop, 1, __ATOMIC_RELAXED);
	t1 = now_ns();
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].error) {
			fprintf(stderr, "jit_bench: unwind: %s (%d frames)\n", w[i].error, w[i].frames);
			exit(1);
		}
		total += w[i].count;
		cpu += w[i].cpu_ns;
		*frames = w[i].frames;
	}
	*cpu_share = cpu / ((t1 - t0) * nthreads);
	return (double)total / ((t1 - t0) / 1e9);
}

/*
 * Every configuration UNWIND_RUNS times, interleaved so that each sees the
 * same machine; medians into t[cold][config] (backtraces/s) and
 * share[cold][config] (CPU share), per-round own-chain speedups printed.
 * Returns the lowest median CPU share of the 2-thread configurations.
 */
static double unwind_measure(struct chain *const *const *chains, double t[2][3],
			     double share[2][3], int *frames)
{
	/* [cold][config][round] */
	double tput[2][3][UNWIND_RUNS], sh[2][3][UNWIND_RUNS];
	double low = 1;

	for (int r = 0; r < UNWIND_RUNS; r++)
		for (int cold = 0; cold < 2; cold++)
			for (int k = 0; k < 3; k++)
				tput[cold][k][r] = unwind_round(chains[k], k ? 2 : 1, cold, frames,
								&sh[cold][k][r]);
	for (int cold = 0; cold < 2; cold++) {
		double ratio[UNWIND_RUNS];

		for (int r = 0; r < UNWIND_RUNS; r++)
			ratio[r] = tput[cold][1][r] / tput[cold][0][r];
		median(ratio, UNWIND_RUNS);
		fprintf(stderr, "jit_bench: unwind %s: per-round speedups (own chains) %.2f..%.2f x\n",
			cold ? "cold" : "cached", ratio[0], ratio[UNWIND_RUNS - 1]);
		for (int k = 0; k < 3; k++) {
			t[cold][k] = median(tput[cold][k], UNWIND_RUNS);
			share[cold][k] = median(sh[cold][k], UNWIND_RUNS);
			if (k && share[cold][k] < low)
				low = share[cold][k];
		}
	}
	return low;
}

static void bench_unwind(void)
{
	static struct chain c0, c1;
	static const char *const config[3] = { "1 thread", "2 threads, own chains",
					       "2 threads, same chain" };
	struct chain *one[1] = { &c0 }, *own[2] = { &c0, &c1 }, *same[2] = { &c0, &c0 };
	struct chain *const *chains[3] = { one, own, same };
	double t[2][3], share[2][3], low = 0;
	int frames = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	chain_init(&c0);
	chain_init(&c1);
	if (cpus < 2)
		fprintf(stderr, "jit_bench: unwind: only %ld CPU online, 2 threads cannot scale\n", cpus);
	/* Two threads can only scale when the machine has two idle cores:
	 * when other processes took part of one (the workers' CPU share), the
	 * whole measurement is repeated, at most UNWIND_ATTEMPTS times. */
	for (int a = 1; a <= UNWIND_ATTEMPTS; a++) {
		low = unwind_measure(chains, t, share, &frames);
		if (low >= UNWIND_MIN_SHARE)
			break;
		fprintf(stderr, "jit_bench: unwind: attempt %d: the 2-thread runs got %.0f%% of two "
			"cores (the machine is busy)%s\n", a, 100 * low,
			a < UNWIND_ATTEMPTS ? "; measuring again" : "");
		if (a < UNWIND_ATTEMPTS)
			sleep(2);
	}
	for (int cold = 0; cold < 2; cold++)
		for (int k = 0; k < 3; k++)
			fprintf(stderr,
				"jit_bench: unwind %s, %s: %.0f backtraces/s of %d frames (%d JIT), "
				"%.2f ns/frame per thread, speedup %.2f x, CPU share %.0f%%\n",
				cold ? "cold (sw_flush_cache before each backtrace)" : "cached",
				config[k], t[cold][k], frames, CHAIN_LEN,
				(k ? 2 : 1) * 1e9 / (t[cold][k] * frames), t[cold][k] / t[cold][0],
				100 * share[cold][k]);
	if (low < UNWIND_MIN_SHARE)
		fprintf(stderr, "jit_bench: WARNING: jit.unwind.threads2.speedup measured on a busy "
			"machine (the 2-thread runs got %.0f%% of two cores): it understates "
			"the scaling; per CPU-second of the workers (what the unwinder itself "
			"costs) the speedup is %.2f x\n", 100 * low,
			(t[0][1] / share[0][1]) / (t[0][0] / share[0][0]));
	printf("jit.unwind.threads2.speedup: %.2f x\n", t[0][1] / t[0][0]);
	chain_free(&c1);
	chain_free(&c0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s lookup|register|unwind\n", argv[0]);
		return 2;
	}
	sw_init();
	/* the registry alone: what the default publishers add is measured by
	 * bench/pub_bench.c (jit.*.1e5.none / .default) */
	sw_jit_set_publishers(0);
	if (strcmp(argv[1], "lookup") == 0)
		bench_lookup();
	else if (strcmp(argv[1], "register") == 0)
		bench_register();
	else if (strcmp(argv[1], "unwind") == 0)
		bench_unwind();
	else {
		fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
		return 2;
	}
	return 0;
}
