/*
 * Unit tests for call frame information (src/dwarf/cfi_parse.c, cfa.c,
 * eh_hdr.c; the contract is src/dwarf/cfi.h).
 *
 * Sections are hand-assembled with a small byte builder, so every expected
 * value is worked out by hand from DWARF 5 section 6.4 and the LSB
 * .eh_frame / .eh_frame_hdr chapters.  Malformed variants check the exact
 * error code, and the diag offset where it names one byte; sweeps over
 * every prefix and many one-byte mutations check nothing crashes (run
 * under ASan: those inputs sit in exact-size heap blocks).  Last, every
 * FDE of the system's libc and libstdc++ is looked up through
 * .eh_frame_hdr and its whole CFA table is executed.
 */
#include "../harness.h"

#include <stdbool.h>

#include "dwarf/cfi.h"
#include "dwarf/expr.h"
#include "elf/elf.h"
#include "stackwalk.h"

#define EH_VADDR 0x10000u     /* address of hand-made .eh_frame sections */
#define HDR_VADDR 0x20000u    /* ... and of their .eh_frame_hdr */
#define PC0 0x401000u         /* first address covered by hand-made FDEs */
#define TEXTREL 0x400000u
#define DATAREL 0x600000u
#define PCREL4 (SW_PE_pcrel | SW_PE_sdata4)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- builder */

struct buf {
	uint8_t d[2048];
	size_t n;
	uint64_t vaddr;               /* address of d[0], for pc-relative values */
	uint64_t textrel, datarel, funcrel;
	size_t open[4];               /* entries whose length is not patched yet */
	unsigned nopen;
};

static void b_put(struct buf *b, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		b->d[b->n++] = (uint8_t)(v >> (8 * i));
}

static void b_patch(struct buf *b, size_t at, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		b->d[at + i] = (uint8_t)(v >> (8 * i));
}

static void b_uleb(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		b_put(b, c | (v ? 0x80 : 0), 1);
	} while (v);
}

static void b_sleb(struct buf *b, int64_t v)
{
	for (;;) {
		uint8_t c = (uint8_t)(v & 0x7f);
		v >>= 7;                      /* arithmetic shift (GNU C) */
		bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
		b_put(b, done ? c : c | 0x80, 1);
		if (done)
			return;
	}
}

/* `v` as a DW_EH_PE_* pointer, relative to the base `enc` names. */
static void b_enc(struct buf *b, uint8_t enc, uint64_t v)
{
	uint64_t base = 0;

	if ((enc & 0x70) == SW_PE_aligned)
		while ((b->vaddr + b->n) % 8)
			b_put(b, 0, 1);
	switch (enc & 0x70) {
	case SW_PE_pcrel: base = b->vaddr + b->n; break;
	case SW_PE_textrel: base = b->textrel; break;
	case SW_PE_datarel: base = b->datarel; break;
	case SW_PE_funcrel: base = b->funcrel; break;
	}
	v -= base;
	switch (enc & 0x0f) {
	case SW_PE_uleb128: b_uleb(b, v); break;
	case SW_PE_sleb128: b_sleb(b, (int64_t)v); break;
	default: b_put(b, v, (unsigned)sw_pe_size(enc, 8)); break;
	}
}

/* Patch the length of the innermost open entry so that it ends here. */
static void b_close(struct buf *b)
{
	size_t at = b->open[--b->nopen];

	if (memcmp(b->d + at, "\xff\xff\xff\xff", 4) == 0)
		b_patch(b, at + 4, b->n - at - 12, 8);
	else
		b_patch(b, at, b->n - at - 4, 4);
}

/*
 * Append fields by format, one value from `v` each (spaces are ignored):
 *   b h w q   1, 2, 4, 8 bytes            u s   ULEB128, SLEB128
 *   e         pointer: two values, the DW_EH_PE_* encoding and the address
 *   c         .eh_frame CIE pointer: the CIE's offset
 *   'text'    the text and a NUL (no value)
 *   [ {       open a 32-bit / 64-bit DWARF entry (length placeholder)
 *   ]         close the innermost entry (patch its length)
 */
static void b_fmt(struct buf *b, const char *fmt, const uint64_t *v)
{
	for (; *fmt; fmt++) {
		switch (*fmt) {
		case 'b': b_put(b, *v++, 1); break;
		case 'h': b_put(b, *v++, 2); break;
		case 'w': b_put(b, *v++, 4); break;
		case 'q': b_put(b, *v++, 8); break;
		case 'u': b_uleb(b, *v++); break;
		case 's': b_sleb(b, (int64_t)*v++); break;
		case 'e': b_enc(b, (uint8_t)v[0], v[1]); v += 2; break;
		case 'c': b_put(b, b->n - *v++, 4); break;
		case ']': b_close(b); break;
		case '\'':
			while (*++fmt != '\'')
				b_put(b, (uint8_t)*fmt, 1);
			b_put(b, 0, 1);
			break;
		case '[':
		case '{':
			b->open[b->nopen++] = b->n;
			if (*fmt == '{')
				b_put(b, 0xffffffffu, 4);
			b_put(b, 0, *fmt == '{' ? 8 : 4);
			break;
		}
	}
}
#define B(b, fmt, ...) b_fmt((b), (fmt), (const uint64_t[]){ __VA_ARGS__ })

#define INS(b, ...) do {                                             \
		static const uint8_t ins_[] = { __VA_ARGS__ };           \
		memcpy((b)->d + (b)->n, ins_, sizeof(ins_));             \
		(b)->n += sizeof(ins_);                                  \
	} while (0)

/* Open a 32-bit CIE up to its return address column; returns its offset. */
static size_t b_cie(struct buf *b, bool eh, uint8_t version, const char *aug,
		    uint64_t caf, int64_t daf, uint64_t ra)
{
	size_t at = b->n;

	B(b, "[wb", eh ? 0 : 0xffffffffu, version);
	memcpy(b->d + b->n, aug, strlen(aug) + 1);
	b->n += strlen(aug) + 1;
	B(b, version == 1 ? "usb" : "usu", caf, (uint64_t)daf, ra);
	return at;
}

/* Default CIE program: CFA = rsp + 8, return address (r16) at CFA - 8. */
#define CIE_INSNS 0x0c, 0x07, 0x08, 0x90, 0x01

/* Exact-size heap copy, so ASan traps any read past the end. */
static uint8_t *heap_copy(const void *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	memcpy(q, p, n);
	return q;
}

/* ---------------------------------------------------------------- fixture */

/* A section under construction and what was parsed from it. */
struct fx {
	struct buf b;
	uint8_t enc;                  /* the CIE's FDE pointer encoding */
	size_t cie_at, fde_at;
	struct sw_cfi_section sec;
	struct sw_cie cie;
	struct sw_fde fde;
	struct sw_diag diag;
};

static void fx_reset(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->b.vaddr = EH_VADDR;
	f->b.textrel = TEXTREL;
	f->b.datarel = DATAREL;
}

/* Point f->sec at the bytes built so far. */
static void fx_sec(struct fx *f, bool eh)
{
	sw_cfi_section_init(&f->sec, f->b.d, f->b.n, eh ? EH_VADDR : 0, eh, NULL);
	f->sec.textrel = TEXTREL;
	f->sec.datarel = DATAREL;
}

/* .eh_frame CIE "zR" at 0: code_align caf, data_align -8, ra 16, 'R' = enc
 * at offset 16, program `ci` (NULL: CIE_INSNS) from 17; then an FDE's
 * length and CIE pointer. */
static void fx_cie(struct fx *f, uint64_t caf, uint8_t enc, const uint8_t *ci, size_t cn)
{
	fx_reset(f);
	f->enc = enc;
	f->cie_at = b_cie(&f->b, true, 1, "zR", caf, -8, 16);
	B(&f->b, "ub", 1, enc);
	if (ci) {
		memcpy(f->b.d + f->b.n, ci, cn);
		f->b.n += cn;
	} else {
		INS(&f->b, CIE_INSNS);
	}
	b_close(&f->b);
	f->fde_at = f->b.n;
	B(&f->b, "[c", f->cie_at);
}

/* FDE fields up to its instructions: [pc, pc + range), no LSDA. */
static void fx_fde(struct fx *f, uint64_t pc, uint64_t range)
{
	B(&f->b, "eeu", f->enc, pc, f->enc & 0x0f, range, 0);
}

static void fx_begin(struct fx *f, uint64_t caf, uint64_t range)
{
	fx_cie(f, caf, PCREL4, NULL, 0);
	fx_fde(f, PC0, range);
}

/* Close the FDE, add the terminator, parse the FDE. */
static int fx_end(struct fx *f)
{
	B(&f->b, "]w", 0);
	fx_sec(f, true);
	return sw_cfi_parse_fde(&f->sec, f->fde_at, &f->fde, &f->cie, &f->diag);
}

static int fx_row(struct fx *f, uint64_t pc, struct sw_cfa_row *row)
{
	memset(row, 0, sizeof(*row));
	return sw_cfa_row_at(&f->sec, &f->cie, &f->fde, pc, row, &f->diag);
}

/* Run a checking helper; name the calling line when it failed. */
#define AT(call) do { int n_ = sw_test_failed_checks; call;                        \
		if (sw_test_failed_checks != n_) printf("    (from line %d)\n", __LINE__); \
	} while (0)
#define CHECK_CFA(row, reg, off) do { CHECK_EQ((row).cfa_kind, SW_CFA_RULE_REG);   \
		CHECK_EQ((row).cfa_reg, (reg)); CHECK_EQ((row).cfa_offset, (off)); } while (0)
#define CHECK_RULE(row, r, k, v) do {                                              \
		CHECK_EQ((row).regs[r].kind, (k)); CHECK_EQ((row).regs[r].value, (v)); } while (0)
#define CHECK_RANGE(row, lo, hi) do {                                              \
		CHECK_EQ((row).loc, (lo)); CHECK_EQ((row).end, (hi)); } while (0)
#define CHECK_DIAG(d, c, off, ent) do { CHECK_EQ((d).code, (c));                   \
		CHECK_EQ((d).offset, (off)); CHECK_EQ((d).entry, (ent)); } while (0)
/* sw_cfa_row_at(pc) succeeds with CFA = reg + off */
#define CHECK_PC(f, pc, reg, off) do { struct sw_cfa_row r_;                       \
		CHECK_EQ(fx_row((f), (pc), &r_), 0); CHECK_CFA(r_, (reg), (off)); } while (0)

static void check_entry(const struct sw_cfi_entry *e, int kind, uint64_t len, uint64_t id,
			uint8_t osize, uint64_t body, uint64_t end, uint64_t cie_off)
{
	CHECK_EQ(e->kind, kind);
	CHECK_EQ(e->length, len);
	CHECK_EQ(e->id, id);
	CHECK_EQ(e->offset_size, osize);
	CHECK_EQ(e->body, body);
	CHECK_EQ(e->end, end);
	CHECK_EQ(e->cie_offset, cie_off);
}

