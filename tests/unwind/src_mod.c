/*
 * The module sources.c loads in several builds: mod_a -> mod_b -> mod_c ->
 * the program's callback.  MOD_PAD sizes a local array: two builds with
 * different MOD_PAD (and -fomit-frame-pointer) have call sites at the same
 * PCs and different CFA offsets.
 */
#ifndef MOD_PAD
#define MOD_PAD 16
#endif
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))
#define NOINLINE __attribute__((noinline))

typedef int (*mod_cb)(int);

static NOINLINE int mod_c(mod_cb cb, int n)
{
	volatile char pad[MOD_PAD];
	pad[0] = (char)n;
	__asm__ volatile("" : : "r"(pad) : "memory");
	int r = cb(n);
	OPAQUE(r);
	return r + pad[0];
}

static NOINLINE int mod_b(mod_cb cb, int n)
{
	volatile char pad[MOD_PAD * 2];
	pad[0] = (char)n;
	__asm__ volatile("" : : "r"(pad) : "memory");
	int r = mod_c(cb, n + 1);
	OPAQUE(r);
	return r + pad[0];
}

NOINLINE int mod_a(mod_cb cb, int n);
NOINLINE int mod_a(mod_cb cb, int n)
{
	volatile char pad[MOD_PAD];
	pad[0] = (char)n;
	__asm__ volatile("" : : "r"(pad) : "memory");
	int r = mod_b(cb, n + 1);
	OPAQUE(r);
	return r + pad[0];
}

/* the functions in calling order, for the test's exact procedure checks */
void *mod_fns[3] = { (void *)mod_a, (void *)mod_b, (void *)mod_c };
