/* The program whose variants tests/unit/test_sym_file.c opens: global,
 * static and weak functions, a function without size (assembly), and
 * enough code that every DWARF section is non-trivial. */
#include "common.h"

__asm__(".text\n"
	".globl asm_nosize\n"
	".type asm_nosize, @function\n"
	"asm_nosize:\n"
	"\tnop\n\tnop\n\tnop\n\tret\n");
void asm_nosize(void);

static __attribute__((noinline)) int static_helper(int v)
{
	return v * 3 + (int)strlen(getenv("HOME") ? getenv("HOME") : "");
}

__attribute__((noinline, weak)) int weak_function(int v)
{
	return static_helper(v) + 1;
}

__attribute__((noinline)) int global_function(struct shared_list *l)
{
	union shared_value v = { .l = shared_sum(l) };
	return weak_function((int)v.l);
}

int main(int argc, char **argv)
{
	struct shared_list l = { .pt = { argc, 2, 1.0, argv[0] } };
	asm_nosize();
	printf("%d\n", global_function(&l));
	return 0;
}
