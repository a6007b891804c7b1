/*
 * SW_JIT_UNWIND_DYN: libunwind-dynamic region/op descriptions, run as a
 * state machine and written as CFI rows.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "arch/arch.h"
#include "dwarf/reader.h"
#include "jit/describe/describe.h"
#include "jit/describe/internal.h"
#include "jit/error.h"

/* ============================================================== dynamic */

/*
 * The dynamic kind is run as a state machine over the ops in stream order
 * (regions in list order, ops by (when, index)); an op of region r at
 * `when` takes effect at byte pos = start(r) + when + 1 (start(r) for an
 * empty region).  The state after all ops with pos <= x is the row of
 * byte x, except in ALIAS ranges, whose rows are replayed from their
 * target.  An ALIAS overrides rows only: the state the ops build on goes
 * on from the alias point unchanged, so after a copied epilogue the
 * description continues where it was before the copy.
 *
 * Rows are written as differences against the last row written, at each
 * position where ops took effect.  ALIAS ranges map (through chains of
 * aliases of aliases) to earlier positions; their rows are produced by
 * running the same machine again from the start up to the target, which
 * is deterministic, so the machine needs no snapshots: it is restarted
 * and brought back to where it was.  All effort counts against
 * SW_JIT_DESCRIBE_MAX_WORK.
 */

#define DYN_NREG SW_ARCH_CFI_NREG /* rules tracked (x86-64: rax..r15 and rip) */
#define DYN_BATCH 64            /* unsorted regions: ops ordered per scan */

/* A register's rule, packed into an int32: the low 3 bits are the kind,
 * the rest its value (CFA offsets are multiples of 8; register numbers
 * are shifted up). */
enum { RULE_INIT = 0, RULE_OFFSET = 1, RULE_REG = 2 };
#define RULE_KIND(v) ((v) & 7)
#define RULE_OFF(v) ((int64_t)((v) & ~7))
#define RULE_REG2(v) ((unsigned)((uint32_t)(v) >> 3))

/* The unwind state at a byte. */
struct dstate {
	int32_t sp_off;         /* CFA - rsp, in bytes */
	int32_t fp_off;         /* CFA - rbp, valid while cfa_reg is rbp */
	uint8_t cfa_reg;        /* SW_ARCH_SP_REG, or SW_ARCH_FP_REG once the FP is set */
	int32_t rule[DYN_NREG]; /* packed rules, RULE_INIT: as in the CIE */
};

/* An open frame's starting state; slots form a ring over the nesting
 * depth, `depth` says which depth the slot holds (-1: none). */
struct fslot {
	uint32_t serial;        /* push number, never 0 */
	int32_t depth;
	struct dstate st;
};

/* A labelled state: the row state and the nesting of open frames. */
struct lslot {
	uint64_t id;
	uint32_t open;
	uint32_t serial[SW_JIT_DESCRIBE_MAX_FRAMES]; /* per slot, 0: not restorable */
	struct dstate st;
};

/* An ALIAS: bytes [a, e) have the rows of [t, t + e - a). */
struct alias {
	uint32_t a, e, t;
};

/* The state machine with its cursor in the op stream. */
struct sim {
	const struct sw_jit_dyn_region *head;
	uint64_t start, size;   /* the procedure */
	uint64_t *work;         /* shared effort counter */

	struct dstate st;
	struct fslot frames[SW_JIT_DESCRIBE_MAX_FRAMES];
	uint32_t open, serial;
	struct lslot labels[SW_JIT_DYN_MAX_LABELS];
	uint32_t nlabels;

	/* Stream cursor. */
	const struct sw_jit_dyn_region *r;      /* current region, NULL before the first */
	bool started, done;
	bool sorted, aliased;   /* ops of r in (when, index) order; an ALIAS taken in r */
	uint32_t nregions, nops;/* counted so far */
	int64_t rstart, rlen, prev_end;
	uint32_t n, taken;      /* effective ops in r (up to STOP), taken so far */
	uint64_t last_key;      /* unsorted: key of the op taken last */
	uint16_t batch[DYN_BATCH];
	uint32_t nbatch, bpos;

	/* The next op (lookahead) and progress. */
	bool have_next;
	const struct sw_jit_dyn_op *next;
	int64_t next_pos;
	uint64_t applied;       /* ops applied since the start */
	int64_t last_pos;       /* position of the op applied last, -1 */
};

