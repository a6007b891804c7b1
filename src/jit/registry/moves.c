/*
 * sw_jit_remove and sw_jit_move: unindex (and, for moves, reindex a
 * biased copy), then retire what readers may still see.
 */
#include <malloc.h>
#include <stdlib.h>

#include "jit/error.h"
#include "jit/registry/internal.h"

static void table_retire(struct table *t, bool with_data)
{
	sw_reg_record_bytes -= sw_reg_block_size(t);
	sw_reg_retire(NULL, t);
	if (!with_data)
		return;
	struct table_data *d = t->d;
	sw_reg_record_bytes -= sw_reg_block_size(d) + sw_reg_block_size(d->recs);
	for (struct chunk *c = d->chunks, *next; c; c = next) {
		next = c->next;
		sw_reg_retire(NULL, c);
	}
	sw_reg_retire(NULL, d->recs);
	sw_reg_retire(NULL, d);
}

static int jit_remove(sw_jit_handle_t handle)
{
	struct obj *o;
	int rc = 0;

	pthread_mutex_lock(&sw_reg_lock);
	o = sw_reg_handle_get(handle);
	if (!o) {
		pthread_mutex_unlock(&sw_reg_lock);
		return sw_reg_bad_handle("handle", handle, "");
	}
	/* other consumers first: they may read the bytes until withdrawn */
	sw_reg_pubset_drop(o->hindex);
	sw_reg_lineset_set(o->hindex, NULL);
	if (o->type == OBJ_EAGER) {
		struct span one[1], *spans = o->n == 1 ? one : malloc(o->n * sizeof(*spans));
		if (!spans) {
			rc = SW_ENOMEM;
			goto out;
		}
		if ((rc = sw_reg_eager_spans(o, spans)) == 0) {
			for (uint32_t i = 0; i < o->n; i++)
				sw_tree_remove(&sw_reg_tree, spans[i].start, tagged(o));
			sw_reg_account_eager(o, false);
			sw_reg_retire(NULL, o);
		}
		if (spans != one)
			free(spans);
	} else if (o->type == OBJ_TABLE) {
		struct table *t = (struct table *)o;
		sw_tree_remove(&sw_reg_tree, t->start, tagged(&t->h));
		table_retire(t, true);
	} else {
		struct cbobj *c = (struct cbobj *)o;
		sw_tree_remove(&sw_reg_tree, c->start, tagged(&c->h));
		sw_reg_record_bytes -= sw_reg_block_size(c);
		sw_reg_retire(NULL, c);
	}
	if (rc == 0) {
		sw_reg_handle_free(o);
		sw_reg_bounds_check_empty();
		/* readers that compiled rules from this registration tagged them
		 * with the generation they read before their lookup: this bump
		 * (after the unlink) turns those rules into misses */
		sw_flush_cache();
		if (o->type == OBJ_CALLBACK)
			sw_reg_reclaim();      /* the callback's data is the JIT's to free */
		else
			sw_reg_maybe_reclaim();
	}
out:
	pthread_mutex_unlock(&sw_reg_lock);
	return rc;
}

int sw_jit_remove(sw_jit_handle_t handle)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(jit_remove(handle), mark, "sw_jit_remove: ");
}

static bool add_wraps(uint64_t a, int64_t delta)
{
	uint64_t r = a + (uint64_t)delta;

	return delta >= 0 ? r < a : r > a;
}

