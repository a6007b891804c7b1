/*
 * libunwind-ptrace.so.0 (_UPT_*): the accessors of a process this program
 * traces, for unw_create_addr_space(&_UPT_accessors, 0).  Private to this
 * folder.
 *
 *   upt.c         handles, memory, modules (/proc/PID/maps and the ELF
 *                 headers in the target's memory), find_proc_info through
 *                 the module's .eh_frame_hdr, names from the module file's
 *                 symbol table, resume
 *   regs_x86_64.c the architecture's registers: the libunwind register
 *                 numbers in struct user_regs_struct / user_fpregs_struct
 */
#ifndef SW_LIBUNWIND_UPT_H
#define SW_LIBUNWIND_UPT_H

#include <sys/types.h>

#include "../internal.h"
#include <libunwind-ptrace.h>

/* A module of the target, as find_proc_info and get_proc_name need it. */
struct upt_module {
	uint64_t start, end;        /* the addresses its file's mappings cover */
	uint64_t bias;              /* load bias */
	uint64_t hdr;               /* .eh_frame_hdr's address, 0: none */
	uint64_t table;             /* its search table's address */
	uint64_t fde_count;
	char path[512];             /* as /proc/PID/maps names it */
	const uint8_t *file;        /* the file, mapped when first named */
	size_t file_size;
	int file_tried;
};

#define UPT_MODULES 64

struct upt_info {
	pid_t pid;
	int nmods;
	struct upt_module mods[UPT_MODULES];   /* a cache, refilled on a miss */
};

/* regs_x86_64.c: register `reg` of the thread (ptrace PEEKUSER/POKEUSER,
 * GETFPREGS/SETFPREGS).  Return 0 or a negated UNW_E* code. */
int upt_reg(pid_t pid, int reg, unw_word_t *val, int write);
int upt_fpreg(pid_t pid, int reg, unw_fpreg_t *val, int write);

#endif /* SW_LIBUNWIND_UPT_H */
