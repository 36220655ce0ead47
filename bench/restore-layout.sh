#!/usr/bin/env bash
# bench/restore-layout.sh - layout-only restore and full-format throughput.
#
# Part 1, layout restore. A server disk (SIZE_GIB sparse file, GPT): ESP
# FAT32 512 MiB, BIOS boot 1 MiB (with recognisable bytes), /boot ext4
# 1 GiB, swap 4 GiB, root ext4 8 GiB, /var ext4 4 GiB, /home ext4 on the
# rest, fake boot code in the MBR. Captured once with lifeboat capture
# --data none and, for the baseline, with bench/capture-baseline.sh plus the
# MBR boot code and the BIOS boot partition saved with dd (untimed). Then,
# round by round, the disk is wiped (untimed: partitions dropped and the
# whole device discarded, i.e. every byte of the sparse file punched out) and
# restored by
#   lifeboat   lifeboat restore --yes --quick-format --marker FILE CAP
#   (plan)     lifeboat restore --dry-run CAP, timed on its own: the part of
#              the above that loads the capture and scans the machine (it
#              reads every block device in /sys/block, other users' loop
#              devices included, so it depends on what else is attached)
#   by hand    bench/restore-baseline.sh SAVED DEV (sfdisk from the dump,
#              partx -a, dd of the boot code and BIOS boot bytes, mkfs.vfat,
#              mke2fs, mkswap with the same UUIDs and labels)
# Both results are checked once against the original (sfdisk --dump, blkid
# -p of every partition, boot code, BIOS boot bytes). --marker keeps the
# restore-session marker out of the restored root filesystem, so lifeboat
# does not mount it (the baseline writes no marker either).
#
# Part 2, full-format throughput. A second disk with a single FULL_GIB ext4
# partition, captured; per round, on its partition device:
#   lifeboat restore --yes --full-format   (wipe first; table, BLKZEROOUT
#                                           of the volume, read-back check,
#                                           mke2fs)
#   lifeboat restore --yes --quick-format  (wipe first; the same minus the
#                                           zeroing and the check)
#   dd if=/dev/zero of=DEVp1 bs=4M oflag=direct
#   blkdiscard -z DEVp1                    (BLKZEROOUT)
#   dd if=DEVp1 of=/dev/null bs=4M         (buffered read, as lifeboat's
#                                           read-back check does, of the
#                                           device just after a BLKZEROOUT,
#                                           as the check sees it)
#   dd if=DEVp1 of=/dev/null bs=4M iflag=direct  (the same, O_DIRECT)
# CAVEAT: the disks are sparse files behind loop devices. The loop driver
# turns BLKZEROOUT into fallocate() on the backing file (a metadata change,
# no zeros written) and reading a hole costs no disk I/O, while dd writes
# every zero to the host disk. So this shows lifeboat's overhead over the
# kernel's zeroing path, not what zeroing a real disk costs.
#
# Usage: sudo bench/restore-layout.sh
# Environment: SIZE_GIB (20), RUNS (5), FULL_GIB (2), FULL_RUNS (3),
#   LIFEBOAT (./lifeboat).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SIZE_GIB=${SIZE_GIB:-20}
RUNS=${RUNS:-5}
FULL_GIB=${FULL_GIB:-2}
FULL_RUNS=${FULL_RUNS:-3}
[ "$SIZE_GIB" -ge 19 ] || bn_die "SIZE_GIB must be at least 19"

bn_need_root
for p in sfdisk blkid partx blkdiscard wipefs mke2fs mkfs.vfat mkswap dd cmp; do
	command -v "$p" >/dev/null || bn_die "$p is missing"
done
bn_workdir

echo "== layout restore benchmark: GPT server disk of $SIZE_GIB GiB (sparse), full format on $FULL_GIB GiB"
bn_machine
echo "block devices in /sys/block (lifeboat restore scans them all): $(find /sys/block -mindepth 1 -maxdepth 1 | wc -l)"

# wipe DEV: what a dead disk looks like, and the same start for every tool:
# no kernel partitions, every byte zero (discard punches the backing file).
wipe() {
	partx -d "$1" >/dev/null 2>&1 || true
	blkdiscard -f "$1" 2>/dev/null # ("Operation forced, data will be lost!")
	cmp -s -n 1048576 "$1" /dev/zero || bn_die "wipe of $1 left data in its first MiB"
}

# state DEV: what must come back (the untimed check)
state() {
	local part
	sfdisk --dump "$1"
	for part in "$1"p*; do
		[ -b "$part" ] || continue
		echo "-- $part"
		blkid -p -o export "$part" | grep -v '^DEVNAME=' || true
	done
	echo "-- boot code $(head -c 440 "$1" | sha256sum | cut -d' ' -f1)"
	echo "-- p2 $(sha256sum <"$1p2" | cut -d' ' -f1)"
}

