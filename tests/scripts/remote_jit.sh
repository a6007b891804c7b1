#!/usr/bin/env bash
# JIT frames of another process and of its core (src/remote/jit.c: the
# target's GDB JIT interface and its perf map):
#
#   tests/scripts/remote_jit.sh BUILD_DIR MODE
#
# The target, tests/remote/jit_target.c, blocks two threads in pause()
# under chains of generated code registered with stackwalk's registry,
# which publishes them to the GDB JIT interface (one chain as procedures
# with CFI, one as .eh_frame bytes); a third generated function is named
# only in /tmp/perf-PID.map.  A probe (built here from the heredoc below)
# attaches with sw_as_attach and walks every thread with sw_init_remote +
# sw_step, naming frames with sw_as_get_proc_name:
#
#   attach     two SW_MOD_JIT modules "[jit] <first function>"; every
#              thread's walk names on_leaf, the four JIT frames in order
#              (jit_f3..jit_f0 / jit_g3..jit_g0: frames without a frame
#              pointer among them, so their CFI was used), run_chain and
#              main / thread_main; the perf-map-only function is named
#              "perf only fn(int)" (a name with spaces) and the malformed
#              perf map line is a warning
#   gdb        gdb -p's `thread apply all bt` (gdb reads the JIT interface
#              too) lists the same PCs per thread (gdb stops at main, we
#              go on to _start: compared as far as gdb goes)
#   corrupt    another target appends bad entries to its JIT list (sizes
#              0 and 1 TiB, an unmapped object, a non-ELF one, the first
#              object again) ending in a cycle, and a 5000-byte perf map
#              line: each is a warning, the two real objects and the
#              perf map's name (0x-prefixed, last line without newline)
#              are still there
#   fuzz       a target whose list ends in 300 mutated copies of a real
#              object (bytes flipped, sections made SHT_RELA): the probe
#              exits normally (ASan in quick mode) and the real objects stay
#   churn      another target registers and removes code in a loop in a
#              third thread (GDB's list changes while it is read): 20
#              attaches (5 in quick mode) neither crash nor hang, and each
#              walks the main thread through its JIT chain
#   lli        LLVM's lli (ORC) running a C program compiled to IR without
#              frame pointers, blocked in pause(): its object (ET_REL,
#              .eh_frame with relocations) names lli_leaf, lli_mid x3 and
#              main, and the steps out of them use its CFI (SW_SRC_JIT)
#   no-jit     with SW_AS_NO_JIT: no JIT module, no JIT name
#   core       gcore of the target, opened with sw_as_open_core: the same
#              PCs and names per thread as the attach (skipped with a
#              message when the library has no core reader yet)
#
# MODE quick (ASan build): attach, corrupt, fuzz and churn only.  The
# targets are killed on exit (trap).  Output: PASS/FAIL/SKIP lines, then "N passed, N failed".
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib remote_jit "$@"
t_sanitizer_env
t_need gcc
lib=$build/libstackwalk.a

