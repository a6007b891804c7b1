/*
 * stackwalk demo: backtraces with names, from normal code and from inside
 * a signal handler that caught a call through a null function pointer.
 * (A later issue replaces this with the JIT demo.)
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "stackwalk.h"

static sigjmp_buf escape;

/* Print the frames of a cursor walk: address, name+offset, and how the
 * unwind information was found. */
static void print_walk(sw_cursor_t *c)
{
	static const char *const source[] = { "?", ".eh_frame_hdr", ".eh_frame", ".debug_frame",
					      "frame pointer", "return address at SP",
					      "signal trampoline", "JIT" };
	int n = 0;

	do {
		char name[128];
		uint64_t off = 0;
		struct sw_proc_info pi;
		const char *src = sw_get_proc_info(c, &pi) == 0 ? source[pi.source] : "no unwind info";
		if (sw_get_proc_name(c, name, sizeof(name), &off) != 0)
			strcpy(name, "??");
		printf("  #%-2d 0x%012llx %s+0x%llx%s   [%s]\n", n++, (unsigned long long)sw_get_ip(c),
		       name, (unsigned long long)off, sw_is_signal_frame(c) ? " (interrupted)" : "", src);
	} while (sw_step(c) == 0 && n < 32);
}

__attribute__((noinline)) static void show_here(void)
{
	sw_context_t ctx;
	sw_cursor_t c;

	sw_getcontext(&ctx);
	sw_init_local(&c, &ctx);
	print_walk(&c);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	sw_cursor_t c;

	(void)sig;
	(void)si;
	printf("\n2. inside the SIGSEGV handler, walking from its ucontext: the first frame is\n"
	       "   the bad call's target (IP 0), then the caller found through the return\n"
	       "   address at SP, then the rest of the stack:\n");
	sw_init_ucontext(&c, uc);
	print_walk(&c);
	siglongjmp(escape, 1);
}

__attribute__((noinline)) static int call_through(void (*volatile fn)(void))
{
	fn();
	__asm__ volatile("");   /* keep the call out of tail position */
	return 1;
}

__attribute__((noinline)) static void recurse(int depth)
{
	if (depth == 0) {
		printf("1. a backtrace from normal code (recurse() called itself 3 times):\n");
		show_here();
		return;
	}
	recurse(depth - 1);
	__asm__ volatile("");
}

int main(void)
{
	struct sigaction sa;

	sw_init();
	recurse(3);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(escape, 1) == 0)
		call_through(NULL);
	printf("\nrecovered from SIGSEGV\n");
	return 0;
}
