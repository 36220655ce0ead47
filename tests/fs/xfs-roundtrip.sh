#!/usr/bin/env bash
# lb-timeout: 1800
# xfs round trips on loop devices, each filesystem captured twice: unmounted
# (an image of its used blocks, found from its free-space trees) and mounted
# (an archive, extracted into an xfs made again from the recorded geometry),
# each time wiped (every block: blkdiscard) and restored. Afterwards:
# identical xfs_info, identical xfs_db uuid, label and metadata UUID,
# xfs_repair -n clean, identical trees (with xattrs, ACLs, reflinked copies,
# project IDs). The cases: v5 with
# rmapbt, reflink and bigtime; 4096-byte logical sectors with nrext64; a
# stripe-aligned one with a striped log; old features off with a 2 KiB
# block, big inodes and directory blocks and its own metadata UUID
# (xfs_admin -U); v4 when this mkfs.xfs makes it (imaged, and made again
# with --no-data: this kernel may not mount v4); a log left dirty, which
# must be imaged whole (its free-space trees are not the whole truth) and
# give the same tree once mounted; and a copy taken while frozen (an LVM
# snapshot's view), whose covered log still lets the used blocks be imaged. An xfs with a realtime device is refused
# clearly: a warning that names it, no geometry recorded. Last, a drill of
# an archive with project IDs passes (its compare reads them back).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.xfs xfs_info xfs_db xfs_repair xfs_io xfs_admin xfs_freeze xfs_logprint blkdiscard; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): no $t"; exit 77; }
done
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
tree() { python3 "$LB_TOP/tests/tools/tree-manifest.py" "$1"; }
# (other tests on this machine probe every blank loop device for a restore
# target, holding it open exclusively for a moment: an exclusive open of
# ours may meet EBUSY; it is tried again, a few times)
busy_retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

# what must come back identical, of an unmounted xfs
ident() {
	xfs_info "$1" | sed "s|$1|DEV|"
	xfs_db -r -c uuid -c label "$1"
	if xfs_db -r -c version "$1" | grep -q CRC; then
		xfs_db -r -c "sb 0" -c "p meta_uuid" "$1"
	fi
}

populate() {
	busy_retry mount "$1" "$mnt"
	lb_populate "$mnt"
	cp --reflink=always "$mnt/usr/bin/blob" "$mnt/usr/bin/blob-reflink" 2>/dev/null || true
	mkdir -p "$mnt/projects/web/html" "$mnt/projects/plain"
	printf 'index\n' >"$mnt/projects/web/html/index.html"
	xfs_io -c "chproj -R 42" "$mnt/projects/web" >/dev/null
	xfs_io -c "chattr +P" "$mnt/projects/web" "$mnt/projects/web/html"
	printf 'made before\n' >"$mnt/projects/web/html/no-project"
	xfs_io -c "chproj 0" "$mnt/projects/web/html/no-project" >/dev/null
	xfs_io -c "chproj 7" "$mnt/projects/plain" >/dev/null
	umount "$mnt"
}

# wipe DEV: every block of it gone (the loop file's holes read as zeros)
wipe() {
	busy_retry wipefs -a -q "$1"
	busy_retry blkdiscard -f "$1" 2>/dev/null
}

restore() {
	"$LIFEBOAT" restore --yes --quick-format "$@" >"$LB_WORK/restore.log" 2>&1 || {
		cat "$LB_WORK/restore.log"
		lb_fail "$case: restore $* failed"
	}
}

# check DEV TREE-BEFORE [notree]: the restored xfs against what was recorded
check() {
	ident "$1" >"$LB_WORK/ident.after"
	diff -u "$LB_WORK/ident.before" "$LB_WORK/ident.after" || lb_fail "$case: xfs_info/xfs_db differ"
	xfs_repair -n "$1" >"$LB_WORK/repair.log" 2>&1 || {
		cat "$LB_WORK/repair.log"
		lb_fail "$case: xfs_repair -n finds problems"
	}
	[ "${3:-}" = notree ] && return 0
	busy_retry mount -o ro "$1" "$mnt"
	tree "$mnt" >"$LB_WORK/tree.after"
	umount "$mnt"
	diff -u "$2" "$LB_WORK/tree.after" || lb_fail "$case: restored tree differs"
}

