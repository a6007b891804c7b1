#!/usr/bin/env bash
# Local unwinding (include/stackwalk.h, "Local unwinding"): the programs in
# tests/unwind/ built against BUILD_DIR/libstackwalk.a in several compiler and
# optimisation variants, each program x variant one test.
#
#   tests/scripts/unwind.sh BUILD_DIR MODE
#
# MODE=full  (plain build): every variant, full iteration counts.
# MODE=quick (ASan+UBSan build): a subset of variants, linked with
#            -fsanitize=address,undefined, smaller iteration counts.
#
#   sync      sw_backtrace, a cursor walk and libgcc's _Unwind_Backtrace agree
#             PC for PC at every point of a call-chain corpus (recursion,
#             alloca, VLA, realignment, tail calls, noreturn, function
#             pointers, PLT into a .so, qsort callbacks, dlopen/dlclose/reload,
#             vDSO, system calls, a signal handler; main thread + 4 threads);
#             gcc and clang x -O0..-Os x with/without frame pointers (20
#             variants; 4 in quick mode)
#   async     a 1 kHz-per-thread SIGPROF storm over the corpus in 3 threads
#             (also inside a SIGUSR1 handler): every sample's walk reaches
#             main / the thread routine and ends at the outermost frame, the
#             cursor and sw_backtrace in the handler agree (100000 samples;
#             5000 in quick mode), and again with the handlers on sigaltstacks;
#             bounded by the sample count, each thread sampled only after some
#             progress of its own, so a slow machine just takes longer
#   segv      unwinding out of SIGSEGV (call through a null pointer; on the
#             stack, a sigaltstack, in a thread, with a CFI-less restorer;
#             a stack overflow)
#   noalloc   no allocation on the unwind paths
#   corrupt   corrupted stacks end with an error code, no crash, no hang
#   resume    sw_resume into an outer frame (N = 0, 1, 2, 5, 9 frames; from
#             a signal handler)
#   regs      register, SP/CFA and procedure-info semantics (+ a C++ frame)
#   names     sw_get_proc_name after a warm-up allocates nothing, takes no
#             lock and never calls dladdr (interposed and counted), in a
#             handler too; a SIGPROF storm naming every frame while the
#             main thread forks (children name their stack) and two threads
#             dlopen/dlclose
#   reload    a module replaced at the same address by one with other unwind
#             rules, when a library (not the program) calls dlclose
#   dlrace    6 threads churn dlopen/dlclose of two such modules, each loaded
#             into the hole the other's dlclose leaves while that dlclose may
#             still be returning, and walk through them (1000 iterations per
#             thread; 300 in quick mode)
#   sources   modules with .eh_frame_hdr, with .eh_frame only, with only
#             .debug_frame, with no CFI (frame pointers): procedure info,
#             names and walks through them, each replaced at the same
#             address; 300 copies at distinct paths (more than the file-CFI
#             and name tables hold) loaded one after another, and all at
#             once (--hold)
#
# Output: one PASS/FAIL line per test (logs in BUILD_DIR/unwind/logs/), the
# tail of each failing log, and the closing line "N passed, N failed".
# The programs are built by make (mk/tests.mk: `make tests`, or
# `make test-progs-unwind`) into BUILD_DIR/tests/unwind/VARIANT/; a missing
# one fails its tests with the make command that builds it.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib unwind "$@"
t_sanitizer_env
jobs=$(nproc 2>/dev/null || echo 2)

# the variants (mk/tests.mk, one list per mode); async: NAME:SAMPLES[:altstack]
read -r -a sync_variants <<<"$(t_mkvar "UNWIND_SYNC_$mode")"
read -r -a small_variants <<<"$(t_mkvar "UNWIND_SMALL_$mode")"
read -r -a async_runs <<<"$(t_mkvar "UNWIND_ASYNC_$mode")"
sync_rounds=3
[[ $mode == full ]] || sync_rounds=1

# sources --many/--hold: copies of two modules at distinct paths, each a
# module of its own to the library
m=$progs/modules
ncopies=150      # x 2 kinds: more modules than filecfi.c (128) and names.c (256) hold
many=()
mkdir -p "$out/many"
for ((i = 1; i <= ncopies; i++)); do
	many+=("eh:$out/many/eh_$i.so" "debug:$out/many/debug_$i.so")
	cp "$m/eh_a.so" "$out/many/eh_$i.so" 2>/dev/null || true
	cp "$m/debug_a.so" "$out/many/debug_$i.so" 2>/dev/null || true
