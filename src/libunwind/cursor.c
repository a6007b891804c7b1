/*
 * The cursor: unw_init_local / unw_init_local2, unw_step, registers,
 * procedure info and names, signal frames, save locations and
 * unw_resume, on stackwalk's cursor (struct swu_cursor's sw), plus
 * unw_backtrace2's walk from a context (its other forms are a tail jump
 * to sw_backtrace: x86_64/backtrace.S).
 *
 * Every function here works on a remote cursor too (unw_init_remote,
 * addrspace.c, fills sw with a walk over the caller's accessors):
 * swu_enter before each stackwalk call that may read the target.
 *
 * Behaviour, compared side by side with nongnu libunwind 1.6.2 (tests/
 * scripts/libunwind_local.sh) -- the same unless said otherwise:
 *   - unw_init_local: the first frame is the caller of unw_getcontext,
 *     its IP a return address (looked up at IP - 1); unw_init_local2 with
 *     UNW_INIT_SIGNAL_FRAME: a signal handler's ucontext, whose IP is the
 *     interrupted instruction (looked up as is); other flags -UNW_EINVAL.
 *   - unw_step: 1 stepped, 0 at the end of the stack (after which the IP
 *     reads 0, as nongnu's does), -UNW_E* on an error (the cursor stays
 *     on its frame).
 *   - unw_get_reg: RAX..RIP (DWARF numbers) and UNW_X86_64_CFA, which is
 *     17 in nongnu's x86-64 ABI (the number after RIP) and reads what
 *     nongnu's does: the frame's SP (nongnu keeps there the CFA of the
 *     frame below, which is this frame's SP).  In the first frame every
 *     register comes from the context; after a step only what the unwind
 *     information recovers (callee-saved registers, SP, IP; all of them
 *     in a frame interrupted by a signal): the others give -UNW_EBADREG,
 *     as unw_get_reg(3) documents, where nongnu returns the first frame's
 *     stale value.
 *   - unw_get_fpreg / unw_set_fpreg: -UNW_EBADREG for every register, as
 *     nongnu's x86-64 build.
 *   - unw_get_proc_info: start_ip, end_ip, lsda, handler, gp (the
 *     module's DT_PLTGOT, as nongnu reports it), flags
 *     (UNW_PI_FLAG_DEBUG_FRAME for .debug_frame), format
 *     UNW_INFO_FORMAT_TABLE; unwind_info is NULL and unwind_info_size 0
 *     (nongnu also gives NULL, with a size of its own).
 *   - unw_get_proc_name: -UNW_ENOINFO when no symbol contains the IP
 *     (documented; nongnu returns -UNW_EUNSPEC, and names addresses past
 *     a symbol's end after the nearest symbol below); -UNW_ENOMEM when
 *     the name was truncated (the truncated name is stored).  Names of
 *     generated code registered with stackwalk (sw_jit_*, _U_dyn_register)
 *     come first.  Mangled C++ names, as nongnu.
 *   - unw_is_signal_frame: 1 for the frame of the signal trampoline
 *     (__restore_rt: the caller of a signal handler), whose step restores
 *     the interrupted frame, as nongnu's.
 *   - unw_get_save_loc: what stackwalk's public API can tell: in the
 *     first frame every register's slot in the context; in a frame
 *     restored from a signal frame every register's slot in the kernel's
 *     ucontext; elsewhere the IP's slot (SP - 8).  Other registers are
 *     UNW_SLT_NONE (nongnu gives the memory slot of a callee-saved
 *     register saved by a callee: stackwalk does not expose it).
 *   - unw_reg_states_iterate / unw_apply_reg_state: -UNW_EINVAL (the
 *     public API exposes no register-state rows).
 *   - unw_resume: local cursors continue in the frame with its general
 *     registers (sw_resume; resuming the trampoline's frame runs its
 *     rt_sigreturn, which restores the interrupted state and signal mask
 *     as nongnu's sigreturn path does); remote ones call the accessors'
 *     resume.  Registers set with unw_set_reg live in the cursor only
 *     (nongnu writes them to their save slots on the stack).
 * init_local, step, get_reg and the backtraces allocate nothing and take
 * no lock (sw_init_local, sw_step, sw_backtrace*).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "x86_64/ucontext_offsets.h"

/* getcontext.S's offsets are glibc's */
#define UC_GREG(r) offsetof(ucontext_t, uc_mcontext.gregs[REG_##r])
_Static_assert(UC_GREG(R8) == SWU_UC_R8 && UC_GREG(R9) == SWU_UC_R9 &&
	       UC_GREG(R10) == SWU_UC_R10 && UC_GREG(R11) == SWU_UC_R11 &&
	       UC_GREG(R12) == SWU_UC_R12 && UC_GREG(R13) == SWU_UC_R13 &&
	       UC_GREG(R14) == SWU_UC_R14 && UC_GREG(R15) == SWU_UC_R15 &&
	       UC_GREG(RDI) == SWU_UC_RDI && UC_GREG(RSI) == SWU_UC_RSI &&
	       UC_GREG(RBP) == SWU_UC_RBP && UC_GREG(RBX) == SWU_UC_RBX &&
	       UC_GREG(RDX) == SWU_UC_RDX && UC_GREG(RAX) == SWU_UC_RAX &&
	       UC_GREG(RCX) == SWU_UC_RCX && UC_GREG(RSP) == SWU_UC_RSP &&
	       UC_GREG(RIP) == SWU_UC_RIP && UC_GREG(EFL) == SWU_UC_EFL,
	       "x86_64/ucontext_offsets.h: gregs offsets");
