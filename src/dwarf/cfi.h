/*
 * DWARF call frame information: .eh_frame, .debug_frame, .eh_frame_hdr.
 *
 * Three layers, each usable alone:
 *   1. entries   - walk a section's CIEs and FDEs (sw_cfi_entry_at),
 *                  parse them (sw_cfi_parse_cie / sw_cfi_parse_fde);
 *   2. decoding  - one DW_CFA_* instruction at a time (sw_cfa_decode);
 *                  the dump tool's readelf emulation is a client of this;
 *   3. execution - run CIE + FDE programs to the row that applies at a PC
 *                  (sw_cfa_row_at) or emit every row (sw_cfa_table).
 * plus FDE lookup by PC through .eh_frame_hdr (O(log n)) or a linear scan.
 *
 * Everything reads through the bounds-checked reader (reader.h), allocates
 * nothing, takes no locks, and is async-signal-safe and thread-safe (all
 * state lives in caller-provided structs).  Malformed input gives a
 * negative SW_E* code plus, when a `struct sw_diag` is passed, the section
 * and offset where it went wrong.
 */
#ifndef SW_DWARF_CFI_H
#define SW_DWARF_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dwarf/reader.h"

/* Columns a row tracks.  Registers 0..SW_CFI_COLS-1 get rules; rules for
 * higher-numbered registers (x86-64 vector, x87 and segment state, never
 * needed to unwind) are counted in `dropped` and otherwise ignored.  17
 * covers rax..r15 and rip; it keeps a row small, which matters because
 * the interpreter copies rows (remember_state, the CIE's initial row). */
#define SW_CFI_COLS 17
/* Highest register number accepted at all; beyond it is SW_EBADREG. */
#define SW_CFI_MAX_REGNO 4095
/* DW_CFA_remember_state nesting limit.  Compilers nest 1 deep (gcc, around
 * each epilogue; clang emits none): the .eh_frame of gcc's cc1, libc,
 * libstdc++, libgcc_s, libcrypto, libgcrypt and 400 other Debian 12
 * libraries never goes deeper.  Each level costs a saved row on the stack
 * of sw_cfa_row_at (the signal-safe unwind path, stackwalk.h's stack bound). */
#define SW_CFI_REMEMBER_MAX 4
/* CFA instructions executed per row computation (CIE + FDE programs). */
#define SW_CFI_INSN_MAX 100000

/* Where a parse went wrong. */
struct sw_diag {
	int code;               /* SW_E* */
	const char *section;    /* section name */
	uint64_t offset;        /* section offset of the failing byte */
	uint64_t entry;         /* section offset of the CIE/FDE being parsed */
};

/* Format "<strerror> in <section> at offset 0x..(entry 0x..)" into buf. */
void sw_diag_format(const struct sw_diag *d, char *buf, size_t size);

/* A CFI section as it sits in memory. */
struct sw_cfi_section {
	const uint8_t *data;    /* section bytes */
	size_t size;
	uint64_t vaddr;         /* address of data[0] in the target (pc-relative base) */
	bool is_eh;             /* .eh_frame rules (CIE id 0, relative CIE pointers) */
	uint8_t addr_size;      /* default address size: 8 */
	uint64_t textrel;       /* DW_EH_PE_textrel base (0: unavailable) */
	uint64_t datarel;       /* DW_EH_PE_datarel base (0: unavailable) */
	int (*deref)(void *arg, uint64_t addr, uint64_t *out); /* DW_EH_PE_indirect */
	void *deref_arg;
	const char *name;       /* ".eh_frame" / ".debug_frame" */
};

/* Initialise `sec` for `size` bytes at `data` loaded at `vaddr`. */
void sw_cfi_section_init(struct sw_cfi_section *sec, const void *data, size_t size,
			 uint64_t vaddr, bool is_eh, const char *name);

/* Kind of entry at an offset. */
enum sw_cfi_kind {
	SW_CFI_CIE = 1,
	SW_CFI_FDE = 2,
	SW_CFI_ZERO = 3,        /* zero length: .eh_frame terminator */
};

/* The header common to CIEs and FDEs. */
struct sw_cfi_entry {
	enum sw_cfi_kind kind;
	uint64_t offset;        /* section offset of the length field */
	uint64_t length;        /* length as stored (excludes the length field) */
	uint64_t id;            /* CIE id / CIE pointer as stored */
	uint8_t offset_size;    /* 4 (32-bit DWARF) or 8 (64-bit DWARF) */
	uint64_t body;          /* section offset just after the id field */
	uint64_t end;           /* section offset one past the entry */
	uint64_t cie_offset;    /* FDE: section offset its CIE pointer designates */
};

