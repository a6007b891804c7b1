/*
 * The JIT registry's answer to libgcc's _Unwind_Find_FDE: what the opt-in
 * interposer (interpose/find_fde.c, libstackwalk_findfde.so) asks for each
 * PC before handing it to the real _Unwind_Find_FDE.
 *
 * Not public API.  The registry and the interposer meet both ways:
 *   - at its first registration the registry looks up the interposer's
 *     sw_findfde_attach with dlsym(RTLD_DEFAULT) and hands it a static
 *     struct sw_findfde_registry naming sw_jit_eh_find_fde.  This works for
 *     libstackwalk.so and for programs linked with libstackwalk.a alone
 *     (whose symbols dlsym cannot see: nothing is exported, and the
 *     archive member would not even be linked without this reference);
 *   - the interposer's constructor also looks up sw_jit_eh_find_fde with
 *     dlsym (exported by libstackwalk.so), for an interposer loaded after
 *     the first registration.
 * Each registry in the process attaches its own node, so several (a
 * program's libstackwalk.a and a plugin's libstackwalk.so) all answer.
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
/* Exported from libstackwalk.so (and libstackwalk_unwind.so) although
 * not public API: the interposer finds it by name (mk/stackwalk.map). */
__attribute__((visibility("default")))
int sw_jit_eh_find_fde(uint64_t pc, void *buf, size_t size, struct sw_jit_eh_fde *out);
typedef int (*sw_jit_eh_find_fde_fn)(uint64_t pc, void *buf, size_t size,
				     struct sw_jit_eh_fde *out);

/* A registry as the interposer keeps it: a list of nodes the registries
 * own (static storage, never freed), so there is no table to fill up. */
struct sw_findfde_registry {
	sw_jit_eh_find_fde_fn find;             /* the registry's sw_jit_eh_find_fde */
	struct sw_findfde_registry *next;       /* the interposer's link */
};

#define SW_FINDFDE_ATTACH_SYM "sw_findfde_attach"

/*
 * sw_findfde_attach (defined by libstackwalk_findfde.so) - add a registry
 * to those _Unwind_Find_FDE asks; attaching a node twice is a no-op.
 * Thread-safe: yes (lock-free push; _Unwind_Find_FDE reads the list with
 * acquire loads).  Async-signal-safe: yes.
 */
typedef void (*sw_findfde_attach_fn)(struct sw_findfde_registry *reg);

/*
 * sw_jit_eh_attach - hand this registry to libstackwalk_findfde.so when it
 * is loaded (dlsym of SW_FINDFDE_ATTACH_SYM); nothing otherwise.  Called
 * once, at the first registration.  Thread-safe: yes.  Async-signal-safe:
 * no (dlsym).
 */
void sw_jit_eh_attach(void);

#endif /* SW_JIT_EH_FIND_H */
