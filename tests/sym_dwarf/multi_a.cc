// Two C++ units sharing inline functions and templates (COMDAT: the
// linker keeps one copy; the other unit's DWARF describes a dropped one).
#include "multi.h"

static int local_a(int x)
{
	return multi::twice(x) + multi::Box<int>(x).get();
}

int unit_a(int x)
{
	return local_a(x) + multi::Box<long>(x).get() > 3 ? 1 : multi::deep(x);
}

int main(int argc, char **argv)
{
	(void)argv;
	return unit_a(argc) + unit_b(argc) + unit_c(argc);
}
