/*
 * stackwalk/jit.h — unwind information for generated (JIT) code.
 *
 * Conventions as in <stackwalk.h>: functions that can fail return an int,
 * 0 (or a positive size) on success, a negative SW_E* code on failure; each
 * function says whether it is thread-safe and async-signal-safe.
 */
#ifndef STACKWALK_JIT_H
#define STACKWALK_JIT_H

#include <stddef.h>
#include <stdint.h>

#include <stackwalk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================== *
 * CFI builder
 *
 * Produces standard .eh_frame bytes (usable with __register_frame, the
 * JIT registry, or stackwalk's own CFI engine) through calls that mirror
 * the assembler's .cfi_* directives:
 *
 *     sw_cfi_builder_t b;
 *     sw_cfi_b_init(&b, buf, sizeof buf, (uint64_t)buf, SW_CFI_B_PCREL4);
 *     sw_cfi_b_startproc(&b, code, 32);
 *     sw_cfi_b_advance(&b, 1);                          // after push rbp
 *     sw_cfi_b_def_cfa_offset(&b, 16);
 *     sw_cfi_b_offset(&b, SW_REG_RBP, -16);
 *     sw_cfi_b_advance(&b, 4);                          // after mov rbp,rsp
 *     sw_cfi_b_def_cfa_register(&b, SW_REG_RBP);
 *     ...
 *     sw_cfi_b_endproc(&b);
 *     int size = sw_cfi_b_finish(&b);                   // > 0, or SW_E*
 *
 * Output layout and encoding (fixed):
 *   - a CIE, then one FDE per procedure, then the 4-byte zero terminator
 *     written by sw_cfi_b_finish.  Procedures share the previous CIE; a new
 *     CIE is written only when a procedure's personality, LSDA encoding or
 *     signal-frame flag differ from the previous CIE's (those are CIE
 *     properties in .eh_frame);
 *   - CIE: 32-bit DWARF, version 1, augmentation "z" + "P" (personality)
 *     + "L" (LSDA) + "R" + "S" (signal frame), as GNU as orders them; code
 *     alignment 1, data alignment -8, return address column 16 (rip);
 *     initial instructions DW_CFA_def_cfa rsp+8, DW_CFA_offset rip at
 *     cfa-8: the state at a function's first instruction;
 *   - FDE pc_begin/pc_range: DW_EH_PE_pcrel|DW_EH_PE_sdata4 (the default,
 *     SW_CFI_B_PCREL4) relative to where the bytes will be used, so the
 *     code must lie within +-2 GiB of the bytes and a procedure must be
 *     smaller than 2 GiB; SW_CFI_B_PCREL8 (pcrel|sdata8) or SW_CFI_B_ABSPTR
 *     (absolute 8-byte addresses) lift that limit;
 *   - instructions use the smallest form: DW_CFA_offset (registers 0..63,
 *     offsets <= 0) / DW_CFA_offset_extended (registers > 63) /
 *     DW_CFA_offset_extended_sf (offsets above the CFA); DW_CFA_def_cfa /
 *     DW_CFA_def_cfa_offset, or their _sf forms for negative offsets;
 *     DW_CFA_restore / DW_CFA_restore_extended; DW_CFA_advance_loc /
 *     advance_loc1 / 2 / 4;
 *   - with a data alignment of -8, register save offsets and negative CFA
 *     offsets must be multiples of 8 (every x86-64 push and spill slot is);
 *     other values give SW_EINVAL;
 *   - each CIE and FDE is padded with DW_CFA_nop to a multiple of 8 bytes.
 *
 * Locations: sw_cfi_b_advance moves the location; the DW_CFA_advance_loc
 * instruction is written lazily, just before the next directive, so
 * several advances in a row or an advance before endproc cost nothing.
 *
 * Errors are sticky: after a call fails, every later call on the builder
 * (sw_cfi_b_finish included) returns that same code and writes nothing
 * more.  Codes:
 *   SW_ETRUNCATED  the output does not fit the buffer (the builder never
 *                  writes past `size`); also past INT_MAX bytes;
 *   SW_EINVAL      misuse: NULL builder or arguments, a directive outside
 *                  startproc/endproc, startproc inside a procedure, endproc
 *                  without startproc, finish inside a procedure or twice,
 *                  any call after finish, an empty code range, a range
 *                  that wraps or overlaps a procedure already written,
 *                  advance backwards or to code_size or beyond,
 *                  restore_state without remember_state, remember_state
 *                  nested deeper than SW_CFI_B_REMEMBER_MAX,
 *                  personality/lsda/signal_frame after the procedure's
 *                  first directive, an offset that is not a multiple of 8
 *                  where one must be (see above), an offset that overflows;
 *   SW_EBADREG     a register number above SW_CFI_B_MAX_REG;
 *   SW_EENCODING   a personality/LSDA encoding the builder does not write
 *                  (only absptr/pcrel, optionally with DW_EH_PE_indirect,
 *                  with a udata/sdata 2/4/8 or (s/u)leb128 format), or a
 *                  value that does not fit its encoding (code farther than
 *                  2 GiB from the bytes with SW_CFI_B_PCREL4, ...).
 *
 * Overlap checks read the FDEs already written back from the buffer; in
 * measuring mode (buf == NULL) only the previous procedure is checked.
 *
 * Thread-safety: a builder is used by one thread at a time (different
 * builders are independent).  Async-signal-safe: yes (no allocation, no
 * locks, no system calls).
 * ================================================================== */