# one case: NAME SECTOR-SIZE [mkfs.xfs options...]
run_case() {
	case=$1
	local ss=$2 dev used
	shift 2
	rm -rf "$LB_WORK/cap-image" "$LB_WORK/cap-archive"
	dev=$(fx_attach "$LB_WORK/$case.img" 1G "$ss")
	mkfs.xfs -q -f -L "$case" "$@" "$dev"
	if [ "$case" = meta-uuid ]; then
		xfs_admin -U generate "$dev" >/dev/null
		[ "$(xfs_db -r -c 'sb 0' -c 'p meta_uuid' "$dev" | cut -d' ' -f3)" != \
			"$(xfs_db -r -c uuid "$dev" | cut -d' ' -f3)" ] || lb_fail "$case: no metadata UUID of its own"
	fi
	populate "$dev"
	ident "$dev" >"$LB_WORK/ident.before"
	busy_retry mount -o ro "$dev" "$mnt"
	tree "$mnt" >"$LB_WORK/tree.before"
	grep -q "project=42+inherit" "$LB_WORK/tree.before" || lb_fail "$case: no project ID to test"
	umount "$mnt"

	# unmounted: an image of the used blocks only
	"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap-image" >"$LB_WORK/capture.out" 2>&1 || {
		cat "$LB_WORK/capture.out"
		lb_fail "$case: capture (image) failed"
	}
	grep -q "<xfs " "$LB_WORK/cap-image/manifest.xml" || lb_fail "$case: no xfs geometry recorded"
	used=$(sed -n 's/.*disk0: image, \([0-9]*\)\.[0-9] MiB in.*/\1/p' "$LB_WORK/capture.out")
	[ -n "$used" ] && [ "$used" -lt 700 ] || {
		cat "$LB_WORK/capture.out"
		lb_fail "$case: the image is not of the used blocks only (${used:-?} MiB of 1024)"
	}
	wipe "$dev"
	restore "$LB_WORK/cap-image"
	check "$dev" "$LB_WORK/tree.before"

	# mounted: an archive into an xfs made from the recorded geometry
	busy_retry mount "$dev" "$mnt"
	"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap-archive" >"$LB_WORK/capture.out" 2>&1 || {
		cat "$LB_WORK/capture.out"
		lb_fail "$case: capture (archive) failed"
	}
	umount "$mnt"
	grep -q 'method="archive"' "$LB_WORK/cap-archive/manifest.xml" || lb_fail "$case: no archive"
	wipe "$dev"
	restore "$LB_WORK/cap-archive"
	grep -q "making xfs" "$LB_WORK/restore.log" || lb_fail "$case: the archive restore made no xfs"
	check "$dev" "$LB_WORK/tree.before"
	echo "ok $case"
}

run_case v5-reflink 512 -m crc=1,rmapbt=1,reflink=1,bigtime=1
run_case sector-4k 4096 -s size=4096 -m rmapbt=1 -i nrext64=1
run_case stripe 512 -d su=64k,sw=4 -l su=64k
run_case meta-uuid 512 -b size=2048 -m finobt=0,reflink=0,bigtime=0,inobtcount=0 \
	-i size=1024,maxpct=10,sparse=0 -n size=16384 -d agcount=6

