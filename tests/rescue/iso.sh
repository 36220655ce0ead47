#!/usr/bin/env bash
# lifeboat mkrescue --iso: a hybrid ISO with the machine's capture embedded
# (--capture) and an unattended boot entry (--cmdline) boots under SeaBIOS
# (El Torito, BIOS) and under OVMF (UEFI, q35) and restores the machine
# onto a blank disk each time: no other disk, the capture travels in the
# image.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
rs_need
command -v grub-mkrescue >/dev/null && command -v xorriso >/dev/null ||
	rs_skip "needs grub-mkrescue and xorriso (grub2-common, xorriso)"
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$ovmf_code" ] && [ -f "$ovmf_vars" ] || rs_skip "needs OVMF (apt-get install ovmf)"

rs_build_machine
rs_build_backup 128M
rs_capture --data none
rs_oracle "$RS_MACHINE" >"$LB_WORK/before"
start=$(date +%s)
"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --capture "$LB_WORK/backup/lifeboat/machine" \
	--iso "$LB_WORK/rescue.iso" \
	--cmdline 'console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick' \
	>"$LB_WORK/mkrescue.log" 2>&1 || { cat "$LB_WORK/mkrescue.log"; lb_fail "mkrescue --iso failed"; }
echo "ISO: $(stat -c %s "$LB_WORK/rescue.iso") bytes, built in $(($(date +%s) - start)) s"
rs_release_backup

# iso_restore NAME [qemu args...]: boots the ISO with a fresh blank disk;
# the machine must be restored onto it.
iso_restore() {
	local name=$1 start target result
	shift
	rm -f "$LB_WORK/target.img"
	truncate -s "$RS_MACHINE_SIZE" "$LB_WORK/target.img"
	start=$(date +%s)
	rs_qemu "$LB_WORK/serial-$name.log" 400 "$@" -cdrom "$LB_WORK/rescue.iso" \
		-drive "file=$LB_WORK/target.img,format=raw,if=virtio" || {
		tr -d '\r' <"$LB_WORK/serial-$name.log" | tail -n 40
		lb_fail "$name: qemu did not power off by itself"
	}
	result=$(rs_result "$LB_WORK/serial-$name.log")
	case $result in
	"LIFEBOAT-RESULT: ok restore-session="*) ;;
	*)
		tr -d '\r' <"$LB_WORK/serial-$name.log" | tail -n 40
		lb_fail "$name: $result" ;;
	esac
	target=$(losetup -f --show "$LB_WORK/target.img")
	printf '%s\n' "$target" >>"$LB_WORK/loops"
	fx_reread "$target"
	rs_oracle "$target" >"$LB_WORK/after-$name"
	partx -d "$target" >/dev/null 2>&1 || true
	losetup -d "$target"
	diff -u "$LB_WORK/before" "$LB_WORK/after-$name" || lb_fail "$name: the restored disk differs"
	echo "ok: $name: ISO boot and restore in $(($(date +%s) - start)) s: $result"
}

iso_restore seabios -boot d
cp "$ovmf_vars" "$LB_WORK/OVMF_VARS.fd"
iso_restore ovmf -machine q35 \
	-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code" \
	-drive "if=pflash,format=raw,unit=1,file=$LB_WORK/OVMF_VARS.fd"
