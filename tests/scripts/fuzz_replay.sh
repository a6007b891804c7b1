#!/usr/bin/env bash
# Replay the saved fuzz corpora (fuzz/corpus/<target>/) through the libFuzzer
# targets built with ASan+UBSan by clang:   tests/scripts/fuzz_replay.sh BUILD MODE
# Each corpus file is one test.  BUILD and MODE are accepted for the suite's
# calling convention; the fuzzers always build into build/fuzz/.  clang is
# installed by `make deps`, so a missing clang is a failure, not a skip.
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR full|quick" >&2
	exit 2
fi
cd "$(dirname "$0")/../.."

if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
	echo "fuzz_replay: ${CLANG:-clang} not found (make deps installs it)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
exec ./fuzz/run.sh replay
