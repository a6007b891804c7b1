/*
 * x86-64: libunwind's register numbers (UNW_X86_64_*, the DWARF numbers)
 * in ptrace's struct user_regs_struct, and the SSE registers in struct
 * user_fpregs_struct.  Another architecture gets a file like this one.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "upt.h"

#define OFF(f) (int)offsetof(struct user_regs_struct, f)

/* nongnu exports this table (const int[17]: the offset in struct user of
 * each of UNW_X86_64_RAX .. UNW_X86_64_RIP); so does this library */
SWU_API const int _UPT_reg_offset[] = {
	OFF(rax), OFF(rdx), OFF(rcx), OFF(rbx), OFF(rsi), OFF(rdi), OFF(rbp), OFF(rsp),
	OFF(r8), OFF(r9), OFF(r10), OFF(r11), OFF(r12), OFF(r13), OFF(r14), OFF(r15),
	OFF(rip),
};
_Static_assert(sizeof(_UPT_reg_offset) == 17 * sizeof(int), "one offset per register");

int upt_reg(pid_t pid, int reg, unw_word_t *val, int write)
{
	if (reg < UNW_X86_64_RAX || reg > UNW_X86_64_RIP)
		return -UNW_EBADREG;
	long off = _UPT_reg_offset[reg];
	if (write)
		return ptrace(PTRACE_POKEUSER, pid, (void *)off, (void *)*val) < 0 ? -UNW_EBADREG : 0;
	errno = 0;
	long v = ptrace(PTRACE_PEEKUSER, pid, (void *)off, NULL);
	if (v == -1 && errno)
		return -UNW_EBADREG;
	*val = (unw_word_t)v;
	return 0;
}

/* No floating-point register is numbered in this ABI (nongnu's x86-64
 * build without CONFIG_MSABI_SUPPORT: register 17 is the CFA), so, as
 * there, every one is -UNW_EBADREG. */
int upt_fpreg(pid_t pid, int reg, unw_fpreg_t *val, int write)
{
	(void)pid;
	(void)reg;
	(void)val;
	(void)write;
	return -UNW_EBADREG;
}
