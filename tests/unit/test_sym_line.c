/*
 * The .debug_line decoder (src/symbolize/line.c) against real programs
 * and real tools.
 *
 * real_programs: tests/sym_line/ (C: two units and a header with inline
 * functions in another directory; C++: two units sharing templates and
 * inline functions) is built by gcc and clang at -O0 and -O2 with DWARF
 * 4 and 5 (and gcc's DWARF 2/3, 64-bit DWARF).  For every unit
 * (DW_AT_stmt_list and DW_AT_comp_dir from `llvm-dwarfdump --debug-info`):
 *   (a) each decoded sequence equals one of `llvm-dwarfdump --debug-line`'s
 *       (address, line, column, file, end_sequence of every row), and each
 *       of its sequences we left out is one of the kinds line.h leaves out
 *       (starts at 0 or a tombstone, or is empty);
 *   (b) for every instruction of .text (`objdump -d`), sw_line_lookup and
 *       sw_line_file give the file:line:column `llvm-symbolizer
 *       --no-inlines` prints.
 * crafted: line programs written in assembler (.byte/.uleb128) use what
 * compilers do not: DWARF 2/3 headers, define_file, unknown standard
 * opcodes, min_inst_length > 1, VLIW op_index, a bad extended length;
 * compared with llvm-dwarfdump the same way.
 * corrupt: 2000 seeded mutations of real .debug_line sections never crash
 * (run it under `make SAN=1`).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf/elf.h"
#include "../harness.h"
#include "symbolize/line.h"

#define MAX_UNITS 64

/* ---- helpers ---- */

static char tmpdir[64];
static char repo[PATH_MAX];

static bool setup(void)
{
	if (tmpdir[0])
		return true;
	if (!getcwd(repo, sizeof(repo)) || access("tests/sym_line/main.c", R_OK) != 0) {
		printf("    run from the repository root (tests/sym_line/ not found)\n");
		return false;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-symline-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = 0;
		return false;
	}
	return true;
}

static void cleanup(void)
{
	char cmd[128];
	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", tmpdir);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		printf("    command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* The DWARF sections of an opened ELF. */
static void sections_of(const struct sw_elf *e, struct sw_dwarf_sections *dw)
{
	static const struct { const char *name; size_t off; } map[] = {
		{ ".debug_line", offsetof(struct sw_dwarf_sections, line) },
		{ ".debug_line_str", offsetof(struct sw_dwarf_sections, line_str) },
		{ ".debug_str", offsetof(struct sw_dwarf_sections, str) },
	};
	memset(dw, 0, sizeof(*dw));
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct sw_elf_section s;
		if (sw_elf_find_section(e, map[i].name, &s) == 0 && s.data) {
			struct sw_bytes *b = (struct sw_bytes *)((char *)dw + map[i].off);
			b->data = s.data;
			b->size = s.size;
		}
	}
}

/* ---- llvm-dwarfdump ---- */

struct unit {
	uint64_t stmt;
	char comp_dir[PATH_MAX];
	struct sw_line_table t;
	int err;
};

/* Units (stmt_list, comp_dir) from `llvm-dwarfdump --debug-info`. */
static int dump_units(const char *file, struct unit *u, int max)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 128];
	int n = -1;
	snprintf(cmd, sizeof(cmd), "llvm-dwarfdump --debug-info '%s'", file);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *s;
		if (strstr(line, "DW_TAG_compile_unit") || strstr(line, "DW_TAG_partial_unit")) {
			if (n + 1 >= max)
				break;
			n++;
			memset(&u[n], 0, sizeof(u[n]));
			u[n].stmt = UINT64_MAX;
		} else if (n >= 0 && (s = strstr(line, "DW_AT_stmt_list\t(")) && u[n].stmt == UINT64_MAX) {
			u[n].stmt = strtoull(s + strlen("DW_AT_stmt_list\t("), NULL, 16);
		} else if (n >= 0 && (s = strstr(line, "DW_AT_comp_dir\t(\"")) && !u[n].comp_dir[0]) {
			s += strlen("DW_AT_comp_dir\t(\"");
			char *q = strrchr(s, '"');
			if (q)
				*q = 0;
			snprintf(u[n].comp_dir, sizeof(u[n].comp_dir), "%s", s);
		}
	}
	pclose(p);
	return n + 1;
}

