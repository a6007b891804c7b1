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
 * Why a call failed
 * ================================================================== */

/*
 * sw_jit_last_error - the reason of the calling thread's most recent
 * failure of a function of this header (sw_cfi_b_*, sw_jit_*): the
 * function, the offending argument or field with its index, and the value
 * and the rule it breaks, e.g.
 *
 *     sw_jit_add_procs: procs[3].u.frame.saved[1]: register 0 (rax) is
 *     not callee-saved (rbx, r12..r15, or rbp without SW_JIT_FRAME_FP)
 *
 * Every failure records one, whatever the code (SW_EINVAL, SW_EOVERLAP,
 * a CFI parse error with its byte offset, SW_ENOMEM, ...); SW_ENOTFOUND
 * and SW_ENONAME of sw_jit_lookup / sw_jit_get_name are answers, not
 * failures, and record nothing.  The returned
 * code stays the thing to test; the reason is for people (logs, asserts).
 * A builder whose error is sticky reports the call that failed first.
 *
 * Returns a NUL-terminated string (never NULL; "" when no call has failed
 * in this thread), in per-thread storage, valid until the thread's next
 * failing call; at most 255 characters (longer reasons are cut).
 * Successful calls leave it unchanged (like errno): read it right after
 * the failure.  The unwinder's own use of the registry (sw_step through a
 * lazy callback's bad answer) records nothing.
 * Thread-safe: yes (each thread has its own reason).  Async-signal-safe:
 * yes; the async-signal-safe functions of this header record their
 * reasons without allocation or locks, so a signal handler that calls one
 * and fails replaces the reason of the code it interrupted (as with errno).
 */
SW_API const char *sw_jit_last_error(void);

/*
 * sw_jit_set_last_error - record `reason` (cut to 255 characters; NULL is
 * "") as the calling thread's sw_jit_last_error, for layers built on this
 * API that report their own failures the same way (the drop-in nongnu
 * libunwind's _U_dyn_register, which returns void).
 * Returns `code`.  Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_jit_set_last_error(int code, const char *reason);

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
 * more; sw_jit_last_error names the call that failed first and why.
 * Codes:
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
 * bytes the same calls need (sizes do not depend on the addresses, so
 * eh_addr may be a placeholder: fixed-size pointer fields are not range
 * checked when measuring; (s/u)leb128 personality/LSDA encodings are
 * sized from the values given).
 * Returns 0 or SW_EINVAL (NULL builder, unknown ptr_mode; the builder then
 * fails every call with SW_EINVAL when b != NULL).
 * Thread-safe: yes (the builder is the caller's).  Async-signal-safe: yes.
 */
SW_API int sw_cfi_b_init(sw_cfi_builder_t *b, void *buf, size_t size, uint64_t eh_addr,
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
SW_API int sw_cfi_b_startproc(sw_cfi_builder_t *b, uint64_t code_start, uint64_t code_size);

/*
 * sw_cfi_b_endproc - end the current procedure (like .cfi_endproc): its
 * FDE is completed and padded.  Returns 0, SW_EINVAL (no procedure open),
 * SW_ETRUNCATED, SW_EENCODING (see the section comment), or the sticky
 * error.  Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
SW_API int sw_cfi_b_endproc(sw_cfi_builder_t *b);

/*
 * sw_cfi_b_finish - append the zero terminator (outside any procedure).
 * Returns the total size in bytes (> 0; the bytes are buf[0..size)), or
 * SW_EINVAL (inside a procedure, called twice), SW_ETRUNCATED, or the
 * sticky error.  Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
SW_API int sw_cfi_b_finish(sw_cfi_builder_t *b);

/*
 * sw_cfi_b_status - the sticky error, or 0 when every call succeeded
 * (SW_EINVAL for a NULL builder).
 * sw_cfi_b_size - bytes written (or counted) so far, 0 for a NULL builder.
 * Thread-safe: one thread per builder.  Async-signal-safe: yes.
 */
SW_API int sw_cfi_b_status(const sw_cfi_builder_t *b);
SW_API size_t sw_cfi_b_size(const sw_cfi_builder_t *b);

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
SW_API int sw_cfi_b_personality(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address);
SW_API int sw_cfi_b_lsda(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address);
SW_API int sw_cfi_b_signal_frame(sw_cfi_builder_t *b);

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
SW_API int sw_cfi_b_advance(sw_cfi_builder_t *b, uint64_t code_offset);
SW_API int sw_cfi_b_def_cfa(sw_cfi_builder_t *b, unsigned reg, int64_t offset);
SW_API int sw_cfi_b_def_cfa_offset(sw_cfi_builder_t *b, int64_t offset);
SW_API int sw_cfi_b_def_cfa_register(sw_cfi_builder_t *b, unsigned reg);
SW_API int sw_cfi_b_adjust_cfa_offset(sw_cfi_builder_t *b, int64_t delta);
SW_API int sw_cfi_b_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset);
SW_API int sw_cfi_b_rel_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset);
SW_API int sw_cfi_b_restore(sw_cfi_builder_t *b, unsigned reg);
SW_API int sw_cfi_b_undefined(sw_cfi_builder_t *b, unsigned reg);
SW_API int sw_cfi_b_same_value(sw_cfi_builder_t *b, unsigned reg);
SW_API int sw_cfi_b_register(sw_cfi_builder_t *b, unsigned reg, unsigned reg2);
SW_API int sw_cfi_b_remember_state(sw_cfi_builder_t *b);
SW_API int sw_cfi_b_restore_state(sw_cfi_builder_t *b);
SW_API int sw_cfi_b_escape(sw_cfi_builder_t *b, const void *bytes, size_t len);

