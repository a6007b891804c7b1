/*
 * emit — the x86-64 code emitter of the JIT tests (see emit.h for the
 * generated layout and the API).
 *
 * While it writes the instructions, emit_fn records the frame state after
 * every instruction that changes it as a list of rows (CFA rule and the
 * CFA-relative save slot of each register), plus remember/restore marks
 * around the first epilogue when there is a second one.  The hand-written
 * CFI (struct sw_jit_cfi) and the .eh_frame bytes (CFI builder) are both
 * produced from those rows by one generator with two back ends; the
 * libunwind-dynamic regions and the standard-frame descriptor are written
 * directly from the instruction offsets.
 */
#define _GNU_SOURCE
#include "emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------------ buffer */

int emit_buf_init(struct emit_buf *b, size_t size, uint64_t hint)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	size = (size + page - 1) & ~(page - 1);
	p = mmap((void *)(uintptr_t)hint, size, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		memset(b, 0, sizeof(*b));
		return -1;
	}
	b->base = p;
	b->size = size;
	b->used = 0;
	return 0;
}

void emit_buf_free(struct emit_buf *b)
{
	if (b->base)
		munmap(b->base, b->size);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ rows */

/* The frame state between two instructions. */
struct state {
	int cfa_reg;                  /* SW_REG_RSP or SW_REG_RBP */
	int32_t cfa_off;              /* CFA = cfa_reg + cfa_off */
	int32_t slot[SW_REG_COUNT];   /* saved at CFA + slot; 0: not saved (rip implied) */
};

enum row_kind { ROW_STATE, ROW_REMEMBER, ROW_RESTORE };

struct row {
	uint32_t off;                 /* code offset from which it applies */
	int kind;                     /* enum row_kind */
	struct state st;              /* ROW_STATE: the new state */
};

#define MAX_ROWS 40

/* Everything emit_fn tracks while generating one function. */
struct gen {
	uint8_t *code;                /* start of the function */
	size_t cap;                   /* bytes available */
	uint32_t len;                 /* bytes written */
	int overflow;
	struct state st;              /* the current state */
	int32_t depth;                /* CFA - rsp */
	struct row rows[MAX_ROWS];
	int nrows;
};

static void put(struct gen *g, const void *bytes, size_t n)
{
	if (g->len + n > g->cap) {
		g->overflow = 1;
		return;
	}
	memcpy(g->code + g->len, bytes, n);
	g->len += (uint32_t)n;
}

static void put1(struct gen *g, uint8_t a)
{
	put(g, &a, 1);
}

static void put4(struct gen *g, uint32_t v)
{
	put(g, &v, 4);   /* little-endian host */
}

static void put8(struct gen *g, uint64_t v)
{
	put(g, &v, 8);
}

static void row_add(struct gen *g, int kind)
{
	if (g->nrows >= MAX_ROWS) {
		g->overflow = 1;
		return;
	}
	g->rows[g->nrows].off = g->len;
	g->rows[g->nrows].kind = kind;
	g->rows[g->nrows].st = g->st;
	g->nrows++;
}

/* r8..r15 need a REX.B prefix; the low three bits go into the opcode. */
static int is_ext(int reg)
{
	return reg >= SW_REG_R8;
}

/* x86 register encoding (low 3 bits) of a DWARF register number. */
static uint8_t hw(int reg)
{
	static const uint8_t map[16] = { 0, 2, 1, 3, 6, 7, 5, 4, 0, 1, 2, 3, 4, 5, 6, 7 };
	return map[reg];
}

static void push_reg(struct gen *g, int reg)
{
	if (is_ext(reg))
		put1(g, 0x41);
	put1(g, (uint8_t)(0x50 + hw(reg)));
}

static void pop_reg(struct gen *g, int reg)
{
	if (is_ext(reg))
		put1(g, 0x41);
	put1(g, (uint8_t)(0x58 + hw(reg)));
}

static void mov_imm64(struct gen *g, int reg, uint64_t v)
{
	put1(g, is_ext(reg) ? 0x49 : 0x48);
	put1(g, (uint8_t)(0xb8 + hw(reg)));
	put8(g, v);
}

/* sub/add rsp, n: 48 83 ec/c4 ib when n <= 127, else 48 81 ec/c4 id */
static void rsp_arith(struct gen *g, int add, uint32_t n)
{
	uint8_t modrm = add ? 0xc4 : 0xec;

	if (n <= 127) {
		uint8_t i[4] = { 0x48, 0x83, modrm, (uint8_t)n };
		put(g, i, 4);
	} else {
		uint8_t i[3] = { 0x48, 0x81, modrm };
		put(g, i, 3);
		put4(g, n);
	}
}

/* ------------------------------------------------------------------ dyn */

struct dynb {
	struct sw_jit_dyn_region *head, **tail;
	int err;
};

static struct sw_jit_dyn_region *dyn_region(struct dynb *d, int32_t insn_count, uint32_t max_ops)
{
	struct sw_jit_dyn_region *r;

	r = calloc(1, sizeof(*r) + max_ops * sizeof(r->op[0]));
	if (!r) {
		d->err = 1;
		return NULL;
	}
	r->insn_count = insn_count;
	*d->tail = r;
	d->tail = &r->next;
	return r;
}

static void dyn_op(struct sw_jit_dyn_region *r, int tag, int reg, int32_t when, uint64_t val)
{
	if (!r)
		return;
	struct sw_jit_dyn_op *op = &r->op[r->op_count++];
	op->tag = (int8_t)tag;
	op->qp = 0;
	op->reg = (int16_t)reg;
	op->when = when;
	op->val = val;
}

static void dyn_free(struct sw_jit_dyn_region *r)
{
	while (r) {
		struct sw_jit_dyn_region *next = r->next;
		free(r);
		r = next;
	}
}

/* ------------------------------------------------------------------ CFI */

/* A CFI back end: hand-written bytes or the CFI builder. */
struct cfi_out {
	sw_cfi_builder_t *b;          /* builder back end when not NULL */
	uint8_t *buf;                 /* hand back end */
	size_t cap, len;
	uint32_t loc;                 /* hand back end: current location */
	int err;
};

static void h_byte(struct cfi_out *o, uint8_t v)
{
	if (o->len >= o->cap) {
		o->err = 1;
		return;
	}
	o->buf[o->len++] = v;
}

static void h_uleb(struct cfi_out *o, uint64_t v)
{
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		h_byte(o, (uint8_t)(byte | (v ? 0x80 : 0)));
	} while (v);
}

