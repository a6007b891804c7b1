/*
 * The JIT registry's API (include/stackwalk/jit.h): every form registers,
 * is found and named, moves and goes away; handles are checked; the
 * statistics add up.  Unwinding through real generated code is tested by
 * tests/scripts/jit.sh.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "../harness.h"

/* The registry never reads code: these addresses need not be mapped. */
#define BASE 0x7e0000000000ull

static struct sw_jit_proc frame_proc(uint64_t start, uint64_t len, const char *name)
{
	static const uint32_t epi[1] = { 0 };
	struct sw_jit_proc p;

	memset(&p, 0, sizeof(p));
	p.start = start;
	p.end = start + len;
	p.name = name;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = epi;
	/* the single epilogue's ret is the last byte */
	static uint32_t last;
	last = (uint32_t)len - 1;
	p.u.frame.epilogues = &last;
	return p;
}

TEST(procs_found_named_removed)
{
	struct sw_jit_proc p[3] = {
		frame_proc(BASE + 0x000, 0x40, "alpha"),
		frame_proc(BASE + 0x100, 0x40, "beta"),
		frame_proc(BASE + 0x040, 0x40, NULL),
	};
	sw_jit_handle_t h = 0;
	struct sw_jit_found f;
	char name[64];
	uint64_t off;

	CHECK_EQ(sw_jit_add_procs(p, 3, &h), 0);
	CHECK(h != 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x105, &f), 0);
	CHECK_EQ(f.start, BASE + 0x100);
	CHECK_EQ(f.end, BASE + 0x140);
	CHECK_EQ(f.form, SW_JIT_FORM_EAGER);
	CHECK_EQ(sw_jit_get_name(BASE + 0x105, name, sizeof(name), &off), 0);
	CHECK_STR(name, "beta");
	CHECK_EQ(off, 5);
	CHECK_EQ(sw_jit_get_name(BASE + 0x3f, name, 3, &off), 0);
	CHECK_STR(name, "al");
	CHECK_EQ(sw_jit_get_name(BASE + 0x45, name, sizeof(name), &off), SW_ENONAME);
	CHECK_EQ(sw_jit_lookup(BASE + 0x45, &f), 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x80, &f), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_lookup(BASE + 0x140, &f), SW_ENOTFOUND);

	/* overlaps with a registered procedure, inside one call, empty */
	sw_jit_handle_t h2 = 0;
	struct sw_jit_proc q = frame_proc(BASE + 0x13f, 0x10, "q");
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h2), SW_EOVERLAP);
	struct sw_jit_proc two[2] = { frame_proc(BASE + 0x1000, 0x20, "a"),
				      frame_proc(BASE + 0x1010, 0x20, "b") };
	CHECK_EQ(sw_jit_add_procs(two, 2, &h2), SW_EOVERLAP);
	q = frame_proc(BASE + 0x2000, 0x10, "q");
	q.end = q.start;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h2), SW_EINVAL);
	q.end = q.start - 1;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h2), SW_EINVAL);
	CHECK_EQ(sw_jit_add_procs(NULL, 1, &h2), SW_EINVAL);
	CHECK_EQ(sw_jit_lookup(BASE + 0x1005, &f), SW_ENOTFOUND);

	CHECK_EQ(sw_jit_remove(h), 0);
	CHECK_EQ(sw_jit_remove(h), SW_EBADHANDLE);
	CHECK_EQ(sw_jit_remove(0), SW_EBADHANDLE);
	CHECK_EQ(sw_jit_remove(h + 0x10000), SW_EBADHANDLE);
	CHECK_EQ(sw_jit_lookup(BASE + 0x105, &f), SW_ENOTFOUND);
}

