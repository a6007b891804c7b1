/*
 * SW_JIT_UNWIND_FRAME: the canonical x86-64 frame (push rbp; mov rbp,rsp;
 * pushes; sub rsp) and its epilogues, as CFI.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "arch/arch.h"
#include "dwarf/reader.h"
#include "jit/describe/describe.h"
#include "jit/describe/internal.h"
#include "jit/error.h"

/* ================================================================ frame */

/* Bytes of `push rbp; mov rbp, rsp`. */
#define FP_PROLOGUE (SW_ARCH_FRAME_PUSH_FP_LEN + SW_ARCH_FRAME_SET_FP_LEN)

int sw_describe_frame_check(const struct sw_jit_frame *f, uint64_t size, struct frame_layout *l)
{
	uint32_t seen = 0;

	if (f->flags & ~SW_JIT_FRAME_FP)
		return sw_jit_fail(SW_EINVAL, "u.frame.flags: unknown bits %#x (only "
				   "SW_JIT_FRAME_FP)", f->flags & ~SW_JIT_FRAME_FP);
	if (f->nsaved > SW_JIT_FRAME_MAX_SAVED)
		return sw_jit_fail(SW_EINVAL, "u.frame.nsaved: %u is above "
				   "SW_JIT_FRAME_MAX_SAVED (%d)", f->nsaved, SW_JIT_FRAME_MAX_SAVED);
	if (f->frame_size > INT32_MAX)
		return sw_jit_fail(SW_EINVAL, "u.frame.frame_size: %u is 2^31 or more",
				   f->frame_size);
	l->fp = f->flags & SW_JIT_FRAME_FP;
	l->pushes = 0;
	for (unsigned i = 0; i < f->nsaved; i++) {
		unsigned r = f->saved[i];
		if (r == SW_ARCH_FP_REG && l->fp)
			return sw_jit_fail(SW_EINVAL, "u.frame.saved[%u]: rbp is pushed by the "
					   "SW_JIT_FRAME_FP prologue already", i);
		if (!sw_arch_frame_saveable(r))
			return sw_jit_fail(SW_EINVAL, "u.frame.saved[%u]: register %u (%s) is not "
					   "callee-saved (rbx, r12..r15, or rbp without "
					   "SW_JIT_FRAME_FP)", i, r, rname(r));
		if (seen & (1u << r))
			return sw_jit_fail(SW_EINVAL, "u.frame.saved[%u]: register %u (%s) is saved "
					   "twice", i, r, rname(r));
		seen |= 1u << r;
		l->pushes += sw_arch_push_len(r);
	}
	l->prologue = (l->fp ? FP_PROLOGUE : 0) + l->pushes + sw_arch_sp_adjust_len(f->frame_size);
	if (l->prologue > size)
		return sw_jit_fail(SW_EINVAL, "u.frame: the prologue's %llu bytes (flags, saved[], "
				   "frame_size) do not fit the procedure's %llu (end - start)",
				   (unsigned long long)l->prologue, (unsigned long long)size);
	/* Without FP the epilogue is fixed: add rsp, pops.  With FP any rsp
	 * restore may come first, but at least the pops and one byte for
	 * `pop rbp` (or `leave`) precede the final instruction. */
	l->before_final = l->fp ? l->pushes + 1 : sw_arch_sp_adjust_len(f->frame_size) + l->pushes;

	if (f->nepilogues > SW_JIT_DESCRIBE_MAX_EPILOGUES)
		return sw_jit_fail(SW_EINVAL, "u.frame.nepilogues: %u is above %d", f->nepilogues,
				   SW_JIT_DESCRIBE_MAX_EPILOGUES);
	if (f->nepilogues && !f->epilogues)
		return sw_jit_fail(SW_EINVAL, "u.frame.epilogues: NULL with nepilogues %u",
				   f->nepilogues);
	/* Each epilogue starts after the prologue and after the previous
	 * epilogue's final instruction (so offsets strictly increase). */
	uint64_t free_from = l->prologue;
	for (uint32_t i = 0; i < f->nepilogues; i++) {
		unsigned long long ep = f->epilogues[i];
		if (ep >= size)
			return sw_jit_fail(SW_EINVAL, "u.frame.epilogues[%u]: offset %llu is not "
					   "inside the procedure (%llu bytes)", i, ep,
					   (unsigned long long)size);
		if (ep < free_from && i == 0)
			return sw_jit_fail(SW_EINVAL, "u.frame.epilogues[%u]: offset %llu lies in the "
					   "prologue (%llu bytes)", i, ep,
					   (unsigned long long)l->prologue);
		if (ep < free_from)
			return sw_jit_fail(SW_EINVAL, "u.frame.epilogues[%u]: offset %llu is not after "
					   "epilogues[%u] (%u): offsets must increase", i, ep, i - 1,
					   f->epilogues[i - 1]);
		if (ep - free_from < l->before_final)
			return sw_jit_fail(SW_EINVAL, "u.frame.epilogues[%u]: offset %llu leaves %llu "
					   "bytes for the epilogue before its last instruction, "
					   "at least %llu needed (add rsp, pops)", i, ep,
					   ep - free_from, (unsigned long long)l->before_final);
		free_from = ep + 1;
	}
	return 0;
}

