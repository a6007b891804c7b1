/*
 * SW_JIT_PUB_LIBUNWIND: nongnu libunwind's dynamic registration
 * (_U_dyn_register, libunwind-dynamic(3)), used only when that library is
 * in the process: both functions are looked up with dlsym(RTLD_DEFAULT);
 * when they are absent publish returns SW_EUNSUPPORTED and nothing is
 * linked against libunwind.
 *
 * Format: libunwind's x86-64 unwinder is DWARF only; its
 * UNW_INFO_FORMAT_DYNAMIC regions are not implemented there (a procedure
 * so described is walked with the frame-pointer heuristic), so each chunk
 * is registered as one UNW_INFO_FORMAT_REMOTE_TABLE entry, which its
 * local unwinder handles with dwarf_search_unwind_table:
 *   - table_data: an .eh_frame_hdr-style table, sorted by address, of
 *     struct table_entry { int32_t start_ip_offset, fde_offset; } (both
 *     relative to segbase), table_len in unw_word_t units;
 *   - the FDEs are read in this process's memory at segbase + fde_offset
 *     and decoded as .eh_frame (pc-relative pointers relative to where
 *     they are read).  The chunk's bytes may have been encoded for another
 *     address and live anywhere on the heap, while a table entry can only
 *     reach +-2 GiB from segbase; so we copy the rules re-encoded with
 *     absolute pointers (eh_format.h) into a mapping placed next to the code,
 *     with the table in front.  segbase = the chunk's lowest address.
 *
 * Names: libunwind 1.6's unw_get_proc_name returns a name only for
 * UNW_INFO_FORMAT_DYNAMIC entries; for the table formats it reads the
 * format out of the wrong structure (the dwarf CIE info, not the
 * unw_dyn_info_t) and fails.  When the process's libunwind has that
 * problem the names are given by stackwalk's own registry instead: see
 * libunwind_names.c.
 *
 * When the process's libunwind is stackwalk's drop-in (LD_LIBRARY_PATH=
 * BUILD/libunwind), its _U_dyn_register feeds this same registry: the
 * publisher recognises it (is_stackwalks) and publishes nothing, returning
 * SW_EUNSUPPORTED as for an absent libunwind.
 *
 * Runs under the registry's writer mutex (libunwind's registration is not
 * signal-safe either and takes its own lock).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "jit/error.h"
#include "jit/publishers/eh_format.h"
#include "jit/publishers/libunwind.h"
#include "jit/publishers/publish.h"

/* ---------------------------------------------------------------- libunwind's layout */

/* libunwind-dynamic.h (x86-64, libunwind 1.6; unw_word_t is uint64_t).
 * Only the table variant of the union is used; the union's size is that
 * of its largest member (unw_dyn_proc_info_t: 4 words). */
enum { UNW_INFO_FORMAT_DYNAMIC = 0, UNW_INFO_FORMAT_TABLE = 1,
       UNW_INFO_FORMAT_REMOTE_TABLE = 2 };

struct unw_dyn_remote_table_info {
	uint64_t name_ptr;      /* address of the table's name (NUL-terminated) */
	uint64_t segbase;       /* base of the table's offsets */
	uint64_t table_len;     /* in unw_word_t units */
	uint64_t table_data;    /* address of the table */
};

struct unw_dyn_info {
	struct unw_dyn_info *next, *prev;   /* libunwind's list */
	uint64_t start_ip;      /* first address covered */
	uint64_t end_ip;        /* first address not covered */
	uint64_t gp;            /* global pointer: unused on x86-64 */
	int32_t format;         /* UNW_INFO_FORMAT_* */
	int32_t pad;
	uint64_t load_offset;   /* ELF load offset: 0 */
	union {
		struct unw_dyn_remote_table_info rti;
		uint64_t words[4];
	} u;
};
_Static_assert(sizeof(struct unw_dyn_info) == 88, "unw_dyn_info_t layout (libunwind >= 1.6)");

