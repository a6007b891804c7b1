/*
 * DWARF .debug_info for symbolization (dwarf.h): the address -> unit
 * index built at open, the one-pass parse of a unit into its functions and
 * their trees of inlined calls, and the lookups.  DIE-level reading
 * (forms, abbreviations, ranges, names) is in dwarf_die.c.
 */
#include <string.h>

#include "symbolize/dwarf_int.h"

#define MAX_DEPTH 256           /* DIE nesting recorded; deeper DIEs are read, not kept */
#define NONE UINT32_MAX

/* An address range of the index: a unit's, from .debug_aranges or its top DIE. */
/* Whether a language's symbols are mangled (their DWARF names are not the
 * linkage names): what binutils decides with its mangle_style; C, Fortran,
 * Pascal, assembly and their kin keep source names as symbols. */
static bool mangles(uint16_t lang)
{
	switch (lang) {
	case DW_LANG_C89: case DW_LANG_C: case DW_LANG_C99: case DW_LANG_C11:
	case DW_LANG_Cobol74: case DW_LANG_Cobol85: case DW_LANG_Fortran77:
	case DW_LANG_Fortran90: case DW_LANG_Fortran95: case DW_LANG_Pascal83:
	case DW_LANG_PLI: case DW_LANG_UPC: case DW_LANG_Mips_Assembler:
		return false;
	default:
		return true;
	}
}

struct aentry {
	uint64_t lo, hi;
	uint64_t maxhi;             /* the largest hi of entries [0..this] (overlap scans) */
	uint32_t unit;              /* index in d->file.units */
};

/* A concrete subprogram. */
struct func {
	const char *name;
	bool linkage;               /* name is a linkage name (or the language's
				     * source names are: C, assembly) */
	uint64_t low;               /* entry: entry_pc, low_pc or the first range's
				     * start (gcc lists the hot part, which holds
				     * the entry, before "name.cold") */
	uint32_t first_child;       /* first inlined call (struct inl), NONE */
	uint32_t kfirst, kcount;    /* its children's ranges in parsed->kids (kcount 0:
				     * few children, walked in DIE order) */
};

/* An inlined call (DW_TAG_inlined_subroutine). */
struct inl {
	const char *name;
	uint32_t rfirst, rcount;    /* its ranges in parsed->rngs */
	uint32_t first_child;       /* NONE when none */
	uint32_t sibling;           /* next call with the same parent, NONE */
	uint32_t parent;            /* func index, or inl index | INL_BIT */
	uint32_t call_file, call_line, call_column;
	uint32_t kfirst, kcount;    /* as struct func's */
};

/* A range of a child inlined call, in a parent's sorted slice of
 * parsed->kids: a node with many children (a large function holds
 * thousands of direct inlined calls) finds the one holding an address by
 * binary search instead of walking them. */
struct kid {
	uint64_t lo, hi;
	uint32_t inl;
};
#define KIDS_MIN 8          /* children's ranges that make a table worth it */
#define INL_BIT 0x80000000u

/* A range of a function, in the sorted table. */
struct frange {
	uint64_t lo, hi;
	uint64_t maxhi;             /* the largest hi of ranges [0..this] */
	uint32_t func;
};

/* A parsed unit. */
struct dw_parsed {
	const struct dw_ctx *c;
	struct func *funcs;
	size_t nfuncs;
	struct inl *inls;
	size_t ninls;
	struct dw_range *rngs;
	struct frange *fr;          /* by lo (then larger first) */
	size_t nfr;
	struct kid *kids;           /* slices by parent, each sorted by lo */
	struct sw_line_table line;
	bool have_line;
};

struct sw_dwarf {
	struct dw_file file;        /* the module's */
	struct dw_file alt;         /* the dwz file's (have_alt) */
	bool have_alt;
	struct sw_arena *a;
	struct aentry *index;       /* by lo */
	size_t nindex;
	uint32_t *unranged;         /* units whose top DIE has no range */
	size_t nunranged;
	_Atomic uint64_t parsed;
	_Atomic uint64_t errors;
};

void dw_error(const struct dw_file *f)
{
	atomic_fetch_add_explicit(&f->d->errors, 1, memory_order_relaxed);
}

struct sw_arena *dw_arena(const struct dw_file *f)
{
	return f->d->a;
}

/* ---------------------------------------------------------------- sorting */