static int spend(struct sim *s, uint64_t units)
{
	*s->work += units;
	if (*s->work > SW_JIT_DESCRIBE_MAX_WORK)
		return sw_jit_fail(SW_EINVAL, "u.dyn: converting it takes more than %u steps "
				   "(SW_JIT_DESCRIBE_MAX_WORK: too many regions, unsorted ops "
				   "or ALIAS replays)", SW_JIT_DESCRIBE_MAX_WORK);
	return 0;
}

/* The op in the lookahead, for the reasons ("u.dyn region[r].op[i]"
 * followed by the field). */
#define OP_FAIL(s, fmt, ...)                                              \
	sw_jit_fail(SW_EINVAL, "u.dyn region[%u].op[%u]" fmt, (s)->nregions - 1, \
		    (unsigned)((s)->next - (s)->r->op), __VA_ARGS__)

static uint64_t op_key(const struct sw_jit_dyn_op *op, uint32_t i)
{
	return (uint64_t)(uint32_t)(op->when + 1) << 32 | i;    /* when >= -1 */
}

static bool opens_frame(int tag)
{
	return tag == SW_DYN_SAVE_REG || tag == SW_DYN_SPILL_FP_REL ||
	       tag == SW_DYN_SPILL_SP_REL || tag == SW_DYN_ADD;
}

static void push_frame(struct sim *s)
{
	struct fslot *f = &s->frames[s->open % SW_JIT_DESCRIBE_MAX_FRAMES];
	f->serial = ++s->serial;
	f->depth = (int32_t)s->open;
	f->st = s->st;
	s->open++;
}

/* Move to the next region: place it, check it and its ops' tags and
 * `when`s, and open its frame.  Sets s->done after the last. */
static int enter_region(struct sim *s)
{
	const struct sw_jit_dyn_region *r = s->started ? s->r->next : s->head;
	s->started = true;
	s->r = r;
	if (!r) {
		s->done = true;
		return 0;
	}
	unsigned ri = s->nregions;
	if (++s->nregions > SW_JIT_DESCRIBE_MAX_REGIONS)
		return sw_jit_fail(SW_EINVAL, "u.dyn: more than %d regions (a cyclic list?)",
				   SW_JIT_DESCRIBE_MAX_REGIONS);
	if (r->insn_count < 0) {
		/* the last region, at the end of the procedure */
		int64_t len = -(int64_t)r->insn_count;
		if (r->next)
			return sw_jit_fail(SW_EINVAL, "u.dyn region[%u].insn_count: %d is negative "
					   "but the region is not the last", ri, r->insn_count);
		if (len > (int64_t)s->size || (int64_t)s->size - len < s->prev_end)
			return sw_jit_fail(SW_EINVAL, "u.dyn region[%u].insn_count: the last %lld "
					   "bytes of the procedure (%llu bytes) overlap the regions "
					   "before, which end at %lld", ri, (long long)len,
					   (unsigned long long)s->size, (long long)s->prev_end);
		s->rstart = (int64_t)s->size - len;
		s->rlen = len;
	} else {
		if (r->insn_count > (int64_t)s->size - s->prev_end)
			return sw_jit_fail(SW_EINVAL, "u.dyn region[%u].insn_count: %d bytes from "
					   "offset %lld pass the procedure's end (%llu bytes)", ri,
					   r->insn_count, (long long)s->prev_end,
					   (unsigned long long)s->size);
		s->rstart = s->prev_end;
		s->rlen = r->insn_count;
	}
	s->prev_end = s->rstart + s->rlen;

	uint32_t n = 0;
	bool frame = false;
	s->sorted = true;
	for (; n < r->op_count && r->op[n].tag != SW_DYN_STOP; n++) {
		const struct sw_jit_dyn_op *op = &r->op[n];
		if (op->tag < SW_DYN_SAVE_REG || op->tag > SW_DYN_ALIAS)
			return sw_jit_fail(SW_EINVAL, "u.dyn region[%u].op[%u].tag: %d is not an "
					   "enum sw_jit_dyn_tag", ri, n, op->tag);
		/* when = -1 (libunwind's macros write it for labels, copies and
		 * aliases) means "at the region's start" */
		if (s->rlen ? op->when < -1 || op->when >= s->rlen : op->when != 0 && op->when != -1)
			return sw_jit_fail(SW_EINVAL, "u.dyn region[%u].op[%u].when: %d is outside "
					   "-1..%lld (the region has %lld bytes)", ri, n, op->when,
					   s->rlen ? (long long)s->rlen - 1 : 0LL, (long long)s->rlen);
		if (n && op->when < r->op[n - 1].when)
			s->sorted = false;
		frame |= opens_frame(op->tag);
		if (++s->nops > SW_JIT_DESCRIBE_MAX_OPS)
			return sw_jit_fail(SW_EINVAL, "u.dyn: more than %d ops",
					   SW_JIT_DESCRIBE_MAX_OPS);
	}
	int rc = spend(s, n + 1);
	if (rc)
		return rc;
	s->n = n;
	s->taken = 0;
	s->nbatch = s->bpos = 0;
	s->aliased = false;
	if (frame)
		push_frame(s);
	return 0;
}

