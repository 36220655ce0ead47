#!/bin/bash
# lb-timeout: 900
# LVM thin provisioning is restored exactly onto a blank disk (issue 13), in
# a guest running Debian's kernel: a volume group over two disks, a linear
# LV "plain" on the first, a thin pool (chunk 256 KiB) on the second with
# three thin volumes, ext4 each with files: "data", "snap" (a thin snapshot
# of data, activated, then changed) and "other". Captured with their data
# (images), the disks' signatures wiped (the pool's old kernel metadata
# stays where it was, as on a reused disk), restored. A
# first restore is made to fail halfway through the pool (a dmsetup that
# refuses the second thin device): it must say so and leave nothing
# active; the second restore over that half-made pool, with the default
# full format, must finish without filling the pool. After
# it: pvs/vgs/lvs -a with UUIDs, segment types, devices, thin device ids,
# transaction ids and the pool's chunk size as before, the kernel's pool at
# the recorded transaction id, blkid -p of each thin volume as before, fsck
# clean, every file back, and compare keeps the group. Then captured again
# with the snapshot inactive (its data not in the capture): the restore is
# refused before any write, and neither disk is written.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
ids() {
	lvm pvs --noheadings -o pv_uuid,vg_uuid,pe_start
	lvm vgs --noheadings -o vg_name,vg_uuid,vg_extent_size
	lvm lvs -a --noheadings -o lv_name,lv_uuid,segtype,devices,thin_id,transaction_id,chunk_size,origin,lv_size tvg
	# the kernel's own: the pool's transaction id
	dmsetup status tvg-pool-tpool | cut -d' ' -f4
	for v in plain data snap other; do
		blkid -p -o export /dev/tvg/$v | grep -E '^(TYPE|UUID|LABEL)='
	done
}
trees() {
	for v in plain data snap other; do
		mount -o ro /dev/tvg/$v /mnt/t || return 1
		(cd /mnt/t && find . -type f ! -path './lost+found/*' | sort | xargs md5sum)
		umount /mnt/t
	done
}
fill() {
	mount "$1" /mnt/t || fail "mount $1"
	echo "$2" >/mnt/t/name
	dd if=/dev/urandom of=/mnt/t/blob bs=1k count="$3" 2>/dev/null
	mkdir -p /mnt/t/dir/sub && echo deep >/mnt/t/dir/sub/file
	umount /mnt/t
}
step build
mkdir -p /mnt/t
for d in vda vdb; do
	printf 'label: gpt\nstart=2048, size=110000, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name=pv\n' |
		sfdisk -q /dev/$d || fail "sfdisk $d"
done
run lvm pvcreate -q /dev/vda1 /dev/vdb1
run lvm vgcreate -q -s 1M tvg /dev/vda1 /dev/vdb1
run lvm lvcreate -q -n plain -L 12M tvg /dev/vda1
run mkfs.ext4 -q -L plain /dev/tvg/plain
fill /dev/tvg/plain "linear beside the pool" 200
# the pool's data and metadata on the second PV
run lvm lvcreate -q --type thin-pool -L 48M -c 256k -n pool tvg /dev/vdb1
run lvm lvcreate -q -V 32M -T tvg/pool -n data
run mkfs.ext4 -q -L data /dev/tvg/data
fill /dev/tvg/data "the origin" 900
run lvm lvcreate -q -s -n snap tvg/data
run lvm lvchange -q -ay -K tvg/snap
mount /dev/tvg/snap /mnt/t || fail "mount snap"
echo "only in the snapshot" >/mnt/t/snap-only
rm /mnt/t/dir/sub/file
umount /mnt/t
run lvm lvcreate -q -V 16M -T tvg/pool -n other
run mkfs.ext4 -q -L other /dev/tvg/other
fill /dev/tvg/other "the other one" 300
ids >/tmp/ids.before
trees >/tmp/trees.before || fail "trees before"
cat /tmp/ids.before
step capture
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/cap --data auto
# plain, data, other, snap: each one's image (the pool itself has none)
[ "$(ls /tmp/cap/lv*.data | wc -l)" = 4 ] || { ls /tmp/cap; fail "not four LVs' data"; }
# the manifest records the pool's chunk and transaction id, each thin
# volume's pool, device id and origin
out=$(lifeboat show /tmp/cap) || { echo "$out"; fail "show"; }
echo "$out" | grep -E ' lv |chunks of|thin id'
echo "$out" | grep -q '^       chunks of 256.0K, transaction id 3$' || fail "show: the pool's chunk or transaction id"
echo "$out" | grep -q '^       in pool pool, thin id 2, snapshot of data$' || fail "show: the snapshot's thin id"
step wipe
run lvm vgchange -q -an tvg
for d in vda vdb; do
	run wipefs -q -a /dev/${d}1
	run wipefs -q -a /dev/$d
	[ -z "$(blkid -p -o value -s PTTYPE /dev/$d)" ] || fail "$d is not blank"
