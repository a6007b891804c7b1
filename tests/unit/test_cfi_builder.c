/* CFI builder (include/stackwalk/jit.h): output parsed back by the CFI
 * engine row by row, error paths, truncation, byte-exact encoding. */
#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "dwarf/reader.h"

#include "../harness.h"

#define RBX SW_REG_RBX
#define RBP SW_REG_RBP
#define RSP SW_REG_RSP
#define R12 SW_REG_R12
#define R13 SW_REG_R13
#define R14 SW_REG_R14
#define R15 SW_REG_R15
#define RIP SW_REG_RIP

#define EH_ADDR 0x500000u
#define CODE 0x400000u

/* Procedures: offset from the code base, size. */
enum { P1 = 0x000, P1_SIZE = 103,       /* frame pointer, early return */
       P2 = 0x100, P2_SIZE = 317,       /* frameless, 5 pushes, sub rsp,4200 */
       P3 = 0x300, P3_SIZE = 10,        /* leaf */
       P4 = 0x320, P4_SIZE = 8,         /* personality + LSDA */
       P5 = 0x340, P5_SIZE = 16,        /* signal frame */
       P6 = 0x360, P6_SIZE = 4 };       /* negative CFA offset */
#define PERSONALITY (EH_ADDR + 0x1000)  /* near the bytes (pcrel|sdata4) */
#define LSDA 0x12345678u
/* tests/jit/builder_readelf.c, which includes this file, moves it. */
static uint64_t g_personality = PERSONALITY;

/* Build every procedure; returns sw_cfi_b_finish's result or the first
 * error (with the builder's error sticky, the same as finish's). */
static int build_all(sw_cfi_builder_t *b, uint64_t code)
{
	/* P1: push rbp; mov rbp,rsp; push rbx; ...; early return at 12:
	 * pop rbx; pop rbp; ret; body 15..99; 100: pop rbx; leave; ret */
	sw_cfi_b_startproc(b, code + P1, P1_SIZE);
	sw_cfi_b_advance(b, 1);
	sw_cfi_b_def_cfa_offset(b, 16);
	sw_cfi_b_offset(b, RBP, -16);
	sw_cfi_b_advance(b, 4);
	sw_cfi_b_def_cfa_register(b, RBP);
	sw_cfi_b_advance(b, 5);
	sw_cfi_b_offset(b, RBX, -24);
	sw_cfi_b_advance(b, 12);
	sw_cfi_b_remember_state(b);
	sw_cfi_b_advance(b, 13);
	sw_cfi_b_restore(b, RBX);
	sw_cfi_b_advance(b, 14);
	sw_cfi_b_def_cfa(b, RSP, 8);
	sw_cfi_b_restore(b, RBP);
	sw_cfi_b_advance(b, 15);
	sw_cfi_b_restore_state(b);
	sw_cfi_b_advance(b, 101);
	sw_cfi_b_restore(b, RBX);
	sw_cfi_b_advance(b, 102);
	sw_cfi_b_def_cfa(b, RSP, 8);
	sw_cfi_b_restore(b, RBP);
	sw_cfi_b_endproc(b);

	/* P2: push rbx; push r12..r15; sub rsp,4200; body; 300: add rsp,4200;
	 * pop r15..r12; pop rbx; ret at 316 */
	sw_cfi_b_startproc(b, code + P2, P2_SIZE);
	sw_cfi_b_advance(b, 1);
	sw_cfi_b_def_cfa_offset(b, 16);
	sw_cfi_b_offset(b, RBX, -16);
	sw_cfi_b_advance(b, 3);
	sw_cfi_b_adjust_cfa_offset(b, 8);
	sw_cfi_b_rel_offset(b, R12, 0);         /* rsp + 0 = CFA - 24 */
	sw_cfi_b_advance(b, 5);
	sw_cfi_b_adjust_cfa_offset(b, 8);
	sw_cfi_b_offset(b, R13, -32);
	sw_cfi_b_advance(b, 7);
	sw_cfi_b_adjust_cfa_offset(b, 8);
	sw_cfi_b_offset(b, R14, -40);
	sw_cfi_b_advance(b, 9);
	sw_cfi_b_adjust_cfa_offset(b, 8);
	sw_cfi_b_offset(b, R15, -48);
	sw_cfi_b_advance(b, 16);
	sw_cfi_b_adjust_cfa_offset(b, 4200);
	sw_cfi_b_advance(b, 307);
	sw_cfi_b_def_cfa_offset(b, 48);
	sw_cfi_b_advance(b, 309);
	sw_cfi_b_adjust_cfa_offset(b, -8);
	sw_cfi_b_restore(b, R15);
	sw_cfi_b_advance(b, 311);
	sw_cfi_b_adjust_cfa_offset(b, -8);
	sw_cfi_b_restore(b, R14);
	sw_cfi_b_advance(b, 313);
	sw_cfi_b_adjust_cfa_offset(b, -8);
	sw_cfi_b_restore(b, R13);
	sw_cfi_b_advance(b, 315);
	sw_cfi_b_adjust_cfa_offset(b, -8);
	sw_cfi_b_restore(b, R12);
	sw_cfi_b_advance(b, 316);
	sw_cfi_b_def_cfa_offset(b, 8);
	sw_cfi_b_restore(b, RBX);
	sw_cfi_b_endproc(b);

	/* P3: leaf, no directives. */
	sw_cfi_b_startproc(b, code + P3, P3_SIZE);
	sw_cfi_b_endproc(b);

	/* P4: personality + LSDA; push rbp at 0, pop rbp at 6, ret at 7. */
	sw_cfi_b_startproc(b, code + P4, P4_SIZE);
	sw_cfi_b_personality(b, SW_PE_pcrel | SW_PE_sdata4, g_personality);
	sw_cfi_b_lsda(b, SW_PE_udata4, LSDA);
	sw_cfi_b_advance(b, 1);
	sw_cfi_b_def_cfa_offset(b, 16);
	sw_cfi_b_offset(b, RBP, -16);
	sw_cfi_b_advance(b, 7);
	sw_cfi_b_def_cfa_offset(b, 8);
	sw_cfi_b_restore(b, RBP);
	sw_cfi_b_endproc(b);

	/* P5: signal frame. */
	sw_cfi_b_startproc(b, code + P5, P5_SIZE);
	sw_cfi_b_signal_frame(b);
	sw_cfi_b_def_cfa(b, RSP, 160);
	sw_cfi_b_offset(b, RIP, 40);
	sw_cfi_b_offset(b, RBX, 16);
	sw_cfi_b_register(b, R12, R13);
	sw_cfi_b_same_value(b, R14);
	sw_cfi_b_undefined(b, R15);
	sw_cfi_b_advance(b, 4);
	sw_cfi_b_def_cfa(b, RBP, -16);
	sw_cfi_b_advance(b, 8);
	sw_cfi_b_offset(b, 70, -16);
	sw_cfi_b_advance(b, 12);
	sw_cfi_b_restore(b, 70);
	sw_cfi_b_endproc(b);

	/* P6: plain CIE again, negative CFA offset. */
	sw_cfi_b_startproc(b, code + P6, P6_SIZE);
	sw_cfi_b_advance(b, 2);
	sw_cfi_b_def_cfa_offset(b, -8);
	sw_cfi_b_endproc(b);

	return sw_cfi_b_finish(b);
}

