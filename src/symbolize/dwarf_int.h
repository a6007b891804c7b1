/*
 * Private to dwarf.c and dwarf_die.c: units, abbreviation tables, attribute
 * values and the per-unit context (bases, top DIE) that every DIE read
 * needs.  Nothing here is part of the symbolizer's interface (dwarf.h is).
 */
#ifndef SW_SYMBOLIZE_DWARF_INT_H
#define SW_SYMBOLIZE_DWARF_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dwarf/reader.h"
#include "symbolize/arena.h"
#include "symbolize/dwarf.h"
#include "symbolize/line.h"
#include "symbolize/sections.h"

/* DWARF constants (DWARF 5 standard, section 7, and the GNU extensions). */
enum {
	DW_TAG_lexical_block = 0x0b,
	DW_TAG_compile_unit = 0x11,
	DW_TAG_inlined_subroutine = 0x1d,
	DW_TAG_subprogram = 0x2e,
	DW_TAG_partial_unit = 0x3c,
	DW_TAG_skeleton_unit = 0x4a,

	DW_AT_sibling = 0x01,
	DW_AT_name = 0x03,
	DW_AT_stmt_list = 0x10,
	DW_AT_low_pc = 0x11,
	DW_AT_high_pc = 0x12,
	DW_AT_language = 0x13,
	DW_AT_comp_dir = 0x1b,
	DW_AT_abstract_origin = 0x31,
	DW_AT_specification = 0x47,
	DW_AT_entry_pc = 0x52,
	DW_AT_ranges = 0x55,
	DW_AT_call_column = 0x57,
	DW_AT_call_file = 0x58,
	DW_AT_call_line = 0x59,
	DW_AT_linkage_name = 0x6e,
	DW_AT_str_offsets_base = 0x72,
	DW_AT_addr_base = 0x73,
	DW_AT_rnglists_base = 0x74,
	DW_AT_MIPS_linkage_name = 0x2007,
	DW_AT_GNU_ranges_base = 0x2132,
	DW_AT_GNU_addr_base = 0x2133,

	/* DW_AT_language values whose symbols are the source names */
	DW_LANG_C89 = 0x01,
	DW_LANG_C = 0x02,
	DW_LANG_Cobol74 = 0x05,
	DW_LANG_Cobol85 = 0x06,
	DW_LANG_Fortran77 = 0x07,
	DW_LANG_Fortran90 = 0x08,
	DW_LANG_Pascal83 = 0x09,
	DW_LANG_C99 = 0x0c,
	DW_LANG_PLI = 0x0f,
	DW_LANG_UPC = 0x12,
	DW_LANG_Fortran95 = 0x0e,
	DW_LANG_C11 = 0x1d,
	DW_LANG_Mips_Assembler = 0x8001,

	DW_FORM_addr = 0x01,
	DW_FORM_block2 = 0x03,
	DW_FORM_block4 = 0x04,
	DW_FORM_data2 = 0x05,
	DW_FORM_data4 = 0x06,
	DW_FORM_data8 = 0x07,
	DW_FORM_string = 0x08,
	DW_FORM_block = 0x09,
	DW_FORM_block1 = 0x0a,
	DW_FORM_data1 = 0x0b,
	DW_FORM_flag = 0x0c,
	DW_FORM_sdata = 0x0d,
	DW_FORM_strp = 0x0e,
	DW_FORM_udata = 0x0f,
	DW_FORM_ref_addr = 0x10,
	DW_FORM_ref1 = 0x11,
	DW_FORM_ref2 = 0x12,
	DW_FORM_ref4 = 0x13,
	DW_FORM_ref8 = 0x14,
	DW_FORM_ref_udata = 0x15,
	DW_FORM_indirect = 0x16,
	DW_FORM_sec_offset = 0x17,
	DW_FORM_exprloc = 0x18,
	DW_FORM_flag_present = 0x19,
	DW_FORM_strx = 0x1a,
	DW_FORM_addrx = 0x1b,
	DW_FORM_ref_sup4 = 0x1c,
	DW_FORM_strp_sup = 0x1d,
	DW_FORM_data16 = 0x1e,
	DW_FORM_line_strp = 0x1f,
	DW_FORM_ref_sig8 = 0x20,
	DW_FORM_implicit_const = 0x21,
	DW_FORM_loclistx = 0x22,
	DW_FORM_rnglistx = 0x23,
	DW_FORM_ref_sup8 = 0x24,
	DW_FORM_strx1 = 0x25,
	DW_FORM_strx2 = 0x26,
	DW_FORM_strx3 = 0x27,
	DW_FORM_strx4 = 0x28,
	DW_FORM_addrx1 = 0x29,
	DW_FORM_addrx2 = 0x2a,
	DW_FORM_addrx3 = 0x2b,
	DW_FORM_addrx4 = 0x2c,
	DW_FORM_GNU_addr_index = 0x1f01,
	DW_FORM_GNU_str_index = 0x1f02,
	DW_FORM_GNU_ref_alt = 0x1f20,
	DW_FORM_GNU_strp_alt = 0x1f21,

