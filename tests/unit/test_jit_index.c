/*
 * The JIT registry's index beyond the B+tree's own model test
 * (test_jit_tree.c): leaves that store starts as 32-bit offsets from a
 * base (16-bit in narrow leaves) must split where ranges lie 4 GiB or more
 * apart, and take the wide format where 16 bits do not do; the node slab
 * (src/jit/registry/slab.c) accounts for its bytes and reuses its chunks;
 * and readers walking the index without locks, while a writer copies,
 * splits and retires nodes under them, always find the ranges that stay
 * registered, exactly (in the sanitizer build a free slot is poisoned, so
 * a reader touching a node given back too early is reported).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "jit/registry/tree.h"

static void release(void *arg, void *node)
{
	/* single-threaded: no reader can hold it */
	sw_tree_node_release(arg, node);
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

#define FAR 512

/* starts[i] ascending, 4 GiB or more apart in places, lengths 1..4096 */
static uint64_t starts[FAR], lens[FAR];

static void far_ranges(void)
{
	uint64_t at = 0x10000;

	for (unsigned i = 0; i < FAR; i++) {
		lens[i] = 1 + rnd() % 4096;
		starts[i] = at;
		/* gaps: adjacent, small, just under, at and over 2^32 */
		switch (rnd() % 5) {
		case 0: at += lens[i]; break;
		case 1: at += lens[i] + rnd() % 100000; break;
		case 2: at += (1ull << 32) - 1 - rnd() % 4096; break;
		case 3: at += 1ull << 32; break;
		default: at += (1ull << 33) + rnd() % (1ull << 36); break;
		}
		if (at - 1 < starts[i] + lens[i] - 1)
			at = starts[i] + lens[i];
	}
}

static int check_far(struct sw_tree *t, const bool *live)
{
	int bad = 0;

	for (unsigned i = 0; i < FAR; i++) {
		struct sw_tree_entry e;
		uint64_t probe[3] = { starts[i], starts[i] + lens[i] - 1, starts[i] + lens[i] / 2 };
		for (unsigned k = 0; k < 3; k++) {
			bool hit = sw_tree_find(t, probe[k], &e);
			if (hit != live[i] ||
			    (hit && (e.start != starts[i] || e.len != lens[i] || *e.idxp != i ||
				     *e.valp != &starts[i] || e.tag != 0)))
				bad++;
		}
		/* just past the range: a hit only when the next range starts there */
		uint64_t past = starts[i] + lens[i];
		bool next_there = i + 1 < FAR && starts[i + 1] == past && live[i + 1];
		if (sw_tree_find(t, past, &e) != next_there)
			bad++;
	}
	return bad;
}

static void insert_far(struct sw_tree *t, unsigned i)
{
	struct sw_tree_entry e = { .start = starts[i], .len = (uint32_t)lens[i], .idx = i,
				   .val = &starts[i] };

	CHECK(!sw_tree_overlaps(t, starts[i], starts[i] + lens[i]));
	CHECK_EQ(sw_tree_insert(t, &e), 0);
}

/* ascending (appends), descending (prepends), random: every order meets
 * ranges too far apart for one leaf */
TEST(index_ranges_4gib_apart)
{
	static bool live[FAR];
	unsigned perm[FAR];

	far_ranges();
	for (int order = 0; order < 3; order++) {
		struct sw_tree t = { .retire = release };
		t.retire_arg = &t;
		memset(live, 0, sizeof(live));
		for (unsigned i = 0; i < FAR; i++)
			perm[i] = order == 0 ? i : order == 1 ? FAR - 1 - i : i;
		if (order == 2) {
			for (unsigned i = FAR - 1; i > 0; i--) {
				unsigned j = (unsigned)(rnd() % (i + 1)), x = perm[i];
				perm[i] = perm[j];
				perm[j] = x;
			}
		}
		for (unsigned k = 0; k < FAR; k++) {
			insert_far(&t, perm[k]);
			live[perm[k]] = true;
			if (k % 64 == 63)
				CHECK_EQ(check_far(&t, live), 0);
		}
		CHECK_EQ(check_far(&t, live), 0);
		CHECK_EQ(t.entries, FAR);
		/* both leaf formats met: entries within 64 KiB and beyond */
		CHECK(sw_slab_bytes(&t.narrows) > 0);
		CHECK(sw_slab_bytes(&t.leaves) > 0);
		/* remove every third, check, then the rest */
		for (unsigned i = 0; i < FAR; i += 3) {
			CHECK_EQ(sw_tree_remove(&t, starts[i], &starts[i]), 0);
			live[i] = false;
		}
		CHECK_EQ(check_far(&t, live), 0);
		for (unsigned i = 0; i < FAR; i++) {
			if (live[i]) {
				CHECK_EQ(sw_tree_remove(&t, starts[i], &starts[i]), 0);
				live[i] = false;
			}
		}
		CHECK_EQ(check_far(&t, live), 0);
		CHECK(t.root == NULL);
		CHECK_EQ(t.node_bytes, 0);
		CHECK_EQ(sw_tree_index_bytes(&t), 0);
	}
}

/* The tag bits of each value come back with the entry, whatever slot it
 * moves to. */