/* Heap sorts (no malloc, O(n log n) on adversarial input). */
#define DEFINE_HEAPSORT(NAME, T, LESS)                                          \
	static void NAME##_sift(T *v, size_t i, size_t n)                       \
	{                                                                       \
		for (;;) {                                                      \
			size_t l = 2 * i + 1, m = i;                            \
			if (l < n && LESS(&v[m], &v[l]))                        \
				m = l;                                          \
			if (l + 1 < n && LESS(&v[m], &v[l + 1]))                \
				m = l + 1;                                      \
			if (m == i)                                             \
				return;                                         \
			T t_ = v[i];                                            \
			v[i] = v[m];                                            \
			v[m] = t_;                                              \
			i = m;                                                  \
		}                                                               \
	}                                                                       \
	static void NAME(T *v, size_t n)                                        \
	{                                                                       \
		for (size_t i = n / 2; i-- > 0;)                                \
			NAME##_sift(v, i, n);                                   \
		for (size_t i = n; i-- > 1;) {                                  \
			T t_ = v[0];                                            \
			v[0] = v[i];                                            \
			v[i] = t_;                                              \
			NAME##_sift(v, 0, i);                                   \
		}                                                               \
	}

/* by lo, then the larger range first (so a containing range precedes the
 * ranges nested in it) */
#define RANGE_LESS(x, y) ((x)->lo < (y)->lo || ((x)->lo == (y)->lo && (x)->hi > (y)->hi))
DEFINE_HEAPSORT(sort_aentries, struct aentry, RANGE_LESS)
DEFINE_HEAPSORT(sort_franges, struct frange, RANGE_LESS)

/* ---------------------------------------------------------------- open */

/* Walk the unit headers of f->s.info into f->units.  Returns 0, SW_ENOMEM,
 * or a parse error when not even the first header can be read. */
static int walk_units(struct dw_file *f)
{
	struct sw_reader r;
	struct dw_vec v = { .esz = sizeof(struct dw_unit) };
	int rc = 0;

	sw_rd_init(&r, f->s.info.data, f->s.info.size, 0, ".debug_info");
	while (sw_rd_left(&r) > 0) {
		uint64_t off = sw_rd_off(&r);
		uint64_t len = sw_rd_u32(&r);
		uint8_t os = 4;
		if (len == 0xffffffffu) {
			len = sw_rd_u64(&r);
			os = 8;
		} else if (len >= 0xfffffff0u) {
			sw_rd_fail(&r, SW_ELENGTH);
		}
		if (r.err || len > sw_rd_left(&r)) {
			sw_rd_fail(&r, SW_ELENGTH);
			break;
		}
		uint64_t end = sw_rd_off(&r) + len;
		struct sw_reader h;
		sw_rd_sub(&h, &r, r.pos, len);
		uint16_t version = sw_rd_u16(&h);
		uint8_t type = DW_UT_compile, as = 0;
		uint64_t abbrev = 0;
		if (version >= 2 && version <= 4) {
			abbrev = sw_rd_un(&h, os);
			as = sw_rd_u8(&h);
		} else if (version == 5) {
			type = sw_rd_u8(&h);
			as = sw_rd_u8(&h);
			abbrev = sw_rd_un(&h, os);
		}
		sw_rd_skip(&r, len);
		if (version < 2 || version > 5 || h.err || (as != 4 && as != 8)) {
			dw_error(f);
			continue;
		}
		if (type != DW_UT_compile && type != DW_UT_partial)
			continue;   /* type, skeleton and split units: not ours */
		struct dw_unit *u = dw_vec_push(&v);
		if (!u) {
			rc = SW_ENOMEM;
			break;
		}
		u->off = off;
		u->die_off = sw_rd_off(&h);
		u->end = end;
		u->abbrev_off = abbrev;
		u->version = version;
		u->addr_size = as;
		u->offset_size = os;
	}
	if (!rc && r.err) {
		dw_error(f);
		if (v.n == 0)
			rc = r.err;
	}
	if (!rc && v.n) {
		f->units = dw_vec_to_arena(&v, f->d->a);
		if (!f->units)
			rc = SW_ENOMEM;
		f->nunits = v.n;
	}
	dw_vec_free(&v);
	return rc;
}

/* Add the sets of .debug_aranges to the index; mark the units they cover
 * in `covered`. */
