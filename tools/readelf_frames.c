/*
 * `stackwalk cfi --readelf`: the CFA tables in exactly the layout of
 * `readelf --debug-dump=frames-interp` (GNU binutils 2.40), so tests can
 * diff the two outputs byte for byte.
 *
 * Entries and CIE/FDE headers are parsed by the library; instructions are
 * decoded by sw_cfa_decode.  Only the *presentation state* is readelf's own
 * and is reproduced here, including its quirks, each noted where it
 * happens:
 *   - a column appears when any instruction of the CIE or FDE names the
 *     register; before its first rule it shows "u";
 *   - a row is printed at every advance, even one of zero bytes, and once
 *     more at the end unless the program is all DW_CFA_nop;
 *   - the remember-state stack is per section, not per FDE;
 *   - an FDE starts from its CIE's CFA register and offset but never
 *     inherits a CFA expression;
 *   - registers numbered above readelf's x86-64 name table (126) are "bad
 *     register"s, reported inline.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/regs.h"
#include "dwarf/cfi.h"
#include "tools.h"

#define UNREF (-1)             /* column never named by the CIE/FDE */
#define MAXCOLS (SW_ARCH_NREG_NAMES + 1)

/* Column state of one CIE or FDE, readelf-style. */
struct cols {
	unsigned ncols;
	short type[MAXCOLS];       /* UNREF or a DW_CFA_* rule opcode */
	int64_t off[MAXCOLS];
	unsigned cfa_reg;
	uint64_t cfa_offset;
	bool cfa_exp;
	unsigned ra;
};

struct remembered {
	struct cols c;
	struct remembered *next;
};

/* A CIE seen so far, with its state after its initial instructions. */
struct cie_state {
	uint64_t offset;
	struct sw_cie cie;
	struct cols c;
	struct cie_state *next;
};

struct section_state {
	const struct sw_cfi_section *sec;
	unsigned max_regs;
	struct remembered *rs;     /* readelf keeps one stack for the section */
	struct cie_state *cies;
	unsigned addr_size;
	bool check;                /* compare each row with the engine's */
	unsigned long mismatches;
};

/* Grow `c` to hold `reg`; 0 ok, -1 when readelf would refuse the column. */
static int need_space(struct cols *c, uint64_t reg)
{
	if (reg < c->ncols)
		return 0;
	if (reg > SW_ARCH_NREG_NAMES)
		return -1;
	for (unsigned r = c->ncols; r <= reg; r++) {
		c->type[r] = UNREF;
		c->off[r] = 0;
	}
	c->ncols = (unsigned)reg + 1;
	return 1;
}

static const char *regname(uint64_t regno, bool name_only)
{
	static char buf[64];
	const char *n = regno <= UINT32_MAX ? sw_arch_reg_name((unsigned)regno) : NULL;

	if (n && name_only)
		return n;
	if (n)
		snprintf(buf, sizeof(buf), "r%u (%s)", (unsigned)regno, n);
	else
		snprintf(buf, sizeof(buf), "r%u", (unsigned)regno);
	return buf;
}

static void print_hex(uint64_t v, unsigned nbytes, bool space)
{
	if (nbytes == 0)
		nbytes = 2;
	if (nbytes < 8)
		v &= (UINT64_C(1) << (nbytes * 8)) - 1;
	printf(space ? "%0*" PRIx64 " " : "%0*" PRIx64, (int)nbytes * 2, v);
}

static void display_row(struct section_state *ss, struct cols *c, uint64_t loc,
			bool *need_header)
{
	char tmp[100];

	ss->max_regs = c->ncols;
	if (*need_header) {
		*need_header = false;
		printf("%-*s CFA      ", (int)ss->addr_size * 2, "   LOC");
		for (unsigned r = 0; r < ss->max_regs; r++) {
			if (c->type[r] == UNREF)
				continue;
			if (r == c->ra)
				printf("ra    ");
			else
				printf("%-5s ", regname(r, true));
		}
		printf("\n");
	}
	print_hex(loc, ss->addr_size, true);
	if (c->cfa_exp)
		strcpy(tmp, "exp");
	else
		snprintf(tmp, sizeof(tmp), "%s%+d", regname(c->cfa_reg, true), (int)c->cfa_offset);
	printf("%-8s ", tmp);
	for (unsigned r = 0; r < c->ncols; r++) {
		switch (c->type[r]) {
		case UNREF: continue;
		case SW_CFA_undefined: strcpy(tmp, "u"); break;
		case SW_CFA_same_value: strcpy(tmp, "s"); break;
		case SW_CFA_offset: snprintf(tmp, sizeof(tmp), "c%+" PRId64, c->off[r]); break;
		case SW_CFA_val_offset: snprintf(tmp, sizeof(tmp), "v%+" PRId64, c->off[r]); break;
		case SW_CFA_register: snprintf(tmp, sizeof(tmp), "%s", regname((uint64_t)c->off[r], false)); break;
		case SW_CFA_expression: strcpy(tmp, "exp"); break;
		case SW_CFA_val_expression: strcpy(tmp, "vexp"); break;
		default: strcpy(tmp, "n/a"); break;
		}
		printf("%-5s ", tmp);
	}
	printf("\n");
}

