#!/usr/bin/env bash
# lb-timeout: 3000
# A running Debian 12 machine with LVM on LUKS on MD RAID1 over two disks
# (issue 13; tests/rescue/lib/debian-luksmd.sh builds it, once, cached):
# /boot on md0, md1 holding LUKS2 holding the group lbvg (root, swap, free
# extents), GRUB on both disks, the container unlocked at boot by a key
# file in the initramfs. Booted under SeaBIOS, it captures ITSELF while it
# runs, encrypted (capture --encrypt --key-file): the mounted root LV,
# inside the open container, is imaged from an LVM snapshot, /boot
# archived, the swap LV active. Both disks are then replaced by blank ones,
# the rescue image restores them unattended (lifeboat.key-file= for the
# capture's key and for the container's: the restore opens it to write the
# root), and the restored disks boot: the initramfs assembles both arrays,
# unlocks the container with the machine's original key file (its header,
# keyslots and UUID are the recorded ones), activates the group, mounts
# the root LV, and the machine reports the restore-session marker's
# instance and the same identities as before: array, member and LUKS UUIDs,
# the whole LUKS header dump, PV, VG and LV UUIDs, every filesystem's UUID
# and label, every partition's GUID. One boot each for capture, restore and
# check, plus one to build the machine when the cache has none.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
. "$LB_TOP/tests/rescue/lib/debian.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
. "$LB_TOP/tests/rescue/lib/debian-luksmd.sh"
rs_need
vm_need
W=$LB_WORK
t0=$(date +%s)

# ---- the machine (cached), and a backup disk with the keys and lifeboat ----
tarball=$(dg_base_tarball)
dm_machine "$tarball"
t_build=$(($(date +%s) - t0))
rs_build_backup 2G
mkdir -p "$W/backup/keys" "$W/backup/lifeboat-test"
head -c 32 /dev/urandom >"$W/backup/keys/capture.key"
cp "$DM_DIR/root.key" "$W/backup/keys/root.key"
install -m 0755 "$LIFEBOAT" "$W/backup/lifeboat-test/lifeboat"
rs_release_backup

# ---- first boot: the running machine captures itself -----------------------
# (its cached disks are only read: qemu keeps this boot's writes aside)
t=$(date +%s)
dg_boot "LVM-on-LUKS-on-MD machine capturing itself" "$W/capture.log" 1200 \
	-drive "file=$DM_DIR/a.img,format=raw,if=virtio,snapshot=on" \
	-drive "file=$DM_DIR/b.img,format=raw,if=virtio,snapshot=on" \
	-drive "file=$W/backup.img,format=raw,if=virtio"
t_capture=$(($(date +%s) - t))
tr -d '\r' <"$W/capture.log" >"$W/capture.txt"
grep -E '^E2E-(ROOT|MDSTAT|SWAP|TIME|CAPTURE|LVS)' "$W/capture.txt" || true
grep -qx 'E2E-CAPTURE: rc=0' "$W/capture.txt" || {
	grep '^E2E-' "$W/capture.txt" | tail -n 60 || tail -n 60 "$W/capture.txt"
	lb_fail "lifeboat capture on the running machine failed"
}
grep -qx 'E2E-ROOT: /dev/mapper/lbvg-root' "$W/capture.txt" || lb_fail "the machine's root is not the LV lbvg/root"
grep -E '^E2E-LOG: .*(snapshot|warning|LUKS)' "$W/capture.txt" || true
grep -q '^E2E-LOG: lifeboat: lv[0-9]*: imaging /dev/mapper/lbvg-lifeboat--snap--root, a snapshot of lbvg/root' \
	"$W/capture.txt" || lb_fail "the mounted root LV inside LUKS was not imaged from an LVM snapshot"
if grep -q '^E2E-LVS: .*lifeboat-snap' "$W/capture.txt"; then
	lb_fail "the capture left its snapshot behind"
fi
sed -n 's/^E2E-SHOW: //p' "$W/capture.txt" >"$W/show.txt"
cat "$W/show.txt"
grep -q 'ext4 LABEL="root" .*mounted="/" \[critical\] data=image(.*, from an LVM snapshot)' "$W/show.txt" ||
	lb_fail "the root LV was not captured as an image from a snapshot"
grep -q 'ext4 LABEL="boot" .*mounted="/boot" \[critical\] data=archive' "$W/show.txt" ||
	lb_fail "the mounted /boot on md0 was not captured as an archive"
grep -q 'swap .*\[active swap\] \[critical\]' "$W/show.txt" || lb_fail "the active swap LV is not recorded as such"
grep -q "^  crypttab:1 UUID=$DM_LUKS_UUID for=\"md1_crypt\" -> luks0\$" "$W/show.txt" ||
	lb_fail "crypttab's source, the container's UUID, does not resolve to the container luks0"
