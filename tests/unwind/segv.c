/*
 * segv: unwinding out of the SIGSEGV raised by a call through a null
 * function pointer (run_case -> top -> mid -> bad_call -> *NULL).
 *
 * The SA_SIGINFO handler walks with sw_init_ucontext/sw_step and records
 * every frame; after siglongjmp the program checks:
 *   frame 0: IP 0, sw_is_signal_frame 1, SP = the ucontext's rsp;
 *   frame 1: IP = the return address the call pushed ([rsp]), SP = rsp + 8,
 *            not a signal frame, sw_get_proc_info's [start, end) is bad_call's
 *            (start == bad_call) and contains IP - 1;
 *   frames 2, 3: in mid and top (proc_info start == the function);
 *   frames 4..: exactly the return addresses libgcc's _Unwind_Backtrace saw
 *            from top just before the crash, up to the outermost frame, where
 *            the walk ends with SW_END_OF_STACK (and stays there);
 *   sw_backtrace_ucontext gives the same PCs;
 *   sw_backtrace called inside the handler sees the handler, the restorer
 *   (sa_restorer), IP 0, then the same frames; a cursor walk from the
 *   handler flags exactly the interrupted frame as a signal frame.
 *
 * Cases: on the thread's stack; on a sigaltstack; in a second thread on a
 * sigaltstack; with a restorer of our own that has no CFI (recognised by
 * its bytes), installed with the raw rt_sigaction system call.  And a stack
 * overflow (infinite recursion in a thread, handled on a sigaltstack): the
 * walk crosses the whole recursion to the thread's start and the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>
#include <sys/syscall.h>

#include "common.h"

#define MAXF 128

/* A restorer without CFI, preceded by a nop that no FDE covers (as glibc and
 * musl do), so the lookup at IP - 1 finds nothing and the bytes decide. */
__asm__(".text\n"
	".p2align 4\n"
	"nop\n"
	".globl test_restorer\n"
	".type test_restorer, @function\n"
	"test_restorer:\n"
	"movq $15, %rax\n"
	"syscall\n"
	"hlt\n"
	".size test_restorer, .-test_restorer\n");
void test_restorer(void);

typedef int (*fn_t)(int);
static fn_t volatile null_fn;
static sigjmp_buf escape;

/* what the handler saw */
struct record {
	int init_rc;
	uint64_t uc_rsp, uc_rip, ra_at_sp;
	int n;                                  /* frames recorded */
	uint64_t ip[MAXF], sp[MAXF];
	int sig[MAXF];
	int how[MAXF], reliable[MAXF];          /* sw_get_frame_source, sw_is_reliable */
	int pi_rc[MAXF];
	struct sw_proc_info pi[MAXF];
	int last_rc, again_rc;                  /* the step that ended, one more step */
	void *bt_uc[MAXF];
	int n_bt_uc;
	void *bt[MAXF];                         /* sw_backtrace inside the handler */
	int n_bt;
	int csig[MAXF];                         /* cursor from the handler: signal flags */
	int chow[MAXF], creliable[MAXF];
	uint64_t cip[MAXF];
	int n_c, c_last;
};
static struct record rec;

/* libgcc's view from top, before the crash */
static void *ref[MAXF];
static int nref;

/* ref[0]: return address into outer_frames, ref[1]: into top, ref[2]: into
 * run_case (after its call to top), ... */
NOINLINE static void outer_frames(void)
{
	struct ug_state st = { ref, 0, MAXF };
	_Unwind_Backtrace(ug_cb, &st);
	nref = st.n;
	if (nref > 0 && ref[nref - 1] == NULL)   /* libgcc's final IP-0 frame */
		nref--;
}