# ---------------------------------------------------------------- programs
# the probe: probe attach PID [nojit] [PERF_ADDR] | probe core FILE
# prints the JIT modules, the warnings, every thread's frames, the name of
# PERF_ADDR
cat >"$out/probe.c" <<'EOF'
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/remote.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: probe attach PID [nojit] [ADDR] | probe core FILE\n");
		return 2;
	}
	char err[512] = "";
	struct sw_as_options opt = { .size = sizeof(opt), .errbuf = err, .errsize = sizeof(err) };
	sw_addr_space_t *as = NULL;
	int rc, argi = 3;
	if (argc > argi && strcmp(argv[argi], "nojit") == 0) {
		opt.flags |= SW_AS_NO_JIT;
		argi++;
	}
	if (strcmp(argv[1], "attach") == 0) {
		rc = sw_as_attach((pid_t)atoi(argv[2]), &opt, &as);
	} else {
#ifdef WITH_CORE
		rc = sw_as_open_core(argv[2], &opt, &as);
#else
		fprintf(stderr, "probe: built without the core reader\n");
		return 2;
#endif
	}
	if (rc != 0) {
		printf("error %s: %s\n", sw_strerror(rc), err);
		return 1;
	}
	const char *w = sw_as_warnings(as);
	for (const char *p = w; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		printf("warning %.*s\n", len, p);
		p += len + (nl != NULL);
	}
	for (size_t i = 0; i < sw_as_module_count(as); i++) {
		struct sw_as_module m;
		if (sw_as_get_module(as, i, &m) == 0 && (m.flags & SW_MOD_JIT))
			printf("jitmod 0x%" PRIx64 " 0x%" PRIx64 " %s\n", m.start, m.end, m.path);
	}
	for (size_t i = 0; i < sw_as_thread_count(as); i++) {
		struct sw_as_thread t;
		sw_cursor_t c;
		if (sw_as_get_thread(as, i, &t) != 0 || sw_init_remote(&c, as, i) != 0) {
			printf("thread ? gone\n");
			continue;
		}
		printf("thread %d\n", (int)t.tid);
		for (int k = 0; k < 256; k++) {
			char name[256];
			uint64_t off = 0;
			if (sw_as_get_proc_name(as, sw_get_lookup_pc(&c), name, sizeof(name), &off) != 0)
				strcpy(name, "??");
			printf("frame 0x%" PRIx64 " %s src=%d reliable=%d\n", sw_get_ip(&c), name,
			       sw_get_frame_source(&c), sw_is_reliable(&c));
			rc = sw_step(&c);
			if (rc != 0) {
				printf("end %s\n", sw_strerror(rc));
				break;
			}
		}
	}
	if (argc > argi) {
		char name[256];
		uint64_t off = 0;
		uint64_t a = strtoull(argv[argi], NULL, 0);
		if (sw_as_get_proc_name(as, a, name, sizeof(name), &off) == 0)
			printf("name 0x%" PRIx64 " %s+0x%" PRIx64 "\n", a, name, off);
		else
			printf("name 0x%" PRIx64 " ??\n", a);
	}
	sw_as_free(as);
	return 0;
}
EOF

# build NAME SRC...: a program against the library, warning-free
build() {
	local name=$1
	shift
	if gcc -std=gnu11 -g -O2 -Iinclude -Itests/jit "${WARN[@]}" "${SAN_FLAGS[@]}" "$@" "$lib" \
		-ldl -lpthread -o "$out/$name" >"$logs/build-$name.log" 2>&1 &&
		! grep -q "warning:" "$logs/build-$name.log"; then
		return 0
	fi
	return 1
}
if build jit_target tests/remote/jit_target.c tests/jit/emit.c; then ok "build jit_target"; else
	bad "build jit_target" "$logs/build-jit_target.log"; fi
if build probe "$out/probe.c"; then
	ok "build probe"
elif grep -q "undefined reference to .sw_as_attach" "$logs/build-probe.log"; then
	skip all "the library has no sw_as_attach yet (src/remote/ptrace.c)"
	t_finish
	exit
else
	bad "build probe" "$logs/build-probe.log"
fi
core_reader=1
if ! build probe_core -DWITH_CORE "$out/probe.c"; then
	if grep -q "undefined reference to .sw_as_open_core" "$logs/build-probe_core.log"; then
		core_reader=""
	else
		bad "build probe_core" "$logs/build-probe_core.log"
	fi
fi
[[ -x $out/jit_target && -x $out/probe ]] || t_abort "nothing to run"

# ---------------------------------------------------------------- the target
# every target started, killed (and its perf map removed) on exit
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		{ kill -9 "$p"; wait "$p"; } 2>/dev/null
		rm -f "/tmp/perf-$p.map"
	done
}
trap cleanup EXIT
# wait_ready PID FILE: until FILE has the "ready" line or PID is gone (a
# hang guard only: 60 s at most); prints its perf-map-only address
wait_ready() {
	for ((i = 0; i < 600; i++)); do
		grep -q "^ready " "$2" && break
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	sed -n 's/^ready [0-9]* //p' "$2"
}
"$out/jit_target" >"$out/target.out" 2>&1 </dev/null &
pid=$!
pids+=("$pid")
perf_addr=$(wait_ready "$pid" "$out/target.out")
[[ -n ${perf_addr:-} ]] || { cat "$out/target.out"; t_abort "jit_target did not get ready"; }

# frames LOG TID: "PC NAME" per frame of thread TID in a probe log
frames() {
	awk -v tid="$2" '$1 == "thread" { f = ($2 == tid) } f && $1 == "frame" { print $2, $3 }' "$1"
}
# names LOG TID: the frame names, space-separated
names() {
	frames "$1" "$2" | awk '{ printf "%s ", $2 }'
}
tids=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -n)
main_tid=$pid
other_tid=$(grep -vx "$pid" <<<"$tids" | head -n 1)

