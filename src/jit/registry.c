/*
 * The JIT registry: registrations (handles) over the B+tree index (tree.h),
 * read by the unwinder without locks (rcu.h), written under one mutex.
 *
 * Objects a registration owns, each one malloc block:
 *   eager (sw_jit_add_eh_frame, sw_jit_add_procs): struct obj, optional
 *       fields, one struct rec per procedure, the .eh_frame bytes, names.
 *       Descriptor forms are converted to .eh_frame (absolute FDE
 *       addresses) at registration, so every eager procedure is an FDE.
 *   table: struct table (the range and a bias) -> struct table_data (the
 *       record array, allocated once for max_procs so it never moves, and
 *       arena chunks holding each procedure's .eh_frame and name).
 *   callback: struct cbobj (range, callback, argument).
 * The tree maps each eager procedure, each table range and each callback
 * range to its object (and, for eager ones, the procedure's index).
 *
 * Moving code never edits an object readers may use: the writer makes a
 * copy whose `bias` says how far the code moved (FDE addresses + bias =
 * the code's address now), re-indexes it and retires the original.
 *
 * Reclamation: unlinked nodes and objects are queued and freed in batches
 * after sw_rcu_synchronize(); callback ranges synchronise before
 * sw_jit_remove returns, since their data is the JIT's.
 */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "dwarf/reader.h"
#include "jit/describe.h"
#include "jit/eh_abs.h"
#include "jit/eh_find.h"
#include "jit/error.h"
#include "jit/publish.h"
#include "jit/rcu.h"
#include "jit/registry.h"
#include "jit/tree.h"
#include "source/source.h"

/* ---------------------------------------------------------------- rcu */

struct sw_rcu_slot sw_rcu_slots[SW_RCU_SLOTS];
uint64_t sw_rcu_epoch;

void sw_rcu_synchronize(void)
{
	uint64_t e = __atomic_load_n(&sw_rcu_epoch, __ATOMIC_SEQ_CST);
	unsigned p = (unsigned)(e & 1);

	__atomic_store_n(&sw_rcu_epoch, e + 1, __ATOMIC_SEQ_CST);
	for (unsigned spins = 0;; spins++) {
		uint64_t sum = 0;
		for (unsigned s = 0; s < SW_RCU_SLOTS; s++)
			sum += __atomic_load_n(&sw_rcu_slots[s].count[p], __ATOMIC_SEQ_CST);
		if (sum == 0)
			return;
		if (spins < 100) {
			__builtin_ia32_pause();
		} else if (spins < 1000) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 50 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
}

/* ---------------------------------------------------------------- objects */

enum { OBJ_EAGER = 1, OBJ_TABLE = 2, OBJ_CALLBACK = 3 };
enum {
	F_VADDR = 1,            /* the bytes are decoded at an address of their own */
	F_BIAS = 2,             /* moved: FDE addresses + bias = where the code is */
	F_SINGLE = 4,           /* one procedure, no record array: its FDE follows
				 * the first CIE, its name follows the bytes */
	F_NAMED = 8,            /* F_SINGLE: it has a name */
	F_TERM = 16,            /* 4 zero bytes were appended to the bytes */
};

/* Common header (16 bytes). */
struct obj {
	uint8_t type;
	uint8_t flags;          /* eager: F_* */
	uint16_t hgen;          /* handle generation */
	uint32_t n;             /* eager: procedures */
	uint32_t hindex;        /* handle table index */
	uint32_t size;          /* eager: .eh_frame bytes */
};

/* eager: per procedure */
struct rec {
	uint32_t fde_off;       /* FDE offset in the .eh_frame copy */
	uint32_t name_off;      /* name offset from the object, 0: none */
};

/* A procedure's line information (copied; for publishers). */
struct lines {
	const char *file;
	const struct sw_jit_line *v;
	uint32_t n;
};

struct trec {
	uint64_t start;         /* in the table's own coordinates (before bias) */
	uint32_t len;
	uint32_t eh_size;
	const uint8_t *eh;      /* CIE + FDE, absolute addresses */
	const char *name;
	const struct lines *li; /* NULL: none */
};

struct chunk {
	struct chunk *next;
	size_t used, size;
	uint8_t data[];
};

struct table_data {
	uint32_t max;
	uint32_t staged;        /* appended (writer of the table only) */
	uint32_t published;     /* visible (release store, acquire load) */
	struct trec *recs;
	struct chunk *chunks;
	size_t unwind_bytes;
};

struct table {
	struct obj h;
	uint64_t start, end;    /* the range now */
	int64_t bias;           /* recs' addresses + bias = addresses now */
	struct table_data *d;
};

struct cbobj {
	struct obj h;
	uint64_t start, end;
	sw_jit_callback_t cb;
	void *arg;
};

static size_t eager_hdr_size(uint8_t flags)
{
	return sizeof(struct obj) + ((flags & F_VADDR) ? 8 : 0) + ((flags & F_BIAS) ? 8 : 0);
}

static uint64_t eager_vaddr(const struct obj *o, const uint8_t *bytes)
{
	if (o->flags & F_VADDR)
		return *(const uint64_t *)(const void *)(o + 1);
	return (uint64_t)(uintptr_t)bytes;
}

static int64_t eager_bias(const struct obj *o)
{
	if (!(o->flags & F_BIAS))
		return 0;
	return *(const int64_t *)(const void *)((const char *)(o + 1) + ((o->flags & F_VADDR) ? 8 : 0));
}

static struct rec *eager_recs(const struct obj *o)
{
	return (struct rec *)(void *)((char *)(uintptr_t)o + eager_hdr_size(o->flags));
}

static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

static size_t eager_nrecs(uint8_t flags, size_t n)
{
	return (flags & F_SINGLE) ? 0 : n;
}

static size_t eager_head(uint8_t flags, size_t n)
{
	return align8(eager_hdr_size(flags) + eager_nrecs(flags, n) * sizeof(struct rec));
}

static const uint8_t *eager_bytes(const struct obj *o)
{
	return (const uint8_t *)o + eager_head(o->flags, o->n);
}

/* The bytes with their terminator (what publishers get). */
static size_t eager_eh_size(const struct obj *o)
{
	return o->size + ((o->flags & F_TERM) ? 4 : 0);
}

/* Where the names start: after the bytes. */
static char *eager_tail(const struct obj *o)
{
	return (char *)(uintptr_t)eager_bytes(o) + eager_eh_size(o);
}

static uint32_t proc_fde_off(const struct obj *o, uint32_t i)
{
	const uint8_t *b;
	uint32_t len;

	if (!(o->flags & F_SINGLE))
		return eager_recs(o)[i].fde_off;
	/* the FDE follows the CIE at offset 0 (32-bit DWARF: checked when
	 * the object was made) */
	b = eager_bytes(o);
	memcpy(&len, b, 4);
	return len + 4;
}

static const char *proc_name(const struct obj *o, uint32_t i)
{
	if (o->flags & F_SINGLE)
		return (o->flags & F_NAMED) ? eager_tail(o) : NULL;
	uint32_t off = eager_recs(o)[i].name_off;
	return off ? (const char *)o + off : NULL;
}

/* Tree values carry the object's type in their low bits (objects are
 * malloc-aligned), so a lookup knows the form without touching the
 * object. */
static void *tagged(const struct obj *o)
{
	return (void *)((uintptr_t)o | o->type);
}

static struct obj *untag(const void *v)
{
	return (struct obj *)((uintptr_t)v & ~(uintptr_t)3);
}

static unsigned tag_type(const void *v)
{
	return (unsigned)((uintptr_t)v & 3);
}

static uint64_t make_handle(const struct obj *o)
{
	return ((uint64_t)o->hindex + 1) << 16 | o->hgen;
}

#define NPUB 5

static const struct sw_jit_pub_ops *pub_op(unsigned i)
{
	switch (i) {
	case 0: return &sw_jit_pub_libgcc;
	case 1: return &sw_jit_pub_gdb;
	case 2: return &sw_jit_pub_perf_map;
	case 3: return &sw_jit_pub_jitdump;
	default: return &sw_jit_pub_libunwind;
	}
}

/* One chunk handed to publishers: an eager registration, or one published
 * batch of a table. */
struct batch {
	struct batch *next;
	struct sw_jit_chunk chunk;
	struct sw_jit_chunk_proc *procs;
	uint8_t *bytes;                 /* our copy, when the chunk needs one */
	uint32_t first, count;          /* table: records [first, first+count) */
	unsigned mask;                  /* publishers holding it */
	void *cookie[NPUB];
};

struct pubset {
	unsigned mask;                  /* wanted publishers */
	uint32_t table_done;            /* table: records handed out so far */
	struct batch *batches;
};

/* ---------------------------------------------------------------- state */

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;

static void retire(void *arg, void *p);

static struct sw_tree tree = { .retire = retire };

/* Quick reject for PCs outside every range: [lo, hi) grows on insertion
 * and is reset when the tree empties (relaxed: a stale bound only means a
 * reader raced with the registration it misses). */
static uint64_t bound_lo = UINT64_MAX, bound_hi;

/* handle table: live entry = pointer | gen << 48; free entry = gen << 48 |
 * (next free index + 1) << 1 | 1, next 0 ending the list (pointers are
 * 8-aligned, so bit 0 tells the two apart) */
static uint64_t *htab;
static uint32_t hcap, hcount, hlive;
static uint32_t hfree;          /* first free index + 1, 0: none */

static void **retired;
static size_t nretired, capretired, retired_bytes;
#define RETIRE_BATCH 4096

static size_t record_bytes, unwind_bytes;

/* Line information of eager registrations, by handle index: one block
 * holding a struct lines per procedure (in descriptor order) and the
 * copies; NULL when the registration gave none.  Writer-side only. */
static struct lines **linesets;
static uint32_t linecap;

/* ---------------------------------------------------------------- reclamation */

static size_t block_size(void *p)
{
	return malloc_usable_size(p) + sizeof(size_t);
}

static void reclaim(void)
{
	if (!nretired)
		return;
	sw_rcu_synchronize();
	for (size_t i = 0; i < nretired; i++)
		free(retired[i]);
	nretired = 0;
	retired_bytes = 0;
}

static void retire(void *arg, void *p)
{
	(void)arg;
	if (nretired == capretired) {
		size_t cap = capretired ? capretired * 2 : 256;
		void **nr = realloc(retired, cap * sizeof(*nr));
		if (!nr) {
			/* cannot queue it: wait for readers now */
			sw_rcu_synchronize();
			free(p);
			return;
		}
		retired = nr;
		capretired = cap;
	}
	retired[nretired++] = p;
	retired_bytes += block_size(p);
}

static void maybe_reclaim(void)
{
	if (nretired >= RETIRE_BATCH || retired_bytes >= (8u << 20))
		reclaim();
}

/* ---------------------------------------------------------------- handles */

static int handle_alloc(struct obj *o)
{
	uint32_t i;

	if (hfree) {
		i = hfree - 1;
		hfree = (uint32_t)((htab[i] & 0xffffffffffffull) >> 1);
		o->hgen = (uint16_t)(htab[i] >> 48);
	} else {
		if (hcount == hcap) {
			uint32_t cap = hcap ? hcap * 2 : 1024;
			uint64_t *nt = realloc(htab, (size_t)cap * sizeof(*nt));
			if (!nt)
				return SW_ENOMEM;
			record_bytes += ((size_t)cap - hcap) * sizeof(*nt);
			htab = nt;
			hcap = cap;
		}
		i = hcount++;
		o->hgen = 1;
	}
	o->hindex = i;
	htab[i] = (uint64_t)(uintptr_t)o | (uint64_t)o->hgen << 48;
	hlive++;
	return 0;
}

static void handle_set(struct obj *o)
{
	htab[o->hindex] = (uint64_t)(uintptr_t)o | (uint64_t)o->hgen << 48;
}

static void handle_free(struct obj *o)
{
	uint16_t gen = (uint16_t)(o->hgen + 1);

	if (gen == 0)
		gen = 1;
	htab[o->hindex] = (uint64_t)gen << 48 | (uint64_t)hfree << 1 | 1;
	hfree = o->hindex + 1;
	hlive--;
}

static struct obj *handle_get(sw_jit_handle_t h)
{
	uint64_t i = (h >> 16);

	if (i == 0 || i > hcount)
		return NULL;
	uint64_t e = htab[i - 1];
	if ((e & 1) || (uint16_t)(e >> 48) != (uint16_t)h)
		return NULL;
	return (struct obj *)(uintptr_t)(e & 0xffffffffffffull);
}

/* ---------------------------------------------------------------- index */

static void pubset_new(struct obj *o);
static void lineset_set(uint32_t hindex, struct lines *ls);
static int relocate_copy(const struct sw_cfi_section *src, uint8_t *copy, int64_t bias);
static void pubset_drop(uint32_t i);
static int pubset_moved(struct obj *o);
static struct pubset *pubset_get(uint32_t hindex, bool create);
static int pubset_sync(struct obj *o, struct pubset *ps);

/* In a child after fork only the forking thread exists: readers that were
 * inside a read section in other threads of the parent never leave it
 * there, so their counts would make the child's writers wait forever. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&wlock);     /* no writer is half way through */
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&wlock);
}

