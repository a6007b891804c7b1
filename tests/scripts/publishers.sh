#!/usr/bin/env bash
# JIT publishers (<stackwalk/jit.h> SW_JIT_PUB_*) against the real tools:
#
#   tests/scripts/publishers.sh BUILD_DIR MODE
#
#   gdb      pub_tool with SW_JIT_PUB_GDB, per registration form: gdb -batch
#            stops in a C function called by the JIT chain; `bt` lists
#            jit_f11 ... jit_f0 in order, then run_chain and main; after
#            sw_jit_remove (second breakpoint) `bt` and `info symbol` no
#            longer know the JIT names; without line information no
#            JIT frame has a source line
#            (also with the default publishers, no publisher call:
#            procs-frame and table-frame)
#   gdb lines  the same with line information (pub_tool ... lines: every
#            procs and table form): each JIT frame of `bt` is `at FILE:LINE`
#            with the line of its call instruction (pub_tool.c's scheme),
#            `info line *jit_addr` resolves inside jit_f3, and after the
#            removal it has no line information
#   gdb many  pub_tool ... many (default publishers): 10^4 one-procedure
#            filler registrations around the chain's, every 7th removed,
#            every 11th other moved by sw_jit_move: GDB's JIT list holds
#            at most 1/8 as many objects as registrations (the publisher
#            groups them) and is doubly linked with no action pending;
#            gdb's `bt` names jit_f11 ... jit_f0; after jit_f3's own
#            removal `info symbol` knows neither it nor a removed filler
#            nor a moved filler's old address, and names a moved filler
#            at its new address and a kept one
#   jitdump  perf record -k 1 -e cpu-clock -g of pub_tool with
#            SW_JIT_PUB_JITDUMP, perf inject --jit, perf report shows the
#            JIT names; the generated ELF's FDE covers its .text
#   jitdump lines  the same with line information (procs and table forms):
#            perf report --sort sym,srcline puts the JIT samples at the
#            spin loop's FILE:LINE of each function, none elsewhere
#   env      SW_JIT_PERF=1 / SW_JIT_PUBLISHERS=perf-map make pub_tool (no
#            publisher call) write /tmp/perf-PID.map; by default, or with
#            SW_JIT_PUBLISHERS=none, it writes none
#   perfmap  perf record of pub_tool with SW_JIT_PUB_PERF_MAP: perf report
#            names the JIT functions from /tmp/perf-PID.map
#   unw      tests/jit/pub_unw.c linked with -lunwind, default publishers
#            (no publisher call): unw_backtrace and a
#            unw_step loop pass every JIT frame to main, unw_get_proc_name
#            names them (every eager and table form)
# A part is skipped (with the reason) only when its program is missing or
# perf events are not permitted.  Output: PASS/FAIL/SKIP lines, then
# "N passed, N failed".
# (Its programs are built here, not by make: they run under gdb and perf,
# and one links the system's -lunwind.)
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh --lib publishers "$@"
[[ -z $t_san ]] || export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
src=$root/tests/jit
lib=$build/libstackwalk.a
warn=("${WARN[@]}")
san=("${SAN_FLAGS[@]}")
# The registry refers to every publisher, so a static link pulls them in.
keep=()

build_prog() {   # build_prog NAME SRC EXTRA-LIBS...
	local name=$1 s=$2
	shift 2
	if ! gcc -std=gnu11 -g -O2 "-I$root/include" "-I$src" "${warn[@]}" "${san[@]}" "$s" "$src/emit.c" \
		"${keep[@]}" "$lib" "$@" -ldl -lpthread -o "$out/$name" >"$out/$name.build.log" 2>&1 ||
		grep -q "warning:" "$out/$name.build.log"; then
		bad "build $name" "$out/$name.build.log"
		return 1
	fi
}

build_prog pub_tool "$src/pub_tool.c" || true
# forms (jit_common.c enum form): 0 eh_frame, 1 procs-frame, 2 procs-cfi,
# 3 procs-dyn, 4 table-frame, 5 table-cfi, 6 table-dyn
forms=(0 1 2 3 4 5 6)
names=(eh_frame procs-frame procs-cfi procs-dyn table-frame table-cfi table-dyn)

# ---------------------------------------------------------------- gdb
if ! command -v gdb >/dev/null; then
	skip gdb "gdb not installed (Debian package gdb)"