static void check_cie(const struct sw_cie *c, uint8_t version, const char *aug, uint64_t caf,
		      int64_t daf, uint64_t ra, uint8_t fde_enc, uint64_t insns_len)
{
	CHECK_EQ(c->version, version);
	CHECK_STR(c->augmentation, aug);
	CHECK_EQ(c->code_align, caf);
	CHECK_EQ(c->data_align, daf);
	CHECK_EQ(c->ra_reg, ra);
	CHECK_EQ(c->fde_enc, fde_enc);
	CHECK_EQ(c->insns_len, insns_len);
	CHECK_EQ(c->has_z, aug[0] == 'z');
}

static void check_fde(const struct sw_fde *f, uint64_t cie_off, uint64_t lo, uint64_t hi,
		      uint64_t insns_len)
{
	CHECK_EQ(f->cie_offset, cie_off);
	CHECK_EQ(f->pc_begin, lo);
	CHECK_EQ(f->pc_end, hi);
	CHECK_EQ(f->insns_len, insns_len);
}

/* Rows emitted by sw_cfa_table. */
struct rows {
	unsigned n;
	unsigned stop_at;             /* nonzero: return 77 after this many */
	struct sw_cfa_row r[16];
};

static int collect(void *arg, const struct sw_cfa_row *row)
{
	struct rows *rs = arg;

	if (rs->n < 16)
		rs->r[rs->n] = *row;
	rs->n++;
	return rs->stop_at && rs->n == rs->stop_at ? 77 : 0;
}

static int fx_table(struct fx *f, struct rows *rs)
{
	memset(rs, 0, sizeof(*rs));
	return sw_cfa_table(&f->sec, &f->cie, &f->fde, collect, rs, &f->diag);
}

/* Same rules (loc/end aside). */
static bool row_eq(const struct sw_cfa_row *a, const struct sw_cfa_row *b)
{
	if (a->cfa_kind != b->cfa_kind || a->cfa_reg != b->cfa_reg ||
	    a->cfa_offset != b->cfa_offset || a->cfa_expr != b->cfa_expr ||
	    a->cfa_expr_len != b->cfa_expr_len || a->args_size != b->args_size ||
	    a->ra_reg != b->ra_reg || a->dropped != b->dropped)
		return false;
	for (unsigned i = 0; i < SW_CFI_COLS; i++)
		if (a->regs[i].kind != b->regs[i].kind || a->regs[i].value != b->regs[i].value ||
		    a->regs[i].expr != b->regs[i].expr || a->regs[i].expr_len != b->regs[i].expr_len)
			return false;
	return true;
}

/* Expected row: [lo, hi) with CFA = reg + off (reg 99: an expression). */
struct want {
	uint64_t lo, hi;
	uint64_t reg;
	int64_t off;
};

/* sw_cfa_table emits exactly `w` (covering the FDE), and each row is what
 * sw_cfa_row_at returns at its first and last PC. */
static void check_table(struct fx *f, struct rows *rs, const struct want *w, unsigned n)
{
	struct sw_cfa_row row;

	CHECK_EQ(fx_table(f, rs), 0);
	CHECK_EQ(rs->n, n);
	CHECK(w[0].lo == f->fde.pc_begin && w[n - 1].hi == f->fde.pc_end);
	for (unsigned i = 0; i < n && i < rs->n; i++) {
		const struct sw_cfa_row *t = &rs->r[i];
		CHECK_RANGE(*t, w[i].lo, w[i].hi);
		if (w[i].reg == 99)
			CHECK_EQ(t->cfa_kind, SW_CFA_RULE_EXPR);
		else
			CHECK_CFA(*t, w[i].reg, w[i].off);
		for (int k = 0; k < 2; k++) {
			CHECK_EQ(fx_row(f, k ? t->end - 1 : t->loc, &row), 0);
			CHECK_RANGE(row, t->loc, t->end);
			CHECK(row_eq(&row, t));
		}
	}
}
#define CHECK_TABLE(f, rs, w) AT(check_table((f), (rs), (w), NELEM(w)))

/* DW_EH_PE_indirect target: one pointer-sized word. */
struct deref_log {
	unsigned calls;
	uint64_t addr, value;
	int rc;
};

static int fake_deref(void *arg, uint64_t addr, uint64_t *out)
{
	struct deref_log *d = arg;

	d->calls++;
	d->addr = addr;
	*out = d->value;
	return d->rc;
}

/* Expression target: rsp (7) = 0x7000, and 0x1234 stored at 0x7008. */
static int ex_reg(void *arg, unsigned regno, uint64_t *out)
{
	(void)arg;
	*out = 0x7000;
	return regno == 7 ? 0 : SW_EBADREG;
}

static int ex_mem(void *arg, uint64_t addr, unsigned size, uint64_t *out)
{
	(void)arg;
	*out = 0x1234;
	return addr == 0x7008 && size == 8 ? 0 : SW_EMEMORY;
}

static const struct sw_expr_env ex_env = { .read_mem = ex_mem, .read_reg = ex_reg, .addr_size = 8 };

static bool known_code(int rc)
{
	return rc == 0 || rc == SW_END_OF_STACK ||
	       (rc < 0 && strcmp(sw_strerror(rc), "unknown error") != 0);
}

/* ------------------------------------------------- CIEs, FDEs, augmentations */

TEST(zR_pcrel_sdata4)
{
	struct fx f;
	struct sw_cfi_entry ent;
	struct sw_cfa_row row;
	struct rows rs;
	const struct sw_cie *c = &f.cie;

	fx_cie(&f, 1, PCREL4, NULL, 0);
	B(&f.b, "ewu bbbbbb", PCREL4, PC0, 0x40, 0, 0x41, 0x0e, 0x10, 0x44, 0x0e, 0x08);
	size_t term = f.b.n;
	CHECK_EQ(fx_end(&f), 0);
	CHECK_STR(f.sec.name, ".eh_frame");
	CHECK_EQ(f.sec.addr_size, 8);

	CHECK_EQ(sw_cfi_entry_at(&f.sec, 0, &ent, NULL), 0);
	AT(check_entry(&ent, SW_CFI_CIE, f.fde_at - 4, 0, 4, 8, f.fde_at, 0));
	CHECK_EQ(sw_cfi_entry_at(&f.sec, f.fde_at, &ent, NULL), 0);
	AT(check_entry(&ent, SW_CFI_FDE, term - f.fde_at - 4, f.fde_at + 4, 4, f.fde_at + 8, term, 0));
	CHECK_EQ(ent.offset, f.fde_at);
	CHECK_EQ(sw_cfi_entry_at(&f.sec, term, &ent, NULL), 0);
	AT(check_entry(&ent, SW_CFI_ZERO, 0, 0, 4, term + 4, term + 4, 0));
	CHECK_EQ(sw_cfi_entry_at(&f.sec, term + 4, &ent, NULL), SW_END_OF_STACK);
	CHECK_EQ(sw_cfi_entry_at(&f.sec, term + 5, &ent, NULL), SW_EINVAL);

	AT(check_cie(c, 1, "zR", 1, -8, 16, PCREL4, 5));
	CHECK(c->offset == 0 && c->end == f.fde_at && c->offset_size == 4);
	CHECK(c->addr_size == 8 && c->segment_size == 0 && !c->signal_frame && !c->bti);
	CHECK(c->lsda_enc == SW_PE_omit && c->personality_enc == SW_PE_omit && c->personality == 0);
	CHECK(c->aug_data == f.b.d + 16 && c->aug_data_len == 1 && c->insns == f.b.d + 17);
	AT(check_fde(&f.fde, 0, PC0, PC0 + 0x40, 6));
	CHECK(f.fde.offset == f.fde_at && f.fde.end == term && f.fde.insns == f.b.d + term - 6);
	CHECK(f.fde.lsda == 0 && f.fde.aug_data_len == 0);

	static const struct want w[] = {
		{ PC0, PC0 + 1, 7, 8 }, { PC0 + 1, PC0 + 5, 7, 16 }, { PC0 + 5, PC0 + 0x40, 7, 8 },
	};
	CHECK_TABLE(&f, &rs, w);
	CHECK_RULE(rs.r[2], 16, SW_RULE_OFFSET, -8);
	CHECK_EQ(rs.r[2].ra_reg, 16);
	CHECK_EQ(fx_row(&f, PC0 + 0x40, &row), SW_ENOTFOUND);
	CHECK_EQ(fx_row(&f, PC0 - 1, &row), SW_ENOTFOUND);

	CHECK_EQ(sw_cfi_parse_cie(&f.sec, f.fde_at, &f.cie, NULL), SW_EBADCIE);
	CHECK(sw_cfi_parse_fde(&f.sec, 0, &f.fde, &f.cie, NULL) < 0);
	CHECK_EQ(sw_cfi_find_fde_linear(&f.sec, PC0 + 2, &f.fde, &f.cie, NULL), 0);
	CHECK_EQ(f.fde.offset, f.fde_at);
	CHECK_EQ(sw_cfi_find_fde_linear(&f.sec, PC0 + 0x40, &f.fde, &f.cie, NULL), SW_ENOTFOUND);
}

/* "zPLR": udata8 personality + absptr LSDA, then pcrel|indirect|sdata4
 * personality (a GOT slot, through sec.deref) + funcrel LSDA. */
TEST(zPLR_personality_lsda)
{
	const uint64_t slot = EH_VADDR + 0x800;
	struct deref_log log = { .value = 0x7fabcdef0000ull };
	struct fx f;

	fx_reset(&f);
	b_cie(&f.b, true, 1, "zPLR", 1, -8, 16);
	B(&f.b, "ubqbb bbbbb]", 11, SW_PE_udata8, 0x7f0011223344ull, SW_PE_absptr, PCREL4, CIE_INSNS);
	f.fde_at = f.b.n;
	B(&f.b, "[c ewuq bbb", 0, PCREL4, PC0, 0x40, 8, 0x500000, 0x41, 0x0e, 0x10);
	CHECK_EQ(fx_end(&f), 0);
	AT(check_cie(&f.cie, 1, "zPLR", 1, -8, 16, PCREL4, 5));
	CHECK(f.cie.personality_enc == SW_PE_udata8 && f.cie.personality == 0x7f0011223344ull);
	CHECK(f.cie.lsda_enc == SW_PE_absptr && f.cie.aug_data_len == 11);
	AT(check_fde(&f.fde, 0, PC0, PC0 + 0x40, 3));
	CHECK_EQ(f.fde.lsda, 0x500000);
	CHECK(f.fde.aug_data_len == 8 && f.fde.aug_data == f.fde.insns - 8);
	CHECK_PC(&f, PC0 + 1, 7, 16);

	fx_reset(&f);
	f.b.funcrel = PC0;
	b_cie(&f.b, true, 1, "zPLR", 1, -8, 16);
	B(&f.b, "ubebb bbbbb]", 7, SW_PE_indirect | PCREL4, PCREL4, slot,
	  SW_PE_funcrel | SW_PE_sdata4, PCREL4, CIE_INSNS);
	f.fde_at = f.b.n;
	B(&f.b, "[c ewue", 0, PCREL4, PC0, 0x40, 4, SW_PE_funcrel | SW_PE_sdata4, PC0 + 0x200);
	CHECK_EQ(fx_end(&f), 0);     /* no deref callback: the slot address */
	CHECK_EQ(f.cie.personality, slot);
	f.sec.deref = fake_deref;
	f.sec.deref_arg = &log;
	CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, NULL), 0);
	CHECK(log.calls == 1 && log.addr == slot);
	CHECK(f.cie.personality_enc == 0x9b && f.cie.personality == 0x7fabcdef0000ull);
	CHECK_EQ(f.cie.lsda_enc, 0x4b);
	CHECK_EQ(sw_cfi_parse_fde(&f.sec, f.fde_at, &f.fde, &f.cie, NULL), 0);
	CHECK(f.fde.lsda == PC0 + 0x200 && f.fde.pc_end == PC0 + 0x40);
	CHECK_EQ(f.cie.personality, 0x7fabcdef0000ull);
	log.rc = SW_EMEMORY;         /* a failing callback is an error */
	CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, NULL), SW_EMEMORY);
	CHECK_EQ(sw_cfi_parse_fde(&f.sec, f.fde_at, &f.fde, &f.cie, NULL), SW_EMEMORY);
}

