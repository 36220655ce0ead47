#!/usr/bin/env bash
# An archive capture reads a file's data, not its holes or preallocated
# ranges: a file that is all holes (truncate) or all preallocated
# (fallocate) is archived without a byte of it read (not one page of it in
# the page cache afterwards; a sparse VM image of a terabyte took minutes
# of reading zeros, and pushed the page cache out; the walk's read-ahead of
# a file's first 8 MiB aside), and comes back with its size, its content
# and its allocation.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
command -v fincore >/dev/null || {
	echo "SKIP: $(lb_name): needs fincore (util-linux)"
	exit 77
}
m=$LB_WORK/m
mkdir -p "$m"
trap 'umount -q "$m" 2>/dev/null || true; lb_cleanup' EXIT

# cached FILE: how many of its pages are in the page cache
cached() {
	fincore -n -b -o PAGES "$1" | tr -d ' '
}

dev=$(fx_attach "$LB_WORK/disk.img" 200M)
printf 'label: gpt\nstart=2048, name="holes"\n' | sfdisk -q --no-reread --no-tell-kernel "$dev"
fx_reread "$dev"
mkfs.ext4 -q -b 4096 -L holes "${dev}p1"
mount "${dev}p1" "$m"
truncate -s 256M "$m/holes"
fallocate -l 64M "$m/fallocated"
printf 'data\n' >"$m/small"
sync -f "$m"
for f in holes fallocated; do
	[ "$(cached "$m/$f")" = 0 ] || lb_fail "$f has pages cached before the capture (test broken)"
done

"$LIFEBOAT" capture --disk "$dev" --data archive --output "$LB_WORK/cap" >/dev/null \
	2>"$LB_WORK/capture.log" || { cat "$LB_WORK/capture.log"; lb_fail "capture failed"; }
# (the walk reads ahead the first 8 MiB of a big file: src/data/walk.c AHEAD_FILE)
for f in holes fallocated; do
	[ "$(cached "$m/$f")" -le $(((8 << 20) / $(getconf PAGESIZE))) ] ||
		lb_fail "$f: the capture read it ($(cached "$m/$f") pages cached): it holds no data"
done
umount "$m"

target=$(fx_attach "$LB_WORK/target.img" 200M)
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/cap" \
	>"$LB_WORK/restore.out" 2>&1 || { cat "$LB_WORK/restore.out"; lb_fail "restore failed"; }
mount "${target}p1" "$m"
[ "$(stat -c %s "$m/holes")" = $((256 << 20)) ] || lb_fail "holes: not its size after restore"
[ "$(du -B1 "$m/holes" | cut -f1)" = 0 ] || lb_fail "holes: blocks allocated after restore"
[ "$(stat -c %s "$m/fallocated")" = $((64 << 20)) ] || lb_fail "fallocated: not its size after restore"
[ "$(du -B1 "$m/fallocated" | cut -f1)" -ge $((64 << 20)) ] || lb_fail "fallocated: not allocated after restore"
cmp -s -n $((64 << 20)) "$m/fallocated" /dev/zero || lb_fail "fallocated: not zeros after restore"
[ "$(cat "$m/small")" = data ] || lb_fail "small: not restored"
umount "$m"
echo "ok: holes and preallocated ranges archived unread, restored as they were"
