/*
 * Finding the unwind information of a PC among the loaded modules.
 *
 * glibc's _dl_find_object (2.35+) answers "which module, and where is its
 * PT_GNU_EH_FRAME" without locks or allocation, and sees dlopen/dlclose as
 * they happen.  It is looked up with dlsym at sw_init so stackwalk still
 * loads on an older libc; there the dl_iterate_phdr fallback is used
 * (correct, but it takes the loader lock: not async-signal-safe).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "unwind/internal.h"

struct sw_dlfo {                    /* glibc's struct dl_find_object */
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	struct link_map *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long __dlfo_reserved[7];
};

/* atomic: the first walks of several threads may all run sw_init */
static int (*find_object)(void *pc, struct sw_dlfo *out);

void sw_modules_init(void)
{
	if (!__atomic_load_n(&find_object, __ATOMIC_ACQUIRE))
		__atomic_store_n(&find_object,
				 (int (*)(void *, struct sw_dlfo *))dlsym(RTLD_DEFAULT, "_dl_find_object"),
				 __ATOMIC_RELEASE);
}

struct phdr_query {
	uint64_t pc;
	uint64_t base, start, end, eh_hdr;
	const char *name;
	bool found;
};

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct phdr_query *q = arg;
	bool hit = false;
	uint64_t lo = UINT64_MAX, hi = 0, hdr = 0;

	(void)size;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			if (q->pc >= a && q->pc < a + ph->p_memsz)
				hit = true;
			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_GNU_EH_FRAME) {
			hdr = a;
		}
	}
	if (!hit)
		return 0;
	q->base = info->dlpi_addr;
	q->start = lo;
	q->end = hi;
	q->eh_hdr = hdr;
	q->name = info->dlpi_name;
	q->found = true;
	return 1;
}

int sw_find_module(uint64_t pc, struct sw_module *mod)
{
	memset(mod, 0, sizeof(*mod));
	int (*find)(void *, struct sw_dlfo *) = __atomic_load_n(&find_object, __ATOMIC_ACQUIRE);

	if (find) {
		struct sw_dlfo dlfo;
		if (find((void *)(uintptr_t)pc, &dlfo) != 0)
			return SW_ENOTFOUND;
		mod->identity = dlfo.dlfo_link_map;
		mod->path = dlfo.dlfo_link_map ? dlfo.dlfo_link_map->l_name : "";
		mod->base = dlfo.dlfo_link_map ? (uint64_t)dlfo.dlfo_link_map->l_addr : 0;
		mod->map_start = (uint64_t)(uintptr_t)dlfo.dlfo_map_start;
		mod->map_end = (uint64_t)(uintptr_t)dlfo.dlfo_map_end;
		mod->eh_hdr = (uint64_t)(uintptr_t)dlfo.dlfo_eh_frame;
	} else {
		struct phdr_query q = { .pc = pc };
		dl_iterate_phdr(phdr_cb, &q);
		if (!q.found)
			return SW_ENOTFOUND;
		mod->identity = (const void *)(uintptr_t)q.start;
		mod->path = q.name;
		mod->base = q.base;
		mod->map_start = q.start;
		mod->map_end = q.end;
		mod->eh_hdr = q.eh_hdr;
	}
	mod->has_eh_hdr = mod->eh_hdr != 0;
	return 0;
}

/* Through PT_GNU_EH_FRAME: the header's binary search table. */
static int find_in_eh_hdr(uint64_t pc, const struct sw_module *mod, struct sw_fde_info *info)
{
	uint64_t hdr_addr = mod->eh_hdr;
	struct sw_eh_hdr hdr;
	int rc;

	/* the header and .eh_frame lie inside the module's mapping */
	if (hdr_addr < mod->map_start || hdr_addr >= mod->map_end)
		return SW_EBADHDR;
	rc = sw_eh_hdr_parse(&hdr, (const void *)(uintptr_t)hdr_addr, mod->map_end - hdr_addr,
			     hdr_addr, NULL);
	if (rc < 0)
		return rc;
	if (hdr.eh_frame_ptr < mod->map_start || hdr.eh_frame_ptr >= mod->map_end)
		return SW_EBADHDR;
	sw_cfi_section_init(&info->sec, (const void *)(uintptr_t)hdr.eh_frame_ptr,
			    mod->map_end - hdr.eh_frame_ptr, hdr.eh_frame_ptr, true, ".eh_frame");
	info->sec.datarel = hdr_addr;
	info->module_base = mod->base;
	if (hdr.table) {
		info->source = SW_SRC_EH_FRAME_HDR;
		return sw_cfi_find_fde_hdr(&hdr, &info->sec, pc, &info->fde, &info->cie, NULL);
	}
	info->source = SW_SRC_EH_FRAME;
	return sw_cfi_find_fde_linear(&info->sec, pc, &info->fde, &info->cie, NULL);
}

/* The module source: the loaded .eh_frame through its header (a module
 * without PT_GNU_EH_FRAME is the file source's). */
static int module_find(uint64_t pc, struct sw_fde_info *info)
{
	struct sw_module mod;

	if (sw_find_module(pc, &mod) < 0 || !mod.has_eh_hdr)
		return SW_ENOTFOUND;
	return find_in_eh_hdr(pc, &mod, info);
}

const struct sw_source sw_module_source = { "module .eh_frame", module_find, NULL, NULL, NULL };

int sw_find_fde(uint64_t pc, struct sw_fde_info *info)
{
	sw_init();      /* installs the local sources */
	return sw_source_find(pc, info);
}
