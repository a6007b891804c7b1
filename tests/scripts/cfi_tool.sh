#!/usr/bin/env bash
# The stackwalk cfi command line: its answers on good files and its errors
# and exit codes on bad ones (not ELF, truncated, malformed CFI).
#
#   tests/scripts/cfi_tool.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init cfi_tool "$@"
TOOL=$build/stackwalk
WORK=$out

# expect CODE PATTERN CMD...: exit status CODE and PATTERN in stdout+stderr
expect() {
	local code=$1 pat=$2 rc=0
	shift 2
	"$@" >"$WORK/out" 2>&1 || rc=$?
	if [ "$rc" -ne "$code" ]; then
		bad "$* exited $rc, expected $code"; head -n 5 "$WORK/out"; return
	fi
	if ! grep -q -- "$pat" "$WORK/out"; then
		bad "$* output lacks '$pat'"; head -n 5 "$WORK/out"; return
	fi
	ok
}

# Patch `bytes` (printf escapes) into FILE at decimal offset OFF.
patch() {
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Section file offset of NAME in FILE (decimal).
sec_off() {
	local hex
	hex=$(readelf -S --wide "$1" | awk -v n="$2" '{ for (i = 1; i <= NF; i++) if ($i == n) { print $(i + 3); exit } }')
	[ -n "$hex" ] && echo $((16#$hex))
}

gcc -O2 -o "$WORK/prog" tests/corpus/frames.c

# ---- usage and good files
expect 2 "usage: stackwalk" "$TOOL"
expect 2 "usage: stackwalk cfi" "$TOOL" cfi
expect 0 "usage: stackwalk cfi" "$TOOL" cfi --help
expect 2 "unknown command" "$TOOL" frobnicate
expect 0 "CIE 0x00000000 version 1" "$TOOL" cfi "$WORK/prog"
expect 0 "FDE 0x" "$TOOL" cfi "$WORK/prog"

# --pc agrees with readelf's interpreted row for main's first instruction
main=$(readelf --wide -s "$WORK/prog" | awk '$8 == "main" { print "0x" $2; exit }')
expect 0 "found in .eh_frame (.eh_frame_hdr binary search)" "$TOOL" cfi --pc "$main" "$WORK/prog"
if grep -q "rsp+0x08     \[CFA-0x08\]" "$WORK/out"; then ok; else bad "--pc main row: $(cat "$WORK/out")"; fi
expect 2 "no FDE covers 0x10" "$TOOL" cfi --pc 0x10 "$WORK/prog"
expect 2 "bad address" "$TOOL" cfi --pc 12zz "$WORK/prog"

# ---- not ELF, missing, truncated
echo "just text" >"$WORK/text"
expect 2 "not an ELF file" "$TOOL" cfi "$WORK/text"
expect 2 "I/O error" "$TOOL" cfi "$WORK/does-not-exist"
head -c 100 "$WORK/prog" >"$WORK/trunc100"
expect 2 "malformed ELF" "$TOOL" cfi "$WORK/trunc100"
: >"$WORK/empty"
expect 2 "$WORK/empty" "$TOOL" cfi "$WORK/empty"

# ---- malformed CFI inside a valid ELF file
eh=$(sec_off "$WORK/prog" .eh_frame)
[ -n "$eh" ] || { bad "no .eh_frame offset"; eh=0; }

cp "$WORK/prog" "$WORK/badversion"
patch "$WORK/badversion" $((eh + 8)) '\x02'          # CIE version 1 -> 2
expect 1 "unsupported version in .eh_frame at offset 0x8" "$TOOL" cfi "$WORK/badversion"

cp "$WORK/prog" "$WORK/badlen"
patch "$WORK/badlen" "$eh" '\xf0\xff\xff\x7f'        # CIE length far past the end
expect 1 "entry length runs past the end of the section in .eh_frame at offset 0x0" "$TOOL" cfi "$WORK/badlen"

cp "$WORK/prog" "$WORK/badaug"
patch "$WORK/badaug" $((eh + 10)) 'Q'               # "zR" -> "zQ"
expect 1 "unknown CIE augmentation" "$TOOL" cfi "$WORK/badaug"

cp "$WORK/prog" "$WORK/badcie"
# first FDE follows the 0x18-byte CIE; its CIE pointer is at +4
patch "$WORK/badcie" $((eh + 0x18 + 4)) '\xff\xff\x00\x00'
expect 1 "CIE pointer does not designate a CIE" "$TOOL" cfi "$WORK/badcie"

cp "$WORK/prog" "$WORK/badop"
# the CIE's first instruction (after "zR", factors, ra, aug data) -> opcode 0x3f
patch "$WORK/badop" $((eh + 17)) '\x3f'
expect 1 "invalid opcode" "$TOOL" cfi "$WORK/badop"

# the readelf layout reports the same errors, and still exits non-zero
expect 1 "unsupported version" "$TOOL" cfi --readelf "$WORK/badversion"

t_finish
