/*
 * Building a compact unwind table (table.h) from a CFI section.
 *
 *   1. the FDEs: the .eh_frame_hdr's sorted table when there is one (its
 *      order is the lookup's), else every FDE of the section, sorted by
 *      start address;
 *   2. for each FDE, the range where the unwinder's FDE search would find
 *      it (the header search: from its table entry's start, clipped at the
 *      next entry's; the scan: where no other FDE covers the address), and
 *      in that range every row of its CFA table (sw_cfa_table), compiled
 *      with sw_compile_row: the compiled rule (deduplicated through a hash
 *      table), or SW_TABLE_DWARF for rows the packing cannot hold and for
 *      the part of an FDE after an error in its program (the interpreter
 *      reports the same error there);
 *   3. SW_TABLE_GAP between and after the FDEs' ranges; consecutive rows
 *      with the same rule merged;
 *   4. the blob: header, rules, page index, rows.
 *
 * All memory comes from mmap (scratch arrays that grow by doubling, up to
 * bounds taken from the section's size, so the work and memory are
 * bounded by the input) and is unmapped before returning: no malloc, no
 * lock, async-signal-safe.
 */
#include <elf.h>
#include <string.h>
#include <sys/mman.h>

#include "table/table.h"

#if defined(__x86_64__)
#define TABLE_MACHINE EM_X86_64
#else
#error "stackwalk: the compact table has no packing for this architecture"
#endif

/* ------------------------------------------------------------ memory */

static void *map(size_t bytes)
{
	void *p;

	if (bytes == 0)
		bytes = 1;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void unmap(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

/* Make the mapping at *p (*bytes long, or none) hold `need` bytes,
 * doubling; false when mmap fails. */
static bool grow(void **p, size_t *bytes, size_t need)
{
	size_t n = *bytes ? *bytes : 65536;
	void *q;

	if (need <= *bytes)
		return true;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	/* (a new mapping and a copy rather than mremap: amortized the same,
	 * and the unwind path's known system calls stay mmap and munmap) */
	q = map(n);
	if (!q)
		return false;
	if (*p) {
		memcpy(q, *p, *bytes);
		unmap(*p, *bytes);
	}
	*p = q;
	*bytes = n;
	return true;
}

/* ------------------------------------------------------------ state */

/* One FDE to place: where the lookup finds it. */
struct fent {
	uint64_t start;   /* header mode: the table entry's initial location;
			   * scan mode: the FDE's pc_begin */
	uint64_t end;     /* scan mode: pc_end */
	uint64_t off;     /* section offset of the FDE (header: UINT64_MAX when
			   * the entry's address lies outside the section) */
	uint64_t seq;     /* position in the header table / section */
};

/* One row under construction (absolute address). */
struct piece {
	uint64_t start;
	uint32_t kind;    /* rule index, SW_TABLE_GAP or SW_TABLE_DWARF */
};

struct builder {
	const struct sw_table_src *src;
	struct fent *fdes;
	size_t nfdes, fdes_bytes;
	struct piece *pieces;
	size_t npieces, maxpieces, pieces_bytes;
	/* rules and their hash set (open addressing, index + 1, 0 = empty) */
	struct sw_compiled *rules;
	uint32_t nrules, rules_cap;
	uint32_t *hash;
	uint32_t hash_cap;
	uint64_t pos;     /* where the rows emitted so far end */
	bool started;     /* a row was emitted */
	/* scan mode: the union of the FDE ranges seen since the last address
	 * no FDE covered, [seg_start, seg_end) (FDEs come sorted by start) */
	bool has_seg;
	uint64_t seg_start, seg_end;
	uint32_t bad_fdes;
	int err;          /* SW_ENOMEM / SW_EFULL met while emitting */
};

/* ------------------------------------------------------------ sort */

static bool fent_less(const struct fent *a, const struct fent *b, bool by_off)
{
	if (by_off)
		return a->off < b->off || (a->off == b->off && a->seq < b->seq);
	return a->start < b->start || (a->start == b->start && a->seq < b->seq);
}

/* Heapsort (no allocation, O(n log n) worst case). */
static void sift(struct fent *a, size_t root, size_t n, bool by_off)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && fent_less(&a[child], &a[child + 1], by_off))
			child++;
		if (!fent_less(&a[root], &a[child], by_off))
			return;
		struct fent t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void sort_fents(struct fent *a, size_t n, bool by_off)
{
	if (n < 2)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift(a, i, n, by_off);
	for (size_t end = n - 1; end > 0; end--) {
		struct fent t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift(a, 0, end, by_off);
	}
}

/* ------------------------------------------------------------ rules */

static uint32_t rule_hash(const struct sw_compiled *r)
{
	uint64_t x = r->w0 * 0x9e3779b97f4a7c15ull ^ (r->w1 + 0x632be59bd9b4e019ull);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint32_t)x;
}

