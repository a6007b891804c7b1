#!/usr/bin/env bash
# Limits and ends of walks (tests/limits/limits.c): a 10,000-deep
# recursion backtraced whole (same count and PCs as glibc's backtrace(),
# a cursor walk to SW_END_OF_STACK, a cut trace reported as cut), and a
# makecontext stack walked to its end (SW_END_OF_STACK, not an error at
# glibc's __start_context).  Every name the walk gives must be a symbol
# that contains the PC: checked here against the ELF symbol sizes (nm -S
# on the module, or on its separate debug file found by build-id).
#
#   tests/scripts/limits.sh BUILD_DIR MODE
#
# The programs (one per variant, mk/tests.mk's LIMITS_VARIANTS_*) are built
# by make into BUILD_DIR/tests/limits/VARIANT/limits.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init limits "$@"
read -r -a variants <<<"$(t_mkvar "LIMITS_VARIANTS_$mode")"

# symbols FILE: "value size name" for every sized symbol of FILE, from its
# debug file when one is installed (stripped libraries keep .symtab there)
symbols() {
	local f=$1 id dbg
	id=$(readelf -n "$f" 2>/dev/null | awk '/Build ID/ { print $3 }')
	dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	{ [ -n "$id" ] && [ -e "$dbg" ] && nm -S "$dbg" 2>/dev/null; nm -S "$f" 2>/dev/null; nm -D -S "$f" 2>/dev/null; } |
		awk 'NF == 4 { print $1, $2, $4 }' | sed 's/@.*//'
}

# check_names OUTPUT: every "frame IP NAME OFF MODULE BASE" line's NAME is
# a sized symbol of MODULE that contains the looked-up PC (IP - 1 for a
# return address, IP itself at offset 0) and starts at IP - OFF
check_names() {
	local ip name off mod base rel v s sv ss ok bad=0 first=1
	declare -A syms=()
	while read -r _ ip name off mod base; do
		if [ "$name" = - ] || [ "$mod" = - ]; then
			echo "  unnamed frame $ip ($mod)"
			bad=1
			continue
		fi
		[ -n "${syms[$mod]:-}" ] || syms[$mod]=$(symbols "$mod")
		rel=$((ip - base))
		ok=0
		while read -r sv ss _; do
			v=$((16#$sv)) s=$((16#$ss))
			# the symbol starts at IP - OFF and contains the looked-up PC
			local pc=$rel
			((first == 0 && off > 0)) && pc=$((rel - 1))
			if ((v == rel - off && pc >= v && pc < v + s)); then
				ok=1
				break
			fi
		done < <(awk -v n="$name" '$3 == n' <<<"${syms[$mod]}")
		if ((ok == 0)); then
			echo "  $ip: $name+$off is not a symbol of $mod containing the PC"
			bad=1
		fi
		first=0
	done < <(grep '^frame ' <<<"$1")
	return $bad
}

for v in "${variants[@]}"; do
	exe=$progs/$v/limits
	if ! t_built "$exe"; then
		bad "$v: program"
		bad "$v: names"
		continue
	fi
	out=$("$exe" 2>&1) || true
	res=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1 || true)
	if [[ $res == *" passed, 0 failed" ]]; then
		ok
	else
		bad "$v: ${res:-crashed}"
		grep -v '^frame ' <<<"$out" | head -20
	fi
	if grep -q '^frame ' <<<"$out" && check_names "$out"; then
		ok
	else
		bad "$v: names"
		grep '^frame ' <<<"$out" | head -20
	fi
done
t_finish
