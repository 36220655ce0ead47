#!/usr/bin/env bash
# lifeboat capture as systemd runs it (issue 15, lifeboat-systemd(7)), with
# the service manager played by this test: $NOTIFY_SOCKET names an abstract
# socket the test listens on, $INVOCATION_ID is set, and $JOURNAL_STREAM
# names the file standard error goes to. A capture of a loop disk sends
# STATUS= for what it does, for its progress and, last, "capture complete:
# 1 disk and 1 volume in DIR"; its pre-capture hook does not see
# NOTIFY_SOCKET; a capture refused for a failing hook ends with "capture
# failed: ..." and its warning line carries the journal's priority prefix
# <4>. Without those variables nothing is sent and no line has a prefix.
. "$(dirname "$0")/lib"
lb_need_root
set -euo pipefail
lb_workdir
W=$LB_WORK
ops_disk 8
disk=$OPS_DISK

addr="@lifeboat-test-notify-$$"
# the service manager's end: every datagram, one a line
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b"\\n") + b"\n")
' "$addr" "$W/notify" &
lpid=$!
trap 'kill "$lpid" 2>/dev/null || true; lb_cleanup' EXIT
for _ in $(seq 100); do [ -e "$W/notify.ready" ] && break; sleep 0.1; done
[ -e "$W/notify.ready" ] || lb_fail "the test's notify socket did not come up"

cat >"$W/hook" <<EOF
#!/bin/sh
env >"$W/hook-env"
[ ! -e "$W/fail" ]
EOF
chmod 0755 "$W/hook"
cat >"$W/lifeboat.conf" <<EOF
into = $W/caps
disk = $disk
data = image
pre-capture = $W/hook
EOF
chmod 0600 "$W/lifeboat.conf"

# as systemd: stderr to a file that JOURNAL_STREAM names
as_service() {
	: >"$W/err"
	NOTIFY_SOCKET=$addr INVOCATION_ID=0123456789abcdef0123456789abcdef \
		JOURNAL_STREAM=$(stat -c '%d:%i' "$W/err") LIFEBOAT_PROGRESS_EVERY=0 \
		"$LIFEBOAT" capture --config "$W/lifeboat.conf" 2>>"$W/err"
}

# settles: the last datagram is in the file
notify_wait() {
	for _ in $(seq 50); do grep -q "$1" "$W/notify" 2>/dev/null && return 0; sleep 0.1; done
	cat "$W/notify" 2>/dev/null
	lb_fail "no STATUS= matching '$1' arrived"
}

out=$(as_service) || { cat "$W/err"; lb_fail "the capture failed"; }
notify_wait '^STATUS=capture complete'
cat "$W/notify"
tail -n 1 "$W/notify" | grep -qx "STATUS=capture complete: 1 disk and 1 volume in $out" ||
	lb_fail "the last status is not the capture's end"
grep -q '^STATUS=.*MiB' "$W/notify" || lb_fail "no progress went out as STATUS="
! grep -v '^STATUS=' "$W/notify" || lb_fail "something other than STATUS= was sent"
grep -q '^LIFEBOAT_PHASE=pre-capture$' "$W/hook-env" || lb_fail "the hook did not run"
! grep -q '^NOTIFY_SOCKET=' "$W/hook-env" || lb_fail "the hook saw NOTIFY_SOCKET"
! grep -q '^<' "$W/err" || lb_fail "a line without a priority to give has a prefix"

# a failing pre-capture hook: the status says so; the warning is <4>
: >"$W/notify"
touch "$W/fail"
rc=0
as_service >/dev/null || rc=$?
[ "$rc" = 1 ] || lb_fail "the capture with a failing hook exited $rc"
notify_wait '^STATUS=capture failed'
cat "$W/err"
tail -n 1 "$W/notify" | grep -q '^STATUS=capture failed: capture: .*pre-capture.*nothing captured' ||
	lb_fail "the last status does not say why the capture failed"
grep -q '^<4>lifeboat: capture: .*pre-capture' "$W/err" || lb_fail "the warning has no <4> for the journal"

# not run by systemd: nothing sent, no prefix
rm -f "$W/fail"
: >"$W/notify"
"$LIFEBOAT" capture --config "$W/lifeboat.conf" >/dev/null 2>"$W/err" || { cat "$W/err"; lb_fail "capture failed"; }
touch "$W/fail"
"$LIFEBOAT" capture --config "$W/lifeboat.conf" >/dev/null 2>"$W/err" && lb_fail "capture with a failing hook succeeded"
sleep 0.5
[ ! -s "$W/notify" ] || { cat "$W/notify"; lb_fail "sent to NOTIFY_SOCKET when not run by systemd"; }
! grep -q '^<' "$W/err" || lb_fail "a prefix outside systemd"
grep -q '^lifeboat: capture: .*pre-capture' "$W/err" || lb_fail "the warning is missing"
echo "ok: STATUS= for steps, progress and the end; <4> on the journal's stream; nothing outside systemd"
