/*
 * The library's view of sw_context_t on x86-64: the 17 registers in DWARF
 * order (System V psABI), then a flags word (how the snapshot was taken;
 * 0 today).  sw_context_t itself is opaque words sized for the largest
 * architecture (stackwalk.h); context.S stores and loads this layout
 * (context_layout.h gives its byte offsets, context_layout.c checks them).
 */
#ifndef SW_ARCH_X86_64_CONTEXT_H
#define SW_ARCH_X86_64_CONTEXT_H

#include <stdint.h>

#include "stackwalk.h"

/* may_alias: the storage is the caller's sw_context_t (an array of
 * uint64_t), read and written through this view */
struct __attribute__((may_alias)) sw_context_impl {
	uint64_t regs[SW_REG_COUNT];
	uint64_t flags;
};

_Static_assert(sizeof(struct sw_context_impl) <= sizeof(sw_context_t),
	       "sw_context_t is too small for the context state");
_Static_assert(_Alignof(struct sw_context_impl) <= _Alignof(sw_context_t),
	       "sw_context_t is less aligned than the context state");

static inline struct sw_context_impl *sw_ctx_impl(sw_context_t *ctx)
{
	return (struct sw_context_impl *)(void *)ctx;
}

static inline const struct sw_context_impl *sw_ctx_cimpl(const sw_context_t *ctx)
{
	return (const struct sw_context_impl *)(const void *)ctx;
}

/* The library's own callers of sw_getcontext, sw_init_local and
 * sw_arch_resume (the backtrace functions, sw_resume) use this smaller
 * view, not a whole sw_context_t, to keep the unwind path's stack small:
 * those functions write or read only this much (context_layout.c). */
static inline sw_context_t *sw_ctx_public(struct sw_context_impl *ctx)
{
	return (sw_context_t *)(void *)ctx;
}

#endif /* SW_ARCH_X86_64_CONTEXT_H */
