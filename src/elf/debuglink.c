/*
 * Separate debug files: where a stripped module's .symtab went.  Two ways
 * lead there, tried in gdb's order (gdb/build-id.c, gdb/symfile.c
 * find_separate_debug_file): the build-id, GLOBAL/.build-id/xx/rest.debug;
 * then the .gnu_debuglink name, next to the module, in its .debug/
 * subdirectory and under GLOBAL by the module's directory.
 *
 * Trust model: the module's debuglink section and build-id are hostile,
 * and so is whatever file a candidate path names.  The link name must be
 * NUL-terminated inside its section; a path that does not fit PATH_MAX is
 * skipped, never truncated; a candidate is accepted only when it is a
 * valid ELF file whose CRC-32 over the whole file equals the debuglink's
 * and whose build-id, if any, equals the module's.  A file found by
 * build-id must carry that build-id.
 *
 * No allocation beyond the mapping of each candidate (sw_elf_open_file):
 * paths are built in PATH_MAX buffers on the stack.
 */
#define _GNU_SOURCE
#include "elf/elf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stackwalk.h"

const char *sw_elf_debug_dirs(void)
{
	const char *dirs = secure_getenv("SW_DEBUG_DIR");

	return dirs && dirs[0] ? dirs : SW_ELF_DEBUG_DIR;
}

/* .gnu_debuglink: name, NUL, pad to 4, then the CRC (little-endian). */
int sw_elf_debuglink(const struct sw_elf *elf, const char **name, uint32_t *crc)
{
	if (!elf || !name || !crc)
		return SW_EINVAL;
	struct sw_elf_section s;
	/* A malformed section is as useless as a missing one: SW_ENOTFOUND. */
	if (sw_elf_find_section(elf, ".gnu_debuglink", &s) != 0 || !s.data)
		return SW_ENOTFOUND;
	const uint8_t *nul = memchr(s.data, '\0', s.size);
	if (!nul || nul == s.data)
		return SW_ENOTFOUND;
	/* nul - s.data < s.size, so neither the addition nor the rounding wraps */
	uint64_t crc_off = ((uint64_t)(nul - s.data) + 1 + 3) & ~(uint64_t)3;
	if (crc_off > s.size || s.size - crc_off < 4)
		return SW_ENOTFOUND;
	const uint8_t *c = s.data + crc_off; /* any alignment: read bytewise */
	*crc = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
	*name = (const char *)s.data;
	return 0;
}

/* Half-byte table of the reflected polynomial 0xEDB88320: 16 constants
 * instead of 256, two lookups per byte, still no mutable state. */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

/* zlib-compatible CRC-32: start with crc = 0, chain calls over chunks. */
uint32_t sw_elf_crc32(uint32_t crc, const uint8_t *buf, size_t len)
{
	/* Pre/post inversion as in zlib: crc32(crc32(0, a), b) == crc32(0, ab). */
	crc = ~crc;
	for (size_t i = 0; buf && i < len; i++) {
		crc ^= buf[i];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
	}
	return ~crc;
}

/* A path being built in a caller's buffer; `overflow` is sticky. */
struct path_buf {
	char *p;
	size_t size;               /* bytes in p, >= 1 */
	size_t len;                /* bytes used, p[len] == '\0' */
	bool overflow;             /* something did not fit: the path is unusable */
};

static void put(struct path_buf *b, const char *s, size_t n)
{
	if (b->overflow || n >= b->size - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

const char *sw_elf_list_item(const char *list, unsigned n, size_t *len)
{
	for (const char *p = list; p && *p;) {
		size_t l = strcspn(p, ":");
		if (l > 0 && n-- == 0) {
			*len = l;
			return p;
		}
		p += l;
		if (*p == ':')
			p++;
	}
	return NULL;
}

int sw_elf_debuglink_candidate(const char *dir, const char *link, const char *debug_dirs,
			       unsigned i, char *out, size_t size)
{
	const char *global = NULL;
	size_t glen = 0;

	if (!dir || !link)
		return SW_EINVAL;
	if (i >= 2) {
		/* GLOBAL + "/dir/" + LINK: a relative directory has no place
		 * under a global directory.  Checked first, so that a loop over
		 * i always ends. */
		global = dir[0] == '/' && debug_dirs ? sw_elf_list_item(debug_dirs, i - 2, &glen) : NULL;
		if (!global)
			return SW_ENOTFOUND;
	}
	if (!link[0] || !out || size == 0)
		return SW_EINVAL;
	out[0] = '\0';
	struct path_buf b = { .p = out, .size = size };
	if (global)
		put(&b, global, glen);
	put(&b, dir, strlen(dir));
	if (i == 1)
		put(&b, ".debug/", 7);
	put(&b, link, strlen(link));
	return b.overflow ? SW_EINVAL : 0;
}

/* True when both images carry the same build-id. */
static bool same_build_id(const struct sw_elf *a, const struct sw_elf *b)
{
	const uint8_t *ia, *ib;
	size_t la, lb;

	return sw_elf_build_id(a, &ia, &la) == 0 && sw_elf_build_id(b, &ib, &lb) == 0 &&
	       la == lb && memcmp(ia, ib, la) == 0;
}

/* The directory part of `path` ("" or ending in '/') into `out`; false
 * when it does not fit. */
static bool dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) + 1 : 0;

	if (n >= size)
		return false;
	memmove(out, path, n); /* `out` may be `path` */
	out[n] = '\0';
	return true;
}

