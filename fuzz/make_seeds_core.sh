#!/usr/bin/env bash
# Seeds for fuzz/fuzz_core.c (sw_as_open_core and walks over a core): a
# small two-thread program built here (gcc -O2 -g), dumped by gcore and,
# when core_pattern writes plain files, by the kernel (a SIGSEGV), each
# core shrunk below 64 KiB to what a walk reads:
#   - the notes NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE
#     (not the FPU/XSAVE registers nor gdb's target description);
#   - the memory near each thread's SP (3 KiB), the first 1 KiB of every
#     ELF image mapped (module headers: build-ids), the vDSO, the
#     executable's dynamic section, r_debug, the link map and its names;
#   - the rest of each PT_LOAD stays described, without bytes
#     (p_filesz 0), as a core whose pages were not dumped.
# The executable is copied to build/fuzz/core_target and named by that
# relative path in NT_FILE (fuzz/run.sh runs from the repository), so the
# walks find its CFI.  Seeds: seed-core-gcore, seed-core-nofile (NT_FILE
# renamed: the r_debug path), seed-core-cut (cut at 60 %),
# seed-core-kernel.  Needs gcc, gdb (gcore), python3.
#
#   fuzz/make_seeds_core.sh [OUT_DIR]      (default fuzz/corpus/core)
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-fuzz/corpus/core}
mkdir -p "$OUT" build/fuzz
rm -f "$OUT"/seed-core-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/t.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static volatile int *volatile bad = (int *)0x10;
static int segv;
__attribute__((noinline)) static void leaf(int main_thread)
{
	if (segv && main_thread)
		*bad = 1;
	for (;;)
		pause();
}
__attribute__((noinline)) static void chain(int n, int main_thread)
{
	if (n > 0)
		chain(n - 1, main_thread);
	else
		leaf(main_thread);
	__asm__ volatile("" ::: "memory");
}
static void *thr(void *a) { chain((int)(long)a, 0); return NULL; }
int main(int argc, char **argv)
{
	segv = argc > 1 && strcmp(argv[1], "segv") == 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	pthread_t t;
	pthread_create(&t, &a, thr, (void *)3L);
	printf("ready\n");
	fflush(stdout);
	sleep(1);
	chain(2, 1);
	return 0;
}
C
gcc -O2 -g -pthread "$tmp/t.c" -o build/fuzz/core_target
exe=$PWD/build/fuzz/core_target

# the gcore core
"$exe" >"$tmp/out" &
pid=$!
for _ in $(seq 50); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.1; done
sleep 1.5
gcore -o "$tmp/core" "$pid" >/dev/null 2>&1 || true
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

# the kernel's core, when it writes one
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|')
if [[ $pattern != \|* ]]; then
	mkdir -p "$tmp/k"
	{ (cd "$tmp/k" && ulimit -c unlimited && exec "$exe" segv >/dev/null 2>&1) || true; } 2>/dev/null
fi

cat >"$tmp/shrink.py" <<'PY'
import struct, sys

src, dst, exe_abs, exe_rel, mode = sys.argv[1:6]
b = open(src, 'rb').read()
phoff, = struct.unpack_from('<Q', b, 32)
phnum, = struct.unpack_from('<H', b, 56)
phs = [struct.unpack_from('<IIQQQQQQ', b, phoff + i * 56) for i in range(phnum)]
loads = [p for p in phs if p[0] == 1]

def read(addr, n):
    for t, fl, off, va, pa, fsz, msz, al in loads:
        if va <= addr and addr + n <= va + fsz:
            return b[off + addr - va: off + addr - va + n]
    return None

def u64(addr):
    d = read(addr, 8)
    return struct.unpack('<Q', d)[0] if d else None

def cstr(addr):
    s = b''
    while addr and len(s) < 4096:
        c = read(addr + len(s), 1)
        if not c or c == b'\0':
            break
        s += c
    return len(s) + 1

# the notes kept, NT_FILE's exe path made relative
KEEP = {1, 3, 6, 0x53494749, 0x46494c45}
notes, sps, auxv = b'', [], {}
for t, fl, off, va, pa, fsz, msz, al in phs:
    if t != 4:
        continue
    p = off
    while p + 12 <= off + fsz:
        nsz, dsz, typ = struct.unpack_from('<III', b, p)
        name = b[p + 12:p + 12 + nsz]
        d0 = p + 12 + ((nsz + 3) & ~3)
        desc = b[d0:d0 + dsz]
        p = d0 + ((dsz + 3) & ~3)
        if not name.startswith(b'CORE') or typ not in KEEP:
            continue
        if typ == 1:
            sps.append(struct.unpack_from('<Q', desc, 112 + 19 * 8)[0])
        if typ == 6:
            for i in range(0, len(desc) - 15, 16):
                k, v = struct.unpack_from('<QQ', desc, i)
                auxv[k] = v
        if typ == 0x46494c45:
            cnt, page = struct.unpack_from('<QQ', desc, 0)
            names = desc[16 + cnt * 24:].split(b'\0')[:cnt]
            names = [exe_rel.encode() if n == exe_abs.encode() else n for n in names]
            desc = desc[:16 + cnt * 24] + b'\0'.join(names) + b'\0'
            if mode == 'nofile':
                typ = 0x46494c00
        notes += struct.pack('<III', nsz, len(desc), typ) + name + b'\0' * (((nsz + 3) & ~3) - nsz)
        notes += desc + b'\0' * (((len(desc) + 3) & ~3) - len(desc))

