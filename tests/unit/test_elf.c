/*
 * Unit tests for src/elf/elf.c and src/elf/debuglink.c: real files (this
 * test binary, libc.so.6) cross-checked with readelf and with the loaded
 * images, a synthetic in-memory object (as a JIT would build), malformed
 * images derived from a copy of /proc/self/exe, and separate debug files
 * written to a temporary directory.  Meant to run under ASan+UBSan: every
 * malformed image sits in an exact-size heap block so over-reads trap.
 */
#define _GNU_SOURCE
#include "../harness.h"

#include <limits.h>
#include <link.h>
#include <stdalign.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elf.h"
#include "stackwalk.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

/* ---------------------------------------------------------------- helpers */

/* Whole file into an exact-size malloc block (malloc aligns to 16). */
static uint8_t *load_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	fclose(f);
	*size = n;
	return realloc(buf, n ? n : 1);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	memcpy(q, p, n);
	return q;
}

static const char *self_path(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	return path;
}

static Elf64_Ehdr *EH(uint8_t *img)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Shdr *SH(uint8_t *img)
{
	return (Elf64_Shdr *)(img + EH(img)->e_shoff);
}

static int section_index(const struct sw_elf *elf, const char *name)
{
	struct sw_elf_section s;
	return sw_elf_find_section(elf, name, &s) == 0 ? (int)s.index : -1;
}

struct find_sym {
	const char *name;
	struct sw_elf_sym found[8];
	int n;
	int count; /* all entries seen */
	int empty_names;
};

static int find_sym_cb(void *arg, const struct sw_elf_sym *s)
{
	struct find_sym *f = arg;
	f->count++;
	if (s->name[0] == '\0')
		f->empty_names++;
	if (f->name && strcmp(s->name, f->name) == 0 && s->shndx != SHN_UNDEF && f->n < 8)
		f->found[f->n++] = *s;
	return 0;
}

static int lookup_sym(const struct sw_elf *elf, uint32_t type, const char *name,
		      struct find_sym *f)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	for (size_t i = 1; i < elf->shnum; i++) {
		struct sw_elf_section s;
		if (sw_elf_section(elf, (unsigned)i, &s) == 0 && s.type == type)
			return sw_elf_foreach_sym(elf, (unsigned)i, find_sym_cb, f);
	}
	return SW_ENOTFOUND;
}

/* Touch every accessor; only used on images that opened successfully, so
 * under ASan any read outside the image is caught here. */
static int exercise_cb(void *arg, const struct sw_elf_sym *s)
{
	*(size_t *)arg += strlen(s->name);
	return 0;
}

static void exercise(const struct sw_elf *elf)
{
	struct sw_elf_section s;
	size_t total = 0;
	for (size_t i = 0; i < elf->shnum; i++) {
		int rc = sw_elf_section(elf, (unsigned)i, &s);
		CHECK(rc == 0 || rc == SW_EBADELF);
		if (rc == 0) {
			total += strlen(s.name);
			if (s.data && s.size)
				total += s.data[s.size - 1];
			if (s.type == SHT_SYMTAB || s.type == SHT_DYNSYM) {
				rc = sw_elf_foreach_sym(elf, (unsigned)i, exercise_cb, &total);
				CHECK(rc == 0 || rc == SW_EBADELF);
			}
		}
	}
	static const char *names[] = { ".eh_frame", ".eh_frame_hdr", ".text", ".symtab", "" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)sw_elf_find_section(elf, names[i], &s);
	const Elf64_Phdr *ph;
	(void)sw_elf_find_phdr(elf, PT_GNU_EH_FRAME, &ph);
	for (size_t i = 0; i < elf->phnum; i++) {
		const uint8_t *p = sw_elf_vaddr_bytes(elf, elf->phdrs[i].p_vaddr, 16);
		if (p)
			total += p[15];
	}
	const uint8_t *id;
	size_t idlen;
	if (sw_elf_build_id(elf, &id, &idlen) == 0)
		total += id[idlen - 1];
	const char *dl;
	uint32_t crc;
	if (sw_elf_debuglink(elf, &dl, &crc) == 0)
		total += strlen(dl);
	struct sw_elf_sym sym;
	uint64_t off;
	static const uint64_t addrs[] = { 0, 0x1000, 0x1234, 0x10000, UINT64_MAX };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		if (sw_elf_symbolize(elf, addrs[i], &sym, &off) == 0)
			total += strlen(sym.name);
	(void)total;
}

/* readelf -S --wide: the section count and, per section, addr/off/size. */
struct re_sec {
	char name[128];
	uint64_t addr, off, size;
};

