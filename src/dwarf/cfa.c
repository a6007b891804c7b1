/*
 * DW_CFA_* decoding and execution: from CIE/FDE instruction streams to the
 * row of the CFA table that applies at a PC.
 *
 * Decoding (sw_cfa_decode) is apart from execution (run_program) so that
 * other interpreters — the readelf emulation in tools/, future compilers of
 * compact rules — reuse the exact operand handling.
 */
#include <string.h>

#include "dwarf/cfi.h"

const char *sw_cfa_name(uint8_t op)
{
	switch (op) {
	case SW_CFA_advance_loc: return "DW_CFA_advance_loc";
	case SW_CFA_offset: return "DW_CFA_offset";
	case SW_CFA_restore: return "DW_CFA_restore";
	case SW_CFA_nop: return "DW_CFA_nop";
	case SW_CFA_set_loc: return "DW_CFA_set_loc";
	case SW_CFA_advance_loc1: return "DW_CFA_advance_loc1";
	case SW_CFA_advance_loc2: return "DW_CFA_advance_loc2";
	case SW_CFA_advance_loc4: return "DW_CFA_advance_loc4";
	case SW_CFA_offset_extended: return "DW_CFA_offset_extended";
	case SW_CFA_restore_extended: return "DW_CFA_restore_extended";
	case SW_CFA_undefined: return "DW_CFA_undefined";
	case SW_CFA_same_value: return "DW_CFA_same_value";
	case SW_CFA_register: return "DW_CFA_register";
	case SW_CFA_remember_state: return "DW_CFA_remember_state";
	case SW_CFA_restore_state: return "DW_CFA_restore_state";
	case SW_CFA_def_cfa: return "DW_CFA_def_cfa";
	case SW_CFA_def_cfa_register: return "DW_CFA_def_cfa_register";
	case SW_CFA_def_cfa_offset: return "DW_CFA_def_cfa_offset";
	case SW_CFA_def_cfa_expression: return "DW_CFA_def_cfa_expression";
	case SW_CFA_expression: return "DW_CFA_expression";
	case SW_CFA_offset_extended_sf: return "DW_CFA_offset_extended_sf";
	case SW_CFA_def_cfa_sf: return "DW_CFA_def_cfa_sf";
	case SW_CFA_def_cfa_offset_sf: return "DW_CFA_def_cfa_offset_sf";
	case SW_CFA_val_offset: return "DW_CFA_val_offset";
	case SW_CFA_val_offset_sf: return "DW_CFA_val_offset_sf";
	case SW_CFA_val_expression: return "DW_CFA_val_expression";
	case SW_CFA_MIPS_advance_loc8: return "DW_CFA_MIPS_advance_loc8";
	case SW_CFA_GNU_window_save: return "DW_CFA_GNU_window_save";
	case SW_CFA_GNU_args_size: return "DW_CFA_GNU_args_size";
	case SW_CFA_GNU_negative_offset_extended: return "DW_CFA_GNU_negative_offset_extended";
	default: return "DW_CFA_???";
	}
}

void sw_cfa_ctx_init(struct sw_cfa_ctx *ctx, const struct sw_cfi_section *sec,
		     const struct sw_cie *cie)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->code_align = cie->code_align;
	ctx->data_align = cie->data_align;
	ctx->fde_enc = cie->fde_enc;
	ctx->ptr.addr_size = cie->addr_size;
	ctx->ptr.textrel = sec->textrel;
	ctx->ptr.datarel = sec->datarel;
	ctx->ptr.deref = sec->deref;
	ctx->ptr.deref_arg = sec->deref_arg;
}

