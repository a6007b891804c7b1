/*
 * Lazy callback ranges (sw_jit_add_callback): the JIT describes a
 * procedure only when a reader asks (readers.c converts the answer).
 */
#include <stdlib.h>

#include "jit/error.h"
#include "jit/registry/internal.h"

static int add_callback(uint64_t start, uint64_t end, sw_jit_callback_t callback,
			sw_jit_callback_sized_t sized, void *arg, sw_jit_handle_t *out)
{
	struct cbobj *c;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	if (!callback && !sized)
		return sw_jit_fail(SW_EINVAL, "callback: NULL");
	if (!range_ok(start, end))
		return sw_reg_range_fail("end", start, end);
	if (sw_reg_scratch_init() < 0)
		return SW_ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return SW_ENOMEM;
	c->h.type = OBJ_CALLBACK;
	c->start = start;
	c->end = end;
	c->cb = callback;
	c->scb = sized;
	c->arg = arg;
	rc = sw_reg_range_register(&c->h, start, end, sw_reg_block_size(c), out);
	if (rc < 0)
		free(c);
	return rc;
}

int sw_jit_add_callback(uint64_t start, uint64_t end, sw_jit_callback_t callback, void *arg,
			sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(add_callback(start, end, callback, NULL, arg, out), mark,
			      "sw_jit_add_callback: ");
}

int sw_jit_add_callback_sized(uint64_t start, uint64_t end, sw_jit_callback_sized_t callback,
			      void *arg, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(add_callback(start, end, NULL, callback, arg, out), mark,
			      "sw_jit_add_callback_sized: ");
}
