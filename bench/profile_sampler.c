/*
 * A SIGPROF sampler to LD_PRELOAD into a real program (bench/profile.sh):
 * every sample unwinds the interrupted thread from the signal's ucontext
 * and records how long the walk took (the unwinding only, not the signal
 * delivery), how deep it went and whether it reached the end of the stack.
 *
 * One shared object per unwinder, chosen with -D (their headers and
 * libraries must not meet in one process):
 *   PROF_SW      stackwalk: sw_backtrace_ucontext2 (libstackwalk.a linked
 *                in, its symbols hidden); complete = SW_END_OF_STACK
 *   PROF_NONGNU  nongnu libunwind: unw_init_local2(UNW_INIT_SIGNAL_FRAME)
 *                and an unw_step loop, per-thread cache; libunwind.so.8 is
 *                dlopen'ed RTLD_LOCAL so its _Unwind_* do not take over the
 *                program's exceptions; complete = unw_step returned 0
 *   PROF_GCC     libgcc _Unwind_Backtrace from the handler, through the
 *                kernel's signal frame; frames are counted from the one at
 *                the interrupted PC; complete = _URC_END_OF_STACK
 *   PROF_FP      the frame-pointer chain from the ucontext's rbp, bounded by
 *                the interrupted SP and the top of the main thread's stack;
 *                complete = the chain ended on a null frame pointer (the
 *                ABI's outermost-frame marker)
 *
 * Environment:
 *   SW_PROFILE_OUT       file the summary line is appended to (required:
 *                        without it the sampler does nothing)
 *   SW_PROFILE_UNWINDER  stackwalk|nongnu|libgcc|fp: when set, must name
 *                        this object's unwinder (a guard against a mix-up)
 *   SW_PROFILE_HZ        sampling rate, default 1000
 *   SW_PROFILE_TWICE     1: walk each sample a second time right after the
 *                        timed walk and time that one apart (hot_* fields:
 *                        the same stack with the CPU caches and the
 *                        unwinder's caches warm; a diagnostic)
 *   SW_PROFILE_TIMER     wall (default): a CLOCK_MONOTONIC POSIX timer
 *                        delivering SIGPROF to the main thread (hrtimer: the
 *                        rate holds whatever the kernel's HZ), one-shot and
 *                        re-armed at the end of each sample; cpu:
 *                        setitimer(ITIMER_PROF), which the kernel checks
 *                        only at its tick (250 Hz with CONFIG_HZ=250)
 *
 * Only the main thread is unwound (the stack bounds of the FP walk are
 * its own); samples landing on other threads are counted apart.  The
 * handler allocates nothing and calls nothing but the unwinder: counters
 * and per-sample times go to static storage, the summary is written by a
 * destructor.  Times come from rdtsc, converted to ns with the TSC rate
 * measured against CLOCK_MONOTONIC over the whole run.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

#if defined(PROF_SW)
#include "stackwalk.h"
#define UNWINDER "stackwalk"
#elif defined(PROF_NONGNU)
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#define UNWINDER "nongnu"
#elif defined(PROF_GCC)
#include <unwind.h>
#define UNWINDER "libgcc"
#elif defined(PROF_FP)
#define UNWINDER "fp"
#else
#error "build with one of -DPROF_SW -DPROF_NONGNU -DPROF_GCC -DPROF_FP"
#endif

#define MAXF 1024               /* frames per walk */
#define MAXT 65536              /* per-sample times kept (for the median) */
#define NLAST 8                 /* distinct outermost PCs remembered */
#define LINE 4096               /* the summary line's buffer */

static int active;
static pid_t main_tid;
static uintptr_t stack_hi;      /* top of the main thread's stack (FP walk) */
static uintptr_t entry_pc;      /* AT_ENTRY: the executable's _start */
static timer_t timer;
static volatile int timer_is_posix;
static struct itimerspec period; /* one shot of 1/SW_PROFILE_HZ */
static uint64_t tsc0, mono0;

static void *pcs[MAXF];
static uint32_t times[MAXT];    /* TSC ticks per sample (saturated) */
static int twice;
static uint32_t times2[MAXT];   /* SW_PROFILE_TWICE: the second walk's */
static uint64_t sum2_ticks;
static uint64_t n_samples, n_other_thread, sum_ticks, first_ticks, sum_depth, sum_depth2;
static uint64_t n_complete, n_ends_start, n_truncated, n_failed_first;
static struct { uintptr_t pc; uint64_t n; } lasts[NLAST];
static uint64_t n_last_other;
#ifdef PROF_SW
static uint64_t n_status[64];   /* by -status (0: OK, 1: END_OF_STACK) */
#endif

