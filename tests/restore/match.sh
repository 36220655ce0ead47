#!/usr/bin/env bash
# Finding the disks without trusting device names (DESIGN.md, "Restore
# semantics"), after the captured disk is gone (detached):
#  (a) a blank replacement of the same size under another /dev/loopN is
#      matched as blank-disk and restored onto (oracle equal, names masked);
#  (b) a larger blank replacement: partitions in place, sgdisk -v clean,
#      last-lba at the new end (size/512 - 34);
#  (c) two blank candidates of the same size: the plan says ambiguous instead
#      of guessing; restore refuses (exit 1) and both stay unwritten;
#  (d) a disk holding data (a GPT of its own; a whole-disk swap signature) of
#      the right size is never picked by a guess: the disk is missing, restore
#      refuses (exit 1), not a byte changes;
#  (e) --disk-map (by id and by recorded path) maps explicitly and works,
#      even onto that disk holding data.
# Blank-disk matching considers every disk on the machine: the captured disk
# is grown to a huge odd size (sparse) that no other device is likely to
# reach, and lb_guard refuses to restore if a plan ever picks a device that
# is not ours.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail

lb_workdir
export FX_WORKDIR=$LB_WORK LIFEBOAT_LOG_DIR=$LB_WORK/log
# shellcheck source=fixtures/layouts/lib.sh
. "$LB_TOP/fixtures/layouts/lib.sh" # fx_attach

# The captured disk: 1 TiB + 601 MiB + 7 sectors (sparse), an odd size and
# larger than any disk on the machine is likely to be, so that no stray blank
# disk elsewhere fits as a candidate; and a larger replacement.
S=$(((1 << 40) + 601 * 1048576 + 7 * 512))
L=$((S + 64 * 1048576))

# retire DEV: the disk is gone (drop its kernel partitions, detach it).
retire() {
	partx -d "$1" >/dev/null 2>&1 || true
	losetup -d "$1"
}

# masked_oracle DEV: lb_oracle with the device's name and number masked.
masked_oracle() {
	lb_oracle "$1" | sed -e "s|$1|DISK|g" -e 's|^PART_ENTRY_DISK=.*|PART_ENTRY_DISK=MAJ:MIN|'
}

# unwritten DEV: a sparse blank disk nobody wrote to has no block allocated
# in its file, and reads zero in its first and last MiB.
unwritten() {
	local f
	blockdev --flushbufs "$1"
	f=$(losetup -n -O BACK-FILE "$1")
	[ "$(stat -c %b "$f")" -eq 0 ] || return 1
	cmp -s -n 1048576 "$1" /dev/zero || return 1
	dd if="$1" bs=1M skip=$(($(blockdev --getsize64 "$1") - 1048576)) iflag=skip_bytes \
		count=1 status=none | cmp -s -n 1048576 - /dev/zero
}

# plan WHAT EXPECTED_RC [compare options]: compare into $LB_WORK/plan.
plan() {
	local what=$1 want=$2 rc=0
	shift 2
	"$LIFEBOAT" compare "$@" "$cap" >"$LB_WORK/plan" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || {
		cat "$LB_WORK/plan"
		lb_fail "$what: compare exit $rc, expected $want"
	}
}

plan_says() {
	grep -Fq -- "$2" "$LB_WORK/plan" || {
		cat "$LB_WORK/plan"
		lb_fail "$1: the plan does not say '$2'"
	}
}

# restore_ok WHAT [restore options]
restore_ok() {
	local what=$1
	shift
	lb_guard "$cap" "$@"
	"$LIFEBOAT" restore --yes --quick-format "$@" "$cap" >"$LB_WORK/restore.log" 2>&1 || {
		cat "$LB_WORK/restore.log"
		lb_fail "$what: restore failed"
	}
}

# restore_refused WHAT: restore --yes exits 1 and says it wrote nothing.
restore_refused() {
	local what=$1 rc=0
	lb_guard "$cap"
	"$LIFEBOAT" restore --yes --quick-format "$cap" >"$LB_WORK/restore.log" 2>&1 || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q 'nothing was written' "$LB_WORK/restore.log"; then
		cat "$LB_WORK/restore.log"
		lb_fail "$what: restore exit $rc, expected 1 and 'nothing was written'"
	fi
}

