#!/usr/bin/env bash
# The disk that holds the capture is excluded from it: recorded, not
# selected ("holds this capture"), with no data and no boot-area
# artifacts, so a restore never writes it and the capture holds no copy
# of itself. Not when it holds a volume the system needs (the default
# capture directory is on the root): then it is captured as usual.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
export FX_WORKDIR
. "$LB_TOP/fixtures/layouts/lib.sh"
W=$LB_WORK

# mkdisk NAME UUID: a GPT disk with one ext4 partition; prints the disk
mkdisk() {
	local d
	d=$(fx_attach "$1.img" 64M)
	printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
		sfdisk -q --no-reread --no-tell-kernel "$d"
	lb_new_disk_id "$d"
	fx_reread "$d"
	fx_mkext ext4 "$(fx_part "$d" 1)" "$2" "$1" >/dev/null
	fx_bootcode "$d" "boot code of $1"
	printf '%s\n' "$d"
}
sys=$(mkdisk sys 5afe0b07-0000-4000-8000-00000000000a)
bak=$(mkdisk bak 5afe0b07-0000-4000-8000-00000000000b)
mkdir -p "$W/bak"
mount -t ext4 "${bak}p1" "$W/bak"
echo "older file" >"$W/bak/older"

"$LIFEBOAT" capture --disk "$sys" --disk "$bak" --output "$W/bak/cap" >"$W/out" 2>"$W/err" ||
	{ cat "$W/err"; lb_fail "capture failed"; }
m=$W/bak/cap/manifest.xml
python3 - "$m" "$bak" "$sys" <<'PY' || lb_fail "the capture's own disk is not excluded as it should be"
import sys, xml.etree.ElementTree as ET
m, bak, sysd = sys.argv[1:]
root = ET.parse(m).getroot()
ns = root.tag[:root.tag.index('}') + 1] if root.tag.startswith('{') else ''
disks = {d.get('path'): d for d in root.iter(ns + 'disk')}
b, s = disks[bak], disks[sysd]
assert b.get('selected') == 'false', b.attrib
assert 'holds this capture' in (b.get('exclude-reason') or ''), b.attrib
assert not any(e.get('data-file') or e.tag.endswith('data') for e in b.iter()), 'data for the excluded disk'
assert not any(e.tag.endswith('boot-code') for e in b.iter()), 'boot code kept for the excluded disk'
assert s.get('selected') != 'false', s.attrib
print('ok: manifest')
PY
ls "$W/bak/cap" | grep -q "$(sed -n 's/.*<disk id="\([^"]*\)"[^>]*path="'"${bak//\//\\/}"'".*/\1/p' "$m")-" &&
	lb_fail "an artifact of the excluded disk is left in the capture"
"$LIFEBOAT" verify "$W/bak/cap" >/dev/null || lb_fail "verify of the capture failed"
"$LIFEBOAT" show "$W/bak/cap" | grep -A1 "^disk.* $bak " | tee "$W/show"
grep -q 'holds this capture' "$W/show" || lb_fail "show does not say why the disk is not selected"

# the same disk holding the root (a live system writing into /var/lib):
# captured as usual, the capture directory left out of its archive
printf '1 0 %s / / rw,relatime - ext4 %s rw\n' \
	"$(printf '%d:%d' "0x$(stat -L -c %t "${bak}p1")" "0x$(stat -L -c %T "${bak}p1")")" "${bak}p1" >"$W/mountinfo"
LIFEBOAT_MOUNTINFO=$W/mountinfo "$LIFEBOAT" capture --disk "$sys" --disk "$bak" --data none \
	--output "$W/bak/cap2" >"$W/out" 2>"$W/err" || { cat "$W/err"; lb_fail "capture onto the root failed"; }
grep "path=\"$bak\"" "$W/bak/cap2/manifest.xml" | grep -q 'selected="false"' &&
	lb_fail "a disk holding the root was excluded because the capture is on it"
umount "$W/bak"
echo "ok: the capture's own disk is excluded, unless it holds the system"
