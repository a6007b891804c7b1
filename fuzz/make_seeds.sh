#!/usr/bin/env bash
# Regenerate the seed inputs of the fuzz corpora (files named seed-*):
#
#   fuzz/corpus/cfi/   real .eh_frame / .eh_frame_hdr / .debug_frame slices
#                      (/bin/true, libc, libstdc++, objects compiled here, a
#                      small assembled library with hand-written CFI), plus
#                      hand-made malformed sections
#   fuzz/corpus/expr/  typical CFI expressions and edge cases
#
# Needs gcc, binutils (objcopy, readelf, as), od.  Inputs the fuzzer added
# (not seed-*) are left alone.  The layout of each input is described at the
# top of fuzz/fuzz_cfi.c and fuzz/fuzz_expr.c.  The extracted slices depend on
# the system's binaries, so regenerating on another system changes them.
set -euo pipefail

cd "$(dirname "$0")/.."
CFI=fuzz/corpus/cfi
EXPR=fuzz/corpus/expr
MAXLEN=4096          # fuzz_cfi's -max_len
mkdir -p "$CFI" "$EXPR"
rm -f "$CFI"/seed-* "$EXPR"/seed-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

LIBC=/lib/x86_64-linux-gnu/libc.so.6
LIBSTDCXX=/usr/lib/x86_64-linux-gnu/libstdc++.so.6

# ------------------------------------------------------------ helpers

# hex "14 00 ..." -> bytes on stdout
hex() {
	local h
	h=$(printf '%s' "$*" | tr -d ' \n\t')
	printf '%b' "$(printf '%s' "$h" | sed 's/\(..\)/\\x\1/g')"
}
le16() { hex "$(printf '%02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)))"; }
le32() {
	local v=$(($1 & 0xffffffff))
	hex "$(printf '%02x %02x %02x %02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255)))"
}

# section FILE NAME OUT: the section's bytes (non-alloc ones too)
section() {
	objcopy -O binary --set-section-flags "$2=alloc,load,contents" \
		--only-section="$2" "$1" "$3"
	[[ -s $3 ]] || { echo "make_seeds: $1 has no $2" >&2; return 1; }
}