static void fork_child(void)
{
	memset(sw_rcu_slots, 0, sizeof(sw_rcu_slots));
	pthread_mutex_unlock(&wlock);
}

/* Once per process, at the first registration: the fork handlers, and
 * the registry handed to libstackwalk_findfde.so when it is loaded (a
 * program linked with libstackwalk.a exports nothing it could find). */
static void first_registration(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	sw_jit_eh_attach();
}

static void install_hook(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, first_registration);
	sw_source_install(SW_RANK_JIT, &sw_jit_source);
}

static void bounds_add(uint64_t start, uint64_t end)
{
	if (start < __atomic_load_n(&bound_lo, __ATOMIC_RELAXED))
		__atomic_store_n(&bound_lo, start, __ATOMIC_RELAXED);
	if (end > __atomic_load_n(&bound_hi, __ATOMIC_RELAXED))
		__atomic_store_n(&bound_hi, end, __ATOMIC_RELAXED);
}

static void bounds_check_empty(void)
{
	if (tree.entries == 0) {
		__atomic_store_n(&bound_lo, UINT64_MAX, __ATOMIC_RELAXED);
		__atomic_store_n(&bound_hi, 0, __ATOMIC_RELAXED);
	}
}

static bool range_ok(uint64_t start, uint64_t end)
{
	return end > start && end - start <= UINT32_MAX;
}

/* The reason a range is not range_ok: `what` names its end field. */
static int range_fail(const char *what, uint64_t start, uint64_t end)
{
	if (end <= start)
		return sw_jit_fail(SW_EINVAL, "%s: %#llx is not above the start %#llx (an empty "
				   "or wrapping range)", what, (unsigned long long)end,
				   (unsigned long long)start);
	return sw_jit_fail(SW_EINVAL, "%s: the range [%#llx, %#llx) is 4 GiB or more", what,
			   (unsigned long long)start, (unsigned long long)end);
}

/* An FDE program built from a descriptor's u.cfi.insns failed when run:
 * the reason gives the byte of the caller's instructions (escape writes
 * them first, at the FDE's instructions). */
static int run_fail(int rc, const struct sw_diag *d, const struct sw_cfi_section *sec,
		    const struct sw_fde *fde)
{
	uint64_t at = (uint64_t)(fde->insns - sec->data);

	if (d->code && d->offset >= at && d->offset - at < fde->insns_len)
		return sw_jit_fail(rc, "u.cfi.insns: its CFA program fails when run: %s at byte "
				   "%llu", sw_strerror(rc), (unsigned long long)(d->offset - at));
	return sw_jit_fail(rc, "u.cfi.insns: its CFA program fails when run: %s",
			   sw_strerror(rc));
}

/* A CFI parse error as the reason: what, the code's text, where. */
static int cfi_fail(int rc, const struct sw_diag *d, const char *what)
{
	if (!d->code)
		return sw_jit_fail(rc, "%s: %s", what, sw_strerror(rc));
	return sw_jit_fail(rc, "%s: %s at offset %#llx of %s (entry at %#llx)", what,
			   sw_strerror(rc), (unsigned long long)d->offset,
			   d->section ? d->section : "?", (unsigned long long)d->entry);
}

/* ---------------------------------------------------------------- eager objects */

struct span {
	uint64_t start, end;
	uint32_t rec;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void sec_of(const struct obj *o, struct sw_cfi_section *sec)
{
	const uint8_t *bytes = eager_bytes(o);

	sw_cfi_section_init(sec, bytes, o->size, eager_vaddr(o, bytes), true, ".eh_frame");
}

/* Every row of the FDE decodes (malformed CFI is refused at registration
 * rather than met during an unwind). */
static int no_row(void *arg, const struct sw_cfa_row *row)
{
	(void)arg;
	(void)row;
	return 0;
}

/*
 * Index the FDEs of an eager object's .eh_frame copy: fill recs (in
 * section order) and spans (sorted by address).  `validate` decodes every
 * FDE's program.  `procs`: FDE i was built from procs[i] (the reasons
 * name it), else the bytes are the caller's .eh_frame.  Returns the
 * number of FDEs or an error.
 */
static int index_fdes(struct obj *o, struct span *spans, size_t max, bool validate, bool procs)
{
	const char *what = procs ? "procs" : "eh_frame FDE";
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	struct sw_diag diag = { 0 };
	uint64_t off = 0;
	size_t n = 0;
	int64_t bias = eager_bias(o);
	int rc;

	sec_of(o, &sec);
	for (;;) {
		rc = sw_cfi_entry_at(&sec, off, &ent, &diag);
		if (rc == SW_END_OF_STACK)
			break;
		if (rc < 0)
			return cfi_fail(rc, &diag, "eh_frame");
		if (ent.kind == SW_CFI_ZERO)
			break;
		if (ent.kind == SW_CFI_FDE) {
			struct sw_fde fde;
			struct sw_cie cie;
			if ((rc = sw_cfi_parse_fde(&sec, off, &fde, &cie, &diag)) < 0)
				return cfi_fail(rc, &diag, "eh_frame");
			if (validate && (rc = sw_cfa_table(&sec, &cie, &fde, no_row, NULL, &diag)) < 0) {
				uint32_t mark = sw_jit_err_mark();
				if (procs)
					run_fail(rc, &diag, &sec, &fde);
				else
					cfi_fail(rc, &diag, "its CFA program fails when run");
				return sw_jit_err_ctx(rc, mark, "%s[%zu]%s", what, n, procs ? "." : ": ");
			}
			if (n == max)
				return sw_jit_fail(SW_EINVAL, "eh_frame: more than %zu FDEs", max);
			if (off > UINT32_MAX)
				return sw_jit_fail(SW_EINVAL, "eh_frame: an FDE at offset %#llx, past "
						   "4 GiB", (unsigned long long)off);
			uint64_t s = fde.pc_begin + (uint64_t)bias, e = fde.pc_end + (uint64_t)bias;
			if (!range_ok(s, e)) {
				uint32_t mark = sw_jit_err_mark();
				return sw_jit_err_ctx(range_fail("pc_range", s, e), mark,
						      "%s[%zu] (entry at %#llx).", what, n,
						      (unsigned long long)off);
			}
			if (!(o->flags & F_SINGLE))
				eager_recs(o)[n].fde_off = (uint32_t)off;
			spans[n].start = s;
			spans[n].end = e;
			spans[n].rec = (uint32_t)n;
			n++;
		}
		off = ent.end;
	}
	if (n == 0)
		return sw_jit_fail(SW_EINVAL, "eh_frame: no FDE in its %llu bytes",
				   (unsigned long long)sec.size);
	qsort(spans, n, sizeof(*spans), span_cmp);
	for (size_t i = 1; i < n; i++)
		if (spans[i].start < spans[i - 1].end)
			return sw_jit_fail(SW_EOVERLAP, "%s[%u] [%#llx, %#llx) overlaps %s[%u] "
					   "[%#llx, %#llx)", what, spans[i].rec,
					   (unsigned long long)spans[i].start,
					   (unsigned long long)spans[i].end, what, spans[i - 1].rec,
					   (unsigned long long)spans[i - 1].start,
					   (unsigned long long)spans[i - 1].end);
	return (int)n;
}

/*
 * index_fdes for bytes the builder just wrote from `procs`: FDE i is
 * procedure i, so only the entry headers need reading (registration is
 * hot: a JIT may register every function it compiles).
 */
static int index_built(struct obj *o, const struct sw_jit_proc *procs, struct span *spans, size_t n)
{
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	uint64_t off = 0;
	size_t i = 0;
	int rc;

	sec_of(o, &sec);
	while (i < n) {
		if ((rc = sw_cfi_entry_at(&sec, off, &ent, NULL)) < 0)
			return rc;
		if (ent.kind == SW_CFI_ZERO || off > UINT32_MAX)
			return sw_jit_fail(SW_EINVAL, "internal: the .eh_frame built for %zu "
					   "procedures holds %zu FDEs", n, i);
		if (ent.kind == SW_CFI_FDE) {
			if (o->flags & F_SINGLE) {
				if (off != proc_fde_off(o, 0))  /* cannot happen: one CIE */
					return sw_jit_fail(SW_EINVAL, "internal: the FDE does not "
							   "follow the first CIE");
			} else {
				eager_recs(o)[i].fde_off = (uint32_t)off;
			}
			spans[i].start = procs[i].start;
			spans[i].end = procs[i].end;
			spans[i].rec = (uint32_t)i;
			i++;
		}
		off = ent.end;
	}
	if (n > 1)
		qsort(spans, n, sizeof(*spans), span_cmp);
	return (int)n;
}

static size_t names_bytes(const struct obj *o)
{
	size_t total = 0;

	for (uint32_t i = 0; i < o->n; i++) {
		const char *nm = proc_name(o, i);
		if (nm)
			total += strlen(nm) + 1;
	}
	return total;
}

static void account_eager(const struct obj *o, bool add)
{
	size_t u = o->size + names_bytes(o);
	size_t r = block_size((void *)(uintptr_t)o) - u;

	if (add) {
		unwind_bytes += u;
		record_bytes += r;
	} else {
		unwind_bytes -= u;
		record_bytes -= r;
	}
}

/* Insert every span of `o`; on failure remove those inserted.  `what`
 * names span i's record in the reasons ("procs", "eh_frame FDE"). */
static int index_insert(struct obj *o, const struct span *spans, size_t n, const char *what)
{
	/* past every registered range (the usual JIT case): nothing to check */
	bool beyond = spans[0].start >= bound_hi;

	for (size_t i = 0; i < n; i++) {
		if (!beyond && sw_tree_overlaps(&tree, spans[i].start, spans[i].end)) {
			sw_jit_fail(SW_EOVERLAP, "%s[%u]: [%#llx, %#llx) overlaps a registered range",
				    what, spans[i].rec, (unsigned long long)spans[i].start,
				    (unsigned long long)spans[i].end);
			while (i--)
				sw_tree_remove(&tree, spans[i].start, tagged(o));
			return SW_EOVERLAP;
		}
		struct sw_tree_entry e = {
			.start = spans[i].start,
			.len = (uint32_t)(spans[i].end - spans[i].start),
			.idx = spans[i].rec,
			.val = tagged(o),
		};
		int rc = sw_tree_insert(&tree, &e);
		if (rc < 0) {
			while (i--)
				sw_tree_remove(&tree, spans[i].start, tagged(o));
			return rc;
		}
	}
	return 0;
}

/*
 * Allocate an eager object for `size` .eh_frame bytes, n procedures and
 * `namelen` bytes of names.
 */
static struct obj *eager_alloc(uint8_t flags, size_t n, size_t size, size_t namelen)
{
	size_t hdr = eager_head(flags, n);
	size_t total = hdr + size + ((flags & F_TERM) ? 4 : 0) + namelen;
	struct obj *o;

