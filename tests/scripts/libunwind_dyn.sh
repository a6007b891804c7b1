#!/usr/bin/env bash
# libunwind-dynamic(3) on stackwalk's registry: _U_dyn_register,
# _U_dyn_cancel and _U_dyn_info_list_addr of BUILD/libunwind/libunwind.so.8
# (src/libunwind/dynamic.c), against nongnu libunwind 1.6 as the control.
#
#   tests/scripts/libunwind_dyn.sh BUILD_DIR MODE
#
# Programs (built here, into $out):
#   dyn_reg   tests/libunwind/dyn_reg.c, gcc and clang, linked with our
#             libunwind.so.8 and libstackwalk.so, checked through
#             stackwalk's API: executed DYNAMIC / TABLE / REMOTE_TABLE
#             frames unwind to the caller and every format is named
#             (IP_OFFSET too); cancel removes; invalid ops, unreadable
#             pointers and corrupt tables are refused with a reason, never
#             a crash; double register, unknown cancel, overlaps, listed-only
#             registrations; a registration through stackwalk's own API is
#             not handed back to our _U_dyn_register by the libunwind
#             publisher (no loop); 4 threads registering/cancelling
#             concurrently (one "ok NAME" line per check)
#   dyn_jit   tests/libunwind/dyn_jit.cc, g++ and clang++: a JIT written
#             only against nongnu's <libunwind.h>, linked with nongnu's
#             -lunwind: generated code in an mmap'd page, one procedure per
#             format (DYNAMIC with a frame pointer, DYNAMIC without, a TABLE
#             of two, a REMOTE_TABLE of one), each calling the next; the
#             callee walks with unw_step + unw_get_proc_name or throws
#
# (a) control, nongnu libunwind (full mode): what the seed reports, seen:
#     DYNAMIC frames are named but not unwound (the walk never reaches
#     main); a TABLE crashes the walk (nongnu 1.6 reads table_data as its
#     private unw_debug_frame_list, not the documented search table);
#     REMOTE_TABLE unwinds but its frame has no name; a C++ exception
#     through a DYNAMIC frame ends in std::terminate; gdb's bt has no JIT
#     names.
# (b) ours, LD_LIBRARY_PATH=BUILD/libunwind, the same binary: every
#     backtrace complete and named (needs the local unwinder of
#     src/libunwind: skipped with the reason while libunwind.so.8 lacks
#     unw_step), the exception caught through every format, the list at
#     _U_dyn_info_list_addr kept as nongnu keeps it, register/cancel churn
#     (then the cancelled procedure is no longer named), gdb's bt names
#     every JIT frame (GDB JIT interface), SW_JIT_PERF=1 writes every
#     procedure to /tmp/perf-PID.map; the same with libstackwalk.so
#     linked ahead of libunwind (libunwind_names.c's interposition of
#     unw_get_proc_name).
# Quick mode (ASan+UBSan build): dyn_reg and dyn_jit built with the
# sanitizers (gcc only: the libraries carry gcc's ASan runtime) against
# build/san's libraries; no control, no gdb.
# Output: PASS/FAIL/SKIP lines, then "N passed, N failed".
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh libunwind_dyn "$@"
t_sanitizer_env
src=$root/tests/libunwind
lu=$build/libunwind
[[ -f $lu/libunwind.so.8 && -f $build/libstackwalk.so ]] ||
	t_abort "no $lu/libunwind.so.8 or $build/libstackwalk.so (make lib builds them)"
san=("${SAN_FLAGS[@]}")

