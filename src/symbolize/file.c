/*
 * One module file for the symbolizer (file.h): the module, its separate
 * debug file, the dwz alternate file, MiniDebugInfo, the DWARF sections
 * (decompressed once, into the arena) and the function-symbol table
 * (symtab.c).
 *
 * Where things come from, in gdb's order:
 *  - the debug file by build-id (GLOBAL/.build-id/xx/rest.debug), else by
 *    .gnu_debuglink (src/elf/debuglink.c checks CRC and build-id);
 *  - DWARF from the debug file when it has .debug_info, else the module;
 *  - the dwz file named by .gnu_debugaltlink of the file the DWARF comes
 *    from: its path (relative ones from that file's directory, as written
 *    and with symbolic links resolved), else GLOBAL/.build-id/xx/rest.debug;
 *    accepted only with the build-id the link records;
 *  - MiniDebugInfo (.gnu_debugdata, xz) when no debug file brings a
 *    .symtab: it only holds the symbols that .dynsym lacks.
 * Nothing but the module itself is required: every other failure leaves
 * the piece out (decompress_errors counts the sections refused).
 */
#define _GNU_SOURCE
#include "symbolize/file.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"
#include "stackwalk/symbolize.h"
#include "symbolize/file_internal.h"

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2 /* gABI, 2022; glibc's elf.h may predate it */
#endif

/* ---- DWARF sections ---- */

/* The sections struct sw_dwarf_sections holds, by name after ".debug_". */
static struct sw_bytes *dw_slot(struct sw_dwarf_sections *dw, const char *suffix)
{
	static const struct {
		const char *name;
		size_t off;
	} slots[] = {
		{ "info", offsetof(struct sw_dwarf_sections, info) },
		{ "abbrev", offsetof(struct sw_dwarf_sections, abbrev) },
		{ "line", offsetof(struct sw_dwarf_sections, line) },
		{ "line_str", offsetof(struct sw_dwarf_sections, line_str) },
		{ "str", offsetof(struct sw_dwarf_sections, str) },
		{ "str_offsets", offsetof(struct sw_dwarf_sections, str_offsets) },
		{ "addr", offsetof(struct sw_dwarf_sections, addr) },
		{ "ranges", offsetof(struct sw_dwarf_sections, ranges) },
		{ "rnglists", offsetof(struct sw_dwarf_sections, rnglists) },
		{ "aranges", offsetof(struct sw_dwarf_sections, aranges) },
	};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		if (strcmp(suffix, slots[i].name) == 0)
			return (struct sw_bytes *)(void *)((char *)dw + slots[i].off);
	}
	return NULL;
}

/* Arena memory for a section of `size` decompressed bytes, or NULL when
 * the size is absurd or over what the arena may still map. */
static uint8_t *section_buffer(struct sw_arena *a, uint64_t size)
{
	if (size == 0 || size > SW_SYM_MAX_SECTION || size > sw_sym_arena_room(a))
		return NULL;
	return sw_arena_alloc(a, (size_t)size, 16);
}

/* SHF_COMPRESSED: an Elf64_Chdr, then the stream. */
static int load_chdr(const struct sw_elf_section *s, struct sw_arena *a, struct sw_bytes *out)
{
	Elf64_Chdr ch;
	if (s->size < sizeof(ch))
		return SW_EBADELF;
	memcpy(&ch, s->data, sizeof(ch)); /* sh_offset may be unaligned */
	if (ch.ch_type != ELFCOMPRESS_ZLIB && ch.ch_type != ELFCOMPRESS_ZSTD)
		return SW_EUNSUPPORTED;
	uint8_t *buf = section_buffer(a, ch.ch_size);
	if (!buf)
		return SW_ENOMEM;
	const uint8_t *in = s->data + sizeof(ch);
	size_t in_size = (size_t)s->size - sizeof(ch);
	int rc = ch.ch_type == ELFCOMPRESS_ZLIB
			 ? sw_sym_inflate(in, in_size, buf, (size_t)ch.ch_size)
			 : sw_sym_unzstd(in, in_size, buf, (size_t)ch.ch_size);
	if (rc != 0)
		return rc;
	*out = (struct sw_bytes){ buf, (size_t)ch.ch_size };
	return 0;
}