static void on_segv(int signo, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	sw_cursor_t cur;
	sw_context_t ctx;
	int rc;
	(void)signo;
	(void)si;

	rec.uc_rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
	rec.uc_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	rec.ra_at_sp = *(uint64_t *)(uintptr_t)rec.uc_rsp;
	rec.init_rc = sw_init_ucontext(&cur, uc);
	rec.n = 0;
	do {
		int i = rec.n++;
		rec.ip[i] = sw_get_ip(&cur);
		rec.sp[i] = sw_get_sp(&cur);
		rec.sig[i] = sw_is_signal_frame(&cur);
		rec.how[i] = sw_get_frame_source(&cur);
		rec.reliable[i] = sw_is_reliable(&cur);
		rec.pi_rc[i] = sw_get_proc_info(&cur, &rec.pi[i]);
	} while ((rc = sw_step(&cur)) == 0 && rec.n < MAXF);
	rec.last_rc = rc;
	rec.again_rc = sw_step(&cur);

	rec.n_bt_uc = sw_backtrace_ucontext(uc, rec.bt_uc, MAXF);
	rec.n_bt = sw_backtrace(rec.bt, MAXF);

	sw_getcontext(&ctx);
	sw_init_local(&cur, &ctx);
	rec.n_c = 0;
	do {
		rec.cip[rec.n_c] = sw_get_ip(&cur);
		rec.csig[rec.n_c] = sw_is_signal_frame(&cur);
		rec.chow[rec.n_c] = sw_get_frame_source(&cur);
		rec.creliable[rec.n_c] = sw_is_reliable(&cur);
		rec.n_c++;
	} while ((rc = sw_step(&cur)) == 0 && rec.n_c < MAXF);
	rec.c_last = rc;
	siglongjmp(escape, 1);
}

NOINLINE static int bad_call(int x)
{
	int r = null_fn(x);
	OPAQUE(r);
	return r + 1;
}

NOINLINE static int mid(int x)
{
	int r = bad_call(x + 1);
	OPAQUE(r);
	return r;
}

NOINLINE static int top(int x)
{
	outer_frames();
	int r = mid(x + 1);
	OPAQUE(r);
	return r;
}

static void check_case(const char *name, uint64_t restorer);

NOINLINE static void run_case(const char *name, uint64_t restorer)
{
	memset(&rec, 0, sizeof(rec));
	if (sigsetjmp(escape, 1) == 0) {
		int r = top(1);
		OPAQUE(r);
		CHECK(0, "%s: the call through a null pointer returned", name);
		return;
	}
	check_case(name, restorer);
}

