/*
 * Corpus program for the CFI tests: functions whose prologues and epilogues
 * exercise the CFI a compiler emits — deep recursion, alloca and VLAs,
 * over-aligned locals (stack realignment), tail calls, noreturn calls,
 * calls through function pointers and the PLT, many callee-saved registers.
 * Built by gcc and clang at several optimisation levels, with and without
 * frame pointers; the tests compare `stackwalk cfi --readelf` with readelf.
 */
#include <alloca.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf escape;
volatile int sink;

__attribute__((noinline)) static int recurse(int n)
{
	if (n <= 0)
		return sink;
	return recurse(n - 1) + n;
}

__attribute__((noinline)) static int with_alloca(int n)
{
	char *p = alloca((size_t)n + 16);
	memset(p, n, (size_t)n + 16);
	return p[n / 2] + recurse(3);
}

__attribute__((noinline)) static int with_vla(int n)
{
	int v[n + 1];
	for (int i = 0; i <= n; i++)
		v[i] = i * sink;
	return v[n] + with_alloca(n);
}

__attribute__((noinline)) static int realigned(int n)
{
	_Alignas(64) char buf[128];
	memset(buf, n, sizeof(buf));
	return buf[n & 63] + with_vla(n);
}

__attribute__((noinline)) static int tail(int n)
{
	return realigned(n + 1);   /* a tail call at -O2 */
}

__attribute__((noreturn, noinline)) static void die(int code)
{
	longjmp(escape, code);
}

__attribute__((noinline)) static int many_regs(int a, int b, int c, int d)
{
	int r = 0;
	for (int i = 0; i < a; i++) {
		int x = i * b, y = i ^ c, z = i + d, w = x * y;
		r += recurse(i & 3) + x + y + z + w;
		sink = r;
	}
	return r;
}

static int (*volatile indirect)(int) = tail;

int main(int argc, char **argv)
{
	(void)argv;
	int r = indirect(argc) + many_regs(argc + 3, 2, 3, 4);
	if (setjmp(escape) == 0 && r == -12345)
		die(1);
	printf("%d\n", r > 0);
	return 0;
}
