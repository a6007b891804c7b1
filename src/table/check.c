/*
 * Validating a compact table from an untrusted place (a file, another
 * process): after sw_table_check accepts a blob, sw_table_lookup reads only
 * inside it and terminates.  The check wants the exact layout
 * sw_table_build writes (header, rules, pages, rows, nothing else), so a
 * blob it accepts is one the builder could have made.
 */
#include <elf.h>
#include <string.h>

#include "table/table.h"

#if defined(__x86_64__)
#define TABLE_MACHINE EM_X86_64
#else
#error "stackwalk: the compact table has no packing for this architecture"
#endif

/* diag->section says what is wrong ("compact table: ..."): SW_EBADHDR's
 * own text speaks of .eh_frame_hdr. */
static int bad(struct sw_diag *diag, uint64_t off, int code, const char *why)
{
	if (diag) {
		diag->code = code;
		diag->section = why;
		diag->offset = off;
		diag->entry = 0;
	}
	return code;
}

#define OFF(field) ((uint64_t)offsetof(struct sw_table, field))

int sw_table_check(const void *blob, size_t size, struct sw_diag *diag)
{
	const struct sw_table *t = blob;
	const struct sw_compiled *rules;
	const uint32_t *pages, *rows;
	uint64_t want;
	uint32_t dwarf = 0, gap = 0;

	if (!blob)
		return bad(diag, 0, SW_EINVAL, "compact table: no blob");
	if ((uintptr_t)blob & 7)
		return bad(diag, 0, SW_EALIGN, "compact table: blob not 8-byte aligned");
	if (size < sizeof(*t))
		return bad(diag, size, SW_ETRUNCATED, "compact table: shorter than its header");
	if (t->magic != SW_TABLE_MAGIC)
		return bad(diag, OFF(magic), SW_EBADHDR, "compact table: bad magic");
	if (t->version != SW_TABLE_VERSION)
		return bad(diag, OFF(version), SW_EVERSION, "compact table: version");
	if (t->machine != TABLE_MACHINE)
		return bad(diag, OFF(machine), SW_EUNSUPPORTED, "compact table: another architecture");
	if (t->page_shift != SW_TABLE_PAGE_SHIFT)
		return bad(diag, OFF(page_shift), SW_EUNSUPPORTED, "compact table: page size");
	if (t->size > size)
		return bad(diag, size, SW_ETRUNCATED, "compact table: blob shorter than its size field");
	if (t->size != size)
		return bad(diag, OFF(size), SW_EBADHDR, "compact table: blob longer than its size field");
	if (t->lo & ((1u << SW_TABLE_PAGE_SHIFT) - 1))
		return bad(diag, OFF(lo), SW_EBADHDR, "compact table: start not page-aligned");
	if (t->nrules > SW_TABLE_MAX_RULES)
		return bad(diag, OFF(nrules), SW_EBADHDR, "compact table: too many rules");
	if (t->nrows > (1u << 30) || t->npages > (1u << 20))
		return bad(diag, OFF(nrows), SW_EBADHDR, "compact table: too many rows or pages");
	if (t->build_id_len > sizeof(t->build_id))
		return bad(diag, OFF(build_id_len), SW_EBADHDR, "compact table: build-id length");
	for (unsigned i = 0; i < sizeof(t->reserved) / sizeof(t->reserved[0]); i++)
		if (t->reserved[i])
			return bad(diag, OFF(reserved) + 4 * i, SW_EBADHDR, "compact table: reserved field not 0");
	/* the layout: header, rules, pages[npages + 1], rows, end */
	if (t->rules_off != sizeof(*t))
		return bad(diag, OFF(rules_off), SW_EBADHDR, "compact table: rules offset");
	want = (uint64_t)t->rules_off + (uint64_t)t->nrules * sizeof(struct sw_compiled);
	if (t->pages_off != want)
		return bad(diag, OFF(pages_off), SW_EBADHDR, "compact table: pages offset");
	want += ((uint64_t)t->npages + 1) * 4;
	if (t->rows_off != want)
		return bad(diag, OFF(rows_off), SW_EBADHDR, "compact table: rows offset");
	want += (uint64_t)t->nrows * 4;
	if (want != t->size)
		return bad(diag, OFF(size), SW_EBADHDR, "compact table: counts do not add up to its size");
	/* (the pages' addresses fit: npages <= 2^20) */

	rules = sw_table_rules(t);
	pages = sw_table_pages(t);
	rows = sw_table_rows(t);
	for (uint32_t i = 0; i < t->nrules; i++) {
		/* the builder stores what sw_compile_row makes: no source bits */
		if (sw_cr_source(&rules[i]) != 0)
			return bad(diag, t->rules_off + (uint64_t)i * sizeof(*rules), SW_EBADHDR,
				   "compact table: rule with source bits");
	}
	if (pages[0] != 0 || pages[t->npages] != t->nrows)
		return bad(diag, t->pages_off, SW_EBADHDR, "compact table: page index ends");
	for (uint32_t p = 0; p < t->npages; p++) {
		uint64_t at = t->pages_off + (uint64_t)(p + 1) * 4;
		if (pages[p + 1] < pages[p] || pages[p + 1] > t->nrows)
			return bad(diag, at, SW_EBADHDR, "compact table: page index decreases");
	}
	for (uint32_t p = 0; p < t->npages; p++) {
		/* rows of the page: offsets strictly increasing, kinds valid,
		 * no rule repeated by the next row */
		for (uint32_t r = pages[p]; r < pages[p + 1]; r++) {
			uint32_t kind = rows[r] & SW_TABLE_RULE_MASK;
			uint64_t rat = t->rows_off + (uint64_t)r * 4;
			if (kind != SW_TABLE_GAP && kind != SW_TABLE_DWARF && kind >= t->nrules)
				return bad(diag, rat, SW_EBADHDR, "compact table: row with a bad rule index");
			if (r > pages[p] && (rows[r] >> SW_TABLE_RULE_BITS) <= (rows[r - 1] >> SW_TABLE_RULE_BITS))
				return bad(diag, rat, SW_EBADHDR, "compact table: rows out of order");
			if (r > 0 && kind == (rows[r - 1] & SW_TABLE_RULE_MASK))
				return bad(diag, rat, SW_EBADHDR, "compact table: row repeats a rule");
			dwarf += kind == SW_TABLE_DWARF;
			gap += kind == SW_TABLE_GAP;
		}
	}
	/* the last row ends the table: a gap (the builder's); the first page
	 * starts with a row (else lo would be higher) */
	if (t->nrows && (rows[t->nrows - 1] & SW_TABLE_RULE_MASK) != SW_TABLE_GAP)
		return bad(diag, t->rows_off + (uint64_t)(t->nrows - 1) * 4, SW_EBADHDR,
			   "compact table: last row not a gap");
	if (t->nrows && pages[1] == 0)
		return bad(diag, t->pages_off + 4, SW_EBADHDR, "compact table: first page empty");
	if (!t->nrows && t->npages)
		return bad(diag, OFF(npages), SW_EBADHDR, "compact table: pages without rows");
	if (dwarf != t->dwarf_rows)
		return bad(diag, OFF(dwarf_rows), SW_EBADHDR, "compact table: DWARF row count");
	if (gap != t->gap_rows)
		return bad(diag, OFF(gap_rows), SW_EBADHDR, "compact table: gap row count");
	if (t->bad_fdes > t->fdes)
		return bad(diag, OFF(bad_fdes), SW_EBADHDR, "compact table: bad FDE count");
	return 0;
}
