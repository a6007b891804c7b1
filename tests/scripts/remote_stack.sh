#!/usr/bin/env bash
# `stackwalk stack PID` (tools/stack.c over sw_as_attach) on live targets,
# against eu-stack -p and gdb:
#   mt     tests/remote/mt_target.cc built here with -O2 -fomit-frame-pointer
#          -g (g++, and clang++ when installed): N threads recursing D levels
#          through a function template, a lambda and a member template, then
#          blocked: one in a signal handler on its own stack, one in a
#          handler on a sigaltstack, the others in read() (a system call) or
#          on a condition variable; the main thread in pthread_join.
#          (8 threads, depth 20) and (64, 200); quick mode: the small case,
#          g++ only.  Every thread's PCs, frame by frame, must be eu-stack's
#          and gdb's; the JSON is valid and says the same as the text; the
#          signal frames, trampolines and names are there.
#   python python3 running threads blocked in time.sleep under a few Python
#          frames, and one thread spinning: the blocked threads' PCs must be
#          eu-stack's; the spinning thread moves between the two captures,
#          so only its outermost frames are compared (counted apart).
#   jit    tests/remote/jit_target.c's JIT frames (GDB JIT interface): gdb's
#          frames are ours, and the JIT functions are named; eu-stack,
#          which reads no JIT interface, loses frames there (counted apart)
#   options --thread TID, --max-frames N, --no-symbols, a PID that does not exist (a clear
#          error, exit 1), a process we may not trace (another user: the
#          message says why), targets that exit or exec while being
#          attached (no hang, no crash, exit 0 or 1), the target left
#          running and untraced, also when the tool is interrupted by
#          SIGINT or SIGTERM while it attaches.
#
# PC normalisation (tests/remote/compare.py): none is needed.  eu-stack and
# gdb print the PC the stack holds, as stackwalk does: the interrupted
# instruction for frame #0 and for a frame a signal interrupted, the return
# address (not minus 1) for the others; all three look names up at PC - 1
# for return addresses.  gdb's inline frames (same PC as the next frame)
# are not machine frames and are left out.  Where a reference is wrong
# compared to the machine stack:
#   - gdb adds "tail-call frames" (TAILCALL_FRAME) that it infers from
#     DW_TAG_call_site for functions that left with a jmp (in mt_target,
#     level_a tail-calls block_here; in libc, __pthread_kill_internal and
#     __futex_abstimed_wait_cancelable64): they are not on the stack, no
#     unwinder can see them.  Left out of the comparison and counted apart
#     (the "tailcalls=" figure of the SUMMARY lines).
# Nothing else is skipped: any other difference fails.
#
#   tests/scripts/remote_stack.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh remote_stack "$@"
t_need gdb eu-stack g++ python3
tool=$build/stackwalk
[[ -x $tool ]] || t_abort "no $tool (make tools)"
t_sanitizer_env
# a message of the tool's own, not a sanitizer's report (which exits 1 too)
own_error() {
	[[ -s $1 ]] && ! grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$1"
}
ulimit -c 0
# the interpreter itself (a pyenv shim costs half a second a call)
py=$(python3 -c 'import sys; print(sys.executable)')

