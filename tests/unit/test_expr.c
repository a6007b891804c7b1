/*
 * Unit tests for the DWARF expression evaluator (src/dwarf/expr.c).
 *
 * Memory and registers come from a fake target: a small byte array mapped
 * at MEM_BASE and a 17-entry x86-64 DWARF register file.  Expected values
 * are worked out by hand from DWARF 5 section 2.5.
 */
#include "../harness.h"

#include "dwarf/expr.h"
#include "stackwalk.h"

enum {
	OP_addr = 0x03, OP_deref = 0x06, OP_const1u = 0x08, OP_const1s = 0x09,
	OP_const2u = 0x0a, OP_const2s = 0x0b, OP_const4u = 0x0c,
	OP_const4s = 0x0d, OP_const8u = 0x0e, OP_const8s = 0x0f,
	OP_constu = 0x10, OP_consts = 0x11, OP_dup = 0x12, OP_drop = 0x13,
	OP_over = 0x14, OP_pick = 0x15, OP_swap = 0x16, OP_rot = 0x17,
	OP_xderef = 0x18, OP_abs = 0x19, OP_and = 0x1a, OP_div = 0x1b,
	OP_minus = 0x1c, OP_mod = 0x1d, OP_mul = 0x1e, OP_neg = 0x1f,
	OP_not = 0x20, OP_or = 0x21, OP_plus = 0x22, OP_plus_uconst = 0x23,
	OP_shl = 0x24, OP_shr = 0x25, OP_shra = 0x26, OP_xor = 0x27,
	OP_bra = 0x28, OP_eq = 0x29, OP_ge = 0x2a, OP_gt = 0x2b, OP_le = 0x2c,
	OP_lt = 0x2d, OP_ne = 0x2e, OP_skip = 0x2f, OP_lit0 = 0x30,
	OP_lit1 = 0x31, OP_lit2 = 0x32, OP_lit3 = 0x33, OP_lit4 = 0x34,
	OP_lit5 = 0x35, OP_lit7 = 0x37, OP_lit8 = 0x38, OP_lit9 = 0x39,
	OP_lit10 = 0x3a, OP_lit15 = 0x3f, OP_lit16 = 0x40, OP_lit31 = 0x4f,
	OP_reg0 = 0x50, OP_reg31 = 0x6f, OP_breg0 = 0x70, OP_breg7 = 0x77,
	OP_breg16 = 0x80, OP_breg31 = 0x8f, OP_regx = 0x90, OP_fbreg = 0x91,
	OP_bregx = 0x92, OP_piece = 0x93, OP_deref_size = 0x94,
	OP_xderef_size = 0x95, OP_nop = 0x96, OP_call_frame_cfa = 0x9c,
	OP_implicit_value = 0x9e, OP_stack_value = 0x9f, OP_addrx = 0xa1,
	OP_constx = 0xa2, OP_entry_value = 0xa3, OP_const_type = 0xa4,
	OP_regval_type = 0xa5, OP_deref_type = 0xa6, OP_xderef_type = 0xa7,
	OP_convert = 0xa8, OP_reinterpret = 0xa9, OP_GNU_push_tls = 0xe0,
	OP_GNU_uninit = 0xf0, OP_GNU_encoded_addr = 0xf1,
	OP_GNU_entry_value = 0xf3, OP_GNU_const_type = 0xf4,
	OP_GNU_regval_type = 0xf5, OP_GNU_deref_type = 0xf6,
	OP_GNU_convert = 0xf7, OP_GNU_reinterpret = 0xf9,
	OP_GNU_parameter_ref = 0xfa,
};

#define MEM_BASE 0x1000u
#define MEM_SIZE 256u
#define NREGS 17

struct fake {
	uint8_t mem[MEM_SIZE];
	uint64_t regs[NREGS];
	int mem_rc;              /* nonzero: every memory read returns this */
	unsigned nlog;           /* memory reads seen (log keeps the first 8) */
	uint64_t log_addr[8];
	unsigned log_size[8];
	unsigned bad_sizes;      /* reads with a size outside {1, 2, 4, 8} */
};

static struct fake fk;

/* Little-endian read from the fake memory; SW_EMEMORY outside it. */
static int fake_mem(void *arg, uint64_t addr, unsigned size, uint64_t *out)
{
	struct fake *f = arg;
	uint64_t v = 0;

	if (f->nlog < 8) {
		f->log_addr[f->nlog] = addr;
		f->log_size[f->nlog] = size;
	}
	f->nlog++;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		f->bad_sizes++;
		return SW_EINVAL;
	}
	if (f->mem_rc)
		return f->mem_rc;
	if (addr < MEM_BASE || addr - MEM_BASE > MEM_SIZE - size)
		return SW_EMEMORY;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)f->mem[addr - MEM_BASE + i] << (8 * i);
	*out = v;
	return 0;
}

/* Register from the fake register file; SW_EBADREG beyond it. */
static int fake_reg(void *arg, unsigned regno, uint64_t *out)
{
	struct fake *f = arg;

	if (regno >= NREGS)
		return SW_EBADREG;
	*out = f->regs[regno];
	return 0;
}

static struct sw_expr_env env = { fake_mem, fake_reg, &fk, 8 };

/* Fresh fake target: mem[i] = i ^ 0xa5, register n = 0x1000 * (n + 1). */
static void reset(void)
{
	memset(&fk, 0, sizeof fk);
	for (unsigned i = 0; i < MEM_SIZE; i++)
		fk.mem[i] = (uint8_t)(i ^ 0xa5);
	for (unsigned i = 0; i < NREGS; i++)
		fk.regs[i] = 0x1000u * (i + 1);
}

