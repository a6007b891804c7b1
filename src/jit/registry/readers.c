/*
 * Readers: a PC to its procedure inside a read section (sw_reg_find, for
 * sw_jit_lookup here and the unwinder's lookups in unwinder.c), and the
 * statistics.
 */
#include "jit/error.h"
#include "jit/registry/internal.h"

/* The FDE offset in a one-procedure .eh_frame: right after its CIE. */
static int first_fde(const uint8_t *eh, size_t size, uint64_t *off)
{
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	int rc;

	sw_cfi_section_init(&sec, eh, size, (uint64_t)(uintptr_t)eh, true, ".eh_frame");
	if ((rc = sw_cfi_entry_at(&sec, 0, &ent, NULL)) < 0)
		return rc;
	*off = ent.end;
	return 0;
}

int sw_reg_find(uint64_t pc, struct hit *h, uint8_t *scratch, int want)
{
	struct sw_tree_entry e;
	int rc;

	if (!sw_tree_find(&sw_reg_tree, pc, &e))
		return SW_ENOTFOUND;
	switch (e.tag) {
	case OBJ_EAGER: {
		h->start = e.start;
		h->end = e.start + e.len;
		h->form = SW_JIT_FORM_EAGER;
		h->idxp = e.idxp;
		/* the range and form are in the index's lines: the object's
		 * pointer (another line) only when more is wanted */
		h->o = NULL;
		if (want == WANT_RANGE)
			return 0;
		const struct obj *o = h->o = untag(*e.valp);
		uint32_t idx = *e.idxp;
		h->name = proc_name(o, idx);
		const struct lines *li = sw_reg_lineset_get(o->hindex, idx);
		h->ln = 0;
		if (li) {
			h->lfile = li->file;
			h->lv = li->v;
			h->ln = li->n;
		}
		h->eh = eager_bytes(o);
		h->eh_size = o->size;
		h->vaddr = eager_vaddr(o, h->eh);
		h->fde_off = proc_fde_off(o, idx);
		h->bias = eager_bias(o);
		h->form = SW_JIT_FORM_EAGER;
		return 0;
	}
	case OBJ_TABLE: {
		const struct table *t = (const struct table *)(h->o = untag(*e.valp));
		const struct table_data *d = t->d;
		uint32_t n = __atomic_load_n(&d->published, __ATOMIC_ACQUIRE);
		uint64_t key = pc - (uint64_t)t->bias;
		uint32_t lo = 0, hi = n;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (d->recs[mid].start <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return SW_ENOTFOUND;
		const struct trec *r = &d->recs[lo - 1];
		if (key - r->start >= r->len)
			return SW_ENOTFOUND;
		h->start = r->start + (uint64_t)t->bias;
		h->end = h->start + r->len;
		h->name = r->name;
		h->ln = 0;
		if (r->li) {
			h->lfile = r->li->file;
			h->lv = r->li->v;
			h->ln = r->li->n;
		}
		h->eh = r->eh;
		h->eh_size = r->eh_size;
		h->vaddr = (uint64_t)(uintptr_t)r->eh;
		h->bias = t->bias;
		h->form = SW_JIT_FORM_TABLE;
		return want == WANT_UNWIND ? first_fde(h->eh, h->eh_size, &h->fde_off) : 0;
	}
	default: {
		const struct cbobj *c = (const struct cbobj *)(h->o = untag(*e.valp));
		struct sw_jit_proc p;
		memset(&p, 0, sizeof(p));
		if ((c->scb ? c->scb(c->arg, pc, &p, sizeof(p)) : c->cb(c->arg, pc, &p)) < 0)
			return SW_ENOTFOUND;
		/* a broken answer is an error, not "no information": the
		 * fallbacks would skip a frameless JIT frame silently */
		if (p.start > pc || p.end <= pc)
			return sw_jit_fail(SW_EINVAL, "the callback's answer [%#llx, %#llx) for pc "
					   "%#llx does not contain it", (unsigned long long)p.start,
					   (unsigned long long)p.end, (unsigned long long)pc);
		if (p.start < c->start || p.end > c->end)
			return sw_jit_fail(SW_EINVAL, "the callback's answer [%#llx, %#llx) leaves "
					   "its range [%#llx, %#llx)", (unsigned long long)p.start,
					   (unsigned long long)p.end, (unsigned long long)c->start,
					   (unsigned long long)c->end);
		h->start = p.start;
		h->end = p.end;
		h->name = p.name;
		h->ln = p.file && p.lines ? p.nlines : 0;
		h->lfile = p.file;
		h->lv = p.lines;
		h->bias = 0;
		h->form = SW_JIT_FORM_CALLBACK;
		if (want != WANT_UNWIND)
			return 0;
		if (!scratch)
			return SW_REG_NEED_SCRATCH;
		rc = sw_reg_build_procs(&p, 1, scratch, SW_JIT_MAX_CFI, 0);
		if (rc < 0)     /* the unwinder's call: muted, no reason */
			return sw_jit_fail(SW_EINVAL, "the callback's description of pc %#llx: %s",
					   (unsigned long long)pc, sw_strerror(rc));
		h->eh = scratch;
		h->eh_size = (size_t)rc;
		h->vaddr = (uint64_t)(uintptr_t)scratch;
		return first_fde(h->eh, h->eh_size, &h->fde_off);
	}
	}
}

int sw_jit_lookup(uint64_t pc, struct sw_jit_found *out)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_lookup: out: NULL");
	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	uint32_t mark = sw_jit_err_mark();
	rc = sw_reg_find(pc, &h, NULL, WANT_RANGE);     /* the only error: a broken callback answer */
	if (rc != SW_ENOTFOUND)
		rc = sw_jit_err_ctx(rc, mark, "sw_jit_lookup: ");
	if (rc == 0) {
		out->start = h.start;
		out->end = h.end;
		out->form = h.form;
	}
	sw_rcu_exit(token);
	return rc;
}

