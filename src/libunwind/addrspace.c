/*
 * Address spaces: unw_local_addr_space (this process) and those of
 * unw_create_addr_space (remote: the caller's accessors).
 */
#include "internal.h"

struct unw_addr_space swu_local_as = {
	.kind = SWU_AS_LOCAL,
	.caching = UNW_CACHE_GLOBAL,
};

SWU_API unw_addr_space_t unw_local_addr_space = &swu_local_as;
SWU_ALIAS(local_addr_space);
