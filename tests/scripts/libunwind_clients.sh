#!/usr/bin/env bash
# Real clients of nongnu libunwind, unchanged, run once on the system's
# nongnu libunwind (the control) and once on stackwalk's drop-in
# (LD_LIBRARY_PATH=BUILD/libunwind, whose libunwind.so.8 and
# libunwind-x86_64.so.8 carry nongnu's SONAMEs); their outputs must name
# the same frames.
#
#   tests/scripts/libunwind_clients.sh BUILD_DIR full|quick
#
#   exports.CLIENT   every libunwind function the client's library imports
#            (nm -D --undefined-only: _ULx86_64_*, _Ux86_64_*, unw_*) is
#            defined by BUILD/libunwind/libunwind.so.8 (or -x86_64.so.8):
#            a missing one is the loader's "symbol lookup error" later
#   heaptrack.VARIANT   heaptrack (its preload library calls
#            unw_set_caching_policy, unw_set_cache_size and unw_backtrace
#            at every allocation) on tests/libunwind/client_alloc.c;
#            heaptrack_print's flame-graph stacks (function names per
#            frame, allocation counts) are identical both ways and hold the
#            program's known allocation sites at their known depths
#   tcmalloc.VARIANT   tcmalloc's heap profiler (HEAPPROFILE, LD_PRELOAD of
#            libtcmalloc.so.4, whose GetStackTrace is libunwind's
#            unw_getcontext/unw_init_local/unw_step inside malloc) on the
#            same program; `google-pprof --text --stacks --alloc_objects`:
#            the same stacks (function names) with the same counts
#   cpuprofile.VARIANT   gperftools' CPU profiler (CPUPROFILE, LD_PRELOAD of
#            libprofiler.so.0, unwinding from its SIGPROF handler through
#            the signal frame) on tests/libunwind/client_cpu.c; `google-pprof
#            --text --stacks`: sample counts differ by timing, so the
#            comparison is of the stacks' shapes (function names, recursion
#            collapsed): each of the three hot paths appears complete (down
#            to _start) in both profiles, and no stack of stackwalk's stops
#            before _start (or ld.so's _dl_start_user, for a sample taken
#            while constructors run) unless one of the control's does too
# Each run checks that the libunwind.so.8 mapped into the program is the
# one meant (the programs print the one in their /proc/self/maps), and for
# gperftools that its chosen stacktrace method is libunwind.
# VARIANT: gcc (-O2 -g, no frame pointers), gcc_fp (-fno-omit-frame-pointer),
# clang (-O2 -g); heaptrack and tcmalloc also run the C++ program
# tests/libunwind/client_alloc_cxx.cc (operator new from member functions
# and a template, std::vector growth, __cxa_allocate_exception under a
# throw) built by g++ (gxx) and clang++ (clangxx), -O2 -g.
# perf (--call-graph dwarf, perf report/perf script) and strace -k are
# tests/scripts/libunwind_remote.sh's.
# Quick mode (the ASan build) skips everything: the clients are
# uninstrumented programs.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh libunwind_clients "$@"
t_quick_skip "real clients (heaptrack, gperftools) run uninstrumented: the plain pass runs them"
t_need gcc clang nm awk

lu=$build/libunwind
[[ -e $lu/libunwind.so.8 ]] || t_abort "no $lu/libunwind.so.8 (make lib builds it)"
src=$root/tests/libunwind
libdir=/usr/lib/x86_64-linux-gnu
nongnu=$libdir/libunwind.so.8
profiler=$libdir/libprofiler.so.0
tcmalloc=$libdir/libtcmalloc.so.4
ht_preload=/usr/lib/heaptrack/libheaptrack_preload.so
[[ -e $nongnu ]] || t_abort "no $nongnu (libunwind8; make deps installs libunwind-dev)"
nongnu_real=$(readlink -f "$nongnu")
ours_real=$(readlink -f "$lu/libunwind.so.8")

# ---------------------------------------------------------------- programs
variants=(gcc gcc_fp clang)
declare -A vcc=([gcc]="gcc -O2 -g" [gcc_fp]="gcc -O2 -g -fno-omit-frame-pointer" [clang]="clang -O2 -g")
built=1
for prog in alloc cpu; do
	for v in "${variants[@]}"; do
		# shellcheck disable=SC2086  # the compiler and its flags
		if ! ${vcc[$v]} "${WARN[@]}" -o "$out/${prog}_$v" "$src/client_$prog.c" \
			>"$logs/build_${prog}_$v.log" 2>&1; then
			bad "build.${prog}_$v" "$logs/build_${prog}_$v.log"
			built=
		fi
	done