	if (n > UINT32_MAX || size > UINT32_MAX || total > UINT32_MAX)
		return NULL;
	o = calloc(1, total);
	if (!o)
		return NULL;
	o->type = OBJ_EAGER;
	o->flags = flags;
	o->n = (uint32_t)n;
	o->size = (uint32_t)size;
	return o;
}

/* Copy names after the bytes; names[i] belongs to the i-th FDE. */
static void eager_names(struct obj *o, const char *const *names, size_t nnames,
			const struct sw_jit_proc *procs)
{
	char *dst = eager_tail(o);

	for (uint32_t i = 0; i < o->n; i++) {
		const char *nm = procs ? procs[i].name : (i < nnames ? names[i] : NULL);
		if (!nm)
			continue;
		size_t l = strlen(nm) + 1;
		memcpy(dst, nm, l);
		if (o->flags & F_SINGLE)
			o->flags |= F_NAMED;
		else
			eager_recs(o)[i].name_off = (uint32_t)(dst - (char *)o);
		dst += l;
	}
}

static size_t names_len(const char *const *names, size_t nnames, const struct sw_jit_proc *procs,
			size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		const char *nm = procs ? procs[i].name : (i < nnames ? names[i] : NULL);
		if (nm)
			total += strlen(nm) + 1;
	}
	return total;
}

/* Register an eager object: handle + index, under the lock. */
static int eager_publish(struct obj *o, const struct span *spans, size_t n, struct lines *ls,
			 sw_jit_handle_t *out, const char *what)
{
	int rc;

	pthread_mutex_lock(&wlock);
	rc = handle_alloc(o);
	if (rc == 0) {
		rc = index_insert(o, spans, n, what);
		if (rc < 0) {
			handle_free(o);
		} else {
			bounds_add(spans[0].start, spans[n - 1].end);
			account_eager(o, true);
			install_hook();
			*out = make_handle(o);
			lineset_set(o->hindex, ls);
			ls = NULL;
			pubset_new(o);
		}
	}
	maybe_reclaim();
	pthread_mutex_unlock(&wlock);
	free(ls);
	return rc;
}

static int add_eh_frame(const void *eh_frame, size_t size, uint64_t eh_addr,
			const char *const *names, size_t nnames, sw_jit_handle_t *out)
{
	struct span one[1], *spans;
	struct obj *o;
	size_t max;
	int rc;

	if (!eh_frame)
		return sw_jit_fail(SW_EINVAL, "eh_frame: NULL");
	if (!size)
		return sw_jit_fail(SW_EINVAL, "size: 0");
	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	if (nnames && !names)
		return sw_jit_fail(SW_EINVAL, "names: NULL with nnames %zu", nnames);
	/* an FDE takes at least 16 bytes */
	max = size / 16 + 1;
	o = eager_alloc(F_VADDR | F_TERM, max, size, 0);
	if (!o)
		return SW_ENOMEM;
	*(uint64_t *)(void *)(o + 1) = eh_addr;
	memcpy((uint8_t *)eager_bytes(o), eh_frame, size);
	spans = max == 1 ? one : malloc(max * sizeof(*spans));
	if (!spans) {
		free(o);
		return SW_ENOMEM;
	}
	rc = index_fdes(o, spans, max, true, false);
	if (rc < 0)
		goto out;

	/* now that the count is known, lay the object out for real */
	size_t n = (size_t)rc;
	struct obj *f = eager_alloc(F_VADDR | F_TERM, n, size, names_len(names, nnames, NULL, n));
	if (!f) {
		rc = SW_ENOMEM;
		goto out;
	}
	*(uint64_t *)(void *)(f + 1) = eh_addr;
	memcpy((uint8_t *)eager_bytes(f), eh_frame, size);
	memcpy(eager_recs(f), eager_recs(o), n * sizeof(struct rec));
	eager_names(f, names, nnames, NULL);
	/* make the copy valid where it lives, so other unwinders (publishers,
	 * the _Unwind_Find_FDE interposer) can read it in place; when a
	 * 4-byte pc-relative field cannot reach, keep decoding it at eh_addr */
	{
		struct sw_cfi_section src;
		uint8_t *mine = (uint8_t *)eager_bytes(f);
		sw_cfi_section_init(&src, eh_frame, size, eh_addr, true, ".eh_frame");
		if (relocate_copy(&src, mine, 0) == 0)
			*(uint64_t *)(void *)(f + 1) = (uint64_t)(uintptr_t)mine;
		else
			memcpy(mine, eh_frame, size);
	}
	rc = eager_publish(f, spans, n, NULL, out, "eh_frame FDE");
	if (rc < 0)
		free(f);
out:
	if (spans != one)
		free(spans);
	free(o);
	return rc < 0 ? rc : 0;
}

int sw_jit_add_eh_frame(const void *eh_frame, size_t size, uint64_t eh_addr,
			const char *const *names, size_t nnames, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(add_eh_frame(eh_frame, size, eh_addr, names, nnames, out), mark,
			      "sw_jit_add_eh_frame: ");
}

/* A SW_JIT_UNWIND_CFI stream must decode exactly to its end (the builder
 * pads with DW_CFA_nop, which would hide a truncated last instruction). */
static int check_cfi_insns(const struct sw_jit_proc *p)
{
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn insn;
	struct sw_reader r;
	int rc;

	if (p->kind != SW_JIT_UNWIND_CFI)
		return 0;
	if (!p->u.cfi.insns && p->u.cfi.len)
		return sw_jit_fail(SW_EINVAL, "u.cfi.insns: NULL with len %zu", p->u.cfi.len);
	memset(&ctx, 0, sizeof(ctx));
	ctx.code_align = 1;
	ctx.data_align = -8;
	ctx.fde_enc = SW_PE_absptr;
	sw_rd_init(&r, p->u.cfi.insns, p->u.cfi.len, 0, "CFI instructions");
	while (r.pos < r.end) {
		const uint8_t *at = r.pos;
		if ((rc = sw_cfa_decode(&r, &ctx, &insn)) < 0)
			return sw_jit_fail(rc, "u.cfi.insns: %s in the instruction at byte %zu "
					   "(opcode %#x) of %zu", sw_strerror(rc),
					   (size_t)(at - p->u.cfi.insns), *at, p->u.cfi.len);
	}
	return 0;
}

/* Descriptors of one call must not overlap each other. */
static int check_proc_overlap(const struct sw_jit_proc *procs, size_t n, struct span *spans)
{
	for (size_t i = 0; i < n; i++) {
		if (!range_ok(procs[i].start, procs[i].end)) {
			uint32_t mark = sw_jit_err_mark();
			return sw_jit_err_ctx(range_fail("end", procs[i].start, procs[i].end), mark,
					      "procs[%zu].", i);
		}
		spans[i].start = procs[i].start;
		spans[i].end = procs[i].end;
		spans[i].rec = (uint32_t)i;
	}
	qsort(spans, n, sizeof(*spans), span_cmp);
	for (size_t i = 1; i < n; i++)
		if (spans[i].start < spans[i - 1].end)
			return sw_jit_fail(SW_EOVERLAP, "procs[%u] [%#llx, %#llx) overlaps procs[%u] "
					   "[%#llx, %#llx)", spans[i].rec,
					   (unsigned long long)spans[i].start,
					   (unsigned long long)spans[i].end, spans[i - 1].rec,
					   (unsigned long long)spans[i - 1].start,
					   (unsigned long long)spans[i - 1].end);
	return 0;
}

