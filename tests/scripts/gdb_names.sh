#!/usr/bin/env bash
# Procedure names: gdb's `bt` at a breakpoint and stackwalk's walk of the
# same stack (sw_get_proc_name per frame) must list the same functions,
# from the breakpoint's function down to main, for gcc and clang builds at
# several optimisation levels, with and without frame pointers.
#
#   tests/scripts/gdb_names.sh BUILD_DIR MODE
#
# The programs (one per variant, mk/tests.mk's GDB_NAMES_VARIANTS_*: CC-OPT,
# -fp: with -fno-omit-frame-pointer) are built by make into
# BUILD_DIR/tests/gdb_names/VARIANT/names.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init gdb_names "$@"
t_need gdb
read -r -a variants <<<"$(t_mkvar "GDB_NAMES_VARIANTS_$mode")"
for v in "${variants[@]}"; do
	exe=$progs/$v/names
	t_built "$exe" || { bad "$v"; continue; }
	out=$(gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'break checkpoint' -ex run \
		-ex bt -ex continue "$exe" 2>&1) || true
	# gdb: "#N  0x... in NAME (args) at file" or "#0  NAME (args) at file"
	gdb_names=$(printf '%s\n' "$out" | sed -n 's/^#[0-9]\+ \+\(0x[0-9a-f]\+ in \)\?\([^ (]\+\) .*/\2/p' |
		    sed '/^main$/q')
	sw_names=$(printf '%s\n' "$out" | sed -n 's/^sw: //p')
	if [ -n "$gdb_names" ] && [ "$gdb_names" = "$sw_names" ]; then
		ok
	else
		bad "$v"
		paste <(printf '%s\n' "$gdb_names") <(printf '%s\n' "$sw_names") | head -20
	fi
done
t_finish
