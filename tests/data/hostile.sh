#!/usr/bin/env bash
# Hostile archive entries never escape the volume being restored: "../",
# an absolute path, a symlink followed by a file through it, and a
# directory with a project ID that a later entry replaces by a symlink
# (its project is set once everything is out, by its name as recorded,
# "shelter/": the trailing slash would follow the link even with
# O_NOFOLLOW, out to a directory on an xfs beside the target); and a
# record of preallocated ranges that is not valid (not ranges, past the
# file's end, out of order), of a project ID (not a number and a flag,
# past 32 bits), or of inode flags (not letters), is refused, not half applied. Each is put into
# a capture as an archive volume's data (with a correct SHA-256), and
# restore must refuse it, name the entry, and create nothing outside.
# Then the capture's own files as something else than files: a data file
# that is a FIFO (an open would wait forever) or a device, and a manifest
# that is a FIFO: verify and restore say so at once and write nothing
# (restore finds the data files while planning; verify opens them).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT
# (make check runs the sanitized one: LB_WRAP, set by tests/run.sh)
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
target=$(fx_attach "$LB_WORK/target.img" 64M)
outside=$LB_WORK/outside
mkdir -p "$outside"
# (an xfs keeps project IDs: one set through the link would show there)
victim=
if command -v mkfs.xfs >/dev/null; then
	xdev=$(fx_attach "$LB_WORK/outside-xfs.img" 300M)
	mkfs.xfs -q -f "$xdev"
	mkdir -p "$LB_WORK/outside-xfs"
	mount "$xdev" "$LB_WORK/outside-xfs"
	victim=$LB_WORK/outside-xfs/victim
	mkdir "$victim"
fi

for kind in dotdot absolute symlink prealloc-garbage prealloc-beyond prealloc-overlap \
	project-garbage project-huge project-symlink flags-garbage; do
	if [ "$kind" = project-symlink ] && [ -z "$victim" ]; then
		echo "note: no mkfs.xfs: $kind not tried"
		continue
	fi
	python3 - "$kind" "$outside" "$LB_WORK/evil.tar" "$victim" <<'PY'
import io, sys, tarfile
kind, outside, out, victim = sys.argv[1:]
def add(tf, name, data=b"x", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf, "./ok.txt", b"fine\n")
    if kind == "dotdot":
        add(tf, "../../../../../../.." + outside + "/escaped-dotdot")
    elif kind == "absolute":
        add(tf, outside + "/escaped-absolute")
    elif kind == "symlink":
        add(tf, "./link", type=tarfile.SYMTYPE, linkname=outside)
        add(tf, "./link/escaped-symlink")
    elif kind == "flags-garbage":
        # inode flags that are not letters
        add(tf, "./flagged", b"data\n", pax_headers={"SCHILY.xattr.lifeboat.flags": "i;rm -rf"})
    elif kind == "project-symlink":
        # (tarfile names a directory "shelter/"; libarchive removes the
        # empty directory to make the link)
        add(tf, "./shelter", type=tarfile.DIRTYPE, mode=0o755,
            pax_headers={"SCHILY.xattr.lifeboat.project": "42 inherit"})
        add(tf, "./shelter", type=tarfile.SYMTYPE, linkname=victim)
    elif kind.startswith("project-"):
        # a project record that is not one lifeboat writes: not a number
        # and a flag, a number past 32 bits
        rec = {"project-garbage": "42 inherit; x", "project-huge": "4294967296"}[kind]
        add(tf, "./projected", b"data\n", pax_headers={"SCHILY.xattr.lifeboat.project": rec})
    else:
        # a preallocation record that is not one lifeboat writes: not
        # ranges, a range past the file's end, ranges out of order
        rec = {"prealloc-garbage": "0+4096 x", "prealloc-beyond": "0+1099511627776",
               "prealloc-overlap": "0+4096 0+4096"}[kind]
        add(tf, "./preallocated", b"\0" * 8192,
            pax_headers={"SCHILY.xattr.lifeboat.prealloc": rec})
