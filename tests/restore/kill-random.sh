#!/usr/bin/env bash
# lb-timeout: 3600
# A restore with data killed with SIGKILL at a random moment, then run again
# to completion, gives what an uninterrupted restore gives (issue 16). Two
# disks on loop devices: a GPT one (an ESP with files put there with mtools,
# a swap, an ext4 with lb_populate's tree, captured mounted: an archive) and
# an MBR one (an ext4 with files: an image). An uninterrupted restore onto
# the wiped disks is the reference, and its duration T; then each trial
# wipes the disks, starts the restore, kills it (its process group: lifeboat
# and any mkfs it runs, as a crash would) after a random delay in [0, T),
# and runs the same restore again; the killed one must leave nothing mounted
# (its temporary mounts), the second must exit 0 and leave: sfdisk -d,
# blkid -p of each partition, dumpe2fs -h (times and counts masked: lb_oracle)
# and the trees (tests/tools/tree-manifest.py for the ext4s, the files and
# listing of the ESP) as the reference's; fsck -n clean.
#   LB_KILL_TRIALS=N (default 10) trials; prints each kill's delay and the
#   last thing the killed restore said, and the spread of the kill points.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mcopy mkfs.vfat; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): needs $t"; exit 77; }
done
trials=${LB_KILL_TRIALS:-10}
lb_workdir
export E2FSPROGS_FAKE_TIME=1700000000

attach() {
	truncate -s "$2" "$LB_WORK/$1.img"
	losetup -f --show "$LB_WORK/$1.img" | tee -a "$LB_WORK/loops"
}
a=$(attach a 256M)
b=$(attach b 64M)
partx -d "$a" >/dev/null 2>&1 || true
partx -d "$b" >/dev/null 2>&1 || true
sfdisk -q --no-reread --no-tell-kernel "$a" <<EOF
label: gpt
label-id: $(cat /proc/sys/kernel/random/uuid)
size=64MiB, type=uefi, name="EFI System Partition"
size=16MiB, type=swap, name=swap
type=linux, name=root
EOF
sfdisk -q --no-reread --no-tell-kernel "$b" <<EOF
label: dos
label-id: 0x$(printf '%08x' $(((RANDOM << 16 | RANDOM) | 0x80000000)))
type=83
EOF
partprobe "$a" && partprobe "$b"
for p in "$a"p1 "$a"p2 "$a"p3 "$b"p1; do
	for _ in $(seq 50); do [ -b "$p" ] && break; sleep 0.1; done
done
mkfs.vfat --invariant -F 32 -s 1 -n ESP "$a"p1 >/dev/null
mkdir -p "$LB_WORK/esp/EFI/BOOT"
head -c 300000 /dev/urandom >"$LB_WORK/esp/EFI/BOOT/BOOTX64.EFI"
printf 'menuentry "lifeboat" {}\n' >"$LB_WORK/esp/EFI/BOOT/grub.cfg"
mcopy -s -m -i "$a"p1 "$LB_WORK/esp/EFI" ::/ 2>/dev/null
mkswap -q -L swap "$a"p2
mke2fs -F -q -t ext4 -L root -E nodiscard,lazy_journal_init=1 "$a"p3
mke2fs -F -q -t ext4 -L data -b 1024 -E nodiscard,lazy_journal_init=1 "$b"p1
mkdir "$LB_WORK/mnt"
mount "$b"p1 "$LB_WORK/mnt"
mkdir "$LB_WORK/mnt/data"
seq 1 300000 >"$LB_WORK/mnt/data/numbers"
head -c 2000000 /dev/urandom >"$LB_WORK/mnt/data/blob"
umount "$LB_WORK/mnt"
mount "$a"p3 "$LB_WORK/mnt"
lb_populate "$LB_WORK/mnt"
"$LIFEBOAT" capture --output "$LB_WORK/cap" --disk "$a" --disk "$b" >"$LB_WORK/capture.out" 2>&1 || {
	cat "$LB_WORK/capture.out"
	lb_fail "capture failed"
}
umount "$LB_WORK/mnt"
grep -q 'archive' "$LB_WORK/capture.out" && grep -q 'image' "$LB_WORK/capture.out" ||
	lb_fail "the capture has not both an archive and an image: $(cat "$LB_WORK/capture.out")"
maps=(--disk-map "disk0=$a" --disk-map "disk1=$b")
restore=("$LIFEBOAT" restore --yes --quick-format "${maps[@]}" "$LB_WORK/cap")

