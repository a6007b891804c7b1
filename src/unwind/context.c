/* sw_context_get_reg / sw_context_set_reg: the registers of an opaque
 * sw_context_t, through the library's view of it (arch/context.h). */
#include "arch/context.h"
#include "stackwalk.h"

int sw_context_get_reg(const sw_context_t *ctx, int reg, uint64_t *value)
{
	if (!ctx || !value)
		return SW_EINVAL;
	if (reg < 0 || reg >= SW_REG_COUNT)
		return SW_EBADREG;
	*value = sw_ctx_cimpl(ctx)->regs[reg];
	return 0;
}

int sw_context_set_reg(sw_context_t *ctx, int reg, uint64_t value)
{
	if (!ctx)
		return SW_EINVAL;
	if (reg < 0 || reg >= SW_REG_COUNT)
		return SW_EBADREG;
	sw_ctx_impl(ctx)->regs[reg] = value;
	return 0;
}