int sw_cfa_decode(struct sw_reader *r, const struct sw_cfa_ctx *ctx, struct sw_cfa_insn *in)
{
	uint8_t byte;

	memset(in, 0, sizeof(*in));
	in->offset = sw_rd_off(r);
	byte = sw_rd_u8(r);
	if (r->err)
		return r->err;
	in->op = byte & 0xc0 ? byte & 0xc0 : byte;
	switch (in->op) {
	case SW_CFA_advance_loc:
		in->delta = (uint64_t)(byte & 0x3f) * ctx->code_align;
		break;
	case SW_CFA_offset:
		in->reg = byte & 0x3f;
		in->uval = sw_rd_uleb(r);
		in->factored = (int64_t)(in->uval * (uint64_t)ctx->data_align);
		break;
	case SW_CFA_restore:
		in->reg = byte & 0x3f;
		break;
	case SW_CFA_nop:
	case SW_CFA_remember_state:
	case SW_CFA_restore_state:
	case SW_CFA_GNU_window_save:
		break;
	case SW_CFA_set_loc:
		in->loc = sw_rd_encoded(r, ctx->fde_enc, &ctx->ptr);
		break;
	case SW_CFA_advance_loc1:
		in->delta = sw_rd_u8(r) * ctx->code_align;
		break;
	case SW_CFA_advance_loc2:
		in->delta = sw_rd_u16(r) * ctx->code_align;
		break;
	case SW_CFA_advance_loc4:
		in->delta = sw_rd_u32(r) * ctx->code_align;
		break;
	case SW_CFA_MIPS_advance_loc8:
		in->delta = sw_rd_u64(r) * ctx->code_align;
		break;
	case SW_CFA_offset_extended:
	case SW_CFA_val_offset:
		in->reg = sw_rd_uleb(r);
		in->uval = sw_rd_uleb(r);
		in->factored = (int64_t)(in->uval * (uint64_t)ctx->data_align);
		break;
	case SW_CFA_offset_extended_sf:
	case SW_CFA_val_offset_sf:
		in->reg = sw_rd_uleb(r);
		in->sval = sw_rd_sleb(r);
		in->factored = (int64_t)((uint64_t)in->sval * (uint64_t)ctx->data_align);
		break;
	case SW_CFA_GNU_negative_offset_extended:
		in->reg = sw_rd_uleb(r);
		in->uval = sw_rd_uleb(r);
		in->factored = (int64_t)(0 - in->uval * (uint64_t)ctx->data_align);
		break;
	case SW_CFA_restore_extended:
	case SW_CFA_undefined:
	case SW_CFA_same_value:
	case SW_CFA_def_cfa_register:
		in->reg = sw_rd_uleb(r);
		break;
	case SW_CFA_register:
		in->reg = sw_rd_uleb(r);
		in->reg2 = sw_rd_uleb(r);
		break;
	case SW_CFA_def_cfa:
		in->reg = sw_rd_uleb(r);
		in->uval = sw_rd_uleb(r);
		in->factored = (int64_t)in->uval;   /* def_cfa's offset is not factored */
		break;
	case SW_CFA_def_cfa_sf:
		in->reg = sw_rd_uleb(r);
		in->sval = sw_rd_sleb(r);
		in->factored = (int64_t)((uint64_t)in->sval * (uint64_t)ctx->data_align);
		break;
	case SW_CFA_def_cfa_offset:
		in->uval = sw_rd_uleb(r);
		in->factored = (int64_t)in->uval;
		break;
	case SW_CFA_def_cfa_offset_sf:
		in->sval = sw_rd_sleb(r);
		in->factored = (int64_t)((uint64_t)in->sval * (uint64_t)ctx->data_align);
		break;
	case SW_CFA_GNU_args_size:
		in->uval = sw_rd_uleb(r);
		break;
	case SW_CFA_def_cfa_expression:
		in->expr_len = sw_rd_uleb(r);
		in->expr = sw_rd_bytes(r, in->expr_len);
		break;
	case SW_CFA_expression:
	case SW_CFA_val_expression:
		in->reg = sw_rd_uleb(r);
		in->expr_len = sw_rd_uleb(r);
		in->expr = sw_rd_bytes(r, in->expr_len);
		break;
	default:
		r->pos--;
		return sw_rd_fail(r, SW_EBADOP);
	}
	return r->err;
}

/* What DW_CFA_remember_state saves: the row without the location, end and
 * args_size (DW_CFA_restore_state keeps the current ones) and ra_reg (the
 * CIE's, never changed by instructions).  Smaller than a row, and there
 * are SW_CFI_REMEMBER_MAX of them on the unwind path's stack. */
