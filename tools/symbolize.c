/*
 * `stackwalk symbolize`: addresses of an ELF file to functions, files and
 * lines, as binutils addr2line (2.40) prints them, through
 * libstackwalk_symbolize (sw_symbolize_file).
 *
 *   stackwalk symbolize [-e FILE] [-a] [-f] [-i] [-C] [-p] [-s] [-j SECTION]
 *                       [--json] [ADDR...]
 *
 * ADDR is a link-time address in hex, with or without 0x (what addr2line
 * takes), or a file offset: `+0xOFF` in FILE, or `PATH+0xOFF` in PATH,
 * converted to its link-time address through the PT_LOAD headers (what a
 * crash log's "module+offset" gives).  -j SECTION: ADDR is an offset in
 * SECTION (address = the section's sh_addr + ADDR).  Without ADDR
 * arguments the addresses are read from standard input, one or more per
 * line (blank or comma separated), and the answer to each is flushed
 * before the next is read, so the tool can run as a coprocess.
 *
 * Text output, per address (binutils addr2line's): with -a the address
 * ("0x%016x") on its own line, or with -p followed by ": "; then the
 * innermost source frame, and with -i every enclosing inline level after
 * it; per frame, with -f, the function ("??" when unknown; demangled with
 * -C, else the raw linkage name) on its own line, then "FILE:LINE" (FILE
 * "??" when unknown, LINE "?" when unknown; "??:0" when nothing at all is
 * known of the address).  -s keeps the file's base name.  With -p a frame
 * is one line, "FUNC at FILE:LINE" (the address first with -a), and each
 * inline level's line starts with " (inlined by) ".
 *
 * JSON output (--json): one object per address, one per line (JSON
 * Lines), whatever -a/-f/-i/-p/-C/-s say (all frames, both names, full
 * paths):
 *
 *   {"address": "0x1139",                   link-time address looked up
 *    "module": {"path": "a.out",            the file
 *               "debug_path": STR|null,     separate debug file used
 *               "build_id": "hex"|null,     GNU build-id
 *               "offset": N|null},          file offset of the address
 *    "frames": [                            innermost first; [] when
 *      {"function": STR|null,               nothing is known
 *       "name": STR|null,                   raw linkage name, demangled
 *       "file": STR|null,
 *       "line": N, "column": N,             0 when unknown
 *       "function_offset": N|null,          address - function start
 *       "inlined": true|false,              inlined into the next frame,
 *                                           whose file/line is the call
 *       "source": "dwarf"|"symtab"|"jit"}]}
 *
 * Strings are JSON-escaped (", \ and control characters; other bytes as
 * they are).  Errors are reported on stderr: an unreadable or non-ELF FILE
 * ends the run (exit 1); a malformed ADDR is answered as unknown.
 * Exit status: 0, 1 (a file cannot be used), 2 (usage).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/symbolize.h>

#include "elf/elf.h"
#include "tools.h"

#define MAX_INLINE 64

struct opts {
	const char *exe;
	const char *section;
	bool addresses, functions, inlines, demangle, pretty, basenames, json;
};

/* The ELF files opened for -j and file offsets: the last one is kept. */
struct elf_cache {
	struct sw_elf elf;
	bool open;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stackwalk symbolize [OPTIONS] [ADDR...]\n"
		"  -e, --exe=FILE        the ELF file (default a.out)\n"
		"  -a, --addresses       print each address first\n"
		"  -f, --functions       print function names\n"
		"  -i, --inlines         print the inline levels too\n"
		"  -C, --demangle        demangle names (else raw linkage names)\n"
		"  -p, --pretty-print    one line per address\n"
		"  -s, --basenames       file base names only\n"
		"  -j, --section=NAME    addresses are offsets in section NAME\n"
		"      --json            JSON Lines, one object per address (below)\n"
		"  -h, --help            this text\n"
		"ADDR: hex link-time address (0x optional); +0xOFF or PATH+0xOFF: a file\n"
		"offset in FILE or PATH.  No ADDR: read them from stdin, answers flushed.\n"
		"--json object per address:\n"
		"  {\"address\":\"0x...\",\"module\":{\"path\":STR,\"debug_path\":STR|null,\n"
		"   \"build_id\":\"hex\"|null,\"offset\":N|null},\"frames\":[{\"function\":STR|null,\n"
		"   \"name\":STR|null,\"file\":STR|null,\"line\":N,\"column\":N,\n"
		"   \"function_offset\":N|null,\"inlined\":BOOL,\"source\":\"dwarf\"|\"symtab\"|\"jit\"}]}\n"
		"  frames innermost first ([] when nothing is known); function: raw\n"
		"  linkage name, name: demangled; line/column 0 when unknown; offset: file\n"
		"  offset of the address; function_offset: address - function start.\n");
}

