/*
 * Seeing modules go away.  Rules are cached by PC; after dlclose another
 * module may be mapped at the same addresses, so the cache must forget
 * everything it learnt.  glibc exports no counter of unloads that a signal
 * handler could read, so stackwalk interposes dlclose (as sanitizer
 * runtimes do): the program's calls reach this definition first, which
 * wraps the real one.
 *
 * The real dlclose unmaps the module and drops the loader's lock before it
 * returns; from then on another thread may map a module into the hole and
 * run and unwind it while this one has not yet returned.  So around the
 * real call:
 *
 *   sw_unloads_active++; bump generations (1); real dlclose;
 *   bump generations (2); sw_unloads_active--
 *
 * and sw_cache_gen() (internal.h) answers SW_CACHE_NOGEN — "do not cache"
 * — while any dlclose is between its two steps.  A cached rule carries the
 * generation g its walk read (with sw_cache_gen) before looking the PC up.
 * For an unload U that unmaps module M, the cases of a rule for a PC of M:
 *
 *   - g was read before U's bump (1): the bump precedes the unmapping, and
 *     whatever runs in a module mapped there later got its address through
 *     the loader's lock after it, so every later lookup reads a newer
 *     generation: the rule is a miss.  This covers every legitimate walk
 *     through M: code of M can only be on a stack while M is in use, and
 *     that use happens-before its final dlclose begins.  (Bumping only
 *     after the real dlclose, as this file once did, left the window
 *     between the unmapping and the bump: a thread that loaded another
 *     module into the hole at once applied M's cached rules to it.)
 *   - g was read between bumps (1) and (2): the walk read g with acquire,
 *     so it sees U's increment of sw_unloads_active (made before (1)) or a
 *     later value; that is non-zero unless U already decremented it, which
 *     it does after (2).  Either sw_cache_gen() answered SW_CACHE_NOGEN and
 *     nothing was cached, or (2) has made g stale already.  (Only a walk
 *     of stale or corrupt frames looks M's PCs up at this point.)
 *   - g was read after bump (2): the walk synchronised with it, so its
 *     lookup sees M gone and cannot produce M's rule.
 *
 * A dlclose that only drops a reference unmaps nothing; its bumps just
 * cost a few misses.  The module generation (sw_module_generation) is
 * bumped at both points too: filecfi.c re-checks a file it mapped when the
 * generation moved since the last check, and a check made while an unload
 * is in progress is not recorded, so it is redone once the unload is
 * over.  The JIT registry needs no such care: it bumps the cache
 * generation after unlinking a registration and before its caller may
 * reuse the code's memory.
 *
 * Limits: unloads glibc performs internally (NSS, iconv modules) do not go
 * through the public symbol, and a libstackwalk loaded with RTLD_LOCAL
 * does not interpose; call sw_flush_cache() yourself there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>

#include "unwind/internal.h"

static int (*real_dlclose)(void *);
uint32_t sw_module_generation;
uint32_t sw_unloads_active;

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

/* Exported, unversioned (mk/stackwalk.map): it interposes the C library's
 * dlclose only as a global symbol of default visibility. */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
	int (*fn)(void *) = __atomic_load_n(&real_dlclose, __ATOMIC_ACQUIRE);
	int rc;

	if (!fn) {
		fn = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
		if (!fn)
			return -1;
		__atomic_store_n(&real_dlclose, fn, __ATOMIC_RELEASE);
	}
	/* the module's compact table first: its link map and addresses may
	 * be the next module's as soon as the real dlclose returns */
	struct link_map *lm = NULL;
	void *h = handle;
	__asm__("" : "+r"(h));  /* declared nonnull, but a caller may pass NULL */
	if (h && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm)
		sw_tables_forget(lm);
	sw_unmap_begin();
	rc = fn(handle);
	sw_unmap_end();
	return rc;
}