static void c_advance(struct cfi_out *o, uint32_t off)
{
	if (o->b) {
		if (sw_cfi_b_advance(o->b, off) != 0)
			o->err = 1;
		return;
	}
	uint32_t delta = off - o->loc;
	if (off < o->loc) {
		o->err = 1;
		return;
	}
	if (delta == 0)
		return;
	if (delta < 64) {
		h_byte(o, (uint8_t)(0x40 | delta));          /* DW_CFA_advance_loc */
	} else if (delta < 256) {
		h_byte(o, 0x02);                              /* DW_CFA_advance_loc1 */
		h_byte(o, (uint8_t)delta);
	} else if (delta < 65536) {
		h_byte(o, 0x03);                              /* DW_CFA_advance_loc2 */
		h_byte(o, (uint8_t)delta);
		h_byte(o, (uint8_t)(delta >> 8));
	} else {
		h_byte(o, 0x04);                              /* DW_CFA_advance_loc4 */
		for (int i = 0; i < 4; i++)
			h_byte(o, (uint8_t)(delta >> (8 * i)));
	}
	o->loc = off;
}

static void c_simple(struct cfi_out *o, uint8_t op)
{
	int rc = 0;

	if (!o->b)
		h_byte(o, op);
	else if (op == 0x0a)
		rc = sw_cfi_b_remember_state(o->b);
	else
		rc = sw_cfi_b_restore_state(o->b);
	if (rc)
		o->err = 1;
}

