/*
 * local_walk: walks of this process through libunwind's local API,
 * printed for the side-by-side comparison of tests/scripts/
 * libunwind_local.sh (local_common.h says how) and checked here:
 *
 *   walk     unw_getcontext + unw_init_local in leaf(), called through
 *            top() -> vararg_mid(n, ...) -> mid() -> leaf(): every frame
 *            (name+offset in the program, module+offset elsewhere), its SP
 *            step, the callee-saved registers mid() keeps live values in,
 *            the CFA register (17), unw_get_proc_info's range, and the
 *            end: unw_step's 0 after _start and the IP reading 0;
 *            unw_get_save_loc's slots hold unw_get_reg's values (checked
 *            on stackwalk's library: see save_locs)
 *   errors   unw_get_reg/unw_set_reg/unw_get_fpreg with bad and read-only
 *            registers, unw_init_local2 with an unknown flag, a truncated
 *            unw_get_proc_name (-UNW_ENOMEM with the truncated name)
 *   backtrace  unw_backtrace (and backtrace(), which libunwind exports)
 *            from leaf(): the return addresses from leaf's caller on,
 *            the same as the walk's
 *   signal   SIGUSR1 raised in leaf(); the handler walks from its own
 *            unw_getcontext through the signal trampoline (unw_is_signal_
 *            frame 1 there, and only there; every register readable in the
 *            interrupted frame) back to leaf() and main(); then from the
 *            handler's ucontext with unw_init_local2(UNW_INIT_SIGNAL_FRAME)
 *            (the first IP is the interrupted instruction, the frames are
 *            the first walk's from the trampoline on) and with flags 0;
 *            unw_backtrace in the handler
 *   backtrace2  (stackwalk's header only: nongnu 1.6 has no unw_backtrace2)
 *            unw_backtrace2 with NULL and with the handler's ucontext
 *
 * Exit status 0 when every check passed.
 */
#include "local_common.h"      /* first: _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <execinfo.h>
#include <signal.h>
#include <ucontext.h>

#define MAXF 64

struct trace {
	int n;
	uint64_t ip[MAXF];
	char name[MAXF][64];    /* "" outside the program */
	int sig[MAXF];
};

/* unw_get_save_loc in frame i (stackwalk's answers, cursor.c; nongnu's
 * are printed only): the first frame's registers are in the context, a
 * frame's IP is its return address slot (or in the kernel's ucontext for
 * a frame a signal interrupted, as are all its registers); the slots hold
 * the values unw_get_reg gives */
static void save_locs(const char *tag, unw_cursor_t *c, unw_context_t *uc, int i, unw_word_t ip,
		      int interrupted)
{
	unw_save_loc_t loc;
	unw_word_t v = 0;
	int rc;

	memset(&loc, 0, sizeof(loc));
	rc = unw_get_save_loc(c, UNW_REG_IP, &loc);
	printf("~  save_loc(IP) %d type %d\n", rc, loc.type);
	if (!lu_ours())
		return;
	LU_CHECK(rc == 0 && loc.type == UNW_SLT_MEMORY && *(unw_word_t *)(uintptr_t)loc.u.addr == ip,
		 "%s #%d: save_loc(IP) %d type %d", tag, i, rc, loc.type);
	if (i == 0)
		LU_CHECK(loc.u.addr == (unw_word_t)(uintptr_t)&uc->uc_mcontext.gregs[REG_RIP],
			 "%s #0: save_loc(IP) is not the context's slot", tag);
	memset(&loc, 0, sizeof(loc));
	rc = unw_get_save_loc(c, UNW_X86_64_RAX, &loc);
	if (i == 0 || interrupted) {
		LU_CHECK(rc == 0 && loc.type == UNW_SLT_MEMORY && unw_get_reg(c, UNW_X86_64_RAX, &v) == 0 &&
			 *(unw_word_t *)(uintptr_t)loc.u.addr == v,
			 "%s #%d: save_loc(RAX) %d type %d", tag, i, rc, loc.type);
	} else {
		LU_CHECK(rc == 0 && loc.type == UNW_SLT_NONE, "%s #%d: save_loc(RAX) %d type %d", tag, i,
			 rc, loc.type);
	}
	rc = unw_get_save_loc(c, UNW_X86_64_CFA, &loc);
	LU_CHECK(rc == 0 && loc.type == UNW_SLT_NONE, "%s #%d: save_loc(CFA) %d", tag, i, rc);
	LU_CHECK(unw_get_save_loc(c, 100, &loc) == -UNW_EBADREG, "%s #%d: save_loc(100)", tag, i);
}

