/*
 * SW_JIT_PUB_LIBGCC: hand each chunk's .eh_frame to the process's C++
 * unwinder so exceptions cross JIT frames.  On by default (src/jit/registry/,
 * default.c).
 *
 * Which unwinder: the object that defines _Unwind_GetIP for the process
 * (dlsym(RTLD_DEFAULT) + dladdr), asked for its registration calls, else
 * the global scope:
 *   stackwalk        libstackwalk_unwind with this same registry, or
 *                    libstackwalk_findfde.so answering _Unwind_Find_FDE
 *                    from it: the unwinder already sees every
 *                    registration, publishing is a no-op (and calling
 *                    libstackwalk_unwind's __register_frame from here
 *                    would take the registry's mutex twice);
 *   LLVM libunwind   one __unw_add_dynamic_fde(fde) / __unw_remove_dynamic_fde(fde)
 *                    per FDE.  Not its __register_frame, which takes ONE
 *                    FDE, not a section; and not
 *                    __unw_add_dynamic_eh_frame_section: up to LLVM 16 its
 *                    walk does not stop at the zero terminator (parseCIE
 *                    accepts a zero length without updating the length it
 *                    then skips by), so it reads past the bytes and crashes
 *                    or registers garbage (later releases test the terminator).
 *   libgcc_s, GCC 13 and later   (recognised by its GCC_13.0.0 symbols)
 *                    __register_frame(section) / __deregister_frame(section)
 *                    per chunk: its registrations live in a b-tree, O(log n).
 *   libgcc_s up to GCC 12   keeps registered objects in a list: a lookup
 *                    walks the objects in descending start address and
 *                    searches only the first one that starts at or below
 *                    the PC, the first lookup after registrations sorts
 *                    each new object and inserts it into the list (O(n) per
 *                    object: 6 s for 10^5 objects), and every lookup, for
 *                    JIT and compiled PCs alike, walks the list (58 us per
 *                    lookup at 10^5).  So chunks are gathered into groups
 *                    (below) and each group is one object, registered
 *                    with __register_frame_table (a NULL-terminated array
 *                    of the members' sections).
 * All of them read FDE addresses in any DW_EH_PE_* encoding, absptr
 * included (checked by tests/scripts/cxx_jit.sh under libgcc_s and LLVM
 * libunwind 16).  Resolved with dlsym at publish time, so the library
 * keeps no link dependency on any; a found unwinder is remembered (none is
 * ever unloaded), a missing one is looked up again at the next publish.
 *
 * Groups (libgcc_s up to GCC 12).  Each group holds up to GROUP_MAX chunks
 * and covers the hull [lowest start, highest end) of its members; the
 * hulls of different groups never overlap, which is what libgcc's
 * "first object at or below the PC" search needs (a chunk whose hull
 * overlaps groups merges them).  A new chunk joins the group that ends
 * below it (or the one that starts above it) while that has room, a full
 * group splits in two at a point where no member straddles the cut.  A
 * change re-registers the group: the new table is registered before the
 * old one is withdrawn, so a throw in another thread always finds every
 * member (while both are registered libgcc finds the old procedures in
 * either; the new chunk's code does not run before its registration
 * returns).  Cost per publish or unpublish: O(GROUP_MAX) to build the
 * table; libgcc sorts the group's FDEs at its next lookup.  At 10^5
 * one-procedure registrations that is a few hundred objects instead of
 * 10^5 (bench: jit.register.default, throw.jit.1e5.default).  Groups never
 * merge back when they shrink (a group disappears when its last member
 * goes).
 *
 * Bytes: registered in place when their pc-relative base is where they
 * live (chunk->eh_vaddr == chunk->eh_frame), else re-encoded first into
 * a copy with absolute pointers (eh_abs.h), freed at unpublish.  Either
 * way the memory stays valid until unpublish returns.
 *
 * Called by the registry under its writer mutex (publish.h); lock order
 * registry mutex -> loader lock (dlsym) / libgcc's object mutex, never the
 * reverse (unwinders never take the registry mutex).  The groups have
 * their own mutex too (tests call the ops directly).
 */
