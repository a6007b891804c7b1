/*
 * SW_JIT_PUB_GDB: the in-memory ELF object of a group (or a solo chunk)
 * that GDB reads (gdb.h).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>

#include "jit/publishers/gdb.h"

/* ---------------------------------------------------------------- object */

/* The section name table: offsets are the SH_* constants below.  Objects
 * without line information use only its first SHSTR_BASE bytes (the
 * names of sections 0..5), exactly the table they had before lines. */
static const char shstrtab[] = "\0.text\0.eh_frame\0.symtab\0.strtab\0.shstrtab"
			       "\0.debug_info\0.debug_abbrev\0.debug_line";
enum {
	SH_TEXT = 1, SH_EH = 7, SH_SYMTAB = 17, SH_STRTAB = 25, SH_SHSTRTAB = 33,
	SH_DINFO = 43, SH_DABBREV = 55, SH_DLINE = 69,
	SHSTR_BASE = 43,
	NSECT = 6, NSECT_LINES = 9,
};
_Static_assert(sizeof(shstrtab) == 81, "section name table layout");

static size_t al8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* ---------------------------------------------------------------- DWARF */

/* The DWARF 4 constants we write (DWARF 4 sections 7.5 and 7.21-7.22). */
enum {
	DW_TAG_compile_unit = 0x11, DW_TAG_subprogram = 0x2e,
	DW_CHILDREN_no = 0, DW_CHILDREN_yes = 1,
	DW_AT_name = 0x03, DW_AT_stmt_list = 0x10, DW_AT_low_pc = 0x11, DW_AT_high_pc = 0x12,
	DW_AT_language = 0x13, DW_AT_producer = 0x25, DW_AT_external = 0x3f,
	DW_FORM_addr = 0x01, DW_FORM_data1 = 0x0b, DW_FORM_data8 = 0x07,
	DW_FORM_string = 0x08, DW_FORM_sec_offset = 0x17, DW_FORM_flag_present = 0x19,
	DW_LANG_C99 = 0x0c,
	DW_LNS_copy = 1, DW_LNS_advance_pc = 2, DW_LNS_advance_line = 3, DW_LNS_set_file = 4,
	DW_LNE_end_sequence = 1, DW_LNE_set_address = 2,
};

/* Abbreviation codes of .debug_abbrev. */
enum { AB_CU = 1, AB_SUB = 2 };

/* Line program parameters: special opcodes cover line deltas
 * LINE_BASE .. LINE_BASE + LINE_RANGE - 1 with small address deltas (the
 * values GNU as uses); OPCODE_BASE 13 = the twelve DWARF 4 standard
 * opcodes, whose operand counts are std_lengths. */
#define LINE_BASE (-5)
#define LINE_RANGE 14
#define OPCODE_BASE 13
static const uint8_t std_lengths[OPCODE_BASE - 1] = { 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1 };

/* A byte sink: with buf == NULL it only counts (the measuring pass), so
 * one function both sizes and writes a section. */
struct sink {
	uint8_t *buf;
	size_t pos;
};

static void put(struct sink *s, const void *p, size_t n)
{
	if (s->buf)
		memcpy(s->buf + s->pos, p, n);
	s->pos += n;
}

static void put1(struct sink *s, uint8_t v)
{
	put(s, &v, 1);
}

static void put2(struct sink *s, uint16_t v)
{
	put(s, &v, 2);   /* little-endian host: the ELF is ELFDATA2LSB */
}

static void put4(struct sink *s, uint32_t v)
{
	put(s, &v, 4);
}

static void put8(struct sink *s, uint64_t v)
{
	put(s, &v, 8);
}

static void put_str(struct sink *s, const char *str)
{
	put(s, str, strlen(str) + 1);
}

static void put_uleb(struct sink *s, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		put1(s, b | (v ? 0x80 : 0));
	} while (v);
}

static void put_sleb(struct sink *s, int64_t v)
{
	for (;;) {
		uint8_t b = v & 0x7f;
		v >>= 7;   /* arithmetic shift (gcc, clang) */
		if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
			put1(s, b);
			return;
		}
		put1(s, b | 0x80);
	}
}

