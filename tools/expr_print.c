/*
 * Disassembly of CFI DWARF expressions for `stackwalk cfi`, in readelf's
 * notation ("DW_OP_breg7 (rsp): 8; DW_OP_deref").  Operands are read with
 * the library's bounds-checked reader; a malformed expression ends with
 * "<truncated>" or "<bad opcode 0x..>".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "arch/regs.h"
#include "dwarf/reader.h"
#include "tools.h"

/* Opcodes with operands, or names needed here (DWARF 5 table 7.9). */
enum {
	OP_addr = 0x03, OP_deref = 0x06, OP_const1u = 0x08, OP_const1s, OP_const2u,
	OP_const2s, OP_const4u, OP_const4s, OP_const8u, OP_const8s, OP_constu,
	OP_consts, OP_pick = 0x15, OP_plus_uconst = 0x23, OP_bra = 0x28, OP_skip = 0x2f,
	OP_lit0 = 0x30, OP_reg0 = 0x50, OP_breg0 = 0x70, OP_regx = 0x90, OP_fbreg,
	OP_bregx, OP_piece, OP_deref_size, OP_xderef_size,
};

static const char *const simple[256] = {
	[0x06] = "deref", [0x12] = "dup", [0x13] = "drop", [0x14] = "over", [0x16] = "swap",
	[0x17] = "rot", [0x18] = "xderef", [0x19] = "abs", [0x1a] = "and", [0x1b] = "div",
	[0x1c] = "minus", [0x1d] = "mod", [0x1e] = "mul", [0x1f] = "neg", [0x20] = "not",
	[0x21] = "or", [0x22] = "plus", [0x24] = "shl", [0x25] = "shr", [0x26] = "shra",
	[0x27] = "xor", [0x29] = "eq", [0x2a] = "ge", [0x2b] = "gt", [0x2c] = "le",
	[0x2d] = "lt", [0x2e] = "ne", [0x96] = "nop", [0x9c] = "call_frame_cfa",
	[0x9f] = "stack_value",
};

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->len >= o->size)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

static const char *rname(uint64_t r)
{
	const char *n = r < 4096 ? sw_arch_reg_name((unsigned)r) : NULL;
	return n ? n : "?";
}

void expr_print(const uint8_t *expr, uint64_t len, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	struct sw_reader r;

	buf[0] = '\0';
	sw_rd_init(&r, expr, len, 0, "expression");
	while (sw_rd_left(&r) > 0 && !r.err) {
		uint8_t op = sw_rd_u8(&r);
		if (o.len)
			put(&o, "; ");
		if (op >= OP_lit0 && op < OP_lit0 + 32) {
			put(&o, "DW_OP_lit%u", op - OP_lit0);
		} else if (op >= OP_reg0 && op < OP_reg0 + 32) {
			put(&o, "DW_OP_reg%u (%s)", op - OP_reg0, rname(op - OP_reg0));
		} else if (op >= OP_breg0 && op < OP_breg0 + 32) {
			int64_t off = sw_rd_sleb(&r);
			put(&o, "DW_OP_breg%u (%s): %" PRId64, op - OP_breg0, rname(op - OP_breg0), off);
		} else if (simple[op]) {
			put(&o, "DW_OP_%s", simple[op]);
		} else {
			switch (op) {
			case OP_addr: put(&o, "DW_OP_addr: 0x%" PRIx64, sw_rd_u64(&r)); break;
			case OP_const1u: put(&o, "DW_OP_const1u: %" PRIu64, sw_rd_un(&r, 1)); break;
			case OP_const1s: put(&o, "DW_OP_const1s: %" PRId64, sw_rd_sn(&r, 1)); break;
			case OP_const2u: put(&o, "DW_OP_const2u: %" PRIu64, sw_rd_un(&r, 2)); break;
			case OP_const2s: put(&o, "DW_OP_const2s: %" PRId64, sw_rd_sn(&r, 2)); break;
			case OP_const4u: put(&o, "DW_OP_const4u: %" PRIu64, sw_rd_un(&r, 4)); break;
			case OP_const4s: put(&o, "DW_OP_const4s: %" PRId64, sw_rd_sn(&r, 4)); break;
			case OP_const8u: put(&o, "DW_OP_const8u: %" PRIu64, sw_rd_un(&r, 8)); break;
			case OP_const8s: put(&o, "DW_OP_const8s: %" PRId64, sw_rd_sn(&r, 8)); break;
			case OP_constu: put(&o, "DW_OP_constu: %" PRIu64, sw_rd_uleb(&r)); break;
			case OP_consts: put(&o, "DW_OP_consts: %" PRId64, sw_rd_sleb(&r)); break;
			case OP_pick: put(&o, "DW_OP_pick: %" PRIu64, sw_rd_un(&r, 1)); break;
			case OP_plus_uconst: put(&o, "DW_OP_plus_uconst: %" PRIu64, sw_rd_uleb(&r)); break;
			case OP_bra: put(&o, "DW_OP_bra: %" PRId64, sw_rd_sn(&r, 2)); break;
			case OP_skip: put(&o, "DW_OP_skip: %" PRId64, sw_rd_sn(&r, 2)); break;
			case OP_regx: { uint64_t x = sw_rd_uleb(&r); put(&o, "DW_OP_regx: %" PRIu64 " (%s)", x, rname(x)); break; }
			case OP_bregx: {
				uint64_t x = sw_rd_uleb(&r);
				int64_t off = sw_rd_sleb(&r);
				put(&o, "DW_OP_bregx: %" PRIu64 " (%s) %" PRId64, x, rname(x), off);
				break;
			}
			case OP_fbreg: put(&o, "DW_OP_fbreg: %" PRId64, sw_rd_sleb(&r)); break;
			case OP_piece: put(&o, "DW_OP_piece: %" PRIu64, sw_rd_uleb(&r)); break;
			case OP_deref_size: put(&o, "DW_OP_deref_size: %" PRIu64, sw_rd_un(&r, 1)); break;
			case OP_xderef_size: put(&o, "DW_OP_xderef_size: %" PRIu64, sw_rd_un(&r, 1)); break;
			default:
				put(&o, "<bad opcode 0x%02x>", op);
				return;
			}
		}
	}
	if (r.err)
		put(&o, " <truncated>");
}
