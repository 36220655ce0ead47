#!/usr/bin/env bash
# The default (full) format zeroes each volume it makes and reads it back
# first: a restore without --quick-format says so for every volume and
# leaves the layout as captured.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
lb_build_layout mbr-logical >/dev/null
mapfile -t disks <"$LB_WORK/disks"
d=${disks[0]}
lb_new_disk_id "$d" # no other test's twin
"$LIFEBOAT" capture --data none --output "$LB_WORK/cap" --disk "$d" >/dev/null 2>&1 || lb_fail "capture failed"
lb_oracle "$d" >"$LB_WORK/before"
lb_wipe "$d" 2>/dev/null
"$LIFEBOAT" restore --yes "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || {
	cat "$LB_WORK/out"
	lb_fail "restore (full format) failed"
}
[ "$(grep -c 'zeroing and checking' "$LB_WORK/out")" = 4 ] ||
	lb_fail "not every formatted volume (4) was zeroed and checked"
lb_oracle "$d" >"$LB_WORK/after"
diff -u "$LB_WORK/before" "$LB_WORK/after" || lb_fail "the layout differs after a full-format restore"
echo "ok: full format"
