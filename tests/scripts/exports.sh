#!/usr/bin/env bash
# The shared libraries export the public API and nothing else:
#
#   tests/scripts/exports.sh BUILD_DIR MODE
#
#   so-set        libstackwalk.so's defined dynamic symbols (nm -D
#                 --defined-only) are exactly the functions the public
#                 headers declare (every header under include/, as gcc
#                 -aux-info lists them; static inline helpers excluded)
#                 plus the contract symbols mk/stackwalk.map documents
#                 (its "contract: NAME" lines)
#   so-versions   every exported sw_ symbol has, as its default version
#                 (@@), a STACKWALK_ node that mk/stackwalk.map defines;
#                 the other contract symbols are unversioned (they
#                 interpose the C library's dlclose and other libraries'
#                 unversioned names)
#   unwind-set    libstackwalk_unwind.so: the libgcc_s names src/eh/libgcc.map
#                 lists and its unversioned dlclose (src/eh/dlclose.c),
#                 nothing of stackwalk's API (it needs libstackwalk.so:
#                 one registry per process)
#   unwind-versions  its dlclose unversioned, and each libgcc_s name
#                 with the very version the system's libgcc_s.so.1 gives it
#   unwind-libgcc every libgcc name it exports is one libgcc_s.so.1 exports
#   libunwind-set / -versions / -clients  the drop-in nongnu libunwind
#                 (BUILD/libunwind): only nongnu's names, unversioned, and
#                 every libunwind name perf, strace and heaptrack import
#
# MODE is accepted for tests/run.sh; both modes check the libraries
# BUILD_DIR holds (the sanitizer build has no libstackwalk_unwind.so: the
# plain run checks it).
# Output: PASS/FAIL per check (the differences under a FAIL), then
# "N passed, N failed".
set -uo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR full|quick" >&2
	exit 2
fi
[[ -f $1/libstackwalk.so ]] || { echo "$0: no $1/libstackwalk.so" >&2; exit 2; }
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

# same NAME WANT GOT: the two sorted lists are equal (else print the diff)
same() {
	if cmp -s "$2" "$3"; then
		ok "$1 ($(wc -l <"$3") symbols)"
	else
		ko "$1"
		diff "$2" "$3" | sed -n 's/^</  missing:    /p; s/^>/  unexpected: /p' | head -n 200
	fi
}

# the functions declared in the public headers
find include -name '*.h' | LC_ALL=C sort | sed "s|^include/|#include <|; s|$|>|" >"$work/all.c"
if ! gcc -std=gnu11 -fsyntax-only -aux-info "$work/all.aux" -I "$root/include" "$work/all.c" 2>"$work/aux.err"; then
	cat "$work/aux.err"
	ko "the public headers compile"
	echo "$pass passed, $fail failed"
	exit 1
fi
# include/stackwalk/symbolize.h is libstackwalk_symbolize's (its own set below)
pubfuncs() {
	grep -F '*/ extern ' | sed -E 's:^/\*[^*]*\*/ ::; s/^[^(]*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*) \(.*/\1/' |
		LC_ALL=C sort -u
}
grep -F "/* $root/include/" "$work/all.aux" | grep -vF "/* $root/include/stackwalk/symbolize.h:" |
	pubfuncs >"$work/public.txt"
grep -F "/* $root/include/stackwalk/symbolize.h:" "$work/all.aux" | pubfuncs >"$work/sym_public.txt"
npublic=$(wc -l <"$work/public.txt")
if ((npublic < 10)); then
	ko "found the public functions (only $npublic)"
	echo "$pass passed, $fail failed"
	exit 1
fi

# the contract symbols and the version nodes the map documents
map=mk/stackwalk.map
sed -n 's/^ \* contract: \([A-Za-z0-9_]*\).*/\1/p' "$map" | LC_ALL=C sort -u >"$work/contract.txt"
nodes=$(grep -oE '^STACKWALK_[0-9.]+' "$map" | sort -u | paste -sd' ')
[[ -n $nodes ]] || ko "$map defines a STACKWALK_ version node"
LC_ALL=C sort -u "$work/public.txt" "$work/contract.txt" >"$work/want.txt"

