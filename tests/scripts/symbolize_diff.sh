#!/usr/bin/env bash
# `stackwalk symbolize` against llvm-addr2line and binutils addr2line on
# large real binaries, 10,000 random instruction addresses each.
#
#   tests/scripts/symbolize_diff.sh BUILD_DIR MODE
#
# Corpus (tests/symbolize_diff/corpus.sh, built at test time into
# BUILD_DIR/tests/symbolize_diff/ and kept; delete that folder to rebuild):
#   - sqlite.{gcc,clang}.dw{4,5}: the SQLite amalgamation (sqlite3.c of the
#     npm package better-sqlite3@12, fetched once with `npm pack` into
#     build/cache/) with a small main, -O2 -g -gdwarf-4 / -gdwarf-5;
#   - stl.{gcc,clang}: tests/symbolize_diff/stl_heavy.cc, -O2 -g (DWARF 5):
#     std::map/vector/sort, lambdas, templates, deep inline chains;
#   - libc: Debian's libc.so.6, its DWARF 5 (zlib-compressed sections) in
#     libc6-dbg's build-id debug file;
#   - sqlite.gcc.dw5 made over: (a) .debuglink: stripped, DWARF in a file
#     reached through .gnu_debuglink; (b) .zstd: zstd-compressed debug
#     sections; (c) .minidebuginfo: only .gnu_debugdata (xz, function
#     symbols; Fedora's recipe).
# Addresses: instruction starts of .text from objdump -d, picked with a
# fixed seed (tests/symbolize_diff/pick_addrs.py); the variants use the
# addresses of sqlite.gcc.dw5 (same .text).
#
# Each tool runs once per binary on all addresses (stdin), with -f -i -a
# and again with -C.  tests/symbolize_diff/compare.py compares the chains
# (function, file, line per frame, innermost first) after dropping
# " (discriminator N)", GCC clone suffixes (foo.cold, foo.part.0,
# "foo (.cold)") and ./ ../ in paths.  Per binary: N addresses, the
# references agree on M (raw names), stackwalk agrees with them on K of M
# (raw and -C); the test passes when K/M >= 99.9%.  Every class of
# disagreement (stackwalk vs references, reference vs reference) is
# counted and its first examples printed; the full reports are in
# BUILD_DIR/symbolize_diff/logs/.  For (c), which has no line info, only
# the outermost function name is compared, with the name nm gives the
# address in the unstripped binary (K of N).  For (b), LLVM 14 cannot
# decompress zstd sections: its reference is its output on sqlite.gcc.dw5.
#
# MODE=quick (the sanitizer run): the STL programs only, 1,000 addresses.
#
# Where addr2line 2.40 and llvm-addr2line 14 disagree (checked by hand with
# llvm-dwarfdump --debug-line / --debug-info / --lookup on stl.gcc):
#   - clone suffixes: llvm names the outermost frame from .symtab
#     ("foo.cold", demangled "foo (.cold)"; "foo.isra.0"), addr2line from
#     DWARF ("foo"). Both name the same function; DWARF's is the source
#     name.  Normalised away (counted in the report).
#   - innermost frame named after its caller: in code where an inlined
#     call sits in a cold part or a clone, addr2line prints the outer
#     function's name for the innermost frame and the inlined function's
#     name for the next (names shifted by one frame: stl.gcc 0x23ce, 0x2a19,
#     where llvm-dwarfdump --lookup shows the DW_TAG_inlined_subroutine of
#     _M_manager / Table::select at the address).  llvm is right.
#   - wrong file in a clone: for std::__adjust_heap<...>.isra.0 (stl.gcc
#     0x8b90) addr2line prints stl_heavy.cc:229 where the line table says
#     file 1 = stl_heap.h, line 229 (stl_heavy.cc has ~220 lines).  llvm is
#     right.
#   - outermost name of a member function: addr2line prints DW_AT_name
#     ("_M_invoke") where the concrete DIE reaches a linkage name through
#     DW_AT_specification, llvm the linkage name (== the symbol).  llvm
#     is right (the full name), addr2line's is not wrong, only short.
#   - no DWARF at the address (_start, padding, code without line rows):
#     addr2line names the .symtab symbol and prints "??:?"/"??:0", llvm
#     prints "??".  addr2line is more useful; neither is wrong.
#   - llvm "??" for the innermost function at some addresses inside
#     std::function managers where DWARF has the inlined subroutine
#     (stl.gcc 0x2a48): llvm is wrong, addr2line right.
#   - clang DWARF 5 inlined frames (sqlite.clang.dw5: refs agree on 77%,
#     on 99% for dw4): addr2line drops the DW_TAG_inlined_subroutine and
#     prints the outer function with the inlined line (0x7472: llvm-dwarfdump
#     --lookup shows sqlite3BtreeEnterAll inlined there).  llvm is right.
#   - libc, C names: the DWARF name is "abort", addr2line prints a .symtab
#     alias at the same address ("__GI_abort"), llvm the DWARF name; for
#     __libc_start_main_impl (DWARF) llvm prints the versioned symbol
#     __libc_start_main.  DWARF's names are right; llvm is right except
#     for the second.
#   - libc, file of the innermost frame: addr2line prints the unit's own
#     file (sysdeps/x86/libc-start.c) where the line table row names an
#     included one (libc_start_call_main.h).  llvm is right.
#   - both references join a relative DW_AT_comp_dir ("./libio") to DWARF
#     5's directory 0 (also "./libio"), printing libio/libio/libioP.h;
#     directory 0 is the compilation directory itself, so stackwalk's
#     libio/libioP.h is right.  compare.py accepts exactly that doubling
#     for stackwalk, and counts it.
#   - demanglers (reported separately, raw names equal): libiberty prints
#     lambdas "{lambda(int)#1}", LLVM 14 "'lambda'(int)", and LLVM 14
#     leaves some long names mangled.  stackwalk uses libiberty, so its -C
#     output is compared with addr2line's.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init symbolize_diff "$@"
t_need addr2line llvm-addr2line objdump objcopy strip nm readelf python3 xz
t_sanitizer_env
# shellcheck source=tests/symbolize_diff/corpus.sh
. tests/symbolize_diff/corpus.sh
corpus_init "$progs"
cmp_py=tests/symbolize_diff/compare.py
tool=$build/stackwalk
res=$out/results
mkdir -p "$res"

