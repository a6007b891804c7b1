/*
 * src/symbolize/dwarf.c against llvm-symbolizer: programs of
 * tests/sym_dwarf/ built here with gcc and clang (-O0/-O2, DWARF 4 and 5,
 * 32- and 64-bit DWARF), every instruction address that objdump lists
 * looked up by both, the inline chains compared level by level (name,
 * file basename, line, column).  Then: a dwz-compressed pair (alternate
 * file) against the same programs before dwz, threads racing on the lazy
 * parse, an arena cap, and 2000 corrupted copies of .debug_info and
 * .debug_abbrev (no crash, no hang).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>

#include <stackwalk.h>
#include "elf/elf.h"
#include "../harness.h"
#include "symbolize/arena.h"
#include "symbolize/dwarf.h"

SW_TEST_MAIN

static char tmpdir[64];

/* ---------------------------------------------------------------- helpers */

static bool make_tmpdir(void)
{
	if (tmpdir[0])
		return true;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw_sym_dwarf_XXXXXX");
	return mkdtemp(tmpdir) != NULL;
}

static void rm_tmpdir(void)
{
	char cmd[128];
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

struct loaded {
	struct sw_elf elf;
	struct sw_dwarf_sections s;
	uint64_t text_lo, text_hi;
};

static void sect(const struct sw_elf *e, const char *name, struct sw_bytes *b)
{
	struct sw_elf_section s;
	b->data = NULL;
	b->size = 0;
	if (sw_elf_find_section(e, name, &s) == 0 && s.data && !(s.flags & SHF_COMPRESSED)) {
		b->data = s.data;
		b->size = s.size;
	}
}

static int load(const char *path, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	if (sw_elf_open_file(&l->elf, path) != 0)
		return -1;
	sect(&l->elf, ".debug_info", &l->s.info);
	sect(&l->elf, ".debug_abbrev", &l->s.abbrev);
	sect(&l->elf, ".debug_line", &l->s.line);
	sect(&l->elf, ".debug_line_str", &l->s.line_str);
	sect(&l->elf, ".debug_str", &l->s.str);
	sect(&l->elf, ".debug_str_offsets", &l->s.str_offsets);
	sect(&l->elf, ".debug_addr", &l->s.addr);
	sect(&l->elf, ".debug_ranges", &l->s.ranges);
	sect(&l->elf, ".debug_rnglists", &l->s.rnglists);
	sect(&l->elf, ".debug_aranges", &l->s.aranges);
	struct sw_elf_section t;
	if (sw_elf_find_section(&l->elf, ".text", &t) == 0) {
		l->text_lo = t.addr;
		l->text_hi = t.addr + t.size;
	}
	return l->s.info.data ? 0 : -1;
}

/* Compile tests/sym_dwarf/SRC with `cc` and `flags` into tmpdir/OUT. */
static bool build(const char *cc, const char *flags, const char *src, const char *out,
		  char *path, size_t pathsz)
{
	char cmd[2048], srcs[1024] = "", tmp[1024];
	/* `src`: file names of tests/sym_dwarf/ and driver options (-x c) */
	snprintf(tmp, sizeof(tmp), "%s", src);
	for (char *save = NULL, *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(srcs);
		snprintf(srcs + len, sizeof(srcs) - len, " %s%s", t[0] == '-' || !strcmp(t, "c") ? "" : "tests/sym_dwarf/", t);
	}
	snprintf(path, pathsz, "%s/%s", tmpdir, out);
	snprintf(cmd, sizeof(cmd), "nice %s %s -o '%s' %s 2>'%s.log'", cc, flags, path, srcs, path);
	if (system(cmd) != 0) {
		printf("    build failed: %s\n", cmd);
		return false;
	}
	return true;
}

/* The instruction addresses objdump -d lists for `path`. */
static size_t insn_addrs(const char *path, uint64_t **out)
{
	char cmd[PATH_MAX + 64], line[512];
	size_t n = 0, cap = 1024;
	uint64_t *v = malloc(cap * sizeof(*v));
	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s'", path);
	FILE *p = popen(cmd, "r");
	if (!p || !v) {
		free(v);
		*out = NULL;
		return 0;
	}
	while (fgets(line, sizeof(line), p)) {
		unsigned long long a;
		char colon;
		if (line[0] != ' ' || sscanf(line, " %llx%c", &a, &colon) != 2 || colon != ':')
			continue;
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				break;
		}
		v[n++] = a;
	}
	pclose(p);
	*out = v;
	return v ? n : 0;
}

