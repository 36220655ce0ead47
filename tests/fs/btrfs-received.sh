#!/usr/bin/env bash
# A btrfs that is a backup target (btrbk, snapper send targets): a
# subvolume received from a btrfs send stream, captured while mounted
# (--data auto) and restored onto a blank disk: btrfs subvolume show gives
# the same Received UUID and Send transid (and the same received-uuid,
# stransid and stime recorded when it is captured again), and an incremental
# stream (btrfs send -p) made after the capture from the sending
# filesystem is received by the restored one (btrfs receive finds its
# parent by its received UUID) and gives the sender's tree; a send time
# recorded is given back; restored with --no-data (made empty) it gets no
# received UUID. Fails with a lifeboat that leaves a restored subvolume's
# received UUID unset ("cannot find parent subvolume").
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
S=$LB_WORK/s
M=$LB_WORK/m
mkdir "$S" "$M"
b() { btrfs -q "$@" >/dev/null; }

# the sender: a btrfs on a loop device of its own, home snapshotted
src=$(fx_attach "$LB_WORK/src.img" 200M)
mkfs.btrfs -q -f "$src" >/dev/null
mount -t btrfs "$src" "$S"
b subvolume create "$S/home"
mkdir "$S/home/docs"
echo one >"$S/home/docs/letter"
head -c 300000 /dev/urandom >"$S/home/blob"
b subvolume snapshot -r "$S/home" "$S/home.1"

# the backup target, the disk captured: home.1 received into backups/
dev=$(fx_attach "$LB_WORK/disk.img" 400M)
sfdisk -q --no-reread --no-tell-kernel "$dev" <<'T'
label: gpt
size=300MiB
T
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.btrfs -q -f "${dev}p1" >/dev/null
mount -t btrfs "${dev}p1" "$M"
mkdir "$M/backups"
btrfs -q send "$S/home.1" 2>/dev/null | btrfs -q receive "$M/backups"
echo kept >"$M/top-file"
sync

# what btrfs says of the received subvolume (not its own UUID, nor when
# and in which transaction it was received; nor its "Send time", which
# btrfs-progs 6.2 prints wrong: the creation time)
received() {
	btrfs subvolume show "$1" | sed -n 's/^[[:space:]]*\(Received UUID\|Send transid\):[[:space:]]*/\1: /p'
}
# and what a capture records of it
recorded() {
	grep 'path="backups/home.1"' "$1/manifest.xml" | grep -o ' \(received-uuid\|stransid\|stime\|stime-nsec\)="[^"]*"'
}
received "$M/backups/home.1" >"$LB_WORK/received.before"
grep -q '^Received UUID: [0-9a-f-]\{36\}$' "$LB_WORK/received.before" ||
	lb_fail "home.1 was not received: $(cat "$LB_WORK/received.before")"

rc=0
"$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "capture: exit $rc: $(cat "$LB_WORK/out")"

