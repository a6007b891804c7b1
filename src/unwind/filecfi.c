/*
 * Unwind information that is not reachable through PT_GNU_EH_FRAME: an
 * .eh_frame without .eh_frame_hdr, and .debug_frame (code built with
 * -fno-asynchronous-unwind-tables -g has only the latter).  Both are found
 * through the section headers of the module's file, which is mapped once
 * per module (open/fstat/mmap are async-signal-safe) and kept while the
 * module is loaded.
 *
 * A slot is keyed by the module's link map, load bias and path — glibc
 * reuses link maps and addresses after dlclose — and remembers the file's
 * device, inode and modification time: after any dlclose (the module
 * generation moved) a slot is re-checked with stat before it is trusted,
 * so a library rebuilt in place and reloaded is read afresh.
 *
 * The table is a fixed array of slots following slots.h: lookups read
 * them without locks; a slot is filled by the thread that claimed it
 * (others, including a signal handler that interrupted it, see LOADING and
 * do not wait).  When no slot is free, the slot of a module that is no
 * longer loaded (or whose file was replaced) is reclaimed — once no
 * lookup is inside it — and its mapping unmapped.  When every slot
 * describes a loaded module, or the module's slot is being filled, the
 * lookup maps the file for itself alone and the mapping is dropped by
 * sw_fde_release: slower, never wrong.  Such lookups are counted
 * (sw_get_stats: file_cfi_overflow).
 */
#include <string.h>
#include <sys/stat.h>

#include "elf/elf.h"
#include "unwind/internal.h"
#include "unwind/slots.h"

#define MAX_FILE_MODULES 128

struct file_module {
	struct sw_slot slot;         /* state and readers (slots.h) */
	const void *identity;        /* link map (atomic: readers' first filter) */
	uint64_t base;               /* load bias */
	uint64_t map_start;          /* the module's first address: is it still loaded? */
	char path[256];              /* the file mapped */
	uint64_t dev, ino, mtime_ns; /* its identity when mapped */
	uint32_t checked_gen;        /* module generation it was last checked in (atomic) */
	struct sw_elf elf;           /* the mapped file (READY slots only) */
	uint64_t eh_addr, eh_size;   /* .eh_frame (link-time address) */
	const uint8_t *dbg;          /* .debug_frame bytes in the mapping */
	uint64_t dbg_size;
};

static struct file_module table[MAX_FILE_MODULES];
static uint64_t n_reclaimed, n_overflow;   /* atomic counters (sw_get_stats) */

/* The path of the module's file. */
static const char *module_path(const struct sw_module *mod)
{
	return mod->path && mod->path[0] ? mod->path : "/proc/self/exe";
}