/* dwarf_search_unwind_table's entries (libunwind src/dwarf/Gfind_proc_info-lsb.c). */
struct table_entry {
	int32_t start_ip_offset;
	int32_t fde_offset;
};

typedef void (*dyn_fn)(struct unw_dyn_info *);

static dyn_fn dyn_register, dyn_cancel;

/* chunks registered with libunwind (read by libunwind_names.c) */
unsigned long sw_pub_lu_live;
/* 0: not looked up (or absent: looked up again), 1: nongnu's found,
 * -1: the process's libunwind is stackwalk's own */
static int resolved;

/*
 * Is the libunwind whose _U_dyn_register is `fn` stackwalk's drop-in
 * (BUILD/libunwind/libunwind.so.8, src/libunwind/dynamic.c)?  That one
 * registers into this very registry: publishing to it would hand every
 * registration back to the registry it came from (a second, overlapping
 * registration, made from inside the writer mutex).  It exports exactly
 * nongnu's names, so it is recognised by its dependencies instead: the
 * library defining fn resolves libstackwalk's public symbols to THIS
 * libstackwalk (a dlopen handle's dlsym searches the object and its
 * dependencies).  A nongnu libunwind has no such dependency (nor has a
 * program that links nongnu's libunwind.a with libstackwalk.a: its own
 * object is not found by path); a drop-in built on
 * another copy of libstackwalk (libstackwalk.a linked into the program,
 * libstackwalk.so under the drop-in) registers into that copy's registry,
 * which is a different registry to publish to, not a loop.
 */
