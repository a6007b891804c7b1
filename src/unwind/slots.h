/*
 * Per-module table slots shared by lock-free readers and reclaimers
 * (filecfi.c, names.c).
 *
 * A slot describes one loaded module and owns resources (a mapped file)
 * that readers use without locks, in any thread and in signal handlers.
 * When the module is unloaded the slot must be reusable, but not while a
 * reader still looks at it.  Each slot has a state and a reader count:
 *
 *   EMPTY --claim--> LOADING --publish--> READY / NONE
 *   READY / NONE --seize (no readers)--> RECLAIMING --publish--> READY / NONE
 *
 * Only the thread that moved a slot to LOADING or RECLAIMING writes its
 * fields; READY and NONE slots are immutable.  A reader first counts
 * itself in (sw_slot_hold), then checks the state: only READY/NONE slots
 * may be read, and they stay so until the reader leaves (sw_slot_release).
 * A reclaimer first moves the state to RECLAIMING, then checks the count:
 * with no readers it owns the slot.  Both sides use sequentially
 * consistent operations, so of a reader's "count in, load state" and a
 * reclaimer's "set state, load count" at least one sees the other (the
 * store-buffer pattern): a reader never reads a slot being rewritten, a
 * reclaimer never rewrites a slot being read.  A reader's release
 * (fetch_sub, release order) happens before the reclaimer's acquire load
 * of a zero count, so its reads are done before the slot is rewritten.
 *
 * Nothing here blocks or allocates: a reader that finds a slot LOADING or
 * RECLAIMING simply does not use it (and serves its lookup another way).
 */
#ifndef SW_UNWIND_SLOTS_H
#define SW_UNWIND_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

enum {
	SW_SLOT_EMPTY,       /* never used */
	SW_SLOT_LOADING,     /* claimed: its owner fills it */
	SW_SLOT_READY,       /* describes a module, with resources */
	SW_SLOT_NONE,        /* describes a module that has nothing to offer */
	SW_SLOT_RECLAIMING,  /* seized: its owner empties and refills it */
};

struct sw_slot {
	uint32_t state;      /* SW_SLOT_* (atomic) */
	uint32_t readers;    /* readers inside the slot (atomic) */
};

/* Claim a never-used slot.  True when the caller now owns it (LOADING). */
static inline bool sw_slot_claim(struct sw_slot *s)
{
	uint32_t expected = SW_SLOT_EMPTY;

	return __atomic_compare_exchange_n(&s->state, &expected, SW_SLOT_LOADING, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Enter `s` as a reader.  Returns the state seen: when READY or NONE the
 * slot stays so, and its fields unchanged, until sw_slot_release; any
 * other state means the caller is not inside (nothing to release). */
static inline uint32_t sw_slot_hold(struct sw_slot *s)
{
	uint32_t st;

	__atomic_fetch_add(&s->readers, 1, __ATOMIC_SEQ_CST);
	st = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
	if (st != SW_SLOT_READY && st != SW_SLOT_NONE)
		__atomic_fetch_sub(&s->readers, 1, __ATOMIC_RELEASE);
	return st;
}

/* Leave a slot entered with sw_slot_hold. */
static inline void sw_slot_release(struct sw_slot *s)
{
	__atomic_fetch_sub(&s->readers, 1, __ATOMIC_RELEASE);
}

/* Seize a READY or NONE slot that no reader is inside.  True when the
 * caller now owns it (RECLAIMING); *old is the state it had, for
 * sw_slot_unseize. */
static inline bool sw_slot_seize(struct sw_slot *s, uint32_t *old)
{
	uint32_t st = __atomic_load_n(&s->state, __ATOMIC_RELAXED);

	if ((st != SW_SLOT_READY && st != SW_SLOT_NONE) ||
	    !__atomic_compare_exchange_n(&s->state, &st, SW_SLOT_RECLAIMING, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return false;
	if (__atomic_load_n(&s->readers, __ATOMIC_SEQ_CST) != 0) {
		/* a reader is inside (or about to leave): give it back */
		__atomic_store_n(&s->state, st, __ATOMIC_RELEASE);
		return false;
	}
	*old = st;
	return true;
}

/* Give back a seized slot unchanged (its module turned out to be live). */
static inline void sw_slot_unseize(struct sw_slot *s, uint32_t old)
{
	__atomic_store_n(&s->state, old, __ATOMIC_RELEASE);
}

/* Publish a slot the caller owns (LOADING or RECLAIMING) as READY or
 * NONE: every field written before is visible to readers that see it. */
static inline void sw_slot_publish(struct sw_slot *s, uint32_t state)
{
	__atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

/* Publish as sw_slot_publish with the caller already inside as a reader
 * (as if by sw_slot_hold), so no reclaimer can take the slot before the
 * caller has used it. */
static inline void sw_slot_publish_held(struct sw_slot *s, uint32_t state)
{
	__atomic_fetch_add(&s->readers, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

/* How many slots of an array are not EMPTY (for sw_get_stats): `array`
 * of `n` elements, each with its struct sw_slot in member `slot`. */
#define sw_slots_used(array, n)                                                           \
	({                                                                                \
		uint32_t used_ = 0;                                                       \
		for (size_t i_ = 0; i_ < (n); i_++)                                       \
			used_ += __atomic_load_n(&(array)[i_].slot.state, __ATOMIC_RELAXED) != \
				 SW_SLOT_EMPTY;                                           \
		used_;                                                                    \
	})

#endif /* SW_UNWIND_SLOTS_H */
