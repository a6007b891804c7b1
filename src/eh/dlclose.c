/*
 * dlclose, interposed by libstackwalk_unwind.so too (not part of
 * libstackwalk_unwind.a: a static link has libstackwalk.a's).
 *
 * libstackwalk.so interposes dlclose so that stackwalk sees modules go
 * away (its rule cache, and this library's procedure cache, are by PC),
 * but only where it stands in the process's symbol search order.  This
 * library needs libstackwalk.so, and the loader puts a dependency after
 * the program's own: preloaded, or linked before the C++ runtime, this
 * library comes before the C library and libstackwalk.so after it, where
 * its dlclose is never reached.  So this one brackets the real dlclose
 * with the public sw_unmap_begin / sw_unmap_end.  When libstackwalk.so's
 * definition comes first (the program links -lstackwalk early), this one
 * is what it calls as the next dlclose: the brackets nest, harmlessly.
 */
#define _GNU_SOURCE 1   /* RTLD_NEXT */
#include <dlfcn.h>

#include <stackwalk.h>

#define EXPORT __attribute__((visibility("default")))

/* unversioned (src/eh/libgcc.map does not list it): it interposes
 * dlclose@GLIBC_* */
EXPORT int dlclose(void *handle)
{
	static int (*real)(void *);
	int (*fn)(void *) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	int rc;

	if (!fn) {
		fn = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
		if (!fn || fn == dlclose)
			return -1;
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	sw_unmap_begin();
	rc = fn(handle);
	sw_unmap_end();
	return rc;
}
