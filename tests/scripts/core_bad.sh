#!/usr/bin/env bash
# sw_as_open_core (src/remote/core.c) on real cores and on damaged ones,
# through tests/remote/core_probe.c (threads, modules, every thread's
# frames; it must never crash nor hang).  The target is a small program
# built here (gcc -O2 -g, threads on 64 KiB stacks so the core stays near
# 1 MB): main and two threads blocked in chains of noinline functions.
#   intact     the gcore core opens, every thread walks to its end
#              (SW_END_OF_STACK) through the chain, and each thread's PCs
#              are eu-stack --core's
#   nofile     NT_FILE's note type rewritten: the modules come from the
#              dynamic linker's r_debug list in the core, the same frames
#   machine    e_machine patched to AArch64: SW_EUNSUPPORTED
#   truncated  cut to the header, 100 bytes, 25/50/90 % (gcore writes the
#              notes last: no thread, SW_EBADELF with a message), and a
#              notes-first copy (the kernel's layout) cut at 90 %: opens,
#              warns "core truncated", still walks
#   flipped    a few hundred variants with bits flipped in the headers,
#              notes, stacks and anywhere (fixed seeds): no crash, no hang
#   kernel     a core the kernel wrote for a SIGSEGV (when core_pattern
#              writes plain files; skipped otherwise): the faulting thread
#              first with signal 11 and the fault address, eu-stack's PCs
# Quick mode (ASan+UBSan probe) runs fewer flipped variants.
#
#   tests/scripts/core_bad.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib core_bad "$@"
t_need gcc gdb gcore eu-stack python3
t_sanitizer_env

# ---------------------------------------------------------------- programs
cat >"$out/target.c" <<'EOF'
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int *volatile bad = (int *)0x10;
static int mode_segv;

__attribute__((noinline)) static void leaf(int depth)
{
	if (mode_segv && depth == 0)
		*bad = 1;                  /* the kernel core's fault: si_addr 0x10 */
	for (;;)
		pause();
}
__attribute__((noinline)) static void chain(int n, int depth)
{
	if (n > 0)
		chain(n - 1, depth);
	else
		leaf(depth);
	__asm__ volatile("" ::: "memory");
}
static void *thread_main(void *arg)
{
	chain((int)(long)arg, 1);
	return NULL;
}
int main(int argc, char **argv)
{
	mode_segv = argc > 1 && strcmp(argv[1], "segv") == 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	pthread_t t[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], &a, thread_main, (void *)(3 + i));
	printf("ready\n");
	fflush(stdout);
	sleep(1);                          /* the threads reach pause() */
	chain(5, 0);
	return 0;
}
EOF
gcc -O2 -g -pthread -fno-inline-functions-called-once "$out/target.c" -o "$out/target" ||
	t_abort "cannot build the target program"
gcc -std=gnu11 -O1 -g "${WARN[@]}" "${SAN_FLAGS[@]}" -Iinclude tests/remote/core_probe.c \
	"$build/libstackwalk.a" -ldl -lpthread -o "$out/core_probe" || t_abort "cannot build core_probe"
probe=$out/core_probe

# ---------------------------------------------------------------- the gcore core
"$out/target" >"$out/target.out" &
tpid=$!
for _ in $(seq 100); do
	grep -q ready "$out/target.out" 2>/dev/null && break
	sleep 0.1
done
sleep 1.5                              # past the target's sleep(1): every thread in pause()
t_timeout 120 gcore -o "$out/core" "$tpid" >"$logs/gcore.log" 2>&1 || true
kill "$tpid" 2>/dev/null || true
wait "$tpid" 2>/dev/null || true
core=$out/core.$tpid
[[ -s $core ]] || t_abort "gcore wrote no core (see $logs/gcore.log)"
echo "core: $(stat -c %s "$core") bytes"

# run_probe NAME ARGS...: core_probe ARGS > $logs/NAME.txt; its exit status
run_probe() {
	local name=$1 rc=0
	shift
	t_timeout 120 "$probe" "$@" >"$logs/$name.txt" 2>"$logs/$name.err" || rc=$?
	return $rc
}

# frames FILE: "TID PC NAME" per frame line of a probe output
frames() {
	awk '$1 == "thread" { tid[$2] = $3 } $1 == "frame" { sub(/\+.*/, "", $6); print tid[$2], $4, $6 }' "$1"
}

# check_walk NAME: every thread of the probe output NAME walked to
# SW_END_OF_STACK (1) through leaf and chain
check_walk() {
	local f=$logs/$1.txt n ends
	n=$(grep -c '^thread ' "$f" || true)
	ends=$(grep -c '^end [0-9]* 1$' "$f" || true)
	if ((n == 3 && ends == 3)) && [[ $(grep -c ' leaf+' "$f") == 3 ]] &&
		grep -q ' main+' "$f" && [[ $(grep -c ' thread_main+' "$f") == 2 ]]; then
		ok "$1: 3 threads walked to their ends through leaf, chain, main / thread_main"
	else
		bad "$1: threads $n, walks ended $ends of 3 (want 3 and 3 through leaf)" "$f"
	fi
}

