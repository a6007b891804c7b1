/*
 * Procedure names: PC -> symbol + offset for loaded modules and the vDSO.
 *
 * Each module's ELF image is opened once (the file it was loaded from, or
 * for the vDSO its image in memory) together with its separate debug file
 * when one is installed under /usr/lib/debug/.build-id — that is where a
 * distribution keeps the .symtab of a stripped library, and so where
 * static functions such as glibc's __libc_start_call_main get their names.
 * Lookup order: the debug file's .symtab, the module's .symtab, its
 * .dynsym (sw_elf_symbolize prefers .symtab over .dynsym by itself).
 *
 * Opening files allocates and a mutex guards the module table, so this is
 * not async-signal-safe (as stackwalk.h says); unwinding itself never
 * calls it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "elf/elf.h"
#include "unwind/internal.h"
#include "jit/registry.h"

#define MAX_MODULES 256

struct module {
	uint64_t base;               /* l_addr */
	const void *link_map;        /* identity together with base and path */
	char path[256];
	struct sw_elf elf;
	struct sw_elf dbg;
	bool have_elf, have_dbg;
};

static struct module modules[MAX_MODULES];
static unsigned nmodules;
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;

/* Open /usr/lib/debug/.build-id/xx/rest.debug for `elf`, if installed. */
static bool open_debug_file(const struct sw_elf *elf, struct sw_elf *dbg)
{
	const uint8_t *id;
	size_t len;
	char path[256];
	int n;

	if (sw_elf_build_id(elf, &id, &len) < 0 || len < 2 || len > 64)
		return false;
	n = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (size_t i = 1; i < len && n > 0 && (size_t)n < sizeof(path) - 3; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", id[i]);
	if (n <= 0 || (size_t)n >= sizeof(path) - 7)
		return false;
	snprintf(path + n, sizeof(path) - (size_t)n, ".debug");
	return sw_elf_open_file(dbg, path) == 0;
}

/* The module entry for a link map, opening its images on first use.
 * Called with modules_lock held. */
static struct module *module_for(const struct link_map *lm)
{
	const char *name = lm->l_name && lm->l_name[0] ? lm->l_name : NULL;
	char path[256];
	struct module *m;
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	bool is_vdso = false;

	if (!name) {
		/* the main program has an empty name; the vDSO's map is at its image */
		if (vdso && lm->l_ld && (uint64_t)(uintptr_t)lm->l_ld > vdso &&
		    (uint64_t)(uintptr_t)lm->l_ld - vdso < 0x10000)
			is_vdso = true;
		snprintf(path, sizeof(path), "%s", is_vdso ? "[vdso]" : "/proc/self/exe");
	} else {
		if (strncmp(name, "linux-vdso", 10) == 0)
			is_vdso = true;
		snprintf(path, sizeof(path), "%s", is_vdso ? "[vdso]" : name);
	}
	for (unsigned i = 0; i < nmodules; i++)
		if (modules[i].link_map == lm && modules[i].base == lm->l_addr &&
		    strcmp(modules[i].path, path) == 0)
			return &modules[i];
	if (nmodules == MAX_MODULES)
		return NULL;
	m = &modules[nmodules++];
	memset(m, 0, sizeof(*m));
	m->base = lm->l_addr;
	m->link_map = lm;
	snprintf(m->path, sizeof(m->path), "%s", path);
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
		m->have_dbg = open_debug_file(&m->elf, &m->dbg);
	return m;
}

/* PC -> symbol name and offset in it. */
static int sw_symbolize(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	Dl_info info;
	struct link_map *lm = NULL;
	struct sw_elf_sym sym;
	uint64_t off = 0;
	int rc = SW_ENOTFOUND;

	if (!dladdr1((void *)(uintptr_t)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return SW_ENOTFOUND;
	pthread_mutex_lock(&modules_lock);
	struct module *m = module_for(lm);
	uint64_t rel = pc - lm->l_addr;
	if (m && m->have_dbg && sw_elf_symbolize(&m->dbg, rel, &sym, &off) == 0)
		rc = 0;
	else if (m && m->have_elf && sw_elf_symbolize(&m->elf, rel, &sym, &off) == 0)
		rc = 0;
	if (rc == 0) {
		/* ".symtab" spells versioned definitions "name@@VERSION": show the name */
		if (size > 0)
			snprintf(buf, size, "%.*s", (int)strcspn(sym.name, "@"), sym.name);
		if (offset)
			*offset = off;
	}
	pthread_mutex_unlock(&modules_lock);
	if (rc != 0 && info.dli_sname && info.dli_saddr) {
		/* dladdr's answer from .dynsym when the images are unavailable */
		if (size > 0)
			snprintf(buf, size, "%s", info.dli_sname);
		if (offset)
			*offset = pc - (uint64_t)(uintptr_t)info.dli_saddr;
		rc = 0;
	}
	return rc;
}

int sw_get_proc_name(sw_cursor_t *cursor, char *buf, size_t size, uint64_t *offset)
{
	uint64_t ip = sw_get_ip(cursor);
	/* look up the call instruction for return addresses (a noreturn call
	 * can be the last instruction of its function), but report the
	 * offset of the IP itself as other tools do */
	uint64_t pc = sw_is_signal_frame(cursor) || ip == 0 ? ip : ip - 1;
	uint64_t off;
	int rc;

	if (size > 0)
		buf[0] = '\0';
	/* generated code first: its addresses may lie in no module, or in
	 * memory a module once occupied */
	if (sw_jit_active() && size > 0 && sw_jit_get_name(pc, buf, size, &off) == 0) {
		if (offset)
			*offset = off + (ip - pc);
		return 0;
	}
	rc = sw_symbolize(pc, buf, size, &off);
	if (rc == SW_ENOTFOUND && pc != ip) {
		/* a return address at a function's first byte, after a call
		 * that ends the previous one or none (makecontext's return to
		 * __start_context): that function, when IP - 1 is in none */
		rc = sw_symbolize(ip, buf, size, &off);
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
