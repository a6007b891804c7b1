/*
 * Names from a module file's symbol tables by nongnu libunwind's rule
 * (libunwind-ptrace's and libunwind-coredump's get_proc_name): the
 * function symbol nearest below the address.  Shared by src/libunwind/
 * ptrace/ and src/libunwind/coredump/ (two libraries: static functions).
 */
#ifndef SW_LIBUNWIND_ELFSYM_H
#define SW_LIBUNWIND_ELFSYM_H

#include <elf.h>
#include <stdint.h>
#include <string.h>

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

#endif /* SW_LIBUNWIND_ELFSYM_H */
