#!/usr/bin/env bash
# An offline capture (no volume mounted here, no LIFEBOAT_MOUNTINFO or
# LIFEBOAT_SYSROOT) of disks holding an installed system finds it read-only
# and records its mount points, swap and critical volumes from its fstab,
# as a live capture records them from the mount table (compared with a
# capture through a faked mountinfo, the live stand-in); a restore onto
# fresh disks writes the marker into its root; excluding its disk is
# refused. Then: a root found by its partition type alone (no os-release),
# a partition type preferred over os-release, two systems (none recorded),
# and hostile systems (fstab an absolute or escaping link to a file of
# this machine, FIFOs, shell metacharacters in labels and mount points):
# nothing outside the system is read, nothing run, the capture succeeds.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
unset LIFEBOAT_MOUNTINFO LIFEBOAT_SYSROOT LIFEBOAT_SWAPS LIFEBOAT_CMDLINE

ROOT_UUID=0ff1e000-0000-4000-8000-000000000004
BOOT_UUID=0ff1e000-0000-4000-8000-000000000002
SWAP_UUID=0ff1e000-0000-4000-8000-000000000003
SWAP_PARTUUID=0FF1E000-0000-4000-8000-0000000000C3
SRV_UUID=0ff1e000-0000-4000-8000-000000000005

# tmpfs-free check that no mount of lifeboat's is left behind
no_leftover_mounts() {
	! grep -q ' /tmp/lifeboat-mnt\.' /proc/self/mountinfo || {
		grep ' /tmp/lifeboat-mnt\.' /proc/self/mountinfo >&2
		lb_fail "$1: lifeboat left a mount behind"
	}
}

# attr MANIFEST XPATH-ish: volume id -> "mountpoint|critical" per volume
vol_table() {
	python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
for v in ET.parse(sys.argv[1]).getroot().iter("volume"):
    print("%s %s %s" % (v.get("id"), v.get("mountpoint", "-"), v.get("critical", "false")))
PY
}

# ---- the system disk and a data disk ----------------------------------------
sys=$(fx_attach "$LB_WORK/sys.img" 300M)
sfdisk -q --no-reread --no-tell-kernel "$sys" <<T
label: gpt
label-id: 0FF1E000-0000-4000-8000-0000000000D0
start=2048, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
size=98304, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="boot"
size=32768, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, uuid=$SWAP_PARTUUID, name="swap"
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
T
fx_reread "$sys"
fx_mkvfat "${sys}p1" 0FF1EC01 ESP
fx_mkext ext4 "${sys}p2" $BOOT_UUID boot
fx_mkswap "${sys}p3" $SWAP_UUID swap
fx_mkext ext4 "${sys}p4" $ROOT_UUID root

data=$(fx_attach "$LB_WORK/data.img" 64M)
sfdisk -q --no-reread --no-tell-kernel "$data" <<'T'
label: gpt
label-id: 0FF1E000-0000-4000-8000-0000000000D1
start=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="srv data"
T
fx_reread "$data"
fx_mkext ext4 "${data}p1" $SRV_UUID srv

mount "${sys}p4" "$mnt"
mkdir -p "$mnt/etc" "$mnt/usr/lib" "$mnt/boot/efi" "$mnt/srv" "$mnt/var/lib"
cat >"$mnt/usr/lib/os-release" <<'E'
PRETTY_NAME="Offline Linux 1 (test)"
ID=offline
E
ln -s ../usr/lib/os-release "$mnt/etc/os-release"
cat >"$mnt/etc/fstab" <<E
# /etc/fstab: static file system information.
#
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=$ROOT_UUID	/	ext4	errors=remount-ro	0	1
LABEL=boot /boot ext4 defaults 0 2
UUID=0FF1-EC01  /boot/efi       vfat    umask=0077      0       1
PARTUUID=${SWAP_PARTUUID,,} none swap sw 0 0
/dev/disk/by-partlabel/srv\x20data /srv ext4 defaults,nofail 0 2
proc /proc proc defaults 0 0
tmpfs /tmp tmpfs defaults 0 0
server:/export /mnt/nfs nfs defaults 0 0
LABEL=boot /mnt/noauto ext4 noauto 0 0
/swapfile none swap sw 0 0
   this line is junk
junk
UUID=ffffffff-0000-0000-0000-000000000000 /mnt/gone ext4 defaults 0 2
E
umount "$mnt"
mount "${sys}p2" "$mnt"
mkdir -p "$mnt/grub"
cat >"$mnt/grub/grub.cfg" <<E
set default=0
menuentry 'Offline Linux' {
	search --no-floppy --fs-uuid --set=root $BOOT_UUID
	linux	/vmlinuz-6.1.0 root=UUID=$ROOT_UUID ro quiet
	initrd	/initrd.img-6.1.0
}
E
umount "$mnt"

