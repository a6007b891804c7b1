#!/usr/bin/env bash
# Separate debug files found through .gnu_debuglink (src/elf/debuglink.c):
# a library built without a build-id, stripped, its debug info split out
# with objcopy.  sw_get_proc_name must name its static function when the
# debug file lies (a) next to it, (b) in .debug/ next to it, (c) under the
# global debug directory by path (SW_DEBUG_DIR, as gdb's
# debug-file-directory), and must not when (d) the debug file's CRC does
# not match the debuglink, or (e) its build-id differs from the library's.
# (f) the build-id lookup also honours SW_DEBUG_DIR.  For (a)-(c) and (f)
# the frame names equal gdb's `bt`, and gdb rejects (d) too.
#
#   tests/scripts/debuglink.sh BUILD_DIR MODE
# (The program is built by make, mk/tests.mk, into
# BUILD_DIR/tests/debuglink/; the library it loads is made, stripped and
# split here at test time.)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh debuglink "$@"
WORK=$out
t_need gdb objcopy

exe=$progs/main
t_built "$exe" || t_abort "the program is not built"

# build_lib DIR BUILD_ID: DIR/lib.so stripped, DIR/lib.so.debug its debug
# info, and the .gnu_debuglink pointing to it (CRC of that debug file).
build_lib() {
	local dir=$1 id=$2
	mkdir -p "$dir"
	gcc -g -O1 -fPIC -shared -Wl,--build-id="$id" -o "$dir/lib.so" tests/debuglink/lib.c
	objcopy --only-keep-debug "$dir/lib.so" "$dir/lib.so.debug"
	strip --strip-debug --strip-unneeded "$dir/lib.so"
	# run in DIR: --add-gnu-debuglink records the base name only
	(cd "$dir" && objcopy --add-gnu-debuglink=lib.so.debug lib.so)
}

# names_sw / names_gdb DEBUG_DIR LIB: the frame names, checkpoint to main
names_sw() {
	SW_DEBUG_DIR=$1 "$exe" "$2" | sed -n 's/^sw: //p'
}
names_gdb() {
	gdb -batch -nx -ex 'set debuginfod enabled off' -ex "set debug-file-directory $1" \
		-ex 'break checkpoint' -ex run -ex bt -ex continue --args "$exe" "$2" 2>&1 |
		sed -n 's/^#[0-9]\+ \+\(0x[0-9a-f]\+ in \)\?\([^ (]\+\) .*/\2/p' | sed '/^main$/q'
}

# expect CASE DEBUG_DIR LIB named|unnamed [gdb]
expect() {
	local case=$1 dbgdir=$2 lib=$3 want=$4 with_gdb=${5:-}
	local sw gdbn
	sw=$(names_sw "$dbgdir" "$lib" || true)
	if [ "$want" = named ]; then
		if grep -qx hidden_step <<<"$sw"; then ok; else bad "$case: stackwalk does not name hidden_step"; printf '%s\n' "$sw"; fi
	else
		if grep -qx hidden_step <<<"$sw" || ! grep -qx lib_entry <<<"$sw"; then
			bad "$case: stackwalk names hidden_step from a rejected debug file"; printf '%s\n' "$sw"
		else ok; fi
	fi
	[ -n "$with_gdb" ] || return 0
	gdbn=$(names_gdb "$dbgdir" "$lib" || true)
	if [ "$want" = named ]; then
		if [ -n "$gdbn" ] && [ "$gdbn" = "$sw" ]; then ok; else
			bad "$case: stackwalk and gdb differ"; paste <(printf '%s\n' "$gdbn") <(printf '%s\n' "$sw"); fi
	else
		if grep -qx hidden_step <<<"$gdbn"; then bad "$case: gdb accepts the debug file"; else ok; fi
	fi
}

empty=$WORK/empty-debug-dir
global=$WORK/global-debug-dir
mkdir -p "$empty" "$global"

# (a) next to the library
build_lib "$WORK/a" none
expect "(a) DIR/NAME" "$empty" "$WORK/a/lib.so" named gdb

# (b) DIR/.debug/NAME
build_lib "$WORK/b" none
mkdir -p "$WORK/b/.debug"
mv "$WORK/b/lib.so.debug" "$WORK/b/.debug/"
expect "(b) DIR/.debug/NAME" "$empty" "$WORK/b/lib.so" named gdb

# (c) GLOBAL/DIR/NAME
build_lib "$WORK/c" none
mkdir -p "$global/$WORK/c"
mv "$WORK/c/lib.so.debug" "$global/$WORK/c/"
expect "(c) GLOBAL/DIR/NAME" "$global" "$WORK/c/lib.so" named gdb

# (d) a debug file whose CRC does not match: one byte appended
build_lib "$WORK/d" none
printf x >>"$WORK/d/lib.so.debug"
expect "(d) CRC mismatch" "$empty" "$WORK/d/lib.so" unnamed gdb

# (e) the CRC matches but the build-ids differ: the debug file of an
# otherwise identical build with another build-id, linked by its CRC
build_lib "$WORK/e" 0x1111111111111111111111111111111111111111
gcc -g -O1 -fPIC -shared -Wl,--build-id=0x2222222222222222222222222222222222222222 \
	-o "$WORK/e/other.so" tests/debuglink/lib.c
objcopy --only-keep-debug "$WORK/e/other.so" "$WORK/e/other.so.debug"
objcopy --remove-section=.gnu_debuglink "$WORK/e/lib.so"
(cd "$WORK/e" && objcopy --add-gnu-debuglink=other.so.debug lib.so)
expect "(e) build-id mismatch" "$empty" "$WORK/e/lib.so" unnamed

# (f) the build-id lookup under SW_DEBUG_DIR (no debuglink)
build_lib "$WORK/f" 0x3333333333333333333333333333333333333333
objcopy --remove-section=.gnu_debuglink "$WORK/f/lib.so"
mkdir -p "$WORK/f/dbg/.build-id/33"
mv "$WORK/f/lib.so.debug" "$WORK/f/dbg/.build-id/33/$(printf '3%.0s' {1..38}).debug"
expect "(f) build-id under SW_DEBUG_DIR" "$WORK/f/dbg" "$WORK/f/lib.so" named gdb

t_finish
