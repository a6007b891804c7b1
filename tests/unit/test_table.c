/*
 * Unit tests for the compact unwind tables (src/table, contract in
 * src/table/table.h): tables built from real sections (this program as
 * loaded, libc's file), lookups at known points against the interpreter,
 * sw_table_check on truncated and corrupted blobs (each copied into a
 * heap block of its exact size, so ASan sees any overread), and the
 * builder on corrupt CFI and headers: errors or DWARF rows, never a crash.
 * tests/scripts/table.sh runs the exhaustive differential comparison.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <link.h>
#include <stdbool.h>

#include "elf/elf.h"
#include "stackwalk.h"
#include "table/table.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- helpers */

/* A function with a known frame: at its first byte CFA = rsp + 8 and the
 * return address is at CFA - 8, nothing else saved. */
__attribute__((noinline)) int table_leaf(int x);
__attribute__((noinline)) int table_leaf(int x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 3 + 1;
}

struct self {
	uint64_t bias, hdr_addr, eh_addr, map_end;
	bool found;
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self *s = arg;
	uint64_t hi = 0;

	(void)size;
	/* the main program comes first */
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		if (ph->p_type == PT_GNU_EH_FRAME)
			s->hdr_addr = info->dlpi_addr + ph->p_vaddr;
	}
	s->bias = info->dlpi_addr;
	s->map_end = hi;
	s->found = s->hdr_addr != 0;
	return 1;
}

/* This program's loaded .eh_frame and header, as the unwinder sees them. */
static bool self_src(struct sw_cfi_section *sec, struct sw_eh_hdr *hdr, struct sw_table_src *src)
{
	struct self s = { 0 };

	dl_iterate_phdr(phdr_cb, &s);
	if (!s.found)
		return false;
	if (sw_eh_hdr_parse(hdr, (const void *)(uintptr_t)s.hdr_addr, s.map_end - s.hdr_addr,
			    s.hdr_addr, NULL) < 0 || !hdr->table)
		return false;
	sw_cfi_section_init(sec, (const void *)(uintptr_t)hdr->eh_frame_ptr,
			    s.map_end - hdr->eh_frame_ptr, hdr->eh_frame_ptr, true, ".eh_frame");
	sec->datarel = s.hdr_addr;
	memset(src, 0, sizeof(*src));
	src->sec = sec;
	src->hdr = hdr;
	src->bias = s.bias;
	return true;
}

/* The interpreter's answer at `pc` (through the header when given). */
static int interp(const struct sw_cfi_section *sec, const struct sw_eh_hdr *hdr, uint64_t pc,
		  struct sw_compiled *rule)
{
	return sw_table_reference(sec, hdr, pc, rule, NULL, NULL);
}

/* A heap copy of exactly `size` bytes (malloc: 16-byte aligned). */
static void *dup_exact(const void *p, size_t size)
{
	void *q = malloc(size ? size : 1);
	if (q && size)
		memcpy(q, p, size);
	return q;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* Look up addresses all over (and around) a checked table: must return a
 * valid kind and, for hits, a rule the table holds. */
static void probe(const struct sw_table *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct sw_compiled r;
		uint64_t end = 0;
		uint64_t span = ((uint64_t)t->npages + 2) << SW_TABLE_PAGE_SHIFT;
		uint64_t a = t->lo - 4096 + rng() % span;
		int k = sw_table_lookup(t, a, &r, &end);
		CHECK(k == SW_TABLE_HIT || k == SW_TABLE_NONE || k == SW_TABLE_FALLBACK);
		if (k != SW_TABLE_NONE)
			CHECK(end > a);
	}
}

/* ---------------------------------------------------------------- tests */

