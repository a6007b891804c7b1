/*
 * Procedure names: PC -> symbol + offset for loaded modules and the vDSO.
 *
 * Each module's ELF image is opened once (the file it was loaded from, or
 * for the vDSO its image in memory) together with its separate debug file
 * when one is found by build-id or .gnu_debuglink (src/elf/debuglink.c)
 * — that is where a distribution keeps the .symtab of a stripped library
 * (/usr/lib/debug/.build-id), and so where
 * static functions such as glibc's __libc_start_call_main get their names.
 * Lookup order: the debug file's .symtab, the module's .symtab, its
 * .dynsym (sw_elf_symbolize prefers .symtab over .dynsym by itself).
 *
 * The module of a PC is found with _dl_find_object (sw_find_module: no
 * lock, no allocation) and its entry in a fixed table of slots read
 * without locks (slots.h), keyed by link map, load bias and path.  So a
 * lookup for a module already opened takes no lock, calls neither the
 * loader nor malloc and makes no system call: async-signal-safe, as
 * stackwalk.h promises after a warm-up.  A module's first lookup claims a
 * free slot, or reclaims the slot of a module that is no longer loaded,
 * and opens the files (open/fstat/mmap).  When no slot can be had (every
 * one describes a loaded module, or this module's slot is being filled,
 * perhaps by the code a signal handler interrupted) the lookup opens the
 * files for itself and closes them after: slower, same answer, counted
 * (sw_get_stats: names_overflow).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "elf/elf.h"
#include "unwind/internal.h"
#include "unwind/slots.h"

#define MAX_MODULES 256

struct module {
	struct sw_slot slot;         /* state and readers (slots.h) */
	const void *identity;        /* link map (atomic: readers' first filter) */
	uint64_t base;               /* load bias */
	uint64_t map_start;          /* the module's first address: is it still loaded? */
	char path[256];              /* the file, "[vdso]" for the vDSO */
	struct sw_elf elf;
	struct sw_elf dbg;
	bool have_elf, have_dbg;
};

static struct module modules[MAX_MODULES];
static uint64_t n_reclaimed, n_overflow;   /* atomic counters (sw_get_stats) */

/* The separate debug file of the module opened from `path`: by build-id,
 * else by .gnu_debuglink (CRC-checked), under the global debug
 * directories ($SW_DEBUG_DIR, default /usr/lib/debug). */
static bool open_debug_file(const struct sw_elf *elf, const char *path, struct sw_elf *dbg)
{
	const char *dirs = sw_elf_debug_dirs();

	return sw_elf_open_build_id_file(elf, dirs, dbg) == 0 ||
	       sw_elf_open_debuglink_file(elf, path, dirs, dbg) == 0;
}

/* The key path of `mod` into path[256]: "[vdso]" for the vDSO (whose
 * l_name is "linux-vdso.so.1"), "/proc/self/exe" for the main program
 * (an empty name).  Returns true for the vDSO.  No snprintf: this runs in
 * signal handlers. */
static bool module_key(const struct sw_module *mod, char *path, size_t size)
{
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	const char *name = mod->path && mod->path[0] ? mod->path : "/proc/self/exe";
	bool is_vdso = (vdso && vdso >= mod->map_start && vdso < mod->map_end) ||
		       strncmp(name, "linux-vdso", 10) == 0;
	size_t n;

	if (is_vdso)
		name = "[vdso]";
	n = strnlen(name, size - 1);
	memcpy(path, name, n);
	path[n] = '\0';
	return is_vdso;
}

/* Open the images of `m` (zeroed, owned by the caller) for `mod`. */
static void open_images(struct module *m, const struct sw_module *mod, const char *path,
			bool is_vdso)
{
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);

	memcpy(m->path, path, strlen(path) + 1);
	m->base = mod->base;
	m->map_start = mod->map_start;
	if (is_vdso) {
		/* the vDSO image is a complete ELF object, sections included;
		 * 8 KiB is its usual size and the reader bounds everything */
		m->have_elf = vdso && sw_elf_open_mem(&m->elf, (const void *)(uintptr_t)vdso,
						      2 * 4096) == 0;
		if (m->have_elf && m->elf.shdrs) {
			/* size it from the section table's end */
			uint64_t end = m->elf.ehdr->e_shoff +
				       (uint64_t)m->elf.shnum * sizeof(Elf64_Shdr);
			m->have_elf = sw_elf_open_mem(&m->elf, (const void *)(uintptr_t)vdso,
						      end) == 0;
		}
	} else {
		m->have_elf = sw_elf_open_file(&m->elf, path) == 0;
	}
	if (m->have_elf)
		m->have_dbg = open_debug_file(&m->elf, path, &m->dbg);
}

