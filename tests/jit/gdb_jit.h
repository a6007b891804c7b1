/*
 * The GDB JIT interface's list as the tests read it back (gdb manual,
 * "JIT Interface"): the descriptor stackwalk's GDB publisher
 * (src/jit/publishers/gdb.c) maintains, declared as GDB sees it.
 */
#ifndef SW_TEST_GDB_JIT_H
#define SW_TEST_GDB_JIT_H

#include <stdint.h>

struct jit_code_entry {
	struct jit_code_entry *next_entry, *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};

extern struct {
	uint32_t version, action_flag;
	struct jit_code_entry *relevant_entry, *first_entry;
} __jit_debug_descriptor;

#endif
