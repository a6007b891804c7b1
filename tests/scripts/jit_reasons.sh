#!/usr/bin/env bash
# Every SW_EINVAL the JIT code returns comes with a reason
# (sw_jit_last_error, src/jit/error.h): in src/jit/**/*.c the constant may
# appear only as the code argument of a reason-setting call --
# sw_jit_fail(SW_EINVAL, "...") or the CFI builder's bfail(s, SW_EINVAL,
# "...") -- or inside a comment.  A bare `return SW_EINVAL;`, `rc =
# SW_EINVAL;` or `x ? SW_EINVAL : 0` fails the check, with its line.
#
#   tests/scripts/jit_reasons.sh BUILD_DIR MODE     (both unused: source only)
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init jit_reasons "$@"

# bare_einval FILE: print each line of FILE with an SW_EINVAL outside a
# reason-setting call.  /* */ (also multi-line) and // comments are
# dropped first.
bare_einval() {
	awk '
		{
			line = $0; out = ""
			while (length(line)) {
				if (inc) {
					e = index(line, "*/")
					if (!e) { line = ""; break }
					line = substr(line, e + 2); inc = 0
				} else {
					s = index(line, "/*"); d = index(line, "//")
					if (d && (!s || d < s)) { out = out substr(line, 1, d - 1); line = ""; break }
					if (!s) { out = out line; line = ""; break }
					out = out substr(line, 1, s - 1); line = substr(line, s + 2); inc = 1
				}
			}
			if (out ~ /SW_EINVAL/) {
				rest = out
				gsub(/sw_jit_fail\(SW_EINVAL, *"/, "", rest)
				gsub(/bfail\([a-z_]+, SW_EINVAL, *"/, "", rest)
				if (rest ~ /SW_EINVAL/)
					printf "%s:%d: %s\n", FILENAME, FNR, $0
			}
		}' "$1"
}

pass=0
fail=0
while IFS= read -r f; do
	bad=$(bare_einval "$f")
	if [[ -n $bad ]]; then
		bad "SW_EINVAL without a reason:"
		echo "$bad"
	else
		ok
	fi
done < <(find src/jit -name '*.c' | LC_ALL=C sort)
# the check itself must catch the forms it forbids
probe=$(mktemp)
printf '/* SW_EINVAL in a comment */\nint f(int x)\n{\n\tif (x)\n\t\treturn SW_EINVAL;\n\treturn sw_jit_fail(SW_EINVAL, "x");\n}\n' >"$probe"
if [[ $(bare_einval "$probe" | wc -l) -eq 1 ]]; then
	ok
else
	bad "the probe's bare return SW_EINVAL was not caught"
fi
rm -f "$probe"
echo "jit_reasons: src/jit files clean of bare SW_EINVAL, plus the probe: $pass checks"
t_finish
