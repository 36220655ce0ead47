#!/usr/bin/env bash
# A capture's mount point (/tmp/lifeboat-mnt.PID.TAG) and partial directory
# (PARENT/.NAME.partial.PID.TAG) are safe from a capture running in another
# PID namespace (a container sharing /tmp and the capture's parent, or the
# host seen from one), where its PID means nothing:
#   (1) a capture on the host, stopped (SIGSTOP) while it reads a volume
#       mounted for it into its partial directory; a capture of the same
#       disk in a new PID namespace runs to the end (mounting the volume
#       for itself) and leaves both; one to the same destination, in
#       another, is refused (another capture to it runs) and leaves them
#       too; the first, continued, succeeds;
#   (2) the same with the first in a PID namespace of its own too (both
#       PID 1 where they run).
# Each capture has its own LIFEBOAT_LOCK, as in a container. Fails with a
# lifeboat that tells a running capture by its PID (kill(pid, 0)): in (1)
# the second removes the first's mount point (which detaches its mount)
# and the third its partial directory.
. "$(dirname "$0")/../ops/lib"
lb_need_root
set -euo pipefail
for t in unshare ps; do
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
# (enough that a capture is still reading when it is stopped)
ops_disk 30
out=$LB_WORK/out
mkdir "$out"

# capture NAME [unshare]: a capture of the disk's files into $out/NAME, with
# a lock of its own, in a PID namespace of its own with "unshare"
capture() {
	local name=$1 ns=${2:-}
	if [ -n "$ns" ]; then
		LIFEBOAT_LOCK=$LB_WORK/lock-$name-$RANDOM unshare --pid --fork --mount-proc \
			"$LIFEBOAT" capture --data archive --disk "$OPS_DISK" --output "$out/$name"
	else
		LIFEBOAT_LOCK=$LB_WORK/lock-$name-$RANDOM \
			"$LIFEBOAT" capture --data archive --disk "$OPS_DISK" --output "$out/$name"
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
	for p in "$1" $(descendants "$1"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = lifeboat ]; then
			echo "$p"
			return
		fi
	done
}

# a capture's partial directories
partials() { compgen -G "$out/.$1.partial.*" || true; }

# start_stopped NAME [unshare]: a capture started in the background and
# stopped while it has a volume mounted and its partial directory:
# $stopped its lifeboat's PID (here), $job the background job, $held what
# it holds. Tried again when it ended before it could be stopped.
start_stopped() {
	local name=$1 ns=${2:-} try pid state
	for try in 1 2 3 4 5; do
		rm -rf "${out:?}/$name"
		capture "$name" "$ns" >"$LB_WORK/$name.out" 2>&1 &
		job=$!
		pid=
		for _ in $(seq 1 1000); do
			[ -n "$pid" ] || pid=$(lifeboat_of "$job")
			if [ -n "$pid" ] && [ -n "$(partials "$name")" ] &&
				grep -q " /tmp/lifeboat-mnt\." "/proc/$pid/mountinfo" 2>/dev/null; then
				kill -STOP "$pid" 2>/dev/null && break
			fi
			kill -0 "$job" 2>/dev/null || break
			sleep 0.01
		done
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			stopped=$pid
			for _ in $(seq 1 200); do
				state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo gone)
				[ "$state" = T ] || [ "$state" = gone ] && break
				sleep 0.05
			done
			# (its mount point: still mounted in its mount namespace)
			held="$(partials "$name") $(grep -o " /tmp/lifeboat-mnt\.[^ ]*" "/proc/$pid/mountinfo" | tr -d ' ' || true)"
			if [ "$state" = T ] && [ -n "$(partials "$name")" ] &&
				grep -q " /tmp/lifeboat-mnt\." "/proc/$pid/mountinfo"; then
				return 0
			fi
			kill -CONT "$pid" 2>/dev/null || true
			stopped=
		fi
		wait "$job" 2>/dev/null || true
		echo "try $try: the capture could not be stopped with a volume mounted"
	done
	lb_fail "$name: no capture could be stopped with a volume mounted"
}

# survive WHO: every directory the stopped capture holds is there
survive() {
	local d
	for d in $held; do
		[ -d "$d" ] || lb_fail "$1 removed $d, held by a running capture"
	done
}

# go_on NAME: the stopped capture continued, and it must succeed
go_on() {
	local name=$1 rc=0
	kill -CONT "$stopped"
	wait "$job" || rc=$?
	stopped=
	[ "$rc" -eq 0 ] || lb_fail "$name, continued: exit $rc: $(cat "$LB_WORK/$name.out")"
	"$LIFEBOAT" verify "$out/$name" >"$LB_WORK/out.verify" 2>&1 ||
		lb_fail "$name does not verify: $(cat "$LB_WORK/out.verify")"
	[ -z "$(partials "$name")" ] || lb_fail "$name left $(partials "$name")"
}

# others NAME: while the stopped capture holds $held, a capture of the
# disk to another destination in a PID namespace of its own (it mounts the
# volume too, after clearing the mount points of captures gone) succeeds,
# and one to NAME's is refused; both leave what it holds
others() {
	local name=$1 rc=0
	capture "$name-b" unshare >"$LB_WORK/$name-b.out" 2>&1 || rc=$?
	survive "a capture in another PID namespace"
	[ "$rc" -eq 0 ] || lb_fail "$name-b: exit $rc: $(cat "$LB_WORK/$name-b.out")"
	rc=0
	capture "$name" unshare >"$LB_WORK/$name-c.out" 2>&1 || rc=$?
	survive "a capture to the same destination in another PID namespace"
	[ "$rc" -ne 0 ] || lb_fail "a capture to $out/$name while another runs succeeded"
	grep -q "another capture to $out/$name is running" "$LB_WORK/$name-c.out" ||
		lb_fail "the capture to $out/$name while another runs: $(cat "$LB_WORK/$name-c.out")"
	[ ! -e "$out/$name" ] || lb_fail "the refused capture made $out/$name"
}

# (1) the host's capture stopped, others in containers
start_stopped cap-a
echo "capture a (pid $stopped, here) stopped, holding: $(echo $held)"
others cap-a
go_on cap-a
echo "ok a capture in another PID namespace leaves the running one's mount point and partial directory, which then succeeds"

# (2) the first in a PID namespace too: PID 1, as the others
start_stopped cap-d unshare
echo "capture d (pid $stopped here, 1 in its namespace) stopped, holding: $(echo $held)"
others cap-d
go_on cap-d
echo "ok with one PID in two namespaces too"