done

# ---------------------------------------------------------------- run
q() { printf '%q ' "$@"; }   # a command line, quoted
mkdir -p "$out/tests" "$out/rc"
hint=$(t_make_hint)
order=()   # test names in report order
add_test() {   # add_test NAME TIMEOUT CMD...: the program, built by make, and its arguments
	local name=$1 limit=$2
	shift 2
	order+=("$name")
	{
		echo "if [ ! -x $(q "$1") ]; then echo $(q "not built: $1"); echo $(q "  ($hint)"); exit 99; fi"
		echo "exec timeout -k 5 $limit $(q "$@")"
	} >"$out/tests/$name.sh"
}
run_tests() {   # run_tests PARALLEL NAME...
	local par=$1
	shift
	# shellcheck disable=SC2016
	printf '%s\0' "$@" | xargs -0 -P "$par" -I{} sh -c \
		'bash "$0/tests/$1.sh" >"$2/$1.log" 2>&1 </dev/null; echo $? >"$0/rc/$1"' "$out" {} "$logs"
}

for name in "${sync_variants[@]}"; do
	d=$progs/$name
	add_test "sync-$name" 900 "$d/sync" "$d/dl_a.so" "$d/dl_b.so" "$sync_rounds"
done
for name in "${small_variants[@]}"; do
	d=$progs/$name
	for p in segv noalloc corrupt resume resume_trap regs; do
		add_test "$p-$name" 600 "$d/$p"
	done
	add_test "names-$name" 900 "$d/names_signal" "$d/dl_a.so" "$d/dl_b.so"
	add_test "reload-$name" 600 "$d/reload" "$d/reload_host.so" "$m/reload_a.so" "$m/reload_b.so"
	# (with the modules of reload)
	add_test "dlrace-$name" 900 "$d/dlrace" "$m/reload_a.so" "$m/reload_b.so"
	# each kind loaded, unloaded and replaced at the same address; then kinds
	# replacing one another
	add_test "sources-hdr-$name" 600 "$d/sources" "hdr:$m/hdr_a.so" "hdr:$m/hdr_b.so" "hdr:$m/hdr_a.so"
	add_test "sources-eh-$name" 600 "$d/sources" "eh:$m/eh_a.so" "eh:$m/eh_b.so" "eh:$m/eh_a.so"
	add_test "sources-debug-$name" 600 "$d/sources" "debug:$m/debug_a.so" "debug:$m/debug_b.so" "debug:$m/debug_a.so"
	add_test "sources-fp-$name" 600 "$d/sources" "fp:$m/fp.so" "fp:$m/fp.so"
	add_test "sources-mixed-$name" 600 "$d/sources" "eh:$m/eh_a.so" "debug:$m/debug_a.so" "hdr:$m/hdr_a.so" "fp:$m/fp.so" "debug:$m/debug_b.so"
	add_test "sources-many-$name" 900 "$d/sources" "${many[@]}"
	add_test "sources-hold-$name" 900 "$d/sources" --hold "${many[@]}"
done
parallel_tests=("${order[@]}")
async_tests=()
for v in "${async_runs[@]}"; do
	IFS=: read -r name samples extra <<<"$v"
	d=$progs/$name
	name=async-$name${extra:+-$extra}
	# shellcheck disable=SC2086
	add_test "$name" 1200 "$d/async" "$d/dl_a.so" "$samples" $extra
	async_tests+=("$name")
done

t0=$SECONDS
run_tests "$jobs" "${parallel_tests[@]}"
# async alone: it samples on wall-clock timers, other tests would starve it
run_tests 1 "${async_tests[@]}"
echo "unwind: ran in $((SECONDS - t0)) s"

for name in "${order[@]}"; do
	rc=$(cat "$out/rc/$name" 2>/dev/null || echo 98)
	t_verdict "$name" "$rc" "$logs/$name.log"
	if [[ $name == async-* ]]; then
		grep -h -e '^async: [0-9]* samples' -e '^async:   ' "$logs/$name.log" | sed 's/^/       /' || true
	fi
done

t_failed_tails 40
t_finish