/* ---------------------------------------------------------------- parsing */

struct exp_reg {
	int reg;
	int kind;               /* enum sw_rule_kind; 0 ends the list */
	int64_t value;
};

struct exp_row {
	unsigned from, to;      /* code offsets [from, to) */
	int cfa_reg;
	int64_t cfa_off;
	struct exp_reg r[8];    /* rip defaults to OFFSET -8, others to UNSET */
};

#define OFF(reg, v) { reg, SW_RULE_OFFSET, v }

static int find_fde(const struct sw_cfi_section *sec, uint64_t pc, struct sw_fde *fde,
		    struct sw_cie *cie)
{
	return sw_cfi_find_fde_linear(sec, pc, fde, cie, NULL);
}

static void check_proc(const struct sw_cfi_section *sec, uint64_t start, uint64_t size,
		       const struct exp_row *rows, size_t nrows)
{
	struct sw_fde fde;
	struct sw_cie cie;
	int rc = find_fde(sec, start, &fde, &cie);
	CHECK_EQ(rc, 0);
	if (rc)
		return;
	CHECK_EQ(fde.pc_begin, start);
	CHECK_EQ(fde.pc_end, start + size);
	CHECK_EQ(cie.code_align, 1);
	CHECK_EQ(cie.data_align, -8);
	CHECK_EQ(cie.ra_reg, 16);
	CHECK_EQ(cie.version, 1);
	CHECK_EQ(cie.fde_enc, SW_PE_pcrel | SW_PE_sdata4);
	CHECK_EQ(fde.offset % 8, 0);
	CHECK_EQ((fde.end - fde.offset) % 8, 0);
	CHECK_EQ((cie.end - cie.offset) % 8, 0);
	/* The rows must cover [0, size) exactly, in order. */
	unsigned next = 0;
	for (size_t i = 0; i < nrows; i++) {
		CHECK_EQ(rows[i].from, next);
		next = rows[i].to;
	}
	CHECK_EQ(next, size);

	for (size_t i = 0; i < nrows; i++) {
		for (unsigned off = rows[i].from; off < rows[i].to; off++) {
			struct sw_cfa_row row;
			int failed = sw_test_failed_checks;
			rc = sw_cfa_row_at(sec, &cie, &fde, start + off, &row, NULL);
			CHECK_EQ(rc, 0);
			if (rc)
				return;
			CHECK_EQ(row.cfa_kind, SW_CFA_RULE_REG);
			CHECK_EQ(row.cfa_reg, rows[i].cfa_reg);
			CHECK_EQ(row.cfa_offset, rows[i].cfa_off);
			for (int c = 0; c < SW_CFI_COLS; c++) {
				int kind = c == RIP ? SW_RULE_OFFSET : SW_RULE_UNSET;
				int64_t value = c == RIP ? -8 : 0;
				for (const struct exp_reg *e = rows[i].r; e->kind; e++)
					if (e->reg == c) {
						kind = e->kind;
						value = e->value;
					}
				CHECK_EQ(row.regs[c].kind, kind);
				if (kind == SW_RULE_OFFSET || kind == SW_RULE_REGISTER)
					CHECK_EQ(row.regs[c].value, value);
			}
			if (sw_test_failed_checks != failed) {
				printf("    ^ procedure 0x%" PRIx64 " at offset %u (column %d..%d)\n",
				       start, off, 0, SW_CFI_COLS - 1);
				return;
			}
		}
	}
}

