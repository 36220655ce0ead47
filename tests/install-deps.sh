#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what lifeboat needs to build, run the demo and test on Debian 12,
# as root, on a machine with nothing installed (not even make: run it as
# 'sh tests/install-deps.sh'). Needs only a POSIX sh and apt.
set -eu
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get)" >&2
	exit 1
fi
# a fresh machine's package lists may be empty or old
echo "install-deps: apt-get update"
apt-get update -qq
echo "install-deps: apt-get install (a few minutes on a fresh machine)"
# make and the compilers (clang and its libFuzzer runtime: make fuzz and the
# fuzz smoke of make check, and the ASan/UBSan build make check runs the
# loop-device tests with); git, to work on the clone; xfsprogs and
# btrfs-progs: tests make xfs and btrfs volumes (capture/offline-system.sh,
# rescue/archive-kinds.sh); ntfs-3g: capture/mounted-anon.sh mounts an NTFS
# with FUSE (fuseblk); debootstrap builds the Debian machine of
# rescue/live-debian.sh (once, cached in /var/cache/lifeboat-tests); mdadm,
# lvm2 and cryptsetup go into the rescue image (the host kernel cannot use
# them: tests/vm/ runs them in a guest), libcryptsetup reads LUKS headers,
# libargon2 derives an encrypted capture's key; systemd for systemd-analyze,
# journalctl and systemctl --root (tests/ops/units.sh,
# tests/rescue/systemd-units.sh: installed, not booted into; Debian 12 has it
# already but in a minimal chroot)
apt-get install -y -qq --no-install-recommends \
	build-essential make pkgconf git clang libclang-rt-dev \
	libblkid-dev libfdisk-dev libparted-dev uuid-dev libxml2-dev \
	libext2fs-dev comerr-dev libssl-dev libefivar-dev libefiboot-dev libjson-c-dev \
	libcmocka-dev libzstd-dev libarchive-dev libxxhash-dev libmount-dev libcryptsetup-dev \
	libkmod-dev libelf-dev libargon2-dev libbtrfsutil-dev \
	util-linux mount fdisk gdisk parted e2fsprogs dosfstools xfsprogs btrfs-progs ntfs-3g mtools xxd \
	groff-base python3 attr acl libcap2-bin kmod cppcheck \
	qemu-system-x86 busybox-static linux-image-amd64 grub-pc-bin grub-efi-amd64-bin \
	grub2-common ovmf xorriso cpio zstd xz-utils debootstrap \
	mdadm lvm2 cryptsetup-bin systemd >/dev/null
echo "install-deps: done"
