#!/usr/bin/env bash
# Run the whole test suite for one build directory:
#   tests/run.sh BUILD_DIR MODE [NAME...]  (MODE: full = plain build, quick = ASan+UBSan)
# NAMEs (or TESTS="jit limits" / TESTS=jit,limits in the environment, as
# `make check TESTS=...` passes it) run only those: a script of
# tests/scripts/ without .sh, a unit test (test_cfi), or `unit` for every
# unit test.  Without any, everything runs.
# Runs BUILD_DIR/tests/test_* (unit tests), then tests/scripts/*.sh, each logged
# to BUILD_DIR/logs/NAME.log; adds up their closing "N passed, N failed" lines,
# prints the total alone as the last line (the line CI reads) and writes it to
# BUILD_DIR/test-results.txt for tests/summary.sh.  Exits 1 on any failure.
set -euo pipefail

if (($# < 2)); then
	echo "usage: $0 BUILD_DIR full|quick [NAME...]" >&2
	exit 2
fi
mode=$2
[[ $mode == full || $mode == quick ]] || { echo "$0: MODE must be full or quick, got '$mode'" >&2; exit 2; }
[[ -d $1 ]] || { echo "$0: no build directory '$1'" >&2; exit 2; }
# Absolute, so it stays valid after we cd to the repo root (the scripts are
# addressed as tests/scripts/NAME.sh from there).
build=$(cd "$1" && pwd)
shift 2
cd "$(dirname "$0")/.."

# the selection: arguments, else $TESTS (spaces or commas)
declare -A want=()
selected=("$@")
((${#selected[@]})) || IFS=', ' read -r -a selected <<<"${TESTS:-}"
for n in "${selected[@]}"; do
	[[ -n $n ]] || continue
	n=${n%.sh}
	if [[ $n != unit && ! -f tests/scripts/$n.sh && ! -f tests/unit/$n.c ]]; then
		echo "$0: no test '$n' (names: unit, $(cd tests/unit && printf '%s ' test_*.c | sed 's/\.c//g')$(cd tests/scripts && printf '%s ' *.sh | sed 's/\.sh//g'))" >&2
		exit 2
	fi
	want[$n]=1
done
# wanted NAME [unit]: NAME is selected (or nothing is)
wanted() {
	((${#want[@]} == 0)) || [[ -n ${want[$1]:-} ]] || [[ -n ${2:-} && -n ${want[unit]:-} ]]
}

logs=$build/logs
mkdir -p "$logs"
export SW_TEST_MODE=$mode
# A hung test must not eat CI's whole time budget; override if needed.  A
# script runs many programs, each under its own limit: this one only catches
# a hang, and must not cut a whole script short on a slow, busy machine.
per_test_timeout=${SW_TEST_TIMEOUT:-1800}

total_pass=0 total_fail=0 ran=0
failed_logs=()

# run_one NAME CMD...: run CMD with its output in logs/NAME.log, record its counts.
run_one() {
	local name=$1; shift
	local log=$logs/$name.log rc=0 closing p f note="" t0=$SECONDS
	timeout -k 10 "$per_test_timeout" "$@" >"$log" 2>&1 </dev/null || rc=$?
	closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
	if [[ -n $closing ]]; then
		p=${closing%% passed*}
		f=${closing#* passed, }; f=${f%% failed*}
	else
		p=0 f=0 note=" (no closing line)"
	fi
	# A crash, sanitizer report or timeout after (or instead of) the closing
	# line still counts: make sure it shows as at least one failure.
	if ((rc != 0)); then
		if ((rc == 124)); then
			note+=" (timed out after ${per_test_timeout}s)"
		else
			note+=" (exit $rc)"
		fi
		((f > 0)) || f=1
	fi
	# the seconds it took: what keeps `make check` within its budget
	printf '  %-20s %d passed, %d failed%s  [%d s]\n' "$name" "$p" "$f" "$note" $((SECONDS - t0))
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	ran=$((ran + 1))
	((f == 0)) || failed_logs+=("$log")
}

shopt -s nullglob
for t in "$build"/tests/test_*; do
	# Skip the compiler's .d dependency files and anything else non-runnable.
	[[ -f $t && -x $t ]] || continue
	wanted "$(basename "$t")" unit || continue
	run_one "$(basename "$t")" "$t"
done
mapfile -t scripts < <(printf '%s\n' tests/scripts/*.sh | LC_ALL=C sort)
for s in "${scripts[@]}"; do
	[[ -n $s ]] || continue
	wanted "$(basename "$s" .sh)" || continue
	run_one "$(basename "$s" .sh)" "$s" "$build" "$mode"
done

((ran > 0)) || echo "warning: no tests found in $build/tests or tests/scripts" >&2

for log in "${failed_logs[@]}"; do
	echo
	echo "---- last 100 lines of $log ----"
	tail -n 100 "$log"
done
((${#failed_logs[@]} == 0)) || echo

result="$total_pass passed, $total_fail failed"
echo "$result" >"$build/test-results.txt"
echo "$result"
((total_fail == 0))
