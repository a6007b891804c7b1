#!/usr/bin/env bash
# The JIT registry (include/stackwalk/jit.h, "JIT registry") against code
# generated at run time by tests/jit/emit.c: the programs tests/jit/jit_*.c
# built against BUILD_DIR/libstackwalk.a in several compiler and
# optimisation variants, each program x variant one test.
#
#   tests/scripts/jit.sh BUILD_DIR MODE
#
# MODE=full  (plain build): gcc and clang at -O0 and -O2, full counts, and
#            jit_concur again with the library under ThreadSanitizer.
# MODE=quick (sanitizer build): two variants, smaller counts.
# When BUILD_DIR is the sanitizer build (its name contains "san") the
# programs get -fsanitize=address,undefined.
#
#   sync    main -> C -> 12 generated functions -> C: a cursor walk and
#           sw_backtrace pass every JIT frame in order, with names, exact
#           ranges and callee-saved registers, down to main, for every
#           registration form (.eh_frame, add_procs x 3 kinds, table x 3,
#           callback x 3); tables before/after publish; sw_jit_move;
#           sw_jit_remove (names gone, second removal SW_EBADHANDLE)
#   async   single-stepping (EFLAGS.TF) through the chain: the walk from
#           every instruction (prologues and epilogues included) is exact,
#           for every form; a wrong description is caught (control); a
#           10 kHz SIGPROF storm over a long-running chain, every form
#   concur  3 threads walk 10 permanently registered chains while the main
#           thread adds, moves and removes 10^5 procedures of every form
#           next to them; also under TSan (full mode)
#   bad     malformed registrations give error codes, never crashes
#
# Output: one PASS/FAIL line per test (logs in BUILD_DIR/jit/logs/), the
# sample counts, the tail of each failing log, and "N passed, N failed".
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR full|quick" >&2
	exit 2
fi
mode=$2
[[ $mode == full || $mode == quick ]] || { echo "$0: MODE must be full or quick" >&2; exit 2; }
[[ -f $1/libstackwalk.a ]] || { echo "$0: no $1/libstackwalk.a" >&2; exit 2; }
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
src=$root/tests/jit
out=$build/jit
logs=$out/logs
rm -rf "$out"
mkdir -p "$out" "$logs"
lib=$build/libstackwalk.a
jobs=$(nproc 2>/dev/null || echo 2)

warn=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
san=()
case $(basename "$build") in
*san*)
	# shellcheck disable=SC2054  # the comma belongs to the option
	san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
	;;
esac
export SW_TEST_MODE=$mode

# NAME:CC:FLAGS (FLAGS comma-separated)
if [[ $mode == full ]]; then
	variants=("gcc-O0:gcc:-O0,-fno-omit-frame-pointer"
		  "gcc-O2:gcc:-O2,-fomit-frame-pointer"
		  "clang-O0:clang:-O0,-fno-omit-frame-pointer"
		  "clang-O2:clang:-O2,-fomit-frame-pointer")
else
	variants=("gcc-O2:gcc:-O2,-fomit-frame-pointer"
		  "clang-O0:clang:-O0,-fno-omit-frame-pointer")
fi
programs=(sync async concur bad)

# ---------------------------------------------------------------- build
mkdir -p "$out/jobs"
q() { printf '%q ' "$@"; }
job() {   # job NAME: the commands come on stdin
	{ echo 'set -e'; cat; } >"$out/jobs/$1.sh"
}
for v in "${variants[@]}"; do
	IFS=: read -r name cc flags <<<"$v"
	IFS=, read -r -a f <<<"$flags"
	mkdir -p "$out/$name"
	for p in "${programs[@]}"; do
		job "$p-$name" <<<"$(q "$cc" -std=gnu11 -g "-I$root/include" "-I$src" "${warn[@]}" "${f[@]}" \
			"${san[@]}" "$src/jit_$p.c" "$src/emit.c" "$lib" -ldl -lpthread -o "$out/$name/jit_$p")"
	done
done
if [[ $mode == full ]]; then
	# the library's sources compiled with the test under TSan (as tsan.sh)
	mkdir -p "$out/tsan"
	mapfile -t lib_srcs < <(find "$root/src" -name '*.c' -o -name '*.S' | LC_ALL=C sort)
	job "concur-tsan" <<<"$(q clang -std=gnu11 -g -O1 -fsanitize=thread "-I$root/include" \
		"-I$root/src" "-I$src" "$src/jit_concur.c" "$src/emit.c" "${lib_srcs[@]}" -ldl -lpthread \
		-o "$out/tsan/jit_concur")"
fi

t0=$SECONDS
echo "jit: $(find "$out/jobs" -name '*.sh' | wc -l) builds, $jobs at a time"
# shellcheck disable=SC2016
find "$out/jobs" -name '*.sh' -print0 | sort -z |
	xargs -0 -P "$jobs" -I{} sh -c 'bash "$1" >"${1%.sh}.log" 2>&1 || echo "build failed" >>"${1%.sh}.log"' _ {}
echo "jit: built in $((SECONDS - t0)) s"

# ---------------------------------------------------------------- run
pass=0 fail=0
failed=()
# run NAME BUILDJOB TIMEOUT CMD...: one test; a build warning fails it too
run() {
	local name=$1 buildjob=$2 limit=$3 rc=0
	shift 3
	local log=$logs/$name.log
	if [[ ! -x $1 ]]; then
		{ echo "not built:"; cat "$out/jobs/$buildjob.log"; } >"$log"
		rc=99
	else
		(cd "$out" && timeout -k 5 "$limit" "$@") >"$log" 2>&1 </dev/null || rc=$?
		if grep -q "warning:" "$out/jobs/$buildjob.log"; then
			{ echo "build warnings:"; cat "$out/jobs/$buildjob.log"; } >>"$log"
			((rc != 0)) || rc=98
		fi
		if grep -q "WARNING: ThreadSanitizer" "$log"; then
			((rc != 0)) || rc=97
		fi
	fi
	((rc == 124)) && echo "TIMEOUT" >>"$log"
	if ((rc == 0)); then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc)"
		failed+=("$name")
	fi
	grep -h -e '^jit_async: storm' -e '^jit_async: control' -e 'single-step traps' \
		-e '^jit_concur: churned' -e '^jit_sync: [0-9]* walks' "$log" | sed 's/^/       /' || true
}

t0=$SECONDS
for v in "${variants[@]}"; do
	IFS=: read -r name _ <<<"$v"
	d=$out/$name
	run "sync-$name" "sync-$name" 600 "$d/jit_sync"
	run "async-$name" "async-$name" 1200 "$d/jit_async"
	run "concur-$name" "concur-$name" 900 "$d/jit_concur"
	run "bad-$name" "bad-$name" 600 "$d/jit_bad"
done
if [[ $mode == full ]]; then
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
		run "concur-tsan" "concur-tsan" 600 "$out/tsan/jit_concur"
fi
echo "jit: ran in $((SECONDS - t0)) s"

for name in "${failed[@]}"; do
	echo
	echo "---- $name: last 40 lines of $logs/$name.log ----"
	tail -n 40 "$logs/$name.log"
done
((${#failed[@]} == 0)) || echo

echo "$pass passed, $fail failed"
((fail == 0))
