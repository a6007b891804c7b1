/*
 * Absolute re-encoding of one CIE + FDE (eh_abs.h).
 *
 * Why: libgcc and LLVM libunwind decode pc-relative pointers relative to
 * where they read the bytes, so bytes encoded for another address (the
 * registry's copy of a sw_jit_add_eh_frame section, a moved registration,
 * a callback's description converted on a stack) must be rewritten before
 * they are handed over.  Absolute pointers need no base at all.
 */
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>

#include "dwarf/reader.h"
#include "dwarf/writer.h"
#include "jit/publishers/eh_abs.h"
#include "jit/error.h"

enum { PE_ABSPTR = 0x00, PE_INDIRECT = 0x80, PE_OMIT = 0xff };

/* Pad the entry that starts at `start` (its length field) to 8 bytes. */
static void pad8(struct sw_writer *o, size_t start)
{
	while ((o->pos - start) % 8)
		sw_wr_u8(o, 0);   /* DW_CFA_nop */
}

static void patch_len(struct sw_writer *o, size_t start)
{
	sw_wr_patch_u32(o, start, (uint32_t)(o->pos - start - 4));
}

/* DW_CFA_set_loc carries a pointer in the CIE's FDE encoding: refuse it
 * rather than let it change meaning under absptr. */
static int check_insns(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		       const uint8_t *insns, uint64_t len)
{
	struct sw_cfa_ctx ctx;
	struct sw_cfa_insn in;
	struct sw_reader r;
	int rc;

	sw_cfa_ctx_init(&ctx, sec, cie);
	sw_rd_init(&r, sec->data, sec->size, sec->vaddr, sec->name);
	r.pos = insns;
	r.end = insns + len;
	while (sw_rd_left(&r) > 0) {
		if ((rc = sw_cfa_decode(&r, &ctx, &in)) < 0)
			return rc;
		if (in.op == SW_CFA_set_loc)
			return SW_EUNSUPPORTED;
	}
	return 0;
}

int sw_eh_abs_write(const struct sw_cfi_section *sec, const struct sw_cie *cie,
		    const struct sw_fde *fde, int64_t bias, uint8_t *buf, size_t size,
		    size_t *fde_off)
{
	struct sw_writer o;
	bool has_p = cie->personality_enc != PE_OMIT;
	bool has_l = cie->lsda_enc != PE_OMIT;
	char aug[8];
	size_t naug = 0, cie_start, fde_start, aug_len;
	int rc;

	if (!sec || !cie || !fde || !fde_off)
		return sw_jit_fail(SW_EINVAL, "absolute .eh_frame: NULL argument");
	sw_wr_init(&o, buf, size, (uint64_t)(uintptr_t)buf);
	if (cie->segment_size)
		return SW_EUNSUPPORTED;
	if ((rc = check_insns(sec, cie, cie->insns, cie->insns_len)) < 0 ||
	    (rc = check_insns(sec, cie, fde->insns, fde->insns_len)) < 0)
		return rc;

	/* CIE */
	aug[naug++] = 'z';
	if (has_p)
		aug[naug++] = 'P';
	if (has_l)
		aug[naug++] = 'L';
	aug[naug++] = 'R';
	if (cie->signal_frame)
		aug[naug++] = 'S';
	aug[naug++] = '\0';
	cie_start = o.pos;
	sw_wr_u32(&o, 0);                        /* length, patched below */
	sw_wr_u32(&o, 0);                        /* CIE id */
	sw_wr_u8(&o, cie->ra_reg > 255 ? 3 : 1);
	sw_wr_bytes(&o, aug, naug);
	sw_wr_uleb(&o, cie->code_align);
	sw_wr_sleb(&o, cie->data_align);
	if (cie->ra_reg > 255)
		sw_wr_uleb(&o, cie->ra_reg);
	else
		sw_wr_u8(&o, (uint8_t)cie->ra_reg);
	aug_len = (has_p ? 9 : 0) + (has_l ? 1 : 0) + 1;
	sw_wr_uleb(&o, aug_len);
	if (has_p) {
		sw_wr_u8(&o, (uint8_t)(PE_ABSPTR | (cie->personality_enc & PE_INDIRECT)));
		sw_wr_u64(&o, cie->personality);
	}
	if (has_l)
		sw_wr_u8(&o, PE_ABSPTR);
	sw_wr_u8(&o, PE_ABSPTR);                 /* R */
	sw_wr_bytes(&o, cie->insns, cie->insns_len);
	pad8(&o, cie_start);
	patch_len(&o, cie_start);

	/* FDE */
	fde_start = o.pos;
	sw_wr_u32(&o, 0);
	sw_wr_u32(&o, (uint32_t)(o.pos - cie_start));   /* from this field back to the CIE */
	sw_wr_u64(&o, fde->pc_begin + (uint64_t)bias);
	sw_wr_u64(&o, fde->pc_end - fde->pc_begin);
	sw_wr_uleb(&o, has_l ? 8 : 0);
	if (has_l)
		sw_wr_u64(&o, fde->lsda);
	sw_wr_bytes(&o, fde->insns, fde->insns_len);
	pad8(&o, fde_start);
	patch_len(&o, fde_start);

	if (o.pos > INT32_MAX)
		return SW_ETRUNCATED;
	if (buf && o.pos > size)
		return SW_ETRUNCATED;
	*fde_off = fde_start;
	return (int)o.pos;
}

int sw_eh_abs_section(const struct sw_cfi_section *sec, int64_t bias, uint8_t **out,
		      size_t *out_size)
{
	struct sw_cfi_entry ent;
	struct sw_cie cie;
	struct sw_fde fde;
	uint8_t *copy = NULL;
	size_t total = 0, fde_off;
	int rc = 0;

	if (!sec || !out || !out_size)
		return sw_jit_fail(SW_EINVAL, "absolute .eh_frame: NULL argument");
	/* pass 0 measures, pass 1 writes */
	for (int pass = 0; pass < 2; pass++) {
		size_t pos = 0;
		for (uint64_t off = 0;; off = ent.end) {
			rc = sw_cfi_entry_at(sec, off, &ent, NULL);
			if (rc == SW_END_OF_STACK || (rc == 0 && ent.kind == SW_CFI_ZERO))
				break;
			if (rc < 0)
				goto fail;
			if (ent.kind != SW_CFI_FDE)
				continue;
			if ((rc = sw_cfi_parse_fde(sec, off, &fde, &cie, NULL)) < 0)
				goto fail;
			rc = sw_eh_abs_write(sec, &cie, &fde, bias, copy ? copy + pos : NULL,
					     copy ? total - pos : 0, &fde_off);
			if (rc < 0)
				goto fail;
			pos += (size_t)rc;
		}
		if (pass == 0) {
			total = pos + 4;
			if (!(copy = malloc(total))) {
				rc = SW_ENOMEM;
				goto fail;
			}
		} else {
			memset(copy + pos, 0, 4);
		}
	}
	*out = copy;
	*out_size = total;
	return 0;
fail:
	free(copy);
	return rc;
}
