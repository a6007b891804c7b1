/*
 * Publishing: each eager registration, and each published batch of a
 * table, handed to the publishers enabled for it (src/jit/publishers/)
 * as a chunk whose bytes are valid where they live.
 */
#include <stdlib.h>

#include "dwarf/reader.h"
#include "dwarf/writer.h"
#include "jit/error.h"
#include "jit/publishers/eh_abs.h"
#include "jit/registry/internal.h"

static unsigned pub_default;
static bool pub_default_read;           /* pub_default holds the initial set */
static struct pubset **pubsets;         /* by handle index, NULL: none */
static uint32_t pubcap;

/* Rewrite the fixed-size pointer field at `field` (read at field_addr)
 * to hold `value` in `enc` (the writer's range rule, dwarf/writer.h).
 * LEB128 fields cannot be rewritten in place (their length may change):
 * SW_EUNSUPPORTED. */
static int encode_ptr(uint8_t *field, uint8_t enc, uint64_t value, uint64_t field_addr)
{
	uint8_t tmp[SW_LEB128_MAX];
	int n;

	if (enc == SW_PE_omit)
		return 0;
	if (sw_pe_size(enc, 8) <= 0)
		return SW_EUNSUPPORTED;
	if ((n = sw_pe_encode(tmp, enc, value, field_addr)) < 0)
		return n;
	memcpy(field, tmp, (size_t)n);
	return 0;
}

/*
 * `copy` holds the bytes of `src`, now living at `copy` itself: rewrite
 * every pointer so the bytes are valid there, with FDE addresses moved by
 * `bias`.  Returns 0 or SW_EUNSUPPORTED / SW_ERANGE (an encoding that
 * cannot be rewritten in place, or a 4-byte pc-relative field that cannot
 * reach from the copy's address).
 */
int sw_reg_relocate_copy(const struct sw_cfi_section *src, uint8_t *copy, int64_t bias)
{
	struct sw_cfi_entry ent;
	uint64_t off = 0, dst = (uint64_t)(uintptr_t)copy;
	int rc;

	for (;;) {
		rc = sw_cfi_entry_at(src, off, &ent, NULL);
		if (rc == SW_END_OF_STACK || (rc == 0 && ent.kind == SW_CFI_ZERO))
			return 0;
		if (rc < 0)
			return rc;
		if (ent.offset_size != 4)
			return SW_EUNSUPPORTED;
		if (ent.kind == SW_CFI_FDE) {
			struct sw_fde fde;
			struct sw_cie cie;
			if ((rc = sw_cfi_parse_fde(src, off, &fde, &cie, NULL)) < 0)
				return rc;
			uint64_t f = off + 8;
			if ((rc = encode_ptr(copy + f, cie.fde_enc, fde.pc_begin + (uint64_t)bias, dst + f)) < 0)
				return rc;
			if (cie.lsda_enc != SW_PE_omit && fde.aug_data_len && fde.lsda) {
				uint64_t l = (uint64_t)(fde.aug_data - src->data);
				if ((rc = encode_ptr(copy + l, cie.lsda_enc, fde.lsda, dst + l)) < 0)
					return rc;
			}
		} else {
			struct sw_cie cie;
			if ((rc = sw_cfi_parse_cie(src, off, &cie, NULL)) < 0)
				return rc;
			/* the personality sits in the augmentation data, after the
			 * fields of the letters before 'P' */
			uint64_t a = (uint64_t)(cie.aug_data - src->data);
			for (const char *c = cie.augmentation; *c && cie.has_z; c++) {
				if (*c == 'P') {
					if ((rc = encode_ptr(copy + a + 1, cie.personality_enc,
							     cie.personality, dst + a + 1)) < 0)
						return rc;
					break;
				}
				if (*c == 'L' || *c == 'R')
					a++;
			}
		}
		off = ent.end;
	}
}

static void batch_free(struct batch *b)
{
	free(b->procs);
	free(b->bytes);
	free(b);
}