/* Unsorted region: collect the DYN_BATCH ops that follow the last one
 * taken in (when, index) order, with one scan. */
static int refill(struct sim *s)
{
	const struct sw_jit_dyn_op *ops = s->r->op;
	uint32_t nb = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t k = op_key(&ops[i], i);
		if (s->taken && k <= s->last_key)
			continue;
		if (nb == DYN_BATCH && k >= op_key(&ops[s->batch[nb - 1]], s->batch[nb - 1]))
			continue;
		uint32_t j = nb < DYN_BATCH ? nb++ : nb - 1;
		while (j && op_key(&ops[s->batch[j - 1]], s->batch[j - 1]) > k) {
			s->batch[j] = s->batch[j - 1];
			j--;
		}
		s->batch[j] = (uint16_t)i;
	}
	s->nbatch = nb;
	s->bpos = 0;
	return spend(s, 2 * (uint64_t)s->n);
}

/* Load the next op of the stream into the lookahead (or set s->done). */
static int fetch(struct sim *s)
{
	s->have_next = false;
	while (!s->done) {
		if (s->r && s->taken < s->n) {
			uint32_t i;
			if (s->sorted) {
				i = s->taken;
			} else {
				int rc;
				if (s->bpos == s->nbatch && (rc = refill(s)))
					return rc;
				i = s->batch[s->bpos++];
				s->last_key = op_key(&s->r->op[i], i);
			}
			s->taken++;
			s->next = &s->r->op[i];
			s->next_pos = s->rstart + (s->rlen ? s->next->when + 1 : 0);
			s->have_next = true;
			return 0;
		}
		int rc = enter_region(s);
		if (rc)
			return rc;
	}
	return 0;
}

static void sim_reset(struct sim *s)
{
	const struct sw_jit_dyn_region *head = s->head;
	uint64_t start = s->start, size = s->size, *work = s->work;
	memset(s, 0, sizeof *s);
	s->head = head;
	s->start = start;
	s->size = size;
	s->work = work;
	s->st.sp_off = 8;
	s->st.cfa_reg = SW_ARCH_SP_REG;
	s->last_pos = -1;
}

static int sim_start(struct sim *s)
{
	sim_reset(s);
	return fetch(s);
}

/* A CFA-relative save slot: in range for the packed rule, and a
 * multiple of 8 as the builder's data alignment needs. */
static bool slot_rule(int64_t off, int32_t *rule)
{
	if (off % 8 || off < INT32_MIN / 2 || off > INT32_MAX / 2)
		return false;
	*rule = (int32_t)off | RULE_OFFSET;
	return true;
}

/* rsp's distance from the CFA after an ADD or a frame-pointer setup: the
 * builder writes negative CFA offsets factored by -8. */
static bool set_sp_off(struct dstate *st, int64_t v)
{
	if (v < INT32_MIN / 2 || v > INT32_MAX / 2 || (v < 0 && v % 8))
		return false;
	st->sp_off = (int32_t)v;
	return true;
}

/* Apply the lookahead op and fetch the next.  Returns 0, 1 when it was
 * an ALIAS covering bytes (*al filled in), or SW_EINVAL. */
