#!/usr/bin/env bash
# A disk holding a mounted btrfs is in use, though the mount's device number
# is an anonymous 0:N and not its partition's: the mount is matched to the
# disk by its source, and a btrfs over two disks holds both (its devices as
# /sys/fs/btrfs/<uuid>/devices lists them, whichever one the mount names).
# compare says both disks are excluded as in use, restore refuses with exit 1
# naming the mount, and neither disk is written (issue 16, finding 3; the
# same as tests/restore/safety.sh (b) for an ext4).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
command -v mkfs.btrfs >/dev/null || {
	echo "SKIP: $(lb_name): needs mkfs.btrfs"
	exit 77
}

mnt=
cleanup() {
	[ -z "$mnt" ] || umount "$mnt" 2>/dev/null || true
	lb_cleanup
}
lb_workdir
trap cleanup EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log
lb_build_layout multi-disk >/dev/null
mapfile -t disks <"$LB_WORK/disks"
for d in "${disks[@]}"; do lb_new_disk_id "$d"; done
a=${disks[0]} b=${disks[1]}
cap=$LB_WORK/cap
"$LIFEBOAT" capture --data none --output "$cap" --disk "$a" --disk "$b" >/dev/null 2>&1 ||
	lb_fail "capture failed"

# one btrfs over a's p1 and b's p1, mounted by a's: read-only, so that the
# filesystem writes nothing while the disks are compared
mkfs.btrfs -q -f --mixed -d single -m single "${a}p1" "${b}p1" >/dev/null 2>&1 ||
	lb_fail "mkfs.btrfs failed"
mnt=$LB_WORK/mnt
mkdir "$mnt"
mount -t btrfs -o ro,device="${b}p1" "${a}p1" "$mnt" || lb_fail "cannot mount the btrfs"
grep -q " $mnt .* - btrfs " /proc/self/mountinfo || lb_fail "no btrfs mount on $mnt"
awk -v m="$mnt" '$5 == m { split($3, n, ":"); exit n[1] != 0 }' /proc/self/mountinfo ||
	lb_fail "the btrfs mount has a block device number: nothing to show here"
# both disks need recreating now (the kernel keeps the partitions)
sfdisk -q --no-reread --no-tell-kernel --delete "$a" 1
sfdisk -q --no-reread --no-tell-kernel --delete "$b" 1
lb_disk_sums "$a" "$b" >"$LB_WORK/sums"

rc=0
"$LIFEBOAT" compare "$cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] &&
	grep -Eq "disk0 $a -> $a .*: excluded \(in use.*${a#/dev/}p1 is mounted on $mnt" "$LB_WORK/out" &&
	grep -Eq "disk1 $b -> $b .*: excluded \(in use.*${b#/dev/}p1 is mounted on $mnt" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "compare exit $rc, expected 1 and both disks excluded as in use by the btrfs on $mnt"
}
echo "ok compare: both disks of the mounted btrfs are in use"

lb_guard "$cap"
rc=0
"$LIFEBOAT" restore --yes --quick-format "$cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] &&
	grep -Eq "disk0 -> $a needs recreating: .*${a#/dev/}p1 is mounted on $mnt" "$LB_WORK/out" &&
	grep -Eq "disk1 -> $b needs recreating: .*${b#/dev/}p1 is mounted on $mnt" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "restore exit $rc, expected 1 and both disks refused as in use"
}
lb_disk_sums "$a" "$b" | diff -u "$LB_WORK/sums" - || lb_fail "restore wrote a disk of the mounted btrfs"
echo "ok restore: refused, neither disk written"
