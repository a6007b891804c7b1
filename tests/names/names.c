/*
 * For the gdb comparison: a call chain of static and global functions,
 * through a function pointer and alloca/VLA frames; checkpoint() walks the
 * stack with stackwalk and prints one name per frame up to main, and the
 * test puts a gdb breakpoint on it to print gdb's `bt` of the same stack.
 */
#include <alloca.h>
#include <stdio.h>
#include <string.h>

#include "stackwalk.h"
#include "checkpoint.h"

volatile int sink;

__attribute__((noinline)) static void leaf_static(int n)
{
	char *p = alloca((size_t)n + 8);
	p[0] = (char)n;
	sink = p[0];
	checkpoint();
	sink++;
}

__attribute__((noinline)) void with_vla(int n)
{
	int v[n + 1];
	v[n] = n;
	leaf_static(v[n]);
	sink += v[0];
}

__attribute__((noinline)) static void recurse(int d)
{
	if (d == 0)
		with_vla(3);
	else
		recurse(d - 1);
	sink++;
}

static void (*volatile through_pointer)(int) = recurse;

int main(void)
{
	sw_init();
	through_pointer(3);
	return 0;
}
