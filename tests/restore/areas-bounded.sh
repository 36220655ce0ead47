#!/usr/bin/env bash
# A manifest whose boot-code areas do not fit the recorded geometry is
# refused by every command that loads it, before any write (issue 16,
# finding 2). A GPT disk holding an ext4, intact, with a blank boot-code
# area; its capture is edited (the artifacts are real files with their
# SHA-256, so only their sizes are wrong):
#  - a boot code of 1 MiB (restore wrote it at sector 0 of the intact disk,
#    over its GPT, to finish what it took for an interrupted restore);
#  - a post-MBR gap on the GPT disk.
# show, verify, compare and restore exit 2 naming the element's line; the
# disk's bytes are unchanged.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
trap 'lb_cleanup' EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log

dev=$(fx_attach "$LB_WORK/disk.img" 64M)
printf 'label: gpt\nsize=40MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$dev"
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.ext4 -q "$(fx_part "$dev" 1)"
"$LIFEBOAT" capture --data none --disk "$dev" --output "$LB_WORK/cap" >/dev/null 2>&1 ||
	lb_fail "capture failed"
grep -q '<boot-code ' "$LB_WORK/cap/manifest.xml" && lb_fail "expected no boot code recorded"

failed=0
# edited NAME ELEMENT: $LB_WORK/NAME, the capture with <ELEMENT> of 1 MiB
# (a real file, its SHA-256 right) as the table's first child; every
# command refuses it with exit 2 and the line, and the disk is unchanged
edited() {
	local c=$LB_WORK/$1 cmd rc out
	cp -a "$LB_WORK/cap" "$c"
	head -c 1M /dev/urandom >"$c/evil.bin"
	python3 - "$c/manifest.xml" "$2" "$c/evil.bin" <<'PY'
import hashlib, os, re, sys
manifest, elem, path = sys.argv[1:]
sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
text = open(manifest).read()
new, n = re.subn(r'(<table [^>]*>\n)',
                 r'\1      <%s file="evil.bin" size="%d" sha256="%s"/>\n'
                 % (elem, os.path.getsize(path), sha), text, count=1)
assert n == 1, "no table"
open(manifest, "w").write(new)
PY
	line=$(grep -n "<$2 file=\"evil.bin\"" "$c/manifest.xml" | cut -d: -f1)
	lb_guard "$LB_WORK/cap"
	lb_disk_sums "$dev" >"$LB_WORK/sums.before"
	for cmd in show verify compare "restore --yes"; do
		rc=0
		# shellcheck disable=SC2086 # the command and its option
		out=$("$LIFEBOAT" $cmd "$c" 2>&1) || rc=$?
		if [ "$rc" -ne 2 ] || ! grep -q "manifest.xml:$line: disk disk0: " <<<"$out"; then
			printf '%s\n' "$out"
			echo "FAIL: $1: $cmd exit $rc, expected 2 and the line $line" >&2
			failed=$((failed + 1))
		fi
	done
	if ! lb_disk_sums "$dev" | cmp -s "$LB_WORK/sums.before" -; then
		echo "FAIL: $1: the disk was written" >&2
		failed=$((failed + 1))
		return 0
	fi
	echo "ok $1: show, verify, compare and restore refuse it (exit 2, line $line), nothing written"
}

edited "a 1 MiB boot code" boot-code
edited "a post-MBR gap on a GPT disk" mbr-gap
[ "$failed" -eq 0 ] || lb_fail "$failed failure(s)"
