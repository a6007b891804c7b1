/*
 * The compact tables (src/table) of the loaded modules: the first answer
 * of a step that misses the rule cache.
 *
 * A module's table is built from its loaded .eh_frame, through the FDE
 * list of its .eh_frame_hdr, once walks have missed the rule cache in it
 * often enough (`threshold` below) — in any thread or signal handler: the
 * builder allocates with mmap only and takes no lock — and kept while the
 * module is loaded.  A lookup is
 * then _dl_find_object, a probe of this table and the table's page index
 * and binary search: no DWARF is interpreted.  Rows the table cannot hold
 * (SW_TABLE_DWARF: expressions, signal frames...) and addresses outside
 * every FDE go to the interpreter as before, so the answers are the
 * interpreter's (tests/scripts/table.sh checks that row by row).
 *
 * Slots follow slots.h, as filecfi.c: lookups hold a READY slot without
 * locks; the thread that claimed a slot builds its table, and a lookup
 * that finds its module's slot LOADING (maybe the very code a signal
 * handler interrupted) does not wait: it asks the interpreter.  A slot is
 * keyed by the module's link map, load bias, mapping and header address.
 * glibc reuses link maps and addresses, and a module loaded into another's
 * hole may have the same layout and other rules (tests/unwind/reload.c),
 * so the interposed dlclose orphans the slots of the module it closes
 * before the real one runs (sw_tables_forget), a table whose build a
 * dlclose overlapped is dropped, and after any unload (the module
 * generation moved) a slot's checksum of the header's search table is
 * compared again (the unloads stackwalk does not see).  When no
 * slot is free, the slot of a module no longer loaded is reclaimed (its
 * table unmapped) once no lookup is inside it.  A module without a header
 * table, whose table cannot be built, or that finds no slot is unwound by
 * the interpreter; the counters in sw_get_stats say how often.
 */
#define _GNU_SOURCE
#include <link.h>

#include "table/table.h"
#include "unwind/internal.h"
#include "unwind/slots.h"

#define MAX_TABLES 256                 /* a power of two: probed from a hash */

struct table_module {
	struct sw_slot slot;           /* state and readers (slots.h) */
	const void *identity;          /* link map (atomic: readers' first filter) */
	uint64_t base;                 /* load bias */
	uint64_t map_start, map_end;   /* the module's mapping */
	uint64_t eh_hdr;               /* its .eh_frame_hdr */
	uint64_t hdr_sum;              /* checksum of the header's search table */
	uint32_t checked_gen;          /* module generation it was last checked in (atomic) */
	uint32_t misses;               /* pending: misses counted so far (atomic) */
	bool pending;                  /* NONE: not built yet, waiting for `threshold`
					* misses (else NONE: the build failed) */
	struct sw_table *table;        /* READY slots only */
};

static struct table_module slots[MAX_TABLES];
/* A module's table is built at its sw_table_threshold-th miss of the rule
 * cache (table.h; SW_TABLES=0 turns the tables off: tests/scripts/tables.sh
 * compares the two). */
static uint32_t threshold(void)
{
	return __atomic_load_n(&sw_table_threshold, __ATOMIC_RELAXED);
}
/* atomic counters (sw_get_stats) */
static uint64_t n_built, n_failed, n_reclaimed, n_overflow, n_dwarf;

static unsigned home(const void *identity)
{
	return (unsigned)(((uint64_t)(uintptr_t)identity * 0x9E3779B97F4A7C15ull) >> 56) &
	       (MAX_TABLES - 1);
}

/* The module's .eh_frame_hdr, parsed in place; false when it is unusable
 * (then the interpreter's own lookup reports why). */
static bool module_hdr(const struct sw_module *mod, struct sw_eh_hdr *hdr)
{
	uint64_t at = mod->eh_hdr;

	if (!mod->has_eh_hdr || at < mod->map_start || at >= mod->map_end)
		return false;
	if (sw_eh_hdr_parse(hdr, (const void *)(uintptr_t)at, mod->map_end - at, at, NULL) < 0)
		return false;
	/* .eh_frame and the search table (when there is one: else the
	 * builder scans .eh_frame, as the interpreter's lookup does) lie
	 * inside the mapping */
	return hdr->eh_frame_ptr >= mod->map_start && hdr->eh_frame_ptr < mod->map_end &&
	       (!hdr->table || ((uint64_t)(uintptr_t)hdr->table >= mod->map_start &&
				hdr->fde_count <= (mod->map_end - (uint64_t)(uintptr_t)hdr->table) / 2 /
						  (hdr->entry_size ? hdr->entry_size : 1)));
}

