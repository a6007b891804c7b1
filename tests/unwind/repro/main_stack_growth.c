/*
 * Performance reproducer: once the main thread's stack has grown below the
 * range the unwinder learned at the thread's first walk, every walk reads
 * /proc/self/maps again (open/read/close in sw_mem_init's "elsewhere" path):
 * sw_backtrace gets ~100x slower (0.14 us -> 20 us for 8 frames here).
 *
 * sw_mem_init (src/unwind/memory.c) caches the mapping that held its frame
 * at the first call; the main thread's [stack] mapping grows downwards
 * afterwards, so deeper SPs fall outside the cached range, and the result
 * of find_mapping() is used "for this walk only".  (A grown [stack] mapping
 * with the same upper bound could replace the cached range.)
 *
 *   cc -O2 -Iinclude tests/unwind/repro/main_stack_growth.c build/out/libstackwalk.a -ldl
 *   ./a.out
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>

#include <stackwalk.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void timed(const char *what)
{
	void *pcs[8];
	double t0 = now();

	for (int i = 0; i < 1000; i++)
		sw_backtrace(pcs, 8);
	printf("%s: %.2f us per 8-frame sw_backtrace\n", what, (now() - t0) * 1e3);
}

__attribute__((noinline)) static int deep(int n)
{
	volatile char buf[1024];

	buf[0] = (char)n;
	if (n == 0) {
		timed("2 MB deeper");
		return buf[0];
	}
	int r = deep(n - 1);
	__asm__ volatile("" : "+r"(r));
	return r + buf[0];
}

int main(void)
{
	sw_init();
	timed("shallow (first walk)");
	return deep(2000) & 0;
}
