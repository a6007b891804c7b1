#!/usr/bin/env bash
# `stackwalk perf` against `perf script` on the same perf.data, and on
# broken copies of it.
#
#   1. tests/perf/chain.c (-O2 -g, no frame pointers, main -> level_0 ..
#      level_11 -> spin, with an inlined helper) recorded with
#      `perf record -e cpu-clock -F 499 --call-graph dwarf`; both tools
#      print it, compared sample by sample (tests/perf/compare.py): the
#      same headers, and wherever perf's unwinder reaches main the same
#      frames (addresses, names, DSOs) down to main and the same addresses
#      below it; where perf's chain stops before main, perf's frames must
#      begin ours, and how often ours goes further is counted (both
#      counts are printed).
#      The same for tests/perf/methods.cc: C++ names as perf prints them
#      (demangled without parameters or clone suffixes).
#      And for tests/perf/vdso.c, whose samples are mostly in the vDSO
#      (stackwalk reads its code from perf's build-id cache, as perf does).
#   2. the same with an 1 KiB stack copy (dwarf,1024): every walk is cut
#      by the copy, and stackwalk must say so (its "cut by the stack copy"
#      count) and still agree with perf's frames.
#   3. bad input: a small recording cut at record boundaries (the header
#      then says the data runs past the end), cut inside a record with the
#      header patched to match, and bit-flipped (fixed seed, in the
#      headers and record fields): `stackwalk perf` must end each time
#      (timeout), without a signal or a sanitizer report, and with a
#      "stackwalk perf: ..." message whenever it exits non-zero.
#
# When perf cannot record here (no permission: perf_event_paranoid, no
# events in a container) the script says so and counts nothing.  Quick
# mode (the ASan build): shorter recordings, fewer broken copies.
#
#   tests/scripts/perf_script.sh BUILD_DIR full|quick
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh perf_script "$@"
t_sanitizer_env
t_need perf gcc python3

tool=$build/stackwalk
[[ -x $tool ]] || t_abort "no $tool (make tools builds it)"
helper=tests/perf/compare.py

if [[ $mode == quick ]]; then
	secs=0.3 cuts=25 flips=25
else
	secs=1 cuts=150 flips=200
fi

prog=$out/chain
if ! gcc -O2 -g -fomit-frame-pointer -Wall -Wextra -o "$prog" tests/perf/chain.c \
	>"$logs/build.log" 2>&1; then
	bad build "$logs/build.log"
	t_finish
	exit
fi

# record FILE SECONDS [perf record options]: 0, or 1 when perf cannot record
record() {
	local file=$1 s=$2
	shift 2
	perf record -q -e cpu-clock "$@" -o "$file" -- "$prog" "$s" >"$logs/record.log" 2>&1 &&
		[[ -s $file ]]
}

if ! record "$out/full.data" "$secs" -F 499 --call-graph dwarf; then
	echo "perf_script: perf record cannot record here; skipped:"
	sed 's/^/    /' "$logs/record.log" | head -n 5
	echo "0 passed, 0 failed"
	exit 0
fi

# compare NAME DATA [compare.py options]: one test
compare() {
	local name=$1 data=$2 rc
	shift 2
	t_timeout 300 "$tool" perf -i "$data" >"$out/$name.sw" 2>"$logs/$name.sw.err"
	rc=$?
	if ((rc != 0)); then
		echo "stackwalk perf exited $rc" >>"$logs/$name.sw.err"
		bad "$name" "$logs/$name.sw.err"
		return
	fi
	perf script -i "$data" >"$out/$name.perf" 2>"$logs/$name.perf.err"
	if python3 "$helper" "$out/$name.perf" "$out/$name.sw" "$logs/$name.sw.err" "$@" \
		>"$logs/$name.log" 2>&1; then
		ok "$name"
	else
		bad "$name" "$logs/$name.log"
	fi
	sed -n 's/^summary: /    /p' "$logs/$name.log"
}

compare same_chains "$out/full.data" --min-main 0.5
if ! command -v g++ >/dev/null; then
	skip cxx_names "no g++"
elif ! g++ -O2 -g -fomit-frame-pointer -Wall -Wextra -o "$out/methods" tests/perf/methods.cc \
	>"$logs/build_cxx.log" 2>&1; then
	bad cxx_build "$logs/build_cxx.log"
elif prog=$out/methods record "$out/cxx.data" 0.3 -F 499 --call-graph dwarf; then
	compare cxx_names "$out/cxx.data" --min-main 0.5
else
	skip cxx_names "perf record of the C++ program failed"
fi
if ! gcc -O2 -g -fomit-frame-pointer -Wall -Wextra -o "$out/vdso" tests/perf/vdso.c \
	>"$logs/build_vdso.log" 2>&1; then
	bad vdso_build "$logs/build_vdso.log"
