/*
 * The target's JIT code: the GDB JIT interface and perf maps (remote.h).
 *
 * GDB JIT interface (gdb manual, "JIT Interface").  A process that
 * generates code publishes it as in-memory ELF objects in a doubly linked
 * list that starts at its `__jit_debug_descriptor`:
 *
 *   struct jit_descriptor {            struct jit_code_entry {
 *       uint32_t version;   (1)            uint64_t next_entry;
 *       uint32_t action_flag;              uint64_t prev_entry;
 *       uint64_t relevant_entry;           uint64_t symfile_addr;
 *       uint64_t first_entry;              uint64_t symfile_size;
 *   };  24 bytes                       };  32 bytes
 *
 * (the gdb manual declares the pointers as pointers; on x86-64 they are
 * these 8-byte fields).  stackwalk's own registry publishes there
 * (src/jit/publishers/gdb.c: ET_REL objects with a SHT_NOBITS .text at the
 * code's address, .eh_frame, .symtab), and so do LLVM's ORC and MCJIT
 * (the relocated object, section addresses patched to where they were
 * loaded) and V8 with --gdbjit.  Every object is copied out of the target
 * and becomes a module (sw_rs_add_image_module, SW_MOD_JIT) named
 * "[jit] " + its first named STT_FUNC symbol, or "[jit] 0xADDR" (the start
 * of its code) when it has none, over the range of its ALLOC + EXECINSTR
 * sections.  Its sections carry their addresses in the target (bias 0);
 * the symbols of an ET_REL object, relative to their sections, are made
 * addresses in our copy, as GDB does (rel_to_abs).
 *
 * Nothing read from the target is trusted.  A live target keeps running
 * while we read (sw_as_attach lets it go once its threads are copied), so
 * the list may change under us: an entry freed and reused, a next pointer
 * into garbage, an object half rewritten, an entry being unlinked that
 * reads as the end of the list.  So the list is read again after the walk
 * and after the copies, and the whole reading made again while it changed
 * (JIT_ATTEMPTS readings at most).  The walk stops at the first entry it
 * cannot read, at a cycle (every entry address is remembered), after
 * JIT_MAX_ENTRIES entries; an object larger than JIT_MAX_OBJECT, or past
 * JIT_MAX_TOTAL bytes in all, is left out; so is an object that is not an
 * ELF image of our machine with code, or whose code spans more than
 * JIT_MAX_CODE (it would hide the modules under it); each failure is a
 * warning (one per kind, with a count).  Two objects whose code ranges
 * overlap (stackwalk's publisher registers a group's new object before it
 * withdraws the old one; a freed object's stale copy) are not both added:
 * the one nearer the head of the list wins, as new entries go to the head.
 *
 * Perf maps (/tmp/perf-PID.map, perf's tools/perf/Documentation/
 * jit-interface.txt): one "START SIZE symbolname" line per piece of code,
 * START and SIZE in hex (an optional 0x), the name to the end of the line.
 * Only a regular file is read, and only the bytes it had when opened (a
 * JIT may be appending to it; a FIFO or a device planted there must not
 * hang us).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/target.h"
#include "remote/remote.h"

/* Bounds on what the target may make us do. */
#define JIT_MAX_ENTRIES 1000000u        /* entries walked */
#define JIT_MAX_OBJECT (64u << 20)      /* bytes of one object */
#define JIT_MAX_TOTAL (512u << 20)      /* bytes of all objects */
#define JIT_MAX_CODE (1ull << 30)       /* bytes of one object's code range */
#define JIT_NAME_MAX 200                /* bytes of a symbol name kept in a module name */
#define JIT_READ_PIECE 4096             /* see read_object */
#define JIT_ATTEMPTS 8                  /* readings of a list that keeps changing */

#define PERF_LINE_MAX 4096              /* longer lines are skipped */
#define PERF_MAX_ENTRIES (16u << 20)    /* lines read from one map */

/* The descriptor and an entry as they are in the target (see above). */
struct t_descriptor {
	uint32_t version;
	uint32_t action_flag;
	uint64_t relevant_entry;
	uint64_t first_entry;
};
struct t_entry {
	uint64_t next_entry;
	uint64_t prev_entry;
	uint64_t symfile_addr;
	uint64_t symfile_size;
};
_Static_assert(sizeof(struct t_descriptor) == 24, "jit_descriptor layout (x86-64)");
_Static_assert(sizeof(struct t_entry) == 32, "jit_code_entry layout (x86-64)");