/* Emit the directives that turn state `a` into `b`. */
static void c_diff(struct cfi_out *o, const struct state *a, const struct state *s)
{
	int rc = 0;

	if (a->cfa_reg != s->cfa_reg && a->cfa_off != s->cfa_off) {
		if (o->b) {
			rc |= sw_cfi_b_def_cfa(o->b, (unsigned)s->cfa_reg, s->cfa_off);
		} else {
			h_byte(o, 0x0c);                      /* DW_CFA_def_cfa */
			h_uleb(o, (uint64_t)s->cfa_reg);
			h_uleb(o, (uint64_t)s->cfa_off);
		}
	} else if (a->cfa_reg != s->cfa_reg) {
		if (o->b) {
			rc |= sw_cfi_b_def_cfa_register(o->b, (unsigned)s->cfa_reg);
		} else {
			h_byte(o, 0x0d);                      /* DW_CFA_def_cfa_register */
			h_uleb(o, (uint64_t)s->cfa_reg);
		}
	} else if (a->cfa_off != s->cfa_off) {
		if (o->b) {
			rc |= sw_cfi_b_def_cfa_offset(o->b, s->cfa_off);
		} else {
			h_byte(o, 0x0e);                      /* DW_CFA_def_cfa_offset */
			h_uleb(o, (uint64_t)s->cfa_off);
		}
	}
	for (int r = 0; r < SW_REG_RIP; r++) {
		if (a->slot[r] == s->slot[r])
			continue;
		if (s->slot[r] == 0) {
			if (o->b)
				rc |= sw_cfi_b_restore(o->b, (unsigned)r);
			else
				h_byte(o, (uint8_t)(0xc0 | r));   /* DW_CFA_restore */
		} else {
			if (o->b) {
				rc |= sw_cfi_b_offset(o->b, (unsigned)r, s->slot[r]);
			} else {
				h_byte(o, (uint8_t)(0x80 | r));   /* DW_CFA_offset, factored by -8 */
				h_uleb(o, (uint64_t)(-s->slot[r] / 8));
			}
		}
	}
	if (rc)
		o->err = 1;
}

static void initial_state(struct state *s)
{
	memset(s, 0, sizeof(*s));
	s->cfa_reg = SW_REG_RSP;
	s->cfa_off = 8;
}

/* The directives of every row (the procedure is already started). */
static void cfi_rows(struct cfi_out *o, const struct row *rows, int nrows)
{
	struct state cur, saved;

	initial_state(&cur);
	saved = cur;
	for (int i = 0; i < nrows; i++) {
		c_advance(o, rows[i].off);
		switch (rows[i].kind) {
		case ROW_STATE:
			c_diff(o, &cur, &rows[i].st);
			cur = rows[i].st;
			break;
		case ROW_REMEMBER:
			c_simple(o, 0x0a);                    /* DW_CFA_remember_state */
			saved = cur;
			break;
		case ROW_RESTORE:
			c_simple(o, 0x0b);                    /* DW_CFA_restore_state */
			cur = saved;
			break;
		}
	}
}

/* ------------------------------------------------------------------ rows of a function */

/*
 * The rows live only while emit_fn runs: the hand-written CFI is made from
 * them, and emit_eh_frame replays that CFI through the CFI builder.
 */
static int valid_spec(const struct emit_spec *s)
{
	unsigned seen = 0;

	if (s->nsaved > EMIT_MAX_SAVED || s->call < EMIT_LEAF || s->call > EMIT_CALL_JIT)
		return 0;
	if (s->frame_size >= 0x7ffffff0u)
		return 0;
	for (int i = 0; i < s->nsaved; i++) {
		int r = s->saved[i];
		int ok = r == SW_REG_RBX || (r >= SW_REG_R12 && r <= SW_REG_R15) ||
			 (r == SW_REG_RBP && !s->fp);
		if (!ok || (seen & (1u << r)))
			return 0;
		seen |= 1u << r;
	}
	return 1;
}

/* the epilogue: rows and dyn ops (region r, offsets relative to `base`) */
static void gen_epilogue(struct gen *g, const struct emit_spec *s, int second,
			 struct sw_jit_dyn_region *r, uint32_t base, int use_dyn_ops)
{
	int n = s->nsaved;

