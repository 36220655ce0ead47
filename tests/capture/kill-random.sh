#!/usr/bin/env bash
# lb-timeout: 3600
# A capture killed with SIGKILL at a random moment leaves nothing that
# lifeboat verify or the rescue menu takes for a capture, and the captures
# already there untouched (issue 16). A GPT loop disk: an ext4 with
# lb_populate's tree, mounted (an archive), and an ext4 with files, not
# mounted (an image). The capture goes to MEDIA/lifeboat/NAME, as on a USB
# disk, beside a complete earlier capture. An uninterrupted capture's
# duration is T; each trial kills a capture (its process group) after a
# random delay in [0, T) and checks: MEDIA/lifeboat/NAME does not exist (or,
# when the capture finished first, verify takes it); the rescue menu's
# search (lifeboat/*/manifest.xml, as initramfs/90init/init globs it) finds
# only the complete captures; verify of NAME refuses; the earlier capture's
# files are byte for byte as they were and verify takes it. What a killed
# capture leaves (its .NAME.partial.PID.TAG directory) is counted and said.
#   LB_KILL_TRIALS=N (default 10) trials
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
trials=${LB_KILL_TRIALS:-10}
lb_workdir
truncate -s 300M "$LB_WORK/disk.img"
dev=$(losetup -f --show "$LB_WORK/disk.img" | tee -a "$LB_WORK/loops")
partx -d "$dev" >/dev/null 2>&1 || true
sfdisk -q --no-reread --no-tell-kernel "$dev" <<EOF
label: gpt
label-id: $(cat /proc/sys/kernel/random/uuid)
size=200MiB, type=linux, name=root
type=linux, name=data
EOF
partprobe "$dev"
for p in "$dev"p1 "$dev"p2; do
	for _ in $(seq 50); do [ -b "$p" ] && break; sleep 0.1; done
done
mke2fs -F -q -t ext4 -L root -E nodiscard,lazy_journal_init=1 "$dev"p1
mke2fs -F -q -t ext4 -L data -E nodiscard,lazy_journal_init=1 "$dev"p2
mkdir "$LB_WORK/mnt" "$LB_WORK/mnt2"
mount "$dev"p2 "$LB_WORK/mnt2"
head -c 20000000 /dev/urandom >"$LB_WORK/mnt2/random"
seq 1 1000000 >"$LB_WORK/mnt2/numbers"
umount "$LB_WORK/mnt2"
mount "$dev"p1 "$LB_WORK/mnt"
lb_populate "$LB_WORK/mnt"
head -c 30000000 /dev/urandom >"$LB_WORK/mnt/random"
media=$LB_WORK/media
mkdir -p "$media/lifeboat"
capture=("$LIFEBOAT" capture --disk "$dev")

"${capture[@]}" --output "$media/lifeboat/earlier" >/dev/null 2>&1 || lb_fail "the earlier capture failed"
(cd "$media/lifeboat/earlier" && sha256sum ./* | sort) >"$LB_WORK/earlier.sums"

# rescue_finds: what the rescue menu would offer (init's glob, no dot names)
rescue_finds() {
	local m
	for m in "$media"/lifeboat/*/manifest.xml; do
		[ -e "$m" ] && basename "$(dirname "$m")"
	done
	return 0
}

start=$(date +%s%N)
"${capture[@]}" --output "$media/lifeboat/timing" >"$LB_WORK/timing.out" 2>&1 ||
	{ cat "$LB_WORK/timing.out"; lb_fail "the timing capture failed"; }
end=$(date +%s%N)
T=$(((end - start) / 1000000))
grep -q archive "$LB_WORK/timing.out" && grep -q image "$LB_WORK/timing.out" ||
	lb_fail "the capture has not both an archive and an image: $(cat "$LB_WORK/timing.out")"
rm -rf "$media/lifeboat/timing"
echo "uninterrupted capture: $T ms"

fails=0 finished=0 left=0 left_verified=0
fail() {
	echo "trial $i: killed at $delay ms: $*"
	fails=$((fails + 1))
}
for i in $(seq 1 "$trials"); do
	name=cap-$i
	delay=$((((RANDOM << 15) | RANDOM) % T))
	setsid "${capture[@]}" --output "$media/lifeboat/$name" >"$LB_WORK/out" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -KILL -- "-$pid" 2>/dev/null || true
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$?
	said=$({ grep -v '^\s*$' "$LB_WORK/out" || true; } | tail -n 1 | tr -d '\r' | sed 's/\x1b\[K//g' | cut -c1-60)
	if [ "$rc" = 0 ]; then
		finished=$((finished + 1))
		"$LIFEBOAT" verify "$media/lifeboat/$name" >/dev/null 2>&1 || fail "finished, but verify refuses it"
		rm -rf "$media/lifeboat/$name"
		echo "trial $i: the capture finished before the kill at $delay ms"
		continue
	fi
	[ "$rc" = 137 ] || fail "exit $rc, not killed: $said"
	[ ! -e "$media/lifeboat/$name" ] || fail "$name exists after the kill"
	found=$(rescue_finds | tr '\n' ' ')
	[ "$found" = "earlier " ] || fail "the rescue menu would offer: $found"
	if "$LIFEBOAT" verify "$media/lifeboat/$name" >/dev/null 2>&1; then
		fail "verify takes $name"
	fi
	(cd "$media/lifeboat/earlier" && sha256sum ./* | sort) >"$LB_WORK/earlier.now"
	cmp -s "$LB_WORK/earlier.sums" "$LB_WORK/earlier.now" || fail "the earlier capture changed"
	"$LIFEBOAT" verify "$media/lifeboat/earlier" >/dev/null 2>&1 || fail "verify refuses the earlier capture"
	partial=$(find "$media/lifeboat" -mindepth 1 -maxdepth 1 -name ".$name.partial.*" | head -n 1)
	what="nothing left"
	if [ -n "$partial" ]; then
		left=$((left + 1))
		what="left $(basename "$partial") ($(find "$partial" -type f | wc -l) files)"
		if "$LIFEBOAT" verify "$partial" >/dev/null 2>&1; then
			left_verified=$((left_verified + 1))
			what="$what, which verify takes"
		fi
		rm -rf "$partial"
	fi
	echo "trial $i: killed at $delay ms of $T ($said): $what"
done
echo "$trials trials: $finished finished before the kill, $left left a partial directory" \
	"($left_verified of them complete enough for verify), $fails failed"
[ "$fails" = 0 ] || lb_fail "$fails of $trials trials failed"
echo "ok: $trials captures killed at random, none left anything taken for a capture"
