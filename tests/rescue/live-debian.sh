#!/usr/bin/env bash
# lb-timeout: 2400
# The first story, whole, on a real Debian 12 machine (issue 11): the
# machine boots under OVMF, installs GRUB for UEFI with its boot entry and
# captures ITSELF while it runs (root, ESP and swap in use; the capture goes
# to a second disk it mounts); its disk is then replaced by a blank one and
# the rescue image, booted under OVMF on a fresh NVRAM, restores it
# unattended; the restored disk then boots under OVMF (through the restored
# EFI boot entry: the removable-path loader was removed before the capture)
# and under SeaBIOS, and each time the machine itself reports the
# restore-session marker's instance, both swap areas active (the partition
# and the dd-made swap file), the ESP mounted, and a file made before the
# capture. The machine's root tree is a debootstrap kept in a cache
# (tests/rescue/lib/debian.sh); the first run builds it (minutes).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
. "$LB_TOP/tests/rescue/lib/debian.sh"
rs_need
dg_need_ovmf
W=$LB_WORK

# ---- the machine; first boot: install the UEFI boot entry, capture itself --
tarball=$(dg_base_tarball)
dg_build_machine "$tarball"
dg_capture_boot "machine capturing itself" 1G
grep -q '^E2E-EFI: Boot[0-9A-F]\{4\}\* debian' "$W/capture.txt" ||
	lb_fail "grub-install made no 'debian' EFI boot entry before the capture"
[ "$(grep -c '^E2E-SWAP: ' "$W/capture.txt")" = 2 ] ||
	lb_fail "the running machine should have two swap areas active at capture"
# what the capture recorded of the running system: its volumes mounted
# (/, /boot/efi: archives) and in use (swap), the backup disk it was
# written to excluded
sed -n 's/^E2E-SHOW: //p' "$W/capture.txt" >"$W/show.txt"
cat "$W/show.txt"
grep -q 'vfat .*mounted="/boot/efi" \[critical\] data=archive' "$W/show.txt" ||
	lb_fail "the mounted ESP was not captured as an archive"
grep -q 'ext4 .*mounted="/" \[critical\] data=archive' "$W/show.txt" ||
	lb_fail "the mounted root was not captured as an archive"
grep -q 'swap .*\[active swap\] \[critical\]' "$W/show.txt" || lb_fail "the active swap is not recorded as such"
grep -q '^disk1 /dev/vdb .*\[not selected: holds this capture\]' "$W/show.txt" ||
	lb_fail "the disk holding the capture is not excluded from it"

# ---- the disk dies; the rescue image restores a blank one, unattended ------
rm -f "$W/machine.img"
dg_restore_blank "$DG_MACHINE_SIZE"
instance=$DG_INSTANCE
mapfile -t ovmf < <(dg_ovmf "$W/vars-new.fd")

# ---- the restored machine boots, reports, powers off ----------------------
# restored_boot NAME [qemu args...]
restored_boot() {
	local name=$1 l=$W/boot-$1.log
	shift
	dg_boot "restored machine under $name" "$l" 900 "$@" \
		-drive "file=$W/target.img,format=raw,if=virtio"
	tr -d '\r' <"$l" >"$W/boot-$name.txt"
	l=$W/boot-$name.txt
	grep '^MACHINE-' "$l" || true
	grep -qx "MACHINE-BOOT: restore-session=$instance" "$l" || {
		tail -n 40 "$l"
		lb_fail "$name: the restored machine did not report restore-session $instance"
	}
	grep -qx 'MACHINE-DONE' "$l" || lb_fail "$name: the machine's report is incomplete"
	grep -qx 'MACHINE-SWAP: /swap.img' "$l" ||
		lb_fail "$name: the swap file /swap.img is not active on the restored machine"
	grep -qx 'MACHINE-SWAP: /dev/vda3' "$l" ||
		lb_fail "$name: the swap partition is not active on the restored machine"
	grep -qx 'MACHINE-MOUNT: vfat /boot/efi' "$l" ||
		lb_fail "$name: the restored ESP is not mounted at /boot/efi"
	grep -qx 'MACHINE-FILE: /etc/lifeboat-e2e-before-capture' "$l" ||
		lb_fail "$name: a file made before the capture is missing"
}
restored_boot ovmf "${ovmf[@]}"
entry=$(sed -n 's/^MACHINE-EFI: Boot\([0-9A-F]\{4\}\)\* debian$/\1/p' "$W/boot-ovmf.txt")
[ -n "$entry" ] || lb_fail "the 'debian' EFI boot entry did not come back on the fresh NVRAM"
grep -qx "MACHINE-EFI: BootCurrent: $entry" "$W/boot-ovmf.txt" ||
	lb_fail "under OVMF the restored machine did not boot through its restored 'debian' entry (Boot$entry)"
restored_boot seabios
echo "ok: a running Debian machine captured itself; restored on a blank disk and a fresh NVRAM, it boots under OVMF and SeaBIOS"
