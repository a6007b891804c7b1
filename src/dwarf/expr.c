/*
 * DWARF expression evaluator; expr.h holds the contract.
 *
 * Every operand is decoded through the bounds-checked reader and its sticky
 * error is checked after each operation, so a truncated or overlong operand
 * stops evaluation at the operation that needed it.  All arithmetic is done
 * on uint64_t so that wrapping is defined; signed views are taken only where
 * DWARF asks for signed semantics (div, shra, comparisons).
 */
#include "dwarf/expr.h"

#include "dwarf/reader.h"
#include "stackwalk.h"

/* DWARF 5 section 7.7.1 opcode numbers, plus the GNU extensions. */
enum {
	DW_OP_addr = 0x03, DW_OP_deref = 0x06, DW_OP_const1u = 0x08,
	DW_OP_const1s = 0x09, DW_OP_const2u = 0x0a, DW_OP_const2s = 0x0b,
	DW_OP_const4u = 0x0c, DW_OP_const4s = 0x0d, DW_OP_const8u = 0x0e,
	DW_OP_const8s = 0x0f, DW_OP_constu = 0x10, DW_OP_consts = 0x11,
	DW_OP_dup = 0x12, DW_OP_drop = 0x13, DW_OP_over = 0x14,
	DW_OP_pick = 0x15, DW_OP_swap = 0x16, DW_OP_rot = 0x17,
	DW_OP_xderef = 0x18, DW_OP_abs = 0x19, DW_OP_and = 0x1a,
	DW_OP_div = 0x1b, DW_OP_minus = 0x1c, DW_OP_mod = 0x1d,
	DW_OP_mul = 0x1e, DW_OP_neg = 0x1f, DW_OP_not = 0x20, DW_OP_or = 0x21,
	DW_OP_plus = 0x22, DW_OP_plus_uconst = 0x23, DW_OP_shl = 0x24,
	DW_OP_shr = 0x25, DW_OP_shra = 0x26, DW_OP_xor = 0x27,
	DW_OP_bra = 0x28, DW_OP_eq = 0x29, DW_OP_ge = 0x2a, DW_OP_gt = 0x2b,
	DW_OP_le = 0x2c, DW_OP_lt = 0x2d, DW_OP_ne = 0x2e, DW_OP_skip = 0x2f,
	DW_OP_lit0 = 0x30, DW_OP_lit31 = 0x4f, DW_OP_reg0 = 0x50,
	DW_OP_reg31 = 0x6f, DW_OP_breg0 = 0x70, DW_OP_breg31 = 0x8f,
	DW_OP_regx = 0x90, DW_OP_fbreg = 0x91, DW_OP_bregx = 0x92,
	DW_OP_piece = 0x93, DW_OP_deref_size = 0x94, DW_OP_xderef_size = 0x95,
	DW_OP_nop = 0x96, DW_OP_push_object_address = 0x97, DW_OP_call2 = 0x98,
	DW_OP_call4 = 0x99, DW_OP_call_ref = 0x9a,
	DW_OP_form_tls_address = 0x9b, DW_OP_call_frame_cfa = 0x9c,
	DW_OP_bit_piece = 0x9d, DW_OP_implicit_value = 0x9e,
	DW_OP_stack_value = 0x9f, DW_OP_implicit_pointer = 0xa0,
	DW_OP_addrx = 0xa1, DW_OP_constx = 0xa2, DW_OP_entry_value = 0xa3,
	DW_OP_const_type = 0xa4, DW_OP_regval_type = 0xa5,
	DW_OP_deref_type = 0xa6, DW_OP_xderef_type = 0xa7,
	DW_OP_convert = 0xa8, DW_OP_reinterpret = 0xa9,
	DW_OP_GNU_push_tls_address = 0xe0, DW_OP_GNU_uninit = 0xf0,
	DW_OP_GNU_encoded_addr = 0xf1, DW_OP_GNU_implicit_pointer = 0xf2,
	DW_OP_GNU_entry_value = 0xf3, DW_OP_GNU_const_type = 0xf4,
	DW_OP_GNU_regval_type = 0xf5, DW_OP_GNU_deref_type = 0xf6,
	DW_OP_GNU_convert = 0xf7, DW_OP_GNU_reinterpret = 0xf9,
	DW_OP_GNU_parameter_ref = 0xfa,
};