/* FNV-1a over the header's search table (every FDE's start and address),
 * with the address of .eh_frame. */
static uint64_t hdr_checksum(const struct sw_eh_hdr *hdr)
{
	const uint8_t *p = hdr->table;
	uint64_t n = p ? hdr->fde_count * 2u * hdr->entry_size : 0, h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ hdr->fde_count ^ hdr->eh_frame_ptr;
}

/* The generation a check made now may be recorded in (filecfi.c: while a
 * dlclose is in progress a check is trusted for this lookup only). */
static uint32_t checked_in(uint32_t gen)
{
	return __atomic_load_n(&sw_unloads_active, __ATOMIC_ACQUIRE) ? gen - 1 : gen;
}

/* Build the table of `mod` into the owned slot `m` and publish it with the
 * caller inside when it is READY.  Returns the slot, or NULL (published
 * NONE: the module is the interpreter's).  Not inlined: tests/scripts/
 * stack.sh counts it as warm-up (once per module). */
__attribute__((noinline)) static struct table_module *fill(struct table_module *m, const struct sw_module *mod,
				 uint32_t gen)
{
	struct sw_eh_hdr hdrbuf, *hdr = &hdrbuf;
	struct sw_cfi_section sec;
	struct sw_table_src src;
	struct sw_table *t = NULL;

	m->base = mod->base;
	m->map_start = mod->map_start;
	m->map_end = mod->map_end;
	m->eh_hdr = mod->eh_hdr;
	m->hdr_sum = 0;
	m->checked_gen = checked_in(gen);
	m->table = NULL;
	m->pending = false;
	__atomic_store_n(&m->identity, mod->identity, __ATOMIC_RELAXED);
	if (!module_hdr(mod, hdr)) {
		/* a header the interpreter's lookup will report */
		__atomic_fetch_add(&n_failed, 1, __ATOMIC_RELAXED);
		sw_slot_publish(&m->slot, SW_SLOT_NONE);
		return NULL;
	}
	m->hdr_sum = hdr_checksum(hdr);
	sw_table_src_eh(&src, &sec, (const void *)(uintptr_t)hdr->eh_frame_ptr,
			mod->map_end - hdr->eh_frame_ptr, hdr->eh_frame_ptr, hdr, mod->eh_hdr);
	src.bias = mod->base;
	if (sw_table_build(&src, &t, NULL) < 0) {
		__atomic_fetch_add(&n_failed, 1, __ATOMIC_RELAXED);
		sw_slot_publish(&m->slot, SW_SLOT_NONE);
		return NULL;
	}
	if (__atomic_load_n(&sw_unloads_active, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&sw_module_generation, __ATOMIC_ACQUIRE) != gen) {
		/* a dlclose ran meanwhile: the bytes read may be another
		 * module's by now; orphan the slot, the interpreter answers */
		sw_table_free(t);
		__atomic_store_n(&m->identity, NULL, __ATOMIC_RELAXED);
		sw_slot_publish(&m->slot, SW_SLOT_NONE);
		return NULL;
	}
	__atomic_fetch_add(&n_built, 1, __ATOMIC_RELAXED);
	m->table = t;
	sw_slot_publish_held(&m->slot, SW_SLOT_READY);
	return m;
}

/* Describe `mod` in the owned slot `m` without building its table yet
 * (pending, one miss counted) and publish it NONE.  A module whose header
 * is unusable is counted as failed at once. */
static void pend(struct table_module *m, const struct sw_module *mod, uint32_t gen)
{
	struct sw_eh_hdr hdr;

	m->base = mod->base;
	m->map_start = mod->map_start;
	m->map_end = mod->map_end;
	m->eh_hdr = mod->eh_hdr;
	m->checked_gen = checked_in(gen);
	m->table = NULL;
	__atomic_store_n(&m->misses, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&m->identity, mod->identity, __ATOMIC_RELAXED);
	m->pending = module_hdr(mod, &hdr);
	m->hdr_sum = m->pending ? hdr_checksum(&hdr) : 0;
	if (!m->pending)
		__atomic_fetch_add(&n_failed, 1, __ATOMIC_RELAXED);
	sw_slot_publish(&m->slot, SW_SLOT_NONE);
}