/* Store `v` little-endian at fake address `addr`. */
static void poke64(uint64_t addr, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		fk.mem[addr - MEM_BASE + i] = (uint8_t)(v >> (8 * i));
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...) sizeof((const uint8_t[]){ __VA_ARGS__ })
#define RUN(out, ...) \
	sw_expr_eval(BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), &env, NULL, 0, out)

/* Evaluation succeeds with top of stack `want`. */
#define EXPECT_VAL(want, ...)                                        \
	do {                                                         \
		uint64_t v_ = 0xdeadbeef;                            \
		CHECK_EQ(RUN(&v_, __VA_ARGS__), 0);                  \
		CHECK_EQ(v_, (uint64_t)(want));                      \
	} while (0)

/* Evaluation fails with `err` and leaves the result alone. */
#define EXPECT_ERR(err, ...)                                         \
	do {                                                         \
		uint64_t v_ = 0x5a5a;                                \
		CHECK_EQ(RUN(&v_, __VA_ARGS__), (err));              \
		CHECK_EQ(v_, 0x5a5a);                                \
	} while (0)

#define I64_MIN_BYTES 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80

TEST(literals_and_constants)
{
	reset();
	EXPECT_VAL(0, OP_lit0);
	EXPECT_VAL(31, OP_lit31);
	EXPECT_VAL(255, OP_const1u, 0xff);
	EXPECT_VAL(-1, OP_const1s, 0xff);
	EXPECT_VAL(0x1234, OP_const2u, 0x34, 0x12);
	EXPECT_VAL(-32768, OP_const2s, 0x00, 0x80);
	EXPECT_VAL(0xfffffffeu, OP_const4u, 0xfe, 0xff, 0xff, 0xff);
	EXPECT_VAL(-2, OP_const4s, 0xfe, 0xff, 0xff, 0xff);
	EXPECT_VAL(0x8877665544332211u, OP_const8u,
		   0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);
	EXPECT_VAL(INT64_MIN, OP_const8s, I64_MIN_BYTES);
	EXPECT_VAL(624485, OP_constu, 0xe5, 0x8e, 0x26);
	EXPECT_VAL(-1, OP_consts, 0x7f);
	EXPECT_VAL(-123456, OP_consts, 0xc0, 0xbb, 0x78);
	EXPECT_VAL(UINT64_MAX, OP_constu, 0xff, 0xff, 0xff, 0xff, 0xff,
		   0xff, 0xff, 0xff, 0xff, 0x01);
	EXPECT_VAL(0x00007fffdeadbeefu, OP_addr,
		   0xef, 0xbe, 0xad, 0xde, 0xff, 0x7f, 0x00, 0x00);
	/* the last value pushed is the result */
	EXPECT_VAL(2, OP_lit1, OP_lit2);
	EXPECT_VAL(5, OP_lit5, OP_nop, OP_nop);

	/* DW_OP_addr follows addr_size; 0 means the x86-64 default of 8 */
	struct sw_expr_env e4 = env;
	uint64_t v = 0;
	e4.addr_size = 4;
	CHECK_EQ(sw_expr_eval(BYTES(OP_addr, 0x78, 0x56, 0x34, 0x12, OP_lit1), 6,
			      &e4, NULL, 0, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(sw_expr_eval(BYTES(OP_addr, 0x78, 0x56, 0x34, 0x12), 5,
			      &e4, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x12345678);
	e4.addr_size = 0;
	CHECK_EQ(sw_expr_eval(BYTES(OP_addr, 1, 2, 3, 4, 5, 6, 7, 8), 9,
			      &e4, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x0807060504030201u);
}

TEST(typed_constants_and_conversions)
{
	reset();
	EXPECT_VAL(0x12345678, OP_const_type, 0x2a, 4, 0x78, 0x56, 0x34, 0x12);
	EXPECT_VAL(0xbeef, OP_GNU_const_type, 0xaa, 0x01, 2, 0xef, 0xbe);
	EXPECT_VAL(0x0807060504030201u, OP_const_type, 0x2a, 8,
		   1, 2, 3, 4, 5, 6, 7, 8);
	EXPECT_ERR(SW_EBADOP, OP_const_type, 0x2a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9);
	EXPECT_ERR(SW_ETRUNCATED, OP_const_type, 0x2a, 8, 1, 2, 3);
	EXPECT_ERR(SW_ETRUNCATED, OP_const_type, 0x2a);

	EXPECT_VAL(5, OP_lit5, OP_convert, 0x2a);
	EXPECT_VAL(5, OP_lit5, OP_GNU_convert, 0x80, 0x01);
	EXPECT_VAL(5, OP_lit5, OP_reinterpret, 0x00);
	EXPECT_VAL(5, OP_lit5, OP_GNU_reinterpret, 0x2a);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_convert, 0x2a);
	EXPECT_ERR(SW_ETRUNCATED, OP_lit5, OP_convert);
}

TEST(arithmetic_wraps)
{
	reset();
	EXPECT_VAL(8, OP_lit5, OP_lit3, OP_plus);
	EXPECT_VAL(2, OP_lit5, OP_lit3, OP_minus);
	EXPECT_VAL(-2, OP_lit3, OP_lit5, OP_minus);
	EXPECT_VAL(15, OP_lit5, OP_lit3, OP_mul);
	EXPECT_VAL(0, OP_consts, 0x7f, OP_lit1, OP_plus);
	EXPECT_VAL(INT64_MAX, OP_const8s, I64_MIN_BYTES, OP_lit1, OP_minus);
	EXPECT_VAL(0, OP_const8u, I64_MIN_BYTES, OP_lit2, OP_mul);
	EXPECT_VAL(-5, OP_lit5, OP_neg);
	EXPECT_VAL(INT64_MIN, OP_const8u, I64_MIN_BYTES, OP_neg);
	EXPECT_VAL(UINT64_MAX, OP_lit0, OP_not);
	EXPECT_VAL(~(uint64_t)5, OP_lit5, OP_not);
	EXPECT_VAL(7, OP_consts, 0x79, OP_abs);
	EXPECT_VAL(7, OP_lit7, OP_abs);
	EXPECT_VAL(INT64_MIN, OP_const8u, I64_MIN_BYTES, OP_abs);
	EXPECT_VAL(0x0c & 0x0a, OP_const1u, 0x0c, OP_lit10, OP_and);
	EXPECT_VAL(0x0c | 0x0a, OP_const1u, 0x0c, OP_lit10, OP_or);
	EXPECT_VAL(0x0c ^ 0x0a, OP_const1u, 0x0c, OP_lit10, OP_xor);
	EXPECT_VAL(129, OP_lit1, OP_plus_uconst, 0x80, 0x01);
	EXPECT_VAL(4, OP_consts, 0x7b, OP_plus_uconst, 0x09);
}

TEST(signed_div_and_unsigned_mod)
{
	reset();
	EXPECT_VAL(3, OP_lit7, OP_lit2, OP_div);
	EXPECT_VAL(-3, OP_consts, 0x79, OP_lit2, OP_div);          /* -7 / 2 */
	EXPECT_VAL(-3, OP_lit7, OP_consts, 0x7e, OP_div);          /* 7 / -2 */
	EXPECT_VAL(3, OP_consts, 0x79, OP_consts, 0x7e, OP_div);   /* -7 / -2 */
	EXPECT_VAL(7, OP_consts, 0x79, OP_consts, 0x7f, OP_div);   /* -7 / -1 */
	EXPECT_VAL(INT64_MIN, OP_const8s, I64_MIN_BYTES, OP_consts, 0x7f, OP_div);
	EXPECT_ERR(SW_EDIVZERO, OP_lit7, OP_lit0, OP_div);
	EXPECT_ERR(SW_EDIVZERO, OP_const8s, I64_MIN_BYTES, OP_lit0, OP_div);

	EXPECT_VAL(1, OP_lit7, OP_lit3, OP_mod);
	EXPECT_VAL(0, OP_lit9, OP_lit3, OP_mod);
	/* unsigned: (2^64 - 1) % 10 == 5, where signed would give -1 */
	EXPECT_VAL(5, OP_consts, 0x7f, OP_lit10, OP_mod);
	EXPECT_ERR(SW_EDIVZERO, OP_lit7, OP_lit0, OP_mod);
}

TEST(shifts)
{
	reset();
	EXPECT_VAL(16, OP_lit1, OP_lit4, OP_shl);
	EXPECT_VAL((uint64_t)1 << 63, OP_lit1, OP_const1u, 63, OP_shl);
	EXPECT_VAL(0, OP_lit1, OP_const1u, 64, OP_shl);
	EXPECT_VAL(0, OP_lit1, OP_const1u, 200, OP_shl);
	EXPECT_VAL(0, OP_lit1, OP_consts, 0x7f, OP_shl);         /* by 2^64-1 */
	EXPECT_VAL(0, OP_lit1, OP_const8u, 0, 0, 0, 0, 1, 0, 0, 0, OP_shl);

	EXPECT_VAL(1, OP_lit16, OP_lit4, OP_shr);
	EXPECT_VAL(0xf, OP_consts, 0x7f, OP_const1u, 60, OP_shr); /* logical */
	EXPECT_VAL(0, OP_consts, 0x7f, OP_const1u, 64, OP_shr);
	EXPECT_VAL(0, OP_consts, 0x7f, OP_consts, 0x7f, OP_shr);

	EXPECT_VAL(4, OP_lit8, OP_lit1, OP_shra);
	EXPECT_VAL(-4, OP_consts, 0x70, OP_lit2, OP_shra);        /* -16 >> 2 */
	EXPECT_VAL(-1, OP_consts, 0x70, OP_const1u, 63, OP_shra);
	EXPECT_VAL(-1, OP_const8u, I64_MIN_BYTES, OP_const1u, 63, OP_shra);
	EXPECT_VAL(-1, OP_consts, 0x70, OP_const1u, 64, OP_shra);
	EXPECT_VAL(-1, OP_consts, 0x70, OP_consts, 0x7f, OP_shra);
	EXPECT_VAL(0, OP_lit16, OP_const1u, 64, OP_shra);
	EXPECT_VAL(0, OP_lit16, OP_const1u, 5, OP_shra);
	EXPECT_VAL(INT64_MAX >> 3, OP_consts, 0x7f, OP_lit1, OP_shr,
		   OP_lit3, OP_shra);
}

TEST(comparisons_are_signed)
{
	reset();
	/* -1 < 1 signed (unsigned would say the opposite) */
	EXPECT_VAL(1, OP_consts, 0x7f, OP_lit1, OP_lt);
	EXPECT_VAL(0, OP_consts, 0x7f, OP_lit1, OP_gt);
	EXPECT_VAL(1, OP_lit1, OP_consts, 0x7f, OP_gt);
	EXPECT_VAL(0, OP_lit1, OP_consts, 0x7f, OP_lt);
	EXPECT_VAL(1, OP_consts, 0x7f, OP_lit1, OP_le);
	EXPECT_VAL(0, OP_consts, 0x7f, OP_lit1, OP_ge);
	EXPECT_VAL(1, OP_lit3, OP_lit3, OP_ge);
	EXPECT_VAL(1, OP_lit3, OP_lit3, OP_le);
	EXPECT_VAL(0, OP_lit3, OP_lit3, OP_gt);
	EXPECT_VAL(0, OP_lit3, OP_lit3, OP_lt);
	EXPECT_VAL(1, OP_lit3, OP_lit3, OP_eq);
	EXPECT_VAL(0, OP_lit3, OP_lit4, OP_eq);
	EXPECT_VAL(1, OP_lit3, OP_lit4, OP_ne);
	EXPECT_VAL(0, OP_lit4, OP_lit4, OP_ne);
	EXPECT_VAL(1, OP_const8s, I64_MIN_BYTES, OP_lit0, OP_lt);
}

TEST(stack_operations)
{
	reset();
	EXPECT_VAL(6, OP_lit3, OP_dup, OP_plus);
	EXPECT_VAL(1, OP_lit1, OP_lit2, OP_drop);
	EXPECT_VAL(5, OP_lit5, OP_lit2, OP_over);
	EXPECT_VAL(-3, OP_lit5, OP_lit2, OP_over, OP_minus);      /* 2 - 5 */
	EXPECT_VAL(-3, OP_lit5, OP_lit2, OP_swap, OP_minus);      /* 2 - 5 */
	EXPECT_VAL(3, OP_lit1, OP_lit2, OP_lit3, OP_pick, 0);
	EXPECT_VAL(2, OP_lit1, OP_lit2, OP_lit3, OP_pick, 1);
	EXPECT_VAL(1, OP_lit1, OP_lit2, OP_lit3, OP_pick, 2);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_lit2, OP_lit3, OP_pick, 3);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_pick, 0xff);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_pick, 0);
	/* rot: [1 2 3] (3 on top) becomes [3 1 2] */
	EXPECT_VAL(2, OP_lit1, OP_lit2, OP_lit3, OP_rot);
	EXPECT_VAL(1, OP_lit1, OP_lit2, OP_lit3, OP_rot, OP_drop);
	EXPECT_VAL(3, OP_lit1, OP_lit2, OP_lit3, OP_rot, OP_drop, OP_drop);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_lit2, OP_lit3, OP_rot,
		   OP_drop, OP_drop, OP_drop);
	/* rot only touches the top three */
	EXPECT_VAL(9, OP_lit9, OP_lit1, OP_lit2, OP_lit3, OP_rot,
		   OP_drop, OP_drop, OP_drop);
}