static int apply(struct sim *s, struct alias *al)
{
	const struct sw_jit_dyn_op *op = s->next;
	struct dstate *st = &s->st;
	int reg = op->reg;
	int64_t v = (int64_t)op->val, off;
	int ret = 0;

	if (s->aliased)         /* the alias defines the rest of the region */
		return OP_FAIL(s, ": no op may follow an ALIAS in its region (tag %d)", op->tag);
	switch (op->tag) {
	case SW_DYN_SAVE_REG:
		if (reg == SW_ARCH_SP_REG) {
			/* mov rbp, rsp: the only move of rsp there is */
			if (op->val != SW_ARCH_FP_REG)
				return OP_FAIL(s, ".val: SAVE_REG of rsp must go to rbp (6), not %llu",
					       (unsigned long long)op->val);
			st->cfa_reg = SW_ARCH_FP_REG;
			st->fp_off = st->sp_off;
			break;
		}
		if (reg < 0 || reg >= DYN_NREG)
			return OP_FAIL(s, ".reg: %d is not a register 0..16 (rax..rip)", reg);
		if (op->val > SW_CFI_B_MAX_REG || op->val == SW_ARCH_SP_REG)
			return OP_FAIL(s, ".val: SAVE_REG into register %llu (rsp, or above %d)",
				       (unsigned long long)op->val, SW_CFI_B_MAX_REG);
		/* saving a register in itself: it is back home */
		st->rule[reg] = op->val == (uint64_t)reg ? RULE_INIT
			: (int32_t)(op->val << 3) | RULE_REG;
		break;
	case SW_DYN_SPILL_FP_REL:
	case SW_DYN_SPILL_SP_REL:
		if (reg < 0 || reg >= DYN_NREG || reg == SW_ARCH_SP_REG)
			return OP_FAIL(s, ".reg: %d is not a register 0..16 other than rsp (7)", reg);
		if (op->tag == SW_DYN_SPILL_FP_REL && st->cfa_reg != SW_ARCH_FP_REG)
			return OP_FAIL(s, ": SPILL_FP_REL of %s before the frame pointer is set "
				       "(SAVE_REG rsp, rbp)", rname((unsigned)reg));
		if (__builtin_sub_overflow(v, op->tag == SW_DYN_SPILL_FP_REL ? st->fp_off
					   : st->sp_off, &off) ||
		    !slot_rule(off, &st->rule[reg]))
			return OP_FAIL(s, ".val: %lld puts %s's save slot at CFA%s%lld: not a "
				       "multiple of 8 from the CFA, or too far", (long long)v,
				       rname((unsigned)reg), off < 0 ? "" : "+", (long long)off);
		break;
	case SW_DYN_ADD:
		if (reg != SW_ARCH_SP_REG)
			return OP_FAIL(s, ".reg: ADD applies to rsp (7) only, not %d", reg);
		if (__builtin_sub_overflow((int64_t)st->sp_off, v, &off) || !set_sp_off(st, off))
			return OP_FAIL(s, ".val: rsp += %lld from %d bytes below the CFA puts rsp "
				       "too far, or above the CFA by other than a multiple of 8",
				       (long long)v, st->sp_off);
		break;
	case SW_DYN_POP_FRAMES: {
		if (op->val > s->open)
			return OP_FAIL(s, ".val: POP_FRAMES of %llu frames, %u open",
				       (unsigned long long)op->val, s->open);
		uint32_t d = s->open - (uint32_t)op->val;
		if (d == s->open)
			break;
		const struct fslot *f = &s->frames[d % SW_JIT_DESCRIBE_MAX_FRAMES];
		if (f->depth != (int32_t)d)     /* overwritten: nested too deep */
			return OP_FAIL(s, ".val: POP_FRAMES back to a frame more than %d frames "
				       "deep", SW_JIT_DESCRIBE_MAX_FRAMES);
		*st = f->st;
		s->open = d;
		break;
	}
	case SW_DYN_LABEL_STATE: {
		struct lslot *l = NULL;
		for (uint32_t i = 0; i < s->nlabels; i++)
			if (s->labels[i].id == op->val)
				l = &s->labels[i];
		if (!l) {
			if (s->nlabels == SW_JIT_DYN_MAX_LABELS)
				return OP_FAIL(s, ".val: label %llu is one more than "
					       "SW_JIT_DYN_MAX_LABELS (%d)",
					       (unsigned long long)op->val, SW_JIT_DYN_MAX_LABELS);
			l = &s->labels[s->nlabels++];
			l->id = op->val;
		}
		l->st = *st;
		l->open = s->open;
		for (uint32_t i = 0; i < SW_JIT_DESCRIBE_MAX_FRAMES; i++) {
			const struct fslot *f = &s->frames[i];
			bool live = f->depth >= 0 && (uint32_t)f->depth < s->open &&
				    f->serial && f->depth % SW_JIT_DESCRIBE_MAX_FRAMES == (int32_t)i;
			l->serial[i] = live ? f->serial : 0;
		}
		break;
	}
	case SW_DYN_COPY_STATE: {
		const struct lslot *l = NULL;
		for (uint32_t i = 0; i < s->nlabels; i++)
			if (s->labels[i].id == op->val)
				l = &s->labels[i];
		if (!l)
			return OP_FAIL(s, ".val: COPY_STATE of label %llu, never labelled",
				       (unsigned long long)op->val);
		*st = l->st;
		s->open = l->open;
		/* The labelled frames are still restorable where their slot
		 * was not reused since; a pop needing another one fails. */
		for (uint32_t i = 0; i < SW_JIT_DESCRIBE_MAX_FRAMES; i++) {
			struct fslot *f = &s->frames[i];
			if (!l->serial[i] || f->serial != l->serial[i])
				f->depth = -1;
		}
		break;
	}
	case SW_DYN_ALIAS: {
		/* from pos on, to the end of the region, byte pos+k has the row
		 * of byte t+k; the whole target lies before pos */
		int64_t pos = s->next_pos, end = s->rstart + s->rlen;
		if (op->val < s->start || op->val - s->start >= s->size)
			return OP_FAIL(s, ".val: ALIAS of %#llx, outside the procedure [%#llx, %#llx)",
				       (unsigned long long)op->val, (unsigned long long)s->start,
				       (unsigned long long)(s->start + s->size));
		int64_t t = (int64_t)(op->val - s->start);
		if (t >= pos || t + (end - pos) > pos)
			return OP_FAIL(s, ".val: ALIAS of offset %lld for %lld bytes: the copied "
				       "bytes must lie before the alias point (offset %lld)",
				       (long long)t, (long long)(end - pos), (long long)pos);
		s->aliased = true;
		if (end > pos) {
			al->a = (uint32_t)pos;
			al->e = (uint32_t)end;
			al->t = (uint32_t)t;
			ret = 1;
		}
		break;
	}
	default:                /* cannot happen: tags are checked on entry */
		return OP_FAIL(s, ".tag: %d", op->tag);
	}
	s->applied++;
	s->last_pos = s->next_pos;
	int rc = spend(s, 1);
	if (rc)
		return rc;
	rc = fetch(s);
	return rc ? rc : ret;
}

