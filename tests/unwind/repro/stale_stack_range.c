/*
 * Reproducer: sw_step crashes (SIGSEGV inside the library) instead of
 * returning SW_EMEMORY when a thread's first unwinder call ran on a fiber
 * (makecontext/swapcontext, a coroutine stack) that was freed afterwards.
 *
 * sw_mem_init (src/unwind/memory.c) learns "the thread's stack" once, from
 * the mapping that holds its own frame (__builtin_frame_address) at the
 * thread's first call, and sw_mem_read_bytes trusts that range with a plain
 * load for the rest of the thread's life.  When that first call happens on
 * a fiber, the fiber's stack is cached; once it is unmapped, any walk that
 * starts or reads inside it faults.  (Commit 07eac7d stopped learning it
 * from the walk's SP; learning it from our own frame has the same problem
 * on fibers.)
 *
 *   cc -Iinclude tests/unwind/repro/stale_stack_range.c build/out/libstackwalk.a -ldl
 *   ./a.out    -> "walk on the fiber: 2 frames", then "Segmentation fault"
 *                 in sw_mem_read (expected: "step: -19", SW_EMEMORY)
 *
 * tests/unwind/corrupt.c, scenarios fiber_sp and fiber_fp, check the same.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <stackwalk.h>

static ucontext_t main_uc, fiber_uc;

static void fiber_fn(void)
{
	void *pcs[16];

	printf("walk on the fiber: %d frames\n", sw_backtrace(pcs, 16));
}

int main(void)
{
	size_t size = 64 * 1024;
	uint8_t *stk = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sw_context_t ctx;
	sw_cursor_t cur;

	setvbuf(stdout, NULL, _IONBF, 0);
	sw_init();
	/* the thread's first walk, on a fiber */
	getcontext(&fiber_uc);
	fiber_uc.uc_stack.ss_sp = stk;
	fiber_uc.uc_stack.ss_size = size;
	fiber_uc.uc_link = &main_uc;
	makecontext(&fiber_uc, fiber_fn, 0);
	swapcontext(&main_uc, &fiber_uc);
	munmap(stk, size);

	/* back on the thread's stack: a (corrupt) context whose SP lies in the
	 * freed fiber stack; no unwind info at IP 0x1000, so the frame-pointer
	 * rule reads [rbp] -> a plain load from unmapped memory */
	memset(&ctx, 0, sizeof(ctx));
	sw_context_set_reg(&ctx, SW_REG_RIP, 0x1000);
	sw_context_set_reg(&ctx, SW_REG_RSP, (uint64_t)(uintptr_t)stk + 0x100);
	sw_context_set_reg(&ctx, SW_REG_RBP, (uint64_t)(uintptr_t)stk + 0x200);
	sw_init_local(&cur, &ctx);
	printf("step: %d\n", sw_step(&cur));
	return 0;
}
