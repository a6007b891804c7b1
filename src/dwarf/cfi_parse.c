/*
 * CIE and FDE parsing for .eh_frame and .debug_frame.
 *
 * The two sections share a layout with small differences that matter:
 *   .eh_frame     CIE id 0; FDE's CIE pointer is relative to the pointer
 *                 field itself; pointers use the CIE's 'R' encoding; a zero
 *                 length terminates; only 32-bit lengths in practice.
 *   .debug_frame  CIE id 0xffffffff (0xffffffffffffffff in 64-bit DWARF);
 *                 FDE's CIE pointer is a section offset; addresses are
 *                 absptr of the CIE's address size; CIE version 4 adds
 *                 address_size and segment_selector_size.
 */
#include <stdio.h>
#include <string.h>

#include "dwarf/cfi.h"

void sw_cfi_section_init(struct sw_cfi_section *sec, const void *data, size_t size,
			 uint64_t vaddr, bool is_eh, const char *name)
{
	memset(sec, 0, sizeof(*sec));
	sec->data = (const uint8_t *)data;
	sec->size = size;
	sec->vaddr = vaddr;
	sec->is_eh = is_eh;
	sec->addr_size = 8;
	sec->name = name ? name : (is_eh ? ".eh_frame" : ".debug_frame");
}

void sw_diag_format(const struct sw_diag *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s in %s at offset 0x%llx (entry at 0x%llx)",
		 sw_strerror(d->code), d->section ? d->section : "?",
		 (unsigned long long)d->offset, (unsigned long long)d->entry);
}

/* Record the reader's sticky error (or `code` at the reader's position)
 * into `diag`; returns the code. */
static int diag_set(struct sw_diag *diag, const struct sw_reader *r, int code,
		    uint64_t entry)
{
	if (diag) {
		diag->code = code;
		diag->section = r->section;
		diag->offset = r->err ? r->err_off : (uint64_t)(r->pos - r->start);
		diag->entry = entry;
	}
	return code;
}

static void section_reader(const struct sw_cfi_section *sec, struct sw_reader *r)
{
	sw_rd_init(r, sec->data, sec->size, sec->vaddr, sec->name);
}

int sw_cfi_entry_at(const struct sw_cfi_section *sec, uint64_t off,
		    struct sw_cfi_entry *ent, struct sw_diag *diag)
{
	struct sw_reader r;
	uint64_t len;

	section_reader(sec, &r);
	if (off >= sec->size)
		return off == sec->size ? SW_END_OF_STACK : diag_set(diag, &r, SW_EINVAL, off);
	r.pos = r.start + off;
	memset(ent, 0, sizeof(*ent));
	ent->offset = off;
	len = sw_rd_u32(&r);
	ent->offset_size = 4;
	if (len == 0xffffffffu) {
		len = sw_rd_u64(&r);
		ent->offset_size = 8;
	}
	if (r.err)
		return diag_set(diag, &r, r.err, off);
	ent->length = len;
	if (len == 0) {
		ent->kind = SW_CFI_ZERO;
		ent->end = sw_rd_off(&r);
		ent->body = ent->end;
		return 0;
	}
	if (len > sw_rd_left(&r)) {
		r.pos = r.start + off;   /* report the length field itself */
		sw_rd_fail(&r, SW_ELENGTH);
		return diag_set(diag, &r, SW_ELENGTH, off);
	}
	ent->end = sw_rd_off(&r) + len;
	uint64_t id_off = sw_rd_off(&r);
	if (len < ent->offset_size) {
		sw_rd_fail(&r, SW_ETRUNCATED);
		return diag_set(diag, &r, SW_ETRUNCATED, off);
	}
	ent->id = sw_rd_un(&r, ent->offset_size);
	ent->body = sw_rd_off(&r);
	if (sec->is_eh) {
		ent->kind = ent->id == 0 ? SW_CFI_CIE : SW_CFI_FDE;
		/* relative to the CIE pointer field; a pointer past it is bogus */
		ent->cie_offset = ent->id <= id_off ? id_off - ent->id : UINT64_MAX;
	} else {
		uint64_t cie_id = ent->offset_size == 4 ? 0xffffffffu : UINT64_MAX;
		ent->kind = ent->id == cie_id ? SW_CFI_CIE : SW_CFI_FDE;
		ent->cie_offset = ent->id;
	}
	if (ent->kind == SW_CFI_CIE)
		ent->cie_offset = off;
	return 0;
}

/* Parse the augmentation data of a 'z' CIE according to its string. */
static int parse_cie_augmentation(const struct sw_cfi_section *sec, struct sw_reader *r,
				  struct sw_cie *cie)
{
	const char *a = cie->augmentation + 1;   /* skip 'z' */
	struct sw_reader ar;
	struct sw_ptr_ctx pc = { .addr_size = cie->addr_size, .textrel = sec->textrel,
				 .datarel = sec->datarel, .deref = sec->deref,
				 .deref_arg = sec->deref_arg };

