#!/usr/bin/env bash
# lb-timeout: 2400
# A running Debian 12 machine whose root is on LVM (issue 13): GPT with an
# ESP, /boot (ext4) and a PV holding the group lbvg (LVs root and swap,
# free extents left), booted under OVMF. It installs GRUB for UEFI with its
# boot entry and captures ITSELF while it runs: the mounted root is imaged
# from an LVM snapshot (lifeboat-snap-root, removed afterwards), /boot and
# the ESP archived, the swap LV active. Its disk is then replaced by a blank
# one, the rescue image restores it unattended on a fresh NVRAM (the group
# from its recorded metadata, the root from the snapshot's image), and the
# restored disk boots through its restored EFI entry, its root on
# /dev/mapper/lbvg-root, and reports the restore-session marker's instance
# and the same identities as before: PV, VG and LV UUIDs, every
# filesystem's UUID and label, every partition's GUID. One boot each for
# capture, restore and check (tests/rescue/live-debian.sh is the machine
# without LVM; tests/rescue/lib/debian-lvm.sh builds this one).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
. "$LB_TOP/tests/rescue/lib/debian.sh"
. "$LB_TOP/tests/rescue/lib/debian-lvm.sh"
rs_need
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] && [ -f /usr/share/OVMF/OVMF_VARS_4M.fd ] ||
	rs_skip "needs OVMF (apt-get install ovmf)"
command -v lvm >/dev/null || rs_skip "needs lvm (tests/install-deps.sh: lvm2)"
W=$LB_WORK

# ---- the machine, and a backup disk for its capture -------------------------
tarball=$(dg_base_tarball)
dl_build_machine "$tarball"
rs_build_backup 2G
rs_release_backup
partx -d "$DG_MACHINE" >/dev/null 2>&1 || true
losetup -d "$DG_MACHINE"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$W/vars-machine.fd"
mapfile -t ovmf < <(dg_ovmf "$W/vars-machine.fd")

# ---- first boot: install the UEFI boot entry, capture the running system ---
dg_boot "LVM-root machine capturing itself" "$W/capture.log" 900 "${ovmf[@]}" \
	-drive "file=$W/machine.img,format=raw,if=virtio" \
	-drive "file=$W/backup.img,format=raw,if=virtio"
tr -d '\r' <"$W/capture.log" >"$W/capture.txt"
grep -E '^E2E-(SWAP|EFI|TIME|CAPTURE|LVS)' "$W/capture.txt" || true
grep -qx 'E2E-CAPTURE: rc=0' "$W/capture.txt" || {
	grep '^E2E-' "$W/capture.txt" | tail -n 60
	lb_fail "lifeboat capture on the running machine failed"
}
grep -E '^E2E-LOG: .*(snapshot|warning)' "$W/capture.txt" || true
grep -q '^E2E-LOG: lifeboat: lv[0-9]*: imaging /dev/mapper/lbvg-lifeboat--snap--root, a snapshot of lbvg/root' \
	"$W/capture.txt" || lb_fail "the mounted root LV was not imaged from an LVM snapshot"
grep -q '^E2E-LVS: lbvg root$' "$W/capture.txt" || lb_fail "no LV list after the capture"
if grep -q '^E2E-LVS: .*lifeboat-snap' "$W/capture.txt"; then
	lb_fail "the capture left its snapshot behind"
fi
sed -n 's/^E2E-SHOW: //p' "$W/capture.txt" >"$W/show.txt"
cat "$W/show.txt"
grep -q 'ext4 LABEL="root" .*mounted="/" \[critical\] data=image(.*, from an LVM snapshot)' "$W/show.txt" ||
	lb_fail "the root on LVM was not captured as an image from a snapshot"
grep -q 'ext4 LABEL="boot" .*mounted="/boot" \[critical\] data=archive' "$W/show.txt" ||
	lb_fail "the mounted /boot was not captured as an archive"
