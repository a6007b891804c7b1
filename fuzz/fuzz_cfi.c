/*
 * libFuzzer target: call frame information (.eh_frame / .debug_frame /
 * .eh_frame_hdr) and the CFA expressions it contains.
 *
 * Input layout: fuzz/cfi_input.h (bit 4 adds a DW_EH_PE_indirect callback).
 * Without bit 6 the first bytes of the section are also tried as a header
 * (at the section's own vaddr), so the header parser always gets input.
 *
 * Every CIE and FDE is parsed, every FDE's table is emitted with
 * sw_cfa_table, sw_cfa_row_at is run at a few PCs of each FDE and checked
 * against the table's row, and every CFA / register expression met is
 * evaluated with fake memory and registers.  The section and header are
 * copied into buffers of their exact size so ASan sees any overread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/cfi.h"
#include "dwarf/expr.h"
#include "stackwalk.h"
#include "cfi_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Work limits per input: the library bounds each call, these bound how
 * many calls one input can cause. */
#define MAX_ENTRIES 1024     /* entries walked */
#define MAX_FDES 64          /* FDEs whose tables are run */
#define MAX_CIE_TABLES 16    /* CIE-only tables */
#define PCS_PER_FDE 4        /* sw_cfa_row_at probes per FDE */
#define MAX_EVALS 512        /* sw_expr_eval calls */
#define MAX_ROWS 4096        /* rows looked at (emitted) */
#define MAX_HDR_LOOKUPS 64


#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct fz {
	const uint8_t *sec_data;
	size_t sec_size;
	unsigned evals;
	unsigned rows;
	/* the PCs whose rows sw_cfa_table should also give */
	uint64_t pcs[PCS_PER_FDE];
	struct sw_cfa_row pc_rows[PCS_PER_FDE];
	bool pc_found[PCS_PER_FDE];
	unsigned npcs;
	const struct sw_fde *fde;   /* NULL for a CIE-only table */
	uint64_t prev_end;
	unsigned emitted;
	unsigned stop_after;        /* emit returns nonzero after this many rows */
};

/* ------------------------------------------------------------ callbacks */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Memory: a value derived from the address; the low page and addresses
 * whose hash ends in 0x3f "fault". */
static int fake_mem(void *arg, uint64_t addr, unsigned size, uint64_t *out)
{
	(void)arg;
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	if (addr < 0x1000 || (mix(addr) & 0xff) == 0x3f)
		return SW_EMEMORY;
	uint64_t v = mix(addr ^ 0x5bd1e995);
	/* often a plausible stack or text address, so chains of derefs go on */
	if (v & 1)
		v = 0x7ffc00000000ULL + (v & 0xfffff8);
	if (size < 8)
		v &= ((uint64_t)1 << (8 * size)) - 1;
	*out = v;
	return 0;
}

static int fake_reg(void *arg, unsigned regno, uint64_t *out)
{
	(void)arg;
	if (regno > 32)
		return SW_EBADREG;
	*out = 0x7ffc00001000ULL + (uint64_t)regno * 0x100;
	return 0;
}

static int fake_deref(void *arg, uint64_t addr, uint64_t *out)
{
	return fake_mem(arg, addr, 8, out);
}

/* ------------------------------------------------------------ checks */

static bool in_section(const struct fz *f, const uint8_t *p, uint64_t len)
{
	if (!p)
		return len == 0;
	if (p < f->sec_data || p > f->sec_data + f->sec_size)
		return false;
	return len <= (uint64_t)(f->sec_data + f->sec_size - p);
}

static void eval(struct fz *f, const uint8_t *expr, uint64_t len, const uint64_t *push,
		 unsigned npush, uint64_t *result)
{
	struct sw_expr_env env = { .read_mem = fake_mem, .read_reg = fake_reg, .addr_size = 8 };
	uint64_t res = 0xdeadbeef;
	int rc;

	if (f->evals >= MAX_EVALS)
		return;
	f->evals++;
	CHECK(in_section(f, expr, len));
	rc = sw_expr_eval(expr, (size_t)len, &env, push, npush, &res);
	CHECK(rc <= 0);
	if (rc == 0 && result)
		*result = res;
}

