/*
 * async: a ~1 kHz-per-thread SIGPROF storm (one CLOCK_MONOTONIC timer per
 * thread, SIGEV_THREAD_ID) while the corpus (chains.c) runs in the main
 * thread and 2 workers.  The SA_SIGINFO handler walks the interrupted stack
 * three times, with sw_backtrace_ucontext, with an sw_init_ucontext/sw_step
 * cursor and with sw_backtrace, into static per-thread arrays (no
 * allocation, no locks, no stdio in the handler) and checks that
 *   - the walk reached main (main thread) or worker (the workers): some PC
 *     lies in the function's [start, end) from sw_get_proc_info at startup;
 *   - the cursor walk ends with SW_END_OF_STACK (not an error) and records
 *     exactly the PCs sw_backtrace_ucontext did, first one the interrupted PC;
 *   - the trace is not truncated (fewer than MAXF frames);
 *   - sw_backtrace called in the handler gives the handler's frame, the
 *     restorer (sa_restorer), then exactly the same PCs.
 * Every round each thread also raises SIGUSR1, whose handler runs the
 * async-signal-safe chains: samples there cross a signal frame.  The
 * corpus includes clock_gettime (vDSO) and system-call loops.
 *
 * Not a failure: a walk that stops with SW_ENOTFOUND at a PC for which
 * libgcc finds no FDE either -- the crt code without CFI (_init,
 * frame_dummy, register_tm_clones, __do_global_dtors_aux) that dlopen and
 * dlclose run; those samples are counted and listed apart.
 *
 *   async DL_PATH SAMPLES [altstack]
 *
 * runs until SAMPLES samples were taken; "altstack" runs the SIGPROF handler
 * (the walks) on a per-thread 16 KiB sigaltstack, the size a crash handler
 * may have (SIGUSR1's handler runs the test's own deep chains on the
 * thread's stack, and SIGPROF samples taken inside it walk from the
 * alternate stack across the signal frame into it).
 *
 * The work is bounded by the sample count, not by time, and the run makes
 * progress at any machine speed: the timers count wall-clock time, so on a
 * loaded machine (or with the slow handler walks of the sigaltstack runs)
 * a handler could take longer than the timer period and a thread would do
 * nothing but take samples, never getting back to the loop that counts
 * them.  So a thread takes a sample only after it ran at least
 * MIN_PROGRESS_NS of its own processor time outside the handler since its
 * last one (CLOCK_THREAD_CPUTIME_ID); other signals return at once and
 * are counted as skipped.  A slow machine just takes longer (the driving
 * script's limit is generous); SIGTERM (the limit being hit) stops the run
 * early: the report then says how far it got, and the run fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "chains.h"
#include "common.h"

#define MAXF 512
#define NWORKERS 2
#define NSLOTS (NWORKERS + 1)

struct range {
	uint64_t lo, hi;
};

static struct range main_range, worker_range;
static __thread int slot = -1;            /* 0: main, 1..NWORKERS: workers */
static void *bt[NSLOTS][MAXF];            /* the handler's buffers, one per thread */
static void *bt_self[NSLOTS][MAXF + 2];   /* sw_backtrace from inside the handler */
static uint64_t restorer;                 /* SIGPROF's sa_restorer */
static int use_altstack;
static volatile int stop;
static volatile sig_atomic_t terminated;  /* SIGTERM: a time limit was hit */

/* counters, updated with atomics from the handler */
static unsigned long samples, samples_per_slot[NSLOTS];
static unsigned long f_error[32];         /* sw_backtrace_ucontext < 0, by -code */
static unsigned long f_noroot;            /* main / worker not in the trace */
static unsigned long f_truncated;         /* MAXF frames or more */
static unsigned long f_cursor_end[32];    /* cursor walk ended with an error, by -code */
static unsigned long f_cursor_diff;       /* cursor PCs differ from the backtrace */
static unsigned long f_other;             /* no slot, init failed */
static unsigned long f_self;              /* sw_backtrace in the handler != [handler, restorer, trace] */
/* not failures: the walk stopped with SW_ENOTFOUND at a frame whose PC has
 * no FDE for libgcc either (crt code: _init, frame_dummy, register_tm_clones,
 * __do_global_dtors_aux, _fini -- run by dlopen/dlclose) */
#define NOCFI_MAX 16
static unsigned long k_nocfi;
static uint64_t nocfi_pcs[NOCFI_MAX];
static unsigned long nocfi_count[NOCFI_MAX];
static unsigned long max_depth;
static unsigned long in_handler;          /* walks that crossed a second signal frame */
static unsigned long in_vdso;             /* samples interrupted in the vDSO */
static struct range vdso_range;
/* the first failing trace, for the report (written once, by CAS) */
static int first_fail_claimed;
static void *first_fail[MAXF];
static int first_fail_n, first_fail_rc, first_fail_slot;

