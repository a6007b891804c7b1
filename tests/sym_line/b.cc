// Test input for tests/unit/test_sym_line.c (C++, second unit).
#include "shapes.hh"

int second_unit(int n)
{
	Acc<int> a;
	Acc<double> d;
	for (int i = 0; i < n + 5; i++) {
		a.add(twice(i));
		d.add(i * 0.5);
	}
	return a.total() + (int)d.total();
}
