#!/usr/bin/env bash
# What restore must never do (DESIGN.md, "Restore semantics" and "Command
# line"); every "nothing written" is checked on the whole backing images
# (lb_disk_sums: a digest of their contents, holes not read):
#  (a) excluded disks keep every byte: restore --exclude-disk (by id and by
#      recorded path); capture --exclude-disk records the disk selected="false"
#      and restore leaves it alone; --include-disk takes it back in;
#  (b) a disk with a mounted partition (or active swap) that needs recreating
#      is excluded as in use, and restore ends with exit 1 naming the mount;
#  (c) excluding a disk holding a critical volume (/ mounted, swap in use at
#      capture) is refused: restore and compare exit 2, capture refuses too;
#  (d) a truncated or schema-invalid manifest (exit 2), a tampered, truncated,
#      missing or symlinked artifact (exit 1) is refused before any write;
#      hostile labels and names round-trip and create no file anywhere;
#  (e) no terminal and no --yes: refused (exit 2), even with "yes" piped in;
#  (f) --dry-run writes nothing and exits 0.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail

mnt=
cleanup() {
	[ -z "$mnt" ] || umount "$mnt" 2>/dev/null || true
	lb_cleanup
}

# setup LAYOUT [capture options]: fresh work dir, LAYOUT built with fresh
# signatures, captured into $cap; sets disks[]; saves the oracle.
setup() {
	local layout=$1
	shift
	cleanup
	lb_workdir
	trap cleanup EXIT
	export LIFEBOAT_LOG_DIR=$LB_WORK/log
	lb_build_layout "$layout" >/dev/null
	mapfile -t disks <"$LB_WORK/disks"
	for d in "${disks[@]}"; do lb_new_disk_id "$d"; done
	cap=$LB_WORK/cap
	"$LIFEBOAT" capture --output "$cap" "${disks[@]/#/--disk=}" "$@" >/dev/null 2>&1 ||
		lb_fail "$layout: capture failed"
	for i in "${!disks[@]}"; do lb_oracle "${disks[$i]}" >"$LB_WORK/oracle.$i"; done
}

# run WHAT WANT CMD...: run a lifeboat command, output in $LB_WORK/out; fail
# unless it exits WANT.
run() {
	local what=$1 want=$2 rc=0
	shift 2
	"$LIFEBOAT" "$@" >"$LB_WORK/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || {
		cat "$LB_WORK/out"
		lb_fail "$what: lifeboat $1 exit $rc, expected $want"
	}
}

says() {
	grep -Eq -- "$2" "$LB_WORK/out" || {
		cat "$LB_WORK/out"
		lb_fail "$1: the output does not say /$2/"
	}
}

sums() { lb_disk_sums "${disks[@]}"; }

# unchanged WHAT: no disk changed since the last "sums >$LB_WORK/sums".
unchanged() {
	sums | diff -u "$LB_WORK/sums" - || lb_fail "$1: a disk was written"
}

# same_bytes WHAT I: disk I has not changed since "sums >$LB_WORK/sums".
same_bytes() {
	local f
	f=$(losetup -n -O BACK-FILE "${disks[$2]}")
	lb_disk_sums "${disks[$2]}" | diff -u <(grep -F "  $f" "$LB_WORK/sums") - ||
		lb_fail "$1: disk$2 was written"
}

# restored WHAT I: disk I looks as captured.
restored() {
	lb_oracle "${disks[$2]}" | diff -u "$LB_WORK/oracle.$2" - ||
		lb_fail "$1: disk$2 is not as captured"
}

# ---- (a) excluded disks keep every byte ------------------------------------
setup multi-disk
a=${disks[0]} b=${disks[1]}
"$LIFEBOAT" capture --output "$LB_WORK/capx" --disk "$a" --disk "$b" --exclude-disk "$b" \
	>/dev/null 2>&1 || lb_fail "(a) capture --exclude-disk failed"
grep -q '<disk id="disk0" [^>]*selected="true"' "$LB_WORK/capx/manifest.xml" &&
	grep -q '<disk id="disk1" [^>]*selected="false"' "$LB_WORK/capx/manifest.xml" ||
	lb_fail "(a) capture --exclude-disk does not mark disk1 selected=\"false\""
if grep -q 'disk1p[0-9]*\.data\|disk1-' <(ls "$LB_WORK/capx"); then
	ls "$LB_WORK/capx"
	lb_fail "(a) capture --exclude-disk saved data of the excluded disk"
fi
lb_wipe "$a" "$b" >/dev/null
sums >"$LB_WORK/sums"
lb_guard "$cap" --exclude-disk disk1
run "(a) restore --exclude-disk disk1" 0 restore --yes --quick-format --exclude-disk disk1 "$cap"
says "(a)" "disk1.*excluded"
restored "(a) restore --exclude-disk disk1" 0
same_bytes "(a) restore --exclude-disk disk1" 1
echo "ok (a) restore --exclude-disk disk1: disk0 restored, disk1 unchanged"

