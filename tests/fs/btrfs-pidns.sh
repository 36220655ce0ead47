#!/usr/bin/env bash
# A live btrfs capture's snapshots are safe from a capture running in
# another PID namespace (a container sharing the filesystem, or the host
# seen from one), where its PID means nothing:
#   (1) a capture on the host, stopped (SIGSTOP) while it holds its
#       snapshots; a capture in a new PID namespace runs to the end and
#       leaves them alone; the first, continued, succeeds;
#   (2) the same with both in PID namespaces of their own, where both are
#       PID 1: the second is not refused for a snapshot name the first
#       holds, and leaves the first's alone;
#   (3) a capture stopped, then killed (SIGKILL), and an older lifeboat's
#       leftover (.lifeboat-snap.<dead pid>.5, no tag): the next capture,
#       in a PID namespace of its own, removes both and says so.
# Each capture has its own LIFEBOAT_LOCK, as in a container. Fails with a
# lifeboat that tells a running capture by its PID (kill(pid, 0)): in (1)
# the second removes the first's snapshots, in (2) it is refused
# ("File exists").
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs unshare ps; do
	command -v $t >/dev/null || {
		echo "SKIP: $(lb_name): needs $t"
		exit 77
	}
done
unshare --pid --fork --mount-proc true 2>/dev/null || {
	echo "SKIP: $(lb_name): cannot make a PID namespace here"
	exit 77
}
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
M=$LB_WORK/m
mkdir "$M"
stopped=
cleanup() {
	# (a capture left stopped by a failure goes on, and is waited for)
	if [ -n "$stopped" ]; then
		kill -CONT "$stopped" 2>/dev/null || true
		wait 2>/dev/null || true
	fi
	lb_cleanup
}
trap cleanup EXIT

dev=$(fx_attach "$LB_WORK/disk.img" 400M)
sfdisk -q --no-reread --no-tell-kernel "$dev" <<'T'
label: gpt
size=300MiB
T
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.btrfs -q -f "${dev}p1" >/dev/null
mount -t btrfs "${dev}p1" "$M"
btrfs -q subvolume create "$M/home" >/dev/null
mkdir "$M/home/bulk"
# enough that a capture is still reading when it is stopped
for i in $(seq 1 60); do
	head -c 1M /dev/urandom >"$M/home/bulk/f$i"
done
echo top >"$M/top"

snaps() { ls -A "$M" | grep '^\.lifeboat-snap\.' || true; }

# capture NAME [unshare]: a capture of the disk into $LB_WORK/NAME, with a
# lock of its own, in a PID namespace of its own with "unshare"
capture() {
	local name=$1 ns=${2:-}
	export LIFEBOAT_DEBUG=btrfs
	if [ -n "$ns" ]; then
		LIFEBOAT_LOCK=$LB_WORK/lock-$name unshare --pid --fork --mount-proc \
			"$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/$name"
	else
		LIFEBOAT_LOCK=$LB_WORK/lock-$name \
			"$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/$name"
	fi
}

# the first lifeboat process below PID (the job, unshare, its child)
descendants() {
	local p
	for p in $(ps -o pid= --ppid "$1"); do
		echo "$p"
		descendants "$p"
	done
}
lifeboat_of() {
	local p
	for p in $(descendants "$1"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = lifeboat ]; then
			echo "$p"
			return
		fi
	done
}

# start_stopped NAME [unshare]: a capture started in the background and
# stopped once it holds snapshots: $stopped its lifeboat's PID (here),
# $job the background job, $held its snapshots. Tried again when it ended
# before it could be stopped.
start_stopped() {
	local name=$1 ns=${2:-} try pid state
	for try in 1 2 3; do
		rm -rf "${LB_WORK:?}/$name"
		capture "$name" "$ns" >"$LB_WORK/$name.out" 2>&1 &
		job=$!
		pid=
		for _ in $(seq 1 600); do
			if [ -n "$(snaps)" ]; then
				pid=$(lifeboat_of "$job")
				[ -n "$pid" ] && kill -STOP "$pid" 2>/dev/null && break
				pid=
			fi
			kill -0 "$job" 2>/dev/null || break
			sleep 0.05
		done
		if [ -n "$pid" ]; then
			stopped=$pid
			for _ in $(seq 1 200); do
				state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo gone)
				[ "$state" = T ] || [ "$state" = gone ] && break
				sleep 0.05
			done
			held=$(snaps)
			[ "$state" = T ] && [ -n "$held" ] && return 0
			kill -CONT "$pid" 2>/dev/null || true
			stopped=
		fi
		wait "$job" 2>/dev/null || true
	done
	lb_fail "$name: no capture could be stopped while it held snapshots"
}

