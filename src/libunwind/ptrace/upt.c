/*
 * libunwind-ptrace: handles, memory, modules, unwind tables and names of
 * a traced process (upt.h).
 *
 * Modules come from /proc/PID/maps; a module's ELF header and program
 * headers are read from the target's memory at its first mapping (so a
 * deleted file, the vDSO and a file inside a container work alike), its
 * PT_GNU_EH_FRAME gives the .eh_frame_hdr whose search table
 * dwarf_search_unwind_table (libunwind.so.8) binary-searches through
 * _UPT_access_mem.  Names come from the module file's .symtab (else
 * .dynsym), the file opened through /proc/PID/root, then by its path.
 * Everything read from the target or its files is checked: a bad value
 * is an error code.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "elfsym.h"
#include "upt.h"

SWU_API void *_UPT_create(pid_t pid)
{
	struct upt_info *ui = calloc(1, sizeof(*ui));

	if (ui)
		ui->pid = pid;
	return ui;
}

static void drop_modules(struct upt_info *ui)
{
	for (int i = 0; i < ui->nmods; i++)
		if (ui->mods[i].file)
			munmap((void *)ui->mods[i].file, ui->mods[i].file_size);
	ui->nmods = 0;
}

SWU_API void _UPT_destroy(void *arg)
{
	struct upt_info *ui = arg;

	if (!ui)
		return;
	drop_modules(ui);
	free(ui);
}

/* ---------------------------------------------------------------- memory */

static int read_mem(struct upt_info *ui, uint64_t addr, void *buf, size_t size)
{
	struct iovec l = { buf, size }, r = { (void *)(uintptr_t)addr, size };

	if (size == 0)
		return 0;
	if (addr + size < addr)
		return -UNW_EINVAL;
	if (process_vm_readv(ui->pid, &l, 1, &r, 1, 0) == (ssize_t)size)
		return 0;
	/* another user's process we may trace, or a kernel without it */
	for (size_t done = 0; done < size;) {
		uint64_t base = (addr + done) & ~(uint64_t)7;
		size_t skip = (size_t)(addr + done - base), n = 8 - skip;
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, ui->pid, (void *)(uintptr_t)base, NULL);
		if (w == -1 && errno)
			return -UNW_EINVAL;
		if (n > size - done)
			n = size - done;
		memcpy((uint8_t *)buf + done, (const uint8_t *)&w + skip, n);
		done += n;
	}
	return 0;
}

SWU_API int _UPT_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			    void *arg)
{
	struct upt_info *ui = arg;

	(void)as;
	if (!ui || !val)
		return -UNW_EINVAL;
	if (write) {
		errno = 0;
		return ptrace(PTRACE_POKEDATA, ui->pid, (void *)(uintptr_t)addr, (void *)*val) < 0 ?
			       -UNW_EINVAL : 0;
	}
	return read_mem(ui, addr, val, sizeof(*val));
}

SWU_API int _UPT_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			    void *arg)
{
	struct upt_info *ui = arg;

	(void)as;
	if (!ui || !val)
		return -UNW_EINVAL;
	return upt_reg(ui->pid, reg, val, write);
}

SWU_API int _UPT_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			      void *arg)
{
	struct upt_info *ui = arg;

	(void)as;
	if (!ui || !val)
		return -UNW_EINVAL;
	return upt_fpreg(ui->pid, reg, val, write);
}

/* ---------------------------------------------------------------- modules */

/* One line of /proc/PID/maps. */
static int maps_line(const char *line, uint64_t *lo, uint64_t *hi, uint64_t *off, char *path,
		     size_t size)
{
	unsigned long long l, h, o;
	int n = 0;

	if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &l, &h, &o, &n) < 3 || n == 0)
		return -1;
	*lo = l;
	*hi = h;
	*off = o;
	snprintf(path, size, "%s", line + n);
	path[strcspn(path, "\n")] = '\0';
	return 0;
}

/* Fill `m` (start, end, path, bias, .eh_frame_hdr) for the file mapped at
 * `addr` in /proc/PID/maps: its mappings from the one at file offset 0
 * below addr up to the next such one.  Returns 0 or -UNW_ENOINFO. */
