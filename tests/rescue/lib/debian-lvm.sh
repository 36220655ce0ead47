# shellcheck shell=bash
# tests/rescue/lib/debian-lvm.sh - the Debian 12 test machine with its root
# on LVM in the RHEL layout (what RHEL, Rocky and Alma install by default:
# xfs on LVM, /boot on xfs), sourced after tests/rescue/lib/debian.sh.
#
# GPT: an ESP, a BIOS boot partition, /boot (xfs) and a PV holding the
# volume group lbvg with the LVs root (xfs) and swap, and free extents
# left (room for a snapshot). Both xfs are made with mkfs.xfs's defaults
# (Debian 12's xfsprogs 6.1: crc, finobt, sparse inodes, reflink,
# inobtcount and bigtime on, rmapbt off), which Debian 12's GRUB 2.06
# reads (it boots from this /boot); /boot is 320 MiB, over the 300 MB
# mkfs.xfs now asks for. This host's kernel has no device-mapper: the
# group is written with the lvm program (pvcreate, vgcreate, and its LVs
# put into the metadata with vgcfgrestore: neither needs device-mapper),
# under a configuration of the test's own that sees only the PV's
# partition and keeps no backups in /etc/lvm; the LVs' filesystems are made
# and filled through loop devices over their extents in the image file.
# The machine's initramfs (lvm2's hook) activates the group at boot; the
# kernel's root= names /dev/mapper/lbvg-root, as the installer writes it.

DL_BOOT_UUID=5afe0b07-de6a-4e11-9000-0000000000b0
DL_DISK_GUID=5AFE0B07-DE6A-4E11-9000-0000000000D1
DL_MACHINE_SIZE=3G
DL_BOOT_SECTORS=655360	# 320 MiB
DL_ROOT_EXTENTS=384	# 1.5 GiB of 4 MiB extents
DL_SWAP_EXTENTS=16	# 64 MiB

# dl_mkxfs DEV UUID LABEL: an xfs with mkfs.xfs's defaults, that UUID and
# label (no discard: a loop device over a sparse file)
dl_mkxfs() {
	mkfs.xfs -q -f -K -m uuid="$2" -L "$3" "$1"
}

# dl_lvm ARGS...: the lvm program under the test's own configuration
dl_lvm() {
	LVM_SYSTEM_DIR=$LB_WORK/lvm LVM_SUPPRESS_FD_WARNINGS=1 lvm "$@"
}

# dl_lv_block NAME FIRST_EXTENT EXTENTS: one linear LV of the metadata text
dl_lv_block() {
	local id
	id=$(head -c 4000 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 32 |
		sed -E 's/^(.{6})(.{4})(.{4})(.{4})(.{4})(.{4})(.{6})$/\1-\2-\3-\4-\5-\6-\7/')
	cat <<L
		$1 {
			id = "$id"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			creation_time = $(date +%s)
			creation_host = "lifeboat-e2e"
			segment_count = 1

			segment1 {
				start_extent = 0
				extent_count = $3
				type = "striped"
				stripe_count = 1
				stripes = [
					"pv0", $2
				]
			}
		}
L
}

# dl_lvm_conf PV: the test's lvm configuration ($LB_WORK/lvm), under which
# lvm sees only the device PV and keeps no backups
dl_lvm_conf() {
	local pv=$1
	mkdir -p "$LB_WORK/lvm"
	cat >"$LB_WORK/lvm/lvm.conf" <<C
devices {
	filter = [ "a|^$pv\$|", "r|.*|" ]
	global_filter = [ "a|^$pv\$|", "r|.*|" ]
	use_devicesfile = 0
	obtain_device_list_from_udev = 0
	external_device_info_source = "none"
}
activation {
	udev_sync = 0
	udev_rules = 0
	monitoring = 0
}
global { use_lvmlockd = 0 }
backup {
	backup = 0
	archive = 0
}
C
}

