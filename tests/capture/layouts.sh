#!/usr/bin/env bash
# Capture every fixture layout and check the manifest against sfdisk --json,
# blkid -p and dumpe2fs -h; check show, show --json and verify on it, and the
# boot-code artifacts byte for byte.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail

for layout in gpt-server mbr-logical 4kn gpt-odd hostile-labels whole-disk multi-disk; do
	lb_workdir
	lb_build_layout "$layout" >/dev/null
	mapfile -t disks <"$LB_WORK/disks"
	for d in "${disks[@]}"; do lb_new_disk_id "$d"; done # no other test's twin
	args=()
	for d in "${disks[@]}"; do args+=(--disk "$d"); done
	cap=$("$LIFEBOAT" capture --output "$LB_WORK/cap" "${args[@]}") ||
		lb_fail "$layout: capture failed"
	[ "$cap" = "$LB_WORK/cap" ] || lb_fail "$layout: capture printed '$cap'"
	[ "$(stat -c %a "$cap")" = 700 ] || lb_fail "$layout: capture dir is not mode 0700"
	[ "$(stat -c %a "$cap/manifest.xml")" = 600 ] || lb_fail "$layout: manifest is not mode 0600"
	python3 "$LB_TOP/tests/tools/check-manifest.py" "$cap/manifest.xml" "${disks[@]}" ||
		lb_fail "$layout: manifest does not match the oracles"
	"$LIFEBOAT" show "$cap" >"$LB_WORK/show.txt" || lb_fail "$layout: show failed"
	"$LIFEBOAT" show --json "$cap" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
		lb_fail "$layout: show --json is not JSON"
	"$LIFEBOAT" verify "$cap" >/dev/null || lb_fail "$layout: verify failed"
	# boot code areas byte for byte
	i=0
	for d in "${disks[@]}"; do
		f="$cap/disk$i-boot-code.bin"
		if [ -f "$f" ]; then
			cmp -n 440 "$f" "$d" || lb_fail "$layout: disk$i boot code differs"
		elif ! head -c 440 "$d" | cmp -s - <(head -c 440 /dev/zero); then
			lb_fail "$layout: disk$i has boot code but no artifact"
		fi
		i=$((i + 1))
	done
	echo "ok $layout"
	lb_cleanup
done
