/*
 * sw_backtrace and sw_backtrace_ucontext (and their ...2 forms, which say
 * how the trace ended): the fast path profilers and crash handlers call.
 * Both are cursor walks that record each frame's IP; repeated walks hit
 * the rule cache, and while they do the walk runs in registers
 * (arch/walk.h): a step is a hash probe plus the loads of the saved
 * registers.  No frame-count limit: the buffer bounds the walk, and every
 * step must make the stack grow (stackwalk.h, SW_MAX_SIGNAL_FRAMES).
 */
#include "arch/context.h"
#include "arch/walk.h"
#include "unwind/internal.h"

/* Record IPs while stepping; returns the count, or the first step's error
 * when nothing was recorded.  *status, when status is not NULL: how the
 * walk ended (stackwalk.h, sw_backtrace2). */
static int walk(sw_cursor_t *cur, void **pcs, int max, int n, int *status)
{
	int rc;

	struct sw_cursor_impl *c = (struct sw_cursor_impl *)(void *)cur;

	while (n < max) {
		/* the cached frames in registers (arch/walk.h), then one full
		 * step (which tries the cache first too: an interrupted frame, an
		 * outermost rule) for the frame that stopped it */
		if (c->flags == 0) {
			n = sw_walk_cached(c, pcs, max, n);
			if (n >= max)
				break;
		}
		rc = sw_step(cur);
		if (rc != 0) {
			if (status)
				*status = rc;
			return n > 0 ? n : (rc == SW_END_OF_STACK ? 0 : rc);
		}
		/* the IP straight from the cursor (sw_get_ip is a call) */
		pcs[n++] = (void *)(uintptr_t)((struct sw_cursor_impl *)(void *)cur)->regs[SW_REG_IP];
	}
	/* the buffer is full: one more step tells a complete trace from a
	 * cut one (only when asked: sw_backtrace's rule is "max means full") */
	if (status) {
		rc = sw_step(cur);
		*status = rc == 0 ? SW_ETOODEEP : rc;
	}
	return n;
}

__attribute__((noinline)) int sw_backtrace2(void **pcs, int max, int *status)
{
	struct sw_context_impl ctx;     /* not a whole sw_context_t (context.h) */
	sw_cursor_t cur;
	int ignored;

	if (!status)
		status = &ignored;
	if (!pcs || max <= 0) {
		*status = max == 0 ? SW_ETOODEEP : SW_EINVAL;
		return max == 0 ? 0 : SW_EINVAL;
	}
	sw_getcontext(sw_ctx_public(&ctx));
	sw_init_local(&cur, sw_ctx_public(&ctx));
	/* the captured frame is sw_backtrace2 itself: start from its caller */
	return walk(&cur, pcs, max, 0, status);
}

__attribute__((noinline)) int sw_backtrace(void **pcs, int max)
{
	struct sw_context_impl ctx;     /* not a whole sw_context_t (context.h) */
	sw_cursor_t cur;

	if (!pcs || max <= 0)
		return max == 0 ? 0 : SW_EINVAL;
	sw_getcontext(sw_ctx_public(&ctx));
	sw_init_local(&cur, sw_ctx_public(&ctx));
	/* the captured frame is sw_backtrace itself: start from its caller */
	return walk(&cur, pcs, max, 0, NULL);
}

int sw_backtrace_ucontext2(const void *ucontext, void **pcs, int max, int *status)
{
	sw_cursor_t cur;
	int rc, ignored;

	if (!status)
		status = &ignored;
	if (!pcs || max <= 0) {
		*status = max == 0 ? SW_ETOODEEP : SW_EINVAL;
		return max == 0 ? 0 : SW_EINVAL;
	}
	rc = sw_init_ucontext(&cur, ucontext);
	if (rc < 0) {
		*status = rc;
		return rc;
	}
	pcs[0] = (void *)(uintptr_t)sw_get_ip(&cur);
	return walk(&cur, pcs, max, 1, status);
}

int sw_backtrace_ucontext(const void *ucontext, void **pcs, int max)
{
	return sw_backtrace_ucontext2(ucontext, pcs, max, NULL);
}