/* Grow the rule array and the hash set to twice their size. */
static int rules_grow(struct builder *b)
{
	uint32_t ncap = b->rules_cap ? b->rules_cap * 2 : 1024;
	uint32_t nhash = ncap * 2;
	struct sw_compiled *nr;
	uint32_t *nh;

	if (ncap > SW_TABLE_MAX_RULES * 2u)
		return SW_EFULL;
	nr = map((size_t)ncap * sizeof(*nr));
	nh = map((size_t)nhash * sizeof(*nh));
	if (!nr || !nh) {
		unmap(nr, (size_t)ncap * sizeof(*nr));
		unmap(nh, (size_t)nhash * sizeof(*nh));
		return SW_ENOMEM;
	}
	if (b->nrules)
		memcpy(nr, b->rules, (size_t)b->nrules * sizeof(*nr));
	for (uint32_t i = 0; i < b->nrules; i++) {
		uint32_t h = rule_hash(&nr[i]) & (nhash - 1);
		while (nh[h])
			h = (h + 1) & (nhash - 1);
		nh[h] = i + 1;
	}
	unmap(b->rules, (size_t)b->rules_cap * sizeof(*b->rules));
	unmap(b->hash, (size_t)b->hash_cap * sizeof(*b->hash));
	b->rules = nr;
	b->hash = nh;
	b->rules_cap = ncap;
	b->hash_cap = nhash;
	return 0;
}

/* The index of `r` among the rules (added when new), or a negative error. */
static int64_t rule_index(struct builder *b, const struct sw_compiled *r)
{
	uint32_t h;
	int rc;

	if (b->nrules + 1 > b->rules_cap) {
		if ((rc = rules_grow(b)) < 0)
			return rc;
	}
	h = rule_hash(r) & (b->hash_cap - 1);
	while (b->hash[h]) {
		const struct sw_compiled *o = &b->rules[b->hash[h] - 1];
		if (o->w0 == r->w0 && o->w1 == r->w1)
			return b->hash[h] - 1;
		h = (h + 1) & (b->hash_cap - 1);
	}
	if (b->nrules >= SW_TABLE_MAX_RULES)
		return SW_EFULL;
	b->rules[b->nrules] = *r;
	b->hash[h] = b->nrules + 1;
	return b->nrules++;
}

/* ------------------------------------------------------------ rows */

/* A row of `kind` from `start` on (start >= every earlier row's start). */
static void put(struct builder *b, uint64_t start, uint32_t kind)
{
	if (b->err)
		return;
	if (b->npieces && b->pieces[b->npieces - 1].start == start) {
		/* the previous row was empty: replace it */
		b->npieces--;
	}
	if (b->npieces && b->pieces[b->npieces - 1].kind == kind)
		return;
	if (b->npieces >= b->maxpieces) {
		b->err = SW_EFULL;   /* cannot happen: maxpieces bounds the rows */
		return;
	}
	if ((b->npieces + 1) * sizeof(struct piece) > b->pieces_bytes &&
	    !grow((void **)&b->pieces, &b->pieces_bytes, (b->npieces + 1) * sizeof(struct piece))) {
		b->err = SW_ENOMEM;
		return;
	}
	b->pieces[b->npieces].start = start;
	b->pieces[b->npieces].kind = kind;
	b->npieces++;
	b->started = true;
}