struct saved_row {
	uint64_t cfa_reg;
	int64_t cfa_offset;
	const uint8_t *cfa_expr;
	uint32_t cfa_expr_len;
	uint32_t dropped;
	uint8_t cfa_kind;
	struct sw_rule regs[SW_CFI_COLS];
};

/* Interpreter state for one CIE+FDE run. */
struct cfa_state {
	struct sw_cfa_row *cur;      /* row being built (the caller's) */
	struct sw_rule init[SW_CFI_COLS]; /* the CIE's initial rules (DW_CFA_restore) */
	struct saved_row stack[SW_CFI_REMEMBER_MAX];
	unsigned depth;              /* remembered rows on `stack` */
	unsigned steps;              /* instructions executed so far */
};

static void save_row(struct saved_row *s, const struct sw_cfa_row *row)
{
	s->cfa_reg = row->cfa_reg;
	s->cfa_offset = row->cfa_offset;
	s->cfa_expr = row->cfa_expr;
	s->cfa_expr_len = row->cfa_expr_len;
	s->dropped = row->dropped;
	s->cfa_kind = row->cfa_kind;
	memcpy(s->regs, row->regs, sizeof(s->regs));
}

static void restore_row(struct sw_cfa_row *row, const struct saved_row *s)
{
	row->cfa_reg = s->cfa_reg;
	row->cfa_offset = s->cfa_offset;
	row->cfa_expr = s->cfa_expr;
	row->cfa_expr_len = s->cfa_expr_len;
	row->dropped = s->dropped;
	row->cfa_kind = s->cfa_kind;
	memcpy(row->regs, s->regs, sizeof(row->regs));
}

/* Set the rule of `reg`; rules beyond the tracked columns are counted. */
static int set_rule(struct sw_cfa_row *row, uint64_t reg, uint8_t kind, int64_t value,
		    const uint8_t *expr, uint64_t expr_len)
{
	if (reg > SW_CFI_MAX_REGNO)
		return SW_EBADREG;
	if (reg >= SW_CFI_COLS) {
		row->dropped++;
		return 0;
	}
	if (expr_len > UINT32_MAX)
		return SW_ETRUNCATED;
	row->regs[reg].kind = kind;
	row->regs[reg].expr_len = (uint32_t)expr_len;
	/* one storage: the expression kinds have no value, the others no
	 * expression (NULL, as their value is 0 or an operand) */
	if (kind == SW_RULE_EXPR || kind == SW_RULE_VAL_EXPR)
		row->regs[reg].expr = expr;
	else
		row->regs[reg].value = value;
	return 0;
}

