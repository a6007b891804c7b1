#!/usr/bin/env bash
# The compact unwind tables' figures:  bench/table.sh [BUILD_DIR]
# (bench/run.sh calls it; stdout carries only `name: value unit` lines,
# commentary goes to stderr)
#
#   table.build.libc              ms, median of 11 sw_table_build runs on the
#                                 loaded libc's .eh_frame (+ header)
#   table.size.X                  bytes of X's table (`stackwalk table`)
#   table.eh_frame.X              bytes of X's .eh_frame + .eh_frame_hdr
#   table.sframe.X                bytes of the .sframe `as --gsframe` made for
#                                 the same object, only where measured
#
# X: libc, libstdcxx, sqlite (the distribution's libsqlite3.so.0): no
# .sframe for them (they were not assembled with --gsframe and their
# objects are not here); stderr says so.  sqlite_src: the SQLite
# amalgamation compiled here with gcc -O2 -fPIC -Wa,--gsframe, when
# SQLITE_AMALGAMATION names a sqlite3.c (none is packaged in Debian 12's
# binary archive; stderr says so).  libstackwalk: this project's library
# sources, and frames / frames_cxx: tests/corpus/frames.c and
# frames_cxx.cc, each compiled here by gcc -O2 -Wa,--gsframe: the table
# and the .sframe of the very same object.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc
LIBDIR=/usr/lib/x86_64-linux-gnu
tool=$BUILD/stackwalk
lib=$BUILD/libstackwalk.a
for f in "$tool" "$lib"; do
	[[ -e $f ]] || { echo "bench: $f missing; run make first" >&2; exit 1; }
done
mkdir -p "$BUILD/bench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)

# ---------------------------------------------------------------- build time
echo "bench: building $BUILD/bench/table_bench" >&2
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -Iinclude -Isrc -o "$BUILD/bench/table_bench" \
	bench/table_bench.c "$lib" -ldl -lpthread
"$BUILD/bench/table_bench" 11

# ---------------------------------------------------------------- sizes
field() { sed -n "s/^$1: \([0-9]*\) bytes.*/\1/p" "$2" | head -n 1; }

# sizes NAME FILE [SFRAME_NOTE]: table.size / table.eh_frame / table.sframe
# of FILE (an .sframe only when FILE has one; else SFRAME_NOTE on stderr)
sizes() {
	local name=$1 file=$2 note=${3:-} s e h f
	if ! "$tool" table "$file" >"$tmp/t.out" 2>"$tmp/t.err"; then
		echo "bench: stackwalk table $file failed: $(head -n 1 "$tmp/t.err")" >&2
		return 0
	fi
	s=$(field table "$tmp/t.out")
	e=$(field eh_frame "$tmp/t.out")
	h=$(field eh_frame_hdr "$tmp/t.out")
	f=$(field sframe "$tmp/t.out")
	echo "bench: $name = $file: $(sed -n 's/^rows: //p' "$tmp/t.out") rows," \
		"$(sed -n 's/^rules: //p' "$tmp/t.out") rules," \
		"$(sed -n 's/^dwarf_rows: //p' "$tmp/t.out") DWARF rows, .eh_frame $e + .eh_frame_hdr $h bytes" >&2
	echo "table.size.$name: $s bytes"
	echo "table.eh_frame.$name: $((e + h)) bytes"
	if [[ -n $f ]]; then
		echo "table.sframe.$name: $f bytes"
		((s < f)) || echo "bench: note: the table of $name ($s bytes) is not smaller than its .sframe ($f bytes)" >&2
	elif [[ -n $note ]]; then
		echo "bench: table.sframe.$name: not measured: $note" >&2
	fi
	((s < e + h)) || echo "bench: note: the table of $name ($s bytes) is not smaller than .eh_frame+hdr ($((e + h)) bytes)" >&2
}

