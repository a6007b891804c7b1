/*
 * SW_JIT_PUB_LIBGCC: hand each chunk's .eh_frame to the process's C++
 * unwinder so exceptions cross JIT frames.
 *
 * Which unwinder: the object that defines _Unwind_GetIP for the process
 * (dlsym(RTLD_DEFAULT) + dladdr), asked for its registration calls, else
 * the global scope:
 *   LLVM libunwind   one __unw_add_dynamic_fde(fde) / __unw_remove_dynamic_fde(fde)
 *                    per FDE.  Not its __register_frame, which takes ONE
 *                    FDE, not a section; and not
 *                    __unw_add_dynamic_eh_frame_section: up to LLVM 16 its
 *                    walk does not stop at the zero terminator (parseCIE
 *                    accepts a zero length without updating the length it
 *                    then skips by), so it reads past the bytes and crashes
 *                    or registers garbage (later releases test the terminator).
 *   libgcc_s         __register_frame(section) / __deregister_frame(section)
 *                    with the identical pointer (libgcc aborts on an
 *                    unknown one).
 * Both read FDE addresses in any DW_EH_PE_* encoding, absptr included
 * (checked by tests/scripts/cxx_jit.sh under libgcc_s and LLVM libunwind
 * 16).  Resolved with dlsym at publish time, so the library keeps no link
 * dependency on either; a found unwinder is remembered (neither is ever
 * unloaded), a missing one is looked up again at the next publish.
 *
 * Bytes: registered in place when their pc-relative base is where they
 * live (chunk->eh_vaddr == chunk->eh_frame), else re-encoded first into
 * a copy with absolute pointers (eh_abs.h), freed at unpublish.  Either
 * way the memory stays valid until unpublish returns.
 *
 * Called by the registry under its writer mutex (publish.h); lock order
 * registry mutex -> loader lock (dlsym) / libgcc's object mutex, never the
 * reverse (unwinders never take the registry mutex).
 */
#define _GNU_SOURCE 1   /* dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "jit/eh_abs.h"
#include "jit/error.h"
#include "jit/publish.h"

enum kind { K_NONE = 0, K_LIBGCC, K_LLVM_FDE };

typedef void (*reg_fn)(const void *);
typedef void (*unw_fn)(uintptr_t);

struct unwinder {
	enum kind kind;
	void *add, *remove;
};

/* the resolved unwinder: filled completely, then published by the
 * release store of `kind` (publish runs under the registry mutex, but
 * keep the pattern in case that changes) */
static struct unwinder resolved;

/* What a publication holds (the cookie). */
struct pub {
	struct unwinder u;
	const uint8_t *section;      /* what was registered */
	size_t size;                 /* its bytes, terminator included */
	uint8_t *copy;               /* the re-encoded copy, or NULL */
};

static void *sym(void *handle, const char *name)
{
	return dlsym(handle ? handle : RTLD_DEFAULT, name);
}

/* The registration calls of the object `handle` (NULL: the global
 * scope).  Returns the kind found. */
static enum kind lookup(void *handle, struct unwinder *u)
{
	if ((u->add = sym(handle, "__unw_add_dynamic_fde")) &&
	    (u->remove = sym(handle, "__unw_remove_dynamic_fde")))
		return u->kind = K_LLVM_FDE;
	if ((u->add = sym(handle, "__register_frame")) &&
	    (u->remove = sym(handle, "__deregister_frame")))
		return u->kind = K_LIBGCC;
	return u->kind = K_NONE;
}

