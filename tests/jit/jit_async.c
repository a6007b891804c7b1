/*
 * jit_async: asynchronous unwinding out of registered JIT code, at every
 * instruction.
 *
 * Two chains main -> run_chain (C) -> jit_enter (asm) -> jit_f0 -> ... ->
 * jit_f11 (generated, the 12 shapes of emit_shape, jit_f11 a leaf), one
 * with short countdown loops (single-stepping), one with long ones (the
 * storm).  For every registration form (eh_frame, add_procs x 3 kinds,
 * table x 3 kinds, callback x 3 kinds):
 *
 *   step   jit_enter sets EFLAGS.TF before calling the chain: SIGTRAP after
 *          every instruction.  Whenever the interrupted RIP is in generated
 *          code, the handler walks with sw_init_ucontext + sw_step and
 *          checks every frame (check_walk): the interrupted function, each
 *          JIT caller at its exact return address with SW_SRC_JIT info, its
 *          name and lookup, the callee-saved registers each caller holds
 *          (the tags its body wrote, or jit_enter's values), jit_enter with
 *          its loaded registers, run_chain with its real callee-saved
 *          registers (stored by jit_enter), main, SW_END_OF_STACK; and
 *          sw_backtrace_ucontext gives the same PCs.  Both arguments are
 *          run (even: first epilogues, odd: second epilogues), and every
 *          function's first instruction, body and each epilogue's first and
 *          last instruction must have been trapped at.
 *   storm  a SIGPROF storm while the chain with long loops runs: the same
 *          checks on every sample taken in generated code.  The timer is a
 *          10 kHz CLOCK_MONOTONIC timer_create timer aimed at the thread, as
 *          in tests/unwind/async.c (setitimer's ITIMER_PROF only fires at the
 *          scheduler tick, 250 Hz here: too slow for thousands of samples).
 *   control  the same stepping with a wrong description (procs-frame
 *          without the epilogues listed) must fail at the epilogues: the
 *          checks can see an inexact description.
 *
 *   jit_async [STORM_SAMPLES_PER_FORM]     (default 10000, quick: 1000)
 *
 * The storm's work is bounded by the sample count, not by time, and makes
 * progress at any machine speed (as in tests/unwind/async.c): the timer
 * counts wall-clock time, so on a loaded machine a handler could outlast
 * the period and the thread would only take samples.  A SIGPROF takes a
 * sample only after the thread ran MIN_PROGRESS_NS of its own processor
 * time outside the handler since the last one; other SIGPROFs return at
 * once and are counted as skipped.  SIGTERM (the driving script's limit)
 * stops the storm with a report of how far it got, and the run fails.
 */
#include "jit_common.c"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <ucontext.h>

#define NFNS 12
#define MAXF 64
#define MAX_CODE 1024

struct chain {
	struct emit_buf code;
	struct emit_fn fns[NFNS];
	struct walk_expect expect;
	uint64_t entry[NCALLEE], caller[NCALLEE];
	uint64_t lo, hi;
};

int main(int argc, char **argv);

static struct chain step_chain, storm_chain;
static struct chain *volatile active;   /* the chain the handlers check */

/* per form, updated by the handlers */
static unsigned long in_jit, outside, failures, bt_failures;
static unsigned char seen[NFNS][MAX_CODE];   /* trapped code offsets */
static int fail_claimed;
static struct walk_fail first_fail;
static uint64_t first_fail_rip;
static int first_fail_fn;
static unsigned long max_depth;
/* the control run: walks go wrong on purpose; only check_walk runs (it
 * stops at the first wrong frame and never steps from it: a step from a
 * bogus frame reads bogus memory, which ASan reports -- see FINDINGS.md) */
static volatile int control_mode;

#define INC(x) __atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

