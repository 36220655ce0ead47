#!/bin/bash
# lb-timeout: 1200
# Filesystems inside LUKS are captured as their ciphertext and restored
# without any key (issue 13), in a guest running Debian's kernel, one boot
# for every case:
#   - ext4 in LUKS2 with 4096-byte encryption sectors on a
#     partition, and ext4 + swap on LVM on LUKS2 (512-byte sectors) on
#     another: captured with the containers open and nothing mounted; the
#     known strings written inside are nowhere in the capture; every disk
#     wiped; restored with no --key-file (the plan asks for none, makes no
#     volume group and formats nothing inside); then the original
#     passphrase opens both containers, fsck finds the filesystems clean,
#     blkid -p and luksDump and the LVM identities are as before, and the
#     trees (names, types, modes, owners, sizes, times, contents) are too;
#   - the same with the filesystem inside the first container mounted:
#     a warning names it, no data for that container, no plaintext; that
#     capture restores only with the key (refused before any write
#     without it): the first container's filesystem is made again inside
#     it with its identity, the second comes back from its ciphertext;
#   - capture --encrypt with that filesystem mounted: it is archived
#     sealed (no plaintext in the capture), the other container still as
#     its ciphertext; a restore without the capture's key is refused before
#     any write, with it and the passphrase both come back, trees equal;
#   - verify and show call the data ciphertext; drill rehearses the
#     restore on loop devices and says what it could not open.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$LB_TOP/tests/vm/lib/vm.sh"
vm_need
lb_workdir
vm_image

W=$LB_WORK
cat >"$W/body.sh" <<'G'
# a tree's manifest (the rescue image has no python for
# tests/tools/tree-manifest.py): each entry's path, type and mode, owner,
# size, mtime, link target and content checksum, in order
tree() {
	(cd "$1" && find . ! -path './lost+found*' | sort | while read -r f; do
		stat -c '%n %F %a %u:%g %s %Y' "$f"
		if [ -L "$f" ]; then readlink "$f"; elif [ -f "$f" ]; then md5sum <"$f"; fi
	done)
}
ids() {
	for p in /dev/vda1 /dev/vda2; do
		blkid -p -o export "$p"
		cryptsetup luksDump "$p"
	done
	blkid -p -o export /dev/mapper/c0
	lvm pvs --noheadings -o pv_uuid,vg_name,vg_uuid,pe_start
	lvm lvs --noheadings -o lv_name,lv_uuid,segtype,lv_size,devices
	blkid -p -o export /dev/cvg/data
	blkid -p -o export /dev/cvg/sw
}
step build
printf 'label: gpt\nstart=2048, size=61440, name=c0\nstart=63488, size=122880, name=c1\n' |
	sfdisk -q /dev/vda || fail "sfdisk"
printf 'the passphrase' >/tmp/key
for p in vda1 vda2; do
	ss=512
	[ $p = vda1 ] && ss=4096
	run cryptsetup luksFormat -q --type luks2 --sector-size $ss --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 --label "crypt-$p" --key-file /tmp/key /dev/$p
done
run cryptsetup open --key-file /tmp/key /dev/vda1 c0
run cryptsetup open --key-file /tmp/key /dev/vda2 c1
run mkfs.ext4 -q -L inner /dev/mapper/c0
run lvm pvcreate -q /dev/mapper/c1
run lvm vgcreate -q cvg /dev/mapper/c1
run lvm lvcreate -q -n data -L 20M cvg
run lvm lvcreate -q -n sw -L 8M cvg
run mkfs.ext4 -q -L lvdata /dev/cvg/data
run mkswap -L lvswap /dev/cvg/sw
mkdir -p /mnt/a /mnt/b
run mount /dev/mapper/c0 /mnt/a
run mount /dev/cvg/data /mnt/b
for m in /mnt/a /mnt/b; do
	mkdir -p $m/etc/deep/er
	dd if=/dev/urandom of=$m/etc/deep/blob bs=1k count=900 2>/dev/null
	ln -s deep/blob $m/etc/link
	chmod 0640 $m/etc/deep/blob
	chown 12:34 $m/etc/deep/er
	touch -d '2020-02-02 02:02:02' $m/etc/deep/er
