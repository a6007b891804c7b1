#!/usr/bin/env bash
# The Makefile knows every header each object and program is built from:
# for every header of the tree, `make -n -W HEADER` (make's "what if this
# file were new") must recompile every source that includes it, directly
# or not, as the compiler itself reports (gcc -MM) — library, libstackwalk_unwind
# (src/eh), tool, unit tests, demo programs and the interposer.  Without
# that, a changed struct leaves stale objects linked into the libraries.
#
#   tests/scripts/deps.sh BUILD_DIR MODE   (MODE=quick skips: the plain run covers it)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init deps "$@"
t_quick_skip "checked by the plain run"
# the build directory as `make` spells it (tests/run.sh passes an absolute
# path; the dependency files name objects under the relative one, and make
# matches targets by name)
BUILD=$(realpath -m --relative-to=. "$build")

targets=(all unit-tests "$BUILD/demo/backtrace" "$BUILD/demo/jit_demo" "$BUILD/demo/jit_demo_eh")
nice make -s --no-print-directory -j2 BUILD="$BUILD" "${targets[@]}" >/dev/null
# up to date now: make has nothing left to do
check make -q --no-print-directory BUILD="$BUILD" "${targets[@]}"

# every source the Makefile builds, and the headers each includes
mapfile -t sources < <(find src tools tests/unit interpose demo \( -name '*.c' -o -name '*.cc' -o -name '*.S' \) | sort)
declare -A deps
for s in "${sources[@]}"; do
	case $s in
	*.cc) cc=(g++ -std=gnu++17) ;;
	*) cc=(gcc -std=gnu11) ;;
	esac
	deps[$s]=" $("${cc[@]}" -MM -Iinclude -Isrc -Itests "$s" | tr -d '\\\n') "
done

mapfile -t headers < <(find include src tests -maxdepth 3 -name '*.h' | sort)
for h in "${headers[@]}"; do
	plan=$(make -n --no-print-directory -W "$h" BUILD="$BUILD" "${targets[@]}" 2>&1)
	missing=()
	users=0
	for s in "${sources[@]}"; do
		[[ ${deps[$s]} == *" $h "* ]] || continue
		users=$((users + 1))
		grep -qE "(^| )$s( |$)" <<<"$plan" || missing+=("$s")
	done
	((users > 0)) || continue
	if ((${#missing[@]} == 0)); then
		ok
	else
		bad "touching $h does not rebuild: ${missing[*]}"
	fi
done
t_finish
