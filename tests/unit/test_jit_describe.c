/* Procedure descriptors to CFI (src/jit/describe/): every kind built
 * into a real buffer, parsed back by the CFI engine, and the row at every
 * code offset compared with a state computed independently, instruction
 * by instruction, from a model of the code; malformed descriptions and
 * random mutations. */
#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "dwarf/reader.h"
#include "jit/describe/describe.h"

#include "../harness.h"

#define RBX SW_REG_RBX
#define RBP SW_REG_RBP
#define RSP SW_REG_RSP
#define R12 SW_REG_R12
#define R13 SW_REG_R13
#define R14 SW_REG_R14
#define R15 SW_REG_R15
#define RIP SW_REG_RIP

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAXCODE 512

/* The code the procedures describe, and the .eh_frame bytes. */
static uint8_t code[1 << 16];
static uint8_t eh[1 << 14];

/* ------------------------------------------------------------ the model */

struct xrule {
	int kind;               /* SW_RULE_* */
	int64_t value;
};

struct xst {
	int cfa_reg;
	int64_t cfa_off;
	int64_t sp;             /* CFA - rsp */
	struct xrule r[SW_CFI_COLS];
};

static void xinit(struct xst *s)
{
	memset(s, 0, sizeof *s);
	s->cfa_reg = RSP;
	s->cfa_off = 8;
	s->sp = 8;
	s->r[RIP].kind = SW_RULE_OFFSET;
	s->r[RIP].value = -8;
}

struct cfg {
	int fp;
	unsigned n;
	uint8_t saved[6];
	uint32_t fs;
	unsigned nep;
	uint32_t body[4];       /* body bytes before each epilogue */
	uint32_t tail;          /* bytes after the last epilogue */
};

/* The code of a frame, executed in the head: the state at every byte
 * (the state at the start of the instruction containing it), the
 * equivalent flat dyn ops (one region), and the layout. */
struct model {
	struct xst st, body;
	uint32_t off;
	struct xst exp[MAXCODE];
	struct sw_jit_dyn_op ops[256];
	unsigned nops;
	uint32_t prologue_end, size;
	uint32_t ep_start[4], eps[4];
};

static unsigned plen(unsigned reg)
{
	return reg >= R12 ? 2 : 1;
}

static unsigned alen(uint32_t n)
{
	return n == 0 ? 0 : n <= 127 ? 4 : 7;
}

/* One instruction of `len` bytes; its effects follow the call. */
static void ins(struct model *m, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		m->exp[m->off + i] = m->st;
	m->off += len;
}

/* A dyn op for the instruction just modelled (its last byte). */
static void op_at(struct model *m, int tag, int reg, uint64_t val, int32_t when)
{
	struct sw_jit_dyn_op *o = &m->ops[m->nops++];
	o->tag = (int8_t)tag;
	o->qp = 0;
	o->reg = (int16_t)reg;
	o->when = when;
	o->val = val;
}

static void op(struct model *m, int tag, int reg, uint64_t val)
{
	op_at(m, tag, reg, val, (int32_t)m->off - 1);
}

enum { L_ENTRY = 1, L_BODY = 2 };

static void push(struct model *m, unsigned reg)
{
	ins(m, plen(reg));
	m->st.sp += 8;
	if (m->st.cfa_reg == RSP)
		m->st.cfa_off = m->st.sp;
	m->st.r[reg].kind = SW_RULE_OFFSET;
	m->st.r[reg].value = -m->st.sp;
	op(m, SW_DYN_ADD, RSP, (uint64_t)-8);
	op(m, SW_DYN_SPILL_SP_REL, (int)reg, 0);
}

static void adjust(struct model *m, int64_t by)        /* sub (by > 0) / add rsp */
{
	ins(m, alen((uint32_t)(by < 0 ? -by : by)));
	m->st.sp += by;
	if (m->st.cfa_reg == RSP)
		m->st.cfa_off = m->st.sp;
	op(m, SW_DYN_ADD, RSP, (uint64_t)-by);
}

static void nops(struct model *m, uint32_t n)
{
	ins(m, n);
}

static void gen(const struct cfg *c, struct model *m)
{
	bool leaf = !c->fp && !c->n && !c->fs;
	memset(m, 0, sizeof *m);
	xinit(&m->st);
	if (!leaf)
		op_at(m, SW_DYN_LABEL_STATE, 0, L_ENTRY, 0);
	if (c->fp) {
		push(m, RBP);
		ins(m, 3);
		m->st.cfa_reg = RBP;
		op(m, SW_DYN_SAVE_REG, RSP, RBP);
	}
	for (unsigned i = 0; i < c->n; i++)
		push(m, c->saved[i]);
	if (c->fs)
		adjust(m, c->fs);
	m->prologue_end = m->off;
	if (!leaf)
		op(m, SW_DYN_LABEL_STATE, 0, L_BODY);
	m->body = m->st;
	for (unsigned e = 0; e < c->nep; e++) {
		nops(m, c->body[e]);
		m->ep_start[e] = m->off;
		if (!c->fp) {
			if (c->fs)
				adjust(m, -(int64_t)c->fs);
			for (unsigned i = c->n; i-- > 0;) {
				unsigned reg = c->saved[i];
				ins(m, plen(reg));
				m->st.sp -= 8;
				m->st.cfa_off = m->st.sp;
				m->st.r[reg].kind = SW_RULE_UNSET;
				op(m, SW_DYN_ADD, RSP, 8);
				op(m, SW_DYN_SAVE_REG, (int)reg, reg);
			}
		} else {
			/* lea rsp,[rbp-8n]; pops; pop rbp -- or leave */
			if (c->n) {
				ins(m, 4);
				for (unsigned i = c->n; i-- > 0;)
					ins(m, plen(c->saved[i]));
			}
			ins(m, 1);
			xinit(&m->st);
			op(m, SW_DYN_COPY_STATE, 0, L_ENTRY);
		}
		m->eps[e] = m->off;
		ins(m, 1);      /* ret */
		m->st = m->body;
		if (!leaf)
			op(m, SW_DYN_COPY_STATE, 0, L_BODY);
	}
	nops(m, c->tail);
	m->size = m->off;
}

static void frame_proc(const struct cfg *c, const struct model *m, uint64_t start,
		       struct sw_jit_proc *p)
{
	memset(p, 0, sizeof *p);
	p->start = start;
	p->end = start + m->size;
	p->kind = SW_JIT_UNWIND_FRAME;
	p->u.frame.flags = c->fp ? SW_JIT_FRAME_FP : 0;
	p->u.frame.frame_size = c->fs;
	p->u.frame.nsaved = (uint8_t)c->n;
	memcpy(p->u.frame.saved, c->saved, c->n);
	p->u.frame.nepilogues = c->nep;
	p->u.frame.epilogues = m->eps;
}

/* ---------------------------------------------------------- dyn regions */

/* Region storage: regions are carved from one pool. */
static uint64_t pool[1 << 19];
static size_t pool_used;