/* Fill [b->pos, to): what lies under the FDEs seen so far (scan mode:
 * addresses two FDEs may cover, see sw_table_build) is DWARF, the rest a
 * gap. */
static void fill_to(struct builder *b, uint64_t to)
{
	if (!b->started) {
		if (!b->has_seg || b->seg_start >= to) {
			b->pos = to;
			return;
		}
		/* the FDEs before all covered their addresses twice */
		b->pos = b->seg_start;
	}
	if (b->pos >= to)
		return;
	if (b->has_seg) {
		uint64_t ds = b->pos > b->seg_start ? b->pos : b->seg_start;
		uint64_t de = to < b->seg_end ? to : b->seg_end;
		if (ds < de) {
			if (b->pos < ds)
				put(b, b->pos, SW_TABLE_GAP);
			put(b, ds, SW_TABLE_DWARF);
			b->pos = de;
			if (b->pos >= to)
				return;
		}
	}
	put(b, b->pos, SW_TABLE_GAP);
	b->pos = to;
}

struct emit_ctx {
	struct builder *b;
	bool signal;
	uint64_t lo, hi;   /* the range this FDE is found for */
	uint64_t done;     /* where the emitted rows end */
};

static int emit_row(void *arg, const struct sw_cfa_row *row)
{
	struct emit_ctx *e = arg;
	struct builder *b = e->b;
	struct sw_compiled rule;
	uint64_t from = row->loc > e->lo ? row->loc : e->lo;
	uint64_t to = row->end < e->hi ? row->end : e->hi;
	uint32_t kind = SW_TABLE_DWARF;

	if (row->end > e->done)
		e->done = row->end;
	if (from >= to)
		return 0;
	if (sw_compile_row(row, e->signal, &rule)) {
		int64_t idx = rule_index(b, &rule);
		if (idx < 0) {
			b->err = (int)idx;
			return 1;
		}
		kind = (uint32_t)idx;
	}
	put(b, from, kind);
	b->pos = to;
	return b->err ? 1 : 0;
}

/* The rows of the FDE at section offset `off` over [lo, hi) (already
 * clipped to where the lookup finds it). */
static void place_fde(struct builder *b, uint64_t off, uint64_t lo, uint64_t hi)
{
	const struct sw_cfi_section *sec = b->src->sec;
	struct sw_fde fde;
	struct sw_cie cie;
	struct emit_ctx e = { .b = b, .lo = lo, .hi = hi };
	int rc;

	if (off == UINT64_MAX || sw_cfi_parse_fde(sec, off, &fde, &cie, NULL) < 0) {
		/* the lookup meets an error anywhere in the range */
		b->bad_fdes++;
		fill_to(b, lo);
		put(b, lo, SW_TABLE_DWARF);
		b->pos = hi;
		return;
	}
	if (fde.pc_begin > e.lo)
		e.lo = fde.pc_begin;
	if (fde.pc_end < e.hi)
		e.hi = fde.pc_end;
	if (e.lo >= e.hi)
		return;
	fill_to(b, e.lo);
	e.signal = cie.signal_frame;
	e.done = fde.pc_begin;
	rc = sw_cfa_table(sec, &cie, &fde, emit_row, &e, NULL);
	if (b->err)
		return;
	if (rc < 0) {
		/* rows up to the error are exact; from there the interpreter
		 * reports the error */
		uint64_t from = e.done > e.lo ? e.done : e.lo;
		b->bad_fdes++;
		if (from < e.hi) {
			put(b, from, SW_TABLE_DWARF);
			b->pos = e.hi;
		}
	}
}

/* ------------------------------------------------------------ FDEs */