lb_wipe "$a" >/dev/null
sums >"$LB_WORK/sums"
lb_guard "$cap" --exclude-disk "$a"
run "(a) restore --exclude-disk $a" 0 restore --yes --quick-format --exclude-disk "$a" "$cap"
restored "(a) restore --exclude-disk $a (the recorded path)" 1
same_bytes "(a) restore --exclude-disk $a (the recorded path)" 0
echo "ok (a) restore --exclude-disk $a (by recorded path): disk1 restored, disk0 unchanged"

lb_wipe "$b" >/dev/null
sums >"$LB_WORK/sums"
lb_guard "$LB_WORK/capx"
run "(a) restore of a capture with disk1 excluded" 0 restore --yes --quick-format "$LB_WORK/capx"
says "(a)" "disk1.*excluded"
restored "(a) restore of a capture with disk1 excluded" 0
same_bytes "(a) restore of a capture with disk1 excluded" 1
sums >"$LB_WORK/sums"
lb_guard "$LB_WORK/capx" --include-disk disk1
run "(a) --include-disk disk1" 0 restore --yes --quick-format --include-disk disk1 "$LB_WORK/capx"
restored "(a) --include-disk disk1" 1
same_bytes "(a) --include-disk disk1 (disk0 intact)" 0
echo "ok (a) capture --exclude-disk: selected=\"false\", left alone; --include-disk restores it"

# ---- (b) a disk in use is refused ------------------------------------------
setup gpt-server
d=${disks[0]}
mnt=$LB_WORK/mnt
mkdir "$mnt"
# read-only and without the journal: the mount itself writes nothing either
mount -t ext4 -o ro,noload "${d}p3" "$mnt"
sfdisk -q --no-reread --no-tell-kernel --delete "$d" 4 # now it needs recreating
sums >"$LB_WORK/sums"
run "(b) compare with p3 mounted" 1 compare "$cap"
says "(b)" "disk0 $d -> $d .*: excluded \(in use.*${d#/dev/}p3 is mounted on $mnt"
lb_guard "$cap"
run "(b) restore with p3 mounted" 1 restore --yes --quick-format "$cap"
says "(b)" "disk0 -> $d needs recreating: .*${d#/dev/}p3 is mounted on $mnt"
unchanged "(b) restore with a mounted partition"
umount "$mnt"
mnt=
# the same with active swap (a fake /proc/swaps)
printf 'Filename\tType\tSize\tUsed\tPriority\n%s\tpartition\t65532\t0\t-2\n' "${d}p4" >"$LB_WORK/swaps"
sfdisk -q --no-reread --no-tell-kernel --delete "$d" 3
sums >"$LB_WORK/sums"
LIFEBOAT_SWAPS=$LB_WORK/swaps run "(b) restore with p4 active swap" 1 restore --yes --quick-format "$cap"
says "(b)" "disk0 -> $d needs recreating: .*${d#/dev/}p4 is active swap"
unchanged "(b) restore with active swap"
echo "ok (b) a disk with a mounted partition or active swap is refused and unchanged"

