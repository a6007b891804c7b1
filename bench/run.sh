#!/usr/bin/env bash
# Benchmarks:  bench/run.sh [BUILD_DIR]   (default build/out; `make bench`)
#
# stdout carries only `name: value unit` lines; progress goes to stderr.
#   cfi.fde_lookup.libstdcxx             ns per sw_cfi_find_fde_hdr
#   cfi.fde_lookup_hdr_only.libstdcxx    ns per sw_eh_hdr_lookup
#   cfi.row_at.libstdcxx                 ns per sw_cfa_row_at
#   cfi.dump.libc.stackwalk              ms for `stackwalk cfi --readelf libc`
#   cfi.dump.libc.readelf                ms for `readelf --debug-dump=frames-interp libc`
#   cfi.dump.libc.vs_readelf             the ratio of the two (lower is better)
#   backtrace.depth30.* / step.depth30.* ns per frame: stackwalk cached, cold
#                                        and cursor steps; anchors fp, libgcc,
#                                        glibc, nongnu libunwind, LLVM libunwind
# Every figure is the median of 5 runs; the two dump commands alternate so
# both see the same machine state.  The bench programs are built into
# BUILD_DIR/bench/ against BUILD_DIR/libstackwalk.a.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
LIBSTDCXX=${LIBSTDCXX:-/usr/lib/x86_64-linux-gnu/libstdc++.so.6}
LIBC=${LIBC:-/lib/x86_64-linux-gnu/libc.so.6}
RUNS=5
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc   # make's default CC

lib=$BUILD/libstackwalk.a
tool=$BUILD/stackwalk
for f in "$lib" "$tool"; do
	[[ -e $f ]] || { echo "bench: $f missing; run make first (make bench does)" >&2; exit 1; }
done
for f in "$LIBSTDCXX" "$LIBC"; do
	[[ -r $f ]] || { echo "bench: $f not readable" >&2; exit 1; }
done
command -v readelf >/dev/null || { echo "bench: readelf not found (binutils)" >&2; exit 1; }

mkdir -p "$BUILD/bench"
WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
echo "bench: building $BUILD/bench/cfi_bench $BUILD/bench/timecmd" >&2
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -Iinclude -Isrc -o "$BUILD/bench/cfi_bench" \
	bench/cfi_bench.c "$lib"
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -o "$BUILD/bench/timecmd" bench/timecmd.c

# median of the arguments (integers)
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# ---------------------------------------------------------------- lookups
echo "bench: FDE lookups and rows in $LIBSTDCXX" >&2
"$BUILD/bench/cfi_bench" "$LIBSTDCXX" libstdcxx

# ---------------------------------------------------------------- dump vs readelf
sw_cmd=("$tool" cfi --readelf "$LIBC")
re_cmd=(readelf --debug-dump=frames-interp "$LIBC")

# warm the page cache, and say on stderr whether the two dumps agree (the
# ratio compares like with like only when they do)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${sw_cmd[@]}" >"$tmp/sw.txt" || { echo "bench: ${sw_cmd[*]} failed" >&2; exit 1; }
# (readelf exits 1 on libc without a message; its output is complete)
"${re_cmd[@]}" >"$tmp/re.txt" 2>/dev/null || true
[[ -s $tmp/re.txt ]] || { echo "bench: ${re_cmd[*]} printed nothing" >&2; exit 1; }
if cmp -s "$tmp/sw.txt" "$tmp/re.txt"; then
	echo "bench: stackwalk and readelf dumps of $LIBC are identical ($(wc -l <"$tmp/sw.txt") lines)" >&2
else
	echo "bench: note: stackwalk and readelf dumps of $LIBC differ" >&2
fi

sw_t=() re_t=()
for ((i = 0; i < RUNS; i++)); do
	t=$("$BUILD/bench/timecmd" "${sw_cmd[@]}") || { echo "bench: timing ${sw_cmd[*]} failed" >&2; exit 1; }
	sw_t+=("$t")
	t=$("$BUILD/bench/timecmd" --any-status "${re_cmd[@]}" 2>/dev/null) || { echo "bench: timing ${re_cmd[*]} failed" >&2; exit 1; }
	re_t+=("$t")