struct stack {
	uint64_t v[SW_EXPR_STACK_MAX];
	unsigned n;
};

/* Push `x`; SW_ESTACKOVERFLOW when the stack is full. */
static int st_push(struct stack *s, uint64_t x)
{
	if (s->n >= SW_EXPR_STACK_MAX)
		return SW_ESTACKOVERFLOW;
	s->v[s->n++] = x;
	return 0;
}

/* Pop into *x; SW_ESTACKUNDERFLOW when the stack is empty. */
static int st_pop(struct stack *s, uint64_t *x)
{
	if (s->n == 0)
		return SW_ESTACKUNDERFLOW;
	*x = s->v[--s->n];
	return 0;
}

/* A callback's status as ours: a callback breaking its contract with a
 * positive value must not look like success (or SW_END_OF_STACK). */
static int cb_status(int rc, int fallback)
{
	return rc < 0 ? rc : fallback;
}

/*
 * Read `size` (1..8) bytes little-endian at `addr`, zero-extended.  The
 * callback only promises sizes 1, 2, 4 and 8, so odd sizes are assembled
 * from exact smaller reads instead of over-reading into a possibly
 * unmapped neighbour.  Returns 0, SW_EMEMORY or the callback's error.
 */
static int read_mem(const struct sw_expr_env *env, uint64_t addr, unsigned size,
		    uint64_t *out)
{
	uint64_t v = 0;
	unsigned done = 0;

	if (!env->read_mem)
		return SW_EMEMORY;
	while (done < size) {
		unsigned left = size - done;
		unsigned chunk = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
		uint64_t part = 0;
		int rc = env->read_mem(env->arg, addr + done, chunk, &part);

		if (rc)
			return cb_status(rc, SW_EMEMORY);
		/* the callback promises zero extension; masking keeps a sloppy
		 * one from corrupting the higher pieces */
		if (chunk < 8)
			part &= ((uint64_t)1 << (8 * chunk)) - 1;
		v |= part << (8 * done);
		done += chunk;
	}
	*out = v;
	return 0;
}

/* Value of DWARF register `regno`.  Returns 0, SW_EBADREG or the
 * callback's error. */
static int read_reg(const struct sw_expr_env *env, uint64_t regno, uint64_t *out)
{
	int rc;

	if (!env->read_reg || regno > UINT32_MAX)
		return SW_EBADREG;
	rc = env->read_reg(env->arg, (unsigned)regno, out);
	return rc ? cb_status(rc, SW_EBADREG) : 0;
}

/* Push register `regno` plus `off`, unless decoding the operands already
 * failed (then r->err is returned and nothing is read). */
static int push_reg(struct sw_reader *r, const struct sw_expr_env *env,
		    struct stack *s, uint64_t regno, int64_t off)
{
	uint64_t x;
	int rc;

	if (r->err)
		return r->err;
	rc = read_reg(env, regno, &x);
	return rc ? rc : st_push(s, x + (uint64_t)off);
}

/* Shift right with the sign filled in, without relying on the
 * implementation-defined >> of negative values; `n` may be >= 64. */
static uint64_t shra(uint64_t a, uint64_t n)
{
	bool neg = a >> 63;

	if (n >= 64)
		return neg ? UINT64_MAX : 0;
	return neg ? ~(~a >> n) : a >> n;
}

/*
 * Apply binary operation `op` to `a` (the former second entry) and `b`
 * (the former top), as DWARF orders them ("a - b").  Returns 0 with *out
 * set, SW_EDIVZERO, or SW_EBADOP when `op` is not a binary operation.
 */
