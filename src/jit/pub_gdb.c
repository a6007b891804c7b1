/*
 * SW_JIT_PUB_GDB: the GDB JIT interface (gdb manual, "JIT Interface").
 *
 * GDB puts a breakpoint on __jit_debug_register_code; when it fires, GDB
 * reads __jit_debug_descriptor, takes `relevant_entry` and, for
 * JIT_REGISTER_FN, reads the in-memory object file the entry points to
 * and adds it as an objfile (symbols, unwind information), or for
 * JIT_UNREGISTER_FN removes the objfile it made for that entry.  When GDB
 * attaches to a running process it walks the whole list from
 * `first_entry` instead.
 *
 * Per chunk we build one ELF64 relocatable object (the layout LuaJIT's
 * GDB JIT support uses):
 *
 *   [0] null
 *   [1] .text       SHT_NOBITS, ALLOC|EXECINSTR, sh_addr = chunk lo,
 *                   sh_size = hi - lo: the code stays where it is, GDB
 *                   reads it from the process
 *   [2] .eh_frame   SHT_PROGBITS, ALLOC, the chunk's bytes copied as they
 *                   are, sh_addr = the address they were encoded for
 *                   (chunk eh_vaddr): GDB decodes DW_EH_PE_pcrel pointers
 *                   relative to the section's address
 *   [3] .symtab     null symbol + one STT_FUNC, STB_GLOBAL symbol per named
 *                   procedure, in .text, st_value relative to the section
 *                   (ET_REL), st_size = the procedure's size
 *   [4] .strtab
 *   [5] .shstrtab
 *
 * and, when some procedure of the chunk has line information (struct
 * sw_jit_chunk_proc file/lines/nlines), three DWARF 4 sections (not
 * ALLOC, sh_addr 0, no relocations: every address in them is absolute):
 *
 *   [6] .debug_info    one DW_TAG_compile_unit: DW_AT_name (the first
 *                      procedure's file), DW_AT_producer "stackwalk JIT",
 *                      DW_AT_language C99, DW_AT_stmt_list 0,
 *                      DW_AT_low_pc / DW_AT_high_pc over the chunk [lo, hi);
 *                      children: one DW_TAG_subprogram (name, external,
 *                      low_pc, high_pc) per named procedure, so GDB has a
 *                      function symbol in the unit that owns the lines
 *   [7] .debug_abbrev  the two abbreviations above
 *   [8] .debug_line    one line program: a file table of the chunk's file
 *                      names, then one sequence per procedure with lines:
 *                      DW_LNE_set_address at its start, a row per
 *                      (offset, line) entry (an entry followed by another
 *                      at the same offset is superseded and skipped),
 *                      DW_LNE_end_sequence at its end
 *
 * Without line information the object is the six sections above only.
 *
 * GDB treats the section addresses of a JIT object as absolute (jit.c
 * gives symbol_file_add_from_bfd each ALLOC section's own address), so no
 * relocation happens.
 *
 * Cost: our side is O(size of the chunk) to build the object and O(1) to
 * link or unlink it (the list is doubly linked; new entries go to the
 * head).  GDB's side, when it is attached, is a stop at the breakpoint
 * per event, then for a registration reading the object and creating one
 * objfile (after which GDB re-sets its breakpoints over all objfiles), and
 * for an unregistration a search of its objfiles for the entry: O(number
 * of JIT objects) per event.  We therefore make one object per chunk, not
 * per procedure: an sw_jit_add_procs call or a growable table's publish
 * batch is one object and one GDB stop, however many procedures it holds,
 * so a JIT that batches keeps GDB's total cost far from quadratic in the
 * number of procedures.  Without GDB attached an event costs one call to
 * an empty function.
 *
 * Runs under the registry's writer mutex (which also serialises every
 * change to the descriptor, as the interface requires), never in a signal
 * handler.
 */
#include <elf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "jit/error.h"
#include "jit/publish.h"

/* ---------------------------------------------------------------- interface */

/* The declarations of the gdb manual ("Declarations"); the names and the
 * layout are the interface. */
enum { JIT_NOACTION = 0, JIT_REGISTER_FN = 1, JIT_UNREGISTER_FN = 2 };

struct jit_code_entry {
	struct jit_code_entry *next_entry;
	struct jit_code_entry *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};

struct jit_descriptor {
	uint32_t version;
	uint32_t action_flag;   /* JIT_* */
	struct jit_code_entry *relevant_entry;
	struct jit_code_entry *first_entry;
};

