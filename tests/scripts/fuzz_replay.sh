#!/usr/bin/env bash
# Replay the saved fuzz corpora (fuzz/corpus/<target>/) through the libFuzzer
# targets built with ASan+UBSan by clang:   tests/scripts/fuzz_replay.sh BUILD MODE
# Each corpus file is one test.  BUILD and MODE are accepted for the suite's
# calling convention; the fuzzers always build into build/fuzz/.  clang is
# installed by `make deps`, so a missing clang is a failure, not a skip.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init fuzz_replay "$@"
t_need "${CLANG:-clang}"
exec ./fuzz/run.sh replay
