#!/usr/bin/env bash
# The restore-session marker and the log copy never leave the restored
# root (issue 16, finding 1): the captured root holds links planted where
# they go. restore-session.xml as an absolute symlink to a file of this
# host, or as a block device node of another disk, is replaced by a regular
# file (the host file and the other disk are unchanged); /var/log/lifeboat
# as a relative symlink climbing out of the root resolves inside it;
# /var/lib/lifeboat as a symlink to a host directory (not inside the root)
# is a clear error, and the host directory stays empty.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
lb_build_layout gpt-server >/dev/null
mapfile -t disks <"$LB_WORK/disks"
d=${disks[0]}
lb_new_disk_id "$d"
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
decoy=$(fx_attach "$LB_WORK/decoy.img" 1M)
printf 'decoy disk\n' | dd of="$decoy" conv=notrunc,fsync status=none
decoy_sum=$(lb_sha256 "$LB_WORK/decoy.img" | cut -d' ' -f1)
printf 'host file\n' >"$LB_WORK/victim"
mkdir "$LB_WORK/outside" "$LB_WORK/outside-log"

# capture NAME: the root as planted now, captured as an image
# (p5 recorded as mounted on /; its device number changes when a restore
# makes the partitions again)
capture() {
	echo "36 25 $(cat "/sys/class/block/$(basename "$d")p5/dev") / / ro,relatime shared:1 - ext4 ${d}p5 ro" \
		>"$LB_WORK/mountinfo"
	LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo "$LIFEBOAT" capture --output "$LB_WORK/$1" --disk "$d" \
		>/dev/null 2>"$LB_WORK/$1.err" || { cat "$LB_WORK/$1.err"; lb_fail "capture $1 failed"; }
}
# restore NAME: onto the wiped disk; prints the exit code
restore() {
	local rc=0
	lb_wipe "$d" >/dev/null 2>&1
	"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/$1" >"$LB_WORK/$1.out" 2>&1 || rc=$?
	echo "$rc"
}

# ---- the marker file a link to a host file; the log directory climbing out
mount "${d}p5" "$mnt"
mkdir -p "$mnt/var/lib/lifeboat" "$mnt/var/log"
ln -s "$LB_WORK/victim" "$mnt/var/lib/lifeboat/restore-session.xml"
ln -s "../../../../../../../../$LB_WORK/outside-log" "$mnt/var/log/lifeboat"
umount "$mnt"
capture cap-link
rc=$(restore cap-link)
[ "$rc" = 0 ] || { cat "$LB_WORK/cap-link.out"; lb_fail "restore with planted links failed (exit $rc)"; }
[ "$(cat "$LB_WORK/victim")" = "host file" ] || lb_fail "the marker was written through a symlink onto a host file"
[ -z "$(ls -A "$LB_WORK/outside-log")" ] || lb_fail "the log was written through a symlink out of the root"
mount -o ro "${d}p5" "$mnt"
[ -f "$mnt/var/lib/lifeboat/restore-session.xml" ] && [ ! -L "$mnt/var/lib/lifeboat/restore-session.xml" ] ||
	lb_fail "the marker is not a regular file in the restored root"
grep -q '<restore-session instance="' "$mnt/var/lib/lifeboat/restore-session.xml" || lb_fail "no marker written"
umount "$mnt"
echo "ok: a marker link to a host file is replaced; nothing written out of the root"

# ---- the marker a device node of another disk -------------------------------
mount "${d}p5" "$mnt"
rm -rf "$mnt/var/lib/lifeboat" "$mnt/var/log/lifeboat" "${mnt:?}/${LB_WORK#/}"
mkdir -p "$mnt/var/lib/lifeboat"
mknod "$mnt/var/lib/lifeboat/restore-session.xml" b "$((0x$(stat -c %t "$decoy")))" "$((0x$(stat -c %T "$decoy")))"
umount "$mnt"
capture cap-node
rc=$(restore cap-node)
[ "$rc" = 0 ] || { cat "$LB_WORK/cap-node.out"; lb_fail "restore with a planted device node failed (exit $rc)"; }
blockdev --flushbufs "$decoy"
[ "$(lb_sha256 "$LB_WORK/decoy.img" | cut -d' ' -f1)" = "$decoy_sum" ] ||
	lb_fail "the marker was written onto another disk through a device node"
mount -o ro "${d}p5" "$mnt"
[ -f "$mnt/var/lib/lifeboat/restore-session.xml" ] || lb_fail "the device node was not replaced by the marker"
umount "$mnt"
echo "ok: a device node planted as the marker is replaced, the other disk untouched"

# ---- the marker's directory a link to a host directory ----------------------
mount "${d}p5" "$mnt"
rm -rf "$mnt/var/lib/lifeboat"
ln -s "$LB_WORK/outside" "$mnt/var/lib/lifeboat"
umount "$mnt"
capture cap-dir
rc=$(restore cap-dir)
[ -z "$(ls -A "$LB_WORK/outside")" ] || lb_fail "the marker was written into a host directory"
[ "$rc" = 1 ] || { cat "$LB_WORK/cap-dir.out"; lb_fail "expected exit 1 with the marker's directory unreachable, got $rc"; }
grep -q 'restore-session.xml in the restored root' "$LB_WORK/cap-dir.out" ||
	{ cat "$LB_WORK/cap-dir.out"; lb_fail "no clear error for the unreachable marker"; }
grep 'restore-session.xml in the restored root' "$LB_WORK/cap-dir.out"
echo "ok: a marker directory linked out of the root is an error, nothing written outside"
