#!/usr/bin/env bash
# The JIT CFI builder (include/stackwalk/jit.h) against binutils and libgcc.
#
#   tests/scripts/cfi_builder.sh BUILD_DIR MODE
#
# tests/jit/builder_readelf.c builds the procedures of
# tests/unit/test_cfi_builder.c (it includes that file) and
#   1. writes the bytes as an .eh_frame section (at address 0, code at
#      0x1000) in assembly; the object gcc makes of it must be read the same
#      by `readelf --debug-dump=frames-interp` and `stackwalk cfi --readelf
#      --check` (byte for byte, every row checked against the engine);
#   2. readelf's interpreted tables of those procedures must equal, row by
#      row (the LOC column aside), the tables of the same procedures written
#      with the assembler's .cfi_* directives (below);
#   3. builds them at their real address in memory and registers them with
#      libgcc's __register_frame; _Unwind_Find_FDE must find each one.
# MODE is accepted for uniformity (both modes run everything).
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --lib cfi_builder "$@"
TOOL=$build/stackwalk
WORK=$out

# built by make (mk/tests.mk) into BUILD_DIR/tests/cfi_builder/
builder=$progs/builder_readelf
t_built "$builder" || t_abort "builder_readelf is not built"

# ---- 1. readelf and stackwalk read the builder's bytes the same
"$builder" asm "$WORK/builder.s" && ok || bad "builder_readelf asm"
gcc -c -o "$WORK/builder.o" "$WORK/builder.s" && ok || bad "assembling the builder's bytes"
readelf --debug-dump=frames-interp "$WORK/builder.o" >"$WORK/builder.readelf" 2>&1 || true
rc=0
"$TOOL" cfi --readelf --check "$WORK/builder.o" >"$WORK/builder.stackwalk" 2>"$WORK/builder.err" || rc=$?
if [ $rc -eq 0 ] && cmp -s "$WORK/builder.readelf" "$WORK/builder.stackwalk"; then
	ok
else
	bad "readelf and stackwalk cfi --readelf --check differ (exit $rc)"
	diff "$WORK/builder.readelf" "$WORK/builder.stackwalk" | head -n 20 || true
	head -n 5 "$WORK/builder.err"
fi
for aug in '"zR"' '"zPLR"' '"zRS"'; do
	grep -q "CIE $aug cf=1 df=-8 ra=16" "$WORK/builder.readelf" && ok || bad "no CIE $aug"
done
[ "$(grep -c ' FDE ' "$WORK/builder.readelf")" -eq 6 ] && ok || bad "expected 6 FDEs"

# ---- 2. the same procedures with the assembler's directives
cat >"$WORK/directives.S" <<'EOF'
	.text
	.globl p1
p1:	/* frame pointer, early return */
	.cfi_startproc
	.skip 1
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	.skip 3
	.cfi_def_cfa_register %rbp
	.skip 1
	.cfi_offset %rbx, -24
	.skip 7
	.cfi_remember_state
	.skip 1
	.cfi_restore %rbx
	.skip 1
	.cfi_def_cfa %rsp, 8
	.cfi_restore %rbp
	.skip 1
	.cfi_restore_state
	.skip 86
	.cfi_restore %rbx
	.skip 1
	.cfi_def_cfa %rsp, 8
	.cfi_restore %rbp
	.skip 1
	.cfi_endproc

p2:	/* frameless, 5 pushes, sub rsp,4200 */
	.cfi_startproc
	.skip 1
	.cfi_def_cfa_offset 16
	.cfi_offset %rbx, -16
	.skip 2
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r12, 0
	.skip 2
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r13, -32
	.skip 2
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r14, -40
	.skip 2
	.cfi_adjust_cfa_offset 8
	.cfi_offset %r15, -48
	.skip 7
	.cfi_adjust_cfa_offset 4200
	.skip 291
	.cfi_def_cfa_offset 48
	.skip 2
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r15
	.skip 2
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r14
	.skip 2
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r13
	.skip 2
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r12
	.skip 1
	.cfi_def_cfa_offset 8
	.cfi_restore %rbx
	.skip 1
	.cfi_endproc

p3:	/* leaf */
	.cfi_startproc
	.skip 10
	.cfi_endproc

p4:	/* personality + LSDA */
	.cfi_startproc
	.cfi_personality 0x1b, pers
	.cfi_lsda 0x3, lsda
	.skip 1
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	.skip 6
	.cfi_def_cfa_offset 8
	.cfi_restore %rbp
	.skip 1
	.cfi_endproc

p5:	/* signal frame */
	.cfi_startproc
	.cfi_signal_frame
	.cfi_def_cfa %rsp, 160
	.cfi_offset %rip, 40
	.cfi_offset %rbx, 16
	.cfi_register %r12, %r13
	.cfi_same_value %r14
	.cfi_undefined %r15
	.skip 4
	.cfi_def_cfa %rbp, -16
	.skip 4
	.cfi_offset 70, -16
	.skip 4
	.cfi_restore 70
	.skip 4
	.cfi_endproc

p6:	/* negative CFA offset */
	.cfi_startproc
	.skip 2
	.cfi_def_cfa_offset -8
	.skip 2
	.cfi_endproc

pers:	ret
lsda:	.long 0
	.section .note.GNU-stack,"",@progbits
EOF
if gcc -c -o "$WORK/directives.o" "$WORK/directives.S" 2>"$WORK/directives.log"; then
	ok
else
	bad "assembling directives.S"; head -n 10 "$WORK/directives.log"
fi
readelf --debug-dump=frames-interp "$WORK/directives.o" >"$WORK/directives.readelf" 2>&1 || true

# The FDEs' tables without the LOC column: "FDE", the column header, the rows.
tables() {
	awk '/ FDE cie=/ { infde = 1; print "FDE"; next }
	     infde && /^$/ { infde = 0; next }
	     infde && /^ +LOC/ { print; next }
	     infde { sub(/^[0-9a-f]+ /, ""); print }' "$1"
}
tables "$WORK/builder.readelf" >"$WORK/builder.tables"
tables "$WORK/directives.readelf" >"$WORK/directives.tables"
if [ -s "$WORK/builder.tables" ] && cmp -s "$WORK/builder.tables" "$WORK/directives.tables"; then
	ok
else
	bad "builder and assembler tables differ"
	diff "$WORK/directives.tables" "$WORK/builder.tables" | head -n 30 || true
fi
# Each FDE's table on its own, so a failure names the procedure.
for i in 1 2 3 4 5 6; do
	a=$(awk -v n=$i '/^FDE$/ { k++ } k == n' "$WORK/builder.tables")
	b=$(awk -v n=$i '/^FDE$/ { k++ } k == n' "$WORK/directives.tables")
	[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "procedure $i: tables differ"
done

# ---- 3. libgcc accepts the bytes
rc=0
"$builder" libgcc >"$WORK/libgcc.out" 2>&1 || rc=$?
last=$(tail -n 1 "$WORK/libgcc.out")
if [ $rc -eq 0 ] && [[ $last =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
	ok
else
	bad "libgcc __register_frame / _Unwind_Find_FDE (exit $rc)"
	head -n 20 "$WORK/libgcc.out"
fi

t_finish