static void check_case(const char *name, uint64_t restorer)
{
	static const struct { const char *name; void *fn; } expect[] = {
		{ "bad_call", (void *)bad_call }, { "mid", (void *)mid }, { "top", (void *)top },
	};

	printf("segv: case %s: %d frames from the ucontext, last step %s\n", name, rec.n,
	       t_status(rec.last_rc));
	CHECK_EQ(rec.init_rc, 0, "%s: sw_init_ucontext", name);
	CHECK_EQ(rec.uc_rip, 0, "%s: the fault is at address 0", name);
	if (rec.n < 4 + 1) {
		CHECK(0, "%s: only %d frames", name, rec.n);
		return;
	}
	/* frame 0: the interrupted PC */
	CHECK_EQ(rec.ip[0], 0, "%s: frame 0's IP", name);
	CHECK_EQ(rec.sig[0], 1, "%s: frame 0 is a signal frame", name);
	CHECK_EQ(rec.sp[0], rec.uc_rsp, "%s: frame 0's SP", name);
	CHECK_EQ(rec.pi_rc[0], SW_ENOTFOUND, "%s: no procedure at address 0", name);
	/* how each frame was found: frame 0 from the ucontext; frame 1 by the
	 * return-address rule (IP 0 is no code), a heuristic, so the walk is
	 * unreliable from there on; the others by their callee's CFI */
	CHECK_EQ(rec.how[0], SW_SRC_NONE, "%s: frame 0's source", name);
	CHECK_EQ(rec.reliable[0], 1, "%s: frame 0 is reliable", name);
	CHECK_EQ(rec.how[1], SW_SRC_RETURN_ADDRESS, "%s: frame 1 found by the return address at SP",
		 name);
	for (int i = 1; i < rec.n; i++)
		CHECK_EQ(rec.reliable[i], 0, "%s: frame %d is after a guessed frame", name, i);
	for (int i = 2; i < rec.n; i++)
		CHECK_EQ(rec.how[i], SW_SRC_EH_FRAME_HDR, "%s: frame %d found by CFI", name, i);

	/* frame 1: bad_call, right after the call */
	CHECK_EQ(rec.ip[1], rec.ra_at_sp, "%s: frame 1's IP is the return address at SP", name);
	CHECK_EQ(rec.sp[1], rec.uc_rsp + 8, "%s: frame 1's SP", name);
	CHECK_EQ(rec.sig[1], 0, "%s: frame 1 is not a signal frame", name);
	for (int i = 1; i <= 3; i++) {
		CHECK_EQ(rec.pi_rc[i], 0, "%s: sw_get_proc_info at frame %d", name, i);
		CHECK_EQ(rec.pi[i].start, (uint64_t)(uintptr_t)expect[i - 1].fn,
			 "%s: frame %d is in %s", name, i, expect[i - 1].name);
		CHECK(rec.pi[i].start < rec.ip[i] && rec.ip[i] - 1 < rec.pi[i].end,
		      "%s: frame %d: IP %#" PRIx64 " - 1 in [%#" PRIx64 ", %#" PRIx64 ")", name, i,
		      rec.ip[i], rec.pi[i].start, rec.pi[i].end);
		CHECK_EQ(rec.pi[i].source, SW_SRC_EH_FRAME_HDR, "%s: frame %d's source", name, i);
		CHECK_EQ(rec.sig[i], 0, "%s: frame %d is not a signal frame", name, i);
	}
	/* frames 4..: libgcc's frames from run_case outward */
	CHECK(nref >= 3, "%s: libgcc saw %d frames", name, nref);
	CHECK_EQ(rec.n, 4 + (nref - 2), "%s: frame count (libgcc from top saw %d)", name, nref);
	for (int i = 4, j = 2; i < rec.n && j < nref; i++, j++)
		CHECK_EQ(rec.ip[i], (uint64_t)(uintptr_t)ref[j], "%s: frame %d", name, i);
	CHECK_EQ(rec.last_rc, SW_END_OF_STACK, "%s: the walk's end", name);
	CHECK_EQ(rec.again_rc, SW_END_OF_STACK, "%s: one more step at the end", name);

	/* sw_backtrace_ucontext: the same PCs */
	CHECK_EQ(rec.n_bt_uc, rec.n, "%s: sw_backtrace_ucontext's count", name);
	for (int i = 0; i < rec.n && i < rec.n_bt_uc; i++)
		CHECK_EQ((uint64_t)(uintptr_t)rec.bt_uc[i], rec.ip[i], "%s: sw_backtrace_ucontext[%d]",
			 name, i);

	/* sw_backtrace in the handler: [handler] [restorer] 0 bad_call ... */
	CHECK_EQ(rec.n_bt, rec.n + 2, "%s: sw_backtrace in the handler", name);
	if (rec.n_bt >= 2)
		CHECK_EQ((uint64_t)(uintptr_t)rec.bt[1], restorer,
			 "%s: sw_backtrace[1] is the restorer", name);
	for (int i = 2; i < rec.n_bt && i - 2 < rec.n; i++)
		CHECK_EQ((uint64_t)(uintptr_t)rec.bt[i], rec.ip[i - 2], "%s: sw_backtrace[%d]", name, i);

	/* the cursor from the handler: on_segv, restorer, interrupted, ... */
	CHECK_EQ(rec.n_c, rec.n + 2, "%s: cursor walk from the handler: frames", name);
	CHECK_EQ(rec.c_last, SW_END_OF_STACK, "%s: cursor walk from the handler: end", name);
	if (rec.n_c >= 4) {
		CHECK_EQ(rec.cip[1], restorer, "%s: handler's caller is the restorer", name);
		CHECK_EQ(rec.csig[0], 0, "%s: the handler's frame is not a signal frame", name);
		CHECK_EQ(rec.csig[1], 0, "%s: the restorer's frame is not a signal frame", name);
		CHECK_EQ(rec.cip[2], 0, "%s: then the interrupted IP", name);
		CHECK_EQ(rec.csig[2], 1, "%s: the interrupted frame is a signal frame", name);
		CHECK_EQ(rec.csig[3], 0, "%s: bad_call's frame is not a signal frame", name);
		CHECK_EQ(rec.chow[0], SW_SRC_NONE, "%s: the handler's frame is the walk's start", name);
		CHECK_EQ(rec.chow[1], SW_SRC_EH_FRAME_HDR, "%s: the restorer found by CFI", name);
		CHECK_EQ(rec.chow[2], SW_SRC_SIGNAL_TRAMPOLINE,
			 "%s: the interrupted frame found from the signal frame", name);
		CHECK_EQ(rec.chow[3], SW_SRC_RETURN_ADDRESS, "%s: bad_call found by the return address",
			 name);
		CHECK(rec.creliable[2] && !rec.creliable[3],
		      "%s: reliable up to the interrupted frame, not after", name);
	}
	for (int i = 2; i < rec.n_c && i - 2 < rec.n; i++)
		CHECK_EQ(rec.cip[i], rec.ip[i - 2], "%s: cursor from the handler, frame %d", name, i);
}

