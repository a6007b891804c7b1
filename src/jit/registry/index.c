/*
 * The index: every registered range in the B+tree (tree.c), the bounds
 * that reject foreign PCs quickly, the spans of eager objects (one per
 * FDE) and the reasons registration failures give.
 */
#include <stdlib.h>

#include "jit/error.h"
#include "jit/registry/internal.h"

pthread_mutex_t sw_reg_lock = PTHREAD_MUTEX_INITIALIZER;
struct sw_tree sw_reg_tree = { .retire = sw_reg_retire_node };
uint64_t sw_reg_bound_lo = UINT64_MAX, sw_reg_bound_hi;
size_t sw_reg_record_bytes, sw_reg_unwind_bytes;

void sw_reg_bounds_add(uint64_t start, uint64_t end)
{
	if (start < __atomic_load_n(&sw_reg_bound_lo, __ATOMIC_RELAXED))
		__atomic_store_n(&sw_reg_bound_lo, start, __ATOMIC_RELAXED);
	if (end > __atomic_load_n(&sw_reg_bound_hi, __ATOMIC_RELAXED))
		__atomic_store_n(&sw_reg_bound_hi, end, __ATOMIC_RELAXED);
}

void sw_reg_bounds_check_empty(void)
{
	if (sw_reg_tree.entries == 0) {
		__atomic_store_n(&sw_reg_bound_lo, UINT64_MAX, __ATOMIC_RELAXED);
		__atomic_store_n(&sw_reg_bound_hi, 0, __ATOMIC_RELAXED);
	}
}

/* The reason a range is not range_ok: `what` names its end field. */
int sw_reg_range_fail(const char *what, uint64_t start, uint64_t end)
{
	if (end <= start)
		return sw_jit_fail(SW_EINVAL, "%s: %#llx is not above the start %#llx (an empty "
				   "or wrapping range)", what, (unsigned long long)end,
				   (unsigned long long)start);
	return sw_jit_fail(SW_EINVAL, "%s: the range [%#llx, %#llx) is 4 GiB or more", what,
			   (unsigned long long)start, (unsigned long long)end);
}

/* An FDE program built from a descriptor's u.cfi.insns failed when run:
 * the reason gives the byte of the caller's instructions (escape writes
 * them first, at the FDE's instructions). */
int sw_reg_run_fail(int rc, const struct sw_diag *d, const struct sw_cfi_section *sec,
		    const struct sw_fde *fde)
{
	uint64_t at = (uint64_t)(fde->insns - sec->data);

	if (d->code && d->offset >= at && d->offset - at < fde->insns_len)
		return sw_jit_fail(rc, "u.cfi.insns: its CFA program fails when run: %s at byte "
				   "%llu", sw_strerror(rc), (unsigned long long)(d->offset - at));
	return sw_jit_fail(rc, "u.cfi.insns: its CFA program fails when run: %s",
			   sw_strerror(rc));
}

/* A CFI parse error as the reason: what, the code's text, where. */
int sw_reg_cfi_fail(int rc, const struct sw_diag *d, const char *what)
{
	if (!d->code)
		return sw_jit_fail(rc, "%s: %s", what, sw_strerror(rc));
	return sw_jit_fail(rc, "%s: %s at offset %#llx of %s (entry at %#llx)", what,
			   sw_strerror(rc), (unsigned long long)d->offset,
			   d->section ? d->section : "?", (unsigned long long)d->entry);
}

int sw_reg_span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void sw_reg_sec_of(const struct obj *o, struct sw_cfi_section *sec)
{
	const uint8_t *bytes = eager_bytes(o);

	sw_cfi_section_init(sec, bytes, o->size, eager_vaddr(o, bytes), true, ".eh_frame");
}

/* Every row of the FDE decodes (malformed CFI is refused at registration
 * rather than met during an unwind). */
int sw_reg_no_row(void *arg, const struct sw_cfa_row *row)
{
	(void)arg;
	(void)row;
	return 0;
}

