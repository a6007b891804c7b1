/*
 * Module files for the symbolizer (src/symbolize/file.h) and sw_demangle,
 * on files the real tools make at test time (tests/sym_file/
 * make_variants.sh: gcc and clang builds, objcopy's zlib-gabi, zstd and
 * zlib-gnu compression, strip + .gnu_debuglink, build-id debug files,
 * Fedora's MiniDebugInfo recipe, dwz common files) and the system's libc
 * with Debian's libc6-dbg:
 *  - decompressed DWARF sections are byte-identical to the uncompressed
 *    build's sections;
 *  - the function symbols agree with nm (every function nm lists is found
 *    at its address under one of its names; the table holds one entry per
 *    such address);
 *  - the right debug file / dwz file is chosen, a wrong CRC or build-id is
 *    refused;
 *  - lying Chdr sizes, truncated or corrupt streams, a corrupt xz image
 *    and a small arena cap leave sections out without a crash;
 *  - sw_demangle prints what c++filt prints, for every name of
 *    libstdc++.so.6's .dynsym and some Rust names.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include <stackwalk.h>
#include <stackwalk/symbolize.h>

#include "elf/elf.h"
#include "symbolize/arena.h"
#include "symbolize/file.h"

/* ---- the variants, made once per configuration ---- */

struct config {
	const char *cc;
	const char *cflags;
	char dir[128];
	int made;                  /* 0 not yet, 1 made, -1 failed */
	int have_dwz;
};

static struct config configs[] = {
	{ "gcc", "-O2 -g", "", 0, 0 },
	{ "clang", "-O0 -gdwarf-4", "", 0, 0 },
};
#define NCONFIG (sizeof(configs) / sizeof(configs[0]))

static char top[64];

static void cleanup(void)
{
	if (top[0] && !getenv("SW_KEEP_TMP")) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", top);
	}
}

static const struct config *variants(size_t i)
{
	struct config *c = &configs[i];
	if (c->made)
		return c->made > 0 ? c : NULL;
	if (!top[0]) {
		strcpy(top, "/tmp/sw_sym_file.XXXXXX");
		if (!mkdtemp(top)) {
			top[0] = 0;
			c->made = -1;
			return NULL;
		}
		atexit(cleanup);
	}
	snprintf(c->dir, sizeof(c->dir), "%s/%s", top, c->cc);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "tests/sym_file/make_variants.sh %s %s %s 2>%s.log >/dev/null",
		 c->dir, c->cc, c->cflags, c->dir);
	c->made = system(cmd) == 0 ? 1 : -1;
	if (c->made < 0) {
		printf("    make_variants.sh failed (%s), log %s.log\n", cmd, c->dir);
		return NULL;
	}
	char p[256];
	snprintf(p, sizeof(p), "%s/dwz/common.debug", c->dir);
	c->have_dwz = access(p, R_OK) == 0;
	return c;
}

static const char *vpath(const struct config *c, const char *rel)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", c->dir, rel);
	return buf[k];
}

/* ---- checks ---- */

static const char *const dwarf_names[] = {
	"info", "abbrev", "line", "line_str", "str", "str_offsets",
	"addr", "ranges", "rnglists", "aranges",
};

static struct sw_bytes slot(const struct sw_dwarf_sections *dw, size_t i)
{
	const struct sw_bytes *b[] = { &dw->info, &dw->abbrev, &dw->line, &dw->line_str,
				       &dw->str, &dw->str_offsets, &dw->addr, &dw->ranges,
				       &dw->rnglists, &dw->aranges };
	return *b[i];
}

/* dw holds exactly the .debug_* sections of the uncompressed file `ref`. */
static void check_sections_like(const struct sw_dwarf_sections *dw, const char *ref)
{
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_file(&e, ref), 0);
	int present = 0;
	for (size_t i = 0; i < sizeof(dwarf_names) / sizeof(dwarf_names[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), ".debug_%s", dwarf_names[i]);
		struct sw_elf_section s;
		struct sw_bytes b = slot(dw, i);
		if (sw_elf_find_section(&e, name, &s) != 0) {
			CHECK(b.data == NULL && b.size == 0);
			continue;
		}
		CHECK(!(s.flags & SHF_COMPRESSED));
		present++;
		if (b.size != s.size || !b.data || memcmp(b.data, s.data, b.size) != 0) {
			printf("    %s of %s differs (%zu vs %llu bytes)\n", name, ref, b.size,
			       (unsigned long long)s.size);
			sw_test_failed_checks++;
		}
	}
	CHECK(present >= 4); /* info, abbrev, line, str at least */
	sw_elf_close(&e);
}

