/*
 * The traced program of tests/scripts/libunwind_remote.sh: a known chain
 * of calls (built -O2 -fomit-frame-pointer, so only CFI unwinds it), at
 * whose bottom it either blocks (mode "block": pause(), for the ptrace
 * tracer, after writing "ready" to stdout), makes a few getppid() system
 * calls (mode "syscall": strace -k), or burns CPU for a while (mode
 * "spin N": perf record --call-graph dwarf).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *mode;
static long spins;
volatile unsigned long sink;

__attribute__((noinline)) static void bottom(void)
{
	if (strcmp(mode, "block") == 0) {
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	} else if (strcmp(mode, "syscall") == 0) {
		for (int i = 0; i < 3; i++)
			sink += (unsigned long)getppid();
	} else {
		for (long i = 0; i < spins; i++)
			sink = sink * 6364136223846793005ul + (unsigned long)i;
	}
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void rt_level3(int n)
{
	char buf[64];
	memset(buf, n, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
	bottom();
	sink += buf[n & 63];
}

__attribute__((noinline)) void rt_level2(int n)
{
	rt_level3(n + 1);
	sink++;
}

__attribute__((noinline)) void rt_level1(int n)
{
	rt_level2(n + 1);
	sink++;
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "syscall";
	spins = argc > 2 ? atol(argv[2]) : 100000000;
	rt_level1(1);
	return 0;
}
