# shellcheck shell=bash
# tests/rescue/lib/debian-luksmd.sh - the Debian 12 test machine with LVM on
# LUKS on MD RAID1 over two disks (a hand-built server), sourced after
# tests/rescue/lib/debian.sh and tests/vm/lib/vm.sh.
#
# Each disk: GPT with a BIOS boot partition and two RAID partitions. md0
# (RAID1, metadata 1.0) holds /boot (ext4); md1 (RAID1, metadata 1.2,
# internal bitmap) holds LUKS2 (md1_crypt) holding the PV of the group lbvg
# with the LVs root (ext4) and swap and free extents (room for a snapshot).
# GRUB for BIOS on both disks; crypttab unlocks md1 with a key file carried
# in the initramfs (cryptsetup-initramfs KEYFILE_PATTERN, UMASK=0077: a
# test machine, the key sits beside the root it opens); mdadm.conf names
# both arrays by UUID; the kernel's root= is /dev/mapper/lbvg-root.
#
# This host's kernel has no MD and no device-mapper: the filesystems are
# made and filled here (root, /boot and swap as image files, the machine's
# initramfs made in a chroot: its crypttab entry carries the 'initramfs'
# option, as the hook cannot trace / to the container without
# device-mapper), and the stack is made in lifeboat's rescue image under
# qemu (tests/vm/lib/vm.sh), which writes the images into the array and
# the LVs and, chrooted into the machine's root, runs grub-install on both
# disks (it has to see /boot on md0). (update-initramfs under TCG took
# more than 20 minutes on this shared machine.) The two disks are kept in the cache ($LB_CACHE, default
# /var/cache/lifeboat-tests) named by a digest of everything that makes
# them, so a rerun boots them at once; the lifeboat under test is not in
# that digest: the machine takes it from its backup disk at the capture.
# The LUKS key is the pbkdf2 kind with few iterations (unlocking with
# argon2 under TCG would take minutes; a test machine).

DM_DISK_SIZE=1792M
DM_ROOT_EXTENTS=256	# 1 GiB of 4 MiB extents
DM_SWAP_EXTENTS=16	# 64 MiB
DM_BOOT_FS_SIZE=196M	# inside md0 (a 200 MiB member, metadata 1.0 at its end)
DM_BOOT_UUID=5afe0b07-de6a-4e11-9000-0000000010b0
DM_ROOT_UUID=5afe0b07-de6a-4e11-9000-0000000010f1
DM_SWAP_UUID=5afe0b07-de6a-4e11-9000-0000000010f2
DM_LUKS_UUID=5afe0b07-de6a-4e11-9000-00000000c1c1
DM_MD0_UUID=5afe0b07:de6a4e11:90000000:000010d0
DM_MD1_UUID=5afe0b07:de6a4e11:90000000:000010d1
DM_PV_UUID=LBpv01-5afe-0b07-de6a-4e11-9000-0010p1
DM_GUID_A=5AFE0B07-DE6A-4E11-9000-0000000010DA
DM_GUID_B=5AFE0B07-DE6A-4E11-9000-0000000010DB

