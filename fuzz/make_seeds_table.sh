#!/usr/bin/env bash
# Regenerate the seed inputs of fuzz/corpus/table/ (files named seed-*):
#
#   seed-cfi-*    the CFI corpus's seeds (fuzz/corpus/cfi/seed-*, made by
#                 fuzz/make_seeds.sh): fuzz_table.c reads CFI inputs in
#                 fuzz_cfi.c's layout, so they build tables as they are
#   seed-blob-*   flag byte 0x80 + a table blob written by `stackwalk table
#                 --out` (/bin/true, the hand-written CFI object), for the
#                 sw_table_check side
#
#   fuzz/make_seeds_table.sh [BUILD_DIR]   (default build/out: its stackwalk)
#
# Inputs the fuzzer added (not seed-*) are left alone.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
OUT=fuzz/corpus/table
MAXLEN=4096          # fuzz/run.sh's -max_len for table
tool=$BUILD/stackwalk
[[ -x $tool ]] || { echo "$0: no $tool (make tools)" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/seed-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
for f in fuzz/corpus/cfi/seed-*; do
	[[ -f $f ]] || continue
	cp "$f" "$OUT/seed-cfi-$(basename "${f#fuzz/corpus/cfi/seed-}")"
	n=$((n + 1))
done

blob() {   # blob NAME FILE
	"$tool" table --out "$tmp/$1.tbl" "$2" >/dev/null
	if (($(stat -c %s "$tmp/$1.tbl") + 1 > MAXLEN)); then
		echo "$0: the table of $2 is over $MAXLEN bytes, not a seed" >&2
		return 0
	fi
	{ printf '\x80'; cat "$tmp/$1.tbl"; } >"$OUT/seed-blob-$1"
	n=$((n + 1))
}
gcc -c -o "$tmp/handcfi.o" tests/corpus/handcfi.S
blob handcfi "$tmp/handcfi.o"
gcc -O2 -o "$tmp/frames" tests/corpus/frames.c
blob frames "$tmp/frames"
echo "$OUT: $n seeds" >&2
