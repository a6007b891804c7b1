/*
 * Rule cache: PC -> compiled CFA row, shared by every thread and signal
 * handler, without locks or allocation.
 *
 * A direct-mapped table of SW_CACHE_SIZE slots.  Each slot is guarded by a
 * sequence number (a seqlock):
 *   writer: CAS seq from even s to odd s+1 (if that fails, someone else is
 *           writing the slot: skip, the cache is only a hint), store the
 *           payload words with relaxed atomics, store seq = s+2 (release).
 *   reader: load seq (acquire); odd -> miss; load the payload words
 *           (relaxed); acquire fence; reload seq; changed -> miss.
 * A signal handler that interrupts a writer on the same slot sees an odd
 * sequence and misses, so there is no deadlock.  Every access to shared
 * words is atomic, so the scheme is data-race free (and TSan-clean).
 *
 * Invalidation: each slot records the generation it was filled in;
 * sw_flush_cache bumps the global generation, which turns every slot into a
 * miss at once.  A walker reads the generation (sw_cache_gen) before it
 * looks a PC up and tags what it stores with it, so a flush between the
 * lookup and the store also makes that a miss.  dlclose flushes before and
 * after the real unload, and nothing is stored while one is in between
 * (dlhooks.c explains why both are needed).
 *
 * A walk of another target (source/target.h) uses the target's own table
 * of the same slots and its own generation (sw_cache_slot_get/put).
 */
#include <string.h>

#include "unwind/internal.h"

struct sw_cache_slot sw_cache_table[SW_CACHE_SIZE];
uint32_t sw_cache_generation = 1;
#define table sw_cache_table
#define generation sw_cache_generation

static inline struct sw_cache_slot *slot_for(uint64_t pc)
{
	return &table[sw_cache_index(pc)];
}

void sw_cache_put(uint64_t pc, const struct sw_compiled *rule, uint32_t gen)
{
	sw_cache_slot_put(slot_for(pc), pc, rule, gen);
}

void sw_cache_slot_put(struct sw_cache_slot *s, uint64_t pc, const struct sw_compiled *rule,
		       uint32_t gen)
{
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

	if ((seq & 1) || gen == SW_CACHE_NOGEN)
		return;
	if (!__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	/* the odd sequence is visible before any payload store (acquire on
	 * the CAS orders later stores after it for readers that see them) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->pc, pc, __ATOMIC_RELAXED);
	__atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
	__atomic_store_n(&s->w0, rule->w0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->w1, rule->w1, __ATOMIC_RELAXED);
	/* publish: readers that acquire seq+2 see the whole payload */
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

void sw_flush_cache(void)
{
	uint32_t g = __atomic_load_n(&generation, __ATOMIC_RELAXED), next;

	/* never SW_CACHE_NOGEN, even when the counter wraps (a CAS, not a
	 * store: concurrent flushes each move it, and every flush continues
	 * the release sequence readers acquire) */
	do
		next = g + 1 == SW_CACHE_NOGEN ? g + 2 : g + 1;
	while (!__atomic_compare_exchange_n(&generation, &g, next, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}
