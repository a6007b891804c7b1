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
src=$root/tests/unwind
out=$build/unwind
logs=$out/logs
rm -rf "$out"
mkdir -p "$out" "$logs"
lib=$build/libstackwalk.a
jobs=$(nproc 2>/dev/null || echo 2)

warn=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
san=()
if [[ $mode == quick ]]; then
	# shellcheck disable=SC2054  # the comma belongs to the option
	san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
	export SW_TEST_MODE=quick
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
else
	export SW_TEST_MODE=full
fi

# ---------------------------------------------------------------- variants
# NAME:CC:FLAGS (FLAGS: comma-separated); async adds :SAMPLES:[altstack]
if [[ $mode == full ]]; then
	sync_variants=()
	for cc in gcc clang; do
		for o in O0 O1 O2 O3 Os; do
			sync_variants+=("$cc-$o-fp:$cc:-$o,-fno-omit-frame-pointer")
			sync_variants+=("$cc-$o-nofp:$cc:-$o,-fomit-frame-pointer")
		done
	done
	small_variants=("gcc-O0-fp:gcc:-O0,-fno-omit-frame-pointer"
			"gcc-O2-nofp:gcc:-O2,-fomit-frame-pointer"
			"clang-O1-nofp:clang:-O1,-fomit-frame-pointer"
			"clang-O3-fp:clang:-O3,-fno-omit-frame-pointer")
	async_runs=("gcc-O2-nofp:gcc:-O2,-fomit-frame-pointer:100000:"
		    "clang-O1-fp:clang:-O1,-fno-omit-frame-pointer:20000:altstack")
	sync_rounds=3
else
	sync_variants=("gcc-O0-fp:gcc:-O0,-fno-omit-frame-pointer"
		       "gcc-O2-nofp:gcc:-O2,-fomit-frame-pointer"
		       "clang-O2-nofp:clang:-O2,-fomit-frame-pointer"
		       "clang-O3-fp:clang:-O3,-fno-omit-frame-pointer")
	small_variants=("gcc-O1-nofp:gcc:-O1,-fomit-frame-pointer"
			"clang-O2-fp:clang:-O2,-fno-omit-frame-pointer")
	async_runs=("gcc-O1-nofp:gcc:-O1,-fomit-frame-pointer:5000:"
		    "clang-O2-fp:clang:-O2,-fno-omit-frame-pointer:2000:altstack")
	sync_rounds=1
fi

cxx_of() { [[ $1 == clang ]] && echo clang++ || echo g++; }

# ---------------------------------------------------------------- build
# Each build step and each test is a small script; they run $jobs at a time.
mkdir -p "$out/jobs" "$out/tests" "$out/rc"
job() {   # job NAME: the commands come on stdin
	{ echo 'set -e'; cat; } >"$out/jobs/$1.sh"
}
q() { printf '%q ' "$@"; }   # a command line, quoted

common=(-std=gnu11 -g "-I$root/include" "-I$src" "${warn[@]}")
link_libs=("$lib" -ldl -lpthread)

for v in "${sync_variants[@]}"; do
	IFS=: read -r name cc flags <<<"$v"
	IFS=, read -r -a f <<<"$flags"
	d=$out/sync-$name
	mkdir -p "$d"
	cflags=("${common[@]}" "${f[@]}" "${san[@]}")
	job "sync-$name" <<EOS
$(q "$cc" "${cflags[@]}" -fPIC -shared "$src/chain_so.c" -o "$d/libchain_so.so")
$(q "$cc" "${cflags[@]}" -fPIC -shared "$src/chain_dl.c" -o "$d/dl_a.so")
$(q "$cc" "${cflags[@]}" -DDL_PAD=48 -fPIC -shared "$src/chain_dl.c" -o "$d/dl_b.so")
$(q "$cc" "${cflags[@]}" "$src/sync.c" "$src/chains.c" "-L$d" -lchain_so "-Wl,-rpath,$d" -rdynamic \
	"${link_libs[@]}" -o "$d/sync")
EOS
done

for v in "${async_runs[@]}"; do
	IFS=: read -r name cc flags samples extra <<<"$v"
	IFS=, read -r -a f <<<"$flags"
	name=async-$name${extra:+-$extra}
	d=$out/$name
	mkdir -p "$d"
	cflags=("${common[@]}" "${f[@]}" "${san[@]}")
	job "$name" <<EOS
$(q "$cc" "${cflags[@]}" -fPIC -shared "$src/chain_so.c" -o "$d/libchain_so.so")
$(q "$cc" "${cflags[@]}" -fPIC -shared "$src/chain_dl.c" -o "$d/dl_a.so")
$(q "$cc" "${cflags[@]}" "$src/async.c" "$src/chains.c" "-L$d" -lchain_so "-Wl,-rpath,$d" \
	"${link_libs[@]}" -o "$d/async")
