#!/usr/bin/env bash
# Golden plans without devices: for each case in fixtures/plans/, compare
# (human and --json) with LIFEBOAT_MACHINE standing in for this machine must
# print exactly expected.txt / expected.json and exit with expected.rc, and
# restore --dry-run must print the same plan and steps as compare. The
# checkout's own path (in messages that name a capture's file) reads @TOP@.
#   golden.sh --update   rewrites the expected files (check them by eye)
. "$(dirname "$0")/../lib.sh"
set -uo pipefail
update=${1:-}
fails=0
for dir in "$LB_TOP"/fixtures/plans/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	mapfile -t args <"$dir/args"
	txt=$(LIFEBOAT_MACHINE="$dir/machine.xml" "$LIFEBOAT" compare "${args[@]}" "$dir/capture" 2>&1)
	rc=$?
	json=$(LIFEBOAT_MACHINE="$dir/machine.xml" "$LIFEBOAT" compare --json "${args[@]}" "$dir/capture" 2>&1)
	jrc=$?
	txt=${txt//"$LB_TOP"/@TOP@}
	json=${json//"$LB_TOP"/@TOP@}
	if [ "$update" = --update ]; then
		printf '%s\n' "$txt" >"$dir/expected.txt"
		printf '%s\n' "$json" >"$dir/expected.json"
		echo "$rc" >"$dir/expected.rc"
		continue
	fi
	if ! diff -u "$dir/expected.txt" <(printf '%s\n' "$txt"); then
		echo "FAIL: $name: compare output differs" >&2
		fails=$((fails + 1))
	fi
	if ! diff -u "$dir/expected.json" <(printf '%s\n' "$json"); then
		echo "FAIL: $name: compare --json output differs" >&2
		fails=$((fails + 1))
	fi
	# restore --dry-run prints the very same plan and steps (one printer)
	if ! diff -u <(LIFEBOAT_MACHINE="$dir/machine.xml" "$LIFEBOAT" compare "${args[@]}" "$dir/capture" 2>/dev/null) \
		<(LIFEBOAT_MACHINE="$dir/machine.xml" "$LIFEBOAT" restore --dry-run "${args[@]}" "$dir/capture" 2>/dev/null); then
		echo "FAIL: $name: restore --dry-run prints another plan than compare" >&2
		fails=$((fails + 1))
	fi
	if [ "$rc" != "$(cat "$dir/expected.rc")" ] || [ "$jrc" != "$rc" ]; then
		echo "FAIL: $name: exit $rc (json $jrc), expected $(cat "$dir/expected.rc")" >&2
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ] || lb_fail "$fails golden plan mismatches"
echo "ok: golden plans"