static uint64_t install(int onstack)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | (onstack ? SA_ONSTACK : 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGSEGV, NULL, &old);
	return (uint64_t)(uintptr_t)old.sa_restorer;
}

/* The kernel's struct sigaction, for a restorer of our own. */
struct ksigaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};
#define K_SA_RESTORER 0x04000000ul

static uint64_t install_raw(void)
{
	struct ksigaction ksa = { on_segv, SA_SIGINFO | SA_NODEFER | K_SA_RESTORER, test_restorer, 0 };

	if (syscall(SYS_rt_sigaction, SIGSEGV, &ksa, NULL, 8) != 0) {
		perror("rt_sigaction");
		exit(2);
	}
	return (uint64_t)(uintptr_t)test_restorer;
}

/* The signal stack: 16 KiB whatever SIGSTKSZ says, a crash handler's
 * small stack (stackwalk.h, "Stack use"; the kernel's signal frame takes
 * part of it). */
#define ALTSTACK_SIZE (16 * 1024)

static stack_t altstack_on(void)
{
	stack_t ss = { .ss_sp = malloc(ALTSTACK_SIZE), .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };

	if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(2);
	}
	return ss;
}

static void altstack_off(stack_t ss)
{
	stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };

	sigaltstack(&off, NULL);
	free(ss.ss_sp);
}

static void *thread_case(void *arg)
{
	(void)arg;
	stack_t ss = altstack_on();
	run_case("thread+altstack", install(1));
	altstack_off(ss);
	return NULL;
}

/* ---------------------------------------------------------------- stack overflow */

static volatile int deepest, never = 1 << 30;
static struct {
	int n, last_rc, thread_idx, ref_n, no_info;
	uint64_t fault_sp, start0;
} ovf;

NOINLINE static int overflow(int n)
{
	volatile char buf[96];
	buf[0] = (char)n;
	__asm__ volatile("" : : "r"(buf) : "memory");   /* the whole buffer lives: ~100-byte frames */
	deepest = n;
	if (n == never)
		return 0;
	int r = overflow(n + 1);
	OPAQUE(r);
	return r + buf[0];
}

static void *overflow_thread(void *arg);

static void on_overflow(int signo, siginfo_t *si, void *ucv)
{
	sw_cursor_t cur;
	struct sw_proc_info pi;
	int rc, k = 0;
	(void)signo;
	(void)si;

	ovf.fault_sp = (uint64_t)((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RSP];
	sw_init_ucontext(&cur, ucv);
	ovf.thread_idx = -1;
	do {
		int prc = sw_get_proc_info(&cur, &pi);
		if (prc != 0)
			ovf.no_info++;
		if (k == 0)
			ovf.start0 = prc == 0 ? pi.start : 0;
		if (prc == 0 && pi.start == (uint64_t)(uintptr_t)overflow_thread && ovf.thread_idx < 0)
			ovf.thread_idx = k;
		k++;
	} while ((rc = sw_step(&cur)) == 0 && k < 1000000);
	ovf.n = k;
	ovf.last_rc = rc;
	siglongjmp(escape, 1);
}

/* frames from the caller's frame to the end */
NOINLINE static int frames_from_caller(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	int k = 0;

	sw_getcontext(&ctx);
	sw_init_local(&cur, &ctx);
	while (sw_step(&cur) == 0)
		k++;
	return k;
}

NOINLINE static void *overflow_thread(void *arg)
{
	struct sigaction sa;
	(void)arg;
	stack_t ss = altstack_on();

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_overflow;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	ovf.ref_n = frames_from_caller();
	if (sigsetjmp(escape, 1) == 0) {
		int r = overflow(0);
		OPAQUE(r);
	}
	altstack_off(ss);
	return NULL;
}

/* Infinite recursion on a 256 KiB thread stack, SIGSEGV handled on a
 * sigaltstack: the walk crosses every recursion frame (1000 to 2500, fewer
 * than the frame bound) to
 * overflow_thread, start_thread and the end. */
static void stack_overflow_case(void)
{
	pthread_attr_t attr;
	pthread_t th;

	memset(&ovf, 0, sizeof(ovf));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&th, &attr, overflow_thread, NULL) != 0) {
		perror("pthread_create");
		exit(2);
	}
	pthread_join(th, NULL);
	pthread_attr_destroy(&attr);
	printf("segv: case stack-overflow: recursion depth %d, walk %d frames, overflow_thread at "
	       "frame %d, last step %s\n", deepest, ovf.n, ovf.thread_idx, t_status(ovf.last_rc));
	CHECK_EQ(ovf.start0, (uint64_t)(uintptr_t)overflow, "stack overflow: frame 0 is in the recursion");
	CHECK(ovf.thread_idx == deepest + 1 || ovf.thread_idx == deepest + 2,
	      "stack overflow: the recursion's %d frames, depth %d", ovf.thread_idx, deepest);
	CHECK_EQ(ovf.no_info, 0, "stack overflow: frames without procedure info");
	CHECK_EQ(ovf.n - ovf.thread_idx, ovf.ref_n, "stack overflow: frames from overflow_thread out");
	CHECK_EQ(ovf.last_rc, SW_END_OF_STACK, "stack overflow: the walk's end");
}

