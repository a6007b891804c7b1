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

#include "jit/tree.h"

struct path {
	int depth;                                  /* nodes on the path, root first */
	struct sw_tree_node *nd[SW_TREE_MAX_DEPTH];
	unsigned ix[SW_TREE_MAX_DEPTH];             /* child taken at each inner node */
};

/* bytes a node costs, with the allocator's chunk header */
#define NODE_BYTES(leaf) \
	(((leaf) ? sizeof(struct sw_tree_leaf) : sizeof(struct sw_tree_inner)) + sizeof(size_t))

static size_t node_size(const struct sw_tree_node *nd)
{
	return NODE_BYTES(nd->leaf);
}

static void *node_alloc(struct sw_tree *t, bool leaf)
{
	struct sw_tree_node *nd = malloc(NODE_BYTES(leaf) - sizeof(size_t));

	if (!nd)
		return NULL;
	nd->leaf = leaf;
	nd->n = 0;
	nd->pad = 0;
	t->node_bytes += NODE_BYTES(leaf);
	return nd;
}

/* A node that was never linked. */
static void node_free(struct sw_tree *t, void *nd)
{
	if (!nd)
		return;
	t->node_bytes -= node_size(nd);
	free(nd);
}

/* A node readers may still be walking. */
static void node_retire(struct sw_tree *t, struct sw_tree_node *nd)
{
	t->node_bytes -= node_size(nd);
	t->retire(t->retire_arg, nd);
}

static struct sw_tree_node *load_child(const struct sw_tree_inner *in, unsigned i)
{
	return __atomic_load_n(&in->child[i], __ATOMIC_RELAXED);    /* writer-only read */
}

/* last i with key[i] <= key, key[0] counting as -inf */
static unsigned inner_pick(const struct sw_tree_inner *in, uint64_t key)
{
	unsigned i = 1;

	while (i < in->h.n && in->key[i] <= key)
		i++;
	return i - 1;
}

/* number of entries whose start is below key (the insertion point) */
static unsigned leaf_lower(const struct sw_tree_leaf *lf, uint64_t key)
{
	unsigned lo = 0, hi = lf->h.n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (lf->start[mid] < key)
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
			return SW_EINVAL;
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

static void leaf_set(struct sw_tree_leaf *lf, unsigned i, const struct sw_tree_entry *e)
{
	lf->start[i] = e->start;
	lf->len[i] = e->len;
	lf->idx[i] = e->idx;
	lf->val[i] = e->val;
}

static void leaf_get(const struct sw_tree_leaf *lf, unsigned i, struct sw_tree_entry *e)
{
	e->start = lf->start[i];
	e->len = lf->len[i];
	e->idx = lf->idx[i];
	e->val = lf->val[i];
}

/* The i-th entry of leaf `lf` with `e` inserted at `pos`. */
static void merged_entry(const struct sw_tree_leaf *lf, unsigned pos, const struct sw_tree_entry *e,
			 unsigned i, struct sw_tree_entry *out)
{
	if (i < pos)
		leaf_get(lf, i, out);
	else if (i == pos)
		*out = *e;
	else
		leaf_get(lf, i - 1, out);
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
		root->h.n = 2;
		root->key[0] = 0;
		root->child[0] = L;
		root->key[1] = sep;
		root->child[1] = R;
		link_node(t, p, 0, &root->h);
		return 0;
	}

	struct sw_tree_inner *in = (struct sw_tree_inner *)p->nd[k];
	unsigned n = in->h.n, at = p->ix[k] + 1, total = n + 1;
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
		c->h.n = (uint16_t)total;
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
	il->h.n = (uint16_t)nl;
	memcpy(il->key, keys, nl * sizeof(keys[0]));
	memcpy(il->child, kids, nl * sizeof(kids[0]));
	ir->h.n = (uint16_t)(total - nl);
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
	c->h.n = in->h.n;
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
		struct sw_tree_leaf *lf = node_alloc(t, true);
		if (!lf)
			return SW_ENOMEM;
		lf->h.n = 1;
		leaf_set(lf, 0, e);
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
	struct sw_tree_entry x;

	if (n < SW_TREE_LEAF_MAX) {
		struct sw_tree_leaf *c = node_alloc(t, true);
		if (!c)
			return SW_ENOMEM;
		c->h.n = (uint16_t)(n + 1);
		for (unsigned i = 0; i <= n; i++) {
			merged_entry(lf, pos, e, i, &x);
			leaf_set(c, i, &x);
		}
		link_node(t, &p, lv, &c->h);
		node_retire(t, &lf->h);
		t->entries++;
		return 0;
	}

	unsigned nl = split_left(n, pos);
	struct sw_tree_leaf *L = node_alloc(t, true), *R = node_alloc(t, true);
	if (!L || !R) {
		node_free(t, L);
		node_free(t, R);
		return SW_ENOMEM;
	}
	L->h.n = (uint16_t)nl;
	R->h.n = (uint16_t)(n + 1 - nl);
	for (unsigned i = 0; i <= n; i++) {
		merged_entry(lf, pos, e, i, &x);
		if (i < nl)
			leaf_set(L, i, &x);
		else
			leaf_set(R, i - nl, &x);
	}
	rc = insert_child(t, &p, lv - 1, R->start[0], &L->h, &R->h);
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
	if (j >= lf->h.n || lf->start[j] != start || lf->val[j] != val)
		return SW_ENOTFOUND;

	if (lf->h.n > 1) {
		struct sw_tree_leaf *c = node_alloc(t, true);
		struct sw_tree_entry x;
		if (!c)
			return SW_ENOMEM;
		c->h.n = (uint16_t)(lf->h.n - 1);
		for (unsigned i = 0, o = 0; i < lf->h.n; i++) {
			if (i == j)
				continue;
			leaf_get(lf, i, &x);
			leaf_set(c, o++, &x);
		}
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
			c->h.n = (uint16_t)(par->h.n - 1);
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
	/* else the first range starting at or after `start` must start at or
	 * after `end` */
	if (descend(t, start, &p) < 0 || p.depth == 0)
		return p.depth != 0;    /* too deep: refuse (cannot happen) */
	const struct sw_tree_leaf *lf = (const struct sw_tree_leaf *)p.nd[p.depth - 1];
	unsigned pos = leaf_lower(lf, start);
	if (pos < lf->h.n)
		return lf->start[pos] < end;
	for (int k = p.depth - 2; k >= 0; k--) {
		const struct sw_tree_inner *in = (const struct sw_tree_inner *)p.nd[k];
		if (p.ix[k] + 1 < in->h.n) {
			const struct sw_tree_node *nd = load_child(in, p.ix[k] + 1);
			while (!nd->leaf)
				nd = load_child((const struct sw_tree_inner *)nd, 0);
			return ((const struct sw_tree_leaf *)nd)->start[0] < end;
		}
	}
	return false;
}