# v4: imaged, and made again from its geometry alone (--no-data)
case=v4
dev=$(fx_attach "$LB_WORK/v4.img" 1G)
if mkfs.xfs -q -f -L v4 -m crc=0 -i attr=2 -n ftype=1 "$dev" 2>/dev/null; then
	ident "$dev" >"$LB_WORK/ident.before"
	rm -rf "$LB_WORK/cap-v4"
	"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap-v4" >"$LB_WORK/capture.out" 2>&1 ||
		lb_fail "v4: capture failed"
	grep -q '<xfs version="4"' "$LB_WORK/cap-v4/manifest.xml" || lb_fail "v4: no v4 geometry"
	wipe "$dev"
	restore "$LB_WORK/cap-v4"
	check "$dev" "" notree
	wipe "$dev"
	restore --no-data "$LB_WORK/cap-v4"
	check "$dev" "" notree
	echo "ok v4"
else
	echo "(v4: this mkfs.xfs does not make it)"
fi

# a copy taken while the xfs was frozen (what an LVM snapshot of a mounted
# xfs is): its log covered by the freeze, not clean, yet imaged by its used
# blocks (only superblock transactions since the log's tail: every other
# block of metadata is on the disk); the same xfs_info and tree, the mount
# replaying the superblock alone, and xfs_repair -n clean after it (the
# copy read past the block device's page cache, which the mounted xfs
# does not write through)
case=frozen
dev=$(fx_attach "$LB_WORK/frozen.img" 1G)
copy=$(fx_attach "$LB_WORK/frozen-copy.img" 1G)
mkfs.xfs -q -f -L frozen "$dev"
populate "$dev"
busy_retry mount "$dev" "$mnt"
printf 'after\n' >"$mnt/written-last"
cp -a "$mnt/etc" "$mnt/etc-copy"
xfs_freeze -f "$mnt"
dd if="$dev" of="$copy" bs=1M iflag=direct conv=sparse status=none || { xfs_freeze -u "$mnt"; lb_fail "frozen: the copy failed"; }
xfs_freeze -u "$mnt"
tree "$mnt" >"$LB_WORK/tree.before"
umount "$mnt"
xfs_logprint -t "$copy" 2>/dev/null | grep -q DIRTY || lb_fail "frozen: the copy's log is not left covered (dirty)"
ident "$copy" >"$LB_WORK/ident.before"
rm -rf "$LB_WORK/cap-frozen"
"$LIFEBOAT" capture --disk "$copy" --output "$LB_WORK/cap-frozen" >"$LB_WORK/capture.out" 2>&1 ||
	lb_fail "frozen: capture failed"
if grep -q "not clean" "$LB_WORK/capture.out"; then
	cat "$LB_WORK/capture.out"
	lb_fail "frozen: a covered log taken for a dirty one"
fi
used=$(sed -n 's/.*disk0: image, \([0-9]*\)\.[0-9] MiB in.*/\1/p' "$LB_WORK/capture.out")
[ -n "$used" ] && [ "$used" -lt 700 ] || {
	cat "$LB_WORK/capture.out"
	lb_fail "frozen: the image is not of the used blocks only (${used:-?} MiB of 1024)"
}
wipe "$copy"
restore "$LB_WORK/cap-frozen"
ident "$copy" >"$LB_WORK/ident.after"
diff -u "$LB_WORK/ident.before" "$LB_WORK/ident.after" || lb_fail "frozen: xfs_info/xfs_db differ"
busy_retry mount "$copy" "$mnt"
tree "$mnt" >"$LB_WORK/tree.after"
umount "$mnt"
diff -u "$LB_WORK/tree.before" "$LB_WORK/tree.after" || lb_fail "frozen: tree differs"
xfs_repair -n "$copy" >"$LB_WORK/repair.log" 2>&1 || {
	cat "$LB_WORK/repair.log"
	lb_fail "frozen: xfs_repair -n finds problems"
}
echo "ok frozen ($used MiB imaged)"

