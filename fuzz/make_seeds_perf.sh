#!/usr/bin/env bash
# Regenerate the seed inputs of fuzz/corpus/perf/ (files named seed-*):
# small perf.data files of tests/perf/chain.c recorded with
# `perf record --call-graph dwarf,4096 -e cpu-clock -F 999`, in file and
# pipe mode, each kept under 200 KB (fuzz_perf's -max_len is larger).
# Needs gcc and perf with permission to record (perf_event_paranoid <= 2
# for one's own processes).  Inputs the fuzzer added are left alone.
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=fuzz/corpus/perf
MAX=$((200 * 1024))
mkdir -p "$DIR"
rm -f "$DIR"/seed-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc -O2 -g -fomit-frame-pointer -o "$tmp/chain" tests/perf/chain.c

# record NAME SECONDS [perf record options...]: one seed, cut to MAX
record() {
	local name=$1 secs=$2
	shift 2
	if ! perf record -q -e cpu-clock -F 999 --call-graph dwarf,4096 "$@" \
		-o "$tmp/$name" -- "$tmp/chain" "$secs" >/dev/null 2>"$tmp/err"; then
		echo "make_seeds_perf: perf record failed:" >&2
		cat "$tmp/err" >&2
		exit 1
	fi
	if (($(stat -c %s "$tmp/$name") > MAX)); then
		echo "make_seeds_perf: $name is over $MAX bytes; lower its duration" >&2
		exit 1
	fi
	cp "$tmp/$name" "$DIR/seed-$name"
}

record file-short 0.01
record file-1k 0.02 --call-graph dwarf,1024
# pipe mode: attrs and features as records
perf record -q -e cpu-clock -F 999 --call-graph dwarf,2048 -o - -- "$tmp/chain" 0.01 \
	>"$tmp/pipe" 2>/dev/null
(($(stat -c %s "$tmp/pipe") <= MAX)) && cp "$tmp/pipe" "$DIR/seed-pipe"
# a header alone (no samples)
head -c 4096 "$DIR/seed-file-short" >"$DIR/seed-head"
ls -l "$DIR"/seed-* >&2
