#!/usr/bin/env bash
# A benchmark that looks like real use:  bench/profile.sh [BUILD_DIR]
# (default build/out; bench/run.sh calls it).
#
# A SIGPROF sampler at ~1 kHz (bench/profile_sampler.c, LD_PRELOAD'ed, one
# shared object per unwinder) inside real programs:
#   python3   Debian's /usr/bin/python3 running bench/profile_work.py
#   sqlite3   Debian's sqlite3 shell running bench/profile_queries.sql
#   cxx       bench/profile_deep.cc (stacks 50-200 levels deep through
#             virtual calls, std::function and templates), -fomit-frame-pointer
#   cxx_fp    the same built -fno-omit-frame-pointer
# Each sample unwinds the main thread from the signal's ucontext; only the
# walk is timed (rdtsc around it), not the signal delivery.
#
# stdout, per program P and unwinder U (stackwalk, nongnu, libgcc; fp for
# cxx_fp only, the one program built with frame pointers):
#   profile.P.U: N ns/sample            mean over the run's samples after the
#                                       first (the first, cold one is on stderr)
#   profile.P.U.depth: N frames         mean frames per sample
#   profile.P.U.complete: N %           share of walks that reached the
#                                       stack's end (stackwalk SW_END_OF_STACK,
#                                       nongnu unw_step 0, libgcc
#                                       _URC_END_OF_STACK, fp a null frame
#                                       pointer)
# stderr: the samples, median/p90/p99, first-sample cost, the share ending
# in _start, where the walks ended, and notes where stackwalk's depth or
# completeness trails another unwinder's on the same program.
# One run per (program, unwinder), programs in turn, unwinders in the same
# order each time.  About 20-40 s in all.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build/out}
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc
CXX=${CXX:-g++}
[[ $CXX == c++ ]] && CXX=g++
PYTHON=${PYTHON:-/usr/bin/python3}   # Debian's, not a pyenv shim
SQLITE3=${SQLITE3:-/usr/bin/sqlite3}
SECONDS_PER_RUN=${PROFILE_SECONDS:-1.0}   # CPU seconds of python3 and cxx runs
HZ=${PROFILE_HZ:-1000}
# PROFILE_TWICE=1: each sample also walks the same stack again at once and
# stderr gives that second walk's cost (warm caches: a diagnostic)
TWICE=${PROFILE_TWICE:-0}

lib=$BUILD/libstackwalk.a
[[ -e $lib ]] || { echo "profile: $lib missing; run make first (make bench does)" >&2; exit 1; }

dir=$BUILD/bench/profile
mkdir -p "$dir"
WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
SO=(-std=gnu11 -O2 -g "${WARN[@]}" -fPIC -shared -fvisibility=hidden -Iinclude)

echo "profile: building the samplers and bench/profile_deep.cc into $dir" >&2
# stackwalk's archive is linked in with its symbols hidden: the program
# sees nothing of it
"$CC" "${SO[@]}" -DPROF_SW -o "$dir/sampler_stackwalk.so" bench/profile_sampler.c "$lib" \
	-Wl,--exclude-libs,ALL
"$CC" "${SO[@]}" -DPROF_GCC -o "$dir/sampler_libgcc.so" bench/profile_sampler.c
"$CC" "${SO[@]}" -DPROF_FP -o "$dir/sampler_fp.so" bench/profile_sampler.c
unwinders=(stackwalk nongnu libgcc)
# nongnu: libunwind-dev's headers; the sampler dlopens libunwind.so.8
if ! "$CC" "${SO[@]}" -DPROF_NONGNU -o "$dir/sampler_nongnu.so" bench/profile_sampler.c -ldl 2>"$dir/nongnu_build.log" ||
	[[ ! -e /usr/lib/x86_64-linux-gnu/libunwind.so.8 ]]; then
	echo "profile: no profile.*.nongnu: nongnu libunwind (libunwind-dev) not installed: run make deps" >&2
	unwinders=(stackwalk libgcc)
