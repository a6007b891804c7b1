/*
 * Eager registrations: sw_jit_add_eh_frame (the JIT's .eh_frame, copied)
 * and sw_jit_add_procs (descriptors converted to .eh_frame now), each one
 * object indexed by procedure.
 */
#include <stdlib.h>

#include "arch/arch.h"
#include "dwarf/reader.h"
#include "jit/describe/describe.h"
#include "jit/error.h"
#include "jit/registry/internal.h"

/*
 * Allocate an eager object for `size` .eh_frame bytes, n procedures and
 * `namelen` bytes of names.
 */
static struct obj *eager_alloc(uint8_t flags, size_t n, size_t size, size_t namelen)
{
	size_t hdr = eager_head(flags, n);
	size_t total = hdr + size + ((flags & F_TERM) ? 4 : 0) + namelen;
	struct obj *o;

	if (n > UINT32_MAX || size > UINT32_MAX || total > UINT32_MAX)
		return NULL;
	o = calloc(1, total);
	if (!o)
		return NULL;
	o->type = OBJ_EAGER;
	o->flags = flags;
	o->n = (uint32_t)n;
	o->size = (uint32_t)size;
	return o;
}

/* Copy names after the bytes; names[i] belongs to the i-th FDE. */
static void eager_names(struct obj *o, const char *const *names, size_t nnames,
			const struct sw_jit_proc *procs)
{
	char *dst = eager_tail(o);

	for (uint32_t i = 0; i < o->n; i++) {
		const char *nm = procs ? procs[i].name : (i < nnames ? names[i] : NULL);
		if (!nm)
			continue;
		size_t l = strlen(nm) + 1;
		memcpy(dst, nm, l);
		if (o->flags & F_SINGLE)
			o->flags |= F_NAMED;
		else
			eager_recs(o)[i].name_off = (uint32_t)(dst - (char *)o);
		dst += l;
	}
}

static size_t names_len(const char *const *names, size_t nnames, const struct sw_jit_proc *procs,
			size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		const char *nm = procs ? procs[i].name : (i < nnames ? names[i] : NULL);
		if (nm)
			total += strlen(nm) + 1;
	}
	return total;
}

/* Register an eager object: handle + index, under the lock. */
static int eager_publish(struct obj *o, const struct span *spans, size_t n, struct lines *ls,
			 sw_jit_handle_t *out, const char *what)
{
	int rc;

	pthread_mutex_lock(&sw_reg_lock);
	rc = sw_reg_handle_alloc(o);
	if (rc == 0) {
		rc = sw_reg_index_insert(o, spans, n, what);
		if (rc < 0) {
			sw_reg_handle_free(o);
		} else {
			sw_reg_bounds_add(spans[0].start, spans[n - 1].end);
			sw_reg_account_eager(o, true);
			sw_reg_install_hook();
			*out = make_handle(o);
			sw_reg_lineset_set(o->hindex, ls);
			ls = NULL;
			sw_reg_pubset_new(o);
		}
	}
	sw_reg_maybe_reclaim();
	pthread_mutex_unlock(&sw_reg_lock);
	free(ls);
	return rc;
}

static int add_eh_frame(const void *eh_frame, size_t size, uint64_t eh_addr,
			const char *const *names, size_t nnames, sw_jit_handle_t *out)
{
	struct span one[1], *spans;
	struct obj *o;
	size_t max;
	int rc;

	if (!eh_frame)
		return sw_jit_fail(SW_EINVAL, "eh_frame: NULL");
	if (!size)
		return sw_jit_fail(SW_EINVAL, "size: 0");
	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	if (nnames && !names)
		return sw_jit_fail(SW_EINVAL, "names: NULL with nnames %zu", nnames);
	/* an FDE takes at least 16 bytes */
	max = size / 16 + 1;
	o = eager_alloc(F_VADDR | F_TERM, max, size, 0);
	if (!o)
		return SW_ENOMEM;
	*(uint64_t *)(void *)(o + 1) = eh_addr;
	memcpy((uint8_t *)eager_bytes(o), eh_frame, size);
	spans = max == 1 ? one : malloc(max * sizeof(*spans));
	if (!spans) {
		free(o);
		return SW_ENOMEM;
	}
	rc = sw_reg_index_fdes(o, spans, max, true, false);
	if (rc < 0)
		goto out;

	/* now that the count is known, lay the object out for real */
	size_t n = (size_t)rc;
	struct obj *f = eager_alloc(F_VADDR | F_TERM, n, size, names_len(names, nnames, NULL, n));
	if (!f) {
		rc = SW_ENOMEM;
		goto out;
	}
	*(uint64_t *)(void *)(f + 1) = eh_addr;
	memcpy((uint8_t *)eager_bytes(f), eh_frame, size);
	memcpy(eager_recs(f), eager_recs(o), n * sizeof(struct rec));
	eager_names(f, names, nnames, NULL);
	/* make the copy valid where it lives, so other unwinders (publishers,
	 * the _Unwind_Find_FDE interposer) can read it in place; when a
	 * 4-byte pc-relative field cannot reach, keep decoding it at eh_addr */
	{
		struct sw_cfi_section src;
		uint8_t *mine = (uint8_t *)eager_bytes(f);
		sw_cfi_section_init(&src, eh_frame, size, eh_addr, true, ".eh_frame");
		if (sw_reg_relocate_copy(&src, mine, 0) == 0)
			*(uint64_t *)(void *)(f + 1) = (uint64_t)(uintptr_t)mine;
		else
			memcpy(mine, eh_frame, size);
	}
	rc = eager_publish(f, spans, n, NULL, out, "eh_frame FDE");
	if (rc < 0)
		free(f);
out:
	if (spans != one)
		free(spans);
	free(o);
	return rc < 0 ? rc : 0;
}

