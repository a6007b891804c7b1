/*
 * libFuzzer target: the symbolizer's DWARF readers (src/symbolize/dwarf.c
 * and line.c, through sw_dwarf_open and sw_dwarf_lookup).
 *
 * Input layout: a little-endian u32 count of sections present, then per
 * section a u8 id (0 info, 1 abbrev, 2 line, 3 line_str, 4 str,
 * 5 str_offsets, 6 addr, 7 ranges, 8 rnglists, 9 aranges; other ids are
 * the dwz alternate file's info (10) and str (11)), a u32 size and the
 * bytes.  A truncated entry ends the list.  Then every address named in
 * the last 64 bytes of the input (u32 values, plus each value's
 * neighbours) is looked up twice (the answers must be equal: a unit
 * parsed once is reused) with a small arena cap, so exhausting the cap is
 * exercised too.  fuzz/make_seeds.sh makes seeds from real binaries.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stackwalk.h"
#include "symbolize/dwarf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void same_frames(const struct sw_dwarf_frame *a, const struct sw_dwarf_frame *b, int n)
{
	for (int i = 0; i < n; i++) {
		CHECK(a[i].line == b[i].line && a[i].column == b[i].column);
		CHECK(a[i].low == b[i].low && a[i].inlined == b[i].inlined);
		CHECK((a[i].name == NULL) == (b[i].name == NULL));
		CHECK(!a[i].name || strcmp(a[i].name, b[i].name) == 0);
		CHECK((a[i].file == NULL) == (b[i].file == NULL));
		CHECK(!a[i].file || strcmp(a[i].file, b[i].file) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_dwarf_sections dw, alt;
	struct sw_bytes *slot[12] = { &dw.info, &dw.abbrev, &dw.line, &dw.line_str, &dw.str,
				      &dw.str_offsets, &dw.addr, &dw.ranges, &dw.rnglists,
				      &dw.aranges, &alt.info, &alt.str };
	memset(&dw, 0, sizeof(dw));
	memset(&alt, 0, sizeof(alt));
	if (size < 4)
		return 0;
	uint32_t count = rd32(data);
	size_t pos = 4;
	for (uint32_t i = 0; i < count && i < 32; i++) {
		if (size - pos < 5)
			break;
		uint8_t id = data[pos];
		uint32_t len = rd32(data + pos + 1);
		pos += 5;
		if (len > size - pos)
			len = (uint32_t)(size - pos);
		if (id < 12) {
			slot[id]->data = data + pos;
			slot[id]->size = len;
		}
		pos += len;
	}
	alt.abbrev = dw.abbrev;

	struct sw_arena arena;
	sw_arena_init(&arena, 64u << 20);
	struct sw_dwarf *d = NULL;
	bool have_alt = alt.info.size != 0;
	if (sw_dwarf_open(&dw, have_alt ? &alt : NULL, &arena, &d) == 0 && d) {
		size_t tail = size > 64 ? size - 64 : 0;
		for (size_t p = tail; p + 4 <= size; p += 4) {
			uint64_t addr = rd32(data + p);
			for (int k = -1; k <= 1; k++) {
				struct sw_dwarf_frame a[16], b[16];
				int n1 = sw_dwarf_lookup(d, addr + (uint64_t)k, a, 16);
				int n2 = sw_dwarf_lookup(d, addr + (uint64_t)k, b, 16);
				CHECK(n1 == n2 || n1 == SW_ENOMEM || n2 == SW_ENOMEM);
				if (n1 == n2 && n1 > 0)
					same_frames(a, b, n1 < 16 ? n1 : 16);
			}
		}
		struct sw_dwarf_counts c;
		sw_dwarf_counts(d, &c);
		CHECK(c.parsed <= c.units);
	}
	sw_arena_destroy(&arena);
	return 0;
}
