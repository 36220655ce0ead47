#!/bin/bash
# lb-timeout: 900
# MD round trips (issue 13), three virtio disks in one guest running
# Debian's kernel, captured together, every member wiped blank, restored
# with a key file, and compared with the tools as oracles:
#   raid5   RAID5 over three disks (metadata 1.2, chunk 128 KiB,
#           left-asymmetric, internal bitmap), ext4 with files
#   raid1   RAID1 metadata 1.2 alone (no bitmap), ext4 with files
#   raid1-0 RAID1 metadata 1.0 alone (internal bitmap), ext4 with files
#   luks-md LUKS2 on RAID1 (1.2), ext4 inside
# Afterwards, with everything stopped and assembled again from the disks
# alone: mdadm --detail/--examine (array UUID, name, level, metadata, chunk,
# layout, bitmap, sizes, data and super offsets, roles, member device
# UUIDs), the whole cryptsetup luksDump, blkid -p of every member and
# volume are as before; fsck is clean and the files are back (the arrays'
# images); the original passphrase opens the container; compare finds
# every pack kept and nothing to write.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
ids() {
	step "ids $1"
	md_ids /dev/md/r5 /dev/vda1 /dev/vdb1 /dev/vdc1 >/tmp/raid5.$1
	fs_ids /dev/vda1 /dev/vdb1 /dev/vdc1 /dev/md/r5 >>/tmp/raid5.$1
	md_ids /dev/md/r1 /dev/vda2 /dev/vdb2 >/tmp/raid1.$1
	fs_ids /dev/vda2 /dev/vdb2 /dev/md/r1 >>/tmp/raid1.$1
	md_ids /dev/md/r10 /dev/vdb3 /dev/vdc3 >/tmp/raid1-0.$1
	fs_ids /dev/vdb3 /dev/vdc3 /dev/md/r10 >>/tmp/raid1-0.$1
	md_ids /dev/md/crypt /dev/vda3 /dev/vdc2 >/tmp/luks-md.$1
	luks_ids /dev/md/crypt >>/tmp/luks-md.$1
	fs_ids /dev/vda3 /dev/vdc2 /dev/md/crypt /dev/mapper/secure >>/tmp/luks-md.$1
}
stop_all() {
	cryptsetup close secure 2>/dev/null || true
	for a in r5 r1 r10 crypt; do mdadm --stop /dev/md/$a >/dev/null 2>&1 || true; done
	mdadm --stop --scan >/dev/null 2>&1 || true
}
step build
# vda: 1 raid5, 2 raid1, 3 luks-md; vdb: 1 raid5, 2 raid1, 3 raid1-0;
# vdc: 1 raid5, 2 luks-md, 3 raid1-0
for d in vda vdb vdc; do
	printf 'label: gpt\nstart=2048, size=40960, type=A19D880F-05FC-4D3B-A006-743F0F84911E\nstart=43008, size=40960, type=A19D880F-05FC-4D3B-A006-743F0F84911E\nstart=83968, size=40960, type=A19D880F-05FC-4D3B-A006-743F0F84911E\n' |
		sfdisk -q /dev/$d || fail "sfdisk $d"
done
run mdadm --create /dev/md/r5 --run --level=5 --raid-devices=3 --metadata=1.2 --chunk=128 --layout=left-asymmetric --name=srv:r5 --bitmap=internal /dev/vda1 /dev/vdb1 /dev/vdc1
run mdadm --create /dev/md/r1 --run --level=1 --raid-devices=2 --metadata=1.2 --name=srv:r1 --bitmap=none /dev/vda2 /dev/vdb2
run mdadm --create /dev/md/r10 --run --level=1 --raid-devices=2 --metadata=1.0 --name=srv:r10 --bitmap=internal /dev/vdb3 /dev/vdc3
run mdadm --create /dev/md/crypt --run --level=1 --raid-devices=2 --metadata=1.2 --name=srv:crypt /dev/vda3 /dev/vdc2
mdadm --wait /dev/md/r5 /dev/md/r1 /dev/md/r10 /dev/md/crypt >/dev/null 2>&1 || true
run mkfs.ext4 -q -L r5 /dev/md/r5
run mkfs.ext4 -q -L r1 /dev/md/r1
run mkfs.ext4 -q -L r10 /dev/md/r10
fill /dev/md/r5 raid5
fill /dev/md/r1 raid1
fill /dev/md/r10 raid1-0
printf 'the passphrase' >/tmp/key
run cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --label secure --key-file /tmp/key /dev/md/crypt
run cryptsetup open --key-file /tmp/key /dev/md/crypt secure
run mkfs.ext4 -q -L inside /dev/mapper/secure
ids before
step capture
run lifeboat capture --disk /dev/vda --disk /dev/vdb --disk /dev/vdc --output /tmp/cap --data auto
[ "$(ls /tmp/cap/md*.data | wc -l)" = 3 ] || fail "not the three arrays with filesystems imaged: $(ls /tmp/cap)"
step wipe
stop_all
blank vda vdb vdc
step restore
run lifeboat restore --yes --quick-format --key-file /tmp/key /tmp/cap
step reassemble
stop_all
run mdadm --assemble /dev/md/r5 /dev/vda1 /dev/vdb1 /dev/vdc1
run mdadm --assemble /dev/md/r1 /dev/vda2 /dev/vdb2
run mdadm --assemble /dev/md/r10 /dev/vdb3 /dev/vdc3
run mdadm --assemble /dev/md/crypt /dev/vda3 /dev/vdc2
run cryptsetup open --key-file /tmp/key /dev/md/crypt secure
ids after
for c in raid5 raid1 raid1-0 luks-md; do
	step "case $c"
	same_ids /tmp/$c.before /tmp/$c.after $c
	case $c in
	raid5) same_tree /dev/md/r5 raid5 ;;
	raid1) same_tree /dev/md/r1 raid1 ;;
	raid1-0) same_tree /dev/md/r10 raid1-0 ;;
	luks-md) run e2fsck -fn /dev/mapper/secure ;;
	esac
done
step intact
out=$(lifeboat compare --key-file /tmp/key /tmp/cap) || { echo "$out"; fail "compare after the restore"; }
echo "$out" | grep -q '^steps: none (nothing to write)$' || { echo "$out"; fail "steps on an intact stack"; }
step passphrase
run cryptsetup close secure
run cryptsetup open --test-passphrase --key-file /tmp/key /dev/md/crypt
cat /tmp/raid5.after
step ok
G
vm_script "$W/script.sh" "$VM_DIR/lib/stack-ids.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
c=$(vm_disk c 80M)
vm_check "$W/script.sh" "$W/serial.log" 800 "$a" "$b" "$c"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | grep -E '^(same |GUEST-STEP: case)'
# what the tools said of the RAID5 after the restore, the same as before it
tr -d '\r' <"$W/serial.log" | sed -n '/^GUEST-STEP: passphrase/,/^GUEST-STEP: ok/p'
echo "PASS: $(lb_name)"