/* Evaluate the row's CFA and every expression rule. */
static void eval_row(struct fz *f, const struct sw_cfa_row *row)
{
	uint64_t cfa = 0x7ffc00002000ULL;

	CHECK(row->cfa_kind <= SW_CFA_RULE_EXPR);
	if (row->cfa_kind == SW_CFA_RULE_EXPR)
		eval(f, row->cfa_expr, row->cfa_expr_len, NULL, 0, &cfa);
	else if (row->cfa_kind == SW_CFA_RULE_REG)
		CHECK(row->cfa_reg <= SW_CFI_MAX_REGNO);
	for (unsigned i = 0; i < SW_CFI_COLS; i++) {
		const struct sw_rule *r = &row->regs[i];
		CHECK(r->kind <= SW_RULE_VAL_EXPR);
		if (r->kind == SW_RULE_EXPR || r->kind == SW_RULE_VAL_EXPR)
			eval(f, r->expr, r->expr_len, &cfa, 1, NULL);
		else if (r->kind == SW_RULE_REGISTER)
			CHECK(r->value >= 0 && r->value <= SW_CFI_MAX_REGNO);
	}
}

static bool same_row(const struct sw_cfa_row *a, const struct sw_cfa_row *b)
{
	if (a->loc != b->loc || a->end != b->end || a->cfa_kind != b->cfa_kind ||
	    a->cfa_reg != b->cfa_reg || a->cfa_offset != b->cfa_offset ||
	    a->args_size != b->args_size || a->ra_reg != b->ra_reg ||
	    a->dropped != b->dropped)
		return false;
	if (a->cfa_kind == SW_CFA_RULE_EXPR &&
	    (a->cfa_expr != b->cfa_expr || a->cfa_expr_len != b->cfa_expr_len))
		return false;
	for (unsigned i = 0; i < SW_CFI_COLS; i++) {
		const struct sw_rule *x = &a->regs[i], *y = &b->regs[i];
		if (x->kind != y->kind || x->value != y->value ||
		    x->expr != y->expr || x->expr_len != y->expr_len)
			return false;
	}
	return true;
}

static int emit(void *arg, const struct sw_cfa_row *row)
{
	struct fz *f = arg;

	f->emitted++;
	if (f->fde) {
		/* rows are non-empty, in order, and inside the FDE */
		CHECK(row->loc < row->end);
		CHECK(row->loc >= f->fde->pc_begin && row->end <= f->fde->pc_end);
		CHECK(row->loc >= f->prev_end);
		f->prev_end = row->end;
		for (unsigned i = 0; i < f->npcs; i++) {
			if (f->pcs[i] >= row->loc && f->pcs[i] < row->end) {
				f->pc_rows[i] = *row;
				f->pc_found[i] = true;
			}
		}
	}
	if (row->cfa_kind == SW_CFA_RULE_EXPR)
		CHECK(in_section(f, row->cfa_expr, row->cfa_expr_len));
	if (f->rows < MAX_ROWS) {
		f->rows++;
		eval_row(f, row);
	}
	if (f->stop_after && f->emitted >= f->stop_after)
		return 7;
	return 0;
}

/* Decode an instruction stream to its end with sw_cfa_decode. */
static void decode_all(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		       const uint8_t *insns, uint64_t len)
{
	struct sw_reader r;
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn in;
	unsigned n = 0;

	sw_cfa_ctx_init(&ctx, sec, cie);
	sw_rd_init(&r, sec->data, sec->size, sec->vaddr, sec->name);
	r.pos = insns;
	r.end = insns + len;
	while (sw_rd_left(&r) > 0 && n++ < 4096) {
		const uint8_t *before = r.pos;
		if (sw_cfa_decode(&r, &ctx, &in) < 0)
			break;
		CHECK(r.pos > before && r.pos <= r.end);
		CHECK(sw_cfa_name(in.op) != NULL);
		if (in.expr)
			CHECK(in.expr >= insns && in.expr + in.expr_len <= insns + len);
	}
}