/* ---------------------------------------------------------------- entry set */

/* The entry addresses seen so far: an open-addressing hash set, so a cycle
 * of any length ends the walk at its first repeated entry. */
struct seen {
	uint64_t *slot;         /* 0: empty (an entry at 0 ends the list) */
	size_t cap, n;          /* cap: a power of two */
};

static size_t seen_hash(uint64_t a, size_t cap)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdull;
	a ^= a >> 33;
	return (size_t)a & (cap - 1);
}

/* Insert `a`: 1 when it was new, 0 when seen already, SW_ENOMEM. */
static int seen_add(struct seen *s, uint64_t a)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		uint64_t *slot = calloc(cap, sizeof(*slot));
		if (!slot)
			return SW_ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t h = seen_hash(s->slot[i], cap);
			while (slot[h])
				h = (h + 1) & (cap - 1);
			slot[h] = s->slot[i];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t h = seen_hash(a, s->cap);
	while (s->slot[h]) {
		if (s->slot[h] == a)
			return 0;
		h = (h + 1) & (s->cap - 1);
	}
	s->slot[h] = a;
	s->n++;
	return 1;
}

/* ---------------------------------------------------------------- objects */

/* An object copied out of the target, before it is added. */
struct cand {
	uint64_t lo, hi;        /* its executable sections' range: the module's
				 * (given to sw_rs_add_image_module, which would
				 * also count sections at 0 or not ALLOC) */
	size_t idx;             /* its position in the list (0: the head) */
	void *image;            /* malloc'd; NULL once handed on or freed */
	size_t size;
	char name[sizeof("[jit] ") + JIT_NAME_MAX];
};

/* Failures counted per kind; one warning each at the end. */
enum {
	T_UNREADABLE,           /* object bytes not readable (0: never one of
				 * cand_inspect's, whose 0 means kept) */
	T_BAD_SIZE,             /* symfile_size out of bounds */
	T_NOT_ELF,              /* not an ELF image */
	T_NO_CODE,              /* no executable section */
	T_MACHINE,              /* for another machine */
	T_BIG_CODE,             /* code range over JIT_MAX_CODE */
	T_OVERLAP,              /* code overlaps a newer object's */
	T_OVER_TOTAL,           /* past JIT_MAX_TOTAL */
	T_REJECTED,             /* refused by sw_rs_add_image_module */
	T_KINDS
};
struct tally {
	size_t count[T_KINDS];
	uint64_t first[T_KINDS];   /* the entry (or code address) of the first */
};

static void tally(struct tally *t, int kind, uint64_t addr)
{
	if (t->count[kind]++ == 0)
		t->first[kind] = addr;
}

struct first_func {
	char *out;
	size_t size;
	bool found;
};