struct nmsym {
	uint64_t addr, size;
	char name[256];
};

/* Is `addr` in an executable section of `e`?  (nm's W also marks weak
 * data such as data_start.) */
static bool in_code(const struct sw_elf *e, uint64_t addr)
{
	for (unsigned i = 1; i < e->shnum; i++) {
		const Elf64_Shdr *sh = &e->shdrs[i];
		if ((sh->sh_flags & SHF_EXECINSTR) && addr >= sh->sh_addr &&
		    addr - sh->sh_addr < sh->sh_size)
			return true;
	}
	return false;
}

/* The function symbols nm lists in `cmd`'s output ("nm -S ...") that lie
 * in code of the ELF file `secfile`. */
static size_t read_nm(const char *cmd, const char *secfile, struct nmsym *out, size_t max)
{
	struct sw_elf e;
	if (sw_elf_open_file(&e, secfile) != 0) {
		printf("    cannot open %s\n", secfile);
		return 0;
	}
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	char line[1024];
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char f[4][512];
		int k = sscanf(line, "%511s %511s %511s %511s", f[0], f[1], f[2], f[3]);
		const char *type, *name, *size = NULL;
		if (k == 4) {
			size = f[1], type = f[2], name = f[3];
		} else if (k == 3) {
			type = f[1], name = f[2];
		} else {
			continue;
		}
		if (strlen(type) != 1 || !strchr("TtWi", type[0]) || n >= max)
			continue;
		struct nmsym *s = &out[n];
		s->addr = strtoull(f[0], NULL, 16);
		s->size = size ? strtoull(size, NULL, 16) : 0;
		if (s->addr == 0 || !in_code(&e, s->addr))
			continue;
		size_t l = strcspn(name, "@");
		if (l >= sizeof(s->name))
			l = sizeof(s->name) - 1;
		memcpy(s->name, name, l);
		s->name[l] = 0;
		n++;
	}
	pclose(p);
	sw_elf_close(&e);
	return n;
}

static bool nm_has(const struct nmsym *s, size_t n, uint64_t addr, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].addr == addr && strcmp(s[i].name, name) == 0)
			return true;
	}
	return false;
}

/* Every function of `nmcmd` is found at its address under one of its
 * names, its last byte too when no other function starts inside it; with
 * `exact`, the table has one entry per such address and nothing more. */
static void check_symbols_like(const struct sw_sym_file *f, const char *nmcmd,
			       const char *secfile, bool exact)
{
	static struct nmsym s[200000];
	size_t n = read_nm(nmcmd, secfile, s, sizeof(s) / sizeof(s[0]));
	CHECK(n > 0);
	size_t bad = 0, addrs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sw_sym_symbol *sym = NULL;
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = s[j].addr != s[i].addr;
		addrs += first;
		if (sw_sym_file_symbol(f, s[i].addr, &sym) != 0 || sym->addr != s[i].addr ||
		    !nm_has(s, n, sym->addr, sym->name)) {
			if (bad++ < 5)
				printf("    %s: %s at 0x%llx -> %s at 0x%llx\n", nmcmd, s[i].name,
				       (unsigned long long)s[i].addr, sym ? sym->name : "(none)",
				       sym ? (unsigned long long)sym->addr : 0ull);
			continue;
		}
		if (s[i].size > 1) {
			uint64_t last = s[i].addr + s[i].size - 1;
			bool inner = false;
			for (size_t j = 0; j < n && !inner; j++)
				inner = s[j].addr > s[i].addr && s[j].addr <= last;
			if (!inner && (sw_sym_file_symbol(f, last, &sym) != 0 || sym->addr != s[i].addr)) {
				if (bad++ < 5)
					printf("    %s: last byte of %s not found\n", nmcmd, s[i].name);
			}
		}
	}
	CHECK_EQ(bad, 0);
	if (exact)
		CHECK_EQ(f->nsyms, addrs);
}

static struct sw_arena arena;

static int open_file(struct sw_sym_file *f, const char *path, const char *dirs, uint32_t flags)
{
	return sw_sym_file_open(f, path, dirs, flags, &arena);
}

/* ---- tests ---- */