TEST(bad_cfi_refused)
{
	static const uint8_t bad_op[] = { 0x0e, 0x10, 0x3f };     /* def_cfa_offset; 0x3f unknown */
	static const uint8_t cut[] = { 0x0e };                    /* truncated operand */
	struct sw_jit_proc p = frame_proc(BASE + 0x5000, 0x20, "cfi");
	sw_jit_handle_t h;

	p.kind = SW_JIT_UNWIND_CFI;
	p.u.cfi.insns = bad_op;
	p.u.cfi.len = sizeof(bad_op);
	CHECK(sw_jit_add_procs(&p, 1, &h) < 0);
	p.u.cfi.insns = cut;
	p.u.cfi.len = sizeof(cut);
	CHECK(sw_jit_add_procs(&p, 1, &h) < 0);
	p.u.cfi.len = 1;
	p.u.cfi.insns = bad_op;         /* def_cfa_offset without its operand */
	CHECK(sw_jit_add_procs(&p, 1, &h) < 0);
	p.u.cfi.insns = bad_op;
	p.u.cfi.len = 2;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	CHECK_EQ(sw_jit_remove(h), 0);
	/* .eh_frame bytes: garbage and an empty section */
	uint8_t junk[64];
	memset(junk, 0xff, sizeof(junk));
	CHECK(sw_jit_add_eh_frame(junk, sizeof(junk), 0, NULL, 0, &h) < 0);
	memset(junk, 0, sizeof(junk));
	CHECK_EQ(sw_jit_add_eh_frame(junk, sizeof(junk), 0, NULL, 0, &h), SW_EINVAL);
}

TEST(eh_frame_form_and_move)
{
	uint8_t buf[512];
	sw_cfi_builder_t b;
	sw_jit_handle_t h;
	struct sw_jit_found f;
	char name[32];
	const char *names[2] = { "one", "two" };

	CHECK_EQ(sw_cfi_b_init(&b, buf, sizeof(buf), (uint64_t)(uintptr_t)buf, SW_CFI_B_PCREL8), 0);
	sw_cfi_b_startproc(&b, BASE + 0x8000, 0x30);
	sw_cfi_b_advance(&b, 1);
	sw_cfi_b_def_cfa_offset(&b, 16);
	sw_cfi_b_endproc(&b);
	sw_cfi_b_startproc(&b, BASE + 0x8100, 0x30);
	sw_cfi_b_endproc(&b);
	int size = sw_cfi_b_finish(&b);
	CHECK(size > 0);
	CHECK_EQ(sw_jit_add_eh_frame(buf, (size_t)size, (uint64_t)(uintptr_t)buf, names, 2, &h), 0);
	memset(buf, 0, sizeof(buf));    /* the registry keeps its own copy */
	CHECK_EQ(sw_jit_get_name(BASE + 0x8110, name, sizeof(name), NULL), 0);
	CHECK_STR(name, "two");

	/* move by +1 MiB: found at the new place only, names kept */
	CHECK_EQ(sw_jit_move(h, 0x100000), 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x8110, &f), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_lookup(BASE + 0x108110, &f), 0);
	CHECK_EQ(f.start, BASE + 0x108100);
	CHECK_EQ(sw_jit_get_name(BASE + 0x108001, name, sizeof(name), NULL), 0);
	CHECK_STR(name, "one");
	/* onto an occupied range: refused, nothing changes */
	struct sw_jit_proc p = frame_proc(BASE + 0x9000, 0x10, "blocker");
	sw_jit_handle_t hb;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &hb), 0);
	CHECK_EQ(sw_jit_move(h, (int64_t)(0x9000 - 0x108000)), SW_EOVERLAP);
	CHECK_EQ(sw_jit_lookup(BASE + 0x108110, &f), 0);
	CHECK_EQ(sw_jit_move(h, -0x100000), 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x8110, &f), 0);
	CHECK_EQ(sw_jit_remove(h), 0);
	CHECK_EQ(sw_jit_remove(hb), 0);
	CHECK_EQ(sw_jit_move(h, 16), SW_EBADHANDLE);
}

TEST(growable_table)
{
	sw_jit_handle_t t, h;
	struct sw_jit_found f;
	char name[32];

	CHECK_EQ(sw_jit_table_create(BASE + 0x10000, BASE + 0x20000, 4, &t), 0);
	struct sw_jit_proc p = frame_proc(BASE + 0x10000, 0x20, "t0");
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), SW_EOVERLAP);
	CHECK_EQ(sw_jit_table_append(t, &p, 1), 0);
	/* staged, not yet published */
	CHECK_EQ(sw_jit_lookup(BASE + 0x10004, &f), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x10004, &f), 0);
	CHECK_EQ(f.form, SW_JIT_FORM_TABLE);
	/* out of order, outside, then fill it */
	struct sw_jit_proc q = frame_proc(BASE + 0x10010, 0x20, "bad");
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_EINVAL);
	q = frame_proc(BASE + 0x1fff0, 0x20, "bad");
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_EINVAL);
	struct sw_jit_proc more[4] = { frame_proc(BASE + 0x10100, 0x20, "t1"),
				       frame_proc(BASE + 0x10200, 0x20, "t2"),
				       frame_proc(BASE + 0x10300, 0x20, "t3"),
				       frame_proc(BASE + 0x10400, 0x20, "t4") };
	CHECK_EQ(sw_jit_table_append(t, more, 4), SW_EFULL);
	CHECK_EQ(sw_jit_table_append(t, more, 3), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x10305, name, sizeof(name), NULL), 0);
	CHECK_STR(name, "t3");
	CHECK_EQ(sw_jit_lookup(BASE + 0x10250, &f), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_move(t, 0x100000), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x110305, name, sizeof(name), NULL), 0);
	CHECK_STR(name, "t3");
	CHECK_EQ(sw_jit_lookup(BASE + 0x110305, &f), 0);
	CHECK_EQ(f.start, BASE + 0x110300);
	CHECK_EQ(sw_jit_remove(t), 0);
	CHECK_EQ(sw_jit_table_append(t, more, 1), SW_EBADHANDLE);
	CHECK_EQ(sw_jit_table_publish(t), SW_EBADHANDLE);
}

