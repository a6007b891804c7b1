#!/usr/bin/env bash
# The concurrent unwinding tests under ThreadSanitizer: the library is
# compiled with -fsanitize=thread together with the test, so every access
# to the shared rule cache, the file-CFI table and the thread-stack cache is
# checked.  tests/unwind/sync.c runs 4 threads walking the corpus chains
# while the main thread loads and unloads modules; tests/symbolize/tsan_sym.c
# shares one symbolizer between 6 threads from cold.  The drop-in nongnu
# libunwind (src/libunwind, compiled in with the library): 8 threads
# walking with unw_step and unw_backtrace at once
# (tests/libunwind/local_threads.c), and 4 threads registering, looking up
# and cancelling _U_dyn_register procedures (tests/libunwind/dyn_reg.c
# threads).
#
#   tests/scripts/tsan.sh BUILD_DIR MODE   (runs in the plain pass only)
# (Built here, not by make: the whole library is compiled with the test.)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init tsan "$@"
t_quick_skip "runs in the plain pass (ASan and TSan cannot be combined)"
d=$out   # absolute: it goes into the rpath
src=tests/unwind
flags=(-std=gnu11 -g -O1 -fsanitize=thread -Iinclude -Isrc -I"$src")
# (not libstackwalk_unwind's dlclose bracket: the core's is here)
# (not the drop-in libunwind either: its own section below, with its headers)
lib_srcs=$(find src -name '*.c' -not -path src/eh/dlclose.c -not -path 'src/symbolize/*' \
	-not -path 'src/libunwind/*' | sort)
lib_asm=$(find src -name '*.S' -not -path 'src/libunwind/*' | sort)
clang "${flags[@]}" -fPIC -shared "$src/chain_so.c" -o "$d/libchain_so.so"
clang "${flags[@]}" -fPIC -shared "$src/chain_dl.c" -o "$d/dl_a.so"
clang "${flags[@]}" -DDL_PAD=48 -fPIC -shared "$src/chain_dl.c" -o "$d/dl_b.so"
# shellcheck disable=SC2086  # word splitting of the source lists is wanted
clang "${flags[@]}" "$src/sync.c" "$src/chains.c" $lib_srcs $lib_asm -L"$d" -lchain_so \
	-Wl,-rpath,"$d" -rdynamic -ldl -lpthread -o "$d/sync"
rc=0
(cd "$d" && SW_TEST_MODE=quick TSAN_OPTIONS="halt_on_error=1 exitcode=66" ./sync "$d/dl_a.so" "$d/dl_b.so" 1) \
	>"$d/sync.log" 2>&1 || rc=$?
if [ $rc -eq 0 ] && ! grep -q "WARNING: ThreadSanitizer" "$d/sync.log"; then
	ok
else
	bad "sync under TSan (exit $rc)"
	tail -n 40 "$d/sync.log"
fi

# the symbolizer: one instance shared by threads from cold (files opened,
# units parsed, names demangled and published lock-free)
sym_srcs=$(find src/symbolize -name '*.c' | sort)
libiberty=$(gcc -print-file-name=libiberty.a)
# shellcheck disable=SC2086
clang "${flags[@]}" tests/symbolize/tsan_sym.c $sym_srcs \
	$lib_srcs $lib_asm "$libiberty" -lz -lzstd -llzma -ldl -lpthread -o "$d/tsan_sym"
rc=0
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$d/tsan_sym" >"$d/tsan_sym.log" 2>&1 || rc=$?
if [ $rc -eq 0 ] && ! grep -q "WARNING: ThreadSanitizer" "$d/tsan_sym.log"; then
	ok
	head -n 1 "$d/tsan_sym.log"
else
	bad "the symbolizer shared by threads under TSan (exit $rc)"
	tail -n 40 "$d/tsan_sym.log"
fi
# the drop-in nongnu libunwind, compiled with the library (its own
# headers first: not the system's libunwind.h)
lu_srcs=$(find src/libunwind -maxdepth 1 -name '*.c' | sort)
lu_arch=$(find src/libunwind/x86_64 -name '*.c' -o -name '*.S' | sort)
lu_flags=(-Isrc/libunwind/include "${flags[@]}")
for t in "local_threads:" "dyn_reg:threads"; do
	name=${t%%:*} arg=${t#*:}
	# shellcheck disable=SC2086
	if ! clang "${lu_flags[@]}" -Itests/libunwind "tests/libunwind/$name.c" $lu_srcs $lu_arch \
		$lib_srcs $lib_asm -ldl -lpthread -o "$d/lu_$name" >"$d/lu_$name.build.log" 2>&1; then
		bad "libunwind $name under TSan: the build failed" "$(tail -n 20 "$d/lu_$name.build.log")"
		continue
	fi
	rc=0
	# shellcheck disable=SC2086  # arg: empty or one word
	SW_TEST_MODE=quick TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$d/lu_$name" $arg \
		>"$d/lu_$name.log" 2>&1 || rc=$?
	if [ $rc -eq 0 ] && ! grep -q "WARNING: ThreadSanitizer" "$d/lu_$name.log"; then
		ok
	else
		bad "libunwind $name under TSan (exit $rc)"
		tail -n 40 "$d/lu_$name.log"
	fi
done
t_finish
