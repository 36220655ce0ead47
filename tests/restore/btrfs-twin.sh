#!/usr/bin/env bash
# lb-timeout: 600
# A btrfs is not restored onto a new disk while a disk the restore leaves
# alone (the one it was captured from, still attached) holds a btrfs with
# the same fsid: the kernel tells btrfs devices apart by fsid and devid
# only, so it would take one for the other (mkfs.btrfs refuses the fsid; an
# image could be mounted from the old disk). Refused before any write,
# naming the other disk, for the archive (mkfs) path and the image path;
# with the old disk's signature gone the same restore succeeds.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.btrfs btrfs sfdisk wipefs; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): no $t"; exit 77; }
done
grep -qw btrfs /proc/filesystems || { echo "SKIP: $(lb_name): no btrfs in this kernel"; exit 77; }
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT

src=$(fx_attach "$LB_WORK/src.img" 400M)
printf 'label: gpt\n,300M,L\n' | sfdisk -q "$src" >/dev/null
fx_reread "$src"
mkfs.btrfs -q -f -L twin "$(fx_part "$src" 1)" >/dev/null
mount "$(fx_part "$src" 1)" "$mnt"
printf 'kept\n' >"$mnt/file"
umount "$mnt"
"$LIFEBOAT" capture --disk "$src" --data image --output "$LB_WORK/cap-image" >"$LB_WORK/out" 2>&1 ||
	lb_fail "image capture: $(cat "$LB_WORK/out")"
"$LIFEBOAT" capture --disk "$src" --data archive --output "$LB_WORK/cap-archive" >"$LB_WORK/out" 2>&1 ||
	lb_fail "archive capture: $(cat "$LB_WORK/out")"
fsid=$(blkid -p -o value -s UUID "$(fx_part "$src" 1)")

dst=$(fx_attach "$LB_WORK/dst.img" 400M)
for kind in image archive; do
	before=$(sha256sum <"$dst")
	if "$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$dst" "$LB_WORK/cap-$kind" \
		>"$LB_WORK/out" 2>&1; then
		lb_fail "$kind: a twin of the btrfs on $src was restored"
	fi
	grep -q "the btrfs $fsid is also on $src partition 1, which this restore leaves alone" \
		"$LB_WORK/out" || { cat "$LB_WORK/out"; lb_fail "$kind: the refusal does not name the other disk"; }
	[ "$(sha256sum <"$dst")" = "$before" ] || lb_fail "$kind: the refused restore wrote"
	echo "ok $kind: refused before any write while $src holds the same btrfs"
done

# the old disk's signature gone: the same restore goes through
wipefs -q -a "$(fx_part "$src" 1)"
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$dst" "$LB_WORK/cap-archive" \
	>"$LB_WORK/out" 2>&1 || lb_fail "restore without the twin: $(cat "$LB_WORK/out")"
fx_reread "$dst"
[ "$(blkid -p -o value -s UUID "$(fx_part "$dst" 1)")" = "$fsid" ] || lb_fail "restored with another fsid"
mount -o ro "$(fx_part "$dst" 1)" "$mnt"
[ "$(cat "$mnt/file")" = kept ] || lb_fail "the restored file differs"
umount "$mnt"
echo "ok restored once no other disk holds the btrfs"
