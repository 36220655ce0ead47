#!/usr/bin/env bash
# Interrupted midway (killed right after the partition table is written, or
# after the first volume), running the same restore again finishes the job
# and gives the same result as an uninterrupted one: sfdisk --dump, blkid -p,
# dumpe2fs -h, boot code and BIOS boot contents as captured.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail

for point in after-table after-volume; do
	lb_workdir
	lb_build_layout gpt-server >/dev/null
	mapfile -t disks <"$LB_WORK/disks"
	for d in "${disks[@]}"; do lb_new_disk_id "$d"; done # no other test's twin
	"$LIFEBOAT" capture --output "$LB_WORK/cap" "${disks[@]/#/--disk=}" >/dev/null 2>&1 ||
		lb_fail "capture failed"
	lb_oracle "${disks[@]}" >"$LB_WORK/before"
	cmp -s <(head -c 1048576 "${disks[0]}p2") "$LB_WORK/cap/disk0p2-bios-boot.bin" ||
		lb_fail "BIOS boot artifact differs from the partition (test broken)"
	lb_wipe "${disks[@]}" 2>/dev/null
	rc=0
	LIFEBOAT_FAULT=$point "$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" \
		>"$LB_WORK/first.out" 2>&1 || rc=$?
	[ "$rc" = 137 ] || {
		cat "$LB_WORK/first.out"
		lb_fail "$point: the first restore was not killed (exit $rc)"
	}
	"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/second.out" 2>&1 || {
		cat "$LB_WORK/second.out"
		lb_fail "$point: the second restore failed"
	}
	lb_oracle "${disks[@]}" >"$LB_WORK/after"
	diff -u "$LB_WORK/before" "$LB_WORK/after" || lb_fail "$point: the finished restore differs"
	cmp <(head -c 1048576 "${disks[0]}p2") "$LB_WORK/cap/disk0p2-bios-boot.bin" ||
		lb_fail "$point: BIOS boot contents not restored"
	"$LIFEBOAT" compare "$LB_WORK/cap" >/dev/null || lb_fail "$point: compare is not all intact"
	echo "ok: killed $point, finished by running again"
	lb_cleanup
done
