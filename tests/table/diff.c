/*
 * Differential check of the compact tables (src/table) against the full
 * DWARF interpreter, for tests/scripts/table.sh:
 *
 *   diff [--bytes LIMIT] FILE...
 *
 * For each ELF file, a table is built from its .eh_frame (through its
 * .eh_frame_hdr when it has a usable one) and one from its .debug_frame
 * (when it has an uncompressed one), and sw_table_check must accept each.
 * Then, for every FDE of the section, addresses are looked up in the
 * table and answered by the interpreter the way the unwinder answers them
 * (the FDE through sw_cfi_find_fde_hdr, or the linear scan without a
 * header; sw_cfa_row_at; sw_compile_row):
 *
 *   interpreter: no FDE          -> the table must say NONE
 *   interpreter: a compiled rule -> HIT with exactly that rule
 *   interpreter: an error, a row sw_compile_row refuses, a signal frame
 *                                -> FALLBACK
 *
 * (without a header the builder also sends addresses under two FDEs, and
 * the nested FDE's surroundings, to the interpreter: FALLBACK is accepted
 * there for an FDE that overlaps another, and counted apart).
 *
 * Which addresses: every byte of every FDE while the bytes checked so far
 * stay under LIMIT (default: no limit); after that, the edges of every
 * row of every FDE (loc - 1, loc, loc + 1) and of every table row (start -
 * 1, start).  The output says which files got which.
 *
 * Output: one line per file, then the totals; exit 1 on any mismatch or a
 * table that could not be built, 2 on bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elf.h"
#include "table/table.h"

struct range {
	uint64_t begin, end, off;
	bool overlaps;
};

struct totals {
	uint64_t files, skipped, tables, rows, rules, dwarf_rows, gap_rows, fdes, bad_fdes;
	uint64_t addrs, hit, fallback, none, overlap_fallback, mismatches, build_errors;
	uint64_t bytes_full;
	uint64_t every_byte_files, edge_files;
};

struct ctx {
	const struct sw_cfi_section *sec;
	const struct sw_eh_hdr *hdr;      /* NULL: linear scan */
	const struct sw_table *t;
	struct range *ranges;             /* sorted by offset (scan mode) */
	size_t nranges;
	struct totals *tot;
	const char *file;
	unsigned reported;
};

static int cmp_begin(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : 0;
}