/* "zS", "zRB" and GCC 2's "eh" (an address-sized EH data pointer after
 * the string, no augmentation data). */
TEST(zS_zRB_gcc2_eh)
{
	static const char *fmts[] = { "[w b'zS' usb u", "[w b'zRB' usb ub", "[w b'eh' q usb" };
	static const uint64_t vals[][7] = {
		{ 0, 1, 1, (uint64_t)-8, 16, 0 }, { 0, 1, 1, (uint64_t)-8, 16, 1, PCREL4 },
		{ 0, 1, 0xdeadbeefcafeull, 1, (uint64_t)-8, 16 },
	};
	struct fx f;

	for (int i = 0; i < 3; i++) {
		fx_reset(&f);
		b_fmt(&f.b, fmts[i], vals[i]);
		size_t ci_at = f.b.n;
		B(&f.b, "bbbbb]", CIE_INSNS);
		f.fde_at = f.b.n;
		f.enc = i == 1 ? PCREL4 : SW_PE_absptr;
		B(&f.b, "[c ee", 0, f.enc, PC0, f.enc & 0x0f, 0x20);
		if (i < 2)
			B(&f.b, "u", 0);
		INS(&f.b, 0x42, 0x0e, 0x18);
		CHECK_EQ(fx_end(&f), 0);
		AT(check_cie(&f.cie, 1, i == 0 ? "zS" : i == 1 ? "zRB" : "eh", 1, -8, 16, f.enc, 5));
		CHECK(f.cie.signal_frame == (i == 0) && f.cie.bti == (i == 1));
		CHECK(f.cie.insns == f.b.d + ci_at);
		AT(check_fde(&f.fde, 0, PC0, PC0 + 0x20, 3));
		CHECK_PC(&f, PC0 + 1, 7, 8);
		CHECK_PC(&f, PC0 + 2, 7, 24);
	}
}

/* Every value format x {absolute, pcrel, textrel, datarel} for the FDE
 * pointer (signed ones also below the base), plus aligned. */
TEST(fde_pointer_encodings)
{
	static const uint8_t fmts[] = {
		SW_PE_absptr, SW_PE_udata2, SW_PE_udata4, SW_PE_udata8, SW_PE_sdata2,
		SW_PE_sdata4, SW_PE_sdata8, SW_PE_uleb128, SW_PE_sleb128,
	};
	static const uint8_t apps[] = { 0, SW_PE_pcrel, SW_PE_textrel, SW_PE_datarel };
	struct fx f;
	unsigned cases = 0;

	for (size_t i = 0; i < sizeof(fmts); i++)
		for (size_t j = 0; j < sizeof(apps); j++)
			for (int neg = 0; neg < 2; neg++) {
				uint8_t enc = fmts[i] | apps[j];
				if (neg && !(fmts[i] & SW_PE_signed))
					continue;
				fx_cie(&f, 1, enc, NULL, 0);
				uint64_t base = apps[j] == SW_PE_pcrel ? EH_VADDR + f.b.n :
						apps[j] == SW_PE_textrel ? TEXTREL :
						apps[j] == SW_PE_datarel ? DATAREL : 0;
				uint64_t pc = neg ? base - 0x234 : base + 0x1234;
				fx_fde(&f, pc, 0x40);
				size_t ins_at = f.b.n;
				INS(&f.b, 0x41, 0x0e, 0x10);
				int n = sw_test_failed_checks;
				CHECK_EQ(fx_end(&f), 0);
				CHECK_EQ(f.cie.fde_enc, enc);
				AT(check_fde(&f.fde, 0, pc, pc + 0x40, 3));
				CHECK(f.fde.insns == f.b.d + ins_at);
				CHECK_PC(&f, pc, 7, 8);
				CHECK_PC(&f, pc + 0x3f, 7, 16);
				if (sw_test_failed_checks != n)
					printf("    encoding 0x%02x, negative %d\n", enc, neg);
				cases++;
			}
	CHECK_EQ(cases, 9 * 4 + 4 * 4);

	/* aligned: the pointer starts at the next 8-byte boundary */
	fx_cie(&f, 1, SW_PE_aligned, NULL, 0);
	CHECK((EH_VADDR + f.b.n) % 8 != 0);
	fx_fde(&f, PC0, 0x40);
	size_t ins_at = f.b.n;
	CHECK_EQ(fx_end(&f), 0);
	AT(check_fde(&f.fde, 0, PC0, PC0 + 0x40, 0));
	CHECK(f.fde.insns == f.b.d + ins_at);

	/* textrel / datarel without a base cannot be resolved */
	for (int k = 0; k < 2; k++) {
		fx_cie(&f, 1, k ? SW_PE_datarel | SW_PE_sdata4 : SW_PE_textrel | SW_PE_udata4, NULL, 0);
		fx_fde(&f, (k ? DATAREL : TEXTREL) + 0x10, 0x40);
		CHECK_EQ(fx_end(&f), 0);
		f.sec.textrel = f.sec.datarel = 0;
		CHECK_EQ(sw_cfi_parse_fde(&f.sec, f.fde_at, &f.fde, &f.cie, NULL), SW_EENCODING);
	}
}

/* ---------------------------------------------------------------- .debug_frame */

/* CIE versions 1, 3, 4 (8-byte addresses; 4-byte ones with a segment
 * selector) and 64-bit DWARF, mixed in one section after a zero entry. */
TEST(debug_frame_versions)
{
	const uint64_t id = 0xffffffffu, m4 = (uint64_t)-4, m8 = (uint64_t)-8;
	struct fx f;
	struct sw_cfi_entry ent;
	struct sw_cfa_row row;
	size_t at[11];

	fx_reset(&f);
	B(&f.b, "w", 0);
	at[0] = f.b.n;                /* v1: ra is a byte */
	B(&f.b, "[w b'' usb bbbbb]", id, 1, 1, m8, 16, CIE_INSNS);
	at[1] = f.b.n;
	B(&f.b, "[w qq bbb]", at[0], PC0, 0x30, 0x44, 0x0e, 0x10);
	at[2] = f.b.n;                /* v3: ra is a ULEB, here 2 bytes */
	B(&f.b, "[w b'' usu bbb]", id, 3, 4, m4, 130, 0x0c, 0x07, 0x08);
	at[3] = f.b.n;
	B(&f.b, "[w qq bbb]", at[2], 0x500000, 0x20, 0x42, 0x0e, 0x20);
	at[4] = f.b.n;                /* v4: address_size 8, segment_selector_size 0 */
	B(&f.b, "[w b'' bb usu bbbbb]", id, 4, 8, 0, 1, m8, 16, CIE_INSNS);
	at[5] = f.b.n;
	B(&f.b, "[w qq bbb]", at[4], 0x600000, 0x10, 0x41, 0x0e, 0x10);
	at[6] = f.b.n;                /* v4: address_size 4, segment_selector_size 2 */
	B(&f.b, "[w b'' bb usu bbb]", id, 4, 4, 2, 1, m4, 8, 0x0c, 0x04, 0x04);
	at[7] = f.b.n;
	B(&f.b, "[w hww]", at[6], 0x1234, 0x8000, 0x10);
	at[8] = f.b.n;                /* 64-bit DWARF: 8-byte ids and CIE pointer */
	B(&f.b, "{q b'' usu bbbbb]", UINT64_MAX, 3, 1, m8, 16, CIE_INSNS);
	at[9] = f.b.n;
	B(&f.b, "{q qq bbb]", at[8], 0x700000, 0x20, 0x48, 0x0e, 0x10);
	at[10] = f.b.n;
	fx_sec(&f, false);
	CHECK_STR(f.sec.name, ".debug_frame");

	/* CIE: version, offset/address/segment size, factors, ra, program
	 * length; FDE: range, program length, CFA at the start, then at `pc` */
	static const struct {
		uint8_t v, osz, asz, ssz;
		uint64_t caf;
		int64_t daf;
		uint64_t ra, clen, lo, hi, flen, reg0, off0, pc, reg, off;
	} fr[] = {
		{ 1, 4, 8, 0, 1, -8, 16, 5, PC0, PC0 + 0x30, 3, 7, 8, PC0 + 4, 7, 16 },
		{ 3, 4, 8, 0, 4, -4, 130, 3, 0x500000, 0x500020, 3, 7, 8, 0x500008, 7, 32 },
		{ 4, 4, 8, 0, 1, -8, 16, 5, 0x600000, 0x600010, 3, 7, 8, 0x600001, 7, 16 },
		{ 4, 4, 4, 2, 1, -4, 8, 3, 0x8000, 0x8010, 0, 4, 4, 0x800f, 4, 4 },
		{ 3, 8, 8, 0, 1, -8, 16, 5, 0x700000, 0x700020, 3, 7, 8, 0x700008, 7, 16 },
	};
	for (unsigned i = 0; i < NELEM(fr); i++) {
		size_t c = at[2 * i], fd = at[2 * i + 1], end = at[2 * i + 2];
		uint64_t hl = fr[i].osz == 8 ? 12 : 4, cid = fr[i].osz == 8 ? UINT64_MAX : id;
		int n = sw_test_failed_checks;
		CHECK_EQ(sw_cfi_entry_at(&f.sec, c, &ent, NULL), 0);
		check_entry(&ent, SW_CFI_CIE, fd - c - hl, cid, fr[i].osz, c + hl + fr[i].osz, fd, c);
		CHECK_EQ(sw_cfi_entry_at(&f.sec, fd, &ent, NULL), 0);
		check_entry(&ent, SW_CFI_FDE, end - fd - hl, c, fr[i].osz, fd + hl + fr[i].osz, end, c);
		CHECK_EQ(sw_cfi_parse_fde(&f.sec, fd, &f.fde, &f.cie, NULL), 0);
		check_cie(&f.cie, fr[i].v, "", fr[i].caf, fr[i].daf, fr[i].ra, SW_PE_absptr, fr[i].clen);
		CHECK(f.cie.offset_size == fr[i].osz && f.cie.addr_size == fr[i].asz);
		CHECK_EQ(f.cie.segment_size, fr[i].ssz);
		check_fde(&f.fde, c, fr[i].lo, fr[i].hi, fr[i].flen);
		CHECK_EQ(f.fde.segment, fr[i].ssz ? 0x1234 : 0);
		CHECK_PC(&f, fr[i].lo, fr[i].reg0, fr[i].off0);
		CHECK_PC(&f, fr[i].pc, fr[i].reg, fr[i].off);
		CHECK_EQ(sw_cfi_find_fde_linear(&f.sec, fr[i].pc, &f.fde, &f.cie, NULL), 0);
		CHECK_EQ(f.fde.offset, fd);
		if (sw_test_failed_checks != n)
			printf("    CIE/FDE pair %u\n", i);
	}
	CHECK_EQ(sw_cfi_parse_fde(&f.sec, at[3], &f.fde, &f.cie, NULL), 0);
	CHECK_EQ(fx_row(&f, 0x500007, &row), 0);
	CHECK_RANGE(row, 0x500000, 0x500008);
	CHECK_EQ(row.ra_reg, 130);
}

