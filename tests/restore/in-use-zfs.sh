#!/usr/bin/env bash
# A disk whose partition is a member of an imported ZFS pool is in use,
# though nothing of it is in the mount table by device: ZFS mounts show
# "pool/dataset" and an anonymous 0:N. The member is known by blkid
# (TYPE=zfs_member, LABEL = the pool's name), the pool as imported by its
# directory in /proc/spl/kstat/zfs/ or by a zfs mount of one of its datasets.
# No ZFS here (Debian's zfsutils-linux is in contrib and needs its module):
# the member's label is crafted (tests/tools/zfs-label.py, what blkid reads),
# the kstat tree is a directory of the test's (LIFEBOAT_ZFS_KSTAT) and the
# zfs mount a line added to a copy of the mount table (LIFEBOAT_MOUNTINFO).
# compare excludes the disk as in use and restore refuses it, writing
# nothing, only while the pool is imported; capture takes no image of the
# member then, and refuses --data image (issue 16, finding 3).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
export LIFEBOAT_LOG_DIR=$LB_WORK/log

dev=$(fx_attach "$LB_WORK/disk.img" 192M)
printf 'label: gpt\nstart=2048, size=100MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$dev"
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.ext4 -q "${dev}p1"
"$LIFEBOAT" capture --data none --output "$LB_WORK/cap" --disk "$dev" >/dev/null 2>&1 ||
	lb_fail "capture failed"

# the partition becomes a member of the pool "tank"
python3 "$LB_TOP/tests/tools/zfs-label.py" "${dev}p1" tank
blockdev --flushbufs "${dev}p1"
[ "$(blkid -p -o value -s TYPE "${dev}p1")" = zfs_member ] &&
	[ "$(blkid -p -o value -s LABEL "${dev}p1")" = tank ] ||
	lb_fail "blkid does not take ${dev}p1 for a member of tank: $(blkid -p "${dev}p1")"
kstat=$LB_WORK/kstat
mkdir "$kstat"
export LIFEBOAT_ZFS_KSTAT=$kstat

# capture: not imported, the member is imaged like any volume; imported,
# not (auto), and --data image is refused naming the pool
"$LIFEBOAT" capture --data image --output "$LB_WORK/cap-free" --disk "$dev" >/dev/null 2>&1 ||
	lb_fail "capture --data image of a member of a pool not imported failed"
grep -q 'data file="disk0p1.data"' "$LB_WORK/cap-free/manifest.xml" ||
	lb_fail "the member of a pool not imported was not imaged"
mkdir "$kstat/tank"
rc=0
"$LIFEBOAT" capture --data auto --output "$LB_WORK/cap-auto" --disk "$dev" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && grep -q 'disk0p1: a member of the ZFS pool tank, imported here: .*no data' "$LB_WORK/out" &&
	! grep -q 'disk0p1.data' "$LB_WORK/cap-auto/manifest.xml" || {
	cat "$LB_WORK/out"
	lb_fail "capture --data auto: exit $rc, expected 0 and no image of the imported pool's member"
}
rc=0
"$LIFEBOAT" capture --data image --output "$LB_WORK/cap-image" --disk "$dev" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "disk0p1 is a member of the ZFS pool tank, imported here" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "capture --data image: exit $rc, expected 2 (a method that cannot be used) naming the imported pool"
}
echo "ok capture: the member of the imported pool is not imaged"

# the disk needs recreating now (the kernel keeps the partition)
sfdisk -q --no-reread --no-tell-kernel --delete "$dev" 1
sums=$(lb_disk_sums "$dev")
in_use="disk0 $dev -> $dev .*: excluded \(in use.*${dev#/dev/}p1 is a member of the ZFS pool tank, imported here"

# (1) imported by its kstat directory
out=$("$LIFEBOAT" compare "$LB_WORK/cap" 2>&1) || true
grep -Eq "$in_use" <<<"$out" || {
	printf '%s\n' "$out"
	lb_fail "compare with tank imported (kstat): the disk is not excluded as in use"
}
lb_guard "$LB_WORK/cap"
rc=0
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -Eq "disk0 -> $dev needs recreating: .*is a member of the ZFS pool tank" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "restore exit $rc, expected 1 and the disk refused as in use by tank"
}
[ "$(lb_disk_sums "$dev")" = "$sums" ] || lb_fail "restore wrote the disk of the imported pool"
echo "ok kstat: compare excludes the disk, restore refuses it and writes nothing"

# (2) imported as far as a mount of one of its datasets says
rmdir "$kstat/tank"
cp /proc/self/mountinfo "$LB_WORK/mountinfo"
echo "9999 1 0:4242 / $LB_WORK/tank/home rw,relatime shared:999 - zfs tank/home rw,xattr,noacl" \
	>>"$LB_WORK/mountinfo"
out=$(LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo "$LIFEBOAT" compare "$LB_WORK/cap" 2>&1) || true
grep -Eq "$in_use" <<<"$out" || {
	printf '%s\n' "$out"
	lb_fail "compare with tank/home mounted: the disk is not excluded as in use"
}
echo "ok mount: a mounted dataset of tank makes its member's disk in use"

# (3) not imported: the same disk is the restore's to recreate
out=$("$LIFEBOAT" compare "$LB_WORK/cap" 2>&1) || true
! grep -q "in use" <<<"$out" && grep -Eq "disk0 $dev -> $dev" <<<"$out" || {
	printf '%s\n' "$out"
	lb_fail "compare with no pool imported: the disk is still taken for in use"
}
echo "ok exported: the member of a pool not imported is not in use"