#ifdef PROF_NONGNU
static int (*p_init_local2)(unw_cursor_t *, unw_context_t *, int);
static int (*p_step)(unw_cursor_t *);
static int (*p_get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
#endif

static inline uint64_t tsc_begin(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static inline uint64_t tsc_end(void)
{
	unsigned aux;
	uint64_t t = __rdtscp(&aux);
	_mm_lfence();
	return t;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#ifdef PROF_GCC
struct gcc_walk {
	uintptr_t want;         /* the interrupted PC */
	int started, skipped, n;
};

static _Unwind_Reason_Code gcc_cb(struct _Unwind_Context *c, void *arg)
{
	struct gcc_walk *w = arg;
	int before = 0;
	uintptr_t ip = _Unwind_GetIPInfo(c, &before);

	if (ip == 0 && w->started)
		return _URC_NO_REASON;  /* the caller of _start: no frame */
	if (!w->started) {
		/* the handler's frames and the signal trampoline */
		if (ip != w->want)
			return ++w->skipped > 16 ? _URC_NORMAL_STOP : _URC_NO_REASON;
		w->started = 1;
	}
	if (w->n >= MAXF)
		return _URC_NORMAL_STOP;
	pcs[w->n++] = (void *)ip;
	return _URC_NO_REASON;
}
#endif

/* unwind from uc into pcs; *complete = reached the stack's end */
static int walk(ucontext_t *uc, int *complete, int *truncated)
{
	*complete = 0;
	*truncated = 0;
#if defined(PROF_SW)
	int st = 0;
	int n = sw_backtrace_ucontext2(uc, pcs, MAXF, &st);
	*complete = st == SW_END_OF_STACK;
	*truncated = st == SW_ETOODEEP;
	if (st <= 1 && -st < 64)
		n_status[st == 1 ? 1 : -st]++;
	return n < 0 ? 0 : n;
#elif defined(PROF_NONGNU)
	unw_cursor_t cur;
	unw_word_t ip;
	int n = 0, r;

	if (p_init_local2(&cur, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0)
		return 0;
	do {
		if (n >= MAXF) {
			*truncated = 1;
			return n;
		}
		p_get_reg(&cur, UNW_REG_IP, &ip);
		pcs[n++] = (void *)ip;
	} while ((r = p_step(&cur)) > 0);
	*complete = r == 0;
	return n;
#elif defined(PROF_GCC)
	struct gcc_walk w = { .want = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] };
	_Unwind_Reason_Code r = _Unwind_Backtrace(gcc_cb, &w);
	*complete = w.started && r == _URC_END_OF_STACK;
	*truncated = w.n >= MAXF;
	return w.n;
#elif defined(PROF_FP)
	uintptr_t lo = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	uintptr_t bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	int n = 0;

	pcs[n++] = (void *)(uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	while (n < MAXF) {
		if (bp < lo || bp > stack_hi - 16 || (bp & 7))
			return n;
		const uintptr_t *f = (const uintptr_t *)bp;
		uintptr_t next = f[0], ra = f[1];
		if (ra == 0)
			return n;
		pcs[n++] = (void *)ra;
		if (next == 0) {
			*complete = 1;
			return n;
		}
		if (next <= bp)
			return n;
		bp = next;
	}
	*truncated = 1;
	return n;
#endif
}

static void on_prof(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	int complete, truncated;

	(void)sig;
	(void)si;
	if (gettid() != main_tid) {
		n_other_thread++;
		errno = saved;
		return;
	}
	uint64_t t0 = tsc_begin();
	int n = walk(ucv, &complete, &truncated);
	uint64_t t = tsc_end() - t0;

	if (n_samples == 0)
		first_ticks = t;
	if (n_samples < MAXT)
		times[n_samples] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	n_samples++;
	sum_ticks += t;
	sum_depth += (uint64_t)n;
	sum_depth2 += (uint64_t)n * (uint64_t)n;
	n_complete += complete != 0;
	n_truncated += truncated != 0;
	n_failed_first += n == 0;
	if (twice) {
		int c2, t2;
		uint64_t u0 = tsc_begin();
		walk(ucv, &c2, &t2);
		uint64_t u = tsc_end() - u0;
		if (n_samples - 1 < MAXT)
			times2[n_samples - 1] = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
		sum2_ticks += u;
	}
	if (n > 0) {
		uintptr_t last = (uintptr_t)pcs[n - 1];
		int i;

		/* _start is a few dozen bytes from the entry point */
		n_ends_start += last > entry_pc && last < entry_pc + 0x40;
		for (i = 0; i < NLAST; i++) {
			if (lasts[i].pc == last || lasts[i].n == 0) {
				lasts[i].pc = last;
				lasts[i].n++;
				break;
			}
		}
		n_last_other += i == NLAST;
	}
	/* one-shot timer re-armed here: the program runs a whole period
	 * between two samples however long the walk took, so a slow unwinder
	 * does not sample the same (deep) stack back to back */
	if (timer_is_posix)
		timer_settime(timer, 0, &period, NULL);
	errno = saved;
}

__attribute__((constructor)) static void prof_start(void)
{
	const char *out = getenv("SW_PROFILE_OUT");
	const char *want = getenv("SW_PROFILE_UNWINDER");
	const char *hz_s = getenv("SW_PROFILE_HZ");
	const char *mode = getenv("SW_PROFILE_TIMER");
	long hz = hz_s ? strtol(hz_s, NULL, 10) : 1000;

	if (!out || !*out)
		return;
	if (want && *want && strcmp(want, UNWINDER) != 0) {
		fprintf(stderr, "profile_sampler: SW_PROFILE_UNWINDER=%s but this object is the %s sampler; "
			"not sampling\n", want, UNWINDER);
		return;
	}
	if (hz < 2 || hz > 100000)
		hz = 1000;
	main_tid = gettid();
	twice = getenv("SW_PROFILE_TWICE") && atoi(getenv("SW_PROFILE_TWICE")) > 0;
	entry_pc = (uintptr_t)getauxval(AT_ENTRY);

	pthread_attr_t a;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		if (pthread_attr_getstack(&a, &addr, &size) == 0)
			stack_hi = (uintptr_t)addr + size;
		pthread_attr_destroy(&a);
	}
#if defined(PROF_SW)
	sw_init();
#elif defined(PROF_NONGNU)
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	int (*p_policy)(unw_addr_space_t, unw_caching_policy_t);
	unw_addr_space_t *p_as;

	if (!h) {
		fprintf(stderr, "profile_sampler: %s (libunwind8)\n", dlerror());
		return;
	}
	/* (through void **: ISO C has no object-to-function pointer cast) */
	*(void **)&p_init_local2 = dlsym(h, "_ULx86_64_init_local2");
	*(void **)&p_step = dlsym(h, "_ULx86_64_step");
	*(void **)&p_get_reg = dlsym(h, "_ULx86_64_get_reg");
	*(void **)&p_policy = dlsym(h, "_ULx86_64_set_caching_policy");
	p_as = (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space");
	if (!p_init_local2 || !p_step || !p_get_reg || !p_policy || !p_as) {
		fprintf(stderr, "profile_sampler: libunwind.so.8 lacks unw_init_local2/unw_step/...\n");
		return;
	}
	/* the cache its documentation names for signal handlers (the
	 * default, global one takes a lock); SW_PROFILE_NONGNU_CACHE=global
	 * or none to compare */
	const char *cache = getenv("SW_PROFILE_NONGNU_CACHE");
	p_policy(*p_as, !cache || !strcmp(cache, "per_thread") ? UNW_CACHE_PER_THREAD
			: !strcmp(cache, "global") ? UNW_CACHE_GLOBAL : UNW_CACHE_NONE);
#endif
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_prof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPROF, &sa, NULL) != 0) {
		perror("profile_sampler: sigaction");
		return;
	}
	long period_ns = 1000000000L / hz;
	tsc0 = tsc_begin();
	mono0 = mono_ns();
	if (mode && strcmp(mode, "cpu") == 0) {
		struct itimerval it = {
			.it_interval = { 0, period_ns / 1000 },
			.it_value = { 0, period_ns / 1000 },
		};
		if (setitimer(ITIMER_PROF, &it, NULL) != 0) {
			perror("profile_sampler: setitimer");
			return;
		}
	} else {
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGPROF;
		sev._sigev_un._tid = main_tid;   /* sigev_notify_thread_id */
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
			perror("profile_sampler: timer_create");
			return;
		}
		period.it_value.tv_nsec = period_ns;
		timer_is_posix = 1;
		if (timer_settime(timer, 0, &period, NULL) != 0) {
			perror("profile_sampler: timer_settime");
			return;
		}
	}
	active = 1;
}

/* snprintf at line[*len], *len kept inside the buffer (output cut) */
__attribute__((format(printf, 3, 4)))
static void append(char *line, int *len, const char *fmt, ...)
{
	va_list ap;
	size_t room = LINE - 2 - (size_t)*len;   /* and the newline */

	va_start(ap, fmt);
	int n = vsnprintf(line + *len, room + 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n > room ? (int)room : n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

__attribute__((destructor)) static void prof_stop(void)
{
	if (!active)
		return;
	active = 0;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGPROF);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	if (timer_is_posix) {
		timer_is_posix = 0;
		timer_delete(timer);
	} else {
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_PROF, &off, NULL);
	}

	uint64_t tsc1 = tsc_end(), mono1 = mono_ns();
	double ns_per_tick = tsc1 > tsc0 ? (double)(mono1 - mono0) / (double)(tsc1 - tsc0) : 0;
	uint64_t kept = n_samples < MAXT ? n_samples : MAXT;
	double median = 0, p90 = 0, p99 = 0, min = 0;
	if (kept > 0) {
		qsort(times, kept, sizeof times[0], cmp_u32);
		min = times[0] * ns_per_tick;
		median = times[kept / 2] * ns_per_tick;
		p90 = times[kept * 9 / 10] * ns_per_tick;
		p99 = times[kept * 99 / 100] * ns_per_tick;
	}
	double ns = n_samples ? (double)sum_ticks * ns_per_tick / (double)n_samples : 0;
	/* the mean without the first sample (the cold start is reported apart) */
	double ns_after_first = n_samples > 1 ?
		(double)(sum_ticks - first_ticks) * ns_per_tick / (double)(n_samples - 1) : 0;
	double depth = n_samples ? (double)sum_depth / (double)n_samples : 0;
	double depth2 = n_samples ? (double)sum_depth2 / (double)n_samples : 0;
	double pct = n_samples ? 100.0 * (double)n_complete / (double)n_samples : 0;
	double pct_start = n_samples ? 100.0 * (double)n_ends_start / (double)n_samples : 0;

	char line[LINE];
	int len = 0;
	append(line, &len,
		"unwinder=%s pid=%d samples=%llu other_thread=%llu wall_ms=%.1f mean_ns=%.1f "
		"mean_after_first_ns=%.1f median_ns=%.1f min_ns=%.1f p90_ns=%.1f p99_ns=%.1f "
		"first_ns=%.1f depth=%.2f depth_sq=%.1f complete_pct=%.2f ends_start_pct=%.2f truncated=%llu "
		"empty=%llu ghz=%.3f",
		UNWINDER, (int)getpid(), (unsigned long long)n_samples,
		(unsigned long long)n_other_thread, (double)(mono1 - mono0) / 1e6, ns, ns_after_first,
		median, min, p90, p99, (double)first_ticks * ns_per_tick, depth, depth2, pct, pct_start,
		(unsigned long long)n_truncated, (unsigned long long)n_failed_first,
		ns_per_tick > 0 ? 1.0 / ns_per_tick : 0);
#ifdef PROF_SW
	append(line, &len, " status=");
	for (int i = 0; i < 64 && len < (int)sizeof line - 64; i++) {
		if (!n_status[i])
			continue;
		int at = len;
		append(line, &len, "%s:%llu,",
				i == 1 ? "end" : i == 0 ? "ok" : sw_strerror(-i),
				(unsigned long long)n_status[i]);
		for (int j = at; j < len; j++)   /* one word */
			if (line[j] == ' ')
				line[j] = '_';
	}
#endif
	/* the outermost PCs, named (a cross-check of "complete") */
	append(line, &len, " lasts=");
	for (int i = 0; i < NLAST && lasts[i].n && len < (int)sizeof line - 200; i++) {
		Dl_info di;
		const char *mod = "?", *sym = "?";
		uintptr_t off = 0;

		if (dladdr((void *)lasts[i].pc, &di)) {
			mod = di.dli_fname ? strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1
								      : di.dli_fname : "?";
			if (di.dli_sname) {
				sym = di.dli_sname;
				off = lasts[i].pc - (uintptr_t)di.dli_saddr;
			} else {
				off = lasts[i].pc - (uintptr_t)di.dli_fbase;
			}
		}
		if (lasts[i].pc > entry_pc && lasts[i].pc < entry_pc + 0x40) {
			sym = "_start";
			off = lasts[i].pc - entry_pc;
		}
		append(line, &len, "%s%s:%s+0x%lx:%llu",
				i ? "," : "", *mod ? mod : "exe", sym, (unsigned long)off,
				(unsigned long long)lasts[i].n);
	}
	if (n_last_other)
		append(line, &len, ",others:%llu",
				(unsigned long long)n_last_other);
	if (twice && kept > 0) {
		qsort(times2, kept, sizeof times2[0], cmp_u32);
		append(line, &len, " hot_mean_ns=%.1f hot_median_ns=%.1f",
				(double)sum2_ticks * ns_per_tick / (double)n_samples,
				times2[kept / 2] * ns_per_tick);
	}
	line[len++] = '\n';

	int fd = open(getenv("SW_PROFILE_OUT"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)len) != len)
		perror("profile_sampler: writing SW_PROFILE_OUT");
	if (fd >= 0)
		close(fd);
}
