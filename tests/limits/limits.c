/*
 * Limits and ends of walks (tests/scripts/limits.sh):
 *
 *   deep     a 10,000-deep recursion: sw_backtrace with a buffer larger
 *            than the stack returns every frame, the same count and PCs as
 *            glibc's backtrace(); a cursor walks it to SW_END_OF_STACK;
 *            a buffer too small is reported as cut (sw_backtrace2's
 *            SW_ETOODEEP, sw_backtrace returning the buffer's size), an
 *            exact one as complete
 *   context  a makecontext/swapcontext stack walked to its end: the walk
 *            ends with SW_END_OF_STACK (not an error at __start_context),
 *            counts as glibc's backtrace(), and prints each frame as
 *            "frame IP NAME OFFSET MODULE BASE" for the script to check
 *            every name against the ELF symbol sizes (nm -S)
 *
 * Prints "N passed, N failed" last.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <stackwalk.h>

#include "check.h"

#define DEEP 10000
#define BUF (DEEP + 64)

static void *sw_pcs[BUF], *gl_pcs[BUF];
static int sw_n, gl_n;

/* Leading entries of glibc's trace that are not in stackwalk's: none, or
 * under the sanitizers the backtrace() interceptor's frame.  Entry 0 of
 * each is its own call site; from entry 1 on the two traces share frames. */
static int gl_skip(int sw_count, int gl_count)
{
	for (int k = 0; k < 3 && k + 1 < gl_count; k++)
		if (sw_count > 1 && gl_pcs[k + 1] == sw_pcs[1])
			return k;
	return 0;
}

/* both backtraces from the same frame */
__attribute__((noinline)) static void take_both(void)
{
	sw_n = sw_backtrace(sw_pcs, BUF);
	gl_n = backtrace(gl_pcs, BUF);
	__asm__ volatile("" ::: "memory");
}

/* sw_backtrace2's statuses at the bottom of the deep stack: the whole
 * stack, a buffer exactly its size, and buffers too small */
__attribute__((noinline)) static void cut_traces(void)
{
	static void *pcs[BUF];
	int st = 0, n, all;

	all = sw_backtrace2(pcs, BUF, &st);
	CHECK(all > DEEP && all < BUF && st == SW_END_OF_STACK,
	      "whole stack: %d frames, status %d (%s)", all, st, sw_strerror(st));
	n = sw_backtrace2(pcs, all, &st);
	CHECK(n == all && st == SW_END_OF_STACK, "exact buffer: %d of %d frames, status %d (%s)", n,
	      all, st, sw_strerror(st));
	n = sw_backtrace2(pcs, all - 1, &st);
	CHECK(n == all - 1 && st == SW_ETOODEEP, "buffer one short: %d frames, status %d (%s)", n,
	      st, sw_strerror(st));
	n = sw_backtrace2(pcs, 100, &st);
	CHECK(n == 100 && st == SW_ETOODEEP, "100-entry buffer: %d frames, status %d (%s)", n, st,
	      sw_strerror(st));
	/* the documented rule for sw_backtrace: max returned means full */
	CHECK(sw_backtrace(pcs, 100) == 100, "sw_backtrace with a 100-entry buffer");
}

/* a cursor walk from here: the number of steps and how it ended */
__attribute__((noinline)) static int walk_to_end(int *steps, int print)
{
	sw_context_t ctx;
	sw_cursor_t c;
	int rc;

	*steps = 0;
	sw_getcontext(&ctx);
	sw_init_local(&c, &ctx);
	do {
		if (print) {
			char name[256] = "";
			uint64_t off = 0, ip = sw_get_ip(&c);
			Dl_info di;
			int nr = sw_get_proc_name(&c, name, sizeof name, &off);
			/* the module of the looked-up PC (ip - 1 for return addresses) */
			uint64_t pc = *steps == 0 || ip == 0 ? ip : ip - 1;
			int have = dladdr((void *)(uintptr_t)pc, &di) && di.dli_fname;
			printf("frame %#llx %s %#llx %s %#llx\n", (unsigned long long)ip,
			       nr == 0 && name[0] ? name : "-", (unsigned long long)(nr == 0 ? off : 0),
			       have ? di.dli_fname : "-",
			       (unsigned long long)(have ? (uintptr_t)di.dli_fbase : 0));
		}
		rc = sw_step(&c);
		if (rc == 0)
			++*steps;
	} while (rc == 0);
	return rc;
}

