/*
 * Frame-section loading for the tools (see frames.h).  Uses zlib for
 * SHF_COMPRESSED sections: tools may depend on well-kept libraries, the
 * core library may not.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "frames.h"
#include "stackwalk.h"

static bool is_frame_name(const char *name)
{
	return strcmp(name, ".eh_frame") == 0 || strcmp(name, ".debug_frame") == 0 ||
	       strcmp(name, ".eh_frame_hdr") == 0;
}

/* Inflate an ELFCOMPRESS_ZLIB section into a heap buffer. */
static int inflate_section(struct frame_section *fs, const uint8_t *raw, uint64_t rawsize)
{
	Elf64_Chdr ch;
	uLongf outlen;

	if (rawsize < sizeof(ch)) {
		fs->error = "truncated compression header";
		return SW_ETRUNCATED;
	}
	memcpy(&ch, raw, sizeof(ch));
	if (ch.ch_type != ELFCOMPRESS_ZLIB) {
		fs->error = "unsupported compression type";
		return SW_EUNSUPPORTED;
	}
	if (ch.ch_size > (1ull << 32)) {
		fs->error = "implausible uncompressed size";
		return SW_EUNSUPPORTED;
	}
	fs->owned = malloc(ch.ch_size ? ch.ch_size : 1);
	if (!fs->owned)
		return SW_ENOMEM;
	outlen = (uLongf)ch.ch_size;
	if (uncompress(fs->owned, &outlen, raw + sizeof(ch), (uLong)(rawsize - sizeof(ch))) != Z_OK ||
	    outlen != ch.ch_size) {
		fs->error = "zlib decompression failed";
		return SW_EBADELF;
	}
	fs->data = fs->owned;
	fs->size = ch.ch_size;
	return 0;
}

/* Apply the RELA relocations aimed at section `fs` of a relocatable object,
 * the subset readelf applies on x86-64: absolute and pc-relative data
 * relocations with the symbol's value (section-relative in a .o). */
static void relocate_section(const struct frame_file *ff, struct frame_section *fs)
{
	const struct sw_elf *elf = &ff->elf;

	for (unsigned i = 0; i < elf->shnum; i++) {
		struct sw_elf_section rs, symsec;
		if (sw_elf_section(elf, i, &rs) < 0 || rs.type != SHT_RELA || rs.info != fs->index)
			continue;
		if (rs.entsize != sizeof(Elf64_Rela) || !rs.data ||
		    sw_elf_section(elf, rs.link, &symsec) < 0 || !symsec.data ||
		    symsec.entsize != sizeof(Elf64_Sym))
			continue;
		if (!fs->owned) {
			fs->owned = malloc(fs->size ? fs->size : 1);
			if (!fs->owned)
				return;
			memcpy(fs->owned, fs->data, fs->size);
			fs->data = fs->owned;
		}
		uint64_t nsyms = symsec.size / sizeof(Elf64_Sym);
		for (uint64_t k = 0; k < rs.size / sizeof(Elf64_Rela); k++) {
			Elf64_Rela rel;
			Elf64_Sym sym;
			memcpy(&rel, rs.data + k * sizeof(rel), sizeof(rel));
			uint32_t type = ELF64_R_TYPE(rel.r_info);
			uint64_t symi = ELF64_R_SYM(rel.r_info);
			if (symi >= nsyms)
				continue;
			memcpy(&sym, symsec.data + symi * sizeof(sym), sizeof(sym));
			uint64_t v = sym.st_value + (uint64_t)rel.r_addend;
			unsigned size;
			switch (type) {
			case R_X86_64_64: size = 8; break;
			case R_X86_64_32: case R_X86_64_32S: size = 4; break;
			case R_X86_64_PC32: size = 4; v -= rel.r_offset; break;
			case R_X86_64_PC64: size = 8; v -= rel.r_offset; break;
			case R_X86_64_NONE: continue;
			default: continue;
			}
			if (rel.r_offset > fs->size || size > fs->size - rel.r_offset)
				continue;
			for (unsigned b = 0; b < size; b++)
				fs->owned[rel.r_offset + b] = (uint8_t)(v >> (8 * b));
		}
	}
}

int frame_file_open(struct frame_file *ff, const char *path, char *errbuf, size_t errsize)
{
	int rc;

	memset(ff, 0, sizeof(*ff));
	snprintf(ff->path, sizeof(ff->path), "%s", path);
	rc = sw_elf_open_file(&ff->elf, path);
	if (rc < 0) {
		snprintf(errbuf, errsize, "%s: %s", path, sw_strerror(rc));
		return rc;
	}
	for (unsigned i = 0; i < ff->elf.shnum && ff->nsecs < 16; i++) {
		struct sw_elf_section s;
		rc = sw_elf_section(&ff->elf, i, &s);
		if (rc < 0) {
			snprintf(errbuf, errsize, "%s: section %u: %s", path, i, sw_strerror(rc));
			frame_file_close(ff);
			return rc;
		}
		if (!is_frame_name(s.name))
			continue;
		struct frame_section *fs = &ff->secs[ff->nsecs++];
		snprintf(fs->name, sizeof(fs->name), "%s", s.name);
		fs->index = i;
		fs->type = s.type;
		fs->addr = s.addr;
		fs->sh_size = s.size;
		fs->size = s.size;
		fs->data = s.data;
		fs->is_eh = strcmp(s.name, ".eh_frame") == 0;
		if (s.type == SHT_NOBITS || !s.data) {
			fs->data = NULL;
			continue;
		}
		if (s.flags & SHF_COMPRESSED) {
			rc = inflate_section(fs, s.data, s.size);
			if (rc < 0) {
				snprintf(errbuf, errsize, "%s: %s: %s", path, s.name,
					 fs->error ? fs->error : sw_strerror(rc));
				frame_file_close(ff);
				return rc;
			}
		}
		if (ff->elf.ehdr->e_type == ET_REL)
			relocate_section(ff, fs);
	}
	return 0;
}

