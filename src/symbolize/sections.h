/*
 * The DWARF sections a symbolizer reads, as byte ranges (already
 * decompressed: src/symbolize/file.c).  A missing section has data NULL
 * and size 0.
 */
#ifndef SW_SYMBOLIZE_SECTIONS_H
#define SW_SYMBOLIZE_SECTIONS_H

#include <stddef.h>
#include <stdint.h>

struct sw_bytes {
	const uint8_t *data;
	size_t size;
};

struct sw_dwarf_sections {
	struct sw_bytes info;        /* .debug_info */
	struct sw_bytes abbrev;      /* .debug_abbrev */
	struct sw_bytes line;        /* .debug_line */
	struct sw_bytes line_str;    /* .debug_line_str (DWARF 5) */
	struct sw_bytes str;         /* .debug_str */
	struct sw_bytes str_offsets; /* .debug_str_offsets (DWARF 5) */
	struct sw_bytes addr;        /* .debug_addr (DWARF 5) */
	struct sw_bytes ranges;      /* .debug_ranges (DWARF 2-4) */
	struct sw_bytes rnglists;    /* .debug_rnglists (DWARF 5) */
	struct sw_bytes aranges;     /* .debug_aranges */
};

#endif /* SW_SYMBOLIZE_SECTIONS_H */
