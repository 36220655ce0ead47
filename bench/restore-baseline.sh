#!/bin/bash
# restore-baseline.sh SAVEDIR DEV - the layout restore a user would script
# by hand from what bench/capture-baseline.sh saved for DEV (NAME.sfdisk and
# NAME.blkid, NAME = DEV without /dev/), plus, when present, NAME.mbr (the
# 440 bytes of MBR boot code) and NAME.pN.raw (the bytes of partition N, for
# a BIOS boot partition): the partition table from the sfdisk dump, then
# mkfs.vfat / mke2fs / mkswap with each volume's UUID, label and block size.
# ext2/3/4 get mke2fs's fast options (lazy inode table and journal init, no
# discard), as lifeboat restore --quick-format does. Labels are taken as
# blkid printed them (no unescaping); fine for plain labels.
# The baseline bench/restore-layout.sh times lifeboat restore against.
set -eu
dir=${1:?usage: $0 SAVEDIR DEV}
dev=${2:?usage: $0 SAVEDIR DEV}
name=${dev##*/}

# sfdisk as anyone would run it (it syncs and asks the kernel to re-read the
# table). The kernel here has no partition table parsers (and there is no
# udev), so that re-read finds nothing ("Re-reading the partition table
# failed", exit status 0): add the partitions with BLKPG.
sfdisk -q "$dev" <"$dir/$name.sfdisk"
partx -a "$dev"
if [ -f "$dir/$name.mbr" ]; then
	dd if="$dir/$name.mbr" of="$dev" bs=440 count=1 conv=notrunc,fsync status=none
fi

mkvol() {
	local part=$dev"p"$num _
	[ -n "$num" ] || return 0
	for _ in $(seq 50); do
		[ -b "$part" ] && break
		sleep 0.1
	done
	case $type in
	vfat)
		mkfs.vfat -F "${version#FAT}" -i "${uuid//-/}" ${label:+-n "$label"} "$part" >/dev/null ;;
	ext2 | ext3 | ext4)
		mke2fs -F -q -t "$type" -U "$uuid" ${label:+-L "$label"} ${bsize:+-b "$bsize"} \
			-E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$part" ;;
	swap)
		mkswap -q -U "$uuid" ${label:+-L "$label"} "$part" ;;
	"")
		if [ -f "$dir/$name.p$num.raw" ]; then
			dd if="$dir/$name.p$num.raw" of="$part" bs=1M conv=notrunc,fsync status=none
		fi ;;
	*)
		echo "$0: $part: cannot make $type" >&2
		return 1 ;;
	esac
}

# NAME.blkid: blkid -p -o export blocks, one per device, blank-line separated
num="" type="" uuid="" label="" version="" bsize=""
while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	"")
		mkvol
		num="" type="" uuid="" label="" version="" bsize="" ;;
	PART_ENTRY_NUMBER=*) num=${line#*=} ;;
	TYPE=*) type=${line#*=} ;;
	UUID=*) uuid=${line#*=} ;;
	LABEL=*) label=${line#*=} ;;
	VERSION=*) version=${line#*=} ;;
	BLOCK_SIZE=*) bsize=${line#*=} ;;
	esac
done <"$dir/$name.blkid"
mkvol
# (sfdisk, mkfs.vfat, mke2fs and mkswap fsync the device before they exit;
# the dd calls use conv=fsync)