static struct sw_jit_dyn_region *region(int32_t count, const struct sw_jit_dyn_op *ops,
					unsigned nops_, struct sw_jit_dyn_region *prev)
{
	size_t bytes = sizeof(struct sw_jit_dyn_region) + nops_ * sizeof(struct sw_jit_dyn_op);
	size_t words = (bytes + 7) / 8;
	if (pool_used + words > N(pool)) {
		printf("region pool exhausted\n");
		fflush(stdout);
		abort();
	}
	struct sw_jit_dyn_region *r = (struct sw_jit_dyn_region *)(void *)&pool[pool_used];
	pool_used += words;
	r->next = NULL;
	r->insn_count = count;
	r->op_count = nops_;
	if (nops_)
		memcpy(r->op, ops, nops_ * sizeof *ops);
	if (prev)
		prev->next = r;
	return r;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Shuffle ops, keeping ops with equal `when` in their array order. */
static void shuffle(struct sw_jit_dyn_op *ops, unsigned n)
{
	struct sw_jit_dyn_op orig[256];
	memcpy(orig, ops, n * sizeof *ops);
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(rnd() % i);
		struct sw_jit_dyn_op t = ops[i - 1];
		ops[i - 1] = ops[j];
		ops[j] = t;
	}
	/* each equal-when group gets back its original order in its slots */
	for (unsigned i = 0; i < n; i++) {
		if (ops[i].qp)
			continue;
		unsigned k = 0;
		for (unsigned j = 0; j < n; j++)
			if (orig[j].when == ops[i].when) {
				while (ops[k].when != ops[i].when || ops[k].qp)
					k++;
				ops[k] = orig[j];
				ops[k].qp = 1;  /* placed (qp is ignored) */
			}
	}
}

/* ------------------------------------------------------------- checking */

