/*
 * Callbacks address spaces (sw_as_new_callbacks, include/stackwalk/
 * remote.h): a walk of this process's own stack whose every memory read
 * and FDE lookup goes through the callbacks (process_vm_readv on itself,
 * sw_get_proc_info_by_pc for the FDE's address) must give the local
 * unwinder's frames; failing callbacks give error codes; a full arena
 * gives SW_EFULL; random FDE/CIE bytes give errors, never a crash.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stackwalk.h"
#include "stackwalk/remote.h"

#define MAX_FRAMES 128

struct tstate {
	int reads, finds, names;
	int fail_read;          /* read fails */
	int find_rc;            /* find_cfi's result when nonzero */
	const uint8_t *blob;    /* fuzz: the section find_cfi reports */
	size_t blob_size;
	uint64_t blob_fde;
	int format;
};

static int t_read(void *arg, uint64_t addr, void *buf, size_t size)
{
	struct tstate *t = arg;
	struct iovec l = { buf, size }, r = { (void *)(uintptr_t)addr, size };

	t->reads++;
	if (t->fail_read)
		return -1;
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)size ? 0 : -1;
}

static int t_find(void *arg, uint64_t pc, struct sw_as_cfi *out)
{
	struct tstate *t = arg;
	struct sw_proc_info pi;

	t->finds++;
	if (out->size < sizeof(*out))
		return SW_EINVAL;
	if (t->find_rc)
		return t->find_rc;
	if (t->blob) {
		out->format = t->format;
		out->data = t->blob;
		out->section = 0x10000;
		out->section_size = t->blob_size;
		out->fde = t->blob_fde;
		return 0;
	}
	if (sw_get_proc_info_by_pc(pc, &pi) != 0 || !pi.fde ||
	    (pi.source != SW_SRC_EH_FRAME_HDR && pi.source != SW_SRC_EH_FRAME))
		return SW_ENOTFOUND;
	out->format = SW_AS_CFI_EH_FRAME;
	out->fde = pi.fde;
	return 0;
}

static int t_name(void *arg, uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	struct tstate *t = arg;

	t->names++;
	return sw_get_proc_name_by_pc(pc, buf, size, offset);
}

static unsigned space_flags;

static int new_space(struct tstate *t, size_t arena, sw_addr_space_t **as)
{
	struct sw_as_callbacks cb = {
		.size = sizeof(cb), .arg = t, .read = t_read, .find_cfi = t_find,
		.get_proc_name = t_name, .arena_size = arena, .flags = space_flags,
	};
	return sw_as_new_callbacks(&cb, NULL, as);
}

struct walk {
	uint64_t ips[MAX_FRAMES];
	int n, last;
};

static sw_context_t ctx;
static struct walk local, cbwalk, cbwalk2;
static struct tstate *cur;
static sw_addr_space_t *cur_as;

static void walk_cb(struct walk *w)
{
	sw_cursor_t c;

	w->n = 0;
	w->last = sw_init_snapshot(&c, cur_as, &ctx, NULL, 0);
	if (w->last != 0)
		return;
	do
		w->ips[w->n++] = sw_get_ip(&c);
	while (w->n < MAX_FRAMES && (w->last = sw_step(&c)) == 0);
}

/* At the bottom of a deep stack: the local walk, then the callbacks'
 * (twice: the second from the arena and the rule cache), from the same
 * registers while the frames are still live. */