done
# the C++ allocating program (heaptrack and tcmalloc only)
cxx_variants=(gxx clangxx)
declare -A vcxx=([gxx]="g++ -std=gnu++17 -O2 -g" [clangxx]="clang++ -std=gnu++17 -O2 -g")
for v in "${cxx_variants[@]}"; do
	# shellcheck disable=SC2086
	if ! ${vcxx[$v]} -Wall -Wextra -Wshadow -o "$out/alloc_$v" "$src/client_alloc_cxx.cc" \
		>"$logs/build_alloc_$v.log" 2>&1; then
		bad "build.alloc_$v" "$logs/build_alloc_$v.log"
		built=
	fi
done
[[ -n $built ]] || { t_finish; exit; }
# the allocating programs' variants: C, then C++
alloc_variants=("${variants[@]}" "${cxx_variants[@]}")

# ---------------------------------------------------------------- exports
# ours_defines: the names our two libraries define (the loader looks an
# unversioned name up in every loaded one)
ours_defined=$out/ours_defined.txt
nm -D --defined-only "$lu/libunwind.so.8" "$lu/libunwind-x86_64.so.8" 2>/dev/null |
	awk 'NF >= 3 { print $3 }' | sort -u >"$ours_defined"

# exports CLIENT FILE: the libunwind names FILE imports are all ours;
# lacks[CLIENT]: the ones that are not (the client is then not run on ours:
# heaptrack waits for its interpreter for ever when the program cannot load)
declare -A lacks=()
exports() {
	local name=$1 file=$2 missing
	if [[ ! -e $file ]]; then
		bad "exports.$name"
		echo "       $file is missing (make deps installs it)"
		return
	fi
	nm -D --undefined-only "$file" | awk '{ print $NF }' | sed 's/@.*//' |
		grep -E '^(_ULx86_64_|_Ux86_64_|_U_dyn_|unw_)' | sort -u >"$out/imports.$name"
	missing=$(comm -23 "$out/imports.$name" "$ours_defined" | tr '\n' ' ')
	lacks[$name]=$missing
	echo "$name imports: $(tr '\n' ' ' <"$out/imports.$name")"
	if [[ -z $missing ]]; then
		ok "exports.$name"
	else
		bad "exports.$name"
		echo "       not defined by $lu/libunwind.so.8: $missing"
	fi
}
exports heaptrack "$ht_preload"
exports cpuprofile "$profiler"
exports tcmalloc "$tcmalloc"

# not_runnable CLIENT ctl|ours LOG: ours lacks some of CLIENT's imports
# (said in LOG)
not_runnable() {
	[[ $2 == ours && -n ${lacks[$1]:-} ]] || return 1
	echo "ours: not run: $lu/libunwind.so.8 does not define ${lacks[$1]}" >>"$3"
}

# which_ok LOG WANT: the program's "libunwind: PATH" line names WANT
# (both resolved)
which_ok() {
	local log=$1 want=$2 got
	got=$(sed -n 's/^libunwind: //p' "$log" | head -n 1)
	if [[ -z $got || $got == none ]]; then
		echo "no libunwind.so.8 was mapped into the program" >>"$log"
		return 1
	fi
	got=$(readlink -f "$got")
	if [[ $got != "$want" ]]; then
		echo "mapped libunwind: $got, expected $want" >>"$log"
		return 1
	fi
}

# with_lib ctl|ours CMD...: CMD with nongnu's libunwind (no
# LD_LIBRARY_PATH) or ours
with_lib() {
	local which=$1
	shift
	if [[ $which == ours ]]; then
		env LD_LIBRARY_PATH="$lu" "$@"
	else
		env -u LD_LIBRARY_PATH "$@"
	fi
}
# links_libunwind FILE: FILE needs libunwind.so.8 (not a pipe into grep -q:
# with pipefail, ldd's SIGPIPE would fail it)
links_libunwind() {
	local deps
	deps=$(ldd "$1" 2>/dev/null) && [[ $deps == *libunwind.so.8* ]]
}
want_lib() { [[ $1 == ours ]] && echo "$ours_real" || echo "$nongnu_real"; }

# ---------------------------------------------------------------- heaptrack
# The stacks heaptrack's interpreter names from the recorded addresses,
# one "frame;frame;...; COUNT" line per stack; an unnamed frame is
# "0xADDR (file)": the address varies with ASLR.
heaptrack_stacks() {   # heaptrack_stacks DATA OUT
	heaptrack_print -f "$1" --flamegraph-cost-type allocations -F "$2.raw" >/dev/null 2>&1 &&
		sed -E 's/0x[0-9a-f]+/ADDR/g' "$2.raw" | sort >"$2"
}