struct drow {
	uint64_t addr;
	uint32_t line, column, file;
	bool end;
};

struct dseq {
	uint64_t unit;          /* debug_line offset of the program */
	size_t first, n;        /* rows in the dump's row array */
	bool matched;
};

struct dump {
	struct drow *rows;
	size_t nrows, caprows;
	struct dseq *seqs;
	size_t nseqs, capseqs;
};

/* Every row of `llvm-dwarfdump --debug-line`, cut into sequences. */
static int dump_lines(const char *file, struct dump *d)
{
	char cmd[PATH_MAX + 64], line[1024];
	uint64_t unit = 0;
	size_t open_first = 0;
	snprintf(cmd, sizeof(cmd), "llvm-dwarfdump --debug-line '%s'", file);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	memset(d, 0, sizeof(*d));
	while (fgets(line, sizeof(line), p)) {
		unsigned long long a;
		unsigned l, c, f, isa, disc;
		if (sscanf(line, "debug_line[0x%llx]", &a) == 1) {
			unit = a;
			open_first = d->nrows;
			continue;
		}
		if (sscanf(line, "0x%llx %u %u %u %u %u", &a, &l, &c, &f, &isa, &disc) != 6)
			continue;
		if (d->nrows == d->caprows) {
			d->caprows = d->caprows ? 2 * d->caprows : 1024;
			d->rows = realloc(d->rows, d->caprows * sizeof(*d->rows));
		}
		struct drow *r = &d->rows[d->nrows++];
		r->addr = a;
		r->line = l;
		r->column = c;
		r->file = f;
		r->end = strstr(line, "end_sequence") != NULL;
		if (r->end) {
			if (d->nseqs == d->capseqs) {
				d->capseqs = d->capseqs ? 2 * d->capseqs : 64;
				d->seqs = realloc(d->seqs, d->capseqs * sizeof(*d->seqs));
			}
			d->seqs[d->nseqs++] = (struct dseq){ unit, open_first, d->nrows - open_first, false };
			open_first = d->nrows;
		}
	}
	return pclose(p) == 0 ? 0 : -1;
}

static void dump_free(struct dump *d)
{
	free(d->rows);
	free(d->seqs);
}

/* Why line.h leaves a sequence out (NULL: it should not). */
static const char *left_out_kind(const struct dump *d, const struct dseq *q, bool unit_has_nonzero)
{
	uint64_t start = d->rows[q->first].addr, end = d->rows[q->first + q->n - 1].addr;
	if (start >= UINT64_MAX - 1)
		return "tombstone";
	if (start >= end)
		return "empty";
	if (start == 0 && unit_has_nonzero)
		return "at 0 (dropped by the linker)";
	return NULL;
}

/* (a): our sequences of one unit against the dump's. */
static void compare_rows(const char *cfg, const struct unit *u, struct dump *d,
			 size_t *matched, size_t *left_out)
{
	const struct sw_line_table *t = &u->t;
	size_t i = 0;
	bool nonzero = false;

	for (size_t k = 0; k < d->nseqs; k++) {
		const struct dseq *q = &d->seqs[k];
		uint64_t s = d->rows[q->first].addr, e = d->rows[q->first + q->n - 1].addr;
		if (q->unit == u->stmt && s != 0 && s < e && s < UINT64_MAX - 1)
			nonzero = true;
	}
	while (i < t->nrows) {
		size_t j = i;
		while (j < t->nrows && !t->rows[j].end_sequence)
			j++;
		if (j == t->nrows) {
			printf("    %s: unit 0x%llx: last sequence has no end row\n", cfg,
			       (unsigned long long)u->stmt);
			sw_test_failed_checks++;
			return;
		}
		size_t n = j - i + 1;
		bool found = false;
		for (size_t k = 0; k < d->nseqs && !found; k++) {
			struct dseq *q = &d->seqs[k];
			if (q->matched || q->unit != u->stmt || q->n != n)
				continue;
			bool same = true;
			for (size_t m = 0; m < n && same; m++) {
				const struct drow *a = &d->rows[q->first + m];
				const struct sw_line_row *b = &t->rows[i + m];
				same = a->addr == b->addr && a->line == b->line && a->column == b->column &&
				       a->file == b->file && a->end == (b->end_sequence != 0);
			}
			if (same) {
				q->matched = true;
				found = true;
			}
		}
		if (!found) {
			printf("    %s: unit 0x%llx: sequence at 0x%llx (%zu rows) not in llvm-dwarfdump\n",
			       cfg, (unsigned long long)u->stmt, (unsigned long long)t->rows[i].addr, n);
			sw_test_failed_checks++;
		} else {
			(*matched)++;
		}
		i = j + 1;
	}
	for (size_t k = 0; k < d->nseqs; k++) {
		struct dseq *q = &d->seqs[k];
		if (q->unit != u->stmt || q->matched)
			continue;
		const char *why = left_out_kind(d, q, nonzero);
		if (!why) {
			printf("    %s: unit 0x%llx: llvm-dwarfdump's sequence at 0x%llx missing\n", cfg,
			       (unsigned long long)u->stmt, (unsigned long long)d->rows[q->first].addr);
			sw_test_failed_checks++;
		} else {
			(*left_out)++;
		}
	}
}

