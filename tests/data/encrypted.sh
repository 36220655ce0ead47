#!/usr/bin/env bash
# An encrypted capture of the demo machine (fixtures/layouts/gpt-server.sh:
# ESP, BIOS boot, /boot, swap, root) with a known string in a file of the
# mounted root (an archive) and of the unmounted /boot (an image):
#   - no file of the capture holds the string, the BIOS boot partition's
#     bytes or the boot code (an unencrypted capture of the same machine
#     does: the check can fail); the manifest says how it is encrypted;
#   - verify without the key passes, with a wrong key fails;
#   - restore and drill without the key, or with a wrong one, are refused
#     before any write (the wiped disk's checksum unchanged);
#   - drill with the key passes;
#   - restore with the key (among other key files) brings back the layout
#     and identities (lb_oracle), the root's tree and the known files;
#   - a flipped byte in a data file and in an artifact: verify fails with
#     and without the key, restore refuses, naming the file;
#   - a changed manifest (a label): restore and verify with the key refuse
#     it (its MAC).
# lb-timeout: 900
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT

lb_build_layout gpt-server >/dev/null
mapfile -t disks <"$LB_WORK/disks"
d=${disks[0]}
lb_new_disk_id "$d"
partprobe "$d" 2>/dev/null || true
known="lifeboat-known-plaintext-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
mount "${d}p3" "$mnt"
printf 'boot secret: %s\n' "$known" >"$mnt/shadow-boot"
umount "$mnt"
mount "${d}p5" "$mnt"
mkdir -p "$mnt/etc/ssh"
printf 'root:%s:19000:0:99999:7:::\n' "$known" >"$mnt/etc/shadow"
printf '%s\n' "$known" >"$mnt/etc/ssh/ssh_host_ed25519_key"
lb_populate "$mnt/tree"
# (with its POSIX ACLs: a file's ACL mask makes its group bits, which the
# drill's archive check once took for a changed mode)
getfacl -R -s -p "$mnt/tree" | grep -q '^# file' || lb_fail "lb_populate made no file with an ACL"
python3 "$LB_TOP/tests/tools/tree-manifest.py" "$mnt" >"$LB_WORK/tree.before"

head -c 64 /dev/urandom >"$LB_WORK/key"
printf 'another key\n' >"$LB_WORK/wrong-key"

# the root is mounted: an archive; /boot and the ESP are not: images
"$LIFEBOAT" capture --output "$LB_WORK/plain" --compress none --disk "$d" >/dev/null 2>&1
"$LIFEBOAT" capture --output "$LB_WORK/cap" --compress none --disk "$d" \
	--encrypt --key-file "$LB_WORK/key" >"$LB_WORK/capture.out" 2>&1 ||
	lb_fail "encrypted capture failed: $(cat "$LB_WORK/capture.out")"
umount "$mnt"
# (needs_recovery: whether the journal was replayed yet, state, not identity)
sync
lb_oracle "$d" | sed 's/ needs_recovery//' >"$LB_WORK/oracle.before"
"$LIFEBOAT" capture --output "$LB_WORK/bad" --encrypt --disk "$d" >/dev/null 2>&1 &&
	lb_fail "capture --encrypt without --key-file was not refused"

# ---- no plaintext anywhere in the capture -----------------------------
for s in "$known" lifeboat-bios-boot lifeboat-gpt-server-mbr-boot-code; do
	grep -rqaF -- "$s" "$LB_WORK/plain" || lb_fail "the unencrypted capture lacks '$s': the check proves nothing"
	if grep -rlaF -- "$s" "$LB_WORK/cap"; then
		lb_fail "'$s' is in the encrypted capture (files above)"
	fi
done
grep -q '<encryption cipher="aes-256-gcm" kdf="argon2id" kdf-time="3" kdf-memory="65536"' \
	"$LB_WORK/cap/manifest.xml" || lb_fail "the manifest does not say how it is encrypted"
n_art=$(grep -c 'sha256=' "$LB_WORK/cap/manifest.xml")
n_enc=$(grep -c 'encrypted="true"' "$LB_WORK/cap/manifest.xml")
[ "$n_art" -ge 4 ] && [ "$n_art" -eq "$n_enc" ] ||
	lb_fail "$n_enc of $n_art artifacts are recorded as encrypted"