/* The register an instruction names (for the column pre-scan), or -1. */
static int64_t named_reg(const struct sw_cfa_insn *in)
{
	switch (in->op) {
	case SW_CFA_offset: case SW_CFA_restore: case SW_CFA_offset_extended:
	case SW_CFA_val_offset: case SW_CFA_restore_extended: case SW_CFA_undefined:
	case SW_CFA_same_value: case SW_CFA_register: case SW_CFA_expression:
	case SW_CFA_val_expression: case SW_CFA_offset_extended_sf:
	case SW_CFA_val_offset_sf: case SW_CFA_GNU_negative_offset_extended:
		return in->reg > UINT32_MAX ? -1 : (int64_t)in->reg;
	default:
		return -1;
	}
}

/* Pass 1: give every register the program names a column. */
static void prescan(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		    const uint8_t *insns, uint64_t len, struct cols *fc, const struct cols *cc)
{
	struct sw_reader r;
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn in;

	sw_cfa_ctx_init(&ctx, sec, cie);
	sw_rd_init(&r, sec->data, sec->size, sec->vaddr, sec->name);
	r.pos = insns;
	r.end = insns + len;
	while (sw_rd_left(&r) > 0) {
		const uint8_t *at = r.pos;
		if (sw_cfa_decode(&r, &ctx, &in) < 0) {
			if (r.err != SW_EBADOP)
				break;
			/* readelf skips an unknown opcode byte in this pass */
			r.err = 0;
			r.pos = at + 1;
			continue;
		}
		int64_t reg = named_reg(&in);
		if (reg < 0 || need_space(fc, (uint64_t)reg) < 0)
			continue;
		if ((uint64_t)reg >= cc->ncols || cc->type[reg] == UNREF)
			fc->type[reg] = SW_CFA_undefined;
		else
			fc->type[reg] = cc->type[reg];
	}
}

static void set_col(struct cols *c, uint64_t reg, short type, int64_t off, const char *name,
		    const char *fmt_off)
{
	if (reg >= c->ncols) {
		/* readelf prints the instruction when the register is unusable */
		printf("  %s: bad register: %s", name, regname(reg, false));
		if (fmt_off)
			printf(fmt_off, off);
		printf("\n");
		return;
	}
	c->type[reg] = type;
	c->off[reg] = off;
}

/* True when readelf's cell for a column and the engine's rule agree. */
static bool same_rule(short type, int64_t off, const struct sw_rule *r)
{
	switch (type) {
	case SW_CFA_undefined: return r->kind == SW_RULE_UNSET || r->kind == SW_RULE_UNDEFINED;
	case SW_CFA_same_value: return r->kind == SW_RULE_SAME;
	case SW_CFA_offset: return r->kind == SW_RULE_OFFSET && r->value == off;
	case SW_CFA_val_offset: return r->kind == SW_RULE_VAL_OFFSET && r->value == off;
	case SW_CFA_register: return r->kind == SW_RULE_REGISTER && r->value == off;
	case SW_CFA_expression: return r->kind == SW_RULE_EXPR;
	case SW_CFA_val_expression: return r->kind == SW_RULE_VAL_EXPR;
	default: return false;
	}
}

/*
 * --check: the row readelf shows at `loc` must be the row the engine
 * (sw_cfa_row_at) computes there, column by column.  This is what makes
 * the readelf comparison a test of the interpreter, not only of this file.
 */