/* Write the 4-byte unit_length of a unit that started at `at` (its length
 * field) and ends at the current position. */
static void patch_length(struct sink *s, size_t at)
{
	uint32_t len = (uint32_t)(s->pos - at - 4);
	if (s->buf)
		memcpy(s->buf + at, &len, 4);
}
/* The file table: distinct names (pointers into the chunks) and each
 * procedure's 1-based index in it (0: no lines), procedures numbered
 * across the chunks in order. */
struct files {
	const char **name;
	uint32_t n;
	uint32_t *of_proc;
};

/* How far back a new file name is compared with the names already in the
 * table: a JIT with one file per procedure stays linear, a duplicate
 * entry further back is harmless (two entries naming the same file). */
#define FILE_SEARCH 16

static const struct sw_jit_chunk *view_chunk(const struct view *v, size_t i);

static int files_make(const struct view *v, struct files *f)
{
	f->n = 0;
	f->name = malloc(v->nprocs * sizeof(*f->name));
	f->of_proc = calloc(v->nprocs, sizeof(*f->of_proc));
	if (!f->name || !f->of_proc) {
		free(f->name);
		free(f->of_proc);
		return SW_ENOMEM;
	}
	size_t i = 0;
	for (size_t mi = 0; mi < v->n; mi++) {
		const struct sw_jit_chunk *c = view_chunk(v, mi);
		for (size_t pi = 0; pi < c->nprocs; pi++, i++) {
			const struct sw_jit_chunk_proc *p = &c->procs[pi];
			if (!proc_has_lines(p))
				continue;
			uint32_t k = f->n, stop = f->n > FILE_SEARCH ? f->n - FILE_SEARCH : 0;
			while (k > stop && strcmp(f->name[k - 1], p->file) != 0)
				k--;
			if (k == stop) {
				f->name[f->n++] = p->file;
				k = f->n;
			}
			f->of_proc[i] = k;
		}
	}
	return 0;
}

static void files_free(struct files *f)
{
	free(f->name);
	free(f->of_proc);
}

static void debug_abbrev(struct sink *s)
{
	put_uleb(s, AB_CU);
	put_uleb(s, DW_TAG_compile_unit);
	put1(s, DW_CHILDREN_yes);
	put_uleb(s, DW_AT_name);      put_uleb(s, DW_FORM_string);
	put_uleb(s, DW_AT_producer);  put_uleb(s, DW_FORM_string);
	put_uleb(s, DW_AT_language);  put_uleb(s, DW_FORM_data1);
	put_uleb(s, DW_AT_stmt_list); put_uleb(s, DW_FORM_sec_offset);
	put_uleb(s, DW_AT_low_pc);    put_uleb(s, DW_FORM_addr);
	put_uleb(s, DW_AT_high_pc);   put_uleb(s, DW_FORM_data8);   /* size (DWARF 4) */
	put_uleb(s, 0);               put_uleb(s, 0);

	put_uleb(s, AB_SUB);
	put_uleb(s, DW_TAG_subprogram);
	put1(s, DW_CHILDREN_no);
	put_uleb(s, DW_AT_name);      put_uleb(s, DW_FORM_string);
	put_uleb(s, DW_AT_external);  put_uleb(s, DW_FORM_flag_present);
	put_uleb(s, DW_AT_low_pc);    put_uleb(s, DW_FORM_addr);
	put_uleb(s, DW_AT_high_pc);   put_uleb(s, DW_FORM_data8);
	put_uleb(s, 0);               put_uleb(s, 0);
	put_uleb(s, 0);   /* end of the table */
}