static int calls;

static int answer(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	uint64_t base = *(uint64_t *)arg;

	calls++;
	if (pc >= base + 0x800)
		return -1;
	*out = frame_proc(base + (pc - base) / 0x100 * 0x100, 0x100, "lazy");
	return 0;
}

TEST(lazy_callback)
{
	static uint64_t base = BASE + 0x40000;
	sw_jit_handle_t h, h2;
	struct sw_jit_found f;
	char name[32];
	uint64_t off;

	CHECK_EQ(sw_jit_add_callback(base, base + 0x1000, answer, &base, &h), 0);
	CHECK_EQ(sw_jit_add_callback(base + 0xfff, base + 0x2000, answer, &base, &h2), SW_EOVERLAP);
	CHECK_EQ(sw_jit_add_callback(base + 0x1000, base + 0x1000, answer, &base, &h2), SW_EINVAL);
	CHECK_EQ(sw_jit_lookup(base + 0x234, &f), 0);
	CHECK_EQ(f.start, base + 0x200);
	CHECK_EQ(f.form, SW_JIT_FORM_CALLBACK);
	CHECK_EQ(sw_jit_get_name(base + 0x234, name, sizeof(name), &off), 0);
	CHECK_STR(name, "lazy");
	CHECK_EQ(off, 0x34);
	CHECK_EQ(sw_jit_lookup(base + 0x900, &f), SW_ENOTFOUND);
	CHECK(calls >= 3);
	CHECK_EQ(sw_jit_remove(h), 0);
	calls = 0;
	CHECK_EQ(sw_jit_lookup(base + 0x234, &f), SW_ENOTFOUND);
	CHECK_EQ(calls, 0);
}

TEST(many_single_registrations_and_stats)
{
	enum { N = 20000 };
	sw_jit_handle_t *h = malloc(N * sizeof(*h));
	struct sw_jit_stats st;
	char name[32];

	for (unsigned i = 0; i < N; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "f%u", i);
		struct sw_jit_proc p = frame_proc(BASE + 0x1000000 + (uint64_t)i * 64, 64, nm);
		CHECK_EQ(sw_jit_add_procs(&p, 1, &h[i]), 0);
	}
	CHECK_EQ(sw_jit_get_stats(&st), 0);
	CHECK_EQ(st.entries, N);
	CHECK_EQ(st.handles, N);
	CHECK(st.index_bytes / N <= 30);
	int bad = 0;
	for (unsigned i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof(want), "f%u", i);
		if (sw_jit_get_name(BASE + 0x1000000 + (uint64_t)i * 64 + 17, name, sizeof(name),
				    NULL) != 0 || strcmp(name, want) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* remove the odd ones, then the even ones */
	for (unsigned i = 1; i < N; i += 2)
		CHECK_EQ(sw_jit_remove(h[i]), 0);
	struct sw_jit_found f;
	CHECK_EQ(sw_jit_lookup(BASE + 0x1000000 + 64 + 3, &f), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_lookup(BASE + 0x1000000 + 128 + 3, &f), 0);
	for (unsigned i = 0; i < N; i += 2)
		CHECK_EQ(sw_jit_remove(h[i]), 0);
	CHECK_EQ(sw_jit_get_stats(&st), 0);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.handles, 0);
	CHECK_EQ(st.index_bytes, 0);
	CHECK_EQ(st.unwind_bytes, 0);
	free(h);
}