/* ---------------------------------------------------------------- stack scan */

/* Code without CFI stopped in its prologue: two pushes, then ud2.  From
 * the SIGILL, the only way out is a return address after a call found in
 * the first stack slots (the frame pointer belongs to the caller). */
__asm__(".text\n"
	".globl sw_test_noncfi\n"
	".type sw_test_noncfi, @function\n"
	"sw_test_noncfi:\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	ud2\n"
	".size sw_test_noncfi, .-sw_test_noncfi\n");
void sw_test_noncfi(void);

static struct {
	int n, how[4], reliable[4];
	uint64_t ip[4], ra;
} scan;

static void on_sigill(int signo, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	sw_cursor_t cur;
	(void)signo;
	(void)si;

	scan.ra = *(uint64_t *)(uintptr_t)(uc->uc_mcontext.gregs[REG_RSP] + 16);
	sw_init_ucontext(&cur, uc);
	scan.n = 0;
	do {
		scan.ip[scan.n] = sw_get_ip(&cur);
		scan.how[scan.n] = sw_get_frame_source(&cur);
		scan.reliable[scan.n] = sw_is_reliable(&cur);
		scan.n++;
	} while (scan.n < 4 && sw_step(&cur) == 0);
	siglongjmp(escape, 1);
}

NOINLINE static void scan_case(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, NULL);
	if (sigsetjmp(escape, 1) == 0)
		sw_test_noncfi();
	printf("segv: case stack-scan: %d frames\n", scan.n);
	CHECK_EQ(scan.n, 4, "stack-scan: frames walked");
	CHECK_EQ(scan.how[0], SW_SRC_NONE, "stack-scan: frame 0's source");
	CHECK_EQ(scan.reliable[0], 1, "stack-scan: frame 0 is reliable");
	CHECK_EQ(scan.ip[1], scan.ra, "stack-scan: frame 1 is the caller");
	CHECK_EQ(scan.how[1], SW_SRC_STACK_SCAN, "stack-scan: frame 1 found by the stack scan");
	CHECK_EQ(scan.reliable[1], 0, "stack-scan: frame 1 is a guess");
	CHECK_EQ(scan.how[2], SW_SRC_EH_FRAME_HDR, "stack-scan: frame 2 found by CFI");
	CHECK_EQ(scan.reliable[2], 0, "stack-scan: still after a guess");
}

int main(void)
{
	pthread_t th;

	sw_init();
	run_case("stack", install(0));

	stack_t ss = altstack_on();
	run_case("altstack", install(1));
	altstack_off(ss);

	if (pthread_create(&th, NULL, thread_case, NULL) != 0) {
		perror("pthread_create");
		return 2;
	}
	pthread_join(th, NULL);

	run_case("restorer-without-cfi", install_raw());
	run_case("stack-again", install(0));
	stack_overflow_case();
	scan_case();
	return t_finish("segv");
}
