#!/usr/bin/env bash
# A data file whose header does not fit the volume is refused before any
# write (issue 16, finding 7): the container's kind against the manifest's
# method, and an image's recorded volume size against the volume. Each
# capture below has its manifest's size and SHA-256 made to match the
# tampered file, so only the header tells:
#  - an archive container where the manifest says image;
#  - an image container where the manifest says archive;
#  - an image claiming a 2^64-1 byte volume;
#  - an image of a volume one sector larger than the recorded partition.
# The target disk needs recreating (p1 shrunk) and still holds its data:
# restore exits 1 and leaves every byte as it was. (Before, the plan took
# all four; restore rewrote the table and zeroed or formatted the volume,
# then failed.)
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
export LIFEBOAT_LOG_DIR=$LB_WORK/log

dev=$(fx_attach "$LB_WORK/disk.img" 64M)
printf 'label: gpt\nsize=40MiB\n' | sfdisk -q --no-reread --no-tell-kernel "$dev"
lb_new_disk_id "$dev"
fx_reread "$dev"
mkfs.ext4 -q "$(fx_part "$dev" 1)"
mount "$(fx_part "$dev" 1)" "$mnt"
head -c 2M /dev/urandom >"$mnt/blob"
umount "$mnt"
for m in image archive; do
	"$LIFEBOAT" capture --data "$m" --disk "$dev" --output "$LB_WORK/cap-$m" >/dev/null 2>&1 ||
		lb_fail "capture --data $m failed"
	grep -q "method=\"$m\"" "$LB_WORK/cap-$m/manifest.xml" || lb_fail "expected an $m volume"
done
echo 'size=30000' | sfdisk -q --no-reread --no-tell-kernel -N 1 "$dev" # p1 shrunk: recreate

# tampered NAME FROM-CAPTURE: $LB_WORK/NAME, a copy of FROM-CAPTURE; sets
# c and art (its data file)
tampered() {
	c=$LB_WORK/$1
	cp -a "$LB_WORK/$2" "$c"
	art=$(sed -n 's/.*<data file="\([^"]*\)".*/\1/p' "$c/manifest.xml" | head -n1)
	[ -n "$art" ] && [ -f "$c/$art" ] || lb_fail "$1: no data artifact"
}

# resign: the manifest's size and SHA-256 of $art made those of the file
resign() {
	python3 - "$c/manifest.xml" "$art" "$c/$art" <<'PY'
import hashlib, os, re, sys
manifest, name, path = sys.argv[1:]
sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
size = os.path.getsize(path)
text = open(manifest).read()
pat = re.compile(r'(<data file="%s"[^>]*)' % re.escape(name))
def fix(m):
    e = re.sub(r'size="\d+"', 'size="%d"' % size, m.group(1))
    return re.sub(r'sha256="[0-9a-f]+"', 'sha256="%s"' % sha, e)
new, n = pat.subn(fix, text)
assert n == 1, "no data element for " + name
open(manifest, "w").write(new)
PY
}

# volume_size N: the image header's volume size (bytes 16..23, LE) set to N
volume_size() {
	python3 - "$c/$art" "$1" <<'PY'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(16)
    f.write(struct.pack("<Q", n))
PY
}

failed=0
# refused NAME WHY: restore --yes of $c exits 1, says WHY, writes no byte
refused() {
	local rc=0
	lb_guard "$c"
	lb_disk_sums "$dev" >"$LB_WORK/sums.before"
	"$LIFEBOAT" restore --yes --quick-format "$c" >"$LB_WORK/out" 2>&1 || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q -- "$2" "$LB_WORK/out"; then
		cat "$LB_WORK/out"
		echo "FAIL: $1: restore exit $rc, expected 1 and \"$2\"" >&2
		failed=$((failed + 1))
	fi
	if ! lb_disk_sums "$dev" | cmp -s "$LB_WORK/sums.before" -; then
		echo "FAIL: $1: the disk was written" >&2
		failed=$((failed + 1))
		# the disk as it was: the next case starts from its data
		"$LIFEBOAT" restore --yes --quick-format "$LB_WORK/cap-image" >/dev/null 2>&1 ||
			lb_fail "cannot reset $dev"
		echo 'size=30000' | sfdisk -q --no-reread --no-tell-kernel -N 1 "$dev"
		lb_disk_sums "$dev" >/dev/null
		return 0
	fi
	echo "ok $1: refused (exit 1), nothing written"
}

sector=$(blockdev --getss "$dev")
part_bytes=$(sed -n 's/.*<partition number="1" start="[0-9]*" size="\([0-9]*\)".*/\1/p' \
	"$LB_WORK/cap-image/manifest.xml")
[ -n "$part_bytes" ] || lb_fail "no partition 1 in the manifest"
part_bytes=$((part_bytes * sector))

tampered archive-as-image cap-image
cp "$LB_WORK/cap-archive/$(sed -n 's/.*<data file="\([^"]*\)".*/\1/p' "$LB_WORK/cap-archive/manifest.xml")" "$c/$art"
resign
refused "an archive container where the manifest says image" "holds an archive, the manifest says an image"

tampered image-as-archive cap-archive
cp "$LB_WORK/cap-image/$(sed -n 's/.*<data file="\([^"]*\)".*/\1/p' "$LB_WORK/cap-image/manifest.xml")" "$c/$art"
resign
refused "an image container where the manifest says archive" "holds an image, the manifest says an archive"

tampered image-2-64 cap-image
volume_size 18446744073709551615
resign
refused "an image of a 2^64-1 byte volume" "an image of a 18446744073709551615-byte volume, larger than"

tampered image-one-more cap-image
volume_size $((part_bytes + sector))
resign
refused "an image of a volume one sector larger than its partition" "larger than the recorded $part_bytes bytes"

[ "$failed" -eq 0 ] || lb_fail "$failed tampered data file(s) were not refused before any write"
