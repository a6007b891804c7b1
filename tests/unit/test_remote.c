/*
 * Snapshot address spaces (include/stackwalk/remote.h) on this process's
 * own stack: a copy of the stack and the registers, over modules read from
 * /proc/self/maps as a profiler reads PERF_RECORD_MMAP2, must give the
 * same frames as the local unwinder on the live stack; a copy that ends
 * early ends the walk with SW_EMEMORY and says so; names come from the
 * module files' symbol tables; bad arguments give SW_EINVAL.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stackwalk.h"
#include "stackwalk/remote.h"

#define MAX_FRAMES 128

/* Add every file-backed mapping of /proc/self/maps: returns how many. */
static int add_self_modules(sw_addr_space_t *as)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perm[8], path[4096] = "";
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095[^\n]", &lo, &hi, perm, &off, path) < 4)
			continue;
		if (path[0] != '/')
			continue;
		if (sw_as_add_module(as, lo, hi, off, path, NULL, 0) == 0)
			n++;
	}
	fclose(f);
	return n;
}

struct shot {
	sw_context_t ctx;
	uint8_t stack[256 * 1024];
	size_t size;
	uint64_t local[MAX_FRAMES];
	int nlocal;
};

static struct shot shot;

/* The live walk and the copy, from the same frame. */
__attribute__((noinline)) static void capture(void)
{
	sw_cursor_t c;
	uint64_t sp;

	sw_getcontext(&shot.ctx);
	/* the live walk from this context */
	sw_init_local(&c, &shot.ctx);
	shot.nlocal = 0;
	do
		shot.local[shot.nlocal++] = sw_get_ip(&c);
	while (shot.nlocal < MAX_FRAMES && sw_step(&c) == 0);
	/* the stack from SP to the end of its mapping (within the buffer),
	 * read through the kernel: what a profiler's copy holds */
	sw_context_get_reg(&shot.ctx, SW_REG_SP, &sp);
	shot.size = 0;
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096];
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long long lo, hi;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && sp >= lo && sp < hi) {
			shot.size = hi - sp < sizeof(shot.stack) ? hi - sp : sizeof(shot.stack);
			break;
		}
	}
	if (maps)
		fclose(maps);
	FILE *m = fopen("/proc/self/mem", "r");
	if (!m || fseeko(m, (off_t)sp, SEEK_SET) != 0 ||
	    fread(shot.stack, 1, shot.size, m) != shot.size)
		shot.size = 0;     /* the checks of the walk then fail */
	if (m)
		fclose(m);
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

/* Walk the snapshot: the IPs into out[], returns the count; *last the
 * last sw_step status. */
static int walk(const sw_addr_space_t *as, size_t size, uint64_t *out, int *last, int *truncated)
{
	sw_cursor_t c;
	int n = 0, rc;

	if (sw_init_snapshot(&c, as, &shot.ctx, shot.stack, size) != 0)
		return -1;
	do
		out[n++] = sw_get_ip(&c);
	while (n < MAX_FRAMES && (rc = sw_step(&c)) == 0);
	*last = rc;
	*truncated = sw_cursor_stack_truncated(&c);
	return n;
}

