/* Per-architecture cached walk for the backtrace functions (see x86_64/walk.h). */
#ifndef SW_ARCH_WALK_H
#define SW_ARCH_WALK_H
#if defined(__x86_64__)
#include "arch/x86_64/walk.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
