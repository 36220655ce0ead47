#!/usr/bin/env bash
# The restored machine boots. The machine is captured with its volumes'
# data (--data image), restored by the rescue image unattended onto a blank
# disk, and that disk is then booted on its own: under SeaBIOS (GRUB's
# boot.img and core.img, restored byte for byte, then /boot/grub from the
# restored root) and under OVMF (UEFI: \EFI\BOOT\BOOTX64.EFI on the
# restored ESP). Each time the machine's own init prints the
# restore-session marker's instance: the one the rescue image reported.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
rs_need
"$LIFEBOAT" capture --help 2>&1 | grep -qw image ||
	rs_skip "lifeboat capture has no --data image yet: without volume data a restore makes empty filesystems, and the machine's kernel and GRUB live in them"
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$ovmf_code" ] && [ -f "$ovmf_vars" ] || rs_skip "needs OVMF (apt-get install ovmf)"

rs_build_machine
rs_build_backup 320M
rs_capture --data image
rs_release_backup
truncate -s "$RS_MACHINE_SIZE" "$LB_WORK/target.img"
rs_rescue_image "$LB_WORK/rescue.img"

rs_qemu "$LB_WORK/serial.log" 400 \
	-kernel "$RS_KERNEL" -initrd "$LB_WORK/rescue.img" \
	-append 'console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick' \
	-drive "file=$LB_WORK/backup.img,format=raw,if=virtio" \
	-drive "file=$LB_WORK/target.img,format=raw,if=virtio" || {
	tr -d '\r' <"$LB_WORK/serial.log" | tail -n 40
	lb_fail "the rescue image did not power off by itself"
}
result=$(rs_result "$LB_WORK/serial.log")
echo "$result"
case $result in
"LIFEBOAT-RESULT: ok restore-session="*) ;;
*) lb_fail "the unattended restore did not succeed" ;;
esac
instance=${result#*restore-session=}
instance=${instance%% *}

# machine_boot NAME [qemu args...]: boots the restored disk; its init must
# print the marker's instance.
machine_boot() {
	local name=$1 start
	shift
	start=$(date +%s)
	rs_qemu "$LB_WORK/boot-$name.log" 300 "$@" \
		-drive "file=$LB_WORK/target.img,format=raw,if=virtio" || {
		tr -d '\r' <"$LB_WORK/boot-$name.log" | tail -n 30
		lb_fail "$name: the restored machine did not power off by itself"
	}
	if ! tr -d '\r' <"$LB_WORK/boot-$name.log" | grep -qx "MACHINE-BOOT: restore-session=$instance"; then
		tr -d '\r' <"$LB_WORK/boot-$name.log" | tail -n 30
		lb_fail "$name: the restored machine did not report restore-session $instance"
	fi
	echo "ok: $name boots the restored disk ($(($(date +%s) - start)) s): restore-session=$instance"
}

machine_boot seabios
cp "$ovmf_vars" "$LB_WORK/OVMF_VARS.fd"
machine_boot ovmf -machine q35 \
	-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code" \
	-drive "if=pflash,format=raw,unit=1,file=$LB_WORK/OVMF_VARS.fd"
