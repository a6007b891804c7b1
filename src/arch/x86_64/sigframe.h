/* x86-64 signal-frame layout and trampoline recognition (sigframe.c). */
#ifndef SW_ARCH_X86_64_SIGFRAME_H
#define SW_ARCH_X86_64_SIGFRAME_H

#include <stdbool.h>
#include <stdint.h>

#define SW_ARCH_NREGS 17              /* DWARF registers 0..16 (rax..r15, rip) */
#define SW_ARCH_SIGRETURN_LEN 9       /* bytes of __restore_rt compared */

/* True when the SW_ARCH_SIGRETURN_LEN bytes at `code` are __restore_rt. */
bool sw_arch_is_sigreturn(const uint8_t *code);

/* Bytes read to recognise glibc's __start_context (endbr64 included). */
#define SW_ARCH_START_CONTEXT_LEN 30

/* True when the SW_ARCH_START_CONTEXT_LEN bytes at `code` begin with
 * glibc's __start_context: the return address makecontext() leaves at the
 * bottom of a context's stack, i.e. the end of that stack. */
bool sw_arch_is_start_context(const uint8_t *code);

/* Offset of DWARF register `dwarf_reg`'s saved value from the start of a
 * ucontext_t (the address %rsp holds inside __restore_rt). */
uint64_t sw_arch_greg_offset(unsigned dwarf_reg);

/* All registers of a (trusted, kernel-written) ucontext_t. */
void sw_arch_ucontext_regs(const void *ucontext, uint64_t regs[SW_ARCH_NREGS]);

#endif