TEST(push_values_come_first)
{
	uint64_t pv[3] = { 100, 200, 0x1234 };
	uint64_t v = 0;

	reset();
	CHECK_EQ(sw_expr_eval(BYTES(OP_nop), 0, &env, pv, 3, &v), 0);
	CHECK_EQ(v, 0x1234);
	CHECK_EQ(sw_expr_eval(BYTES(OP_drop, OP_minus), 2, &env, pv, 3, &v), 0);
	CHECK_EQ(v, -100);
	CHECK_EQ(sw_expr_eval(BYTES(OP_plus_uconst, 0x10), 2, &env, pv, 1, &v), 0);
	CHECK_EQ(v, 116);
	/* NULL expression with nothing to read: just the pushed value */
	CHECK_EQ(sw_expr_eval(NULL, 0, &env, pv, 2, &v), 0);
	CHECK_EQ(v, 200);
}

TEST(skip_and_bra)
{
	uint64_t v = 0;

	reset();
	EXPECT_VAL(3, OP_lit3, OP_skip, 0x01, 0x00, OP_lit1);
	EXPECT_VAL(1, OP_lit3, OP_skip, 0x00, 0x00, OP_lit1);
	/* a target exactly at the end finishes the evaluation */
	EXPECT_VAL(7, OP_lit7, OP_skip, 0x01, 0x00, OP_lit9);
	EXPECT_VAL(7, OP_lit7, OP_skip, 0x00, 0x00);
	EXPECT_ERR(SW_EBADOP, OP_lit7, OP_skip, 0x02, 0x00, OP_lit9);
	EXPECT_ERR(SW_EBADOP, OP_lit7, OP_skip, 0xfb, 0xff);       /* -> -1 */
	EXPECT_ERR(SW_EBADOP, OP_lit7, OP_skip, 0xff, 0x7f);
	EXPECT_ERR(SW_EBADOP, OP_lit7, OP_skip, 0x00, 0x80);
	/* forward, back, forward: offset 0 -> 7 -> 3 (lit4) -> 10 (the end) */
	EXPECT_VAL(4, OP_skip, 0x04, 0x00, OP_lit4, OP_skip, 0x03, 0x00,
		   OP_skip, 0xf9, 0xff);

	EXPECT_VAL(4, OP_lit9, OP_lit0, OP_bra, 0x01, 0x00, OP_lit4);
	EXPECT_VAL(9, OP_lit9, OP_lit1, OP_bra, 0x01, 0x00, OP_lit4);
	EXPECT_VAL(9, OP_lit9, OP_consts, 0x7f, OP_bra, 0x01, 0x00, OP_lit4);
	EXPECT_ERR(SW_EBADOP, OP_lit1, OP_bra, 0x02, 0x00, OP_lit4);
	EXPECT_ERR(SW_EBADOP, OP_lit1, OP_bra, 0xfa, 0xff);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_bra, 0x00, 0x00);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit9, OP_bra, 0x00, 0x00);

	/*
	 * sum = 0; n = 10; do { sum += n; n--; } while (n);  -> 55
	 * stack [sum n]: dup rot plus swap -> [sum+n n]; lit1 minus;
	 * dup bra back to the dup at offset 2 (12 - 10).
	 */
	static const uint8_t loop[] = {
		OP_lit0, OP_lit10,
		OP_dup, OP_rot, OP_plus, OP_swap, OP_lit1, OP_minus,
		OP_dup, OP_bra, 0xf6, 0xff,
		OP_drop,
	};
	CHECK_EQ(sw_expr_eval(loop, sizeof loop, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 55);
	/* the same body fed from the push values: 1 + ... + 100; its branch
	 * now lands on offset 0 */
	uint64_t pv[2] = { 0, 100 };
	CHECK_EQ(sw_expr_eval(loop + 2, sizeof loop - 2, &env, pv, 2, &v), 0);
	CHECK_EQ(v, 5050);
	/* one byte further back is outside the expression */
	static const uint8_t loop_bad[] = {
		OP_dup, OP_rot, OP_plus, OP_swap, OP_lit1, OP_minus,
		OP_dup, OP_bra, 0xf5, 0xff,
		OP_drop,
	};
	v = 0x5a5a;
	CHECK_EQ(sw_expr_eval(loop_bad, sizeof loop_bad, &env, pv, 2, &v),
		 SW_EBADOP);
	CHECK_EQ(v, 0x5a5a);
}

