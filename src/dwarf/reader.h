/*
 * The one bounds-checked reader every parser in stackwalk goes through.
 *
 * A reader walks a byte range [start, end).  Reads past the end do not
 * fault: they return 0 and set a *sticky* error that records the section
 * name and the offset where it first went wrong, so a parser can run a
 * whole entry and check once (libbacktrace's dwarf_buf does the same).
 * After the first error every further read returns 0 and the position no
 * longer moves.
 *
 * Everything here is inline, allocation-free and async-signal-safe: the
 * unwind path uses the same reader as the dump tool.
 */
#ifndef SW_DWARF_READER_H
#define SW_DWARF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stackwalk.h"

struct sw_reader {
	const uint8_t *start;   /* first byte of the section (offsets count from here) */
	const uint8_t *pos;     /* next byte to read */
	const uint8_t *end;     /* one past the last readable byte */
	uint64_t vaddr;         /* address `start` has when loaded (for pc-relative values) */
	const char *section;    /* section name, for messages */
	int err;                /* first error (SW_E*), 0 while none */
	uint64_t err_off;       /* section offset where the first error happened */
};

/* Start reading `size` bytes at `data`; `vaddr` is the address of `data`
 * in the target's address space (0 when unknown).  A missing section
 * (data NULL) reads as empty. */
static inline void sw_rd_init(struct sw_reader *r, const void *data, size_t size,
			      uint64_t vaddr, const char *section)
{
	static const uint8_t none[1];

	if (!data) {
		data = none;
		size = 0;
	}
	r->start = (const uint8_t *)data;
	r->pos = r->start;
	r->end = r->start + size;
	r->vaddr = vaddr;
	r->section = section;
	r->err = 0;
	r->err_off = 0;
}

/* A reader over a sub-range of `parent` ([pos, pos + size)), sharing its
 * section start so offsets and pc-relative addresses stay section-based.
 * A sub-range that does not fit sets SW_ELENGTH on the child. */
static inline void sw_rd_sub(struct sw_reader *child, const struct sw_reader *parent,
			     const uint8_t *pos, uint64_t size)
{
	*child = *parent;
	child->pos = pos;
	child->err = 0;
	if (pos < parent->start || pos > parent->end ||
	    size > (uint64_t)(parent->end - pos)) {
		child->end = pos < parent->end && pos >= parent->start ? parent->end : pos;
		child->err = SW_ELENGTH;
		child->err_off = (uint64_t)(pos - parent->start);
		return;
	}
	child->end = pos + size;
}

/* Offset of the read position from the section start. */
static inline uint64_t sw_rd_off(const struct sw_reader *r)
{
	return (uint64_t)(r->pos - r->start);
}

/* Bytes left before the end. */
static inline size_t sw_rd_left(const struct sw_reader *r)
{
	return (size_t)(r->end - r->pos);
}

/* Record `err` unless an error is already recorded; returns r->err. */
static inline int sw_rd_fail(struct sw_reader *r, int err)
{
	if (!r->err) {
		r->err = err;
		r->err_off = (uint64_t)(r->pos - r->start);
	}
	return r->err;
}

/* True when `n` more bytes can be read; sets SW_ETRUNCATED otherwise. */
static inline bool sw_rd_need(struct sw_reader *r, size_t n)
{
	if (r->err)
		return false;
	if ((size_t)(r->end - r->pos) < n) {
		sw_rd_fail(r, SW_ETRUNCATED);
		return false;
	}
	return true;
}

static inline uint8_t sw_rd_u8(struct sw_reader *r)
{
	if (!sw_rd_need(r, 1))
		return 0;
	return *r->pos++;
}

/* Little-endian unsigned value of `n` (0..8) bytes. */
static inline uint64_t sw_rd_un(struct sw_reader *r, unsigned n)
{
	uint64_t v = 0;

	if (n > 8) {
		sw_rd_fail(r, SW_EENCODING);
		return 0;
	}
	if (!sw_rd_need(r, n))
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->pos[i] << (8 * i);
	r->pos += n;
	return v;
}

/* Little-endian signed value of `n` (1..8) bytes, sign-extended. */
static inline int64_t sw_rd_sn(struct sw_reader *r, unsigned n)
{
	uint64_t v = sw_rd_un(r, n);

	if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~(uint64_t)0 << (8 * n);
	return (int64_t)v;
}

