/*
 * The table of installed sources (source.h).  A fixed array by rank:
 * installing is a pointer store, asking is a loop over SW_RANK_COUNT
 * pointers; nothing is allocated or locked.
 */
#include <stackwalk.h>

#include "source/source.h"

static const struct sw_source *sources[SW_RANK_COUNT];

void sw_source_install(enum sw_source_rank rank, const struct sw_source *s)
{
	if ((unsigned)rank < SW_RANK_COUNT)
		__atomic_store_n(&sources[rank], s, __ATOMIC_RELEASE);
}

int sw_source_find(uint64_t pc, struct sw_fde_info *info)
{
	return sw_source_find_ranks(pc, 0, SW_RANK_COUNT, info);
}

int sw_source_find_ranks(uint64_t pc, unsigned first, unsigned last, struct sw_fde_info *info)
{
	info->from = NULL;
	for (unsigned r = first; r < last && r < SW_RANK_COUNT; r++) {
		const struct sw_source *s = __atomic_load_n(&sources[r], __ATOMIC_ACQUIRE);
		int rc;

		if (!s)
			continue;
		rc = s->find(pc, info);
		if (rc == 0)
			info->from = s;
		if (rc != SW_ENOTFOUND)
			return rc;
	}
	return SW_ENOTFOUND;
}

int sw_source_name(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	int rc = SW_ENOTFOUND;

	for (unsigned r = 0; r < SW_RANK_COUNT && rc == SW_ENOTFOUND; r++) {
		const struct sw_source *s = __atomic_load_n(&sources[r], __ATOMIC_ACQUIRE);

		if (s && s->name)
			rc = s->name(pc, buf, size, offset);
	}
	return rc;
}

int sw_source_eh_fde(uint64_t pc, void *buf, size_t size, const void **fde, uint64_t *start,
		     int *copied)
{
	int rc = SW_ENOTFOUND;

	for (unsigned r = 0; r < SW_RANK_COUNT && rc == SW_ENOTFOUND; r++) {
		const struct sw_source *s = __atomic_load_n(&sources[r], __ATOMIC_ACQUIRE);

		if (s && s->eh_fde)
			rc = s->eh_fde(pc, buf, size, fde, start, copied);
	}
	return rc;
}
