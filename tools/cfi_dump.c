/*
 * `stackwalk cfi`: dump CIEs, FDEs and expanded CFA tables.
 *
 *   stackwalk cfi FILE              every CIE and FDE with its table, in the
 *                                   layout of the CFI lecture (location, CFA,
 *                                   rip, then the registers that have rules)
 *   stackwalk cfi --pc ADDR FILE    the one row that applies at ADDR
 *   stackwalk cfi --readelf FILE    readelf --debug-dump=frames-interp layout
 *
 * Exit status: 0 ok, 1 malformed CFI (the dump goes as far as it can),
 * 2 usage, file not ELF / unreadable, or ADDR not covered.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/regs.h"
#include "dwarf/cfi.h"
#include "frames.h"
#include "tools.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: stackwalk cfi [--readelf [--check] | --pc ADDR] FILE\n"
		   "  (no option)   every CIE and FDE with its expanded CFA table\n"
		   "  --pc ADDR     the row that applies at ADDR (a link-time address)\n"
		   "  --readelf     the layout of readelf --debug-dump=frames-interp\n"
		   "  --check       with --readelf: verify every row against the engine\n");
}

static const char *reg_str(uint64_t r)
{
	static char buf[4][24];
	static int k;
	const char *n = r < 4096 ? sw_arch_reg_name((unsigned)r) : NULL;

	k = (k + 1) % 4;
	if (n)
		return n;
	snprintf(buf[k], sizeof(buf[k]), "r%" PRIu64, r);
	return buf[k];
}

static void signed_hex(char *buf, size_t size, const char *prefix, int64_t v)
{
	snprintf(buf, size, "%s%s0x%02" PRIx64, prefix, v < 0 ? "-" : "+",
		 v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

static void cfa_str(const struct sw_cfa_row *row, char *buf, size_t size)
{
	if (row->cfa_kind == SW_CFA_RULE_EXPR)
		snprintf(buf, size, "expr");
	else if (row->cfa_kind == SW_CFA_RULE_REG)
		signed_hex(buf, size, reg_str(row->cfa_reg), row->cfa_offset);
	else
		snprintf(buf, size, "undef");
}

static void rule_str(const struct sw_rule *r, char *buf, size_t size)
{
	char tmp[40];

	switch (r->kind) {
	case SW_RULE_UNSET: snprintf(buf, size, "same"); break;
	case SW_RULE_UNDEFINED: snprintf(buf, size, "undef"); break;
	case SW_RULE_SAME: snprintf(buf, size, "same"); break;
	case SW_RULE_OFFSET:
		signed_hex(tmp, sizeof(tmp), "CFA", r->value);
		snprintf(buf, size, "[%s]", tmp);
		break;
	case SW_RULE_VAL_OFFSET: signed_hex(buf, size, "CFA", r->value); break;
	case SW_RULE_REGISTER: snprintf(buf, size, "=%s", reg_str((uint64_t)r->value)); break;
	case SW_RULE_EXPR: snprintf(buf, size, "[expr]"); break;
	case SW_RULE_VAL_EXPR: snprintf(buf, size, "expr"); break;
	default: snprintf(buf, size, "?"); break;
	}
}

/* Rows of one FDE, collected to find the columns before printing. */
struct table {
	struct sw_cfa_row *rows;
	size_t n, cap;
};

static int collect(void *arg, const struct sw_cfa_row *row)
{
	struct table *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct sw_cfa_row *n = realloc(t->rows, cap * sizeof(*n));
		if (!n)
			return SW_ENOMEM;
		t->rows = n;
		t->cap = cap;
	}
	t->rows[t->n++] = *row;
	return 0;
}

/* Under a row, spell out the expressions its CFA and shown columns use. */
static void print_exprs(const struct sw_cfa_row *row, uint64_t ra, const bool *used)
{
	char text[512];

	if (row->cfa_kind == SW_CFA_RULE_EXPR) {
		expr_print(row->cfa_expr, row->cfa_expr_len, text, sizeof(text));
		printf("        CFA = %s\n", text);
	}
	for (unsigned r = 0; r < SW_CFI_COLS; r++) {
		const struct sw_rule *rule = &row->regs[r];
		if ((r != ra && !used[r]) ||
		    (rule->kind != SW_RULE_EXPR && rule->kind != SW_RULE_VAL_EXPR))
			continue;
		expr_print(rule->expr, rule->expr_len, text, sizeof(text));
		printf("        %s %s %s\n", reg_str(r),
		       rule->kind == SW_RULE_EXPR ? "saved at" : "=", text);
	}
}