TEST(self_known_points)
{
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_table_src src;
	struct sw_table *t = NULL;
	struct sw_diag diag = { 0 };
	struct sw_compiled r = { 0, 0 }, want = { 0, 0 };
	uint64_t end = 0;
	uint64_t leaf = (uint64_t)(uintptr_t)&table_leaf;

	CHECK(table_leaf(2) == 7);
	if (!self_src(&sec, &hdr, &src)) {
		CHECK(!"no PT_GNU_EH_FRAME in this program");
		return;
	}
	CHECK_EQ(sw_table_build(&src, &t, &diag), 0);
	if (!t)
		return;
	CHECK_EQ(sw_table_check(t, t->size, NULL), 0);
	CHECK_EQ(t->fdes, hdr.fde_count);
	CHECK(t->nrows > 10 && t->nrules > 2);
	/* the leaf's first byte: CFA = rsp + 8, ra at CFA - 8 */
	CHECK_EQ(sw_table_lookup(t, leaf - src.bias, &r, &end), SW_TABLE_HIT);
	CHECK_EQ(sw_cr_cfa_reg(&r), SW_REG_RSP);
	CHECK_EQ(sw_cr_cfa_off(&r), 8);
	CHECK_EQ(sw_cr_ra_off(&r), -8);
	CHECK_EQ(sw_cr_saved(&r), 0);
	CHECK_EQ(sw_cr_flags(&r), 0);
	CHECK_EQ(sw_cr_source(&r), 0);
	CHECK(end > leaf - src.bias);
	CHECK_EQ(interp(&sec, &hdr, leaf, &want), SW_TABLE_HIT);
	CHECK(want.w0 == r.w0 && want.w1 == r.w1);
	/* every byte of this test function and of the leaf agrees with the
	 * interpreter */
	uint64_t fns[] = { leaf, (uint64_t)(uintptr_t)&test_self_known_points };
	for (unsigned f = 0; f < NELEM(fns); f++) {
		for (uint64_t pc = fns[f]; pc < fns[f] + 256; pc++) {
			struct sw_compiled a = { 0, 0 }, b = { 0, 0 };
			int ki = interp(&sec, &hdr, pc, &a);
			int kt = sw_table_lookup(t, pc - src.bias, &b, NULL);
			CHECK_EQ(kt, ki);
			if (kt == ki && kt == SW_TABLE_HIT)
				CHECK(a.w0 == b.w0 && a.w1 == b.w1);
		}
	}
	/* far outside the module */
	CHECK_EQ(sw_table_lookup(t, 0, &r, NULL), SW_TABLE_NONE);
	CHECK_EQ(sw_table_lookup(t, UINT64_MAX - 5, &r, NULL), SW_TABLE_NONE);
	/* the last row is a gap up to the end of the address space */
	end = 0;
	CHECK_EQ(sw_table_lookup(t, t->lo + ((uint64_t)t->npages << SW_TABLE_PAGE_SHIFT) - 1, &r, &end),
		 SW_TABLE_NONE);
	CHECK(end == UINT64_MAX);
	sw_table_free(t);
}

/* libc from its file: the table of the header and the table of the scan
 * agree row for row, and FDE starts agree with the interpreter. */