/* Table, row probes and cross-checks for one FDE. */
static void run_fde(struct fz *f, const struct sw_cfi_section *sec, const struct sw_cie *cie,
		    const struct sw_fde *fde, uint64_t salt)
{
	struct sw_diag diag;
	struct sw_cfa_row row;
	char msg[160];
	uint64_t range = fde->pc_end - fde->pc_begin;
	int rc_table, rc;

	CHECK(fde->pc_end >= fde->pc_begin);
	CHECK(in_section(f, fde->insns, fde->insns_len));
	CHECK(in_section(f, cie->insns, cie->insns_len));
	decode_all(sec, cie, fde->insns, fde->insns_len);

	f->npcs = 0;
	if (range) {
		f->pcs[f->npcs++] = fde->pc_begin;
		f->pcs[f->npcs++] = fde->pc_end - 1;
		f->pcs[f->npcs++] = fde->pc_begin + mix(salt) % range;
		f->pcs[f->npcs++] = fde->pc_begin + range / 2;
	}
	memset(f->pc_found, 0, sizeof(f->pc_found));
	f->fde = fde;
	f->prev_end = fde->pc_begin;
	f->emitted = 0;
	f->stop_after = (salt & 0x70) == 0x70 ? 1 + (unsigned)(salt >> 8) % 3 : 0;
	memset(&diag, 0, sizeof(diag));
	rc_table = sw_cfa_table(sec, cie, fde, emit, f, &diag);
	if (rc_table < 0) {
		sw_diag_format(&diag, msg, sizeof(msg));
		CHECK(diag.code == rc_table);
	} else {
		CHECK(rc_table == 0 || rc_table == 7);
	}

	for (unsigned i = 0; i < f->npcs; i++) {
		memset(&diag, 0, sizeof(diag));
		rc = sw_cfa_row_at(sec, cie, fde, f->pcs[i], &row, &diag);
		if (rc < 0) {
			sw_diag_format(&diag, msg, sizeof(msg));
			continue;
		}
		CHECK(rc == 0);
		CHECK(row.cfa_kind != 0);
		CHECK(row.loc <= f->pcs[i] && f->pcs[i] < row.end);
		CHECK(row.loc >= fde->pc_begin && row.end <= fde->pc_end);
		eval_row(f, &row);
		/* the full table, when it ran to the end, has the same row */
		if (rc_table == 0 && !f->stop_after) {
			CHECK(f->pc_found[i]);
			CHECK(same_row(&row, &f->pc_rows[i]));
		}
	}
	/* outside the FDE: not found */
	if (fde->pc_begin > 0)
		CHECK(sw_cfa_row_at(sec, cie, fde, fde->pc_begin - 1, &row, NULL) == SW_ENOTFOUND);
	CHECK(sw_cfa_row_at(sec, cie, fde, fde->pc_end, &row, NULL) == SW_ENOTFOUND);
	f->fde = NULL;
	f->stop_after = 0;
}

/* ------------------------------------------------------------ header */

static void run_hdr(struct fz *f, const struct sw_cfi_section *sec, const uint8_t *hbytes,
		    size_t hsize, uint64_t hvaddr, const uint64_t *pcs, unsigned npcs)
{
	struct sw_eh_hdr hdr;
	struct sw_diag diag;
	struct sw_fde fde;
	struct sw_cie cie;
	struct sw_cfa_row row;
	uint64_t addr, start;
	uint8_t *copy = malloc(hsize ? hsize : 1);
	int rc;

	if (!copy)
		return;
	memcpy(copy, hbytes, hsize);
	memset(&diag, 0, sizeof(diag));
	rc = sw_eh_hdr_parse(&hdr, copy, hsize, hvaddr, &diag);
	if (rc < 0) {
		char msg[160];
		sw_diag_format(&diag, msg, sizeof(msg));
		free(copy);
		return;
	}
	CHECK(rc == 0);
	if (hdr.table) {
		CHECK(hdr.entry_size >= 1 && hdr.entry_size <= 8);
		CHECK(hdr.table >= copy && hdr.table <= copy + hsize);
		CHECK(hdr.fde_count * 2 * hdr.entry_size <= (uint64_t)(copy + hsize - hdr.table));
	}
	for (unsigned i = 0; i < npcs + 4 && i < MAX_HDR_LOOKUPS; i++) {
		uint64_t pc;
		if (i < npcs)
			pc = pcs[i];
		else if (i == npcs)
			pc = 0;
		else if (i == npcs + 1)
			pc = UINT64_MAX;
		else if (i == npcs + 2)
			pc = hvaddr;
		else
			pc = hdr.eh_frame_ptr;
		rc = sw_eh_hdr_lookup(&hdr, pc, &addr, &start);
		CHECK(rc <= 0);
		/* (with a header near either end of the address space the
		 * 32-bit table offsets wrap, and so may the comparison) */
		if (rc == 0 && hvaddr >= (1ULL << 32) && hvaddr < (1ULL << 63))
			CHECK(start <= pc);
		rc = sw_cfi_find_fde_hdr(&hdr, sec, pc, &fde, &cie, &diag);
		CHECK(rc <= 0);
		if (rc == 0) {
			CHECK(pc >= fde.pc_begin && pc < fde.pc_end);
			CHECK(in_section(f, fde.insns, fde.insns_len));
			if (sw_cfa_row_at(sec, &cie, &fde, pc, &row, NULL) == 0) {
				CHECK(row.loc <= pc && pc < row.end);
				eval_row(f, &row);
			}
		}
	}
	free(copy);
}

