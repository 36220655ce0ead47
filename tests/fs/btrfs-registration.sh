#!/usr/bin/env bash
# lb-timeout: 600
# A capture leaves the kernel's list of btrfs devices as it found it. An
# unmounted btrfs over two disks (raid1) is registered (btrfs device scan,
# as udev does at boot); lifeboat reads it through a read-only loop device
# of its first device, and mounting that loop registers the loop in the
# device's place (same fsid, devid, device UUID and generation). Once the
# loop is gone, the filesystem must still mount from its second device: it
# did not ("devid 1 ... is missing") until the first was scanned again.
# Checked after a capture without data (subvolumes recorded) and one with
# its files archived.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): no $t"; exit 77; }
done
grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
grep -qw btrfs /proc/filesystems || { echo "SKIP: $(lb_name): no btrfs in this kernel"; exit 77; }
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; btrfs device scan --forget "${disks[@]}" >/dev/null 2>&1 || true; lb_cleanup' EXIT

disks=()
for i in 1 2; do
	disks+=("$(fx_attach "$LB_WORK/disk-$i.img" 400M)")
done
mkfs.btrfs -q -f -d raid1 -m raid1 "${disks[@]}" >/dev/null 2>&1
mount "${disks[0]}" "$mnt"
btrfs -q subvolume create "$mnt/home"
printf 'kept\n' >"$mnt/home/file"
umount "$mnt"
btrfs device scan "${disks[@]}" >/dev/null

for data in none archive; do
	rm -rf "$LB_WORK/cap"
	"$LIFEBOAT" capture "${disks[@]/#/--disk=}" --data "$data" --output "$LB_WORK/cap" \
		>"$LB_WORK/capture.out" 2>&1 || {
		cat "$LB_WORK/capture.out"
		lb_fail "capture --data $data failed"
	}
	grep -q 'path="home"' "$LB_WORK/cap/manifest.xml" ||
		lb_fail "capture --data $data: the subvolume was not recorded (no loop mount to test)"
	# the second device, whose mount needs the kernel to know the first
	mount -o ro "${disks[1]}" "$mnt" 2>"$LB_WORK/mount.err" || {
		cat "$LB_WORK/mount.err"
		dmesg | tail -5
		lb_fail "capture --data $data: the btrfs no longer mounts from its second device"
	}
	[ "$(cat "$mnt/home/file")" = kept ] || lb_fail "capture --data $data: the file is not there"
	umount "$mnt"
	echo "ok capture --data $data: still mounts from its second device"
done
