/*
 * x86-64 compiled unwind rules on the cursor: how a step applies one (the
 * packing is rule.h), and the rules for frames without CFI.  Included by
 * src/unwind/internal.h (through arch/frame.h) after the cursor state; a
 * second architecture provides the same names in its own folder.
 */
#ifndef SW_ARCH_X86_64_FRAME_H
#define SW_ARCH_X86_64_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86_64/rule.h"
#include "dwarf/cfi.h"

/* The registers a callee preserves (System V psABI). */
#define SW_CALLEE_SAVED ((1u << SW_REG_RBX) | (1u << SW_REG_RBP) | (1u << SW_REG_R12) | \
			 (1u << SW_REG_R13) | (1u << SW_REG_R14) | (1u << SW_REG_R15))

/* A read the caller knows lies inside the walk's own stack range (this
 * process's memory, mapped).  Not instrumented by ASan, as sw_mem_read. */
__attribute__((no_sanitize("address"))) static inline uint64_t sw_walk_load(uint64_t addr)
{
	uint64_t v;

	__builtin_memcpy(&v, (const void *)(uintptr_t)addr, 8);
	return v;
}

/* Apply a compiled rule to the cursor.  Returns 0, SW_END_OF_STACK or an
 * error.  Inline: the body of every cached step. */
static inline int sw_apply_compiled(struct sw_cursor_impl *c, const struct sw_compiled *rule)
{
	uint64_t cfa, ra, vals[6];
	unsigned saved = sw_cr_saved(rule), cfa_reg = sw_cr_cfa_reg(rule);
	uint32_t saved_regs = 0;

	if (sw_cr_flags(rule) & SW_CF_OUTERMOST)
		return SW_END_OF_STACK;   /* _start, clone: DW_CFA_undefined rip */
	if (!(c->valid & (1u << cfa_reg)))
		return SW_EBADREG;
	cfa = c->regs[cfa_reg] + (uint64_t)(int64_t)sw_cr_cfa_off(rule);
	/* a stack that does not grow is corrupt or loops (signal frames may
	 * switch stacks, so they are exempt) */
	if (!(c->flags & SW_CUR_SIGNAL) && cfa <= c->regs[SW_REG_RSP])
		return SW_ERANGE;
	/* every slot of the frame lies within SW_CR_REACH of the CFA: when
	 * that window is inside the walk's stack, no read can fail */
	if (sw_cr_window_in(c->mem.lo, c->mem.hi, cfa)) {
		ra = sw_walk_load(cfa + (uint64_t)sw_cr_ra_off(rule));
		if (ra == 0)
			return SW_END_OF_STACK;
		for (unsigned m = saved; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			c->regs[sw_cs_reg[i]] = sw_walk_load(cfa + (uint64_t)sw_cr_off(rule, i));
			saved_regs |= 1u << sw_cs_reg[i];
		}
		goto done;
	}
	if (sw_mem_read(&c->mem, cfa + (uint64_t)sw_cr_ra_off(rule), &ra) < 0)
		return SW_EMEMORY;
	for (unsigned m = saved; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		if (sw_mem_read(&c->mem, cfa + (uint64_t)sw_cr_off(rule, i), &vals[i]) < 0)
			return SW_EMEMORY;
	}
	if (ra == 0)
		return SW_END_OF_STACK;
	for (unsigned m = saved; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		c->regs[sw_cs_reg[i]] = vals[i];
		saved_regs |= 1u << sw_cs_reg[i];
	}
done:;
	uint32_t undef = 0;
	for (unsigned m = sw_cr_undef(rule); m; m &= m - 1)
		undef |= 1u << sw_cs_reg[__builtin_ctz(m)];
	c->regs[SW_REG_RSP] = cfa;
	c->regs[SW_REG_RIP] = ra;
	c->valid = (c->valid & SW_CALLEE_SAVED & ~undef) | saved_regs |
		   (1u << SW_REG_RSP) | (1u << SW_REG_RIP);
	c->flags = 0;
	c->how = (uint8_t)sw_cr_source(rule);
	return 0;
}

/* The PC whose unwind information and name describe the frame: the IP of
 * an interrupted frame, else IP - 1 (a return address may follow a
 * noreturn call that is its function's last instruction).  The one place
 * this is computed. */
static inline uint64_t sw_lookup_pc(const struct sw_cursor_impl *c)
{
	uint64_t ip = c->regs[SW_REG_RIP];

	return (c->flags & SW_CUR_INTERRUPTED) || ip == 0 ? ip : ip - 1;
}

/* The rule for a frame without CFI, when a heuristic applies (the
 * heuristic, an enum sw_proc_source, is recorded in the rule): for an
 * interrupted frame, the return address at SP when the IP is not code,
 * else one just after a call in the first stack slots (a prologue); then
 * the frame-pointer rule.  Reads through the cursor's checked memory. */
bool sw_arch_fallback_rule(const struct sw_cursor_impl *c, struct sw_compiled *rule);

#endif /* SW_ARCH_X86_64_FRAME_H */
