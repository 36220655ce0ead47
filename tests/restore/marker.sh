#!/usr/bin/env bash
# The restore-session marker: written into the restored root filesystem
# (/var/lib/lifeboat/restore-session.xml, root <restore-session> with a
# fresh random instance UUID each run) with the restore log beside it, or to
# --marker PATH.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
lb_build_layout gpt-server >/dev/null
mapfile -t disks <"$LB_WORK/disks"
d=${disks[0]}
lb_new_disk_id "$d" # no other test's twin
# the capture sees p5 mounted read-only on / (an image, not an archive of
# this host's real root)
mm=$(cat "/sys/class/block/$(basename "$d")p5/dev")
echo "36 25 $mm / / ro,relatime shared:1 - ext4 ${d}p5 ro" >"$LB_WORK/mountinfo"
LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo "$LIFEBOAT" capture --output "$LB_WORK/cap" --disk "$d" \
	>/dev/null 2>&1 || lb_fail "capture failed"
grep -q 'mountpoint="/" .*critical="true"' "$LB_WORK/cap/manifest.xml" || lb_fail "/ not recorded as critical"

instance() {
	mount -o ro "${d}p5" "$mnt"
	[ -f "$mnt/var/lib/lifeboat/restore-session.xml" ] || lb_fail "no marker in the restored root"
	ls "$mnt"/var/log/lifeboat/restore-*.log >/dev/null 2>&1 || lb_fail "no restore log beside the marker"
	python3 - "$mnt/var/lib/lifeboat/restore-session.xml" <<'PY'
import sys, uuid, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "restore-session", root.tag
print(uuid.UUID(root.get("instance")))
assert root.find("capture") is not None and root.find("disk") is not None
PY
	umount "$mnt"
}

lb_wipe "$d" 2>/dev/null
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/r1" 2>&1 || {
	cat "$LB_WORK/r1"
	lb_fail "first restore failed"
}
first=$(instance)
lb_wipe "$d" 2>/dev/null
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/r2" 2>&1 || lb_fail "second restore failed"
second=$(instance)
[ -n "$first" ] && [ "$first" != "$second" ] || lb_fail "the instance UUID is not fresh ($first, $second)"

lb_wipe "$d" 2>/dev/null
"$LIFEBOAT" restore --yes --quick-format --marker "$LB_WORK/elsewhere.xml" "$LB_WORK/cap" \
	>"$LB_WORK/r3" 2>&1 || lb_fail "restore with --marker failed"
grep -q '<restore-session instance="' "$LB_WORK/elsewhere.xml" || lb_fail "--marker PATH not written"
echo "ok: marker in the restored root ($first, then $second) and at --marker PATH"