int sw_jit_add_eh_frame(const void *eh_frame, size_t size, uint64_t eh_addr,
			const char *const *names, size_t nnames, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(add_eh_frame(eh_frame, size, eh_addr, names, nnames, out), mark,
			      "sw_jit_add_eh_frame: ");
}

/* A SW_JIT_UNWIND_CFI stream must decode exactly to its end (the builder
 * pads with DW_CFA_nop, which would hide a truncated last instruction). */
int sw_reg_check_cfi_insns(const struct sw_jit_proc *p)
{
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn insn;
	struct sw_reader r;
	int rc;

	if (p->kind != SW_JIT_UNWIND_CFI)
		return 0;
	if (!p->u.cfi.insns && p->u.cfi.len)
		return sw_jit_fail(SW_EINVAL, "u.cfi.insns: NULL with len %zu", p->u.cfi.len);
	memset(&ctx, 0, sizeof(ctx));
	ctx.code_align = SW_ARCH_CIE_CODE_ALIGN;
	ctx.data_align = SW_ARCH_CIE_DATA_ALIGN;
	ctx.fde_enc = SW_PE_absptr;
	sw_rd_init(&r, p->u.cfi.insns, p->u.cfi.len, 0, "CFI instructions");
	while (r.pos < r.end) {
		const uint8_t *at = r.pos;
		if ((rc = sw_cfa_decode(&r, &ctx, &insn)) < 0)
			return sw_jit_fail(rc, "u.cfi.insns: %s in the instruction at byte %zu "
					   "(opcode %#x) of %zu", sw_strerror(rc),
					   (size_t)(at - p->u.cfi.insns), *at, p->u.cfi.len);
	}
	return 0;
}

/* Descriptors of one call must not overlap each other. */
static int check_proc_overlap(const struct sw_jit_proc *procs, size_t n, struct span *spans)
{
	for (size_t i = 0; i < n; i++) {
		if (!range_ok(procs[i].start, procs[i].end)) {
			uint32_t mark = sw_jit_err_mark();
			return sw_jit_err_ctx(sw_reg_range_fail("end", procs[i].start, procs[i].end), mark,
					      "procs[%zu].", i);
		}
		spans[i].start = procs[i].start;
		spans[i].end = procs[i].end;
		spans[i].rec = (uint32_t)i;
	}
	qsort(spans, n, sizeof(*spans), sw_reg_span_cmp);
	for (size_t i = 1; i < n; i++)
		if (spans[i].start < spans[i - 1].end)
			return sw_jit_fail(SW_EOVERLAP, "procs[%u] [%#llx, %#llx) overlaps procs[%u] "
					   "[%#llx, %#llx)", spans[i].rec,
					   (unsigned long long)spans[i].start,
					   (unsigned long long)spans[i].end, spans[i - 1].rec,
					   (unsigned long long)spans[i - 1].start,
					   (unsigned long long)spans[i - 1].end);
	return 0;
}


/* Build the .eh_frame of n descriptors into buf (NULL: measure); the
 * reasons call procs[i] procs[first + i].  A description that does not
 * fit `size` bytes (buf != NULL) is SW_ETRUNCATED. */
