# shellcheck shell=bash disable=SC2154  # $py, $logs: the sourcing script's
# tests/remote/lib.sh: what remote_stack.sh and remote_core.sh share.
# Sourced after tests/lib.sh's t_init; needs $py (python3) and $logs.

# compare NAME ARGS...: tests/remote/compare.py on $logs/NAME.json (the
# tool's --json) against the references ARGS name; one test per RESULT
# line it prints ("RESULT REF ok|differ SUMMARY")
compare() {
	local name=$1 ref verdict summary
	shift
	"$py" tests/remote/compare.py --sw "$logs/$name.json" "$@" >"$logs/$name.cmp" 2>&1 || true
	grep -q '^RESULT ' "$logs/$name.cmp" || { bad "$name: compare.py" "$logs/$name.cmp"; return; }
	while read -r _ ref verdict summary; do
		if [[ $verdict == ok ]]; then
			ok "$name: every thread's PCs equal $ref's ($summary)"
		else
			bad "$name: PCs differ from $ref's ($summary)" "$logs/$name.cmp"
		fi
	done < <(grep '^RESULT ' "$logs/$name.cmp")
}
