#!/usr/bin/env bash
# A mounted btrfs with nested subvolumes, a subvolume moved below one made
# after it, an ID left free (a subvolume deleted), read-only snapshots of a
# subvolume and a default subvolume other than 5 is captured while mounted
# (--data auto: archived per subvolume from read-only snapshots), and
# restored onto a blank disk: the same subvolume IDs, paths, read-only
# flags and default, btrfs check clean, the same files in every subvolume,
# the snapshots made again as snapshots of home, sharing their extents
# with it as they did (captured as clones of its files: about the
# space the original used); no snapshot of the capture left on the
# original.
# lb-timeout: 600
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

dev=$(fx_attach "$LB_WORK/disk.img" 400M)
sfdisk -q --no-reread --no-tell-kernel "$dev" <<'T'
label: gpt
size=300MiB
T
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.btrfs -q -f -L subvols "${dev}p1" >/dev/null
mount -t btrfs "${dev}p1" "$M"

b() { btrfs -q "$@" >/dev/null; }
b subvolume create "$M/home"			# 256
b subvolume create "$M/home/user"		# 257
b subvolume create "$M/gone"			# 258, deleted: a free ID
b subvolume create "$M/data"			# 259, moved below 260
mkdir -p "$M/a/b"
b subvolume create "$M/a/b/late"		# 260
mv "$M/data" "$M/a/b/late/data"
b subvolume delete "$M/gone"
echo top >"$M/top-file"
mkdir "$M/home/docs"
echo one >"$M/home/docs/letter"
dd if=/dev/urandom of="$M/home/blob" bs=1M count=24 status=none
ln -s docs/letter "$M/home/link"
echo user >"$M/home/user/profile"
chown 1000:1000 "$M/home/user/profile"
chmod 640 "$M/home/user/profile"
echo data >"$M/a/b/late/data/d"
# compressed files: z, and t whose two halves home then swaps (both
# halves point into one compressed extent, which FIEMAP cannot tell apart)
mkdir "$M/home/zst"
btrfs property set "$M/home/zst" compression zstd
seq 1 300000 >"$M/home/zst/z"
python3 -c 'import sys; open(sys.argv[1], "wb").write(b"".join(b"%07d\n" % i for i in range(16384)))' "$M/home/zst/t"
# fragmented files (a 4 KiB extent every other 4 KiB: more extent items
# than one tree search returns, 64 KiB of them): f1 kept, f2's and f3's
# last block rewritten after snaps/1 with other bytes (f3's first 16 MiB,
# a dedupe's step, shared again on restore: in snaps/1 it is not a clone)
python3 - "$M/home" <<'PY'
import os, sys
for name, n in (("f1", 2000), ("f2", 800), ("f3", 2100)):
    fd = os.open(sys.argv[1] + "/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    for i in range(n):
        os.pwrite(fd, (b"%07d\n" % i) * 512, i * 8192)
    os.close(fd)
PY
sync
mkdir "$M/snaps"
b subvolume snapshot -r "$M/home" "$M/snaps/1"	# 261
echo two >>"$M/home/docs/letter"
for f in f2:799 f3:2099; do
	python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"changed\n" * 512, int(sys.argv[2]) * 8192)' "$M/home/${f%:*}" "${f#*:}"
done
python3 - "$M/home/zst" <<'PY'
import fcntl, os, struct, sys
FICLONERANGE = 0x4020940d
d = sys.argv[1]
fd = os.open(d + "/t", os.O_RDWR)
tmp = os.open(d + "/swap", os.O_RDWR | os.O_CREAT, 0o644)
def clone(src, soff, n, dst, doff):
    fcntl.ioctl(dst, FICLONERANGE, struct.pack("qQQQ", src, soff, n, doff))
clone(fd, 0, 65536, tmp, 0)
clone(fd, 65536, 65536, fd, 0)
clone(tmp, 0, 65536, fd, 65536)
os.close(tmp)
os.unlink(d + "/swap")
os.close(fd)
PY
b subvolume snapshot -r "$M/home" "$M/snaps/2"	# 262
b subvolume set-default "$(btrfs inspect-internal rootid "$M/home")" "$M"
sync

