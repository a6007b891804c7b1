/*
 * local_resume: unw_resume and the context functions.
 *
 *   fault     faulty() stores to an unmapped address; the SIGSEGV handler
 *             (SA_NODEFER) walks from its unw_getcontext through the signal
 *             trampoline and faulty() to guarded(), sets RAX there to 42 and
 *             resumes it: faulty() "returns" 42 in guarded(), whose values
 *             kept across the call are intact
 *   sigreturn the SIGUSR1 handler walks to the signal trampoline's frame
 *             (unw_is_signal_frame) and resumes it: the trampoline's
 *             rt_sigreturn returns from the signal (the code after
 *             unw_resume never runs) and restores the signal mask
 *   skip      c() resumes a()'s frame two frames up with RAX = 7: b()
 *             "returns" 7 to a(), whose callee-saved values are intact
 *             (run 3 times: the frames are re-entered)
 *   getcontext  unw_getcontext next to glibc's getcontext: the same
 *             callee-saved registers and SP, RIP inside the caller,
 *             uc_mcontext.fpregs = the context's own __fpregs_mem holding
 *             the same control words, also for a context at an address
 *             that is 8 mod 16 (fxsave needs 16); nongnu's getcontext
 *             leaves fpregs pointing elsewhere (a nongnu bug: '~' line,
 *             checked on stackwalk's library only)
 *   setcontext  (stackwalk's only; nongnu's needs the fpregs its
 *             getcontext does not set) _Ux86_64_setcontext back to a
 *             context: execution continues after unw_getcontext with its
 *             registers and the rounding mode saved with it
 *   first     (stackwalk's only: nongnu's resume of the first frame goes
 *             through that setcontext) unw_resume of unw_init_local's first
 *             frame: unw_getcontext returns 0 again
 *   end       unw_resume on a cursor past the end: -UNW_EINVAL
 *             (stackwalk's; nongnu's jumps to address 0)
 */
#include "local_common.h"      /* first: _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <fenv.h>
#include <signal.h>
#include <stdalign.h>
#include <ucontext.h>

extern int _Ux86_64_setcontext(ucontext_t *uc);

static volatile uintptr_t bad_address = 16;
static volatile int sink;

/* step c until its IP is in fn's procedure; 0 when found */
static int step_to(unw_cursor_t *c, void *fn)
{
	for (int i = 0; i < 64; i++) {
		unw_proc_info_t pi;
		if (unw_get_proc_info(c, &pi) == 0 && pi.start_ip == (unw_word_t)(uintptr_t)fn)
			return 0;
		if (unw_step(c) <= 0)
			return -1;
	}
	return -1;
}

/* ---------------------------------------------------------------- fault */

/* returns what the compiler cannot know (no constant for guarded()) */
LU_NOINLINE int faulty(void)
{
	*(volatile int *)bad_address = 1;
	LU_KEEP();
	return sink;
}

LU_NOINLINE int guarded(int x)
{
	int a = x * 3 + 1, b = x * 5 + 2, c = x * 7 + 3;
	int r = faulty();
	LU_OPAQUE(a);
	LU_OPAQUE(b);
	LU_OPAQUE(c);
	LU_OPAQUE(x);
	LU_CHECK(a == x * 3 + 1 && b == x * 5 + 2 && c == x * 7 + 3, "guarded's values");
	return r + a + b + c - (x * 15 + 6);
}

static void segv_handler(int sig, siginfo_t *si, void *ucv)
{
	unw_context_t uc;
	unw_cursor_t c;

	(void)sig;
	(void)si;
	(void)ucv;
	unw_getcontext(&uc);
	unw_init_local(&c, &uc);
	if (step_to(&c, (void *)guarded) < 0) {
		printf("fault: guarded() not found\n");
		_exit(3);
	}
	unw_set_reg(&c, UNW_X86_64_RAX, 42);
	int rc = unw_resume(&c);
	printf("fault: unw_resume returned %d\n", rc);
	_exit(3);
}

