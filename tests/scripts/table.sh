#!/usr/bin/env bash
# The compact unwind tables (src/table) against the full DWARF interpreter,
# and the `stackwalk table` command line.
#
#   tests/scripts/table.sh BUILD_DIR full|quick
#
# 1. tests/table/diff.c (built here against BUILD_DIR/libstackwalk.a, with
#    the sanitizers in the quick run) builds the table of each file's
#    .eh_frame (+ .eh_frame_hdr) and .debug_frame, checks it with
#    sw_table_check, and compares the table's answer with the
#    interpreter's (FDE search as the unwinder does it, sw_cfa_row_at,
#    sw_compile_row) at every byte of every FDE (within a byte budget,
#    then at the edges of every row of every FDE and of the table), see
#    its header.  Files:
#      - the corpus: tests/corpus/frames.c and frames_cxx.cc by gcc/g++ and
#        clang/clang++ at -O0 and -O2 (quick: -O2), each also with .debug_frame only
#        (-g -fno-asynchronous-unwind-tables: the scan path), the
#        hand-written CFI of tests/corpus/handcfi.S (signal frame,
#        remember/restore, expressions) as objects; every byte;
#      - system libraries: full: the first 300 distinct ELF shared objects
#        of /usr/lib/x86_64-linux-gnu (sorted by real path, files over
#        32 MB left out: the three LLVM/clang libraries alone would take
#        60% of the time), libc, libstdc++, libgcc_s and ld.so first;
#        every byte for the first 1.5 MB of code, row edges for the rest;
#        quick: libc, libgcc_s, ld.so, libz, libm (every byte for 200 KB).
#    One test per diff run; each prints its totals (addresses per kind).
# 2. stackwalk table: the summary, --rows, --out and --check (the blob read
#    back), the table smaller than .eh_frame + .eh_frame_hdr for libc and
#    libstdc++, and clear errors with a nonzero status for files that are
#    not ELF, truncated or corrupted blobs.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --lib --fresh table "$@"
t_sanitizer_env
TOOL=$build/stackwalk
t_need gcc clang g++ clang++ readelf
[[ -x $TOOL ]] || t_abort "no $TOOL (make tools)"

# ---- the differential program
if ! gcc -std=gnu11 -O2 -g "${WARN[@]}" "${SAN_FLAGS[@]}" -Iinclude -Isrc -o "$out/diff" \
	tests/table/diff.c "$build/libstackwalk.a" -ldl -lpthread >"$logs/build.log" 2>&1; then
	bad "build tests/table/diff.c" "$logs/build.log"
	t_finish
	exit 1
fi
ok "build tests/table/diff.c"

# run_diff NAME ARGS...: one differential run, its totals printed
run_diff() {
	local name=$1 rc=0
	shift
	t_timeout 600 "$out/diff" "$@" >"$logs/$name.log" 2>&1 || rc=$?
	grep -E '^(MISMATCH|BUILD-ERROR|CHECK-ERROR)' "$logs/$name.log" | head -n 10
	echo "$name: $(grep '^TOTAL' "$logs/$name.log" || echo 'no totals')"
	t_verdict "$name" "$rc" "$logs/$name.log"
	((rc == 0)) || tail -n 5 "$logs/$name.log"
}

# ---- the corpus
corpus=()
cbuild() {   # cbuild OUT COMPILER ARGS...
	local o=$1
	shift
	if "$@" -o "$o" >>"$logs/corpus.log" 2>&1; then
		corpus+=("$o")
	else
		bad "compile $o" "$logs/corpus.log"
	fi
}
mkdir -p "$out/corpus"
opts=(-O0 -O2)
[[ $mode == quick ]] && opts=(-O2)
for src in tests/corpus/frames.c tests/corpus/frames_cxx.cc; do
	base=$(basename "${src%.*}")
	case $src in
	*.cc) ccs=(g++ clang++) ;;
	*) ccs=(gcc clang) ;;
	esac
	for cc in "${ccs[@]}"; do
		for opt in "${opts[@]}"; do
			cbuild "$out/corpus/$base-$cc$opt" "$cc" "$opt" "$src"
			cbuild "$out/corpus/$base-$cc$opt-debug_frame" "$cc" "$opt" -g \
				-fno-asynchronous-unwind-tables "$src"
		done
	done
done
cbuild "$out/corpus/handcfi-eh.o" gcc -c tests/corpus/handcfi.S
cbuild "$out/corpus/handcfi-debug.o" gcc -c -DDEBUG_FRAME tests/corpus/handcfi.S
corpus+=("$TOOL" "$out/diff")
run_diff corpus "${corpus[@]}"
# the corpus must reach the DWARF rows (handcfi's signal frame and
# expressions) and the .debug_frame scan
if grep -q 'handcfi-eh.o .eh_frame: .* [1-9][0-9]* dwarf' "$logs/corpus.log"; then
	ok "handcfi.S: DWARF-fallback rows"
else
	bad "handcfi.S has no DWARF-fallback rows" "$logs/corpus.log"
