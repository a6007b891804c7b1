/*
 * `stackwalk table`: build and print a module's compact unwind table
 * (src/table/table.h).
 *
 *   stackwalk table [--rows] [--out BLOB] FILE
 *       build the table of FILE's .eh_frame (through .eh_frame_hdr when it
 *       has a usable one) or, without one, of its .debug_frame; print its
 *       size and counts beside the sizes of .eh_frame, .eh_frame_hdr and
 *       .sframe; --rows prints every row; --out writes the blob (the bytes
 *       are the table: position-independent, checked when read back)
 *   stackwalk table --check [--rows] BLOB
 *       read a blob written by --out, validate it with sw_table_check and
 *       print it the same way
 *
 * Exit status: 0 ok, 1 the table could not be built or the blob is bad,
 * 2 usage, file not ELF / unreadable / without CFI.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/regs.h"
#include "frames.h"
#include "table/table.h"
#include "tools.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: stackwalk table [--rows] [--out BLOB] FILE\n"
		   "       stackwalk table --check [--rows] BLOB\n"
		   "  FILE's compact unwind table, built from .eh_frame (+ .eh_frame_hdr)\n"
		   "  or .debug_frame: its size, rows, rules, DWARF-fallback and gap rows,\n"
		   "  FDEs, beside the sizes of .eh_frame, .eh_frame_hdr and .sframe\n"
		   "  --rows        every row: address range and rule\n"
		   "  --out BLOB    write the table (its on-disk form is the blob itself)\n"
		   "  --check       read BLOB back, validate it (sw_table_check), print it\n");
}

static void report(const char *what, const struct sw_diag *d)
{
	char msg[256];

	sw_diag_format(d, msg, sizeof(msg));
	fprintf(stderr, "stackwalk: %s: %s\n", what, msg);
}

static const char *reg(unsigned r)
{
	const char *n = sw_arch_reg_name(r);
	return n ? n : "?";
}

/* "CFA=rsp+16 ra=[cfa-8] rbx=[cfa-24] ..." */
static void format_rule(const struct sw_compiled *r, char *buf, size_t size)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, size - n, "CFA=%s%+" PRId32, reg(sw_cr_cfa_reg(r)),
			      sw_cr_cfa_off(r));
	if (n < size) {
		if (sw_cr_flags(r) & SW_CF_OUTERMOST)
			n += (size_t)snprintf(buf + n, size - n, " ra=undefined");
		else
			n += (size_t)snprintf(buf + n, size - n, " ra=[cfa%+" PRId64 "]", sw_cr_ra_off(r));
	}
	for (unsigned i = 0; i < 6 && n < size; i++) {
		if (sw_cr_saved(r) & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, " %s=[cfa%+" PRId64 "]",
					      reg(sw_cs_reg[i]), sw_cr_off(r, i));
		else if (sw_cr_undef(r) & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, " %s=undefined", reg(sw_cs_reg[i]));
	}
}

static void print_rows(const struct sw_table *t)
{
	const uint32_t *pages = sw_table_pages(t), *rows = sw_table_rows(t);
	const struct sw_compiled *rules = sw_table_rules(t);
	char buf[256];

	for (uint32_t p = 0; p < t->npages; p++) {
		for (uint32_t r = pages[p]; r < pages[p + 1]; r++) {
			uint64_t start = t->lo + ((uint64_t)p << SW_TABLE_PAGE_SHIFT) +
					 (rows[r] >> SW_TABLE_RULE_BITS);
			uint32_t k = rows[r] & SW_TABLE_RULE_MASK;
			uint64_t end = UINT64_MAX;
			struct sw_compiled rule;
			sw_table_lookup(t, start, &rule, &end);
			if (k == SW_TABLE_GAP)
				snprintf(buf, sizeof(buf), "gap (no FDE)");
			else if (k == SW_TABLE_DWARF)
				snprintf(buf, sizeof(buf), "DWARF (the interpreter)");
			else
				format_rule(&rules[k], buf, sizeof(buf));
			if (end == UINT64_MAX)
				printf("  0x%08" PRIx64 "-end         %s\n", start, buf);
			else
				printf("  0x%08" PRIx64 "-0x%08" PRIx64 " %s\n", start, end, buf);
		}
	}
}

static void print_summary(const struct sw_table *t)
{
	printf("table: %" PRIu32 " bytes\n", t->size);
	printf("rows: %" PRIu32 "\n", t->nrows);
	printf("rules: %" PRIu32 "\n", t->nrules);
	printf("dwarf_rows: %" PRIu32 "\n", t->dwarf_rows);
	printf("gap_rows: %" PRIu32 "\n", t->gap_rows);
	printf("fdes: %" PRIu32 "\n", t->fdes);
	printf("bad_fdes: %" PRIu32 "\n", t->bad_fdes);
	printf("pages: %" PRIu32 " from 0x%" PRIx64 "\n", t->npages, t->lo);
	if (t->build_id_len) {
		printf("build_id: ");
		for (uint32_t i = 0; i < t->build_id_len; i++)
			printf("%02x", t->build_id[i]);
		printf("\n");
	}
}

