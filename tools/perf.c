/*
 * `stackwalk perf [-i perf.data] [--no-symbols] [--max-stack N]
 * [--kallsyms=FILE]`: the
 * samples of a `perf record --call-graph dwarf` file, each unwound by
 * stackwalk from its user registers and stack copy, printed as `perf
 * script` (perf 6.1) prints them, so stackcollapse-perf.pl and flame
 * graph tools take the output unchanged:
 *
 *   COMM TID [CPU] SECS.USECS: PERIOD EVENT: \n
 *   \t%16x SYMBOL+0xOFF (DSO)\n      one line per frame, innermost first
 *   \n
 *
 * As perf prints them: kernel frames (the sample's PERF_SAMPLE_CALLCHAIN,
 * names from /proc/kallsyms) first, with their addresses; user frames
 * with their offset in the mapped file (perf's "binary offset"), the
 * address in the call for callers (return address - 1), inlined functions
 * as lines of their own that end "(inlined)", "[unknown]" for what has no
 * name.  Samples are printed in time order, as perf sorts them.
 *
 * On stderr at the end: how many samples, how many walks reached the
 * stack's end, were cut by the stack copy, stopped at --max-stack, or
 * failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/remote.h>
#include <stackwalk/symbolize.h>

#include "perf_data.h"
#include "tools.h"

#define MAX_STACK_DEFAULT 127   /* perf's default (kernel.perf_event_max_stack) */
#define MAX_STACK_LIMIT 4096
#define INLINE_MAX 32           /* source frames printed per PC */
#define PROT_EXEC_BIT 4u
#define MAPS_MAX 32768          /* mappings kept per process (inserting is
				 * linear: a bound on a hostile file's cost) */

/* ------------------------------------------------------------ hash table */

/* Open addressing, keyed by a pid or tid (int32). */
struct tab {
	int32_t *keys;
	void **vals;
	size_t cap, n;
};

static size_t tab_slot(const struct tab *t, int32_t key)
{
	size_t h = (uint32_t)key * 2654435761u;
	size_t i = h & (t->cap - 1);
	while (t->vals[i] && t->keys[i] != key)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static void *tab_get(const struct tab *t, int32_t key)
{
	return t->cap ? t->vals[tab_slot(t, key)] : NULL;
}

static int tab_put(struct tab *t, int32_t key, void *val)
{
	if ((t->n + 1) * 2 > t->cap) {
		struct tab nt = { 0 };
		nt.cap = t->cap ? t->cap * 2 : 64;
		nt.keys = calloc(nt.cap, sizeof(*nt.keys));
		nt.vals = calloc(nt.cap, sizeof(*nt.vals));
		if (!nt.keys || !nt.vals) {
			free(nt.keys);
			free(nt.vals);
			return -1;
		}
		for (size_t i = 0; i < t->cap; i++)
			if (t->vals[i]) {
				size_t s = tab_slot(&nt, t->keys[i]);
				nt.keys[s] = t->keys[i];
				nt.vals[s] = t->vals[i];
				nt.n++;
			}
		free(t->keys);
		free(t->vals);
		*t = nt;
	}
	size_t s = tab_slot(t, key);
	if (!t->vals[s])
		t->n++;
	t->keys[s] = key;
	t->vals[s] = val;
	return 0;
}

/* ------------------------------------------------------------ processes */

/* One mapping as perf keeps it (for the file offsets and DSO names). */
struct map {
	uint64_t start, end, pgoff;
	uint32_t prot;
	char *name;
};

struct proc {
	int32_t pid;
	sw_addr_space_t *as;
	struct map *maps;           /* sorted by start, not overlapping */
	size_t nmaps, cap;
	bool jit_loaded;            /* its perf map was read into `as` */
	uint64_t gen;               /* changes with the mappings (frame cache) */
};

struct thread {
	char comm[32];
};

#define FRAME_CACHE_SIZE 8192

struct frame_cache {
	const struct proc *proc;
	uint64_t gen;
	uint64_t pc;
	char *text;                 /* the frame's lines (malloc'd), NULL: empty */
};

struct state {
	struct pd_file f;
	struct tab procs, threads;
	sw_symbolizer_t *sym;
	bool no_symbols;
	const char *kallsyms;       /* the kernel's symbols: /proc/kallsyms */
	int max_stack;
	/* kallsyms */
	struct ksym { uint64_t addr; char *name; char *mod; } *ksyms;
	size_t nksyms;
	char *kbuf;                 /* /proc/kallsyms, which the names point into */
	bool ksyms_loaded;
	FILE *out;
	struct frame_cache *cache;  /* FRAME_CACHE_SIZE entries */
	/* counts */
	uint64_t samples, unwound, reached_end, truncated, max_stack_hit, errors, no_regs;
	uint64_t error_codes[64];   /* errors by -SW_E* */
};

static void maps_free(struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].name);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = p->cap = 0;
}