elif [[ -x $out/pub_tool ]]; then
	# gdb_bt MASK I LABEL: the checks above for form I with publisher MASK
	gdb_bt() {
		local mask=$1 i=$2 label=$3
		local log=$out/gdb-$label.log
		timeout 600 gdb -nx -batch -ex "break gdb_stop_here" -ex "break gdb_after_remove" \
			-ex "run $mask ${forms[$i]} 0" -ex "bt" -ex "continue" -ex "bt" -ex "info symbol jit_addr" \
			"$out/pub_tool" >"$log" 2>&1 </dev/null
		# first bt: the frames from on_leaf to main, names only
		got=$(awk '/^Breakpoint 1,/{f=1} /^Breakpoint 2,/{f=0} f && /^#[0-9]/' "$log" |
			sed -E 's/^#[0-9]+ +(0x[0-9a-f]+ in )?([A-Za-z_0-9.]+).*/\2/' | tr '\n' ' ')
		want="gdb_stop_here on_leaf jit_f11 jit_f10 jit_f9 jit_f8 jit_f7 jit_f6 jit_f5 jit_f4 jit_f3 jit_f2 jit_f1 jit_f0 run_chain main "
		after=$(awk '/^Breakpoint 2,/{f=1} f' "$log")
		if [[ $got == "$want" ]]; then ok "gdb bt $label"; else
			echo "       want: $want"; echo "       got:  $got"; bad "gdb bt $label" "$log"; fi
		if [[ -n $after ]] && ! grep -q "jit_f" <<<"$after" && grep -q "No symbol matches" <<<"$after"; then
			ok "gdb after remove $label"
		else
			bad "gdb after remove $label" "$log"
		fi
		if ! grep -qE '^#[0-9]+ .* in jit_f[0-9]+ .* at ' "$log"; then
			ok "gdb no lines $label"
		else
			bad "gdb no lines $label: JIT frames with a source line" "$log"
		fi
	}
	for i in "${!forms[@]}"; do
		gdb_bt 2 "$i" "${names[$i]}"
	done
	# no publisher call: the default publishers include GDB's
	gdb_bt default 1 "default-${names[1]}"
	gdb_bt default 4 "default-${names[4]}"
	# with line information: jit_f<i> in chain_a.jit (even i) or
	# chain_b.jit (odd i), its call instruction at line 1000 + 10 * i + 2
	want=""
	for ((i = 11; i >= 0; i--)); do
		want+="jit_f$i@chain_$( ((i % 2)) && echo b || echo a).jit:$((1000 + 10 * i + 2)) "
	done
	# many registrations (pub_tool.c `many`)
	log=$out/gdb-many.log
	timeout 300 gdb -nx -batch -ex "break gdb_stop_here" -ex "break gdb_after_remove" \
		-ex "run default 1 0 many" -ex "bt" -ex "continue" -ex "info symbol jit_addr" \
		-ex "info symbol removed_addr" -ex "info symbol moved_addr" \
		-ex "info symbol moved_old_addr" -ex "info symbol kept_addr" \
		"$out/pub_tool" >"$log" 2>&1 </dev/null
	nobj=$(sed -nE 's/^pub_tool: gdb list ([0-9]+) objects, linked right$/\1/p' "$log")
	if [[ -n $nobj ]] && ((nobj <= 10012 / 8)); then ok "gdb many: $nobj objects in GDB's list, linked right"; else
		grep "gdb list" "$log" | sed 's/^/       /'; bad "gdb many: GDB's list (want <= 1251 objects, linked right)" "$log"; fi
	got=$(awk '/^Breakpoint 1,/{f=1} /^Breakpoint 2,/{f=0} f && /^#[0-9]/' "$log" |
		sed -E 's/^#[0-9]+ +(0x[0-9a-f]+ in )?([A-Za-z_0-9.]+).*/\2/' | tr '\n' ' ')
	many_want="gdb_stop_here on_leaf jit_f11 jit_f10 jit_f9 jit_f8 jit_f7 jit_f6 jit_f5 jit_f4 jit_f3 jit_f2 jit_f1 jit_f0 run_chain main "
	if [[ $got == "$many_want" ]]; then ok "gdb many bt"; else
		echo "       want: $many_want"; echo "       got:  $got"; bad "gdb many bt" "$log"; fi
	after=$(awk '/^Breakpoint 2,/{f=1} f' "$log")
	if grep -q "^No symbol matches jit_addr" <<<"$after" && grep -q "^No symbol matches removed_addr" <<<"$after" &&
		grep -q "^No symbol matches moved_old_addr" <<<"$after" &&
		grep -qE "^filler_11 \+ 4 in section \.text" <<<"$after" &&
		grep -qE "^filler_12 \+ 4 in section \.text" <<<"$after"; then
		ok "gdb many info symbol after remove and move"
	else
		bad "gdb many info symbol after remove and move" "$log"
	fi
	for i in 1 2 3 4 5 6; do
		log=$out/gdb-lines-${names[$i]}.log
		timeout 600 gdb -nx -batch -ex "break gdb_stop_here" -ex "break gdb_after_remove" \
			-ex "run 2 ${forms[$i]} 0 lines" -ex "bt" -ex "info line *jit_addr" -ex "continue" \
			-ex "bt" -ex "info line *jit_addr" "$out/pub_tool" >"$log" 2>&1 </dev/null
		before=$(awk '/^Breakpoint 1,/{f=1} /^Breakpoint 2,/{f=0} f' "$log")
		after=$(awk '/^Breakpoint 2,/{f=1} f' "$log")
		got=$(grep -E '^#[0-9]+ .* in jit_f' <<<"$before" |
			sed -E 's/^#[0-9]+ +0x[0-9a-f]+ in (jit_f[0-9]+) .* at ([^ ]+)$/\1@\2/' | tr '\n' ' ')
		if [[ $got == "$want" ]]; then ok "gdb lines bt ${names[$i]}"; else
			echo "       want: $want"; echo "       got:  $got"; bad "gdb lines bt ${names[$i]}" "$log"; fi
		if grep -qE '^Line 103[0-5] of "chain_b\.jit" starts at address 0x[0-9a-f]+ <jit_f3(\+[0-9]+)?> and ends at' <<<"$before"; then
			ok "gdb lines info line ${names[$i]}"
		else
			bad "gdb lines info line ${names[$i]}" "$log"
		fi
		if [[ -n $after ]] && ! grep -q "jit_f\|chain_" <<<"$after" &&
			grep -q "No line number information available for address" <<<"$after"; then
			ok "gdb lines after remove ${names[$i]}"
		else
			bad "gdb lines after remove ${names[$i]}" "$log"
		fi
	done
