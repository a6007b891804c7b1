/*
 * The JIT registry's insides, shared by the files of src/jit/registry/
 * (not API; the public interface is <stackwalk/jit.h>, the unwinder's is
 * jit/registry.h):
 *
 *   epochs.c      read sections (rcu.h) and deferred freeing (retire)
 *   handles.c     the handle table
 *   index.c       the B+tree index (tree.c, its nodes in slab.c), bounds,
 *                 spans, reasons
 *   eager.c       sw_jit_add_eh_frame, sw_jit_add_procs
 *   lines.c       line information kept for publishers
 *   tables.c      growable tables (sw_jit_table_*)
 *   callbacks.c   lazy callback ranges
 *   moves.c       sw_jit_remove, sw_jit_move
 *   publishing.c  chunks handed to the publishers (src/jit/publishers/)
 *   readers.c     lookups: sw_jit_lookup, sw_jit_get_stats
 *   sized.c       arrays of any struct sw_jit_proc size (the ABI)
 *   unwinder.c    everything src/unwind and src/eh call (the FDE hook,
 *                 read-section exit, names, _Unwind_Find_FDE's answer)
 *
 * Registrations (handles) over the B+tree index (tree.h), read by the
 * unwinder without locks (rcu.h), written under one mutex (sw_reg_lock).
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
#ifndef SW_JIT_REGISTRY_INTERNAL_H
#define SW_JIT_REGISTRY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "jit/publishers/publish.h"
#include "jit/registry/rcu.h"
#include "jit/registry/tree.h"

/* Shared between the files of this folder only: hidden, so the shared
 * library neither exports nor interposes them (calls stay direct and may
 * be inlined, as when they were static). */
#pragma GCC visibility push(hidden)

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
	sw_jit_callback_t cb;           /* one of cb, scb */
	sw_jit_callback_sized_t scb;
	void *arg;
};

static inline size_t eager_hdr_size(uint8_t flags)
{
	return sizeof(struct obj) + ((flags & F_VADDR) ? 8 : 0) + ((flags & F_BIAS) ? 8 : 0);
}

static inline uint64_t eager_vaddr(const struct obj *o, const uint8_t *bytes)
{
	if (o->flags & F_VADDR)
		return *(const uint64_t *)(const void *)(o + 1);
	return (uint64_t)(uintptr_t)bytes;
}

static inline int64_t eager_bias(const struct obj *o)
{
	if (!(o->flags & F_BIAS))
		return 0;
	return *(const int64_t *)(const void *)((const char *)(o + 1) + ((o->flags & F_VADDR) ? 8 : 0));
}

static inline struct rec *eager_recs(const struct obj *o)
{
	return (struct rec *)(void *)((char *)(uintptr_t)o + eager_hdr_size(o->flags));
}

static inline size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

/* Copy `src` into buf[0..size-1], cut and NUL-terminated (size > 0). */
static inline void sw_reg_copy_str(char *buf, size_t size, const char *src)
{
	size_t i = 0;

	for (; i + 1 < size && src[i]; i++)
		buf[i] = src[i];
	buf[i] = '\0';
}

static inline size_t eager_nrecs(uint8_t flags, size_t n)
{
	return (flags & F_SINGLE) ? 0 : n;
}

static inline size_t eager_head(uint8_t flags, size_t n)
{
	return align8(eager_hdr_size(flags) + eager_nrecs(flags, n) * sizeof(struct rec));
}

static inline const uint8_t *eager_bytes(const struct obj *o)
{
	return (const uint8_t *)o + eager_head(o->flags, o->n);
}

/* The bytes with their terminator (what publishers get). */
static inline size_t eager_eh_size(const struct obj *o)
{
	return o->size + ((o->flags & F_TERM) ? 4 : 0);
}

/* Where the names start: after the bytes. */
static inline char *eager_tail(const struct obj *o)
{
	return (char *)(uintptr_t)eager_bytes(o) + eager_eh_size(o);
}

