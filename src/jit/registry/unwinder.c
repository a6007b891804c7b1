/*
 * The registry as the unwinder sees it: every function src/unwind and
 * src/eh call, and the only code that fills the unwinder's struct
 * sw_fde_info.  Kept in one file so the interface between the two can be
 * replaced here alone:
 *   - sw_reg_install_hook: sets sw_jit_find_fde_hook (unwind/internal.h)
 *     at each registration;
 *   - jit_find_fde: that hook (fills sw_fde_info, enters a read section);
 *   - sw_jit_read_exit: leaves it (jit/registry.h, sw_fde_release);
 *   - sw_jit_active, sw_jit_get_name: the name path (unwind/names.c);
 *   - sw_jit_eh_find_fde, sw_jit_eh_attach: libgcc's _Unwind_Find_FDE
 *     through the interposer and src/eh (jit/eh_find.h).
 *
 * _Unwind_Find_FDE's answer (sw_jit_eh_find_fde) is a client of the hook,
 * like sw_find_fde.
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

#include "jit/eh_find.h"
#include "jit/error.h"
#include "jit/publishers/eh_abs.h"
#include "jit/registry.h"
#include "jit/registry/internal.h"
#include "unwind/internal.h"

static int jit_find_fde(uint64_t pc, struct sw_fde_info *info);

/* Once per process, at the first registration: the fork handlers, and
 * the registry handed to libstackwalk_findfde.so when it is loaded (a
 * program linked with libstackwalk.a exports nothing it could find). */
static void first_registration(void)
{
	pthread_atfork(sw_reg_fork_prepare, sw_reg_fork_parent, sw_reg_fork_child);
	sw_jit_eh_attach();
}

void sw_reg_install_hook(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, first_registration);
	__atomic_store_n(&sw_jit_find_fde_hook, jit_find_fde, __ATOMIC_RELEASE);
}

static int jit_find_fde(uint64_t pc, struct sw_fde_info *info)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	/* the unwinder's lookup is no call of the JIT's: keep its reason */
	sw_jit_err_mute(1);
	rc = sw_reg_find(pc, &h, info->jit_scratch, WANT_UNWIND);
	sw_jit_err_mute(-1);
	if (rc == 0) {
		sw_cfi_section_init(&info->sec, h.eh, h.eh_size, h.vaddr, true, ".eh_frame");
		rc = sw_cfi_parse_fde(&info->sec, h.fde_off, &info->fde, &info->cie, NULL);
	}
	if (rc < 0) {
		sw_rcu_exit(token);
		return rc;
	}
	/* the FDE's addresses where the code is now */
	info->fde.pc_begin += (uint64_t)h.bias;
	info->fde.pc_end += (uint64_t)h.bias;
	info->module_base = 0;
	info->source = SW_SRC_JIT;
	info->jit_token = token;        /* released by sw_fde_release */
	return 0;
}

void sw_jit_read_exit(uint32_t token)
{
	sw_rcu_exit(token);
}

int sw_jit_get_name(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!buf || !size)
		return sw_jit_fail(SW_EINVAL, "sw_jit_get_name: buf: NULL or size 0");
	buf[0] = '\0';
	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	uint32_t mark = sw_jit_err_mark();
	rc = sw_reg_find(pc, &h, NULL, WANT_NAME);      /* the only error: a broken callback answer */
	if (rc != SW_ENOTFOUND)
		rc = sw_jit_err_ctx(rc, mark, "sw_jit_get_name: ");
	if (rc == 0 && !h.name)
		rc = SW_ENONAME;        /* found: "no information" would mislead */
	if (rc == 0) {
		size_t i = 0;
		/* the callback's name is the JIT's memory, valid until removal */
		for (; i + 1 < size && h.name[i]; i++)
			buf[i] = h.name[i];
		buf[i] = '\0';
		if (offset)
			*offset = pc - h.start;
	}
	sw_rcu_exit(token);
	return rc;
}

bool sw_jit_active(void)
{
	return __atomic_load_n(&sw_reg_bound_hi, __ATOMIC_RELAXED) != 0;
}

int sw_jit_eh_find_fde(uint64_t pc, void *buf, size_t size, struct sw_jit_eh_fde *out)
{
	int (*jit)(uint64_t, struct sw_fde_info *) =
		__atomic_load_n(&sw_jit_find_fde_hook, __ATOMIC_ACQUIRE);
	struct sw_fde_info info;
	size_t fde_off;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_eh_find_fde: out: NULL");
	if (!jit)
		return SW_ENOTFOUND;
	info.jit_token = 0;
	if ((rc = jit(pc, &info)) < 0)
		return rc;
	/* the registry's fde.pc_begin already includes a move's bias */
	out->func = info.fde.pc_begin;
	if (info.sec.vaddr == (uint64_t)(uintptr_t)info.sec.data &&
	    info.sec.data != info.jit_scratch) {
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
	sw_fde_release(&info);
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
