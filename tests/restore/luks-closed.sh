#!/usr/bin/env bash
# A LUKS container closed at capture (issue 13): there is no used-block
# map to capture its ciphertext by, so --data auto gives it no data and
# says why; --data image takes its partition whole (header and ciphertext,
# never plaintext). On a blank disk both restore without any key (nothing
# inside is opened: this host has no device-mapper, and needs none): the
# header comes back byte for byte (same UUID, same keyslots: cryptsetup
# opens the restored header with the original passphrase), and from the
# image capture the whole partition, ciphertext included, is as it was.
# drill rehearses the image capture the same way.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
command -v cryptsetup >/dev/null || { echo "SKIP: $(lb_name): needs cryptsetup"; exit 77; }
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"

dev=$(fx_attach "$LB_WORK/disk.img" 64M)
printf 'label: gpt\nsize=40MiB, name=crypt\n' | sfdisk -q --no-reread --no-tell-kernel "$dev"
lb_new_disk_id "$dev"
fx_reread "$dev"
p1=$(fx_part "$dev" 1)
printf 'the passphrase' >"$LB_WORK/key"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--label vault --key-file "$LB_WORK/key" "$p1" || lb_fail "luksFormat"
# what dm-crypt would have written: bytes no one can read without the key
off=$(cryptsetup luksDump "$p1" | sed -n 's/^\toffset: *\([0-9]*\) \[bytes\]$/\1/p' | head -n1)
[ -n "$off" ] || lb_fail "no data segment offset in luksDump"
head -c 3M /dev/urandom | dd of="$p1" bs=1M seek="$off" oflag=seek_bytes conv=notrunc,fsync status=none
sum_before=$(sha256sum <"$p1")
dump_before=$(cryptsetup luksDump "$p1")

out=$("$LIFEBOAT" capture --data auto --disk "$dev" --output "$LB_WORK/cap-auto" 2>&1) ||
	{ echo "$out"; lb_fail "capture --data auto"; }
echo "$out" | grep -q 'disk0p1: a LUKS container not open here: no used-block map' ||
	{ echo "$out"; lb_fail "no warning saying why the closed container gets no data"; }
[ -z "$(find "$LB_WORK/cap-auto" -name '*.data')" ] || lb_fail "data captured for a closed container under --data auto"
"$LIFEBOAT" capture --data image --disk "$dev" --output "$LB_WORK/cap-image" >/dev/null 2>&1 ||
	lb_fail "capture --data image"
[ -f "$LB_WORK/cap-image/disk0p1.data" ] && grep -q 'method="image"' "$LB_WORK/cap-image/manifest.xml" ||
	lb_fail "no image of the closed container"

for c in cap-auto cap-image; do
	lb_wipe "$dev"
	out=$("$LIFEBOAT" restore --yes --quick-format "$LB_WORK/$c" 2>&1) ||
		{ echo "$out"; lb_fail "$c: restore without a key"; }
	fx_reread "$dev"
	[ "$(cryptsetup luksDump "$p1")" = "$dump_before" ] || lb_fail "$c: the LUKS header is not as captured"
	cryptsetup open --test-passphrase --key-file "$LB_WORK/key" "$p1" ||
		lb_fail "$c: the original passphrase does not open the restored header"
done
[ "$(sha256sum <"$p1")" = "$sum_before" ] || lb_fail "cap-image: the partition (ciphertext) is not as captured"

out=$("$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap-image" 2>&1) ||
	{ echo "$out"; lb_fail "drill of the image capture"; }
echo "PASS: $(lb_name)"
