/*
 * The symbolizer object (stackwalk/symbolize.h): a table of opened files,
 * each with its DWARF index, and the assembly of a PC's frames from the
 * DWARF chain (dwarf.h), the symbol table (file.h) and, for generated
 * code, stackwalk's JIT registry.
 *
 * Files are found by path in an open-addressed table of atomic pointers:
 * a lookup probes without locks; a miss opens the file into arena memory
 * and publishes it with compare-and-swap (two threads that race both open
 * it, one entry wins and the other's mappings are closed).  A path that
 * cannot be opened gets an entry too (its status), so it is tried once.
 * Local PCs are mapped to their module with glibc's _dl_find_object (no
 * lock, no allocation); the main program's path is /proc/self/exe.
 *
 * Demangled names are kept in a second table keyed by the raw name's
 * address, so a name is demangled once and the returned string lives as
 * long as the symbolizer.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "stackwalk/jit.h"
#include "stackwalk/symbolize.h"
#include "symbolize/arena.h"
#include "symbolize/dwarf.h"
#include "symbolize/file.h"

#define FILE_SLOTS 4096u      /* open files (modules) per symbolizer */
#define NAME_SLOTS 65536u     /* demangled names memoised */
#define MAX_LEVELS 64         /* inline levels asked from the DWARF layer */

struct entry {
	const char *key;             /* path (arena copy) */
	uint64_t hash;
	int status;                  /* 0 or the open error */
	bool is_vdso;
	struct sw_sym_file file;
	struct sw_dwarf *dwarf;      /* NULL: no DWARF */
};

struct name_slot {
	const char *_Atomic raw;
	const char *_Atomic demangled;
};

struct sw_symbolizer {
	struct sw_arena arena;
	uint32_t flags;
	char debug_dirs[1024];
	char exe[PATH_MAX];          /* /proc/self/exe, resolved at creation */
	struct entry *_Atomic files[FILE_SLOTS];
	struct name_slot *_Atomic names;  /* NAME_SLOTS, made at first use */
	struct entry *_Atomic last;  /* the entry found last (batches ask one file) */
	_Atomic uint64_t n_files, n_capped;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

/* glibc's struct dl_find_object (2.35+), found with dlsym so the library
 * still loads on an older glibc (it then falls back to dladdr). */
struct dlfo {
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	struct link_map *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long reserved[7];
};

typedef int (*find_object_fn)(void *pc, struct dlfo *out);
static find_object_fn _Atomic find_object;
static _Atomic int find_object_state;   /* 0 unknown, 1 looked up */

static find_object_fn get_find_object(void)
{
	if (atomic_load_explicit(&find_object_state, memory_order_acquire))
		return atomic_load_explicit(&find_object, memory_order_relaxed);
	/* dlsym is not async-signal-safe: sw_symbolizer_new / preload make
	 * this call first (see warm_find_object) */
	find_object_fn f = (find_object_fn)dlsym(RTLD_DEFAULT, "_dl_find_object");
	atomic_store_explicit(&find_object, f, memory_order_relaxed);
	atomic_store_explicit(&find_object_state, 1, memory_order_release);
	return f;
}

int sw_symbolizer_new(const struct sw_sym_options *opts, sw_symbolizer_t **out)
{
	struct sw_sym_options o = {0};

	if (!out)
		return SW_EINVAL;
	*out = NULL;
	if (opts) {
		if (opts->size < offsetof(struct sw_sym_options, reserved32))
			return SW_EINVAL;
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
		if (o.flags & ~(SW_SYM_NO_DEBUG_FILES | SW_SYM_NO_DWARF | SW_SYM_NO_DEMANGLE))
			return SW_EINVAL;
	}
	/* the object itself lives in its arena: one mapping to free */
	struct sw_arena a;
	sw_arena_init(&a, o.memory_cap);
	struct sw_symbolizer *s = sw_arena_alloc(&a, sizeof(*s), 64);
	if (!s) {
		sw_arena_destroy(&a);
		return SW_ENOMEM;
	}
	s->arena = a;
	s->flags = o.flags;
	const char *dirs = o.debug_dirs;
	if (!dirs) {
		dirs = secure_getenv("SW_DEBUG_DIR");
		if (!dirs || !*dirs)
			dirs = "/usr/lib/debug";
	}
	if (strlen(dirs) >= sizeof(s->debug_dirs)) {
		sw_arena_destroy(&s->arena);
		return SW_EINVAL;
	}
	strcpy(s->debug_dirs, dirs);
	ssize_t n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
	s->exe[n > 0 ? n : 0] = 0;
	get_find_object();   /* dlsym now, not in a signal handler later */
	*out = s;
	return 0;
}

void sw_symbolizer_free(sw_symbolizer_t *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < FILE_SLOTS; i++) {
		struct entry *e = atomic_load(&s->files[i]);
		if (e && e->status == 0)
			sw_sym_file_close(&e->file);
	}
	struct sw_arena a = s->arena;   /* s lives in the arena */
	sw_arena_destroy(&a);
}

