/*
 * DWARF expression evaluator for call frame information
 * (DW_CFA_def_cfa_expression, DW_CFA_expression, DW_CFA_val_expression).
 *
 * A stack machine over 64-bit values with a bounded stack
 * (SW_EXPR_STACK_MAX) and a bounded number of executed operations
 * (SW_EXPR_STEP_MAX), so malformed or hostile bytecode ends with an error,
 * never a crash or a hang.  Memory and register reads go through the
 * callbacks in `struct sw_expr_env`, so the same evaluator serves local
 * unwinding, remote unwinding and tests.
 *
 * Supported: every operation that can appear in CFI — literals and
 * constants (lit*, addr, const1u..const8s, constu/consts), stack ops
 * (dup, drop, over, pick, swap, rot), arithmetic and logic (abs, and, div,
 * minus, mod, mul, neg, not, or, plus, plus_uconst, shl, shr, shra, xor),
 * comparisons (eq, ge, gt, le, lt, ne), control flow (skip, bra), register
 * reads (breg0..31, bregx, reg-values through DW_OP_regval_type is not
 * CFI), memory (deref, deref_size, xderef/xderef_size as plain reads,
 * GNU deref_type/DW_OP_deref_type with a base type of size <= 8), nop,
 * DW_OP_call_frame_cfa is *not* allowed in CFI (error).
 * Operations that describe locations rather than values (reg0..31, regx,
 * piece, stack_value, implicit_value, ...) are rejected with SW_EBADOP:
 * they cannot appear in CFI.
 *
 * Thread-safe: yes (no shared state).  Async-signal-safe: yes, when the
 * callbacks are.  Allocates nothing; uses ~SW_EXPR_STACK_MAX*8 bytes of stack.
 */
#ifndef SW_DWARF_EXPR_H
#define SW_DWARF_EXPR_H

#include <stddef.h>
#include <stdint.h>

#define SW_EXPR_STACK_MAX 64     /* values on the evaluation stack */
#define SW_EXPR_STEP_MAX 10000   /* operations executed per evaluation */

struct sw_expr_env {
	/* Read `size` (1, 2, 4 or 8) bytes little-endian at `addr` into *out
	 * (zero-extended).  Returns 0, or a negative SW_E* code (SW_EMEMORY). */
	int (*read_mem)(void *arg, uint64_t addr, unsigned size, uint64_t *out);
	/* Value of DWARF register `regno` in the frame being unwound.  Returns 0,
	 * or SW_EBADREG when the register is not known. */
	int (*read_reg)(void *arg, unsigned regno, uint64_t *out);
	void *arg;
	uint8_t addr_size;   /* size of DW_OP_addr / DW_OP_deref: 8 on x86-64 */
};

/*
 * Evaluate `len` bytes of expression at `expr`.  The `npush` values in
 * `push` are pushed first, in order (DW_CFA_expression and
 * DW_CFA_val_expression push the CFA; DW_CFA_def_cfa_expression pushes
 * nothing).  On success the top of the stack is stored in *result.
 *
 * Returns 0, or a negative SW_E* code: SW_ETRUNCATED (operand runs past the
 * end), SW_ELEB128, SW_EBADOP (unknown or non-CFI opcode, branch outside
 * the expression), SW_ESTACKOVERFLOW, SW_ESTACKUNDERFLOW (also: empty stack
 * at the end), SW_ESTEPLIMIT, SW_EDIVZERO, SW_EMEMORY / SW_EBADREG (from
 * the callbacks).
 */
int sw_expr_eval(const uint8_t *expr, size_t len, const struct sw_expr_env *env,
		 const uint64_t *push, unsigned npush, uint64_t *result);

#endif /* SW_DWARF_EXPR_H */