/* print one walk and record it; returns unw_step's last result */
static int walk(const char *tag, unw_context_t *uc, int flags, struct trace *t)
{
	unw_cursor_t c;
	char b1[96], b2[96], b3[96];
	int rc, i;
	unw_word_t sp0 = 0;

	rc = flags >= 0 ? unw_init_local2(&c, uc, flags) : unw_init_local(&c, uc);
	printf("%s: init %d\n", tag, rc);
	memset(t, 0, sizeof(*t));
	if (rc < 0)
		return rc;
	for (i = 0; i < MAXF; i++) {
		unw_word_t ip = 0, sp = 0, cfa = 0, v;
		unw_word_t off = 0;
		unw_proc_info_t pi;
		char name[64] = "";
		int sig;

		LU_CHECK(unw_get_reg(&c, UNW_REG_IP, &ip) == 0, "%s #%d: IP", tag, i);
		LU_CHECK(unw_get_reg(&c, UNW_REG_SP, &sp) == 0, "%s #%d: SP", tag, i);
		LU_CHECK(unw_get_reg(&c, UNW_X86_64_CFA, &cfa) == 0 && cfa == sp,
			 "%s #%d: the CFA register reads the SP", tag, i);
		t->ip[i] = ip;
		/* after unw_get_proc_info: nongnu's answer is the previous
		 * frame's until the frame's procedure has been looked up (a
		 * nongnu bug; stackwalk's does not depend on the order) */
		rc = unw_get_proc_info(&c, &pi);
		sig = unw_is_signal_frame(&c);
		t->sig[i] = sig;
		if (lu_in_main(ip) && unw_get_proc_name(&c, name, sizeof(name), &off) == 0) {
			snprintf(t->name[i], sizeof(t->name[i]), "%s", name);
			printf("  #%d %s+%#" PRIx64, i, name, (uint64_t)off);
		} else {
			printf("  #%d %s", i, lu_norm(b1, sizeof(b1), ip, 0));
		}
		/* the SP step, except into the frame a signal interrupted (the
		 * kernel aligns its frame: the distance varies with where the
		 * stack starts) */
		if (i > 0 && t->sig[i - 1])
			printf(" sp=interrupted sig=%d", sig);
		else
			printf(" sp%+" PRId64 " sig=%d", i ? (int64_t)(sp - sp0) : (int64_t)0, sig);
		sp0 = sp;
		if (rc == 0)
			printf(" pi=[%s,+%#" PRIx64 ") lsda=%d handler=%s gp=%s format=%d flags=%#" PRIx64,
			       lu_norm(b1, sizeof(b1), pi.start_ip, 0), (uint64_t)(pi.end_ip - pi.start_ip),
			       pi.lsda != 0, pi.handler ? lu_norm(b2, sizeof(b2), pi.handler, 0) : "0",
			       lu_norm(b3, sizeof(b3), pi.gp, 0), pi.format, (uint64_t)pi.flags);
		else
			printf(" pi=%d", rc);
		if (t->name[i][0] && !strcmp(t->name[i], "mid")) {
			/* mid() keeps values in callee-saved registers (-O2) or on
			 * the stack (-O0): the same either way on both libraries */
			static const int regs[] = { UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
						    UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15 };
			for (unsigned k = 0; k < sizeof(regs) / sizeof(regs[0]); k++) {
				rc = unw_get_reg(&c, regs[k], &v);
				printf(" %s=%s", unw_regname(regs[k]),
				       rc ? "?" : lu_norm(b1, sizeof(b1), v, sp));
			}
		}
		if (i > 0 && t->sig[i - 1]) {
			/* the frame a signal interrupted: every register */
			int readable = 0;
			for (int r = UNW_X86_64_RAX; r <= UNW_X86_64_RIP; r++)
				readable += unw_get_reg(&c, r, &v) == 0;
			printf(" readable=%d", readable);
		}
		printf("\n");
		save_locs(tag, &c, uc, i, ip, i > 0 && t->sig[i - 1]);
		rc = unw_step(&c);
		if (rc <= 0)
			break;
		LU_CHECK(rc == 1, "%s: unw_step returned %d", tag, rc);
	}
	t->n = i + 1;
	unw_word_t ip = 1;
	int rip = unw_get_reg(&c, UNW_REG_IP, &ip);
	printf("%s: end %d frames=%d ip-after=%d/%#" PRIx64 "\n", tag, rc, t->n, rip, (uint64_t)ip);
	LU_CHECK(rc == 0, "%s: the walk ends with unw_step 0, not %d", tag, rc);
	if (lu_ours())
		LU_CHECK(unw_step(&c) == 0, "%s: unw_step after the end returns 0 again", tag);
	return rc;
}

