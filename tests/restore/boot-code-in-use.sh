#!/usr/bin/env bash
# An intact disk in use here whose recorded boot code is blank (issue 16,
# finding 4): restore leaves its boot-code area alone with a warning, as it
# leaves a running system's critical volumes, and restores the rest. It
# used to plan the write, recreate the other disk, then fail at the write
# (a disk in use is never written), and fail the same way on every run.
# Two GPT disks, each with one ext4: disk A is wiped (a replaced disk), disk
# B keeps its layout but its boot-code area is zeroed and its partition is
# mounted here. Restore exits 0, twice; A gets its table back; B's bytes are
# unchanged.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log

a=$(fx_attach "$LB_WORK/a.img" 64M)
b=$(fx_attach "$LB_WORK/b.img" 64M)
for dev in "$a" "$b"; do
	printf 'label: gpt\nsize=40MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$dev"
	lb_new_disk_id "$dev"
	fx_reread "$dev"
	mkfs.ext4 -q "$(fx_part "$dev" 1)"
done
# B's protective MBR carries boot code, as a BIOS-booting GPT disk's does
head -c 440 /dev/urandom | dd of="$b" bs=440 count=1 conv=notrunc,fsync status=none
"$LIFEBOAT" capture --data none --disk "$a" --disk "$b" --output "$LB_WORK/cap" >/dev/null 2>&1 ||
	lb_fail "capture failed"
[ "$(grep -c '<boot-code ' "$LB_WORK/cap/manifest.xml")" = 1 ] || lb_fail "expected B's boot code recorded"
table_a=$(sfdisk --dump "$a" | grep -v '^device:')

lb_wipe "$a"
dd if=/dev/zero of="$b" bs=440 count=1 conv=notrunc,fsync status=none
# read-only: in use all the same, and an ext4 mounted read-write writes on
# its own (the journal's first commit, the lazy inode-table init) while the
# restore runs, which the sums below would take for the restore's writes
mount -o ro "$(fx_part "$b" 1)" "$mnt"
lb_guard "$LB_WORK/cap"
sums_b=$(lb_disk_sums "$b")

for run in 1 2; do
	rc=0
	"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q 'warning: disk1: boot code not written: .* is in use here' "$LB_WORK/out"; then
		cat "$LB_WORK/out"
		lb_fail "run $run: restore exit $rc, expected 0 with a warning about disk1's boot code"
	fi
	[ "$(lb_disk_sums "$b")" = "$sums_b" ] || lb_fail "run $run: the disk in use was written"
	[ "$(sfdisk --dump "$a" | grep -v '^device:')" = "$table_a" ] ||
		lb_fail "run $run: disk A's table was not restored"
done
grep -q 'boot code blank: in use here, left alone' "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "the plan does not say the boot code is left alone"
}
echo "ok a blank boot-code area on an intact disk in use: left alone with a warning, the rest restored, twice"
