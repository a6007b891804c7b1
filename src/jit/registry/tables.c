/*
 * Growable tables (sw_jit_table_create / _append / _publish): one index
 * entry for the whole range, records appended by the JIT and made
 * visible to readers by a release store of the published count.
 */
#include <stdlib.h>

#include "jit/error.h"
#include "jit/registry/internal.h"

/* Index a table or callback object over its whole range, under the lock
 * (`bytes`: what it costs the registry).  Returns 0 and *out, SW_EOVERLAP,
 * SW_ENOMEM. */
int sw_reg_range_register(struct obj *o, uint64_t start, uint64_t end, size_t bytes,
			  sw_jit_handle_t *out)
{
	int rc;

	pthread_mutex_lock(&sw_reg_lock);
	if (sw_tree_overlaps(&sw_reg_tree, start, end)) {
		rc = sw_jit_fail(SW_EOVERLAP, "[start, end) = [%#llx, %#llx) overlaps a registered "
				 "range", (unsigned long long)start, (unsigned long long)end);
	} else if ((rc = sw_reg_handle_alloc(o)) == 0) {
		struct sw_tree_entry e = {
			.start = start, .len = (uint32_t)(end - start), .idx = 0, .val = tagged(o),
		};
		rc = sw_tree_insert(&sw_reg_tree, &e);
		if (rc < 0) {
			sw_reg_handle_free(o);
		} else {
			sw_reg_bounds_add(start, end);
			sw_reg_record_bytes += bytes;
			sw_reg_install_hook();
			*out = make_handle(o);
			sw_reg_pubset_new(o);  /* nothing for callback ranges */
		}
	}
	pthread_mutex_unlock(&sw_reg_lock);
	return rc;
}

static int table_create(uint64_t start, uint64_t end, size_t max_procs, sw_jit_handle_t *out)
{
	struct table *t;
	struct table_data *d;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	if (!range_ok(start, end))
		return sw_reg_range_fail("end", start, end);
	if (max_procs == 0 || max_procs > (1u << 24))
		return sw_jit_fail(SW_EINVAL, "max_procs: %zu is not 1..2^24", max_procs);
	t = calloc(1, sizeof(*t));
	d = calloc(1, sizeof(*d));
	if (d)
		d->recs = calloc(max_procs, sizeof(struct trec));
	if (!t || !d || !d->recs) {
		if (d)
			free(d->recs);
		free(d);
		free(t);
		return SW_ENOMEM;
	}
	t->h.type = OBJ_TABLE;
	t->start = start;
	t->end = end;
	t->d = d;
	d->max = (uint32_t)max_procs;

	rc = sw_reg_range_register(&t->h, start, end,
			    sw_reg_block_size(t) + sw_reg_block_size(d) + sw_reg_block_size(d->recs), out);
	if (rc < 0) {
		free(d->recs);
		free(d);
		free(t);
	}
	return rc;
}

int sw_jit_table_create(uint64_t start, uint64_t end, size_t max_procs, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(table_create(start, end, max_procs, out), mark,
			      "sw_jit_table_create: ");
}