/* .zdebug_*: "ZLIB", the size as 8 big-endian bytes, then a zlib stream. */
static int load_zdebug(const struct sw_elf_section *s, struct sw_arena *a, struct sw_bytes *out)
{
	if (s->size < 12 || memcmp(s->data, "ZLIB", 4) != 0)
		return SW_EBADELF;
	uint64_t size = 0;
	for (int i = 4; i < 12; i++)
		size = size << 8 | s->data[i];
	uint8_t *buf = section_buffer(a, size);
	if (!buf)
		return SW_ENOMEM;
	int rc = sw_sym_inflate(s->data + 12, (size_t)s->size - 12, buf, (size_t)size);
	if (rc != 0)
		return rc;
	*out = (struct sw_bytes){ buf, (size_t)size };
	return 0;
}

/* Fill `dw` from `elf`'s sections; returns how many were refused. */
static uint32_t load_dwarf(const struct sw_elf *elf, struct sw_arena *a,
			   struct sw_dwarf_sections *dw)
{
	uint32_t errors = 0;

	memset(dw, 0, sizeof(*dw));
	for (unsigned i = 1; i < elf->shnum; i++) {
		struct sw_elf_section s;
		if (sw_elf_section(elf, i, &s) != 0 || !s.data || s.type == SHT_NOBITS)
			continue;
		bool zdebug = strncmp(s.name, ".zdebug_", 8) == 0;
		if (!zdebug && strncmp(s.name, ".debug_", 7) != 0)
			continue;
		struct sw_bytes *slot = dw_slot(dw, s.name + (zdebug ? 8 : 7));
		if (!slot || slot->data)
			continue; /* not ours, or a second copy: the first wins */
		int rc = 0;
		if (s.flags & SHF_COMPRESSED)
			rc = load_chdr(&s, a, slot);
		else if (zdebug)
			rc = load_zdebug(&s, a, slot);
		else
			*slot = (struct sw_bytes){ s.data, (size_t)s.size };
		if (rc != 0) {
			*slot = (struct sw_bytes){ NULL, 0 };
			errors++;
		}
	}
	return errors;
}

static bool has_section(const struct sw_elf *elf, const char *name)
{
	struct sw_elf_section s;
	return sw_elf_find_section(elf, name, &s) == 0 && s.type != SHT_NOBITS && s.size != 0;
}

/* ---- files found by path ---- */

/* Concatenate up to three pieces into out[PATH_MAX]; false if too long. */
static bool join(char *out, const char *a, size_t alen, const char *b, const char *c)
{
	size_t blen = strlen(b), clen = c ? strlen(c) : 0;
	if (alen >= PATH_MAX || blen >= PATH_MAX - alen || clen >= PATH_MAX - alen - blen)
		return false;
	memcpy(out, a, alen);
	memcpy(out + alen, b, blen);
	if (c)
		memcpy(out + alen + blen, c, clen);
	out[alen + blen + clen] = '\0';
	return true;
}

static bool build_id_is(const struct sw_elf *elf, const uint8_t *id, size_t len)
{
	const uint8_t *have;
	size_t hlen;
	return sw_elf_build_id(elf, &have, &hlen) == 0 && hlen == len && memcmp(have, id, len) == 0;
}

/* Open `path` into *out if it is an ELF file carrying build-id `id`. */
static bool open_with_id(const char *path, const uint8_t *id, size_t len, struct sw_elf *out)
{
	if (sw_elf_open_file(out, path) != 0)
		return false;
	if (build_id_is(out, id, len))
		return true;
	sw_elf_close(out);
	return false;
}

/* .gnu_debugaltlink of `holder` (opened from `holder_path`, may be ""): a
 * NUL-terminated path, then the dwz file's build-id. */
