/*
 * resume_trap: sw_resume is correct at every instruction, under signals.
 *
 * A profiler's SIGPROF can land on any instruction of the code that
 * installs a resumed frame.  This program single-steps sw_resume with the
 * trap flag and a SIGTRAP handler on the thread's own stack, so a signal
 * frame is written below the stack pointer after every instruction:
 *
 *   - the resumed frame must still receive exactly the registers the
 *     cursor held (the magic value in rax, its callee-saved registers);
 *   - at every instruction of the resume code (sw_arch_resume), a walk
 *     from the interrupted context must be exact: stackwalk's walk from
 *     the ucontext and libgcc's _Unwind_Backtrace both give the
 *     interrupted PC, then the frame being resumed (its resume PC, exact),
 *     then that frame's callers, up to the end of the stack.
 *
 * The target is frame N above the jumper (N = 0, 1, 3), so the context
 * lies at every distance below the target's stack pointer.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <ucontext.h>

#include "common.h"

#define MAGIC 0x7ab1e5eed0c0ffeeull
#define MAXF 64

/* The resume code: internal, but a global symbol of libstackwalk.a. */
extern char sw_arch_resume[];

static volatile sig_atomic_t stepping;        /* 1 while the trap flag is set */
static volatile sig_atomic_t in_resume;       /* between sw_arch_resume's entry and the target */
static uint64_t target_ip;                     /* where the resume lands */
static void *expect[MAXF];                     /* target_ip, then the target's callers */
static int nexpect;
static int steps_in_resume, bad_walks, bad_libgcc;
static uint8_t seen_offset[256];
static char first_bad[512];

static inline void trap_flag_on(void)
{
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
}

static inline void trap_flag_off(void)
{
	__asm__ volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
}

/* Does `got` (n entries) equal `expect` after its first entry? */
static bool matches(void *const *got, int n, uint64_t pc)
{
	if (n != nexpect + 1 || (uint64_t)(uintptr_t)got[0] != pc)
		return false;
	for (int i = 0; i < nexpect; i++)
		if (got[i + 1] != expect[i])
			return false;
	return true;
}

static void note_bad(const char *who, uint64_t off, void *const *got, int n)
{
	int len;

	if (first_bad[0])
		return;
	len = snprintf(first_bad, sizeof(first_bad), "%s at sw_arch_resume+%#" PRIx64 ": %d frames:",
		       who, off, n);
	for (int i = 0; i < n && i < 16 && len > 0 && (size_t)len < sizeof(first_bad); i++)
		len += snprintf(first_bad + len, sizeof(first_bad) - (size_t)len, " %p", got[i]);
}

static void on_trap(int sig, siginfo_t *si, void *uctx)
{
	ucontext_t *uc = uctx;
	uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	uint64_t entry = (uint64_t)(uintptr_t)sw_arch_resume;
	void *pcs[MAXF + 8];
	int n;

	(void)sig;
	(void)si;
	if (!stepping)
		return;
	if (pc == entry)
		in_resume = 1;
	else if (pc == target_ip)
		in_resume = 0;
	if (!in_resume)
		return;
	steps_in_resume++;
	if (pc - entry < sizeof(seen_offset))
		seen_offset[pc - entry] = 1;

	/* stackwalk, from the interrupted context */
	n = sw_backtrace_ucontext(uc, pcs, MAXF + 8);
	if (!matches(pcs, n, pc)) {
		bad_walks++;
		note_bad("stackwalk", pc - entry, pcs, n);
	}

	/* libgcc, through the kernel's signal frame: skip to the interrupted PC */
	void *all[MAXF + 32];
	struct ug_state st = { all, 0, MAXF + 32 };
	_Unwind_Backtrace(ug_cb, &st);
	while (st.n > 0 && all[st.n - 1] == NULL)
		st.n--;   /* libgcc reports _start's caller as 0 */
	int k = 0;
	while (k < st.n && (uint64_t)(uintptr_t)all[k] != pc)
		k++;
	if (k == st.n || !matches(all + k, st.n - k, pc)) {
		bad_libgcc++;
		note_bad("libgcc", pc - entry, all + k, st.n - k);
	}
}