static int first_func_cb(void *arg, const struct sw_elf_sym *sym)
{
	struct first_func *f = arg;
	if (sym->type != STT_FUNC || !sym->name[0] || sym->shndx == SHN_UNDEF)
		return 0;
	/* the name is NUL-terminated inside the image (elf.c checks); its
	 * control characters would garble the warnings and tools' lines */
	snprintf(f->out, f->size, "[jit] %.*s", JIT_NAME_MAX, sym->name);
	for (char *p = f->out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	f->found = true;
	return 1;
}

/*
 * Apply the relocations of SHT_RELA section `rs` to the bytes of our copy
 * of the section they are for (rel_to_abs: symbols are addresses by now).
 * LLVM's objects need it: the object handed to the JIT interface is the
 * compiler's, its section addresses set to where the sections were loaded
 * but their bytes as compiled, so .eh_frame's pc-relative pointers are
 * still relocations (x86-64: R_X86_64_PC32 against .text).  The
 * architecture's relocation types of data are applied
 * (sw_arch_data_reloc); others, and any that would write outside the
 * section, are skipped.
 */
static void apply_rela(const struct sw_elf *elf, void *image, const struct sw_elf_section *rs)
{
	struct sw_elf_section to, tab;
	if (rs->entsize != sizeof(Elf64_Rela) || !rs->data ||
	    sw_elf_section(elf, rs->info, &to) != 0 || !(to.flags & SHF_ALLOC) || !to.data ||
	    sw_elf_section(elf, rs->link, &tab) != 0 || tab.type != SHT_SYMTAB || !tab.data)
		return;
	uint8_t *bytes = (uint8_t *)image + to.offset;
	const uint8_t *syms = (const uint8_t *)image + tab.offset;
	for (uint64_t off = 0; off + sizeof(Elf64_Rela) <= rs->size; off += sizeof(Elf64_Rela)) {
		Elf64_Rela r;
		memcpy(&r, (const uint8_t *)image + rs->offset + off, sizeof(r));
		uint64_t si = ELF64_R_SYM(r.r_info), sv = 0;
		if (si) {
			Elf64_Sym sym;
			if (si >= tab.size / sizeof(Elf64_Sym))
				continue;
			memcpy(&sym, syms + si * sizeof(Elf64_Sym), sizeof(sym));
			if (sym.st_shndx == SHN_UNDEF)
				continue;   /* outside the object: leave it */
			sv = sym.st_value;
		}
		uint64_t v = sv + (uint64_t)r.r_addend;
		uint64_t p = to.addr + r.r_offset;
		unsigned width = sw_arch_data_reloc((uint32_t)ELF64_R_TYPE(r.r_info), p, &v);
		if (width == 0)
			continue;
		if (r.r_offset > to.size || width > to.size - r.r_offset)
			continue;
		if (width == 8) {
			memcpy(bytes + r.r_offset, &v, 8);
		} else {
			uint32_t v32 = (uint32_t)v;
			memcpy(bytes + r.r_offset, &v32, 4);
		}
	}
}

/*
 * An ET_REL object of the JIT interface (stackwalk's, LLVM's, V8's) has its
 * sections at their addresses in the target but its symbols relative to
 * their sections, as in any relocatable object; GDB adds the section's
 * address (a JIT object's sections are never relocated further).  Do the
 * same to our copy, once: every symbol of an allocated section gets its
 * address, the relocations of allocated sections are applied with those
 * (apply_rela), and the object becomes ET_EXEC, whose symbols are
 * addresses, so the module's lookups (bias 0) need no special case.
 */
static void rel_to_abs(const struct sw_elf *elf, void *image)
{
	for (size_t i = 1; i < elf->shnum; i++) {
		struct sw_elf_section tab;
		if (sw_elf_section(elf, (unsigned)i, &tab) != 0 || tab.type != SHT_SYMTAB ||
		    !tab.data || tab.entsize != sizeof(Elf64_Sym))
			continue;
		uint8_t *at = (uint8_t *)image + tab.offset;
		for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= tab.size; off += sizeof(Elf64_Sym)) {
			Elf64_Sym sym;
			memcpy(&sym, at + off, sizeof(sym));   /* sh_offset may be unaligned */
			struct sw_elf_section sec;
			if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE ||
			    sw_elf_section(elf, sym.st_shndx, &sec) != 0 || !(sec.flags & SHF_ALLOC))
				continue;
			sym.st_value += sec.addr;
			memcpy(at + off, &sym, sizeof(sym));
		}
	}
	for (size_t i = 1; i < elf->shnum; i++) {
		struct sw_elf_section rs;
		if (sw_elf_section(elf, (unsigned)i, &rs) == 0 && rs.type == SHT_RELA)
			apply_rela(elf, image, &rs);
	}
	uint16_t type = ET_EXEC;
	memcpy((uint8_t *)image + offsetof(Elf64_Ehdr, e_type), &type, sizeof(type));
}

/*
 * Look at the object c->image: the range of its executable sections
 * (every ALLOC + EXECINSTR section with an address and a size) and its
 * name; an ET_REL object's symbols become addresses (rel_to_abs).
 * Returns 0 or the T_* kind it is left out for.
 */
