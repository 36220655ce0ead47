#!/usr/bin/env bash
# Every fixtures/manifests/bad-*.xml is refused by each subcommand that loads
# a manifest (show, verify, compare, restore --dry-run), with exit status 2
# and a message naming the file; the semantic ones (issue 16) with the line
# of the element at fault. Planning only: LIFEBOAT_MACHINE stands in for this
# machine, so nothing is probed or written.
. "$(dirname "$0")/../lib.sh"
set -uo pipefail
export LIFEBOAT_MACHINE=$LB_TOP/fixtures/plans/intact/machine.xml
fails=0
n=0
for f in "$LB_TOP"/fixtures/manifests/bad-*.xml; do
	for cmd in show verify compare "restore --dry-run"; do
		# shellcheck disable=SC2086  # cmd is a subcommand and its option
		err=$("$LIFEBOAT" $cmd "$f" 2>&1 >/dev/null)
		rc=$?
		n=$((n + 1))
		if [ "$rc" != 2 ] || [[ "$err" != *"$f"* ]]; then
			echo "FAIL: $cmd $(basename "$f"): exit $rc: $err" >&2
			fails=$((fails + 1))
		fi
	done
done
# the semantic checks name the element's line
for f in partition-overlap:12 mbr-five-primaries:13 duplicate-volume:13 disk-size-zero:7 \
	partitions-without-table:8 gpt-entries-huge:8 disk-size-overflow:7 ext-flex-shift:10 \
	ext-encoding:10; do
	file=$LB_TOP/fixtures/manifests/bad-${f%:*}.xml
	err=$("$LIFEBOAT" verify "$file" 2>&1 >/dev/null)
	if [[ "$err" != *"$file:${f#*:}: "* ]]; then
		echo "FAIL: verify bad-${f%:*}.xml: not at line ${f#*:}: $err" >&2
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ] || lb_fail "$fails of $n refusals wrong"
echo "$n refusals, each exit 2 naming the file"
