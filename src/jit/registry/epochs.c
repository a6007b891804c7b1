/*
 * Epochs: the registry's read sections (rcu.h: readers count themselves
 * in, writers wait for them) and deferred freeing (retire queues what
 * readers may still see, reclaim frees it after a grace period).
 */
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "arch/arch.h"
#include "jit/registry/internal.h"

struct sw_rcu_slot sw_rcu_slots[SW_RCU_SLOTS];
uint64_t sw_rcu_epoch;

/* queued: malloc blocks, and index nodes with bit 0 set (their slots are
 * 64-byte aligned) */
static void **retired;
static size_t nretired, capretired;
size_t sw_reg_retired_bytes;
#define RETIRE_BATCH 4096

void sw_rcu_synchronize(void)
{
	uint64_t e = __atomic_load_n(&sw_rcu_epoch, __ATOMIC_SEQ_CST);
	unsigned p = (unsigned)(e & 1);

	__atomic_store_n(&sw_rcu_epoch, e + 1, __ATOMIC_SEQ_CST);
	for (unsigned spins = 0;; spins++) {
		uint64_t sum = 0;
		for (unsigned s = 0; s < SW_RCU_SLOTS; s++)
			sum += __atomic_load_n(&sw_rcu_slots[s].count[p], __ATOMIC_SEQ_CST);
		if (sum == 0)
			return;
		if (spins < 100) {
			sw_arch_spin_pause();
		} else if (spins < 1000) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 50 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
}

size_t sw_reg_block_size(void *p)
{
	return malloc_usable_size(p) + sizeof(size_t);
}

static bool is_node(const void *q)
{
	return (uintptr_t)q & 1;
}

static void release(void *q)
{
	if (is_node(q))
		sw_tree_node_release(&sw_reg_tree, (void *)((uintptr_t)q & ~(uintptr_t)1));
	else
		free(q);
}

void sw_reg_reclaim(void)
{
	if (!nretired)
		return;
	sw_rcu_synchronize();
	for (size_t i = 0; i < nretired; i++)
		release(retired[i]);
	nretired = 0;
	sw_reg_retired_bytes = 0;
}

static void queue(void *q, size_t bytes)
{
	if (nretired == capretired) {
		size_t cap = capretired ? capretired * 2 : 256;
		void **nr = realloc(retired, cap * sizeof(*nr));
		if (!nr) {
			/* cannot queue it: wait for readers now */
			sw_rcu_synchronize();
			release(q);
			return;
		}
		retired = nr;
		capretired = cap;
	}
	retired[nretired++] = q;
	sw_reg_retired_bytes += bytes;
}

void sw_reg_retire(void *arg, void *p)
{
	(void)arg;
	queue(p, sw_reg_block_size(p));
}

void sw_reg_retire_node(void *arg, void *node)
{
	(void)arg;
	queue((void *)((uintptr_t)node | 1), sw_tree_node_bytes(node));
}

void sw_reg_maybe_reclaim(void)
{
	if (nretired >= RETIRE_BATCH || sw_reg_retired_bytes >= (8u << 20))
		sw_reg_reclaim();
}

/* In a child after fork only the forking thread exists: readers that were
 * inside a read section in other threads of the parent never leave it
 * there, so their counts would make the child's writers wait forever. */
void sw_reg_fork_prepare(void)
{
	pthread_mutex_lock(&sw_reg_lock);     /* no writer is half way through */
}

void sw_reg_fork_parent(void)
{
	pthread_mutex_unlock(&sw_reg_lock);
}

void sw_reg_fork_child(void)
{
	memset(sw_rcu_slots, 0, sizeof(sw_rcu_slots));
	pthread_mutex_unlock(&sw_reg_lock);
}