/* Close what open_images opened (in an entry the caller owns). */
static void close_images(struct module *m)
{
	if (m->have_dbg)
		sw_elf_close(&m->dbg);
	if (m->have_elf)
		sw_elf_close(&m->elf);
	m->have_elf = m->have_dbg = false;
	__atomic_store_n(&m->identity, NULL, __ATOMIC_RELAXED);
}

/* Is the module an entry (owned by the caller) describes still loaded? */
static bool still_loaded(const struct module *m)
{
	struct sw_module now;
	char path[256];

	if (sw_find_module(m->map_start, &now) < 0 || now.identity != m->identity ||
	    now.base != m->base)
		return false;
	module_key(&now, path, sizeof(path));
	return strcmp(path, m->path) == 0;
}

/* Fill an owned entry and publish it with the caller inside. */
static struct module *fill(struct module *m, const struct sw_module *mod, const char *path,
			   bool is_vdso)
{
	__atomic_store_n(&m->identity, mod->identity, __ATOMIC_RELAXED);
	open_images(m, mod, path, is_vdso);
	sw_slot_publish_held(&m->slot, SW_SLOT_READY);
	return m;
}

/* The entry for `mod`, the caller inside it (sw_slot_release it after
 * use), or NULL when no entry can serve it now. */
static struct module *module_for(const struct sw_module *mod, const char *path, bool is_vdso)
{
	bool busy = false;
	uint32_t old;

	for (unsigned i = 0; i < MAX_MODULES; i++) {
		struct module *m = &modules[i];
		if (__atomic_load_n(&m->identity, __ATOMIC_RELAXED) != mod->identity)
			continue;
		uint32_t st = sw_slot_hold(&m->slot);
		if (st == SW_SLOT_LOADING || st == SW_SLOT_RECLAIMING) {
			busy = true;   /* being filled: do not wait */
			continue;
		}
		if (st != SW_SLOT_READY)
			continue;
		if (__atomic_load_n(&m->identity, __ATOMIC_RELAXED) == mod->identity &&
		    m->base == mod->base && strcmp(m->path, path) == 0)
			return m;
		sw_slot_release(&m->slot);   /* a reused link map: another module */
	}
	if (busy)
		return NULL;
	for (unsigned i = 0; i < MAX_MODULES; i++) {
		struct module *m = &modules[i];
		if (__atomic_load_n(&m->slot.state, __ATOMIC_RELAXED) == SW_SLOT_EMPTY &&
		    sw_slot_claim(&m->slot))
			return fill(m, mod, path, is_vdso);
	}
	/* full: reclaim the entry of a module that is gone */
	for (unsigned i = 0; i < MAX_MODULES; i++) {
		struct module *m = &modules[i];
		if (!sw_slot_seize(&m->slot, &old))
			continue;
		if (still_loaded(m)) {
			sw_slot_unseize(&m->slot, old);
			continue;
		}
		close_images(m);
		__atomic_fetch_add(&n_reclaimed, 1, __ATOMIC_RELAXED);
		return fill(m, mod, path, is_vdso);
	}
	return NULL;
}

/* Copy `name` up to its first '@' (".symtab" spells versioned definitions
 * "name@@VERSION": show the name), truncated to size - 1 bytes. */
static void copy_name(char *buf, size_t size, const char *name)
{
	size_t n = strcspn(name, "@");

	if (size == 0)
		return;
	if (n > size - 1)
		n = size - 1;
	memcpy(buf, name, n);
	buf[n] = '\0';
}

/* The symbol containing `rel` (a link-time address) in m's images. */
static int lookup(const struct module *m, uint64_t rel, char *buf, size_t size, uint64_t *offset)
{
	struct sw_elf_sym sym;
	uint64_t off = 0;

	if (!(m->have_dbg && sw_elf_symbolize(&m->dbg, rel, &sym, &off) == 0) &&
	    !(m->have_elf && sw_elf_symbolize(&m->elf, rel, &sym, &off) == 0))
		return SW_ENOTFOUND;
	copy_name(buf, size, sym.name);
	*offset = off;
	return 0;
}

