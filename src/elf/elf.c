/*
 * ELF64 images: validation on open, bounds-checked accessors.
 *
 * Trust model: every offset, size and count in the image is hostile.  All
 * range checks have the form `off <= total && len <= total - off` so that
 * no addition can wrap.
 *
 * Alignment: `struct sw_elf` hands out typed pointers (ehdr, shdrs, phdrs)
 * that callers dereference directly, so those are checked and rejected
 * when misaligned: the image itself must be 8-byte aligned (mmap and
 * malloc guarantee it; otherwise SW_EUNSUPPORTED) and e_shoff / e_phoff
 * must be multiples of 8 (otherwise SW_EBADELF; linkers always align
 * them).  Everything else that a hostile file may place at any offset
 * (notes, symbols) is copied out with memcpy.
 *
 * The accessors use no locks and allocate nothing: async-signal-safe.
 */
#include "elf/elf.h"

#include <fcntl.h>
#include <limits.h>
#include <stdalign.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stackwalk.h"

/* Headers are read in host order; only little-endian images are accepted. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "stackwalk's ELF reader assumes a little-endian host"
#endif

#define HDR_ALIGN 8u /* alignof(Elf64_Ehdr/Shdr/Phdr) on LP64 */
_Static_assert(alignof(Elf64_Ehdr) <= HDR_ALIGN && alignof(Elf64_Shdr) <= HDR_ALIGN &&
		       alignof(Elf64_Phdr) <= HDR_ALIGN,
	       "header alignment");

/* True when [off, off+len) lies inside [0, total), without overflow. */
static bool in_range(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

/* Round up to a power-of-two `align`; callers keep x far below 2^64. */
static uint64_t round_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) & ~(align - 1);
}

/* Name at `off` in a string table of `size` bytes, or "" when `off` is out
 * of range or the string is not terminated inside the table. */
static const char *strtab_name(const char *tab, uint64_t size, uint64_t off)
{
	if (!tab || off >= size || !memchr(tab + off, '\0', size - off))
		return "";
	return tab + off;
}

/* Section-header name: shstrtab is NUL-terminated at its last byte (checked
 * on open), so any offset below shstrsz yields a bounded string. */
static const char *section_name(const struct sw_elf *elf, uint32_t off)
{
	if (!elf->shstrtab || off >= elf->shstrsz)
		return "";
	return elf->shstrtab + off;
}

/* [off, off+size) of the image, or NULL when any part is outside it. */
const uint8_t *sw_elf_bytes(const struct sw_elf *elf, uint64_t off, uint64_t size)
{
	if (!elf || !elf->image || !in_range(off, size, elf->size))
		return NULL;
	return elf->image + off;
}

/* Validate the section table and the name table; fills shdrs, shnum,
 * shstrtab, shstrsz.  Also resolves e_phnum == PN_XNUM (count in
 * shdr[0].sh_info) into *phnum, since that needs shdr[0]. */
static int open_sections(struct sw_elf *elf, const Elf64_Ehdr *eh, uint64_t *phnum)
{
	uint64_t shnum = eh->e_shnum;

	/* e_shoff == 0 means "no section table" (gABI); e_shnum is ignored. */
	if (eh->e_shoff == 0)
		return eh->e_phnum == PN_XNUM ? SW_EBADELF : 0;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % HDR_ALIGN != 0 ||
	    !in_range(eh->e_shoff, sizeof(Elf64_Shdr), elf->size))
		return SW_EBADELF;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf->image + eh->e_shoff);

	/* Extended numbering: the real counts live in the null section 0. */
	if (shnum == 0)
		shnum = sh[0].sh_size;
	if (shnum == 0 || shnum > UINT_MAX ||
	    shnum > (elf->size - eh->e_shoff) / sizeof(Elf64_Shdr))
		return SW_EBADELF;
	if (eh->e_phnum == PN_XNUM)
		*phnum = sh[0].sh_info;

	uint64_t strndx = eh->e_shstrndx == SHN_XINDEX ? sh[0].sh_link : eh->e_shstrndx;
	elf->shdrs = sh;
	elf->shnum = (size_t)shnum;
	if (strndx == SHN_UNDEF)
		return 0; /* no names: every section is called "" */
	if (strndx >= shnum)
		return SW_EBADELF;
	const Elf64_Shdr *st = &sh[strndx];
	const uint8_t *p = sw_elf_bytes(elf, st->sh_offset, st->sh_size);
	/* The terminating NUL lets section_name() skip a memchr per lookup. */
	if (st->sh_type == SHT_NOBITS || !p || st->sh_size == 0 || p[st->sh_size - 1] != '\0')
		return SW_EBADELF;
	elf->shstrtab = (const char *)p;
	elf->shstrsz = (size_t)st->sh_size;
	return 0;
}

