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