static int read_aranges(struct sw_dwarf *d, struct dw_vec *idx, uint8_t *covered)
{
	const struct sw_bytes *b = &d->file.s.aranges;
	struct sw_reader r;

	sw_rd_init(&r, b->data, b->size, 0, ".debug_aranges");
	while (sw_rd_left(&r) > 0 && !r.err) {
		uint64_t len = sw_rd_u32(&r);
		uint8_t os = 4;
		if (len == 0xffffffffu) {
			len = sw_rd_u64(&r);
			os = 8;
		}
		if (r.err || len > sw_rd_left(&r)) {
			dw_error(&d->file);
			break;
		}
		struct sw_reader s;
		sw_rd_sub(&s, &r, r.pos, len);
		sw_rd_skip(&r, len);
		uint16_t version = sw_rd_u16(&s);
		uint64_t info = sw_rd_un(&s, os);
		uint8_t as = sw_rd_u8(&s), seg = sw_rd_u8(&s);
		struct dw_unit *u = dw_unit_header(&d->file, info);
		if (s.err || version != 2 || (as != 4 && as != 8) || seg != 0 || !u || u->off != info) {
			dw_error(&d->file);
			continue;
		}
		/* tuples start at a multiple of their size from the set's start */
		uint64_t hdr = sw_rd_off(&s) - (sw_rd_off(&r) - len) + (os == 8 ? 12 : 4);
		uint64_t pad = (2u * as - hdr % (2u * as)) % (2u * as);
		sw_rd_skip(&s, pad);
		uint32_t ui = (uint32_t)(u - d->file.units);
		bool any = false;
		while (sw_rd_left(&s) >= 2u * as) {
			uint64_t lo = sw_rd_un(&s, as), n = sw_rd_un(&s, as);
			if (lo == 0 && n == 0)
				break;
			if (lo == 0 || n == 0 || lo + n < lo)
				continue;
			struct aentry *e = dw_vec_push(idx);
			if (!e)
				return SW_ENOMEM;
			e->lo = lo;
			e->hi = lo + n;
			e->unit = ui;
			any = true;
		}
		if (any)
			covered[ui] = 1;
	}
	return 0;
}

/* Index unit `ui` by its top DIE's ranges; a unit without any joins
 * d->unranged (searched when the index has no answer). */
static int index_unit(struct sw_dwarf *d, uint32_t ui, struct dw_vec *idx, struct dw_vec *unr)
{
	struct dw_unit *u = &d->file.units[ui];
	bool nomem = false;
	const struct dw_ctx *c = dw_ctx_get(&d->file, u, &nomem);

	if (!c)
		return nomem ? SW_ENOMEM : 0;
	if (c->tag != DW_TAG_compile_unit && c->tag != DW_TAG_partial_unit)
		return 0;
	struct sw_reader r;
	struct dw_die die;
	sw_rd_init(&r, d->file.s.info.data, u->end, 0, ".debug_info");
	sw_rd_skip(&r, u->die_off);
	const struct dw_abbrev *abv = dw_abbrev_find(&c->ab, sw_rd_uleb(&r));
	if (!abv)
		return 0;
	dw_die_read(c, &r, abv, &die);
	struct dw_vec rv = { .esz = sizeof(struct dw_range) };
	int rc = dw_die_ranges(c, &die, &rv);
	if (rc == SW_ENOMEM) {
		dw_vec_free(&rv);
		return rc;
	}
	if (rc)
		dw_error(&d->file);
	rc = 0;
	for (size_t i = 0; i < rv.n; i++) {
		const struct dw_range *x = (const struct dw_range *)rv.p + i;
		struct aentry *e = dw_vec_push(idx);
		if (!e) {
			rc = SW_ENOMEM;
			break;
		}
		e->lo = x->lo;
		e->hi = x->hi;
		e->unit = ui;
	}
	if (!rc && rv.n == 0) {
		u->no_ranges = true;
		uint32_t *p = dw_vec_push(unr);
		if (!p)
			rc = SW_ENOMEM;
		else
			*p = ui;
	}
	dw_vec_free(&rv);
	return rc;
}

int sw_dwarf_open(const struct sw_dwarf_sections *dw, const struct sw_dwarf_sections *alt,
		  struct sw_arena *a, struct sw_dwarf **out)
{
	struct sw_dwarf *d = sw_arena_alloc(a, sizeof(*d), 64);
	int rc;

	if (!d)
		return SW_ENOMEM;
	d->a = a;
	d->file.s = *dw;
	d->file.d = d;
	atomic_init(&d->parsed, 0);
	atomic_init(&d->errors, 0);
	if (alt && alt->info.data) {
		d->have_alt = true;
		d->alt.s = *alt;
		d->alt.d = d;
		d->file.alt = &d->alt;
		rc = walk_units(&d->alt);
		if (rc == SW_ENOMEM)
			return rc;
	}
	rc = walk_units(&d->file);
	if (rc)
		return rc;