# dl_make_vg PV: the volume group lbvg on PV with root and swap; prints the
# PV's first extent (512-byte sectors from the PV's start)
dl_make_vg() {
	local pv=$1 txt=$LB_WORK/lvm/lbvg.txt
	dl_lvm_conf "$pv"
	dl_lvm pvcreate -q "$pv" >/dev/null 2>&1 || lb_fail "pvcreate $pv failed"
	dl_lvm vgcreate -q -s 4M lbvg "$pv" >/dev/null 2>&1 || lb_fail "vgcreate lbvg failed"
	dl_lvm vgcfgbackup -q -f "$txt.0" lbvg >/dev/null 2>&1 || lb_fail "vgcfgbackup lbvg failed"
	{
		# the text without its last closing brace, the LVs, the brace
		sed '$d' "$txt.0" | sed '$d'
		printf '\n\tlogical_volumes {\n'
		dl_lv_block root 0 "$DL_ROOT_EXTENTS"
		dl_lv_block swap "$DL_ROOT_EXTENTS" "$DL_SWAP_EXTENTS"
		printf '\t}\n}\n'
	} >"$txt"
	# (it warns that it cannot check for active LVs: no device-mapper)
	dl_lvm vgcfgrestore -q -f "$txt" lbvg >"$LB_WORK/lvm/restore.log" 2>&1 || {
		cat "$LB_WORK/lvm/restore.log" >&2
		lb_fail "vgcfgrestore of lbvg with its LVs failed"
	}
	dl_lvm pvs --noheadings --nosuffix --units s -o pe_start "$pv" 2>/dev/null | tr -d ' '
}

# dl_attach_extents OFFSET_SECTORS EXTENTS: a loop device over those extents
# of machine.img (registered for lb_cleanup), printed
dl_attach_extents() {
	local dev
	dev=$(losetup -f --show -o $(($1 * 512)) --sizelimit $(($2 * 4 * 1048576)) "$LB_WORK/machine.img")
	printf '%s\n' "$dev" >>"$LB_WORK/loops"
	printf '%s\n' "$dev"
}

# dl_build_machine TARBALL: machine.img, the LVM-root machine. Sets
# DG_MACHINE (the disk's loop device, left attached, nothing mounted; the
# LVs' loop devices are detached).
dl_build_machine() {
	local tarball=$1 d mnt=$LB_WORK/mnt esp boot pv pe p4 root swap
	d=$(fx_attach machine.img "$DL_MACHINE_SIZE")
	DG_MACHINE=$d
	sfdisk -q --no-reread --no-tell-kernel "$d" <<T
label: gpt
label-id: $DL_DISK_GUID
unit: sectors
first-lba: 2048
start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System Partition"
start=133120, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
start=135168, size=$DL_BOOT_SECTORS, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="boot"
start=$((135168 + DL_BOOT_SECTORS)), type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name="lvm"
T
	fx_reread "$d"
	esp=$(fx_part "$d" 1)
	boot=$(fx_part "$d" 3)
	pv=$(fx_part "$d" 4)
	fx_mkvfat "$esp" "$DG_ESP_ID" ESP -F 32 -s 1 2>/dev/null
	dl_mkxfs "$boot" "$DL_BOOT_UUID" boot
	pe=$(dl_make_vg "$pv")
	[ -n "$pe" ] || lb_fail "lvm gave no first extent for $pv"
	rs_flush "$d" "$d"p*
	p4=$(sfdisk --dump "$d" | sed -n "s|^${d}p4 : start= *\([0-9]*\),.*|\1|p")
	root=$(dl_attach_extents $((p4 + pe)) "$DL_ROOT_EXTENTS")
	swap=$(dl_attach_extents $((p4 + pe + DL_ROOT_EXTENTS * 8192)) "$DL_SWAP_EXTENTS")
	dl_mkxfs "$root" "$DG_ROOT_UUID" root
	fx_mkswap "$swap" "$DG_SWAP_UUID" swap

	mkdir -p "$mnt"
	mount -t xfs "$root" "$mnt"
	mkdir -p "$mnt/boot"
	mount -t xfs "$boot" "$mnt/boot"
	dg_fill_tree "$tarball" "$mnt"
	cat >"$mnt/etc/fstab" <<F
# /etc/fstab of lifeboat's Debian test machine in the RHEL layout (as
# RHEL's installer writes it: xfs is not checked at boot, pass 0)
/dev/mapper/lbvg-root / xfs defaults 0 0
UUID=$DL_BOOT_UUID /boot xfs defaults 0 0
UUID=${DG_ESP_ID:0:4}-${DG_ESP_ID:4:4} /boot/efi vfat umask=0077 0 1
/dev/mapper/lbvg-swap none swap sw 0 0
F
	mkdir -p "$mnt/boot/grub"
	cat >"$mnt/boot/grub/grub.cfg" <<G
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "Debian GNU/Linux (lifeboat test machine, RHEL layout: xfs on LVM)" {
	search --no-floppy --fs-uuid --set=root $DL_BOOT_UUID
	linux /vmlinuz-$DG_KVER root=/dev/mapper/lbvg-root resume=/dev/mapper/lbvg-swap ro console=ttyS0 panic=1 no_timer_check
	initrd /initrd.img-$DG_KVER
}
G
	# GRUB for BIOS, and for UEFI until the first boot installs its own
	rs_install_grub "$d" "$mnt" "$DL_BOOT_UUID" /grub xfs
	rs_flush "$root" "$swap"
	losetup -d "$root" "$swap"
}