/* ---------------------------------------------------------------- DW_CFA_* */

TEST(cfa_advance_family)
{
	struct fx f;
	struct rows rs;
	struct sw_cfa_row row;

	fx_begin(&f, 1, 0x20000);
	INS(&f.b, 0x41, 0x0e, 0x10,                    /* advance_loc 1 */
	    0x02, 0x10, 0x0e, 0x18,                    /* advance_loc1 0x10 */
	    0x03, 0x00, 0x02, 0x0e, 0x20,              /* advance_loc2 0x200 */
	    0x04, 0x00, 0x00, 0x01, 0x00, 0x0e, 0x28); /* advance_loc4 0x10000 */
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w1[] = {
		{ PC0, PC0 + 1, 7, 8 }, { PC0 + 1, PC0 + 0x11, 7, 16 },
		{ PC0 + 0x11, PC0 + 0x211, 7, 24 }, { PC0 + 0x211, PC0 + 0x10211, 7, 32 },
		{ PC0 + 0x10211, PC0 + 0x20000, 7, 40 },
	};
	CHECK_TABLE(&f, &rs, w1);
	CHECK_EQ(fx_row(&f, PC0 + 0x20000, &row), SW_ENOTFOUND);

	/* code_align 4 scales every advance */
	fx_begin(&f, 4, 0x100);
	INS(&f.b, 0x41, 0x0e, 0x10, 0x02, 0x03, 0x0e, 0x18);
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w2[] = {
		{ PC0, PC0 + 4, 7, 8 }, { PC0 + 4, PC0 + 16, 7, 16 }, { PC0 + 16, PC0 + 0x100, 7, 24 },
	};
	CHECK_TABLE(&f, &rs, w2);

	/* set_loc (encoded like the FDE pointer); zero-length rows merge */
	fx_begin(&f, 1, 0x100);
	B(&f.b, "bbbb e bbbbbbb e bb", 0x48, 0x0e, 0x10, 0x01, PCREL4, PC0 + 8,
	  0x0e, 0x18, 0x40, 0x48, 0x0e, 0x20, 0x01, PCREL4, PC0 + 0x20, 0x0e, 0x28);
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w3[] = {
		{ PC0, PC0 + 8, 7, 8 }, { PC0 + 8, PC0 + 16, 7, 24 },
		{ PC0 + 16, PC0 + 0x20, 7, 32 }, { PC0 + 0x20, PC0 + 0x100, 7, 40 },
	};
	CHECK_TABLE(&f, &rs, w3);

	/* an advance past the end ends the table there */
	fx_begin(&f, 1, 0x100);
	INS(&f.b, 0x04, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x63);
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w4[] = { { PC0, PC0 + 0x100, 7, 8 } };
	CHECK_TABLE(&f, &rs, w4);

	/* set_loc backwards, or past the end */
	fx_begin(&f, 1, 0x100);
	size_t at = f.b.n + 1;
	B(&f.b, "bbe", 0x48, 0x01, PCREL4, PC0 + 4);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(fx_row(&f, PC0 + 0x10, &row), SW_ERANGE);
	CHECK_DIAG(f.diag, SW_ERANGE, at, f.fde_at);
	fx_begin(&f, 1, 0x100);
	B(&f.b, "be", 0x01, PCREL4, PC0 + 0x101);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(fx_table(&f, &rs), SW_ERANGE);

	/* early stop returns the callback's value */
	fx_begin(&f, 1, 0x100);
	INS(&f.b, 0x41, 0x41, 0x41);
	CHECK_EQ(fx_end(&f), 0);
	memset(&rs, 0, sizeof(rs));
	rs.stop_at = 2;
	CHECK_EQ(sw_cfa_table(&f.sec, &f.cie, &f.fde, collect, &rs, NULL), 77);
	CHECK_EQ(rs.n, 2);
	/* fde == NULL: the CIE's initial row alone, loc = end = 0 */
	memset(&rs, 0, sizeof(rs));
	CHECK_EQ(sw_cfa_table(&f.sec, &f.cie, NULL, collect, &rs, NULL), 0);
	CHECK_EQ(rs.n, 1);
	CHECK_RANGE(rs.r[0], 0, 0);
	CHECK_CFA(rs.r[0], 7, 8);
	CHECK_RULE(rs.r[0], 16, SW_RULE_OFFSET, -8);
}

TEST(cfa_register_rules)
{
	static const uint8_t ci[] = { CIE_INSNS, 0x83, 0x02 };   /* + r3 at CFA-16 */
	struct fx f;
	struct rows rs;

	fx_cie(&f, 1, PCREL4, ci, sizeof(ci));
	fx_fde(&f, PC0, 0x100);
	INS(&f.b, 0x86, 0x02,          /* offset r6, 2 */
	    0x05, 0x0c, 0x03,          /* offset_extended r12, 3 */
	    0x11, 0x0d, 0x7e,          /* offset_extended_sf r13, -2 */
	    0x14, 0x0e, 0x04,          /* val_offset r14, 4 */
	    0x15, 0x0f, 0x7f,          /* val_offset_sf r15, -1 */
	    0x07, 0x0a, 0x08, 0x0b,    /* undefined r10, same_value r11 */
	    0x09, 0x08, 0x09,          /* register r8 in r9 */
	    0x10, 0x01, 0x02);         /* expression r1, 2 bytes */
	size_t e1 = f.b.n;
	INS(&f.b, 0x77, 0x08,
	    0x16, 0x02, 0x03);         /* val_expression r2, 3 bytes */
	size_t e2 = f.b.n;
	INS(&f.b, 0x77, 0x10, 0x9f,
	    0x2f, 0x04, 0x02,          /* GNU_negative_offset_extended r4, 2 */
	    0x2e, 0x20,                /* GNU_args_size 32 */
	    0x2d, 0x00,                /* GNU_window_save, nop: no effect */
	    0x05, 0x21, 0x01,          /* offset_extended r33: dropped */
	    0x07, 0xff, 0x1f,          /* undefined r4095: dropped */
	    0x41, 0x90, 0x05, 0x08, 0x03,  /* offset r16, 5; same_value r3 */
	    0x42, 0xd0, 0x06, 0x03,    /* restore r16, restore_extended r3: CIE rules */
	    0xc6, 0x06, 0x0c);         /* the same for r6, r12: no CIE rule */
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w[] = {
		{ PC0, PC0 + 1, 7, 8 }, { PC0 + 1, PC0 + 3, 7, 8 }, { PC0 + 3, PC0 + 0x100, 7, 8 },
	};
	CHECK_TABLE(&f, &rs, w);

	enum { OFF = SW_RULE_OFFSET, VOFF = SW_RULE_VAL_OFFSET, UNSET = SW_RULE_UNSET };
	/* register, kind and value in rows 0, 1, 2 */
	static const struct { uint8_t reg, k[3]; int64_t v[3]; } rules[] = {
		{ 16, { OFF, OFF, OFF }, { -8, -40, -8 } },
		{ 3, { OFF, SW_RULE_SAME, OFF }, { -16, 0, -16 } },
		{ 6, { OFF, OFF, UNSET }, { -16, -16, 0 } },
		{ 12, { OFF, OFF, UNSET }, { -24, -24, 0 } },
		{ 13, { OFF, OFF, OFF }, { 16, 16, 16 } },
		{ 14, { VOFF, VOFF, VOFF }, { -32, -32, -32 } },
		{ 15, { VOFF, VOFF, VOFF }, { 8, 8, 8 } },
		{ 10, { SW_RULE_UNDEFINED, SW_RULE_UNDEFINED, SW_RULE_UNDEFINED }, { 0, 0, 0 } },
		{ 11, { SW_RULE_SAME, SW_RULE_SAME, SW_RULE_SAME }, { 0, 0, 0 } },
		{ 8, { SW_RULE_REGISTER, SW_RULE_REGISTER, SW_RULE_REGISTER }, { 9, 9, 9 } },
		{ 1, { SW_RULE_EXPR, SW_RULE_EXPR, SW_RULE_EXPR }, { 0, 0, 0 } },
		{ 2, { SW_RULE_VAL_EXPR, SW_RULE_VAL_EXPR, SW_RULE_VAL_EXPR }, { 0, 0, 0 } },
		{ 4, { OFF, OFF, OFF }, { 16, 16, 16 } },
		{ 0, { UNSET, UNSET, UNSET }, { 0, 0, 0 } },
		{ 7, { UNSET, UNSET, UNSET }, { 0, 0, 0 } },   /* untouched by the dropped r33 rule */
	};
	for (int k = 0; k < 3 && rs.n == 3; k++) {
		for (size_t i = 0; i < NELEM(rules); i++) {
			uint8_t kind = rules[i].k[k];
			/* an expression rule's value is its expression (below) */
			if (kind == SW_RULE_EXPR || kind == SW_RULE_VAL_EXPR)
				CHECK_EQ(rs.r[k].regs[rules[i].reg].kind, kind);
			else
				CHECK_RULE(rs.r[k], rules[i].reg, kind, rules[i].v[k]);
		}
		CHECK(rs.r[k].regs[1].expr == f.b.d + e1 && rs.r[k].regs[1].expr_len == 2);
		CHECK(rs.r[k].regs[2].expr == f.b.d + e2 && rs.r[k].regs[2].expr_len == 3);
		CHECK(rs.r[k].args_size == 32 && rs.r[k].dropped == 2 && rs.r[k].ra_reg == 16);
	}
	/* the rule's expression evaluates, with the CFA pushed */
	uint64_t cfa = 0x6000, v = 0;
	CHECK_EQ(sw_expr_eval(f.b.d + e1, 2, &ex_env, &cfa, 1, &v), 0);
	CHECK_EQ(v, 0x7008);

	/* register 4096 is beyond SW_CFI_MAX_REGNO */
	struct sw_cfa_row row;
	fx_begin(&f, 1, 0x10);
	size_t at = f.b.n + 1;
	INS(&f.b, 0x41, 0x07, 0x80, 0x20);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_PC(&f, PC0, 7, 8);
	CHECK_EQ(fx_row(&f, PC0 + 1, &row), SW_EBADREG);
	CHECK_DIAG(f.diag, SW_EBADREG, at, f.fde_at);
}

