/*
 * resume: sw_resume continues in an outer frame as longjmp would.
 *
 * run(N) calls a recursion rec(L) -> rec(L-1) -> ... -> rec(0) -> jumper(N);
 * jumper captures itself (sw_getcontext + sw_init_local), steps N frames to
 * frame X = rec(N-1), sets SW_REG_RAX to a magic value and calls sw_resume:
 * X continues right after its call instruction as if its callee had
 * returned the magic value.  Checked:
 *   - X sees exactly the magic value; the frames between never return;
 *   - X's five values kept in callee-saved registers across the call, its
 *     volatile stack local and its frame-pointer-relative state are intact,
 *     and so are those of every frame above X (which then return normally);
 *   - the levels alternate plain, alloca and over-aligned (realigned) frames,
 *     so the skipped and resumed frames have every frame shape;
 *   - N = 0: resuming jumper's own frame makes sw_getcontext "return" the
 *     magic value (the setjmp pattern);
 *   - from a SIGSEGV handler (null function pointer call): step once out of
 *     the interrupted frame and resume the caller as if the call through the
 *     null pointer had returned the magic value.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <signal.h>
#include <ucontext.h>

#include "common.h"

#define MAGIC 0x5eed1234abcd5678ull
#define LEVELS 10

static int steps_wanted;
static int jumper_failures;
static int skipped_returned;           /* frames below X that returned: must stay 0 */
static int x_seen, x_good;             /* X resumed, with the magic value and intact state */
static int above_good, above_bad;      /* frames above X after the resume */
static uint64_t expect_vals[LEVELS + 8][6];

NOINLINE static long jumper(int n)
{
	sw_context_t ctx;
	sw_cursor_t cur;

	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) != 0) {
		jumper_failures++;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int rc = sw_step(&cur);
		if (rc != 0) {
			printf("FAIL resume: step %d of %d: %s\n", i + 1, n, t_status(rc));
			jumper_failures++;
			return -1;
		}
	}
	sw_set_reg(&cur, SW_REG_RAX, MAGIC);
	int rc = sw_resume(&cur);
	printf("FAIL resume: sw_resume returned %s\n", t_status(rc));
	jumper_failures++;
	return -2;
}

typedef long (*level_fn)(int level, int n, uint64_t seed);
static long lvl_plain(int level, int n, uint64_t seed);
static long lvl_alloca(int level, int n, uint64_t seed);
static long lvl_aligned(int level, int n, uint64_t seed);
static level_fn volatile levels[3] = { lvl_plain, lvl_alloca, lvl_aligned };

/* inlined even at -O0: the levels must be adjacent frames */
static inline __attribute__((always_inline)) long next_level(int level, int n, uint64_t seed)
{
	if (level == 0)
		return jumper(n);
	return levels[(level - 1) % 3](level - 1, n, seed + 1);
}

/* After the call: check the values that lived in callee-saved registers
 * (a..e), the stack local and the level/n arguments themselves. */
static void after_call(int level, int n, long r, const uint64_t v[6], uint64_t mem)
{
	bool state_ok = level >= 0 && level < LEVELS + 8 && memcmp(v, expect_vals[level], 5 * 8) == 0 &&
			mem == expect_vals[level][5];

	if (level < n - 1) {
		skipped_returned++;
	} else if (level == n - 1) {
		x_seen++;
		if (r == (long)MAGIC && state_ok)
			x_good++;
		else
			printf("FAIL resume: N=%d: X (level %d) got %#lx, state %s\n", n, level,
			       (unsigned long)r, state_ok ? "intact" : "CORRUPT");
	} else {
		if (r == (long)MAGIC && state_ok)
			above_good++;
		else {
			above_bad++;
			printf("FAIL resume: N=%d: level %d above X got %#lx, state %s\n", n, level,
			       (unsigned long)r, state_ok ? "intact" : "CORRUPT");
		}
	}
}

#define LEVEL_BODY(EXTRA)                                                       \
	uint64_t a = seed * 3 + (uint64_t)level, b = a ^ 0x9e3779b97f4a7c15ull;     \
	uint64_t c = b * 5 + 7, d = c ^ (a << 7), e = d + b * 11;                   \
	volatile uint64_t mem = seed ^ ((uint64_t)level << 32) ^ 0xabcdefull;       \
	expect_vals[level][0] = a;                                                  \
	expect_vals[level][1] = b;                                                  \
	expect_vals[level][2] = c;                                                  \
	expect_vals[level][3] = d;                                                  \
	expect_vals[level][4] = e;                                                  \
	expect_vals[level][5] = mem;                                                \
	EXTRA;                                                                      \
	OPAQUE(a); OPAQUE(b); OPAQUE(c); OPAQUE(d); OPAQUE(e);                      \
	long r = next_level(level, n, seed);                                        \
	OPAQUE(a); OPAQUE(b); OPAQUE(c); OPAQUE(d); OPAQUE(e);                      \
	uint64_t v[6] = { a, b, c, d, e, 0 };                                       \
	after_call(level, n, r, v, mem);                                            \
	return r