TEST(compressed_sections)
{
	static const char *const kinds[] = { "plain", "zlib", "zstd", "zdebug" };
	sw_arena_init(&arena, 0);
	for (size_t c = 0; c < NCONFIG; c++) {
		const struct config *cf = variants(c);
		CHECK(cf != NULL);
		if (!cf)
			continue;
		for (size_t k = 0; k < 4; k++) {
			struct sw_sym_file f;
			CHECK_EQ(open_file(&f, vpath(cf, kinds[k]), "/nonexistent", 0), 0);
			CHECK(f.have_dwarf);
			CHECK(!f.have_dbg && !f.have_alt && !f.have_mini && f.debug_path == NULL);
			CHECK_EQ(f.decompress_errors, 0);
			check_sections_like(&f.dw, vpath(cf, "plain"));
			char cmd[600];
			snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s", vpath(cf, "plain"));
			check_symbols_like(&f, cmd, vpath(cf, "plain"), true);
			/* the build-id is the module's note */
			CHECK(f.build_id_size >= 16);
			sw_sym_file_close(&f);
		}
	}
	sw_arena_destroy(&arena);
}

TEST(debug_files)
{
	sw_arena_init(&arena, 0);
	for (size_t c = 0; c < NCONFIG; c++) {
		const struct config *cf = variants(c);
		if (!cf)
			continue;
		char dirs[600], want[600], cmd[600];
		snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s", vpath(cf, "plain"));
		struct {
			const char *file, *dirs, *debug;
		} cases[] = {
			{ "dl/prog", "/nonexistent", "dl/prog.debug" },
			{ "dl2/prog", "/nonexistent", "dl2/.debug/prog.debug" },
			{ "dl3/prog", "gdir", NULL /* below */ },
			{ "bid/prog", "bdir", "bdir/.build-id/" },
		};
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			struct sw_sym_file f;
			snprintf(dirs, sizeof(dirs), "/nonexistent::%s", vpath(cf, cases[k].dirs));
			if (cases[k].debug)
				snprintf(want, sizeof(want), "%s", vpath(cf, cases[k].debug));
			else
				snprintf(want, sizeof(want), "%s/gdir%s/dl3/prog.debug", cf->dir, cf->dir);
			CHECK_EQ(open_file(&f, vpath(cf, cases[k].file), dirs, 0), 0);
			CHECK(f.have_dbg && f.have_dwarf);
			CHECK(f.debug_path && strncmp(f.debug_path, want, strlen(want)) == 0);
			if (f.debug_path && strncmp(f.debug_path, want, strlen(want)) != 0)
				printf("    debug_path %s, want %s\n", f.debug_path, want);
			CHECK_EQ(f.decompress_errors, 0);
			check_sections_like(&f.dw, vpath(cf, "plain"));
			check_symbols_like(&f, cmd, vpath(cf, "plain"), true);
			sw_sym_file_close(&f);

			/* SW_SYM_NO_DEBUG_FILES: the stripped module alone */
			CHECK_EQ(open_file(&f, vpath(cf, cases[k].file), dirs, SW_SYM_NO_DEBUG_FILES), 0);
			CHECK(!f.have_dbg && !f.have_dwarf && f.debug_path == NULL);
			sw_sym_file_close(&f);
		}
		/* a debug file with another CRC is not taken */
		struct sw_sym_file f;
		CHECK_EQ(open_file(&f, vpath(cf, "dlbad/prog"), "/nonexistent", 0), 0);
		CHECK(!f.have_dbg && !f.have_dwarf && f.debug_path == NULL);
		sw_sym_file_close(&f);
	}
	sw_arena_destroy(&arena);
}

TEST(minidebuginfo)
{
	sw_arena_init(&arena, 0);
	for (size_t c = 0; c < NCONFIG; c++) {
		const struct config *cf = variants(c);
		if (!cf)
			continue;
		struct sw_sym_file f;
		char cmd[600];
		CHECK_EQ(open_file(&f, vpath(cf, "mini"), "/nonexistent", 0), 0);
		CHECK(f.have_mini && !f.have_dbg && !f.have_dwarf);
		CHECK_EQ(f.decompress_errors, 0);
		/* the image is the xz file's content */
		struct sw_elf e;
		CHECK_EQ(sw_elf_open_file(&e, vpath(cf, "mini.debug")), 0);
		CHECK(f.mini.size == e.size && memcmp(f.mini.image, e.image, e.size) == 0);
		sw_elf_close(&e);
		/* .dynsym + MiniDebugInfo = every function of the full build */
		snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s", vpath(cf, "plain"));
		check_symbols_like(&f, cmd, vpath(cf, "plain"), true);
		sw_sym_file_close(&f);
	}
	sw_arena_destroy(&arena);
}

