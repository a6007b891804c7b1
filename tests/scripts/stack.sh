#!/usr/bin/env bash
# The stack bound of the signal-safe paths (stackwalk.h, "Stack use"):
# the worst-case stack of the call trees rooted at sw_step, sw_backtrace,
# sw_backtrace2, sw_backtrace_ucontext(2) and sw_get_proc_name, computed
# from the compiler's own figures: gcc's -fcallgraph-info=su (the
# Makefile's STACK_FLAGS) writes, next to each library object, a .ci file
# with every function's frame size (what -fstack-usage reports) and its
# call edges.  A root's figure is its frame plus the deepest chain of
# callees, external (libc) calls at the allowances listed below.
#
# Enforced: every root after warm-up (the first lookup in a module, which
# opens and maps its files, and the one-time initialisation are cut off:
# WARMUP below) is at most BUDGET bytes.  Reported, not enforced: the
# figures with warm-up, and sw_step through a lazy JIT callback (the
# registry converting the callback's answer; the user's callback itself
# is not ours to count).
#
# The call graph must be complete: a call through a function pointer, a
# call into a function outside the library, a frame of unbounded dynamic
# size or a recursion reachable from a root fails the check unless it is
# listed here (INDIRECT, EXTERNAL) — so a new one cannot go unnoticed.
#
# Plain gcc build only: the sanitizers inflate frames (redzones), and
# clang has no -fcallgraph-info.
#
#   tests/scripts/stack.sh BUILD_DIR MODE
set -euo pipefail
BUILD=${1:?usage: stack.sh BUILD_DIR MODE}
MODE=${2:-full}
cd "$(dirname "$0")/../.."

# the bound stackwalk.h states (SW_STACK_BOUND)
BUDGET=$(sed -n 's/^#define SW_STACK_BOUND \([0-9]*\).*/\1/p' include/stackwalk.h)
[ -n "$BUDGET" ] || { echo "no SW_STACK_BOUND in include/stackwalk.h"; echo "0 passed, 1 failed"; exit 1; }

if [ "$MODE" = quick ] || [[ $BUILD == *san* ]]; then
	echo "skipped: the sanitizer build's frames hold redzones; the bound is checked in the plain build"
	echo "0 passed, 0 failed"
	exit 0
fi
mapfile -t cis < <(find "$BUILD/src" -name '*.ci' -not -path '*/src/eh/*' 2>/dev/null | LC_ALL=C sort)
if [ "${#cis[@]}" -eq 0 ]; then
	echo "no .ci files under $BUILD/src: build the library with gcc (the Makefile's STACK_FLAGS," \
		"-fcallgraph-info=su)"
	echo "0 passed, 1 failed"
	exit 1
fi

ROOTS="sw_step sw_backtrace sw_backtrace2 sw_backtrace_ucontext sw_backtrace_ucontext2 sw_get_proc_name"

# Calls through function pointers: CALLER SITES TARGET...  CALLER is the
# function (gcc's clones .constprop/.part/.isra folded into it), SITES how
# many distinct indirect call sites the compiler reports in it (a new one
# fails until listed), then every function those sites can reach.
INDIRECT='
# sw_expr_env callbacks: the only environment the library builds is
# apply_row'"'"'s in cursor.c (expr_mem, expr_reg)
src/dwarf/expr.c:push_reg 1 src/unwind/cursor.c:expr_mem src/unwind/cursor.c:expr_reg
sw_expr_eval 1 src/unwind/cursor.c:expr_mem src/unwind/cursor.c:expr_reg
# DW_EH_PE_indirect (struct sw_cfi_section.deref): NULL in every section
# the library sets up (sw_cfi_section_init); only API users set it
sw_cfa_decode 1
src/dwarf/cfi_parse.c:sw_rd_encoded 1
src/dwarf/eh_hdr.c:sw_rd_encoded 1
src/table/build.c:sw_rd_encoded 1
# sw_cfa_table'"'"'s emit callback: NULL on sw_cfa_row_at'"'"'s path
src/dwarf/cfa.c:run 2
src/dwarf/cfa.c:run_program 1
# the symbol walk of sw_elf_symbolize
sw_elf_foreach_sym 1 src/elf/elf.c:symbolize_cb
# glibc'"'"'s _dl_find_object, resolved by sw_modules_init
sw_find_module 1 _dl_find_object
# the sources of unwind information (src/source): find in rank order
# (the JIT registry, a module'"'"'s .eh_frame_hdr, its file), release of
# what a find lent (inlined where the info is given back), names
sw_source_find_ranks 1 sw_jit_find_fde src/unwind/modules.c:module_find src/unwind/filecfi.c:file_find
sw_step 3 src/unwind/filecfi.c:file_release src/jit/registry/unwinder.c:jit_release src/remote/space.c:remote_find_fde src/remote/callbacks.c:cb_find_fde src/remote/space.c:remote_table_rule
# a walk of another target (source/target.h): its address space'"'"'s
# operations (src/remote/space.c)
sw_mem_read_bytes 1 src/remote/space.c:remote_read src/remote/callbacks.c:cb_read
sw_mem_module_range 1 src/remote/space.c:remote_module_range src/remote/callbacks.c:cb_module_range
sw_get_proc_name 1 src/remote/space.c:remote_name src/remote/callbacks.c:cb_name
# a callbacks address space (src/remote/callbacks.c, sw_as_new_callbacks):
# the caller'"'"'s read, find_cfi and get_proc_name: its code, not counted
src/remote/callbacks.c:cb_read 1
src/remote/callbacks.c:entry_read 1
src/remote/callbacks.c:cb_find_fde 1
src/remote/callbacks.c:cb_name 1
src/remote/callbacks.c:cb_module_range 1
sw_as_get_proc_name 1
sw_proc_info_at 1 src/unwind/filecfi.c:file_release src/jit/registry/unwinder.c:jit_release
sw_source_name 1 src/jit/registry/unwinder.c:jit_name
# a lazy JIT description'"'"'s callback (sized or not): the user'"'"'s code, not counted
sw_reg_find 2
'

