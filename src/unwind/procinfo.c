/*
 * Unwind information by address, without a cursor (stackwalk.h, "Unwind
 * information by address"): sw_get_proc_info_by_pc, sw_info_generation,
 * sw_unmap_begin/end, sw_find_eh_fde.  Clients: src/eh (libstackwalk_unwind's
 * _Unwind_FindEnclosingFunction, _Unwind_Find_FDE and its per-thread
 * procedure cache), symbolizers and C++ runtimes.
 *
 * Everything here sits on the sources of unwind information
 * (source/source.h): their FDEs, and the libgcc-layout FDEs of sources
 * whose bytes are not a loaded .eh_frame (the JIT registry's).
 */
#include <string.h>

#include <stackwalk.h>

#include "unwind/internal.h"

int sw_proc_info_at(uint64_t pc, const struct sw_mem *mem, struct sw_proc_info *pi)
{
	struct sw_fde_info info;
	int rc;

	memset(pi, 0, sizeof(*pi));
	rc = sw_mem_find_fde(mem, pc, &info);
	if (rc < 0)
		return rc;
	pi->start = info.fde.pc_begin;
	pi->end = info.fde.pc_end;
	pi->lsda = info.fde.lsda;
	pi->personality = info.cie.personality;
	/* 'P' is usually pcrel|indirect: the CIE holds the GOT slot's address */
	if (info.cie.personality_enc != SW_PE_omit && (info.cie.personality_enc & SW_PE_indirect) &&
	    sw_mem_read(mem, info.cie.personality, &pi->personality) < 0)
		pi->personality = 0;
	pi->fde = info.sec.vaddr + info.fde.offset;
	pi->module_base = info.module_base;
	pi->source = info.source;
	sw_fde_release(&info);
	return 0;
}

int sw_get_proc_info_by_pc(uint64_t pc, struct sw_proc_info *pi)
{
	struct sw_mem mem = { 0 };      /* no known range: every read is probed */

	if (!pi)
		return SW_EINVAL;
	return sw_proc_info_at(pc, &mem, pi);
}

uint32_t sw_info_generation(void)
{
	return sw_cache_gen();
}

/* dlhooks.c's bracket around the real dlclose (its comment has the
 * argument), for unmappings it does not intercept. */
void sw_unmap_begin(void)
{
	/* the increment is ordered before the release bumps that follow */
	__atomic_fetch_add(&sw_unloads_active, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sw_module_generation, 1, __ATOMIC_RELEASE);
	sw_flush_cache();
}

void sw_unmap_end(void)
{
	__atomic_fetch_add(&sw_module_generation, 1, __ATOMIC_RELEASE);
	sw_flush_cache();
	__atomic_fetch_sub(&sw_unloads_active, 1, __ATOMIC_RELEASE);
}

int sw_find_eh_fde(uint64_t pc, void *buf, size_t size, struct sw_eh_fde *out)
{
	struct sw_fde_info info;
	int rc;

	if (!out)
		return SW_EINVAL;
	sw_init();
	memset(out, 0, sizeof(*out));
	/* JIT code: the registry's bytes, or an absolute copy of them */
	rc = sw_source_eh_fde(pc, buf, size, &out->fde, &out->start, &out->copied);
	if (rc == 0) {
		out->source = SW_SRC_JIT;
		return 0;
	}
	if (rc != SW_ENOTFOUND)
		return rc;
	rc = sw_find_fde(pc, &info);
	if (rc < 0)
		return rc;
	/* only a module's .eh_frame is in memory in this layout */
	if ((info.source == SW_SRC_EH_FRAME_HDR || info.source == SW_SRC_EH_FRAME) &&
	    info.sec.vaddr == (uint64_t)(uintptr_t)info.sec.data) {
		out->fde = info.sec.data + info.fde.offset;
		out->start = info.fde.pc_begin;
		out->source = info.source;
	} else if (info.source == SW_SRC_JIT) {
		/* registered after the registry said no: the answer of a
		 * lookup made just before the registration */
		rc = SW_ENOTFOUND;
	} else {
		rc = SW_EUNSUPPORTED;   /* .debug_frame, read from the file */
	}
	sw_fde_release(&info);
	return rc;
}
