#!/usr/bin/env bash
# Inode flags in an archive, restored in the right order and said when
# they cannot be: an archive made by hand (so that it holds what no
# capture on this machine would) is put into a capture as an ext4 volume's
# data and restored onto a blank disk:
#   - an immutable directory listed before its children and a
#     subdirectory's, and an immutable file listed before a hard link to
#     it: all extracted, then made immutable (not refused halfway);
#   - an append-only file with its data;
#   - nocow on ext4, which does not keep it: a warning that names the file
#     and the flag, the restore goes on and succeeds;
#   - a flag letter this lifeboat does not know (from a newer one): a
#     warning, the letters it knows set;
#   - an archive made before lifeboat.flags existed: libarchive's own
#     record (SCHILY.fflags: "nodump,sappnd", "schg" on a directory with a
#     child) restored as well.
# lsattr is the oracle. Then a drill of it: its compare names the one flag
# the filesystem could not keep (nocow) and nothing else, and writes
# nothing into the tree (immutable files in it).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
wrap=${LB_WRAP:-$LB_TOP/build/tests/lb-wrap}
[ -x "$wrap" ] || lb_fail "$wrap is not built (make check-plain or make check builds it)"

dev=$(fx_attach "$LB_WORK/disk.img" 64M)
printf 'label: gpt\nsize=40MiB\n' | sfdisk -q "$dev"
fx_reread "$dev"
mkfs.ext4 -q "${dev}p1"
mount "${dev}p1" "$mnt"
echo hello >"$mnt/hello"
"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap" >/dev/null 2>&1 || lb_fail "capture failed"
umount "$mnt"
grep -q 'method="archive"' "$LB_WORK/cap/manifest.xml" || lb_fail "expected an archive volume"

python3 - "$LB_WORK/flags.tar" <<'PY'
import io, sys, tarfile
def add(tf, name, data=b"", flags=None, fflags=None, **kw):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1600000000
    ti.mode = 0o755 if kw.get("type") == tarfile.DIRTYPE else 0o644
    for k, v in kw.items():
        setattr(ti, k, v)
    if flags is not None:
        ti.pax_headers["SCHILY.xattr.lifeboat.flags"] = flags
    if fflags is not None:
        ti.pax_headers["SCHILY.fflags"] = fflags
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)
D = tarfile.DIRTYPE
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf, "./", type=D)
    add(tf, "./locked", type=D, flags="i")
    add(tf, "./locked/child", b"child\n")
    add(tf, "./locked/sub", type=D)
    add(tf, "./locked/sub/deeper", b"deeper\n", flags="d")
    add(tf, "./imm", b"immutable\n", flags="i")
    add(tf, "./imm-link", type=tarfile.LNKTYPE, linkname="./imm")
    add(tf, "./app", b"line 1\n", flags="a")
    add(tf, "./nocow", b"x" * 100000, flags="C")
    add(tf, "./future", b"future\n", flags="dQ")
    add(tf, "./old", b"old\n", fflags="nodump,sappnd")
    add(tf, "./oldlocked", type=D, fflags="schg")
    add(tf, "./oldlocked/child", b"old child\n")
PY
read -r sum size < <("$wrap" "$LB_WORK/cap/disk0p1.data" <"$LB_WORK/flags.tar")
sed -i "s|<data file=\"disk0p1.data\" size=\"[0-9]*\" sha256=\"[0-9a-f]*\"|<data file=\"disk0p1.data\" size=\"$size\" sha256=\"$sum\"|" \
	"$LB_WORK/cap/manifest.xml"
"$LIFEBOAT" verify "$LB_WORK/cap" >/dev/null || lb_fail "the wrapped archive does not verify (test broken)"

target=$(fx_attach "$LB_WORK/target.img" 64M)
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/cap" \
	>"$LB_WORK/restore.out" 2>&1 || {
	cat "$LB_WORK/restore.out"
	lb_fail "restore failed"
}
grep -q "/nocow: inode flag C (no copy on write) not set: the filesystem does not keep it" \
	"$LB_WORK/restore.out" || {
	cat "$LB_WORK/restore.out"
	lb_fail "no warning naming the file and the flag ext4 does not keep"
}
grep -q "/future: inode flags 'Q' unknown to this lifeboat: not set" "$LB_WORK/restore.out" || {
	cat "$LB_WORK/restore.out"
	lb_fail "no warning for the unknown flag letter"
}
[ "$(grep -c 'inode flag' "$LB_WORK/restore.out")" = 2 ] || {
	cat "$LB_WORK/restore.out"
	lb_fail "warnings about flags that were set"
}
echo "ok: restored; the flag ext4 does not keep and the unknown one said, by file and flag"

mount -o ro "${target}p1" "$mnt"
flags() { lsattr -d "$mnt/$1" | cut -d' ' -f1 | tr -d 'e-'; }
for want in locked:i locked/child: locked/sub: locked/sub/deeper:d imm:i app:a nocow: \
	future:d old:ad oldlocked:i oldlocked/child:; do
	got=$(flags "${want%%:*}")
	[ "$got" = "${want#*:}" ] || lb_fail "${want%%:*}: flags '$got', expected '${want#*:}'"
done
[ "$(stat -c %i "$mnt/imm")" = "$(stat -c %i "$mnt/imm-link")" ] || lb_fail "imm-link is not a hard link"
[ "$(cat "$mnt/locked/sub/deeper" "$mnt/app" "$mnt/oldlocked/child")" = "$(printf 'deeper\nline 1\nold child')" ] ||
	lb_fail "contents differ"
[ "$(stat -c %Y "$mnt/locked")" = 1600000000 ] || lb_fail "the immutable directory's time was not set"
umount "$mnt"
echo "ok: lsattr shows every flag where it was, the immutable directory's children inside it"

rc=0
"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap" >"$LB_WORK/drill.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "/nocow: inode flags ('C' recorded, '' found) differs from the archive" \
	"$LB_WORK/drill.out" && [ "$(grep -c 'differs from the archive' "$LB_WORK/drill.out")" = 1 ] || {
	cat "$LB_WORK/drill.out"
	lb_fail "drill exit $rc: expected 1 and the nocow file named, alone"
}
echo "ok: drill names the one flag not kept, and nothing else"