void frame_file_close(struct frame_file *ff)
{
	for (unsigned i = 0; i < ff->nsecs; i++)
		free(ff->secs[i].owned);
	sw_elf_close(&ff->elf);
	memset(ff, 0, sizeof(*ff));
}

const struct frame_section *frame_file_find(const struct frame_file *ff, const char *name)
{
	for (unsigned i = 0; i < ff->nsecs; i++)
		if (strcmp(ff->secs[i].name, name) == 0)
			return &ff->secs[i];
	return NULL;
}

/* True when `path` is a readable ELF file. */
static bool is_elf_file(const char *path)
{
	struct sw_elf e;

	if (sw_elf_open_file(&e, path) < 0)
		return false;
	sw_elf_close(&e);
	return true;
}

static bool crc_matches(const char *path, uint32_t want)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[65536];
	uint32_t crc = 0;
	size_t n;

	if (!f)
		return false;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crc = sw_elf_crc32(crc, buf, n);
	fclose(f);
	return crc == want;
}

static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

/*
 * readelf follows .gnu_debuglink (CRC-checked) in the file's directory and
 * the standard debug roots, then the build-id under the same roots.  The
 * order and roots follow binutils 2.40 (dwarf.c: load_separate_debug_info,
 * load_build_id_debug_file) so `--readelf` output matches it.
 */
unsigned frame_file_separate(const struct frame_file *ff, char paths[][4096], unsigned max)
{
	unsigned n = 0;
	const char *link;
	uint32_t crc;
	char dir[PATH_MAX], cand[4096];

	if (max == 0)
		return 0;
	if (!realpath(ff->path, dir) &&
	    snprintf(dir, sizeof(dir), "%s", ff->path) >= (int)sizeof(dir))
		return 0;
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';

	if (sw_elf_debuglink(&ff->elf, &link, &crc) == 0) {
		const char *fmts[] = { "%s%s", ".debug/%s%s", "%s%s", "%s.debug/%s",
				       "/usr/lib/debug/%s%s", "/usr/lib/debug/%s/%s",
				       "/usr/lib/debug/usr/%s%s", "/lib/debug/%s%s" };
		for (unsigned i = 0; i < 8; i++) {
			const char *a = "", *b = link;
			if (i == 2 || i == 3 || i == 5) a = dir;
			if (snprintf(cand, sizeof(cand), fmts[i], a, b) >= (int)sizeof(cand))
				continue;
			if (access(cand, R_OK) == 0 && is_elf_file(cand) && crc_matches(cand, crc)) {
				if (!same_file(cand, ff->path) && n < max)
					snprintf(paths[n++], 4096, "%s", cand);
				break;
			}
		}
	}

	struct sw_elf_section note;
	if (sw_elf_find_section(&ff->elf, ".note.gnu.build-id", &note) == 0 && note.data &&
	    note.size >= 0x18) {
		uint32_t idsize;
		memcpy(&idsize, note.data + 4, 4);
		if (idsize >= 8 && idsize <= note.size - 16) {
			static const char *const prefixes[] = {
				"", ".debug/", "/usr/lib/debug/", "/usr/lib/debug/usr/",
				"/usr/lib64/debug/", "/usr/lib64/debug/usr" };
			char hex[2 * 64 + 1];
			const uint8_t *id = note.data + 16;
			unsigned hn = idsize > 64 ? 64 : idsize;
			for (unsigned i = 0; i < hn; i++)
				snprintf(hex + 2 * i, 3, "%02x", id[i]);
			for (unsigned p = 0; p < 6; p++) {
				snprintf(cand, sizeof(cand), "%s.build-id/%c%c/%s.debug", prefixes[p],
					 hex[0], hex[1], hex + 2);
				if (access(cand, R_OK) == 0 && is_elf_file(cand)) {
					bool dup = false;
					for (unsigned k = 0; k < n; k++)
						dup |= same_file(paths[k], cand);
					if (!dup && n < max) {
						/* readelf lists the newest separate file first */
						memmove(paths[1], paths[0], (size_t)n * 4096);
						snprintf(paths[0], 4096, "%s", cand);
						n++;
					}
					break;
				}
			}
		}
	}
	return n;
}