# dl_attach_ro IMG OFFSET_SECTORS SECTORS: a read-only loop device over
# that part of the image file IMG (registered for lb_cleanup), printed
dl_attach_ro() {
	local dev
	dev=$(losetup -r -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1")
	printf '%s\n' "$dev" >>"$LB_WORK/loops"
	printf '%s\n' "$dev"
}

# dl_attach_xfs IMG: read-only loop devices over the /boot partition and
# the root LV of the machine's disk image IMG, found from what is on IMG:
# its partition table (sfdisk) and its volume group's metadata (lvm,
# reading only: no device-mapper needed). Sets DL_BOOT_DEV, DL_ROOT_DEV
# and DL_PV_DEV (the PV's partition).
dl_attach_xfs() {
	local img=$1 p3 p4 pv pe ext range
	p3=$(sfdisk --dump "$img" | sed -n "s|^${img}3 : start= *\([0-9]*\), size= *\([0-9]*\),.*|\1 \2|p")
	p4=$(sfdisk --dump "$img" | sed -n "s|^${img}4 : start= *\([0-9]*\), size= *\([0-9]*\),.*|\1 \2|p")
	[ -n "$p3" ] && [ -n "$p4" ] || lb_fail "$img: no partitions 3 and 4"
	DL_BOOT_DEV=$(dl_attach_ro "$img" $p3)
	pv=$(dl_attach_ro "$img" $p4)
	DL_PV_DEV=$pv
	dl_lvm_conf "$pv"
	pe=$(dl_lvm pvs --noheadings --nosuffix --units s -o pe_start "$pv" 2>/dev/null | tr -d ' ')
	ext=$(dl_lvm vgs --noheadings --nosuffix --units s -o vg_extent_size lbvg 2>/dev/null | tr -d ' ')
	range=$(dl_lvm lvs --noheadings -o seg_pe_ranges lbvg/root 2>/dev/null | tr -d ' ')
	case $range in
	"$pv":[0-9]*-[0-9]*) range=${range#"$pv":} ;;
	*) lb_fail "$img: the root LV is not one run of extents on its PV ($range)" ;;
	esac
	[ -n "$pe" ] && [ -n "$ext" ] || lb_fail "$img: lvm gave no first extent or extent size"
	DL_ROOT_DEV=$(dl_attach_ro "$img" $((${p4% *} + pe + ${range%-*} * ext)) \
		$(((${range#*-} - ${range%-*} + 1) * ext)))
}
