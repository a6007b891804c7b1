#!/usr/bin/env bash
# The compact tables in the local unwinder (src/unwind/tables.c): the same
# walks with the tables on and off (SW_TABLES=0: every rule from the DWARF
# interpreter), after a rule-cache flush so every step asks one or the
# other: a recursion, qsort's callback in libc, a signal handler (the
# trampoline's 'S' FDE is left to the interpreter: counted), a thread, a
# dlopen'ed module; gcc -O2 and clang -O2 -fomit-frame-pointer.  Then a
# copy of the module whose .eh_frame_hdr points one FDE at garbage: its
# table cannot be built (counted as failed), and the walk through its
# other functions is the interpreter's, as with the tables off.
#
#   tests/scripts/tables.sh BUILD_DIR MODE
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init --lib tables "$@"
t_sanitizer_env
t_need python3 readelf nm

variants=("gcc -O2" "clang -O2 -fomit-frame-pointer")
[[ -n $t_san ]] && variants=("gcc -O2")
command -v clang >/dev/null || variants=("gcc -O2")

# the module, and a copy with one header entry pointing at garbage
gcc -O2 -g -fPIC -shared -o "$out/lib.so" tests/tables/lib.c
cp "$out/lib.so" "$out/corrupt.so"
python3 - "$out/corrupt.so" <<'PY' || t_abort "could not corrupt $out/corrupt.so"
import re, subprocess, struct, sys
path = sys.argv[1]
secs = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
m = re.search(r"\.eh_frame_hdr\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", secs)
addr, off = int(m.group(1), 16), int(m.group(2), 16)
syms = subprocess.run(["nm", path], capture_output=True, text=True).stdout
first = int(re.search(r"^([0-9a-f]+) T lib_first$", syms, re.M).group(1), 16)
data = bytearray(open(path, "rb").read())
ver, ptr_enc, cnt_enc, tab_enc = data[off:off + 4]
assert (ver, cnt_enc, tab_enc) == (1, 0x03, 0x3b), "unexpected .eh_frame_hdr encodings"
count = struct.unpack_from("<I", data, off + 8)[0]
for i in range(count):
    e = off + 12 + 8 * i
    start = struct.unpack_from("<i", data, e)[0] + addr
    if start == first:
        struct.pack_into("<i", data, e + 4, 0x7ffffff0)   # the FDE: far outside
        open(path, "wb").write(data)
        sys.exit(0)
sys.exit("lib_first has no header entry")
PY

# stats LINE FIELD: the value of FIELD=N in a "stats ..." line
stat() { sed -n "s/.*[[:space:]]$2=\([0-9]*\).*/\1/p" <<<"$1"; }

for v in "${variants[@]}"; do
	read -r -a cc <<<"$v"
	tag=$(tr ' =' '__' <<<"$v")
	prog=$out/walk_$tag
	if ! "${cc[@]}" -g "${SAN_FLAGS[@]}" -Iinclude -o "$prog" tests/tables/walk.c \
		"$build/libstackwalk.a" -ldl -lpthread 2>"$logs/build_$tag.log"; then
		bad "build walk ($v)" "$logs/build_$tag.log"
		continue
	fi
	for lib in lib corrupt; do
		on=$out/$tag.$lib.on off=$out/$tag.$lib.off
		t_timeout 60 "$prog" "$out/$lib.so" >"$on" 2>&1 || { bad "$v $lib: tables on (exit $?)" "$on"; continue; }
		SW_TABLES=0 t_timeout 60 "$prog" "$out/$lib.so" >"$off" 2>&1 ||
			{ bad "$v $lib: tables off (exit $?)" "$off"; continue; }
		son=$(grep '^stats' "$on") soff=$(grep '^stats' "$off")
		# the walks: identical frame for frame, and long enough to mean
		# something (the recursion's 10 frames and the module's)
		if diff <(grep -v '^stats' "$on") <(grep -v '^stats' "$off") >"$logs/diff_$tag.$lib.log" &&
		   grep -q '^walk recursion/backtrace: 1[4-9] frames\|^walk recursion/backtrace: [2-9][0-9] frames' "$on" &&
		   grep -q "^  $lib.so+" "$on"; then
			ok "$v $lib: walks with tables = walks without ($(grep -c '^  ' "$on") frames)"
		else
			bad "$v $lib: walks differ with and without tables" "$logs/diff_$tag.$lib.log"
			sed 's/^/       /' "$on" | head -40
		fi
		# every frame of each walk named a module (none lost)
		if grep -q '^  ?$' "$on"; then
			bad "$v $lib: a frame outside every module" "$on"
		else
			ok
		fi
		if [[ $(stat "$soff" built) == 0 ]]; then ok; else bad "$v $lib: SW_TABLES=0 built tables: $soff"; fi
		dwarf=$(stat "$son" dwarf_steps)
		if ((dwarf > 0)); then ok; else bad "$v $lib: no step left to the interpreter (the signal frame's): $son"; fi
		built=$(stat "$son" built) failed=$(stat "$son" failed)
		if [[ $lib == lib ]]; then
			# the program, libc and the module at least
			if ((built >= 3 && failed == 0)); then ok "$v: $son"; else bad "$v lib: $son"; fi
		else
			if ((built >= 2 && failed == 1)); then ok "$v corrupt: the module's table failed, counted: $son"; else bad "$v corrupt: $son"; fi
		fi
	done
done
t_finish
