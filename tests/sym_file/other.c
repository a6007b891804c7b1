/* A second program sharing common.h with prog.c (dwz -m). */
#include "common.h"

__attribute__((noinline)) int other_function(struct shared_list *l, enum shared_kind k)
{
	union shared_value v = { .d = k };
	return shared_sum(l) + (int)v.d;
}

int main(int argc, char **argv)
{
	struct shared_list l = { .pt = { argc, 5, 2.0, argv[0] } };
	printf("%d\n", other_function(&l, SK_LIST));
	return 0;
}