int sw_describe_frame_emit(sw_cfi_builder_t *b, const struct sw_jit_frame *f, uint64_t size,
		      const struct frame_layout *l)
{
	uint64_t off = 0;
	int64_t cfa = 8;        /* CFA - rsp while the CFA is rsp-based */
	int64_t slot = -16;     /* CFA offset of the next push */
	int rc;

	/* Prologue: a new row after every instruction. */
	if (l->fp) {
		rc = at(b, SW_ARCH_FRAME_PUSH_FP_LEN, size);
		if (rc < 0)
			return rc;
		if (!rc) {
			sw_cfi_b_def_cfa_offset(b, 16);
			TRY(sw_cfi_b_offset(b, SW_ARCH_FP_REG, -16));
		}
		rc = at(b, FP_PROLOGUE, size);
		if (rc < 0)
			return rc;
		if (!rc)
			TRY(sw_cfi_b_def_cfa_register(b, SW_ARCH_FP_REG));
		off = FP_PROLOGUE;
		cfa = 16;
		slot = -24;
	}
	for (unsigned i = 0; i < f->nsaved; i++) {
		off += sw_arch_push_len(f->saved[i]);
		rc = at(b, off, size);
		if (rc < 0)
			return rc;
		if (!l->fp)
			cfa += 8;
		if (!rc) {
			if (!l->fp)
				sw_cfi_b_def_cfa_offset(b, cfa);
			TRY(sw_cfi_b_offset(b, f->saved[i], slot));
		}
		slot -= 8;
	}
	if (f->frame_size && !l->fp) {
		off += sw_arch_sp_adjust_len(f->frame_size);
		rc = at(b, off, size);
		if (rc < 0)
			return rc;
		if (!rc)
			TRY(sw_cfi_b_def_cfa_offset(b, cfa + f->frame_size));
	}

	/* Epilogues: remember the body's row, unwind it instruction by
	 * instruction, return to it after the final instruction. */
	bool changes = l->fp || f->nsaved || f->frame_size;
	for (uint32_t e = 0; changes && e < f->nepilogues; e++) {
		uint64_t ep = f->epilogues[e];
		if (l->fp) {
			/* The CFA stays rbp+16 through whatever restores rsp and
			 * the pops (rbp and the slots are intact until then). */
			TRY(sw_cfi_b_advance(b, ep));
			sw_cfi_b_remember_state(b);
			sw_cfi_b_def_cfa(b, SW_ARCH_SP_REG, 8);
			sw_cfi_b_restore(b, SW_ARCH_FP_REG);
			for (unsigned i = 0; i < f->nsaved; i++)
				sw_cfi_b_restore(b, f->saved[i]);
		} else {
			uint64_t o = ep - l->before_final;
			int64_t c = 8 + 8 * (int64_t)f->nsaved;
			TRY(sw_cfi_b_advance(b, o));
			sw_cfi_b_remember_state(b);
			if (f->frame_size) {
				o += sw_arch_sp_adjust_len(f->frame_size);
				sw_cfi_b_advance(b, o);
				sw_cfi_b_def_cfa_offset(b, c);
			}
			for (unsigned i = f->nsaved; i-- > 0;) {
				o += sw_arch_push_len(f->saved[i]);
				c -= 8;
				sw_cfi_b_advance(b, o);
				sw_cfi_b_def_cfa_offset(b, c);
				sw_cfi_b_restore(b, f->saved[i]);
			}
		}
		TRY(sw_cfi_b_status(b));
		rc = at(b, ep + 1, size);
		if (rc < 0)
			return rc;
		if (!rc)
			TRY(sw_cfi_b_restore_state(b));
	}
	return 0;
}