/* Bring the machine to the state of byte `pos` (every op with a position
 * <= pos applied, none after), restarting it when it is past. */
static int sim_seek(struct sim *s, int64_t pos)
{
	struct alias al;
	int rc;
	if (s->last_pos > pos && (rc = sim_start(s)))
		return rc;
	while (s->have_next && s->next_pos <= pos)
		if ((rc = apply(s, &al)) < 0)
			return rc;
	return 0;
}

/* Bring the machine back to `count` ops applied. */
static int sim_seek_count(struct sim *s, uint64_t count)
{
	struct alias al;
	int rc;
	if (s->applied > count && (rc = sim_start(s)))
		return rc;
	while (s->have_next && s->applied < count)
		if ((rc = apply(s, &al)) < 0)
			return rc;
	return 0;
}

/* The conversion: the machine, the aliases met, the last row written. */
struct dyn {
	struct sim m;
	sw_cfi_builder_t *b;    /* NULL: dry run (validation) */
	struct dstate emitted;
	uint32_t nalias;
	struct alias alias[SW_JIT_DESCRIBE_MAX_ALIASES];
	uint64_t work;
};

static int64_t cfa_off(const struct dstate *st)
{
	return st->cfa_reg == SW_ARCH_SP_REG ? st->sp_off : st->fp_off;
}

/* Write the rule changes from the last row to `st` at byte `pos`. */
static int emit_row(struct dyn *d, uint64_t pos, const struct dstate *st)
{
	sw_cfi_builder_t *b = d->b;
	struct dstate *em = &d->emitted;
	bool moved = false;

	if (!b || pos >= d->m.size)
		return 0;
#define MOVE() do { if (!moved) { TRY(sw_cfi_b_advance(b, pos)); moved = true; } } while (0)
	if (st->cfa_reg != em->cfa_reg) {
		MOVE();
		if (cfa_off(st) != cfa_off(em))
			TRY(sw_cfi_b_def_cfa(b, st->cfa_reg, cfa_off(st)));
		else
			TRY(sw_cfi_b_def_cfa_register(b, st->cfa_reg));
	} else if (cfa_off(st) != cfa_off(em)) {
		MOVE();
		TRY(sw_cfi_b_def_cfa_offset(b, cfa_off(st)));
	}
	for (unsigned r = 0; r < DYN_NREG; r++) {
		int32_t v = st->rule[r];
		if (v == em->rule[r])
			continue;
		MOVE();
		switch (RULE_KIND(v)) {
		case RULE_INIT: TRY(sw_cfi_b_restore(b, r)); break;
		case RULE_OFFSET: TRY(sw_cfi_b_offset(b, r, RULE_OFF(v))); break;
		default: TRY(sw_cfi_b_register(b, r, RULE_REG2(v))); break;
		}
	}
#undef MOVE
	*em = *st;
	return 0;
}

