/*
 * The cursor: init, step, registers, procedure info, resume.
 *
 * A step finds the rule for the current frame, in this order:
 *   1. the rule cache (a compiled CFA row keyed by the lookup PC);
 *   2. the JIT registry, then the module's compact table (tables.c:
 *      a compiled rule without interpreting DWARF), cached;
 *   3. the sources behind sw_find_fde: the module's .eh_frame through
 *      .eh_frame_hdr, else its file's .eh_frame and .debug_frame.  A signal
 *      trampoline (CIE augmentation 'S' and the __restore_rt bytes) is
 *      stepped by reading the ucontext on the stack; other rows are
 *      compiled and cached when they fit, otherwise applied by the full
 *      interpreter (expressions, register rules);
 *   4. no CFI: __restore_rt recognised by its bytes alone (a restorer
 *      without unwind info); for an interrupted frame, the return address
 *      at SP when the IP is not code (a call through a null or garbage
 *      pointer), or in one of the first stack slots when it is an address
 *      just after a call instruction (code without CFI stopped in its
 *      prologue); else the
 *      frame-pointer rule (CFA = rbp + 16) when rbp looks like a frame
 *      pointer into the stack above SP.
 * A return address at glibc's __start_context ends the walk: it is the
 * bottom of a makecontext() stack (at_start_context).
 * The lookup PC is IP - 1 for return addresses (the call may be the last
 * instruction of a noreturn function, whose FDE ends at IP) and IP itself
 * for interrupted frames.
 */
#include <string.h>

#include "arch/context.h"
#include "arch/sigframe.h"
#include "dwarf/expr.h"
#include "table/table.h"
#include "unwind/internal.h"
#include "stackwalk/remote.h"

#define CALLEE_SAVED SW_CALLEE_SAVED
#define ALL_REGS ((1u << SW_REG_COUNT) - 1)

static int initialised;

