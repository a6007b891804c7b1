#!/usr/bin/env bash
# Build the program of prog.c and the variants of it that
# tests/unit/test_sym_file.c opens, with the real tools (gcc, objcopy,
# strip, nm, xz, dwz):
#   tests/sym_file/make_variants.sh OUTDIR [CC] [CFLAGS...]
# OUTDIR (absolute) receives:
#   plain                        gcc -g, uncompressed DWARF (the reference)
#   zlib zstd zdebug             objcopy --compress-debug-sections=zlib-gabi/zstd/zlib-gnu
#   dl/prog + dl/prog.debug      stripped + .gnu_debuglink, debug file next to it
#   dl2/prog + dl2/.debug/prog.debug        ... in .debug/
#   dl3/prog + gdir/OUTDIR/dl3/prog.debug   ... under the global dir gdir
#   dlbad/prog + dlbad/prog.debug            ... debug file with a wrong CRC
#   bid/prog + bdir/.build-id/xx/rest.debug  stripped, found by build-id
#   mini                         stripped, MiniDebugInfo (Fedora's recipe)
#   dwz/{a,b,common.debug}       dwz -m with an absolute -M path
#   dwzsplit/{a,a.debug}         dwz/a split: the link is in a.debug
#   dwzrel/{a,b,common.debug}    dwz -m -r (path relative to a and b)
#   dwzbid/{a,b} + bdir/.build-id/xx/rest.debug of the common file,
#                                the link's path missing
#   dwzbad/{a,b,common.debug}    common.debug replaced by another dwz file
# Exits nonzero (with a message) when a tool fails; prints "dwz: missing"
# to stderr and skips the dwz variants when dwz is not installed.
set -euo pipefail

out=$1
cc=${2:-gcc}
shift $(($# >= 2 ? 2 : 1))
cflags=("$@")
((${#cflags[@]})) || cflags=(-O2 -g)
src=$(cd "$(dirname "$0")" && pwd)

[[ $out == /* ]] || { echo "$0: OUTDIR must be absolute" >&2; exit 2; }
mkdir -p "$out"
cd "$out"

# -rdynamic: the globals go to .dynsym, the statics only to .symtab (and
# MiniDebugInfo), as in a shared library
"$cc" "${cflags[@]}" -rdynamic -Wl,--build-id -o plain "$src/prog.c"

objcopy --compress-debug-sections=zlib-gabi plain zlib
objcopy --compress-debug-sections=zstd plain zstd
objcopy --compress-debug-sections=zlib-gnu plain zdebug

bid_path() { # FILE -> xx/rest.debug of its build-id
	local id
	id=$(readelf -n "$1" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p' | head -1)
	[[ -n $id ]] || { echo "$0: $1 has no build-id" >&2; exit 1; }
	echo "${id:0:2}/${id:2}.debug"
}

# separate debug files
stripped_with_link() { # DIR DEBUGFILE
	mkdir -p "$1"
	objcopy --only-keep-debug plain "$2"
	strip --strip-all -o "$1/prog" plain
	objcopy --add-gnu-debuglink="$2" "$1/prog"
}
stripped_with_link dl dl/prog.debug
mkdir -p dl2/.debug
stripped_with_link dl2 dl2/.debug/prog.debug
mkdir -p "gdir$out/dl3"
stripped_with_link dl3 "gdir$out/dl3/prog.debug"
stripped_with_link dlbad dlbad/prog.debug
# flip one byte of the debug file's last section: same ELF, other CRC
printf '\x5a' | dd of=dlbad/prog.debug bs=1 seek=$(($(stat -c %s dlbad/prog.debug) - 100)) \
	conv=notrunc status=none

mkdir -p bid
strip --strip-all -o bid/prog plain
p=$(bid_path plain)
mkdir -p "bdir/.build-id/$(dirname "$p")"
objcopy --only-keep-debug plain "bdir/.build-id/$p"

# MiniDebugInfo as Fedora's find-debuginfo makes it: the function symbols
# .dynsym lacks, in a stripped copy of the debug file, xz-compressed into
# .gnu_debugdata of the stripped binary
objcopy --only-keep-debug plain mini.full.debug
nm -D plain --format=posix --defined-only | awk '{ print $1 }' | sort >mini.dynsyms
nm mini.full.debug --format=posix --defined-only |
	awk '{ if ($2 == "T" || $2 == "t") print $1 }' | sort >mini.funcsyms
comm -13 mini.dynsyms mini.funcsyms >mini.keep
objcopy -S --remove-section .gdb_index --remove-section .comment \
	--keep-symbols=mini.keep mini.full.debug mini.debug
rm -f mini.debug.xz
xz -k mini.debug
strip --strip-all -o mini plain
objcopy --add-section .gnu_debugdata=mini.debug.xz mini

if ! command -v dwz >/dev/null; then
	echo "dwz: missing" >&2
	exit 0
fi
build_pair() { # DIR
	mkdir -p "$1"
	"$cc" "${cflags[@]}" -Wl,--build-id -o "$1/a" "$src/prog.c"
	"$cc" "${cflags[@]}" -Wl,--build-id -o "$1/b" "$src/other.c"
	cp "$1/a" "$1/a.orig"
}
build_pair dwz
(cd dwz && dwz -m common.debug -M "$out/dwz/common.debug" a b)
# Debian's way: dwz on the unstripped programs, then the debug file split
# off; .gnu_debugaltlink is in the debug file
mkdir -p dwzsplit
objcopy --only-keep-debug dwz/a dwzsplit/a.debug
strip --strip-all -o dwzsplit/a dwz/a
objcopy --add-gnu-debuglink=dwzsplit/a.debug dwzsplit/a
build_pair dwzrel
(cd dwzrel && dwz -m common.debug -r a b)
build_pair dwzbid
(cd dwzbid && dwz -m common.debug -M "$out/dwzbid/gone.debug" a b)
p=$(bid_path dwzbid/common.debug)
mkdir -p "bdir/.build-id/$(dirname "$p")"
mv dwzbid/common.debug "bdir/.build-id/$p"
build_pair dwzbad
(cd dwzbad && dwz -m common.debug -M "$out/dwzbad/common.debug" a b)
# another common file at the same path: other build-id
"$cc" "${cflags[@]}" -DOTHER_BUILD=1 -Wl,--build-id -o dwzbad/c "$src/prog.c"
"$cc" "${cflags[@]}" -DOTHER_BUILD=1 -Wl,--build-id -o dwzbad/d "$src/other.c"
(cd dwzbad && dwz -m other.debug -M "$out/dwzbad/other.debug" c d)
mv dwzbad/other.debug dwzbad/common.debug
echo "variants made in $out"
