/*
 * libstackwalk_findfde.so -- an opt-in _Unwind_Find_FDE that answers JIT
 * PCs from stackwalk's registry (O(log n), no lock) and hands every other
 * PC to the real one.
 *
 * Why: libgcc's __register_frame keeps registrations in a list it searches
 * linearly and sorts on first use, which is slow for many separate JIT
 * registrations (see bench/run.sh, throw.jit.*).  libgcc_s calls
 * _Unwind_Find_FDE through its PLT, so a definition that comes first in
 * the symbol search order replaces it for every throw:
 *
 *     LD_PRELOAD=libstackwalk_findfde.so ./jit-program
 *     (or link -lstackwalk_findfde before libgcc_s)
 *
 * Not for programs linked with -static-libgcc (their unwinder calls its
 * own copy directly), and not used by LLVM libunwind (which never calls
 * _Unwind_Find_FDE: use the SW_JIT_PUB_LIBGCC publisher there).
 *
 * Linking: this library does NOT link libstackwalk: it answers from the
 * registries of the process (jit/eh_find.h).  Each registry attaches
 * itself at its first registration through sw_findfde_attach (found with
 * dlsym(RTLD_DEFAULT): that works for libstackwalk.so and for a program
 * linked with libstackwalk.a, which exports nothing); libstackwalk.so's
 * entry point is also looked up here, for registrations made before this
 * library was loaded.  A process without a registry behaves exactly as
 * without this library.
 *
 * FDEs the registry cannot hand out in place are copied into a small
 * per-thread ring of buffers: libgcc is done with an FDE before it asks
 * for the next one on the same thread (libgcc's lookup takes a mutex, so
 * it cannot run in a signal handler that interrupted it anyway).
 */
#define _GNU_SOURCE 1   /* RTLD_NEXT, RTLD_DEFAULT, RTLD_NOLOAD */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>

#include "jit/eh_find.h"

/* libgcc's unwind-dw2-fde.h */
struct dwarf_eh_bases {
	void *tbase;
	void *dbase;
	void *func;
};

typedef const void *(*find_fde_fn)(void *pc, struct dwarf_eh_bases *bases);

const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);
unsigned long sw_findfde_unserved(void);
void sw_findfde_attach(struct sw_findfde_registry *reg);

/* The attached registries, newest first: nodes owned by the registries
 * (static, never freed), pushed with a release CAS, read with acquire. */
static struct sw_findfde_registry *attached;

/* Resolved lazily, kept once found (relaxed is enough: dlsym returns the
 * same value to every thread, and the pointed-to code is immutable). */
static sw_jit_eh_find_fde_fn query;
static find_fde_fn real;
/* JIT PCs the registry knew but could not hand out (copy too big,
 * DW_CFA_set_loc): reported by sw_findfde_unserved, never silent */
static unsigned long unserved;

#define RING 4
#define SLOT 2048
static __thread uint8_t ring[RING][SLOT];
static __thread unsigned ring_next;

static sw_jit_eh_find_fde_fn get_query(void)
{
	sw_jit_eh_find_fde_fn q = __atomic_load_n(&query, __ATOMIC_RELAXED);

	if (!q) {
		q = (sw_jit_eh_find_fde_fn)dlsym(RTLD_DEFAULT, SW_JIT_EH_FIND_FDE_SYM);
		if (q)
			__atomic_store_n(&query, q, __ATOMIC_RELAXED);
	}
	return q;
}

static find_fde_fn get_real(void)
{
	find_fde_fn r = __atomic_load_n(&real, __ATOMIC_RELAXED);

	if (!r) {
		r = (find_fde_fn)dlsym(RTLD_NEXT, "_Unwind_Find_FDE");
		if (!r) {
			/* libgcc_s dlopen'ed privately (glibc does that for
			 * pthread_cancel): not in the global scope */
			void *h = dlopen("libgcc_s.so.1", RTLD_LAZY | RTLD_NOLOAD);
			if (h) {
				r = (find_fde_fn)dlsym(h, "_Unwind_Find_FDE");
				dlclose(h);
			}
		}
		if (r == _Unwind_Find_FDE)
			r = NULL;
		if (r)
			__atomic_store_n(&real, r, __ATOMIC_RELAXED);
	}
	return r;
}

__attribute__((constructor)) static void findfde_init(void)
{
	get_query();
	get_real();
}

void sw_findfde_attach(struct sw_findfde_registry *reg)
{
	struct sw_findfde_registry *head = __atomic_load_n(&attached, __ATOMIC_ACQUIRE);

	if (!reg || !reg->find)
		return;
	do {
		for (const struct sw_findfde_registry *r = head; r; r = r->next)
			if (r == reg || r->find == reg->find)
				return;
		reg->next = head;
	} while (!__atomic_compare_exchange_n(&attached, &head, reg, false, __ATOMIC_RELEASE,
					      __ATOMIC_ACQUIRE));
}

/* Ask one registry; true when it answered (the FDE in *out). */
static bool ask(sw_jit_eh_find_fde_fn q, void *pc, struct dwarf_eh_bases *bases,
		const void **out)
{
	struct sw_jit_eh_fde f;
	unsigned slot = ring_next;
	int rc = q((uint64_t)(uintptr_t)pc, ring[slot], SLOT, &f);

	if (rc == 0) {
		if (f.copied)
			ring_next = (slot + 1) % RING;
		bases->tbase = NULL;
		bases->dbase = NULL;
		bases->func = (void *)(uintptr_t)f.func;
		*out = f.fde;
		return true;
	}
	if (rc != SW_ENOTFOUND)
		__atomic_fetch_add(&unserved, 1, __ATOMIC_RELAXED);
	return false;
}

const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases)
{
	sw_jit_eh_find_fde_fn q = get_query();
	const void *fde;
	find_fde_fn r;

	if (q && ask(q, pc, bases, &fde))
		return fde;
	for (const struct sw_findfde_registry *reg = __atomic_load_n(&attached, __ATOMIC_ACQUIRE);
	     reg; reg = reg->next)
		if (reg->find != q && ask(reg->find, pc, bases, &fde))
			return fde;
	r = get_real();
	return r ? r(pc, bases) : NULL;
}

unsigned long sw_findfde_unserved(void)
{
	return __atomic_load_n(&unserved, __ATOMIC_RELAXED);
}
