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
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

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

__attribute__((visibility("default"))) struct jit_descriptor __jit_debug_descriptor = {
	1, JIT_NOACTION, NULL, NULL
};

/* GDB's breakpoint site: must exist as a real call, so it is not inlined,
 * and the empty asm with a memory clobber keeps the compiler from
 * dropping the call or moving descriptor stores across it. */
__attribute__((visibility("default"), noinline, used)) void __jit_debug_register_code(void)
{
	__asm__ __volatile__("" ::: "memory");
}

/* ---------------------------------------------------------------- object */

/* The section name table: offsets are the SH_* constants below. */
static const char shstrtab[] = "\0.text\0.eh_frame\0.symtab\0.strtab\0.shstrtab";
enum {
	SH_TEXT = 1, SH_EH = 7, SH_SYMTAB = 17, SH_STRTAB = 25, SH_SHSTRTAB = 33,
	NSECT = 6,
};
_Static_assert(sizeof(shstrtab) == 43, "section name table layout");

static size_t al8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

/* One registration: the list entry and the object right after it. */
struct gdb_obj {
	struct jit_code_entry entry;
	/* ELF image follows, 8-aligned */
};

/* Build the ELF image for `c` into a new gdb_obj. */
static struct gdb_obj *build(const struct sw_jit_chunk *c)
{
	size_t nsym = 1, strsz = 1;
	for (size_t i = 0; i < c->nprocs; i++) {
		if (c->procs[i].name && c->procs[i].name[0]) {
			nsym++;
			strsz += strlen(c->procs[i].name) + 1;
		}
	}

	/* file layout: ehdr | eh_frame | symtab | strtab | shstrtab | shdrs */
	size_t off_eh = al8(sizeof(Elf64_Ehdr));
	size_t off_sym = al8(off_eh + c->eh_size);
	size_t off_str = off_sym + nsym * sizeof(Elf64_Sym);
	size_t off_shs = off_str + strsz;
	size_t off_sh = al8(off_shs + sizeof(shstrtab));
	size_t size = off_sh + NSECT * sizeof(Elf64_Shdr);

	struct gdb_obj *o = calloc(1, sizeof(*o) + size);
	if (!o)
		return NULL;
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
	eh->e_shnum = NSECT;
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
	memcpy(img + off_shs, shstrtab, sizeof(shstrtab));

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
			      .sh_size = sizeof(shstrtab), .sh_addralign = 1 };

	o->entry.symfile_addr = (const char *)img;
	o->entry.symfile_size = size;
	return o;
}

/* ---------------------------------------------------------------- ops */

static int gdb_publish(const struct sw_jit_chunk *c, void **cookie)
{
	if (!c || !cookie || !c->eh_frame || c->hi <= c->lo)
		return SW_EINVAL;
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
