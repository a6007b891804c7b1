/*
 * A chunk's FDEs, and their rules re-encoded with absolute pointers (see
 * eh_format.h).
 */
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>

#include "dwarf/cfi.h"
#include "dwarf/reader.h"
#include "dwarf/writer.h"
#include "jit/publishers/eh_abs.h"
#include "jit/publishers/eh_format.h"

void sw_pub_put4(uint8_t *p, uint32_t v)
{
	sw_le_encode(p, v, 4);
}

void sw_pub_put8(uint8_t *p, uint64_t v)
{
	sw_le_encode(p, v, 8);
}

static void section(const struct sw_jit_chunk *c, struct sw_cfi_section *sec)
{
	sw_cfi_section_init(sec, c->eh_frame, c->eh_size, c->eh_vaddr, true, ".eh_frame");
}

int sw_pub_fdes(const struct sw_jit_chunk *c, struct sw_pub_fde **out, size_t *n)
{
	struct sw_cfi_section sec;
	struct sw_cfi_entry ent;
	struct sw_diag diag;
	struct sw_fde fde;
	struct sw_cie cie;
	struct sw_pub_fde *v = NULL;
	size_t cnt = 0, cap = 0;
	uint64_t off = 0;
	int rc;

	*out = NULL;
	*n = 0;
	section(c, &sec);
	for (;;) {
		rc = sw_cfi_entry_at(&sec, off, &ent, &diag);
		if (rc == SW_END_OF_STACK || (rc == 0 && ent.kind == SW_CFI_ZERO))
			break;
		if (rc < 0)
			goto fail;
		if (ent.kind == SW_CFI_FDE) {
			rc = sw_cfi_parse_fde(&sec, off, &fde, &cie, &diag);
			if (rc < 0)
				goto fail;
			if (cnt == cap) {
				size_t ncap = cap ? 2 * cap : (c->nprocs ? c->nprocs : 8);
				struct sw_pub_fde *nv = realloc(v, ncap * sizeof(*v));
				if (!nv) {
					rc = SW_ENOMEM;
					goto fail;
				}
				v = nv;
				cap = ncap;
			}
			v[cnt].start = fde.pc_begin;
			v[cnt].end = fde.pc_end;
			v[cnt].fde_off = off;
			v[cnt].cie_off = fde.cie_offset;
			cnt++;
		}
		off = ent.end;
	}
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(v);
	return rc;
}

const struct sw_pub_fde *sw_pub_find(const struct sw_pub_fde *f, size_t n, uint64_t start)
{
	/* FDEs of a chunk are usually in address order: binary search, then a
	 * linear scan for the rare unsorted input */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && f[lo].start == start)
		return &f[lo];
	for (size_t i = 0; i < n; i++)
		if (f[i].start == start)
			return &f[i];
	return NULL;
}

/* ---------------------------------------------------------------- re-encoding */

long sw_pub_eh_abs(const struct sw_jit_chunk *c, const struct sw_pub_fde *f, size_t n,
		   int64_t pc_delta, uint8_t *buf, uint64_t *fde_offs)
{
	struct sw_cfi_section sec;
	struct sw_diag diag;
	struct sw_fde fde;
	struct sw_cie cie;
	size_t pos = 0;

	section(c, &sec);
	for (size_t i = 0; i < n; i++) {
		size_t fo;
		int rc = sw_cfi_parse_fde(&sec, f[i].fde_off, &fde, &cie, &diag);
		if (rc < 0)
			return rc;
		rc = sw_eh_abs_write(&sec, &cie, &fde, pc_delta, buf ? buf + pos : NULL,
				     buf ? SIZE_MAX / 2 : 0, &fo);
		if (rc < 0)
			return rc;
		if (fde_offs)
			fde_offs[i] = pos + fo;
		pos += (size_t)rc;
	}
	return (long)pos;
}
