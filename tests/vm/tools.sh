#!/bin/bash
# lb-timeout: 600
# The rescue image can build every layer of a storage stack: MD RAID1 over
# two disks, LUKS2 on the array, LVM on the container, ext4 on a logical
# volume, inside a guest running Debian's kernel (this host's kernel has
# no device-mapper and no MD). The harness every stacked-storage test uses
# (tests/vm/lib/vm.sh) is checked on the way: the script's exit status comes
# back, and a failing check inside the guest fails the test.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

size=$(stat -c %s "$VM_IMAGE")
[ "$size" -lt $((20 * 1048576)) ] || lb_fail "the rescue image is $size bytes: more than 20 MiB"

W=$LB_WORK
cat >"$W/body.sh" <<'G'
step tools
for p in mdadm lvm cryptsetup dmsetup mkfs.ext4 lifeboat; do
	command -v "$p" >/dev/null || fail "no $p in the image"
done
run mdadm --create /dev/md/t --run --level=1 --raid-devices=2 --metadata=1.2 --name=t \
	--assume-clean /dev/vda /dev/vdb
grep -q 'md.* : active raid1 vd[ab]\[[01]\] vd[ab]\[[01]\]' /proc/mdstat || fail "no raid1 in /proc/mdstat"
printf 'the passphrase' >/tmp/key
run cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file /tmp/key /dev/md/t
run cryptsetup open --key-file /tmp/key /dev/md/t c
run lvm pvcreate -q /dev/mapper/c
run lvm vgcreate -q vg /dev/mapper/c
run lvm lvcreate -q -n lv -L 16M vg
run mkfs.ext4 -q -L onstack /dev/vg/lv
[ "$(blkid -o value -s LABEL /dev/vg/lv)" = onstack ] || fail "no ext4 on the logical volume"
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 64M)
b=$(vm_disk b 64M)
vm_check "$W/script.sh" "$W/serial.log" 500 "$a" "$b"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"

# the harness reports a failing guest script as a failure
printf 'fail "on purpose"\n' >"$W/bad.sh"
vm_script "$W/script2.sh" "$W/bad.sh"
rc=0
vm_run "$W/script2.sh" "$W/serial2.log" 300 "$a" || rc=$?
[ "$rc" = 1 ] || lb_fail "a failing guest script came back as $rc, not 1"
echo "PASS: $(lb_name)"