static int cand_inspect(struct cand *c)
{
	struct sw_elf elf;
	if (sw_elf_open_mem(&elf, c->image, c->size) != 0)
		return T_NOT_ELF;
	if (elf.ehdr->e_machine != SW_ARCH_ELF_MACHINE)
		return T_MACHINE;
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned symtab = 0;
	for (size_t i = 1; i < elf.shnum; i++) {
		struct sw_elf_section s;
		if (sw_elf_section(&elf, (unsigned)i, &s) != 0)
			continue;
		if (s.type == SHT_SYMTAB && !symtab)
			symtab = (unsigned)i;
		if ((s.flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR) ||
		    !s.addr || !s.size || s.size > UINT64_MAX - s.addr)
			continue;
		if (s.addr < lo)
			lo = s.addr;
		if (s.addr + s.size > hi)
			hi = s.addr + s.size;
	}
	if (lo >= hi)
		return T_NO_CODE;
	if (hi - lo > JIT_MAX_CODE)
		return T_BIG_CODE;   /* garbage that would hide every module */
	c->lo = lo;
	c->hi = hi;
	if (elf.ehdr->e_type == ET_REL)
		rel_to_abs(&elf, c->image);
	struct first_func f = { c->name, sizeof(c->name), false };
	if (symtab)
		sw_elf_foreach_sym(&elf, symtab, first_func_cb, &f);
	if (!f.found)
		snprintf(c->name, sizeof(c->name), "[jit] 0x%" PRIx64, lo);
	return 0;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Drop the candidates whose code overlaps a newer one's (lower idx): sort
 * by address and sweep, keeping a stack of disjoint survivors; each new
 * candidate can only overlap the survivors at the top.  Returns the number
 * kept, at the front of v.
 */
static size_t cand_disjoint(struct cand *v, size_t n, struct tally *t)
{
	if (n < 2)
		return n;   /* also: v may be NULL (qsort must not see it) */
	qsort(v, n, sizeof(*v), cand_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		while (k > 0 && v[k - 1].hi > v[i].lo) {
			if (v[k - 1].idx < v[i].idx) {
				drop = true;
				break;
			}
			free(v[k - 1].image);
			tally(t, T_OVERLAP, v[k - 1].lo);
			k--;
		}
		if (drop) {
			free(v[i].image);
			tally(t, T_OVERLAP, v[i].lo);
			continue;
		}
		if (k != i)
			v[k] = v[i];
		k++;
	}
	return k;
}

static void tally_warn(struct sw_addr_space *as, const struct tally *t)
{
	/* why, and whether the address is the code's (else the entry's) */
	static const struct { const char *why; bool code; } what[T_KINDS] = {
		[T_UNREADABLE] = { "its bytes cannot be read", false },
		[T_BAD_SIZE] = { "a size of at most an ELF header, or over 64 MiB", false },
		[T_NOT_ELF] = { "not an ELF image", false },
		[T_NO_CODE] = { "no executable section", false },
		[T_MACHINE] = { "an object for another machine", false },
		[T_BIG_CODE] = { "a code range over 1 GiB", false },
		[T_OVERLAP] = { "its code overlaps a newer object's", true },
		[T_OVER_TOTAL] = { "past 512 MiB of JIT objects in all", false },
		[T_REJECTED] = { "refused (see above)", true },
	};
	for (int k = 0; k < T_KINDS; k++)
		if (t->count[k])
			sw_rs_warn(as, "GDB JIT interface: %zu object%s left out: %s (the first %s 0x%"
				   PRIx64 ")", t->count[k], t->count[k] == 1 ? "" : "s", what[k].why,
				   what[k].code ? "at" : "entry:", t->first[k]);
}

/*
 * Copy [addr, addr + size) of the target: at once, else in pieces that end
 * at JIT_READ_PIECE boundaries (a core keeps memory in segments, and an
 * object may straddle two).  Returns 0 or SW_EMEMORY.
 */
static int read_object(const struct sw_addr_space *as, uint64_t addr, uint8_t *buf, size_t size)
{
	if (sw_as_read(as, addr, buf, size) == 0)
		return 0;
	if (size <= JIT_READ_PIECE)
		return SW_EMEMORY;
	for (size_t done = 0; done < size;) {
		size_t n = JIT_READ_PIECE - (size_t)((addr + done) % JIT_READ_PIECE);
		if (n > size - done)
			n = size - done;
		if (sw_as_read(as, addr + done, buf + done, n) != 0)
			return SW_EMEMORY;
		done += n;
	}
	return 0;
}

/* The list as one walk read it: the entries in order, with their bytes,
 * and why the walk ended. */
enum walk_end { W_END, W_CYCLE, W_UNREADABLE, W_LIMIT, W_NOMEM };

struct walk {
	uint64_t first;          /* the descriptor's first_entry */
	uint64_t *addr;          /* the entries' addresses */
	struct t_entry *ent;     /* what each held */
	size_t n, cap;
	int end;                 /* enum walk_end */
	uint64_t end_at;         /* W_CYCLE, W_UNREADABLE: the entry */
};

static void walk_reset(struct walk *w)
{
	w->n = 0;
	w->end = W_END;
	w->end_at = 0;
}

/* Walk the list from w->first: every entry read once, a cycle or an
 * unreadable entry ends it (w->end says why). */
static void walk_list(const struct sw_addr_space *as, struct walk *w)
{
	struct seen seen = { 0 };
	for (uint64_t at = w->first; at;) {
		if (w->n >= JIT_MAX_ENTRIES) {
			w->end = W_LIMIT;
			break;
		}
		int rc = seen_add(&seen, at);
		if (rc <= 0) {
			w->end = rc == 0 ? W_CYCLE : W_NOMEM;
			w->end_at = at;
			break;
		}
		if (w->n == w->cap) {
			size_t ncap = w->cap ? 2 * w->cap : 64;
			uint64_t *na = realloc(w->addr, ncap * sizeof(*na));
			if (na)
				w->addr = na;
			struct t_entry *ne = na ? realloc(w->ent, ncap * sizeof(*ne)) : NULL;
			if (!ne) {
				w->end = W_NOMEM;
				break;
			}
			w->ent = ne;
			w->cap = ncap;
		}
		if (sw_as_read(as, at, &w->ent[w->n], sizeof(w->ent[0])) != 0) {
			w->end = W_UNREADABLE;
			w->end_at = at;
			break;
		}
		w->addr[w->n] = at;
		at = w->ent[w->n++].next_entry;
	}
	free(seen.slot);
}

/* Does the target still hold the list w read: the same first entry and
 * every entry's bytes the same?  (A live target's JIT may have linked or
 * unlinked objects meanwhile: an entry being unlinked reads as the end of
 * the list, and the objects after it would be missed without a word.) */
static bool walk_still(const struct sw_addr_space *as, uint64_t daddr, const struct walk *w)
{
	struct t_descriptor d;
	if (sw_as_read(as, daddr, &d, sizeof(d)) != 0 || d.first_entry != w->first)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		struct t_entry e;
		if (sw_as_read(as, w->addr[i], &e, sizeof(e)) != 0 ||
		    memcmp(&e, &w->ent[i], sizeof(e)) != 0)
			return false;
	}
	return true;
}