	cie->aug_data_len = sw_rd_uleb(r);
	cie->aug_data = sw_rd_bytes(r, cie->aug_data_len);
	if (r->err)
		return r->err;
	sw_rd_sub(&ar, r, cie->aug_data, cie->aug_data_len);
	for (; *a; a++) {
		switch (*a) {
		case 'R':
			cie->fde_enc = sw_rd_u8(&ar);
			if (!ar.err && !sw_pe_valid(cie->fde_enc)) {
				ar.pos--;        /* report the encoding byte itself */
				sw_rd_fail(&ar, SW_EENCODING);
			}
			break;
		case 'L':
			cie->lsda_enc = sw_rd_u8(&ar);
			if (!ar.err && !sw_pe_valid(cie->lsda_enc)) {
				ar.pos--;
				sw_rd_fail(&ar, SW_EENCODING);
			}
			break;
		case 'P':
			cie->personality_enc = sw_rd_u8(&ar);
			if (!ar.err && !sw_pe_valid(cie->personality_enc)) {
				ar.pos--;
				sw_rd_fail(&ar, SW_EENCODING);
			}
			/* indirect personality pointers are the norm (a GOT slot);
			 * without a deref callback keep the slot address */
			if (!ar.err) {
				uint8_t enc = cie->personality_enc;
				if (!pc.deref)
					enc &= (uint8_t)~SW_PE_indirect;
				cie->personality = sw_rd_encoded(&ar, enc, &pc);
			}
			break;
		case 'S':
			cie->signal_frame = true;
			break;
		case 'B':
			cie->bti = true;
			break;
		default:
			/* report the augmentation character itself */
			ar.err = SW_EAUGMENTATION;
			ar.err_off = (uint64_t)((const uint8_t *)a - ar.start);
			break;
		}
		if (ar.err) {
			r->err = ar.err;
			r->err_off = ar.err_off;
			return ar.err;
		}
	}
	return 0;
}

int sw_cfi_parse_cie(const struct sw_cfi_section *sec, uint64_t off,
		     struct sw_cie *cie, struct sw_diag *diag)
{
	struct sw_cfi_entry ent;
	struct sw_reader r;
	int rc;

	memset(cie, 0, sizeof(*cie));
	rc = sw_cfi_entry_at(sec, off, &ent, diag);
	if (rc < 0)
		return rc;
	section_reader(sec, &r);
	r.pos = r.start + (rc == 0 ? ent.body : off);
	if (rc != 0 || ent.kind != SW_CFI_CIE)
		return diag_set(diag, &r, SW_EBADCIE, off);
	r.end = r.start + ent.end;

	cie->offset = off;
	cie->end = ent.end;
	cie->offset_size = ent.offset_size;
	cie->addr_size = sec->addr_size;
	cie->fde_enc = SW_PE_absptr;
	cie->lsda_enc = SW_PE_omit;
	cie->personality_enc = SW_PE_omit;
	cie->version = sw_rd_u8(&r);
	if (!r.err && cie->version != 1 && cie->version != 3 &&
	    !(cie->version == 4 && !sec->is_eh)) {
		r.pos--;                 /* report the version byte itself */
		sw_rd_fail(&r, SW_EVERSION);
	}
	cie->augmentation = sw_rd_cstr(&r);
	if (r.err)
		return diag_set(diag, &r, r.err, off);
	/* GCC 2.x "eh" augmentation: an address-sized EH data pointer follows */
	if (strcmp(cie->augmentation, "eh") == 0)
		sw_rd_skip(&r, cie->addr_size);
	if (cie->version == 4) {
		cie->addr_size = sw_rd_u8(&r);
		cie->segment_size = sw_rd_u8(&r);
		if (!r.err && (cie->addr_size < 1 || cie->addr_size > 8 ||
			       cie->segment_size > 8))
			sw_rd_fail(&r, SW_EUNSUPPORTED);
	}
	cie->code_align = sw_rd_uleb(&r);
	cie->data_align = sw_rd_sleb(&r);
	cie->ra_reg = cie->version == 1 ? sw_rd_u8(&r) : sw_rd_uleb(&r);
	if (r.err)
		return diag_set(diag, &r, r.err, off);
	if (cie->augmentation[0] == 'z') {
		cie->has_z = true;
		if (parse_cie_augmentation(sec, &r, cie) < 0)
			return diag_set(diag, &r, r.err, off);
	} else if (cie->augmentation[0] != '\0' &&
		   strcmp(cie->augmentation, "eh") != 0 &&
		   strspn(cie->augmentation, "SB") != strlen(cie->augmentation)) {
		/* without 'z' only data-less characters can be understood: GNU as
		 * writes "S" into .debug_frame for .cfi_signal_frame; anything else
		 * has augmentation data of unknown length */
		r.pos = (const uint8_t *)cie->augmentation;   /* report the string */
		sw_rd_fail(&r, SW_EAUGMENTATION);
		return diag_set(diag, &r, r.err, off);
	}
	if (!cie->has_z) {
		cie->signal_frame = strchr(cie->augmentation, 'S') != NULL;
		cie->bti = strchr(cie->augmentation, 'B') != NULL;
	}
	cie->insns = r.pos;
	cie->insns_len = sw_rd_left(&r);
	return 0;
}

