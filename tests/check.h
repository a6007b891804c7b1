/*
 * Counting checks shared by the acceptance programs (tests/unwind,
 * tests/jit): every CHECK counts, a failure prints where and why, and
 * t_finish prints the totals the driving scripts read.
 */
#ifndef SW_TEST_CHECK_H
#define SW_TEST_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long t_pass, t_fail;

#define T_OK() __atomic_fetch_add(&t_pass, 1, __ATOMIC_RELAXED)
#define T_BAD() __atomic_fetch_add(&t_fail, 1, __ATOMIC_RELAXED)

/* CHECK(cond, fmt, ...): count, and print the location and message on failure. */
#define CHECK(cond, ...)                                                        \
	do {                                                                        \
		if (cond) {                                                             \
			T_OK();                                                             \
		} else {                                                                \
			T_BAD();                                                            \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
			printf(__VA_ARGS__);                                                \
			printf("\n");                                                       \
			fflush(stdout);                                                     \
		}                                                                       \
	} while (0)

/* CHECK_EQ(a, b, what): both as uint64_t, printed in hex and signed decimal. */
#define CHECK_EQ(a, b, ...)                                                     \
	do {                                                                        \
		uint64_t ce_a_ = (uint64_t)(a), ce_b_ = (uint64_t)(b);                  \
		if (ce_a_ == ce_b_) {                                                   \
			T_OK();                                                             \
		} else {                                                                \
			T_BAD();                                                            \
			printf("FAIL %s:%d: %s == %s: 0x%" PRIx64 " (%" PRId64 ") != 0x%"   \
			       PRIx64 " (%" PRId64 "): ", __FILE__, __LINE__, #a, #b,       \
			       ce_a_, (int64_t)ce_a_, ce_b_, (int64_t)ce_b_);               \
			printf(__VA_ARGS__);                                                \
			printf("\n");                                                       \
			fflush(stdout);                                                     \
		}                                                                       \
	} while (0)

static inline int t_finish(const char *name)
{
	printf("%s: %lu checks passed, %lu failed\n", name, t_pass, t_fail);
	fflush(stdout);
	return t_fail ? 1 : 0;
}

/* Iteration scale: SW_TEST_MODE=quick (the sanitizer run) shrinks loops. */
static inline int t_quick(void)
{
	const char *m = getenv("SW_TEST_MODE");
	return m && strcmp(m, "quick") == 0;
}

#endif /* SW_TEST_CHECK_H */