static int binop(uint8_t op, uint64_t a, uint64_t b, uint64_t *out)
{
	int64_t sa = (int64_t)a, sb = (int64_t)b;

	switch (op) {
	case DW_OP_and: *out = a & b; break;
	case DW_OP_or: *out = a | b; break;
	case DW_OP_xor: *out = a ^ b; break;
	case DW_OP_plus: *out = a + b; break;
	case DW_OP_minus: *out = a - b; break;
	case DW_OP_mul: *out = a * b; break;
	case DW_OP_div:
		if (b == 0)
			return SW_EDIVZERO;
		/* INT64_MIN / -1 overflows (and traps on x86); DWARF leaves it
		 * open, we define it as the wrapped value INT64_MIN */
		*out = sb == -1 ? 0 - a : (uint64_t)(sa / sb);
		break;
	case DW_OP_mod:
		if (b == 0)
			return SW_EDIVZERO;
		*out = a % b;
		break;
	case DW_OP_shl: *out = b >= 64 ? 0 : a << b; break;
	case DW_OP_shr: *out = b >= 64 ? 0 : a >> b; break;
	case DW_OP_shra: *out = shra(a, b); break;
	case DW_OP_eq: *out = sa == sb; break;
	case DW_OP_ne: *out = sa != sb; break;
	case DW_OP_ge: *out = sa >= sb; break;
	case DW_OP_gt: *out = sa > sb; break;
	case DW_OP_le: *out = sa <= sb; break;
	case DW_OP_lt: *out = sa < sb; break;
	default: return SW_EBADOP;
	}
	return 0;
}

/*
 * Execute the one operation `op` whose operands follow at r->pos.  May
 * move r->pos (branches).  Returns 0 or a negative SW_E* code; operand
 * decoding errors are left in r->err for the caller.
 */
static int step(struct sw_reader *r, uint8_t op, const struct sw_expr_env *env,
		struct stack *s, unsigned addr_size)
{
	uint64_t a, b, c, x;
	int64_t off;
	unsigned size;
	int rc;

