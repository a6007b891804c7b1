#!/usr/bin/env bash
# libFuzzer campaigns and corpus replay for stackwalk's parsers.
#
#   fuzz/run.sh campaign [SECONDS]   build, fuzz each target SECONDS (default 60)
#                                    over fuzz/corpus/<target>/ (new inputs are
#                                    added there), copy crashes to fuzz/crashes/;
#                                    prints per target
#                                      fuzz.<target>: N execs, N new corpus files, N crashes
#                                    exits nonzero when a crash was found
#   fuzz/run.sh replay               build, run every saved corpus file once;
#                                    closes with "N passed, N failed" (one test
#                                    per corpus file), exits nonzero on failure
#   fuzz/run.sh merge                minimize each corpus now (-merge=1 into a
#                                    fresh directory, seed-* files kept); a
#                                    campaign does this itself past 2 MB
#   fuzz/run.sh build                only build build/fuzz/fuzz_<target>
#
# Targets: fuzz/fuzz_<target>.c.  Each is compiled together with the library
# sources it needs (not the gcc-built archive) by clang with libFuzzer, ASan
# and UBSan.  Environment: CLANG (default clang), FUZZ_TARGETS (default
# "cfi expr line dwarf symfile core perf callbacks table"), FUZZ_MERGE_LIMIT_KB (minimize a corpus grown past it, 2048).
set -euo pipefail

cd "$(dirname "$0")/.."

CLANG=${CLANG:-clang}
TARGETS=(${FUZZ_TARGETS:-cfi expr line dwarf symfile core perf callbacks table})
OUT=build/fuzz
MERGE_LIMIT_KB=${FUZZ_MERGE_LIMIT_KB:-2048}