TEST(cfa_def_cfa_family)
{
	struct fx f;
	struct rows rs;
	struct sw_cfa_row row;

	fx_begin(&f, 1, 0x100);
	INS(&f.b, 0x0c, 0x06, 0x10, 0x41,      /* def_cfa r6, 16 (not factored) */
	    0x12, 0x07, 0x7e, 0x41,            /* def_cfa_sf r7, -2 * -8 */
	    0x0d, 0x06, 0x41,                  /* def_cfa_register r6 */
	    0x0e, 0x20, 0x41,                  /* def_cfa_offset 32 */
	    0x13, 0x7d, 0x41,                  /* def_cfa_offset_sf -3 * -8 */
	    0x0f, 0x03, 0x77, 0x08, 0x06);     /* def_cfa_expression: breg7 8; deref */
	size_t e = f.b.n - 3;
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w[] = {
		{ PC0, PC0 + 1, 6, 16 }, { PC0 + 1, PC0 + 2, 7, 16 }, { PC0 + 2, PC0 + 3, 6, 16 },
		{ PC0 + 3, PC0 + 4, 6, 32 }, { PC0 + 4, PC0 + 5, 6, 24 }, { PC0 + 5, PC0 + 0x100, 99, 0 },
	};
	CHECK_TABLE(&f, &rs, w);
	CHECK(rs.r[5].cfa_expr == f.b.d + e && rs.r[5].cfa_expr_len == 3);
	CHECK_RULE(rs.r[5], 16, SW_RULE_OFFSET, -8);
	uint64_t v = 0;
	CHECK_EQ(sw_expr_eval(rs.r[5].cfa_expr, rs.r[5].cfa_expr_len, &ex_env, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x1234);

	/* a CFA that is never defined is SW_EINVAL */
	static const uint8_t none[] = { 0x90, 0x01 };
	fx_cie(&f, 1, PCREL4, none, sizeof(none));
	fx_fde(&f, PC0, 0x10);
	INS(&f.b, 0x41, 0x0c, 0x07, 0x08);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(fx_row(&f, PC0, &row), SW_EINVAL);
	CHECK_PC(&f, PC0 + 1, 7, 8);
}

TEST(cfa_remember_restore)
{
	struct fx f;
	struct rows rs;
	struct sw_cfa_row row;

	fx_begin(&f, 1, 0x100);
	INS(&f.b, 0x41,
	    0x0e, 0x10, 0x86, 0x02, 0x0a, 0x41,              /* remember #1 */
	    0x0e, 0x18, 0x83, 0x03, 0x2e, 0x08, 0x0a, 0x41,  /* remember #2 */
	    0x0c, 0x06, 0x10, 0x08, 0x06, 0x2e, 0x10, 0x41,
	    0x0b, 0x41,                                      /* back to #2 */
	    0x0b);                                           /* back to #1 */
	CHECK_EQ(fx_end(&f), 0);
	static const struct want w[] = {
		{ PC0, PC0 + 1, 7, 8 }, { PC0 + 1, PC0 + 2, 7, 16 }, { PC0 + 2, PC0 + 3, 7, 24 },
		{ PC0 + 3, PC0 + 4, 6, 16 }, { PC0 + 4, PC0 + 5, 7, 24 }, { PC0 + 5, PC0 + 0x100, 7, 16 },
	};
	CHECK_TABLE(&f, &rs, w);
	/* r6 and r3 per row, and args_size (not part of the remembered state) */
	static const struct { uint8_t k6, k3; int64_t v6, v3; uint64_t args; } st[] = {
		{ SW_RULE_UNSET, SW_RULE_UNSET, 0, 0, 0 },
		{ SW_RULE_OFFSET, SW_RULE_UNSET, -16, 0, 0 },
		{ SW_RULE_OFFSET, SW_RULE_OFFSET, -16, -24, 8 },
		{ SW_RULE_SAME, SW_RULE_OFFSET, 0, -24, 16 },
		{ SW_RULE_OFFSET, SW_RULE_OFFSET, -16, -24, 16 },
		{ SW_RULE_OFFSET, SW_RULE_UNSET, -16, 0, 16 },
	};
	for (unsigned i = 0; i < NELEM(st) && rs.n == NELEM(st); i++) {
		CHECK_RULE(rs.r[i], 6, st[i].k6, st[i].v6);
		CHECK_RULE(rs.r[i], 3, st[i].k3, st[i].v3);
		CHECK_RULE(rs.r[i], 16, SW_RULE_OFFSET, -8);
		CHECK_EQ(rs.r[i].args_size, st[i].args);
	}

	/* SW_CFI_REMEMBER_MAX deep is fine, one more is SW_EREMEMBER */
	fx_begin(&f, 1, 0x10);
	for (int i = 0; i < SW_CFI_REMEMBER_MAX; i++)
		INS(&f.b, 0x0a, 0x0e, 0x10);
	for (int i = 0; i < SW_CFI_REMEMBER_MAX; i++)
		INS(&f.b, 0x0b);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_PC(&f, PC0, 7, 8);
	fx_begin(&f, 1, 0x10);
	for (int i = 0; i < SW_CFI_REMEMBER_MAX; i++)
		INS(&f.b, 0x0a);
	size_t at = f.b.n;
	INS(&f.b, 0x0a);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(fx_row(&f, PC0, &row), SW_EREMEMBER);
	CHECK_DIAG(f.diag, SW_EREMEMBER, at, f.fde_at);
	CHECK_STR(f.diag.section, ".eh_frame");

	/* restore_state without remember_state */
	fx_begin(&f, 1, 0x10);
	at = f.b.n + 3;
	INS(&f.b, 0x41, 0x0a, 0x0b, 0x0b);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_PC(&f, PC0, 7, 8);
	CHECK_EQ(fx_row(&f, PC0 + 1, &row), SW_ERESTORE);
	CHECK_DIAG(f.diag, SW_ERESTORE, at, f.fde_at);
}

/* sw_cfa_decode one instruction at a time (code_align 4, data_align -8). */
TEST(cfa_decode_and_names)
{
	static const struct dcase {
		uint8_t len, b[11];
		uint8_t op;
		uint64_t reg, reg2, uval;
		int64_t sval, factored;
		uint64_t delta, loc, expr_len;
	} cs[] = {
		{ 1, { 0x45 }, 0x40, 0, 0, 0, 0, 0, 20, 0, 0 },
		{ 2, { 0x02, 0x03 }, 0x02, 0, 0, 0, 0, 0, 12, 0, 0 },
		{ 3, { 0x03, 0x01, 0x01 }, 0x03, 0, 0, 0, 0, 0, 0x404, 0, 0 },
		{ 5, { 0x04, 1, 0, 0, 1 }, 0x04, 0, 0, 0, 0, 0, 0x4000004, 0, 0 },
		{ 9, { 0x1d, 2 }, 0x1d, 0, 0, 0, 0, 0, 8, 0, 0 },
		{ 9, { 0x01, 0x20, 0x10, 0x40 }, 0x01, 0, 0, 0, 0, 0, 0, 0x401020, 0 },
		{ 2, { 0x85, 0x03 }, 0x80, 5, 0, 3, 0, -24, 0, 0, 0 },
		{ 1, { 0xc5 }, 0xc0, 5, 0, 0, 0, 0, 0, 0, 0 },
		{ 4, { 0x05, 0x81, 0x01, 0x02 }, 0x05, 129, 0, 2, 0, -16, 0, 0, 0 },
		{ 2, { 0x06, 0x07 }, 0x06, 7, 0, 0, 0, 0, 0, 0, 0 },
		{ 2, { 0x07, 0x10 }, 0x07, 16, 0, 0, 0, 0, 0, 0, 0 },
		{ 2, { 0x08, 0x03 }, 0x08, 3, 0, 0, 0, 0, 0, 0, 0 },
		{ 3, { 0x09, 0x03, 0x05 }, 0x09, 3, 5, 0, 0, 0, 0, 0, 0 },
		{ 1, { 0x0a }, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ 1, { 0x0b }, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ 1, { 0x00 }, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ 1, { 0x2d }, 0x2d, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ 4, { 0x0c, 0x07, 0x90, 0x01 }, 0x0c, 7, 0, 144, 0, 144, 0, 0, 0 },
		{ 2, { 0x0d, 0x06 }, 0x0d, 6, 0, 0, 0, 0, 0, 0, 0 },
		{ 2, { 0x0e, 0x10 }, 0x0e, 0, 0, 16, 0, 16, 0, 0, 0 },
		{ 4, { 0x0f, 0x02, 0x77, 0x08 }, 0x0f, 0, 0, 0, 0, 0, 0, 0, 2 },
		{ 4, { 0x10, 0x01, 0x01, 0x30 }, 0x10, 1, 0, 0, 0, 0, 0, 0, 1 },
		{ 3, { 0x11, 0x03, 0x7e }, 0x11, 3, 0, 0, -2, 16, 0, 0, 0 },
		{ 3, { 0x12, 0x07, 0x7e }, 0x12, 7, 0, 0, -2, 16, 0, 0, 0 },
		{ 2, { 0x13, 0x7f }, 0x13, 0, 0, 0, -1, 8, 0, 0, 0 },
		{ 3, { 0x14, 0x03, 0x02 }, 0x14, 3, 0, 2, 0, -16, 0, 0, 0 },
		{ 3, { 0x15, 0x03, 0x7f }, 0x15, 3, 0, 0, -1, 8, 0, 0, 0 },
		{ 4, { 0x16, 0x02, 0x01, 0x31 }, 0x16, 2, 0, 0, 0, 0, 0, 0, 1 },
		{ 2, { 0x2e, 0x20 }, 0x2e, 0, 0, 32, 0, 0, 0, 0, 0 },
		{ 3, { 0x2f, 0x04, 0x02 }, 0x2f, 4, 0, 2, 0, 16, 0, 0, 0 },
	};
	struct sw_cfa_ctx ctx = { .code_align = 4, .data_align = -8, .fde_enc = SW_PE_absptr,
				  .ptr = { .addr_size = 8 } };
	struct sw_reader r;
	struct sw_cfa_insn in;
	uint8_t buf[16];

	for (size_t i = 0; i < NELEM(cs); i++) {
		const struct dcase *c = &cs[i];
		int n = sw_test_failed_checks;
		buf[0] = 0xee;                         /* the opcode sits at offset 1 */
		memcpy(buf + 1, c->b, sizeof(c->b));
		sw_rd_init(&r, buf, 1u + c->len, 0, "test");
		r.pos = buf + 1;
		CHECK_EQ(sw_cfa_decode(&r, &ctx, &in), 0);
		CHECK(in.op == c->op && in.offset == 1 && sw_rd_left(&r) == 0);
		CHECK(in.reg == c->reg && in.reg2 == c->reg2 && in.uval == c->uval);
		CHECK(in.sval == c->sval && in.factored == c->factored);
		CHECK(in.delta == c->delta && in.loc == c->loc && in.expr_len == c->expr_len);
		CHECK(in.expr == (c->expr_len ? buf + 1 + c->len - c->expr_len : NULL));
		if (sw_test_failed_checks != n)
			printf("    case %zu (opcode 0x%02x)\n", i, c->b[0]);
	}

	/* every byte: defined opcodes decode (zero operands), others SW_EBADOP */
	for (unsigned op = 0; op < 256; op++) {
		uint8_t z[12] = { (uint8_t)op };
		bool defined = op <= 0x16 || op == 0x1d || (op >= 0x2d && op <= 0x2f) || op >= 0x40;
		sw_rd_init(&r, z, sizeof(z), 0, "test");
		CHECK_EQ(sw_cfa_decode(&r, &ctx, &in), defined ? 0 : SW_EBADOP);
		if (defined) {
			CHECK(strncmp(sw_cfa_name(in.op), "DW_CFA_", 7) == 0);
			CHECK(strcmp(sw_cfa_name(in.op), "DW_CFA_???") != 0);
		} else {
			CHECK_STR(sw_cfa_name((uint8_t)op), "DW_CFA_???");
			CHECK(r.err_off == 0 && r.pos == z);
		}
	}
	CHECK_STR(sw_cfa_name(0x80), "DW_CFA_offset");
	CHECK_STR(sw_cfa_name(0x40), "DW_CFA_advance_loc");
	CHECK_STR(sw_cfa_name(0xc0), "DW_CFA_restore");
	CHECK_STR(sw_cfa_name(0x0f), "DW_CFA_def_cfa_expression");
	CHECK_STR(sw_cfa_name(0x2f), "DW_CFA_GNU_negative_offset_extended");

	/* operand errors come from the reader, at the byte that failed */
	static const struct { uint8_t len, b[12]; int rc; uint64_t off; } bad[] = {
		{ 2, { 0x0c, 0x07 }, SW_ETRUNCATED, 2 },
		{ 1, { 0x02 }, SW_ETRUNCATED, 1 },
		{ 3, { 0x0f, 0x05, 0x01 }, SW_ETRUNCATED, 2 },
		{ 5, { 0x01, 1, 2, 3, 4 }, SW_ETRUNCATED, 1 },
		{ 12, { 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0 },
		  SW_ELEB128, 10 },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		sw_rd_init(&r, bad[i].b, bad[i].len, 0, "test");
		CHECK_EQ(sw_cfa_decode(&r, &ctx, &in), bad[i].rc);
		CHECK_EQ(r.err_off, bad[i].off);
	}
}

/* ---------------------------------------------------------------- malformed */

TEST(bad_truncated_and_length)
{
	struct fx f;
	struct sw_cfi_entry ent;
	struct sw_diag d;

	/* the length field itself is cut (exact-size block) */
	uint8_t *p = heap_copy("\x20\x00\x00", 3);
	sw_cfi_section_init(&f.sec, p, 3, 0, true, ".eh_frame");
	CHECK_EQ(sw_cfi_entry_at(&f.sec, 0, &ent, &d), SW_ETRUNCATED);
	CHECK_DIAG(d, SW_ETRUNCATED, 0, 0);
	CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &d), SW_ETRUNCATED);
	free(p);

	/* 64-bit escape with half a length; a length too short for the id */
	static const struct { uint8_t n, b[10]; } cut[] = {
		{ 8, { 0xff, 0xff, 0xff, 0xff, 0x10 } }, { 10, { 2 } },
	};
	for (size_t i = 0; i < NELEM(cut); i++) {
		sw_cfi_section_init(&f.sec, cut[i].b, cut[i].n, 0, false, NULL);
		CHECK_EQ(sw_cfi_entry_at(&f.sec, 0, &ent, &d), SW_ETRUNCATED);
		CHECK_DIAG(d, SW_ETRUNCATED, 4, 0);
	}

	/* augmentation string without its NUL inside the entry; a CIE that
	 * ends before its return address column */
	for (int i = 0; i < 2; i++) {
		fx_reset(&f);
		if (i == 0)
			B(&f.b, "[wbb]w", 0, 1, 'z', 0);
		else
			B(&f.b, "[wb''us]w", 0, 1, 1, (uint64_t)-8, 0);
		fx_sec(&f, true);
		CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &d), SW_ETRUNCATED);
		CHECK_DIAG(d, SW_ETRUNCATED, i == 0 ? 9 : f.b.n - 4, 0);
	}

	/* an FDE whose pc_begin runs past its end */
	fx_cie(&f, 1, PCREL4, NULL, 0);
	B(&f.b, "h", 0);
	CHECK_EQ(fx_end(&f), SW_ETRUNCATED);
	CHECK_DIAG(f.diag, SW_ETRUNCATED, f.fde_at + 8, f.fde_at);

	/* lengths past the end of the section */
	fx_reset(&f);
	b_cie(&f.b, true, 1, "", 1, -8, 16);
	b_close(&f.b);
	size_t at = f.b.n;
	B(&f.b, "wwq", 0x100, at + 4, 0);
	fx_sec(&f, true);
	CHECK_EQ(sw_cfi_entry_at(&f.sec, at, &ent, &d), SW_ELENGTH);
	CHECK_DIAG(d, SW_ELENGTH, at, at);     /* the length field */
	CHECK_EQ(sw_cfi_parse_fde(&f.sec, at, &f.fde, &f.cie, &d), SW_ELENGTH);
	CHECK_EQ(sw_cfi_find_fde_linear(&f.sec, 0, &f.fde, &f.cie, &d), SW_ELENGTH);
	/* a 64-bit length near UINT64_MAX must not wrap the bounds check */
	fx_reset(&f);
	B(&f.b, "wqq", 0xffffffffu, UINT64_MAX - 4, UINT64_MAX);
	fx_sec(&f, false);
	CHECK_EQ(sw_cfi_entry_at(&f.sec, 0, &ent, &d), SW_ELENGTH);
	CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &d), SW_ELENGTH);
}