	switch (op) {
	case DW_OP_lit0 ... DW_OP_lit31:
		return st_push(s, (uint64_t)(op - DW_OP_lit0));
	case DW_OP_addr: return st_push(s, sw_rd_un(r, addr_size));
	case DW_OP_const1u: return st_push(s, sw_rd_un(r, 1));
	case DW_OP_const1s: return st_push(s, (uint64_t)sw_rd_sn(r, 1));
	case DW_OP_const2u: return st_push(s, sw_rd_un(r, 2));
	case DW_OP_const2s: return st_push(s, (uint64_t)sw_rd_sn(r, 2));
	case DW_OP_const4u: return st_push(s, sw_rd_un(r, 4));
	case DW_OP_const4s: return st_push(s, (uint64_t)sw_rd_sn(r, 4));
	case DW_OP_const8u: return st_push(s, sw_rd_un(r, 8));
	case DW_OP_const8s: return st_push(s, (uint64_t)sw_rd_sn(r, 8));
	case DW_OP_constu: return st_push(s, sw_rd_uleb(r));
	case DW_OP_consts: return st_push(s, (uint64_t)sw_rd_sleb(r));
	case DW_OP_const_type:
	case DW_OP_GNU_const_type:
		sw_rd_uleb(r);
		size = sw_rd_u8(r);
		if (r->err)
			return r->err;
		if (size > 8)
			return SW_EBADOP;
		return st_push(s, sw_rd_un(r, size));

	case DW_OP_dup:
		if (s->n < 1)
			return SW_ESTACKUNDERFLOW;
		return st_push(s, s->v[s->n - 1]);
	case DW_OP_drop:
		return st_pop(s, &x);
	case DW_OP_over:
		if (s->n < 2)
			return SW_ESTACKUNDERFLOW;
		return st_push(s, s->v[s->n - 2]);
	case DW_OP_pick:
		size = sw_rd_u8(r);
		if (r->err)
			return r->err;
		if (size >= s->n)
			return SW_ESTACKUNDERFLOW;
		return st_push(s, s->v[s->n - 1 - size]);
	case DW_OP_swap:
		if (s->n < 2)
			return SW_ESTACKUNDERFLOW;
		x = s->v[s->n - 1];
		s->v[s->n - 1] = s->v[s->n - 2];
		s->v[s->n - 2] = x;
		return 0;
	case DW_OP_rot:
		/* top becomes third, second becomes top, third becomes second */
		if (s->n < 3)
			return SW_ESTACKUNDERFLOW;
		a = s->v[s->n - 1];
		b = s->v[s->n - 2];
		c = s->v[s->n - 3];
		s->v[s->n - 1] = b;
		s->v[s->n - 2] = c;
		s->v[s->n - 3] = a;
		return 0;

	case DW_OP_abs:
		if (s->n < 1)
			return SW_ESTACKUNDERFLOW;
		x = s->v[s->n - 1];
		/* 0 - INT64_MIN wraps back to INT64_MIN, as documented */
		s->v[s->n - 1] = x >> 63 ? 0 - x : x;
		return 0;
	case DW_OP_neg:
	case DW_OP_not:
		if (s->n < 1)
			return SW_ESTACKUNDERFLOW;
		x = s->v[s->n - 1];
		s->v[s->n - 1] = op == DW_OP_neg ? 0 - x : ~x;
		return 0;
	case DW_OP_plus_uconst:
		x = sw_rd_uleb(r);
		if (r->err)
			return r->err;
		if (s->n < 1)
			return SW_ESTACKUNDERFLOW;
		s->v[s->n - 1] += x;
		return 0;
	case DW_OP_convert:
	case DW_OP_GNU_convert:
	case DW_OP_reinterpret:
	case DW_OP_GNU_reinterpret:
		/* only the generic type exists here: the value is unchanged */
		sw_rd_uleb(r);
		if (r->err)
			return r->err;
		return s->n < 1 ? SW_ESTACKUNDERFLOW : 0;
	case DW_OP_and: case DW_OP_or: case DW_OP_xor:
	case DW_OP_plus: case DW_OP_minus: case DW_OP_mul:
	case DW_OP_div: case DW_OP_mod:
	case DW_OP_shl: case DW_OP_shr: case DW_OP_shra:
	case DW_OP_eq: case DW_OP_ne: case DW_OP_ge:
	case DW_OP_gt: case DW_OP_le: case DW_OP_lt:
		if (s->n < 2)
			return SW_ESTACKUNDERFLOW;
		rc = binop(op, s->v[s->n - 2], s->v[s->n - 1], &x);
		if (rc)
			return rc;
		s->n--;
		s->v[s->n - 1] = x;
		return 0;

	case DW_OP_skip:
	case DW_OP_bra:
		off = sw_rd_sn(r, 2);
		if (r->err)
			return r->err;
		if (op == DW_OP_bra) {
			rc = st_pop(s, &x);
			if (rc || x == 0)
				return rc;
		}
		/* the target must stay inside [0, len]: len itself ends the run */
		off += (int64_t)sw_rd_off(r);
		if (off < 0 || (uint64_t)off > (uint64_t)(r->end - r->start))
			return SW_EBADOP;
		r->pos = r->start + off;
		return 0;

	case DW_OP_breg0 ... DW_OP_breg31:
		return push_reg(r, env, s, (uint64_t)(op - DW_OP_breg0), sw_rd_sleb(r));
	case DW_OP_bregx:
		a = sw_rd_uleb(r);
		return push_reg(r, env, s, a, sw_rd_sleb(r));
	case DW_OP_regval_type:
	case DW_OP_GNU_regval_type:
		/* the base type cannot change a register's 64 bits here */
		a = sw_rd_uleb(r);
		sw_rd_uleb(r);
		return push_reg(r, env, s, a, 0);

	case DW_OP_deref:
	case DW_OP_xderef:
	case DW_OP_deref_size:
	case DW_OP_xderef_size:
	case DW_OP_deref_type:
	case DW_OP_GNU_deref_type:
	case DW_OP_xderef_type:
		size = addr_size;
		if (op != DW_OP_deref && op != DW_OP_xderef)
			size = sw_rd_u8(r);
		if (op == DW_OP_deref_type || op == DW_OP_GNU_deref_type ||
		    op == DW_OP_xderef_type)
			sw_rd_uleb(r);
		if (r->err)
			return r->err;
		if (size < 1 || size > 8)
			return SW_EBADOP;
		rc = st_pop(s, &a);
		/* the address space id below the address has no meaning in a
		 * single flat address space: it is consumed and ignored */
		if (!rc && (op == DW_OP_xderef || op == DW_OP_xderef_size ||
			    op == DW_OP_xderef_type))
			rc = st_pop(s, &b);
		if (!rc)
			rc = read_mem(env, a, size, &x);
		return rc ? rc : st_push(s, x);

	case DW_OP_nop:
		return 0;

	/* Locations rather than values, operations needing DIE, frame or
	 * object context that CFI does not have, and vendor extensions with
	 * no meaning here. */
	case DW_OP_reg0 ... DW_OP_reg31:
	case DW_OP_regx: case DW_OP_fbreg: case DW_OP_piece:
	case DW_OP_push_object_address: case DW_OP_call2: case DW_OP_call4:
	case DW_OP_call_ref: case DW_OP_form_tls_address:
	case DW_OP_call_frame_cfa: case DW_OP_bit_piece:
	case DW_OP_implicit_value: case DW_OP_stack_value:
	case DW_OP_implicit_pointer: case DW_OP_addrx: case DW_OP_constx:
	case DW_OP_entry_value: case DW_OP_GNU_push_tls_address:
	case DW_OP_GNU_uninit: case DW_OP_GNU_encoded_addr:
	case DW_OP_GNU_implicit_pointer: case DW_OP_GNU_entry_value:
	case DW_OP_GNU_parameter_ref:
	default:
		return SW_EBADOP;
	}
}