static bool has_lines(const struct sw_jit_proc *p)
{
	return p->file && p->nlines;
}

/* Sorted offsets inside the procedure. */
static int check_lines(const struct sw_jit_proc *p)
{
	if (!has_lines(p))
		return 0;
	if (!p->lines)
		return sw_jit_fail(SW_EINVAL, "lines: NULL with nlines %u", p->nlines);
	for (uint32_t i = 0; i < p->nlines; i++) {
		if (p->lines[i].offset >= p->end - p->start)
			return sw_jit_fail(SW_EINVAL, "lines[%u].offset: %u is not below the "
					   "procedure's size %llu", i, p->lines[i].offset,
					   (unsigned long long)(p->end - p->start));
		if (i && p->lines[i].offset < p->lines[i - 1].offset)
			return sw_jit_fail(SW_EINVAL, "lines[%u].offset: %u is below lines[%u].offset "
					   "%u (entries must be sorted)", i, p->lines[i].offset,
					   i - 1, p->lines[i - 1].offset);
	}
	return 0;
}

static size_t lines_size(const struct sw_jit_proc *p)
{
	return has_lines(p) ? p->nlines * sizeof(struct sw_jit_line) + strlen(p->file) + 1 : 0;
}

/* Copy p's lines into `at` (lines_size bytes), describe them in *li. */
static void lines_copy(const struct sw_jit_proc *p, struct lines *li, uint8_t *at)
{
	memset(li, 0, sizeof(*li));
	if (!has_lines(p))
		return;
	size_t lb = p->nlines * sizeof(struct sw_jit_line);
	memcpy(at, p->lines, lb);
	memcpy(at + lb, p->file, strlen(p->file) + 1);
	li->v = (const struct sw_jit_line *)(const void *)at;
	li->n = p->nlines;
	li->file = (const char *)at + lb;
}

/* One block for the lines of n descriptors, or NULL (none, or no memory:
 * line information is best effort). */
static struct lines *lineset_make(const struct sw_jit_proc *procs, size_t n)
{
	size_t total = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		any |= has_lines(&procs[i]);
		total += align8(lines_size(&procs[i]));
	}
	if (!any)
		return NULL;
	struct lines *ls = malloc(n * sizeof(*ls) + total);
	if (!ls)
		return NULL;
	uint8_t *at = (uint8_t *)(ls + n);
	for (size_t i = 0; i < n; i++) {
		lines_copy(&procs[i], &ls[i], at);
		at += align8(lines_size(&procs[i]));
	}
	return ls;
}

static void lineset_set(uint32_t hindex, struct lines *ls)
{
	if (hindex >= linecap) {
		if (!ls)
			return;
		uint32_t cap = hcap > hindex ? hcap : hindex + 1;
		struct lines **nl = realloc(linesets, (size_t)cap * sizeof(*nl));
		if (!nl) {
			free(ls);
			return;
		}
		memset(nl + linecap, 0, (size_t)(cap - linecap) * sizeof(*nl));
		linesets = nl;
		linecap = cap;
	}
	free(linesets[hindex]);
	linesets[hindex] = ls;
}

static const struct lines *lineset_get(uint32_t hindex, uint32_t i)
{
	if (hindex >= linecap || !linesets[hindex])
		return NULL;
	return &linesets[hindex][i];
}

/* Build the .eh_frame of n descriptors into buf (NULL: measure); the
 * reasons call procs[i] procs[first + i].  A description that does not
 * fit `size` bytes (buf != NULL) is SW_ETRUNCATED. */
static int build_procs(const struct sw_jit_proc *procs, size_t n, void *buf, size_t size,
		       size_t first)
{
	sw_cfi_builder_t b;
	uint32_t mark = sw_jit_err_mark();
	int rc;

	sw_cfi_b_init(&b, buf, size, (uint64_t)(uintptr_t)buf, SW_CFI_B_ABSPTR);
	for (size_t i = 0; i < n; i++) {
		if (!range_ok(procs[i].start, procs[i].end))
			rc = range_fail("end", procs[i].start, procs[i].end);
		else
			rc = sw_jit_describe(&b, &procs[i]);
		if (rc < 0)
			return sw_jit_err_ctx(rc, mark, "procs[%zu].", first + i);
	}
	return sw_cfi_b_finish(&b);
}

/* A description beyond SW_JIT_MAX_CFI (the one-procedure forms build on
 * the stack). */
static int too_much_cfi(size_t i)
{
	return sw_jit_fail(SW_EINVAL, "procs[%zu]: its description needs more than "
			   "SW_JIT_MAX_CFI (%d) bytes of .eh_frame", i, SW_JIT_MAX_CFI);
}

static int add_procs(const struct sw_jit_proc *procs, size_t n, sw_jit_handle_t *out)
{
	struct span one[1], *spans;
	uint8_t small[SW_JIT_MAX_CFI];
	struct obj *o;
	int size, rc;
	bool validate = false;

	if (!procs)
		return sw_jit_fail(SW_EINVAL, "procs: NULL");
	if (!n || n > UINT32_MAX / 2)
		return sw_jit_fail(SW_EINVAL, "n: %zu is not 1..%u", n, UINT32_MAX / 2);
	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	for (size_t i = 0; i < n; i++) {
		uint32_t mark = sw_jit_err_mark();
		if (procs[i].kind == SW_JIT_UNWIND_CFI)
			validate = true;
		if ((rc = check_cfi_insns(&procs[i])) < 0 || (rc = check_lines(&procs[i])) < 0)
			return sw_jit_err_ctx(rc, mark, "procs[%zu].", i);
	}
	spans = n == 1 ? one : malloc(n * sizeof(*spans));
	if (!spans)
		return SW_ENOMEM;
	rc = check_proc_overlap(procs, n, spans);
	if (spans != one)
		free(spans);
	if (rc < 0)
		return rc;
	/* one procedure: build on the stack, no measuring pass */
	if (n == 1)
		size = build_procs(procs, n, small, sizeof(small), 0);
	else
		size = build_procs(procs, n, NULL, 0, 0);
	if (size < 0)
		return size == SW_ETRUNCATED && n == 1 ? too_much_cfi(0) : size;
	o = eager_alloc(n == 1 ? F_SINGLE : 0, n, (size_t)size, names_len(NULL, 0, procs, n));
	if (!o)
		return SW_ENOMEM;
	if (n == 1)
		memcpy((uint8_t *)eager_bytes(o), small, (size_t)size);
	else if ((rc = build_procs(procs, n, (uint8_t *)eager_bytes(o), (size_t)size, 0)) < 0)
		goto fail;
	spans = n == 1 ? one : malloc(n * sizeof(*spans));
	if (!spans) {
		rc = SW_ENOMEM;
		goto fail;
	}
	if (validate)
		rc = index_fdes(o, spans, n, true, true);
	else
		rc = index_built(o, procs, spans, n);
	if (rc >= 0 && (size_t)rc != n)
		rc = sw_jit_fail(SW_EINVAL, "internal: %zu procedures built %d FDEs", n, rc);
	if (rc >= 0) {
		eager_names(o, NULL, 0, procs);
		rc = eager_publish(o, spans, n, lineset_make(procs, n), out, "procs");
	}
	if (spans != one)
		free(spans);
	if (rc >= 0)
		return 0;
fail:
	free(o);
	return rc;
}

int sw_jit_add_procs(const struct sw_jit_proc *procs, size_t n, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(add_procs(procs, n, out), mark, "sw_jit_add_procs: ");
}

/* Start of each of an eager object's spans (for removal and moves). */
static int eager_spans(const struct obj *o, struct span *spans)
{
	struct sw_cfi_section sec;
	int64_t bias = eager_bias(o);

	sec_of(o, &sec);
	for (uint32_t i = 0; i < o->n; i++) {
		struct sw_fde fde;
		struct sw_cie cie;
		int rc = sw_cfi_parse_fde(&sec, proc_fde_off(o, i), &fde, &cie, NULL);
		if (rc < 0)
			return rc;      /* cannot happen: parsed at registration */
		spans[i].start = fde.pc_begin + (uint64_t)bias;
		spans[i].end = fde.pc_end + (uint64_t)bias;
		spans[i].rec = i;
	}
	qsort(spans, o->n, sizeof(*spans), span_cmp);
	return 0;
}

/* ---------------------------------------------------------------- tables */

/* Index a table or callback object over its whole range, under the lock
 * (`bytes`: what it costs the registry).  Returns 0 and *out, SW_EOVERLAP,
 * SW_ENOMEM. */
static int range_register(struct obj *o, uint64_t start, uint64_t end, size_t bytes,
			  sw_jit_handle_t *out)
{
	int rc;

	pthread_mutex_lock(&wlock);
	if (sw_tree_overlaps(&tree, start, end)) {
		rc = sw_jit_fail(SW_EOVERLAP, "[start, end) = [%#llx, %#llx) overlaps a registered "
				 "range", (unsigned long long)start, (unsigned long long)end);
	} else if ((rc = handle_alloc(o)) == 0) {
		struct sw_tree_entry e = {
			.start = start, .len = (uint32_t)(end - start), .idx = 0, .val = tagged(o),
		};
		rc = sw_tree_insert(&tree, &e);
		if (rc < 0) {
			handle_free(o);
		} else {
			bounds_add(start, end);
			record_bytes += bytes;
			install_hook();
			*out = make_handle(o);
			pubset_new(o);  /* nothing for callback ranges */
		}
	}
	pthread_mutex_unlock(&wlock);
	return rc;
}