# state: what the disks hold, as compared
state() {
	local p dir
	lb_oracle "$a" "$b"
	for p in "$a"p3 "$b"p1; do
		echo "== tree $p"
		fsck.ext4 -n -f "$p" >/dev/null 2>&1 || echo "fsck -n: not clean"
		mount -o ro "$p" "$LB_WORK/mnt"
		python3 "$LB_TOP/tests/tools/tree-manifest.py" "$LB_WORK/mnt"
		umount "$LB_WORK/mnt"
	done
	echo "== ESP"
	dir=$LB_WORK/esp-out
	rm -rf "$dir" && mkdir "$dir"
	mdir -/ -a -i "$a"p1 :: 2>/dev/null | grep -v -e '^ Volume' -e 'bytes free'
	mcopy -s -m -i "$a"p1 ::/EFI "$dir"/ 2>/dev/null
	(cd "$dir" && find . -type f | sort | xargs sha256sum)
}

wipe() {
	lb_wipe "$a" "$b" >/dev/null
}

wipe
lb_guard "$LB_WORK/cap" "${maps[@]}"
start=$(date +%s%N)
"${restore[@]}" >"$LB_WORK/ref.out" 2>&1 || { cat "$LB_WORK/ref.out"; lb_fail "the reference restore failed"; }
end=$(date +%s%N)
T=$(((end - start) / 1000000))
state >"$LB_WORK/ref.state"
grep -q "blob" "$LB_WORK/ref.state" && grep -q "BOOTX64.EFI" "$LB_WORK/ref.state" ||
	lb_fail "the reference restore did not bring the files back (test broken)"
echo "reference restore: $T ms"

fails=0
: >"$LB_WORK/points"
for i in $(seq 1 "$trials"); do
	wipe
	delay=$((((RANDOM << 15) | RANDOM) % T))
	setsid "${restore[@]}" >"$LB_WORK/first.out" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -KILL -- "-$pid" 2>/dev/null || true
	rc=0
	{ wait "$pid"; } 2>/dev/null || rc=$?
	# what it said last (where it was killed), run-to-run values dropped
	point=$({ grep -v '^\s*$' "$LB_WORK/first.out" || true; } | tail -n 1 | tr -d '\r' |
		sed -e 's/\x1b\[K//g' -e 's/[0-9][0-9.]*/N/g' | cut -c1-70)
	[ -n "$point" ] || point="(nothing said yet)"
	[ "$rc" = 137 ] || point="(finished before the kill, exit $rc)"
	printf '%s\n' "$point" >>"$LB_WORK/points"
	# (a killed mkfs or loop I/O may still be settling)
	udevadm settle 2>/dev/null || true
	# nothing of the killed one still mounted (its volume in use)
	left=$(findmnt -rn -o SOURCE,TARGET | awk -v a="$a" -v b="$b" \
		'index($1, a "p") == 1 || index($1, b "p") == 1' || true)
	if [ -n "$left" ]; then
		echo "trial $i: killed at $delay ms ($point): left mounted: $left"
		fails=$((fails + 1))
		printf '%s\n' "$left" | while read -r _ target; do umount "$target"; done
	fi
	rc=0
	"${restore[@]}" >"$LB_WORK/second.out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		echo "trial $i: killed at $delay ms ($point): the second restore failed, exit $rc:"
		sed 's/^/    /' "$LB_WORK/second.out" | tail -n 15
		fails=$((fails + 1))
		continue
	fi
	state >"$LB_WORK/trial.state"
	if ! diff -u "$LB_WORK/ref.state" "$LB_WORK/trial.state" >"$LB_WORK/trial.diff"; then
		echo "trial $i: killed at $delay ms ($point): the result differs:"
		head -n 40 "$LB_WORK/trial.diff" | sed 's/^/    /'
		cp "$LB_WORK/first.out" "$LB_WORK/fail-$i-first.out"
		fails=$((fails + 1))
		continue
	fi
	echo "trial $i: killed at $delay ms of $T ($point): same result"
done
echo "kill points (last words of the killed restore, by count):"
sort "$LB_WORK/points" | uniq -c | sort -rn | sed 's/^/  /'
[ "$fails" = 0 ] || lb_fail "$fails of $trials trials differ from the uninterrupted restore"
echo "ok: $trials restores killed at random and run again, each as the uninterrupted one"