# sec_addr FILE NAME: sh_addr in decimal
sec_addr() {
	local a
	a=$(readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk -v n="$2" '$1 == n && !done { print $3; done = 1 }')
	echo $((16#$a))
}

# entry_cut FILE LIMIT: the largest CIE/FDE boundary <= LIMIT
entry_cut() {
	local f=$1 lim=$2 off=0 len next size
	size=$(stat -c %s "$f")
	while ((off + 4 <= size)); do
		len=$(od -An -tu4 -j"$off" -N4 "$f" | tr -d ' ')
		((len != 0xffffffff)) || break
		next=$((off + 4 + len))
		((next <= lim && next <= size)) || break
		off=$next
	done
	echo "$off"
}

# flags bytes (see fuzz_cfi.c): bit 0 eh, bits 1-3 vaddr index (2: 0x400000),
# bit 4 bases + deref, bit 5 addr_size 4, bit 6 explicit header
EH=05 DEBUG=04 EH_HDR=45

# seed_sec NAME FLAGS FILE [LIMIT]: flags byte + the first LIMIT bytes of FILE
seed_sec() {
	local name=$1 flags=$2 file=$3 lim=${4:-$((MAXLEN - 1))}
	{ hex "$flags"; head -c "$lim" "$file"; } >"$CFI/seed-$name"
}

# seed_hdr NAME ELF [HDR_ENTRIES]: flags + header + .eh_frame, both cut to fit;
# with HDR_ENTRIES the header's fde_count (udata4) is patched to that many.
seed_hdr() {
	local name=$1 elf=$2 entries=${3:-} delta hlen elen
	section "$elf" .eh_frame_hdr "$tmp/hdr"
	section "$elf" .eh_frame "$tmp/eh"
	delta=$(($(sec_addr "$elf" .eh_frame_hdr) - $(sec_addr "$elf" .eh_frame)))
	if [[ -n $entries ]]; then
		hlen=$((12 + 8 * entries))
		{ head -c 8 "$tmp/hdr"; le32 "$entries"; head -c $((12 + 8 * entries)) "$tmp/hdr" | tail -c +13; } \
			>"$tmp/hdr2"
		mv "$tmp/hdr2" "$tmp/hdr"
	fi
	hlen=$(stat -c %s "$tmp/hdr")
	elen=$(entry_cut "$tmp/eh" $((MAXLEN - 7 - hlen)))
	{ hex "$EH_HDR"; le16 "$hlen"; le32 "$delta"; cat "$tmp/hdr"; head -c "$elen" "$tmp/eh"; } \
		>"$CFI/seed-$name"
}

# ------------------------------------------------------------ real sections

section /bin/true .eh_frame "$tmp/true.eh"
seed_sec true-eh_frame "$EH" "$tmp/true.eh"
seed_hdr true-hdr /bin/true

section "$LIBC" .eh_frame "$tmp/libc.eh"
seed_sec libc-eh_frame-4k "$EH" "$tmp/libc.eh" "$(entry_cut "$tmp/libc.eh" 4000)"
seed_sec libc-eh_frame-cut "$EH" "$tmp/libc.eh" 4000          # ends mid-entry
seed_hdr libc-hdr-64 "$LIBC" 64

if [[ -f $LIBSTDCXX ]]; then
	section "$LIBSTDCXX" .eh_frame "$tmp/cxx.eh"
	seed_sec libstdcxx-eh_frame-4k "$EH" "$tmp/cxx.eh" "$(entry_cut "$tmp/cxx.eh" 4000)"
fi

# .debug_frame of an object (CIE pointers are section offsets, pc 0)
cat >"$tmp/t.c" <<'EOF'
int g(int);
int f(int x) { int a[64]; for (int i = 0; i < 64; i++) a[i] = g(x + i); return a[x & 63]; }
int h(int x, int y) { return g(x) + g(y) * f(x); }
EOF
gcc -g -O1 -fno-asynchronous-unwind-tables -c "$tmp/t.c" -o "$tmp/t.o"
section "$tmp/t.o" .debug_frame "$tmp/t.df"
seed_sec debug_frame-obj "$DEBUG" "$tmp/t.df"
gcc -g -O0 -fno-asynchronous-unwind-tables -c "$tmp/t.c" -o "$tmp/t0.o"
section "$tmp/t0.o" .debug_frame "$tmp/t0.df"
seed_sec debug_frame-obj-O0 "$DEBUG" "$tmp/t0.df"
# and the same object's .eh_frame with the default tables
gcc -O2 -c "$tmp/t.c" -o "$tmp/t2.o"
section "$tmp/t2.o" .eh_frame "$tmp/t2.eh"
seed_sec eh_frame-obj-O2 "$EH" "$tmp/t2.eh"

# ------------------------------------------------------------ hand-written CFI
# A small shared library whose CFI has what compilers rarely emit: signal
# frames, CFA and register expressions (glibc's sigreturn trampoline, the
# PLT's), remember/restore, personality + LSDA, large advances, and both
# .eh_frame and .debug_frame.
cat >"$tmp/cfi.s" <<'EOF'
	.cfi_sections .eh_frame, .debug_frame
	.text
	.globl sigtramp, pltlike, nested, withlsda, bigadv
	.type sigtramp, @function
	nop
sigtramp:
	.cfi_startproc
	.cfi_signal_frame
	/* DW_CFA_def_cfa_expression: DW_OP_breg7 (rsp) 160; DW_OP_deref */
	.cfi_escape 0x0f, 0x05, 0x77, 0xa0, 0x01, 0x06, 0x96
	/* DW_CFA_expression: rbp: DW_OP_breg7 (rsp) 120 */
	.cfi_escape 0x10, 0x06, 0x02, 0x77, 0x78
	/* DW_CFA_expression: rip: DW_OP_breg7 (rsp) 168 */
	.cfi_escape 0x10, 0x10, 0x03, 0x77, 0xa8, 0x01
	/* DW_CFA_val_expression: rsp: DW_OP_breg7 (rsp) 160; DW_OP_deref; DW_OP_plus_uconst 8 */
	.cfi_escape 0x16, 0x07, 0x06, 0x77, 0xa0, 0x01, 0x06, 0x23, 0x08
	movq $15, %rax
	syscall
	.cfi_endproc

	.type pltlike, @function
pltlike:
	.cfi_startproc
	.cfi_def_cfa_offset 16
	.cfi_escape 0x2e, 0x10          /* DW_CFA_GNU_args_size 16 */
	pushq %rax
	/* the PLT's: breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus */
	.cfi_escape 0x0f, 0x0b, 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22
	jmp *0(%rip)
	pushq $0
	jmp pltlike
	.cfi_endproc

	.type nested, @function
nested:
	.cfi_startproc
	pushq %rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq %rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq %rbx
	.cfi_offset %rbx, -24
	.cfi_remember_state
	testq %rdi, %rdi
	je 1f
	.cfi_remember_state
	popq %rbx
	.cfi_restore %rbx
	.cfi_same_value %r12
	.cfi_undefined %r13
	.cfi_register %r14, %r15
	.cfi_val_offset %r11, -8
	.cfi_rel_offset %r10, 8
	popq %rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_restore_state
1:	nop
	.cfi_restore_state
	.cfi_offset %xmm0, -40
	.cfi_offset %xmm15, -48
	.cfi_offset 40, -56
	popq %rbx
	leave
	.cfi_def_cfa 7, 8
	ret
	.cfi_endproc

	.type withlsda, @function
withlsda:
	.cfi_startproc
	.cfi_personality 0x9b, DW.ref.pers
	.cfi_lsda 0x1b, .Llsda
	subq $24, %rsp
	.cfi_adjust_cfa_offset 24
	call nested
	addq $24, %rsp
	.cfi_adjust_cfa_offset -24
	ret
	.cfi_endproc

	.type bigadv, @function
bigadv:
	.cfi_startproc
	.cfi_return_column 16
	.cfi_def_cfa_offset 4096
	.skip 300, 0x90
	.cfi_def_cfa_offset 8
	.skip 70000, 0x90
	.cfi_offset %rbp, -16
	ret
	.cfi_endproc

	.section .gcc_except_table, "a"
.Llsda:
	.byte 0xff, 0x9b, 0x0d, 0x03, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
	.data
	.hidden DW.ref.pers
	.weak DW.ref.pers
DW.ref.pers:
	.quad pers
	.text
pers:
	ret
EOF
gcc -shared -nostdlib -Wl,--eh-frame-hdr -o "$tmp/cfi.so" "$tmp/cfi.s"
section "$tmp/cfi.so" .eh_frame "$tmp/cfi.eh"
seed_sec asm-eh_frame "$EH" "$tmp/cfi.eh"
seed_sec asm-eh_frame-bases "15" "$tmp/cfi.eh"     # with textrel/datarel/deref
seed_sec asm-eh_frame-vaddr0 "01" "$tmp/cfi.eh"    # loaded at 0
seed_sec asm-eh_frame-high "0b" "$tmp/cfi.eh"      # loaded near the top
seed_hdr asm-hdr "$tmp/cfi.so"
section "$tmp/cfi.so" .debug_frame "$tmp/cfi.df"
seed_sec asm-debug_frame "$DEBUG" "$tmp/cfi.df"

# ------------------------------------------------------------ hand-made malformed
# A valid .eh_frame to start from: CIE "zR" (pcrel|sdata4), one FDE, terminator.
CIE_OK='14000000 00000000 01 7a5200 01 78 10 01 1b 0c0708 9001 0000'
FDE_OK='1c000000 1c000000 00100000 40000000 00 41 0e10 8602 44 0d06 4a 0c0708 000000'
mk() { { hex "$2"; hex "$3"; } >"$CFI/seed-hand-$1"; }
mk valid "$EH" "$CIE_OK $FDE_OK 00000000"
mk empty "$EH" ""
mk short-length "$EH" "1400"
mk length-past-end "$EH" "40000000 00000000 01 7a5200"
mk length-huge64 "$EH" "ffffffff ffffffffffffff7f 00000000"
mk length64-ok "$DEBUG" "ffffffff 1500000000000000 ffffffffffffffff 01 00 01 78 10 0c0708 9001 000000
                         ffffffff 1e00000000000000 0000000000000000 0010000000000000 4000000000000000 41 0e10 000000"
mk fde-self "$EH" "$CIE_OK 0c000000 04000000 00100000 40000000"
mk fde-points-past "$EH" "$CIE_OK 10000000 ff000000 00100000 40000000 00 000000"
mk fde-points-at-fde "$EH" "$CIE_OK 10000000 1c000000 00100000 40000000 00 000000 10000000 18000000 00100000 40000000 00 000000"
mk cie-version2 "$EH" "14000000 00000000 02 7a5200 01 78 10 01 1b 0c0708 9001 0000 $FDE_OK"
mk cie-aug-unknown "$EH" "14000000 00000000 01 7a5800 01 78 10 01 1b 0c0708 9001 0000 $FDE_OK"
mk cie-aug-no-z "$EH" "14000000 00000000 01 525a00 01 78 10 01 1b 0c0708 9001 0000 $FDE_OK"
mk cie-no-nul "$EH" "08000000 00000000 01 7a5252"
mk cie-bad-enc "$EH" "14000000 00000000 01 7a5200 01 78 10 01 07 0c0708 9001 0000 $FDE_OK"
mk cie-eh-aug "$EH" "1c000000 00000000 01 656800 0000000000000000 01 78 10 0c0708 9001 0000 0000"
mk cie-v4-debug "$DEBUG" "15000000 ffffffff 04 00 08 00 01 78 10 0c0708 9001 00000000 00
                          1a000000 00000000 0010000000000000 4000000000000000 41 0e10 000000"
mk cie-v4-badaddr "$DEBUG" "15000000 ffffffff 04 00 11 00 01 78 10 0c0708 9001 00000000 00"
mk cie-advance "$EH" "14000000 00000000 01 7a5200 01 78 10 01 1b 41 0c0708 90 01 00 $FDE_OK"
mk leb-overlong "$EH" "18000000 00000000 01 7a5200 ffffffffffffffffff7f 78 10 01 1b 0000 $FDE_OK"
mk fde-range-wrap "$EH" "14000000 00000000 01 7a5200 01 78 10 01 04 0c0708 9001 0000
                         18000000 1c000000 00f0ffffffffffff 0020000000000000 00 000000"
mk remember-deep "$EH" "$CIE_OK 24000000 1c000000 00100000 40000000 00 0a0a0a0a0a0a0a0a0a 41 0b0b0b0b0b0b0b0b0b 0b 000000 00000000"
mk restore-empty "$EH" "$CIE_OK 14000000 1c000000 00100000 40000000 00 41 0b 0000000000"
mk bad-op "$EH" "$CIE_OK 14000000 1c000000 00100000 40000000 00 41 3f 0000000000"
mk bad-reg "$EH" "$CIE_OK 18000000 1c000000 00100000 40000000 00 05 ffff7f 08 0d 808001 00 00"
mk set-loc-back "$EH" "$CIE_OK 18000000 1c000000 00100000 40000000 00 01 00000000 41 0000000000"
mk advance-past-end "$EH" "$CIE_OK 18000000 1c000000 00100000 40000000 00 04 ffffffff 0e10 00000000"
mk expr-cfa-trunc "$EH" "$CIE_OK 14000000 1c000000 00100000 40000000 00 0f 20 7706 000000"
mk expr-loop "$EH" "$CIE_OK 18000000 1c000000 00100000 40000000 00 0f 03 2f fdff 41 0000000000"
mk expr-rules "$EH" "$CIE_OK 24000000 1c000000 00100000 40000000 00 10 06 02 7708 16 03 03 7710 06 41 0f 03 77 08 06 0d 07 00000000"
mk z-lsda "$EH" "1c000000 00000000 01 7a504c5200 01 78 10 07 9b 00000000 1b 1b 0c0708 9001 00 00
                 17000000 24000000 00100000 40000000 04 00000000 41 0e10 000000 00000000"
mk hdr-garbage "$EH_HDR" "1000 00000000 01 1b 03 3b 04000000 ffffff7f 00000000 $CIE_OK $FDE_OK"
mk hdr-udata8 "$EH_HDR" "2c00 f0ffffff 01 1b 03 04 04000000 02000000 0010400000000000 0000400000000000 2010400000000000 1800400000000000 $CIE_OK $FDE_OK"
mk hdr-count-huge "$EH_HDR" "0c00 f0ffffff 01 1b 03 3b 04000000 ffffffff $CIE_OK $FDE_OK"
mk hdr-version2 "$EH_HDR" "0800 f0ffffff 02 1b 03 3b 04000000 $CIE_OK $FDE_OK"

# ------------------------------------------------------------ expressions
# first byte: bits 0-2 values pushed first, bit 3 addr size 4, bits 4-5
# memory failure mode, bit 6 odd registers fail, bit 7 no callbacks
ex() { hex "$2" >"$EXPR/seed-$1"; }
ex sigreturn-cfa      "00 77a001 06"                  # breg7 160; deref
ex sigreturn-reg      "01 77a801"                     # (CFA) breg7 168
ex plt                "00 7708 8000 3f 1a 3b 2a 33 24 22"
ex plt-lit10          "00 7708 8000 3f 1a 3a 2a 33 24 22"
ex val-expr           "01 12 06 2308"                 # dup; deref; plus_uconst 8
ex loop-forever       "00 2f fdff"                    # skip -3
ex loop-count         "00 3a 31 1c 12 28 faff"        # lit10; {lit1; minus; dup; bra}
ex loop-deref         "00 77 00 06 12 28 fbff"        # deref chain while nonzero
ex bra-out            "00 31 28 0010"
ex skip-end           "00 30 2f 0000"
ex consts             "00 08ff 09ff 0affff 0bffff 0cffffffff 0dffffffff 0effffffffffffffff 0fffffffffffffff7f 10ffffffffffffffff01 117f 03 8877665544332211 22 22 22 22 22 22 22 22 22"
ex arith              "00 3f 35 1b 3f 35 1d 3f 1f 19 3f 20 21 3f 27 3f 1e 3f 24 3f 25 3f 26 29 31 2a 31 2b 31 2c 31 2d 31 2e 22"
ex div-zero           "00 35 30 1b"
ex mod-zero           "00 35 30 1d"
ex div-min            "00 0e0000000000000080 11 7f 1b"
ex shifts-big         "00 31 0840 24 31 0840 25 117f 0840 26"
ex stack-ops          "03 12 13 14 15 02 16 17 1f 20 19"
ex pick-deep          "07 15 06 15 07"
ex underflow          "00 22"
ex overflow           "00 $(printf '30 %.0s' {1..65})"
ex deref-sizes        "00 77 00 9401 7710 9402 7720 9403 7730 9404 7740 9405 7750 9406 7760 9407 7770 9408"
ex deref-size-bad     "00 77 00 9409"
ex xderef             "00 30 7700 18 30 7708 9504"
ex deref-type         "00 7700 a60800 7700 f60401"
ex const-type         "00 a4 00 04 78563412 f4 01 08 0102030405060708 22"
ex regval             "00 a5 07 00 f5 1000 22"
ex bregx              "00 92 10 08 92 8101 00 22"
ex breg-all           "00 70 00 71 01 72 7f 73 00 74 00 75 00 76 00 77 00 78 00 79 00 7a 00 7b 00 7c 00 7d 00 7e 00 7f 00 80 00 81 00 8f 00"
ex convert            "00 31 a8 00 f7 00 a9 00 f9 00"
ex non-cfi            "00 9c"
ex reg-location       "00 50"
ex stack-value        "00 31 9f"
ex addr4              "08 03 78563412 06"
ex addr8              "00 03 0010400000000000 06"
ex mem-fail-some      "10 7700 06 06 06 06 06 06"
ex mem-fail-all       "30 7700 06"
ex reg-fail-odd       "40 71 00 70 00 22"
ex no-callbacks       "80 7700 06"
ex no-env             "88 31 06"
ex truncated-const    "00 0e 0102"
ex truncated-leb      "00 10 ffff"
ex empty              "01"
ex empty-nothing      "00"
ex nop                "00 96 96 31"
ex full-stack         "07 31"
echo "make_seeds: $(ls "$CFI"/seed-* | wc -l) cfi seeds, $(ls "$EXPR"/seed-* | wc -l) expr seeds" >&2
