#!/usr/bin/env bash
# lb-timeout: 1800
# btrfs round trips on loop devices, captured unmounted (an image of each
# device's used bytes: its superblock copies, its metadata and system
# chunks' stripes and what its free space tree does not call free in its
# data chunks), each device wiped (every block:
# blkdiscard) and restored. Two cases: "single" on one whole disk (data
# single, metadata dup, xxhash checksums, its own metadata UUID from
# btrfstune -m) and "raid1" over a partition on each of two disks (data and
# metadata raid1). Each holds nested subvolumes, a default subvolume other
# than 5, a read-only snapshot and nocow files (chattr +C). Afterwards:
# identical btrfs filesystem show, dump-super of every device (device
# UUIDs included), subvolume list -a -u -q -R, get-default, lsattr, a
# clean btrfs check and read-only scrub, and identical trees per
# subvolume.
# Then the mkfs path (restore --no-data): the same fsid, metadata UUID,
# label, sizes, checksum, features, devids, device UUIDs and profiles made
# again, the two devices of raid1 by one mkfs.btrfs. And the refusals before any
# write: a half-restored raid1 (one disk excluded), a feature mkfs.btrfs
# 6.2 cannot make.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs btrfstune blkdiscard sfdisk partprobe lsattr chattr; do
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
busy_retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

populate() {
	busy_retry mount "$1" "$mnt"
	btrfs -q subvolume create "$mnt/@"
	btrfs -q subvolume create "$mnt/@/home"
	btrfs -q subvolume create "$mnt/@/home/nested"
	lb_populate "$mnt/@"
	printf 'nested\n' >"$mnt/@/home/nested/file"
	mkdir "$mnt/@/nocow"
	chattr +C "$mnt/@/nocow"
	head -c 5000000 /dev/urandom >"$mnt/@/nocow/vm.img"
	: >"$mnt/@/nocow-file"
	chattr +C "$mnt/@/nocow-file"
	head -c 100000 /dev/urandom >>"$mnt/@/nocow-file"
	btrfs -q subvolume snapshot -r "$mnt/@" "$mnt/@snap-1"
	printf 'after the snapshot\n' >"$mnt/@/etc/after"
	btrfs subvolume set-default "$mnt/@" >/dev/null
	umount "$mnt"
}

# what must come back identical, of the unmounted btrfs on DEVS...
ident() {
	local d
	btrfs filesystem show "$1" | sed 's/ used [0-9.]*[KMG]iB/ used X/'
	for d in "$@"; do
		blockdev --flushbufs "$d"	# (no superblock left in the page cache)
		btrfs inspect-internal dump-super "$d" | grep -v '^generation\|^cache_generation\|^uuid_tree_generation\|^chunk_root_generation\|^csum\b\|^bytes_used\|dev_item.bytes_used\|^root\b\|^root_level\|^chunk_root\b\|^log_root\|^backup' || true
	done
}

# what the mounted filesystem holds: subvolumes, default, flags, trees
content() {
	local p
	busy_retry mount -o ro,subvolid=5 "$1" "$mnt"
	btrfs subvolume list -a -u -q -R "$mnt" | sed 's/ gen [0-9]* / /; s/ cgen [0-9]* / /'
	btrfs subvolume get-default "$mnt"
	(cd "$mnt" && lsattr -R -a . 2>/dev/null | grep -v '^$' | sort)
	for p in "" $(btrfs subvolume list -o "$mnt" | sed 's/.* path //'); do
		echo "== subvolume /$p"
		tree "$mnt/$p"
	done
	umount "$mnt"
}

wipe() {
	local d
	for d in "$@"; do
		busy_retry wipefs -a -q "$d"
		busy_retry blkdiscard -f "$d" 2>/dev/null
	done
}

restore() {
	"$LIFEBOAT" restore --yes --quick-format "$@" >"$LB_WORK/restore.log" 2>&1 || {
		cat "$LB_WORK/restore.log"
		lb_fail "$case: restore $* failed"
	}
}