# after the capture, the sender goes on: home.2, sent as the difference
# from home.1
echo two >>"$S/home/docs/letter"
echo new >"$S/home/new"
rm "$S/home/blob"
b subvolume snapshot -r "$S/home" "$S/home.2"
btrfs -q send -p "$S/home.1" -f "$LB_WORK/incr.stream" "$S/home.2" 2>/dev/null
tree() { (cd "$1" && find . -printf '%p %y %m %s\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
tree "$S/home.2" >"$LB_WORK/tree.want"

# the target dies; restored onto a blank disk
umount "$M"
btrfs device scan --forget "${dev}p1" 2>/dev/null || true
for _ in 1 2 3 4 5 6 7 8 9; do
	wipefs -q -a "${dev}p1" 2>/dev/null && break
	sleep 1
done
wipefs -q -a "${dev}p1"
blank=$(fx_attach "$LB_WORK/blank.img" 400M)
"$LIFEBOAT" restore --yes --disk-map "disk0=$blank" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 ||
	lb_fail "restore: $(cat "$LB_WORK/out")"
fx_reread "$blank"
mount -t btrfs -o subvolid=5 "${blank}p1" "$M"
[ "$(btrfs property get -ts "$M/backups/home.1" ro)" = ro=true ] || lb_fail "home.1 is not read-only"
[ "$(cat "$M/top-file")" = kept ] || lb_fail "top-file"

# the real proof: the next incremental stream is received (btrfs receive
# finds home.1 by its received UUID)
rc=0
btrfs receive -f "$LB_WORK/incr.stream" "$M/backups" >"$LB_WORK/recv.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "btrfs receive of the incremental stream: exit $rc: $(cat "$LB_WORK/recv.out")"
tree "$M/backups/home.2" >"$LB_WORK/tree.got"
diff -u "$LB_WORK/tree.want" "$LB_WORK/tree.got" >&2 || lb_fail "home.2 received is not the sender's"
echo "ok an incremental btrfs send -p from the sender is received by the restored btrfs"

received "$M/backups/home.1" >"$LB_WORK/received.after"
diff -u "$LB_WORK/received.before" "$LB_WORK/received.after" >&2 ||
	lb_fail "btrfs subvolume show: not what home.1 had"
# what was recorded, and recorded again from the restored btrfs
ruuid=$(sed -n 's/^Received UUID: //p' "$LB_WORK/received.before")
recorded "$LB_WORK/cap" >"$LB_WORK/recorded.before"
grep -q "received-uuid=\"$ruuid\"" "$LB_WORK/recorded.before" &&
	grep -q 'stransid="[1-9][0-9]*"' "$LB_WORK/recorded.before" ||
	lb_fail "the manifest: $(grep '<subvolume ' "$LB_WORK/cap/manifest.xml")"
"$LIFEBOAT" show "$LB_WORK/cap" | grep -q 'backups/home.1 \[read-only\] \[received\]' ||
	lb_fail "show: $("$LIFEBOAT" show "$LB_WORK/cap")"
"$LIFEBOAT" capture --data none --disk "$blank" --output "$LB_WORK/cap-again" >"$LB_WORK/out" 2>&1 ||
	lb_fail "capture of the restored disk: $(cat "$LB_WORK/out")"
recorded "$LB_WORK/cap-again" >"$LB_WORK/recorded.after"
diff -u "$LB_WORK/recorded.before" "$LB_WORK/recorded.after" >&2 ||
	lb_fail "captured again, home.1's received UUID, stransid or stime differ"
echo "ok restored: the same Received UUID and Send transid as recorded, recorded again the same"

# a send time (btrfs receive gives none; another receiver may): the
# capture's manifest given one, restored again, recorded again
umount "$M"
btrfs device scan --forget "${blank}p1" 2>/dev/null || true
for _ in 1 2 3 4 5 6 7 8 9; do
	wipefs -q -a "${blank}p1" 2>/dev/null && break
	sleep 1
done
wipefs -q -a "${blank}p1"
sed -i '/path="backups\/home.1"/s/\( stransid="[0-9]*"\)/\1 stime="1700000000" stime-nsec="123456789"/' "$LB_WORK/cap/manifest.xml"
recorded "$LB_WORK/cap" >"$LB_WORK/recorded.before"
grep -q 'stime-nsec="123456789"' "$LB_WORK/recorded.before" || lb_fail "the manifest was not edited"
"$LIFEBOAT" restore --yes --disk-map "disk0=$blank" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 ||
	lb_fail "restore with a send time: $(cat "$LB_WORK/out")"
fx_reread "$blank"
rm -rf "$LB_WORK/cap-again"
"$LIFEBOAT" capture --data none --disk "$blank" --output "$LB_WORK/cap-again" >"$LB_WORK/out" 2>&1 ||
	lb_fail "capture of the restored disk: $(cat "$LB_WORK/out")"
recorded "$LB_WORK/cap-again" >"$LB_WORK/recorded.after"
diff -u "$LB_WORK/recorded.before" "$LB_WORK/recorded.after" >&2 ||
	lb_fail "a send time recorded is not restored"
echo "ok a send time recorded is restored"

# restored without its files (--no-data), home.1 is made empty: it is not
# what was received, and gets no received UUID
btrfs device scan --forget "${blank}p1" 2>/dev/null || true
wipefs -q -a "${blank}p1"
"$LIFEBOAT" restore --yes --no-data --disk-map "disk0=$blank" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 ||
	lb_fail "restore --no-data: $(cat "$LB_WORK/out")"
fx_reread "$blank"
mount -t btrfs -o subvolid=5 "${blank}p1" "$M"
[ -d "$M/backups/home.1" ] && [ -z "$(ls -A "$M/backups/home.1")" ] || lb_fail "--no-data: home.1 is not made empty"
received "$M/backups/home.1" | grep -q '^Received UUID: -$' ||
	lb_fail "--no-data: the empty home.1 got a received UUID: $(received "$M/backups/home.1")"
echo "ok restored without its files, home.1 gets no received UUID"
