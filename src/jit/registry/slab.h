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
 * when every slot in it is free, see struct sw_slab_pool).  Each slot is in one of three states:
 * free, used (linked or about to be), retired (unlinked, waiting for the
 * grace period); the counts per chunk give the memory statistics.
 */
#ifndef SW_JIT_SLAB_H
#define SW_JIT_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SW_SLAB_CHUNK ((size_t)64 << 10)
#define SW_SLAB_SEG_CHUNKS 32           /* chunks mapped at once (2 MiB) */
#define SW_SLAB_KEEP_CHUNKS 1024        /* empty chunks kept for reuse (64 MiB) */

struct sw_slab_chunk;
struct sw_slab_seg;

/* Chunks shared by slabs: mapped a segment at a time, an empty chunk
 * reused by any slab, a segment unmapped when all its chunks are empty
 * and more than SW_SLAB_KEEP_CHUNKS others are.  Like malloc's heap, the
 * pool keeps what a drained index used, up to that bound: a JIT that
 * removes and registers again reuses pages already faulted in (measured:
 * giving chunks back at every drain made registering 10^6 procedures
 * again 10-20% slower; munmap costs a TLB shootdown, tens of
 * microseconds in a VM, so never one per chunk either). */
struct sw_slab_pool {
	struct sw_slab_seg *segs;
	struct sw_slab_chunk *empty;    /* empty chunks (linked like partial ones) */
	size_t nempty;
};

struct sw_slab {
	size_t size;                    /* slot bytes (a multiple of 64) */
	struct sw_slab_pool *pool;
	struct sw_slab_chunk *partial;  /* chunks with free slots and a used or retired one */
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