/* Parse a hex number (0x optional), the whole string.  Returns false when
 * it is not one. */
static bool parse_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v >> 60)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* Open `path` in the cache (reusing it when it is the one open).  Returns
 * 0 or the SW_E* of the open, reported on stderr. */
static int cache_open(struct elf_cache *c, const char *path)
{
	int rc;

	if (c->open && strcmp(c->elf.path, path) == 0)
		return 0;
	if (c->open)
		sw_elf_close(&c->elf);
	c->open = false;
	rc = sw_elf_open_file(&c->elf, path);
	if (rc < 0) {
		fprintf(stderr, "stackwalk symbolize: '%s': %s\n", path, sw_strerror(rc));
		return rc;
	}
	c->open = true;
	return 0;
}

/* The link-time address of file offset `off` (PT_LOAD), or false. */
static bool offset_to_address(const struct sw_elf *elf, uint64_t off, uint64_t *addr)
{
	for (size_t i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];

		if (ph->p_type == PT_LOAD && off >= ph->p_offset && off - ph->p_offset < ph->p_filesz) {
			*addr = ph->p_vaddr + (off - ph->p_offset);
			return true;
		}
	}
	return false;
}

/*
 * Turn one ADDR word into (file, link-time address).  Returns 1 when the
 * word names an address, 0 when it does not (answered as unknown), -1
 * when its file cannot be used (reported; the run ends).
 */
static int resolve(const struct opts *o, struct elf_cache *c, char *word, const char **file,
		   uint64_t *addr)
{
	char *plus = strrchr(word, '+');
	uint64_t v;

	*file = o->exe;
	*addr = 0;
	if (plus) {
		*plus = '\0';
		if (plus != word)
			*file = word;
		if (!parse_hex(plus + 1, &v))
			return 0;
		if (cache_open(c, *file) < 0)
			return -1;
		return offset_to_address(&c->elf, v, addr) ? 1 : 0;
	}
	if (!parse_hex(word, &v))
		return 0;
	if (o->section) {
		struct sw_elf_section sec;

		if (cache_open(c, *file) < 0)
			return -1;
		if (sw_elf_find_section(&c->elf, o->section, &sec) < 0) {
			fprintf(stderr, "stackwalk symbolize: '%s': no section '%s'\n", *file, o->section);
			return -1;
		}
		v += sec.addr;
	}
	*addr = v;
	return 1;
}