/* One level as llvm-symbolizer prints it. */
struct ref_frame {
	char name[1024];
	char file[1024];
	unsigned line, column;
};

struct ref_addr {
	struct ref_frame *f;
	int n;
};

/* llvm-symbolizer --inlining --no-demangle --basenames for `addrs`. */
static struct ref_addr *llvm_symbolize(const char *path, const uint64_t *addrs, size_t n)
{
	char in[128], cmd[2 * PATH_MAX + 512];
	snprintf(in, sizeof(in), "%s/addrs.txt", tmpdir);
	FILE *w = fopen(in, "w");
	if (!w)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(w, "0x%llx\n", (unsigned long long)addrs[i]);
	fclose(w);
	/* without .symtab: llvm-symbolizer would name the outermost level after
	 * the ELF symbol (recurse.part.0), which is the caller's business, not
	 * DWARF's */
	snprintf(cmd, sizeof(cmd),
		 "strip -s --keep-section='.debug_*' -o '%s/nosym' '%s' && "
		 "llvm-symbolizer --obj='%s/nosym' --inlining --no-demangle --basenames "
		 "--output-style=LLVM < '%s' 2>/dev/null", tmpdir, path, tmpdir, in);
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	struct ref_addr *r = calloc(n, sizeof(*r));
	char name[1024], loc[1024];
	_Static_assert(sizeof(loc) <= sizeof(((struct ref_frame *)0)->file), "fits");
	size_t i = 0;
	int cap = 0;
	while (i < n && fgets(name, sizeof(name), p)) {
		if (name[0] == '\n') {   /* end of one address's block */
			i++;
			cap = 0;
			continue;
		}
		if (!fgets(loc, sizeof(loc), p))
			break;
		name[strcspn(name, "\n")] = 0;
		loc[strcspn(loc, "\n")] = 0;
		char *sp = strstr(loc, " (discriminator");
		if (sp)
			*sp = 0;
		if (r[i].n == cap) {
			cap = cap ? cap * 2 : 4;
			r[i].f = realloc(r[i].f, (size_t)cap * sizeof(*r[i].f));
		}
		struct ref_frame *f = &r[i].f[r[i].n++];
		snprintf(f->name, sizeof(f->name), "%s", name);
		/* FILE:LINE:COLUMN, FILE possibly with colons */
		char *c2 = strrchr(loc, ':');
		f->column = c2 ? (unsigned)strtoul(c2 + 1, NULL, 10) : 0;
		if (c2)
			*c2 = 0;
		char *c1 = strrchr(loc, ':');
		f->line = c1 ? (unsigned)strtoul(c1 + 1, NULL, 10) : 0;
		if (c1)
			*c1 = 0;
		snprintf(f->file, sizeof(f->file), "%s", loc);
	}
	pclose(p);
	if (i < n) {
		printf("    llvm-symbolizer answered %zu of %zu addresses\n", i, n);
		for (size_t k = 0; k < n; k++)
			free(r[k].f);
		free(r);
		return NULL;
	}
	return r;
}

static void free_ref(struct ref_addr *r, size_t n)
{
	for (size_t k = 0; r && k < n; k++)
		free(r[k].f);
	free(r);
}