/* ---------------------------------------------------------------- sigreturn */

static volatile int after_resume;

static void usr1_handler(int sig, siginfo_t *si, void *ucv)
{
	unw_context_t uc;
	unw_cursor_t c;
	int i;

	(void)sig;
	(void)si;
	(void)ucv;
	unw_getcontext(&uc);
	unw_init_local(&c, &uc);
	for (i = 0; i < 16; i++) {
		unw_proc_info_t pi;
		unw_get_proc_info(&c, &pi);
		if (unw_is_signal_frame(&c) > 0)
			break;
		if (unw_step(&c) <= 0)
			break;
	}
	printf("sigreturn: trampoline at frame %d\n", i);
	unw_resume(&c);
	after_resume = 1;
}

LU_NOINLINE int raise_usr1(void)
{
	raise(SIGUSR1);
	LU_KEEP();
	return sink;
}

/* ---------------------------------------------------------------- skip */

LU_NOINLINE long c_fn(void)
{
	unw_context_t uc;
	unw_cursor_t c;

	if (sink == 0) {        /* always: no noreturn path for the compiler */
		unw_getcontext(&uc);
		unw_init_local(&c, &uc);
		unw_step(&c);   /* b_fn */
		unw_step(&c);   /* a_fn */
		unw_set_reg(&c, UNW_X86_64_RAX, 7);
		int rc = unw_resume(&c);
		printf("skip: unw_resume returned %d\n", rc);
	}
	return sink;
}

LU_NOINLINE long b_fn(void)
{
	long r = c_fn();
	LU_KEEP();
	printf("skip: b_fn continued\n");
	return r + 1000;
}

LU_NOINLINE long a_fn(long x)
{
	long p = x * 3 + 11, q = x * 5 + 13, s = x * 7 + 17, t = x * 9 + 19;
	long r = b_fn();
	LU_OPAQUE(p);
	LU_OPAQUE(q);
	LU_OPAQUE(s);
	LU_OPAQUE(t);
	LU_OPAQUE(x);
	LU_CHECK(p == x * 3 + 11 && q == x * 5 + 13 && s == x * 7 + 17 && t == x * 9 + 19,
		 "a_fn's values after the resume");
	return r + p + q + s + t - (x * 24 + 60);
}

/* ---------------------------------------------------------------- contexts */

