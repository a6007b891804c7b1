/*
 * CFI builder: .eh_frame bytes for generated code from .cfi_*-like calls.
 * See include/stackwalk/jit.h for the format and the error rules.
 *
 * Writes into the caller's buffer only, allocates nothing, takes no locks:
 * async-signal-safe.  Multi-byte fields are little-endian (x86-64).
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "dwarf/cfi.h"
#include "dwarf/reader.h"

enum { ST_IDLE = 0, ST_PENDING, ST_OPEN, ST_FINISHED };

#define CIE_CODE_ALIGN 1
#define CIE_DATA_ALIGN (-8)
#define CIE_RA_REG 16

struct cfa_state {
	uint32_t reg;
	int64_t offset;
};

struct bld {
	uint8_t *buf;           /* NULL: measuring mode */
	size_t size;
	size_t pos;
	uint64_t eh_addr;
	int err;                /* sticky */
	uint8_t state;
	uint8_t fde_enc;        /* DW_EH_PE_* of FDE pc_begin / pc_range */
	uint8_t depth;          /* remember_state depth */

	/* The last CIE written. */
	bool have_cie;
	uint8_t cie_pers_enc, cie_lsda_enc;
	bool cie_signal;
	uint64_t cie_pers;
	size_t cie_off;

	/* The current procedure. */
	uint8_t pers_enc, lsda_enc;
	bool signal;
	uint64_t pers, lsda;
	uint64_t code_start, code_size;
	size_t fde_off;
	uint64_t loc, pending;  /* code offsets: written / requested location */
	struct cfa_state cfa;
	struct cfa_state stack[SW_CFI_B_REMEMBER_MAX];

	/* The previous procedure (overlap check in measuring mode). */
	bool have_prev;
	uint64_t prev_start, prev_end;
};

_Static_assert(sizeof(struct bld) <= sizeof(sw_cfi_builder_t), "sw_cfi_builder_t too small");
_Static_assert(_Alignof(struct bld) <= _Alignof(sw_cfi_builder_t), "sw_cfi_builder_t misaligned");

static int fail(struct bld *s, int err)
{
	if (!s->err)
		s->err = err;
	return s->err;
}

static int put(struct bld *s, const void *p, size_t n)
{
	if (s->err)
		return s->err;
	if (n > (size_t)INT_MAX - s->pos || (s->buf && n > s->size - s->pos))
		return fail(s, SW_ETRUNCATED);
	if (s->buf && n)
		memcpy(s->buf + s->pos, p, n);
	s->pos += n;
	return 0;
}

static int put_u8(struct bld *s, uint8_t v)
{
	return put(s, &v, 1);
}

static int put_le(struct bld *s, uint64_t v, unsigned n)
{
	uint8_t tmp[8];
	for (unsigned i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	return put(s, tmp, n);
}

static size_t enc_uleb(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		if (v)
			byte |= 0x80;
		out[n++] = byte;
	} while (v);
	return n;
}

static size_t enc_sleb(uint8_t *out, int64_t v)
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

static int put_uleb(struct bld *s, uint64_t v)
{
	uint8_t tmp[10];
	return put(s, tmp, enc_uleb(tmp, v));
}

static int put_sleb(struct bld *s, int64_t v)
{
	uint8_t tmp[10];
	return put(s, tmp, enc_sleb(tmp, v));
}

/* Encodings the builder writes for personality and LSDA pointers. */
static bool enc_supported(uint8_t enc)
{
	if (enc & 0x60)         /* textrel, datarel, funcrel, aligned */
		return false;
	switch (enc & 0x0f) {
	case SW_PE_absptr: case SW_PE_uleb128: case SW_PE_udata2: case SW_PE_udata4:
	case SW_PE_udata8: case SW_PE_sleb128: case SW_PE_sdata2: case SW_PE_sdata4:
	case SW_PE_sdata8:
		return true;
	default:
		return false;
	}
}

/* Encode `value` with `enc` for a field at address `here` into out[10].
 * Returns the length or SW_EENCODING when it does not fit.  In measuring
 * mode the addresses are placeholders: fixed-size fields are not range
 * checked (their size does not depend on the value). */