	struct dw_vec idx = { .esz = sizeof(struct aentry) };
	struct dw_vec unr = { .esz = sizeof(uint32_t) };
	uint8_t *covered = NULL;
	if (d->file.nunits) {
		covered = sw_scratch_alloc(d->file.nunits);
		if (!covered)
			return SW_ENOMEM;
		memset(covered, 0, d->file.nunits);
	}
	if (d->file.s.aranges.data)
		rc = read_aranges(d, &idx, covered);
	for (uint32_t ui = 0; !rc && ui < d->file.nunits; ui++)
		if (!covered[ui])
			rc = index_unit(d, ui, &idx, &unr);
	sw_scratch_free(covered);
	if (!rc && idx.n) {
		sort_aentries(idx.p, idx.n);
		struct aentry *e = idx.p;
		uint64_t m = 0;
		for (size_t i = 0; i < idx.n; i++) {
			m = e[i].hi > m ? e[i].hi : m;
			e[i].maxhi = m;
		}
		d->index = dw_vec_to_arena(&idx, a);
		d->nindex = idx.n;
		if (!d->index)
			rc = SW_ENOMEM;
	}
	if (!rc && unr.n) {
		d->unranged = dw_vec_to_arena(&unr, a);
		d->nunranged = unr.n;
		if (!d->unranged)
			rc = SW_ENOMEM;
	}
	dw_vec_free(&idx);
	dw_vec_free(&unr);
	if (rc)
		return rc;
	*out = d;
	return 0;
}

/* ---------------------------------------------------------------- unit parse */

struct build {
	struct dw_vec funcs, inls, rngs, fr;
	struct dw_vec tmp;          /* one DIE's ranges */
	uint64_t work;              /* attributes read (bounded: walk_dies) */
};

static void build_free(struct build *b)
{
	dw_vec_free(&b->funcs);
	dw_vec_free(&b->inls);
	dw_vec_free(&b->rngs);
	dw_vec_free(&b->fr);
	dw_vec_free(&b->tmp);
}

/* Owners of DIE children, as the walk records them per depth. */
#define OWN_NONE UINT32_MAX

/* The DIE's ranges into b->tmp.  A malformed list is counted and gives
 * what could be read; only SW_ENOMEM is returned. */
static int read_ranges(const struct dw_ctx *c, struct build *b, const struct dw_die *die)
{
	b->tmp.n = 0;
	int rc = dw_die_ranges(c, die, &b->tmp);
	if (rc == SW_ENOMEM)
		return rc;
	if (rc)
		dw_error(c->f);
	return 0;
}

/* A subprogram with code: a func and its ranges.  Returns the func index
 * (as an owner) or OWN_NONE. */
static int add_func(const struct dw_ctx *c, struct build *b, const struct dw_die *die,
		    uint32_t *owner)
{
	bool nomem = false;

	*owner = OWN_NONE;
	int rc = read_ranges(c, b, die);
	if (rc || b->tmp.n == 0)
		return rc;
	if (b->funcs.n >= INL_BIT)
		return SW_ENOMEM;
	uint32_t fi = (uint32_t)b->funcs.n;
	struct func *fn = dw_vec_push(&b->funcs);
	if (!fn)
		return SW_ENOMEM;
	fn->name = dw_die_name(c, die, &nomem, &b->work, &fn->linkage);
	fn->linkage |= !mangles(c->lang);
	fn->first_child = NONE;
	const struct dw_range *r = b->tmp.p;
	uint64_t low = r[0].lo;
	for (size_t i = 0; i < b->tmp.n; i++) {
		struct frange *e = dw_vec_push(&b->fr);
		if (!e)
			return SW_ENOMEM;
		e->lo = r[i].lo;
		e->hi = r[i].hi;
		e->func = fi;
	}
	uint64_t entry;
	if (dw_val_addr(c, &die->entry, &entry))
		low = entry;
	else if (die->entry.cls == DW_C_CONST && dw_val_addr(c, &die->low, &entry))
		low = entry + die->entry.u;   /* DWARF 5: an offset from low_pc */
	fn->low = low;
	*owner = fi;
	return nomem ? SW_ENOMEM : 0;
}

/* A constant attribute (data, udata, sdata, implicit_const: gcc gives
 * DW_AT_call_file as implicit_const in DWARF 5) as 32 bits, 0 if none. */
static uint32_t const_u32(const struct dw_val *v)
{
	if ((v->cls != DW_C_CONST && v->cls != DW_C_SCONST) || v->u > UINT32_MAX)
		return 0;
	return (uint32_t)v->u;
}

