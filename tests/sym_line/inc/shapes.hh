// Test input for tests/unit/test_sym_line.c: templates and inline
// functions used by two C++ units, so the linker keeps one copy of each
// (COMDAT) and the other copy's line rows point at address 0.
#ifndef SYM_LINE_SHAPES_HH
#define SYM_LINE_SHAPES_HH

#include <vector>

template <typename T>
struct Acc {
	std::vector<T> items;
	void add(T v)
	{
		items.push_back(v);
	}
	T total() const
	{
		T s = T();
		for (const T &x : items)
			s += x;
		return s;
	}
};

inline int twice(int x)
{
	return x * 2 + (x > 100 ? 1 : 0);
}

int second_unit(int n);

#endif