static int table_create(uint64_t start, uint64_t end, size_t max_procs, sw_jit_handle_t *out)
{
	struct table *t;
	struct table_data *d;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	if (!range_ok(start, end))
		return range_fail("end", start, end);
	if (max_procs == 0 || max_procs > (1u << 24))
		return sw_jit_fail(SW_EINVAL, "max_procs: %zu is not 1..2^24", max_procs);
	t = calloc(1, sizeof(*t));
	d = calloc(1, sizeof(*d));
	if (d)
		d->recs = calloc(max_procs, sizeof(struct trec));
	if (!t || !d || !d->recs) {
		if (d)
			free(d->recs);
		free(d);
		free(t);
		return SW_ENOMEM;
	}
	t->h.type = OBJ_TABLE;
	t->start = start;
	t->end = end;
	t->d = d;
	d->max = (uint32_t)max_procs;

	rc = range_register(&t->h, start, end,
			    block_size(t) + block_size(d) + block_size(d->recs), out);
	if (rc < 0) {
		free(d->recs);
		free(d);
		free(t);
	}
	return rc;
}

int sw_jit_table_create(uint64_t start, uint64_t end, size_t max_procs, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(table_create(start, end, max_procs, out), mark,
			      "sw_jit_table_create: ");
}

static void *arena_alloc(struct table_data *d, size_t size)
{
	struct chunk *c = d->chunks;

	size = align8(size);
	if (!c || c->size - c->used < size) {
		size_t cs = size > 65536 - sizeof(*c) ? size : 65536 - sizeof(*c);
		c = malloc(sizeof(*c) + cs);
		if (!c)
			return NULL;
		c->next = d->chunks;
		c->used = 0;
		c->size = cs;
		d->chunks = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

/* The table behind a handle, read under the lock (moves replace it). */
static struct table *table_get(sw_jit_handle_t h)
{
	struct obj *o;

	pthread_mutex_lock(&wlock);
	o = handle_get(h);
	pthread_mutex_unlock(&wlock);
	return o && o->type == OBJ_TABLE ? (struct table *)o : NULL;
}

/* The reason for a bad handle (`what`: the parameter). */
static int bad_handle(const char *what, sw_jit_handle_t h, const char *kind)
{
	return sw_jit_fail(SW_EBADHANDLE, "%s: %#llx is not a live %shandle (unknown, or already "
			   "removed)", what, (unsigned long long)h, kind);
}

static int table_append(sw_jit_handle_t handle, const struct sw_jit_proc *procs, size_t n)
{
	struct table *t = table_get(handle);
	struct table_data *d;
	uint8_t buf[SW_JIT_MAX_CFI];

	if (!t)
		return bad_handle("table", handle, "table ");
	if (!procs && n)
		return sw_jit_fail(SW_EINVAL, "procs: NULL with n %zu", n);
	d = t->d;
	if (n > d->max - d->staged)
		return sw_jit_fail(SW_EFULL, "n: %zu more procedures do not fit: %u of max_procs %u "
				   "appended already", n, d->staged, d->max);
	/* validate everything before staging anything */
	uint64_t prev_end = d->staged ? d->recs[d->staged - 1].start + d->recs[d->staged - 1].len +
						(uint64_t)t->bias : t->start;
	for (size_t i = 0; i < n; i++) {
		const struct sw_jit_proc *p = &procs[i];
		uint32_t mark = sw_jit_err_mark();
		int rc = 0;
		if (!range_ok(p->start, p->end))
			rc = range_fail("end", p->start, p->end);
		else if (p->start < prev_end && (i || d->staged))
			rc = sw_jit_fail(SW_EINVAL, "start: %#llx is below the end of the procedure "
					 "before it (%#llx): appends must be sorted and disjoint",
					 (unsigned long long)p->start, (unsigned long long)prev_end);
		else if (p->start < prev_end)
			rc = sw_jit_fail(SW_EINVAL, "start: %#llx is below the table's start %#llx",
					 (unsigned long long)p->start, (unsigned long long)prev_end);
		else if (p->end > t->end)
			rc = sw_jit_fail(SW_EINVAL, "end: %#llx is past the table's end %#llx",
					 (unsigned long long)p->end, (unsigned long long)t->end);
		else if ((rc = check_cfi_insns(p)) >= 0)
			rc = check_lines(p);
		if (rc < 0)
			return sw_jit_err_ctx(rc, mark, "procs[%zu].", i);
		prev_end = p->end;
	}
	for (size_t i = 0; i < n; i++) {
		struct sw_jit_proc q = procs[i];
		q.start -= (uint64_t)t->bias;
		q.end -= (uint64_t)t->bias;
		int size = build_procs(&q, 1, buf, sizeof(buf), i);
		if (size < 0)
			return size == SW_ETRUNCATED ? too_much_cfi(i) : size;
		size_t nl = q.name ? strlen(q.name) + 1 : 0;
		size_t lb = has_lines(&q) ? align8(sizeof(struct lines)) + lines_size(&q) : 0;
		uint8_t *eh = arena_alloc(d, align8((size_t)size + nl) + lb);
		if (!eh)
			return SW_ENOMEM;
		/* the bytes hold absolute addresses: copying them is fine */
		memcpy(eh, buf, (size_t)size);
		if (q.kind == SW_JIT_UNWIND_CFI) {
			struct sw_cfi_section sec;
			struct sw_fde fde;
			struct sw_cie cie;
			struct sw_cfi_entry ent;
			int rc;
			sw_cfi_section_init(&sec, eh, (size_t)size, (uint64_t)(uintptr_t)eh, true,
					    ".eh_frame");
			struct sw_diag diag = { 0 };
			uint32_t mark = sw_jit_err_mark();
			/* the bytes were just built: only running the program can fail */
			if ((rc = sw_cfi_entry_at(&sec, 0, &ent, &diag)) < 0 ||
			    (rc = sw_cfi_parse_fde(&sec, ent.end, &fde, &cie, &diag)) < 0)
				return cfi_fail(rc, &diag, "internal: the built .eh_frame");
			if ((rc = sw_cfa_table(&sec, &cie, &fde, no_row, NULL, &diag)) < 0)
				return sw_jit_err_ctx(run_fail(rc, &diag, &sec, &fde), mark,
						      "procs[%zu].", i);
		}
		struct trec *r = &d->recs[d->staged];
		r->start = q.start;
		r->len = (uint32_t)(q.end - q.start);
		r->eh = eh;
		r->eh_size = (uint32_t)size;
		r->name = NULL;
		r->li = NULL;
		if (nl) {
			memcpy(eh + size, q.name, nl);
			r->name = (const char *)eh + size;
		}
		if (lb) {
			struct lines *li = (struct lines *)(void *)(eh + align8((size_t)size + nl));
			lines_copy(&q, li, (uint8_t *)(li) + align8(sizeof(struct lines)));
			r->li = li;
		}
		d->unwind_bytes += (size_t)size + nl;
		d->staged++;
	}
	return 0;
}

int sw_jit_table_append(sw_jit_handle_t handle, const struct sw_jit_proc *procs, size_t n)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(table_append(handle, procs, n), mark, "sw_jit_table_append: ");
}

static int table_publish(sw_jit_handle_t handle)
{
	struct obj *o;
	struct pubset *ps;
	int rc = 0;

	pthread_mutex_lock(&wlock);
	o = handle_get(handle);
	if (!o || o->type != OBJ_TABLE) {
		pthread_mutex_unlock(&wlock);
		return bad_handle("table", handle, "table ");
	}
	struct table *t = (struct table *)o;
	/* release: a reader that loads the count (acquire) sees the records
	 * and the bytes they point to */
	__atomic_store_n(&t->d->published, t->d->staged, __ATOMIC_RELEASE);
	/* an absent consumer (SW_EUNSUPPORTED: no nongnu libunwind, ...) is
	 * not an error of the table: the default set includes such */
	if ((ps = pubset_get(o->hindex, false)) && ps->mask &&
	    (rc = pubset_sync(o, ps)) == SW_EUNSUPPORTED)
		rc = 0;
	pthread_mutex_unlock(&wlock);
	return rc;
}

int sw_jit_table_publish(sw_jit_handle_t handle)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(table_publish(handle), mark, "sw_jit_table_publish: ");
}

/* ---------------------------------------------------------------- callbacks */

static int add_callback(uint64_t start, uint64_t end, sw_jit_callback_t callback, void *arg,
			sw_jit_handle_t *out)
{
	struct cbobj *c;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	if (!callback)
		return sw_jit_fail(SW_EINVAL, "callback: NULL");
	if (!range_ok(start, end))
		return range_fail("end", start, end);
	c = calloc(1, sizeof(*c));
	if (!c)
		return SW_ENOMEM;
	c->h.type = OBJ_CALLBACK;
	c->start = start;
	c->end = end;
	c->cb = callback;
	c->arg = arg;
	rc = range_register(&c->h, start, end, block_size(c), out);
	if (rc < 0)
		free(c);
	return rc;
}

int sw_jit_add_callback(uint64_t start, uint64_t end, sw_jit_callback_t callback, void *arg,
			sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(add_callback(start, end, callback, arg, out), mark,
			      "sw_jit_add_callback: ");
}

/* ---------------------------------------------------------------- remove, move */

static void table_retire(struct table *t, bool with_data)
{
	record_bytes -= block_size(t);
	retire(NULL, t);
	if (!with_data)
		return;
	struct table_data *d = t->d;
	record_bytes -= block_size(d) + block_size(d->recs);
	for (struct chunk *c = d->chunks, *next; c; c = next) {
		next = c->next;
		retire(NULL, c);
	}
	retire(NULL, d->recs);
	retire(NULL, d);
}

static int jit_remove(sw_jit_handle_t handle)
{
	struct obj *o;
	int rc = 0;

	pthread_mutex_lock(&wlock);
	o = handle_get(handle);
	if (!o) {
		pthread_mutex_unlock(&wlock);
		return bad_handle("handle", handle, "");
	}
	/* other consumers first: they may read the bytes until withdrawn */
	pubset_drop(o->hindex);
	lineset_set(o->hindex, NULL);
	if (o->type == OBJ_EAGER) {
		struct span one[1], *spans = o->n == 1 ? one : malloc(o->n * sizeof(*spans));
		if (!spans) {
			rc = SW_ENOMEM;
			goto out;
		}
		if ((rc = eager_spans(o, spans)) == 0) {
			for (uint32_t i = 0; i < o->n; i++)
				sw_tree_remove(&tree, spans[i].start, tagged(o));
			account_eager(o, false);
			retire(NULL, o);
		}
		if (spans != one)
			free(spans);
	} else if (o->type == OBJ_TABLE) {
		struct table *t = (struct table *)o;
		sw_tree_remove(&tree, t->start, tagged(&t->h));
		table_retire(t, true);
	} else {
		struct cbobj *c = (struct cbobj *)o;
		sw_tree_remove(&tree, c->start, tagged(&c->h));
		record_bytes -= block_size(c);
		retire(NULL, c);
	}
	if (rc == 0) {
		handle_free(o);
		bounds_check_empty();
		/* readers that compiled rules from this registration tagged them
		 * with the generation they read before their lookup: this bump
		 * (after the unlink) turns those rules into misses */
		sw_flush_cache();
		if (o->type == OBJ_CALLBACK)
			reclaim();      /* the callback's data is the JIT's to free */
		else
			maybe_reclaim();
	}
out:
	pthread_mutex_unlock(&wlock);
	return rc;
}