static int readelf_sections(const char *path, struct re_sec *secs, int max, int *count)
{
	char cmd[PATH_MAX + 64], line[512];
	snprintf(cmd, sizeof(cmd), "readelf -S --wide '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	*count = -1;
	while (fgets(line, sizeof(line), p)) {
		int n;
		if (sscanf(line, "There are %d section headers", &n) == 1)
			*count = n;
		char *lb = strchr(line, '['), *rb = strchr(line, ']');
		unsigned idx;
		if (!lb || !rb || sscanf(lb + 1, "%u", &idx) != 1 || idx == 0 || (int)idx >= max)
			continue;
		char type[64];
		unsigned long long a, o, s;
		if (sscanf(rb + 1, "%127s %63s %llx %llx %llx", secs[idx].name, type, &a, &o, &s) == 5) {
			secs[idx].addr = a;
			secs[idx].off = o;
			secs[idx].size = s;
		}
	}
	return pclose(p) == 0 && *count > 0 ? 0 : -1;
}

/* First line of `cmd` containing `key`: the text after it, trimmed. */
static int tool_value(const char *cmd, const char *key, char *out, size_t outsz)
{
	char line[1024];
	int found = -1;
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *k = strstr(line, key);
		if (k && found != 0) {
			k += strlen(key);
			while (*k == ' ')
				k++;
			k[strcspn(k, " \n")] = '\0';
			snprintf(out, outsz, "%s", k);
			found = 0;
		}
	}
	pclose(p);
	return found;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* Compare our view of every section with readelf's. */
static void cross_check_readelf(const struct sw_elf *elf, const char *path)
{
	static struct re_sec secs[512];
	int count;
	memset(secs, 0, sizeof(secs));
	if (readelf_sections(path, secs, 512, &count) != 0) {
		printf("    (readelf unavailable: skipping cross-check for %s)\n", path);
		return;
	}
	CHECK_EQ(count, elf->shnum);
	for (size_t i = 1; i < elf->shnum && i < 512; i++) {
		struct sw_elf_section s;
		CHECK_EQ(sw_elf_section(elf, (unsigned)i, &s), 0);
		CHECK_STR(s.name, secs[i].name);
		CHECK_EQ(s.addr, secs[i].addr);
		CHECK_EQ(s.offset, secs[i].off);
		CHECK_EQ(s.size, secs[i].size);
	}
	struct sw_elf_section eh;
	int idx = section_index(elf, ".eh_frame");
	CHECK(idx > 0);
	if (idx > 0 && sw_elf_find_section(elf, ".eh_frame", &eh) == 0) {
		CHECK_STR(secs[idx].name, ".eh_frame");
		CHECK_EQ(eh.addr, secs[idx].addr);
		CHECK_EQ(eh.size, secs[idx].size);
	}

	char cmd[PATH_MAX + 64], want[128], got[128];
	const uint8_t *id;
	size_t idlen;
	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	if (tool_value(cmd, "Build ID:", want, sizeof(want)) == 0) {
		CHECK_EQ(sw_elf_build_id(elf, &id, &idlen), 0);
		CHECK(idlen > 0 && idlen < sizeof(got) / 2);
		hex(id, idlen < sizeof(got) / 2 ? idlen : 0, got);
		CHECK_STR(got, want);
	}
}

/* Sanity common to both real files: unwind sections and their phdr. */
static void check_unwind_sections(const struct sw_elf *elf)
{
	struct sw_elf_section ehf, hdr;
	const Elf64_Phdr *ph;
	CHECK_EQ(sw_elf_find_section(elf, ".eh_frame", &ehf), 0);
	CHECK_EQ(sw_elf_find_section(elf, ".eh_frame_hdr", &hdr), 0);
	CHECK_EQ(sw_elf_find_phdr(elf, PT_GNU_EH_FRAME, &ph), 0);
	CHECK_EQ(ehf.type, SHT_PROGBITS);
	CHECK(ehf.data && ehf.size > 0);
	CHECK(hdr.data && hdr.size >= 4);
	CHECK_EQ(ph->p_offset, hdr.offset);
	CHECK_EQ(ph->p_vaddr, hdr.addr);
	CHECK_EQ(ph->p_filesz, hdr.size);
	CHECK(hdr.data && hdr.data[0] == 1); /* .eh_frame_hdr version */
	/* The vaddr view and the section view are the same bytes. */
	CHECK(sw_elf_vaddr_bytes(elf, hdr.addr, hdr.size) == hdr.data);
	CHECK(sw_elf_vaddr_bytes(elf, ehf.addr, ehf.size) == ehf.data);
	CHECK(sw_elf_bytes(elf, hdr.offset, hdr.size) == hdr.data);
	CHECK(sw_elf_bytes(elf, elf->size, 0) == elf->image + elf->size);
	CHECK(sw_elf_bytes(elf, elf->size, 1) == NULL);
	CHECK(sw_elf_bytes(elf, 1, UINT64_MAX) == NULL);
	CHECK(sw_elf_vaddr_bytes(elf, UINT64_MAX - 1, 4) == NULL);
	CHECK_EQ(sw_elf_find_phdr(elf, 0x7eadbeef, &ph), SW_ENOTFOUND);
	CHECK_EQ(sw_elf_find_section(elf, ".no-such-section", &ehf), SW_ENOTFOUND);
}

/* ------------------------------------------------------------------ tests */

TEST(crc32)
{
	const uint8_t *s = (const uint8_t *)"123456789";
	CHECK_EQ(sw_elf_crc32(0, s, 9), 0xCBF43926u);
	CHECK_EQ(sw_elf_crc32(0, s, 0), 0);
	CHECK_EQ(sw_elf_crc32(0, NULL, 0), 0);
	/* Incremental use, as for a file read in chunks. */
	CHECK_EQ(sw_elf_crc32(sw_elf_crc32(0, s, 4), s + 4, 5), 0xCBF43926u);
	const uint8_t a[] = "a";
	CHECK_EQ(sw_elf_crc32(0, a, 1), 0xE8B7BE43u);
}

TEST(open_file_errors)
{
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_file(&e, "/nonexistent/dir/file"), SW_EIO);
	CHECK_EQ(sw_elf_open_file(&e, "/"), SW_EIO);
	CHECK_EQ(sw_elf_open_file(&e, "/proc/self/maps"), SW_EIO); /* st_size 0 */
	CHECK(e.image == NULL && !e.mapped);

	char tmp[] = "/tmp/sw_elf_test_XXXXXX";
	int fd = mkstemp(tmp);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(sw_elf_open_file(&e, tmp), SW_EIO); /* empty */
	const char text[] = "#!/bin/sh\necho this is not an ELF file\n";
	CHECK_EQ(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	CHECK_EQ(sw_elf_open_file(&e, tmp), SW_ENOTELF);
	CHECK(e.image == NULL);
	close(fd);
	unlink(tmp);
	sw_elf_close(&e); /* harmless on a zeroed struct */
	sw_elf_close(NULL);
}

TEST(self_exe)
{
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_file(&e, "/proc/self/exe"), 0);
	if (!e.image)
		return;
	CHECK(e.mapped);
	CHECK_STR(e.path, "/proc/self/exe");
	CHECK(e.ehdr == (const Elf64_Ehdr *)e.image);
	CHECK(e.shdrs != NULL && e.shnum > 10);
	CHECK(e.phdrs != NULL && e.phnum > 3);
	CHECK(e.shstrtab && e.shstrsz > 0 && e.shstrtab[e.shstrsz - 1] == '\0');
	check_unwind_sections(&e);
	cross_check_readelf(&e, self_path());

	/* Index 0 is the null section; out of range is SW_EINVAL. */
	struct sw_elf_section s;
	CHECK_EQ(sw_elf_section(&e, 0, &s), 0);
	CHECK_EQ(s.type, SHT_NULL);
	CHECK_STR(s.name, "");
	CHECK_EQ(sw_elf_section(&e, (unsigned)e.shnum, &s), SW_EINVAL);
	CHECK_EQ(sw_elf_section(&e, UINT_MAX, &s), SW_EINVAL);
	CHECK_EQ(sw_elf_find_section(&e, ".bss", &s), 0);
	CHECK_EQ(s.type, SHT_NOBITS);
	CHECK(s.data == NULL);

	/* Symbolize one of our own functions, using the load bias derived
	 * from its runtime address, and compare code bytes with memory. */
	struct find_sym f;
	CHECK_EQ(lookup_sym(&e, SHT_SYMTAB, "sw_elf_crc32", &f), 0);
	CHECK_EQ(f.n, 1);
	if (f.n == 1) {
		const struct sw_elf_sym *fs = &f.found[0];
		CHECK_EQ(fs->type, STT_FUNC);
		/* an internal function: hidden (-fvisibility=hidden), so the
		 * static link made it local */
		CHECK_EQ(fs->bind, STB_LOCAL);
		CHECK(fs->size > 8);
		uintptr_t rt = (uintptr_t)&sw_elf_crc32;
		uintptr_t bias = rt - fs->value;
		CHECK_EQ(bias % 4096, 0);
		struct sw_elf_sym sym;
		uint64_t off;
		CHECK_EQ(sw_elf_symbolize(&e, fs->value + 3, &sym, &off), 0);
		CHECK_STR(sym.name, "sw_elf_crc32");
		CHECK_EQ(off, 3);
		CHECK_EQ(sw_elf_symbolize(&e, fs->value + fs->size - 1, &sym, &off), 0);
		CHECK_STR(sym.name, "sw_elf_crc32");
		const uint8_t *code = sw_elf_vaddr_bytes(&e, fs->value, 16);
		CHECK(code && memcmp(code, (const void *)rt, 16) == 0);
	}
	CHECK_EQ(sw_elf_symbolize(&e, 0, &(struct sw_elf_sym){ 0 }, &(uint64_t){ 0 }),
		 SW_ENOTFOUND);

	/* Symbol table entries: the null symbol is reported too. */
	int idx = section_index(&e, ".symtab");
	CHECK(idx > 0);
	CHECK_EQ(sw_elf_find_section(&e, ".symtab", &s), 0);
	CHECK_EQ(lookup_sym(&e, SHT_SYMTAB, NULL, &f), 0);
	CHECK_EQ(f.count, s.size / sizeof(Elf64_Sym));
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)section_index(&e, ".text"), exercise_cb,
				    &(size_t){ 0 }),
		 SW_EINVAL);
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)e.shnum, exercise_cb, &(size_t){ 0 }),
		 SW_EINVAL);

	exercise(&e);
	sw_elf_close(&e);
	CHECK(e.image == NULL && e.shnum == 0 && !e.mapped && e.path[0] == '\0');
}