static int is_stackwalks(void *fn)
{
	Dl_info self, it, si;
	void *h, *s;
	int ours;

	if (!dladdr((void *)(uintptr_t)&is_stackwalks, &self) || !dladdr(fn, &it))
		return 0;
	if (!it.dli_fname || !it.dli_fname[0])
		return 0;
	h = dlopen(it.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	s = dlsym(h, "sw_jit_add_eh_frame");
	ours = s && dladdr(s, &si) && si.dli_fbase == self.dli_fbase;
	dlclose(h);
	return ours;
}

static int resolve(void)
{
	if (resolved == 0) {
		/* re-checked on every publish until found: the library may be
		 * dlopen'ed later */
		void *r = dlsym(RTLD_DEFAULT, "_U_dyn_register");
		void *c = dlsym(RTLD_DEFAULT, "_U_dyn_cancel");
		if (r && c && is_stackwalks(r)) {
			/* stackwalk's own libunwind: it sees the registry already;
			 * publish nothing (none is ever unloaded: remembered) */
			resolved = -1;
		} else if (r && c) {
			memcpy(&dyn_register, &r, sizeof r);
			memcpy(&dyn_cancel, &c, sizeof c);
			sw_pub_lu_names_init();
			resolved = 1;
		}
	}
	return resolved == 1;
}

/* One registration: the dyn-info (malloc'ed: libunwind links it into its
 * list) and the mapping with the table and the FDE copy. */
struct lu_obj {
	struct unw_dyn_info di;
	void *map;
	size_t map_len;
};

static int in_reach(uint64_t base, uint64_t lo, uint64_t hi)
{
	int64_t a = (int64_t)(lo - base), b = (int64_t)(hi - base);
	return a >= INT32_MIN && a <= INT32_MAX && b >= INT32_MIN && b <= INT32_MAX;
}

/* Map `len` bytes within reach of [lo, hi) (int32 offsets from lo). */
static void *map_near(uint64_t lo, uint64_t hi, size_t len)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t hints[4] = {
		(hi + pg - 1) & ~(pg - 1),
		lo > len + pg ? ((lo - len) & ~(pg - 1)) : 0,
		((hi + pg - 1) & ~(pg - 1)) + (1u << 24),
		lo > len + (1u << 24) ? ((lo - len - (1u << 24)) & ~(pg - 1)) : 0,
	};
	for (int i = 0; i < 4; i++) {
		if (!hints[i])
			continue;
		void *p = mmap((void *)(uintptr_t)hints[i], len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			continue;
		if (in_reach(lo, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + len))
			return p;
		munmap(p, len);
	}
	return NULL;
}

static int lu_publish(const struct sw_jit_chunk *c, void **cookie)
{
	if (!c || !cookie || c->hi <= c->lo)
		return sw_jit_fail(SW_EINVAL, "libunwind publisher: an empty or NULL chunk");
	*cookie = NULL;
	if (!resolve())
		return SW_EUNSUPPORTED;
	if (c->hi - c->lo > INT32_MAX)
		return SW_EUNSUPPORTED;

	struct sw_pub_fde *f;
	size_t n;
	int rc = sw_pub_fdes(c, &f, &n);
	if (rc < 0)
		return rc;
	if (n == 0) {
		free(f);
		return sw_jit_fail(SW_EINVAL, "libunwind publisher: no FDE in the chunk");
	}
	/* the table must be sorted by address: sort the FDE list (insertion
	 * sort: chunks come sorted, so this is one pass) */
	for (size_t i = 1; i < n; i++) {
		struct sw_pub_fde t = f[i];
		size_t j = i;
		while (j > 0 && f[j - 1].start > t.start) {
			f[j] = f[j - 1];
			j--;
		}
		f[j] = t;
	}

	long eh = sw_pub_eh_abs(c, f, n, 0, NULL, NULL);
	uint64_t *offs = malloc(n * sizeof(*offs));
	struct lu_obj *o = calloc(1, sizeof(*o));
	if (eh < 0 || !offs || !o) {
		rc = eh < 0 ? (int)eh : SW_ENOMEM;
		goto fail;
	}
	size_t tab = n * sizeof(struct table_entry);
	size_t len = tab + (size_t)eh + 4;
	o->map = map_near(c->lo, c->hi, len);
	if (!o->map) {
		rc = SW_ENOMEM;
		goto fail;
	}
	o->map_len = len;
	uint8_t *eh_copy = (uint8_t *)o->map + tab;
	sw_pub_eh_abs(c, f, n, 0, eh_copy, offs);   /* + zero terminator from mmap */

	struct table_entry *t = o->map;
	uint64_t seg = c->lo;
	for (size_t i = 0; i < n; i++) {
		t[i].start_ip_offset = (int32_t)(f[i].start - seg);
		t[i].fde_offset = (int32_t)((uint64_t)(uintptr_t)(eh_copy + offs[i]) - seg);
	}
	mprotect(o->map, len, PROT_READ);

	o->di.start_ip = c->lo;
	o->di.end_ip = c->hi;
	o->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	o->di.u.rti.name_ptr = 0;
	o->di.u.rti.segbase = seg;
	o->di.u.rti.table_len = tab / sizeof(uint64_t);
	o->di.u.rti.table_data = (uint64_t)(uintptr_t)t;
	dyn_register(&o->di);
	__atomic_add_fetch(&sw_pub_lu_live, 1, __ATOMIC_RELEASE);

	free(offs);
	free(f);
	*cookie = o;
	return 0;
fail:
	if (o && o->map)
		munmap(o->map, o->map_len);
	free(o);
	free(offs);
	free(f);
	return rc;
}

static void lu_unpublish(void *cookie)
{
	struct lu_obj *o = cookie;
	if (!o)
		return;
	dyn_cancel(&o->di);
	__atomic_sub_fetch(&sw_pub_lu_live, 1, __ATOMIC_RELEASE);
	munmap(o->map, o->map_len);
	free(o);
}

const struct sw_jit_pub_ops sw_jit_pub_libunwind = {
	.name = "libunwind",
	.bit = SW_JIT_PUB_LIBUNWIND,
	.publish = lu_publish,
	.unpublish = lu_unpublish,
};
