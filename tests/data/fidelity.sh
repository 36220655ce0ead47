#!/usr/bin/env bash
# lb-timeout: 1800
# The fidelity of an archive, for every filesystem lifeboat archives: an
# ext4, an xfs and a btrfs on one disk, mounted, filled with what a real
# system holds and a restore may lose: SELinux labels (security.selinux:
# this kernel has no SELinux, the attribute is kept as it is), file
# capabilities, immutable and append-only files, an immutable directory
# with children (and a hard link to an immutable file), nodump, noatime,
# sync and dirsync, ext4's secure-deletion, undelete, no-tail and topdir,
# btrfs' nocow files and a nocow directory (a file made in it before it
# was nocow is not, one made after is), compression and no-compression,
# project IDs with inherit (xfs; ext4 with the project feature where this
# kernel mounts it), sparse, preallocated and dense files, hard links,
# ACLs and user xattrs. xfs and ext4 refuse nocow (chattr +C fails:
# EOPNOTSUPP), so they hold none. (vfat is not here: this kernel has none,
# and an archive of one holds only names, data and times.)
#
# Captured mounted (archives), restored onto a blank disk, and compared
# with oracles that are not lifeboat's: stat (type, mode, owner, links,
# mtime in ns, size, allocated blocks), sha256sum, getfattr -d -m -,
# getcap, lsattr, lsattr -p, getfacl, filefrag (unwritten extents); then a
# drill of the capture (its compare reads the flags back, and writes
# nothing into a tree holding immutable files).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
for t in mkfs.xfs mkfs.btrfs setcap getcap getfattr setfattr getfacl setfacl lsattr chattr \
	filefrag fallocate xfs_io; do
	command -v "$t" >/dev/null || { echo "SKIP: $(lb_name): no $t"; exit 77; }
done
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
FSES="ext4 xfs btrfs"
cleanup() {
	local fs
	for fs in $FSES; do
		# (what is immutable in the work dir's mounts goes with the disk)
		umount -q "$LB_WORK/m-$fs" 2>/dev/null || true
	done
	lb_cleanup
}
trap cleanup EXIT
# (other tests probe blank loop devices, holding them for a moment)
busy_retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$@" && return 0
		sleep 1
	done
	"$@"
}

dev=$(fx_attach "$LB_WORK/disk.img" 1100M)
sfdisk -q "$dev" <<'LAYOUT'
label: gpt
size=200MiB, name="ext4"
size=400MiB, name="xfs"
size=400MiB, name="btrfs"
LAYOUT
fx_reread "$dev"
part_ext4=${dev}p1 part_xfs=${dev}p2 part_btrfs=${dev}p3
ext4_project=yes
mkfs.ext4 -q -O project,quota -L ext4 "$part_ext4"
mkdir -p "$LB_WORK/m-ext4" "$LB_WORK/m-xfs" "$LB_WORK/m-btrfs"
if ! mount "$part_ext4" "$LB_WORK/m-ext4" 2>/dev/null; then
	# (a kernel without CONFIG_QFMT_V2 mounts no ext4 with project IDs)
	echo "note: this kernel mounts no ext4 with project quotas: ext4 without project IDs here"
	ext4_project=no
	mkfs.ext4 -q -F -L ext4 "$part_ext4"
	mount "$part_ext4" "$LB_WORK/m-ext4"
fi
mkfs.xfs -q -f -L xfs "$part_xfs"
mkfs.btrfs -q -f -L btrfs "$part_btrfs" >/dev/null
busy_retry mount "$part_xfs" "$LB_WORK/m-xfs"
busy_retry mount "$part_btrfs" "$LB_WORK/m-btrfs"

