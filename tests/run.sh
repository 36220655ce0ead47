#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every test: the cmocka unit tests, then each tests/<area>/<case>.sh.
# A script exits 0 (pass), 77 (skip, e.g. not root) or anything else (fail).
# Ends with one line: N passed, N failed, N skipped.
#   tests/run.sh [PATTERN...]   runs only the tests whose path contains one
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
patterns=("$@")
wanted() {
	local p
	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do
		case $1 in *"$p"*) return 0 ;; esac
	done
	return 1
}
pass=0 fail=0 skip=0 failed=()
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

# run_one NAME LIMIT COMMAND...: LIMIT seconds at most
run_one() {
	local name=$1 limit=$2; shift 2
	local log="$log_dir/$(echo "$name" | tr '/' '_').log" rc start end
	start=$(date +%s)
	LB_TOP="$top" timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-45s %3ss\n' "$name" $((end - start)) ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-45s %s\n' "$name" "$(grep -m1 SKIP "$log" | sed 's/^SKIP: *//')" ;;
	*) fail=$((fail + 1)); failed+=("$name")
	   printf 'FAIL  %-45s (exit %s)\n' "$name" "$rc"
	   sed 's/^/      | /' "$log" | tail -n 40 ;;
	esac
}

for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	wanted "unit/$(basename "$t")" || continue
	run_one "unit/$(basename "$t")" 900 "$t"
done
for t in tests/*/*.sh; do
	[ -f "$t" ] || continue
	# helpers, not tests (tools/fresh-chroot.sh downloads Debian and
	# runs this whole suite in it)
	case $t in tests/tools/*) continue ;; esac
	wanted "${t#tests/}" || continue
	# a script may ask for more than 15 minutes: "# lb-timeout: SECONDS"
	limit=$(sed -n '1,5s/^# lb-timeout: \([0-9][0-9]*\)$/\1/p' "$t")
	run_one "${t#tests/}" "${limit:-900}" bash "$t"
done

[ ${#failed[@]} -eq 0 ] || printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