__attribute__((noinline)) static void capture(void)
{
	sw_cursor_t c;

	sw_getcontext(&ctx);
	sw_init_local(&c, &ctx);
	local.n = 0;
	do
		local.ips[local.n++] = sw_get_ip(&c);
	while (local.n < MAX_FRAMES && (local.last = sw_step(&c)) == 0);
	walk_cb(&cbwalk);
	walk_cb(&cbwalk2);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static int deep(int n)
{
	if (n == 0) {
		capture();
		return 0;
	}
	int r = deep(n - 1);
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

static bool same(const struct walk *a, const struct walk *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->ips[i] != b->ips[i]) {
			printf("    frame %d: 0x%llx != 0x%llx\n", i, (unsigned long long)a->ips[i],
			       (unsigned long long)b->ips[i]);
			return false;
		}
	return true;
}

TEST(walk_matches_local)
{
	struct tstate t = { 0 };

	CHECK_EQ(new_space(&t, 0, &cur_as), 0);
	CHECK_EQ(sw_as_kind(cur_as), SW_AS_CALLBACKS);
	cur = &t;
	deep(10);
	printf("    local %d frames (last %d), callbacks %d frames (last %d), %d finds, %d reads\n",
	       local.n, local.last, cbwalk.n, cbwalk.last, t.finds, t.reads);
	CHECK(local.n > 12);
	CHECK(same(&local, &cbwalk));
	CHECK(same(&local, &cbwalk2));
	CHECK(t.reads > 0);

	/* names through the callback, by cursor and by address */
	char buf[128];
	uint64_t off = 0;
	CHECK_EQ(sw_as_get_proc_name(cur_as, local.ips[1] - 1, buf, sizeof(buf), &off), 0);
	CHECK(strncmp(buf, "deep", 4) == 0);   /* "deep" or gcc's "deep.isra.0" */
	CHECK(t.names > 0);
	/* memory through the callback */
	uint64_t word = 0, want = 0x1122334455667788ull;
	CHECK_EQ(sw_as_read(cur_as, (uint64_t)(uintptr_t)&want, &word, sizeof(word)), 0);
	CHECK_EQ(word, want);
	CHECK_EQ(sw_as_read(cur_as, 8, &word, sizeof(word)), SW_EMEMORY);
	/* a flushed space walks the same */
	CHECK_EQ(sw_as_flush(cur_as), 0);
	deep(10);
	CHECK(same(&local, &cbwalk));
	sw_as_free(cur_as);
}

TEST(failing_callbacks)
{
	struct tstate t = { 0 };

	CHECK_EQ(new_space(&t, 0, &cur_as), 0);
	t.fail_read = 1;
	deep(3);
	CHECK(cbwalk.n >= 1);
	CHECK(cbwalk.last < 0);
	CHECK_EQ(cbwalk.last, SW_EMEMORY);
	sw_as_free(cur_as);

	struct tstate t2 = { .find_rc = SW_EBADCIE };
	CHECK_EQ(new_space(&t2, 0, &cur_as), 0);
	deep(3);
	CHECK_EQ(cbwalk.n, 1);
	CHECK_EQ(cbwalk.last, SW_EBADCIE);
	sw_as_free(cur_as);

	/* not an SW_E* code */
	struct tstate t3 = { .find_rc = -12345 };
	CHECK_EQ(new_space(&t3, 0, &cur_as), 0);
	deep(3);
	CHECK_EQ(cbwalk.last, SW_EMEMORY);
	sw_as_free(cur_as);
}

TEST(full_arena)
{
	struct tstate t = { 0 };

	CHECK_EQ(new_space(&t, 64, &cur_as), 0);
	deep(3);
	CHECK_EQ(cbwalk.n, 1);
	CHECK_EQ(cbwalk.last, SW_EFULL);
	sw_as_free(cur_as);
	/* an arena with room for a few entries but not the walk's (the largest
	 * such, found by growing it: the entries' sizes depend on the
	 * compiler's flags): the
	 * walk ends with SW_EFULL once they are used up, its frames so far
	 * are the local walk's */
	size_t part = 0;
	for (size_t size = 64; size <= 16384; size += 32) {
		CHECK_EQ(new_space(&t, size, &cur_as), 0);
		deep(10);
		sw_as_free(cur_as);
		if (cbwalk.last == 1)
			break;
		if (cbwalk.last == SW_EFULL && cbwalk.n >= 2)
			part = size;
	}
	CHECK(part > 0);
	CHECK_EQ(new_space(&t, part, &cur_as), 0);
	deep(10);
	CHECK_EQ(cbwalk.last, SW_EFULL);
	CHECK(cbwalk.n >= 2 && cbwalk.n <= local.n);
	for (int i = 0; i < cbwalk.n && i < local.n; i++)
		CHECK_EQ(cbwalk.ips[i], local.ips[i]);
	sw_as_free(cur_as);
	/* the same arena with SW_AS_CB_RECYCLE: emptied when full, the
	 * whole walk */
	space_flags = SW_AS_CB_RECYCLE;
	CHECK_EQ(new_space(&t, part, &cur_as), 0);
	deep(10);
	printf("    recycling %zu-byte arena: %d frames (last %d), local %d\n", part, cbwalk.n,
	       cbwalk.last, local.n);
	CHECK(same(&local, &cbwalk));
	CHECK(same(&local, &cbwalk2));
	sw_as_free(cur_as);
	/* an entry larger than the whole arena still fails */
	CHECK_EQ(new_space(&t, 64, &cur_as), 0);
	deep(3);
	CHECK_EQ(cbwalk.last, SW_EFULL);
	sw_as_free(cur_as);
	space_flags = 0;
}

TEST(bad_arguments)
{
	struct tstate t = { 0 };
	sw_addr_space_t *as = (sw_addr_space_t *)1;
	struct sw_as_callbacks cb = { .size = sizeof(cb), .arg = &t, .read = t_read };
	char err[128] = "";
	struct sw_as_options opt = { .size = sizeof(opt), .errbuf = err, .errsize = sizeof(err) };

	CHECK_EQ(sw_as_new_callbacks(&cb, &opt, &as), SW_EINVAL);
	CHECK(as == NULL);
	CHECK(err[0] != '\0');
	CHECK_EQ(sw_as_new_callbacks(NULL, NULL, &as), SW_EINVAL);
	cb.find_cfi = t_find;
	CHECK_EQ(sw_as_new_callbacks(&cb, NULL, NULL), SW_EINVAL);
	cb.arena_size = (size_t)SW_AS_ARENA_MAX + 1;
	CHECK_EQ(sw_as_new_callbacks(&cb, NULL, &as), SW_EINVAL);
	CHECK_EQ(sw_as_flush(NULL), SW_EINVAL);
	/* an old caller's struct without get_proc_name and arena_size */
	cb.size = offsetof(struct sw_as_callbacks, get_proc_name);
	CHECK_EQ(sw_as_new_callbacks(&cb, NULL, &as), 0);
	char buf[16];
	CHECK_EQ(sw_as_get_proc_name(as, 0x1000, buf, sizeof(buf), NULL), SW_ENOTFOUND);
	sw_as_free(as);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random and mutated entries: every step ends with a status, no crash. */
TEST(fuzz_entries)
{
	static uint8_t blob[512];
	/* a valid CIE + FDE (.eh_frame, pcrel|sdata4) to mutate */
	static const uint8_t good[] = {
		/* CIE: length 20, id 0, version 1, "zR", code 1, data -8, ra 16,
		 * aug length 1, R = 0x1b, def_cfa rsp+8, offset rip cfa-8, nops */
		0x14, 0, 0, 0, 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 0x10, 1, 0x1b,
		0x0c, 7, 8, 0x90, 1, 0, 0,
		/* FDE: length 20, CIE pointer 28, pc_begin, range 0x100, aug 0 */
		0x14, 0, 0, 0, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	int ok_steps = 0, errors = 0;

	for (int iter = 0; iter < 3000; iter++) {
		struct tstate t = { 0 };
		sw_addr_space_t *as;
		memset(blob, 0, sizeof(blob));
		memcpy(blob, good, sizeof(good));
		if (iter % 3 == 0) {
			for (size_t i = 0; i < sizeof(blob); i++)
				blob[i] = (uint8_t)next();
		} else {
			int flips = 1 + (int)(next() % 4);
			for (int k = 0; k < flips; k++)
				blob[next() % sizeof(good)] = (uint8_t)next();
		}
		t.blob = blob;
		t.blob_size = iter % 5 == 0 ? 0 : sizeof(blob);
		t.blob_fde = 0x10000 + (iter % 2 ? 24 : next() % 600);
		t.format = iter % 7 == 0 ? SW_AS_CFI_DEBUG_FRAME : SW_AS_CFI_EH_FRAME;
		t.blob_size = t.blob_size ? t.blob_size : sizeof(blob);
		if (new_space(&t, 4096, &as) != 0) {
			CHECK(0);
			break;
		}
		/* the FDE's pc_begin (pcrel at 0x10000 + 24 + 8) is 0x10020 */
		sw_context_t regs;
		memset(&regs, 0, sizeof(regs));
		sw_context_set_reg(&regs, SW_REG_IP, 0x10020 + next() % 0x100);
		sw_context_set_reg(&regs, SW_REG_SP, (uint64_t)(uintptr_t)&regs);
		sw_cursor_t c;
		CHECK_EQ(sw_init_snapshot(&c, as, &regs, NULL, 0), 0);
		int rc = sw_step(&c);
		if (rc == 0)
			ok_steps++;
		else if (rc < 0)
			errors++;
		struct sw_proc_info pi;
		(void)sw_get_proc_info(&c, &pi);
		sw_as_free(as);
	}
	printf("    3000 fuzzed entries: %d steps, %d errors\n", ok_steps, errors);
	CHECK(errors > 0);
}

SW_TEST_MAIN