/* names[] must appear in t, in this order, consecutive */
static void expect_names(const char *tag, const struct trace *t, const char *const *names)
{
	int i = 0, k = 0;

	while (i < t->n && (!t->name[i][0] || strcmp(t->name[i], names[0])))
		i++;
	for (; names[k] && i < t->n; k++, i++)
		LU_CHECK(!strcmp(t->name[i], names[k]), "%s: frame %d is '%s', expected '%s'", tag, i,
			 t->name[i], names[k]);
	LU_CHECK(!names[k], "%s: the walk stops before '%s'", tag, names[k]);
}

static void print_bt(const char *tag, void **b, int n)
{
	char buf[96];

	printf("%s: %d:", tag, n);
	for (int i = 0; i < n; i++)
		printf(" %s", lu_norm(buf, sizeof(buf), (uint64_t)(uintptr_t)b[i], 0));
	printf("\n");
}

static volatile int sink;
static struct trace t_leaf, t_handler, t_sig, t_sig0;
static ucontext_t *handler_uc;

static void errors(unw_context_t *uc)
{
	unw_cursor_t c;
	unw_word_t v;
	unw_fpreg_t fv = 0;
	char nb[5];
	unw_word_t off = 0;

	unw_init_local(&c, uc);
	printf("errors: get(-1)=%d get(18)=%d get(100)=%d set(100)=%d set(CFA)=%d\n",
	       unw_get_reg(&c, -1, &v), unw_get_reg(&c, 18, &v), unw_get_reg(&c, 100, &v),
	       unw_set_reg(&c, 100, 1), unw_set_reg(&c, UNW_X86_64_CFA, 1));
	printf("errors: get_fpreg(0)=%d get_fpreg(17)=%d set_fpreg(17)=%d init_local2(flags 2)=%d\n",
	       unw_get_fpreg(&c, 0, &fv), unw_get_fpreg(&c, 17, &fv), unw_set_fpreg(&c, 17, fv),
	       unw_init_local2(&c, uc, 2));
	unw_init_local(&c, uc);
	memset(nb, 'x', sizeof(nb));
	int rc = unw_get_proc_name(&c, nb, sizeof(nb), &off);
	printf("errors: name in a buffer that just fits %d '%.5s' off-set=%d\n", rc, nb, off != 0);
	LU_CHECK(rc == 0 && !strcmp(nb, "leaf"), "unw_get_proc_name: %d '%.5s'", rc, nb);
	unw_step(&c);   /* mid */
	unw_step(&c);   /* vararg_mid */
	memset(nb, 'x', sizeof(nb));
	rc = unw_get_proc_name(&c, nb, sizeof(nb), &off);
	printf("errors: truncated name %d '%.5s' off-set=%d\n", rc, nb, off != 0);
	LU_CHECK(rc == -UNW_ENOMEM && !strcmp(nb, "vara"), "truncated unw_get_proc_name: %d '%.5s'",
		 rc, nb);
	rc = unw_get_proc_name(&c, nb, 0, &off);
	printf("errors: name in no room %d\n", rc);
	LU_CHECK(rc == -UNW_ENOMEM, "unw_get_proc_name with len 0: %d", rc);
	unw_init_local(&c, uc);
	/* steps from impossible registers: errors, not crashes (nongnu's
	 * often report success) */
	unw_init_local(&c, uc);
	unw_set_reg(&c, UNW_REG_SP, 0x10);
	unw_set_reg(&c, UNW_X86_64_RBP, 0x10);
	int r1 = unw_step(&c);
	unw_init_local(&c, uc);
	unw_set_reg(&c, UNW_REG_IP, 0x1234);
	unw_set_reg(&c, UNW_X86_64_RBP, 0x10);
	int r2 = unw_step(&c);
	unw_init_local(&c, uc);
	unw_set_reg(&c, UNW_REG_SP, 0xffffffffffff0000ull);
	unw_set_reg(&c, UNW_X86_64_RBP, 0xffffffffffff0000ull);
	int r3 = unw_step(&c);
	printf("~errors: steps with SP/RBP 0x10 %d, IP 0x1234 %d, kernel SP/RBP %d\n", r1, r2, r3);
	if (lu_ours())
		LU_CHECK(r1 < 0 && r2 < 0 && r3 < 0, "steps from impossible registers: %d %d %d", r1,
			 r2, r3);
	unw_init_local(&c, uc);
	/* an address in no procedure */
	unw_set_reg(&c, UNW_REG_IP, 0x10);
	unw_proc_info_t pi;
	rc = unw_get_proc_name(&c, nb, sizeof(nb), &off);
	printf("~errors: unknown ip: name %d proc_info %d\n", rc, unw_get_proc_info(&c, &pi));
	if (lu_ours())
		LU_CHECK(rc == -UNW_ENOINFO, "unknown name: %d", rc);
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
	unw_context_t uc;
	void *b[MAXF];
	int n;

	(void)sig;
	(void)si;
	handler_uc = ucv;
	unw_getcontext(&uc);
	walk("handler", &uc, -1, &t_handler);
	walk("sigframe", (unw_context_t *)ucv, UNW_INIT_SIGNAL_FRAME, &t_sig);
	walk("sigframe-flags0", (unw_context_t *)ucv, 0, &t_sig0);
	n = unw_backtrace(b, MAXF);
	print_bt("handler-backtrace", b, n);
	/* unw_backtrace from the handler: the handler, the trampoline, the
	 * interrupted frame..., as the walk from the handler's context */
	LU_CHECK(n == t_handler.n, "handler backtrace: %d entries, the walk had %d", n, t_handler.n);
	for (int i = 1; i < n && i < t_handler.n; i++)
		LU_CHECK((uint64_t)(uintptr_t)b[i] == t_handler.ip[i], "handler backtrace[%d]", i);
#ifdef UNW_STACKWALK
	void *b2[MAXF];
	n = unw_backtrace2(b2, MAXF, (unw_context_t *)ucv, UNW_INIT_SIGNAL_FRAME);
	print_bt("~backtrace2-uc", b2, n);
	LU_CHECK(n == t_sig.n, "unw_backtrace2(uc): %d entries, the walk had %d", n, t_sig.n);
	for (int i = 0; i < n && i < t_sig.n; i++)
		LU_CHECK((uint64_t)(uintptr_t)b2[i] == t_sig.ip[i], "unw_backtrace2(uc)[%d]", i);
	n = unw_backtrace2(b2, MAXF, NULL, 0);
	LU_CHECK(n == t_handler.n && b2[1] == b[1], "unw_backtrace2(NULL): %d", n);
	LU_CHECK(unw_backtrace2(b2, 0, NULL, 0) == 0 && unw_backtrace2(b2, 3, NULL, 0) == 3,
		 "unw_backtrace2 sizes");
#endif
}