TEST(bad_cie_pointer)
{
	struct fx f;
	struct sw_diag d;

	/* .eh_frame: a pointer reaching before the section start, or at itself */
	for (int i = 0; i < 2; i++) {
		fx_begin(&f, 1, 0x10);
		fx_end(&f);
		b_patch(&f.b, f.fde_at + 4, i ? 4 : f.fde_at + 4 + 0x1000, 4);
		CHECK_EQ(sw_cfi_parse_fde(&f.sec, f.fde_at, &f.fde, &f.cie, &d), SW_EBADCIE);
		CHECK(d.code == SW_EBADCIE && d.entry == f.fde_at);
	}
	/* ... at another FDE */
	fx_begin(&f, 1, 0x10);
	b_close(&f.b);
	size_t f2 = f.b.n;
	B(&f.b, "[c", f.fde_at);
	fx_fde(&f, PC0 + 0x10, 0x10);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(sw_cfi_parse_fde(&f.sec, f2, &f.fde, &f.cie, &d), SW_EBADCIE);
	CHECK(d.code == SW_EBADCIE && d.entry == f2);
	CHECK_EQ(sw_cfi_find_fde_linear(&f.sec, PC0 + 0x10, &f.fde, &f.cie, &d), SW_EBADCIE);

	/* .debug_frame: past the section, at an FDE, at itself */
	fx_reset(&f);
	b_cie(&f.b, false, 3, "", 1, -8, 16);
	b_close(&f.b);
	size_t fd[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		fd[i] = f.b.n;
		B(&f.b, "[w qq]", i == 0 ? 0x1000 : i == 1 ? fd[0] : fd[i], PC0, 0x10);
	}
	fx_sec(&f, false);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(sw_cfi_parse_fde(&f.sec, fd[i], &f.fde, &f.cie, &d), SW_EBADCIE);
		CHECK(d.code == SW_EBADCIE && d.entry == fd[i]);
	}
}

TEST(bad_leb128_expression)
{
	struct fx f;
	struct sw_cfa_row row;
	char msg[160], want[160];
	uint64_t v = 0;

	/* 70 bits of code alignment factor: the 10th byte overflows */
	fx_reset(&f);
	B(&f.b, "[wb'zR' bbbbbbbbbb sb]", 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0x7f, (uint64_t)-8, 16);
	fx_sec(&f, true);
	CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &f.diag), SW_ELEB128);
	CHECK_DIAG(f.diag, SW_ELEB128, 12 + 9, 0);
	CHECK_STR(f.diag.section, ".eh_frame");
	sw_diag_format(&f.diag, msg, sizeof(msg));
	snprintf(want, sizeof(want), "%s in .eh_frame at offset 0x15 (entry at 0x0)",
		 sw_strerror(SW_ELEB128));
	CHECK_STR(msg, want);

	/* DW_CFA_def_cfa_expression of 70 DW_OP_lit1: 64 values fit */
	fx_begin(&f, 1, 0x10);
	INS(&f.b, 0x0f, 70);
	memset(f.b.d + f.b.n, 0x31, 70);
	f.b.n += 70;
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(fx_row(&f, PC0, &row), 0);
	CHECK(row.cfa_kind == SW_CFA_RULE_EXPR && row.cfa_expr_len == 70);
	CHECK_EQ(sw_expr_eval(row.cfa_expr, row.cfa_expr_len, &ex_env, NULL, 0, &v),
		 SW_ESTACKOVERFLOW);
	CHECK_EQ(sw_expr_eval(row.cfa_expr, SW_EXPR_STACK_MAX, &ex_env, NULL, 0, &v), 0);
	CHECK_EQ(v, 1);
}

