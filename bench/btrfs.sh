#!/usr/bin/env bash
# bench/btrfs.sh - btrfs data capture and restore, lifeboat against what a
# btrfs admin would pick instead, side by side in one run.
#
# One btrfs on a whole loop disk (a SIZE_GIB sparse file; mkfs.btrfs
# defaults) holding a subvolume @data filled with DATA_MB of real files
# copied from SOURCE (/usr: small and large, text and binaries), copied
# again into further subdirectories when SOURCE is smaller, and a read-only
# snapshot of it (@data-snap: what btrfs send needs; lifeboat images the
# whole filesystem, snapshot included). A second blank loop disk of the
# same size is the restore target. Timed, round by round so machine load
# hits every tool alike, with the page cache dropped before every step,
# each restore made durable (fsync or unmount) inside its timing:
#
#   lifeboat   capture --disk SRC --data image --output DIR   (zstd level 1;
#              the used bytes: superblock copies and the chunks' stripes,
#              found from the chunk tree)
#              restore --yes --quick-format --disk-map disk0=TGT DIR
#   send       btrfs send MNT/@data-snap | zstd -T0 > F          (SRC mounted)
#              mkfs.btrfs -f TGT; mount; zstd -dc F | btrfs receive MNT; umount
#              (files of one snapshot, not the filesystem: a new filesystem
#              with a new UUID, and a received subvolume)
#
# Output: a table of median seconds, CPU seconds and output size per tool
# and step, with the time ratio to lifeboat's row of the same step.
# Correctness is checked once, untimed: btrfs check of the target and the
# snapshot's tree against the source's after each tool's restore. Nothing
# here passes or fails on a time.
#
# Usage: sudo bench/btrfs.sh   (several minutes on 2 cores)
# Environment: SIZE_GIB (6), DATA_MB (2000), RUNS (3), SOURCE (/usr),
#   LIFEBOAT (./lifeboat).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SIZE_GIB=${SIZE_GIB:-6}
DATA_MB=${DATA_MB:-2000}
RUNS=${RUNS:-3}
SOURCE=${SOURCE:-/usr}

bn_need_root
for p in mkfs.btrfs btrfs zstd; do
	command -v "$p" >/dev/null || bn_die "$p is missing"
done
bn_workdir

echo "== btrfs data benchmark: ${DATA_MB} MB of files on a ${SIZE_GIB} GiB btrfs"
bn_machine

# ---- setup (not timed) ----------------------------------------------------
src=$(fx_attach src.img "${SIZE_GIB}G")
tgt=$(fx_attach tgt.img "${SIZE_GIB}G")
mnt=$BN_WORK/mnt
out=$BN_WORK/out
mkdir -p "$mnt" "$out"
trap 'umount -q "$mnt" 2>/dev/null || true; bn_cleanup' EXIT
mkfs.btrfs -q -f -L bench "$src" >/dev/null 2>&1
mount "$src" "$mnt"
btrfs -q subvolume create "$mnt/@data"
# (one tar stream of SOURCE cut at what is still wanted: the files before
# the cut come whole, the one it cuts comes short; again into copyN while
# SOURCE is smaller than DATA_MB)
n=0
while [ "$(du -sm "$mnt/@data" | cut -f1)" -lt "$DATA_MB" ] && [ "$n" -lt 20 ]; do
	n=$((n + 1))
	mkdir -p "$mnt/@data/copy$n"
	want=$((DATA_MB - $(du -sm "$mnt/@data" | cut -f1)))
	{ tar -C "$SOURCE" -cf - . 2>/dev/null || true; } | head -c $((want * 1048576)) |
		{ tar -C "$mnt/@data/copy$n" -xf - 2>/dev/null || true; }
done
btrfs -q subvolume snapshot -r "$mnt/@data" "$mnt/@data-snap"
used_mb=$(btrfs filesystem du -s --raw "$mnt/@data" | awk 'NR == 2 { printf "%d", $1 / 1048576 }')
python3 "$BN_TOP/tests/tools/tree-manifest.py" "$mnt/@data-snap" >"$BN_WORK/tree.src"
umount "$mnt"
echo "source: ${used_mb} MiB of files in @data (and its snapshot) on ${SIZE_GIB} GiB"

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}
wipe_target() {
	wipefs -a -q "$tgt" 2>/dev/null || true
	blkdiscard -f "$tgt" 2>/dev/null || true
}
# (other tests on this machine open blank loop devices exclusively for a
# moment, looking for restore targets: a busy device is tried again)
busy_retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$@" && return 0
		sleep 1
	done
	"$@"
}
check_target() { # LABEL SUBVOLUME: untimed, once
	busy_retry btrfs check --readonly "$tgt" >"$BN_WORK/check.$1" 2>&1 || {
		cat "$BN_WORK/check.$1" >&2
		bn_die "$1: btrfs check finds problems on the target"
	}
	busy_retry mount -o ro "$tgt" "$mnt"
	python3 "$BN_TOP/tests/tools/tree-manifest.py" "$mnt/$2" >"$BN_WORK/tree.$1"
	umount "$mnt"
	if ! diff -q "$BN_WORK/tree.src" "$BN_WORK/tree.$1" >/dev/null; then
		echo "note: $1: the restored tree differs from the source's ($(diff "$BN_WORK/tree.src" "$BN_WORK/tree.$1" | grep -c '^[<>]') lines)"
	fi
}

# ---- the steps --------------------------------------------------------------
lb_capture() {
	rm -rf "$out/lb"
	"$LIFEBOAT" capture --disk "$src" --data image --output "$out/lb"
}
lb_restore() {
	"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$tgt" "$out/lb"
}
send_capture() {
	mount -o ro "$src" "$mnt"
	btrfs -q send "$mnt/@data-snap" | zstd -q -T0 >"$out/send.zst"
	umount "$mnt"
}
send_restore() {
	mkfs.btrfs -q -f "$tgt" >/dev/null 2>&1
	mount "$tgt" "$mnt"
	zstd -q -dc "$out/send.zst" | btrfs -q receive "$mnt"
	umount "$mnt"
}

export LIFEBOAT_LOCK=$BN_WORK/lifeboat.lock LIFEBOAT_LOG_DIR=$BN_WORK/log
for r in $(seq "$RUNS"); do
	echo "round $r of $RUNS"
	drop_caches
	bn_time lb-capture lb_capture
	wipe_target
	drop_caches
	bn_time lb-restore lb_restore
	if [ "$r" = 1 ]; then
		btrfs device scan --forget "$tgt" 2>/dev/null || true
		check_target lifeboat @data-snap
	fi
	drop_caches
	bn_time send-capture send_capture
	wipe_target
	drop_caches
	bn_time send-restore send_restore
	[ "$r" -gt 1 ] || check_target send @data-snap
done

# ---- the table --------------------------------------------------------------
size_mib() { du -m --apparent-size "$@" | awk '{ s += $1 } END { print s }'; }
echo
echo "capture (${used_mb} MiB of files)"
bn_header
bn_row lb-capture "lifeboat image (zstd 1)" lb-capture
bn_row send-capture "btrfs send | zstd -T0" lb-capture
echo
echo "restore"
bn_header
bn_row lb-restore "lifeboat restore" lb-restore
bn_row send-restore "mkfs.btrfs + zstd -dc | btrfs receive" lb-restore
echo
echo "output size: lifeboat $(size_mib "$out/lb") MiB, btrfs send $(size_mib "$out/send.zst") MiB"