done
echo "SECRET-IN-LUKS-5d1e0c" >/mnt/a/etc/secret.txt
echo "SECRET-IN-LVM-ON-LUKS-9b27aa" >/mnt/b/etc/secret.txt
run umount /mnt/b
step mounted
# the filesystem inside c0 mounted: no data for that container, said why
out=$(lifeboat capture --disk /dev/vda --output /tmp/capm --data auto 2>&1) || { echo "$out"; fail "capture (mounted)"; }
echo "$out"
# the containers' ids, as the capture numbered them
A=$(sed -n 's/.*<luks id="\([^"]*\)" on="disk0p1".*/\1/p' /tmp/capm/manifest.xml)
B=$(sed -n 's/.*<luks id="\([^"]*\)" on="disk0p2".*/\1/p' /tmp/capm/manifest.xml)
[ -n "$A" ] && [ -n "$B" ] || fail "the containers are not in the manifest"
echo "$out" | grep -q "$A: no data captured: $A is mounted read-write on /mnt/a inside the LUKS container $A" ||
	fail "no warning naming the mounted filesystem inside $A"
echo "$out" | grep -q 'capture --encrypt' || fail "the warning does not point to capture --encrypt"
[ ! -e /tmp/capm/$A.data ] || fail "$A has data though its filesystem is mounted"
[ -f /tmp/capm/$B.data ] || fail "$B (nothing mounted in it) has no ciphertext"
if grep -r -q -a -e SECRET-IN-LUKS -e SECRET-IN-LVM-ON /tmp/capm; then fail "plaintext in the capture"; fi
run umount /mnt/a
run mount -o ro /dev/mapper/c0 /mnt/a
tree /mnt/a >/tmp/tree-a.before
run umount /mnt/a
run mount -o ro /dev/cvg/data /mnt/b
tree /mnt/b >/tmp/tree-b.before
run umount /mnt/b
grep -q SECRET-IN-LUKS-5d1e0c /tmp/tree-a.before && fail "tree holds contents, not sums"
blkid -p -o value -s UUID /dev/mapper/c0 >/tmp/uuid-a
ids >/tmp/ids.before
step capture
out=$(lifeboat capture --disk /dev/vda --output /tmp/cap --data auto 2>&1) || { echo "$out"; fail "capture"; }
echo "$out"
[ -f /tmp/cap/$A.data ] || fail "no ciphertext for $A"
[ -f /tmp/cap/$B.data ] || fail "no ciphertext for $B"
grep -q "<luks id=\"$A\" on=\"disk0p1\"" /tmp/cap/manifest.xml || fail "$A is another container now"
ls -l /tmp/cap
# the known strings, and a block of the random file, nowhere in the capture
if grep -r -q -a -e SECRET-IN-LUKS -e SECRET-IN-LVM-ON /tmp/cap; then fail "plaintext in the capture"; fi
grep -q "<ciphertext file=\"$A.data\"" /tmp/cap/manifest.xml || fail "no <ciphertext> in the manifest"
out=$(lifeboat verify /tmp/cap) || { echo "$out"; fail "verify"; }
echo "$out"
echo "$out" | grep -q "^ok     $A data ($A.data, ciphertext" || fail "verify does not call $A's data ciphertext"
out=$(lifeboat show /tmp/cap) || fail "show"
echo "$out" | grep -q 'data=ciphertext' || { echo "$out"; fail "show does not call the data ciphertext"; }
step wipe
run lvm vgchange -q -an cvg
run cryptsetup close c1
run cryptsetup close c0
run wipefs -q -a /dev/vda1 /dev/vda2 /dev/vda
dd if=/dev/zero of=/dev/vda bs=1M count=100 2>/dev/null
[ -z "$(blkid -p -o value -s TYPE /dev/vda)" ] || fail "vda is not blank"
step plan
out=$(lifeboat compare /tmp/cap 2>&1) || true
echo "$out"
for l in $A $B; do
	echo "$out" | grep -q "^$l LUKS2 .*: make+ciphertext" || fail "$l is not planned with its ciphertext"
done
echo "$out" | grep -q '^vg0 volume group cvg .*: in-ciphertext' || fail "vg0 is not planned inside the ciphertext"
echo "$out" | grep -q 'write-ciphertext' || fail "no write-ciphertext step"
if echo "$out" | grep -q -E -e '^problem:' -e '^ *[0-9]+\. (open-luks|make-vg|format) '; then fail "the plan needs a key or makes something inside"; fi
step restore
run lifeboat restore --yes --quick-format --marker /tmp/marker.xml /tmp/cap
# the marker lists what came back inside the ciphertext
for v in $A lv0 lv1; do
	grep -q "<volume id=\"$v\" .*action=\"in-ciphertext\" data=\"ciphertext\"" /tmp/marker.xml ||
		{ cat /tmp/marker.xml; fail "the marker does not say $v came back in the ciphertext"; }
