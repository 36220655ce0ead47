#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every test: the cmocka unit tests, then each tests/<area>/<case>.sh.
# A script exits 0 (pass), 77 (skip, e.g. not root) or anything else (fail).
# Ends with one line: N passed, N failed, N skipped.
#   tests/run.sh [PATTERN...]   runs only the tests whose path contains one
# Sanitized (make check): with LB_SAN_DIR (build/asan) the unit tests are
# that directory's tests/test_*, and the areas in LB_SAN_AREAS ("unit/
# capture/ ...") run its lifeboat and lb-wrap; every AddressSanitizer or
# UBSan report of any process of such a test goes to a file of its own, and
# a report fails the test whatever its exit code.
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
san_dir=${LB_SAN_DIR:-}
if [ -n "$san_dir" ]; then
	san_dir=$(cd "$san_dir" && pwd) || exit 2
	[ -x "$san_dir/lifeboat" ] || { echo "run.sh: no $san_dir/lifeboat (make asan-build)"; exit 2; }
fi
# sanitized NAME: whether test NAME (unit/test_x, capture/y.sh) runs sanitized
sanitized() {
	local a
	[ -n "$san_dir" ] || return 1
	for a in ${LB_SAN_AREAS:-}; do
		case $1 in "$a"*) return 0 ;; esac
	done
	return 1
}

# run_one NAME LIMIT COMMAND...: LIMIT seconds at most
run_one() {
	local name=$1 limit=$2; shift 2
	local log="$log_dir/$(echo "$name" | tr '/' '_').log" rc start end
	local san="$log_dir/san.$(echo "$name" | tr '/' '_')" tag=""
	start=$(date +%s)
	if sanitized "$name"; then
		tag=" (asan)"
		mkdir -p "$san"
		LB_TOP="$top" LIFEBOAT="$san_dir/lifeboat" LB_WRAP="$san_dir/tests/lb-wrap" \
			ASAN_OPTIONS="log_path=$san/asan:abort_on_error=0:${ASAN_OPTIONS:-}" \
			UBSAN_OPTIONS="log_path=$san/ubsan:print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
			timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
		rc=$?
	else
		LB_TOP="$top" timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
		rc=$?
	fi
	end=$(date +%s)
	# a sanitizer's report fails the test, even one that expected an exit 1
	if [ -n "$tag" ] && [ -n "$(ls -A "$san")" ]; then
		echo "sanitizer reports:" >>"$log"
		cat "$san"/* >>"$log"
		rc=99
	fi
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-45s %3ss\n' "$name$tag" $((end - start)) ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-45s %s\n' "$name$tag" "$(grep -m1 SKIP "$log" | sed 's/^SKIP: *//')" ;;
	*) fail=$((fail + 1)); failed+=("$name")
	   printf 'FAIL  %-45s (exit %s%s)\n' "$name$tag" "$rc" "$([ "$rc" -ne 99 ] || echo ': a sanitizer report')"
	   sed 's/^/      | /' "$log" | tail -n 60 ;;
	esac
}

unit_dir=build/tests
! sanitized unit/ || unit_dir=$san_dir/tests
for t in "$unit_dir"/test_*; do
	[ -x "$t" ] || continue
	case $t in *.d) continue ;; esac
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