TEST(libc_file_hdr_and_scan)
{
	struct sw_elf elf;
	struct sw_elf_section s, h;
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_table *a = NULL, *b = NULL;
	struct sw_diag diag = { 0 };

	if (sw_elf_open_file(&elf, "/lib/x86_64-linux-gnu/libc.so.6") < 0) {
		CHECK(!"cannot open libc");
		return;
	}
	CHECK_EQ(sw_elf_find_section(&elf, ".eh_frame", &s), 0);
	CHECK_EQ(sw_elf_find_section(&elf, ".eh_frame_hdr", &h), 0);
	sw_cfi_section_init(&sec, s.data, s.size, s.addr, true, ".eh_frame");
	sec.datarel = h.addr;
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h.data, h.size, h.addr, NULL), 0);
	struct sw_table_src with = { .sec = &sec, .hdr = &hdr }, without = { .sec = &sec };
	CHECK_EQ(sw_table_build(&with, &a, &diag), 0);
	CHECK_EQ(sw_table_build(&without, &b, &diag), 0);
	if (!a || !b)
		goto out;
	CHECK_EQ(sw_table_check(a, a->size, NULL), 0);
	CHECK_EQ(sw_table_check(b, b->size, NULL), 0);
	CHECK_EQ(a->fdes, hdr.fde_count);
	CHECK_EQ(a->fdes, b->fdes);
	CHECK_EQ(a->bad_fdes, 0);
	CHECK_EQ(a->size, b->size);
	CHECK(a->size == b->size && memcmp((const char *)a + a->rules_off, (const char *)b + b->rules_off,
					   a->size - a->rules_off) == 0);
	/* smaller than what it replaces */
	CHECK(a->size < s.size + h.size);
	/* every FDE's first byte */
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0;
	unsigned n = 0, hits = 0;
	while (sw_cfi_entry_at(&sec, off, &ent, NULL) == 0 && ent.kind != SW_CFI_ZERO) {
		if (ent.kind == SW_CFI_FDE && sw_cfi_parse_fde(&sec, off, &fde, &cie, NULL) == 0) {
			struct sw_compiled x = { 0, 0 }, y = { 0, 0 };
			int ki = interp(&sec, &hdr, fde.pc_begin, &x);
			int kt = sw_table_lookup(a, fde.pc_begin, &y, NULL);
			CHECK_EQ(kt, ki);
			if (kt == SW_TABLE_HIT && ki == kt) {
				CHECK(x.w0 == y.w0 && x.w1 == y.w1);
				hits++;
			}
			n++;
		}
		off = ent.end;
	}
	CHECK_EQ(n, a->fdes);
	CHECK(hits > n * 9 / 10);
out:
	sw_table_free(a);
	sw_table_free(b);
	sw_elf_close(&elf);
}

/* A table from a small program: every prefix is rejected, every single
 * byte flip is rejected or leaves a table whose lookups stay inside. */
TEST(check_truncated_and_flipped)
{
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_table_src src;
	struct sw_table *t = NULL;
	struct sw_diag diag = { 0 };

	if (!self_src(&sec, &hdr, &src)) {
		CHECK(!"no PT_GNU_EH_FRAME");
		return;
	}
	CHECK_EQ(sw_table_build(&src, &t, &diag), 0);
	if (!t)
		return;
	size_t size = t->size;
	for (size_t n = 0; n < size; n++) {
		void *p = dup_exact(t, n);
		int rc = sw_table_check(p, n, &diag);
		CHECK(rc == SW_ETRUNCATED || rc == SW_EBADHDR);
		if (rc >= 0)
			printf("    prefix %zu accepted\n", n);
		free(p);
	}
	/* longer than its size field */
	uint8_t *longer = calloc(1, size + 8);
	memcpy(longer, t, size);
	CHECK_EQ(sw_table_check(longer, size + 8, NULL), SW_EBADHDR);
	/* misaligned */
	memmove(longer + 4, longer, size);
	CHECK_EQ(sw_table_check(longer + 4, size, NULL), SW_EALIGN);
	free(longer);
	CHECK_EQ(sw_table_check(NULL, 0, NULL), SW_EINVAL);

	unsigned accepted = 0, rejected = 0;
	for (size_t i = 0; i < size; i++) {
		for (unsigned k = 0; k < 3; k++) {
			static const uint8_t xors[3] = { 0x01, 0x80, 0xff };
			uint8_t *p = dup_exact(t, size);
			p[i] ^= xors[k];
			if (sw_table_check(p, size, &diag) == 0) {
				accepted++;
				probe((const struct sw_table *)p, 64);
			} else {
				rejected++;
				CHECK(diag.code < 0 && diag.section != NULL);
			}
			free(p);
		}
	}
	printf("    %zu-byte table: %u flips rejected, %u accepted (lookups probed)\n", size,
	       rejected, accepted);
	CHECK(rejected > accepted);
	/* specific fields */
	struct {
		size_t off;
		uint32_t val;
		int code;
	} cases[] = {
		{ offsetof(struct sw_table, magic), 0, SW_EBADHDR },
		{ offsetof(struct sw_table, version), 2, SW_EVERSION },
		{ offsetof(struct sw_table, machine), 3 /* EM_386 */, SW_EUNSUPPORTED },
		{ offsetof(struct sw_table, rules_off), (uint32_t)sizeof(struct sw_table) + 8, SW_EBADHDR },
		{ offsetof(struct sw_table, pages_off), t->pages_off + 4, SW_EBADHDR },
		{ offsetof(struct sw_table, rows_off), t->rows_off - 4, SW_EBADHDR },
		{ offsetof(struct sw_table, nrows), t->nrows + 1, SW_EBADHDR },
		{ offsetof(struct sw_table, nrules), t->nrules - 1, SW_EBADHDR },
		{ offsetof(struct sw_table, npages), 0xffffffffu, SW_EBADHDR },
		{ offsetof(struct sw_table, size), t->size + 4, SW_ETRUNCATED },
		{ offsetof(struct sw_table, dwarf_rows), t->dwarf_rows + 1, SW_EBADHDR },
		{ offsetof(struct sw_table, build_id_len), 21, SW_EBADHDR },
		{ t->pages_off + 4, 0xffffffffu, SW_EBADHDR },       /* pages[1] past the rows */
		{ t->rows_off, (0u << SW_TABLE_RULE_BITS) | 0xabcde, SW_EBADHDR },  /* rule index */
	};
	for (unsigned i = 0; i < NELEM(cases); i++) {
		uint8_t *p = dup_exact(t, size);
		if (cases[i].off == offsetof(struct sw_table, machine))
			memcpy(p + cases[i].off, &(uint16_t){ (uint16_t)cases[i].val }, 2);
		else
			memcpy(p + cases[i].off, &cases[i].val, 4);
		int rc = sw_table_check(p, size, &diag);
		if (rc != cases[i].code)
			printf("    case %u (offset %zu): %d\n", i, cases[i].off, rc);
		CHECK_EQ(rc, cases[i].code);
		free(p);
	}
	sw_table_free(t);
}