_Static_assert(offsetof(ucontext_t, uc_mcontext.fpregs) == SWU_UC_FPREGS_PTR &&
	       offsetof(ucontext_t, __fpregs_mem) == SWU_UC_FPREGS_MEM &&
	       sizeof(((ucontext_t *)0)->__fpregs_mem) == SWU_FXSAVE_SIZE &&
	       sizeof(ucontext_t) == SWU_UC_SIZE,
	       "x86_64/ucontext_offsets.h: fp state");
/* libunwind's DWARF numbers are stackwalk's */
_Static_assert((int)UNW_X86_64_RAX == (int)SW_REG_RAX && (int)UNW_X86_64_RSP == (int)SW_REG_RSP &&
	       (int)UNW_X86_64_R15 == (int)SW_REG_R15 && (int)UNW_X86_64_RIP == (int)SW_REG_RIP &&
	       (int)UNW_REG_IP == (int)SW_REG_IP && (int)UNW_REG_SP == (int)SW_REG_SP,
	       "register numbers");

/* UNW_X86_64_CFA is 17 (the number after RIP) in nongnu's x86-64 ABI as
 * distributions build it (without CONFIG_MSABI_SUPPORT), and in this
 * library's header. */
_Static_assert(UNW_X86_64_CFA == UNW_X86_64_RIP + 1, "nongnu's UNW_X86_64_CFA");

static inline int is_cfa(int reg)
{
	return reg == UNW_X86_64_CFA;
}

/* unw_get_proc_name tells a cut name from one that fills the buffer
 * exactly for buffers up to this size (larger ones: a name of exactly
 * len - 1 bytes or more is reported complete) */
#define SWU_NAME_CHECK_MAX 4096

/* local[] slots (internal.h: this file's own) */
enum {
	L_PREV_SP,      /* the SP of the frame the last step left */
};

/* DWARF register number -> glibc's gregs index */
static const unsigned char greg_of[SW_REG_COUNT] = {
	[SW_REG_RAX] = REG_RAX, [SW_REG_RDX] = REG_RDX, [SW_REG_RCX] = REG_RCX,
	[SW_REG_RBX] = REG_RBX, [SW_REG_RSI] = REG_RSI, [SW_REG_RDI] = REG_RDI,
	[SW_REG_RBP] = REG_RBP, [SW_REG_RSP] = REG_RSP, [SW_REG_R8] = REG_R8,
	[SW_REG_R9] = REG_R9, [SW_REG_R10] = REG_R10, [SW_REG_R11] = REG_R11,
	[SW_REG_R12] = REG_R12, [SW_REG_R13] = REG_R13, [SW_REG_R14] = REG_R14,
	[SW_REG_R15] = REG_R15, [SW_REG_RIP] = REG_RIP,
};

static inline struct swu_cursor *live(unw_cursor_t *cursor)
{
	struct swu_cursor *c = swu_cursor(cursor);

	return cursor && c->magic == SWU_CURSOR_MAGIC ? c : NULL;
}

static inline int is_remote(const struct swu_cursor *c)
{
	return (c->flags & SWU_C_REMOTE) || (c->as && c->as->kind == SWU_AS_REMOTE);
}

/* ---------------------------------------------------------------- init */