# eu_compare NAME CORE: each thread's PCs equal eu-stack --core's
eu_compare() {
	local name=$1 c=$2
	t_timeout 120 eu-stack --core "$c" --executable "$out/target" >"$logs/$name.eu" 2>&1 || true
	if python3 - "$logs/$name.eu" "$logs/$name.txt" <<'PY'
import re, sys
eu, cur = {}, None
for l in open(sys.argv[1]):
    m = re.match(r'TID (\d+):', l)
    if m:
        cur = eu.setdefault(m.group(1), [])
        continue
    m = re.match(r'#\d+\s+0x([0-9a-f]+)', l)
    if m and cur is not None:
        cur.append(int(m.group(1), 16))
tid, sw = {}, {}
for l in open(sys.argv[2]):
    f = l.split()
    if f[0] == 'thread':
        tid[f[1]] = f[2]
    elif f[0] == 'frame':
        sw.setdefault(tid[f[1]], []).append(int(f[3], 16))
bad = 0
for t, pcs in eu.items():
    mine = sw.get(t, [])
    if pcs != mine:
        bad += 1
        print('thread %s: eu-stack %s' % (t, ' '.join(map(hex, pcs))))
        print('thread %s: stackwalk %s' % (t, ' '.join(map(hex, mine))))
sys.exit(1 if bad or not eu or set(eu) != set(sw) else 0)
PY
	then ok "$name: every thread's PCs are eu-stack --core's ($(grep -c '^#' "$logs/$name.eu") frames)"
	else bad "$name: PCs differ from eu-stack --core's" "$logs/$name.eu"; fi
}

if run_probe intact "$core"; then
	ok "intact: probe exit 0"
	grep -q '^open: 0' "$logs/intact.txt" || bad "intact: open failed" "$logs/intact.txt"
	check_walk intact
	if grep -q "^module .* flags=0x1 .*/target " "$logs/intact.txt" &&
		grep -q '^module .*libc.so.6' "$logs/intact.txt" &&
		grep -q '^module .* flags=0x2 \[vdso\]' "$logs/intact.txt"; then
		ok "intact: modules: the executable (SW_MOD_MAIN), libc, the vDSO"
	else
		bad "intact: modules missing" "$logs/intact.txt"
	fi
	eu_compare intact "$core"
else
	bad "intact: probe crashed" "$logs/intact.err"
fi

# ---------------------------------------------------------------- rewritten cores
# edit.py MODE IN OUT: nofile (NT_FILE's type changed), machine (e_machine
# = AArch64), notesfirst (notes moved right after the program headers, as
# the kernel writes them; memory after them)
cat >"$out/edit.py" <<'EOF'
import struct, sys
mode, src, dst = sys.argv[1:4]
b = bytearray(open(src, 'rb').read())
phoff, = struct.unpack_from('<Q', b, 32)
phnum, = struct.unpack_from('<H', b, 56)
phs = [list(struct.unpack_from('<IIQQQQQQ', b, phoff + i * 56)) for i in range(phnum)]
if mode == 'nofile':
    n = 0
    for t, fl, off, va, pa, fsz, msz, al in phs:
        if t != 4:
            continue
        p = off
        while p + 12 <= off + fsz:
            nsz, dsz, typ = struct.unpack_from('<III', b, p)
            if typ == 0x46494c45:
                struct.pack_into('<I', b, p + 8, 0x46494c00)
                n += 1
            p += 12 + ((nsz + 3) & ~3) + ((dsz + 3) & ~3)
    assert n == 1, n
elif mode == 'machine':
    struct.pack_into('<H', b, 18, 183)
elif mode == 'notesfirst':
    out = bytearray(b[:phoff + phnum * 56])
    order = sorted(range(phnum), key=lambda i: (phs[i][0] != 4, i))
    for i in order:
        ph = phs[i]
        data = b[ph[2]:ph[2] + ph[5]]
        ph[2] = len(out)
        out += data
    for i, ph in enumerate(phs):
        struct.pack_into('<IIQQQQQQ', out, phoff + i * 56, *ph)
    b = out
open(dst, 'wb').write(b)
EOF

python3 "$out/edit.py" nofile "$core" "$out/core.nofile" || t_abort "cannot rewrite the core"
if run_probe nofile "$out/core.nofile"; then
	check_walk nofile
	if grep -q '^module .* flags=0x1 .*target ' "$logs/nofile.txt" &&
		grep -q '^module .*libc.so.6 /' "$logs/nofile.txt"; then
		ok "nofile: modules from r_debug: the executable, libc"
	else
		bad "nofile: modules not found through r_debug" "$logs/nofile.txt"
	fi
	if diff <(frames "$logs/intact.txt") <(frames "$logs/nofile.txt") >"$logs/nofile.diff"; then
		ok "nofile: the same frames as with NT_FILE ($(frames "$logs/nofile.txt" | wc -l))"
	else
		bad "nofile: frames differ from the intact core's" "$logs/nofile.diff"
	fi