/* The chunk of an eager registration. */
static int batch_eager(struct obj *o, struct batch **out)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct span *spans = malloc(o->n * sizeof(*spans));
	const uint8_t *bytes = eager_bytes(o);
	uint64_t vaddr = eager_vaddr(o, bytes);
	int64_t bias = eager_bias(o);
	int rc = SW_ENOMEM;

	if (!b || !spans || !(b->procs = malloc(o->n * sizeof(*b->procs))))
		goto fail;
	if ((rc = sw_reg_eager_spans(o, spans)) < 0)
		goto fail;
	for (uint32_t i = 0; i < o->n; i++) {
		const struct lines *li = sw_reg_lineset_get(o->hindex, spans[i].rec);
		b->procs[i].start = spans[i].start;
		b->procs[i].end = spans[i].end;
		b->procs[i].name = proc_name(o, spans[i].rec);
		b->procs[i].file = li ? li->file : NULL;
		b->procs[i].lines = li ? li->v : NULL;
		b->procs[i].nlines = li ? li->n : 0;
	}
	b->chunk.eh_frame = bytes;
	b->chunk.eh_size = eager_eh_size(o);
	b->chunk.eh_vaddr = (uint64_t)(uintptr_t)bytes;
	if (vaddr != (uint64_t)(uintptr_t)bytes || bias) {
		/* encoded for another address, or moved: a relocated copy */
		struct sw_cfi_section sec;
		rc = SW_ENOMEM;
		if (!(b->bytes = calloc(1, o->size + 4)))
			goto fail;
		memcpy(b->bytes, bytes, o->size);
		sw_cfi_section_init(&sec, bytes, o->size, vaddr, true, ".eh_frame");
		if (sw_reg_relocate_copy(&sec, b->bytes, bias) < 0) {
			/* a 4-byte pc-relative field cannot reach from the copy:
			 * re-encode every pointer as absolute instead */
			size_t abs_size;
			free(b->bytes);
			b->bytes = NULL;
			if ((rc = sw_eh_abs_section(&sec, bias, &b->bytes, &abs_size)) < 0)
				goto fail;
			b->chunk.eh_size = abs_size;
		}
		b->chunk.eh_frame = b->bytes;
		b->chunk.eh_vaddr = (uint64_t)(uintptr_t)b->bytes;
	}
	b->chunk.nprocs = o->n;
	b->chunk.procs = b->procs;
	b->chunk.lo = spans[0].start;
	b->chunk.hi = spans[o->n - 1].end;
	free(spans);
	*out = b;
	return 0;
fail:
	free(spans);
	if (b)
		batch_free(b);
	return rc;
}

/* The chunk of table records [first, first + count). */
static int batch_table(const struct table *t, uint32_t first, uint32_t count, struct batch **out)
{
	const struct table_data *d = t->d;
	struct batch *b = calloc(1, sizeof(*b));
	size_t size = 4;
	int rc = SW_ENOMEM;

	if (!b || !(b->procs = malloc(count * sizeof(*b->procs))))
		goto fail;
	/* each record's bytes end with the builder's terminator: drop it, or
	 * consumers would stop reading after the first procedure */
	for (uint32_t i = 0; i < count; i++)
		size += d->recs[first + i].eh_size - 4;
	if (!(b->bytes = calloc(1, size)))
		goto fail;
	size_t at = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct trec *r = &d->recs[first + i];
		memcpy(b->bytes + at, r->eh, r->eh_size - 4);  /* absolute addresses */
		at += r->eh_size - 4;
		b->procs[i].start = r->start + (uint64_t)t->bias;
		b->procs[i].end = b->procs[i].start + r->len;
		b->procs[i].name = r->name;
		b->procs[i].file = r->li ? r->li->file : NULL;
		b->procs[i].lines = r->li ? r->li->v : NULL;
		b->procs[i].nlines = r->li ? r->li->n : 0;
	}
	if (t->bias) {
		struct sw_cfi_section sec;
		uint8_t *orig = malloc(size);
		if (!orig)
			goto fail;
		memcpy(orig, b->bytes, size);
		sw_cfi_section_init(&sec, orig, size, (uint64_t)(uintptr_t)b->bytes, true, ".eh_frame");
		rc = sw_reg_relocate_copy(&sec, b->bytes, t->bias);
		free(orig);
		if (rc < 0)
			goto fail;
	}
	b->first = first;
	b->count = count;
	b->chunk.eh_frame = b->bytes;
	b->chunk.eh_size = size;
	b->chunk.eh_vaddr = (uint64_t)(uintptr_t)b->bytes;
	b->chunk.nprocs = count;
	b->chunk.procs = b->procs;
	b->chunk.lo = b->procs[0].start;
	b->chunk.hi = b->procs[count - 1].end;
	*out = b;
	return 0;
fail:
	if (b)
		batch_free(b);
	return rc;
}

/* Hand b to the publishers in mask it does not have yet; withdraw it from
 * those it has that mask lacks.  Returns the first error. */
static int batch_apply(struct batch *b, unsigned mask)
{
	int first = 0;

	for (unsigned i = 0; i < NPUB; i++) {
		const struct sw_jit_pub_ops *op = pub_op(i);
		unsigned bit = 1u << i;
		if ((mask & bit) && !(b->mask & bit)) {
			int rc = op->publish(&b->chunk, &b->cookie[i]);
			if (rc == 0)
				b->mask |= bit;
			else if (!first)
				first = rc;
		} else if (!(mask & bit) && (b->mask & bit)) {
			op->unpublish(b->cookie[i]);
			b->mask &= ~bit;
		}
	}
	return first;
}

