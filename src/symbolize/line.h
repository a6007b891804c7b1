/*
 * DWARF line tables (.debug_line versions 2 to 5): one unit's line
 * program decoded into rows sorted by address, and its file names joined
 * with their directories and the unit's DW_AT_comp_dir.
 *
 * Untrusted input: a malformed program gives an error code, never a crash
 * or a hang; every byte is read through src/dwarf/reader.h.  Memory comes
 * from the caller's arena (arena.h).
 *
 * Thread-safety: a parsed table is immutable.  Async-signal-safe: yes (no
 * malloc, no lock: arena allocations only).
 */
#ifndef SW_SYMBOLIZE_LINE_H
#define SW_SYMBOLIZE_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize/arena.h"
#include "symbolize/sections.h"

struct sw_line_row {
	uint64_t addr;
	uint32_t file;          /* file index as the program numbers it */
	uint32_t line;          /* 0: no line */
	uint16_t column;        /* 0: no column */
	uint8_t end_sequence;   /* 1: first address after a sequence (no source) */
	uint8_t pad;
};

struct sw_line_table {
	const struct sw_line_row *rows;  /* sequences sorted by start address;
					  * rows of a sequence in program order
					  * (nondecreasing addresses), each
					  * sequence closed by an end_sequence row */
	size_t nrows;
	const char *const *files;        /* [index] -> path ("dir/name", absolute
					  * when comp_dir or the directory is),
					  * NULL for index 0 before DWARF 5 */
	uint32_t nfiles;
	uint16_t version;
	/* rows[i * SW_LINE_SPARSE].addr for every i: a lookup searches this
	 * small array first (it stays in cache), then one block of rows;
	 * NULL when memory ran out (a plain binary search then) */
	const uint64_t *sparse;
	size_t nsparse;
};

#define SW_LINE_SPARSE 32

/*
 * Decode the line program at `offset` in dw->line for a unit whose
 * DW_AT_comp_dir is `comp_dir` and DW_AT_name `cu_name` (either may be
 * NULL), with address size `addr_size` (4 or 8).  Reads dw->line_str and
 * dw->str for DW_FORM_line_strp/strp.  Sequences that start at address 0
 * while the unit's other sequences do not (functions the linker dropped)
 * are left out.
 * Returns 0 and fills *out, SW_ENOMEM (arena cap), or a parse error
 * (SW_ETRUNCATED, SW_EVERSION, SW_ELENGTH, SW_EBADOP...).
 */
int sw_line_parse(const struct sw_dwarf_sections *dw, uint64_t offset, const char *comp_dir,
		  const char *cu_name, uint8_t addr_size, struct sw_arena *a,
		  struct sw_line_table *out);

/*
 * The row that covers `addr`: in the sequence whose [first row, end row)
 * contains addr, the last row with row.addr <= addr (among rows at the
 * same address, the last one, as llvm-symbolizer and addr2line pick).
 * Returns 0 and sets *row, or SW_ENOTFOUND.  O(log n).
 */
int sw_line_lookup(const struct sw_line_table *t, uint64_t addr, const struct sw_line_row **row);

/* The path of file `index`, or NULL when out of range. */
const char *sw_line_file(const struct sw_line_table *t, uint64_t index);

#endif /* SW_SYMBOLIZE_LINE_H */