"$LIFEBOAT" show "$LB_WORK/cap" | grep -q '^encrypted: every data file and artifact, aes-256-gcm' ||
	lb_fail "show does not say the capture is encrypted"
"$LIFEBOAT" show --json "$LB_WORK/cap" | python3 -c '
import json, sys
e = json.load(sys.stdin)["encryption"]
assert e["kdf"] == "argon2id" and e["kdf_memory"] == 65536 and len(e["salt"]) == 32, e' ||
	lb_fail "show --json lacks the encryption"

# ---- verify -------------------------------------------------------------
"$LIFEBOAT" verify "$LB_WORK/cap" >"$LB_WORK/v.out" 2>&1 ||
	lb_fail "verify without the key fails on an intact capture: $(cat "$LB_WORK/v.out")"
grep -q 'without the key' "$LB_WORK/v.out" || lb_fail "verify does not say it checked without the key"
"$LIFEBOAT" verify --key-file "$LB_WORK/key" "$LB_WORK/cap" >"$LB_WORK/v.out" 2>&1 ||
	lb_fail "verify with the key fails: $(cat "$LB_WORK/v.out")"
grep -q 'without the key' "$LB_WORK/v.out" && lb_fail "verify with the key did not decrypt"
rc=0
"$LIFEBOAT" verify --key-file "$LB_WORK/wrong-key" "$LB_WORK/cap" >"$LB_WORK/v.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'wrong key' "$LB_WORK/v.out" ||
	lb_fail "verify with a wrong key: exit $rc, $(cat "$LB_WORK/v.out")"

# ---- compare: the layout is readable without the key --------------------
rc=0
"$LIFEBOAT" compare "$LB_WORK/cap" >"$LB_WORK/c.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lb_fail "compare without the key on the intact disk: exit $rc: $(cat "$LB_WORK/c.out")"

# ---- refused before any write without the key --------------------------
lb_wipe "$d" 2>/dev/null
partprobe "$d" 2>/dev/null || true
lb_disk_sums "$d" >"$LB_WORK/sum.wiped"
lb_guard "$LB_WORK/cap"
for keys in "" "--key-file $LB_WORK/wrong-key"; do
	rc=0
	# shellcheck disable=SC2086
	"$LIFEBOAT" restore --yes --quick-format $keys "$LB_WORK/cap" >"$LB_WORK/r.out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || lb_fail "restore ${keys:-without a key}: exit $rc, not refused: $(cat "$LB_WORK/r.out")"
	if [ -n "$keys" ]; then want='wrong key'; else want='without its key'; fi
	grep -q "encrypted.*$want" "$LB_WORK/r.out" ||
		lb_fail "restore ${keys:-without a key} does not say why: $(cat "$LB_WORK/r.out")"
	lb_disk_sums "$d" | cmp -s - "$LB_WORK/sum.wiped" ||
		lb_fail "restore ${keys:-without a key} wrote to the disk"
done
rc=0
"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap" >"$LB_WORK/d.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q 'encrypted.*without its key' "$LB_WORK/d.out" ||
	lb_fail "drill without the key: exit $rc: $(cat "$LB_WORK/d.out")"
lb_disk_sums "$d" | cmp -s - "$LB_WORK/sum.wiped" || lb_fail "drill wrote to the disk"

