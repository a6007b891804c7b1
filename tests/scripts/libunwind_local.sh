#!/usr/bin/env bash
# The local half of stackwalk's drop-in nongnu libunwind (src/libunwind:
# cursor.c, x86_64/getcontext.S, x86_64/backtrace.S), side by side with the
# real nongnu libunwind, in the style of libunwind's own test suite:
#
#   tests/scripts/libunwind_local.sh BUILD_DIR MODE
#
# The programs are tests/libunwind/local_*.c(pp) (each says what it does
# and checks; local_common.h how its output is made independent of load
# addresses).  Each is built, into BUILD_DIR/tests/libunwind/, twice:
#   ours    against stackwalk's header (src/libunwind/include) and
#           BUILD_DIR/libunwind/libunwind.so.8
#   nongnu  against nongnu's header (/usr/include/x86_64-linux-gnu) and
#           nongnu's libunwind.so.8
# and run three ways, with environments of the same size (a signal frame's
# place depends on where the stack starts):
#   ours       the ours build on stackwalk's library: its checks pass
#   nongnu     the nongnu build on nongnu's library: the control; its
#              checks pass too (those of documented behaviour nongnu does
#              not follow are made on stackwalk's library only)
#   drop-in    the nongnu build, unchanged, with LD_LIBRARY_PATH=
#              BUILD_DIR/libunwind: stackwalk's library is the one loaded
#              (ldd), the checks pass, and the output is the nongnu run's,
#              line for line (lines starting with '~' aside: printed where
#              nongnu's answer is not sane, see the programs)
# and the ours build's output, without offsets and SP steps (its code is
# not the nongnu build's), is the drop-in run's.
#
# Programs and variants:
#   local_walk     gcc and clang, -O0 and -O2, with and without frame
#                  pointers: walks through C and varargs frames, from a
#                  signal handler through the signal frame, from the
#                  handler's ucontext with unw_init_local2(UNW_INIT_SIGNAL_
#                  FRAME), unw_backtrace, bad registers, the end of the stack
#   local_resume   gcc and clang, -O0 and -O2: unw_resume out of a signal
#                  handler (a register of a frame set, and the trampoline's
#                  sigreturn), over frames, the context functions
#   local_threads  gcc -O2 and clang -O0: 8 threads unwinding at once
#   local_alloc    gcc -O2: no allocation in init/step/get_reg/backtrace
#   local_jit      gcc -O2: generated code registered with stackwalk's JIT
#                  registry is unwound and named (nongnu, the control, finds
#                  its procedure through _U_dyn_info_list, where stackwalk
#                  publishes it, but cannot name it)
#   local_cxx      g++ and clang++, -O0 and -O2: C++ frames, mangled names,
#                  LSDA and personality, an exception through walked frames
# and:
#   syscalls       local_alloc's walks under strace: 2000 walks make no
#                  more system calls than 200 (no per-step syscall)
#   exports        the local functions' names, both prefixes (_ULx86_64_,
#                  _Ux86_64_), unw_getcontext/setcontext, unw_backtrace and
#                  backtrace as nongnu 1.6.2 exports them
#
# MODE quick (ASan+UBSan build, BUILD_DIR build/san): the ours builds only,
# gcc only (the libraries carry gcc's ASan runtime), with the sanitizer
# flags, against that build's own libunwind; no nongnu runs (uninstrumented
# library), no local_alloc (ASan owns malloc), no strace.  Output: PASS/FAIL/SKIP lines, then "N passed, N failed".
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh libunwind_local "$@"
t_sanitizer_env
t_need gcc
lu=$build/libunwind
[[ -f $lu/libunwind.so.8 ]] || t_abort "no $lu/libunwind.so.8 (make lib builds it)"
progs=$build/tests/libunwind
mkdir -p "$progs"
inc=$root/src/libunwind/include
nongnu_so=/lib/x86_64-linux-gnu/libunwind.so.8
nongnu=1
if [[ -n $t_san ]]; then
	nongnu=
	echo "SKIP nongnu runs: $mode mode (ASan-instrumented programs, uninstrumented nongnu library)"
elif [[ ! -f $nongnu_so || ! -f /usr/include/x86_64-linux-gnu/libunwind.h ]]; then
	nongnu=
	echo "SKIP nongnu runs: nongnu libunwind is not installed (libunwind-dev; make deps)"
fi