/* An inlined call under `parent` (a func index or inl | INL_BIT). */
static int add_inl(const struct dw_ctx *c, struct build *b, const struct dw_die *die,
		   uint32_t parent, uint32_t *owner)
{
	bool nomem = false;

	*owner = OWN_NONE;
	int rc = read_ranges(c, b, die);
	if (rc || b->tmp.n == 0 || b->inls.n >= INL_BIT || b->rngs.n + b->tmp.n >= UINT32_MAX)
		return rc;
	uint32_t ii = (uint32_t)b->inls.n;
	struct inl *n = dw_vec_push(&b->inls);
	if (!n)
		return SW_ENOMEM;
	bool linkage;
	n->name = dw_die_name(c, die, &nomem, &b->work, &linkage);
	n->rfirst = (uint32_t)b->rngs.n;
	n->rcount = (uint32_t)b->tmp.n;
	n->parent = parent;
	n->first_child = n->sibling = NONE;
	n->call_file = const_u32(&die->call_file);
	n->call_line = const_u32(&die->call_line);
	n->call_column = const_u32(&die->call_column);
	const struct dw_range *r = b->tmp.p;
	for (size_t i = 0; i < b->tmp.n; i++) {
		struct dw_range *e = dw_vec_push(&b->rngs);
		if (!e)
			return SW_ENOMEM;
		*e = r[i];
	}
	*owner = ii | INL_BIT;
	return nomem ? SW_ENOMEM : 0;
}

/* One pass over the unit's DIEs.  Returns 0 (errors in the DIEs counted:
 * what was read before stays), SW_ENOMEM. */
static int walk_dies(const struct dw_ctx *c, struct build *b)
{
	const struct dw_unit *u = c->u;
	struct sw_reader r;
	uint32_t stack[MAX_DEPTH];
	size_t depth = 0;
	bool deep = false;
	struct dw_die die;
	int rc = 0;

	/* attribute reads allowed: an abbreviation of many zero-size forms
	 * (flag_present, implicit_const) would otherwise make a small unit
	 * cost its size times the attribute count */
	uint64_t budget = 64 * (u->end - u->die_off) + (1u << 20);
	sw_rd_init(&r, c->f->s.info.data, u->end, 0, ".debug_info");
	sw_rd_skip(&r, u->die_off);
	while (!r.err && sw_rd_left(&r) > 0) {
		uint64_t off = sw_rd_off(&r);
		uint64_t code = sw_rd_uleb(&r);
		if (r.err)
			break;
		if (code == 0) {
			if (depth == 0)
				break;   /* padding after the top DIE's children */
			depth--;
			continue;
		}
		const struct dw_abbrev *abv = dw_abbrev_find(&c->ab, code);
		if (!abv) {
			sw_rd_fail(&r, SW_EBADOP);
			break;
		}
		b->work += abv->fixed_size >= 0 ? 1 : abv->nattrs + 1;
		if (b->work > budget) {
			sw_rd_fail(&r, SW_ESTEPLIMIT);
			break;
		}
		uint32_t owner = depth > 0 && depth <= MAX_DEPTH ? stack[depth - 1] : OWN_NONE;
		uint32_t child = owner;
		if (abv->tag == DW_TAG_subprogram) {
			dw_die_read(c, &r, abv, &die);
			die.off = off;
			if (!r.err)
				rc = add_func(c, b, &die, &child);
		} else if (abv->tag == DW_TAG_inlined_subroutine && owner != OWN_NONE) {
			dw_die_read(c, &r, abv, &die);
			die.off = off;
			if (!r.err)
				rc = add_inl(c, b, &die, owner, &child);
		} else {
			dw_die_skip(c, &r, abv);
			if (depth == 0)
				child = OWN_NONE;
		}
		if (rc)
			break;
		if (abv->children) {
			if (depth < MAX_DEPTH)
				stack[depth] = child;
			else
				deep = true;
			depth++;
		} else if (depth == 0) {
			break;   /* a top DIE without children */
		}
	}
	if (r.err || deep)
		dw_error(c->f);
	return rc;
}

/* Link each inlined call to its parent (children in DIE order) and sort
 * the function ranges. */
static void link_tree(struct dw_parsed *p)
{
	for (size_t i = p->ninls; i-- > 0;) {
		struct inl *n = &p->inls[i];
		uint32_t *head = n->parent & INL_BIT ? &p->inls[n->parent & ~INL_BIT].first_child
						     : &p->funcs[n->parent].first_child;
		n->sibling = *head;
		*head = (uint32_t)i;
	}
	sort_franges(p->fr, p->nfr);
	uint64_t m = 0;
	for (size_t i = 0; i < p->nfr; i++) {
		m = p->fr[i].hi > m ? p->fr[i].hi : m;
		p->fr[i].maxhi = m;
	}
}

