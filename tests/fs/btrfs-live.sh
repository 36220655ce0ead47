#!/usr/bin/env bash
# lifeboat's VSS for btrfs. (1) A btrfs captured while a writer renames a
# file back and forth and appends to another, in a subvolume and in the
# top level, with the capture directory inside the btrfs itself: restored,
# every tree is one moment (the renamed file exactly once, the appended
# file whole lines), the capture directory is not in its own capture, and
# no snapshot is left behind. (2) A capture killed (SIGKILL) while it reads
# from its snapshots leaves them; the next capture removes them and does
# not record them as subvolumes (tests/fs/btrfs-pidns.sh: a running
# capture's are left alone, in any PID namespace).
# lb-timeout: 900
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs; do
	command -v $t >/dev/null || {
		echo "SKIP: $(lb_name): needs $t"
		exit 77
	}
done
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
M=$LB_WORK/m
mkdir "$M"
writer=
stop_writer() {
	if [ -n "$writer" ]; then
		touch "$LB_WORK/stop"
		wait "$writer" 2>/dev/null || true
		writer=
	fi
}
trap 'stop_writer; lb_cleanup' EXIT

dev=$(fx_attach "$LB_WORK/disk.img" 600M)
sfdisk -q --no-reread --no-tell-kernel "$dev" <<'T'
label: gpt
size=500MiB
T
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.btrfs -q -f "${dev}p1" >/dev/null
mount -t btrfs "${dev}p1" "$M"
btrfs -q subvolume create "$M/home" >/dev/null
mkdir "$M/home/bulk" "$M/home/captures"
# enough files that the capture takes a while
for i in $(seq 1 60); do
	head -c 1M /dev/urandom >"$M/home/bulk/f$i"
done
echo content >"$M/home/moving.a"
echo content >"$M/top.a"
: >"$M/home/log"

# (1) the writer runs through the whole capture
(
	n=0
	while [ ! -e "$LB_WORK/stop" ]; do
		mv "$M/home/moving.a" "$M/home/moving.b"
		mv "$M/top.a" "$M/top.b"
		n=$((n + 1))
		echo "line $n" >>"$M/home/log"
		mv "$M/home/moving.b" "$M/home/moving.a"
		mv "$M/top.b" "$M/top.a"
	done
) &
writer=$!
sleep 1
rc=0
"$LIFEBOAT" capture --data auto --disk "$dev" --output "$M/home/captures/cap" >"$LB_WORK/out" 2>&1 || rc=$?
stop_writer
[ "$rc" -eq 0 ] || lb_fail "capture: exit $rc: $(cat "$LB_WORK/out")"
[ "$(wc -l <"$M/home/log")" -gt 2 ] || lb_fail "the writer did not run during the capture"
if btrfs subvolume list -a "$M" | grep -q lifeboat-snap; then
	lb_fail "a snapshot was left: $(btrfs subvolume list -a "$M")"
fi
grep -q 'source="btrfs-snapshot"' "$M/home/captures/cap/manifest.xml" ||
	lb_fail "the manifest does not say the data came from snapshots"
mv "$M/home/captures/cap" "$LB_WORK/cap"
echo "ok captured while written to, no snapshot left"

umount "$M"
btrfs device scan --forget "${dev}p1" 2>/dev/null || true
# (its last unmount may still hold it a moment on a loaded host)
for _ in 1 2 3 4 5 6 7 8 9; do
	wipefs -q -a "${dev}p1" 2>/dev/null && break
	sleep 1
done
wipefs -q -a "${dev}p1"
blank=$(fx_attach "$LB_WORK/blank.img" 600M)
rc=0
"$LIFEBOAT" restore --yes --disk-map "disk0=$blank" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "restore: exit $rc: $(cat "$LB_WORK/out")"
fx_reread "$blank"
mount -t btrfs -o subvolid=5 "${blank}p1" "$M"
for f in home/moving top; do
	n=$(find "$M/$(dirname "$f")" -maxdepth 1 -name "$(basename "$f").[ab]" | wc -l)
	[ "$n" -eq 1 ] || lb_fail "$f.a/$f.b: $n of them in the restored tree, not exactly one"
done
awk '$0 != "line " NR { bad = 1 } END { exit bad }' "$M/home/log" ||
	lb_fail "the appended file is not whole lines in order: $(tail -3 "$M/home/log" | od -c | tail -3)"
[ -d "$M/home/captures" ] && [ -z "$(ls -A "$M/home/captures")" ] ||
	lb_fail "the capture directory went into its own capture: $(ls -A "$M/home/captures")"
[ "$(find "$M/home/bulk" -type f | wc -l)" -eq 60 ] || lb_fail "the bulk files are not all there"
echo "ok restored: one moment per subvolume (renamed files once, the log whole), the capture directory left out"

# (2) the restored btrfs, captured and killed while it reads
echo "line x" >"$M/home/kept"
umount "$M"
mount -t btrfs "${blank}p1" "$M"
killed=
for try in 1 2 3; do
	"$LIFEBOAT" capture --data auto --disk "$blank" --output "$LB_WORK/cap-killed$try" >/dev/null 2>&1 &
	bg=$!
	snap=
	for _ in $(seq 1 600); do
		snap=$(btrfs subvolume list -a "$M" | sed -n 's|.*path \(<FS_TREE>/\)\{0,1\}\(\.lifeboat-snap\.[0-9]*\.[0-9]*\(\.[0-9a-f]*\)\{0,1\}\)$|\2|p' | head -1)
		[ -n "$snap" ] && break
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$snap" ]; then
		pid=${snap#.lifeboat-snap.}
		pid=${pid%%.*}
		kill -9 "$pid" 2>/dev/null && killed=$pid
	fi
	wait "$bg" 2>/dev/null || true
	[ -n "$killed" ] && break
done
[ -n "$killed" ] || lb_fail "no capture was killed while it had a snapshot"
btrfs subvolume list -a "$M" | grep -q "lifeboat-snap\.$killed\." ||
	lb_fail "the killed capture (pid $killed) left no snapshot: nothing to show"
echo "killed capture $killed left: $(btrfs subvolume list -a "$M" | grep -o 'lifeboat-snap[.0-9a-f]*' | tr '\n' ' ')"
rc=0
"$LIFEBOAT" capture --data auto --disk "$blank" --output "$LB_WORK/cap2" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "the capture after the kill: exit $rc: $(cat "$LB_WORK/out")"
grep -q "removed the snapshot .lifeboat-snap.$killed" "$LB_WORK/out" ||
	lb_fail "no word of the removed snapshot: $(cat "$LB_WORK/out")"
if btrfs subvolume list -a "$M" | grep -q lifeboat-snap; then
	lb_fail "snapshots still there: $(btrfs subvolume list -a "$M")"
fi
if grep -q 'lifeboat-snap' "$LB_WORK/cap2/manifest.xml"; then
	lb_fail "a snapshot recorded as a subvolume: $(grep lifeboat-snap "$LB_WORK/cap2/manifest.xml")"
fi
grep -q '<subvolume id="256" path="home"' "$LB_WORK/cap2/manifest.xml" ||
	lb_fail "home not recorded: $(grep subvolume "$LB_WORK/cap2/manifest.xml")"
echo "ok the killed capture's snapshots removed by the next, never recorded"
