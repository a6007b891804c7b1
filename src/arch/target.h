/* Per-architecture facts of other processes and cores: one folder per
 * architecture. */
#ifndef SW_ARCH_TARGET_H
#define SW_ARCH_TARGET_H
#if defined(__x86_64__)
#include "arch/x86_64/target.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
