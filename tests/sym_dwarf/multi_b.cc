#include "multi.h"

int unit_b(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s += multi::twice(i) * multi::Box<int>(i).get() + multi::deep(i);
	return s + multi::Box<long>(s).get();
}

volatile int multi::sink;