if [[ $mode == quick ]]; then naddr=1000; else naddr=10000; fi

# Is `stackwalk symbolize` there?  Without it every stackwalk check fails
# (the references are still compared and reported).
sw_ok=
if [[ -x $tool ]] && t_timeout 60 "$tool" symbolize -e "$tool" -f -a 0 >"$logs/probe.log" 2>&1; then
	sw_ok=1
else
	echo "stackwalk symbolize is not available ($tool symbolize -e FILE -f -a 0 failed):"
	sed 's/^/  /' "$logs/probe.log" 2>/dev/null | tail -n 3 || true
fi

# symbolize TOOL-LABEL BIN ADDRS OUT: OUT.raw (-f -i -a) and OUT.dem (-C)
symbolize() {
	local label=$1 bin=$2 addrs=$3 o=$4 cmd rc=0
	case $label in
	addr2line) cmd=(addr2line) ;;
	llvm) cmd=(llvm-addr2line) ;;
	stackwalk) cmd=("$tool" symbolize) ;;
	esac
	t_timeout 900 "${cmd[@]}" -f -i -a -e "$bin" <"$addrs" >"$o.raw" 2>"$o.raw.err" || rc=$?
	((rc == 0)) && { t_timeout 900 "${cmd[@]}" -f -i -a -C -e "$bin" <"$addrs" >"$o.dem" 2>"$o.dem.err" || rc=$?; }
	if ((rc != 0)); then
		echo "  $label on $(basename "$bin") exited $rc: $(head -c 300 "$o.raw.err" "$o.dem.err" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
}

# show LOG: compare.py's report, shortened: the counts and example
# addresses of every class; the chains only for stackwalk's disagreements
# (the full report stays in LOG)
show() {
	awk '/^RESULT / { next }
	     /^  stackwalk vs/ { sw = 1 }
	     /^              / { if (!sw || ++chains > 40) next }
	     { print substr($0, 1, 200) }' "$1"
}

# verdict NAME: the RESULT line of logs/NAME.log decides
verdict() {
	local name=$1 line n m k
	line=$(grep '^RESULT ' "$logs/$name.log" | tail -n 1) || { bad "$name: compare.py failed" "$logs/$name.log"; return; }
	read -r _ _ n m k <<<"$line"
	if [[ -z $sw_ok ]]; then
		bad "$name: stackwalk symbolize not available (references agree on $m of $n)"
	elif [[ $k == - ]]; then
		bad "$name: no stackwalk output"
	elif ((m == 0)); then
		bad "$name: the references agree on no address of $n"
	elif ((k * 1000 >= m * 999)); then
		ok "$name: stackwalk agrees on $k of $m (references agree on $m of $n)"
	else
		bad "$name: stackwalk agrees on only $k of $m (< 99.9%; references agree on $m of $n)"
	fi
}