sed -n 's/^E2E-ID: //p' "$W/capture.txt" >"$W/ids.before"
for want in '^/dev/md0 MD_UUID=' '^/dev/md1 MD_UUID=' '^/dev/vdb3 Device UUID' "^luks UUID:[[:space:]]*$DM_LUKS_UUID\$" \
	"^pv /dev/mapper/md1_crypt *$DM_PV_UUID lbvg " '^lv lbvg root ' '^lv lbvg swap '; do
	grep -q "$want" "$W/ids.before" || { cat "$W/ids.before"; lb_fail "the machine did not report $want"; }
done

# ---- the plaintext of the root is not in the capture ------------------------
# (the machine's own files are known here: a word from its root's tree)
bk=$(losetup -f --show -r -P "$W/backup.img")
printf '%s\n' "$bk" >>"$W/loops"
partprobe "$bk" 2>/dev/null || true
fx_wait_node "${bk}p1"
mkdir -p "$W/bk"
mount -o ro,noload -t ext4 "${bk}p1" "$W/bk"
ls "$W/bk/lifeboat/machine"
if grep -r -a -q 'lifeboat end-to-end test step inside the Debian test machine with LVM' "$W/bk/lifeboat/machine"; then
	lb_fail "the plaintext of the root inside LUKS is in the capture"
fi
umount "$W/bk"
losetup -d "$bk"

# ---- both disks die: two blank ones of the same size -----------------------
truncate -s "$DM_DISK_SIZE" "$W/target-a.img" "$W/target-b.img"

# ---- the rescue image restores them, unattended -----------------------------
rs_rescue_image "$W/rescue.img"
t=$(date +%s)
rs_qemu "$W/rescue.log" 1200 -smp 2 \
	-kernel "$RS_KERNEL" -initrd "$W/rescue.img" \
	-append 'console=ttyS0 panic=1 no_timer_check lifeboat.restore=auto lifeboat.format=quick lifeboat.key-file=/keys/capture.key lifeboat.key-file=/keys/root.key' \
	-drive "file=$W/target-a.img,format=raw,if=virtio" \
	-drive "file=$W/target-b.img,format=raw,if=virtio" \
	-drive "file=$W/backup.img,format=raw,if=virtio" || {
	tr -d '\r' <"$W/rescue.log" | tail -n 60
	lb_fail "the rescue image did not power off by itself"
}
t_restore=$(($(date +%s) - t))
result=$(rs_result "$W/rescue.log")
echo "$result ($t_restore s)"
case $result in
"LIFEBOAT-RESULT: ok restore-session="*) ;;
*) tr -d '\r' <"$W/rescue.log" | tail -n 80; lb_fail "the unattended restore did not succeed" ;;
esac
instance=${result#*restore-session=}
instance=${instance%% *}

# ---- the restored machine boots from its two disks, reports, powers off ---
t=$(date +%s)
dg_boot "restored LVM-on-LUKS-on-MD machine" "$W/boot.log" 1200 \
	-drive "file=$W/target-a.img,format=raw,if=virtio" \
	-drive "file=$W/target-b.img,format=raw,if=virtio"
t_check=$(($(date +%s) - t))
tr -d '\r' <"$W/boot.log" >"$W/boot.txt"
l=$W/boot.txt
grep -E '^MACHINE-(BOOT|ROOT|BOOTFS|MDSTAT|SWAP|KEY|FILE|DONE)' "$l" || true
grep -qx "MACHINE-BOOT: restore-session=$instance" "$l" || {
	tail -n 60 "$l"
	lb_fail "the restored machine did not report restore-session $instance"
}
grep -qx 'MACHINE-DONE' "$l" || lb_fail "the machine's report is incomplete"
grep -qx 'MACHINE-ROOT: /dev/mapper/lbvg-root' "$l" || lb_fail "the restored machine's root is not the LV lbvg/root"
grep -qx 'MACHINE-BOOTFS: /dev/md0 ext4' "$l" || lb_fail "the restored /boot is not md0"
[ "$(grep -c '^MACHINE-MDSTAT: .*\[2/2\] \[UU\]' "$l")" = 2 ] || lb_fail "the restored arrays are not both whole (2/2, UU)"
grep -q '^MACHINE-SWAP: /dev/dm-' "$l" || lb_fail "the swap LV is not active on the restored machine"
grep -qx 'MACHINE-KEY: the original key file opens /dev/md1' "$l" || lb_fail "the original key file does not open the restored container"
grep -qx 'MACHINE-FILE: /etc/lifeboat-e2e-before-capture' "$l" || lb_fail "a file made before the capture is missing"
sed -n 's/^MACHINE-ID: //p' "$l" >"$W/ids.after"
diff -u "$W/ids.before" "$W/ids.after" || lb_fail "identities differ after the restore"
echo "same identities before and after ($(wc -l <"$W/ids.after") lines):"
grep -E '^(/dev/md|luks (UUID|Label|Version)|pv |lv |dev /dev/(md|mapper))' "$W/ids.after"
echo "measured: machine $t_build s (cache: $DM_DIR), capture boot $t_capture s, rescue restore $t_restore s, check boot $t_check s, all $(($(date +%s) - t0)) s"
echo "ok: a running Debian machine with LVM on LUKS on MD RAID1 captured itself (root from a snapshot, encrypted); restored onto two blank disks, it boots, unlocks with its original key and has the same identities"