TEST(step_limit)
{
	static uint8_t buf[SW_EXPR_STEP_MAX + 1];
	uint64_t v = 0;

	reset();
	/* skip -3 jumps back onto itself forever */
	EXPECT_ERR(SW_ESTEPLIMIT, OP_skip, 0xfd, 0xff);
	EXPECT_ERR(SW_ESTEPLIMIT, OP_lit1, OP_skip, 0xfd, 0xff);
	EXPECT_ERR(SW_ESTEPLIMIT, OP_lit1, OP_dup, OP_bra, 0xfc, 0xff);

	/* exactly SW_EXPR_STEP_MAX operations are allowed, one more is not */
	memset(buf, OP_nop, sizeof buf);
	buf[SW_EXPR_STEP_MAX - 1] = OP_lit7;
	CHECK_EQ(sw_expr_eval(buf, SW_EXPR_STEP_MAX, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 7);
	buf[SW_EXPR_STEP_MAX - 1] = OP_nop;
	buf[SW_EXPR_STEP_MAX] = OP_lit7;
	CHECK_EQ(sw_expr_eval(buf, SW_EXPR_STEP_MAX + 1, &env, NULL, 0, &v),
		 SW_ESTEPLIMIT);
}

TEST(memory_reads)
{
	uint64_t v = 0;

	reset();
	poke64(MEM_BASE + 0x10, 0x1122334455667788u);
	/* mem[i] = i ^ 0xa5 elsewhere: bytes at 0x1020.. are 85 84 87 86 81 ... */
	EXPECT_VAL(0x1122334455667788u, OP_const2u, 0x10, 0x10, OP_deref);
	EXPECT_VAL(0x88, OP_const2u, 0x10, 0x10, OP_deref_size, 1);
	EXPECT_VAL(0x7788, OP_const2u, 0x10, 0x10, OP_deref_size, 2);
	EXPECT_VAL(0x55667788, OP_const2u, 0x10, 0x10, OP_deref_size, 4);
	EXPECT_VAL(0x1122334455667788u, OP_const2u, 0x10, 0x10, OP_deref_size, 8);
	EXPECT_VAL(0x868784, OP_const2u, 0x21, 0x10, OP_deref_size, 3);
	EXPECT_VAL(0x82838081868784u, OP_const2u, 0x21, 0x10, OP_deref_size, 7);
	EXPECT_ERR(SW_EBADOP, OP_const2u, 0x10, 0x10, OP_deref_size, 0);
	EXPECT_ERR(SW_EBADOP, OP_const2u, 0x10, 0x10, OP_deref_size, 9);
	EXPECT_ERR(SW_ETRUNCATED, OP_const2u, 0x10, 0x10, OP_deref_size);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_deref);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_deref_size, 4);

	/* odd sizes are split into reads the callback supports */
	fk.nlog = 0;
	EXPECT_VAL(0x82838081868784u, OP_const2u, 0x21, 0x10, OP_deref_size, 7);
	CHECK_EQ(fk.nlog, 3);
	CHECK_EQ(fk.log_addr[0], 0x1021);
	CHECK_EQ(fk.log_size[0], 4);
	CHECK_EQ(fk.log_addr[1], 0x1025);
	CHECK_EQ(fk.log_size[1], 2);
	CHECK_EQ(fk.log_addr[2], 0x1027);
	CHECK_EQ(fk.log_size[2], 1);
	CHECK_EQ(fk.bad_sizes, 0);

	/* xderef*: the address-space id below the address is consumed */
	EXPECT_VAL(0x1122334455667788u, OP_lit0, OP_const2u, 0x10, 0x10, OP_xderef);
	EXPECT_VAL(9, OP_lit9, OP_lit0, OP_const2u, 0x10, 0x10, OP_xderef, OP_drop);
	EXPECT_VAL(0x7788, OP_lit1, OP_const2u, 0x10, 0x10, OP_xderef_size, 2);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_const2u, 0x10, 0x10, OP_xderef);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_const2u, 0x10, 0x10, OP_xderef_size, 2);

	/* typed derefs: size byte, then the type's DIE offset */
	EXPECT_VAL(0x55667788, OP_const2u, 0x10, 0x10, OP_deref_type, 4, 0x2a);
	EXPECT_VAL(0x7788, OP_const2u, 0x10, 0x10, OP_GNU_deref_type, 2, 0x80, 0x01);
	EXPECT_VAL(0x88, OP_lit0, OP_const2u, 0x10, 0x10, OP_xderef_type, 1, 0x2a);
	EXPECT_ERR(SW_EBADOP, OP_const2u, 0x10, 0x10, OP_deref_type, 16, 0x2a);
	EXPECT_ERR(SW_ETRUNCATED, OP_const2u, 0x10, 0x10, OP_deref_type, 4);

	/* deref follows addr_size */
	struct sw_expr_env e4 = env;
	e4.addr_size = 4;
	CHECK_EQ(sw_expr_eval(BYTES(OP_const2u, 0x10, 0x10, OP_deref), 4,
			      &e4, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x55667788);

	/* reads past the fake memory fail in the callback */
	EXPECT_ERR(SW_EMEMORY, OP_const2u, 0x00, 0x20, OP_deref);
	EXPECT_ERR(SW_EMEMORY, OP_const2u, 0xf9, 0x10, OP_deref);
	EXPECT_VAL(0xff ^ 0xa5, OP_const2u, 0xff, 0x10, OP_deref_size, 1);
	EXPECT_ERR(SW_EMEMORY, OP_lit0, OP_deref);
	CHECK_EQ(fk.bad_sizes, 0);
}

