#!/usr/bin/env bash
# bench/btrfs-snapshots.sh - a btrfs root with snapper-like snapshots,
# captured while mounted and restored: lifeboat against the incremental
# btrfs send chain an admin would pick instead (btrbk's way), side by side
# in one run.
#
# One btrfs on a whole loop disk (a SIZE_GIB sparse file) holding a
# subvolume @ filled with DATA_MB of real files copied from SOURCE (/usr),
# then SNAPS rounds of: a read-only snapshot .snapshots/N of @ (as snapper
# takes them), then a change of @ (CHANGE_PCT percent of its files
# rewritten, as many new ones, as many removed: a package update). The
# filesystem stays mounted (subvolid=5) for the captures: a running machine.
# A second blank loop disk of the same size is the restore target. Timed,
# round by round so machine load hits every tool alike, with the page cache
# dropped before every step, each restore made durable inside its timing:
#
#   lifeboat   capture --disk SRC --data archive --output DIR   (mounted:
#              each subvolume from a read-only snapshot taken for it; a
#              snapshot's files that @ still has, named as clones of @'s)
#              restore --yes --quick-format --disk-map disk0=TGT DIR
#   send       a read-only snapshot of @ taken for it, then
#              btrfs send .snapshots/1 | zstd, then each next snapshot and
#              @'s with -p the one before, each | zstd -T0 into its file;
#              snapshot removed after
#              mkfs.btrfs -f TGT; mount; each file, in order,
#              zstd -dc | btrfs receive; umount
#              (received subvolumes at the top level, not at their paths,
#              new IDs, @ read-only: what it gives is not the filesystem)
#
# Output: a table of median seconds, CPU seconds per tool and step, with the
# time ratio to lifeboat's row of the same step, and the output sizes.
# Checked once, untimed: btrfs check of the target, @'s and the last
# snapshot's trees against the source's after each tool's restore, and
# each restored snapshot's parent. Nothing here passes or fails on a time.
#
# Usage: sudo bench/btrfs-snapshots.sh   (several minutes on 2 cores)
# Environment: SIZE_GIB (4), DATA_MB (1000), SNAPS (5), CHANGE_PCT (2),
#   RUNS (3), SOURCE (/usr), LIFEBOAT (./lifeboat).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

SIZE_GIB=${SIZE_GIB:-4}
DATA_MB=${DATA_MB:-1000}
SNAPS=${SNAPS:-5}
CHANGE_PCT=${CHANGE_PCT:-2}
RUNS=${RUNS:-3}
SOURCE=${SOURCE:-/usr}

bn_need_root
for p in mkfs.btrfs btrfs zstd python3; do
	command -v "$p" >/dev/null || bn_die "$p is missing"
done
bn_workdir

echo "== btrfs snapshots benchmark: ${DATA_MB} MB of files in @, ${SNAPS} snapshots, ${CHANGE_PCT}% changed between them"
bn_machine

# ---- setup (not timed) ----------------------------------------------------
src=$(fx_attach src.img "${SIZE_GIB}G")
tgt=$(fx_attach tgt.img "${SIZE_GIB}G")
mnt=$BN_WORK/mnt
tmnt=$BN_WORK/tmnt
out=$BN_WORK/out
mkdir -p "$mnt" "$tmnt" "$out"
trap 'umount -q "$tmnt" 2>/dev/null || true; umount -q "$mnt" 2>/dev/null || true; bn_cleanup' EXIT
mkfs.btrfs -q -f -L bench "$src" >/dev/null 2>&1
mount -o subvolid=5 "$src" "$mnt"
btrfs -q subvolume create "$mnt/@"
btrfs -q subvolume create "$mnt/.snapshots"
n=0
while [ "$(du -sm "$mnt/@" | cut -f1)" -lt "$DATA_MB" ] && [ "$n" -lt 20 ]; do
	n=$((n + 1))
	mkdir -p "$mnt/@/copy$n"
	want=$((DATA_MB - $(du -sm "$mnt/@" | cut -f1)))
	{ tar -C "$SOURCE" -cf - . 2>/dev/null || true; } | head -c $((want * 1048576)) |
		{ tar -C "$mnt/@/copy$n" -xf - 2>/dev/null || true; }
done
# one round of change: CHANGE_PCT % of the regular files rewritten (their
# bytes reversed), as many removed, as many new (copies of others)
change() {
	python3 - "$mnt/@" "$CHANGE_PCT" "$1" <<'PY'
import os, random, shutil, sys
root, pct, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
               if os.path.isfile(os.path.join(d, f)) and not os.path.islink(os.path.join(d, f)))
k = max(1, int(len(files) * pct / 100))
picked = rnd.sample(files, 3 * k)
for p in picked[:k]:
    with open(p, "rb") as f:
        b = f.read()
    with open(p, "wb") as f:
        f.write(b[::-1])
for p in picked[k:2 * k]:
    os.unlink(p)
for i, p in enumerate(picked[2 * k:]):
    shutil.copyfile(p, p + ".new%d" % seed)
PY
}
for s in $(seq "$SNAPS"); do
	mkdir "$mnt/.snapshots/$s"
	btrfs -q subvolume snapshot -r "$mnt/@" "$mnt/.snapshots/$s/snapshot"
	change "$s"