/* Does the file at `path` still have the identity recorded in `m`? */
static bool same_file(const struct file_module *m, const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && (uint64_t)st.st_dev == m->dev &&
	       (uint64_t)st.st_ino == m->ino &&
	       (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec == m->mtime_ns;
}


/* The generation a file check made now may be recorded in: while a
 * dlclose is in progress (dlhooks.c) a check is not trusted beyond this
 * lookup, so the next lookup checks again. */
static uint32_t checked_in(uint32_t gen)
{
	return __atomic_load_n(&sw_unloads_active, __ATOMIC_ACQUIRE) ? gen - 1 : gen;
}

/* Fill `m` (owned by the caller, zeroed) for `mod` from its file.
 * Returns SW_SLOT_READY (the file stays mapped in m->elf) or SW_SLOT_NONE
 * (no usable file CFI; nothing stays mapped). */
static uint32_t load(struct file_module *m, const struct sw_module *mod, const char *path,
		     uint32_t gen)
{
	struct sw_elf_section s;
	struct stat st;
	/* (no snprintf: this may run in a signal handler) */
	size_t n = strnlen(path, sizeof(m->path) - 1);

	memcpy(m->path, path, n);
	m->path[n] = '\0';
	m->base = mod->base;
	m->map_start = mod->map_start;
	m->checked_gen = checked_in(gen);
	if (stat(path, &st) == 0) {
		m->dev = (uint64_t)st.st_dev;
		m->ino = (uint64_t)st.st_ino;
		m->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	}
	if (sw_elf_open_file(&m->elf, path) < 0)
		return SW_SLOT_NONE;
	if (sw_elf_find_section(&m->elf, ".eh_frame", &s) == 0 && s.type != SHT_NOBITS) {
		m->eh_addr = s.addr;
		m->eh_size = s.size;
	}
	if (sw_elf_find_section(&m->elf, ".debug_frame", &s) == 0 && s.data &&
	    !(s.flags & SHF_COMPRESSED)) {
		m->dbg = s.data;
		m->dbg_size = s.size;
	}
	if (m->eh_size || m->dbg_size)
		return SW_SLOT_READY;
	sw_elf_close(&m->elf);
	return SW_SLOT_NONE;
}

/* Empty a slot the caller owns (unmapping its file). */
static void unload(struct file_module *m)
{
	sw_elf_close(&m->elf);
	__atomic_store_n(&m->identity, NULL, __ATOMIC_RELAXED);
	m->eh_addr = m->eh_size = m->dbg_size = 0;
	m->dbg = NULL;
	m->dev = m->ino = m->mtime_ns = 0;
}

/* Is the module a slot (owned by the caller) describes still loaded, from
 * the same file?  _dl_find_object and stat: async-signal-safe. */
static bool still_loaded(const struct file_module *m)
{
	struct sw_module now;

	return sw_find_module(m->map_start, &now) == 0 && now.identity == m->identity &&
	       now.base == m->base && strcmp(module_path(&now), m->path) == 0 &&
	       same_file(m, m->path);
}

/* Fill an owned slot for `mod` and publish it with the caller inside.
 * Returns the slot when it is READY (release it after use), else NULL. */
static struct file_module *fill(struct file_module *m, const struct sw_module *mod,
				const char *path, uint32_t gen)
{
	__atomic_store_n(&m->identity, mod->identity, __ATOMIC_RELAXED);
	uint32_t st = load(m, mod, path, gen);
	if (st != SW_SLOT_READY) {
		sw_slot_publish(&m->slot, st);
		return NULL;
	}
	sw_slot_publish_held(&m->slot, st);
	return m;
}

enum { FOUND, NO_CFI, NO_SLOT };

/* Find (or make) the slot for `mod`.  FOUND: *out is a READY slot the
 * caller is inside (sw_slot_release it); NO_CFI: the module's file has
 * none; NO_SLOT: no slot can serve the lookup now. */
static int slot_for(const struct sw_module *mod, const char *path, struct file_module **out)
{
	uint32_t gen = __atomic_load_n(&sw_module_generation, __ATOMIC_ACQUIRE);
	bool busy = false;
	uint32_t old;

	for (unsigned i = 0; i < MAX_FILE_MODULES; i++) {
		struct file_module *m = &table[i];
		if (__atomic_load_n(&m->identity, __ATOMIC_RELAXED) != mod->identity)
			continue;
		uint32_t st = sw_slot_hold(&m->slot);
		if (st == SW_SLOT_LOADING || st == SW_SLOT_RECLAIMING) {
			/* being filled, maybe for this module (maybe by the code
			 * this signal handler interrupted): do not wait */
			busy = true;
			continue;
		}
		if (st != SW_SLOT_READY && st != SW_SLOT_NONE)
			continue;
		/* inside: the fields are stable */
		if (__atomic_load_n(&m->identity, __ATOMIC_RELAXED) != mod->identity ||
		    m->base != mod->base || strcmp(m->path, path) != 0) {
			sw_slot_release(&m->slot);   /* a reused link map: another module */
			continue;
		}
		if (__atomic_load_n(&m->checked_gen, __ATOMIC_RELAXED) != gen) {
			if (!same_file(m, path)) {
				sw_slot_release(&m->slot);   /* rebuilt in place and reloaded */
				continue;
			}
			__atomic_store_n(&m->checked_gen, checked_in(gen), __ATOMIC_RELAXED);
		}
		if (st == SW_SLOT_NONE) {
			sw_slot_release(&m->slot);
			return NO_CFI;
		}
		*out = m;
		return FOUND;
	}
	if (busy)
		return NO_SLOT;
	for (unsigned i = 0; i < MAX_FILE_MODULES; i++) {
		struct file_module *m = &table[i];
		if (__atomic_load_n(&m->slot.state, __ATOMIC_RELAXED) == SW_SLOT_EMPTY &&
		    sw_slot_claim(&m->slot))
			return (*out = fill(m, mod, path, gen)) ? FOUND : NO_CFI;
	}
	/* full: reclaim the slot of a module that is gone */
	for (unsigned i = 0; i < MAX_FILE_MODULES; i++) {
		struct file_module *m = &table[i];
		if (!sw_slot_seize(&m->slot, &old))
			continue;
		if (still_loaded(m)) {
			sw_slot_unseize(&m->slot, old);
			continue;
		}
		unload(m);
		__atomic_fetch_add(&n_reclaimed, 1, __ATOMIC_RELAXED);
		return (*out = fill(m, mod, path, gen)) ? FOUND : NO_CFI;
	}
	return NO_SLOT;
}

/* Search a READY module description for `pc`. */
static int search(const struct file_module *m, uint64_t pc, const struct sw_module *mod,
		  struct sw_fde_info *info)
{
	int rc = SW_ENOTFOUND;

	info->module_base = m->base;
	if (m->eh_size && !mod->has_eh_hdr) {
		uint64_t at = m->base + m->eh_addr;
		/* the loaded copy lies inside the module's mapping */
		if (at >= mod->map_start && at < mod->map_end && m->eh_size <= mod->map_end - at) {
			sw_cfi_section_init(&info->sec, (const void *)(uintptr_t)at, m->eh_size, at,
					    true, ".eh_frame");
			info->source = SW_SRC_EH_FRAME;
			rc = sw_cfi_find_fde_linear(&info->sec, pc, &info->fde, &info->cie, NULL);
			if (rc != SW_ENOTFOUND)
				return rc;
		}
	}
	if (m->dbg_size) {
		/* .debug_frame holds link-time addresses: search pc - bias */
		sw_cfi_section_init(&info->sec, m->dbg, m->dbg_size, 0, false, ".debug_frame");
		info->source = SW_SRC_DEBUG_FRAME;
		rc = sw_cfi_find_fde_linear(&info->sec, pc - m->base, &info->fde, &info->cie, NULL);
		if (rc == 0) {
			info->fde.pc_begin += m->base;
			info->fde.pc_end += m->base;
		}
	}
	return rc;
}

static int file_find(uint64_t pc, struct sw_fde_info *info)
{
	struct sw_module modbuf, *mod = &modbuf;
	const char *path;
	struct file_module *m = NULL;
	int rc;

	if (sw_find_module(pc, mod) < 0)
		return SW_ENOTFOUND;
	path = module_path(mod);
	info->held.file.slot = 0;
	info->held.file.map = NULL;

	switch (slot_for(mod, path, &m)) {
	case FOUND:
		rc = search(m, pc, mod, info);
		if (rc == 0 && info->source == SW_SRC_DEBUG_FRAME)
			info->held.file.slot = (uint32_t)(m - table) + 1;   /* the info reads the mapping */
		else
			sw_slot_release(&m->slot);
		return rc;
	case NO_CFI:
		return SW_ENOTFOUND;
	default:
		break;
	}
	/* no slot: map the file for this lookup alone */
	struct file_module one;
	memset(&one, 0, sizeof(one));
	__atomic_fetch_add(&n_overflow, 1, __ATOMIC_RELAXED);
	if (load(&one, mod, path, __atomic_load_n(&sw_module_generation, __ATOMIC_ACQUIRE)) !=
	    SW_SLOT_READY)
		return SW_ENOTFOUND;
	rc = search(&one, pc, mod, info);
	if (rc == 0 && info->source == SW_SRC_DEBUG_FRAME) {
		info->held.file.map = one.elf.image;      /* unmapped by file_release */
		info->held.file.map_size = one.elf.size;
	} else {
		sw_elf_close(&one.elf);
	}
	return rc;
}

static void file_release(struct sw_fde_info *info)
{
	if (info->held.file.slot) {
		sw_slot_release(&table[info->held.file.slot - 1].slot);
		info->held.file.slot = 0;
	}
	if (info->held.file.map) {
		struct sw_elf elf = { .image = info->held.file.map,
				      .size = info->held.file.map_size, .mapped = true };
		sw_elf_close(&elf);
		info->held.file.map = NULL;
	}
}

const struct sw_source sw_file_source = { "module file .eh_frame/.debug_frame", file_find,
					  file_release, NULL, NULL };

void sw_file_cfi_stats(struct sw_stats *st)
{
	st->file_cfi_capacity = MAX_FILE_MODULES;
	st->file_cfi_used = sw_slots_used(table, MAX_FILE_MODULES);
	st->file_cfi_reclaimed = __atomic_load_n(&n_reclaimed, __ATOMIC_RELAXED);
	st->file_cfi_overflow = __atomic_load_n(&n_overflow, __ATOMIC_RELAXED);
}
