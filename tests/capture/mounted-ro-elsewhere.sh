#!/usr/bin/env bash
# A filesystem mounted read-write is not imaged because the one mount of it
# lifeboat names is read-only: its superblock is writable through another.
# A btrfs whose top level is mounted read-only while a subvolume of it is
# mounted read-write (the top level is the mount lifeboat names), and an
# ext4 mounted read-write with a read-only bind mount of it at a shorter
# path (the one named): --data auto must archive both (live), never image
# them; --data image must refuse. Both were imaged, as if nothing could
# write to them.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
command -v mkfs.btrfs >/dev/null || { echo "SKIP: $(lb_name): no mkfs.btrfs"; exit 77; }
grep -qw btrfs /proc/filesystems || { echo "SKIP: $(lb_name): no btrfs in this kernel"; exit 77; }
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mkdir -p "$LB_WORK/a" "$LB_WORK/the/longer/rw"
trap 'umount -q "$LB_WORK/a" 2>/dev/null || true; umount -q "$LB_WORK/the/longer/rw" 2>/dev/null || true; lb_cleanup' EXIT

method() { sed -n 's/.*<data .*method="\([a-z]*\)".*/\1/p' "$1/manifest.xml"; }

for fs in btrfs ext4; do
	dev=$(fx_attach "$LB_WORK/$fs.img" 300M)
	if [ $fs = btrfs ]; then
		mkfs.btrfs -q -f "$dev" >/dev/null 2>&1
		mount "$dev" "$LB_WORK/a"
		btrfs -q subvolume create "$LB_WORK/a/@data"
		umount "$LB_WORK/a"
		mount -o subvol=@data "$dev" "$LB_WORK/the/longer/rw"
		mount -o ro,subvolid=5 "$dev" "$LB_WORK/a"
	else
		mkfs.ext4 -q "$dev"
		mount "$dev" "$LB_WORK/the/longer/rw"
		mount --bind "$LB_WORK/the/longer/rw" "$LB_WORK/a"
		mount -o remount,bind,ro "$LB_WORK/a"
	fi
	echo written >"$LB_WORK/the/longer/rw/file"
	grep -q " $LB_WORK/a ro[ ,]" /proc/self/mountinfo || lb_fail "$fs: the short mount is not read-only"
	"$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/cap-$fs" >"$LB_WORK/out" 2>&1 ||
		lb_fail "$fs: capture: $(cat "$LB_WORK/out")"
	[ "$(method "$LB_WORK/cap-$fs")" = archive ] ||
		lb_fail "$fs: writable through another mount, captured as $(method "$LB_WORK/cap-$fs"): $(cat "$LB_WORK/out")"
	if "$LIFEBOAT" capture --data image --disk "$dev" --output "$LB_WORK/img-$fs" >"$LB_WORK/out" 2>&1; then
		lb_fail "$fs: --data image of a filesystem writable through another mount succeeded"
	fi
	umount "$LB_WORK/a" "$LB_WORK/the/longer/rw"
	echo "ok $fs: read-only where named, writable elsewhere: archived, not imaged"
done