static int enc_ptr(uint8_t *out, uint8_t enc, uint64_t value, uint64_t here, bool measuring)
{
	uint64_t v = (enc & 0x70) == SW_PE_pcrel ? value - here : value;
	int64_t sv = (int64_t)v;
	unsigned n;
	if (measuring && (enc & 0x07) != SW_PE_uleb128)
		v = sv = 0;
	switch (enc & 0x0f) {
	case SW_PE_uleb128:
		if ((enc & 0x70) == SW_PE_pcrel && value < here)
			return SW_EENCODING;
		return (int)enc_uleb(out, v);
	case SW_PE_sleb128:
		return (int)enc_sleb(out, sv);
	case SW_PE_udata2:
		if (v > 0xffff) return SW_EENCODING;
		n = 2; break;
	case SW_PE_sdata2:
		if (sv < INT16_MIN || sv > INT16_MAX) return SW_EENCODING;
		n = 2; break;
	case SW_PE_udata4:
		if (v > 0xffffffffu) return SW_EENCODING;
		n = 4; break;
	case SW_PE_sdata4:
		if (sv < INT32_MIN || sv > INT32_MAX) return SW_EENCODING;
		n = 4; break;
	default:                /* absptr, udata8, sdata8 */
		n = 8; break;
	}
	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
	return (int)n;
}

static void patch_u32(struct bld *s, size_t off, uint32_t v)
{
	if (s->buf && !s->err)
		for (unsigned i = 0; i < 4; i++)
			s->buf[off + i] = (uint8_t)(v >> (8 * i));
}

/* Pad the entry starting at `off` to a multiple of 8 and store its length. */
static int close_entry(struct bld *s, size_t off)
{
	while (!s->err && (s->pos - off) % 8)
		put_u8(s, SW_CFA_nop);
	if (s->err)
		return s->err;
	if (s->pos - off - 4 > 0xfffffff0u)
		return fail(s, SW_ETRUNCATED);
	patch_u32(s, off, (uint32_t)(s->pos - off - 4));
	return 0;
}

static int write_cie(struct bld *s)
{
	char aug[8];
	size_t n = 0;
	uint8_t data[32];
	size_t dlen = 0;
	size_t off = s->pos;

	aug[n++] = 'z';
	if (s->pers_enc != SW_PE_omit)
		aug[n++] = 'P';
	if (s->lsda_enc != SW_PE_omit)
		aug[n++] = 'L';
	aug[n++] = 'R';
	if (s->signal)
		aug[n++] = 'S';
	aug[n++] = '\0';

	put_le(s, 0, 4);                /* length, patched */
	put_le(s, 0, 4);                /* CIE id */
	put_u8(s, 1);                   /* version */
	put(s, aug, n);
	put_uleb(s, CIE_CODE_ALIGN);
	put_sleb(s, CIE_DATA_ALIGN);
	put_u8(s, CIE_RA_REG);          /* version 1: one byte */
	if (s->err)
		return s->err;
	/* Augmentation data (< 128 bytes: its length is one ULEB byte). */
	if (s->pers_enc != SW_PE_omit) {
		data[dlen++] = s->pers_enc;
		uint64_t here = s->eh_addr + s->pos + 1 + dlen;
		int len = enc_ptr(data + dlen, s->pers_enc, s->pers, here, !s->buf);
		if (len < 0)
			return fail(s, len);
		dlen += (size_t)len;
	}
	if (s->lsda_enc != SW_PE_omit)
		data[dlen++] = s->lsda_enc;
	data[dlen++] = s->fde_enc;
	put_uleb(s, dlen);
	put(s, data, dlen);
	/* Initial instructions: CFA = rsp + 8, rip at CFA - 8. */
	static const uint8_t init[] = {
		SW_CFA_def_cfa, SW_REG_RSP, 8,
		SW_CFA_offset | SW_REG_RIP, 1,
	};
	put(s, init, sizeof init);
	if (close_entry(s, off))
		return s->err;
	s->have_cie = true;
	s->cie_off = off;
	s->cie_pers_enc = s->pers_enc;
	s->cie_pers = s->pers;
	s->cie_lsda_enc = s->lsda_enc;
	s->cie_signal = s->signal;
	return 0;
}

static bool cie_matches(const struct bld *s)
{
	return s->have_cie && s->cie_pers_enc == s->pers_enc &&
	       (s->pers_enc == SW_PE_omit || s->cie_pers == s->pers) &&
	       s->cie_lsda_enc == s->lsda_enc && s->cie_signal == s->signal;
}

