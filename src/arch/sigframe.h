/* Per-architecture signal frames (see x86_64/sigframe.h). */
#ifndef SW_ARCH_SIGFRAME_H
#define SW_ARCH_SIGFRAME_H
#if defined(__x86_64__)
#include "arch/x86_64/sigframe.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
