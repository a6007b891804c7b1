/*
 * The architecture the library is built for: one folder per architecture
 * under src/arch/, each with the same file names --
 *   regs.h      DWARF register numbers and names
 *   cfi_arch.h  what CFI and the objects written for it take from the
 *               architecture (CIE alignment factors, return-address
 *               column, stack/frame pointer, the rule at a call's target,
 *               the ELF machine)
 *   jit_arch.h  what the JIT description converters and the registry take
 *               from it (instruction lengths of the canonical frame, its
 *               callee-saved registers, the spin-wait hint, nongnu
 *               libunwind's symbol names)
 * (all three through this header), and, each through the selector of the
 * same name in src/arch/:
 *   frame.h/.c  the unwinder's compiled rules (packing, sw_apply_compiled,
 *               sw_compile_row) and the rules for frames without CFI
 *   sigframe.h/.c  the kernel's signal frame, __restore_rt, __start_context
 *   context.h, context.S, context_layout.h/.c  sw_context_t's layout,
 *               capture (sw_getcontext) and resume (sw_arch_resume)
 * -- so a second architecture is a new folder, not #ifdefs in the tree
 * (the Makefile builds src/arch/$(ARCH) only).
 */
#ifndef SW_ARCH_ARCH_H
#define SW_ARCH_ARCH_H
#if defined(__x86_64__)
#include "arch/x86_64/regs.h"
#include "arch/x86_64/cfi_arch.h"
#include "arch/x86_64/jit_arch.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif /* SW_ARCH_ARCH_H */