nosframe="the distribution's build has no .sframe and its object files are not on this machine to reassemble with as --gsframe"
sizes libc "$LIBDIR/libc.so.6" "$nosframe"
sizes libstdcxx "$LIBDIR/libstdc++.so.6" "$nosframe"
if [[ -e $LIBDIR/libsqlite3.so.0 ]]; then
	sizes sqlite "$LIBDIR/libsqlite3.so.0" "$nosframe"
else
	echo "bench: table.size.sqlite: $LIBDIR/libsqlite3.so.0 missing (apt-get install libsqlite3-0)" >&2
fi

gsframe=0
if as --help 2>/dev/null | grep -q -- '--gsframe' &&
	echo 'int f(int x) { return x + 1; }' | "$CC" -O2 -fPIC -shared -Wa,--gsframe -x c - -o "$tmp/probe.so" 2>/dev/null &&
	readelf -S --wide "$tmp/probe.so" | grep -q '\.sframe'; then
	gsframe=1
	echo "bench: $(as --version | head -n 1): --gsframe writes .sframe" >&2
else
	echo "bench: table.sframe.*: as here does not support --gsframe (binutils >= 2.40 does); no .sframe figures" >&2
fi

# SQLite from source: the amalgamation the symbolizer's corpus fetches
# (npm's better-sqlite3@12, cached in build/cache), or SQLITE_AMALGAMATION
if [[ -z ${SQLITE_AMALGAMATION:-} ]]; then
	# shellcheck source=tests/symbolize_diff/corpus.sh
	. tests/symbolize_diff/corpus.sh
	corpus_init "$BUILD/tests/symbolize_diff"
	corpus_sqlite_source && SQLITE_AMALGAMATION=$corpus_dir/sqlite3.c
fi
if [[ -n ${SQLITE_AMALGAMATION:-} && -r ${SQLITE_AMALGAMATION:-} ]]; then
	if ((gsframe)) && "$CC" -O2 -fPIC -shared -Wa,--gsframe -DSQLITE_THREADSAFE=1 \
		-o "$tmp/libsqlite3_src.so" "$SQLITE_AMALGAMATION" -lpthread -lm 2>"$tmp/sq.err"; then
		sizes sqlite_src "$tmp/libsqlite3_src.so"
	else
		echo "bench: building $SQLITE_AMALGAMATION with --gsframe failed: $(head -n 2 "$tmp/sq.err" 2>/dev/null)" >&2
	fi
else
	echo "bench: table.*.sqlite_src: not measured: no SQLite amalgamation (sqlite3.c):" \
		"npm pack better-sqlite3@12 failed (see corpus: above) and SQLITE_AMALGAMATION is not set" >&2
fi

if ((gsframe)); then
	# this project's library, one shared object from its sources
	mapfile -t srcs < <(find src -name '*.c' -not -path 'src/eh/*' -not -path 'src/arch/*' \
		-not -path 'src/symbolize/*' -not -path 'src/libunwind/*' | LC_ALL=C sort)
	srcs+=(src/arch/x86_64/*.c src/arch/x86_64/*.S)
	echo "bench: compiling ${#srcs[@]} library sources with -O2 -Wa,--gsframe" >&2
	if "$CC" -std=gnu11 -O2 -fPIC -shared -Iinclude -Isrc -Wa,--gsframe -o "$tmp/libstackwalk_sframe.so" \
		"${srcs[@]}" -ldl -lpthread 2>"$tmp/sw.err"; then
		sizes libstackwalk "$tmp/libstackwalk_sframe.so"
	else
		echo "bench: building libstackwalk with --gsframe failed: $(head -n 3 "$tmp/sw.err")" >&2
	fi
	"$CC" -O2 -Wa,--gsframe -o "$tmp/frames" tests/corpus/frames.c &&
		sizes frames "$tmp/frames"
	g++ -O2 -Wa,--gsframe -o "$tmp/frames_cxx" tests/corpus/frames_cxx.cc &&
		sizes frames_cxx "$tmp/frames_cxx"
fi
