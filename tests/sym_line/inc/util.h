/* Test input for tests/unit/test_sym_line.c: a header in another
 * directory with inline functions, so line rows point into it. */
#ifndef SYM_LINE_UTIL_H
#define SYM_LINE_UTIL_H

static inline int util_mix(int a, int b)
{
	int r = a * 31 + b;
	if (r & 1)
		r ^= 0x55;
	return r;
}

static inline int util_sum(const int *v, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s = util_mix(s, v[i]);
	return s;
}

int other_work(int x);
int other_loop(int n);
int other_unused(int x);

#endif
