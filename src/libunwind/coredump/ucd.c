/*
 * libunwind-coredump.so.0 (_UCD_*): the accessors of a core file's
 * threads, for unw_create_addr_space(&_UCD_accessors, 0), on stackwalk's
 * core reader (sw_as_open_core, include/stackwalk/remote.h): threads and
 * registers from NT_PRSTATUS, memory from PT_LOAD and the module files'
 * read-only bytes (sw_as_read), modules from NT_FILE or the dynamic
 * linker's list, each file checked against its build-id; names from the
 * module files' symbol tables (sw_as_get_proc_name).
 *
 * find_proc_info reads the module's ELF program headers in the target's
 * memory (its file's bytes where the core did not dump them), and hands
 * its .eh_frame_hdr search table to dwarf_search_unwind_table
 * (libunwind.so.8), which reads through _UCD_access_mem.
 *
 * Not provided: the backing-file calls (_UCD_add_backing_file_at_*: the
 * core reader finds the files itself; they return -1, nothing added),
 * floating-point registers (-UNW_EINVAL, as nongnu), the target's dynamic
 * registrations (-UNW_ENOINFO) and resuming (-UNW_EINVAL).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../internal.h"
#include "../ptrace/elfsym.h"
#include <libunwind-coredump.h>

#define UCD_FILES 128

struct UCD_info {
	sw_addr_space_t *sw;
	size_t cur;                 /* the selected thread */
	struct {                    /* module i's file, mapped for names */
		const uint8_t *map;
		size_t size;
		int tried;
	} files[UCD_FILES];
};

SWU_API struct UCD_info *_UCD_create(const char *filename)
{
	struct UCD_info *ui;

	if (!filename || !(ui = calloc(1, sizeof(*ui))))
		return NULL;
	if (sw_as_open_core(filename, NULL, &ui->sw) != 0) {
		free(ui);
		return NULL;
	}
	return ui;
}

SWU_API void _UCD_destroy(struct UCD_info *ui)
{
	if (!ui)
		return;
	for (int i = 0; i < UCD_FILES; i++)
		if (ui->files[i].map)
			munmap((void *)ui->files[i].map, ui->files[i].size);
	sw_as_free(ui->sw);
	free(ui);
}

SWU_API int _UCD_get_num_threads(struct UCD_info *ui)
{
	return ui ? (int)sw_as_thread_count(ui->sw) : 0;
}

/* An index out of range leaves the selection as it is. */
SWU_API void _UCD_select_thread(struct UCD_info *ui, int n)
{
	if (ui && n >= 0 && (size_t)n < sw_as_thread_count(ui->sw))
		ui->cur = (size_t)n;
}

SWU_API pid_t _UCD_get_pid(struct UCD_info *ui)
{
	struct sw_as_thread t;

	return ui && sw_as_get_thread(ui->sw, ui->cur, &t) == 0 ? t.tid : -1;
}

/* The signal that made the core: every thread's NT_PRSTATUS carries it;
 * stackwalk records it on the thread it hit (thread 0). */
SWU_API int _UCD_get_cursig(struct UCD_info *ui)
{
	struct sw_as_thread t;

	if (!ui)
		return 0;
	for (size_t i = 0; sw_as_get_thread(ui->sw, i, &t) == 0; i++)
		if (t.signal)
			return t.signal;
	return 0;
}

SWU_API int _UCD_add_backing_file_at_segment(struct UCD_info *ui, int phdr_no,
					     const char *filename)
{
	(void)ui;
	(void)phdr_no;
	(void)filename;
	return -1;
}

SWU_API int _UCD_add_backing_file_at_vaddr(struct UCD_info *ui, unsigned long vaddr,
					   const char *filename)
{
	(void)ui;
	(void)vaddr;
	(void)filename;
	return -1;
}

SWU_API int _UCD_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			    void *arg)
{
	struct UCD_info *ui = arg;

	(void)as;
	if (!ui || !val || write)
		return -UNW_EINVAL;
	return sw_as_read(ui->sw, addr, val, sizeof(*val)) == 0 ? 0 : -UNW_EINVAL;
}

