/*
 * The call-chain corpus (see chains.h).  Every function that must keep its
 * own frame is noinline, and its call is followed by OPAQUE() so the
 * compiler cannot turn it into a tail call or a loop; the chains meant to
 * have tail calls (tail_a, fp_tail) leave them to the optimiser.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chains.h"
#include "common.h"

const char *const chain_names[CH_COUNT] = {
	"recurse", "alloca", "vla", "realign", "tail", "noreturn",
	"fnptr", "so", "qsort", "pressure", "mixed", "dlopen", "vdso", "syscall", "signal",
};

/* per thread: the chains run in several threads at once (TSan run) */
__thread volatile int chain_sink;
__thread const char *chain_dl_path;
__thread void *volatile chain_dl_last_entry;   /* per thread, like chain_sink */

int mixed_realign_entry(int n, int id);
int mixed_fp_entry(int n, int id);

/* ------------------------------------------------------------ recursion */

NOINLINE static int rec(int n, int id)
{
	if (n <= 0) {
		if (id == CH_MIXED)
			return so_recurse(3, chain_cb, id) + chain_sink;
		chain_point(id);
		return chain_sink;
	}
	int r = rec(n - 1, id);
	OPAQUE(r);
	return r + n;
}

/* ------------------------------------------------------------ alloca, VLA */

NOINLINE static int alloca_fn(int n, int id)
{
	size_t size = (size_t)n * 8 + 16;
	char *p = alloca(size);
	memset(p, n, size);
	__asm__ volatile("" : : "r"(p) : "memory");
	int r;
	if (id == CH_MIXED) {
		r = mixed_fp_entry(n, id);
	} else {
		chain_point(id);
		r = chain_sink;
	}
	OPAQUE(r);
	return r + p[n];
}

NOINLINE static int vla_fn(int n, int id)
{
	int v[n + 1];
	for (int i = 0; i <= n; i++)
		v[i] = i + chain_sink;
	__asm__ volatile("" : : "r"(v) : "memory");
	int r;
	if (id == CH_MIXED) {
		r = mixed_realign_entry(n, id);
	} else {
		chain_point(id);
		r = chain_sink;
	}
	OPAQUE(r);
	return r + v[n];
}

/* ------------------------------------------------------------ realignment */

NOINLINE static int realign_fn(int n, int id)
{
	_Alignas(64) char buf[128];
	memset(buf, n, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
	int r;
	if (id == CH_MIXED) {
		r = alloca_fn(n + 1, id);
	} else {
		chain_point(id);
		r = chain_sink;
	}
	OPAQUE(r);
	return r + buf[n & 63];
}

int mixed_realign_entry(int n, int id)
{
	int r = realign_fn(n, id);
	OPAQUE(r);
	return r;
}

/* ------------------------------------------------------------ tail calls */

NOINLINE static int tail_b(int n, int id)
{
	if (id == CH_MIXED) {
		int r = rec(10, id);
		OPAQUE(r);
		return r + n;
	}
	chain_point(id);
	return n + chain_sink;
}

NOINLINE static int tail_a(int n, int id)
{
	return tail_b(n + 1, id);   /* a tail call from -O2 on */
}

NOINLINE static int tail_top(int n, int id)
{
	int r = tail_a(n, id);
	OPAQUE(r);
	return r;
}

/* ------------------------------------------------------------ noreturn */

static __thread jmp_buf nr_env;

__attribute__((noreturn)) NOINLINE static void nr_die(int id)
{
	chain_point(id);
	longjmp(nr_env, 1);
}

/* The call to nr_die is this function's last instruction: its return
 * address is the first byte after the function. */
NOINLINE static void nr_caller(int n, int id)
{
	chain_sink = n;
	nr_die(id);
}

NOINLINE static int nr_top(int id)
{
	if (setjmp(nr_env) == 0)
		nr_caller(3, id);
	return chain_sink;
}

/* ------------------------------------------------------------ function pointers */

typedef int (*chain_fn)(int, int);
static int fp_c(int n, int id);
static int fp_b(int n, int id);
static int fp_tail(int n, int id);
static chain_fn volatile fn_table[3] = { fp_c, fp_b, fp_tail };

NOINLINE static int fp_c(int n, int id)
{
	if (id == CH_MIXED) {
		int r = tail_top(n, id);
		OPAQUE(r);
		return r;
	}
	chain_point(id);
	return n + chain_sink;
}

NOINLINE static int fp_b(int n, int id)
{
	int r = fn_table[2](n + 1, id);
	OPAQUE(r);
	return r;
}

NOINLINE static int fp_tail(int n, int id)
{
	return fn_table[0](n * 2, id);   /* indirect tail call from -O2 on */
}

NOINLINE static int fp_a(int n, int id)
{
	int r = fn_table[1](n, id);
	OPAQUE(r);
	return r;
}

int mixed_fp_entry(int n, int id)
{
	int r = fp_a(n, id);
	OPAQUE(r);
	return r;
}

/* ------------------------------------------------------------ libc's qsort */

static __thread int qsort_armed;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (qsort_armed) {
		qsort_armed = 0;
		chain_point(CH_QSORT);
	}
	return (x > y) - (x < y);
}

