/*
 * x86-64 facts of other processes and their core files (src/remote):
 * the ELF machine, the register set ptrace and NT_PRSTATUS carry
 * (struct user_regs_struct) and where a core's elf_prstatus holds it.
 */
#ifndef SW_ARCH_X86_64_TARGET_H
#define SW_ARCH_X86_64_TARGET_H

#include <elf.h>
#include <stdint.h>

#include "arch/x86_64/regs.h"
#include "arch/x86_64/sigframe.h"

#define SW_ARCH_ELF_MACHINE EM_X86_64
#define SW_ARCH_ELF_MACHINE_NAME "x86-64"
/* struct user_regs_struct: 27 words */
#define SW_ARCH_USER_REGS_SIZE (27 * 8)
/* struct elf_prstatus: its size and the offset of pr_reg */
#define SW_ARCH_PRSTATUS_SIZE 336
#define SW_ARCH_PRSTATUS_REG 112

/* The DWARF registers 0..SW_ARCH_NREGS-1 of a struct user_regs_struct
 * (`user_regs`, SW_ARCH_USER_REGS_SIZE bytes, any alignment). */
void sw_arch_user_regs(const void *user_regs, uint64_t regs[SW_ARCH_NREGS]);

/* A relocation of data (what a JIT object's .eh_frame and data hold):
 * for relocation `type` at address `p` whose symbol + addend is *value,
 * store what goes in the field in *value and return its width in bytes
 * (4 or 8), or 0 for a type that is not one of them. */
unsigned sw_arch_data_reloc(uint32_t type, uint64_t p, uint64_t *value);

#endif /* SW_ARCH_X86_64_TARGET_H */