# dm_root_tree MNT: the machine's own files in its root tree at MNT (root
# and /boot mounted): fstab, crypttab and the key, mdadm.conf, the
# initramfs configuration, grub.cfg, the test step
dm_root_tree() {
	local mnt=$1
	cat >"$mnt/etc/fstab" <<F
# /etc/fstab of lifeboat's Debian test machine: LVM on LUKS on MD RAID1
/dev/mapper/lbvg-root / ext4 errors=remount-ro 0 1
UUID=$DM_BOOT_UUID /boot ext4 defaults 0 2
/dev/mapper/lbvg-swap none swap sw 0 0
F
	install -d -m 0700 "$mnt/etc/keys"
	head -c 64 /dev/urandom >"$mnt/etc/keys/root.key"
	chmod 0400 "$mnt/etc/keys/root.key"
	echo "md1_crypt UUID=$DM_LUKS_UUID /etc/keys/root.key luks,discard,initramfs" >"$mnt/etc/crypttab"
	mkdir -p "$mnt/etc/cryptsetup-initramfs" "$mnt/etc/mdadm"
	echo 'KEYFILE_PATTERN="/etc/keys/*.key"' >>"$mnt/etc/cryptsetup-initramfs/conf-hook"
	echo 'UMASK=0077' >>"$mnt/etc/initramfs-tools/initramfs.conf"
	cat >"$mnt/etc/mdadm/mdadm.conf" <<M
HOMEHOST <system>
MAILADDR root
ARRAY /dev/md/0 metadata=1.0 UUID=$DM_MD0_UUID name=lifeboat-e2e:0
ARRAY /dev/md/1 metadata=1.2 UUID=$DM_MD1_UUID name=lifeboat-e2e:1
M
	mkdir -p "$mnt/boot/grub"
	cat >"$mnt/boot/grub/grub.cfg" <<G
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
# (the devices' jobs wait longer than systemd's 90 s: under TCG on a loaded
# machine, with every read of / through dm-crypt, udev took longer)
menuentry "Debian GNU/Linux (lifeboat test machine, LVM on LUKS on MD RAID1)" {
	insmod part_gpt
	insmod mdraid1x
	insmod ext2
	search --no-floppy --fs-uuid --set=root $DM_BOOT_UUID
	linux /vmlinuz-$DG_KVER root=/dev/mapper/lbvg-root resume=/dev/mapper/lbvg-swap ro console=ttyS0 panic=1 no_timer_check systemd.default_timeout_start_sec=900
	initrd /initrd.img-$DG_KVER
}
G
	install -m 0755 "$LB_TOP/tests/rescue/debian/lifeboat-e2e-luksmd" "$mnt/usr/local/sbin/lifeboat-e2e"
}

# dm_initramfs MNT: the machine's initramfs remade in a chroot at MNT (with
# its crypttab, key file and mdadm.conf), checked for what its boot needs
dm_initramfs() {
	local mnt=$1 f list
	mount -t proc proc "$mnt/proc"
	mount -t sysfs sysfs "$mnt/sys"
	mount --bind /dev "$mnt/dev"
	# (its work tree is larger than the root's free room)
	mount -t tmpfs tmpfs "$mnt/run"
	chroot "$mnt" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin TMPDIR=/run \
		update-initramfs -u -k "$DG_KVER" >"$LB_WORK/update-initramfs.log" 2>&1 || {
		cat "$LB_WORK/update-initramfs.log" >&2
		umount -R "$mnt"
		lb_fail "update-initramfs in the machine's root failed"
	}
	list=$(chroot "$mnt" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin lsinitramfs "/boot/initrd.img-$DG_KVER")
	umount "$mnt/run" "$mnt/dev" "$mnt/sys" "$mnt/proc"
	for f in cryptroot/crypttab cryptroot/keyfiles/md1_crypt.key etc/mdadm/mdadm.conf usr/sbin/lvm usr/sbin/cryptsetup; do
		grep -qx "$f" <<<"$list" || { umount -R "$mnt"; lb_fail "the machine's initramfs has no $f"; }
	done
	rm -f "$mnt/boot/initrd.img-$DG_KVER.dpkg-bak"
}

# dm_images TARBALL DIR: root.img, boot.img and swap.img in DIR, the
# filesystems as the guest writes them into the stack
dm_images() {
	local tarball=$1 dir=$2 mnt=$LB_WORK/mnt root boot swap
	root=$(fx_attach "$dir/root.img" $((DM_ROOT_EXTENTS * 4))M)
	boot=$(fx_attach "$dir/boot.img" "$DM_BOOT_FS_SIZE")
	swap=$(fx_attach "$dir/swap.img" $((DM_SWAP_EXTENTS * 4))M)
	fx_mkext ext4 "$root" "$DM_ROOT_UUID" root
	fx_mkext ext4 "$boot" "$DM_BOOT_UUID" boot
	fx_mkswap "$swap" "$DM_SWAP_UUID" swap
	mkdir -p "$mnt"
	mount -t ext4 "$root" "$mnt"
	mkdir -p "$mnt/boot"
	mount -t ext4 "$boot" "$mnt/boot"
	dg_fill_tree "$tarball" "$mnt"
	dm_root_tree "$mnt"
	dm_initramfs "$mnt"
	echo "$DG_KVER" >"$dir/kver"
	umount "$mnt/boot" "$mnt"
	rs_flush "$root" "$boot" "$swap"
	losetup -d "$root" "$boot" "$swap"
}