PY
	lb_wipe "$target" 2>/dev/null
	rm -rf "$LB_WORK/evil-cap"
	cp -a "$LB_WORK/cap" "$LB_WORK/evil-cap"
	read -r sum size < <("$wrap" "$LB_WORK/evil-cap/disk0p1.data" <"$LB_WORK/evil.tar")
	sed -i "s|<data file=\"disk0p1.data\" size=\"[0-9]*\" sha256=\"[0-9a-f]*\"|<data file=\"disk0p1.data\" size=\"$size\" sha256=\"$sum\"|" \
		"$LB_WORK/evil-cap/manifest.xml"
	"$LIFEBOAT" verify "$LB_WORK/evil-cap" >/dev/null || lb_fail "$kind: the wrapped archive does not verify (test broken)"
	rc=0
	"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/evil-cap" \
		>"$LB_WORK/restore.out" 2>&1 || rc=$?
	if [ -n "$victim" ]; then
		proj=$(lsattr -pd "$victim" | awk '{ print $1 }')
		[ "$proj" = 0 ] || lb_fail "$kind: escaped: project $proj set on $victim, outside the target"
		[ -z "$(ls -A "$victim")" ] || lb_fail "$kind: something escaped: $(ls -A "$victim")"
	fi
	[ "$rc" = 1 ] || {
		cat "$LB_WORK/restore.out"
		lb_fail "$kind: restore of a hostile archive exited $rc, not 1"
	}
	case $kind in
	prealloc-*) said='preallocated: the record of its preallocated ranges is not valid' ;;
	project-symlink) said='shelter/*: cannot open it to set its project ID' ;;
	project-*) said='projected: the record of its project ID is not valid' ;;
	flags-*) said='flagged: the record of its inode flags is not valid' ;;
	*) said='refused to extract' ;;
	esac
	grep -q "$said" "$LB_WORK/restore.out" || {
		cat "$LB_WORK/restore.out"
		lb_fail "$kind: the hostile entry is not named"
	}
	[ -z "$(ls -A "$outside")" ] || lb_fail "$kind: something escaped: $(ls -A "$outside")"
	[ ! -e "/escaped-dotdot" ] && [ ! -e "/tmp/escaped-dotdot" ] || lb_fail "$kind: escaped to /"
	echo "ok: $kind refused"
done

# a blank target: the capture's volume must be made, from its data
partx -d "$target" >/dev/null 2>&1 || true
dd if=/dev/zero of="$target" bs=1M count=64 conv=fsync status=none
sum_before=$(sha256sum <"$target")
for kind in fifo device manifest-fifo; do
	rm -rf "$LB_WORK/odd-cap"
	cp -a "$LB_WORK/cap" "$LB_WORK/odd-cap"
	case $kind in
	fifo) rm "$LB_WORK/odd-cap/disk0p1.data" && mkfifo "$LB_WORK/odd-cap/disk0p1.data" ;;
	device) rm "$LB_WORK/odd-cap/disk0p1.data" && mknod "$LB_WORK/odd-cap/disk0p1.data" c 1 3 ;;
	manifest-fifo) rm "$LB_WORK/odd-cap/manifest.xml" && mkfifo "$LB_WORK/odd-cap/manifest.xml" ;;
	esac
	for cmd in verify restore; do
		rc=0
		if [ "$cmd" = verify ]; then
			timeout 60 "$LIFEBOAT" verify "$LB_WORK/odd-cap" >"$LB_WORK/odd.out" 2>&1 || rc=$?
		else
			timeout 60 "$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" \
				"$LB_WORK/odd-cap" >"$LB_WORK/odd.out" 2>&1 || rc=$?
		fi
		[ "$rc" != 124 ] || lb_fail "$kind: $cmd hangs"
		[ "$rc" != 0 ] || lb_fail "$kind: $cmd succeeded"
		grep -q 'not a regular file' "$LB_WORK/odd.out" || {
			cat "$LB_WORK/odd.out"
			lb_fail "$kind: $cmd does not say what is wrong"
		}
	done
	[ "$(sha256sum <"$target")" = "$sum_before" ] || lb_fail "$kind: the target was written to"
	echo "ok: $kind refused at once, nothing written"
done