sgdisk_clean() {
	sgdisk -v "$2" >"$LB_WORK/sgdisk.log" 2>&1 && grep -q 'No problems found' "$LB_WORK/sgdisk.log" || {
		cat "$LB_WORK/sgdisk.log"
		lb_fail "$1: sgdisk -v is not clean on $2"
	}
}

# The captured disk: gpt-server with a fresh signature, grown to S bytes with
# its backup GPT moved to the new end.
lb_build_layout gpt-server >/dev/null
orig=$(cat "$LB_WORK/disks")
lb_new_disk_id "$orig"
truncate -s "$S" "$(losetup -n -O BACK-FILE "$orig")"
losetup -c "$orig"
sfdisk -q --no-reread --no-tell-kernel --relocate gpt-bak-std "$orig" >/dev/null 2>&1
[ "$(blockdev --getsize64 "$orig")" -eq "$S" ] || lb_fail "the captured disk is not $S bytes"
sgdisk_clean "setup" "$orig"
cap=$LB_WORK/cap
"$LIFEBOAT" capture --output "$cap" --disk "$orig" >/dev/null 2>&1 || lb_fail "capture failed"
grep -Fq "path=\"$orig\"" "$cap/manifest.xml" || lb_fail "the manifest does not record $orig"
masked_oracle "$orig" >"$LB_WORK/oracle.captured"
grep -q "^last-lba: $((S / 512 - 34))\$" "$LB_WORK/oracle.captured" ||
	lb_fail "setup: the captured disk's last-lba is not at its end"

# (a) the replacement is attached while the original still is, so it gets
# another name; then the original goes away.
new=$(fx_attach blank-same.img "$S")
[ "$new" != "$orig" ] || lb_fail "(a) the replacement got the original's name $orig"
retire "$orig"
[ ! -e "/sys/block/${orig#/dev/}/loop/backing_file" ] || lb_fail "(a) $orig is still attached"

# From now on, keep the original's name taken, by a 1 MiB placeholder far
# too small to be a candidate, so that no later disk gets it and is matched
# by path and size instead: attach it there now, and should another disk
# still get the name, turn that one into the placeholder and attach again.
truncate -s 1M "$LB_WORK/placeholder.img"
echo "$orig" >>"$LB_WORK/loops"
losetup "$orig" "$LB_WORK/placeholder.img" 2>/dev/null || true
attach() {
	local dev
	dev=$(fx_attach "$@")
	if [ "$dev" = "$orig" ]; then
		truncate -s 1M "$(losetup -n -O BACK-FILE "$dev")"
		losetup -c "$dev"
		dev=$(fx_attach "$@")
		[ "$dev" != "$orig" ] || lb_fail "a new disk got the captured disk's name $orig again"
	fi
	printf '%s\n' "$dev"
}

plan "(a) blank replacement" 1
plan_says "(a)" "disk0 $orig -> $new (matched by blank-disk): recreate"
restore_ok "(a) blank replacement"
masked_oracle "$new" >"$LB_WORK/oracle.a"
diff -u "$LB_WORK/oracle.captured" "$LB_WORK/oracle.a" ||
	lb_fail "(a) the replacement's layout differs from the captured one"
sgdisk_clean "(a)" "$new"
plan "(a) after the restore" 0
plan_says "(a) after the restore" "disk0 $orig -> $new (matched by signature): intact"
retire "$new"
echo "ok (a) a blank replacement under another name ($orig -> $new) is found and restored onto"

# (b) a larger blank replacement
big=$(attach blank-large.img "$L")
plan "(b) larger blank replacement" 1
plan_says "(b)" "disk0 $orig -> $big (matched by blank-disk): recreate"
restore_ok "(b) larger blank replacement"
masked_oracle "$big" >"$LB_WORK/oracle.b"
sgdisk_clean "(b)" "$big"
grep -q "^last-lba: $((L / 512 - 34))\$" "$LB_WORK/oracle.b" || {
	grep last-lba "$LB_WORK/oracle.b"
	lb_fail "(b) last-lba is not at the new end ($((L / 512 - 34)))"
}
diff -u <(grep -v '^last-lba:' "$LB_WORK/oracle.captured") <(grep -v '^last-lba:' "$LB_WORK/oracle.b") ||
	lb_fail "(b) partitions, identities or volumes moved or changed on the larger disk"