static void check_row(struct section_state *ss, const struct sw_cie *cie,
		      const struct sw_fde *fde, uint64_t loc, const struct cols *c)
{
	struct sw_cfa_row row;
	struct sw_diag diag;
	const char *what = NULL;

	if (!ss->check || !fde || loc < fde->pc_begin || loc >= fde->pc_end)
		return;
	if (sw_cfa_row_at(ss->sec, cie, fde, loc, &row, &diag) < 0) {
		what = sw_strerror(diag.code);
	} else if (c->cfa_exp ? row.cfa_kind != SW_CFA_RULE_EXPR
			      : (row.cfa_kind != SW_CFA_RULE_REG || row.cfa_reg != c->cfa_reg ||
				 (int)row.cfa_offset != (int)c->cfa_offset)) {
		what = "CFA rule";
	} else {
		for (unsigned r = 0; r < c->ncols && r < SW_CFI_COLS && !what; r++)
			if (c->type[r] != UNREF && !same_rule(c->type[r], c->off[r], &row.regs[r]))
				what = regname(r, true);
	}
	if (what) {
		ss->mismatches++;
		fprintf(stderr, "stackwalk: --check: FDE 0x%" PRIx64 " row 0x%" PRIx64
			": engine and readelf view differ (%s)\n", fde->offset, loc, what);
	}
}

/* Pass 2: execute and print.  `cie_cols` is the CIE's state (restore). */
static void execute(struct section_state *ss, const struct sw_cie *cie,
		    const struct sw_fde *fde, const uint8_t *insns, uint64_t len,
		    struct cols *fc, const struct cols *cie_cols, uint64_t loc)
{
	const struct sw_cfi_section *sec = ss->sec;
	struct sw_reader r;
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn in;
	bool need_header = true, all_nops = true;

	sw_cfa_ctx_init(&ctx, sec, cie);
	sw_rd_init(&r, sec->data, sec->size, sec->vaddr, sec->name);
	r.pos = insns;
	r.end = insns + len;
	while (sw_rd_left(&r) > 0) {
		int rc = sw_cfa_decode(&r, &ctx, &in);
		if (rc < 0) {
			if (rc == SW_EBADOP)
				all_nops = false;
			fprintf(stderr, "stackwalk: %s: %s at offset 0x%" PRIx64 "\n", sec->name,
				sw_strerror(rc), r.err_off);
			break;
		}
		if (in.op != SW_CFA_nop)
			all_nops = false;
		switch (in.op) {
		case SW_CFA_advance_loc: case SW_CFA_advance_loc1: case SW_CFA_advance_loc2:
		case SW_CFA_advance_loc4: case SW_CFA_MIPS_advance_loc8:
			display_row(ss, fc, loc, &need_header);
			if (in.delta)   /* a zero advance shows a state later rows amend */
				check_row(ss, cie, fde, loc, fc);
			loc += in.delta;
			break;
		case SW_CFA_set_loc:
			display_row(ss, fc, loc, &need_header);
			if (in.loc != loc)
				check_row(ss, cie, fde, loc, fc);
			loc = in.loc;
			break;
		case SW_CFA_offset: case SW_CFA_offset_extended: case SW_CFA_offset_extended_sf:
		case SW_CFA_GNU_negative_offset_extended:
			set_col(fc, in.reg, SW_CFA_offset, in.factored, sw_cfa_name(in.op),
				" at cfa%+" PRId64);
			break;
		case SW_CFA_val_offset: case SW_CFA_val_offset_sf:
			set_col(fc, in.reg, SW_CFA_val_offset, in.factored, sw_cfa_name(in.op),
				" is cfa%+" PRId64);
			break;
		case SW_CFA_restore: case SW_CFA_restore_extended:
			if (in.reg >= fc->ncols) {
				printf("  %s: bad register: %s\n", sw_cfa_name(in.op), regname(in.reg, false));
			} else if (in.reg >= cie_cols->ncols || cie_cols->type[in.reg] == UNREF) {
				fc->type[in.reg] = SW_CFA_undefined;
				fc->off[in.reg] = 0;
			} else {
				fc->type[in.reg] = cie_cols->type[in.reg];
				fc->off[in.reg] = cie_cols->off[in.reg];
			}
			break;
		case SW_CFA_undefined:
			set_col(fc, in.reg, SW_CFA_undefined, 0, "DW_CFA_undefined", NULL);
			break;
		case SW_CFA_same_value:
			set_col(fc, in.reg, SW_CFA_same_value, 0, "DW_CFA_same_value", NULL);
			break;
		case SW_CFA_register:
			if (in.reg >= fc->ncols) {
				printf("  DW_CFA_register: bad register: %s in ", regname(in.reg, false));
				puts(regname(in.reg2, false));
			} else {
				fc->type[in.reg] = SW_CFA_register;
				fc->off[in.reg] = (int64_t)in.reg2;
			}
			break;
		case SW_CFA_remember_state: {
			struct remembered *rm = malloc(sizeof(*rm));
			if (!rm) {
				perror("stackwalk");
				exit(1);
			}
			rm->c = *fc;
			rm->next = ss->rs;
			ss->rs = rm;
			break;
		}
		case SW_CFA_restore_state: {
			struct remembered *rm = ss->rs;
			if (!rm) {
				printf("Mismatched DW_CFA_restore_state\n");
				break;
			}
			ss->rs = rm->next;
			fc->cfa_offset = rm->c.cfa_offset;
			fc->cfa_reg = rm->c.cfa_reg;
			fc->ra = rm->c.ra;
			fc->cfa_exp = rm->c.cfa_exp;
			if (rm->c.ncols > 0)
				need_space(fc, rm->c.ncols - 1);
			memcpy(fc->type, rm->c.type, rm->c.ncols * sizeof(fc->type[0]));
			memcpy(fc->off, rm->c.off, rm->c.ncols * sizeof(fc->off[0]));
			free(rm);
			break;
		}
		case SW_CFA_def_cfa:
		case SW_CFA_def_cfa_sf:
			fc->cfa_reg = (unsigned)in.reg;
			fc->cfa_offset = (uint64_t)in.factored;
			fc->cfa_exp = false;
			break;
		case SW_CFA_def_cfa_register:
			fc->cfa_reg = (unsigned)in.reg;
			fc->cfa_exp = false;
			break;
		case SW_CFA_def_cfa_offset:
		case SW_CFA_def_cfa_offset_sf:
			fc->cfa_offset = (uint64_t)in.factored;
			break;
		case SW_CFA_def_cfa_expression:
			fc->cfa_exp = true;
			break;
		case SW_CFA_expression:
		case SW_CFA_val_expression: {
			short t = in.op == SW_CFA_expression ? SW_CFA_expression : SW_CFA_val_expression;
			if (in.reg >= fc->ncols)
				printf("  %s: bad register: %s (...)\n", sw_cfa_name(in.op),
				       regname(in.reg, false));
			else
				fc->type[in.reg] = t;
			break;
		}
		default:   /* nop, GNU_args_size, GNU_window_save: no column change */
			break;
		}
	}
	if (!all_nops) {
		display_row(ss, fc, loc, &need_header);
		check_row(ss, cie, fde, loc, fc);
	}
}