TEST(snapshot_matches_local_walk)
{
	sw_addr_space_t *as = NULL;
	uint64_t ips[MAX_FRAMES];
	int last, trunc;

	deep(12);
	CHECK(shot.nlocal > 14);
	CHECK_EQ(sw_as_new(NULL, &as), 0);
	CHECK(add_self_modules(as) > 3);
	CHECK_EQ(sw_as_kind(as), SW_AS_SNAPSHOT);
	CHECK_EQ(sw_as_thread_count(as), 0);
	int n = walk(as, shot.size, ips, &last, &trunc);
	printf("    snapshot of %zu stack bytes: %d frames, local walk %d\n", shot.size, n,
	       shot.nlocal);
	CHECK_EQ(n, shot.nlocal);
	for (int i = 0; i < n && i < shot.nlocal; i++)
		if (ips[i] != shot.local[i]) {
			printf("    frame %d: snapshot 0x%llx, local 0x%llx\n", i,
			       (unsigned long long)ips[i], (unsigned long long)shot.local[i]);
			CHECK(ips[i] == shot.local[i]);
			break;
		}
	CHECK_EQ(last, SW_END_OF_STACK);
	CHECK_EQ(trunc, 0);
	/* again, now from the address space's rule cache */
	uint64_t again[MAX_FRAMES];
	CHECK_EQ(walk(as, shot.size, again, &last, &trunc), n);
	CHECK(memcmp(again, ips, (size_t)n * sizeof(*ips)) == 0);
	CHECK_EQ(last, SW_END_OF_STACK);

	/* the frames are named from the files' symbol tables */
	char name[128];
	uint64_t off = 0;
	CHECK_EQ(sw_as_get_proc_name(as, (uint64_t)(uintptr_t)&deep + 1, name, sizeof(name), &off), 0);
	CHECK(strcmp(name, "deep") == 0);
	CHECK_EQ(off, 1);
	struct sw_as_module m;
	int idx = sw_as_find_module(as, (uint64_t)(uintptr_t)&deep, &m);
	CHECK(idx >= 0);
	CHECK(m.file != NULL && m.path != NULL);
	CHECK((m.flags & SW_MOD_NO_FILE) == 0);
	CHECK(m.start <= (uint64_t)(uintptr_t)&deep && (uint64_t)(uintptr_t)&deep < m.end);
	CHECK_EQ(sw_as_find_module(as, 0, NULL), SW_ENOTFOUND);
	sw_as_free(as);
}

TEST(truncated_copy_says_so)
{
	sw_addr_space_t *as = NULL;
	uint64_t ips[MAX_FRAMES];
	int last, trunc;

	deep(12);
	CHECK_EQ(sw_as_new(NULL, &as), 0);
	add_self_modules(as);
	/* 512 bytes hold a few frames of deep() only */
	int n = walk(as, 512, ips, &last, &trunc);
	CHECK(n >= 1 && n < shot.nlocal);
	for (int i = 0; i < n && i < shot.nlocal; i++)
		CHECK_EQ(ips[i], shot.local[i]);
	CHECK_EQ(last, SW_EMEMORY);
	CHECK_EQ(trunc, 1);
	/* an empty copy: the first frame, then the end of the copy */
	n = walk(as, 0, ips, &last, &trunc);
	CHECK(n >= 1);
	CHECK(last < 0);
	sw_as_free(as);
}

TEST(modules_replace_and_cache)
{
	sw_addr_space_t *as = NULL, *as2 = NULL;

	CHECK_EQ(sw_as_new(NULL, &as), 0);
	int n = add_self_modules(as);
	CHECK(n > 0);
	size_t mods = sw_as_module_count(as);
	CHECK(mods > 0);
	/* the same files in a second address space share the parsed files */
	CHECK_EQ(sw_as_new(NULL, &as2), 0);
	add_self_modules(as2);
	CHECK_EQ(sw_as_module_count(as2), mods);
	sw_as_free(as2);
	/* as still uses every file: nothing of its is dropped */
	sw_as_cache_flush();
	uint64_t ips[MAX_FRAMES];
	int last, trunc;
	deep(3);
	CHECK_EQ(walk(as, shot.size, ips, &last, &trunc), shot.nlocal);
	/* exec: everything goes, the cached rules too */
	CHECK_EQ(sw_as_remove_modules(as, 0, UINT64_MAX), (int)mods);
	CHECK_EQ(sw_as_module_count(as), 0);
	/* (no CFI now: at most the heuristics' guesses, not the real chain) */
	CHECK(walk(as, shot.size, ips, &last, &trunc) < shot.nlocal);
	sw_as_free(as);
	CHECK(sw_as_cache_flush() > 0);
	/* a missing file still gives a module, flagged */
	CHECK_EQ(sw_as_new(NULL, &as), 0);
	CHECK_EQ(sw_as_add_module(as, 0x10000, 0x20000, 0, "/nonexistent/lib.so", NULL, 0), 0);
	struct sw_as_module m;
	CHECK_EQ(sw_as_find_module(as, 0x10010, &m), 0);
	CHECK((m.flags & SW_MOD_NO_FILE) != 0);
	CHECK(strstr(sw_as_warnings(as), "/nonexistent/lib.so") != NULL);
	char name[32];
	CHECK_EQ(sw_as_get_proc_name(as, 0x10010, name, sizeof(name), NULL), SW_ENONAME);
	/* an expected build-id the file does not have */
	uint8_t id[20] = { 1, 2, 3 };
	CHECK_EQ(sw_as_add_module(as, 0x30000, 0x40000, 0, "/proc/self/exe", id, sizeof(id)), 0);
	CHECK_EQ(sw_as_find_module(as, 0x30000, &m), 1);
	CHECK((m.flags & SW_MOD_NO_FILE) != 0);
	sw_as_free(as);
}