# ---- (c) excluding a critical disk is refused ------------------------------
lb_cleanup
lb_workdir
trap cleanup EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log
lb_build_layout gpt-server >/dev/null
mapfile -t disks <"$LB_WORK/disks"
d=${disks[0]}
lb_new_disk_id "$d"
printf '36 25 %s / / rw,relatime shared:1 - ext4 %s rw\n' "$(cat "/sys/class/block/${d#/dev/}p5/dev")" "${d}p5" \
	>"$LB_WORK/mountinfo"
printf 'Filename\tType\tSize\tUsed\tPriority\n%s\tpartition\t65532\t0\t-2\n' "${d}p4" >"$LB_WORK/swaps"
cap=$LB_WORK/cap
# --data none: with / "mounted", data capture would archive the real root
LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo "$LIFEBOAT" capture --data none --output "$cap" --disk "$d" \
	>/dev/null 2>&1 ||
	lb_fail "(c) capture with / on the disk failed"
grep -q 'mountpoint="/"' "$cap/manifest.xml" && grep -q 'critical="true"' "$cap/manifest.xml" ||
	lb_fail "(c) the capture does not record / as a critical volume"
sums >"$LB_WORK/sums"
rc=0
LIFEBOAT_MOUNTINFO=$LB_WORK/mountinfo "$LIFEBOAT" capture --data none --output "$LB_WORK/capx" \
	--disk "$d" --exclude-disk "$d" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "cannot exclude $d" "$LB_WORK/out" || {
	cat "$LB_WORK/out"
	lb_fail "(c) capture --exclude-disk of the disk holding / exit $rc, expected 2 and a refusal"
}
[ ! -e "$LB_WORK/capx" ] || lb_fail "(c) a refused capture left $LB_WORK/capx"
rc=0
LIFEBOAT_SWAPS=$LB_WORK/swaps "$LIFEBOAT" capture --data none --output "$LB_WORK/capx" \
	--disk "$d" --exclude-disk "$d" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || {
	cat "$LB_WORK/out"
	lb_fail "(c) capture --exclude-disk of the disk with swap in use exit $rc, expected 2"
}
unchanged "(c) refused captures"
lb_wipe "$d" >/dev/null
sums >"$LB_WORK/sums"
run "(c) restore --exclude-disk disk0 (holds /)" 2 restore --yes --quick-format --exclude-disk disk0 "$cap"
says "(c)" "exclude-disk disk0: .*needs to boot"
run "(c) compare --exclude-disk disk0 (holds /)" 2 compare --exclude-disk "$d" "$cap"
unchanged "(c) restore --exclude-disk of the critical disk"
echo "ok (c) excluding a disk holding / or swap in use is refused (restore, compare, capture)"

# ---- (d) tampered captures are refused before any write --------------------
setup gpt-server
d=${disks[0]}
lb_wipe "$d" >/dev/null
sums >"$LB_WORK/sums"
tamper() { # NAME: a copy of the capture to spoil
	rm -rf "$LB_WORK/$1"
	cp -a "$cap" "$LB_WORK/$1"
	printf '%s\n' "$LB_WORK/$1"
}
flip() { # FILE OFFSET: invert one byte
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
c=$(tamper truncated)
truncate -s $(($(stat -c %s "$c/manifest.xml") / 2)) "$c/manifest.xml"
run "(d) truncated manifest" 2 restore --yes --quick-format "$c"
run "(d) truncated manifest: compare" 2 compare "$c"
c=$(tamper invalid)
sed -i 's/logical-sector-size="512"/logical-sector-size="five hundred"/' "$c/manifest.xml"
run "(d) schema-invalid manifest" 2 restore --yes --quick-format "$c"
c=$(tamper traversal)
sed -i 's/file="disk0-boot-code.bin"/file="..\/cap\/disk0-boot-code.bin"/' "$c/manifest.xml"
run "(d) artifact outside the capture" 2 restore --yes --quick-format "$c"
unchanged "(d) bad manifests"
c=$(tamper bootcode-flipped)
flip "$c/disk0-boot-code.bin" 100
run "(d) flipped boot code" 1 restore --yes --quick-format "$c"
says "(d)" "disk0-boot-code.bin.*(SHA-256|sha256)"
says "(d)" "nothing was written"
c=$(tamper biosboot-flipped)
flip "$c/disk0p2-bios-boot.bin" 777777
run "(d) flipped BIOS boot contents" 1 restore --yes --quick-format "$c"
c=$(tamper bootcode-short)
truncate -s 439 "$c/disk0-boot-code.bin"
run "(d) truncated boot code" 1 restore --yes --quick-format "$c"
c=$(tamper bootcode-missing)
rm "$c/disk0-boot-code.bin"
run "(d) missing boot code" 1 restore --yes --quick-format "$c"
c=$(tamper bootcode-symlink)
mv "$c/disk0-boot-code.bin" "$c/elsewhere.bin"
ln -s elsewhere.bin "$c/disk0-boot-code.bin" # same bytes, but not a plain file
run "(d) symlinked boot code" 1 restore --yes --quick-format "$c"
unchanged "(d) tampered artifacts"
echo "ok (d) truncated or invalid manifests (exit 2) and tampered artifacts (exit 1) are refused, nothing written"

setup hostile-labels
lb_wipe "${disks[@]}" >/dev/null
empty=$LB_WORK/cwd
mkdir "$empty"
(cd "$empty" && HOME=$empty "$LIFEBOAT" restore --yes --quick-format "$cap") >"$LB_WORK/out" 2>&1 || {
	cat "$LB_WORK/out"
	lb_fail "(d) hostile-labels: restore failed"
}
[ -z "$(ls -A "$empty")" ] || {
	ls -lA "$empty"
	lb_fail "(d) hostile-labels: restore created files in its working directory"
}
restored "(d) hostile-labels" 0
for f in x y id reboot RM HOME A; do
	[ ! -e "$LB_WORK/$f" ] && [ ! -e "/$f" ] || lb_fail "(d) hostile-labels: a file named $f appeared"
done
echo "ok (d) hostile labels and names round-trip, and nothing runs or appears in the cwd"

# ---- (e) no terminal, no --yes; (f) --dry-run -------------------------------
setup gpt-server
d=${disks[0]}
lb_wipe "$d" >/dev/null
sums >"$LB_WORK/sums"
lb_guard "$cap"
run "(e) restore without --yes, stdin /dev/null" 2 restore --quick-format "$cap" </dev/null
says "(e)" "no terminal"
run "(e) restore without --yes, 'yes' piped in" 2 restore --quick-format "$cap" < <(echo yes)
unchanged "(e) restore without a terminal"
echo "ok (e) no terminal and no --yes: refused (exit 2), nothing written"
run "(f) --dry-run" 0 restore --dry-run --quick-format "$cap"
says "(f)" "recreate"
says "(f)" "dry run"
run "(f) --dry-run --yes" 0 restore --dry-run --yes "$cap"
unchanged "(f) --dry-run"
echo "ok (f) --dry-run prints the plan, exits 0 and writes nothing"
cleanup
trap - EXIT