LU_NOINLINE void compare_contexts(const char *tag, ucontext_t *u, ucontext_t *g)
{
	static const int same[] = { REG_RBX, REG_RBP, REG_R12, REG_R13, REG_R14, REG_R15, REG_RSP };
	static const char *const names[] = { "rbx", "rbp", "r12", "r13", "r14", "r15", "rsp" };
	char b[96];

	for (unsigned i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		LU_CHECK(u->uc_mcontext.gregs[same[i]] == g->uc_mcontext.gregs[same[i]],
			 "%s: %s differs from getcontext's", tag, names[i]);
	printf("%s: rip %s\n", tag,
	       lu_in_main((uint64_t)u->uc_mcontext.gregs[REG_RIP]) ? "in the program" : "elsewhere");
	int own = u->uc_mcontext.fpregs == &u->__fpregs_mem;
	printf("~%s: fpregs at __fpregs_mem %d\n", tag, own);
	if (lu_ours()) {
		LU_CHECK(own, "%s: fpregs %p, not the context's own %p", tag,
			 (void *)u->uc_mcontext.fpregs, (void *)&u->__fpregs_mem);
		LU_CHECK(own && u->__fpregs_mem.mxcsr == g->uc_mcontext.fpregs->mxcsr &&
			 u->__fpregs_mem.cwd == g->uc_mcontext.fpregs->cwd,
			 "%s: mxcsr %#x/%#x cwd %#x/%#x", tag, u->__fpregs_mem.mxcsr,
			 g->uc_mcontext.fpregs->mxcsr, u->__fpregs_mem.cwd, g->uc_mcontext.fpregs->cwd);
	}
	(void)b;
}

/* both contexts in one frame, the registers set up before either call */
LU_NOINLINE void both(ucontext_t *g, ucontext_t *u)
{
	getcontext(g);
	unw_getcontext(u);
	LU_KEEP();
}

static alignas(16) char ctx_buf[sizeof(ucontext_t) + 16];

/* contexts at a 16-aligned address and at one 8 past it: the fxsave
 * image is aligned in one of them only */
LU_NOINLINE void contexts(void)
{
	ucontext_t g;
	ucontext_t *u0 = (ucontext_t *)(void *)ctx_buf, *u8 = (ucontext_t *)(void *)(ctx_buf + 8);

	both(&g, u0);
	compare_contexts("getcontext-0mod16", u0, &g);
	both(&g, u8);
	compare_contexts("getcontext-8mod16", u8, &g);
	LU_CHECK((((uintptr_t)&u0->__fpregs_mem ^ (uintptr_t)&u8->__fpregs_mem) & 15) == 8,
		 "one fxsave image is misaligned");
}

static volatile int set_count;

LU_NOINLINE void setcontext_test(ucontext_t *uc)
{
	volatile int round_seen;

	fesetround(FE_UPWARD);
	set_count = 0;
	unw_getcontext(uc);
	round_seen = fegetround();
	if (set_count++ == 0) {
		fesetround(FE_TONEAREST);
		_Ux86_64_setcontext(uc);
		printf("setcontext: returned\n");
		exit(3);
	}
	fesetround(FE_TONEAREST);
	printf("~setcontext: back after unw_getcontext, count %d, rounding %s\n", set_count,
	       round_seen == FE_UPWARD ? "upward" : "other");
	LU_CHECK(set_count == 2 && round_seen == FE_UPWARD, "setcontext");
}

/* unw_resume of the first frame of unw_init_local: execution goes on
 * after unw_getcontext, which returns 0 again */
static volatile int first_passes;

LU_NOINLINE int resume_first(void)
{
	unw_context_t uc;
	unw_cursor_t c;

	first_passes = 0;
	int r = unw_getcontext(&uc);
	LU_OPAQUE(r);
	if (first_passes++ == 0) {
		r = 99;
		unw_init_local(&c, &uc);
		int rc = unw_resume(&c);
		printf("first: unw_resume returned %d\n", rc);
		return -1;
	}
	return r;
}

int main(void)
{
	struct sigaction sa;
	sigset_t mask;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	int r = guarded(5);
	printf("fault: faulty() returned %d in guarded()\n", r);
	LU_CHECK(r == 42, "fault: %d", r);

	sa.sa_sigaction = usr1_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	raise_usr1();
	sigprocmask(SIG_BLOCK, NULL, &mask);
	printf("sigreturn: back, handler went on %d, SIGUSR1 blocked %d\n", after_resume,
	       sigismember(&mask, SIGUSR1));
	LU_CHECK(!after_resume && !sigismember(&mask, SIGUSR1), "sigreturn");

	for (int i = 0; i < 3; i++) {
		long v = a_fn(i);
		printf("skip: b_fn() returned %ld in a_fn()\n", v);
		LU_CHECK(v == 7, "skip: %ld", v);
	}

	contexts();
	if (lu_ours()) {
		static ucontext_t uc;
		setcontext_test(&uc);

		int r0 = resume_first();
		printf("~first: unw_getcontext returned %d after the resume, %d passes\n", r0,
		       first_passes);
		LU_CHECK(r0 == 0 && first_passes == 2, "first frame resumed: %d, %d passes", r0,
			 first_passes);

		unw_context_t u;
		unw_cursor_t c;
		unw_getcontext(&u);
		unw_init_local(&c, &u);
		while (unw_step(&c) > 0)
			;
		int rc = unw_resume(&c);
		printf("~end: unw_resume past the end %d\n", rc);
		LU_CHECK(rc == -UNW_EINVAL, "unw_resume past the end: %d", rc);
	}
	printf("%s\n", lu_failed ? "FAILED" : "OK");
	return lu_failed;
}
