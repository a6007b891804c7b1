/*
 * SW_JIT_PUB_LIBUNWIND internals shared by libunwind.c (registration)
 * and libunwind_names.c (names for unw_get_proc_name).
 */
#ifndef SW_JIT_PUB_LIBUNWIND_H
#define SW_JIT_PUB_LIBUNWIND_H

/* Chunks currently registered with libunwind (atomic; the name wrapper
 * answers from the registry only while it is non-zero). */
extern unsigned long sw_pub_lu_live;

/* Resolve the real unw_get_proc_name (called once, under the registry's
 * writer mutex, before the first registration). */
void sw_pub_lu_names_init(void);

#endif /* SW_JIT_PUB_LIBUNWIND_H */
