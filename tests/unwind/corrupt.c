/*
 * corrupt: walks over corrupted stacks end with an error code or
 * SW_END_OF_STACK, never a crash or an endless loop.
 *
 * Stacks are built by hand in an mmap'd area fenced by PROT_NONE pages, and
 * walked from a hand-made sw_context_t (sw_init_local) or ucontext_t
 * (sw_init_ucontext).  The return addresses used are call sites in two
 * assembly functions with known CFI:
 *   fp_ra  in fake_fp_fn:  CFA = rbp + 16, rbp at CFA-16, return address at CFA-8
 *   sp_ra  in fake_sp_fn:  CFA = rsp + 32, return address at CFA-8
 * so every expected step result (code, IP, SP) is exact.  A step that fails
 * leaves the cursor where it was, and stepping again fails the same way.
 *
 * Each scenario runs in a forked child under alarm(), so a crash or a hang
 * is reported as that scenario's failure and the others still run.  The
 * parent never walks, so each child starts with nothing cached about its
 * stack (the fiber scenarios need that: the first walk runs on a fiber).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "common.h"

__asm__(".text\n"
	".p2align 4\n"
	".globl fake_fp_fn\n"
	".type fake_fp_fn, @function\n"
	"fake_fp_fn:\n"
	".cfi_startproc\n"
	"pushq %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"movq %rsp, %rbp\n"
	".cfi_def_cfa_register %rbp\n"
	"call *%rdi\n"
	".globl fp_ra\n"
	"fp_ra:\n"
	"popq %rbp\n"
	".cfi_def_cfa %rsp, 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size fake_fp_fn, .-fake_fp_fn\n"
	"\n"
	".p2align 4\n"
	".globl fake_sp_fn\n"
	".type fake_sp_fn, @function\n"
	"fake_sp_fn:\n"
	".cfi_startproc\n"
	"subq $24, %rsp\n"
	".cfi_def_cfa_offset 32\n"
	"call *%rdi\n"
	".globl sp_ra\n"
	"sp_ra:\n"
	"addq $24, %rsp\n"
	".cfi_def_cfa_offset 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size fake_sp_fn, .-fake_sp_fn\n");
void fp_ra(void);
void sp_ra(void);

#define FP_RA ((uint64_t)(uintptr_t)fp_ra)
#define SP_RA ((uint64_t)(uintptr_t)sp_ra)

#define PAGE 4096ul
#define DATA_PAGES 16
#define NWORDS (DATA_PAGES * PAGE / 8)

/* [guard][DATA_PAGES data pages][guard] */
static uint8_t *area;
static uint64_t *data;            /* the data pages */
static uint64_t guard_lo, guard_hi;   /* the two PROT_NONE pages */

#define W(i) ((uint64_t)(uintptr_t)&data[i])

