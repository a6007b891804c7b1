#!/usr/bin/env bash
# `make install PREFIX=...` lays out headers, static and shared libraries,
# the tool and a pkg-config file that a consumer can build against, and the
# shared library needs nothing beyond libc.
#
#   tests/scripts/install.sh BUILD_DIR MODE
set -euo pipefail
BUILD=${1:?usage: install.sh BUILD_DIR MODE}
MODE=${2:-full}
cd "$(dirname "$0")/../.."
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
san=()
cflags=()
if [ "$MODE" = quick ]; then
	san=(SAN=1)
	cflags=(-fsanitize=address,undefined)
fi
pass=0
fail=0
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; fi; }

make -s --no-print-directory install PREFIX="$prefix" BUILD="$BUILD" "${san[@]}" >/dev/null
for f in include/stackwalk.h include/stackwalk/jit.h lib/libstackwalk.a lib/libstackwalk.so lib/libstackwalk.so.0 \
	 lib/pkgconfig/stackwalk.pc bin/stackwalk; do
	check test -e "$prefix/$f"
done
cat >"$prefix/use.c" <<'C'
#include <stackwalk.h>
#include <stdio.h>
int main(void) { puts(sw_strerror(SW_EBADCIE)); return 0; }
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
read -r -a pc <<<"$(pkg-config --cflags --libs stackwalk)"
check gcc "${cflags[@]}" "$prefix/use.c" "${pc[@]}" -Wl,-rpath,"$prefix/lib" -o "$prefix/use-shared"
check gcc "${cflags[@]}" "$prefix/use.c" "-I$prefix/include" "$prefix/lib/libstackwalk.a" -o "$prefix/use-static"
check test "$("$prefix/use-shared")" = "CIE pointer does not designate a CIE"
check test "$("$prefix/use-static")" = "CIE pointer does not designate a CIE"
# zero runtime dependencies beyond libc (and the sanitizer runtimes in quick mode)
deps=$(readelf -d "$prefix/lib/libstackwalk.so.0" | awk '/NEEDED/ { print $5 }' | tr -d '[]' | grep -v -e '^libc\.so' -e '^libasan' -e '^libubsan' || true)
check test -z "$deps"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
