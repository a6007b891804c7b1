#!/usr/bin/env bash
# `stackwalk symbolize` (tools/symbolize.c) against binutils addr2line, on
# a C++ program and library built here with g++ -O2 -g (tests/symbolize/:
# templates, std::for_each and a lambda inlined): for addresses in every
# function (its start, a third and two thirds in), the outputs of the same
# options must be the same text, " (discriminator N)" left out (stackwalk
# does not print discriminators):
#   -f -i -C      -a -p      -a -p -f -i (raw names)      -f -s
#   -j .text      (offsets in the section)
#   +0xOFF and PATH+0xOFF  (file offsets, against addr2line on the address)
#   stdin         (several addresses a line), and as a coprocess: each
#                 answer arrives before the next address is sent
#   --json        every line a JSON object (python3 -m json.tool), the
#                 schema's keys, frames as -f -i -C gives them
#   errors        a missing file: exit 1, its name on stderr
#   function_offset  (--json) from the function's symbol, also for C
#                 functions gcc splits into a hot part and "name.cold"
#                 below it (tests/symbolize/cold.c), whose DWARF ranges
#                 start with the hot part: perf's and gdb's name+0xOFF
#
#   tests/scripts/symbolize_tool.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --fresh symbolize_tool "$@"
t_need g++ addr2line nm readelf python3
tool=$build/stackwalk
[[ -x $tool ]] || t_abort "no $tool (make tools)"
t_sanitizer_env

src=tests/symbolize
flags=(-O2 -g -Wall -Wextra -Iinclude -I"$src" "${SAN_UB[@]}")
libs=(-L"$build" -lstackwalk_symbolize -lstackwalk -Wl,-rpath,"$build")
g++ "${flags[@]}" -fPIC -shared "$src/crash_lib.cc" "${libs[@]}" -o "$out/libcrash.so" ||
	t_abort "cannot build libcrash.so"
g++ "${flags[@]}" "$src/crash_main.cc" "$src/crash_lib.cc" "${libs[@]}" -o "$out/prog" ||
	t_abort "cannot build prog"
# C functions split into a hot part and "name.cold" below it (tests/symbolize/cold.c)
gcc -O2 -g -Wall -Wextra "$src/cold.c" -o "$out/cold" || t_abort "cannot build cold"

