/* A C test program for test_sym_dwarf: static functions, an always_inline
 * chain four levels deep, inline functions called from several places,
 * recursion and a function reached through a pointer (kept out of line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile int sink;

static inline __attribute__((always_inline)) int level4(int x)
{
	sink += x;
	return x * 3 + sink;
}

static inline __attribute__((always_inline)) int level3(int x)
{
	int y = level4(x + 1);
	sink ^= y;
	return y + level4(x - 1);
}

static inline __attribute__((always_inline)) int level2(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s += level3(i);
	return s;
}

static inline __attribute__((always_inline)) int level1(int x)
{
	return level2(x) + level2(x / 2);
}

static int helper(const char *s)
{
	int h = 0;
	while (*s)
		h = h * 31 + *s++;
	return h;
}

static inline int maybe_inlined(int a, int b)
{
	if (a > b)
		return helper("greater") + a;
	return helper("smaller") - b;
}

static int recurse(int n)
{
	if (n <= 1)
		return 1;
	return n * recurse(n - 1) + maybe_inlined(n, 3);
}

__attribute__((noinline)) int exported(int (*fn)(int), int v)
{
	return fn(v) + level1(v);
}

static int sorter(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	int v[16];
	for (int i = 0; i < 16; i++)
		v[i] = (i * 7919) % 16;
	qsort(v, 16, sizeof v[0], sorter);
	int r = exported(recurse, argc + 4);
	r += maybe_inlined(argc, v[3]);
	if (argc > 1)
		r += (int)strlen(argv[1]);
	printf("%d\n", r + level1(argc));
	return 0;
}