static int cmp_off(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

/* Does the FDE at `off` overlap another one? (scan mode) */
static bool fde_overlaps(const struct ctx *c, uint64_t off)
{
	size_t lo = 0, hi = c->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->ranges[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nranges && c->ranges[lo].off == off && c->ranges[lo].overlaps;
}

static const char *kind_name(int k)
{
	return k == SW_TABLE_HIT ? "HIT" : k == SW_TABLE_NONE ? "NONE" : "FALLBACK";
}

/* Compare the table and the interpreter at `pc`. */
static void check_pc(struct ctx *c, uint64_t pc)
{
	struct sw_compiled want = { 0, 0 }, got = { 0, 0 };
	uint64_t end = 0, fde_off = UINT64_MAX;
	int expect, rc, res;
	bool overlap = false;

	expect = sw_table_reference(c->sec, c->hdr, pc, &want, &fde_off, &rc);
	if (rc == 0 && !c->hdr)
		overlap = fde_overlaps(c, fde_off);
	res = sw_table_lookup(c->t, pc, &got, &end);
	c->tot->addrs++;
	bool ok = res == expect;
	if (ok && res == SW_TABLE_HIT)
		ok = got.w0 == want.w0 && got.w1 == want.w1;
	if (!ok && overlap && expect == SW_TABLE_HIT && res == SW_TABLE_FALLBACK) {
		c->tot->overlap_fallback++;
		c->tot->fallback++;
		return;
	}
	/* the row's end, when the lookup gives it, lies past the address */
	if (ok && end && end <= pc)
		ok = false;
	if (!ok) {
		c->tot->mismatches++;
		if (c->reported++ < 10)
			printf("MISMATCH %s %s pc 0x%" PRIx64 ": table %s (%016" PRIx64 " %016" PRIx64
			       ", end 0x%" PRIx64 "), interpreter %s (%016" PRIx64 " %016" PRIx64 ")\n",
			       c->file, c->sec->name, pc, kind_name(res), got.w0, got.w1, end,
			       kind_name(expect), want.w0, want.w1);
		return;
	}
	if (res == SW_TABLE_HIT)
		c->tot->hit++;
	else if (res == SW_TABLE_NONE)
		c->tot->none++;
	else
		c->tot->fallback++;
}

static int row_edges(void *arg, const struct sw_cfa_row *row)
{
	struct ctx *c = arg;

	if (row->loc)
		check_pc(c, row->loc - 1);
	check_pc(c, row->loc);
	if (row->loc + 1 < row->end)
		check_pc(c, row->loc + 1);
	return 0;
}

/* Check one table: every FDE of the section. */
static void check_table(struct ctx *c, bool every_byte)
{
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0;

	while (sw_cfi_entry_at(c->sec, off, &ent, NULL) == 0 && ent.end > off) {
		if (ent.kind == SW_CFI_ZERO && c->sec->is_eh)
			break;
		if (ent.kind == SW_CFI_FDE && sw_cfi_parse_fde(c->sec, off, &fde, &cie, NULL) == 0) {
			if (every_byte) {
				for (uint64_t pc = fde.pc_begin; pc < fde.pc_end; pc++)
					check_pc(c, pc);
				c->tot->bytes_full += fde.pc_end - fde.pc_begin;
			} else {
				sw_cfa_table(c->sec, &cie, &fde, row_edges, c, NULL);
			}
			if (fde.pc_begin)
				check_pc(c, fde.pc_begin - 1);
			check_pc(c, fde.pc_end);
		}
		off = ent.end;
	}
	/* the edges of the table's own rows */
	const uint32_t *pages = sw_table_pages(c->t), *rows = sw_table_rows(c->t);
	for (uint32_t p = 0; p < c->t->npages; p++) {
		for (uint32_t r = pages[p]; r < pages[p + 1]; r++) {
			uint64_t at = c->t->lo + ((uint64_t)p << SW_TABLE_PAGE_SHIFT) +
				      (rows[r] >> SW_TABLE_RULE_BITS);
			if (at)
				check_pc(c, at - 1);
			check_pc(c, at);
		}
	}
}

/* The FDE ranges of a section and which overlap another (scan mode). */
static void collect_ranges(struct ctx *c)
{
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0;
	size_t cap = 0;

	c->ranges = NULL;
	c->nranges = 0;
	while (sw_cfi_entry_at(c->sec, off, &ent, NULL) == 0 && ent.end > off) {
		if (ent.kind == SW_CFI_ZERO && c->sec->is_eh)
			break;
		if (ent.kind == SW_CFI_FDE && sw_cfi_parse_fde(c->sec, off, &fde, &cie, NULL) == 0) {
			if (c->nranges == cap) {
				cap = cap ? cap * 2 : 256;
				c->ranges = realloc(c->ranges, cap * sizeof(*c->ranges));
				if (!c->ranges) {
					perror("realloc");
					exit(2);
				}
			}
			c->ranges[c->nranges++] = (struct range){ fde.pc_begin, fde.pc_end, off, false };
		}
		off = ent.end;
	}
	qsort(c->ranges, c->nranges, sizeof(*c->ranges), cmp_begin);
	for (size_t i = 0; i < c->nranges; i++)
		for (size_t j = i + 1; j < c->nranges && c->ranges[j].begin < c->ranges[i].end; j++)
			if (c->ranges[j].begin < c->ranges[j].end && c->ranges[i].begin < c->ranges[i].end)
				c->ranges[i].overlaps = c->ranges[j].overlaps = true;
	qsort(c->ranges, c->nranges, sizeof(*c->ranges), cmp_off);
}

/* Build, check and compare one section's table. */
static void one(const char *file, const struct sw_cfi_section *sec, const struct sw_eh_hdr *hdr,
		bool every_byte, struct totals *tot)
{
	struct sw_table_src src = { .sec = sec, .hdr = hdr };
	struct sw_table *t = NULL;
	struct sw_diag diag = { 0 };
	struct ctx c = { .sec = sec, .hdr = hdr, .tot = tot, .file = file };
	char msg[200];
	int rc;

	rc = sw_table_build(&src, &t, &diag);
	if (rc < 0) {
		sw_diag_format(&diag, msg, sizeof(msg));
		printf("BUILD-ERROR %s %s: %s\n", file, sec->name, msg);
		tot->build_errors++;
		return;
	}
	rc = sw_table_check(t, t->size, &diag);
	if (rc < 0) {
		sw_diag_format(&diag, msg, sizeof(msg));
		printf("CHECK-ERROR %s %s: %s\n", file, sec->name, msg);
		tot->build_errors++;
		sw_table_free(t);
		return;
	}
	c.t = t;
	if (!hdr)
		collect_ranges(&c);
	uint64_t before = tot->mismatches, addrs = tot->addrs;
	check_table(&c, every_byte);
	tot->tables++;
	tot->rows += t->nrows;
	tot->rules += t->nrules;
	tot->dwarf_rows += t->dwarf_rows;
	tot->gap_rows += t->gap_rows;
	tot->fdes += t->fdes;
	tot->bad_fdes += t->bad_fdes;
	printf("%s %s%s: %u bytes, %u rows, %u rules, %u dwarf, %u gap, %u FDEs, %u bad; "
	       "%" PRIu64 " addresses (%s), %" PRIu64 " mismatches\n",
	       file, sec->name, hdr ? "+hdr" : "", t->size, t->nrows, t->nrules, t->dwarf_rows,
	       t->gap_rows, t->fdes, t->bad_fdes, tot->addrs - addrs,
	       every_byte ? "every byte" : "row edges", tot->mismatches - before);
	free(c.ranges);
	sw_table_free(t);
}

static uint64_t fde_bytes(const struct sw_cfi_section *sec)
{
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0, n = 0;

	while (sw_cfi_entry_at(sec, off, &ent, NULL) == 0 && ent.end > off) {
		if (ent.kind == SW_CFI_ZERO && sec->is_eh)
			break;
		if (ent.kind == SW_CFI_FDE && sw_cfi_parse_fde(sec, off, &fde, &cie, NULL) == 0)
			n += fde.pc_end - fde.pc_begin;
		off = ent.end;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct totals tot;
	uint64_t limit = UINT64_MAX;
	int i = 1;

	memset(&tot, 0, sizeof(tot));
	if (i + 1 < argc && strcmp(argv[i], "--bytes") == 0) {
		limit = strtoull(argv[i + 1], NULL, 0);
		i += 2;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: diff [--bytes LIMIT] FILE...\n");
		return 2;
	}
	for (; i < argc; i++) {
		struct sw_elf elf;
		struct sw_elf_section s, h, d;
		struct sw_cfi_section sec;
		struct sw_eh_hdr hdr;
		bool has_eh, has_hdr = false, has_dbg;

		if (sw_elf_open_file(&elf, argv[i]) < 0) {
			tot.skipped++;
			printf("SKIP %s: not an ELF file we read\n", argv[i]);
			continue;
		}
		tot.files++;
		has_eh = sw_elf_find_section(&elf, ".eh_frame", &s) == 0 && s.data && s.size;
		has_dbg = sw_elf_find_section(&elf, ".debug_frame", &d) == 0 && d.data && d.size &&
			  !(d.flags & SHF_COMPRESSED);
		if (has_eh) {
			sw_cfi_section_init(&sec, s.data, s.size, s.addr, true, ".eh_frame");
			if (sw_elf_find_section(&elf, ".eh_frame_hdr", &h) == 0 && h.data &&
			    sw_eh_hdr_parse(&hdr, h.data, h.size, h.addr, NULL) == 0 && hdr.table) {
				has_hdr = true;
				sec.datarel = h.addr;
			}
			uint64_t n = fde_bytes(&sec);
			bool every = tot.bytes_full + n <= limit;
			tot.every_byte_files += every;
			tot.edge_files += !every;
			one(argv[i], &sec, has_hdr ? &hdr : NULL, every, &tot);
		}
		if (has_dbg) {
			sw_cfi_section_init(&sec, d.data, d.size, 0, false, ".debug_frame");
			uint64_t n = fde_bytes(&sec);
			bool every = tot.bytes_full + n <= limit;
			one(argv[i], &sec, NULL, every, &tot);
		}
		sw_elf_close(&elf);
	}
	printf("TOTAL files %" PRIu64 " (skipped %" PRIu64 "; eh_frame every byte %" PRIu64
	       ", row edges %" PRIu64 "), tables %" PRIu64 ": rows %" PRIu64 " (rule rows %" PRIu64
	       ", dwarf %" PRIu64 ", gap %" PRIu64 "), rules %" PRIu64 ", FDEs %" PRIu64
	       " (bad %" PRIu64 "); addresses %" PRIu64 " (every byte over %" PRIu64
	       " bytes): table-hit %" PRIu64 ", fallback-to-DWARF %" PRIu64
	       " (overlapping FDEs %" PRIu64 "), gap/none %" PRIu64 "; mismatches %" PRIu64
	       ", build errors %" PRIu64 "\n",
	       tot.files, tot.skipped, tot.every_byte_files, tot.edge_files, tot.tables, tot.rows,
	       tot.rows - tot.dwarf_rows - tot.gap_rows, tot.dwarf_rows, tot.gap_rows, tot.rules,
	       tot.fdes, tot.bad_fdes, tot.addrs, tot.bytes_full, tot.hit, tot.fallback,
	       tot.overlap_fallback, tot.none, tot.mismatches, tot.build_errors);
	return tot.mismatches || tot.build_errors ? 1 : 0;
}