static volatile int sink;

__attribute__((noinline)) static int recurse(int n)
{
	int r;

	if (n == 0) {
		int steps, rc;
		take_both();
		cut_traces();
		rc = walk_to_end(&steps, 0);
		CHECK(rc == SW_END_OF_STACK, "deep cursor walk ended with %d (%s) after %d steps", rc,
		      sw_strerror(rc), steps);
		/* walk_to_end's frame is one more than take_both's callers */
		CHECK(steps == gl_n - gl_skip(sw_n, gl_n) - 1,
		      "deep cursor walk: %d steps, glibc backtrace %d frames", steps, gl_n);
		return 0;
	}
	r = recurse(n - 1);
	sink = r;                   /* not a tail call */
	return r + 1;
}

static void test_deep(void)
{
	recurse(DEEP);
	CHECK(gl_n > DEEP && gl_n < BUF, "glibc backtrace: %d frames", gl_n);
	int skip = gl_skip(sw_n, gl_n);
	CHECK(sw_n == gl_n - skip, "sw_backtrace: %d frames, glibc backtrace %d (%d skipped)", sw_n,
	      gl_n, skip);
	int same = 1;
	for (int i = 1; i < sw_n && i + skip < gl_n; i++)
		same &= sw_pcs[i] == gl_pcs[i + skip];
	CHECK(same, "sw_backtrace's PCs differ from glibc's");
}

static ucontext_t main_uc, co_uc;
static char co_stack[256 * 1024] __attribute__((aligned(16)));
static int co_rc, co_steps, co_sw, co_gl;

__attribute__((noinline)) static void co_leaf(void)
{
	co_rc = walk_to_end(&co_steps, 1);
	int st = 0;
	co_sw = sw_backtrace2(sw_pcs, BUF, &st);
	CHECK(st == SW_END_OF_STACK, "makecontext stack: sw_backtrace2 status %d (%s)", st,
	      sw_strerror(st));
	co_gl = backtrace(gl_pcs, BUF);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void co_mid(int n)
{
	if (n > 0)
		co_mid(n - 1);
	else
		co_leaf();
	sink = n;
}

static void co_main(void)
{
	co_mid(3);
}

static void test_context(void)
{
	CHECK(getcontext(&co_uc) == 0, "getcontext");
	co_uc.uc_stack.ss_sp = co_stack;
	co_uc.uc_stack.ss_size = sizeof co_stack;
	co_uc.uc_link = &main_uc;
	makecontext(&co_uc, co_main, 0);
	CHECK(swapcontext(&main_uc, &co_uc) == 0, "swapcontext");
	CHECK(co_rc == SW_END_OF_STACK, "makecontext stack: walk ended with %d (%s) after %d steps",
	      co_rc, sw_strerror(co_rc), co_steps);
	int skip = gl_skip(co_sw, co_gl);
	CHECK(co_sw == co_gl - skip,
	      "makecontext stack: sw_backtrace %d frames, glibc backtrace %d (%d skipped)", co_sw,
	      co_gl, skip);
	int same = 1;
	for (int i = 1; i < co_sw && i + skip < co_gl; i++)
		same &= sw_pcs[i] == gl_pcs[i + skip];
	CHECK(same, "makecontext stack: sw_backtrace's PCs differ from glibc's");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IOLBF, 0);
	sw_init();
	if (!strcmp(what, "all") || !strcmp(what, "deep"))
		test_deep();
	if (!strcmp(what, "all") || !strcmp(what, "context"))
		test_context();
	printf("%lu passed, %lu failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
