/*
 * The function-symbol table of a module: the FUNC and IFUNC symbols (and
 * sized NOTYPE ones in executable sections: labels of hand-written
 * assembly) of every symbol table the module has, merged, sorted by
 * address, one per address.
 *
 * Names are kept as the tables spell them, except for a symbol version
 * suffix ("memcpy@GLIBC_2.2.5", "foo@@VER" in a .symtab made from .symver
 * directives), cut as addr2line and llvm-symbolizer show them.  Names point
 * into the mapped file (or the MiniDebugInfo image in the arena); only a
 * cut name is copied into the arena.
 *
 * The candidates are gathered in scratch memory (sw_scratch_alloc) and
 * sorted there with a heap sort: glibc's qsort may call malloc.
 */
#include <string.h>

#include "stackwalk.h"
#include "symbolize/file_internal.h"

struct cand {
	uint64_t addr;
	uint64_t size;
	uint64_t limit;            /* first address past the symbol */
	const char *name;
	const char *file;          /* STT_FILE before a LOCAL symbol, else NULL */
	uint32_t name_len;         /* bytes before any '@' */
	uint32_t seq;              /* order of discovery: ties keep it */
	uint8_t pref;              /* binding and size: higher is better */
	uint8_t src;               /* the source's rank: lower is better */
};

struct gather {
	const struct sw_elf *elf;
	const char *file;          /* the last STT_FILE symbol of this table */
	struct cand *c;            /* NULL while counting */
	size_t n, cap;
	uint8_t src;
};

/* The end of executable section `shndx` of `elf` containing `addr`, or 0
 * when it is no such section. */
static uint64_t exec_section_end(const struct sw_elf *elf, uint16_t shndx, uint64_t addr)
{
	if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE || shndx >= elf->shnum)
		return 0;
	const Elf64_Shdr *sh = &elf->shdrs[shndx];
	if (!(sh->sh_flags & SHF_EXECINSTR) || !(sh->sh_flags & SHF_ALLOC) || addr < sh->sh_addr ||
	    addr - sh->sh_addr >= sh->sh_size)
		return 0;
	return sh->sh_addr + sh->sh_size < sh->sh_addr ? UINT64_MAX : sh->sh_addr + sh->sh_size;
}

static int gather_cb(void *arg, const struct sw_elf_sym *s)
{
	struct gather *g = arg;

	/* a symbol table lists each file's local symbols after its STT_FILE
	 * symbol (what addr2line and llvm-symbolizer name the file with
	 * when there is no DWARF) */
	if (s->type == STT_FILE) {
		g->file = s->name[0] ? s->name : NULL;
		return 0;
	}
	if (s->value == 0 || s->shndx == SHN_UNDEF || !s->name[0])
		return 0;
	bool func = s->type == STT_FUNC || s->type == STT_GNU_IFUNC;
	if (!func && !(s->type == STT_NOTYPE && s->size != 0))
		return 0;
	uint64_t limit;
	if (s->size != 0 && func) {
		limit = s->value + s->size < s->value ? UINT64_MAX : s->value + s->size;
	} else {
		/* NOTYPE labels and size-0 functions must lie in code. */
		uint64_t end = exec_section_end(g->elf, s->shndx, s->value);
		if (end == 0)
			return 0;
		limit = end;
		if (s->size != 0)
			limit = s->size < end - s->value ? s->value + s->size : end;
	}
	size_t len = strcspn(s->name, "@");
	if (len == 0 || len > UINT32_MAX)
		return 0;
	if (g->c) {
		if (g->n >= g->cap)
			return 1; /* cannot happen: the same walk counted them */
		uint8_t bind = s->bind == STB_GLOBAL || s->bind == STB_GNU_UNIQUE ? 2
			       : s->bind == STB_WEAK                             ? 1
										 : 0;
		g->c[g->n] = (struct cand){
			.addr = s->value,
			.size = s->size,
			.limit = limit,
			.name = s->name,
			.file = s->bind == STB_LOCAL ? g->file : NULL,
			.name_len = (uint32_t)len,
			.seq = (uint32_t)g->n,
			.pref = (uint8_t)(bind * 2 + (s->size != 0)),
			.src = g->src,
		};
	}
	g->n++;
	return 0;
}

/* a before b: lower address, then the preferred symbol first */
static bool before(const struct cand *a, const struct cand *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr;
	if (a->pref != b->pref)
		return a->pref > b->pref;
	if (a->src != b->src)
		return a->src < b->src;
	return a->seq < b->seq;
}