/* One procedure per registration has the compact layout (no record
 * array): name, move and removal must still work. */
TEST(single_procedure_move)
{
	struct sw_jit_proc p = frame_proc(BASE + 0x6000000, 0x80, "lonely");
	struct sw_jit_found f;
	sw_jit_handle_t h;
	char name[32];
	uint64_t off;

	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	CHECK_EQ(sw_jit_move(h, 0x1000), 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x6000010, &f), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_get_name(BASE + 0x6001010, name, sizeof(name), &off), 0);
	CHECK_STR(name, "lonely");
	CHECK_EQ(off, 0x10);
	CHECK_EQ(sw_jit_move(h, 0x1000), 0);
	CHECK_EQ(sw_jit_lookup(BASE + 0x600207f, &f), 0);
	CHECK_EQ(f.start, BASE + 0x6002000);
	CHECK_EQ(sw_jit_remove(h), 0);
	p.name = NULL;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x6000010, name, sizeof(name), &off), SW_ENONAME);
	CHECK_EQ(sw_jit_remove(h), 0);
}

/* Line information: validated, accepted by both eager and table forms. */
TEST(line_information)
{
	static const struct sw_jit_line good[] = { { 0, 10 }, { 4, 11 }, { 4, 12 }, { 30, 13 } };
	static const struct sw_jit_line unsorted[] = { { 8, 10 }, { 4, 11 } };
	static const struct sw_jit_line past[] = { { 0, 10 }, { 0x40, 11 } };
	struct sw_jit_proc p = frame_proc(BASE + 0x7000000, 0x40, "lined");
	sw_jit_handle_t h, t;

	p.file = "prog.calc";
	p.lines = good;
	p.nlines = 4;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	CHECK_EQ(sw_jit_remove(h), 0);
	p.lines = unsorted;
	p.nlines = 2;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), SW_EINVAL);
	p.lines = past;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), SW_EINVAL);
	p.lines = NULL;
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), SW_EINVAL);
	p.file = NULL;                  /* no file: no line information */
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	CHECK_EQ(sw_jit_remove(h), 0);

	CHECK_EQ(sw_jit_table_create(BASE + 0x7100000, BASE + 0x7200000, 4, &t), 0);
	p = frame_proc(BASE + 0x7100000, 0x40, "tlined");
	p.file = "prog.calc";
	p.lines = past;
	p.nlines = 2;
	CHECK_EQ(sw_jit_table_append(t, &p, 1), SW_EINVAL);
	p.lines = good;
	p.nlines = 4;
	CHECK_EQ(sw_jit_table_append(t, &p, 1), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_remove(t), 0);
}

static volatile int stop_reader;

static void *reader(void *arg)
{
	struct sw_jit_found f;

	(void)arg;
	while (!stop_reader)
		sw_jit_lookup(BASE + 0x3000000 + 5, &f);
	return NULL;
}

/* A reader thread is (almost always) inside a read section when the main
 * thread forks; the child's writers must not wait for it. */
TEST(fork_while_reading)
{
#ifdef __SANITIZE_ADDRESS__
	/* ASan's runtime is not fork-safe in threaded programs (its own locks
	 * can be held by another thread at fork): a child may hang in it,
	 * which says nothing about the registry.  The plain build runs this. */
	return;
#endif
	struct sw_jit_proc p = frame_proc(BASE + 0x3000000, 64, "forked");
	sw_jit_handle_t h;
	pthread_t t;
	int hangs = 0;

	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	CHECK_EQ(pthread_create(&t, NULL, reader, NULL), 0);
	for (int round = 0; round < 20; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(10);      /* a hang ends as SIGALRM */
			/* enough removals to force a grace period */
			for (unsigned i = 0; i < 5000; i++) {
				struct sw_jit_proc q = frame_proc(BASE + 0x4000000 + i * 64ull, 64, "c");
				sw_jit_handle_t hq;
				if (sw_jit_add_procs(&q, 1, &hq) || sw_jit_remove(hq))
					_exit(2);
			}
			_exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			hangs++;
			fprintf(stderr, "    child %d: %s %d\n", round,
				WIFEXITED(st) ? "exit" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
	}
	stop_reader = 1;
	pthread_join(t, NULL);
	CHECK_EQ(hangs, 0);
	CHECK_EQ(sw_jit_remove(h), 0);
}

SW_TEST_MAIN
