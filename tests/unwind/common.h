/*
 * Shared helpers of the local-unwinding tests (the programs in tests/unwind): check
 * counters that are safe to bump from several threads, and a closing line.
 *
 * Every program prints one "NAME: N checks passed, N failed" line (not the
 * bare "N passed, N failed" form: tests/scripts/unwind.sh prints that) and
 * exits 1 when a check failed.
 */
#ifndef SW_UNWIND_TEST_COMMON_H
#define SW_UNWIND_TEST_COMMON_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <unwind.h>

/* Collects libgcc's view of the stack: _Unwind_Backtrace(ug_cb, &state)
 * stores each frame's _Unwind_GetIP into pcs[0..max). */
struct ug_state {
	void **pcs;
	int n, max;
};

static inline _Unwind_Reason_Code ug_cb(struct _Unwind_Context *ctx, void *arg)
{
	struct ug_state *s = arg;

	if (s->n >= s->max)
		return _URC_NORMAL_STOP;
	s->pcs[s->n++] = (void *)_Unwind_GetIP(ctx);
	return _URC_NO_REASON;
}

#define NOINLINE __attribute__((noinline))
#define USED __attribute__((used))

/* Keep `x` in a register and opaque to the optimiser at this point (also
 * stops a preceding call from being turned into a tail call). */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))
#define BARRIER() __asm__ volatile("" ::: "memory")

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

/* A status code and its name, for messages. */
static inline const char *t_status(int rc)
{
	return rc == 0 ? "0 (moved)" : sw_strerror(rc);
}

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

#endif
