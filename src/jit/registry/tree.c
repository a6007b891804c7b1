/*
 * Copy-on-write B+tree of disjoint ranges: the writer side (tree.h says
 * how readers walk it and why that is safe).
 *
 * Every change builds new nodes privately and makes them reachable with a
 * single release store, either into the parent's child slot (the new node
 * covers the same key range as the one it replaces) or into the root.  A
 * split creates the two halves and a new parent (or a new root) and links
 * only the topmost new node, so the whole change appears at once.  Nodes
 * that are unlinked go to t->retire.
 *
 * Splits are skewed for the common JIT pattern of ever-increasing
 * addresses: appending to a full node keeps it full and starts a new one,
 * so sequential registration fills leaves completely.  Removal drops empty
 * nodes but does not merge sparse ones.
 */
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>

#include "jit/error.h"
#include "jit/registry/tree.h"

struct path {
	int depth;                                  /* nodes on the path, root first */
	struct sw_tree_node *nd[SW_TREE_MAX_DEPTH];
	unsigned ix[SW_TREE_MAX_DEPTH];             /* child taken at each inner node */
};

/* bytes a slot takes (slab.h): whole cache lines */
#define SLOT_BYTES(size) (((size) + 63) & ~(size_t)63)
#define WIDE_HOT SLOT_BYTES(offsetof(struct sw_tree_leaf, u) + sizeof(struct sw_tree_slot[SW_TREE_LEAF_MAX]))
#define NARROW_HOT SLOT_BYTES(offsetof(struct sw_tree_leaf, u) + sizeof(struct sw_tree_nslot[SW_TREE_LEAF_MAX]))
#define COLD_BYTES SLOT_BYTES(sizeof(struct sw_tree_cold))
#define INNER_BYTES SLOT_BYTES(sizeof(struct sw_tree_inner))

/* what node_alloc makes */
enum { INNER, WIDE, NARROW };

static struct sw_slab *slab_of(struct sw_tree *t, struct sw_slab *s, size_t size)
{
	if (!s->size) {
		s->size = size;
		s->pool = &t->pool;
	}
	return s;
}

static struct sw_slab *hot_slab(struct sw_tree *t, int kind)
{
	switch (kind) {
	case INNER: return slab_of(t, &t->inners, INNER_BYTES);
	case WIDE: return slab_of(t, &t->leaves, WIDE_HOT);
	default: return slab_of(t, &t->narrows, NARROW_HOT);
	}
}

static struct sw_slab *cold_slab(struct sw_tree *t)
{
	return slab_of(t, &t->colds, COLD_BYTES);
}

static int kind_of(const struct sw_tree_node *nd)
{
	if (!nd->leaf)
		return INNER;
	return ((const struct sw_tree_leaf *)nd)->narrow ? NARROW : WIDE;
}

size_t sw_tree_node_bytes(const void *node)
{
	switch (kind_of(node)) {
	case INNER: return INNER_BYTES;
	case WIDE: return WIDE_HOT + COLD_BYTES;
	default: return NARROW_HOT + COLD_BYTES;
	}
}

/* A node: for a leaf, its cold part with it. */
static void *node_alloc(struct sw_tree *t, int kind)
{
	struct sw_tree_node *nd = sw_slab_alloc(hot_slab(t, kind));

	if (!nd)
		return NULL;
	nd->leaf = kind != INNER;
	if (kind != INNER) {
		struct sw_tree_leaf *lf = (struct sw_tree_leaf *)nd;
		lf->narrow = kind == NARROW;
		if (!(lf->cold = sw_slab_alloc(cold_slab(t)))) {
			sw_slab_free(hot_slab(t, kind), nd, 0);
			return NULL;
		}
	}
	nd->n = 0;
	nd->hw = 0;
	nd->dead = 0;
	t->node_bytes += sw_tree_node_bytes(nd);
	return nd;
}

static void node_give_back(struct sw_tree *t, struct sw_tree_node *nd, int retired)
{
	if (nd->leaf)
		sw_slab_free(cold_slab(t), ((struct sw_tree_leaf *)nd)->cold, retired);
	sw_slab_free(hot_slab(t, kind_of(nd)), nd, retired);
}

