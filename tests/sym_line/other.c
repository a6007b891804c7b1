/* Test input for tests/unit/test_sym_line.c: the second unit. */
#include "util.h"

int other_work(int x)
{
	int v[4] = { x, x + 1, x * 2, x - 3 };
	return util_sum(v, 4) + util_mix(x, 3);
}

int other_loop(int n)
{
	int acc = 0;
	for (int i = 0; i < n; i++) {
		if (i % 3 == 0)
			acc += util_mix(acc, i);
		else
			acc -= i;
	}
	return acc;
}

/* Called by nobody: with -ffunction-sections -Wl,--gc-sections the linker
 * drops it and its line rows point at 0 (GNU ld) or a tombstone (lld). */
int other_unused(int x)
{
	return util_mix(x, x + 1) * 3;
}