done
step half
# a restore stopped halfway through the pool: the second thin device fails
mkdir -p /tmp/fake
cat >/tmp/fake/dmsetup <<'F'
#!/bin/sh
case "$*" in *"create_thin 2"*) echo "injected failure" >&2; exit 1 ;; esac
exec /usr/sbin/dmsetup "$@"
F
chmod +x /tmp/fake/dmsetup
if out=$(PATH=/tmp/fake:$PATH lifeboat restore --yes --quick-format /tmp/cap 2>&1); then
	echo "$out"; fail "the restore with a failing dmsetup succeeded"
fi
echo "$out" | tail -n 5
echo "$out" | grep -q 'injected failure' || fail "the failure is not reported"
dmsetup ls | grep -q '^tvg-' && { dmsetup ls; fail "the failed restore left tvg active"; }
step restore
run lifeboat restore --yes /tmp/cap
step after
run lvm vgchange -q -an tvg
run lvm vgchange -q -ay -K tvg
ids >/tmp/ids.after
diff /tmp/ids.before /tmp/ids.after || fail "identities differ after the restore"
cat /tmp/ids.after
# restored with a full format: the thin volumes were discarded, not
# zeroed (zeros would take 80 MiB of the 48 MiB pool); their data takes
# well under half of it
u=$(dmsetup status tvg-pool-tpool | cut -d' ' -f6)
echo "pool data chunks used after the restore: $u"
[ $((${u%/*} * 2)) -lt "${u#*/}" ] || fail "the restore filled the pool ($u data chunks)"
for v in plain data snap other; do run e2fsck -fn /dev/tvg/$v; done
trees >/tmp/trees.after || fail "trees after"
diff /tmp/trees.before /tmp/trees.after || fail "the files differ after the restore"
grep -q snap-only /tmp/trees.after || fail "the snapshot's own file is missing"
step intact
out=$(lifeboat compare /tmp/cap) || { echo "$out"; fail "compare after the restore"; }
echo "$out" | grep -q '^vg0 volume group tvg .*: keep' || { echo "$out"; fail "vg0 not kept"; }
step refuse
# the snapshot not active at capture (as thin snapshots are unless told):
# its data is not captured, and a pool made again would hold it empty
run lvm lvchange -q -an tvg/snap
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/cap2 --data auto
run lvm vgchange -q -an tvg
for d in vda vdb; do
	run wipefs -q -a /dev/${d}1
	run wipefs -q -a /dev/$d
done
if out=$(lifeboat restore --yes --quick-format /tmp/cap2 2>&1); then
	echo "$out"; fail "a pool without its snapshot's data was restored"
fi
echo "$out" | grep 'thin pool'
echo "$out" | grep -q 'thin pool pool: the capture holds the data of data but not of snap (not active at capture)' ||
	{ echo "$out"; fail "no refusal of the pool without the snapshot's data"; }
for d in vda vdb; do
	[ -z "$(blkid -p -o value -s PTTYPE /dev/$d)" ] || fail "the refused restore wrote $d"
done
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 60M)
b=$(vm_disk b 60M)
vm_check "$W/script.sh" "$W/serial.log" 800 "$a" "$b"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | sed -n '/^GUEST-STEP: after/,/^GUEST-STEP: ok/p'
echo "PASS: $(lb_name)"
