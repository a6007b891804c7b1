# shellcheck shell=bash disable=SC2034  # sourced: the variables are the scripts'
# tests/lib.sh: what the acceptance scripts (tests/scripts/*.sh) share.
# Sourced, not run (it lives outside tests/scripts/ so tests/run.sh does not
# take it for a test):
#
#   . "$(dirname "$0")/../lib.sh"
#   t_init NAME "$@"            # the script's arguments: BUILD_DIR full|quick
#   ...  ok / bad / skip / check / t_verdict ...
#   t_finish                    # the closing "N passed, N failed"; its status
#
# Every script keeps the suite's interface: tests/scripts/NAME.sh BUILD_DIR
# MODE (full = plain build, quick = ASan+UBSan build), output ending with the
# line "N passed, N failed", exit status 0 only when nothing failed.
#
# After t_init:
#   build      BUILD_DIR, absolute          mode   full or quick
#   root       the repository (the current directory from then on)
#   out        $build/NAME: the script's scratch and log directory
#   logs       $out/logs
#   progs      $build/tests/NAME: where make puts the group's programs
#              (mk/tests.mk; `make test-progs` builds them)
#   t_san      1 in the sanitizer run (MODE quick or a BUILD_DIR named
#              *san*, as `make SAN=1` makes it), else empty
#   WARN       the Makefile's warning flags
#   SAN_FLAGS  the Makefile's sanitizer flags in the sanitizer run, else ()
#   SAN_UB     just -fsanitize=address,undefined in the sanitizer run, else ()
#   pass fail  the counters; failed: the names of failed tests
# and SW_TEST_MODE is exported (the programs scale their counts by it).

# t_init NAME ARGS...: check the arguments, set the variables above, cd to
# the repository.  Options before NAME: --fresh (empty $out first),
# --lib (BUILD_DIR must hold libstackwalk.a).
t_init() {
	local fresh='' needlib=''
	while [[ ${1:-} == --* ]]; do
		case $1 in
		--fresh) fresh=1 ;;
		--lib) needlib=1 ;;
		*) echo "t_init: unknown option $1" >&2; exit 2 ;;
		esac
		shift
	done
	t_name=$1
	shift
	if (($# != 2)); then
		echo "usage: tests/scripts/$t_name.sh BUILD_DIR full|quick" >&2
		exit 2
	fi
	mode=$2
	[[ $mode == full || $mode == quick ]] || { echo "$t_name: MODE must be full or quick, got '$mode'" >&2; exit 2; }
	[[ -d $1 ]] || { echo "$t_name: no build directory '$1'" >&2; exit 2; }
	[[ -z $needlib || -f $1/libstackwalk.a ]] || { echo "$t_name: no $1/libstackwalk.a (make all builds it)" >&2; exit 2; }
	build=$(cd "$1" && pwd)
	# this file is tests/lib.sh: the repository is one level up
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	cd "$root" || exit 2
	out=$build/$t_name
	logs=$out/logs
	progs=$build/tests/$t_name
	[[ -z $fresh ]] || rm -rf "$out"
	mkdir -p "$out" "$logs"
	export SW_TEST_MODE=$mode

	t_san=
	[[ $mode == quick || $(basename "$build") == *san* ]] && t_san=1
	WARN=(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
	SAN_FLAGS=() SAN_UB=()
	# shellcheck disable=SC2054  # the comma belongs to the option
	if [[ -n $t_san ]]; then
		SAN_FLAGS=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
		SAN_UB=(-fsanitize=address,undefined)
	fi
	pass=0 fail=0
	failed=()
}

# t_sanitizer_env: the sanitizers' options for the programs the script runs
# (leaks are not checked: the programs exit with their state in place).
t_sanitizer_env() {
	[[ -n $t_san ]] || return 0
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
}

# t_quick_skip REASON: in the quick (sanitizer) run, say why the script has
# nothing to do and end with "0 passed, 0 failed".
t_quick_skip() {
	[[ $mode == quick ]] || return 0
	echo "$t_name: $1"
	echo "0 passed, 0 failed"
	exit 0
}

# ok [NAME]: one test passed (says PASS NAME when named).
ok() {
	pass=$((pass + 1))
	[[ -z ${1:-} ]] || echo "PASS $1"
}

# bad NAME [LOG]: one test failed; the tail of LOG (when given) follows.
bad() {
	fail=$((fail + 1))
	failed+=("$1")
	echo "FAIL $1"
	[[ -z ${2:-} || ! -f ${2:-} ]] || tail -n 30 "$2" | sed 's/^/       /'
}

# skip NAME REASON: a test that cannot run here, with the reason; no count.
skip() {
	echo "SKIP $1: $2"
}

# check CMD...: one test, passed when CMD succeeds ("FAIL CMD" if not).
check() {
	if "$@"; then ok; else bad "$*"; fi
}

# t_abort MESSAGE: the script cannot go on (a tool or the library missing):
# MESSAGE, then the closing line with one more failure.
t_abort() {
	echo "$t_name: $1"
	echo "$pass passed, $((fail + 1)) failed"
	exit 1
}

# t_need CMD...: each CMD must be installed (`make deps` installs them).
t_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || t_abort "$c is missing (make deps installs it)"
	done
}

# t_make_hint: how to build this group's programs into this build directory.
t_make_hint() {
	local b
	b=$(realpath -m --relative-to="$root" "$build")
	echo "make BUILD=$b TEST_MODE=$mode${t_san:+ SAN=1} test-progs-$t_name"
}

# t_built PROG: PROG (built by make, mk/tests.mk) is there; otherwise says
# so, with the command that builds it, and fails.
t_built() {
	[[ -x $1 ]] && return 0
	echo "not built: $1"
	echo "  ($(t_make_hint); a build error shows there)"
	return 1
}

# t_timeout LIMIT CMD...: CMD killed after LIMIT seconds (a hang guard:
# limits are generous, a slow machine only takes longer); exit 124 then.
t_timeout() {
	local limit=$1
	shift
	timeout -k 5 "$limit" "$@"
}

# t_verdict NAME RC LOG: count a finished test by its exit status RC.
t_verdict() {
	local name=$1 rc=$2 log=$3
	((rc != 124)) || echo "TIMEOUT" >>"$log"
	if ((rc == 0)); then
		ok "$name"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name (exit $rc)"
	fi
}

# t_failed_tails N: the last N lines of each failed test's log ($logs/NAME.log).
t_failed_tails() {
	local n=$1 name
	for name in "${failed[@]}"; do
		[[ -f $logs/$name.log ]] || continue
		echo
		echo "---- $name: last $n lines of $logs/$name.log ----"
		tail -n "$n" "$logs/$name.log"
	done
	((${#failed[@]} == 0)) || echo
}

# t_finish: the closing line; the script's status (put it last).
t_finish() {
	echo "$pass passed, $fail failed"
	((fail == 0))
}

# t_mkvar VAR: the words of `VAR := ...` in mk/tests.mk (the lists of
# variants make builds and the scripts run: kept in one place).
t_mkvar() {
	sed -n "s/^$1 *:= *//p" "$root/mk/tests.mk"
}
