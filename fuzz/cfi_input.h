/*
 * The input layout fuzz_cfi and fuzz_table share (so one corpus seeds
 * both): flags, an optional .eh_frame_hdr, the section.
 *
 *   byte 0      flags
 *     bit 0       1: .eh_frame rules, 0: .debug_frame rules
 *     bits 1-3    section vaddr, an index into cfi_vaddrs[]
 *     bit 4       textrel/datarel bases (fuzz_cfi: and a DW_EH_PE_indirect callback)
 *     bit 5       section default address size 4 instead of 8
 *     bit 6       an explicit .eh_frame_hdr follows (when long enough):
 *       bytes 1-2   header length H (LE), clamped to what is left
 *       bytes 3-6   header vaddr - section vaddr (LE, signed 32-bit)
 *       H bytes     the .eh_frame_hdr
 *     bit 7       the target's own (fuzz_table: a table blob follows)
 *   the rest    the section
 */
#ifndef SW_FUZZ_CFI_INPUT_H
#define SW_FUZZ_CFI_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/cfi.h"

static const uint64_t cfi_vaddrs[8] = {
	0, 0x1000, 0x400000, 0x555555554000,
	0x7ffff7dd0000, 0xfffffffffffff000, 0x80000000, 0xffffffff00000000,
};

struct cfi_input {
	uint8_t flags;
	const uint8_t *hbytes;  /* the explicit header (bit 6), or NULL */
	size_t hsize;
	int64_t hdelta;         /* its vaddr - the section's */
	uint8_t *copy;          /* the section, copied to a buffer of its exact
				 * size (ASan sees any overread); free() it */
	size_t size;
};

/* Split `data` (after the flags byte, `flags` given) and set up `sec` from
 * the section's copy.  False when out of memory. */
static inline bool cfi_input_parse(struct cfi_input *in, uint8_t flags, const uint8_t *data,
				   size_t size, struct sw_cfi_section *sec)
{
	memset(in, 0, sizeof(*in));
	in->flags = flags;
	if ((flags & 0x40) && size >= 6) {
		size_t want = (size_t)data[0] | (size_t)data[1] << 8;
		uint32_t d = (uint32_t)data[2] | (uint32_t)data[3] << 8 |
			     (uint32_t)data[4] << 16 | (uint32_t)data[5] << 24;
		in->hdelta = (int32_t)d;
		data += 6;
		size -= 6;
		in->hsize = want < size ? want : size;
		in->hbytes = data;
		data += in->hsize;
		size -= in->hsize;
	}
	in->copy = malloc(size ? size : 1);
	if (!in->copy)
		return false;
	memcpy(in->copy, data, size);
	in->size = size;
	sw_cfi_section_init(sec, in->copy, size, cfi_vaddrs[(flags >> 1) & 7], flags & 1, NULL);
	if (flags & 0x10) {
		sec->textrel = sec->vaddr + 0x100000;
		sec->datarel = sec->vaddr + 0x200000;
	}
	if (flags & 0x20)
		sec->addr_size = 4;
	return true;
}

#endif /* SW_FUZZ_CFI_INPUT_H */
