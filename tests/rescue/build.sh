#!/usr/bin/env bash
# lifeboat mkrescue without booting anything: the image is a zstd cpio
# (gzip on request) holding /init, busybox, lifeboat, the restore programs
# and the storage and filesystem drivers with their dependencies; every
# program in it runs in a chroot of it (the real dynamic loader finds every
# library: an oracle for mkrescue's own ELF resolution); --capture embeds a
# capture; compressed kernel modules (.ko.xz, .ko.zst, .ko.gz) go in plain;
# two builds with one SOURCE_DATE_EPOCH are identical; mistakes in a module
# manifest are reported with file and line.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
command -v busybox >/dev/null || rs_skip "needs busybox (busybox-static)"
command -v cpio >/dev/null && command -v zstd >/dev/null || rs_skip "needs cpio and zstd"
RS_KERNEL=$(rs_kernel) || rs_skip "needs a Debian kernel with modules (linux-image-amd64)"
kver=${RS_KERNEL#/boot/vmlinuz-}
W=$LB_WORK

# extract IMAGE DIR
extract() {
	mkdir -p "$2"
	case $(head -c 4 "$1" | od -An -tx1 | tr -d ' ') in
	28b52ffd) zstd -dc "$1" | (cd "$2" && cpio -idm --quiet) ;;
	1f8b*) gzip -dc "$1" | (cd "$2" && cpio -idm --quiet) ;;
	*) lb_fail "$1: neither zstd nor gzip" ;;
	esac
}

# ---- the default image, with a capture embedded ------------------------------
cp -r "$LB_TOP/fixtures/plans/wiped/capture" "$W/cap-wiped"
start=$(date +%s%N)
SOURCE_DATE_EPOCH=1700000000 "$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --output "$W/a.img" \
	--capture "$W/cap-wiped" >"$W/out" 2>"$W/err" || { cat "$W/err"; lb_fail "mkrescue failed"; }
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(cat "$W/out")" = "$W/a.img" ] || lb_fail "mkrescue should print the image's path"
echo "image: $(stat -c %s "$W/a.img") bytes in $ms ms; $(grep 'mkrescue: kernel' "$W/err")"
extract "$W/a.img" "$W/a"
A=$W/a
for f in init usr/bin/busybox usr/sbin/lifeboat usr/sbin/mke2fs usr/sbin/e2fsck usr/sbin/mkfs.fat \
	usr/sbin/mkswap usr/sbin/sfdisk usr/sbin/blkid usr/sbin/partprobe usr/sbin/wipefs; do
	[ -f "$A/$f" ] && [ -x "$A/$f" ] || lb_fail "no executable /$f in the image"