static int scan_maps(struct upt_info *ui, uint64_t addr, struct upt_module *m)
{
	char name[64], line[4096 + 128], path[512];
	uint64_t lo, hi, off, first_lo = 0, first_hi = 0, next0 = UINT64_MAX;
	int found = 0, have_first = 0;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/maps", (int)ui->pid);
	if (!(f = fopen(name, "re")))
		return -UNW_ENOINFO;
	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f))
		if (maps_line(line, &lo, &hi, &off, path, sizeof(path)) == 0 && addr >= lo &&
		    addr < hi) {
			found = (path[0] == '/' || strcmp(path, "[vdso]") == 0);
			snprintf(m->path, sizeof(m->path), "%s", path);
			break;
		}
	if (found) {
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			if (maps_line(line, &lo, &hi, &off, path, sizeof(path)) < 0 ||
			    strcmp(path, m->path) != 0)
				continue;
			if (off == 0 && lo <= addr && (!have_first || lo > first_lo)) {
				first_lo = lo;
				first_hi = hi;
				have_first = 1;
			}
			if (off == 0 && lo > addr && lo < next0)
				next0 = lo;
		}
		rewind(f);
		while (have_first && fgets(line, sizeof(line), f))
			if (maps_line(line, &lo, &hi, &off, path, sizeof(path)) == 0 &&
			    strcmp(path, m->path) == 0 && lo >= first_lo && lo < next0 && hi > m->end)
				m->end = hi;
	}
	fclose(f);
	if (!found || !have_first)
		return -UNW_ENOINFO;
	m->start = first_lo;
	struct {
		uint64_t lo, hi;
	} first = { first_lo, first_hi };

	/* the ELF header and program headers, at the first mapping */
	Elf64_Ehdr eh;
	if (read_mem(ui, first.lo, &eh, sizeof(eh)) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 256 || eh.e_phoff > first.hi - first.lo)
		return 0;       /* a module without unwind tables */
	Elf64_Phdr ph[256];
	if (read_mem(ui, first.lo + eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr)) < 0)
		return 0;
	const Elf64_Phdr *load = NULL, *ehf = NULL;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !load)
			load = &ph[i];
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			ehf = &ph[i];
	}
	if (!load)
		return 0;
	/* offset 0 is at first.lo: link address p_vaddr - p_offset */
	m->bias = first.lo - (load->p_vaddr - load->p_offset);
	if (!ehf || ehf->p_memsz < 8)
		return 0;
	uint64_t hdr = ehf->p_vaddr + m->bias;
	uint8_t h[4];
	uint32_t count;
	if (read_mem(ui, hdr, h, 4) < 0 || !hdr_table_usable(h) ||
	    read_mem(ui, hdr + 8, &count, 4) < 0)
		return 0;
	m->hdr = hdr;
	m->table = hdr + 12;
	m->fde_count = count;
	return 0;
}

/* The module containing addr: the cache, else /proc/PID/maps (NULL: none). */
static struct upt_module *find_module(struct upt_info *ui, uint64_t addr)
{
	for (int i = 0; i < ui->nmods; i++)
		if (addr >= ui->mods[i].start && addr < ui->mods[i].end)
			return &ui->mods[i];
	struct upt_module m;
	if (scan_maps(ui, addr, &m) < 0)
		return NULL;
	if (ui->nmods == UPT_MODULES)
		drop_modules(ui);
	ui->mods[ui->nmods] = m;
	return &ui->mods[ui->nmods++];
}

SWU_API int _UPT_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
				int need_unwind_info, void *arg)
{
	struct upt_info *ui = arg;
	struct upt_module *m;

	if (!ui || !pi)
		return -UNW_EINVAL;
	if (!(m = find_module(ui, ip)) || !m->hdr)
		return -UNW_ENOINFO;
	return search_hdr_table(as, ip, m->start, m->end, m->hdr, m->table, m->fde_count, pi,
				need_unwind_info, arg);
}

SWU_API void _UPT_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as;
	(void)arg;
	free_unwind_info(pi);
}

/* The target's dynamic registrations are not read (remote walks use
 * find_proc_info alone). */
SWU_API int _UPT_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

SWU_API int _UPT_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	struct upt_info *ui = arg;

	(void)as;
	(void)c;
	if (!ui)
		return -UNW_EINVAL;
	return ptrace(PTRACE_CONT, ui->pid, NULL, NULL) < 0 ? -UNW_EINVAL : 0;
}

/* ---------------------------------------------------------------- names */

/* Map the module's file (once): through /proc/PID/root, then its path. */
static void map_file(struct upt_info *ui, struct upt_module *m)
{
	char p[sizeof(m->path) + 64];
	struct stat st;
	int fd = -1;

	if (m->file_tried)
		return;
	m->file_tried = 1;
	if (m->path[0] != '/')
		return;
	snprintf(p, sizeof(p), "/proc/%d/root%s", (int)ui->pid, m->path);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr)) {
		void *a = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (a != MAP_FAILED) {
			m->file = a;
			m->file_size = (size_t)st.st_size;
		}
	}
	close(fd);
}

SWU_API int _UPT_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			       unw_word_t *offset, void *arg)
{
	struct upt_info *ui = arg;
	struct upt_module *m;
	uint64_t off = 0;

	(void)as;
	if (!ui || !buf || len == 0)
		return -UNW_EINVAL;
	buf[0] = '\0';
	if (!(m = find_module(ui, addr)))
		return -UNW_ENOINFO;
	map_file(ui, m);
	const char *name = m->file ? file_symbol(m->file, m->file_size, addr - m->bias, &off) : NULL;
	if (!name)
		return -UNW_ENOINFO;
	size_t n = strlen(name);
	if (offset)
		*offset = off;
	if (n >= len) {
		memcpy(buf, name, len - 1);
		buf[len - 1] = '\0';
		return -UNW_ENOMEM;     /* cut to fit, as libunwind says */
	}
	memcpy(buf, name, n + 1);
	return 0;
}

SWU_API unw_accessors_t _UPT_accessors = {
	.find_proc_info = _UPT_find_proc_info,
	.put_unwind_info = _UPT_put_unwind_info,
	.get_dyn_info_list_addr = _UPT_get_dyn_info_list_addr,
	.access_mem = _UPT_access_mem,
	.access_reg = _UPT_access_reg,
	.access_fpreg = _UPT_access_fpreg,
	.resume = _UPT_resume,
	.get_proc_name = _UPT_get_proc_name,
};
