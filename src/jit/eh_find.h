/*
 * The JIT registry's answer to libgcc's _Unwind_Find_FDE: what the opt-in
 * interposer (interpose/find_fde.c, libstackwalk_findfde.so) asks for each
 * PC before handing it to the real _Unwind_Find_FDE.
 *
 * sw_jit_eh_find_fde is exported by libstackwalk (default visibility) but
 * is not public API: the interposer finds it with dlsym(RTLD_DEFAULT), so
 * the process must have exactly one registry -- libstackwalk.so, or a
 * program linked with libstackwalk.a that exports this symbol
 * (-Wl,--export-dynamic-symbol=sw_jit_eh_find_fde, or -rdynamic).
 */
#ifndef SW_JIT_EH_FIND_H
#define SW_JIT_EH_FIND_H

#include <stddef.h>
#include <stdint.h>

/* What _Unwind_Find_FDE returns for a JIT PC. */
struct sw_jit_eh_fde {
	const void *fde;        /* the FDE (its CIE is reachable through its CIE
				 * pointer, the usual .eh_frame way) */
	uint64_t func;          /* dwarf_eh_bases.func: the code's start now
				 * (pc_begin plus any sw_jit_move) */
	int copied;             /* 1: the FDE is in the caller's buffer */
};

#define SW_JIT_EH_FIND_FDE_SYM "sw_jit_eh_find_fde"

/*
 * sw_jit_eh_find_fde - the FDE covering pc among registered JIT
 * procedures.  When the registry's bytes can be read in place (their
 * pc-relative base is where they live, and they are not a lazy
 * callback's description converted on the stack) out->fde points into
 * the registry and stays valid until the registration is removed or
 * moved; otherwise the CIE + FDE are re-encoded with absolute pointers
 * (eh_abs.h) into buf[0..size) and out->fde points there.
 * Returns 0, SW_ENOTFOUND (not a JIT PC), SW_ETRUNCATED (buf too small
 * for the copy), SW_EINVAL, SW_EUNSUPPORTED (the FDE cannot be re-encoded:
 * DW_CFA_set_loc) or a CFI error.
 * Thread-safe: yes.  Async-signal-safe: yes, but the consumer (libgcc)
 * is not.
 */
int sw_jit_eh_find_fde(uint64_t pc, void *buf, size_t size, struct sw_jit_eh_fde *out);
typedef int (*sw_jit_eh_find_fde_fn)(uint64_t pc, void *buf, size_t size,
				     struct sw_jit_eh_fde *out);

#endif /* SW_JIT_EH_FIND_H */