plan "(b) after the restore" 0
retire "$big"
echo "ok (b) a larger blank replacement: partitions in place, backup GPT at the new end, sgdisk -v clean"

# (c) two blank candidates of the same size
b1=$(attach blank-1.img "$S")
b2=$(attach blank-2.img "$S")
plan "(c) two blank candidates" 1
plan_says "(c)" "disk0 $orig -> (none): missing (2 blank disks of $S bytes fit equally well"
if grep -q 'matched by blank-disk' "$LB_WORK/plan"; then
	cat "$LB_WORK/plan"
	lb_fail "(c) the plan guessed between two equal blank disks"
fi
"$LIFEBOAT" compare --json "$cap" >"$LB_WORK/plan.json" || true
python3 - "$LB_WORK/plan.json" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))["disks"][0]
sys.exit(0 if d["verdict"] == "missing" and d["device"] is None and "blank disks" in d["why"] else 1)
PY
	lb_fail "(c) compare --json does not say missing with the reason"
restore_refused "(c) two blank candidates"
unwritten "$b1" && unwritten "$b2" || lb_fail "(c) a refused restore wrote to a blank candidate"
echo "ok (c) two equal blank candidates: ambiguous, refused, nothing written"

# (e) --disk-map by recorded path settles it; the other candidate stays blank.
plan "(e) --disk-map $orig=$b2" 1 --disk-map "$orig=$b2"
plan_says "(e)" "disk0 $orig -> $b2 (matched by disk-map): recreate"
restore_ok "(e) --disk-map by path" --disk-map "$orig=$b2"
masked_oracle "$b2" >"$LB_WORK/oracle.e1"
diff -u "$LB_WORK/oracle.captured" "$LB_WORK/oracle.e1" || lb_fail "(e) restored layout differs"
unwritten "$b1" || lb_fail "(e) the unmapped blank candidate was written"
retire "$b1"
retire "$b2"
echo "ok (e) --disk-map $orig=$b2 restores onto the mapped disk only"

# (d) a disk holding data, of the right size, is never a guess, each alone
# the only candidate (two would tie); (e) --disk-map takes one explicitly.
wrong_disk_refused() { # WHAT DEV
	[ -n "$(blkid -p -o value -s PTTYPE "$2" 2>/dev/null)$(blkid -p -o value -s TYPE "$2" 2>/dev/null)" ] ||
		lb_fail "$1: $2 does not look like it holds data"
	plan "$1" 1
	plan_says "$1" "disk0 $orig -> (none): missing"
	plan_says "$1" "problem: disk0 ($orig, $((S / 512)) sectors of 512 bytes) is missing"
	lb_disk_sums "$2" >"$LB_WORK/sums.before"
	restore_refused "$1"
	lb_disk_sums "$2" | diff -u "$LB_WORK/sums.before" - || lb_fail "$1: a refused restore changed $2"
}
swapdisk=$(attach data-swap.img "$S")
mkswap -q "$swapdisk"
wrong_disk_refused "(d) only a disk with a whole-disk swap signature" "$swapdisk"
retire "$swapdisk"
data=$(attach data.img "$S")
sfdisk -q --no-reread --no-tell-kernel "$data" >/dev/null <<'T'
label: gpt
unit: sectors
start=2048, size=204800, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="someone else's"
T
lb_new_disk_id "$data"
wrong_disk_refused "(d) only a disk with a GPT of its own" "$data"
echo "ok (d) disks holding data are never picked by a guess: missing, refused, unchanged"

plan "(e) --disk-map disk0=$data" 1 --disk-map "disk0=$data"
plan_says "(e)" "disk0 $orig -> $data (matched by disk-map): recreate"
restore_ok "(e) --disk-map by id" --disk-map "disk0=$data"
masked_oracle "$data" >"$LB_WORK/oracle.e2"
diff -u "$LB_WORK/oracle.captured" "$LB_WORK/oracle.e2" || lb_fail "(e) restored layout differs"
sgdisk_clean "(e)" "$data"
echo "ok (e) --disk-map disk0=$data restores onto a disk that held data"
lb_cleanup
