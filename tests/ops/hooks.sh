#!/usr/bin/env bash
# Hooks (issue 15): pre- and post-capture programs run in the order the
# configuration gives, with LIFEBOAT_CAPTURE and LIFEBOAT_PHASE and no
# arguments, through no shell (a path with spaces, quotes, $(...) and ;
# runs as it is, and nothing in its name is executed); their exit status and
# output in the capture's log; a hanging pre-capture hook killed at
# hook-timeout (with what it started) and the capture failed; a failing
# pre-capture hook stops the capture before anything is written; a failing
# post-capture hook leaves the capture in place (exit 1), and 'lifeboat
# hooks run' runs the post-capture hooks again.
. "$(dirname "$0")/lib"
lb_need_root
set -euo pipefail
lb_workdir
ops_disk
caps=$LB_WORK/caps
order=$LB_WORK/order
hd="$LB_WORK/hook dir"
mkdir -p "$hd"

# hook FILE [BODY]: an executable hook script that records its tag (FILE,
# or pre1 for the odd one), phase, capture and argument count in $order,
# then runs BODY
hook() {
	local path="$hd/$1" tag=$1
	case $tag in pre\ 1*) tag=pre1 ;; esac
	printf '#!/bin/sh\necho "%s $LIFEBOAT_PHASE $LIFEBOAT_CAPTURE $#" >>"%s"\necho "output of %s"\n%s\n' \
		"$tag" "$order" "$tag" "${2:-}" >"$path"
	chmod 0755 "$path"
	printf '%s\n' "$path"
}
# run from $LB_WORK: a shell given this name would make $LB_WORK/pwned
cd "$LB_WORK"
pre1=$(hook "pre 1 \$(touch pwned);'q' \"x\" & y")
pre2=$(hook pre2)
post1=$(hook post1)
post2=$(hook post2)
conf=$LB_WORK/lifeboat.conf
cat >"$conf" <<EOF
into = $caps
disk = $OPS_DISK
data = none
pre-capture = $pre1
pre-capture = $pre2
post-capture = $post1
post-capture = $post2
hook-timeout = 20
EOF
chmod 0600 "$conf"

# (a) order, environment, no arguments, no shell, the log
out=$("$LIFEBOAT" capture --config "$conf" 2>"$LB_WORK/err") ||
	lb_fail "capture with hooks failed: $(cat "$LB_WORK/err")"
expected="pre1 pre-capture $out 0
pre2 pre-capture $out 0
post1 post-capture $out 0
post2 post-capture $out 0"
[ "$(cat "$order")" = "$expected" ] || lb_fail "the hooks ran as
$(cat "$order")
not
$expected"
[ ! -e "$LB_WORK/pwned" ] || lb_fail "a shell saw the hook's path"
log=$out/capture.log
for h in "$pre1" "$pre2" "$post1" "$post2"; do
	grep -qF "capture $h: exit 0" "$log" || lb_fail "the log has no exit status for $h: $(cat "$log")"
	grep -qF "	output of $(basename "$h" | sed 's/^pre 1.*/pre1/')" "$log" || lb_fail "the log has no output of $h"
done
grep -q 'post-capture hooks: ok' "$log" || lb_fail "the log does not say the post-capture hooks passed"
echo "ok order, environment, no shell, log"

