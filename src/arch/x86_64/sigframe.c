/*
 * x86-64 signal frames.
 *
 * When a handler returns it `ret`s into the restorer the kernel was given
 * (SA_RESTORER): glibc's and musl's __restore_rt are both
 *
 *     48 c7 c0 0f 00 00 00    mov    $15, %rax      (rt_sigreturn)
 *     0f 05                   syscall
 *
 * and at that point %rsp points at the kernel's struct rt_sigframe minus
 * its pretcode word, i.e. at the ucontext_t whose uc_mcontext.gregs hold
 * every register of the interrupted code.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <string.h>
#include <ucontext.h>

#include "arch/x86_64/sigframe.h"

static const uint8_t restore_rt[SW_ARCH_SIGRETURN_LEN] = {
	0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05
};

bool sw_arch_is_sigreturn(const uint8_t *code)
{
	return memcmp(code, restore_rt, sizeof(restore_rt)) == 0;
}

/*
 * glibc's __start_context (sysdeps/unix/sysv/linux/x86_64/__start_context.S),
 * where a function started by makecontext() returns to: makecontext
 * stores its address as that function's return address, so a walk of the
 * context's stack meets it as the last frame's IP.  It has no caller (it
 * switches to uc_link or exits) and its FDE describes nothing useful, but
 * nothing marks it outermost (no DW_CFA_undefined rip, as of glibc 2.36),
 * and the lookup PC (IP - 1) lies before it, in padding or in the
 * previous function.  So it is recognised by its bytes:
 *
 *     [f3 0f 1e fa            endbr64, in CET builds]
 *     48 89 dc                mov    %rbx, %rsp
 *     48 8b 3c 24             mov    (%rsp), %rdi      (uc_link)
 *     48 85 ff                test   %rdi, %rdi
 *     74 08                   je     1f
 *     e8 xx xx xx xx          call   __setcontext
 *     48 89 c7                mov    %rax, %rdi
 *  1: e8 xx xx xx xx          call   exit
 *     f4                      hlt
 *
 * (glibc builds with shadow-stack support put shadow-stack code between
 * the endbr64 and the mov: not recognised, the walk then ends with an
 * error there, as before.)  The call displacements (bytes 13..16 and
 * 21..24 of the pattern below) are not compared.
 */
static const uint8_t start_context[26] = {
	0x48, 0x89, 0xdc, 0x48, 0x8b, 0x3c, 0x24, 0x48, 0x85, 0xff, 0x74, 0x08,
	0xe8, 0x00, 0x00, 0x00, 0x00, 0x48, 0x89, 0xc7,
	0xe8, 0x00, 0x00, 0x00, 0x00, 0xf4,
};

_Static_assert(sizeof(start_context) + 4 <= SW_ARCH_START_CONTEXT_LEN, "endbr64 + pattern");

bool sw_arch_is_start_context(const uint8_t *code)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

	if (memcmp(code, endbr64, sizeof(endbr64)) == 0)
		code += sizeof(endbr64);
	for (size_t i = 0; i < sizeof(start_context); i++) {
		bool wildcard = (i >= 13 && i < 17) || (i >= 21 && i < 25);
		if (!wildcard && code[i] != start_context[i])
			return false;
	}
	return true;
}

/* gregs index for each DWARF register 0..16 (sys/ucontext.h REG_*). */
static const int greg_of_dwarf[SW_ARCH_NREGS] = {
	REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP,
};

/* The kernel's ucontext layout is glibc's for everything up to gregs. */
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs) == 40, "ucontext gregs offset");

uint64_t sw_arch_greg_offset(unsigned dwarf_reg)
{
	return offsetof(ucontext_t, uc_mcontext.gregs) +
	       (uint64_t)greg_of_dwarf[dwarf_reg] * sizeof(greg_t);
}

void sw_arch_ucontext_regs(const void *ucontext, uint64_t regs[SW_ARCH_NREGS])
{
	const ucontext_t *uc = ucontext;

	for (unsigned r = 0; r < SW_ARCH_NREGS; r++)
		regs[r] = (uint64_t)uc->uc_mcontext.gregs[greg_of_dwarf[r]];
}