static void kid_sift(struct kid *v, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && v[m].lo < v[l].lo)
			m = l;
		if (l + 1 < n && v[m].lo < v[l + 1].lo)
			m = l + 1;
		if (m == i)
			return;
		struct kid t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

static void kid_sort(struct kid *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		kid_sift(v, i, n);
	for (size_t k = n; k-- > 1;) {
		struct kid t = v[0];
		v[0] = v[k];
		v[k] = t;
		kid_sift(v, 0, k);
	}
}

/* Children's ranges of the node whose first child is `first` into
 * kids from `at`, sorted, and sets the node's kfirst and kcount (kids NULL:
 * count only).  Returns the ranges taken. */
static size_t node_kids(struct dw_parsed *p, uint32_t first, struct kid *kids, size_t at,
			uint32_t *kfirst, uint32_t *kcount)
{
	size_t nkids = 0, nr = 0;
	for (uint32_t c = first; c != NONE && nkids <= p->ninls; c = p->inls[c].sibling) {
		nkids++;
		nr += p->inls[c].rcount;
	}
	if (nr < KIDS_MIN || nr > UINT32_MAX)
		return 0;
	if (kids) {
		size_t k = at;
		for (uint32_t c = first; c != NONE && k < at + nr; c = p->inls[c].sibling)
			for (uint32_t i = 0; i < p->inls[c].rcount && k < at + nr; i++) {
				const struct dw_range *r = &p->rngs[p->inls[c].rfirst + i];
				kids[k++] = (struct kid){ r->lo, r->hi, c };
			}
		kid_sort(kids + at, nr);
		*kfirst = (uint32_t)at;
		*kcount = (uint32_t)nr;
	}
	return nr;
}

/* The sorted child tables of every node with KIDS_MIN children or more.
 * Without memory the nodes keep kcount 0 (walked in DIE order). */
static void build_kids(struct dw_parsed *p, struct sw_arena *a)
{
	size_t total = 0;
	uint32_t kf, kc;

	for (size_t i = 0; i < p->nfuncs; i++)
		total += node_kids(p, p->funcs[i].first_child, NULL, 0, &kf, &kc);
	for (size_t i = 0; i < p->ninls; i++)
		total += node_kids(p, p->inls[i].first_child, NULL, 0, &kf, &kc);
	if (total == 0 || total > UINT32_MAX)
		return;
	p->kids = sw_arena_alloc(a, total * sizeof(*p->kids), 8);
	if (!p->kids)
		return;
	size_t at = 0;
	for (size_t i = 0; i < p->nfuncs; i++)
		at += node_kids(p, p->funcs[i].first_child, p->kids, at, &p->funcs[i].kfirst,
				&p->funcs[i].kcount);
	for (size_t i = 0; i < p->ninls; i++)
		at += node_kids(p, p->inls[i].first_child, p->kids, at, &p->inls[i].kfirst,
				&p->inls[i].kcount);
}

/* The parsed unit, parsing it on first use.  NULL with *rc set: SW_ENOMEM
 * or an error that leaves the unit unreadable. */
