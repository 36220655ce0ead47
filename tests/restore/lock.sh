#!/usr/bin/env bash
# One lifeboat that writes at a time (issue 16). A real restore holding the
# lock (stopped with SIGSTOP once it has it): a second restore, a capture
# and a drill each refuse at once, exit 1, naming it ("another lifeboat
# restore (pid N) is running"), and write nothing (the disks' bytes, no
# capture directory, no drill work file); a dry run still plans. The lock
# held by flock(1) from a shell: refused too, naming flock's pid. The first
# restore, let go on, finishes; once it has ended (or was killed), the lock
# is free again. Last, the machine's own lock (/run/lifeboat.lock, no
# LIFEBOAT_LOCK): capture refuses while flock(1) holds it.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
command -v flock >/dev/null || { echo "SKIP: $(lb_name): needs flock(1)"; exit 77; }
lb_workdir
lock=$LIFEBOAT_LOCK
lb_build_layout gpt-server >/dev/null
mapfile -t disks <"$LB_WORK/disks"
for d in "${disks[@]}"; do lb_new_disk_id "$d"; done
"$LIFEBOAT" capture --output "$LB_WORK/cap" "${disks[@]/#/--disk=}" >/dev/null 2>&1 ||
	lb_fail "capture failed"
lb_wipe "${disks[@]}" 2>/dev/null
lb_guard "$LB_WORK/cap"

# holder PID: the pid /proc/locks gives for the flock on $lock (or nothing)
holder() {
	local ino
	ino=$(stat -c %i "$lock" 2>/dev/null) || return 0
	awk -v ino="$ino" '$2 == "FLOCK" { split($6, f, ":"); if (f[3] == ino) print $5 }' /proc/locks
}

# refused WHAT WANT_TEXT COMMAND...: exits 1 at once, saying WANT_TEXT
refused() {
	local what=$1 want=$2 rc=0 start end
	shift 2
	start=$(date +%s)
	"$@" >"$LB_WORK/out" 2>&1 || rc=$?
	end=$(date +%s)
	[ "$rc" = 1 ] || { cat "$LB_WORK/out"; lb_fail "$what: exit $rc, expected 1"; }
	grep -qF -- "$want" "$LB_WORK/out" || {
		cat "$LB_WORK/out"
		lb_fail "$what: does not say '$want'"
	}
	[ $((end - start)) -le 5 ] || lb_fail "$what: took $((end - start)) s to refuse"
}

# ---- a restore holds it
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/first.out" 2>&1 &
first=$!
for _ in $(seq 1 1000); do
	[ "$(holder)" = "$first" ] && break
	kill -0 "$first" 2>/dev/null || break
	sleep 0.01
done
kill -STOP "$first" 2>/dev/null || lb_fail "the first restore ended before it could be stopped"
[ "$(holder)" = "$first" ] || lb_fail "the first restore does not hold $lock"
lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.before"
msg="another lifeboat restore (pid $first) is running"
refused "second restore" "$msg" "$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap"
refused "capture" "$msg" "$LIFEBOAT" capture --output "$LB_WORK/cap2" "${disks[@]/#/--disk=}"
[ ! -e "$LB_WORK/cap2" ] || lb_fail "the refused capture made $LB_WORK/cap2"
ls -a "$LB_WORK" | grep -q '\.cap2\.partial' && lb_fail "the refused capture left a partial capture"
mkdir "$LB_WORK/drill"
refused "drill" "$msg" "$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap"
[ -z "$(ls -A "$LB_WORK/drill")" ] || lb_fail "the refused drill wrote into its work dir"
"$LIFEBOAT" restore --dry-run "$LB_WORK/cap" >/dev/null 2>&1 ||
	lb_fail "a dry run is refused while a restore runs (it writes nothing: it needs no lock)"
lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.after"
diff -u "$LB_WORK/sums.before" "$LB_WORK/sums.after" || lb_fail "a refused command wrote a disk"
kill -CONT "$first"
rc=0
wait "$first" || rc=$?
[ "$rc" = 0 ] || { cat "$LB_WORK/first.out"; lb_fail "the first restore, let go on, exit $rc"; }
[ -z "$(holder)" ] || lb_fail "the lock is still held after the restore ended"
echo "ok: a second restore, a capture and a drill refused while a restore ran"

# ---- killed, it lets go
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >/dev/null 2>&1 &
first=$!
for _ in $(seq 1 1000); do
	[ "$(holder)" = "$first" ] && break
	kill -0 "$first" 2>/dev/null || break
	sleep 0.01
done
kill -KILL "$first" 2>/dev/null || true
wait "$first" 2>/dev/null || true
"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || {
	cat "$LB_WORK/out"
	lb_fail "a restore after a killed one failed"
}
echo "ok: a killed restore left the lock free"

# ---- flock(1) holds it
flock "$lock" sleep 30 &
fl=$!
for _ in $(seq 1 500); do [ -n "$(holder)" ] && break; sleep 0.01; done
pid=$(holder)
[ -n "$pid" ] || lb_fail "flock(1) did not take $lock"
lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.before"
refused "restore under flock(1)" "(pid $pid)" "$LIFEBOAT" restore --yes "$LB_WORK/cap"
refused "capture under flock(1)" "(pid $pid)" "$LIFEBOAT" capture --output "$LB_WORK/cap3" \
	"${disks[@]/#/--disk=}"
[ ! -e "$LB_WORK/cap3" ] || lb_fail "the refused capture made $LB_WORK/cap3"
lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.after"
diff -u "$LB_WORK/sums.before" "$LB_WORK/sums.after" || lb_fail "a refused command wrote a disk"
kill "$fl"
wait "$fl" 2>/dev/null || true
echo "ok: restore and capture refused while flock(1) held the lock"

# ---- the machine's lock
if [ -d /run ]; then
	flock /run/lifeboat.lock sleep 10 &
	fl=$!
	for _ in $(seq 1 500); do
		grep -q " FLOCK .* $fl " /proc/locks && break
		sleep 0.01
	done
	rc=0
	env -u LIFEBOAT_LOCK "$LIFEBOAT" capture --output "$LB_WORK/cap4" "${disks[@]/#/--disk=}" \
		>"$LB_WORK/out" 2>&1 || rc=$?
	kill "$fl"
	wait "$fl" 2>/dev/null || true
	[ "$rc" = 1 ] && grep -qF "/run/lifeboat.lock" "$LB_WORK/out" || {
		cat "$LB_WORK/out"
		lb_fail "capture with /run/lifeboat.lock held: exit $rc"
	}
	[ ! -e "$LB_WORK/cap4" ] || lb_fail "the refused capture made $LB_WORK/cap4"
	echo "ok: /run/lifeboat.lock is the lock without LIFEBOAT_LOCK"
fi
