#!/usr/bin/env bash
# Dense files stay dense, sparse files stay sparse, through an archive
# capture and restore (ext4 with 4 KiB and with 1 KiB blocks, mounted at
# capture): a swap file made with dd and mkswap (Ubuntu's /swap.img), one
# made with fallocate and mkswap, a file with long runs of written zeros, a
# fallocated file (and a hard link to it), one fallocated and then written
# in parts, a sparse file with holes at its start, middle and end, a sparse
# file with a preallocated range in a hole, and an empty file. Afterwards
# each has the same content and the same allocation as before
# (tree-manifest.py: holes, unwritten extents, fully allocated or not),
# both swap files are taken by swapon, and the sparse files take no more
# space than before.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
# (a swap file of ours left on: off first, or the unmount fails)
cleanup() {
	local f
	for f in "$LB_WORK"/m[12]/swap.img "$LB_WORK"/m[12]/swap-fallocated; do
		if grep -q "^$f " /proc/swaps 2>/dev/null; then swapoff "$f" 2>/dev/null || true; fi
	done
	umount -q "$LB_WORK/m1" "$LB_WORK/m2" 2>/dev/null || true
	lb_cleanup
}
trap cleanup EXIT

MiB=$((1 << 20))
mnt1=$LB_WORK/m1
mnt2=$LB_WORK/m2
mkdir -p "$mnt1" "$mnt2"

# populate DIR: the files
populate() {
	local d=$1
	# Ubuntu's swap file: zeros written with dd, then mkswap
	dd if=/dev/zero of="$d/swap.img" bs=1M count=48 status=none
	chmod 600 "$d/swap.img"
	mkswap -q "$d/swap.img"
	# the other way to make one: preallocated, never written but its header
	fallocate -l 32M "$d/swap-fallocated"
	chmod 600 "$d/swap-fallocated"
	mkswap -q "$d/swap-fallocated"
	# written zeros between runs of data (a disk image, a database file)
	{
		head -c 1M /dev/urandom
		head -c 12M /dev/zero
		head -c 1M /dev/urandom
		head -c 6M /dev/zero
	} >"$d/zero-runs"
	# preallocated (a VM image or a database made with fallocate), and a
	# hard link to it (the second entry carries no data)
	fallocate -l 24M "$d/fallocated"
	ln "$d/fallocated" "$d/fallocated-link"
	# preallocated, then written in parts
	fallocate -l 16M "$d/fallocated-written"
	head -c 2M /dev/urandom | dd of="$d/fallocated-written" bs=1M seek=1 conv=notrunc status=none
	head -c 1M /dev/urandom | dd of="$d/fallocated-written" bs=1M seek=9 conv=notrunc status=none
	# holes at the start, in the middle and at the end
	truncate -s 40M "$d/sparse"
	head -c 1M /dev/urandom | dd of="$d/sparse" bs=1M seek=4 conv=notrunc status=none
	head -c 2M /dev/urandom | dd of="$d/sparse" bs=1M seek=20 conv=notrunc status=none
	# sparse, with a preallocated range inside a hole
	truncate -s 32M "$d/sparse-prealloc"
	head -c 1M /dev/urandom | dd of="$d/sparse-prealloc" bs=1M seek=2 conv=notrunc status=none
	fallocate -o 8M -l 8M "$d/sparse-prealloc"
	: >"$d/empty"
	sync -f "$d"
}

