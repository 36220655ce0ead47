#!/usr/bin/env bash
# Intact disks are left alone (DESIGN.md, "Restore semantics"):
#  (a) restore onto untouched disks changes no byte (lb_disk_sums: a digest of
#      the whole backing images, before and after), on GPT, MBR with logicals
#      and 4Kn;
#  (b) a new partition in free space (GPT: in a gap and at the end; MBR: a
#      new logical in the extended) keeps the disk intact: compare exits 0
#      and restore writes no byte;
#  (c) a grown last partition (GPT raw, GPT with ext4, MBR logical) keeps it
#      intact;
#  (d) a shrunk, moved, deleted or re-GUIDed partition makes compare say
#      recreate (exit 1), and restore puts the recorded layout back
#      (sfdisk --dump, blkid -p, dumpe2fs -h as captured).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail

cap=

# setup LAYOUT: build it in a fresh work dir, give its disks fresh
# signatures, capture them; sets disks[] and cap, and saves the oracle.
setup() {
	lb_cleanup
	lb_workdir
	export LIFEBOAT_LOG_DIR=$LB_WORK/log
	lb_build_layout "$1" >/dev/null
	mapfile -t disks <"$LB_WORK/disks"
	for d in "${disks[@]}"; do lb_new_disk_id "$d"; done
	cap=$LB_WORK/cap
	"$LIFEBOAT" capture --output "$cap" "${disks[@]/#/--disk=}" >/dev/null 2>&1 ||
		lb_fail "$1: capture failed"
	lb_oracle "${disks[@]}" >"$LB_WORK/oracle.captured"
}

# sf DEV ARGS...: change a table the way an admin would, kernel untouched.
sf() {
	local dev=$1
	shift
	sfdisk -q --no-reread --no-tell-kernel "$@" "$dev" >/dev/null
}

# expect_intact WHAT: compare exits 0 with every disk intact, and restore
# --yes says there is nothing to do and changes no byte of any disk.
expect_intact() {
	local what=$1 rc=0
	"$LIFEBOAT" compare "$cap" >"$LB_WORK/plan" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || grep -Eq ': (recreate|missing|excluded)' "$LB_WORK/plan" ||
		[ "$(grep -c ': intact$' "$LB_WORK/plan")" -ne "${#disks[@]}" ]; then
		cat "$LB_WORK/plan"
		lb_fail "$what: compare exit $rc, expected 0 with every disk intact"
	fi
	lb_guard "$cap"
	lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.before"
	rc=0
	"$LIFEBOAT" restore --yes --quick-format "$cap" >"$LB_WORK/restore.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q 'nothing to do' "$LB_WORK/restore.log"; then
		cat "$LB_WORK/restore.log"
		lb_fail "$what: restore exit $rc, expected 0 and 'nothing to do'"
	fi
	lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.after"
	diff -u "$LB_WORK/sums.before" "$LB_WORK/sums.after" ||
		lb_fail "$what: restore onto an intact disk changed its bytes"
}

# expect_recreate WHAT WHY: compare exits 1 saying recreate (WHY, a regex of
# its reason); restore puts the captured layout back; compare is happy again.
expect_recreate() {
	local what=$1 why=$2 rc=0
	"$LIFEBOAT" compare "$cap" >"$LB_WORK/plan" 2>&1 || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -Eq ": recreate \(.*$why" "$LB_WORK/plan"; then
		cat "$LB_WORK/plan"
		lb_fail "$what: compare exit $rc, expected 1 and 'recreate ($why'"
	fi
	lb_guard "$cap"
	"$LIFEBOAT" restore --yes --quick-format "$cap" >"$LB_WORK/restore.log" 2>&1 || {
		cat "$LB_WORK/restore.log"
		lb_fail "$what: restore failed"
	}
	grep -q 'recreating' "$LB_WORK/restore.log" || {
		cat "$LB_WORK/restore.log"
		lb_fail "$what: restore did not recreate the disk"
	}
	lb_oracle "${disks[@]}" >"$LB_WORK/oracle.restored"
	diff -u "$LB_WORK/oracle.captured" "$LB_WORK/oracle.restored" ||
		lb_fail "$what: the restored layout differs from the captured one"
	"$LIFEBOAT" compare "$cap" >"$LB_WORK/plan" 2>&1 || {
		cat "$LB_WORK/plan"
		lb_fail "$what: compare after the restore is not all intact"
	}
}

