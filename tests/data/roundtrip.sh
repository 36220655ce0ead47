#!/usr/bin/env bash
# Volume data round trip onto a blank replacement disk: ext2, ext3, ext4 with
# and without metadata_csum, 1 KiB and 4 KiB blocks, vfat and a raw partition
# as images (unmounted at capture), two ext volumes as archives (mounted at
# capture: --data auto). Afterwards: image volumes byte-identical (cmp),
# archive volumes identical file by file (paths, types, modes, owners, times,
# sizes, contents, xattrs, ACLs, links, device numbers), no sparse file
# inflated, fsck -fn clean everywhere.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" "$LB_WORK/m7/srv/inner" "$LB_WORK/m2" "$LB_WORK/m7" 2>/dev/null || true; lb_cleanup' EXIT

dev=$(fx_attach "$LB_WORK/disk.img" 700M)
sfdisk -q "$dev" <<'LAYOUT'
label: gpt
size=64MiB, name="ext2-1k"
size=96MiB, name="ext3-4k"
size=160MiB, name="ext4-csum"
size=96MiB, name="ext4-1k-nocsum"
size=48MiB, type=uefi, name="esp"
size=8MiB, name="raw"
size=160MiB, name="ext4-archive"
LAYOUT
fx_reread "$dev"
mkfs.ext2 -q -b 1024 -L ext2-1k "${dev}p1"
mkfs.ext3 -q -b 4096 -L ext3-4k "${dev}p2"
mkfs.ext4 -q -b 4096 -O metadata_csum -L ext4-csum "${dev}p3"
mkfs.ext4 -q -b 1024 -O ^metadata_csum -L ext4-1k "${dev}p4"
mkfs.vfat -F 32 -n ESP "${dev}p5" >/dev/null
head -c 8M /dev/urandom >"$LB_WORK/raw.bin"
dd if="$LB_WORK/raw.bin" of="${dev}p6" bs=1M conv=fsync status=none
mkfs.ext4 -q -L ext4-archive "${dev}p7"
for p in 1 2 3 4 7; do
	mount "${dev}p$p" "$mnt"
	lb_populate "$mnt"
	umount "$mnt"
done
printf 'efi\n' >"$LB_WORK/grubx64.efi"
mmd -i "${dev}p5" ::/EFI ::/EFI/debian
mcopy -i "${dev}p5" "$LB_WORK/grubx64.efi" ::/EFI/debian/grubx64.efi

# p2 and p7 mounted: archives; the rest unmounted: images
mkdir -p "$LB_WORK/m2" "$LB_WORK/m7"
mount "${dev}p2" "$LB_WORK/m2"
mount "${dev}p7" "$LB_WORK/m7"
mkdir -m 0755 "$LB_WORK/m7/srv" "$LB_WORK/m7/srv/inner"
python3 "$LB_TOP/tests/tools/tree-manifest.py" "$LB_WORK/m2" >"$LB_WORK/tree2.before"
python3 "$LB_TOP/tests/tools/tree-manifest.py" "$LB_WORK/m7" >"$LB_WORK/tree7.before"
# one filesystem only: what is mounted inside p7 stays out (the diff of the
# trees shows it), and so does the capture itself, written into p7 and
# named there through a symlink
mount -t tmpfs -o size=1M,mode=0755 tmpfs "$LB_WORK/m7/srv/inner"
echo 'not this filesystem' >"$LB_WORK/m7/srv/inner/not-archived"
ln -s "$LB_WORK/m7" "$LB_WORK/m7link"
"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/m7link/cap" >/dev/null 2>"$LB_WORK/capture.log" || {
	cat "$LB_WORK/capture.log"
	lb_fail "capture with data failed"
}
cp -a "$LB_WORK/m7/cap" "$LB_WORK/cap"
umount "$LB_WORK/m7/srv/inner" "$LB_WORK/m2" "$LB_WORK/m7"
for p in 1 3 4 5 6; do
	grep -q "id=\"disk0p$p\".*" "$LB_WORK/cap/manifest.xml"
done
[ "$(grep -c 'method="image"' "$LB_WORK/cap/manifest.xml")" = 5 ] || lb_fail "expected 5 image volumes"
[ "$(grep -c 'method="archive"' "$LB_WORK/cap/manifest.xml")" = 2 ] || lb_fail "expected 2 archive volumes"
"$LIFEBOAT" verify "$LB_WORK/cap" >/dev/null || lb_fail "verify failed on a fresh capture"

# a blank replacement disk of the same size
target=$(fx_attach "$LB_WORK/target.img" 700M)
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/cap" \
	>"$LB_WORK/restore.out" 2>&1 || {
	cat "$LB_WORK/restore.out"
	lb_fail "restore with data failed"
}
for p in 1 3 4 5 6; do
	cmp "${dev}p$p" "${target}p$p" || lb_fail "image volume p$p is not byte-identical"
done
for p in 1 2 3 4 7; do
	e2fsck -fn "${target}p$p" >/dev/null 2>&1 || lb_fail "fsck of restored p$p is not clean"
done
fsck.vfat -n "${target}p5" >/dev/null || lb_fail "fsck.vfat of restored p5 is not clean"
for p in 2 7; do
	mount -o ro "${target}p$p" "$mnt"
	python3 "$LB_TOP/tests/tools/tree-manifest.py" "$mnt" >"$LB_WORK/tree$p.after"
	du -sk "$mnt/var/sparse" | cut -f1 >"$LB_WORK/sparse$p.kb"
	umount "$mnt"
	diff -u "$LB_WORK/tree$p.before" "$LB_WORK/tree$p.after" ||
		lb_fail "archive volume p$p: the restored tree differs"
	[ "$(cat "$LB_WORK/sparse$p.kb")" -lt 1024 ] || lb_fail "p$p: the sparse file was inflated"
done
grep -q sparse "$LB_WORK/tree2.before" || lb_fail "the test tree has no sparse file (test broken)"
grep -q 'xattr system.posix_acl_access' "$LB_WORK/tree2.before" || lb_fail "no ACL in the tree (test broken)"
echo "ok: data round trip (5 images byte-identical, 2 archives identical)"