/*
 * Read the entry header at section offset `off`.  Returns 0, SW_END_OF_STACK
 * when `off` is at the end of the section (no more entries), or
 * SW_ETRUNCATED / SW_ELENGTH (length past the end of the section).
 */
int sw_cfi_entry_at(const struct sw_cfi_section *sec, uint64_t off,
		    struct sw_cfi_entry *ent, struct sw_diag *diag);

struct sw_cie {
	uint64_t offset;        /* section offset of the CIE */
	uint64_t end;           /* one past its last byte */
	uint8_t version;        /* 1, 3 or 4 */
	uint8_t offset_size;    /* 4 or 8 */
	uint8_t addr_size;      /* v4 header field, else the section default */
	uint8_t segment_size;   /* v4 header field, else 0 */
	const char *augmentation; /* NUL-terminated, inside the section */
	uint64_t code_align;    /* code alignment factor */
	int64_t data_align;     /* data alignment factor */
	uint64_t ra_reg;        /* return address column */
	uint8_t fde_enc;        /* 'R': FDE pointer encoding (absptr if absent) */
	uint8_t lsda_enc;       /* 'L': LSDA encoding (omit if absent) */
	uint8_t personality_enc;/* 'P' */
	uint64_t personality;   /* 'P': personality routine address (0 if none) */
	bool has_z;             /* augmentation data present ('z') */
	bool signal_frame;      /* 'S' */
	bool bti;               /* 'B' (AArch64 BTI), parsed and ignored */
	const uint8_t *aug_data;/* 'z': augmentation data */
	uint64_t aug_data_len;
	const uint8_t *insns;   /* initial instructions */
	uint64_t insns_len;
};

struct sw_fde {
	uint64_t offset;        /* section offset of the FDE */
	uint64_t end;           /* one past its last byte */
	uint64_t cie_offset;    /* section offset of its CIE */
	uint64_t segment;       /* segment selector (CIE v4 with segment_size) */
	uint64_t pc_begin;      /* first address covered */
	uint64_t pc_end;        /* one past the last address covered */
	uint64_t lsda;          /* language-specific data area, 0 if none */
	const uint8_t *aug_data;
	uint64_t aug_data_len;
	const uint8_t *insns;   /* instructions */
	uint64_t insns_len;
};

/*
 * Parse the CIE at `off`.  Returns 0 or: SW_ETRUNCATED, SW_ELENGTH,
 * SW_EBADCIE (the entry is an FDE), SW_EVERSION, SW_EAUGMENTATION (unknown
 * augmentation character; fields parsed so far are filled in),
 * SW_EENCODING, SW_ELEB128.
 */
int sw_cfi_parse_cie(const struct sw_cfi_section *sec, uint64_t off,
		     struct sw_cie *cie, struct sw_diag *diag);

/*
 * Parse the FDE at `off` and its CIE (into *cie, which must not be NULL).
 * Returns 0 or the codes of sw_cfi_parse_cie plus SW_EBADCIE (the CIE
 * pointer does not designate a CIE inside the section) and SW_ERANGE
 * (pc_begin + range wraps around the address space).
 */
int sw_cfi_parse_fde(const struct sw_cfi_section *sec, uint64_t off,
		     struct sw_fde *fde, struct sw_cie *cie, struct sw_diag *diag);