# check_walk LABEL LOG: the JIT names of both threads in the probe's LOG
check_walk() {
	local label=$1 log=$2 got want
	want="on_leaf jit_f3 jit_f2 jit_f1 jit_f0 run_chain main"
	got=$(names "$log" "$main_tid")
	if [[ $got == *"block_here $want "* ]]; then ok "$label: main thread through jit_f3..jit_f0 to main"; else
		echo "       want: ... block_here $want"; echo "       got:  $got"
		bad "$label: main thread through jit_f3..jit_f0 to main" "$log"; fi
	want="on_leaf jit_g3 jit_g2 jit_g1 jit_g0 run_chain thread_main"
	got=$(names "$log" "$other_tid")
	if [[ $got == *"block_here $want "* ]]; then ok "$label: second thread through jit_g3..jit_g0"; else
		echo "       want: ... block_here $want ..."; echo "       got:  $got"
		bad "$label: second thread through jit_g3..jit_g0" "$log"; fi
}

# ---------------------------------------------------------------- attach
alog=$out/attach.log
log=$alog
t_timeout 120 "$out/probe" attach "$pid" "$perf_addr" >"$log" 2>&1
rc=$?
if grep -q "^error unsupported input" "$log"; then
	# ptrace refused (Yama ptrace_scope 2 or 3, no CAP_SYS_PTRACE):
	# the message says what to change
	skip all "$(sed -n 's/^error unsupported input: //p' "$log")"
	t_finish
	exit
fi
if ((rc == 0)); then ok "attach"; else bad "attach (exit $rc)" "$log"; fi
njit=$(grep -c "^jitmod .* \[jit\] jit_[fg][0-9]$" "$log")
if ((njit == 2)); then ok "attach: two JIT modules"; else
	grep "^jitmod\|^warning" "$log" | sed 's/^/       /'; bad "attach: two JIT modules, $njit found"; fi
check_walk attach "$log"
if grep -q "^name $perf_addr perf only fn(int)+0x1$" "$log"; then ok "attach: perf map name"; else
	grep "^name" "$log" | sed 's/^/       /'; bad "attach: the perf map names $perf_addr 'perf only fn(int)'"; fi
if grep -q "^warning perf map .*perf-$pid.map: 1 line not" "$log"; then ok "attach: perf map bad line warned"; else
	grep "^warning" "$log" | sed 's/^/       /'; bad "attach: no warning about the malformed perf map line"; fi

# ---------------------------------------------------------------- corrupt
# a second target whose GDB JIT list has bad entries appended and loops
# back (jit_target.c `corrupt`), and whose perf map has a line too long
"$out/jit_target" corrupt >"$out/corrupt.out" 2>&1 </dev/null &
cpid=$!
pids+=("$cpid")
caddr=$(wait_ready "$cpid" "$out/corrupt.out")
if [[ -z ${caddr:-} ]]; then
	bad "corrupt: jit_target corrupt did not get ready" "$out/corrupt.out"
else
	log=$out/corrupt.log
	t_timeout 120 "$out/probe" attach "$cpid" "$caddr" >"$log" 2>&1
	rc=$?
	nwarn=0
	for w in "the list loops back to entry" "1 object left out: its bytes cannot be read" \
		"2 objects left out: a size of at most an ELF header, or over 64 MiB" \
		"1 object left out: not an ELF image" "1 object left out: its code overlaps" \
		"perf-$cpid.map: 2 lines not"; do
		grep -qF "$w" "$log" && nwarn=$((nwarn + 1))
	done
	njit=$(grep -c "^jitmod .* \[jit\] jit_[fg][0-9]$" "$log")
	if ((rc == 0 && njit == 2 && nwarn == 6)) &&
		grep -q "^name $caddr perf only fn(int)+0x1$" "$log" &&
		[[ $(names "$log" "$cpid") == *"jit_f3 jit_f2 jit_f1 jit_f0 run_chain main "* ]]; then
		ok "corrupt: bad entries and a cycle skipped with warnings, the real objects kept"
	else
		bad "corrupt: exit $rc, $njit JIT modules, $nwarn of 6 warnings" "$log"
	fi
fi
{ kill -9 "$cpid"; wait "$cpid"; } 2>/dev/null
rm -f "/tmp/perf-$cpid.map"