#define _GNU_SOURCE 1   /* dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "jit/publishers/eh_abs.h"
#include "jit/publishers/groups.h"
#include "jit/eh_find.h"
#include "jit/error.h"
#include "jit/publishers/publish.h"

enum kind { K_NONE = 0, K_LIBGCC, K_LIBGCC_LIST, K_LLVM_FDE, K_SELF };

/* Chunks per libgcc object (K_LIBGCC_LIST). */
#define GROUP_MAX 512

typedef void (*reg_fn)(const void *);
typedef void (*unw_fn)(uintptr_t);

struct unwinder {
	enum kind kind;
	void *add, *remove;          /* K_LIBGCC_LIST: __register_frame_table */
	void *add_one;               /* K_LIBGCC_LIST: __register_frame */
};

/* the resolved unwinder: filled completely, then published by the
 * release store of `kind` (publish runs under the registry mutex, but
 * keep the pattern in case that changes) */
static struct unwinder resolved;

struct group;

/* What a publication holds (the cookie). */
struct pub {
	struct unwinder u;
	const uint8_t *section;      /* what was registered */
	size_t size;                 /* its bytes, terminator included */
	uint8_t *copy;               /* the re-encoded copy, or NULL */
	uint64_t lo, hi;             /* the chunk's hull */
	struct group *g;             /* K_LIBGCC_LIST: the group holding it */
};

static void *sym(void *handle, const char *name)
{
	return dlsym(handle ? handle : RTLD_DEFAULT, name);
}

/* libgcc_s of GCC 13 or later (its registrations in a b-tree): it
 * defines GCC_13.0.0 symbols (the x86-64 bfloat16 conversions); later
 * releases keep them. */
static bool libgcc_btree(void *handle)
{
	return dlvsym(handle ? handle : RTLD_DEFAULT, "__truncsfbf2", "GCC_13.0.0") != NULL ||
	       dlvsym(handle ? handle : RTLD_DEFAULT, "__extendbfsf2", "GCC_13.0.0") != NULL;
}

/* The registration calls of the object `handle` (NULL: the global
 * scope).  Returns the kind found. */
static enum kind lookup(void *handle, struct unwinder *u)
{
	if ((u->add = sym(handle, "__unw_add_dynamic_fde")) &&
	    (u->remove = sym(handle, "__unw_remove_dynamic_fde")))
		return u->kind = K_LLVM_FDE;
	if ((u->add = sym(handle, "__register_frame")) &&
	    (u->remove = sym(handle, "__deregister_frame"))) {
		/* libstackwalk_unwind: its calls into the registry bind to the
		 * global definitions; when those are ours it already sees
		 * every JIT PC (and its __register_frame would take our
		 * mutex again); another copy gets one object per chunk (its
		 * registry is a B+tree).  Addresses compared, never called. */
		if (sym(handle, "sw_jit_add_eh_frame"))
			return u->kind = dlsym(RTLD_DEFAULT, "sw_jit_add_eh_frame") ==
						 (void *)sw_jit_add_eh_frame ? K_SELF : K_LIBGCC;
		if (libgcc_btree(handle))
			return u->kind = K_LIBGCC;
		u->add_one = u->add;
		if ((u->add = sym(handle, "__register_frame_table")))
			return u->kind = K_LIBGCC_LIST;
		/* no table registration: one object per chunk */
		u->add = sym(handle, "__register_frame");
		return u->kind = K_LIBGCC;
	}
	return u->kind = K_NONE;
}

/* libstackwalk_findfde.so answers libgcc's _Unwind_Find_FDE from this
 * registry: publishing to libgcc would only lengthen its lists. */