static inline uint16_t sw_rd_u16(struct sw_reader *r) { return (uint16_t)sw_rd_un(r, 2); }
static inline uint32_t sw_rd_u32(struct sw_reader *r) { return (uint32_t)sw_rd_un(r, 4); }
static inline uint64_t sw_rd_u64(struct sw_reader *r) { return sw_rd_un(r, 8); }

/* Unsigned LEB128.  A value that needs more than 64 bits is SW_ELEB128;
 * redundant zero padding (0x80 0x80 ... 0x00) is accepted. */
static inline uint64_t sw_rd_uleb(struct sw_reader *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		if (!sw_rd_need(r, 1))
			return 0;
		uint8_t b = *r->pos++;
		uint64_t bits = b & 0x7f;
		if (shift < 64) {
			if (shift > 57 && (bits >> (64 - shift)) != 0) {
				r->pos--;
				sw_rd_fail(r, SW_ELEB128);
				return 0;
			}
			v |= bits << shift;
		} else if (bits != 0) {
			r->pos--;
			sw_rd_fail(r, SW_ELEB128);
			return 0;
		}
		shift += 7;
		if (!(b & 0x80))
			return v;
		if (shift > 7 * 20) {   /* absurdly long padding: bound the loop */
			sw_rd_fail(r, SW_ELEB128);
			return 0;
		}
	}
}

/* Signed LEB128 with the same overflow rule (the high bits beyond 64 must
 * all equal the sign). */
