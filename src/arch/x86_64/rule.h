/*
 * x86-64 compiled unwind rules: the two-word packing the rule cache and the
 * compact tables (src/table) store, and compiling a CFA row into it.  Needs
 * no cursor: src/table includes it alone (through arch/rule.h); the cursor
 * side (applying a rule) is frame.h.
 */
#ifndef SW_ARCH_X86_64_RULE_H
#define SW_ARCH_X86_64_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "dwarf/cfi.h"
#include "stackwalk.h"

/*
 * A CFA-table row compiled to what x86-64 unwinding needs (the unwinder
 * caches it, two words, and applies it with sw_apply_compiled), packed into two
 * words so a cached step decodes it with shifts, straight from the cache
 * slot into registers:
 *
 *   w0  bits  0..31  CFA offset (int32): CFA = reg[cfa_reg] + offset
 *       bits 32..35  CFA register (DWARF 0..15)
 *       bits 36..39  flags (SW_CF_*)
 *       bits 40..47  return address offset from the CFA / 8 (int8)
 *       bits 48..53  callee-saved registers saved in the frame (SW_CS_*)
 *       bits 54..59  callee-saved registers the row marks undefined
 *       bits 60..63  where the rule came from (enum sw_proc_source)
 *   w1  bits 8i..8i+7  offset / 8 (int8) of callee-saved register i
 *
 * Callee-saved register i is rbx, rbp, r12, r13, r14, r15 for i = 0..5.
 * Rows that need more (expressions, register or val_offset rules, rules
 * for caller-saved registers, offsets beyond +-1 KiB or not multiples of
 * 8) are not compiled and go through the full interpreter every time.
 */
struct sw_compiled {
	uint64_t w0, w1;
};

enum {
	SW_CF_OUTERMOST = 8, /* the return address is undefined: no caller */
};

/* Every slot a rule reads (return address, saved registers) lies in
 * [cfa - SW_CR_REACH, cfa + SW_CR_REACH): int8 offsets times 8.  The
 * cached steps check that window against the stack once per frame. */
#define SW_CR_REACH 1024

/* Is that window of `cfa` inside the stack [lo, hi)? */
static inline bool sw_cr_window_in(uint64_t lo, uint64_t hi, uint64_t cfa)
{
	return hi - lo >= 2 * SW_CR_REACH && cfa - lo - SW_CR_REACH < hi - lo - 2 * SW_CR_REACH;
}

static const uint8_t sw_cs_reg[6] = { SW_REG_RBX, SW_REG_RBP, SW_REG_R12,
				      SW_REG_R13, SW_REG_R14, SW_REG_R15 };

static inline int32_t sw_cr_cfa_off(const struct sw_compiled *r) { return (int32_t)(uint32_t)r->w0; }
static inline unsigned sw_cr_cfa_reg(const struct sw_compiled *r) { return (unsigned)(r->w0 >> 32) & 15; }
static inline unsigned sw_cr_flags(const struct sw_compiled *r) { return (unsigned)(r->w0 >> 36) & 15; }
static inline int64_t sw_cr_ra_off(const struct sw_compiled *r) { return (int64_t)(int8_t)(r->w0 >> 40) * 8; }
static inline unsigned sw_cr_saved(const struct sw_compiled *r) { return (unsigned)(r->w0 >> 48) & 63; }
static inline unsigned sw_cr_undef(const struct sw_compiled *r) { return (unsigned)(r->w0 >> 54) & 63; }
static inline int64_t sw_cr_off(const struct sw_compiled *r, unsigned i) { return (int64_t)(int8_t)(r->w1 >> (8 * i)) * 8; }
static inline unsigned sw_cr_source(const struct sw_compiled *r) { return (unsigned)(r->w0 >> 60); }

/* Record where a rule came from (enum sw_proc_source, < 16). */
static inline void sw_cr_set_source(struct sw_compiled *r, unsigned source)
{
	r->w0 = (r->w0 & ~(15ull << 60)) | (uint64_t)(source & 15) << 60;
}

/* Build a rule; false when an offset does not fit the packing. */
static inline bool sw_cr_make(struct sw_compiled *r, unsigned cfa_reg, int64_t cfa_off,
			      unsigned flags, int64_t ra_off)
{
	if (cfa_reg > 15 || cfa_off < INT32_MIN || cfa_off > INT32_MAX || (ra_off & 7) ||
	    ra_off < -SW_CR_REACH || ra_off > SW_CR_REACH - 8)
		return false;
	r->w0 = (uint64_t)(uint32_t)(int32_t)cfa_off | (uint64_t)cfa_reg << 32 |
		(uint64_t)(flags & 15) << 36 | (uint64_t)(uint8_t)(int8_t)(ra_off / 8) << 40;
	r->w1 = 0;
	return true;
}

static inline bool sw_cr_save(struct sw_compiled *r, unsigned i, int64_t off)
{
	if ((off & 7) || off < -SW_CR_REACH || off > SW_CR_REACH - 8)
		return false;
	r->w0 |= (uint64_t)1 << (48 + i);
	r->w1 |= (uint64_t)(uint8_t)(int8_t)(off / 8) << (8 * i);
	return true;
}

static inline void sw_cr_undefine(struct sw_compiled *r, unsigned i)
{
	r->w0 |= (uint64_t)1 << (54 + i);
}

/* Compile a row; false when it needs the full interpreter. */
bool sw_compile_row(const struct sw_cfa_row *row, bool signal, struct sw_compiled *out);

#endif /* SW_ARCH_X86_64_RULE_H */