# every target started here is killed on the way out, whatever happens
targets=()
cleanup() {
	local p
	for p in "${targets[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# in_syscalls PID: every thread of PID is blocked in a system call
# (/proc/PID/task/TID/syscall gives its number; "running" or -1 when not)
in_syscalls() {
	local f nr
	for f in /proc/"$1"/task/*/syscall; do
		read -r nr _ <"$f" 2>/dev/null || return 1
		[[ $nr =~ ^[0-9]+$ ]] || return 1
	done
}

# asleep_but_one PID NR: every thread of PID but one (the running one) is
# blocked in system call NR
asleep_but_one() {
	local f nr other=0
	for f in /proc/"$1"/task/*/syscall; do
		read -r nr _ <"$f" 2>/dev/null || return 1
		[[ $nr == "$2" ]] || ((other++ == 0)) || return 1
	done
}

# start_target NAME [--blocked] CMD...: start CMD in the background, its
# output in $logs/NAME.out; wait (at most 60 s: a hang guard) for its
# "ready" line; with --blocked, then also for every thread to be blocked in
# a system call (a thread says it is in place just before it blocks, and
# the main thread prints "ready" before it joins: captures made before
# they got there would differ).  Sets tpid.
start_target() {
	local name=$1 blocked='' i j
	shift
	[[ $1 != --blocked ]] || { blocked=1; shift; }
	"$@" >"$logs/$name.out" 2>"$logs/$name.err" &
	tpid=$!
	targets+=("$tpid")
	for ((i = 0; i < 600; i++)); do
		if grep -q '^ready' "$logs/$name.out" 2>/dev/null; then
			[[ -n $blocked ]] || return 0
			for ((j = 0; j < 600; j++)); do
				in_syscalls "$tpid" && return 0
				sleep 0.1
			done
			echo "target $name: not every thread got blocked in a system call"
			return 1
		fi
		kill -0 "$tpid" 2>/dev/null || break
		sleep 0.1
	done
	echo "target $name did not get ready:"
	cat "$logs/$name.err"
	return 1
}

stop_target() {
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# capture NAME PID: stackwalk (JSON and text), eu-stack and gdb on PID
capture() {
	local name=$1 pid=$2 rc=0
	t_timeout 120 "$tool" stack --json "$pid" >"$logs/$name.json" 2>"$logs/$name.json.err" || rc=$?
	if ((rc == 0)) && "$py" -m json.tool "$logs/$name.json" >/dev/null 2>"$logs/$name.jsoncheck"; then
		ok "$name: stackwalk stack --json: exit 0, valid JSON"
	else
		bad "$name: stackwalk stack --json: exit $rc or invalid JSON" "$logs/$name.json.err"
	fi
	rc=0
	t_timeout 120 "$tool" stack "$pid" >"$logs/$name.txt" 2>"$logs/$name.txt.err" || rc=$?
	if ((rc == 0)); then ok; else bad "$name: stackwalk stack (text): exit $rc" "$logs/$name.txt.err"; fi
	# -n 0: every frame (eu-stack stops at 256 by default)
	t_timeout 120 eu-stack -n 0 -p "$pid" >"$logs/$name.eu" 2>&1 || true
	if [[ -n ${2:-} && ${3:-} != nogdb ]]; then
		t_timeout 300 gdb -batch -nx -p "$pid" -ex 'set debuginfod enabled off' \
			-x tests/remote/gdb_frames.py >"$logs/$name.gdb" 2>&1 || true
	fi
}

# compare NAME ARGS...: the tool's PCs against the references
# shellcheck source=tests/remote/lib.sh
. tests/remote/lib.sh

# jchecks NAME [WHAT EXPR]...: checks of the JSON document (python
# expressions over T: the threads, F: every frame; names(t): a thread's
# function names; named(n): the threads called n), one test each
jchecks() {
	local name=$1 line
	shift
	"$py" - "$logs/$name.json" "$@" >"$logs/$name.jcheck" 2>&1 <<'PY' || true
import json, sys
d = json.load(open(sys.argv[1]))
T = d["threads"]
F = [f for t in T for f in t["frames"]]
def names(t): return " ".join(f["function"] or "??" for f in t["frames"])
def named(n): return [t for t in T if t["name"] == n]
args = sys.argv[2:]
for what, expr in zip(args[0::2], args[1::2]):
    try:
        good = eval(expr)
    except Exception as e:
        good = False
        print("  error: %s" % e)
    print("%s %s" % ("PASS" if good else "FAIL", what))
    if not good:
        print("  false: %s" % expr)
PY
	local lines
	mapfile -t lines <"$logs/$name.jcheck"
	for line in "${lines[@]}"; do
		case $line in
		"PASS "*) ok "$name: ${line#PASS }" ;;
		"FAIL "*) bad "$name: ${line#FAIL }" "$logs/$name.jcheck" ;;
		esac
	done
	grep -q '^[PF]A[SI][SL] ' "$logs/$name.jcheck" || bad "$name: JSON checks did not run" "$logs/$name.jcheck"
}