# ---------------------------------------------------------------- fuzz
# a target whose list ends in 300 mutated copies of a real object
"$out/jit_target" fuzz >"$out/fuzz.out" 2>&1 </dev/null &
cpid=$!
pids+=("$cpid")
caddr=$(wait_ready "$cpid" "$out/fuzz.out")
if [[ -z $caddr ]]; then
	bad "fuzz: jit_target fuzz did not get ready" "$out/fuzz.out"
else
	log=$out/fuzz.log
	t_timeout 120 "$out/probe" attach "$cpid" >"$log" 2>&1
	rc=$?
	if ((rc == 0)) && grep -q "^jitmod .* \[jit\] jit_f3$" "$log" && grep -q "^jitmod .* \[jit\] jit_g3$" "$log"; then
		ok "fuzz: 300 mutated objects, no crash, the real ones kept ($(grep -c "^warning GDB JIT" "$log") kinds of warnings)"
	else
		bad "fuzz: exit $rc" "$log"
	fi
fi
{ kill -9 "$cpid"; wait "$cpid"; } 2>/dev/null
rm -f "/tmp/perf-$cpid.map"

# ---------------------------------------------------------------- churn
# a third target whose third thread registers and removes code in a loop:
# GDB's list changes (objects freed, memory reused) while we read it
"$out/jit_target" churn >"$out/churn.out" 2>&1 </dev/null &
cpid=$!
pids+=("$cpid")
caddr=$(wait_ready "$cpid" "$out/churn.out")
if [[ -z $caddr ]]; then
	bad "churn: jit_target churn did not get ready" "$out/churn.out"
else
	n=$([[ $mode == quick ]] && echo 5 || echo 20)
	good=0
	for ((k = 0; k < n; k++)); do
		log=$out/churn-$k.log
		t_timeout 120 "$out/probe" attach "$cpid" >"$log" 2>&1 || break
		[[ $(names "$log" "$cpid") == *"jit_f3 jit_f2 jit_f1 jit_f0 run_chain main "* ]] || break
		good=$((good + 1))
	done
	if ((good == n)); then ok "churn: $n attaches while the list changes, the chains walked each time"; else
		bad "churn: attach $((good + 1)) of $n" "$log"; fi
fi
{ kill -9 "$cpid"; wait "$cpid"; } 2>/dev/null
rm -f "/tmp/perf-$cpid.map"

if [[ $mode == quick ]]; then
	t_finish
	exit
fi

# ---------------------------------------------------------------- gdb
if ! command -v gdb >/dev/null; then
	skip gdb "gdb not installed (Debian package gdb)"
