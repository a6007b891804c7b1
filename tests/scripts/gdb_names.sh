#!/usr/bin/env bash
# Procedure names: gdb's `bt` at a breakpoint and stackwalk's walk of the
# same stack (sw_get_proc_name per frame) must list the same functions,
# from the breakpoint's function down to main, for gcc and clang builds at
# several optimisation levels, with and without frame pointers.
#
#   tests/scripts/gdb_names.sh BUILD_DIR MODE
set -euo pipefail
BUILD=${1:?usage: gdb_names.sh BUILD_DIR MODE}
MODE=${2:-full}
cd "$(dirname "$0")/../.."
WORK=$BUILD/gdb_names
mkdir -p "$WORK"
san=()
[ "$MODE" = quick ] && san=(-fsanitize=address,undefined)
pass=0
fail=0
if ! command -v gdb >/dev/null; then
	echo "gdb_names: gdb is missing (make deps installs it)"
	echo "0 passed, 1 failed"
	exit 1
fi
variants=("gcc -O0" "gcc -O2" "gcc -O2 -fno-omit-frame-pointer" "gcc -O3" "gcc -Os"
	  "clang -O0" "clang -O2" "clang -O2 -fno-omit-frame-pointer" "clang -O3")
[ "$MODE" = quick ] && variants=("gcc -O2" "clang -O0")
for v in "${variants[@]}"; do
	read -r -a cc <<<"$v"
	exe=$WORK/names-$(echo "$v" | tr ' ' '_')
	"${cc[@]}" -g "${san[@]}" -Iinclude -o "$exe" tests/names/names.c "$BUILD/libstackwalk.a"
	out=$(gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'break checkpoint' -ex run \
		-ex bt -ex continue "$exe" 2>&1) || true
	# gdb: "#N  0x... in NAME (args) at file" or "#0  NAME (args) at file"
	gdb_names=$(printf '%s\n' "$out" | sed -n 's/^#[0-9]\+ \+\(0x[0-9a-f]\+ in \)\?\([^ (]\+\) .*/\2/p' |
		    sed '/^main$/q')
	sw_names=$(printf '%s\n' "$out" | sed -n 's/^sw: //p')
	if [ -n "$gdb_names" ] && [ "$gdb_names" = "$sw_names" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $v"
		paste <(printf '%s\n' "$gdb_names") <(printf '%s\n' "$sw_names") | head -20
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