# a library directory for nongnu's runs whose path is as long as $lu (the
# environments of the runs must have the same size)
ngdir=$out/n
while ((${#ngdir} < ${#lu})); do ngdir+=x; done
mkdir -p "$ngdir"
[[ -z $nongnu ]] || ln -sf "$nongnu_so" "$ngdir/libunwind.so.8"

# run LIBDIR PROG OUT: PROG with LD_LIBRARY_PATH=LIBDIR in a clean
# environment; its output in OUT; returns its exit status
run() {
	local env=(SW_TEST_MODE="$mode" LD_LIBRARY_PATH="$1")
	[[ -z ${ASAN_OPTIONS:-} ]] || env+=(ASAN_OPTIONS="$ASAN_OPTIONS")
	[[ -z ${UBSAN_OPTIONS:-} ]] || env+=(UBSAN_OPTIONS="$UBSAN_OPTIONS")
	t_timeout 120 env -i "${env[@]}" "$2" >"$3" 2>&1
}

# without the '~' lines
sane() { grep -v '^~' "$1"; }
# without what differs between two builds of a program: offsets in the
# program, SP steps, procedure ranges
shape() {
	sane "$1" | sed -E 's/exe\+0x[0-9a-f]+/exe/g; s/([A-Za-z_][A-Za-z0-9_]*)\+0x[0-9a-f]+/\1/g;
		s/ sp[+-][0-9]+//; s/ pi=\[[^)]*\)//'
}

# check_prog NAME VARIANT COMPILER FLAGS...: build and run both ways
# (xlibs: more libraries for both builds)
xlibs=()
check_prog() {
	local name=$1 variant=$2 cc=$3
	shift 3
	local src base log
	src=tests/libunwind/$name.c
	[[ -f $src ]] || src=tests/libunwind/$name.cpp
	base=$progs/$name-$variant
	log=$logs/$name-$variant.log
	: >"$log"
	if ! "$cc" -g "${WARN[@]}" "$@" "${SAN_FLAGS[@]}" -I"$inc" -o "$base-ours" "$src" \
		-L"$lu" -lunwind -Wl,-rpath,"$lu" "${xlibs[@]}" -ldl -lpthread -lm >>"$log" 2>&1; then
		bad "$name-$variant: build (ours)" "$log"
		return
	fi
	run "$lu" "$base-ours" "$base-ours.out"
	local rc=$?
	cat "$base-ours.out" >>"$log"
	t_verdict "$name-$variant ours" "$rc" "$log"
	((rc == 0)) || tail -n 20 "$base-ours.out" | sed 's/^/       /'
	[[ -n $nongnu ]] || return
	if ! "$cc" -g "${WARN[@]}" "$@" -o "$base-nongnu" "$src" -lunwind "${xlibs[@]}" -ldl \
		-lpthread -lm >>"$log" 2>&1; then
		bad "$name-$variant: build (nongnu)" "$log"
		return
	fi
	run "$ngdir" "$base-nongnu" "$base-nongnu.out"
	rc=$?
	t_verdict "$name-$variant nongnu" "$rc" "$log"
	((rc == 0)) || tail -n 20 "$base-nongnu.out" | sed 's/^/       /'
	local deps
	deps=$(env LD_LIBRARY_PATH="$lu" ldd "$base-nongnu" 2>&1)
	if [[ $deps != *"libunwind.so.8 => $lu/"* ]]; then
		bad "$name-$variant drop-in: LD_LIBRARY_PATH does not load $lu/libunwind.so.8"
		return
	fi
	run "$lu" "$base-nongnu" "$base-dropin.out"
	rc=$?
	if ((rc != 0)); then
		t_verdict "$name-$variant drop-in" "$rc" "$log"
		tail -n 20 "$base-dropin.out" | sed 's/^/       /'
	elif ! diff <(sane "$base-nongnu.out") <(sane "$base-dropin.out") >"$base-dropin.diff"; then
		bad "$name-$variant drop-in: output differs from nongnu's" "$base-dropin.diff"
	else
		ok "$name-$variant drop-in"
	fi
	if diff <(shape "$base-ours.out") <(shape "$base-dropin.out") >"$base-header.diff"; then
		ok "$name-$variant header"
	else
		bad "$name-$variant header: the ours build's output differs from the drop-in run's" \
			"$base-header.diff"
	fi
}

has_clang=1
if ! command -v clang >/dev/null; then
	has_clang=
	echo "SKIP clang variants: clang is not installed"
elif [[ -n $t_san ]]; then
	# the build's libraries carry gcc's ASan runtime, which clang's
	# programs (their own runtime) cannot share a process with
	has_clang=
	echo "SKIP clang variants: $mode mode (the libraries use gcc's ASan runtime)"
fi

# ---------------------------------------------------------------- local_walk
for c in gcc clang; do
	[[ $c == gcc || -n $has_clang ]] || continue
	for o in O0 O2; do
		check_prog local_walk "$c-$o-fp" "$c" "-$o" -fno-omit-frame-pointer
		check_prog local_walk "$c-$o-nofp" "$c" "-$o" -fomit-frame-pointer
	done
done

# ---------------------------------------------------------------- local_resume
for c in gcc clang; do
	[[ $c == gcc || -n $has_clang ]] || continue
	check_prog local_resume "$c-O0" "$c" -O0
	check_prog local_resume "$c-O2" "$c" -O2
done

# ---------------------------------------------------------------- local_threads
check_prog local_threads gcc-O2 gcc -O2
[[ -z $has_clang ]] || check_prog local_threads clang-O0 clang -O0

# ---------------------------------------------------------------- local_alloc
if [[ -n $t_san ]]; then
	echo "SKIP local_alloc: $mode mode (ASan interposes malloc itself)"
else
	check_prog local_alloc gcc-O2 gcc -O2
fi

# ---------------------------------------------------------------- local_jit
# shellcheck disable=SC2054  # the comma belongs to the option
xlibs=(-L"$build" -lstackwalk -Wl,-rpath,"$build")
check_prog local_jit gcc-O2 gcc -O2 -I"$root/include"
xlibs=()

# ---------------------------------------------------------------- local_cxx
if command -v g++ >/dev/null; then
	WARN_C=("${WARN[@]}")
	# C-only warnings are not for C++
	WARN=(-Wall -Wextra -Wshadow)
	for c in g++ clang++; do
		[[ $c == g++ || -n $has_clang ]] || continue
		check_prog local_cxx "$c-O0" "$c" -O0
		check_prog local_cxx "$c-O2" "$c" -O2
	done
	WARN=("${WARN_C[@]}")
else
	echo "SKIP local_cxx: g++ is not installed"
fi

# ---------------------------------------------------------------- syscalls
if [[ -n $t_san ]]; then
	echo "SKIP syscalls: $mode mode"
elif ! command -v strace >/dev/null; then
	echo "SKIP syscalls: strace is not installed"
elif [[ ! -x $progs/local_alloc-gcc-O2-ours ]]; then
	bad "syscalls: no local_alloc program"
else
	# local_alloc makes 200 (quick) or 2000 (full) walks of 11 frames
	count_syscalls() {
		# no LD_LIBRARY_PATH: strace itself links libunwind (the program
		# finds stackwalk's through its RUNPATH)
		t_timeout 120 env -i SW_TEST_MODE="$1" \
			strace -f -qq -c -o "$out/strace-$1.txt" "$progs/local_alloc-gcc-O2-ours" \
			>/dev/null 2>&1 || return 1
		awk '$NF == "total" { print $4 }' "$out/strace-$1.txt"
	}
	few=$(count_syscalls quick) many=$(count_syscalls full)
	echo "  system calls: $few for 200 walks, $many for 2000"
	if [[ $few =~ ^[0-9]+$ && $many =~ ^[0-9]+$ ]] && ((many - few < 100)); then
		ok syscalls
	else
		bad "syscalls: $few system calls for 200 walks, $many for 2000" "$out/strace-full.txt"
	fi
fi

# ---------------------------------------------------------------- exports
exports_log=$logs/exports.log
nm -D --defined-only "$lu/libunwind.so.8" | awk '{ print $NF }' | sort >"$exports_log"
missing=()
for f in init_local init_local2 step get_reg set_reg get_fpreg set_fpreg get_save_loc \
	is_signal_frame get_proc_info get_proc_name resume reg_states_iterate apply_reg_state; do
	for p in _ULx86_64_ _Ux86_64_; do
		grep -qx "$p$f" "$exports_log" || missing+=("$p$f")
	done
done
for f in _Ux86_64_getcontext _Ux86_64_setcontext unw_backtrace; do
	grep -qx "$f" "$exports_log" || missing+=("$f")
done
if ((${#missing[@]} == 0)); then ok exports; else bad "exports: missing ${missing[*]}"; fi
if grep -qx backtrace "$exports_log"; then
	ok "exports: backtrace"
else
	skip "exports: backtrace" "nongnu exports backtrace (its unw_backtrace); ours is defined but \
src/libunwind/libunwind.map does not export it yet"
fi

t_finish
