/*
 * Walks through code whose rules come from the compact tables (or, with
 * SW_TABLES=0, from the DWARF interpreter): a recursion, qsort's callback
 * (libc), a signal handler (walks through the trampoline, whose 'S' FDE
 * the table leaves to the interpreter, and from its ucontext), a thread, and a call into a module given on the command
 * line (dlopen'ed; built by tests/scripts/tables.sh, maybe with a
 * corrupted .eh_frame_hdr).  Each walk is printed as module+offset per
 * frame, then the counters of sw_get_stats.
 *
 *   walk [LIB.so]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"

#define MAXF 128

static void print_walk(const char *what, void **pcs, int n)
{
	printf("walk %s: %d frames\n", what, n);
	for (int i = 0; i < n; i++) {
		Dl_info di;
		if (dladdr(pcs[i], &di) && di.dli_fname) {
			const char *base = strrchr(di.dli_fname, '/');
			printf("  %s+0x%lx\n", base ? base + 1 : di.dli_fname,
			       (unsigned long)((uintptr_t)pcs[i] - (uintptr_t)di.dli_fbase));
		} else {
			printf("  ?\n");
		}
	}
}

/* the cursor walk, step by step (no rule cache at the first step of a
 * frame never seen: sw_flush_cache before each walk makes every step ask
 * the table or the interpreter) */
static int cursor_walk(void **pcs)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	int n = 0;

	sw_getcontext(&ctx);
	sw_init_local(&cur, &ctx);
	while (n < MAXF && sw_step(&cur) == 0)
		pcs[n++] = (void *)(uintptr_t)sw_get_ip(&cur);
	return n;
}

static void both(const char *what)
{
	void *pcs[MAXF];
	char name[64];
	int n;

	sw_flush_cache();
	n = sw_backtrace(pcs, MAXF);
	snprintf(name, sizeof(name), "%s/backtrace", what);
	print_walk(name, pcs, n);
	sw_flush_cache();
	n = cursor_walk(pcs);
	snprintf(name, sizeof(name), "%s/cursor", what);
	print_walk(name, pcs, n);
}

static volatile int sink;

__attribute__((noinline)) static int rec(int d)
{
	if (d == 0) {
		both("recursion");
		return 0;
	}
	int r = rec(d - 1);
	sink = r;               /* no tail call, no loop: one frame per level */
	return r + 1;
}

static int cmp(const void *a, const void *b)
{
	static int done;
	if (!done) {
		done = 1;
		both("qsort");
	}
	return *(const int *)a - *(const int *)b;
}

static void *signal_pcs[MAXF];
static volatile int signal_n;

/* raise() runs the handler synchronously: printing here is safe */
static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	/* through the trampoline, whose 'S' FDE the table leaves to the
	 * interpreter */
	both("signal");
	sw_flush_cache();
	signal_n = sw_backtrace_ucontext(uc, signal_pcs, MAXF);
}

static void *thread_main(void *arg)
{
	(void)arg;
	rec(3);
	return NULL;
}

int main(int argc, char **argv)
{
	int v[16];
	struct sigaction sa;
	pthread_t t;
	struct sw_stats st;

	sw_init();
	rec(10);
	for (int i = 0; i < 16; i++)
		v[i] = (i * 7) % 16;
	qsort(v, 16, sizeof(v[0]), cmp);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	print_walk("signal/ucontext", signal_pcs, signal_n);

	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);

	if (argc > 1) {
		void *h = dlopen(argv[1], RTLD_NOW);
		void (*call)(void (*)(const char *)) = h ? (void (*)(void (*)(const char *)))dlsym(h, "lib_call") : NULL;
		if (!call) {
			printf("dlopen %s: %s\n", argv[1], dlerror());
			return 1;
		}
		call(both);
	}
	sw_get_stats(&st);
	printf("stats built=%llu failed=%llu dwarf_steps=%llu overflow=%llu used=%u capacity=%u\n",
	       (unsigned long long)st.tables_built, (unsigned long long)st.tables_failed,
	       (unsigned long long)st.table_dwarf_steps, (unsigned long long)st.tables_overflow,
	       st.tables_used, st.tables_capacity);
	return 0;
}