/* Write the CIE if needed and the FDE header of the current procedure. */
static int open_fde(struct bld *s)
{
	if (!cie_matches(s) && write_cie(s))
		return s->err;
	size_t off = s->pos;
	put_le(s, 0, 4);                                /* length, patched */
	put_le(s, (uint64_t)(off + 4 - s->cie_off), 4); /* CIE pointer */
	if (s->err)
		return s->err;
	uint8_t tmp[10];
	int len = enc_ptr(tmp, s->fde_enc, s->code_start, s->eh_addr + s->pos, !s->buf);
	if (len < 0)
		return fail(s, len);
	put(s, tmp, (size_t)len);
	if (s->fde_enc == (SW_PE_pcrel | SW_PE_sdata4)) {
		if (s->code_size > INT32_MAX)
			return fail(s, SW_EENCODING);
		put_le(s, s->code_size, 4);
	} else {
		put_le(s, s->code_size, 8);
	}
	if (s->lsda_enc != SW_PE_omit) {
		len = enc_ptr(tmp, s->lsda_enc, s->lsda, s->eh_addr + s->pos + 1, !s->buf);
		if (len < 0)
			return fail(s, len);
		put_uleb(s, (uint64_t)len);
		put(s, tmp, (size_t)len);
	} else {
		put_uleb(s, 0);
	}
	if (s->err)
		return s->err;
	s->fde_off = off;
	s->state = ST_OPEN;
	return 0;
}

static struct bld *get(sw_cfi_builder_t *b)
{
	return (struct bld *)(void *)b;
}

/* Common entry of a directive: the FDE is open and the location current. */
static int begin_directive(struct bld *s)
{
	if (s->err)
		return s->err;
	if (s->state != ST_PENDING && s->state != ST_OPEN)
		return fail(s, SW_EINVAL);
	if (s->state == ST_PENDING && open_fde(s))
		return s->err;
	uint64_t delta = s->pending - s->loc;
	while (delta && !s->err) {
		if (delta < 0x40) {
			put_u8(s, (uint8_t)(SW_CFA_advance_loc | delta));
			delta = 0;
		} else if (delta <= 0xff) {
			put_u8(s, SW_CFA_advance_loc1);
			put_le(s, delta, 1);
			delta = 0;
		} else if (delta <= 0xffff) {
			put_u8(s, SW_CFA_advance_loc2);
			put_le(s, delta, 2);
			delta = 0;
		} else {
			uint64_t chunk = delta > 0xffffffffu ? 0xffffffffu : delta;
			put_u8(s, SW_CFA_advance_loc4);
			put_le(s, chunk, 4);
			delta -= chunk;
		}
	}
	s->loc = s->pending;
	return s->err;
}

/* Argument checks common to register directives. */
static int check_reg(struct bld *s, unsigned reg)
{
	if (s->err)
		return s->err;
	if (reg > SW_CFI_B_MAX_REG)
		return fail(s, SW_EBADREG);
	return 0;
}

/* Does [start, end) overlap a procedure already written? */
static bool overlaps(const struct bld *s, uint64_t start, uint64_t end)
{
	if (s->have_prev && start < s->prev_end && s->prev_start < end)
		return true;
	if (!s->buf)
		return false;
	size_t off = 0;
	while (off + 8 <= s->pos) {
		const uint8_t *p = s->buf + off;
		uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 24;
		if (len == 0 || off + 4 + (size_t)len > s->pos)
			break;  /* an entry still being written */
		if (p[4] | p[5] | p[6] | p[7]) {        /* FDE */
			uint64_t a = 0, r = 0;
			unsigned n = s->fde_enc == (SW_PE_pcrel | SW_PE_sdata4) ? 4 : 8;
			for (unsigned i = 0; i < n; i++) {
				a |= (uint64_t)p[8 + i] << (8 * i);
				r |= (uint64_t)p[8 + n + i] << (8 * i);
			}
			if (n == 4)
				a = (uint64_t)(int64_t)(int32_t)(uint32_t)a;
			if (s->fde_enc != SW_PE_absptr)
				a += s->eh_addr + off + 8;
			if (start < a + r && a < end)
				return true;
		}
		off += 4 + (size_t)len;
	}
	return false;
}

/* ---------------------------------------------------------------- API */

int sw_cfi_b_init(sw_cfi_builder_t *b, void *buf, size_t size, uint64_t eh_addr,
		  int ptr_mode)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	memset(b, 0, sizeof *b);
	s->buf = buf;
	s->size = buf ? size : 0;
	s->eh_addr = eh_addr;
	switch (ptr_mode) {
	case SW_CFI_B_PCREL4: s->fde_enc = SW_PE_pcrel | SW_PE_sdata4; break;
	case SW_CFI_B_PCREL8: s->fde_enc = SW_PE_pcrel | SW_PE_sdata8; break;
	case SW_CFI_B_ABSPTR: s->fde_enc = SW_PE_absptr; break;
	default: return fail(s, SW_EINVAL);
	}
	return 0;
}

