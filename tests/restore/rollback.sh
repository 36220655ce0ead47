#!/usr/bin/env bash
# Critical volumes come back on an intact disk (ASR's rule, DESIGN.md
# "Restore semantics"): the disk is healthy, the system on it is broken.
# A GPT disk as a running system's capture records it (through
# LIFEBOAT_MOUNTINFO and LIFEBOAT_SWAPS, as tests/rescue's rs_capture does):
#   p1 ext4 /boot, mounted read-write at capture: critical, an archive
#      (it is really mounted on /boot, in a mount namespace of its own)
#   p2 swap, active: critical, no data
#   p3 ext4 /, mounted read-only: critical, an image
#   p4 ext4, not mounted: not critical, an image
# Then, the disk's layout untouched but files of / and /boot deleted,
# changed and added, and a file added on p4:
#  (a) compare exits 0 (the layout is intact) and shows each volume's action;
#  (b) restore puts / and /boot back, leaves p4 (its new file survives, its
#      bytes are unchanged) and the partition table alone, and writes the
#      marker naming the volumes put back; a second run does it again;
#  (c) --no-data writes nothing;
#  (d) --volume disk0p4 puts p4 back too; --all-volumes everything;
#  (e) an unknown --volume is a usage error (exit 2) before any write;
#  (f) a capture whose root data file has one byte flipped is refused before
#      any write (exit 1, the disk's bytes unchanged); one whose p4 data file
#      is truncated restores with a warning, p4 left as it is;
#  (g) with a volume of the disk mounted here, restore leaves the critical
#      volumes with a warning (exit 0) and refuses a volume named with
#      --volume (exit 1); nothing is written either way.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
command -v unshare >/dev/null || {
	echo "SKIP: $(lb_name): needs unshare (util-linux)"
	exit 77
}

d=$(fx_attach "$LB_WORK/disk.img" 400M)
sfdisk -q --no-reread --no-tell-kernel "$d" <<'T'
label: gpt
unit: sectors
start=2048, size=131072, name="boot"
start=133120, size=65536, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
start=198656, size=327680, name="root"
start=526336, size=131072, name="srv"
T
lb_new_disk_id "$d"
fx_reread "$d"
fx_mkext ext4 "$(fx_part "$d" 1)" 6c1fe0b0-0002-4c1f-8a00-0000000000b1 boot -b 1024
fx_mkswap "$(fx_part "$d" 2)" 6c1fe0b0-0002-4c1f-8a00-0000000000b2 swap
fx_mkext ext4 "$(fx_part "$d" 3)" 6c1fe0b0-0002-4c1f-8a00-0000000000b3 root
fx_mkext ext4 "$(fx_part "$d" 4)" 6c1fe0b0-0002-4c1f-8a00-0000000000b4 srv

mount "${d}p3" "$mnt"
lb_populate "$mnt"
mkdir -p "$mnt/etc/apt"
printf 'NAME=lifeboat-test\n' >"$mnt/etc/os-release"
printf 'before\n' >"$mnt/etc/hostname"
printf 'deb stable main\n' >"$mnt/etc/apt/sources.list"
umount "$mnt"
mount "${d}p1" "$mnt"
mkdir -p "$mnt/grub"
printf 'menuentry captured {}\n' >"$mnt/grub/grub.cfg"
head -c 2000000 /dev/urandom >"$mnt/vmlinuz-1"
umount "$mnt"
mount "${d}p4" "$mnt"
printf 'site\n' >"$mnt/index.html"
umount "$mnt"

