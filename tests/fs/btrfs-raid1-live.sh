#!/usr/bin/env bash
# A mounted btrfs over two disks (raid1 data and metadata, a partition on
# each) with nested subvolumes, read-only snapshots and a default
# subvolume other than 5, as an admin runs lifeboat on it:
# - captured live (archived per subvolume from read-only snapshots) and
#   drilled while it stays mounted on this machine;
# - unmounted, captured again as images: its subvolumes recorded without a
#   warning (both devices given to the mount), and it still mounts
#   afterwards with no scan; the images drilled while it is unmounted and
#   while it is mounted;
# - after every drill its btrfs filesystem show is unchanged and it mounts;
# - then its disks die and the live capture is restored onto two blank
#   disks: made once over both (mkfs.btrfs), subvolumes and files after:
#   the same filesystem show (fsid, devids, device UUIDs), profiles,
#   subvolume list -a -q (IDs, paths, parent UUIDs of the snapshots
#   excepted), read-only flags, default, trees; btrfs check clean;
# - restore --no-data makes the same btrfs with its subvolume tree, empty.
# lb-timeout: 600
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs sfdisk partprobe wipefs; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): no $t"; exit 77; }
done
grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
grep -qw btrfs /proc/filesystems || { echo "SKIP: $(lb_name): no btrfs in this kernel"; exit 77; }
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
M=$LB_WORK/m
mkdir "$M"

disks=()
devs=()
for i in 0 1; do
	d=$(fx_attach "$LB_WORK/disk$i.img" 360M)
	printf 'label: gpt\nsize=300MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$d"
	lb_new_disk_id "$d"
	fx_reread "$d"
	disks+=("$d")
	devs+=("$(fx_part "$d" 1)")
done
mkfs.btrfs -q -f -L pair -d raid1 -m raid1 "${devs[@]}" >/dev/null 2>&1
btrfs device scan "${devs[@]}" >/dev/null
mount -t btrfs "${devs[0]}" "$M"
b() { btrfs -q "$@" >/dev/null; }
# unmounts the original and waits until its devices are let go: a
# lifeboat that ran while it was mounted had it in its own mount namespace,
# which the kernel tears down a moment after lifeboat exits
off() {
	local d _
	umount "$M"
	for d in "${devs[@]}"; do
		for _ in $(seq 50); do
			python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))' "$d" 2>/dev/null && break
			sleep 0.2
		done
	done
}
b subvolume create "$M/@"			# 256
b subvolume create "$M/@/home"			# 257
b subvolume create "$M/@/home/user"		# 258
echo top >"$M/top-file"
echo etc >"$M/@/etc-file"
mkdir "$M/@/home/docs"
echo one >"$M/@/home/docs/letter"
dd if=/dev/urandom of="$M/@/home/blob" bs=1M count=4 status=none
echo user >"$M/@/home/user/profile"
mkdir "$M/snaps"
b subvolume snapshot -r "$M/@/home" "$M/snaps/home-1"	# 259
echo two >>"$M/@/home/docs/letter"
b subvolume set-default "$M/@"
sync

