#!/usr/bin/env bash
# The layers depend one way, and a program links only the layers it uses:
#
#   tests/scripts/layers.sh BUILD_DIR MODE
#
# 1. includes: src/util, src/dwarf, src/elf and src/source include nothing
#    of src/unwind, src/jit, src/eh or src/symbolize; src/unwind nothing of
#    src/jit, src/eh or src/symbolize; src/jit nothing of src/unwind, src/eh
#    or src/symbolize (the registry plugs into the unwinder through
#    src/source); src/symbolize nothing of src/unwind, src/jit, src/eh,
#    src/source or src/arch (public API and the readers only); outside
#    src/arch no file names an architecture's folder (src/arch/*.h select
#    it).  src/eh and src/libunwind (the libgcc and nongnu libunwind
#    ABIs) are clients of the public API: they include nothing of src/.
# 2. links: a static program that only calls sw_backtrace
#    (tests/layers/bt_only.c) links no object of src/jit and defines none of
#    the JIT's interfaces (__jit_debug_descriptor, _ULx86_64_get_proc_name);
#    its text size is printed.  The control, a program that registers JIT
#    code (tests/layers/jit_user.c), does link the registry: the check can
#    tell the two apart.
# MODE is accepted for tests/run.sh (both modes run everything).
# Output: PASS/FAIL per check, then "N passed, N failed".
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR full|quick" >&2
	exit 2
fi
[[ -f $1/libstackwalk.a ]] || { echo "$0: no $1/libstackwalk.a" >&2; exit 2; }
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.." || exit 2
out=$build/layers
rm -rf "$out"
mkdir -p "$out"

# the sanitizer build's archive needs the sanitizers' runtimes
san=()
if [[ $2 == quick || $(basename "$build") == *san* ]]; then
	san=(-fsanitize=address,undefined)
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/       /'; }

# ---- 1. includes
# forbid LAYER PATTERN...: no file of src/LAYER includes "PATTERN..."
forbid() {
	local layer=$1; shift
	local pat hits
	for pat in "$@"; do
		hits=$(grep -rnE "^#[[:space:]]*include[[:space:]]+\"$pat" "src/$layer" 2>/dev/null)
		if [[ -z $hits ]]; then
			ok "src/$layer includes nothing of $pat"
		else
			bad "src/$layer includes $pat" "$hits"
		fi
	done
}
for l in util dwarf elf source; do
	forbid "$l" 'unwind/' 'jit/' 'eh/' 'symbolize/' 'remote/'
done
# the address spaces of other targets (src/remote) plug into the cursor
# through source/target.h: neither includes the other
forbid remote 'unwind/' 'jit/' 'eh/' 'symbolize/'
forbid unwind 'remote/'
# the symbolizer (libstackwalk_symbolize) sits on the public API and the
# readers (dwarf/reader.h, elf/): nothing of the unwinder or the registry
forbid symbolize 'unwind/' 'jit/' 'eh/' 'source/' 'arch/'
forbid unwind 'jit/' 'eh/' 'symbolize/'
# the compact tables (src/table) are built from CFI alone: the unwinder,
# the registry and the remote spaces use them, not the other way round
forbid table 'unwind/' 'jit/' 'eh/' 'symbolize/' 'remote/' 'source/'
forbid jit 'unwind/' 'eh/' 'symbolize/'
# libstackwalk_unwind is a client of the public API: <stackwalk.h> and
# <stackwalk/jit.h> only (eh.sh builds it against installed headers too)
forbid eh 'unwind/' 'jit/' 'dwarf/' 'elf/' 'source/' 'util/' 'arch/'
# so is the drop-in nongnu libunwind (src/libunwind): the public headers
# and its own only
forbid libunwind 'unwind/' 'jit/' 'eh/' 'dwarf/' 'elf/' 'source/' 'util/' 'arch/' 'remote/' 'symbolize/'

hits=$(grep -rnE '^#[[:space:]]*include[[:space:]]+"arch/[a-z0-9_]+/' src include tools \
	--include='*.c' --include='*.h' --include='*.S' | grep -v '^src/arch/')
if [[ -z $hits ]]; then
	ok "no file outside src/arch names an architecture's folder"
else
	bad "files outside src/arch include an architecture's folder" "$hits"
fi

# ---- 2. links
# The JIT layer's code, by the global functions and data its objects
# define (archive member names alone are ambiguous: two folders may hold a
# frame.o).
mapfile -t jit_o < <(find "$build/src/jit" -name '*.o' 2>/dev/null | LC_ALL=C sort)
if ((${#jit_o[@]} == 0)); then
	bad "no objects under $build/src/jit (build first)"
fi
nm -g --defined-only "${jit_o[@]}" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBR]/ { print $3 }' |
	LC_ALL=C sort -u >"$out/jit.syms"
# link SRC NAME: static link with a map
link() {
	local src=$1 name=$2
	if ! gcc -std=gnu11 -O2 "${san[@]}" -Iinclude "$src" "$build/libstackwalk.a" -o "$out/$name" \
		-Wl,-Map,"$out/$name.map" -lpthread -ldl >"$out/$name.log" 2>&1; then
		bad "link $name" "$(tail -n 20 "$out/$name.log")"
		return 1
	fi
	grep -oE 'libstackwalk\.a\([^)]+\.o\)' "$out/$name.map" | sort -u >"$out/$name.members"
	nm --defined-only "$out/$name" | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u >"$out/$name.syms"
}
jit_in() { LC_ALL=C comm -12 "$out/jit.syms" "$1"; }

if link tests/layers/bt_only.c bt_only; then
	total=$(ar t "$build/libstackwalk.a" | wc -l)
	used=$(wc -l <"$out/bt_only.members")
	text=$(size "$out/bt_only" | awk 'NR == 2 { print $1 }')
	echo "bt_only: links $used of the archive's $total objects; text $text bytes"
	jit=$(jit_in "$out/bt_only.syms")
	if [[ -z $jit ]]; then
		ok "a sw_backtrace-only program links no JIT object (none of their $(wc -l <"$out/jit.syms") symbols)"
	else
		bad "a sw_backtrace-only program links JIT code" "$jit"
	fi
	defs=$(nm "$out/bt_only" | awk '$2 ~ /[TDBR]/ && ($3 == "__jit_debug_descriptor" || $3 ~ /^_U/) { print $3 }')
	if [[ -z $defs ]]; then
		ok "a sw_backtrace-only program defines no JIT interface"
	else
		bad "a sw_backtrace-only program defines JIT interfaces" "$defs"
	fi
	if "$out/bt_only" >"$out/bt_only.out" 2>&1; then
		ok "bt_only runs: $(cat "$out/bt_only.out")"
	else
		bad "bt_only runs" "$(cat "$out/bt_only.out")"
	fi
fi

if link tests/layers/jit_user.c jit_user; then
	used=$(wc -l <"$out/jit_user.members")
	text=$(size "$out/jit_user" | awk 'NR == 2 { print $1 }')
	echo "jit_user: links $used objects; text $text bytes"
	if [[ -n $(jit_in "$out/jit_user.syms") ]]; then
		ok "control: a program that registers JIT code links the registry"
	else
		bad "control: the JIT program linked no JIT object (the check cannot see them)"
	fi
	if SW_JIT_PUBLISHERS=none "$out/jit_user" >"$out/jit_user.out" 2>&1; then
		ok "jit_user runs: $(cat "$out/jit_user.out")"
	else
		bad "jit_user runs" "$(cat "$out/jit_user.out")"
	fi
fi

echo "$pass passed, $fail failed"
((fail == 0))
