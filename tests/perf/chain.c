/*
 * The program tests/scripts/perf_script.sh records with `perf record
 * --call-graph dwarf`: a chain of calls (main -> level_0 -> ... ->
 * level_N -> spin) built -O2 without frame pointers, spinning at the
 * bottom for about SECONDS seconds (argv[1], default 1), with the stack
 * growing on the way down so the deeper frames fall outside a small
 * stack copy (perf's chain then stops before main; stackwalk's too, but
 * both are counted).  Some levels have a local array, so their frames are
 * not all the same size, and one helper is inlined to give perf's
 * "(inlined)" lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;
static double seconds = 1.0;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* inlined into spin(): a frame of its own only in the debug info */
static inline __attribute__((always_inline)) uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

__attribute__((noinline)) void spin(uint64_t deadline)
{
	uint64_t x = sink;
	while (now_ns() < deadline)
		for (int i = 0; i < 20000; i++)
			x = mix(x + (uint64_t)i);
	sink = x;
}

#define LEVEL(n, next, pad)                                          \
	__attribute__((noinline)) void level_##n(uint64_t d);        \
	__attribute__((noinline)) void level_##n(uint64_t d)         \
	{                                                            \
		volatile char buf[pad];                              \
		buf[0] = (char)d;                                    \
		next(d + (uint64_t)buf[0] * 0);                      \
		sink += buf[pad - 1];                                \
	}

LEVEL(11, spin, 16)
LEVEL(10, level_11, 200)
LEVEL(9, level_10, 24)
LEVEL(8, level_9, 600)
LEVEL(7, level_8, 32)
LEVEL(6, level_7, 100)
LEVEL(5, level_6, 8)
LEVEL(4, level_5, 1200)
LEVEL(3, level_4, 40)
LEVEL(2, level_3, 300)
LEVEL(1, level_2, 16)
LEVEL(0, level_1, 64)

int main(int argc, char **argv)
{
	if (argc > 1)
		seconds = atof(argv[1]);
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
	/* a few rounds, so samples come from more than one call */
	while (now_ns() < end)
		level_0(now_ns() + 50000000u < end ? now_ns() + 50000000u : end);
	return 0;
}