# the filesystem as btrfs shows it (used bytes change with every capture's
# snapshots: masked), of the devices in the order given
show() { btrfs filesystem show "$1" | sed 's/ used [0-9.]*[KMG]*i*B/ used X/g; s/ path .*//'; }
subvols() {
	btrfs subvolume list -a -q "$1" | sed -E 's/ gen [0-9]+ / /; s/ parent_uuid +[-0-9a-f]+ +/ /'
	btrfs subvolume list -r "$1" | awk '{ print "ro", $2 }'
	btrfs subvolume get-default "$1" | sed -E 's/ gen [0-9]+ / /'
}
tree() {
	(cd "$1" && find . -printf '%p %y %m %U %G %l %s\n' | sort)
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
show "${devs[0]}" >"$LB_WORK/show.before"
btrfs filesystem df "$M" | sed 's/: total=.*//' >"$LB_WORK/df.before"
subvols "$M" >"$LB_WORK/subvols.before"
tree "$M" >"$LB_WORK/tree.before"
grep -q 'Total devices 2' "$LB_WORK/show.before" || lb_fail "not a btrfs over two devices"

# the original as it was: the same filesystem show, and it mounts
original_intact() {
	show "${devs[0]}" >"$LB_WORK/show.now"
	diff -u "$LB_WORK/show.before" "$LB_WORK/show.now" >&2 || lb_fail "$1: the original's filesystem show changed"
	if ! mountpoint -q "$M"; then
		mount -t btrfs "${devs[0]}" "$M" 2>"$LB_WORK/mount.err" ||
			lb_fail "$1: the original no longer mounts: $(cat "$LB_WORK/mount.err"; dmesg | tail -3)"
		[ -f "$M/etc-file" ] || lb_fail "$1: the original mounts without its default subvolume"
		off
	fi
}
drill() {
	"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$1" >"$LB_WORK/drill.out" 2>&1 ||
		lb_fail "$2: drill: $(cat "$LB_WORK/drill.out")"
	grep -q "made with the fsid" "$LB_WORK/drill.out" || lb_fail "$2: the drill does not say the fsid it used"
	original_intact "$2"
	echo "ok drill of the $2"
}

# 1. captured while mounted, drilled while mounted
umount "$M"
mount -t btrfs -o subvolid=5 "${devs[0]}" "$M"
"$LIFEBOAT" capture --data auto "${disks[@]/#/--disk=}" --output "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 ||
	lb_fail "live capture: $(cat "$LB_WORK/out")"
grep -q 'source="btrfs-snapshot"' "$LB_WORK/cap/manifest.xml" || lb_fail "not archived from snapshots"
btrfs subvolume list -a "$M" | grep -q lifeboat-snap && lb_fail "a capture snapshot was left"
drill "$LB_WORK/cap" "live archive, original mounted"

# 2. unmounted: images, the subvolumes recorded (both devices mounted)
off
"$LIFEBOAT" capture --data image "${disks[@]/#/--disk=}" --output "$LB_WORK/img" >"$LB_WORK/out" 2>&1 ||
	lb_fail "image capture: $(cat "$LB_WORK/out")"
grep -q 'warning' "$LB_WORK/out" && lb_fail "the image capture warns: $(cat "$LB_WORK/out")"
# (an image names no file as a clone of another's)
grep '<subvolume ' "$LB_WORK/cap/manifest.xml" | sed 's/ clones-from="[0-9]*"//' >"$LB_WORK/sv.live"
grep '<subvolume ' "$LB_WORK/img/manifest.xml" >"$LB_WORK/sv.img" || true
diff -u "$LB_WORK/sv.live" "$LB_WORK/sv.img" >&2 || lb_fail "the unmounted capture records other subvolumes"
original_intact "image capture"
echo "ok unmounted: images, the same subvolumes recorded, no warning, still mounts"
drill "$LB_WORK/img" "images, original unmounted"
drill "$LB_WORK/cap" "live archive, original unmounted"
mount -t btrfs "${devs[0]}" "$M"
drill "$LB_WORK/img" "images, original mounted"
off

# 3. the disks die; the live capture restored onto two blank disks
for d in "${devs[@]}"; do
	btrfs device scan --forget "$d" 2>/dev/null || true
	wipefs -q -a "$d"
done
blanks=()
for i in 0 1; do
	blanks+=("$(fx_attach "$LB_WORK/blank$i.img" 360M)")
done
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=${blanks[0]}" --disk-map "disk1=${blanks[1]}" \
	"$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || lb_fail "restore: $(cat "$LB_WORK/out")"
[ "$(grep -c 'making btrfs' "$LB_WORK/out")" = 1 ] || lb_fail "not made by one mkfs.btrfs: $(cat "$LB_WORK/out")"
new=()
for d in "${blanks[@]}"; do
	fx_reread "$d"
	new+=("$(fx_part "$d" 1)")
done
btrfs device scan "${new[@]}" >/dev/null
btrfs check --readonly "${new[0]}" >"$LB_WORK/check" 2>&1 || lb_fail "btrfs check: $(cat "$LB_WORK/check")"
show "${new[0]}" >"$LB_WORK/show.after"
for f in show; do
	# (the same fsid, devids, sizes; the paths are the new disks')
	diff -u "$LB_WORK/$f.before" "$LB_WORK/$f.after" >&2 || lb_fail "filesystem show differs"
done
for i in 0 1; do
	for k in dev_item.uuid dev_item.devid; do
		a=$(btrfs inspect-internal dump-super "${new[$i]}" | awk -v k=$k '$1 == k { print $2 }')
		[ -n "$a" ] && grep -q "dev-uuid=\"$a\"\|devid=\"$a\"" "$LB_WORK/cap/manifest.xml" ||
			lb_fail "${new[$i]}: $k $a is not the recorded one"
	done
done
mount -t btrfs -o subvolid=5 "${new[0]}" "$M"
btrfs filesystem df "$M" | sed 's/: total=.*//' >"$LB_WORK/df.after"
diff -u "$LB_WORK/df.before" "$LB_WORK/df.after" >&2 || lb_fail "profiles differ"
subvols "$M" >"$LB_WORK/subvols.after"
diff -u "$LB_WORK/subvols.before" "$LB_WORK/subvols.after" >&2 || lb_fail "subvolumes differ"
tree "$M" >"$LB_WORK/tree.after"
diff -u "$LB_WORK/tree.before" "$LB_WORK/tree.after" >&2 || lb_fail "trees differ"
umount "$M"
echo "ok restored onto two blank disks: one mkfs.btrfs, same show, device UUIDs, profiles, subvolumes, default, trees; btrfs check clean"

# 4. restore --no-data: the same btrfs made again over both, with its
# subvolume tree (IDs, paths, read-only flags, default) and no files
for d in "${new[@]}"; do
	btrfs device scan --forget "$d" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9; do
		wipefs -q -a "$d" 2>/dev/null && break
		sleep 1
	done
	wipefs -q -a "$d"
done
"$LIFEBOAT" restore --yes --quick-format --no-data --disk-map "disk0=${blanks[0]}" \
	--disk-map "disk1=${blanks[1]}" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 ||
	lb_fail "restore --no-data: $(cat "$LB_WORK/out")"
btrfs device scan "${new[@]}" >/dev/null
btrfs check --readonly "${new[0]}" >"$LB_WORK/check" 2>&1 || lb_fail "--no-data: btrfs check: $(cat "$LB_WORK/check")"
mount -t btrfs -o subvolid=5 "${new[0]}" "$M"
subvols "$M" >"$LB_WORK/subvols.empty"
diff -u "$LB_WORK/subvols.before" "$LB_WORK/subvols.empty" >&2 || lb_fail "--no-data: subvolumes differ"
[ -z "$(find "$M" -type f)" ] || lb_fail "--no-data: files were restored: $(find "$M" -type f)"
umount "$M"
echo "ok restore --no-data: the subvolume tree (IDs, paths, read-only flags, default) made, no files"