static int write_blob(const char *path, const struct sw_table *t)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(t, 1, t->size, f) != t->size || fclose(f) != 0) {
		fprintf(stderr, "stackwalk: cannot write %s: %s\n", path, strerror(errno));
		return 2;
	}
	return 0;
}

static int check_blob(const char *path, bool rows)
{
	struct sw_diag diag = { 0 };
	struct stat st;
	void *buf = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "stackwalk: cannot read %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	/* (8-aligned: the rules are 64-bit words) */
	size_t size = (size_t)st.st_size;
	if (posix_memalign(&buf, 8, size ? size : 1) != 0) {
		close(fd);
		fprintf(stderr, "stackwalk: out of memory reading %s\n", path);
		return 2;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, (char *)buf + got, size - got);
		if (n <= 0) {
			fprintf(stderr, "stackwalk: cannot read %s: %s\n", path,
				n < 0 ? strerror(errno) : "short read");
			close(fd);
			free(buf);
			return 2;
		}
		got += (size_t)n;
	}
	close(fd);
	rc = sw_table_check(buf, size, &diag);
	if (rc < 0) {
		/* diag.section says what is wrong; SW_EBADHDR's text would
		 * speak of .eh_frame_hdr */
		fprintf(stderr, "stackwalk: %s is not a valid table: %s at offset 0x%" PRIx64 "%s%s%s\n",
			path, diag.section ? diag.section : "?", diag.offset,
			rc == SW_EBADHDR ? "" : " (", rc == SW_EBADHDR ? "" : sw_strerror(rc),
			rc == SW_EBADHDR ? "" : ")");
		free(buf);
		return 1;
	}
	printf("%s: a valid table\n", path);
	print_summary(buf);
	if (rows)
		print_rows(buf);
	free(buf);
	return 0;
}

int cmd_table(int argc, char **argv)
{
	const char *out = NULL, *file = NULL;
	bool rows = false, check = false;
	struct frame_file *ff;
	char err[512];
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0) {
			rows = true;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || file) {
			usage(stderr);
			return 2;
		} else {
			file = argv[i];
		}
	}
	if (!file || (check && out)) {
		usage(stderr);
		return 2;
	}
	if (check)
		return check_blob(file, rows);

	ff = calloc(1, sizeof(*ff));
	if (!ff) {
		fprintf(stderr, "stackwalk: out of memory\n");
		return 2;
	}
	rc = frame_file_open(ff, file, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "stackwalk: %s\n", err);
		free(ff);
		return 2;
	}
	const struct frame_section *eh = frame_file_find(ff, ".eh_frame");
	const struct frame_section *hs = frame_file_find(ff, ".eh_frame_hdr");
	const struct frame_section *dbg = frame_file_find(ff, ".debug_frame");
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_table_src src = { .sec = &sec };
	struct sw_diag diag = { 0 };
	struct sw_table *t = NULL;
	struct sw_elf_section sf;
	const char *how;

	if (eh && eh->data && eh->size) {
		sw_cfi_section_init(&sec, eh->data, eh->size, eh->addr, true, ".eh_frame");
		how = ".eh_frame (scanned: no usable .eh_frame_hdr)";
		if (hs && hs->data) {
			if (sw_eh_hdr_parse(&hdr, hs->data, hs->size, hs->addr, &diag) == 0 && hdr.table) {
				sec.datarel = hs->addr;
				src.hdr = &hdr;
				how = ".eh_frame through .eh_frame_hdr";
			} else if (diag.code) {
				report("ignoring .eh_frame_hdr", &diag);
			}
		}
	} else if (dbg && dbg->data && dbg->size) {
		sw_cfi_section_init(&sec, dbg->data, dbg->size, dbg->addr, false, ".debug_frame");
		how = ".debug_frame";
	} else {
		fprintf(stderr, "stackwalk: %s has no .eh_frame or .debug_frame\n", file);
		frame_file_close(ff);
		free(ff);
		return 2;
	}
	const uint8_t *id;
	size_t idlen;
	if (sw_elf_build_id(&ff->elf, &id, &idlen) == 0) {
		src.build_id = id;
		src.build_id_len = idlen;
	}
	rc = sw_table_build(&src, &t, &diag);
	if (rc < 0) {
		report("cannot build the table", &diag);
		frame_file_close(ff);
		free(ff);
		return 1;
	}
	printf("%s: compact table of %s\n", file, how);
	print_summary(t);
	printf("eh_frame: %" PRIu64 " bytes\n", eh ? eh->sh_size : 0);
	printf("eh_frame_hdr: %" PRIu64 " bytes\n", hs ? hs->sh_size : 0);
	if (dbg)
		printf("debug_frame: %" PRIu64 " bytes\n", dbg->sh_size);
	if (sw_elf_find_section(&ff->elf, ".sframe", &sf) == 0)
		printf("sframe: %" PRIu64 " bytes\n", sf.size);
	else
		printf("sframe: none\n");
	if (rows)
		print_rows(t);
	if (out)
		status = write_blob(out, t);
	sw_table_free(t);
	frame_file_close(ff);
	free(ff);
	return status;
}