# ---- the live stand-in: the same system as if it were running here ----------
majmin() { cat "/sys/class/block/$(basename "$1")/dev"; }
{
	echo "1 0 $(majmin "${sys}p4") / / rw,relatime - ext4 ${sys}p4 rw"
	echo "2 1 $(majmin "${sys}p2") / /boot rw,relatime - ext4 ${sys}p2 rw"
	echo "3 2 $(majmin "${sys}p1") / /boot/efi rw,relatime - vfat ${sys}p1 rw"
	echo "4 1 $(majmin "${data}p1") / /srv rw,relatime - ext4 ${data}p1 rw"
} >"$LB_WORK/mountinfo"
printf 'Filename\tType\tSize\tUsed\tPriority\n%s\tpartition\t16380\t0\t-2\n' "${sys}p3" >"$LB_WORK/swaps"
LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo LIFEBOAT_SWAPS=$LB_WORK/swaps \
	"$LIFEBOAT" capture --data none --disk "$sys" --disk "$data" --output "$LB_WORK/live" \
	>/dev/null 2>"$LB_WORK/live.log" || {
	cat "$LB_WORK/live.log"
	lb_fail "live stand-in capture failed"
}
! grep -q '<system' "$LB_WORK/live/manifest.xml" || lb_fail "a live capture has a <system> element"
! grep -q 'mount-source' "$LB_WORK/live/manifest.xml" || lb_fail "a live capture has mount-source"

# ---- the offline capture -------------------------------------------------------
# (its mounts are read-only and replay no journal: not a byte changes)
lb_disk_sums "$sys" "$data" >"$LB_WORK/sums.before"
"$LIFEBOAT" capture --disk "$sys" --disk "$data" --output "$LB_WORK/cap" \
	>/dev/null 2>"$LB_WORK/cap.log" || {
	cat "$LB_WORK/cap.log"
	lb_fail "offline capture failed"
}
no_leftover_mounts "offline capture"
lb_disk_sums "$sys" "$data" >"$LB_WORK/sums.after"
cmp -s "$LB_WORK/sums.before" "$LB_WORK/sums.after" || lb_fail "the offline capture wrote to the disks"
M=$LB_WORK/cap/manifest.xml
vol_table "$LB_WORK/live/manifest.xml" >"$LB_WORK/live.vols"
vol_table "$M" >"$LB_WORK/cap.vols"
diff -u "$LB_WORK/live.vols" "$LB_WORK/cap.vols" ||
	lb_fail "the offline capture's mount points and critical flags differ from the live one's"
grep -q 'disk0p4 / true' "$LB_WORK/cap.vols" || lb_fail "the root is not recorded"
grep -q 'disk0p3 - true' "$LB_WORK/cap.vols" || lb_fail "the swap is not critical"
grep -q 'disk1p1 /srv false' "$LB_WORK/cap.vols" || lb_fail "/srv is not recorded"
python3 - "$M" <<'PY' || lb_fail "the manifest's system record is not as expected"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
s = root.find("system")
assert s is not None, "no <system>"
assert s.get("source") == "disk" and s.get("root") == "disk0p4", s.attrib
assert s.get("found-by") == "os-release", s.attrib
assert s.get("name") == "Offline Linux 1 (test)", s.attrib
notes = [n.text for n in s.findall("note")]
assert any("read from the disk" in n for n in notes), notes
assert any("UUID=ffffffff-0000-0000-0000-000000000000" in n and "no captured volume" in n
           for n in notes), notes
assert not any("junk" in n for n in notes), notes
vols = {v.get("id"): v for v in root.iter("volume")}
assert vols["disk0p4"].get("mount-source") == "fstab"
assert vols["disk0p4"].get("mount-options") == "errors=remount-ro"
assert vols["disk0p1"].get("mount-source") == "fstab"
assert vols["disk0p3"].get("mount-source") == "fstab"
assert vols["disk0p3"].get("swap-active") is None
for v in vols.values():   # images: nothing is mounted here
    d = v.find("data")
    assert d is None or d.get("method") == "image", (v.get("id"), d.attrib)
