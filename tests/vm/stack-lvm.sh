#!/bin/bash
# lb-timeout: 900
# LVM and LUKS round trips (issue 13), two virtio disks in one guest
# running Debian's kernel, captured together, every disk wiped blank,
# restored with a key file, and compared with the tools as oracles:
#   lvm-linear   a linear LV on one PV of a two-PV group, ext4 with files
#   lvm-striped  an LV striped over both PVs (64 KiB stripes), ext4 with files
#   luks1        LUKS1 on a plain partition, ext4 inside
#   luks2        LUKS2 on a plain partition (label, subsystem, a second
#                keyslot with another key), ext4 inside
# Afterwards, with everything closed and opened again from the disks alone:
# pvs/vgs/lvs (UUIDs, segment types, devices, stripes), the whole
# cryptsetup luksDump of each container, blkid -p of every PV, container
# and volume are as before; fsck is clean and the LVs' files are back
# (their images); both keys open the LUKS2 container, the passphrase the
# LUKS1 one; compare finds nothing to write.
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
	lvm_ids >/tmp/lvm.$1
	grep -E ' lin ' /tmp/lvm.$1 >/tmp/lvm-linear.$1
	grep -E ' str ' /tmp/lvm.$1 >/tmp/lvm-striped.$1
	fs_ids /dev/vda1 /dev/vdb1 /dev/data/lin /dev/data/str >>/tmp/lvm.$1
	luks_ids /dev/vda2 >/tmp/luks1.$1
	fs_ids /dev/vda2 /dev/mapper/one >>/tmp/luks1.$1
	luks_ids /dev/vdb2 >/tmp/luks2.$1
	fs_ids /dev/vdb2 /dev/mapper/two >>/tmp/luks2.$1
}
close_all() {
	lvm vgchange -q -an data >/dev/null 2>&1 || true
	cryptsetup close one 2>/dev/null || true
	cryptsetup close two 2>/dev/null || true
}
step build
for d in vda vdb; do
	printf 'label: gpt\nstart=2048, size=40960, type=E6D6D379-F507-44C2-A23C-238F2A3DF928\nstart=43008, size=40960, type=CA7D7CCB-63ED-4C53-861C-1742536059CC\n' |
		sfdisk -q /dev/$d || fail "sfdisk $d"
done
run lvm pvcreate -q /dev/vda1 /dev/vdb1
run lvm vgcreate -q -s 1M data /dev/vda1 /dev/vdb1
run lvm lvcreate -q -n lin -L 8M data /dev/vda1
run lvm lvcreate -q -n str -L 16M -i 2 -I 64k data
run mkfs.ext4 -q -L lin /dev/data/lin
run mkfs.ext4 -q -L str /dev/data/str
fill /dev/data/lin lin
fill /dev/data/str str
printf 'the passphrase' >/tmp/key
printf 'another key' >/tmp/key2
run cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 --key-file /tmp/key /dev/vda2
run cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --label vault --subsystem lbtest --key-file /tmp/key /dev/vdb2
run cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file /tmp/key /dev/vdb2 /tmp/key2
run cryptsetup open --key-file /tmp/key /dev/vda2 one
run cryptsetup open --key-file /tmp/key /dev/vdb2 two
run mkfs.ext4 -q -L one /dev/mapper/one
run mkfs.ext4 -q -L two /dev/mapper/two
ids before
step capture
run lifeboat capture --disk /dev/vda --disk /dev/vdb --output /tmp/cap --data auto
[ "$(ls /tmp/cap/lv*.data | wc -l)" = 2 ] || fail "not both LVs imaged: $(ls /tmp/cap)"
step wipe
close_all
blank vda vdb
step restore
run lifeboat restore --yes --quick-format --key-file /tmp/key /tmp/cap
step reopen
close_all
run lvm vgchange -q -ay data
run cryptsetup open --key-file /tmp/key /dev/vda2 one
run cryptsetup open --key-file /tmp/key2 /dev/vdb2 two
ids after
for c in lvm lvm-linear lvm-striped luks1 luks2; do
	step "case $c"
	same_ids /tmp/$c.before /tmp/$c.after $c
	case $c in
	lvm-linear) same_tree /dev/data/lin lin ;;
	lvm-striped) same_tree /dev/data/str str ;;
	luks1) run e2fsck -fn /dev/mapper/one ;;
	luks2) run e2fsck -fn /dev/mapper/two ;;
	esac
done
step intact
out=$(lifeboat compare --key-file /tmp/key /tmp/cap) || { echo "$out"; fail "compare after the restore"; }
echo "$out" | grep -q '^steps: none (nothing to write)$' || { echo "$out"; fail "steps on an intact stack"; }
step keys
close_all
run cryptsetup open --test-passphrase --key-file /tmp/key /dev/vda2
run cryptsetup open --test-passphrase --key-file /tmp/key /dev/vdb2
run cryptsetup open --test-passphrase --key-file /tmp/key2 /dev/vdb2
cat /tmp/lvm.after
step ok
G
vm_script "$W/script.sh" "$VM_DIR/lib/stack-ids.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
vm_check "$W/script.sh" "$W/serial.log" 800 "$a" "$b"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | grep -E '^(same |GUEST-STEP: case)'
# what lvm and blkid said after the restore, the same as before it
tr -d '\r' <"$W/serial.log" | sed -n '/^GUEST-STEP: keys/,/^GUEST-STEP: ok/p'
echo "PASS: $(lb_name)"