int sw_jit_remove(sw_jit_handle_t handle)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(jit_remove(handle), mark, "sw_jit_remove: ");
}

static bool add_wraps(uint64_t a, int64_t delta)
{
	uint64_t r = a + (uint64_t)delta;

	return delta >= 0 ? r < a : r > a;
}

static int move_eager(struct obj *o, int64_t delta)
{
	size_t n = o->n;
	struct span *old = malloc(n * sizeof(*old)), *nw = malloc(n * sizeof(*nw));
	struct obj *c = NULL;
	int rc;

	if (!old || !nw) {
		rc = SW_ENOMEM;
		goto out;
	}
	if ((rc = eager_spans(o, old)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (add_wraps(old[i].start, delta) || add_wraps(old[i].end, delta) ||
		    old[i].start + (uint64_t)delta >= old[i].end + (uint64_t)delta) {
			rc = sw_jit_fail(SW_EINVAL, "delta: %lld moves the procedure [%#llx, %#llx) "
					 "across an end of the address space", (long long)delta,
					 (unsigned long long)old[i].start,
					 (unsigned long long)old[i].end);
			goto out;
		}
		nw[i] = old[i];
		nw[i].start += (uint64_t)delta;
		nw[i].end += (uint64_t)delta;
	}
	/* the copy: same bytes, bias += delta */
	size_t oldhdr = eager_head(o->flags, n);
	uint8_t flags = o->flags | F_BIAS;
	size_t newhdr = eager_head(flags, n);
	size_t tail = malloc_usable_size(o) - oldhdr;   /* bytes + names */
	c = malloc(newhdr + tail);
	if (!c) {
		rc = SW_ENOMEM;
		goto out;
	}
	*c = *o;
	c->flags = flags;
	uint8_t *p = (uint8_t *)(c + 1);
	if (flags & F_VADDR) {
		memcpy(p, o + 1, 8);
		p += 8;
	}
	int64_t bias = eager_bias(o) + delta;
	memcpy(p, &bias, 8);
	memcpy((uint8_t *)c + newhdr, (const uint8_t *)o + oldhdr, tail);
	if (!(flags & F_SINGLE)) {
		/* name offsets move with the header */
		struct rec *r = eager_recs(c);
		memcpy(r, eager_recs(o), n * sizeof(struct rec));
		for (size_t i = 0; i < n; i++)
			if (r[i].name_off)
				r[i].name_off += (uint32_t)(newhdr - oldhdr);
	}

	/* unindex the old spans, index the new ones; on failure put back */
	for (size_t i = 0; i < n; i++)
		sw_tree_remove(&tree, old[i].start, tagged(o));
	rc = index_insert(c, nw, n, "moved procs");
	if (rc < 0) {
		if (index_insert(o, old, n, "procs") < 0)
			rc = SW_ENOMEM; /* only on allocation failure; the old spans were free */
		goto out;
	}
	account_eager(o, false);
	handle_set(c);
	account_eager(c, true);
	bounds_add(nw[0].start, nw[n - 1].end);
	retire(NULL, o);
	c = NULL;
out:
	free(c);
	free(old);
	free(nw);
	return rc;
}

/*
 * Move a table or callback range: a copy of the object (`size` bytes) with
 * its range fields (at the offsets of startp/endp in the original) and, for
 * tables, its bias (biasp, or NULL) updated BEFORE the copy is indexed, so
 * a reader never sees the new entry with the old fields.
 */
static int move_range(struct obj *o, uint64_t *startp, uint64_t *endp, int64_t *biasp, size_t size,
		      int64_t delta, struct obj **copy)
{
	uint64_t s = *startp, e = *endp, ns = s + (uint64_t)delta, ne = e + (uint64_t)delta;
	struct obj *c;
	int rc;

	if (add_wraps(s, delta) || add_wraps(e, delta))
		return sw_jit_fail(SW_EINVAL, "delta: %lld moves the range [%#llx, %#llx) across an "
				   "end of the address space", (long long)delta,
				   (unsigned long long)s, (unsigned long long)e);
	c = malloc(size);
	if (!c)
		return SW_ENOMEM;
	memcpy(c, o, size);
	*(uint64_t *)(void *)((char *)c + ((char *)startp - (char *)o)) = ns;
	*(uint64_t *)(void *)((char *)c + ((char *)endp - (char *)o)) = ne;
	if (biasp)
		*(int64_t *)(void *)((char *)c + ((char *)biasp - (char *)o)) += delta;
	sw_tree_remove(&tree, s, tagged(o));
	if (sw_tree_overlaps(&tree, ns, ne)) {
		rc = sw_jit_fail(SW_EOVERLAP, "delta: the moved range [%#llx, %#llx) overlaps a "
				 "registered range", (unsigned long long)ns, (unsigned long long)ne);
	} else {
		struct sw_tree_entry en = { .start = ns, .len = (uint32_t)(e - s), .idx = 0, .val = tagged(c) };
		rc = sw_tree_insert(&tree, &en);
	}
	if (rc < 0) {
		struct sw_tree_entry en = { .start = s, .len = (uint32_t)(e - s), .idx = 0, .val = tagged(o) };
		sw_tree_insert(&tree, &en);
		free(c);
		return rc;
	}
	bounds_add(ns, ne);
	handle_set(c);
	*copy = c;
	return 0;
}

static int jit_move(sw_jit_handle_t handle, int64_t delta)
{
	struct obj *o, *c = NULL;
	int rc;

	pthread_mutex_lock(&wlock);
	o = handle_get(handle);
	if (!o) {
		rc = bad_handle("handle", handle, "");
	} else if (delta == 0) {
		rc = 0;
	} else if (o->type == OBJ_EAGER) {
		rc = move_eager(o, delta);
	} else if (o->type == OBJ_TABLE) {
		struct table *t = (struct table *)o;
		rc = move_range(o, &t->start, &t->end, &t->bias, sizeof(*t), delta, &c);
		if (rc == 0) {
			record_bytes += block_size(c);
			table_retire(t, false);
		}
	} else {
		struct cbobj *cb = (struct cbobj *)o;
		rc = move_range(o, &cb->start, &cb->end, NULL, sizeof(*cb), delta, &c);
		if (rc == 0) {
			record_bytes += block_size(c) - block_size(cb);
			retire(NULL, cb);
		}
	}
	if (rc == 0 && o && delta) {
		sw_flush_cache();
		pubset_moved(handle_get(handle));
		maybe_reclaim();
	}
	pthread_mutex_unlock(&wlock);
	return rc;
}

int sw_jit_move(sw_jit_handle_t handle, int64_t delta)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(jit_move(handle, delta), mark, "sw_jit_move: ");
}


/* ---------------------------------------------------------------- publishers */

static unsigned pub_default;
static bool pub_default_read;           /* pub_default holds the initial set */
static struct pubset **pubsets;         /* by handle index, NULL: none */
static uint32_t pubcap;

static int encode_ptr(uint8_t *field, uint8_t enc, uint64_t value, uint64_t field_addr)
{
	uint64_t v;

	if (enc == SW_PE_omit)
		return 0;
	switch (enc & 0x70) {
	case SW_PE_absptr: v = value; break;
	case SW_PE_pcrel: v = value - field_addr; break;
	default: return SW_EUNSUPPORTED;
	}
	switch (enc & 0x0f) {
	case SW_PE_absptr: case SW_PE_udata8: case SW_PE_sdata8:
		memcpy(field, &v, 8);
		return 0;
	case SW_PE_sdata4:
		if ((int64_t)v != (int32_t)v)
			return SW_ERANGE;
		memcpy(field, &(int32_t){ (int32_t)v }, 4);
		return 0;
	case SW_PE_udata4:
		if (v > UINT32_MAX)
			return SW_ERANGE;
		memcpy(field, &(uint32_t){ (uint32_t)v }, 4);
		return 0;
	default:
		return SW_EUNSUPPORTED;
	}
}

/*
 * `copy` holds the bytes of `src`, now living at `copy` itself: rewrite
 * every pointer so the bytes are valid there, with FDE addresses moved by
 * `bias`.  Returns 0 or SW_EUNSUPPORTED / SW_ERANGE (an encoding that
 * cannot be rewritten in place, or a 4-byte pc-relative field that cannot
 * reach from the copy's address).
 */
static int relocate_copy(const struct sw_cfi_section *src, uint8_t *copy, int64_t bias)
{
	struct sw_cfi_entry ent;
	uint64_t off = 0, dst = (uint64_t)(uintptr_t)copy;
	int rc;

	for (;;) {
		rc = sw_cfi_entry_at(src, off, &ent, NULL);
		if (rc == SW_END_OF_STACK || (rc == 0 && ent.kind == SW_CFI_ZERO))
			return 0;
		if (rc < 0)
			return rc;
		if (ent.offset_size != 4)
			return SW_EUNSUPPORTED;
		if (ent.kind == SW_CFI_FDE) {
			struct sw_fde fde;
			struct sw_cie cie;
			if ((rc = sw_cfi_parse_fde(src, off, &fde, &cie, NULL)) < 0)
				return rc;
			uint64_t f = off + 8;
			if ((rc = encode_ptr(copy + f, cie.fde_enc, fde.pc_begin + (uint64_t)bias, dst + f)) < 0)
				return rc;
			if (cie.lsda_enc != SW_PE_omit && fde.aug_data_len && fde.lsda) {
				uint64_t l = (uint64_t)(fde.aug_data - src->data);
				if ((rc = encode_ptr(copy + l, cie.lsda_enc, fde.lsda, dst + l)) < 0)
					return rc;
			}
		} else {
			struct sw_cie cie;
			if ((rc = sw_cfi_parse_cie(src, off, &cie, NULL)) < 0)
				return rc;
			/* the personality sits in the augmentation data, after the
			 * fields of the letters before 'P' */
			uint64_t a = (uint64_t)(cie.aug_data - src->data);
			for (const char *c = cie.augmentation; *c && cie.has_z; c++) {
				if (*c == 'P') {
					if ((rc = encode_ptr(copy + a + 1, cie.personality_enc,
							     cie.personality, dst + a + 1)) < 0)
						return rc;
					break;
				}
				if (*c == 'L' || *c == 'R')
					a++;
			}
		}
		off = ent.end;
	}
}