/* Build from a copy of a section (exact-size heap block). */
static int build_copy(const uint8_t *data, size_t size, uint64_t vaddr, const struct sw_eh_hdr *hdr,
		      uint64_t datarel, struct sw_table **t)
{
	struct sw_cfi_section sec;
	struct sw_table_src src = { .sec = &sec, .hdr = hdr };
	struct sw_diag diag = { 0 };
	int rc;

	sw_cfi_section_init(&sec, data, size, vaddr, true, ".eh_frame");
	sec.datarel = datarel;
	rc = sw_table_build(&src, t, &diag);
	if (rc < 0) {
		CHECK(*t == NULL);
		CHECK(diag.code == rc);
	} else {
		CHECK(*t != NULL);
		if (*t) {
			CHECK_EQ(sw_table_check(*t, (*t)->size, NULL), 0);
			probe(*t, 32);
		}
	}
	return rc;
}

/* This program's .eh_frame with bytes changed: the builder returns an
 * error or a table that passes sw_table_check; with the header, a CFI
 * program that no longer parses is counted and gives DWARF rows. */
TEST(corrupt_cfi)
{
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_table_src src;
	unsigned errors = 0, built = 0, bad_fdes = 0;

	if (!self_src(&sec, &hdr, &src)) {
		CHECK(!"no PT_GNU_EH_FRAME");
		return;
	}
	/* the real size of .eh_frame: up to its terminator */
	struct sw_cfi_entry ent;
	uint64_t off = 0;
	while (sw_cfi_entry_at(&sec, off, &ent, NULL) == 0 && ent.kind != SW_CFI_ZERO)
		off = ent.end;
	size_t size = (size_t)off + 4;
	uint8_t *orig = dup_exact(sec.data, size);
	/* the header's table refers to the loaded .eh_frame's addresses: the
	 * copy keeps them (vaddr = the loaded address) */
	for (unsigned i = 0; i < 400; i++) {
		uint8_t *p = dup_exact(orig, size);
		unsigned nflip = 1 + (unsigned)(rng() % 4);
		for (unsigned k = 0; k < nflip; k++)
			p[rng() % size] ^= (uint8_t)(1u << (rng() % 8));
		struct sw_table *t = NULL;
		int rc = build_copy(p, size, sec.vaddr, (i & 1) ? &hdr : NULL, sec.datarel, &t);
		if (rc < 0) {
			errors++;
		} else {
			built++;
			if (t)
				bad_fdes += t->bad_fdes;
			sw_table_free(t);
		}
		free(p);
	}
	printf("    400 corrupted .eh_frame copies: %u errors, %u tables (%u bad FDEs)\n", errors,
	       built, bad_fdes);
	CHECK(built > 0);
	CHECK(errors > 0 || bad_fdes > 0);

	/* every truncation of the section, scanned */
	for (size_t n = 0; n < size; n += 7) {
		uint8_t *p = dup_exact(orig, n);
		struct sw_table *t = NULL;
		build_copy(p, n, sec.vaddr, NULL, sec.datarel, &t);
		sw_table_free(t);
		free(p);
	}
	/* an empty section: an empty table, every lookup NONE */
	{
		struct sw_table *t = NULL;
		struct sw_compiled r;
		CHECK_EQ(build_copy(orig, 0, sec.vaddr, NULL, 0, &t), 0);
		if (t) {
			CHECK_EQ(t->nrows, 0);
			CHECK_EQ(sw_table_lookup(t, 0x1234, &r, NULL), SW_TABLE_NONE);
			sw_table_free(t);
		}
	}
	free(orig);
}