# ---------------------------------------------------------------- dyn_reg
for cc in gcc clang; do
	command -v $cc >/dev/null || { skip "dyn_reg-$cc" "$cc not installed"; continue; }
	if [[ -n $t_san && $cc == clang ]]; then
		skip "dyn_reg-$cc" "the sanitizer build's libraries carry gcc's ASan runtime"
		continue
	fi
	prog=$out/dyn_reg-$cc
	if ! $cc -std=gnu11 -g -O1 "${WARN[@]}" "${san[@]}" -I"$root/src/libunwind/include" \
		-I"$root/include" "$src/dyn_reg.c" -o "$prog" "$lu/libunwind.so.8" \
		"$build/libstackwalk.so" -Wl,-rpath,"$lu:$build" -ldl -lpthread \
		>"$logs/dyn_reg-$cc.build.log" 2>&1 || grep -q "warning:" "$logs/dyn_reg-$cc.build.log"; then
		bad "dyn_reg-$cc build" "$logs/dyn_reg-$cc.build.log"
		continue
	fi
	t_timeout 120 "$prog" >"$logs/dyn_reg-$cc.log" 2>&1
	rc=$?
	while read -r word name rest; do
		case $word in
		ok) ok "dyn_reg-$cc $name" ;;
		FAIL) bad "dyn_reg-$cc ${name%:} $rest" ;;
		esac
	done <"$logs/dyn_reg-$cc.log"
	# every check printed, and the program ended by itself
	n=$(grep -cE '^(ok|FAIL) ' "$logs/dyn_reg-$cc.log")
	if ((rc > 1 || n < 40)); then
		bad "dyn_reg-$cc ran to the end (exit $rc, $n checks)" "$logs/dyn_reg-$cc.log"
	fi
done

# ---------------------------------------------------------------- dyn_jit
jits=()
for cxx in g++ clang++; do
	command -v $cxx >/dev/null || { skip "dyn_jit-$cxx" "$cxx not installed"; continue; }
	if [[ -n $t_san && $cxx == clang++ ]]; then
		skip "dyn_jit-$cxx" "the sanitizer build's libraries carry gcc's ASan runtime"
		continue
	fi
	prog=$out/dyn_jit-$cxx
	# nongnu's header and library: the program knows nothing of stackwalk
	if ! $cxx -g -O1 -Wall -Wextra -Wshadow "${san[@]}" "$src/dyn_jit.cc" -o "$prog" -lunwind \
		>"$logs/dyn_jit-$cxx.build.log" 2>&1 || grep -q "warning:" "$logs/dyn_jit-$cxx.build.log"; then
		bad "dyn_jit-$cxx build" "$logs/dyn_jit-$cxx.build.log"
		continue
	fi
	jits+=("$prog")