manifest() {
	python3 "$LB_TOP/tests/tools/tree-manifest.py" "$1"
}
# line PATH MANIFEST: the manifest's line of PATH (relative)
line() {
	grep "^'$1' " "$2"
}
# premises MANIFEST: the files are what the test means them to be (so a
# change of the filesystem's defaults shows)
premises() {
	local b=$1
	line swap.img "$b" | grep -q ' holes=none allocated' || lb_fail "swap.img is not dense (test broken)"
	line zero-runs "$b" | grep -q ' holes=none allocated' || lb_fail "zero-runs is not dense (test broken)"
	line fallocated "$b" | grep -q " unwritten=0+$((24 * MiB)) allocated" ||
		lb_fail "fallocated is not one unwritten extent (test broken)"
	line fallocated-written "$b" | grep -q ' unwritten=.* allocated' ||
		lb_fail "fallocated-written has no unwritten extent (test broken)"
	line sparse "$b" | grep -q " holes=0+$((4 * MiB)),$((5 * MiB))+$((15 * MiB)),$((22 * MiB))+$((18 * MiB)) sparse" ||
		lb_fail "sparse has not the holes it was made with (test broken)"
	line sparse-prealloc "$b" | grep -q " unwritten=$((8 * MiB))+$((8 * MiB)) sparse" ||
		lb_fail "sparse-prealloc has not its preallocated range (test broken)"
	line empty "$b" | grep -q " 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855$" ||
		lb_fail "empty is not empty (test broken)"
}

# two volumes: ext4 with 4 KiB blocks, as on most machines, and with 1 KiB
# blocks (holes and zeros at a finer grain)
dev=$(fx_attach "$LB_WORK/disk.img" 420M)
printf 'label: gpt\nsize=200MiB, name="dense4k"\nsize=200MiB, name="dense1k"\n' | sfdisk -q "$dev"
fx_reread "$dev"
mkfs.ext4 -q -b 4096 -L dense4k "${dev}p1"
mkfs.ext4 -q -b 1024 -L dense1k "${dev}p2"
for p in 1 2; do
	m=$LB_WORK/m$p
	mount "${dev}p$p" "$m"
	populate "$m"
	manifest "$m" >"$LB_WORK/tree$p.before"
	premises "$LB_WORK/tree$p.before"
	for f in swap.img swap-fallocated; do
		swapon "$m/$f" || lb_fail "swapon refuses the original $f (test broken)"
		swapoff "$m/$f"
	done
	for f in sparse sparse-prealloc; do
		du -B1 "$m/$f" | cut -f1 >"$LB_WORK/$f$p.du"
	done
done

"$LIFEBOAT" capture --disk "$dev" --data archive --output "$LB_WORK/cap" >/dev/null \
	2>"$LB_WORK/capture.log" || { cat "$LB_WORK/capture.log"; lb_fail "capture failed"; }
[ "$(grep -c 'method="archive"' "$LB_WORK/cap/manifest.xml")" = 2 ] || lb_fail "expected 2 archive volumes"
umount "$mnt1" "$mnt2"

target=$(fx_attach "$LB_WORK/target.img" 420M)
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/cap" \
	>"$LB_WORK/restore.out" 2>&1 || { cat "$LB_WORK/restore.out"; lb_fail "restore failed"; }
for p in 1 2; do
	m=$LB_WORK/m$p
	e2fsck -fn "${target}p$p" >/dev/null 2>&1 || lb_fail "p$p: fsck of the restored volume is not clean"
	mount "${target}p$p" "$m"
	manifest "$m" >"$LB_WORK/tree$p.after"
	for f in sparse sparse-prealloc; do
		[ "$(du -B1 "$m/$f" | cut -f1)" -le "$(cat "$LB_WORK/$f$p.du")" ] ||
			lb_fail "p$p: $f inflated ($(du -B1 "$m/$f" | cut -f1) bytes allocated, $(cat "$LB_WORK/$f$p.du") before)"
	done
	diff -u "$LB_WORK/tree$p.before" "$LB_WORK/tree$p.after" ||
		lb_fail "p$p: the restored files differ in content or allocation"
	for f in swap.img swap-fallocated; do
		swapon "$m/$f" || lb_fail "p$p: swapon refuses the restored $f"
		swapoff "$m/$f"
	done
	umount "$m"
done
echo "ok: dense, preallocated, sparse and empty files restored with their allocation"
