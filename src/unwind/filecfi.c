/*
 * Unwind information that is not reachable through PT_GNU_EH_FRAME: an
 * .eh_frame without .eh_frame_hdr, and .debug_frame (code built with
 * -fno-asynchronous-unwind-tables -g has only the latter).  Both are found
 * through the section headers of the module's file, which is mapped once
 * per module (open/fstat/mmap are async-signal-safe) and kept for the life
 * of the process.
 *
 * A slot is keyed by the module's link map, load bias and path — glibc
 * reuses link maps and addresses after dlclose — and remembers the file's
 * device, inode and modification time: after any dlclose (the module
 * generation moved) a slot is re-checked with stat before it is trusted,
 * so a library rebuilt in place and reloaded is read afresh.  Superseded
 * slots and their mappings are kept, never reused: a walk in another
 * thread may still be reading them.
 *
 * The per-module table is a fixed array; a slot moves from EMPTY to
 * LOADING (claimed by CAS: one thread opens the file, others — including
 * a signal handler that interrupted it — see LOADING and treat the module
 * as having no file CFI for now) to READY or NONE.  Readers load the state
 * with acquire; the loader fills the slot, then stores the state with
 * release.
 */
#include <string.h>
#include <sys/stat.h>

#include "elf/elf.h"
#include "unwind/internal.h"

#define MAX_FILE_MODULES 128

enum { SLOT_EMPTY, SLOT_LOADING, SLOT_READY, SLOT_NONE };

struct file_module {
	uint32_t state;              /* SLOT_* (atomic) */
	const void *identity;        /* link map (atomic: the slot's key) */
	uint64_t base;               /* load bias */
	char path[256];              /* the file mapped */
	uint64_t dev, ino, mtime_ns; /* its identity when mapped */
	uint32_t checked_gen;        /* module generation it was last checked in (atomic) */
	struct sw_elf elf;           /* the mapped file */
	uint64_t eh_addr, eh_size;   /* .eh_frame (link-time address) */
	const uint8_t *dbg;          /* .debug_frame bytes in the mapping */
	uint64_t dbg_size;
};

static struct file_module table[MAX_FILE_MODULES];

/* Open the module's file and record its frame sections. */
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

static void load(struct file_module *m, const struct sw_module *mod, uint32_t gen)
{
	struct sw_elf_section s;
	struct stat st;
	const char *path = module_path(mod);

	m->base = mod->base;
	m->checked_gen = gen;
	if (stat(path, &st) == 0) {
		m->dev = (uint64_t)st.st_dev;
		m->ino = (uint64_t)st.st_ino;
		m->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	}
	if (sw_elf_open_file(&m->elf, path) < 0) {
		__atomic_store_n(&m->state, SLOT_NONE, __ATOMIC_RELEASE);
		return;
	}
	if (sw_elf_find_section(&m->elf, ".eh_frame", &s) == 0 && s.type != SHT_NOBITS) {
		m->eh_addr = s.addr;
		m->eh_size = s.size;
	}
	if (sw_elf_find_section(&m->elf, ".debug_frame", &s) == 0 && s.data &&
	    !(s.flags & SHF_COMPRESSED)) {
		m->dbg = s.data;
		m->dbg_size = s.size;
	}
	__atomic_store_n(&m->state, (m->eh_size || m->dbg_size) ? SLOT_READY : SLOT_NONE,
			 __ATOMIC_RELEASE);
}

/* The table slot for `mod`, loading it on first use; NULL when the module
 * has no usable file CFI (or is being loaded by someone else). */
static struct file_module *slot_for(const struct sw_module *mod)
{
	const char *path = module_path(mod);
	uint32_t gen = __atomic_load_n(&sw_module_generation, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < MAX_FILE_MODULES; i++) {
		struct file_module *m = &table[i];
		const void *id = __atomic_load_n(&m->identity, __ATOMIC_ACQUIRE);
		if (id == mod->identity) {
			uint32_t st = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
			if (st == SLOT_LOADING)
				return NULL;   /* being loaded (maybe by the code we interrupted) */
			if (m->base != mod->base || strcmp(m->path, path) != 0)
				continue;      /* a reused link map: another module */
			if (__atomic_load_n(&m->checked_gen, __ATOMIC_RELAXED) != gen) {
				if (!same_file(m, path))
					continue;  /* rebuilt in place and reloaded */
				__atomic_store_n(&m->checked_gen, gen, __ATOMIC_RELAXED);
			}
			return st == SLOT_READY ? m : NULL;
		}
		if (id == NULL) {
			uint32_t expected = SLOT_EMPTY;
			if (!__atomic_compare_exchange_n(&m->state, &expected, SLOT_LOADING, false,
							 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				continue;   /* another thread took this slot: try the next */
			/* (no snprintf: this may run in a signal handler) */
			size_t n = strnlen(path, sizeof(m->path) - 1);
			memcpy(m->path, path, n);
			m->path[n] = '\0';
			__atomic_store_n(&m->identity, mod->identity, __ATOMIC_RELEASE);
			load(m, mod, gen);
			return __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) == SLOT_READY ? m : NULL;
		}
	}
	return NULL;
}

int sw_find_fde_file(uint64_t pc, const struct sw_module *mod, struct sw_fde_info *info)
{
	struct file_module *m = slot_for(mod);
	int rc = SW_ENOTFOUND;

	if (!m)
		return SW_ENOTFOUND;
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