static const struct exp_row p1_rows[] = {
	{ 0, 1, RSP, 8, { { 0, 0, 0 } } },
	{ 1, 4, RSP, 16, { OFF(RBP, -16) } },
	{ 4, 5, RBP, 16, { OFF(RBP, -16) } },
	{ 5, 13, RBP, 16, { OFF(RBP, -16), OFF(RBX, -24) } },
	{ 13, 14, RBP, 16, { OFF(RBP, -16) } },
	{ 14, 15, RSP, 8, { { 0, 0, 0 } } },
	{ 15, 101, RBP, 16, { OFF(RBP, -16), OFF(RBX, -24) } },
	{ 101, 102, RBP, 16, { OFF(RBP, -16) } },
	{ 102, 103, RSP, 8, { { 0, 0, 0 } } },
};

static const struct exp_row p2_rows[] = {
	{ 0, 1, RSP, 8, { { 0, 0, 0 } } },
	{ 1, 3, RSP, 16, { OFF(RBX, -16) } },
	{ 3, 5, RSP, 24, { OFF(RBX, -16), OFF(R12, -24) } },
	{ 5, 7, RSP, 32, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32) } },
	{ 7, 9, RSP, 40, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32), OFF(R14, -40) } },
	{ 9, 16, RSP, 48, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32), OFF(R14, -40),
			    OFF(R15, -48) } },
	{ 16, 307, RSP, 4248, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32), OFF(R14, -40),
				OFF(R15, -48) } },
	{ 307, 309, RSP, 48, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32), OFF(R14, -40),
			       OFF(R15, -48) } },
	{ 309, 311, RSP, 40, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32), OFF(R14, -40) } },
	{ 311, 313, RSP, 32, { OFF(RBX, -16), OFF(R12, -24), OFF(R13, -32) } },
	{ 313, 315, RSP, 24, { OFF(RBX, -16), OFF(R12, -24) } },
	{ 315, 316, RSP, 16, { OFF(RBX, -16) } },
	{ 316, 317, RSP, 8, { { 0, 0, 0 } } },
};

static const struct exp_row p3_rows[] = {
	{ 0, 10, RSP, 8, { { 0, 0, 0 } } },
};

static const struct exp_row p4_rows[] = {
	{ 0, 1, RSP, 8, { { 0, 0, 0 } } },
	{ 1, 7, RSP, 16, { OFF(RBP, -16) } },
	{ 7, 8, RSP, 8, { { 0, 0, 0 } } },
};

#define P5_REGS OFF(RIP, 40), OFF(RBX, 16), { R12, SW_RULE_REGISTER, R13 }, \
	{ R14, SW_RULE_SAME, 0 }, { R15, SW_RULE_UNDEFINED, 0 }
static const struct exp_row p5_rows[] = {
	{ 0, 4, RSP, 160, { P5_REGS } },
	{ 4, 16, RBP, -16, { P5_REGS } },
};

static const struct exp_row p6_rows[] = {
	{ 0, 2, RSP, 8, { { 0, 0, 0 } } },
	{ 2, 4, RSP, -8, { { 0, 0, 0 } } },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t big[4096];

TEST(tables_at_every_offset)
{
	sw_cfi_builder_t b;
	CHECK_EQ(sw_cfi_b_init(&b, big, sizeof big, EH_ADDR, SW_CFI_B_PCREL4), 0);
	int size = build_all(&b, CODE);
	CHECK(size > 0);
	CHECK_EQ(sw_cfi_b_status(&b), 0);
	CHECK_EQ(sw_cfi_b_size(&b), size);
	if (size <= 0)
		return;
	CHECK_EQ(size % 8, 4);  /* entries padded to 8, then the terminator */

	struct sw_cfi_section sec;
	sw_cfi_section_init(&sec, big, (size_t)size, EH_ADDR, true, ".eh_frame");
	check_proc(&sec, CODE + P1, P1_SIZE, p1_rows, N(p1_rows));
	check_proc(&sec, CODE + P2, P2_SIZE, p2_rows, N(p2_rows));
	check_proc(&sec, CODE + P3, P3_SIZE, p3_rows, N(p3_rows));
	check_proc(&sec, CODE + P4, P4_SIZE, p4_rows, N(p4_rows));
	check_proc(&sec, CODE + P5, P5_SIZE, p5_rows, N(p5_rows));
	check_proc(&sec, CODE + P6, P6_SIZE, p6_rows, N(p6_rows));

	/* Entries: CIE(A) P1 P2 P3 CIE(zPLR) P4 CIE(zRS) P5 CIE(A) P6, zero. */
	static const int kinds[] = { SW_CFI_CIE, SW_CFI_FDE, SW_CFI_FDE, SW_CFI_FDE,
		SW_CFI_CIE, SW_CFI_FDE, SW_CFI_CIE, SW_CFI_FDE, SW_CFI_CIE, SW_CFI_FDE,
		SW_CFI_ZERO };
	static const char *const augs[] = { "zR", "zPLR", "zRS", "zR" };
	uint64_t off = 0;
	int ncie = 0;
	for (size_t i = 0; i < N(kinds); i++) {
		struct sw_cfi_entry ent;
		CHECK_EQ(sw_cfi_entry_at(&sec, off, &ent, NULL), 0);
		CHECK_EQ(ent.kind, kinds[i]);
		if (ent.kind == SW_CFI_CIE) {
			struct sw_cie cie;
			CHECK_EQ(sw_cfi_parse_cie(&sec, off, &cie, NULL), 0);
			CHECK_STR(cie.augmentation, augs[ncie]);
			CHECK_EQ(cie.signal_frame, ncie == 2);
			ncie++;
		}
		off = ent.end;
	}
	CHECK_EQ(off, (uint64_t)size);

	/* Personality and LSDA. */
	struct sw_fde fde;
	struct sw_cie cie;
	CHECK_EQ(find_fde(&sec, CODE + P4 + 3, &fde, &cie), 0);
	CHECK_EQ(cie.personality, PERSONALITY);
	CHECK_EQ(cie.personality_enc, SW_PE_pcrel | SW_PE_sdata4);
	CHECK_EQ(cie.lsda_enc, SW_PE_udata4);
	CHECK_EQ(fde.lsda, LSDA);
	CHECK_EQ(find_fde(&sec, CODE + P1, &fde, &cie), 0);
	CHECK_EQ(fde.lsda, 0);
	CHECK_EQ(cie.personality, 0);
	CHECK(!cie.signal_frame);
	CHECK_EQ(find_fde(&sec, CODE + P5 + 15, &fde, &cie), 0);
	CHECK(cie.signal_frame);
	/* Register 70 (above the tracked columns) is counted as dropped. */
	struct sw_cfa_row row;
	CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, CODE + P5 + 8, &row, NULL), 0);
	CHECK(row.dropped > 0);
	/* Outside every procedure. */
	CHECK_EQ(find_fde(&sec, CODE + P3 + P3_SIZE, &fde, &cie), SW_ENOTFOUND);

	/* Measuring mode gives the same size. */
	sw_cfi_builder_t m;
	CHECK_EQ(sw_cfi_b_init(&m, NULL, 0, EH_ADDR, SW_CFI_B_PCREL4), 0);
	CHECK_EQ(build_all(&m, CODE), size);
}