b = root.find("boot")
assert b.get("loader") == "grub", b.attrib
assert b.get("cmdline") == "root=UUID=0ff1e000-0000-4000-8000-000000000004 ro quiet", b.attrib
refs = {(r.get("source"), r.get("where")): r.get("resolves") for r in b.findall("reference")}
assert refs[("fstab", "/")] == "disk0p4", refs
assert refs[("fstab", "/boot")] == "disk0p2", refs
assert refs[("fstab", "/srv")] == "disk1p1", refs
assert refs[("fstab", "none")] == "disk0p3", refs
assert refs[("cmdline", "root")] == "disk0p4", refs
PY
grep -q 'note: read from the disk' "$LB_WORK/cap.log" || lb_fail "capture does not say it read the system from the disk"
"$LIFEBOAT" show "$LB_WORK/cap" | grep -q 'system read from the disk: root disk0p4' ||
	lb_fail "show does not say where the system was read from"
"$LIFEBOAT" show --json "$LB_WORK/cap" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["system"]["root"] == "disk0p4"' || lb_fail "show --json has no system"

# excluding the system's disk is refused, as for a live system; the data disk is not critical
rc=0
"$LIFEBOAT" capture --data none --disk "$sys" --disk "$data" --exclude-disk "$sys" \
	--output "$LB_WORK/excl" >/dev/null 2>"$LB_WORK/excl.log" || rc=$?
[ "$rc" = 2 ] || lb_fail "excluding the system disk exited $rc, not 2"
grep -q 'cannot exclude' "$LB_WORK/excl.log" || lb_fail "the refusal does not say why"
[ ! -e "$LB_WORK/excl" ] || lb_fail "a refused capture left a directory"
"$LIFEBOAT" capture --data none --disk "$sys" --disk "$data" --exclude-disk "$data" \
	--output "$LB_WORK/excl2" >/dev/null 2>&1 || lb_fail "excluding the data disk was refused"
no_leftover_mounts "refused capture"

# a disk with a volume mounted here stays live: that volume keeps this
# machine's mount point, the other disk's system is still found
echo "4 1 $(majmin "${data}p1") / /mnt/elsewhere rw,relatime - ext4 ${data}p1 rw" >"$LB_WORK/mountinfo-data"
LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo-data "$LIFEBOAT" capture --data none --disk "$sys" --disk "$data" \
	--output "$LB_WORK/mixed" >/dev/null 2>"$LB_WORK/mixed.log" || {
	cat "$LB_WORK/mixed.log"
	lb_fail "capture with the data disk mounted failed"
}
vol_table "$LB_WORK/mixed/manifest.xml" >"$LB_WORK/mixed.vols"
grep -qx 'disk0p4 / true' "$LB_WORK/mixed.vols" || lb_fail "mixed: the root is not recorded"
grep -qx 'disk1p1 /mnt/elsewhere false' "$LB_WORK/mixed.vols" || lb_fail "mixed: the mounted volume lost its mount point"
grep -q 'disk1p1 is in use on this machine' "$LB_WORK/mixed/manifest.xml" || lb_fail "mixed: no note on /srv"
no_leftover_mounts "mixed capture"

# ---- restore onto fresh disks: the marker goes into the restored root ----------
t_sys=$(fx_attach "$LB_WORK/t-sys.img" 300M)
t_data=$(fx_attach "$LB_WORK/t-data.img" 64M)
lb_guard "$LB_WORK/cap" --disk-map "disk0=$t_sys" --disk-map "disk1=$t_data"
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$t_sys" --disk-map "disk1=$t_data" \
	"$LB_WORK/cap" >"$LB_WORK/restore.log" 2>&1 || {
	cat "$LB_WORK/restore.log"
	lb_fail "restore failed"
}
fx_reread "$t_sys"
mount -o ro "${t_sys}p4" "$mnt"
[ -f "$mnt/var/lib/lifeboat/restore-session.xml" ] || {
	cat "$LB_WORK/restore.log"
	lb_fail "no marker in the restored root"
}
grep -q '<restore-session instance="' "$mnt/var/lib/lifeboat/restore-session.xml" ||
	lb_fail "the marker is not a restore-session"
[ -f "$mnt/usr/lib/os-release" ] || lb_fail "the restored root lost its files"
umount "$mnt"
echo "ok: offline capture records the system's mount points as a live one; marker written"