/* Apply one non-advance instruction to the state. */
static int apply(struct cfa_state *st, const struct sw_cfa_insn *in, bool in_cie)
{
	struct sw_cfa_row *row = st->cur;

	switch (in->op) {
	case SW_CFA_offset:
	case SW_CFA_offset_extended:
	case SW_CFA_offset_extended_sf:
	case SW_CFA_GNU_negative_offset_extended:
		return set_rule(row, in->reg, SW_RULE_OFFSET, in->factored, NULL, 0);
	case SW_CFA_val_offset:
	case SW_CFA_val_offset_sf:
		return set_rule(row, in->reg, SW_RULE_VAL_OFFSET, in->factored, NULL, 0);
	case SW_CFA_restore:
	case SW_CFA_restore_extended:
		/* inside the CIE `init` is still all-unset, the state before
		 * any instruction, which is what a restore there means */
		(void)in_cie;
		if (in->reg > SW_CFI_MAX_REGNO)
			return SW_EBADREG;
		if (in->reg < SW_CFI_COLS)
			row->regs[in->reg] = st->init[in->reg];
		return 0;
	case SW_CFA_undefined:
		return set_rule(row, in->reg, SW_RULE_UNDEFINED, 0, NULL, 0);
	case SW_CFA_same_value:
		return set_rule(row, in->reg, SW_RULE_SAME, 0, NULL, 0);
	case SW_CFA_register:
		if (in->reg2 > SW_CFI_MAX_REGNO)
			return SW_EBADREG;
		return set_rule(row, in->reg, SW_RULE_REGISTER, (int64_t)in->reg2, NULL, 0);
	case SW_CFA_expression:
		return set_rule(row, in->reg, SW_RULE_EXPR, 0, in->expr, in->expr_len);
	case SW_CFA_val_expression:
		return set_rule(row, in->reg, SW_RULE_VAL_EXPR, 0, in->expr, in->expr_len);
	case SW_CFA_remember_state:
		if (st->depth >= SW_CFI_REMEMBER_MAX)
			return SW_EREMEMBER;
		save_row(&st->stack[st->depth++], row);
		return 0;
	case SW_CFA_restore_state:
		if (st->depth == 0)
			return SW_ERESTORE;
		/* the location and args_size are not part of the remembered state */
		restore_row(row, &st->stack[--st->depth]);
		return 0;
	case SW_CFA_def_cfa:
	case SW_CFA_def_cfa_sf:
		if (in->reg > SW_CFI_MAX_REGNO)
			return SW_EBADREG;
		row->cfa_kind = SW_CFA_RULE_REG;
		row->cfa_reg = in->reg;
		row->cfa_offset = in->factored;
		return 0;
	case SW_CFA_def_cfa_register:
		if (in->reg > SW_CFI_MAX_REGNO)
			return SW_EBADREG;
		/* DWARF allows this only after a register rule, but hand-written
		 * assembly (libgcrypt's) uses it to leave a CFA expression, relying
		 * on libgcc: the rule becomes register + the offset last defined */
		row->cfa_kind = SW_CFA_RULE_REG;
		row->cfa_reg = in->reg;
		return 0;
	case SW_CFA_def_cfa_offset:
	case SW_CFA_def_cfa_offset_sf:
		/* kept even under an expression rule, for the case above */
		row->cfa_offset = in->factored;
		return 0;
	case SW_CFA_def_cfa_expression:
		if (in->expr_len > UINT32_MAX)
			return SW_ETRUNCATED;
		row->cfa_kind = SW_CFA_RULE_EXPR;
		row->cfa_expr = in->expr;
		row->cfa_expr_len = (uint32_t)in->expr_len;
		return 0;
	case SW_CFA_GNU_args_size:
		row->args_size = in->uval;
		return 0;
	case SW_CFA_nop:
	case SW_CFA_GNU_window_save:   /* SPARC/AArch64 only: parsed, no effect here */
		return 0;
	default:
		return SW_EBADOP;
	}
}

struct run_target {
	uint64_t pc;                 /* stop at the row containing pc */
	int (*emit)(void *arg, const struct sw_cfa_row *row);  /* or emit every row */
	void *arg;
	int emit_rc;
};

static int fail(struct sw_diag *diag, const struct sw_cfi_section *sec, uint64_t off,
		uint64_t entry, int code)
{
	if (diag) {
		diag->code = code;
		diag->section = sec->name;
		diag->offset = off;
		diag->entry = entry;
	}
	return code;
}

/*
 * Run `len` bytes of instructions.  In the FDE (`fde` != NULL) advances
 * close the current row: either it is emitted, or, when it contains the
 * target pc, the run stops.  Returns 1 when the target row was reached,
 * 0 at the end of the program, or a negative error.
 */
static int run_program(struct cfa_state *st, const struct sw_cfi_section *sec,
		       const struct sw_cie *cie, const struct sw_fde *fde,
		       const uint8_t *insns, uint64_t len, struct run_target *t,
		       struct sw_diag *diag)
{
	struct sw_reader r;
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn in;
	uint64_t entry = fde ? fde->offset : cie->offset;
	int rc;

	sw_cfa_ctx_init(&ctx, sec, cie);
	sw_rd_init(&r, sec->data, sec->size, sec->vaddr, sec->name);
	r.pos = insns;
	r.end = insns + len;