majmin() { printf '%d:%d\n' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"; }
{
	printf '1 0 %s / / ro,relatime - ext4 %s ro\n' "$(majmin "${d}p3")" "${d}p3"
	printf '2 1 %s / /boot rw,relatime - ext4 %s rw\n' "$(majmin "${d}p1")" "${d}p1"
} >"$LB_WORK/mountinfo"
printf 'Filename\tType\tSize\tUsed\tPriority\n%s\tpartition\t32764\t0\t-2\n' "${d}p2" >"$LB_WORK/swaps"
cap=$LB_WORK/cap
# /boot is archived from where it is mounted: mounted there in a namespace of
# the capture's own, so that nothing of this host's /boot is seen or touched
unshare --mount --propagation private bash -c '
	set -e
	mount "$1" /boot
	LIFEBOAT_MOUNTINFO=$2 LIFEBOAT_SWAPS=$3 "$4" capture --disk "$5" --output "$6"
	umount /boot' - "${d}p1" "$LB_WORK/mountinfo" "$LB_WORK/swaps" "$LIFEBOAT" "$d" "$cap" \
	>"$LB_WORK/capture.log" 2>&1 || {
	cat "$LB_WORK/capture.log"
	lb_fail "capture failed"
}
grep -q 'id="disk0p3".*mountpoint="/" .*critical="true"' "$cap/manifest.xml" || lb_fail "/ not critical"
grep -q 'method="archive"' "$cap/manifest.xml" || lb_fail "/boot not captured as an archive"
grep -q 'id="disk0p2".*critical="true"' "$cap/manifest.xml" || lb_fail "the active swap not critical"
grep -q 'file="disk0p4.data"' "$cap/manifest.xml" || lb_fail "p4 has no data"

# plan_says PLANFILE REGEX...: every regex is a line of the plan
plan_says() {
	local f=$1 re
	shift
	for re in "$@"; do
		grep -Eq -- "$re" "$f" || {
			cat "$f"
			lb_fail "the plan does not say: $re"
		}
	done
}

# table_sum: the partition table's sectors (protective MBR, primary GPT,
# backup GPT) and what sfdisk reads from them
table_sum() {
	blockdev --flushbufs "$d"
	{
		head -c $((2048 * 512)) "$d"
		tail -c $((33 * 512)) "$d"
		sfdisk --dump "$d"
	} | sha256sum
}

# break_system: what a failed upgrade or a careless admin leaves on / and
# /boot, and a file of the day on p4
break_system() {
	mount "${d}p3" "$mnt"
	rm -f "$mnt/etc/passwd" "$mnt/etc/os-release"
	rm -rf "$mnt/etc/apt"
	printf 'after\n' >"$mnt/etc/hostname"
	printf 'x\n' >"$mnt/etc/left-by-the-upgrade"
	umount "$mnt"
	mount "${d}p1" "$mnt"
	rm -f "$mnt/grub/grub.cfg"
	printf 'new\n' >"$mnt/vmlinuz-2"
	umount "$mnt"
	mount "${d}p4" "$mnt"
	printf 'today\n' >"$mnt/new-since-capture"
	umount "$mnt"
}

# system_back: / and /boot as captured, and their filesystems check clean
system_back() {
	local what=$1 p
	for p in 1 3; do
		e2fsck -fn "${d}p$p" >/dev/null 2>&1 || lb_fail "$what: p$p does not check clean"
	done
	mount -o ro "${d}p3" "$mnt"
	[ -f "$mnt/etc/passwd" ] && [ -f "$mnt/etc/os-release" ] &&
		[ "$(cat "$mnt/etc/apt/sources.list")" = 'deb stable main' ] &&
		[ "$(cat "$mnt/etc/hostname")" = before ] && [ ! -e "$mnt/etc/left-by-the-upgrade" ] &&
		getfattr -n user.lifeboat --only-values "$mnt/etc/passwd" 2>/dev/null | grep -qx 'hello world' || {
		ls -la "$mnt/etc"
		umount "$mnt"
		lb_fail "$what: / is not as captured"
	}
	umount "$mnt"
	mount -o ro "${d}p1" "$mnt"
	[ "$(cat "$mnt/grub/grub.cfg")" = 'menuentry captured {}' ] && [ ! -e "$mnt/vmlinuz-2" ] || {
		umount "$mnt"
		lb_fail "$what: /boot is not as captured"
	}
	umount "$mnt"
	[ "$(blkid -p -o value -s UUID "${d}p3")" = 6c1fe0b0-0002-4c1f-8a00-0000000000b3 ] &&
		[ "$(blkid -p -o value -s UUID "${d}p1")" = 6c1fe0b0-0002-4c1f-8a00-0000000000b1 ] ||
		lb_fail "$what: / or /boot lost its UUID"
}

