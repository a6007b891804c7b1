/*
 * The JIT registry as a source of unwind information (source/source.h;
 * the public API is in <stackwalk/jit.h>).  Installed at SW_RANK_JIT by
 * the first registration.
 */
#ifndef SW_JIT_REGISTRY_H
#define SW_JIT_REGISTRY_H

#include <stdint.h>

#include "source/source.h"

extern const struct sw_source sw_jit_source;

/* The source's find: the registered FDE covering pc (moves applied),
 * held until sw_source_release.  0, SW_ENOTFOUND or an error. */
int sw_jit_find_fde(uint64_t pc, struct sw_fde_info *info);

#endif /* SW_JIT_REGISTRY_H */
