/*
 * Small helpers the benchmark programs share: a monotonic clock in ns, a
 * deterministic random sequence (xorshift64*), the comparison qsort needs
 * to take medians, and figure labels.
 */
#ifndef SW_BENCH_UTIL_H
#define SW_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* "1e5" for 100000, the number itself when not a power of ten (one
 * static buffer: use the result before the next call) */
static inline const char *label(size_t n)
{
	static char buf[32];
	size_t m = n;
	int k = 0;

	while (m >= 10 && m % 10 == 0) {
		m /= 10;
		k++;
	}
	if (m == 1)
		snprintf(buf, sizeof buf, "1e%d", k);
	else
		snprintf(buf, sizeof buf, "%zu", n);
	return buf;
}

#endif /* SW_BENCH_UTIL_H */