#define MIN_PROGRESS_NS 50000
static uint64_t handler_left_ns;   /* thread CPU time when the last sample ended */
static unsigned long skipped;
static volatile sig_atomic_t terminated;   /* SIGTERM: a time limit was hit */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);   /* async-signal-safe */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void check_sample(const ucontext_t *uc)
{
	struct chain *ch = active;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	int k = -1;

	if (!ch || rip < ch->lo || rip >= ch->hi) {
		INC(outside);
		return;
	}
	for (int i = 0; i < NFNS; i++)
		if (rip >= ch->fns[i].start && rip < ch->fns[i].end)
			k = i;
	if (k < 0) {   /* alignment padding between functions: not executed */
		INC(outside);
		return;
	}
	INC(in_jit);
	if (rip - ch->fns[k].start < MAX_CODE)
		seen[k][rip - ch->fns[k].start] = 1;

	sw_cursor_t c;
	struct walk_fail f;
	bool ok = sw_init_ucontext(&c, uc) == 0 && sw_get_ip(&c) == rip &&
		  sw_is_signal_frame(&c) == 1;
	if (ok) {
		ok = check_walk(&c, &ch->expect, k, true, &f);
	} else {
		memset(&f, 0, sizeof(f));
		f.what = W_IP;
		f.got = sw_get_ip(&c);
		f.want = rip;
	}
	if (!ok) {
		INC(failures);
		int expected = 0;
		if (__atomic_compare_exchange_n(&fail_claimed, &expected, 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			first_fail = f;
			first_fail_rip = rip;
			first_fail_fn = k;
		}
	}

	if (control_mode)
		return;
	/* sw_backtrace_ucontext: the interrupted PC, then the return addresses */
	void *pcs[MAXF];
	int n = sw_backtrace_ucontext(uc, pcs, MAXF);
	bool bt_ok = n >= k + 4 && (uint64_t)(uintptr_t)pcs[0] == rip;
	for (int j = k - 1, i = 1; bt_ok && j >= 0; j--, i++)
		bt_ok = (uint64_t)(uintptr_t)pcs[i] == ch->fns[j].start + ch->fns[j].call_ret;
	if (bt_ok)
		bt_ok = (uint64_t)(uintptr_t)pcs[k + 1] == (uintptr_t)jit_enter_ret;
	if (!bt_ok)
		INC(bt_failures);
	if (n > 0 && (unsigned long)n > max_depth)
		max_depth = (unsigned long)n;
}

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	int saved_errno = errno;
	(void)si;
	if (sig == SIGPROF && thread_cpu_ns() - handler_left_ns < MIN_PROGRESS_NS) {
		INC(skipped);   /* the thread has barely run since the last sample */
		errno = saved_errno;
		return;
	}
	check_sample(ucv);
	if (sig == SIGPROF)
		handler_left_ns = thread_cpu_ns();
	errno = saved_errno;
}

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

/* The driver (its callee-saved registers are checked in every walk). */
NOINLINE static uint64_t run_chain(struct chain *ch, uint64_t arg, int trap)
{
	uint64_t r = jit_enter(ch->fns[0].start, arg, ch->entry, (uint64_t)trap, ch->caller);
	__asm__ volatile("" ::: "memory");   /* not a tail call */
	return r;
}

static int make_chain(struct chain *ch, uint32_t spin, uint64_t salt)
{
	if (emit_buf_init(&ch->code, 1 << 20, 0) != 0 ||
	    emit_chain(&ch->code, ch->fns, NFNS, 0, spin) != 0)
		return -1;
	for (int i = 0; i < NFNS; i++)
		if (ch->fns[i].end - ch->fns[i].start > MAX_CODE)
			return -1;
	ch->lo = (uint64_t)(uintptr_t)ch->code.base;
	ch->hi = ch->lo + ch->code.used;
	driver_values(ch->entry, salt);
	ch->expect.fns = ch->fns;
	ch->expect.entry = ch->entry;
	ch->expect.caller = ch->caller;
	ch->expect.driver = (uint64_t)(uintptr_t)run_chain;
	ch->expect.main_fn = (uint64_t)(uintptr_t)main;
	return 0;
}

static void reset_counters(void)
{
	in_jit = outside = failures = bt_failures = 0;
	fail_claimed = 0;
	memset(seen, 0, sizeof(seen));
}

static void report_failures(const char *what, int form, struct chain *ch)
{
	CHECK_EQ(failures, 0, "[%s] %s: walks that failed", form_names[form], what);
	CHECK_EQ(bt_failures, 0, "[%s] %s: sw_backtrace_ucontext mismatches", form_names[form], what);
	if (fail_claimed) {
		const struct emit_fn *fn = &ch->fns[first_fail_fn];
		printf("  first failure: %s+%#" PRIx64 " (%s: fp %d, %u saved, frame %u)\n", fn->name,
		       first_fail_rip - fn->start, fn->name, fn->spec.fp, fn->spec.nsaved,
		       fn->spec.frame_size);
		walk_print("  ", &first_fail);
	}
}

static void step_form(int form)
{
	struct chain *ch = &step_chain;
	struct regset rs = { .fns = ch->fns, .n = NFNS, .form = form };
	int rc = regset_add(&rs, true);

	CHECK_EQ(rc, 0, "[%s] registration: %s", form_names[form], t_status(rc));
	if (rc != 0)
		return;
	reset_counters();
	ch->expect.jform = form_jit_form(form);
	active = ch;
	for (uint64_t arg = 10; arg < 12; arg++)
		CHECK_EQ(run_chain(ch, arg, 1), arg, "[%s] the chain's result", form_names[form]);
	active = NULL;
	unsigned long distinct = 0;
	for (int i = 0; i < NFNS; i++) {
		const struct emit_fn *fn = &ch->fns[i];
		for (int o = 0; o < MAX_CODE; o++)
			distinct += seen[i][o];
		CHECK(seen[i][0] && seen[i][fn->body], "[%s] %s: entry and body stepped",
		      form_names[form], fn->name);
		for (uint32_t e = 0; e < fn->nepilogues; e++)
			CHECK(seen[i][fn->epilogue_start[e]] && seen[i][fn->epilogues[e]],
			      "[%s] %s: epilogue %u stepped", form_names[form], fn->name, e + 1);
	}
	printf("jit_async: step  %-15s %6lu traps in JIT code at %4lu distinct instructions, "
	       "%lu failed\n", form_names[form], in_jit, distinct, failures);
	CHECK(in_jit > 200, "[%s] traps in JIT code: %lu", form_names[form], in_jit);
	report_failures("step", form, ch);
	CHECK_EQ(regset_remove(&rs), 0, "[%s] remove", form_names[form]);
}