int sw_cfi_b_status(const sw_cfi_builder_t *b)
{
	return b ? ((const struct bld *)(const void *)b)->err : SW_EINVAL;
}

size_t sw_cfi_b_size(const sw_cfi_builder_t *b)
{
	return b ? ((const struct bld *)(const void *)b)->pos : 0;
}

int sw_cfi_b_startproc(sw_cfi_builder_t *b, uint64_t code_start, uint64_t code_size)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	uint64_t end;
	if (s->err)
		return s->err;
	if (s->state != ST_IDLE || code_size == 0 ||
	    __builtin_add_overflow(code_start, code_size, &end) ||
	    overlaps(s, code_start, end))
		return fail(s, SW_EINVAL);
	s->state = ST_PENDING;
	s->code_start = code_start;
	s->code_size = code_size;
	s->pers_enc = SW_PE_omit;
	s->lsda_enc = SW_PE_omit;
	s->pers = s->lsda = 0;
	s->signal = false;
	s->loc = s->pending = 0;
	s->cfa.reg = SW_REG_RSP;
	s->cfa.offset = 8;
	s->depth = 0;
	return 0;
}

int sw_cfi_b_endproc(sw_cfi_builder_t *b)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (s->err)
		return s->err;
	if (s->state != ST_PENDING && s->state != ST_OPEN)
		return fail(s, SW_EINVAL);
	if (s->state == ST_PENDING && open_fde(s))
		return s->err;
	if (close_entry(s, s->fde_off))
		return s->err;
	s->state = ST_IDLE;
	s->have_prev = true;
	s->prev_start = s->code_start;
	s->prev_end = s->code_start + s->code_size;
	return 0;
}

int sw_cfi_b_finish(sw_cfi_builder_t *b)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (s->err)
		return s->err;
	if (s->state != ST_IDLE)
		return fail(s, SW_EINVAL);
	if (put_le(s, 0, 4))
		return s->err;
	s->state = ST_FINISHED;
	return (int)s->pos;
}

/* CIE properties: only before the procedure's first directive. */
static int cie_prop_ok(struct bld *s)
{
	if (s->err)
		return s->err;
	if (s->state != ST_PENDING)
		return fail(s, SW_EINVAL);
	return 0;
}

/* Set a CIE pointer property (personality or LSDA): encoding and value. */
static int set_cie_ptr(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address, bool lsda)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (cie_prop_ok(s))
		return s->err;
	if (encoding != SW_PE_omit && !enc_supported(encoding))
		return fail(s, SW_EENCODING);
	uint64_t v = encoding == SW_PE_omit ? 0 : address;
	if (lsda) {
		s->lsda_enc = encoding;
		s->lsda = v;
	} else {
		s->pers_enc = encoding;
		s->pers = v;
	}
	return 0;
}

int sw_cfi_b_personality(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address)
{
	return set_cie_ptr(b, encoding, address, false);
}

int sw_cfi_b_lsda(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address)
{
	return set_cie_ptr(b, encoding, address, true);
}

int sw_cfi_b_signal_frame(sw_cfi_builder_t *b)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (cie_prop_ok(s))
		return s->err;
	s->signal = true;
	return 0;
}

int sw_cfi_b_advance(sw_cfi_builder_t *b, uint64_t code_offset)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (s->err)
		return s->err;
	if ((s->state != ST_PENDING && s->state != ST_OPEN) ||
	    code_offset < s->pending || code_offset >= s->code_size)
		return fail(s, SW_EINVAL);
	s->pending = code_offset;
	return 0;
}

/* CFA = reg + offset, tracked; reg < 0 keeps the register. */
static int emit_def_cfa(struct bld *s, int64_t reg, int64_t offset)
{
	if (s->err)
		return s->err;
	if (offset < 0 && offset % 8)
		return fail(s, SW_EINVAL);
	if (begin_directive(s))
		return s->err;
	if (reg >= 0) {
		put_u8(s, offset < 0 ? SW_CFA_def_cfa_sf : SW_CFA_def_cfa);
		put_uleb(s, (uint64_t)reg);
		s->cfa.reg = (uint32_t)reg;
	} else {
		put_u8(s, offset < 0 ? SW_CFA_def_cfa_offset_sf : SW_CFA_def_cfa_offset);
	}
	if (offset < 0)
		put_sleb(s, offset / CIE_DATA_ALIGN);
	else
		put_uleb(s, (uint64_t)offset);
	s->cfa.offset = offset;
	return s->err;
}