TEST(perf_map_names)
{
	sw_addr_space_t *as = NULL;
	char path[] = "/tmp/test_remote_perfmap_XXXXXX", name[64];
	uint64_t off = 0;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	const char *text = "1000 100 jit_one\n0x2000 0x10 name with spaces\n"
			   "1000 100 jit_one_again\nnot a line\n";
	CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	CHECK_EQ(sw_as_new(NULL, &as), 0);
	CHECK_EQ(sw_as_load_perf_map(as, path), 3);
	/* a later line for the same start wins, as in perf */
	CHECK_EQ(sw_as_get_proc_name(as, 0x1010, name, sizeof(name), &off), 0);
	CHECK(strcmp(name, "jit_one_again") == 0);
	CHECK_EQ(off, 0x10);
	CHECK_EQ(sw_as_get_proc_name(as, 0x200f, name, sizeof(name), &off), 0);
	CHECK(strcmp(name, "name with spaces") == 0);
	CHECK_EQ(sw_as_get_proc_name(as, 0x2010, name, sizeof(name), &off), SW_ENOTFOUND);
	/* truncated to the buffer */
	CHECK_EQ(sw_as_get_proc_name(as, 0x2000, name, 5, &off), 0);
	CHECK(strcmp(name, "name") == 0);
	/* exec: the names go with the modules */
	sw_as_remove_modules(as, 0, UINT64_MAX);
	CHECK_EQ(sw_as_get_proc_name(as, 0x1010, name, sizeof(name), &off), SW_ENOTFOUND);
	CHECK(sw_as_load_perf_map(as, "/nonexistent/perf-1.map") < 0);
	CHECK_EQ(sw_as_load_perf_map(NULL, path), SW_EINVAL);
	unlink(path);
	sw_as_free(as);
}

TEST(bad_arguments)
{
	sw_addr_space_t *as = NULL;
	sw_cursor_t c;
	sw_context_t ctx = { 0 };
	uint8_t b;

	CHECK_EQ(sw_as_new(NULL, NULL), SW_EINVAL);
	CHECK_EQ(sw_as_new(NULL, &as), 0);
	CHECK_EQ(sw_as_add_module(as, 2, 1, 0, "/x", NULL, 0), SW_EINVAL);
	CHECK_EQ(sw_as_add_module(as, 1, 2, 0, NULL, NULL, 0), SW_EINVAL);
	CHECK_EQ(sw_as_add_module(NULL, 1, 2, 0, "/x", NULL, 0), SW_EINVAL);
	CHECK_EQ(sw_init_snapshot(&c, NULL, &ctx, NULL, 0), SW_EINVAL);
	CHECK_EQ(sw_init_snapshot(&c, as, NULL, NULL, 0), SW_EINVAL);
	CHECK_EQ(sw_init_snapshot(&c, as, &ctx, NULL, 16), SW_EINVAL);
	CHECK_EQ(sw_init_remote(&c, as, 0), SW_EINVAL);
	struct sw_as_thread t;
	CHECK_EQ(sw_as_get_thread(as, 0, &t), SW_EINVAL);
	CHECK_EQ(sw_as_read(as, 0x1000, &b, 1), SW_EMEMORY);
	/* a walk in an empty space: a first frame, then no unwind info */
	sw_context_set_reg(&ctx, SW_REG_IP, 0x1234);
	sw_context_set_reg(&ctx, SW_REG_SP, 0x10000);
	CHECK_EQ(sw_init_snapshot(&c, as, &ctx, NULL, 0), 0);
	CHECK_EQ(sw_get_ip(&c), 0x1234);
	CHECK(sw_step(&c) < 0);
	CHECK_EQ(sw_resume(&c), SW_EINVAL);
	sw_as_free(as);
	sw_as_free(NULL);
	CHECK(strcmp(sw_as_warnings(NULL), "") == 0);
}
SW_TEST_MAIN
