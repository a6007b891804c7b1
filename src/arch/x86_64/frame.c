/*
 * x86-64 rules: compiling a CFA row into the packed form the rule cache
 * holds (frame.h), and the rules for frames without CFI.
 */
#include "unwind/internal.h"

bool sw_compile_row(const struct sw_cfa_row *row, bool signal, struct sw_compiled *out)
{
	static const uint8_t volatile_regs[] = { SW_REG_RAX, SW_REG_RDX, SW_REG_RCX, SW_REG_RSI,
						 SW_REG_RDI, SW_REG_RSP, SW_REG_R8, SW_REG_R9,
						 SW_REG_R10, SW_REG_R11 };
	const struct sw_rule *ra = &row->regs[SW_REG_RIP];
	bool ok;

	if (signal || row->cfa_kind != SW_CFA_RULE_REG || row->cfa_reg > SW_REG_R15 ||
	    row->ra_reg != SW_REG_RIP)
		return false;
	/* rules for caller-saved registers (hand-written asm) need the full
	 * interpreter */
	for (unsigned i = 0; i < sizeof(volatile_regs); i++) {
		uint8_t k = row->regs[volatile_regs[i]].kind;
		if (k != SW_RULE_UNSET && k != SW_RULE_UNDEFINED && k != SW_RULE_SAME)
			return false;
	}
	if (ra->kind == SW_RULE_UNDEFINED)
		ok = sw_cr_make(out, (unsigned)row->cfa_reg, row->cfa_offset, SW_CF_OUTERMOST, 0);
	else if (ra->kind == SW_RULE_OFFSET)
		ok = sw_cr_make(out, (unsigned)row->cfa_reg, row->cfa_offset, 0, ra->value);
	else
		return false;
	for (unsigned i = 0; ok && i < 6; i++) {
		const struct sw_rule *r = &row->regs[sw_cs_reg[i]];
		switch (r->kind) {
		case SW_RULE_UNSET:
		case SW_RULE_SAME:
			break;
		case SW_RULE_UNDEFINED:
			sw_cr_undefine(out, i);
			break;
		case SW_RULE_OFFSET:
			ok = sw_cr_save(out, i, r->value);
			break;
		default:
			ok = false;
			break;
		}
	}
	return ok;
}

/* Length of the `ff /2` (call near, indirect) instruction at p, from its
 * ModRM, SIB and displacement, or 0 when p is not one.  p[0..7] readable. */
static unsigned indirect_call_len(const uint8_t *p)
{
	unsigned modrm = p[1], mod = modrm >> 6, rm = modrm & 7, len = 2;

	if (p[0] != 0xff || ((modrm >> 3) & 7) != 2)
		return 0;
	if (mod == 3)
		return 2;
	if (rm == 4) {                           /* SIB byte */
		len++;
		if (mod == 0 && (p[2] & 7) == 5)
			len += 4;                /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		len += 4;                        /* rip-relative disp32 */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

/* True when `ra` is the address just after a call instruction inside a
 * loaded module: e8 rel32, or ff /2 in any addressing form, with or
 * without a REX prefix. */
static bool after_call(const struct sw_cursor_impl *c, uint64_t ra)
{
	uint64_t lo, hi;
	uint8_t b[16];                          /* the 8 bytes before ra, then 8 of slack */

	if (sw_mem_module_range(&c->mem, ra, &lo, &hi) < 0 || ra - 8 < lo || ra + 8 > hi ||
	    sw_mem_read_bytes(&c->mem, ra - 8, b, sizeof(b)) < 0)
		return false;
	if (b[3] == 0xe8)                       /* call rel32 */
		return true;
	for (unsigned len = 2; len <= 8; len++) {
		const uint8_t *p = b + 8 - len;
		if (indirect_call_len(p) == len)
			return true;
		if (len >= 3 && (p[0] & 0xf0) == 0x40 && indirect_call_len(p + 1) == len - 1)
			return true;                /* REX prefix */
	}
	return false;
}

/* Stack slots scanned for a return address in an interrupted frame
 * without CFI: a prologue pushes at most a few registers before it sets
 * up anything CFI would describe. */
#define SW_SCAN_SLOTS 4

/* The rule for a frame without CFI, when one applies, with the heuristic
 * that found it (enum sw_proc_source) in the rule. */
bool sw_arch_fallback_rule(const struct sw_cursor_impl *c, struct sw_compiled *rule)
{
	uint64_t sp = c->regs[SW_REG_RSP], fp = c->regs[SW_REG_RBP], code, ra;

	if (c->flags & SW_CUR_INTERRUPTED) {
		/* a call through a bad pointer: the IP is not readable code and
		 * the return address is at SP */
		if (sw_mem_read(&c->mem, c->regs[SW_REG_RIP], &code) < 0) {
			sw_cr_make(rule, SW_REG_RSP, 8, 0, -8);
			sw_cr_set_source(rule, SW_SRC_RETURN_ADDRESS);
			return true;
		}
		/* code without CFI interrupted in its prologue (_init's first
		 * instructions): scan the first few stack slots for a return
		 * address just after a call, as breakpad's stack scanning does.
		 * Tried before the frame pointer, which would belong to the
		 * caller and skip it. */
		for (int k = 0; k < SW_SCAN_SLOTS; k++)
			if (sw_mem_read(&c->mem, sp + 8u * (unsigned)k, &ra) == 0 && after_call(c, ra)) {
				sw_cr_make(rule, SW_REG_RSP, 8 * k + 8, 0, -8);
				sw_cr_set_source(rule, SW_SRC_STACK_SCAN);
				return true;
			}
	}
	/* a frame pointer must point into the stack above SP, 8-aligned */
	if ((c->valid & (1u << SW_REG_RBP)) && fp >= sp && (fp & 7) == 0 &&
	    fp - sp < (1u << 30)) {
		sw_cr_make(rule, SW_REG_RBP, 16, 0, -8);
		sw_cr_set_source(rule, SW_SRC_FRAME_POINTER);
		return sw_cr_save(rule, 1, -16);   /* rbp is callee-saved index 1 */
	}
	return false;
}
