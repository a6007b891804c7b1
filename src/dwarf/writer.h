/*
 * DWARF writer: the mirror of reader.h.  A byte sink with a measuring
 * mode, fixed-size little-endian values, ULEB128/SLEB128 and DW_EH_PE_*
 * pointers, for everything that produces DWARF (the CFI builder, the
 * absolute re-encoding of FDEs, the GDB publisher's debug sections, the
 * registry's relocated copies).
 *
 * The sink: sw_wr_init(w, buf, size, vaddr) writes into buf[0..size);
 * buf == NULL measures (counts the bytes, writes nothing, never fails for
 * space).  A write that does not fit sets the sticky error SW_ETRUNCATED,
 * writes nothing, and still advances pos, so pos ends as the size the
 * output needs; later writes only count.  vaddr is the address buf[0]
 * will be read at (the base of pc-relative pointers); a measuring pass
 * given the same vaddr counts exactly what the write produces (the length
 * of a pc-relative LEB128 pointer depends on it).
 *
 * Pointers (sw_pe_encode, sw_wr_encoded), one range rule: a value fits an
 * encoding when reading the field back (sw_rd_encoded, at the field's
 * address) gives the value again.  The stored quantity is d = value
 * (DW_EH_PE_absptr) or value - here (DW_EH_PE_pcrel), modulo 2^64:
 *   udata2 / udata4      d < 2^16 / 2^32 (so a pc-relative value below
 *                        the field does not fit an unsigned form);
 *   sdata2 / sdata4      d, as a signed 64-bit value, fits 16 / 32 bits;
 *   absptr, udata8, sdata8, uleb128, sleb128: any d.
 * Other applications (textrel, datarel, funcrel, aligned) and DW_EH_PE_omit
 * are SW_EUNSUPPORTED; DW_EH_PE_indirect is accepted and ignored (the
 * value is then the address of the slot holding the pointer).
 *
 * Everything here is header-only, allocates nothing, takes no locks:
 * async-signal-safe; a writer is used by one thread at a time.
 */
#ifndef SW_DWARF_WRITER_H
#define SW_DWARF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>

#include "dwarf/reader.h"

/* The longest LEB128 of a 64-bit value, and so the longest pointer. */
#define SW_LEB128_MAX 10

/* ---------------------------------------------------------------- encoders */

/* v as n little-endian bytes (n <= 8) into out. */
static inline void sw_le_encode(uint8_t *out, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* ULEB128 of v into out; returns its length (1..10). */
static inline size_t sw_uleb_encode(uint8_t out[SW_LEB128_MAX], uint64_t v)
{
	size_t n = 0;

	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		out[n++] = (uint8_t)(byte | (v ? 0x80 : 0));
	} while (v);
	return n;
}

/* SLEB128 of v into out; returns its length (1..10). */
static inline size_t sw_sleb_encode(uint8_t out[SW_LEB128_MAX], int64_t v)
{
	size_t n = 0;

	for (;;) {
		uint8_t byte = (uint8_t)(v & 0x7f);
		v >>= 7;        /* arithmetic shift (gcc, clang) */
		if ((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40))) {
			out[n++] = byte;
			return n;
		}
		out[n++] = byte | 0x80;
	}
}

/*
 * sw_pe_encode - `value` in encoding `enc` for a field at address `here`,
 * into out.  Returns the field's length (1..10), SW_ERANGE (the value does
 * not fit: see the range rule above) or SW_EUNSUPPORTED (an application
 * or format this writer does not produce, or DW_EH_PE_omit).
 */
static inline int sw_pe_encode(uint8_t out[SW_LEB128_MAX], uint8_t enc, uint64_t value,
			       uint64_t here)
{
	uint64_t d;
	int64_t sd;

	if (enc == SW_PE_omit)
		return SW_EUNSUPPORTED;
	switch (enc & 0x70) {
	case SW_PE_absptr: d = value; break;
	case SW_PE_pcrel: d = value - here; break;
	default: return SW_EUNSUPPORTED;
	}
	sd = (int64_t)d;
	switch (enc & 0x0f) {
	case SW_PE_uleb128: return (int)sw_uleb_encode(out, d);
	case SW_PE_sleb128: return (int)sw_sleb_encode(out, sd);
	case SW_PE_udata2:
		if (d > UINT16_MAX)
			return SW_ERANGE;
		sw_le_encode(out, d, 2);
		return 2;
	case SW_PE_sdata2:
		if (sd < INT16_MIN || sd > INT16_MAX)
			return SW_ERANGE;
		sw_le_encode(out, d, 2);
		return 2;
	case SW_PE_udata4:
		if (d > UINT32_MAX)
			return SW_ERANGE;
		sw_le_encode(out, d, 4);
		return 4;
	case SW_PE_sdata4:
		if (sd < INT32_MIN || sd > INT32_MAX)
			return SW_ERANGE;
		sw_le_encode(out, d, 4);
		return 4;
	case SW_PE_absptr: case SW_PE_udata8: case SW_PE_sdata8:
		sw_le_encode(out, d, 8);
		return 8;
	default:
		return SW_EUNSUPPORTED;
	}
}