done
step after
run cryptsetup open --key-file /tmp/key /dev/vda1 c0
run cryptsetup open --key-file /tmp/key /dev/vda2 c1
run lvm vgchange -q -ay cvg
ids >/tmp/ids.after
diff /tmp/ids.before /tmp/ids.after || fail "identities differ after the restore"
run e2fsck -fn /dev/mapper/c0
run e2fsck -fn /dev/cvg/data
run mount -o ro /dev/mapper/c0 /mnt/a
tree /mnt/a >/tmp/tree-a.after
grep -q SECRET-IN-LUKS-5d1e0c /mnt/a/etc/secret.txt || fail "the known string is not back in $A"
run umount /mnt/a
run mount -o ro /dev/cvg/data /mnt/b
tree /mnt/b >/tmp/tree-b.after
grep -q SECRET-IN-LVM-ON-LUKS-9b27aa /mnt/b/etc/secret.txt || fail "the known string is not back in cvg/data"
run umount /mnt/b
diff /tmp/tree-a.before /tmp/tree-a.after || fail "the tree inside $A differs"
diff /tmp/tree-b.before /tmp/tree-b.after || fail "the tree on cvg/data differs"
wc -l /tmp/tree-a.after /tmp/tree-b.after
step mixed
# the capture taken with c0's filesystem mounted: c0 has no ciphertext, so
# its filesystem is made again inside it, which needs the key; c1 comes
# back from its ciphertext in the same restore
run lvm vgchange -q -an cvg
run cryptsetup close c1
run cryptsetup close c0
blkid -p -o export /dev/mapper/c0 >/dev/null 2>&1 && fail "c0 still open"
run wipefs -q -a /dev/vda1 /dev/vda2 /dev/vda
dd if=/dev/zero of=/dev/vda bs=1M count=100 2>/dev/null
out=$(lifeboat restore --yes --quick-format /tmp/capm 2>&1) && { echo "$out"; fail "restored without the key it needs"; }
echo "$out" | grep -q "$A: what is inside the LUKS container is made again, and that needs its passphrase or key" ||
	{ echo "$out"; fail "the refusal does not say which container needs a key"; }
[ -z "$(blkid -p -o value -s TYPE /dev/vda)" ] || fail "vda written by a refused restore"
out=$(lifeboat restore --yes --quick-format --key-file /tmp/key /tmp/capm 2>&1) || { echo "$out"; fail "restore with the key"; }
echo "$out"
echo "$out" | grep -q "$A: opened as " || fail "$A was not opened with the key"
echo "$out" | grep -q "$B: writing its captured ciphertext" || fail "$B was not written from its ciphertext"
cryptsetup close c0 2>/dev/null || true
run cryptsetup open --key-file /tmp/key /dev/vda1 c0
run cryptsetup open --key-file /tmp/key /dev/vda2 c1
run lvm vgchange -q -ay cvg
[ "$(blkid -p -o value -s UUID /dev/mapper/c0)" = "$(cat /tmp/uuid-a)" ] ||
	fail "the filesystem made inside $A has not its recorded UUID"
run e2fsck -fn /dev/mapper/c0
run e2fsck -fn /dev/cvg/data
run mount -o ro /dev/cvg/data /mnt/b
tree /mnt/b >/tmp/tree-b.mixed
run umount /mnt/b
diff /tmp/tree-b.before /tmp/tree-b.mixed || fail "the tree on cvg/data differs after the mixed restore"
step encrypted
# capture --encrypt with c0's filesystem mounted: what is inside is archived
# sealed (its plaintext is not in the capture), c1 still as its ciphertext;
# restored with the capture's key and the LUKS passphrase, the files are back
run mount /dev/mapper/c0 /mnt/a
mkdir -p /mnt/a/etc/deep/er
dd if=/dev/urandom of=/mnt/a/etc/deep/blob bs=1k count=300 2>/dev/null
ln -s deep/blob /mnt/a/etc/link
chown 12:34 /mnt/a/etc/deep/er
echo "SECRET-IN-LUKS-5d1e0c" >/mnt/a/etc/secret.txt
tree /mnt/a | grep -v '^\. ' >/tmp/tree-a.enc
printf 'the capture key' >/tmp/capkey
out=$(lifeboat capture --disk /dev/vda --output /tmp/cape --data auto --encrypt --key-file /tmp/capkey 2>&1) ||
	{ echo "$out"; fail "capture --encrypt"; }
