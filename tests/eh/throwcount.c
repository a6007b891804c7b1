/*
 * throwcount.so (tests/scripts/eh.sh): LD_PRELOADed into a real program
 * after libstackwalk_unwind.so, it counts the program's C++ throws
 * (__cxa_throw, forwarded with dlsym(RTLD_NEXT)) and at exit appends to
 * $THROWCOUNT_FILE one line "throws N unwinder PATH", PATH being the object
 * that defines _Unwind_RaiseException in the process -- so the driver
 * knows the program did throw, through the stackwalk library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long throws;

typedef void (*cxa_throw_fn)(void *, void *, void (*)(void *));

void __cxa_throw(void *obj, void *tinfo, void (*dest)(void *))
{
	static cxa_throw_fn real;
	if (!real)
		real = (cxa_throw_fn)dlsym(RTLD_NEXT, "__cxa_throw");
	__atomic_fetch_add(&throws, 1, __ATOMIC_RELAXED);
	real(obj, tinfo, dest);
	__builtin_unreachable();
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("THROWCOUNT_FILE");
	if (!path)
		return;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	Dl_info di;
	void *p = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
	fprintf(f, "throws %lu unwinder %s\n", throws,
		p && dladdr(p, &di) && di.dli_fname ? di.dli_fname : "?");
	fclose(f);
}
