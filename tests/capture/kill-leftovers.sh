#!/usr/bin/env bash
# What a lifeboat killed with SIGKILL (the process alone, not its group)
# leaves, and who clears it (issue 16):
# (a) the programs it runs die with it (PR_SET_PDEATHSIG): a pre-capture
#     hook that sleeps is gone once lifeboat is;
# (b) its mount points /tmp/lifeboat-mnt.PID.TAG (its mounts went with its
#     private mount namespace; no lock on them held any more) are removed,
#     empty, by the next lifeboat that mounts something, and so is an
#     older lifeboat's (lifeboat-mnt.PID.XXXXXX, no lock) of a dead PID;
# (c) its partial capture PARENT/.NAME.partial.PID.TAG is removed by the
#     next capture --output PARENT/NAME, and so are one with a tag held by
#     nobody (whatever its PID) and an older lifeboat's (.NAME.partial.PID,
#     no lock) of a dead PID; an older one of a running process, and one
#     of another name, stay. (tests/fs/btrfs-pidns.sh: one held by a
#     capture in another PID namespace stays.)
. "$(dirname "$0")/../ops/lib"
lb_need_root
set -euo pipefail
lb_workdir
ops_disk 30
hook_pid=
old_mnt=
cleanup() {
	[ -z "$hook_pid" ] || kill -9 "$hook_pid" 2>/dev/null || true
	[ -z "$old_mnt" ] || rmdir "$old_mnt" 2>/dev/null || true
	lb_cleanup
}
trap cleanup EXIT
out=$LB_WORK/out
mkdir "$out"

# wait_for TEST...: up to 60 s for the command to succeed
wait_for() {
	local _
	for _ in $(seq 1200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! alive "$1"; }

# (a) a hook that sleeps, its PID in a file (exec: the hook is the sleep)
hook=$LB_WORK/hook
printf '#!/bin/sh\necho $$ >"%s"\nexec sleep 600\n' "$LB_WORK/hook.pid" >"$hook"
chmod 0755 "$hook"
conf=$LB_WORK/lifeboat.conf
printf 'pre-capture = %s\nhook-timeout = 900\n' "$hook" >"$conf"
chmod 0600 "$conf"
"$LIFEBOAT" capture --config "$conf" --data none --disk "$OPS_DISK" --output "$out/hooked" \
	>/dev/null 2>&1 &
lb=$!
wait_for test -s "$LB_WORK/hook.pid" || lb_fail "the hook did not start"
hook_pid=$(cat "$LB_WORK/hook.pid")
alive "$hook_pid" || lb_fail "the hook is not running"
kill -9 "$lb"
wait "$lb" 2>/dev/null || true
wait_for gone "$hook_pid" ||
	lb_fail "the hook (pid $hook_pid) still runs after lifeboat was killed: $(ps -o pid,ppid,cmd -p "$hook_pid" | tail -1)"
hook_pid=
echo "ok (a): the hook died with lifeboat"

# (b), (c): a capture killed while it reads a volume mounted for it
# (--data archive of an unmounted ext4); tried again when it finished first
killed=
for try in 1 2 3 4 5; do
	rm -rf "${out:?}/cap"
	"$LIFEBOAT" capture --data archive --disk "$OPS_DISK" --output "$out/cap" >/dev/null 2>&1 &
	lb=$!
	if wait_for eval 'compgen -G "/tmp/lifeboat-mnt.$lb.*" >/dev/null || ! alive $lb' &&
		alive "$lb" && kill -9 "$lb" 2>/dev/null; then
		wait "$lb" 2>/dev/null || true
		killed=$lb
		break
	fi
	wait "$lb" 2>/dev/null || true
	echo "try $try: the capture ended before it was seen mounting"
done
[ -n "$killed" ] || lb_fail "no capture was killed while a volume was mounted for it"
mnts=$(compgen -G "/tmp/lifeboat-mnt.$killed.*" || true)
[ -n "$mnts" ] || lb_fail "the killed capture (pid $killed) left no /tmp/lifeboat-mnt.$killed.*: nothing to show"
for m in $mnts; do
	[ -d "$m" ] && [ -z "$(ls -A "$m")" ] || lb_fail "$m is not an empty directory"
	! mountpoint -q "$m" || lb_fail "$m is still a mount point here"
done
for m in $mnts; do
	case $m in /tmp/lifeboat-mnt.$killed.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
	*) lb_fail "$m is not /tmp/lifeboat-mnt.PID.TAG" ;;
	esac
done
partial=$(compgen -G "$out/.cap.partial.$killed.*" || true)
[ -n "$partial" ] || lb_fail "the killed capture left no $out/.cap.partial.$killed.TAG: $(ls -A "$out")"
echo "killed capture $killed left: $(echo $mnts) $partial"
# an older lifeboat's mount point and partial of a dead process; a partial
# with a tag that nobody holds, of a running process (this shell); an
# older one of this shell; one of another name, its process gone too
old_mnt=/tmp/lifeboat-mnt.$killed.Ab3xYz
mkdir "$old_mnt"
mkdir "$out/.cap.partial.$killed" "$out/.cap.partial.$$.0123abcd" "$out/.cap.partial.$$" \
	"$out/.other.partial.$killed"

"$LIFEBOAT" capture --data archive --disk "$OPS_DISK" --output "$out/cap" >"$LB_WORK/log" 2>&1 ||
	lb_fail "the capture after the kill failed: $(cat "$LB_WORK/log")"
for p in "$partial" "$out/.cap.partial.$killed" "$out/.cap.partial.$$.0123abcd"; do
	[ ! -e "$p" ] || lb_fail "$p is still there"
done
grep -q "removed 3 partial captures an interrupted run left in $out" "$LB_WORK/log" ||
	lb_fail "the capture did not say it removed the partials: $(cat "$LB_WORK/log")"
[ -d "$out/.cap.partial.$$" ] || lb_fail "the older partial of a running process ($$) was removed"
[ -d "$out/.other.partial.$killed" ] || lb_fail "the partial of another name was removed"
echo "ok (c): the dead capture's partial, one nobody holds and an older one of a dead process removed, the others kept"
for m in $mnts $old_mnt; do
	[ ! -e "$m" ] || lb_fail "$m is still there after the next lifeboat mounted a volume"
done
old_mnt=
echo "ok (b): the dead capture's mount points and an older one of a dead process removed"
