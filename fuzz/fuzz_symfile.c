/*
 * libFuzzer target: a module image as the symbolizer opens it
 * (src/symbolize/file.c, decompress.c, symtab.c, then dwarf.c and line.c
 * through sw_dwarf_open/sw_dwarf_lookup): ELF headers and sections,
 * SHF_COMPRESSED sections (zlib, zstd) and .zdebug_*, MiniDebugInfo (xz),
 * the merged function-symbol table, and the DWARF found there.
 *
 * Input layout: the ELF image itself (copied into a buffer of its exact
 * size, so ASan sees any overread).  No separate debug files are looked
 * for (SW_SYM_NO_DEBUG_FILES): the input is the whole world.  Every symbol
 * is looked up at its address and one past it, and 32 addresses spread
 * over the executable sections go through the DWARF lookup.  A small arena
 * cap (64 MiB) exercises the capped paths.  fuzz/make_seeds_dwarf.sh makes
 * seeds from real builds (plain, zlib, zstd, .zdebug, MiniDebugInfo).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"
#include "stackwalk/symbolize.h"
#include "symbolize/dwarf.h"
#include "symbolize/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img = malloc(size ? size : 1);
	if (!img)
		return 0;
	memcpy(img, data, size);

	struct sw_arena arena;
	sw_arena_init(&arena, 64u << 20);
	struct sw_sym_file f;
	if (sw_sym_file_open_mem(&f, img, size, "fuzz", SW_SYM_NO_DEBUG_FILES, &arena) == 0) {
		for (size_t i = 0; i < f.nsyms; i++) {
			const struct sw_sym_symbol *s = NULL;
			CHECK(sw_sym_file_symbol(&f, f.syms[i].addr, &s) == 0 && s);
			CHECK(s->addr <= f.syms[i].addr);
			(void)strlen(s->name);
			if (s->file)
				(void)strlen(s->file);
			sw_sym_file_symbol(&f, f.syms[i].addr + 1, &s);
		}
		uint64_t off = sw_sym_file_offset(&f, f.nsyms ? f.syms[0].addr : 0);
		if (off != UINT64_MAX)
			(void)sw_sym_file_address(&f, off);
		struct sw_dwarf *d = NULL;
		if (f.have_dwarf && sw_dwarf_open(&f.dw, f.have_alt ? &f.altdw : NULL, &arena, &d) == 0 && d) {
			for (unsigned i = 0; i < f.elf.shnum; i++) {
				struct sw_elf_section sec;
				if (sw_elf_section(&f.elf, i, &sec) != 0 || !(sec.flags & SHF_EXECINSTR))
					continue;
				for (unsigned k = 0; k < 32; k++) {
					struct sw_dwarf_frame fr[8];
					uint64_t addr = sec.addr + (sec.size / 32) * k;
					int n = sw_dwarf_lookup(d, addr, fr, 8);
					for (int j = 0; j < n && j < 8; j++) {
						if (fr[j].name)
							(void)strlen(fr[j].name);
						if (fr[j].file)
							(void)strlen(fr[j].file);
					}
				}
			}
		}
		sw_sym_file_close(&f);
	}
	sw_arena_destroy(&arena);
	free(img);
	return 0;
}