static int move_eager(struct obj *o, int64_t delta)
{
	size_t n = o->n;
	struct span *old = malloc(n * sizeof(*old)), *nw = malloc(n * sizeof(*nw));
	struct obj *c = NULL;
	int rc;

	if (!old || !nw) {
		rc = SW_ENOMEM;
		goto out;
	}
	if ((rc = sw_reg_eager_spans(o, old)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (add_wraps(old[i].start, delta) || add_wraps(old[i].end, delta) ||
		    old[i].start + (uint64_t)delta >= old[i].end + (uint64_t)delta) {
			rc = sw_jit_fail(SW_EINVAL, "delta: %lld moves the procedure [%#llx, %#llx) "
					 "across an end of the address space", (long long)delta,
					 (unsigned long long)old[i].start,
					 (unsigned long long)old[i].end);
			goto out;
		}
		nw[i] = old[i];
		nw[i].start += (uint64_t)delta;
		nw[i].end += (uint64_t)delta;
	}
	/* the copy: same bytes, bias += delta */
	size_t oldhdr = eager_head(o->flags, n);
	uint8_t flags = o->flags | F_BIAS;
	size_t newhdr = eager_head(flags, n);
	size_t tail = malloc_usable_size(o) - oldhdr;   /* bytes + names */
	c = malloc(newhdr + tail);
	if (!c) {
		rc = SW_ENOMEM;
		goto out;
	}
	*c = *o;
	c->flags = flags;
	uint8_t *p = (uint8_t *)(c + 1);
	if (flags & F_VADDR) {
		memcpy(p, o + 1, 8);
		p += 8;
	}
	int64_t bias = eager_bias(o) + delta;
	memcpy(p, &bias, 8);
	memcpy((uint8_t *)c + newhdr, (const uint8_t *)o + oldhdr, tail);
	if (!(flags & F_SINGLE)) {
		/* name offsets move with the header */
		struct rec *r = eager_recs(c);
		memcpy(r, eager_recs(o), n * sizeof(struct rec));
		for (size_t i = 0; i < n; i++)
			if (r[i].name_off)
				r[i].name_off += (uint32_t)(newhdr - oldhdr);
	}

	/* unindex the old spans, index the new ones; on failure put back */
	for (size_t i = 0; i < n; i++)
		sw_tree_remove(&sw_reg_tree, old[i].start, tagged(o));
	rc = sw_reg_index_insert(c, nw, n, "moved procs");
	if (rc < 0) {
		if (sw_reg_index_insert(o, old, n, "procs") < 0)
			rc = SW_ENOMEM; /* only on allocation failure; the old spans were free */
		goto out;
	}
	sw_reg_account_eager(o, false);
	sw_reg_handle_set(c);
	sw_reg_account_eager(c, true);
	sw_reg_bounds_add(nw[0].start, nw[n - 1].end);
	sw_reg_retire(NULL, o);
	c = NULL;
out:
	free(c);
	free(old);
	free(nw);
	return rc;
}

/*
 * Move a table or callback range: a copy of the object (`size` bytes) with
 * its range fields (at the offsets of startp/endp in the original) and, for
 * tables, its bias (biasp, or NULL) updated BEFORE the copy is indexed, so
 * a reader never sees the new entry with the old fields.
 */
static int move_range(struct obj *o, uint64_t *startp, uint64_t *endp, int64_t *biasp, size_t size,
		      int64_t delta, struct obj **copy)
{
	uint64_t s = *startp, e = *endp, ns = s + (uint64_t)delta, ne = e + (uint64_t)delta;
	struct obj *c;
	int rc;

	if (add_wraps(s, delta) || add_wraps(e, delta))
		return sw_jit_fail(SW_EINVAL, "delta: %lld moves the range [%#llx, %#llx) across an "
				   "end of the address space", (long long)delta,
				   (unsigned long long)s, (unsigned long long)e);
	c = malloc(size);
	if (!c)
		return SW_ENOMEM;
	memcpy(c, o, size);
	*(uint64_t *)(void *)((char *)c + ((char *)startp - (char *)o)) = ns;
	*(uint64_t *)(void *)((char *)c + ((char *)endp - (char *)o)) = ne;
	if (biasp)
		*(int64_t *)(void *)((char *)c + ((char *)biasp - (char *)o)) += delta;
	sw_tree_remove(&sw_reg_tree, s, tagged(o));
	if (sw_tree_overlaps(&sw_reg_tree, ns, ne)) {
		rc = sw_jit_fail(SW_EOVERLAP, "delta: the moved range [%#llx, %#llx) overlaps a "
				 "registered range", (unsigned long long)ns, (unsigned long long)ne);
	} else {
		struct sw_tree_entry en = { .start = ns, .len = (uint32_t)(e - s), .idx = 0, .val = tagged(c) };
		rc = sw_tree_insert(&sw_reg_tree, &en);
	}
	if (rc < 0) {
		struct sw_tree_entry en = { .start = s, .len = (uint32_t)(e - s), .idx = 0, .val = tagged(o) };
		sw_tree_insert(&sw_reg_tree, &en);
		free(c);
		return rc;
	}
	sw_reg_bounds_add(ns, ne);
	sw_reg_handle_set(c);
	*copy = c;
	return 0;
}

static int jit_move(sw_jit_handle_t handle, int64_t delta)
{
	struct obj *o, *c = NULL;
	int rc;

	pthread_mutex_lock(&sw_reg_lock);
	o = sw_reg_handle_get(handle);
	if (!o) {
		rc = sw_reg_bad_handle("handle", handle, "");
	} else if (delta == 0) {
		rc = 0;
	} else if (o->type == OBJ_EAGER) {
		rc = move_eager(o, delta);
	} else if (o->type == OBJ_TABLE) {
		struct table *t = (struct table *)o;
		rc = move_range(o, &t->start, &t->end, &t->bias, sizeof(*t), delta, &c);
		if (rc == 0) {
			sw_reg_record_bytes += sw_reg_block_size(c);
			table_retire(t, false);
		}
	} else {
		struct cbobj *cb = (struct cbobj *)o;
		rc = move_range(o, &cb->start, &cb->end, NULL, sizeof(*cb), delta, &c);
		if (rc == 0) {
			sw_reg_record_bytes += sw_reg_block_size(c) - sw_reg_block_size(cb);
			sw_reg_retire(NULL, cb);
		}
	}
	if (rc == 0 && o && delta) {
		sw_flush_cache();
		sw_reg_pubset_moved(sw_reg_handle_get(handle));
		sw_reg_maybe_reclaim();
	}
	pthread_mutex_unlock(&sw_reg_lock);
	return rc;
}

int sw_jit_move(sw_jit_handle_t handle, int64_t delta)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(jit_move(handle, delta), mark, "sw_jit_move: ");
}