/* The candidates for `dir`: the first acceptable one is opened in *dbg. */
static int try_dir(const struct sw_elf *elf, const char *dir, const char *link, uint32_t crc,
		   const char *debug_dirs, const struct stat *self, struct sw_elf *dbg)
{
	char cand[PATH_MAX];

	for (unsigned i = 0;; i++) {
		int rc = sw_elf_debuglink_candidate(dir, link, debug_dirs, i, cand, sizeof(cand));
		if (rc == SW_ENOTFOUND)
			return SW_ENOTFOUND;
		if (rc != 0)
			continue; /* too long for PATH_MAX: no such file either */
		struct stat st;
		/* the module itself (a link naming its own file) is no debug file */
		if (stat(cand, &st) != 0 ||
		    (self && st.st_dev == self->st_dev && st.st_ino == self->st_ino))
			continue;
		if (sw_elf_open_file(dbg, cand) != 0)
			continue;
		/* The whole file is mapped: its CRC is the image's.  A debug
		 * file with a build-id must be the module's (a CRC collision or
		 * a stale file); one without is trusted on its CRC, as gdb does. */
		const uint8_t *id;
		size_t idlen;
		if (sw_elf_crc32(0, dbg->image, dbg->size) == crc &&
		    (sw_elf_build_id(dbg, &id, &idlen) != 0 || same_build_id(elf, dbg)))
			return 0;
		sw_elf_close(dbg);
	}
}

int sw_elf_open_debuglink_file(const struct sw_elf *elf, const char *path,
			       const char *debug_dirs, struct sw_elf *dbg)
{
	const char *link;
	uint32_t crc;
	char dir[PATH_MAX], real[PATH_MAX];
	struct stat self;

	if (!elf || !path || !dbg)
		return SW_EINVAL;
	if (sw_elf_debuglink(elf, &link, &crc) != 0)
		return SW_ENOTFOUND;
	bool have_self = stat(path, &self) == 0;
	bool have_dir = dir_of(path, dir, sizeof(dir));
	if (have_dir && try_dir(elf, dir, link, crc, debug_dirs, have_self ? &self : NULL,
				dbg) == 0)
		return 0;
	/* The module's path may be a symbolic link (/proc/self/exe for the
	 * main program, a versioned library name) or relative: gdb then
	 * tries again from the directory of the file it resolves to. */
	if (realpath(path, real) && dir_of(real, real, sizeof(real)) &&
	    (!have_dir || strcmp(real, dir) != 0) &&
	    try_dir(elf, real, link, crc, debug_dirs, have_self ? &self : NULL, dbg) == 0)
		return 0;
	return SW_ENOTFOUND;
}

int sw_elf_open_build_id_file(const struct sw_elf *elf, const char *debug_dirs,
			      struct sw_elf *dbg)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *id;
	size_t len, glen;
	const char *global;

	if (!elf || !debug_dirs || !dbg)
		return SW_EINVAL;
	/* one byte names the directory, the rest the file */
	if (sw_elf_build_id(elf, &id, &len) != 0 || len < 2)
		return SW_ENOTFOUND;
	for (unsigned n = 0; (global = sw_elf_list_item(debug_dirs, n, &glen)) != NULL; n++) {
		char path[PATH_MAX];
		struct path_buf b = { .p = path, .size = sizeof(path) };
		put(&b, global, glen);
		put(&b, "/.build-id/", 11);
		for (size_t k = 0; k < len && !b.overflow; k++) {
			char x[2] = { hex[id[k] >> 4], hex[id[k] & 15] };
			put(&b, x, 2);
			if (k == 0)
				put(&b, "/", 1);
		}
		put(&b, ".debug", 6);
		if (b.overflow || sw_elf_open_file(dbg, path) != 0)
			continue;
		if (same_build_id(elf, dbg))
			return 0;
		sw_elf_close(dbg);
	}
	return SW_ENOTFOUND;
}
