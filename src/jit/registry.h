/*
 * The JIT registry's interface to the unwinder (the public API is in
 * <stackwalk/jit.h>).
 */
#ifndef SW_JIT_REGISTRY_H
#define SW_JIT_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

/* Leave the read section a JIT lookup entered (sw_fde_info.jit_token). */
void sw_jit_read_exit(uint32_t token);

/* True once anything was registered (a cheap hint for the name path). */
bool sw_jit_active(void);

#endif /* SW_JIT_REGISTRY_H */
