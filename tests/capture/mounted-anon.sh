#!/usr/bin/env bash
# A volume mounted through an anonymous device number is captured as
# mounted: btrfs shows 0:N in the mount table, not its partition's, and so
# may FUSE; the mount is found by its source (and a btrfs over several
# devices by its devices in sysfs). Such a volume mounted read-write is
# archived from its mount point (--data auto), never imaged while it
# changes, and --data image refuses it (exit 2); a btrfs over two partitions
# is archived once; an NTFS mounted by ntfs-3g (fuseblk) is recorded mounted
# and gets no data, as lifeboat cannot make NTFS (issue 16, finding 3).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
command -v mkfs.btrfs >/dev/null || {
	echo "SKIP: $(lb_name): needs mkfs.btrfs"
	exit 77
}
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
trap 'for m in "$LB_WORK"/m*; do umount "$m" 2>/dev/null || true; done; lb_cleanup' EXIT

dev=$(fx_attach "$LB_WORK/disk.img" 448M)
sfdisk -q --no-reread --no-tell-kernel "$dev" <<'T'
label: gpt
size=120MiB
size=110MiB
size=110MiB
size=80MiB
T
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.btrfs -q -f --mixed "${dev}p1" >/dev/null
mkfs.btrfs -q -f --mixed -d single -m single "${dev}p2" "${dev}p3" >/dev/null
mkdir "$LB_WORK/m1" "$LB_WORK/m2" "$LB_WORK/m4"
mount -t btrfs "${dev}p1" "$LB_WORK/m1"
mount -t btrfs -o device="${dev}p3" "${dev}p2" "$LB_WORK/m2"
echo one >"$LB_WORK/m1/one"
echo two >"$LB_WORK/m2/two"
for m in m1 m2; do
	awk -v m="$LB_WORK/$m" '$5 == m { split($3, n, ":"); exit n[1] != 0 }' /proc/self/mountinfo ||
		lb_fail "the btrfs on $m has a block device number: nothing to show here"
done
ntfs=no
if command -v mkntfs >/dev/null && command -v ntfs-3g >/dev/null && [ -c /dev/fuse ]; then
	mkntfs -Q -F -L win "${dev}p4" >/dev/null 2>&1
	ntfs-3g "${dev}p4" "$LB_WORK/m4" && ntfs=yes
	echo four >"$LB_WORK/m4/four"
	# (written through the partition: the whole disk's cache may hold
	# what was there before)
	blockdev --flushbufs "$dev"
else
	echo "note: no ntfs-3g or /dev/fuse: the fuseblk part is left out"
fi

rc=0
"$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || {
	cat "$LB_WORK/out"
	lb_fail "capture --data auto: exit $rc"
}
# one line per volume: id, mount point, data method
python3 - "$LB_WORK/cap/manifest.xml" >"$LB_WORK/vols" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
for v in root.iter(ns + "volume"):
    d = v.find(ns + "data")
    print(v.get("id"), v.get("mountpoint") or "-", d.get("method") if d is not None else "-")
PY
want() {
	grep -qxF "$1" "$LB_WORK/vols" || {
		cat "$LB_WORK/out" "$LB_WORK/vols"
		lb_fail "expected volume line '$1'"
	}
}
want "disk0p1 $LB_WORK/m1 archive"
want "disk0p2 $LB_WORK/m2 archive"
want "disk0p3 $LB_WORK/m2 -"
grep -q "disk0p3: a device of the btrfs mounted on $LB_WORK/m2, archived as disk0p2" "$LB_WORK/out" ||
	lb_fail "no warning that disk0p3 is archived with disk0p2: $(cat "$LB_WORK/out")"
echo "ok btrfs: recorded mounted, archived from the mount point, the two-device one once"
if [ $ntfs = yes ]; then
	want "disk0p4 $LB_WORK/m4 -"
	grep -q "disk0p4: ntfs mounted read-write: .*no data captured" "$LB_WORK/out" ||
		lb_fail "no warning that the mounted NTFS gets no data: $(cat "$LB_WORK/out")"
	echo "ok fuseblk: the NTFS of ntfs-3g recorded mounted, no image of it"
fi

# the archive holds what the mount shows
"$LIFEBOAT" verify "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || lb_fail "verify: $(cat "$LB_WORK/out")"

rc=0
"$LIFEBOAT" capture --data image --disk "$dev" --output "$LB_WORK/cap-image" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "disk0p1 is mounted read-write on $LB_WORK/m1" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "capture --data image: exit $rc, expected 2 refusing the mounted btrfs"
}
echo "ok --data image: the mounted btrfs is refused"
