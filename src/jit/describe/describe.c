/*
 * Procedure descriptors to CFI: the three unwind descriptions of
 * struct sw_jit_proc (standard frame, raw CFI, libunwind-dynamic regions)
 * written through the CFI builder.  See include/stackwalk/jit.h for the
 * descriptions and describe.h for the contract.
 *
 * Every description is checked completely before the builder is touched
 * (for the dynamic kind by a dry run of the very code that emits), so a
 * malformed one never leaves half a procedure behind.  Nothing here
 * allocates, locks or recurses: the lazy-callback path runs it on the
 * unwinder's stack inside signal handlers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/reader.h"
#include "jit/describe/describe.h"
#include "jit/describe/internal.h"
#include "jit/error.h"

/* ================================================================= API */

int sw_jit_describe(sw_cfi_builder_t *b, const struct sw_jit_proc *p)
{
	struct frame_layout fl = { 0 };
	int rc;

	if (!b || !p)
		return sw_jit_fail(SW_EINVAL, "sw_jit_describe: NULL builder or descriptor");
	if (p->end <= p->start)
		return sw_jit_fail(SW_EINVAL, "end: %#llx is not above start %#llx",
				   (unsigned long long)p->end, (unsigned long long)p->start);
	if (p->end - p->start > UINT32_MAX)
		return sw_jit_fail(SW_EINVAL, "end: [start, end) = [%#llx, %#llx) is 4 GiB or more",
				   (unsigned long long)p->start, (unsigned long long)p->end);
	uint64_t size = p->end - p->start;

	switch (p->kind) {
	case SW_JIT_UNWIND_FRAME:
		if ((rc = sw_describe_frame_check(&p->u.frame, size, &fl)))
			return rc;
		break;
	case SW_JIT_UNWIND_CFI:
		if (!p->u.cfi.insns && p->u.cfi.len)
			return sw_jit_fail(SW_EINVAL, "u.cfi.insns: NULL with len %zu", p->u.cfi.len);
		break;
	case SW_JIT_UNWIND_DYN:
		/* a dry run validates everything before the builder is touched */
		if ((rc = sw_describe_dyn(NULL, p)))
			return rc;
		break;
	default:
		return sw_jit_fail(SW_EINVAL, "kind: %d is not SW_JIT_UNWIND_FRAME (1), _CFI (2) "
				   "or _DYN (3)", p->kind);
	}

	uint32_t mark = sw_jit_err_mark();
	sw_cfi_b_startproc(b, p->start, size);
	if (p->personality)
		sw_cfi_b_personality(b, SW_PE_absptr, p->personality);
	if (p->lsda)
		sw_cfi_b_lsda(b, SW_PE_absptr, p->lsda);
	if ((rc = sw_cfi_b_status(b)))
		return sw_jit_err_ctx(rc, mark, "u: writing its CFI: ");

	switch (p->kind) {
	case SW_JIT_UNWIND_FRAME:
		rc = sw_describe_frame_emit(b, &p->u.frame, size, &fl);
		break;
	case SW_JIT_UNWIND_CFI:
		rc = p->u.cfi.len ? sw_cfi_b_escape(b, p->u.cfi.insns, p->u.cfi.len) : 0;
		break;
	default:
		/* the same run again, writing; the budget starts afresh (the
		 * dry run proved it suffices) */
		rc = sw_describe_dyn(b, p);
		break;
	}
	if (!rc)
		rc = sw_cfi_b_endproc(b);
	return sw_jit_err_ctx(rc, mark, "u: writing its CFI: ");
}