# ---- a root found by its partition type, without os-release --------------------
dps=$(fx_attach "$LB_WORK/dps.img" 400M)
sfdisk -q --no-reread --no-tell-kernel "$dps" <<'T'
label: gpt
label-id: 0FF1E000-0000-4000-8000-0000000000D2
start=2048, size=16384, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="dps-swap"
type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="dps-root"
T
fx_reread "$dps"
fx_mkswap "${dps}p1" 0ff1e000-0000-4000-8000-0000000000e1 dpsswap
# on XFS, with a log that needs recovery: read with norecovery, not replayed
mkfs.xfs -q -f -m uuid=0ff1e000-0000-4000-8000-0000000000e2 -L dpsroot "${dps}p2"
mount "${dps}p2" "$mnt"
mkdir -p "$mnt/usr/bin" "$mnt/etc"
printf 'LABEL=dpsswap none swap defaults 0 0\n' >"$mnt/etc/fstab"
umount "$mnt"
# then a change left in the log only, as a crash leaves it
mount "${dps}p2" "$mnt"
touch "$mnt/after-the-crash"
sync -f "$mnt"
xfs_io -x -c shutdown "$mnt"
umount "$mnt"
lb_disk_sums "$dps" >"$LB_WORK/dps.before"
"$LIFEBOAT" capture --data none --disk "$dps" --output "$LB_WORK/dps-cap" >/dev/null 2>"$LB_WORK/dps.log" || {
	cat "$LB_WORK/dps.log"
	lb_fail "capture of a DPS root failed"
}
vol_table "$LB_WORK/dps-cap/manifest.xml" >"$LB_WORK/dps.vols"
grep -qx 'disk0p2 / true' "$LB_WORK/dps.vols" || lb_fail "the DPS root is not recorded"
grep -qx 'disk0p1 - true' "$LB_WORK/dps.vols" || lb_fail "the DPS system's swap is not critical"
grep -q '<system source="disk" root="disk0p2" found-by="partition-type"' "$LB_WORK/dps-cap/manifest.xml" ||
	lb_fail "the DPS system is not recorded as found by its partition type"
lb_disk_sums "$dps" | cmp -s - "$LB_WORK/dps.before" || lb_fail "the XFS log was replayed"

# with the os-release system beside it: the partition type wins
"$LIFEBOAT" capture --data none --disk "$sys" --disk "$dps" --output "$LB_WORK/both" >/dev/null 2>&1 ||
	lb_fail "capture of two systems failed"
grep -q '<system source="disk" root="disk1p2"' "$LB_WORK/both/manifest.xml" ||
	lb_fail "the root partition type is not preferred over os-release"

# two systems found by os-release alone: neither is recorded, and a note says why
other=$(fx_attach "$LB_WORK/other.img" 200M)
printf 'label: gpt\nlabel-id: 0FF1E000-0000-4000-8000-0000000000D3\nstart=2048, name="other"\n' |
	sfdisk -q --no-reread --no-tell-kernel "$other"
fx_reread "$other"
mkfs.btrfs -q -f -U 0ff1e000-0000-4000-8000-0000000000f1 -L other "${other}p1" >/dev/null
mount "${other}p1" "$mnt"
mkdir -p "$mnt/etc"
echo 'PRETTY_NAME="Other"' >"$mnt/etc/os-release"
echo 'LABEL=other / ext4 defaults 0 1' >"$mnt/etc/fstab"
umount "$mnt"
"$LIFEBOAT" capture --data none --disk "$sys" --disk "$other" --output "$LB_WORK/two" \
	>/dev/null 2>"$LB_WORK/two.log" || lb_fail "capture of two systems failed"
! grep -q 'mountpoint=' "$LB_WORK/two/manifest.xml" || lb_fail "an ambiguous capture recorded mount points"
grep -q 'more than one installed system' "$LB_WORK/two/manifest.xml" || lb_fail "no note on the ambiguity"
grep -q 'note: more than one installed system' "$LB_WORK/two.log" || lb_fail "capture did not say so"
no_leftover_mounts "DPS and ambiguous captures"
echo "ok: root by partition type, preferred over os-release; two systems: none recorded"