TEST(index_value_tags)
{
	static uint64_t objs[4][64] __attribute__((aligned(8)));
	struct sw_tree t = { .retire = release };
	t.retire_arg = &t;
	int bad = 0;

	for (unsigned i = 0; i < 256; i++) {
		unsigned k = (i * 7) % 256;     /* a scattered order: copies and splits */
		struct sw_tree_entry e = { .start = 0x5000 + k * 32ull, .len = 32, .idx = k,
					   .val = (void *)((uintptr_t)&objs[k % 4][k / 4] | (k % 4)) };
		CHECK_EQ(sw_tree_insert(&t, &e), 0);
	}
	for (unsigned k = 0; k < 256; k++) {
		struct sw_tree_entry e;
		if (!sw_tree_find(&t, 0x5000 + k * 32ull + 31, &e) || e.tag != k % 4 ||
		    *e.valp != (void *)((uintptr_t)&objs[k % 4][k / 4] | (k % 4)) || *e.idxp != k)
			bad++;
	}
	CHECK_EQ(bad, 0);
	for (unsigned k = 0; k < 256; k++)
		CHECK_EQ(sw_tree_remove(&t, 0x5000 + k * 32ull,
					(void *)((uintptr_t)&objs[k % 4][k / 4] | (k % 4))), 0);
	CHECK(t.root == NULL);
}

/* The slab's statistics: the index occupies its nodes plus the free slots
 * of their chunks; a drained index occupies nothing; filling it again
 * reuses the chunks it kept (no new segment). */
TEST(index_slab_bytes_and_reuse)
{
	struct sw_tree t = { .retire = release };
	t.retire_arg = &t;
	enum { N = 50000 };

	for (int round = 0; round < 2; round++) {
		const void *segs = t.pool.segs;
		for (unsigned i = 0; i < N; i++) {
			struct sw_tree_entry e = { .start = 0x100000 + i * 64ull, .len = 64, .idx = i,
						   .val = &t };
			CHECK_EQ(sw_tree_insert(&t, &e), 0);
		}
		size_t bytes = sw_tree_index_bytes(&t);
		CHECK(bytes >= t.node_bytes);
		/* slack: at most one partly used chunk per slab (wide and narrow leaves, their cold parts, inner nodes) */
		CHECK(bytes <= t.node_bytes + 4 * SW_SLAB_CHUNK);
		/* sequential 64-byte ranges: full narrow leaves, about 18
		 * bytes an entry */
		CHECK(t.node_bytes / N <= 20);
		CHECK_EQ(sw_slab_bytes(&t.leaves), 0);
		if (round == 1)
			CHECK(t.pool.segs == segs);
		for (unsigned i = 0; i < N; i++)
			CHECK_EQ(sw_tree_remove(&t, 0x100000 + i * 64ull, &t), 0);
		CHECK_EQ(t.node_bytes, 0);
		CHECK_EQ(sw_tree_index_bytes(&t), 0);
		CHECK(t.pool.nempty > 0);
	}
}

/* ---------------------------------------------------------------- readers */

/* The registry never reads code: these addresses need not be mapped. */
#define BASE 0x7d0000000000ull
#define SLOTS 4096              /* 64-byte slots; every 16th stays registered */
#define KEEP(i) ((i) % 16 == 5)

static volatile int stop;
static int reader_bad[2], reader_hits[2];

static void *reader(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
	struct sw_jit_found f;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		unsigned i = (unsigned)(s % SLOTS);
		uint64_t pc = BASE + i * 64ull + (s >> 40) % 64;
		int rc = sw_jit_lookup(pc, &f);
		if (rc == 0) {
			reader_hits[id]++;
			/* every registration is one slot exactly */
			if (f.start != BASE + i * 64ull || f.end != f.start + 64)
				reader_bad[id]++;
		} else if (rc != SW_ENOTFOUND || KEEP(i)) {
			reader_bad[id]++;
		}
	}
	return NULL;
}

static struct sw_jit_proc slot_proc(unsigned i)
{
	static uint32_t last = 63;
	struct sw_jit_proc p;

	memset(&p, 0, sizeof(p));
	p.start = BASE + i * 64ull;
	p.end = p.start + 64;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = &last;
	return p;
}

/* Two threads look up random PCs while the main thread registers and
 * removes procedures around the permanent ones in every order (appends,
 * leaf copies, splits, tombstones, dropped leaves), with reclamation. */
TEST(index_readers_during_churn)
{
	static sw_jit_handle_t h[SLOTS];
	pthread_t t[2];
	int rounds = 6;

	for (unsigned i = 0; i < SLOTS; i++) {
		struct sw_jit_proc p = slot_proc(i);
		h[i] = 0;
		if (KEEP(i))
			CHECK_EQ(sw_jit_add_procs(&p, 1, &h[i]), 0);
	}
	for (int k = 0; k < 2; k++)
		CHECK_EQ(pthread_create(&t[k], NULL, reader, (void *)(intptr_t)k), 0);
	for (int r = 0; r < rounds; r++) {
		/* add the others: ascending, descending or scattered */
		for (unsigned k = 0; k < SLOTS; k++) {
			unsigned i = r % 3 == 0 ? k : r % 3 == 1 ? SLOTS - 1 - k : (k * 1237) % SLOTS;
			if (KEEP(i))
				continue;
			struct sw_jit_proc p = slot_proc(i);
			CHECK_EQ(sw_jit_add_procs(&p, 1, &h[i]), 0);
		}
		/* and remove them in another order */
		for (unsigned k = 0; k < SLOTS; k++) {
			unsigned i = r % 2 ? k : (k * 2731) % SLOTS;
			if (KEEP(i))
				continue;
			CHECK_EQ(sw_jit_remove(h[i]), 0);
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	CHECK_EQ(reader_bad[0] + reader_bad[1], 0);
	/* the readers ran alongside (not a test that cannot fail) */
	CHECK(reader_hits[0] > 0 && reader_hits[1] > 0);
	for (unsigned i = 0; i < SLOTS; i++)
		if (KEEP(i))
			CHECK_EQ(sw_jit_remove(h[i]), 0);
	struct sw_jit_stats st;
	CHECK_EQ(sw_jit_get_stats(&st), 0);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.index_bytes, 0);
}

SW_TEST_MAIN