#define INC(x) __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

#define MIN_PROGRESS_NS 300000
static __thread uint64_t handler_left_ns;   /* thread CPU time when a sample ended */
static unsigned long skipped;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);   /* async-signal-safe */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* libgcc's FDE lookup (exported by libgcc_s; through _dl_find_object, no
 * locks while no frame tables are registered) */
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

/* Count a stop at a CFI-less PC; false if the PC has an FDE after all. */
static bool stopped_without_cfi(const sw_cursor_t *cur)
{
	struct dwarf_eh_bases bases;
	uint64_t ip = sw_get_ip(cur);
	uint64_t pc = sw_is_signal_frame(cur) ? ip : ip - 1;

	if (_Unwind_Find_FDE((void *)(uintptr_t)pc, &bases) != NULL)
		return false;
	INC(k_nocfi);
	for (int i = 0; i < NOCFI_MAX; i++) {
		uint64_t expected = 0;
		if (__atomic_load_n(&nocfi_pcs[i], __ATOMIC_RELAXED) == ip ||
		    __atomic_compare_exchange_n(&nocfi_pcs[i], &expected, ip, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED) ||
		    expected == ip) {
			INC(nocfi_count[i]);
			break;
		}
	}
	return true;
}

static void record_failure(void **pcs, int n, int rc)
{
	int expected = 0;

	if (!__atomic_compare_exchange_n(&first_fail_claimed, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	for (int i = 0; i < n && i < MAXF; i++)
		first_fail[i] = pcs[i];
	first_fail_n = n;
	first_fail_rc = rc;
	first_fail_slot = slot;
	__atomic_store_n(&first_fail_claimed, 2, __ATOMIC_RELEASE);
}

static void on_prof(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	int s = slot;
	(void)sig;
	(void)si;

	if (s < 0 || s >= NSLOTS) {
		INC(f_other);
		goto out;
	}
	if (thread_cpu_ns() - handler_left_ns < MIN_PROGRESS_NS) {
		INC(skipped);   /* the thread has barely run since its last sample */
		errno = saved_errno;
		return;
	}
	void **pcs = bt[s];
	int n = sw_backtrace_ucontext(uc, pcs, MAXF);
	INC(samples);
	INC(samples_per_slot[s]);
	if (n <= 0) {
		INC(f_error[(-n) & 31]);
		record_failure(pcs, 0, n);
		goto out;
	}
	if ((uint64_t)(uintptr_t)pcs[0] >= vdso_range.lo && (uint64_t)(uintptr_t)pcs[0] < vdso_range.hi)
		INC(in_vdso);
	if ((unsigned long)n > __atomic_load_n(&max_depth, __ATOMIC_RELAXED))
		__atomic_store_n(&max_depth, (unsigned long)n, __ATOMIC_RELAXED);
	if (n >= MAXF) {
		INC(f_truncated);
		record_failure(pcs, n, 0);
		goto out;
	}
	const struct range *r = s == 0 ? &main_range : &worker_range;
	bool found = false;
	for (int i = 0; i < n && !found; i++)
		found = (uint64_t)(uintptr_t)pcs[i] >= r->lo && (uint64_t)(uintptr_t)pcs[i] < r->hi;

	/* the same walk through the cursor API */
	sw_cursor_t cur;
	int k = 0, rc = sw_init_ucontext(&cur, uc);
	if (rc != 0) {
		INC(f_other);
		goto out;
	}
	bool same = sw_get_ip(&cur) == (uint64_t)(uintptr_t)pcs[0] && sw_is_signal_frame(&cur) == 1;
	k = 1;
	bool nested = false;
	while ((rc = sw_step(&cur)) == 0 && k < MAXF) {
		if (k >= n || sw_get_ip(&cur) != (uint64_t)(uintptr_t)pcs[k])
			same = false;
		if (sw_is_signal_frame(&cur))
			nested = true;
		k++;
	}
	if (nested)
		INC(in_handler);
	/* sw_backtrace from the handler itself: its caller is the restorer,
	 * then the interrupted frame and the same PCs */
	void **self = bt_self[s];
	int m = sw_backtrace(self, MAXF + 2);
	bool self_ok = m == n + 2 && (uint64_t)(uintptr_t)self[1] == restorer;
	for (int i = 0; self_ok && i < n; i++)
		self_ok = self[i + 2] == pcs[i];
	if (!self_ok) {
		INC(f_self);
		record_failure(self, m > 0 ? m : 0, m < 0 ? m : 0);
	}

	if (!same || k != n) {
		INC(f_cursor_diff);
		record_failure(pcs, n, rc);
	} else if (rc == SW_ENOTFOUND && !found && stopped_without_cfi(&cur)) {
		/* a known limit, counted apart */
	} else if (rc != SW_END_OF_STACK) {
		INC(f_cursor_end[(-rc) & 31]);
		record_failure(pcs, n, rc);
	} else if (!found) {
		INC(f_noroot);
		record_failure(pcs, n, rc);
	}
out:
	handler_left_ns = thread_cpu_ns();
	errno = saved_errno;
}

/* The procedure containing the caller's return address: the caller's range. */
NOINLINE static struct range caller_range(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	struct sw_proc_info pi;
	struct range r = { 0, 0 };

	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) != 0 || sw_step(&cur) != 0 || sw_get_proc_info(&cur, &pi) != 0)
		return r;
	r.lo = pi.start;
	r.hi = pi.end;
	return r;
}