/*
 * Index the FDEs of an eager object's .eh_frame copy: fill recs (in
 * section order) and spans (sorted by address).  `validate` decodes every
 * FDE's program.  `procs`: FDE i was built from procs[i] (the reasons
 * name it), else the bytes are the caller's .eh_frame.  Returns the
 * number of FDEs or an error.
 */
int sw_reg_index_fdes(struct obj *o, struct span *spans, size_t max, bool validate, bool procs)
{
	const char *what = procs ? "procs" : "eh_frame FDE";
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	struct sw_diag diag = { 0 };
	uint64_t off = 0;
	size_t n = 0;
	int64_t bias = eager_bias(o);
	int rc;

	sw_reg_sec_of(o, &sec);
	for (;;) {
		rc = sw_cfi_entry_at(&sec, off, &ent, &diag);
		if (rc == SW_END_OF_STACK)
			break;
		if (rc < 0)
			return sw_reg_cfi_fail(rc, &diag, "eh_frame");
		if (ent.kind == SW_CFI_ZERO)
			break;
		if (ent.kind == SW_CFI_FDE) {
			struct sw_fde fde;
			struct sw_cie cie;
			if ((rc = sw_cfi_parse_fde(&sec, off, &fde, &cie, &diag)) < 0)
				return sw_reg_cfi_fail(rc, &diag, "eh_frame");
			if (validate && (rc = sw_cfa_table(&sec, &cie, &fde, sw_reg_no_row, NULL, &diag)) < 0) {
				uint32_t mark = sw_jit_err_mark();
				if (procs)
					sw_reg_run_fail(rc, &diag, &sec, &fde);
				else
					sw_reg_cfi_fail(rc, &diag, "its CFA program fails when run");
				return sw_jit_err_ctx(rc, mark, "%s[%zu]%s", what, n, procs ? "." : ": ");
			}
			if (n == max)
				return sw_jit_fail(SW_EINVAL, "eh_frame: more than %zu FDEs", max);
			if (off > UINT32_MAX)
				return sw_jit_fail(SW_EINVAL, "eh_frame: an FDE at offset %#llx, past "
						   "4 GiB", (unsigned long long)off);
			uint64_t s = fde.pc_begin + (uint64_t)bias, e = fde.pc_end + (uint64_t)bias;
			if (!range_ok(s, e)) {
				uint32_t mark = sw_jit_err_mark();
				return sw_jit_err_ctx(sw_reg_range_fail("pc_range", s, e), mark,
						      "%s[%zu] (entry at %#llx).", what, n,
						      (unsigned long long)off);
			}
			if (!(o->flags & F_SINGLE))
				eager_recs(o)[n].fde_off = (uint32_t)off;
			spans[n].start = s;
			spans[n].end = e;
			spans[n].rec = (uint32_t)n;
			n++;
		}
		off = ent.end;
	}
	if (n == 0)
		return sw_jit_fail(SW_EINVAL, "eh_frame: no FDE in its %llu bytes",
				   (unsigned long long)sec.size);
	qsort(spans, n, sizeof(*spans), sw_reg_span_cmp);
	for (size_t i = 1; i < n; i++)
		if (spans[i].start < spans[i - 1].end)
			return sw_jit_fail(SW_EOVERLAP, "%s[%u] [%#llx, %#llx) overlaps %s[%u] "
					   "[%#llx, %#llx)", what, spans[i].rec,
					   (unsigned long long)spans[i].start,
					   (unsigned long long)spans[i].end, what, spans[i - 1].rec,
					   (unsigned long long)spans[i - 1].start,
					   (unsigned long long)spans[i - 1].end);
	return (int)n;
}

/*
 * index_fdes for bytes the builder just wrote from `procs`: FDE i is
 * procedure i, so only the entry headers need reading (registration is
 * hot: a JIT may register every function it compiles).
 */
