/*
 * Byte offsets of struct sw_context_impl's fields (context.h: the
 * library's view of the opaque sw_context_t), for the assembly in
 * context.S (the preprocessor runs on .S files, so it may include this
 * header) and for context_layout.c, which checks every value against the C
 * layout with offsetof and _Static_assert: a change to the layout that
 * the assembly does not follow fails the build instead of corrupting
 * registers.
 *
 * The context is 17 64-bit slots in DWARF register order (System V psABI:
 * rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip), then a flags word; the
 * offset of register r is r * 8.  Plain numbers only: no C here.
 */
#ifndef SW_ARCH_X86_64_CONTEXT_LAYOUT_H
#define SW_ARCH_X86_64_CONTEXT_LAYOUT_H

#define SW_CTX_RAX   0
#define SW_CTX_RDX   8
#define SW_CTX_RCX   16
#define SW_CTX_RBX   24
#define SW_CTX_RSI   32
#define SW_CTX_RDI   40
#define SW_CTX_RBP   48
#define SW_CTX_RSP   56
#define SW_CTX_R8    64
#define SW_CTX_R9    72
#define SW_CTX_R10   80
#define SW_CTX_R11   88
#define SW_CTX_R12   96
#define SW_CTX_R13   104
#define SW_CTX_R14   112
#define SW_CTX_R15   120
#define SW_CTX_RIP   128
#define SW_CTX_FLAGS 136
#define SW_CTX_SIZE  144

#endif /* SW_ARCH_X86_64_CONTEXT_LAYOUT_H */
