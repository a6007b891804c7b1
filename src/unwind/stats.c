/* sw_get_stats: the per-module tables' counters (filecfi.c, names.c, tables.c). */
#include <string.h>

#include "unwind/internal.h"

_Static_assert(sizeof(struct sw_stats) == 128, "struct sw_stats keeps its size");

int sw_get_stats(struct sw_stats *stats)
{
	if (!stats)
		return SW_EINVAL;
	memset(stats, 0, sizeof(*stats));
	sw_file_cfi_stats(stats);
	sw_names_stats(stats);
	sw_tables_stats(stats);
	return 0;
}
