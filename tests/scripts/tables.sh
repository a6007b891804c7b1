#!/usr/bin/env bash
# The compact tables in the local unwinder (src/unwind/tables.c): the same
# walks with the tables on from the first miss (SW_TABLES=1), by default
# (once a module is hot) and off (SW_TABLES=0: every rule from the DWARF
# interpreter), after a rule-cache flush so every step asks one or the
# other: a recursion, qsort's callback in libc, a signal handler (the
# trampoline's 'S' FDE is left to the interpreter: counted), a thread, a
# dlopen'ed module; gcc -O2 and clang -O2 -fomit-frame-pointer.  Then a
# copy of the module with a corrupt .eh_frame (tests/tables/lib.c): its
# table cannot be built (counted as failed), and the walk through its
# functions is the interpreter's, as with the tables off.
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

# the module, and a copy whose header has no search table and whose last
# FDE (lib_first's, never on the stack) runs past the section
gcc -O2 -g -fno-toplevel-reorder -fPIC -shared -o "$out/lib.so" tests/tables/lib.c
cp "$out/lib.so" "$out/corrupt.so"
python3 - "$out/corrupt.so" <<'PY' || t_abort "could not corrupt $out/corrupt.so"
import re, subprocess, struct, sys
path = sys.argv[1]
secs = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
def section(name):
    m = re.search(r"\s" + re.escape(name) + r"\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", secs)
    return int(m.group(2), 16), int(m.group(3), 16)
hdr_off, _ = section(".eh_frame_hdr")
eh_off, eh_size = section(".eh_frame")
syms = subprocess.run(["nm", path], capture_output=True, text=True).stdout
addr = {n: int(a, 16) for a, n in re.findall(r"^([0-9a-f]+) T (lib_\w+)$", syms, re.M)}
fdes = re.findall(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.",
                  subprocess.run(["readelf", "--debug-dump=frames", path], capture_output=True,
                                 text=True).stdout, re.M)
where = {int(pc, 16): int(off, 16) for off, pc in fdes}
first = where[addr["lib_first"]]
if not all(where[addr[n]] < first for n in ("lib_inner", "lib_call")):
    sys.exit("lib_first's FDE is not after lib_inner's and lib_call's")
data = bytearray(open(path, "rb").read())
assert data[hdr_off] == 1, "unexpected .eh_frame_hdr version"
data[hdr_off + 3] = 0xff                                  # table encoding: omitted
struct.pack_into("<I", data, eh_off + first, 0x7ffffff0)  # the FDE's length
open(path, "wb").write(data)
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
		on=$out/$tag.$lib.on off=$out/$tag.$lib.off def=$out/$tag.$lib.default
		# SW_TABLES=1: each module's table at its first miss
		SW_TABLES=1 t_timeout 60 "$prog" "$out/$lib.so" >"$on" 2>&1 || { bad "$v $lib: tables on (exit $?)" "$on"; continue; }
		t_timeout 60 "$prog" "$out/$lib.so" >"$def" 2>&1 || { bad "$v $lib: default (exit $?)" "$def"; continue; }
		# the default (tables once a module is hot) walks the same
		if diff <(grep -v '^stats' "$on") <(grep -v '^stats' "$def") >"$logs/diff_$tag.$lib.default.log"; then
			ok
		else
			bad "$v $lib: default walks differ from SW_TABLES=1's" "$logs/diff_$tag.$lib.default.log"
		fi
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