/* ================================================================== *
 * JIT registry
 *
 * Makes generated code unwindable (and named) by stackwalk's unwinder:
 * sw_step, sw_backtrace, sw_get_proc_info and sw_get_proc_name treat a
 * registered procedure exactly like compiled code (proc source SW_SRC_JIT).
 *
 * Forms of registration, each returning a handle:
 *   sw_jit_add_eh_frame   standard .eh_frame bytes (CIEs + FDEs), e.g. from
 *                         the CFI builder above or from an assembler;
 *   sw_jit_add_procs      an array of procedure descriptors (struct
 *                         sw_jit_proc), each with its name and one of three
 *                         unwind descriptions (below);
 *   sw_jit_table_*        a growable table over a reserved code range: the
 *                         JIT appends procedures and publishes them with one
 *                         cheap call (like RtlAddGrowableFunctionTable);
 *   sw_jit_add_callback   a range plus a callback asked for a procedure's
 *                         description when an unwind meets a PC in the range
 *                         (like RtlInstallFunctionTableCallback).
 * Then sw_jit_move (code relocated by a GC) and sw_jit_remove.
 *
 * Ranges: every registered procedure, table range and callback range is a
 * half-open [start, end) that must not overlap any other registered range
 * (SW_EOVERLAP); empty or wrapping ranges and ranges of 4 GiB or more are
 * SW_EINVAL.  Eager forms copy everything they are given (unwind bytes,
 * names, region lists): the caller may free its descriptions as soon as
 * the call returns.
 *
 * Registry: an ordered index (a copy-on-write B+tree) over the ranges,
 * O(log n) per lookup.  Readers (unwinding threads and signal handlers)
 * take no lock and allocate nothing; writers are serialised by a mutex;
 * memory a writer unlinks is freed only after every reader that could see
 * it has left (an epoch scheme with per-thread-slot reader counters).  Each
 * removal or move invalidates the unwinder's rule cache.
 *
 * Every failure records a reason for sw_jit_last_error (top of this
 * header): the function, the field with its index, the value.
 *
 * Thread-safety of the writer functions (add, table_*, move, remove): yes,
 * from any thread; they are NOT async-signal-safe (they allocate and take
 * the writer mutex), and must not be called from inside a registry
 * callback.  Readers (sw_jit_lookup, sw_jit_get_name, and the unwinder)
 * are thread-safe and async-signal-safe.
 * ================================================================== */

/* A registration.  0 is never a valid handle. */
typedef uint64_t sw_jit_handle_t;

/* sw_jit_proc.kind: how a procedure describes its frame. */
enum sw_jit_unwind_kind {
	SW_JIT_UNWIND_FRAME = 1,   /* u.frame: the standard-frame descriptor */
	SW_JIT_UNWIND_CFI = 2,     /* u.cfi: DWARF CFI instructions */
	SW_JIT_UNWIND_DYN = 3,     /* u.dyn: libunwind-dynamic regions */
};