static void debug_info(struct sink *s, const struct view *v, const struct files *f)
{
	size_t unit = s->pos;
	put4(s, 0);                   /* unit_length, patched */
	put2(s, 4);                   /* version */
	put4(s, 0);                   /* debug_abbrev_offset */
	put1(s, 8);                   /* address_size */

	put_uleb(s, AB_CU);
	put_str(s, f->name[0]);
	put_str(s, "stackwalk JIT");
	put1(s, DW_LANG_C99);
	put4(s, 0);                   /* the only line program */
	put8(s, v->lo);
	put8(s, v->hi - v->lo);
	for (size_t mi = 0; mi < v->n; mi++) {
		const struct sw_jit_chunk *c = view_chunk(v, mi);
		for (size_t i = 0; i < c->nprocs; i++) {
			const struct sw_jit_chunk_proc *p = &c->procs[i];
			if (!p->name || !p->name[0])
				continue;
			put_uleb(s, AB_SUB);
			put_str(s, p->name);
			put8(s, p->start);
			put8(s, p->end - p->start);
		}
	}
	put1(s, 0);                   /* end of the unit's children */
	patch_length(s, unit);
}

/* One row after moving the address by `dpc` bytes and the line by `dl`:
 * a special opcode when one encodes both, else explicit advances and
 * DW_LNS_copy. */
static void line_row(struct sink *s, uint64_t dpc, int64_t dl)
{
	if (dl >= LINE_BASE && dl < LINE_BASE + LINE_RANGE &&
	    dpc <= (255 - OPCODE_BASE - (uint64_t)(dl - LINE_BASE)) / LINE_RANGE) {
		put1(s, (uint8_t)((uint64_t)(dl - LINE_BASE) + LINE_RANGE * dpc + OPCODE_BASE));
		return;
	}
	if (dl) {
		put1(s, DW_LNS_advance_line);
		put_sleb(s, dl);
	}
	if (dpc) {
		put1(s, DW_LNS_advance_pc);
		put_uleb(s, dpc);
	}
	put1(s, DW_LNS_copy);
}

/* One sequence: procedure p, file index `file`. */
static void line_seq(struct sink *s, const struct sw_jit_chunk_proc *p, uint32_t file)
{
	put1(s, 0);           /* extended opcode: length, opcode, operand */
	put_uleb(s, 9);
	put1(s, DW_LNE_set_address);
	put8(s, p->start);
	if (file != 1) {
		put1(s, DW_LNS_set_file);
		put_uleb(s, file);
	}
	/* state: address p->start + off, line `line` (1 at the start) */
	uint64_t off = 0;
	int64_t line = 1;
	for (uint32_t k = 0; k < p->nlines; k++) {
		const struct sw_jit_line *e = &p->lines[k];
		if (k + 1 < p->nlines && p->lines[k + 1].offset == e->offset)
			continue;
		line_row(s, e->offset - off, (int64_t)e->line - line);
		off = e->offset;
		line = e->line;
	}
	put1(s, DW_LNS_advance_pc);
	put_uleb(s, p->end - p->start - off);
	put1(s, 0);
	put_uleb(s, 1);
	put1(s, DW_LNE_end_sequence);
}

static void debug_line(struct sink *s, const struct view *v, const struct files *f)
{
	size_t unit = s->pos;
	put4(s, 0);                   /* unit_length, patched */
	put2(s, 4);                   /* version */
	size_t hdr = s->pos;
	put4(s, 0);                   /* header_length, patched */
	put1(s, 1);                   /* minimum_instruction_length */
	put1(s, 1);                   /* maximum_operations_per_instruction */
	put1(s, 1);                   /* default_is_stmt */
	put1(s, (uint8_t)LINE_BASE);
	put1(s, LINE_RANGE);
	put1(s, OPCODE_BASE);
	put(s, std_lengths, sizeof(std_lengths));
	put1(s, 0);                   /* no include_directories */
	for (uint32_t k = 0; k < f->n; k++) {
		put_str(s, f->name[k]);
		put_uleb(s, 0);       /* directory: the unit's */
		put_uleb(s, 0);       /* mtime unknown */
		put_uleb(s, 0);       /* size unknown */
	}
	put1(s, 0);                   /* end of file_names */
	if (s->buf) {
		uint32_t hl = (uint32_t)(s->pos - hdr - 4);
		memcpy(s->buf + hdr, &hl, 4);
	}

	size_t i = 0;
	for (size_t mi = 0; mi < v->n; mi++) {
		const struct sw_jit_chunk *c = view_chunk(v, mi);
		for (size_t pi = 0; pi < c->nprocs; pi++, i++)
			if (f->of_proc[i])
				line_seq(s, &c->procs[pi], f->of_proc[i]);
	}
	patch_length(s, unit);
}