/* fill, and *built when the table was built */
static struct table_module *fill_now(struct table_module *m, const struct sw_module *mod,
				     uint32_t gen, bool *built)
{
	m = fill(m, mod, gen);
	*built = m != NULL;
	return m;
}

/* Describe `mod` in the owned slot `m`: build now (`now`, or a threshold
 * of one miss), or wait for misses. */
static struct table_module *start(struct table_module *m, const struct sw_module *mod,
				  uint32_t gen, bool now, bool *built)
{
	if (now || threshold() <= 1)
		return fill_now(m, mod, gen, built);
	pend(m, mod, gen);
	return NULL;
}

void sw_tables_forget(const void *identity)
{
	for (unsigned i = 0; identity && i < MAX_TABLES; i++) {
		struct table_module *m = &slots[i];
		const void *id = identity;
		/* orphaned: no lookup takes it from now on; one inside keeps
		 * reading it (the table stays mapped) until it leaves, and the
		 * slot is reclaimed as an unloaded module's */
		__atomic_compare_exchange_n(&m->identity, &id, NULL, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
	}
}

/* Empty a slot the caller owns. */
static void unload(struct table_module *m)
{
	if (m->table)
		sw_table_free(m->table);
	m->table = NULL;
	__atomic_store_n(&m->identity, NULL, __ATOMIC_RELAXED);
}

/* Does an owned slot still describe a loaded module? */
static bool still_loaded(const struct table_module *m)
{
	struct sw_module now;
	struct sw_eh_hdr hdr;

	return sw_find_module(m->map_start, &now) == 0 && now.identity == m->identity &&
	       now.base == m->base && now.map_end == m->map_end && now.eh_hdr == m->eh_hdr &&
	       module_hdr(&now, &hdr) && hdr_checksum(&hdr) == m->hdr_sum;
}

/* Does the READY/NONE slot `m` (the caller inside) describe `mod`? */
static bool describes(struct table_module *m, const struct sw_module *mod, uint32_t gen)
{
	struct sw_eh_hdr hdr;

	if (__atomic_load_n(&m->identity, __ATOMIC_RELAXED) != mod->identity ||
	    m->base != mod->base || m->map_start != mod->map_start ||
	    m->map_end != mod->map_end || m->eh_hdr != mod->eh_hdr)
		return false;
	if (__atomic_load_n(&m->checked_gen, __ATOMIC_RELAXED) == gen)
		return true;
	/* a dlclose since the last check: is it the same module's header? */
	if (!module_hdr(mod, &hdr) || hdr_checksum(&hdr) != m->hdr_sum)
		return false;
	__atomic_store_n(&m->checked_gen, checked_in(gen), __ATOMIC_RELAXED);
	return true;
}

/* The READY slot of `mod` with the caller inside (release it after use),
 * or NULL: no table (the interpreter answers).  A miss: the table is
 * built at the module's threshold-th, or at once with `now`; *built says
 * this call built it.  Inlined into both callers: the walks' lookup
 * (sw_tables_rule) was 7 % slower per cold frame with it out of line. */
__attribute__((always_inline)) static inline struct table_module *
slot_for(const struct sw_module *mod, bool now, bool *built)
{
	uint32_t gen = __atomic_load_n(&sw_module_generation, __ATOMIC_ACQUIRE), old;
	unsigned h = home(mod->identity);

	for (unsigned k = 0; k < MAX_TABLES; k++) {
		struct table_module *m = &slots[(h + k) & (MAX_TABLES - 1)];
		const void *id = __atomic_load_n(&m->identity, __ATOMIC_RELAXED);
		if (id == NULL && __atomic_load_n(&m->slot.state, __ATOMIC_RELAXED) == SW_SLOT_EMPTY)
			break;          /* the probe sequence ends at a never-used slot */
		if (id != mod->identity)
			continue;
		uint32_t st = sw_slot_hold(&m->slot);
		if (st == SW_SLOT_LOADING || st == SW_SLOT_RECLAIMING)
			return NULL;    /* being built (maybe by the code we interrupted) */
		if (st != SW_SLOT_READY && st != SW_SLOT_NONE)
			continue;
		if (!describes(m, mod, gen)) {
			sw_slot_release(&m->slot);      /* a reused link map */
			continue;
		}
		if (st == SW_SLOT_NONE) {
			bool due = m->pending &&
				   (now || __atomic_add_fetch(&m->misses, 1, __ATOMIC_RELAXED) >=
						   threshold());
			sw_slot_release(&m->slot);
			/* hot enough: build, once no other lookup is inside
			 * (else at a later miss) */
			if (due && sw_slot_seize(&m->slot, &old)) {
				if (m->pending && describes(m, mod, gen))
					return fill_now(m, mod, gen, built);
				sw_slot_unseize(&m->slot, old);
			}
			return NULL;
		}
		return m;
	}
	if (!mod->has_eh_hdr)
		return NULL;            /* the file source's module: no table */
	for (unsigned k = 0; k < MAX_TABLES; k++) {
		struct table_module *m = &slots[(h + k) & (MAX_TABLES - 1)];
		if (__atomic_load_n(&m->slot.state, __ATOMIC_RELAXED) == SW_SLOT_EMPTY &&
		    sw_slot_claim(&m->slot))
			return start(m, mod, gen, now, built);
	}
	/* full: reclaim the slot of a module that is gone */
	for (unsigned k = 0; k < MAX_TABLES; k++) {
		struct table_module *m = &slots[(h + k) & (MAX_TABLES - 1)];
		if (!sw_slot_seize(&m->slot, &old))
			continue;
		if (still_loaded(m)) {
			sw_slot_unseize(&m->slot, old);
			continue;
		}
		unload(m);
		__atomic_fetch_add(&n_reclaimed, 1, __ATOMIC_RELAXED);
		return start(m, mod, gen, now, built);
	}
	__atomic_fetch_add(&n_overflow, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* Build the table of the module containing `pc` now, whatever its misses.
 * True when this call built it. */
static bool prepare_at(uint64_t pc)
{
	struct sw_module mod;
	struct table_module *m;
	bool built = false;

	if (sw_find_module(pc, &mod) < 0 || !mod.has_eh_hdr)
		return false;
	m = slot_for(&mod, true, &built);
	if (m)
		sw_slot_release(&m->slot);
	return built;
}

static int prepare_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	int *built = arg;

	(void)size;
	/* a PC inside the module: the start of its first executable segment */
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz) {
			*built += prepare_at(info->dlpi_addr + ph->p_vaddr);
			break;
		}
	}
	return 0;
}

