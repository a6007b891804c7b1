/*
 * sw_version, and the sizes of the public structs that must never change
 * within a soname (stackwalk.h: "room to grow"): a field added in the
 * wrong place fails the build here instead of breaking old binaries.
 */
#include <stddef.h>

#include "stackwalk.h"

_Static_assert(sizeof(sw_context_t) == 384, "sw_context_t's size is part of the ABI");
_Static_assert(sizeof(sw_cursor_t) == 512, "sw_cursor_t's size is part of the ABI");
_Static_assert(sizeof(struct sw_proc_info) == 128, "struct sw_proc_info's size is part of the ABI");
_Static_assert(offsetof(struct sw_proc_info, source) == 48, "struct sw_proc_info's layout");
_Static_assert(sizeof(struct sw_stats) == 128, "struct sw_stats's size is part of the ABI");
_Static_assert(offsetof(struct sw_stats, names_overflow) == 40, "struct sw_stats's layout");

uint32_t sw_version(void)
{
	return SW_VERSION;
}