# (a) untouched disks
for layout in gpt-server mbr-logical 4kn; do
	setup "$layout"
	expect_intact "(a) untouched $layout"
	echo "ok (a) untouched $layout: restore wrote nothing"
done

# (b) new partitions in free space; (c) a grown last partition.
# gpt-odd: p2 4096+32768, gap to p1 at 45056, p5 120001+20001, free to the end.
setup gpt-odd
d=${disks[0]}
echo 'start=36864, size=8192' | sf "$d" --append
expect_intact "(b) gpt-odd + a partition in the gap between p2 and p1"
echo 'start=141312, size=8192' | sf "$d" --append
expect_intact "(b) gpt-odd + a partition in the free space at the end"
[ "$(sfdisk --dump "$d" | grep -c ' : start=')" -eq 5 ] ||
	lb_fail "(b) the new partitions are not in the table"
echo "ok (b) gpt-odd: new partitions in free space keep the disk intact"
setup gpt-odd
d=${disks[0]}
echo ',+' | sf "$d" -N 5
[ "$(sfdisk --dump "$d" | sed -n 's/.*p5 : .*size= *\([0-9]*\),.*/\1/p')" -gt 20001 ] ||
	lb_fail "(c) p5 did not grow"
expect_intact "(c) gpt-odd with p5 (the last) grown to the end"
echo "ok (c) gpt-odd: a grown last partition keeps the disk intact"
setup multi-disk # disk A: GPT, p1 ext4 2048+65536 on 128 MiB
echo 'size=131072' | sf "${disks[0]}" -N 1
expect_intact "(c) multi-disk with disk A's ext4 p1 grown"
echo "ok (c) multi-disk: a grown partition holding ext4 keeps the disk intact (volume kept)"

# mbr-logical: extended 198656..524287, last logical p7 358400+32768, free
# space after it inside the extended.
setup mbr-logical
d=${disks[0]}
echo 'start=430080, size=32768, type=83' | sf "$d" --append
[ "$(sfdisk --dump "$d" | grep -c 'p8 : start=')" -eq 1 ] || lb_fail "(b) no new logical p8"
expect_intact "(b) mbr-logical + a logical partition p8 in the extended's free space"
echo 'size=65536' | sf "$d" -N 7
expect_intact "(c) mbr-logical with p7 (a logical) grown"
echo "ok (b)(c) mbr-logical: new logical and grown logical keep the disk intact"

# (d) shrunk, moved, deleted, re-GUIDed: recreate, then the captured layout.
setup gpt-server
d=${disks[0]}
echo 'size=200000' | sf "$d" -N 3
expect_recreate "(d) gpt-server p3 shrunk" 'partition 3 is smaller'
echo 'start=497664, size=729088' | sf "$d" -N 5
expect_recreate "(d) gpt-server p5 start moved" 'partition 5 starts at 497664, recorded 495616'
sfdisk -q --no-reread --no-tell-kernel --delete "$d" 4
expect_recreate "(d) gpt-server p4 deleted" 'partition 4 is gone'
sfdisk -q --no-reread --no-tell-kernel --part-uuid "$d" 2 6C1FE0B0-0001-4C1F-8A00-0000000000FF
expect_recreate "(d) gpt-server p2 with another GUID" 'partition 2 has GUID'
echo "ok (d) gpt-server: shrunk, moved, deleted, re-GUIDed partitions are recreated"
setup gpt-odd
d=${disks[0]}
echo 'start=8192' | sf "$d" -N 2 # p2 keeps its size, moves into the gap
expect_recreate "(d) gpt-odd p2 moved" 'partition 2 starts at 8192, recorded 4096'
echo "ok (d) gpt-odd: a moved partition is recreated"
setup mbr-logical
d=${disks[0]}
echo 'start=210944' | sf "$d" -N 5
expect_recreate "(d) mbr-logical logical p5 moved" 'partition 5 starts at'
echo "ok (d) mbr-logical: a moved logical partition is recreated"
lb_cleanup
