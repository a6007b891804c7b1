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

/*
 * The FDE of the JIT procedure containing pc, as bytes valid in place
 * (for the _Unwind_Find_FDE interposer): *fde points into the registry's
 * copy, which stays valid until the registration is removed.  Returns 0,
 * SW_ENOTFOUND, or SW_EUNSUPPORTED (callback ranges, and registrations
 * whose bytes are only valid at another address).  Async-signal-safe.
 */
int sw_jit_find_fde_ptr(uint64_t pc, const void **fde, uint64_t *func_start);

/* True once anything was registered (a cheap hint for the name path). */
bool sw_jit_active(void);

#endif /* SW_JIT_REGISTRY_H */