/* Open `path` (or the vDSO image) into a new entry; never NULL unless the
 * arena is exhausted. */
static struct entry *open_entry(struct sw_symbolizer *s, const char *path, uint64_t h,
				const void *image, size_t image_size)
{
	struct entry *e = sw_arena_alloc(&s->arena, sizeof(*e), 64);
	if (!e)
		return NULL;
	e->key = sw_arena_strndup(&s->arena, path, strlen(path));
	if (!e->key)
		return NULL;
	e->hash = h;
	e->is_vdso = image != NULL;
	if (image)
		e->status = sw_sym_file_open_mem(&e->file, image, image_size, path, s->flags,
						 &s->arena);
	else
		e->status = sw_sym_file_open(&e->file, path, s->debug_dirs, s->flags, &s->arena);
	if (e->status == 0 && e->file.have_dwarf && !(s->flags & SW_SYM_NO_DWARF)) {
		const struct sw_dwarf_sections *alt = e->file.have_alt ? &e->file.altdw : NULL;
		if (sw_dwarf_open(&e->file.dw, alt, &s->arena, &e->dwarf) != 0)
			e->dwarf = NULL;
	}
	return e;
}

/* The entry for `path`, opened at its first use.  NULL when the table is
 * full or memory is out. */
static struct entry *get_entry(struct sw_symbolizer *s, const char *path, const void *image,
			       size_t image_size)
{
	struct entry *last = atomic_load_explicit(&s->last, memory_order_acquire);
	if (last && strcmp(last->key, path) == 0)
		return last;
	uint64_t h = hash_str(path);
	struct entry *mine = NULL;

	for (unsigned probe = 0; probe < FILE_SLOTS; probe++) {
		struct entry *_Atomic *slot = &s->files[(h + probe) & (FILE_SLOTS - 1)];
		struct entry *e = atomic_load_explicit(slot, memory_order_acquire);
		if (!e) {
			if (!mine) {
				mine = open_entry(s, path, h, image, image_size);
				if (!mine)
					return NULL;
			}
			if (atomic_compare_exchange_strong_explicit(slot, &e, mine,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				atomic_fetch_add(&s->n_files, 1);
				atomic_store_explicit(&s->last, mine, memory_order_release);
				return mine;
			}
			/* another thread filled the slot: look at its entry */
		}
		if (e->hash == h && strcmp(e->key, path) == 0) {
			if (mine && mine->status == 0)
				sw_sym_file_close(&mine->file);
			atomic_store_explicit(&s->last, e, memory_order_release);
			return e;
		}
	}
	if (mine && mine->status == 0)
		sw_sym_file_close(&mine->file);
	return NULL;
}

/* The demangled form of `raw` (a string that lives as long as s), or raw. */
static const char *demangled(struct sw_symbolizer *s, const char *raw)
{
	if (!raw || (s->flags & SW_SYM_NO_DEMANGLE) || raw[0] != '_' ||
	    (raw[1] != 'Z' && raw[1] != 'R'))
		return raw;
	struct name_slot *tab = atomic_load_explicit(&s->names, memory_order_acquire);
	if (!tab) {
		struct name_slot *fresh = sw_arena_alloc(&s->arena, NAME_SLOTS * sizeof(*fresh), 64);
		if (fresh && atomic_compare_exchange_strong(&s->names, &tab, fresh))
			tab = fresh;
	}
	uint64_t h = (uint64_t)(uintptr_t)raw * 0x9e3779b97f4a7c15ull;
	struct name_slot *slot = NULL;
	if (tab) {
		for (unsigned probe = 0; probe < 16; probe++) {
			struct name_slot *n = &tab[((h >> 40) + probe) & (NAME_SLOTS - 1)];
			const char *r = atomic_load_explicit(&n->raw, memory_order_acquire);
			if (r == raw) {
				const char *d = atomic_load_explicit(&n->demangled, memory_order_acquire);
				if (d)
					return d;
				break;      /* being filled: demangle for ourselves */
			}
			if (!r) {
				const char *expect = NULL;
				if (atomic_compare_exchange_strong(&n->raw, &expect, raw)) {
					slot = n;
					break;
				}
				if (expect == raw)
					break;
			}
		}
	}
	char buf[4096];
	int len = sw_demangle(raw, buf, sizeof(buf));
	const char *d = raw;
	if (len > 0) {
		char *copy = sw_arena_strndup(&s->arena, buf, (size_t)len);
		if (copy)
			d = copy;
	}
	if (slot)
		atomic_store_explicit(&slot->demangled, d, memory_order_release);
	return d;
}

static void fill_module(const struct entry *e, uint64_t base, uint64_t addr,
			struct sw_sym_module *m)
{
	memset(m, 0, sizeof(*m));
	m->path = e->key;
	m->base = base;
	m->address = addr;
	m->file_offset = UINT64_MAX;
	if (e->status != 0)
		return;
	m->debug_path = e->file.debug_path;
	if (e->file.build_id_size <= sizeof(m->build_id)) {
		memcpy(m->build_id, e->file.build_id, e->file.build_id_size);
		m->build_id_size = e->file.build_id_size;
	}
	m->file_offset = sw_sym_file_offset(&e->file, addr);
}

static void clear_frame(struct sw_sym_frame *f)
{
	memset(f, 0, sizeof(*f));
}

/* Whether symbol `sym` is a compiler clone of `name`: the name and a
 * suffix (".cold", ".part.0", ".isra.0", ".constprop.0", ...). */
static bool clone_of(const char *sym, const char *name)
{
	size_t n = strlen(name);
	return strncmp(sym, name, n) == 0 && sym[n] == '.';
}

/* Frames at link-time address `addr` of entry e. */
static int frames_at(struct sw_symbolizer *s, struct entry *e, uint64_t addr,
		     struct sw_sym_frame *frames, int max)
{
	const struct sw_sym_symbol *sym = NULL;

	if (e->dwarf) {
		struct sw_dwarf_frame df[MAX_LEVELS];
		int n = sw_dwarf_lookup(e->dwarf, addr, df, MAX_LEVELS);
		if (n == SW_ENOMEM)
			atomic_fetch_add(&s->n_capped, 1);
		if (n > 0) {
			int have = n < MAX_LEVELS ? n : MAX_LEVELS;
			for (int i = 0; i < have && i < max; i++) {
				struct sw_sym_frame *f = &frames[i];
				clear_frame(f);
				f->function = df[i].name;
				f->file = df[i].file;
				f->line = df[i].line;
				f->column = df[i].column;
				f->function_start = df[i].low;
				if (df[i].inlined)
					f->flags |= SW_SYM_FRAME_INLINED;
			}
			/* the outermost level without a DWARF name (a unit
			 * covers addr, no function does): the symbol's; and
			 * when DWARF has only a source name where symbols are
			 * mangled (no DW_AT_linkage_name on the chain, as for
			 * gcc's lambdas and template instances), the symbol
			 * names it better: for a lone frame as addr2line and
			 * llvm-symbolizer both do; under inlined frames as
			 * llvm-symbolizer does, unless the symbol only adds a
			 * clone suffix ("lib_middle.cold" for "lib_middle":
			 * addr2line and gdb keep the source name there) */
			int last = have - 1;
			/* the symbol table only when DWARF leaves a question
			 * (a warm lookup's hot path) */
			bool ask = (last < max && (!frames[last].function || !df[last].linkage)) ||
				   (max > 0 && !frames[0].file);
			bool have_sym = ask && sw_sym_file_symbol(&e->file, addr, &sym) == 0;
			if (last < max && have_sym &&
			    (!frames[last].function ||
			     (!df[last].linkage && (have == 1 || !clone_of(sym->name, frames[last].function))))) {
				if (!frames[last].function)
					frames[last].flags |= SW_SYM_FRAME_SYMTAB;
				frames[last].function = sym->name;
				frames[last].function_start = sym->addr;
			}
			/* no line row at addr (code the line table skips): the
			 * file of the symbol's STT_FILE, line 0 */
			if (max > 0 && !frames[0].file && have_sym && sym->file)
				frames[0].file = sym->file;
			for (int i = 0; i < have && i < max; i++)
				frames[i].name = demangled(s, frames[i].function);
			return n;
		}
	}
	if (max > 0) {
		clear_frame(&frames[0]);
		if (e->status == 0 && sw_sym_file_symbol(&e->file, addr, &sym) == 0) {
			frames[0].function = sym->name;
			frames[0].name = demangled(s, sym->name);
			frames[0].function_start = sym->addr;
			frames[0].file = sym->file;
			frames[0].flags = SW_SYM_FRAME_SYMTAB;
		}
	}
	return 1;
}

int sw_symbolize_file(sw_symbolizer_t *s, const char *path, uint64_t address,
		      struct sw_sym_frame *frames, int max, struct sw_sym_module *module)
{
	if (!s || !path || (max > 0 && !frames) || max < 0)
		return SW_EINVAL;
	struct entry *e = get_entry(s, path, NULL, 0);
	if (!e)
		return SW_ENOMEM;
	if (e->status != 0)
		return e->status;
	if (module)
		fill_module(e, 0, address, module);
	return frames_at(s, e, address, frames, max);
}

/* The JIT registry's answer for pc: one frame named after the procedure. */
static int jit_frame(uint64_t pc, struct sw_sym_frame *frames, int max,
		     struct sw_sym_module *module, char *namebuf, size_t namesize)
{
	struct sw_proc_info pi;
	uint64_t off;

	if (sw_get_proc_info_by_pc(pc, &pi) != 0 || pi.source != SW_SRC_JIT)
		return SW_ENOTFOUND;
	if (module) {
		memset(module, 0, sizeof(*module));
		module->path = "[jit]";
		module->address = pc;
		module->file_offset = UINT64_MAX;
	}
	if (max > 0) {
		clear_frame(&frames[0]);
		frames[0].flags = SW_SYM_FRAME_JIT;
		frames[0].function_start = pi.start;
		if (sw_get_proc_name_by_pc(pc, namebuf, namesize, &off) == 0) {
			frames[0].function = namebuf;
			frames[0].name = namebuf;
		}
	}
	return 1;
}

int sw_symbolize(sw_symbolizer_t *s, uint64_t pc, struct sw_sym_frame *frames, int max,
		 struct sw_sym_module *module)
{
	if (!s || (max > 0 && !frames) || max < 0)
		return SW_EINVAL;

	find_object_fn find = get_find_object();
	const char *path = NULL;
	uint64_t base = 0;
	const void *image = NULL;
	size_t image_size = 0;
	if (find) {
		struct dlfo fo;
		if (find((void *)(uintptr_t)pc, &fo) == 0 && fo.dlfo_link_map) {
			struct link_map *lm = fo.dlfo_link_map;
			base = lm->l_addr;
			path = lm->l_name && lm->l_name[0] ? lm->l_name : s->exe;
			uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
			if (vdso && vdso >= (uint64_t)(uintptr_t)fo.dlfo_map_start &&
			    vdso < (uint64_t)(uintptr_t)fo.dlfo_map_end) {
				path = "[vdso]";
				image = (const void *)(uintptr_t)vdso;
				image_size = (size_t)((uintptr_t)fo.dlfo_map_end - vdso);
			}
		}
	} else {
		Dl_info info;
		struct link_map *lm = NULL;
		if (dladdr1((void *)(uintptr_t)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm) {
			base = lm->l_addr;
			path = lm->l_name && lm->l_name[0] ? lm->l_name : s->exe;
		}
	}
	if (!path) {
		/* JIT code: the registry names it, with the line table its
		 * author registered; the strings are copied into the arena
		 * so they outlive the registration */
		char name[512];
		int n = jit_frame(pc, frames, max, module, name, sizeof(name));
		if (n > 0 && max > 0) {
			if (frames[0].function) {
				const char *copy = sw_arena_strndup(&s->arena, name, strlen(name));
				frames[0].function = copy;
				frames[0].name = copy ? demangled(s, copy) : NULL;
			}
			uint32_t line;
			if (sw_jit_get_line(pc, name, sizeof(name), &line) == 0) {
				frames[0].file = sw_arena_strndup(&s->arena, name, strlen(name));
				frames[0].line = frames[0].file ? line : 0;
			}
		}
		return n;
	}
	struct entry *e = get_entry(s, path, image, image_size);
	if (!e)
		return SW_ENOMEM;
	uint64_t addr = pc - base;
	if (module)
		fill_module(e, base, addr, module);
	if (e->status != 0) {
		/* the module is known, its file is not usable */
		if (max > 0)
			clear_frame(&frames[0]);
		return 1;
	}
	return frames_at(s, e, addr, frames, max);
}

static int preload_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct sw_symbolizer *s = arg;
	(void)size;

	/* any address of the module will do: its first PT_LOAD */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			struct sw_sym_frame f;
			sw_symbolize(s, info->dlpi_addr + info->dlpi_phdr[i].p_vaddr, &f, 1, NULL);
			break;
		}
	}
	return 0;
}

int sw_symbolizer_preload(sw_symbolizer_t *s)
{
	if (!s)
		return SW_EINVAL;
	get_find_object();
	dl_iterate_phdr(preload_one, s);
	return (int)atomic_load(&s->n_files);
}

int sw_symbolizer_stats(sw_symbolizer_t *s, struct sw_sym_stats *out)
{
	if (!s || !out)
		return SW_EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < FILE_SLOTS; i++) {
		struct entry *e = atomic_load(&s->files[i]);
		if (!e || e->status != 0)
			continue;
		out->modules += 1 + e->file.have_dbg + e->file.have_alt + e->file.have_mini;
		if (e->dwarf) {
			struct sw_dwarf_counts c;
			sw_dwarf_counts(e->dwarf, &c);
			out->units += c.units;
			out->units_parsed += c.parsed;
			out->dwarf_errors += c.errors;
		}
	}
	out->arena_bytes = atomic_load(&s->arena.mapped);
	out->capped = atomic_load(&s->n_capped) + atomic_load(&s->arena.refused);
	return 0;
}