/*
 * 1. Standard frame (compact, like Windows UNWIND_INFO / Apple compact
 * unwind): the procedure starts with the canonical prologue
 *
 *     push rbp; mov rbp, rsp          if flags & SW_JIT_FRAME_FP (55, 48 89 e5)
 *     push saved[0] ... saved[n-1]    rbx/rbp: 1 byte, r12..r15: 2 bytes
 *     sub rsp, frame_size             if frame_size > 0: 48 83 ec ib when
 *                                     frame_size <= 127, else 48 81 ec id
 *
 * and each epilogue is the canonical sequence ending at the instruction at
 * code offset epilogues[i] (a 1-byte ret, or the final jmp of a tail call:
 * the state after it is never needed, since no PC lies inside a jmp):
 *
 *     without FP:  add rsp, frame_size (same size rule, 48 83/81 c4);
 *                  pop saved[n-1] ... pop saved[0]; ret/jmp
 *     with FP:     any instructions that restore rsp (leave, add, lea),
 *                  pops, pop rbp; ret/jmp -- the CFA is rbp-based, so only
 *                  the offset of the final instruction matters.
 *
 * The description is exact at every instruction (prologue, body and each
 * listed epilogue), so asynchronous unwinding (profilers) works.  Code that
 * changes rsp elsewhere in the body (pushes of arguments, alloca) is
 * described correctly only with FP.  saved[] holds DWARF numbers of
 * callee-saved registers (SW_REG_RBX, SW_REG_R12..SW_REG_R15, and SW_REG_RBP
 * without FP), each at most once; frame_size < 2^31.
 */
#define SW_JIT_FRAME_FP 1u
#define SW_JIT_FRAME_MAX_SAVED 6
struct sw_jit_frame {
	uint32_t flags;              /* SW_JIT_FRAME_FP */
	uint32_t frame_size;         /* bytes of `sub rsp` after the pushes */
	uint8_t nsaved;              /* entries used in saved[] */
	uint8_t saved[SW_JIT_FRAME_MAX_SAVED];
	uint32_t nepilogues;
	const uint32_t *epilogues;   /* code offsets of each epilogue's last instruction */
};

/*
 * 2. DWARF CFI instructions: the FDE instruction stream, evaluated from the
 * state at the first instruction (CFA = rsp+8, rip at CFA-8) with code
 * alignment 1 and data alignment -8 (the CFI builder's CIE).  Exactly as
 * expressive as .eh_frame.
 */
struct sw_jit_cfi {
	const uint8_t *insns;
	size_t len;
};