# ---- setup (not timed) ----------------------------------------------------
t_setup=$EPOCHREALTIME
d=$(fx_attach server.img "${SIZE_GIB}G")
sfdisk -q --no-reread --no-tell-kernel "$d" <<'T'
label: gpt
label-id: 5E4E0000-0001-4000-8000-000000000000
unit: sectors
first-lba: 2048
size=512MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=5E4E0000-0001-4000-8000-0000000000A1, name="EFI System Partition"
size=1MiB, type=21686148-6449-6E6F-744E-656564454649, uuid=5E4E0000-0001-4000-8000-0000000000A2, name="BIOS boot"
size=1GiB, type=BC13C2FF-59E6-4262-A352-B275FD6F7172, uuid=5E4E0000-0001-4000-8000-0000000000A3, name="boot"
size=4GiB, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, uuid=5E4E0000-0001-4000-8000-0000000000A4, name="swap"
size=8GiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=5E4E0000-0001-4000-8000-0000000000A5, name="root"
size=4GiB, type=4D21B016-B534-45C2-A9FB-5C16E091FD2D, uuid=5E4E0000-0001-4000-8000-0000000000A6, name="var"
type=933AC7E1-2EB4-4F13-B844-0E14E2AEF915, uuid=5E4E0000-0001-4000-8000-0000000000A7, name="home"
T
fx_bootcode "$d" lifeboat-bench-server-mbr-boot-code
partx -a "$d"
bn_wait_parts "$d" 7
fx_mkvfat "${d}p1" 5E4EEF11 EFI -F 32
fx_pattern lifeboat-bench-bios-boot 1048576 | dd of="${d}p2" bs=1M count=1 iflag=fullblock conv=notrunc status=none
fx_mkext ext4 "${d}p3" 5e4e0000-0001-4000-8000-0000000000b3 boot
fx_mkswap "${d}p4" 5e4e0000-0001-4000-8000-0000000000b4 swap
fx_mkext ext4 "${d}p5" 5e4e0000-0001-4000-8000-0000000000b5 root
fx_mkext ext4 "${d}p6" 5e4e0000-0001-4000-8000-0000000000b6 var
fx_mkext ext4 "${d}p7" 5e4e0000-0001-4000-8000-0000000000b7 home

f=$(fx_attach full.img "$((FULL_GIB * 1024 + 2))M")
printf 'label: gpt\nfirst-lba: 2048\nsize=%dMiB, name="data"\n' $((FULL_GIB * 1024)) |
	sfdisk -q --no-reread --no-tell-kernel "$f"
partx -a "$f"
bn_wait_parts "$f" 1
fx_mkext ext4 "${f}p1" 5e4e0000-0002-4000-8000-0000000000b1 data

cap=$BN_WORK/cap
"$LIFEBOAT" capture --data none --output "$cap" --disk "$d" >/dev/null 2>&1 ||
	bn_die "lifeboat capture of $d failed"
fcap=$BN_WORK/fcap
"$LIFEBOAT" capture --data none --output "$fcap" --disk "$f" >/dev/null 2>&1 ||
	bn_die "lifeboat capture of $f failed"
saved=$BN_WORK/saved
"$BN_TOP/bench/capture-baseline.sh" "$saved" "$d"
dd if="$d" of="$saved/${d##*/}.mbr" bs=440 count=1 status=none
dd if="${d}p2" of="$saved/${d##*/}.p2.raw" bs=1M status=none
state "$d" >"$BN_WORK/state.orig"
printf 'setup (attach, partition, mkfs, captures; not timed): %.1f s\n' \
	"$(awk -v a="$t_setup" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"

# ---- part 1: layout restore -----------------------------------------------
check() {
	state "$d" >"$BN_WORK/state.$1"
	if diff -u "$BN_WORK/state.orig" "$BN_WORK/state.$1" >"$BN_WORK/diff.$1"; then
		echo "  $2: the restored disk matches the original (table, blkid -p of every partition, boot code, BIOS boot bytes)"
	else
		echo "  $2: DIFFERS from the original ($(grep -c '^[-+][^-+]' "$BN_WORK/diff.$1") lines):"
		sed 's/^/    /' "$BN_WORK/diff.$1" | head -n 20
	fi
}
run_lifeboat() {
	wipe "$d"
	bn_time plan "$LIFEBOAT" restore --dry-run "$cap"
	bn_time lifeboat "$LIFEBOAT" restore --yes --quick-format --marker "$BN_WORK/marker.xml" "$cap"
}
run_hand() {
	wipe "$d"
	bn_time hand "$BN_TOP/bench/restore-baseline.sh" "$saved" "$d"
}
for r in $(seq "$RUNS"); do
	if [ $((r % 2)) -eq 1 ]; then
		run_lifeboat
		[ "$r" -gt 1 ] || check lifeboat "lifeboat restore --quick-format"
		run_hand
		[ "$r" -gt 1 ] || check hand "by hand"
	else
		run_hand
		run_lifeboat
	fi
	printf 'round %d: lifeboat %s s, by hand %s s\n' "$r" "$(tail -n 1 "$BN_WORK/times.lifeboat" | cut -d' ' -f1)" \
		"$(tail -n 1 "$BN_WORK/times.hand" | cut -d' ' -f1)"
