/*
 * .eh_frame_hdr: the linker's binary search table over .eh_frame FDEs
 * (PT_GNU_EH_FRAME).  Layout (LSB "Exception Frame Header"):
 *
 *   u8  version            1
 *   u8  eh_frame_ptr_enc   encoding of eh_frame_ptr
 *   u8  fde_count_enc      encoding of fde_count (DW_EH_PE_omit: no table)
 *   u8  table_enc          encoding of the table (datarel to the header)
 *   eh_frame_ptr, fde_count, then fde_count pairs (initial_location, fde_address)
 *   sorted by initial_location.
 *
 * Linkers always emit the table as DW_EH_PE_datarel|DW_EH_PE_sdata4 (0x3b),
 * which gets a fast path; any other fixed-size encoding is searched through
 * the generic reader.
 */
#include <string.h>

#include "dwarf/cfi.h"

static int hdr_fail(struct sw_diag *diag, const struct sw_reader *r, int code)
{
	if (diag) {
		diag->code = code;
		diag->section = ".eh_frame_hdr";
		diag->offset = r->err ? r->err_off : (uint64_t)(r->pos - r->start);
		diag->entry = 0;
	}
	return code;
}

int sw_eh_hdr_parse(struct sw_eh_hdr *hdr, const void *data, size_t size, uint64_t vaddr,
		    struct sw_diag *diag)
{
	struct sw_reader r;
	struct sw_ptr_ctx pc = { .addr_size = 8, .datarel = vaddr };
	uint8_t ptr_enc, count_enc;

	memset(hdr, 0, sizeof(*hdr));
	sw_rd_init(&r, data, size, vaddr, ".eh_frame_hdr");
	hdr->data = (const uint8_t *)data;
	hdr->size = size;
	hdr->vaddr = vaddr;
	hdr->version = sw_rd_u8(&r);
	ptr_enc = sw_rd_u8(&r);
	count_enc = sw_rd_u8(&r);
	hdr->table_enc = sw_rd_u8(&r);
	if (r.err)
		return hdr_fail(diag, &r, r.err);
	if (hdr->version != 1) {
		r.pos = r.start;
		return hdr_fail(diag, &r, SW_EVERSION);
	}
	/* an indirect eh_frame_ptr would need the target's memory */
	if (ptr_enc & SW_PE_indirect)
		return hdr_fail(diag, &r, SW_EENCODING);
	hdr->eh_frame_ptr = sw_rd_encoded(&r, ptr_enc, &pc);
	if (r.err)
		return hdr_fail(diag, &r, r.err);
	if (count_enc == SW_PE_omit || hdr->table_enc == SW_PE_omit)
		return 0;   /* valid: no table, callers fall back to a scan */
	if (count_enc & SW_PE_indirect)
		return hdr_fail(diag, &r, SW_EENCODING);
	hdr->fde_count = sw_rd_encoded(&r, count_enc, &pc);
	if (r.err)
		return hdr_fail(diag, &r, r.err);
	int esize = sw_pe_size(hdr->table_enc, 8);
	if (esize <= 0 || (hdr->table_enc & SW_PE_indirect) ||
	    (hdr->table_enc & 0x70) == SW_PE_aligned || !sw_pe_valid(hdr->table_enc))
		return hdr_fail(diag, &r, SW_EENCODING);
	hdr->entry_size = (uint8_t)esize;
	if (hdr->fde_count > sw_rd_left(&r) / (2u * (unsigned)esize)) {
		sw_rd_fail(&r, SW_ETRUNCATED);
		return hdr_fail(diag, &r, SW_EBADHDR);
	}
	hdr->table = r.pos;
	return 0;
}

/* Field `field` (0: initial location, 1: FDE address) of table entry `i`,
 * decoded in the generic way. */
static uint64_t table_field(const struct sw_eh_hdr *hdr, uint64_t i, int field, int *err)
{
	struct sw_reader r;
	struct sw_ptr_ctx pc = { .addr_size = 8, .datarel = hdr->vaddr };
	uint64_t v;

	sw_rd_init(&r, hdr->data, hdr->size, hdr->vaddr, ".eh_frame_hdr");
	r.pos = hdr->table + (i * 2 + (uint64_t)field) * hdr->entry_size;
	v = sw_rd_encoded(&r, hdr->table_enc, &pc);
	if (r.err)
		*err = r.err;
	return v;
}

int sw_eh_hdr_lookup(const struct sw_eh_hdr *hdr, uint64_t pc, uint64_t *fde_addr,
		     uint64_t *start)
{
	uint64_t lo = 0, hi = hdr->fde_count;

	if (!hdr->table || hdr->fde_count == 0)
		return SW_ENOTFOUND;
	if (hdr->table_enc == (SW_PE_datarel | SW_PE_sdata4)) {
		/* fast path: 8-byte entries of two int32 offsets from the header */
		const uint8_t *t = hdr->table;
		int32_t v;

		/* compare addresses as the generic path does (a pc more than
		 * 2 GiB above the header still finds the last entry) */
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;
			memcpy(&v, t + mid * 8, 4);
			if (hdr->vaddr + (uint64_t)(int64_t)v <= pc)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return SW_ENOTFOUND;
		memcpy(&v, t + (lo - 1) * 8, 4);
		*start = hdr->vaddr + (uint64_t)(int64_t)v;
		memcpy(&v, t + (lo - 1) * 8 + 4, 4);
		*fde_addr = hdr->vaddr + (uint64_t)(int64_t)v;
		return 0;
	}
	int err = 0;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint64_t loc = table_field(hdr, mid, 0, &err);
		if (err)
			return err;
		if (loc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return SW_ENOTFOUND;
	*start = table_field(hdr, lo - 1, 0, &err);
	*fde_addr = table_field(hdr, lo - 1, 1, &err);
	return err ? err : 0;
}

int sw_cfi_find_fde_hdr(const struct sw_eh_hdr *hdr, const struct sw_cfi_section *sec,
			uint64_t pc, struct sw_fde *fde, struct sw_cie *cie,
			struct sw_diag *diag)
{
	uint64_t addr, start;
	int rc;

	rc = sw_eh_hdr_lookup(hdr, pc, &addr, &start);
	if (rc < 0)
		return rc;
	if (addr < sec->vaddr || addr - sec->vaddr >= sec->size)
		return SW_EBADHDR;
	rc = sw_cfi_parse_fde(sec, addr - sec->vaddr, fde, cie, diag);
	if (rc < 0)
		return rc;
	if (pc < fde->pc_begin || pc >= fde->pc_end)
		return SW_ENOTFOUND;
	return 0;
}