/* Both symbols must be visible to GDB under these exact names, with
 * default visibility even in the shared library.  The version is static
 * because GDB may read it before any registration. */
void __jit_debug_register_code(void);
extern struct jit_descriptor __jit_debug_descriptor;

/* Weak: a program (or a library such as LLVM's ORC) that defines its own
 * GDB JIT interface wins, and our objects join its descriptor's list
 * instead of clashing at link time. */
__attribute__((visibility("default"), weak)) struct jit_descriptor __jit_debug_descriptor = {
	1, JIT_NOACTION, NULL, NULL
};

/* GDB's breakpoint site: must exist as a real call, so it is not inlined,
 * and the empty asm with a memory clobber keeps the compiler from
 * dropping the call or moving descriptor stores across it. */
__attribute__((visibility("default"), noinline, used, weak)) void __jit_debug_register_code(void)
{
	__asm__ __volatile__("" ::: "memory");
}

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

static bool proc_has_lines(const struct sw_jit_chunk_proc *p)
{
	return p->file && p->lines && p->nlines;
}

/* The file table: distinct names (pointers into the chunk) and each
 * procedure's 1-based index in it (0: no lines). */
struct files {
	const char **name;
	uint32_t n;
	uint32_t *of_proc;
};

/* How far back a new file name is compared with the names already in the
 * table: a JIT with one file per procedure stays linear, a duplicate
 * entry further back is harmless (two entries naming the same file). */
#define FILE_SEARCH 16

