/*
 * The DWARF writer (src/dwarf/writer.h) against the reader
 * (src/dwarf/reader.h): every value written reads back the same (LEB128
 * edges, fixed sizes, every pointer form at several field addresses), the
 * range rule is exactly "fits when it reads back" (checked by reading a
 * value one past each edge), the measuring mode counts what a real write
 * produces, and a short buffer is a sticky SW_ETRUNCATED.
 */
#include <stdint.h>
#include <string.h>

#include "../harness.h"
#include <stackwalk.h>

#include "dwarf/reader.h"
#include "dwarf/writer.h"

static const uint64_t uvals[] = {
	0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xffff,
	0x10000, 0x7fffffff, 0x80000000u, 0xffffffffu, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, 0xfffffffffffffffeull, 0xffffffffffffffffull,
};
#define NV (sizeof(uvals) / sizeof(uvals[0]))

TEST(leb128_round_trip)
{
	for (size_t i = 0; i < NV; i++) {
		for (int neg = 0; neg < 2; neg++) {
			uint64_t u = neg ? 0 - uvals[i] : uvals[i];
			uint8_t buf[2 * SW_LEB128_MAX];
			struct sw_writer w;
			struct sw_reader r;
			sw_wr_init(&w, buf, sizeof(buf), 0);
			CHECK_EQ(sw_wr_uleb(&w, u), 0);
			CHECK_EQ(sw_wr_sleb(&w, (int64_t)u), 0);
			sw_rd_init(&r, buf, w.pos, 0, "test");
			CHECK(sw_rd_uleb(&r) == u);
			CHECK(sw_rd_sleb(&r) == (int64_t)u);
			CHECK_EQ(r.err, 0);
			CHECK(r.pos == r.end);
		}
	}
	/* the canonical shortest forms */
	uint8_t o[SW_LEB128_MAX];
	CHECK_EQ(sw_uleb_encode(o, 127), 1);
	CHECK_EQ(sw_uleb_encode(o, 128), 2);
	CHECK_EQ(sw_sleb_encode(o, 63), 1);
	CHECK_EQ(sw_sleb_encode(o, 64), 2);
	CHECK_EQ(sw_sleb_encode(o, -64), 1);
	CHECK_EQ(sw_sleb_encode(o, -65), 2);
	CHECK_EQ(sw_uleb_encode(o, UINT64_MAX), 10);
	CHECK_EQ(sw_sleb_encode(o, INT64_MIN), 10);
}

TEST(fixed_and_strings)
{
	uint8_t buf[64];
	struct sw_writer w;
	struct sw_reader r;

	sw_wr_init(&w, buf, sizeof(buf), 0x1000);
	sw_wr_u8(&w, 0xab);
	sw_wr_u16(&w, 0xbeef);
	sw_wr_u32(&w, 0xdeadbeef);
	sw_wr_u64(&w, 0x0123456789abcdefull);
	sw_wr_cstr(&w, "eh");
	sw_wr_u32(&w, 0);
	sw_wr_patch_u32(&w, w.pos - 4, 0x11223344);
	CHECK_EQ(sw_wr_finish(&w), 1 + 2 + 4 + 8 + 3 + 4);
	/* little-endian whatever the host: the bytes themselves */
	CHECK_EQ(buf[1], 0xef);
	CHECK_EQ(buf[2], 0xbe);
	sw_rd_init(&r, buf, w.pos, 0x1000, "test");
	CHECK_EQ(sw_rd_u8(&r), 0xab);
	CHECK_EQ(sw_rd_u16(&r), 0xbeef);
	CHECK_EQ(sw_rd_u32(&r), 0xdeadbeef);
	CHECK(sw_rd_u64(&r) == 0x0123456789abcdefull);
	CHECK_STR(sw_rd_cstr(&r), "eh");
	CHECK_EQ(sw_rd_u32(&r), 0x11223344);
	CHECK_EQ(r.err, 0);
}

static const uint8_t forms[] = {
	SW_PE_absptr, SW_PE_uleb128, SW_PE_udata2, SW_PE_udata4, SW_PE_udata8,
	SW_PE_sleb128, SW_PE_sdata2, SW_PE_sdata4, SW_PE_sdata8,
};

/* Write value in enc at field address `here`; when it fits, read it back
 * and compare.  Returns the writer's verdict (length or error). */