/* Images are allocated in steps of OBJ_ROUND bytes with one step of
 * headroom, and the last one freed is kept (`spare`, under gdb.c's glock) for the
 * next build that fits it without wasting more than that: a group growing
 * one chunk at a time mostly alternates between two buffers instead of
 * calling malloc and free per registration. */
#define OBJ_ROUND 512

static struct gdb_obj *spare;

static struct gdb_obj *obj_alloc(size_t size)
{
	size_t cap = ((size + OBJ_ROUND - 1) & ~(size_t)(OBJ_ROUND - 1)) + OBJ_ROUND;
	struct gdb_obj *o = spare;
	if (o && o->cap >= size && o->cap <= cap + OBJ_ROUND) {
		spare = NULL;
		return o;
	}
	if ((o = malloc(sizeof(*o) + cap)))
		o->cap = cap;
	return o;
}

void sw_gdb_obj_free(struct gdb_obj *o)
{
	if (!o)
		return;
	free(spare);
	spare = o;
}

static const struct sw_jit_chunk *view_chunk(const struct view *v, size_t i)
{
	return v->m[i]->c;
}

/* sw_gdb_build (gdb.h) */
struct gdb_obj *sw_gdb_build(const struct view *v, bool solo)
{
	size_t nsym = 1, strsz = 1, eh_size = 4;
	bool lines = false;
	for (size_t mi = 0; mi < v->n; mi++) {
		nsym += v->m[mi]->nsym;
		strsz += v->m[mi]->strsz;
		lines |= v->m[mi]->lines;
		eh_size += v->m[mi]->eh_len;
	}
	if (solo)
		eh_size = v->m[0]->c->eh_size;
	struct files files = { 0 };
	if (lines && files_make(v, &files) < 0)
		return NULL;

	/* debug section sizes: a measuring pass */
	struct sink m = { NULL, 0 };
	size_t info_size = 0, abbrev_size = 0, line_size = 0;
	if (lines) {
		debug_info(&m, v, &files);
		info_size = m.pos;
		m.pos = 0;
		debug_abbrev(&m);
		abbrev_size = m.pos;
		m.pos = 0;
		debug_line(&m, v, &files);
		line_size = m.pos;
		if (info_size > UINT32_MAX || line_size > UINT32_MAX) {
			/* past 32-bit DWARF: publish the symbols without lines */
			files_free(&files);
			lines = false;
			info_size = abbrev_size = line_size = 0;
		}
	}
	size_t nsect = lines ? NSECT_LINES : NSECT;
	size_t shs_size = lines ? sizeof(shstrtab) : SHSTR_BASE;

	/* file layout: ehdr | eh_frame | symtab | strtab | shstrtab |
	 * [debug_info | debug_abbrev | debug_line] | shdrs */
	size_t off_eh = al8(sizeof(Elf64_Ehdr));
	size_t off_sym = al8(off_eh + eh_size);
	size_t off_str = off_sym + nsym * sizeof(Elf64_Sym);
	size_t off_shs = off_str + strsz;
	size_t off_info = off_shs + shs_size;
	size_t off_abbrev = off_info + info_size;
	size_t off_line = off_abbrev + abbrev_size;
	size_t off_sh = al8(off_line + line_size);
	size_t size = off_sh + nsect * sizeof(Elf64_Shdr);

	/* not calloc: every byte is written below but the padding, the
	 * unused fields and section header 0, cleared here */
	struct gdb_obj *o = obj_alloc(size);
	if (!o) {
		files_free(&files);
		return NULL;
	}
	uint8_t *img = (uint8_t *)(o + 1);
	memset(img, 0, off_eh);
	memset(img + off_eh + eh_size, 0, off_sym - off_eh - eh_size);
	memset(img + off_line + line_size, 0, size - off_line - line_size);

	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_shoff = off_sh;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = (uint16_t)nsect;
	eh->e_shstrndx = 5;