done
sync
used_mb=$(btrfs filesystem usage -b "$mnt" | awk '$1 == "Used:" { printf "%d", $2 / 1048576; exit }')
at_mb=$(du -sm "$mnt/@" | cut -f1)
python3 "$BN_TOP/tests/tools/tree-manifest.py" "$mnt/@" >"$BN_WORK/tree.src.at"
python3 "$BN_TOP/tests/tools/tree-manifest.py" "$mnt/.snapshots/$SNAPS/snapshot" >"$BN_WORK/tree.src.last"
echo "source: @ ${at_mb} MiB of files, ${SNAPS} snapshots; ${used_mb} MiB used on the filesystem"

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}
wipe_target() {
	btrfs device scan --forget "$tgt" 2>/dev/null || true
	wipefs -a -q "$tgt" 2>/dev/null || true
	blkdiscard -f "$tgt" 2>/dev/null || true
}
check_target() { # LABEL AT LAST: untimed, once; AT and LAST are paths on the target
	btrfs device scan --forget "$tgt" 2>/dev/null || true
	btrfs check --readonly "$tgt" >"$BN_WORK/check.$1" 2>&1 || {
		cat "$BN_WORK/check.$1" >&2
		bn_die "$1: btrfs check finds problems on the target"
	}
	mount -o ro,subvolid=5 "$tgt" "$tmnt"
	python3 "$BN_TOP/tests/tools/tree-manifest.py" "$tmnt/$2" >"$BN_WORK/tree.$1.at"
	python3 "$BN_TOP/tests/tools/tree-manifest.py" "$tmnt/$3" >"$BN_WORK/tree.$1.last"
	echo "$1: $(btrfs subvolume list -q "$tmnt" | grep -vc 'parent_uuid -') of $(btrfs subvolume list "$tmnt" | wc -l) subvolumes restored as snapshots"
	umount "$tmnt"
	for t in at last; do
		diff -q "$BN_WORK/tree.src.$t" "$BN_WORK/tree.$1.$t" >/dev/null ||
			echo "note: $1: the restored $t tree differs from the source's"
	done
}

# ---- the steps --------------------------------------------------------------
lb_capture() {
	rm -rf "$out/lb"
	"$LIFEBOAT" capture --disk "$src" --data archive --output "$out/lb"
}
lb_restore() {
	"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$tgt" "$out/lb"
}
send_capture() {
	local prev="" s
	rm -rf "$out/send"
	mkdir "$out/send"
	btrfs -q subvolume snapshot -r "$mnt/@" "$mnt/@-send"
	for s in $(seq "$SNAPS") at; do
		local p="$mnt/.snapshots/$s/snapshot"
		[ "$s" = at ] && p="$mnt/@-send"
		btrfs -q send ${prev:+-p "$prev"} "$p" | zstd -q -T0 >"$out/send/$s.zst"
		prev=$p
	done
	btrfs -q subvolume delete "$mnt/@-send"
}
send_restore() {
	local s
	mkfs.btrfs -q -f "$tgt" >/dev/null 2>&1
	mount "$tgt" "$tmnt"
	for s in $(seq "$SNAPS") at; do
		mkdir -p "$tmnt/r$s"
		zstd -q -dc "$out/send/$s.zst" | btrfs -q receive "$tmnt/r$s"
	done
	umount "$tmnt"
}

export LIFEBOAT_LOCK=$BN_WORK/lifeboat.lock LIFEBOAT_LOG_DIR=$BN_WORK/log
for r in $(seq "$RUNS"); do
	echo "round $r of $RUNS"
	drop_caches
	bn_time lb-capture lb_capture
	wipe_target
	drop_caches
	# (lifeboat refuses to write a twin of a btrfs still attached: the
	# source is detached for the restore, as a disk that died, and
	# attached again after)
	umount "$mnt"
	btrfs device scan --forget "$src" 2>/dev/null || true
	losetup -d "$src"
	bn_time lb-restore lb_restore
	[ "$r" -gt 1 ] || check_target lifeboat @ ".snapshots/$SNAPS/snapshot"
	wipe_target
	src=$(losetup -f --show "$BN_WORK/src.img")
	echo "$src" >>"$BN_WORK/loops"
	mount -o subvolid=5 "$src" "$mnt"
	drop_caches
	bn_time send-capture send_capture
	drop_caches
	bn_time send-restore send_restore
	[ "$r" -gt 1 ] || check_target send rat/@-send "r$SNAPS/snapshot"
	wipe_target
done

# ---- the table --------------------------------------------------------------
size_mib() { du -m --apparent-size -c "$@" | awk 'END { print $1 }'; }
echo
echo "capture (@ ${at_mb} MiB of files, ${SNAPS} snapshots)"
bn_header
bn_row lb-capture "lifeboat archive (zstd 1)" lb-capture
bn_row send-capture "btrfs send -p chain | zstd -T0" lb-capture
echo
echo "restore"
bn_header
bn_row lb-restore "lifeboat restore" lb-restore
bn_row send-restore "mkfs.btrfs + btrfs receive chain" lb-restore
echo
echo "output size: lifeboat $(size_mib "$out/lb") MiB, btrfs send chain $(size_mib "$out/send") MiB"