static void sift_down(struct cand *c, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && before(&c[child], &c[child + 1]))
			child++;
		if (!before(&c[root], &c[child]))
			return;
		struct cand t = c[root];
		c[root] = c[child];
		c[child] = t;
		root = child;
	}
}

/* In place, O(n log n), no memory (seq makes every key distinct). */
static void heap_sort(struct cand *c, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(c, i, n);
	for (size_t end = n; end > 1; end--) {
		struct cand t = c[0];
		c[0] = c[end - 1];
		c[end - 1] = t;
		sift_down(c, 0, end - 1);
	}
}

int sw_sym_build_table(struct sw_sym_file *f, const struct sw_sym_source *src, size_t n,
		       struct sw_arena *a)
{
	f->syms = NULL;
	f->nsyms = 0;

	/* count, then gather the same walk */
	struct gather g = { 0 };
	for (size_t i = 0; i < n; i++) {
		g.elf = src[i].elf;
		g.file = NULL;
		sw_elf_foreach_sym(src[i].elf, src[i].symtab, gather_cb, &g);
	}
	if (g.n == 0)
		return 0;
	if (g.n > SIZE_MAX / sizeof(struct cand) || g.n > UINT32_MAX)
		return SW_ENOMEM;
	size_t total = g.n;
	struct cand *c = sw_scratch_alloc(total * sizeof(*c));
	if (!c)
		return SW_ENOMEM;
	g = (struct gather){ .c = c, .cap = total };
	for (size_t i = 0; i < n; i++) {
		g.elf = src[i].elf;
		g.file = NULL;
		g.src = src[i].rank;
		sw_elf_foreach_sym(src[i].elf, src[i].symtab, gather_cb, &g);
	}
	heap_sort(c, g.n);

	/* one per address: the first (preferred) of each run; a size any
	 * alias knows is the address's extent */
	size_t m = 0;
	for (size_t i = 0; i < g.n;) {
		size_t j = i + 1;
		struct cand best = c[i];
		for (; j < g.n && c[j].addr == best.addr; j++) {
			if (!best.file)
				best.file = c[j].file;
			if (best.size == 0 && c[j].size != 0) {
				best.size = c[j].size;
				best.limit = c[j].limit;
			}
		}
		c[m++] = best;
		i = j;
	}
	/* a symbol without size ends where the next one starts */
	for (size_t i = 0; i + 1 < m; i++) {
		if (c[i].size == 0 && c[i + 1].addr < c[i].limit)
			c[i].limit = c[i + 1].addr;
	}

	int rc = 0;
	size_t each = sizeof(struct sw_sym_symbol) + sizeof(uint64_t);
	struct sw_sym_symbol *syms = m <= SIZE_MAX / each ? sw_arena_alloc(a, m * each, 8) : NULL;
	if (!syms) {
		rc = SW_ENOMEM;
		goto out;
	}
	uint64_t *limits = (uint64_t *)(void *)(syms + m);
	for (size_t i = 0; i < m; i++) {
		const char *name = c[i].name;
		if (name[c[i].name_len] != '\0') {
			name = sw_arena_strndup(a, name, c[i].name_len);
			if (!name) {
				rc = SW_ENOMEM;
				goto out;
			}
		}
		syms[i].addr = c[i].addr;
		syms[i].size = c[i].size;
		syms[i].name = name;
		syms[i].file = c[i].file;
		limits[i] = c[i].limit;
	}
	f->syms = syms;
	f->nsyms = m;
out:
	sw_scratch_free(c);
	return rc;
}

int sw_sym_file_symbol(const struct sw_sym_file *f, uint64_t addr,
		       const struct sw_sym_symbol **sym)
{
	if (!f || !sym || f->nsyms == 0 || addr < f->syms[0].addr)
		return SW_ENOTFOUND;
	/* the last symbol at or below addr */
	size_t lo = 0, hi = f->nsyms;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	const uint64_t *limits = sw_sym_limits(f);
	/* A sized symbol may enclose smaller ones (an assembly function with
	 * inner entry points): look back a few for one that still covers
	 * addr.  The bound keeps the lookup O(log n). */
	for (size_t k = 0; k < 8; k++) {
		if (addr < limits[lo]) {
			*sym = &f->syms[lo];
			return 0;
		}
		if (lo == 0 || f->syms[lo].size == 0)
			break;
		lo--;
		if (f->syms[lo].size == 0)
			break;
	}
	return SW_ENOTFOUND;
}
