/*
 * Seeing modules go away.  Rules are cached by PC; after dlclose another
 * module may be mapped at the same addresses, so the cache must forget
 * everything it learnt.  glibc exports no counter of unloads that a signal
 * handler could read, so stackwalk interposes dlclose (as sanitizer
 * runtimes do): the program's calls reach this definition first, which
 * calls the real one and then bumps the cache generation.
 *
 * Flushing after the real dlclose is enough: once it returns no thread can
 * be executing the module's code, so no walk can re-cache its PCs.  The
 * module generation tells filecfi.c to re-check the files it mapped.
 * Limits: unloads glibc performs internally (NSS, iconv modules) do not go
 * through the public symbol, and a libstackwalk loaded with RTLD_LOCAL
 * does not interpose; call sw_flush_cache() yourself there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "unwind/internal.h"

static int (*real_dlclose)(void *);
uint32_t sw_module_generation;

/* Called from sw_init: resolves the real dlclose early (dlsym is not
 * async-signal-safe), and, being referenced, makes a static link pull this
 * object — and so the dlclose definition — into every program that
 * unwinds. */
void sw_dlhooks_init(void)
{
	if (!__atomic_load_n(&real_dlclose, __ATOMIC_ACQUIRE))
		__atomic_store_n(&real_dlclose, (int (*)(void *))dlsym(RTLD_NEXT, "dlclose"),
				 __ATOMIC_RELEASE);
}

int dlclose(void *handle)
{
	int (*fn)(void *) = __atomic_load_n(&real_dlclose, __ATOMIC_ACQUIRE);
	int rc;

	if (!fn) {
		fn = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
		if (!fn)
			return -1;
		__atomic_store_n(&real_dlclose, fn, __ATOMIC_RELEASE);
	}
	rc = fn(handle);
	__atomic_fetch_add(&sw_module_generation, 1, __ATOMIC_RELEASE);
	sw_flush_cache();
	return rc;
}
