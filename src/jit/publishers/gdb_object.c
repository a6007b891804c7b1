/*
 * SW_JIT_PUB_GDB: the in-memory ELF object of a group (or a solo chunk)
 * that GDB reads (gdb.h).
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>

#include "arch/arch.h"
#include "dwarf/writer.h"
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

/* Sections are written through dwarf/writer.h: a measuring writer (buf
 * NULL) sizes a section, a second pass over the image writes it. */

/* Write the 4-byte unit_length of a unit that started at `at` (its length
 * field) and ends at the current position. */
static void patch_length(struct sw_writer *s, size_t at)
{
	sw_wr_patch_u32(s, at, (uint32_t)(s->pos - at - 4));
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

static void debug_abbrev(struct sw_writer *s)
{
	sw_wr_uleb(s, AB_CU);
	sw_wr_uleb(s, DW_TAG_compile_unit);
	sw_wr_u8(s, DW_CHILDREN_yes);
	sw_wr_uleb(s, DW_AT_name);      sw_wr_uleb(s, DW_FORM_string);
	sw_wr_uleb(s, DW_AT_producer);  sw_wr_uleb(s, DW_FORM_string);
	sw_wr_uleb(s, DW_AT_language);  sw_wr_uleb(s, DW_FORM_data1);
	sw_wr_uleb(s, DW_AT_stmt_list); sw_wr_uleb(s, DW_FORM_sec_offset);
	sw_wr_uleb(s, DW_AT_low_pc);    sw_wr_uleb(s, DW_FORM_addr);
	sw_wr_uleb(s, DW_AT_high_pc);   sw_wr_uleb(s, DW_FORM_data8);   /* size (DWARF 4) */
	sw_wr_uleb(s, 0);               sw_wr_uleb(s, 0);

	sw_wr_uleb(s, AB_SUB);
	sw_wr_uleb(s, DW_TAG_subprogram);
	sw_wr_u8(s, DW_CHILDREN_no);
	sw_wr_uleb(s, DW_AT_name);      sw_wr_uleb(s, DW_FORM_string);
	sw_wr_uleb(s, DW_AT_external);  sw_wr_uleb(s, DW_FORM_flag_present);
	sw_wr_uleb(s, DW_AT_low_pc);    sw_wr_uleb(s, DW_FORM_addr);
	sw_wr_uleb(s, DW_AT_high_pc);   sw_wr_uleb(s, DW_FORM_data8);
	sw_wr_uleb(s, 0);               sw_wr_uleb(s, 0);
	sw_wr_uleb(s, 0);   /* end of the table */
}

static void debug_info(struct sw_writer *s, const struct view *v, const struct files *f)
{
	size_t unit = s->pos;
	sw_wr_u32(s, 0);                   /* unit_length, patched */
	sw_wr_u16(s, 4);                   /* version */
	sw_wr_u32(s, 0);                   /* debug_abbrev_offset */
	sw_wr_u8(s, 8);                   /* address_size */

	sw_wr_uleb(s, AB_CU);
	sw_wr_cstr(s, f->name[0]);
	sw_wr_cstr(s, "stackwalk JIT");
	sw_wr_u8(s, DW_LANG_C99);
	sw_wr_u32(s, 0);                   /* the only line program */
	sw_wr_u64(s, v->lo);
	sw_wr_u64(s, v->hi - v->lo);
	for (size_t mi = 0; mi < v->n; mi++) {
		const struct sw_jit_chunk *c = view_chunk(v, mi);
		for (size_t i = 0; i < c->nprocs; i++) {
			const struct sw_jit_chunk_proc *p = &c->procs[i];
			if (!p->name || !p->name[0])
				continue;
			sw_wr_uleb(s, AB_SUB);
			sw_wr_cstr(s, p->name);
			sw_wr_u64(s, p->start);
			sw_wr_u64(s, p->end - p->start);
		}
	}
	sw_wr_u8(s, 0);                   /* end of the unit's children */
	patch_length(s, unit);
}

/* One row after moving the address by `dpc` bytes and the line by `dl`:
 * a special opcode when one encodes both, else explicit advances and
 * DW_LNS_copy. */
static void line_row(struct sw_writer *s, uint64_t dpc, int64_t dl)
{
	if (dl >= LINE_BASE && dl < LINE_BASE + LINE_RANGE &&
	    dpc <= (255 - OPCODE_BASE - (uint64_t)(dl - LINE_BASE)) / LINE_RANGE) {
		sw_wr_u8(s, (uint8_t)((uint64_t)(dl - LINE_BASE) + LINE_RANGE * dpc + OPCODE_BASE));
		return;
	}
	if (dl) {
		sw_wr_u8(s, DW_LNS_advance_line);
		sw_wr_sleb(s, dl);
	}
	if (dpc) {
		sw_wr_u8(s, DW_LNS_advance_pc);
		sw_wr_uleb(s, dpc);
	}
	sw_wr_u8(s, DW_LNS_copy);
}

/* One sequence: procedure p, file index `file`. */
static void line_seq(struct sw_writer *s, const struct sw_jit_chunk_proc *p, uint32_t file)
{
	sw_wr_u8(s, 0);           /* extended opcode: length, opcode, operand */
	sw_wr_uleb(s, 9);
	sw_wr_u8(s, DW_LNE_set_address);
	sw_wr_u64(s, p->start);
	if (file != 1) {
		sw_wr_u8(s, DW_LNS_set_file);
		sw_wr_uleb(s, file);
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
	sw_wr_u8(s, DW_LNS_advance_pc);
	sw_wr_uleb(s, p->end - p->start - off);
	sw_wr_u8(s, 0);
	sw_wr_uleb(s, 1);
	sw_wr_u8(s, DW_LNE_end_sequence);
}

static void debug_line(struct sw_writer *s, const struct view *v, const struct files *f)
{
	size_t unit = s->pos;
	sw_wr_u32(s, 0);                   /* unit_length, patched */
	sw_wr_u16(s, 4);                   /* version */
	size_t hdr = s->pos;
	sw_wr_u32(s, 0);                   /* header_length, patched */
	sw_wr_u8(s, 1);                   /* minimum_instruction_length */
	sw_wr_u8(s, 1);                   /* maximum_operations_per_instruction */
	sw_wr_u8(s, 1);                   /* default_is_stmt */
	sw_wr_u8(s, (uint8_t)LINE_BASE);
	sw_wr_u8(s, LINE_RANGE);
	sw_wr_u8(s, OPCODE_BASE);
	sw_wr_bytes(s, std_lengths, sizeof(std_lengths));
	sw_wr_u8(s, 0);                   /* no include_directories */
	for (uint32_t k = 0; k < f->n; k++) {
		sw_wr_cstr(s, f->name[k]);
		sw_wr_uleb(s, 0);       /* directory: the unit's */
		sw_wr_uleb(s, 0);       /* mtime unknown */
		sw_wr_uleb(s, 0);       /* size unknown */
	}
	sw_wr_u8(s, 0);                   /* end of file_names */
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
	struct sw_writer m;
	size_t info_size = 0, abbrev_size = 0, line_size = 0;
	if (lines) {
		sw_wr_init(&m, NULL, 0, 0);
		debug_info(&m, v, &files);
		info_size = m.pos;
		sw_wr_init(&m, NULL, 0, 0);
		debug_abbrev(&m);
		abbrev_size = m.pos;
		sw_wr_init(&m, NULL, 0, 0);
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
	eh->e_ident[EI_CLASS] = SW_ARCH_ELF_CLASS;
	eh->e_ident[EI_DATA] = SW_ARCH_ELF_DATA;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh->e_type = ET_REL;
	eh->e_machine = SW_ARCH_ELF_MACHINE;
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
		struct sw_writer w;
		sw_wr_init(&w, img + off_info, info_size, (uint64_t)(uintptr_t)(img + off_info));
		debug_info(&w, v, &files);
		sw_wr_init(&w, img + off_abbrev, abbrev_size,
			   (uint64_t)(uintptr_t)(img + off_abbrev));
		debug_abbrev(&w);
		sw_wr_init(&w, img + off_line, line_size, (uint64_t)(uintptr_t)(img + off_line));
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

