#!/usr/bin/env bash
# demo/run.sh TOOL BACKTRACE_DEMO JIT_DEMO: the main job.
#   part 1: a tiny JIT registers its code once with stackwalk; stackwalk,
#           libgcc's C++ exception unwinder, stackwalk's own (the same
#           program linked with libstackwalk_unwind, JIT_DEMO_eh) and GDB
#           all see the generated frames (demo/jit_demo.cc);
#   part 2: the unwinder on compiled code (backtraces with names, out of a
#           SIGSEGV handler);
#   part 3: what the stackwalk tool reads from a real library's CFI.
set -euo pipefail

if (($# != 3)); then
	echo "usage: $0 path/to/stackwalk path/to/backtrace-demo path/to/jit-demo" >&2
	exit 2
fi
tool=$1
bt=$2
jit=$3

echo "=== stackwalk demo, part 1: generated code, registered once, seen by every consumer ==="
echo
"$jit"
echo
echo "--- 2b. stackwalk's own C++ exception unwinder (libstackwalk_unwind), nothing published ---"
echo
if [[ -x ${jit}_eh ]]; then
	"${jit}_eh" --eh
else
	echo "    ${jit}_eh not built"
fi
echo
echo "--- 3. GDB (the GDB JIT interface): bt at a breakpoint in C++ code called by calc::check ---"
echo
if command -v gdb >/dev/null; then
	# only the backtrace lines: frame lines start with #N
	gdb -batch -nx -ex 'set debuginfod enabled off' -ex 'break demo_probe_hit' -ex run -ex bt \
		--args "$jit" --gdb 2>&1 | grep -E '^#[0-9]+ ' | sed 's/^/    /' ||
		echo "    (gdb printed no backtrace)"
else
	echo "    gdb is not installed: skipped (make check installs it)"
fi
echo
echo "=== part 2: the unwinder on compiled code ==="
echo
"$bt"
echo
echo "=== part 3: the CFI engine (stackwalk cfi) ==="
echo
libc=${LIBC:-/lib/x86_64-linux-gnu/libc.so.6}

cat <<HDR
stackwalk demo: the unwind rules (CFA and saved registers) that stackwalk
decodes from .eh_frame for a few exported functions of $libc, and then
the start of its whole CFI table.

HDR

# Address of an exported, defined function (default version "@@" or
# unversioned) from the dynamic symbol table, plus 4: a PC inside its body,
# past the usual first push, where the CFA rule is more interesting.
sym_pc() {
	local addr
	addr=$(readelf --wide --dyn-syms "$libc" | awk -v n="$1" '
		($4 == "FUNC" || $4 == "IFUNC") && $7 != "UND" &&
		($8 == n || index($8, n "@@") == 1) { print $2; exit }')
	[[ -n $addr ]] || { echo "demo: symbol $1 not found in $libc" >&2; return 1; }
	printf '0x%x\n' $((16#$addr + 4))
}

for fn in malloc memcpy; do
	pc=$(sym_pc "$fn")
	echo "== $fn+4 ($pc): $tool cfi --pc $pc $libc"
	"$tool" cfi --pc "$pc" "$libc"
	echo
done

echo "== first 40 lines of: $tool cfi $libc"
# head closes the pipe early; a SIGPIPE (141) in the tool is expected then.
set +o pipefail
"$tool" cfi "$libc" | head -n 40
st=${PIPESTATUS[0]}
set -o pipefail
((st == 0 || st == 141))