static int build(const struct sw_jit_proc *p, int *size)
{
	sw_cfi_builder_t b;
	sw_cfi_b_init(&b, eh, sizeof eh, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	int rc = sw_jit_describe(&b, p);
	if (rc)
		return rc;
	*size = sw_cfi_b_finish(&b);
	return *size < 0 ? *size : 0;
}

static long rows_checked;

/* The engine's row at every byte of p against exp[]. */
static void check_rows(const struct sw_jit_proc *p, int ehsize, const struct xst *exp,
		       const char *what)
{
	struct sw_cfi_section sec;
	struct sw_fde fde;
	struct sw_cie cie;
	sw_cfi_section_init(&sec, eh, (size_t)ehsize, (uint64_t)(uintptr_t)eh, true, ".eh_frame");
	int rc = sw_cfi_find_fde_linear(&sec, p->start, &fde, &cie, NULL);
	CHECK_EQ(rc, 0);
	if (rc)
		return;
	CHECK_EQ(fde.pc_begin, p->start);
	CHECK_EQ(fde.pc_end, p->end);
	for (uint64_t off = 0; off < p->end - p->start; off++) {
		struct sw_cfa_row row;
		int failed = sw_test_failed_checks;
		rc = sw_cfa_row_at(&sec, &cie, &fde, p->start + off, &row, NULL);
		CHECK_EQ(rc, 0);
		CHECK_EQ(row.cfa_kind, SW_CFA_RULE_REG);
		CHECK_EQ(row.cfa_reg, exp[off].cfa_reg);
		CHECK_EQ(row.cfa_offset, exp[off].cfa_off);
		for (int c = 0; c < SW_CFI_COLS; c++) {
			if (c == RSP)
				continue;
			CHECK_EQ(row.regs[c].kind, exp[off].r[c].kind);
			if (exp[off].r[c].kind == SW_RULE_OFFSET ||
			    exp[off].r[c].kind == SW_RULE_REGISTER)
				CHECK_EQ(row.regs[c].value, exp[off].r[c].value);
		}
		rows_checked++;
		if (sw_test_failed_checks != failed) {
			printf("    ^ %s: offset %" PRIu64 " of %" PRIu64 "\n", what, off,
			       p->end - p->start);
			return;
		}
	}
}

/* Describe p, then check every row. */
static void check_proc(const struct sw_jit_proc *p, const struct xst *exp, const char *what)
{
	int size = 0;
	int rc = build(p, &size);
	CHECK_EQ(rc, 0);
	if (rc) {
		printf("    ^ %s\n", what);
		return;
	}
	check_rows(p, size, exp, what);
}

/* --------------------------------------------------------- configurations */

static const uint8_t all_saved[5] = { RBX, R12, R13, R14, R15 };
static const uint32_t sizes[] = { 0, 8, 120, 128, 4104, 8200 };

/* Every subset of rbx/r12..r15 (in two push orders), every frame size,
 * with and without FP, one or three epilogues (with code after them or
 * not). */
static unsigned for_each_cfg(void (*fn)(const struct cfg *))
{
	unsigned count = 0;
	for (int fp = 0; fp < 2; fp++)
		for (unsigned mask = 0; mask < 32; mask++)
			for (size_t s = 0; s < N(sizes); s++)
				for (int shape = 0; shape < 3; shape++) {
					struct cfg c;
					memset(&c, 0, sizeof c);
					c.fp = fp;
					for (unsigned i = 0; i < 5; i++) {
						unsigned k = shape == 2 ? 4 - i : i;
						if (mask & (1u << k))
							c.saved[c.n++] = all_saved[k];
					}
					c.fs = sizes[s];
					if (shape == 0) {
						c.nep = 1;
						c.body[0] = 5;
					} else {
						/* first epilogue right after the prologue */
						c.nep = 3;
						c.body[0] = 0;
						c.body[1] = 3;
						c.body[2] = 1;
						c.tail = shape == 1 ? 4 : 0;
					}
					fn(&c);
					count++;
				}
	return count;
}

static struct model g_model;

static void frame_case(const struct cfg *c)
{
	struct sw_jit_proc p;
	gen(c, &g_model);
	frame_proc(c, &g_model, (uint64_t)(uintptr_t)code, &p);
	check_proc(&p, g_model.exp, "frame");
}

TEST(frame_every_offset)
{
	unsigned n = for_each_cfg(frame_case);
	CHECK_EQ(n, 2 * 32 * 6 * 3);
}

/* The same frames as one dyn region of flat ops (labels for the body and
 * entry states), sorted, shuffled, and with a negative insn_count. */
static int dyn_variant;

static void dyn_flat_case(const struct cfg *c)
{
	struct sw_jit_proc p;
	gen(c, &g_model);
	pool_used = 0;
	struct sw_jit_dyn_op ops[256];
	memcpy(ops, g_model.ops, g_model.nops * sizeof *ops);
	if (dyn_variant == 1)
		shuffle(ops, g_model.nops);
	int32_t count = dyn_variant == 2 ? -(int32_t)g_model.size : (int32_t)g_model.size;
	struct sw_jit_dyn_region *r = region(count, ops, g_model.nops, NULL);
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code;
	p.end = p.start + g_model.size;
	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = r;
	check_proc(&p, g_model.exp, dyn_variant == 1 ? "dyn shuffled" : "dyn flat");
}

TEST(dyn_flat_every_offset)
{
	for (dyn_variant = 0; dyn_variant < 3; dyn_variant++)
		for_each_cfg(dyn_flat_case);
}

/* Nested regions: one per prologue instruction, the epilogue as the last
 * region (negative insn_count) popping them; the body is not covered by
 * any region.  One region list serves two procedures of different
 * lengths. */
static struct sw_jit_dyn_region *nested_regions(const struct cfg *c, const struct model *m)
{
	struct sw_jit_dyn_region *head = NULL, *r = NULL;
	struct sw_jit_dyn_op o[4];
	unsigned frames = 0;
#define OP(i, t, rg, v, w) (o[i] = (struct sw_jit_dyn_op){ (int8_t)(t), 0, (int16_t)(rg), (w), (v) })
	if (c->fp) {
		OP(0, SW_DYN_ADD, RSP, (uint64_t)-8, 0);
		OP(1, SW_DYN_SPILL_SP_REL, RBP, 0, 0);
		head = r = region(1, o, 2, NULL);
		OP(0, SW_DYN_SAVE_REG, RSP, RBP, 2);
		r = region(3, o, 1, r);
		frames += 2;
	}
	for (unsigned i = 0; i < c->n; i++) {
		int32_t len = (int32_t)plen(c->saved[i]);
		OP(0, SW_DYN_ADD, RSP, (uint64_t)-8, len - 1);
		/* fp-relative when there is a frame pointer */
		if (c->fp)
			OP(1, SW_DYN_SPILL_FP_REL, c->saved[i], (uint64_t)(-8 * (int64_t)(i + 1)), len - 1);
		else
			OP(1, SW_DYN_SPILL_SP_REL, c->saved[i], 0, len - 1);
		r = region(len, o, 2, r);
		if (!head)
			head = r;
		frames++;
	}
	if (c->fs) {
		int32_t len = (int32_t)alen(c->fs);
		OP(0, SW_DYN_ADD, RSP, (uint64_t)-(int64_t)c->fs, len - 1);
		r = region(len, o, 1, r);
		if (!head)
			head = r;
		frames++;
	}
	/* the epilogue: from ep_start[0] to the end */
	int32_t eplen = (int32_t)(m->size - m->ep_start[0]);
	struct sw_jit_dyn_op e[8];
	unsigned ne = 0;
	if (c->fp) {
		e[ne++] = (struct sw_jit_dyn_op){ SW_DYN_POP_FRAMES, 0, 0, eplen - 2, frames };
	} else {
		int32_t w = 0;
		if (c->fs) {
			w += (int32_t)alen(c->fs);
			e[ne++] = (struct sw_jit_dyn_op){ SW_DYN_POP_FRAMES, 0, 0, w - 1, 1 };
		}
		for (unsigned i = c->n; i-- > 0;) {
			w += (int32_t)plen(c->saved[i]);
			e[ne++] = (struct sw_jit_dyn_op){ SW_DYN_POP_FRAMES, 0, 0, w - 1, 1 };
		}
	}
	r = region(-eplen, e, ne, r);
	if (!head)
		head = r;
#undef OP
	return head;
}

static void dyn_nested_case(const struct cfg *c)
{
	if (c->nep != 1)
		return;
	struct cfg c2 = *c;
	struct sw_jit_proc p;
	pool_used = 0;
	gen(c, &g_model);
	struct sw_jit_dyn_region *head = nested_regions(c, &g_model);
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code;
	p.end = p.start + g_model.size;
	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = head;
	check_proc(&p, g_model.exp, "dyn nested");
	/* the same list for a procedure with a longer body */
	c2.body[0] = 40;
	gen(&c2, &g_model);
	p.start = (uint64_t)(uintptr_t)code + 0x1000;
	p.end = p.start + g_model.size;
	check_proc(&p, g_model.exp, "dyn nested, shared list");
}

TEST(dyn_nested_pop_frames)
{
	for_each_cfg(dyn_nested_case);
}

/* Duplicated epilogues: the second is an ALIAS of the first, the third an
 * ALIAS of the second (an alias of an alias). */
static void dyn_alias_case(const struct cfg *c)
{
	if (c->nep != 3 || c->tail == 0)
		return;
	struct cfg c2 = *c;
	c2.body[1] = 6;
	c2.body[2] = 2;
	struct model *m = &g_model;
	gen(&c2, m);
	pool_used = 0;
	/* region A: up to the byte before the second epilogue */
	uint32_t a_end = m->ep_start[1] - 1;
	struct sw_jit_dyn_op ops[256];
	unsigned n = 0;
	for (unsigned i = 0; i < m->nops; i++)
		if ((uint32_t)m->ops[i].when < a_end)
			ops[n++] = m->ops[i];
	uint64_t start = (uint64_t)(uintptr_t)code + 0x2000;
	struct sw_jit_dyn_region *head = region((int32_t)a_end, ops, n, NULL);
	uint32_t eplen = m->eps[0] + 1 - m->ep_start[0];
	struct sw_jit_dyn_op al = { SW_DYN_ALIAS, 0, 0, 0, start + m->ep_start[0] };
	struct sw_jit_dyn_region *r = region((int32_t)eplen + 1, &al, 1, head);
	/* a gap (body), then the third copy's region */
	struct sw_jit_dyn_op none = { SW_DYN_STOP, 0, 0, 0, 0 };
	r = region((int32_t)(m->ep_start[2] - 1 - (m->eps[1] + 1)), &none, 1, r);
	al.val = start + m->ep_start[1];
	r = region((int32_t)eplen + 1, &al, 1, r);
	struct sw_jit_proc p;
	memset(&p, 0, sizeof p);
	p.start = start;
	p.end = start + m->size;
	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = head;
	check_proc(&p, m->exp, "dyn alias");
}

TEST(dyn_alias_duplicated_epilogue)
{
	for_each_cfg(dyn_alias_case);
}

/* Leaf: no frame, one ret in the middle and one at the end. */
TEST(frame_leaf)
{
	uint32_t eps[2] = { 3, 9 };
	struct sw_jit_proc p;
	struct xst exp[10];
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code;
	p.end = p.start + 10;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.nepilogues = 2;
	p.u.frame.epilogues = eps;
	for (int i = 0; i < 10; i++)
		xinit(&exp[i]);
	check_proc(&p, exp, "leaf");
	/* no epilogues at all, and a NULL region list */
	p.u.frame.nepilogues = 0;
	p.u.frame.epilogues = NULL;
	check_proc(&p, exp, "leaf without epilogues");
	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = NULL;
	check_proc(&p, exp, "dyn without regions");
}

/* A prologue that fills the whole procedure: its last effect has no byte. */
TEST(frame_prologue_to_the_end)
{
	struct sw_jit_proc p;
	struct xst exp[5];
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code;
	p.end = p.start + 5;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nsaved = 1;
	p.u.frame.saved[0] = RBX;
	xinit(&exp[0]);
	exp[1] = exp[0];
	exp[1].cfa_off = 16;
	exp[1].r[RBP] = (struct xrule){ SW_RULE_OFFSET, -16 };
	exp[2] = exp[3] = exp[1];
	exp[4] = exp[1];
	exp[4].cfa_reg = RBP;
	check_proc(&p, exp, "prologue to the end");
}

/* The CFI kind: the stream as given, after the builder's CIE. */
TEST(cfi_kind)
{
	static const uint8_t insns[] = {
		SW_CFA_advance_loc | 1, SW_CFA_def_cfa_offset, 16, SW_CFA_offset | RBP, 2,
		SW_CFA_advance_loc | 3, SW_CFA_def_cfa_register, RBP,
		SW_CFA_advance_loc | 1, SW_CFA_register, RBX, R12,
		SW_CFA_advance_loc | 5, SW_CFA_def_cfa, RSP, 8, SW_CFA_restore | RBP,
		SW_CFA_restore | RBX,
	};
	struct sw_jit_proc p;
	struct xst exp[12];
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code + 0x3000;
	p.end = p.start + 12;
	p.kind = SW_JIT_UNWIND_CFI;
	p.u.cfi.insns = insns;
	p.u.cfi.len = sizeof insns;
	xinit(&exp[0]);
	exp[1] = exp[0];
	exp[1].cfa_off = 16;
	exp[1].r[RBP] = (struct xrule){ SW_RULE_OFFSET, -16 };
	exp[2] = exp[3] = exp[1];
	exp[4] = exp[1];
	exp[4].cfa_reg = RBP;
	exp[5] = exp[4];
	exp[5].r[RBX] = (struct xrule){ SW_RULE_REGISTER, R12 };
	for (int i = 6; i < 10; i++)
		exp[i] = exp[5];
	xinit(&exp[10]);
	exp[11] = exp[10];
	check_proc(&p, exp, "cfi");
	/* empty stream: the CIE's row everywhere */
	p.u.cfi.insns = NULL;
	p.u.cfi.len = 0;
	for (int i = 0; i < 12; i++)
		xinit(&exp[i]);
	check_proc(&p, exp, "cfi empty");
}

/* Personality and LSDA as absolute pointers; CIEs shared when equal. */
TEST(personality_lsda)
{
	struct cfg c = { .fp = 1, .n = 1, .saved = { RBX }, .fs = 16, .nep = 1, .body = { 4 } };
	struct sw_jit_proc p;
	gen(&c, &g_model);
	frame_proc(&c, &g_model, (uint64_t)(uintptr_t)code + 0x4000, &p);
	p.personality = 0x7f0012345678u;
	p.lsda = 0x123456789abcu;
	int size = 0;
	CHECK_EQ(build(&p, &size), 0);
	check_rows(&p, size, g_model.exp, "personality");
	struct sw_cfi_section sec;
	struct sw_fde fde;
	struct sw_cie cie;
	sw_cfi_section_init(&sec, eh, (size_t)size, (uint64_t)(uintptr_t)eh, true, ".eh_frame");
	CHECK_EQ(sw_cfi_find_fde_linear(&sec, p.start + 3, &fde, &cie, NULL), 0);
	CHECK_STR(cie.augmentation, "zPLR");
	CHECK_EQ(cie.personality_enc, SW_PE_absptr);
	CHECK_EQ(cie.personality, 0x7f0012345678u);
	CHECK_EQ(cie.lsda_enc, SW_PE_absptr);
	CHECK_EQ(fde.lsda, 0x123456789abcu);

	/* only an LSDA; and two procedures in one builder */
	sw_cfi_builder_t b;
	sw_cfi_b_init(&b, eh, sizeof eh, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	p.personality = 0;
	CHECK_EQ(sw_jit_describe(&b, &p), 0);
	struct sw_jit_proc q = p;
	q.start = p.end + 16;
	q.end = q.start + g_model.size;
	q.lsda = 0;
	CHECK_EQ(sw_jit_describe(&b, &q), 0);
	/* overlapping the first: the builder's error */
	CHECK_EQ(sw_jit_describe(&b, &p), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_status(&b), SW_EINVAL);

	sw_cfi_b_init(&b, eh, sizeof eh, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	CHECK_EQ(sw_jit_describe(&b, &p), 0);
	CHECK_EQ(sw_jit_describe(&b, &q), 0);
	size = sw_cfi_b_finish(&b);
	CHECK(size > 0);
	sw_cfi_section_init(&sec, eh, (size_t)size, (uint64_t)(uintptr_t)eh, true, ".eh_frame");
	CHECK_EQ(sw_cfi_find_fde_linear(&sec, p.start, &fde, &cie, NULL), 0);
	CHECK_STR(cie.augmentation, "zLR");
	CHECK_EQ(fde.lsda, 0x123456789abcu);
	CHECK_EQ(sw_cfi_find_fde_linear(&sec, q.start, &fde, &cie, NULL), 0);
	CHECK_STR(cie.augmentation, "zR");
	CHECK_EQ(fde.lsda, 0);
	check_rows(&q, size, g_model.exp, "second procedure");

	/* a buffer too small: the builder's SW_ETRUNCATED */
	sw_cfi_b_init(&b, eh, 40, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	CHECK_EQ(sw_jit_describe(&b, &p), SW_ETRUNCATED);
}

/* LABEL/COPY with several states and relabelling; SAVE_REG to another
 * register; SAVE_REG to itself restores; an empty region's ops at its
 * start. */
TEST(dyn_misc_ops)
{
	struct sw_jit_dyn_op a[] = {
		{ SW_DYN_SAVE_REG, 0, RBX, 0, SW_REG_R11 },          /* from 1: rbx in r11 */
		{ SW_DYN_LABEL_STATE, 0, 0, 1, 7 },           /* label 7 = rbx in r11 */
		{ SW_DYN_ADD, 0, RSP, 2, (uint64_t)-24 },     /* from 3: cfa rsp+32 */
		{ SW_DYN_SPILL_SP_REL, 0, R12, 2, 8 },        /* r12 at rsp+8 = cfa-24 */
		{ SW_DYN_LABEL_STATE, 0, 0, 4, 7 },           /* relabel at 5 */
		{ SW_DYN_SAVE_REG, 0, RBX, 4, RBX },          /* from 5: rbx home */
		{ SW_DYN_COPY_STATE, 0, 0, 6, 7 },            /* from 7: the state from 5 */
	};
	struct sw_jit_dyn_op e[] = {
		{ SW_DYN_SPILL_SP_REL, 0, R13, 0, 0 },        /* from 9 (empty region at 9) */
	};
	pool_used = 0;
	struct sw_jit_dyn_region *r0 = region(9, a, N(a), NULL);
	region(0, e, 1, r0);
	struct sw_jit_proc p;
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code + 0x5000;
	p.end = p.start + 12;
	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = r0;
	struct xst exp[12];
	xinit(&exp[0]);
	exp[1] = exp[0];
	exp[1].r[RBX] = (struct xrule){ SW_RULE_REGISTER, 11 };
	exp[2] = exp[1];
	exp[3] = exp[2];
	exp[3].cfa_off = 32;
	exp[3].r[R12] = (struct xrule){ SW_RULE_OFFSET, -24 };
	exp[4] = exp[3];
	exp[5] = exp[4];
	exp[5].r[RBX].kind = SW_RULE_UNSET;
	exp[6] = exp[5];
	exp[7] = exp[4];        /* the labelled state: rbx still in r11 */
	exp[8] = exp[7];
	exp[9] = exp[8];
	exp[9].r[R13] = (struct xrule){ SW_RULE_OFFSET, -32 };
	exp[10] = exp[11] = exp[9];
	check_proc(&p, exp, "misc ops");
}

/* ---------------------------------------------------------- malformed */

static int expect_rc(const struct sw_jit_proc *p)
{
	sw_cfi_builder_t b;
	sw_cfi_b_init(&b, eh, 1024, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	int rc = sw_jit_describe(&b, p);
	/* a malformed description leaves the builder untouched */
	if (rc == SW_EINVAL) {
		CHECK_EQ(sw_cfi_b_size(&b), 0);
		CHECK_EQ(sw_cfi_b_status(&b), 0);
	}
	return rc;
}

static struct sw_jit_proc good_frame(uint32_t *eps)
{
	struct sw_jit_proc p;
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code;
	p.end = p.start + 64;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.frame_size = 32;
	p.u.frame.nsaved = 2;
	p.u.frame.saved[0] = RBX;
	p.u.frame.saved[1] = R12;
	/* prologue 4 + 1 + 2 + 4 = 11 bytes; FP epilogue: at least 4 bytes
	 * (pop r12, pop rbx, pop rbp) before the final instruction */
	eps[0] = 20;
	eps[1] = 40;
	p.u.frame.nepilogues = 2;
	p.u.frame.epilogues = eps;
	return p;
}

TEST(malformed_common_and_frame)
{
	uint32_t eps[4];
	struct sw_jit_proc p = good_frame(eps);
	sw_cfi_builder_t b;
	sw_cfi_b_init(&b, eh, 1024, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	CHECK_EQ(expect_rc(&p), 0);
	CHECK_EQ(sw_jit_describe(NULL, &p), SW_EINVAL);
	CHECK_EQ(sw_jit_describe(&b, NULL), SW_EINVAL);

#define BAD(stmt, code_)                                                  \
	do {                                                                  \
		p = good_frame(eps);                                              \
		stmt;                                                             \
		CHECK_EQ(expect_rc(&p), code_);                                   \
	} while (0)
	BAD(p.end = p.start, SW_EINVAL);
	BAD(p.end = p.start - 1, SW_EINVAL);
	BAD(p.end = p.start + (1ull << 32), SW_EINVAL);
	BAD(p.kind = 0, SW_EINVAL);
	BAD(p.kind = 4, SW_EINVAL);
	BAD(p.u.frame.flags = 2, SW_EINVAL);
	BAD(p.u.frame.nsaved = 7, SW_EINVAL);
	BAD(p.u.frame.saved[1] = RBP, SW_EINVAL);       /* rbp with FP */
	BAD(p.u.frame.saved[1] = SW_REG_RAX, SW_EINVAL);
	BAD(p.u.frame.saved[1] = RSP, SW_EINVAL);
	BAD(p.u.frame.saved[1] = RIP, SW_EINVAL);
	BAD(p.u.frame.saved[1] = SW_REG_R11, SW_EINVAL);
	BAD(p.u.frame.saved[1] = 200, SW_EINVAL);
	BAD(p.u.frame.saved[1] = RBX, SW_EINVAL);       /* duplicate */
	BAD(p.u.frame.frame_size = 0x80000000u, SW_EINVAL);
	BAD(p.u.frame.epilogues = NULL, SW_EINVAL);
	BAD(p.u.frame.nepilogues = SW_JIT_DESCRIBE_MAX_EPILOGUES + 1, SW_EINVAL);
	BAD(eps[1] = 20, SW_EINVAL);                    /* not increasing */
	BAD(eps[1] = 10, SW_EINVAL);
	BAD(eps[1] = 64, SW_EINVAL);                    /* outside */
	BAD(eps[1] = 0xffffffffu, SW_EINVAL);
	BAD(eps[0] = 5, SW_EINVAL);                     /* inside the prologue */
	BAD(eps[0] = 14, SW_EINVAL);                    /* its pops would overlap the prologue */
	BAD(eps[0] = 15, 0);                            /* pops right after the prologue */
	BAD(eps[1] = 24, SW_EINVAL);                    /* overlaps the first epilogue */
	BAD(eps[1] = 25, 0);
	BAD(p.end = p.start + 10, SW_EINVAL);           /* prologue longer than the code */
	/* without FP: add rsp,32 (4) + pops (3) before the final instruction */
	BAD((p.u.frame.flags = 0, eps[0] = 13), SW_EINVAL);
	BAD((p.u.frame.flags = 0, p.u.frame.frame_size = 0, eps[0] = 0), SW_EINVAL);
	BAD((p.u.frame.flags = 0, eps[0] = 7 + 4 + 3), 0);
	BAD((p.u.frame.flags = 0, p.u.frame.saved[1] = RBP), 0);  /* rbp as a plain register */
	BAD((p.u.frame.flags = 0, p.u.frame.nsaved = 6, p.u.frame.saved[1] = RBP,
	     p.u.frame.saved[2] = R13, p.u.frame.saved[3] = R14, p.u.frame.saved[4] = R15,
	     p.u.frame.saved[5] = R12, eps[0] = 28, eps[1] = 43), 0);
	BAD((p.u.frame.flags = 0, p.u.frame.nsaved = 6, p.u.frame.saved[1] = RBP,
	     p.u.frame.saved[2] = R13, p.u.frame.saved[3] = R14, p.u.frame.saved[4] = R15,
	     p.u.frame.saved[5] = R12, eps[0] = 27), SW_EINVAL);
	BAD((p.u.frame.flags = 0, p.u.frame.nsaved = 6, p.u.frame.saved[1] = RBP,
	     p.u.frame.saved[2] = R13, p.u.frame.saved[3] = R14, p.u.frame.saved[4] = R15,
	     p.u.frame.saved[5] = R12, eps[0] = 28, eps[1] = 42), SW_EINVAL);
	BAD((p.u.frame.flags = 0, p.u.frame.nsaved = 6, p.u.frame.saved[1] = RBP,
	     p.u.frame.saved[2] = R13, p.u.frame.saved[3] = R14, p.u.frame.saved[4] = R15,
	     p.u.frame.saved[5] = RBX), SW_EINVAL);
	BAD((p.kind = SW_JIT_UNWIND_CFI, p.u.cfi.insns = NULL, p.u.cfi.len = 1), SW_EINVAL);
#undef BAD
}

/* A dyn procedure of 64 bytes with the given regions. */
static struct sw_jit_proc dyn_proc(const struct sw_jit_dyn_region *r)
{
	struct sw_jit_proc p;
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code + 0x6000;
	p.end = p.start + 64;
	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = r;
	return p;
}

/* Check one region of ops against rc. */
static void dyn1(int32_t count, const struct sw_jit_dyn_op *ops, unsigned n, int rc, int line)
{
	pool_used = 0;
	struct sw_jit_proc p = dyn_proc(region(count, ops, n, NULL));
	int got = expect_rc(&p);
	if (got != rc) {
		printf("    line %d: rc %d, expected %d\n", line, got, rc);
		sw_test_failed_checks++;
	}
}
#define DYN1(count, rc, ...)                                               \
	do {                                                                  \
		const struct sw_jit_dyn_op ops_[] = { __VA_ARGS__ };              \
		dyn1(count, ops_, N(ops_), rc, __LINE__);                         \
	} while (0)
#define O(tag, reg, when, val) { (int8_t)(tag), 0, (int16_t)(reg), (when), (uint64_t)(val) }

TEST(malformed_dyn_ops)
{
	const int E = SW_EINVAL;
	uint64_t base = (uint64_t)(uintptr_t)code + 0x6000;
	DYN1(64, 0, O(SW_DYN_ADD, RSP, 0, -8), O(SW_DYN_SPILL_SP_REL, RBX, 0, 0));
	DYN1(64, E, O(9, 0, 0, 0));                                 /* bad tag */
	DYN1(64, E, O(-1, 0, 0, 0));
	DYN1(64, 0, O(SW_DYN_STOP, 0, 0, 0), O(9, 0, 0, 0));      /* after STOP: ignored */
	DYN1(64, E, O(SW_DYN_ADD, RSP, 64, -8));                  /* when outside */
	DYN1(64, 0, O(SW_DYN_ADD, RSP, -1, -8));                  /* -1: at the start (libunwind) */
	DYN1(64, E, O(SW_DYN_ADD, RSP, -2, -8));
	DYN1(0, 0, O(SW_DYN_LABEL_STATE, 0, -1, 1));
	DYN1(64, 0, O(SW_DYN_ADD, RSP, 63, -8));                  /* takes effect at the end */
	DYN1(0, E, O(SW_DYN_ADD, RSP, 1, -8));                    /* empty region: when 0 */
	DYN1(0, 0, O(SW_DYN_ADD, RSP, 0, -8));
	DYN1(65, E, O(SW_DYN_ADD, RSP, 0, -8));                   /* longer than the procedure */
	DYN1(-65, E, O(SW_DYN_ADD, RSP, 0, -8));
	DYN1(INT32_MIN, E, O(SW_DYN_ADD, RSP, 0, -8));
	DYN1(-64, 0, O(SW_DYN_ADD, RSP, 0, -8));
	DYN1(64, E, O(SW_DYN_SPILL_FP_REL, RBX, 0, -16));          /* no frame pointer */
	DYN1(64, 0, O(SW_DYN_SAVE_REG, RSP, 0, RBP), O(SW_DYN_SPILL_FP_REL, RBX, 0, -16));
	DYN1(64, E, O(SW_DYN_SAVE_REG, RSP, 0, RBP), O(SW_DYN_POP_FRAMES, 0, 1, 1),
	     O(SW_DYN_SPILL_FP_REL, RBX, 2, -16));                  /* FP popped */
	DYN1(64, E, O(SW_DYN_ADD, RBP, 0, 8));                     /* ADD to rbp */
	DYN1(64, E, O(SW_DYN_ADD, RSP, 0, -4), O(SW_DYN_SPILL_SP_REL, RBX, 0, 0)); /* cfa-12 */
	DYN1(64, E, O(SW_DYN_SPILL_SP_REL, RBX, 0, 4));
	DYN1(64, 0, O(SW_DYN_ADD, RSP, 0, -4));                    /* cfa rsp+12: fine */
	DYN1(64, E, O(SW_DYN_ADD, RSP, 0, 12));                    /* cfa rsp-4 */
	DYN1(64, 0, O(SW_DYN_ADD, RSP, 0, 16));                    /* cfa rsp-8 */
	DYN1(64, E, O(SW_DYN_ADD, RSP, 0, INT64_MIN));
	DYN1(64, E, O(SW_DYN_ADD, RSP, 0, (uint64_t)1 << 40));
	DYN1(64, E, O(SW_DYN_SPILL_SP_REL, RBX, 0, (uint64_t)1 << 40));
	DYN1(64, E, O(SW_DYN_SPILL_SP_REL, RBX, 0, INT64_MIN));
	DYN1(64, E, O(SW_DYN_SPILL_SP_REL, RSP, 0, 0));             /* rsp is the CFA */
	DYN1(64, E, O(SW_DYN_SPILL_SP_REL, 17, 0, 0));              /* untracked register */
	DYN1(64, E, O(SW_DYN_SPILL_SP_REL, -1, 0, 0));
	DYN1(64, 0, O(SW_DYN_SPILL_SP_REL, RIP, 0, 8));             /* return address moved */
	DYN1(64, E, O(SW_DYN_SAVE_REG, RSP, 0, RBX));               /* rsp only into rbp */
	DYN1(64, E, O(SW_DYN_SAVE_REG, RBX, 0, RSP));
	DYN1(64, E, O(SW_DYN_SAVE_REG, RBX, 0, 4096));
	DYN1(64, 0, O(SW_DYN_SAVE_REG, RBX, 0, 4095));
	/* labels */
	DYN1(64, E, O(SW_DYN_COPY_STATE, 0, 0, 5));                 /* unknown label */
	DYN1(64, 0, O(SW_DYN_LABEL_STATE, 0, 0, 1), O(SW_DYN_LABEL_STATE, 0, 0, 2),
	     O(SW_DYN_LABEL_STATE, 0, 0, 3), O(SW_DYN_LABEL_STATE, 0, 0, 4),
	     O(SW_DYN_LABEL_STATE, 0, 0, 5), O(SW_DYN_LABEL_STATE, 0, 0, 6),
	     O(SW_DYN_LABEL_STATE, 0, 0, 7), O(SW_DYN_LABEL_STATE, 0, 0, 8),
	     O(SW_DYN_LABEL_STATE, 0, 0, 1), O(SW_DYN_COPY_STATE, 0, 1, 8));
	DYN1(64, E, O(SW_DYN_LABEL_STATE, 0, 0, 1), O(SW_DYN_LABEL_STATE, 0, 0, 2),
	     O(SW_DYN_LABEL_STATE, 0, 0, 3), O(SW_DYN_LABEL_STATE, 0, 0, 4),
	     O(SW_DYN_LABEL_STATE, 0, 0, 5), O(SW_DYN_LABEL_STATE, 0, 0, 6),
	     O(SW_DYN_LABEL_STATE, 0, 0, 7), O(SW_DYN_LABEL_STATE, 0, 0, 8),
	     O(SW_DYN_LABEL_STATE, 0, 0, 9));                       /* a ninth label */
	/* frames */
	DYN1(64, E, O(SW_DYN_POP_FRAMES, 0, 0, 1));                 /* none open */
	DYN1(64, 0, O(SW_DYN_POP_FRAMES, 0, 0, 0));
	DYN1(64, 0, O(SW_DYN_ADD, RSP, 0, -8), O(SW_DYN_POP_FRAMES, 0, 1, 1));
	DYN1(64, E, O(SW_DYN_ADD, RSP, 0, -8), O(SW_DYN_POP_FRAMES, 0, 1, 2));
	DYN1(64, E, O(SW_DYN_ADD, RSP, 0, -8), O(SW_DYN_POP_FRAMES, 0, 1, UINT64_MAX));
	/* aliases */
	DYN1(64, 0, O(SW_DYN_ALIAS, 0, 40, base + 10));
	DYN1(64, 0, O(SW_DYN_ALIAS, 0, 40, base + 18));             /* [18,41) -> [41,64) */
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base + 19));             /* target overlaps */
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base + 41));             /* not before */
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base + 50));
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base - 1));              /* outside */
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base + 64));
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, 0));
	DYN1(64, 0, O(SW_DYN_ALIAS, 0, 63, base + 10));             /* covers nothing */
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base + 10), O(SW_DYN_ADD, RSP, 50, -8)); /* after */
	DYN1(64, E, O(SW_DYN_ALIAS, 0, 40, base + 10), O(SW_DYN_ALIAS, 0, 50, base + 10));
	DYN1(64, 0, O(SW_DYN_ADD, RSP, 40, -8), O(SW_DYN_ALIAS, 0, 40, base + 10));
}

