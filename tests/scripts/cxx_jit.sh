#!/usr/bin/env bash
# C++ exceptions through JIT frames (tests/cxx/cxx_jit.cc): a throw from
# C++ called by generated code (tests/jit/emit.h) crosses the generated
# frames and is caught by the C++ code that called them, running the
# destructors in between; after sw_jit_remove the same throw terminates.
#
#   tests/scripts/cxx_jit.sh BUILD_DIR MODE
#
# Each variant (g++ / clang++, -O0 / -O2; MODE=quick: two) runs
#   publisher-libgcc    SW_JIT_PUB_LIBGCC, libgcc_s unwinding (every
#                       publishable form, sw_jit_publish, sw_jit_move)
#   default-libgcc      the same without any publisher call: the default
#                       publishers
#   many-libgcc         (first variant only) default publishers, the chain
#                       among 10^5 one-procedure registrations; removals
#   default-off         (first variant only) SW_JIT_PUBLISHERS=none: the
#                       default mode's first throw terminates
#   direct-libgcc       the publisher's ops on CFI-builder chunks, in place
#                       and re-encoded
#   interposer-preload  no publisher, LD_PRELOAD=libstackwalk_findfde.so
#                       (program linked with libstackwalk.a, the entry
#                       point exported); every form including callbacks
#   interposer-static   the same, the program linked with libstackwalk.a
#                       alone (no -rdynamic, nothing exported): the
#                       registry hands itself to the interposer
#   interposer-shared   the same with libstackwalk.so
#   interposer-linked   libstackwalk_findfde.so linked before libgcc_s
#   publisher-llvm16 / default-llvm16 / direct-llvm16   LD_PRELOAD of LLVM libunwind 16
#                       (Debian's libunwind-16, fetched with apt-get
#                       download into BUILD_DIR/llvm16 as bench/run.sh does;
#                       skipped with a message when that is impossible)
# Under the sanitizer build (BUILD_DIR name contains "san") the programs
# get -fsanitize=address,undefined.
# Output: PASS/FAIL per test (logs in BUILD_DIR/cxx_jit/logs/), the tail of
# each failing log, and "N passed, N failed".
# (Its programs are built here, not by make: they link the interposer and
# LLVM's libunwind, downloaded at test time.)
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib cxx_jit "$@"
findfde=$build/libstackwalk_findfde.so
# libstackwalk.so's soname is libstackwalk.so.0: give the loader that name
mkdir -p "$out/lib"
ln -sf "$build/libstackwalk.so" "$out/lib/libstackwalk.so.0"

warn=(-Wall -Wextra)
san=("${SAN_FLAGS[@]}")
if [[ -n $t_san ]]; then
	# the preloaded libraries come before ASan's runtime: allowed here
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
fi

if [[ $mode == full ]]; then
	variants=("gxx-O0:g++:gcc:-O0" "gxx-O2:g++:gcc:-O2" "clangxx-O0:clang++:clang:-O0" "clangxx-O2:clang++:clang:-O2")
else
	variants=("gxx-O2:g++:gcc:-O2" "clangxx-O0:clang++:clang:-O0")
fi