/* ---------------------------------------------------------------- sink */

struct sw_writer {
	uint8_t *buf;           /* NULL: measuring */
	size_t size;            /* bytes buf holds */
	size_t pos;             /* bytes written (or counted) so far */
	uint64_t vaddr;         /* address buf[0] is read at */
	int err;                /* sticky: 0 or SW_ETRUNCATED / the first
				 * pointer error */
};

static inline void sw_wr_init(struct sw_writer *w, void *buf, size_t size, uint64_t vaddr)
{
	w->buf = buf;
	w->size = buf ? size : 0;
	w->pos = 0;
	w->vaddr = vaddr;
	w->err = 0;
}

static inline bool sw_wr_measuring(const struct sw_writer *w)
{
	return w->buf == NULL;
}

/* True when n more bytes fit (always when measuring). */
static inline bool sw_wr_room(const struct sw_writer *w, size_t n)
{
	return !w->buf || (w->pos <= w->size && n <= w->size - w->pos);
}

/* The address the next byte will be read at. */
static inline uint64_t sw_wr_here(const struct sw_writer *w)
{
	return w->vaddr + w->pos;
}

/* Append n bytes.  Returns 0 or the sticky error. */
static inline int sw_wr_bytes(struct sw_writer *w, const void *p, size_t n)
{
	if (!w->err && !sw_wr_room(w, n))
		w->err = SW_ETRUNCATED;
	if (!w->err && w->buf && n)
		memcpy(w->buf + w->pos, p, n);
	w->pos += n;
	return w->err;
}

static inline int sw_wr_un(struct sw_writer *w, uint64_t v, unsigned n)
{
	uint8_t tmp[8];

	sw_le_encode(tmp, v, n);
	return sw_wr_bytes(w, tmp, n);
}

static inline int sw_wr_u8(struct sw_writer *w, uint8_t v) { return sw_wr_bytes(w, &v, 1); }
static inline int sw_wr_u16(struct sw_writer *w, uint16_t v) { return sw_wr_un(w, v, 2); }
static inline int sw_wr_u32(struct sw_writer *w, uint32_t v) { return sw_wr_un(w, v, 4); }
static inline int sw_wr_u64(struct sw_writer *w, uint64_t v) { return sw_wr_un(w, v, 8); }

static inline int sw_wr_uleb(struct sw_writer *w, uint64_t v)
{
	uint8_t tmp[SW_LEB128_MAX];

	return sw_wr_bytes(w, tmp, sw_uleb_encode(tmp, v));
}

static inline int sw_wr_sleb(struct sw_writer *w, int64_t v)
{
	uint8_t tmp[SW_LEB128_MAX];

	return sw_wr_bytes(w, tmp, sw_sleb_encode(tmp, v));
}

/* A NUL-terminated string, terminator included. */
static inline int sw_wr_cstr(struct sw_writer *w, const char *s)
{
	return sw_wr_bytes(w, s, strlen(s) + 1);
}

/* Overwrite 4 bytes at `at` (a length field written before): nothing when
 * measuring or when they were never written. */
static inline void sw_wr_patch_u32(struct sw_writer *w, size_t at, uint32_t v)
{
	if (w->buf && at <= w->size && 4 <= w->size - at)
		sw_le_encode(w->buf + at, v, 4);
}

/*
 * sw_pe_encode for a field of w's output at address `here`.  Measuring,
 * fixed-size fields are encoded without the range check (the addresses
 * are not final; the size does not depend on the value); LEB128 ones are
 * encoded for their length.  Returns as sw_pe_encode.
 */
static inline int sw_wr_pe_encode(const struct sw_writer *w, uint8_t out[SW_LEB128_MAX],
				  uint8_t enc, uint64_t value, uint64_t here)
{
	if (sw_wr_measuring(w) && enc != SW_PE_omit && sw_pe_size(enc, 8) > 0)
		value = here = 0;
	return sw_pe_encode(out, enc, value, here);
}

/* A DW_EH_PE_* pointer at the current position (sw_wr_here), as by
 * sw_wr_pe_encode.  Returns 0 or the sticky error: SW_ERANGE or
 * SW_EUNSUPPORTED (nothing written), SW_ETRUNCATED. */
static inline int sw_wr_encoded(struct sw_writer *w, uint8_t enc, uint64_t value)
{
	uint8_t tmp[SW_LEB128_MAX];
	int n;

	if (w->err)
		return w->err;
	if ((n = sw_wr_pe_encode(w, tmp, enc, value, sw_wr_here(w))) < 0)
		return w->err = n;
	return sw_wr_bytes(w, tmp, (size_t)n);
}

/* The output's size (0..INT_MAX) or the sticky error. */
static inline int sw_wr_finish(const struct sw_writer *w)
{
	if (w->err)
		return w->err;
	return w->pos > (size_t)INT32_MAX ? SW_ETRUNCATED : (int)w->pos;
}

#endif /* SW_DWARF_WRITER_H */