TEST(bad_range_version_augmentation)
{
	struct fx f;

	/* pc_begin near the top with a range that wraps; a negative range */
	fx_cie(&f, 1, SW_PE_udata8, NULL, 0);
	fx_fde(&f, 0xfffffffffffff000ull, 0x2000);
	CHECK_EQ(fx_end(&f), SW_ERANGE);
	CHECK(f.diag.code == SW_ERANGE && f.diag.entry == f.fde_at);
	fx_cie(&f, 1, PCREL4, NULL, 0);
	fx_fde(&f, PC0, (uint64_t)-0x10);
	CHECK_EQ(fx_end(&f), SW_ERANGE);

	/* version 2 (and 0, 4 in .eh_frame, 5 anywhere) */
	static const struct { uint8_t version; bool eh; } vs[] = {
		{ 2, true }, { 2, false }, { 0, true }, { 4, true }, { 5, false },
	};
	for (size_t i = 0; i < NELEM(vs); i++) {
		fx_reset(&f);
		b_cie(&f.b, vs[i].eh, vs[i].version, "", 1, -8, 16);
		b_close(&f.b);
		fx_sec(&f, vs[i].eh);
		CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &f.diag), SW_EVERSION);
		CHECK_DIAG(f.diag, SW_EVERSION, 8, 0);     /* the version byte */
	}

	/* unknown augmentation characters, with and without 'z': the fields
	 * parsed before it are filled in, diag names the character */
	static const char *augs[] = { "zX", "zRX", "X", "zP\x01" };
	static const char *data[] = { "u]", "ub]", "]", "ubq]" };
	for (size_t i = 0; i < NELEM(augs); i++) {
		fx_reset(&f);
		b_cie(&f.b, true, 1, augs[i], 4, -8, 16);
		b_fmt(&f.b, data[i], i == 3 ? (const uint64_t[]){ 9, SW_PE_udata8, 0x1234 } :
					      (const uint64_t[]){ i, PCREL4 });
		fx_sec(&f, true);
		CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &f.diag), SW_EAUGMENTATION);
		CHECK_DIAG(f.diag, SW_EAUGMENTATION, 9 + strcspn(augs[i], "X\x01"), 0);
		AT(check_cie(&f.cie, 1, augs[i], 4, -8, 16, i == 1 ? PCREL4 : SW_PE_absptr, 0));
		CHECK_EQ(f.cie.personality, i == 3 ? 0x1234 : 0);
	}
}

TEST(bad_opcode_and_encoding)
{
	struct fx f;
	struct rows rs;
	struct sw_cfa_row row;

	/* undefined opcode 0x3f in the FDE ... */
	fx_begin(&f, 1, 0x10);
	size_t at = f.b.n + 3;
	INS(&f.b, 0x41, 0x0e, 0x10, 0x3f, 0x0e, 0x18);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_PC(&f, PC0, 7, 8);
	CHECK_EQ(fx_row(&f, PC0 + 1, &row), SW_EBADOP);
	CHECK_DIAG(f.diag, SW_EBADOP, at, f.fde_at);
	CHECK_EQ(fx_table(&f, &rs), SW_EBADOP);
	CHECK_EQ(rs.n, 1);
	/* ... and in the CIE's initial instructions (which start at 17) */
	static const uint8_t ci[] = { 0x0c, 0x07, 0x08, 0x3f };
	fx_cie(&f, 1, PCREL4, ci, sizeof(ci));
	fx_fde(&f, PC0, 0x10);
	CHECK_EQ(fx_end(&f), 0);
	CHECK_EQ(fx_row(&f, PC0, &row), SW_EBADOP);
	CHECK_DIAG(f.diag, SW_EBADOP, 17 + 3, f.cie_at);

	/* 'R' encodings that do not exist: formats 0x0f/0x0d/0x07, base 0x70 */
	static const uint8_t encs[] = { 0x0f, 0x0d, 0x07, 0x7b, 0x8f };
	for (size_t i = 0; i < sizeof(encs); i++) {
		fx_cie(&f, 1, encs[i], NULL, 0);
		B(&f.b, "qq", 0, 0);
		CHECK_EQ(fx_end(&f), SW_EENCODING);
		CHECK_DIAG(f.diag, SW_EENCODING, 16, 0);   /* the 'R' byte */
	}
	/* a bad LSDA or personality encoding */
	for (int i = 0; i < 2; i++) {
		fx_reset(&f);
		b_cie(&f.b, true, 1, i ? "zPR" : "zLR", 1, -8, 16);
		size_t enc_at = f.b.n + 1;
		B(&f.b, "ubqb]", 10, 0x0f, 0, PCREL4);
		fx_sec(&f, true);
		CHECK_EQ(sw_cfi_parse_cie(&f.sec, 0, &f.cie, &f.diag), SW_EENCODING);
		CHECK_DIAG(f.diag, SW_EENCODING, enc_at, 0);
	}
	/* an indirect FDE pointer without a deref callback */
	fx_cie(&f, 1, SW_PE_indirect | SW_PE_udata8, NULL, 0);
	fx_fde(&f, 0x1000, 0x10);
	CHECK_EQ(fx_end(&f), SW_EMEMORY);
}

/* ---------------------------------------------------------------- sweeps */

/* .eh_frame: "zPLR" CIE + FDE with LSDA and expressions, "zR" CIE + two
 * FDEs, terminator. */
static void build_multi(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	b->vaddr = EH_VADDR;
	b_cie(b, true, 1, "zPLR", 1, -8, 16);
	B(b, "ubqbb bbbbb]", 11, SW_PE_udata8, 0x7f0000001000ull, PCREL4, PCREL4, CIE_INSNS);
	B(b, "[c ewue", 0, PCREL4, PC0, 0x40, 4, PCREL4, 0x500000);
	INS(b, 0x41, 0x0e, 0x10, 0x86, 0x02, 0x0a, 0x42, 0x10, 0x03, 0x02, 0x77, 0x08,
	    0x0f, 0x03, 0x77, 0x08, 0x06, 0x44, 0x0b, 0x2e, 0x10);
	b_close(b);
	size_t c2 = b_cie(b, true, 3, "zR", 4, -8, 16);
	B(b, "ub bbbbb]", 1, PCREL4, CIE_INSNS);
	for (unsigned i = 0; i < 2; i++) {
		B(b, "[c ewu", c2, PCREL4, PC0 + 0x100 + 0x100 * i, 0x80, 0);
		INS(b, 0x41, 0x0e, 0x10, 0x0a, 0x02, 0x04, 0x86, 0x02, 0x41, 0x0b, 0x16,
		    0x06, 0x02, 0x77, 0x00);
		b_close(b);
	}
	B(b, "w", 0);
}

/* Parse every entry and run every FDE as an unwinder would; returns the
 * code that ended the walk, counts parsed FDEs and unknown return codes. */
static int walk_all(const struct sw_cfi_section *sec, unsigned *odd, unsigned *fdes)
{
	struct sw_cfi_entry ent;
	struct sw_cie cie;
	struct sw_fde fde;
	struct sw_cfa_row row;
	struct rows rs;
	uint64_t off = 0;
	int rc;

	for (int guard = 0; guard < 64; guard++) {
		if ((rc = sw_cfi_entry_at(sec, off, &ent, NULL)) != 0)
			return rc;
		CHECK(ent.end > off && ent.end <= sec->size);
		if (ent.kind == SW_CFI_CIE) {
			*odd += !known_code(sw_cfi_parse_cie(sec, off, &cie, NULL));
		} else if (ent.kind == SW_CFI_FDE) {
			rc = sw_cfi_parse_fde(sec, off, &fde, &cie, NULL);
			*odd += !known_code(rc);
			if (rc == 0) {
				++*fdes;
				memset(&rs, 0, sizeof(rs));
				*odd += !known_code(sw_cfa_table(sec, &cie, &fde, collect, &rs, NULL));
				for (int k = 0; k < 2 && fde.pc_end > fde.pc_begin; k++)
					*odd += !known_code(sw_cfa_row_at(sec, &cie, &fde,
							k ? fde.pc_end - 1 : fde.pc_begin, &row, NULL));
			}
		}
		off = ent.end;
	}
	return 0;
}

TEST(truncation_sweep)
{
	struct buf b;
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	uint64_t starts[16], ends[16];
	bool is_fde[16];
	unsigned nb = 0, odd = 0, fdes = 0;

	build_multi(&b);
	sw_cfi_section_init(&sec, b.d, b.n, EH_VADDR, true, ".eh_frame");
	CHECK_EQ(walk_all(&sec, &odd, &fdes), SW_END_OF_STACK);
	CHECK_EQ(fdes, 3);
	for (uint64_t off = 0; nb < 16 && sw_cfi_entry_at(&sec, off, &ent, NULL) == 0; off = ent.end) {
		starts[nb] = off;
		ends[nb] = ent.end;
		is_fde[nb++] = ent.kind == SW_CFI_FDE;
	}
	CHECK_EQ(nb, 6);

	for (size_t n = 0; n <= b.n; n++) {
		uint8_t *p = heap_copy(b.d, n);
		unsigned nf = 0, want_f = 0;
		int want = SW_END_OF_STACK;
		bool cut = false;

		for (unsigned i = 0; i < nb; i++) {
			if (ends[i] <= n) {
				want_f += is_fde[i];
			} else if (!cut) {
				/* the entry holding the cut: no whole length, or too long */
				cut = true;
				if (starts[i] != n)
					want = n - starts[i] < 4 ? SW_ETRUNCATED : SW_ELENGTH;
			}
		}
		sw_cfi_section_init(&sec, p, n, EH_VADDR, true, ".eh_frame");
		CHECK_EQ(walk_all(&sec, &odd, &nf), want);
		CHECK_EQ(nf, want_f);          /* whole FDEs still parse */
		free(p);
	}
	CHECK_EQ(odd, 0);
}

TEST(mutation_sweep)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x3f, 0x7f, 0x80, 0xff };
	struct buf b;
	struct sw_cfi_section sec;
	struct sw_fde fde;
	struct sw_cie cie;
	unsigned odd = 0, fdes = 0, runs = 0;

	build_multi(&b);
	for (size_t i = 0; i < b.n; i++)
		for (size_t k = 0; k <= sizeof(vals); k++) {
			uint8_t *p = heap_copy(b.d, b.n);
			p[i] = k < sizeof(vals) ? vals[k] : p[i] ^ 0x40;
			sw_cfi_section_init(&sec, p, b.n, EH_VADDR, true, ".eh_frame");
			odd += !known_code(walk_all(&sec, &odd, &fdes));
			odd += !known_code(sw_cfi_find_fde_linear(&sec, PC0 + 0x150, &fde, &cie, NULL));
			runs++;
			free(p);
		}
	CHECK_EQ(odd, 0);
	CHECK_EQ(runs, b.n * 7);
	CHECK(fdes > 0);
}

/* ---------------------------------------------------------------- .eh_frame_hdr */

/* FDEs of the hand-made .eh_frame below, in section (not address) order. */
static const uint64_t ehf_lo[3] = { PC0 + 0x1000, PC0, PC0 + 0x100 };
static const uint64_t ehf_len[3] = { 0x40, 0x100, 0x80 };

static void ehf_build(struct fx *f, size_t fde[3])
{
	fx_reset(f);
	b_cie(&f->b, true, 1, "zR", 1, -8, 16);
	B(&f->b, "ub bbbbb]", 1, PCREL4, CIE_INSNS);
	for (int i = 0; i < 3; i++) {
		fde[i] = f->b.n;
		B(&f->b, "[c ewu bbb]", 0, PCREL4, ehf_lo[i], ehf_len[i], 0, 0x41, 0x0e, 0x10);
	}
	B(&f->b, "w", 0);
	fx_sec(f, true);
	f->sec.datarel = HDR_VADDR;
}

/* .eh_frame_hdr over it (table in `table_enc`, `count` entries claimed),
 * in an exact-size heap block. */
