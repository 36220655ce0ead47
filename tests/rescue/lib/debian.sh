# shellcheck shell=bash
# tests/rescue/lib/debian.sh - a real Debian 12 machine for the end-to-end
# tests, sourced after tests/lib.sh and tests/rescue/lib/rescue.sh.
#
# The machine's root tree is a debootstrap (minbase, systemd, Debian's
# kernel and initramfs-tools, GRUB for BIOS and UEFI, efibootmgr, the
# libraries lifeboat links, and lvm2, mdadm and cryptsetup with their
# initramfs hooks for the machines whose root is on LVM, MD or LUKS),
# made once and kept as a tarball in the cache:
# $LB_CACHE (default /var/cache/lifeboat-tests), named by a digest of the
# package list and the mirror, so a change of either makes a new one. Each
# test then lays it onto a disk image of its own.

DG_SUITE=bookworm
DG_PACKAGES=(
	linux-image-amd64 initramfs-tools systemd-sysv udev kmod util-linux mount
	e2fsprogs dosfstools efibootmgr grub-efi-amd64-bin grub-pc-bin grub2-common zstd
	libacl1 libarchive13 libblkid1 libefiboot1 libefivar1 libext2fs2 libfdisk1
	libjson-c5 libssl3 libuuid1 libxml2 libxxhash0 libzstd1 libkmod2 libelf1 libcryptsetup12 libmount1
	lvm2 mdadm cryptsetup cryptsetup-initramfs libbtrfsutil1
)

# dg_mirror: the Debian mirror this machine's apt uses (deb822 or one-line
# sources), deb.debian.org when none is found.
dg_mirror() {
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }')
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
		/etc/apt/sources.list 2>/dev/null | head -n 1)
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# dg_base_tarball: prints the path of the cached root tree tarball, making
# it first when there is none (debootstrap: a few minutes, once).
dg_base_tarball() {
	local cache=${LB_CACHE:-/var/cache/lifeboat-tests} mirror key tar tmp rc
	command -v debootstrap >/dev/null || rs_skip "needs debootstrap (tests/install-deps.sh)"
	mirror=$(dg_mirror)
	key=$(printf '%s\n' "$DG_SUITE" "$mirror" "${DG_PACKAGES[@]}" | sha256sum | cut -c1-16)
	tar=$cache/debian-$DG_SUITE-$key.tar.zst
	if [ ! -s "$tar" ]; then
		mkdir -p "$cache"
		tmp=$(mktemp -d "$cache/root.XXXXXX")
		echo "building the Debian machine's root tree (once): debootstrap $DG_SUITE from $mirror" >&2
		rc=0
		DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
			--include="$(IFS=,; echo "${DG_PACKAGES[*]}")" \
			"$DG_SUITE" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ] || [ ! -e "$tmp/root/boot/initrd.img-"* ] 2>/dev/null; then
			tail -n 30 "$tmp/debootstrap.log" >&2
			dg_umount_tree "$tmp/root"
			rm -rf "$tmp"
			lb_fail "debootstrap failed (exit $rc)"
		fi
		dg_umount_tree "$tmp/root"
		rm -rf "$tmp/root/var/cache/apt/archives/"*.deb
		tar -C "$tmp/root" --numeric-owner --xattrs --acls -cf - . | zstd -q -T0 -3 -o "$tmp/root.tar.zst"
		mv "$tmp/root.tar.zst" "$tar"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$tar"
}

