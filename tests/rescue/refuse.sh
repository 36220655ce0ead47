#!/usr/bin/env bash
# Unattended restores that must not happen, each ending in one
# "LIFEBOAT-RESULT: failed <why>" line and a power-off, with nothing
# written to any disk:
#  1. the backup disk (holding the capture) is the only disk large enough
#     for the machine's: it is never picked, and the line says why;
#  2. the only other disk, as large as the machine's, holds data (its own
#     partition table and filesystem): a disk with data is never guessed.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
rs_need

rs_build_machine
rs_build_backup 320M
rs_capture --data none
rs_release_backup
rs_rescue_image "$LB_WORK/rescue.img"

# boot DISK: the rescue image, unattended, with the backup disk and DISK.
boot() {
	rs_qemu "$LB_WORK/serial-$2.log" 400 \
		-kernel "$RS_KERNEL" -initrd "$LB_WORK/rescue.img" \
		-append 'console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick' \
		-drive "file=$LB_WORK/backup.img,format=raw,if=virtio" \
		-drive "file=$1,format=raw,if=virtio" || {
		tr -d '\r' <"$LB_WORK/serial-$2.log" | tail -n 40
		lb_fail "$2: qemu did not power off by itself"
	}
}

# 1. a blank disk too small for the machine's: only the backup disk is large
#    enough
truncate -s 128M "$LB_WORK/small.img"
sums=$(lb_sha256 "$LB_WORK/backup.img" "$LB_WORK/small.img")
boot "$LB_WORK/small.img" too-small
result=$(rs_result "$LB_WORK/serial-too-small.log")
echo "$result"
case $result in
"LIFEBOAT-RESULT: failed "*"is missing"*"vda 320 MiB holds the capture, never written; vdb 128 MiB blank, too small)") ;;
*) lb_fail "too-small: expected a failure naming the missing disk and the capture's disk" ;;
esac
[ "$(lb_sha256 "$LB_WORK/backup.img" "$LB_WORK/small.img")" = "$sums" ] ||
	lb_fail "too-small: a disk was written"

# 2. a disk of the machine's size that holds data
d=$(fx_attach data.img "$RS_MACHINE_SIZE")
printf 'label: dos\n,\n' | sfdisk -q --no-reread --no-tell-kernel "$d"
lb_new_disk_id "$d"
fx_reread "$d"
fx_mkext ext4 "$(fx_part "$d" 1)" 5afe0b07-1ecb-4a7e-9000-0000000da7a0 data
printf 'precious\n' | dd of="$(fx_part "$d" 1)" bs=1k seek=9000 conv=notrunc status=none
partx -d "$d" >/dev/null 2>&1 || true
losetup -d "$d"
sums=$(lb_sha256 "$LB_WORK/backup.img" "$LB_WORK/data.img")
boot "$LB_WORK/data.img" data
result=$(rs_result "$LB_WORK/serial-data.log")
echo "$result"
case $result in
"LIFEBOAT-RESULT: failed "*"missing: no disk here matches it"*"vdb 256 MiB holds data (dos), never guessed)") ;;
*) lb_fail "data: expected a failure saying no disk matches" ;;
esac
[ "$(lb_sha256 "$LB_WORK/backup.img" "$LB_WORK/data.img")" = "$sums" ] ||
	lb_fail "data: a disk was written"
echo "ok: nothing written, and the result lines say why"
