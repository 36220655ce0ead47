#!/usr/bin/env bash
# lb-timeout: 300
# An image of an unmounted btrfs holds what its data chunks really use,
# read from its free space tree (src/fs/btrfs_free.c), not the whole
# chunks: a 2 GiB btrfs (4 KiB nodes, so that its trees have nodes above
# their leaves) whose data chunks are mostly free and fragmented (files
# written, every other one deleted, more written; compressed, nocow and
# preallocated files; two subvolumes and a snapshot; one block group's
# free space in bitmaps, others in extents) is captured unmounted, the
# device wiped and restored. Afterwards: a clean btrfs check, a clean
# read-only scrub (every data and metadata block's checksum: a block left
# out of the image fails it), identical subvolumes and trees, and an image
# no bigger than the metadata and system chunks (taken whole) plus the
# data really used (whole chunks fail that).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs blkdiscard chattr fallocate; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): no $t"; exit 77; }
done
grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
grep -qw btrfs /proc/filesystems || { echo "SKIP: $(lb_name): no btrfs in this kernel"; exit 77; }
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
tree() { python3 "$LB_TOP/tests/tools/tree-manifest.py" "$1"; }

d=$(fx_attach "$LB_WORK/used.img" 2G)
mkfs.btrfs -q -f -n 4096 "$d" >/dev/null 2>&1
btrfs inspect-internal dump-super "$d" | grep -q 'FREE_SPACE_TREE_VALID' ||
	lb_fail "mkfs.btrfs made no free space tree"

mount "$d" "$mnt"
btrfs -q subvolume create "$mnt/a"
btrfs -q subvolume create "$mnt/b"
mkdir "$mnt/a/z" "$mnt/a/nc"
btrfs property set "$mnt/a/z" compression zstd
chattr +C "$mnt/a/nc"
for i in $(seq 1 600); do head -c $(((i % 7 + 2) * 4096)) /dev/urandom >"$mnt/a/f$i"; done
sync
for i in $(seq 1 2 600); do rm "$mnt/a/f$i"; done
for i in $(seq 1 200); do seq -f "line $i %g" 1 12000 >"$mnt/a/z/c$i"; done
head -c 3000000 /dev/urandom >"$mnt/a/nc/vm.img"
fallocate -l 20M "$mnt/a/nc/prealloc"
printf 'written into the preallocation\n' | dd of="$mnt/a/nc/prealloc" bs=4096 seek=100 conv=notrunc status=none
btrfs -q subvolume snapshot "$mnt/a" "$mnt/snap"
for i in $(seq 2 4 600); do rm "$mnt/a/f$i"; done
for i in $(seq 1 300); do head -c 12288 /dev/urandom >"$mnt/b/g$i"; done
sync
for i in $(seq 1 3 300); do rm "$mnt/b/g$i"; done
umount "$mnt"

# what the chunks take on the device, and what of the data chunks is used
btrfs inspect-internal dump-tree -t 10 "$d" >"$LB_WORK/fst"
grep -q 'free space info extent count [0-9]* flags 1' "$LB_WORK/fst" || lb_fail "no block group of bitmaps"
grep -q 'free space info extent count [0-9][0-9]* flags 0' "$LB_WORK/fst" || lb_fail "no block group of extents"
grep -q 'node .* level [1-9]' "$LB_WORK/fst" || lb_fail "the free space tree has no node above its leaves"
mount -o ro "$d" "$mnt"
btrfs filesystem usage -b "$mnt" >"$LB_WORK/usage"
subvols() { btrfs subvolume list -a -u -q -R "$mnt" | sed 's/ gen [0-9]* / /; s/ cgen [0-9]* / /'; }
content() {
	local p
	subvols
	for p in "" a b snap; do
		echo "== /$p"
		tree "$mnt/$p"
	done
}
content >"$LB_WORK/content.before"
umount "$mnt"
allocated=$(sed -n 's/^[[:space:]]*Device allocated:[[:space:]]*\([0-9]*\)$/\1/p' "$LB_WORK/usage")
data_size=$(sed -n 's/^Data,single: Size:\([0-9]*\), Used:.*/\1/p' "$LB_WORK/usage")
data_used=$(sed -n 's/^Data,single: Size:[0-9]*, Used:\([0-9]*\) .*/\1/p' "$LB_WORK/usage")
if [ -z "$allocated" ] || [ -z "$data_size" ] || [ -z "$data_used" ]; then
	cat "$LB_WORK/usage"
	lb_fail "cannot read btrfs filesystem usage"
fi
[ $((data_used * 4)) -lt "$data_size" ] || lb_fail "the data chunks are not mostly free ($data_used of $data_size)"

"$LIFEBOAT" capture --disk="$d" --output "$LB_WORK/cap" >"$LB_WORK/capture.out" 2>&1 || {
	cat "$LB_WORK/capture.out"
	lb_fail "capture failed"
}
if grep -q 'cannot be read' "$LB_WORK/capture.out"; then
	cat "$LB_WORK/capture.out"
	lb_fail "the free space tree was not read"
fi
# the image: metadata and system chunks whole, the data used, the
# superblock copies (one inside a data chunk) and 1 MiB to spare
image=$(sed -n 's/.*: image, \([0-9]*\)\.[0-9] MiB in.*/\1/p' "$LB_WORK/capture.out")
[ -n "$image" ] || {
	cat "$LB_WORK/capture.out"
	lb_fail "no image in the capture"
}
bound=$(((allocated - data_size + data_used) / 1048576 + 1))
[ "$image" -le "$bound" ] || {
	cat "$LB_WORK/capture.out"
	lb_fail "the image is $image MiB, more than the $bound MiB used (chunks: $((allocated / 1048576)) MiB)"
}
echo "ok image of $image MiB (used $bound MiB, chunks $((allocated / 1048576)) MiB)"

wipefs -a -q "$d"
blkdiscard -f "$d" 2>/dev/null
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/restore.log" 2>&1 || {
	cat "$LB_WORK/restore.log"
	lb_fail "restore failed"
}
btrfs check --readonly "$d" >"$LB_WORK/check.log" 2>&1 || {
	cat "$LB_WORK/check.log"
	lb_fail "btrfs check finds problems"
}
mount "$d" "$mnt"
btrfs scrub start -B -r "$mnt" >"$LB_WORK/scrub.log" 2>&1 || {
	cat "$LB_WORK/scrub.log"
	lb_fail "scrub finds errors"
}
grep -q 'Error summary: *no errors found' "$LB_WORK/scrub.log" || {
	cat "$LB_WORK/scrub.log"
	lb_fail "scrub does not say it found no errors"
}
content >"$LB_WORK/content.after"
umount "$mnt"
diff -u "$LB_WORK/content.before" "$LB_WORK/content.after" || lb_fail "subvolumes or trees differ"
echo "ok restored: check and scrub clean, trees identical"