/* The vDSO's executable segment (the module whose dlpi_name is linux-vdso.so.1). */
static int find_vdso(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "vdso"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			vdso_range.lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			vdso_range.hi = vdso_range.lo + info->dlpi_phdr[i].p_memsz;
			return 1;
		}
	return 0;
}

static timer_t start_timer(void)
{
	struct sigevent sev;
	struct itimerspec its;
	timer_t t;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGPROF;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);   /* sigev_notify_thread_id */
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) {
		perror("timer_create");
		exit(2);
	}
	its.it_interval.tv_sec = 0;
	its.it_interval.tv_nsec = 1000000;     /* 1 kHz */
	its.it_value = its.it_interval;
	if (timer_settime(t, 0, &its, NULL) != 0) {
		perror("timer_settime");
		exit(2);
	}
	return t;
}

static void *altstack_on(void)
{
	stack_t ss;
	size_t size = 16 * 1024;
	void *mem = malloc(size);

	if (!mem)
		abort();
	ss.ss_sp = mem;
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(2);
	}
	return mem;
}

static void altstack_off(void *mem)
{
	stack_t ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(mem);
}

/* SIGUSR1, raised by every thread now and then: its handler runs the
 * async-signal-safe chains, so samples also land in a signal handler and
 * their walks cross a signal frame on the way to main / worker. */
static const int handler_chains[] = { CH_RECURSE, CH_ALLOCA, CH_REALIGN, CH_PRESSURE, CH_SO,
				      CH_TAIL, CH_FNPTR, CH_SYSCALL };
static unsigned long usr1_runs;

static void on_usr1(int signo)
{
	int saved_errno = errno;
	(void)signo;
	for (unsigned i = 0; i < sizeof(handler_chains) / sizeof(handler_chains[0]); i++)
		chain_run(handler_chains[i]);
	INC(usr1_runs);
	errno = saved_errno;
}

static void run_round(void)
{
	chain_run_all();
	raise(SIGUSR1);
}

static const char *dl_path;

static void on_term(int signo)
{
	(void)signo;
	terminated = 1;
}

static void *worker(void *arg)
{
	void *alt = NULL;

	chain_dl_path = dl_path;
	if (use_altstack)
		alt = altstack_on();
	slot = (int)(intptr_t)arg;
	timer_t t = start_timer();
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		run_round();
	timer_delete(t);
	slot = -1;
	if (alt)
		altstack_off(alt);
	return NULL;
}

static volatile int burn;

void chain_point(int id)
{
	for (int i = 0; i < 20 + id; i++)
		burn++;
}