TEST(long_path_truncated)
{
	char path[1024] = "/proc/self";
	while (strlen(path) < 600)
		strcat(path, "/.");
	strcat(path, "/exe");
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_file(&e, path), 0);
	CHECK_EQ(strlen(e.path), sizeof(e.path) - 1);
	CHECK(strncmp(e.path, path, sizeof(e.path) - 1) == 0);
	sw_elf_close(&e);
}

struct libc_base {
	uintptr_t bias;
	int found;
};

static int find_libc_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct libc_base *lb = arg;
	if (info->dlpi_name && strstr(info->dlpi_name, "/libc.so.6")) {
		lb->bias = info->dlpi_addr;
		lb->found = 1;
		return 1;
	}
	return 0;
}

TEST(libc)
{
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_file(&e, LIBC_PATH), 0);
	if (!e.image)
		return;
	CHECK_STR(e.path, LIBC_PATH);
	check_unwind_sections(&e);
	cross_check_readelf(&e, LIBC_PATH);

	const uint8_t *id;
	size_t idlen;
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), 0);
	CHECK_EQ(idlen, 20);

	/* .gnu_debuglink: compare name and CRC with readelf -wk when present. */
	const char *name;
	uint32_t crc;
	struct sw_elf_section s;
	if (sw_elf_find_section(&e, ".gnu_debuglink", &s) == 0) {
		CHECK_EQ(sw_elf_debuglink(&e, &name, &crc), 0);
		char want[256];
		if (tool_value("readelf --debug-dump=links " LIBC_PATH " 2>/dev/null",
			       "Separate debug info file:", want, sizeof(want)) == 0)
			CHECK_STR(name, want);
		if (tool_value("readelf --debug-dump=links " LIBC_PATH " 2>/dev/null",
			       "CRC value:", want, sizeof(want)) == 0)
			CHECK_EQ(crc, strtoul(want, NULL, 16));
	} else {
		CHECK_EQ(sw_elf_debuglink(&e, &name, &crc), SW_ENOTFOUND);
	}

	/* Exported memcpy (two versions): find by name, symbolize back. */
	struct find_sym f;
	CHECK_EQ(lookup_sym(&e, SHT_DYNSYM, "memcpy", &f), 0);
	CHECK(f.n >= 1);
	struct libc_base lb = { 0, 0 };
	dl_iterate_phdr(find_libc_cb, &lb);
	for (int i = 0; i < f.n; i++) {
		const struct sw_elf_sym *m = &f.found[i];
		CHECK(m->type == STT_FUNC || m->type == STT_GNU_IFUNC);
		CHECK(m->size > 0);
		struct sw_elf_sym sym;
		uint64_t off;
		CHECK_EQ(sw_elf_symbolize(&e, m->value, &sym, &off), 0);
		CHECK_STR(sym.name, "memcpy");
		CHECK_EQ(sym.value, m->value);
		CHECK_EQ(off, 0);
		CHECK_EQ(sw_elf_symbolize(&e, m->value + m->size - 1, &sym, &off), 0);
		CHECK_STR(sym.name, "memcpy");
		CHECK_EQ(off, m->size - 1);
		/* The file bytes at the symbol are the code the process runs. */
		const uint8_t *code = sw_elf_vaddr_bytes(&e, m->value, 16);
		CHECK(code != NULL);
		if (lb.found && code)
			CHECK(memcmp(code, (const void *)(lb.bias + m->value), 16) == 0);
	}
	CHECK(lb.found);
	exercise(&e);
	sw_elf_close(&e);
}

/* ------------------------------------------------------ malformed images */

static uint8_t *self_img;
static size_t self_size;

static void load_self(void)
{
	if (!self_img)
		self_img = load_file("/proc/self/exe", &self_size);
}

/* Open a mutated exact-size copy; returns the result of sw_elf_open_mem
 * and, on success, runs every accessor over it. */
static int try_open(const uint8_t *img, size_t size)
{
	uint8_t *copy = dup_bytes(img, size);
	struct sw_elf e;
	int rc = sw_elf_open_mem(&e, copy, size);
	if (rc == 0)
		exercise(&e);
	else
		CHECK(e.image == NULL && e.shnum == 0 && e.phnum == 0);
	sw_elf_close(&e);
	free(copy);
	return rc;
}

TEST(malformed_headers)
{
	load_self();
	CHECK(self_img && self_size > 4096);
	if (!self_img)
		return;
	uint8_t *m = dup_bytes(self_img, self_size);
	size_t n = self_size;
	CHECK_EQ(try_open(m, n), 0);
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_mem(&e, NULL, 0), SW_ENOTELF);
	CHECK_EQ(sw_elf_open_mem(NULL, m, n), SW_EINVAL);