grep -q 'swap .*\[active swap\] \[critical\]' "$W/show.txt" || lb_fail "the active swap LV is not recorded as such"
sed -n 's/^E2E-ID: //p' "$W/capture.txt" >"$W/ids.before"
grep -q '^pv /dev/vda4 ' "$W/ids.before" && grep -q '^lv lbvg root ' "$W/ids.before" ||
	{ cat "$W/ids.before"; lb_fail "the machine did not report its PV and LVs"; }

# ---- the disk dies: a blank one of the same size ---------------------------
rm -f "$W/machine.img"
truncate -s "$DL_MACHINE_SIZE" "$W/target.img"

# ---- the rescue image restores it, unattended, on a fresh NVRAM ------------
rs_rescue_image "$W/rescue.img"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$W/vars-new.fd"
mapfile -t ovmf < <(dg_ovmf "$W/vars-new.fd")
start=$(date +%s)
rs_qemu "$W/rescue.log" 900 -smp 2 "${ovmf[@]}" \
	-kernel "$RS_KERNEL" -initrd "$W/rescue.img" \
	-append 'console=ttyS0 panic=1 no_timer_check lifeboat.restore=auto' \
	-drive "file=$W/backup.img,format=raw,if=virtio" \
	-drive "file=$W/target.img,format=raw,if=virtio" || {
	tr -d '\r' <"$W/rescue.log" | tail -n 60
	lb_fail "the rescue image did not power off by itself"
}
result=$(rs_result "$W/rescue.log")
echo "$result ($(($(date +%s) - start)) s)"
case $result in
"LIFEBOAT-RESULT: ok restore-session="*) ;;
*) tr -d '\r' <"$W/rescue.log" | tail -n 60; lb_fail "the unattended restore did not succeed" ;;
esac
instance=${result#*restore-session=}
instance=${instance%% *}

# ---- the restored machine boots, reports, powers off ----------------------
l=$W/boot.log
dg_boot "restored LVM-root machine" "$l" 900 "${ovmf[@]}" -drive "file=$W/target.img,format=raw,if=virtio"
tr -d '\r' <"$l" >"$W/boot.txt"
l=$W/boot.txt
grep '^MACHINE-' "$l" || true
grep -qx "MACHINE-BOOT: restore-session=$instance" "$l" || {
	tail -n 40 "$l"
	lb_fail "the restored machine did not report restore-session $instance"
}
grep -qx 'MACHINE-DONE' "$l" || lb_fail "the machine's report is incomplete"
grep -qx 'MACHINE-ROOT: /dev/mapper/lbvg-root' "$l" || lb_fail "the restored machine's root is not the LV lbvg/root"
grep -qx 'MACHINE-MOUNT: vfat /boot/efi' "$l" || lb_fail "the restored ESP is not mounted at /boot/efi"
grep -q '^MACHINE-SWAP: /dev/dm-' "$l" || lb_fail "the swap LV is not active on the restored machine"
grep -qx 'MACHINE-FILE: /etc/lifeboat-e2e-before-capture' "$l" ||
	lb_fail "a file made before the capture is missing"
entry=$(sed -n 's/^MACHINE-EFI: Boot\([0-9A-F]\{4\}\)\* debian$/\1/p' "$l")
[ -n "$entry" ] || lb_fail "the 'debian' EFI boot entry did not come back on the fresh NVRAM"
grep -qx "MACHINE-EFI: BootCurrent: $entry" "$l" ||
	lb_fail "the restored machine did not boot through its restored 'debian' entry (Boot$entry)"
sed -n 's/^MACHINE-ID: //p' "$l" >"$W/ids.after"
diff -u "$W/ids.before" "$W/ids.after" || lb_fail "identities differ after the restore"
echo "same identities before and after:"
cat "$W/ids.after"
echo "ok: a running Debian machine with its root on LVM captured itself from a snapshot; restored on a blank disk and a fresh NVRAM, it boots with the same identities"
