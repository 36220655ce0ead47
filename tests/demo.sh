#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job on an embedded default: build a demo machine's disk layout on
# loop devices over sparse files (GPT with ESP, BIOS boot, /boot, swap, root),
# capture it, wipe it as a dead disk would be, compare (what will be
# recreated), restore, compare again (all intact), and clean up. Touches
# nothing but its own loop devices.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root for loop devices (try: sudo make demo)" >&2
	exit 1
fi
set -euo pipefail
lb_workdir
step() { printf '\n==> %s\n' "$*"; }

step "building a demo machine on loop devices (fixtures/layouts/gpt-server.sh)"
lb_build_layout gpt-server >/dev/null
mapfile -t disks <"$LB_WORK/disks"
sfdisk --dump "${disks[0]}" 2>/dev/null | sed 's/^/    /'
lb_oracle "${disks[@]}" >"$LB_WORK/before"

step "lifeboat capture --disk ${disks[*]} --output $LB_WORK/capture"
"$LIFEBOAT" capture --output "$LB_WORK/capture" "${disks[@]/#/--disk=}"

step "lifeboat show $LB_WORK/capture"
"$LIFEBOAT" show "$LB_WORK/capture"

step "the disk dies: every signature wiped, the first MiB zeroed"
lb_wipe "${disks[@]}" 2>/dev/null

step "lifeboat compare $LB_WORK/capture   (exit 1: something to recreate)"
rc=0
"$LIFEBOAT" compare "$LB_WORK/capture" || rc=$?
[ "$rc" -eq 1 ] || { echo "demo: compare should have exited 1, got $rc" >&2; exit 1; }

step "lifeboat restore --yes --quick-format --marker $LB_WORK/restore-session.xml $LB_WORK/capture"
"$LIFEBOAT" restore --yes --quick-format --marker "$LB_WORK/restore-session.xml" "$LB_WORK/capture"
cat "$LB_WORK/restore-session.xml"

step "lifeboat compare $LB_WORK/capture   (exit 0: every disk intact)"
"$LIFEBOAT" compare "$LB_WORK/capture"

step "checking against sfdisk --dump, blkid -p and dumpe2fs -h from before the wipe"
lb_oracle "${disks[@]}" >"$LB_WORK/after"
if diff -u "$LB_WORK/before" "$LB_WORK/after"; then
	echo "    identical: partition table, GUIDs, UUIDs, labels, geometry, boot code"
else
	echo "demo: FAILED: the restored disk differs (above)" >&2
	exit 1
fi

step "demo passed; removing the demo's loop devices"
