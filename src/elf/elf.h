/*
 * ELF64 images: files on disk (mapped read-only) and images already in
 * memory (a loaded module, JIT code wrapped in an ELF object).
 *
 * Everything is validated on open: header, section table, program headers,
 * section name table.  Accessors never read outside the image; a section
 * whose bytes lie outside the image is reported with SW_EBADELF.
 *
 * Only ELFCLASS64 little-endian is supported (x86-64, AArch64).
 *
 * Thread-safety: an opened `struct sw_elf` is immutable; any number of
 * threads may read it.  Async-signal-safe: the accessors are; opening a
 * file is not (open/mmap).
 */
#ifndef SW_ELF_ELF_H
#define SW_ELF_ELF_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_elf {
	const uint8_t *image;      /* whole file image (or in-memory object) */
	size_t size;               /* bytes in `image` */
	const Elf64_Ehdr *ehdr;
	const Elf64_Shdr *shdrs;   /* NULL when the image has no section table */
	size_t shnum;              /* real count (handles e_shnum == 0 + sh_size) */
	const char *shstrtab;      /* section name strings, NUL-terminated at shstrsz-1 */
	size_t shstrsz;
	const Elf64_Phdr *phdrs;   /* NULL when there are none */
	size_t phnum;
	bool mapped;               /* image was mmap'ed by sw_elf_open_file */
	char path[256];            /* file path (empty for in-memory images) */
};

struct sw_elf_section {
	unsigned index;            /* section header index */
	const char *name;          /* "" when the name is unreadable */
	uint32_t type;             /* SHT_* */
	uint64_t flags;            /* SHF_* */
	uint64_t addr;             /* sh_addr */
	uint64_t offset;           /* sh_offset */
	uint64_t size;             /* sh_size */
	uint32_t link, info;
	uint64_t entsize;
	const uint8_t *data;       /* bytes in the image; NULL for SHT_NOBITS */
};

/* Open an ELF image already in memory (the caller keeps it alive).
 * Returns 0, SW_ENOTELF, SW_EUNSUPPORTED (not ELF64 LE) or SW_EBADELF. */
int sw_elf_open_mem(struct sw_elf *elf, const void *image, size_t size);

/* Map the file at `path` read-only and open it as with sw_elf_open_mem.
 * Returns 0, SW_EIO (cannot open or map), or the codes of sw_elf_open_mem.
 * Not async-signal-safe.  Pair with sw_elf_close. */
int sw_elf_open_file(struct sw_elf *elf, const char *path);

/* Unmap a file opened with sw_elf_open_file; no-op for memory images. */
void sw_elf_close(struct sw_elf *elf);

/* Section `index` (0 <= index < shnum).  Returns 0, SW_EINVAL (index out of
 * range) or SW_EBADELF (its bytes lie outside the image). */
int sw_elf_section(const struct sw_elf *elf, unsigned index, struct sw_elf_section *out);

/* First section named `name`.  Returns 0, SW_ENOTFOUND or SW_EBADELF. */
int sw_elf_find_section(const struct sw_elf *elf, const char *name, struct sw_elf_section *out);

/* First program header of type `type` (PT_*).  Returns 0 or SW_ENOTFOUND. */
int sw_elf_find_phdr(const struct sw_elf *elf, uint32_t type, const Elf64_Phdr **out);

/* Bytes of the image at file offset `off`, `size` long, or NULL when out
 * of range. */
const uint8_t *sw_elf_bytes(const struct sw_elf *elf, uint64_t off, uint64_t size);

/* Bytes at virtual address `vaddr` (through the PT_LOAD headers, file
 * image layout), `size` long, or NULL. */
const uint8_t *sw_elf_vaddr_bytes(const struct sw_elf *elf, uint64_t vaddr, uint64_t size);

/* The GNU build-id note (NT_GNU_BUILD_ID) bytes.  Returns 0 or SW_ENOTFOUND. */
int sw_elf_build_id(const struct sw_elf *elf, const uint8_t **id, size_t *len);

/* One symbol of .symtab or .dynsym. */
struct sw_elf_sym {
	const char *name;          /* "" when unnamed */
	uint64_t value;            /* st_value (link-time address) */
	uint64_t size;             /* st_size */
	uint8_t type;              /* STT_* */
	uint8_t bind;              /* STB_* */
	uint16_t shndx;
};