CFLAGS=(-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Iinclude -Isrc)
# the parsers and what they need: not the unwinder (nor its arch part,
# src/arch/x86_64/frame.c)
LIB_SRCS=(src/dwarf/*.c src/elf/elf.c src/util/status.c src/arch/x86_64/regs.c
	src/arch/x86_64/sigframe.c src/arch/x86_64/context_layout.c
	src/symbolize/arena.c src/symbolize/line.c src/symbolize/dwarf*.c
	src/symbolize/file.c src/symbolize/decompress.c src/symbolize/symtab.c src/elf/debuglink.c)
# what the symbolizer's file layer links (decompressors)
LIBS=(-lz -lzstd -llzma)

max_len() {
	case $1 in
	cfi | table) echo 4096 ;;
	expr) echo 512 ;;
	line) echo 8192 ;;
	dwarf) echo 65536 ;;
	symfile) echo 65536 ;;
	core) echo 65536 ;;
	callbacks) echo 16384 ;;
	perf) echo 262144 ;;
	*) echo 4096 ;;
	esac
}

# target_srcs TARGET: what a target links besides fuzz/fuzz_TARGET.c: the
# parsers above; for core also the unwinder and what it links (the core
# reader walks the threads it finds; callbacks: the same, a walk through a
# callbacks address space); for perf the perf.data reader alone
# (a tool's, libc only); for table the compact tables and what
# sw_compile_row (src/arch/x86_64/frame.c) links: the unwinder's set
target_srcs() {
	case $1 in
	core | callbacks | table) echo "${LIB_SRCS[@]}" src/table/*.c src/remote/*.c src/unwind/*.c src/source/*.c \
		$(find src/jit -name '*.c' | sort) src/util/version.c src/arch/x86_64/frame.c \
		src/arch/x86_64/target.c src/arch/x86_64/context.S ;;
	perf) echo tools/perf_data.c ;;
	*) echo "${LIB_SRCS[@]}" ;;
	esac
}

usage() {
	echo "usage: $0 campaign [SECONDS] | replay | merge | build" >&2
	exit 2
}

# build TARGET: (re)build $OUT/fuzz_TARGET when a source or header is newer.
build() {
	local t=$1 bin=$OUT/fuzz_$1 src=fuzz/fuzz_$1.c f stale=0
	[[ -f $src ]] || { echo "fuzz: no $src" >&2; return 1; }
	if [[ -x $bin ]]; then
		for f in "$src" $(target_srcs "$t") src/*/*.h src/arch/*/*.h include/*.h \
			include/stackwalk/*.h tools/*.h "$0"; do
			[[ $f -nt $bin ]] && { stale=1; break; }
		done
	else
		stale=1
	fi
	((stale)) || return 0
	mkdir -p "$OUT"
	echo "fuzz: building $bin" >&2
	rm -f "$bin"
	# shellcheck disable=SC2046  # target_srcs: a word per file
	"$CLANG" "${CFLAGS[@]}" -o "$bin.tmp" "$src" $(target_srcs "$t") "${LIBS[@]}" \
		-ldl -lpthread || return 1
	mv -f "$bin.tmp" "$bin"
}

need_clang() {
	if ! command -v "$CLANG" >/dev/null 2>&1; then
		echo "fuzz: $CLANG not found (make deps installs clang and libclang-rt-14-dev)" >&2
		return 1
	fi
}

count_files() {
	find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# minimize TARGET: merge the corpus into a fresh directory when it has grown
# past the limit (bytes, not disk blocks), keeping the seeds (seed-*, made by
# fuzz/make_seeds.sh) and the other inputs that add coverage.
minimize() {
	local t=$1 dir=fuzz/corpus/$1 kb fresh
	kb=$(du -sk --apparent-size "$dir" | cut -f1)
	((kb > MERGE_LIMIT_KB)) || return 0
	fresh=$OUT/merge-$t
	rm -rf "$fresh"
	mkdir -p "$fresh"
	find "$dir" -maxdepth 1 -type f -name 'seed-*' -exec cp -t "$fresh" {} +
	echo "fuzz: corpus $dir is ${kb} KB, merging into a minimal one" >&2
	if "$OUT/fuzz_$t" -merge=1 -max_len="$(max_len "$t")" "$fresh" "$dir" \
		>"$OUT/$t-merge.log" 2>&1; then
		rm -rf "$dir"
		mv "$fresh" "$dir"
	else
		echo "fuzz: merge failed, corpus left as is (see $OUT/$t-merge.log)" >&2
	fi
}

campaign() {
	local secs=${1:-60} t dir art log before after execs crashes rc total_crashes=0 f
	[[ $secs =~ ^[0-9]+$ ]] || usage
	need_clang || exit 1
	for t in "${TARGETS[@]}"; do
		build "$t"
	done
	mkdir -p fuzz/crashes
	for t in "${TARGETS[@]}"; do
		dir=fuzz/corpus/$t
		art=$OUT/artifacts-$t/
		log=$OUT/$t-campaign.log
		mkdir -p "$dir"
		rm -rf "$art"
		mkdir -p "$art"
		before=$(count_files "$dir")
		echo "fuzz: $t for ${secs}s over $dir ($before files), log in $log" >&2
		rc=0
		"$OUT/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
			-max_len="$(max_len "$t")" -timeout=25 -rss_limit_mb=2048 \
			-artifact_prefix="$art" "$dir" >"$log" 2>&1 || rc=$?
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		crashes=0
		for f in "$art"*; do
			[[ -f $f ]] || continue
			cp -f "$f" "fuzz/crashes/$t-$(basename "$f")"
			crashes=$((crashes + 1))
		done
		# a sanitizer report or a dead fuzzer that left no artifact still counts
		if ((rc != 0 && crashes == 0)); then
			crashes=1
			echo "fuzz: $t exited $rc without an artifact; see $log" >&2
		fi
		if ((crashes > 0)); then
			echo "fuzz: $t found a problem; tail of $log:" >&2
			tail -n 40 "$log" >&2
		fi
		minimize "$t"
		after=$(count_files "$dir")
		echo "fuzz.$t: ${execs:-0} execs, $((after - before)) new corpus files, $crashes crashes"
		total_crashes=$((total_crashes + crashes))
	done
	((total_crashes == 0))
}

replay() {
	local t dir n pass=0 fail=0 log rc files
	if ! need_clang; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	local built=()
	for t in "${TARGETS[@]}"; do
		if build "$t"; then
			built+=("$t")
		else
			echo "fuzz: building fuzz_$t failed" >&2
			fail=$((fail + 1))
		fi
	done
	for t in "${built[@]}"; do
		dir=fuzz/corpus/$t
		mapfile -t files < <(find "$dir" -maxdepth 1 -type f 2>/dev/null | LC_ALL=C sort)
		n=${#files[@]}
		if ((n == 0)); then
			echo "fuzz: $t: no corpus in $dir" >&2
			fail=$((fail + 1))
			continue
		fi
		log=$OUT/$t-replay.log
		rc=0
		# Files given one by one are run once each (no fuzzing, nothing written).
		# xargs splits long lists; it exits nonzero if any run failed.
		printf '%s\0' "${files[@]}" |
			xargs -0 "$OUT/fuzz_$t" -max_len="$(max_len "$t")" -timeout=25 \
				-artifact_prefix="$OUT/replay-$t-" >"$log" 2>&1 || rc=$?
		if ((rc == 0)); then
			echo "  fuzz.$t: $n corpus files replayed" >&2
			pass=$((pass + n))
		else
			echo "  fuzz.$t: replay FAILED (exit $rc); tail of $log:" >&2
			tail -n 40 "$log" >&2
			pass=$((pass + n - 1))
			fail=$((fail + 1))
		fi
	done
	echo "$pass passed, $fail failed"
	((fail == 0))
}

case ${1:-} in
campaign) shift; campaign "$@" ;;
replay) replay ;;
merge)
	need_clang || exit 1
	for t in "${TARGETS[@]}"; do
		build "$t"
		before=$(count_files "fuzz/corpus/$t")
		MERGE_LIMIT_KB=-1 minimize "$t"
		echo "fuzz.$t: corpus $before -> $(count_files "fuzz/corpus/$t") files," \
			"$(du -sk --apparent-size "fuzz/corpus/$t" | cut -f1) KB" >&2
	done
	;;
build)
	need_clang || exit 1
	for t in "${TARGETS[@]}"; do build "$t"; done
	;;
*) usage ;;
esac