check_clean() {
	btrfs check --readonly "$1" >"$LB_WORK/check.log" 2>&1 || {
		cat "$LB_WORK/check.log"
		lb_fail "$case: btrfs check finds problems"
	}
}

# every data and metadata block's checksum (of every copy): a block left
# out of the image fails it
scrub_clean() {
	busy_retry mount "$1" "$mnt"
	if ! btrfs scrub start -B -r "$mnt" >"$LB_WORK/scrub.log" 2>&1 ||
		! grep -q 'Error summary: *no errors found' "$LB_WORK/scrub.log"; then
		cat "$LB_WORK/scrub.log"
		umount "$mnt"
		lb_fail "$case: scrub finds errors"
	fi
	umount "$mnt"
}

# the fields mkfs.btrfs makes again, once the kernel has mounted it (it
# sets big_metadata itself on a first mount, as it did on the original)
made_fields() {
	local d
	busy_retry mount "$1" "$mnt"
	btrfs filesystem df "$mnt" | sed 's/: total=.*//'
	umount "$mnt"
	# (default_subvol, bit 1, comes with the subvolumes: with the data)
	for d in "$@"; do
		btrfs inspect-internal dump-super "$d" |
			grep -E '^(fsid|metadata_uuid|label|nodesize|sectorsize|csum_type|num_devices|dev_item.devid|dev_item.uuid|dev_item.total_bytes|total_bytes|incompat_flags|compat_ro_flags|compat_flags)[[:space:]]' |
			while read -r k v rest; do
				[ "$k" = incompat_flags ] && v=$(printf '%#x' $((v & ~2)))
				printf '%s %s %s\n' "$k" "$v" "$rest"
			done
	done
}

# one case: NAME DEVS-VAR-NAMES... (the devices the btrfs is on)
run_case() {
	local used total=0
	rm -rf "$LB_WORK/cap"
	populate "${devs[0]}"
	made_fields "${devs[@]}" >"$LB_WORK/made.before"
	content "${devs[0]}" >"$LB_WORK/content.before"
	# (after the last mount before the capture: its unmount's commit is
	# what the capture sees)
	ident "${devs[@]}" >"$LB_WORK/ident.before"
	grep -q '^ID 256 gen [0-9]* top level 5 path @$' "$LB_WORK/content.before" ||
		lb_fail "$case: no default subvolume to test"
	grep -q -- '-C-* \./@/nocow$' "$LB_WORK/content.before" || lb_fail "$case: no nocow directory to test"

	"$LIFEBOAT" capture "${disks[@]/#/--disk=}" --output "$LB_WORK/cap" >"$LB_WORK/capture.out" 2>&1 || {
		cat "$LB_WORK/capture.out"
		lb_fail "$case: capture failed"
	}
	[ "$(grep -c '<btrfs ' "$LB_WORK/cap/manifest.xml")" = "${#devs[@]}" ] ||
		lb_fail "$case: not one <btrfs> per device"
	# each device's image holds its used bytes only
	for used in $(sed -n 's/.*: image, \([0-9]*\)\.[0-9] MiB in.*/\1/p' "$LB_WORK/capture.out"); do
		total=$((total + 1))
		[ "$used" -lt 500 ] || {
			cat "$LB_WORK/capture.out"
			lb_fail "$case: an image is not of the used bytes only ($used MiB of 1024)"
		}
	done
	[ "${total:-0}" = "${#devs[@]}" ] || lb_fail "$case: not one image per device"

	wipe "${devs[@]}"
	restore "$LB_WORK/cap"
	btrfs device scan "${devs[@]}" >/dev/null
	ident "${devs[@]}" >"$LB_WORK/ident.after"
	diff -u "$LB_WORK/ident.before" "$LB_WORK/ident.after" || lb_fail "$case: filesystem show or dump-super differ"
	check_clean "${devs[0]}"
	scrub_clean "${devs[0]}"
	content "${devs[0]}" >"$LB_WORK/content.after"
	diff -u "$LB_WORK/content.before" "$LB_WORK/content.after" || lb_fail "$case: subvolumes or trees differ"
	echo "ok $case image"

	# mkfs path: the same filesystem made again, empty
	wipe "${devs[@]}"
	restore --no-data "$LB_WORK/cap"
	[ "$(grep -c 'making btrfs' "$LB_WORK/restore.log")" = 1 ] || {
		cat "$LB_WORK/restore.log"
		lb_fail "$case: not made by one mkfs.btrfs"
	}
	btrfs device scan "${devs[@]}" >/dev/null
	check_clean "${devs[0]}"
	made_fields "${devs[@]}" >"$LB_WORK/made.after"
	diff -u "$LB_WORK/made.before" "$LB_WORK/made.after" || lb_fail "$case: mkfs.btrfs made something else"
	echo "ok $case mkfs"
}

