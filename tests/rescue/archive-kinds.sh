#!/usr/bin/env bash
# Every kind of filesystem lifeboat captures as an archive can be made,
# mounted and extracted inside the rescue image: a disk with ext2, ext4,
# xfs and btrfs volumes (xfs and btrfs when this machine can make them, as
# mkrescue includes their drivers and tools only then) is captured with
# --data archive, restored by the rescue image unattended onto a blank
# disk, and each restored volume holds the same tree as the original (paths,
# types, modes, owners, times, contents, xattrs, ACLs, links, device nodes,
# sparse files). vfat, which this host cannot mount, is covered by
# live-debian.sh: a running UEFI machine's ESP is always an archive.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
rs_need
W=$LB_WORK
kinds=(ext2 ext4)
command -v mkfs.xfs >/dev/null && kinds+=(xfs) || echo "note: no mkfs.xfs here, xfs left out"
command -v mkfs.btrfs >/dev/null && kinds+=(btrfs) || echo "note: no mkfs.btrfs here, btrfs left out"

dev=$(fx_attach disk.img 1G)
{
	echo 'label: gpt'
	for k in "${kinds[@]}"; do
		case $k in xfs) echo "size=320MiB, name=\"$k\"" ;; btrfs) echo "size=160MiB, name=\"$k\"" ;; *) echo "size=64MiB, name=\"$k\"" ;; esac
	done
} | sfdisk -q --no-reread --no-tell-kernel "$dev"
lb_new_disk_id "$dev"
fx_reread "$dev"
mkdir -p "$W/mnt"
n=0
for k in "${kinds[@]}"; do
	n=$((n + 1))
	p=$(fx_part "$dev" $n)
	case $k in
	ext*) mkfs."$k" -q -L "$k-vol" "$p" ;;
	xfs) mkfs.xfs -q -f -L xfs-vol "$p" ;;
	btrfs) mkfs.btrfs -q -f -L btrfs-vol "$p" >/dev/null ;;
	esac
	mount -t "$k" "$p" "$W/mnt"
	lb_populate "$W/mnt"
	python3 "$LB_TOP/tests/tools/tree-manifest.py" "$W/mnt" >"$W/tree-$k.before"
	umount "$W/mnt"
done
rs_build_backup 512M
"$LIFEBOAT" capture --disk "$dev" --data archive --output "$W/backup/lifeboat/machine" \
	>"$W/capture.log" 2>&1 || { cat "$W/capture.log"; lb_fail "capture failed"; }
[ "$(grep -c 'method="archive"' "$W/backup/lifeboat/machine/manifest.xml")" = ${#kinds[@]} ] ||
	lb_fail "expected ${#kinds[@]} archive volumes"
rs_release_backup
truncate -s 1G "$W/target.img"
rs_rescue_image "$W/rescue.img"

start=$(date +%s)
rs_qemu "$W/serial.log" 600 -smp 2 \
	-kernel "$RS_KERNEL" -initrd "$W/rescue.img" \
	-append 'console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick' \
	-drive "file=$W/backup.img,format=raw,if=virtio" \
	-drive "file=$W/target.img,format=raw,if=virtio" || {
	tr -d '\r' <"$W/serial.log" | tail -n 40
	lb_fail "the rescue image did not power off by itself"
}
result=$(rs_result "$W/serial.log")
echo "$result ($(($(date +%s) - start)) s)"
case $result in
"LIFEBOAT-RESULT: ok"*) ;;
*) tr -d '\r' <"$W/serial.log" | grep -v '^\[' | tail -n 40; lb_fail "the unattended restore did not succeed" ;;
esac

target=$(losetup -f --show "$W/target.img")
printf '%s\n' "$target" >>"$W/loops"
fx_reread "$target"
n=0
for k in "${kinds[@]}"; do
	n=$((n + 1))
	p=$(fx_part "$target" $n)
	[ "$(blkid -p -o value -s TYPE "$p")" = "$k" ] || lb_fail "$k: the restored volume is not $k"
	[ "$(blkid -p -o value -s LABEL "$p")" = "$k-vol" ] || lb_fail "$k: label not restored"
	mount -t "$k" -o ro "$p" "$W/mnt"
	python3 "$LB_TOP/tests/tools/tree-manifest.py" "$W/mnt" >"$W/tree-$k.after"
	umount "$W/mnt"
	diff -u "$W/tree-$k.before" "$W/tree-$k.after" || lb_fail "$k: the restored tree differs"
	echo "ok: $k: made, mounted and extracted in the rescue image; same tree"
done
