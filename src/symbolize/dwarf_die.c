/*
 * Reading DIEs for dwarf.c: abbreviation tables, attribute forms (DWARF 2
 * to 5 and the GNU extensions), the per-unit context with DWARF 5's bases,
 * strings and addresses through their indices, range lists (.debug_ranges
 * and .debug_rnglists) and subroutine names along abstract_origin and
 * specification links.  Every byte through src/dwarf/reader.h.
 */
#include <string.h>

#include "symbolize/dwarf_int.h"

/* ---------------------------------------------------------------- vectors */

void *dw_vec_push(struct dw_vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void *p = sw_scratch_alloc(cap * v->esz);

		if (!p)
			return NULL;
		if (v->n)
			memcpy(p, v->p, v->n * v->esz);
		sw_scratch_free(v->p);
		v->p = p;
		v->cap = cap;
	}
	void *e = (char *)v->p + v->n++ * v->esz;
	memset(e, 0, v->esz);
	return e;
}

bool dw_vec_reserve(struct dw_vec *v, size_t cap)
{
	if (cap <= v->cap)
		return true;
	if (cap > SIZE_MAX / v->esz)
		return false;
	void *p = sw_scratch_alloc(cap * v->esz);
	if (!p)
		return false;
	if (v->n)
		memcpy(p, v->p, v->n * v->esz);
	sw_scratch_free(v->p);
	v->p = p;
	v->cap = cap;
	return true;
}

void dw_vec_free(struct dw_vec *v)
{
	sw_scratch_free(v->p);
	v->p = NULL;
	v->n = v->cap = 0;
}

void *dw_vec_to_arena(const struct dw_vec *v, struct sw_arena *a)
{
	if (!v->n)
		return NULL;
	void *p = sw_arena_alloc(a, v->n * v->esz, 8);
	if (p)
		memcpy(p, v->p, v->n * v->esz);
	return p;
}

/* ---------------------------------------------------------------- units */