# go_on NAME: the stopped capture continued, and it must succeed
go_on() {
	local name=$1 rc=0
	kill -CONT "$stopped"
	wait "$job" || rc=$?
	stopped=
	[ "$rc" -eq 0 ] || lb_fail "$name, continued: exit $rc: $(cat "$LB_WORK/$name.out")"
	grep -q 'source="btrfs-snapshot"' "$LB_WORK/$name/manifest.xml" ||
		lb_fail "$name did not read from snapshots"
}

# others_leave NAME [unshare]: a capture run while the stopped one holds
# $held: it must succeed and leave every one of them
others_leave() {
	local name=$1 ns=${2:-} rc=0 s
	capture "$name" "$ns" >"$LB_WORK/$name.out" 2>&1 || rc=$?
	for s in $held; do
		[ -d "$M/$s" ] || lb_fail "$name removed $s, the snapshot of a running capture: $(cat "$LB_WORK/$name.out")"
	done
	[ "$rc" -eq 0 ] || lb_fail "$name: exit $rc: $(cat "$LB_WORK/$name.out")"
	grep -q 'removed the snapshot' "$LB_WORK/$name.out" &&
		lb_fail "$name says it removed a snapshot: $(cat "$LB_WORK/$name.out")"
	grep -q 'another capture of this btrfs runs' "$LB_WORK/$name.out" ||
		lb_fail "$name does not say (debug) why it removed nothing: $(cat "$LB_WORK/$name.out")"
	return 0
}

# (1) the host's capture stopped, one in a container runs
start_stopped cap-a
echo "capture a (pid $stopped, here) stopped, holding: $(echo $held)"
others_leave cap-b unshare
go_on cap-a
[ -z "$(snaps)" ] || lb_fail "snapshots left: $(snaps)"
echo "ok a capture in another PID namespace leaves the running one's snapshots, which then succeeds"

# (2) both in PID namespaces of their own: both PID 1
start_stopped cap-c unshare
echo "capture c (pid $stopped here, 1 in its namespace) stopped, holding: $(echo $held)"
others_leave cap-d unshare
go_on cap-c
[ -z "$(snaps)" ] || lb_fail "snapshots left: $(snaps)"
echo "ok two captures with one PID in two namespaces run side by side"

# (3) a capture killed, and an older lifeboat's leftover of a dead process
start_stopped cap-e
killed=$stopped
kill -KILL "$killed"
wait "$job" 2>/dev/null || true
stopped=
btrfs -q subvolume snapshot -r "$M" "$M/.lifeboat-snap.$killed.5" >/dev/null
left=$(snaps)
echo "capture e (pid $killed) killed; left: $(echo $left)"
rc=0
capture cap-f unshare >"$LB_WORK/cap-f.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "the capture after the kill: exit $rc: $(cat "$LB_WORK/cap-f.out")"
for s in $left; do
	grep -q "removed the snapshot $s," "$LB_WORK/cap-f.out" ||
		lb_fail "no word of removing $s: $(cat "$LB_WORK/cap-f.out")"
done
[ -z "$(snaps)" ] || lb_fail "snapshots still there: $(snaps)"
if grep -q 'lifeboat-snap' "$LB_WORK/cap-f/manifest.xml"; then
	lb_fail "a snapshot recorded as a subvolume: $(grep lifeboat-snap "$LB_WORK/cap-f/manifest.xml")"
fi
echo "ok a killed capture's snapshots and an older lifeboat's leftover removed by the next"