static int fail(struct sw_diag *diag, const char *section, uint64_t off, int code)
{
	if (diag) {
		diag->code = code;
		diag->section = section;
		diag->offset = off;
		diag->entry = off;
	}
	return code;
}

/* The header's table: one fent per entry, sorted as the lookup needs. */
static int collect_hdr(struct builder *b, struct sw_diag *diag)
{
	const struct sw_eh_hdr *hdr = b->src->hdr;
	const struct sw_cfi_section *sec = b->src->sec;
	struct sw_ptr_ctx pc = { .addr_size = 8, .datarel = hdr->vaddr };
	struct sw_reader r;

	sw_rd_init(&r, hdr->data, hdr->size, hdr->vaddr, ".eh_frame_hdr");
	if (!hdr->table || hdr->table < hdr->data || hdr->table > hdr->data + hdr->size)
		return fail(diag, ".eh_frame_hdr", 0, SW_EBADHDR);
	r.pos = hdr->table;
	if (hdr->fde_count > sw_rd_left(&r) / 2)
		return fail(diag, ".eh_frame_hdr", (uint64_t)(hdr->table - hdr->data), SW_EBADHDR);
	for (uint64_t i = 0; i < hdr->fde_count; i++) {
		uint64_t start = sw_rd_encoded(&r, hdr->table_enc, &pc);
		uint64_t addr = sw_rd_encoded(&r, hdr->table_enc, &pc);
		if (r.err)
			return fail(diag, ".eh_frame_hdr", r.err_off, SW_EBADHDR);
		/* the binary search needs a sorted table */
		if (i && start < b->fdes[i - 1].start)
			return fail(diag, ".eh_frame_hdr", sw_rd_off(&r), SW_EBADHDR);
		b->fdes[i].start = start;
		b->fdes[i].end = 0;
		b->fdes[i].off = addr >= sec->vaddr && addr - sec->vaddr < sec->size ?
				 addr - sec->vaddr : UINT64_MAX;
		b->fdes[i].seq = i;
	}
	b->nfdes = (size_t)hdr->fde_count;
	/* an FDE listed twice would have its program run once per entry:
	 * linkers never do that, a corrupt header might (bounded work) */
	sort_fents(b->fdes, b->nfdes, true);
	for (size_t i = 1; i < b->nfdes; i++)
		if (b->fdes[i].off != UINT64_MAX && b->fdes[i].off == b->fdes[i - 1].off)
			return fail(diag, ".eh_frame_hdr", 0, SW_EBADHDR);
	sort_fents(b->fdes, b->nfdes, false);
	return 0;
}

/* Every FDE of the section, as sw_cfi_find_fde_linear walks them (up to an
 * .eh_frame terminator), sorted by start address.  An entry or FDE that
 * does not parse is an error: the scan stops there too. */
static int collect_scan(struct builder *b, size_t max, struct sw_diag *diag)
{
	const struct sw_cfi_section *sec = b->src->sec;
	struct sw_cfi_entry ent;
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t off = 0;
	int rc;

	while ((rc = sw_cfi_entry_at(sec, off, &ent, diag)) == 0) {
		if (ent.end <= off)
			return fail(diag, sec->name, off, SW_ELENGTH);
		if (ent.kind == SW_CFI_ZERO && sec->is_eh)
			break;
		if (ent.kind == SW_CFI_FDE) {
			rc = sw_cfi_parse_fde(sec, off, &fde, &cie, diag);
			if (rc < 0)
				return rc;
			if (fde.pc_end > fde.pc_begin) {
				if (b->nfdes >= max)
					return fail(diag, sec->name, off, SW_EFULL);
				if (!grow((void **)&b->fdes, &b->fdes_bytes,
					  (b->nfdes + 1) * sizeof(struct fent)))
					return fail(diag, sec->name, off, SW_ENOMEM);
				b->fdes[b->nfdes].start = fde.pc_begin;
				b->fdes[b->nfdes].end = fde.pc_end;
				b->fdes[b->nfdes].off = off;
				b->fdes[b->nfdes].seq = b->nfdes;
				b->nfdes++;
			}
		}
		off = ent.end;
	}
	if (rc < 0)
		return rc;
	sort_fents(b->fdes, b->nfdes, false);
	return 0;
}

