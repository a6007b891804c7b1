#!/usr/bin/env bash
# The remote half of stackwalk's drop-in nongnu libunwind (src/libunwind/
# remote.c, src/libunwind/ptrace/, the callbacks address space under it),
# against the real nongnu libunwind side by side, with real clients:
#
#   tests/scripts/libunwind_remote.sh BUILD_DIR MODE
#
# The target, tests/libunwind/remote_target.c, built by gcc and by clang
# at -O2 without frame pointers (only CFI unwinds it), runs a known chain
# main -> rt_level1 -> rt_level2 -> rt_level3 -> bottom and there blocks in
# pause(), makes getppid() calls, or spins.
#
#   tracer-CC    tests/libunwind/remote_tracer.c, built against nongnu's
#                headers and libunwind-ptrace/-generic, PTRACE_ATTACHes the
#                blocked target and prints each frame's name+offset (twice:
#                the second walk after unw_flush_cache), plus whether
#                unw_get_proc_info and unw_get_proc_info_by_ip agree; run on
#                nongnu's libraries, then on stackwalk's (LD_LIBRARY_PATH,
#                the loader's choice checked): the same lines, and the chain
#                is in them
#   strace-CC    strace -k -e trace=getppid (strace links libunwind-ptrace),
#                run normally and with LD_LIBRARY_PATH=BUILD/libunwind
#                (ldd shows ours): the same stack traces, ASLR off and the
#                returned PIDs masked; the chain is in them
#   perf-script  perf record --call-graph dwarf of the spinning target (gcc),
#   perf-report  then perf script and perf report --stdio with nongnu's and
#                with stackwalk's libunwind (perf 6.1 unwinds --call-graph
#                dwarf samples with libunwind only: it imports _Ux86_64_step
#                and no libdw unwinder, and LD_DEBUG=bindings shows perf's
#                _Ux86_64_step bound to ours): the same callchains
#   coredump-CC  gcore of the blocked target, read by tests/libunwind/
#                remote_coredump.c (built against nongnu's libunwind-coredump)
#                on stackwalk's libraries: the same frames, names and offsets
#                as the tracer's live walk.  Nongnu's own _UCD is the control
#                and cannot walk it: gcore leaves the text out and nongnu's
#                backing files attach only to the core's PT_LOAD segments (its
#                result is shown in the PASS line, not judged)
#
# MODE quick (the ASan build): nothing here (the clients are uninstrumented
# programs loading the libraries); the unit checks of the callbacks space
# run in both passes as the unit test test_as_callbacks.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh libunwind_remote "$@"
t_quick_skip "client runs only in the full pass (the callbacks space's unit checks: test_as_callbacks)"
t_need gcc
lu=$build/libunwind
[[ -e $lu/libunwind.so.8 && -e $lu/libunwind-ptrace.so.0 ]] ||
	t_abort "no $lu/libunwind.so.8 / libunwind-ptrace.so.0 (make lib builds them)"
[[ -e /usr/include/x86_64-linux-gnu/libunwind-ptrace.h ]] ||
	t_abort "nongnu libunwind's headers are missing (make deps: libunwind-dev)"

targets=()
for cc in gcc clang; do
	command -v "$cc" >/dev/null || { skip "target-$cc" "$cc is not installed"; continue; }
	if "$cc" -O2 -fomit-frame-pointer -g -o "$out/target-$cc" tests/libunwind/remote_target.c \
		>"$logs/build-$cc.log" 2>&1; then
		targets+=("$cc")
	else
		bad "build-$cc" "$logs/build-$cc.log"
	fi
done
gcc -O2 "${WARN[@]}" -o "$out/tracer" tests/libunwind/remote_tracer.c -lunwind-ptrace \
	-lunwind-generic >"$logs/build-tracer.log" 2>&1 || bad build-tracer "$logs/build-tracer.log"
gcc -O2 "${WARN[@]}" -o "$out/coredump" tests/libunwind/remote_coredump.c -lunwind-coredump \
	-lunwind-generic >"$logs/build-coredump.log" 2>&1 || bad build-coredump "$logs/build-coredump.log"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT

# chain FILE: the target's call chain appears in FILE, innermost first
chain() {
	local s
	# the function names, not the word "main" of a path (/work/main/...)
	s=$(grep -oE '(^|[^/A-Za-z0-9_])(rt_level[123]|main)([^/A-Za-z0-9_]|$)' "$1" |
		grep -oE 'rt_level[123]|main' | tr '\n' ' ')
	[[ $s == "rt_level3 rt_level2 rt_level1 main "* ]]
}