# (b) 'hooks run' runs the post-capture hooks again, on latest too
: >"$order"
"$LIFEBOAT" hooks run --config "$conf" "$caps/latest" >/dev/null 2>&1 || lb_fail "hooks run failed"
[ "$(cat "$order")" = "post1 post-capture $out 0
post2 post-capture $out 0" ] || lb_fail "hooks run ran: $(cat "$order")"
[ "$(grep -c 'post1: exit 0' "$log")" = 2 ] || lb_fail "hooks run did not log to the capture's log"
rc=0; "$LIFEBOAT" hooks run --config "$conf" "$LB_WORK" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || lb_fail "hooks run on a directory that is no capture exited $rc, not 2"
echo "ok hooks run"

# (c) a failing post-capture hook: the capture stays, exit 1, hooks run fixes it
hook post1 'exit 4' >/dev/null
: >"$order"
rc=0; out2=$("$LIFEBOAT" capture --config "$conf" 2>"$LB_WORK/err") || rc=$?
[ "$rc" = 1 ] || lb_fail "a failing post-capture hook: exit $rc, not 1"
[ -n "$out2" ] && [ "$(readlink "$caps/latest")" = "$(basename "$out2")" ] ||
	lb_fail "a failing post-capture hook undid the capture"
grep -q 'exit status 4' "$LB_WORK/err" || lb_fail "the failure does not say the exit status"
grep -q 'post2' "$order" && lb_fail "post2 ran after post1 failed"
"$LIFEBOAT" list "$caps" | grep "$(basename "$out2")" | grep -q 'post-capture hook failed' ||
	lb_fail "list does not show the failed hook"
hook post1 >/dev/null
"$LIFEBOAT" hooks run --config "$conf" "$out2" >/dev/null 2>&1 || lb_fail "hooks run after the fix failed"
"$LIFEBOAT" list "$caps" | grep "$(basename "$out2")" | grep -q ' ok ' ||
	lb_fail "list does not show the capture ok after hooks run"
echo "ok a failing post-capture hook"

# (d) a failing pre-capture hook stops the capture before anything is written
hook pre2 'exit 3' >/dev/null
snap=$(cd "$caps" && ls -A)
latest=$(readlink "$caps/latest")
: >"$order"
rc=0; "$LIFEBOAT" capture --config "$conf" >"$LB_WORK/out" 2>"$LB_WORK/err" || rc=$?
[ "$rc" = 1 ] || lb_fail "a failing pre-capture hook: exit $rc, not 1"
grep -q 'pre2: exit status 3' "$LB_WORK/err" || lb_fail "the failure does not name the hook: $(cat "$LB_WORK/err")"
grep -q 'output of pre2' "$LB_WORK/err" || lb_fail "the failing hook's output is not shown"
[ "$(cd "$caps" && ls -A)" = "$snap" ] || lb_fail "a failing pre-capture hook left something in $caps"
[ "$(readlink "$caps/latest")" = "$latest" ] || lb_fail "latest moved"
grep -q post "$order" && lb_fail "post-capture hooks ran after a failed pre-capture hook"
[ ! -s "$LB_WORK/out" ] || lb_fail "a failed capture printed a path"
echo "ok a failing pre-capture hook"

# (e) a hanging pre-capture hook is killed at hook-timeout, with its child
hook pre2 "sleep 1000 & echo \$! >$LB_WORK/child; echo \$\$ >$LB_WORK/hookpid; wait" >/dev/null
sed -i 's/^hook-timeout = .*/hook-timeout = 2/' "$conf"
start=$(date +%s)
rc=0; "$LIFEBOAT" capture --config "$conf" >/dev/null 2>"$LB_WORK/err" || rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 1 ] || lb_fail "a hanging pre-capture hook: exit $rc, not 1"
[ "$took" -lt 15 ] || lb_fail "a 2 s hook timeout took $took s"
grep -q 'still running after 2 s, killed' "$LB_WORK/err" || lb_fail "the timeout is not said: $(cat "$LB_WORK/err")"
for p in "$(cat "$LB_WORK/hookpid")" "$(cat "$LB_WORK/child")"; do
	for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then
		kill -KILL "$p"
		lb_fail "process $p of the timed-out hook is still running"
	fi
done
[ "$(cd "$caps" && ls -A)" = "$snap" ] || lb_fail "a timed-out pre-capture hook left something in $caps"
echo "ok a hanging pre-capture hook is killed"

# (f) a hook that is not there, or not executable
sed -i "s|^pre-capture = $pre2\$|pre-capture = $hd/missing|" "$conf"
rc=0; "$LIFEBOAT" capture --config "$conf" >/dev/null 2>"$LB_WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q 'cannot run .*/missing: No such file' "$LB_WORK/err" ||
	lb_fail "a missing hook: exit $rc, $(cat "$LB_WORK/err")"
echo "ok a missing hook"

# (g) one capture at a time into a directory: a second one while the first
# waits in its pre-capture hook fails at once, and the first goes on
sed -i "s|^pre-capture = $hd/missing\$|pre-capture = $pre2|; s/^hook-timeout = .*/hook-timeout = 30/" "$conf"
hook pre2 "sleep 3" >/dev/null
"$LIFEBOAT" capture --config "$conf" >"$LB_WORK/first" 2>/dev/null &
first=$!
for _ in $(seq 50); do grep -q '^pre2 ' "$order" 2>/dev/null && break; sleep 0.1; done
: >"$order"
sleep 0.5
rc=0; "$LIFEBOAT" capture --config "$conf" >/dev/null 2>"$LB_WORK/err" || rc=$?
# (the machine-wide lock, or the directory's, whichever is first)
[ "$rc" = 1 ] && grep -q 'another capture into\|another lifeboat capture (pid [0-9]*) is running' "$LB_WORK/err" ||
	lb_fail "a second capture into the same directory: exit $rc, $(cat "$LB_WORK/err")"
wait "$first" || lb_fail "the first capture failed beside the second"
[ "$(readlink "$caps/latest")" = "$(basename "$(cat "$LB_WORK/first")")" ] || lb_fail "latest is not the first capture"
echo "ok one capture at a time"

# (h) pre-capture-failure = continue: a failing pre-capture hook is logged
# and said, the others still run, and the capture is made
hook pre2 'exit 5' >/dev/null
printf 'pre-capture-failure = continue\n' >>"$conf"
: >"$order"
out=$("$LIFEBOAT" capture --config "$conf" 2>"$LB_WORK/err") ||
	lb_fail "pre-capture-failure = continue: the capture failed: $(cat "$LB_WORK/err")"
grep -q 'pre2: exit status 5' "$LB_WORK/err" || lb_fail "the failing hook is not said: $(cat "$LB_WORK/err")"
grep -qF "capture $pre2: exit 5" "$out/capture.log" || lb_fail "the failing hook is not in the log"
[ "$(cut -d' ' -f1 "$order" | tr '\n' ' ')" = "pre1 pre2 post1 post2 " ] ||
	lb_fail "with continue the hooks ran as: $(cat "$order")"
echo "ok pre-capture-failure = continue"