static struct cie_state *find_cie(struct section_state *ss, uint64_t off)
{
	for (struct cie_state *c = ss->cies; c; c = c->next)
		if (c->offset == off)
			return c;
	return NULL;
}

/* Parse the CIE at `off` and run its program into a new cie_state. */
static struct cie_state *load_cie(struct section_state *ss, uint64_t off, bool print,
				  const struct sw_cfi_entry *ent)
{
	struct cie_state *cs = calloc(1, sizeof(*cs));
	struct sw_diag diag;
	int rc;

	if (!cs) {
		perror("stackwalk");
		exit(1);
	}
	rc = sw_cfi_parse_cie(ss->sec, off, &cs->cie, &diag);
	if (rc < 0 && !(rc == SW_EAUGMENTATION && cs->cie.insns)) {
		char msg[256];
		sw_diag_format(&diag, msg, sizeof(msg));
		fprintf(stderr, "stackwalk: %s\n", msg);
		free(cs);
		return NULL;
	}
	cs->offset = off;
	unsigned mreg = ss->max_regs > 0 ? ss->max_regs - 1 : 0;
	if (mreg < cs->cie.ra_reg)
		mreg = (unsigned)cs->cie.ra_reg;
	cs->c.ncols = 0;
	if (need_space(&cs->c, mreg) < 0) {
		free(cs);
		return NULL;
	}
	cs->c.ra = (unsigned)cs->cie.ra_reg;
	if (print) {
		unsigned saved = ss->addr_size;
		ss->addr_size = cs->cie.addr_size;
		printf("\n%08" PRIx64 " ", off);
		print_hex(ent->length, cs->cie.addr_size, true);
		print_hex(ent->id, ent->offset_size, true);
		printf("CIE \"%s\" cf=%d df=%d ra=%d\n", cs->cie.augmentation,
		       (int)cs->cie.code_align, (int)cs->cie.data_align, (int)cs->cie.ra_reg);
		prescan(ss->sec, &cs->cie, cs->cie.insns, cs->cie.insns_len, &cs->c, &cs->c);
		execute(ss, &cs->cie, NULL, cs->cie.insns, cs->cie.insns_len, &cs->c, &cs->c, 0);
		ss->addr_size = saved;
	} else {
		/* a forward reference: readelf reads its header, not its program */
		prescan(ss->sec, &cs->cie, cs->cie.insns, 0, &cs->c, &cs->c);
	}
	cs->next = ss->cies;
	ss->cies = cs;
	return cs;
}