	while (sw_rd_left(&r) > 0) {
		if (++st->steps > SW_CFI_INSN_MAX)
			return fail(diag, sec, sw_rd_off(&r), entry, SW_ESTEPLIMIT);
		rc = sw_cfa_decode(&r, &ctx, &in);
		if (rc < 0)
			return fail(diag, sec, r.err_off, entry, rc);
		bool advance = in.op == SW_CFA_advance_loc || in.op == SW_CFA_advance_loc1 ||
			       in.op == SW_CFA_advance_loc2 || in.op == SW_CFA_advance_loc4 ||
			       in.op == SW_CFA_MIPS_advance_loc8 || in.op == SW_CFA_set_loc;
		if (!advance) {
			rc = apply(st, &in, fde == NULL);
			if (rc < 0)
				return fail(diag, sec, in.offset, entry, rc);
			continue;
		}
		if (!fde)   /* CIE initial instructions do not advance */
			return fail(diag, sec, in.offset, entry, SW_EBADOP);
		uint64_t next;
		if (in.op == SW_CFA_set_loc) {
			/* locations only move forward inside the FDE */
			if (in.loc < st->cur->loc || in.loc > fde->pc_end)
				return fail(diag, sec, in.offset, entry, SW_ERANGE);
			next = in.loc;
		} else {
			if (in.delta > fde->pc_end - st->cur->loc) {
				/* advancing past the end: the rest cannot apply to any PC */
				next = fde->pc_end;
			} else {
				next = st->cur->loc + in.delta;
			}
		}
		if (next == st->cur->loc)
			continue;
		st->cur->end = next;
		if (t->emit) {
			t->emit_rc = t->emit(t->arg, st->cur);
			if (t->emit_rc)
				return 1;
		} else if (t->pc < next) {
			return 1;
		}
		st->cur->loc = next;
		if (next >= fde->pc_end)
			return 1;   /* instructions past the range describe no PC */
	}
	return 0;
}

/* Run CIE then FDE programs toward target `t`, building the row in *row. */
static int run(const struct sw_cfi_section *sec, const struct sw_cie *cie,
	       const struct sw_fde *fde, struct run_target *t, struct sw_cfa_row *row,
	       struct sw_diag *diag)
{
	struct cfa_state st;
	int rc;

	memset(row, 0, sizeof(*row));
	/* inside the CIE `init` is all-unset, the state before any
	 * instruction, which is what a restore there means */
	memset(st.init, 0, sizeof(st.init));
	st.cur = row;
	st.depth = 0;
	st.steps = 0;
	row->ra_reg = cie->ra_reg;
	if (cie->ra_reg > SW_CFI_MAX_REGNO)
		return fail(diag, sec, cie->offset, cie->offset, SW_EBADREG);
	rc = run_program(&st, sec, cie, NULL, cie->insns, cie->insns_len, t, diag);
	if (rc < 0)
		return rc;
	memcpy(st.init, row->regs, sizeof(st.init));
	if (!fde) {
		if (t->emit)
			t->emit_rc = t->emit(t->arg, row);
		return t->emit_rc;
	}
	/* remember/restore pairs do not cross from the CIE into the FDE */
	st.depth = 0;
	row->loc = fde->pc_begin;
	rc = run_program(&st, sec, cie, fde, fde->insns, fde->insns_len, t, diag);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return t->emit ? t->emit_rc : 0;
	row->end = fde->pc_end;
	if (row->loc >= fde->pc_end)
		return t->emit ? 0 : SW_ENOTFOUND;
	if (t->emit) {
		t->emit_rc = t->emit(t->arg, row);
		return t->emit_rc;
	}
	return 0;
}

int sw_cfa_row_at(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		  const struct sw_fde *fde, uint64_t pc, struct sw_cfa_row *row,
		  struct sw_diag *diag)
{
	struct run_target t = { .pc = pc };
	int rc;

	if (pc < fde->pc_begin || pc >= fde->pc_end)
		return fail(diag, sec, fde->offset, fde->offset, SW_ENOTFOUND);
	rc = run(sec, cie, fde, &t, row, diag);
	if (rc < 0)
		return rc;
	if (row->cfa_kind == 0)
		return fail(diag, sec, fde->offset, fde->offset, SW_EINVAL);
	return 0;
}

int sw_cfa_table(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		 const struct sw_fde *fde,
		 int (*emit)(void *arg, const struct sw_cfa_row *row), void *arg,
		 struct sw_diag *diag)
{
	struct run_target t = { .pc = 0, .emit = emit, .arg = arg };
	struct sw_cfa_row row;

	return run(sec, cie, fde, &t, &row, diag);
}
