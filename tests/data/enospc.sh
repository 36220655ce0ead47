#!/usr/bin/env bash
# A capture onto a full filesystem (issue 16, faults): the capture's output
# is a small loop-mounted ext4 holding an earlier capture. (a) --data with
# 40 MB of volume data onto 24 MB: (b) --data none (the manifest and boot
# code only) onto a filesystem filled up to its last blocks. Each: exit 1
# with an error that says "No space left on device" and names the file or
# volume it was writing; no capture that looks complete (the destination
# does not exist, verify refuses it, the rescue menu's lifeboat/*/manifest.xml
# finds only the earlier one; nothing of the attempt left behind); the
# earlier capture byte for byte as it was, and verify takes it. Then, with
# room made, the same capture succeeds.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
truncate -s 200M "$LB_WORK/disk.img"
dev=$(losetup -f --show "$LB_WORK/disk.img" | tee -a "$LB_WORK/loops")
partx -d "$dev" >/dev/null 2>&1 || true
sfdisk -q --no-reread --no-tell-kernel "$dev" <<EOF
label: gpt
label-id: $(cat /proc/sys/kernel/random/uuid)
type=linux, name=data
EOF
partprobe "$dev"
for _ in $(seq 50); do [ -b "$dev"p1 ] && break; sleep 0.1; done
mke2fs -F -q -t ext4 -L data -E nodiscard,lazy_journal_init=1 "$dev"p1
mkdir "$LB_WORK/src"
mount "$dev"p1 "$LB_WORK/src"
head -c 40000000 /dev/urandom >"$LB_WORK/src/random"
umount "$LB_WORK/src"

truncate -s 24M "$LB_WORK/out.img"
outdev=$(losetup -f --show "$LB_WORK/out.img" | tee -a "$LB_WORK/loops")
mke2fs -F -q -t ext4 -m 0 -L out "$outdev"
media=$LB_WORK/media
mkdir "$media"
mount "$outdev" "$media"
mkdir "$media/lifeboat"
"$LIFEBOAT" capture --disk "$dev" --data none --output "$media/lifeboat/earlier" >/dev/null 2>&1 ||
	lb_fail "the earlier capture failed"
sums() { (cd "$media/lifeboat/earlier" && sha256sum ./* | sort); }
sums >"$LB_WORK/earlier.sums"

# refused WHAT NAME [capture options]: the capture to lifeboat/NAME fails
# with ENOSPC said, and leaves nothing
refused() {
	local what=$1 name=$2 rc=0 found m
	shift 2
	"$LIFEBOAT" capture --disk "$dev" --output "$media/lifeboat/$name" "$@" >"$LB_WORK/out" 2>&1 ||
		rc=$?
	[ "$rc" = 1 ] || { cat "$LB_WORK/out"; lb_fail "$what: exit $rc, expected 1"; }
	grep -q 'No space left on device' "$LB_WORK/out" || {
		cat "$LB_WORK/out"
		lb_fail "$what: does not say 'No space left on device'"
	}
	grep 'No space left on device' "$LB_WORK/out" | grep -Eq "$media|disk0|manifest" || {
		cat "$LB_WORK/out"
		lb_fail "$what: the error names no file or volume"
	}
	[ ! -e "$media/lifeboat/$name" ] || lb_fail "$what: $name exists"
	if "$LIFEBOAT" verify "$media/lifeboat/$name" >/dev/null 2>&1; then
		lb_fail "$what: verify takes $name"
	fi
	found=""
	for m in "$media"/lifeboat/*/manifest.xml; do
		found="$found $(basename "$(dirname "$m")")"
	done
	[ "$found" = " earlier" ] || lb_fail "$what: the rescue menu would offer:$found"
	[ -z "$(find "$media/lifeboat" -mindepth 1 -maxdepth 1 -name '.*')" ] ||
		lb_fail "$what: left behind: $(ls -a "$media/lifeboat")"
	sums | cmp -s - "$LB_WORK/earlier.sums" || lb_fail "$what: the earlier capture changed"
	"$LIFEBOAT" verify "$media/lifeboat/earlier" >/dev/null 2>&1 ||
		lb_fail "$what: verify refuses the earlier capture"
	echo "ok: $what: $(grep 'No space left' "$LB_WORK/out" | head -n 1)"
}

refused "40 MB of data onto 24 MB" new --data image --compress none

# the filesystem full to its last blocks: the manifest itself does not fit
avail=$(df -B1 --output=avail "$media" | tail -n 1)
fallocate -l $((avail - 4096)) "$media/filler" 2>/dev/null ||
	dd if=/dev/zero of="$media/filler" bs=4096 count=$((avail / 4096 - 1)) status=none 2>/dev/null || true
sync
refused "--data none onto a full filesystem" new --data none
rm -f "$media/filler"
sync

"$LIFEBOAT" capture --disk "$dev" --data none --output "$media/lifeboat/new" >/dev/null 2>&1 ||
	lb_fail "with room made, the capture still fails"
"$LIFEBOAT" verify "$media/lifeboat/new" >/dev/null 2>&1 || lb_fail "verify refuses the capture made with room"
echo "ok: with room made, the capture succeeds"