int sw_cfi_parse_fde(const struct sw_cfi_section *sec, uint64_t off,
		     struct sw_fde *fde, struct sw_cie *cie, struct sw_diag *diag)
{
	struct sw_cfi_entry ent;
	struct sw_reader r;
	struct sw_ptr_ctx pc;
	uint64_t range;
	int rc;

	memset(fde, 0, sizeof(*fde));
	rc = sw_cfi_entry_at(sec, off, &ent, diag);
	if (rc < 0)
		return rc;
	section_reader(sec, &r);
	r.pos = r.start + (rc == 0 ? ent.body : off);
	if (rc != 0 || ent.kind != SW_CFI_FDE)
		return diag_set(diag, &r, SW_EINVAL, off);
	r.end = r.start + ent.end;
	/* the CIE must start inside the section and not be this FDE */
	if (ent.cie_offset >= sec->size || ent.cie_offset == off) {
		sw_rd_fail(&r, SW_EBADCIE);
		return diag_set(diag, &r, SW_EBADCIE, off);
	}
	rc = sw_cfi_parse_cie(sec, ent.cie_offset, cie, diag);
	if (rc < 0) {
		if (diag && rc == SW_EBADCIE)
			diag->entry = off;
		return rc;
	}
	fde->offset = off;
	fde->end = ent.end;
	fde->cie_offset = ent.cie_offset;

	memset(&pc, 0, sizeof(pc));
	pc.addr_size = cie->addr_size;
	pc.textrel = sec->textrel;
	pc.datarel = sec->datarel;
	pc.deref = sec->deref;
	pc.deref_arg = sec->deref_arg;
	if (cie->segment_size)
		fde->segment = sw_rd_un(&r, cie->segment_size);
	fde->pc_begin = sw_rd_encoded(&r, cie->fde_enc, &pc);
	/* the range has the encoding's size and signedness but no base */
	range = sw_rd_encoded(&r, cie->fde_enc & 0x0f, &pc);
	if (r.err)
		return diag_set(diag, &r, r.err, off);
	fde->pc_end = fde->pc_begin + range;
	if (fde->pc_end < fde->pc_begin) {
		sw_rd_fail(&r, SW_ERANGE);
		return diag_set(diag, &r, SW_ERANGE, off);
	}
	if (cie->has_z) {
		struct sw_reader ar;
		fde->aug_data_len = sw_rd_uleb(&r);
		fde->aug_data = sw_rd_bytes(&r, fde->aug_data_len);
		if (r.err)
			return diag_set(diag, &r, r.err, off);
		if (cie->lsda_enc != SW_PE_omit) {
			sw_rd_sub(&ar, &r, fde->aug_data, fde->aug_data_len);
			pc.funcrel = fde->pc_begin;
			fde->lsda = sw_rd_encoded(&ar, cie->lsda_enc, &pc);
			if (ar.err)
				return diag_set(diag, &ar, ar.err, off);
		}
	}
	fde->insns = r.pos;
	fde->insns_len = sw_rd_left(&r);
	return 0;
}

int sw_cfi_find_fde_linear(const struct sw_cfi_section *sec, uint64_t pc,
			   struct sw_fde *fde, struct sw_cie *cie, struct sw_diag *diag)
{
	struct sw_cfi_entry ent;
	uint64_t off = 0;
	int rc;

	while ((rc = sw_cfi_entry_at(sec, off, &ent, diag)) == 0) {
		if (ent.end <= off)     /* cannot happen; guards the loop anyway */
			return SW_ELENGTH;
		if (ent.kind == SW_CFI_ZERO && sec->is_eh)
			break;
		if (ent.kind == SW_CFI_FDE) {
			rc = sw_cfi_parse_fde(sec, off, fde, cie, diag);
			if (rc < 0)
				return rc;
			if (pc >= fde->pc_begin && pc < fde->pc_end)
				return 0;
		}
		off = ent.end;
	}
	return rc < 0 ? rc : SW_ENOTFOUND;
}
