/* sw_get_stats: the per-module tables' counters (filecfi.c, names.c). */
#include <string.h>

#include "unwind/internal.h"

int sw_get_stats(struct sw_stats *stats)
{
	if (!stats)
		return SW_EINVAL;
	memset(stats, 0, sizeof(*stats));
	sw_file_cfi_stats(stats);
	sw_names_stats(stats);
	return 0;
}