else
	glog=$out/gdb.log
	t_timeout 120 gdb -nx -batch -ex "set debuginfod enabled off" -p "$pid" \
		-ex "thread apply all bt" >"$glog" 2>&1 </dev/null
	for tid in $main_tid $other_tid; do
		# gdb's frames of LWP tid: "#N  0xPC in NAME ..." (#0 may lack the PC)
		want=$(awk -v tid="$tid" '/^Thread [0-9]+ /{ f = ($0 ~ "\\(LWP " tid "\\)") }
			f && /^#[0-9]+ +0x[0-9a-f]+ in / { sub(/^0x0*/, "0x", $2); print $2 }' "$glog")
		got=$(frames "$alog" "$tid" | awk '{ print $1 }')
		# the frames gdb prints with their PC (#0 may lack it) are ours
		# from the same one on; gdb stops at main (backtrace past-main is
		# off), we go on to _start: as many of ours as gdb has
		first=$(head -n 1 <<<"$want")
		got_from=$(awk -v a="$first" 'f || $1 == a { f = 1; print }' <<<"$got" | head -n "$(wc -l <<<"$want")")
		if [[ -n $want && $(wc -l <<<"$want") -ge 8 && $want == "$got_from" ]]; then
			ok "gdb: same PCs for thread $tid ($(wc -l <<<"$want") frames)"
		else
			echo "       gdb:       $(tr '\n' ' ' <<<"$want")"
			echo "       stackwalk: $(tr '\n' ' ' <<<"$got")"
			bad "gdb: same PCs for thread $tid" "$glog"
		fi
	done
fi

# ---------------------------------------------------------------- no JIT
log=$out/nojit.log
t_timeout 120 "$out/probe" attach "$pid" nojit "$perf_addr" >"$log" 2>&1
if ! grep -q "^jitmod" "$log" && ! grep -q " jit_[fg][0-9] " "$log" &&
	grep -q "^name $perf_addr ??" "$log"; then
	ok "SW_AS_NO_JIT: no JIT module, no JIT name"
else
	bad "SW_AS_NO_JIT: no JIT module, no JIT name" "$log"
fi

# ---------------------------------------------------------------- lli
# another JIT: LLVM's lli (ORC) publishes each object it compiles, as the
# compiler wrote it (ET_REL, .eh_frame still with its relocations), its
# section addresses set to where it loaded them
if ! command -v lli >/dev/null || ! command -v clang >/dev/null; then
	skip lli "lli or clang not installed (Debian packages llvm, clang)"
else
	cat >"$out/lli_prog.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) void lli_leaf(void)
{
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
__attribute__((noinline)) void lli_mid(int n)
{
	if (n > 0)
		lli_mid(n - 1);
	else
		lli_leaf();
	__asm__ volatile("");
}
int main(void)
{
	lli_mid(2);
	return 0;
}
EOF
	if ! clang -O2 -fomit-frame-pointer -S -emit-llvm "$out/lli_prog.c" -o "$out/lli_prog.ll" \
		>"$logs/lli-build.log" 2>&1; then
		bad "lli: clang -emit-llvm" "$logs/lli-build.log"
	else
		lli "$out/lli_prog.ll" >"$out/lli.out" 2>&1 </dev/null &
		lpid=$!
		pids+=("$lpid")
		for ((i = 0; i < 600; i++)); do
			grep -q "^ready" "$out/lli.out" && break
			kill -0 "$lpid" 2>/dev/null || break
			sleep 0.1
		done
		log=$out/lli.log
		t_timeout 120 "$out/probe" attach "$lpid" >"$log" 2>&1
		# the JIT frames found with the objects' CFI (source 7: SW_SRC_JIT)
		# (up to the JIT's main, before lli's own)
		got=$(awk '$1 == "frame" && $3 ~ /^(lli_|main$)/ { printf "%s/%s ", $3, $4 }
			$1 == "frame" && $3 == "main" { exit }' "$log")
		want="lli_leaf/src=1 lli_mid/src=7 lli_mid/src=7 lli_mid/src=7 main/src=7 "
		if [[ $got == "$want" ]] && grep -q "^jitmod .* \[jit\] lli_" "$log"; then
			ok "lli: LLVM's JIT frames named and unwound with their relocated CFI"
		else
			echo "       want: $want"; echo "       got:  $got"
			bad "lli: LLVM's JIT frames named and unwound with their relocated CFI" "$log"
		fi
		{ kill -9 "$lpid"; wait "$lpid"; } 2>/dev/null
	fi
fi

# ---------------------------------------------------------------- core
if [[ -z $core_reader ]]; then
	skip core "the library has no sw_as_open_core yet (src/remote/core.c)"
elif ! command -v gcore >/dev/null; then
	skip core "gcore not installed (Debian package gdb)"
else
	t_timeout 120 gcore -o "$out/core" "$pid" >"$out/gcore.log" 2>&1 </dev/null
	if [[ ! -f $out/core.$pid ]]; then
		bad "gcore" "$out/gcore.log"
	else
		clog=$out/core.log
		t_timeout 120 "$out/probe_core" core "$out/core.$pid" >"$clog" 2>&1
		rc=$?
		if ((rc == 0)); then ok "core"; else bad "core (exit $rc)" "$clog"; fi
		njit=$(grep -c "^jitmod .* \[jit\] jit_[fg][0-9]$" "$clog")
		if ((njit == 2)); then ok "core: two JIT modules"; else
			grep "^jitmod\|^warning" "$clog" | sed 's/^/       /'; bad "core: two JIT modules, $njit found"; fi
		check_walk core "$clog"
		for tid in $main_tid $other_tid; do
			if [[ -n $(frames "$clog" "$tid") && $(frames "$clog" "$tid") == "$(frames "$alog" "$tid")" ]]; then
				ok "core: the attach's frames for thread $tid"
			else
				diff <(frames "$alog" "$tid") <(frames "$clog" "$tid") | sed 's/^/       /'
				bad "core: the attach's frames for thread $tid"
			fi
		done
		rm -f "$out/core.$pid"
	fi
fi

t_finish