static void proc_free(struct proc *p)
{
	if (!p)
		return;
	maps_free(p);
	sw_as_free(p->as);
	free(p);
}

static struct proc *proc_new(struct state *st, int32_t pid)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	if (sw_as_new(NULL, &p->as) != 0 || tab_put(&st->procs, pid, p) < 0) {
		sw_as_free(p->as);
		free(p);
		return NULL;
	}
	return p;
}

static struct proc *proc_get(struct state *st, int32_t pid)
{
	struct proc *p = tab_get(&st->procs, pid);
	return p ? p : proc_new(st, pid);
}

static struct thread *thread_get(struct state *st, int32_t tid)
{
	struct thread *t = tab_get(&st->threads, tid);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->comm, sizeof(t->comm), ":%d", tid);
	if (tab_put(&st->threads, tid, t) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* The index of the map containing addr, or -1. */
static long map_find(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < p->maps[lo - 1].end)
		return (long)lo - 1;
	return -1;
}

/* Insert [start, end), cutting what it overlaps (as a new mmap replaces
 * the old mappings of its range). */
static int map_insert(struct proc *p, uint64_t start, uint64_t end, uint64_t pgoff,
		      uint32_t prot, const char *name)
{
	if (p->nmaps >= MAPS_MAX)
		return -1;
	/* at most one more piece (a split), plus the new map */
	if (p->nmaps + 2 > p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		struct map *nm = realloc(p->maps, ncap * sizeof(*nm));
		if (!nm)
			return -1;
		p->maps = nm;
		p->cap = ncap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -1;
	size_t k = 0;
	struct map tail = { 0 };
	bool have_tail = false;
	for (size_t i = 0; i < p->nmaps; i++) {
		struct map m = p->maps[i];
		if (m.end <= start || m.start >= end) {
			p->maps[k++] = m;
			continue;
		}
		if (m.start < start && m.end > end) {
			/* split: keep the head here, the tail after the new map */
			tail = m;
			tail.pgoff += end - m.start;
			tail.start = end;
			tail.name = strdup(m.name);
			have_tail = tail.name != NULL;
			m.end = start;
			p->maps[k++] = m;
		} else if (m.start < start) {
			m.end = start;
			p->maps[k++] = m;
		} else if (m.end > end) {
			m.pgoff += end - m.start;
			m.start = end;
			p->maps[k++] = m;
		} else {
			free(m.name);
		}
	}
	p->nmaps = k;
	/* place the new map (and the tail) in order */
	size_t at = 0;
	while (at < p->nmaps && p->maps[at].start < start)
		at++;
	size_t add = have_tail ? 2 : 1;
	memmove(&p->maps[at + add], &p->maps[at], (p->nmaps - at) * sizeof(*p->maps));
	p->maps[at] = (struct map){ start, end, pgoff, prot, copy };
	if (have_tail)
		p->maps[at + 1] = tail;
	p->nmaps += add;
	return 0;
}

static bool is_file(const char *name)
{
	return name[0] == '/' && strncmp(name, "//anon", 6) != 0 && strncmp(name, "/dev/zero", 9) != 0 &&
	       strncmp(name, "/SYSV", 5) != 0 && strncmp(name, "/memfd:", 7) != 0;
}

/* perf's build-id cache (perf record copies every sampled file there):
 * $PERF_BUILDID_DIR or ~/.debug, .build-id/xx/rest/{elf,vdso}.  Returns
 * buf, or NULL when the cache has no copy. */
static const char *cache_path(char *buf, size_t size, const uint8_t *id, size_t idlen, bool vdso)
{
	const char *dir = getenv("PERF_BUILDID_DIR");
	char home[4096];
	if (!dir || !dir[0]) {
		const char *h = getenv("HOME");
		if (!h || !h[0])
			return NULL;
		snprintf(home, sizeof(home), "%s/.debug", h);
		dir = home;
	}
	char hex[2 * 20 + 1];
	if (idlen == 0 || idlen > 20)
		return NULL;
	for (size_t i = 0; i < idlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	snprintf(buf, size, "%s/.build-id/%.2s/%s/%s", dir, hex, hex + 2, vdso ? "vdso" : "elf");
	return access(buf, R_OK) == 0 ? buf : NULL;
}

/* Make the address space's module for an executable mapping: the file
 * it names, else (missing, rebuilt since, or the vDSO) perf's cached copy
 * with the build-id the recording saw. */
static void add_module(struct state *st, struct proc *p, const struct map *m,
		       const uint8_t *id, size_t idlen)
{
	bool vdso = strcmp(m->name, "[vdso]") == 0;
	if (!(m->prot & PROT_EXEC_BIT) || (!vdso && !is_file(m->name)))
		return;
	if (!id || !idlen) {
		const struct pd_build_id *b = pd_find_build_id(&st->f, p->pid, m->name);
		if (b && b->size) {
			id = b->id;
			idlen = b->size;
		}
	}
	char cached[4096 + 64];
	if (!vdso && access(m->name, R_OK) == 0) {
		struct sw_as_module mod;
		sw_as_add_module(p->as, m->start, m->end, m->pgoff, m->name, id, idlen);
		if (!id || sw_as_find_module(p->as, m->start, &mod) < 0 ||
		    !(mod.flags & SW_MOD_NO_FILE) ||
		    !cache_path(cached, sizeof(cached), id, idlen, false))
			return;
		sw_as_remove_modules(p->as, m->start, m->end);
		sw_as_add_module(p->as, m->start, m->end, m->pgoff, cached, id, idlen);
		return;
	}
	if (id && cache_path(cached, sizeof(cached), id, idlen, vdso))
		sw_as_add_module(p->as, m->start, m->end, m->pgoff, cached, id, idlen);
	else if (!vdso)
		sw_as_add_module(p->as, m->start, m->end, m->pgoff, m->name, id, idlen);
}

static void on_mmap(struct state *st, const struct pd_event *ev)
{
	if ((ev->misc & PD_MISC_CPUMODE_MASK) == PD_MISC_KERNEL || (int32_t)ev->pid == -1)
		return;     /* the kernel's and its modules': named from kallsyms */
	if (ev->map_len == 0 || ev->map_start + ev->map_len < ev->map_start)
		return;
	struct proc *p = proc_get(st, (int32_t)ev->pid);
	if (!p)
		return;
	p->gen++;
	uint64_t end = ev->map_start + ev->map_len;
	if (map_insert(p, ev->map_start, end, ev->map_pgoff, ev->map_prot, ev->filename) < 0)
		return;
	if (ev->map_prot & PROT_EXEC_BIT) {
		long i = map_find(p, ev->map_start);
		if (i >= 0)
			add_module(st, p, &p->maps[i], ev->build_id, ev->build_id_size);
	} else {
		sw_as_remove_modules(p->as, ev->map_start, end);
	}
}

static void on_comm(struct state *st, const struct pd_event *ev)
{
	struct thread *t = thread_get(st, (int32_t)ev->tid);
	if (t)
		snprintf(t->comm, sizeof(t->comm), "%s", ev->comm);
	if (ev->misc & PD_MISC_COMM_EXEC) {
		/* a new program: its mappings follow */
		struct proc *p = tab_get(&st->procs, (int32_t)ev->pid);
		if (p) {
			p->gen++;
			maps_free(p);
			sw_as_remove_modules(p->as, 0, UINT64_MAX);
		}
	}
}

static void on_fork(struct state *st, const struct pd_event *ev)
{
	struct thread *parent = tab_get(&st->threads, (int32_t)ev->ptid);
	struct thread *t = thread_get(st, (int32_t)ev->tid);
	if (t && parent)
		memcpy(t->comm, parent->comm, sizeof(t->comm));
	if (ev->pid == ev->ppid)
		return;     /* a new thread of the same process */
	/* a new process: a copy of the parent's mappings (a reused pid
	 * starts over) */
	struct proc *p = tab_get(&st->procs, (int32_t)ev->pid);
	if (p) {
		p->gen++;
		maps_free(p);
		sw_as_remove_modules(p->as, 0, UINT64_MAX);
		p->jit_loaded = false;
	}
	struct proc *pp = tab_get(&st->procs, (int32_t)ev->ppid);
	if (!p)
		p = proc_new(st, (int32_t)ev->pid);
	if (!p || !pp || p == pp)
		return;
	for (size_t i = 0; i < pp->nmaps; i++) {
		const struct map *m = &pp->maps[i];
		if (map_insert(p, m->start, m->end, m->pgoff, m->prot, m->name) < 0)
			break;
		add_module(st, p, m, NULL, 0);
	}
}

/* ------------------------------------------------------------ names */

/* /tmp/perf-PID.map (JIT code's names), read into the process's address
 * space before its first user frame is named. */
static void jit_load(struct proc *p)
{
	char path[64];

	p->jit_loaded = true;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", p->pid);
	sw_as_load_perf_map(p->as, path);
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* /proc/kallsyms: the text symbols (none when it hides their addresses).
 * Read whole and parsed in place (names point into st->kbuf): it has
 * ~200,000 lines, and a sample with kernel frames needs them all. */
static void ksyms_load(struct state *st)
{
	st->ksyms_loaded = true;
	int fd = open(st->kallsyms, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap + 1);
	for (ssize_t n; buf; len += (size_t)n) {
		if (len == cap) {
			char *nb = cap < (1u << 30) ? realloc(buf, cap * 2 + 1) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
	}
	close(fd);
	if (!buf)
		return;
	buf[len] = 0;
	st->kbuf = buf;
	size_t kcap = 0;
	bool sorted = true;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *e;
		uint64_t addr = strtoull(line, &e, 16);
		if (e == line || addr == 0 || e[0] != ' ' || !e[1] || !strchr("tTwW", e[1]) || e[2] != ' ')
			continue;
		char *name = e + 3;
		char *mod = strchr(name, '\t');
		if (mod)
			*mod++ = 0;
		if (st->nksyms == kcap) {
			size_t ncap = kcap ? kcap * 2 : 65536;
			struct ksym *nk = realloc(st->ksyms, ncap * sizeof(*nk));
			if (!nk)
				break;
			st->ksyms = nk;
			kcap = ncap;
		}
		if (st->nksyms && st->ksyms[st->nksyms - 1].addr > addr)
			sorted = false;
		st->ksyms[st->nksyms++] = (struct ksym){ addr, name, mod };
	}
	if (!sorted)
		qsort(st->ksyms, st->nksyms, sizeof(*st->ksyms), cmp_ksym);
}

/* Cut the parameter list (and qualifiers and clone suffixes after it)
 * from a demangled C++ name: perf prints "ns::f", not "ns::f(int) const
 * [clone .isra.0]". */
static void strip_params(char *s)
{
	/* clones first: "f(int) [clone .isra.0] [clone .cold]" */
	char *clone = strstr(s, " [clone ");
	if (clone)
		*clone = 0;
	size_t n = strlen(s);
	while (n && s[n - 1] != ')') {
		/* trailing " const", " &", ... */
		if (s[n - 1] == '>' || s[n - 1] == ']')
			return;
		n--;
	}
	if (!n)
		return;
	int depth = 0;
	for (size_t i = n; i-- > 0;) {
		if (s[i] == ')')
			depth++;
		else if (s[i] == '(' && --depth == 0) {
			if (i > 0)
				s[i] = 0;
			return;
		}
	}
}

/* The printable name of a raw symbol name: demangled without parameters. */
static void pretty(const char *raw, char *buf, size_t size)
{
	if (raw[0] == '_' && (raw[1] == 'Z' || raw[1] == 'R') && sw_demangle(raw, buf, size) > 0) {
		strip_params(buf);
		return;
	}
	snprintf(buf, size, "%s", raw);
}

/* ------------------------------------------------------------ printing */

static void print_kernel_frame(struct state *st, uint64_t ip)
{
	if (!st->ksyms_loaded)
		ksyms_load(st);
	size_t lo = 0, hi = st->nksyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->ksyms[mid].addr <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo) {
		const struct ksym *k = &st->ksyms[lo - 1];
		if (k->mod)
			fprintf(st->out, "\t%16" PRIx64 " %s+0x%" PRIx64 " (%s)\n", ip, k->name,
				ip - k->addr, k->mod);
		else
			fprintf(st->out, "\t%16" PRIx64 " %s+0x%" PRIx64 " ([kernel.kallsyms])\n", ip,
				k->name, ip - k->addr);
	} else {
		fprintf(st->out, "\t%16" PRIx64 " [unknown] ([kernel.kallsyms])\n", ip);
	}
}

/* The lines of one user frame at `pc` (the lookup address: in the call
 * for callers) into `o`. */
static void render_user_frame(struct state *st, struct proc *p, uint64_t pc, FILE *o)
{
	long mi = p ? map_find(p, pc) : -1;
	const struct map *m = mi >= 0 ? &p->maps[mi] : NULL;
	uint64_t addr = m ? pc - m->start + m->pgoff : pc;
	const char *dso = m ? m->name : "[unknown]";
	char name[1024];

	if (st->no_symbols || !p) {
		fprintf(o, "\t%16" PRIx64 " [unknown] (%s)\n", addr, dso);
		return;
	}
	/* the ELF symbol: perf's name and offset (symbol tables first, then
	 * the process's perf map: JIT code) */
	char raw[1024];
	uint64_t soff = 0;
	if (!p->jit_loaded)
		jit_load(p);
	bool have_sym = sw_as_get_proc_name(p->as, pc, raw, sizeof(raw), &soff) == 0 && raw[0];
	char sym[1024] = "";
	if (have_sym)
		pretty(raw, sym, sizeof(sym));

	struct sw_as_module mod;
	if (st->sym && sw_as_find_module(p->as, pc, &mod) >= 0 && mod.file) {
		struct sw_sym_frame fr[INLINE_MAX];
		int n = sw_symbolize_file(st->sym, mod.file, pc - mod.bias, fr, INLINE_MAX, NULL);
		if (n > INLINE_MAX)
			n = INLINE_MAX;
		if (n >= 1 && fr[0].function && !(fr[0].flags & SW_SYM_FRAME_SYMTAB)) {
			/* perf's inline list: every source frame, innermost
			 * first, named from DWARF at the ELF symbol's offset;
			 * "(inlined)" for each whose name is not the symbol's */
			uint64_t off = pc - mod.bias - fr[n - 1].function_start;
			/* a symbol of another function (the file's .dynsym
			 * lacks static functions; perf reads the debug file's
			 * .symtab): DWARF's function is the symbol */
			bool same = have_sym && (soff == off || !fr[n - 1].function_start);
			if (same)
				off = soff;
			for (int i = 0; i < n; i++) {
				if (fr[i].name)
					snprintf(name, sizeof(name), "%s", fr[i].name);
				else
					snprintf(name, sizeof(name), "??");
				strip_params(name);
				if (i < n - 1 || (same && strcmp(name, sym) != 0))
					fprintf(o, "\t%16" PRIx64 " %s+0x%" PRIx64 " (inlined)\n", addr, name, off);
				else
					fprintf(o, "\t%16" PRIx64 " %s+0x%" PRIx64 " (%s)\n", addr, name, off, dso);
			}
			return;
		}
	}
	if (have_sym) {
		fprintf(o, "\t%16" PRIx64 " %s+0x%" PRIx64 " (%s)\n", addr, sym, soff, dso);
		return;
	}
	fprintf(o, "\t%16" PRIx64 " [unknown] (%s)\n", addr, dso);
}

/* One user frame, through a cache of rendered frames: samples repeat the
 * same PCs, and symbolizing is most of the work.  An entry is valid for
 * one process while its mappings stay the same (proc.gen). */
static void print_user_frame(struct state *st, struct proc *p, uint64_t pc)
{
	if (!p) {
		render_user_frame(st, p, pc, st->out);
		return;
	}
	uint64_t h = (pc ^ (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull ^ p->gen * 31u) *
		     0xff51afd7ed558ccdull;
	struct frame_cache *e = &st->cache[(h >> 40) % FRAME_CACHE_SIZE];
	if (e->text && e->proc == p && e->gen == p->gen && e->pc == pc) {
		fputs(e->text, st->out);
		return;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m) {
		render_user_frame(st, p, pc, st->out);
		return;
	}
	render_user_frame(st, p, pc, m);
	if (fclose(m) != 0 || !text) {
		free(text);
		render_user_frame(st, p, pc, st->out);
		return;
	}
	fputs(text, st->out);
	free(e->text);
	*e = (struct frame_cache){ p, p->gen, pc, text };
}

/* perf_event x86 register index -> DWARF number (enum sw_reg), -1: none. */
static const int reg_map[PD_X86_NREGS] = {
	[PD_X86_AX] = SW_REG_RAX, [PD_X86_BX] = SW_REG_RBX, [PD_X86_CX] = SW_REG_RCX,
	[PD_X86_DX] = SW_REG_RDX, [PD_X86_SI] = SW_REG_RSI, [PD_X86_DI] = SW_REG_RDI,
	[PD_X86_BP] = SW_REG_RBP, [PD_X86_SP] = SW_REG_RSP, [PD_X86_IP] = SW_REG_RIP,
	[PD_X86_FLAGS] = -1, [PD_X86_CS] = -1, [PD_X86_SS] = -1, [PD_X86_DS] = -1,
	[PD_X86_ES] = -1, [PD_X86_FS] = -1, [PD_X86_GS] = -1,
	[PD_X86_R8] = SW_REG_R8, [PD_X86_R9] = SW_REG_R9, [PD_X86_R10] = SW_REG_R10,
	[PD_X86_R11] = SW_REG_R11, [PD_X86_R12] = SW_REG_R12, [PD_X86_R13] = SW_REG_R13,
	[PD_X86_R14] = SW_REG_R14, [PD_X86_R15] = SW_REG_R15,
};

static const char *event_name(const struct pd_attr *a)
{
	if (a->name[0])
		return a->name;
	if (a->type == 1 && a->config == 0)
		return "cpu-clock";
	if (a->type == 1 && a->config == 1)
		return "task-clock";
	if (a->type == 0 && a->config == 0)
		return "cycles";
	if (a->type == 0 && a->config == 1)
		return "instructions";
	return "unknown";
}

static void on_sample(struct state *st, const struct pd_event *ev)
{
	FILE *o = st->out;
	struct thread *t = thread_get(st, (int32_t)ev->tid);
	st->samples++;

	fprintf(o, "%s %5d ", t ? t->comm : "", (int32_t)ev->tid);
	if (ev->have_cpu)
		fprintf(o, "[%03u] ", ev->cpu);
	if (ev->have_time) {
		char ts[48];
		snprintf(ts, sizeof(ts), "%" PRIu64 ".%06" PRIu64, ev->time / 1000000000u,
			 ev->time % 1000000000u / 1000u);
		fprintf(o, "%12s: ", ts);
	}
	if (ev->attr->sample_type & PD_SAMPLE_PERIOD)
		fprintf(o, "%10" PRIu64 " ", ev->period);
	fprintf(o, "%s: \n", event_name(ev->attr));

	/* the kernel part of the callchain, as recorded */
	bool kernel = false, any_kernel = false;
	for (uint64_t i = 0; i < ev->nr_callchain; i++) {
		uint64_t ip = pd_u64(ev->callchain, i);
		if (ip >= PD_CONTEXT_MAX) {
			kernel = ip == PD_CONTEXT_KERNEL;
			continue;
		}
		if (kernel) {
			print_kernel_frame(st, ip);
			any_kernel = true;
		}
	}

	struct proc *p = tab_get(&st->procs, (int32_t)ev->pid);
	bool have_regs = ev->regs_abi != 0 &&
			 (ev->regs_present & (1ull << PD_X86_IP)) &&
			 (ev->regs_present & (1ull << PD_X86_SP));
	if (!have_regs) {
		st->no_regs++;
		/* a kernel thread, or no user registers sampled: the sample
		 * IP alone when it is a user address */
		if (!any_kernel && (ev->misc & PD_MISC_CPUMODE_MASK) != PD_MISC_KERNEL &&
		    (ev->attr->sample_type & PD_SAMPLE_IP))
			print_user_frame(st, p, ev->ip);
		else if (!any_kernel && (ev->attr->sample_type & PD_SAMPLE_IP))
			print_kernel_frame(st, ev->ip);
		fputc('\n', o);
		return;
	}

	sw_context_t ctx;
	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < PD_X86_NREGS; i++)
		if (reg_map[i] >= 0 && (ev->regs_present & (1ull << i)))
			sw_context_set_reg(&ctx, reg_map[i], ev->regs[i]);
	sw_cursor_t c;
	if (!p || sw_init_snapshot(&c, p->as, &ctx, ev->stack, (size_t)ev->stack_dyn_size) != 0) {
		print_user_frame(st, p, ev->regs[PD_X86_IP]);
		st->errors++;
		fputc('\n', o);
		return;
	}
	st->unwound++;
	int frames = 0;
	for (;;) {
		print_user_frame(st, p, sw_get_lookup_pc(&c));
		if (++frames >= st->max_stack) {
			st->max_stack_hit++;
			break;
		}
		int rc = sw_step(&c);
		if (rc == 0)
			continue;
		if (rc == SW_END_OF_STACK)
			st->reached_end++;
		else if (sw_cursor_stack_truncated(&c))
			st->truncated++;
		else {
			st->errors++;
			st->error_codes[-rc < 64 ? -rc : 0]++;
		}
		break;
	}
	fputc('\n', o);
}

/* ------------------------------------------------------------ driver */

struct rec_ref {
	uint64_t time;
	uint64_t offset;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct rec_ref *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: stackwalk perf [-i perf.data] [--no-symbols] [--max-stack N] [--kallsyms=FILE]\n"
		   "  the samples of `perf record --call-graph dwarf` output, unwound by\n"
		   "  stackwalk, in the format of `perf script`\n"
		   "  -i FILE          input (default: perf.data)\n"
		   "  --no-symbols     print [unknown] for every user function (unwinding only)\n"
		   "  --kallsyms=FILE  kernel symbols (default /proc/kallsyms)\n"
		   "  --max-stack N    frames per sample (default %d, as perf)\n",
		MAX_STACK_DEFAULT);
}

int cmd_perf(int argc, char **argv)
{
	const char *path = "perf.data";
	struct state st;
	memset(&st, 0, sizeof(st));
	st.max_stack = MAX_STACK_DEFAULT;
	st.out = stdout;
	st.kallsyms = "/proc/kallsyms";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strncmp(argv[i], "--input=", 8) == 0) {
			path = argv[i] + 8;
		} else if (strncmp(argv[i], "--kallsyms=", 11) == 0) {
			st.kallsyms = argv[i] + 11;
		} else if (strcmp(argv[i], "--no-symbols") == 0) {
			st.no_symbols = true;
		} else if (strcmp(argv[i], "--max-stack") == 0 && i + 1 < argc) {
			st.max_stack = atoi(argv[++i]);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && i == argc - 1) {
			path = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (st.max_stack < 1 || st.max_stack > MAX_STACK_LIMIT) {
		fprintf(stderr, "stackwalk perf: --max-stack must be 1..%d\n", MAX_STACK_LIMIT);
		return 2;
	}

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "stackwalk perf: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "stackwalk perf: %s: not a regular file\n", path);
		close(fd);
		return 1;
	}
	size_t size = (size_t)sb.st_size;
	void *buf = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (size && buf == MAP_FAILED) {
		fprintf(stderr, "stackwalk perf: %s: mmap: %s\n", path, strerror(errno));
		return 1;
	}

	int status = 0;
	struct rec_ref *refs = NULL;
	size_t nrefs = 0, cap = 0;
	if (pd_open(&st.f, buf, size) < 0) {
		fprintf(stderr, "stackwalk perf: %s: %s\n", path, st.f.err);
		status = 1;
		goto out;
	}

	/* pass 1: every record's time, to print in perf's (time) order */
	uint64_t pos = st.f.data_off, last_time = 0;
	struct pd_event ev;
	int rc;
	while ((rc = pd_next(&st.f, &pos, &ev)) > 0) {
		if (nrefs == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			struct rec_ref *nr = realloc(refs, ncap * sizeof(*nr));
			if (!nr) {
				fprintf(stderr, "stackwalk perf: out of memory\n");
				status = 1;
				goto out;
			}
			refs = nr;
			cap = ncap;
		}
		if (ev.have_time)
			last_time = ev.time;
		refs[nrefs++] = (struct rec_ref){ last_time, ev.offset };
	}
	char err[sizeof(st.f.err)] = "";
	if (rc < 0) {
		memcpy(err, st.f.err, sizeof(err));
		status = 1;
	}
	if (nrefs)
		qsort(refs, nrefs, sizeof(*refs), cmp_ref);

	if (!st.no_symbols && sw_symbolizer_new(NULL, &st.sym) != 0)
		st.sym = NULL;
	st.cache = calloc(FRAME_CACHE_SIZE, sizeof(*st.cache));
	if (!st.cache) {
		fprintf(stderr, "stackwalk perf: out of memory\n");
		status = 1;
		goto out;
	}
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

	/* pass 2: in time order (the records were all parsed once already) */
	for (size_t i = 0; i < nrefs; i++) {
		pos = refs[i].offset;
		if (pd_next(&st.f, &pos, &ev) <= 0)
			continue;
		switch (ev.type) {
		case PD_RECORD_MMAP:
		case PD_RECORD_MMAP2:
			on_mmap(&st, &ev);
			break;
		case PD_RECORD_COMM:
			on_comm(&st, &ev);
			break;
		case PD_RECORD_FORK:
			on_fork(&st, &ev);
			break;
		case PD_RECORD_SAMPLE:
			on_sample(&st, &ev);
			break;
		case PD_RECORD_COMPRESSED:
			if (!err[0]) {
				snprintf(err, sizeof(err),
					 "perf.data: compressed records (perf record -z) are not read");
				status = 1;
			}
			break;
		default:
			break;
		}
	}
	fflush(stdout);
	if (err[0])
		fprintf(stderr, "stackwalk perf: %s: %s\n", path, err);
	fprintf(stderr,
		"stackwalk perf: %" PRIu64 " samples, %" PRIu64 " unwound: %" PRIu64
		" reached the stack's end, %" PRIu64 " cut by the stack copy, %" PRIu64
		" stopped at --max-stack %d, %" PRIu64 " errors; %" PRIu64
		" without user registers\n",
		st.samples, st.unwound, st.reached_end, st.truncated, st.max_stack_hit,
		st.max_stack, st.errors, st.no_regs);
	for (int i = 0; i < 64; i++)
		if (st.error_codes[i])
			fprintf(stderr, "stackwalk perf:   %" PRIu64 " walks ended with %s\n",
				st.error_codes[i], i ? sw_strerror(-i) : "another error");

out:
	free(refs);
	for (size_t i = 0; st.cache && i < FRAME_CACHE_SIZE; i++)
		free(st.cache[i].text);
	free(st.cache);
	for (size_t i = 0; i < st.procs.cap; i++)
		proc_free(st.procs.vals[i]);
	for (size_t i = 0; i < st.threads.cap; i++)
		free(st.threads.vals[i]);
	free(st.procs.keys);
	free(st.procs.vals);
	free(st.threads.keys);
	free(st.threads.vals);
	free(st.ksyms);
	free(st.kbuf);
	sw_symbolizer_free(st.sym);
	pd_close(&st.f);
	if (size && buf != MAP_FAILED)
		munmap(buf, size);
	return status;
}
