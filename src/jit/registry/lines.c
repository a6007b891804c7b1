/*
 * Line information (struct sw_jit_line) copied at registration for the
 * publishers that pass it on (GDB); the unwinder never reads it.
 */
#include <stdlib.h>

#include "jit/error.h"
#include "jit/registry/internal.h"

/* Line information of eager registrations, by handle index: one block
 * holding a struct lines per procedure (in descriptor order) and the
 * copies; NULL when the registration gave none.  Written under the writer
 * lock; read by readers (sw_jit_get_line) inside a read section, so a
 * replaced array or block is retired, not freed (epochs.c). */
struct lineset_arr {
	uint32_t cap;
	struct lines *v[];
};
static struct lineset_arr *linesets;

bool sw_reg_has_lines(const struct sw_jit_proc *p)
{
	return p->file && p->nlines;
}

/* Sorted offsets inside the procedure. */
int sw_reg_check_lines(const struct sw_jit_proc *p)
{
	if (!sw_reg_has_lines(p))
		return 0;
	if (!p->lines)
		return sw_jit_fail(SW_EINVAL, "lines: NULL with nlines %u", p->nlines);
	for (uint32_t i = 0; i < p->nlines; i++) {
		if (p->lines[i].offset >= p->end - p->start)
			return sw_jit_fail(SW_EINVAL, "lines[%u].offset: %u is not below the "
					   "procedure's size %llu", i, p->lines[i].offset,
					   (unsigned long long)(p->end - p->start));
		if (i && p->lines[i].offset < p->lines[i - 1].offset)
			return sw_jit_fail(SW_EINVAL, "lines[%u].offset: %u is below lines[%u].offset "
					   "%u (entries must be sorted)", i, p->lines[i].offset,
					   i - 1, p->lines[i - 1].offset);
	}
	return 0;
}

size_t sw_reg_lines_size(const struct sw_jit_proc *p)
{
	return sw_reg_has_lines(p) ? p->nlines * sizeof(struct sw_jit_line) + strlen(p->file) + 1 : 0;
}

/* Copy p's lines into `at` (lines_size bytes), describe them in *li. */
void sw_reg_lines_copy(const struct sw_jit_proc *p, struct lines *li, uint8_t *at)
{
	memset(li, 0, sizeof(*li));
	if (!sw_reg_has_lines(p))
		return;
	size_t lb = p->nlines * sizeof(struct sw_jit_line);
	memcpy(at, p->lines, lb);
	memcpy(at + lb, p->file, strlen(p->file) + 1);
	li->v = (const struct sw_jit_line *)(const void *)at;
	li->n = p->nlines;
	li->file = (const char *)at + lb;
}

/* One block for the lines of n descriptors, or NULL (none, or no memory:
 * line information is best effort). */
struct lines *sw_reg_lineset_make(const struct sw_jit_proc *procs, size_t n)
{
	size_t total = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		any |= sw_reg_has_lines(&procs[i]);
		total += align8(sw_reg_lines_size(&procs[i]));
	}
	if (!any)
		return NULL;
	struct lines *ls = malloc(n * sizeof(*ls) + total);
	if (!ls)
		return NULL;
	uint8_t *at = (uint8_t *)(ls + n);
	for (size_t i = 0; i < n; i++) {
		sw_reg_lines_copy(&procs[i], &ls[i], at);
		at += align8(sw_reg_lines_size(&procs[i]));
	}
	return ls;
}

void sw_reg_lineset_set(uint32_t hindex, struct lines *ls)
{
	struct lineset_arr *a = linesets;

	if (!a || hindex >= a->cap) {
		if (!ls)
			return;
		uint32_t cap = sw_reg_hcap > hindex ? sw_reg_hcap : hindex + 1;
		struct lineset_arr *na = calloc(1, sizeof(*na) + (size_t)cap * sizeof(na->v[0]));
		if (!na) {
			free(ls);
			return;
		}
		na->cap = cap;
		if (a)
			memcpy(na->v, a->v, (size_t)a->cap * sizeof(a->v[0]));
		__atomic_store_n(&linesets, na, __ATOMIC_RELEASE);
		if (a)
			sw_reg_retire(NULL, a);
		a = na;
	}
	struct lines *old = a->v[hindex];
	__atomic_store_n(&a->v[hindex], ls, __ATOMIC_RELEASE);
	if (old)
		sw_reg_retire(NULL, old);
}

const struct lines *sw_reg_lineset_get(uint32_t hindex, uint32_t i)
{
	const struct lineset_arr *a = __atomic_load_n(&linesets, __ATOMIC_ACQUIRE);
	if (!a || hindex >= a->cap)
		return NULL;
	const struct lines *ls = __atomic_load_n(&a->v[hindex], __ATOMIC_ACQUIRE);
	return ls ? &ls[i] : NULL;
}
