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
 * Layout, for a random lookup over a large index (10^6 procedures: the
 * leaves no longer fit the caches, and each line or page a lookup waits
 * for is a miss): a leaf keeps what every lookup reads -- starts as
 * offsets from its base beside the lengths, the values' tags -- in 3 cache
 * lines (narrow, 16-bit) or 5 (wide, 32-bit), fetched together; values and
 * indexes sit in a separate cold part.  All nodes come from slabs of
 * their own (slab.h), so the hot lines of the leaves are contiguous, on
 * the fewest pages.  An inner node's key and child lines are fetched
 * together too: one wait per level, the upper levels staying cached.
 *
 * Writers are serialised by the caller (the registry mutex).
 */
#ifndef SW_JIT_TREE_H
#define SW_JIT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/registry/slab.h"

#define SW_TREE_LEAF_MAX 32
#define SW_TREE_INNER_MAX 32
#define SW_TREE_MAX_DEPTH 24

struct sw_tree_node {
	uint16_t leaf;          /* 1: struct sw_tree_leaf */
	uint16_t n;             /* entries / children (release store, acquire load) */
	uint16_t hw;            /* writer only: slots ever published */
	uint16_t dead;          /* writer only: removed leaf entries (len 0) */
};

/* A leaf entry's place: its start as an offset from the leaf's base, and
 * its length (0: removed).  Start and length side by side, so a lookup
 * finds both in the lines its search reads. */
struct sw_tree_slot {
	uint32_t off;
	uint32_t len;
};

/* The same in a narrow leaf: every entry within 64 KiB of the base and
 * shorter than that (a JIT's procedures, side by side, usually are). */
struct sw_tree_nslot {
	uint16_t off;
	uint16_t len;
};

/* What only some lookups read: the values and indexes (the object's
 * pointer, for its unwind information or name). */
struct sw_tree_cold {
	void *val[SW_TREE_LEAF_MAX];
	uint32_t idx[SW_TREE_LEAF_MAX];
};

/*
 * A leaf: what every lookup reads, packed into 3 cache lines (narrow: 4
 * bytes an entry) or 5 (wide: 8 bytes an entry) in its own 64-byte
 * aligned slot: the header, the base, the values' tags, the pointer to
 * its cold part, the format and the slots.  The cold
 * part lives apart (another slab), so the lines of all the leaves that
 * lookups search sit together, on the fewest pages (TLB reach) and
 * sharing the caches with nothing else.  Every start lies in [base,
 * base + 2^32): the writer splits leaves where that would not hold.  A
 * leaf and its cold part are made, copied and retired together.
 */
struct sw_tree_leaf {
	struct sw_tree_node h;
	uint64_t base;                          /* start = base + off */
	uint64_t tags;                          /* 2 bits per entry: val's low bits */
	struct sw_tree_cold *cold;              /* set once */
	uint32_t narrow;                        /* set once: u.nslot, else u.slot */
	union {
		struct sw_tree_slot slot[SW_TREE_LEAF_MAX];
		struct sw_tree_nslot nslot[SW_TREE_LEAF_MAX];
	} u;
};

struct sw_tree_inner {
	struct sw_tree_node h;
	uint64_t key[SW_TREE_INNER_MAX];        /* key[0] unused */
	struct sw_tree_node *child[SW_TREE_INNER_MAX];
};

struct sw_tree {
	struct sw_tree_node *root;      /* atomic: release store, acquire load */
	size_t entries;
	size_t node_bytes;              /* the nodes linked (their slots' bytes) */
	/* retire(node): called for every node a writer unlinks; once no
	 * reader can hold it, give it back with sw_tree_node_release */
	void (*retire)(void *arg, void *node);
	void *retire_arg;
	struct sw_slab_pool pool;       /* where the nodes live (slab.h) */
	struct sw_slab leaves, narrows, colds, inners;
};

/* One entry.  Values are pointers whose 2 low bits are free to carry a
 * tag (the registry keeps the object's type there).  sw_tree_find leaves
 * idx 0 and val NULL and points idxp and valp at the stored ones instead,
 * with the tag in `tag`: both live in other cache lines, read them only
 * when needed. */