done

# ---- part 2: full format --------------------------------------------------
fp=${f}p1
fbytes=$(blockdev --getsize64 "$fp")
for r in $(seq "$FULL_RUNS"); do
	wipe "$f"
	bn_time full "$LIFEBOAT" restore --yes --full-format --marker "$BN_WORK/marker.xml" "$fcap"
	bn_wait_parts "$f" 1
	bn_time ddzero dd if=/dev/zero of="$fp" bs=4M count=$((fbytes >> 22)) oflag=direct status=none
	bn_time zeroout blkdiscard -z "$fp"
	# the reads see what lifeboat's check sees: the device right after a
	# BLKZEROOUT
	bn_time ddread dd if="$fp" of=/dev/null bs=4M count=$((fbytes >> 22)) status=none
	blkdiscard -z "$fp"
	bn_time ddreaddirect dd if="$fp" of=/dev/null bs=4M count=$((fbytes >> 22)) iflag=direct status=none
	wipe "$f"
	bn_time quick "$LIFEBOAT" restore --yes --quick-format --marker "$BN_WORK/marker.xml" "$fcap"
	printf 'full-format round %d: lifeboat full %s s, quick %s s, blkdiscard -z %s s, dd zero %s s, dd read %s s, direct %s s\n' "$r" \
		"$(tail -n 1 "$BN_WORK/times.full" | cut -d' ' -f1)" "$(tail -n 1 "$BN_WORK/times.quick" | cut -d' ' -f1)" \
		"$(tail -n 1 "$BN_WORK/times.zeroout" | cut -d' ' -f1)" "$(tail -n 1 "$BN_WORK/times.ddzero" | cut -d' ' -f1)" \
		"$(tail -n 1 "$BN_WORK/times.ddread" | cut -d' ' -f1)" "$(tail -n 1 "$BN_WORK/times.ddreaddirect" | cut -d' ' -f1)"
done
grep -q "zeroing and checking" "$BN_WORK/full.log" ||
	echo "NOTE: lifeboat --full-format did not say it zeroed anything; see its log"

# ---- tables ---------------------------------------------------------------
echo
echo "layout restore of the $SIZE_GIB GiB server disk (7 partitions, 4 ext4 + vfat + swap + BIOS boot):"
bn_header "wall vs lifeboat"
bn_row lifeboat "lifeboat restore --quick-format" lifeboat
bn_row hand "by hand (sfdisk + mkfs, restore-baseline.sh)" lifeboat
bn_row plan "  of lifeboat's: planning (--dry-run)" lifeboat

mibs() { awk -v b="$fbytes" -v t="$(bn_median "$1" 1)" 'BEGIN { printf "%.0f", b / 1048576 / t }'; }
echo
echo "full format of one $FULL_GIB GiB partition (sparse backing file: zeroing is fallocate, reads of holes cost no disk I/O):"
bn_header "wall vs dd zero   (MiB/s of the partition)"
for l in ddzero zeroout full quick ddread ddreaddirect; do
	case $l in
	ddzero) n="dd if=/dev/zero bs=4M oflag=direct" ;;
	zeroout) n="blkdiscard -z" ;;
	full) n="lifeboat restore --full-format" ;;
	quick) n="lifeboat restore --quick-format" ;;
	ddread) n="dd of=/dev/null bs=4M (read back)" ;;
	ddreaddirect) n="dd of=/dev/null bs=4M iflag=direct" ;;
	esac
	printf '%s   (%s MiB/s)\n' "$(bn_row "$l" "$n" ddzero)" "$(mibs "$l")"
done
awk -v f="$(bn_median full 1)" -v q="$(bn_median quick 1)" -v b="$fbytes" 'BEGIN {
	printf "lifeboat zero + check = full - quick = %.3f s (%.0f MiB/s)\n", f - q, (f > q ? b / 1048576 / (f - q) : 0) }'
printf 'load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
