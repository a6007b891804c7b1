/*
 * snapshot_bench - the in-process parts of bench/remote.sh (stackwalk's
 * remote address spaces, include/stackwalk/remote.h).
 *
 *   snapshot_bench attach PID
 *       What `stackwalk stack PID` does, without symbolization beyond
 *       names: sw_as_attach, then every thread walked with sw_init_remote
 *       + sw_step and every frame named with sw_as_get_proc_name; prints
 *       one "TID n name" line per thread and one "#i 0xPC name+off" line
 *       per frame (eu-stack's layout).  The stand-in for the tool when
 *       the tool has no `stack` command.
 *   snapshot_bench stop PID RUNS
 *       RUNS times sw_as_attach: prints, one per line, every stopped
 *       thread's sw_as_thread.stop_ns (how long it was held).
 *   snapshot_bench snapshot
 *       Captures one real snapshot of its own thread 30 frames deep
 *       (sw_getcontext, and a copy of up to 32 KiB of stack from SP), puts
 *       it in a snapshot address space whose modules are the executable,
 *       file-backed mappings of /proc/self/maps, and times
 *       sw_init_snapshot + sw_step to the end over that copy, module cache
 *       warm: prints "snapshot.unwind.stackwalk: N ns/frame" (median of
 *       rounds) and a '#' line with the frame count.
 *
 * Exits 0 on success, 1 when something failed (a message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <stackwalk.h>
#include <stackwalk/remote.h>

#include "bench_util.h"

/* frames of one walk at most (a corrupt stack cannot loop: every step
 * must grow the CFA; this only bounds the output) */
#define MAX_FRAMES 4096

static int attach(pid_t pid, sw_addr_space_t **as)
{
	char err[256] = "";
	struct sw_as_options opt = { .size = sizeof opt, .errbuf = err, .errsize = sizeof err };
	int rc = sw_as_attach(pid, &opt, as);

	if (rc != 0) {
		fprintf(stderr, "snapshot_bench: sw_as_attach(%d): %s%s%s\n", (int)pid, sw_strerror(rc),
			err[0] ? ": " : "", err);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- attach */
static int run_attach(pid_t pid)
{
	sw_addr_space_t *as;
	size_t n, frames = 0, threads = 0;

	if (attach(pid, &as))
		return 1;
	n = sw_as_thread_count(as);
	for (size_t i = 0; i < n; i++) {
		struct sw_as_thread t;
		sw_cursor_t c;

		if (sw_as_get_thread(as, i, &t) != 0 || t.state != SW_THREAD_STOPPED)
			continue;
		if (sw_init_remote(&c, as, i) != 0)
			continue;
		threads++;
		printf("TID %d %s:\n", (int)t.tid, t.name);
		for (int f = 0; f < MAX_FRAMES; f++) {
			char name[256];
			uint64_t off = 0;
			uint64_t ip = sw_get_ip(&c);

			if (sw_as_get_proc_name(as, sw_get_lookup_pc(&c), name, sizeof name, &off) == 0)
				printf("#%-2d 0x%016" PRIx64 " %s+0x%" PRIx64 "\n", f, ip, name,
				       off + (ip - sw_get_lookup_pc(&c)));
			else
				printf("#%-2d 0x%016" PRIx64 "\n", f, ip);
			frames++;
			if (sw_step(&c) != 0)
				break;
		}
	}
	sw_as_free(as);
	if (threads == 0) {
		fprintf(stderr, "snapshot_bench: no thread of %d could be walked\n", (int)pid);
		return 1;
	}
	fprintf(stderr, "snapshot_bench: %zu threads, %zu frames\n", threads, frames);
	return 0;
}

/* ---------------------------------------------------------------- stop */
static int run_stop(pid_t pid, int runs)
{
	for (int r = 0; r < runs; r++) {
		sw_addr_space_t *as;
		size_t n;

		if (attach(pid, &as))
			return 1;
		n = sw_as_thread_count(as);
		for (size_t i = 0; i < n; i++) {
			struct sw_as_thread t;

			if (sw_as_get_thread(as, i, &t) == 0 && t.state == SW_THREAD_STOPPED)
				printf("%" PRIu64 "\n", t.stop_ns);
		}
		sw_as_free(as);
	}
	return 0;
}


/* ---------------------------------------------------------------- snapshot */
#define SNAP_DEPTH 30
#define SNAP_MAX (32u << 10)
#define ROUNDS 9
#define WALKS 2000

static sw_context_t snap_regs;
static uint8_t snap_stack[SNAP_MAX];
static size_t snap_size;
static volatile int snap_keep;

/* the end of the mapping of /proc/self/maps containing addr, 0 if none */
static uint64_t mapping_end(uint64_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	uint64_t end = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi;

		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi) {
			end = hi;
			break;
		}
	}
	fclose(f);
	return end;
}