/* The objects of the entries w read, copied and inspected, into *v (count
 * *nv; what is left out counted in t).  Returns 0 or SW_ENOMEM. */
static int copy_objects(const struct sw_addr_space *as, const struct walk *w, struct cand **v,
			size_t *nv, struct tally *t)
{
	size_t n = 0, total = 0;
	struct cand *c = w->n ? calloc(w->n, sizeof(*c)) : NULL;
	if (w->n && !c)
		return SW_ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		const struct t_entry *e = &w->ent[i];
		if (e->symfile_size <= sizeof(Elf64_Ehdr) || e->symfile_size > JIT_MAX_OBJECT) {
			tally(t, T_BAD_SIZE, w->addr[i]);
			continue;
		}
		if (total + e->symfile_size > JIT_MAX_TOTAL) {
			tally(t, T_OVER_TOTAL, w->addr[i]);
			continue;
		}
		struct cand *o = &c[n];
		o->idx = i;
		o->size = (size_t)e->symfile_size;
		/* malloc's alignment (16) is what sw_elf_open_mem needs (8) */
		if (!(o->image = malloc(o->size))) {
			*v = c;
			*nv = n;
			return SW_ENOMEM;
		}
		if (read_object(as, e->symfile_addr, o->image, o->size) != 0) {
			free(o->image);
			tally(t, T_UNREADABLE, w->addr[i]);
			continue;
		}
		int kind = cand_inspect(o);
		if (kind != 0) {
			free(o->image);
			tally(t, kind, w->addr[i]);
			continue;
		}
		total += o->size;
		n++;
	}
	*v = c;
	*nv = n;
	return 0;
}

static void cands_free(struct cand *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].image);
	free(v);
}

/*
 * Walk the target's GDB JIT list and add its objects.  A live target's
 * list may change while we read it: the walk is checked against the
 * target (walk_still) before the objects are copied and after, and made
 * again when it changed, JIT_ATTEMPTS times at most (then what the last
 * one read is used, with a warning).  Returns the number added.
 */