/* No entry: open the images for this lookup alone.  Out of line: its
 * struct module is large, and the table's path (name_at) must stay
 * within the signal-safe stack bound (stackwalk.h). */
static __attribute__((noinline)) int lookup_alone(const struct sw_module *mod, const char *path,
						 bool is_vdso, uint64_t pc, char *buf, size_t size,
						 uint64_t *offset, bool *have_elf)
{
	struct module one;
	int rc;

	memset(&one, 0, sizeof(one));
	__atomic_fetch_add(&n_overflow, 1, __ATOMIC_RELAXED);
	open_images(&one, mod, path, is_vdso);
	rc = lookup(&one, pc - mod->base, buf, size, offset);
	*have_elf = one.have_elf;
	close_images(&one);
	return rc;
}

/* PC -> symbol name and offset in it. */
static int name_at(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	struct sw_module mod;
	char path[256];
	bool have_elf;
	int rc;

	if (sw_find_module(pc, &mod) < 0)
		return SW_ENOTFOUND;
	bool is_vdso = module_key(&mod, path, sizeof(path));
	struct module *m = module_for(&mod, path, is_vdso);
	if (m) {
		rc = lookup(m, pc - mod.base, buf, size, offset);
		have_elf = m->have_elf;
		sw_slot_release(&m->slot);
	} else {
		rc = lookup_alone(&mod, path, is_vdso, pc, buf, size, offset, &have_elf);
	}
	if (rc != 0 && !have_elf) {
		/* the file cannot be opened (deleted, ...): dladdr's answer
		 * from .dynsym in memory (takes the loader lock) */
		Dl_info info;
		if (dladdr((void *)(uintptr_t)pc, &info) && info.dli_sname && info.dli_saddr) {
			copy_name(buf, size, info.dli_sname);
			*offset = pc - (uint64_t)(uintptr_t)info.dli_saddr;
			rc = 0;
		}
	}
	return rc;
}

void sw_names_stats(struct sw_stats *st)
{
	st->names_capacity = MAX_MODULES;
	st->names_used = sw_slots_used(modules, MAX_MODULES);
	st->names_reclaimed = __atomic_load_n(&n_reclaimed, __ATOMIC_RELAXED);
	st->names_overflow = __atomic_load_n(&n_overflow, __ATOMIC_RELAXED);
}

int sw_get_proc_name(sw_cursor_t *cursor, char *buf, size_t size, uint64_t *offset)
{
	uint64_t ip = sw_get_ip(cursor);
	/* look up the call instruction for return addresses (a noreturn call
	 * can be the last instruction of its function), but report the
	 * offset of the IP itself as other tools do */
	uint64_t pc = sw_get_lookup_pc(cursor);
	uint64_t off;
	int rc;

	if (size > 0)
		buf[0] = '\0';
	const struct sw_mem *m = sw_cursor_mem(cursor);
	if (m->remote) {
		rc = m->remote->name(m->remote, pc, buf, size, &off);
		if (rc == 0 && offset)
			*offset = off + (ip - pc);
		return rc;
	}
	/* generated code first: its addresses may lie in no module, or in
	 * memory a module once occupied */
	if (size > 0 && sw_source_name(pc, buf, size, &off) == 0) {
		if (offset)
			*offset = off + (ip - pc);
		return 0;
	}
	rc = name_at(pc, buf, size, &off);
	if (rc == SW_ENOTFOUND && pc != ip) {
		/* a return address at a function's first byte, after a call
		 * that ends the previous one or none (makecontext's return to
		 * __start_context): that function, when IP - 1 is in none */
		rc = name_at(ip, buf, size, &off);
		if (rc == 0 && off != 0) {
			rc = SW_ENOTFOUND;
			if (size > 0)
				buf[0] = '\0';
		}
		pc = ip;
	}
	if (rc == 0 && offset)
		*offset = off + (ip - pc);
	return rc;
}

int sw_get_proc_name_by_pc(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	uint64_t off;
	int rc;

	if (!buf || size == 0)
		return SW_EINVAL;
	buf[0] = '\0';
	if (sw_source_name(pc, buf, size, &off) == 0)
		rc = 0;
	else
		rc = name_at(pc, buf, size, &off);
	if (rc == 0 && offset)
		*offset = off;
	return rc;
}
