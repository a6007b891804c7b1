#!/usr/bin/env bash
# The tree builds warning-free (-Wall -Wextra and more, as -Werror) under
# both gcc and clang: library, tool and unit tests.
#
#   tests/scripts/warnings.sh BUILD_DIR MODE   (MODE=quick skips: the plain run covers it)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init warnings "$@"
t_quick_skip "checked by the plain run"
for cc in gcc clang; do
	dir=$build/werror-$cc
	if make -s --no-print-directory -j2 CC=$cc BUILD="$dir" CFLAGS="-O2 -g -Werror" all unit-tests \
		>"$dir.log" 2>&1; then
		ok
	else
		bad "$cc build has warnings or errors:"
		tail -n 20 "$dir.log"
	fi
done
t_finish