/* ---- (b): llvm-symbolizer over every .text instruction ---- */

static void compare_symbolizer(const char *cfg, const char *exe, struct unit *u, int nu,
			       size_t *same, size_t *symtab_file, size_t *total)
{
	char cmd[6 * PATH_MAX], line[PATH_MAX + 128], addrs[PATH_MAX], syms[PATH_MAX];
	unsigned long long *av = NULL;
	size_t n = 0, cap = 0;

	snprintf(addrs, sizeof(addrs), "%s/addrs", tmpdir);
	snprintf(syms, sizeof(syms), "%s/syms", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "objdump -d --no-show-raw-insn -j .text '%s' | "
		 "sed -n 's/^ *\\([0-9a-f][0-9a-f]*\\):\t.*/0x\\1/p' > '%s' && "
		 "llvm-symbolizer --obj='%s' --no-inlines < '%s' > '%s'",
		 exe, addrs, exe, addrs, syms);
	if (sh(cmd) != 0) {
		sw_test_failed_checks++;
		return;
	}
	FILE *fa = fopen(addrs, "r"), *fs = fopen(syms, "r");
	if (!fa || !fs) {
		CHECK(!"open symbolizer files");
		if (fa)
			fclose(fa);
		if (fs)
			fclose(fs);
		return;
	}
	while (fgets(line, sizeof(line), fa)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			av = realloc(av, cap * sizeof(*av));
		}
		av[n++] = strtoull(line, NULL, 16);
	}
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		char fn[PATH_MAX + 128], loc[PATH_MAX + 128], mine[PATH_MAX + 64];
		/* one frame: the function, its location, an empty line */
		if (!fgets(fn, sizeof(fn), fs) || !fgets(loc, sizeof(loc), fs) ||
		    !fgets(line, sizeof(line), fs)) {
			CHECK(!"llvm-symbolizer output too short");
			break;
		}
		loc[strcspn(loc, "\n")] = 0;
		const struct sw_line_row *row = NULL;
		const struct sw_line_table *t = NULL;
		for (int k = 0; k < nu && !row; k++) {
			if (sw_line_lookup(&u[k].t, av[i], &row) == 0)
				t = &u[k].t;
		}
		if (!row) {
			snprintf(mine, sizeof(mine), "??:0:0");
		} else {
			const char *f = sw_line_file(t, row->file);
			snprintf(mine, sizeof(mine), "%s:%u:%u", f ? f : "??", row->line, row->column);
		}
		(*total)++;
		size_t ll = strlen(loc);
		if (strcmp(mine, loc) == 0) {
			(*same)++;
		} else if (!row && ll > 4 && strcmp(loc + ll - 4, ":0:0") == 0 && !strchr(loc, '/')) {
			/* no unit has a line for it (crtstuff.c's functions):
			 * llvm-symbolizer names the symbol table's STT_FILE
			 * symbol, which is not line-table information */
			(*symtab_file)++;
		} else {
			if (shown++ < 8)
				printf("    %s: 0x%llx: ours %s, llvm-symbolizer %s\n", cfg, av[i], mine, loc);
			sw_test_failed_checks++;
		}
	}
	free(av);
	fclose(fa);
	fclose(fs);
}