TEST(failing_memory_callback)
{
	reset();
	fk.mem_rc = SW_EMEMORY;
	EXPECT_ERR(SW_EMEMORY, OP_const2u, 0x10, 0x10, OP_deref);
	EXPECT_ERR(SW_EMEMORY, OP_const2u, 0x10, 0x10, OP_deref_size, 3);
	/* any negative code is passed through unchanged */
	fk.mem_rc = SW_EIO;
	EXPECT_ERR(SW_EIO, OP_const2u, 0x10, 0x10, OP_deref);
	/* a contract-breaking positive code still reads as a failure */
	fk.mem_rc = 1;
	EXPECT_ERR(SW_EMEMORY, OP_const2u, 0x10, 0x10, OP_deref);
}

TEST(register_reads)
{
	reset();
	EXPECT_VAL(0x1000, OP_breg0, 0x00);
	EXPECT_VAL(0x1000 - 8, OP_breg0, 0x78);
	EXPECT_VAL(0x8000 + 160, OP_breg7, 0xa0, 0x01);
	EXPECT_VAL(0x11000, OP_breg16, 0x00);
	EXPECT_VAL(0x6000 + 1, OP_breg0 + 5, 0x01);
	EXPECT_VAL(0x8000 - 8, OP_bregx, 0x07, 0x78);
	EXPECT_VAL(0x11000 + 64, OP_bregx, 0x10, 0xc0, 0x00);
	EXPECT_VAL(0x8000, OP_regval_type, 0x07, 0x2a);
	EXPECT_VAL(0x11000, OP_GNU_regval_type, 0x10, 0x80, 0x01);
	EXPECT_ERR(SW_EBADREG, OP_breg31, 0x00);          /* unknown to the fake */
	EXPECT_ERR(SW_EBADREG, OP_bregx, 0x64, 0x00);
	/* register numbers beyond 32 bits never reach the callback */
	EXPECT_ERR(SW_EBADREG, OP_bregx, 0x81, 0x80, 0x80, 0x80, 0x10, 0x00);
	EXPECT_ERR(SW_ETRUNCATED, OP_breg7);
	EXPECT_ERR(SW_ETRUNCATED, OP_breg7, 0x80);
	EXPECT_ERR(SW_ETRUNCATED, OP_bregx, 0x07);
	EXPECT_ERR(SW_ETRUNCATED, OP_regval_type, 0x07);
	/* offsets wrap */
	fk.regs[3] = UINT64_MAX;
	EXPECT_VAL(1, OP_breg0 + 3, 0x02);
}