EOS
done

for v in "${small_variants[@]}"; do
	IFS=: read -r name cc flags <<<"$v"
	IFS=, read -r -a f <<<"$flags"
	cxx=$(cxx_of "$cc")
	d=$out/$name
	mkdir -p "$d"
	cflags=("${common[@]}" "${f[@]}" "${san[@]}")
	for p in segv noalloc corrupt resume resume_trap; do
		job "$p-$name" <<<"$(q "$cc" "${cflags[@]}" "$src/$p.c" "${link_libs[@]}" -o "$d/$p")"
	done
	job "regs-$name" <<EOS
$(q "$cxx" -g -Wall -Wextra -Wshadow "${f[@]}" "${san[@]}" -c "$src/regs_cxx.cc" -o "$d/regs_cxx.o")
$(q "$cc" "${cflags[@]}" -c "$src/regs.c" -o "$d/regs.o")
$(q "$cxx" "${f[@]}" "${san[@]}" "$d/regs.o" "$d/regs_cxx.o" "${link_libs[@]}" -o "$d/regs")
EOS
	job "names-$name" <<EOS
$(q "$cc" "${cflags[@]}" -fPIC -shared "$src/chain_dl.c" -o "$d/names_a.so")
$(q "$cc" "${cflags[@]}" -DDL_PAD=48 -fPIC -shared "$src/chain_dl.c" -o "$d/names_b.so")
$(q "$cc" "${cflags[@]}" "$src/names_signal.c" "${link_libs[@]}" -o "$d/names_signal")
EOS
	# the replaced modules: gcc -O2 -fomit-frame-pointer, so that their call
	# sites share PCs and differ in CFA offsets (not instrumented: a gcc ASan
	# module cannot load into a clang ASan program)
	job "reload-$name" <<EOS
$(q gcc -O2 -fomit-frame-pointer -fPIC -shared "$src/chain_dl.c" -o "$d/reload_a.so")
$(q gcc -O2 -fomit-frame-pointer -DDL_PAD=48 -fPIC -shared "$src/chain_dl.c" -o "$d/reload_b.so")
$(q "$cc" "${cflags[@]}" -fPIC -shared "$src/reload_host.c" -o "$d/reload_host.so")
$(q "$cc" "${cflags[@]}" "$src/reload.c" "${link_libs[@]}" -o "$d/reload")
EOS
	job "dlrace-$name" <<<"$(q "$cc" "${cflags[@]}" "$src/dlrace.c" "${link_libs[@]}" -o "$d/dlrace")"
done

# sources: one set of modules (gcc, not instrumented), the program per variant
m=$out/modules
ncopies=150      # x 2 kinds: more modules than filecfi.c (128) and names.c (256) hold
many=()
for ((i = 1; i <= ncopies; i++)); do
	many+=("eh:$m/many/eh_$i.so" "debug:$m/many/debug_$i.so")
done
mkdir -p "$m"
{
	for v in a b; do
		pad=16
		[[ $v == b ]] && pad=48
		base=(gcc -O2 -fomit-frame-pointer "-DMOD_PAD=$pad" -fPIC -shared "$src/src_mod.c")
		q "${base[@]}" -o "$m/hdr_$v.so"; echo
		q "${base[@]}" -Wl,--no-eh-frame-hdr -o "$m/eh_$v.so"; echo
		q "${base[@]}" -fno-asynchronous-unwind-tables -fno-unwind-tables -g -o "$m/debug_$v.so"; echo
	done
	q gcc -O2 -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-unwind-tables -g0 \
		-fPIC -shared "$src/src_mod.c" -o "$m/fp.so"; echo
	# copies at distinct paths: each is a module of its own to the library
	echo "many=$(q "$m/many"); mkdir -p \"\$many\""
	echo "for i in \$(seq $ncopies); do cp $(q "$m/eh_a.so") \"\$many/eh_\$i.so\";" \
	     "cp $(q "$m/debug_a.so") \"\$many/debug_\$i.so\"; done"
} | job modules
for v in "${small_variants[@]}"; do
	IFS=: read -r name cc flags <<<"$v"
	IFS=, read -r -a f <<<"$flags"
	job "sources-$name" <<<"$(q "$cc" "${common[@]}" "${f[@]}" "${san[@]}" "$src/sources.c" \
		"${link_libs[@]}" -o "$out/$name/sources")"
done

