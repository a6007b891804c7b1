/*
 * libFuzzer target: the compact unwind tables (src/table): building one
 * from fuzzed CFI, looking addresses up in it against the interpreter,
 * and sw_table_check on fuzzed blobs.
 *
 * Input layout: fuzz/cfi_input.h (fuzz_cfi's, so its corpus seeds this
 * one), where bit 7 of the flags means: the rest is a table blob
 * (sw_table_check, then lookups when it is accepted); and with bit 1 set
 * the table's bias is the section's vaddr (module-relative addresses),
 * else 0.
 * With a header whose table parses, the table is built through it (and
 * compared with sw_cfi_find_fde_hdr), else by scanning the section (and
 * compared with sw_cfi_find_fde_linear).  A table the builder returns must
 * pass sw_table_check; at a few addresses per FDE its answer must agree
 * with the interpreter's (a hit: the same compiled rule; no FDE: NONE;
 * an error: FALLBACK), up to what table.h allows the builder (DWARF rows
 * where FDEs overlap without a header).  Buffers are exact-size heap
 * copies so ASan sees any overread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"
#include "table/table.h"
#include "cfi_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FDES 64          /* FDEs probed against the interpreter */
#define MAX_ENTRIES 1024

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Lookups all over a table sw_table_check accepted. */
static void probe(const struct sw_table *t, uint64_t salt)
{
	const uint32_t *pages = sw_table_pages(t), *rows = sw_table_rows(t);
	struct sw_compiled r;
	uint64_t end;

	for (unsigned i = 0; i < 64; i++) {
		uint64_t span = ((uint64_t)t->npages + 2) << SW_TABLE_PAGE_SHIFT;
		uint64_t a = t->lo - 4096 + mix(salt + i) % span;
		end = 0;
		int k = sw_table_lookup(t, a, &r, &end);
		CHECK(k == SW_TABLE_HIT || k == SW_TABLE_NONE || k == SW_TABLE_FALLBACK);
		if (k != SW_TABLE_NONE)
			CHECK(end > a);
	}
	/* every row's start finds that row */
	for (uint32_t p = 0; p < t->npages && p < 4096; p++) {
		for (uint32_t i = pages[p]; i < pages[p + 1]; i++) {
			uint64_t at = t->lo + ((uint64_t)p << SW_TABLE_PAGE_SHIFT) +
				      (rows[i] >> SW_TABLE_RULE_BITS);
			uint32_t kind = rows[i] & SW_TABLE_RULE_MASK;
			int k = sw_table_lookup(t, at, &r, &end);
			if (kind == SW_TABLE_GAP)
				CHECK(k == SW_TABLE_NONE);
			else if (kind == SW_TABLE_DWARF)
				CHECK(k == SW_TABLE_FALLBACK);
			else
				CHECK(k == SW_TABLE_HIT && r.w0 == sw_table_rules(t)[kind].w0);
		}
	}
}

static void blob(const uint8_t *data, size_t size)
{
	/* 8-aligned exact-size copy (malloc aligns to 16) */
	uint8_t *copy = malloc(size ? size : 1);
	struct sw_diag diag;

	if (!copy)
		return;
	memcpy(copy, data, size);
	memset(&diag, 0, sizeof(diag));
	if (sw_table_check(copy, size, &diag) == 0)
		probe((const struct sw_table *)(const void *)copy, size);
	else
		CHECK(diag.code < 0 && diag.section != NULL);
	free(copy);
}

/* The interpreter's answer at pc (sw_table_reference); *lookup_failed
 * when the FDE search itself failed. */
static int interp(const struct sw_cfi_section *sec, const struct sw_eh_hdr *hdr, uint64_t pc,
		  struct sw_compiled *rule, bool *lookup_failed)
{
	int rc, res = sw_table_reference(sec, hdr, pc, rule, NULL, &rc);

	*lookup_failed = rc < 0 && rc != SW_ENOTFOUND;
	return res;
}

