#!/usr/bin/env bash
# nongnu libunwind's API on stackwalk's drop-in against nongnu itself:
#   bench/libunwind.sh [BUILD_DIR]     (default build/out; from bench/run.sh)
#
# stdout: `name: value unit` lines only; progress, checks and notes on
# stderr.
#   libunwind.step.{stackwalk,nongnu}       ns/frame  unw_getcontext +
#        unw_init_local + an unw_step/unw_get_reg(IP) loop to the end of a
#        30-deep recursive chain (about 36 frames with main and libc's)
#   libunwind.backtrace.{stackwalk,nongnu}  ns/frame  unw_backtrace there
#   libunwind.proc_name.{stackwalk,nongnu}  us  one unw_get_proc_name, on
#        cursors of each frame of a short stack: 5 in the program, 3 in
#        libc and _start (averaged over the frames)
#   perf.report.dwarf.{stackwalk,nongnu}    ms  wall time of `perf report
#        --stdio` of the same perf.data (about 1 s of `perf record -e
#        cpu-clock -F 999 --call-graph dwarf` of a 20-deep chain): perf
#        unwinds the samples' stack copies with libunwind
#        (_Ux86_64_init_remote, _Ux86_64_step) while it reports
# One program, bench/libunwind_bench.c, built once against the system's
# <libunwind.h> and -lunwind (nongnu); "stackwalk" runs it (and perf) with
# LD_LIBRARY_PATH=BUILD/libunwind, where stackwalk's libunwind.so.8 and
# libunwind-x86_64.so.8 carry nongnu's SONAMEs; each run checks which
# library was mapped (or, for perf, which one the loader bound
# _Ux86_64_step to).  The two alternate, 5 rounds, and each
# figure is the median; the program's own number is the median of 7
# batches.  A stackwalk library that does not define a function a figure
# needs gives no stackwalk line, and a note on stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc   # make's default CC
ROUNDS=5
PERF_ROUNDS=5

