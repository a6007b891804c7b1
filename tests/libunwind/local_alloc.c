/*
 * local_alloc: no allocation on the local unwind path.  malloc, calloc,
 * realloc, memalign, aligned_alloc and posix_memalign are interposed here
 * (forwarding to glibc's __libc_* entry points) and counted while a loop
 * of unw_getcontext + unw_init_local + unw_step to the end (unw_get_reg
 * of IP, SP and RBX in every frame, unw_is_signal_frame,
 * unw_get_proc_info) + unw_backtrace runs, after one warm-up walk that
 * may allocate (the first lookups).  Also from a signal handler, through
 * the signal frame.  Prints the count ('~': nongnu's may differ); the
 * count must be 0 on stackwalk's library.
 */
#include "local_common.h"      /* first: _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <malloc.h>
#include <signal.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static volatile int counting;
static volatile long allocations;

static void count(void)
{
	if (counting)
		__atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	count();
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}

void *memalign(size_t a, size_t n)
{
	count();
	return __libc_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	count();
	return __libc_memalign(a, n);
}

int posix_memalign(void **p, size_t a, size_t n)
{
	count();
	*p = __libc_memalign(a, n);
	return *p ? 0 : 12;
}

static volatile int sink;

/* one full walk; returns its frame count */
LU_NOINLINE int walk_all(void)
{
	unw_context_t uc;
	unw_cursor_t c;
	unw_proc_info_t pi;
	unw_word_t v;
	void *b[64];
	int n = 0;

	unw_getcontext(&uc);
	if (unw_init_local(&c, &uc) < 0)
		return -1;
	do {
		unw_get_reg(&c, UNW_REG_IP, &v);
		unw_get_reg(&c, UNW_REG_SP, &v);
		unw_get_reg(&c, UNW_X86_64_RBX, &v);
		unw_get_proc_info(&c, &pi);
		unw_is_signal_frame(&c);
		n++;
	} while (unw_step(&c) > 0 && n < 64);
	int nb = unw_backtrace(b, 64);
	LU_CHECK(nb == n, "unw_backtrace %d, the walk %d", nb, n);
	return n;
}

LU_NOINLINE int nest(int d)
{
	int r = d ? nest(d - 1) : walk_all();
	LU_KEEP();
	return r + sink;
}

static volatile int in_handler_frames;

static void handler(int sig)
{
	(void)sig;
	in_handler_frames = nest(3);
}

int main(void)
{
	int iters = getenv("SW_TEST_MODE") && !strcmp(getenv("SW_TEST_MODE"), "quick") ? 200 : 2000;
	char name[64];
	unw_word_t off;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, handler);
	/* warm-up: the first walks and names may allocate (module tables) */
	nest(5);
	raise(SIGUSR1);
	{
		unw_context_t uc;
		unw_cursor_t c;
		unw_getcontext(&uc);
		unw_init_local(&c, &uc);
		unw_get_proc_name(&c, name, sizeof(name), &off);
	}
	/* the interposer counts (the check below could fail) */
	counting = 1;
	free(malloc(16));
	counting = 0;
	LU_CHECK(allocations == 1, "the interposer counted %ld", allocations);
	allocations = 0;

	int frames = 0;
	counting = 1;
	for (int i = 0; i < iters; i++)
		frames = nest(5);
	raise(SIGUSR1);
	counting = 0;
	printf("walks: %d frames each\n", frames);
	printf("signal: %d frames\n", in_handler_frames);
	printf("~allocations: %ld in %d walks\n", allocations, iters + 1);
	if (lu_ours())
		LU_CHECK(allocations == 0, "%ld allocations", allocations);
	printf("%s\n", lu_failed ? "FAILED" : "OK");
	return lu_failed;
}
