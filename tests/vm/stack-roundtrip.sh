#!/bin/bash
# lb-timeout: 900
# A hand-built server's stack is restored exactly onto blank disks (issue
# 13): /boot (ext4) on MD RAID1 metadata 1.0, / (ext4) and swap on LVM on
# LUKS2 on MD RAID1 metadata 1.2, over two disks, in a guest running
# Debian's kernel. Captured (the container's ciphertext, nothing mounted in
# it), every disk wiped blank, restored; afterwards mdadm, cryptsetup and
# lvm report the same identities (array UUIDs and names, LUKS UUID and
# keyslots, PV, VG and LV UUIDs), the original passphrase opens the
# container, the filesystems and swap have their UUIDs and labels and fsck
# finds them clean, and the files captured on /boot (the array's image) are
# back, and the plaintext of / (inside LUKS) is nowhere in the capture.
# Then drill rehearses on loop devices in the same guest: the ciphertext
# capture even while the machine's own group is visible; a capture taken
# with / mounted (what is inside LUKS made again) with the key — refused
# while the group is visible, and without a key — and leaves nothing of its
# own behind.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
ids() {
	for md in boot root; do
		mdadm --detail --export /dev/md/$md | grep -E '^MD_(UUID|NAME|LEVEL|METADATA|DEVICES)='
		mdadm --detail /dev/md/$md | grep -E 'Intent Bitmap|Layout|Chunk' || true
	done
	cryptsetup luksDump /dev/md/root | grep -E '^(Version|UUID|Label)|^  [0-9]: luks2|Cipher:|Data segments' 
	lvm pvs --noheadings -o pv_uuid,vg_uuid,pe_start
	lvm lvs --noheadings -o lv_name,lv_uuid,segtype,lv_size
	for v in /dev/md/boot /dev/nas01-vg/root /dev/nas01-vg/swap_1; do
		blkid -p -o export "$v" | grep -E '^(TYPE|UUID|LABEL)='
	done
}
step build
for d in vda vdb; do
	printf 'label: gpt\nstart=2048, size=40960, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name=boot\nstart=43008, size=120000, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name=root\n' |
		sfdisk -q /dev/$d || fail "sfdisk $d"
done
run mdadm --create /dev/md/boot --run --level=1 --raid-devices=2 --metadata=1.0 --name=nas01:boot --bitmap=none /dev/vda1 /dev/vdb1
run mdadm --create /dev/md/root --run --level=1 --raid-devices=2 --metadata=1.2 --name=nas01:root --bitmap=internal /dev/vda2 /dev/vdb2
run mkfs.ext4 -q -L boot /dev/md/boot
# files on /boot (on the array, not encrypted: its data is captured) and on
# / (inside LUKS: its plaintext must not be)
mkdir -p /mnt/b /mnt/r
run mount /dev/md/boot /mnt/b
echo "kernel of nas01" >/mnt/b/vmlinuz-test
dd if=/dev/urandom of=/mnt/b/initrd-test bs=1k count=700 2>/dev/null
(cd /mnt/b && md5sum vmlinuz-test initrd-test) >/tmp/boot.md5
run umount /mnt/b
printf 'the passphrase' >/tmp/key
run cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --label cryptroot --key-file /tmp/key /dev/md/root
run cryptsetup open --key-file /tmp/key /dev/md/root md1_crypt
run lvm pvcreate -q /dev/mapper/md1_crypt
run lvm vgcreate -q nas01-vg /dev/mapper/md1_crypt
run lvm lvcreate -q -n root -L 28M nas01-vg
run lvm lvcreate -q -n swap_1 -L 8M nas01-vg
run mkfs.ext4 -q -L root /dev/nas01-vg/root
run mkswap -L swap /dev/nas01-vg/swap_1
run mount /dev/nas01-vg/root /mnt/r
echo "SECRET-PLAINTEXT-7f3a9c" >/mnt/r/secret.txt
run umount /mnt/r
ids >/tmp/ids.before
step capture
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/cap --data auto
[ -f /tmp/cap/md0.data ] || fail "no data captured for /boot on md0"
[ ! -e /tmp/cap/lv0.data ] || fail "the root inside LUKS was captured"
if grep -r -q SECRET-PLAINTEXT-7f3a9c /tmp/cap; then fail "the plaintext of the LUKS volume is in the capture"; fi
step wipe
run lvm vgchange -q -an nas01-vg
run cryptsetup close md1_crypt
run mdadm --stop /dev/md/boot
run mdadm --stop /dev/md/root
for d in vda vdb; do
	run wipefs -q -a /dev/${d}1 /dev/${d}2 /dev/$d
	dd if=/dev/zero of=/dev/$d bs=1M count=80 2>/dev/null
