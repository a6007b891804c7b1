/* The library's view of sw_context_t: one folder per architecture. */
#ifndef SW_ARCH_CONTEXT_H
#define SW_ARCH_CONTEXT_H
#if defined(__x86_64__)
#include "arch/x86_64/context.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