# ---- mt_target
compilers=(g++)
[[ $mode == quick ]] || ! command -v clang++ >/dev/null || compilers+=(clang++)
cases=("8 20")
[[ $mode == quick ]] || cases+=("64 200")
for cxx in "${compilers[@]}"; do
	bin=$out/mt_target.$cxx
	# the targets are never built with the sanitizers (the tool is, in
	# quick mode): their stacks are what is compared
	if ! "$cxx" -O2 -fomit-frame-pointer -g -pthread tests/remote/mt_target.cc \
		-o "$bin" 2>"$logs/build.$cxx.log"; then
		bad "mt_target: $cxx build" "$logs/build.$cxx.log"
		continue
	fi
	for c in "${cases[@]}"; do
		read -r nt depth <<<"$c"
		name=mt.$cxx.${nt}x$depth
		if ! start_target "$name" --blocked "$bin" "$nt" "$depth"; then
			bad "$name: target ready"
			continue
		fi
		pid=$tpid
		capture "$name" "$pid"
		compare "$name" --sw-text "$logs/$name.txt" --eu "$logs/$name.eu" --gdb "$logs/$name.gdb"
		jchecks "$name" \
			"every thread, each walked to its outermost frame" \
			"len(T) == $nt + 1 and all(t['end'] == 'outermost' and t['frames'] for t in T)" \
			"every frame found from unwind information (reliable)" \
			"all(f['reliable'] for f in F)" \
			"names demangled: the template, the lambda, the member template" \
			"all(any(s in names(t) for t in T) for s in ('level_a<', '{lambda(', 'Walker::level_c<'))" \
			"the handler threads: the trampoline frame, and the frame the signal interrupted (source signal)" \
			"len(named('worker-0') + named('worker-1')) == 2 and all(any(f['trampoline'] for f in t['frames']) and any(f['source'] == 'signal' and f['signal_frame'] for f in t['frames']) for t in named('worker-0') + named('worker-1'))" \
			"the last worker's name (a quote, a backslash, a newline, a byte not UTF-8) escaped" \
			"any(t['name'] == 'w' + chr(34) + 'q' + chr(92) + chr(10) + chr(255) for t in T)" \
			"file:line from DWARF for the target's frames" \
			"all(f['file'] and f['file'].endswith('mt_target.cc') and f['line'] for f in F if f['function'] and 'level_a<' in f['function'])"
		if [[ $c == "8 20" && $cxx == g++ ]]; then
			# ---- --thread, --max-frames on the small target
			tid=$("$py" -c 'import json,sys; print([t["tid"] for t in json.load(open(sys.argv[1]))["threads"] if t["name"] == "worker-3"][0])' "$logs/$name.json")
			rc=0
			"$tool" stack --json --thread "$tid" "$pid" >"$logs/thread.json" 2>"$logs/thread.err" || rc=$?
			if ((rc == 0)) && "$py" - "$logs/thread.json" "$logs/$name.json" "$tid" <<'PY'
import json, sys
one = json.load(open(sys.argv[1]))["threads"]
full = [t for t in json.load(open(sys.argv[2]))["threads"] if t["tid"] == int(sys.argv[3])]
sys.exit(0 if len(one) == 1 and one[0]["tid"] == int(sys.argv[3]) and
         [f["pc"] for f in one[0]["frames"]] == [f["pc"] for f in full[0]["frames"]] else 1)
PY
			then ok "--thread $tid: that thread alone, the same frames"
			else bad "--thread $tid: exit $rc or other threads/frames" "$logs/thread.err"; fi
			rc=0
			"$tool" stack --max-frames 5 "$pid" >"$logs/max.txt" 2>"$logs/max.err" || rc=$?
			n5=$(awk '/^Thread/ { n = 0 } /^#/ { n++; if (n > m) m = n } END { print m + 0 }' "$logs/max.txt")
			ends=$(grep -c '(walk ended: --max-frames reached)' "$logs/max.txt" || true)
			if ((rc == 0 && n5 == 5 && ends == nt + 1)); then
				ok "--max-frames 5: at most 5 frames a thread, each says so"
			else
				bad "--max-frames 5: exit $rc, longest $n5 frames, $ends threads say the limit ended them" "$logs/max.txt"
			fi
			rc=0
			"$tool" stack --json --no-symbols "$pid" >"$logs/nosym.json" 2>"$logs/nosym.err" || rc=$?
			if ((rc == 0)) && "$py" - "$logs/nosym.json" "$logs/$name.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["threads"] for p in sys.argv[1:3])
pcs = lambda T: {t["tid"]: [f["pc"] for f in t["frames"]] for t in T}
sys.exit(0 if pcs(a) == pcs(b) and all(f["function"] is None and f["module"]
                                       for t in a for f in t["frames"]) else 1)
