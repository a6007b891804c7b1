#!/usr/bin/env bash
# Reproducer: unwind information read from a module's file (.eh_frame without
# .eh_frame_hdr, or .debug_frame) is kept in a table keyed by the module's
# link map and load bias (src/unwind/filecfi.c, slot_for).  glibc reuses the
# link_map allocation and the address range after dlclose, so the next module
# loaded there is unwound with the previous file's CFI: wrong frames, a false
# SW_END_OF_STACK, parse errors (SW_ELENGTH), or garbage return addresses.
# Nothing resets the table on dlclose (dlhooks.c only flushes the rule cache).
#
#   tests/unwind/repro/file_cfi_reload.sh [BUILD_DIR]     (default build/out)
#
# Expected: every line "ok".  Seen: debug_b.so and eh_a.so after debug_a.so FAIL.
set -eu
cd "$(dirname "$0")/../../.."
build=${1:-build/out}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
m=tests/unwind/src_mod.c
dbg=(-fno-asynchronous-unwind-tables -fno-unwind-tables -g)
gcc -O2 -fomit-frame-pointer -DMOD_PAD=16 "${dbg[@]}" -fPIC -shared $m -o "$t/debug_a.so"
gcc -O2 -fomit-frame-pointer -DMOD_PAD=48 "${dbg[@]}" -fPIC -shared $m -o "$t/debug_b.so"
gcc -O2 -fomit-frame-pointer -DMOD_PAD=16 -Wl,--no-eh-frame-hdr -fPIC -shared $m -o "$t/eh_a.so"
gcc -std=gnu11 -O2 -g -Iinclude -Itests/unwind tests/unwind/sources.c "$build/libstackwalk.a" -ldl -o "$t/sources"
# each alone: ok
"$t/sources" "debug:$t/debug_b.so" | grep '^sources: debug'
"$t/sources" "eh:$t/eh_a.so" | grep '^sources: eh'
# after another module at the same address: FAILED
"$t/sources" "debug:$t/debug_a.so" "debug:$t/debug_b.so" "eh:$t/eh_a.so" | grep '^sources: [a-z]* ' || true
