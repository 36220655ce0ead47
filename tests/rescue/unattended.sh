#!/usr/bin/env bash
# The rescue image, booted in qemu with the backup disk (holding the
# machine's capture, named on the kernel command line by the backup
# filesystem's label) and a blank disk of the machine's size, restores
# unattended (lifeboat.restore=auto): one "LIFEBOAT-RESULT: ok" line, then
# power off. (The capture has no volume data: boot-restored.sh restores
# data and boots the result; refuse.sh finds the capture by searching.) From the host afterwards: the blank disk has the machine's
# partition table, identities and boot code (sfdisk --dump, blkid -p,
# dumpe2fs -h, MBR and BIOS boot partition bytes), its filesystems are
# clean (fsck -n), its root holds the restore-session marker whose instance
# the result line named, and the backup disk was not written.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
rs_need

rs_build_machine
rs_build_backup 320M
rs_capture --data none
rs_oracle "$RS_MACHINE" >"$LB_WORK/before"
bios_boot=$(lb_sha256 "$(fx_part "$RS_MACHINE" 2)" | cut -d' ' -f1)
rs_release_backup
backup_sum=$(lb_sha256 "$LB_WORK/backup.img" | cut -d' ' -f1)
truncate -s "$RS_MACHINE_SIZE" "$LB_WORK/target.img"
rs_rescue_image "$LB_WORK/rescue.img"

start=$(date +%s)
rs_qemu "$LB_WORK/serial.log" 400 \
	-kernel "$RS_KERNEL" -initrd "$LB_WORK/rescue.img" \
	-append 'console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick lifeboat.capture=LABEL=LBBACKUP:/lifeboat/machine' \
	-drive "file=$LB_WORK/backup.img,format=raw,if=virtio" \
	-drive "file=$LB_WORK/target.img,format=raw,if=virtio" || {
	tr -d '\r' <"$LB_WORK/serial.log" | tail -n 40
	lb_fail "qemu did not power off by itself (exit $?)"
}
echo "unattended restore under TCG: $(($(date +%s) - start)) s"
result=$(rs_result "$LB_WORK/serial.log")
echo "$result"
case $result in
"LIFEBOAT-RESULT: ok restore-session="*) ;;
*)
	tr -d '\r' <"$LB_WORK/serial.log" | tail -n 40
	lb_fail "the unattended restore did not succeed" ;;
esac
instance=${result#*restore-session=}
instance=${instance%% *}

[ "$(lb_sha256 "$LB_WORK/backup.img" | cut -d' ' -f1)" = "$backup_sum" ] ||
	lb_fail "the backup disk was written"

target=$(losetup -f --show "$LB_WORK/target.img")
printf '%s\n' "$target" >>"$LB_WORK/loops"
fx_reread "$target"
rs_oracle "$target" >"$LB_WORK/after"
diff -u "$LB_WORK/before" "$LB_WORK/after" || lb_fail "the restored disk differs from the machine"
[ "$(lb_sha256 "$(fx_part "$target" 2)" | cut -d' ' -f1)" = "$bios_boot" ] ||
	lb_fail "the BIOS boot partition (GRUB's core.img) differs"
fsck.ext4 -fn "$(fx_part "$target" 3)" >"$LB_WORK/fsck.log" 2>&1 || {
	cat "$LB_WORK/fsck.log"
	lb_fail "fsck of the restored root"
}
fsck.vfat -n "$(fx_part "$target" 1)" >"$LB_WORK/fsck.log" 2>&1 || {
	cat "$LB_WORK/fsck.log"
	lb_fail "fsck of the restored ESP"
}
mkdir -p "$LB_WORK/troot"
mount -t ext4 -o ro,noload "$(fx_part "$target" 3)" "$LB_WORK/troot"
marker=$(sed -n 's/.*<restore-session[^>]* instance="\([0-9a-f-]*\)".*/\1/p' \
	"$LB_WORK/troot/var/lib/lifeboat/restore-session.xml" 2>/dev/null || true)
umount "$LB_WORK/troot"
[ "$marker" = "$instance" ] ||
	lb_fail "restore-session marker instance '$marker', the result line said '$instance'"
echo "ok: restored disk matches the machine; marker $marker"