/*
 * 3. The libunwind-dynamic(3) model (same layout as libunwind's
 * unw_dyn_region_info_t / unw_dyn_op_t, and the same tag values), with
 * these x86-64 definitions:
 *   - instruction index = byte: a region's insn_count is its length in
 *     bytes; an op's `when` is the region-relative offset of the LAST byte
 *     of the instruction that has the effect, so the new state holds from
 *     offset when+1 on (when = 0 for a 1-byte push at the region's start).
 *     Regions follow each other from the procedure's start; a negative
 *     insn_count (last region only) covers the procedure's last -N bytes.
 *     Bytes not covered by a region keep the state reached so far.  In an
 *     empty region (insn_count 0) ops take effect at the region's start.
 *     Ops may come in any order of `when`; ops with equal `when` apply in
 *     array order; UNW_DYN_STOP (0) or op_count ends the list.  qp is
 *     ignored (x86-64 has no predicates).
 *   - frame layout: the state starts as CFA = rsp+8, return address at
 *     CFA-8.  The unwinder tracks rsp's distance from the CFA; "sp-relative"
 *     means relative to rsp's value AFTER the instruction (a push of rbx is
 *     ADD rsp,-8 then SPILL_SP_REL rbx,0 at the same `when`), "fp-relative"
 *     means relative to rbp after SAVE_REG rsp->rbp.
 *   - SW_DYN_SAVE_REG reg, val: reg's value is now in register val.  The
 *     special case reg = SW_REG_RSP, val = SW_REG_RBP (mov rbp, rsp)
 *     establishes the frame pointer: the CFA is rbp-based from then on.
 *   - SW_DYN_SPILL_FP_REL reg, val: reg stored at rbp + val (needs the frame
 *     pointer).  SW_DYN_SPILL_SP_REL reg, val: reg stored at rsp + val.
 *   - SW_DYN_ADD reg, val: reg must be SW_REG_RSP; rsp += (int64_t)val.
 *   - SW_DYN_POP_FRAMES val: the epilogue point where rsp is restored:
 *     undoes the prologues of the val innermost open regions.  A region
 *     "opens a frame" when it has any ADD, SAVE_REG or SPILL op; popping n
 *     frames restores the state at the start of the n-th innermost open one.
 *   - SW_DYN_LABEL_STATE val: remember the current state under label val;
 *     SW_DYN_COPY_STATE val: return to the state labelled val (at most
 *     SW_JIT_DYN_MAX_LABELS labels per procedure).
 *   - SW_DYN_ALIAS val: from the alias point p = when+1 to the end of the
 *     region, the byte at p+k has the state of the byte at address val+k
 *     (val lies inside [start, end); the whole target range must lie
 *     before the alias point): duplicated code such as a copied epilogue.  After the aliased
 *     bytes the description continues from the state it had before the
 *     alias point; no other op may follow an ALIAS in its region, and at
 *     most 16 ALIAS ops per procedure cover bytes.
 *   - details: when = -1 (what libunwind's _U_dyn_op_* macros write for
 *     labels, copies and aliases) means "at the region's start"; in an
 *     empty region `when` must be 0 or -1; in other regions
 *     -1 <= when < insn_count.  SAVE_REG r, r means "r is back in its own
 *     register" (the only way to restore one register).  LABEL_STATE also
 *     remembers which frames are open, so COPY_STATE followed by POP_FRAMES
 *     works for several epilogues.  POP_FRAMES can return to the 8
 *     innermost open frames.  Rules are kept for registers 0..16 (rsp is
 *     the CFA, never saved); save slots must be multiples of 8 from the CFA.
 *     Bounds: 4096 regions, 65536 ops (src/jit/describe/describe.h).
 * Registers are DWARF numbers (enum sw_reg).  Descriptions whose CFI
 * exceeds SW_JIT_MAX_CFI bytes are rejected (SW_EINVAL).
 */
enum sw_jit_dyn_tag {
	SW_DYN_STOP = 0,
	SW_DYN_SAVE_REG = 1,
	SW_DYN_SPILL_FP_REL = 2,
	SW_DYN_SPILL_SP_REL = 3,
	SW_DYN_ADD = 4,
	SW_DYN_POP_FRAMES = 5,
	SW_DYN_LABEL_STATE = 6,
	SW_DYN_COPY_STATE = 7,
	SW_DYN_ALIAS = 8,
};
#define SW_JIT_DYN_MAX_LABELS 8
struct sw_jit_dyn_op {
	int8_t tag;                  /* enum sw_jit_dyn_tag */
	int8_t qp;                   /* ignored */
	int16_t reg;
	int32_t when;
	uint64_t val;
};
struct sw_jit_dyn_region {
	struct sw_jit_dyn_region *next;
	int32_t insn_count;
	uint32_t op_count;
	struct sw_jit_dyn_op op[];
};

/*
 * sw_jit_addr - the address of `p` as the uint64_t the descriptors hold
 * (code ranges, LSDAs).
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
static inline uint64_t sw_jit_addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Largest .eh_frame (CIE + FDE) one descriptor may produce. */
#define SW_JIT_MAX_CFI 1024

/* Source line of the code from start + offset on, up to the next entry's
 * offset (entries sorted by offset, offsets < end - start). */
struct sw_jit_line {
	uint32_t offset;
	uint32_t line;               /* 1-based */
};

/*
 * A procedure descriptor.  Addresses are integers (uint64_t, as in every
 * stackwalk API); sw_jit_addr converts the JIT's code pointers, in C and
 * in C++ alike.  Unused fields must be zero: start from `= {}` (C++,
 * GNU C, C23) or `= { 0 }` and assign, or use designated initializers
 * (C99; C++20 in member order, one level per designator:
 * `.u = { .frame = { ... } }`, not `.u.frame = ...`).
 */