static bool open_altlink(const struct sw_elf *holder, const char *holder_path,
			 const char *debug_dirs, struct sw_elf *alt)
{
	struct sw_elf_section s;
	if (sw_elf_find_section(holder, ".gnu_debugaltlink", &s) != 0 || !s.data)
		return false;
	const uint8_t *nul = memchr(s.data, '\0', s.size);
	if (!nul || nul == s.data)
		return false;
	const char *link = (const char *)s.data;
	const uint8_t *id = nul + 1;
	size_t idlen = (size_t)(s.data + s.size - id);
	if (idlen < 2 || idlen > 64)
		return false;

	char path[PATH_MAX];
	if (link[0] == '/') {
		if (open_with_id(link, id, idlen, alt))
			return true;
	} else if (holder_path && holder_path[0]) {
		/* from the holder's directory as named, then as resolved */
		const char *slash = strrchr(holder_path, '/');
		size_t dlen = slash ? (size_t)(slash - holder_path) + 1 : 0;
		if (join(path, holder_path, dlen, link, NULL) && open_with_id(path, id, idlen, alt))
			return true;
		char real[PATH_MAX];
		if (realpath(holder_path, real)) {
			slash = strrchr(real, '/');
			dlen = slash ? (size_t)(slash - real) + 1 : 0;
			if (join(path, real, dlen, link, NULL) &&
			    open_with_id(path, id, idlen, alt))
				return true;
		}
	}
	/* GLOBAL/.build-id/xx/rest.debug */
	static const char hex[] = "0123456789abcdef";
	char name[2 * 64 + 16];
	size_t k = 0;
	memcpy(name, "/.build-id/", 11);
	k = 11;
	for (size_t i = 0; i < idlen; i++) {
		name[k++] = hex[id[i] >> 4];
		name[k++] = hex[id[i] & 15];
		if (i == 0)
			name[k++] = '/';
	}
	memcpy(name + k, ".debug", 7);
	size_t glen;
	const char *g;
	for (unsigned n = 0; (g = sw_elf_list_item(debug_dirs, n, &glen)) != NULL; n++) {
		if (join(path, g, glen, name, NULL) && open_with_id(path, id, idlen, alt))
			return true;
	}
	return false;
}

/* ---- MiniDebugInfo ---- */

static bool open_mini(struct sw_sym_file *f, struct sw_arena *a)
{
	struct sw_elf_section s;
	if (sw_elf_find_section(&f->elf, ".gnu_debugdata", &s) != 0 || !s.data || s.size == 0)
		return false;
	uint8_t *img;
	size_t size;
	if (sw_sym_unxz(s.data, (size_t)s.size, SW_SYM_MAX_MINI, a, &img, &size) != 0) {
		f->decompress_errors++;
		return false;
	}
	return sw_elf_open_mem(&f->mini, img, size) == 0;
}

/* ---- opening ---- */

static int first_of_type(const struct sw_elf *elf, uint32_t type)
{
	for (size_t i = 1; i < elf->shnum; i++) {
		if (elf->shdrs[i].sh_type == type)
			return (int)i;
	}
	return -1;
}

static void add_source(struct sw_sym_source *src, size_t *n, const struct sw_elf *elf,
		       uint32_t type)
{
	int idx = first_of_type(elf, type);
	if (idx > 0) {
		src[*n] = (struct sw_sym_source){ elf, (unsigned)idx, (uint8_t)*n };
		(*n)++;
	}
}

/* Everything after the module is open.  `path` is where it came from
 * (NULL for memory images: no debug files). */
static int finish_open(struct sw_sym_file *f, const char *path, const char *debug_dirs,
		       uint32_t flags, struct sw_arena *a)
{
	const uint8_t *id;
	size_t idlen;
	if (sw_elf_build_id(&f->elf, &id, &idlen) == 0) {
		f->build_id_size = (uint32_t)(idlen < sizeof(f->build_id) ? idlen : sizeof(f->build_id));
		memcpy(f->build_id, id, f->build_id_size);
	}
	if (!debug_dirs)
		debug_dirs = SW_ELF_DEBUG_DIR;

	if (path && !(flags & SW_SYM_NO_DEBUG_FILES)) {
		if (sw_elf_open_build_id_file(&f->elf, debug_dirs, &f->dbg) == 0 ||
		    sw_elf_open_debuglink_file(&f->elf, path, debug_dirs, &f->dbg) == 0) {
			f->have_dbg = true;
			f->debug_path = sw_arena_strndup(a, f->dbg.path, strlen(f->dbg.path));
			if (!f->debug_path) {
				sw_elf_close(&f->dbg);
				f->have_dbg = false;
			}
		}
	}
	if (!(f->have_dbg && first_of_type(&f->dbg, SHT_SYMTAB) > 0))
		f->have_mini = open_mini(f, a);

	/* symbols first: they are the answer when the cap stops DWARF */
	struct sw_sym_source src[4];
	size_t n = 0;
	if (f->have_dbg)
		add_source(src, &n, &f->dbg, SHT_SYMTAB);
	add_source(src, &n, &f->elf, SHT_SYMTAB);
	if (f->have_mini)
		add_source(src, &n, &f->mini, SHT_SYMTAB);
	add_source(src, &n, &f->elf, SHT_DYNSYM);
	int rc = sw_sym_build_table(f, src, n, a);
	if (rc != 0)
		return rc;

	if (flags & SW_SYM_NO_DWARF)
		return 0;
	bool from_dbg = f->have_dbg && (has_section(&f->dbg, ".debug_info") ||
					has_section(&f->dbg, ".zdebug_info"));
	const struct sw_elf *holder = from_dbg ? &f->dbg : &f->elf;
	f->decompress_errors += load_dwarf(holder, a, &f->dw);
	f->have_dwarf = f->dw.info.size != 0;
	if (f->have_dwarf && !(flags & SW_SYM_NO_DEBUG_FILES) &&
	    open_altlink(holder, from_dbg ? f->dbg.path : path, debug_dirs, &f->alt)) {
		f->have_alt = true;
		f->decompress_errors += load_dwarf(&f->alt, a, &f->altdw);
	}
	return 0;
}