# LLVM libunwind 16 (conflicts with libunwind-dev, so unpacked, not installed)
llvm=$build/llvm16
llvm_so=$llvm/usr/lib/llvm-16/lib/libunwind.so.1
if [[ ! -e $llvm_so ]]; then
	echo "cxx_jit: fetching Debian's libunwind-16 into $llvm"
	mkdir -p "$llvm/debs"
	(cd "$llvm/debs" && apt-get download libunwind-16 >/dev/null 2>&1) || true
	for d in "$llvm"/debs/*.deb; do
		[[ -e $d ]] && dpkg -x "$d" "$llvm"
	done
fi
if [[ -e $llvm_so ]]; then
	llvm_so=$(cd "$(dirname "$llvm_so")" && pwd -P)/libunwind.so.1
else
	echo "cxx_jit: SKIP the LLVM libunwind 16 tests: apt-get download libunwind-16 failed (no network or no such package)"
	llvm_so=
fi

# run NAME BUILDLOG CMD...: one test (env assignments allowed via env)
run() {
	local name=$1 buildlog=$2 rc=0
	shift 2
	local log=$logs/$name.log
	(cd "$out" && t_timeout 900 "$@") >"$log" 2>&1 </dev/null || rc=$?
	if grep -q "warning:" "$buildlog"; then
		{ echo "build warnings:"; cat "$buildlog"; } >>"$log"
		((rc != 0)) || rc=98
	fi
	grep -q '^[0-9]* passed, 0 failed' "$log" || ((rc != 0)) || rc=97
	if ((rc == 0)); then
		ok "$name ($(grep -E '^[0-9]+ passed' "$log" | tail -n 1))"
	else
		t_verdict "$name" "$rc" "$log"
	fi
}

if [[ ! -e $findfde ]]; then
	echo "cxx_jit: $findfde missing (make all builds it)"
fi

t0=$SECONDS
for v in "${variants[@]}"; do
	IFS=: read -r name cxx cc opt <<<"$v"
	d=$out/$name
	mkdir -p "$d"
	blog=$d/build.log
	common=(-g "$opt" "-I$root/include" "-I$root/src" "-I$root/tests/jit" "${warn[@]}" "${san[@]}")
	{
		"$cc" -std=gnu11 "${common[@]}" -c tests/jit/emit.c -o "$d/emit.o" &&
		"$cxx" -std=gnu++17 "${common[@]}" -c tests/cxx/cxx_jit.cc -o "$d/cxx_jit.o" &&
		"$cxx" -std=gnu++17 "${common[@]}" -DCXX_JIT_NO_DIRECT -c tests/cxx/cxx_jit.cc \
			-o "$d/cxx_jit_pub.o" &&
		# the publisher reached only through the registry (static link)
		"$cxx" "${san[@]}" -o "$d/cxx_jit_pub" "$d/cxx_jit_pub.o" "$d/emit.o" "$build/libstackwalk.a" -ldl &&
		# the registry in the program, its interposer entry point exported
		"$cxx" "${san[@]}" -o "$d/cxx_jit_static" "$d/cxx_jit.o" "$d/emit.o" "$build/libstackwalk.a" \
			-Wl,-u,sw_jit_eh_find_fde,--export-dynamic-symbol=sw_jit_eh_find_fde -ldl &&
		# the same as a user would link it: the archive, nothing exported
		"$cxx" "${san[@]}" -o "$d/cxx_jit_plain" "$d/cxx_jit.o" "$d/emit.o" "$build/libstackwalk.a" -ldl &&
		true
	} >"$blog" 2>&1 || echo "build failed" >>"$blog"
	# with libstackwalk.so: not for clang under ASan (the sanitizer build's
	# libstackwalk.so carries gcc's ASan runtime, clang links its own)
	shared=yes
	[[ ${#san[@]} -gt 0 && $cxx == clang++ ]] && shared=no
	if [[ $shared == yes ]]; then
		{
			# the registry in libstackwalk.so (the program without the
			# direct mode: the .so exports the public API only)
			"$cxx" "${san[@]}" -o "$d/cxx_jit_shared" "$d/cxx_jit_pub.o" "$d/emit.o" \
				"-L$build" -Wl,-rpath,"$out/lib" -lstackwalk -ldl &&
			# the interposer linked before libstdc++/libgcc_s, not preloaded
			"$cxx" "${san[@]}" -o "$d/cxx_jit_linked" "$d/cxx_jit_pub.o" "$d/emit.o" \
				-Wl,--no-as-needed "$findfde" -Wl,--as-needed -Wl,-rpath,"$build:$out/lib" \
				"-L$build" -lstackwalk -ldl
		} >>"$blog" 2>&1 || echo "build failed" >>"$blog"
	fi
	if grep -q "build failed" "$blog"; then
		cp "$blog" "$logs/build-$name.log"
		bad "build-$name"
		continue
	fi
	run "publisher-libgcc-$name" "$blog" "$d/cxx_jit_pub" publisher libgcc
	run "default-libgcc-$name" "$blog" "$d/cxx_jit_pub" default libgcc
	if [[ $v == "${variants[0]}" ]]; then
		run "many-libgcc-$name" "$blog" "$d/cxx_jit_pub" many libgcc
		# and turned off through the environment: the first throw must
		# terminate (SIGABRT)
		rc=0
		(cd "$out" && SW_JIT_PUBLISHERS=none timeout -k 5 600 "$d/cxx_jit_pub" default libgcc) \
			>"$logs/default-off-$name.log" 2>&1 </dev/null || rc=$?
		if ((rc == 134)); then
			ok "default-off-$name (SW_JIT_PUBLISHERS=none: std::terminate)"
		else
			echo "(exit $rc, want 134: SIGABRT from std::terminate)"
			bad "default-off-$name"
		fi
	fi
	run "direct-libgcc-$name" "$blog" "$d/cxx_jit_static" direct libgcc
	run "interposer-preload-$name" "$blog" env LD_PRELOAD="$findfde" "$d/cxx_jit_static" interposer libgcc
	run "interposer-static-$name" "$blog" env LD_PRELOAD="$findfde" "$d/cxx_jit_plain" interposer libgcc
	if [[ $shared == yes ]]; then
		run "interposer-shared-$name" "$blog" env LD_PRELOAD="$findfde" "$d/cxx_jit_shared" interposer libgcc
		run "interposer-linked-$name" "$blog" "$d/cxx_jit_linked" interposer libgcc
	else
		echo "cxx_jit: $name: no libstackwalk.so variants (its ASan runtime is gcc's)"
	fi
	if [[ -n $llvm_so ]]; then
		run "publisher-llvm16-$name" "$blog" env LD_PRELOAD="$llvm_so" "$d/cxx_jit_pub" publisher llvm
		run "default-llvm16-$name" "$blog" env LD_PRELOAD="$llvm_so" "$d/cxx_jit_pub" default llvm
		run "direct-llvm16-$name" "$blog" env LD_PRELOAD="$llvm_so" "$d/cxx_jit_static" direct llvm
	fi
done
echo "cxx_jit: ran in $((SECONDS - t0)) s"

t_failed_tails 30
t_finish
