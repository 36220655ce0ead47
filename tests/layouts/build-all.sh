#!/bin/bash
# Build every fixture layout in its own work dir, check that the intended
# properties hold (sfdisk --dump, blkid -p), clean up, and check that none of
# the loop devices it attached are left attached.
# Usage: build-all.sh [LAYOUT...]; exit 0 pass, 1 fail, 77 skip (not root).
# shellcheck disable=SC2317,SC2016 # check_* run as "check_$L"; literal labels
set -eEuo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
lb_need_root
trap 'lb_fail "${L:-}: unexpected error (line $LINENO): $BASH_COMMAND"' ERR

layouts=${*:-gpt-server mbr-logical 4kn gpt-odd hostile-labels whole-disk multi-disk}

# Disk N (1-based) of the layout just built.
disk() { sed -n "${1}p" "$LB_WORK/disks"; }

# has_dump DEV STRING: STRING occurs in sfdisk --dump DEV.
has_dump() {
	sfdisk --dump "$1" 2>/dev/null | grep -qF -- "$2" ||
		lb_fail "$L: sfdisk --dump $1 lacks: $2"
}

# tag DEV TAG VALUE: blkid -p reports TAG=VALUE for DEV (raw value, no
# escaping, via -o value).
tag() {
	local got
	got=$(blkid -p -o value -s "$2" "$1" 2>/dev/null) || got=
	[ "$got" = "$3" ] || lb_fail "$L: $1 $2 is [$got], want [$3]"
}

# bootcode DEV TEXT: bytes 0-439 are TEXT repeated.
bootcode() {
	cmp -s <(head -c 440 "$1") <({ yes -- "$2" || true; } | head -c 440) ||
		lb_fail "$L: $1 lacks the fake boot code"
}

# byte DEV OFFSET HEX: the byte at OFFSET is HEX (two lower-case digits).
byte() {
	local got
	got=$(od -An -tx1 -j "$2" -N1 "$1" | tr -d ' \n')
	[ "$got" = "$3" ] || lb_fail "$L: $1 byte $2 is $got, want $3"
}