static int resumed_good, resumed_bad;
static long jumper(int n);
/* called through a volatile pointer: the optimiser must not assume
 * jumper's return values, the resumed frame gets MAGIC instead */
static long (*volatile jump_fn)(int) = jumper;

/* Captures itself, steps `n` frames to the target and resumes it with
 * rax = MAGIC, single-stepping. */
NOINLINE static long jumper(int n)
{
	sw_context_t ctx;
	sw_cursor_t cur, walk;

	sw_getcontext(&ctx);
	if (stepping) {
		/* n = 0: sw_getcontext "returned" a second time */
		return -3;
	}
	if (sw_init_local(&cur, &ctx) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (sw_step(&cur) != 0)
			return -1;
	/* the frames the walks must show above the resume code */
	walk = cur;
	nexpect = 0;
	target_ip = sw_get_ip(&cur);
	do
		expect[nexpect++] = (void *)(uintptr_t)sw_get_ip(&walk);
	while (nexpect < MAXF && sw_step(&walk) == 0);
	sw_set_reg(&cur, SW_REG_RAX, MAGIC);
	stepping = 1;
	trap_flag_on();
	sw_resume(&cur);
	trap_flag_off();
	stepping = 0;
	printf("FAIL resume_trap: sw_resume returned\n");
	return -2;
}

/* The target frames: each keeps values in callee-saved registers across
 * the call, checks them and the returned value after the resume. */
NOINLINE static long level(int depth, int n)
{
	uint64_t a = 0x1111 * (uint64_t)(depth + 1), b = a ^ 0x5a5a5a5a, c = a * 7;
	long r;

	OPAQUE(a);
	OPAQUE(b);
	OPAQUE(c);
	r = depth == 0 ? jump_fn(n) : level(depth - 1, n);
	if (stepping) {
		trap_flag_off();
		stepping = 0;
	}
	OPAQUE(a);
	OPAQUE(b);
	OPAQUE(c);
	if (b != (a ^ 0x5a5a5a5a) || c != a * 7) {
		printf("FAIL resume_trap: callee-saved values lost at depth %d\n", depth);
		resumed_bad++;
	}
	return r;
}

static void run(int n)
{
	/* n = 0 resumes jumper's own frame: sw_getcontext returns twice */
	long r = level(4, n);

	if (n == 0) {
		if (r == -3)
			resumed_good++;
		else {
			printf("FAIL resume_trap n=0: got %ld\n", r);
			resumed_bad++;
		}
		return;
	}
	if ((uint64_t)r == MAGIC) {
		resumed_good++;
	} else {
		printf("FAIL resume_trap n=%d: resumed frame got rax %#lx, not %#llx\n", n, r,
		       MAGIC);
		resumed_bad++;
	}
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;   /* on the thread's own stack, as SIGPROF usually is */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
	sw_init();

	static const int ns[] = { 0, 1, 3 };
	for (unsigned i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int before = steps_in_resume;
		run(ns[i]);
		CHECK(steps_in_resume - before >= 10, "n=%d: %d instructions of sw_arch_resume single-stepped",
		      ns[i], steps_in_resume - before);
	}
	int offsets = 0;
	for (unsigned i = 0; i < sizeof(seen_offset); i++)
		offsets += seen_offset[i];
	printf("resume_trap: %d steps at %d distinct instructions of sw_arch_resume\n",
	       steps_in_resume, offsets);
	CHECK(resumed_bad == 0 && resumed_good == 3, "resumed frames intact (%d good, %d bad)",
	      resumed_good, resumed_bad);
	CHECK(bad_walks == 0, "stackwalk's walk exact at every step (%d wrong)%s%s", bad_walks,
	      first_bad[0] ? ": first " : "", first_bad);
	CHECK(bad_libgcc == 0, "libgcc's walk exact at every step (%d wrong)%s%s", bad_libgcc,
	      first_bad[0] ? ": first " : "", first_bad);
	return t_finish("resume_trap");
}