struct sw_jit_proc {
	uint64_t start, end;         /* the code range [start, end) */
	const char *name;            /* NUL-terminated, or NULL */
	int kind;                    /* enum sw_jit_unwind_kind */
	uint64_t personality;        /* personality routine address, 0 if none */
	uint64_t lsda;               /* language-specific data address, 0 if none */
	union {
		struct sw_jit_frame frame;
		struct sw_jit_cfi cfi;
		const struct sw_jit_dyn_region *dyn;
	} u;
	/* optional line information (copied by the eager and table forms),
	 * handed to publishers: GDB gets .debug_line, jitdump DEBUG_INFO
	 * records; nlines == 0 or file == NULL: none */
	const char *file;            /* source file name */
	const struct sw_jit_line *lines;
	uint32_t nlines;
};

/*
 * Growing struct sw_jit_proc.  The struct gains fields only at its end;
 * every call that reads an array of it, and the callback that fills one,
 * is told the element size the caller was compiled with:
 *   - sw_jit_add_procs and sw_jit_table_append are macros passing
 *     sizeof(struct sw_jit_proc) to their _sized functions, so source
 *     written for any version keeps compiling and its binaries keep
 *     running on later libraries;
 *   - the library accepts any size >= SW_JIT_PROC_SIZE_MIN (80 bytes: the
 *     layout before the line fields file/lines/nlines); fields past the
 *     caller's size read as zero; bytes past the fields this library
 *     knows must be zero (else SW_EINVAL: a newer caller asked for
 *     something this library cannot do); a smaller size is SW_EINVAL;
 *   - the functions named sw_jit_add_procs / sw_jit_table_append (as
 *     taken by address, or called by binaries built before the macros)
 *     read elements of SW_JIT_PROC_SIZE_V2 bytes, the layout they always
 *     had in that ABI;
 *   - sw_jit_add_callback_sized's callback is told how large the struct
 *     it fills is (the library's, zeroed): a callback built for a larger
 *     struct must write only out_size bytes, one built for a smaller one
 *     leaves the tail zero.
 */
#define SW_JIT_PROC_SIZE_MIN 80      /* without file, lines, nlines */
#define SW_JIT_PROC_SIZE_V2 104      /* with them (this header) */

/*
 * sw_jit_add_eh_frame - register every FDE of `size` bytes of .eh_frame
 * (CIEs and FDEs, optionally zero-terminated).  Pointers in the bytes are
 * decoded as if the bytes lived at `eh_addr` (pass the bytes' own address
 * when they were encoded in place, as for __register_frame).  names, if not
 * NULL, gives the names of the first nnames FDEs in section order (NULL
 * entries allowed).
 * Returns 0 and *out, or: SW_EINVAL (NULL arguments, no FDE, an empty or
 * >= 4 GiB FDE range), SW_EOVERLAP (two FDEs, or an FDE and a registered
 * range, overlap), a CFI parse error (SW_ETRUNCATED, SW_EBADCIE, ...) for
 * malformed bytes, SW_ENOMEM.  Nothing is registered on error.
 * Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_add_eh_frame(const void *eh_frame, size_t size, uint64_t eh_addr,
			       const char *const *names, size_t nnames, sw_jit_handle_t *out);

/*
 * sw_jit_add_procs - register n procedure descriptors as one handle.
 * Returns 0 and *out, or SW_EINVAL (NULL arguments, n == 0, bad range,
 * unknown kind, malformed description: the CFI instructions are parsed and
 * the dynamic regions checked at registration; line entries unsorted or
 * past the procedure's end), SW_EOVERLAP, a CFI error for bad u.cfi
 * instructions (SW_EBADOP, SW_EBADREG, SW_ETRUNCATED, SW_ELEB128 when
 * decoded; SW_ERESTORE, SW_EREMEMBER, ... when run), SW_ENOMEM.  Nothing
 * is registered on error; sw_jit_last_error names procs[i] and the field.
 * Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_add_procs(const struct sw_jit_proc *procs, size_t n, sw_jit_handle_t *out);
/*
 * sw_jit_add_procs_sized - the same for n elements of elem_size bytes
 * each (see "Growing struct sw_jit_proc" above).  Returns as
 * sw_jit_add_procs, and SW_EINVAL when elem_size is below
 * SW_JIT_PROC_SIZE_MIN or an element has non-zero bytes past the fields
 * this library knows.  Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_add_procs_sized(const void *procs, size_t n, size_t elem_size, sw_jit_handle_t *out);
#define sw_jit_add_procs(procs, n, out) \
	sw_jit_add_procs_sized((procs), (n), sizeof(struct sw_jit_proc), (out))

/*
 * Growable table over the reserved code range [start, end).
 *   sw_jit_table_create: reserve the range (SW_EOVERLAP if taken) with room
 *       for max_procs procedures (1..2^24).
 *   sw_jit_table_append: convert and stage n procedures; they must lie in
 *       the range, be sorted by address and follow the procedures already
 *       appended (SW_EINVAL), and fit (SW_EFULL).  Staged procedures are not
 *       visible to unwinders yet.
 *   sw_jit_table_publish: make every staged procedure visible (one release
 *       store readers see at once; under the registry mutex, and it hands
 *       the new batch to the registration's publishers, if any).
 * PCs in the range outside any published procedure are treated as having
 * no JIT information (the unwinder's fallbacks apply).
 * Returns 0, or SW_EINVAL, SW_EBADHANDLE (not a table handle), SW_EFULL,
 * SW_ENOMEM, a description error as for sw_jit_add_procs.
 * Thread-safety: create yes; append, publish, move and remove of one table
 * must not run concurrently (one JIT thread owns a table; unwinders may
 * read it at any time).  Async-signal-safe: no.
 */