# dm_guest_script OUT KVER: the build guest's script (busybox sh in the
# rescue image; disks vda, vdb the machine's, vdc-vde the images)
dm_guest_script() {
	local out=$1 kver=$2
	{
		printf 'KVER=%s\nMD0_UUID=%s\nMD1_UUID=%s\nLUKS_UUID=%s\nPV_UUID=%s\n' \
			"$kver" "$DM_MD0_UUID" "$DM_MD1_UUID" "$DM_LUKS_UUID" "$DM_PV_UUID"
		printf 'GUID_A=%s\nGUID_B=%s\nROOT_EXTENTS=%s\nSWAP_EXTENTS=%s\n' \
			"$DM_GUID_A" "$DM_GUID_B" "$DM_ROOT_EXTENTS" "$DM_SWAP_EXTENTS"
		cat <<'G'
step partition
for d in vda:$GUID_A vdb:$GUID_B; do
	printf 'label: gpt\nlabel-id: %s\nunit: sectors\nfirst-lba: 2048\nstart=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios"\nstart=4096, size=409600, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name="boot"\nstart=413696, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name="root"\n' \
		"${d#*:}" | sfdisk -q "/dev/${d%%:*}" || fail "sfdisk ${d%%:*}"
done
step md
# both disks are all zeros: the mirrors agree without a resync
run mdadm --create /dev/md0 --run --assume-clean --level=1 --raid-devices=2 --metadata=1.0 \
	--uuid=$MD0_UUID --homehost=lifeboat-e2e --name=lifeboat-e2e:0 --bitmap=none /dev/vda2 /dev/vdb2
run mdadm --create /dev/md1 --run --assume-clean --level=1 --raid-devices=2 --metadata=1.2 \
	--uuid=$MD1_UUID --homehost=lifeboat-e2e --name=lifeboat-e2e:1 --bitmap=internal /dev/vda3 /dev/vdb3
step luks
mkdir -p /mnt/src /mnt/t
run mount -o ro /dev/vdc /mnt/src
cp /mnt/src/etc/keys/root.key /tmp/root.key || fail "no key in the root image"
run umount /mnt/src
run cryptsetup luksFormat -q --type luks2 --uuid $LUKS_UUID --label cryptroot --pbkdf pbkdf2 \
	--pbkdf-force-iterations 1000 --key-file /tmp/root.key /dev/md1
run cryptsetup open --key-file /tmp/root.key /dev/md1 md1_crypt
step lvm
run lvm pvcreate -q --uuid $PV_UUID --norestorefile /dev/mapper/md1_crypt
run lvm vgcreate -q -s 4M lbvg /dev/mapper/md1_crypt
run lvm lvcreate -q -y -n root -l $ROOT_EXTENTS lbvg
run lvm lvcreate -q -y -n swap -l $SWAP_EXTENTS lbvg
step fill
run dd if=/dev/vdc of=/dev/lbvg/root bs=4M
run dd if=/dev/vdd of=/dev/md0 bs=4M
run dd if=/dev/vde of=/dev/lbvg/swap bs=4M
sync
step chroot
run mount /dev/lbvg/root /mnt/t
run mount /dev/md0 /mnt/t/boot
run mount -o bind /dev /mnt/t/dev
run mount -t proc proc /mnt/t/proc
run mount -t sysfs sysfs /mnt/t/sys
run mount -t tmpfs tmpfs /mnt/t/run
# no udev here: the links the machine's tools look for
mkdir -p /dev/disk/by-uuid
ln -sf ../../md1 /dev/disk/by-uuid/$LUKS_UUID
ln -sf ../../md0 /dev/disk/by-uuid/$(blkid -o value -s UUID /dev/md0)
in_root() { chroot /mnt/t /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
for d in vda vdb; do
	out=$(in_root grub-install --target=i386-pc /dev/$d 2>&1) || { echo "$out"; fail "grub-install /dev/$d"; }
	echo "$out"
done
grep -h . /mnt/t/boot/grub/grub.cfg | head -n 3
step down
umount /mnt/t/run /mnt/t/sys /mnt/t/proc /mnt/t/dev /mnt/t/boot /mnt/t || fail "umount"
run lvm vgchange -q -an lbvg
run cryptsetup close md1_crypt
run mdadm --stop /dev/md0
run mdadm --stop /dev/md1
sync
step ok
G
	} >"$LB_WORK/luksmd-body.sh"
	vm_script "$out" "$LB_WORK/luksmd-body.sh"
}

# dm_machine TARBALL: the machine's two disks, from the cache or built
# (one boot of the rescue image, a few minutes); sets DM_DIR, the cache
# directory holding a.img, b.img, root.key (the LUKS key file) and kver
dm_machine() {
	local tarball=$1 cache=${LB_CACHE:-/var/cache/lifeboat-tests} key tmp
	# what makes the disks: the tree, the kernel of the build guest, the
	# functions and values above, the files put into the machine
	key=$({
		basename "$tarball"
		basename "$VM_KERNEL"
		declare -p DM_DISK_SIZE DM_ROOT_EXTENTS DM_SWAP_EXTENTS DM_BOOT_FS_SIZE DM_BOOT_UUID DM_ROOT_UUID \
			DM_SWAP_UUID DM_LUKS_UUID DM_MD0_UUID DM_MD1_UUID DM_PV_UUID DM_GUID_A DM_GUID_B
		declare -f dm_root_tree dm_initramfs dm_images dm_guest_script dg_fill_tree
		cat "$LB_TOP/tests/rescue/debian/lifeboat-e2e-luksmd" "$LB_TOP/tests/rescue/debian/lifeboat-e2e.service"
	} | sha256sum | cut -c1-16)
	DM_DIR=$cache/luksmd-$key
	if [ -s "$DM_DIR/a.img" ] && [ -s "$DM_DIR/b.img" ] && [ -s "$DM_DIR/root.key" ]; then
		echo "the LVM-on-LUKS-on-MD machine from the cache: $DM_DIR"
		return 0
	fi
	mkdir -p "$cache"
	# made in the test's own directory (a failed build leaves nothing in
	# the cache), moved into the cache when whole
	tmp=$(mktemp -d "$LB_WORK/luksmd-build.XXXXXX")
	echo "building the LVM-on-LUKS-on-MD machine (once): $DM_DIR" >&2
	dm_images "$tarball" "$tmp"
	truncate -s "$DM_DISK_SIZE" "$tmp/a.img" "$tmp/b.img"
	vm_image
	dm_guest_script "$LB_WORK/luksmd-build.sh" "$(cat "$tmp/kver")"
	local start rc=0
	start=$(date +%s)
	vm_run "$LB_WORK/luksmd-build.sh" "$LB_WORK/luksmd-build.log" 900 \
		"$tmp/a.img" "$tmp/b.img" "$tmp/root.img" "$tmp/boot.img" "$tmp/swap.img" || rc=$?
	if [ "$rc" != 0 ] || ! tr -d '\r' <"$LB_WORK/luksmd-build.log" | grep -qx 'GUEST-STEP: ok'; then
		tr -d '\r' <"$LB_WORK/luksmd-build.log" | tail -n 60 >&2
		rm -rf "$tmp"
		lb_fail "building the LVM-on-LUKS-on-MD machine in the rescue guest failed (status $rc)"
	fi
	echo "ok: the machine built in the rescue guest in $(($(date +%s) - start)) s"
	# the key file, for the restore (the machine has its own copy)
	local mnt=$LB_WORK/mnt root
	root=$(losetup -f --show -r "$tmp/root.img")
	printf '%s\n' "$root" >>"$LB_WORK/loops"
	mount -o ro,noload -t ext4 "$root" "$mnt"
	cp "$mnt/etc/keys/root.key" "$tmp/root.key"
	umount "$mnt"
	losetup -d "$root"
	rm -f "$tmp/root.img" "$tmp/boot.img" "$tmp/swap.img"
	rm -rf "$DM_DIR"
	mv "$tmp" "$DM_DIR"
	# machines of older inputs are of no use any more
	find "$cache" -maxdepth 1 -name 'luksmd-*' ! -path "$DM_DIR" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
}