fi
CXXF=(-std=gnu++17 -O2 -g -Wall -Wextra -Wshadow)
"$CXX" "${CXXF[@]}" -fomit-frame-pointer -o "$dir/deep" bench/profile_deep.cc
"$CXX" "${CXXF[@]}" -fno-omit-frame-pointer -o "$dir/deep_fp" bench/profile_deep.cc

programs=()
if [[ -x $PYTHON ]]; then
	programs+=(python3)
else
	echo "profile: no profile.python3.*: $PYTHON missing (make deps installs python3)" >&2
fi
if [[ ! -x $SQLITE3 && $(id -u) -eq 0 ]]; then
	echo "profile: installing Debian's sqlite3 (apt-get install sqlite3)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq \
		--no-install-recommends sqlite3 </dev/null >&2 || true
fi
if [[ -x $SQLITE3 ]]; then
	programs+=(sqlite3)
else
	echo "profile: no profile.sqlite3.*: $SQLITE3 missing; install it with: apt-get install sqlite3" >&2
fi
programs+=(cxx cxx_fp)
# PROFILE_PROGRAMS="cxx cxx_fp": a subset (default all)
if [[ -n ${PROFILE_PROGRAMS:-} ]]; then
	keep=()
	for p in "${programs[@]}"; do
		[[ " $PROFILE_PROGRAMS " == *" $p "* ]] && keep+=("$p")
	done
	programs=("${keep[@]}")
fi
echo "profile: python3 and sqlite3 are Debian's builds without frame pointers, and cxx is" \
	"built -fomit-frame-pointer: the frame-pointer walk runs on cxx_fp only" >&2

# run PROGRAM UNWINDER: one sampled run; its summary line in $dir/P.U.txt
run() {
	local p=$1 u=$2 res=$dir/$1.$2.txt
	local cmd in=/dev/null
	case $p in
	python3) cmd=("$PYTHON" bench/profile_work.py "$SECONDS_PER_RUN") ;;
	sqlite3) cmd=("$SQLITE3" -batch :memory:) in=bench/profile_queries.sql ;;
	cxx) cmd=("$dir/deep" "$SECONDS_PER_RUN") ;;
	cxx_fp) cmd=("$dir/deep_fp" "$SECONDS_PER_RUN") ;;
	esac
	rm -f "$res"
	# (timeout runs env without the preload; env starts the program with it)
	if ! timeout -k 5 120 env SW_PROFILE_OUT="$res" SW_PROFILE_UNWINDER="$u" SW_PROFILE_HZ="$HZ" SW_PROFILE_TWICE="$TWICE" \
		LD_PRELOAD="$(cd "$dir" && pwd)/sampler_$u.so" "${cmd[@]}" <"$in" >"$dir/$p.$u.out" 2>&1; then
		echo "profile: $p with the $u sampler failed:" >&2
		tail -n 5 "$dir/$p.$u.out" >&2
		rm -f "$res"
		return 0
	fi
	[[ -s $res ]] || echo "profile: $p with the $u sampler wrote no summary" >&2
}

# field FILE KEY: the value of KEY=VALUE in a summary line (the line with
# the most samples, should the program have started children)
field() {
	sort -t= -k4,4nr "$1" 2>/dev/null | awk -v k="$2" '
		{ for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }'
}

for p in "${programs[@]}"; do
	us=("${unwinders[@]}")
	[[ $p == cxx_fp ]] && us+=(fp)
	for u in "${us[@]}"; do
		echo "profile: $p, $u sampler" >&2
		run "$p" "$u"
	done
done

echo "profile: ns/sample is the mean over each run's samples after the first (rdtsc around the walk" \
	"only, converted with the TSC rate measured over the run); the median and the first sample follow" >&2
