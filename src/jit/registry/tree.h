/*
 * The JIT registry's index: a copy-on-write B+tree over disjoint address
 * ranges [start, start + len).
 *
 * Readers walk it without locks: published nodes are immutable except for
 * an inner node's child pointers, which a writer may swap (release store,
 * acquire load) for a replacement covering the same key range.  A writer
 * never edits a node readers can reach in any other way: it builds a copy,
 * links the copy with one pointer store and retires the original (freed
 * after a grace period, see rcu.h).  Every intermediate state is a valid
 * tree, so a reader sees each range either fully registered or not at all.
 *
 * Invariant that lets a reader find the range covering a PC in the one leaf
 * its descent reaches: every node has an interval [lo, hi) given by the
 * separators on the path to it (the first child's separator is unused, -inf
 * within its parent), and every range lies entirely inside the interval of
 * its leaf (lo <= start and start + len <= hi).  Splits choose the first
 * start of the new right node as separator (ranges are disjoint, so the
 * left ranges end at or before it); an insertion whose range would cross
 * the separator on its right first lowers that separator to its start.
 *
 * Two in-place changes are also allowed, because a reader cannot tell them
 * from an atomic one:
 *   - appending at the end of a node whose slots past n were never
 *     published (n == hw): the writer fills slot n, then stores n + 1
 *     (release); a reader loads n (acquire) and reads only slots below it;
 *   - removing a leaf entry by storing 0 into its length (a tombstone: a
 *     zero-length range contains no PC).  Tombstones are dropped when the
 *     leaf is next copied, and a leaf that is half tombstones is copied.
 * Sequential registration and removal, the common JIT pattern, therefore
 * allocate a node only once per SW_TREE_LEAF_MAX entries.
 *
 * Writers are serialised by the caller (the registry mutex).
 */
#ifndef SW_JIT_TREE_H
#define SW_JIT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_TREE_LEAF_MAX 32
#define SW_TREE_INNER_MAX 32
#define SW_TREE_MAX_DEPTH 24

struct sw_tree_node {
	uint16_t leaf;          /* 1: struct sw_tree_leaf */
	uint16_t n;             /* entries / children (release store, acquire load) */
	uint16_t hw;            /* writer only: slots ever published */
	uint16_t dead;          /* writer only: removed leaf entries (len 0) */
};

struct sw_tree_leaf {
	struct sw_tree_node h;
	uint64_t start[SW_TREE_LEAF_MAX];
	uint32_t len[SW_TREE_LEAF_MAX];
	uint32_t idx[SW_TREE_LEAF_MAX];
	void *val[SW_TREE_LEAF_MAX];
};

struct sw_tree_inner {
	struct sw_tree_node h;
	uint64_t key[SW_TREE_INNER_MAX];        /* key[0] unused */
	struct sw_tree_node *child[SW_TREE_INNER_MAX];
};

struct sw_tree {
	struct sw_tree_node *root;      /* atomic: release store, acquire load */
	size_t entries;
	size_t node_bytes;
	/* retire(node): called for every node a writer unlinks */
	void (*retire)(void *arg, void *node);
	void *retire_arg;
};

/* One entry.  sw_tree_find leaves idx 0 and points idxp at the stored
 * value instead (a separate cache line: read it only when needed). */
struct sw_tree_entry {
	uint64_t start;
	uint32_t len;
	uint32_t idx;
	void *val;
	const uint32_t *idxp;
};

/* Prefetch the cache lines of n keys (random lookups over a large index
 * are bound by memory latency: overlapping the misses halves them). */
static inline void sw_tree_prefetch(const uint64_t *keys, unsigned n)
{
	for (unsigned i = 0; i < n; i += 8)
		__builtin_prefetch(keys + i);
}

/*
 * Reader: the entry whose range contains pc.  Returns true and *e.  Must
 * run inside a read section.  Async-signal-safe, lock-free.
 */
static inline bool sw_tree_find(const struct sw_tree *t, uint64_t pc, struct sw_tree_entry *e)
{
	const struct sw_tree_node *nd = __atomic_load_n(&t->root, __ATOMIC_ACQUIRE);

	if (!nd)
		return false;
	while (!nd->leaf) {
		const struct sw_tree_inner *in = (const struct sw_tree_inner *)nd;
		unsigned lo = 0, n = __atomic_load_n(&nd->n, __ATOMIC_ACQUIRE);

		/* the key lines in parallel, not one per binary-search step */
		sw_tree_prefetch(in->key, n);

		/* last i with key[i] <= pc, key[0] counting as -inf */
		while (n > 1) {
			unsigned half = n / 2;
			if (in->key[lo + half] <= pc)
				lo += half;
			n -= half;
		}
		nd = __atomic_load_n(&in->child[lo], __ATOMIC_ACQUIRE);
	}
	const struct sw_tree_leaf *lf = (const struct sw_tree_leaf *)nd;
	unsigned lo = 0, n = __atomic_load_n(&lf->h.n, __ATOMIC_ACQUIRE);

	sw_tree_prefetch(lf->start, n);

	if (n == 0 || lf->start[0] > pc)
		return false;
	while (n > 1) {
		unsigned half = n / 2;
		if (lf->start[lo + half] <= pc)
			lo += half;
		n -= half;
	}
	uint32_t len = __atomic_load_n(&lf->len[lo], __ATOMIC_RELAXED);
	if (pc - lf->start[lo] >= len)
		return false;
	e->start = lf->start[lo];
	e->len = len;
	e->idx = 0;
	e->idxp = &lf->idx[lo];
	e->val = lf->val[lo];
	return true;
}

/*
 * Writers (serialised by the caller).  Each returns 0 or SW_ENOMEM /
 * SW_EINVAL (tree too deep) / SW_ENOTFOUND (remove: no such entry); on
 * error the tree is unchanged.  Overlap is the caller's to check first with
 * sw_tree_overlaps.
 */
int sw_tree_insert(struct sw_tree *t, const struct sw_tree_entry *e);
int sw_tree_remove(struct sw_tree *t, uint64_t start, const void *val);
bool sw_tree_overlaps(const struct sw_tree *t, uint64_t start, uint64_t end);

#endif /* SW_JIT_TREE_H */
