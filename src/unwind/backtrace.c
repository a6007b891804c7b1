/*
 * sw_backtrace and sw_backtrace_ucontext: the fast path profilers and
 * crash handlers call.  Both are cursor walks that record each frame's IP;
 * repeated walks hit the rule cache, so a step is a hash probe plus the
 * loads of the saved registers.
 */
#include "unwind/internal.h"

/* Record IPs while stepping; returns the count, or the first step's error
 * when nothing was recorded. */
static int walk(sw_cursor_t *cur, void **pcs, int max, int n)
{
	struct sw_cursor_impl *c = (struct sw_cursor_impl *)(void *)cur;

	while (n < max) {
		int rc;
		if (!sw_step_cached(c, &rc))
			rc = sw_step(cur);
		if (rc != 0)
			return n > 0 ? n : (rc == SW_END_OF_STACK ? 0 : rc);
		pcs[n++] = (void *)(uintptr_t)c->regs[SW_REG_RIP];
	}
	return n;
}

__attribute__((noinline)) int sw_backtrace(void **pcs, int max)
{
	sw_context_t ctx;
	sw_cursor_t cur;

	if (!pcs || max <= 0)
		return max == 0 ? 0 : SW_EINVAL;
	sw_getcontext(&ctx);
	sw_init_local(&cur, &ctx);
	/* the captured frame is sw_backtrace itself: start from its caller */
	return walk(&cur, pcs, max, 0);
}

int sw_backtrace_ucontext(const void *ucontext, void **pcs, int max)
{
	sw_cursor_t cur;
	int rc;

	if (!pcs || max <= 0)
		return max == 0 ? 0 : SW_EINVAL;
	rc = sw_init_ucontext(&cur, ucontext);
	if (rc < 0)
		return rc;
	pcs[0] = (void *)(uintptr_t)sw_get_ip(&cur);
	return walk(&cur, pcs, max, 1);
}