int sw_reg_build_procs(const struct sw_jit_proc *procs, size_t n, void *buf, size_t size,
		       size_t first)
{
	sw_cfi_builder_t b;
	uint32_t mark = sw_jit_err_mark();
	int rc;

	sw_cfi_b_init(&b, buf, size, (uint64_t)(uintptr_t)buf, SW_CFI_B_ABSPTR);
	for (size_t i = 0; i < n; i++) {
		if (!range_ok(procs[i].start, procs[i].end))
			rc = sw_reg_range_fail("end", procs[i].start, procs[i].end);
		else
			rc = sw_jit_describe(&b, &procs[i]);
		if (rc < 0)
			return sw_jit_err_ctx(rc, mark, "procs[%zu].", first + i);
	}
	return sw_cfi_b_finish(&b);
}

/* A description beyond SW_JIT_MAX_CFI (the one-procedure forms build on
 * the stack). */
int sw_reg_too_much_cfi(size_t i)
{
	return sw_jit_fail(SW_EINVAL, "procs[%zu]: its description needs more than "
			   "SW_JIT_MAX_CFI (%d) bytes of .eh_frame", i, SW_JIT_MAX_CFI);
}

int sw_reg_add_procs(const struct sw_jit_proc *procs, size_t n, sw_jit_handle_t *out)
{
	struct span one[1], *spans;
	uint8_t small[SW_JIT_MAX_CFI];
	struct obj *o;
	int size, rc;
	bool validate = false;

	if (!procs)
		return sw_jit_fail(SW_EINVAL, "procs: NULL");
	if (!n || n > UINT32_MAX / 2)
		return sw_jit_fail(SW_EINVAL, "n: %zu is not 1..%u", n, UINT32_MAX / 2);
	if (!out)
		return sw_jit_fail(SW_EINVAL, "out: NULL");
	for (size_t i = 0; i < n; i++) {
		uint32_t mark = sw_jit_err_mark();
		if (procs[i].kind == SW_JIT_UNWIND_CFI)
			validate = true;
		if ((rc = sw_reg_check_cfi_insns(&procs[i])) < 0 || (rc = sw_reg_check_lines(&procs[i])) < 0)
			return sw_jit_err_ctx(rc, mark, "procs[%zu].", i);
	}
	spans = n == 1 ? one : malloc(n * sizeof(*spans));
	if (!spans)
		return SW_ENOMEM;
	rc = check_proc_overlap(procs, n, spans);
	if (spans != one)
		free(spans);
	if (rc < 0)
		return rc;
	/* one procedure: build on the stack, no measuring pass */
	if (n == 1)
		size = sw_reg_build_procs(procs, n, small, sizeof(small), 0);
	else
		size = sw_reg_build_procs(procs, n, NULL, 0, 0);
	if (size < 0)
		return size == SW_ETRUNCATED && n == 1 ? sw_reg_too_much_cfi(0) : size;
	o = eager_alloc(n == 1 ? F_SINGLE : 0, n, (size_t)size, names_len(NULL, 0, procs, n));
	if (!o)
		return SW_ENOMEM;
	if (n == 1)
		memcpy((uint8_t *)eager_bytes(o), small, (size_t)size);
	else if ((rc = sw_reg_build_procs(procs, n, (uint8_t *)eager_bytes(o), (size_t)size, 0)) < 0)
		goto fail;
	spans = n == 1 ? one : malloc(n * sizeof(*spans));
	if (!spans) {
		rc = SW_ENOMEM;
		goto fail;
	}
	if (validate)
		rc = sw_reg_index_fdes(o, spans, n, true, true);
	else
		rc = sw_reg_index_built(o, procs, spans, n);
	if (rc >= 0 && (size_t)rc != n)
		rc = sw_jit_fail(SW_EINVAL, "internal: %zu procedures built %d FDEs", n, rc);
	if (rc >= 0) {
		eager_names(o, NULL, 0, procs);
		rc = eager_publish(o, spans, n, sw_reg_lineset_make(procs, n), out, "procs");
	}
	if (spans != one)
		free(spans);
	if (rc >= 0)
		return 0;
fail:
	free(o);
	return rc;
}

/* The ABI's unsized entry: elements of SW_JIT_PROC_SIZE_V2 bytes (the
 * header's sw_jit_add_procs is a macro for sw_jit_add_procs_sized). */
int (sw_jit_add_procs)(const struct sw_jit_proc *procs, size_t n, sw_jit_handle_t *out)
{
	uint32_t mark = sw_jit_err_mark();

	return sw_jit_err_ctx(sw_reg_add_procs(procs, n, out), mark, "sw_jit_add_procs: ");
}