	DW_UT_compile = 1,
	DW_UT_partial = 3,
};

/* One attribute specification of an abbreviation. */
struct dw_attrspec {
	uint16_t name;              /* DW_AT_* */
	uint16_t form;              /* DW_FORM_* */
	int64_t implicit_const;     /* the value of DW_FORM_implicit_const */
};

/* One abbreviation: the shape of the DIEs that use its code. */
struct dw_abbrev {
	uint64_t code;
	uint16_t tag;               /* DW_TAG_* */
	bool children;
	uint32_t nattrs;
	int32_t fixed_size;         /* bytes of all attribute values when every
				     * form has a fixed size in this unit, else -1 */
	const struct dw_attrspec *attrs;
};

/* An abbreviation table: by code - 1 when `dense`, else sorted by code. */
struct dw_abbrevs {
	const struct dw_abbrev *v;
	size_t n;
	bool dense;
};

struct dw_file;

/* A unit header of .debug_info (offsets are section offsets). */
struct dw_unit {
	uint64_t off;               /* the unit header */
	uint64_t die_off;           /* its first DIE */
	uint64_t end;               /* one past its last byte */
	uint64_t abbrev_off;        /* its table in .debug_abbrev */
	uint16_t version;           /* 2 to 5 */
	uint8_t addr_size;          /* 4 or 8 */
	uint8_t offset_size;        /* 4 (32-bit DWARF) or 8 (64-bit DWARF) */
	bool no_ranges;             /* its top DIE has no address range */
	_Atomic bool bad;           /* its abbreviations or top DIE are unreadable */
	struct dw_ctx *_Atomic ctx; /* abbreviations and bases (release/acquire) */
	struct dw_parsed *_Atomic parsed;  /* its functions (dwarf.c; release/acquire) */
};

/* The DWARF of one file (the module, or its dwz alternate file). */
struct dw_file {
	struct sw_dwarf_sections s;
	struct dw_unit *units;      /* by offset */
	size_t nunits;
	struct dw_file *alt;        /* the alternate file (strp_alt, ref_alt), or NULL */
	struct sw_dwarf *d;         /* the owner (arena, error count) */
};

/* What a unit's DIEs need to be read: abbreviations, the bases that
 * DWARF 5's indexed forms are relative to, and the top DIE's facts. */
struct dw_ctx {
	const struct dw_file *f;
	const struct dw_unit *u;
	struct dw_abbrevs ab;
	uint64_t base;              /* DW_AT_low_pc of the unit (range lists' base) */
	uint64_t str_offsets_base;
	uint64_t addr_base;
	uint64_t rnglists_base;
	uint64_t ranges_base;       /* DW_AT_GNU_ranges_base (GNU split DWARF) */
	const char *name;           /* DW_AT_name, NULL if none */
	const char *comp_dir;       /* DW_AT_comp_dir, NULL if none */
	uint64_t stmt_list;         /* DW_AT_stmt_list (have_stmt) */
	bool have_stmt;
	uint16_t tag;               /* the top DIE's */
	uint16_t lang;              /* DW_AT_language, 0 if none */
};

