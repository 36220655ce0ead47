#!/usr/bin/env bash
# bench/xfs.sh - xfs volume data capture and restore, lifeboat against the
# tools an xfs admin would pick instead, side by side in one run.
#
# One xfs on a whole loop disk (a SIZE_GIB sparse file; mkfs.xfs defaults,
# reflink and rmapbt on) filled with DATA_MB of real files copied from
# SOURCE (/usr), copied again into further subdirectories when SOURCE is
# smaller. A second blank loop disk of the same size is the restore target.
# Timed, round by round so machine load hits every tool alike, with the
# page cache dropped before every step, each restore made durable (fsync or
# unmount) inside its timing:
#
#   lifeboat   capture --disk SRC --data image --output DIR   (zstd level 1;
#              the used blocks, found from the free-space B-trees)
#              restore --yes --quick-format --disk-map disk0=TGT DIR
#   partclone  partclone.xfs -c -s SRC -o - | zstd -T0 > F
#              zstd -dc F | partclone.xfs -r -s - -o TGT
#   xfsdump    xfsdump -J -l 0 -L bench - MNT | zstd -T0 > F   (SRC mounted)
#              mkfs.xfs -f TGT; mount; zstd -dc F | xfsrestore -J - MNT; umount
#              (files, not blocks: a new filesystem with new UUID and geometry)
#
# Output: a table of median seconds, CPU seconds and output size per tool
# and step, with the time ratio to lifeboat's row of the same step.
# Correctness is checked once, untimed: xfs_repair -n of the target and its
# tree against the source's after each tool's restore. Nothing here passes
# or fails on a time.
#
# Usage: sudo bench/xfs.sh   (a few minutes on 2 cores)
# Environment: SIZE_GIB (4), DATA_MB (1000), RUNS (3), SOURCE (/usr),
#   LIFEBOAT (./lifeboat), SKIP ("" or a list of: partclone xfsdump).
# partclone.xfs (Debian partclone) and xfsdump (Debian xfsdump): make
#   bench-deps; a missing one is skipped with a note.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SIZE_GIB=${SIZE_GIB:-4}
DATA_MB=${DATA_MB:-1000}
RUNS=${RUNS:-3}
SOURCE=${SOURCE:-/usr}
SKIP=${SKIP:-}

bn_need_root
for p in mkfs.xfs xfs_repair zstd; do
	command -v "$p" >/dev/null || bn_die "$p is missing"
done
bn_workdir
skipped() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
notes=""
if ! skipped partclone && ! command -v partclone.xfs >/dev/null; then
	SKIP="$SKIP partclone"
	notes="$notes partclone.xfs is not installed (make bench-deps);"
fi
if ! skipped xfsdump && ! command -v xfsdump >/dev/null; then
	SKIP="$SKIP xfsdump"
	notes="$notes xfsdump is not installed (make bench-deps);"
fi

echo "== xfs data benchmark: ${DATA_MB} MB of files on a ${SIZE_GIB} GiB xfs"
bn_machine

# ---- setup (not timed) ----------------------------------------------------
src=$(fx_attach src.img "${SIZE_GIB}G")
tgt=$(fx_attach tgt.img "${SIZE_GIB}G")
mnt=$BN_WORK/mnt
out=$BN_WORK/out
mkdir -p "$mnt" "$out"
trap 'umount -q "$mnt" 2>/dev/null || true; bn_cleanup' EXIT
mkfs.xfs -q -f -L bench -m reflink=1,rmapbt=1 "$src"
mount "$src" "$mnt"
n=0
while [ "$(du -sm "$mnt" | cut -f1)" -lt "$DATA_MB" ]; do
	n=$((n + 1))
	mkdir -p "$mnt/copy$n"
	for d in "$SOURCE"/*; do
		[ "$(du -sm "$mnt" | cut -f1)" -lt "$DATA_MB" ] || break
		cp -a "$d" "$mnt/copy$n/" 2>/dev/null || true
	done
	[ "$n" -lt 20 ] || break
done
used_mb=$(df -m --output=used "$mnt" | tail -n 1 | tr -d ' ')
python3 "$BN_TOP/tests/tools/tree-manifest.py" "$mnt" >"$BN_WORK/tree.src"
umount "$mnt"
echo "source: ${used_mb} MiB used of ${SIZE_GIB} GiB"

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}
wipe_target() {
	wipefs -a -q "$tgt" 2>/dev/null || true
	blkdiscard -f "$tgt" 2>/dev/null || true
}
check_target() { # LABEL: untimed, once
	xfs_repair -n "$tgt" >/dev/null 2>&1 || bn_die "$1: xfs_repair -n finds problems on the target"
	mount -o ro "$tgt" "$mnt"
	python3 "$BN_TOP/tests/tools/tree-manifest.py" "$mnt" >"$BN_WORK/tree.$1"
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
pc_capture() {
	partclone.xfs -q -c -s "$src" -o - | zstd -q -T0 >"$out/pc.zst"
}
pc_restore() {
	zstd -q -dc "$out/pc.zst" | partclone.xfs -q -r -s - -o "$tgt"
	sync -f "$tgt"
}
xd_capture() {
	mount -o ro "$src" "$mnt"
	xfsdump -J -l 0 -L bench - "$mnt" | zstd -q -T0 >"$out/xd.zst"
	umount "$mnt"
}
xd_restore() {
	mkfs.xfs -q -f "$tgt"
	mount "$tgt" "$mnt"
	zstd -q -dc "$out/xd.zst" | xfsrestore -J - "$mnt"
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
	[ "$r" -gt 1 ] || check_target lifeboat
	if ! skipped partclone; then
		drop_caches
		bn_time pc-capture pc_capture
		wipe_target
		drop_caches
		bn_time pc-restore pc_restore
		[ "$r" -gt 1 ] || check_target partclone
	fi
	if ! skipped xfsdump; then
		drop_caches
		bn_time xd-capture xd_capture
		wipe_target
		drop_caches
		bn_time xd-restore xd_restore
		[ "$r" -gt 1 ] || check_target xfsdump
	fi
done

# ---- the table --------------------------------------------------------------
size_mib() { du -m --apparent-size "$@" | awk '{ s += $1 } END { print s }'; }
echo
echo "capture (${used_mb} MiB used)"
bn_header
bn_row lb-capture "lifeboat image (zstd 1)" lb-capture
skipped partclone || bn_row pc-capture "partclone.xfs | zstd -T0" lb-capture
skipped xfsdump || bn_row xd-capture "xfsdump | zstd -T0" lb-capture
echo
echo "restore"
bn_header
bn_row lb-restore "lifeboat restore" lb-restore
skipped partclone || bn_row pc-restore "zstd -dc | partclone.xfs -r" lb-restore
skipped xfsdump || bn_row xd-restore "mkfs.xfs + zstd -dc | xfsrestore" lb-restore
echo
echo "output size: lifeboat $(size_mib "$out/lb") MiB$(skipped partclone || printf ', partclone %s MiB' "$(size_mib "$out/pc.zst")")$(skipped xfsdump || printf ', xfsdump %s MiB' "$(size_mib "$out/xd.zst")")"
[ -z "$notes" ] || echo "skipped:$notes"