# ---- hostile systems -------------------------------------------------------------
# files of this machine that a system on a disk must never get read
printf 'LABEL=boot /HOSTFSTAB ext4 defaults 0 2\n' >"$LB_WORK/host-fstab"
printf 'PRETTY_NAME="HOST SECRET"\n' >"$LB_WORK/host-os-release"
printf 'root=HOSTCMDLINE\n' >"$LB_WORK/host-cmdline"
hos=$(fx_attach "$LB_WORK/hostile.img" 96M)
sfdisk -q --no-reread --no-tell-kernel "$hos" <<'T'
label: gpt
label-id: 0FF1E000-0000-4000-8000-0000000000D4
start=2048, size=65536, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="$(touch pwned1)"
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="a;b|c`d`&$(e)"
T
fx_reread "$hos"
fx_mkext ext4 "${hos}p1" 0ff1e000-0000-4000-8000-0000000000a1 'r$(touch pwn2)'
fx_mkext ext4 "${hos}p2" 0ff1e000-0000-4000-8000-0000000000a2 '`touch pwn3`;|&'
mount "${hos}p1" "$mnt"
mkdir -p "$mnt/etc/kernel" "$mnt/usr/lib" "$mnt/boot/grub"
ln -s "$LB_WORK/host-fstab" "$mnt/etc/fstab"                            # absolute
ln -s "../../../../../../../../$LB_WORK/host-os-release" "$mnt/etc/os-release" # escaping
mkfifo "$mnt/usr/lib/os-release"
ln -s "$LB_WORK/host-cmdline" "$mnt/etc/kernel/cmdline"
ln -s /proc/self/environ "$mnt/boot/grub/grub.cfg"
umount "$mnt"
cd "$LB_WORK"
timeout 120 "$LIFEBOAT" capture --data none --disk "$hos" --output "$LB_WORK/hostile-cap" \
	>/dev/null 2>"$LB_WORK/hostile.log" || {
	cat "$LB_WORK/hostile.log"
	lb_fail "capture of a hostile system failed (or hung)"
}
cd - >/dev/null
H=$LB_WORK/hostile-cap/manifest.xml
! grep -q 'HOSTFSTAB\|HOST SECRET\|HOSTCMDLINE' "$H" "$LB_WORK/hostile.log" ||
	lb_fail "a file of this machine was read through the system's links"
grep -q 'root="disk0p1"' "$H" || lb_fail "the hostile system's root is not recorded"
grep -q '/etc/fstab is a link to nothing on the volume' "$H" || lb_fail "no note on the fstab link"
"$LIFEBOAT" verify "$LB_WORK/hostile-cap" >/dev/null || lb_fail "verify fails on the hostile capture"

# a readable fstab full of shell metacharacters: recorded literally, nothing run
mount "${hos}p1" "$mnt"
rm "$mnt/etc/fstab"
printf '%s\n' 'LABEL=`touch\040pwn3`;|& /srv/$(touch\040pwn4);x ext4 defaults 0 2' \
	'PARTLABEL=$(touch\040pwned1) / ext4 defaults 0 1' \
	'LABEL=$(touch /mnt/x ext4 defaults 0 2' >"$mnt/etc/fstab"
umount "$mnt"
cd "$LB_WORK"
"$LIFEBOAT" capture --data none --disk "$hos" --output "$LB_WORK/hostile2" \
	>/dev/null 2>"$LB_WORK/hostile2.log" || {
	cat "$LB_WORK/hostile2.log"
	lb_fail "capture of a system with hostile labels failed"
}
cd - >/dev/null
python3 - "$LB_WORK/hostile2/manifest.xml" <<'PY' || lb_fail "the hostile labels' mount points are not recorded literally"
import sys, xml.etree.ElementTree as ET
vols = {v.get("id"): v for v in ET.parse(sys.argv[1]).getroot().iter("volume")}
assert vols["disk0p1"].get("mountpoint") == "/", vols["disk0p1"].attrib
assert vols["disk0p2"].get("mountpoint") == "/srv/$(touch pwn4);x", vols["disk0p2"].attrib
PY
# an fstab too big to be one, and one that is a directory: left unread, with a note
mount "${hos}p1" "$mnt"
rm "$mnt/etc/fstab"
head -c 2M /dev/zero | tr '\0' '#' >"$mnt/etc/fstab"
umount "$mnt"
"$LIFEBOAT" capture --data none --disk "$hos" --output "$LB_WORK/hostile3" \
	>/dev/null 2>"$LB_WORK/hostile3.log" || lb_fail "capture of a system with a 2 MiB fstab failed"
grep -q '/etc/fstab not read (larger than 1 MiB)' "$LB_WORK/hostile3/manifest.xml" ||
	lb_fail "no note on the oversized fstab"
mount "${hos}p1" "$mnt"
rm "$mnt/etc/fstab"
mkdir "$mnt/etc/fstab"
umount "$mnt"
"$LIFEBOAT" capture --data none --disk "$hos" --output "$LB_WORK/hostile4" \
	>/dev/null 2>"$LB_WORK/hostile4.log" || lb_fail "capture of a system whose fstab is a directory failed"
grep -q '/etc/fstab not read (not a regular file)' "$LB_WORK/hostile4/manifest.xml" ||
	lb_fail "no note on the fstab directory"
for f in pwned1 pwn2 pwn3 pwn4; do
	[ ! -e "$LB_WORK/$f" ] && [ ! -e "$LB_TOP/$f" ] && [ ! -e "/$f" ] || lb_fail "a label was run ($f)"
done
no_leftover_mounts "hostile captures"
echo "ok: hostile systems: nothing of this machine read, nothing run"