int sw_cfi_b_def_cfa(sw_cfi_builder_t *b, unsigned reg, int64_t offset)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (check_reg(s, reg))
		return s->err;
	return emit_def_cfa(s, reg, offset);
}

int sw_cfi_b_def_cfa_offset(sw_cfi_builder_t *b, int64_t offset)
{
	if (!b)
		return SW_EINVAL;
	return emit_def_cfa(get(b), -1, offset);
}

int sw_cfi_b_adjust_cfa_offset(sw_cfi_builder_t *b, int64_t delta)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	int64_t off;
	if (s->err)
		return s->err;
	if (__builtin_add_overflow(s->cfa.offset, delta, &off))
		return fail(s, SW_EINVAL);
	return emit_def_cfa(s, -1, off);
}

int sw_cfi_b_def_cfa_register(sw_cfi_builder_t *b, unsigned reg)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (check_reg(s, reg) || begin_directive(s))
		return s->err;
	put_u8(s, SW_CFA_def_cfa_register);
	put_uleb(s, reg);
	s->cfa.reg = reg;
	return s->err;
}

int sw_cfi_b_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (check_reg(s, reg))
		return s->err;
	if (offset % 8)
		return fail(s, SW_EINVAL);
	if (begin_directive(s))
		return s->err;
	int64_t f = offset / CIE_DATA_ALIGN;
	if (f >= 0 && reg <= 63) {
		put_u8(s, (uint8_t)(SW_CFA_offset | reg));
		put_uleb(s, (uint64_t)f);
	} else if (f >= 0) {
		put_u8(s, SW_CFA_offset_extended);
		put_uleb(s, reg);
		put_uleb(s, (uint64_t)f);
	} else {
		put_u8(s, SW_CFA_offset_extended_sf);
		put_uleb(s, reg);
		put_sleb(s, f);
	}
	return s->err;
}

int sw_cfi_b_rel_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	int64_t off;
	if (s->err)
		return s->err;
	if (__builtin_sub_overflow(offset, s->cfa.offset, &off))
		return fail(s, SW_EINVAL);
	return sw_cfi_b_offset(b, reg, off);
}

int sw_cfi_b_restore(sw_cfi_builder_t *b, unsigned reg)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (check_reg(s, reg) || begin_directive(s))
		return s->err;
	if (reg <= 63) {
		put_u8(s, (uint8_t)(SW_CFA_restore | reg));
	} else {
		put_u8(s, SW_CFA_restore_extended);
		put_uleb(s, reg);
	}
	return s->err;
}

static int emit_reg_op(sw_cfi_builder_t *b, uint8_t op, unsigned reg)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (check_reg(s, reg) || begin_directive(s))
		return s->err;
	put_u8(s, op);
	put_uleb(s, reg);
	return s->err;
}

int sw_cfi_b_undefined(sw_cfi_builder_t *b, unsigned reg)
{
	return emit_reg_op(b, SW_CFA_undefined, reg);
}

int sw_cfi_b_same_value(sw_cfi_builder_t *b, unsigned reg)
{
	return emit_reg_op(b, SW_CFA_same_value, reg);
}

int sw_cfi_b_register(sw_cfi_builder_t *b, unsigned reg, unsigned reg2)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (check_reg(s, reg2))
		return s->err;
	if (emit_reg_op(b, SW_CFA_register, reg))
		return s->err;
	put_uleb(s, reg2);
	return s->err;
}

int sw_cfi_b_remember_state(sw_cfi_builder_t *b)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (s->err)
		return s->err;
	if (s->depth >= SW_CFI_B_REMEMBER_MAX)
		return fail(s, SW_EINVAL);
	if (begin_directive(s))
		return s->err;
	if (put_u8(s, SW_CFA_remember_state))
		return s->err;
	s->stack[s->depth++] = s->cfa;
	return 0;
}

int sw_cfi_b_restore_state(sw_cfi_builder_t *b)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (s->err)
		return s->err;
	if (s->state == ST_OPEN || s->state == ST_PENDING) {
		if (s->depth == 0)
			return fail(s, SW_EINVAL);
	}
	if (begin_directive(s))
		return s->err;
	if (put_u8(s, SW_CFA_restore_state))
		return s->err;
	s->cfa = s->stack[--s->depth];
	return 0;
}

int sw_cfi_b_escape(sw_cfi_builder_t *b, const void *bytes, size_t len)
{
	if (!b)
		return SW_EINVAL;
	struct bld *s = get(b);
	if (s->err)
		return s->err;
	if (!bytes && len)
		return fail(s, SW_EINVAL);
	if (begin_directive(s))
		return s->err;
	return put(s, bytes, len);
}
