#!/usr/bin/env bash
# Every fixture layout: capture, wipe, restore --yes --quick-format; then
# sfdisk --dump, blkid -p and dumpe2fs -h identical to before, boot code
# identical, fsck -n clean, and compare says every disk is intact.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
layouts=${*:-gpt-server mbr-logical 4kn gpt-odd hostile-labels whole-disk multi-disk}

for layout in $layouts; do
	lb_workdir
	lb_build_layout "$layout" >/dev/null
	mapfile -t disks <"$LB_WORK/disks"
	for d in "${disks[@]}"; do lb_new_disk_id "$d"; done # no other test's twin
	"$LIFEBOAT" capture --output "$LB_WORK/cap" "${disks[@]/#/--disk=}" >/dev/null 2>&1 ||
		lb_fail "$layout: capture failed"
	lb_oracle "${disks[@]}" >"$LB_WORK/before"
	lb_wipe "${disks[@]}"
	if "$LIFEBOAT" compare "$LB_WORK/cap" >"$LB_WORK/plan" 2>&1; then
		cat "$LB_WORK/plan"
		lb_fail "$layout: compare says intact after the wipe"
	fi
	"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/restore.log" 2>&1 || {
		cat "$LB_WORK/restore.log"
		lb_fail "$layout: restore failed"
	}
	lb_oracle "${disks[@]}" >"$LB_WORK/after"
	[ -z "${LB_DEBUG_ROUNDTRIP:-}" ] || cat "$LB_WORK/restore.log"
	diff -u "$LB_WORK/before" "$LB_WORK/after" || lb_fail "$layout: restored layout differs"
	for dev in "${disks[@]}"; do
		for part in "$dev" "$dev"p*; do
			[ -b "$part" ] || continue
			case $(blkid -p -o value -s TYPE "$part" 2>/dev/null || true) in
			ext2 | ext3 | ext4) fsck.ext4 -fn "$part" >/dev/null 2>&1 || lb_fail "$layout: fsck $part" ;;
			vfat) fsck.vfat -n "$part" >/dev/null 2>&1 || lb_fail "$layout: fsck.vfat $part" ;;
			esac
		done
	done
	"$LIFEBOAT" compare "$LB_WORK/cap" >"$LB_WORK/plan2" 2>&1 || {
		cat "$LB_WORK/plan2"
		lb_fail "$layout: compare after the restore is not all intact"
	}
	echo "ok $layout"
	lb_cleanup
done