/* ---- one build ---- */

struct cfg {
	const char *cc;
	const char *flags;      /* -O and -g flags */
	bool cxx;
};

static void check_build(const struct cfg *c)
{
	char exe[PATH_MAX], cmd[3 * PATH_MAX], name[128];
	static struct unit units[MAX_UNITS];
	struct sw_dwarf_sections dw;
	struct sw_arena arena;
	struct sw_elf e;
	struct dump d;
	size_t matched = 0, left_out = 0, same = 0, symtab_file = 0, total = 0, nrows = 0;

	snprintf(name, sizeof(name), "%s %s %s", c->cc, c->flags, c->cxx ? "C++" : "C");
	snprintf(exe, sizeof(exe), "%s/prog", tmpdir);
	/* relative source names: the line tables then need comp_dir joined */
	if (c->cxx)
		snprintf(cmd, sizeof(cmd), "%s %s -Itests/sym_line/inc tests/sym_line/a.cc "
			 "tests/sym_line/b.cc -o '%s'", c->cc, c->flags, exe);
	else
		snprintf(cmd, sizeof(cmd), "%s %s -Itests/sym_line/inc tests/sym_line/main.c "
			 "tests/sym_line/other.c -o '%s'", c->cc, c->flags, exe);
	if (sh(cmd) != 0) {
		sw_test_failed_checks++;
		return;
	}
	int nu = dump_units(exe, units, MAX_UNITS);
	if (nu <= 0 || dump_lines(exe, &d) != 0) {
		printf("    %s: llvm-dwarfdump failed\n", name);
		sw_test_failed_checks++;
		return;
	}
	if (sw_elf_open_file(&e, exe) != 0) {
		CHECK(!"sw_elf_open_file");
		dump_free(&d);
		return;
	}
	sections_of(&e, &dw);
	sw_arena_init(&arena, 0);
	for (int k = 0; k < nu; k++) {
		if (units[k].stmt == UINT64_MAX)
			continue;
		units[k].err = sw_line_parse(&dw, units[k].stmt, units[k].comp_dir[0] ? units[k].comp_dir : NULL,
					     NULL, 8, &arena, &units[k].t);
		if (units[k].err) {
			printf("    %s: unit 0x%llx: sw_line_parse %d\n", name,
			       (unsigned long long)units[k].stmt, units[k].err);
			sw_test_failed_checks++;
			continue;
		}
		nrows += units[k].t.nrows;
		compare_rows(name, &units[k], &d, &matched, &left_out);
	}
	compare_symbolizer(name, exe, units, nu, &same, &symtab_file, &total);
	printf("  %-40s %d units, %4zu rows, %3zu sequences as llvm-dwarfdump + %zu left out; "
	       "%4zu/%4zu addresses as llvm-symbolizer + %zu outside every unit (STT_FILE)\n",
	       name, nu, nrows, matched, left_out, same, total, symtab_file);
	CHECK(total > 100 && matched > 0);
	sw_arena_destroy(&arena);
	sw_elf_close(&e);
	dump_free(&d);
}