/* FDE address encoding (sw_cfi_b_init's `ptr_mode`). */
enum sw_cfi_b_ptr_mode {
	SW_CFI_B_PCREL4 = 0,    /* DW_EH_PE_pcrel|DW_EH_PE_sdata4 (0x1b): code within +-2 GiB */
	SW_CFI_B_PCREL8 = 1,    /* DW_EH_PE_pcrel|DW_EH_PE_sdata8 (0x1c): any distance */
	SW_CFI_B_ABSPTR = 2,    /* DW_EH_PE_absptr (0x00): 8-byte absolute addresses */
};

/* DW_CFA_remember_state nesting the builder accepts (the engine's limit). */
#define SW_CFI_B_REMEMBER_MAX 8
/* Highest DWARF register number accepted. */
#define SW_CFI_B_MAX_REG 4095

/* Caller-owned builder state (no allocation); checked to fit by a
 * _Static_assert inside the library.  Only the functions below touch it. */
typedef struct sw_cfi_builder {
	uint64_t opaque[48];
} sw_cfi_builder_t;

/*
 * sw_cfi_b_init - start building into `size` bytes at `buf`.  `eh_addr` is
 * the address at which the bytes will be used (the base of pc-relative
 * pointers; with SW_CFI_B_ABSPTR and absolute personality/LSDA encodings
 * it does not matter).  `buf` == NULL selects measuring mode: nothing is
 * written, `size` is ignored, and sw_cfi_b_finish returns the number of
 * bytes the same calls need (sizes do not depend on the addresses).
 * Returns 0 or SW_EINVAL (NULL builder, unknown ptr_mode; the builder then
 * fails every call with SW_EINVAL when b != NULL).
 * Thread-safe: yes (the builder is the caller's).  Async-signal-safe: yes.
 */
int sw_cfi_b_init(sw_cfi_builder_t *b, void *buf, size_t size, uint64_t eh_addr,
		  int ptr_mode);

