#!/usr/bin/env bash
# The crash handler and sw_print_backtrace (src/symbolize/report.c) against
# gdb, on a C++ library built here with g++ -O2 -g (tests/symbolize/
# crash_lib.cc): lib_entry -> lib_middle -> Walker<int>::visit, with
# std::for_each and a lambda inlined into visit.
#   segv   the lambda reads through NULL: the report names SIGSEGV and the
#          fault address (0x0), its frames (names, file base names, lines,
#          inline levels) are gdb's `bt` at the fault, and the process
#          still dies of SIGSEGV (status 139)
#   abort  abort() in the lambda: SIGABRT with the sender pid, status 134,
#          the frames with source locations are gdb's
#   fpe    an int divided by zero: SIGFPE at the faulting instruction,
#          status 136, gdb's frames
#   print  sw_print_backtrace(NULL, 1) in the lambda: gdb's `bt` at a
#          breakpoint on sw_print_backtrace (its callers), and the
#          program goes on
#
#   tests/scripts/crash.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh crash "$@"
t_need gdb g++ python3
[[ -f $build/libstackwalk_symbolize.so ]] || t_abort "no $build/libstackwalk_symbolize.so (make lib)"
t_sanitizer_env
# under ASan the handler is ours alone (ASan's would report first)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0
ulimit -c 0

src=tests/symbolize
flags=(-O2 -g -Wall -Wextra -Iinclude -I"$src" "${SAN_UB[@]}")
libs=(-L"$build" -lstackwalk_symbolize -lstackwalk -Wl,-rpath,"$build")
g++ "${flags[@]}" -fPIC -shared "$src/crash_lib.cc" "${libs[@]}" -o "$out/libcrash.so" ||
	t_abort "cannot build libcrash.so"
g++ "${flags[@]}" "$src/crash_main.cc" -L"$out" -lcrash -Wl,-rpath,"$out" "${libs[@]}" \
	-o "$out/crash_main" || t_abort "cannot build crash_main"
prog=$out/crash_main

# the line of a marker comment in a test source
line_of() { grep -n "// $2\$" "$src/$1" | cut -d: -f1; }

# gdb_bt NAME ACTION [BREAK]: gdb's bt at the signal (or at breakpoint BREAK)
gdb_bt() {
	local name=$1 action=$2 brk=${3:-}
	local args=(-batch -nx -ex 'set debuginfod enabled off' -ex 'set width 0'
		-ex 'set print frame-arguments none' -ex 'set breakpoint pending on')
	[[ -z $brk ]] || args+=(-ex "break $brk")
	t_timeout 120 gdb "${args[@]}" -ex run -ex bt --args "$prog" "$action" >"$logs/$name.gdb" 2>&1 || true
}

# compare NAME [GDB_SKIP [FROM]]: the report's frames with gdb's (gdb's
# first GDB_SKIP located frames left out; with FROM, both lists start at
# their first frame in file FROM), names as parts of ours
compare() {
	local name=$1 skip=${2:-0} from=${3:-}
	python3 "$src/frames.py" report "$logs/$name.report" >"$logs/$name.sw"
	python3 "$src/frames.py" gdb "$logs/$name.gdb" | tail -n +$((skip + 1)) >"$logs/$name.gdbf"
	if [[ -n $from ]]; then
		sed -i -n "/|$from|/,\$p" "$logs/$name.sw" "$logs/$name.gdbf"
	fi
	if python3 - "$logs/$name.gdbf" "$logs/$name.sw" <<'PY'
import sys
g = [l.rstrip('\n').split('|')[1:] for l in open(sys.argv[1])]
s = [l.rstrip('\n').split('|')[1:] for l in open(sys.argv[2])]
ok = len(g) == len(s) and len(g) > 0 and all(
    gn in sn and gb == sb and gl == sl for (gn, gb, gl), (sn, sb, sl) in zip(g, s))
if not ok:
    print('gdb:'); [print('   ', *x) for x in g]
    print('stackwalk:'); [print('   ', *x) for x in s]
sys.exit(0 if ok else 1)
PY
	then ok "$name: frames equal gdb's ($(wc -l <"$logs/$name.sw") source frames)"
	else bad "$name: frames differ from gdb's"; fi
}