static int load_gdb_jit(struct sw_addr_space *as)
{
	uint64_t daddr;
	if (sw_rs_symbol_addr(as, "__jit_debug_descriptor", &daddr) != 0)
		return 0;   /* no JIT interface: nothing to say */
	/* (sw_rs_add_segment keeps a core's memory sorted: sw_as_read works
	 * before sw_rs_finish) */

	struct walk w = { 0 };
	struct tally t = { 0 };
	struct cand *v = NULL;
	size_t n = 0;
	bool stable = false, oom = false;
	int attempt;

	for (attempt = 1; attempt <= JIT_ATTEMPTS && !stable && !oom; attempt++) {
		cands_free(v, n);
		v = NULL;
		n = 0;
		memset(&t, 0, sizeof(t));
		walk_reset(&w);
		struct t_descriptor d;
		if (sw_as_read(as, daddr, &d, sizeof(d)) != 0) {
			sw_rs_warn(as, "GDB JIT interface: __jit_debug_descriptor at 0x%" PRIx64
				   " cannot be read", daddr);
			break;
		}
		if (d.version != 1) {
			sw_rs_warn(as, "GDB JIT interface: __jit_debug_descriptor at 0x%" PRIx64
				   " has version %" PRIu32 ", not 1: not read", daddr, d.version);
			break;
		}
		w.first = d.first_entry;
		walk_list(as, &w);
		oom = w.end == W_NOMEM;
		if (!walk_still(as, daddr, &w) && attempt < JIT_ATTEMPTS)
			continue;
		oom |= copy_objects(as, &w, &v, &n, &t) < 0;
		stable = walk_still(as, daddr, &w);
	}
	switch (w.end) {
	case W_CYCLE:
		sw_rs_warn(as, "GDB JIT interface: the list loops back to entry 0x%" PRIx64
			   " (after %zu entries); the walk stops there", w.end_at, w.n);
		break;
	case W_UNREADABLE:
		sw_rs_warn(as, "GDB JIT interface: entry 0x%" PRIx64 " (after %zu entries) cannot be "
			   "read; the walk stops there", w.end_at, w.n);
		break;
	case W_LIMIT:
		sw_rs_warn(as, "GDB JIT interface: more than %u entries; the rest is left out",
			   JIT_MAX_ENTRIES);
		break;
	}
	if (oom)
		sw_rs_warn(as, "GDB JIT interface: out of memory after %zu entries; the rest is "
			   "left out", w.n);
	if (!stable && !oom && w.n)
		sw_rs_warn(as, "GDB JIT interface: the process changed its list while it was read "
			   "(%d times); the objects of the last reading are used", JIT_ATTEMPTS);
	free(w.addr);
	free(w.ent);

	n = cand_disjoint(v, n, &t);
	int added = 0;
	for (size_t i = 0; i < n; i++) {
		/* the image is the module's now, or freed */
		int rc = sw_rs_add_image_module(as, v[i].lo, v[i].hi, 0, v[i].name, v[i].image,
						v[i].size, SW_MOD_JIT);
		if (rc == 0)
			added++;
		else if (rc == SW_EINVAL)
			tally(&t, T_REJECTED, v[i].lo);
		else if (rc == SW_ENOMEM && !oom) {
			oom = true;
			sw_rs_warn(as, "GDB JIT interface: out of memory adding the objects");
		}
	}
	free(v);
	tally_warn(as, &t);
	return added;
}

/* ---------------------------------------------------------------- perf map */

/* One line (NUL-terminated, without its newline): 1 and the fields, or 0
 * when malformed. */
static int parse_line(char *line, uint64_t *start, uint64_t *size, const char **name)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!sw_rs_parse_hex(&p, start) || (*p != ' ' && *p != '\t'))
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!sw_rs_parse_hex(&p, size) || (*p != ' ' && *p != '\t'))
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t len = strlen(p);
	while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	line[p - line + (ptrdiff_t)len] = 0;
	if (!len || !*size || *size > UINT64_MAX - *start)
		return 0;
	*name = p;
	return 1;
}

/* A perf map being read: the line being gathered and what came of it. */
struct pm {
	struct sw_addr_space *as;
	char line[PERF_LINE_MAX + 1];
	size_t len;             /* bytes in line */
	bool skip;              /* the line is too long or holds a NUL */
	size_t lineno, count, bad, first_bad;
	int rc;                 /* SW_ENOMEM from sw_rs_add_name, else 0 */
};