/* ------------------------------------------------------------ entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	struct sw_diag diag;
	struct sw_cie cie;
	struct sw_fde fde;
	struct fz f;
	struct cfi_input in;
	const uint8_t *hbytes = NULL;
	size_t hsize = 0;
	int64_t hdelta = 0;
	uint64_t pcs[MAX_HDR_LOOKUPS];
	unsigned npcs = 0, nfdes = 0, ncies = 0, n = 0;
	uint64_t off = 0;
	uint8_t flags;
	uint8_t *copy;
	int rc;

	if (size < 1)
		return 0;
	flags = data[0];
	if (!cfi_input_parse(&in, flags, data + 1, size - 1, &sec))
		return 0;
	copy = in.copy;
	size = in.size;
	hbytes = in.hbytes;
	hsize = in.hsize;
	hdelta = in.hdelta;
	CHECK(sec.addr_size == (flags & 0x20 ? 4 : 8) && sec.name != NULL);
	if (flags & 0x10)
		sec.deref = fake_deref;

	memset(&f, 0, sizeof(f));
	f.sec_data = copy;
	f.sec_size = size;

	/* walk every entry */
	while (n++ < MAX_ENTRIES) {
		memset(&diag, 0, sizeof(diag));
		rc = sw_cfi_entry_at(&sec, off, &ent, &diag);
		if (rc != 0) {
			CHECK(rc == SW_END_OF_STACK || rc < 0);
			CHECK(rc != SW_END_OF_STACK || off == size);
			break;
		}
		CHECK(ent.offset == off);
		CHECK(ent.end > off && ent.end <= size);
		CHECK(ent.body <= ent.end);
		if (ent.kind == SW_CFI_CIE) {
			rc = sw_cfi_parse_cie(&sec, off, &cie, &diag);
			if (rc == 0) {
				CHECK(cie.offset == off && cie.end == ent.end);
				CHECK(cie.augmentation != NULL);
				CHECK(in_section(&f, cie.insns, cie.insns_len));
				CHECK(in_section(&f, cie.aug_data, cie.aug_data_len));
				if (ncies++ < MAX_CIE_TABLES) {
					decode_all(&sec, &cie, cie.insns, cie.insns_len);
					f.fde = NULL;
					sw_cfa_table(&sec, &cie, NULL, emit, &f, &diag);
				}
			}
			/* a CIE is not an FDE */
			CHECK(sw_cfi_parse_fde(&sec, off, &fde, &cie, NULL) < 0);
		} else if (ent.kind == SW_CFI_FDE) {
			rc = sw_cfi_parse_fde(&sec, off, &fde, &cie, &diag);
			if (rc == 0) {
				CHECK(fde.offset == off && fde.end == ent.end);
				CHECK(fde.cie_offset == cie.offset);
				CHECK(in_section(&f, fde.aug_data, fde.aug_data_len));
				if (nfdes++ < MAX_FDES)
					run_fde(&f, &sec, &cie, &fde, off ^ (uint64_t)flags << 32);
				if (npcs + 2 <= MAX_HDR_LOOKUPS) {
					pcs[npcs++] = fde.pc_begin;
					if (fde.pc_end > fde.pc_begin)
						pcs[npcs++] = fde.pc_end - 1;
				}
			} else {
				char msg[160];
				sw_diag_format(&diag, msg, sizeof(msg));
			}
			CHECK(sw_cfi_parse_cie(&sec, off, &cie, NULL) < 0);
		} else {
			CHECK(ent.kind == SW_CFI_ZERO);
			if (sec.is_eh)
				break;
		}
		off = ent.end;
	}

	/* linear lookups at the collected PCs */
	for (unsigned i = 0; i < npcs && i < 8; i++) {
		rc = sw_cfi_find_fde_linear(&sec, pcs[i], &fde, &cie, &diag);
		CHECK(rc <= 0);
		if (rc == 0)
			CHECK(pcs[i] >= fde.pc_begin && pcs[i] < fde.pc_end);
	}

	if (hbytes)
		run_hdr(&f, &sec, hbytes, hsize, sec.vaddr + (uint64_t)hdelta, pcs, npcs);
	else if (size >= 8)
		run_hdr(&f, &sec, copy, size < 256 ? size : 256, sec.vaddr, pcs, npcs);

	free(copy);
	return 0;
}