TEST(glibc_sigreturn_cfa)
{
	/* __restore_rt: DW_CFA_def_cfa_expression: DW_OP_breg7 (rsp) +160; DW_OP_deref */
	static const uint8_t cfa[] = { OP_breg7, 0xa0, 0x01, OP_deref };
	uint64_t v = 0;

	reset();
	fk.regs[7] = MEM_BASE + 0x20;
	poke64(MEM_BASE + 0x20 + 160, 0x00007ffc12345678u);
	CHECK_EQ(sw_expr_eval(cfa, sizeof cfa, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x00007ffc12345678u);
	CHECK_EQ(fk.nlog, 1);
	CHECK_EQ(fk.log_addr[0], MEM_BASE + 0x20 + 160);
	CHECK_EQ(fk.log_size[0], 8);
}

TEST(plt_cfa_expression)
{
	/* gcc/binutils .plt: CFA = rsp + 8 + ((rip & 15) >= 10) << 3 */
	static const uint8_t plt[] = {
		OP_breg7, 0x08, OP_breg16, 0x00, OP_lit15, OP_and,
		OP_lit10, OP_ge, OP_lit3, OP_shl, OP_plus,
	};
	uint64_t v = 0;

	reset();
	fk.regs[7] = 0x7ffe1000;
	fk.regs[16] = 0x401026;           /* before the push: offset 6 */
	CHECK_EQ(sw_expr_eval(plt, sizeof plt, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x7ffe1008);
	fk.regs[16] = 0x40102b;           /* after the push: offset 11 */
	CHECK_EQ(sw_expr_eval(plt, sizeof plt, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x7ffe1010);
	fk.regs[16] = 0x40102a;           /* boundary: offset 10 */
	CHECK_EQ(sw_expr_eval(plt, sizeof plt, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x7ffe1010);
	fk.regs[16] = 0x401029;
	CHECK_EQ(sw_expr_eval(plt, sizeof plt, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 0x7ffe1008);
}

TEST(truncated_operands)
{
	reset();
	EXPECT_ERR(SW_ETRUNCATED, OP_const1u);
	EXPECT_ERR(SW_ETRUNCATED, OP_const1s);
	EXPECT_ERR(SW_ETRUNCATED, OP_const2u, 0x01);
	EXPECT_ERR(SW_ETRUNCATED, OP_const2s, 0x01);
	EXPECT_ERR(SW_ETRUNCATED, OP_const4u, 1, 2, 3);
	EXPECT_ERR(SW_ETRUNCATED, OP_const4s, 1, 2, 3);
	EXPECT_ERR(SW_ETRUNCATED, OP_const8u, 1, 2, 3, 4, 5, 6, 7);
	EXPECT_ERR(SW_ETRUNCATED, OP_const8s, 1, 2, 3, 4, 5, 6, 7);
	EXPECT_ERR(SW_ETRUNCATED, OP_addr, 1, 2, 3, 4, 5, 6, 7);
	EXPECT_ERR(SW_ETRUNCATED, OP_constu);
	EXPECT_ERR(SW_ETRUNCATED, OP_constu, 0x80);
	EXPECT_ERR(SW_ETRUNCATED, OP_consts, 0xff, 0xff);
	EXPECT_ERR(SW_ETRUNCATED, OP_lit1, OP_plus_uconst, 0x80);
	EXPECT_ERR(SW_ETRUNCATED, OP_lit1, OP_pick);
	EXPECT_ERR(SW_ETRUNCATED, OP_skip, 0x00);
	EXPECT_ERR(SW_ETRUNCATED, OP_lit1, OP_bra);
	EXPECT_ERR(SW_ETRUNCATED, OP_GNU_const_type, 0x2a, 0x02, 0x01);
	/* an earlier good value does not hide the error */
	EXPECT_ERR(SW_ETRUNCATED, OP_lit1, OP_lit2, OP_const4u, 0x00);
}

TEST(leb128_overflow)
{
	reset();
	/* 11-byte ULEB128 whose last byte carries bit 70 */
	EXPECT_ERR(SW_ELEB128, OP_constu, 0x80, 0x80, 0x80, 0x80, 0x80,
		   0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
	/* 10 bytes with bits above 63 */
	EXPECT_ERR(SW_ELEB128, OP_constu, 0xff, 0xff, 0xff, 0xff, 0xff,
		   0xff, 0xff, 0xff, 0xff, 0x7f);
	EXPECT_ERR(SW_ELEB128, OP_consts, 0x80, 0x80, 0x80, 0x80, 0x80,
		   0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
	EXPECT_ERR(SW_ELEB128, OP_lit1, OP_plus_uconst, 0x80, 0x80, 0x80, 0x80,
		   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
	EXPECT_ERR(SW_ELEB128, OP_breg7, 0x80, 0x80, 0x80, 0x80, 0x80,
		   0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
	EXPECT_ERR(SW_ELEB128, OP_bregx, 0x80, 0x80, 0x80, 0x80, 0x80,
		   0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00);
}

TEST(stack_overflow_and_underflow)
{
	uint8_t buf[SW_EXPR_STACK_MAX + 1];
	uint64_t pv[SW_EXPR_STACK_MAX + 1];
	uint64_t v = 0;

	reset();
	memset(buf, OP_lit1, sizeof buf);
	CHECK_EQ(sw_expr_eval(buf, SW_EXPR_STACK_MAX, &env, NULL, 0, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(sw_expr_eval(buf, SW_EXPR_STACK_MAX + 1, &env, NULL, 0, &v),
		 SW_ESTACKOVERFLOW);
	/* the initial values count against the same limit */
	for (unsigned i = 0; i <= SW_EXPR_STACK_MAX; i++)
		pv[i] = i;
	CHECK_EQ(sw_expr_eval(NULL, 0, &env, pv, SW_EXPR_STACK_MAX, &v), 0);
	CHECK_EQ(v, SW_EXPR_STACK_MAX - 1);
	CHECK_EQ(sw_expr_eval(buf, 1, &env, pv, SW_EXPR_STACK_MAX, &v),
		 SW_ESTACKOVERFLOW);
	CHECK_EQ(sw_expr_eval(buf, 1, &env, pv, SW_EXPR_STACK_MAX - 1, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(sw_expr_eval(NULL, 0, &env, pv, SW_EXPR_STACK_MAX + 1, &v),
		 SW_ESTACKOVERFLOW);
	CHECK_EQ(sw_expr_eval(BYTES(OP_dup), 1, &env, pv, SW_EXPR_STACK_MAX, &v),
		 SW_ESTACKOVERFLOW);
	CHECK_EQ(sw_expr_eval(BYTES(OP_over), 1, &env, pv, SW_EXPR_STACK_MAX, &v),
		 SW_ESTACKOVERFLOW);
	CHECK_EQ(sw_expr_eval(BYTES(OP_breg0, 0), 2, &env, pv, SW_EXPR_STACK_MAX, &v),
		 SW_ESTACKOVERFLOW);
	/* deref replaces the address in place: no extra slot needed */
	poke64(MEM_BASE + 0x10, 0x77);
	CHECK_EQ(sw_expr_eval(BYTES(OP_const2u, 0x10, 0x10, OP_deref), 4, &env, pv,
			      SW_EXPR_STACK_MAX - 1, &v), 0);
	CHECK_EQ(v, 0x77);

	/* an empty stack at the end is an underflow */
	CHECK_EQ(sw_expr_eval(NULL, 0, &env, NULL, 0, &v), SW_ESTACKUNDERFLOW);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_nop);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_drop);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_drop);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_dup);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_over);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_swap);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_lit2, OP_rot);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_plus);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_div);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_lit1, OP_lt);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_abs);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_neg);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_not);
	EXPECT_ERR(SW_ESTACKUNDERFLOW, OP_plus_uconst, 0x01);
}

