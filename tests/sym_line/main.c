/* Test input for tests/unit/test_sym_line.c (C, two units). */
#include <stdio.h>
#include <stdlib.h>
#include "util.h"

static int table[16];

static int __attribute__((noinline)) fill(int seed)
{
	for (int i = 0; i < 16; i++)
		table[i] = util_mix(seed, i);
	return util_sum(table, 16);
}

int main(int argc, char **argv)
{
	int seed = argc > 1 ? atoi(argv[1]) : 7;
	int r = fill(seed);
	r += other_work(r);
	r += other_loop(argc + 3);
	printf("%d\n", r);
	return 0;
}
