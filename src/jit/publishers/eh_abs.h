/*
 * Absolute re-encoding of one FDE and its CIE, for consumers that read
 * .eh_frame in place (libgcc, LLVM libunwind) when the registry's copy of
 * the bytes does not live where its pc-relative pointers were encoded, or
 * when the bytes exist only for one lookup (lazy callback descriptions).
 */
#ifndef SW_JIT_EH_ABS_H
#define SW_JIT_EH_ABS_H

#include <stddef.h>
#include <stdint.h>

#include "dwarf/cfi.h"

/*
 * sw_eh_abs_write - write `cie` + `fde` (parsed from `sec`) as a CIE
 * immediately followed by an FDE, every pointer DW_EH_PE_absptr: the
 * FDE's pc_begin (+ `bias`, for code that moved), the personality (the
 * slot address kept with DW_EH_PE_indirect) and the LSDA.  The CFA
 * instructions are copied byte for byte.  Layout (32-bit DWARF):
 *
 *   CIE  length, id 0, version 1 (3 when the return column > 255),
 *        "z[P][L]R[S]", code/data alignment, return column,
 *        augmentation data (P: enc + 8 bytes, L: enc, R: 0x00),
 *        initial instructions, DW_CFA_nop padding to 8 bytes;
 *   FDE  length, CIE pointer, pc_begin (8), pc_range (8), augmentation
 *        length (8 with L, else 0), [LSDA (8)], instructions, padding.
 *
 * No terminator is written.  buf == NULL measures.  Returns the byte
 * count (and *fde_off, the FDE's offset in buf), SW_ETRUNCATED (size too
 * small), SW_EUNSUPPORTED (DW_CFA_set_loc, whose operand uses the old
 * encoding; 64-bit DWARF; a v4 CIE with segments), or a decoding error.
 * Thread-safe, async-signal-safe (no allocation, no locks).
 */
int sw_eh_abs_write(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		    const struct sw_fde *fde, int64_t bias, uint8_t *buf, size_t size,
		    size_t *fde_off);

/*
 * sw_eh_abs_section - every FDE of `sec` (with its CIE) written as by
 * sw_eh_abs_write, then the 4-byte terminator, into one malloc'ed block:
 * bytes any unwinder can read wherever they live, whatever the original
 * pc-relative base (no +-2 GiB reach limit).  `bias` is added to every
 * FDE's pc_begin (code moved by sw_jit_move).  Returns 0 with *out (free
 * it) and *out_size, or SW_ENOMEM, SW_EUNSUPPORTED (see sw_eh_abs_write),
 * or a CFI parse error.  Thread-safe.  Async-signal-safe: no (malloc).
 */
int sw_eh_abs_section(const struct sw_cfi_section *sec, int64_t bias, uint8_t **out,
		      size_t *out_size);

#endif /* SW_JIT_EH_ABS_H */