static const char *base(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

struct stats {
	uint64_t compared, agree, disagree, col_disagree;
	int printed, printed_cols;
};

#define MAXF 64

/* Our frames for addr in llvm-symbolizer's terms; true when they agree
 * (name, basename, line; columns counted apart). */
static bool agrees(const struct sw_dwarf_frame *f, int n, const struct ref_addr *r, bool *col_ok)
{
	*col_ok = true;
	if (n <= 0) {
		/* llvm: one "??" level with no location */
		return r->n == 1 && !strcmp(r->f[0].name, "??") && r->f[0].line == 0;
	}
	if (n != r->n)
		return false;
	for (int k = 0; k < n; k++) {
		const char *name = f[k].name ? f[k].name : "??";
		const char *file = f[k].file ? base(f[k].file) : "??";
		if (strcmp(name, r->f[k].name) || strcmp(file, r->f[k].file) ||
		    f[k].line != r->f[k].line)
			return false;
		if (f[k].column != r->f[k].column)
			*col_ok = false;
	}
	return true;
}

static void show(uint64_t addr, const struct sw_dwarf_frame *f, int n, const struct ref_addr *r)
{
	printf("      0x%llx ours (%d):", (unsigned long long)addr, n);
	for (int k = 0; k < n && k < MAXF; k++)
		printf(" [%s %s:%u:%u]", f[k].name ? f[k].name : "??",
		       f[k].file ? base(f[k].file) : "??", f[k].line, f[k].column);
	printf("\n      0x%llx llvm (%d):", (unsigned long long)addr, r->n);
	for (int k = 0; k < r->n; k++)
		printf(" [%s %s:%u:%u]", r->f[k].name, r->f[k].file, r->f[k].line, r->f[k].column);
	printf("\n");
}

/* Compare every instruction address of `path`. */
static void compare_file(const char *label, const char *path, struct stats *st)
{
	struct loaded l;
	uint64_t *addrs = NULL;

	if (load(path, &l) != 0) {
		printf("    %s: cannot load %s\n", label, path);
		CHECK(!"load");
		return;
	}
	size_t n = insn_addrs(path, &addrs);
	CHECK(n > 100);
	struct ref_addr *ref = n ? llvm_symbolize(path, addrs, n) : NULL;
	CHECK(ref != NULL);
	struct sw_arena a;
	sw_arena_init(&a, 0);
	struct sw_dwarf *d = NULL;
	CHECK_EQ(sw_dwarf_open(&l.s, NULL, &a, &d), 0);
	uint64_t agree = 0, dis = 0, cols = 0;
	for (size_t i = 0; d && ref && i < n; i++) {
		struct sw_dwarf_frame f[MAXF];
		int k = sw_dwarf_lookup(d, addrs[i], f, MAXF);
		bool col_ok;
		CHECK(k >= 0 && k <= MAXF);
		if (agrees(f, k, &ref[i], &col_ok)) {
			agree++;
			cols += !col_ok;
			if (!col_ok && st->printed_cols++ < 3) {
				printf("    %s: column differs\n", label);
				show(addrs[i], f, k, &ref[i]);
			}
		} else {
			dis++;
			if (st->printed++ < 8) {
				printf("    %s: disagreement\n", label);
				show(addrs[i], f, k, &ref[i]);
			}
		}
	}
	struct sw_dwarf_counts c = { 0 };
	if (d)
		sw_dwarf_counts(d, &c);
	printf("    %-28s %6zu addresses, %6llu agree, %4llu disagree, %4llu column-only; units %llu parsed %llu errors %llu\n",
	       label, n, (unsigned long long)agree, (unsigned long long)dis,
	       (unsigned long long)cols, (unsigned long long)c.units,
	       (unsigned long long)c.parsed, (unsigned long long)c.errors);
	CHECK_EQ(c.errors, 0);
	st->compared += agree + dis;
	st->agree += agree;
	st->disagree += dis;
	st->col_disagree += cols;
	free_ref(ref, n);
	free(addrs);
	sw_arena_destroy(&a);
	sw_elf_close(&l.elf);
}

/* ---------------------------------------------------------------- tests */

struct variant {
	const char *cc, *flags, *src, *out;
};

static const struct variant variants[] = {
	{ "gcc", "-O0 -gdwarf-4", "prog.c", "c_gcc_O0_d4" },
	{ "gcc", "-O2 -gdwarf-4", "prog.c", "c_gcc_O2_d4" },
	{ "gcc", "-O0 -gdwarf-5", "prog.c", "c_gcc_O0_d5" },
	{ "gcc", "-O2 -gdwarf-5", "prog.c", "c_gcc_O2_d5" },
	{ "gcc", "-O2 -gdwarf-5 -gdwarf64", "prog.c", "c_gcc_O2_d5_64" },
	{ "gcc", "-O2 -gdwarf-3", "prog.c", "c_gcc_O2_d3" },
	{ "clang", "-O0 -gdwarf-4", "prog.c", "c_clang_O0_d4" },
	{ "clang", "-O2 -gdwarf-4", "prog.c", "c_clang_O2_d4" },
	{ "clang", "-O0 -gdwarf-5", "prog.c", "c_clang_O0_d5" },
	{ "clang", "-O2 -gdwarf-5", "prog.c", "c_clang_O2_d5" },
	{ "g++", "-O0 -gdwarf-4", "prog.cc", "cc_gcc_O0_d4" },
	{ "g++", "-O2 -gdwarf-4", "prog.cc", "cc_gcc_O2_d4" },
	{ "g++", "-O0 -gdwarf-5", "prog.cc", "cc_gcc_O0_d5" },
	{ "g++", "-O2 -gdwarf-5", "prog.cc", "cc_gcc_O2_d5" },
	{ "clang++", "-O0 -gdwarf-4", "prog.cc", "cc_clang_O0_d4" },
	{ "clang++", "-O2 -gdwarf-4", "prog.cc", "cc_clang_O2_d4" },
	{ "clang++", "-O0 -gdwarf-5", "prog.cc", "cc_clang_O0_d5" },
	{ "clang++", "-O2 -gdwarf-5", "prog.cc", "cc_clang_O2_d5" },
	{ "clang++", "-O2 -gdwarf-5 -gdwarf-aranges", "prog.cc", "cc_clang_O2_d5_ar" },
	{ "g++", "-O2 -gdwarf-4 -ffunction-sections -Wl,--gc-sections", "prog.cc", "cc_gcc_O2_gc" },
#define MULTI "multi_a.cc multi_b.cc -x c multi_c.c"
	{ "g++", "-O2 -gdwarf-4", MULTI, "multi_gcc_O2_d4" },
	{ "g++", "-O0 -gdwarf-5", MULTI, "multi_gcc_O0_d5" },
	{ "g++", "-O2 -gdwarf-5", MULTI, "multi_gcc_O2_d5" },
	{ "clang++", "-O2 -gdwarf-4", MULTI, "multi_clang_O2_d4" },
	{ "clang++", "-O2 -gdwarf-5", MULTI, "multi_clang_O2_d5" },
	{ "clang++", "-O0 -gdwarf-5", MULTI, "multi_clang_O0_d5" },
};

#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))
static char built[NVARIANTS][256];

static bool build_all(void)
{
	static int done;
	if (done)
		return done > 0;
	done = -1;
	if (!make_tmpdir())
		return false;
	for (size_t i = 0; i < NVARIANTS; i++)
		if (!build(variants[i].cc, variants[i].flags, variants[i].src, variants[i].out,
			   built[i], sizeof(built[i])))
			return false;
	done = 1;
	return true;
}

TEST(against_llvm_symbolizer)
{
	struct stats st = { 0 };

	CHECK(build_all());
	for (size_t i = 0; i < NVARIANTS && built[i][0]; i++)
		compare_file(variants[i].out, built[i], &st);
	/* SW_SYM_DWARF_EXTRA=FILE[:FILE...]: more binaries to compare (e.g. a
	 * SQLite build, too slow to compile in every run) */
	const char *extra = getenv("SW_SYM_DWARF_EXTRA");
	char list[4096];
	snprintf(list, sizeof(list), "%s", extra ? extra : "");
	for (char *save = NULL, *t = strtok_r(list, ":", &save); t; t = strtok_r(NULL, ":", &save))
		compare_file(base(t), t, &st);
	printf("    total: %llu addresses compared, %llu agree, %llu disagree (%llu agree on all but a column)\n",
	       (unsigned long long)st.compared, (unsigned long long)st.agree,
	       (unsigned long long)st.disagree, (unsigned long long)st.col_disagree);
	CHECK(st.compared > 1000);
	/* at least 99.9% agreement */
	CHECK(st.agree * 1000 >= st.compared * 999);
}

/* The frames of every instruction of `l` as one string per address. */
static void lookup_all(struct sw_dwarf *d, const uint64_t *addrs, size_t n, uint64_t *hash)
{
	for (size_t i = 0; i < n; i++) {
		struct sw_dwarf_frame f[MAXF];
		int k = sw_dwarf_lookup(d, addrs[i], f, MAXF);
		uint64_t h = 1469598103934665603ull ^ (uint64_t)k;
		for (int j = 0; j < k && j < MAXF; j++) {
			const char *strs[2] = { f[j].name, f[j].file ? base(f[j].file) : NULL };
			for (int s = 0; s < 2; s++)
				for (const char *p = strs[s]; p && *p; p++)
					h = (h ^ (uint8_t)*p) * 1099511628211ull;
			h = (h ^ f[j].line) * 1099511628211ull;
			h = (h ^ f[j].column) * 1099511628211ull;
			h = (h ^ f[j].low) * 1099511628211ull;
			h = (h ^ f[j].inlined) * 1099511628211ull;
		}
		hash[i] = h;
	}
}

struct race {
	struct sw_dwarf *d;
	const uint64_t *addrs;
	size_t n;
	uint64_t *hash;
};

static void *race_main(void *arg)
{
	struct race *r = arg;
	lookup_all(r->d, r->addrs, r->n, r->hash);
	return NULL;
}

TEST(threads_race_on_lazy_parse)
{
	CHECK(build_all());
	const char *path = built[13];   /* g++ -O2 DWARF 5 */
	struct loaded l;
	uint64_t *addrs;
	CHECK_EQ(load(path, &l), 0);
	size_t n = insn_addrs(path, &addrs);
	struct sw_arena a1, a2;
	sw_arena_init(&a1, 0);
	sw_arena_init(&a2, 0);
	struct sw_dwarf *ref = NULL, *d = NULL;
	CHECK_EQ(sw_dwarf_open(&l.s, NULL, &a1, &ref), 0);
	CHECK_EQ(sw_dwarf_open(&l.s, NULL, &a2, &d), 0);
	uint64_t *want = calloc(n, sizeof(*want));
	lookup_all(ref, addrs, n, want);
	enum { T = 4 };
	pthread_t th[T];
	struct race r[T];
	for (int t = 0; t < T; t++) {
		r[t] = (struct race){ d, addrs, n, calloc(n, sizeof(uint64_t)) };
		CHECK_EQ(pthread_create(&th[t], NULL, race_main, &r[t]), 0);
	}
	for (int t = 0; t < T; t++) {
		pthread_join(th[t], NULL);
		CHECK(memcmp(r[t].hash, want, n * sizeof(*want)) == 0);
		free(r[t].hash);
	}
	free(want);
	free(addrs);
	sw_arena_destroy(&a1);
	sw_arena_destroy(&a2);
	sw_elf_close(&l.elf);
}

TEST(arena_cap_gives_enomem)
{
	CHECK(build_all());
	struct loaded l;
	uint64_t *addrs;
	const char *path = built[17];   /* clang++ -O2 DWARF 5 */
	CHECK_EQ(load(path, &l), 0);
	size_t n = insn_addrs(path, &addrs);
	int nomem = 0, ok = 0;
	/* caps from nothing up: every answer is a frame count or SW_ENOMEM */
	for (uint64_t cap = 4096; cap <= (16u << 20); cap *= 2) {
		struct sw_arena a;
		sw_arena_init(&a, cap);
		struct sw_dwarf *d = NULL;
		int rc = sw_dwarf_open(&l.s, NULL, &a, &d);
		CHECK(rc == 0 || rc == SW_ENOMEM);
		for (size_t i = 0; rc == 0 && i < n; i += 7) {
			struct sw_dwarf_frame f[MAXF];
			int k = sw_dwarf_lookup(d, addrs[i], f, MAXF);
			CHECK(k >= 0 || k == SW_ENOMEM);
			nomem += k == SW_ENOMEM;
			ok += k > 0;
		}
		nomem += rc == SW_ENOMEM;
		sw_arena_destroy(&a);
	}
	CHECK(nomem > 0);
	CHECK(ok > 0);
	free(addrs);
	sw_elf_close(&l.elf);
}

/* dwz moves shared DIEs and strings of two programs into an alternate
 * file (DW_FORM_GNU_ref_alt, DW_FORM_GNU_strp_alt); the answers must not
 * change. */
TEST(dwz_alternate_file)
{
	CHECK(build_all());
	if (system("command -v dwz >/dev/null 2>&1") != 0) {
		printf("    dwz not installed: skipped\n");
		return;
	}
	char a[128], b[128], alt[128], cmd[1024];
	snprintf(a, sizeof(a), "%s/dwz_a", tmpdir);
	snprintf(b, sizeof(b), "%s/dwz_b", tmpdir);
	snprintf(alt, sizeof(alt), "%s/dwz_alt", tmpdir);
	/* two builds of the C++ program (gcc -O2, DWARF 4 and -O0) share most types */
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s' && cd '%s' && dwz -m dwz_alt -M dwz_alt dwz_a dwz_b",
		 built[11], a, built[10], b, tmpdir);
	CHECK_EQ(system(cmd), 0);
	const char *orig[2] = { built[11], built[10] };
	const char *moved[2] = { a, b };
	struct loaded la;
	CHECK_EQ(load(alt, &la), 0);
	for (int i = 0; i < 2; i++) {
		struct loaded lo, lm;
		uint64_t *addrs;
		CHECK_EQ(load(orig[i], &lo), 0);
		CHECK_EQ(load(moved[i], &lm), 0);
		size_t n = insn_addrs(orig[i], &addrs);
		struct sw_arena a1, a2;
		sw_arena_init(&a1, 0);
		sw_arena_init(&a2, 0);
		struct sw_dwarf *d1 = NULL, *d2 = NULL;
		CHECK_EQ(sw_dwarf_open(&lo.s, NULL, &a1, &d1), 0);
		CHECK_EQ(sw_dwarf_open(&lm.s, &la.s, &a2, &d2), 0);
		uint64_t *h1 = calloc(n, 8), *h2 = calloc(n, 8);
		lookup_all(d1, addrs, n, h1);
		lookup_all(d2, addrs, n, h2);
		size_t same = 0, named = 0;
		for (size_t k = 0; k < n; k++) {
			same += h1[k] == h2[k];
			struct sw_dwarf_frame f[MAXF];
			named += sw_dwarf_lookup(d2, addrs[k], f, MAXF) > 0 && f[0].name;
		}
		struct sw_dwarf_counts c;
		sw_dwarf_counts(d2, &c);
		printf("    dwz %s: %zu of %zu addresses answer as before dwz (%zu named), errors %llu\n",
		       i ? "-O0" : "-O2", same, n, named, (unsigned long long)c.errors);
		CHECK_EQ(same, n);
		CHECK(named > n / 2);
		free(h1);
		free(h2);
		free(addrs);
		sw_arena_destroy(&a1);
		sw_arena_destroy(&a2);
		sw_elf_close(&lo.elf);
		sw_elf_close(&lm.elf);
	}
	sw_elf_close(&la.elf);
}

