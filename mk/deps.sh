#!/usr/bin/env bash
# Install the Debian (bookworm) packages the tests, sanitizer builds and fuzzers
# need.  Called by `make check` / `make fuzz` (target `deps`): machines are not
# kept between sessions, so the project itself must install what it uses.
# `mk/deps.sh build` (target `build-deps`, before every build) only the ones
# building the libraries and the tool needs: libstackwalk_symbolize's
# zlib, zstd, lzma and libiberty headers and archives.
# Never reads stdin: CI runs with no standard input.
set -euo pipefail

# clang 14 is bookworm's clang; libclang-rt-14-dev carries its ASan/UBSan and
# libFuzzer runtimes.  binutils gives readelf; elfutils gives eu-readelf etc.;
# gdb and libunwind-dev are reference unwinders the tests compare against;
# linux-perf gives perf, which the JIT publisher tests drive; cppcheck and
# cmake are real C++ programs that throw internally (tests/scripts/eh.sh
# runs them on libstackwalk_unwind); strace (-k) and heaptrack are real
# clients of nongnu libunwind that tests/scripts/libunwind_*.sh run on
# stackwalk's drop-in libunwind.
PKGS=(gcc g++ clang binutils make pkg-config zlib1g-dev libzstd-dev liblzma-dev libiberty-dev zstd xz-utils dwz llvm libc6-dbg python3 libclang-rt-14-dev gdb libunwind-dev elfutils sqlite3
	linux-perf cppcheck cmake strace heaptrack google-perftools libgoogle-perftools4)
[[ ${1:-} == build ]] && PKGS=(gcc make zlib1g-dev libzstd-dev liblzma-dev libiberty-dev)

missing=()
for p in "${PKGS[@]}"; do
	# dpkg-query fails for never-seen packages; "deinstall ... config-files"
	# also means not installed, so compare the exact status string.
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$p")
done

((${#missing[@]} == 0)) && exit 0

echo "deps: missing packages: ${missing[*]}" >&2

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: not root, cannot install them; run:" >&2
	echo "  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg instead of failing at once on its lock.
apt_opts=(-o DPkg::Lock::Timeout=300)
# A stale or missing package list makes install fail; refresh it once.  If the
# refresh fails (e.g. offline) still try the install with the lists we have.
apt-get "${apt_opts[@]}" update -qq </dev/null ||
	echo "deps: apt-get update failed; trying the install anyway" >&2
status=0
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null || status=$?
((status == 0)) && echo "deps: installed ${missing[*]}" >&2
exit "$status"