static void batch_free(struct batch *b)
{
	free(b->procs);
	free(b->bytes);
	free(b);
}

/* The chunk of an eager registration. */
static int batch_eager(struct obj *o, struct batch **out)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct span *spans = malloc(o->n * sizeof(*spans));
	const uint8_t *bytes = eager_bytes(o);
	uint64_t vaddr = eager_vaddr(o, bytes);
	int64_t bias = eager_bias(o);
	int rc = SW_ENOMEM;

	if (!b || !spans || !(b->procs = malloc(o->n * sizeof(*b->procs))))
		goto fail;
	if ((rc = eager_spans(o, spans)) < 0)
		goto fail;
	for (uint32_t i = 0; i < o->n; i++) {
		const struct lines *li = lineset_get(o->hindex, spans[i].rec);
		b->procs[i].start = spans[i].start;
		b->procs[i].end = spans[i].end;
		b->procs[i].name = proc_name(o, spans[i].rec);
		b->procs[i].file = li ? li->file : NULL;
		b->procs[i].lines = li ? li->v : NULL;
		b->procs[i].nlines = li ? li->n : 0;
	}
	b->chunk.eh_frame = bytes;
	b->chunk.eh_size = eager_eh_size(o);
	b->chunk.eh_vaddr = (uint64_t)(uintptr_t)bytes;
	if (vaddr != (uint64_t)(uintptr_t)bytes || bias) {
		/* encoded for another address, or moved: a relocated copy */
		struct sw_cfi_section sec;
		rc = SW_ENOMEM;
		if (!(b->bytes = calloc(1, o->size + 4)))
			goto fail;
		memcpy(b->bytes, bytes, o->size);
		sw_cfi_section_init(&sec, bytes, o->size, vaddr, true, ".eh_frame");
		if (relocate_copy(&sec, b->bytes, bias) < 0) {
			/* a 4-byte pc-relative field cannot reach from the copy:
			 * re-encode every pointer as absolute instead */
			size_t abs_size;
			free(b->bytes);
			b->bytes = NULL;
			if ((rc = sw_eh_abs_section(&sec, bias, &b->bytes, &abs_size)) < 0)
				goto fail;
			b->chunk.eh_size = abs_size;
		}
		b->chunk.eh_frame = b->bytes;
		b->chunk.eh_vaddr = (uint64_t)(uintptr_t)b->bytes;
	}
	b->chunk.nprocs = o->n;
	b->chunk.procs = b->procs;
	b->chunk.lo = spans[0].start;
	b->chunk.hi = spans[o->n - 1].end;
	free(spans);
	*out = b;
	return 0;
fail:
	free(spans);
	if (b)
		batch_free(b);
	return rc;
}

/* The chunk of table records [first, first + count). */
static int batch_table(const struct table *t, uint32_t first, uint32_t count, struct batch **out)
{
	const struct table_data *d = t->d;
	struct batch *b = calloc(1, sizeof(*b));
	size_t size = 4;
	int rc = SW_ENOMEM;

	if (!b || !(b->procs = malloc(count * sizeof(*b->procs))))
		goto fail;
	/* each record's bytes end with the builder's terminator: drop it, or
	 * consumers would stop reading after the first procedure */
	for (uint32_t i = 0; i < count; i++)
		size += d->recs[first + i].eh_size - 4;
	if (!(b->bytes = calloc(1, size)))
		goto fail;
	size_t at = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct trec *r = &d->recs[first + i];
		memcpy(b->bytes + at, r->eh, r->eh_size - 4);  /* absolute addresses */
		at += r->eh_size - 4;
		b->procs[i].start = r->start + (uint64_t)t->bias;
		b->procs[i].end = b->procs[i].start + r->len;
		b->procs[i].name = r->name;
		b->procs[i].file = r->li ? r->li->file : NULL;
		b->procs[i].lines = r->li ? r->li->v : NULL;
		b->procs[i].nlines = r->li ? r->li->n : 0;
	}
	if (t->bias) {
		struct sw_cfi_section sec;
		uint8_t *orig = malloc(size);
		if (!orig)
			goto fail;
		memcpy(orig, b->bytes, size);
		sw_cfi_section_init(&sec, orig, size, (uint64_t)(uintptr_t)b->bytes, true, ".eh_frame");
		rc = relocate_copy(&sec, b->bytes, t->bias);
		free(orig);
		if (rc < 0)
			goto fail;
	}
	b->first = first;
	b->count = count;
	b->chunk.eh_frame = b->bytes;
	b->chunk.eh_size = size;
	b->chunk.eh_vaddr = (uint64_t)(uintptr_t)b->bytes;
	b->chunk.nprocs = count;
	b->chunk.procs = b->procs;
	b->chunk.lo = b->procs[0].start;
	b->chunk.hi = b->procs[count - 1].end;
	*out = b;
	return 0;
fail:
	if (b)
		batch_free(b);
	return rc;
}

/* Hand b to the publishers in mask it does not have yet; withdraw it from
 * those it has that mask lacks.  Returns the first error. */
static int batch_apply(struct batch *b, unsigned mask)
{
	int first = 0;

	for (unsigned i = 0; i < NPUB; i++) {
		const struct sw_jit_pub_ops *op = pub_op(i);
		unsigned bit = 1u << i;
		if ((mask & bit) && !(b->mask & bit)) {
			int rc = op->publish(&b->chunk, &b->cookie[i]);
			if (rc == 0)
				b->mask |= bit;
			else if (!first)
				first = rc;
		} else if (!(mask & bit) && (b->mask & bit)) {
			op->unpublish(b->cookie[i]);
			b->mask &= ~bit;
		}
	}
	return first;
}

static struct pubset *pubset_get(uint32_t hindex, bool create)
{
	if (hindex < pubcap && pubsets[hindex])
		return pubsets[hindex];
	if (!create)
		return NULL;
	if (hindex >= pubcap) {
		uint32_t cap = hcap > hindex ? hcap : hindex + 1;
		struct pubset **np = realloc(pubsets, (size_t)cap * sizeof(*np));
		if (!np)
			return NULL;
		memset(np + pubcap, 0, (size_t)(cap - pubcap) * sizeof(*np));
		pubsets = np;
		pubcap = cap;
	}
	return pubsets[hindex] = calloc(1, sizeof(struct pubset));
}

/* Withdraw and forget every batch of handle index i. */
static void pubset_drop(uint32_t i)
{
	struct pubset *ps = pubset_get(i, false);

	if (!ps)
		return;
	for (struct batch *b = ps->batches, *next; b; b = next) {
		next = b->next;
		batch_apply(b, 0);
		batch_free(b);
	}
	free(ps);
	pubsets[i] = NULL;
}

/* Bring handle o's publications in line with ps->mask: build the batches
 * that are missing (all of an eager registration, the newly published
 * records of a table). */
static int pubset_sync(struct obj *o, struct pubset *ps)
{
	int first = 0, rc;

	if (ps->mask && o->type == OBJ_EAGER && !ps->batches) {
		struct batch *b;
		if ((rc = batch_eager(o, &b)) < 0)
			return rc;
		ps->batches = b;
	}
	if (ps->mask && o->type == OBJ_TABLE) {
		struct table *t = (struct table *)o;
		uint32_t n = t->d->published;
		if (n > ps->table_done) {
			struct batch *b;
			if ((rc = batch_table(t, ps->table_done, n - ps->table_done, &b)) < 0)
				return rc;
			b->next = ps->batches;
			ps->batches = b;
			ps->table_done = n;
		}
	}
	for (struct batch *b = ps->batches; b; b = b->next)
		if ((rc = batch_apply(b, ps->mask)) < 0 && !first)
			first = rc;
	return first;
}

/* Rebuild every batch after a move (their bytes carry addresses). */
static int pubset_moved(struct obj *o)
{
	struct pubset *ps = pubset_get(o->hindex, false);
	struct batch *old;

	if (!ps)
		return 0;
	old = ps->batches;
	ps->batches = NULL;
	ps->table_done = 0;
	for (struct batch *b = old, *next; b; b = next) {
		next = b->next;
		batch_apply(b, 0);
		batch_free(b);
	}
	return pubset_sync(o, ps);
}

/* The default publishers (under wlock): the environment's, until
 * sw_jit_set_publishers changes them. */
static unsigned pub_defaults(void)
{
	if (!pub_default_read) {
		pub_default = sw_jit_pub_initial();
		pub_default_read = true;
	}
	return pub_default;
}

/* A new registration takes the default publishers. */
static void pubset_new(struct obj *o)
{
	struct pubset *ps;

	if (!pub_defaults() || o->type == OBJ_CALLBACK)
		return;
	if (!(ps = pubset_get(o->hindex, true)))
		return;
	ps->mask = pub_default;
	pubset_sync(o, ps);
}

int sw_jit_set_publishers(unsigned mask)
{
	unsigned prev;

	if (mask & ~(unsigned)SW_JIT_PUB_ALL)
		return sw_jit_fail(SW_EINVAL, "sw_jit_set_publishers: mask: unknown bits %#x",
				   mask & ~(unsigned)SW_JIT_PUB_ALL);
	pthread_mutex_lock(&wlock);
	prev = pub_defaults();
	pub_default = mask;
	pthread_mutex_unlock(&wlock);
	return (int)prev;
}