int sw_jit_get_line(uint64_t pc, char *file, size_t size, uint32_t *line)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!file || !size || !line)
		return sw_jit_fail(SW_EINVAL, "sw_jit_get_line: file, size or line: NULL or 0");
	file[0] = '\0';
	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	uint32_t mark = sw_jit_err_mark();
	rc = sw_reg_find(pc, &h, NULL, WANT_NAME);      /* the only error: a broken callback answer */
	if (rc != SW_ENOTFOUND)
		rc = sw_jit_err_ctx(rc, mark, "sw_jit_get_line: ");
	if (rc == 0) {
		/* the last entry at or before pc (entries sorted by offset:
		 * checked at registration; a callback's are its promise) */
		uint64_t off = pc - h.start;
		uint32_t lo = 0, hi = h.ln;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (h.lv[mid].offset <= off)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0 || !h.lfile) {
			rc = SW_ENOTFOUND;
		} else {
			*line = h.lv[lo - 1].line;
			sw_reg_copy_str(file, size, h.lfile);
		}
	}
	sw_rcu_exit(token);
	return rc;
}

int sw_jit_get_stats(struct sw_jit_stats *out)
{
	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_get_stats: out: NULL");
	pthread_mutex_lock(&sw_reg_lock);
	memset(out, 0, sizeof(*out));
	out->entries = sw_reg_tree.entries;
	out->handles = sw_reg_hlive;
	out->index_bytes = sw_tree_index_bytes(&sw_reg_tree);
	out->record_bytes = sw_reg_record_bytes;
	out->unwind_bytes = sw_reg_unwind_bytes;
	for (uint32_t i = 0; i < sw_reg_hcount; i++) {
		uint64_t e = sw_reg_htab[i];
		struct obj *o = (struct obj *)(uintptr_t)(e & 0xffffffffffffull);
		if (!(e & 1) && o->type == OBJ_TABLE)
			out->unwind_bytes += ((struct table *)o)->d->unwind_bytes;
	}
	out->retired_bytes = sw_reg_retired_bytes;
	pthread_mutex_unlock(&sw_reg_lock);
	return 0;
}

