/*
 * Address spaces: unw_local_addr_space (this process) and those of
 * unw_create_addr_space (remote: the caller's accessors).
 */
#include <stdlib.h>

#include "internal.h"

struct unw_addr_space swu_local_as = {
	.kind = SWU_AS_LOCAL,
	.caching = UNW_CACHE_GLOBAL,
};

SWU_API unw_addr_space_t unw_local_addr_space = &swu_local_as;
SWU_ALIAS(local_addr_space);

/* byteorder: 0 (the host's) or little-endian; x86-64 targets only. */
SWU_API unw_addr_space_t unw_create_addr_space(unw_accessors_t *accessors, int byteorder)
{
	struct unw_addr_space *as;

	if (!accessors || (byteorder != 0 && byteorder != __ORDER_LITTLE_ENDIAN__))
		return NULL;
	if (!(as = calloc(1, sizeof(*as))))
		return NULL;
	as->kind = SWU_AS_REMOTE;
	as->byteorder = byteorder;
	as->caching = UNW_CACHE_GLOBAL;
	as->acc = *accessors;
	return as;
}
SWU_ALIAS(create_addr_space);

/* The local address space is never destroyed. */
SWU_API void unw_destroy_addr_space(unw_addr_space_t as)
{
	if (!as || as->kind != SWU_AS_REMOTE)
		return;
	sw_as_free(as->sw);
	free(as);
}
SWU_ALIAS(destroy_addr_space);

/* nongnu exports this one under the generic name only */
SWU_API unw_accessors_t *unw_get_accessors(unw_addr_space_t as)
{
	return as ? &as->acc : NULL;
}

SWU_API int unw_set_caching_policy(unw_addr_space_t as, unw_caching_policy_t policy)
{
	if (!as)
		return -UNW_EINVAL;
	if (policy != UNW_CACHE_NONE && policy != UNW_CACHE_GLOBAL &&
	    policy != UNW_CACHE_PER_THREAD)
		return -UNW_EINVAL;
	if (policy == UNW_CACHE_NONE && policy != (unw_caching_policy_t)as->caching)
		unw_flush_cache(as, 0, 0);
	if (as != &swu_local_as)
		as->caching = (int)policy;
	return 0;
}
SWU_ALIAS(set_caching_policy);

/* The caches are fixed-size here (the local rule cache, a remote space's
 * arena and rule cache): the size is accepted and not used.  flags must be
 * 0, as libunwind documents. */
SWU_API int unw_set_cache_size(unw_addr_space_t as, size_t size, int flags)
{
	(void)size;
	if (!as || flags != 0)
		return -UNW_EINVAL;
	return 0;
}
SWU_ALIAS(set_cache_size);

/* The whole cache whatever [lo, hi) (libunwind: "currently, the entire
 * cache is flushed"). */
SWU_API void unw_flush_cache(unw_addr_space_t as, unw_word_t lo, unw_word_t hi)
{
	(void)lo;
	(void)hi;
	if (!as || as->kind != SWU_AS_REMOTE)
		sw_flush_cache();
	else if (as->sw)
		sw_as_flush(as->sw);
}
