#!/bin/bash
# lb-timeout: 600
# Faults of the disks themselves (issue 16), with device-mapper's error
# target in a guest (this host has no device-mapper): a capture whose
# source cannot be read in the middle of a volume's data, and a restore
# whose target cannot be written there. Each fails with an error naming
# the device and, for the read, the offset; no capture is left that looks
# complete and an earlier capture stays as it was; the restore says which
# volume failed, exits 1, and leaves no half filesystem for anything to
# mount.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
step build
printf 'label: gpt\nstart=2048, size=120000, type=0FC63DAF-8483-4772-8E4D-3D7A8B5C6E8E, name=data\n' |
	sfdisk -q /dev/vda || fail sfdisk
run mkfs.ext4 -q -L data /dev/vda1
mkdir -p /mnt/d
run mount /dev/vda1 /mnt/d
dd if=/dev/urandom of=/mnt/d/big bs=1M count=40 2>/dev/null
run umount /mnt/d
run lifeboat capture --disk /dev/vda --output /tmp/good --data image
sums_before=$(cd /tmp/good && md5sum manifest.xml disk0p1.data)

step read-error
# the disk as a loop device over a mapping whose sectors 20000-99999 fail
S=$(blockdev --getsz /dev/vda)
printf '0 20000 linear /dev/vda 0\n20000 80000 error\n100000 %s linear /dev/vda 100000\n' \
	$((S - 100000)) | dmsetup create badread || fail "dmsetup create badread"
dmsetup mknodes badread
L=$(losetup -f --show -P -r /dev/mapper/badread) || fail "losetup badread"
rc=0
out=$(lifeboat capture --disk "$L" --output /tmp/bad --data image 2>&1) || rc=$?
echo "$out"
[ "$rc" = 1 ] || fail "a capture that cannot read its source exited $rc, not 1"
echo "$out" | grep -q "cannot read $L at byte [0-9]* (byte [0-9]* of the volume): Input/output error" ||
	fail "the read error does not name the device and offset"
[ ! -e /tmp/bad ] || { ls -la /tmp/bad; fail "the failed capture left /tmp/bad"; }
ls -a /tmp | grep -q '^\.bad\.' && { ls -la /tmp; fail "the failed capture left a partial directory"; }
[ "$(cd /tmp/good && md5sum manifest.xml disk0p1.data)" = "$sums_before" ] || fail "the earlier capture changed"
run lifeboat verify /tmp/good
losetup -d "$L"
dmsetup remove badread

step write-error
# a blank target whose sectors 30000-89999 cannot be written
T=$(blockdev --getsz /dev/vdb)
printf '0 30000 linear /dev/vdb 0\n30000 60000 error\n90000 %s linear /dev/vdb 90000\n' \
	$((T - 90000)) | dmsetup create badwrite || fail "dmsetup create badwrite"
dmsetup mknodes badwrite
L2=$(losetup -f --show -P /dev/mapper/badwrite) || fail "losetup badwrite"
rc=0
out=$(lifeboat restore --yes --quick-format --disk-map disk0="$L2" /tmp/good 2>&1) || rc=$?
echo "$out" | tail -n 8
[ "$rc" = 1 ] || fail "a restore that cannot write its target exited $rc, not 1"
echo "$out" | grep -q "^lifeboat: disk0p1: FAILED: writing ${L2}p1: .*Input/output error" ||
	fail "the write error does not name the volume and the device"
echo "$out" | grep -q "restore: failed: 1 disk or volume could not be restored" ||
	fail "the restore's end does not say a volume failed"
[ -z "$(blkid -p -o value -s TYPE "${L2}p1" 2>/dev/null)" ] ||
	fail "a half-written filesystem is left for something to mount"
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
vm_check "$W/script.sh" "$W/serial.log" 500 "$a" "$b"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | grep -E '^lifeboat: (capture: disk0p1|disk0p1: FAILED)'
echo "PASS: $(lb_name)"