TEST(dwz)
{
	sw_arena_init(&arena, 0);
	for (size_t c = 0; c < NCONFIG; c++) {
		const struct config *cf = variants(c);
		if (!cf)
			continue;
		if (!cf->have_dwz) {
			printf("    dwz not installed (apt-get install dwz)\n");
			sw_test_failed_checks++;
			continue;
		}
		struct {
			const char *dir, *alt;
		} cases[] = {
			{ "dwz", "dwz/common.debug" },
			{ "dwzrel", "dwzrel/common.debug" },
			{ "dwzbid", "bdir/.build-id/" },
			{ "dwzbad", NULL },
		};
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			char rel[64], cmd[600], dirs[600];
			/* dwzbad's a and b are dwzbid's: the right common file is
			 * in bdir under its build-id, so look elsewhere */
			snprintf(dirs, sizeof(dirs), "%s",
				 cases[k].alt ? vpath(cf, "bdir") : "/nonexistent");
			for (const char *prog = "a"; prog; prog = prog[0] == 'a' ? "b" : NULL) {
				struct sw_sym_file f;
				snprintf(rel, sizeof(rel), "%s/%s", cases[k].dir, prog);
				CHECK_EQ(open_file(&f, vpath(cf, rel), dirs, 0), 0);
				CHECK(f.have_dwarf && !f.have_dbg);
				CHECK_EQ(f.decompress_errors, 0);
				/* the module's own DWARF */
				check_sections_like(&f.dw, vpath(cf, rel));
				snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s", vpath(cf, rel));
				check_symbols_like(&f, cmd, vpath(cf, rel), true);
				if (cases[k].alt) {
					const char *want = vpath(cf, cases[k].alt);
					CHECK(f.have_alt);
					CHECK(strncmp(f.alt.path, want, strlen(want)) == 0);
					if (f.have_alt)
						check_sections_like(&f.altdw, f.alt.path);
				} else {
					CHECK(!f.have_alt); /* wrong build-id */
				}
				sw_sym_file_close(&f);
			}
		}
	}
	sw_arena_destroy(&arena);
}

/* dwz before the split (Debian): the debug file holds the link */
TEST(dwz_in_debug_file)
{
	sw_arena_init(&arena, 0);
	for (size_t c = 0; c < NCONFIG; c++) {
		const struct config *cf = variants(c);
		if (!cf || !cf->have_dwz)
			continue;
		struct sw_sym_file f;
		CHECK_EQ(open_file(&f, vpath(cf, "dwzsplit/a"), "/nonexistent", 0), 0);
		CHECK(f.have_dbg && f.have_dwarf && f.have_alt);
		CHECK_STR(f.debug_path, vpath(cf, "dwzsplit/a.debug"));
		CHECK_STR(f.alt.path, vpath(cf, "dwz/common.debug"));
		CHECK_EQ(f.decompress_errors, 0);
		check_sections_like(&f.dw, vpath(cf, "dwz/a"));
		if (f.have_alt)
			check_sections_like(&f.altdw, vpath(cf, "dwz/common.debug"));
		sw_sym_file_close(&f);
	}
	sw_arena_destroy(&arena);
}

/* ---- hostile sections ---- */

struct image {
	uint8_t *p;
	size_t size;
};

static struct image load(const char *path)
{
	struct image im = { 0 };
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return im;
	fseek(fp, 0, SEEK_END);
	im.size = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	im.p = aligned_alloc(16, (im.size + 15) & ~(size_t)15);
	if (im.p && fread(im.p, 1, im.size, fp) != im.size) {
		free(im.p);
		im.p = NULL;
	}
	fclose(fp);
	return im;
}

static Elf64_Shdr *shdr_of(struct image *im, const char *name)
{
	struct sw_elf e;
	struct sw_elf_section s;
	if (sw_elf_open_mem(&e, im->p, im->size) != 0 || sw_elf_find_section(&e, name, &s) != 0)
		return NULL;
	return (Elf64_Shdr *)(im->p + e.ehdr->e_shoff) + s.index;
}

/* Open a patched image: it opens, .debug_info is left out (counted),
 * the other sections are still there. */
static void expect_info_refused(struct image *im, const char *what)
{
	struct sw_sym_file f;
	CHECK_EQ(sw_sym_file_open_mem(&f, im->p, im->size, what, 0, &arena), 0);
	if (f.dw.info.size != 0 || f.decompress_errors != 1 || f.dw.abbrev.size == 0)
		printf("    %s: info %zu errors %u\n", what, f.dw.info.size, f.decompress_errors);
	CHECK_EQ(f.dw.info.size, 0);
	CHECK_EQ(f.decompress_errors, 1);
	CHECK(f.dw.abbrev.size != 0 && f.nsyms > 0);
	sw_sym_file_close(&f);
}

