#!/usr/bin/env bash
# Generations (issue 15): captures --into a directory with --keep 2, three
# of them: two are left, latest points at the newest, each verifies. A
# capture that fails midway (its data file cannot be written: the directory
# is full) or is killed (SIGKILL while it writes its data) leaves every
# earlier capture and latest as they were and nothing that looks like a
# capture; the partial directory of the killed one is recognisable and the
# next run removes it.
. "$(dirname "$0")/lib"
lb_need_root
set -euo pipefail
lb_workdir
ops_disk 30
caps=$LB_WORK/caps

# (a) three captures, --keep 2
mkdir -p "$caps"
made=()
for i in 1 2 3; do
	out=$("$LIFEBOAT" capture --into "$caps" --keep 2 --disk "$OPS_DISK" --data none 2>"$LB_WORK/err") ||
		lb_fail "capture $i failed: $(cat "$LB_WORK/err")"
	[ -d "$out" ] || lb_fail "capture $i printed '$out', not a directory"
	[ "$(dirname "$out")" = "$caps" ] || lb_fail "capture $i went to $out, not into $caps"
	made+=("$(basename "$out")")
done
ops_only "$caps" "${made[1]}" "${made[2]}" latest
[ "$(readlink "$caps/latest")" = "${made[2]}" ] || lb_fail "latest -> $(readlink "$caps/latest"), not ${made[2]}"
for g in "${made[1]}" "${made[2]}"; do
	"$LIFEBOAT" verify "$caps/$g" >/dev/null || lb_fail "$g does not verify"
	grep -q ' verified: ' "$caps/$g/capture.log" || lb_fail "$g: its log does not say it verified"
done
grep -q "removed $caps/${made[0]}" "$caps/${made[2]}/capture.log" ||
	lb_fail "the log does not say ${made[0]} was removed"
"$LIFEBOAT" list --json "$caps" | python3 -c '
import json, sys
caps = json.load(sys.stdin)["captures"]
names = [c["name"] for c in caps]
assert names == sys.argv[1:], names
assert all(c["verified"] and c["result"] == "ok" for c in caps), caps
assert [c["latest"] for c in caps] == [False, True], caps
' "${made[1]}" "${made[2]}" || lb_fail "list --json does not show the two captures"
echo "ok three captures, two kept"

before=$(cd "$caps" && find . -mindepth 1 -path ./.lock -prune -o -printf '%p %s %T@\n' | sort)

# (b) a capture that fails midway: its data file does not fit. The
# generations move to a small tmpfs (the first captures fit, no data).
small=$LB_WORK/small
mkdir -p "$small"
mount -t tmpfs -o size=4m,mode=0700 lifeboat-test "$small"
for i in 1 2; do
	"$LIFEBOAT" capture --into "$small" --disk "$OPS_DISK" --data none >/dev/null 2>&1 ||
		lb_fail "capture $i into the small directory failed"
done
mapfile -t gens < <(cd "$small" && ls -d 2*)
latest=$(readlink "$small/latest")
snap=$(cd "$small" && find . -mindepth 1 -path ./.lock -prune -o -printf '%p %s %T@\n' | sort)
rc=0
"$LIFEBOAT" capture --into "$small" --keep 1 --disk "$OPS_DISK" --data image --compress none \
	>"$LB_WORK/out" 2>"$LB_WORK/err" || rc=$?
[ "$rc" = 1 ] || lb_fail "a capture that cannot write its data exited $rc, not 1"
grep -q 'No space left' "$LB_WORK/err" || lb_fail "the failure does not say why: $(cat "$LB_WORK/err")"
[ ! -s "$LB_WORK/out" ] || lb_fail "a failed capture printed a path: $(cat "$LB_WORK/out")"
ops_only "$small" "${gens[@]}" latest
[ "$(readlink "$small/latest")" = "$latest" ] || lb_fail "latest moved after a failed capture"
[ "$(cd "$small" && find . -mindepth 1 -path ./.lock -prune -o -printf '%p %s %T@\n' | sort)" = "$snap" ] ||
	lb_fail "a failed capture changed an earlier one"
for g in "${gens[@]}"; do
	"$LIFEBOAT" verify "$small/$g" >/dev/null || lb_fail "$g does not verify after a failed capture"
done
echo "ok a capture that fails midway leaves the others"

# (c) killed while it writes its data (30 MiB of random bytes at zstd 19)
"$LIFEBOAT" capture --into "$caps" --keep 1 --disk "$OPS_DISK" --data image --compress 19 \
	>/dev/null 2>&1 &
pid=$!
partial=
for _ in $(seq 600); do
	partial=$(cd "$caps" && ls -A | grep '\.partial\.' || true)
	[ -n "$partial" ] && [ -n "$(ls "$caps/$partial" | grep '\.data$' || true)" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.02
done
[ -n "$partial" ] || lb_fail "never saw the capture's partial directory"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
case $partial in .2*Z.partial.$pid.[0-9a-f]* | .2*Z-[0-9]*.partial.$pid.[0-9a-f]*) ;;
*) lb_fail "the partial directory '$partial' is not .NAME.partial.PID.TAG" ;;
esac
ops_only "$caps" "${made[1]}" "${made[2]}" latest "$partial"
after=$(cd "$caps" && find . -mindepth 1 -path ./.lock -prune -o -path "./$partial" -prune -o -printf '%p %s %T@\n' | sort)
[ "$before" = "$after" ] ||
	lb_fail "a killed capture changed an earlier one or latest"
[ "$("$LIFEBOAT" list --json "$caps" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["captures"]))')" = 2 ] ||
	lb_fail "list shows the killed capture"
"$LIFEBOAT" list "$caps" 2>&1 >/dev/null | grep -qF "$partial: a partial capture" ||
	lb_fail "list does not mention the partial directory"
"$LIFEBOAT" status "$caps" >/dev/null || lb_fail "status after a killed capture is not 0"
echo "ok a killed capture leaves the others"

# (d) the next run removes the partial directory (and a new latest link a
# run killed in its rename left), and keeps 1
ln -s "${made[1]}" "$caps/.latest.99999"
out=$("$LIFEBOAT" capture --into "$caps" --keep 1 --disk "$OPS_DISK" --data none 2>"$LB_WORK/err") ||
	lb_fail "the capture after the killed one failed: $(cat "$LB_WORK/err")"
grep -q 'partial capture' "$LB_WORK/err" || lb_fail "the next run does not say it removed the partial one"
ops_only "$caps" "$(basename "$out")" latest
"$LIFEBOAT" verify "$out" >/dev/null || lb_fail "the last capture does not verify"
echo "ok the next run cleans up"
