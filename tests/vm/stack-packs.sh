#!/bin/bash
# lb-timeout: 900
# ASR's disk-pack rules for the stack (issue 13), in a guest running
# Debian's kernel. Three virtio disks: a pack (volume group "pack" on MD
# RAID1 over vda1 and vdb1) holding an ext4 LV and a swap LV in use at
# capture (critical), and on vdc a group "bulk" with an ext4 LV and a plain
# ext4 partition. Captured with data, then:
#   exclude  excluding one member disk of the pack is refused (it holds a
#            critical volume through the stack), and so is --exclude-volume
#            of the swap LV; --exclude-volume of bulk's LV excludes vdc
#   grow     an LV grown after the capture: the pack is intact, and a
#            restore leaves every disk byte for byte as it was (checksums
#            of the whole disks before and after)
#   wiped    one member of the array wiped: the whole pack is made again,
#            both its disks recreated, vdc left byte for byte alone; the
#            array, group and LVs have their identities, the LV its
#            captured size and files
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
stop_all() {
	lvm vgchange -q -an pack >/dev/null 2>&1 || true
	lvm vgchange -q -an bulk >/dev/null 2>&1 || true
	mdadm --stop --scan >/dev/null 2>&1 || true
}
ids() {
	md_ids /dev/md/pack /dev/vda1 /dev/vdb1 >/tmp/pack.$1
	lvm_ids | grep -v bulk >>/tmp/pack.$1
	fs_ids /dev/vda1 /dev/vdb1 /dev/md/pack /dev/pack/sys /dev/pack/swap >>/tmp/pack.$1
}
step build
printf 'label: gpt\nstart=2048, size=81920, type=A19D880F-05FC-4D3B-A006-743F0F84911E\n' | sfdisk -q /dev/vda || fail "sfdisk vda"
printf 'label: gpt\nstart=2048, size=81920, type=A19D880F-05FC-4D3B-A006-743F0F84911E\n' | sfdisk -q /dev/vdb || fail "sfdisk vdb"
printf 'label: gpt\nstart=2048, size=40960, type=E6D6D379-F507-44C2-A23C-238F2A3DF928\nstart=43008, size=40960\n' | sfdisk -q /dev/vdc || fail "sfdisk vdc"
run mdadm --create /dev/md/pack --run --level=1 --raid-devices=2 --metadata=1.2 --name=srv:pack --bitmap=none /dev/vda1 /dev/vdb1
mdadm --wait /dev/md/pack >/dev/null 2>&1 || true
run lvm pvcreate -q /dev/md/pack /dev/vdc1
run lvm vgcreate -q -s 1M pack /dev/md/pack
run lvm vgcreate -q -s 1M bulk /dev/vdc1
run lvm lvcreate -q -n sys -L 16M pack
run lvm lvcreate -q -n swap -L 8M pack
run lvm lvcreate -q -n data -L 8M bulk
run mkfs.ext4 -q -L sys /dev/pack/sys
run mkswap -L swap /dev/pack/swap
run mkfs.ext4 -q -L data /dev/bulk/data
run mkfs.ext4 -q -L other /dev/vdc2
fill /dev/pack/sys sys
fill /dev/bulk/data data
ids before
step capture
run swapon /dev/pack/swap
run lifeboat capture --disk /dev/vda --disk /dev/vdb --disk /dev/vdc --output /tmp/cap --data auto
run swapoff /dev/pack/swap
swap=$(sed -n 's/.*<lv id="\(lv[0-9]*\)" name="swap".*/\1/p' /tmp/cap/manifest.xml)
data=$(sed -n 's/.*<lv id="\(lv[0-9]*\)" name="data".*/\1/p' /tmp/cap/manifest.xml)
grep -q "<volume id=\"$swap\" type=\"swap\".* critical=\"true\"" /tmp/cap/manifest.xml || fail "the swap LV ($swap) is not critical"
step exclude
stop_all
if out=$(lifeboat compare --exclude-disk /dev/vdb /tmp/cap 2>&1); then echo "$out"; fail "a member disk of the pack excluded"; fi
echo "$out" | grep -q 'exclude-disk disk1: it holds a volume the system needs to boot' || { echo "$out"; fail "no refusal for the member disk"; }
if out=$(lifeboat compare --exclude-volume "$swap" /tmp/cap 2>&1); then echo "$out"; fail "the swap LV excluded"; fi
echo "$out" | grep -q "exclude-volume $swap: $swap is a volume the system needs to boot" || { echo "$out"; fail "no refusal for the swap LV"; }
out=$(lifeboat compare --exclude-volume "$data" /tmp/cap 2>&1) || true
echo "$out" | grep -q "excluded (--exclude-volume $data)" || { echo "$out"; fail "--exclude-volume $data does not exclude vdc"; }
echo "$out" | grep -q 'problem' && { echo "$out"; fail "--exclude-volume $data: a problem"; }
echo "excluded with $data: $(echo "$out" | grep "exclude-volume $data")"
step grow
run mdadm --assemble /dev/md/pack /dev/vda1 /dev/vdb1
run lvm vgchange -q -ay pack
run lvm lvextend -q -L +4M pack/sys
stop_all
md5sum /dev/vda /dev/vdb /dev/vdc >/tmp/disks.before
out=$(lifeboat restore --yes --quick-format /tmp/cap 2>&1) || { echo "$out"; fail "restore on the intact pack"; }
echo "$out" | grep -q 'every disk is intact: nothing to do' || { echo "$out"; fail "the pack is not kept"; }
md5sum /dev/vda /dev/vdb /dev/vdc >/tmp/disks.after
diff /tmp/disks.before /tmp/disks.after || fail "a restore wrote to an intact pack"
echo "same disks, byte for byte, after a restore of the intact pack"
step wiped
run wipefs -q -a /dev/vdb1
md5sum /dev/vdc >/tmp/vdc.before
out=$(lifeboat compare /tmp/cap 2>&1) || true
echo "$out"
echo "$out" | grep -q 'md0 is made again whole: disk1p1 no longer holds its linux_raid_member' || fail "the pack is not made again whole"
run lifeboat restore --yes --quick-format /tmp/cap
stop_all
md5sum /dev/vdc >/tmp/vdc.after
diff /tmp/vdc.before /tmp/vdc.after || fail "the disk outside the pack was written"
run mdadm --assemble /dev/md/pack /dev/vda1 /dev/vdb1
run lvm vgchange -q -ay pack
ids after
same_ids /tmp/pack.before /tmp/pack.after pack
same_tree /dev/pack/sys sys
step ok
G
vm_script "$W/script.sh" "$VM_DIR/lib/stack-ids.sh" "$W/body.sh"
a=$(vm_disk a 80M)
b=$(vm_disk b 80M)
c=$(vm_disk c 80M)
vm_check "$W/script.sh" "$W/serial.log" 800 "$a" "$b" "$c"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | grep -E '^(same |excluded with|GUEST-STEP)'
echo "PASS: $(lb_name)"