# one NAME BIN ADDRS [LLVM_BIN]: compare the three on BIN (llvm-addr2line
# on LLVM_BIN when given: the same code in a form LLVM 14 reads)
one() {
	local name=$1 bin=$2 addrs=$3 llvm_bin=${4:-$2} sw_arg=()
	echo "== $name ($(wc -l <"$addrs") addresses)"
	symbolize addr2line "$bin" "$addrs" "$res/$name.addr2line" || { bad "$name: addr2line failed"; return; }
	symbolize llvm "$llvm_bin" "$addrs" "$res/$name.llvm" || { bad "$name: llvm-addr2line failed"; return; }
	if [[ -n $sw_ok ]]; then
		if symbolize stackwalk "$bin" "$addrs" "$res/$name.stackwalk"; then
			sw_arg=(--sw "$res/$name.stackwalk.raw,$res/$name.stackwalk.dem")
		else
			bad "$name: stackwalk symbolize failed" "$res/$name.stackwalk.raw.err"
			return
		fi
	fi
	python3 "$cmp_py" --name "$name" --addrs "$addrs" \
		--ref "addr2line=$res/$name.addr2line.raw,$res/$name.addr2line.dem" \
		--ref "llvm=$res/$name.llvm.raw,$res/$name.llvm.dem" "${sw_arg[@]}" >"$logs/$name.log" 2>&1 || true
	show "$logs/$name.log"
	verdict "$name"
}

# names NAME BIN ADDRS UNSTRIPPED: outermost function names of stackwalk
# on BIN against nm's on UNSTRIPPED
names() {
	local name=$1 bin=$2 addrs=$3 full=$4 sw_arg=()
	echo "== $name ($(wc -l <"$addrs") addresses, function names against nm of $(basename "$full"))"
	nm -S --defined-only -C "$full" >"$res/$name.nm"
	if [[ -n $sw_ok ]]; then
		if t_timeout 900 "$tool" symbolize -f -a -C -e "$bin" <"$addrs" >"$res/$name.stackwalk.dem" 2>"$res/$name.stackwalk.err"; then
			sw_arg=(--sw "$res/$name.stackwalk.dem")
		else
			bad "$name: stackwalk symbolize failed" "$res/$name.stackwalk.err"
			return
		fi
	fi
	python3 "$cmp_py" --name "$name" --addrs "$addrs" --symtab "$res/$name.nm" "${sw_arg[@]}" \
		>"$logs/$name.log" 2>&1 || true
	show "$logs/$name.log"
	verdict "$name"
}

# ---------------------------------------------------------------- STL
if corpus_stl; then
	for cc in gcc clang; do
		if a=$(corpus_addrs "$progs/stl.$cc" "$naddr"); then one "stl.$cc" "$progs/stl.$cc" "$a"
		else bad "stl.$cc: no addresses"; fi
	done
else
	bad "stl: building tests/symbolize_diff/stl_heavy.cc failed"
fi

if [[ $mode == quick ]]; then
	echo "(MODE=quick: the STL programs only, $naddr addresses; MODE=full adds SQLite, libc and the variants)"
	t_finish
	exit
fi

# ---------------------------------------------------------------- SQLite
if corpus_sqlite; then
	for b in gcc.dw5 gcc.dw4 clang.dw5 clang.dw4; do
		if a=$(corpus_addrs "$progs/sqlite.$b" "$naddr"); then one "sqlite.$b" "$progs/sqlite.$b" "$a"
		else bad "sqlite.$b: no addresses"; fi
	done
	if corpus_variants; then
		base=$progs/sqlite.gcc.dw5
		a=$(corpus_addrs "$base" "$naddr")
		one sqlite.gcc.dw5.debuglink "$base.debuglink" "$a"
		one sqlite.gcc.dw5.zstd "$base.zstd" "$a" "$base"
		names sqlite.gcc.dw5.minidebuginfo "$base.minidebuginfo" "$a" "$base"
	else
		bad "sqlite variants (debuglink, zstd, MiniDebugInfo): making them failed (see above)"
	fi
else
	bad "sqlite: no SQLite corpus (see the corpus: lines above; npm pack better-sqlite3@12 needs the npm registry)"
fi

# ---------------------------------------------------------------- libc
if corpus_libc; then
	if a=$(corpus_addrs "$corpus_libc" "$naddr" libc.so.6); then one libc "$corpus_libc" "$a"
	else bad "libc: no addresses"; fi
else
	bad "libc: no libc6-dbg debug file (see above)"
fi

t_finish