#define MUTATE(stmt, expect)                                \
	do {                                                    \
		memcpy(m, self_img, n);                             \
		stmt;                                               \
		CHECK_EQ(try_open(m, n), expect);                   \
	} while (0)

	MUTATE(m[0] = 0x7e, SW_ENOTELF);
	MUTATE(m[3] = 'G', SW_ENOTELF);
	MUTATE(m[EI_CLASS] = ELFCLASS32, SW_EUNSUPPORTED);
	MUTATE(m[EI_CLASS] = ELFCLASSNONE, SW_EUNSUPPORTED);
	MUTATE(m[EI_DATA] = ELFDATA2MSB, SW_EUNSUPPORTED);
	MUTATE(EH(m)->e_ehsize = 52, SW_EBADELF);
	MUTATE(EH(m)->e_shentsize = 40, SW_EBADELF);
	MUTATE(EH(m)->e_phentsize = 32, SW_EBADELF);
	MUTATE(EH(m)->e_shoff = n, SW_EBADELF);
	MUTATE(EH(m)->e_shoff = UINT64_MAX & ~7ull, SW_EBADELF);
	MUTATE(EH(m)->e_shoff -= 4, SW_EBADELF); /* misaligned table, still inside */
	MUTATE(EH(m)->e_shnum = 0xfeff, SW_EBADELF);
	MUTATE(EH(m)->e_shnum += 1, SW_EBADELF); /* one entry past the end */
	MUTATE(EH(m)->e_phoff = n - 8, SW_EBADELF);
	MUTATE(EH(m)->e_phoff = UINT64_MAX & ~7ull, SW_EBADELF);
	MUTATE(EH(m)->e_phoff += 4, SW_EBADELF);
	MUTATE(EH(m)->e_phnum = 0xfffe, SW_EBADELF);
	MUTATE(EH(m)->e_shstrndx = EH(m)->e_shnum, SW_EBADELF);
	MUTATE(EH(m)->e_shstrndx = 0xfff0, SW_EBADELF);
	/* No section table / no program headers at all: still a valid image. */
	MUTATE(EH(m)->e_shoff = 0, 0);
	MUTATE(EH(m)->e_phnum = 0, 0);
	MUTATE((EH(m)->e_shoff = 0, EH(m)->e_phnum = PN_XNUM), SW_EBADELF); /* count lives in shdr[0] */
	MUTATE(EH(m)->e_shstrndx = SHN_UNDEF, 0);

	/* The name table itself: not NUL-terminated, outside, NOBITS. */
	unsigned str = EH(self_img)->e_shstrndx;
	MUTATE(SH(m)[str].sh_size -= 1, SW_EBADELF);
	MUTATE(SH(m)[str].sh_size = 0, SW_EBADELF);
	MUTATE(SH(m)[str].sh_offset = n, SW_EBADELF);
	MUTATE(SH(m)[str].sh_offset = UINT64_MAX - 4, SW_EBADELF);
	MUTATE(SH(m)[str].sh_type = SHT_NOBITS, SW_EBADELF);

	/* Truncated headers. */
	CHECK_EQ(try_open(self_img, 40), SW_EBADELF);
	CHECK_EQ(try_open(self_img, 3), SW_ENOTELF);
	CHECK_EQ(try_open(self_img, 0), SW_ENOTELF);
	CHECK_EQ(try_open(self_img, n - 1), SW_EBADELF);

	/* A misaligned base cannot hand out typed header pointers. */
	uint8_t *odd = malloc(n + 1);
	memcpy(odd + 1, self_img, n);
	CHECK_EQ(sw_elf_open_mem(&e, odd + 1, n), SW_EUNSUPPORTED);
	free(odd);
	free(m);
#undef MUTATE
}

TEST(extended_numbering)
{
	load_self();
	if (!self_img)
		return;
	size_t n = self_size;
	uint8_t *m = dup_bytes(self_img, n);
	struct sw_elf ref, e;
	CHECK_EQ(sw_elf_open_mem(&ref, self_img, n), 0);

	uint16_t shnum = EH(m)->e_shnum, strndx = EH(m)->e_shstrndx, phnum = EH(m)->e_phnum;
	EH(m)->e_shnum = 0;
	SH(m)[0].sh_size = shnum;
	EH(m)->e_shstrndx = SHN_XINDEX;
	SH(m)[0].sh_link = strndx;
	EH(m)->e_phnum = PN_XNUM;
	SH(m)[0].sh_info = phnum;
	CHECK_EQ(sw_elf_open_mem(&e, m, n), 0);
	CHECK_EQ(e.shnum, shnum);
	CHECK_EQ(e.phnum, phnum);
	CHECK_EQ(section_index(&e, ".eh_frame"), section_index(&ref, ".eh_frame"));
	CHECK_EQ(section_index(&e, ".symtab"), section_index(&ref, ".symtab"));
	exercise(&e);

	SH(m)[0].sh_link = shnum;
	CHECK_EQ(try_open(m, n), SW_EBADELF);
	SH(m)[0].sh_link = strndx;
	SH(m)[0].sh_size = 1ull << 40;
	CHECK_EQ(try_open(m, n), SW_EBADELF);
	SH(m)[0].sh_size = 0;
	CHECK_EQ(try_open(m, n), SW_EBADELF);
	SH(m)[0].sh_size = shnum;
	SH(m)[0].sh_info = 0xffffff;
	CHECK_EQ(try_open(m, n), SW_EBADELF);
	free(m);
}

TEST(malformed_sections)
{
	load_self();
	if (!self_img)
		return;
	size_t n = self_size;
	struct sw_elf ref, e;
	struct sw_elf_section s;
	CHECK_EQ(sw_elf_open_mem(&ref, self_img, n), 0);
	int ehf = section_index(&ref, ".eh_frame");
	int bss = section_index(&ref, ".bss");
	CHECK(ehf > 0 && bss > 0);
	if (ehf <= 0 || bss <= 0)
		return;
	uint8_t *m = dup_bytes(self_img, n);

	/* sh_offset + sh_size wraps around 2^64: open succeeds (only the
	 * name table is needed), the section itself is SW_EBADELF. */
	SH(m)[ehf].sh_offset = UINT64_MAX - 8;
	SH(m)[ehf].sh_size = 0x20;
	CHECK_EQ(sw_elf_open_mem(&e, m, n), 0);
	CHECK_EQ(sw_elf_section(&e, (unsigned)ehf, &s), SW_EBADELF);
	CHECK_EQ(sw_elf_find_section(&e, ".eh_frame", &s), SW_EBADELF);
	exercise(&e);
	SH(m)[ehf].sh_offset = 0;
	SH(m)[ehf].sh_size = UINT64_MAX;
	CHECK_EQ(sw_elf_section(&e, (unsigned)ehf, &s), SW_EBADELF);
	SH(m)[ehf].sh_offset = n - 4;
	SH(m)[ehf].sh_size = 8;
	CHECK_EQ(sw_elf_section(&e, (unsigned)ehf, &s), SW_EBADELF);
	SH(m)[ehf].sh_offset = n;
	SH(m)[ehf].sh_size = 0;
	CHECK_EQ(sw_elf_section(&e, (unsigned)ehf, &s), 0); /* empty, at the end */
	/* NOBITS occupies no file bytes: any offset is fine, data is NULL. */
	SH(m)[bss].sh_offset = UINT64_MAX;
	CHECK_EQ(sw_elf_section(&e, (unsigned)bss, &s), 0);
	CHECK(s.data == NULL);

	/* Section names outside the name table read as "". */
	memcpy(m, self_img, n);
	SH(m)[ehf].sh_name = (uint32_t)ref.shstrsz;
	SH(m)[bss].sh_name = UINT32_MAX;
	CHECK_EQ(sw_elf_open_mem(&e, m, n), 0);
	CHECK_EQ(sw_elf_section(&e, (unsigned)ehf, &s), 0);
	CHECK_STR(s.name, "");
	CHECK_EQ(sw_elf_section(&e, (unsigned)bss, &s), 0);
	CHECK_STR(s.name, "");
	CHECK_EQ(sw_elf_find_section(&e, ".eh_frame", &s), SW_ENOTFOUND);
	SH(m)[ehf].sh_name = (uint32_t)ref.shstrsz - 1; /* the final NUL */
	CHECK_EQ(sw_elf_section(&e, (unsigned)ehf, &s), 0);
	CHECK_STR(s.name, "");
	free(m);
}

