#!/usr/bin/env bash
# tests/summary.sh FILE...: add up the test-results.txt files written by
# tests/run.sh and print one "N passed, N failed" line: the closing line of
# `make check` that CI reads.  Exits 1 if anything failed or a file is missing
# (a missing or unreadable file counts as one failure, so the line agrees).
set -euo pipefail

pass=0 fail=0
for file in "$@"; do
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$file" 2>/dev/null | tail -n 1 || true)
	if [[ -z $line ]]; then
		echo "summary: no results in '$file'" >&2
		fail=$((fail + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#* passed, }; f=${f%% failed*}
	pass=$((pass + p)) fail=$((fail + f))
done

echo "$pass passed, $fail failed"
((fail == 0))
