#!/usr/bin/env bash
# `stackwalk stack --core` (tools/stack.c over sw_as_open_core) against
# eu-stack --core and gdb, on cores of tests/remote/mt_target.cc (8 threads,
# depth 20, built here with g++ -O2 -fomit-frame-pointer -g):
#   gcore     a core written by gdb's gcore from the running target: every
#             thread's PCs equal eu-stack's and gdb's (gdb's tail-call
#             frames left out and counted, as in remote_stack.sh; gcore's
#             threads are stopped by gdb, so their registers are the ones a
#             live capture sees)
#   no-nt-file  the same core with its NT_FILE note renamed (as qemu writes
#             cores: no file list): the modules come from the dynamic
#             linker's r_debug list, and the frames must be the same as from
#             the intact core (eu-stack needs NT_FILE: not compared)
#   kernel    a core the kernel writes when worker 2 reads through NULL:
#             when /proc/sys/kernel/core_pattern names a file (no leading
#             '|': a pipe to systemd-coredump or apport is skipped with a
#             message), the frames equal eu-stack's, the faulting thread
#             comes first with SIGSEGV at 0x0 and its frame #0 in block_here
#   tables    the gcore core walked with every module file's compact table
#             built at its first miss (SW_TABLES=1) and with none
#             (SW_TABLES=0): the same text
#   bad       a file that is not a core: exit 1 and a message
#
#   tests/scripts/remote_core.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh remote_core "$@"
t_need gdb gcore eu-stack g++ python3
tool=$build/stackwalk
[[ -x $tool ]] || t_abort "no $tool (make tools)"
t_sanitizer_env
# a message of the tool's own, not a sanitizer's report (which exits 1 too)
own_error() {
	[[ -s $1 ]] && ! grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$1"
}
py=$(python3 -c 'import sys; print(sys.executable)')