PY
			then ok "--no-symbols: the same PCs, modules, no names"
			else bad "--no-symbols: exit $rc, other PCs or names given" "$logs/nosym.err"; fi
			# ---- the target is detached and runs on (no thread traced or stopped)
			if grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" &&
				! grep -l '^State:[[:space:]]*[tT]' /proc/"$pid"/task/*/status >/dev/null 2>&1; then
				ok "after stackwalk: the target is not traced and no thread is stopped"
			else
				bad "after stackwalk: the target is still traced or stopped"
			fi
			# ---- the tool interrupted (SIGINT, SIGTERM) at different
			# moments of its attach: the target must be let go each time
			left=0
			for d in 0 0.002 0.005 0.01 0.02 0.05; do
				for sig in INT TERM; do
					"$tool" stack "$pid" >/dev/null 2>&1 &
					s=$!
					sleep "$d"
					kill -s "$sig" "$s" 2>/dev/null || true
					wait "$s" 2>/dev/null || true
					if ! grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" ||
						grep -l '^State:[[:space:]]*[tT]' /proc/"$pid"/task/*/status >/dev/null 2>&1; then
						left=$((left + 1))
						echo "SIG$sig after ${d}s: target left traced or stopped" >>"$logs/interrupt.log"
					fi
				done
			done
			if ((left == 0)); then
				ok "the tool interrupted by SIGINT/SIGTERM 12 times during its attach: the target runs on, untraced"
			else
				bad "the tool interrupted: $left times the target was left traced or stopped" "$logs/interrupt.log"
			fi
			# ---- a process we may not trace: another user's
			if command -v setpriv >/dev/null && ((EUID == 0)); then
				rc=0
				t_timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$tool" stack "$pid" \
					>"$logs/eperm.out" 2>"$logs/eperm.err" || rc=$?
				if ((rc == 1)) && own_error "$logs/eperm.err" && [[ ! -s $logs/eperm.out ]]; then
					ok "another user's process: exit 1, '$(head -n 1 "$logs/eperm.err")'"
				else
					bad "another user's process: exit $rc (want 1 and a message)" "$logs/eperm.err"
				fi
			else
				skip "ptrace permission" "needs root and setpriv to run as another user"
			fi
		fi
		stop_target "$pid"
	done
done

# ---- JIT code: tests/remote/jit_target.c (remote_jit.sh's target, used
# here as it is) blocks two threads under chains of generated functions
# registered with stackwalk's registry and so published to the GDB JIT
# interface.  gdb reads that interface: its frames must be ours.  eu-stack
# does not: it has no unwind information for the generated code, guesses
# through it with the frame pointer chain and loses the functions that keep
# none (jit_f2, jit_f0), and names none.  That is eu-stack being wrong, so
# its comparison is counted apart: it must agree with us up to the first
# JIT frame and differ only from there.
if gcc -std=gnu11 -g -O2 -Iinclude -Itests/jit "${SAN_FLAGS[@]}" tests/remote/jit_target.c tests/jit/emit.c \
	"$build/libstackwalk.a" -ldl -lpthread -o "$out/jit_target" >"$logs/build.jit_target.log" 2>&1; then
	if start_target jit "$out/jit_target"; then
		pid=$tpid
		capture jit "$pid"
		compare jit --sw-text "$logs/jit.txt" --gdb "$logs/jit.gdb"
		jchecks jit \
			"the JIT frames named in order, found through their CFI (source jit) where they keep no frame pointer" \
			"len(T) == 2 and all(any(' '.join(f['function'] or '??' for f in t['frames'] if f['module'] and f['module'].startswith('[jit]')) == ' '.join(c + str(k) for k in (3, 2, 1, 0)) for c in ('jit_f', 'jit_g')) for t in T) and sum(f['source'] == 'jit' for f in F) >= 6 and all(f['reliable'] for f in F)"
		if "$py" - "$logs/jit.json" "$logs/jit.eu" >"$logs/jit.eucmp" 2>&1 <<'PY'
import json, re, sys
T = json.load(open(sys.argv[1]))["threads"]
eu, cur = {}, None
for line in open(sys.argv[2]):
    m = re.match(r"^TID (\d+):", line)
    if m:
        cur = eu.setdefault(int(m.group(1)), [])
    m = re.match(r"^#\d+ +0x([0-9a-f]+)", line)
    if m and cur is not None:
        cur.append(int(m.group(1), 16))
