/*
 * The shared library the corpus links against: its own recursion (the
 * recursive call goes through the PLT under -fPIC's default visibility),
 * alloca'd frames, and a call back into the program at the bottom.
 */
#include <alloca.h>
#include <string.h>

#include "chains.h"

#define OPAQUE(x) __asm__ volatile("" : "+r"(x))

__attribute__((noinline)) int so_recurse(int n, int (*cb)(int), int id)
{
	if (n <= 0)
		return cb(id);
	char *p = alloca((size_t)(n & 7) * 16 + 8);
	memset(p, n, 8);
	__asm__ volatile("" : : "r"(p) : "memory");
	int r = so_recurse(n - 1, cb, id);
	OPAQUE(r);
	return r + p[0];
}