	if (!s->fp) {
		if (s->frame_size) {
			rsp_arith(g, 1, s->frame_size);
			g->st.cfa_off -= (int32_t)s->frame_size;
			g->depth -= (int32_t)s->frame_size;
			row_add(g, ROW_STATE);
			if (use_dyn_ops)
				dyn_op(r, SW_DYN_ADD, SW_REG_RSP, (int32_t)(g->len - 1 - base),
				       (uint64_t)(int64_t)s->frame_size);
		}
		for (int i = n - 1; i >= 0; i--) {
			pop_reg(g, s->saved[i]);
			g->st.cfa_off -= 8;
			g->depth -= 8;
			g->st.slot[s->saved[i]] = 0;
			row_add(g, ROW_STATE);
			if (use_dyn_ops)
				dyn_op(r, SW_DYN_ADD, SW_REG_RSP, (int32_t)(g->len - 1 - base), 8);
		}
	} else {
		if (n == 0 && !second) {
			put1(g, 0xc9);                        /* leave */
		} else {
			if (!second) {
				/* lea rsp, [rbp - 8n]: 48 8d 65 disp8 */
				uint8_t i[4] = { 0x48, 0x8d, 0x65, (uint8_t)(int8_t)(-8 * n) };
				put(g, i, 4);
			} else if (s->frame_size) {
				rsp_arith(g, 1, s->frame_size);
			}
			for (int i = n - 1; i >= 0; i--) {
				pop_reg(g, s->saved[i]);
				g->st.slot[s->saved[i]] = 0;
				row_add(g, ROW_STATE);
			}
			put1(g, 0x5d);                        /* pop rbp */
		}
		g->st.cfa_reg = SW_REG_RSP;
		g->st.cfa_off = 8;
		g->st.slot[SW_REG_RBP] = 0;
		g->depth = 8;
		row_add(g, ROW_STATE);
		dyn_op(r, SW_DYN_POP_FRAMES, 0, (int32_t)(g->len - 1 - base), 1);
	}
	put1(g, 0xc3);                                        /* ret */
}