LU_NOINLINE int leaf(int x)
{
	unw_context_t uc;
	void *b[MAXF], *g[MAXF];
	int n, ng;

	unw_getcontext(&uc);
	walk("walk", &uc, -1, &t_leaf);
	errors(&uc);
	n = unw_backtrace(b, MAXF);
	print_bt("backtrace", b, n);
	LU_CHECK(n == t_leaf.n, "unw_backtrace: %d entries, the walk had %d", n, t_leaf.n);
	LU_CHECK(lu_in_main((uint64_t)(uintptr_t)b[0]), "unw_backtrace[0] is in leaf");
	for (int i = 1; i < n && i < t_leaf.n; i++)
		LU_CHECK((uint64_t)(uintptr_t)b[i] == t_leaf.ip[i], "unw_backtrace[%d]", i);
	LU_CHECK(unw_backtrace(b, 2) == 2 && unw_backtrace(b, 0) == 0, "unw_backtrace sizes");
	ng = backtrace(g, MAXF);
	print_bt("backtrace()", g, ng);
	raise(SIGUSR1);
	LU_KEEP();
	return x + sink;
}

LU_NOINLINE long mid(long x)
{
	/* values live across the call: callee-saved registers at -O2 */
	long a = x * 3 + 0x1001, b = x * 5 + 0x2002, c = x * 7 + 0x3003, d = x * 11 + 0x4004,
	     e = x * 13 + 0x5005;
	long r = leaf((int)x);
	LU_KEEP();
	return r + a * b + c * d + e;
}

