#!/usr/bin/env bash
# The tree builds warning-free (-Wall -Wextra and more, as -Werror) under
# both gcc and clang: library, tool and unit tests.
#
#   tests/scripts/warnings.sh BUILD_DIR MODE   (MODE=quick skips: the plain run covers it)
set -euo pipefail
BUILD=${1:?usage: warnings.sh BUILD_DIR MODE}
MODE=${2:-full}
cd "$(dirname "$0")/../.."
if [ "$MODE" = quick ]; then
	echo "warnings: checked by the plain run"
	echo "0 passed, 0 failed"
	exit 0
fi
pass=0
fail=0
for cc in gcc clang; do
	dir=$BUILD/werror-$cc
	if make -s --no-print-directory -j2 CC=$cc BUILD="$dir" CFLAGS="-O2 -g -Werror" all tests \
		>"$dir.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $cc build has warnings or errors:"
		tail -n 20 "$dir.log"
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