/* The other FDE encodings, and code more than 2 GiB away. */
TEST(pointer_modes)
{
	static const int modes[] = { SW_CFI_B_PCREL4, SW_CFI_B_PCREL8, SW_CFI_B_ABSPTR };
	static const uint8_t encs[] = { 0x1b, 0x1c, 0x00 };
	for (size_t i = 0; i < N(modes); i++) {
		for (int far = 0; far < 2; far++) {
			sw_cfi_builder_t b;
			uint64_t code = far ? 0x7f0000000000ull : CODE;
			CHECK_EQ(sw_cfi_b_init(&b, big, sizeof big, EH_ADDR, modes[i]), 0);
			int size = build_all(&b, code);
			if (far && modes[i] == SW_CFI_B_PCREL4) {
				CHECK_EQ(size, SW_EENCODING);
				continue;
			}
			CHECK(size > 0);
			if (size <= 0)
				continue;
			struct sw_cfi_section sec;
			sw_cfi_section_init(&sec, big, (size_t)size, EH_ADDR, true, ".eh_frame");
			struct sw_fde fde;
			struct sw_cie cie;
			CHECK_EQ(find_fde(&sec, code + P2 + 100, &fde, &cie), 0);
			CHECK_EQ(cie.fde_enc, encs[i]);
			CHECK_EQ(fde.pc_begin, code + P2);
			CHECK_EQ(fde.pc_end, code + P2 + P2_SIZE);
			struct sw_cfa_row row;
			CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, code + P2 + 100, &row, NULL), 0);
			CHECK_EQ(row.cfa_offset, 4248);
		}
	}
}

/* ---------------------------------------------------------------- errors */

static void begin(sw_cfi_builder_t *b)
{
	CHECK_EQ(sw_cfi_b_init(b, big, sizeof big, EH_ADDR, SW_CFI_B_PCREL4), 0);
}

/* After an error every call returns it. */
static void check_sticky(sw_cfi_builder_t *b, int err)
{
	CHECK_EQ(sw_cfi_b_status(b), err);
	CHECK_EQ(sw_cfi_b_startproc(b, 0x900000, 16), err);
	CHECK_EQ(sw_cfi_b_advance(b, 1), err);
	CHECK_EQ(sw_cfi_b_def_cfa(b, RSP, 16), err);
	CHECK_EQ(sw_cfi_b_def_cfa_offset(b, 16), err);
	CHECK_EQ(sw_cfi_b_def_cfa_register(b, RBP), err);
	CHECK_EQ(sw_cfi_b_adjust_cfa_offset(b, 8), err);
	CHECK_EQ(sw_cfi_b_offset(b, RBX, -16), err);
	CHECK_EQ(sw_cfi_b_rel_offset(b, RBX, 0), err);
	CHECK_EQ(sw_cfi_b_restore(b, RBX), err);
	CHECK_EQ(sw_cfi_b_undefined(b, RBX), err);
	CHECK_EQ(sw_cfi_b_same_value(b, RBX), err);
	CHECK_EQ(sw_cfi_b_register(b, RBX, R12), err);
	CHECK_EQ(sw_cfi_b_remember_state(b), err);
	CHECK_EQ(sw_cfi_b_restore_state(b), err);
	CHECK_EQ(sw_cfi_b_escape(b, "\0", 1), err);
	CHECK_EQ(sw_cfi_b_personality(b, 0, 0), err);
	CHECK_EQ(sw_cfi_b_lsda(b, 0, 0), err);
	CHECK_EQ(sw_cfi_b_signal_frame(b), err);
	CHECK_EQ(sw_cfi_b_endproc(b), err);
	CHECK_EQ(sw_cfi_b_finish(b), err);
	CHECK_EQ(sw_cfi_b_status(b), err);
}