TEST(bad_opcodes)
{
	static const uint8_t bad[] = {
		0x00, 0x01, 0x02, 0x04, 0x05, 0x07, OP_reg0, OP_reg0 + 7, OP_reg31,
		OP_regx, OP_fbreg, OP_piece, 0x97, 0x98, 0x99, 0x9a, 0x9b,
		OP_call_frame_cfa, 0x9d, OP_implicit_value, OP_stack_value,
		0xa0, OP_addrx, OP_constx, OP_entry_value, 0xaa, 0xdf,
		OP_GNU_push_tls, OP_GNU_uninit, OP_GNU_encoded_addr, 0xf2,
		OP_GNU_entry_value, 0xf8, OP_GNU_parameter_ref, 0xfb, 0xff,
	};
	uint64_t v = 0x5a5a;

	reset();
	for (unsigned i = 0; i < sizeof bad; i++) {
		/* operands that would be valid for any of them follow */
		uint8_t e[4] = { OP_lit1, bad[i], 0x00, 0x00 };
		int rc = sw_expr_eval(e, sizeof e, &env, NULL, 0, &v);
		if (rc != SW_EBADOP)
			printf("    opcode 0x%02x: %d\n", bad[i], rc);
		CHECK_EQ(rc, SW_EBADOP);
	}
	CHECK_EQ(v, 0x5a5a);
	EXPECT_ERR(SW_EBADOP, OP_lit1, OP_stack_value);
	EXPECT_ERR(SW_EBADOP, OP_reg0);
	EXPECT_ERR(SW_EBADOP, OP_lit1, OP_piece, 0x08);
	EXPECT_ERR(SW_EBADOP, 0xff);
}

