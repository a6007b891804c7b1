/*
 * What the grouping publishers (libgcc.c, gdb.c) share: each keeps its
 * groups in an array sorted by address with disjoint hulls [lo, hi), so
 * sorted by lo is sorted by hi too.
 */
#ifndef SW_JIT_PUB_GROUPS_H
#define SW_JIT_PUB_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/* Index of the first of n groups that ends above `lo` (n when none):
 * hi(i) is group i's hull end, non-decreasing in i. */
static inline size_t sw_pub_group_first_after(size_t n, uint64_t (*hi)(size_t i), uint64_t lo)
{
	size_t a = 0, b = n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (hi(mid) <= lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

#endif /* SW_JIT_PUB_GROUPS_H */
