#!/usr/bin/env bash
# "A truncated or tampered manifest or artifact is refused before any write"
# (the restore issue; DESIGN.md: "the plan is computed and checked completely
# before the first write"), for captures whose damage neither the schema nor
# a size check sees:
#  - manifests edited to hold a table libfdisk cannot lay out: overlapping
#    GPT partitions, two partitions at one start, a partition before GPT's
#    first usable LBA, an MBR logical outside its extended partition,
#    overlapping MBR primaries;
#  - a data artifact with one byte flipped (same size; its SHA-256 in the
#    manifest no longer matches).
# The target disk needs recreating (one partition deleted) and still holds
# its filesystems: restore must exit non-zero and leave every byte as it was.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail

lb_workdir
trap 'umount "$LB_WORK/m" 2>/dev/null || true; lb_cleanup' EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log
failed=0

# prepare LAYOUT PARTITION DATA: build LAYOUT with a fresh signature, capture
# it (--data DATA) into $LB_WORK/cap-LAYOUT, then delete PARTITION from its
# table so that a restore has to recreate it. Sets dev.
prepare() {
	lb_build_layout "$1" >/dev/null
	dev=$(losetup -n -O NAME -j "$LB_WORK/$1.img")
	lb_new_disk_id "$dev"
	"$LIFEBOAT" capture --data "$3" --output "$LB_WORK/cap-$1" --disk "$dev" >/dev/null 2>&1 ||
		lb_fail "$1: capture failed"
	good=$LB_WORK/cap-$1 gone=$2
	sfdisk -q --no-reread --no-tell-kernel --delete "$dev" "$gone"
	lb_disk_sums "$dev" >/dev/null # settles the backing file after the edit
}

# reset: after a case that wrote, the disk as prepare left it, so that the
# next case starts from a disk that holds data again.
reset() {
	"$LIFEBOAT" restore --yes --quick-format "$good" >/dev/null 2>&1 || lb_fail "cannot reset $dev"
	sfdisk -q --no-reread --no-tell-kernel --delete "$dev" "$gone"
	lb_disk_sums "$dev" >/dev/null
}

# refused NAME CAPTURE: restore --yes exits non-zero and writes no byte.
refused() {
	local rc=0
	lb_guard "$2"
	lb_disk_sums "$dev" >"$LB_WORK/sums.before"
	"$LIFEBOAT" restore --yes --quick-format "$2" >"$LB_WORK/out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		cat "$LB_WORK/out"
		lb_fail "$1: restore succeeded"
	fi
	if ! lb_disk_sums "$dev" | cmp -s "$LB_WORK/sums.before" -; then
		echo "FAIL: $1: restore exit $rc, but only after writing to the disk:" >&2
		grep -E 'recreating|FAILED|failed' "$LB_WORK/out" | sed 's/^/    /' >&2
		failed=$((failed + 1))
		[ -z "${good:-}" ] || reset
		return 0
	fi
	echo "ok $1: refused (exit $rc), nothing written"
}

# edited WHAT NAME CAPTURE SED: restore refuses $LB_WORK/NAME, a copy of
# CAPTURE with SED applied to its manifest.
edited() {
	local c=$LB_WORK/$2
	cp -a "$3" "$c"
	sed -i "$4" "$c/manifest.xml"
	! cmp -s "$3/manifest.xml" "$c/manifest.xml" || lb_fail "$1: the edit did not apply"
	refused "$1" "$c"
}

# gpt-server: p1 2048+98304, p2 100352+2048, p3 102400+262144,
# p4 364544+131072, p5 495616+731136; first usable LBA 2048.
prepare gpt-server 3 none
cap=$LB_WORK/cap-gpt-server
edited "GPT partitions overlapping" overlap "$cap" \
	's/start="364544" size="131072"/start="364544" size="231072"/'
edited "two GPT partitions at one start" same-start "$cap" \
	's/start="100352" size="2048"/start="2048" size="2048"/'
edited "a GPT partition before the first usable LBA" before-first "$cap" \
	's/start="2048" size="98304"/start="40" size="100312"/'

# mbr-logical: p1 2048+131072, p2 133120+65536, extended p3 198656+325632,
# logicals p5 200704, p6 276480, p7 358400+32768.
prepare mbr-logical 6 none
cap=$LB_WORK/cap-mbr-logical
edited "an MBR logical partition outside its extended partition" logical-outside "$cap" \
	's/start="358400" size="32768"/start="100" size="32768"/'
edited "overlapping MBR primaries" primary-overlap "$cap" \
	's/start="133120" size="65536"/start="133120" size="99999"/'

# a data artifact with one byte flipped: multi-disk's disk A (GPT, ext4
# "data" on p1) with 8 MiB of files, captured with its data
lb_build_layout multi-disk >/dev/null
for d in $(cat "$LB_WORK/disks"); do lb_new_disk_id "$d"; done
dev=$(losetup -n -O NAME -j "$LB_WORK/multi-disk-a.img")
mkdir "$LB_WORK/m"
mount -t ext4 "${dev}p1" "$LB_WORK/m"
head -c 8M /dev/urandom >"$LB_WORK/m/blob"
umount "$LB_WORK/m"
cap=$LB_WORK/cap-multi-disk
"$LIFEBOAT" capture --data image --output "$cap" --disk "$dev" >/dev/null 2>&1 || lb_fail "capture of disk A failed"
art=$(sed -n 's/.*<data file="\([^"]*\)".*/\1/p' "$cap/manifest.xml" | head -n1)
[ -n "$art" ] && [ -f "$cap/$art" ] || lb_fail "no data artifact in the capture"
c=$LB_WORK/flipped
cp -a "$cap" "$c"
off=$(($(stat -c %s "$c/$art") / 2))
b=$(od -An -tu1 -j "$off" -N1 "$c/$art" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - b)))" | dd of="$c/$art" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$cap/$art" "$c/$art" && lb_fail "the byte did not flip"
echo 'size=30000' | sfdisk -q --no-reread --no-tell-kernel -N 1 "$dev" # p1 shrunk: recreate
good=
refused "a data artifact with a byte flipped" "$c"

[ "$failed" -eq 0 ] || lb_fail "$failed damaged capture(s) were refused only after writing"
lb_cleanup