struct sw_tree_entry {
	uint64_t start;
	uint32_t len;
	uint32_t idx;
	void *val;
	unsigned tag;
	const uint32_t *idxp;
	void *const *valp;
};

/* Prefetch the cache lines of [p, p + bytes) (random lookups over a large
 * index are bound by memory latency: overlapping the misses divides
 * them). */
static inline void sw_tree_prefetch(const void *p, size_t bytes)
{
	const char *c = p;

	for (size_t i = 0; i < bytes; i += 64)
		__builtin_prefetch(c + i);
	__builtin_prefetch(c + bytes - 1);
}

/* The index of the last of a leaf's n offsets v[0..n).off at or below d
 * (v[0].off <= d): halving, the same steps for any data, for either leaf
 * format. */
#define sw_tree_last_at(v, n, d)                                  \
	({                                                        \
		unsigned lo_ = 0, n_ = (n);                       \
		while (n_ > 1) {                                  \
			unsigned half_ = n_ / 2;                  \
			if ((v)[lo_ + half_].off <= (d))          \
				lo_ += half_;                     \
			n_ -= half_;                              \
		}                                                 \
		lo_;                                              \
	})

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

		/* the key and child lines in parallel, not one per
		 * binary-search step and then the child's */
		sw_tree_prefetch(in->key, n * sizeof(in->key[0]));
		sw_tree_prefetch(in->child, n * sizeof(in->child[0]));

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

	/* every line a narrow leaf's search reads, at once (the header's
	 * too); a wide one's two more as soon as its format is known */
	sw_tree_prefetch(lf, offsetof(struct sw_tree_leaf, u) + sizeof(lf->u.nslot));

	unsigned lo = 0, n = __atomic_load_n(&lf->h.n, __ATOMIC_ACQUIRE);
	uint64_t d = pc - lf->base, off;
	uint32_t len;

	if (n == 0 || pc < lf->base)
		return false;
	if (lf->narrow) {
		const struct sw_tree_nslot *v = lf->u.nslot;
		if (v[0].off > d)
			return false;
		lo = sw_tree_last_at(v, n, d);
		off = v[lo].off;
		len = __atomic_load_n(&v[lo].len, __ATOMIC_RELAXED);
	} else {
		const struct sw_tree_slot *v = lf->u.slot;
		sw_tree_prefetch(lf, sizeof(*lf));
		if (v[0].off > d)
			return false;
		lo = sw_tree_last_at(v, n, d);
		off = v[lo].off;
		len = __atomic_load_n(&v[lo].len, __ATOMIC_RELAXED);
	}
	if (d - off >= len)
		return false;
	e->start = lf->base + off;
	e->len = len;
	e->idx = 0;
	e->val = NULL;
	e->tag = (unsigned)(__atomic_load_n(&lf->tags, __ATOMIC_RELAXED) >> (2 * lo)) & 3;
	e->idxp = &lf->cold->idx[lo];
	e->valp = &lf->cold->val[lo];
	return true;
}

/*
 * Writers (serialised by the caller).  Each returns 0 or SW_ENOMEM /
 * SW_EINVAL (tree too deep) / SW_ENOTFOUND (remove: no such entry); on
 * error the tree is unchanged.  Overlap is the caller's to check first with
 * sw_tree_overlaps.
 */
int sw_tree_insert(struct sw_tree *t, const struct sw_tree_entry *e);
/* A retired node, after the grace period: its slot is free again. */
void sw_tree_node_release(struct sw_tree *t, void *node);
/* The bytes a node's slot takes. */
size_t sw_tree_node_bytes(const void *node);
/* The bytes the index occupies: its nodes' slots and the free slots of
 * the chunks that hold them (retired nodes not included). */
size_t sw_tree_index_bytes(const struct sw_tree *t);
int sw_tree_remove(struct sw_tree *t, uint64_t start, const void *val);
bool sw_tree_overlaps(const struct sw_tree *t, uint64_t start, uint64_t end);

#endif /* SW_JIT_TREE_H */