/* Header tables that are not what linkers write. */
TEST(corrupt_hdr)
{
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr, h2;
	struct sw_table_src src;
	struct sw_table *t = NULL;
	struct sw_diag diag = { 0 };

	if (!self_src(&sec, &hdr, &src)) {
		CHECK(!"no PT_GNU_EH_FRAME");
		return;
	}
	CHECK_EQ(hdr.table_enc, SW_PE_datarel | SW_PE_sdata4);
	if (hdr.fde_count < 4)
		return;
	size_t hsize = (size_t)(hdr.table - hdr.data) + (size_t)hdr.fde_count * 8;
	uint8_t *copy = dup_exact(hdr.data, hsize);
	struct sw_table_src s2 = src;
	s2.hdr = &h2;

	/* two entries swapped: not sorted */
	CHECK_EQ(sw_eh_hdr_parse(&h2, copy, hsize, hdr.vaddr, NULL), 0);
	uint8_t *e = copy + (h2.table - h2.data);
	uint8_t tmp[8];
	memcpy(tmp, e + 8, 8);
	memcpy(e + 8, e + 16, 8);
	memcpy(e + 16, tmp, 8);
	CHECK_EQ(sw_table_build(&s2, &t, &diag), SW_EBADHDR);
	CHECK(t == NULL);
	memcpy(copy, hdr.data, hsize);

	/* one FDE listed twice (entry 2's FDE pointer = entry 1's) */
	memcpy(e + 20, e + 12, 4);
	CHECK_EQ(sw_table_build(&s2, &t, &diag), SW_EBADHDR);
	memcpy(copy, hdr.data, hsize);

	/* an entry pointing at a CIE, one outside the
	 * section: the table builds, those ranges are DWARF, counted */
	int32_t v = (int32_t)(int64_t)(hdr.eh_frame_ptr - hdr.vaddr);   /* the CIE at offset 0 */
	memcpy(e + 12, &v, 4);
	v = INT32_MIN;
	memcpy(e + 28, &v, 4);
	CHECK_EQ(sw_table_build(&s2, &t, &diag), 0);
	if (t) {
		CHECK_EQ(sw_table_check(t, t->size, NULL), 0);
		CHECK_EQ(t->bad_fdes, 2);
		CHECK(t->dwarf_rows >= 2);
		/* the interpreter errs there too: the table says FALLBACK */
		int32_t start;
		memcpy(&start, e + 8, 4);
		uint64_t pc = hdr.vaddr + (uint64_t)(int64_t)start;
		struct sw_compiled r;
		CHECK_EQ(sw_table_lookup(t, pc - src.bias, &r, NULL), SW_TABLE_FALLBACK);
		CHECK_EQ(interp(&sec, &h2, pc, &r), SW_TABLE_FALLBACK);
		sw_table_free(t);
		t = NULL;
	}
	/* a header without a table is not something to build from */
	struct sw_eh_hdr none = hdr;
	none.table = NULL;
	none.fde_count = 0;
	s2.hdr = &none;
	CHECK_EQ(sw_table_build(&s2, &t, &diag), SW_EBADHDR);
	free(copy);
}