TEST(malformed_dyn_regions)
{
	const int E = SW_EINVAL;
	struct sw_jit_dyn_op add = O(SW_DYN_ADD, RSP, 0, -8);
	struct sw_jit_dyn_op stop = O(SW_DYN_STOP, 0, 0, 0);
	struct sw_jit_proc p;

	/* negative insn_count not in the last region */
	pool_used = 0;
	struct sw_jit_dyn_region *a = region(-8, &add, 1, NULL);
	region(8, &add, 1, a);
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
	/* negative last region overlapping the previous */
	pool_used = 0;
	a = region(60, &add, 1, NULL);
	region(-8, &add, 1, a);
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
	a->insn_count = 56;
	CHECK_EQ(expect_rc(&p), 0);
	/* regions together longer than the procedure */
	pool_used = 0;
	a = region(40, &add, 1, NULL);
	region(25, &add, 1, a);
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
	/* a cycle: empty regions pointing at themselves, or a loop of two */
	pool_used = 0;
	a = region(0, &stop, 1, NULL);
	a->next = a;
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
	pool_used = 0;
	a = region(0, &add, 1, NULL);
	struct sw_jit_dyn_region *b = region(0, &add, 1, a);
	b->next = a;
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
	/* too many regions: 4096 empty ones are fine, 4097 are not */
	pool_used = 0;
	a = b = region(0, &stop, 0, NULL);
	for (int i = 1; i < SW_JIT_DESCRIBE_MAX_REGIONS; i++)
		b = region(0, &stop, 0, b);
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), 0);
	region(0, &stop, 0, b);
	CHECK_EQ(expect_rc(&p), E);
	/* too many ops */
	static struct sw_jit_dyn_op many[SW_JIT_DESCRIBE_MAX_OPS + 1];
	for (size_t i = 0; i < N(many); i++)
		many[i] = (struct sw_jit_dyn_op)O(SW_DYN_LABEL_STATE, 0, (int32_t)(i / 1025), 1);
	pool_used = 0;
	a = region(64, many, SW_JIT_DESCRIBE_MAX_OPS + 1, NULL);
	a->op_count--;
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), 0);     /* sorted: cheap */
	a->op_count++;
	CHECK_EQ(expect_rc(&p), E);
	/* split over two regions: the total counts */
	pool_used = 0;
	a = region(32, many, SW_JIT_DESCRIBE_MAX_OPS / 2, NULL);
	region(32, many, SW_JIT_DESCRIBE_MAX_OPS / 2 + 1, a);
	for (unsigned i = 0; i < a->op_count; i++)
		a->op[i].when %= 32;
	for (unsigned i = 0; i < a->next->op_count; i++)
		a->next->op[i].when %= 32;
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
	/* a large unsorted region within the work bound, and one beyond */
	for (size_t i = 0; i < 4096; i++)
		many[i] = (struct sw_jit_dyn_op)O(SW_DYN_LABEL_STATE, 0, (int32_t)(63 - i % 64), 1);
	pool_used = 0;
	a = region(64, many, 4096, NULL);
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), 0);
	for (size_t i = 0; i < N(many); i++)
		many[i] = (struct sw_jit_dyn_op)O(SW_DYN_LABEL_STATE, 0, (int32_t)(63 - i % 64), 1);
	pool_used = 0;
	a = region(64, many, SW_JIT_DESCRIBE_MAX_OPS, NULL);
	p = dyn_proc(a);
	CHECK_EQ(expect_rc(&p), E);
}