static inline uint32_t proc_fde_off(const struct obj *o, uint32_t i)
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

static inline const char *proc_name(const struct obj *o, uint32_t i)
{
	if (o->flags & F_SINGLE)
		return (o->flags & F_NAMED) ? eager_tail(o) : NULL;
	uint32_t off = eager_recs(o)[i].name_off;
	return off ? (const char *)o + off : NULL;
}

/* Tree values carry the object's type in their low bits (objects are
 * malloc-aligned), so a lookup knows the form without touching the
 * object. */
static inline void *tagged(const struct obj *o)
{
	return (void *)((uintptr_t)o | o->type);
}

static inline struct obj *untag(const void *v)
{
	return (struct obj *)((uintptr_t)v & ~(uintptr_t)3);
}

static inline unsigned tag_type(const void *v)
{
	return (unsigned)((uintptr_t)v & 3);
}

static inline uint64_t make_handle(const struct obj *o)
{
	return ((uint64_t)o->hindex + 1) << 16 | o->hgen;
}

#define NPUB 5

static inline const struct sw_jit_pub_ops *pub_op(unsigned i)
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

struct span {
	uint64_t start, end;
	uint32_t rec;
};

static inline bool range_ok(uint64_t start, uint64_t end)
{
	return end > start && end - start <= UINT32_MAX;
}

/* ---------------------------------------------------------------- state
 * All written under sw_reg_lock; readers use only the tree and bounds. */

extern pthread_mutex_t sw_reg_lock;
extern struct sw_tree sw_reg_tree;
/* Quick reject for PCs outside every range: [lo, hi) grows on insertion
 * and is reset when the tree empties (relaxed: a stale bound only means a
 * reader raced with the registration it misses). */
extern uint64_t sw_reg_bound_lo, sw_reg_bound_hi;
/* handle table: live entry = pointer | gen << 48; free entry = gen << 48 |
 * (next free index + 1) << 1 | 1, next 0 ending the list (pointers are
 * 8-aligned, so bit 0 tells the two apart) */
extern uint64_t *sw_reg_htab;
extern uint32_t sw_reg_hcap, sw_reg_hcount, sw_reg_hlive;
extern size_t sw_reg_record_bytes, sw_reg_unwind_bytes, sw_reg_retired_bytes;

static inline bool in_bounds(uint64_t pc)
{
	return pc >= __atomic_load_n(&sw_reg_bound_lo, __ATOMIC_RELAXED) &&
	       pc < __atomic_load_n(&sw_reg_bound_hi, __ATOMIC_RELAXED);
}

/* epochs.c */
size_t sw_reg_block_size(void *p);
void sw_reg_retire(void *arg, void *p);
void sw_reg_retire_node(void *arg, void *node);         /* the tree's retire */
void sw_reg_reclaim(void);
void sw_reg_maybe_reclaim(void);
void sw_reg_fork_prepare(void);
void sw_reg_fork_parent(void);
void sw_reg_fork_child(void);

/* handles.c */
int sw_reg_handle_alloc(struct obj *o);
void sw_reg_handle_set(struct obj *o);
void sw_reg_handle_free(struct obj *o);
struct obj *sw_reg_handle_get(sw_jit_handle_t h);

/* index.c */
void sw_reg_bounds_add(uint64_t start, uint64_t end);
void sw_reg_bounds_check_empty(void);
int sw_reg_range_fail(const char *what, uint64_t start, uint64_t end);
int sw_reg_run_fail(int rc, const struct sw_diag *d, const struct sw_cfi_section *sec,
		    const struct sw_fde *fde);