# ---- tampering: a byte of a data file, a byte of an artifact ------------
tamper() { # FILE: flips a byte in the middle of FILE in a copy of the capture
	rm -rf "$LB_WORK/t"
	cp -a "$LB_WORK/cap" "$LB_WORK/t"
	python3 - "$LB_WORK/t/$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
off = os.fstat(fd).st_size // 2
b = os.pread(fd, 1, off)
os.pwrite(fd, bytes([b[0] ^ 0x40]), off)
os.close(fd)
PY
}
root_data=$(sed -n 's/.*<data file="\([^"]*\)".*method="archive".*/\1/p' "$LB_WORK/cap/manifest.xml" | head -1)
bios=$(sed -n 's/.*<content file="\([^"]*\)".*/\1/p' "$LB_WORK/cap/manifest.xml" | head -1)
[ -n "$root_data" ] && [ -n "$bios" ] || lb_fail "no archive or BIOS boot contents in the manifest"
for f in "$root_data" "$bios"; do
	tamper "$f"
	"$LIFEBOAT" verify "$LB_WORK/t" >"$LB_WORK/v.out" 2>&1 &&
		lb_fail "verify without the key passes with a byte of $f flipped"
	grep -q "FAILED.*$f" "$LB_WORK/v.out" || lb_fail "verify does not name $f: $(cat "$LB_WORK/v.out")"
	"$LIFEBOAT" verify --key-file "$LB_WORK/key" "$LB_WORK/t" >"$LB_WORK/v.out" 2>&1 &&
		lb_fail "verify with the key passes with a byte of $f flipped"
	grep -q "FAILED.*$f.*\(damaged or tampered\|SHA-256\)" "$LB_WORK/v.out" ||
		lb_fail "verify with the key does not say $f was tampered with: $(cat "$LB_WORK/v.out")"
	rc=0
	"$LIFEBOAT" restore --yes --quick-format --key-file "$LB_WORK/key" "$LB_WORK/t" \
		>"$LB_WORK/r.out" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] && grep -q "$f.*\(damaged or tampered\|SHA-256\)\|damaged.*$f" "$LB_WORK/r.out" ||
		lb_fail "restore of a capture with $f tampered: exit $rc: $(cat "$LB_WORK/r.out")"
	lb_disk_sums "$d" | cmp -s - "$LB_WORK/sum.wiped" || lb_fail "restore with $f tampered wrote"
done

# ---- the manifest is readable, but not to be changed: its MAC ----------
rm -rf "$LB_WORK/t"
cp -a "$LB_WORK/cap" "$LB_WORK/t"
sed -i 's/label="boot"/label="bOot"/' "$LB_WORK/t/manifest.xml"
! cmp -s "$LB_WORK/cap/manifest.xml" "$LB_WORK/t/manifest.xml" || lb_fail "the manifest was not changed"
rc=0
"$LIFEBOAT" restore --yes --quick-format --key-file "$LB_WORK/key" "$LB_WORK/t" >"$LB_WORK/r.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q 'manifest.xml: its MAC does not match.*tampered' "$LB_WORK/r.out" ||
	lb_fail "restore of a changed manifest: exit $rc: $(cat "$LB_WORK/r.out")"
lb_disk_sums "$d" | cmp -s - "$LB_WORK/sum.wiped" || lb_fail "restore of a changed manifest wrote"
rc=0
"$LIFEBOAT" verify --key-file "$LB_WORK/key" "$LB_WORK/t" >"$LB_WORK/v.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lb_fail "verify with the key of a changed manifest: exit $rc"

# ---- the rehearsal with the key -----------------------------------------
"$LIFEBOAT" drill --workdir "$LB_WORK/drill" --key-file "$LB_WORK/key" "$LB_WORK/cap" \
	>"$LB_WORK/d.out" 2>&1 || lb_fail "drill with the key failed: $(tail -n 20 "$LB_WORK/d.out")"
grep -q '^drill: PASSED' "$LB_WORK/d.out" || lb_fail "drill with the key did not pass"
lb_disk_sums "$d" | cmp -s - "$LB_WORK/sum.wiped" || lb_fail "drill wrote to the disk"

# ---- the round trip with the key ---------------------------------------
"$LIFEBOAT" restore --yes --quick-format --key-file "$LB_WORK/wrong-key" --key-file "$LB_WORK/key" \
	--marker "$LB_WORK/marker.xml" "$LB_WORK/cap" >"$LB_WORK/r.out" 2>&1 ||
	lb_fail "restore with the key failed: $(cat "$LB_WORK/r.out")"
lb_oracle "$d" | sed 's/ needs_recovery//' >"$LB_WORK/oracle.after"
diff -u "$LB_WORK/oracle.before" "$LB_WORK/oracle.after" || lb_fail "layout or identities differ"
mount -o ro "${d}p5" "$mnt"
python3 "$LB_TOP/tests/tools/tree-manifest.py" "$mnt" >"$LB_WORK/tree.after"
grep -qF "$known" "$mnt/etc/shadow" || lb_fail "the root's /etc/shadow did not come back"
umount "$mnt"
diff -u "$LB_WORK/tree.before" "$LB_WORK/tree.after" || lb_fail "the root's tree differs"
mount -o ro "${d}p3" "$mnt"
grep -qF "$known" "$mnt/shadow-boot" || lb_fail "/boot's file did not come back"
umount "$mnt"
echo "PASS: $(lb_name)"