# Functions outside the library: NAME BYTES [CALLBACK...].  BYTES is an
# allowance (return address included) for glibc 2.3x on x86-64, read from
# its sources, not measured: the string functions and system-call
# wrappers use at most a few words; the loader's functions walk their
# lists with small frames.  CALLBACK: functions of ours it calls back.
EXTERNAL='
memchr 64
memcmp 64
memmove 64
memcpy 64
memset 64
strchr 64
strcmp 64
strcspn 128
strlen 64
strncmp 64
strnlen 64
strrchr 64
strspn 128
close 64
fstat 128
mmap 64
munmap 64
open 128
read 64
stat 128
syscall 64
process_vm_readv 64
sigaltstack 64
getauxval 64
secure_getenv 128
_dl_find_object 256
dl_iterate_phdr 512 src/unwind/modules.c:phdr_cb
dladdr 1024
dlsym 2048
realpath 8192
sw_getcontext 8
'

# Warm-up, cut from the enforced figures: a module's first name lookup
# (open_images; lookup_alone when the names table is full and each lookup
# opens the files), a module's first .debug_frame lookup (load: open and
# mmap its file), sw_init's one-time resolution of glibc entry points, a
# module's compact table, built at the first walk that misses the rule
# cache in it (tables.c:fill; a remote file's: space.c:rf_table).
WARMUP='
src/unwind/tables.c:fill
src/remote/space.c:rf_table
src/unwind/names.c:open_images
src/unwind/names.c:lookup_alone
src/unwind/filecfi.c:load
sw_modules_init
sw_dlhooks_init
'
# The lazy JIT callback path (the registry converting a callback's
# answer): reported on its own.
LAZYJIT='
sw_reg_build_procs
'

awk -v roots="$ROOTS" -v budget="$BUDGET" -v indirect="$INDIRECT" -v external="$EXTERNAL" \
	-v warmup="$WARMUP" -v lazyjit="$LAZYJIT" '
