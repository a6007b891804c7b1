/*
 * Byte offsets in glibc's x86-64 ucontext_t (<sys/ucontext.h>), which is
 * libunwind's unw_context_t on x86-64, for getcontext.S (the preprocessor
 * runs on .S files) and for cursor.c, which checks every value against
 * the C layout with offsetof and _Static_assert: a layout the assembly
 * does not follow fails the build.  Plain numbers only: no C here.
 */
#ifndef SWU_X86_64_UCONTEXT_OFFSETS_H
#define SWU_X86_64_UCONTEXT_OFFSETS_H

/* uc_mcontext.gregs[REG_*] */
#define SWU_UC_R8       40
#define SWU_UC_R9       48
#define SWU_UC_R10      56
#define SWU_UC_R11      64
#define SWU_UC_R12      72
#define SWU_UC_R13      80
#define SWU_UC_R14      88
#define SWU_UC_R15      96
#define SWU_UC_RDI      104
#define SWU_UC_RSI      112
#define SWU_UC_RBP      120
#define SWU_UC_RBX      128
#define SWU_UC_RDX      136
#define SWU_UC_RAX      144
#define SWU_UC_RCX      152
#define SWU_UC_RSP      160
#define SWU_UC_RIP      168
#define SWU_UC_EFL      176

/* uc_mcontext.fpregs (a pointer) and the context's own __fpregs_mem (the
 * 512-byte fxsave image, struct _libc_fpstate) it points at */
#define SWU_UC_FPREGS_PTR 224
#define SWU_UC_FPREGS_MEM 424
#define SWU_FXSAVE_SIZE   512

#define SWU_UC_SIZE     968

#endif /* SWU_X86_64_UCONTEXT_OFFSETS_H */