/* ---------------------------------------------------------------- corrupt input */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void corrupt(const char *path, int rounds, uint64_t *answers)
{
	struct loaded l;
	CHECK_EQ(load(path, &l), 0);
	uint8_t *info = malloc(l.s.info.size), *abbrev = malloc(l.s.abbrev.size);
	for (int it = 0; it < rounds; it++) {
		memcpy(info, l.s.info.data, l.s.info.size);
		memcpy(abbrev, l.s.abbrev.data, l.s.abbrev.size);
		int muts = 1 + (int)(rnd() % 4);
		for (int m = 0; m < muts; m++) {
			/* mostly .debug_info; a quarter of the time .debug_abbrev */
			bool ab = rnd() % 4 == 0;
			uint8_t *p = ab ? abbrev : info;
			size_t sz = ab ? l.s.abbrev.size : l.s.info.size;
			size_t at = rnd() % sz;
			switch (rnd() % 3) {
			case 0: p[at] = (uint8_t)rnd(); break;
			case 1: p[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
			default: p[at] = (rnd() & 1) ? 0xff : 0x80; break;
			}
		}
		struct sw_dwarf_sections s = l.s;
		s.info.data = info;
		s.abbrev.data = abbrev;
		/* a truncated section now and then */
		if (rnd() % 8 == 0)
			s.info.size = rnd() % l.s.info.size;
		struct sw_arena a;
		sw_arena_init(&a, 64u << 20);
		struct sw_dwarf *d = NULL;
		int rc = sw_dwarf_open(&s, NULL, &a, &d);
		answers[0] += rc == 0;
		for (int k = 0; rc == 0 && k < 24; k++) {
			uint64_t addr = l.text_lo + rnd() % (l.text_hi - l.text_lo + 1);
			struct sw_dwarf_frame f[8];
			int n = sw_dwarf_lookup(d, addr, f, 8);
			CHECK(n >= 0 || n == SW_ENOMEM);
			for (int j = 0; j < n && j < 8; j++) {
				/* the strings must be readable */
				if (f[j].name)
					answers[2] += strlen(f[j].name) > 0;
				if (f[j].file)
					answers[2] += strlen(f[j].file) > 0;
			}
			answers[1] += n > 0;
		}
		sw_arena_destroy(&a);
	}
	free(info);
	free(abbrev);
	sw_elf_close(&l.elf);
}

TEST(corrupt_debug_info_and_abbrev)
{
	CHECK(build_all());
	uint64_t answers[3] = { 0 };
	/* 2000 mutated copies over four builds: DWARF 4 and 5, gcc and clang */
	corrupt(built[11], 500, answers);
	corrupt(built[17], 500, answers);
	corrupt(built[1], 500, answers);
	corrupt(built[9], 500, answers);
	printf("    2000 corrupted copies: %llu opened, %llu lookups answered\n",
	       (unsigned long long)answers[0], (unsigned long long)answers[1]);
	CHECK(answers[0] > 0);
}

/* ---------------------------------------------------------------- speed */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A generated single-unit program (many functions and inline chains,
 * -O2 -g): open + 10,000 random lookups, timed (printed, not judged). */
TEST(speed_big_unit)
{
	CHECK(make_tmpdir());
	char src[PATH_MAX], bin[PATH_MAX], cmd[2 * PATH_MAX + 64];
	snprintf(src, sizeof(src), "%s/big.c", tmpdir);
	snprintf(bin, sizeof(bin), "%s/big", tmpdir);
	FILE *w = fopen(src, "w");
	CHECK(w != NULL);
	if (!w)
		return;
	enum { NF = 600 };
	fprintf(w, "volatile int sink;\n");
	for (int i = 0; i < NF; i++) {
		fprintf(w, "static inline int in%d(int x) { sink += x; if (x & %d) sink ^= x * %d; return x + sink; }\n",
			i, i % 7 + 1, i);
		fprintf(w, "__attribute__((noinline)) int fn%d(int x)\n{\n\tint s = 0;\n", i);
		fprintf(w, "\tfor (int k = 0; k < x; k++)\n\t\ts += in%d(k) * in%d(s);\n", i, i / 2);
		fprintf(w, "\tif (s > %d)\n\t\ts -= fn%d(x - 1);\n\treturn s;\n}\n", i, i > 0 ? i - 1 : 0);
	}
	fprintf(w, "int main(int argc, char **argv) { (void)argv; return fn%d(argc); }\n", NF - 1);
	fclose(w);
	snprintf(cmd, sizeof(cmd), "nice gcc -O2 -g -o '%s' '%s'", bin, src);
	CHECK_EQ(system(cmd), 0);
	struct loaded l;
	if (load(bin, &l) != 0) {
		CHECK(!"load big");
		return;
	}
	double t0 = now();
	struct sw_arena a;
	sw_arena_init(&a, 0);
	struct sw_dwarf *d = NULL;
	CHECK_EQ(sw_dwarf_open(&l.s, NULL, &a, &d), 0);
	double t1 = now();
	uint64_t found = 0;
	for (int i = 0; d && i < 10000; i++) {
		uint64_t addr = l.text_lo + rnd() % (l.text_hi - l.text_lo);
		struct sw_dwarf_frame f[MAXF];
		found += sw_dwarf_lookup(d, addr, f, MAXF) > 0;
	}
	double t2 = now();
	printf("    big unit (%zu bytes of .debug_info): open %.2f ms, 10000 lookups %.2f ms (first parse included), %llu found, arena %llu KiB\n",
	       l.s.info.size, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (unsigned long long)found,
	       (unsigned long long)(atomic_load(&a.mapped) >> 10));
	CHECK(found > 9000);
	sw_arena_destroy(&a);
	sw_elf_close(&l.elf);
}

/* last: registration order is file order */
TEST(cleanup)
{
	rm_tmpdir();
}
