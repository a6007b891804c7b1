#!/usr/bin/env bash
# Symbolization benchmarks:  bench/symbolize.sh [BUILD_DIR]   (default build/out)
#
# stdout carries only `name: value unit` lines; progress goes to stderr.
#   symbolize.sqlite.10k.{stackwalk,llvm,addr2line}  ms  CPU time (user + sys,
#        the whole process, setup included) to symbolize 10,000 addresses of
#        the gcc -O2 -gdwarf-5 SQLite program with -f -i -C -a, addresses on
#        stdin: `stackwalk symbolize`, llvm-addr2line, binutils addr2line
#   symbolize.sqlite.first.stackwalk                 ms  the same for one
#        address (a new process: open, index, first lookup)
#   symbolize.libc.10k.{stackwalk,llvm,addr2line}    ms  10,000 addresses of
#        Debian's libc.so.6, DWARF from libc6-dbg (build-id debug file)
#   symbolize.{sqlite,libc}.rss.{stackwalk,llvm,addr2line}  MB  peak RSS
#        (ru_maxrss) of those runs
#   symbolize.warm.stackwalk                         ns/address  in-process,
#        sw_symbolize_file on the SQLite program's 10,000 addresses after a
#        warm-up pass over them (bench/sym_warm.c)
# CPU times are the best of 3 runs (bench/sym_rusage.c: wait4's rusage of
# the one child), RSS the largest of the 3.  The corpus is the one
# tests/scripts/symbolize_diff.sh uses (tests/symbolize_diff/corpus.sh),
# built into BUILD_DIR/tests/symbolize_diff/ when missing (SQLite comes from
# npm's better-sqlite3@12, fetched once into build/cache/).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
RUNS=3
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc
for c in addr2line llvm-addr2line python3 objdump; do
	command -v "$c" >/dev/null || { echo "bench: $c not found (make deps installs it)" >&2; exit 1; }
done

# shellcheck source=tests/symbolize_diff/corpus.sh
. tests/symbolize_diff/corpus.sh
corpus_init "$BUILD/tests/symbolize_diff"
corpus_sqlite gcc.5 || { echo "bench: no SQLite corpus (see above)" >&2; exit 1; }
corpus_libc || { echo "bench: no libc debug file (see above)" >&2; exit 1; }
sqlite=$corpus_dir/sqlite.gcc.dw5
sqlite_addrs=$(corpus_addrs "$sqlite" 10000)
libc_addrs=$(corpus_addrs "$corpus_libc" 10000 libc.so.6)

mkdir -p "$BUILD/bench"
WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -o "$BUILD/bench/sym_rusage" bench/sym_rusage.c
rusage=$BUILD/bench/sym_rusage

tool=$BUILD/stackwalk
have_sw=
if [[ -x $tool ]] && "$tool" symbolize -e "$sqlite" -f -a 0 >/dev/null 2>&1; then
	have_sw=1
else
	echo "bench: $tool symbolize is not available: no stackwalk figures" >&2
fi

# measure NAME INPUT CMD...: NAME's CPU ms (best of RUNS) and peak RSS
# (largest), set in $cpu_ms and $rss_mb
measure() {
	local name=$1 input=$2 best='' rss=0 r t k
	shift 2
	for ((r = 0; r < RUNS; r++)); do
		read -r t k < <("$rusage" "$input" "$@") || { echo "bench: $name: $* failed" >&2; return 1; }
		[[ -n $t ]] || { echo "bench: $name: $* failed" >&2; return 1; }
		if [[ -z $best ]] || ((t < best)); then best=$t; fi
		((k > rss)) && rss=$k
	done
	cpu_ms=$(awk -v t="$best" 'BEGIN { printf "%.1f", t / 1000 }')
	rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "bench: $name: best ${cpu_ms} ms CPU, peak ${rss_mb} MB" >&2
}

# one CORPUS BIN ADDRS: the three tools on BIN
one() {
	local corpus=$1 bin=$2 addrs=$3 t
	declare -A rss=()
	local tools=(llvm addr2line)
	[[ -n $have_sw ]] && tools=(stackwalk "${tools[@]}")
	echo "bench: $corpus: 10,000 addresses, -f -i -C -a" >&2
	for t in "${tools[@]}"; do
		case $t in
		stackwalk) measure "$corpus.$t" "$addrs" "$tool" symbolize -f -i -C -a -e "$bin" || continue ;;
		llvm) measure "$corpus.$t" "$addrs" llvm-addr2line -f -i -C -a -e "$bin" || continue ;;
		addr2line) measure "$corpus.$t" "$addrs" addr2line -f -i -C -a -e "$bin" || continue ;;
		esac
		echo "symbolize.$corpus.10k.$t: $cpu_ms ms"
		rss[$t]=$rss_mb
	done
	for t in "${tools[@]}"; do
		[[ -n ${rss[$t]:-} ]] && echo "symbolize.$corpus.rss.$t: ${rss[$t]} MB"
	done
	return 0
}

# the page cache holds the files before anything is timed
cat "$sqlite" "$corpus_libc" "$corpus_libc_debug" >/dev/null

one sqlite "$sqlite" "$sqlite_addrs"
if [[ -n $have_sw ]]; then
	first=$(head -n 1 "$sqlite_addrs")
	measure sqlite.first.stackwalk - "$tool" symbolize -f -i -C -a -e "$sqlite" "$first" &&
		echo "symbolize.sqlite.first.stackwalk: $cpu_ms ms"
fi
one libc "$corpus_libc" "$libc_addrs"

# ---------------------------------------------------------------- warm, in-process
lib=$BUILD/libstackwalk.a
symlib=$BUILD/libstackwalk_symbolize.a
if [[ -e $lib && -e $symlib ]]; then
	if "$CC" -std=gnu11 -O2 -g "${WARN[@]}" -Iinclude -o "$BUILD/bench/sym_warm" bench/sym_warm.c \
		"$symlib" "$lib" /usr/lib/x86_64-linux-gnu/libiberty.a -lz -lzstd -llzma; then
		echo "bench: warm lookups (sw_symbolize_file, in-process)" >&2
		"$BUILD/bench/sym_warm" "$sqlite" "$sqlite_addrs" ||
			echo "bench: sym_warm failed: no symbolize.warm.stackwalk" >&2
	else
		echo "bench: building bench/sym_warm.c failed: no symbolize.warm.stackwalk" >&2
	fi
else
	echo "bench: $symlib or $lib missing (make all builds them): no symbolize.warm.stackwalk" >&2
fi