static const struct dw_parsed *unit_parsed(struct sw_dwarf *d, struct dw_unit *u, int *rc)
{
	/* acquire: pairs with the release that published it */
	struct dw_parsed *p = atomic_load_explicit(&u->parsed, memory_order_acquire);
	if (p)
		return p;
	bool nomem = false;
	const struct dw_ctx *c = dw_ctx_get(&d->file, u, &nomem);
	if (!c) {
		*rc = nomem ? SW_ENOMEM : SW_ENOTFOUND;
		return NULL;
	}
	struct build b = {
		.funcs = { .esz = sizeof(struct func) },
		.inls = { .esz = sizeof(struct inl) },
		.rngs = { .esz = sizeof(struct dw_range) },
		.fr = { .esz = sizeof(struct frange) },
		.tmp = { .esz = sizeof(struct dw_range) },
	};
	/* upper estimates from the unit's size (DIEs of these kinds take tens
	 * of bytes): the mappings fault in only what is used, and the arrays
	 * seldom move while they grow */
	size_t ub = (size_t)(u->end - u->die_off);
	p = sw_arena_alloc(d->a, sizeof(*p), 8);
	if (p && (!dw_vec_reserve(&b.funcs, ub / 64 + 16) || !dw_vec_reserve(&b.inls, ub / 32 + 16) ||
		  !dw_vec_reserve(&b.rngs, ub / 16 + 16) || !dw_vec_reserve(&b.fr, ub / 32 + 16)))
		p = NULL;
	*rc = p ? walk_dies(c, &b) : SW_ENOMEM;
	if (!*rc) {
		p->c = c;
		p->nfuncs = b.funcs.n;
		p->ninls = b.inls.n;
		p->nfr = b.fr.n;
		p->funcs = dw_vec_to_arena(&b.funcs, d->a);
		p->inls = dw_vec_to_arena(&b.inls, d->a);
		p->rngs = dw_vec_to_arena(&b.rngs, d->a);
		p->fr = dw_vec_to_arena(&b.fr, d->a);
		if ((b.funcs.n && !p->funcs) || (b.inls.n && !p->inls) ||
		    (b.rngs.n && !p->rngs) || (b.fr.n && !p->fr))
			*rc = SW_ENOMEM;
	}
	build_free(&b);
	if (*rc)
		return NULL;
	link_tree(p);
	build_kids(p, d->a);
	if (c->have_stmt) {
		int lr = sw_line_parse(&d->file.s, c->stmt_list, c->comp_dir, c->name,
				       u->addr_size, d->a, &p->line);
		if (lr == SW_ENOMEM) {
			*rc = lr;
			return NULL;
		}
		if (lr)
			dw_error(&d->file);
		else
			p->have_line = true;
	}
	struct dw_parsed *expect = NULL;
	/* release: the tables are complete before the pointer is seen */
	if (!atomic_compare_exchange_strong_explicit(&u->parsed, &expect, p, memory_order_release,
						     memory_order_acquire))
		return expect;
	atomic_fetch_add_explicit(&d->parsed, 1, memory_order_relaxed);
	return p;
}

/* ---------------------------------------------------------------- lookup */

/* The innermost function of `p` whose range holds addr, or NONE; in
 * *piece that range. */
