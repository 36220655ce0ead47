#!/usr/bin/env bash
# An encrypted capture (capture --encrypt --key-file) on the backup disk,
# its key file beside it at /keys/capture.key, restored by the rescue image
# unattended: without lifeboat.key-file the result line says the capture is
# encrypted and the blank disk is not written; with
# lifeboat.key-file=/keys/capture.key (PATH on the capture's medium) the
# restore succeeds and the disk has the machine's partition table,
# identities and boot code. The backup disk is never written.
# lb-timeout: 1200
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
rs_need

rs_build_machine
rs_build_backup 320M
head -c 48 /dev/urandom >"$LB_WORK/key"
rs_capture --data none --encrypt --key-file "$LB_WORK/key"
grep -q '<encryption ' "$LB_WORK/backup/lifeboat/machine/manifest.xml" ||
	lb_fail "the capture is not encrypted"
mkdir -p "$LB_WORK/backup/keys"
cp "$LB_WORK/key" "$LB_WORK/backup/keys/capture.key"
rs_oracle "$RS_MACHINE" >"$LB_WORK/before"
rs_release_backup
sync "$LB_WORK/backup.img"
backup_sum=$(lb_sha256 "$LB_WORK/backup.img" | cut -d' ' -f1)
cp --sparse=always "$LB_WORK/backup.img" "$LB_WORK/backup.orig"
backup_check() { # WHEN
	[ "$(lb_sha256 "$LB_WORK/backup.img" | cut -d' ' -f1)" = "$backup_sum" ] && return 0
	cmp -l "$LB_WORK/backup.orig" "$LB_WORK/backup.img" | head -n 5 >&2 || true
	lb_fail "the backup disk was written ($1)"
}
truncate -s "$RS_MACHINE_SIZE" "$LB_WORK/target.img"
target_sum=$(lb_sha256 "$LB_WORK/target.img" | cut -d' ' -f1)
rs_rescue_image "$LB_WORK/rescue.img"

boot() { # SERIAL-LOG EXTRA-KERNEL-ARGS
	rs_qemu "$1" 400 \
		-kernel "$RS_KERNEL" -initrd "$LB_WORK/rescue.img" \
		-append "console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick lifeboat.capture=LABEL=LBBACKUP:/lifeboat/machine $2" \
		-drive "file=$LB_WORK/backup.img,format=raw,if=virtio" \
		-drive "file=$LB_WORK/target.img,format=raw,if=virtio" || {
		tr -d '\r' <"$1" | tail -n 40
		lb_fail "qemu did not power off by itself (exit $?)"
	}
}

# without the key: refused, nothing written
boot "$LB_WORK/serial-nokey.log" ""
result=$(rs_result "$LB_WORK/serial-nokey.log")
echo "$result"
case $result in
"LIFEBOAT-RESULT: failed "*encrypted*key*) ;;
*) lb_fail "without lifeboat.key-file: $result" ;;
esac
[ "$(lb_sha256 "$LB_WORK/target.img" | cut -d' ' -f1)" = "$target_sum" ] ||
	lb_fail "the target disk was written without the key"
backup_check "the boot without the key"

# with the key on the capture's medium
boot "$LB_WORK/serial.log" "lifeboat.key-file=/keys/capture.key"
result=$(rs_result "$LB_WORK/serial.log")
echo "$result"
case $result in
"LIFEBOAT-RESULT: ok restore-session="*) ;;
*)
	tr -d '\r' <"$LB_WORK/serial.log" | tail -n 40
	lb_fail "the unattended restore with lifeboat.key-file did not succeed" ;;
esac
backup_check "the boot with the key"
target=$(losetup -f --show "$LB_WORK/target.img")
printf '%s\n' "$target" >>"$LB_WORK/loops"
fx_reread "$target"
rs_oracle "$target" >"$LB_WORK/after"
diff -u "$LB_WORK/before" "$LB_WORK/after" || lb_fail "the restored disk differs from the machine"
echo "ok: restored from the encrypted capture with lifeboat.key-file"
