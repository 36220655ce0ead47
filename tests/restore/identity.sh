#!/usr/bin/env bash
# Right before the first write to a disk, restore checks it is still the
# disk the plan was made for (issue 16, finding 5): its device number,
# size, logical sector size, and what is on it as the plan saw it. The
# restore is stopped right after the question (LIFEBOAT_STOP=before-write,
# a SIGSTOP), the target is changed, the restore goes on (SIGCONT):
#  (a) a disk judged blank now holds a partition table (someone's new
#      disk): restore exits 1 naming it, and writes nothing to it;
#  (b) the loop device is re-attached to a larger file under the same
#      name and device number: exits 1, nothing written to either file;
#  (c) undisturbed, the same restore finishes (exit 0) and the disk is back.
# On the previous binary (a) and (b) wrote the disk.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
trap lb_cleanup EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log

d=$(fx_attach "$LB_WORK/d.img" 64M)
printf 'label: gpt\nsize=40MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$d"
lb_new_disk_id "$d"
fx_reread "$d"
# a label with an escape sequence and shell metacharacters (finding 10)
mkfs.ext4 -q -L $'\e[2J$(id)`x`' "$(fx_part "$d" 1)"
"$LIFEBOAT" capture --data none --disk "$d" --output "$LB_WORK/cap" >/dev/null 2>&1 ||
	lb_fail "capture failed"
table=$(sfdisk --dump "$d" | grep -v '^device:')

# stopped_restore: starts restore --yes stopped before its first write;
# sets $pid once the process is stopped.
stopped_restore() {
	LIFEBOAT_STOP=before-write "$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" \
		>"$LB_WORK/out" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = T ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$LB_WORK/out"
	lb_fail "restore did not stop before its first write"
}

# finish WHAT WANT: lets the stopped restore go on; fails unless it exits WANT.
finish() {
	local rc=0
	kill -CONT "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq "$2" ] || {
		cat "$LB_WORK/out"
		lb_fail "$1: restore exit $rc, expected $2"
	}
}

# (a) blank when planned, a table when written
lb_wipe "$d"
lb_guard "$LB_WORK/cap"
stopped_restore
grep -q 'still blank, as planned' "$LB_WORK/out" || lb_fail "(a) the plan has no check-disk step"
printf 'label: dos\nsize=8MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$d"
sums=$(lb_disk_sums "$d")
finish "(a) blank disk given a table" 1
grep -q "$d: not the disk planned: it was blank and now holds dos" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "(a) restore does not say the disk changed"
}
[ "$(lb_disk_sums "$d")" = "$sums" ] || lb_fail "(a) the changed disk was written"
echo "ok (a) a disk blank when planned and given a table before the write: exit 1, not written"

# (b) another, larger file under the same loop device
lb_wipe "$d"
stopped_restore
back=$(losetup -n -O BACK-FILE "$d")
losetup -d "$d"
truncate -s 96M "$LB_WORK/e.img"
losetup "$d" "$LB_WORK/e.img"
sums=$(lb_image_digest "$back" "$LB_WORK/e.img")
finish "(b) another file under the same device" 1
grep -q "$d: not the disk planned: 100663296 bytes, planned 67108864" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "(b) restore does not say the disk changed"
}
blockdev --flushbufs "$d"
sync "$back" "$LB_WORK/e.img"
[ "$(lb_image_digest "$back" "$LB_WORK/e.img")" = "$sums" ] || lb_fail "(b) a disk was written"
losetup -d "$d"
losetup "$d" "$back"
echo "ok (b) the device re-attached to another file before the write: exit 1, not written"

# (c) undisturbed
lb_wipe "$d"
stopped_restore
finish "(c) undisturbed" 0
[ "$(sfdisk --dump "$d" | grep -v '^device:')" = "$table" ] || lb_fail "(c) the table is not back"
# the label is said escaped, never raw on the terminal, and no shell sees
# it (finding 10: say() printed it unescaped)
grep -qF '(label \x1b[2J$(id)`x`)' "$LB_WORK/out" ||
	{ cat -v "$LB_WORK/out"; lb_fail "(c) the label is not said escaped"; }
if grep -q $'\e' "$LB_WORK/out" "$LB_WORK"/log/restore-*.log; then
	lb_fail "(c) an escape sequence from the label reached the output or the log"
fi
[ "$(blkid -s LABEL -o value "$(fx_part "$d" 1)")" = $'\e[2J$(id)`x`' ] ||
	lb_fail "(c) the label did not come back as it was"
echo "ok (c) undisturbed, the same restore finishes; the hostile label said escaped"