static int init_local(struct swu_cursor *c, const unw_context_t *uc, int signal)
{
	int rc;

	if (signal) {
		rc = sw_init_ucontext(&c->sw, uc);
	} else {
		/* a context made by unw_getcontext: its IP is a return address */
		sw_context_t ctx;
		memset(&ctx, 0, sizeof(ctx));  /* the documented way to make one */
		for (int r = 0; r < SW_REG_COUNT; r++)
			sw_context_set_reg(&ctx, r, (uint64_t)uc->uc_mcontext.gregs[greg_of[r]]);
		rc = sw_init_local(&c->sw, &ctx);
	}
	if (rc < 0) {
		c->magic = 0;
		return swu_error(rc);
	}
	c->magic = SWU_CURSOR_MAGIC;
	c->flags = signal ? SWU_C_SIGNAL_INIT : 0;
	c->as = &swu_local_as;
	c->arg = NULL;
	c->ctx = uc;
	c->local[L_PREV_SP] = 0;
	return 0;
}

SWU_API int unw_init_local(unw_cursor_t *cursor, unw_context_t *uc)
{
	if (!cursor || !uc)
		return -UNW_EINVAL;
	return init_local(swu_cursor(cursor), uc, 0);
}
SWU_ALIAS(init_local);

SWU_API int unw_init_local2(unw_cursor_t *cursor, unw_context_t *uc, int flags)
{
	if (!cursor || !uc || (flags & ~UNW_INIT_SIGNAL_FRAME))
		return -UNW_EINVAL;
	return init_local(swu_cursor(cursor), uc, flags & UNW_INIT_SIGNAL_FRAME);
}
SWU_ALIAS(init_local2);

/* ---------------------------------------------------------------- step */

SWU_API int unw_step(unw_cursor_t *cursor)
{
	struct swu_cursor *c = live(cursor);
	uint64_t sp;
	int rc;

	if (!c)
		return -UNW_EINVAL;
	if (c->flags & SWU_C_END)
		return 0;
	swu_enter(c);
	sp = sw_get_sp(&c->sw);
	rc = sw_step(&c->sw);
	if (rc == 0) {
		c->flags |= SWU_C_STEPPED;
		c->local[L_PREV_SP] = sp;
		return 1;
	}
	if (rc == SW_END_OF_STACK) {
		/* no caller: the cursor reads IP 0 from now on, as nongnu's */
		c->flags |= SWU_C_END;
		sw_set_reg(&c->sw, SW_REG_IP, 0);
		return 0;
	}
	return swu_error(rc);
}
SWU_ALIAS(step);

/* ---------------------------------------------------------------- registers */

SWU_API int unw_get_reg(unw_cursor_t *cursor, int reg, unw_word_t *val)
{
	struct swu_cursor *c = live(cursor);
	uint64_t v;
	int rc;

	if (!c || !val)
		return -UNW_EINVAL;
	if (is_cfa(reg))
		reg = SW_REG_SP;
	if (reg < 0 || reg >= SW_REG_COUNT)
		return -UNW_EBADREG;
	rc = sw_get_reg(&c->sw, reg, &v);
	if (rc == SW_EBADREG && !(c->flags & SWU_C_STEPPED) && c->ctx) {
		/* the first frame: every register of the context */
		v = (uint64_t)c->ctx->uc_mcontext.gregs[greg_of[reg]];
		rc = 0;
	}
	if (rc < 0)
		return swu_error(rc);
	*val = v;
	return 0;
}
SWU_ALIAS(get_reg);

SWU_API int unw_set_reg(unw_cursor_t *cursor, int reg, unw_word_t val)
{
	struct swu_cursor *c = live(cursor);

	if (!c)
		return -UNW_EINVAL;
	if (is_cfa(reg))
		return -UNW_EREADONLYREG;
	if (reg < 0 || reg >= SW_REG_COUNT)
		return -UNW_EBADREG;
	return swu_error(sw_set_reg(&c->sw, reg, val));
}
SWU_ALIAS(set_reg);

SWU_API int unw_get_fpreg(unw_cursor_t *cursor, int reg, unw_fpreg_t *val)
{
	(void)reg;
	if (!live(cursor) || !val)
		return -UNW_EINVAL;
	return -UNW_EBADREG;
}
SWU_ALIAS(get_fpreg);

SWU_API int unw_set_fpreg(unw_cursor_t *cursor, int reg, unw_fpreg_t val)
{
	(void)reg;
	(void)val;
	if (!live(cursor))
		return -UNW_EINVAL;
	return -UNW_EBADREG;
}
SWU_ALIAS(set_fpreg);