static void *arena_alloc(struct table_data *d, size_t size)
{
	struct chunk *c = d->chunks;

	size = align8(size);
	if (!c || c->size - c->used < size) {
		size_t cs = size > 65536 - sizeof(*c) ? size : 65536 - sizeof(*c);
		c = malloc(sizeof(*c) + cs);
		if (!c)
			return NULL;
		c->next = d->chunks;
		c->used = 0;
		c->size = cs;
		d->chunks = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

/* The table behind a handle, read under the lock (moves replace it). */
static struct table *table_get(sw_jit_handle_t h)
{
	struct obj *o;

	pthread_mutex_lock(&sw_reg_lock);
	o = sw_reg_handle_get(h);
	pthread_mutex_unlock(&sw_reg_lock);
	return o && o->type == OBJ_TABLE ? (struct table *)o : NULL;
}

/* The reason for a bad handle (`what`: the parameter). */
int sw_reg_bad_handle(const char *what, sw_jit_handle_t h, const char *kind)
{
	return sw_jit_fail(SW_EBADHANDLE, "%s: %#llx is not a live %shandle (unknown, or already "
			   "removed)", what, (unsigned long long)h, kind);
}

int sw_reg_table_append(sw_jit_handle_t handle, const struct sw_jit_proc *procs, size_t n)
{
	struct table *t = table_get(handle);
	struct table_data *d;
	uint8_t buf[SW_JIT_MAX_CFI];

	if (!t)
		return sw_reg_bad_handle("table", handle, "table ");
	if (!procs && n)
		return sw_jit_fail(SW_EINVAL, "procs: NULL with n %zu", n);
	d = t->d;
	if (n > d->max - d->staged)
		return sw_jit_fail(SW_EFULL, "n: %zu more procedures do not fit: %u of max_procs %u "
				   "appended already", n, d->staged, d->max);
	/* validate everything before staging anything */
	uint64_t prev_end = d->staged ? d->recs[d->staged - 1].start + d->recs[d->staged - 1].len +
						(uint64_t)t->bias : t->start;
	for (size_t i = 0; i < n; i++) {
		const struct sw_jit_proc *p = &procs[i];
		uint32_t mark = sw_jit_err_mark();
		int rc = 0;
		if (!range_ok(p->start, p->end))
			rc = sw_reg_range_fail("end", p->start, p->end);
		else if (p->start < prev_end && (i || d->staged))
			rc = sw_jit_fail(SW_EINVAL, "start: %#llx is below the end of the procedure "
					 "before it (%#llx): appends must be sorted and disjoint",
					 (unsigned long long)p->start, (unsigned long long)prev_end);
		else if (p->start < prev_end)
			rc = sw_jit_fail(SW_EINVAL, "start: %#llx is below the table's start %#llx",
					 (unsigned long long)p->start, (unsigned long long)prev_end);
		else if (p->end > t->end)
			rc = sw_jit_fail(SW_EINVAL, "end: %#llx is past the table's end %#llx",
					 (unsigned long long)p->end, (unsigned long long)t->end);
		else if ((rc = sw_reg_check_cfi_insns(p)) >= 0)
			rc = sw_reg_check_lines(p);
		if (rc < 0)
			return sw_jit_err_ctx(rc, mark, "procs[%zu].", i);
		prev_end = p->end;
	}
	for (size_t i = 0; i < n; i++) {
		struct sw_jit_proc q = procs[i];
		q.start -= (uint64_t)t->bias;
		q.end -= (uint64_t)t->bias;
		int size = sw_reg_build_procs(&q, 1, buf, sizeof(buf), i);
		if (size < 0)
			return size == SW_ETRUNCATED ? sw_reg_too_much_cfi(i) : size;
		size_t nl = q.name ? strlen(q.name) + 1 : 0;
		size_t lb = sw_reg_has_lines(&q) ? align8(sizeof(struct lines)) + sw_reg_lines_size(&q) : 0;
		uint8_t *eh = arena_alloc(d, align8((size_t)size + nl) + lb);
		if (!eh)
			return SW_ENOMEM;
		/* the bytes hold absolute addresses: copying them is fine */
		memcpy(eh, buf, (size_t)size);
		if (q.kind == SW_JIT_UNWIND_CFI) {
			struct sw_cfi_section sec;
			struct sw_fde fde;
			struct sw_cie cie;
			struct sw_cfi_entry ent;
			int rc;
			sw_cfi_section_init(&sec, eh, (size_t)size, (uint64_t)(uintptr_t)eh, true,
					    ".eh_frame");
			struct sw_diag diag = { 0 };
			uint32_t mark = sw_jit_err_mark();
			/* the bytes were just built: only running the program can fail */
			if ((rc = sw_cfi_entry_at(&sec, 0, &ent, &diag)) < 0 ||
			    (rc = sw_cfi_parse_fde(&sec, ent.end, &fde, &cie, &diag)) < 0)
				return sw_reg_cfi_fail(rc, &diag, "internal: the built .eh_frame");
			if ((rc = sw_cfa_table(&sec, &cie, &fde, sw_reg_no_row, NULL, &diag)) < 0)
				return sw_jit_err_ctx(sw_reg_run_fail(rc, &diag, &sec, &fde), mark,
						      "procs[%zu].", i);
		}
		struct trec *r = &d->recs[d->staged];
		r->start = q.start;
		r->len = (uint32_t)(q.end - q.start);
		r->eh = eh;
		r->eh_size = (uint32_t)size;
		r->name = NULL;
		r->li = NULL;
		if (nl) {
			memcpy(eh + size, q.name, nl);
			r->name = (const char *)eh + size;
		}
		if (lb) {
			struct lines *li = (struct lines *)(void *)(eh + align8((size_t)size + nl));
			sw_reg_lines_copy(&q, li, (uint8_t *)(li) + align8(sizeof(struct lines)));
			r->li = li;
		}
		d->unwind_bytes += (size_t)size + nl;
		d->staged++;
	}
	return 0;
}

/* The ABI's unsized entry (SW_JIT_PROC_SIZE_V2-byte elements). */
int (sw_jit_table_append)(sw_jit_handle_t handle, const struct sw_jit_proc *procs, size_t n)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(sw_reg_table_append(handle, procs, n), mark, "sw_jit_table_append: ");
}

static int table_publish(sw_jit_handle_t handle)
{
	struct obj *o;
	struct pubset *ps;
	int rc = 0;

	pthread_mutex_lock(&sw_reg_lock);
	o = sw_reg_handle_get(handle);
	if (!o || o->type != OBJ_TABLE) {
		pthread_mutex_unlock(&sw_reg_lock);
		return sw_reg_bad_handle("table", handle, "table ");
	}
	struct table *t = (struct table *)o;
	/* release: a reader that loads the count (acquire) sees the records
	 * and the bytes they point to */
	__atomic_store_n(&t->d->published, t->d->staged, __ATOMIC_RELEASE);
	/* an absent consumer (SW_EUNSUPPORTED: no nongnu libunwind, ...) is
	 * not an error of the table: the default set includes such */
	if ((ps = sw_reg_pubset_get(o->hindex, false)) && ps->mask &&
	    (rc = sw_reg_pubset_sync(o, ps)) == SW_EUNSUPPORTED)
		rc = 0;
	pthread_mutex_unlock(&sw_reg_lock);
	return rc;
}

int sw_jit_table_publish(sw_jit_handle_t handle)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(table_publish(handle), mark, "sw_jit_table_publish: ");
}