TEST(lying_headers)
{
	sw_arena_init(&arena, 0);
	const struct config *cf = variants(0);
	CHECK(cf != NULL);
	if (!cf)
		return;
	static const char *const gabi[] = { "zlib", "zstd" };
	for (size_t k = 0; k < 2; k++) {
		struct image im = load(vpath(cf, gabi[k]));
		CHECK(im.p != NULL);
		Elf64_Shdr *sh = shdr_of(&im, ".debug_info");
		CHECK(sh != NULL && (sh->sh_flags & SHF_COMPRESSED));
		if (!sh)
			continue;
		Elf64_Chdr *ch = (Elf64_Chdr *)(im.p + sh->sh_offset);
		uint64_t real = ch->ch_size;
		const uint64_t lies[] = { real + 1, real - 1, real * 2, 1, (uint64_t)1 << 40,
					  UINT64_MAX, 0 };
		for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			ch->ch_size = lies[i];
			expect_info_refused(&im, gabi[k]);
		}
		ch->ch_size = real;
		ch->ch_type = 77; /* unknown compression */
		expect_info_refused(&im, gabi[k]);
		ch->ch_type = k == 0 ? ELFCOMPRESS_ZLIB : 2;
		/* truncated stream, then a header alone */
		uint64_t size = sh->sh_size;
		sh->sh_size = size / 2;
		expect_info_refused(&im, gabi[k]);
		sh->sh_size = sizeof(Elf64_Chdr);
		expect_info_refused(&im, gabi[k]);
		sh->sh_size = sizeof(Elf64_Chdr) - 1;
		expect_info_refused(&im, gabi[k]);
		sh->sh_size = size;
		/* corrupt bytes in the stream: rejected (checksums) or, if the
		 * stream still decodes, exactly ch_size bytes; never a crash */
		uint32_t x = 12345;
		for (int i = 0; i < 200; i++) {
			x = x * 1103515245u + 12345u;
			size_t off = sh->sh_offset + sizeof(Elf64_Chdr) +
				     (x >> 8) % (sh->sh_size - sizeof(Elf64_Chdr));
			uint8_t old = im.p[off];
			im.p[off] ^= (uint8_t)(1u << (x & 7));
			struct sw_sym_file f;
			CHECK_EQ(sw_sym_file_open_mem(&f, im.p, im.size, "fuzz", 0, &arena), 0);
			CHECK(f.dw.info.size == 0 || f.dw.info.size == real);
			sw_sym_file_close(&f);
			im.p[off] = old;
		}
		/* intact again: decodes */
		struct sw_sym_file f;
		CHECK_EQ(sw_sym_file_open_mem(&f, im.p, im.size, "intact", 0, &arena), 0);
		CHECK_EQ(f.decompress_errors, 0);
		check_sections_like(&f.dw, vpath(cf, "plain"));
		sw_sym_file_close(&f);
		free(im.p);
	}

	/* .zdebug: "ZLIB" + big-endian size */
	struct image im = load(vpath(cf, "zdebug"));
	Elf64_Shdr *sh = shdr_of(&im, ".zdebug_info");
	CHECK(sh != NULL);
	if (sh) {
		uint8_t *hdr = im.p + sh->sh_offset;
		uint8_t save[12];
		memcpy(save, hdr, 12);
		hdr[11] ^= 1; /* size off by one */
		expect_info_refused(&im, "zdebug size");
		memcpy(hdr, save, 12);
		hdr[4] = 0x7f; /* huge */
		expect_info_refused(&im, "zdebug huge");
		memcpy(hdr, save, 12);
		hdr[0] = 'X';
		expect_info_refused(&im, "zdebug magic");
		memcpy(hdr, save, 12);
		sh->sh_size = 11;
		expect_info_refused(&im, "zdebug short");
	}
	free(im.p);
	sw_arena_destroy(&arena);
}