# addrs FILE: for each sized function symbol: start, +size/3, +2*size/3
addrs() {
	nm --defined-only -S "$1" | python3 -c '
import sys
out = set()
for l in sys.stdin:
    w = l.split()
    if len(w) == 4 and w[2] in "tTW" and int(w[1], 16) > 0:
        s, n = int(w[0], 16), int(w[1], 16)
        out.update((s, s + n // 3, s + 2 * n // 3))
print("\n".join("%x" % a for a in sorted(out)))'
}

# a2l FILE OPTION... -- ADDRESS...: addr2line, one process per address.
# binutils caches a function's name in its first lookup: once it has
# named the start of main.cold "main.cold", later addresses of main.cold
# in the same process come out as "main" (bfd's is_linkage latch), so a
# batch's answers depend on their order.  One address per process gives
# the answer that does not.
a2l() {
	local file=$1 opts=() a
	shift
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	for a in "$@"; do addr2line -e "$file" "${opts[@]}" "$a"; done
}

# same NAME: $logs/NAME.sw and $logs/NAME.a2l are equal
same() {
	local name=$1
	sed -i 's/ (discriminator [0-9]*)//' "$logs/$name.a2l"
	if [[ -s $logs/$name.a2l ]] && cmp -s "$logs/$name.a2l" "$logs/$name.sw"; then
		ok "$name ($(wc -l <"$logs/$name.a2l") lines)"
	else
		bad "$name: differs from addr2line"
		diff "$logs/$name.a2l" "$logs/$name.sw" | head -n 20 | sed 's/^/       /' || true
	fi
}

for f in prog libcrash.so cold; do
	file=$out/$f
	mapfile -t A < <(addrs "$file")
	((${#A[@]} > 10)) || t_abort "too few functions in $f"
	for opts in "-f -i -C" "-a -p" "-a -p -f -i" "-f -s" "-a -f -i -C -p -s"; do
		name="$f ${opts// /}"
		# shellcheck disable=SC2086  # the options are words
		a2l "$file" $opts -- "${A[@]}" >"$logs/$name.a2l"
		# shellcheck disable=SC2086
		t_timeout 120 "$tool" symbolize -e "$file" $opts "${A[@]}" >"$logs/$name.sw" 2>"$logs/$name.err" || true
		same "$name"
	done

	# -j .text: offsets in the section
	text=$(readelf -SW "$file" | awk '$2 == ".text" { print $4 }')
	mapfile -t J < <(for a in "${A[@]}"; do
		v=$((0x$a - 0x$text)); ((v < 0)) || printf '%x\n' "$v"; done)
	a2l "$file" -f -i -C -j .text -- "${J[@]}" >"$logs/$f -j.a2l"
	t_timeout 120 "$tool" symbolize -e "$file" -f -i -C -j .text "${J[@]}" >"$logs/$f -j.sw" 2>&1 || true
	same "$f -j"

	# file offsets: PT_LOAD maps them to the addresses
	mapfile -t O < <(readelf -lW "$file" | awk '$1 == "LOAD" { print $2, $3, $5 }' |
		python3 -c '
import sys
loads = [tuple(int(x, 16) for x in l.split()) for l in sys.stdin]
for a in sys.argv[1:]:
    a = int(a, 16)
    for off, vaddr, filesz in loads:
        if vaddr <= a < vaddr + filesz:
            print("%x %x" % (a, a - vaddr + off)); break
' "${A[@]}")
	a2l "$file" -f -i -C -- "${O[@]%% *}" >"$logs/$f +off.a2l"
	cp "$logs/$f +off.a2l" "$logs/$f path+off.a2l"
	t_timeout 120 "$tool" symbolize -e "$file" -f -i -C $(printf '+0x%s ' "${O[@]##* }") >"$logs/$f +off.sw" 2>&1 || true
	same "$f +off"
	t_timeout 120 "$tool" symbolize -f -i -C $(printf "$file+0x%s " "${O[@]##* }") >"$logs/$f path+off.sw" 2>&1 || true
	same "$f path+off"

	# stdin, three addresses a line
	printf '%s %s 0x%s\n' "${A[@]}" | sed 's/  *$//' >"$logs/$f.stdin"
	a2l "$file" -f -i -C -- "${A[@]}" >"$logs/$f stdin.a2l"
	t_timeout 120 "$tool" symbolize -e "$file" -f -i -C <"$logs/$f.stdin" >"$logs/$f stdin.sw" 2>&1 || true
	same "$f stdin"

	# --json
	t_timeout 120 "$tool" symbolize -e "$file" --json "${A[@]}" >"$logs/$f.json" 2>&1 || true
	if python3 - "$logs/$f.json" "$logs/$f -f-i-C.a2l" ${#A[@]} <<'PY'
import json, subprocess, sys
lines = open(sys.argv[1]).read().splitlines()
want = int(sys.argv[3])
assert len(lines) == want, f"{len(lines)} lines for {want} addresses"
text = []
for l in lines:
    subprocess.run([sys.executable, "-m", "json.tool"], input=l, text=True, check=True,
                   stdout=subprocess.DEVNULL)
    o = json.loads(l)
    assert set(o) == {"address", "module", "frames"}, o.keys()
    assert set(o["module"]) == {"path", "debug_path", "build_id", "offset"}, o["module"]
    keys = {"function", "name", "file", "line", "column", "function_offset", "inlined", "source"}
    for i, f in enumerate(o["frames"]):
        assert set(f) == keys, f.keys()
        assert f["source"] in ("dwarf", "symtab", "jit")
        assert f["inlined"] == (i < len(o["frames"]) - 1), (i, f)
    if not o["frames"]:
        text += ["??", "??:0"]
    for f in o["frames"]:
        text.append(f["name"] or "??")
        text.append("%s:%s" % (f["file"] or "??", f["line"] or "?"))
a2l = [l.rstrip("\n") for l in open(sys.argv[2])]
if text != a2l:
    import difflib
    print("\n".join(list(difflib.unified_diff(a2l, text, "addr2line", "json", lineterm=""))[:20]))
    sys.exit(1)
PY
	then ok "$f --json (${#A[@]} objects)"; else bad "$f --json" "$logs/$f.json"; fi

	# function_offset: the outermost frame's offset is from the function's
	# entry, its symbol (perf's and gdb's "main+0x1b"), not from the lowest
	# of its ranges: gcc's hot/cold split puts "main.cold" below "main"
	nm --defined-only -S "$file" >"$logs/$f.nm"
	if python3 - "$logs/$f.json" "$logs/$f.nm" >"$logs/$f offsets.log" 2>&1 <<'PY'
import json, sys
syms = []
for l in open(sys.argv[2]):
    w = l.split()
    if len(w) == 4 and w[2] in "tTW" and int(w[1], 16) > 0:
        syms.append((int(w[0], 16), int(w[1], 16), w[3]))
bad = checked = 0
for l in open(sys.argv[1]):
    o = json.loads(l)
    a = int(o["address"], 16)
    if not o["frames"]:
        continue
    f = o["frames"][-1]
    for s, n, name in syms:
        fn = f["function"] or ""
        if s <= a < s + n and (name == fn or name.startswith(fn + ".")):
            checked += 1
            if f["function_offset"] != a - s:
                bad += 1
                print("0x%x %s: function_offset %s, the symbol says %d" % (a, name, f["function_offset"], a - s))
print("%d offsets checked, %d wrong" % (checked, bad))
sys.exit(1 if bad or checked < 10 else 0)
PY
	then ok "$f function_offset ($(tail -n 1 "$logs/$f offsets.log"))"; else bad "$f function_offset" "$logs/$f offsets.log"; fi
done

# as a coprocess: each answer (-a -p without -i: one line) comes before the
# next question
file=$out/prog
mapfile -t A < <(addrs "$file")
coproc SYM { t_timeout 120 "$tool" symbolize -e "$file" -a -p -f -C; }
: >"$logs/coproc.sw"
for a in "${A[@]:0:20}"; do
	echo "$a" >&"${SYM[1]}"
	IFS= read -r -t 30 reply <&"${SYM[0]}" || { reply="(no answer)"; }
	echo "$reply" >>"$logs/coproc.sw"
done
exec {SYM[1]}>&-
wait "$SYM_PID" || true
a2l "$file" -a -p -f -C -- "${A[@]:0:20}" >"$logs/coproc.a2l"
same coproc

# a file that cannot be read
rc=0
"$tool" symbolize -e "$out/no-such-file" 0x1000 >"$logs/missing.out" 2>"$logs/missing.err" || rc=$?
if ((rc == 1)) && grep -q "no-such-file" "$logs/missing.err"; then ok "missing file: exit 1, named"
else bad "missing file: exit $rc" "$logs/missing.err"; fi

t_finish