static void compare(const struct sw_cfi_section *sec, const struct sw_eh_hdr *hdr,
		    const struct sw_table *t, uint64_t bias, uint64_t pc)
{
	struct sw_compiled want = { 0, 0 }, got = { 0, 0 };
	bool lookup_failed;
	int ki = interp(sec, hdr, pc, &want, &lookup_failed);
	int kt = sw_table_lookup(t, pc - bias, &got, NULL);

	if (ki == kt) {
		if (ki == SW_TABLE_HIT)
			CHECK(want.w0 == got.w0 && want.w1 == got.w1);
		return;
	}
	/* without a header, addresses two FDEs may cover go to the
	 * interpreter */
	if (!hdr && ki == SW_TABLE_HIT && kt == SW_TABLE_FALLBACK)
		return;
	/* with a header, an unreadable last entry's FDE: errors above its
	 * start, which the table marks for one byte only */
	if (hdr && lookup_failed && kt == SW_TABLE_NONE)
		return;
	CHECK(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	const struct sw_eh_hdr *use_hdr = NULL;
	struct sw_table_src src;
	struct sw_table *t = NULL;
	struct sw_diag diag;
	struct cfi_input in;
	const uint8_t *hbytes = NULL;
	size_t hsize = 0;
	int64_t hdelta = 0;
	uint8_t flags, *copy, *hcopy = NULL;
	int rc;

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	if (flags & 0x80) {
		blob(data, size);
		return 0;
	}
	if (!cfi_input_parse(&in, flags, data, size, &sec))
		return 0;
	copy = in.copy;
	size = in.size;
	hbytes = in.hbytes;
	hsize = in.hsize;
	hdelta = in.hdelta;
	if (hbytes) {
		hcopy = malloc(hsize ? hsize : 1);
		if (!hcopy) {
			free(copy);
			return 0;
		}
		memcpy(hcopy, hbytes, hsize);
		uint64_t hvaddr = sec.vaddr + (uint64_t)hdelta;
		if (sw_eh_hdr_parse(&hdr, hcopy, hsize, hvaddr, NULL) == 0 && hdr.table) {
			use_hdr = &hdr;
			if (!(flags & 0x10))
				sec.datarel = hvaddr;
		}
	}
	memset(&src, 0, sizeof(src));
	src.sec = &sec;
	src.hdr = use_hdr;
	src.bias = (flags & 2) ? sec.vaddr : 0;
	memset(&diag, 0, sizeof(diag));
	rc = sw_table_build(&src, &t, &diag);
	if (rc < 0) {
		char msg[160];
		CHECK(t == NULL && diag.code == rc);
		sw_diag_format(&diag, msg, sizeof(msg));
		goto out;
	}
	CHECK(rc == 0 && t != NULL);
	CHECK(sw_table_check(t, t->size, NULL) == 0);
	CHECK(t->dwarf_rows + t->gap_rows <= t->nrows);
	probe(t, size);

	/* the interpreter at a few addresses of each FDE */
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0;
	unsigned n = 0, nf = 0;
	while (n++ < MAX_ENTRIES && nf < MAX_FDES && sw_cfi_entry_at(&sec, off, &ent, NULL) == 0) {
		if (ent.kind == SW_CFI_ZERO && sec.is_eh)
			break;
		if (ent.kind == SW_CFI_FDE && sw_cfi_parse_fde(&sec, off, &fde, &cie, NULL) == 0) {
			uint64_t range = fde.pc_end - fde.pc_begin;
			nf++;
			compare(&sec, use_hdr, t, src.bias, fde.pc_begin);
			if (fde.pc_begin)
				compare(&sec, use_hdr, t, src.bias, fde.pc_begin - 1);
			compare(&sec, use_hdr, t, src.bias, fde.pc_end);
			if (range) {
				compare(&sec, use_hdr, t, src.bias, fde.pc_end - 1);
				compare(&sec, use_hdr, t, src.bias, fde.pc_begin + mix(off) % range);
			}
		}
		off = ent.end;
	}
	/* and the table's blob, with one byte changed, through the checker */
	if (t->size) {
		uint8_t *b = malloc(t->size);
		if (b) {
			memcpy(b, t, t->size);
			b[mix(size) % t->size] ^= (uint8_t)(1u << (flags & 7));
			if (sw_table_check(b, t->size, NULL) == 0)
				probe((const struct sw_table *)(const void *)b, flags);
			free(b);
		}
	}
	sw_table_free(t);
out:
	free(hcopy);
	free(copy);
	return 0;
}