TEST(corrupt_minidebuginfo)
{
	sw_arena_init(&arena, 0);
	const struct config *cf = variants(0);
	if (!cf)
		return;
	struct image im = load(vpath(cf, "mini"));
	Elf64_Shdr *sh = shdr_of(&im, ".gnu_debugdata");
	CHECK(sh != NULL);
	if (!sh)
		return;
	uint64_t size = sh->sh_size;
	const uint64_t sizes[] = { size - 1, size / 2, 12, 24, 0 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		sh->sh_size = sizes[i];
		struct sw_sym_file f;
		CHECK_EQ(sw_sym_file_open_mem(&f, im.p, im.size, "mini", 0, &arena), 0);
		CHECK(!f.have_mini);
		CHECK_EQ(f.decompress_errors, sizes[i] ? 1 : 0);
		CHECK(f.nsyms > 0); /* .dynsym still */
		sw_sym_file_close(&f);
	}
	sh->sh_size = size;
	uint32_t x = 99;
	for (int i = 0; i < 100; i++) {
		x = x * 1103515245u + 12345u;
		size_t off = sh->sh_offset + (x >> 8) % size;
		uint8_t old = im.p[off];
		im.p[off] ^= (uint8_t)(1u << (x & 7));
		struct sw_sym_file f;
		CHECK_EQ(sw_sym_file_open_mem(&f, im.p, im.size, "mini", 0, &arena), 0);
		CHECK(!f.have_mini); /* xz checks CRCs of everything */
		sw_sym_file_close(&f);
		im.p[off] = old;
	}
	free(im.p);
	sw_arena_destroy(&arena);
}

TEST(arena_cap)
{
	const struct config *cf = variants(0);
	if (!cf)
		return;
	/* a cap too small for the sections: refused, counted, no crash */
	struct sw_arena small;
	sw_arena_init(&small, 4096 * 4);
	struct sw_sym_file f;
	int rc = sw_sym_file_open(&f, vpath(cf, "zstd"), "/nonexistent", 0, &small);
	CHECK(rc == 0 || rc == SW_ENOMEM);
	if (rc == 0) {
		CHECK(f.decompress_errors > 0);
		CHECK(f.dw.info.size == 0);
		sw_sym_file_close(&f);
	}
	CHECK(small.mapped <= small.cap);
	sw_arena_destroy(&small);
}

TEST(offsets)
{
	sw_arena_init(&arena, 0);
	const struct config *cf = variants(0);
	if (!cf)
		return;
	struct sw_sym_file f;
	CHECK_EQ(open_file(&f, vpath(cf, "plain"), "/nonexistent", 0), 0);
	/* readelf's PT_LOAD rows against every symbol's address */
	char cmd[600], line[512];
	snprintf(cmd, sizeof(cmd), "readelf -lW %s | awk '$1 == \"LOAD\" { print $2, $3, $5 }'",
		 vpath(cf, "plain"));
	uint64_t off[8], va[8], fsz[8];
	size_t n = 0;
	FILE *p = popen(cmd, "r");
	while (p && n < 8 && fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &off[n], &va[n], &fsz[n]) == 3)
			n++;
	}
	if (p)
		pclose(p);
	CHECK(n >= 2);
	for (size_t i = 0; i < f.nsyms; i++) {
		uint64_t a = f.syms[i].addr, want = UINT64_MAX;
		for (size_t k = 0; k < n && want == UINT64_MAX; k++) {
			if (a >= va[k] && a - va[k] < fsz[k])
				want = off[k] + (a - va[k]);
		}
		CHECK(want != UINT64_MAX);
		CHECK(sw_sym_file_offset(&f, a) == want);
		CHECK(sw_sym_file_address(&f, want) == a);
	}
	CHECK(sw_sym_file_offset(&f, 0x7fffffff0000ull) == UINT64_MAX);
	CHECK(sw_sym_file_address(&f, (uint64_t)1 << 40) == UINT64_MAX);
	/* inside a function: the symbol; past a sized one: nothing */
	const struct sw_sym_symbol *s;
	for (size_t i = 0; i < f.nsyms; i++) {
		if (strcmp(f.syms[i].name, "asm_nosize") == 0) {
			CHECK_EQ(f.syms[i].size, 0);
			CHECK_EQ(sw_sym_file_symbol(&f, f.syms[i].addr + 3, &s), 0);
			CHECK_STR(s->name, "asm_nosize");
		}
	}
	CHECK_EQ(sw_sym_file_symbol(&f, 1, &s), SW_ENOTFOUND);
	sw_sym_file_close(&f);
	sw_arena_destroy(&arena);
}

TEST(vdso)
{
	const uint8_t *vdso = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	if (!vdso) {
		printf("    no vDSO: skipped\n");
		return;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)vdso;
	size_t size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	sw_arena_init(&arena, 0);
	struct sw_sym_file f;
	CHECK_EQ(sw_sym_file_open_mem(&f, vdso, size, "[vdso]", 0, &arena), 0);
	CHECK_STR(f.path, "[vdso]");
	CHECK(f.build_id_size > 0);
	/* against nm -D on a copy of the image */
	char path[] = "/tmp/sw_vdso.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, vdso, size) == (ssize_t)size);
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "nm -D -S --defined-only %s", path);
	check_symbols_like(&f, cmd, path, true);
	unlink(path);
	sw_sym_file_close(&f);
	sw_arena_destroy(&arena);
}

