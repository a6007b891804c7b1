#!/usr/bin/env bash
# The _Unwind_* ABI library (libstackwalk_unwind, src/eh/): C++ programs
# that throw (tests/eh/*.cc, one C program) run three ways each, with
# identical stdout required:
#   normal    libgcc_s, as the program was linked
#   preload   LD_PRELOAD=BUILD_DIR/libstackwalk_unwind.so
#   linked    the program linked with -lstackwalk_unwind before the C++
#             runtime (so its and libstdc++'s _Unwind_* bind to it)
# Each program says on stderr which object defines _Unwind_* ("eh:
# unwinder SYM PATH"); the preload and linked runs must name
# libstackwalk_unwind (the ASan runtime may stand in front of it for
# _Unwind_RaiseException, which it intercepts and forwards).
#
#   tests/scripts/eh.sh BUILD_DIR MODE
#
# Programs (g++ and clang++ at -O0 and -O2; MODE=quick: g++ -O2, clang++ -O0)
#   eh_frames     many frames, deep recursion, handler selection, catch
#                 inside destructors, a throw out of a SIGSEGV handler
#   eh_nested     throw;, throw_with_nested, exception_ptr (across threads)
#   eh_terminate  noexcept / uncaught / ... -> std::terminate (children)
#   eh_cancel     pthread_cancel / pthread_exit with catch(...) rethrowing,
#                 abi::__forced_unwind, cleanup handlers, destructors
#   eh_cleanup    C, -fexceptions: cleanup attributes under pthread_cancel,
#                 pthread_exit and a direct _Unwind_ForcedUnwind
#   eh_dl         exceptions across a dlopen'ed library, dlclose, 4 times
#   eh_threads    4 threads throwing while a 5th loads/unloads a library
#   eh_backtrace  glibc backtrace() and _Unwind_Backtrace (names only)
#   eh_jit        through JIT frames known only to stackwalk's registry;
#                 libgcc_s cannot see them, so its reference run is libgcc_s
#                 with libstackwalk_findfde.so preloaded, and the plain
#                 libgcc_s run is not made
# Real programs that throw internally, normal vs preload (stdout+stderr):
# gdb (batch errors), cppcheck (a syntax error), cmake -P (JSON errors);
# tests/eh/throwcount.c counts their throws to prove they happened and ran
# through libstackwalk_unwind.  Skipped with a message when not installed
# (mk/deps.sh installs them).
# Under the sanitizer build (BUILD_DIR name contains "san") the test
# programs get -fsanitize=address,undefined.
# Output: PASS/FAIL per test (logs in BUILD_DIR/eh/logs/), the tail of each
# failing log, and "N passed, N failed".
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR full|quick" >&2
	exit 2