static void setup_area(void)
{
	area = mmap(NULL, (DATA_PAGES + 2) * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	mprotect(area, PAGE, PROT_NONE);
	mprotect(area + (DATA_PAGES + 1) * PAGE, PAGE, PROT_NONE);
	data = (uint64_t *)(void *)(area + PAGE);
	guard_lo = (uint64_t)(uintptr_t)area;
	guard_hi = (uint64_t)(uintptr_t)(area + (DATA_PAGES + 1) * PAGE);
}

static void clear_area(void)
{
	memset(data, 0, DATA_PAGES * PAGE);
}

static void init_ctx(sw_cursor_t *cur, uint64_t ip, uint64_t sp, uint64_t fp)
{
	sw_context_t ctx;

	memset(&ctx, 0, sizeof(ctx));
	CHECK_EQ(sw_context_set_reg(&ctx, SW_REG_RIP, ip), 0, "sw_context_set_reg rip");
	CHECK_EQ(sw_context_set_reg(&ctx, SW_REG_RSP, sp), 0, "sw_context_set_reg rsp");
	CHECK_EQ(sw_context_set_reg(&ctx, SW_REG_RBP, fp), 0, "sw_context_set_reg rbp");
	CHECK_EQ(sw_context_set_reg(&ctx, SW_REG_RBX, 0x1111), 0, "sw_context_set_reg rbx");
	CHECK_EQ(sw_init_local(cur, &ctx), 0, "sw_init_local on a hand-made context");
}

struct expect {
	int rc;
	uint64_t ip, sp;   /* after the step (unchanged when it fails) */
};

/* Step through `n` expected results, then once more: the last result
 * (SW_END_OF_STACK or an error) must repeat, and the cursor must not move. */
static void expect_walk(const char *name, sw_cursor_t *cur, const struct expect *e, int n)
{
	for (int i = 0; i <= n; i++) {
		const struct expect *x = &e[i < n ? i : n - 1];
		int rc = sw_step(cur);
		CHECK_EQ(rc, x->rc, "%s: step %d returned %s", name, i + 1, t_status(rc));
		if (rc != x->rc)
			return;
		if (rc == SW_END_OF_STACK)
			continue;   /* where the cursor is at the end: not specified */
		CHECK_EQ(sw_get_ip(cur), x->ip, "%s: IP after step %d", name, i + 1);
		CHECK_EQ(sw_get_sp(cur), x->sp, "%s: SP after step %d", name, i + 1);
	}
}

/* ---------------------------------------------------------------- scenarios */

/* baseline: the fake frames unwind as designed, to a zero return address */
static void s_good_chain(void)
{
	sw_cursor_t cur;

	data[110] = W(120);     /* fp frame: saved rbp, return address */
	data[111] = SP_RA;
	data[115] = FP_RA;      /* sp frame at W(112): return address at sp + 24 */
	data[120] = 0;
	data[121] = 0;          /* return address 0: the outermost frame */
	init_ctx(&cur, FP_RA, W(100), W(110));
	struct expect e[] = {
		{ 0, SP_RA, W(112) },
		{ 0, FP_RA, W(116) },
		{ SW_END_OF_STACK, 0, 0 },
	};
	expect_walk("good chain", &cur, e, 3);
}

static void ra_then_nothing(const char *name, uint64_t ra)
{
	sw_cursor_t cur;

	data[110] = 0;          /* saved rbp 0: no frame-pointer fallback either */
	data[111] = ra;
	init_ctx(&cur, FP_RA, W(100), W(110));
	struct expect e[] = {
		{ 0, ra, W(112) },
		{ SW_ENOTFOUND, ra, W(112) },
	};
	expect_walk(name, &cur, e, 2);
}

static void s_ra_random(void) { ra_then_nothing("random return address", 0xdeadbeefcafef00dull); }
static void s_ra_random_canonical(void) { ra_then_nothing("unmapped return address", 0x00007f0123456780ull); }
static void s_ra_small(void) { ra_then_nothing("return address 0x10", 0x10); }
static void s_ra_data(void) { ra_then_nothing("return address into data", W(500)); }
static void s_ra_guard(void) { ra_then_nothing("return address into a PROT_NONE page", guard_lo + 64); }

static void s_ra_zero(void)
{
	sw_cursor_t cur;

	data[110] = W(120);
	data[111] = 0;
	init_ctx(&cur, FP_RA, W(100), W(110));
	struct expect e[] = { { SW_END_OF_STACK, 0, 0 } };
	expect_walk("return address 0", &cur, e, 1);
}

static void bad_fp(const char *name, uint64_t fp, int rc)
{
	sw_cursor_t cur;

	init_ctx(&cur, FP_RA, W(100), fp);
	struct expect e[] = { { rc, FP_RA, W(100) } };
	expect_walk(name, &cur, e, 1);
}

/* a CFA at or below SP is known bad before any read: SW_ERANGE; a CFA above
 * SP whose saved registers cannot be read: SW_EMEMORY */
static void s_fp_small(void) { bad_fp("frame pointer 0x10", 0x10, SW_ERANGE); }
static void s_fp_zero(void) { bad_fp("frame pointer 0", 0, SW_ERANGE); }
static void s_fp_wrap(void) { bad_fp("frame pointer whose CFA wraps", 0xfffffffffffffff8ull, SW_ERANGE); }
static void s_fp_noncanonical(void) { bad_fp("frame pointer 0xdeadbeefdeadbeef", 0xdeadbeefdeadbeefull, SW_EMEMORY); }
static void s_fp_guard(void) { bad_fp("frame pointer into a PROT_NONE page", guard_hi + 64, SW_EMEMORY); }

/* a frame pointer below SP: the CFA it gives is below the stack pointer */
static void s_fp_below(void)
{
	data[50] = W(60);
	data[51] = SP_RA;
	bad_fp("frame pointer below SP", W(50), SW_ERANGE);
}

static void bad_sp(const char *name, uint64_t sp, int rc)
{
	sw_cursor_t cur;

	init_ctx(&cur, SP_RA, sp, 0);
	struct expect e[] = { { rc, SP_RA, sp } };
	expect_walk(name, &cur, e, 1);
}

static void s_sp_guard(void) { bad_sp("SP into a PROT_NONE page", guard_lo, SW_EMEMORY); }
static void s_sp_guard_top(void) { bad_sp("SP whose frame runs into the upper PROT_NONE page", guard_hi - 16, SW_EMEMORY); }
static void s_sp_small(void) { bad_sp("SP 0x10", 0x10, SW_EMEMORY); }
static void s_sp_wrap(void) { bad_sp("SP whose CFA wraps", 0xfffffffffffffff0ull, SW_ERANGE); }

/* a frame pointer pointing at itself, with CFI: the CFA stops growing */
static void s_loop_self(void)
{
	sw_cursor_t cur;

	data[110] = W(110);
	data[111] = FP_RA;
	init_ctx(&cur, FP_RA, W(100), W(110));
	struct expect e[] = {
		{ 0, FP_RA, W(112) },
		{ SW_ERANGE, FP_RA, W(112) },
	};
	expect_walk("self-referencing frame pointer", &cur, e, 2);
}

/* two frames pointing at each other */
static void s_loop_two(void)
{
	sw_cursor_t cur;

	data[110] = W(120);
	data[111] = FP_RA;
	data[120] = W(110);
	data[121] = FP_RA;
	init_ctx(&cur, FP_RA, W(100), W(110));
	struct expect e[] = {
		{ 0, FP_RA, W(112) },
		{ 0, FP_RA, W(122) },
		{ SW_ERANGE, FP_RA, W(122) },
	};
	expect_walk("two-frame frame-pointer loop", &cur, e, 3);
}

/* a self-referencing frame pointer in code without CFI (frame-pointer
 * fallback): the second frame's rbp lies below its SP, no rule applies */
static void s_loop_nocfi(void)
{
	sw_cursor_t cur;
	uint64_t ip = 0x1000;

	data[110] = W(110);
	data[111] = ip;
	init_ctx(&cur, ip, W(100), W(110));
	struct expect e[] = {
		{ 0, ip, W(112) },
		{ SW_ENOTFOUND, ip, W(112) },
	};
	expect_walk("self-referencing frame pointer without CFI", &cur, e, 2);
}

/* valid-looking frames all the way to the end of the mapping */
static void s_runaway(void)
{
	sw_cursor_t cur;
	int steps = 0, rc;

	for (unsigned long i = 100; i < NWORDS; i += 4)
		data[i + 3] = SP_RA;
	init_ctx(&cur, SP_RA, W(100), 0);
	while ((rc = sw_step(&cur)) == 0 && steps < 100000)
		steps++;
	/* frame k (SP = W(100 + 4k)) reads its return address at word 100 + 4k + 3 */
	int expected = (int)((NWORDS - 103 + 3) / 4);
	CHECK_EQ(rc, SW_EMEMORY, "runaway chain: the walk's end: %s", t_status(rc));
	CHECK_EQ(steps, expected, "runaway chain: steps before the end of the mapping");
	CHECK_EQ(sw_get_sp(&cur), W(100 + 4 * (uint64_t)expected), "runaway chain: SP at the end");
	CHECK_EQ(sw_step(&cur), SW_EMEMORY, "runaway chain: stepping again");
}

/* more valid-looking frames than the old 4096-frame bound, off the thread's
 * stack: no count ends the walk (the stack grows at every step), the end of
 * the mapping does (a PROT_NONE page after it), after exactly every frame */
static void s_deep_chain(void)
{
	sw_cursor_t cur;
	size_t pages = 256, words = pages * PAGE / 8;
	int steps = 0, rc;
	uint8_t *map = mmap(NULL, (pages + 1) * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED || mprotect(map + pages * PAGE, PAGE, PROT_NONE) != 0) {
		CHECK(0, "mmap");
		return;
	}
	uint64_t *big = (uint64_t *)(void *)map;
	for (size_t i = 0; i + 4 <= words; i += 4)
		big[i + 3] = SP_RA;
	init_ctx(&cur, SP_RA, (uint64_t)(uintptr_t)big, 0);
	while ((rc = sw_step(&cur)) == 0 && steps < 1000000)
		steps++;
	printf("corrupt: the deep chain ended after %d steps\n", steps);
	CHECK_EQ(rc, SW_EMEMORY, "32768 frames: the walk's end: %s", t_status(rc));
	CHECK_EQ(steps, (int)(words / 4), "32768 frames: every one walked");
	CHECK_EQ(sw_step(&cur), SW_EMEMORY, "deep chain: stepping again");
}

/* a signal frame whose saved context is itself: __restore_rt's IP and an
 * SP at the ucontext that holds them.  Signal frames are exempt from the
 * growing-stack check, so only SW_MAX_SIGNAL_FRAMES ends this loop. */
static void s_signal_loop(void)
{
	struct sigaction sa, old;
	sw_cursor_t cur;
	int steps = 0, rc;

	/* glibc's restorer, as it installs it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGUSR2, &sa, NULL) != 0 || sigaction(SIGUSR2, NULL, &old) != 0 ||
	    !old.sa_restorer) {
		CHECK(0, "no sa_restorer");
		return;
	}
	ucontext_t *uc = (ucontext_t *)(void *)&data[64];
	memset(uc, 0, sizeof(*uc));
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)old.sa_restorer;
	uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)uc;
	CHECK_EQ(sw_init_ucontext(&cur, uc), 0, "init");
	while ((rc = sw_step(&cur)) == 0 && steps < 100000)
		steps++;
	CHECK_EQ(rc, SW_ETOODEEP, "signal-frame loop: the walk's end: %s", t_status(rc));
	CHECK_EQ(steps, SW_MAX_SIGNAL_FRAMES, "signal-frame loop: steps");
	CHECK_EQ(sw_get_ip(&cur), (uint64_t)(uintptr_t)old.sa_restorer, "signal-frame loop: IP");
	CHECK_EQ(sw_step(&cur), SW_ETOODEEP, "signal-frame loop: stepping again");
}

/* an interrupted frame whose IP is in a PROT_NONE page (a jump through a bad
 * pointer): the return address at SP, then the CFI of fp_ra */
static void s_interrupted_guard(void)
{
	sw_cursor_t cur;
	ucontext_t uc;

	memset(&uc, 0, sizeof(uc));
	data[100] = FP_RA;
	data[110] = 0;
	data[111] = 0;
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(guard_lo + 128);
	uc.uc_mcontext.gregs[REG_RSP] = (greg_t)W(100);
	uc.uc_mcontext.gregs[REG_RBP] = (greg_t)W(110);
	CHECK_EQ(sw_init_ucontext(&cur, &uc), 0, "sw_init_ucontext on a hand-made ucontext");
	CHECK_EQ(sw_get_ip(&cur), guard_lo + 128, "interrupted IP");
	CHECK_EQ(sw_is_signal_frame(&cur), 1, "hand-made ucontext: signal frame");
	struct expect e[] = {
		{ 0, FP_RA, W(101) },
		{ SW_END_OF_STACK, 0, 0 },
	};
	expect_walk("interrupted in a PROT_NONE page", &cur, e, 2);
}

/* a hand-made ucontext whose SP is unreadable and IP is not code */
static void s_interrupted_bad_sp(void)
{
	sw_cursor_t cur;
	ucontext_t uc;

	memset(&uc, 0, sizeof(uc));
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)0x10;
	uc.uc_mcontext.gregs[REG_RSP] = (greg_t)guard_hi;
	CHECK_EQ(sw_init_ucontext(&cur, &uc), 0, "sw_init_ucontext");
	struct expect e[] = { { SW_EMEMORY, 0x10, guard_hi } };
	expect_walk("interrupted at 0x10 with SP in a PROT_NONE page", &cur, e, 1);
}

/* A walk on a stack that has since been unmapped: the memory the first walk
 * saw readable must not be trusted by the next one. */
static void s_unmapped_after_walk(void)
{
	sw_cursor_t cur;
	uint64_t *old = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (old == MAP_FAILED) {
		CHECK(0, "mmap");
		return;
	}
	uint64_t o = (uint64_t)(uintptr_t)old;
	old[110] = 0;
	old[111] = 0;
	init_ctx(&cur, FP_RA, o + 800, o + 880);
	CHECK_EQ(sw_step(&cur), SW_END_OF_STACK, "a walk on a mapped fake stack");
	munmap(old, 4 * PAGE);
	/* the same stack pointer again, now unmapped */
	init_ctx(&cur, FP_RA, o + 800, o + 880);
	struct expect e[] = { { SW_EMEMORY, FP_RA, o + 800 } };
	expect_walk("SP into a stack unmapped since the last walk", &cur, e, 1);
}

static void s_unmapped_fp_after_walk(void)
{
	sw_cursor_t cur;
	/* page 0 stays PROT_NONE (the SP), pages 4..7 are the stack, unmapped later */
	uint8_t *res = mmap(NULL, 8 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (res == MAP_FAILED || mprotect(res + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE) != 0) {
		CHECK(0, "mmap");
		return;
	}
	uint64_t o = (uint64_t)(uintptr_t)(res + 4 * PAGE), bad_sp = (uint64_t)(uintptr_t)res + 8;
	init_ctx(&cur, FP_RA, o + 800, o + 880);
	CHECK_EQ(sw_step(&cur), SW_END_OF_STACK, "a walk on a mapped fake stack");
	munmap(res + 4 * PAGE, 4 * PAGE);
	/* a walk from an unreadable SP whose frame pointer points there */
	init_ctx(&cur, FP_RA, bad_sp, o + 880);
	struct expect e[] = { { SW_EMEMORY, FP_RA, bad_sp } };
	expect_walk("frame pointer into a stack unmapped since the last walk", &cur, e, 1);
}

/* The thread's first walk runs on a fiber (makecontext) stack, which is
 * freed afterwards; later walks must not trust that memory. */
static ucontext_t fiber_ret, fiber_uc;
static int fiber_frames;

static void fiber_fn(void)
{
	void *pcs[16];
	fiber_frames = sw_backtrace(pcs, 16);
}

/* Runs the fiber on the upper 64 KiB of a 128 KiB reservation whose lower
 * half stays PROT_NONE, then unmaps the fiber's stack.  Returns the stack's
 * base; *unreadable is an address in the PROT_NONE half, below it. */
static uint64_t run_fiber_then_unmap(uint64_t *unreadable)
{
	size_t size = 64 * 1024;
	uint8_t *res = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (res == MAP_FAILED || mprotect(res + size, size, PROT_READ | PROT_WRITE) != 0) {
		CHECK(0, "mmap");
		exit(1);
	}
	uint8_t *stk = res + size;
	getcontext(&fiber_uc);
	fiber_uc.uc_stack.ss_sp = stk;
	fiber_uc.uc_stack.ss_size = size;
	fiber_uc.uc_link = &fiber_ret;
	makecontext(&fiber_uc, fiber_fn, 0);
	swapcontext(&fiber_ret, &fiber_uc);
	CHECK(fiber_frames >= 2, "sw_backtrace on the fiber: %d frames", fiber_frames);
	munmap(stk, size);
	*unreadable = (uint64_t)(uintptr_t)res + 8;
	return (uint64_t)(uintptr_t)stk;
}

static void s_fiber_sp(void)
{
	sw_cursor_t cur;
	uint64_t bad_sp, o = run_fiber_then_unmap(&bad_sp);

	/* a context whose SP lies in the freed fiber stack */
	init_ctx(&cur, FP_RA, o + 800, o + 880);
	struct expect e[] = { { SW_EMEMORY, FP_RA, o + 800 } };
	expect_walk("SP into a fiber stack freed after the thread's first walk", &cur, e, 1);
}

static void s_fiber_fp(void)
{
	sw_cursor_t cur;
	uint64_t bad_sp, o = run_fiber_then_unmap(&bad_sp);

	/* SP unreadable; a frame pointer into the freed fiber stack, above SP
	 * (so the CFA grows and the saved registers are read) */
	init_ctx(&cur, FP_RA, bad_sp, o + 880);
	struct expect e[] = { { SW_EMEMORY, FP_RA, bad_sp } };
	expect_walk("frame pointer into a fiber stack freed after the thread's first walk", &cur, e, 1);
}

/* ---------------------------------------------------------------- driver */

struct scenario {
	const char *name;
	void (*fn)(void);
};

static const struct scenario scenarios[] = {
	{ "good_chain", s_good_chain },
	{ "ra_random", s_ra_random },
	{ "ra_unmapped", s_ra_random_canonical },
	{ "ra_0x10", s_ra_small },
	{ "ra_data", s_ra_data },
	{ "ra_guard", s_ra_guard },
	{ "ra_zero", s_ra_zero },
	{ "fp_0x10", s_fp_small },
	{ "fp_zero", s_fp_zero },
	{ "fp_noncanonical", s_fp_noncanonical },
	{ "fp_guard", s_fp_guard },
	{ "fp_wrap", s_fp_wrap },
	{ "fp_below_sp", s_fp_below },
	{ "sp_guard", s_sp_guard },
	{ "sp_guard_top", s_sp_guard_top },
	{ "sp_0x10", s_sp_small },
	{ "sp_wrap", s_sp_wrap },
	{ "loop_self", s_loop_self },
	{ "loop_two", s_loop_two },
	{ "loop_nocfi", s_loop_nocfi },
	{ "runaway", s_runaway },
	{ "deep_chain", s_deep_chain },
	{ "signal_loop", s_signal_loop },
	{ "interrupted_guard", s_interrupted_guard },
	{ "interrupted_bad_sp", s_interrupted_bad_sp },
	{ "unmapped_after_walk", s_unmapped_after_walk },
	{ "unmapped_fp_after_walk", s_unmapped_fp_after_walk },
	{ "fiber_sp", s_fiber_sp },
	{ "fiber_fp", s_fiber_fp },
};

struct shared {
	unsigned long pass, fail;
};

int main(void)
{
	int nscen = (int)(sizeof(scenarios) / sizeof(scenarios[0]));
	int crashed = 0;
	struct shared *sh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	sw_init();
	setup_area();
	for (int i = 0; i < nscen; i++) {
		memset(sh, 0, sizeof(*sh));
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			alarm(120);   /* a hang guard: generous for a loaded machine */
			t_pass = t_fail = 0;
			clear_area();
			scenarios[i].fn();
			sh->pass = t_pass;
			sh->fail = t_fail;
			fflush(stdout);
			_exit(0);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		t_pass += sh->pass;
		t_fail += sh->fail;
		if (!clean) {
			crashed++;
			if (WIFSIGNALED(status))
				printf("FAIL corrupt: scenario %s killed by signal %d (%s)%s\n", scenarios[i].name,
				       WTERMSIG(status), strsignal(WTERMSIG(status)),
				       WTERMSIG(status) == SIGALRM ? ": the walk did not end" : "");
			else
				printf("FAIL corrupt: scenario %s exited with %d\n", scenarios[i].name,
				       WEXITSTATUS(status));
		}
		CHECK(clean, "scenario %s ended cleanly", scenarios[i].name);
		printf("corrupt: %-24s %s\n", scenarios[i].name,
		       !clean ? "CRASHED" : sh->fail ? "failed" : "ok");
	}
	printf("corrupt: %d scenarios, %d crashed or hung\n", nscen, crashed);
	return t_finish("corrupt");
}