int sw_sym_file_open(struct sw_sym_file *f, const char *path, const char *debug_dirs,
		     uint32_t flags, struct sw_arena *a)
{
	if (!f)
		return SW_EINVAL;
	memset(f, 0, sizeof(*f));
	if (!path || !a)
		return SW_EINVAL;
	int rc = sw_elf_open_file(&f->elf, path);
	if (rc != 0)
		return rc;
	f->path = sw_arena_strndup(a, path, strlen(path));
	rc = f->path ? finish_open(f, path, debug_dirs, flags, a) : SW_ENOMEM;
	if (rc != 0)
		sw_sym_file_close(f);
	return rc;
}

int sw_sym_file_open_mem(struct sw_sym_file *f, const void *image, size_t size,
			 const char *name, uint32_t flags, struct sw_arena *a)
{
	if (!f)
		return SW_EINVAL;
	memset(f, 0, sizeof(*f));
	if (!image || !name || !a)
		return SW_EINVAL;
	int rc = sw_elf_open_mem(&f->elf, image, size);
	if (rc != 0)
		return rc;
	f->path = sw_arena_strndup(a, name, strlen(name));
	rc = f->path ? finish_open(f, NULL, NULL, flags, a) : SW_ENOMEM;
	if (rc != 0)
		sw_sym_file_close(f);
	return rc;
}

void sw_sym_file_close(struct sw_sym_file *f)
{
	if (!f)
		return;
	sw_elf_close(&f->alt);
	sw_elf_close(&f->dbg);
	sw_elf_close(&f->mini); /* arena memory: only forgotten */
	sw_elf_close(&f->elf);
	f->have_dbg = f->have_alt = f->have_mini = f->have_dwarf = false;
	memset(&f->dw, 0, sizeof(f->dw));
	memset(&f->altdw, 0, sizeof(f->altdw));
	f->syms = NULL;
	f->nsyms = 0;
}

/* ---- addresses and file offsets (the module's PT_LOAD) ---- */

uint64_t sw_sym_file_offset(const struct sw_sym_file *f, uint64_t addr)
{
	for (size_t i = 0; f && i < f->elf.phnum; i++) {
		const Elf64_Phdr *ph = &f->elf.phdrs[i];
		if (ph->p_type == PT_LOAD && addr >= ph->p_vaddr && addr - ph->p_vaddr < ph->p_filesz &&
		    addr - ph->p_vaddr <= UINT64_MAX - ph->p_offset)
			return ph->p_offset + (addr - ph->p_vaddr);
	}
	return UINT64_MAX;
}

uint64_t sw_sym_file_address(const struct sw_sym_file *f, uint64_t off)
{
	for (size_t i = 0; f && i < f->elf.phnum; i++) {
		const Elf64_Phdr *ph = &f->elf.phdrs[i];
		if (ph->p_type == PT_LOAD && off >= ph->p_offset && off - ph->p_offset < ph->p_filesz &&
		    off - ph->p_offset <= UINT64_MAX - ph->p_vaddr)
			return ph->p_vaddr + (off - ph->p_offset);
	}
	return UINT64_MAX;
}