/* libc.so.6 with libc6-dbg: debug file by build-id, compressed DWARF 5 */
TEST(system_libc)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	sw_arena_init(&arena, 0);
	struct sw_sym_file f;
	CHECK_EQ(open_file(&f, libc, "/usr/lib/debug", 0), 0);
	if (!f.have_dbg) {
		printf("    no debug file for %s (libc6-dbg missing?)\n", libc);
		sw_test_failed_checks++;
		sw_sym_file_close(&f);
		sw_arena_destroy(&arena);
		return;
	}
	CHECK(f.debug_path && strncmp(f.debug_path, "/usr/lib/debug/.build-id/", 25) == 0);
	CHECK(f.have_dwarf);
	CHECK_EQ(f.decompress_errors, 0);
	/* the reference: objcopy's decompression of the same debug file */
	char tmp[] = "/tmp/sw_libcdbg.XXXXXX", cmd[1024];
	int fd = mkstemp(tmp);
	close(fd);
	snprintf(cmd, sizeof(cmd), "objcopy --decompress-debug-sections %s %s", f.debug_path, tmp);
	CHECK_EQ(system(cmd), 0);
	struct sw_elf raw;
	CHECK_EQ(sw_elf_open_file(&raw, f.debug_path), 0);
	struct sw_elf_section s;
	CHECK_EQ(sw_elf_find_section(&raw, ".debug_info", &s), 0);
	CHECK(s.flags & SHF_COMPRESSED); /* Debian's are compressed */
	sw_elf_close(&raw);
	check_sections_like(&f.dw, tmp);
	unlink(tmp);
	/* functions of both tables, under one of the names either gives */
	snprintf(cmd, sizeof(cmd),
		 "(nm -S --defined-only %s; nm -D -S --defined-only %s) | sort -u", f.debug_path, libc);
	check_symbols_like(&f, cmd, libc, false);
	sw_sym_file_close(&f);
	sw_arena_destroy(&arena);
}

/* ---- no malloc: count the calls while files open (plain build only:
 * the sanitizers bring their own malloc) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_MALLOC 0
#endif
#endif
#ifndef COUNT_MALLOC
#define COUNT_MALLOC 1
#endif

#if COUNT_MALLOC
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile int counting;
static volatile long mallocs;

void *malloc(size_t n)
{
	mallocs += counting;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	mallocs += counting;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	mallocs += counting;
	return __libc_realloc(p, n);
}

TEST(no_malloc)
{
	const struct config *cf = variants(0);
	if (!cf)
		return;
	static const char *const files[] = { "zlib", "zstd", "zdebug", "mini", "dl2/prog",
					      "bid/prog", "dwz/a", "dwzrel/a", "dwzbid/a" };
	/* the counter counts */
	counting = 1;
	void *volatile probe = malloc(16);
	counting = 0;
	free(probe);
	CHECK_EQ(mallocs, 1);
	mallocs = 0;
	char dirs[600];
	snprintf(dirs, sizeof(dirs), "%s", vpath(cf, "bdir"));
	sw_arena_init(&arena, 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct sw_sym_file f;
		const char *path = vpath(cf, files[i]);
		counting = 1;
		int rc = open_file(&f, path, dirs, 0);
		counting = 0;
		CHECK_EQ(rc, 0);
		if (mallocs) {
			printf("    %s: %ld malloc calls\n", files[i], mallocs);
			sw_test_failed_checks++;
			mallocs = 0;
		}
		sw_sym_file_close(&f);
	}
	char buf[512];
	counting = 1;
	int n = sw_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", buf, sizeof(buf));
	n += sw_demangle("_RNvMNtCs4fqI2P2rA04_4core3fmtNtB2_9Formatter3pad", buf, sizeof(buf));
	counting = 0;
	CHECK(n > 0);
	CHECK_EQ(mallocs, 0);
	sw_arena_destroy(&arena);
}
#endif

/* ---- sw_demangle against c++filt ---- */

/* Feed `names` (one per line in file `in`) to c++filt, compare each with
 * sw_demangle; returns the number compared. */
