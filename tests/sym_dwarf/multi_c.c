/* A C unit in the C++ program (another language, another producer's
 * conventions when built with the other compiler). */
static inline __attribute__((always_inline)) int c_inner(int x)
{
	return x * 7 + 1;
}

int unit_c(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s ^= c_inner(i + s);
	return s;
}