SW_API int sw_jit_table_create(uint64_t start, uint64_t end, size_t max_procs, sw_jit_handle_t *out);
SW_API int sw_jit_table_append(sw_jit_handle_t table, const struct sw_jit_proc *procs, size_t n);
/* sw_jit_table_append for elements of elem_size bytes (as
 * sw_jit_add_procs_sized).  Same returns, thread-safety, signal-safety. */
SW_API int sw_jit_table_append_sized(sw_jit_handle_t table, const void *procs, size_t n,
			      size_t elem_size);
#define sw_jit_table_append(table, procs, n) \
	sw_jit_table_append_sized((table), (procs), (n), sizeof(struct sw_jit_proc))
SW_API int sw_jit_table_publish(sw_jit_handle_t table);

/*
 * Lazy registration: when an unwind (or a name query) meets a PC inside
 * [start, end) the callback is asked to describe the procedure containing
 * `pc` into *out (all fields; out->start <= pc < out->end, within the
 * range) and return 0, or return a negative value when it has no
 * information (the unwinder then uses its fallbacks).  An answer that does
 * not contain pc or leaves the range is an error (SW_EINVAL for the frame
 * and for sw_jit_lookup / sw_jit_get_name).
 *
 * Callback contract: it may run in any thread, concurrently with itself,
 * and inside a signal handler that interrupted arbitrary code (even the
 * JIT itself, or a thread holding the JIT's locks): it must be
 * async-signal-safe, must not allocate, take locks or call any sw_jit_*
 * writer function, and should be fast (it runs on every uncached step
 * through its range; compiled rules are cached per PC).  Everything *out
 * points to (name, CFI bytes, region lists) must stay valid and unchanged
 * until sw_jit_remove of this handle returns; the description is
 * converted into one of 256 buffers of SW_JIT_MAX_CFI bytes the registry
 * maps at the first sw_jit_add_callback (more CFI than that gives the frame
 * SW_EINVAL), held while the unwinder uses it: when 256 lookups of lazily
 * described code are in flight at once (threads and nested signal
 * handlers together), the next fails with SW_EFULL.  The conversion needs
 * about 2.6 KiB of stack beyond the unwinder's own (tests/scripts/stack.sh
 * prints the figure): mind small sigaltstacks.
 * Returns 0 and *out, SW_EINVAL, SW_EOVERLAP, SW_ENOMEM.
 * Thread-safe: yes.  Async-signal-safe: no.
 */
typedef int (*sw_jit_callback_t)(void *arg, uint64_t pc, struct sw_jit_proc *out);
SW_API int sw_jit_add_callback(uint64_t start, uint64_t end, sw_jit_callback_t callback, void *arg,
			sw_jit_handle_t *out);
