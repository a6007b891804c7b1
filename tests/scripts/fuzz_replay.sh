#!/usr/bin/env bash
# Replay the saved fuzz corpora (fuzz/corpus/<target>/) through the libFuzzer
# targets built with ASan+UBSan by clang:   tests/scripts/fuzz_replay.sh BUILD MODE
# Each corpus file is one test.  BUILD is accepted for the suite's calling
# convention; the fuzzers always build into build/fuzz/, so the full pass
# leaves them to the quick one.  clang is
# installed by `make deps`, so a missing clang is a failure, not a skip.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init fuzz_replay "$@"
t_need "${CLANG:-clang}"
# the fuzzers are the same ASan+UBSan build in either pass of make check:
# replayed once, in the sanitizer (quick) pass
if [[ $mode == full ]]; then
	skip fuzz_replay "the fuzzers are built with ASan+UBSan in either pass: replayed in the quick pass"
	echo "0 passed, 0 failed"
	exit 0
fi
exec ./fuzz/run.sh replay