# populate FS DIR: what every filesystem gets, then what only it keeps
populate() {
	local fs=$1 d=$2
	mkdir -p "$d/etc" "$d/bin" "$d/data" "$d/locked/sub" "$d/logs" "$d/spool"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$d/etc/passwd"
	setfattr -n security.selinux -v 'system_u:object_r:passwd_file_t:s0' "$d/etc/passwd"
	setfattr -n security.selinux -v 'system_u:object_r:etc_t:s0' "$d/etc"
	setfattr -n user.note -v 'hello world' "$d/etc/passwd"
	head -c 200000 /dev/urandom >"$d/bin/ping"
	setcap cap_net_raw+ep "$d/bin/ping"
	setfattr -n security.selinux -v 'system_u:object_r:ping_exec_t:s0' "$d/bin/ping"
	# allocation: dense (random, so no filesystem makes holes of it),
	# sparse (holes around data), preallocated (allocated, unwritten)
	head -c 4M /dev/urandom >"$d/data/dense"
	truncate -s 64M "$d/data/sparse"
	printf 'middle' | dd of="$d/data/sparse" bs=1M seek=20 conv=notrunc status=none
	fallocate -l 8M "$d/data/prealloc"
	printf 'head' | dd of="$d/data/prealloc" conv=notrunc status=none
	ln "$d/data/dense" "$d/data/dense-link"
	setfacl -m u:1234:rw,g:4321:r "$d/data/dense"
	setfacl -d -m g:55:rx "$d/spool"
	# flags every one of them keeps
	printf 'do not touch\n' >"$d/etc/immutable"
	ln "$d/etc/immutable" "$d/etc/immutable-link"
	printf 'line 1\n' >"$d/logs/append-only"
	printf 'child\n' >"$d/locked/child"
	printf 'deeper\n' >"$d/locked/sub/deeper"
	printf 'skip me\n' >"$d/data/nodump"
	printf 'synced\n' >"$d/data/sync"
	chattr +d "$d/data/nodump"
	chattr +S "$d/data/sync"
	chattr +A "$d/spool"
	case $fs in
	ext4)
		chattr +D "$d/spool"
		printf 'ext4 only\n' >"$d/data/ext4-flags"
		chattr +s +u +t "$d/data/ext4-flags"
		mkdir "$d/top"
		chattr +T "$d/top"
		if chattr +C "$d/data/dense" 2>/dev/null; then lb_fail "ext4 took nocow (test broken)"; fi
		if [ "$ext4_project" = yes ]; then
			mkdir -p "$d/projects/web"
			chattr -p 42 +P "$d/projects/web"
			printf 'index\n' >"$d/projects/web/index.html"
		fi
		;;
	xfs)
		if chattr +C "$d/data/dense" 2>/dev/null; then lb_fail "xfs took nocow (test broken)"; fi
		mkdir -p "$d/projects/web/html" "$d/projects/plain"
		chattr -p 42 +P "$d/projects/web"
		printf 'index\n' >"$d/projects/web/index.html"
		mkdir "$d/projects/web/inherited"
		chattr -p 7 "$d/projects/plain"
		;;
	btrfs)
		chattr +D "$d/spool"
		# a nocow file: nocow while it is empty, then its data
		: >"$d/data/nocow-file"
		chattr +C "$d/data/nocow-file"
		head -c 1M /dev/urandom >>"$d/data/nocow-file"
		# a nocow directory: what was made in it before is not, what
		# is made after is (it takes it on)
		mkdir "$d/vm"
		head -c 300000 /dev/urandom >"$d/vm/before-nocow"
		chattr +C "$d/vm"
		head -c 300000 /dev/urandom >"$d/vm/disk.img"
		mkdir "$d/vm/inner"
		# compression asked for, and refused
		: >"$d/data/compressed"
		chattr +c "$d/data/compressed"
		fx_pattern 'compress me ' 100000 >>"$d/data/compressed"
		mkdir "$d/media"
		chattr +m "$d/media"
		head -c 100000 /dev/urandom >"$d/media/photo"
		;;
	esac
	touch -d '2021-03-04 05:06:07.123456789' "$d/data/dense" "$d/etc/passwd"
	# last: what refuses any change after it
	chattr +i "$d/etc/immutable"
	chattr +a "$d/logs/append-only"
	chattr +i "$d/locked"
}

# describe ROOT: one line per fact about every file, from the oracles
describe() {
	local root=$1 p f t
	declare -A first
	(cd "$root" && find . -path ./lost+found -prune -o -print | LC_ALL=C sort) |
		while IFS= read -r p; do
			f=$root/${p#./}
			t=$(stat -c %F "$f")
			# (a directory's size and blocks are the filesystem's
			# business; a symlink's time is not restored by anyone)
			case $t in
			"regular file"*) stat -c "$p %F %a %u:%g %h %.9Y size=%s blocks=%b" "$f" ;;
			directory) stat -c "$p %F %a %u:%g %.9Y" "$f" ;;
			*) stat -c "$p %F %a %u:%g" "$f" ;;
			esac
			getfattr -h -d -m - -e hex --absolute-names "$f" 2>/dev/null | sed -n "s|^\([^#].*\)|$p xattr \1|p"
			case $t in
			"regular file"* | directory)
				echo "$p lsattr $(lsattr -d "$f" | cut -d' ' -f1)"
				case $root in *btrfs*) ;; *) echo "$p project $(lsattr -pd "$f" | awk '{print $1}')" ;; esac
				getfacl -cpn "$f" 2>/dev/null | sed -n "s|^\(.\)|$p acl \1|p"
				;;
			esac
			case $t in
			"regular file"*)
				ino=$(stat -c %i "$f")
				if [ -n "${first[$ino]:-}" ]; then
					echo "$p hard link to ${first[$ino]}"
					continue
				fi
				first[$ino]=$p
				echo "$p sha256 $(sha256sum <"$f" | cut -d' ' -f1)"
				echo "$p caps $(getcap "$f" | cut -d' ' -f2-)"
				echo "$p unwritten $(filefrag -v "$f" | grep -c unwritten || true)"
				;;
			esac
		done
}