else
	bad "nofile: probe crashed" "$logs/nofile.err"
fi

python3 "$out/edit.py" machine "$core" "$out/core.machine"
if run_probe machine "$out/core.machine" && grep -q "^open: $(printf '%d' -24) .*x86-64" "$logs/machine.txt"; then
	ok "machine: AArch64's e_machine: SW_EUNSUPPORTED with a message"
else
	bad "machine: want SW_EUNSUPPORTED (-24)" "$logs/machine.txt"
fi

# ---------------------------------------------------------------- truncated
size=$(stat -c %s "$core")
for cut in 0 40 64 100 $((size / 4)) $((size / 2)) $((size * 9 / 10)) $((size - 1)); do
	name=trunc-$cut
	head -c "$cut" "$core" >"$out/core.$name"
	if run_probe "$name" "$out/core.$name"; then
		rc=$(sed -n 's/^open: \(-*[0-9]*\).*/\1/p' "$logs/$name.txt")
		msg=$(sed -n 's/^open: -[0-9]* //p' "$logs/$name.txt")
		if [[ $rc == 0 ]] || [[ $rc -lt 0 && -n $msg ]]; then
			ok "$name: open $rc${msg:+ ($msg)}"
		else
			bad "$name: a failure without a message" "$logs/$name.txt"
		fi
	else
		bad "$name: probe crashed" "$logs/$name.err"
	fi
done

python3 "$out/edit.py" notesfirst "$core" "$out/core.notesfirst"
if run_probe notesfirst "$out/core.notesfirst"; then
	check_walk notesfirst
else
	bad "notesfirst: probe crashed" "$logs/notesfirst.err"
fi
nsize=$(stat -c %s "$out/core.notesfirst")
head -c $((nsize * 9 / 10)) "$out/core.notesfirst" >"$out/core.nf90"
if run_probe nf90 "$out/core.nf90"; then
	if grep -q '^open: 0' "$logs/nf90.txt" && grep -q '^warning: core truncated: [0-9]* of [0-9]* bytes of memory missing' "$logs/nf90.txt" &&
		[[ $(grep -c '^thread ' "$logs/nf90.txt") == 3 ]]; then
		ok "nf90: a notes-first core cut at 90 % opens with a truncation warning, 3 threads ($(grep -c '^frame' "$logs/nf90.txt") frames)"
	else
		bad "nf90: want open 0, the truncation warning, 3 threads" "$logs/nf90.txt"
	fi
else
	bad "nf90: probe crashed" "$logs/nf90.err"
fi

# ---------------------------------------------------------------- flipped
if [[ $mode == quick ]]; then variants=(1:30 2:30); else variants=(1:150 2:150 3:100); fi
for v in "${variants[@]}"; do
	seed=${v%%:*} count=${v#*:}
	for c in core notesfirst; do
		[[ $c == core ]] && f=$core || f=$out/core.$c
		name=flip-$c-$seed
		# another stream per layout: the same offsets would flip the same bits
		[[ $c == core ]] || seed=$((seed + 1000))
		if run_probe "$name" --mutate "$seed" "$count" "$f"; then
			ok "$name: $(cat "$logs/$name.txt")"
		else
			bad "$name: crashed or hung (seed $seed)" "$logs/$name.err"
		fi
	done
done

# ---------------------------------------------------------------- kernel core
kdir=$out/kernel
mkdir -p "$kdir"
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|')
if [[ $pattern == \|* ]]; then
	skip kernel "core_pattern pipes cores to a program ($pattern)"
else
	# (the shell's "Segmentation fault (core dumped)" is expected: hidden)
	{ (cd "$kdir" && ulimit -c unlimited && exec "$out/target" segv >/dev/null 2>&1) || true; } 2>/dev/null
	kcore=$(find "$kdir" -maxdepth 1 -name 'core*' -type f | head -n 1)
	if [[ -z $kcore ]]; then
		skip kernel "no core written (core_pattern '$pattern', ulimit -c $(ulimit -Hc))"
	elif run_probe kernel "$kcore"; then
		# the kernel writes pr_cursig into every thread's status: the
		# signal is the faulting thread's alone
		if grep -q '^thread 0 [0-9]* target signal=11 fault=0x10 ' "$logs/kernel.txt" &&
			grep -q '^frame 0 0 .* leaf+' "$logs/kernel.txt" &&
			(($(grep -c '^thread ' "$logs/kernel.txt") > 1)) &&
			! grep -q '^thread [1-9][0-9]* .* signal=[1-9]' "$logs/kernel.txt"; then
			ok "kernel: the faulting thread first, SIGSEGV at 0x10, in leaf; no other thread has the signal"
		else
			bad "kernel: want thread 0 with signal 11 and fault 0x10 in leaf" "$logs/kernel.txt"
		fi
		eu_compare kernel "$kcore"
	else
		bad "kernel: probe crashed" "$logs/kernel.err"
	fi
fi

t_finish
