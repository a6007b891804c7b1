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
#   eh_registry   one registry per process: linked with libstackwalk.so,
#                 JIT code registered through it, thrown through by
#                 libstackwalk_unwind (preload and linked runs only, no
#                 publisher); the by-address API; dlclose moves
#                 sw_info_generation
#   eh_dlclose    (C, plain build) a program that links no stackwalk
#                 library, libstackwalk_unwind preloaded / linked: dlclose
#                 still moves sw_info_generation
# The library's shape (plain build): libstackwalk_unwind.so needs
# libstackwalk.so.0 (RUNPATH $ORIGIN) and defines no sw_* symbol; its
# objects need only functions the public headers declare; `make install`
# into a temporary prefix, then src/eh/*.c compiled warning-free against
# the installed headers alone and linked against the installed
# libstackwalk.so (--no-undefined), the installed stackwalk_unwind.pc
# giving -lstackwalk too, and a throw through the installed library.
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
		if ! skip_jit "$cxx" eh_jit; then
			comp=("$cxx" -std=gnu++17 "${common[@]}" tests/eh/eh_registry.cc "$d/emit.o")
			q "${comp[@]}" -o "$d/eh_registry" "-L$build" -lstackwalk "-Wl,-rpath,$out/lib" -ldl; echo
			q "${comp[@]}" -o "$d/eh_registry.linked" "${linkunw[@]}" "-L$build" -lstackwalk \
				"-Wl,-rpath,$out/lib" -ldl; echo
		fi
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
	if [[ $preload_ok == yes ]] && ! skip_jit "$cxx" eh_jit; then
		check "eh_registry-$name-preload" eh_registry "" libstackwalk_unwind \
			env SW_JIT_PUBLISHERS=none "${preload_env[@]}" "$d/eh_registry" "$d/eh_dl_lib.so"
		check "eh_registry-$name-linked" eh_registry "" libstackwalk_unwind \
			env SW_JIT_PUBLISHERS=none "$d/eh_registry.linked" "$d/eh_dl_lib.so"
	fi
done
echo "eh: test programs ran in $((SECONDS - t0)) s"

# ---------------------------------------------------------------- the library's shape
# shape NAME CMD...: PASS when CMD succeeds (its output in the log)
shape() {
	local name=$1
	shift
	if "$@" >"$logs/$name.log" 2>&1; then ok "$name"; else bad "$name"; fi
}
# needs libstackwalk.so.0, found next to itself
shape_needed() {
	readelf -d "$unw_so"
	readelf -d "$unw_so" | grep -q 'NEEDED.*\[libstackwalk\.so\.0\]' &&
		readelf -d "$unw_so" | grep -q 'RUNPATH.*\[\$ORIGIN\]'
}
# defines no sw_* (no second registry, cache or API), needs only public ones
public_fns() {
	# every sw_* function the installed/public headers declare
	cat "$@" | tr -c 'A-Za-z0-9_' '\n' | grep '^sw_' | sort -u
}
shape_exports() {
	local defined needed
	nm -D --defined-only "$unw_so"
	defined=$(nm -D --defined-only "$unw_so" | awk '{ print $3 }' | grep -e '^sw_' -e '__jit_debug' || true)
	[[ -z $defined ]] || { echo "defines: $defined"; return 1; }
	needed=$(nm -D --undefined-only "$unw_so" | awk '{ print $2 }' | sed 's/@.*//' | grep '^sw_' | sort -u)
	echo "needs: $needed"
	[[ -n $needed ]] || return 1
	comm -23 <(echo "$needed") <(public_fns include/stackwalk.h include/stackwalk/*.h) | grep . && return 1
	return 0
}
# make install, then libstackwalk_unwind from the installed headers alone
shape_installed() {
	local prefix=$out/prefix objdir=$out/eh-installed plain
	plain=$(dirname "$unw_so")
	rm -rf "$prefix" "$objdir"
	mkdir -p "$objdir"
	make --no-print-directory -s install BUILD="${plain#"$root"/}" PREFIX="$prefix" || return 1
	# the sources copied away from src/: a quoted include of a private
	# header cannot be found next to them either
	cp src/eh/*.c src/eh/libgcc.map "$objdir/"
	for c in "$objdir"/*.c; do
		gcc -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror \
			-O2 -fPIC -fvisibility=hidden -I"$prefix/include" -c "$c" -o "${c%.c}.o" || return 1
	done
	gcc -shared -Wl,-soname,libstackwalk_unwind.so.1 -Wl,--version-script="$objdir/libgcc.map" \
		-Wl,--no-undefined -o "$objdir/libstackwalk_unwind.so.1" "$objdir"/*.o \
		-L"$prefix/lib" -lstackwalk -ldl -lpthread || return 1
	# the installed .pc: -lstackwalk_unwind, and -lstackwalk through Requires
	local libs
	libs=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --libs stackwalk_unwind) || return 1
	echo "pkg-config --libs stackwalk_unwind: $libs"
	[[ " $libs " == *" -lstackwalk_unwind "* && " $libs " == *" -lstackwalk "* ]] || return 1
	# the installed library finds the installed libstackwalk.so.0 ($ORIGIN)
	local deps
	deps=$(LD_TRACE_LOADED_OBJECTS=1 LD_PRELOAD="$prefix/lib/libstackwalk_unwind.so" \
		"$out/${variants[0]%%:*}/eh_frames" 2>&1)
	echo "$deps"
	grep -q "libstackwalk.so.0 => $prefix/lib/libstackwalk.so.0" <<<"$deps" || return 1
	# and throws with it
	(cd "$out" && LD_PRELOAD="$prefix/lib/libstackwalk_unwind.so" SW_TEST_MODE=quick \
		"$out/${variants[0]%%:*}/eh_frames") >"$logs/installed-eh_frames.out" 2>&1 || return 1
	grep "^eh: unwinder _Unwind_RaiseException $prefix/lib/libstackwalk_unwind.so" \
		"$logs/installed-eh_frames.out" || return 1
	grep -q '^eh_frames: done$' "$logs/installed-eh_frames.out"
}
# a dlclose in a program that links no stackwalk library (only the
# preloaded or linked libstackwalk_unwind loads libstackwalk.so, after the
# C library): sw_info_generation moves
shape_dlclose() {
	local lib=$out/${variants[0]%%:*}/eh_dl_lib.so
	if [[ $1 == preload ]]; then
		LD_PRELOAD=$unw_so "$out/eh_dlclose" "$lib"
	else
		"$out/eh_dlclose.linked" "$lib"
	fi
}
if [[ $san_build == yes ]]; then
	echo "eh: SKIP the library's shape in this build (libstackwalk_unwind is the plain build's)"
else
	gcc -std=gnu11 -Wall -Wextra -O2 tests/eh/eh_dlclose.c -o "$out/eh_dlclose" -ldl
	gcc -std=gnu11 -Wall -Wextra -O2 tests/eh/eh_dlclose.c -o "$out/eh_dlclose.linked" \
		-Wl,--no-as-needed "-L$(dirname "$unw_so")" -lstackwalk_unwind -Wl,--as-needed \
		"-Wl,-rpath,$(dirname "$unw_so")" -ldl
	shape dlclose-preload shape_dlclose preload
	shape dlclose-linked shape_dlclose linked
	shape shape-needs-libstackwalk shape_needed
	shape shape-exports shape_exports
	shape shape-installed-headers shape_installed
fi

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