fi
if grep -q 'debug_frame-.*debug_frame: .* [1-9][0-9]* rows' "$logs/corpus.log" ||
	grep -q -- '-debug_frame .debug_frame: [0-9]* bytes, [1-9]' "$logs/corpus.log"; then
	ok ".debug_frame tables"
else
	bad "no .debug_frame table in the corpus" "$logs/corpus.log"
fi

# ---- system libraries
libdir=/usr/lib/x86_64-linux-gnu
must=("$libdir/libc.so.6" "$libdir/libstdc++.so.6" "$libdir/libgcc_s.so.1" /lib64/ld-linux-x86-64.so.2)
is_elf() { [[ $(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ') == '177ELF' ]]; }
declare -A seen=()
libs=()
for f in "${must[@]}"; do
	r=$(realpath "$f" 2>/dev/null) || continue
	[[ -r $r ]] && is_elf "$r" || continue
	[[ -n ${seen[$r]:-} ]] && continue
	seen[$r]=1
	libs+=("$r")
done
if [[ $mode == full ]]; then
	want=300 budget=1500000
	mapfile -t cand < <(find "$libdir" -maxdepth 1 -name '*.so*' \( -type f -o -type l \) \
		-exec realpath {} + 2>/dev/null | LC_ALL=C sort -u)
	n=0
	for r in "${cand[@]}"; do
		((n >= want)) && break
		[[ -f $r && -r $r ]] || continue
		(($(stat -c %s "$r") <= 32 * 1024 * 1024)) || continue
		is_elf "$r" || continue
		n=$((n + 1))
		[[ -n ${seen[$r]:-} ]] && continue
		seen[$r]=1
		libs+=("$r")
	done
	if ((n < want)); then
		bad "only $n ELF shared objects under $libdir (want $want)"
	else
		ok "$n distinct ELF shared objects sampled"
	fi
else
	budget=200000
	for f in "$libdir/libz.so.1" "$libdir/libm.so.6"; do
		r=$(realpath "$f" 2>/dev/null) && [[ -z ${seen[$r]:-} ]] && is_elf "$r" && libs+=("$r")
	done
fi
echo "system libraries: ${#libs[@]} files"
run_diff libs --bytes "$budget" "${libs[@]}"
if grep -q '^TOTAL .*table-hit [1-9]' "$logs/libs.log"; then
	ok "libraries: table hits"
else
	bad "libraries: no table hits" "$logs/libs.log"
fi

# ---- stackwalk table
# expect CODE PATTERN CMD...: exit status CODE and PATTERN in stdout+stderr
expect() {
	local code=$1 pat=$2 rc=0
	shift 2
	"$@" >"$out/tool.out" 2>&1 || rc=$?
	if ((rc != code)); then
		bad "$* exited $rc, expected $code" "$out/tool.out"
	elif ! grep -q -- "$pat" "$out/tool.out"; then
		bad "$* output lacks '$pat'" "$out/tool.out"
	else
		ok
	fi
}
field() { sed -n "s/^$1: \([0-9]*\).*/\1/p" "$2" | head -n 1; }

libc=$(realpath "$libdir/libc.so.6")
expect 0 "usage: stackwalk table" "$TOOL" table --help
expect 2 "usage: stackwalk table" "$TOOL" table
expect 0 "compact table of .eh_frame through .eh_frame_hdr" "$TOOL" table --out "$out/libc.tbl" "$libc"
cp "$out/tool.out" "$out/libc.summary"
size=$(field table "$out/libc.summary")
rows=$(field rows "$out/libc.summary")
eh=$(field eh_frame "$out/libc.summary")
hdr=$(field eh_frame_hdr "$out/libc.summary")
echo "libc: table ${size:-?} bytes, ${rows:-?} rows; .eh_frame ${eh:-?} + .eh_frame_hdr ${hdr:-?} bytes"
if [[ -n $size && -n $eh && -n $hdr ]] && ((size == $(stat -c %s "$out/libc.tbl"))); then
	ok "libc: --out wrote the table's size"
else
	bad "libc: --out size $(stat -c %s "$out/libc.tbl" 2>/dev/null) vs table ${size:-?}"
fi
for lib in "$libc" "$(realpath "$libdir/libstdc++.so.6")"; do
	"$TOOL" table "$lib" >"$out/size.out" 2>&1
	s=$(field table "$out/size.out") e=$(field eh_frame "$out/size.out") h=$(field eh_frame_hdr "$out/size.out")
	if [[ -n $s && -n $e && -n $h ]] && ((s < e + h)); then
		ok "$(basename "$lib"): table $s < .eh_frame+hdr $((e + h)) bytes"
	else
		bad "$(basename "$lib"): table ${s:-?} not below .eh_frame+hdr (${e:-?}+${h:-?})" "$out/size.out"
	fi
done
# the blob read back: the same summary
expect 0 "a valid table" "$TOOL" table --check "$out/libc.tbl"
if [[ $(field rows "$out/tool.out") == "$rows" && $(field rules "$out/tool.out") == $(field rules "$out/libc.summary") ]]; then
	ok "--check: the same rows and rules"
else
	bad "--check: rows/rules differ from the build" "$out/tool.out"
fi
# --rows: one line per row, readable rules
"$TOOL" table --rows "$libc" >"$out/rows.out" 2>&1
nrows=$(grep -c '^  0x' "$out/rows.out")
if [[ $nrows == "$rows" ]] && grep -q 'CFA=rsp+8 ra=\[cfa-8\]$' "$out/rows.out" &&
	grep -q 'rbx=\[cfa-' "$out/rows.out" && grep -q 'gap (no FDE)' "$out/rows.out"; then
	ok "--rows: $nrows rows"
else
	bad "--rows printed $nrows rows, want $rows" "$out/rows.out"
fi
"$TOOL" table --check --rows "$out/libc.tbl" >"$out/rows2.out" 2>&1
if cmp -s <(grep '^  0x' "$out/rows.out") <(grep '^  0x' "$out/rows2.out"); then
	ok "--check --rows: the same rows as the build"
else
	bad "--check --rows: rows differ"
fi
# the .debug_frame path
dbgprog=$out/corpus/handcfi-debug.o
expect 0 "compact table of .debug_frame" "$TOOL" table "$dbgprog"
# errors
echo "just text" >"$out/text"
expect 2 "not an ELF file" "$TOOL" table "$out/text"
expect 2 "I/O error" "$TOOL" table "$out/does-not-exist"
gcc -c -o "$out/nocfi.o" -x c - -fno-asynchronous-unwind-tables <<<'int f(void) { return 1; }'
expect 2 "has no .eh_frame or .debug_frame" "$TOOL" table "$out/nocfi.o"
head -c $((size / 2)) "$out/libc.tbl" >"$out/half.tbl"
expect 1 "shorter than its size field" "$TOOL" table --check "$out/half.tbl"
head -c 50 "$out/libc.tbl" >"$out/tiny.tbl"
expect 1 "shorter than its header" "$TOOL" table --check "$out/tiny.tbl"
: >"$out/empty.tbl"
expect 1 "shorter than its header" "$TOOL" table --check "$out/empty.tbl"
# patch FILE OFFSET BYTES: bytes (printf escapes) at decimal OFFSET
patch() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
cp "$out/libc.tbl" "$out/magic.tbl"; patch "$out/magic.tbl" 0 'X'
expect 1 "bad magic" "$TOOL" table --check "$out/magic.tbl"
cp "$out/libc.tbl" "$out/version.tbl"; patch "$out/version.tbl" 4 '\x07'
expect 1 "unsupported version" "$TOOL" table --check "$out/version.tbl"
cp "$out/libc.tbl" "$out/rowsoff.tbl"; patch "$out/rowsoff.tbl" 44 '\xff\xff'   # rows_off
expect 1 "rows offset" "$TOOL" table --check "$out/rowsoff.tbl"
cp "$out/libc.tbl" "$out/nrows.tbl"; patch "$out/nrows.tbl" 28 '\x01'           # nrows
expect 1 "not a valid table" "$TOOL" table --check "$out/nrows.tbl"
# a row's rule index past the rules: the last row (a gap) made rule 0x7fff
cp "$out/libc.tbl" "$out/rule.tbl"; patch "$out/rule.tbl" $((size - 4)) '\xff\x7f\x00'
expect 1 "bad rule index" "$TOOL" table --check "$out/rule.tbl"
# a page index entry past the rows
cp "$out/libc.tbl" "$out/page.tbl"
pages_off=$(od -An -t u4 -j 40 -N 4 "$out/libc.tbl" | tr -d ' ')
patch "$out/page.tbl" $((pages_off + 8)) '\xff\xff\xff\x7f'
expect 1 "page index" "$TOOL" table --check "$out/page.tbl"
# single-byte corruptions spread over a small program's blob (150; 40 in
# the quick run): rejected or, when the byte does not matter to the
# layout (a rule's register offsets, the FDE count), accepted and its rows
# printed (lookups) -- never a crash
small=$out/corpus/frames_cxx-g++-O2
"$TOOL" table --out "$out/small.tbl" "$small" >/dev/null 2>&1 || bad "stackwalk table $small"
ssize=$(stat -c %s "$out/small.tbl" 2>/dev/null || echo 0)
nflip=150
[[ $mode == quick ]] && nflip=40
crash=0 rejected=0
for ((k = 0; k < nflip && ssize > 0; k++)); do
	cp "$out/small.tbl" "$out/flip.tbl"
	o=$(((k * 7919) % ssize))
	patch "$out/flip.tbl" "$o" '\x5a'
	rc=0
	"$TOOL" table --check --rows "$out/flip.tbl" >/dev/null 2>"$out/flip.err" || rc=$?
	((rc == 0 || rc == 1)) || { crash=$((crash + 1)); echo "byte $o: exit $rc"; head -n 3 "$out/flip.err"; }
	((rc == 1)) && rejected=$((rejected + 1))
done
if ((crash == 0 && rejected > 0)); then
	ok "$nflip corrupted $ssize-byte blobs: $rejected rejected, none crashed"
else
	bad "corrupted blobs: $crash crashed, $rejected rejected"
fi

t_finish
