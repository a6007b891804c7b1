/*
 * Slots of one size for the index's nodes, carved from chunks of their
 * own (mmap'ed, SW_SLAB_CHUNK bytes, aligned to that size so a slot finds
 * its chunk by masking its address).
 *
 * Why not malloc: a registration's objects come from malloc too, so the
 * nodes of a large index were scattered over the whole heap, each leaf on
 * a page of its own, and a random lookup paid a TLB miss (a page walk,
 * itself missing the caches) at every level.  Here the nodes sit side by
 * side, nodes only, cache-line aligned: a leaf's hot lines are the fewest
 * possible and the index spans the fewest pages.
 *
 * Writer side only (the registry mutex); readers merely read slots, which
 * stay mapped until freed after a grace period (a chunk is unmapped only
 * when every slot in it is free).  Each slot is in one of three states:
 * free, used (linked or about to be), retired (unlinked, waiting for the
 * grace period); the counts per chunk give the memory statistics.
 */
#ifndef SW_JIT_SLAB_H
#define SW_JIT_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SW_SLAB_CHUNK ((size_t)64 << 10)

struct sw_slab_chunk;

struct sw_slab {
	size_t size;                    /* slot bytes (a multiple of 64) */
	struct sw_slab_chunk *partial;  /* chunks with free slots */
	struct sw_slab_chunk *spare;    /* one empty chunk kept (no map/unmap churn) */
	struct sw_slab_chunk *all;      /* every chunk (statistics) */
	size_t chunks;                  /* mapped, the spare included */
};

#pragma GCC visibility push(hidden)

/* A used slot, or NULL (out of memory). */
void *sw_slab_alloc(struct sw_slab *s);
/* used -> retired */
void sw_slab_retire(struct sw_slab *s, void *p);
/* used or retired -> free (retired: say so) */
void sw_slab_free(struct sw_slab *s, void *p, int retired);
/* Bytes of the used slots plus the free slots of the chunks that hold a
 * used one (what the live index occupies); retired slots are not
 * counted (they are the caller's retired bytes). */
size_t sw_slab_bytes(const struct sw_slab *s);

#pragma GCC visibility pop

#endif /* SW_JIT_SLAB_H */