NOINLINE static int qsort_fn(int n)
{
	int v[16];
	for (int i = 0; i < 16; i++)
		v[i] = (i * 7 + n) % 16;
	qsort_armed = 1;
	qsort(v, 16, sizeof(v[0]), cmp_int);
	OPAQUE(v[0]);
	return v[0] + v[15];
}

/* ------------------------------------------------------------ register pressure */

NOINLINE static long pressure_fn(int n, int id)
{
	long a = n * 3 + 1, b = a * 7 + chain_sink, c = b ^ 5, d = c + 11, e = d * 13, f = e ^ a;
	OPAQUE(a); OPAQUE(b); OPAQUE(c); OPAQUE(d); OPAQUE(e); OPAQUE(f);
	chain_point(id);
	OPAQUE(a); OPAQUE(b); OPAQUE(c); OPAQUE(d); OPAQUE(e); OPAQUE(f);
	return a + b + c + d + e + f;
}

/* ------------------------------------------------------------ libraries */

int chain_cb(int id)
{
	chain_point(id);
	return id + chain_sink;
}

NOINLINE static int so_fn(int id)
{
	int r = so_recurse(20, chain_cb, id);   /* through the PLT */
	OPAQUE(r);
	return r;
}

NOINLINE static int dl_fn(int id)
{
	void *h = dlopen(chain_dl_path, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", chain_dl_path, dlerror());
		abort();
	}
	dl_entry_fn entry = (dl_entry_fn)dlsym(h, "dl_entry");
	if (!entry) {
		fprintf(stderr, "dlsym dl_entry: %s\n", dlerror());
		abort();
	}
	chain_dl_last_entry = (void *)entry;
	int r = entry(10, chain_cb, id);
	OPAQUE(r);
	dlclose(h);
	return r;
}

/* ------------------------------------------------------------ vDSO, system calls */

NOINLINE static int vdso_fn(int id)
{
	struct timespec ts;
	long sum = 0;

	for (int i = 0; i < 200; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		sum += ts.tv_nsec;
	}
	chain_point(id);
	OPAQUE(sum);
	return (int)(sum & 1);
}

NOINLINE static int syscall_fn(int id)
{
	int sum = 0;

	for (int i = 0; i < 20; i++)
		sum += getppid();
	chain_point(id);
	OPAQUE(sum);
	return sum & 1;
}

/* ------------------------------------------------------------ a signal handler */

static void on_usr2(int signo)
{
	(void)signo;
	rec(3, CH_SIGNAL);
}

void chains_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
}

NOINLINE static int signal_fn(int n)
{
	raise(SIGUSR2);
	OPAQUE(n);
	return n;
}

/* ------------------------------------------------------------ dispatch */

int chain_run(int id)
{
	int n = 5 + (chain_sink & 1);

	switch (id) {
	case CH_RECURSE: return rec(200, id);
	case CH_ALLOCA: return alloca_fn(n, id);
	case CH_VLA: return vla_fn(n, id);
	case CH_REALIGN: return realign_fn(n, id);
	case CH_TAIL: return tail_top(n, id);
	case CH_NORETURN: return nr_top(id);
	case CH_FNPTR: return fp_a(n, id);
	case CH_SO: return so_fn(id);
	case CH_QSORT: return qsort_fn(n);
	case CH_PRESSURE: return (int)pressure_fn(n, id);
	case CH_MIXED: return vla_fn(n, id);
	case CH_DL: return dl_fn(id);
	case CH_VDSO: return vdso_fn(id);
	case CH_SYSCALL: return syscall_fn(id);
	case CH_SIGNAL: return signal_fn(n);
	}
	abort();
}

int chain_run_all(void)
{
	int sum = 0;
	for (int id = 0; id < CH_COUNT; id++) {
		int r = chain_run(id);
		OPAQUE(r);
		sum += r;
	}
	return sum;
}