for fs in $FSES; do
	populate "$fs" "$LB_WORK/m-$fs"
	sync -f "$LB_WORK/m-$fs"
	describe "$LB_WORK/m-$fs" >"$LB_WORK/$fs.before"
done
# the test holds what it is about (a test that cannot fail is no test)
for fs in $FSES; do
	b=$LB_WORK/$fs.before
	grep -q '^./etc/immutable lsattr ----i' "$b" &&
		grep -q '^./logs/append-only lsattr -----a' "$b" &&
		grep -q '^./locked lsattr ----i' "$b" &&
		grep -q "^./bin/ping xattr security.selinux=0x" "$b" &&
		grep -q '^./bin/ping caps cap_net_raw=ep' "$b" &&
		grep -q '^./data/dense acl user:1234:rw-' "$b" &&
		grep -q '^./data/sparse regular file .* size=67108864 blocks=[0-9]\{1,3\}$' "$b" &&
		grep -q '^./data/prealloc unwritten [1-9]' "$b" &&
		grep -q '^./data/dense-link hard link to ./data/dense' "$b" ||
		lb_fail "$fs: the tree lacks what the test is about (test broken): $(cat "$b")"
done
grep -q '^./vm/disk.img lsattr .*C' "$LB_WORK/btrfs.before" &&
	grep -q '^./vm/before-nocow lsattr -*$' "$LB_WORK/btrfs.before" &&
	grep -q '^./data/nocow-file lsattr .*C' "$LB_WORK/btrfs.before" &&
	grep -q '^./media lsattr .*m' "$LB_WORK/btrfs.before" ||
	lb_fail "btrfs: no nocow or compression flags (test broken)"
grep -q '^./projects/web/inherited project 42' "$LB_WORK/xfs.before" ||
	lb_fail "xfs: no inherited project ID (test broken)"

"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap" >"$LB_WORK/capture.log" 2>&1 || {
	cat "$LB_WORK/capture.log"
	lb_fail "capture failed"
}
for fs in $FSES; do umount "$LB_WORK/m-$fs"; done
[ "$(grep -c 'method="archive"' "$LB_WORK/cap/manifest.xml")" = 3 ] || {
	cat "$LB_WORK/capture.log"
	lb_fail "expected 3 archive volumes"
}
# forget DEV: the disk dead (mkfs.btrfs refuses to make a btrfs with a UUID
# that a device here still holds)
forget() {
	local p
	for p in "$1"p*; do
		btrfs device scan --forget "$p" 2>/dev/null || true
	done
	busy_retry wipefs -a -q "$1"p* "$1"
}
forget "$dev"

target=$(fx_attach "$LB_WORK/target.img" 1100M)
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/cap" \
	>"$LB_WORK/restore.log" 2>&1 || {
	cat "$LB_WORK/restore.log"
	lb_fail "restore failed"
}
if grep -q 'inode flag' "$LB_WORK/restore.log"; then
	cat "$LB_WORK/restore.log"
	lb_fail "the restore onto the same filesystems warned of a flag not set"
fi
n=1 bad=
for fs in $FSES; do
	busy_retry mount -o ro "${target}p$n" "$LB_WORK/m-$fs"
	describe "$LB_WORK/m-$fs" >"$LB_WORK/$fs.after"
	umount "$LB_WORK/m-$fs"
	n=$((n + 1))
	# (every filesystem's differences shown before the verdict)
	if ! diff -u "$LB_WORK/$fs.before" "$LB_WORK/$fs.after"; then
		bad="$bad $fs"
		continue
	fi
	echo "ok: $fs restored with everything the oracles see"
done
[ -z "$bad" ] || lb_fail "the restored trees differ:$bad"

forget "$target"
"$LIFEBOAT" drill --workdir "$LB_WORK/drill" "$LB_WORK/cap" >"$LB_WORK/drill.log" 2>&1 || {
	cat "$LB_WORK/drill.log"
	lb_fail "drill failed"
}
echo "ok: drill of the three archives passes"