done
[ -c "$A/dev/console" ] && [ "$(stat -c %t:%T "$A/dev/console")" = 5:1 ] || lb_fail "no /dev/console node"
[ "$(readlink "$A/bin")" = usr/bin ] && [ "$(readlink "$A/lib")" = usr/lib ] || lb_fail "not a merged-/usr tree"
[ -e "$A/usr/lib64/ld-linux-x86-64.so.2" ] || [ -e "$A/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ] || lb_fail "no dynamic loader at /lib64/ld-linux-x86-64.so.2"
[ "$(readlink "$A/usr/bin/mount")" = /usr/bin/busybox ] || lb_fail "busybox applets are not linked"
[ ! -L "$A/usr/sbin/blkid" ] || lb_fail "busybox's blkid shadows util-linux's"
mods=$A/usr/lib/modules/$kver
for m in kernel/drivers/block/virtio_blk.ko kernel/fs/ext4/ext4.ko kernel/fs/fat/vfat.ko \
	kernel/drivers/nvme/host/nvme.ko kernel/drivers/ata/ahci.ko kernel/drivers/usb/storage/usb-storage.ko \
	kernel/drivers/md/dm-mod.ko kernel/fs/nls/nls_cp437.ko kernel/crypto/crc32c_generic.ko; do
	[ -f "$mods/$m" ] || lb_fail "no $m in the image"
done
# every dependency in modules.dep is in the image; ext4 loads after jbd2
while IFS= read -r line; do
	for m in ${line/:/}; do
		[ -f "$mods/$m" ] || lb_fail "modules.dep names $m, which is not in the image"
	done
done <"$mods/modules.dep"
grep -n 'jbd2.ko$\|/ext4.ko$' "$mods/lifeboat.load" | tr '\n' ' ' | grep -q 'jbd2.ko.*ext4.ko' ||
	lb_fail "lifeboat.load does not load jbd2 before ext4"
# vfat mounts with the kernel's default iocharset and code page: their NLS
# tables load at boot (without nls_ascii, Debian's default, every FAT mount
# fails with EINVAL), the others are there for modprobe
fat_charset=$(sed -n 's/^CONFIG_FAT_DEFAULT_IOCHARSET="\(.*\)"$/\1/p' "/boot/config-$kver" 2>/dev/null || true)
fat_codepage=$(sed -n 's/^CONFIG_FAT_DEFAULT_CODEPAGE=\(.*\)$/\1/p' "/boot/config-$kver" 2>/dev/null || true)
for n in ${fat_charset:-ascii} cp${fat_codepage:-437}; do
	grep -q "/nls_$n.ko\$" "$mods/lifeboat.load" || lb_fail "lifeboat.load does not load nls_$n (vfat's default)"
done
[ -f "$mods/kernel/fs/nls/nls_koi8-r.ko" ] || lb_fail "the NLS tables are not all in the image"
grep -q 'virtio_blk$' "$mods/modules.alias" || lb_fail "modules.alias lacks virtio_blk's aliases"
cmp -s "$A/lifeboat/cap-wiped/manifest.xml" "$W/cap-wiped/manifest.xml" || lb_fail "--capture: not embedded"
grep -qx 'capture=/lifeboat/cap-wiped' "$A/etc/lifeboat/rescue.conf" || lb_fail "rescue.conf does not name the capture"

# every program runs; the real loader finds every library of every ELF file
chroot "$A" /usr/sbin/lifeboat --version >/dev/null || lb_fail "lifeboat does not run in the image"
chroot "$A" /usr/sbin/mke2fs -V >/dev/null 2>&1 || lb_fail "mke2fs does not run in the image"
chroot "$A" /usr/sbin/sfdisk --version >/dev/null || lb_fail "sfdisk does not run in the image"
chroot "$A" /bin/sh -c 'exit 0' || lb_fail "busybox sh does not run in the image"
chroot "$A" /usr/sbin/lifeboat verify /lifeboat/cap-wiped >/dev/null || lb_fail "lifeboat verify in the image"
chroot "$A" /usr/sbin/lifeboat show /lifeboat/cap-wiped | grep -q '^disk0 ' || lb_fail "lifeboat show in the image"
n=0
while IFS= read -r f; do
	[ "$(head -c 4 "$A/$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	case $f in ./usr/lib/modules/*) continue ;; esac
	missing=$(chroot "$A" /lib64/ld-linux-x86-64.so.2 --list "/${f#./}" 2>&1 | grep 'not found' || true)
	[ -z "$missing" ] || lb_fail "${f#.}: $missing"
	n=$((n + 1))
done < <(cd "$A" && find . -type f \( -path './usr/bin/*' -o -path './usr/sbin/*' -o -name '*.so*' \) | sort)
echo "ok: $n ELF files, every library found by the real loader"
# ICU's data is emptied, and a manifest in an encoding libxml2 does not know
# fails cleanly rather than crashing
[ "$(stat -L -c %s "$A"/usr/lib/x86_64-linux-gnu/libicudata.so.* | sort -n | tail -n 1)" -lt 100000 ] ||
	lb_fail "libicudata went in whole"
mkdir -p "$A/root/euc" && cp "$A"/lifeboat/cap-wiped/* "$A/root/euc/"
sed -i '1s/encoding="[^"]*"/encoding="EUC-JP"/' "$A/root/euc/manifest.xml"
set +e
chroot "$A" /usr/sbin/lifeboat show /root/euc >/dev/null 2>"$W/euc.err"
rc=$?
set -e
[ $rc = 2 ] && grep -q 'Unsupported encoding' "$W/euc.err" ||
	lb_fail "an EUC-JP manifest: exit $rc, $(cat "$W/euc.err")"

# ---- reproducible ------------------------------------------------------------
SOURCE_DATE_EPOCH=1700000000 "$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --output "$W/b.img" \
	--capture "$W/cap-wiped" >/dev/null 2>&1 || lb_fail "second build failed"
cmp -s "$W/a.img" "$W/b.img" || lb_fail "two builds with one SOURCE_DATE_EPOCH differ"

# ---- gzip, compressed kernel modules, a module set of its own -----------------
# a modules tree of its own: the machine's drivers, compressed three ways
fake=$W/modroot/9.9.9-lifeboat
real=/lib/modules/$kver
mkdir -p "$fake"
want=$(grep -E '/(virtio_pci|virtio_blk|ext4)\.ko:' "$real/modules.dep" | tr ' :' '\n\n' | grep . | sort -u)
i=0
for m in $want; do
	mkdir -p "$fake/$(dirname "$m")"
	case $((i % 3)) in
	0) xz -c --check=crc32 "$real/$m" >"$fake/$m.xz"; ext=.xz ;;
	1) zstd -q -c "$real/$m" >"$fake/$m.zst"; ext=.zst ;;
	2) gzip -c "$real/$m" >"$fake/$m.gz"; ext=.gz ;;
	esac
	echo "$m $ext" >>"$W/exts"
	i=$((i + 1))
done
# modules.dep with the compressed names
grep -E '^kernel/[^:]*(virtio|ext4|jbd2|mbcache|crc16|crc32c)' "$real/modules.dep" >"$W/dep" || true
awk 'NR == FNR { ext[$1] = $2; next }
     { out = ""; for (i = 1; i <= NF; i++) { k = $i; c = ""; if (sub(/:$/, "", k)) c = ":";
       if (k in ext) { out = out (i > 1 ? " " : "") k ext[k] c } else { out = ""; break } }
       if (out != "") print out }' "$W/exts" "$W/dep" >"$fake/modules.dep"
grep -q 'ext4.ko.*:' "$fake/modules.dep" || lb_fail "test setup: no ext4 line in the fake modules.dep"
: >"$fake/modules.builtin"
LIFEBOAT_MODULES_ROOT=$W/modroot "$LIFEBOAT" mkrescue --kernel 9.9.9-lifeboat --compress gzip \
	--modules-dir "$LB_TOP/tests/rescue/machine" --output "$W/c.img" >/dev/null 2>"$W/err" ||
	{ cat "$W/err"; lb_fail "mkrescue with compressed modules failed"; }
extract "$W/c.img" "$W/c"
while read -r m ext; do
	cmp -s "$W/c/usr/lib/modules/9.9.9-lifeboat/$m" "$real/$m" ||
		lb_fail "$m$ext did not go in decompressed"
done <"$W/exts"
grep -q '\.ko\.\(xz\|zst\|gz\)' "$W/c/usr/lib/modules/9.9.9-lifeboat/modules.dep" &&
	lb_fail "modules.dep in the image names compressed modules"
echo "ok: .ko.xz, .ko.zst and .ko.gz went in plain; gzip image"

# ---- mistakes ----------------------------------------------------------------
# mkrescue_fails WHAT PATTERN ARGS...: exit 1 and a message matching PATTERN
mkrescue_fails() {
	local what=$1 pat=$2 rc
	shift 2
	set +e
	"$LIFEBOAT" mkrescue "$@" >/dev/null 2>"$W/err"
	rc=$?
	set -e
	[ $rc -ne 0 ] || lb_fail "$what: mkrescue succeeded"
	grep -q -- "$pat" "$W/err" || lb_fail "$what: expected '$pat', got: $(cat "$W/err")"
}
mkdir -p "$W/mods/10base"
printf 'description: x\ndirs: /usr/bin\n' >"$W/mods/10base/module.conf"
mkdir -p "$W/mods/20bad"
printf 'description: bad\nrequires: base\nprogramz: ls\n' >"$W/mods/20bad/module.conf"
mkrescue_fails "unknown key" "20bad/module.conf:3: unknown key 'programz'" \
	--kernel "$RS_KERNEL" --modules-dir "$W/mods" --output "$W/x.img"
printf 'description: bad\nrequires: nosuch\n' >"$W/mods/20bad/module.conf"
mkrescue_fails "unknown requirement" "module.conf:2: requires nosuch, which is not a module" \
	--kernel "$RS_KERNEL" --modules-dir "$W/mods" --output "$W/x.img"
printf 'description: bad\nprograms: lifeboat-no-such-program\n' >"$W/mods/20bad/module.conf"
mkrescue_fails "missing program" "no program lifeboat-no-such-program here" \
	--kernel "$RS_KERNEL" --modules-dir "$W/mods" --output "$W/x.img"
printf 'description: bad\nmodules: lifeboat_no_such_driver\n' >"$W/mods/20bad/module.conf"
mkrescue_fails "missing kernel module" "kernel module lifeboat_no_such_driver is neither a module nor built into" \
	--kernel "$RS_KERNEL" --modules-dir "$W/mods" --output "$W/x.img"
mkrescue_fails "no such kernel" "no such kernel image" --kernel /nonexistent/vmlinuz --output "$W/x.img"
mkrescue_fails "kernel without modules" "has no modules" --kernel 0.0.0-none --output "$W/x.img"
mkrescue_fails "--cmdline without --iso" "give --iso too" --cmdline quiet --output "$W/x.img"
[ ! -e "$W/x.img" ] || lb_fail "a failed build left an image"
# what does not apply is left out, with a note; optional names are notes
printf 'description: opt\nif-program: lifeboat-no-such-program\nprograms: lifeboat-no-such-program\n' \
	>"$W/mods/20bad/module.conf"
mkdir -p "$W/mods/30opt"
printf 'description: opt\nrequires: bad\n' >"$W/mods/30opt/module.conf"
mkdir -p "$W/mods/40opt"
printf 'description: opt\nprograms: lifeboat-no-such-program?\nmodules: lifeboat_no_such_driver?\n' \
	>"$W/mods/40opt/module.conf"
"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --modules-dir "$W/mods" --output "$W/y.img" >/dev/null 2>"$W/err" ||
	{ cat "$W/err"; lb_fail "optional parts made the build fail"; }
for pat in "module 20bad left out: no program lifeboat-no-such-program here" \
	"module 30opt left out: it requires 20bad, which does not apply" \
	"no program lifeboat-no-such-program here" "kernel module lifeboat_no_such_driver is not in"; do
	grep -q "note: .*$pat" "$W/err" || lb_fail "no note '$pat': $(cat "$W/err")"
done
echo "ok: mistakes reported with file and line; optional parts are notes"