/* An attribute value as read, before indices and references are resolved. */
enum dw_class {
	DW_C_NONE, DW_C_ADDR, DW_C_ADDRX, DW_C_CONST, DW_C_SCONST, DW_C_STR, DW_C_STRP,
	DW_C_LINE_STRP, DW_C_STRP_ALT, DW_C_STRX, DW_C_REF, DW_C_REF_ALT, DW_C_SECOFF,
	DW_C_RNGLISTX, DW_C_FLAG, DW_C_OTHER,
};

struct dw_val {
	uint8_t cls;                /* enum dw_class */
	uint64_t u;                 /* value, offset, index, or section offset of a DIE */
	const char *s;              /* DW_C_STR: the string in .debug_info */
};

/* The attributes of one DIE that symbolization reads. */
struct dw_die {
	uint64_t off;               /* the DIE's section offset */
	uint16_t tag;
	bool children;
	struct dw_val low, high, ranges, entry, call_file, call_line, call_column, name,
		linkage, origin, spec, stmt, comp_dir, str_base, addr_base, rng_base,
		gnu_ranges_base, lang;
};

struct dw_range {
	uint64_t lo, hi;            /* [lo, hi) */
};

/* A growable array in scratch memory (mmap), for a parse's work lists. */
struct dw_vec {
	void *p;
	size_t n, cap, esz;
};

/* Room for one more element (zeroed), or NULL when mmap fails. */
void *dw_vec_push(struct dw_vec *v);
/* Room for `cap` elements without moving (untouched pages of the mapping
 * cost nothing, so a generous estimate avoids copies); false when mmap
 * fails. */
bool dw_vec_reserve(struct dw_vec *v, size_t cap);
void dw_vec_free(struct dw_vec *v);
/* A copy of the elements in the arena (NULL for none or on failure). */
void *dw_vec_to_arena(const struct dw_vec *v, struct sw_arena *a);

/* The unit of `f` that holds section offset `off`, or NULL. */
struct dw_unit *dw_unit_at(const struct dw_file *f, uint64_t off);

/* The unit whose header starts at `off`, or NULL. */
struct dw_unit *dw_unit_header(const struct dw_file *f, uint64_t off);

/* The unit's context, read and published once.  NULL when its abbreviations
 * or top DIE cannot be read (error counted) or memory ran out (*nomem). */
const struct dw_ctx *dw_ctx_get(const struct dw_file *f, struct dw_unit *u, bool *nomem);

/* The abbreviation with `code`, or NULL. */
const struct dw_abbrev *dw_abbrev_find(const struct dw_abbrevs *ab, uint64_t code);

/* Read the attributes of abbreviation `abv` at r's position into *die
 * (only the ones struct dw_die has); the reader's sticky error tells
 * failure. */
void dw_die_read(const struct dw_ctx *c, struct sw_reader *r, const struct dw_abbrev *abv,
		 struct dw_die *die);

/* Skip the attributes of `abv` at r's position. */
void dw_die_skip(const struct dw_ctx *c, struct sw_reader *r, const struct dw_abbrev *abv);

/* The string a value names, or NULL. */
const char *dw_val_str(const struct dw_ctx *c, const struct dw_val *v);

/* The address a value names; false when it has none. */
bool dw_val_addr(const struct dw_ctx *c, const struct dw_val *v, uint64_t *out);

/* Append the address ranges of `die` (low/high_pc or ranges) to `out`
 * (struct dw_range), empty and tombstone ranges left out.  Returns 0,
 * SW_ENOMEM, or a parse error of the range list (what it read stays). */
int dw_die_ranges(const struct dw_ctx *c, const struct dw_die *die, struct dw_vec *out);

/* The name of the subroutine `die` (read in context `c`): the linkage name
 * found along its abstract_origin / specification links, else the first
 * DW_AT_name; at most 16 DIEs are visited.  NULL when none.  Adds the
 * attributes it read to *work. */
const char *dw_die_name(const struct dw_ctx *c, const struct dw_die *die, bool *nomem,
			uint64_t *work, bool *linkage);

/* Count one error on the owner. */
void dw_error(const struct dw_file *f);

/* The owner's internals that dwarf_die.c uses. */
struct sw_arena *dw_arena(const struct dw_file *f);

#endif /* SW_SYMBOLIZE_DWARF_INT_H */