static void print_table(const struct sw_cfa_row *rows, size_t n)
{
	bool used[SW_CFI_COLS] = { false };
	uint64_t ra = n ? rows[0].ra_reg : SW_X86_64_RIP;
	char buf[64];

	for (size_t i = 0; i < n; i++)
		for (unsigned r = 0; r < SW_CFI_COLS; r++)
			if (rows[i].regs[r].kind != SW_RULE_UNSET && r != ra)
				used[r] = true;
	printf("    %-18s %-12s %-10s", "location", "CFA", reg_str(ra));
	for (unsigned r = 0; r < SW_CFI_COLS; r++)
		if (used[r])
			printf(" %-10s", reg_str(r));
	printf("\n");
	for (size_t i = 0; i < n; i++) {
		const struct sw_cfa_row *row = &rows[i];
		printf("    0x%016" PRIx64 " ", row->loc);
		cfa_str(row, buf, sizeof(buf));
		printf("%-12s ", buf);
		if (ra < SW_CFI_COLS)
			rule_str(&row->regs[ra], buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "?");
		printf("%-10s", buf);
		for (unsigned r = 0; r < SW_CFI_COLS; r++) {
			if (!used[r])
				continue;
			rule_str(&row->regs[r], buf, sizeof(buf));
			printf(" %-10s", buf);
		}
		if (row->args_size)
			printf(" args_size=%" PRIu64, row->args_size);
		if (row->dropped)
			printf(" (+%u rules for registers >= %d)", row->dropped, SW_CFI_COLS);
		printf("\n");
		print_exprs(row, ra, used);
	}
}

static void print_cie(const struct sw_cie *cie)
{
	printf("CIE 0x%08" PRIx64 " version %u augmentation \"%s\" code_align %" PRIu64
	       " data_align %" PRId64 " ra %s", cie->offset, cie->version, cie->augmentation,
	       cie->code_align, cie->data_align, reg_str(cie->ra_reg));
	if (cie->has_z)
		printf(" fde_enc 0x%02x", cie->fde_enc);
	if (cie->personality_enc != SW_PE_omit)
		printf(" personality 0x%" PRIx64, cie->personality);
	if (cie->lsda_enc != SW_PE_omit)
		printf(" lsda_enc 0x%02x", cie->lsda_enc);
	if (cie->signal_frame)
		printf(" signal-frame");
	printf("\n");
}

static void print_fde(const struct sw_fde *fde, const struct sw_cie *cie)
{
	printf("FDE 0x%08" PRIx64 " cie=0x%08" PRIx64 " pc=0x%" PRIx64 "..0x%" PRIx64,
	       fde->offset, fde->cie_offset, fde->pc_begin, fde->pc_end);
	if (cie->personality_enc != SW_PE_omit)
		printf(" personality=0x%" PRIx64, cie->personality);
	if (fde->lsda)
		printf(" lsda=0x%" PRIx64, fde->lsda);
	printf("\n");
}

static void report(const struct sw_diag *d)
{
	char msg[256];

	sw_diag_format(d, msg, sizeof(msg));
	fprintf(stderr, "stackwalk: %s\n", msg);
}

/* Dump every entry of one section in our own layout. */
static int dump_section(const struct sw_cfi_section *sec)
{
	struct sw_cfi_entry ent;
	struct sw_diag diag;
	struct table t = { 0 };
	uint64_t off = 0, ncie = 0, nfde = 0;
	int rc, status = 0;

	printf("%s: %zu bytes at 0x%" PRIx64 "\n", sec->name, sec->size, sec->vaddr);
	while ((rc = sw_cfi_entry_at(sec, off, &ent, &diag)) == 0) {
		struct sw_cie cie;
		struct sw_fde fde;
		if (ent.kind == SW_CFI_ZERO) {
			printf("\nZERO terminator at 0x%08" PRIx64 "\n", off);
		} else if (ent.kind == SW_CFI_CIE) {
			ncie++;
			printf("\n");
			if ((rc = sw_cfi_parse_cie(sec, off, &cie, &diag)) < 0) {
				report(&diag);
				status = rc;
			} else {
				print_cie(&cie);
				t.n = 0;
				if ((rc = sw_cfa_table(sec, &cie, NULL, collect, &t, &diag)) < 0) {
					report(&diag);
					status = rc;
				}
				print_table(t.rows, t.n);
			}
		} else {
			nfde++;
			printf("\n");
			if ((rc = sw_cfi_parse_fde(sec, off, &fde, &cie, &diag)) < 0) {
				report(&diag);
				status = rc;
			} else {
				print_fde(&fde, &cie);
				t.n = 0;
				if ((rc = sw_cfa_table(sec, &cie, &fde, collect, &t, &diag)) < 0) {
					report(&diag);
					status = rc;
				}
				print_table(t.rows, t.n);
			}
		}
		off = ent.end;
	}
	if (rc < 0) {
		report(&diag);
		status = rc;
	}
	printf("\n%s: %" PRIu64 " CIEs, %" PRIu64 " FDEs\n\n", sec->name, ncie, nfde);
	free(t.rows);
	return status;
}

static void init_section(struct sw_cfi_section *sec, const struct frame_section *fs)
{
	sw_cfi_section_init(sec, fs->data, fs->size, fs->addr, fs->is_eh, fs->name);
}

/* `--pc`: find the FDE for addr (header, then .eh_frame, then
 * .debug_frame) and print its row. */
