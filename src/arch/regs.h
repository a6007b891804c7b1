/* Per-architecture register definitions: one folder per architecture. */
#ifndef SW_ARCH_REGS_H
#define SW_ARCH_REGS_H
#if defined(__x86_64__)
#include "arch/x86_64/regs.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
