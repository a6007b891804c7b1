/*
 * Compile-time checks of context_layout.h against struct sw_context_impl
 * (the library's view of the opaque sw_context_t, context.h): the
 * offsets context.S uses (sw_getcontext stores, sw_arch_resume loads) are
 * the C struct's.  Compiled into the library so every build runs them;
 * the object holds no code.
 */
#include <stddef.h>

#include "arch/x86_64/context.h"
#include "arch/x86_64/context_layout.h"
#include "arch/x86_64/regs.h"
#include "stackwalk.h"

#define SW_CHECK_SLOT(reg, off)                                                    \
	_Static_assert(offsetof(struct sw_context_impl, regs) + (reg) * sizeof(uint64_t) == (off), \
		       "context.S offset of " #reg " differs from sw_context_impl")

SW_CHECK_SLOT(SW_X86_64_RAX, SW_CTX_RAX);
SW_CHECK_SLOT(SW_X86_64_RDX, SW_CTX_RDX);
SW_CHECK_SLOT(SW_X86_64_RCX, SW_CTX_RCX);
SW_CHECK_SLOT(SW_X86_64_RBX, SW_CTX_RBX);
SW_CHECK_SLOT(SW_X86_64_RSI, SW_CTX_RSI);
SW_CHECK_SLOT(SW_X86_64_RDI, SW_CTX_RDI);
SW_CHECK_SLOT(SW_X86_64_RBP, SW_CTX_RBP);
SW_CHECK_SLOT(SW_X86_64_RSP, SW_CTX_RSP);
SW_CHECK_SLOT(SW_X86_64_R8, SW_CTX_R8);
SW_CHECK_SLOT(SW_X86_64_R9, SW_CTX_R9);
SW_CHECK_SLOT(SW_X86_64_R10, SW_CTX_R10);
SW_CHECK_SLOT(SW_X86_64_R11, SW_CTX_R11);
SW_CHECK_SLOT(SW_X86_64_R12, SW_CTX_R12);
SW_CHECK_SLOT(SW_X86_64_R13, SW_CTX_R13);
SW_CHECK_SLOT(SW_X86_64_R14, SW_CTX_R14);
SW_CHECK_SLOT(SW_X86_64_R15, SW_CTX_R15);
SW_CHECK_SLOT(SW_X86_64_RIP, SW_CTX_RIP);

/* the public enum numbers registers as the psABI does */
_Static_assert((int)SW_REG_RSP == (int)SW_X86_64_RSP && (int)SW_REG_RIP == (int)SW_X86_64_RIP &&
	       (int)SW_REG_COUNT == (int)SW_X86_64_RIP + 1, "enum sw_reg is not DWARF order");
_Static_assert(offsetof(struct sw_context_impl, regs) == 0, "the context starts with its registers");
_Static_assert(offsetof(struct sw_context_impl, flags) == SW_CTX_FLAGS, "context.S offset of flags");
_Static_assert(sizeof(uint64_t) * SW_REG_COUNT == SW_CTX_FLAGS, "17 register slots");
_Static_assert(sizeof(struct sw_context_impl) == SW_CTX_SIZE, "the context's size");
/* sw_getcontext writes SW_CTX_SIZE bytes into the caller's sw_context_t */
_Static_assert(SW_CTX_SIZE <= sizeof(sw_context_t), "sw_context_t holds the context");
