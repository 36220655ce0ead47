#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/tools/fresh-chroot.sh: the README's set-up commands on a fresh Debian
# 12 that has nothing installed: a minbase debootstrap in a chroot, /proc,
# /sys and /dev bound in (the demo and the tests use loop devices), this
# repository cloned into /root/lifeboat, then each COMMAND run there with
# sh -c as root, one after the other, with a clean environment. Stops at the
# first command that fails and exits with its status; the chroot is
# unmounted and removed at the end (unless --keep).
#
#   tests/tools/fresh-chroot.sh [--root DIR] [--tarball FILE] [--rev REV]
#                               [--mirror URL] [--keep] [COMMAND...]
#
# Default commands: the README's two, 'sh tests/install-deps.sh && make demo'
# and 'sh tests/install-deps.sh && make check'. --tarball caches debootstrap's
# downloads (made on first use). Root; downloads Debian (about 45 MB, then
# the dependencies): not part of make check.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
root='' tarball='' rev=HEAD keep=0
mirror=${MIRROR:-http://deb.debian.org/debian}
security=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--tarball) tarball=$2; shift 2 ;;
	--rev) rev=$2; shift 2 ;;
	--mirror) mirror=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--) shift; break ;;
	-*) echo "fresh-chroot: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	set -- 'sh tests/install-deps.sh && make demo' 'sh tests/install-deps.sh && make check'
fi
[ "$(id -u)" -eq 0 ] || { echo "fresh-chroot: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "fresh-chroot: needs debootstrap" >&2; exit 1; }
if [ -z "$root" ]; then
	root=$(mktemp -d "${TMPDIR:-/var/tmp}/fresh-chroot.XXXXXX")
	rmdir "$root"
fi
[ ! -e "$root" ] || { echo "fresh-chroot: $root exists; give a new directory" >&2; exit 1; }
mkdir -p "$root"
root=$(realpath "$root")

# what is mounted at or under $root, deepest first
mounts_under() {
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

cleanup() {
	rc=$?
	set +e
	for m in $(mounts_under); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if [ -n "$(mounts_under)" ]; then
		echo "fresh-chroot: still mounted under $root, not removing it:" >&2
		mounts_under >&2
		exit 1
	fi
	if [ "$keep" -eq 1 ]; then
		echo "fresh-chroot: kept $root (unmounted)"
	else
		# one file system only: never into anything mounted after the check
		rm -rf --one-file-system -- "$root"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

t0=$(date +%s)
if [ -n "$tarball" ] && [ ! -f "$tarball" ]; then
	echo "fresh-chroot: downloading Debian 12 minbase into $tarball"
	debootstrap --variant=minbase --make-tarball="$tarball" bookworm "$root.tb" "$mirror" >/dev/null
	rm -rf --one-file-system -- "$root.tb"
fi
echo "fresh-chroot: debootstrap --variant=minbase bookworm $root $mirror"
if [ -n "$tarball" ]; then
	debootstrap --variant=minbase --unpack-tarball="$(realpath "$tarball")" bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
		{ tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
else
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
		{ tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
fi
rm -f "$root.log"

# Debian 12's own apt sources (a cloud image's), from the same mirror
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
# and, as on a cloud image, no package lists yet (debootstrap leaves its own)
find "$root/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# a chroot has no init: packages must not start services
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

# / of a real machine is a mount point: 'unshare --mount' (as in
# tests/restore/rollback.sh) fails with EINVAL in a chroot whose / is not
mount --bind "$root" "$root"
mount --make-private "$root"
# The host's /proc, /sys and /dev (loop devices, /dev/loop-control and the
# partition nodes the kernel makes), each a slave so that unmounting the
# chroot's copies never unmounts the host's.
for d in proc sys dev; do
	mount --rbind "/$d" "$root/$d"
	mount --make-rslave "$root/$d"
done
mount -t tmpfs -o mode=0755 tmpfs "$root/run"

# The tree as a fresh clone has it (the commands get nothing else)
git -C "$top" rev-parse --verify -q "$rev^{commit}" >/dev/null ||
	{ echo "fresh-chroot: $rev is not a commit of $top" >&2; exit 1; }
git clone -q --no-local --no-checkout "$top" "$root/root/lifeboat"
git -C "$root/root/lifeboat" checkout -q --detach "$(git -C "$top" rev-parse "$rev^{commit}")"
echo "fresh-chroot: /root/lifeboat is $(git -C "$top" log -1 --format='%h %s' "$rev" | cut -c1-72)"
echo "fresh-chroot: in the chroot: make $(chroot "$root" sh -c 'command -v make || echo absent'), git $(chroot "$root" sh -c 'command -v git || echo absent'), $(find "$root/var/lib/apt/lists" -name '*_Packages' | wc -l) apt package lists"

for cmd in "$@"; do
	echo "fresh-chroot: # $cmd"
	s=$(date +%s)
	rc=0
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/sh -c "cd /root/lifeboat && { $cmd; }" </dev/null || rc=$?
	echo "fresh-chroot: '$cmd' exited $rc after $(($(date +%s) - s)) s"
	[ "$rc" -eq 0 ] || exit "$rc"
done
echo "fresh-chroot: all $# commands passed ($(($(date +%s) - t0)) s in all)"