# p4_has_new_file: whether p4 still holds the file added after the capture
p4_has_new_file() {
	local r=1
	mount -o ro "${d}p4" "$mnt"
	[ -f "$mnt/new-since-capture" ] && r=0
	umount "$mnt"
	return $r
}

# restore_ok WHAT ARGS...: a restore that must succeed
restore_ok() {
	local what=$1
	shift
	lb_guard "$cap"
	"$LIFEBOAT" restore --yes --quick-format "$@" >"$LB_WORK/restore.log" 2>&1 || {
		cat "$LB_WORK/restore.log"
		lb_fail "$what: restore failed"
	}
}

# writes_nothing WHAT RC REGEX CAPTURE ARGS...: restore exits RC saying
# REGEX and writes nothing (the disk's whole backing file digest before and
# after)
writes_nothing() {
	local what=$1 want=$2 re=$3 c=$4 rc=0
	shift 4
	lb_guard "$c"
	lb_disk_sums "$d" >"$LB_WORK/sums.before"
	"$LIFEBOAT" restore --yes --quick-format "$@" "$c" >"$LB_WORK/refused.log" 2>&1 || rc=$?
	if [ "$rc" != "$want" ] || ! grep -Eq -- "$re" "$LB_WORK/refused.log"; then
		cat "$LB_WORK/refused.log"
		lb_fail "$what: restore exited $rc, expected $want saying '$re'"
	fi
	lb_disk_sums "$d" >"$LB_WORK/sums.after"
	diff -u "$LB_WORK/sums.before" "$LB_WORK/sums.after" || lb_fail "$what: the disk was written"
}

# (a) compare: intact, each volume's action
break_system
rc=0
"$LIFEBOAT" compare "$cap" >"$LB_WORK/plan" 2>&1 || rc=$?
[ "$rc" = 0 ] || {
	cat "$LB_WORK/plan"
	lb_fail "(a) compare exited $rc on an intact disk, not 0"
}
plan_says "$LB_WORK/plan" ': intact$' \
	'disk0p1 +ext4 +/boot \[critical\]: format\+extract-archive \(critical: its data is put back\)' \
	'disk0p2 +swap +\[critical\]: keep \(critical swap, as recorded\)' \
	'disk0p3 +ext4 +/ \[critical\]: write-image \(critical: its data is put back\)' \
	'disk0p4 +ext4 +: keep \(not critical; --volume disk0p4 puts its data back\)'
echo "ok (a) compare: intact (exit 0), / and /boot to put back, swap and p4 kept"

# (b) restore: / and /boot back, p4 and the table untouched, the marker
table=$(table_sum)
p4sum=$(lb_sha256 "${d}p4" | cut -d' ' -f1)
restore_ok "(b)" "$cap"
plan_says "$LB_WORK/restore.log" 'intact: its partition table is left alone; data put back on 2 volumes'
system_back "(b)"
p4_has_new_file || lb_fail "(b) p4's new file is gone: a volume not critical was written"
[ "$(lb_sha256 "${d}p4" | cut -d' ' -f1)" = "$p4sum" ] || lb_fail "(b) p4's bytes changed"
[ "$(table_sum)" = "$table" ] || lb_fail "(b) the partition table was rewritten"
[ "$(blkid -p -o value -s UUID "${d}p2")" = 6c1fe0b0-0002-4c1f-8a00-0000000000b2 ] ||
	lb_fail "(b) the swap lost its UUID"