static int dump_fde(struct section_state *ss, const struct sw_cfi_entry *ent)
{
	struct cie_state *cs = find_cie(ss, ent->cie_offset);
	struct sw_fde fde;
	struct sw_cie cie;
	struct sw_diag diag;
	struct cols fc;
	int rc;

	if (!cs && ent->cie_offset > ent->offset && ent->cie_offset < ss->sec->size)
		cs = load_cie(ss, ent->cie_offset, false, ent);
	rc = sw_cfi_parse_fde(ss->sec, ent->offset, &fde, &cie, &diag);
	if (rc < 0 || !cs) {
		char msg[256];
		if (rc >= 0)
			diag.code = SW_EBADCIE, diag.section = ss->sec->name,
			diag.offset = diag.entry = ent->offset;
		sw_diag_format(&diag, msg, sizeof(msg));
		fprintf(stderr, "stackwalk: %s\n", msg);
		return rc < 0 ? rc : SW_EBADCIE;
	}
	fc = cs->c;
	fc.cfa_exp = false;      /* readelf does not carry a CFA expression over */
	need_space(&fc, ss->max_regs > 0 ? ss->max_regs - 1 : 0);
	unsigned saved = ss->addr_size;
	ss->addr_size = cie.addr_size;
	printf("\n%08" PRIx64 " ", ent->offset);
	print_hex(ent->length, cie.addr_size, true);
	print_hex(ent->id, ent->offset_size, true);
	printf("FDE cie=%08" PRIx64 " pc=", cs->offset);
	if (cie.segment_size)
		printf("%04" PRIx64 ":", fde.segment);
	print_hex(fde.pc_begin, cie.addr_size, false);
	printf("..");
	print_hex(fde.pc_end, cie.addr_size, false);
	printf("\n");
	prescan(ss->sec, &cie, fde.insns, fde.insns_len, &fc, &cs->c);
	execute(ss, &cie, &fde, fde.insns, fde.insns_len, &fc, &cs->c, fde.pc_begin);
	ss->addr_size = saved;
	return 0;
}

int readelf_dump_section(const struct sw_cfi_section *sec, const char *loaded_from,
			 bool check, unsigned long *mismatches)
{
	struct section_state ss = { .sec = sec, .addr_size = sec->addr_size, .check = check };
	struct sw_cfi_entry ent;
	struct sw_diag diag;
	uint64_t off = 0;
	int rc, status = 0;

	if (loaded_from)
		printf("Contents of the %s section (loaded from %s):\n\n", sec->name, loaded_from);
	else
		printf("Contents of the %s section:\n\n", sec->name);
	while ((rc = sw_cfi_entry_at(sec, off, &ent, &diag)) == 0) {
		if (ent.kind == SW_CFI_ZERO) {
			printf("\n%08" PRIx64 " ZERO terminator\n\n", off);
			off = ent.end;
			/* readelf skips the zero bytes that follow a terminator */
			while (off < sec->size && sec->data[off] == 0)
				off++;
			continue;
		}
		if (ent.kind == SW_CFI_CIE) {
			if (!load_cie(&ss, off, true, &ent)) {
				status = SW_EBADCIE;
				break;
			}
		} else if (dump_fde(&ss, &ent) < 0) {
			status = SW_EBADCIE;
		}
		off = ent.end;
	}
	if (rc < 0) {
		char msg[256];
		sw_diag_format(&diag, msg, sizeof(msg));
		fprintf(stderr, "stackwalk: %s\n", msg);
		status = rc;
	}
	printf("\n");
	if (mismatches)
		*mismatches += ss.mismatches;
	while (ss.rs) {
		struct remembered *n = ss.rs->next;
		free(ss.rs);
		ss.rs = n;
	}
	while (ss.cies) {
		struct cie_state *n = ss.cies->next;
		free(ss.cies);
		ss.cies = n;
	}
	return status;
}
