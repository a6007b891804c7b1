// Test input for tests/unit/test_sym_line.c (C++, first unit).
#include <cstdio>
#include "shapes.hh"

static int __attribute__((noinline)) build(int n)
{
	Acc<int> a;
	for (int i = 0; i < n; i++)
		a.add(twice(i));
	return a.total();
}

int main(int argc, char **)
{
	int r = build(argc + 10);
	r += second_unit(argc);
	std::printf("%d\n", r);
	return 0;
}