int emit_fn(struct emit_buf *b, const struct emit_spec *spec, struct emit_fn *out)
{
	struct emit_spec s = *spec;
	struct gen *g;
	struct dynb d;
	size_t off;

	memset(out, 0, sizeof(*out));
	if (!b->base || !valid_spec(&s))
		return -1;
	int pushes = (s.fp ? 1 : 0) + s.nsaved;
	s.frame_size = (s.frame_size + 7) & ~7u;
	if (s.call != EMIT_LEAF && (8 * (1 + pushes) + s.frame_size) % 16 != 0)
		s.frame_size += 8;
	snprintf(out->name, sizeof(out->name), "%s", spec->name ? spec->name : "");
	s.name = out->name;

	off = (b->used + 15) & ~(size_t)15;
	if (off >= b->size)
		return -1;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	g->code = b->base + off;
	g->cap = b->size - off;
	initial_state(&g->st);
	g->depth = 8;
	uint64_t start = (uint64_t)(uintptr_t)g->code;
	for (int r = 0; r < SW_REG_COUNT; r++)
		out->tag[r] = 0;
	for (int i = 0; i < s.nsaved; i++)
		out->tag[s.saved[i]] = 0x5eed000000000000ull | ((start & 0xffffffffffull) << 8) |
				       (uint64_t)s.saved[i];

	d.head = NULL;
	d.tail = &d.head;
	d.err = 0;

	/* ---- prologue */
	struct sw_jit_dyn_region *pr = NULL;
	uint32_t prologue_ops = 2 + 1 + 2 * (uint32_t)s.nsaved + 1;
	if (pushes || s.frame_size) {
		/* insn_count patched below */
		pr = dyn_region(&d, 0, prologue_ops);
	}
	if (s.fp) {
		put1(g, 0x55);                                /* push rbp */
		g->st.cfa_off = 16;
		g->st.slot[SW_REG_RBP] = -16;
		g->depth = 16;
		row_add(g, ROW_STATE);
		dyn_op(pr, SW_DYN_ADD, SW_REG_RSP, 0, (uint64_t)-8);
		dyn_op(pr, SW_DYN_SPILL_SP_REL, SW_REG_RBP, 0, 0);
		uint8_t mov[3] = { 0x48, 0x89, 0xe5 };        /* mov rbp, rsp */
		put(g, mov, 3);
		g->st.cfa_reg = SW_REG_RBP;
		row_add(g, ROW_STATE);
		dyn_op(pr, SW_DYN_SAVE_REG, SW_REG_RSP, (int32_t)g->len - 1, SW_REG_RBP);
	}
	for (int i = 0; i < s.nsaved; i++) {
		int reg = s.saved[i];
		push_reg(g, reg);
		g->depth += 8;
		if (!s.fp)
			g->st.cfa_off += 8;
		g->st.slot[reg] = -g->depth;
		row_add(g, ROW_STATE);
		dyn_op(pr, SW_DYN_ADD, SW_REG_RSP, (int32_t)g->len - 1, (uint64_t)-8);
		if (s.fp)   /* rbp = CFA - 16 */
			dyn_op(pr, SW_DYN_SPILL_FP_REL, reg, (int32_t)g->len - 1,
			       (uint64_t)(int64_t)(16 - g->depth));
		else
			dyn_op(pr, SW_DYN_SPILL_SP_REL, reg, (int32_t)g->len - 1, 0);
	}
	if (s.frame_size) {
		rsp_arith(g, 0, s.frame_size);
		g->depth += (int32_t)s.frame_size;
		if (!s.fp) {
			g->st.cfa_off += (int32_t)s.frame_size;
			row_add(g, ROW_STATE);
		}
		dyn_op(pr, SW_DYN_ADD, SW_REG_RSP, (int32_t)g->len - 1,
		       (uint64_t)-(int64_t)s.frame_size);
	}
	if (pr)
		pr->insn_count = (int32_t)g->len;
	out->body = g->len;

	/* ---- body */
	if (s.frame_size > 4096 && s.frame_size <= (1u << 20)) {
		/* mov [rsp + off], rsp on every page of the frame, top-down */
		for (int64_t o = (int64_t)s.frame_size - 8; o >= 0; o -= 4096) {
			uint8_t i[4] = { 0x48, 0x89, 0xa4, 0x24 };
			put(g, i, 4);
			put4(g, (uint32_t)o);
		}
	}
	for (int i = 0; i < s.nsaved; i++)
		mov_imm64(g, s.saved[i], out->tag[s.saved[i]]);
	if (s.spin) {
		put1(g, 0xb9);                                /* mov ecx, imm32 */
		put4(g, s.spin);
		uint8_t loop[4] = { 0xff, 0xc9, 0x75, 0xfc }; /* 1: dec ecx; jnz 1b */
		put(g, loop, 4);
	}
	switch (s.call) {
	case EMIT_CALL_C:
		mov_imm64(g, SW_REG_RAX, s.target);
		put1(g, 0xff);                                /* call rax */
		put1(g, 0xd0);
		out->call_ret = g->len;
		break;
	case EMIT_CALL_JIT: {
		int64_t rel = (int64_t)s.target - (int64_t)(start + g->len + 5);
		if (rel < INT32_MIN || rel > INT32_MAX) {
			g->overflow = 1;
			break;
		}
		put1(g, 0xe8);                                /* call rel32 */
		put4(g, (uint32_t)(int32_t)rel);
		out->call_ret = g->len;
		break;
	}
	default: {
		uint8_t mov[3] = { 0x48, 0x89, 0xf8 };        /* mov rax, rdi */
		put(g, mov, 3);
		break;
	}
	}
	uint32_t jcc = 0;
	if (s.two_epilogues) {
		uint8_t t[4] = { 0xa8, 0x01, 0x0f, 0x85 };    /* test al, 1; jnz rel32 */
		put(g, t, 4);
		jcc = g->len;
		put4(g, 0);
	}

	/* ---- epilogues */
	dyn_region(&d, (int32_t)(g->len - out->body), 0);   /* the body: no ops */
	struct state body_state = g->st;
	int32_t body_depth = g->depth;
	out->nepilogues = s.two_epilogues ? 2 : 1;

	if (s.two_epilogues) {
		struct sw_jit_dyn_region *lab = dyn_region(&d, 0, 1);
		dyn_op(lab, SW_DYN_LABEL_STATE, 0, 0, 1);
		row_add(g, ROW_REMEMBER);
	}
	out->epilogue_start[0] = g->len;
	struct sw_jit_dyn_region *e1 = dyn_region(&d, 0, (uint32_t)s.nsaved + 2);
	gen_epilogue(g, &s, 0, e1, g->len, 1);
	out->epilogues[0] = g->len - 1;
	if (e1)
		e1->insn_count = (int32_t)(g->len - out->epilogue_start[0]);

	if (s.two_epilogues) {
		uint32_t e2s = g->len;
		uint32_t rel = e2s - (jcc + 4);
		memcpy(g->code + jcc, &rel, 4);
		struct sw_jit_dyn_region *cp = dyn_region(&d, 0, 1);
		dyn_op(cp, SW_DYN_COPY_STATE, 0, 0, 1);
		g->st = body_state;
		g->depth = body_depth;
		row_add(g, ROW_RESTORE);
		out->epilogue_start[1] = e2s;
		/* without fp the second epilogue repeats the first one's bytes:
		 * described by SW_DYN_ALIAS at when = 0 (byte 0 has the body
		 * state from COPY_STATE; from byte 1 = the alias point on, byte
		 * 1 + k has the state of epilogue 1's byte 1 + k, so val is the
		 * address of epilogue 1's byte 1); with fp by its own ops, in a
		 * last region with a negative length */
		struct sw_jit_dyn_region *e2 = dyn_region(&d, 0, (uint32_t)s.nsaved + 2);
		gen_epilogue(g, &s, 1, e2, e2s, s.fp);
		out->epilogues[1] = g->len - 1;
		if (e2) {
			int32_t len = (int32_t)(g->len - e2s);
			e2->insn_count = s.fp ? -len : len;
			if (!s.fp)
				dyn_op(e2, SW_DYN_ALIAS, 0, 0, start + out->epilogue_start[0] + 1);
		}
	}

	if (g->overflow || d.err) {
		dyn_free(d.head);
		free(g);
		memset(out, 0, sizeof(*out));
		return -1;
	}

	out->spec = s;
	out->start = start;
	out->end = start + g->len;
	out->dyn = d.head;

	out->frame.flags = s.fp ? SW_JIT_FRAME_FP : 0;
	out->frame.frame_size = s.frame_size;
	out->frame.nsaved = s.nsaved;
	memcpy(out->frame.saved, s.saved, s.nsaved);
	out->frame.nepilogues = out->nepilogues;
	out->frame.epilogues = out->epilogues;

	struct cfi_out o = { .buf = out->cfi, .cap = sizeof(out->cfi) };
	cfi_rows(&o, g->rows, g->nrows);
	out->cfi_len = o.len;
	if (o.err) {
		dyn_free(d.head);
		free(g);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	b->used = off + g->len;
	__builtin___clear_cache((char *)g->code, (char *)g->code + g->len);
	free(g);
	return 0;
}

void emit_fn_free(struct emit_fn *f)
{
	dyn_free(f->dyn);
	f->dyn = NULL;
}

int emit_relocate(struct emit_fn *f, int64_t delta)
{
	f->start += (uint64_t)delta;
	f->end += (uint64_t)delta;
	for (struct sw_jit_dyn_region *r = f->dyn; r; r = r->next)
		for (uint32_t i = 0; i < r->op_count; i++)
			if (r->op[i].tag == SW_DYN_ALIAS)
				r->op[i].val += (uint64_t)delta;
	return 0;
}

int emit_proc(const struct emit_fn *f, int kind, struct sw_jit_proc *out)
{
	memset(out, 0, sizeof(*out));
	out->start = f->start;
	out->end = f->end;
	out->name = f->name;
	out->kind = kind;
	switch (kind) {
	case SW_JIT_UNWIND_FRAME:
		out->u.frame = f->frame;
		out->u.frame.epilogues = f->epilogues;
		return 0;
	case SW_JIT_UNWIND_CFI:
		out->u.cfi.insns = f->cfi;
		out->u.cfi.len = f->cfi_len;
		return 0;
	case SW_JIT_UNWIND_DYN:
		out->u.dyn = f->dyn;
		return 0;
	default:
		return -1;
	}
}

int emit_eh_frame(const struct emit_fn *const *fns, size_t n, void *buf, size_t size,
		  uint64_t eh_addr, int ptr_mode)
{
	sw_cfi_builder_t b;
	int rc = sw_cfi_b_init(&b, buf, size, eh_addr, ptr_mode);

	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct emit_fn *f = fns[i];
		struct cfi_out o = { .b = &b };

		rc = sw_cfi_b_startproc(&b, f->start, f->end - f->start);
		if (rc)
			return rc;
		/* replay the hand-written CFI through the builder: decode our own
		 * byte stream (only the opcodes c_diff/c_simple/c_advance write) */
		const uint8_t *p = f->cfi, *e = f->cfi + f->cfi_len;
		uint32_t loc = 0;
		while (p < e && !o.err) {
			uint8_t op = *p++;
			uint64_t a = 0, c = 0;
			int shift;
#define ULEB(v)                                                          \
	do {                                                             \
		v = 0;                                                   \
		shift = 0;                                               \
		while (p < e) {                                          \
			uint8_t by = *p++;                               \
			v |= (uint64_t)(by & 0x7f) << shift;             \
			shift += 7;                                      \
			if (!(by & 0x80))                                \
				break;                                   \
		}                                                        \
	} while (0)
			switch (op & 0xc0) {
			case 0x40:
				loc += op & 0x3f;
				c_advance(&o, loc);
				continue;
			case 0x80:
				ULEB(a);
				if (sw_cfi_b_offset(&b, op & 0x3f, -8 * (int64_t)a))
					o.err = 1;
				continue;
			case 0xc0:
				if (sw_cfi_b_restore(&b, op & 0x3f))
					o.err = 1;
				continue;
			}
			switch (op) {
			case 0x02:
				loc += p[0];
				p += 1;
				c_advance(&o, loc);
				break;
			case 0x03:
				loc += (uint32_t)p[0] | (uint32_t)p[1] << 8;
				p += 2;
				c_advance(&o, loc);
				break;
			case 0x04:
				loc += (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				       (uint32_t)p[3] << 24;
				p += 4;
				c_advance(&o, loc);
				break;
			case 0x0a:
			case 0x0b:
				c_simple(&o, op);
				break;
			case 0x0c:
				ULEB(a);
				ULEB(c);
				if (sw_cfi_b_def_cfa(&b, (unsigned)a, (int64_t)c))
					o.err = 1;
				break;
			case 0x0d:
				ULEB(a);
				if (sw_cfi_b_def_cfa_register(&b, (unsigned)a))
					o.err = 1;
				break;
			case 0x0e:
				ULEB(a);
				if (sw_cfi_b_def_cfa_offset(&b, (int64_t)a))
					o.err = 1;
				break;
			default:
				o.err = 1;
				break;
			}
#undef ULEB
		}
		if (o.err)
			return sw_cfi_b_status(&b) ? sw_cfi_b_status(&b) : SW_EINVAL;
		rc = sw_cfi_b_endproc(&b);
		if (rc)
			return rc;
	}
	return sw_cfi_b_finish(&b);
}

/* ------------------------------------------------------------------ shapes */

void emit_shape(size_t i, const char *name, struct emit_spec *out)
{
	static const struct {
		int fp;
		uint8_t nsaved, saved[EMIT_MAX_SAVED];
		uint32_t frame_size;
		int two;
	} shapes[EMIT_SHAPES] = {
		{ 1, 1, { SW_REG_RBX }, 8, 0 },
		{ 0, 3, { SW_REG_R12, SW_REG_RBX, SW_REG_R15 }, 120, 1 },
		{ 1, 0, { 0 }, 0, 1 },
		{ 0, 0, { 0 }, 0, 0 },
		{ 0, 5, { SW_REG_RBX, SW_REG_R12, SW_REG_R13, SW_REG_R14, SW_REG_R15 }, 8200, 0 },
		{ 1, 5, { SW_REG_R15, SW_REG_R14, SW_REG_R13, SW_REG_R12, SW_REG_RBX }, 1000, 1 },
		{ 0, 2, { SW_REG_RBP, SW_REG_RBX }, 128, 1 },
		{ 1, 1, { SW_REG_R13 }, 8200, 0 },
		{ 0, 1, { SW_REG_R14 }, 0, 1 },
		{ 1, 2, { SW_REG_RBX, SW_REG_R12 }, 128, 0 },
		{ 0, 3, { SW_REG_R15, SW_REG_RBP, SW_REG_R12 }, 40, 0 },
		{ 1, 3, { SW_REG_R12, SW_REG_R13, SW_REG_R14 }, 120, 1 },
	};
	const size_t k = i % EMIT_SHAPES;

	memset(out, 0, sizeof(*out));
	out->name = name;
	out->fp = shapes[k].fp;
	out->nsaved = shapes[k].nsaved;
	memcpy(out->saved, shapes[k].saved, EMIT_MAX_SAVED);
	out->frame_size = shapes[k].frame_size;
	out->two_epilogues = shapes[k].two;
	out->call = EMIT_LEAF;
}

int emit_chain(struct emit_buf *b, struct emit_fn *fns, size_t n, uint64_t leaf, uint32_t spin)
{
	char name[EMIT_NAME_MAX];
	struct emit_spec s;

	for (size_t k = n; k-- > 0;) {
		snprintf(name, sizeof(name), "jit_f%zu", k);
		emit_shape(k, name, &s);
		s.spin = spin;
		if (k + 1 < n) {
			s.call = EMIT_CALL_JIT;
			s.target = fns[k + 1].start;
		} else if (leaf) {
			s.call = EMIT_CALL_C;
			s.target = leaf;
		}
		if (emit_fn(b, &s, &fns[k]) != 0) {
			for (size_t j = k + 1; j < n; j++)
				emit_fn_free(&fns[j]);
			return -1;
		}
	}
	return 0;
}
