#!/usr/bin/env bash
# The JIT registry (include/stackwalk/jit.h, "JIT registry") against code
# generated at run time by tests/jit/emit.c: the programs tests/jit/jit_*.c
# built against BUILD_DIR/libstackwalk.a in several compiler and
# optimisation variants, each program x variant one test.
#
#   tests/scripts/jit.sh BUILD_DIR MODE
#
# MODE=full  (plain build): gcc and clang at -O0 and -O2, full counts, and
#            jit_concur again with the library under ThreadSanitizer (3 x
#            10^4 procedures: the interleavings, not the volume).
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
# The programs are built by make (mk/tests.mk: `make tests`, or
# `make test-progs-jit`, with -Werror: a warning fails the build, so its
# tests) into BUILD_DIR/tests/jit/VARIANT/; a missing one fails its test
# with the make command that builds it.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib jit "$@"
t_sanitizer_env
read -r -a variants <<<"$(t_mkvar "JIT_VARIANTS_$mode")"

# ---------------------------------------------------------------- run
# run NAME TIMEOUT CMD...: one test, run in BUILD_DIR/jit; a TSan report
# fails it too
run() {
	local name=$1 limit=$2 rc=0
	shift 2
	local log=$logs/$name.log
	if ! t_built "$1" >"$log" 2>&1; then
		rc=99
	else
		(cd "$out" && t_timeout "$limit" "$@") >"$log" 2>&1 </dev/null || rc=$?
		if grep -q "WARNING: ThreadSanitizer" "$log"; then
			((rc != 0)) || rc=97
		fi
	fi
	t_verdict "$name" "$rc" "$log"
	grep -h -e '^jit_async: storm' -e '^jit_async: control' -e 'single-step traps' \
		-e '^jit_concur: churned' -e '^jit_sync: [0-9]* walks' "$log" | sed 's/^/       /' || true
}

t0=$SECONDS
for name in "${variants[@]}"; do
	d=$progs/$name
	run "sync-$name" 600 "$d/jit_sync"
	run "async-$name" 1200 "$d/jit_async"
	run "concur-$name" 900 "$d/jit_concur"
	run "bad-$name" 600 "$d/jit_bad"
done
if [[ $mode == full ]]; then
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
		run "concur-tsan" 600 "$progs/tsan/jit_concur" 30000
fi
echo "jit: ran in $((SECONDS - t0)) s"

t_failed_tails 40
t_finish