int sw_init(void)
{
	if (!__atomic_load_n(&initialised, __ATOMIC_ACQUIRE)) {
		/* idempotent, so a race between two first callers is harmless */
		sw_modules_init();
		sw_dlhooks_init();
		sw_source_install(SW_RANK_MODULE, &sw_module_source);
		sw_source_install(SW_RANK_FILE, &sw_file_source);
		__atomic_store_n(&initialised, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

static inline struct sw_cursor_impl *impl(sw_cursor_t *c)
{
	return (struct sw_cursor_impl *)(void *)c;
}

static inline const struct sw_cursor_impl *cimpl(const sw_cursor_t *c)
{
	return (const struct sw_cursor_impl *)(const void *)c;
}

int sw_init_local(sw_cursor_t *cursor, const sw_context_t *ctx)
{
	struct sw_cursor_impl *c = impl(cursor);

	if (!cursor || !ctx)
		return SW_EINVAL;
	sw_init();
	/* field by field, not a memset of the whole cursor: every backtrace
	 * starts here, and a block clear costs more than the walk of a few
	 * cached frames */
	memcpy(c->regs, sw_ctx_cimpl(ctx)->regs, sizeof(c->regs));
	c->valid = CALLEE_SAVED | (1u << SW_REG_SP) | (1u << SW_REG_IP);
	c->flags = 0;
	c->signals = 0;
	c->how = 0;
	c->guessed = 0;
	c->mem = (struct sw_mem){ 0 };
	sw_mem_init(&c->mem, sw_ctx_cimpl(ctx)->regs[SW_REG_SP]);
	return 0;
}

int sw_init_ucontext(sw_cursor_t *cursor, const void *ucontext)
{
	struct sw_cursor_impl *c = impl(cursor);

	if (!cursor || !ucontext)
		return SW_EINVAL;
	sw_init();
	memset(c, 0, sizeof(*c));
	sw_arch_ucontext_regs(ucontext, c->regs);
	c->valid = ALL_REGS;
	c->flags = SW_CUR_INTERRUPTED | SW_CUR_SIGNAL;
	sw_mem_init(&c->mem, c->regs[SW_REG_SP]);
	return 0;
}

/* Step out of __restore_rt: every register from the ucontext at SP. */
static int step_sigreturn(struct sw_cursor_impl *c)
{
	uint64_t uc = c->regs[SW_REG_SP], regs[SW_REG_COUNT];

	for (unsigned r = 0; r < SW_REG_COUNT; r++)
		if (sw_mem_read(&c->mem, uc + sw_arch_greg_offset(r), &regs[r]) < 0)
			return SW_EMEMORY;
	memcpy(c->regs, regs, sizeof(regs));
	c->valid = ALL_REGS;
	c->flags = SW_CUR_INTERRUPTED | SW_CUR_SIGNAL;
	c->how = SW_SRC_SIGNAL_TRAMPOLINE;
	return 0;
}

struct expr_ctx {
	const struct sw_cursor_impl *c;
};

static int expr_mem(void *arg, uint64_t addr, unsigned size, uint64_t *out)
{
	const struct expr_ctx *e = arg;
	uint64_t v = 0;

	if (sw_mem_read_bytes(&e->c->mem, addr, &v, size) < 0)
		return SW_EMEMORY;
	*out = v;
	return 0;
}

static int expr_reg(void *arg, unsigned regno, uint64_t *out)
{
	const struct expr_ctx *e = arg;

	if (regno >= SW_REG_COUNT || !(e->c->valid & (1u << regno)))
		return SW_EBADREG;
	*out = e->c->regs[regno];
	return 0;
}

/* Apply a full CFA row (expressions, register rules, signal-frame CFI). */
static int apply_row(struct sw_cursor_impl *c, const struct sw_cfa_row *row, bool signal,
		     int source)
{
	struct expr_ctx ectx = { c };
	struct sw_expr_env env = { expr_mem, expr_reg, &ectx, 8 };
	uint64_t cfa, regs[SW_REG_COUNT];
	uint32_t valid = 0;
	int rc;

	if (row->cfa_kind == SW_CFA_RULE_REG) {
		if (row->cfa_reg >= SW_REG_COUNT || !(c->valid & (1u << row->cfa_reg)))
			return SW_EBADREG;
		cfa = c->regs[row->cfa_reg] + (uint64_t)row->cfa_offset;
	} else {
		rc = sw_expr_eval(row->cfa_expr, row->cfa_expr_len, &env, NULL, 0, &cfa);
		if (rc < 0)
			return rc;
	}
	for (unsigned r = 0; r < SW_REG_COUNT; r++) {
		const struct sw_rule *rule = &row->regs[r];
		uint64_t addr;
		regs[r] = 0;
		switch (rule->kind) {
		case SW_RULE_UNSET:
			/* ABI default: callee-saved registers keep their value */
			if ((CALLEE_SAVED & (1u << r)) && (c->valid & (1u << r))) {
				regs[r] = c->regs[r];
				valid |= 1u << r;
			}
			break;
		case SW_RULE_SAME:
			if (c->valid & (1u << r)) {
				regs[r] = c->regs[r];
				valid |= 1u << r;
			}
			break;
		case SW_RULE_UNDEFINED:
			if (r == SW_REG_IP)
				return SW_END_OF_STACK;
			break;
		case SW_RULE_OFFSET:
			if (sw_mem_read(&c->mem, cfa + (uint64_t)rule->value, &regs[r]) < 0)
				return SW_EMEMORY;
			valid |= 1u << r;
			break;
		case SW_RULE_VAL_OFFSET:
			regs[r] = cfa + (uint64_t)rule->value;
			valid |= 1u << r;
			break;
		case SW_RULE_REGISTER:
			if (rule->value < 0 || rule->value >= SW_REG_COUNT ||
			    !(c->valid & (1u << rule->value)))
				return SW_EBADREG;
			regs[r] = c->regs[rule->value];
			valid |= 1u << r;
			break;
		case SW_RULE_EXPR:
			rc = sw_expr_eval(rule->expr, rule->expr_len, &env, &cfa, 1, &addr);
			if (rc < 0)
				return rc;
			if (sw_mem_read(&c->mem, addr, &regs[r]) < 0)
				return SW_EMEMORY;
			valid |= 1u << r;
			break;
		case SW_RULE_VAL_EXPR:
			rc = sw_expr_eval(rule->expr, rule->expr_len, &env, &cfa, 1, &regs[r]);
			if (rc < 0)
				return rc;
			valid |= 1u << r;
			break;
		}
	}
	if (!(valid & (1u << SW_REG_IP)))
		return SW_END_OF_STACK;
	/* without an explicit rule, the caller's SP is the CFA */
	if (!(valid & (1u << SW_REG_SP)) || row->regs[SW_REG_SP].kind == SW_RULE_UNSET) {
		regs[SW_REG_SP] = cfa;
		valid |= 1u << SW_REG_SP;
	}
	if (!signal && !(c->flags & SW_CUR_SIGNAL) && cfa <= c->regs[SW_REG_SP])
		return SW_ERANGE;
	if (regs[SW_REG_IP] == 0)
		return SW_END_OF_STACK;
	memcpy(c->regs, regs, sizeof(regs));
	c->valid = valid;
	/* the 'S' augmentation: the caller was interrupted, not calling */
	c->flags = signal ? (SW_CUR_INTERRUPTED | SW_CUR_SIGNAL) : 0;
	c->how = (uint8_t)source;
	return 0;
}

/* True when the frame returns to glibc's __start_context (sigframe.c): the
 * bottom of a makecontext() stack.  Looked at only when the lookup of
 * IP - 1 found nothing, or an FDE that ends at IP (the function before
 * __start_context), so ordinary steps read no code.  The bytes are read
 * through the checked helper: the IP is unknown memory. */
static bool at_start_context(const struct sw_cursor_impl *c, int find_rc,
			     const struct sw_fde_info *info)
{
	uint8_t code[SW_ARCH_START_CONTEXT_LEN];
	uint64_t ip = c->regs[SW_REG_IP];

	if (c->flags & SW_CUR_INTERRUPTED)
		return false;
	if (!(find_rc == SW_ENOTFOUND || (find_rc == 0 && info->fde.pc_end == ip)))
		return false;
	return sw_mem_read_bytes(&c->mem, ip, code, sizeof(code)) == 0 &&
	       sw_arch_is_start_context(code);
}

/* True when the code at `ip`, inside an FDE's range, is __restore_rt.  A
 * local module's code is mapped (the FDE says so) and read in place; a
 * target's is read through the checked helper. */
static bool at_sigreturn(const struct sw_cursor_impl *c, uint64_t ip)
{
	uint8_t code[SW_ARCH_SIGRETURN_LEN];

	if (!c->mem.remote)
		return sw_arch_is_sigreturn((const uint8_t *)(uintptr_t)ip);
	return sw_mem_read_bytes(&c->mem, ip, code, sizeof(code)) == 0 &&
	       sw_arch_is_sigreturn(code);
}

int sw_step(sw_cursor_t *cursor)
{
	struct sw_cursor_impl *c = impl(cursor);
	struct sw_compiled rule;
	uint8_t code[SW_ARCH_SIGRETURN_LEN];
	uint64_t ip, pc;
	int rc;

	/* a walk of this process (the backtrace functions call the cached
	 * step themselves, before this) */
	if (!c->mem.remote && sw_step_cached(c, &rc))
		return rc;
	if (c->flags & SW_CUR_DONE)
		return SW_END_OF_STACK;
	if (!sw_signal_budget(c))
		return SW_ETOODEEP;
	uint32_t flags = c->flags;
	ip = c->regs[SW_REG_IP];
	pc = sw_lookup_pc(c);

	struct sw_fde_info info;
	struct sw_cfa_row row;
	/* a target's rules go to the target's own cache, never this
	 * process's */
	const struct sw_remote *remote = c->mem.remote;
	struct sw_rule_cache *rcache = remote ? remote->cache : NULL;
	uint32_t gen = remote ? (rcache ? __atomic_load_n(&rcache->gen, __ATOMIC_ACQUIRE) :
				 SW_CACHE_NOGEN) : sw_cache_gen();
	c->mem.last_fail = 0;
	if (rcache && sw_cache_slot_get(sw_rcache_slot(rcache, pc), pc, gen, &rule)) {
		rc = sw_apply_compiled(c, &rule);
		sw_step_done(c, flags, rc);
		return rc;
	}
	if (remote) {
		uint64_t end;
		/* the file's compact table, then its CFI (as below) */
		if (remote->table_rule && remote->table_rule(remote, pc, &rule, &end) == SW_TABLE_HIT &&
		    ((flags & SW_CUR_INTERRUPTED) || end != ip)) {
			if (rcache)
				sw_cache_slot_put(sw_rcache_slot(rcache, pc), pc, &rule, gen);
			rc = sw_apply_compiled(c, &rule);
			sw_step_done(c, flags, rc);
			return rc;
		}
		rc = remote->find_fde(remote, pc, &info);
	} else {
		/* the JIT registry first (its ranges may lie anywhere), then the
		 * module's compact table; the other sources when the table
		 * leaves the row to the interpreter or has no FDE there */
		rc = sw_source_find_ranks(pc, SW_RANK_JIT, SW_RANK_MODULE, &info);
		if (rc == SW_ENOTFOUND) {
			uint64_t end;
			/* a return address at the end of its row may be the one
			 * after a noreturn call, or __start_context's: the full
			 * path looks at those */
			if (sw_tables_rule(pc, &rule, &end) == SW_TABLE_HIT &&
			    ((flags & SW_CUR_INTERRUPTED) || end != ip)) {
				sw_cache_put(pc, &rule, gen);
				rc = sw_apply_compiled(c, &rule);
				sw_step_done(c, flags, rc);
				return rc;
			}
			rc = sw_source_find_ranks(pc, SW_RANK_MODULE, SW_RANK_COUNT, &info);
		}
	}
	bool found = rc == 0;
	if (at_start_context(c, rc, &info)) {
		/* the bottom of a makecontext() stack: nothing to cache (the
		 * rule would be keyed by a PC outside __start_context) */
		rc = SW_END_OF_STACK;
	} else if (rc == 0 && info.cie.signal_frame && ip >= info.fde.pc_begin &&
	    SW_ARCH_SIGRETURN_LEN <= info.fde.pc_end - ip && at_sigreturn(c, ip)) {
		/* glibc's __restore_rt has CFI ('S', expressions); reading the
		 * ucontext directly is equivalent and cheaper.  The bytes lie
		 * inside the FDE's range of a loaded module: readable. */
		rc = step_sigreturn(c);
	} else if (rc == 0) {
		rc = sw_cfa_row_at(&info.sec, &info.cie, &info.fde, pc, &row, NULL);
		if (rc == 0) {
			if (sw_compile_row(&row, info.cie.signal_frame, &rule)) {
				sw_cr_set_source(&rule, (unsigned)info.source);
				if (rcache)
					sw_cache_slot_put(sw_rcache_slot(rcache, pc), pc, &rule, gen);
				else if (!remote)
					sw_cache_put(pc, &rule, gen);
				rc = sw_apply_compiled(c, &rule);
			} else {
				rc = apply_row(c, &row, info.cie.signal_frame, info.source);
			}
		}
	}
	if (found)
		sw_fde_release(&info);
	if (rc == SW_ENOTFOUND) {
		/* no CFI: a restorer without unwind info (recognised by its
		 * bytes, read through the checked helper: the IP is unknown
		 * memory here), else the frame-pointer and return-address rules */
		if (sw_mem_read_bytes(&c->mem, ip, code, sizeof(code)) == 0 &&
		    sw_arch_is_sigreturn(code))
			rc = step_sigreturn(c);
		else if (!sw_arch_fallback_rule(c, &rule))
			rc = SW_ENOTFOUND;
		else if ((rc = sw_apply_compiled(c, &rule)) == 0)
			c->guessed = 1;     /* this frame and every one after it */
	}
	sw_step_done(c, flags, rc);
	return rc;
}

static int init_target(struct sw_cursor_impl *c, const struct sw_target_start *st,
		       uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->regs, st->regs, sizeof(c->regs));
	c->valid = st->valid;
	c->flags = flags;
	c->mem.remote = st->remote;
	c->mem.copy = st->copy;
	c->mem.copy_lo = st->copy_lo;
	c->mem.copy_hi = st->copy ? st->copy_lo + st->copy_size : st->copy_lo;
	if ((c->valid & ((1u << SW_REG_IP) | (1u << SW_REG_SP))) !=
	    ((1u << SW_REG_IP) | (1u << SW_REG_SP)))
		return SW_EINVAL;
	return 0;
}

int sw_init_remote(sw_cursor_t *cursor, const sw_addr_space_t *as, size_t i)
{
	struct sw_target_start st;

	if (!cursor || !as || sw_target_thread_start(as, i, &st) < 0)
		return SW_EINVAL;
	/* a stopped thread's IP is the next instruction to run */
	return init_target(impl(cursor), &st, SW_CUR_INTERRUPTED);
}

int sw_init_snapshot(sw_cursor_t *cursor, const sw_addr_space_t *as, const sw_context_t *regs,
		     const void *stack, size_t size)
{
	struct sw_target_start st;

	if (!cursor || !as || !regs || (!stack && size))
		return SW_EINVAL;
	memset(&st, 0, sizeof(st));
	st.remote = sw_target_remote(as);
	memcpy(st.regs, sw_ctx_cimpl(regs)->regs, sizeof(st.regs));
	st.valid = ALL_REGS;
	st.copy = stack;
	st.copy_lo = st.regs[SW_REG_SP];
	st.copy_size = st.copy_lo + size < st.copy_lo ? 0 : size;
	return init_target(impl(cursor), &st, SW_CUR_INTERRUPTED);
}

int sw_cursor_stack_truncated(const sw_cursor_t *cursor)
{
	const struct sw_mem *m = &cimpl(cursor)->mem;

	/* a read failed just above the copied window (within the largest
	 * frame a walk meets: 1 MiB) */
	return m->remote && m->last_fail >= m->copy_hi && m->last_fail - m->copy_hi < (1u << 20);
}

int sw_get_reg(const sw_cursor_t *cursor, int reg, uint64_t *value)
{
	const struct sw_cursor_impl *c = cimpl(cursor);

	if (!cursor || !value || reg < 0)
		return SW_EINVAL;
	if (reg >= SW_REG_COUNT || !(c->valid & (1u << reg)))
		return SW_EBADREG;
	*value = c->regs[reg];
	return 0;
}

int sw_set_reg(sw_cursor_t *cursor, int reg, uint64_t value)
{
	struct sw_cursor_impl *c = impl(cursor);

	if (!cursor || reg < 0)
		return SW_EINVAL;
	if (reg >= SW_REG_COUNT)
		return SW_EBADREG;
	c->regs[reg] = value;
	c->valid |= 1u << reg;
	return 0;
}

uint64_t sw_get_ip(const sw_cursor_t *cursor) { return cimpl(cursor)->regs[SW_REG_IP]; }
uint64_t sw_get_sp(const sw_cursor_t *cursor) { return cimpl(cursor)->regs[SW_REG_SP]; }
uint64_t sw_get_cfa(const sw_cursor_t *cursor)
{
	/* this frame's CFA is the caller's SP: step a copy to find it */
	sw_cursor_t copy = *cursor;

	return sw_step(&copy) == 0 ? sw_get_sp(&copy) : 0;
}

int sw_is_signal_frame(const sw_cursor_t *cursor)
{
	return (cimpl(cursor)->flags & SW_CUR_SIGNAL) ? 1 : 0;
}

uint64_t sw_get_lookup_pc(const sw_cursor_t *cursor)
{
	return sw_lookup_pc(cimpl(cursor));
}

int sw_get_frame_source(const sw_cursor_t *cursor)
{
	return cimpl(cursor)->how;
}

int sw_is_reliable(const sw_cursor_t *cursor)
{
	return !cimpl(cursor)->guessed;
}

int sw_get_proc_info(sw_cursor_t *cursor, struct sw_proc_info *pi)
{
	const struct sw_cursor_impl *c = impl(cursor);

	return sw_proc_info_at(sw_lookup_pc(c), &c->mem, pi);
}

/* AddressSanitizer's hook for non-returning jumps (longjmp calls it): the
 * frames sw_resume skips leave poisoned redzones on the stack that later
 * frames would trip over.  Weak: absent (NULL) in programs without ASan. */
extern void __asan_handle_no_return(void) __attribute__((weak));

int sw_resume(sw_cursor_t *cursor)
{
	struct sw_cursor_impl *c = impl(cursor);
	struct sw_context_impl ctx;     /* all sw_arch_resume reads (context.h) */

	if (c->mem.remote)
		return SW_EINVAL;           /* another process's frame */
	if ((c->valid & ((1u << SW_REG_IP) | (1u << SW_REG_SP))) !=
	    ((1u << SW_REG_IP) | (1u << SW_REG_SP)))
		return SW_EINVAL;
	memcpy(ctx.regs, c->regs, sizeof(ctx.regs));
	ctx.flags = 0;
	if (__asan_handle_no_return)
		__asan_handle_no_return();
	sw_arch_resume(sw_ctx_public(&ctx));
}
