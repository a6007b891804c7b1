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

#include "../check.h"

/* A status code and its name, for messages. */
static inline const char *t_status(int rc)
{
	return rc == 0 ? "0 (moved)" : sw_strerror(rc);
}

#endif