/*
 * sw_cfi_b_startproc - begin the procedure covering [code_start,
 * code_start + code_size) (like .cfi_startproc); the location is
 * code_start, the CFA rsp+8, rip saved at cfa-8.  Nothing is written until
 * the first directive or sw_cfi_b_endproc.
 * Returns 0, SW_EINVAL (inside a procedure, code_size 0, range wraps or
 * overlaps an earlier procedure), or the sticky error.
 * Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
int sw_cfi_b_startproc(sw_cfi_builder_t *b, uint64_t code_start, uint64_t code_size);

/*
 * sw_cfi_b_endproc - end the current procedure (like .cfi_endproc): its
 * FDE is completed and padded.  Returns 0, SW_EINVAL (no procedure open),
 * SW_ETRUNCATED, SW_EENCODING (see the section comment), or the sticky
 * error.  Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
int sw_cfi_b_endproc(sw_cfi_builder_t *b);

/*
 * sw_cfi_b_finish - append the zero terminator (outside any procedure).
 * Returns the total size in bytes (> 0; the bytes are buf[0..size)), or
 * SW_EINVAL (inside a procedure, called twice), SW_ETRUNCATED, or the
 * sticky error.  Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
int sw_cfi_b_finish(sw_cfi_builder_t *b);

/*
 * sw_cfi_b_status - the sticky error, or 0 when every call succeeded.
 * sw_cfi_b_size - bytes written (or counted) so far, 0 for a NULL builder.
 * Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
int sw_cfi_b_status(const sw_cfi_builder_t *b);
size_t sw_cfi_b_size(const sw_cfi_builder_t *b);

/*
 * Per-procedure CIE properties: allowed between startproc and the
 * procedure's first directive (else SW_EINVAL).
 *   sw_cfi_b_personality - like .cfi_personality: the personality routine
 *       (or, with DW_EH_PE_indirect, the address of a pointer to it)
 *       written with `encoding`; DW_EH_PE_omit (0xff) removes it.
 *   sw_cfi_b_lsda - like .cfi_lsda: the procedure's LSDA; DW_EH_PE_omit
 *       removes it.
 *   sw_cfi_b_signal_frame - like .cfi_signal_frame: the procedure is a
 *       signal trampoline (augmentation "S").
 * Returns 0, SW_EINVAL, SW_EENCODING (unsupported encoding; a value that
 * does not fit is reported when the CIE/FDE is written), or the sticky
 * error.  Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
int sw_cfi_b_personality(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address);
int sw_cfi_b_lsda(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address);
int sw_cfi_b_signal_frame(sw_cfi_builder_t *b);

/*
 * Directives, valid between startproc and endproc.  Registers are DWARF
 * numbers (enum sw_reg); offsets are in bytes.  The builder tracks the CFA
 * rule (register and offset) for adjust_cfa_offset and rel_offset,
 * through remember/restore_state; escape does not update it.
 *
 *   advance(code_offset)      the following directives apply from
 *                             code_start + code_offset on; code_offset must
 *                             not go backwards and must be < code_size
 *   def_cfa(reg, offset)      CFA = reg + offset            (.cfi_def_cfa)
 *   def_cfa_offset(offset)    CFA = current reg + offset    (.cfi_def_cfa_offset)
 *   def_cfa_register(reg)     CFA = reg + current offset    (.cfi_def_cfa_register)
 *   adjust_cfa_offset(delta)  CFA offset += delta           (.cfi_adjust_cfa_offset)
 *   offset(reg, offset)       reg saved at CFA + offset     (.cfi_offset)
 *   rel_offset(reg, offset)   reg saved at CFA register's value + offset,
 *                             i.e. CFA + offset - CFA offset (.cfi_rel_offset)
 *   restore(reg)              reg's rule as in the CIE       (.cfi_restore)
 *   undefined(reg)            reg not recoverable            (.cfi_undefined)
 *   same_value(reg)           reg unchanged                  (.cfi_same_value)
 *   register(reg, reg2)       reg's value is in reg2         (.cfi_register)
 *   remember_state / restore_state   push / pop the whole row
 *                             (.cfi_remember_state / .cfi_restore_state)
 *   escape(bytes, len)        raw DW_CFA_* bytes             (.cfi_escape)
 *
 * Each returns 0, or SW_EINVAL / SW_EBADREG / SW_ETRUNCATED as described in
 * the section comment, or the sticky error.
 * Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
int sw_cfi_b_advance(sw_cfi_builder_t *b, uint64_t code_offset);
int sw_cfi_b_def_cfa(sw_cfi_builder_t *b, unsigned reg, int64_t offset);
int sw_cfi_b_def_cfa_offset(sw_cfi_builder_t *b, int64_t offset);
int sw_cfi_b_def_cfa_register(sw_cfi_builder_t *b, unsigned reg);
int sw_cfi_b_adjust_cfa_offset(sw_cfi_builder_t *b, int64_t delta);
int sw_cfi_b_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset);
int sw_cfi_b_rel_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset);
int sw_cfi_b_restore(sw_cfi_builder_t *b, unsigned reg);
int sw_cfi_b_undefined(sw_cfi_builder_t *b, unsigned reg);
int sw_cfi_b_same_value(sw_cfi_builder_t *b, unsigned reg);
int sw_cfi_b_register(sw_cfi_builder_t *b, unsigned reg, unsigned reg2);
int sw_cfi_b_remember_state(sw_cfi_builder_t *b);
int sw_cfi_b_restore_state(sw_cfi_builder_t *b);
int sw_cfi_b_escape(sw_cfi_builder_t *b, const void *bytes, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_JIT_H */