/* Where the rows of output byte y come from: follow aliases (each step
 * goes strictly backwards) to a byte outside every alias; *len is how
 * far that mapping stays a plain shift. */
static void resolve(const struct dyn *d, uint64_t y, uint64_t *src, uint64_t *len)
{
	uint64_t pos = y, rem = UINT64_MAX;
	for (;;) {
		const struct alias *hit = NULL;
		uint64_t next = d->m.size;
		for (uint32_t i = 0; i < d->nalias; i++) {
			const struct alias *a = &d->alias[i];
			if (a->a <= pos && pos < a->e)
				hit = a;
			else if (a->a > pos && a->a < next)
				next = a->a;
		}
		if (!hit) {
			if (next - pos < rem)
				rem = next - pos;
			break;
		}
		if (hit->e - pos < rem)
			rem = hit->e - pos;
		pos = hit->t + (pos - hit->a);
	}
	*src = pos;
	*len = rem;
}

/* Rows of the alias range [a, e), replayed from their sources; the
 * machine is then brought back to where it was. */
static int replay(struct dyn *d, uint32_t a, uint32_t e)
{
	struct sim *m = &d->m;
	uint64_t resume = m->applied;
	struct alias al;
	int rc;

	for (uint64_t y = a; y < e;) {
		uint64_t src, len;
		resolve(d, y, &src, &len);
		if (len > e - y)
			len = e - y;
		if ((rc = sim_seek(m, (int64_t)src)) || (rc = emit_row(d, y, &m->st)))
			return rc;
		while (m->have_next && (uint64_t)m->next_pos < src + len) {
			int64_t p = m->next_pos;
			while (m->have_next && m->next_pos == p)
				if ((rc = apply(m, &al)) < 0)
					return rc;
			if ((rc = emit_row(d, y + ((uint64_t)p - src), &m->st)))
				return rc;
		}
		y += len;
		if ((rc = spend(m, 1)))
			return rc;
	}
	return sim_seek_count(m, resume);
}

static int dyn_run(struct dyn *d)
{
	struct sim *m = &d->m;
	struct alias al;
	int64_t cur = 0;        /* position of the ops being applied */
	int rc;

	d->nalias = 0;
	memset(&d->emitted, 0, sizeof d->emitted);
	d->emitted.sp_off = 8;
	d->emitted.cfa_reg = SW_ARCH_SP_REG;
	if ((rc = sim_start(m)))
		return rc;
	while (m->have_next) {
		if (m->next_pos > cur) {
			if ((rc = emit_row(d, (uint64_t)cur, &m->st)))
				return rc;
			cur = m->next_pos;
		}
		rc = apply(m, &al);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (d->nalias == SW_JIT_DESCRIBE_MAX_ALIASES)
				return sw_jit_fail(SW_EINVAL, "u.dyn: more than %d ALIAS ops cover "
						   "bytes (SW_JIT_DESCRIBE_MAX_ALIASES)",
						   SW_JIT_DESCRIBE_MAX_ALIASES);
			d->alias[d->nalias++] = al;
			if ((rc = replay(d, al.a, al.e)))
				return rc;
			/* the state the ops built goes on after the range */
			cur = al.e;
		}
	}
	return emit_row(d, (uint64_t)cur, &m->st);
}

static void dyn_init(struct dyn *d, sw_cfi_builder_t *b, const struct sw_jit_proc *p)
{
	d->b = b;
	d->m.head = p->u.dyn;
	d->m.start = p->start;
	d->m.size = p->end - p->start;
	d->m.work = &d->work;
}

/* sw_describe_dyn (internal.h) */
int sw_describe_dyn(sw_cfi_builder_t *b, const struct sw_jit_proc *p)
{
	struct dyn d;

	d.work = 0;
	dyn_init(&d, b, p);
	return dyn_run(&d);
}
