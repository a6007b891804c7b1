/*
 * When the unwinders build a module's compact table: at the module's
 * sw_table_threshold-th miss of the rule cache, for a loaded module
 * (src/unwind/tables.c) and for a module file a remote, core or snapshot
 * walk reads (src/remote/space.c) alike.  SW_TABLES in the environment
 * when the library is loaded sets it: 0 turns the tables off, N > 0
 * builds at the N-th miss.  Read in a constructor, not on the unwind path
 * (getenv is not async-signal-safe).
 */
#include <stdlib.h>

#include "table/table.h"

uint32_t sw_table_threshold = SW_TABLE_THRESHOLD;

__attribute__((constructor)) static void table_env(void)
{
	const char *v = getenv("SW_TABLES");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return;
	n = strtoul(v, &end, 10);
	if (*end || n > UINT32_MAX)
		return;         /* not a number: the default */
	__atomic_store_n(&sw_table_threshold, (uint32_t)n, __ATOMIC_RELAXED);
}