TEST(errors_outside_procedure)
{
	sw_cfi_builder_t b;
	/* Every directive before startproc, and after endproc. */
	for (int after = 0; after < 2; after++) {
		for (int which = 0; which < 18; which++) {
			begin(&b);
			if (after) {
				CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
				CHECK_EQ(sw_cfi_b_endproc(&b), 0);
			}
			int rc = 0;
			switch (which) {
			case 0: rc = sw_cfi_b_advance(&b, 0); break;
			case 1: rc = sw_cfi_b_def_cfa(&b, RSP, 16); break;
			case 2: rc = sw_cfi_b_def_cfa_offset(&b, 16); break;
			case 3: rc = sw_cfi_b_def_cfa_register(&b, RBP); break;
			case 4: rc = sw_cfi_b_adjust_cfa_offset(&b, 8); break;
			case 5: rc = sw_cfi_b_offset(&b, RBX, -16); break;
			case 6: rc = sw_cfi_b_rel_offset(&b, RBX, 0); break;
			case 7: rc = sw_cfi_b_restore(&b, RBX); break;
			case 8: rc = sw_cfi_b_undefined(&b, RBX); break;
			case 9: rc = sw_cfi_b_same_value(&b, RBX); break;
			case 10: rc = sw_cfi_b_register(&b, RBX, R12); break;
			case 11: rc = sw_cfi_b_remember_state(&b); break;
			case 12: rc = sw_cfi_b_restore_state(&b); break;
			case 13: rc = sw_cfi_b_escape(&b, "\0", 1); break;
			case 14: rc = sw_cfi_b_personality(&b, 0, 0); break;
			case 15: rc = sw_cfi_b_lsda(&b, 0, 0); break;
			case 16: rc = sw_cfi_b_signal_frame(&b); break;
			case 17: rc = sw_cfi_b_endproc(&b); break;
			}
			CHECK_EQ(rc, SW_EINVAL);
			check_sticky(&b, SW_EINVAL);
		}
	}
	/* NULL builder, bad mode. */
	CHECK_EQ(sw_cfi_b_init(NULL, big, 1, 0, 0), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_init(&b, big, sizeof big, 0, 3), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	CHECK_EQ(sw_cfi_b_finish(NULL), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_offset(NULL, 0, 0), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_status(NULL), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_size(NULL), 0);
	/* startproc inside a procedure; finish inside a procedure. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE + 16, 16), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	CHECK_EQ(sw_cfi_b_finish(&b), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	/* finish twice; a call after finish. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_finish(&b), 4);
	CHECK_EQ(sw_cfi_b_finish(&b), SW_EINVAL);
	begin(&b);
	CHECK_EQ(sw_cfi_b_finish(&b), 4);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
}

TEST(errors_ranges)
{
	sw_cfi_builder_t b;
	/* Empty and wrapping ranges. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 0), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, UINT64_MAX - 4, 16), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	/* Overlaps with the previous and with an earlier procedure; adjacent
	 * ranges are fine. */
	static const struct { uint64_t start, size; int rc; } cases[] = {
		{ CODE + 0x10, 0x10, 0 },       /* [0x10, 0x20) */
		{ CODE + 0x40, 0x10, 0 },       /* [0x40, 0x50) */
		{ CODE + 0x48, 1, SW_EINVAL },  /* inside the previous */
		{ CODE + 0x1f, 2, SW_EINVAL },  /* tail of the first */
		{ CODE, 0x11, SW_EINVAL },      /* head of the first */
		{ CODE, 0x100, SW_EINVAL },     /* covers both */
		{ CODE + 0x20, 0x20, 0 },       /* exactly between */
		{ CODE, 0x10, 0 },              /* just before */
	};
	for (int mode = 0; mode < 3; mode++) {
		for (size_t i = 0; i < N(cases); i++) {
			begin(&b);
			if (mode == 1)
				sw_cfi_b_init(&b, big, sizeof big, EH_ADDR, SW_CFI_B_PCREL8);
			if (mode == 2)
				sw_cfi_b_init(&b, big, sizeof big, EH_ADDR, SW_CFI_B_ABSPTR);
			for (size_t j = 0; j < i; j++) {
				if (cases[j].rc)
					continue;
				CHECK_EQ(sw_cfi_b_startproc(&b, cases[j].start, cases[j].size), 0);
				/* with and without directives */
				if (j % 2)
					CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, 16), 0);
				CHECK_EQ(sw_cfi_b_endproc(&b), 0);
			}
			CHECK_EQ(sw_cfi_b_startproc(&b, cases[i].start, cases[i].size), cases[i].rc);
			if (cases[i].rc)
				check_sticky(&b, cases[i].rc);
		}
	}
	/* advance: backwards, to code_size, beyond; the same offset twice is fine. */
	static const uint64_t bad[] = { 4, 16, 17, UINT64_MAX };
	for (size_t i = 0; i < N(bad); i++) {
		begin(&b);
		CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
		CHECK_EQ(sw_cfi_b_advance(&b, 5), 0);
		CHECK_EQ(sw_cfi_b_advance(&b, 5), 0);
		CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, 16), 0);
		CHECK_EQ(sw_cfi_b_advance(&b, 15), 0);
		CHECK_EQ(sw_cfi_b_advance(&b, bad[i] == 4 ? 14 : bad[i]), SW_EINVAL);
		check_sticky(&b, SW_EINVAL);
	}
	/* Code farther than 2 GiB with pcrel|sdata4, and a 2 GiB procedure. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, EH_ADDR + 0x80000000ull + 64, 16), 0);
	CHECK_EQ(sw_cfi_b_endproc(&b), SW_EENCODING);
	check_sticky(&b, SW_EENCODING);
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 0x80000000ull), 0);
	CHECK_EQ(sw_cfi_b_offset(&b, RBX, -16), SW_EENCODING);
	check_sticky(&b, SW_EENCODING);
}

TEST(errors_directives)
{
	sw_cfi_builder_t b;
	/* restore_state without remember_state (also after a balanced pair). */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	CHECK_EQ(sw_cfi_b_restore_state(&b), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	CHECK_EQ(sw_cfi_b_remember_state(&b), 0);
	CHECK_EQ(sw_cfi_b_restore_state(&b), 0);
	CHECK_EQ(sw_cfi_b_restore_state(&b), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	/* remember_state nesting limit. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	for (int i = 0; i < SW_CFI_B_REMEMBER_MAX; i++)
		CHECK_EQ(sw_cfi_b_remember_state(&b), 0);
	CHECK_EQ(sw_cfi_b_remember_state(&b), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
	/* CIE properties after the first directive (and after endproc). */
	for (int which = 0; which < 3; which++) {
		begin(&b);
		CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
		CHECK_EQ(sw_cfi_b_advance(&b, 2), 0);  /* writes nothing: still allowed */
		CHECK_EQ(sw_cfi_b_signal_frame(&b), 0);
		CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, 16), 0);
		int rc = which == 0 ? sw_cfi_b_personality(&b, 0, 0)
		       : which == 1 ? sw_cfi_b_lsda(&b, 0, 0) : sw_cfi_b_signal_frame(&b);
		CHECK_EQ(rc, SW_EINVAL);
		check_sticky(&b, SW_EINVAL);
	}
	/* Unsupported encodings. */
	static const uint8_t encs[] = { 0x20, 0x30, 0x40, 0x50, 0x05, 0x0d, 0x1f };
	for (size_t i = 0; i < 2 * N(encs); i++) {
		begin(&b);
		CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
		int rc = i % 2 ? sw_cfi_b_lsda(&b, encs[i / 2], 0)
			       : sw_cfi_b_personality(&b, encs[i / 2], 0);
		CHECK_EQ(rc, SW_EENCODING);
		check_sticky(&b, SW_EENCODING);
	}
	/* A personality value that does not fit its encoding. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	CHECK_EQ(sw_cfi_b_personality(&b, SW_PE_udata2, 0x10000), 0);
	CHECK_EQ(sw_cfi_b_endproc(&b), SW_EENCODING);
	check_sticky(&b, SW_EENCODING);
	/* Register numbers. */
	for (int which = 0; which < 8; which++) {
		begin(&b);
		CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
		CHECK_EQ(sw_cfi_b_offset(&b, SW_CFI_B_MAX_REG, -8), 0);
		unsigned bad = SW_CFI_B_MAX_REG + 1;
		int rc = 0;
		switch (which) {
		case 0: rc = sw_cfi_b_def_cfa(&b, bad, 8); break;
		case 1: rc = sw_cfi_b_def_cfa_register(&b, bad); break;
		case 2: rc = sw_cfi_b_offset(&b, bad, -8); break;
		case 3: rc = sw_cfi_b_rel_offset(&b, bad, 0); break;
		case 4: rc = sw_cfi_b_restore(&b, bad); break;
		case 5: rc = sw_cfi_b_undefined(&b, bad); break;
		case 6: rc = sw_cfi_b_register(&b, RBX, bad); break;
		case 7: rc = sw_cfi_b_same_value(&b, bad); break;
		}
		CHECK_EQ(rc, SW_EBADREG);
		check_sticky(&b, SW_EBADREG);
	}
	/* Offsets that cannot be encoded with data alignment -8. */
	for (int which = 0; which < 6; which++) {
		begin(&b);
		CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
		int rc = 0;
		switch (which) {
		case 0: rc = sw_cfi_b_offset(&b, RBX, -12); break;
		case 1: rc = sw_cfi_b_offset(&b, RBX, 4); break;
		case 2: rc = sw_cfi_b_rel_offset(&b, RBX, 1); break;
		case 3: rc = sw_cfi_b_def_cfa(&b, RSP, -4); break;
		case 4: rc = sw_cfi_b_def_cfa_offset(&b, -12); break;
		case 5: rc = sw_cfi_b_adjust_cfa_offset(&b, INT64_MAX); break;
		}
		CHECK_EQ(rc, SW_EINVAL);
		check_sticky(&b, SW_EINVAL);
	}
	/* escape with NULL bytes. */
	begin(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, CODE, 16), 0);
	CHECK_EQ(sw_cfi_b_escape(&b, NULL, 0), 0);
	CHECK_EQ(sw_cfi_b_escape(&b, NULL, 1), SW_EINVAL);
	check_sticky(&b, SW_EINVAL);
}