lu=$(cd "$BUILD" && pwd)/libunwind
ours=$lu/libunwind.so.8
nongnu=/usr/lib/x86_64-linux-gnu/libunwind.so.8
[[ -e $nongnu ]] || { echo "bench: $nongnu missing (libunwind8; make deps installs libunwind-dev): no libunwind.* figures" >&2; exit 0; }
have_ours=1
[[ -e $ours ]] || { have_ours=; echo "bench: $ours missing (make lib builds it): nongnu figures only" >&2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$BUILD/bench"
WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
prog=$BUILD/bench/libunwind_bench
echo "bench: building $prog against nongnu's <libunwind.h> and -lunwind" >&2
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -o "$prog" bench/libunwind_bench.c -lunwind
"$CC" -std=gnu11 -O2 -g "${WARN[@]}" -o "$BUILD/bench/timecmd" bench/timecmd.c
timecmd=$BUILD/bench/timecmd

median() {   # median of the arguments (numbers)
	printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"
}

# lacking NAME...: the names our libraries do not define
defined=$tmp/defined
if [[ -n $have_ours ]]; then
	nm -D --defined-only "$ours" "$lu/libunwind-x86_64.so.8" 2>/dev/null | awk 'NF >= 3 { print $3 }' |
		sort -u >"$defined"
fi
lacking() {
	local n out=()
	for n in "$@"; do
		grep -qxF "$n" "$defined" || out+=("$n")
	done
	echo "${out[*]}"
}

# run ctl|ours MODE: one run of the program; its number on stdout, its
# stderr in $tmp/MODE.WHICH.err; fails when the wrong library was mapped
run() {
	local w=$1 m=$2 err=$tmp/$2.$1.err want got
	if [[ $w == ours ]]; then
		LD_LIBRARY_PATH=$lu "$prog" "$m" 2>"$err" || return 1
		want=$(readlink -f "$ours")
	else
		env -u LD_LIBRARY_PATH "$prog" "$m" 2>"$err" || return 1
		want=$(readlink -f "$nongnu")
	fi
	got=$(sed -n 's/^lib: //p' "$err")
	[[ -n $got && $got != none && $(readlink -f "$got") == "$want" ]] || {
		echo "bench: $m: the mapped libunwind.so.8 is '$got', not $want" >&2
		return 1
	}
}

# figure MODE NAME UNIT SCALE NEEDED...: the two figures of one mode
figure() {
	local m=$1 name=$2 unit=$3 scale=$4 r t
	shift 4
	local ws=(ctl) miss=''
	if [[ -n $have_ours ]]; then
		miss=$(lacking "$@")
		if [[ -n $miss ]]; then
			echo "bench: no $name.stackwalk: $ours does not define $miss" >&2
		else
			ws+=(ours)
		fi
	fi
	local -A vals=() failed=()
	for ((r = 0; r < ROUNDS; r++)); do
		for w in "${ws[@]}"; do
			[[ -z ${failed[$w]:-} ]] || continue
			if t=$(run "$w" "$m"); then
				vals[$w]+=" $t"
			else
				failed[$w]=1
				echo "bench: $m on $w failed: $(grep -v '^lib:' "$tmp/$m.$w.err" | head -n 3)" >&2
			fi
		done
	done
	# what each walked, on stderr: frames, and for proc_name the names
	if [[ -n ${vals[ours]:-} && -n ${vals[ctl]:-} ]]; then
		local fc fo
		fc=$(sed -n 's/^frames: //p' "$tmp/$m.ctl.err")
		fo=$(sed -n 's/^frames: //p' "$tmp/$m.ours.err")
		echo "bench: $m: frames per walk: nongnu $fc, stackwalk $fo" >&2
		if [[ $m == proc_name ]]; then
			if diff <(grep '^name:' "$tmp/$m.ctl.err") <(grep '^name:' "$tmp/$m.ours.err") >"$tmp/names.diff"; then
				echo "bench: proc_name: the same names both ways: $(sed -n 's/^name: //p' "$tmp/$m.ours.err" | tr '\n' ' ')" >&2
			else
				echo "bench: proc_name: the names differ (< nongnu, > stackwalk):" >&2
				sed 's/^/bench:   /' "$tmp/names.diff" >&2
			fi
			for w in ctl ours; do
				echo "bench: proc_name: ns per call, frame by frame ($([[ $w == ours ]] && echo stackwalk || echo nongnu)):$(sed -n 's/^frame_ns: //p' "$tmp/$m.$w.err" | tr '\n' ',' | sed 's/,$//')" >&2
			done
		fi
	fi
	local label
	for w in ours ctl; do
		[[ -n ${vals[$w]:-} ]] || continue
		[[ $w == ours ]] && label=stackwalk || label=nongnu
		# shellcheck disable=SC2086  # the values, one word each
		echo "bench: $name.$label per round:${vals[$w]}" >&2
		# shellcheck disable=SC2086
		t=$(median ${vals[$w]})
		awk -v t="$t" -v s="$scale" -v n="$name.$label" -v u="$unit" \
			'BEGIN { printf "%s: %.*f %s\n", n, (s == 1 ? 2 : 3), t / s, u }'
	done
}

echo "bench: unw_step loop, depth 30" >&2
figure step libunwind.step ns/frame 1 _Ux86_64_getcontext _ULx86_64_init_local _ULx86_64_step _ULx86_64_get_reg
echo "bench: unw_backtrace, depth 30" >&2
figure backtrace libunwind.backtrace ns/frame 1 unw_backtrace
echo "bench: unw_get_proc_name" >&2
figure proc_name libunwind.proc_name us 1000 _Ux86_64_getcontext _ULx86_64_init_local _ULx86_64_step _ULx86_64_get_proc_name

# ---------------------------------------------------------------- perf report
if ! command -v perf >/dev/null; then
	echo "bench: no perf.report.dwarf.*: perf not found (linux-perf)" >&2
	exit 0
fi
pdata=$tmp/perf.data
echo "bench: perf record --call-graph dwarf of libunwind_bench cpu (1 s)" >&2
if ! timeout 60 perf record -q -e cpu-clock -F 999 --call-graph dwarf -o "$pdata" -- "$prog" cpu 1000 \
	>/dev/null 2>"$tmp/record.err" || [[ ! -s $pdata ]]; then
	echo "bench: no perf.report.dwarf.*: perf record failed: $(head -n 1 "$tmp/record.err")" >&2
	exit 0
fi
# binding W: the file the loader bound perf's _Ux86_64_step to, in a
# perf report run (lazy binding: only a called function is bound), or
# nothing when perf did not call it
binding() {
	local w=$1
	if [[ $w == ours ]]; then
		LD_LIBRARY_PATH=$lu LD_DEBUG=bindings timeout 120 perf report -i "$pdata" --stdio 2>&1 >"$tmp/report.$w"
	else
		env -u LD_LIBRARY_PATH LD_DEBUG=bindings timeout 120 perf report -i "$pdata" --stdio 2>&1 >"$tmp/report.$w"
	fi | sed -n "s/.* to \([^ ]*\) \[[0-9]*\]: normal symbol \`_Ux86_64_step'.*/\1/p" | head -n 1
}
b=$(binding ctl)
if [[ -z $b ]]; then
	echo "bench: no perf.report.dwarf.*: perf report did not call libunwind's _Ux86_64_step here (its DWARF unwinder is libdw, or it failed)" >&2
	exit 0
fi
echo "bench: perf report binds _Ux86_64_step to $b (nongnu)" >&2
perf_ws=(ctl)
if [[ -n $have_ours ]]; then
	mapfile -t imports < <(nm -D --undefined-only "$(command -v perf)" | awk '{ print $NF }' | sed 's/@.*//' |
		grep -E '^(_ULx86_64_|_Ux86_64_|unw_)' | sort -u)
	miss=$(lacking "${imports[@]}")
	if [[ -n $miss ]]; then
		echo "bench: no perf.report.dwarf.stackwalk: $lu does not define $miss (perf imports them)" >&2
	else
		b=$(binding ours)
		if [[ $(readlink -f "$b") == "$lu"/* || $b == "$lu"/* ]]; then
			echo "bench: perf report binds _Ux86_64_step to $b (stackwalk)" >&2
			perf_ws+=(ours)
			# (perf's random "# (Tip: ...)" line left out)
			if cmp -s <(grep -v '^# (Tip:' "$tmp/report.ctl") <(grep -v '^# (Tip:' "$tmp/report.ours"); then
				echo "bench: perf report --stdio prints the same both ways ($(wc -l <"$tmp/report.ours") lines)" >&2
			else
				echo "bench: note: perf report --stdio differs between nongnu and stackwalk ($(diff <(grep -v '^# (Tip:' "$tmp/report.ctl") <(grep -v '^# (Tip:' "$tmp/report.ours") | grep -c '^[<>]') lines; tests/scripts/libunwind_remote.sh compares the frames)" >&2
			fi
		else
			echo "bench: no perf.report.dwarf.stackwalk: with LD_LIBRARY_PATH=$lu perf report bound _Ux86_64_step to '${b:-nothing}'" >&2
		fi
	fi
fi
declare -A pt=()
for ((r = 0; r < PERF_ROUNDS; r++)); do
	for w in "${perf_ws[@]}"; do
		if [[ $w == ours ]]; then
			t=$(LD_LIBRARY_PATH=$lu "$timecmd" perf report -i "$pdata" --stdio 2>/dev/null) || continue
		else
			t=$(env -u LD_LIBRARY_PATH "$timecmd" perf report -i "$pdata" --stdio 2>/dev/null) || continue
		fi
		pt[$w]+=" $t"
	done
done
for w in ours ctl; do
	[[ -n ${pt[$w]:-} ]] || continue
	[[ $w == ours ]] && label=stackwalk || label=nongnu
	echo "bench: perf.report.dwarf.$label ns per round:${pt[$w]}" >&2
	# shellcheck disable=SC2086
	t=$(median ${pt[$w]})
	awk -v t="$t" -v n="perf.report.dwarf.$label" 'BEGIN { printf "%s: %.1f ms\n", n, t / 1e6 }'
done
exit 0
