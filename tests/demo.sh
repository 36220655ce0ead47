#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job on an embedded default: build a demo machine's disk layout on
# loop devices over sparse files (GPT with ESP, BIOS boot, /boot, swap, root),
# capture it, and show the capture. Touches nothing but its own loop devices.
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

step "lifeboat capture --disk ${disks[*]} --output $LB_WORK/capture"
"$LIFEBOAT" capture --output "$LB_WORK/capture" "${disks[@]/#/--disk=}"

step "lifeboat show $LB_WORK/capture"
"$LIFEBOAT" show "$LB_WORK/capture"

step "lifeboat verify $LB_WORK/capture"
"$LIFEBOAT" verify "$LB_WORK/capture"

step "done; removing the demo's loop devices"