echo "$out"
echo "$out" | grep -q "no data captured" && fail "a container got no data in an encrypted capture"
[ -f /tmp/cape/$A.data ] || fail "no data for the mounted filesystem inside $A"
grep -q "<ciphertext file=\"$B.data\"" /tmp/cape/manifest.xml || fail "$B has no ciphertext in the encrypted capture"
if grep -r -q -a -e SECRET-IN-LUKS -e SECRET-IN-LVM-ON /tmp/cape; then fail "plaintext in the encrypted capture"; fi
run umount /mnt/a
out=$(lifeboat verify /tmp/cape) || { echo "$out"; fail "verify (encrypted, no key)"; }
out=$(lifeboat verify --key-file /tmp/capkey /tmp/cape) || { echo "$out"; fail "verify (encrypted, with the key)"; }
echo "$out"
run lvm vgchange -q -an cvg
run cryptsetup close c1
run cryptsetup close c0
run wipefs -q -a /dev/vda1 /dev/vda2 /dev/vda
dd if=/dev/zero of=/dev/vda bs=1M count=100 2>/dev/null
out=$(lifeboat restore --yes --quick-format --key-file /tmp/key /tmp/cape 2>&1) && { echo "$out"; fail "restored without the capture's key"; }
echo "$out"
[ -z "$(blkid -p -o value -s TYPE /dev/vda)" ] || fail "vda written by a restore refused for want of the capture's key"
out=$(lifeboat restore --yes --quick-format --key-file /tmp/capkey --key-file /tmp/key /tmp/cape 2>&1) ||
	{ echo "$out"; fail "restore of the encrypted capture"; }
echo "$out"
cryptsetup close c0 2>/dev/null || true
run cryptsetup open --key-file /tmp/key /dev/vda1 c0
run cryptsetup open --key-file /tmp/key /dev/vda2 c1
run lvm vgchange -q -ay cvg
[ "$(blkid -p -o value -s UUID /dev/mapper/c0)" = "$(cat /tmp/uuid-a)" ] ||
	fail "the filesystem inside $A has not its recorded UUID (encrypted capture)"
run e2fsck -fn /dev/mapper/c0
run e2fsck -fn /dev/cvg/data
run mount -o ro /dev/mapper/c0 /mnt/a
tree /mnt/a | grep -v '^\. ' >/tmp/tree-a.enc.after
run umount /mnt/a
diff /tmp/tree-a.enc /tmp/tree-a.enc.after || fail "the tree inside $A differs after the encrypted capture's restore"
run mount -o ro /dev/cvg/data /mnt/b
tree /mnt/b >/tmp/tree-b.enc
run umount /mnt/b
diff /tmp/tree-b.before /tmp/tree-b.enc || fail "the tree on cvg/data differs after the encrypted capture's restore"
step drill
run lvm vgchange -q -an cvg
run cryptsetup close c1
run cryptsetup close c0
# a rehearsal on loop devices: the containers' headers and ciphertext
# written, their identities checked; what is inside is not opened
out=$(lifeboat drill /tmp/cap 2>&1) || { echo "$out"; fail "drill"; }
echo "$out"
for v in $A lv0 lv1; do
	echo "$out" | grep -q "$v: inside LUKS ciphertext written back: not opened" || fail "drill does not say $v was not opened"
done
step ok
G
vm_script "$W/script.sh" "$W/body.sh"
a=$(vm_disk a 100M)
vm_check "$W/script.sh" "$W/serial.log" 1100 "$a"
grep -q '^GUEST-STEP: ok' <(tr -d '\r' <"$W/serial.log") || lb_fail "the guest never reached its last step"
tr -d '\r' <"$W/serial.log" | sed -n '/^GUEST-STEP: plan/,/^GUEST-STEP: restore/p;/^GUEST-STEP: drill/,/^GUEST-STEP: ok/p'
echo "PASS: $(lb_name)"
