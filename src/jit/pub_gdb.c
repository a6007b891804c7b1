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
 * Groups.  Chunks (an eager registration, or a table's publish batch)
 * are gathered into groups of up to GROUP_MAX, and each group is one
 * ELF object.  Groups are sorted by address with disjoint hulls
 * [lowest start, highest end); within a group, no chunk starts GROUP_GAP
 * (4 KiB) or more past the end of the ones before it, so every page the
 * group's .text hull covers holds some member's code: the hull never
 * covers another module (GDB drops one of two objfile sections that
 * overlap).  A new chunk joins every group its hull overlaps (merged),
 * else the group below or above it within GROUP_GAP that has room, else
 * a group of its own; a removal that opens a gap of GROUP_GAP splits its
 * group, a merge past GROUP_MAX splits where no member straddles the cut.
 * Each change rebuilds the affected groups' objects only, registers the
 * new objects, then unregisters the old ones, one __jit_debug_register_code
 * per action, so GDB never lacks a name that stays.  If the rebuild after
 * a removal finds no memory, the group's object leaves GDB's list (its
 * members' names go until the group's next change) rather than keep the
 * removed procedure's name.
 *
 * A group's .eh_frame is its members' CIE/FDE pairs one after the other:
 * each chunk's bytes are re-encoded once, at publish, with absolute
 * pointers (eh_abs.h), so they are valid wherever they sit; after the
 * first build a member's bytes live only in its group's current object
 * (mem.eh), and each rebuild copies them from there.  A chunk whose CFI
 * cannot be re-encoded (DW_CFA_set_loc, 64-bit DWARF) gets a "solo"
 * object of its own, its bytes as they are, outside the groups.
 *
 * Per object we build one ELF64 relocatable object (the layout LuaJIT's
 * GDB JIT support uses):
 *
 *   [0] null
 *   [1] .text       SHT_NOBITS, ALLOC|EXECINSTR, sh_addr = hull lo,
 *                   sh_size = hi - lo: the code stays where it is, GDB
 *                   reads it from the process
 *   [2] .eh_frame   SHT_PROGBITS, ALLOC: a group's absolute bytes plus a
 *                   terminator, sh_addr = their address in the image; a
 *                   solo chunk's bytes copied as they are, sh_addr = the
 *                   address they were encoded for (chunk eh_vaddr): GDB
 *                   decodes DW_EH_PE_pcrel pointers relative to the
 *                   section's address
 *   [3] .symtab     null symbol + one STT_FUNC, STB_GLOBAL symbol per named
 *                   procedure of every member, in .text, st_value relative
 *                   to the section (ET_REL), st_size = the procedure's size
 *   [4] .strtab
 *   [5] .shstrtab
 *
 * and, when some procedure of the object has line information (struct
 * sw_jit_chunk_proc file/lines/nlines), three DWARF 4 sections (not
 * ALLOC, sh_addr 0, no relocations: every address in them is absolute):
 *
 *   [6] .debug_info    one DW_TAG_compile_unit: DW_AT_name (the first
 *                      procedure's file), DW_AT_producer "stackwalk JIT",
 *                      DW_AT_language C99, DW_AT_stmt_list 0,
 *                      DW_AT_low_pc / DW_AT_high_pc over the hull [lo, hi);
 *                      children: one DW_TAG_subprogram (name, external,
 *                      low_pc, high_pc) per named procedure, so GDB has a
 *                      function symbol in the unit that owns the lines
 *   [7] .debug_abbrev  the two abbreviations above
 *   [8] .debug_line    one line program: a file table of the object's file
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
 * Cost: our side is O(size of the group) to build its object (a group of
 * GROUP_MAX one-procedure chunks is ~4 KB) and O(1) to link or unlink it
 * (the list is doubly linked; new entries go to the head); memory is one
 * object per group plus a small record per chunk, ~0.2 KB per procedure
 * at 10^5 one-procedure registrations (bench: jit.memory.1e5.default)
 * against ~0.7 KB with one object per registration.  GDB's side, when it
 * is attached, is a stop at the breakpoint per event, then for a
 * registration reading the object and creating one objfile (after which
 * GDB re-sets its breakpoints over all objfiles), and for an
 * unregistration a search of its objfiles for the entry: O(number of JIT
 * objects) per event.  A change is two events (the new object, the old
 * one), but GDB holds GROUP_MAX times fewer objects, so its total cost
 * stays far from quadratic in the number of registrations (10^4
 * one-procedure registrations: 16 s of gdb instead of 313 s).  Without
 * GDB attached an event costs one call to an empty function.
 *
 * Runs under the registry's writer mutex (which also serialises every
 * change to the descriptor, as the interface requires), never in a signal
 * handler.
 */
#include <elf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "jit/eh_abs.h"
#include "jit/error.h"
#include "jit/publish.h"

/* Chunks per object, and the widest gap between two chunks of one
 * object (see the file comment). */
#define GROUP_MAX 32
#define GROUP_GAP 4096

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

/* What one object describes: the chunks of a group (or one solo chunk),
 * sorted by lo, and the hull they cover. */
struct mem;

struct view {
	struct mem *const *m;
	size_t n;
	uint64_t lo, hi;
	size_t nprocs;          /* over all chunks */
};

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

/* ---------------------------------------------------------------- object */

/* One object in GDB's list: the entry and the ELF image right after it. */
struct gdb_obj {
	struct jit_code_entry entry;
	size_t off_eh;          /* the image's .eh_frame */
	size_t cap;             /* bytes allocated for the image */
	/* ELF image follows, 8-aligned */
};

/* One publication (the cookie): a chunk and where its CFI is. */
struct mem {
	const struct sw_jit_chunk *c;
	struct group *g;        /* its group; NULL: solo */
	struct gdb_obj *solo;   /* solo: its own object */
	const uint8_t *eh;      /* grouped: its CIE + FDE pairs, every pointer
				 * absolute, no terminator: in `eh_tmp` until
				 * the first object holding it is built, then
				 * in its group's current object */
	uint8_t *eh_tmp;
	uint32_t eh_len;
	uint32_t nsym, strsz;   /* its named procedures, their names' bytes */
	bool lines;             /* some procedure has line information */
};

/* Images are allocated in steps of OBJ_ROUND bytes with one step of
 * headroom, and the last one freed is kept (`spare`, under glock) for the
 * next build that fits it without wasting more than that: a group growing
 * one chunk at a time mostly alternates between two buffers instead of
 * calling malloc and free per registration. */
#define OBJ_ROUND 512

static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;
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

static void obj_free(struct gdb_obj *o)
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

/*
 * Build the ELF image of v (NULL: out of memory).  Grouped (solo false):
 * .eh_frame is the members' absolute bytes one after the other plus a
 * terminator, at the image's own address.  Solo (one chunk): the chunk's
 * bytes as they are, at the address they were encoded for.
 */
static struct gdb_obj *build(const struct view *v, bool solo)
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

/* ---------------------------------------------------------------- GDB's list */

/* Link o at the head of the list and tell GDB. */
static void obj_register(struct gdb_obj *o)
{
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
}

/* Unlink o and tell GDB (o stays allocated). */
static void obj_unregister(struct gdb_obj *o)
{
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
	e->next_entry = e->prev_entry = NULL;
}

/* ---------------------------------------------------------------- groups */

/* A group: one object for up to GROUP_MAX chunks with address-disjoint
 * hulls from every other group's, no two consecutive members further
 * apart than GROUP_GAP. */
struct group {
	uint64_t lo, hi;
	struct mem **m;         /* sorted by lo */
	size_t n, cap;
	struct gdb_obj *obj;    /* holds the members' CFI bytes */
	bool listed;            /* obj is in GDB's list */
};

static struct group **gv;       /* sorted by lo (and so by hi) */
static size_t gn, gcap;

/* Index of the first group that ends above `lo`. */
static size_t group_first_after(uint64_t lo)
{
	size_t a = 0, b = gn;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (gv[mid]->hi <= lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

static void group_free(struct group *g)
{
	obj_free(g->obj);
	free(g->m);
	free(g);
}

/* The pieces list[0..n) falls into: a new piece where the gap to
 * everything before is GROUP_GAP or more, or where the piece is full and
 * no member before reaches past the next start.  Writes the start index
 * of each piece to starts (room for n) and returns their count. */
static size_t partition(struct mem *const *list, size_t n, size_t *starts)
{
	size_t np = 0, s = 0;
	uint64_t reach = 0;
	for (size_t k = 0; k < n; k++) {
		uint64_t lo = list[k]->c->lo;
		if (k == 0 || (lo >= reach && (lo - reach >= GROUP_GAP || k - s >= GROUP_MAX))) {
			starts[np++] = s = k;
			reach = 0;
		}
		if (list[k]->c->hi > reach)
			reach = list[k]->c->hi;
	}
	return np;
}

/* Build g's object from its members (NULL: out of memory). */
static struct gdb_obj *group_build(const struct group *g)
{
	struct view v = { g->m, g->n, g->lo, g->hi, 0 };
	for (size_t k = 0; k < g->n; k++)
		v.nprocs += g->m[k]->c->nprocs;
	return build(&v, false);
}

static void group_hull(struct group *g)
{
	g->lo = g->n ? g->m[0]->c->lo : 0;
	g->hi = 0;
	for (size_t k = 0; k < g->n; k++)
		if (g->m[k]->c->hi > g->hi)
			g->hi = g->m[k]->c->hi;
}

/* g's object `o` is registered: its members' bytes are now there. */
static void group_adopt(struct group *g)
{
	const uint8_t *at = (const uint8_t *)(g->obj + 1) + g->obj->off_eh;
	for (size_t k = 0; k < g->n; k++) {
		struct mem *m = g->m[k];
		m->g = g;
		m->eh = at;
		at += m->eh_len;
		free(m->eh_tmp);
		m->eh_tmp = NULL;
	}
}

/* Put g's new object `o` in place of its current one: o registered
 * first, then the old one withdrawn and freed. */
static void group_swap(struct group *g, struct gdb_obj *o)
{
	struct gdb_obj *old = g->obj;
	obj_register(o);
	if (g->listed)
		obj_unregister(old);
	g->obj = o;
	g->listed = true;
	group_adopt(g);
	obj_free(old);
}

/*
 * Replace groups gv[i, j) by the groups list[0..n) (sorted by lo, the
 * members of those groups plus or minus one) falls into: build every new
 * object, register them, then withdraw the old ones, so GDB never lacks
 * a name that stays.  Returns 0, or SW_ENOMEM with nothing changed.
 */
static int regroup(size_t i, size_t j, struct mem *const *list, size_t n)
{
	size_t *starts = n ? malloc(n * sizeof(*starts)) : NULL;
	size_t np = n ? partition(list, n, starts) : 0;
	struct group **pv = np ? calloc(np, sizeof(*pv)) : NULL;
	int rc = SW_ENOMEM;

	if ((n && !starts) || (np && !pv))
		goto fail;
	if (gn - (j - i) + np > gcap) {
		size_t ncap = gcap ? 2 * gcap : 16;
		while (ncap < gn - (j - i) + np)
			ncap *= 2;
		struct group **ngv = realloc(gv, ncap * sizeof(*ngv));
		if (!ngv)
			goto fail;
		gv = ngv;
		gcap = ncap;
	}
	for (size_t p = 0; p < np; p++) {
		size_t a = starts[p], b = p + 1 < np ? starts[p + 1] : n;
		struct group *g = pv[p] = calloc(1, sizeof(*g));
		if (!g || !(g->m = malloc((b - a) * sizeof(*g->m))))
			goto fail;
		memcpy(g->m, list + a, (b - a) * sizeof(*g->m));
		g->n = g->cap = b - a;
		group_hull(g);
		if (!(g->obj = group_build(g)))
			goto fail;
	}
	/* committed: the new objects first, then the old ones go */
	for (size_t p = 0; p < np; p++) {
		obj_register(pv[p]->obj);
		pv[p]->listed = true;
	}
	for (size_t k = i; k < j; k++)
		if (gv[k]->listed)
			obj_unregister(gv[k]->obj);
	for (size_t p = 0; p < np; p++)
		group_adopt(pv[p]);
	for (size_t k = i; k < j; k++)
		group_free(gv[k]);
	memmove(gv + i + np, gv + j, (gn - j) * sizeof(*gv));
	if (np)
		memcpy(gv + i, pv, np * sizeof(*gv));
	gn = gn - (j - i) + np;
	rc = 0;
	np = 0;   /* the new groups are in gv now */
fail:
	for (size_t p = 0; p < np && pv; p++)
		if (pv[p])
			group_free(pv[p]);
	free(pv);
	free(starts);
	return rc;
}

/* Add m to the groups: it joins the groups its hull overlaps, else a
 * neighbour within GROUP_GAP with room, else a group of its own. */
static int group_add(struct mem *m)
{
	uint64_t lo = m->c->lo, hi = m->c->hi;
	size_t i = group_first_after(lo), j = i;

	while (j < gn && gv[j]->lo < hi)
		j++;
	if (j == i) {   /* overlaps none: a neighbour? */
		if (i > 0 && lo - gv[i - 1]->hi < GROUP_GAP && gv[i - 1]->n < GROUP_MAX)
			j = i--;
		else if (i < gn && gv[i]->lo - hi < GROUP_GAP && gv[i]->n < GROUP_MAX)
			j = i + 1;
	}
	if (j == i + 1 && gv[i]->n < GROUP_MAX) {
		/* the common case: one group takes m, no split */
		struct group *g = gv[i];
		if (g->n == g->cap) {
			size_t cap = g->cap < 4 ? 4 : 2 * g->cap;
			struct mem **nm = realloc(g->m, cap * sizeof(*nm));
			if (!nm)
				return SW_ENOMEM;
			g->m = nm;
			g->cap = cap;
		}
		size_t pos = g->n;
		while (pos > 0 && g->m[pos - 1]->c->lo > lo) {
			g->m[pos] = g->m[pos - 1];
			pos--;
		}
		g->m[pos] = m;
		g->n++;
		uint64_t glo = g->lo, ghi = g->hi;
		group_hull(g);
		struct gdb_obj *o = group_build(g);
		if (!o) {
			memmove(g->m + pos, g->m + pos + 1, (g->n - pos - 1) * sizeof(*g->m));
			g->n--;
			g->lo = glo;
			g->hi = ghi;
			return SW_ENOMEM;
		}
		group_swap(g, o);
		return 0;
	}
	size_t n = 1;
	for (size_t k = i; k < j; k++)
		n += gv[k]->n;
	struct mem **list = malloc(n * sizeof(*list)), **at = list;
	if (!list)
		return SW_ENOMEM;
	for (size_t k = i; k < j; k++) {   /* already sorted, groups disjoint */
		memcpy(at, gv[k]->m, gv[k]->n * sizeof(*at));
		at += gv[k]->n;
	}
	size_t pos = n - 1;
	while (pos > 0 && list[pos - 1]->c->lo > lo) {
		list[pos] = list[pos - 1];
		pos--;
	}
	list[pos] = m;
	int rc = regroup(i, j, list, n);
	free(list);
	return rc;
}

/* Take m out of its group; the rest is re-registered (and split where
 * m leaves a gap).  Without memory for that, the group's object leaves
 * GDB's list (kept for the members' bytes) until the next change. */
static void group_remove(struct mem *m)
{
	struct group *g = m->g;
	size_t i = 0, k = 0;

	while (gv[i] != g)
		i++;
	while (g->m[k] != m)
		k++;
	memmove(g->m + k, g->m + k + 1, (g->n - k - 1) * sizeof(*g->m));
	g->n--;
	/* no gap opens where m was: rebuild g in place */
	bool gap = false;
	if (k > 0 && k < g->n) {
		uint64_t reach = 0;
		for (size_t q = 0; q < k; q++)
			if (g->m[q]->c->hi > reach)
				reach = g->m[q]->c->hi;
		gap = g->m[k]->c->lo >= reach && g->m[k]->c->lo - reach >= GROUP_GAP;
	}
	if (g->n && !gap) {
		group_hull(g);
		struct gdb_obj *o = group_build(g);
		if (o) {
			group_swap(g, o);
			return;
		}
	} else if (regroup(i, i + 1, g->m, g->n) == 0) {
		return;
	}
	if (g->listed)
		obj_unregister(g->obj);
	g->listed = false;
	group_hull(g);   /* n >= 1: regroup of nothing cannot fail */
}

/* ---------------------------------------------------------------- ops */

static int gdb_publish(const struct sw_jit_chunk *c, void **cookie)
{
	if (!c || !cookie || !c->eh_frame || c->eh_size < 4 || c->hi <= c->lo || !c->nprocs)
		return sw_jit_fail(SW_EINVAL, "GDB publisher: an empty or NULL chunk");
	struct mem *m = calloc(1, sizeof(*m));
	if (!m)
		return SW_ENOMEM;
	m->c = c;
	for (size_t i = 0; i < c->nprocs; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
		if (p->name && p->name[0]) {
			m->nsym++;
			m->strsz += (uint32_t)strlen(p->name) + 1;
		}
		m->lines |= proc_has_lines(p);
	}

	/* the bytes, every pointer absolute, so they can sit anywhere in a
	 * group's .eh_frame; those that cannot be re-encoded (DW_CFA_set_loc,
	 * 64-bit DWARF) get an object of their own, as they are */
	struct sw_cfi_section sec;
	size_t size;
	sw_cfi_section_init(&sec, c->eh_frame, c->eh_size, c->eh_vaddr, true, ".eh_frame");
	int rc = sw_eh_abs_section(&sec, 0, &m->eh_tmp, &size);
	if (rc == SW_ENOMEM) {
		free(m);
		return rc;
	}
	if (rc < 0 || size - 4 > UINT32_MAX) {
		struct mem *one[1] = { m };
		struct view v = { one, 1, c->lo, c->hi, c->nprocs };
		free(m->eh_tmp);
		m->eh_tmp = NULL;
		pthread_mutex_lock(&glock);
		if ((m->solo = build(&v, true)))
			obj_register(m->solo);
		pthread_mutex_unlock(&glock);
		if (!m->solo) {
			free(m);
			return SW_ENOMEM;
		}
		*cookie = m;
		return 0;
	}
	m->eh = m->eh_tmp;
	m->eh_len = (uint32_t)(size - 4);   /* without the terminator */
	pthread_mutex_lock(&glock);
	rc = group_add(m);
	pthread_mutex_unlock(&glock);
	if (rc < 0) {
		free(m->eh_tmp);
		free(m);
		return rc;
	}
	*cookie = m;
	return 0;
}

static void gdb_unpublish(void *cookie)
{
	struct mem *m = cookie;
	if (!m)
		return;
	pthread_mutex_lock(&glock);
	if (m->solo) {
		obj_unregister(m->solo);
		obj_free(m->solo);
	} else {
		group_remove(m);
	}
	pthread_mutex_unlock(&glock);
	free(m);
}

const struct sw_jit_pub_ops sw_jit_pub_gdb = {
	.name = "gdb",
	.bit = SW_JIT_PUB_GDB,
	.publish = gdb_publish,
	.unpublish = gdb_unpublish,
};