static inline int64_t sw_rd_sleb(struct sw_reader *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	for (;;) {
		if (!sw_rd_need(r, 1))
			return 0;
		b = *r->pos++;
		uint64_t bits = b & 0x7f;
		if (shift < 64) {
			if (shift > 57) {
				/* bits that land above bit 63 must be a sign extension */
				uint64_t over = bits >> (64 - shift);
				uint64_t all = 0x7f >> (64 - shift);
				int sign = (bits >> (63 - shift)) & 1;
				if (over != (sign ? all : 0)) {
					r->pos--;
					sw_rd_fail(r, SW_ELEB128);
					return 0;
				}
			}
			v |= bits << shift;
		} else {
			int sign = (int)(v >> 63);
			if (bits != (sign ? 0x7fu : 0u)) {
				r->pos--;
				sw_rd_fail(r, SW_ELEB128);
				return 0;
			}
		}
		shift += 7;
		if (!(b & 0x80))
			break;
		if (shift > 7 * 20) {
			sw_rd_fail(r, SW_ELEB128);
			return 0;
		}
	}
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* Skip `n` bytes. */
static inline void sw_rd_skip(struct sw_reader *r, uint64_t n)
{
	if (r->err)
		return;
	if (n > (uint64_t)(r->end - r->pos)) {
		sw_rd_fail(r, SW_ETRUNCATED);
		return;
	}
	r->pos += n;
}

/* Pointer to `n` bytes at the position (then skipped), NULL on error. */
static inline const uint8_t *sw_rd_bytes(struct sw_reader *r, uint64_t n)
{
	const uint8_t *p = r->pos;

	if (r->err)
		return NULL;
	if (n > (uint64_t)(r->end - r->pos)) {
		sw_rd_fail(r, SW_ETRUNCATED);
		return NULL;
	}
	r->pos += n;
	return p;
}

/* NUL-terminated string at the position; NULL (and SW_ETRUNCATED) when the
 * terminator is missing. */
static inline const char *sw_rd_cstr(struct sw_reader *r)
{
	const uint8_t *p = r->pos;
	const uint8_t *nul;

	if (r->err)
		return NULL;
	nul = (const uint8_t *)memchr(p, 0, (size_t)(r->end - p));
	if (!nul) {
		sw_rd_fail(r, SW_ETRUNCATED);
		return NULL;
	}
	r->pos = nul + 1;
	return (const char *)p;
}

/* DW_EH_PE_* pointer encodings (LSB ehframechpt, .eh_frame augmentation). */
enum {
	SW_PE_absptr = 0x00,
	SW_PE_uleb128 = 0x01,
	SW_PE_udata2 = 0x02,
	SW_PE_udata4 = 0x03,
	SW_PE_udata8 = 0x04,
	SW_PE_signed = 0x08,
	SW_PE_sleb128 = 0x09,
	SW_PE_sdata2 = 0x0a,
	SW_PE_sdata4 = 0x0b,
	SW_PE_sdata8 = 0x0c,
	SW_PE_pcrel = 0x10,
	SW_PE_textrel = 0x20,
	SW_PE_datarel = 0x30,
	SW_PE_funcrel = 0x40,
	SW_PE_aligned = 0x50,
	SW_PE_indirect = 0x80,
	SW_PE_omit = 0xff,
};

/* What a pointer encoding may be relative to, and how to follow an
 * indirect one. */
struct sw_ptr_ctx {
	uint8_t addr_size;      /* bytes in an absptr: 8 on x86-64 (4 for ILP32 data) */
	uint64_t textrel;       /* base for DW_EH_PE_textrel (0: not available) */
	uint64_t datarel;       /* base for DW_EH_PE_datarel (.eh_frame_hdr / GOT) */
	uint64_t funcrel;       /* base for DW_EH_PE_funcrel (the FDE's pc_begin) */
	/* Reads a target pointer at `addr` for DW_EH_PE_indirect; returns 0 or
	 * SW_EMEMORY.  NULL: indirect pointers cannot be followed (error). */
	int (*deref)(void *arg, uint64_t addr, uint64_t *out);
	void *deref_arg;
};

/* Size in bytes of a fixed-size encoded value, 0 for LEB128 forms, -1 for
 * an invalid format. */
static inline int sw_pe_size(uint8_t enc, uint8_t addr_size)
{
	switch (enc & 0x0f) {
	case SW_PE_absptr: return addr_size;
	case SW_PE_udata2: case SW_PE_sdata2: return 2;
	case SW_PE_udata4: case SW_PE_sdata4: return 4;
	case SW_PE_udata8: case SW_PE_sdata8: return 8;
	case SW_PE_uleb128: case SW_PE_sleb128: return 0;
	default: return -1;
	}
}

/* True when `enc` is a valid DW_EH_PE_* byte (omit counts as valid). */
static inline bool sw_pe_valid(uint8_t enc)
{
	if (enc == SW_PE_omit)
		return true;
	if (sw_pe_size(enc, 8) < 0)
		return false;
	return (enc & 0x70) <= SW_PE_aligned;
}

/*
 * Read a pointer in encoding `enc`.  The base is applied (pcrel: address of
 * the value itself; textrel/datarel/funcrel from `ctx`; aligned: the
 * position is first rounded up to addr_size), then, for DW_EH_PE_indirect,
 * the result is dereferenced through ctx->deref.  `enc` == DW_EH_PE_omit
 * reads nothing and returns 0.  Errors are sticky on the reader.
 */
static inline uint64_t sw_rd_encoded(struct sw_reader *r, uint8_t enc,
				     const struct sw_ptr_ctx *ctx)
{
	uint64_t base = 0, v;
	uint64_t here;
	int size;

	if (enc == SW_PE_omit || r->err)
		return 0;
	if (!sw_pe_valid(enc)) {
		sw_rd_fail(r, SW_EENCODING);
		return 0;
	}
	if ((enc & 0x70) == SW_PE_aligned) {
		uint64_t a = ctx->addr_size ? ctx->addr_size : 8;
		uint64_t addr = r->vaddr + sw_rd_off(r);
		uint64_t pad = (a - addr % a) % a;
		sw_rd_skip(r, pad);
	}
	here = r->vaddr + sw_rd_off(r);
	size = sw_pe_size(enc, ctx->addr_size);
	switch (enc & 0x0f) {
	case SW_PE_uleb128: v = sw_rd_uleb(r); break;
	case SW_PE_sleb128: v = (uint64_t)sw_rd_sleb(r); break;
	default:
		if (enc & SW_PE_signed)
			v = (uint64_t)sw_rd_sn(r, (unsigned)size);
		else
			v = sw_rd_un(r, (unsigned)size);
		break;
	}
	if (r->err)
		return 0;
	switch (enc & 0x70) {
	case SW_PE_absptr: case SW_PE_aligned: base = 0; break;
	case SW_PE_pcrel: base = here; break;
	case SW_PE_textrel:
		if (!ctx->textrel) { sw_rd_fail(r, SW_EENCODING); return 0; }
		base = ctx->textrel;
		break;
	case SW_PE_datarel:
		if (!ctx->datarel) { sw_rd_fail(r, SW_EENCODING); return 0; }
		base = ctx->datarel;
		break;
	case SW_PE_funcrel: base = ctx->funcrel; break;
	}
	v += base;
	if (ctx->addr_size == 4)
		v &= 0xffffffffu;
	if (enc & SW_PE_indirect) {
		uint64_t target;
		if (!ctx->deref || ctx->deref(ctx->deref_arg, v, &target) != 0) {
			sw_rd_fail(r, SW_EMEMORY);
			return 0;
		}
		v = target;
	}
	return v;
}

#endif /* SW_DWARF_READER_H */