for p in "${programs[@]}"; do
	us=("${unwinders[@]}")
	[[ $p == cxx_fp ]] && us+=(fp)
	for u in "${us[@]}"; do
		res=$dir/$p.$u.txt
		[[ -s $res ]] || continue
		samples=$(field "$res" samples)
		awk -v n="profile.$p.$u" -v ns="$(field "$res" mean_after_first_ns)" \
			-v d="$(field "$res" depth)" -v c="$(field "$res" complete_pct)" 'BEGIN {
			printf "%s: %.0f ns/sample\n%s.depth: %.1f frames\n%s.complete: %.1f %%\n", n, ns, n, d, n, c
		}'
		echo "profile: $p.$u: $samples samples, min $(field "$res" min_ns) ns, median $(field "$res" median_ns) ns," \
			"p90 $(field "$res" p90_ns), p99 $(field "$res" p99_ns), first sample" \
			"$(field "$res" first_ns) ns, mean with it $(field "$res" mean_ns) ns;" \
			"$(field "$res" ends_start_pct) % end in _start; truncated $(field "$res" truncated)," \
			"no frame $(field "$res" empty)" >&2
		echo "profile:   ended at: $(field "$res" lasts)" >&2
		hot=$(field "$res" hot_median_ns)
		[[ -z $hot ]] || echo "profile:   the same stack walked again at once: median $hot ns," \
			"mean $(field "$res" hot_mean_ns) ns" >&2
		st=$(field "$res" status)
		[[ -z $st ]] || echo "profile:   stackwalk statuses: $st" >&2
		if [[ $u == fp ]]; then
			echo "profile:   (the frame-pointer chain cannot pass main's caller in Debian's libc, built" \
				"without frame pointers: it ends there, not at a null frame pointer, hence its complete share)" >&2
		fi
		if ((samples < 500)); then
			echo "profile: note: $p.$u took only $samples samples (fewer than 500)" >&2
		fi
	done
	# python3 and sqlite3 interpreters: stacks below ~10 frames would mean
	# the walks stop early
	if [[ -s $dir/$p.stackwalk.txt ]]; then
		d=$(field "$dir/$p.stackwalk.txt" depth)
		if [[ $p == python3 ]] && awk -v d="$d" 'BEGIN { exit !(d < 10) }'; then
			echo "profile: note: python3's mean stackwalk depth is $d frames (expected > 10)" >&2
		fi
	fi
	# stackwalk against the others on the same program: a finding, not a
	# failure.  Depths are means over different samples of a program
	# (cxx's chains are 50-200 levels at random): a depth difference is
	# noted when it exceeds 3 standard errors of the two means and 1 %.
	sw=$dir/$p.stackwalk.txt
	[[ -s $sw ]] || continue
	for u in "${unwinders[@]}"; do
		[[ $u != stackwalk && -s $dir/$p.$u.txt ]] || continue
		o=$dir/$p.$u.txt
		awk -v p="$p" -v u="$u" \
			-v sn="$(field "$sw" samples)" -v sd="$(field "$sw" depth)" -v sq="$(field "$sw" depth_sq)" \
			-v sc="$(field "$sw" complete_pct)" \
			-v on="$(field "$o" samples)" -v od="$(field "$o" depth)" -v oq="$(field "$o" depth_sq)" \
			-v oc="$(field "$o" complete_pct)" 'BEGIN {
			if (sc + 0.5 < oc)
				printf "profile: note: on %s stackwalk completes %.1f %% of its walks, %s %.1f %%\n", p, sc, u, oc > "/dev/stderr"
			sv = sq - sd * sd; ov = oq - od * od
			se = sqrt((sv > 0 ? sv : 0) / sn + (ov > 0 ? ov : 0) / on)
			if (od - sd > 3 * se && od - sd > 0.01 * od)
				printf "profile: note: on %s stackwalk walks %.1f frames on average, %s %.1f (3 standard errors: %.1f)\n", p, sd, u, od, 3 * se > "/dev/stderr"
		}'
	done
done
