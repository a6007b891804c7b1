#!/usr/bin/env bash
# Remote unwinding benchmarks (issue 13):  bench/remote.sh [BUILD_DIR]
# (default build/out; bench/run.sh calls it at its end)
#
# stdout carries `name: value unit` lines, and `# ...` lines saying which
# program a figure measured or why a figure is missing; progress goes to
# stderr.
#   remote.stack.threads{8,64}.{stackwalk,eustack,gdb}  ms  wall time of a
#        whole-process stack dump of bench/remote_target.c (N threads, each
#        20 frames of rec() deep and blocked in pause(); -O2, no frame
#        pointers): `stackwalk stack PID` (or, when the tool has no `stack`
#        command, `snapshot_bench attach PID`: sw_as_attach, every thread
#        walked with sw_step and named with sw_as_get_proc_name),
#        `eu-stack -p PID`, `gdb -batch -nx -p PID -ex "thread apply all bt"`;
#        median of 5 runs (gdb: 3), the tools alternating
#   remote.stop.per_thread.stackwalk  us  how long sw_as_attach holds each
#        thread stopped (sw_as_thread.stop_ns), median over the threads of
#        the 64-thread target and 5 attaches
#   remote.stop.per_thread.eustack    us  the same for eu-stack -p, which
#        stops one thread at a time (PTRACE_ATTACH, GETREGS, unwind,
#        PTRACE_DETACH): as the kernel sees it, from the thread's switch-out
#        into the ptrace stop (sched:sched_switch, prev_state t) to its
#        wakeup (sched:sched_wakeup), recorded system-wide by perf record
#        around 3 runs of eu-stack; median over the threads and runs
#   remote.stop.per_thread.stackwalk.kernel  us  the same kernel measure
#        for sw_as_attach, whose stop_ns above is wider (from PTRACE_SEIZE
#        to after the detach)
#   snapshot.unwind.stackwalk  ns/frame  sw_init_snapshot + sw_step over a
#        copy of a real 30-deep stack of bench/snapshot_bench.c (from SP to
#        the end of its stack, at most 32 KiB), modules from the executable
#        file mappings of its /proc/self/maps, module cache warm; median of
#        9 rounds of 2000 walks
#   perf.script.{stackwalk,perf}  ms  wall time of `stackwalk perf -i F` and
#        `perf script -i F` (median of 3) on the same perf.data: about 1 s
#        of `perf record -e cpu-clock -F 999 --call-graph dwarf` of
#        remote_target's cpu mode
#   perf.script.frames  frames  callchain entries perf script printed
#   perf.script.{stackwalk,perf}.per_frame  us  the time divided by the
#        frames each printed
# A missing eu-stack, gdb or perf (or a stackwalk command not written yet)
# gives a `#` line and no figure.  The target processes are killed on exit
# (SIGKILL; also on SIGINT and SIGTERM); every untimed first run of a tool
# is under `timeout`, and so is gdb.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc   # make's default CC
RUNS=5
GDB_RUNS=3
PERF_RUNS=3
DEPTH=20
tpid=

