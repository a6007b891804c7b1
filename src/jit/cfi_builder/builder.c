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

#include "arch/arch.h"
#include "dwarf/cfi.h"
#include "dwarf/reader.h"
#include "dwarf/writer.h"
#include "jit/error.h"

enum { ST_IDLE = 0, ST_PENDING, ST_OPEN, ST_FINISHED };

#define CIE_CODE_ALIGN SW_ARCH_CIE_CODE_ALIGN
#define CIE_DATA_ALIGN SW_ARCH_CIE_DATA_ALIGN
#define CIE_RA_REG SW_ARCH_RA_COLUMN

struct cfa_state {
	uint32_t reg;
	int64_t offset;
};

struct bld {
	struct sw_writer w;     /* the output (w.buf NULL: measuring mode);
				 * w.err stays 0: failures stick in err */
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

	/* Reasons (sw_jit_last_error): the API function running, the one
	 * that failed first and the thread's failure count after it. */
	const char *fn;
	const char *err_fn;
	uint32_t err_gen;
};

_Static_assert(sizeof(struct bld) <= sizeof(sw_cfi_builder_t), "sw_cfi_builder_t too small");
_Static_assert(_Alignof(struct bld) <= _Alignof(sw_cfi_builder_t), "sw_cfi_builder_t misaligned");

/* The first failure sticks: `code` with the reason just recorded (since
 * `mark`), prefixed with the running API function. */
static int stick(struct bld *s, uint32_t mark, int code)
{
	s->err = code;
	sw_jit_err_ctx(code, mark, "%s: ", s->fn);
	s->err_fn = s->fn;
	s->err_gen = sw_jit_err_mark();
	return code;
}

/* Fail with `code` and a reason (printf-like), unless the builder has
 * failed already: then its first error stands. */
#define bfail(s, code, ...)                                               \
	({                                                                    \
		struct bld *s_ = (s);                                             \
		int r_ = s_->err;                                                 \
		if (!r_) {                                                        \
			uint32_t m_ = sw_jit_err_mark();                              \
			r_ = stick(s_, m_, sw_jit_fail(code, __VA_ARGS__));           \
		}                                                                 \
		r_;                                                               \
	})

/* A call on a builder that failed before returns that error; the reason
 * of the first failure stays the thread's reason unless another failure
 * replaced it since, then this call says where it came from. */
static int sticky(struct bld *s)
{
	if (sw_jit_err_mark() != s->err_gen)
		sw_jit_fail(s->err, "%s: the builder failed earlier, in %s (%s)", s->fn,
			    s->err_fn ? s->err_fn : "?", sw_strerror(s->err));
	return s->err;
}

/* What the builder's state forbids, for the reasons. */
static const char *state_why(const struct bld *s)
{
	switch (s->state) {
	case ST_IDLE: return "outside a procedure (no sw_cfi_b_startproc)";
	case ST_PENDING: return "inside a procedure (no sw_cfi_b_endproc)";
	case ST_OPEN: return "after the procedure's first directive";
	default: return "after sw_cfi_b_finish";
	}
}

/* Entry of every API function on a builder: b checked, the function
 * named for the reasons, a sticky error returned. */
#define ENTER(b, s)                                                       \
	if (!(b))                                                             \
		return sw_jit_fail(SW_EINVAL, "%s: b is NULL", __func__);        \
	struct bld *s = get(b);                                               \
	s->fn = __func__;                                                     \
	if (s->err)                                                           \
		return sticky(s)

static int put(struct bld *s, const void *p, size_t n)
{
	if (s->err)
		return s->err;
	if (n > (size_t)INT_MAX - s->w.pos)
		return bfail(s, SW_ETRUNCATED, "the output would pass INT_MAX bytes");
	if (!sw_wr_room(&s->w, n))
		return bfail(s, SW_ETRUNCATED, "the output does not fit the %zu-byte buffer "
			     "(%zu bytes written, %zu more needed)", s->w.size, s->w.pos, n);
	sw_wr_bytes(&s->w, p, n);
	return 0;
}

static int put_u8(struct bld *s, uint8_t v)
{
	return put(s, &v, 1);
}