static int files_make(const struct sw_jit_chunk *c, struct files *f)
{
	f->n = 0;
	f->name = malloc(c->nprocs * sizeof(*f->name));
	f->of_proc = calloc(c->nprocs, sizeof(*f->of_proc));
	if (!f->name || !f->of_proc) {
		free(f->name);
		free(f->of_proc);
		return SW_ENOMEM;
	}
	for (size_t i = 0; i < c->nprocs; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
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

static void debug_info(struct sink *s, const struct sw_jit_chunk *c, const struct files *f)
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
	put8(s, c->lo);
	put8(s, c->hi - c->lo);
	for (size_t i = 0; i < c->nprocs; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
		if (!p->name || !p->name[0])
			continue;
		put_uleb(s, AB_SUB);
		put_str(s, p->name);
		put8(s, p->start);
		put8(s, p->end - p->start);
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

static void debug_line(struct sink *s, const struct sw_jit_chunk *c, const struct files *f)
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

	for (size_t i = 0; i < c->nprocs; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
		if (!f->of_proc[i])
			continue;
		put1(s, 0);           /* extended opcode: length, opcode, operand */
		put_uleb(s, 9);
		put1(s, DW_LNE_set_address);
		put8(s, p->start);
		if (f->of_proc[i] != 1) {
			put1(s, DW_LNS_set_file);
			put_uleb(s, f->of_proc[i]);
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
	patch_length(s, unit);
}

/* ---------------------------------------------------------------- object */

/* One registration: the list entry and the object right after it. */
struct gdb_obj {
	struct jit_code_entry entry;
	/* ELF image follows, 8-aligned */
};

/* Build the ELF image for `c` into a new gdb_obj (NULL: out of memory). */
static struct gdb_obj *build(const struct sw_jit_chunk *c)
{
	size_t nsym = 1, strsz = 1;
	bool lines = false;
	for (size_t i = 0; i < c->nprocs; i++) {
		if (c->procs[i].name && c->procs[i].name[0]) {
			nsym++;
			strsz += strlen(c->procs[i].name) + 1;
		}
		lines |= proc_has_lines(&c->procs[i]);
	}
	struct files files = { 0 };
	if (lines && files_make(c, &files) < 0)
		return NULL;

	/* debug section sizes: a measuring pass */
	struct sink m = { NULL, 0 };
	size_t info_size = 0, abbrev_size = 0, line_size = 0;
	if (lines) {
		debug_info(&m, c, &files);
		info_size = m.pos;
		m.pos = 0;
		debug_abbrev(&m);
		abbrev_size = m.pos;
		m.pos = 0;
		debug_line(&m, c, &files);
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
	size_t off_sym = al8(off_eh + c->eh_size);
	size_t off_str = off_sym + nsym * sizeof(Elf64_Sym);
	size_t off_shs = off_str + strsz;
	size_t off_info = off_shs + shs_size;
	size_t off_abbrev = off_info + info_size;
	size_t off_line = off_abbrev + abbrev_size;
	size_t off_sh = al8(off_line + line_size);
	size_t size = off_sh + nsect * sizeof(Elf64_Shdr);

	struct gdb_obj *o = calloc(1, sizeof(*o) + size);
	if (!o) {
		files_free(&files);
		return NULL;
	}
	uint8_t *img = (uint8_t *)(o + 1);

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

	memcpy(img + off_eh, c->eh_frame, c->eh_size);

	Elf64_Sym *sym = (Elf64_Sym *)(void *)(img + off_sym);
	char *str = (char *)img + off_str;
	size_t si = 1, so = 1;
	for (size_t i = 0; i < c->nprocs; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
		if (!p->name || !p->name[0])
			continue;
		size_t len = strlen(p->name) + 1;
		memcpy(str + so, p->name, len);
		sym[si].st_name = (uint32_t)so;
		sym[si].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		sym[si].st_shndx = 1;
		sym[si].st_value = p->start - c->lo;   /* ET_REL: section-relative */
		sym[si].st_size = p->end - p->start;
		si++;
		so += len;
	}
	memcpy(img + off_shs, shstrtab, shs_size);

	Elf64_Shdr *sh = (Elf64_Shdr *)(void *)(img + off_sh);
	sh[1] = (Elf64_Shdr){ .sh_name = SH_TEXT, .sh_type = SHT_NOBITS,
			      .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = c->lo,
			      .sh_offset = off_eh, .sh_size = c->hi - c->lo, .sh_addralign = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = SH_EH, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
			      .sh_addr = c->eh_vaddr, .sh_offset = off_eh, .sh_size = c->eh_size,
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
		debug_info(&w, c, &files);
		w = (struct sink){ img + off_abbrev, 0 };
		debug_abbrev(&w);
		w = (struct sink){ img + off_line, 0 };
		debug_line(&w, c, &files);
		files_free(&files);
		sh[6] = (Elf64_Shdr){ .sh_name = SH_DINFO, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_info, .sh_size = info_size, .sh_addralign = 1 };
		sh[7] = (Elf64_Shdr){ .sh_name = SH_DABBREV, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_abbrev, .sh_size = abbrev_size,
				      .sh_addralign = 1 };
		sh[8] = (Elf64_Shdr){ .sh_name = SH_DLINE, .sh_type = SHT_PROGBITS,
				      .sh_offset = off_line, .sh_size = line_size, .sh_addralign = 1 };
	}

	o->entry.symfile_addr = (const char *)img;
	o->entry.symfile_size = size;
	return o;
}

/* ---------------------------------------------------------------- ops */

static int gdb_publish(const struct sw_jit_chunk *c, void **cookie)
{
	if (!c || !cookie || !c->eh_frame || c->hi <= c->lo)
		return sw_jit_fail(SW_EINVAL, "GDB publisher: an empty or NULL chunk");
	struct gdb_obj *o = build(c);
	if (!o)
		return SW_ENOMEM;

	struct jit_descriptor *d = &__jit_debug_descriptor;
	o->entry.prev_entry = NULL;
	o->entry.next_entry = d->first_entry;
	if (d->first_entry)
		d->first_entry->prev_entry = &o->entry;
	d->first_entry = &o->entry;
	d->relevant_entry = &o->entry;
	d->action_flag = JIT_REGISTER_FN;
	__jit_debug_register_code();
	d->action_flag = JIT_NOACTION;
	d->relevant_entry = NULL;

	*cookie = o;
	return 0;
}

static void gdb_unpublish(void *cookie)
{
	struct gdb_obj *o = cookie;
	if (!o)
		return;
	struct jit_descriptor *d = &__jit_debug_descriptor;
	struct jit_code_entry *e = &o->entry;
	if (e->prev_entry)
		e->prev_entry->next_entry = e->next_entry;
	else
		d->first_entry = e->next_entry;
	if (e->next_entry)
		e->next_entry->prev_entry = e->prev_entry;
	d->relevant_entry = e;
	d->action_flag = JIT_UNREGISTER_FN;
	__jit_debug_register_code();
	d->action_flag = JIT_NOACTION;
	d->relevant_entry = NULL;
	free(o);
}

const struct sw_jit_pub_ops sw_jit_pub_gdb = {
	.name = "gdb",
	.bit = SW_JIT_PUB_GDB,
	.publish = gdb_publish,
	.unpublish = gdb_unpublish,
};