static uint8_t *hdr_build(const size_t fde[3], uint8_t version, uint8_t table_enc,
			  uint64_t count, size_t *size)
{
	static const int order[3] = { 1, 2, 0 };
	struct buf h = { .vaddr = HDR_VADDR, .datarel = HDR_VADDR };

	B(&h, "bbbbew", version, PCREL4, SW_PE_udata4, table_enc, PCREL4, EH_VADDR, count);
	for (int i = 0; i < 3; i++)
		B(&h, "ee", table_enc, ehf_lo[order[i]], table_enc, EH_VADDR + fde[order[i]]);
	*size = h.n;
	return heap_copy(h.d, h.n);
}

TEST(eh_hdr_lookup)
{
	/* the linkers' datarel|sdata4 (fast path), then generic encodings */
	static const uint8_t encs[] = { SW_PE_datarel | SW_PE_sdata4, SW_PE_udata8,
					SW_PE_udata4, SW_PE_datarel | SW_PE_sdata8 };
	/* pc, index of the FDE the table names (-1: none), does it cover pc */
	static const struct { uint64_t pc; int idx; bool in; } cs[] = {
		{ 0, -1, false }, { PC0 - 1, -1, false }, { PC0, 1, true },
		{ PC0 + 0x80, 1, true }, { PC0 + 0xff, 1, true }, { PC0 + 0x100, 2, true },
		{ PC0 + 0x17f, 2, true }, { PC0 + 0x180, 2, false }, { PC0 + 0xfff, 2, false },
		{ PC0 + 0x1000, 0, true }, { PC0 + 0x103f, 0, true }, { PC0 + 0x1040, 0, false },
		{ PC0 + 0x100000, 0, false }, { UINT64_MAX, 0, false },
	};
	struct fx f;
	size_t fde[3], size;
	struct sw_eh_hdr hdr;
	uint64_t addr, start;

	ehf_build(&f, fde);
	for (size_t k = 0; k < sizeof(encs); k++) {
		uint8_t *h = hdr_build(fde, 1, encs[k], 3, &size);
		CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size, HDR_VADDR, &f.diag), 0);
		CHECK(hdr.version == 1 && hdr.eh_frame_ptr == EH_VADDR && hdr.fde_count == 3);
		CHECK(hdr.table_enc == encs[k] && hdr.table == h + 12);
		CHECK_EQ(hdr.entry_size, sw_pe_size(encs[k], 8));
		for (size_t i = 0; i < NELEM(cs); i++) {
			int n = sw_test_failed_checks, idx = cs[i].idx;
			CHECK_EQ(sw_eh_hdr_lookup(&hdr, cs[i].pc, &addr, &start), idx < 0 ? SW_ENOTFOUND : 0);
			if (idx >= 0)
				CHECK(addr == EH_VADDR + fde[idx] && start == ehf_lo[idx]);
			CHECK_EQ(sw_cfi_find_fde_hdr(&hdr, &f.sec, cs[i].pc, &f.fde, &f.cie, &f.diag),
				 cs[i].in ? 0 : SW_ENOTFOUND);
			if (cs[i].in)
				CHECK_EQ(f.fde.offset, fde[idx]);
			/* the linear scan agrees */
			CHECK_EQ(sw_cfi_find_fde_linear(&f.sec, cs[i].pc, &f.fde, &f.cie, NULL),
				 cs[i].in ? 0 : SW_ENOTFOUND);
			if (sw_test_failed_checks != n)
				printf("    table 0x%02x, pc 0x%" PRIx64 "\n", encs[k], cs[i].pc);
		}
		free(h);
	}

	/* no table (fde_count omitted) */
	uint8_t *h = hdr_build(fde, 1, SW_PE_datarel | SW_PE_sdata4, 3, &size);
	h[2] = SW_PE_omit;
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size, HDR_VADDR, &f.diag), 0);
	CHECK(hdr.fde_count == 0 && hdr.table == NULL);
	CHECK_EQ(sw_eh_hdr_lookup(&hdr, PC0, &addr, &start), SW_ENOTFOUND);
	CHECK_EQ(sw_cfi_find_fde_hdr(&hdr, &f.sec, PC0, &f.fde, &f.cie, &f.diag), SW_ENOTFOUND);
	/* a table entry pointing outside .eh_frame */
	h[2] = SW_PE_udata4;
	memcpy(h + 16, &(int32_t){ 0x100000 }, 4);
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size, HDR_VADDR, &f.diag), 0);
	CHECK_EQ(sw_cfi_find_fde_hdr(&hdr, &f.sec, PC0, &f.fde, &f.cie, &f.diag), SW_EBADHDR);
	free(h);
}

TEST(eh_hdr_malformed)
{
	const uint8_t t4 = SW_PE_datarel | SW_PE_sdata4;
	struct fx f;
	size_t fde[3], size;
	struct sw_eh_hdr hdr;
	struct sw_diag d;
	uint8_t *h;

	ehf_build(&f, fde);
	h = hdr_build(fde, 2, t4, 3, &size);
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size, HDR_VADDR, &d), SW_EVERSION);
	CHECK_DIAG(d, SW_EVERSION, 0, 0);
	CHECK_STR(d.section, ".eh_frame_hdr");
	free(h);
	/* more entries claimed than the data holds */
	static const uint64_t counts[] = { 4, 0xffffffffu };
	for (size_t i = 0; i < NELEM(counts); i++) {
		h = hdr_build(fde, 1, t4, counts[i], &size);
		CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size, HDR_VADDR, &d), SW_EBADHDR);
		free(h);
	}
	h = hdr_build(fde, 1, SW_PE_udata8, 3, &size);
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size - 1, HDR_VADDR, &d), SW_EBADHDR);
	/* cut inside the fixed fields */
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, 3, HDR_VADDR, &d), SW_ETRUNCATED);
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, 6, HDR_VADDR, &d), SW_ETRUNCATED);
	CHECK_DIAG(d, SW_ETRUNCATED, 4, 0);
	CHECK_EQ(sw_eh_hdr_parse(&hdr, h, 10, HDR_VADDR, &d), SW_ETRUNCATED);
	free(h);
	/* table encodings that cannot be searched; indirect pointer or count */
	static const struct { int at; uint8_t enc; } bad[] = {
		{ 3, SW_PE_uleb128 }, { 3, SW_PE_aligned }, { 3, SW_PE_indirect | 0x3b }, { 3, 0x0f },
		{ 1, SW_PE_indirect | PCREL4 }, { 2, SW_PE_indirect | SW_PE_udata4 },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		h = hdr_build(fde, 1, t4, 3, &size);
		h[bad[i].at] = bad[i].enc;
		CHECK_EQ(sw_eh_hdr_parse(&hdr, h, size, HDR_VADDR, &d), SW_EENCODING);
		free(h);
	}
}

/* ---------------------------------------------------------------- real files */

struct real_ck {
	const struct sw_cfi_section *sec;
	const struct sw_cie *cie;
	const struct sw_fde *fde;
	uint64_t prev_end;
	unsigned rows, bad;
};

/* Each table row: contiguous, and what sw_cfa_row_at gives at both ends. */
static int real_row(void *arg, const struct sw_cfa_row *t)
{
	struct real_ck *ck = arg;
	struct sw_cfa_row row;

	ck->rows++;
	ck->bad += t->loc != ck->prev_end || t->loc >= t->end || t->end > ck->fde->pc_end;
	ck->prev_end = t->end;
	for (int k = 0; k < 2; k++)
		ck->bad += sw_cfa_row_at(ck->sec, ck->cie, ck->fde, k ? t->end - 1 : t->loc,
					 &row, NULL) != 0 ||
			   row.loc != t->loc || row.end != t->end || !row_eq(&row, t);
	return 0;
}

/* Every FDE of `path`'s .eh_frame (walked in order) is found through
 * .eh_frame_hdr at its first, middle and last PC, and its table runs. */
static void check_real(const char *path)
{
	struct sw_elf elf;
	struct sw_elf_section eh, ehh;
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_cfi_entry ent;
	struct sw_cie cie, cie2;
	struct sw_fde fde, fde2;
	struct sw_diag d;
	unsigned nfde = 0, ncie = 0, errors = 0, misses = 0, rows = 0;
	uint64_t off = 0;
	int rc = sw_elf_open_file(&elf, path);

	CHECK_EQ(rc, 0);
	if (rc)
		return;
	CHECK_EQ(sw_elf_find_section(&elf, ".eh_frame", &eh), 0);
	CHECK_EQ(sw_elf_find_section(&elf, ".eh_frame_hdr", &ehh), 0);
	sw_cfi_section_init(&sec, eh.data, eh.size, eh.addr, true, ".eh_frame");
	sec.datarel = ehh.addr;
	CHECK_EQ(sw_eh_hdr_parse(&hdr, ehh.data, ehh.size, ehh.addr, &d), 0);
	CHECK_EQ(hdr.eh_frame_ptr, eh.addr);
	CHECK_EQ(hdr.table_enc, SW_PE_datarel | SW_PE_sdata4);

	for (; (rc = sw_cfi_entry_at(&sec, off, &ent, &d)) == 0 && ent.kind != SW_CFI_ZERO;
	     off = ent.end) {
		if (ent.kind == SW_CFI_CIE) {
			ncie++;
			errors += sw_cfi_parse_cie(&sec, off, &cie, &d) != 0;
			continue;
		}
		rc = sw_cfi_parse_fde(&sec, off, &fde, &cie, &d);
		errors += rc != 0 || fde.pc_end <= fde.pc_begin;
		if (rc != 0 || fde.pc_end <= fde.pc_begin)
			continue;
		nfde++;
		uint64_t pcs[3] = { fde.pc_begin, fde.pc_begin + (fde.pc_end - fde.pc_begin) / 2,
				    fde.pc_end - 1 };
		for (int k = 0; k < 3; k++) {
			rc = sw_cfi_find_fde_hdr(&hdr, &sec, pcs[k], &fde2, &cie2, &d);
			if ((rc != 0 || fde2.offset != off) && misses++ < 5)
				printf("    %s: FDE 0x%" PRIx64 " pc 0x%" PRIx64 ": %d\n",
				       path, off, pcs[k], rc);
		}
		struct real_ck ck = { &sec, &cie, &fde, fde.pc_begin, 0, 0 };
		rc = sw_cfa_table(&sec, &cie, &fde, real_row, &ck, &d);
		if ((rc != 0 || ck.bad || ck.prev_end != fde.pc_end) && errors++ < 5)
			printf("    %s: FDE 0x%" PRIx64 ": table %d, %u bad rows\n", path, off, rc, ck.bad);
		rows += ck.rows;
	}
	CHECK(rc == 0 || rc == SW_END_OF_STACK);
	CHECK_EQ(errors, 0);
	CHECK_EQ(misses, 0);
	CHECK_EQ(nfde, hdr.fde_count);
	CHECK(nfde >= 1000 && ncie >= 1 && rows > nfde);
	printf("    %s: %u CIEs, %u FDEs, %u rows\n", path, ncie, nfde, rows);
	sw_elf_close(&elf);
}

TEST(real_libstdcxx)
{
	check_real("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
}

TEST(real_libc)
{
	check_real("/lib/x86_64-linux-gnu/libc.so.6");
}

SW_TEST_MAIN