/* Frames nested deeper than SW_JIT_DESCRIBE_MAX_FRAMES: the innermost 8
 * can be popped, the 9th's start state is gone. */
TEST(malformed_dyn_deep_frames)
{
	struct sw_jit_dyn_op push = O(SW_DYN_ADD, RSP, 0, -8);
	pool_used = 0;
	struct sw_jit_dyn_region *head = NULL, *r = NULL;
	for (int i = 0; i < 10; i++) {
		r = region(1, &push, 1, r);
		if (!head)
			head = r;
	}
	struct sw_jit_dyn_op pop = O(SW_DYN_POP_FRAMES, 0, 0, 8);
	struct sw_jit_dyn_region *last = region(1, &pop, 1, r);
	struct sw_jit_proc p = dyn_proc(head);
	CHECK_EQ(expect_rc(&p), 0);
	last->op[0].val = 9;
	CHECK_EQ(expect_rc(&p), SW_EINVAL);
	/* 8 then 1 more: the 9th from the top was overwritten too */
	last->op[0].val = 8;
	struct sw_jit_dyn_op pop1 = O(SW_DYN_POP_FRAMES, 0, 0, 1);
	region(1, &pop1, 1, last);
	CHECK_EQ(expect_rc(&p), SW_EINVAL);
	/* the 9th alias covering bytes, then the 17th */
	pool_used = 0;
	head = r = region(2, NULL, 0, NULL);
	struct sw_jit_dyn_op al = O(SW_DYN_ALIAS, 0, 0, p.start);
	for (int i = 0; i < SW_JIT_DESCRIBE_MAX_ALIASES; i++)
		r = region(2, &al, 1, r);
	p.u.dyn = head;
	CHECK_EQ(expect_rc(&p), 0);
	region(2, &al, 1, r);
	CHECK_EQ(expect_rc(&p), SW_EINVAL);
}