done
echo "bench: stackwalk ns: ${sw_t[*]}" >&2
echo "bench: readelf ns:   ${re_t[*]}" >&2
sw_med=$(median "${sw_t[@]}")
re_med=$(median "${re_t[@]}")
awk -v s="$sw_med" -v r="$re_med" 'BEGIN {
	printf "cfi.dump.libc.vs_readelf: %.2f x\n", s / r
	printf "cfi.dump.libc.stackwalk: %.1f ms\n", s / 1e6
	printf "cfi.dump.libc.readelf: %.1f ms\n", r / 1e6
}'

# ---------------------------------------------------------------- backtraces
# depth 30, every method built -O2 -fno-omit-frame-pointer (so the
# frame-pointer walk can run) and, as backtrace.depth30.nofp.*, with
# -fomit-frame-pointer; all measured in this same run.  LLVM
# libunwind 16 comes from Debian's libunwind-16, unpacked into BUILD/llvm16
# because it conflicts with libunwind-dev.
llvm=$BUILD/llvm16
if [[ ! -e $llvm/usr/lib/llvm-16/lib/libunwind.so.1 || ! -e $llvm/usr/lib/llvm-16/include/libunwind.h ]]; then
	echo "bench: fetching Debian's libunwind-16 into $llvm" >&2
	mkdir -p "$llvm/debs"
	for p in libunwind-16 libunwind-16-dev; do
		(cd "$llvm/debs" && apt-get download "$p" >/dev/null 2>&1) || true
	done
	for d in "$llvm"/debs/*.deb; do
		[[ -e $d ]] && dpkg -x "$d" "$llvm"
	done
fi
BT=(-std=gnu11 -O2 -g -fno-omit-frame-pointer -Iinclude)
bt() {   # bt NAME DEFINE [extra cc args...]
	local out=$BUILD/bench/bt_$1
	shift
	"$CC" "${BT[@]}" "-D$1" -o "$out" bench/bt_bench.c "${@:2}"
}
# the same without frame pointers (-fomit-frame-pointer: every frame's CFA
# is rsp-based, as in most distribution code)
bt_nofp() {   # bt_nofp NAME DEFINE [extra cc args...]
	local out=$BUILD/bench/bt_nofp_$1
	shift
	"$CC" "${BT[@]}" -fomit-frame-pointer "-D$1" -o "$out" bench/bt_bench.c "${@:2}"
}
echo "bench: building the backtrace benchmarks" >&2
bt sw SW "$lib"
bt fp FP
bt gcc GCC
bt glibc GLIBC
bt_nofp sw SW "$lib"
bt_nofp gcc GCC
nongnu=no
if bt nongnu NONGNU -lunwind 2>/dev/null && bt_nofp nongnu NONGNU -lunwind 2>/dev/null; then nongnu=yes; fi
llvm_ok=no
if [[ -e $llvm/usr/lib/llvm-16/lib/libunwind.so.1 ]] &&
   bt llvm LLVM -I"$llvm/usr/lib/llvm-16/include" "$llvm/usr/lib/llvm-16/lib/libunwind.so.1" \
	-Wl,-rpath,"$(cd "$llvm/usr/lib/llvm-16/lib" && pwd)" 2>/dev/null; then
	llvm_ok=yes
fi
"$BUILD/bench/bt_sw" cached backtrace.depth30.stackwalk.cached
"$BUILD/bench/bt_sw" cold backtrace.depth30.stackwalk.cold
"$BUILD/bench/bt_sw" step step.depth30.stackwalk
"$BUILD/bench/bt_fp" - backtrace.depth30.fp
"$BUILD/bench/bt_gcc" - backtrace.depth30.libgcc
"$BUILD/bench/bt_glibc" - backtrace.depth30.glibc
"$BUILD/bench/bt_nofp_sw" cached backtrace.depth30.nofp.stackwalk.cached
"$BUILD/bench/bt_nofp_sw" cold backtrace.depth30.nofp.stackwalk.cold
"$BUILD/bench/bt_nofp_gcc" - backtrace.depth30.nofp.libgcc
if [[ $nongnu == yes ]]; then
	"$BUILD/bench/bt_nongnu" backtrace backtrace.depth30.nongnu
	"$BUILD/bench/bt_nofp_nongnu" backtrace backtrace.depth30.nofp.nongnu
	"$BUILD/bench/bt_nongnu" step step.depth30.nongnu 30 2000
else
	echo "bench: nongnu libunwind (libunwind-dev) not installed: run make deps" >&2
fi
if [[ $llvm_ok == yes ]]; then
	"$BUILD/bench/bt_llvm" - step.depth30.llvm 30 5000
else
	echo "bench: LLVM libunwind 16 unavailable (apt-get download libunwind-16 failed)" >&2
fi

# ================================================================ JIT registry
# (bench/jit_bench.c, bench/jit_anchor.c; everything in this section)
#   jit.lookup.N.stackwalk            ns per sw_jit_lookup, N = 1e3 .. 1e6 procedures
#   jit.first_lookup.1e5.stackwalk    ms for the first lookup after 10^5 registrations
#   jit.lookup.N.libgcc / .llvm       ns per _Unwind_Find_FDE after one
#                                     __register_frame per procedure, N = 1e3 .. 1e5
#   jit.first_lookup.1e5.libgcc       ms for libgcc's first lookup (it sorts)
#   jit.register.stackwalk            ns per single-procedure sw_jit_add_procs (10^6)
#   jit.remove.stackwalk              ns per sw_jit_remove (10^6)
#   jit.memory.stackwalk              registry bytes per procedure at 10^6
#   jit.unwind.threads2.speedup       sw_backtrace throughput through JIT frames,
#                                     2 threads over 1
# The anchors are separate programs linked against the unwinder they
# measure (libgcc_s, or LLVM libunwind 16 from $llvm above).
echo "bench: building the JIT registry benchmarks" >&2
JIT_CC=(-std=gnu11 -O2 -g "${WARN[@]}" -Iinclude)
"$CC" "${JIT_CC[@]}" -Itests/jit -o "$BUILD/bench/jit_bench" bench/jit_bench.c tests/jit/emit.c \
	"$lib" -lpthread
# the unwinder library comes before libstackwalk.a, which only supplies
# the CFI builder
"$CC" "${JIT_CC[@]}" -o "$BUILD/bench/jit_anchor_libgcc" bench/jit_anchor.c -lgcc_s "$lib"
# (the rpath is made absolute whether BUILD is relative or not; the anchor
# checks at run time that LLVM 16's library is the one loaded, not the
# system's LLVM 14 libunwind.so.1)
jit_llvm=no
llvm_so=$llvm/usr/lib/llvm-16/lib/libunwind.so.1
if [[ -e $llvm_so ]]; then
	llvm_dir=$(cd "$(dirname "$llvm_so")" && pwd -P)
	if "$CC" "${JIT_CC[@]}" -DANCHOR_LLVM -o "$BUILD/bench/jit_anchor_llvm" bench/jit_anchor.c \
		"$llvm_dir/libunwind.so.1" -Wl,-rpath,"$llvm_dir" "$lib"; then
		jit_llvm=yes
	else
		echo "bench: no jit.lookup.*.llvm: building against $llvm_so failed" >&2
	fi
else
	echo "bench: no jit.lookup.*.llvm: LLVM libunwind 16 unavailable ($llvm_so missing: apt-get download libunwind-16 failed)" >&2
fi

echo "bench: JIT registry lookups (stackwalk)" >&2
"$BUILD/bench/jit_bench" lookup
echo "bench: JIT lookups through __register_frame (libgcc; its first lookup at 1e5 takes seconds)" >&2
"$BUILD/bench/jit_anchor_libgcc" libgcc 1000 10000 100000
if [[ $jit_llvm == yes ]]; then
	echo "bench: JIT lookups through __register_frame (LLVM libunwind 16)" >&2
	JIT_ANCHOR_LIB=$llvm_dir/libunwind.so.1 "$BUILD/bench/jit_anchor_llvm" llvm 1000 10000 100000 ||
		echo "bench: the LLVM libunwind 16 anchor failed (see above)" >&2
fi
echo "bench: JIT registration, removal and memory (10^6 procedures)" >&2
"$BUILD/bench/jit_bench" register
echo "bench: unwinding through JIT code, 1 and 2 threads" >&2
"$BUILD/bench/jit_bench" unwind
# ================================================================ end of JIT registry

# ================================================================ C++ exceptions through JIT frames
# (bench/throw_jit.cc; everything in this section)
#   throw.jit.N.register_frame   us per C++ throw+catch through 4 JIT frames
#                                with N other JIT procedures registered one
#                                registration each, published to libgcc_s
#                                with __register_frame (SW_JIT_PUB_LIBGCC)
#   throw.jit.N.default          the same with the default publishers and no
#                                publisher call (libgcc, GDB, libunwind)
#   throw.jit.N.interposer       the same without publisher, libgcc_s asking
#                                stackwalk's registry through
#                                libstackwalk_findfde.so (LD_PRELOAD)
# N = 1e3, 1e4, 1e5; one process per figure.  libgcc sorts its
# registrations at the first lookup (about 16 s at 1e5 on the development
# machine): that first throw is reported on stderr, not in the figure.
echo "bench: building the C++-through-JIT throw benchmark" >&2
findfde=$(cd "$BUILD" && pwd)/libstackwalk_findfde.so
[[ -e $findfde ]] || { echo "bench: $findfde missing; run make first (make bench does)" >&2; exit 1; }
CXX=${CXX:-g++}
[[ $CXX == c++ ]] && CXX=g++
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -Iinclude -c tests/jit/emit.c -o "$BUILD/bench/throw_emit.o"
# the registry's interposer entry point is exported from the program
"$CXX" -std=gnu++17 -O2 -g -Wall -Wextra -Iinclude -Itests/jit -o "$BUILD/bench/throw_jit" \
	bench/throw_jit.cc "$BUILD/bench/throw_emit.o" "$lib" \
	-Wl,-u,sw_jit_eh_find_fde,--export-dynamic-symbol=sw_jit_eh_find_fde -ldl
echo "bench: throws through JIT frames (libgcc's first lookup at 1e5 takes seconds)" >&2
for n in 1000 10000 100000; do
	"$BUILD/bench/throw_jit" register_frame "$n"
	"$BUILD/bench/throw_jit" default "$n"
	LD_PRELOAD=$findfde "$BUILD/bench/throw_jit" interposer "$n"
done
# ================================================================ end of C++ exceptions through JIT frames

# ================================================================ publishers
# (bench/pub_bench.c) registration cost per procedure with each publisher:
#   jit.register.gdb / .perf / .libgcc / .all_publishers   ns/proc
# (20,000 one-procedure registrations per round, median of 3 rounds), and
# at 10^5 one-procedure registrations:
#   jit.register.1e5.none / .default   ns/proc without publishers and with
#                                      the default ones (no publisher call)
#   jit.remove.1e5.default             ns/proc to remove them again
#   jit.memory.1e5.none / .default     heap bytes per procedure (malloc'ed,
#                                      registry + publishers)
#   jit.lookup.1e5.libgcc_default      ns per _Unwind_Find_FDE of a random
#                                      JIT PC in libgcc_s after them
echo "bench: registration with publishers" >&2
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -Iinclude -o "$BUILD/bench/pub_bench" bench/pub_bench.c "$lib" -ldl \
	-Wl,--no-as-needed -lgcc_s -Wl,--as-needed
pubdir=$(mktemp -d)
JITDUMPDIR=$pubdir "$BUILD/bench/pub_bench" 20000
rm -rf "$pubdir"
# ================================================================ end of publishers

# ================================================================ C++ throw+catch
# (bench/throw_bench.cc; everything in this section)
#   throw.depthD.stackwalk    us per throw+catch through D = 10 / 30
#                             non-inlined frames, LD_PRELOAD of
#                             BUILD/libstackwalk_unwind.so
#   throw.depthD.libgcc       the same with libgcc_s (no preload)
#   throw.depthD.llvm         LD_PRELOAD of LLVM libunwind 16 (Debian's
#                             libunwind-16, unpacked into $llvm above)
#   throw.depthD.nongnu       LD_PRELOAD of nongnu libunwind's libunwind.so.8
#                             (libunwind8), which exports _Unwind_*
#   throw.threads2.speedup    stackwalk: throughput of 2 threads throwing at
#                             depth 10 over that of 1 (median of 3 rounds)
# One process per unwinder; each figure is the median of 5 batches.
echo "bench: building the C++ throw benchmark" >&2
"$CXX" -std=gnu++17 -O2 -g -Wall -Wextra -o "$BUILD/bench/throw_bench" bench/throw_bench.cc -ldl -pthread
unw_so=$(cd "$BUILD" && pwd)/libstackwalk_unwind.so
if [[ -e $unw_so ]]; then
	LD_PRELOAD=$unw_so "$BUILD/bench/throw_bench" depth stackwalk
else
	echo "bench: no throw.*.stackwalk: $unw_so missing (make all builds it)" >&2
fi
"$BUILD/bench/throw_bench" depth libgcc
if [[ -e $llvm_so ]]; then
	LD_PRELOAD=$(cd "$(dirname "$llvm_so")" && pwd -P)/libunwind.so.1 "$BUILD/bench/throw_bench" depth llvm ||
		echo "bench: the LLVM libunwind 16 throw benchmark failed" >&2
else
	echo "bench: no throw.*.llvm: LLVM libunwind 16 unavailable ($llvm_so missing)" >&2
fi
nongnu_so=/usr/lib/x86_64-linux-gnu/libunwind.so.8
if [[ -e $nongnu_so ]]; then
	LD_PRELOAD=$nongnu_so "$BUILD/bench/throw_bench" depth nongnu ||
		echo "bench: the nongnu libunwind throw benchmark failed" >&2
else
	echo "bench: no throw.*.nongnu: $nongnu_so missing (libunwind8; make deps installs libunwind-dev)" >&2
fi
if [[ -e $unw_so ]]; then
	LD_PRELOAD=$unw_so "$BUILD/bench/throw_bench" threads stackwalk
fi
# ================================================================ end of C++ throw+catch

# ================================================================ symbolization (bench/symbolize.sh)
# stackwalk symbolize against llvm-addr2line and binutils addr2line on the
# same 10,000 addresses (SQLite, libc6-dbg's libc), CPU and peak RSS, and
# warm in-process lookups
bench/symbolize.sh "$BUILD" || echo "bench: bench/symbolize.sh failed" >&2

# ================================================================ remote unwinding (bench/remote.sh)
# stackwalk stack against eu-stack -p and gdb on 8- and 64-thread targets,
# how long each thread is stopped, snapshot walks, stackwalk perf against
# perf script on the same perf.data ('#' lines say what was measured)
bench/remote.sh "$BUILD" || echo "bench: bench/remote.sh failed" >&2

# ================================================================ nongnu libunwind's API (bench/libunwind.sh)
# libunwind.{step,backtrace,proc_name}.{stackwalk,nongnu}, perf.report.dwarf.{stackwalk,nongnu}
bench/libunwind.sh "$BUILD" || echo "bench: bench/libunwind.sh failed" >&2

# ================================================================ compact tables (bench/table.sh)
# table.build.libc, table.size.{libc,libstdcxx,sqlite} beside .eh_frame+hdr
# and .sframe sizes
if [[ -e bench/table.sh ]]; then
	bash bench/table.sh "$BUILD" || echo "bench: bench/table.sh failed" >&2
fi

# ================================================================ sampling profilers (bench/profile.sh)
# profile.{python3,sqlite3,cxx}.{stackwalk,nongnu,libgcc}: unwinding time per
# SIGPROF sample in real programs, with depth and share of complete samples
if [[ -e bench/profile.sh ]]; then
	bash bench/profile.sh "$BUILD" || echo "bench: bench/profile.sh failed" >&2
fi
