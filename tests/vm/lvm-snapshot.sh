#!/bin/bash
# lb-timeout: 900
# A live capture on LVM (issue 13), in a guest running Debian's kernel: a
# filesystem mounted read-write on a logical volume, written to while it is
# captured, is imaged from an LVM snapshot (lifeboat-snap-<lv>) that is gone
# afterwards; one on a group with no free extents is archived, with the
# reason; a snapshot a killed capture left is removed by the next run (and
# is not recorded as the machine's); a capture that fails midway (its
# output full) removes its snapshot too. Then both disks are wiped and the
# capture restored: the PV, VG and LV UUIDs and the filesystems' UUIDs are
# the same, fsck finds the snapshot's image clean, and the files are back.
# verify checks the LVs' data (a byte changed in it is found). A snapshot
# of one extent that fills up while it is read (the volume rewritten) is
# thrown away and the volume archived.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
ids() {
	lvm pvs --noheadings -o pv_name,pv_uuid,vg_uuid
	lvm lvs --noheadings -o vg_name,lv_name,lv_uuid,segtype,lv_size
	for v in /dev/vg0/root /dev/vgfull/data; do
		blkid -p -o export "$v" | grep -E '^(TYPE|UUID|LABEL)='
	done
}
no_snapshot() {
	if lvm lvs -a --noheadings -o lv_name | grep -q lifeboat-snap; then
		lvm lvs -a
		fail "$1: a lifeboat-snap snapshot is still there"
	fi
}
step build
for d in vda vdb; do
	printf 'label: gpt\nstart=2048, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name=lvm\n' |
		sfdisk -q /dev/$d || fail "sfdisk $d"
done
run lvm pvcreate -q /dev/vda1 /dev/vdb1
run lvm vgcreate -q vg0 /dev/vda1
run lvm vgcreate -q vgfull /dev/vdb1
run lvm lvcreate -q -n root -L 40M vg0
run lvm lvcreate -q -n data -l 100%FREE vgfull
run mkfs.ext4 -q -L root /dev/vg0/root
run mkfs.ext4 -q -L data /dev/vgfull/data
mkdir -p /mnt/r /mnt/f
run mount /dev/vg0/root /mnt/r
run mount /dev/vgfull/data /mnt/f
mkdir -p /mnt/r/etc
echo "made before the capture" >/mnt/r/etc/before
dd if=/dev/urandom of=/mnt/r/random bs=1k count=3072 2>/dev/null
echo "on the full group" >/mnt/f/full.txt
(cd /mnt/r && md5sum etc/before random) >/tmp/root.md5
sync
ids >/tmp/ids.before
lvm vgs
step stale
# what a killed capture leaves behind
run lvm lvcreate -q -s -n lifeboat-snap-root -L 4M vg0/root
step failing
mkdir -p /tmp/small
run mount -t tmpfs -o size=1M small /tmp/small
if lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/small/cap --data auto >/tmp/fail.log 2>&1; then
	cat /tmp/fail.log
	fail "a capture into 1 MiB succeeded"
fi
cat /tmp/fail.log
grep -q 'removed the snapshot vg0/lifeboat-snap-root an interrupted capture left' /tmp/fail.log ||
	fail "the snapshot a killed capture left was not removed (or not said)"
grep -q 'imaging .*a snapshot of vg0/root' /tmp/fail.log || fail "the failing capture took no snapshot"
no_snapshot "after a failed capture"
run umount /tmp/small
step capture
# the running system writes while it is captured
( i=0; while [ $i -lt 400 ]; do echo "line $i" >>/mnt/r/busy.log; i=$((i + 1)); sleep 0.05; done ) &
writer=$!
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/cap --data auto
kill $writer 2>/dev/null || true
wait $writer 2>/dev/null || true
echo "$out" | grep -q 'imaging /dev/mapper/vg0-lifeboat--snap--root, a snapshot of vg0/root' ||
	fail "the root was not imaged from a snapshot"
echo "$out" | grep -q 'no LVM snapshot of vgfull/data could be taken (volume group vgfull has no free extents for a snapshot): archived instead' ||
	fail "no reason given for archiving the volume on the full group"