fi
mode=$2
[[ $mode == full || $mode == quick ]] || { echo "$0: MODE must be full or quick" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
out=$build/eh
logs=$out/logs
rm -rf "$out"
mkdir -p "$out" "$logs" "$out/lib"
export SW_TEST_MODE=$mode
jobs=$(nproc 2>/dev/null || echo 2)

pass=0 fail=0
failed=()
ok() { pass=$((pass + 1)); echo "PASS $1${2:+ ($2)}"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${2:+ ($2)}"; }
finish() {
	for name in "${failed[@]}"; do
		[[ -e $logs/$name.log ]] || continue
		echo
		echo "---- $name: last 30 lines of $logs/$name.log ----"
		tail -n 30 "$logs/$name.log"
	done
	((${#failed[@]} == 0)) || echo
	echo "$pass passed, $fail failed"
	((fail == 0))
	exit
}

unw_so=$build/libstackwalk_unwind.so
# the sanitizer build has no libstackwalk_unwind (never instrumented, see
# the Makefile): its programs use the plain build's, which `make check`
# builds first
if [[ ! -e $unw_so && $(basename "$build") == *san* ]]; then
	unw_so=$root/build/out/libstackwalk_unwind.so
fi
if [[ ! -e $unw_so ]]; then
	echo "eh: $unw_so missing (make all builds it)" >&2
	bad "library-built"
	finish
fi
unw_so=$(cd "$(dirname "$unw_so")" && pwd -P)/$(basename "$(readlink -f "$unw_so")")
findfde=$build/libstackwalk_findfde.so
# libstackwalk.so's soname is libstackwalk.so.0: give the loader that name
ln -sf "$build/libstackwalk.so" "$out/lib/libstackwalk.so.0"

warn=(-Wall -Wextra)
san=()
san_build=no
case $(basename "$build") in
*san*)
	san_build=yes
	# shellcheck disable=SC2054  # the comma belongs to the option
	san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
	# the preloaded library comes before the ASan runtime: allowed here.
	# ASan intercepts __cxa_throw (which unpoisons the stack) and
	# _Unwind_RaiseException (forwarded with dlsym(RTLD_NEXT), which finds
	# the stackwalk library when it comes before libgcc_s); with gcc's
	# shared runtime and LD_PRELOAD the preloaded _Unwind_RaiseException
	# comes first and the second interceptor is bypassed -- harmless, the
	# __cxa_throw one has done the work -- so the run is still meaningful.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0:detect_leaks=0
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
	;;
esac
# an instrumented library needs gcc's ASan runtime loaded first
unw_asan=no
if readelf -d "$unw_so" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
	unw_asan=yes
fi

if [[ $mode == full ]]; then
	variants=("gxx-O0:g++:gcc:-O0" "gxx-O2:g++:gcc:-O2" "clangxx-O0:clang++:clang:-O0" "clangxx-O2:clang++:clang:-O2")
else
	variants=("gxx-O2:g++:gcc:-O2" "clangxx-O0:clang++:clang:-O0")
fi
programs=(eh_frames eh_nested eh_terminate eh_cancel eh_cleanup eh_dl eh_threads eh_backtrace eh_jit eh_trap)

q() { printf '%q ' "$@"; }

# skip_jit CXX PROG: true for eh_jit built by clang++ under ASan -- it
# links libstackwalk.so, which in the sanitizer build carries gcc's ASan
# runtime (clang links its own), as in cxx_jit.sh
skip_jit() {
	[[ $2 == eh_jit && $1 == clang++ && $san_build == yes ]]
}

# ---------------------------------------------------------------- build
# one build script per variant, run $jobs at a time
mkdir -p "$out/jobs"
for v in "${variants[@]}"; do
	IFS=: read -r name cxx cc opt <<<"$v"
	d=$out/$name
	mkdir -p "$d"
	common=(-g "$opt" "-I$root/include" "-I$root/tests/jit" "${warn[@]}" "${san[@]}")
	unique=()
	[[ $cxx == g++ ]] && unique=(-fno-gnu-unique)   # so that dlclose unloads it
	# the stackwalk library linked before libstdc++ / libgcc_s
	# shellcheck disable=SC2054  # the commas belong to the options
	unwdir=$(dirname "$unw_so")
	linkunw=(-Wl,--no-as-needed "-L$unwdir" -lstackwalk_unwind -Wl,--as-needed "-Wl,-rpath,$unwdir")
	{
		echo set -e
		q "$cc" -std=gnu11 "${common[@]}" -c tests/jit/emit.c -o "$d/emit.o"; echo
		q "$cxx" -std=gnu++17 "${common[@]}" "${unique[@]}" -fPIC -shared tests/eh/eh_dl_lib.cc \
			-o "$d/eh_dl_lib.so"; echo
		for p in "${programs[@]}"; do
			skip_jit "$cxx" "$p" && continue
			case $p in
			eh_cleanup) comp=("$cc" -std=gnu11 -fexceptions "${common[@]}" tests/eh/eh_cleanup.c) ;;
			*) comp=("$cxx" -std=gnu++17 "${common[@]}" "tests/eh/$p.cc") ;;
			esac
			extra=(-ldl -pthread)
			[[ $p == eh_backtrace ]] && extra+=(-rdynamic)
			[[ $p == eh_jit ]] && extra=("$d/emit.o" "-L$build" -lstackwalk "-Wl,-rpath,$out/lib" "${extra[@]}")
			q "${comp[@]}" -o "$d/$p" "${extra[@]}"; echo
			q "${comp[@]}" -o "$d/$p.linked" "${linkunw[@]}" "${extra[@]}"; echo
		done
	} >"$out/jobs/build-$name.sh"
done
t0=$SECONDS
# shellcheck disable=SC2016
find "$out/jobs" -name 'build-*.sh' -print0 | sort -z |
	xargs -0 -P "$jobs" -I{} sh -c 'bash "$1" >"${1%.sh}.log" 2>&1 || echo "build failed" >>"${1%.sh}.log"' _ {}
echo "eh: built in $((SECONDS - t0)) s"

# ---------------------------------------------------------------- run
# run_prog LOGNAME EXPECT CMD...: stdout to $logs/LOGNAME.out, stderr to .err;
# returns the exit status.  EXPECT: the library the "eh: unwinder" lines name.
run_prog() {
	local name=$1 rc=0
	shift
	(cd "$out" && timeout -k 5 900 "$@") >"$logs/$name.out" 2>"$logs/$name.err" </dev/null || rc=$?
	return $rc
}

# check NAME WHAT PROG-NAME REF-OUT EXPECT-LIB CMD...
check() {
	local name=$1 prog=$2 ref=$3 expect=$4 rc=0 why=""
	shift 4
	run_prog "$name" "$@" || rc=$?
	local log=$logs/$name.log
	{
		echo "command: $*"
		echo "exit status: $rc"
		echo "---- stdout"; cat "$logs/$name.out"
		echo "---- stderr"; cat "$logs/$name.err"
	} >"$log"
	if ((rc != 0)); then
		why="exit $rc"
	elif [[ $(tail -n 1 "$logs/$name.out") != "$prog: done" ]]; then
		why="no '$prog: done' line"
	fi
	# which unwinder ran
	if [[ -z $why ]]; then
		local lines
		lines=$(grep '^eh: unwinder ' "$logs/$name.err")
		if [[ -z $lines ]]; then
			why="no 'eh: unwinder' lines on stderr"
		else
			while read -r _ _ sym path; do
				case $path in
				*"$expect"*) ;;
				*asan*|"$out"/*/"$prog"*)
					# the ASan runtime (gcc's shared one, or clang's in the
					# program) intercepts _Unwind_RaiseException
					[[ $sym == _Unwind_RaiseException && $san_build == yes ]] ||
						why="$sym from $path, not $expect" ;;
				*) why="$sym from $path, not $expect" ;;
				esac
			done <<<"$lines"
		fi
	fi
	if [[ -z $why && -n $ref ]]; then
		if ! diff -u "$ref" "$logs/$name.out" >"$logs/$name.diff"; then
			why="output differs from $(basename "$ref")"
			{ echo "---- diff against $ref"; cat "$logs/$name.diff"; } >>"$log"
		fi
	fi
	if [[ -z $why ]]; then
		ok "$name"
	else
		echo "reason: $why" >>"$log"
		bad "$name" "$why"
	fi
}

preload_env=("LD_PRELOAD=$unw_so")
if [[ $unw_asan == yes ]]; then
	# an instrumented library: gcc's ASan runtime must come first
	preload_env=("LD_PRELOAD=$(gcc -print-file-name=libasan.so):$unw_so")
fi

t0=$SECONDS
for v in "${variants[@]}"; do
	IFS=: read -r name cxx cc opt <<<"$v"
	d=$out/$name
	blog=$out/jobs/build-$name.log
	if grep -q "build failed" "$blog" || grep -q "warning:" "$blog"; then
		cp "$blog" "$logs/build-$name.log"
		bad "build-$name" "$(grep -c 'warning:' "$blog") warnings; see the log"
		continue
	fi
	preload_ok=yes
	if [[ $unw_asan == yes && $cxx == clang++ && ${#san[@]} -gt 0 ]]; then
		echo "eh: $name: SKIP the preload and linked runs: the library carries gcc's ASan runtime, the clang program its own"
		preload_ok=no
	fi
	for p in "${programs[@]}"; do
		if skip_jit "$cxx" "$p"; then
			echo "eh: SKIP $p-$name: libstackwalk.so of the sanitizer build carries gcc's ASan runtime, clang++ links its own (gcc covers this case)"
			continue
		fi
		args=()
		[[ $p == eh_dl || $p == eh_threads ]] && args=("$d/eh_dl_lib.so")
		ref=$logs/$p-$name-normal.out
		if [[ $p == eh_jit ]]; then
			# libgcc_s sees JIT frames only through the interposer
			ref=$logs/$p-$name-reference.out
			if [[ -e $findfde ]]; then
				check "$p-$name-reference" "$p" "" libgcc_s env LD_PRELOAD="$findfde" "$d/$p" "${args[@]}"
			else
				echo "eh: $p-$name: no reference run ($findfde missing); preload/linked checked on their own"
				ref=""
			fi
		else
			check "$p-$name-normal" "$p" "" libgcc_s "$d/$p" "${args[@]}"
		fi
		if [[ $preload_ok == yes ]]; then
			check "$p-$name-preload" "$p" "$ref" libstackwalk_unwind env "${preload_env[@]}" "$d/$p" "${args[@]}"
			check "$p-$name-linked" "$p" "$ref" libstackwalk_unwind "$d/$p.linked" "${args[@]}"
		fi
	done
done
echo "eh: test programs ran in $((SECONDS - t0)) s"

# ---------------------------------------------------------------- real programs
gcc -O2 -fPIC -shared tests/eh/throwcount.c -o "$out/throwcount.so" -ldl
# real NAME WORKDIR CMD...: normal vs preload (+ throwcount), stdout+stderr
real() {
	local name=real-$1 wd=$2 rc1=0 rc2=0 why=""
	shift 2
	local log=$logs/$name.log tc=$out/$name.throws
	rm -f "$tc"
	(cd "$wd" && timeout -k 5 600 "$@") >"$logs/$name-normal.out" 2>&1 </dev/null || rc1=$?
	(cd "$wd" && THROWCOUNT_FILE=$tc LD_PRELOAD="$unw_so:$out/throwcount.so" timeout -k 5 600 "$@") \
		>"$logs/$name-preload.out" 2>&1 </dev/null || rc2=$?
	{
		echo "command: $*"
		echo "exit status: normal $rc1, preload $rc2"
		echo "---- normal run"; cat "$logs/$name-normal.out"
		echo "---- throw counts (preload run)"; cat "$tc" 2>/dev/null
	} >"$log"
	local throws
	throws=$(awk '$1 == "throws" && $2 > m { m = $2 } END { print m + 0 }' "$tc" 2>/dev/null || echo 0)
	if ((rc1 != rc2)); then
		why="exit status $rc1 normally, $rc2 preloaded"
	elif ((rc1 >= 124)); then
		why="crashed or timed out ($rc1)"
	elif ! diff -u "$logs/$name-normal.out" "$logs/$name-preload.out" >>"$log"; then
		why="output differs"
	elif ((throws == 0)); then
		why="no C++ throw counted: the test does not exercise the unwinder"
	elif ! grep -q "throws $throws unwinder .*libstackwalk_unwind" "$tc"; then
		why="the throwing process did not use libstackwalk_unwind"
	fi
	if [[ -z $why ]]; then
		ok "$name" "$throws throws, identical output"
	else
		echo "reason: $why" >>"$log"
		bad "$name" "$why"
	fi
}
if [[ $unw_asan == yes ]]; then
	echo "eh: SKIP the real programs in this build: its libstackwalk_unwind.so is ASan-instrumented (they run with the plain build)"
else
	if command -v gdb >/dev/null; then
		# shellcheck disable=SC2016  # $pc is gdb's
		real gdb "$out" gdb -nx -batch -ex 'print nosuchsymbol' -ex 'print 1/0' -ex 'info frame' \
			-ex 'x/x 0' -ex 'ptype struct nosuch' -ex 'list nosuchfunction' -ex 'print sizeof(int)' \
			-ex 'info line main' -ex 'break nosuchfunction' -ex 'print $pc' \
			"$out/${variants[0]%%:*}/eh_frames"
	else
		echo "eh: SKIP real-gdb: gdb not installed (mk/deps.sh installs it)"
	fi
	if command -v cppcheck >/dev/null; then
		real cppcheck "$root/tests/eh/cppcheck" cppcheck --quiet \
			--template='{file}:{line}:{severity}:{id}:{message}' broken.cpp faults.cpp
	else
		echo "eh: SKIP real-cppcheck: cppcheck not installed (mk/deps.sh installs it)"
	fi
	if command -v cmake >/dev/null; then
		real cmake "$root/tests/eh/cmake" cmake -P throws.cmake
	else
		echo "eh: SKIP real-cmake: cmake not installed (mk/deps.sh installs it)"
	fi
fi

finish