int sw_reg_cfi_fail(int rc, const struct sw_diag *d, const char *what);
int sw_reg_span_cmp(const void *a, const void *b);
void sw_reg_sec_of(const struct obj *o, struct sw_cfi_section *sec);
int sw_reg_no_row(void *arg, const struct sw_cfa_row *row);
int sw_reg_index_fdes(struct obj *o, struct span *spans, size_t max, bool validate, bool procs);
int sw_reg_index_built(struct obj *o, const struct sw_jit_proc *procs, struct span *spans,
		       size_t n);
void sw_reg_account_eager(const struct obj *o, bool add);
int sw_reg_index_insert(struct obj *o, const struct span *spans, size_t n, const char *what);
int sw_reg_eager_spans(const struct obj *o, struct span *spans);

/* eager.c */
int sw_reg_check_cfi_insns(const struct sw_jit_proc *p);
int sw_reg_build_procs(const struct sw_jit_proc *procs, size_t n, void *buf, size_t size,
		       size_t first);
int sw_reg_too_much_cfi(size_t i);

/* lines.c */
bool sw_reg_has_lines(const struct sw_jit_proc *p);
int sw_reg_check_lines(const struct sw_jit_proc *p);
size_t sw_reg_lines_size(const struct sw_jit_proc *p);
void sw_reg_lines_copy(const struct sw_jit_proc *p, struct lines *li, uint8_t *at);
struct lines *sw_reg_lineset_make(const struct sw_jit_proc *procs, size_t n);
void sw_reg_lineset_set(uint32_t hindex, struct lines *ls);
const struct lines *sw_reg_lineset_get(uint32_t hindex, uint32_t i);

/* the registration bodies behind the sized entries (sized.c) */
int sw_reg_add_procs(const struct sw_jit_proc *procs, size_t n, sw_jit_handle_t *out);
int sw_reg_table_append(sw_jit_handle_t handle, const struct sw_jit_proc *procs, size_t n);

/* tables.c */
int sw_reg_range_register(struct obj *o, uint64_t start, uint64_t end, size_t bytes,
			  sw_jit_handle_t *out);
int sw_reg_bad_handle(const char *what, sw_jit_handle_t h, const char *kind);

/* publishing.c */
int sw_reg_relocate_copy(const struct sw_cfi_section *src, uint8_t *copy, int64_t bias);
struct pubset *sw_reg_pubset_get(uint32_t hindex, bool create);
void sw_reg_pubset_drop(uint32_t i);
int sw_reg_pubset_sync(struct obj *o, struct pubset *ps);
int sw_reg_pubset_moved(struct obj *o);
void sw_reg_pubset_new(struct obj *o);

/* readers.c */

/* A procedure found by a reader, inside its read section. */
struct hit {
	struct obj *o;                  /* NULL for an eager hit with WANT_RANGE */
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
	/* line information (WANT_NAME and WANT_UNWIND): the registry's copy,
	 * or for a callback the JIT's own memory; ln == 0: none */
	const char *lfile;
	const struct sw_jit_line *lv;
	uint32_t ln;
};


/*
 * Find pc (inside a read section).  For callback ranges the description
 * is converted into scratch (SW_JIT_MAX_CFI bytes); with scratch NULL,
 * such a hit returns SW_REG_NEED_SCRATCH.  Returns 0, SW_ENOTFOUND,
 * SW_REG_NEED_SCRATCH or an error.
 */
enum { WANT_RANGE, WANT_NAME, WANT_UNWIND };
#define SW_REG_NEED_SCRATCH 1
int sw_reg_find(uint64_t pc, struct hit *h, uint8_t *scratch, int want);

/* unwinder.c: at each registration, install the registry as a source of
 * unwind information (and, once per process, the fork handlers and the
 * findfde interposer). */
void sw_reg_install_hook(void);

/* unwinder.c: map the conversion buffers of lazy descriptions (before the
 * first callback range is registered; writer lock held).  0 or
 * SW_ENOMEM. */
int sw_reg_scratch_init(void);

#pragma GCC visibility pop

#endif /* SW_JIT_REGISTRY_INTERNAL_H */