good = True
for t in T:
    sw = [int(f["pc"], 16) for f in t["frames"]]
    jit = [i for i, f in enumerate(t["frames"]) if (f["module"] or "").startswith("[jit]")]
    e = eu.get(t["tid"], [])
    n = 0
    while n < min(len(sw), len(e)) and sw[n] == e[n]:
        n += 1
    print("thread %d: eu-stack %d frames, stackwalk %d, the same up to #%d, JIT frames #%d..#%d"
          % (t["tid"], len(e), len(sw), n, jit[0] if jit else -1, jit[-1] if jit else -1))
    good = good and jit and n > jit[0] and e != sw
sys.exit(0 if good else 1)
PY
		then ok "jit: eu-stack (no JIT interface) agrees up to the first JIT frame and loses frames from there (counted apart: eu-stack is wrong there)"
		else bad "jit: eu-stack's frames are not ours up to the JIT code, or are all of them" "$logs/jit.eucmp"; fi
		stop_target "$pid"
		rm -f "/tmp/perf-$pid.map"
	else
		bad "jit: target ready"
	fi
else
	bad "jit: build jit_target" "$logs/build.jit_target.log"
fi

# ---- a PID with no process: the one of a child that has exited
true &
gone=$!
wait "$gone" || true
rc=0
t_timeout 30 "$tool" stack "$gone" >"$logs/nopid.out" 2>"$logs/nopid.err" || rc=$?
if ((rc == 1)) && own_error "$logs/nopid.err" && [[ ! -s $logs/nopid.out ]]; then
	ok "no such process: exit 1, '$(head -n 1 "$logs/nopid.err")'"
else
	bad "no such process: exit $rc (want 1, a message, no output)" "$logs/nopid.err"
fi
rc=0
"$tool" stack >/dev/null 2>&1 || rc=$?
if ((rc == 2)); then ok "no PID: usage, exit 2"; else bad "no PID: exit $rc, want 2"; fi
rc=0
"$tool" stack --max-frames x 1 >/dev/null 2>&1 || rc=$?
if ((rc == 2)); then ok "bad --max-frames: exit 2"; else bad "bad --max-frames: exit $rc, want 2"; fi