fi

# ---------------------------------------------------------------- environment
# perf is opt-in through the environment: SW_JIT_PERF=1 adds the perf map
# to the default publishers, SW_JIT_PUBLISHERS replaces the set
if [[ -x $out/pub_tool ]]; then
	envchk() {   # envchk LABEL WANT(yes|no) ENV-ARGS...: is jit_f3 in the perf map?
		local label=$1 want=$2 pid got=no
		shift 2
		env "$@" "$out/pub_tool" default 1 0 >"$out/env-$label.log" 2>&1 </dev/null &
		pid=$!
		wait "$pid"
		grep -q " jit_f3$" "/tmp/perf-$pid.map" 2>/dev/null && got=yes
		rm -f "/tmp/perf-$pid.map"
		if [[ $got == "$want" ]]; then ok "env $label"; else
			bad "env $label: jit_f3 in /tmp/perf-$pid.map: $got, want $want" "$out/env-$label.log"; fi
	}
	envchk default no -u SW_JIT_PERF -u SW_JIT_PUBLISHERS
	envchk SW_JIT_PERF=1 yes -u SW_JIT_PUBLISHERS SW_JIT_PERF=1
	envchk SW_JIT_PUBLISHERS=perf-map yes -u SW_JIT_PERF SW_JIT_PUBLISHERS=perf-map
	envchk SW_JIT_PUBLISHERS=none,SW_JIT_PERF=0 no SW_JIT_PUBLISHERS=none SW_JIT_PERF=0
fi

# ---------------------------------------------------------------- perf
perf_ok=""
if ! command -v perf >/dev/null || ! perf version >/dev/null 2>&1; then
	skip perf "perf not installed (Debian package linux-perf)"
elif [[ -x $out/pub_tool ]]; then
	paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo "?")
	if perf record -e cpu-clock -o "$out/probe.data" -- true >"$out/probe.log" 2>&1; then
		perf_ok=1
	else
		skip perf "perf events not permitted (perf_event_paranoid=$paranoid): $(tail -n 1 "$out/probe.log")"
	fi