/* Iterate the symbols of the table in section `symtab_index` (SHT_SYMTAB or
 * SHT_DYNSYM): calls `fn` for each until it returns nonzero.  Returns 0,
 * SW_EINVAL or SW_EBADELF. */
int sw_elf_foreach_sym(const struct sw_elf *elf, unsigned symtab_index,
		       int (*fn)(void *arg, const struct sw_elf_sym *sym), void *arg);

/* The function or object symbol (from .symtab, else .dynsym) whose
 * [value, value+size) contains `addr` (a link-time address); a sized
 * symbol is preferred, otherwise the nearest preceding FUNC symbol within
 * the same section.  Linear scan: tools only; the unwinder builds an index.
 * Returns 0 and fills *sym and *offset (addr - value), or SW_ENOTFOUND. */
int sw_elf_symbolize(const struct sw_elf *elf, uint64_t addr,
		     struct sw_elf_sym *sym, uint64_t *offset);

/*
 * Separate debug files (src/elf/debuglink.c), found as gdb finds them.
 *
 * `debug_dirs` is gdb's debug-file-directory: one or more global debug
 * directories separated by ':' (empty components are skipped), usually
 * SW_ELF_DEBUG_DIR.  Opening files is not async-signal-safe; the rest is.
 */
#define SW_ELF_DEBUG_DIR "/usr/lib/debug"

/* The global debug directories: the environment variable SW_DEBUG_DIR when
 * set and not empty (ignored in set-user-ID programs: secure_getenv), else
 * SW_ELF_DEBUG_DIR.  Not async-signal-safe (getenv). */
const char *sw_elf_debug_dirs(void);

/* Item `n` (from 0) of a ':'-separated list such as `debug_dirs`, empty
 * items skipped: its start, with its length in *len; NULL past the last. */
const char *sw_elf_list_item(const char *list, unsigned n, size_t *len);

/* The .gnu_debuglink section: a NUL-terminated file name, padding to a
 * multiple of 4, then the CRC-32 of the debug file (little-endian).
 * Returns 0 (*name points into the image), SW_EINVAL, or SW_ENOTFOUND when
 * the section is missing or malformed (no NUL, empty name, no room for the
 * CRC). */
int sw_elf_debuglink(const struct sw_elf *elf, const char **name, uint32_t *crc);

/* The CRC-32 of .gnu_debuglink: zlib's crc32 (IEEE 802.3 polynomial,
 * reflected).  Start with crc = 0; chain calls over consecutive chunks. */
uint32_t sw_elf_crc32(uint32_t crc, const uint8_t *buf, size_t len);

/* Candidate `i` (from 0) where gdb looks for the debuglink file `link` of
 * a file in directory `dir` ("" or a path ending in '/'): DIR/LINK, then
 * DIR/.debug/LINK, then GLOBAL/DIR/LINK for each directory of `debug_dirs`
 * (only when `dir` is absolute).  Writes the NUL-terminated path to `out`.
 * Returns 0, SW_ENOTFOUND when there is no candidate `i` (the last one is
 * i - 1), or SW_EINVAL for bad arguments or a path that does not fit in
 * `size` bytes (skip that candidate and go on with i + 1). */
int sw_elf_debuglink_candidate(const char *dir, const char *link, const char *debug_dirs,
			       unsigned i, char *out, size_t size);

/* Open the debug file that `elf`'s .gnu_debuglink names, for `elf` opened
 * from `path`: the first candidate of sw_elf_debuglink_candidate in the
 * directory of `path`, then (when it differs) in the directory of its
 * real path (symbolic links resolved, as gdb does), that is an ELF file
 * other than `path` itself, whose CRC-32 equals the debuglink's and whose
 * build-id, if it has one, equals `elf`'s.  Other candidates are skipped.
 * Returns 0 (pair with sw_elf_close), SW_EINVAL, or SW_ENOTFOUND. */
int sw_elf_open_debuglink_file(const struct sw_elf *elf, const char *path,
			       const char *debug_dirs, struct sw_elf *dbg);

/* Open GLOBAL/.build-id/xx/rest.debug, named after `elf`'s build-id, for
 * the first directory GLOBAL of `debug_dirs` that holds one with the same
 * build-id.  Returns 0 (pair with sw_elf_close), SW_EINVAL or
 * SW_ENOTFOUND. */
int sw_elf_open_build_id_file(const struct sw_elf *elf, const char *debug_dirs,
			      struct sw_elf *dbg);

#endif /* SW_ELF_ELF_H */