/*
 * sw_jit_add_callback_sized - the same, with a callback told the size of
 * the struct it fills (out_size: the library's sizeof(struct sw_jit_proc),
 * the struct zeroed; at least SW_JIT_PROC_SIZE_MIN).  A callback compiled
 * against a newer header writes only the fields that fit out_size.  New
 * code should prefer it: sw_jit_add_callback's callback fills a struct of
 * the library's size without being told it.  Returns, thread-safety and
 * signal-safety as sw_jit_add_callback.
 */
typedef int (*sw_jit_callback_sized_t)(void *arg, uint64_t pc, struct sw_jit_proc *out,
				       size_t out_size);
SW_API int sw_jit_add_callback_sized(uint64_t start, uint64_t end, sw_jit_callback_sized_t callback,
			      void *arg, sw_jit_handle_t *out);

/*
 * sw_jit_move - the code of a registration moved by `delta` bytes (a GC
 * relocated it): every procedure (or the table / callback range) now
 * covers start+delta..end+delta.  Personality and LSDA addresses are kept.
 * While the move runs, unwinders may see the old or the new addresses.
 * Returns 0, SW_EBADHANDLE, SW_EOVERLAP, SW_EINVAL (the new range wraps,
 * or a pc-relative FDE field cannot hold the new address) or SW_ENOMEM;
 * on error nothing changed.  Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_move(sw_jit_handle_t handle, int64_t delta);

/*
 * sw_jit_remove - unregister.  The code may be freed as soon as this
 * returns (no later unwind uses the registration); for callback ranges it
 * also waits until no unwinder is still inside the callback's data.
 * Returns 0, SW_EBADHANDLE (unknown, or already removed), or SW_ENOMEM
 * (a registration of several procedures when memory is exhausted: it stays
 * registered).
 * Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_remove(sw_jit_handle_t handle);

/* What sw_jit_lookup found. */
struct sw_jit_found {
	uint64_t start, end;         /* the procedure (table: the published
				      * procedure; callback: its answer) */
	int form;                    /* enum sw_jit_form */
};

/* sw_jit_found.form: how the procedure was registered. */
enum sw_jit_form {
	SW_JIT_FORM_EAGER = 1,       /* sw_jit_add_eh_frame / sw_jit_add_procs */
	SW_JIT_FORM_TABLE = 2,       /* a growable table */
	SW_JIT_FORM_CALLBACK = 3,    /* a lazy callback's answer */
};

/*
 * sw_jit_lookup - the registered procedure containing pc.
 * Returns 0, or SW_ENOTFOUND (no procedure; also a table PC between
 * published procedures, or a callback that declined), SW_EINVAL (out
 * NULL, or a callback's answer that does not contain pc or leaves its
 * range).  SW_ENOTFOUND is an answer, not a failure: it leaves
 * sw_jit_last_error unchanged.
 * Thread-safe: yes.  Async-signal-safe: yes (may call a lazy callback).
 */
SW_API int sw_jit_lookup(uint64_t pc, struct sw_jit_found *out);

/*
 * sw_jit_get_name - copy the name of the procedure containing pc (at most
 * size-1 bytes, NUL-terminated) and its offset from the start.
 * Returns 0, SW_ENOTFOUND (no procedure), SW_ENONAME (a procedure without
 * a name: buf gets "", *offset is not set), SW_EINVAL (buf NULL, size 0,
 * or a bad callback answer as for sw_jit_lookup).  SW_ENOTFOUND and
 * SW_ENONAME are answers: they leave sw_jit_last_error unchanged.
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_jit_get_name(uint64_t pc, char *buf, size_t size, uint64_t *offset);

/*
 * sw_jit_get_line - the source line registered for pc (the procedure's
 * struct sw_jit_line entries: the last one whose offset is at or below
 * pc - start) and the procedure's file, copied into file (at most size-1
 * bytes, NUL-terminated).  What symbolizers show (stackwalk/symbolize.h).
 * Returns 0, SW_ENOTFOUND (no procedure, no line information, or pc
 * before the first entry), SW_EINVAL (file or line NULL, size 0, or a bad
 * callback answer as for sw_jit_lookup).
 * Thread-safe: yes.  Async-signal-safe: yes (may call a lazy callback).
 */
SW_API int sw_jit_get_line(uint64_t pc, char *file, size_t size, uint32_t *line);

