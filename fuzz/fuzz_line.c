/*
 * libFuzzer target: DWARF line programs (.debug_line, src/symbolize/line.c).
 *
 * Input layout:
 *   byte 0      flags
 *     bit 0       address size 4 instead of 8
 *     bit 1       no DW_AT_comp_dir (NULL) instead of "/comp"
 *   bytes 1-2   string section length S (LE), clamped to what is left
 *   S bytes     .debug_line_str (also given as .debug_str)
 *   the rest    .debug_line
 * Every program reachable from offset 0 by walking the unit lengths is
 * parsed (at most MAX_UNITS); each table's rows are checked to be in
 * address order, every row is looked up again (sw_line_lookup must find
 * a row at that address unless it ends a sequence), and every file path
 * is read.  The sections are copied into buffers of their exact size so
 * ASan sees any overread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"
#include "symbolize/line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_UNITS 64            /* programs parsed per input */
#define ARENA_CAP (32u << 20)   /* the library bounds memory by input size; this catches leaks of that bound */

static void check_table(const struct sw_line_table *t)
{
	volatile size_t sink = 0;

	for (size_t i = 0; i < t->nrows; i++) {
		const struct sw_line_row *r = &t->rows[i], *got;
		if (i > 0 && r->addr < t->rows[i - 1].addr)
			abort();        /* line.h: sequences sorted, rows nondecreasing */
		size_t last = i;
		while (last + 1 < t->nrows && t->rows[last + 1].addr == r->addr)
			last++;
		int err = sw_line_lookup(t, r->addr, &got);
		/* covered unless the last row at that address ends a sequence,
		 * and then by that last row */
		if ((err == 0) != !t->rows[last].end_sequence)
			abort();
		if (err == 0 && got != &t->rows[last])
			abort();
	}
	if (t->nrows && !t->rows[t->nrows - 1].end_sequence)
		abort();                /* every sequence is closed */
	for (uint64_t i = 0; i <= (uint64_t)t->nfiles + 1; i++) {
		const char *f = sw_line_file(t, i);
		if (f)
			sink += strlen(f);
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_dwarf_sections dw;
	uint8_t *strs = NULL, *line = NULL;
	size_t nstr, nline;
	uint8_t flags;

	if (size < 3)
		return 0;
	flags = data[0];
	nstr = (size_t)data[1] | (size_t)data[2] << 8;
	data += 3;
	size -= 3;
	if (nstr > size)
		nstr = size;
	nline = size - nstr;
	if (nstr) {
		strs = malloc(nstr);
		memcpy(strs, data, nstr);
	}
	if (nline) {
		line = malloc(nline);
		memcpy(line, data + nstr, nline);
	}
	memset(&dw, 0, sizeof(dw));
	dw.line_str.data = strs;
	dw.line_str.size = nstr;
	dw.str = dw.line_str;
	dw.line.data = line;
	dw.line.size = nline;

	uint64_t off = 0;
	for (int k = 0; k < MAX_UNITS && off < nline; k++) {
		struct sw_arena a;
		struct sw_line_table t;

		sw_arena_init(&a, ARENA_CAP);
		sw_line_parse(&dw, off, flags & 2 ? NULL : "/comp", "x.c", flags & 1 ? 4 : 8, &a, &t);
		/* *out is a valid (maybe partial or empty) table whatever the result */
		check_table(&t);
		sw_arena_destroy(&a);

		/* the next program, as a walker of the section finds it */
		uint64_t len, hdr = 4;
		if (nline - off < 4)
			break;
		len = (uint64_t)line[off] | (uint64_t)line[off + 1] << 8 |
		      (uint64_t)line[off + 2] << 16 | (uint64_t)line[off + 3] << 24;
		if (len == 0xffffffffu) {
			if (nline - off < 12)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len |= (uint64_t)line[off + 4 + i] << (8 * i);
			hdr = 12;
		}
		if (len > nline - off - hdr)
			break;
		off += hdr + len;
	}
	free(strs);
	free(line);
	return 0;
}