t0=$SECONDS
echo "unwind: $(find "$out/jobs" -name '*.sh' | wc -l) builds, $jobs at a time"
# shellcheck disable=SC2016
find "$out/jobs" -name '*.sh' -print0 | sort -z |
	xargs -0 -P "$jobs" -I{} sh -c 'bash "$1" >"${1%.sh}.log" 2>&1 || echo "build failed" >>"${1%.sh}.log"' _ {}
echo "unwind: built in $((SECONDS - t0)) s"

# ---------------------------------------------------------------- run
order=()   # test names in report order
add_test() {   # add_test NAME TIMEOUT BUILDJOB CMD...
	local name=$1 limit=$2 buildjob=$3
	shift 3
	order+=("$name")
	{
		echo "if [ ! -x $(q "$1") ]; then echo 'not built:'; cat $(q "$out/jobs/$buildjob.log"); exit 99; fi"
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

for v in "${sync_variants[@]}"; do
	IFS=: read -r name _ <<<"$v"
	d=$out/sync-$name
	add_test "sync-$name" 900 "sync-$name" "$d/sync" "$d/dl_a.so" "$d/dl_b.so" "$sync_rounds"
done
for v in "${small_variants[@]}"; do
	IFS=: read -r name _ <<<"$v"
	d=$out/$name
	for p in segv noalloc corrupt resume resume_trap regs; do
		add_test "$p-$name" 600 "$p-$name" "$d/$p"
	done
	add_test "names-$name" 900 "names-$name" "$d/names_signal" "$d/names_a.so" "$d/names_b.so"
	add_test "reload-$name" 600 "reload-$name" "$d/reload" "$d/reload_host.so" "$d/reload_a.so" "$d/reload_b.so"
	# (with the modules of reload)
	add_test "dlrace-$name" 900 "dlrace-$name" "$d/dlrace" "$d/reload_a.so" "$d/reload_b.so"
	# each kind loaded, unloaded and replaced at the same address; then kinds
	# replacing one another
	add_test "sources-hdr-$name" 600 "sources-$name" "$d/sources" "hdr:$m/hdr_a.so" "hdr:$m/hdr_b.so" "hdr:$m/hdr_a.so"
	add_test "sources-eh-$name" 600 "sources-$name" "$d/sources" "eh:$m/eh_a.so" "eh:$m/eh_b.so" "eh:$m/eh_a.so"
	add_test "sources-debug-$name" 600 "sources-$name" "$d/sources" "debug:$m/debug_a.so" "debug:$m/debug_b.so" "debug:$m/debug_a.so"
	add_test "sources-fp-$name" 600 "sources-$name" "$d/sources" "fp:$m/fp.so" "fp:$m/fp.so"
	add_test "sources-mixed-$name" 600 "sources-$name" "$d/sources" "eh:$m/eh_a.so" "debug:$m/debug_a.so" "hdr:$m/hdr_a.so" "fp:$m/fp.so" "debug:$m/debug_b.so"
	add_test "sources-many-$name" 900 "sources-$name" "$d/sources" "${many[@]}"
	add_test "sources-hold-$name" 900 "sources-$name" "$d/sources" --hold "${many[@]}"
done
parallel_tests=("${order[@]}")
async_tests=()
for v in "${async_runs[@]}"; do
	IFS=: read -r name _ _ samples extra <<<"$v"
	name=async-$name${extra:+-$extra}
	d=$out/$name
	# shellcheck disable=SC2086
	add_test "$name" 1200 "$name" "$d/async" "$d/dl_a.so" "$samples" $extra
	async_tests+=("$name")
done

t0=$SECONDS
run_tests "$jobs" "${parallel_tests[@]}"
# async alone: it samples on wall-clock timers, other tests would starve it
run_tests 1 "${async_tests[@]}"
echo "unwind: ran in $((SECONDS - t0)) s"

pass=0 fail=0
failed=()
for name in "${order[@]}"; do
	rc=$(cat "$out/rc/$name" 2>/dev/null || echo 98)
	log=$logs/$name.log
	((rc == 124)) && echo "TIMEOUT" >>"$log"
	if ((rc == 0)); then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc)"
		failed+=("$name")
	fi
	if [[ $name == async-* ]]; then
		grep -h -e '^async: [0-9]* samples' -e '^async:   ' "$log" | sed 's/^/       /' || true
	fi
done

for name in "${failed[@]}"; do
	echo
	echo "---- $name: last 40 lines of $logs/$name.log ----"
	tail -n 40 "$logs/$name.log"
done
((${#failed[@]} == 0)) || echo

echo "$pass passed, $fail failed"
((fail == 0))