# crash NAME ACTION STATUS: run; the exit status must be STATUS
crash() {
	local name=$1 action=$2 want=$3 rc=0
	t_timeout 60 "$prog" "$action" >"$logs/$name.out" 2>"$logs/$name.report" || rc=$?
	if ((rc == want)); then ok "$name: exit status $rc"
	else bad "$name: exit status $rc, want $want" "$logs/$name.report"; fi
}

# has NAME REGEX WHAT: the report has a line matching REGEX
has() {
	if grep -Eq -- "$2" "$logs/$1.report"; then ok "$1: $3"
	else bad "$1: $3 (no line matching '$2')" "$logs/$1.report"; fi
}

# ---- SIGSEGV: fault address 0, frames as gdb's
crash segv segv 139
has segv '^\*\*\* SIGSEGV \(Segmentation fault\) at address 0x0 \*\*\*$' "names the signal and the fault address"
has segv "^#0  (inlined  |0x[0-9a-f]{16}) in .*lambda.* at .*crash_lib\.cc:$(line_of crash_lib.cc SEGV_LINE)(:[0-9]+)?( \(.*\))?\$" \
	"frame #0 is the lambda at the faulting line"
has segv '^#[0-9]+  inlined   in .*for_each' "std::for_each is an inlined level"
has segv "^#[0-9]+  0x[0-9a-f]{16} in main\+0x[0-9a-f]+ at .*crash_main\.cc:$(line_of crash_main.cc MAIN_LINE)" "main at its call line"
gdb_bt segv segv
compare segv

# ---- SIGABRT: the sender is this process
crash abort abort 134
has abort '^\*\*\* SIGABRT \(Aborted\) sent by pid [0-9]+ \*\*\*$' "names the signal and the sender"
has abort "in .*lambda.* at .*crash_lib\.cc:$(line_of crash_lib.cc ABORT_LINE)" "the lambda at the abort() line"
has abort '^#[0-9]+  0x[0-9a-f]{16} in (__GI_)?abort' "abort() is a frame"
gdb_bt abort abort
# from the lambda on: in libc, gdb adds the frames of tail calls it infers
# from DW_TAG_call_site (__pthread_kill_internal), which the PC's DWARF
# does not hold (addr2line -i does not show them either)
compare abort 0 crash_lib.cc

# ---- SIGFPE: integer division by zero
crash fpe fpe 136
has fpe '^\*\*\* SIGFPE \(Floating point exception\) at address 0x[0-9a-f]+ \*\*\*$' "names the signal and the faulting address"
# si_addr of a SIGFPE is the faulting instruction: the PC of the first frame
fault=$(sed -n 's/^\*\*\* SIGFPE .* at address 0x\([0-9a-f]*\) \*\*\*$/\1/p' "$logs/fpe.report")
pc=$(grep -m1 -o '^#[0-9]*  0x[0-9a-f]*' "$logs/fpe.report" | sed 's/.*0x0*//')
if [[ -n $fault && $fault == "$pc" ]]; then ok "fpe: the fault address is the first frame's PC"
else bad "fpe: fault address '$fault', first PC '$pc'" "$logs/fpe.report"; fi
has fpe "^#0  (inlined  |0x[0-9a-f]{16}) in .*lambda.* at .*crash_lib\.cc:$(line_of crash_lib.cc FPE_LINE)" "frame #0 is the lambda at the division"
gdb_bt fpe fpe
compare fpe

# ---- sw_print_backtrace from a normal call site (output on fd 1)
rc=0
t_timeout 60 "$prog" print >"$logs/print.report" 2>"$logs/print.err" || rc=$?
if ((rc == 0)) && grep -q '^result ' "$logs/print.report"; then ok "print: the program goes on"
else bad "print: exit status $rc" "$logs/print.err"; fi
has print "^#0  inlined   in .*lambda.* at .*crash_lib\.cc:$(line_of crash_lib.cc PRINT_LINE)" "frame #0 is the lambda at the call"
gdb_bt print print sw_print_backtrace
# gdb's frame #0 is sw_print_backtrace itself, which the report leaves out
compare print 1

t_finish