/* See expr.h. */
int sw_expr_eval(const uint8_t *expr, size_t len, const struct sw_expr_env *env,
		 const uint64_t *push, unsigned npush, uint64_t *result)
{
	static const struct sw_expr_env no_env;
	static const uint8_t no_expr[1];
	struct stack s;
	struct sw_reader r;
	unsigned addr_size, steps = 0;
	int rc;

	if (!result || (!expr && len) || (!push && npush))
		return SW_EINVAL;
	if (!env)
		env = &no_env;
	/* 0 means "not set": default to the x86-64 pointer size, like the
	 * DW_EH_PE_aligned handling in reader.h */
	addr_size = env->addr_size ? env->addr_size : 8;
	if (addr_size > 8)
		return SW_EINVAL;
	if (npush > SW_EXPR_STACK_MAX)
		return SW_ESTACKOVERFLOW;
	s.n = 0;
	for (unsigned i = 0; i < npush; i++)
		s.v[s.n++] = push[i];

	/* the reader does pointer arithmetic on `expr`, which NULL forbids */
	sw_rd_init(&r, expr ? expr : no_expr, len, 0, "DWARF expression");
	while (sw_rd_left(&r) > 0) {
		if (steps++ == SW_EXPR_STEP_MAX)
			return SW_ESTEPLIMIT;
		rc = step(&r, sw_rd_u8(&r), env, &s, addr_size);
		/* an operand error wins: it is the first thing that went wrong */
		if (r.err)
			return r.err;
		if (rc)
			return rc;
	}
	if (s.n == 0)
		return SW_ESTACKUNDERFLOW;
	*result = s.v[s.n - 1];
	return 0;
}