TEST(real_programs)
{
	static const struct cfg cfgs[] = {
		{ "gcc", "-O0 -gdwarf-4", false }, { "gcc", "-O2 -gdwarf-4", false },
		{ "gcc", "-O0 -gdwarf-5", false }, { "gcc", "-O2 -gdwarf-5", false },
		{ "clang", "-O0 -gdwarf-4", false }, { "clang", "-O2 -gdwarf-4", false },
		{ "clang", "-O0 -gdwarf-5", false }, { "clang", "-O2 -gdwarf-5", false },
		{ "g++", "-O0 -gdwarf-4", true }, { "g++", "-O2 -gdwarf-4", true },
		{ "g++", "-O0 -gdwarf-5", true }, { "g++", "-O2 -gdwarf-5", true },
		{ "clang++", "-O0 -gdwarf-4", true }, { "clang++", "-O2 -gdwarf-4", true },
		{ "clang++", "-O0 -gdwarf-5", true }, { "clang++", "-O2 -gdwarf-5", true },
		/* older versions and 64-bit DWARF: gas writes version 3 for
		 * DWARF 2 and 32-bit tables whatever -gdwarf64 says, so gcc
		 * writes these line programs itself (-gno-as-loc-support) */
		{ "gcc", "-O2 -gdwarf-2 -gno-as-loc-support", false }, { "gcc", "-O2 -gdwarf-3", false },
		{ "gcc", "-O2 -gdwarf-5 -gno-as-loc-support", false },
		{ "gcc", "-O2 -gdwarf-5 -gdwarf64 -gno-as-loc-support", false },
		{ "g++", "-O0 -gdwarf-4 -gdwarf64 -gno-as-loc-support", true },
		{ "clang", "-O2 -gdwarf-5 -gdwarf64", false },
		/* functions the linker drops: GNU ld sends their rows to 0,
		 * lld to a tombstone */
		{ "gcc", "-O2 -gdwarf-4 -ffunction-sections -Wl,--gc-sections", false },
		{ "gcc", "-O0 -gdwarf-5 -ffunction-sections -Wl,--gc-sections", false },
		{ "clang", "-O0 -gdwarf-5 -ffunction-sections -fuse-ld=lld -Wl,--gc-sections", false },
		{ "clang", "-O2 -gdwarf-4 -ffunction-sections -fuse-ld=lld -Wl,--gc-sections", false },
		{ "clang++", "-O0 -gdwarf-5 -fuse-ld=lld", true },
		{ "g++", "-O0 -gdwarf-4 -fuse-ld=lld", true },
	};
	if (!setup()) {
		CHECK(!"setup");
		return;
	}
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
		check_build(&cfgs[i]);
}

/* ---- crafted programs (tests/sym_line/crafted.s) ---- */

TEST(crafted)
{
	char obj[PATH_MAX], cmd[2 * PATH_MAX];
	struct sw_dwarf_sections dw;
	struct sw_arena arena;
	struct sw_elf e;
	struct dump d;
	static struct unit u;
	size_t matched = 0, left_out = 0, units = 0;

	if (!setup()) {
		CHECK(!"setup");
		return;
	}
	snprintf(obj, sizeof(obj), "%s/crafted.o", tmpdir);
	snprintf(cmd, sizeof(cmd), "as tests/sym_line/crafted.s -o '%s'", obj);
	if (sh(cmd) != 0 || dump_lines(obj, &d) != 0) {
		sw_test_failed_checks++;
		return;
	}
	if (sw_elf_open_file(&e, obj) != 0) {
		CHECK(!"sw_elf_open_file");
		dump_free(&d);
		return;
	}
	sections_of(&e, &dw);
	sw_arena_init(&arena, 0);
	/* the programs one after another from offset 0 */
	for (uint64_t off = 0; off + 4 <= dw.line.size; units++) {
		uint32_t l32;
		uint64_t len, hdr = 4;
		memcpy(&l32, dw.line.data + off, 4);
		len = l32;
		if (l32 == 0xffffffffu) {
			memcpy(&len, dw.line.data + off + 4, 8);
			hdr = 12;
		}
		memset(&u, 0, sizeof(u));
		u.stmt = off;
		CHECK_EQ(sw_line_parse(&dw, off, "/cc", NULL, 8, &arena, &u.t), 0);
		compare_rows("crafted", &u, &d, &matched, &left_out);
		off += hdr + len;
	}
	printf("  crafted: %zu units, %zu sequences as llvm-dwarfdump + %zu left out\n", units, matched,
	       left_out);
	CHECK_EQ(units, 3);
	CHECK_EQ(matched, 4);
	sw_arena_destroy(&arena);
	sw_elf_close(&e);
	dump_free(&d);
}

/* ---- corrupt input ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: seeded, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Parse every program reachable from offset 0 of a (mutated) section and
 * use the results; nothing may crash, hang or read out of bounds. */