/* Validate the whole header set before publishing anything; on failure
 * *elf is left zeroed so sw_elf_close() stays safe. */
int sw_elf_open_mem(struct sw_elf *elf, const void *image, size_t size)
{
	if (!elf)
		return SW_EINVAL;
	memset(elf, 0, sizeof(*elf));
	const uint8_t *b = image;
	if (!b || size < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0)
		return SW_ENOTELF;
	if ((uintptr_t)b % HDR_ALIGN != 0)
		return SW_EUNSUPPORTED; /* see the alignment note at the top */
	if (size > EI_CLASS && b[EI_CLASS] != ELFCLASS64)
		return SW_EUNSUPPORTED;
	if (size > EI_DATA && b[EI_DATA] != ELFDATA2LSB)
		return SW_EUNSUPPORTED;
	if (size < sizeof(Elf64_Ehdr))
		return SW_EBADELF;

	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
	if (eh->e_ehsize != sizeof(Elf64_Ehdr))
		return SW_EBADELF;
	elf->image = b;
	elf->size = size;

	uint64_t phnum = eh->e_phnum;
	int rc = open_sections(elf, eh, &phnum);
	if (rc == 0 && phnum != 0 && eh->e_phoff != 0) {
		/* Like e_shoff, e_phoff == 0 means there is no table. */
		if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff % HDR_ALIGN != 0 ||
		    eh->e_phoff > size || phnum > (size - eh->e_phoff) / sizeof(Elf64_Phdr)) {
			rc = SW_EBADELF;
		} else {
			elf->phdrs = (const Elf64_Phdr *)(b + eh->e_phoff);
			elf->phnum = (size_t)phnum;
		}
	}
	if (rc != 0) {
		memset(elf, 0, sizeof(*elf));
		return rc;
	}
	elf->ehdr = eh;
	return 0;
}

/* mmap the whole regular file read-only; SW_EIO for anything that cannot
 * be mapped.  The path is kept (truncated) for diagnostics only. */
int sw_elf_open_file(struct sw_elf *elf, const char *path)
{
	if (!elf)
		return SW_EINVAL;
	memset(elf, 0, sizeof(*elf));
	if (!path)
		return SW_EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SW_EIO;
	struct stat st;
	/* Only regular, non-empty files can be mapped whole (mmap of length 0
	 * fails; directories and /proc pseudo-files report size 0 or fail). */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return SW_EIO;
	}
	size_t size = (size_t)st.st_size;
	void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd); /* the mapping keeps the file alive */
	if (map == MAP_FAILED)
		return SW_EIO;

	int rc = sw_elf_open_mem(elf, map, size);
	if (rc != 0) {
		munmap(map, size);
		return rc;
	}
	elf->mapped = true;
	size_t n = strnlen(path, sizeof(elf->path) - 1);
	memcpy(elf->path, path, n);
	elf->path[n] = '\0';
	return 0;
}

/* Unmap what sw_elf_open_file mapped; memory images belong to the caller. */
void sw_elf_close(struct sw_elf *elf)
{
	if (!elf)
		return;
	if (elf->mapped && elf->image)
		munmap((void *)(uintptr_t)elf->image, elf->size);
	memset(elf, 0, sizeof(*elf));
}

/* Section `index`; SW_EBADELF when its file bytes are outside the image. */
int sw_elf_section(const struct sw_elf *elf, unsigned index, struct sw_elf_section *out)
{
	if (!elf || !out || !elf->shdrs || index >= elf->shnum)
		return SW_EINVAL;
	const Elf64_Shdr *sh = &elf->shdrs[index];
	const uint8_t *data = NULL;
	if (sh->sh_type != SHT_NOBITS) {
		data = sw_elf_bytes(elf, sh->sh_offset, sh->sh_size);
		if (!data)
			return SW_EBADELF;
	}
	*out = (struct sw_elf_section){
		.index = index,
		.name = section_name(elf, sh->sh_name),
		.type = sh->sh_type,
		.flags = sh->sh_flags,
		.addr = sh->sh_addr,
		.offset = sh->sh_offset,
		.size = sh->sh_size,
		.link = sh->sh_link,
		.info = sh->sh_info,
		.entsize = sh->sh_entsize,
		.data = data,
	};
	return 0;
}

/* First section by name; a bad first match is SW_EBADELF, not skipped. */
int sw_elf_find_section(const struct sw_elf *elf, const char *name, struct sw_elf_section *out)
{
	if (!elf || !name || !out)
		return SW_EINVAL;
	/* Section 0 is the null entry (or extended-count holder): never named. */
	for (size_t i = 1; i < elf->shnum; i++) {
		if (strcmp(section_name(elf, elf->shdrs[i].sh_name), name) == 0)
			return sw_elf_section(elf, (unsigned)i, out);
	}
	return SW_ENOTFOUND;
}

