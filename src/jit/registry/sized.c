/*
 * Arrays of struct sw_jit_proc of any element size (<stackwalk/jit.h>,
 * "Growing struct sw_jit_proc"): elements of the library's own size are
 * used in place; others are copied into structs of the library's layout,
 * missing trailing fields zero, and handed to the same registration code.
 */
#include <stdlib.h>

#include "jit/error.h"
#include "jit/registry/internal.h"

_Static_assert(offsetof(struct sw_jit_proc, file) == SW_JIT_PROC_SIZE_MIN,
	       "SW_JIT_PROC_SIZE_MIN is the layout before the line fields");
_Static_assert(sizeof(struct sw_jit_proc) == SW_JIT_PROC_SIZE_V2,
	       "struct sw_jit_proc grew: add SW_JIT_PROC_SIZE_V3 and keep V2's meaning");

/*
 * procs (n elements of elem_size bytes) as an array of the library's
 * struct: *out is procs itself or *tmp (malloc'ed; free it).  Returns 0,
 * SW_EINVAL (elem_size too small, unknown non-zero trailing bytes),
 * SW_ENOMEM.  NULL procs and a bad n are left to the registration, which
 * reports them as it always did.
 */
static int widen(const void *procs, size_t n, size_t elem_size, const struct sw_jit_proc **out,
		 struct sw_jit_proc **tmp)
{
	const size_t mine = sizeof(struct sw_jit_proc);

	*tmp = NULL;
	*out = procs;
	if (elem_size < SW_JIT_PROC_SIZE_MIN)
		return sw_jit_fail(SW_EINVAL, "elem_size: %zu is below SW_JIT_PROC_SIZE_MIN (%d: "
				   "the oldest struct sw_jit_proc)", elem_size,
				   SW_JIT_PROC_SIZE_MIN);
	if (elem_size == mine || !procs || !n || n > UINT32_MAX / 2)
		return 0;
	struct sw_jit_proc *v = calloc(n, mine);
	if (!v)
		return SW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *e = (const unsigned char *)procs + i * elem_size;
		memcpy(&v[i], e, elem_size < mine ? elem_size : mine);
		for (size_t b = mine; b < elem_size; b++) {
			if (e[b]) {
				free(v);
				return sw_jit_fail(SW_EINVAL, "procs[%zu]: byte %zu of the %zu-byte "
						   "element is not zero, and this library knows "
						   "only the first %zu (a field it cannot honour)",
						   i, b, elem_size, mine);
			}
		}
	}
	*tmp = v;
	*out = v;
	return 0;
}

int sw_jit_add_procs_sized(const void *procs, size_t n, size_t elem_size, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();
	const struct sw_jit_proc *p;
	struct sw_jit_proc *tmp;
	int rc = widen(procs, n, elem_size, &p, &tmp);

	if (rc == 0)
		rc = sw_reg_add_procs(p, n, out);
	free(tmp);
	/* the name callers wrote: sw_jit_add_procs is the macro for this */
	return sw_jit_err_ctx(rc, mark, "sw_jit_add_procs: ");
}

int sw_jit_table_append_sized(sw_jit_handle_t table, const void *procs, size_t n,
			      size_t elem_size)
{
	uint32_t mark = sw_jit_err_mark();
	const struct sw_jit_proc *p;
	struct sw_jit_proc *tmp;
	int rc = widen(procs, n, elem_size, &p, &tmp);

	if (rc == 0)
		rc = sw_reg_table_append(table, p, n);
	free(tmp);
	return sw_jit_err_ctx(rc, mark, "sw_jit_table_append: ");
}
