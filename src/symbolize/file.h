/*
 * One module file as the symbolizer sees it: the ELF file, its separate
 * debug file (by build-id under the debug directories, else by
 * .gnu_debuglink with CRC and build-id checked: src/elf/debuglink.c), the
 * dwz alternate file (.gnu_debugaltlink: by path, relative to the debug
 * file's directory, else by its build-id), MiniDebugInfo (.gnu_debugdata:
 * an xz-compressed ELF with a .symtab), the DWARF sections (decompressed
 * into the arena once: SHF_COMPRESSED with zlib or zstd, and the old
 * .zdebug_* form), and a sorted table of function symbols.
 *
 * Decompression uses zlib, libzstd and liblzma with allocators that map
 * memory (arena.h: sw_scratch_alloc), never malloc.  A section whose
 * compressed header lies (size larger than the cap, stream shorter or
 * longer than announced) is left out (counted), never trusted.
 *
 * Thread-safety: an opened file is immutable.  Async-signal-safe: opening
 * uses open/fstat/mmap/pread and arena memory only (no malloc, no lock,
 * no stdio); the lookups are.
 */
#ifndef SW_SYMBOLIZE_FILE_H
#define SW_SYMBOLIZE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf/elf.h"
#include "symbolize/arena.h"
#include "symbolize/sections.h"

struct sw_sym_symbol {
	uint64_t addr;              /* link-time address */
	uint64_t size;              /* 0 when the symbol has none */
	const char *name;
	const char *file;           /* a LOCAL symbol's STT_FILE (its source file's
				     * name, no directory), NULL if none */
};

struct sw_sym_file {
	const char *path;           /* as opened (arena copy) */
	const char *debug_path;     /* separate debug file, or NULL */
	struct sw_elf elf;          /* the module */
	struct sw_elf dbg;          /* its debug file (have_dbg) */
	struct sw_elf alt;          /* dwz alternate file (have_alt) */
	struct sw_elf mini;         /* MiniDebugInfo image, in the arena (have_mini) */
	bool have_dbg, have_alt, have_mini, have_dwarf;
	struct sw_dwarf_sections dw;     /* from dbg when it has .debug_info, else elf */
	struct sw_dwarf_sections altdw;  /* from alt */
	struct sw_sym_symbol *syms; /* FUNC (and IFUNC) symbols with a nonzero
				     * address from dbg's, elf's and mini's
				     * .symtab and elf's .dynsym, sorted by
				     * address, one per address (the global
				     * sized one preferred) */
	size_t nsyms;
	uint8_t build_id[40];
	uint32_t build_id_size;
	uint32_t decompress_errors; /* sections left out */
};

/* Open `path` (and what belongs to it, unless `flags` has
 * SW_SYM_NO_DEBUG_FILES / SW_SYM_NO_DWARF from stackwalk/symbolize.h)
 * with `debug_dirs` as gdb's debug-file-directory.
 * Returns 0, SW_EIO, SW_ENOTELF, SW_EBADELF, SW_EUNSUPPORTED or SW_ENOMEM. */
int sw_sym_file_open(struct sw_sym_file *f, const char *path, const char *debug_dirs,
		     uint32_t flags, struct sw_arena *a);

/* The same for an ELF image in memory (the vDSO); `name` is its path. */
int sw_sym_file_open_mem(struct sw_sym_file *f, const void *image, size_t size,
			 const char *name, uint32_t flags, struct sw_arena *a);

/* Unmap the files (arena memory stays until the arena goes). */
void sw_sym_file_close(struct sw_sym_file *f);

/* The function symbol containing `addr`: the last symbol at or below
 * addr, if addr < addr + size, or for a symbol without size if no other
 * symbol starts in between and addr lies in the same executable section.
 * Returns 0 and sets *sym, or SW_ENOTFOUND.  O(log n). */
int sw_sym_file_symbol(const struct sw_sym_file *f, uint64_t addr,
		       const struct sw_sym_symbol **sym);

/* The file offset of link-time address `addr` (through PT_LOAD), or
 * UINT64_MAX. */
uint64_t sw_sym_file_offset(const struct sw_sym_file *f, uint64_t addr);

/* The link-time address of file offset `off`, or UINT64_MAX. */
uint64_t sw_sym_file_address(const struct sw_sym_file *f, uint64_t off);

#endif /* SW_SYMBOLIZE_FILE_H */
