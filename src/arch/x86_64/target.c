/*
 * x86-64 registers as other processes hand them over: struct
 * user_regs_struct, which ptrace's NT_PRSTATUS register set and a core
 * file's NT_PRSTATUS note (pr_reg) both hold, to DWARF numbering
 * (src/remote: ptrace.c, core.c), and the relocations of data a JIT
 * object may still hold (jit.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/user.h>

#include "arch/target.h"

/* The offset in struct user_regs_struct of each DWARF register. */
static const size_t user_reg_offset[SW_ARCH_NREGS] = {
	[SW_X86_64_RAX] = offsetof(struct user_regs_struct, rax),
	[SW_X86_64_RDX] = offsetof(struct user_regs_struct, rdx),
	[SW_X86_64_RCX] = offsetof(struct user_regs_struct, rcx),
	[SW_X86_64_RBX] = offsetof(struct user_regs_struct, rbx),
	[SW_X86_64_RSI] = offsetof(struct user_regs_struct, rsi),
	[SW_X86_64_RDI] = offsetof(struct user_regs_struct, rdi),
	[SW_X86_64_RBP] = offsetof(struct user_regs_struct, rbp),
	[SW_X86_64_RSP] = offsetof(struct user_regs_struct, rsp),
	[SW_X86_64_R8] = offsetof(struct user_regs_struct, r8),
	[SW_X86_64_R9] = offsetof(struct user_regs_struct, r9),
	[SW_X86_64_R10] = offsetof(struct user_regs_struct, r10),
	[SW_X86_64_R11] = offsetof(struct user_regs_struct, r11),
	[SW_X86_64_R12] = offsetof(struct user_regs_struct, r12),
	[SW_X86_64_R13] = offsetof(struct user_regs_struct, r13),
	[SW_X86_64_R14] = offsetof(struct user_regs_struct, r14),
	[SW_X86_64_R15] = offsetof(struct user_regs_struct, r15),
	[SW_X86_64_RIP] = offsetof(struct user_regs_struct, rip),
};

/* Every field is an unsigned long long of 8 bytes: the table above reads
 * them as uint64_t. */
_Static_assert(sizeof(((struct user_regs_struct *)0)->rax) == sizeof(uint64_t),
	       "user_regs_struct fields are 64-bit");
_Static_assert(sizeof(struct user_regs_struct) == SW_ARCH_USER_REGS_SIZE,
	       "user_regs_struct is the kernel's 27-word x86-64 layout");

void sw_arch_user_regs(const void *user_regs_struct, uint64_t regs[SW_ARCH_NREGS])
{
	const unsigned char *p = user_regs_struct;

	/* memcpy: the source may be unaligned (a note inside a core file). */
	for (int r = 0; r < SW_ARCH_NREGS; r++)
		memcpy(&regs[r], p + user_reg_offset[r], sizeof(uint64_t));
}

unsigned sw_arch_data_reloc(uint32_t type, uint64_t p, uint64_t *value)
{
	switch (type) {
	case R_X86_64_64:
		return 8;
	case R_X86_64_PC64:
		*value -= p;
		return 8;
	case R_X86_64_PC32:
		*value -= p;
		return 4;
	case R_X86_64_32:
	case R_X86_64_32S:
		return 4;
	default:
		return 0;
	}
}