int sw_reg_index_built(struct obj *o, const struct sw_jit_proc *procs, struct span *spans, size_t n)
{
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	uint64_t off = 0;
	size_t i = 0;
	int rc;

	sw_reg_sec_of(o, &sec);
	while (i < n) {
		if ((rc = sw_cfi_entry_at(&sec, off, &ent, NULL)) < 0)
			return rc;
		if (ent.kind == SW_CFI_ZERO || off > UINT32_MAX)
			return sw_jit_fail(SW_EINVAL, "internal: the .eh_frame built for %zu "
					   "procedures holds %zu FDEs", n, i);
		if (ent.kind == SW_CFI_FDE) {
			if (o->flags & F_SINGLE) {
				if (off != proc_fde_off(o, 0))  /* cannot happen: one CIE */
					return sw_jit_fail(SW_EINVAL, "internal: the FDE does not "
							   "follow the first CIE");
			} else {
				eager_recs(o)[i].fde_off = (uint32_t)off;
			}
			spans[i].start = procs[i].start;
			spans[i].end = procs[i].end;
			spans[i].rec = (uint32_t)i;
			i++;
		}
		off = ent.end;
	}
	if (n > 1)
		qsort(spans, n, sizeof(*spans), sw_reg_span_cmp);
	return (int)n;
}

static size_t names_bytes(const struct obj *o)
{
	size_t total = 0;

	for (uint32_t i = 0; i < o->n; i++) {
		const char *nm = proc_name(o, i);
		if (nm)
			total += strlen(nm) + 1;
	}
	return total;
}

void sw_reg_account_eager(const struct obj *o, bool add)
{
	size_t u = o->size + names_bytes(o);
	size_t r = sw_reg_block_size((void *)(uintptr_t)o) - u;

	if (add) {
		sw_reg_unwind_bytes += u;
		sw_reg_record_bytes += r;
	} else {
		sw_reg_unwind_bytes -= u;
		sw_reg_record_bytes -= r;
	}
}

/* Insert every span of `o`; on failure remove those inserted.  `what`
 * names span i's record in the reasons ("procs", "eh_frame FDE"). */
int sw_reg_index_insert(struct obj *o, const struct span *spans, size_t n, const char *what)
{
	/* past every registered range (the usual JIT case): nothing to check */
	bool beyond = spans[0].start >= sw_reg_bound_hi;

	for (size_t i = 0; i < n; i++) {
		if (!beyond && sw_tree_overlaps(&sw_reg_tree, spans[i].start, spans[i].end)) {
			sw_jit_fail(SW_EOVERLAP, "%s[%u]: [%#llx, %#llx) overlaps a registered range",
				    what, spans[i].rec, (unsigned long long)spans[i].start,
				    (unsigned long long)spans[i].end);
			while (i--)
				sw_tree_remove(&sw_reg_tree, spans[i].start, tagged(o));
			return SW_EOVERLAP;
		}
		struct sw_tree_entry e = {
			.start = spans[i].start,
			.len = (uint32_t)(spans[i].end - spans[i].start),
			.idx = spans[i].rec,
			.val = tagged(o),
		};
		int rc = sw_tree_insert(&sw_reg_tree, &e);
		if (rc < 0) {
			while (i--)
				sw_tree_remove(&sw_reg_tree, spans[i].start, tagged(o));
			return rc;
		}
	}
	return 0;
}

/* Start of each of an eager object's spans (for removal and moves). */
int sw_reg_eager_spans(const struct obj *o, struct span *spans)
{
	struct sw_cfi_section sec;
	int64_t bias = eager_bias(o);

	sw_reg_sec_of(o, &sec);
	for (uint32_t i = 0; i < o->n; i++) {
		struct sw_fde fde;
		struct sw_cie cie;
		int rc = sw_cfi_parse_fde(&sec, proc_fde_off(o, i), &fde, &cie, NULL);
		if (rc < 0)
			return rc;      /* cannot happen: parsed at registration */
		spans[i].start = fde.pc_begin + (uint64_t)bias;
		spans[i].end = fde.pc_end + (uint64_t)bias;
		spans[i].rec = i;
	}
	qsort(spans, o->n, sizeof(*spans), sw_reg_span_cmp);
	return 0;
}