static int dump_pc(const struct frame_file *ff, uint64_t addr)
{
	const struct frame_section *eh = frame_file_find(ff, ".eh_frame");
	const struct frame_section *hdr = frame_file_find(ff, ".eh_frame_hdr");
	const struct frame_section *dbg = frame_file_find(ff, ".debug_frame");
	struct sw_cfi_section sec;
	struct sw_fde fde;
	struct sw_cie cie;
	struct sw_diag diag = { 0 };
	struct sw_cfa_row row;
	const char *how = NULL;
	int rc = SW_ENOTFOUND;

	if (eh && eh->data) {
		init_section(&sec, eh);
		if (hdr && hdr->data) {
			struct sw_eh_hdr h;
			if (sw_eh_hdr_parse(&h, hdr->data, hdr->size, hdr->addr, &diag) == 0 && h.table) {
				sec.datarel = hdr->addr;
				rc = sw_cfi_find_fde_hdr(&h, &sec, addr, &fde, &cie, &diag);
				how = ".eh_frame_hdr binary search";
			}
		}
		if (!how) {
			rc = sw_cfi_find_fde_linear(&sec, addr, &fde, &cie, &diag);
			how = ".eh_frame linear scan";
		}
	}
	if (rc == SW_ENOTFOUND && dbg && dbg->data) {
		init_section(&sec, dbg);
		rc = sw_cfi_find_fde_linear(&sec, addr, &fde, &cie, &diag);
		how = ".debug_frame linear scan";
	}
	if (rc == SW_ENOTFOUND) {
		fprintf(stderr, "stackwalk: no FDE covers 0x%" PRIx64 " in %s\n", addr, ff->path);
		return 2;
	}
	if (rc < 0) {
		report(&diag);
		return 1;
	}
	rc = sw_cfa_row_at(&sec, &cie, &fde, addr, &row, &diag);
	if (rc < 0) {
		report(&diag);
		return 1;
	}
	printf("pc 0x%" PRIx64 ": found in %s (%s)\n", addr, sec.name, how);
	print_cie(&cie);
	print_fde(&fde, &cie);
	print_table(&row, 1);
	printf("    row applies to 0x%" PRIx64 "..0x%" PRIx64 "\n", row.loc, row.end);
	return 0;
}

/* `--readelf`: the main file's sections, then the separate debug files'. */
static int dump_readelf(const struct frame_file *ff, bool check)
{
	unsigned long mismatches = 0;
	char seps[4][4096];
	unsigned nsep = frame_file_separate(ff, seps, 4);
	int status = 0;

	for (unsigned pass = 0; pass <= nsep; pass++) {
		struct frame_file sepf;
		const struct frame_file *f = ff;
		char err[512];
		if (pass > 0) {
			if (frame_file_open(&sepf, seps[pass - 1], err, sizeof(err)) < 0)
				continue;
			f = &sepf;
		}
		for (unsigned i = 0; i < f->nsecs; i++) {
			const struct frame_section *fs = &f->secs[i];
			struct sw_cfi_section sec;
			if (strcmp(fs->name, ".eh_frame_hdr") == 0)
				continue;
			if (fs->sh_size == 0) {
				printf("\nSection '%s' has no debugging data.\n", fs->name);
				continue;
			}
			if (fs->type == SHT_NOBITS) {
				printf("section '%s' has the NOBITS type - its contents are unreliable.\n",
				       fs->name);
				continue;
			}
			init_section(&sec, fs);
			if (readelf_dump_section(&sec, nsep ? f->path : NULL, check, &mismatches) < 0)
				status = 1;
		}
		if (pass > 0)
			frame_file_close(&sepf);
	}
	if (mismatches) {
		fprintf(stderr, "stackwalk: --check: %lu rows differ\n", mismatches);
		status = 1;
	}
	return status;
}

int cmd_cfi(int argc, char **argv)
{
	bool readelf = false, have_pc = false, check = false;
	uint64_t pc = 0;
	const char *file = NULL;
	struct frame_file ff;
	char err[512];
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--readelf") == 0) {
			readelf = true;
		} else if (strcmp(argv[i], "--check") == 0) {
			check = true;
		} else if (strcmp(argv[i], "--pc") == 0 && i + 1 < argc) {
			char *end;
			pc = strtoull(argv[++i], &end, 0);
			if (*end || !*argv[i]) {
				fprintf(stderr, "stackwalk: bad address '%s'\n", argv[i]);
				return 2;
			}
			have_pc = true;
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
	if (!file || (readelf && have_pc) || (check && !readelf)) {
		usage(stderr);
		return 2;
	}
	if (frame_file_open(&ff, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "stackwalk: %s\n", err);
		return 2;
	}
	if (have_pc) {
		status = dump_pc(&ff, pc);
	} else if (readelf) {
		status = dump_readelf(&ff, check);
	} else {
		bool any = false;
		for (unsigned i = 0; i < ff.nsecs; i++) {
			const struct frame_section *fs = &ff.secs[i];
			struct sw_cfi_section sec;
			if (strcmp(fs->name, ".eh_frame_hdr") == 0 || !fs->data || !fs->size)
				continue;
			init_section(&sec, fs);
			any = true;
			if (dump_section(&sec) < 0)
				status = 1;
		}
		if (!any)
			printf("%s: no .eh_frame or .debug_frame data\n", file);
	}
	frame_file_close(&ff);
	return status;
}