NOINLINE static long lvl_plain(int level, int n, uint64_t seed)
{
	LEVEL_BODY((void)0);
}

NOINLINE static long lvl_alloca(int level, int n, uint64_t seed)
{
	LEVEL_BODY(char *p = alloca(64 + (size_t)level * 16); memset(p, level, 64);
		   __asm__ volatile("" : : "r"(p) : "memory"));
}

NOINLINE static long lvl_aligned(int level, int n, uint64_t seed)
{
	LEVEL_BODY(_Alignas(64) char buf[64]; memset(buf, level, sizeof(buf));
		   __asm__ volatile("" : : "r"(buf) : "memory"));
}

static void run(int n, int extra)
{
	int top = n - 1 + extra;

	skipped_returned = x_seen = x_good = above_good = above_bad = jumper_failures = 0;
	steps_wanted = n;
	long r = levels[top % 3](top, n, 1000 + (uint64_t)n);
	CHECK_EQ(r, MAGIC, "N=%d: the outermost level's result", n);
	CHECK_EQ(jumper_failures, 0, "N=%d: jumper", n);
	CHECK_EQ(skipped_returned, 0, "N=%d: frames between jumper and X returned", n);
	CHECK_EQ(x_seen, 1, "N=%d: X continued once", n);
	CHECK_EQ(x_good, 1, "N=%d: X saw the magic value with its state intact", n);
	CHECK_EQ(above_good, extra, "N=%d: frames above X returned normally", n);
	CHECK_EQ(above_bad, 0, "N=%d: frames above X with a bad value or state", n);
	printf("resume: N=%d (X = level %d of %d): %s\n", n, n - 1, top,
	       x_good == 1 && skipped_returned == 0 && above_bad == 0 ? "ok" : "FAILED");
}

/* N = 0: sw_getcontext "returns" twice. */
NOINLINE static void setjmp_like(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	volatile int passes = 0;
	uint64_t keep = 0x1234567890abcdefull;

	OPAQUE(keep);
	uint64_t got = (uint64_t)sw_getcontext(&ctx);
	OPAQUE(keep);
	passes++;
	if (passes == 1) {
		CHECK_EQ(got, 0, "sw_getcontext's first return");
		CHECK_EQ(sw_init_local(&cur, &ctx), 0, "sw_init_local");
		sw_set_reg(&cur, SW_REG_RAX, MAGIC & 0xffffffffu);
		int rc = sw_resume(&cur);
		CHECK(0, "sw_resume at frame 0 returned %s", t_status(rc));
		return;
	}
	CHECK_EQ(passes, 2, "sw_getcontext returned twice");
	CHECK_EQ((uint32_t)got, (uint32_t)MAGIC, "sw_getcontext's second return value (int)");
	CHECK_EQ(keep, 0x1234567890abcdefull, "a callee-saved value across the resume");
	printf("resume: N=0 (sw_getcontext returns again): %s\n",
	       passes == 2 && (uint32_t)got == (uint32_t)MAGIC ? "ok" : "FAILED");
}

/* ---------------------------------------------------------------- from a signal handler */

typedef long (*fn_t)(long);
static fn_t volatile null_fn;
static volatile int handler_rc;

static void on_segv(int signo, siginfo_t *si, void *uc)
{
	sw_cursor_t cur;
	(void)signo;
	(void)si;

	handler_rc = sw_init_ucontext(&cur, uc);
	if (handler_rc == 0)
		handler_rc = sw_step(&cur);   /* out of the null "function" */
	if (handler_rc != 0)
		_exit(3);
	sw_set_reg(&cur, SW_REG_RAX, MAGIC);
	handler_rc = sw_resume(&cur);
	_exit(4);
}

NOINLINE static long crash_and_continue(long x)
{
	uint64_t a = (uint64_t)x * 77, b = a ^ 0xfeedull, c = b + 3;
	OPAQUE(a); OPAQUE(b); OPAQUE(c);
	long r = null_fn(x);
	OPAQUE(a); OPAQUE(b); OPAQUE(c);
	CHECK_EQ(r, MAGIC, "the null call 'returned' the magic value");
	CHECK(a == (uint64_t)x * 77 && b == (a ^ 0xfeedull) && c == b + 3,
	      "callee-saved values across the resume out of the handler");
	return r + 1;
}

static void from_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;   /* resuming skips the mask restore */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	for (int i = 0; i < 3; i++) {
		long r = crash_and_continue(5 + i);
		CHECK_EQ(r, MAGIC + 1, "resumed out of the SIGSEGV handler (round %d)", i);
	}
	printf("resume: out of a SIGSEGV handler, 3 times: done\n");
	signal(SIGSEGV, SIG_DFL);
}

int main(void)
{
	sw_init();
	run(1, 2);
	run(2, 2);
	run(5, 2);
	run(5, 0);
	run(9, 1);
	setjmp_like();
	from_signal();
	return t_finish("resume");
}
