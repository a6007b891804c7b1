/*
 * x86-64 facts the JIT code uses: the canonical frame of
 * SW_JIT_UNWIND_FRAME (push rbp; mov rbp, rsp; push callee-saved...;
 * sub rsp, n -- and the reverse in epilogues), and the spin-wait hint.
 * Included through arch/arch.h.
 */
#ifndef SW_ARCH_X86_64_JIT_ARCH_H
#define SW_ARCH_X86_64_JIT_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86_64/regs.h"

/* Bytes of `push rbp` and of `mov rbp, rsp` (48 89 e5). */
#define SW_ARCH_FRAME_PUSH_FP_LEN 1
#define SW_ARCH_FRAME_SET_FP_LEN 3
/* Bytes a push moves the stack pointer by. */
#define SW_ARCH_FRAME_SLOT 8

/* Bytes of `push reg` / `pop reg`: REX.B is needed for r8..r15. */
static inline unsigned sw_arch_push_len(unsigned reg)
{
	return reg >= SW_X86_64_R12 ? 2 : 1;
}

/* Bytes of `sub rsp, n` / `add rsp, n`: 48 83 /r ib, or 48 81 /r id. */
static inline unsigned sw_arch_sp_adjust_len(uint32_t n)
{
	return n == 0 ? 0 : n <= 127 ? 4 : 7;
}

/* Registers the canonical frame may push: the callee-saved ones (rbx,
 * rbp, r12..r15). */
static inline bool sw_arch_frame_saveable(unsigned reg)
{
	return reg == SW_X86_64_RBX || reg == SW_X86_64_RBP ||
	       (reg >= SW_X86_64_R12 && reg <= SW_X86_64_R15);
}

/* Inside a spin-wait loop. */
static inline void sw_arch_spin_pause(void)
{
	__builtin_ia32_pause();
}

/* nongnu libunwind's names for local unwinding on this architecture
 * (_UL<arch>_name) and its instruction-pointer register number
 * (libunwind-x86_64.h: UNW_X86_64_RIP), for the libunwind publisher. */
#define SW_ARCH_UNW_LOCAL(name) _ULx86_64_##name
#define SW_ARCH_UNW_LOCAL_STR(name) "_ULx86_64_" #name
#define SW_ARCH_UNW_REG_IP 16

#endif /* SW_ARCH_X86_64_JIT_ARCH_H */
