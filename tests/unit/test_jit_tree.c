/*
 * The JIT registry's B+tree (src/jit/registry/tree.c) against a reference model:
 * random insertions and removals of disjoint ranges, every lookup checked,
 * the interval invariant (the range covering a PC is in the leaf a descent
 * reaches) exercised by ranges that cross separators, and every retired
 * node accounted for.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include <stackwalk.h>

#include "jit/registry/tree.h"

#define SLOTS 4096      /* model: address space of SLOTS * 16 bytes */

static size_t retired_count;

static void retire_free(void *arg, void *node)
{
	retired_count++;
	/* single-threaded test: no reader can hold it */
	sw_tree_node_release(arg, node);
}

/* model: owner[i] = range id covering bytes [i*16, i*16+16), 0 = free */
static int owner[SLOTS];
static struct { uint64_t start, end; bool live; } ranges[SLOTS + 1];

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static bool model_free(unsigned a, unsigned b)
{
	for (unsigned i = a; i < b; i++)
		if (owner[i])
			return false;
	return true;
}

static int check_all(struct sw_tree *t)
{
	int bad = 0;

	for (unsigned i = 0; i < SLOTS; i++) {
		for (unsigned k = 0; k < 16; k += 7) {
			uint64_t pc = 0x100000 + (uint64_t)i * 16 + k;
			struct sw_tree_entry e;
			bool hit = sw_tree_find(t, pc, &e);
			int id = owner[i];
			if (hit != (id != 0) ||
			    (hit && (*e.idxp != (uint32_t)id || e.start != ranges[id].start ||
				     e.start + e.len != ranges[id].end)))
				bad++;
		}
	}
	return bad;
}

static void run(struct sw_tree *t, unsigned ops, unsigned maxlen, bool sequential)
{
	int next_id = 1, bad = 0, overlap_bad = 0;
	unsigned seq = 0;

	memset(owner, 0, sizeof(owner));
	memset(ranges, 0, sizeof(ranges));
	for (unsigned op = 0; op < ops; op++) {
		bool add = sequential ? (op < ops / 2) : (rnd() % 3 != 0);
		if (add && next_id <= SLOTS) {
			unsigned len = 1 + (unsigned)(rnd() % maxlen);
			unsigned a = sequential ? seq : (unsigned)(rnd() % SLOTS);
			if (a + len > SLOTS)
				continue;
			seq = a + len;
			uint64_t s = 0x100000 + (uint64_t)a * 16, e = s + (uint64_t)len * 16;
			bool free_ = model_free(a, a + len);
			if (sw_tree_overlaps(t, s, e) != !free_)
				overlap_bad++;
			if (!free_)
				continue;
			int id = next_id++;
			struct sw_tree_entry en = { .start = s, .len = (uint32_t)(e - s), .idx = (uint32_t)id,
						    .val = &ranges[id] };
			CHECK_EQ(sw_tree_insert(t, &en), 0);
			ranges[id].start = s;
			ranges[id].end = e;
			ranges[id].live = true;
			for (unsigned i = a; i < a + len; i++)
				owner[i] = id;
		} else if (next_id > 1) {
			int id = 1 + (int)(rnd() % (unsigned)(next_id - 1));
			if (sequential) {
				/* remove in address order */
				for (id = 1; id < next_id && !ranges[id].live; id++)
					;
				if (id == next_id)
					continue;
			}
			if (!ranges[id].live) {
				CHECK_EQ(sw_tree_remove(t, 0x100000 + 8, &ranges[id]) == SW_ENOTFOUND ||
						 ranges[id].start == 0x100000 + 8,
					 1);
				continue;
			}
			CHECK_EQ(sw_tree_remove(t, ranges[id].start, &ranges[id]), 0);
			ranges[id].live = false;
			for (unsigned i = 0; i < SLOTS; i++)
				if (owner[i] == id)
					owner[i] = 0;
		}
		if (op % 97 == 0)
			bad += check_all(t);
	}
	bad += check_all(t);
	CHECK_EQ(bad, 0);
	CHECK_EQ(overlap_bad, 0);
	/* empty it */
	for (int id = 1; id < next_id; id++)
		if (ranges[id].live)
			CHECK_EQ(sw_tree_remove(t, ranges[id].start, &ranges[id]), 0);
	CHECK_EQ(t->entries, 0);
	CHECK(t->root == NULL);
	CHECK_EQ(t->node_bytes, 0);
}

TEST(tree_random_small_ranges)
{
	struct sw_tree t = { .retire = retire_free };
	t.retire_arg = &t;
	run(&t, 20000, 3, false);
}

TEST(tree_random_long_ranges)
{
	/* long ranges cross separators: the insertion must lower them */
	struct sw_tree t = { .retire = retire_free };
	t.retire_arg = &t;
	run(&t, 20000, 40, false);
}

TEST(tree_sequential_fills_leaves)
{
	struct sw_tree t = { .retire = retire_free };
	t.retire_arg = &t;
	unsigned n = 3000;

	for (unsigned i = 0; i < n; i++) {
		struct sw_tree_entry e = { .start = 0x1000 + (uint64_t)i * 64, .len = 64, .idx = i,
					   .val = &t };
		CHECK_EQ(sw_tree_insert(&t, &e), 0);
	}
	/* ascending insertion keeps leaves full: about 24 bytes per entry */
	size_t per = t.node_bytes / n;
	CHECK(per <= 28);
	for (unsigned i = 0; i < n; i++) {
		struct sw_tree_entry e;
		CHECK(sw_tree_find(&t, 0x1000 + (uint64_t)i * 64 + 63, &e) && *e.idxp == i);
	}
	struct sw_tree_entry miss;
	CHECK(!sw_tree_find(&t, 0x1000 + (uint64_t)n * 64, &miss));
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(sw_tree_remove(&t, 0x1000 + (uint64_t)i * 64, &t), 0);
	CHECK_EQ(t.node_bytes, 0);
}

TEST(tree_sequential_and_descending)
{
	struct sw_tree t = { .retire = retire_free };
	t.retire_arg = &t;
	run(&t, 6000, 2, true);
	/* descending insertion */
	for (unsigned i = 2000; i-- > 0;) {
		struct sw_tree_entry e = { .start = 0x1000 + (uint64_t)i * 32, .len = 32, .idx = i,
					   .val = &t };
		CHECK_EQ(sw_tree_insert(&t, &e), 0);
	}
	for (unsigned i = 0; i < 2000; i++) {
		struct sw_tree_entry e;
		CHECK(sw_tree_find(&t, 0x1000 + (uint64_t)i * 32 + 5, &e) && *e.idxp == i);
	}
	CHECK(sw_tree_overlaps(&t, 0x1000 + 31, 0x1000 + 33));
	CHECK(!sw_tree_overlaps(&t, 0x1000 + 2000 * 32, 0x1000 + 2001 * 32));
	for (unsigned i = 0; i < 2000; i++)
		CHECK_EQ(sw_tree_remove(&t, 0x1000 + (uint64_t)i * 32, &t), 0);
	CHECK_EQ(sw_tree_remove(&t, 0x1000, &t), SW_ENOTFOUND);
	CHECK(t.root == NULL);
}

SW_TEST_MAIN