TEST(malformed_symbols)
{
	load_self();
	if (!self_img)
		return;
	size_t n = self_size;
	uint8_t *m = dup_bytes(self_img, n);
	struct sw_elf e;
	CHECK_EQ(sw_elf_open_mem(&e, m, n), 0);
	int sym = section_index(&e, ".symtab");
	int text = section_index(&e, ".text");
	CHECK(sym > 0 && text > 0);
	if (sym <= 0 || text <= 0) {
		free(m);
		return;
	}
	Elf64_Shdr *sh = &SH(m)[sym];
	struct find_sym f;

	/* Symbol names past the string table read as "". */
	CHECK_EQ(lookup_sym(&e, SHT_SYMTAB, NULL, &f), 0);
	int empty_before = f.empty_names;
	Elf64_Sym *syms = (Elf64_Sym *)(m + sh->sh_offset);
	size_t nsyms = sh->sh_size / sizeof(Elf64_Sym), a = 0, b = 0;
	for (size_t i = 1; i < nsyms && !b; i++) {
		if (syms[i].st_name != 0)
			*(a ? &b : &a) = i; /* two symbols that have names */
	}
	CHECK(a && b);
	syms[a].st_name = (uint32_t)SH(m)[sh->sh_link].sh_size;
	syms[b].st_name = UINT32_MAX;
	CHECK_EQ(lookup_sym(&e, SHT_SYMTAB, NULL, &f), 0);
	CHECK_EQ(f.empty_names, empty_before + 2);

	uint64_t saved_ent = sh->sh_entsize, saved_size = sh->sh_size, saved_off = sh->sh_offset;
	uint32_t saved_link = sh->sh_link;
	sh->sh_entsize = 16;
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), SW_EBADELF);
	sh->sh_entsize = saved_ent;
	sh->sh_size = saved_size - 1;
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), SW_EBADELF);
	sh->sh_size = saved_size;
	sh->sh_offset = UINT64_MAX - 16;
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), SW_EBADELF);
	sh->sh_offset = saved_off;
	sh->sh_link = 0;
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), SW_EBADELF);
	sh->sh_link = (uint32_t)e.shnum;
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), SW_EBADELF);
	sh->sh_link = (uint32_t)text; /* not a string table */
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), SW_EBADELF);
	/* A broken .symtab makes symbolize fall back to .dynsym, not crash. */
	struct sw_elf_sym out;
	uint64_t off;
	int rc = sw_elf_symbolize(&e, e.ehdr->e_entry, &out, &off);
	CHECK(rc == 0 || rc == SW_ENOTFOUND);
	sh->sh_link = saved_link;
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, exercise_cb, &(size_t){ 0 }), 0);
	CHECK_EQ(sw_elf_foreach_sym(&e, (unsigned)sym, NULL, NULL), SW_EINVAL);
	free(m);
}

/* Every truncation of the real file opens or fails cleanly.  The head
 * covers the ELF header and program headers, the tail the section table
 * (which ld puts last), each in an exact-size block. */
TEST(truncation_sweep)
{
	load_self();
	if (!self_img)
		return;
	size_t head = sizeof(Elf64_Ehdr) + EH(self_img)->e_phnum * sizeof(Elf64_Phdr) + 8192;
	for (size_t len = 0; len <= head && len <= self_size; len++) {
		int rc = try_open(self_img, len);
		CHECK(rc == 0 || rc == SW_ENOTELF || rc == SW_EBADELF);
		if (len < SELFMAG)
			CHECK_EQ(rc, SW_ENOTELF);
		else if (len < sizeof(Elf64_Ehdr))
			CHECK_EQ(rc, SW_EBADELF);
	}
	size_t tail = EH(self_img)->e_shnum * sizeof(Elf64_Shdr) + 4096;
	for (size_t len = self_size > tail ? self_size - tail : 0; len <= self_size; len += 3) {
		int rc = try_open(self_img, len);
		CHECK(rc == 0 || rc == SW_EBADELF);
	}
	CHECK_EQ(try_open(self_img, self_size), 0);
}

/* Random byte corruption of the headers and tables (fixed seed, so any
 * failure reproduces); every outcome must be a clean return. */
TEST(corruption_fuzz)
{
	load_self();
	if (!self_img)
		return;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)self_img;
	struct sw_elf ref;
	CHECK_EQ(sw_elf_open_mem(&ref, self_img, self_size), 0);
	struct sw_elf_section strs;
	int have_str = sw_elf_section(&ref, eh->e_shstrndx, &strs) == 0;
	uint8_t *m = malloc(self_size);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(m, self_img, self_size);
		int flips = 1 + iter % 8;
		for (int k = 0; k < flips; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint64_t base, len;
			switch (x % 4) {
			case 0: base = 0, len = sizeof(Elf64_Ehdr); break;
			case 1: base = eh->e_phoff, len = eh->e_phnum * sizeof(Elf64_Phdr); break;
			case 2: base = eh->e_shoff, len = eh->e_shnum * sizeof(Elf64_Shdr); break;
			default:
				base = have_str ? strs.offset : 0;
				len = have_str ? strs.size : 64;
				break;
			}
			if (len == 0)
				continue;
			uint64_t pos = base + (x >> 8) % len;
			if (pos < self_size)
				m[pos] = (uint8_t)(x >> 32);
		}
		int rc = sw_elf_open_mem(&ref, m, self_size);
		CHECK(rc == 0 || rc == SW_ENOTELF || rc == SW_EBADELF || rc == SW_EUNSUPPORTED);
		if (rc == 0)
			exercise(&ref);
	}
	free(m);
}

/* ---------------------------------------------- synthetic in-memory object */

/* A tiny ELF assembled in memory the way a JIT would: one PT_LOAD over
 * .text, an 8-aligned note area, .gnu_debuglink, and a symbol table at a
 * deliberately odd file offset. */
struct jit {
	alignas(8) uint8_t buf[4096];
	size_t len;
	char strtab[256];
	size_t strlen_;
	size_t text_off, note_off, dl_off, sym_off, sym_size, str_off, shstr_off;
};

static size_t put(struct jit *j, const void *p, size_t n, size_t align)
{
	j->len = (j->len + align - 1) & ~(align - 1);
	size_t off = j->len;
	memcpy(j->buf + off, p, n);
	j->len += n;
	return off;
}

static uint32_t add_str(char *tab, size_t *len, const char *s)
{
	size_t off = *len;
	strcpy(tab + off, s);
	*len += strlen(s) + 1;
	return (uint32_t)off;
}

#define TEXT_VADDR 0x1000u
#define BSS_VADDR 0x2000u