TEST(buffer_too_small_every_length)
{
	sw_cfi_builder_t b;
	CHECK_EQ(sw_cfi_b_init(&b, NULL, 0, EH_ADDR, SW_CFI_B_PCREL4), 0);
	int full = build_all(&b, CODE);
	CHECK(full > 0 && (size_t)full + 64 <= sizeof big);
	if (full <= 0 || (size_t)full + 64 > sizeof big)
		return;
	static uint8_t ref[4096];
	CHECK_EQ(sw_cfi_b_init(&b, ref, (size_t)full, EH_ADDR, SW_CFI_B_PCREL4), 0);
	CHECK_EQ(build_all(&b, CODE), full);
	for (int len = 0; len <= full; len++) {
		memset(big, 0xa5, sizeof big);
		CHECK_EQ(sw_cfi_b_init(&b, big, (size_t)len, EH_ADDR, SW_CFI_B_PCREL4), 0);
		int rc = build_all(&b, CODE);
		int bad = 0;
		for (size_t i = (size_t)len; i < sizeof big; i++)
			bad |= big[i] != 0xa5;
		CHECK_EQ(bad, 0);
		if (len < full) {
			CHECK_EQ(rc, SW_ETRUNCATED);
			check_sticky(&b, SW_ETRUNCATED);
		} else {
			CHECK_EQ(rc, full);
			CHECK_EQ(memcmp(big, ref, (size_t)full), 0);
		}
		if (sw_test_failed_checks)
			break;
	}
	/* A NULL buffer with a size is measuring mode, never written. */
	CHECK_EQ(sw_cfi_b_init(&b, NULL, 100, EH_ADDR, SW_CFI_B_PCREL4), 0);
	CHECK_EQ(build_all(&b, CODE), full);
}

