/*
 * The GDB JIT publisher's groups (src/jit/publishers/gdb.c) read back from GDB's
 * list, as GDB would: random one-procedure registrations (clusters 5000
 * bytes apart, so groups split at gaps), removals and sw_jit_move both
 * ways; after each phase every object of __jit_debug_descriptor's list
 * is parsed and checked against the live set: the list doubly linked with
 * no action pending, every live procedure named exactly once at its
 * address inside its object's .text, one FDE per symbol inside .text,
 * the objects' .text hulls disjoint and none spanning a gap of 4 KiB
 * without code; and 10^4 sequential registrations make at most 1/16 as
 * many objects.
 */
#include <elf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../harness.h"
#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "../jit/gdb_jit.h"

#define N 4000
#define CLUSTER 50
#define CLUSTER_GAP 5000
#define MOVE_BY ((int64_t)48 << 20)

static sw_jit_handle_t h[N];
static bool live[N];
static char names[N][16];
static uint64_t addr[N];
static bool seen[N];
static uint64_t hull_lo[N + 1], hull_hi[N + 1];
static const uint32_t ret_at = 63;

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int add(size_t k, uint64_t at)
{
	struct sw_jit_proc p;
	memset(&p, 0, sizeof(p));
	snprintf(names[k], sizeof(names[k]), "f_%zu", k);
	addr[k] = at;
	p.start = at;
	p.end = at + 64;
	p.name = names[k];
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = &ret_at;
	int rc = sw_jit_add_procs(&p, 1, &h[k]);
	live[k] = rc == 0;
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Check GDB's list against live[] (header comment); returns the number
 * of objects. */
static size_t check_list(void)
{
	const struct jit_code_entry *prev = NULL;
	size_t nobj = 0;

	memset(seen, 0, sizeof(seen));
	CHECK_EQ(__jit_debug_descriptor.action_flag, 0);
	CHECK(__jit_debug_descriptor.relevant_entry == NULL);
	for (const struct jit_code_entry *e = __jit_debug_descriptor.first_entry; e; e = e->next_entry) {
		CHECK(e->prev_entry == prev);
		prev = e;
		const Elf64_Ehdr *eh = (const void *)e->symfile_addr;
		CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
		const Elf64_Shdr *sh = (const void *)(e->symfile_addr + eh->e_shoff);
		const Elf64_Sym *sym = (const void *)(e->symfile_addr + sh[3].sh_offset);
		const char *str = e->symfile_addr + sh[4].sh_offset;
		uint64_t lo = sh[1].sh_addr, hi = lo + sh[1].sh_size;
		size_t nsym = sh[3].sh_size / sizeof(*sym) - 1;
		uint64_t *starts = malloc((nsym + 1) * sizeof(*starts));
		if (!starts)
			abort();
		for (size_t i = 1; i <= nsym; i++) {
			size_t k = strtoul(str + sym[i].st_name + 2, NULL, 10);
			if (k >= N || !live[k] || seen[k] || lo + sym[i].st_value != addr[k] ||
			    addr[k] + 64 > hi) {
				printf("    bad symbol %s\n", str + sym[i].st_name);
				sw_test_failed_checks++;
				continue;
			}
			seen[k] = true;
			starts[i - 1] = addr[k];
		}
		/* no gap of 4 KiB without code inside the hull */
		qsort(starts, nsym, sizeof(*starts), cmp_u64);
		CHECK(nsym == 0 || starts[0] == lo);
		for (size_t i = 1; i < nsym; i++)
			CHECK(starts[i] - (starts[i - 1] + 64) < 4096);
		free(starts);
		/* one FDE per symbol, inside .text */
		const uint8_t *p = (const void *)(e->symfile_addr + sh[2].sh_offset);
		size_t nfde = 0;
		for (;;) {
			uint32_t len, id;
			memcpy(&len, p, 4);
			if (!len)
				break;
			memcpy(&id, p + 4, 4);
			if (id) {
				uint64_t pc;
				memcpy(&pc, p + 8, 8);   /* absolute (publishers/gdb.c) */
				CHECK(pc >= lo && pc < hi);
				nfde++;
			}
			p += 4 + len;
		}
		CHECK_EQ(nfde, nsym);
		if (nobj <= N) {
			hull_lo[nobj] = lo;
			hull_hi[nobj] = hi;
		}
		nobj++;
	}
	for (size_t k = 0; k < N; k++)
		if (live[k] && !seen[k]) {
			printf("    f_%zu missing from GDB's objects\n", k);
			sw_test_failed_checks++;
		}
	/* hulls disjoint */
	for (size_t a = 0; a < nobj && a <= N; a++)
		for (size_t b = a + 1; b < nobj && b <= N; b++)
			CHECK(hull_hi[a] <= hull_lo[b] || hull_hi[b] <= hull_lo[a]);
	return nobj;
}

TEST(gdb_groups_random)
{
	uint8_t *code = mmap(NULL, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED);
	if (code == MAP_FAILED)
		return;
	CHECK(sw_jit_set_publishers(SW_JIT_PUB_GDB) >= 0);   /* the previous set */
	for (int round = 0; round < 3; round++) {
		for (int it = 0; it < 3 * N; it++) {
			size_t k = rnd() % N;
			if (!live[k])
				CHECK_EQ(add(k, (uint64_t)(uintptr_t)code + k * 64 + (k / CLUSTER) * CLUSTER_GAP +
						       (uint64_t)(round % 2) * (32u << 20)), 0);
			else if (rnd() % 3 == 0) {
				CHECK_EQ(sw_jit_remove(h[k]), 0);
				live[k] = false;
			}
		}
		check_list();
		for (size_t k = round; k < N; k += 13)
			if (live[k] && sw_jit_move(h[k], MOVE_BY) == 0)
				addr[k] += MOVE_BY;
		check_list();
		for (size_t k = round; k < N; k += 13)
			if (live[k] && sw_jit_move(h[k], -MOVE_BY) == 0)
				addr[k] -= MOVE_BY;
		check_list();
		for (size_t k = 0; k < N; k++)
			if (live[k] && rnd() % 2) {
				CHECK_EQ(sw_jit_remove(h[k]), 0);
				live[k] = false;
			}
		check_list();
	}
	for (size_t k = 0; k < N; k++)
		if (live[k]) {
			CHECK_EQ(sw_jit_remove(h[k]), 0);
			live[k] = false;
		}
	CHECK_EQ(check_list(), 0);
	sw_jit_set_publishers(0);
	munmap(code, 128 << 20);
}

TEST(gdb_groups_sequential)
{
	enum { M = 10000 };
	static sw_jit_handle_t hs[M];
	static char nm[M][16];
	uint8_t *code = mmap(NULL, M * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(code != MAP_FAILED);
	if (code == MAP_FAILED)
		return;
	CHECK(sw_jit_set_publishers(SW_JIT_PUB_GDB) >= 0);   /* the previous set */
	for (size_t i = 0; i < M; i++) {
		struct sw_jit_proc p;
		memset(&p, 0, sizeof(p));
		snprintf(nm[i], sizeof(nm[i]), "s_%zu", i);
		p.start = (uint64_t)(uintptr_t)code + i * 64;
		p.end = p.start + 64;
		p.name = nm[i];
		p.kind = SW_JIT_UNWIND_FRAME;
		p.u.frame.flags = SW_JIT_FRAME_FP;
		p.u.frame.nepilogues = 1;
		p.u.frame.epilogues = &ret_at;
		CHECK_EQ(sw_jit_add_procs(&p, 1, &hs[i]), 0);
	}
	size_t nobj = 0;
	for (const struct jit_code_entry *e = __jit_debug_descriptor.first_entry; e; e = e->next_entry)
		nobj++;
	CHECK(nobj <= M / 16);
	for (size_t i = 0; i < M; i++)
		CHECK_EQ(sw_jit_remove(hs[i]), 0);
	CHECK(__jit_debug_descriptor.first_entry == NULL);
	sw_jit_set_publishers(0);
	munmap(code, M * 64);
}

SW_TEST_MAIN