/* Without a header, FDEs that overlap: this program's .eh_frame with one
 * FDE moved to start where another starts, and one moved inside another.
 * Every address around them: NONE exactly where the linear scan finds
 * nothing, the scan's rule or FALLBACK where it finds one. */
TEST(scan_overlaps)
{
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_table_src src;

	if (!self_src(&sec, &hdr, &src)) {
		CHECK(!"no PT_GNU_EH_FRAME");
		return;
	}
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0, offs[64], begins[64], ends[64];
	unsigned n = 0;
	while (n < 64 && sw_cfi_entry_at(&sec, off, &ent, NULL) == 0 && ent.kind != SW_CFI_ZERO) {
		if (ent.kind == SW_CFI_FDE && sw_cfi_parse_fde(&sec, off, &fde, &cie, NULL) == 0 &&
		    cie.fde_enc == (SW_PE_pcrel | SW_PE_sdata4)) {
			offs[n] = off;
			begins[n] = fde.pc_begin;
			ends[n] = fde.pc_end;
			n++;
		}
		off = ent.end;
	}
	while (sw_cfi_entry_at(&sec, off, &ent, NULL) == 0 && ent.kind != SW_CFI_ZERO)
		off = ent.end;
	if (n < 8) {
		CHECK(!"too few FDEs");
		return;
	}
	size_t size = (size_t)off + 4;
	uint8_t *p = dup_exact(sec.data, size);
	/* an FDE with a gap before it (m), another (m + 4) moved to start where
	 * it starts: the gap stays NONE; FDE m + 5 moved 3 bytes into m + 1 */
	unsigned m = 1;
	while (m + 5 < n && !(begins[m] > ends[m - 1]))
		m++;
	CHECK(m + 5 < n);
	if (m + 5 >= n)
		m = 1;
	int32_t v = (int32_t)(int64_t)(begins[m] - (sec.vaddr + offs[m + 4] + 8));
	memcpy(p + offs[m + 4] + 8, &v, 4);
	v = (int32_t)(int64_t)(begins[m + 1] + 3 - (sec.vaddr + offs[m + 5] + 8));
	memcpy(p + offs[m + 5] + 8, &v, 4);
	struct sw_cfi_section s2;
	sw_cfi_section_init(&s2, p, size, sec.vaddr, true, ".eh_frame");
	struct sw_table_src scan = { .sec = &s2, .bias = 0 };
	struct sw_table *t = NULL;
	struct sw_diag diag = { 0 };
	CHECK_EQ(sw_table_build(&scan, &t, &diag), 0);
	if (!t) {
		free(p);
		return;
	}
	CHECK_EQ(sw_table_check(t, t->size, NULL), 0);
	unsigned fallback = 0;
	for (unsigned k = 0; k < n; k++) {
		uint64_t lo = begins[k] > 64 ? begins[k] - 64 : 0;
		for (uint64_t pc = lo; pc < ends[k] + 64; pc++) {
			struct sw_compiled a = { 0, 0 }, b = { 0, 0 };
			int ki = interp(&s2, NULL, pc, &a);
			int kt = sw_table_lookup(t, pc, &b, NULL);
			if (ki == SW_TABLE_HIT && kt == SW_TABLE_FALLBACK) {
				fallback++;
				continue;
			}
			if (kt != ki)
				printf("    pc %#" PRIx64 ": table %d, interpreter %d\n", pc, kt, ki);
			CHECK_EQ(kt, ki);
			if (kt == ki && kt == SW_TABLE_HIT)
				CHECK(a.w0 == b.w0 && a.w1 == b.w1);
		}
	}
	/* the doubly covered addresses went to the interpreter */
	CHECK(fallback > 0);
	sw_table_free(t);
	free(p);
}

SW_TEST_MAIN