# the windows of memory kept: [lo, hi)
win = []
for sp in sps:
    win.append((sp - 256, sp + 3072))
for t, fl, off, va, pa, fsz, msz, al in loads:
    if fsz >= 4 and b[off:off + 4] == b'\x7fELF':
        win.append((va, va + 1024))
vdso = auxv.get(33)
if vdso:
    for t, fl, off, va, pa, fsz, msz, al in loads:
        if va <= vdso < va + fsz:
            win.append((va, va + min(fsz, 16384)))
if 31 in auxv:
    win.append((auxv[31], auxv[31] + cstr(auxv[31])))
# the r_debug path: AT_PHDR's PT_DYNAMIC, DT_DEBUG, the link map
phdr, phn = auxv.get(3), auxv.get(5) or 0
if phdr and phn:
    win.append((phdr, phdr + phn * 56))
    hdrs = [struct.unpack('<IIQQQQQQ', read(phdr + i * 56, 56) or b'\0' * 56) for i in range(phn)]
    bias = next((phdr - h[3] for h in hdrs if h[0] == 6), 0)
    for h in hdrs:
        if h[0] != 2:
            continue
        dyn = h[3] + bias
        win.append((dyn, dyn + h[5]))
        rdebug = None
        for i in range(h[5] // 16):
            tag, val = u64(dyn + i * 16), u64(dyn + i * 16 + 8)
            if tag == 21:
                rdebug = val
        if rdebug:
            win.append((rdebug, rdebug + 40))
            lm, n = u64(rdebug + 8), 0
            while lm and n < 64:
                win.append((lm, lm + 40))
                name = u64(lm + 8)
                if name:
                    win.append((name, name + cstr(name)))
                lm, n = u64(lm + 24), n + 1

# the windows merged (a cut inside a window would split an image)
merged = []
for lo, hi in sorted(win):
    if merged and lo <= merged[-1][1]:
        merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
    else:
        merged.append((lo, hi))
win = merged

# each PT_LOAD split into pieces with the bytes of the windows, the rest
# described without bytes
pieces = []
for t, fl, off, va, pa, fsz, msz, al in loads:
    cuts = sorted({va, va + msz} | {max(va, min(va + msz, x)) for w in win for x in w})
    for lo, hi in zip(cuts, cuts[1:]):
        keep = any(w[0] < hi and lo < w[1] for w in win) and hi <= va + fsz
        pieces.append((fl, lo, hi, b[off + lo - va: off + hi - va] if keep else b''))

n = 1 + len(pieces)
body_off = 64 + n * 56
out = bytearray(b[:64])
struct.pack_into('<QH', out, 32, 64, 0)
struct.pack_into('<H', out, 56, n)
struct.pack_into('<Q', out, 40, 0)           # no section headers
struct.pack_into('<HH', out, 58, 0, 0)
hdr = bytearray(struct.pack('<IIQQQQQQ', 4, 4, body_off, 0, 0, len(notes), 0, 1))
data = bytearray(notes)
for fl, lo, hi, d in pieces:
    hdr += struct.pack('<IIQQQQQQ', 1, fl, body_off + len(data), lo, 0, len(d), hi - lo, 1)
    data += d
out += hdr + data
open(dst, 'wb').write(out)
print('%s: %d bytes, %d segments' % (dst, len(out), len(pieces)))
PY

rel=build/fuzz/core_target
gcore_core=$(find "$tmp" -maxdepth 1 -name "core.*" -type f | head -n 1)
if [[ -n $gcore_core ]]; then
	python3 "$tmp/shrink.py" "$gcore_core" "$OUT/seed-core-gcore" "$exe" "$rel" file
	python3 "$tmp/shrink.py" "$gcore_core" "$OUT/seed-core-nofile" "$exe" "$rel" nofile
	size=$(stat -c %s "$OUT/seed-core-gcore")
	head -c $((size * 6 / 10)) "$OUT/seed-core-gcore" >"$OUT/seed-core-cut"
else
	echo "make_seeds_core: gcore wrote no core" >&2
	exit 1
fi
kcore=$(find "$tmp/k" -maxdepth 1 -name 'core*' -type f 2>/dev/null | head -n 1 || true)
if [[ -n $kcore ]]; then
	python3 "$tmp/shrink.py" "$kcore" "$OUT/seed-core-kernel" "$exe" "$rel" file
else
	echo "make_seeds_core: no kernel core (core_pattern '$pattern'): seed-core-kernel left out" >&2
fi
ls -l "$OUT"/seed-core-*