# exported NAME@VERSION (VERSION empty when unversioned), version
# definitions (type A) left out
exports() {
	nm -D --defined-only "$1" | awk '$2 != "A" { print $3 }' | LC_ALL=C sort -u
}

# check_versions NAME FILE: sw_ symbols carry a STACKWALK_ node as their
# default version, non-sw_ contract symbols none
check_versions() {
	local bad=0 sym name ver
	while read -r sym; do
		name=${sym%%@*}
		ver=
		[[ $sym == *@@* ]] && ver=${sym#*@@}
		if [[ $name == sw_* ]]; then
			if [[ -z $ver || " $nodes " != *" $ver "* ]]; then
				echo "  $sym: not in a STACKWALK_ node of $map ($nodes)"
				bad=1
			fi
		elif grep -qx "$name" "$work/contract.txt"; then
			if [[ $sym == *@* ]]; then
				echo "  $sym: a contract symbol must stay unversioned"
				bad=1
			fi
		fi
	done <"$2"
	if ((bad)); then ko "$1"; else ok "$1"; fi
}

exports "$build/libstackwalk.so" >"$work/so.txt"
sed 's/@.*//' "$work/so.txt" | LC_ALL=C sort -u >"$work/so.names"
same "so-set: libstackwalk.so exports the $npublic public functions and $(wc -l <"$work/contract.txt") contract symbols" \
	"$work/want.txt" "$work/so.names"
check_versions "so-versions: libstackwalk.so's sw_ symbols are in $nodes" "$work/so.txt"

# libstackwalk_symbolize.so: exactly stackwalk/symbolize.h's functions, all
# in the node mk/symbolize.map defines (not libiberty's demangler, not the
# ELF reader it compiles in)
sym=$build/libstackwalk_symbolize.so
exports "$sym" >"$work/sym.txt"
sed 's/@.*//' "$work/sym.txt" | LC_ALL=C sort -u >"$work/sym.names"
same "symbolize-set: libstackwalk_symbolize.so exports the $(wc -l <"$work/sym_public.txt") functions of stackwalk/symbolize.h" \
	"$work/sym_public.txt" "$work/sym.names"
if grep -qv '@@STACKWALK_SYMBOLIZE_0\.1$' "$work/sym.txt"; then
	ko "symbolize-versions: every symbol is in STACKWALK_SYMBOLIZE_0.1"
	grep -v '@@STACKWALK_SYMBOLIZE_0\.1$' "$work/sym.txt" | sed 's/^/  /'
else
	ok "symbolize-versions: every symbol is in STACKWALK_SYMBOLIZE_0.1"
fi

unw=$build/libstackwalk_unwind.so
if [[ -e $unw ]]; then
	# the libgcc_s names the map lists: identifiers before ';' outside
	# comments, version node names left out
	perl -0777 -pe 's{/\*.*?\*/}{}gs' src/eh/libgcc.map | grep -oE '[A-Za-z_][A-Za-z0-9_]*;' |
		tr -d ';' | grep -v -e '^GCC_' -e '^STACKWALK_' | LC_ALL=C sort -u >"$work/libgcc.txt"
	{ cat "$work/libgcc.txt"; echo dlclose; } | LC_ALL=C sort -u >"$work/want_unw.txt"
	exports "$unw" >"$work/unw.txt"
	sed 's/@.*//' "$work/unw.txt" | LC_ALL=C sort -u >"$work/unw.names"
	same "unwind-set: libstackwalk_unwind.so exports dlclose and $(wc -l <"$work/libgcc.txt") libgcc_s names, no sw_ API" \
		"$work/want_unw.txt" "$work/unw.names"
	check_versions "unwind-versions: libstackwalk_unwind.so's dlclose is unversioned" "$work/unw.txt"
	libgcc=$(gcc -print-file-name=libgcc_s.so.1)
	if [[ -f $libgcc ]]; then
		exports "$libgcc" | sed 's/@@*/ /' >"$work/real.txt"
		bad=0
		while read -r sym; do
			name=${sym%%@*}
			grep -qx "$name" "$work/libgcc.txt" || continue
			ver=${sym#*@@}
			[[ $sym == *@@* ]] || ver=
			if ! grep -qx "$name $ver" "$work/real.txt"; then
				echo "  $sym: libgcc_s.so.1 has $(grep "^$name " "$work/real.txt" | tr '\n' ' ')"
				bad=1
			fi
		done <"$work/unw.txt"
		if ((bad)); then ko "unwind-libgcc: each libgcc name with libgcc_s's version"; else
			ok "unwind-libgcc: each libgcc name with libgcc_s's version ($libgcc)"; fi
	else
		ko "unwind-libgcc: no libgcc_s.so.1 ($libgcc)"
	fi
else
	echo "exports: no $unw in this build (the plain build checks it)"
fi

# stackwalk's drop-in nongnu libunwind (BUILD/libunwind, src/libunwind):
# every name it exports is one of nongnu's (or unw_backtrace2 and unw_get_proc_name_by_ip, added in
# libunwind 1.7), unversioned as nongnu's are; every libunwind name that
# the Debian clients the tests run (perf, strace, heaptrack) import is
# defined; the nongnu names still missing are listed (informational).
lu=$build/libunwind
sysl=/lib/x86_64-linux-gnu
if [[ -e $lu/libunwind.so.8 && -e $sysl/libunwind.so.8 ]]; then
	names() { nm -D --defined-only "$@" 2>/dev/null | awk '$2 != "A" { print $3 }' | LC_ALL=C sort -u; }
	names "$lu"/libunwind.so.8 "$lu"/libunwind-x86_64.so.8 "$lu"/libunwind-ptrace.so.0 \
		"$lu"/libunwind-coredump.so.0 >"$work/lu.txt"
	{ names "$sysl"/libunwind.so.8 "$sysl"/libunwind-x86_64.so.8 "$sysl"/libunwind-ptrace.so.0 \
		"$sysl"/libunwind-coredump.so.0; printf "%s\n" unw_backtrace2 _ULx86_64_get_proc_name_by_ip _Ux86_64_get_proc_name_by_ip; } | LC_ALL=C sort -u >"$work/nongnu.txt"
	extra=$(LC_ALL=C comm -23 "$work/lu.txt" "$work/nongnu.txt")
	if [[ -z $extra ]]; then
		ok "libunwind-set: the $(wc -l <"$work/lu.txt") names stackwalk's libunwind libraries export are all nongnu libunwind's"
	else
		ko "libunwind-set: names nongnu libunwind does not export"
		sed 's/^/  unexpected: /' <<<"$extra"
	fi
	if grep -q @ "$work/lu.txt"; then
		ko "libunwind-versions: unversioned, as nongnu's"
		grep @ "$work/lu.txt" | sed 's/^/  /'
	else
		ok "libunwind-versions: unversioned, as nongnu's"
	fi
	# what the clients import (undefined dynamic symbols with libunwind's prefixes)
	: >"$work/client.txt"
	for exe in /usr/bin/perf /usr/bin/strace /usr/lib/heaptrack/libheaptrack_preload.so; do
		[[ -e $exe ]] || continue
		nm -D --undefined-only "$exe" 2>/dev/null | awk '{ print $2 }' | sed 's/@.*//' |
			grep -E '^(_UL?x86_64_|_U_dyn_|_UPT_|_UCD_|unw_)' >>"$work/client.txt"
	done
	LC_ALL=C sort -u -o "$work/client.txt" "$work/client.txt"
	missing=$(LC_ALL=C comm -23 "$work/client.txt" "$work/lu.txt")
	if [[ ! -s $work/client.txt ]]; then
		echo "exports: none of perf, strace, heaptrack is installed: the clients' names are not checked"
	elif [[ -z $missing ]]; then
		ok "libunwind-clients: the $(wc -l <"$work/client.txt") libunwind names perf, strace and heaptrack import are defined"
	else
		ko "libunwind-clients: names the clients import that stackwalk's libunwind lacks"
		sed 's/^/  missing: /' <<<"$missing"
	fi
	echo "exports: nongnu names stackwalk's libunwind does not provide:" \
		$(LC_ALL=C comm -13 "$work/lu.txt" "$work/nongnu.txt" | grep -v -e '^unw_backtrace2$' -e 'get_proc_name_by_ip$')
else
	echo "exports: no $lu/libunwind.so.8 or no nongnu libunwind: the libunwind checks are skipped"
fi

echo "$pass passed, $fail failed"
((fail == 0))
