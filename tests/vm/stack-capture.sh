#!/bin/bash
# lb-timeout: 600
# A hand-built server's stack is captured exactly (issue 13): /boot on MD
# RAID1 (metadata 1.0) and / and swap on LVM on LUKS2 on MD RAID1 (1.2,
# internal bitmap), over two disks, in a guest running Debian's kernel.
# The manifest's identities are checked against what mdadm, cryptsetup
# and lvm say (the oracles), the LUKS header artifact against cryptsetup
# luksHeaderBackup byte for byte, the LVM metadata against the group, and
# verify passes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
# attr ELEMENT-ID ATTR: an attribute of the <md|luks|vg|lv id="ELEMENT-ID">
attr() {
	grep -E "<(md|luks|vg|lv) id=\"$1\"" /tmp/cap/manifest.xml | head -n 1 |
		sed -n "s/.* $2=\"\([^\"]*\)\".*/\1/p"
}
same() {
	[ "$2" = "$3" ] || fail "$1: manifest says '$2', the tool says '$3'"
	echo "same $1: $2"
}
step build
for d in vda vdb; do
	printf 'label: gpt\nstart=2048, size=40960, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name=boot\nstart=43008, size=120000, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name=root\n' |
		sfdisk -q /dev/$d || fail "sfdisk $d"
done
run mdadm --create /dev/md/boot --run --level=1 --raid-devices=2 --metadata=1.0 --name=nas01:boot --bitmap=none /dev/vda1 /dev/vdb1
run mdadm --create /dev/md/root --run --level=1 --raid-devices=2 --metadata=1.2 --name=nas01:root --bitmap=internal /dev/vda2 /dev/vdb2
run mkfs.ext4 -q -L boot /dev/md/boot
printf 'the passphrase' >/tmp/key
run cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --label cryptroot --key-file /tmp/key /dev/md/root
run cryptsetup open --key-file /tmp/key /dev/md/root md1_crypt
run lvm pvcreate -q /dev/mapper/md1_crypt
run lvm vgcreate -q nas01-vg /dev/mapper/md1_crypt
run lvm lvcreate -q -n root -L 28M nas01-vg
run lvm lvcreate -q -n swap_1 -L 8M nas01-vg
run mkfs.ext4 -q -L root /dev/nas01-vg/root
run mkswap -L swap /dev/nas01-vg/swap_1
step capture
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/cap --data none
run lifeboat verify /tmp/cap
step compare
for md in boot root; do
	id=md0; [ $md = root ] && id=md1
	ex=$(mdadm --detail --export /dev/md/$md)
	same "$id uuid" "$(attr $id uuid)" "$(echo "$ex" | sed -n 's/^MD_UUID=//p')"
	same "$id name" "$(attr $id name)" "$(echo "$ex" | sed -n 's/^MD_NAME=//p')"
	same "$id level" "$(attr $id level)" "$(echo "$ex" | sed -n 's/^MD_LEVEL=//p')"
	same "$id metadata" "$(attr $id metadata)" "$(echo "$ex" | sed -n 's/^MD_METADATA=//p')"
done
same "md1 bitmap" "$(attr md1 bitmap)" internal
same "md0 bitmap" "$(attr md0 bitmap)" none
for p in vda2 vdb2; do
	u=$(mdadm --examine --export /dev/$p | sed -n 's/^MD_DEV_UUID=//p')
	grep -q "dev-uuid=\"$u\"" /tmp/cap/manifest.xml || fail "member $p's UUID $u is not recorded"
done
same "luks0 uuid" "$(attr luks0 uuid)" "$(cryptsetup luksUUID /dev/md/root)"
same "luks0 on" "$(attr luks0 on)" md1
same "luks0 label" "$(attr luks0 label)" cryptroot
run cryptsetup luksHeaderBackup /dev/md/root --header-backup-file /tmp/hdr
cmp /tmp/hdr /tmp/cap/luks0.header || fail "the LUKS header artifact is not cryptsetup's backup"
same "vg0 uuid" "$(attr vg0 uuid)" "$(lvm vgs --noheadings -o vg_uuid nas01-vg | tr -d ' ')"
same "vg0 name" "$(attr vg0 name)" nas01-vg
same "pv uuid" "$(sed -n 's/.*<pv on="luks0" uuid="\([^"]*\)".*/\1/p' /tmp/cap/manifest.xml)" \
	"$(lvm pvs --noheadings -o pv_uuid /dev/mapper/md1_crypt | tr -d ' ')"
same "lv0 uuid" "$(attr lv0 uuid)" "$(lvm lvs --noheadings -o lv_uuid nas01-vg/root | tr -d ' ')"
same "lv1 name" "$(attr lv1 name)" swap_1
grep -q "id = \"$(attr vg0 uuid)\"" /tmp/cap/vg0.lvm || fail "vg0.lvm is not the group's metadata"
# the volumes on top of the stack, with their filesystem identities
for pair in "md0 /dev/md/boot" "lv0 /dev/nas01-vg/root" "lv1 /dev/nas01-vg/swap_1"; do
	set -- $pair
	u=$(blkid -p -o value -s UUID "$2")
	grep -q "<volume id=\"$1\" type=\"[a-z0-9]*\" usage=\"[a-z]*\" version=\"[0-9.]*\" uuid=\"$u\"" /tmp/cap/manifest.xml ||
		fail "$1: its volume (UUID $u) is not recorded"
	echo "same $1 volume UUID: $u"
done
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
vm_check "$W/script.sh" "$W/serial.log" 500 "$a" "$b"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
echo "PASS: $(lb_name)"