/* Frame states survive LABEL/COPY: two epilogues popping the same frames. */
TEST(dyn_copy_restores_frames)
{
	struct sw_jit_dyn_op pro[] = {
		O(SW_DYN_ADD, RSP, 0, -8), O(SW_DYN_SPILL_SP_REL, RBX, 0, 0),
	};
	struct sw_jit_dyn_op body[] = {
		O(SW_DYN_LABEL_STATE, 0, 0, 3),
		O(SW_DYN_POP_FRAMES, 0, 4, 1),          /* pop rbx at 5, ret at 6 */
		O(SW_DYN_COPY_STATE, 0, 5, 3),          /* body again from 7 */
		O(SW_DYN_POP_FRAMES, 0, 8, 1),          /* pop rbx at 9, ret at 10 */
	};
	pool_used = 0;
	struct sw_jit_dyn_region *head = region(1, pro, N(pro), NULL);
	region(-11, body, N(body), head);
	struct sw_jit_proc p = dyn_proc(head);
	p.end = p.start + 12;
	struct xst exp[12];
	xinit(&exp[0]);
	for (int i = 1; i < 12; i++) {
		xinit(&exp[i]);
		exp[i].cfa_off = 16;
		exp[i].r[RBX] = (struct xrule){ SW_RULE_OFFSET, -16 };
	}
	xinit(&exp[6]);
	xinit(&exp[10]);
	xinit(&exp[11]);
	check_proc(&p, exp, "copy restores frames");
	/* a frame pushed between the pop and the copy reuses the slot */
	struct sw_jit_dyn_op body2[] = {
		O(SW_DYN_LABEL_STATE, 0, 0, 3),
		O(SW_DYN_POP_FRAMES, 0, 4, 1),
	};
	struct sw_jit_dyn_op other[] = {
		O(SW_DYN_ADD, RSP, 0, -8), O(SW_DYN_COPY_STATE, 0, 1, 3),
		O(SW_DYN_POP_FRAMES, 0, 2, 2),
	};
	pool_used = 0;
	head = region(1, pro, N(pro), NULL);
	struct sw_jit_dyn_region *r = region(5, body2, N(body2), head);
	region(4, other, N(other), r);
	p = dyn_proc(head);
	CHECK_EQ(expect_rc(&p), SW_EINVAL);
	/* even popping only the labelled frame: its slot was reused */
	r->next->op[2].val = 1;
	CHECK_EQ(expect_rc(&p), SW_EINVAL);
}