int main(int argc, char **argv)
{
	pthread_t th[NWORKERS];
	struct sigaction sa;
	unsigned long target;
	void *alt = NULL;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DL_PATH SAMPLES [altstack]\n", argv[0]);
		return 2;
	}
	dl_path = argv[1];
	chain_dl_path = dl_path;
	target = strtoul(argv[2], NULL, 10);
	use_altstack = argc > 3 && strcmp(argv[3], "altstack") == 0;

	sw_init();
	chains_init();
	dl_iterate_phdr(find_vdso, NULL);
	main_range = caller_range();
	CHECK(main_range.lo <= (uint64_t)(uintptr_t)main && (uint64_t)(uintptr_t)main < main_range.hi,
	      "main's range [0x%" PRIx64 ", 0x%" PRIx64 ") from sw_get_proc_info contains main",
	      main_range.lo, main_range.hi);
	worker_range.lo = 0;
	worker_range.hi = 0;
	{
		/* worker's range: sw_get_proc_info of a PC inside it */
		sw_cursor_t cur;
		sw_context_t ctx;
		struct sw_proc_info pi;
		sw_getcontext(&ctx);
		sw_init_local(&cur, &ctx);
		/* point the cursor's IP into worker (a return-address-style IP,
		 * one past the PC looked up) */
		sw_set_reg(&cur, SW_REG_IP, (uint64_t)(uintptr_t)worker + 1);
		CHECK_EQ(sw_get_proc_info(&cur, &pi), 0, "sw_get_proc_info(worker)");
		CHECK_EQ(pi.start, (uint64_t)(uintptr_t)worker, "worker's FDE starts at worker");
		worker_range.lo = pi.start;
		worker_range.hi = pi.end;
	}
	printf("async: main at [0x%" PRIx64 ", 0x%" PRIx64 "), worker at [0x%" PRIx64 ", 0x%" PRIx64
	       ")%s\n", main_range.lo, main_range.hi, worker_range.lo, worker_range.hi,
	       use_altstack ? ", SIGPROF on 16 KiB sigaltstacks" : "");

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_prof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | (use_altstack ? SA_ONSTACK : 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
	{
		struct sigaction old;
		sigaction(SIGPROF, NULL, &old);
		restorer = (uint64_t)(uintptr_t)old.sa_restorer;
	}
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);

	if (use_altstack)
		alt = altstack_on();
	slot = 0;
	timer_t t = start_timer();
	for (int i = 0; i < NWORKERS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 1)) != 0) {
			perror("pthread_create");
			return 2;
		}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&samples, __ATOMIC_RELAXED) < target && !terminated)
		run_round();
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	timer_delete(t);
	slot = -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (alt)
		altstack_off(alt);

	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (terminated)
		printf("async: stopped by SIGTERM (a time limit) after %lu of %lu samples in %.1f s\n",
		       samples, target, secs);
	unsigned long failures = f_noroot + f_truncated + f_cursor_diff + f_other + f_self;
	for (int i = 0; i < 32; i++)
		failures += f_error[i] + f_cursor_end[i];
	printf("async: %lu samples in %.1f s (main %lu, workers %lu + %lu), deepest %lu frames, "
	       "%lu failures\n", samples, secs, samples_per_slot[0], samples_per_slot[1],
	       samples_per_slot[2], max_depth, failures);
	printf("async: %lu samples inside the SIGUSR1 handler (%lu runs of it), %lu in the vDSO; "
	       "%lu signals skipped (less than %d us of progress since the last sample)\n",
	       in_handler, usr1_runs, in_vdso, skipped, MIN_PROGRESS_NS / 1000);
	for (int i = 1; i < 32; i++) {
		if (f_error[i])
			printf("async:   sw_backtrace_ucontext failed with %s: %lu\n", sw_strerror(-i),
			       f_error[i]);
		if (f_cursor_end[i])
			printf("async:   cursor walk ended with %s: %lu\n", sw_strerror(-i),
			       f_cursor_end[i]);
	}
	if (f_noroot)
		printf("async:   %s not in the trace: %lu\n", "main/worker", f_noroot);
	if (f_truncated)
		printf("async:   truncated at %d frames: %lu\n", MAXF, f_truncated);
	if (f_cursor_diff)
		printf("async:   cursor walk differs from sw_backtrace_ucontext: %lu\n", f_cursor_diff);
	if (f_other)
		printf("async:   signal on an unregistered thread or init failure: %lu\n", f_other);
	if (f_self)
		printf("async:   sw_backtrace inside the handler differs from [handler, restorer, trace]: "
		       "%lu\n", f_self);
	if (k_nocfi)
		printf("async: %lu samples stopped with SW_ENOTFOUND at code without CFI (libgcc has "
		       "no FDE there either; not counted as failures):\n", k_nocfi);
	for (int i = 0; i < NOCFI_MAX && nocfi_pcs[i]; i++) {
		Dl_info di;
		if (dladdr((void *)(uintptr_t)nocfi_pcs[i], &di) && di.dli_fname)
			printf("async:   %#" PRIx64 " %s+%#" PRIx64 " (%s): %lu\n", nocfi_pcs[i],
			       di.dli_sname ? di.dli_sname : "?",
			       nocfi_pcs[i] - (uint64_t)(uintptr_t)(di.dli_saddr ? di.dli_saddr : di.dli_fbase),
			       di.dli_fname, nocfi_count[i]);
		else
			printf("async:   %#" PRIx64 " (module since unloaded): %lu\n", nocfi_pcs[i],
			       nocfi_count[i]);
	}
	if (__atomic_load_n(&first_fail_claimed, __ATOMIC_ACQUIRE) == 2) {
		printf("async: first failing sample (thread slot %d, status %s), %d frames:\n",
		       first_fail_slot, t_status(first_fail_rc), first_fail_n);
		for (int i = 0; i < first_fail_n && i < 40; i++)
			printf("async:   %2d %p\n", i, first_fail[i]);
	}
	CHECK(samples >= target, "%lu samples, wanted %lu", samples, target);
	CHECK(samples_per_slot[0] > 0 && samples_per_slot[1] > 0 && samples_per_slot[2] > 0,
	      "every thread was sampled");
	CHECK_EQ(failures, 0, "failed samples");
	return t_finish("async");
}