TEST(null_callbacks_and_arguments)
{
	struct sw_expr_env none = { NULL, NULL, NULL, 8 };
	uint64_t v = 0;

	reset();
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit0, OP_deref), 2, &none, NULL, 0, &v),
		 SW_EMEMORY);
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit0, OP_deref_size, 3), 3, &none, NULL, 0,
			      &v), SW_EMEMORY);
	CHECK_EQ(sw_expr_eval(BYTES(OP_breg7, 0), 2, &none, NULL, 0, &v),
		 SW_EBADREG);
	CHECK_EQ(sw_expr_eval(BYTES(OP_bregx, 7, 0), 3, &none, NULL, 0, &v),
		 SW_EBADREG);
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit3, OP_lit4, OP_mul), 3, &none, NULL, 0,
			      &v), 0);
	CHECK_EQ(v, 12);
	/* no env at all behaves like one without callbacks */
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit3), 1, NULL, NULL, 0, &v), 0);
	CHECK_EQ(v, 3);
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit0, OP_deref), 2, NULL, NULL, 0, &v),
		 SW_EMEMORY);
	/* caller bugs */
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit3), 1, &env, NULL, 0, NULL), SW_EINVAL);
	CHECK_EQ(sw_expr_eval(NULL, 1, &env, NULL, 0, &v), SW_EINVAL);
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit3), 1, &env, NULL, 1, &v), SW_EINVAL);
	none.addr_size = 16;
	CHECK_EQ(sw_expr_eval(BYTES(OP_lit3), 1, &none, NULL, 0, &v), SW_EINVAL);
}

/* Every 1- to 3-byte expression over a fixed operand alphabet, with and
 * without values pushed first: only the range of the result is checked. */
TEST(no_crash_short_expressions)
{
	static const uint8_t operand[] = {
		0x00, 0x01, 0x02, 0x08, 0x30, 0x7f, 0x80, 0xa0, 0xfd, 0xff,
	};
	const unsigned nop = sizeof operand;
	uint64_t pv[2] = { MEM_BASE + 8, 3 };
	unsigned runs = 0, bad = 0, ok = 0;

	reset();
	for (unsigned b0 = 0; b0 < 256; b0++) {
		for (unsigned k = 0; k < 1 + nop + nop * nop; k++) {
			uint8_t e[3] = { (uint8_t)b0, 0, 0 };
			size_t len = 1;

			if (k >= 1 && k < 1 + nop) {
				e[1] = operand[k - 1];
				len = 2;
			} else if (k >= 1 + nop) {
				e[1] = operand[(k - 1 - nop) / nop];
				e[2] = operand[(k - 1 - nop) % nop];
				len = 3;
			}
			for (unsigned np = 0; np <= 2; np += 2) {
				uint64_t v = 0;
				int rc = sw_expr_eval(e, len, &env, pv, np, &v);

				runs++;
				if (rc == 0)
					ok++;
				if (rc > 0 || rc < -26) {
					if (bad++ < 5)
						printf("    %02x %02x %02x (len %zu): %d\n",
						       e[0], e[1], e[2], len, rc);
				}
			}
		}
	}
	CHECK_EQ(runs, 256 * (1 + 10 + 100) * 2);
	CHECK_EQ(bad, 0);
	CHECK(ok > 1000);
	CHECK_EQ(fk.bad_sizes, 0);
}

SW_TEST_MAIN
