/*
 * x86-64 facts the CFI writers use (System V psABI 3.7, "Stack Unwind
 * Algorithm"): included through arch/arch.h.
 */
#ifndef SW_ARCH_X86_64_CFI_ARCH_H
#define SW_ARCH_X86_64_CFI_ARCH_H

#include <elf.h>

#include "arch/x86_64/regs.h"

/* CIE alignment factors: instructions are bytes; stack slots 8 bytes,
 * growing down. */
#define SW_ARCH_CIE_CODE_ALIGN 1
#define SW_ARCH_CIE_DATA_ALIGN (-8)
/* The return-address column (rip). */
#define SW_ARCH_RA_COLUMN SW_X86_64_RIP
/* Stack and frame pointer (DWARF numbers). */
#define SW_ARCH_SP_REG SW_X86_64_RSP
#define SW_ARCH_FP_REG SW_X86_64_RBP
/* At a call's target: CFA = sp + SW_ARCH_CFA_AT_ENTRY, the return
 * address at CFA + SW_ARCH_RA_AT_ENTRY (the call pushed it). */
#define SW_ARCH_CFA_AT_ENTRY 8
#define SW_ARCH_RA_AT_ENTRY (-8)
/* Registers whose rules the dynamic-region converter tracks: the general
 * registers and the return-address column (DWARF 0..16). */
#define SW_ARCH_CFI_NREG 17
/* The ELF objects written for debuggers (e_machine, class, data). */
#define SW_ARCH_ELF_MACHINE EM_X86_64
#define SW_ARCH_ELF_CLASS ELFCLASS64
#define SW_ARCH_ELF_DATA ELFDATA2LSB

#endif /* SW_ARCH_X86_64_CFI_ARCH_H */