/* ---------------------------------------------------------------- bytes */

TEST(bytes_exact)
{
	/* .eh_frame at 0x1000, a procedure at 0x2000 of 8 bytes:
	 *   0: push rbp   1: mov rbp,rsp   4: ...   7: ret (after leave) */
	uint8_t buf[128];
	memset(buf, 0xa5, sizeof buf);
	sw_cfi_builder_t b;
	CHECK_EQ(sw_cfi_b_init(&b, buf, sizeof buf, 0x1000, SW_CFI_B_PCREL4), 0);
	CHECK_EQ(sw_cfi_b_startproc(&b, 0x2000, 8), 0);
	CHECK_EQ(sw_cfi_b_advance(&b, 1), 0);
	CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, 16), 0);
	CHECK_EQ(sw_cfi_b_offset(&b, RBP, -16), 0);
	CHECK_EQ(sw_cfi_b_advance(&b, 4), 0);
	CHECK_EQ(sw_cfi_b_def_cfa_register(&b, RBP), 0);
	CHECK_EQ(sw_cfi_b_advance(&b, 7), 0);
	CHECK_EQ(sw_cfi_b_def_cfa(&b, RSP, 8), 0);
	CHECK_EQ(sw_cfi_b_endproc(&b), 0);
	static const uint8_t expect[] = {
		/* CIE at 0: length 20, id 0, version 1, "zR", code align 1,
		 * data align -8 (sleb 0x78), RA column 16, aug data length 1,
		 * FDE encoding pcrel|sdata4; def_cfa r7 8; offset r16 1; 2 nops */
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 'z', 'R', 0x00, 0x01, 0x78, 0x10, 0x01,
		0x1b, 0x0c, 0x07, 0x08, 0x90, 0x01, 0x00, 0x00,
		/* FDE at 24: length 28, CIE pointer 28 (24 + 4 - 0),
		 * pc_begin at 0x1020: 0x2000 - 0x1020 = 0xfe0, range 8,
		 * aug data length 0 */
		0x1c, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00,
		0xe0, 0x0f, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
		0x00,
		0x41,                   /* advance_loc 1 */
		0x0e, 0x10,             /* def_cfa_offset 16 */
		0x86, 0x02,             /* offset r6 (rbp) at cfa-16 */
		0x43,                   /* advance_loc 3 */
		0x0d, 0x06,             /* def_cfa_register r6 */
		0x43,                   /* advance_loc 3 */
		0x0c, 0x07, 0x08,       /* def_cfa r7 8 */
		0x00, 0x00, 0x00,       /* nops to 32 bytes */
		/* terminator */
		0x00, 0x00, 0x00, 0x00,
	};
	CHECK_EQ(sw_cfi_b_finish(&b), sizeof expect);
	CHECK_EQ(memcmp(buf, expect, sizeof expect), 0);
	for (size_t i = 0; i < sizeof expect; i++)
		if (buf[i] != expect[i])
			printf("    byte %zu: 0x%02x, expected 0x%02x\n", i, buf[i], expect[i]);
	CHECK_EQ(buf[sizeof expect], 0xa5);
}

