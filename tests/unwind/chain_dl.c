/*
 * The library the corpus dlopens: a recursion that calls back into the
 * program at the bottom.  Built twice: DL_PAD (the size of a local array)
 * changes the frame size and so the CFA offsets, but with -fomit-frame-pointer
 * not the code layout, so the two builds loaded at the same address have
 * call sites at the same PCs with different unwind rules.
 */
#include "chains.h"

#ifndef DL_PAD
#define DL_PAD 16
#endif
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))

int dl_entry(int n, int (*cb)(int), int id);

__attribute__((noinline)) static int dl_rec(int n, int (*cb)(int), int id)
{
	volatile char pad[DL_PAD];
	pad[0] = (char)n;
	pad[DL_PAD - 1] = (char)id;
	if (n <= 0)
		return cb(id) + pad[0] - pad[DL_PAD - 1];
	int r = dl_rec(n - 1, cb, id);
	OPAQUE(r);
	return r + pad[0] - pad[DL_PAD - 1];
}

int dl_entry(int n, int (*cb)(int), int id)
{
	int r = dl_rec(n, cb, id);
	OPAQUE(r);
	return r;
}