/* ------------------------------------------------------- robustness */

/* Every prefix of the op arrays and random mutations of valid dyn
 * descriptions: never a crash (run under ASan by make check-san); a
 * description accepted gives CFI the engine parses at every offset. */
static long fuzz_runs, fuzz_ok;

static void fuzz_one(struct sw_jit_proc *p)
{
	int size = 0;
	fuzz_runs++;
	int rc = build(p, &size);
	CHECK(rc <= 0);
	if (rc)
		return;
	fuzz_ok++;
	struct sw_cfi_section sec;
	struct sw_fde fde;
	struct sw_cie cie;
	sw_cfi_section_init(&sec, eh, (size_t)size, (uint64_t)(uintptr_t)eh, true, ".eh_frame");
	CHECK_EQ(sw_cfi_find_fde_linear(&sec, p->start, &fde, &cie, NULL), 0);
	for (uint64_t off = 0; off < p->end - p->start; off++) {
		struct sw_cfa_row row;
		CHECK_EQ(sw_cfa_row_at(&sec, &cie, &fde, p->start + off, &row, NULL), 0);
	}
}

static void mutate(struct sw_jit_dyn_region *r)
{
	unsigned k = (unsigned)(rnd() % 8);
	if (k == 0) {
		r->insn_count = (int32_t)(rnd() % 3 == 0 ? -(int64_t)(rnd() % 80) : (int64_t)(rnd() % 80));
		return;
	}
	if (!r->op_count)
		return;
	struct sw_jit_dyn_op *o = &r->op[rnd() % r->op_count];
	switch (k) {
	case 1: o->tag = (int8_t)(rnd() % 11 - 1); break;
	case 2: o->reg = (int16_t)(rnd() % 20 - 1); break;
	case 3: o->when = (int32_t)(rnd() % 90) - 5; break;
	case 4: o->val = rnd() % 3 ? (uint64_t)((int64_t)(rnd() % 64) - 32) * 8 : rnd(); break;
	case 5: o->val = rnd() % 10; break;
	case 6: o->tag = SW_DYN_ALIAS; o->val = (uint64_t)(uintptr_t)code + 0x7000 + rnd() % 80; break;
	default: r->op_count = (uint32_t)(rnd() % (r->op_count + 1)); break;
	}
}

