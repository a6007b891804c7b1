/*
 * nongnu libunwind's local API, timed: built once against the system's
 * <libunwind.h> and -lunwind (nongnu), and run either on nongnu or, with
 * LD_LIBRARY_PATH=BUILD/libunwind, on stackwalk's drop-in libunwind.so.8
 * (bench/libunwind.sh runs it both ways, alternating).
 *
 *   libunwind_bench step [DEPTH]       unw_getcontext + unw_init_local +
 *                                      unw_step/unw_get_reg(IP) to the end,
 *                                      DEPTH recursive frames deep (30)
 *   libunwind_bench backtrace [DEPTH]  unw_backtrace at DEPTH
 *   libunwind_bench proc_name          unw_get_proc_name on cursors of
 *                                      every frame of a short stack: the
 *                                      program's (leaf, rec, main, _start)
 *                                      and libc's (__libc_start_call_main,
 *                                      __libc_start_main)
 *   libunwind_bench cpu MS             about MS ms of CPU in a 20-deep
 *                                      chain (a perf record target)
 *
 * The timed modes print one number on stdout: ns per frame (step,
 * backtrace) or ns per call (proc_name), the median of 7 batches of about
 * 30 ms each after a warm-up; and on stderr the libunwind.so.8 mapped
 * into the process ("lib: PATH"), the frames per walk ("frames: N") and,
 * for proc_name, the names ("name: NAME+OFF") and each frame's time
 * ("frame_ns: NAME NS").
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define MAXF 256
#define BATCHES 7
#define BATCH_NS 30e6

void *frames[MAXF];          /* global: the stores must not be elided */
static const char *mode = "";
static volatile unsigned long sink;

static int walk_step(void)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	unw_word_t ip;
	int n = 0;

	if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
		return -1;
	do {
		unw_get_reg(&cur, UNW_REG_IP, &ip);
		frames[n++] = (void *)ip;
	} while (n < MAXF && unw_step(&cur) > 0);
	return n;
}

/* the cursors of every frame of the current stack (a cursor is plain
 * data: a copy resumes where the original was) */
static unw_cursor_t cursors[MAXF];

static int collect_cursors(void)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	int n = 0;

	if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
		return -1;
	do
		cursors[n++] = cur;
	while (n < MAXF && unw_step(&cur) > 0);
	return n;
}

__attribute__((noinline)) static int trace(void)
{
	if (strcmp(mode, "backtrace") == 0)
		return unw_backtrace(frames, MAXF);
	return walk_step();
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static void which_lib(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096], found[4096] = "none";

	if (f) {
		while (fgets(line, sizeof line, f)) {
			char *path = strchr(line, '/');
			if (path && strstr(path, "/libunwind.so.8")) {
				path[strcspn(path, "\n")] = 0;
				snprintf(found, sizeof found, "%s", path);
				break;
			}
		}
		fclose(f);
	}
	fprintf(stderr, "lib: %s\n", found);
}

/* time_walks: ns per frame of trace(), median of the batches */
static int time_walks(void)
{
	double per[BATCHES];
	int n = trace();
	long iters = 1;

	if (n <= 0) {
		fprintf(stderr, "libunwind_bench: %s found no frame\n", mode);
		return 1;
	}
	/* warm up (caches, lazy binding) and size a batch to BATCH_NS */
	for (;;) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			trace();
		if (now_ns() - t0 >= BATCH_NS / 4)
			break;
		iters *= 2;
	}
	iters *= 4;
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			n = trace();
		per[b] = (now_ns() - t0) / (double)iters / n;
	}
	printf("%.2f\n", median(per, BATCHES));
	fprintf(stderr, "frames: %d\n", n);
	return 0;
}

static int time_proc_names(void)
{
	double per[BATCHES];
	char buf[512];
	unw_word_t off;
	int n = collect_cursors(), named = 0;
	long iters = 1;

	if (n <= 0) {
		fprintf(stderr, "libunwind_bench: no frames\n");
		return 1;
	}
	for (int f = 0; f < n; f++) {
		int rc = unw_get_proc_name(&cursors[f], buf, sizeof buf, &off);
		if (rc == 0) {
			named++;
			fprintf(stderr, "name: %s+0x%lx\n", buf, (unsigned long)off);
		} else {
			fprintf(stderr, "name: ? (%d)\n", rc);
		}
	}
	if (named == 0) {
		fprintf(stderr, "libunwind_bench: unw_get_proc_name named no frame\n");
		return 1;
	}
	for (;;) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			for (int f = 0; f < n; f++)
				sink += (unsigned long)unw_get_proc_name(&cursors[f], buf, sizeof buf, &off);
		if (now_ns() - t0 >= BATCH_NS / 4)
			break;
		iters *= 2;
	}
	iters *= 4;
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			for (int f = 0; f < n; f++)
				sink += (unsigned long)unw_get_proc_name(&cursors[f], buf, sizeof buf, &off);
		per[b] = (now_ns() - t0) / (double)iters / n;
	}
	printf("%.2f\n", median(per, BATCHES));
	fprintf(stderr, "frames: %d\n", n);
	/* each frame's share, for the notes (one short batch each) */
	for (int f = 0; f < n; f++) {
		long k = iters / 4 + 1;
		double t0 = now_ns();
		for (long i = 0; i < k; i++)
			sink += (unsigned long)unw_get_proc_name(&cursors[f], buf, sizeof buf, &off);
		double t = (now_ns() - t0) / (double)k;
		if (unw_get_proc_name(&cursors[f], buf, sizeof buf, &off) != 0)
			snprintf(buf, sizeof buf, "?");
		fprintf(stderr, "frame_ns: %s %.0f\n", buf, t);
	}
	return 0;
}

static double cpu_ms;

__attribute__((noinline)) static unsigned long spin(void)
{
	double end = now_ns() + cpu_ms * 1e6;
	unsigned long h = 1469598103934665603UL;

	while (now_ns() < end)
		for (int i = 0; i < 100000; i++) {
			h = (h ^ (unsigned long)i) * 1099511628211UL;
			__asm__ volatile("" : "+r"(h));
		}
	return h;
}

__attribute__((noinline)) static int leaf(void)
{
	int r = 0;

	/* (no tail calls: every frame stays on the stack) */
	if (strcmp(mode, "cpu") == 0)
		sink += spin();
	else if (strcmp(mode, "proc_name") == 0)
		r = time_proc_names();
	else
		r = time_walks();
	sink += (unsigned long)r;
	return r;
}

__attribute__((noinline)) static int rec(int d)
{
	if (d == 0)
		return leaf();
	int r = rec(d - 1);
	sink += (unsigned long)r;
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s step|backtrace [DEPTH] | proc_name | cpu MS\n", argv[0]);
		return 2;
	}
	mode = argv[1];
	int depth = 30;
	if (strcmp(mode, "cpu") == 0) {
		cpu_ms = argc > 2 ? atof(argv[2]) : 1000;
		depth = 20;
	} else if (strcmp(mode, "proc_name") == 0) {
		depth = 2;
	} else if (strcmp(mode, "step") == 0 || strcmp(mode, "backtrace") == 0) {
		if (argc > 2)
			depth = atoi(argv[2]);
	} else {
		fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode);
		return 2;
	}
	which_lib();
	int r = rec(depth);
	sink += (unsigned long)r;
	return r;
}