# ---- targets that exit or exec while being attached: mt_target "exit"
# leaves a few milliseconds after starting its threads, "exec" becomes
# `sleep 0.2` then
bin=$out/mt_target.g++
if [[ -x $bin ]]; then
	runs=$([[ $mode == quick ]] && echo 5 || echo 20)
	badruns=0 walked=0 failed_to=0
	for ((i = 0; i < runs; i++)); do
		# even runs: the target exits; odd runs: it execs sleep
		"$bin" 8 20 "$( ((i % 2)) && echo exec || echo exit)" >/dev/null 2>&1 &
		p=$!
		# the tool in the background, watched: if it is still running after
		# 60 s (a hang), what it and the target are doing goes to the log
		"$tool" stack "$p" >"$logs/exit.$i.out" 2>"$logs/exit.$i.err" &
		s=$!
		for ((w = 0; w < 600; w++)); do
			kill -0 "$s" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$s" 2>/dev/null; then
			{
				echo "run $i: stackwalk stack $p still running after 60 s"
				echo "target: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
				grep -H 'State\|TracerPid' /proc/"$p"/task/*/status 2>/dev/null
				echo "stackwalk's threads (system call, kernel stack):"
				for tt in /proc/"$s"/task/*; do
					echo "  ${tt##*/}: $(cat "$tt/syscall" 2>/dev/null)"
					sed 's/^/      /' "$tt/stack" 2>/dev/null
				done
				t_timeout 30 eu-stack -p "$s" 2>&1
			} >>"$logs/exit.log"
			kill -9 "$s" 2>/dev/null || true
		fi
		rc=0
		wait "$s" || rc=$?
		case $rc in
		0) walked=$((walked + 1)) ;;
		1) if own_error "$logs/exit.$i.err" || [[ ! -s $logs/exit.$i.err ]]; then
			failed_to=$((failed_to + 1))
		   else
			badruns=$((badruns + 1)); cat "$logs/exit.$i.err" >>"$logs/exit.log"
		   fi ;;
		*) badruns=$((badruns + 1)); echo "run $i: exit $rc" >>"$logs/exit.log"; cat "$logs/exit.$i.err" >>"$logs/exit.log" ;;
		esac
		# the target must end by itself (never left stopped or traced)
		for ((w = 0; w < 300; w++)); do
			kill -0 "$p" 2>/dev/null || break
			[[ $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) != Z ]] || break
			sleep 0.1
		done
		if kill -0 "$p" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) != Z ]]; then
			badruns=$((badruns + 1))
			echo "run $i: target $p still alive after 30 s" >>"$logs/exit.log"
			grep -H State /proc/"$p"/task/*/status >>"$logs/exit.log" 2>/dev/null || true
			kill -9 "$p" 2>/dev/null || true
		fi
		wait "$p" 2>/dev/null || true
	done
	if ((badruns == 0)); then
		ok "targets exiting or exec'ing while attached: $runs runs, no hang or crash ($walked walked, $failed_to gone first)"
	else
		bad "targets exiting or exec'ing while attached: $badruns of $runs runs went wrong" "$logs/exit.log"
	fi
fi

# ---- python3 running a script: threads asleep under Python frames, one spinning
cat >"$out/target.py" <<'EOF'
import sys, threading, time
def nest(k, fn):
    return fn() if k == 0 else nest(k - 1, fn)
def sleeper(k):
    nest(k, lambda: time.sleep(3600))
def spinner():
    x = 0
    while True:
        x = (x + 1) % 1000003
for k in range(4):
    threading.Thread(target=sleeper, args=(5 + k,), name="sleeper%d" % k, daemon=True).start()
threading.Thread(target=spinner, name="spinner", daemon=True).start()
time.sleep(0.2)
print("ready", flush=True)
nest(3, lambda: time.sleep(3600))
EOF
if start_target python "$py" "$out/target.py"; then
	pid=$tpid
	# "ready" comes before the main thread sleeps: on its way there it
	# waits for the GIL the spinner holds (up to the 5 ms switch interval,
	# a few times), and a capture made then differs from a later one; so
	# wait (at most 60 s: a hang guard) until every thread but the spinner
	# is in clock_nanosleep (230)
	for ((i = 0; i < 600; i++)); do
		asleep_but_one "$pid" 230 && break
		sleep 0.1
	done
	((i < 600)) || echo "python: not every thread got to time.sleep" >&2
	capture python "$pid" nogdb
	# the spinning thread: the one whose frame #0 is not in a system call
	# wrapper; in Python 3.11 threading names the OS thread only from 3.12
	# on, so it is found by its state (R) in /proc
	spin=$(for s in /proc/"$pid"/task/*/stat; do awk '$3 == "R" { print $1 }' "$s"; done 2>/dev/null | head -n 1)
	blocked=$("$py" -c 'import json,sys; print(",".join(str(t["tid"]) for t in json.load(open(sys.argv[1]))["threads"] if str(t["tid"]) != sys.argv[2]))' \
		"$logs/python.json" "${spin:-0}")
	compare python --eu "$logs/python.eu" --tids "$blocked"
	if [[ -n $spin ]]; then
		# the spinner runs between the two captures: its innermost frames
		# differ; its outermost three (the thread's start) must not
		if "$py" - "$logs/python.json" "$logs/python.eu" "$spin" >"$logs/python.spin" 2>&1 <<'PY'
import json, re, sys
tid = int(sys.argv[3])
sw = [int(f["pc"], 16) for t in json.load(open(sys.argv[1]))["threads"] if t["tid"] == tid for f in t["frames"]]
eu, cur = [], False
for line in open(sys.argv[2]):
    if line.startswith("TID "):
        cur = line.startswith("TID %d:" % tid)
    m = re.match(r"^#\d+ +0x([0-9a-f]+)", line)
    if cur and m:
        eu.append(int(m.group(1), 16))
print("stackwalk", [hex(x) for x in sw[-3:]], "eu-stack", [hex(x) for x in eu[-3:]])
sys.exit(0 if len(sw) > 3 and sw[-3:] == eu[-3:] else 1)
PY
		then ok "python: the spinning thread (counted apart: it runs between captures) ends in the same outermost frames"
		else bad "python: the spinning thread's outermost frames differ" "$logs/python.spin"; fi
	else
		skip "python spinner" "no thread was running when looked at"
	fi
	stop_target "$pid"
else
	bad "python: target ready"
fi

t_finish
