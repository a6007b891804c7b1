/*
 * Procedure descriptors (struct sw_jit_proc in <stackwalk/jit.h>) turned
 * into .eh_frame CFI through the CFI builder.  Used by the JIT registry at
 * registration and, for lazy callbacks, on the unwind path.
 */
#ifndef SW_JIT_DESCRIBE_H
#define SW_JIT_DESCRIBE_H

#include <stackwalk/jit.h>

/* Bounds on a SW_JIT_UNWIND_DYN description (beyond them: SW_EINVAL).
 * Regions and ops are counted up to the first UNW_DYN_STOP; a cyclic
 * region list ends at the region bound.  The work bound caps the total
 * effort (ops visited, sorting passes over unsorted regions, replays for
 * ALIAS), so a conversion takes at most a few tens of milliseconds
 * whatever the description; real descriptions use a tiny fraction. */
#define SW_JIT_DESCRIBE_MAX_REGIONS 4096
#define SW_JIT_DESCRIBE_MAX_OPS 65536
#define SW_JIT_DESCRIBE_MAX_ALIASES 16          /* ALIAS ops covering bytes */
#define SW_JIT_DESCRIBE_MAX_WORK (1u << 24)
/* Open frames whose starting state POP_FRAMES can return to: the
 * innermost 8 (a canonical frame opens at most 8 regions: push rbp,
 * mov rbp,rsp, 5 pushes, sub rsp). */
#define SW_JIT_DESCRIBE_MAX_FRAMES 8
/* SW_JIT_UNWIND_FRAME: at most this many epilogues. */
#define SW_JIT_DESCRIBE_MAX_EPILOGUES 65536

/*
 * sw_jit_describe - emit one procedure for p into b: startproc over
 * [p->start, p->end), the personality and LSDA (if not 0) as absolute
 * 8-byte pointers (DW_EH_PE_absptr), the directives for p->kind, endproc.
 *
 * The description is validated completely before the first builder call:
 * a malformed one returns SW_EINVAL and leaves the builder untouched.
 * Otherwise returns 0 or the builder's error (sticky in the builder:
 * SW_ETRUNCATED when the bytes do not fit, SW_EINVAL for a range that
 * overlaps a procedure already in the builder, ...).
 *
 * Allocates nothing, takes no locks, no recursion, bounded time (see the
 * bounds above) and about 2.5 KiB of stack: safe inside signal handlers.
 * Thread-safe: one thread per builder.
 */
int sw_jit_describe(sw_cfi_builder_t *b, const struct sw_jit_proc *p);

#endif /* SW_JIT_DESCRIBE_H */