marker() {
	mount -o ro "${d}p3" "$mnt"
	python3 - "$mnt/var/lib/lifeboat/restore-session.xml" <<'PY' || { umount "$mnt"; return 1; }
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
vols = {v.get("id"): v for v in root.findall("volume")}
assert vols["disk0p3"].get("rollback") == "critical", ET.tostring(vols["disk0p3"])
assert vols["disk0p3"].get("result") == "image written", ET.tostring(vols["disk0p3"])
assert vols["disk0p1"].get("rollback") == "critical", ET.tostring(vols["disk0p1"])
assert vols["disk0p1"].get("result") == "formatted, files extracted", ET.tostring(vols["disk0p1"])
assert vols["disk0p4"].get("action") == "keep" and vols["disk0p4"].get("result") is None
assert root.find("disk").get("verdict") == "intact"
print(root.get("instance"))
PY
	umount "$mnt"
}
first=$(marker) || lb_fail "(b) the marker does not name the volumes put back"
break_system
restore_ok "(b) again" "$cap"
system_back "(b) again"
second=$(marker) || lb_fail "(b) again: the marker does not name the volumes put back"
[ "$first" != "$second" ] || lb_fail "(b) the second run's marker has the first one's instance"
p4_has_new_file || lb_fail "(b) again: p4's new file is gone"
echo "ok (b) restore: / and /boot back, p4 and the table untouched, marker; twice"

# (c) --no-data: layout only, and the layout is intact
break_system
writes_nothing "(c) --no-data" 0 'nothing to do' "$cap" --no-data
echo "ok (c) --no-data writes nothing on an intact disk"

# (d) --volume and --all-volumes
restore_ok "(d) --volume" --volume disk0p4 "$cap"
system_back "(d) --volume"
! p4_has_new_file || lb_fail "(d) --volume disk0p4 did not put p4 back"
break_system
restore_ok "(d) --all-volumes" --all-volumes "$cap"
system_back "(d) --all-volumes"
! p4_has_new_file || lb_fail "(d) --all-volumes did not put p4 back"
echo "ok (d) --volume disk0p4 and --all-volumes put p4 back too"

# (e) a volume the capture does not have
break_system
writes_nothing "(e)" 2 'problem: --volume disk0p9: no such volume' "$cap" --volume disk0p9
echo "ok (e) --volume disk0p9: usage error, nothing written"

# (f) damaged data: the root's (written) refused, p4's (left alone) a warning
cp -a "$cap" "$LB_WORK/bad-root"
f=$LB_WORK/bad-root/disk0p3.data
off=$(($(stat -c %s "$f") / 2))
byte=$(dd if="$f" bs=1 skip=$off count=1 status=none | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$f" bs=1 seek=$off conv=notrunc status=none
writes_nothing "(f) root data damaged" 1 'problem: disk0p3: its data is damaged' "$LB_WORK/bad-root"
cp -a "$cap" "$LB_WORK/bad-other"
truncate -s -100 "$LB_WORK/bad-other/disk0p4.data"
lb_guard "$LB_WORK/bad-other"
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/bad-other" >"$LB_WORK/restore.log" 2>&1 || {
	cat "$LB_WORK/restore.log"
	lb_fail "(f) a damaged data file of a volume left alone stopped the restore"
}
plan_says "$LB_WORK/restore.log" '^warning: disk0p4: its data file .* \(truncated or replaced\); the volume is left as it is'
system_back "(f)"
p4_has_new_file || lb_fail "(f) p4 was written"
echo "ok (f) damaged root data: refused, nothing written; damaged p4 data: a warning"

# (g) a volume of the disk mounted here: a running system cannot roll
# itself back. Its critical volumes are left as they are with a warning
# (a replaced disk beside it would still be restored); a volume named with
# --volume is refused before any write
mount -o ro,noload "${d}p4" "$mnt"
writes_nothing "(g) in use" 0 'warning: disk0p3: not put back: .* is in use here' "$cap"
writes_nothing "(g) in use, --volume" 1 'problem: disk0p4: will not put its data back on .*is mounted' \
	"$cap" --volume disk0p4
umount "$mnt"
echo "ok (g) a disk in use here: critical volumes left with a warning, a named one refused, nothing written"
lb_cleanup
