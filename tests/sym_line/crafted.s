# Test input for tests/unit/test_sym_line.c (crafted): line programs that
# use what compilers do not emit, decoded by both llvm-dwarfdump and
# line.c.  Assembled with `as`, never linked.

	.section .debug_line_str,"MS",@progbits,1
.Ls_comp: .asciz "/crafted/comp"
.Ls_sub:  .asciz "sub"

	.section .debug_line,"",@progbits
# -- unit 1: DWARF 3, min_inst_length 4, opcode_base 14 (opcode 13 is an
#    unknown standard opcode with 2 operands), define_file, unknown
#    extended opcode, set_discriminator
.Lu1:	.long .Lu1_end - .Lu1_ver
.Lu1_ver:
	.short 3
	.long .Lu1_prog - .Lu1_hdr
.Lu1_hdr:
	.byte 4, 1, -5, 14, 14
	.byte 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 2
	.asciz "inc"
	.byte 0
	.asciz "a.c"
	.uleb128 0, 0, 0
	.asciz "b.h"
	.uleb128 1, 0, 0
	.byte 0
.Lu1_prog:
	.byte 0, 9, 2
	.quad 0x1000
	.byte 13
	.uleb128 300, 5
	.byte 1
	.byte 0x30
	.byte 0
	.uleb128 .Ldf_end - .Ldf
.Ldf:	.byte 3
	.asciz "/abs/d.c"
	.uleb128 1, 0, 0
.Ldf_end:
	.byte 4, 3
	.byte 5, 7
	.byte 2
	.uleb128 5
	.byte 3
	.sleb128 -2
	.byte 1
	.byte 8
	.byte 9
	.short 3
	.byte 0, 5, 0x80, 1, 2, 3, 4
	.byte 0, 2, 4, 9
	.byte 4, 2
	.byte 0x40
	.byte 2
	.uleb128 2
	.byte 0, 1, 1
	.byte 0, 9, 2
	.quad 0x2000
	.byte 0x22, 0x35
	.byte 0, 1, 1
.Lu1_end:

# -- unit 2: DWARF 2 with opcode_base 10: opcodes 10, 11 and 12 are
#    special opcodes here
.Lu2:	.long .Lu2_end - .Lu2_ver
.Lu2_ver:
	.short 2
	.long .Lu2_prog - .Lu2_hdr
.Lu2_hdr:
	.byte 1, 1, -3, 12, 10
	.byte 0, 1, 1, 1, 1, 0, 0, 0, 1
	.byte 0
	.asciz "c.c"
	.uleb128 0, 0, 0
	.byte 0
.Lu2_prog:
	.byte 0, 9, 2
	.quad 0x3000
	.byte 10, 11, 12, 0x20, 1
	.byte 0, 1, 1
.Lu2_end:

# -- unit 3: DWARF 5, 64-bit, paths through .debug_line_str and strings,
#    MD5 (data16), a vendor content type in a block, data2 directory index
.Lu3:	.long 0xffffffff
	.quad .Lu3_end - .Lu3_ver
.Lu3_ver:
	.short 5
	.byte 8, 0
	.quad .Lu3_prog - .Lu3_hdr
.Lu3_hdr:
	.byte 1, 1, 1, -5, 14, 13
	.byte 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1
	.byte 1
	.uleb128 1, 0x1f
	.uleb128 2
	.quad 0			# "/crafted/comp" (offsets, not labels: a .o
	.quad 14		# keeps relocations apart, RELA addends)
	.byte 4
	.uleb128 1, 0x08
	.uleb128 2, 0x05
	.uleb128 5, 0x1e
	.uleb128 0x2001, 0x09
	.uleb128 2
	.asciz "e.c"
	.short 0
	.quad 0, 0
	.uleb128 3
	.byte 1, 2, 3
	.asciz "f.h"
	.short 1
	.quad 0x1111, 0x2222
	.uleb128 0
.Lu3_prog:
	.byte 0, 9, 2
	.quad 0x4000
	.byte 4, 1
	.byte 1
	.byte 0x51
	.byte 4, 0
	.byte 0x62
	.byte 0, 1, 1
.Lu3_end:
