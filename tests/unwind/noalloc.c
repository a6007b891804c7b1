/*
 * noalloc: after sw_init and one warm-up backtrace, sw_backtrace, cursor
 * walks (sw_getcontext, sw_init_local, sw_step, sw_get_reg, sw_get_ip/sp/cfa,
 * sw_is_signal_frame, sw_get_proc_info), sw_backtrace_ucontext from a signal
 * handler, and the first walk of a new thread allocate nothing.
 * Allocator calls are counted by count_alloc.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>

#include "common.h"

static volatile int counting;
#define COUNT_ALLOC_WHEN counting
#include "count_alloc.h"

#define MAXF 128

static volatile uint64_t sink;

/* One cursor walk touching every accessor. */
NOINLINE static int cursor_walk(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	struct sw_proc_info pi;
	uint64_t v;
	int rc, frames = 0;

	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) != 0)
		return -1;
	do {
		for (int r = 0; r < SW_REG_COUNT; r++)
			if (sw_get_reg(&cur, r, &v) == 0)
				sink += v;
		sink += sw_get_ip(&cur) + sw_get_sp(&cur) + sw_get_cfa(&cur);
		sink += (uint64_t)sw_is_signal_frame(&cur);
		if (sw_get_proc_info(&cur, &pi) == 0)
			sink += pi.start;
		frames++;
	} while ((rc = sw_step(&cur)) == 0);
	return rc == SW_END_OF_STACK ? frames : rc;
}

NOINLINE static int level(int n, int (*fn)(void))
{
	if (n == 0)
		return fn();
	int r = level(n - 1, fn);
	OPAQUE(r);
	return r;
}

NOINLINE static int backtrace_once(void)
{
	void *pcs[MAXF];
	return sw_backtrace(pcs, MAXF);
}

static volatile int sig_result;

static void on_usr1(int signo, siginfo_t *si, void *uc)
{
	void *pcs[MAXF];
	(void)signo;
	(void)si;
	sig_result = sw_backtrace_ucontext(uc, pcs, MAXF);
}

static int thread_result[2];

static void *thread_fn(void *arg)
{
	/* the first walks of a fresh thread (its stack bounds are not cached yet) */
	counting = 1;
	thread_result[0] = level(10, backtrace_once);
	thread_result[1] = level(10, cursor_walk);
	counting = 0;
	(void)arg;
	return NULL;
}

int main(void)
{
	int iters = t_quick() ? 200 : 1000;
	int bt = 0, cw = 0;
	struct sigaction sa;
	pthread_t th;

	install_alloc_counting();
	sw_init();
	bt = level(10, backtrace_once);   /* warm-up */
	cw = level(10, cursor_walk);
	CHECK(bt > 10, "warm-up sw_backtrace: %d", bt);
	CHECK(cw > 10, "warm-up cursor walk: %d", cw);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	n_alloc = n_free = 0;
	counting = 1;
	int bad_bt = 0, bad_cw = 0, bad_sig = 0;
	for (int i = 0; i < iters; i++) {
		if (level(10 + (i & 7), backtrace_once) != bt + (i & 7))
			bad_bt++;
		if (level(10 + (i & 7), cursor_walk) != cw + (i & 7))
			bad_cw++;
	}
	for (int i = 0; i < iters / 10; i++) {
		sig_result = 0;
		raise(SIGUSR1);
		if (sig_result <= 2)
			bad_sig++;
	}
	counting = 0;
	unsigned long a1 = n_alloc, f1 = n_free;
	printf("noalloc: %d sw_backtrace + %d cursor walks + %d signal-handler walks: %lu allocations, "
	       "%lu frees\n", iters, iters, iters / 10, a1, f1);
	CHECK_EQ(bad_bt, 0, "sw_backtrace depth changed");
	CHECK_EQ(bad_cw, 0, "cursor walk depth changed or did not end at the outermost frame");
	CHECK_EQ(bad_sig, 0, "sw_backtrace_ucontext from the handler failed");
	CHECK_EQ(a1, 0, "allocations during the walks");
	CHECK_EQ(f1, 0, "frees during the walks");

	/* the first walks of a new thread */
	if (pthread_create(&th, NULL, thread_fn, NULL) != 0) {
		perror("pthread_create");
		return 2;
	}
	pthread_join(th, NULL);
	printf("noalloc: a new thread's first walks: %lu allocations, %lu frees\n", n_alloc - a1,
	       n_free - f1);
	CHECK(thread_result[0] > 10, "the thread's sw_backtrace: %d", thread_result[0]);
	CHECK(thread_result[1] > 10, "the thread's cursor walk: %d", thread_result[1]);
	CHECK_EQ(n_alloc - a1, 0, "allocations in the new thread's first walks");
	CHECK_EQ(n_free - f1, 0, "frees in the new thread's first walks");

	/* sanity: the counter works */
	counting = 1;
	void *volatile p = malloc(16);
	free(p);
	counting = 0;
	CHECK(n_alloc - a1 >= 1 && n_free - f1 >= 1, "the allocation counter sees malloc/free");
	return t_finish("noalloc");
}