done
[ -z "$(blkid -p -o value -s TYPE /dev/vda)" ] || fail "vda is not blank"
step restore
run lifeboat restore --yes --quick-format --key-file /tmp/key /tmp/cap
step reassemble
# what a boot does: everything stopped, then assembled from the disks alone
lvm vgchange -q -an nas01-vg >/dev/null 2>&1 || true
cryptsetup close md1_crypt 2>/dev/null || true
mdadm --stop --scan >/dev/null 2>&1 || true
run mdadm --assemble /dev/md/boot /dev/vda1 /dev/vdb1
run mdadm --assemble /dev/md/root /dev/vda2 /dev/vdb2
run cryptsetup open --key-file /tmp/key /dev/md/root md1_crypt
run lvm vgchange -q -ay nas01-vg
step after
ids >/tmp/ids.after
diff /tmp/ids.before /tmp/ids.after || fail "identities differ after the restore"
cat /tmp/ids.after
run e2fsck -fn /dev/md/boot
run mount -o ro /dev/md/boot /mnt/b
(cd /mnt/b && md5sum -c /tmp/boot.md5) || fail "/boot's files are not back"
run umount /mnt/b
run e2fsck -fn /dev/nas01-vg/root
step intact
# the restored stack is the captured one: every pack kept, nothing to do
out=$(lifeboat compare --key-file /tmp/key /tmp/cap) || { echo "$out"; fail "compare after the restore"; }
echo "$out" | grep -q '^md1 raid1 .*: keep (its disks are intact)$' || { echo "$out"; fail "md1 not kept"; }
echo "$out" | grep -q '^vg0 volume group nas01-vg .*: keep' || { echo "$out"; fail "vg0 not kept"; }
echo "$out" | grep -q '^steps: none (nothing to write)$' || { echo "$out"; fail "steps on an intact stack"; }
step reopen
run lvm vgchange -q -an nas01-vg
run cryptsetup close md1_crypt
run cryptsetup open --test-passphrase --key-file /tmp/key /dev/md/root
step drill-refused
# /tmp/cap holds the container's ciphertext: a drill writes it back and
# makes nothing inside, so the machine's own group (its container open
# here) is no obstacle
run cryptsetup open --key-file /tmp/key /dev/md/root md1_crypt
run lvm vgchange -q -ay nas01-vg
out=$(lifeboat drill /tmp/cap 2>&1) || { echo "$out"; fail "drill of the ciphertext capture with the group here"; }
echo "$out" | grep -q 'lv0: inside LUKS ciphertext written back: not opened' || { echo "$out"; fail "drill: lv0 not said to be inside the ciphertext"; }
[ -z "$(losetup -a 2>/dev/null)" ] || fail "drill left loop devices: $(losetup -a)"
# a capture taken with / mounted has no ciphertext: what is inside LUKS is
# made again, with the key, and a drill cannot make a second group of the
# machine's group's name: it says so before making anything
run mount /dev/nas01-vg/root /mnt/r
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/capm --data auto
run umount /mnt/r
[ ! -e /tmp/capm/luks0.data ] || fail "ciphertext captured with a filesystem mounted inside"
if grep -r -q SECRET-PLAINTEXT-7f3a9c /tmp/capm; then fail "the plaintext of the LUKS volume is in the capture"; fi
if out=$(lifeboat drill --key-file /tmp/key /tmp/capm 2>&1); then echo "$out"; fail "drill with the group here"; fi
echo "$out" | grep -q 'a volume group named nas01-vg is on this machine' || { echo "$out"; fail "drill: no word of the group"; }
[ -z "$(losetup -a 2>/dev/null)" ] || fail "drill left loop devices: $(losetup -a)"
run lvm vgchange -q -an nas01-vg
run cryptsetup close md1_crypt
# without the key, what is inside LUKS cannot be made: refused
if out=$(lifeboat drill /tmp/capm 2>&1); then echo "$out"; fail "drill without a key"; fi
echo "$out" | grep -q -- '--key-file FILE' || { echo "$out"; fail "drill: no word of the key"; }
step drill
out=$(lifeboat drill --key-file /tmp/key /tmp/capm 2>&1) || { echo "$out"; fail "drill of the stack"; }
echo "$out"
echo "$out" | grep -q '^drill: PASSED' || fail "drill did not pass"
# taken down: no drill array, mapping, group or loop device is left, and
# the machine's own arrays are still there
# (mdadm without udev leaves its /dev/md/ links: the kernel's list counts)
[ "$(grep -c '^md[0-9]* : active' /proc/mdstat)" = 2 ] || fail "drill left arrays: $(cat /proc/mdstat)"
[ ! -e /dev/mapper/lifeboat-drill-luks0 ] || fail "drill left its LUKS mapping"
[ -z "$(losetup -a 2>/dev/null)" ] || fail "drill left loop devices: $(losetup -a)"
[ -z "$(lvm vgs --noheadings -o vg_name 2>/dev/null)" ] || fail "drill left a group: $(lvm vgs)"
[ -b /dev/md/boot ] && [ -b /dev/md/root ] || fail "the machine's arrays are gone"
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
vm_check "$W/script.sh" "$W/serial.log" 800 "$a" "$b"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
# what the tools said after the restore, the same as before it
tr -d '\r' <"$W/serial.log" | sed -n '/^GUEST-STEP: after/,/^GUEST-STEP: reopen/p'
echo "PASS: $(lb_name)"
