#!/usr/bin/env bash
# lb-timeout: 2400
# A running machine in the RHEL layout (issues 13 and 14): root on xfs on
# LVM, /boot on xfs, swap on LVM, as RHEL, Rocky and Alma install; here a
# Debian 12 tree (tests/rescue/lib/debian-lvm.sh builds it): GPT with an
# ESP, a BIOS boot partition, /boot (xfs) and a PV holding the group lbvg
# (LVs root and swap, free extents left), booted under OVMF. It installs
# GRUB for UEFI with its boot entry and captures ITSELF while it runs: the
# mounted root is imaged from an LVM snapshot (lifeboat-snap-root, removed
# afterwards; an xfs with the root's UUID, never mounted: its used blocks
# are read from its free-space trees, its log left covered by the freeze),
# /boot and the ESP archived, the swap LV active. Its disk is then replaced
# by a blank one, the rescue image restores it unattended on a fresh NVRAM
# (the group from its recorded metadata, the root from the snapshot's
# image, its covered log replayed when the rescue image mounts the root
# to write the restore-session marker), and on the host the restored xfs
# of / and /boot must show the same xfs_info, UUID and label as the
# machine's own before, and pass xfs_repair -n (which fails on a log not
# yet replayed). The restored disk then boots through its restored EFI
# entry, its root on /dev/mapper/lbvg-root, with clean xfs mounts (no log
# recovery), and reports the restore-session marker's instance and the
# same identities as before: PV, VG and LV UUIDs, every filesystem's UUID
# and label, every partition's GUID. One boot each for capture, restore
# and check (tests/rescue/live-debian.sh is the machine without LVM).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
. "$LB_TOP/tests/rescue/lib/debian.sh"
. "$LB_TOP/tests/rescue/lib/debian-lvm.sh"
rs_need
dg_need_ovmf
command -v lvm >/dev/null || rs_skip "needs lvm (tests/install-deps.sh: lvm2)"
for t in mkfs.xfs xfs_info xfs_db xfs_repair; do
	command -v "$t" >/dev/null || rs_skip "needs $t (tests/install-deps.sh: xfsprogs)"
done
W=$LB_WORK

# xfs_ident IMG OUT: xfs_info, UUID and label of the xfs of /boot and of
# the root LV on the machine's disk image IMG, into OUT; then
# xfs_repair -n of each must be clean (its output kept in OUT.repair)
xfs_ident() {
	local dev
	dl_attach_xfs "$1"
	: >"$2.repair"
	for dev in "$DL_BOOT_DEV" "$DL_ROOT_DEV"; do
		xfs_info "$dev" | sed "s|$dev *|DEV |"
		xfs_db -r -c uuid -c label "$dev"
		xfs_repair -n "$dev" >>"$2.repair" 2>&1 || {
			cat "$2.repair"
			lb_fail "$1: xfs_repair -n finds problems in $(xfs_db -r -c label "$dev")"
		}
	done >"$2"
	losetup -d "$DL_BOOT_DEV" "$DL_ROOT_DEV" "$DL_PV_DEV"
}

# ---- the machine; first boot: install the UEFI boot entry, capture itself --
tarball=$(dg_base_tarball)
dl_build_machine "$tarball"
dg_capture_boot "RHEL-layout machine capturing itself" 2G
grep -E '^E2E-LOG: .*(snapshot|warning|xfs)' "$W/capture.txt" || true
grep -q '^E2E-LOG: lifeboat: lv[0-9]*: imaging /dev/mapper/lbvg-lifeboat--snap--root, a snapshot of lbvg/root' \
	"$W/capture.txt" || lb_fail "the mounted root LV was not imaged from an LVM snapshot"
if grep -q '^E2E-LOG: .*lv[0-9]*: xfs: its used blocks cannot be read' "$W/capture.txt"; then
	lb_fail "the snapshot of the xfs root was imaged whole: its covered log was taken for a dirty one"
fi
grep -q '^E2E-LVS: lbvg root$' "$W/capture.txt" || lb_fail "no LV list after the capture"
if grep -q '^E2E-LVS: .*lifeboat-snap' "$W/capture.txt"; then
	lb_fail "the capture left its snapshot behind"
fi
sed -n 's/^E2E-SHOW: //p' "$W/capture.txt" >"$W/show.txt"
cat "$W/show.txt"
grep -q 'xfs LABEL="root" .*mounted="/" \[critical\] data=image(.*, from an LVM snapshot)' "$W/show.txt" ||
	lb_fail "the xfs root on LVM was not captured as an image from a snapshot"