/* DW_CFA_* opcodes (DWARF 5 table 7.29 plus GNU extensions). */
enum {
	SW_CFA_advance_loc = 0x40, SW_CFA_offset = 0x80, SW_CFA_restore = 0xc0,
	SW_CFA_nop = 0x00, SW_CFA_set_loc = 0x01, SW_CFA_advance_loc1 = 0x02,
	SW_CFA_advance_loc2 = 0x03, SW_CFA_advance_loc4 = 0x04,
	SW_CFA_offset_extended = 0x05, SW_CFA_restore_extended = 0x06,
	SW_CFA_undefined = 0x07, SW_CFA_same_value = 0x08, SW_CFA_register = 0x09,
	SW_CFA_remember_state = 0x0a, SW_CFA_restore_state = 0x0b,
	SW_CFA_def_cfa = 0x0c, SW_CFA_def_cfa_register = 0x0d,
	SW_CFA_def_cfa_offset = 0x0e, SW_CFA_def_cfa_expression = 0x0f,
	SW_CFA_expression = 0x10, SW_CFA_offset_extended_sf = 0x11,
	SW_CFA_def_cfa_sf = 0x12, SW_CFA_def_cfa_offset_sf = 0x13,
	SW_CFA_val_offset = 0x14, SW_CFA_val_offset_sf = 0x15,
	SW_CFA_val_expression = 0x16,
	SW_CFA_MIPS_advance_loc8 = 0x1d,
	SW_CFA_GNU_window_save = 0x2d, SW_CFA_GNU_args_size = 0x2e,
	SW_CFA_GNU_negative_offset_extended = 0x2f,
};

/* How instructions of one CIE/FDE are decoded. */
struct sw_cfa_ctx {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;        /* for DW_CFA_set_loc */
	struct sw_ptr_ctx ptr;  /* bases for DW_CFA_set_loc */
};

/* One decoded instruction.  Fields not used by `op` are 0. */
struct sw_cfa_insn {
	uint8_t op;             /* DW_CFA_*, high-bit forms as 0x40/0x80/0xc0 */
	uint64_t offset;        /* section offset of the opcode byte */
	uint64_t reg;           /* register operand */
	uint64_t reg2;          /* DW_CFA_register: the register holding the value */
	uint64_t uval;          /* unscaled unsigned operand (ULEB), as stored */
	int64_t sval;           /* unscaled signed operand (SLEB), as stored */
	int64_t factored;       /* the operand × data_align (offset ops, *_sf) */
	uint64_t delta;         /* advance_loc*: bytes (× code_align) */
	uint64_t loc;           /* set_loc: the new location */
	const uint8_t *expr;    /* *_expression: the expression bytes */
	uint64_t expr_len;
};

/* The decoding context of the instructions of `cie` and its FDEs in `sec`. */
void sw_cfa_ctx_init(struct sw_cfa_ctx *ctx, const struct sw_cfi_section *sec,
		     const struct sw_cie *cie);

/*
 * Decode the instruction at r->pos.  Returns 0, or SW_ETRUNCATED /
 * SW_ELEB128 / SW_EENCODING (from the reader) or SW_EBADOP (an opcode that
 * is not defined).  The reader is advanced past the instruction.
 */
int sw_cfa_decode(struct sw_reader *r, const struct sw_cfa_ctx *ctx, struct sw_cfa_insn *insn);

/* Printable name of a DW_CFA_* opcode ("DW_CFA_offset", ...). */
const char *sw_cfa_name(uint8_t op);

/* Register rules (DWARF 5 section 6.4.1). */
enum sw_rule_kind {
	SW_RULE_UNSET = 0,      /* no rule given: the ABI default (x86-64: same value
	                           for callee-saved, so unwinders keep the value) */
	SW_RULE_UNDEFINED,      /* not recoverable */
	SW_RULE_SAME,           /* same value */
	SW_RULE_OFFSET,         /* saved at CFA + value */
	SW_RULE_VAL_OFFSET,     /* value is CFA + value */
	SW_RULE_REGISTER,       /* saved in register `value` */
	SW_RULE_EXPR,           /* saved at the address the expression yields */
	SW_RULE_VAL_EXPR,       /* value is what the expression yields */
};

/* 16 bytes: `value` and `expr` share their storage (rows are copied and
 * kept on the signal-safe path's stack, see sw_cfa_row_at). */
struct sw_rule {
	uint8_t kind;           /* enum sw_rule_kind */
	uint32_t expr_len;      /* expression kinds: bytes at `expr` */
	union {
		int64_t value;          /* offset, or register number (0 for the
					 * kinds without an operand) */
		const uint8_t *expr;    /* expression kinds: bytecode inside the section */
	};
};

enum sw_cfa_kind {
	SW_CFA_RULE_REG = 1,    /* CFA = reg + offset */
	SW_CFA_RULE_EXPR = 2,   /* CFA = value of the expression */
};

