#!/usr/bin/env bash
# lifeboat status (issue 15): exit 0 for a fresh capture of an unchanged
# machine, 1 when it is older than --max-age, 1 when the layout changed (a
# partition added on the captured disk: compare still calls the disk
# intact, status does not), 2 when there is no good capture (an empty
# directory, one whose only capture is damaged). A damaged newer capture is
# passed over for the older good one.
. "$(dirname "$0")/lib"
lb_need_root
set -euo pipefail
lb_workdir
ops_disk
caps=$LB_WORK/caps

st() { # EXPECTED ARGS...: status exits EXPECTED
	local want=$1 rc=0
	shift
	"$LIFEBOAT" status "$@" >"$LB_WORK/out" 2>"$LB_WORK/err" || rc=$?
	[ "$rc" = "$want" ] || lb_fail "status $* exited $rc, not $want: $(cat "$LB_WORK/out" "$LB_WORK/err")"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <"$LB_WORK/out"; }

first=$("$LIFEBOAT" capture --into "$caps" --disk "$OPS_DISK" --data image 2>/dev/null)
second=$("$LIFEBOAT" capture --into "$caps" --disk "$OPS_DISK" --data image 2>/dev/null)

# fresh
st 0 "$caps"
grep -q '^status: *fresh' "$LB_WORK/out" || lb_fail "status does not say fresh: $(cat "$LB_WORK/out")"
st 0 --json "$caps"
[ "$(field status)" = fresh ] && [ "$(field capture)" = "$second" ] && [ "$(field layout_matches)" = True ] ||
	lb_fail "status --json: $(cat "$LB_WORK/out")"
# one capture directory, not a directory of generations
st 0 "$first"
echo "ok fresh: 0"

# stale
sleep 1
st 1 --max-age 0.00001 "$caps"
grep -q '^status: *stale' "$LB_WORK/out" || lb_fail "status does not say stale: $(cat "$LB_WORK/out")"
st 1 --json --max-age 0.00001 "$caps"
[ "$(field status)" = stale ] || lb_fail "status --json does not say stale"
st 2 --max-age soon "$caps"
echo "ok stale: 1"

# a damaged newest capture: the older good one counts
data=$(ls "$second"/*.data | head -n1)
printf 'X' | dd of="$data" bs=1 seek=100 conv=notrunc status=none
st 0 --json "$caps"
[ "$(field capture)" = "$first" ] || lb_fail "status took $(field capture), not the older good $first"
grep -q "$second" "$LB_WORK/err" || lb_fail "status does not say the newest capture is damaged"
"$LIFEBOAT" list "$caps" >"$LB_WORK/list" 2>/dev/null
grep "$(basename "$second")" "$LB_WORK/list" | grep -q 'damaged *no' ||
	lb_fail "list does not show the damaged capture: $(cat "$LB_WORK/list")"
echo "ok a damaged newest capture is passed over"

# the layout changed: a partition added in the free space
printf 'start=90112, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
	sfdisk -q --append --no-reread --no-tell-kernel "$OPS_DISK"
rc=0; "$LIFEBOAT" compare "$first" >/dev/null 2>&1 || rc=$?
echo "(compare of the grown disk exits $rc)"
st 1 --json "$caps"
[ "$(field status)" = changed ] || lb_fail "status --json does not say changed: $(cat "$LB_WORK/out")"
grep -q 'partition 2 added' "$LB_WORK/out" || lb_fail "status does not say what changed: $(cat "$LB_WORK/out")"
st 1 "$caps"
grep -q '^layout: *changed: disk0: partition 2 added' "$LB_WORK/out" ||
	lb_fail "status does not say what changed: $(cat "$LB_WORK/out")"
echo "ok layout changed: 1"

# no good capture
mkdir "$LB_WORK/empty"
st 2 "$LB_WORK/empty"
st 2 --json "$LB_WORK/empty"
[ "$(field status)" = none ] || lb_fail "status --json of an empty directory: $(cat "$LB_WORK/out")"
st 2 "$LB_WORK/missing"
mkdir "$LB_WORK/bad"
cp -a "$second" "$LB_WORK/bad/"
st 2 "$LB_WORK/bad"
echo "ok no good capture: 2"