# expected stacks (extended regular expressions, whole lines) of the C
# program and of the C++ one
# shellcheck disable=SC2001,SC2016  # a bracket expression; no expansion meant
re_escape() { sed 's/[][\.*^$()+?{}|]/\\&/g' <<<"$1"; }
ht_expect_c=(
	"$(re_escape "main (client_alloc.c);level_1 (client_alloc.c);level_2 (client_alloc.c);level_3 (client_alloc.c);alloc_deep (client_alloc.c); 50")"
	"$(re_escape "main (client_alloc.c);alloc_shallow (client_alloc.c); 20")"
	"$(re_escape "main (client_alloc.c)$(printf ';recurse (client_alloc.c)%.0s' {1..11});alloc_leaf (client_alloc.c); 7")"
	"$(re_escape "main (client_alloc.c);alloc_realloc (client_alloc.c); 5")"
)
ht_expect_cxx=(
	"$(re_escape "main (client_alloc_cxx.cc);Store::fill(int) (client_alloc_cxx.cc);Node* Store::add<>() (client_alloc_cxx.cc); 40")"
	"$(re_escape "main (client_alloc_cxx.cc);thrower(int) (client_alloc_cxx.cc);__cxa_allocate_exception; 1")"
	"main \\(client_alloc_cxx\\.cc\\);.*grow_vector\\(int\\) \\(client_alloc_cxx\\.cc\\).*; 11"
)

if ! command -v heaptrack >/dev/null || ! command -v heaptrack_print >/dev/null; then
	bad heaptrack
	echo "       heaptrack is missing (make deps installs it)"
elif ! links_libunwind "$ht_preload"; then
	skip heaptrack "$ht_preload does not link libunwind.so.8 in this build of heaptrack"
else
	for v in "${alloc_variants[@]}"; do
		name=heaptrack.$v log=$logs/$name.log
		if [[ $v == *xx ]]; then expect=("${ht_expect_cxx[@]}"); else expect=("${ht_expect_c[@]}"); fi
		: >"$log"
		good=1
		for w in ctl ours; do
			rm -f "$out/ht.$v.$w".*
			not_runnable heaptrack "$w" "$log" && { good=; continue; }
			echo "== $w: heaptrack -o $out/ht.$v.$w $out/alloc_$v" >>"$log"
			(cd "$out" && with_lib "$w" timeout -k 5 60 heaptrack -o "$out/ht.$v.$w" "$out/alloc_$v") \
				>"$out/ht.$v.$w.out" 2>&1
			rc=$?
			cat "$out/ht.$v.$w.out" >>"$log"
			data=
			for f in "$out/ht.$v.$w.zst" "$out/ht.$v.$w.gz"; do
				[[ -e $f ]] && data=$f
			done
			if ((rc != 0)) || [[ -z $data ]]; then
				echo "$w: heaptrack failed (exit $rc)" >>"$log"
				good=
				continue
			fi
			which_ok "$out/ht.$v.$w.out" "$(want_lib "$w")" 2>>"$log" || good=
			if ! heaptrack_stacks "$data" "$out/ht.$v.$w.stacks"; then
				echo "$w: heaptrack_print failed on $data" >>"$log"
				good=
				continue
			fi
			for e in "${expect[@]}"; do
				grep -qxE "$e" "$out/ht.$v.$w.stacks" ||
					{ echo "$w: no stack '$e'" >>"$log"; good=; }
			done
		done
		if [[ -n $good ]] && ! diff "$out/ht.$v.ctl.stacks" "$out/ht.$v.ours.stacks" >>"$log"; then
			echo "heaptrack's stacks differ (< nongnu, > stackwalk)" >>"$log"
			good=
		fi
		if [[ -n $good ]]; then
			ok "$name"
			echo "    $(wc -l <"$out/ht.$v.ours.stacks") stacks, the same both ways"
		else
			bad "$name" "$log"
		fi
	done
fi

