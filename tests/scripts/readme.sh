#!/usr/bin/env bash
# The README's C examples compile and run, as C and as C++:
#
#   tests/scripts/readme.sh BUILD_DIR MODE
#
# Every ```c block of README.md is one translation unit, written to be
# copied as it is (its own #includes).  Each is compiled with gcc and
# clang (-std=gnu11) and with g++ and clang++ (-std=c++17) with
# -Wall -Wextra -Werror against
# include/, and linked against BUILD_DIR/libstackwalk.a.  A block with a
# main() is run and must exit 0 (each prints what it found: its output is
# in the log); a block without one is linked with an empty main, so every
# function it calls must exist.  MODE is accepted for tests/run.sh (both
# modes run everything: a few small programs).
# Output: PASS/FAIL per block and compiler, then "N passed, N failed".
# (Built here, not by make: the programs are extracted from README.md.)
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib readme "$@"
san=("${SAN_FLAGS[@]}")
[[ -z $t_san ]] || export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# Extract block k (1-based, in file order) of ```c into $out/blockK.c.
nblocks=$(awk '/^```c$/ { n++ } END { print n + 0 }' README.md)
for ((k = 1; k <= nblocks; k++)); do
	awk -v want="$k" '
		/^```c$/ { n++; if (n == want) { on = 1; next } }
		on && /^```$/ { exit }
		on { print }' README.md >"$out/block$k.c"
done

if ((nblocks == 0)); then
	bad "README.md has no \`\`\`c block"
fi

# what libstackwalk_symbolize.a needs (stackwalk_symbolize.pc's Libs.private)
symlibs=("$(gcc -print-file-name=libiberty.a)" -lz -lzstd -llzma)
[[ -f ${symlibs[0]} ]] || symlibs[0]=/usr/lib/$(gcc -print-multiarch)/libiberty.a

# the C++ compilers must be able to compile the C-source file as C++
compilers=("gcc:gcc -std=gnu11" "clang:clang -std=gnu11"
	   "gxx:g++ -x c++ -std=c++17" "clangxx:clang++ -x c++ -std=c++17")
for ((k = 1; k <= nblocks; k++)); do
	src=$out/block$k.c
	first=$(grep -m1 -v '^\s*\(#\|/\*\|\*\|$\)' "$src" | head -c 60)
	echo "block $k: $(wc -l <"$src") lines, from \"$first\""
	has_main=no
	grep -Eq '^int main\(' "$src" && has_main=yes
	for c in "${compilers[@]}"; do
		name=${c%%:*}
		read -r -a cmd <<<"${c#*:}"
		exe=$out/block$k-$name
		log=$exe.log
		stub=()
		if [[ $has_main == no ]]; then
			printf 'int main(void);\nint main(void) { return 0; }\n' >"$out/stub.c"
			stub=(-x none "$out/stub.o")
			gcc -std=gnu11 -c "$out/stub.c" -o "$out/stub.o"
		fi
		if ! "${cmd[@]}" -g -O1 -Wall -Wextra -Werror "${san[@]}" "-I$root/include" \
			-c "$src" -o "$exe.o" >"$log" 2>&1; then
			bad "block $k compiles with $name" "$log"
			continue
		fi
		if [[ ${#san[@]} -gt 0 && $name == clang* ]]; then
			# the sanitizer build's library carries gcc's ASan runtime
			ok "block $k compiles with $name (not linked under the sanitizer build)"
			continue
		fi
		linker=gcc
		[[ $name == gxx || $name == clangxx ]] && linker=${cmd[0]}
		if ! "$linker" "${san[@]}" -o "$exe" "$exe.o" "${stub[@]}" "$build/libstackwalk_symbolize.a" \
			"$build/libstackwalk.a" "${symlibs[@]}" -ldl -lpthread >>"$log" 2>&1; then
			bad "block $k links with $name" "$log"
			continue
		fi
		if [[ $has_main == yes ]]; then
			if ! timeout -k 5 300 "$exe" >>"$log" 2>&1 </dev/null; then
				bad "block $k runs ($name)" "$log"
				continue
			fi
			ok "block $k compiles and runs with $name"
		else
			ok "block $k compiles and links with $name"
		fi
	done
done

t_finish
