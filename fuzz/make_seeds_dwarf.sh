#!/usr/bin/env bash
# Seeds for fuzz/fuzz_dwarf.c and fuzz/fuzz_line.c (the symbolizer's
# .debug_info/.debug_line readers): small C and C++ programs compiled here
# with gcc and clang, DWARF 4 and 5, -O0 and -O2.  A dwarf seed holds the
# program's DWARF sections in fuzz_dwarf's layout and, at its end, 16
# addresses of its functions; a line seed its .debug_line_str and
# .debug_line in fuzz_line's layout.
# Needs gcc, g++, clang, objcopy, nm, python3.  Files named seed-* in
# fuzz/corpus/dwarf/ are replaced; inputs the fuzzer added are left alone.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=fuzz/corpus/dwarf
LINE=fuzz/corpus/line
mkdir -p "$OUT" "$LINE"
rm -f "$OUT"/seed-* "$LINE"/seed-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/a.c" <<'C'
static inline int sq(int x) { return x * x; }
static __attribute__((noinline)) int add(int a, int b) { return sq(a) + b; }
int main(int argc, char **argv) { (void)argv; return add(argc, 2); }
C
cat >"$tmp/b.cc" <<'C'
#include <algorithm>
#include <vector>
namespace ns { template <class T> struct S { T v; T get() const { return v + 1; } }; }
int main(int argc, char **) {
	std::vector<int> v(argc + 3);
	std::for_each(v.begin(), v.end(), [](int &x) { x = ns::S<int>{x}.get(); });
	std::sort(v.begin(), v.end());
	return v[0];
}
C

pack() {   # pack ELF SEED LINESEED
	python3 - "$1" "$2" "$tmp" "$3" <<'PY'
import struct, subprocess, sys
elf, seed, tmp, lineseed = sys.argv[1:5]
names = [".debug_info", ".debug_abbrev", ".debug_line", ".debug_line_str", ".debug_str",
         ".debug_str_offsets", ".debug_addr", ".debug_ranges", ".debug_rnglists", ".debug_aranges"]
parts = []
for i, n in enumerate(names):
    out = f"{tmp}/sec.bin"
    r = subprocess.run(["objcopy", "--dump-section", f"{n}={out}", elf, f"{tmp}/junk"],
                       capture_output=True)
    import os
    data = open(out, "rb").read() if r.returncode == 0 and os.path.exists(out) else b""
    subprocess.run(["rm", "-f", out])
    if data:
        parts.append(struct.pack("<BI", i, len(data)) + data)
nm = subprocess.run(["nm", "--defined-only", elf], capture_output=True, text=True).stdout
addrs = [int(l.split()[0], 16) for l in nm.splitlines() if len(l.split()) == 3 and l.split()[1] in "tT"]
addrs = (sorted(addrs) * 16)[:16]
blob = struct.pack("<I", len(parts)) + b"".join(parts) + b"".join(struct.pack("<I", a + 4) for a in addrs)
open(seed, "wb").write(blob)
sec = {}
for p in parts:
    i, n = struct.unpack("<BI", p[:5])
    sec[names[i]] = p[5:]
ls, line = sec.get(".debug_line_str", b"")[:65535], sec.get(".debug_line", b"")
open(lineseed, "wb").write(bytes([0]) + struct.pack("<H", len(ls)) + ls + line)
PY
}

n=0
for cc in gcc clang; do
	for v in 4 5; do
		for o in 0 2; do
			$cc -O$o -gdwarf-$v -o "$tmp/a" "$tmp/a.c"
			pack "$tmp/a" "$OUT/seed-c-$cc-v$v-O$o" "$LINE/seed-c-$cc-v$v-O$o"
			cxx=g++; [[ $cc == clang ]] && cxx=clang++
			$cxx -O$o -gdwarf-$v -o "$tmp/b" "$tmp/b.cc"
			pack "$tmp/b" "$OUT/seed-cxx-$cc-v$v-O$o" "$LINE/seed-cxx-$cc-v$v-O$o"
			n=$((n + 2))
		done
	done
done

# fuzz_symfile: whole images (stripped of what the fuzzer does not read,
# to stay small): plain DWARF, zlib, zstd and .zdebug sections, and
# MiniDebugInfo only (Fedora's recipe: function symbols, xz, .gnu_debugdata)
SYMF=fuzz/corpus/symfile
mkdir -p "$SYMF"
rm -f "$SYMF"/seed-*
gcc -O2 -g -o "$tmp/s" "$tmp/a.c"
objcopy --remove-section=.comment --remove-section=.note.gnu.property "$tmp/s" "$SYMF/seed-plain"
objcopy --compress-debug-sections=zlib "$SYMF/seed-plain" "$SYMF/seed-zlib"
objcopy --compress-debug-sections=zstd "$SYMF/seed-plain" "$SYMF/seed-zstd"
objcopy --compress-debug-sections=zlib-gnu "$SYMF/seed-plain" "$SYMF/seed-zdebug"
nm "$tmp/s" --format=posix --defined-only | awk '$2 ~ /[Tt]/ { print $1 }' | sort >"$tmp/funcs"
objcopy --only-keep-debug "$tmp/s" "$tmp/mini"
objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols="$tmp/funcs" "$tmp/mini" "$tmp/mini2"
xz -f "$tmp/mini2"
strip --strip-all "$tmp/s" -o "$SYMF/seed-minidebuginfo"
objcopy --add-section .gnu_debugdata="$tmp/mini2.xz" "$SYMF/seed-minidebuginfo"
echo "make_seeds_dwarf: $n seeds each in $OUT and $LINE, $(ls "$SYMF" | wc -l) in $SYMF" >&2