# ---------------------------------------------------------------- google-pprof
# pprof_stacks PROG PROFILE OUT [pprof options]: `google-pprof --text
# --stacks` as "COUNT<TAB>f0;f1;..." lines (innermost first; a frame's
# name is NAME of pprof's "(ADDR) FILE:LINE:NAME";
# @@GLIBC... version suffixes dropped; consecutive repeats of one name
# collapsed, since recursion depth is not the point), equal stacks summed,
# sorted.  pprof's removal of the profiler's own frames is off
# (--no-auto-signal-frm): its heuristic depends on the samples.
pprof_stacks() {
	local prog=$1 prof=$2 o=$3
	shift 3
	google-pprof --no-auto-signal-frm --text --stacks "$@" "$prog" "$prof" >"$o.raw" 2>"$o.err" || return 1
	awk '
	function flush() { if (n > 0) sum[stk] += cnt; n = 0; stk = "" }
	/^Stacks:/ { on = 1; next }
	!on { next }
	/^[0-9]+ +\(/ { flush(); cnt = $1; sub(/^[0-9]+ +/, "") }
	/^ +\(/ || /^\(/ {
		name = $0
		sub(/^ *\([0-9a-f]+\) +/, "", name); sub(/^[^ ]*:[0-9]+:/, "", name); sub(/@.*/, "", name)
		if (n == 0 || name != last) { stk = stk (n ? ";" : "") name; n++ }
		last = name
		next
	}
	/^$/ { flush() }
	END { flush(); for (s in sum) printf "%d\t%s\n", sum[s], s }
	' "$o.raw" | sort -t "$(printf '\t')" -k2 >"$o"
	[[ -s $o ]]
}
start="main;__libc_start_call_main;__libc_start_main_impl;_start"
have_pprof=1
command -v google-pprof >/dev/null || have_pprof=

# ---- tcmalloc's heap profiler
if [[ -z $have_pprof || ! -e $tcmalloc ]]; then
	bad tcmalloc
	echo "       google-pprof or $tcmalloc is missing (make deps installs google-perftools and libgoogle-perftools4)"
elif ! links_libunwind "$tcmalloc"; then
	skip tcmalloc "$tcmalloc does not link libunwind.so.8 in this build"
else
	# (extended regular expressions, whole lines)
	tc_expect_c=(
		"50	alloc_deep;level_3;level_2;level_1;$start"
		"20	alloc_shallow;$start"
		"7	alloc_leaf;recurse;$start"
		"5	alloc_realloc;$start"
	)
	tc_expect_cxx=(
		# (clang inlines the vector's growth: pprof then counts its 7
		# allocations with Store::add's 40 and names grow_vector's frames
		# after it)
		"(40|47)	Store::add;Store::fill;$start"
		"1	__cxa_allocate_exception;thrower.*;$start"
		"11	(std::vector::_M_realloc_insert;)?grow_vector;$start"
	)
	for v in "${alloc_variants[@]}"; do
		name=tcmalloc.$v log=$logs/$name.log
		if [[ $v == *xx ]]; then expect=("${tc_expect_cxx[@]}"); else expect=("${tc_expect_c[@]}"); fi
		: >"$log"
		good=1
		for w in ctl ours; do
			rm -f "$out/hp.$v.$w".*
			not_runnable tcmalloc "$w" "$log" && { good=; continue; }
			echo "== $w: HEAPPROFILE=$out/hp.$v.$w LD_PRELOAD=$tcmalloc $out/alloc_$v" >>"$log"
			# (timeout outside the preload: it would write a profile too)
			with_lib "$w" timeout -k 5 60 env TCMALLOC_STACKTRACE_METHOD_VERBOSE=1 \
				HEAPPROFILE="$out/hp.$v.$w" LD_PRELOAD="$tcmalloc" "$out/alloc_$v" >"$out/hp.$v.$w.out" 2>&1
			rc=$?
			cat "$out/hp.$v.$w.out" >>"$log"
			heap=$(compgen -G "$out/hp.$v.$w.*.heap" | sort | tail -n 1)
			if ((rc != 0)) || [[ -z $heap ]]; then
				echo "$w: the program failed (exit $rc) or wrote no heap profile" >>"$log"
				good=
				continue
			fi
			which_ok "$out/hp.$v.$w.out" "$(want_lib "$w")" || good=
			if ! grep -q 'stacktrace method is libunwind' "$out/hp.$v.$w.out"; then
				echo "$w: tcmalloc did not choose libunwind for its stack traces" >>"$log"
				good=
			fi
			if ! pprof_stacks "$out/alloc_$v" "$heap" "$out/hp.$v.$w.stacks" --alloc_objects; then
				echo "$w: google-pprof failed:" >>"$log"
				cat "$out/hp.$v.$w.stacks.err" >>"$log"
				good=
				continue
			fi
			for e in "${expect[@]}"; do
				grep -qxE "$e" "$out/hp.$v.$w.stacks" ||
					{ echo "$w: no stack '$e'" >>"$log"; good=; }
			done
		done
		if [[ -n $good ]] && ! diff "$out/hp.$v.ctl.stacks" "$out/hp.$v.ours.stacks" >>"$log"; then
			echo "the heap profiles' stacks differ (< nongnu, > stackwalk)" >>"$log"
			good=
		fi
		if [[ -n $good ]]; then
			ok "$name"
			echo "    $(wc -l <"$out/hp.$v.ours.stacks") stacks, the same both ways"
		else
			bad "$name" "$log"
		fi
	done
fi

# ---- the CPU profiler
if [[ -z $have_pprof || ! -e $profiler ]]; then
	bad cpuprofile
	echo "       google-pprof or $profiler is missing (make deps installs google-perftools and libgoogle-perftools4)"
elif ! links_libunwind "$profiler"; then
	skip cpuprofile "$profiler does not link libunwind.so.8 in this build"
else
	# the three hot paths, innermost first, recursion collapsed; each
	# takes about a third of the time
	# shellcheck disable=SC2016  # an awk condition
	stops_early='$2 !~ /(^|;)(_start|_dl_start_user)$/'
	cpu_expect=(
		"spin_ab;path_b;path_a;$start"
		"spin_c;path_c;$start"
		"by_value;msort_with_tmp;sort_work;$start"
	)
	for v in "${variants[@]}"; do
		name=cpuprofile.$v log=$logs/$name.log
		: >"$log"
		good=1
		declare -A incomplete=()
		for w in ctl ours; do
			rm -f "$out/cpu.$v.$w".*
			not_runnable cpuprofile "$w" "$log" && { good=; continue; }
			echo "== $w: CPUPROFILE=$out/cpu.$v.$w.prof LD_PRELOAD=$profiler $out/cpu_$v 80" >>"$log"
			with_lib "$w" timeout -k 5 120 env TCMALLOC_STACKTRACE_METHOD_VERBOSE=1 \
				CPUPROFILE="$out/cpu.$v.$w.prof" CPUPROFILE_FREQUENCY=1000 LD_PRELOAD="$profiler" \
				"$out/cpu_$v" 80 >"$out/cpu.$v.$w.out" 2>&1
			rc=$?
			cat "$out/cpu.$v.$w.out" >>"$log"
			if ((rc != 0)) || [[ ! -s $out/cpu.$v.$w.prof ]]; then
				echo "$w: the program failed (exit $rc) or wrote no profile" >>"$log"
				good=
				continue
			fi
			which_ok "$out/cpu.$v.$w.out" "$(want_lib "$w")" || good=
			if ! grep -q 'stacktrace method is libunwind' "$out/cpu.$v.$w.out"; then
				echo "$w: the profiler did not choose libunwind for its stack traces" >>"$log"
				good=
			fi
			s=$out/cpu.$v.$w.stacks
			if ! pprof_stacks "$out/cpu_$v" "$out/cpu.$v.$w.prof" "$s"; then
				echo "$w: google-pprof failed:" >>"$log"
				cat "$s.err" >>"$log"
				good=
				continue
			fi
			{
				echo "$w: $(awk '{ n += $1 } END { print n + 0 }' "$s") samples, $(wc -l <"$s") distinct stacks:"
				cat "$s"
			} >>"$log"
			for e in "${cpu_expect[@]}"; do
				grep -qP "^[0-9]+\t\Q$e\E\$" "$s" ||
					{ echo "$w: no sample with the stack $e" >>"$log"; good=; }
			done
			# samples whose stack stops before the process's first frame:
			# _start, or ld.so's _dl_start_user while constructors run
			incomplete[$w]=$(awk -F '\t' "$stops_early { n += \$1 } END { print n + 0 }" "$s")
			echo "$w: ${incomplete[$w]} samples with a stack that stops before _start or _dl_start_user" >>"$log"
		done
		if [[ -n $good ]] && ((incomplete[ours] > 0 && incomplete[ctl] == 0)); then
			echo "stackwalk's stacks stop early in ${incomplete[ours]} samples, nongnu's never:" >>"$log"
			awk -F '\t' "$stops_early" "$out/cpu.$v.ours.stacks" >>"$log"
			good=
		fi
		if [[ -n $good ]]; then
			ok "$name"
			echo "    the hot paths complete both ways; samples whose stack stops before _start (or _dl_start_user): nongnu ${incomplete[ctl]}, stackwalk ${incomplete[ours]}"
		else
			bad "$name" "$log"
		fi
		unset incomplete
	done
fi

skip perf "perf --call-graph dwarf (perf report / perf script) on each libunwind: tests/scripts/libunwind_remote.sh"
t_failed_tails 40
t_finish