static void parse_all(const struct sw_dwarf_sections *dw, size_t *ok, size_t *bad)
{
	uint64_t off = 0;
	for (int k = 0; k < 256 && off < dw->line.size; k++) {
		struct sw_arena a;
		struct sw_line_table t;
		const struct sw_line_row *row;
		sw_arena_init(&a, 64u << 20);
		int err = sw_line_parse(dw, off, "/comp", "x.c", 8, &a, &t);
		if (err)
			(*bad)++;
		else
			(*ok)++;
		volatile size_t sink = 0;
		for (uint32_t i = 0; i < t.nfiles + 2; i++) {
			const char *f = sw_line_file(&t, i);
			if (f)
				sink += strlen(f);
		}
		for (size_t i = 0; i < t.nrows; i += 1 + t.nrows / 16) {
			if (sw_line_lookup(&t, t.rows[i].addr, &row) == 0)
				sink += row->line;
			CHECK(i == 0 || t.rows[i].addr >= t.rows[i - 1].addr);
		}
		(void)sink;
		sw_arena_destroy(&a);
		/* next program: its unit_length, as a reader of the section would */
		if (off + 4 > dw->line.size)
			break;
		uint32_t len32;
		memcpy(&len32, dw->line.data + off, 4);
		uint64_t len = len32;
		uint64_t hdr = 4;
		if (len32 == 0xffffffffu) {
			if (off + 12 > dw->line.size)
				break;
			memcpy(&len, dw->line.data + off + 4, 8);
			hdr = 12;
		}
		if (len > dw->line.size - off - hdr)
			break;
		off += hdr + len;
	}
}

static void mutate_file(const char *exe, uint64_t seed, int rounds, size_t *ok, size_t *bad)
{
	struct sw_elf e;
	struct sw_dwarf_sections dw;
	if (sw_elf_open_file(&e, exe) != 0) {
		CHECK(!"sw_elf_open_file");
		return;
	}
	sections_of(&e, &dw);
	size_t size = dw.line.size;
	uint8_t *buf = malloc(size + 1);
	if (!buf || size == 0) {
		CHECK(!"no .debug_line");
		free(buf);
		sw_elf_close(&e);
		return;
	}
	rng_state = seed;
	struct sw_dwarf_sections m = dw;
	for (int round = 0; round < rounds; round++) {
		memcpy(buf, dw.line.data, size);
		size_t len = size;
		int edits = 1 + (int)(rng() % 8);
		for (int i = 0; i < edits; i++) {
			size_t at = rng() % len;
			switch (rng() % 5) {
			case 0: buf[at] ^= (uint8_t)(1u << (rng() % 8)); break;
			case 1: buf[at] = (uint8_t)rng(); break;
			case 2: buf[at] = (uint8_t[]){ 0x00, 0x7f, 0x80, 0xff }[rng() % 4]; break;
			case 3: len = at + 1; break;     /* truncate */
			default:                        /* a byte in the first header */
				buf[rng() % (len < 64 ? len : 64)] = (uint8_t)rng();
				break;
			}
		}
		/* a copy of exactly `len` bytes, so ASan sees reads past the end */
		uint8_t *exact = malloc(len);
		memcpy(exact, buf, len);
		m.line.data = exact;
		m.line.size = len;
		parse_all(&m, ok, bad);
		free(exact);
	}
	free(buf);
	sw_elf_close(&e);
}

TEST(corrupt)
{
	static const struct cfg cfgs[] = {
		{ "g++", "-O2 -gdwarf-5", true },
		{ "gcc", "-O2 -gdwarf-4", false },
		{ "clang++", "-O0 -gdwarf-5", true },
		{ "gcc", "-O0 -gdwarf-5 -gdwarf64 -gno-as-loc-support", false },
	};
	char exe[PATH_MAX], cmd[3 * PATH_MAX];
	size_t ok = 0, bad = 0;
	if (!setup()) {
		CHECK(!"setup");
		return;
	}
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		const struct cfg *c = &cfgs[i];
		snprintf(exe, sizeof(exe), "%s/corrupt%zu", tmpdir, i);
		snprintf(cmd, sizeof(cmd), "%s %s -Itests/sym_line/inc tests/sym_line/%s -o '%s'",
			 c->cc, c->flags, c->cxx ? "a.cc tests/sym_line/b.cc" : "main.c tests/sym_line/other.c",
			 exe);
		if (sh(cmd) != 0) {
			sw_test_failed_checks++;
			continue;
		}
		mutate_file(exe, 0x5eed0000u + i, 500, &ok, &bad);
	}
	printf("  2000 mutations: %zu programs parsed, %zu rejected with an error\n", ok, bad);
	CHECK(ok > 0 && bad > 0);
}

SW_TEST_MAIN

__attribute__((destructor)) static void at_exit(void)
{
	cleanup();
}
