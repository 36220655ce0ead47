# shellcheck shell=bash
# tests/rescue/lib/rescue.sh - helpers for the rescue image tests, sourced
# after tests/lib.sh (not a test itself: run.sh runs tests/*/*.sh only).
#
# The "machine": a disk image with GPT, an ESP, a BIOS boot partition and
# an ext4 root holding Debian's kernel and a tiny initramfs of our own
# (tests/rescue/machine) whose /init prints the restore-session marker's
# instance, with GRUB for BIOS (grub-install into the BIOS boot partition)
# and for UEFI (a grub-mkimage EFI binary put on the ESP with mtools: this
# host cannot mount vfat). A "backup" disk image holds its capture at
# /lifeboat/machine/ on ext4. Everything is a loop device over a file in
# $LB_WORK, registered for lb_cleanup; nothing else is ever written.

RS_DIR=$LB_TOP/tests/rescue
FX_WORKDIR=${LB_WORK:?lb_workdir first}
export FX_WORKDIR
# shellcheck source=fixtures/layouts/lib.sh
. "$LB_TOP/fixtures/layouts/lib.sh"

RS_ESP_ID=5AFE0B01
RS_ROOT_UUID=5afe0b07-1ecb-4a7e-9000-00000000c0de
RS_DISK_GUID=5AFE0B07-1ECB-4A7E-9000-0000000000D0
RS_BACKUP_UUID=5afe0b07-1ecb-4a7e-9000-0000000bac0b
RS_MACHINE_SIZE=256M

