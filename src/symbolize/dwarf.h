/*
 * DWARF debugging information (.debug_info, versions 2 to 5) for
 * symbolization: for an address, the chain of functions and inlined
 * calls that contain it, with file:line:column from the line table.
 *
 * Cost model (huge binaries): sw_dwarf_open builds only an address ->
 * compilation unit index (from .debug_aranges when it covers the units,
 * else from each unit's top DIE: DW_AT_low_pc/high_pc/ranges; a unit with
 * no ranges is indexed by its functions' ranges when first needed).  A unit is parsed when an address first falls in it:
 * its DIE tree once, into a sorted table of subprogram ranges each with
 * its tree of inlined_subroutine ranges, and its line table (line.h).
 * Nothing is parsed twice; units are published with release/acquire, so
 * two threads that race parse twice and one result is kept.
 *
 * Names: DW_AT_linkage_name (or DW_AT_MIPS_linkage_name) when present,
 * else DW_AT_name, following DW_AT_specification and
 * DW_AT_abstract_origin chains (at most 16 links, so loops end), across
 * units (DW_FORM_ref_addr) and into the dwz alternate file
 * (DW_FORM_GNU_ref_alt / DW_FORM_ref_sup4/8, DW_FORM_GNU_strp_alt /
 * DW_FORM_strp_sup).
 *
 * Forms: all of DWARF 5's, including DW_FORM_strx*, addrx*, rnglistx,
 * loclistx, implicit_const, data16, and DW_AT_ranges through
 * .debug_ranges (2-4) or .debug_rnglists (5) with base addresses.
 * Units of type DW_UT_compile and DW_UT_partial are read (type units and
 * skeleton/split units are skipped).
 *
 * Untrusted input: every read through src/dwarf/reader.h; a malformed
 * unit gives an error (counted) and the lookup answers from what it could
 * read; never a crash, a hang or unbounded memory.
 *
 * Thread-safety: sw_dwarf_lookup may run in any number of threads and
 * signal handlers at once.  Async-signal-safe: yes (arena memory only).
 */
#ifndef SW_SYMBOLIZE_DWARF_H
#define SW_SYMBOLIZE_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize/arena.h"
#include "symbolize/sections.h"

struct sw_dwarf;

/*
 * Index the units of `dw` (the file's sections) with `alt` the dwz
 * alternate file's sections (NULL when there is none).  The sections must
 * stay mapped while the result is used.  Memory from `a`.
 * Returns 0 and sets *out (an index with no units is fine), SW_ENOMEM, or
 * a parse error when the unit headers cannot be walked at all.
 */
int sw_dwarf_open(const struct sw_dwarf_sections *dw, const struct sw_dwarf_sections *alt,
		  struct sw_arena *a, struct sw_dwarf **out);

struct sw_dwarf_frame {
	const char *name;       /* linkage name if any, else DW_AT_name; NULL if none */
	const char *file;       /* NULL when unknown */
	uint32_t line;          /* 0 when unknown */
	uint32_t column;        /* 0 when unknown */
	uint64_t low;           /* the subprogram's entry: DW_AT_entry_pc, low_pc
				 * or its first range's start; when addr is in
				 * another of its ranges ("name.cold"), that
				 * range's start; for an inlined level the start
				 * of the range holding addr */
	bool inlined;           /* this level was inlined into the next one */
	bool linkage;           /* the outermost level: name is the linkage name
				 * (DW_AT_linkage_name on the chain, or a language
				 * whose names are not mangled); when false a
				 * symbol at the address names it better */
};

/*
 * The frames at `addr` (a link-time address), innermost first: the
 * innermost inlined_subroutine (file:line:column from the line table),
 * ... , the subprogram (file:line:column of the call site of the level it
 * contains).  Each inlined level's location is its caller's call site
 * (DW_AT_call_file/line/column of the inlined_subroutine DIE).
 * Fills out[0..min(n, max)-1].
 * Returns n: the number of levels (may exceed max); 1 with name NULL when
 * a unit covers addr with a line but no function does; 0 when no unit
 * covers addr; SW_ENOMEM when the arena cap stopped the unit's parse.
 */
int sw_dwarf_lookup(struct sw_dwarf *d, uint64_t addr, struct sw_dwarf_frame *out, int max);

struct sw_dwarf_counts {
	uint64_t units;          /* units in the index */
	uint64_t parsed;         /* units parsed so far */
	uint64_t errors;         /* units or line tables rejected */
};

void sw_dwarf_counts(const struct sw_dwarf *d, struct sw_dwarf_counts *out);

#endif /* SW_SYMBOLIZE_DWARF_H */