SWU_API int unw_get_save_loc(unw_cursor_t *cursor, int reg, unw_save_loc_t *loc)
{
	struct swu_cursor *c = live(cursor);
	uint64_t sp;

	if (!c || !loc)
		return -UNW_EINVAL;
	memset(loc, 0, sizeof(*loc));
	loc->type = UNW_SLT_NONE;
	if (is_cfa(reg))
		return 0;                       /* computed: not an lvalue */
	if (reg < 0 || reg >= SW_REG_COUNT)
		return -UNW_EBADREG;
	if (c->flags & SWU_C_END)
		return 0;
	if (!(c->flags & SWU_C_STEPPED)) {
		if (c->ctx) {
			loc->type = UNW_SLT_MEMORY;
			loc->u.addr = (uint64_t)(uintptr_t)&c->ctx->uc_mcontext.gregs[greg_of[reg]];
		}
		return 0;
	}
	if (sw_get_frame_source(&c->sw) == SW_SRC_SIGNAL_TRAMPOLINE) {
		/* every register came from the ucontext at the trampoline's SP */
		loc->type = UNW_SLT_MEMORY;
		loc->u.addr = c->local[L_PREV_SP] + offsetof(ucontext_t, uc_mcontext.gregs) +
			      8 * greg_of[reg];
		return 0;
	}
	if (reg == SW_REG_IP && sw_get_reg(&c->sw, SW_REG_SP, &sp) == 0) {
		/* the return address, just below the caller's SP (the CFA) */
		loc->type = UNW_SLT_MEMORY;
		loc->u.addr = sp - 8;
	}
	return 0;
}
SWU_ALIAS(get_save_loc);

/* ---------------------------------------------------------------- frames */

SWU_API int unw_is_signal_frame(unw_cursor_t *cursor)
{
	struct swu_cursor *c = live(cursor);
	sw_cursor_t next;

	if (!c)
		return -UNW_EINVAL;
	if (c->flags & SWU_C_END)
		return 0;
	/* the trampoline is the frame whose step restores an interrupted
	 * one: step a copy and look */
	next = c->sw;
	swu_enter(c);
	return sw_step(&next) == 0 && sw_is_signal_frame(&next) ? 1 : 0;
}
SWU_ALIAS(is_signal_frame);

/* The DT_PLTGOT of the module containing pc (what nongnu reports as gp),
 * from the loader's own table (_dl_find_object: lock-free). */
static uint64_t module_gp(uint64_t pc)
{
#ifdef DLFO_STRUCT_HAS_EH_DBASE
	struct dl_find_object fo;

	if (_dl_find_object((void *)(uintptr_t)pc, &fo) != 0 || !fo.dlfo_link_map)
		return 0;
	for (const ElfW(Dyn) *d = fo.dlfo_link_map->l_ld; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_PLTGOT)
			return d->d_un.d_ptr;
#else
	(void)pc;
#endif
	return 0;
}

SWU_API int unw_get_proc_info(unw_cursor_t *cursor, unw_proc_info_t *pi)
{
	struct swu_cursor *c = live(cursor);
	struct sw_proc_info spi;
	int rc;

	if (!c || !pi)
		return -UNW_EINVAL;
	memset(pi, 0, sizeof(*pi));
	if (c->flags & SWU_C_END)
		return -UNW_ENOINFO;
	swu_enter(c);
	rc = sw_get_proc_info(&c->sw, &spi);
	if (rc < 0)
		return swu_error(rc);
	pi->start_ip = spi.start;
	pi->end_ip = spi.end;
	pi->lsda = spi.lsda;
	pi->handler = spi.personality;
	pi->gp = is_remote(c) || spi.source == SW_SRC_JIT ? 0 : module_gp(spi.start);
	pi->flags = spi.source == SW_SRC_DEBUG_FRAME ? UNW_PI_FLAG_DEBUG_FRAME : 0;
	pi->format = UNW_INFO_FORMAT_TABLE;
	pi->unwind_info_size = 0;
	pi->unwind_info = NULL;
	return 0;
}
SWU_ALIAS(get_proc_info);