	uint64_t eh_addr;
	if (solo) {
		memcpy(img + off_eh, v->m[0]->c->eh_frame, eh_size);
		eh_addr = v->m[0]->c->eh_vaddr;
	} else {
		size_t at = off_eh;
		for (size_t mi = 0; mi < v->n; mi++) {
			memcpy(img + at, v->m[mi]->eh, v->m[mi]->eh_len);
			at += v->m[mi]->eh_len;
		}
		memset(img + at, 0, 4);
		eh_addr = (uint64_t)(uintptr_t)(img + off_eh);   /* unused: absolute */
	}

	Elf64_Sym *sym = (Elf64_Sym *)(void *)(img + off_sym);
	char *str = (char *)img + off_str;
	size_t si = 1, so = 1;
	memset(&sym[0], 0, sizeof(sym[0]));
	str[0] = 0;
	for (size_t mi = 0; mi < v->n; mi++) {
		const struct sw_jit_chunk *c = view_chunk(v, mi);
		for (size_t i = 0; i < c->nprocs; i++) {
			const struct sw_jit_chunk_proc *p = &c->procs[i];
			if (!p->name || !p->name[0])
				continue;
			size_t len = strlen(p->name) + 1;
			memcpy(str + so, p->name, len);
			sym[si] = (Elf64_Sym){
				.st_name = (uint32_t)so,
				.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
				.st_shndx = 1,
				.st_value = p->start - v->lo,   /* ET_REL: section-relative */
				.st_size = p->end - p->start,
			};
			si++;
			so += len;
		}
	}
	memcpy(img + off_shs, shstrtab, shs_size);

	Elf64_Shdr *sh = (Elf64_Shdr *)(void *)(img + off_sh);
	sh[1] = (Elf64_Shdr){ .sh_name = SH_TEXT, .sh_type = SHT_NOBITS,
			      .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = v->lo,
			      .sh_offset = off_eh, .sh_size = v->hi - v->lo, .sh_addralign = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = SH_EH, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
			      .sh_addr = eh_addr, .sh_offset = off_eh, .sh_size = eh_size,
			      .sh_addralign = 8 };
	sh[3] = (Elf64_Shdr){ .sh_name = SH_SYMTAB, .sh_type = SHT_SYMTAB, .sh_offset = off_sym,
			      .sh_size = nsym * sizeof(Elf64_Sym), .sh_link = 4,
			      .sh_info = 1,   /* first non-local symbol */
			      .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym) };
	sh[4] = (Elf64_Shdr){ .sh_name = SH_STRTAB, .sh_type = SHT_STRTAB, .sh_offset = off_str,
			      .sh_size = strsz, .sh_addralign = 1 };
	sh[5] = (Elf64_Shdr){ .sh_name = SH_SHSTRTAB, .sh_type = SHT_STRTAB, .sh_offset = off_shs,
			      .sh_size = shs_size, .sh_addralign = 1 };
	if (lines) {
		struct sink w = { img + off_info, 0 };
		debug_info(&w, v, &files);
		w = (struct sink){ img + off_abbrev, 0 };
		debug_abbrev(&w);
		w = (struct sink){ img + off_line, 0 };
		debug_line(&w, v, &files);
		files_free(&files);
		sh[6] = (Elf64_Shdr){ .sh_name = SH_DINFO, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_info, .sh_size = info_size, .sh_addralign = 1 };
		sh[7] = (Elf64_Shdr){ .sh_name = SH_DABBREV, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_abbrev, .sh_size = abbrev_size,
				      .sh_addralign = 1 };
		sh[8] = (Elf64_Shdr){ .sh_name = SH_DLINE, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_line, .sh_size = line_size, .sh_addralign = 1 };
	}

	o->entry.next_entry = o->entry.prev_entry = NULL;
	o->entry.symfile_addr = (const char *)img;
	o->entry.symfile_size = size;
	o->off_eh = off_eh;
	return o;
}

