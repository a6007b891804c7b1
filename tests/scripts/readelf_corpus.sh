#!/usr/bin/env bash
# `stackwalk cfi --readelf --check` against binutils readelf, byte for byte.
#
#   tests/scripts/readelf_corpus.sh BUILD_DIR MODE
#
# Corpus:
#   - system files: every ELF file in /usr/bin and /usr/lib/x86_64-linux-gnu
#     up to 20 MB (MODE=full), or a fixed sample of 300 of them plus libc,
#     libstdc++ and ld-linux (MODE=quick, the sanitizer run);
#   - tests/corpus/*.c and *.cc built by gcc/g++ and clang/clang++ at -O0,
#     -O2 and -O3, with and without frame pointers;
#   - .debug_frame: the same sources with -fno-asynchronous-unwind-tables -g
#     as executables and as relocatable objects (readelf applies the .o's
#     relocations; so do we), and a zlib-compressed one (-gz);
#   - tests/corpus/handcfi.S: hand-written CFI (signal frame, states,
#     expressions) in .eh_frame and .debug_frame.
# Each file is one test: the stdout of both must be identical AND --check
# must confirm that every row readelf shows equals the row the engine
# computes (sw_cfa_row_at) at that address.
#
# Where readelf is wrong, --readelf reproduces it (the output must match)
# while the engine does the right thing; --check skips exactly these:
#   - readelf prints a row at every advance, also zero-byte advances, whose
#     state later instructions at the same address amend: only the last row
#     for an address is a real row of the CFA table;
#   - readelf keeps one DW_CFA_remember_state stack for the whole section,
#     so a remember without restore leaks into the next FDE; the engine's
#     stack is per FDE as DWARF 5 section 6.4.2.4 says;
#   - readelf does not carry a CIE's DW_CFA_def_cfa_expression into its
#     FDEs (the FDE shows the CIE's register rule); the engine does.
# None of the latter two occurs in the files on this machine; the first is
# common (e.g. DW_CFA_advance_loc: 0 in hand-written assembly).
#
# (The corpus is compiled here, not by make: the compiled files are what is
# compared, and the system files are found at test time.)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init readelf_corpus "$@"
TOOL=$build/stackwalk
WORK=$build/corpus
mkdir -p "$WORK"

compare() {
	local f=$1
	if ! readelf --debug-dump=frames-interp "$f" >"$WORK/readelf.out" 2>/dev/null; then
		: # readelf's own exit status on odd files is not the point; its output is
	fi
	local rc=0
	"$TOOL" cfi --readelf --check "$f" >"$WORK/stackwalk.out" 2>"$WORK/stackwalk.err" || rc=$?
	if cmp -s "$WORK/readelf.out" "$WORK/stackwalk.out" && [ $rc -eq 0 ]; then
		ok
	else
		bad "$f (exit $rc)"
		diff "$WORK/readelf.out" "$WORK/stackwalk.out" | head -n 10 || true
		head -n 5 "$WORK/stackwalk.err"
	fi
}

# ---- compiled corpus
built=()
for src in tests/corpus/*.c tests/corpus/*.cc; do
	base=$(basename "$src")
	base=${base%.*}
	case $src in
		*.cc) compilers="g++ clang++" ;;
		*) compilers="gcc clang" ;;
	esac
	for cc in $compilers; do
		for opt in -O0 -O2 -O3; do
			for fp in -fno-omit-frame-pointer -fomit-frame-pointer; do
				out=$WORK/$base-$cc$opt$fp
				$cc $opt $fp -o "$out" "$src"
				built+=("$out")
			done
			out=$WORK/$base-$cc$opt-debug_frame
			$cc $opt -g -fno-asynchronous-unwind-tables -o "$out" "$src"
			$cc $opt -g -fno-asynchronous-unwind-tables -c -o "$out.o" "$src"
			$cc $opt -c -o "$WORK/$base-$cc$opt.o" "$src"
			built+=("$out" "$out.o" "$WORK/$base-$cc$opt.o")
		done
		out=$WORK/$base-$cc-gz.o
		$cc -O2 -g -gz=zlib -fno-asynchronous-unwind-tables -c -o "$out" "$src"
		built+=("$out")
	done
done
# the compressed objects must really carry a compressed .debug_frame
if ! readelf -S --wide "$WORK/frames-gcc-gz.o" | grep -q 'debug_frame.* C '; then
	bad "$WORK/frames-gcc-gz.o has no SHF_COMPRESSED .debug_frame"
fi
# hand-written CFI, in .eh_frame and in .debug_frame
gcc -c -o "$WORK/handcfi-eh.o" tests/corpus/handcfi.S
gcc -c -DDEBUG_FRAME -o "$WORK/handcfi-debug.o" tests/corpus/handcfi.S
built+=("$WORK/handcfi-eh.o" "$WORK/handcfi-debug.o")
for f in "${built[@]}"; do
	compare "$f"
done

# ---- system files
mapfile -t all < <(find /usr/bin /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size -20M 2>/dev/null | sort)
elves=()
for f in "${all[@]}"; do
	[ -r "$f" ] || continue
	if [ "$(head -c 4 "$f" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; then
		elves+=("$f")
	fi
done
must=(/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libstdc++.so.6
      /lib64/ld-linux-x86-64.so.2 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1)
if [ "$mode" = quick ]; then
	n=${#elves[@]}
	step=$(( n > 300 ? n / 300 : 1 ))
	sample=()
	for ((i = 0; i < n && ${#sample[@]} < 300; i += step)); do
		sample+=("${elves[i]}")
	done
	elves=("${must[@]}" "${sample[@]}")
else
	elves=("${must[@]}" "${elves[@]}")
fi
for f in "${elves[@]}"; do
	compare "$f"
done

echo "readelf corpus: ${#built[@]} compiled files, $(( ${#elves[@]} )) system files"
t_finish