SWU_API int unw_get_proc_name(unw_cursor_t *cursor, char *buf, size_t len, unw_word_t *offp)
{
	struct swu_cursor *c = live(cursor);
	uint64_t off = 0;
	size_t n;
	int rc;

	if (!c || (!buf && len))
		return -UNW_EINVAL;
	if (c->flags & SWU_C_END)
		return -UNW_ENOINFO;
	swu_enter(c);
	if (len == 0) {
		/* no room at all: -UNW_ENOMEM if there is a name */
		char two[2];
		rc = sw_get_proc_name(&c->sw, two, sizeof(two), &off);
		if (rc < 0)
			return -UNW_ENOINFO;
		if (offp)
			*offp = off;
		return -UNW_ENOMEM;
	}
	rc = sw_get_proc_name(&c->sw, buf, len, &off);
	if (rc < 0)
		return rc == SW_ENOTFOUND || rc == SW_ENONAME ? -UNW_ENOINFO : swu_error(rc);
	if (offp)
		*offp = off;
	n = strlen(buf);
	if (n + 1 == len && len <= SWU_NAME_CHECK_MAX) {
		/* the buffer is full: was the name cut?  One byte more tells
		 * (on the stack: as much as the caller gave, bounded) */
		char more[len + 1];
		if (sw_get_proc_name(&c->sw, more, len + 1, &off) == 0 && strlen(more) > n)
			return -UNW_ENOMEM;
	}
	return 0;
}
SWU_ALIAS(get_proc_name);

SWU_API int unw_reg_states_iterate(unw_cursor_t *cursor, unw_reg_states_callback cb, void *token)
{
	(void)cursor;
	(void)cb;
	(void)token;
	return -UNW_EINVAL;
}
SWU_ALIAS(reg_states_iterate);

SWU_API int unw_apply_reg_state(unw_cursor_t *cursor, void *reg_states_data)
{
	(void)cursor;
	(void)reg_states_data;
	return -UNW_EINVAL;
}
SWU_ALIAS(apply_reg_state);

/* ---------------------------------------------------------------- resume */

SWU_API int unw_resume(unw_cursor_t *cursor)
{
	struct swu_cursor *c = live(cursor);
	uint64_t ip = 0;

	if (!c)
		return -UNW_EINVAL;
	if (is_remote(c)) {
		if (c->as && c->as->acc.resume)
			return c->as->acc.resume(c->as, cursor, c->arg);
		return -UNW_EINVAL;
	}
	if ((c->flags & SWU_C_END) || sw_get_reg(&c->sw, SW_REG_IP, &ip) < 0 || ip == 0)
		return -UNW_EINVAL;
	return swu_error(sw_resume(&c->sw));
}
SWU_ALIAS(resume);

/* nongnu exports _Ux86_64_setcontext without declaring it: continue at a
 * context (x86_64/getcontext.S says what is restored).  Returns only on
 * a NULL context (-UNW_EINVAL). */
extern void swu_setcontext(const ucontext_t *uc) __attribute__((noreturn, visibility("hidden")));
/* AddressSanitizer's hook for jumps that skip frames (sw_resume calls it
 * too); NULL in programs without ASan */
extern void __asan_handle_no_return(void) __attribute__((weak));

SWU_API int _Ux86_64_setcontext(const ucontext_t *uc);
SWU_API int _Ux86_64_setcontext(const ucontext_t *uc)
{
	if (!uc)
		return -UNW_EINVAL;
	if (__asan_handle_no_return)
		__asan_handle_no_return();
	swu_setcontext(uc);
}

/* ---------------------------------------------------------------- backtrace */

/* unw_backtrace2 with a context (x86_64/backtrace.S sends it here):
 * buffer[0] is the context's IP, then the return addresses above it, as
 * libunwind 1.7's.  flag: UNW_INIT_SIGNAL_FRAME (a signal handler's
 * ucontext: its IP is the interrupted instruction) or 0; others give 0. */
int swu_backtrace_uc(void **buffer, int size, unw_context_t *uc, int flag);
__attribute__((visibility("hidden"))) int swu_backtrace_uc(void **buffer, int size,
							   unw_context_t *uc, int flag)
{
	struct swu_cursor c;
	int n = 0;

	if (!buffer || size <= 0 || (flag & ~UNW_INIT_SIGNAL_FRAME))
		return 0;
	if (flag) {
		n = sw_backtrace_ucontext(uc, buffer, size);
		return n < 0 ? 0 : n;
	}
	if (init_local(&c, uc, 0) < 0)
		return 0;
	buffer[n++] = (void *)(uintptr_t)sw_get_ip(&c.sw);
	while (n < size && sw_step(&c.sw) == 0)
		buffer[n++] = (void *)(uintptr_t)sw_get_ip(&c.sw);
	return n;
}