static void build_jit(struct jit *j)
{
	memset(j, 0, sizeof(*j));
	j->len = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);

	uint8_t text[0x100];
	memset(text, 0xcc, sizeof(text));
	text[0] = 0x55;
	j->text_off = put(j, text, sizeof(text), 16);

	/* Note area, 8-aligned: an unrelated note whose padding differs
	 * between 4- and 8-byte rules, then the build-id. */
	uint8_t notes[80] = { 0 };
	Elf64_Nhdr n1 = { 4, 4, 0x1234 };
	memcpy(notes, &n1, 12);
	memcpy(notes + 12, "XYZ", 4);
	memcpy(notes + 16, "\1\2\3\4", 4); /* next note at 24, not 20 */
	Elf64_Nhdr n2 = { 4, 20, NT_GNU_BUILD_ID };
	memcpy(notes + 24, &n2, 12);
	memcpy(notes + 36, "GNU", 4);
	for (int i = 0; i < 20; i++)
		notes[40 + i] = (uint8_t)(0xa0 + i);
	j->note_off = put(j, notes, 64, 8);

	uint8_t dl[16] = "foo.debug";       /* 10 bytes with NUL, pad to 12 */
	memcpy(dl + 12, "\x78\x56\x34\x12", 4); /* CRC 0x12345678, little-endian */
	j->dl_off = put(j, dl, sizeof(dl), 4);

	char *st = j->strtab;
	size_t *sl = &j->strlen_;
	st[0] = '\0';
	*sl = 1;
	Elf64_Sym syms[] = {
		{ 0 },
		{ add_str(st, sl, "f1_alias"), ELF64_ST_INFO(STB_WEAK, STT_FUNC), 0, 1, 0x1000, 0x10 },
		{ add_str(st, sl, "f1"), ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, 1, 0x1000, 0x10 },
		{ add_str(st, sl, "f2"), ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, 1, 0x1040, 0 },
		{ add_str(st, sl, "obj"), ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT), 0, 1, 0x1080, 8 },
		{ add_str(st, sl, ".text"), ELF64_ST_INFO(STB_LOCAL, STT_SECTION), 0, 1, 0x1000, 0x100 },
		{ add_str(st, sl, "undef"), ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, SHN_UNDEF, 0x1000, 0x1000 },
		{ 0xffffff00u, ELF64_ST_INFO(STB_LOCAL, STT_FUNC), 0, 1, 0x10c0, 4 },
		{ add_str(st, sl, "tls"), ELF64_ST_INFO(STB_GLOBAL, STT_TLS), 0, 2, 0x1000, 0x1000 },
		{ add_str(st, sl, "inner"), ELF64_ST_INFO(STB_LOCAL, STT_NOTYPE), 0, 1, 0x1004, 4 },
		{ add_str(st, sl, "bss_f"), ELF64_ST_INFO(STB_LOCAL, STT_FUNC), 0, 2, BSS_VADDR, 0 },
	};
	j->len += 1; /* odd offset: Elf64_Sym must be read with memcpy */
	j->sym_size = sizeof(syms);
	j->sym_off = put(j, syms, sizeof(syms), 1);
	j->str_off = put(j, st, *sl, 1);

	char shs[128] = "";
	size_t shl = 1;
	uint32_t nm[8] = { 0 };
	static const char *names[] = { NULL, ".text", ".bss", ".note.test", ".gnu_debuglink",
				       ".symtab", ".strtab", ".shstrtab" };
	for (int i = 1; i < 8; i++)
		nm[i] = add_str(shs, &shl, names[i]);
	j->shstr_off = put(j, shs, shl, 1);

	Elf64_Shdr sh[8] = {
		{ 0 },
		{ nm[1], SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT_VADDR, j->text_off, 0x100, 0, 0, 16, 0 },
		{ nm[2], SHT_NOBITS, SHF_ALLOC | SHF_WRITE, BSS_VADDR, UINT64_MAX - 8, 0x1000, 0, 0, 8, 0 },
		{ nm[3], SHT_NOTE, SHF_ALLOC, 0, j->note_off, 64, 0, 0, 8, 0 },
		{ nm[4], SHT_PROGBITS, 0, 0, j->dl_off, 16, 0, 0, 4, 0 },
		{ nm[5], SHT_SYMTAB, 0, 0, j->sym_off, j->sym_size, 6, 1, 8, sizeof(Elf64_Sym) },
		{ nm[6], SHT_STRTAB, 0, 0, j->str_off, *sl, 0, 0, 1, 0 },
		{ nm[7], SHT_STRTAB, 0, 0, j->shstr_off, shl, 0, 0, 1, 0 },
	};
	size_t shoff = put(j, sh, sizeof(sh), 8);

	Elf64_Phdr ph = { PT_LOAD, PF_R | PF_X, j->text_off, TEXT_VADDR, TEXT_VADDR, 0x100, 0x100, 16 };
	memcpy(j->buf + sizeof(Elf64_Ehdr), &ph, sizeof(ph));

	Elf64_Ehdr eh = { .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_shoff = shoff;
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 1;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 8;
	eh.e_shstrndx = 7;
	memcpy(j->buf, &eh, sizeof(eh));
}

static void check_sym_at(const struct sw_elf *e, uint64_t addr, const char *name, uint64_t off)
{
	struct sw_elf_sym s;
	uint64_t o = 0;
	int rc = sw_elf_symbolize(e, addr, &s, &o);
	if (!name) {
		if (rc != SW_ENOTFOUND)
			printf("    0x%" PRIx64 ": expected no symbol, got %s\n", addr, s.name);
		CHECK_EQ(rc, SW_ENOTFOUND);
		return;
	}
	CHECK_EQ(rc, 0);
	if (rc == 0) {
		CHECK_STR(s.name, name);
		CHECK_EQ(o, off);
	}
}

