#!/usr/bin/env bash
# The SIGPROF sampler of bench/profile.sh still samples real stacks
# (bench/profile_sampler.c, bench/profile_deep.cc):
#
#   tests/scripts/profile_smoke.sh BUILD_DIR MODE
#
# bench/profile_deep.cc built -O2 -fno-omit-frame-pointer, its chains fixed
# at 100 levels, runs 0.3 s of CPU time under the stackwalk sampler
# (LD_PRELOAD, 1 kHz, sw_backtrace_ucontext2 from the signal's ucontext),
# then under nongnu libunwind's and libgcc's:
#
#   stackwalk.samples    the sampler took samples (> 0) and wrote its summary
#   stackwalk.complete   > 90 % of the walks ended with SW_END_OF_STACK, and
#                        > 90 % ended in the program's _start (the cross-check)
#   stackwalk.deep       the mean depth exceeds the 100 levels of the chain
#   vs.nongnu, vs.libgcc nongnu libunwind's and libgcc's samplers on the
#                        same program (nongnu skipped when libunwind-dev is
#                        missing) pass the same checks: > 90 % complete and
#                        ending in _start, mean depth over the chain's 100
#                        levels.  The mean depths of two runs are not
#                        compared: they depend on where each run's samples
#                        land in the program's rounds, which the machine's
#                        speed moves (a run with both cores busy measured
#                        142 frames for stackwalk, 117 for nongnu, both
#                        100 % complete and ending in _start)
#
# No timing is checked (the figures are bench/profile.sh's).  MODE quick
# (ASan build): skipped, the sampler is a plain-build benchmark.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib profile_smoke "$@"
t_quick_skip "the sampler is measured on the plain build only (skipped in quick mode)"
t_need gcc g++
lib=$build/libstackwalk.a

SO=(-std=gnu11 -O2 -g "${WARN[@]}" -fPIC -shared -fvisibility=hidden -Iinclude)
if ! gcc "${SO[@]}" -DPROF_SW -o "$out/sampler_stackwalk.so" bench/profile_sampler.c "$lib" \
	-Wl,--exclude-libs,ALL >"$logs/build.log" 2>&1 ||
   ! gcc "${SO[@]}" -DPROF_GCC -o "$out/sampler_libgcc.so" bench/profile_sampler.c >>"$logs/build.log" 2>&1 ||
   ! g++ -std=gnu++17 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Wshadow -o "$out/deep_fp" \
	bench/profile_deep.cc >>"$logs/build.log" 2>&1; then
	bad build "$logs/build.log"
	t_finish
	exit 1
fi
nongnu=
if [[ -e /usr/lib/x86_64-linux-gnu/libunwind.so.8 ]] &&
   gcc "${SO[@]}" -DPROF_NONGNU -o "$out/sampler_nongnu.so" bench/profile_sampler.c -ldl \
	>>"$logs/build.log" 2>&1; then
	nongnu=1
fi

# sample UNWINDER: one 0.3 s run; its summary line in $out/UNWINDER.txt
sample() {
	local u=$1
	rm -f "$out/$u.txt"
	t_timeout 60 env SW_PROFILE_OUT="$out/$u.txt" SW_PROFILE_UNWINDER="$u" \
		LD_PRELOAD="$out/sampler_$u.so" "$out/deep_fp" 0.3 100 >"$logs/$u.log" 2>&1
}

# field UNWINDER KEY: KEY's value in the summary
field() {
	tr ' ' '\n' <"$out/$1.txt" | sed -n "s/^$2=//p" | head -n 1
}

# gt A B: A > B (decimals)
gt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'
}

sample stackwalk
rc=$?
if ((rc != 0)) || [[ ! -s $out/stackwalk.txt ]]; then
	bad stackwalk.samples "$logs/stackwalk.log"
	t_finish
	exit 1
fi
echo "stackwalk: $(cat "$out/stackwalk.txt")" >"$logs/summary.log"
n=$(field stackwalk samples)
if gt "$n" 0; then ok stackwalk.samples; else bad stackwalk.samples "$logs/summary.log"; fi
c=$(field stackwalk complete_pct) s=$(field stackwalk ends_start_pct)
if gt "$c" 90 && gt "$s" 90; then
	ok stackwalk.complete
else
	echo "stackwalk: $c % complete, $s % ending in _start"
	bad stackwalk.complete "$logs/summary.log"
fi
d=$(field stackwalk depth)
if gt "$d" 100; then ok stackwalk.deep; else echo "stackwalk: mean depth $d"; bad stackwalk.deep "$logs/summary.log"; fi

others=(libgcc)
if [[ -n $nongnu ]]; then
	others=(nongnu libgcc)
else
	skip vs.nongnu "nongnu libunwind (libunwind-dev) not installed: make deps installs it"
fi
for u in "${others[@]}"; do
	if ! sample "$u" || [[ ! -s $out/$u.txt ]]; then
		bad "vs.$u" "$logs/$u.log"
		continue
	fi
	echo "$u: $(cat "$out/$u.txt")" >>"$logs/summary.log"
	od=$(field "$u" depth) oc=$(field "$u" complete_pct) os=$(field "$u" ends_start_pct)
	if gt "$oc" 90 && gt "$os" 90 && gt "$od" 100; then
		ok "vs.$u"
	else
		echo "stackwalk: mean depth $d; $u: $od, $oc % complete, $os % ending in _start"
		bad "vs.$u" "$logs/summary.log"
	fi
done
t_finish