no_snapshot "after the capture"
grep -q 'lifeboat-snap' /tmp/cap/manifest.xml /tmp/cap/*.lvm && fail "the capture recorded a lifeboat snapshot"
lifeboat show /tmp/cap >/tmp/show.txt
cat /tmp/show.txt
grep -q 'ext4 LABEL="root" .*mounted="/mnt/r" data=image(.*from an LVM snapshot)' /tmp/show.txt ||
	fail "show does not say the root was imaged from a snapshot"
grep -q 'ext4 LABEL="data" .*mounted="/mnt/f" data=archive' /tmp/show.txt ||
	fail "the volume on the full group was not archived"
grep -q 'method="image" source="lvm-snapshot"' /tmp/cap/manifest.xml ||
	fail "the manifest does not record the snapshot"
run lifeboat verify /tmp/cap
echo "$out" | grep -q '^ok     lv0 data (lv0.data, image' || fail "verify did not check the root LV's data"
echo "$out" | grep -q '^ok     vg0 LVM metadata' || fail "verify did not check vg0's metadata"
# a damaged image of the snapshot is found
cp -a /tmp/cap /tmp/bad
printf 'X' | dd of=/tmp/bad/lv0.data bs=1 seek=20000 conv=notrunc 2>/dev/null
if lifeboat verify /tmp/bad >/tmp/bad.log 2>&1; then
	cat /tmp/bad.log
	fail "verify passed a damaged lv0.data"
fi
grep -q '^FAILED lv0 data' /tmp/bad.log || { cat /tmp/bad.log; fail "verify did not name lv0's data"; }
rm -rf /tmp/bad
step wipe
run umount /mnt/r
run umount /mnt/f
run lvm vgchange -q -an vg0 vgfull
for d in vda vdb; do
	run wipefs -q -a /dev/${d}1 /dev/$d
	dd if=/dev/zero of=/dev/$d bs=1M count=80 2>/dev/null
done
[ -z "$(blkid -p -o value -s TYPE /dev/vda)" ] || fail "vda is not blank"
step restore
run lifeboat restore --yes --quick-format /tmp/cap
lvm vgchange -q -an vg0 vgfull >/dev/null 2>&1 || true
run lvm vgchange -q -ay vg0 vgfull
step after
ids >/tmp/ids.after
diff /tmp/ids.before /tmp/ids.after || fail "identities differ after the restore"
cat /tmp/ids.after
run e2fsck -fn /dev/vg0/root
run e2fsck -fn /dev/vgfull/data
run mount -o ro /dev/vg0/root /mnt/r
(cd /mnt/r && md5sum -c /tmp/root.md5) || fail "the root's files are not back"
run umount /mnt/r
run mount -o ro /dev/vgfull/data /mnt/f
[ "$(cat /mnt/f/full.txt)" = "on the full group" ] || fail "the archived volume's file is not back"
run umount /mnt/f
step overflow
# a snapshot with one extent of room, the volume rewritten while it is
# read: the snapshot fills up, its image is thrown away, the volume is
# archived instead, and the snapshot is gone
printf 'label: gpt\nstart=2048, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name=lvm\n' |
	sfdisk -q /dev/vdc || fail "sfdisk vdc"
run lvm pvcreate -q /dev/vdc1
run lvm vgcreate -q vgtight /dev/vdc1
run lvm lvcreate -q -n busy -L 40M vgtight
free=$(lvm vgs --noheadings -o vg_free_count vgtight | tr -d ' ')
run lvm lvcreate -q -n filler -l $((free - 1)) vgtight
run mkfs.ext4 -q -L busy /dev/vgtight/busy
mkdir -p /mnt/t
run mount /dev/vgtight/busy /mnt/t
dd if=/dev/urandom of=/mnt/t/seed bs=1M count=30 2>/dev/null
sync
# (stopped by a file, not a signal: a killed loop leaves its running dd
# writing, and /mnt/t busy)
rm -f /tmp/stop-writer
( while [ ! -e /tmp/stop-writer ]; do dd if=/dev/urandom of=/mnt/t/seed bs=1M count=30 conv=notrunc oflag=direct 2>/dev/null; done ) &
writer=$!
lifeboat capture --disk /dev/vdc --output /tmp/cap3 --data auto >/tmp/cap3.log 2>&1
rc=$?
touch /tmp/stop-writer
wait $writer 2>/dev/null || true
cat /tmp/cap3.log
[ $rc = 0 ] || fail "the capture with a snapshot that filled up failed"
grep -q 'imaging .*a snapshot of vgtight/busy (4.0 MiB of copy-on-write space)' /tmp/cap3.log ||
	fail "no snapshot of one extent was taken"
grep -q 'the snapshot of vgtight/busy filled up while it was read (more free extents in volume group vgtight give it more room): archived instead' /tmp/cap3.log ||
	fail "the filled-up snapshot was not said, or the volume not archived"
no_snapshot "after a snapshot filled up"
lifeboat show /tmp/cap3 | grep -q 'ext4 LABEL="busy" .*mounted="/mnt/t" data=archive' ||
	fail "the busy volume was not archived"
run umount /mnt/t
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
c=$(vm_disk c 80M)
vm_check "$W/script.sh" "$W/serial.log" 800 "$a" "$b" "$c"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | grep -E 'lifeboat: (lv|removed|warning)|imaging' || true
echo "PASS: $(lb_name)"
