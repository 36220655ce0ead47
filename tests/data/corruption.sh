#!/usr/bin/env bash
# Damaged data: one byte flipped in one volume's data file, another file
# truncated. verify names both without touching a disk. restore refuses
# both before any write, naming the chunk (every data file is checked
# against its SHA-256 first). With --single-pass a truncated file is still
# refused before any write (every file's framing is checked), but a damaged
# chunk is found as it is about to be written: that volume fails with the
# chunk named and is left without signatures, the other volume is restored
# whole, exit 1.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT

dev=$(fx_attach "$LB_WORK/disk.img" 300M)
printf 'label: gpt\nsize=120MiB\nsize=120MiB\n' | sfdisk -q "$dev"
fx_reread "$dev"
for p in 1 2; do
	mkfs.ext4 -q "${dev}p$p"
	mount "${dev}p$p" "$mnt"
	head -c 20M /dev/urandom >"$mnt/random"
	lb_populate "$mnt"
	umount "$mnt"
done
"$LIFEBOAT" capture --disk "$dev" --data image --output "$LB_WORK/cap" >/dev/null 2>&1 ||
	lb_fail "capture failed"

cp -a "$LB_WORK/cap" "$LB_WORK/bad"
f=$LB_WORK/bad/disk0p1.data
size=$(stat -c %s "$f")
off=$((size / 2))
byte=$(dd if="$f" bs=1 skip=$off count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$f" bs=1 seek=$off conv=notrunc status=none
cp -a "$LB_WORK/bad" "$LB_WORK/flip"
truncate -s -100 "$LB_WORK/bad/disk0p2.data"

# verify: both named, no disk touched
rc=0
"$LIFEBOAT" verify "$LB_WORK/bad" >"$LB_WORK/verify.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || lb_fail "verify of a damaged capture exited $rc, not 1"
grep -q 'FAILED disk0p1 data.*chunk [0-9]' "$LB_WORK/verify.out" || {
	cat "$LB_WORK/verify.out"
	lb_fail "verify does not name the damaged chunk of disk0p1"
}
grep -q 'FAILED disk0p2 data' "$LB_WORK/verify.out" || lb_fail "verify does not name disk0p2"

# restore with a truncated data file: refused before any write
target=$(fx_attach "$LB_WORK/target.img" 300M)
rc=0
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/bad" \
	>"$LB_WORK/restore1.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || lb_fail "restore with a truncated data file exited $rc, not 1"
grep -q 'disk0p2.*truncated' "$LB_WORK/restore1.out" || lb_fail "the truncation is not named"
cmp -s -n $((300 * 1024 * 1024)) "$target" /dev/zero || lb_fail "the target was written to"

# restore with one flipped byte: refused before any write, the chunk named
rc=0
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/flip" \
	>"$LB_WORK/restore2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || lb_fail "restore with a damaged chunk exited $rc, not 1"
grep -q 'disk0p1: its data is damaged: .*chunk [0-9]' "$LB_WORK/restore2.out" || {
	cat "$LB_WORK/restore2.out"
	lb_fail "restore does not name the damaged chunk"
}
cmp -s -n $((300 * 1024 * 1024)) "$target" /dev/zero || lb_fail "the target was written to"

# the same with --single-pass: disk0p1 fails at that chunk, disk0p2 is
# restored, exit 1
rc=0
LIFEBOAT_LOG_DIR=$LB_WORK/log "$LIFEBOAT" restore --yes --quick-format --single-pass --disk-map "disk0=$target" \
	"$LB_WORK/flip" >"$LB_WORK/restore3.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || lb_fail "restore --single-pass with a damaged chunk exited $rc, not 1"
grep -q 'disk0p1: FAILED: .*chunk [0-9]* (device offset [0-9]*, file offset [0-9]*) fails its checksum' \
	"$LB_WORK/restore3.out" || {
	cat "$LB_WORK/restore3.out"
	lb_fail "restore --single-pass does not name the damaged chunk"
}
grep -q 'disk0p1: FAILED: .*chunk [0-9]' "$LB_WORK"/log/restore-*.log || lb_fail "the log does not name it"
fx_reread "$target"
[ -z "$(blkid -p -o value -s TYPE "${target}p1" 2>/dev/null)" ] ||
	lb_fail "the half-written disk0p1 still carries a filesystem signature"
cmp -s "${dev}p2" "${target}p2" || lb_fail "disk0p2 was not restored byte for byte"
echo "ok: damage named by verify and restore, nothing written; with --single-pass a truncated file writes nothing and a damaged chunk fails only its volume"