# ours PROG: PROG's libunwind libraries are stackwalk's under LD_LIBRARY_PATH
# (ldd's whole output first: grep -q would cut the pipe, a failure under
# pipefail)
ours() {
	local l
	l=$(LD_LIBRARY_PATH=$lu ldd "$1")
	grep -q "=> $lu/libunwind.so.8" <<<"$l" && grep -q "=> $lu/libunwind-${2:-ptrace}" <<<"$l"
}

# ---------------------------------------------------------------- tracer
if [[ -x $out/tracer ]]; then
	if ours "$out/tracer"; then ok; else bad "tracer: LD_LIBRARY_PATH does not load $lu's libraries"; fi
	for cc in "${targets[@]}"; do
		name=tracer-$cc
		log=$logs/$name.log
		: >"$log"
		fifo=$out/ready-$cc
		rm -f "$fifo"
		mkfifo "$fifo"
		"$out/target-$cc" block >"$fifo" &
		pid=$!
		pids+=("$pid")
		# "ready": the target is in pause() under the chain
		if [[ $(t_timeout 20 head -n 1 "$fifo") != ready ]]; then
			bad "$name: the target did not start"
			continue
		fi
		t_timeout 60 "$out/tracer" "$pid" >"$out/$name.nongnu" 2>>"$log"
		rc1=$?
		LD_LIBRARY_PATH=$lu t_timeout 60 "$out/tracer" "$pid" >"$out/$name.ours" 2>>"$log"
		rc2=$?
		# the core, for coredump-CC below (the backing files' addresses
		# for nongnu's reader from the maps)
		if command -v gcore >/dev/null && [[ -x $out/coredump ]]; then
			awk '$6 ~ /^\// && $3 ~ /^0+$/ { split($1, a, "-"); print a[1] ":" $6 }' \
				"/proc/$pid/maps" >"$out/backing-$cc"
			t_timeout 60 gcore -o "$out/core-$cc" "$pid" >"$logs/gcore-$cc.log" 2>&1
		fi
		{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null
		{
			echo "nongnu (exit $rc1):"; cat "$out/$name.nongnu"
			echo "stackwalk (exit $rc2):"; cat "$out/$name.ours"
		} >>"$log"
		if ((rc1 != 0 || rc2 != 0)); then
			bad "$name: the tracer failed" "$log"
		elif ! chain "$out/$name.nongnu"; then
			bad "$name: nongnu's walk lacks the chain (the control)" "$log"
		elif ! diff "$out/$name.nongnu" "$out/$name.ours" >>"$log"; then
			bad "$name: stackwalk's frames differ from nongnu's" "$log"
		else
			ok "$name: $(grep -c '^#' "$out/$name.ours") frames (two walks), the same names, offsets and proc info as nongnu"
		fi
	done
fi

# ---------------------------------------------------------------- strace -k
if ! command -v strace >/dev/null; then
	skip strace "strace is not installed (make deps installs it)"
elif [[ $(ldd "$(command -v strace)") != *libunwind-ptrace* ]]; then
	skip strace "this strace does not use libunwind-ptrace for -k"
else
	if ours "$(command -v strace)"; then ok; else bad "strace: LD_LIBRARY_PATH does not load $lu's libraries"; fi
	for cc in "${targets[@]}"; do
		name=strace-$cc
		log=$logs/$name.log
		# ASLR off (the same addresses in both runs); getppid's result
		# (the strace process) masked
		mask() { sed -E 's/= [0-9]+$/= PID/' "$1"; }
		setarch -R strace -k -e trace=getppid -o "$out/$name.nongnu.raw" "$out/target-$cc" syscall \
			>"$log" 2>&1
		rc1=$?
		LD_LIBRARY_PATH=$lu setarch -R strace -k -e trace=getppid -o "$out/$name.ours.raw" \
			"$out/target-$cc" syscall >>"$log" 2>&1
		rc2=$?
		mask "$out/$name.nongnu.raw" >"$out/$name.nongnu"
		mask "$out/$name.ours.raw" >"$out/$name.ours"
		if ((rc1 != 0 || rc2 != 0)); then
			bad "$name: strace failed" "$log"
		elif ! chain "$out/$name.nongnu"; then
			bad "$name: nongnu's traces lack the chain (the control)" "$out/$name.nongnu"
		elif ! diff "$out/$name.nongnu" "$out/$name.ours" >>"$log"; then
			bad "$name: stack traces differ" "$log"
		else
			ok "$name: $(grep -c '^ >' "$out/$name.ours") frames in $(grep -c '^getppid' "$out/$name.ours") traces, as with nongnu"
		fi
	done
fi

# ---------------------------------------------------------------- perf
if ! command -v perf >/dev/null || [[ ! " ${targets[*]} " == *" gcc "* ]]; then
	skip perf "perf (or the gcc target) is missing"
elif ! t_timeout 60 perf record -q --call-graph dwarf -F 1000 -o "$out/perf.data" \
	"$out/target-gcc" spin 40000000 >"$logs/perf-record.log" 2>&1; then
	skip perf "perf record --call-graph dwarf is not allowed here: $(tail -n 1 "$logs/perf-record.log")"
else
	# perf's libunwind calls go to ours: the loader's bindings say so
	LD_DEBUG=bindings LD_LIBRARY_PATH=$lu perf script -i "$out/perf.data" >/dev/null \
		2>"$out/bindings.txt"
	if grep "to $lu/libunwind.so.8 .*_Ux86_64_step'" "$out/bindings.txt" >/dev/null; then
		ok
	else
		bad "perf: _Ux86_64_step is not bound to $lu/libunwind.so.8"
	fi
	for what in script report; do
		name=perf-$what
		log=$logs/$name.log
		if [[ $what == script ]]; then
			# shellcheck disable=SC2054  # the commas belong to -F
			args=(script -i "$out/perf.data" -F comm,ip,sym,dso)
		else
			args=(report -i "$out/perf.data" --stdio --no-children -g caller)
		fi
		t_timeout 120 perf "${args[@]}" >"$out/$name.nongnu" 2>"$log"
		rc1=$?
		LD_LIBRARY_PATH=$lu t_timeout 120 perf "${args[@]}" >"$out/$name.ours" 2>>"$log"
		rc2=$?
		# perf report's closing tip is picked at random
		sed -i '/^# (Tip: /d' "$out/$name.nongnu" "$out/$name.ours"
		if ((rc1 != 0 || rc2 != 0)); then
			bad "$name: perf failed" "$log"
		elif ! grep -q rt_level2 "$out/$name.nongnu"; then
			bad "$name: nongnu's callchains lack the chain (the control)" "$out/$name.nongnu"
		elif ! diff "$out/$name.nongnu" "$out/$name.ours" >>"$log"; then
			bad "$name: callchains differ" "$log"
		else
			ok "$name: $(wc -l <"$out/$name.ours") lines, the same callchains as with nongnu ($(grep -c rt_level2 "$out/$name.ours") through rt_level2)"
		fi
	done
fi

# ---------------------------------------------------------------- coredump
if [[ ! -x $out/coredump ]] || ! command -v gcore >/dev/null; then
	skip coredump "gcore or the coredump reader is missing"
else
	if ours "$out/coredump" coredump; then
		ok
	else
		bad "coredump: LD_LIBRARY_PATH does not load $lu/libunwind-coredump.so.0"
	fi
	for cc in "${targets[@]}"; do
		name=coredump-$cc
		log=$logs/$name.log
		core=$(find "$out" -maxdepth 1 -name "core-$cc.*" | head -n 1)
		if [[ -z $core || ! -s $out/tracer-$cc.nongnu ]]; then
			bad "$name: no core (or no live walk) of the target" "$logs/gcore-$cc.log"
			continue
		fi
		mapfile -t backing <"$out/backing-$cc"
		t_timeout 60 "$out/coredump" "$core" "${backing[@]}" >"$out/$name.nongnu" 2>"$log"
		LD_LIBRARY_PATH=$lu t_timeout 60 "$out/coredump" "$core" "${backing[@]}" \
			>"$out/$name.ours" 2>>"$log"
		rc=$?
		# the live walk's frames: the tracer's first walk, without its [pi]
		sed -n '/^--$/q; s/ \[pi\]$//; p' "$out/tracer-$cc.nongnu" >"$out/$name.live"
		{ echo "live (nongnu tracer):"; cat "$out/$name.live"
		  echo "core, stackwalk (exit $rc):"; cat "$out/$name.ours"
		  echo "core, nongnu:"; cat "$out/$name.nongnu"; } >>"$log"
		if ((rc != 0)) || ! grep -q '^threads 1$' "$out/$name.ours"; then
			bad "$name: the reader failed" "$log"
		elif ! diff <(grep -v '^threads' "$out/$name.ours") "$out/$name.live" >>"$log"; then
			bad "$name: the core's frames differ from the live walk's" "$log"
		else
			ok "$name: $(grep -c '^#' "$out/$name.ours") frames from the core, as the live walk (nongnu's _UCD: $(grep -c '^#' "$out/$name.nongnu") frame(s), $(grep '^end' "$out/$name.nongnu" | head -n 1))"
		fi
	done
fi
t_finish