/* The row of the CFA table that applies over [loc, end). */
struct sw_cfa_row {
	uint64_t loc;           /* first address the row applies to */
	uint64_t end;           /* one past the last (next row or FDE end) */
	uint64_t cfa_reg;
	int64_t cfa_offset;
	const uint8_t *cfa_expr;
	uint64_t args_size;     /* DW_CFA_GNU_args_size */
	uint64_t ra_reg;        /* return address column (from the CIE) */
	uint32_t cfa_expr_len;
	uint32_t dropped;       /* rules seen for registers >= SW_CFI_COLS */
	uint8_t cfa_kind;       /* enum sw_cfa_kind; 0 while undefined */
	struct sw_rule regs[SW_CFI_COLS];
};

/*
 * Run the CIE's initial instructions and the FDE's instructions up to the
 * row containing `pc` (pc_begin <= pc < pc_end), and store that row.
 * Returns 0 or: SW_ENOTFOUND (pc outside the FDE), SW_EREMEMBER,
 * SW_ERESTORE, SW_EBADREG, SW_EBADOP, SW_ETRUNCATED, SW_ELEB128,
 * SW_ESTEPLIMIT (instruction budget), SW_EINVAL (CFA left undefined).
 * The row is built in place: on an error *row holds a partial row.
 * Uses about SW_CFI_REMEMBER_MAX + 1 rows' worth of stack (the remembered
 * states and the CIE's initial rules), 1.9 KiB (tests/scripts/stack.sh).
 */
int sw_cfa_row_at(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		  const struct sw_fde *fde, uint64_t pc, struct sw_cfa_row *row,
		  struct sw_diag *diag);

/*
 * Emit every row of the FDE's table, in order, to `emit` (return nonzero to
 * stop early; that value is returned).  Rows whose range is empty
 * (two advances to the same location) are merged away.  When `fde` is
 * NULL the CIE's initial row is emitted alone, with loc = end = 0.
 * Returns 0 or the codes of sw_cfa_row_at.
 */
int sw_cfa_table(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		 const struct sw_fde *fde,
		 int (*emit)(void *arg, const struct sw_cfa_row *row), void *arg,
		 struct sw_diag *diag);

/* Find the FDE covering `pc` by scanning the whole section (no header
 * needed).  Returns 0, SW_ENOTFOUND, or the first parse error met. */
int sw_cfi_find_fde_linear(const struct sw_cfi_section *sec, uint64_t pc,
			   struct sw_fde *fde, struct sw_cie *cie, struct sw_diag *diag);

/* A parsed .eh_frame_hdr (LSB "Exception Frame Header"). */
struct sw_eh_hdr {
	const uint8_t *data;    /* header bytes */
	size_t size;
	uint64_t vaddr;         /* address of data[0] */
	uint8_t version;        /* 1 */
	uint64_t eh_frame_ptr;  /* address of .eh_frame */
	uint64_t fde_count;     /* entries in the table (0 when no table) */
	uint8_t table_enc;      /* encoding of table entries */
	const uint8_t *table;   /* the sorted table (initial location, FDE address) */
	uint8_t entry_size;     /* bytes per table field (4 for datarel|sdata4) */
};

/* Parse an .eh_frame_hdr of `size` bytes at `data` loaded at `vaddr`.
 * Returns 0 or SW_EBADHDR / SW_ETRUNCATED / SW_EENCODING / SW_EVERSION. */
int sw_eh_hdr_parse(struct sw_eh_hdr *hdr, const void *data, size_t size, uint64_t vaddr,
		    struct sw_diag *diag);

/*
 * Binary search the header's table for the entry whose initial location
 * is the greatest <= pc.  Stores the FDE's address in *fde_addr (so its
 * section offset is *fde_addr - eh_frame vaddr) and the initial location
 * in *start.  O(log n).  Returns 0 or SW_ENOTFOUND (empty table, pc below
 * the first entry).  The caller checks the FDE's range.
 */
int sw_eh_hdr_lookup(const struct sw_eh_hdr *hdr, uint64_t pc, uint64_t *fde_addr,
		     uint64_t *start);

/*
 * Find the FDE covering `pc` through the header, then parse it from `sec`
 * (the .eh_frame the header indexes).  Returns 0, SW_ENOTFOUND, or a parse
 * error of the FDE found.
 */
int sw_cfi_find_fde_hdr(const struct sw_eh_hdr *hdr, const struct sw_cfi_section *sec,
			uint64_t pc, struct sw_fde *fde, struct sw_cie *cie,
			struct sw_diag *diag);

#endif /* SW_DWARF_CFI_H */
