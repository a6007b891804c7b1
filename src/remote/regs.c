/*
 * Registers of another process or of a core file: the kernel's
 * struct user_regs_struct (what PTRACE_GETREGS fills and NT_PRSTATUS's
 * pr_reg holds) in DWARF numbering (System V psABI: rax, rdx, rcx, rbx,
 * rsi, rdi, rbp, rsp, r8..r15, then the return address column rip).
 *
 * The layout is the x86-64 one; a second architecture gets its own
 * table here (its user_pt_regs / NT_PRSTATUS layout).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/user.h>

#include <stackwalk.h>

#include "remote/remote.h"

#if !defined(__x86_64__)
#error "src/remote/regs.c knows only x86-64's struct user_regs_struct"
#endif

/* The offset in struct user_regs_struct of each DWARF register. */
static const size_t user_reg_offset[SW_REG_COUNT] = {
	[SW_REG_RAX] = offsetof(struct user_regs_struct, rax),
	[SW_REG_RDX] = offsetof(struct user_regs_struct, rdx),
	[SW_REG_RCX] = offsetof(struct user_regs_struct, rcx),
	[SW_REG_RBX] = offsetof(struct user_regs_struct, rbx),
	[SW_REG_RSI] = offsetof(struct user_regs_struct, rsi),
	[SW_REG_RDI] = offsetof(struct user_regs_struct, rdi),
	[SW_REG_RBP] = offsetof(struct user_regs_struct, rbp),
	[SW_REG_RSP] = offsetof(struct user_regs_struct, rsp),
	[SW_REG_R8] = offsetof(struct user_regs_struct, r8),
	[SW_REG_R9] = offsetof(struct user_regs_struct, r9),
	[SW_REG_R10] = offsetof(struct user_regs_struct, r10),
	[SW_REG_R11] = offsetof(struct user_regs_struct, r11),
	[SW_REG_R12] = offsetof(struct user_regs_struct, r12),
	[SW_REG_R13] = offsetof(struct user_regs_struct, r13),
	[SW_REG_R14] = offsetof(struct user_regs_struct, r14),
	[SW_REG_R15] = offsetof(struct user_regs_struct, r15),
	[SW_REG_RIP] = offsetof(struct user_regs_struct, rip),
};

/* Every field is an unsigned long long of 8 bytes: the table above reads
 * them as uint64_t. */
_Static_assert(sizeof(((struct user_regs_struct *)0)->rax) == sizeof(uint64_t),
	       "user_regs_struct fields are 64-bit");
_Static_assert(sizeof(struct user_regs_struct) == 27 * sizeof(uint64_t),
	       "user_regs_struct is the kernel's 27-word x86-64 layout");

void sw_rs_user_regs(const void *user_regs_struct, uint64_t regs[SW_REG_COUNT])
{
	const unsigned char *p = user_regs_struct;

	/* memcpy: the source may be unaligned (a note inside a core file). */
	for (int r = 0; r < SW_REG_COUNT; r++)
		memcpy(&regs[r], p + user_reg_offset[r], sizeof(uint64_t));
}

void sw_rs_regs_to_context(const uint64_t regs[SW_REG_COUNT], sw_context_t *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	for (int r = 0; r < SW_REG_COUNT; r++)
		(void)sw_context_set_reg(ctx, r, regs[r]); /* r is in range: cannot fail */
}