TEST(jit_image)
{
	static struct jit j;
	struct sw_elf e;
	struct sw_elf_section s;
	build_jit(&j);
	CHECK_EQ(sw_elf_open_mem(&e, j.buf, j.len), 0);
	CHECK(!e.mapped && e.path[0] == '\0');
	CHECK_EQ(e.shnum, 8);
	CHECK_EQ(e.phnum, 1);

	CHECK_EQ(sw_elf_find_section(&e, ".text", &s), 0);
	CHECK_EQ(s.index, 1);
	CHECK(s.data == j.buf + j.text_off);
	CHECK_EQ(sw_elf_find_section(&e, ".bss", &s), 0); /* NOBITS: offset ignored */
	CHECK(s.data == NULL);

	/* PT_LOAD mapping, within p_filesz only. */
	CHECK(sw_elf_vaddr_bytes(&e, TEXT_VADDR, 1) == j.buf + j.text_off);
	CHECK(sw_elf_vaddr_bytes(&e, TEXT_VADDR + 0xf8, 8) == j.buf + j.text_off + 0xf8);
	CHECK(sw_elf_vaddr_bytes(&e, TEXT_VADDR + 0xf9, 8) == NULL);
	CHECK(sw_elf_vaddr_bytes(&e, TEXT_VADDR - 1, 2) == NULL);
	CHECK(sw_elf_vaddr_bytes(&e, TEXT_VADDR, UINT64_MAX) == NULL);
	CHECK(sw_elf_vaddr_bytes(&e, UINT64_MAX, 1) == NULL);

	/* Build-id from the 8-aligned SHT_NOTE section (no PT_NOTE). */
	const uint8_t *id = NULL;
	size_t idlen = 0;
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), 0);
	CHECK_EQ(idlen, 20);
	CHECK(id == j.buf + j.note_off + 40);

	const char *dl = NULL;
	uint32_t crc = 0;
	CHECK_EQ(sw_elf_debuglink(&e, &dl, &crc), 0);
	CHECK_STR(dl, "foo.debug");
	CHECK_EQ(crc, 0x12345678u);

	/* Symbolization rules (the WEAK alias of f1 comes first in the table). */
	check_sym_at(&e, 0x1000, "f1", 0);     /* GLOBAL beats WEAK alias */
	check_sym_at(&e, 0x1005, "inner", 1);  /* innermost sized symbol */
	check_sym_at(&e, 0x100a, "f1", 0xa);
	check_sym_at(&e, 0x1010, NULL, 0);     /* past f1, before f2 */
	check_sym_at(&e, 0x1050, "f2", 0x10);  /* size-0 FUNC, nearest below */
	check_sym_at(&e, 0x1083, "obj", 3);    /* sized beats size-0 */
	check_sym_at(&e, 0x10c2, "", 2);       /* unreadable name */
	check_sym_at(&e, 0x107f, "f2", 0x3f);  /* no sized symbol since f2 */
	check_sym_at(&e, 0x10f0, NULL, 0);     /* past obj and the 0x10c0 function:
						* f2 does not reach that far */
	check_sym_at(&e, 0x1200, NULL, 0);     /* outside .text: f2 does not reach */
	check_sym_at(&e, 0x2100, "bss_f", 0x100);
	check_sym_at(&e, 0x0fff, NULL, 0);

	struct find_sym f;
	CHECK_EQ(lookup_sym(&e, SHT_SYMTAB, NULL, &f), 0);
	CHECK_EQ(f.count, j.sym_size / sizeof(Elf64_Sym));
	CHECK_EQ(f.empty_names, 2); /* the null symbol and the bad name */

	/* Hostile notes and debuglinks are "not found", never a crash. */
	static struct jit k;
	k = j;
	Elf64_Nhdr bad = { 0xffffffffu, 4, 0 };
	memcpy(k.buf + k.note_off, &bad, 12);
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), SW_ENOTFOUND);
	k = j;
	bad = (Elf64_Nhdr){ 4, 0xfffffff0u, 0 };
	memcpy(k.buf + k.note_off, &bad, 12);
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), SW_ENOTFOUND);
	k = j;
	memcpy(k.buf + k.note_off + 24 + 4, "\x19\0\0\0", 4); /* desc 25 > the 24 left */
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), SW_ENOTFOUND);
	memcpy(k.buf + k.note_off + 24 + 4, "\x18\0\0\0", 4); /* exactly fills the area */
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), 0);
	CHECK_EQ(idlen, 24);
	k = j;
	memcpy(k.buf + k.note_off + 24 + 8, "\x02\0\0\0", 4); /* not a build-id */
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_build_id(&e, &id, &idlen), SW_ENOTFOUND);

	k = j;
	memset(k.buf + k.dl_off, 'x', 16); /* no NUL */
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_debuglink(&e, &dl, &crc), SW_ENOTFOUND);
	k = j;
	memcpy(k.buf + k.dl_off, "foo.debug.x\0", 12); /* NUL at 11: CRC would be at 12 */
	((Elf64_Shdr *)(k.buf + EH(k.buf)->e_shoff))[4].sh_size = 15;
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_debuglink(&e, &dl, &crc), SW_ENOTFOUND);
	k = j;
	((Elf64_Shdr *)(k.buf + EH(k.buf)->e_shoff))[4].sh_type = SHT_NOBITS;
	CHECK_EQ(sw_elf_open_mem(&e, k.buf, k.len), 0);
	CHECK_EQ(sw_elf_debuglink(&e, &dl, &crc), SW_ENOTFOUND);

	/* Every truncation of the whole synthetic image. */
	for (size_t len = 0; len <= j.len; len++) {
		int rc = try_open(j.buf, len);
		CHECK(rc == 0 || rc == SW_ENOTELF || rc == SW_EBADELF);
	}
}

/* ------------------------------------------------- separate debug files */

TEST(debuglink_candidates)
{
	char out[PATH_MAX];
	/* gdb's order: DIR/NAME, DIR/.debug/NAME, GLOBAL/DIR/NAME per global
	 * directory (empty list items skipped) */
	static const char *want[] = { "/d/x.debug", "/d/.debug/x.debug", "/g1/d/x.debug",
				      "/g2/d/x.debug" };
	unsigned i;
	for (i = 0; i < 4; i++) {
		CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x.debug", ":/g1::/g2:", i, out,
						    sizeof(out)), 0);
		CHECK_STR(out, want[i]);
	}
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x.debug", ":/g1::/g2:", i, out, sizeof(out)),
		 SW_ENOTFOUND);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "", 2, out, sizeof(out)), SW_ENOTFOUND);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", NULL, 2, out, sizeof(out)), SW_ENOTFOUND);
	/* a relative directory: no global candidates */
	CHECK_EQ(sw_elf_debuglink_candidate("", "x", "/g", 0, out, sizeof(out)), 0);
	CHECK_STR(out, "x");
	CHECK_EQ(sw_elf_debuglink_candidate("", "x", "/g", 1, out, sizeof(out)), 0);
	CHECK_STR(out, ".debug/x");
	CHECK_EQ(sw_elf_debuglink_candidate("", "x", "/g", 2, out, sizeof(out)), SW_ENOTFOUND);
	CHECK_EQ(sw_elf_debuglink_candidate("lib/", "x", "/g", 2, out, sizeof(out)), SW_ENOTFOUND);

	/* exact fit, one byte short, bad arguments */
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "/g", 2, out, 7), 0);
	CHECK_STR(out, "/g/d/x");
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "/g", 2, out, 6), SW_EINVAL);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "/g", 1, out, 10), SW_EINVAL);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "/g", 3, out, 6), SW_ENOTFOUND);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "", "/g", 0, out, sizeof(out)), SW_EINVAL);
	CHECK_EQ(sw_elf_debuglink_candidate(NULL, "x", "/g", 0, out, sizeof(out)), SW_EINVAL);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "/g", 0, out, 0), SW_EINVAL);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", "x", "/g", 0, NULL, 8), SW_EINVAL);
	/* a link name longer than PATH_MAX fails cleanly */
	static char huge[2 * PATH_MAX];
	memset(huge, 'a', sizeof(huge) - 1);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", huge, "/g", 0, out, sizeof(out)), SW_EINVAL);
	CHECK_EQ(sw_elf_debuglink_candidate("/d/", huge, "/g", 3, out, sizeof(out)), SW_ENOTFOUND);
}

TEST(debug_dirs)
{
	const char *old = getenv("SW_DEBUG_DIR");
	char saved[PATH_MAX] = "";
	if (old)
		snprintf(saved, sizeof(saved), "%s", old);
	unsetenv("SW_DEBUG_DIR");
	CHECK_STR(sw_elf_debug_dirs(), "/usr/lib/debug");
	setenv("SW_DEBUG_DIR", "", 1);
	CHECK_STR(sw_elf_debug_dirs(), "/usr/lib/debug");
	setenv("SW_DEBUG_DIR", "/a:/b", 1);
	CHECK_STR(sw_elf_debug_dirs(), "/a:/b");
	if (old)
		setenv("SW_DEBUG_DIR", saved, 1);
	else
		unsetenv("SW_DEBUG_DIR");
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(fwrite(p, 1, n, f), n);
		fclose(f);
	}
}