/*
 * sw_jit_stats - registry counters: procedures indexed (table and callback
 * ranges count as one), live handles, bytes the registry holds beyond the
 * unwind information and names (index nodes, records, handle table,
 * allocator overhead) and bytes waiting for reclamation.
 * Returns 0, or SW_EINVAL (out NULL).  Thread-safe: yes (a snapshot under
 * the writer mutex).
 * Async-signal-safe: no.
 */
struct sw_jit_stats {
	size_t entries, handles;
	size_t index_bytes;          /* B+tree nodes (their slab slots, with the free
				      * slots of the chunks holding them) */
	size_t record_bytes;         /* handle table + per-registration records */
	size_t unwind_bytes;         /* .eh_frame copies and names */
	size_t retired_bytes;        /* unlinked, not yet reclaimed */
};
SW_API int sw_jit_get_stats(struct sw_jit_stats *out);

/* ================================================================== *
 * Publishers: one registration, visible to every other consumer
 *
 * A publisher hands each eager registration (and each published batch of
 * a growable table) to another unwinder or tool:
 *   SW_JIT_PUB_LIBGCC     __register_frame / __deregister_frame of the
 *                         zero-terminated .eh_frame (libgcc_s, or LLVM
 *                         libunwind's __unw_add_dynamic_eh_frame_section /
 *                         __unw_add_dynamic_fde when that is the unwinder
 *                         in the process): C++ exceptions cross JIT frames;
 *   SW_JIT_PUB_GDB        the GDB JIT interface (__jit_debug_descriptor,
 *                         __jit_debug_register_code): an in-memory ELF
 *                         object per registration with symbols and
 *                         .eh_frame;
 *   SW_JIT_PUB_PERF_MAP   /tmp/perf-PID.map lines (perf's simple map);
 *   SW_JIT_PUB_JITDUMP    jit-PID.dump records for `perf inject --jit`;
 *   SW_JIT_PUB_LIBUNWIND  nongnu libunwind's _U_dyn_register, when that
 *                         library is loaded (found with dlsym).
 * Callback ranges cannot be published (their procedures exist only when
 * asked for); tables publish each batch at sw_jit_table_publish.
 * ================================================================== */
enum sw_jit_publisher {
	SW_JIT_PUB_LIBGCC = 1u << 0,
	SW_JIT_PUB_GDB = 1u << 1,
	SW_JIT_PUB_PERF_MAP = 1u << 2,
	SW_JIT_PUB_JITDUMP = 1u << 3,
	SW_JIT_PUB_LIBUNWIND = 1u << 4,
	SW_JIT_PUB_ALL = 0x1f,
	/* what every registration gets unless told otherwise */
	SW_JIT_PUB_DEFAULT = SW_JIT_PUB_LIBGCC | SW_JIT_PUB_GDB | SW_JIT_PUB_LIBUNWIND,
};

/*
 * sw_jit_set_publishers - the publishers applied to registrations made
 * from now on.  The initial set is SW_JIT_PUB_DEFAULT (exceptions, GDB,
 * nongnu libunwind: each a no-op when its consumer is absent), changed by
 * the environment: SW_JIT_PERF=1 (or map) adds the perf map,
 * SW_JIT_PERF=jitdump the jitdump file, SW_JIT_PUBLISHERS=LIST replaces
 * the set (names libgcc, gdb, perf-map, jitdump, libunwind, all, none,
 * comma-separated).  sw_jit_set_publishers(0) turns them all off; clear
 * bits to turn off one (sw_jit_set_publishers(sw_jit_set_publishers(0) &
 * ~SW_JIT_PUB_GDB)).  Registrations made before keep theirs
 * (sw_jit_publish changes one).  Returns the previous mask, or SW_EINVAL
 * for unknown bits.  Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_set_publishers(unsigned mask);

/*
 * sw_jit_publish - change the publishers of one registration: those in
 * `mask` it does not have yet are added, those it has and `mask` lacks
 * are withdrawn.  Returns 0, SW_EBADHANDLE, SW_EINVAL (unknown bits, or a
 * callback range with a non-zero mask), or the first publisher error (the
 * others are still applied).  Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_jit_publish(sw_jit_handle_t handle, unsigned mask);

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_JIT_H */