/* The line in pm->line is complete. */
static void pm_line(struct pm *m)
{
	m->lineno++;
	bool skip = m->skip;
	size_t len = m->len;
	m->len = 0;
	m->skip = false;
	uint64_t start, size;
	const char *name;
	if (!skip && !len)
		return;   /* an empty line */
	m->line[len] = 0;
	if (skip || !parse_line(m->line, &start, &size, &name)) {
		if (!m->bad++)
			m->first_bad = m->lineno;
		return;
	}
	if (sw_rs_add_name(m->as, start, size, name) < 0)
		m->rc = SW_ENOMEM;
	else
		m->count++;
}

/* sw_rs_load_perf_map (remote.h) */
int sw_rs_load_perf_map(struct sw_addr_space *as, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return SW_EIO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		sw_rs_warn(as, "perf map %s: not a regular file, not read", path);
		return SW_EIO;
	}
	enum { CHUNK = 1 << 16 };
	struct pm *m = calloc(1, sizeof(*m));
	char *buf = malloc(CHUNK);
	if (!m || !buf) {
		free(m);
		free(buf);
		close(fd);
		return SW_ENOMEM;
	}
	m->as = as;
	/* only the bytes the file had when opened: a JIT may be appending */
	uint64_t left = (uint64_t)st.st_size;
	bool eof = false, io_error = false;
	while (left && !m->rc && m->lineno < PERF_MAX_ENTRIES) {
		ssize_t got = read(fd, buf, left < CHUNK ? (size_t)left : CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			eof = got == 0;
			io_error = got < 0;
			break;
		}
		left -= (uint64_t)got;
		for (ssize_t i = 0; i < got && !m->rc && m->lineno < PERF_MAX_ENTRIES; i++) {
			char ch = buf[i];
			if (ch == '\n')
				pm_line(m);
			else if (m->skip)
				continue;
			else if (m->len == PERF_LINE_MAX || ch == 0)
				m->skip = true;
			else
				m->line[m->len++] = ch;
		}
	}
	/* a last line without a newline: take it if the file ends there,
	 * not if it has grown since (the JIT was writing that line) */
	if ((m->len || m->skip) && !m->rc && m->lineno < PERF_MAX_ENTRIES) {
		char one;
		if (!eof && !io_error)
			eof = read(fd, &one, 1) == 0;
		if (eof)
			pm_line(m);
	}
	close(fd);
	free(buf);
	if (io_error)
		sw_rs_warn(as, "perf map %s: read error after line %zu", path, m->lineno);
	if (m->lineno >= PERF_MAX_ENTRIES)
		sw_rs_warn(as, "perf map %s: more than %u lines; the rest is left out", path,
			   PERF_MAX_ENTRIES);
	if (m->bad)
		sw_rs_warn(as, "perf map %s: %zu line%s not \"START SIZE name\" or longer than %d "
			   "bytes (the first: line %zu)", path, m->bad, m->bad == 1 ? "" : "s",
			   PERF_LINE_MAX, m->first_bad);
	int rc = m->rc ? m->rc : m->count > INT32_MAX ? INT32_MAX : (int)m->count;
	free(m);
	return rc;
}

/* The pid of the target inside its own PID namespace (the last NSpid of
 * /proc/PID/status; a JIT names its perf map after getpid()), or `pid`. */
static pid_t ns_pid(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return pid;
	pid_t last = pid;
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "NSpid:", 6) != 0)
			continue;
		char *p = buf + 6, *end;
		for (;;) {
			errno = 0;
			long v = strtol(p, &end, 10);
			if (end == p || errno || v <= 0 || v > INT32_MAX)
				break;
			last = (pid_t)v;
			p = end;
		}
		break;
	}
	fclose(f);
	return last;
}

static void load_perf_maps(struct sw_addr_space *as)
{
	char path[sizeof(as->root) + 64];
	int rc = SW_EIO;
	if (as->root[0]) {
		pid_t inner = as->live ? ns_pid(as->pid) : as->pid;
		snprintf(path, sizeof(path), "%s/tmp/perf-%d.map", as->root, (int)inner);
		rc = sw_rs_load_perf_map(as, path);
	}
	if (rc == SW_EIO) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)as->pid);
		rc = sw_rs_load_perf_map(as, path);
	}
	if (rc == SW_ENOMEM)
		sw_rs_warn(as, "perf map %s: out of memory", path);
}

/* sw_rs_load_jit (remote.h) */
int sw_rs_load_jit(struct sw_addr_space *as)
{
	if (!as || (as->flags & SW_AS_NO_JIT))
		return 0;
	int n = load_gdb_jit(as);
	if (as->pid > 0)
		load_perf_maps(as);
	return n;
}
