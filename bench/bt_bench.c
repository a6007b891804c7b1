/*
 * Backtrace cost at a fixed depth, per unwinder, in ns per frame.
 *
 * One binary per family (their headers conflict), chosen with -D:
 *   SW      stackwalk: argv[1] = cached | cold | step
 *   FP      frame-pointer walk
 *   GCC     libgcc _Unwind_Backtrace
 *   GLIBC   glibc backtrace()
 *   NONGNU  nongnu libunwind: argv[1] = backtrace | step
 *   LLVM    LLVM libunwind unw_step loop
 * All built -O2 -fno-omit-frame-pointer so every method can run.  Prints
 * one `name: value ns/frame` line, the median of 5 timed runs.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(SW)
#include "stackwalk.h"
#elif defined(GCC)
#include <unwind.h>
#elif defined(GLIBC)
#include <execinfo.h>
#elif defined(NONGNU)
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#elif defined(LLVM)
#include <libunwind.h>
#endif

#define MAXF 256
void *frames[MAXF];          /* global: the stores must not be elided */
static const char *mode = "";
static int iters = 20000;
static volatile int sink;

#ifdef GCC
struct gcc_state { int n; };
static _Unwind_Reason_Code gcc_cb(struct _Unwind_Context *c, void *arg)
{
	struct gcc_state *s = arg;
	if (s->n >= MAXF)
		return _URC_END_OF_STACK;
	frames[s->n++] = (void *)_Unwind_GetIP(c);
	return _URC_NO_REASON;
}
#endif

__attribute__((noinline, noipa)) static int trace(void)
{
#if defined(SW)
	if (strcmp(mode, "step") == 0) {
		sw_context_t ctx;
		sw_cursor_t cur;
		uint64_t ip;
		int n = 0;
		sw_getcontext(&ctx);
		sw_init_local(&cur, &ctx);
		do {
			sw_get_reg(&cur, SW_REG_IP, &ip);
			frames[n++] = (void *)(uintptr_t)ip;
		} while (n < MAXF && sw_step(&cur) == 0);
		return n;
	}
	if (strcmp(mode, "cold") == 0)
		sw_flush_cache();
	return sw_backtrace(frames, MAXF);
#elif defined(FP)
	void **fp = __builtin_frame_address(0);
	int n = 0;
	while (fp && n < MAXF) {
		frames[n++] = fp[1];
		void **next = *fp;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
#elif defined(GCC)
	struct gcc_state s = { 0 };
	_Unwind_Backtrace(gcc_cb, &s);
	return s.n;
#elif defined(GLIBC)
	return backtrace(frames, MAXF);
#elif defined(NONGNU) || defined(LLVM)
#if defined(NONGNU)
	if (strcmp(mode, "backtrace") == 0)
		return unw_backtrace(frames, MAXF);
#endif
	unw_context_t ctx;
	unw_cursor_t cur;
	unw_word_t ip;
	int n = 0;
	unw_getcontext(&ctx);
	unw_init_local(&cur, &ctx);
	do {
		unw_get_reg(&cur, UNW_REG_IP, &ip);
		frames[n++] = (void *)ip;
	} while (n < MAXF && unw_step(&cur) > 0);
	return n;
#endif
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

__attribute__((noinline)) static int leaf(const char *name)
{
	double per_frame[5];
	int n = 0;

	for (int i = 0; i < 200; i++)   /* warm caches */
		n = trace();
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		for (int i = 0; i < iters; i++)
			n = trace();
		per_frame[r] = (now() - t0) / iters / n;
	}
	qsort(per_frame, 5, sizeof(double), cmp);
	printf("%s: %.2f ns/frame\n", name, per_frame[2]);
	fprintf(stderr, "bench: %s: %d frames per trace\n", name, n);
	return n;
}

__attribute__((noinline)) static int rec(int d, const char *name)
{
	if (d == 0)
		return leaf(name);
	int r = rec(d - 1, name);
	sink = r;
	return r + 1;
}

int main(int argc, char **argv)
{
	/* argv: [mode] NAME [DEPTH] [ITERS] */
	if (argc < 3) {
		fprintf(stderr, "usage: %s MODE NAME [DEPTH] [ITERS]\n", argv[0]);
		return 2;
	}
	mode = argv[1];
	int depth = argc > 3 ? atoi(argv[3]) : 30;
	if (argc > 4)
		iters = atoi(argv[4]);
#ifdef SW
	sw_init();
	if (strcmp(mode, "cold") == 0)
		iters /= 10;
#endif
	rec(depth, argv[2]);
	return 0;
}