# kparts DEV: the partition numbers the kernel has for DEV, ascending.
kparts() {
	local k n=${1#/dev/} nums=()
	for k in /sys/class/block/"$n"/"$n"p*; do
		if [ -e "$k" ]; then nums+=("${k##*p}"); fi
	done
	if [ ${#nums[@]} -gt 0 ]; then
		printf '%s\n' "${nums[@]}" | sort -n | tr '\n' ' ' | sed 's/ *$//'
	fi
}

# parts DEV N...: exactly partitions N... exist, per sfdisk and the kernel.
parts() {
	local d=$1 want got k
	shift
	want="$*"
	got=$({ sfdisk --dump "$d" 2>/dev/null || true; } | sed -n "s|^${d}p\([0-9]*\) :.*|\1|p" | tr '\n' ' ')
	[ "${got% }" = "$want" ] || lb_fail "$L: $d partitions [${got% }], want [$want]"
	got=$(kparts "$d")
	[ "$got" = "$want" ] || lb_fail "$L: kernel sees partitions [$got] on $d, want [$want]"
}

check_gpt-server() {
	local d; d=$(disk 1)
	has_dump "$d" "label: gpt"
	has_dump "$d" "label-id: 6C1FE0B0-0001-4C1F-8A00-000000000001"
	parts "$d" 1 2 3 4 5
	has_dump "$d" "type=21686148-6449-6E6F-744E-656564454649"
	tag "${d}p1" TYPE vfat; tag "${d}p1" VERSION FAT32; tag "${d}p1" LABEL EFI
	tag "${d}p1" PART_ENTRY_TYPE c12a7328-f81f-11d2-ba4b-00a0c93ec93b
	cmp -s <(head -c 1048576 "${d}p2") <({ yes lifeboat-bios-boot || true; } | head -c 1048576) ||
		lb_fail "$L: BIOS boot partition content"
	tag "${d}p3" TYPE ext4; tag "${d}p3" LABEL boot; tag "${d}p3" BLOCK_SIZE 1024
	tag "${d}p4" TYPE swap; tag "${d}p4" LABEL swap
	tag "${d}p5" TYPE ext4; tag "${d}p5" LABEL root; tag "${d}p5" BLOCK_SIZE 4096
	tag "${d}p5" UUID 6c1fe0b0-0001-4c1f-8a00-0000000000b5
	bootcode "$d" lifeboat-gpt-server-mbr-boot-code
	byte "$d" 450 ee	# protective MBR entry survived the boot code
	byte "$d" 510 55; byte "$d" 511 aa
}

check_mbr-logical() {
	local d; d=$(disk 1)
	has_dump "$d" "label: dos"
	has_dump "$d" "label-id: 0x4c1fe0b2"
	parts "$d" 1 2 3 5 6 7
	has_dump "$d" "${d}p1 : start=        2048, size=      131072, type=83, bootable"
	has_dump "$d" "${d}p3 : start=      198656, size=      325632, type=f"
	tag "${d}p1" TYPE ext2
	tag "${d}p2" TYPE vfat; tag "${d}p2" VERSION FAT16; tag "${d}p2" LABEL DOSDATA
	tag "${d}p5" TYPE ext3; tag "${d}p5" LABEL logical-ext3
	tag "${d}p6" TYPE swap
	tag "${d}p7" TYPE ""
	# Gaps: p6's EBR is not right after p5, nor p7's after p6.
	local p5end p6 p7
	p5end=$((200704 + 65536))
	p6=$(blkid -p -o value -s PART_ENTRY_OFFSET "${d}p6")
	p7=$(blkid -p -o value -s PART_ENTRY_OFFSET "${d}p7")
	if [ $((p6 - p5end)) -le 2048 ] || [ $((p7 - p6 - 65536)) -le 2048 ]; then
		lb_fail "$L: no gaps between logicals"
	fi
	bootcode "$d" lifeboat-mbr-logical-boot-code
	byte "$d" 440 b2	# disk identifier 0x4c1fe0b2, little-endian
}

check_4kn() {
	local d; d=$(disk 1)
	[ "$(blockdev --getss "$d")" = 4096 ] || lb_fail "$L: $d logical sector size not 4096"
	[ "$(blockdev --getss "${d}p1")" = 4096 ] || lb_fail "$L: ${d}p1 sector size not 4096"
	has_dump "$d" "sector-size: 4096"
	has_dump "$d" "first-lba: 256"
	parts "$d" 1 2 3
	tag "${d}p1" TYPE ext4; tag "${d}p1" BLOCK_SIZE 4096
	tag "${d}p2" TYPE vfat; tag "${d}p2" VERSION FAT32; tag "${d}p2" BLOCK_SIZE 4096
	tag "${d}p3" TYPE ""
	# GPT header at LBA 1 = byte 4096 on a 4Kn disk.
	[ "$(dd if="$d" bs=4096 skip=1 count=1 status=none | head -c 8)" = "EFI PART" ] ||
		lb_fail "$L: no GPT header at byte 4096"
}

check_gpt-odd() {
	local d; d=$(disk 1)
	has_dump "$d" "table-length: 56"
	has_dump "$d" "first-lba: 4096"
	parts "$d" 1 2 5
	has_dump "$d" "${d}p1 : start=       45056,"
	has_dump "$d" "${d}p2 : start=        4096,"
	has_dump "$d" "${d}p5 : start=      120001, size=       20001,"
	tag "${d}p1" PART_ENTRY_NAME "ルート"
	tag "${d}p2" PART_ENTRY_NAME "données"
	tag "${d}p5" PART_ENTRY_NAME "Ωmega"
	tag "${d}p1" PART_ENTRY_FLAGS 0x8000000000000004
	tag "${d}p2" PART_ENTRY_FLAGS 0x1000000000000001
	tag "${d}p5" PART_ENTRY_FLAGS 0x9000000000000005
	tag "${d}p2" TYPE ext4; tag "${d}p2" BLOCK_SIZE 1024; tag "${d}p2" LABEL "données"
	if dumpe2fs -h "${d}p2" 2>/dev/null | grep '^Filesystem features:' | grep -q metadata_csum; then
		lb_fail "$L: ${d}p2 has metadata_csum"
	fi
	tag "${d}p1" TYPE ext2; tag "${d}p1" LABEL "ルート"
	tag "${d}p5" TYPE ""
}

check_hostile-labels() {
	local d; d=$(disk 1)
	parts "$d" 1 2 3 4
	tag "${d}p1" TYPE ext4
	tag "${d}p1" LABEL 'a"b'"'"'c $(x) `y`'
	tag "${d}p2" TYPE swap
	tag "${d}p2" LABEL ';rm -rf /;'
	tag "${d}p3" TYPE vfat
	tag "${d}p3" LABEL "\$(RM) 'A'&"
	tag "${d}p4" TYPE ext2
	tag "${d}p4" LABEL '--help *'
	tag "${d}p1" PART_ENTRY_NAME '$(reboot) `id` "q" '"'"'x'"'"' <&>|;'
	tag "${d}p2" PART_ENTRY_NAME 'back\slash'
	tag "${d}p3" PART_ENTRY_NAME '-n *; echo $HOME'
	tag "${d}p4" PART_ENTRY_NAME '100% "ü" ☃ \x41'
}

check_whole-disk() {
	local a b
	a=$(disk 1); b=$(disk 2)
	[ -n "$b" ] || lb_fail "$L: disks file lists fewer than 2 disks"
	tag "$a" TYPE ext4; tag "$a" LABEL wholedisk; tag "$a" PTTYPE ""
	parts "$a"
	tag "$b" TYPE ""; tag "$b" PTTYPE ""
	parts "$b"
	[ "$(dd if="$b" bs=4M status=none | tr -d '\0' | wc -c)" = 0 ] ||
		lb_fail "$L: $b is not all zeroes"
}

check_multi-disk() {
	local a b
	a=$(disk 1); b=$(disk 2)
	has_dump "$a" "label: gpt"
	parts "$a" 1
	tag "${a}p1" TYPE ext4; tag "${a}p1" LABEL data; tag "${a}p1" PART_ENTRY_NAME data
	has_dump "$b" "label: dos"
	parts "$b" 1 2
	tag "${b}p1" TYPE ext4
	tag "${b}p2" TYPE swap
}

start=$EPOCHREALTIME
for L in $layouts; do
	t0=$EPOCHREALTIME
	lb_workdir
	work=$LB_WORK
	lb_build_layout "$L" >"$work/build.log" 2>&1 ||
		{ cat "$work/build.log" >&2; lb_fail "$L: layout script failed"; }
	[ -s "$LB_WORK/disks" ] || lb_fail "$L: no disks file"
	while IFS= read -r dev; do
		[ -b "$dev" ] || lb_fail "$L: $dev in disks is not a block device"
		grep -qxF -- "$dev" "$LB_WORK/loops" || lb_fail "$L: $dev not in loops"
	done <"$LB_WORK/disks"
	t1=$EPOCHREALTIME
	"check_$L"
	t2=$EPOCHREALTIME
	loops=$(cat "$LB_WORK/loops")
	lb_cleanup
	[ ! -e "$work" ] || lb_fail "$L: work dir $work not removed"
	for dev in $loops; do
		case $(losetup -n -O BACK-FILE "$dev" 2>/dev/null) in
		"$work"/*) lb_fail "$L: $dev still attached after cleanup" ;;
		esac
		if [ -z "$(losetup -n -O NAME "$dev" 2>/dev/null)" ] &&
			[ -n "$(kparts "$dev")" ]; then
			lb_fail "$L: $dev detached but still has partitions"
		fi
	done
	awk -v l="$L" "BEGIN { printf \"ok: %s (build %.2f s, checks %.2f s, cleanup %.2f s)\\n\", l, $t1 - $t0, $t2 - $t1, $EPOCHREALTIME - $t2 }"
done
trap - EXIT
echo "PASS: $(lb_name) ($(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }") s)"
exit 0