# a dirty log: imaged whole, and the same tree once mounted (replayed)
case=dirty-log
dev=$(fx_attach "$LB_WORK/dirty.img" 1G)
mkfs.xfs -q -f -L dirty "$dev"
populate "$dev"
busy_retry mount "$dev" "$mnt"
printf 'after\n' >"$mnt/written-last"
cp -a "$mnt/etc" "$mnt/etc-copy"
# in the log (syncfs forces it), not yet where it belongs; then the
# filesystem stops as a crash would, without writing anything more
sync -f "$mnt"
xfs_io -x -c "shutdown" "$mnt"
umount "$mnt"
xfs_logprint -t "$dev" 2>/dev/null | grep -q DIRTY || lb_fail "dirty-log: the log is not dirty"
rm -rf "$LB_WORK/cap-dirty"
"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap-dirty" >"$LB_WORK/capture.out" 2>&1 ||
	lb_fail "dirty-log: capture failed"
grep -q "not clean" "$LB_WORK/capture.out" || {
	cat "$LB_WORK/capture.out"
	lb_fail "dirty-log: no word of the dirty log"
}
grep -q "disk0: image, 1024.0 MiB" "$LB_WORK/capture.out" || lb_fail "dirty-log: not imaged whole"
busy_retry mount "$dev" "$mnt"
tree "$mnt" >"$LB_WORK/tree.before"
umount "$mnt"
wipe "$dev"
restore "$LB_WORK/cap-dirty"
busy_retry mount "$dev" "$mnt"
tree "$mnt" >"$LB_WORK/tree.after"
umount "$mnt"
diff -u "$LB_WORK/tree.before" "$LB_WORK/tree.after" || lb_fail "dirty-log: tree differs"
xfs_repair -n "$dev" >/dev/null 2>&1 || lb_fail "dirty-log: xfs_repair -n finds problems"
echo "ok dirty-log"

# a realtime section: lifeboat cannot make its device again, and says so
case=realtime
dev=$(fx_attach "$LB_WORK/rt-data.img" 1G)
rt=$(fx_attach "$LB_WORK/rt-rt.img" 200M)
mkfs.xfs -q -f -L rt -r rtdev="$rt" "$dev"
rm -rf "$LB_WORK/cap-rt"
"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap-rt" >"$LB_WORK/capture.out" 2>&1 ||
	lb_fail "realtime: capture failed"
grep -q "xfs geometry not recorded: the xfs has a realtime section" "$LB_WORK/capture.out" || {
	cat "$LB_WORK/capture.out"
	lb_fail "realtime: no warning that names the realtime section"
}
! grep -q "<xfs " "$LB_WORK/cap-rt/manifest.xml" || lb_fail "realtime: a geometry was recorded"
echo "ok realtime"

# a drill compares the rehearsal with the archive, project IDs too (no ACLs
# in this tree: the drill's compare takes a file with an ACL mask for a
# mode difference, on ext4 as well; not this test's subject)
case=drill
dev=$(fx_attach "$LB_WORK/drill.img" 1G)
mkfs.xfs -q -f -L drill "$dev"
busy_retry mount "$dev" "$mnt"
mkdir -p "$mnt/projects/web/html" "$mnt/projects/plain"
printf 'index\n' >"$mnt/projects/web/html/index.html"
xfs_io -c "chproj -R 42" "$mnt/projects/web" >/dev/null
xfs_io -c "chattr +P" "$mnt/projects/web" "$mnt/projects/web/html"
xfs_io -c "chproj 7" "$mnt/projects/plain" >/dev/null
rm -rf "$LB_WORK/cap-drill" "$LB_WORK/drill"
"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap-drill" >"$LB_WORK/capture.out" 2>&1 ||
	lb_fail "drill: capture failed"
umount "$mnt"
mkdir "$LB_WORK/drill"
"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap-drill" >"$LB_WORK/drill.log" 2>&1 || {
	cat "$LB_WORK/drill.log"
	lb_fail "drill: the drill of an archive with project IDs failed"
}
echo "ok drill"