fi
if [[ -n $perf_ok ]]; then
	# jitdump
	d=$out/jitdump
	mkdir -p "$d"
	log=$d/log
	(cd "$d" && JITDUMPDIR=$d timeout 600 perf record -k 1 -e cpu-clock -g -o jd.data -- \
		"$out/pub_tool" 8 2 1 &&
		timeout 300 perf inject --jit -i jd.data -o jd.jit.data &&
		perf report -i jd.jit.data --stdio --no-children --sort sym) >"$log" 2>&1 </dev/null
	n=$(grep -cE '\[\.\] jit_f[0-9]+' "$log")
	if ((n >= 6)); then ok "jitdump: perf report names $n JIT symbol lines"; else bad "jitdump: perf report names the JIT functions ($n lines)" "$log"; fi
	so=$(ls "$d"/jitted-*.so 2>/dev/null | head -n 1)
	if [[ -n $so ]]; then
		text=$(readelf -SW "$so" | awk '{for (i = 1; i < NF; i++) if ($i == ".text") print $(i + 2)}')
		fde=$(readelf --debug-dump=frames "$so" | sed -nE 's/.*FDE .* pc=0*([0-9a-f]+)\.\..*/\1/p' | head -n 1)
		if [[ -n $text && -n $fde && $((16#$text)) == $((16#$fde)) ]]; then
			ok "jitdump: the generated ELF's FDE starts at its .text (0x$fde)"
		else
			bad "jitdump: FDE pc 0x$fde vs .text 0x$text in $so"
		fi
	else
		bad "jitdump: perf inject --jit generated no ELF" "$log"
	fi
	# jitdump with line information: samples fall in each function's spin
	# loop, line 1000 + 10 * i + 1 of chain_a.jit (even i) / chain_b.jit
	for i in 2 5; do
		d=$out/jitdump-lines-${names[$i]}
		mkdir -p "$d"
		log=$d/log
		(cd "$d" && JITDUMPDIR=$d timeout 600 perf record -k 1 -e cpu-clock -g -o jd.data -- \
			"$out/pub_tool" 8 "${forms[$i]}" 1 lines &&
			timeout 300 perf inject --jit -i jd.data -o jd.jit.data &&
			perf report -i jd.jit.data --stdio --no-children --sort sym,srcline -g none) \
			>"$log" 2>&1 </dev/null
		# rows come by overhead: a function's first row is its spin
		# loop (line L + 1); any other row must still be one of its lines
		right=0 wrong=0 fns="" seen=" "
		while read -r f file line; do
			base=$((1000 + 10 * f))
			if [[ $file != "chain_$( ((f % 2)) && echo b || echo a).jit" ]] ||
				((line < base || line > base + 5)); then
				wrong=$((wrong + 1))
				echo "       not a line of jit_f$f: $file:$line"
			elif [[ $seen != *" $f "* ]]; then
				seen+="$f "
				if ((line == base + 1)); then
					right=$((right + 1))
					fns+=" jit_f$f"
				else
					wrong=$((wrong + 1))
					echo "       jit_f$f: most samples at $file:$line, not the spin loop's line $((base + 1))"
				fi
			fi
		done < <(sed -nE 's/.*\[\.\] jit_f([0-9]+) +([^ :]+):([0-9]+).*/\1 \2 \3/p' "$log")
		unlined=$(grep -cE '\[\.\] jit_f[0-9]+ +\?\?' "$log")
		if ((right >= 6 && wrong == 0 && unlined == 0)); then
			ok "jitdump lines ${names[$i]}: perf report srcline right for$fns"
		else
			bad "jitdump lines ${names[$i]}: $right right, $wrong wrong, $unlined rows without a line" "$log"
		fi
	done
	# perf map
	d=$out/perfmap
	mkdir -p "$d"
	log=$d/log
	(cd "$d" && timeout 600 perf record -e cpu-clock -g -o map.data -- "$out/pub_tool" 4 2 1 &&
		perf report -i map.data --stdio --no-children --sort sym) >"$log" 2>&1 </dev/null
	n=$(grep -cE '\[\.\] jit_f[0-9]+' "$log")
	if ((n >= 6)); then ok "perf map: perf report names $n JIT symbol lines"; else bad "perf map: perf report names the JIT functions ($n lines)" "$log"; fi
	rm -f /tmp/perf-*.map.stackwalk-test 2>/dev/null
fi

# ---------------------------------------------------------------- libunwind
if [[ ! -f /usr/include/x86_64-linux-gnu/libunwind.h && ! -f /usr/include/libunwind.h ]]; then
	skip unw "nongnu libunwind headers missing (Debian package libunwind-dev)"
elif build_prog pub_unw "$src/pub_unw.c" -lunwind; then
	log=$out/pub_unw.log
	if timeout 600 "$out/pub_unw" >"$log" 2>&1 </dev/null; then ok "libunwind: $(tail -n 1 "$log")"; else bad "libunwind" "$log"; fi
fi

t_finish