targets=()
cleanup() {
	local p
	for p in "${targets[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---- is core support linked in?  A file that is not a core must give a
# clear error (exit 1), not a usage error or a crash
printf 'not a core\n' >"$out/notacore"
rc=0
t_timeout 30 "$tool" stack --core "$out/notacore" >"$logs/bad.out" 2>"$logs/bad.err" || rc=$?
if grep -qi 'unsupported\|not implemented\|unknown option\|unrecognized option' "$logs/bad.err"; then
	echo "remote_core: stackwalk stack --core is not available in this build:"
	cat "$logs/bad.err"
	skip "cores" "sw_as_open_core (src/remote/core.c) is not in this build"
	t_finish
	exit
fi
if ((rc == 1)) && own_error "$logs/bad.err" && [[ ! -s $logs/bad.out ]]; then
	ok "bad: not a core: exit 1, '$(head -n 1 "$logs/bad.err")'"
else
	bad "bad: not a core: exit $rc (want 1 and a message)" "$logs/bad.err"
fi

bin=$out/mt_target
# the target is never built with the sanitizers (the tool is, in quick
# mode): ASan would catch the SIGSEGV and write no core
g++ -O2 -fomit-frame-pointer -g -pthread tests/remote/mt_target.cc -o "$bin" \
	2>"$logs/build.log" || t_abort "cannot build mt_target"

# stack NAME CORE: stackwalk stack --json and text on CORE
stack() {
	local name=$1 core=$2 rc=0
	t_timeout 120 "$tool" stack --json --core "$core" --exe "$bin" >"$logs/$name.json" \
		2>"$logs/$name.json.err" || rc=$?
	if ((rc == 0)) && "$py" -m json.tool "$logs/$name.json" >/dev/null 2>&1; then
		ok "$name: stackwalk stack --json --core: exit 0, valid JSON"
	else
		bad "$name: stackwalk stack --json --core: exit $rc or invalid JSON" "$logs/$name.json.err"
	fi
	rc=0
	t_timeout 120 "$tool" stack --core "$core" --exe "$bin" >"$logs/$name.txt" 2>"$logs/$name.txt.err" || rc=$?
	if ((rc == 0)); then ok; else bad "$name: stackwalk stack --core (text): exit $rc" "$logs/$name.txt.err"; fi
}

# compare NAME ARGS...: the tool's PCs against the references
# shellcheck source=tests/remote/lib.sh
. tests/remote/lib.sh

# ---- gcore
"$bin" 8 20 >"$logs/gcore.target.out" 2>&1 &
pid=$!
targets+=("$pid")
# ready, and every thread blocked in a system call (see remote_stack.sh)
for ((i = 0; i < 600; i++)); do
	if grep -q '^ready' "$logs/gcore.target.out" 2>/dev/null; then
		blocked=1
		for f in /proc/"$pid"/task/*/syscall; do
			read -r nr _ <"$f" 2>/dev/null || nr=x
			[[ $nr =~ ^[0-9]+$ ]] || blocked=
		done
		[[ -z $blocked ]] || break
	fi
	sleep 0.1
done
core=$out/gcore.$pid
t_timeout 120 gcore -o "$out/gcore" "$pid" >"$logs/gcore.log" 2>&1 || true
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [[ -s $core ]]; then
	stack gcore "$core"
	t_timeout 120 eu-stack -n 0 --core "$core" --executable "$bin" >"$logs/gcore.eu" 2>&1 || true
	t_timeout 120 gdb -batch -nx -ex 'set debuginfod enabled off' -x tests/remote/gdb_frames.py \
		"$bin" "$core" >"$logs/gcore.gdb" 2>&1 || true
	compare gcore --sw-text "$logs/gcore.txt" --eu "$logs/gcore.eu" --gdb "$logs/gcore.gdb"

	# ---- the module files' compact tables: built at each file's first
	# miss (SW_TABLES=1: every step the rule cache misses goes through a
	# table) and never (SW_TABLES=0: the CFI interpreter): the same text
	for n in 1 0; do
		rc=0
		SW_TABLES=$n t_timeout 120 "$tool" stack --core "$core" --exe "$bin" \
			>"$logs/gcore.tables$n.txt" 2>"$logs/gcore.tables$n.err" || rc=$?
		if ((rc == 0)) && [[ -s $logs/gcore.txt ]] && cmp -s "$logs/gcore.txt" "$logs/gcore.tables$n.txt"; then
			ok "tables: SW_TABLES=$n gives the same stacks ($(grep -c '^ *#' "$logs/gcore.txt") frames)"
		else
			bad "tables: SW_TABLES=$n: exit $rc or other stacks" "$logs/gcore.tables$n.err"
			diff "$logs/gcore.txt" "$logs/gcore.tables$n.txt" | head -n 10 | sed 's/^/       /' || true
		fi
	done

	# ---- the same core without NT_FILE (n_type renamed in a copy)
	if "$py" - "$core" "$out/nofile.core" >"$logs/nofile.strip" 2>&1 <<'PY'
import shutil, struct, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copyfile(src, dst)
with open(dst, "r+b") as f:
    eh = f.read(64)
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    renamed = 0
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        ptype, _, off, _, _, filesz = struct.unpack("<IIQQQQ", f.read(40))
        if ptype != 4:  # PT_NOTE
            continue
        f.seek(off)
        notes = f.read(filesz)
        pos = 0
        while pos + 12 <= len(notes):
            namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
            if ntype == 0x46494C45:  # NT_FILE
                f.seek(off + pos + 8)
                f.write(struct.pack("<I", 0x7FFFFFF0))
                renamed += 1
            pos += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
print("NT_FILE notes renamed:", renamed)
sys.exit(0 if renamed else 1)
PY
	then
		stack no-nt-file "$out/nofile.core"
		if "$py" - "$logs/gcore.json" "$logs/no-nt-file.json" >"$logs/nofile.cmp" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
fa = {t["tid"]: [f["pc"] for f in t["frames"]] for t in a["threads"]}
fb = {t["tid"]: [f["pc"] for f in t["frames"]] for t in b["threads"]}
na = {t["tid"]: [f["function"] for f in t["frames"]] for t in a["threads"]}
nb = {t["tid"]: [f["function"] for f in t["frames"]] for t in b["threads"]}
for t in sorted(set(fa) | set(fb)):
    if fa.get(t) != fb.get(t) or na.get(t) != nb.get(t):
        print("thread", t, "differs:", fa.get(t), fb.get(t))
sys.exit(0 if fa == fb and na == nb and fa else 1)
PY
		then ok "no-nt-file: the same frames and names as from the intact core (modules from r_debug)"
		else bad "no-nt-file: frames differ from the intact core's" "$logs/nofile.cmp"; fi
	else
		bad "no-nt-file: no NT_FILE note found in the gcore core" "$logs/nofile.strip"
	fi
else
	bad "gcore: no core written" "$logs/gcore.log"
fi

# ---- a core the kernel writes
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|unknown')
if [[ $pattern == '|'* ]]; then
	skip "kernel" "core_pattern pipes cores to a program ('$pattern'): no core file to read"
elif ! ulimit -c unlimited 2>/dev/null && ! ulimit -c "$(ulimit -H -c)" 2>/dev/null ||
	[[ $(ulimit -c) == 0 ]]; then
	skip "kernel" "cores are limited to 0 bytes (ulimit -H -c: $(ulimit -H -c))"
else
	kdir=$out/kernel
	mkdir -p "$kdir"
	rc=0
	(cd "$kdir" && exec timeout -k 5 120 "$bin" 8 20 crash) >"$logs/kernel.target.out" 2>&1 || rc=$?
	# the core's name: the pattern with %p (pid) %e (comm) %s (signal) and
	# %% expanded and the others matched by any text, relative to the
	# target's directory; or the newest core* there
	# shellcheck disable=SC2012  # the newest file; names are ours
	kcore=$(ls -t "$kdir"/core* 2>/dev/null | head -n 1 || true)
	if [[ $pattern == /* ]]; then
		glob=$(sed -e 's/%%/\x01/g' -e 's/%s/11/g' -e 's/%[a-zA-Z]/*/g' -e 's/\x01/%/g' <<<"$pattern")
		# shellcheck disable=SC2086,SC2012  # the glob is meant; the newest file
		kcore=$(ls -t $glob* 2>/dev/null | head -n 1 || true)
	fi
	if ((rc != 139 && rc != 128 + 11)) && [[ -z $kcore ]]; then
		bad "kernel: the target did not die of SIGSEGV (status $rc)" "$logs/kernel.target.out"
	elif [[ -z $kcore || ! -s $kcore ]]; then
		skip "kernel" "no core file written for pattern '$pattern' (status $rc; a filesystem or limit forbids it?)"
	else
		stack kernel "$kcore"
		t_timeout 120 eu-stack -n 0 --core "$kcore" --executable "$bin" >"$logs/kernel.eu" 2>&1 || true
		compare kernel --sw-text "$logs/kernel.txt" --eu "$logs/kernel.eu"
		if "$py" - "$logs/kernel.json" >"$logs/kernel.sig" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["threads"][0]
print(t["tid"], t["name"], t["signal"], t["fault_addr"], t["frames"][0]["function"] if t["frames"] else None)
sys.exit(0 if t["signal"] == "SIGSEGV" and t["fault_addr"] == "0x0" and t["frames"]
         and "block_here" in (t["frames"][0]["function"] or "") and
         all(u["signal"] is None for u in d["threads"][1:]) else 1)
PY
		then ok "kernel: the faulting thread first, SIGSEGV at 0x0, frame #0 in block_here"
		else bad "kernel: faulting thread, signal or frame #0 wrong" "$logs/kernel.sig"; fi
		# (a kernel core has no thread names: each is the process's comm)
		if head -n 1 "$logs/kernel.txt" | grep -q '^Thread [0-9]* "[^"]*" (SIGSEGV at 0x0):$' &&
			(($(grep -c '^Thread .*(SIG' "$logs/kernel.txt") == 1)); then
			ok "kernel: the text names the signal and the fault address on the first thread only"
		else
			bad "kernel: no 'Thread N \"NAME\" (SIGSEGV at 0x0):' first line, or more than one" "$logs/kernel.txt"
		fi
	fi
	rm -f "$kdir"/core*
fi

t_finish