static uint32_t find_func(const struct dw_parsed *p, uint64_t addr, struct dw_range *piece)
{
	size_t lo = 0, hi = p->nfr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->fr[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges [0, lo) start at or below addr; walk back while one of them
	 * may still reach past addr; the latest start (then the smallest)
	 * is the innermost; between equal ranges the later DIE, as
	 * llvm-symbolizer and addr2line choose (glibc's assembly units
	 * describe __setcontext and then setcontext over the same bytes) */
	uint32_t best = NONE;
	uint64_t best_lo = 0, best_size = 0;
	for (size_t i = lo; i-- > 0 && p->fr[i].maxhi > addr;) {
		const struct frange *e = &p->fr[i];
		if (addr >= e->hi)
			continue;
		uint64_t size = e->hi - e->lo;
		if (best == NONE || e->lo > best_lo || (e->lo == best_lo && size < best_size) ||
		    (e->lo == best_lo && size == best_size && e->func > best)) {
			best = e->func;
			best_lo = e->lo;
			best_size = size;
		}
	}
	piece->lo = best_lo;
	piece->hi = best_lo + best_size;
	return best;
}

/* The range of inlined call n holding addr, or NULL. */
static const struct dw_range *inl_range(const struct dw_parsed *p, const struct inl *n,
					uint64_t addr)
{
	for (uint32_t i = 0; i < n->rcount; i++) {
		const struct dw_range *r = &p->rngs[n->rfirst + i];
		if (addr >= r->lo && addr < r->hi)
			return r;
	}
	return NULL;
}

/* Fill the frames of function fi at addr, which its range `piece` holds;
 * returns the level count. */
static int frames(const struct dw_parsed *p, uint32_t fi, const struct dw_range *piece,
		  uint64_t addr, struct sw_dwarf_frame *out, int max)
{
	/* the chain, outermost first: the inlined calls holding addr */
	uint32_t chain[MAX_DEPTH];
	uint64_t lows[MAX_DEPTH];
	int n = 0;
	uint32_t c = p->funcs[fi].first_child;
	uint32_t kf = p->funcs[fi].kfirst, kc = p->funcs[fi].kcount;
	size_t steps = 0;

	while (c != NONE && n < MAX_DEPTH && steps++ <= p->ninls) {
		if (kc) {
			/* many children: the last range starting at or below
			 * addr (siblings' code does not overlap) */
			const struct kid *k = p->kids + kf;
			uint32_t lo = 0, hi = kc;
			while (lo < hi) {
				uint32_t mid = lo + (hi - lo) / 2;
				if (k[mid].lo <= addr)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == 0 || addr >= k[lo - 1].hi)
				break;
			c = k[lo - 1].inl;
			chain[n] = c;
			lows[n++] = k[lo - 1].lo;
		} else {
			const struct dw_range *r = inl_range(p, &p->inls[c], addr);
			if (!r) {
				c = p->inls[c].sibling;
				continue;
			}
			chain[n] = c;
			lows[n++] = r->lo;
		}
		kf = p->inls[c].kfirst;
		kc = p->inls[c].kcount;
		c = p->inls[c].first_child;
	}
	const struct sw_line_row *row = NULL;
	if (p->have_line && sw_line_lookup(&p->line, addr, &row) != 0)
		row = NULL;
	/* level k (0 = innermost): chain[n-1-k], and the function at k == n */
	for (int k = 0; k <= n && k < max; k++) {
		struct sw_dwarf_frame *f = &out[k];
		memset(f, 0, sizeof(*f));
		if (k < n) {
			const struct inl *in = &p->inls[chain[n - 1 - k]];
			f->name = in->name;
			f->low = lows[n - 1 - k];
			f->inlined = true;
		} else {
			f->name = p->funcs[fi].name;
			f->linkage = p->funcs[fi].linkage;
			/* the entry; in a part of the function apart from
			 * it ("name.cold"), that part's start, as its
			 * symbol's */
			uint64_t entry = p->funcs[fi].low;
			f->low = entry >= piece->lo && entry < piece->hi ? entry : piece->lo;
		}
		if (k == 0) {
			if (row) {
				f->file = p->have_line ? sw_line_file(&p->line, row->file) : NULL;
				f->line = row->line;
				f->column = row->column;
			}
		} else {
			/* the call site of the level inside this one */
			const struct inl *callee = &p->inls[chain[n - k]];
			f->file = p->have_line ? sw_line_file(&p->line, callee->call_file) : NULL;
			f->line = callee->call_line;
			f->column = callee->call_column;
		}
	}
	return n + 1;
}

/* One frame without a function: the line table's location. */
static int line_only(const struct dw_parsed *p, uint64_t addr, struct sw_dwarf_frame *out,
		     int max)
{
	const struct sw_line_row *row;

	if (!p->have_line || sw_line_lookup(&p->line, addr, &row) != 0)
		return 0;
	if (max > 0) {
		memset(out, 0, sizeof(*out));
		out->file = sw_line_file(&p->line, row->file);
		out->line = row->line;
		out->column = row->column;
	}
	return 1;
}

/* Unit `ui` parsed (NULL when it cannot be; SW_ENOMEM goes to *rc) and in
 * *fi its innermost function holding addr, or NONE. */
static const struct dw_parsed *unit_func(struct sw_dwarf *d, uint32_t ui, uint64_t addr,
					 uint32_t *fi, struct dw_range *piece, int *rc)
{
	int prc = 0;
	const struct dw_parsed *p = unit_parsed(d, &d->file.units[ui], &prc);

	*fi = NONE;
	if (!p) {
		if (prc == SW_ENOMEM)
			*rc = prc;
		return NULL;
	}
	*fi = find_func(p, addr, piece);
	return p;
}

int sw_dwarf_lookup(struct sw_dwarf *d, uint64_t addr, struct sw_dwarf_frame *out, int max)
{
	const struct dw_parsed *line_unit = NULL;
	int rc = 0;
	size_t lo = 0, hi = d->nindex;

	if (max < 0)
		max = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->index[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* every unit whose range holds addr: the first with a function wins
	 * (a COMDAT function two units describe is answered by either) */
	for (size_t i = lo; i-- > 0 && d->index[i].maxhi > addr;) {
		const struct aentry *e = &d->index[i];
		if (addr >= e->hi)
			continue;
		uint32_t fi;
		struct dw_range piece;
		const struct dw_parsed *p = unit_func(d, e->unit, addr, &fi, &piece, &rc);
		if (!p)
			continue;
		if (fi != NONE)
			return frames(p, fi, &piece, addr, out, max);
		if (!line_unit && p->have_line && line_only(p, addr, out, 0))
			line_unit = p;
	}
	/* units that gave no range: their functions' ranges */
	for (size_t i = 0; i < d->nunranged; i++) {
		uint32_t fi;
		struct dw_range piece;
		const struct dw_parsed *p = unit_func(d, d->unranged[i], addr, &fi, &piece, &rc);
		if (p && fi != NONE)
			return frames(p, fi, &piece, addr, out, max);
	}
	if (line_unit)
		return line_only(line_unit, addr, out, max);
	return rc;
}

void sw_dwarf_counts(const struct sw_dwarf *d, struct sw_dwarf_counts *out)
{
	out->units = d->file.nunits;
	out->parsed = atomic_load_explicit(&d->parsed, memory_order_relaxed);
	out->errors = atomic_load_explicit(&d->errors, memory_order_relaxed);
}
