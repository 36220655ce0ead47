#!/usr/bin/env bash
# fuzz/make-seeds.sh: makes the data file and archive seeds of the fuzz
# harnesses (fixtures/fuzz/datafile/, fixtures/fuzz/archive/) by a real
# capture of a small loop disk: a GPT with an ext4 holding a few files (a
# hard link, symlinks, an xattr, a sparse and a preallocated file), an ext2
# and a swap, captured with --data image (compressed: an image stored plain
# is megabytes) and --data archive, compressed and not. Root; run from the top of the tree after make and make
# build/fuzz/lb-decode. The manifest and plan seeds are copies of
# fixtures/manifests/*.xml and fixtures/plans/*/capture/manifest.xml.
. "$(dirname "$0")/../tests/lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
out=$LB_TOP/fixtures/fuzz
truncate -s 40M "$LB_WORK/disk.img"
dev=$(losetup -f --show -P "$LB_WORK/disk.img")
echo "$dev" >>"$LB_WORK/loops"
sfdisk -q "$dev" <<'SF'
label: gpt
size=16MiB, type=linux
size=2MiB, type=linux
size=4MiB, type=swap
SF
partx -u "$dev" 2>/dev/null || true
udevadm settle 2>/dev/null || true
mkfs.ext4 -q -L fuzz -b 1024 -N 64 -J size=1 "${dev}p1"
mkfs.ext2 -q -L small -N 16 "${dev}p2"
mkswap -L sw "${dev}p3" >/dev/null
mkdir "$LB_WORK/mnt"
mount "${dev}p1" "$LB_WORK/mnt"
m=$LB_WORK/mnt
mkdir -p "$m/etc" "$m/d/e"
printf 'root:x:0:0::/root:/bin/sh\n' >"$m/etc/passwd"
ln "$m/etc/passwd" "$m/etc/hard"
ln -s ../etc/passwd "$m/d/link"
ln -s /nowhere "$m/d/dangling"
setfattr -n user.fuzz -v seed "$m/etc/passwd"
truncate -s 1M "$m/d/sparse" && printf 'x' >>"$m/d/sparse"
fallocate -l 64K "$m/d/prealloc"
printf 'tail\n' >"$m/d/e/f"
umount "$m"
for mode in image archive; do
	for comp in none 1; do
		[ "$mode-$comp" = image-none ] && continue
		"$LIFEBOAT" capture --output "$LB_WORK/$mode-$comp" --disk "$dev" --data "$mode" \
			--compress "$comp" >/dev/null
		for f in "$LB_WORK/$mode-$comp"/*.data; do
			cp "$f" "$out/datafile/$mode-$comp-$(basename "$f")"
			[ "$mode" = archive ] && [ "$comp" = none ] &&
				"$LB_TOP/build/fuzz/lb-decode" "$f" >"$out/archive/$(basename "$f" .data).pax"
		done
	done
done
# encrypted: made with the harness's own key (fuzz_key)
"$LB_TOP/build/fuzz/lb-decode" --encrypted-seeds "$out/datafile"
ls -l "$out/datafile" "$out/archive"