/* The instruction forms: advance_loc/1/2/4, extended and _sf forms. */
TEST(bytes_forms)
{
	uint8_t buf[256];
	sw_cfi_builder_t b;
	CHECK_EQ(sw_cfi_b_init(&b, buf, sizeof buf, 0x1000, SW_CFI_B_PCREL4), 0);
	CHECK_EQ(sw_cfi_b_startproc(&b, 0x100000, 0x200000), 0);
	CHECK_EQ(sw_cfi_b_advance(&b, 0x3f), 0);
	CHECK_EQ(sw_cfi_b_offset(&b, 63, -8), 0);               /* offset r63 1 */
	CHECK_EQ(sw_cfi_b_advance(&b, 0x3f + 0x40), 0);
	CHECK_EQ(sw_cfi_b_offset(&b, 64, -8), 0);               /* offset_extended */
	CHECK_EQ(sw_cfi_b_advance(&b, 0x7f + 0xff), 0);
	CHECK_EQ(sw_cfi_b_offset(&b, RBX, 8), 0);               /* offset_extended_sf */
	CHECK_EQ(sw_cfi_b_advance(&b, 0x17e + 0x100), 0);
	CHECK_EQ(sw_cfi_b_restore(&b, 63), 0);                  /* restore r63 */
	CHECK_EQ(sw_cfi_b_advance(&b, 0x27e + 0xffff), 0);
	CHECK_EQ(sw_cfi_b_restore(&b, 64), 0);                  /* restore_extended */
	CHECK_EQ(sw_cfi_b_advance(&b, 0x1027d + 0x10000), 0);
	CHECK_EQ(sw_cfi_b_def_cfa(&b, RBP, -16), 0);            /* def_cfa_sf */
	CHECK_EQ(sw_cfi_b_def_cfa(&b, 300, 200), 0);            /* def_cfa, ulebs */
	CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, -24), 0);          /* def_cfa_offset_sf */
	CHECK_EQ(sw_cfi_b_rel_offset(&b, RBX, 0), 0);           /* cfa-(-24) = +24 */
	static const uint8_t esc[] = { 0x2e, 0x10 };            /* GNU_args_size 16 */
	CHECK_EQ(sw_cfi_b_escape(&b, esc, sizeof esc), 0);
	CHECK_EQ(sw_cfi_b_endproc(&b), 0);
	int size = sw_cfi_b_finish(&b);
	CHECK(size > 0);
	static const uint8_t want[] = {
		0x7f,                           /* advance_loc 63 */
		0xbf, 0x01,                     /* offset r63 at cfa-8 */
		0x02, 0x40,                     /* advance_loc1 64 */
		0x05, 0x40, 0x01,               /* offset_extended r64 1 */
		0x02, 0xff,                     /* advance_loc1 255 */
		0x11, 0x03, 0x7f,               /* offset_extended_sf r3 -1 (cfa+8) */
		0x03, 0x00, 0x01,               /* advance_loc2 256 */
		0xff,                           /* restore r63 */
		0x03, 0xff, 0xff,               /* advance_loc2 65535 */
		0x06, 0x40,                     /* restore_extended r64 */
		0x04, 0x00, 0x00, 0x01, 0x00,   /* advance_loc4 65536 */
		0x12, 0x06, 0x02,               /* def_cfa_sf r6 2 (-16) */
		0x0c, 0xac, 0x02, 0xc8, 0x01,   /* def_cfa r300 200 */
		0x13, 0x03,                     /* def_cfa_offset_sf 3 (-24) */
		0x11, 0x03, 0x7d,               /* offset_extended_sf r3 -3 (cfa+24) */
		0x2e, 0x10,                     /* the escape */
	};
	struct sw_cfi_section sec;
	sw_cfi_section_init(&sec, buf, (size_t)(size > 0 ? size : 0), 0x1000, true, ".eh_frame");
	struct sw_fde fde;
	struct sw_cie cie;
	CHECK_EQ(find_fde(&sec, 0x100000, &fde, &cie), 0);
	CHECK(fde.insns_len >= sizeof want);
	CHECK(fde.insns_len < sizeof want + 8);
	if (fde.insns_len >= sizeof want) {
		CHECK_EQ(memcmp(fde.insns, want, sizeof want), 0);
		for (size_t i = 0; i < sizeof want; i++)
			if (fde.insns[i] != want[i])
				printf("    insn byte %zu: 0x%02x, expected 0x%02x\n", i,
				       fde.insns[i], want[i]);
		for (size_t i = sizeof want; i < fde.insns_len; i++)
			CHECK_EQ(fde.insns[i], SW_CFA_nop);
	}
	/* The engine agrees with the forms. */
	struct sw_cfa_row row;
	CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, 0x100000 + 0x7f, &row, NULL), 0);
	CHECK_EQ(row.regs[RBX].kind, SW_RULE_UNSET);
	CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, 0x100000 + 0x17e, &row, NULL), 0);
	CHECK_EQ(row.regs[RBX].kind, SW_RULE_OFFSET);
	CHECK_EQ(row.regs[RBX].value, 8);
	CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, 0x100000 + 0x2027d, &row, NULL), 0);
	CHECK_EQ(row.cfa_reg, 300);
	CHECK_EQ(row.cfa_offset, -24);
	CHECK_EQ(row.regs[RBX].value, 24);
	CHECK_EQ(row.args_size, 16);
	CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, 0x100000 + 0x2027c, &row, NULL), 0);
	CHECK_EQ(row.cfa_reg, RSP);
	CHECK_EQ(row.cfa_offset, 8);
}

SW_TEST_MAIN
