/* Per-architecture compiled rules and fallbacks (see x86_64/frame.h). */
#ifndef SW_ARCH_FRAME_H
#define SW_ARCH_FRAME_H
#if defined(__x86_64__)
#include "arch/x86_64/frame.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
