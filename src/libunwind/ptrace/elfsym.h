/*
 * What libunwind-ptrace and libunwind-coredump share (src/libunwind/
 * ptrace/ and src/libunwind/coredump/: two libraries, so static
 * functions): names from a module file's symbol tables by nongnu
 * libunwind's rule (the function symbol nearest below the address), the
 * search of a module's .eh_frame_hdr table, and put_unwind_info.
 */
#ifndef SW_LIBUNWIND_ELFSYM_H
#define SW_LIBUNWIND_ELFSYM_H

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libunwind.h>

/* The function symbol of the file's .symtab and .dynsym nearest below
 * link-time address `a`: its name (in the file) and a's offset; NULL if
 * none.  nongnu's rule, sizes ignored: an address in a local function of
 * a stripped library gets the exported function before it, as strace and
 * other clients of nongnu show it. */
static inline const char *file_symbol(const uint8_t *f, size_t size, uint64_t a, uint64_t *off)
{
	const Elf64_Ehdr *eh = (const void *)f;
	const char *best = NULL;
	uint64_t dist = UINT64_MAX;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
	    eh->e_shnum > (size - eh->e_shoff) / sizeof(Elf64_Shdr))
		return NULL;
	const Elf64_Shdr *sh = (const void *)(f + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if ((sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM) ||
		    sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset)
			continue;
		const Elf64_Shdr *strs = &sh[sh[i].sh_link];
		if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset || !strs->sh_size)
			continue;
		const char *str = (const char *)f + strs->sh_offset;
		const Elf64_Sym *sym = (const void *)(f + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < n; k++) {
			const Elf64_Sym *s = &sym[k];
			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
			    s->st_value > a || a - s->st_value >= dist || s->st_name >= strs->sh_size ||
			    !memchr(str + s->st_name, 0, strs->sh_size - s->st_name))
				continue;
			dist = a - s->st_value;
			best = str + s->st_name;
		}
	}
	if (best)
		*off = dist;
	return best;
}

/* The first 4 bytes of an .eh_frame_hdr describe the search table
 * dwarf_search_unwind_table reads: version 1, an eh_frame_ptr of 4 bytes,
 * an fde_count of 4 bytes (udata4/sdata4, absolute or pc-relative) and
 * datarel|sdata4 pairs after them. */
static inline int hdr_table_usable(const uint8_t h[4])
{
	return h[0] == 1 && (h[1] == 0x1b || h[1] == 0x03 || h[1] == 0x0b) &&
	       (h[2] == 0x03 || h[2] == 0x0b) && h[3] == 0x3b;
}

/* find_proc_info for a module [start, end) whose .eh_frame_hdr is at
 * `hdr` with `count` entries of its search table at `table` (all target
 * addresses): dwarf_search_unwind_table over it */
static inline int search_hdr_table(unw_addr_space_t as, unw_word_t ip, uint64_t start, uint64_t end,
				   uint64_t hdr, uint64_t table, uint64_t count, unw_proc_info_t *pi,
				   int need_unwind_info, void *arg)
{
	unw_dyn_info_t di;

	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = start;
	di.end_ip = end;
	di.u.rti.segbase = hdr;
	di.u.rti.table_data = table;
	di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
	return dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

/* put_unwind_info: what find_proc_info put in pi->unwind_info is
 * malloc'd (libunwind.so.8 frees its own records itself; this is for
 * anything else) */
static inline void free_unwind_info(unw_proc_info_t *pi)
{
	if (!pi || !pi->unwind_info)
		return;
	free(pi->unwind_info);
	pi->unwind_info = NULL;
}

#endif /* SW_LIBUNWIND_ELFSYM_H */
