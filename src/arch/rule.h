/* Per-architecture compiled-rule packing (see x86_64/rule.h). */
#ifndef SW_ARCH_RULE_H
#define SW_ARCH_RULE_H
#if defined(__x86_64__)
#include "arch/x86_64/rule.h"
#else
#error "stackwalk: unsupported architecture (add src/arch/<arch>/)"
#endif
#endif