/* ------------------------------------------------------------ blob */

static int make_blob(struct builder *b, struct sw_table **out, struct sw_diag *diag)
{
	const struct sw_table_src *src = b->src;
	uint64_t lo = 0, span = 0;
	size_t npages = 0, size;
	struct sw_table *t;
	uint32_t *pages, *rows;
	uint32_t dwarf = 0, gap = 0;

	if (b->npieces) {
		uint64_t first = b->pieces[0].start, last = b->pieces[b->npieces - 1].start;
		if (first < src->bias)
			return fail(diag, src->sec->name, 0, SW_ERANGE);
		lo = (first - src->bias) & ~(((uint64_t)1 << SW_TABLE_PAGE_SHIFT) - 1);
		span = last - src->bias - lo;
		if (span >> 32)
			return fail(diag, src->sec->name, 0, SW_EFULL);
		npages = (size_t)(span >> SW_TABLE_PAGE_SHIFT) + 1;
	}
	if (b->npieces > UINT32_MAX / 2)
		return fail(diag, src->sec->name, 0, SW_EFULL);
	size = sizeof(struct sw_table) + (size_t)b->nrules * sizeof(struct sw_compiled) +
	       (npages + 1) * 4 + b->npieces * 4;
	t = map(size);
	if (!t)
		return fail(diag, src->sec->name, 0, SW_ENOMEM);
	t->magic = SW_TABLE_MAGIC;
	t->version = SW_TABLE_VERSION;
	t->machine = TABLE_MACHINE;
	t->page_shift = SW_TABLE_PAGE_SHIFT;
	t->size = (uint32_t)size;
	t->lo = lo;
	t->npages = (uint32_t)npages;
	t->nrows = (uint32_t)b->npieces;
	t->nrules = b->nrules;
	t->rules_off = sizeof(struct sw_table);
	t->pages_off = t->rules_off + b->nrules * (uint32_t)sizeof(struct sw_compiled);
	t->rows_off = t->pages_off + (uint32_t)(npages + 1) * 4;
	t->fdes = (uint32_t)b->nfdes;
	t->bad_fdes = b->bad_fdes;
	if (src->build_id && src->build_id_len) {
		t->build_id_len = src->build_id_len < sizeof(t->build_id) ?
				  (uint32_t)src->build_id_len : (uint32_t)sizeof(t->build_id);
		memcpy(t->build_id, src->build_id, t->build_id_len);
	}
	if (b->nrules)
		memcpy((char *)t + t->rules_off, b->rules, (size_t)b->nrules * sizeof(struct sw_compiled));
	pages = (uint32_t *)(void *)((char *)t + t->pages_off);
	rows = (uint32_t *)(void *)((char *)t + t->rows_off);
	size_t p = 0;
	for (size_t i = 0; i < b->npieces; i++) {
		uint64_t rel = b->pieces[i].start - src->bias - lo;
		size_t page = (size_t)(rel >> SW_TABLE_PAGE_SHIFT);
		while (p <= page)
			pages[p++] = (uint32_t)i;
		rows[i] = (uint32_t)(rel & ((1u << SW_TABLE_PAGE_SHIFT) - 1)) << SW_TABLE_RULE_BITS |
			  b->pieces[i].kind;
		dwarf += b->pieces[i].kind == SW_TABLE_DWARF;
		gap += b->pieces[i].kind == SW_TABLE_GAP;
	}
	while (p <= npages)
		pages[p++] = (uint32_t)b->npieces;
	t->dwarf_rows = dwarf;
	t->gap_rows = gap;
	*out = t;
	return 0;
}

/* ------------------------------------------------------------ entry */