static bool interposed(void)
{
	return dlsym(RTLD_DEFAULT, "sw_findfde_unserved") != NULL &&
	       dlsym(RTLD_DEFAULT, SW_JIT_EH_FIND_FDE_SYM) == (void *)sw_jit_eh_find_fde;
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
	if ((u->kind == K_LIBGCC || u->kind == K_LIBGCC_LIST) && interposed())
		u->kind = K_SELF;
	if (u->kind == K_NONE)
		return false;
	resolved.add = u->add;
	resolved.remove = u->remove;
	resolved.add_one = u->add_one;
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

/* ---------------------------------------------------------------- groups */

/* One libgcc object: chunks with disjoint hulls from every other group's. */
struct group {
	uint64_t lo, hi;             /* hull of the members */
	struct pub **m;              /* members, sorted by lo */
	size_t n, cap;
	const void **table;          /* registered: members' sections + NULL, or NULL */
	const void **spare;          /* the next table is built here (the two swap) */
	size_t table_cap, spare_cap; /* their sizes in entries */
};

static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;
static struct group **gv;            /* sorted by lo (and so by hi) */
static size_t gn, gcap;

static uint64_t group_hi(size_t i)
{
	return gv[i]->hi;
}

/* Index of the first group that ends above `lo`. */
static size_t group_first_after(uint64_t lo)
{
	return sw_pub_group_first_after(gn, group_hi, lo);
}

static int gv_insert(size_t at, struct group *g)
{
	if (gn == gcap) {
		size_t ncap = gcap ? 2 * gcap : 16;
		struct group **nv = realloc(gv, ncap * sizeof(*nv));
		if (!nv)
			return SW_ENOMEM;
		gv = nv;
		gcap = ncap;
	}
	memmove(gv + at + 1, gv + at, (gn - at) * sizeof(*gv));
	gv[at] = g;
	gn++;
	return 0;
}

static void gv_erase(size_t at)
{
	memmove(gv + at, gv + at + 1, (gn - at - 1) * sizeof(*gv));
	gn--;
}

static int member_cmp(const void *a, const void *b)
{
	const struct pub *x = *(const struct pub *const *)a, *y = *(const struct pub *const *)b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int group_reserve(struct group *g, size_t n)
{
	if (n <= g->cap)
		return 0;
	size_t ncap = g->cap ? g->cap : 8;
	while (ncap < n)
		ncap *= 2;
	struct pub **nm = realloc(g->m, ncap * sizeof(*nm));
	if (!nm)
		return SW_ENOMEM;
	g->m = nm;
	g->cap = ncap;
	return 0;
}

/* Recompute the hull. */
static void group_hull(struct group *g)
{
	g->lo = g->n ? g->m[0]->lo : 0;
	g->hi = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->m[i]->hi > g->hi)
			g->hi = g->m[i]->hi;
}

/* Recompute the hull and the members' back pointers. */
static void group_fix(struct group *g)
{
	group_hull(g);
	for (size_t i = 0; i < g->n; i++)
		g->m[i]->g = g;
}

/* Fill g's spare table with its members' sections, NULL-terminated.
 * Returns SW_ENOMEM when the spare cannot grow. */
static int table_build(struct group *g)
{
	if (g->spare_cap < g->n + 1) {
		size_t cap = g->n + 1 > 2 * g->spare_cap ? g->n + 1 : 2 * g->spare_cap;
		const void **t = realloc(g->spare, cap * sizeof(*t));
		if (!t)
			return SW_ENOMEM;
		g->spare = t;
		g->spare_cap = cap;
	}
	for (size_t i = 0; i < g->n; i++)
		g->spare[i] = g->m[i]->section;
	g->spare[g->n] = NULL;
	return 0;
}

/* Register the spare table built by table_build; it becomes g's table
 * and the previous one (still registered) the spare.  Returns that
 * previous table, for table_withdraw once every new object is in. */
static const void **table_commit(struct group *g)
{
	const void **old = g->table;
	size_t old_cap = g->table_cap;

	((reg_fn)resolved.add)(g->spare);
	g->table = g->spare;
	g->table_cap = g->spare_cap;
	g->spare = old;
	g->spare_cap = old_cap;
	return old;
}

/* Withdraw a table table_commit replaced (the memory stays the spare). */
static void table_withdraw(const void **t)
{
	if (t)
		((reg_fn)resolved.remove)(t);
}

/* Withdraw g's object, if any. */
static void group_withdraw(struct group *g)
{
	table_withdraw(g->table);
	free(g->table);
	g->table = NULL;
	g->table_cap = 0;
}

static void group_free(struct group *g)
{
	group_withdraw(g);
	free(g->spare);
	free(g->m);
	free(g);
}

/* Split g (index at) if it has too many members: at the valid cut
 * nearest the middle (no member before it reaching past the next start).
 * Returns the second half (already in gv), or NULL. */
static struct group *group_split(size_t at)
{
	struct group *g = gv[at];
	if (g->n <= GROUP_MAX)
		return NULL;
	/* reach[i] = highest end among members [0, i) */
	uint64_t reach = 0;
	size_t best = 0, mid = g->n / 2, bestd = SIZE_MAX;
	for (size_t i = 1; i < g->n; i++) {
		if (g->m[i - 1]->hi > reach)
			reach = g->m[i - 1]->hi;
		size_t d = i > mid ? i - mid : mid - i;
		if (reach <= g->m[i]->lo && d < bestd) {
			best = i;
			bestd = d;
		}
	}
	if (!best)
		return NULL;   /* members all straddle each other: stays whole */
	struct group *h = calloc(1, sizeof(*h));
	if (!h || group_reserve(h, g->n - best) < 0 || gv_insert(at + 1, h) < 0) {
		if (h)
			group_free(h);
		return NULL;
	}
	memcpy(h->m, g->m + best, (g->n - best) * sizeof(*h->m));
	h->n = g->n - best;
	g->n = best;
	group_fix(g);
	group_fix(h);
	return h;
}

/* Merge groups [i, j) and p into gv[i]: register the merged object, then
 * withdraw the old ones. */
static int group_merge(size_t i, size_t j, struct pub *p)
{
	struct group *g = gv[i];
	size_t total = 1, n = 0;
	for (size_t k = i; k < j; k++)
		total += gv[k]->n;
	struct pub **nm = malloc(total * sizeof(*nm));
	if (!nm)
		return SW_ENOMEM;
	for (size_t k = i; k < j; k++) {
		memcpy(nm + n, gv[k]->m, gv[k]->n * sizeof(*nm));
		n += gv[k]->n;
	}
	nm[n++] = p;
	qsort(nm, n, sizeof(*nm), member_cmp);
	struct pub **om = g->m;
	size_t on = g->n, ocap = g->cap;
	g->m = nm;
	g->n = g->cap = n;
	if (table_build(g) < 0) {
		g->m = om;
		g->n = on;
		g->cap = ocap;
		free(nm);
		return SW_ENOMEM;
	}
	free(om);
	table_withdraw(table_commit(g));
	for (size_t k = j - 1; k > i; k--) {
		group_free(gv[k]);
		gv_erase(k);
	}
	group_fix(g);
	return 0;
}

/* Add p to the groups and re-register what changed. */
static int group_add(struct pub *p)
{
	size_t i = group_first_after(p->lo), j = i, gi;
	struct group *g, *h;
	int rc;

	while (j < gn && gv[j]->lo < p->hi)
		j++;
	if (j > i + 1)
		return group_merge(i, j, p);   /* p's hull overlaps several */
	if (j == i + 1) {
		g = gv[gi = i];                  /* p's hull overlaps this one */
	} else if (i > 0 && gv[i - 1]->n < GROUP_MAX) {
		g = gv[gi = i - 1];              /* the group below, with room */
	} else if (i < gn && gv[i]->n < GROUP_MAX) {
		g = gv[gi = i];                  /* the group above, with room */
	} else {
		if (!(g = calloc(1, sizeof(*g))))
			return SW_ENOMEM;
		if ((rc = gv_insert(gi = i, g)) < 0) {
			free(g);
			return rc;
		}
	}
	if ((rc = group_reserve(g, g->n + 1)) < 0)
		goto undo_empty;
	size_t at = g->n;
	while (at > 0 && g->m[at - 1]->lo > p->lo)
		at--;
	memmove(g->m + at + 1, g->m + at, (g->n - at) * sizeof(*g->m));
	g->m[at] = p;
	g->n++;
	p->g = g;
	if (g->n == 1 || p->lo < g->lo)
		g->lo = p->lo;
	if (p->hi > g->hi)
		g->hi = p->hi;

	h = group_split(gi);   /* NULL also when that fails: g stays whole */
	if (table_build(g) < 0 || (h && table_build(h) < 0)) {
		if (h) {   /* fits: g had room for all of them before the split */
			memcpy(g->m + g->n, h->m, h->n * sizeof(*g->m));
			g->n += h->n;
			gv_erase(gi + 1);
			group_free(h);
		}
		at = 0;
		while (g->m[at] != p)
			at++;
		memmove(g->m + at, g->m + at + 1, (g->n - at - 1) * sizeof(*g->m));
		g->n--;
		group_fix(g);
		rc = SW_ENOMEM;
		goto undo_empty;
	}
	/* the new objects first, then the old one (see the file comment) */
	const void **old = table_commit(g);
	if (h)
		table_commit(h);   /* h had none */
	table_withdraw(old);
	return 0;
undo_empty:
	if (!g->n) {
		gv_erase(gi);
		group_free(g);
	}
	return rc;
}

/* Take p out of its group and re-register the rest (or withdraw the
 * group with its last member). */
static void group_remove(struct pub *p)
{
	struct group *g = p->g;
	size_t at = 0;

	while (g->m[at] != p)
		at++;
	memmove(g->m + at, g->m + at + 1, (g->n - at - 1) * sizeof(*g->m));
	g->n--;
	group_hull(g);
	if (g->n && table_build(g) == 0) {
		table_withdraw(table_commit(g));
	} else if (g->n) {
		/* no memory for a table: each remaining member becomes its own
		 * object (registered before the group's is withdrawn) */
		for (size_t k = 0; k < g->n; k++) {
			((reg_fn)resolved.add_one)(g->m[k]->section);
			g->m[k]->g = NULL;
		}
		g->n = 0;
	}
	if (!g->n) {
		size_t k = 0;
		while (gv[k] != g)
			k++;
		gv_erase(k);
		group_free(g);
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
	*cookie = p;
	if (p->u.kind == K_SELF)
		return 0;   /* the unwinder reads the registry itself */
	p->section = c->eh_frame;
	p->lo = c->lo;
	p->hi = c->hi;
	size = c->eh_size;
	if (c->eh_vaddr != (uint64_t)(uintptr_t)c->eh_frame) {
		struct sw_cfi_section sec;
		sw_cfi_section_init(&sec, c->eh_frame, c->eh_size, c->eh_vaddr, true, ".eh_frame");
		if ((rc = sw_eh_abs_section(&sec, 0, &p->copy, &size)) < 0) {
			free(p);
			*cookie = NULL;
			return rc;
		}
		p->section = p->copy;
	}
	p->size = size;
	switch (p->u.kind) {
	case K_LIBGCC:
		((reg_fn)p->u.add)(p->section);
		break;
	case K_LIBGCC_LIST:
		pthread_mutex_lock(&glock);
		rc = group_add(p);
		pthread_mutex_unlock(&glock);
		if (rc < 0) {
			free(p->copy);
			free(p);
			*cookie = NULL;
			return rc;
		}
		break;
	case K_LLVM_FDE:
		each_fde(p->section, size, (unw_fn)p->u.add);
		break;
	default:
		break;
	}
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
	case K_LIBGCC_LIST:
		pthread_mutex_lock(&glock);
		if (p->g)
			group_remove(p);
		else   /* fell back to its own object (see group_remove) */
			((reg_fn)p->u.remove)(p->section);
		pthread_mutex_unlock(&glock);
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
