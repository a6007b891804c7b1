/*
 * libFuzzer target: the DWARF expression evaluator (sw_expr_eval).
 *
 * Input layout:
 *   byte 0    bits 0-2  how many initial values to push (0..7; CFI pushes 0
 *                       or 1, more exercises the stack limits)
 *             bit 3     DW_OP_addr / DW_OP_deref size 4 instead of 8
 *             bits 4-5  memory reads: 0 never fail, 1 fail for some
 *                       addresses, 2 fail for low addresses, 3 always fail
 *             bit 6     register reads fail for odd register numbers
 *             bit 7     no callbacks at all (every read fails); with
 *                       bit 3 also, no environment (env == NULL)
 *   the rest  the expression bytes
 *
 * The callbacks return data derived from the address / register number,
 * so dereference chains and computed branches see varied values.  Each
 * input is evaluated twice (the evaluator must be deterministic) and, with
 * a stack-limit probe, once more with SW_EXPR_STACK_MAX values pushed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/expr.h"
#include "stackwalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct mode {
	unsigned mem_fail;       /* 0..3, see above */
	bool reg_fail_odd;
	unsigned reads;          /* callback calls made */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return x;
}

static int mem_cb(void *arg, uint64_t addr, unsigned size, uint64_t *out)
{
	struct mode *m = arg;
	uint64_t v;

	m->reads++;
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	switch (m->mem_fail) {
	case 1:
		if ((mix(addr) & 7) == 0)
			return SW_EMEMORY;
		break;
	case 2:
		if (addr < 0x10000)
			return SW_EMEMORY;
		break;
	case 3:
		return SW_EMEMORY;
	}
	v = mix(addr);
	/* small values now and then, so computed branches and picks vary */
	if ((v & 0x30) == 0)
		v &= 0x1f;
	if (size < 8)
		v &= ((uint64_t)1 << (8 * size)) - 1;
	*out = v;
	return 0;
}

static int reg_cb(void *arg, unsigned regno, uint64_t *out)
{
	struct mode *m = arg;

	m->reads++;
	if (regno > 130 || (m->reg_fail_odd && (regno & 1)))
		return SW_EBADREG;
	*out = 0x7ffc00001000ULL + (uint64_t)regno * 0x100;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t seeds[8] = {
		0x7ffc00002000ULL, 0, 1, UINT64_MAX, 0x8000000000000000ULL,
		0x400000, 0xffffffff, 42,
	};
	uint64_t push[SW_EXPR_STACK_MAX + 1];
	struct mode m;
	struct sw_expr_env env;
	uint64_t r1 = 0x1111, r2 = 0x2222;
	unsigned npush;
	uint8_t *expr;
	int rc1, rc2;

	if (size < 1)
		return 0;
	npush = data[0] & 7;
	memset(&m, 0, sizeof(m));
	m.mem_fail = (data[0] >> 4) & 3;
	m.reg_fail_odd = data[0] & 0x40;
	memset(&env, 0, sizeof(env));
	if (!(data[0] & 0x80)) {
		env.read_mem = mem_cb;
		env.read_reg = reg_cb;
	}
	env.arg = &m;
	env.addr_size = (data[0] & 8) ? 4 : 8;
	for (unsigned i = 0; i < npush; i++)
		push[i] = seeds[i];

	/* an exact-size copy, so any read past the end is an ASan report */
	size--;
	expr = malloc(size ? size : 1);
	if (!expr)
		return 0;
	memcpy(expr, data + 1, size);

	const struct sw_expr_env *envp = (data[0] & 0x88) == 0x88 ? NULL : &env;
	rc1 = sw_expr_eval(expr, size, envp, push, npush, &r1);
	CHECK(rc1 <= 0);
	CHECK(rc1 != SW_EINVAL);
	if (rc1 < 0)
		CHECK(r1 == 0x1111);   /* *result untouched on failure */
	rc2 = sw_expr_eval(expr, size, envp, push, npush, &r2);
	CHECK(rc1 == rc2);
	if (rc1 == 0)
		CHECK(r1 == r2);
	/* an empty expression: the top of what was pushed, or underflow */
	if (size == 0)
		CHECK(npush ? rc1 == 0 && r1 == push[npush - 1] : rc1 == SW_ESTACKUNDERFLOW);

	/* a full stack: any push then overflows instead of writing past it */
	if ((data[0] & 7) == 7) {
		for (unsigned i = 0; i < SW_EXPR_STACK_MAX; i++)
			push[i] = mix(i);
		rc1 = sw_expr_eval(expr, size, &env, push, SW_EXPR_STACK_MAX, &r1);
		CHECK(rc1 <= 0);
		CHECK(sw_expr_eval(expr, size, &env, push, SW_EXPR_STACK_MAX + 1, &r1) ==
		      SW_ESTACKOVERFLOW);
	}
	/* the default address size (0) behaves as 8 */
	if (env.addr_size == 8) {
		env.addr_size = 0;
		rc2 = sw_expr_eval(expr, size, &env, push, npush > 0 ? 1 : 0, &r2);
		CHECK(rc2 <= 0);
	}
	free(expr);
	return 0;
}