struct pubset *sw_reg_pubset_get(uint32_t hindex, bool create)
{
	if (hindex < pubcap && pubsets[hindex])
		return pubsets[hindex];
	if (!create)
		return NULL;
	if (hindex >= pubcap) {
		uint32_t cap = sw_reg_hcap > hindex ? sw_reg_hcap : hindex + 1;
		struct pubset **np = realloc(pubsets, (size_t)cap * sizeof(*np));
		if (!np)
			return NULL;
		memset(np + pubcap, 0, (size_t)(cap - pubcap) * sizeof(*np));
		pubsets = np;
		pubcap = cap;
	}
	return pubsets[hindex] = calloc(1, sizeof(struct pubset));
}

/* Withdraw and forget every batch of handle index i. */
void sw_reg_pubset_drop(uint32_t i)
{
	struct pubset *ps = sw_reg_pubset_get(i, false);

	if (!ps)
		return;
	for (struct batch *b = ps->batches, *next; b; b = next) {
		next = b->next;
		batch_apply(b, 0);
		batch_free(b);
	}
	free(ps);
	pubsets[i] = NULL;
}

/* Bring handle o's publications in line with ps->mask: build the batches
 * that are missing (all of an eager registration, the newly published
 * records of a table). */
int sw_reg_pubset_sync(struct obj *o, struct pubset *ps)
{
	int first = 0, rc;

	if (ps->mask && o->type == OBJ_EAGER && !ps->batches) {
		struct batch *b;
		if ((rc = batch_eager(o, &b)) < 0)
			return rc;
		ps->batches = b;
	}
	if (ps->mask && o->type == OBJ_TABLE) {
		struct table *t = (struct table *)o;
		uint32_t n = t->d->published;
		if (n > ps->table_done) {
			struct batch *b;
			if ((rc = batch_table(t, ps->table_done, n - ps->table_done, &b)) < 0)
				return rc;
			b->next = ps->batches;
			ps->batches = b;
			ps->table_done = n;
		}
	}
	for (struct batch *b = ps->batches; b; b = b->next)
		if ((rc = batch_apply(b, ps->mask)) < 0 && !first)
			first = rc;
	return first;
}

/* Rebuild every batch after a move (their bytes carry addresses). */
int sw_reg_pubset_moved(struct obj *o)
{
	struct pubset *ps = sw_reg_pubset_get(o->hindex, false);
	struct batch *old;

	if (!ps)
		return 0;
	old = ps->batches;
	ps->batches = NULL;
	ps->table_done = 0;
	for (struct batch *b = old, *next; b; b = next) {
		next = b->next;
		batch_apply(b, 0);
		batch_free(b);
	}
	return sw_reg_pubset_sync(o, ps);
}

/* The default publishers (under sw_reg_lock): the environment's, until
 * sw_jit_set_publishers changes them. */
static unsigned pub_defaults(void)
{
	if (!pub_default_read) {
		pub_default = sw_jit_pub_initial();
		pub_default_read = true;
	}
	return pub_default;
}

/* A new registration takes the default publishers. */
void sw_reg_pubset_new(struct obj *o)
{
	struct pubset *ps;

	if (!pub_defaults() || o->type == OBJ_CALLBACK)
		return;
	if (!(ps = sw_reg_pubset_get(o->hindex, true)))
		return;
	ps->mask = pub_default;
	sw_reg_pubset_sync(o, ps);
}

int sw_jit_set_publishers(unsigned mask)
{
	unsigned prev;

	if (mask & ~(unsigned)SW_JIT_PUB_ALL)
		return sw_jit_fail(SW_EINVAL, "sw_jit_set_publishers: mask: unknown bits %#x",
				   mask & ~(unsigned)SW_JIT_PUB_ALL);
	pthread_mutex_lock(&sw_reg_lock);
	prev = pub_defaults();
	pub_default = mask;
	pthread_mutex_unlock(&sw_reg_lock);
	return (int)prev;
}

static int jit_publish(sw_jit_handle_t handle, unsigned mask)
{
	struct obj *o;
	struct pubset *ps;
	int rc;

	if (mask & ~(unsigned)SW_JIT_PUB_ALL)
		return sw_jit_fail(SW_EINVAL, "mask: unknown bits %#x",
				   mask & ~(unsigned)SW_JIT_PUB_ALL);
	pthread_mutex_lock(&sw_reg_lock);
	o = sw_reg_handle_get(handle);
	if (!o) {
		rc = sw_reg_bad_handle("handle", handle, "");
	} else if (o->type == OBJ_CALLBACK) {
		rc = mask ? sw_jit_fail(SW_EINVAL, "mask: %#x for a callback range, which cannot "
					"be published (its procedures exist only when asked for)",
					mask) : 0;
	} else if (!(ps = sw_reg_pubset_get(o->hindex, mask != 0))) {
		rc = mask ? SW_ENOMEM : 0;
	} else {
		ps->mask = mask;
		rc = sw_reg_pubset_sync(o, ps);
		if (!mask)
			sw_reg_pubset_drop(o->hindex);
	}
	pthread_mutex_unlock(&sw_reg_lock);
	return rc;
}

int sw_jit_publish(sw_jit_handle_t handle, unsigned mask)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(jit_publish(handle, mask), mark, "sw_jit_publish: ");
}