static int round_trip(uint8_t enc, uint64_t value, uint64_t here)
{
	uint8_t field[SW_LEB128_MAX];
	struct sw_ptr_ctx ctx = { .addr_size = 8 };
	struct sw_reader r;
	int n = sw_pe_encode(field, enc, value, here);

	if (n > 0) {
		sw_rd_init(&r, field, (size_t)n, here, "test");
		uint64_t back = sw_rd_encoded(&r, enc, &ctx);
		CHECK_EQ(r.err, 0);
		CHECK(back == value);
		CHECK(r.pos == r.end);
	}
	return n;
}

/* The quantity stored for value at here, and whether the reader could
 * give it back from a field of the form. */
static bool fits(uint8_t enc, uint64_t value, uint64_t here)
{
	uint64_t d = (enc & 0x70) == SW_PE_pcrel ? value - here : value;
	int64_t sd = (int64_t)d;

	switch (enc & 0x0f) {
	case SW_PE_udata2: return d <= UINT16_MAX;
	case SW_PE_sdata2: return sd >= INT16_MIN && sd <= INT16_MAX;
	case SW_PE_udata4: return d <= UINT32_MAX;
	case SW_PE_sdata4: return sd >= INT32_MIN && sd <= INT32_MAX;
	default: return true;
	}
}

TEST(pointers_round_trip_and_range)
{
	static const uint64_t heres[] = { 0, 0x1000, 0x7fff0000, 0x555555554000ull,
					  0xfffffffffffff000ull };
	static const int64_t deltas[] = { 0, 1, -1, 0x7fff, 0x8000, -0x8000, -0x8001, 0xffff,
					  0x10000, INT32_MAX, (int64_t)INT32_MAX + 1, INT32_MIN,
					  (int64_t)INT32_MIN - 1, UINT32_MAX, (int64_t)UINT32_MAX + 1,
					  INT64_MAX, INT64_MIN };
	int checked = 0;

	for (size_t f = 0; f < sizeof(forms); f++)
		for (int app = 0; app < 2; app++)
			for (size_t h = 0; h < sizeof(heres) / sizeof(heres[0]); h++)
				for (size_t k = 0; k < sizeof(deltas) / sizeof(deltas[0]); k++) {
					uint8_t enc = (uint8_t)(forms[f] | (app ? SW_PE_pcrel : 0));
					uint64_t here = heres[h];
					/* absolute: the delta is the value itself */
					uint64_t value = app ? here + (uint64_t)deltas[k] : (uint64_t)deltas[k];
					int n = round_trip(enc, value, here);
					if (fits(enc, value, here)) {
						CHECK(n > 0);
						if (n <= 0)
							printf("    enc %#x value %#llx here %#llx: %d\n", enc,
							       (unsigned long long)value,
							       (unsigned long long)here, n);
					} else {
						CHECK_EQ(n, SW_ERANGE);
					}
					checked++;
				}
	CHECK(checked > 1000);
	/* indirect: the slot's address is what is written */
	CHECK_EQ(round_trip(SW_PE_absptr, 0x1234, 0), 8);
	uint8_t o[SW_LEB128_MAX];
	CHECK_EQ(sw_pe_encode(o, SW_PE_indirect | SW_PE_pcrel | SW_PE_sdata4, 0x2000, 0x1000), 4);
	/* what the writer does not produce */
	CHECK_EQ(sw_pe_encode(o, SW_PE_omit, 0, 0), SW_EUNSUPPORTED);
	CHECK_EQ(sw_pe_encode(o, SW_PE_datarel | SW_PE_sdata4, 0, 0), SW_EUNSUPPORTED);
	CHECK_EQ(sw_pe_encode(o, SW_PE_textrel | SW_PE_udata4, 0, 0), SW_EUNSUPPORTED);
	CHECK_EQ(sw_pe_encode(o, SW_PE_funcrel | SW_PE_udata4, 0, 0), SW_EUNSUPPORTED);
	CHECK_EQ(sw_pe_encode(o, SW_PE_aligned, 0, 0), SW_EUNSUPPORTED);
	CHECK_EQ(sw_pe_encode(o, 0x05, 0, 0), SW_EUNSUPPORTED);
}

/* One DWARF-ish record through a writer: measuring and writing must
 * agree on every position. */