SWU_API int _UCD_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			    void *arg)
{
	struct UCD_info *ui = arg;
	struct sw_as_thread t;
	uint64_t v;

	(void)as;
	if (!ui || !val || write)
		return -UNW_EINVAL;
	if (reg < UNW_X86_64_RAX || reg > UNW_X86_64_RIP)
		return -UNW_EBADREG;
	if (sw_as_get_thread(ui->sw, ui->cur, &t) != 0 || t.state != SW_THREAD_STOPPED ||
	    sw_context_get_reg(&t.regs, reg, &v) != 0)
		return -UNW_EBADREG;
	*val = v;
	return 0;
}

SWU_API int _UCD_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			      void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EINVAL;
}

SWU_API int _UCD_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
				int need_unwind_info, void *arg)
{
	struct UCD_info *ui = arg;
	struct sw_as_module m;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t h[4];
	uint32_t count;

	if (!ui || !pi)
		return -UNW_EINVAL;
	if (sw_as_find_module(ui->sw, ip, &m) < 0)
		return -UNW_ENOINFO;
	/* the ELF header at the module's start (link address 0 + bias in a
	 * shared object or PIE, the first PT_LOAD of an executable) */
	uint64_t base = m.start;
	if (sw_as_read(ui->sw, base, &eh, sizeof(eh)) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > 256)
		return -UNW_ENOINFO;
	uint64_t hdr = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (sw_as_read(ui->sw, base + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)) != 0)
			return -UNW_ENOINFO;
		if (ph.p_type == PT_GNU_EH_FRAME)
			hdr = ph.p_vaddr + m.bias;
	}
	if (!hdr || sw_as_read(ui->sw, hdr, h, 4) != 0 || !hdr_table_usable(h) ||
	    sw_as_read(ui->sw, hdr + 8, &count, 4) != 0)
		return -UNW_ENOINFO;
	return search_hdr_table(as, ip, m.start, m.end, hdr, hdr + 12, count, pi, need_unwind_info,
				arg);
}

SWU_API void _UCD_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as;
	(void)arg;
	free_unwind_info(pi);
}

SWU_API int _UCD_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

/* The name by nongnu's rule (elfsym.h: the function symbol nearest
 * below, from the module file the core reader opened and checked), else
 * stackwalk's (a module without a file: the vDSO's image). */
SWU_API int _UCD_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			       unw_word_t *offset, void *arg)
{
	struct UCD_info *ui = arg;
	struct sw_as_module m;
	char tmp[1024];
	const char *name = NULL;
	uint64_t off = 0;
	int i;

	(void)as;
	if (!ui || !buf || len == 0)
		return -UNW_EINVAL;
	buf[0] = '\0';
	if ((i = sw_as_find_module(ui->sw, addr, &m)) < 0)
		return -UNW_ENOINFO;
	if (i < UCD_FILES && m.file && !ui->files[i].tried) {
		struct stat st;
		int fd = open(m.file, O_RDONLY | O_CLOEXEC);
		ui->files[i].tried = 1;
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr)) {
			void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p != MAP_FAILED) {
				ui->files[i].map = p;
				ui->files[i].size = (size_t)st.st_size;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	if (i < UCD_FILES && ui->files[i].map)
		name = file_symbol(ui->files[i].map, ui->files[i].size, addr - m.bias, &off);
	if (!name && sw_as_get_proc_name(ui->sw, addr, tmp, sizeof(tmp), &off) == 0)
		name = tmp;
	if (!name)
		return -UNW_ENOINFO;
	if (offset)
		*offset = off;
	size_t n = strlen(name);
	if (n >= len) {
		memcpy(buf, name, len - 1);
		buf[len - 1] = '\0';
		return -UNW_ENOMEM;     /* cut to fit, as libunwind says */
	}
	memcpy(buf, name, n + 1);
	return 0;
}

SWU_API int _UCD_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

SWU_API unw_accessors_t _UCD_accessors = {
	.find_proc_info = _UCD_find_proc_info,
	.put_unwind_info = _UCD_put_unwind_info,
	.get_dyn_info_list_addr = _UCD_get_dyn_info_list_addr,
	.access_mem = _UCD_access_mem,
	.access_reg = _UCD_access_reg,
	.access_fpreg = _UCD_access_fpreg,
	.resume = _UCD_resume,
	.get_proc_name = _UCD_get_proc_name,
};