/* A wrong description (no epilogues listed) must be caught at the epilogues. */
static void step_control(void)
{
	struct chain *ch = &step_chain;
	struct sw_jit_proc procs[NFNS];
	sw_jit_handle_t h;

	for (int i = 0; i < NFNS; i++) {
		emit_proc(&ch->fns[i], SW_JIT_UNWIND_FRAME, &procs[i]);
		procs[i].u.frame.nepilogues = 0;
	}
	int rc = sw_jit_add_procs(procs, NFNS, &h);
	CHECK_EQ(rc, 0, "[control] registration: %s", t_status(rc));
	if (rc != 0)
		return;
	reset_counters();
	ch->expect.jform = SW_JIT_FORM_EAGER;
	control_mode = 1;
	active = ch;
	for (uint64_t arg = 10; arg < 12; arg++)
		run_chain(ch, arg, 1);
	active = NULL;
	control_mode = 0;
	printf("jit_async: control (no epilogues described): %lu traps, %lu walks failed (as they "
	       "must)\n", in_jit, failures);
	CHECK(failures > 0, "[control] a description without epilogues is caught");
	CHECK_EQ(sw_jit_remove(h), 0, "[control] remove");
}

static void storm_form(int form, unsigned long target)
{
	struct chain *ch = &storm_chain;
	struct regset rs = { .fns = ch->fns, .n = NFNS, .form = form };
	struct timespec t0, t1;
	int rc = regset_add(&rs, true);

	CHECK_EQ(rc, 0, "[%s] registration: %s", form_names[form], t_status(rc));
	if (rc != 0)
		return;
	reset_counters();
	ch->expect.jform = form_jit_form(form);
	active = ch;
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGPROF;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);   /* sigev_notify_thread_id */
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
		perror("timer_create");
		exit(2);
	}
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = 100000;     /* 10 kHz */
	its.it_value = its.it_interval;
	timer_settime(timer, 0, &its, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long runs = 0;
	skipped = 0;
	while (__atomic_load_n(&in_jit, __ATOMIC_RELAXED) < target && !terminated) {
		run_chain(ch, 20 + (runs & 1), 0);
		runs++;
	}
	timer_delete(timer);
	active = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (terminated)
		printf("jit_async: storm %s stopped by SIGTERM (a time limit) after %lu of %lu "
		       "samples\n", form_names[form], in_jit, target);
	printf("jit_async: storm %-15s %6lu samples in JIT code (%lu elsewhere) in %.1f s, "
	       "%lu runs, %lu failed, %lu skipped\n", form_names[form], in_jit, outside, secs, runs,
	       failures, skipped);
	CHECK(in_jit >= target, "[%s] storm samples: %lu", form_names[form], in_jit);
	report_failures("storm", form, ch);
	CHECK_EQ(regset_remove(&rs), 0, "[%s] remove", form_names[form]);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned long target = argc > 1 ? strtoul(argv[1], NULL, 10) : (t_quick() ? 1000 : 10000);

	setvbuf(stdout, NULL, _IOLBF, 0);
	sw_init();
	if (make_chain(&step_chain, 2, 0xa1) != 0 || make_chain(&storm_chain, 200000, 0xa2) != 0) {
		printf("jit_async: cannot generate the chains\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGPROF, &sa, NULL);
	sa.sa_handler = on_term;
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);

	unsigned long total_traps = 0, total_samples = 0;
	for (int form = 0; form < F_COUNT; form++) {
		step_form(form);
		total_traps += in_jit;
	}
	step_control();
	for (int form = 0; form < F_COUNT && !terminated; form++) {
		storm_form(form, target);
		total_samples += in_jit;
	}
	printf("jit_async: %lu single-step traps and %lu SIGPROF samples in JIT code checked, "
	       "deepest walk %lu frames\n", total_traps, total_samples, max_depth);
	for (int i = 0; i < NFNS; i++) {
		emit_fn_free(&step_chain.fns[i]);
		emit_fn_free(&storm_chain.fns[i]);
	}
	return t_finish("jit_async");
}