grep -q 'xfs LABEL="boot" .*mounted="/boot" \[critical\] data=archive' "$W/show.txt" ||
	lb_fail "the mounted xfs /boot was not captured as an archive"
grep -q 'swap .*\[active swap\] \[critical\]' "$W/show.txt" || lb_fail "the active swap LV is not recorded as such"
sed -n 's/^E2E-ID: //p' "$W/capture.txt" >"$W/ids.before"
grep -q '^pv /dev/vda4 ' "$W/ids.before" && grep -q '^lv lbvg root ' "$W/ids.before" ||
	{ cat "$W/ids.before"; lb_fail "the machine did not report its PV and LVs"; }
# the xfs of / and /boot as the machine left them
xfs_ident "$W/machine.img" "$W/xfs.before"

# ---- the disk dies; the rescue image restores a blank one, unattended ------
rm -f "$W/machine.img"
dg_restore_blank "$DL_MACHINE_SIZE"
tr -d '\r' <"$W/rescue.log" | grep -E 'XFS|lifeboat: .*(lv0|disk0p3)' | sed 's/^/rescue: /' || true
xfs_ident "$W/target.img" "$W/xfs.after"
diff -u "$W/xfs.before" "$W/xfs.after" || lb_fail "xfs_info, UUID or label of / or /boot differ after the restore"
echo "same xfs_info, UUID and label of / and /boot before and after, xfs_repair -n clean:"
grep -E '^(UUID|label) = ' "$W/xfs.after"

# ---- the restored machine boots, reports, powers off ----------------------
mapfile -t ovmf < <(dg_ovmf "$W/vars-new.fd")
l=$W/boot.log
dg_boot "restored RHEL-layout machine" "$l" 900 "${ovmf[@]}" -drive "file=$W/target.img,format=raw,if=virtio"
tr -d '\r' <"$l" >"$W/boot.txt"
l=$W/boot.txt
grep '^MACHINE-' "$l" || true
grep -qx "MACHINE-BOOT: restore-session=$DG_INSTANCE" "$l" || {
	tail -n 40 "$l"
	lb_fail "the restored machine did not report restore-session $DG_INSTANCE"
}
grep -qx 'MACHINE-DONE' "$l" || lb_fail "the machine's report is incomplete"
grep -qx 'MACHINE-ROOT: /dev/mapper/lbvg-root' "$l" || lb_fail "the restored machine's root is not the LV lbvg/root"
grep -qx 'MACHINE-MOUNT: xfs /boot' "$l" || lb_fail "the restored /boot is not mounted as xfs"
grep -qx 'MACHINE-MOUNT: vfat /boot/efi' "$l" || lb_fail "the restored ESP is not mounted at /boot/efi"
grep -q '^MACHINE-SWAP: /dev/dm-' "$l" || lb_fail "the swap LV is not active on the restored machine"
grep -qx 'MACHINE-FILE: /etc/lifeboat-e2e-before-capture' "$l" ||
	lb_fail "a file made before the capture is missing"
[ "$(grep -c '^MACHINE-XFS: .*Ending clean mount' "$l")" -ge 2 ] ||
	lb_fail "the restored machine did not mount / and /boot as clean xfs"
if grep -q '^MACHINE-XFS: .*recovery' "$l"; then
	lb_fail "the restored machine's xfs needed log recovery at its first mount"
fi
entry=$(sed -n 's/^MACHINE-EFI: Boot\([0-9A-F]\{4\}\)\* debian$/\1/p' "$l")
[ -n "$entry" ] || lb_fail "the 'debian' EFI boot entry did not come back on the fresh NVRAM"
grep -qx "MACHINE-EFI: BootCurrent: $entry" "$l" ||
	lb_fail "the restored machine did not boot through its restored 'debian' entry (Boot$entry)"
sed -n 's/^MACHINE-ID: //p' "$l" >"$W/ids.after"
diff -u "$W/ids.before" "$W/ids.after" || lb_fail "identities differ after the restore"
echo "same identities before and after:"
cat "$W/ids.after"
echo "ok: a running machine in the RHEL layout (xfs on LVM, /boot on xfs) captured itself from a snapshot; restored on a blank disk and a fresh NVRAM, it boots with the same identities and the same xfs"