done
((${#jits[@]})) || t_abort "no dyn_jit program"
jit=${jits[0]}

# run_jit LIB LOG ARGS...: the program against nongnu (LIB=nongnu) or ours
run_jit() {
	local lib=$1 log=$2
	shift 2
	if [[ $lib == ours ]]; then
		LD_LIBRARY_PATH=$lu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} t_timeout 60 "$@" >"$log" 2>&1
	else
		t_timeout 60 "$@" >"$log" 2>&1
	fi
}

# expect NAME LOG PATTERN: LOG has a line matching the extended regex PATTERN
expect() {
	if grep -qE -- "$3" "$2"; then ok "$1"; else bad "$1 (want /$3/)" "$2"; fi
}

declare -A bt_want=(
	[dyn_fp]='^bt: probe jit_dyn_fp run_one main$'
	[dyn_sp]='^bt: probe jit_dyn_sp run_one main$'
	[table]='^bt: probe jit_table\+0x20 jit_table\+0x0 run_one main$'
	[rtable]='^bt: probe jit_rtable run_one main$'
	[chain]='^bt: probe jit_rtable jit_table\+0x20 jit_table\+0x0 jit_dyn_sp jit_dyn_fp run_one main$'
)
formats=(dyn_fp dyn_sp table rtable chain)

# ---- (a) control: nongnu libunwind
if [[ -n $t_san ]]; then
	skip control "the sanitizer run checks stackwalk's libraries only"
else
	c=$out/control
	mkdir -p "$c"
	run_jit nongnu "$c/bt-dyn_sp.log" "$jit" bt dyn_sp
	if grep -q '^bt: probe jit_dyn_sp' "$c/bt-dyn_sp.log" && ! grep -q ' main$' "$c/bt-dyn_sp.log"; then
		ok "control: nongnu names the DYNAMIC frame but does not unwind it ($(head -c 80 "$c/bt-dyn_sp.log"))"
	else
		bad "control: nongnu DYNAMIC (named, not unwound)" "$c/bt-dyn_sp.log"
	fi
	run_jit nongnu "$c/bt-dyn_fp.log" "$jit" bt dyn_fp
	if ! grep -q ' run_one main$' "$c/bt-dyn_fp.log"; then
		ok "control: nongnu's walk through the frame-pointer DYNAMIC frame misses main ($(head -c 80 "$c/bt-dyn_fp.log"))"
	else
		bad "control: nongnu DYNAMIC with frame pointer (not unwound to main)" "$c/bt-dyn_fp.log"
	fi
	run_jit nongnu "$c/bt-table.log" "$jit" bt table
	rc=$?
	if ((rc >= 128)) || ! grep -qE "${bt_want[table]}" "$c/bt-table.log"; then
		ok "control: nongnu cannot use the documented TABLE (exit $rc: it reads table_data as its private unw_debug_frame_list)"
	else
		bad "control: nongnu TABLE" "$c/bt-table.log"
	fi
	run_jit nongnu "$c/bt-rtable.log" "$jit" bt rtable
	if grep -qE '^bt: probe \? run_one main$' "$c/bt-rtable.log"; then
		ok "control: nongnu unwinds REMOTE_TABLE but cannot name it"
	else
		bad "control: nongnu REMOTE_TABLE (unwound, unnamed)" "$c/bt-rtable.log"
	fi
	run_jit nongnu "$c/throw-dyn_fp.log" "$jit" throw dyn_fp
	rc=$?
	if ((rc != 0)) && ! grep -q '^caught 42' "$c/throw-dyn_fp.log"; then
		ok "control: with nongnu a C++ exception does not cross a DYNAMIC frame (exit $rc)"
	else
		bad "control: nongnu exception through DYNAMIC (terminates)" "$c/throw-dyn_fp.log"
	fi
	run_jit nongnu "$c/list.log" "$jit" list
	expect "control: nongnu keeps the list at _U_dyn_info_list_addr" "$c/list.log" \
		'^list: 4 entries, all4 1, cancel removes 1 \(3 left\), re-register 1, generation changes, version 0$'
	if command -v gdb >/dev/null; then
		t_timeout 120 gdb -nx -batch -ex 'set debuginfod enabled off' -ex 'break probe' -ex run -ex bt \
			--args "$jit" throw chain >"$c/gdb.log" 2>&1
		if grep -q '^#0 .*probe' "$c/gdb.log" && ! grep -q 'in jit_' "$c/gdb.log"; then
			ok "control: with nongnu gdb's bt has no JIT names"
		else
			bad "control: nongnu gdb (no JIT names)" "$c/gdb.log"
		fi
	fi
fi

# ---- (b) ours
o=$out/ours
mkdir -p "$o"
have_local=1
# (unw_getcontext has only the architecture's name, _Ux86_64_getcontext)
lu_syms=$(nm -D --defined-only "$lu/libunwind.so.8")
for s in _Ux86_64_getcontext _ULx86_64_init_local _ULx86_64_step _ULx86_64_get_proc_name; do
	grep -q " $s\$" <<<"$lu_syms" || have_local=
done
for p in "${jits[@]}"; do
	tag=$(basename "$p")
	for f in "${formats[@]}"; do
		run_jit ours "$o/$tag-throw-$f.log" "$p" throw "$f"
		expect "ours $tag: C++ exception through $f caught in main" "$o/$tag-throw-$f.log" '^caught 42$'
	done
	run_jit ours "$o/$tag-list.log" "$p" list
	expect "ours $tag: the list at _U_dyn_info_list_addr" "$o/$tag-list.log" \
		'^list: 4 entries, all4 1, cancel removes 1 \(3 left\), re-register 1, generation changes, version 0$'
	if [[ -z $have_local ]]; then
		skip "ours $tag: unw_step backtraces" "$lu/libunwind.so.8 has no local unwinder yet (unw_getcontext/unw_init_local/unw_step/unw_get_proc_name)"
		continue
	fi
	for f in "${formats[@]}"; do
		run_jit ours "$o/$tag-bt-$f.log" "$p" bt "$f"
		expect "ours $tag: unw_step/unw_get_proc_name through $f" "$o/$tag-bt-$f.log" "${bt_want[$f]}"
	done
	n=5000
	[[ -z $t_san ]] || n=1000
	run_jit ours "$o/$tag-churn.log" "$p" churn $n
	expect "ours $tag: $n register/cancel, list back to 4" "$o/$tag-churn.log" "^churn: $n done, list 4\$"
	if grep -q '^after cancel bt:' "$o/$tag-churn.log" && ! grep -q '^after cancel bt:.*jit_dyn_fp' "$o/$tag-churn.log"; then
		ok "ours $tag: a cancelled procedure is no longer named"
	else
		bad "ours $tag: cancelled procedure unnamed" "$o/$tag-churn.log"
	fi
	expect "ours $tag: registered again, named again" "$o/$tag-churn.log" \
		'^after re-register bt: probe jit_dyn_fp run_one main$'
done

# libstackwalk.so linked ahead of libunwind: libstackwalk's own
# _ULx86_64_get_proc_name (libunwind_names.c) comes first in symbol lookup
# and must hand over to ours
if [[ -n $have_local ]]; then
	ahead=$out/dyn_jit-sw-first
	if g++ -g -O1 "${san[@]}" "$src/dyn_jit.cc" -o "$ahead" -L"$build" -lstackwalk -lunwind \
		-Wl,-rpath,"$build" >"$logs/dyn_jit-sw-first.build.log" 2>&1; then
		run_jit ours "$o/sw-first-bt.log" "$ahead" bt chain
		expect "ours, libstackwalk linked first: unw_get_proc_name names every frame" \
			"$o/sw-first-bt.log" "${bt_want[chain]}"
	else
		bad "dyn_jit-sw-first build" "$logs/dyn_jit-sw-first.build.log"
	fi
fi

# gdb: the GDB JIT interface names every JIT frame
if [[ -n $t_san ]]; then
	skip "ours: gdb bt" "not in the sanitizer run"
elif ! command -v gdb >/dev/null; then
	skip "ours: gdb bt" "gdb not installed (Debian package gdb)"
else
	LD_LIBRARY_PATH=$lu t_timeout 120 gdb -nx -batch -ex 'set debuginfod enabled off' \
		-ex 'break probe' -ex run -ex bt --args "$jit" throw chain >"$o/gdb.log" 2>&1
	got=$(grep -E '^#[0-9]+ ' "$o/gdb.log" | sed -E 's/^#[0-9]+ +(0x[0-9a-f]+ in )?([^ ]+) .*/\2/' | tr '\n' ' ')
	if [[ $got == "probe jit_rtable jit_table+0x20 jit_table+0x0 jit_dyn_sp jit_dyn_fp run_one main " ]]; then
		ok "ours: gdb's bt names every JIT frame ($got)"
	else
		bad "ours: gdb bt (got: $got)" "$o/gdb.log"
	fi
fi

# perf: SW_JIT_PERF=1 adds the perf-map publisher; every procedure
# _U_dyn_register'ed is in /tmp/perf-PID.map under its name
SW_JIT_PERF=1 LD_LIBRARY_PATH=$lu t_timeout 60 sh -c 'echo "pid $$"; exec "$@"' sh "$jit" throw chain \
	>"$o/perfmap.log" 2>&1
pid=$(sed -n 's/^pid //p' "$o/perfmap.log")
map=/tmp/perf-$pid.map
if [[ -n $pid && -f $map ]]; then
	cp "$map" "$o/perf.map"
	rm -f "$map"
	got=$(awk '{print $3}' "$o/perf.map" | sort | tr '\n' ' ')
	if [[ $got == "jit_dyn_fp jit_dyn_sp jit_rtable jit_table+0x0 jit_table+0x20 " ]]; then
		ok "ours: SW_JIT_PERF=1 puts every procedure in /tmp/perf-PID.map"
	else
		bad "ours: perf map (got: $got)" "$o/perf.map"
	fi
else
	bad "ours: perf map (no $map)" "$o/perfmap.log"
fi

t_finish
