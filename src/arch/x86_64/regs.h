/*
 * x86-64 DWARF register numbers (System V psABI, figure 3.36) and names.
 * A second architecture adds src/arch/<arch>/regs.h with the same names.
 */
#ifndef SW_ARCH_X86_64_REGS_H
#define SW_ARCH_X86_64_REGS_H

enum sw_x86_64_dwarf_reg {
	SW_X86_64_RAX = 0, SW_X86_64_RDX = 1, SW_X86_64_RCX = 2, SW_X86_64_RBX = 3,
	SW_X86_64_RSI = 4, SW_X86_64_RDI = 5, SW_X86_64_RBP = 6, SW_X86_64_RSP = 7,
	SW_X86_64_R8 = 8, SW_X86_64_R9 = 9, SW_X86_64_R10 = 10, SW_X86_64_R11 = 11,
	SW_X86_64_R12 = 12, SW_X86_64_R13 = 13, SW_X86_64_R14 = 14, SW_X86_64_R15 = 15,
	SW_X86_64_RIP = 16,   /* the return address column */
};

/* Number of DWARF register names sw_arch_reg_name knows (0..125). */
#define SW_ARCH_NREG_NAMES 126

/* Name of DWARF register `regno` ("rax", "xmm3", "k0", ...) or NULL when
 * the number has no name.  Thread-safe and async-signal-safe. */
const char *sw_arch_reg_name(unsigned regno);

#endif /* SW_ARCH_X86_64_REGS_H */