/* First section of type `type`, or -1. */
static int find_section_type(const struct sw_elf *elf, uint32_t type)
{
	for (size_t i = 1; i < elf->shnum; i++) {
		if (elf->shdrs[i].sh_type == type)
			return (int)i;
	}
	return -1;
}

/* First program header of type `type`. */
int sw_elf_find_phdr(const struct sw_elf *elf, uint32_t type, const Elf64_Phdr **out)
{
	if (!elf || !out)
		return SW_EINVAL;
	for (size_t i = 0; i < elf->phnum; i++) {
		if (elf->phdrs[i].p_type == type) {
			*out = &elf->phdrs[i];
			return 0;
		}
	}
	return SW_ENOTFOUND;
}

/* Link-time address to file bytes via PT_LOAD (vaddr - p_vaddr + p_offset). */
const uint8_t *sw_elf_vaddr_bytes(const struct sw_elf *elf, uint64_t vaddr, uint64_t size)
{
	if (!elf)
		return NULL;
	for (size_t i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr)
			continue;
		uint64_t delta = vaddr - ph->p_vaddr;
		/* Only file-backed bytes: the .bss tail (memsz > filesz) has none. */
		if (!in_range(delta, size, ph->p_filesz) || delta > UINT64_MAX - ph->p_offset)
			continue;
		const uint8_t *p = sw_elf_bytes(elf, ph->p_offset + delta, size);
		if (p)
			return p;
	}
	return NULL;
}

/* Scan a note area for NT_GNU_BUILD_ID owned by "GNU".  Offsets of name,
 * desc and the next note are rounded from the area start, which is how
 * both 4- and 8-aligned note areas are laid out. */
static int scan_notes(const uint8_t *p, uint64_t len, uint64_t align, const uint8_t **id,
		      size_t *idlen)
{
	uint64_t pos = 0;
	while (p && len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + pos, sizeof(nh)); /* notes may sit at any offset */
		uint64_t name_off = pos + sizeof(nh);
		if (nh.n_namesz > len - name_off)
			break;
		uint64_t desc_off = round_up(name_off + nh.n_namesz, align);
		if (desc_off > len || nh.n_descsz > len - desc_off)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == sizeof(ELF_NOTE_GNU) &&
		    memcmp(p + name_off, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)) == 0 &&
		    nh.n_descsz > 0) {
			*id = p + desc_off;
			*idlen = nh.n_descsz;
			return 0;
		}
		pos = round_up(desc_off + nh.n_descsz, align);
		if (pos > len)
			break;
	}
	return SW_ENOTFOUND;
}

/* NT_GNU_BUILD_ID from PT_NOTE segments, then SHT_NOTE sections. */
int sw_elf_build_id(const struct sw_elf *elf, const uint8_t **id, size_t *len)
{
	if (!elf || !id || !len)
		return SW_EINVAL;
	/* Program headers first: they survive section-header stripping. */
	for (size_t i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		if (ph->p_type == PT_NOTE &&
		    scan_notes(sw_elf_bytes(elf, ph->p_offset, ph->p_filesz), ph->p_filesz,
			       ph->p_align == 8 ? 8 : 4, id, len) == 0)
			return 0;
	}
	for (size_t i = 1; i < elf->shnum; i++) {
		const Elf64_Shdr *sh = &elf->shdrs[i];
		if (sh->sh_type == SHT_NOTE &&
		    scan_notes(sw_elf_bytes(elf, sh->sh_offset, sh->sh_size), sh->sh_size,
			       sh->sh_addralign == 8 ? 8 : 4, id, len) == 0)
			return 0;
	}
	return SW_ENOTFOUND;
}

/* Walk a SHT_SYMTAB/SHT_DYNSYM table; entsize and the linked SHT_STRTAB
 * are checked first, names outside the string table read as "". */
int sw_elf_foreach_sym(const struct sw_elf *elf, unsigned symtab_index,
		       int (*fn)(void *arg, const struct sw_elf_sym *sym), void *arg)
{
	struct sw_elf_section tab, str;
	if (!fn)
		return SW_EINVAL;
	int rc = sw_elf_section(elf, symtab_index, &tab);
	if (rc != 0)
		return rc;
	if (tab.type != SHT_SYMTAB && tab.type != SHT_DYNSYM)
		return SW_EINVAL;
	if (tab.entsize != sizeof(Elf64_Sym) || tab.size % sizeof(Elf64_Sym) != 0)
		return SW_EBADELF;
	if (tab.link == SHN_UNDEF || sw_elf_section(elf, tab.link, &str) != 0 ||
	    str.type != SHT_STRTAB || !str.data)
		return SW_EBADELF;

	/* Every entry is reported, including the null symbol at index 0. */
	for (uint64_t off = 0; off < tab.size; off += sizeof(Elf64_Sym)) {
		Elf64_Sym s;
		memcpy(&s, tab.data + off, sizeof(s)); /* sh_offset may be unaligned */
		struct sw_elf_sym sym = {
			.name = strtab_name((const char *)str.data, str.size, s.st_name),
			.value = s.st_value,
			.size = s.st_size,
			.type = ELF64_ST_TYPE(s.st_info),
			.bind = ELF64_ST_BIND(s.st_info),
			.shndx = s.st_shndx,
		};
		if (fn(arg, &sym) != 0)
			break;
	}
	return 0;
}