static int jit_publish(sw_jit_handle_t handle, unsigned mask)
{
	struct obj *o;
	struct pubset *ps;
	int rc;

	if (mask & ~(unsigned)SW_JIT_PUB_ALL)
		return sw_jit_fail(SW_EINVAL, "mask: unknown bits %#x",
				   mask & ~(unsigned)SW_JIT_PUB_ALL);
	pthread_mutex_lock(&wlock);
	o = handle_get(handle);
	if (!o) {
		rc = bad_handle("handle", handle, "");
	} else if (o->type == OBJ_CALLBACK) {
		rc = mask ? sw_jit_fail(SW_EINVAL, "mask: %#x for a callback range, which cannot "
					"be published (its procedures exist only when asked for)",
					mask) : 0;
	} else if (!(ps = pubset_get(o->hindex, mask != 0))) {
		rc = mask ? SW_ENOMEM : 0;
	} else {
		ps->mask = mask;
		rc = pubset_sync(o, ps);
		if (!mask)
			pubset_drop(o->hindex);
	}
	pthread_mutex_unlock(&wlock);
	return rc;
}

int sw_jit_publish(sw_jit_handle_t handle, unsigned mask)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(jit_publish(handle, mask), mark, "sw_jit_publish: ");
}

/* ---------------------------------------------------------------- readers */

/* A procedure found by a reader, inside its read section. */
struct hit {
	struct obj *o;
	uint64_t start, end;
	const char *name;
	/* the unwind information: a section and the FDE's offset in it */
	const uint8_t *eh;
	size_t eh_size;
	uint64_t vaddr;
	uint64_t fde_off;
	int64_t bias;
	int form;
	const uint32_t *idxp;           /* eager: the tree's index slot */
};

/* The FDE offset in a one-procedure .eh_frame: right after its CIE. */
static int first_fde(const uint8_t *eh, size_t size, uint64_t *off)
{
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	int rc;

	sw_cfi_section_init(&sec, eh, size, (uint64_t)(uintptr_t)eh, true, ".eh_frame");
	if ((rc = sw_cfi_entry_at(&sec, 0, &ent, NULL)) < 0)
		return rc;
	*off = ent.end;
	return 0;
}

/*
 * Find pc (inside a read section).  For callback ranges the description
 * is converted into scratch (SW_JIT_MAX_CFI bytes).  Returns 0,
 * SW_ENOTFOUND or an error.
 */
enum { WANT_RANGE, WANT_NAME, WANT_UNWIND };

static int find(uint64_t pc, struct hit *h, uint8_t *scratch, int want)
{
	struct sw_tree_entry e;
	int rc;

	if (!sw_tree_find(&tree, pc, &e))
		return SW_ENOTFOUND;
	h->o = untag(e.val);
	switch (tag_type(e.val)) {
	case OBJ_EAGER: {
		const struct obj *o = h->o;
		h->start = e.start;
		h->end = e.start + e.len;
		h->form = SW_JIT_FORM_EAGER;
		h->idxp = e.idxp;
		if (want == WANT_RANGE)
			return 0;
		uint32_t idx = *e.idxp;
		h->name = proc_name(o, idx);
		h->eh = eager_bytes(o);
		h->eh_size = o->size;
		h->vaddr = eager_vaddr(o, h->eh);
		h->fde_off = proc_fde_off(o, idx);
		h->bias = eager_bias(o);
		h->form = SW_JIT_FORM_EAGER;
		return 0;
	}
	case OBJ_TABLE: {
		const struct table *t = (const struct table *)h->o;
		const struct table_data *d = t->d;
		uint32_t n = __atomic_load_n(&d->published, __ATOMIC_ACQUIRE);
		uint64_t key = pc - (uint64_t)t->bias;
		uint32_t lo = 0, hi = n;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (d->recs[mid].start <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return SW_ENOTFOUND;
		const struct trec *r = &d->recs[lo - 1];
		if (key - r->start >= r->len)
			return SW_ENOTFOUND;
		h->start = r->start + (uint64_t)t->bias;
		h->end = h->start + r->len;
		h->name = r->name;
		h->eh = r->eh;
		h->eh_size = r->eh_size;
		h->vaddr = (uint64_t)(uintptr_t)r->eh;
		h->bias = t->bias;
		h->form = SW_JIT_FORM_TABLE;
		return want == WANT_UNWIND ? first_fde(h->eh, h->eh_size, &h->fde_off) : 0;
	}
	default: {
		const struct cbobj *c = (const struct cbobj *)h->o;
		struct sw_jit_proc p;
		memset(&p, 0, sizeof(p));
		if (c->cb(c->arg, pc, &p) < 0)
			return SW_ENOTFOUND;
		/* a broken answer is an error, not "no information": the
		 * fallbacks would skip a frameless JIT frame silently */
		if (p.start > pc || p.end <= pc)
			return sw_jit_fail(SW_EINVAL, "the callback's answer [%#llx, %#llx) for pc "
					   "%#llx does not contain it", (unsigned long long)p.start,
					   (unsigned long long)p.end, (unsigned long long)pc);
		if (p.start < c->start || p.end > c->end)
			return sw_jit_fail(SW_EINVAL, "the callback's answer [%#llx, %#llx) leaves "
					   "its range [%#llx, %#llx)", (unsigned long long)p.start,
					   (unsigned long long)p.end, (unsigned long long)c->start,
					   (unsigned long long)c->end);
		h->start = p.start;
		h->end = p.end;
		h->name = p.name;
		h->bias = 0;
		h->form = SW_JIT_FORM_CALLBACK;
		if (want != WANT_UNWIND)
			return 0;
		rc = build_procs(&p, 1, scratch, SW_JIT_MAX_CFI, 0);
		if (rc < 0)     /* the unwinder's call: muted, no reason */
			return sw_jit_fail(SW_EINVAL, "the callback's description of pc %#llx: %s",
					   (unsigned long long)pc, sw_strerror(rc));
		h->eh = scratch;
		h->eh_size = (size_t)rc;
		h->vaddr = (uint64_t)(uintptr_t)scratch;
		return first_fde(h->eh, h->eh_size, &h->fde_off);
	}
	}
}

static bool in_bounds(uint64_t pc)
{
	return pc >= __atomic_load_n(&bound_lo, __ATOMIC_RELAXED) &&
	       pc < __atomic_load_n(&bound_hi, __ATOMIC_RELAXED);
}

int sw_jit_find_fde(uint64_t pc, struct sw_fde_info *info)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	/* the unwinder's lookup is no call of the JIT's: keep its reason */
	sw_jit_err_mute(1);
	rc = find(pc, &h, info->scratch, WANT_UNWIND);
	sw_jit_err_mute(-1);
	if (rc == 0) {
		sw_cfi_section_init(&info->sec, h.eh, h.eh_size, h.vaddr, true, ".eh_frame");
		rc = sw_cfi_parse_fde(&info->sec, h.fde_off, &info->fde, &info->cie, NULL);
	}
	if (rc < 0) {
		sw_rcu_exit(token);
		return rc;
	}
	/* the FDE's addresses where the code is now */
	info->fde.pc_begin += (uint64_t)h.bias;
	info->fde.pc_end += (uint64_t)h.bias;
	info->module_base = 0;
	info->source = SW_SRC_JIT;
	info->held.token = token;       /* left by jit_release */
	return 0;
}

static void jit_release(struct sw_fde_info *info)
{
	sw_rcu_exit(info->held.token);
}

/* The source's name: sw_jit_get_name without its reason (the unwinder's
 * call is no call of the JIT's). */
static int jit_name(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	int rc;

	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	sw_jit_err_mute(1);
	rc = sw_jit_get_name(pc, buf, size, offset);
	sw_jit_err_mute(-1);
	return rc;
}

_Static_assert(SW_JIT_MAX_CFI <= SW_SOURCE_SCRATCH, "a lazy description fits the lookup's scratch");

static int jit_eh_fde(uint64_t pc, void *buf, size_t size, const void **fde, uint64_t *start,
		      int *copied)
{
	struct sw_jit_eh_fde jf;
	int rc = sw_jit_eh_find_fde(pc, buf, size, &jf);

	if (rc == 0) {
		*fde = jf.fde;
		*start = jf.func;
		*copied = jf.copied;
	}
	return rc;
}

const struct sw_source sw_jit_source = { "JIT registry", sw_jit_find_fde, jit_release, jit_name,
					 jit_eh_fde };

int sw_jit_lookup(uint64_t pc, struct sw_jit_found *out)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_lookup: out: NULL");
	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	uint32_t mark = sw_jit_err_mark();
	rc = find(pc, &h, NULL, WANT_RANGE);     /* the only error: a broken callback answer */
	if (rc != SW_ENOTFOUND)
		rc = sw_jit_err_ctx(rc, mark, "sw_jit_lookup: ");
	if (rc == 0) {
		out->start = h.start;
		out->end = h.end;
		out->form = h.form;
	}
	sw_rcu_exit(token);
	return rc;
}

int sw_jit_get_name(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!buf || !size)
		return sw_jit_fail(SW_EINVAL, "sw_jit_get_name: buf: NULL or size 0");
	buf[0] = '\0';
	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	uint32_t mark = sw_jit_err_mark();
	rc = find(pc, &h, NULL, WANT_NAME);      /* the only error: a broken callback answer */
	if (rc != SW_ENOTFOUND)
		rc = sw_jit_err_ctx(rc, mark, "sw_jit_get_name: ");
	if (rc == 0 && !h.name)
		rc = SW_ENONAME;        /* found: "no information" would mislead */
	if (rc == 0) {
		size_t i = 0;
		/* the callback's name is the JIT's memory, valid until removal */
		for (; i + 1 < size && h.name[i]; i++)
			buf[i] = h.name[i];
		buf[i] = '\0';
		if (offset)
			*offset = pc - h.start;
	}
	sw_rcu_exit(token);
	return rc;
}

int sw_jit_get_stats(struct sw_jit_stats *out)
{
	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_get_stats: out: NULL");
	pthread_mutex_lock(&wlock);
	memset(out, 0, sizeof(*out));
	out->entries = tree.entries;
	out->handles = hlive;
	out->index_bytes = tree.node_bytes;
	out->record_bytes = record_bytes;
	out->unwind_bytes = unwind_bytes;
	for (uint32_t i = 0; i < hcount; i++) {
		uint64_t e = htab[i];
		struct obj *o = (struct obj *)(uintptr_t)(e & 0xffffffffffffull);
		if (!(e & 1) && o->type == OBJ_TABLE)
			out->unwind_bytes += ((struct table *)o)->d->unwind_bytes;
	}
	out->retired_bytes = retired_bytes;
	pthread_mutex_unlock(&wlock);
	return 0;
}