# single: one whole disk, xxhash, its own metadata UUID
case=single
d0=$(fx_attach "$LB_WORK/single.img" 1G)
mkfs.btrfs -q -f -L "single fs" --csum xxhash -n 32768 "$d0" >/dev/null 2>&1
btrfstune -m "$d0" >/dev/null 2>&1 </dev/null || lb_fail "single: btrfstune -m failed"
btrfs inspect-internal dump-super "$d0" | grep -q '^metadata_uuid.*[1-9a-f]' || lb_fail "single: no metadata UUID"
devs=("$d0")
disks=("$d0")
run_case
grep -q 'metadata-uuid=' "$LB_WORK/cap/manifest.xml" || lb_fail "single: no metadata UUID recorded"

# a feature mkfs.btrfs cannot make: refused before any write
sed 's/features="mixed_backref/features="block_group_tree mixed_backref/' "$LB_WORK/cap/manifest.xml" \
	>"$LB_WORK/cap/bgt.xml"
wipe "$d0"
before=$(sha256sum <"$d0")
if "$LIFEBOAT" restore --yes --no-data "$LB_WORK/cap/bgt.xml" >"$LB_WORK/refuse.log" 2>&1; then
	lb_fail "single: a feature mkfs.btrfs cannot make was not refused"
fi
grep -q 'btrfs feature block_group_tree cannot be made' "$LB_WORK/refuse.log" || {
	cat "$LB_WORK/refuse.log"
	lb_fail "single: the refusal does not name the feature"
}
[ "$(sha256sum <"$d0")" = "$before" ] || lb_fail "single: the refused restore wrote"
echo "ok single refusal"

# raid1: a partition on each of two disks
case=raid1
devs=()
disks=()
for i in 1 2; do
	d=$(fx_attach "$LB_WORK/raid1-$i.img" 1100M)
	printf 'label: gpt\n,1000M,L\n' | sfdisk -q "$d" >/dev/null
	fx_reread "$d"
	disks+=("$d")
	devs+=("$(fx_part "$d" 1)")
done
mkfs.btrfs -q -f -L raid1 -d raid1 -m raid1 "${devs[@]}" >/dev/null 2>&1
btrfs device scan "${devs[@]}" >/dev/null
run_case
grep -q 'data="raid1" metadata="raid1" system="raid1"' "$LB_WORK/cap/manifest.xml" ||
	lb_fail "raid1: profiles not recorded"

# half of it: refused before any write (the first disk blank, the other
# excluded)
wipe "${disks[0]}"
before=$(sha256sum <"${disks[0]}")
if "$LIFEBOAT" restore --yes --no-data --exclude-disk disk1 "$LB_WORK/cap" >"$LB_WORK/refuse.log" 2>&1; then
	lb_fail "raid1: half a btrfs was made"
fi
grep -q 'never made half' "$LB_WORK/refuse.log" || {
	cat "$LB_WORK/refuse.log"
	lb_fail "raid1: the refusal does not say why"
}
[ "$(sha256sum <"${disks[0]}")" = "$before" ] || lb_fail "raid1: the refused restore wrote"
echo "ok raid1 refusal"