/* the leaf: registers, then the stack from SP (capped at the end of its
 * mapping).  The copy is taken after sw_getcontext returned, from this
 * frame's SP up: what lies there (this frame and its callers' frames) is
 * what the registers describe; memcpy's own frame is below SP. */
static __attribute__((noinline)) int capture(void)
{
	uint64_t sp, end;

	sw_getcontext(&snap_regs);
	if (sw_context_get_reg(&snap_regs, SW_REG_SP, &sp) != 0)
		return -1;
	end = mapping_end(sp);
	if (end <= sp)
		return -1;
	snap_size = end - sp < SNAP_MAX ? (size_t)(end - sp) : SNAP_MAX;
	memcpy(snap_stack, (const void *)(uintptr_t)sp, snap_size);
	return 0;
}

/* one frame per level; the volatile read after the call keeps gcc from
 * turning the recursion into a loop */
static __attribute__((noinline)) int deep(int d)
{
	volatile int keep = d;

	if (d <= 1)
		return capture();
	int rc = deep(d - 1);
	snap_keep = keep;
	return rc;
}

/* the executable, file-backed mappings of this process as modules (what
 * perf's PERF_RECORD_MMAP2 records give a profiler) */
static int add_modules(sw_addr_space_t *as, int *count)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];

	*count = 0;
	if (!f) {
		fprintf(stderr, "snapshot_bench: /proc/self/maps: %s\n", strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, hi, pgoff;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perms, &pgoff, &pos) < 4 ||
		    pos == 0)
			continue;
		char *path = line + pos;
		path[strcspn(path, "\n")] = '\0';
		if (strchr(perms, 'x') == NULL || path[0] != '/')
			continue;
		int rc = sw_as_add_module(as, lo, hi, pgoff, path, NULL, 0);
		if (rc != 0) {
			fprintf(stderr, "snapshot_bench: sw_as_add_module(%s): %s\n", path, sw_strerror(rc));
			fclose(f);
			return 1;
		}
		(*count)++;
	}
	fclose(f);
	return 0;
}

/* one walk of the snapshot: frames, and the last sw_step's status in *end */
static size_t walk(const sw_addr_space_t *as, int *end)
{
	sw_cursor_t c;
	size_t frames = 1;
	int rc;

	if ((rc = sw_init_snapshot(&c, as, &snap_regs, snap_stack, snap_size)) != 0) {
		*end = rc;
		return 0;
	}
	while ((rc = sw_step(&c)) == 0 && frames < MAX_FRAMES)
		frames++;
	*end = rc;
	return frames;
}

static int run_snapshot(void)
{
	sw_addr_space_t *as;
	char err[256] = "";
	struct sw_as_options opt = { .size = sizeof opt, .errbuf = err, .errsize = sizeof err };
	double per[ROUNDS];
	size_t frames;
	int rc, end, mods;

	sw_init();
	if (deep(SNAP_DEPTH) != 0) {
		fprintf(stderr, "snapshot_bench: could not capture the snapshot\n");
		return 1;
	}
	if ((rc = sw_as_new(&opt, &as)) != 0) {
		fprintf(stderr, "snapshot_bench: sw_as_new: %s %s\n", sw_strerror(rc), err);
		return 1;
	}
	if (add_modules(as, &mods)) {
		sw_as_free(as);
		return 1;
	}
	/* the first walk parses the modules' files: not timed (warm cache) */
	frames = walk(as, &end);
	fprintf(stderr, "snapshot_bench: snapshot of %zu stack bytes, %d mappings: %zu frames, %s\n",
		snap_size, mods, frames, end == SW_END_OF_STACK ? "end of stack" : sw_strerror(end));
	if (frames < SNAP_DEPTH) {
		printf("# snapshot.unwind.stackwalk skipped: the walk of a %d-deep snapshot gave %zu frames (%s)\n",
		       SNAP_DEPTH, frames, sw_strerror(end));
		sw_as_free(as);
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		size_t total = 0;
		double t0 = now_ns();

		for (int w = 0; w < WALKS; w++)
			total += walk(as, &end);
		per[r] = (now_ns() - t0) / (double)total;
	}
	qsort(per, ROUNDS, sizeof per[0], cmp_double);
	printf("# snapshot: %zu frames per walk (%d-deep recursion), %zu stack bytes copied, "
	       "median of %d rounds of %d walks\n", frames, SNAP_DEPTH, snap_size, ROUNDS, WALKS);
	printf("snapshot.unwind.stackwalk: %.1f ns/frame\n", per[ROUNDS / 2]);
	sw_as_free(as);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "attach") == 0)
		return run_attach((pid_t)atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "stop") == 0)
		return run_stop((pid_t)atoi(argv[2]), atoi(argv[3]));
	if (argc == 2 && strcmp(argv[1], "snapshot") == 0)
		return run_snapshot();
	fprintf(stderr, "usage: snapshot_bench attach PID | stop PID RUNS | snapshot\n");
	return 2;
}