# gcc clones (foo.constprop.0, foo.part.0, foo.isra.0, foo.cold) are foo
function base(n) { sub(/\.(constprop|part|isra|cold|lto_priv)(\.[0-9]+)*$/, "", n); sub(/\.(constprop|part|isra)(\.[0-9]+)*$/, "", n); return n }
function lines(s, arr,   n, i, k, out, f) {
	n = split(s, f, "\n"); k = 0
	for (i = 1; i <= n; i++) if (f[i] !~ /^[ \t]*(#|$)/) arr[++k] = f[i]
	return k
}
/^node: / {
	match($0, /title: "[^"]*"/); t = substr($0, RSTART + 8, RLENGTH - 9)
	if (match($0, /\\n[0-9]+ bytes \([a-z,]+\)/)) {
		s = substr($0, RSTART + 2, RLENGTH - 2)
		split(s, sw_, " "); size[t] = sw_[1] + 0
		q = s; sub(/^[0-9]+ bytes \(/, "", q); sub(/\)$/, "", q); qual[t] = q
		defined[t] = 1
	}
	next
}
/^edge: / {
	match($0, /sourcename: "[^"]*"/); s = substr($0, RSTART + 13, RLENGTH - 14)
	match($0, /targetname: "[^"]*"/); t = substr($0, RSTART + 13, RLENGTH - 14)
	match($0, /label: "[^"]*"/); l = substr($0, RSTART + 8, RLENGTH - 9)
	if (t == "__indirect_call") {
		if (!((s, l) in isite)) { isite[s, l] = 1; nsites[base(s)]++ }
		hasind[s] = 1
		next
	}
	if (!((s, t) in seen)) { seen[s, t] = 1; out[s] = out[s] " " t }
	next
}
function fail(msg) { problems[++nprob] = msg }
END {
	n = lines(indirect, L)
	for (i = 1; i <= n; i++) {
		k = split(L[i], f, " "); ind_known[f[1]] = f[2] + 0; ind_tg[f[1]] = ""
		for (j = 3; j <= k; j++) ind_tg[f[1]] = ind_tg[f[1]] " " f[j]
	}
	n = lines(external, L)
	for (i = 1; i <= n; i++) {
		k = split(L[i], f, " "); ext[f[1]] = f[2] + 0; ext_cb[f[1]] = ""
		for (j = 3; j <= k; j++) ext_cb[f[1]] = ext_cb[f[1]] " " f[j]
	}
	n = lines(warmup, L); for (i = 1; i <= n; i++) { gsub(/[ \t]/, "", L[i]); cut_warm[L[i]] = 1 }
	n = lines(lazyjit, L); for (i = 1; i <= n; i++) { gsub(/[ \t]/, "", L[i]); cut_jit[L[i]] = 1 }

	nr = split(roots, R, " ")
	for (i = 1; i <= nr; i++) if (!(R[i] in defined)) fail("root " R[i] " not found in the call graph")

	# every figure, worst first; checks of the graph on the way
	for (i = 1; i <= nr; i++) {
		mode = "warm"; w = worst(R[i])
		ok = w <= budget
		printf "%-24s %5d bytes after warm-up (budget %d)  %s\n", R[i], w, budget, ok ? "ok" : "OVER"
		printf "    %s\n", path(R[i])
		if (ok) pass++; else failc++
	}
	for (i = 1; i <= nr; i++) {
		mode = "cold"; w = worst(R[i])
		printf "%-24s %5d bytes with warm-up, lazy JIT callbacks aside (not enforced)\n", R[i], w
		printf "    %s\n", path(R[i])
	}
	mode = "jit"; w = worst("sw_step")
	printf "%-24s %5d bytes through a lazy JIT callback, the callback excluded (not enforced)\n", "sw_step", w
	printf "    %s\n", path("sw_step")

	# stale table entries
	for (c in ind_known) {
		if (!(c in nsites)) fail("INDIRECT lists " c ", which makes no indirect call (any more): update the table")
		k = split(ind_tg[c], f, " ")
		for (j = 1; j <= k; j++)
			if (!(f[j] in defined) && !(f[j] in ext)) fail("INDIRECT target " f[j] " (of " c ") is not in the call graph")
	}
	if (nprob == 0) {
		pass++; print "call graph complete: every indirect call, external call and frame accounted for"
	} else {
		failc++
		for (i = 1; i <= nprob; i++) if (!(problems[i] in shown)) { shown[problems[i]] = 1; print "FAIL: " problems[i] }
	}
	printf "%d passed, %d failed\n", pass + 0, failc + 0
}
function cut(n) { return (mode != "cold" && (base(n) in cut_warm)) || (mode != "jit" && (base(n) in cut_jit)) }
# the worst stack of the tree at n: its frame plus its deepest callee
function worst(n,   best, k, f, j, t, w, b, own) {
	if ((mode, n) in memo) return memo[mode, n]
	if (onstack[n]) { fail("recursion through " n); return 0 }
	onstack[n] = 1
	b = base(n); best = 0; bestc[mode, n] = ""
	if (n in defined) {
		own = size[n]
		if (qual[n] ~ /dynamic/ && qual[n] !~ /bounded/) fail(n " has a frame of unbounded dynamic size")
	} else if (n in ext) {
		own = ext[n]
	} else {
		fail("call to " n ", outside the library and not in EXTERNAL"); own = 0
	}
	k = split(out[n] " " ext_cb[n], f, " ")
	if (n in hasind) {
		if (!(b in ind_known)) fail(n " calls through a function pointer: list its targets in INDIRECT")
		else if (nsites[b] > ind_known[b])
			fail(b " has " nsites[b] " indirect call sites, INDIRECT knows " ind_known[b] ": list the new targets")
		k = split(out[n] " " ext_cb[n] " " ind_tg[b], f, " ")
	}
	for (j = 1; j <= k; j++) {
		t = f[j]
		if (cut(t)) continue
		w = worst(t)
		if (w > best) { best = w; bestc[mode, n] = t }
	}
	onstack[n] = 0
	memo[mode, n] = own + best
	return own + best
}
function path(n,   s) {
	s = ""
	while (n != "") {
		s = s (s == "" ? "" : " > ") n " " ((n in defined) ? size[n] : ext[n])
		n = bestc[mode, n]
	}
	return s
}
' "${cis[@]}"
