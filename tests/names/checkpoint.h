/*
 * checkpoint(): walks the calling stack with stackwalk and prints one
 * "sw: NAME" line per frame up to main ("??" for a frame without a name).
 * The gdb comparisons (gdb_names.sh, debuglink.sh) put a breakpoint on it
 * and compare gdb's `bt` of the same stack.
 */
#ifndef SW_TEST_CHECKPOINT_H
#define SW_TEST_CHECKPOINT_H

#include <stdio.h>
#include <string.h>

#include "stackwalk.h"

void checkpoint(void);

__attribute__((noinline)) void checkpoint(void)
{
	sw_context_t ctx;
	sw_cursor_t c;
	char name[256];
	uint64_t off;

	sw_getcontext(&ctx);
	sw_init_local(&c, &ctx);
	do {
		if (sw_get_proc_name(&c, name, sizeof(name), &off) != 0)
			strcpy(name, "??");
		printf("sw: %s\n", name);
		if (strcmp(name, "main") == 0)
			break;
	} while (sw_step(&c) == 0);
	fflush(stdout);
}

#endif