static int record(struct sw_writer *w, uint64_t pers)
{
	size_t start = w->pos;

	sw_wr_u32(w, 0);
	sw_wr_cstr(w, "zPR");
	sw_wr_uleb(w, 1);
	sw_wr_sleb(w, -8);
	sw_wr_u8(w, SW_PE_pcrel | SW_PE_sdata4);
	sw_wr_encoded(w, SW_PE_pcrel | SW_PE_sdata4, pers);
	sw_wr_encoded(w, SW_PE_pcrel | SW_PE_uleb128, pers);
	sw_wr_encoded(w, SW_PE_udata8, pers);
	sw_wr_patch_u32(w, start, (uint32_t)(w->pos - start - 4));
	return sw_wr_finish(w);
}

TEST(measuring_mode)
{
	uint8_t buf[128];
	struct sw_writer m, w;
	uint64_t base = (uint64_t)(uintptr_t)buf;

	/* the same vaddr: a LEB128 pc-relative field's length depends on it */
	sw_wr_init(&m, NULL, 0, base);
	CHECK(sw_wr_measuring(&m));
	int need = record(&m, base + 0x40);
	sw_wr_init(&w, buf, sizeof(buf), base);
	CHECK(!sw_wr_measuring(&w));
	CHECK_EQ(record(&w, base + 0x40), need);
	CHECK_EQ(m.pos, w.pos);

	/* measuring checks no range for fixed-size fields (the addresses
	 * are placeholders), but the real write does */
	uint64_t far = base + (1ull << 40);
	sw_wr_init(&m, NULL, 0, base);
	CHECK(record(&m, far) > 0);
	sw_wr_init(&w, buf, sizeof(buf), base);
	CHECK_EQ(record(&w, far), SW_ERANGE);
	/* the error sticks and nothing more is written */
	size_t at = w.pos;
	CHECK_EQ(sw_wr_u32(&w, 1), SW_ERANGE);
	CHECK_EQ(sw_wr_encoded(&w, SW_PE_udata8, 1), SW_ERANGE);
	CHECK(w.pos == at + 4);
	/* the encoded pointer reads back in the real write */
	sw_wr_init(&w, buf, sizeof(buf), base);
	CHECK(record(&w, base + 0x40) > 0);
	struct sw_reader r;
	struct sw_ptr_ctx ctx = { .addr_size = 8 };
	sw_rd_init(&r, buf, w.pos, base, "test");
	sw_rd_u32(&r);
	sw_rd_cstr(&r);
	sw_rd_uleb(&r);
	sw_rd_sleb(&r);
	uint8_t enc = sw_rd_u8(&r);
	CHECK(sw_rd_encoded(&r, enc, &ctx) == base + 0x40);
	CHECK(sw_rd_encoded(&r, SW_PE_pcrel | SW_PE_uleb128, &ctx) == base + 0x40);
	CHECK(sw_rd_encoded(&r, SW_PE_udata8, &ctx) == base + 0x40);
	CHECK_EQ(r.err, 0);
}

TEST(short_buffer)
{
	uint8_t buf[6] = { 0 };
	struct sw_writer w;

	sw_wr_init(&w, buf, 5, 0);
	CHECK_EQ(sw_wr_u32(&w, 0x01020304), 0);
	CHECK_EQ(sw_wr_u16(&w, 0xffff), SW_ETRUNCATED);       /* would end at 6 */
	CHECK_EQ(buf[4], 0);                                    /* nothing written */
	CHECK_EQ(sw_wr_u8(&w, 7), SW_ETRUNCATED);               /* sticky, though it fits */
	CHECK_EQ(buf[4], 0);
	CHECK_EQ(w.pos, 7);                                     /* still counts: what it needs */
	CHECK_EQ(sw_wr_finish(&w), SW_ETRUNCATED);
	sw_wr_patch_u32(&w, 4, 0xffffffff);                     /* past the end: ignored */
	CHECK_EQ(buf[4], 0);
	CHECK_EQ(buf[5], 0);
	/* exactly full is fine */
	sw_wr_init(&w, buf, 4, 0);
	CHECK_EQ(sw_wr_u32(&w, 9), 0);
	CHECK_EQ(sw_wr_finish(&w), 4);
}

SW_TEST_MAIN