int sw_prepare_tables(void)
{
	int built = 0;

	sw_init();
	if (threshold() == 0)
		return 0;
	dl_iterate_phdr(prepare_cb, &built);
	return built;
}

int sw_tables_rule(uint64_t pc, struct sw_compiled *rule, uint64_t *end)
{
	struct sw_module mod;
	struct table_module *m;
	bool built;
	int rc;

	if (threshold() == 0)
		return SW_TABLE_FALLBACK;
	if (sw_find_module(pc, &mod) < 0)
		return SW_TABLE_NONE;
	m = slot_for(&mod, false, &built);
	if (!m)
		return SW_TABLE_FALLBACK;
	rc = sw_table_rule_at(m->table, pc, m->base, rule, end);
	if (rc == SW_TABLE_FALLBACK)
		__atomic_fetch_add(&n_dwarf, 1, __ATOMIC_RELAXED);
	sw_slot_release(&m->slot);
	return rc;
}

void sw_tables_stats(struct sw_stats *st)
{
	st->tables_capacity = MAX_TABLES;
	st->tables_used = sw_slots_used(slots, MAX_TABLES);
	st->tables_built = __atomic_load_n(&n_built, __ATOMIC_RELAXED);
	st->tables_failed = __atomic_load_n(&n_failed, __ATOMIC_RELAXED);
	st->tables_reclaimed = __atomic_load_n(&n_reclaimed, __ATOMIC_RELAXED);
	st->tables_overflow = __atomic_load_n(&n_overflow, __ATOMIC_RELAXED);
	st->table_dwarf_steps = __atomic_load_n(&n_dwarf, __ATOMIC_RELAXED);
}