lib=$BUILD/libstackwalk.a
tool=$BUILD/stackwalk
[[ -e $lib ]] || { echo "bench: $lib missing; run make first (make bench does)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317  # (called by the EXIT trap)
cleanup() {
	local p
	for p in "${pids[@]}"; do
		{ kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$BUILD/bench"
WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
echo "bench: building remote_target, snapshot_bench, timecmd" >&2
"$CC" -std=gnu11 -O2 -g -fomit-frame-pointer "${WARN[@]}" -o "$BUILD/bench/remote_target" \
	bench/remote_target.c -lpthread
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -o "$BUILD/bench/timecmd" bench/timecmd.c
target=$BUILD/bench/remote_target
timecmd=$BUILD/bench/timecmd
sbench=$BUILD/bench/snapshot_bench
# have_sb / have_attach: snapshot_bench was built (its snapshot mode; its
# attach and stop modes)
have_sb='' have_attach=''
SB=("$CC" -std=gnu11 -O2 -g "${WARN[@]}" -Iinclude -o "$sbench" bench/snapshot_bench.c "$lib" -lpthread)
if "${SB[@]}" 2>"$tmp/sb.err"; then
	have_sb=1 have_attach=1
else
	cat "$tmp/sb.err" >&2
	echo "# no snapshot_bench: building bench/snapshot_bench.c against $lib failed"
fi


# median of the arguments (integers)
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# ms NS / us NS: nanoseconds as milliseconds / microseconds, one decimal
ms() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 1e6 }'; }
us() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 1e3 }'; }

# start_target N: a remote_target with N threads in place; its pid in $tpid
start_target() {
	local n=$1 i
	"$target" threads "$n" "$DEPTH" >"$tmp/ready.$n" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	for ((i = 0; i < 200; i++)); do
		grep -qx ready "$tmp/ready.$n" 2>/dev/null && break
		kill -0 "$tpid" 2>/dev/null || break
		sleep 0.025
	done
	if ! grep -qx ready "$tmp/ready.$n" 2>/dev/null; then
		echo "bench: remote_target threads $n did not start: $(cat "$tmp/ready.$n")" >&2
		return 1
	fi
	local tasks
	tasks=$(find "/proc/$tpid/task" -mindepth 1 -maxdepth 1 | wc -l)
	if ((tasks != n)); then
		echo "bench: remote_target threads $n has $tasks threads" >&2
		return 1
	fi
}

# frames FILE: the frame lines ("#N ...") of a stack dump
frames() { grep -cE '^[[:space:]]*#[0-9]+' "$1" || true; }

# ---------------------------------------------------------------- which tools
have_eu='' have_gdb='' have_perf='' sw_stack=()
command -v eu-stack >/dev/null && have_eu=1 || echo "# no remote.*.eustack: eu-stack not found (elfutils)"
command -v gdb >/dev/null && have_gdb=1 || echo "# no remote.stack.*.gdb: gdb not found"
command -v perf >/dev/null && have_perf=1 || echo "# no perf.script.*: perf not found (linux-perf)"

# ---------------------------------------------------------------- whole-process stack dumps
stack_figures() {   # stack_figures N
	local n=$1 r t pid
	start_target "$n" || { echo "# no remote.stack.threads$n.*: the target did not start"; return 0; }
	pid=$tpid
	# the stackwalk command: the tool when it has `stack`, else snapshot_bench
	if [[ ${#sw_stack[@]} -eq 0 ]]; then
		: >"$tmp/sw.err"
		if [[ -x $tool ]] && timeout 60 "$tool" stack "$pid" >"$tmp/sw.txt" 2>"$tmp/sw.err"; then
			sw_stack=("$tool" stack)
			echo "# remote.stack.*.stackwalk: $tool stack PID"
		elif [[ -n $have_attach ]]; then
			echo "bench: $tool stack: $(head -n 1 "$tmp/sw.err" 2>/dev/null)" >&2
			sw_stack=("$sbench" attach)
			echo "# remote.stack.*.stackwalk: snapshot_bench attach PID (sw_as_attach + sw_step + sw_as_get_proc_name; $tool has no working stack command)"
		else
			sw_stack=(false)
			echo "# no remote.stack.*.stackwalk: neither $tool stack nor snapshot_bench works"
		fi
	fi
	# one untimed run each: warm the page cache, check the output, count frames
	local sw_ok='' eu_ok='' gdb_ok='' counts=''
	if timeout 60 "${sw_stack[@]}" "$pid" >"$tmp/sw.txt" 2>"$tmp/sw.err"; then
		sw_ok=1 counts+=" stackwalk $(frames "$tmp/sw.txt")"
	elif [[ ${sw_stack[0]} != false ]]; then
		echo "# no remote.stack.threads$n.stackwalk: ${sw_stack[*]} $pid failed: $(head -n 1 "$tmp/sw.err")"
	fi
	if [[ -n $have_eu ]]; then
		if timeout 60 eu-stack -p "$pid" >"$tmp/eu.txt" 2>"$tmp/eu.err"; then
			eu_ok=1 counts+=", eu-stack $(frames "$tmp/eu.txt")"
		else
			echo "# no remote.stack.threads$n.eustack: eu-stack -p failed: $(head -n 1 "$tmp/eu.err")"
		fi
	fi
	local gdb_cmd=(gdb -batch -nx -p "$pid" -ex "thread apply all bt")
	if [[ -n $have_gdb ]]; then
		if timeout 120 "${gdb_cmd[@]}" >"$tmp/gdb.txt" 2>"$tmp/gdb.err" && grep -qE '^#[0-9]' "$tmp/gdb.txt"; then
			gdb_ok=1 counts+=", gdb $(frames "$tmp/gdb.txt")"
		else
			echo "# no remote.stack.threads$n.gdb: gdb could not attach: $(grep -m1 -iE 'error|denied|not' "$tmp/gdb.err" "$tmp/gdb.txt" || true)"
		fi
	fi
	echo "bench: $n threads x $DEPTH deep, frames printed:${counts#,}" >&2
	# like for like, in '#' lines: the tool without names and lines, and
	# eu-stack with file:line and inlined frames (-s -i) as the tool has
	local sw_bare='' eu_full=''
	if [[ -n $sw_ok && ${sw_stack[0]} == "$tool" ]] &&
		timeout 60 "$tool" stack --no-symbols "$pid" >/dev/null 2>&1; then
		sw_bare=1
	fi
	if [[ -n $eu_ok ]] && timeout 60 eu-stack -p "$pid" -s -i >/dev/null 2>&1; then
		eu_full=1
	fi
	local sw_t=() eu_t=() gdb_t=() swb_t=() euf_t=()
	for ((r = 0; r < RUNS; r++)); do
		if [[ -n $sw_ok ]]; then
			t=$("$timecmd" "${sw_stack[@]}" "$pid" 2>/dev/null) && sw_t+=("$t")
		fi
		if [[ -n $eu_ok ]]; then
			t=$("$timecmd" eu-stack -p "$pid" 2>/dev/null) && eu_t+=("$t")
		fi
		if [[ -n $sw_bare ]] && ((r < GDB_RUNS)); then
			t=$("$timecmd" "$tool" stack --no-symbols "$pid" 2>/dev/null) && swb_t+=("$t")
		fi
		if [[ -n $eu_full ]] && ((r < GDB_RUNS)); then
			t=$("$timecmd" eu-stack -p "$pid" -s -i 2>/dev/null) && euf_t+=("$t")
		fi
		if [[ -n $gdb_ok ]] && ((r < GDB_RUNS)); then
			t=$("$timecmd" timeout 120 "${gdb_cmd[@]}" 2>/dev/null) && gdb_t+=("$t")
		fi
	done
	((${#sw_t[@]})) && echo "remote.stack.threads$n.stackwalk: $(ms "$(median "${sw_t[@]}")") ms"
	((${#eu_t[@]})) && echo "remote.stack.threads$n.eustack: $(ms "$(median "${eu_t[@]}")") ms"
	((${#gdb_t[@]})) && echo "remote.stack.threads$n.gdb: $(ms "$(median "${gdb_t[@]}")") ms"
	((${#swb_t[@]})) && echo "# remote.stack.threads$n: stackwalk stack --no-symbols (no names, no lines) $(ms "$(median "${swb_t[@]}")") ms"
	((${#euf_t[@]})) && echo "# remote.stack.threads$n: eu-stack -p -s -i (with file:line and inlined frames, as stackwalk stack) $(ms "$(median "${euf_t[@]}")") ms"
	return 0
}

echo "bench: whole-process stack dumps, 8 threads" >&2
stack_figures 8
echo "bench: whole-process stack dumps, 64 threads" >&2
stack_figures 64
stop_pid=$tpid   # the 64-thread target, still running

# ---------------------------------------------------------------- per thread stopped
echo "bench: how long each thread is stopped (64-thread target)" >&2
if [[ -n $have_attach ]] && kill -0 "$stop_pid" 2>/dev/null; then
	if mapfile -t stops < <(timeout 60 "$sbench" stop "$stop_pid" "$RUNS") && ((${#stops[@]})); then
		echo "remote.stop.per_thread.stackwalk: $(us "$(median "${stops[@]}")") us"
	else
		echo "# no remote.stop.per_thread.stackwalk: snapshot_bench stop failed"
	fi
else
	echo "# no remote.stop.per_thread.stackwalk: no sw_as_attach in snapshot_bench, or no target"
fi

# sched_stop OUT CMD...: run CMD (a tool that stops threads of $stop_pid)
# PERF_RUNS times under a system-wide `perf record` of the scheduler's
# switch and wakeup tracepoints, and append to OUT, one line per stop of a
# thread of $stop_pid, how long the kernel kept it stopped: from its
# switch-out in state t (ptrace stop) to its next wakeup.  The tool runs
# untraced; the same measure for every tool.
sched_stop() {
	local out=$1 r tids
	shift
	tids=$(find "/proc/$stop_pid/task" -mindepth 1 -maxdepth 1 -printf '%f,')
	: >"$out"
	for ((r = 0; r < PERF_RUNS; r++)); do
		timeout 60 perf record -q -a -e sched:sched_switch -e sched:sched_wakeup -o "$tmp/sched.data" -- "$@" \
			>/dev/null 2>"$tmp/sched.err" || return 1
		# "35283.637963123: sched:sched_switch: prev_comm=rt prev_pid=13612
		#  prev_prio=120 prev_state=t ==> next_comm=..."
		# "35283.638834456: sched:sched_wakeup: comm=rt pid=13612 prio=120 ..."
		perf script -i "$tmp/sched.data" --ns -F time,event,trace 2>/dev/null | awk -v tids="$tids" '
		BEGIN { n = split(tids, a, ","); for (i = 1; i <= n; i++) if (a[i] != "") want[a[i]] = 1 }
		{
			t = $1; sub(/:$/, "", t); t += 0
			if ($2 ~ /sched_switch/) {
				if (!match($0, /prev_pid=[0-9]+/)) next
				pid = substr($0, RSTART + 9, RLENGTH - 9)
				if (!(pid in want) || !match($0, /prev_state=[^ ]+/)) next
				st = substr($0, RSTART + 11, RLENGTH - 11)
				if (st ~ /^t/ && !(pid in start)) start[pid] = t
			} else if ($2 ~ /sched_wakeup/) {
				if (!match($0, / pid=[0-9]+/)) next
				pid = substr($0, RSTART + 5, RLENGTH - 5)
				if (pid in start) {
					printf "%d\n", (t - start[pid]) * 1e9
					delete start[pid]
				}
			}
		}' >>"$out"
	done
	[[ -s $out ]]
}
if [[ -n $have_eu && -n $have_perf ]] && kill -0 "$stop_pid" 2>/dev/null; then
	if sched_stop "$tmp/eu_stop.txt" eu-stack -p "$stop_pid"; then
		mapfile -t stops <"$tmp/eu_stop.txt"
		echo "# remote.stop.per_thread.eustack: eu-stack -p stops one thread at a time (PTRACE_ATTACH, unwind, PTRACE_DETACH): the kernel's view (sched_switch to state t, then sched_wakeup), median of ${#stops[@]} stops"
		echo "remote.stop.per_thread.eustack: $(us "$(median "${stops[@]}")") us"
	else
		echo "# no remote.stop.per_thread.eustack: perf record of sched tracepoints around eu-stack failed: $(head -n 1 "$tmp/sched.err" 2>/dev/null)"
	fi
	# the same kernel view of sw_as_attach, next to its own stop_ns
	if [[ -n $have_attach ]] && sched_stop "$tmp/sw_stop.txt" "$sbench" attach "$stop_pid"; then
		mapfile -t stops <"$tmp/sw_stop.txt"
		echo "# remote.stop.per_thread.stackwalk.kernel: sw_as_attach as the kernel sees it (the same measure as eu-stack's), median of ${#stops[@]} stops"
		echo "remote.stop.per_thread.stackwalk.kernel: $(us "$(median "${stops[@]}")") us"
	fi
fi
for p in "${pids[@]}"; do
	{ kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
done
pids=()

# ---------------------------------------------------------------- snapshot
if [[ -n $have_sb ]]; then
	echo "bench: unwinding a stack snapshot (warm module cache)" >&2
	"$sbench" snapshot || echo "bench: snapshot_bench snapshot failed" >&2
fi

# ---------------------------------------------------------------- perf script
# count_frames FILE: callchain lines of perf script's output (a tab or
# spaces, a hex address, a symbol)
count_frames() { grep -cE '^[[:space:]]+[0-9a-f]+ ' "$1" || true; }

if [[ -n $have_perf ]]; then
	pdata=$tmp/perf.data
	echo "bench: perf record --call-graph dwarf of remote_target cpu (1 s)" >&2
	if timeout 60 perf record -q -e cpu-clock -F 999 --call-graph dwarf -o "$pdata" -- "$target" cpu 1000 \
		>/dev/null 2>"$tmp/record.err" && [[ -s $pdata ]]; then
		timeout 120 perf script -i "$pdata" >"$tmp/perf.txt" 2>/dev/null || true
		pf=$(count_frames "$tmp/perf.txt")
		samples=$(grep -cE '^[^[:space:]].*cpu-clock' "$tmp/perf.txt" || true)
		sw_perf=
		if [[ ! -x $tool ]]; then
			echo "# no perf.script.stackwalk: $tool missing"
		elif timeout 120 "$tool" perf -i "$pdata" >"$tmp/swperf.txt" 2>"$tmp/swperf.err"; then
			sw_perf=1
			sf=$(count_frames "$tmp/swperf.txt")
		else
			echo "# no perf.script.stackwalk: $tool perf -i FILE failed: $(head -n 1 "$tmp/swperf.err")"
		fi
		echo "bench: perf.data of $samples samples: perf script printed $pf frames${sw_perf:+, stackwalk perf $sf}" >&2
		sw_t=() pf_t=()
		for ((r = 0; r < PERF_RUNS; r++)); do
			if [[ -n $sw_perf ]]; then
				t=$("$timecmd" "$tool" perf -i "$pdata" 2>/dev/null) && sw_t+=("$t")
			fi
			t=$("$timecmd" perf script -i "$pdata" 2>/dev/null) && pf_t+=("$t")
		done
		echo "perf.script.frames: $pf frames"
		if ((${#sw_t[@]})); then
			t=$(median "${sw_t[@]}")
			echo "perf.script.stackwalk: $(ms "$t") ms"
			((sf > 0)) && echo "perf.script.stackwalk.per_frame: $(awk -v t="$t" -v f="$sf" 'BEGIN { printf "%.2f", t / 1e3 / f }') us"
		fi
		if ((${#pf_t[@]})); then
			t=$(median "${pf_t[@]}")
			echo "perf.script.perf: $(ms "$t") ms"
			((pf > 0)) && echo "perf.script.perf.per_frame: $(awk -v t="$t" -v f="$pf" 'BEGIN { printf "%.2f", t / 1e3 / f }') us"
		fi
	else
		echo "# no perf.script.*: perf record failed: $(head -n 1 "$tmp/record.err")"
	fi
fi
exit 0