# dg_umount_tree DIR: unmounts whatever is mounted below DIR (debootstrap
# mounts /proc and /sys in its target and may leave them behind).
dg_umount_tree() {
	local m
	for m in $(awk -v w="$1/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

DG_ROOT_UUID=5afe0b07-de6a-4e11-9000-0000000000f1
DG_SWAP_UUID=5afe0b07-de6a-4e11-9000-0000000000f2
DG_ESP_ID=5AFE0DEB
DG_DISK_GUID=5AFE0B07-DE6A-4E11-9000-0000000000D0
DG_MACHINE_SIZE=2G

# dg_build_machine TARBALL: the Debian machine's disk, machine.img: GPT
# with an ESP, a BIOS boot partition, a swap partition and an ext4 root
# holding the tree, a swap file /swap.img made as Ubuntu makes it (dd and
# mkswap: dense, with runs of zeros), this lifeboat in /usr/local/sbin, and
# the test's own unit (tests/rescue/debian/). It boots under SeaBIOS (GRUB
# in the MBR and the BIOS boot partition) and, until the machine's first
# boot installs GRUB for UEFI with its boot entry, through the removable
# path \EFI\BOOT\BOOTX64.EFI. Sets DG_MACHINE (the loop device); leaves it
# attached, nothing mounted.
dg_build_machine() {
	local tarball=$1 d mnt=$LB_WORK/mnt esp swap root kver
	d=$(fx_attach machine.img "$DG_MACHINE_SIZE")
	DG_MACHINE=$d
	sfdisk -q --no-reread --no-tell-kernel "$d" <<T
label: gpt
label-id: $DG_DISK_GUID
unit: sectors
first-lba: 2048
start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System Partition"
start=133120, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
start=135168, size=131072, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
start=266240, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
T
	fx_reread "$d"
	esp=$(fx_part "$d" 1)
	swap=$(fx_part "$d" 3)
	root=$(fx_part "$d" 4)
	fx_mkvfat "$esp" "$DG_ESP_ID" ESP -F 32 -s 1 2>/dev/null
	fx_mkswap "$swap" "$DG_SWAP_UUID" swap
	fx_mkext ext4 "$root" "$DG_ROOT_UUID" root

	mkdir -p "$mnt"
	mount -t ext4 "$root" "$mnt"
	dg_fill_tree "$tarball" "$mnt"
	kver=$DG_KVER
	cat >"$mnt/etc/fstab" <<F
# /etc/fstab of lifeboat's Debian test machine
UUID=$DG_ROOT_UUID / ext4 errors=remount-ro 0 1
UUID=${DG_ESP_ID:0:4}-${DG_ESP_ID:4:4} /boot/efi vfat umask=0077 0 1
UUID=$DG_SWAP_UUID none swap sw 0 0
/swap.img none swap sw 0 0
F
	# the swap file as Ubuntu's installer makes it: written, not fallocated
	dd if=/dev/zero of="$mnt/swap.img" bs=1M count=64 status=none
	chmod 600 "$mnt/swap.img"
	mkswap -q "$mnt/swap.img"
	mkdir -p "$mnt/boot/grub"
	cat >"$mnt/boot/grub/grub.cfg" <<G
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "Debian GNU/Linux (lifeboat test machine)" {
	search --no-floppy --fs-uuid --set=root $DG_ROOT_UUID
	linux /boot/vmlinuz-$kver root=UUID=$DG_ROOT_UUID ro console=ttyS0 panic=1 no_timer_check
	initrd /boot/initrd.img-$kver
}
G
	# GRUB for BIOS, and for UEFI until the first boot installs its own
	rs_install_grub "$d" "$mnt" "$DG_ROOT_UUID"
}

# dg_fill_tree TARBALL MNT: the machine's root tree onto MNT (its root
# filesystem, with /boot mounted below it when that is a filesystem of its
# own): the debootstrap, /boot/efi, its hostname, an empty machine-id, this
# lifeboat in /usr/local/sbin (run there in a chroot: a library it links
# missing from DG_PACKAGES fails here, by name) and the test's own unit
# (tests/rescue/debian/), with nothing else to wait for at boot. Sets
# DG_KVER, the kernel's version; the fstab and grub.cfg are the caller's.
dg_fill_tree() {
	local tarball=$1 mnt=$2 u
	zstd -dc "$tarball" | tar -C "$mnt" --numeric-owner --xattrs --xattrs-include='*' --acls -xf -
	DG_KVER=$(cd "$mnt/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
	[ -n "$DG_KVER" ] && [ -f "$mnt/boot/initrd.img-$DG_KVER" ] || { umount -R "$mnt"; lb_fail "the Debian tree has no kernel and initrd"; }
	mkdir -p "$mnt/boot/efi"
	echo lifeboat-e2e >"$mnt/etc/hostname"
	: >"$mnt/etc/machine-id"
	install -m 0755 "$LIFEBOAT" "$mnt/usr/local/sbin/lifeboat"
	# every library lifeboat links is in the machine (DG_PACKAGES): a
	# missing one would only show as a failed capture inside the guest
	chroot "$mnt" /usr/local/sbin/lifeboat --version >/dev/null 2>"$LB_WORK/chroot-lifeboat.err" || {
		cat "$LB_WORK/chroot-lifeboat.err" >&2
		umount -R "$mnt"
		lb_fail "lifeboat does not run in the Debian machine: a library it links is not in DG_PACKAGES"
	}
	install -m 0755 "$LB_TOP/tests/rescue/debian/lifeboat-e2e" "$mnt/usr/local/sbin/lifeboat-e2e"
	install -m 0644 "$LB_TOP/tests/rescue/debian/lifeboat-e2e.service" "$mnt/etc/systemd/system/"
	mkdir -p "$mnt/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/lifeboat-e2e.service "$mnt/etc/systemd/system/multi-user.target.wants/"
	# nothing else to wait for at boot: no logins, no timers
	for u in getty@tty1.service serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
		e2scrub_all.timer fstrim.timer; do
		ln -sf /dev/null "$mnt/etc/systemd/system/$u"
	done
}

# dg_boot NAME LOG TIMEOUT [qemu args...]: boots the Debian machine (2 CPUs
# under TCG) until it powers itself off; fails with the log's tail if not.
dg_boot() {
	local name=$1 log=$2 limit=$3 start
	shift 3
	start=$(date +%s)
	if ! rs_qemu "$log" "$limit" -smp 2 "$@"; then
		tr -d '\r' <"$log" | tail -n 40 >&2
		lb_fail "$name: the machine did not power off by itself within $limit s"
	fi
	echo "ok: $name: powered off after $(($(date +%s) - start)) s"
}

# dg_ovmf VARS: the qemu arguments of a q35 machine under OVMF with VARS as
# its NVRAM (a writable copy, carried from one boot to the next).
dg_ovmf() {
	printf '%s\n' -machine q35 \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
		-drive "if=pflash,format=raw,unit=1,file=$1"
}

# dg_need_ovmf: skips (77) without OVMF's code and NVRAM template.
dg_need_ovmf() {
	[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] && [ -f /usr/share/OVMF/OVMF_VARS_4M.fd ] ||
		rs_skip "needs OVMF (apt-get install ovmf)"
}

# dg_capture_boot NAME BACKUP_SIZE: the machine's first boot (DG_MACHINE,
# machine.img, built), under OVMF on an NVRAM of its own, with a backup
# disk of BACKUP_SIZE made for it (backup.img): the machine installs its
# UEFI boot entry and captures itself there (tests/rescue/debian/
# lifeboat-e2e). Its serial log without carriage returns is
# $LB_WORK/capture.txt (a file: grep -q reads it whole, where in a pipe
# under pipefail its early exit would fail the pipe). Fails unless the
# capture succeeded; leaves nothing attached.
dg_capture_boot() {
	local name=$1 size=$2 w=$LB_WORK
	local -a ovmf
	rs_build_backup "$size"
	rs_release_backup
	partx -d "$DG_MACHINE" >/dev/null 2>&1 || true
	losetup -d "$DG_MACHINE"
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$w/vars-machine.fd"
	mapfile -t ovmf < <(dg_ovmf "$w/vars-machine.fd")
	dg_boot "$name" "$w/capture.log" 900 "${ovmf[@]}" \
		-drive "file=$w/machine.img,format=raw,if=virtio" \
		-drive "file=$w/backup.img,format=raw,if=virtio"
	tr -d '\r' <"$w/capture.log" >"$w/capture.txt"
	grep -E '^E2E-(SWAP|EFI|TIME|CAPTURE|LVS)' "$w/capture.txt" || true
	grep -qx 'E2E-CAPTURE: rc=0' "$w/capture.txt" || {
		grep '^E2E-' "$w/capture.txt" | tail -n 60
		lb_fail "$name: lifeboat capture on the running machine failed"
	}
}

# dg_restore_blank SIZE: the machine's disk replaced by a blank one of SIZE
# (target.img; the caller has removed machine.img) and restored onto it by
# the rescue image (rescue.img, built here) unattended, under OVMF on a
# fresh NVRAM ($LB_WORK/vars-new.fd, for the restored machine's boots), the
# backup disk first. The rescue serial log is $LB_WORK/rescue.log. Fails
# unless it says ok; sets DG_INSTANCE, the restore-session's instance.
dg_restore_blank() {
	local w=$LB_WORK start result
	local -a ovmf
	truncate -s "$1" "$w/target.img"
	rs_rescue_image "$w/rescue.img"
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$w/vars-new.fd"
	mapfile -t ovmf < <(dg_ovmf "$w/vars-new.fd")
	start=$(date +%s)
	rs_qemu "$w/rescue.log" 900 -smp 2 "${ovmf[@]}" \
		-kernel "$RS_KERNEL" -initrd "$w/rescue.img" \
		-append 'console=ttyS0 panic=1 no_timer_check lifeboat.restore=auto' \
		-drive "file=$w/backup.img,format=raw,if=virtio" \
		-drive "file=$w/target.img,format=raw,if=virtio" || {
		tr -d '\r' <"$w/rescue.log" | tail -n 60
		lb_fail "the rescue image did not power off by itself"
	}
	result=$(rs_result "$w/rescue.log")
	echo "$result ($(($(date +%s) - start)) s)"
	case $result in
	"LIFEBOAT-RESULT: ok restore-session="*) ;;
	*) tr -d '\r' <"$w/rescue.log" | tail -n 60; lb_fail "the unattended restore did not succeed" ;;
	esac
	DG_INSTANCE=${result#*restore-session=}
	DG_INSTANCE=${DG_INSTANCE%% *}
}