# what a restore must give back: IDs, paths, read-only flags, default;
# every file of every subvolume (names, types, modes, owners, sizes,
# contents, link targets, files' mtimes)
subvols() {
	btrfs subvolume list -o "$1" >/dev/null # (it is a btrfs)
	btrfs subvolume list "$1" | awk '{ print $2, $NF }' | while read -r id path; do
		printf '%s %s %s\n' "$id" "$path" "$(btrfs property get -ts "$1/$path" ro)"
	done
	echo "default $(btrfs subvolume get-default "$1" | awk '{ print $2, $NF }')"
	# each snapshot's parent, by path (the UUIDs are new)
	btrfs subvolume list -u -q "$1" | awk '
		{ for (i = 1; i < NF; i++) { if ($i == "parent_uuid") p[NR] = $(i + 1); if ($i == "uuid") u[NR] = $(i + 1) }
		  path[NR] = $NF; byuuid[u[NR]] = $NF }
		END { for (n = 1; n <= NR; n++) print "parent", path[n], (p[n] in byuuid) ? byuuid[p[n]] : "-" }' | sort
}
tree() {
	(cd "$1" && find . -printf '%p %y %m %U %G %l\n' | sort)
	(cd "$1" && find . -type f -printf '%p %s %T@\n' | sort)
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
subvols "$M" >"$LB_WORK/subvols.before"
# the space in use: the snapshots share the blob's extents with home
used() { btrfs filesystem usage -b "$1" | awk '$1 == "Used:" { print $2; exit }'; }
used_before=$(used "$M")
tree "$M" >"$LB_WORK/tree.before"
grep -q '^parent snaps/2 home$' "$LB_WORK/subvols.before" &&
	grep -q '^256 home ro=false$' "$LB_WORK/subvols.before" &&
	grep -q '^262 snaps/2 ro=true$' "$LB_WORK/subvols.before" &&
	grep -q '^default 256 home$' "$LB_WORK/subvols.before" ||
	lb_fail "the btrfs was not made as planned: $(cat "$LB_WORK/subvols.before")"

# the default subvolume is what is mounted normally: mount it there, as a
# system mounts /home, and keep the top level mounted too
umount "$M"
mount -t btrfs "${dev}p1" "$M"
[ -f "$M/docs/letter" ] || lb_fail "the default subvolume is not home"
umount "$M"
mount -t btrfs -o subvolid=5 "${dev}p1" "$M"

rc=0
LIFEBOAT_DEBUG=archive "$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "capture: exit $rc: $(cat "$LB_WORK/out")"
# clones: blob, z and f1 in snaps/1 (not letter, not t: its halves
# differ, not f2 and f3: their last extent items do); blob, z, t, letter,
# f1, f2 and f3 in snaps/2
grep -q ': 10 files as clones of an earlier tree' "$LB_WORK/out" ||
	lb_fail "not the 10 clones expected: $(grep -i clone "$LB_WORK/out")"
if btrfs subvolume list -a "$M" | grep -q lifeboat-snap; then
	lb_fail "a capture snapshot was left: $(btrfs subvolume list -a "$M")"
fi
echo "ok captured while mounted, no snapshot left"

python3 - "$LB_WORK/cap/manifest.xml" >"$LB_WORK/recorded" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
for v in root.iter(ns + "volume"):
    s = v.find(ns + "subvolumes")
    d = v.find(ns + "data")
    print("volume", v.get("id"), d.get("method"), d.get("source"), "default", s.get("default"))
    for sv in s.findall(ns + "subvolume"):
        print(sv.get("id"), sv.get("path"), sv.get("read-only"),
              "snapshot" if sv.get("parent-uuid") else "-",
              "clones-from=" + sv.get("clones-from", "-"))
PY
cat >"$LB_WORK/recorded.want" <<'W'
volume disk0p1 archive btrfs-snapshot default 256
256 home false - clones-from=-
257 home/user false - clones-from=-
259 a/b/late/data false - clones-from=-
260 a/b/late false - clones-from=-
261 snaps/1 true snapshot clones-from=256
262 snaps/2 true snapshot clones-from=256
W
diff -u "$LB_WORK/recorded.want" "$LB_WORK/recorded" >&2 || lb_fail "the manifest's subvolumes"
# the snapshots' files that are home's are named, not carried again: the
# 24 MiB of random bytes of home/blob once in the capture, not three times
arch=$(du -cb "$LB_WORK"/cap/*.data 2>/dev/null | awk 'END { print $1 }')
[ "${arch:-0}" -gt $((24 * 1048576)) ] && [ "$arch" -lt $((32 * 1048576)) ] ||
	lb_fail "the capture's data files hold $arch bytes: the snapshots' files are not clones of home's"
echo "ok the snapshots carry only what differs from home: $arch bytes of data files"
"$LIFEBOAT" show "$LB_WORK/cap" | grep -q "262 snaps/2 \[read-only\] \[snapshot\]" ||
	lb_fail "show: $("$LIFEBOAT" show "$LB_WORK/cap")"
"$LIFEBOAT" show --json "$LB_WORK/cap" | python3 -c '
import json, sys
j = json.load(sys.stdin)
v = j["disks"][0]["partitions"][0]["volume"]
s = v["subvolumes"]
assert s["default"] == 256, s
assert [x["id"] for x in s["subvolumes"]] == [256, 257, 259, 260, 261, 262], s
assert s["subvolumes"][5]["read_only"] and s["subvolumes"][5]["parent_uuid"], s
assert v["data"]["source"] == "btrfs-snapshot", v["data"]
' || lb_fail "show --json"
"$LIFEBOAT" verify "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || lb_fail "verify: $(cat "$LB_WORK/out")"
echo "ok recorded: IDs, paths, read-only flags, snapshots, default; show and show --json"

# mounted read-only, and not mounted: --data archive reads each subvolume
# in place (nothing written, no snapshot), the same tree recorded
mount -o remount,ro "$M"
"$LIFEBOAT" capture --data archive --disk "$dev" --output "$LB_WORK/cap-ro" >"$LB_WORK/out" 2>&1 ||
	lb_fail "capture of the read-only mounted btrfs: $(cat "$LB_WORK/out")"
umount "$M"
"$LIFEBOAT" capture --data archive --disk "$dev" --output "$LB_WORK/cap-off" >"$LB_WORK/out" 2>&1 ||
	lb_fail "capture of the unmounted btrfs: $(cat "$LB_WORK/out")"
# and without its files, the subvolumes are recorded all the same
"$LIFEBOAT" capture --data none --disk "$dev" --output "$LB_WORK/cap-none" >"$LB_WORK/out" 2>&1 ||
	lb_fail "capture --data none: $(cat "$LB_WORK/out")"
# (without files, none is a clone of another's)
grep '<subvolume' "$LB_WORK/cap/manifest.xml" | sed 's/ clones-from="[0-9]*"//' >"$LB_WORK/sv.live"
grep '<subvolume' "$LB_WORK/cap-none/manifest.xml" >"$LB_WORK/sv.none" || true
diff -u "$LB_WORK/sv.live" "$LB_WORK/sv.none" >&2 || lb_fail "--data none: other subvolumes recorded"
for c in cap-ro cap-off; do
	grep '<subvolume' "$LB_WORK/cap/manifest.xml" >"$LB_WORK/sv.live"
	grep '<subvolume' "$LB_WORK/$c/manifest.xml" >"$LB_WORK/sv.$c"
	diff -u "$LB_WORK/sv.live" "$LB_WORK/sv.$c" >&2 || lb_fail "$c: other subvolumes recorded"
	grep -q 'method="archive"/>' "$LB_WORK/$c/manifest.xml" || lb_fail "$c: its data is not said to be read in place"
done
for c in cap-ro cap-off; do
	"$LIFEBOAT" verify "$LB_WORK/$c" >"$LB_WORK/out" 2>&1 || lb_fail "verify $c: $(cat "$LB_WORK/out")"
done
echo "ok read-only mounted and unmounted: archived per subvolume in place, the same subvolumes; --data none records them too"

# drills while the original is still on this machine (as a drill runs on
# the machine captured): the drill's btrfs gets an fsid of its own
# (mkfs.btrfs refuses the recorded one; an image's is rewritten), the
# original unmounted and mounted, its filesystem show unchanged after
"$LIFEBOAT" capture --data image --disk "$dev" --output "$LB_WORK/cap-img" >"$LB_WORK/out" 2>&1 ||
	lb_fail "image capture: $(cat "$LB_WORK/out")"
show() { btrfs filesystem show "$1" | sed 's/ used [0-9.]*[KMG]*i*B/ used X/g'; }
show "${dev}p1" >"$LB_WORK/show.before"
# (single device: the image with the original unmounted, the archive with
# it mounted; btrfs-raid1-live.sh drills every pair over two devices)
for c in cap-img:unmounted cap:mounted; do
	state=${c#*:}
	c=${c%:*}
	{
		[ $state = mounted ] && mount -t btrfs "${dev}p1" "$M"
		"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/$c" >"$LB_WORK/out" 2>&1 ||
			lb_fail "drill of $c, the original $state: $(cat "$LB_WORK/out")"
		grep -q 'made with the fsid' "$LB_WORK/out" || lb_fail "drill of $c: the fsid used not said"
		[ $state = mounted ] && umount "$M"
		show "${dev}p1" >"$LB_WORK/show.after"
		diff -u "$LB_WORK/show.before" "$LB_WORK/show.after" >&2 ||
			lb_fail "drill of $c, the original $state: its filesystem show changed"
		mount -t btrfs "${dev}p1" "$M" || lb_fail "drill of $c: the original no longer mounts"
		[ -f "$M/docs/letter" ] || lb_fail "drill of $c: the original's default subvolume"
		umount "$M"
	}
done
echo "ok drills of the archive and the image, the original unmounted and mounted: it is unchanged"

# the disk dies: its btrfs is gone (mkfs.btrfs refuses a UUID another
# device still has)
btrfs device scan --forget "${dev}p1" 2>/dev/null || true
# (its last unmount may still hold it a moment)
for _ in 1 2 3 4 5 6 7 8 9; do
	wipefs -q -a "${dev}p1" 2>/dev/null && break
	sleep 1
done
wipefs -q -a "${dev}p1"
# a drill of the capture: made on loop files, every file compared with
# the archive in the restored top level
"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 ||
	lb_fail "drill: $(cat "$LB_WORK/out")"
echo "ok drill"
blank=$(fx_attach "$LB_WORK/blank.img" 400M)
rc=0
"$LIFEBOAT" restore --yes --disk-map "disk0=$blank" "$LB_WORK/cap" >"$LB_WORK/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "restore: exit $rc: $(cat "$LB_WORK/out")"
fx_reread "$blank"
btrfs check "${blank}p1" >"$LB_WORK/check" 2>&1 || lb_fail "btrfs check: $(cat "$LB_WORK/check")"
mount -t btrfs -o subvolid=5 "${blank}p1" "$M"
subvols "$M" >"$LB_WORK/subvols.after"
diff -u "$LB_WORK/subvols.before" "$LB_WORK/subvols.after" >&2 ||
	lb_fail "the subvolumes restored differ"
tree "$M" >"$LB_WORK/tree.after"
diff -u "$LB_WORK/tree.before" "$LB_WORK/tree.after" >&2 || lb_fail "the files restored differ"
[ "$(blkid -p -o value -s LABEL "${blank}p1")" = subvols ] || lb_fail "label"
# (one more full copy of the blob per snapshot would be 48 MiB more)
used_after=$(used "$M")
[ "$used_after" -le $((used_before + 8 * 1048576)) ] ||
	lb_fail "the restored btrfs uses $used_after bytes, the original $used_before: the snapshots do not share their extents with home"
echo "ok the restored snapshots share their extents with home: $used_after bytes used, $used_before before"
btrfs subvolume list -a "$M" | grep -q 'lifeboat-' && lb_fail "a placeholder was left"
echo "ok restored: same IDs (the free one kept free), paths, read-only flags, default, snapshots of the same parents, files; btrfs check clean"