static size_t compare_cxxfilt(const char *in)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "c++filt < %s", in);
	FILE *names = fopen(in, "r");
	FILE *out = popen(cmd, "r");
	size_t n = 0, differ = 0, not_ours = 0;
	static char name[65536], want[65536], got[65536];
	while (names && out && fgets(name, sizeof(name), names) && fgets(want, sizeof(want), out)) {
		name[strcspn(name, "\n")] = 0;
		want[strcspn(want, "\n")] = 0;
		int r = sw_demangle(name, got, sizeof(got));
		n++;
		if (strcmp(name, want) == 0) {
			/* c++filt left it alone: so do we */
			if (r != SW_EINVAL && strcmp(got, name) != 0) {
				if (not_ours++ < 5)
					printf("    %s: c++filt keeps it, sw_demangle gives %s\n", name, got);
			}
			continue;
		}
		if (r < 0 || strcmp(got, want) != 0) {
			if (differ++ < 5)
				printf("    %s:\n      c++filt     %s\n      sw_demangle %s (%d)\n", name,
				       want, r < 0 ? "" : got, r);
		} else {
			CHECK_EQ(r, strlen(want));
		}
	}
	if (names)
		fclose(names);
	if (out)
		pclose(out);
	CHECK_EQ(differ, 0);
	CHECK_EQ(not_ours, 0);
	return n;
}

TEST(demangle_libstdcxx)
{
	char tmp[] = "/tmp/sw_names.XXXXXX", cmd[512];
	int fd = mkstemp(tmp);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "nm -D --defined-only --without-symbol-versions "
		 "$(g++ -print-file-name=libstdc++.so.6) | awk '{ print $3 }' > %s",
		 tmp);
	CHECK_EQ(system(cmd), 0);
	size_t n = compare_cxxfilt(tmp);
	CHECK(n > 3000);
	printf("    %zu libstdc++ names compared with c++filt\n", n);
	unlink(tmp);
}

TEST(demangle_rust_and_edges)
{
	/* inputs only: what they mean comes from c++filt */
	static const char *const names[] = {
		"_ZN4core3fmt5write17h0123456789abcdefE",
		"_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h9a8b7c6d5e4f3a2bE",
		"_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h1111111111111111E",
		"_RNvCs15kBYyAo9fc_7mycrate4main",
		"_RNvMNtCs4fqI2P2rA04_4core3fmtNtB2_9Formatter3pad",
		"_RINvCs1234_5crate4funcINtB2_3FooNtB2_3BarEE",
		"_ZN3foo3barE",
		"_ZNSt6vectorIiSaIiEE9push_backERKi",
		"_ZNK3foo3bar3bazEv.cold",
		"_ZL10static_funcv.isra.0",
		"_GLOBAL__sub_I_main.cpp",
		"main",
		"_Z",
		"_R",
		"_ZZZZ",
		"",
	};
	char tmp[] = "/tmp/sw_rnames.XXXXXX";
	int fd = mkstemp(tmp);
	FILE *fp = fdopen(fd, "w");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fprintf(fp, "%s\n", names[i]);
	fclose(fp);
	compare_cxxfilt(tmp);
	unlink(tmp);

	/* truncation: a NUL-terminated prefix of size - 1 bytes */
	char full[256], small[8];
	int n = sw_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", full, sizeof(full));
	CHECK(n > 8);
	CHECK_EQ(sw_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", small, sizeof(small)), 7);
	CHECK(strlen(small) == 7 && strncmp(small, full, 7) == 0);
	CHECK_EQ(sw_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", small, 1), 0);
	CHECK_EQ(small[0], 0);
	CHECK_EQ(sw_demangle("main", full, sizeof(full)), SW_EINVAL);
	CHECK_EQ(sw_demangle(NULL, full, sizeof(full)), SW_EINVAL);
	CHECK_EQ(sw_demangle("_Z1fv", NULL, 10), SW_EINVAL);
	CHECK_EQ(sw_demangle("_Z1fv", full, 0), SW_EINVAL);

	/* a name over the length bound (stack use grows with it) is refused,
	 * one just under it is demangled */
	static char longname[2048];
	strcpy(longname, "_Z1fIJ");
	while (strlen(longname) < 1000)
		strcat(longname, "St4pairIiiE");
	strcat(longname, "EEvDpT_");
	static char big[65536];
	CHECK(sw_demangle(longname, big, sizeof(big)) > 0);
	while (strlen(longname) < 1100)
		memmove(longname + 17, longname + 6, strlen(longname + 6) + 1),
			memcpy(longname + 6, "St4pairIiiE", 11);
	CHECK_EQ(sw_demangle(longname, big, sizeof(big)), SW_EINVAL);
}

SW_TEST_MAIN