/* The module: the synthetic image with its debuglink CRC set to `crc`. */
static void set_debuglink_crc(struct jit *j, uint32_t crc)
{
	for (int i = 0; i < 4; i++)
		j->buf[j->dl_off + 12 + i] = (uint8_t)(crc >> (8 * i));
}

/* Which file sw_elf_open_debuglink_file opens for T/mod ("" for none). */
static const char *found_for(const struct sw_elf *mod, const char *path, const char *dirs)
{
	static char found[256];
	struct sw_elf dbg;
	int rc = sw_elf_open_debuglink_file(mod, path, dirs, &dbg);
	found[0] = '\0';
	if (rc == 0) {
		snprintf(found, sizeof(found), "%s", dbg.path);
		sw_elf_close(&dbg);
	} else {
		CHECK_EQ(rc, SW_ENOTFOUND);
	}
	return found;
}

TEST(debuglink_files)
{
	static struct jit mod, dbg, other;
	char t[] = "/tmp/sw-debuglink-XXXXXX", path[PATH_MAX], want[PATH_MAX], dirs[PATH_MAX];
	struct sw_elf e;
	if (!mkdtemp(t)) {
		CHECK(!"mkdtemp");
		return;
	}
	/* the debug file: the same image (same build-id) with other code
	 * bytes; `other` differs in its build-id */
	build_jit(&dbg);
	dbg.buf[dbg.text_off + 1] = 0x90;
	uint32_t crc = sw_elf_crc32(0, dbg.buf, dbg.len);
	other = dbg;
	other.buf[other.note_off + 40] ^= 1;
	uint32_t other_crc = sw_elf_crc32(0, other.buf, other.len);
	build_jit(&mod);
	set_debuglink_crc(&mod, crc);
	CHECK_EQ(sw_elf_open_mem(&e, mod.buf, mod.len), 0);

	snprintf(path, sizeof(path), "%s/mod", t);
	write_file(t, "mod", mod.buf, mod.len);
	CHECK_STR(found_for(&e, path, "/nonexistent"), "");
	/* (c) GLOBAL/DIR/NAME, the second global directory */
	snprintf(dirs, sizeof(dirs), "/nonexistent:%s/g", t);
	snprintf(want, sizeof(want), "mkdir -p %s/g%s", t, t);
	CHECK_EQ(system(want), 0);
	snprintf(want, sizeof(want), "%s/g%s", t, t);
	write_file(want, "foo.debug", dbg.buf, dbg.len);
	strcat(want, "/foo.debug");
	CHECK_STR(found_for(&e, path, dirs), want);
	/* (b) DIR/.debug/NAME comes first */
	snprintf(want, sizeof(want), "%s/.debug", t);
	CHECK_EQ(mkdir(want, 0700), 0);
	write_file(want, "foo.debug", dbg.buf, dbg.len);
	strcat(want, "/foo.debug");
	CHECK_STR(found_for(&e, path, dirs), want);
	/* (a) DIR/NAME comes first, but not with the wrong CRC or build-id */
	write_file(t, "foo.debug", other.buf, other.len);
	CHECK_STR(found_for(&e, path, dirs), want);
	set_debuglink_crc(&mod, other_crc); /* CRC right, build-id wrong */
	CHECK_STR(found_for(&e, path, dirs), "");
	set_debuglink_crc(&mod, crc);
	write_file(t, "foo.debug", dbg.buf, dbg.len);
	snprintf(want, sizeof(want), "%s/foo.debug", t);
	CHECK_STR(found_for(&e, path, dirs), want);
	/* a debug file without a build-id is trusted on its CRC */
	other = dbg;
	other.buf[other.note_off + 24 + 8] = 2; /* not NT_GNU_BUILD_ID */
	write_file(t, "foo.debug", other.buf, other.len);
	set_debuglink_crc(&mod, sw_elf_crc32(0, other.buf, other.len));
	CHECK_STR(found_for(&e, path, dirs), want);
	set_debuglink_crc(&mod, crc);
	/* not an ELF file, with the right CRC: skipped */
	write_file(t, "foo.debug", "not ELF", 7);
	set_debuglink_crc(&mod, sw_elf_crc32(0, (const uint8_t *)"not ELF", 7));
	CHECK_STR(found_for(&e, path, "/nonexistent"), "");
	set_debuglink_crc(&mod, crc);

	/* through a symbolic link: the directory of the real file is tried
	 * too (the main program is /proc/self/exe) */
	snprintf(want, sizeof(want), "mkdir -p %s/real %s/l && ln -s ../real/mod %s/l/mod", t, t, t);
	CHECK_EQ(system(want), 0);
	snprintf(want, sizeof(want), "%s/real", t);
	write_file(want, "mod", mod.buf, mod.len);
	write_file(want, "foo.debug", dbg.buf, dbg.len);
	strcat(want, "/foo.debug");
	snprintf(path, sizeof(path), "%s/l/mod", t);
	CHECK_STR(found_for(&e, path, "/nonexistent"), want);

	/* no debuglink, no build-id, bad arguments */
	struct sw_elf none;
	CHECK_EQ(sw_elf_open_file(&none, self_path()), 0);
	CHECK_EQ(sw_elf_open_debuglink_file(&none, self_path(), "/nonexistent", &none),
		 SW_ENOTFOUND);
	sw_elf_close(&none);
	CHECK_EQ(sw_elf_open_debuglink_file(NULL, path, dirs, &none), SW_EINVAL);
	CHECK_EQ(sw_elf_open_debuglink_file(&e, NULL, dirs, &none), SW_EINVAL);
	CHECK_EQ(sw_elf_open_build_id_file(&e, NULL, &none), SW_EINVAL);

	/* build-id: GLOBAL/.build-id/a0/a1a2...b3.debug, with that build-id */
	snprintf(want, sizeof(want), "mkdir -p %s/b/.build-id/a0", t);
	CHECK_EQ(system(want), 0);
	snprintf(want, sizeof(want), "%s/b/.build-id/a0", t);
	write_file(want, "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3.debug", dbg.buf, dbg.len);
	strcat(want, "/a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3.debug");
	snprintf(dirs, sizeof(dirs), "/nonexistent::%s/b", t);
	CHECK_EQ(sw_elf_open_build_id_file(&e, dirs, &none), 0);
	CHECK_STR(none.path, want);
	sw_elf_close(&none);
	/* ... but not a file under that name with another build-id */
	snprintf(want, sizeof(want), "%s/b/.build-id/a0", t);
	other = dbg;
	other.buf[other.note_off + 41] ^= 1;
	write_file(want, "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3.debug", other.buf, other.len);
	CHECK_EQ(sw_elf_open_build_id_file(&e, dirs, &none), SW_ENOTFOUND);

	snprintf(want, sizeof(want), "rm -rf %s", t);
	CHECK_EQ(system(want), 0);
}

SW_TEST_MAIN