static int put_le(struct bld *s, uint64_t v, unsigned n)
{
	uint8_t tmp[8];
	sw_le_encode(tmp, v, n);
	return put(s, tmp, n);
}

static int put_uleb(struct bld *s, uint64_t v)
{
	uint8_t tmp[SW_LEB128_MAX];
	return put(s, tmp, sw_uleb_encode(tmp, v));
}

static int put_sleb(struct bld *s, int64_t v)
{
	uint8_t tmp[SW_LEB128_MAX];
	return put(s, tmp, sw_sleb_encode(tmp, v));
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

/* Encode `value` with `enc` for a field at address `here` into out (the
 * writer's range rule, dwarf/writer.h; measuring, fixed-size fields are
 * not range checked).  Returns the length or SW_EENCODING. */
static int enc_ptr(const struct bld *s, uint8_t *out, uint8_t enc, uint64_t value, uint64_t here)
{
	int n = sw_wr_pe_encode(&s->w, out, enc, value, here);
	return n < 0 ? SW_EENCODING : n;
}

static int close_entry(struct bld *s, size_t off)
{
	while (!s->err && (s->w.pos - off) % 8)
		put_u8(s, SW_CFA_nop);
	if (s->err)
		return s->err;
	if (s->w.pos - off - 4 > 0xfffffff0u)
		return bfail(s, SW_ETRUNCATED, "a CIE or FDE of %zu bytes is past the 32-bit "
			     "DWARF length", s->w.pos - off - 4);
	if (!s->err)
		sw_wr_patch_u32(&s->w, off, (uint32_t)(s->w.pos - off - 4));
	return 0;
}

static int write_cie(struct bld *s)
{
	char aug[8];
	size_t n = 0;
	uint8_t data[32];
	size_t dlen = 0;
	size_t off = s->w.pos;

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
		uint64_t here = s->eh_addr + s->w.pos + 1 + dlen;
		int len = enc_ptr(s, data + dlen, s->pers_enc, s->pers, here);
		if (len < 0)
			return bfail(s, len, "personality %#llx does not fit its encoding %#x here "
				     "(%#llx)", (unsigned long long)s->pers, s->pers_enc,
				     (unsigned long long)here);
		dlen += (size_t)len;
	}
	if (s->lsda_enc != SW_PE_omit)
		data[dlen++] = s->lsda_enc;
	data[dlen++] = s->fde_enc;
	put_uleb(s, dlen);
	put(s, data, dlen);
	/* Initial instructions: the rule at a call's target (x86-64: CFA =
	 * rsp + 8, rip at CFA - 8). */
	static const uint8_t init[] = {
		SW_CFA_def_cfa, SW_ARCH_SP_REG, SW_ARCH_CFA_AT_ENTRY,
		SW_CFA_offset | SW_ARCH_RA_COLUMN, SW_ARCH_RA_AT_ENTRY / SW_ARCH_CIE_DATA_ALIGN,
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
	size_t off = s->w.pos;
	put_le(s, 0, 4);                                /* length, patched */
	put_le(s, (uint64_t)(off + 4 - s->cie_off), 4); /* CIE pointer */
	if (s->err)
		return s->err;
	uint8_t tmp[SW_LEB128_MAX];
	int len = enc_ptr(s, tmp, s->fde_enc, s->code_start, s->eh_addr + s->w.pos);
	if (len < 0)
		return bfail(s, len, "code_start %#llx is more than 2 GiB from the FDE at %#llx "
			     "(SW_CFI_B_PCREL4: use SW_CFI_B_PCREL8 or SW_CFI_B_ABSPTR)",
			     (unsigned long long)s->code_start,
			     (unsigned long long)(s->eh_addr + s->w.pos));
	put(s, tmp, (size_t)len);
	if (s->fde_enc == (SW_PE_pcrel | SW_PE_sdata4)) {
		if (s->code_size > INT32_MAX)
			return bfail(s, SW_EENCODING, "code_size %llu is 2 GiB or more "
				     "(SW_CFI_B_PCREL4: use SW_CFI_B_PCREL8 or SW_CFI_B_ABSPTR)",
				     (unsigned long long)s->code_size);
		put_le(s, s->code_size, 4);
	} else {
		put_le(s, s->code_size, 8);
	}
	if (s->lsda_enc != SW_PE_omit) {
		len = enc_ptr(s, tmp, s->lsda_enc, s->lsda, s->eh_addr + s->w.pos + 1);
		if (len < 0)
			return bfail(s, len, "lsda %#llx does not fit its encoding %#x here (%#llx)",
				     (unsigned long long)s->lsda, s->lsda_enc,
				     (unsigned long long)(s->eh_addr + s->w.pos + 1));
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
		return bfail(s, SW_EINVAL, "a directive %s", state_why(s));
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

/* Argument checks common to register directives (`what`: the
 * parameter's name). */
static int check_reg(struct bld *s, unsigned reg, const char *what)
{
	if (s->err)
		return s->err;
	if (reg > SW_CFI_B_MAX_REG)
		return bfail(s, SW_EBADREG, "%s: %u is above SW_CFI_B_MAX_REG (%d)", what, reg,
			     SW_CFI_B_MAX_REG);
	return 0;
}

/* Does [start, end) overlap a procedure already written? */
static bool overlaps(const struct bld *s, uint64_t start, uint64_t end)
{
	if (s->have_prev && start < s->prev_end && s->prev_start < end)
		return true;
	if (!s->w.buf)
		return false;
	size_t off = 0;
	while (off + 8 <= s->w.pos) {
		const uint8_t *p = s->w.buf + off;
		uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 24;
		if (len == 0 || off + 4 + (size_t)len > s->w.pos)
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
		return sw_jit_fail(SW_EINVAL, "sw_cfi_b_init: b is NULL");
	struct bld *s = get(b);
	memset(b, 0, sizeof *b);
	s->fn = __func__;
	sw_wr_init(&s->w, buf, size, eh_addr);
	s->eh_addr = eh_addr;
	switch (ptr_mode) {
	case SW_CFI_B_PCREL4: s->fde_enc = SW_PE_pcrel | SW_PE_sdata4; break;
	case SW_CFI_B_PCREL8: s->fde_enc = SW_PE_pcrel | SW_PE_sdata8; break;
	case SW_CFI_B_ABSPTR: s->fde_enc = SW_PE_absptr; break;
	default:
		return bfail(s, SW_EINVAL, "ptr_mode: %d is not SW_CFI_B_PCREL4, SW_CFI_B_PCREL8 "
			     "or SW_CFI_B_ABSPTR", ptr_mode);
	}
	return 0;
}

int sw_cfi_b_status(const sw_cfi_builder_t *b)
{
	if (!b)
		return sw_jit_fail(SW_EINVAL, "sw_cfi_b_status: b is NULL");
	return ((const struct bld *)(const void *)b)->err;
}

size_t sw_cfi_b_size(const sw_cfi_builder_t *b)
{
	return b ? ((const struct bld *)(const void *)b)->w.pos : 0;
}

int sw_cfi_b_startproc(sw_cfi_builder_t *b, uint64_t code_start, uint64_t code_size)
{
	ENTER(b, s);
	uint64_t end;
	if (s->state != ST_IDLE)
		return bfail(s, SW_EINVAL, "startproc %s", state_why(s));
	if (code_size == 0)
		return bfail(s, SW_EINVAL, "code_size: 0 (an empty procedure)");
	if (__builtin_add_overflow(code_start, code_size, &end))
		return bfail(s, SW_EINVAL, "code_start %#llx + code_size %#llx wraps past 2^64",
			     (unsigned long long)code_start, (unsigned long long)code_size);
	if (overlaps(s, code_start, end))
		return bfail(s, SW_EINVAL, "code_start: [%#llx, %#llx) overlaps a procedure "
			     "already written", (unsigned long long)code_start,
			     (unsigned long long)end);
	s->state = ST_PENDING;
	s->code_start = code_start;
	s->code_size = code_size;
	s->pers_enc = SW_PE_omit;
	s->lsda_enc = SW_PE_omit;
	s->pers = s->lsda = 0;
	s->signal = false;
	s->loc = s->pending = 0;
	s->cfa.reg = SW_ARCH_SP_REG;
	s->cfa.offset = SW_ARCH_CFA_AT_ENTRY;
	s->depth = 0;
	return 0;
}

int sw_cfi_b_endproc(sw_cfi_builder_t *b)
{
	ENTER(b, s);
	if (s->state != ST_PENDING && s->state != ST_OPEN)
		return bfail(s, SW_EINVAL, "endproc %s", state_why(s));
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
	ENTER(b, s);
	if (s->state != ST_IDLE)
		return bfail(s, SW_EINVAL, "finish %s", state_why(s));
	if (put_le(s, 0, 4))
		return s->err;
	s->state = ST_FINISHED;
	return (int)s->w.pos;
}

/* CIE properties: only before the procedure's first directive. */
static int cie_prop_ok(struct bld *s)
{
	if (s->state != ST_PENDING)
		return bfail(s, SW_EINVAL, "a CIE property (personality, LSDA, signal frame) "
			     "must come between sw_cfi_b_startproc and the first directive, "
			     "not %s", state_why(s));
	return 0;
}

/* Set a CIE pointer property (personality or LSDA): encoding and value. */
static int set_cie_ptr(struct bld *s, uint8_t encoding, uint64_t address, bool lsda)
{
	if (cie_prop_ok(s))
		return s->err;
	if (encoding != SW_PE_omit && !enc_supported(encoding))
		return bfail(s, SW_EENCODING, "encoding: %#x is not one the builder writes "
			     "(absptr or pcrel, optionally indirect, with udata/sdata 2/4/8 or "
			     "(s/u)leb128)", encoding);
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
	ENTER(b, s);
	return set_cie_ptr(s, encoding, address, false);
}

int sw_cfi_b_lsda(sw_cfi_builder_t *b, uint8_t encoding, uint64_t address)
{
	ENTER(b, s);
	return set_cie_ptr(s, encoding, address, true);
}

int sw_cfi_b_signal_frame(sw_cfi_builder_t *b)
{
	ENTER(b, s);
	if (cie_prop_ok(s))
		return s->err;
	s->signal = true;
	return 0;
}

int sw_cfi_b_advance(sw_cfi_builder_t *b, uint64_t code_offset)
{
	ENTER(b, s);
	if (s->state != ST_PENDING && s->state != ST_OPEN)
		return bfail(s, SW_EINVAL, "advance %s", state_why(s));
	if (code_offset < s->pending)
		return bfail(s, SW_EINVAL, "code_offset: %llu goes back from the current "
			     "location %llu", (unsigned long long)code_offset,
			     (unsigned long long)s->pending);
	if (code_offset >= s->code_size)
		return bfail(s, SW_EINVAL, "code_offset: %llu is not below code_size %llu",
			     (unsigned long long)code_offset, (unsigned long long)s->code_size);
	s->pending = code_offset;
	return 0;
}

/* CFA = reg + offset, tracked; reg < 0 keeps the register.  `what`: the
 * argument that gave the offset. */
static int emit_def_cfa(struct bld *s, int64_t reg, int64_t offset, const char *what)
{
	if (s->err)
		return s->err;
	if (offset < 0 && offset % 8)
		return bfail(s, SW_EINVAL, "%s: a negative CFA offset (%lld) must be a multiple "
			     "of 8 (data alignment -8)", what, (long long)offset);
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
	ENTER(b, s);
	if (check_reg(s, reg, "reg"))
		return s->err;
	return emit_def_cfa(s, reg, offset, "offset");
}

int sw_cfi_b_def_cfa_offset(sw_cfi_builder_t *b, int64_t offset)
{
	ENTER(b, s);
	return emit_def_cfa(s, -1, offset, "offset");
}

int sw_cfi_b_adjust_cfa_offset(sw_cfi_builder_t *b, int64_t delta)
{
	ENTER(b, s);
	int64_t off;
	if (__builtin_add_overflow(s->cfa.offset, delta, &off))
		return bfail(s, SW_EINVAL, "delta: %lld overflows the CFA offset %lld",
			     (long long)delta, (long long)s->cfa.offset);
	return emit_def_cfa(s, -1, off, "delta");
}

int sw_cfi_b_def_cfa_register(sw_cfi_builder_t *b, unsigned reg)
{
	ENTER(b, s);
	if (check_reg(s, reg, "reg") || begin_directive(s))
		return s->err;
	put_u8(s, SW_CFA_def_cfa_register);
	put_uleb(s, reg);
	s->cfa.reg = reg;
	return s->err;
}

/* reg saved at CFA + offset (`what`: the argument that gave it). */
static int emit_offset(struct bld *s, unsigned reg, int64_t offset, const char *what)
{
	if (check_reg(s, reg, "reg"))
		return s->err;
	if (offset % 8)
		return bfail(s, SW_EINVAL, "%s: the save slot offset %lld is not a multiple of 8 "
			     "(data alignment -8)", what, (long long)offset);
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

int sw_cfi_b_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset)
{
	ENTER(b, s);
	return emit_offset(s, reg, offset, "offset");
}

int sw_cfi_b_rel_offset(sw_cfi_builder_t *b, unsigned reg, int64_t offset)
{
	ENTER(b, s);
	int64_t off;
	if (__builtin_sub_overflow(offset, s->cfa.offset, &off))
		return bfail(s, SW_EINVAL, "offset: %lld minus the CFA offset %lld overflows",
			     (long long)offset, (long long)s->cfa.offset);
	return emit_offset(s, reg, off, "offset");
}

int sw_cfi_b_restore(sw_cfi_builder_t *b, unsigned reg)
{
	ENTER(b, s);
	if (check_reg(s, reg, "reg") || begin_directive(s))
		return s->err;
	if (reg <= 63) {
		put_u8(s, (uint8_t)(SW_CFA_restore | reg));
	} else {
		put_u8(s, SW_CFA_restore_extended);
		put_uleb(s, reg);
	}
	return s->err;
}

static int emit_reg_op(struct bld *s, uint8_t op, unsigned reg)
{
	if (check_reg(s, reg, "reg") || begin_directive(s))
		return s->err;
	put_u8(s, op);
	put_uleb(s, reg);
	return s->err;
}

int sw_cfi_b_undefined(sw_cfi_builder_t *b, unsigned reg)
{
	ENTER(b, s);
	return emit_reg_op(s, SW_CFA_undefined, reg);
}

int sw_cfi_b_same_value(sw_cfi_builder_t *b, unsigned reg)
{
	ENTER(b, s);
	return emit_reg_op(s, SW_CFA_same_value, reg);
}

int sw_cfi_b_register(sw_cfi_builder_t *b, unsigned reg, unsigned reg2)
{
	ENTER(b, s);
	if (check_reg(s, reg2, "reg2"))
		return s->err;
	if (emit_reg_op(s, SW_CFA_register, reg))
		return s->err;
	put_uleb(s, reg2);
	return s->err;
}

int sw_cfi_b_remember_state(sw_cfi_builder_t *b)
{
	ENTER(b, s);
	if (s->depth >= SW_CFI_B_REMEMBER_MAX)
		return bfail(s, SW_EINVAL, "remember_state nested deeper than "
			     "SW_CFI_B_REMEMBER_MAX (%d)", SW_CFI_B_REMEMBER_MAX);
	if (begin_directive(s))
		return s->err;
	if (put_u8(s, SW_CFA_remember_state))
		return s->err;
	s->stack[s->depth++] = s->cfa;
	return 0;
}

int sw_cfi_b_restore_state(sw_cfi_builder_t *b)
{
	ENTER(b, s);
	if (s->state == ST_OPEN || s->state == ST_PENDING) {
		if (s->depth == 0)
			return bfail(s, SW_EINVAL, "restore_state without a remember_state in "
				     "this procedure");
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
	ENTER(b, s);
	if (!bytes && len)
		return bfail(s, SW_EINVAL, "bytes: NULL with len %zu", len);
	if (begin_directive(s))
		return s->err;
	return put(s, bytes, len);
}