struct symbolize_state {
	const struct sw_elf *elf;
	uint64_t addr;
	struct sw_elf_sym sized, nosize;
	bool have_sized, have_nosize;
	/* the highest start <= addr of a sized symbol in addr's section
	 * (whether or not it contains addr): a size-0 FUNC below it does not
	 * reach addr */
	uint64_t barrier;
	bool have_barrier;
};

/* Tie-break among aliases: GLOBAL over WEAK over LOCAL, code over data. */
static int sym_rank(const struct sw_elf_sym *s)
{
	int r = s->bind == STB_GLOBAL ? 4 : s->bind == STB_WEAK ? 2 : 0;
	return r + (s->type == STT_FUNC || s->type == STT_GNU_IFUNC);
}

/* Does section `shndx` (a real, allocated section) cover `addr`? */
static bool section_covers(const struct sw_elf *elf, uint16_t shndx, uint64_t addr)
{
	if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE || shndx >= elf->shnum)
		return false;
	const Elf64_Shdr *sh = &elf->shdrs[shndx];
	return (sh->sh_flags & SHF_ALLOC) && addr >= sh->sh_addr &&
	       addr - sh->sh_addr < sh->sh_size;
}

static int symbolize_cb(void *arg, const struct sw_elf_sym *s)
{
	struct symbolize_state *st = arg;
	if (s->shndx == SHN_UNDEF || s->value > st->addr)
		return 0;
	if (s->type != STT_FUNC && s->type != STT_GNU_IFUNC && s->type != STT_OBJECT &&
	    s->type != STT_NOTYPE)
		return 0;
	if (s->size != 0) {
		if (section_covers(st->elf, s->shndx, st->addr) &&
		    (!st->have_barrier || s->value > st->barrier)) {
			st->barrier = s->value;
			st->have_barrier = true;
		}
		if (st->addr - s->value >= s->size)
			return 0;
		/* Innermost (latest start, then smallest) wins, then rank. */
		const struct sw_elf_sym *b = &st->sized;
		if (!st->have_sized || s->value > b->value ||
		    (s->value == b->value &&
		     (s->size < b->size || (s->size == b->size && sym_rank(s) > sym_rank(b))))) {
			st->sized = *s;
			st->have_sized = true;
		}
	} else if (s->type == STT_FUNC && section_covers(st->elf, s->shndx, st->addr)) {
		/* Size-0 FUNC (hand-written assembly): extends to the next
		 * symbol, so only the nearest one below addr is a candidate. */
		const struct sw_elf_sym *b = &st->nosize;
		if (!st->have_nosize || s->value > b->value ||
		    (s->value == b->value && sym_rank(s) > sym_rank(b))) {
			st->nosize = *s;
			st->have_nosize = true;
		}
	}
	return 0;
}

/* The symbol containing addr: a sized one, else the nearest size-0 FUNC
 * below it in the same section (hand-written assembly) when no sized
 * symbol of that section starts between the two -- a sized function
 * that ends before addr means addr is not in the size-0 one either.
 * .symtab first, then .dynsym; SW_ENOTFOUND when none contains addr. */
int sw_elf_symbolize(const struct sw_elf *elf, uint64_t addr, struct sw_elf_sym *sym,
		     uint64_t *offset)
{
	if (!elf || !sym || !offset)
		return SW_EINVAL;
	static const uint32_t types[] = { SHT_SYMTAB, SHT_DYNSYM };
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		int idx = find_section_type(elf, types[t]);
		if (idx < 0)
			continue;
		struct symbolize_state st = { .elf = elf, .addr = addr };
		/* A malformed table simply contributes nothing; try the next. */
		if (sw_elf_foreach_sym(elf, (unsigned)idx, symbolize_cb, &st) != 0)
			continue;
		if (st.have_nosize && st.have_barrier && st.barrier >= st.nosize.value)
			st.have_nosize = false;
		if (st.have_sized || st.have_nosize) {
			*sym = st.have_sized ? st.sized : st.nosize;
			*offset = addr - sym->value;
			return 0;
		}
	}
	return SW_ENOTFOUND;
}