int sw_table_build(const struct sw_table_src *src, struct sw_table **out, struct sw_diag *diag)
{
	const struct sw_cfi_section *sec = src->sec;
	struct builder b;
	size_t maxfdes;
	int rc;

	*out = NULL;
	if (!sec || (!sec->data && sec->size))
		return fail(diag, sec ? sec->name : "", 0, SW_EINVAL);
	memset(&b, 0, sizeof(b));
	b.src = src;
	/* bounds from the input: an entry takes at least 4 bytes (a header
	 * table entry at least 2); each FDE's rows come from its advance
	 * instructions (one byte at least each) plus one leading and one
	 * trailing row of its own */
	if (src->hdr)
		maxfdes = src->hdr->table ? (size_t)src->hdr->fde_count : 0;
	else
		maxfdes = sec->size / 4 + 1;
	if (src->hdr && (!src->hdr->table || src->hdr->fde_count > src->hdr->size / 2))
		return fail(diag, ".eh_frame_hdr", 0, SW_EBADHDR);
	if (maxfdes > (SIZE_MAX / 4) / sizeof(struct fent))
		return fail(diag, sec->name, 0, SW_EFULL);
	b.maxpieces = sec->size + 3 * maxfdes + 4;
	/* the header's table is all there; the scan grows its array */
	if ((src->hdr && !grow((void **)&b.fdes, &b.fdes_bytes, maxfdes * sizeof(struct fent))) ||
	    !grow((void **)&b.pieces, &b.pieces_bytes, 4096 * sizeof(struct piece))) {
		rc = fail(diag, sec->name, 0, SW_ENOMEM);
		goto out;
	}
	rc = src->hdr ? collect_hdr(&b, diag) : collect_scan(&b, maxfdes, diag);
	if (rc < 0)
		goto out;

	for (size_t i = 0; i < b.nfdes && !b.err; i++) {
		const struct fent *f = &b.fdes[i];
		if (src->hdr) {
			/* found for [its start, the next entry's start); the
			 * last entry's FDE bounds it (an unreadable last entry
			 * means errors from its start on: one DWARF byte says so) */
			uint64_t hi = i + 1 < b.nfdes ? b.fdes[i + 1].start : UINT64_MAX;
			if (f->start >= hi)
				continue;
			if (hi == UINT64_MAX && f->off == UINT64_MAX)
				hi = f->start + 1;
			place_fde(&b, f->off, f->start, hi);
		} else {
			/* where this FDE alone covers the address: from the end
			 * of the FDEs before it to the next one's start.  An FDE
			 * past the union of those before starts a new one (the
			 * addresses in between are filled first: the old union
			 * tells which are covered) */
			if (!b.has_seg || f->start >= b.seg_end) {
				fill_to(&b, f->start);
				b.has_seg = true;
				b.seg_start = f->start;
				b.seg_end = f->start;
			}
			uint64_t lo = f->start > b.seg_end ? f->start : b.seg_end;
			uint64_t hi = i + 1 < b.nfdes && b.fdes[i + 1].start < f->end ?
				      b.fdes[i + 1].start : f->end;
			if (lo < hi)
				place_fde(&b, f->off, lo, hi);
			if (f->end > b.seg_end)
				b.seg_end = f->end;
		}
	}
	if (!b.err && (b.started || b.has_seg)) {
		fill_to(&b, b.has_seg && b.seg_end > b.pos ? b.seg_end : b.pos);
		put(&b, b.pos, SW_TABLE_GAP);
	}
	if (b.err) {
		rc = fail(diag, sec->name, 0, b.err);
		goto out;
	}
	rc = make_blob(&b, out, diag);
out:
	unmap(b.fdes, b.fdes_bytes);
	unmap(b.pieces, b.pieces_bytes);
	unmap(b.rules, (size_t)b.rules_cap * sizeof(*b.rules));
	unmap(b.hash, (size_t)b.hash_cap * sizeof(*b.hash));
	return rc;
}

void sw_table_free(struct sw_table *t)
{
	if (t)
		munmap(t, t->size);
}