static bool resolve(struct unwinder *u)
{
	void *handle = NULL, *probe;
	Dl_info di;

	if (__atomic_load_n(&resolved.kind, __ATOMIC_ACQUIRE) != K_NONE) {
		*u = resolved;
		return true;
	}
	memset(u, 0, sizeof(*u));
	/* ask the object that unwinds for this process, not whichever
	 * library comes first with a registration symbol: the one defining
	 * _Unwind_GetIP (not _Unwind_RaiseException, which sanitizer
	 * runtimes intercept; not _Unwind_Find_FDE, which
	 * libstackwalk_findfde.so defines) */
	probe = dlsym(RTLD_DEFAULT, "_Unwind_GetIP");
	if (probe && dladdr(probe, &di) && di.dli_fname && di.dli_fname[0])
		handle = dlopen(di.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (!handle || lookup(handle, u) == K_NONE)
		lookup(NULL, u);
	if (handle)
		dlclose(handle);
	if (u->kind == K_NONE)
		return false;
	resolved.add = u->add;
	resolved.remove = u->remove;
	__atomic_store_n(&resolved.kind, u->kind, __ATOMIC_RELEASE);
	return true;
}

/* Raw walk of trusted bytes (ours or the registry's, already parsed):
 * the entry after `p`, or NULL at the terminator. */
static const uint8_t *entry_next(const uint8_t *p, bool *is_fde)
{
	uint32_t len32;
	uint64_t len, id;

	memcpy(&len32, p, 4);
	if (len32 == 0)
		return NULL;
	if (len32 == 0xffffffffu) {
		uint64_t id64;
		memcpy(&len, p + 4, 8);
		memcpy(&id64, p + 12, 8);
		*is_fde = id64 != 0;
		return p + 12 + len;
	}
	len = len32;
	uint32_t id32;
	memcpy(&id32, p + 4, 4);
	id = id32;
	*is_fde = id != 0;
	return p + 4 + len;
}

/* LLVM libunwind: one call per FDE. */
static void each_fde(const uint8_t *section, size_t size, unw_fn fn)
{
	const uint8_t *p = section, *end = section + size, *next;
	bool is_fde = false;

	while (p + 4 <= end && (next = entry_next(p, &is_fde)) != NULL) {
		if (is_fde)
			fn((uintptr_t)p);
		p = next;
	}
}

static int publish(const struct sw_jit_chunk *c, void **cookie)
{
	struct pub *p;
	size_t size;
	int rc;

	if (!c || !c->eh_frame || c->eh_size < 4 || !cookie)
		return sw_jit_fail(SW_EINVAL, "libgcc publisher: an empty or NULL chunk");
	if (!(p = calloc(1, sizeof(*p))))
		return SW_ENOMEM;
	if (!resolve(&p->u)) {
		free(p);
		return SW_EUNSUPPORTED;
	}
	p->section = c->eh_frame;
	size = c->eh_size;
	if (c->eh_vaddr != (uint64_t)(uintptr_t)c->eh_frame) {
		struct sw_cfi_section sec;
		sw_cfi_section_init(&sec, c->eh_frame, c->eh_size, c->eh_vaddr, true, ".eh_frame");
		if ((rc = sw_eh_abs_section(&sec, 0, &p->copy, &size)) < 0) {
			free(p);
			return rc;
		}
		p->section = p->copy;
	}
	p->size = size;
	switch (p->u.kind) {
	case K_LIBGCC:
		((reg_fn)p->u.add)(p->section);
		break;
	case K_LLVM_FDE:
		each_fde(p->section, size, (unw_fn)p->u.add);
		break;
	default:
		break;
	}
	*cookie = p;
	return 0;
}

static void unpublish(void *cookie)
{
	struct pub *p = cookie;

	if (!p)
		return;
	switch (p->u.kind) {
	case K_LIBGCC:
		((reg_fn)p->u.remove)(p->section);
		break;
	case K_LLVM_FDE:
		each_fde(p->section, p->size, (unw_fn)p->u.remove);
		break;
	default:
		break;
	}
	free(p->copy);
	free(p);
}

const struct sw_jit_pub_ops sw_jit_pub_libgcc = {
	.name = "libgcc",
	.bit = SW_JIT_PUB_LIBGCC,
	.publish = publish,
	.unpublish = unpublish,
};