LU_NOINLINE long vararg_mid(int n, ...)
{
	va_list ap;
	long s = 0;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s += va_arg(ap, long);
	va_end(ap);
	s = mid(s);
	LU_KEEP();
	return s;
}

LU_NOINLINE long top(int n)
{
	long r = vararg_mid(n, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
	LU_KEEP();
	return r;
}

int main(void)
{
	static const char *const chain[] = { "leaf", "mid", "vararg_mid", "top", "main", NULL };
	static const char *const hchain[] = { "handler", NULL };
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	top(8);

	expect_names("walk", &t_leaf, chain);
	expect_names("handler", &t_handler, hchain);
	expect_names("handler", &t_handler, chain);
	expect_names("sigframe", &t_sig, chain);
	expect_names("sigframe-flags0", &t_sig0, chain);
	/* one signal frame: the trampoline, just above the handler */
	int nsig = 0;
	for (int i = 0; i < t_handler.n; i++)
		nsig += t_handler.sig[i];
	LU_CHECK(nsig == 1 && t_handler.sig[1] == 1, "handler walk: %d signal frames", nsig);
	/* the walk from the ucontext is the handler's walk past the trampoline */
	LU_CHECK(handler_uc && t_sig.ip[0] == (uint64_t)handler_uc->uc_mcontext.gregs[REG_RIP],
		 "sigframe walk starts at the interrupted IP");
	LU_CHECK(t_sig.n == t_handler.n - 2, "sigframe walk: %d frames, handler walk %d", t_sig.n,
		 t_handler.n);
	for (int i = 0; i < t_sig.n && i + 2 < t_handler.n; i++)
		LU_CHECK(t_sig.ip[i] == t_handler.ip[i + 2], "sigframe frame %d", i);
	printf("%s\n", lu_failed ? "FAILED" : "OK");
	return lu_failed;
}