# rs_cleanup: unmounts whatever this test mounted under $LB_WORK (deepest
# first) before lb_cleanup detaches the loop devices and removes the files:
# rm -rf must never walk into a mounted filesystem.
rs_cleanup() {
	local m
	[ -n "${LB_WORK:-}" ] || return 0
	for m in $(awk -v w="$LB_WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	lb_cleanup
}
trap rs_cleanup EXIT

rs_skip() {
	printf 'SKIP: %s: %s\n' "$(lb_name)" "$*"
	exit 77
}

# rs_need: root, qemu, a Debian kernel with modules, busybox, GRUB and
# mtools; skips (77) with what is missing.
rs_need() {
	local p
	lb_need_root
	for p in qemu-system-x86_64 busybox grub-install grub-mkimage mcopy mmd mkfs.vfat zstd cpio timeout; do
		command -v "$p" >/dev/null 2>&1 ||
			rs_skip "needs $p (tests/install-deps.sh: qemu-system-x86 busybox-static grub-pc-bin grub-efi-amd64-bin mtools cpio zstd)"
	done
	[ -d /usr/lib/grub/i386-pc ] || rs_skip "needs /usr/lib/grub/i386-pc (grub-pc-bin)"
	[ -d /usr/lib/grub/x86_64-efi ] || rs_skip "needs /usr/lib/grub/x86_64-efi (grub-efi-amd64-bin)"
	RS_KERNEL=$(rs_kernel) || rs_skip "needs a Debian kernel with modules (apt-get install --no-install-recommends linux-image-amd64)"
	export RS_KERNEL
}

# rs_kernel: the newest /boot/vmlinuz-* that has /lib/modules.
rs_kernel() {
	local k v best=
	for k in /boot/vmlinuz-*; do
		[ -f "$k" ] || continue
		v=${k#/boot/vmlinuz-}
		[ -f "/lib/modules/$v/modules.dep" ] && best=$k
	done
	[ -n "$best" ] && printf '%s\n' "$best"
}

# rs_qemu LOG TIMEOUT [qemu args...]: lb_qemu (tests/lib.sh: TCG, the
# serial console into LOG, at most TIMEOUT seconds, one more boot when the
# guest's kernel stalls before userspace). Returns qemu's (or timeout's)
# status.
rs_qemu() {
	lb_qemu "$@"
}

# rs_result LOG: the LIFEBOAT-RESULT line of a serial log (without the
# carriage return), failing when there is not exactly one.
rs_result() {
	local n
	n=$(grep -c '^LIFEBOAT-RESULT: ' "$1" || true)
	if [ "$n" != 1 ]; then
		echo "---- serial log (last 60 lines) ----" >&2
		tr -d '\r' <"$1" | tail -n 60 >&2
		lb_fail "expected one LIFEBOAT-RESULT line in $1, found $n"
	fi
	grep '^LIFEBOAT-RESULT: ' "$1" | tr -d '\r'
}

# rs_rescue_image OUT [mkrescue options...]: builds the rescue initramfs.
rs_rescue_image() {
	local out=$1
	shift
	"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --output "$out" "$@" >"$LB_WORK/mkrescue.log" 2>&1 || {
		cat "$LB_WORK/mkrescue.log" >&2
		lb_fail "lifeboat mkrescue failed"
	}
}

# rs_build_machine: the machine disk; sets RS_MACHINE (its loop device).
rs_build_machine() {
	local d mnt=$LB_WORK/mnt esp root efi
	d=$(fx_attach machine.img "$RS_MACHINE_SIZE")
	RS_MACHINE=$d
	sfdisk -q --no-reread --no-tell-kernel "$d" <<T
label: gpt
label-id: $RS_DISK_GUID
unit: sectors
first-lba: 2048
start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=5AFE0B07-1ECB-4A7E-9000-0000000000E1, name="EFI System Partition"
start=133120, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=5AFE0B07-1ECB-4A7E-9000-0000000000E2, name="BIOS boot"
start=135168, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=5AFE0B07-1ECB-4A7E-9000-0000000000E3, name="root"
T
	fx_reread "$d"
	esp=$(fx_part "$d" 1)
	root=$(fx_part "$d" 3)
	fx_mkvfat "$esp" "$RS_ESP_ID" ESP -F 32 -s 1 2>/dev/null
	fx_mkext ext4 "$root" "$RS_ROOT_UUID" root

	mkdir -p "$mnt"
	mount -t ext4 "$root" "$mnt"
	mkdir -p "$mnt/boot/grub" "$mnt/etc" "$mnt/var/lib" "$mnt/boot/efi"
	cp "$RS_KERNEL" "$mnt/boot/vmlinuz"
	"$LIFEBOAT" mkrescue --modules-dir "$RS_DIR/machine" --kernel "$RS_KERNEL" \
		--output "$mnt/boot/initrd.img" >"$LB_WORK/machine-initrd.log" 2>&1 || {
		umount "$mnt"
		cat "$LB_WORK/machine-initrd.log" >&2
		lb_fail "building the machine's initramfs failed"
	}
	cat >"$mnt/etc/fstab" <<F
UUID=$RS_ROOT_UUID / ext4 defaults 0 1
UUID=${RS_ESP_ID:0:4}-${RS_ESP_ID:4:4} /boot/efi vfat umask=0077 0 1
F
	cat >"$mnt/boot/grub/grub.cfg" <<G
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "lifeboat test machine" {
	search --no-floppy --fs-uuid --set=root $RS_ROOT_UUID
	linux /boot/vmlinuz root=UUID=$RS_ROOT_UUID console=ttyS0 panic=1 quiet
	initrd /boot/initrd.img
}
G
	rs_install_grub "$d" "$mnt" "$RS_ROOT_UUID"
}

# rs_install_grub DEV MNT BOOT_UUID [GRUB_DIR [FS_MODULE]]: GRUB for both
# firmwares on the machine disk DEV (loop over $LB_WORK/machine.img, ESP at
# 1 MiB) whose root is mounted at MNT (and its /boot below it when that is
# a filesystem of its own): for BIOS, boot.img into the MBR and core.img
# into the BIOS boot partition; for UEFI, a GRUB that finds the filesystem
# holding /boot/grub by its UUID, BOOT_UUID, and reads GRUB_DIR there
# (/boot/grub, or /grub on a /boot of its own) with GRUB's module
# FS_MODULE (ext2, the default, or xfs), at the removable-media path
# \EFI\BOOT\BOOTX64.EFI, put on the ESP with mtools (a loop partition has
# no geometry for it, and this host cannot mount vfat: through the image
# file, between two flushes of the devices' caches). Unmounts MNT (and what
# is mounted below it).
rs_install_grub() {
	local d=$1 mnt=$2 uuid=$3 dir=${4:-/boot/grub} fsmod=${5:-ext2} efi=$LB_WORK/BOOTX64.EFI
	grub-install --target=i386-pc --boot-directory="$mnt/boot" --modules="part_gpt $fsmod" \
		--no-floppy "$d" >"$LB_WORK/grub-install.log" 2>&1 || {
		umount -R "$mnt"
		cat "$LB_WORK/grub-install.log" >&2
		lb_fail "grub-install --target=i386-pc failed"
	}
	mkdir -p "$mnt/boot/grub/x86_64-efi"
	cp /usr/lib/grub/x86_64-efi/*.mod /usr/lib/grub/x86_64-efi/*.lst "$mnt/boot/grub/x86_64-efi/"
	printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)%s\n' \
		"$uuid" "$dir" >"$LB_WORK/early.cfg"
	grub-mkimage -O x86_64-efi -o "$efi" -p "$dir" -c "$LB_WORK/early.cfg" \
		part_gpt "$fsmod" search search_fs_uuid normal configfile linux echo serial terminal test ||
		{ umount -R "$mnt"; lb_fail "grub-mkimage x86_64-efi failed"; }
	umount -R "$mnt"
	rs_flush "$d" "$d"p*
	mmd -i "$LB_WORK/machine.img@@1M" ::/EFI ::/EFI/BOOT
	mcopy -i "$LB_WORK/machine.img@@1M" "$efi" ::/EFI/BOOT/BOOTX64.EFI
	rs_flush "$d" "$d"p*
}

# rs_flush DEV...: writes back and drops the devices' page caches.
rs_flush() {
	local dev
	sync
	for dev in "$@"; do
		blockdev --flushbufs "$dev" 2>/dev/null || true
	done
}

# rs_build_backup SIZE: the backup disk (GPT, one ext4 partition labelled
# LBBACKUP), mounted at $LB_WORK/backup; sets RS_BACKUP.
rs_build_backup() {
	local d part
	d=$(fx_attach backup.img "$1")
	RS_BACKUP=$d
	sfdisk -q --no-reread --no-tell-kernel "$d" <<'T'
label: gpt
unit: sectors
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="backup"
T
	lb_new_disk_id "$d"
	fx_reread "$d"
	part=$(fx_part "$d" 1)
	fx_mkext ext4 "$part" "$RS_BACKUP_UUID" LBBACKUP
	mkdir -p "$LB_WORK/backup"
	mount -t ext4 "$part" "$LB_WORK/backup"
}

# rs_capture [capture options...]: captures the machine onto the backup disk
# at /lifeboat/machine. The machine's root is mounted read-only meanwhile
# and, through LIFEBOAT_MOUNTINFO, recorded as mounted at / (and the ESP at
# /boot/efi), as on the real machine, so that restore writes the marker
# into it; LIFEBOAT_SYSROOT lets capture read its fstab and grub.cfg.
rs_capture() {
	local root esp mnt=$LB_WORK/mnt
	root=$(fx_part "$RS_MACHINE" 3)
	esp=$(fx_part "$RS_MACHINE" 1)
	mkdir -p "$mnt" "$LB_WORK/backup/lifeboat"
	mount -t ext4 -o ro "$root" "$mnt"
	{
		printf '1 0 %s / / ro,relatime - ext4 %s ro\n' "$(rs_majmin "$root")" "$root"
		printf '2 1 %s / /boot/efi ro,relatime - vfat %s ro\n' "$(rs_majmin "$esp")" "$esp"
	} >"$LB_WORK/mountinfo"
	if ! LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo LIFEBOAT_SYSROOT=$mnt \
		"$LIFEBOAT" capture --disk "$RS_MACHINE" --output "$LB_WORK/backup/lifeboat/machine" "$@" \
		>"$LB_WORK/capture.log" 2>&1; then
		cat "$LB_WORK/capture.log" >&2
		lb_fail "lifeboat capture failed"
	fi
	umount "$mnt"
}

rs_majmin() {
	printf '%d:%d\n' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}

# rs_release_backup: unmounts the backup disk and detaches it, so that qemu
# has the only writer of backup.img.
rs_release_backup() {
	umount "$LB_WORK/backup"
	partx -d "$RS_BACKUP" >/dev/null 2>&1 || true
	losetup -d "$RS_BACKUP"
	RS_BACKUP=
}

# rs_oracle DEV: lb_oracle with the device's name and numbers masked.
rs_oracle() {
	lb_oracle "$1" | sed -e "s|$1|DISK|g" -e 's/^PART_ENTRY_DISK=.*/PART_ENTRY_DISK=(masked)/'
}
