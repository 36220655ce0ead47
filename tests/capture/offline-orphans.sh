#!/usr/bin/env bash
# An offline capture reads the disks it captures and writes not a byte of
# them, also when a filesystem holds orphan inodes (a machine that went
# down with deleted files still open: every crashed system). ext4 frees an
# orphan's blocks when it is mounted, read-only and without its journal
# too, unless the device itself is read-only: lifeboat's read-only mounts
# (the search for the installed system, the archive of an unmounted
# volume) go through a read-only loop device.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
unset LIFEBOAT_MOUNTINFO LIFEBOAT_SYSROOT LIFEBOAT_SWAPS LIFEBOAT_CMDLINE

img=$LB_WORK/disk.img
dev=$(fx_attach "$img" 64M)
sfdisk -q --no-reread --no-tell-kernel "$dev" <<T
label: gpt
label-id: 0FF1E000-0000-4000-8000-0000000000F0
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"
T
fx_reread "$dev"
fx_mkext ext4 "${dev}p1" 0ff1e000-0000-4000-8000-0000000000f1 data
# a file deleted while open when the machine went down: on the orphan list
debugfs -w -f - "${dev}p1" >/dev/null 2>&1 <<D
write $LB_TOP/README.md orphan
sif orphan links_count 0
unlink orphan
ssv last_orphan 12
D
dumpe2fs -h "${dev}p1" 2>/dev/null | grep -q '^First orphan inode: *12$' ||
	lb_fail "could not make an orphan inode"
sync
before=$(sha256sum <"$img")

for mode in none archive; do
	"$LIFEBOAT" capture --data "$mode" --disk "$dev" --output "$LB_WORK/cap-$mode" \
		>"$LB_WORK/out-$mode" 2>&1 || { cat "$LB_WORK/out-$mode" >&2; lb_fail "capture --data $mode"; }
	sync
	[ "$(sha256sum <"$img")" = "$before" ] ||
		lb_fail "capture --data $mode wrote the disk it captured (orphan inodes cleaned up)"
done
dumpe2fs -h "${dev}p1" 2>/dev/null | grep -q '^First orphan inode: *12$' ||
	lb_fail "the orphan list changed"
echo "PASS: $(lb_name)"
