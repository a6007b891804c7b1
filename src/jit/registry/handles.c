/*
 * Handles: a table of (generation, object) entries; a handle is its
 * index + 1 and the generation, so a stale handle is refused.  Written
 * under sw_reg_lock; readers never use handles.
 */
#include <stdlib.h>

#include "jit/registry/internal.h"

uint64_t *sw_reg_htab;
uint32_t sw_reg_hcap, sw_reg_hcount, sw_reg_hlive;
static uint32_t hfree;          /* first free index + 1, 0: none */

int sw_reg_handle_alloc(struct obj *o)
{
	uint32_t i;

	if (hfree) {
		i = hfree - 1;
		hfree = (uint32_t)((sw_reg_htab[i] & 0xffffffffffffull) >> 1);
		o->hgen = (uint16_t)(sw_reg_htab[i] >> 48);
	} else {
		if (sw_reg_hcount == sw_reg_hcap) {
			uint32_t cap = sw_reg_hcap ? sw_reg_hcap * 2 : 1024;
			uint64_t *nt = realloc(sw_reg_htab, (size_t)cap * sizeof(*nt));
			if (!nt)
				return SW_ENOMEM;
			sw_reg_record_bytes += ((size_t)cap - sw_reg_hcap) * sizeof(*nt);
			sw_reg_htab = nt;
			sw_reg_hcap = cap;
		}
		i = sw_reg_hcount++;
		o->hgen = 1;
	}
	o->hindex = i;
	sw_reg_htab[i] = (uint64_t)(uintptr_t)o | (uint64_t)o->hgen << 48;
	sw_reg_hlive++;
	return 0;
}

void sw_reg_handle_set(struct obj *o)
{
	sw_reg_htab[o->hindex] = (uint64_t)(uintptr_t)o | (uint64_t)o->hgen << 48;
}

void sw_reg_handle_free(struct obj *o)
{
	uint16_t gen = (uint16_t)(o->hgen + 1);

	if (gen == 0)
		gen = 1;
	sw_reg_htab[o->hindex] = (uint64_t)gen << 48 | (uint64_t)hfree << 1 | 1;
	hfree = o->hindex + 1;
	sw_reg_hlive--;
}

struct obj *sw_reg_handle_get(sw_jit_handle_t h)
{
	uint64_t i = (h >> 16);

	if (i == 0 || i > sw_reg_hcount)
		return NULL;
	uint64_t e = sw_reg_htab[i - 1];
	if ((e & 1) || (uint16_t)(e >> 48) != (uint16_t)h)
		return NULL;
	return (struct obj *)(uintptr_t)(e & 0xffffffffffffull);
}
