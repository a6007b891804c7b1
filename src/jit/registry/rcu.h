/*
 * Read-side protection for the JIT registry: an epoch scheme with reader
 * counters spread over cache-line-sized slots (one per thread hash).
 *
 * Readers (unwinders, signal handlers) never block and never allocate:
 *
 *   enter:  e = epoch; slot.count[e & 1] += 1; if epoch != e, undo, retry
 *   exit:   slot.count[parity] -= 1
 *
 * A writer that unlinked objects calls sw_rcu_synchronize(): it advances
 * the epoch, so new readers count in the other parity, and waits until the
 * old parity's counters over all slots sum to zero.  Every reader that
 * could have seen the unlinked objects entered before the advance, in the
 * old parity, so once that parity drains the objects can be freed.
 *
 * Memory ordering (all seq_cst, so the argument is about one total order):
 * a reader's increment precedes its re-read of the epoch.  If that re-read
 * returns e, the increment precedes the writer's advance, which precedes
 * the writer's reads of the counters: the writer sees the increment and
 * waits for it.  If the re-read returns a later epoch, the reader retries
 * before it has read any registry pointer.  A reader that entered in the
 * new parity read the epoch after the advance, which the writer made after
 * unlinking (its unlink stores are releases ordered before the seq_cst
 * advance), so it cannot reach an unlinked object.  The epoch is 64 bits:
 * it never wraps, so a stale epoch read can never match again.
 *
 * Counters (not flags) make nesting free: a signal handler that interrupts
 * a reader on the same thread enters and leaves on its own.  A writer must
 * not wait while its own thread is inside a read section (documented in
 * <stackwalk/jit.h>: callbacks must not call writer functions).
 */
#ifndef SW_JIT_RCU_H
#define SW_JIT_RCU_H

#include <stdint.h>

#define SW_RCU_SLOTS 64

struct sw_rcu_slot {
	uint64_t count[2];
} __attribute__((aligned(64)));

extern struct sw_rcu_slot sw_rcu_slots[SW_RCU_SLOTS] __attribute__((visibility("hidden")));
extern uint64_t sw_rcu_epoch __attribute__((visibility("hidden")));

/* The calling thread's slot: a hash of a thread-local address (initial-exec
 * TLS: an fs-relative lea, no call, async-signal-safe). */
static inline unsigned sw_rcu_slot_index(void)
{
	static __thread char anchor __attribute__((tls_model("initial-exec")));
	uint64_t a = (uint64_t)(uintptr_t)&anchor;

	return (unsigned)(((a >> 6) * 0x9e3779b97f4a7c15ull) >> 58) & (SW_RCU_SLOTS - 1);
}

/* Enter a read section.  Returns a token (never 0) for sw_rcu_exit. */
static inline uint32_t sw_rcu_enter(void)
{
	unsigned s = sw_rcu_slot_index();

	for (;;) {
		uint64_t e = __atomic_load_n(&sw_rcu_epoch, __ATOMIC_SEQ_CST);
		unsigned p = (unsigned)(e & 1);

		__atomic_fetch_add(&sw_rcu_slots[s].count[p], 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&sw_rcu_epoch, __ATOMIC_SEQ_CST) == e)
			return ((uint32_t)s << 1 | p) + 1;
		__atomic_fetch_sub(&sw_rcu_slots[s].count[p], 1, __ATOMIC_RELEASE);
	}
}

/* Leave the read section `token` came from (release: every registry read
 * of the section happens before the writer sees the count drop). */
static inline void sw_rcu_exit(uint32_t token)
{
	uint32_t t = token - 1;

	__atomic_fetch_sub(&sw_rcu_slots[t >> 1].count[t & 1], 1, __ATOMIC_RELEASE);
}

/* Wait until no reader can still see what was unlinked before the call.
 * Writers only (serialised by the registry mutex); blocks. */
void sw_rcu_synchronize(void);

#endif /* SW_JIT_RCU_H */