struct dw_unit *dw_unit_at(const struct dw_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->units[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct dw_unit *u = &f->units[lo - 1];
	return off >= u->die_off && off < u->end ? u : NULL;
}

struct dw_unit *dw_unit_header(const struct dw_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->units[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->nunits && f->units[lo].off == off ? &f->units[lo] : NULL;
}

/* ---------------------------------------------------------------- forms */

/* Bytes of a value of `form` when fixed in this unit, else -1. */
static int form_size(uint16_t form, const struct dw_unit *u)
{
	switch (form) {
	case DW_FORM_addr: return u->addr_size;
	case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3: case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_ref_sup4: case DW_FORM_strx4:
	case DW_FORM_addrx4:
		return 4;
	case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16: return 16;
	case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset:
	case DW_FORM_strp_sup: case DW_FORM_GNU_strp_alt: case DW_FORM_GNU_ref_alt:
		return u->offset_size;
	case DW_FORM_ref_addr:
		return u->version <= 2 ? u->addr_size : u->offset_size;
	case DW_FORM_flag_present: case DW_FORM_implicit_const:
		return 0;
	default:
		return -1;
	}
}

/* Read one value of `form` (DW_FORM_indirect followed a bounded number of
 * times); an unknown form sets SW_EENCODING on the reader. */
static void read_val(const struct dw_ctx *c, struct sw_reader *r, uint16_t form, int64_t ic,
		     struct dw_val *v)
{
	const struct dw_unit *u = c->u;

	for (int hops = 0; form == DW_FORM_indirect; hops++) {
		uint64_t f = sw_rd_uleb(r);
		if (hops > 4 || f > 0xffff) {
			sw_rd_fail(r, SW_EENCODING);
			return;
		}
		form = (uint16_t)f;
		ic = 0;   /* implicit_const through indirect has no value to take */
	}
	v->s = NULL;
	switch (form) {
	case DW_FORM_addr: v->cls = DW_C_ADDR; v->u = sw_rd_un(r, u->addr_size); return;
	case DW_FORM_addrx: case DW_FORM_GNU_addr_index:
		v->cls = DW_C_ADDRX; v->u = sw_rd_uleb(r); return;
	case DW_FORM_addrx1: v->cls = DW_C_ADDRX; v->u = sw_rd_un(r, 1); return;
	case DW_FORM_addrx2: v->cls = DW_C_ADDRX; v->u = sw_rd_un(r, 2); return;
	case DW_FORM_addrx3: v->cls = DW_C_ADDRX; v->u = sw_rd_un(r, 3); return;
	case DW_FORM_addrx4: v->cls = DW_C_ADDRX; v->u = sw_rd_un(r, 4); return;
	case DW_FORM_data1: v->cls = DW_C_CONST; v->u = sw_rd_un(r, 1); return;
	case DW_FORM_data2: v->cls = DW_C_CONST; v->u = sw_rd_un(r, 2); return;
	case DW_FORM_data4: v->cls = DW_C_CONST; v->u = sw_rd_un(r, 4); return;
	case DW_FORM_data8: v->cls = DW_C_CONST; v->u = sw_rd_un(r, 8); return;
	case DW_FORM_udata: v->cls = DW_C_CONST; v->u = sw_rd_uleb(r); return;
	case DW_FORM_sdata: v->cls = DW_C_SCONST; v->u = (uint64_t)sw_rd_sleb(r); return;
	case DW_FORM_implicit_const: v->cls = DW_C_SCONST; v->u = (uint64_t)ic; return;
	case DW_FORM_data16: v->cls = DW_C_OTHER; sw_rd_skip(r, 16); return;
	case DW_FORM_flag: v->cls = DW_C_FLAG; v->u = sw_rd_u8(r); return;
	case DW_FORM_flag_present: v->cls = DW_C_FLAG; v->u = 1; return;
	case DW_FORM_string: v->cls = DW_C_STR; v->s = sw_rd_cstr(r); return;
	case DW_FORM_strp: v->cls = DW_C_STRP; v->u = sw_rd_un(r, u->offset_size); return;
	case DW_FORM_line_strp: v->cls = DW_C_LINE_STRP; v->u = sw_rd_un(r, u->offset_size); return;
	case DW_FORM_strp_sup: case DW_FORM_GNU_strp_alt:
		v->cls = DW_C_STRP_ALT; v->u = sw_rd_un(r, u->offset_size); return;
	case DW_FORM_strx: case DW_FORM_GNU_str_index:
		v->cls = DW_C_STRX; v->u = sw_rd_uleb(r); return;
	case DW_FORM_strx1: v->cls = DW_C_STRX; v->u = sw_rd_un(r, 1); return;
	case DW_FORM_strx2: v->cls = DW_C_STRX; v->u = sw_rd_un(r, 2); return;
	case DW_FORM_strx3: v->cls = DW_C_STRX; v->u = sw_rd_un(r, 3); return;
	case DW_FORM_strx4: v->cls = DW_C_STRX; v->u = sw_rd_un(r, 4); return;
	case DW_FORM_ref1: v->cls = DW_C_REF; v->u = u->off + sw_rd_un(r, 1); return;
	case DW_FORM_ref2: v->cls = DW_C_REF; v->u = u->off + sw_rd_un(r, 2); return;
	case DW_FORM_ref4: v->cls = DW_C_REF; v->u = u->off + sw_rd_un(r, 4); return;
	case DW_FORM_ref8: v->cls = DW_C_REF; v->u = u->off + sw_rd_un(r, 8); return;
	case DW_FORM_ref_udata: v->cls = DW_C_REF; v->u = u->off + sw_rd_uleb(r); return;
	case DW_FORM_ref_addr:
		v->cls = DW_C_REF;
		v->u = sw_rd_un(r, u->version <= 2 ? u->addr_size : u->offset_size);
		return;
	case DW_FORM_GNU_ref_alt: v->cls = DW_C_REF_ALT; v->u = sw_rd_un(r, u->offset_size); return;
	case DW_FORM_ref_sup4: v->cls = DW_C_REF_ALT; v->u = sw_rd_un(r, 4); return;
	case DW_FORM_ref_sup8: v->cls = DW_C_REF_ALT; v->u = sw_rd_un(r, 8); return;
	case DW_FORM_ref_sig8: v->cls = DW_C_OTHER; sw_rd_skip(r, 8); return;
	case DW_FORM_sec_offset: v->cls = DW_C_SECOFF; v->u = sw_rd_un(r, u->offset_size); return;
	case DW_FORM_rnglistx: v->cls = DW_C_RNGLISTX; v->u = sw_rd_uleb(r); return;
	case DW_FORM_loclistx: v->cls = DW_C_OTHER; sw_rd_uleb(r); return;
	case DW_FORM_block1: v->cls = DW_C_OTHER; sw_rd_skip(r, sw_rd_un(r, 1)); return;
	case DW_FORM_block2: v->cls = DW_C_OTHER; sw_rd_skip(r, sw_rd_un(r, 2)); return;
	case DW_FORM_block4: v->cls = DW_C_OTHER; sw_rd_skip(r, sw_rd_un(r, 4)); return;
	case DW_FORM_block: case DW_FORM_exprloc:
		v->cls = DW_C_OTHER; sw_rd_skip(r, sw_rd_uleb(r)); return;
	default:
		v->cls = DW_C_NONE;
		sw_rd_fail(r, SW_EENCODING);
		return;
	}
}

/* ---------------------------------------------------------------- abbreviations */

const struct dw_abbrev *dw_abbrev_find(const struct dw_abbrevs *ab, uint64_t code)
{
	if (ab->dense)
		return code >= 1 && code <= ab->n ? &ab->v[code - 1] : NULL;
	size_t lo = 0, hi = ab->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ab->v[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ab->n && ab->v[lo].code == code ? &ab->v[lo] : NULL;
}

static int cmp_code(const void *a, const void *b)
{
	uint64_t x = ((const struct dw_abbrev *)a)->code, y = ((const struct dw_abbrev *)b)->code;
	return x < y ? -1 : x > y;
}

/* Insertion sort would be quadratic on big tables; a heap sort keeps the
 * parse allocation-free and O(n log n). */
static void sift(struct dw_abbrev *v, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && cmp_code(&v[l], &v[m]) > 0)
			m = l;
		if (l + 1 < n && cmp_code(&v[l + 1], &v[m]) > 0)
			m = l + 1;
		if (m == i)
			return;
		struct dw_abbrev t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

static void sort_abbrevs(struct dw_abbrev *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t i = n; i-- > 1;) {
		struct dw_abbrev t = v[0];
		v[0] = v[i];
		v[i] = t;
		sift(v, 0, i);
	}
}

/* Parse the table at `off` for unit `u`: a counting pass, then a filling
 * pass into arena arrays.  Returns 0, SW_ENOMEM or a parse error. */
static int parse_abbrevs(const struct dw_file *f, const struct dw_unit *u, struct dw_abbrevs *out)
{
	struct sw_reader r;
	size_t n = 0, nattr = 0;
	uint64_t maxcode = 0;

	if (u->abbrev_off >= f->s.abbrev.size)
		return SW_ELENGTH;
	sw_rd_init(&r, f->s.abbrev.data, f->s.abbrev.size, 0, ".debug_abbrev");
	sw_rd_skip(&r, u->abbrev_off);
	const uint8_t *start = r.pos;
	for (;;) {
		uint64_t code = sw_rd_uleb(&r);
		if (r.err || code == 0)
			break;
		sw_rd_uleb(&r);
		sw_rd_u8(&r);
		for (;;) {
			uint64_t name = sw_rd_uleb(&r), form = sw_rd_uleb(&r);
			if (r.err || (name == 0 && form == 0))
				break;
			if (form == DW_FORM_implicit_const)
				sw_rd_sleb(&r);
			nattr++;
		}
		if (code > maxcode)
			maxcode = code;
		n++;
	}
	if (r.err)
		return r.err;
	struct sw_arena *a = dw_arena(f);
	struct dw_abbrev *v = sw_arena_alloc(a, (n ? n : 1) * sizeof(*v), 8);
	struct dw_attrspec *at = sw_arena_alloc(a, (nattr ? nattr : 1) * sizeof(*at), 8);
	if (!v || !at)
		return SW_ENOMEM;
	bool dense = maxcode == n;
	if (dense) {
		/* dense only when the codes are exactly 1..n (checked below) */
		for (size_t i = 0; i < n; i++)
			v[i].code = 0;
	}
	r.pos = start;
	size_t ai = 0;
	for (size_t i = 0; i < n; i++) {
		struct dw_abbrev e;
		e.code = sw_rd_uleb(&r);
		uint64_t tag = sw_rd_uleb(&r);
		e.tag = tag > 0xffff ? 0 : (uint16_t)tag;
		e.children = sw_rd_u8(&r) != 0;
		e.attrs = &at[ai];
		e.nattrs = 0;
		int32_t fixed = 0;
		for (;;) {
			uint64_t name = sw_rd_uleb(&r), form = sw_rd_uleb(&r);
			if (r.err || (name == 0 && form == 0))
				break;
			int64_t ic = form == DW_FORM_implicit_const ? sw_rd_sleb(&r) : 0;
			at[ai].name = name > 0xffff ? 0 : (uint16_t)name;
			at[ai].form = form > 0xffff ? 0 : (uint16_t)form;   /* 0: unknown, rejected when read */
			at[ai].implicit_const = ic;
			int sz = form_size(at[ai].form, u);
			if (sz < 0 || fixed < 0)
				fixed = -1;
			else
				fixed += sz;
			ai++;
			e.nattrs++;
		}
		e.fixed_size = fixed;
		if (dense) {
			if (e.code < 1 || e.code > n || v[e.code - 1].code != 0) {
				dense = false;    /* duplicate code: fall back to the sorted form */
				r.pos = start;
				i = (size_t)-1;
				ai = 0;
				continue;
			}
			v[e.code - 1] = e;
		} else {
			v[i] = e;
		}
	}
	if (r.err)
		return r.err;
	if (!dense)
		sort_abbrevs(v, n);
	out->v = v;
	out->n = n;
	out->dense = dense;
	return 0;
}

/* ---------------------------------------------------------------- DIEs */

void dw_die_skip(const struct dw_ctx *c, struct sw_reader *r, const struct dw_abbrev *abv)
{
	if (abv->fixed_size >= 0) {
		sw_rd_skip(r, (uint64_t)abv->fixed_size);
		return;
	}
	struct dw_val v;
	for (uint32_t i = 0; i < abv->nattrs && !r->err; i++) {
		int sz = form_size(abv->attrs[i].form, c->u);
		if (sz >= 0)
			sw_rd_skip(r, (uint64_t)sz);
		else
			read_val(c, r, abv->attrs[i].form, abv->attrs[i].implicit_const, &v);
	}
}

void dw_die_read(const struct dw_ctx *c, struct sw_reader *r, const struct dw_abbrev *abv,
		 struct dw_die *die)
{
	memset(die, 0, sizeof(*die));
	die->tag = abv->tag;
	die->children = abv->children;
	for (uint32_t i = 0; i < abv->nattrs && !r->err; i++) {
		struct dw_val v;
		struct dw_val *slot;

		read_val(c, r, abv->attrs[i].form, abv->attrs[i].implicit_const, &v);
		switch (abv->attrs[i].name) {
		case DW_AT_low_pc: slot = &die->low; break;
		case DW_AT_high_pc: slot = &die->high; break;
		case DW_AT_ranges: slot = &die->ranges; break;
		case DW_AT_entry_pc: slot = &die->entry; break;
		case DW_AT_call_file: slot = &die->call_file; break;
		case DW_AT_call_line: slot = &die->call_line; break;
		case DW_AT_call_column: slot = &die->call_column; break;
		case DW_AT_name: slot = &die->name; break;
		case DW_AT_linkage_name: case DW_AT_MIPS_linkage_name: slot = &die->linkage; break;
		case DW_AT_abstract_origin: slot = &die->origin; break;
		case DW_AT_specification: slot = &die->spec; break;
		case DW_AT_stmt_list: slot = &die->stmt; break;
		case DW_AT_comp_dir: slot = &die->comp_dir; break;
		case DW_AT_language: slot = &die->lang; break;
		case DW_AT_str_offsets_base: slot = &die->str_base; break;
		case DW_AT_addr_base: case DW_AT_GNU_addr_base: slot = &die->addr_base; break;
		case DW_AT_rnglists_base: slot = &die->rng_base; break;
		case DW_AT_GNU_ranges_base: slot = &die->gnu_ranges_base; break;
		default: continue;
		}
		*slot = v;
	}
}

/* ---------------------------------------------------------------- values */

/* The NUL-terminated string at `off` of section `b`, or NULL. */
static const char *sec_str(const struct sw_bytes *b, uint64_t off)
{
	if (!b->data || off >= b->size)
		return NULL;
	const char *s = (const char *)b->data + off;
	return memchr(s, 0, b->size - off) ? s : NULL;
}

/* The little-endian value of `n` bytes at `off` of section `b`. */
static bool sec_un(const struct sw_bytes *b, uint64_t off, unsigned n, uint64_t *out)
{
	if (!b->data || off > b->size || b->size - off < n)
		return false;
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b->data[off + i] << (8 * i);
	*out = v;
	return true;
}

const char *dw_val_str(const struct dw_ctx *c, const struct dw_val *v)
{
	const struct dw_file *f = c->f;
	uint64_t off;

	switch (v->cls) {
	case DW_C_STR: return v->s;
	case DW_C_STRP: return sec_str(&f->s.str, v->u);
	case DW_C_LINE_STRP: return sec_str(&f->s.line_str, v->u);
	case DW_C_STRP_ALT: return f->alt ? sec_str(&f->alt->s.str, v->u) : NULL;
	case DW_C_STRX:
		if (v->u > UINT64_MAX / 8)
			return NULL;
		if (!sec_un(&f->s.str_offsets, c->str_offsets_base + v->u * c->u->offset_size,
			    c->u->offset_size, &off))
			return NULL;
		return sec_str(&f->s.str, off);
	default: return NULL;
	}
}

/* Address number `index` of the unit's .debug_addr contribution. */
static bool addrx(const struct dw_ctx *c, uint64_t index, uint64_t *out)
{
	if (index > UINT64_MAX / 16)
		return false;
	return sec_un(&c->f->s.addr, c->addr_base + index * c->u->addr_size, c->u->addr_size, out);
}

bool dw_val_addr(const struct dw_ctx *c, const struct dw_val *v, uint64_t *out)
{
	if (v->cls == DW_C_ADDR) {
		*out = v->u;
		return true;
	}
	if (v->cls == DW_C_ADDRX)
		return addrx(c, v->u, out);
	return false;
}

/* ---------------------------------------------------------------- ranges */

/* Keep [lo, hi) unless it is empty or a linker's tombstone (address 0,
 * -1 or -2: functions the linker dropped). */
static int add_range(struct dw_vec *out, uint64_t lo, uint64_t hi, uint8_t addr_size)
{
	uint64_t max = addr_size == 4 ? 0xffffffffu : UINT64_MAX;

	if (lo >= hi || lo == 0 || lo >= max - 1)
		return 0;
	struct dw_range *e = dw_vec_push(out);
	if (!e)
		return SW_ENOMEM;
	e->lo = lo;
	e->hi = hi;
	return 0;
}

/* A DWARF 2-4 list in .debug_ranges at `off`. */
static int ranges_v4(const struct dw_ctx *c, uint64_t off, struct dw_vec *out)
{
	const struct sw_bytes *b = &c->f->s.ranges;
	uint8_t as = c->u->addr_size;
	uint64_t max = as == 4 ? 0xffffffffu : UINT64_MAX;
	uint64_t base = c->base;
	struct sw_reader r;

	if (off >= b->size)
		return SW_ELENGTH;
	sw_rd_init(&r, b->data, b->size, 0, ".debug_ranges");
	sw_rd_skip(&r, off);
	while (!r.err) {
		uint64_t lo = sw_rd_un(&r, as), hi = sw_rd_un(&r, as);
		if (r.err || (lo == 0 && hi == 0))
			break;
		if (lo == max) {
			base = hi;
			continue;
		}
		int rc = add_range(out, lo + base, hi + base, as);
		if (rc)
			return rc;
	}
	return r.err;
}

/* DW_RLE_* (DWARF 5, 7.25). */
enum {
	DW_RLE_end_of_list, DW_RLE_base_addressx, DW_RLE_startx_endx, DW_RLE_startx_length,
	DW_RLE_offset_pair, DW_RLE_base_address, DW_RLE_start_end, DW_RLE_start_length,
};

/* A DWARF 5 list in .debug_rnglists at `off`. */
static int rnglist(const struct dw_ctx *c, uint64_t off, struct dw_vec *out)
{
	const struct sw_bytes *b = &c->f->s.rnglists;
	uint8_t as = c->u->addr_size;
	uint64_t base = c->base;
	struct sw_reader r;
	int rc = 0;

	if (off >= b->size)
		return SW_ELENGTH;
	sw_rd_init(&r, b->data, b->size, 0, ".debug_rnglists");
	sw_rd_skip(&r, off);
	while (!r.err && !rc) {
		uint8_t kind = sw_rd_u8(&r);
		uint64_t x, y;
		bool ok = true;

		switch (kind) {
		case DW_RLE_end_of_list:
			return r.err;
		case DW_RLE_base_addressx:
			ok = addrx(c, sw_rd_uleb(&r), &base);
			break;
		case DW_RLE_startx_endx:
			x = sw_rd_uleb(&r);
			y = sw_rd_uleb(&r);
			ok = addrx(c, x, &x) && addrx(c, y, &y);
			if (ok)
				rc = add_range(out, x, y, as);
			break;
		case DW_RLE_startx_length:
			x = sw_rd_uleb(&r);
			y = sw_rd_uleb(&r);
			ok = addrx(c, x, &x);
			if (ok)
				rc = add_range(out, x, x + y, as);
			break;
		case DW_RLE_offset_pair:
			x = sw_rd_uleb(&r);
			y = sw_rd_uleb(&r);
			rc = add_range(out, base + x, base + y, as);
			break;
		case DW_RLE_base_address:
			base = sw_rd_un(&r, as);
			break;
		case DW_RLE_start_end:
			x = sw_rd_un(&r, as);
			y = sw_rd_un(&r, as);
			rc = add_range(out, x, y, as);
			break;
		case DW_RLE_start_length:
			x = sw_rd_un(&r, as);
			y = sw_rd_uleb(&r);
			rc = add_range(out, x, x + y, as);
			break;
		default:
			sw_rd_fail(&r, SW_EBADOP);
			break;
		}
		if (!ok)
			sw_rd_fail(&r, SW_ELENGTH);
	}
	return rc ? rc : r.err;
}

int dw_die_ranges(const struct dw_ctx *c, const struct dw_die *die, struct dw_vec *out)
{
	uint64_t lo, hi;

	if (die->ranges.cls == DW_C_RNGLISTX) {
		uint64_t rel;
		uint8_t os = c->u->offset_size;
		if (die->ranges.u > UINT64_MAX / 16 ||
		    !sec_un(&c->f->s.rnglists, c->rnglists_base + die->ranges.u * os, os, &rel))
			return SW_ELENGTH;
		return rnglist(c, c->rnglists_base + rel, out);
	}
	if (die->ranges.cls == DW_C_SECOFF || die->ranges.cls == DW_C_CONST) {
		if (c->u->version >= 5)
			return rnglist(c, die->ranges.u, out);
		return ranges_v4(c, die->ranges.u + c->ranges_base, out);
	}
	if (!dw_val_addr(c, &die->low, &lo))
		return 0;
	if (die->high.cls == DW_C_CONST || die->high.cls == DW_C_SCONST)
		hi = lo + die->high.u;
	else if (!dw_val_addr(c, &die->high, &hi))
		return 0;   /* low_pc alone: a single address, no range */
	return add_range(out, lo, hi, c->u->addr_size);
}

/* ---------------------------------------------------------------- context */

const struct dw_ctx *dw_ctx_get(const struct dw_file *f, struct dw_unit *u, bool *nomem)
{
	/* acquire: pairs with the release below, so the context's fields are
	 * seen complete */
	struct dw_ctx *c = atomic_load_explicit(&u->ctx, memory_order_acquire);
	if (c)
		return c;
	if (atomic_load_explicit(&u->bad, memory_order_relaxed))
		return NULL;   /* counted once, not at every lookup */
	c = sw_arena_alloc(dw_arena(f), sizeof(*c), 8);
	if (!c) {
		*nomem = true;
		return NULL;
	}
	c->f = f;
	c->u = u;
	int rc = parse_abbrevs(f, u, &c->ab);
	if (rc) {
		if (rc == SW_ENOMEM) {
			*nomem = true;
		} else {
			dw_error(f);
			atomic_store_explicit(&u->bad, true, memory_order_relaxed);
		}
		return NULL;
	}
	/* the top DIE: its bases first (a strx name needs str_offsets_base,
	 * which may come after it) */
	struct sw_reader r;
	struct dw_die die;
	sw_rd_init(&r, f->s.info.data, u->end, 0, ".debug_info");
	sw_rd_skip(&r, u->die_off);
	const struct dw_abbrev *abv = dw_abbrev_find(&c->ab, sw_rd_uleb(&r));
	if (r.err || !abv) {
		dw_error(f);
		atomic_store_explicit(&u->bad, true, memory_order_relaxed);
		return NULL;
	}
	/* DWARF 5 defaults: just past the contributions' headers (as LLVM
	 * reads units that do not name their bases) */
	bool is64 = u->offset_size == 8;
	c->str_offsets_base = u->version >= 5 ? (is64 ? 16 : 8) : 0;
	c->addr_base = u->version >= 5 ? (is64 ? 16 : 8) : 0;
	c->rnglists_base = u->version >= 5 ? (is64 ? 20 : 12) : 0;
	dw_die_read(c, &r, abv, &die);
	if (r.err) {
		dw_error(f);
		atomic_store_explicit(&u->bad, true, memory_order_relaxed);
		return NULL;
	}
	c->tag = die.tag;
	if (die.str_base.cls == DW_C_SECOFF || die.str_base.cls == DW_C_CONST)
		c->str_offsets_base = die.str_base.u;
	if (die.addr_base.cls == DW_C_SECOFF || die.addr_base.cls == DW_C_CONST)
		c->addr_base = die.addr_base.u;
	if (die.rng_base.cls == DW_C_SECOFF || die.rng_base.cls == DW_C_CONST)
		c->rnglists_base = die.rng_base.u;
	if (die.gnu_ranges_base.cls == DW_C_SECOFF || die.gnu_ranges_base.cls == DW_C_CONST)
		c->ranges_base = die.gnu_ranges_base.u;
	if (!dw_val_addr(c, &die.low, &c->base))
		c->base = 0;
	c->name = dw_val_str(c, &die.name);
	c->comp_dir = dw_val_str(c, &die.comp_dir);
	if (die.lang.cls == DW_C_CONST)
		c->lang = (uint16_t)die.lang.u;
	if (die.stmt.cls == DW_C_SECOFF || die.stmt.cls == DW_C_CONST) {
		c->stmt_list = die.stmt.u;
		c->have_stmt = true;
	}
	struct dw_ctx *expect = NULL;
	/* release: the fields above are written before the pointer is seen;
	 * a thread that lost the race uses the winner's (ours stays unused) */
	if (!atomic_compare_exchange_strong_explicit(&u->ctx, &expect, c, memory_order_release,
						     memory_order_acquire))
		return expect;
	return c;
}

/* ---------------------------------------------------------------- names */

#define NAME_HOPS 16

const char *dw_die_name(const struct dw_ctx *c, const struct dw_die *die, bool *nomem,
			uint64_t *work, bool *linkage)
{
	/* A breadth-first walk over abstract_origin and specification links
	 * (LLVM's findRecursively order): the first linkage name wins, else the
	 * first DW_AT_name met. */
	struct { const struct dw_file *f; uint64_t off; } links_q[NAME_HOPS];
	size_t head = 0, tail = 0;
	const char *name = NULL;
	struct dw_die d;
	const struct dw_die *cur = die;
	const struct dw_ctx *cc = c;

	*linkage = false;

	for (int visited = 0; visited < NAME_HOPS; visited++) {
		if (visited > 0) {
			if (head == tail)
				break;
			const struct dw_file *f = links_q[head].f;
			uint64_t off = links_q[head].off;
			head++;
			struct dw_unit *u = f ? dw_unit_at(f, off) : NULL;
			if (!u) {
				dw_error(c->f);
				continue;
			}
			cc = dw_ctx_get(f, u, nomem);
			if (!cc)
				continue;
			struct sw_reader r;
			sw_rd_init(&r, f->s.info.data, u->end, 0, ".debug_info");
			sw_rd_skip(&r, off);
			const struct dw_abbrev *abv = dw_abbrev_find(&cc->ab, sw_rd_uleb(&r));
			if (!abv || r.err) {
				dw_error(c->f);
				continue;
			}
			*work += abv->nattrs + 1;
			dw_die_read(cc, &r, abv, &d);
			if (r.err) {
				dw_error(c->f);
				continue;
			}
			cur = &d;
		}
		const char *s = dw_val_str(cc, &cur->linkage);
		if (s) {
			*linkage = true;
			return s;
		}
		if (!name)
			name = dw_val_str(cc, &cur->name);
		const struct dw_val *links[2] = { &cur->origin, &cur->spec };
		for (int i = 0; i < 2; i++) {
			const struct dw_val *l = links[i];
			if ((l->cls != DW_C_REF && l->cls != DW_C_REF_ALT) || tail == NAME_HOPS)
				continue;
			/* a reference from the alternate file stays in it; ref_alt from
			 * the module goes to the alternate file */
			links_q[tail].f = l->cls == DW_C_REF ? cc->f : cc->f->alt;
			links_q[tail].off = l->u;
			tail++;
		}
	}
	return name;
}
