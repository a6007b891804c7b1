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
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "jit/error.h"
#include "jit/publishers/eh_abs.h"
#include "jit/publishers/gdb.h"
#include "jit/publishers/groups.h"

/* Chunks per object, and the widest gap between two chunks of one
 * object (see the file comment). */
#define GROUP_MAX 32
#define GROUP_GAP 4096

/* ---------------------------------------------------------------- interface */


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


static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;

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

static uint64_t group_hi(size_t i)
{
	return gv[i]->hi;
}

/* Index of the first group that ends above `lo`. */
static size_t group_first_after(uint64_t lo)
{
	return sw_pub_group_first_after(gn, group_hi, lo);
}

static void group_free(struct group *g)
{
	sw_gdb_obj_free(g->obj);
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
	return sw_gdb_build(&v, false);
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
	sw_gdb_obj_free(old);
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
		if ((m->solo = sw_gdb_build(&v, true)))
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
		sw_gdb_obj_free(m->solo);
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