/* A node that was never linked. */
static void node_free(struct sw_tree *t, void *nd)
{
	if (!nd)
		return;
	t->node_bytes -= sw_tree_node_bytes(nd);
	node_give_back(t, nd, 0);
}

/* A node readers may still be walking. */
static void node_retire(struct sw_tree *t, struct sw_tree_node *nd)
{
	t->node_bytes -= sw_tree_node_bytes(nd);
	if (nd->leaf)
		sw_slab_retire(cold_slab(t), ((struct sw_tree_leaf *)nd)->cold);
	sw_slab_retire(hot_slab(t, kind_of(nd)), nd);
	t->retire(t->retire_arg, nd);
}

void sw_tree_node_release(struct sw_tree *t, void *node)
{
	node_give_back(t, node, 1);
}

size_t sw_tree_index_bytes(const struct sw_tree *t)
{
	return sw_slab_bytes(&t->leaves) + sw_slab_bytes(&t->narrows) + sw_slab_bytes(&t->colds) +
	       sw_slab_bytes(&t->inners);
}

static struct sw_tree_node *load_child(const struct sw_tree_inner *in, unsigned i)
{
	return __atomic_load_n(&in->child[i], __ATOMIC_RELAXED);    /* writer-only read */
}

/* last i with key[i] <= key, key[0] counting as -inf */
static unsigned inner_pick(const struct sw_tree_inner *in, uint64_t key)
{
	unsigned lo = 1, hi = in->h.n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (in->key[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

static uint64_t leaf_start(const struct sw_tree_leaf *lf, unsigned i)
{
	return lf->base + (lf->narrow ? lf->u.nslot[i].off : lf->u.slot[i].off);
}

/* (writer only: the one that stores lengths) */
static uint32_t leaf_len(const struct sw_tree_leaf *lf, unsigned i)
{
	return lf->narrow ? lf->u.nslot[i].len : lf->u.slot[i].len;
}

/* Can lf's format hold e, as its entry after those it has? */
static bool leaf_takes(const struct sw_tree_leaf *lf, const struct sw_tree_entry *e)
{
	if (lf->narrow)
		return e->start - lf->base <= UINT16_MAX && e->len <= UINT16_MAX;
	return e->start - lf->base <= UINT32_MAX;
}

/* number of entries whose start is below key (the insertion point) */
static unsigned leaf_lower(const struct sw_tree_leaf *lf, uint64_t key)
{
	unsigned lo = 0, hi = lf->h.n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (leaf_start(lf, mid) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int descend(const struct sw_tree *t, uint64_t key, struct path *p)
{
	struct sw_tree_node *nd = __atomic_load_n(&t->root, __ATOMIC_RELAXED);

	p->depth = 0;
	while (nd) {
		if (p->depth == SW_TREE_MAX_DEPTH)
			return sw_jit_fail(SW_EINVAL, "internal: the index is deeper than %d levels",
					   SW_TREE_MAX_DEPTH);
		p->nd[p->depth] = nd;
		if (nd->leaf) {
			p->depth++;
			break;
		}
		struct sw_tree_inner *in = (struct sw_tree_inner *)nd;
		unsigned i = inner_pick(in, key);
		p->ix[p->depth++] = i;
		nd = load_child(in, i);
	}
	return 0;
}

/* Make `nw` take the place of the node at path level k (same key range). */
static void link_node(struct sw_tree *t, const struct path *p, int k, struct sw_tree_node *nw)
{
	if (k == 0) {
		__atomic_store_n(&t->root, nw, __ATOMIC_RELEASE);
	} else {
		struct sw_tree_inner *par = (struct sw_tree_inner *)p->nd[k - 1];
		__atomic_store_n(&par->child[p->ix[k - 1]], nw, __ATOMIC_RELEASE);
	}
}

_Static_assert(SW_TREE_LEAF_MAX * 2 <= 64, "a leaf's tags are 2 bits per entry in 64");

/* Slot i of lf (unpublished: i >= lf->h.n, or lf not yet linked) holds e;
 * e->start is in [lf->base, lf->base + 2^32). */
static void leaf_set(struct sw_tree_leaf *lf, unsigned i, const struct sw_tree_entry *e)
{
	uint64_t tags = __atomic_load_n(&lf->tags, __ATOMIC_RELAXED);

	if (lf->narrow) {
		lf->u.nslot[i].off = (uint16_t)(e->start - lf->base);
		lf->u.nslot[i].len = (uint16_t)e->len;
	} else {
		lf->u.slot[i].off = (uint32_t)(e->start - lf->base);
		lf->u.slot[i].len = e->len;
	}
	lf->cold->idx[i] = e->idx;
	lf->cold->val[i] = e->val;
	tags &= ~(3ull << (2 * i));
	tags |= (uint64_t)((uintptr_t)e->val & 3) << (2 * i);
	/* readers load the word while slots below n are visible: one store */
	__atomic_store_n(&lf->tags, tags, __ATOMIC_RELAXED);
}

static void leaf_get(const struct sw_tree_leaf *lf, unsigned i, struct sw_tree_entry *e)
{
	e->start = leaf_start(lf, i);
	e->len = leaf_len(lf, i);
	e->idx = lf->cold->idx[i];
	e->val = lf->cold->val[i];
}

/* Can one leaf hold v[a..b) (every start within 2^32 of the first)? */
static bool leaf_fits(const struct sw_tree_entry *v, unsigned a, unsigned b)
{
	return b <= a + 1 || v[b - 1].start - v[a].start <= UINT32_MAX;
}

/* A new leaf holding v[0..n) (sorted, leaf_fits), narrow when they all
 * fit 16 bits; NULL: out of memory. */
static struct sw_tree_leaf *leaf_make(struct sw_tree *t, const struct sw_tree_entry *v, unsigned n)
{
	bool narrow = true;

	for (unsigned i = 0; i < n && narrow; i++)
		narrow = v[i].start - v[0].start <= UINT16_MAX && v[i].len <= UINT16_MAX;
	struct sw_tree_leaf *lf = node_alloc(t, narrow ? NARROW : WIDE);
	if (!lf)
		return NULL;
	lf->base = v[0].start;
	lf->tags = 0;
	for (unsigned i = 0; i < n; i++)
		leaf_set(lf, i, &v[i]);
	lf->h.n = lf->h.hw = (uint16_t)n;
	return lf;
}

/* The live entries of `lf` with `e` inserted in order (tombstones dropped).
 * Returns the count. */
static unsigned merged_entries(const struct sw_tree_leaf *lf, const struct sw_tree_entry *e,
			       struct sw_tree_entry *out, unsigned *epos)
{
	unsigned o = 0;
	bool placed = false;

	for (unsigned i = 0; i < lf->h.n; i++) {
		if (!leaf_len(lf, i))
			continue;
		if (!placed && leaf_start(lf, i) >= e->start) {
			*epos = o;
			out[o++] = *e;
			placed = true;
		}
		leaf_get(lf, i, &out[o++]);
	}
	if (!placed) {
		*epos = o;
		out[o++] = *e;
	}
	return o;
}

/* Where to split n + 1 items when the new one goes to position pos. */
static unsigned split_left(unsigned n, unsigned pos)
{
	if (pos == n)
		return n;               /* appending: keep the left node full */
	if (pos == 0)
		return 1;               /* prepending: the new item alone on the left */
	return (n + 1) / 2;
}

/*
 * The node at path level k + 1 is replaced by L, and R follows it with
 * separator sep.  Level k < 0 means the replaced node was the root.
 */
static int insert_child(struct sw_tree *t, const struct path *p, int k, uint64_t sep,
			struct sw_tree_node *L, struct sw_tree_node *R)
{
	if (k < 0) {
		struct sw_tree_inner *root = node_alloc(t, false);
		if (!root)
			return SW_ENOMEM;
		root->h.n = root->h.hw = 2;
		root->key[0] = 0;
		root->child[0] = L;
		root->key[1] = sep;
		root->child[1] = R;
		link_node(t, p, 0, &root->h);
		return 0;
	}

	struct sw_tree_inner *in = (struct sw_tree_inner *)p->nd[k];
	unsigned n = in->h.n, at = p->ix[k] + 1, total = n + 1;

	if (at == n && n == in->h.hw && n < SW_TREE_INNER_MAX && load_child(in, n - 1) == L) {
		/* append in place: the old child stays, R joins at the end */
		in->key[n] = sep;
		__atomic_store_n(&in->child[n], R, __ATOMIC_RELAXED);
		in->h.hw = (uint16_t)(n + 1);
		__atomic_store_n(&in->h.n, (uint16_t)(n + 1), __ATOMIC_RELEASE);
		return 0;
	}
	uint64_t keys[SW_TREE_INNER_MAX + 1];
	struct sw_tree_node *kids[SW_TREE_INNER_MAX + 1];

	for (unsigned i = 0, j = 0; i < total; i++) {
		if (i == at) {
			keys[i] = sep;
			kids[i] = R;
		} else {
			keys[i] = in->key[j];
			kids[i] = load_child(in, j);
			j++;
		}
	}
	kids[at - 1] = L;

	if (total <= SW_TREE_INNER_MAX) {
		struct sw_tree_inner *c = node_alloc(t, false);
		if (!c)
			return SW_ENOMEM;
		c->h.n = c->h.hw = (uint16_t)total;
		memcpy(c->key, keys, total * sizeof(keys[0]));
		memcpy(c->child, kids, total * sizeof(kids[0]));
		link_node(t, p, k, &c->h);
		node_retire(t, &in->h);
		return 0;
	}

	unsigned nl = split_left(n, at);
	struct sw_tree_inner *il = node_alloc(t, false), *ir = node_alloc(t, false);
	if (!il || !ir) {
		node_free(t, il);
		node_free(t, ir);
		return SW_ENOMEM;
	}
	il->h.n = il->h.hw = (uint16_t)nl;
	memcpy(il->key, keys, nl * sizeof(keys[0]));
	memcpy(il->child, kids, nl * sizeof(kids[0]));
	ir->h.n = ir->h.hw = (uint16_t)(total - nl);
	memcpy(ir->key, keys + nl, (total - nl) * sizeof(keys[0]));
	memcpy(ir->child, kids + nl, (total - nl) * sizeof(kids[0]));
	int rc = insert_child(t, p, k - 1, keys[nl], &il->h, &ir->h);
	if (rc < 0) {
		node_free(t, il);
		node_free(t, ir);
		return rc;
	}
	node_retire(t, &in->h);
	return 0;
}

/*
 * If e would cross the separator on the right of its leaf's interval,
 * lower that separator to e's start (every range left of it ends at or
 * before e's start: ranges are disjoint).  Returns 1 when it did (descend
 * again), 0 when not needed, or an error.
 */
static int lower_separator(struct sw_tree *t, const struct path *p, const struct sw_tree_entry *e)
{
	int kk = -1;

	for (int k = 0; k < p->depth - 1; k++)
		if (p->ix[k] + 1 < p->nd[k]->n)
			kk = k;         /* the deepest right neighbour bounds the interval */
	if (kk < 0)
		return 0;
	struct sw_tree_inner *in = (struct sw_tree_inner *)p->nd[kk];
	unsigned j = p->ix[kk] + 1;
	if (e->start + e->len <= in->key[j])
		return 0;
	struct sw_tree_inner *c = node_alloc(t, false);
	if (!c)
		return SW_ENOMEM;
	c->h.n = c->h.hw = in->h.n;
	memcpy(c->key, in->key, in->h.n * sizeof(in->key[0]));
	for (unsigned i = 0; i < in->h.n; i++)
		c->child[i] = load_child(in, i);
	c->key[j] = e->start;
	link_node(t, p, kk, &c->h);
	node_retire(t, &in->h);
	return 1;
}

int sw_tree_insert(struct sw_tree *t, const struct sw_tree_entry *e)
{
	struct path p;
	int rc;

	if (!__atomic_load_n(&t->root, __ATOMIC_RELAXED)) {
		struct sw_tree_leaf *lf = leaf_make(t, e, 1);
		if (!lf)
			return SW_ENOMEM;
		__atomic_store_n(&t->root, &lf->h, __ATOMIC_RELEASE);
		t->entries++;
		return 0;
	}
	for (;;) {
		if ((rc = descend(t, e->start, &p)) < 0)
			return rc;
		if ((rc = lower_separator(t, &p, e)) < 0)
			return rc;
		if (rc == 0)
			break;
	}

	int lv = p.depth - 1;
	struct sw_tree_leaf *lf = (struct sw_tree_leaf *)p.nd[lv];
	unsigned n = lf->h.n, pos = leaf_lower(lf, e->start);

	if (pos == n && n == lf->h.hw && n < SW_TREE_LEAF_MAX && (n == 0 || leaf_len(lf, n - 1)) &&
	    leaf_takes(lf, e)) {
		/* append in place (tree.h): slot n was never visible */
		leaf_set(lf, n, e);
		lf->h.hw = (uint16_t)(n + 1);
		__atomic_store_n(&lf->h.n, (uint16_t)(n + 1), __ATOMIC_RELEASE);
		t->entries++;
		return 0;
	}
	if (pos == n && n == SW_TREE_LEAF_MAX && lf->h.dead == 0) {
		/* full, appending: the leaf stays as it is, e starts a new one */
		struct sw_tree_leaf *R = leaf_make(t, e, 1);
		if (!R)
			return SW_ENOMEM;
		rc = insert_child(t, &p, lv - 1, e->start, &lf->h, &R->h);
		if (rc < 0) {
			node_free(t, R);
			return rc;
		}
		t->entries++;
		return 0;
	}

	struct sw_tree_entry all[SW_TREE_LEAF_MAX + 1];
	unsigned epos, total = merged_entries(lf, e, all, &epos);

	if (total <= SW_TREE_LEAF_MAX && leaf_fits(all, 0, total)) {
		struct sw_tree_leaf *c = leaf_make(t, all, total);
		if (!c)
			return SW_ENOMEM;
		link_node(t, &p, lv, &c->h);
		node_retire(t, &lf->h);
		t->entries++;
		return 0;
	}

	unsigned nl = split_left(total - 1, epos);
	if (!leaf_fits(all, 0, nl) || !leaf_fits(all, nl, total)) {
		/* the live entries fitted one leaf, so e is the one 2^32 or
		 * more away from them, first or last: alone on its side */
		nl = epos == 0 ? 1 : total - 1;
	}
	struct sw_tree_leaf *L = leaf_make(t, all, nl), *R = leaf_make(t, all + nl, total - nl);
	if (!L || !R) {
		node_free(t, L);
		node_free(t, R);
		return SW_ENOMEM;
	}
	rc = insert_child(t, &p, lv - 1, all[nl].start, &L->h, &R->h);
	if (rc < 0) {
		node_free(t, L);
		node_free(t, R);
		return rc;
	}
	node_retire(t, &lf->h);
	t->entries++;
	return 0;
}

/* A root with a single child is replaced by that child. */
static void collapse_root(struct sw_tree *t)
{
	struct sw_tree_node *r = __atomic_load_n(&t->root, __ATOMIC_RELAXED);

	while (r && !r->leaf && r->n == 1) {
		struct sw_tree_node *c = load_child((struct sw_tree_inner *)r, 0);
		__atomic_store_n(&t->root, c, __ATOMIC_RELEASE);
		node_retire(t, r);
		r = c;
	}
}

int sw_tree_remove(struct sw_tree *t, uint64_t start, const void *val)
{
	struct path p;
	int rc;

	if ((rc = descend(t, start, &p)) < 0)
		return rc;
	if (p.depth == 0)
		return SW_ENOTFOUND;
	int lv = p.depth - 1;
	struct sw_tree_leaf *lf = (struct sw_tree_leaf *)p.nd[lv];
	unsigned j = leaf_lower(lf, start);
	if (j >= lf->h.n || leaf_start(lf, j) != start || lf->cold->val[j] != val || !leaf_len(lf, j))
		return SW_ENOTFOUND;

	unsigned live = lf->h.n - lf->h.dead - 1;
	if (live > 0 && (lf->h.dead + 1) * 2 <= lf->h.n) {
		/* tombstone (tree.h) */
		if (lf->narrow)
			__atomic_store_n(&lf->u.nslot[j].len, 0, __ATOMIC_RELEASE);
		else
			__atomic_store_n(&lf->u.slot[j].len, 0, __ATOMIC_RELEASE);
		lf->h.dead++;
	} else if (live > 0) {
		/* mostly tombstones: copy the live entries */
		struct sw_tree_entry live_e[SW_TREE_LEAF_MAX] = { 0 };
		unsigned o = 0;
		for (unsigned i = 0; i < lf->h.n; i++) {
			if (i == j || !leaf_len(lf, i))
				continue;
			leaf_get(lf, i, &live_e[o++]);
		}
		struct sw_tree_leaf *c = leaf_make(t, live_e, o);
		if (!c)
			return SW_ENOMEM;
		link_node(t, &p, lv, &c->h);
		node_retire(t, &lf->h);
	} else {
		/* drop the leaf and every ancestor it leaves empty */
		int k = lv;
		while (k > 0 && p.nd[k - 1]->n == 1)
			k--;
		if (k == 0) {
			__atomic_store_n(&t->root, NULL, __ATOMIC_RELEASE);
		} else {
			struct sw_tree_inner *par = (struct sw_tree_inner *)p.nd[k - 1];
			struct sw_tree_inner *c = node_alloc(t, false);
			unsigned drop = p.ix[k - 1];
			if (!c)
				return SW_ENOMEM;
			c->h.n = c->h.hw = (uint16_t)(par->h.n - 1);
			for (unsigned i = 0, o = 0; i < par->h.n; i++) {
				if (i == drop)
					continue;
				c->key[o] = par->key[i];
				c->child[o++] = load_child(par, i);
			}
			link_node(t, &p, k - 1, &c->h);
			node_retire(t, &par->h);
		}
		for (int i = k; i <= lv; i++)
			node_retire(t, p.nd[i]);
	}
	t->entries--;
	collapse_root(t);
	return 0;
}

bool sw_tree_overlaps(const struct sw_tree *t, uint64_t start, uint64_t end)
{
	struct sw_tree_entry e;
	struct path p;

	/* a range that starts below `start` overlaps iff it covers start */
	if (sw_tree_find(t, start, &e))
		return true;
	/* else the first live range starting at or after `start` must start
	 * at or after `end` */
	if (descend(t, start, &p) < 0)
		return true;    /* too deep: refuse (cannot happen) */
	if (p.depth == 0)
		return false;
	const struct sw_tree_leaf *lf = (const struct sw_tree_leaf *)p.nd[p.depth - 1];
	unsigned i = leaf_lower(lf, start);
	for (;;) {
		for (; i < lf->h.n; i++) {
			if (leaf_start(lf, i) >= end)
				return false;
			if (leaf_len(lf, i))
				return true;
		}
		/* the next leaf: up to the first ancestor with a right sibling */
		int k = p.depth - 2;
		while (k >= 0 && p.ix[k] + 1 >= p.nd[k]->n)
			k--;
		if (k < 0)
			return false;
		p.ix[k]++;
		const struct sw_tree_node *nd = load_child((const struct sw_tree_inner *)p.nd[k], p.ix[k]);
		for (k++; !nd->leaf; k++) {
			p.nd[k] = (struct sw_tree_node *)(uintptr_t)nd;
			p.ix[k] = 0;
			nd = load_child((const struct sw_tree_inner *)nd, 0);
		}
		p.nd[k] = (struct sw_tree_node *)(uintptr_t)nd;
		lf = (const struct sw_tree_leaf *)nd;
		i = 0;
	}
}
