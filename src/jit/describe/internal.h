/*
 * The description converters' shared pieces (describe.c dispatches on
 * struct sw_jit_proc's kind: frame.c for SW_JIT_UNWIND_FRAME, dynamic.c
 * for SW_JIT_UNWIND_DYN; SW_JIT_UNWIND_CFI is copied as it is).
 */
#ifndef SW_JIT_DESCRIBE_INTERNAL_H
#define SW_JIT_DESCRIBE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "arch/arch.h"

/* Shared between the files of this folder only: hidden, so the shared
 * library neither exports nor interposes them (calls stay direct and may
 * be inlined, as when they were static). */
#pragma GCC visibility push(hidden)

/* A register's name for the reasons. */
static inline const char *rname(unsigned reg)
{
	const char *n = sw_arch_reg_name(reg);
	return n ? n : "?";
}

/* Advance to code offset `off` unless it is the end of the procedure,
 * where no instruction is left for a row to describe.  Returns 1 to skip
 * the directives, 0 to write them, or the builder's error. */
static inline int at(sw_cfi_builder_t *b, uint64_t off, uint64_t size)
{
	if (off >= size)
		return 1;
	return sw_cfi_b_advance(b, off);
}

/* Status of a chain of builder calls: the builder's error is sticky, so
 * checking once after a group of calls is enough. */
#define TRY(call)                                                         \
	do {                                                                  \
		int rc_ = (call);                                                 \
		if (rc_ < 0)                                                      \
			return rc_;                                                   \
	} while (0)

/* The canonical prologue's layout, from the descriptor. */
struct frame_layout {
	bool fp;
	unsigned pushes;        /* bytes of the saved[] pushes */
	uint64_t prologue;      /* bytes of the whole prologue */
	uint64_t before_final;  /* epilogue bytes before the final instruction
				 * (the shortest canonical form) */
};

/* SW_JIT_UNWIND_FRAME (frame.c): check f for a procedure of `size`
 * bytes and compute its layout (0 or SW_EINVAL with a reason), then write
 * its directives (0 or the builder's error). */
int sw_describe_frame_check(const struct sw_jit_frame *f, uint64_t size, struct frame_layout *l);
int sw_describe_frame_emit(sw_cfi_builder_t *b, const struct sw_jit_frame *f, uint64_t size,
			   const struct frame_layout *l);

/* SW_JIT_UNWIND_DYN (dynamic.c): run p's regions with a fresh work
 * budget, writing into b, or with b NULL only validating (the dry run).
 * Returns 0, SW_EINVAL with a reason, or the builder's error. */
int sw_describe_dyn(sw_cfi_builder_t *b, const struct sw_jit_proc *p);

#pragma GCC visibility pop

#endif /* SW_JIT_DESCRIBE_INTERNAL_H */