elif prog=$out/vdso record "$out/vdso.data" 0.3 -F 499 --call-graph dwarf; then
	compare vdso_frames "$out/vdso.data" --min-main 0.5 --want-dso '[vdso]'
else
	skip vdso_frames "perf record of the vDSO program failed"
fi
# python3 (a real interpreter: deep C stacks, ld.so at start-up) where
# perf's own unwinder often stops early: both counts, and stackwalk must
# reach main at least as often as perf does (the chains are not compared
# frame by frame: perf's early stops are where it is wrong)
if [[ $mode == quick ]]; then
	skip python_counts "quick mode: the plain build's run counts"
elif ! command -v python3 >/dev/null; then
	skip python_counts "no python3"
elif perf record -q -e cpu-clock -F 499 --call-graph dwarf -o "$out/py.data" -- python3 -c '
def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
import json
for i in range(3): fib(20); json.dumps(list(range(20000)))' >"$logs/py_record.log" 2>&1 &&
	[[ -s $out/py.data ]]; then
	if t_timeout 300 "$tool" perf -i "$out/py.data" >"$out/py.sw" 2>"$logs/py.sw.err"; then
		perf script -i "$out/py.data" >"$out/py.perf" 2>/dev/null
		python3 "$helper" "$out/py.perf" "$out/py.sw" "$logs/py.sw.err" >"$logs/py.log" 2>&1
		sum=$(sed -n 's/^summary: //p' "$logs/py.log")
		pm=$(sed -n 's/.*perf reaches main in \([0-9]*\), stackwalk in \([0-9]*\);.*/\1/p' <<<"$sum")
		sm=$(sed -n 's/.*perf reaches main in \([0-9]*\), stackwalk in \([0-9]*\);.*/\2/p' <<<"$sum")
		if [[ -n $pm && -n $sm ]] && ((sm >= pm)); then
			ok "python_counts: stackwalk reaches main in $sm samples, perf in $pm"
		else
			bad python_counts "$logs/py.log"
		fi
		echo "    $sum"
	else
		bad python_counts "$logs/py.sw.err"
	fi
else
	skip python_counts "perf record of python3 failed"
fi
if record "$out/short.data" 0.2 -F 499 --call-graph dwarf,1024; then
	compare stack_copy_cut "$out/short.data" --min-cut 0.5
else
	skip stack_copy_cut "perf record --call-graph dwarf,1024 failed"
fi

# ------------------------------------------------------------ bad input

if ! record "$out/small.data" 0.1 -F 999 --call-graph dwarf,2048; then
	bad bad_input_recording "$logs/record.log"
	t_finish
	exit
fi
mkdir -p "$out/bad"
# a few kernel symbols: reading all of /proc/kallsyms is most of a short run
head -n 2000 /proc/kallsyms >"$out/kallsyms" 2>/dev/null || : >"$out/kallsyms"
rm -f "$out/bad"/*
python3 "$helper" --make-broken "$out/small.data" "$out/bad" "$cuts" "$flips" \
	>"$logs/make_broken.log" 2>&1 || { bad make_broken "$logs/make_broken.log"; t_finish; exit; }

# run_broken KIND: every $out/bad/KIND-* file through the tool
run_broken() {
	local kind=$1 f rc opt n=0 errors=0 clean=0 problems=0 log=$logs/bad_$1.log
	: >"$log"
	for f in "$out/bad/$kind"-*; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		# every other one without names: the reader and the unwinder are
		# what is tested, and symbolizing is most of a run's time
		opt=(--kallsyms="$out/kallsyms")
		((n % 2)) || opt+=(--no-symbols)
		t_timeout 60 "$tool" perf "${opt[@]}" -i "$f" >/dev/null 2>"$out/bad.err"
		rc=$?
		if ((rc == 124 || rc >= 128)) ||
			grep -qE 'Sanitizer|runtime error:' "$out/bad.err"; then
			problems=$((problems + 1))
			{
				echo "$f: exit $rc"
				tail -n 20 "$out/bad.err"
			} >>"$log"
		elif ((rc != 0)); then
			if grep -q '^stackwalk perf: .*perf.data: ' "$out/bad.err"; then
				errors=$((errors + 1))
			else
				problems=$((problems + 1))
				{
					echo "$f: exit $rc without a message"
					cat "$out/bad.err"
				} >>"$log"
			fi
		else
			clean=$((clean + 1))
		fi
		# a cut before the end of the data must be reported
		if [[ $kind == cut* ]] && ((rc == 0)); then
			problems=$((problems + 1))
			echo "$f: a truncated file read without an error" >>"$log"
		fi
	done
	echo "    $kind: $n files: $errors rejected with a message, $clean read," \
		"$problems crashed, hung or failed silently"
	if ((n > 0 && problems == 0)); then ok "bad_input_$kind"; else bad "bad_input_$kind" "$log"; fi
}
run_broken cut
run_broken cutin
run_broken flip

t_finish
