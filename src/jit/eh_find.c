/*
 * The registry's FDE for libgcc's _Unwind_Find_FDE (eh_find.h): a client
 * of the registry's source (jit/registry.h), as the unwinder is.
 *
 * Lifetime: libgcc uses the returned FDE only until it has decoded the
 * frame (uw_frame_state_for, then uw_update_context for expression
 * rules), after our read section has ended.  Pointers into the registry
 * are therefore valid as long as the registration lives -- and a JIT that
 * removes or moves code while an exception is being unwound through it
 * has freed live frames anyway.  Copies live in the caller's buffer.
 */
#define _GNU_SOURCE 1   /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <string.h>

#include <stackwalk.h>

#include "jit/eh_abs.h"
#include "jit/eh_find.h"
#include "jit/error.h"
#include "jit/registry.h"

int sw_jit_eh_find_fde(uint64_t pc, void *buf, size_t size, struct sw_jit_eh_fde *out)
{
	struct sw_fde_info info;
	size_t fde_off;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_eh_find_fde: out: NULL");
	if ((rc = sw_jit_find_fde(pc, &info)) < 0)
		return rc;
	info.from = &sw_jit_source;
	/* the registry's fde.pc_begin already includes a move's bias */
	out->func = info.fde.pc_begin;
	if (info.sec.vaddr == (uint64_t)(uintptr_t)info.sec.data &&
	    info.sec.data != info.scratch) {
		/* libgcc takes the code's start from bases.func, never from
		 * the FDE's pc_begin, so a moved registration (whose bytes keep
		 * the old addresses) is read in place too */
		out->fde = info.sec.data + info.fde.offset;
		out->copied = 0;
		rc = 0;
	} else {
		rc = sw_eh_abs_write(&info.sec, &info.cie, &info.fde, 0, buf, size, &fde_off);
		if (rc >= 0 && !buf)
			rc = SW_ETRUNCATED;
		if (rc >= 0) {
			out->fde = (const uint8_t *)buf + fde_off;
			out->copied = 1;
			rc = 0;
		}
	}
	sw_source_release(&info);
	return rc;
}

void sw_jit_eh_attach(void)
{
	/* static: the interposer links it into its list for good */
	static struct sw_findfde_registry self = { sw_jit_eh_find_fde, NULL };
	sw_findfde_attach_fn attach =
		(sw_findfde_attach_fn)dlsym(RTLD_DEFAULT, SW_FINDFDE_ATTACH_SYM);

	if (attach)
		attach(&self);
}