static struct sw_jit_dyn_region *copy_list(const struct sw_jit_dyn_region *r)
{
	struct sw_jit_dyn_region *head = NULL, *prev = NULL;
	for (; r; r = r->next) {
		prev = region(r->insn_count, r->op, r->op_count, prev);
		if (!head)
			head = prev;
	}
	return head;
}

static void fuzz_cfg(const struct cfg *c)
{
	if (c->fs > 200 || c->n % 2)     /* a sample is enough */
		return;
	struct model *m = &g_model;
	gen(c, m);
	struct sw_jit_proc p;
	memset(&p, 0, sizeof p);
	p.start = (uint64_t)(uintptr_t)code + 0x7000;
	p.end = p.start + m->size;
	p.kind = SW_JIT_UNWIND_DYN;
	/* every prefix of the flat op array */
	for (unsigned n = 0; n <= m->nops; n++) {
		pool_used = 0;
		p.u.dyn = region((int32_t)m->size, m->ops, n, NULL);
		fuzz_one(&p);
	}
	/* random mutations of the flat and the nested forms */
	for (int i = 0; i < 40; i++) {
		pool_used = 0;
		struct sw_jit_dyn_region *src = i % 2 ? region((int32_t)m->size, m->ops, m->nops, NULL)
			: (c->nep == 1 ? nested_regions(c, m)
			   : region((int32_t)m->size, m->ops, m->nops, NULL));
		struct sw_jit_dyn_region *head = copy_list(src);
		int nmut = 1 + (int)(rnd() % 4);
		for (int j = 0; j < nmut; j++) {
			struct sw_jit_dyn_region *r = head;
			for (unsigned skip = (unsigned)(rnd() % 6); skip && r->next; skip--)
				r = r->next;
			mutate(r);
		}
		p.u.dyn = head;
		fuzz_one(&p);
	}
}

TEST(fuzz_prefixes_and_mutations)
{
	for_each_cfg(fuzz_cfg);
	printf("    %ld descriptions run, %ld accepted\n", fuzz_runs, fuzz_ok);
	CHECK(fuzz_runs > 1000);
	CHECK(fuzz_ok > 100);
}

TEST(zz_summary)
{
	printf("    %ld rows checked\n", rows_checked);
}

SW_TEST_MAIN