static void json_str(const char *s)
{
	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

static void print_json(const char *file, uint64_t addr, int n, const struct sw_sym_frame *fr,
		       const struct sw_sym_module *mod)
{
	printf("{\"address\":\"0x%" PRIx64 "\",\"module\":{\"path\":", addr);
	json_str(n >= 1 && mod->path ? mod->path : file);
	fputs(",\"debug_path\":", stdout);
	json_str(n >= 1 ? mod->debug_path : NULL);
	fputs(",\"build_id\":", stdout);
	if (n >= 1 && mod->build_id_size > 0 && mod->build_id_size <= sizeof(mod->build_id)) {
		putchar('"');
		for (uint32_t i = 0; i < mod->build_id_size; i++)
			printf("%02x", mod->build_id[i]);
		putchar('"');
	} else {
		fputs("null", stdout);
	}
	fputs(",\"offset\":", stdout);
	if (n >= 1 && mod->file_offset != UINT64_MAX)
		printf("%" PRIu64, mod->file_offset);
	else
		fputs("null", stdout);
	fputs("},\"frames\":[", stdout);
	/* a lone frame with nothing in it: the module alone is known */
	if (n == 1 && fr[0].function == NULL && fr[0].file == NULL)
		n = 0;
	for (int i = 0; i < n && i < MAX_INLINE; i++) {
		const struct sw_sym_frame *f = &fr[i];

		fputs(i ? ",{\"function\":" : "{\"function\":", stdout);
		json_str(f->function);
		fputs(",\"name\":", stdout);
		json_str(f->name);
		fputs(",\"file\":", stdout);
		json_str(f->file);
		printf(",\"line\":%" PRIu32 ",\"column\":%" PRIu32 ",\"function_offset\":", f->line,
		       f->column);
		if (f->function_start != 0 && addr >= f->function_start)
			printf("%" PRIu64, addr - f->function_start);
		else
			fputs("null", stdout);
		printf(",\"inlined\":%s,\"source\":\"%s\"}",
		       (f->flags & SW_SYM_FRAME_INLINED) ? "true" : "false",
		       (f->flags & SW_SYM_FRAME_JIT) ? "jit" :
		       (f->flags & SW_SYM_FRAME_SYMTAB) ? "symtab" : "dwarf");
	}
	fputs("]}\n", stdout);
}

/* One frame in addr2line's text layout (see the top of the file). */
static void print_frame(const struct opts *o, const struct sw_sym_frame *f)
{
	const char *file = f->file;

	if (o->functions) {
		const char *name = o->demangle ? f->name : f->function;

		if (name == NULL || *name == '\0')
			name = "??";
		printf(o->pretty ? "%s at " : "%s\n", name);
	}
	if (o->basenames && file && strrchr(file, '/'))
		file = strrchr(file, '/') + 1;
	printf("%s:", file ? file : "??");
	if (f->line)
		printf("%" PRIu32 "\n", f->line);
	else
		puts("?");
}

static void print_text(const struct opts *o, uint64_t addr, int n, const struct sw_sym_frame *fr)
{
	if (o->addresses)
		printf(o->pretty ? "0x%016" PRIx64 ": " : "0x%016" PRIx64 "\n", addr);
	if (n < 1 || (fr[0].function == NULL && fr[0].file == NULL)) {
		/* nothing known (addr2line's "not found") */
		if (o->functions)
			fputs(o->pretty ? "?? " : "??\n", stdout);
		puts("??:0");
		return;
	}
	if (n > MAX_INLINE)
		n = MAX_INLINE;
	for (int i = 0; i < (o->inlines ? n : 1); i++) {
		if (i > 0 && o->pretty)
			fputs(" (inlined by) ", stdout);
		print_frame(o, &fr[i]);
	}
}

/* Answer one ADDR word.  Returns 0, or 1 when a file cannot be used. */
static int answer(const struct opts *o, sw_symbolizer_t *s, struct elf_cache *c, char *word)
{
	struct sw_sym_frame fr[MAX_INLINE];
	struct sw_sym_module mod;
	const char *file;
	uint64_t addr;
	int n = SW_ENOTFOUND, r;

	memset(&mod, 0, sizeof(mod));
	mod.file_offset = UINT64_MAX;
	r = resolve(o, c, word, &file, &addr);
	if (r < 0)
		return 1;
	if (r > 0) {
		n = sw_symbolize_file(s, file, addr, fr, MAX_INLINE, &mod);
		if (n < 0 && n != SW_ENOTFOUND) {
			fprintf(stderr, "stackwalk symbolize: '%s': %s\n", file, sw_strerror(n));
			return 1;
		}
	}
	if (o->json)
		print_json(file, addr, n, fr, &mod);
	else
		print_text(o, addr, n, fr);
	/* a coprocess waits for each answer: flush when no more input is
	 * buffered (glibc's read pointers; no system call per address) */
	if (stdin->_IO_read_ptr >= stdin->_IO_read_end)
		fflush(stdout);
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exe", required_argument, NULL, 'e' },
		{ "addresses", no_argument, NULL, 'a' },
		{ "functions", no_argument, NULL, 'f' },
		{ "inlines", no_argument, NULL, 'i' },
		{ "demangle", optional_argument, NULL, 'C' },
		{ "pretty-print", no_argument, NULL, 'p' },
		{ "basenames", no_argument, NULL, 's' },
		{ "section", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .exe = "a.out" };
	bool exe_given = false;
	struct elf_cache cache = { .open = false };
	sw_symbolizer_t *s;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "e:afiCpsj:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o.exe = optarg; exe_given = true; break;
		case 'a': o.addresses = true; break;
		case 'f': o.functions = true; break;
		case 'i': o.inlines = true; break;
		case 'C': o.demangle = true; break;
		case 'p': o.pretty = true; break;
		case 's': o.basenames = true; break;
		case 'j': o.section = optarg; break;
		case 'J': o.json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* -e's file must be usable before any address is answered (a.out,
	 * the default, only when an address uses it: PATH+0xOFF need not) */
	if (exe_given && cache_open(&cache, o.exe) < 0)
		return 1;
	rc = sw_symbolizer_new(NULL, &s);
	if (rc < 0) {
		fprintf(stderr, "stackwalk symbolize: %s\n", sw_strerror(rc));
		return 1;
	}
	rc = 0;
	if (optind < argc) {
		for (int i = optind; i < argc && rc == 0; i++)
			rc = answer(&o, s, &cache, argv[i]);
	} else {
		char line[4096];

		while (rc == 0 && fgets(line, sizeof(line), stdin)) {
			char *save = NULL;

			for (char *w = strtok_r(line, " \t\r\n,", &save); w && rc == 0;
			     w = strtok_r(NULL, " \t\r\n,", &save))
				rc = answer(&o, s, &cache, w);
		}
	}
	sw_symbolizer_free(s);
	if (cache.open)
		sw_elf_close(&cache.elf);
	return rc;
}
