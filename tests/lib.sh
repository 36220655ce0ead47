# tests/lib.sh - helpers sourced by the test scripts.
#
# Exit codes: 0 pass, 1 fail, 77 skip. A test only ever detaches the loop
# devices listed in its own "$LB_WORK/loops" (never losetup -D).

lb_top() {
	(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}
LB_TOP=$(lb_top)
LIFEBOAT=${LIFEBOAT:-$LB_TOP/lifeboat}

# Test name: the script's path relative to tests/, without .sh.
lb_name() {
	local p
	p=$(cd "$(dirname "$0")" && pwd)/$(basename "$0" .sh)
	printf '%s\n' "${p#"$LB_TOP"/tests/}"
}

lb_fail() {
	printf 'FAIL: %s: %s\n' "$(lb_name)" "$*" >&2
	exit 1
}

lb_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		printf 'SKIP: %s: needs root (loop devices)\n' "$(lb_name)"
		exit 77
	fi
}

# lb_workdir: fresh work dir in $LB_WORK, cleaned up on exit. The path is
# canonical, as losetup records it, so lb_cleanup can match backing files.
lb_workdir() {
	LB_WORK=$(realpath -- "$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-test.XXXXXX")")
	export LB_WORK
	# restore logs stay with the test, not in the host's /var/log
	export LIFEBOAT_LOG_DIR=$LB_WORK/log
	# and the lock of restore, capture and drill is the test's own: tests
	# run side by side do not refuse each other (restore/lock.sh tests
	# the machine's)
	export LIFEBOAT_LOCK=$LB_WORK/lifeboat.lock
	trap lb_cleanup EXIT
}

# lb_cleanup: drop partitions of, then detach, every loop device this work
# dir attached (listed in $LB_WORK/loops and backed by a file inside
# $LB_WORK); remove the work dir. Errors are ignored; safe to call twice.
lb_cleanup() {
	local dev
	[ -n "${LB_WORK:-}" ] && [ -d "$LB_WORK" ] || return 0
	# anything still mounted in the work dir first, deepest first
	awk -v w="$LB_WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
	if [ -f "$LB_WORK/loops" ]; then
		while IFS= read -r dev; do
			case $dev in /dev/loop[0-9]*) ;; *) continue ;; esac
			# Only if it is still backed by a file in our work dir.
			case $(losetup -n -O BACK-FILE "$dev" 2>/dev/null) in
			"$LB_WORK"/*) ;;
			*) continue ;;
			esac
			# Partitions added with BLKPG outlive losetup -d otherwise.
			partx -d "$dev" >/dev/null 2>&1 || true
			losetup -d "$dev" >/dev/null 2>&1 || true
			# (still open, say by a lazily unmounted filesystem, it
			# goes when the last user lets go: wait a little for that)
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				[ -n "$(losetup -n -O BACK-FILE "$dev" 2>/dev/null)" ] || break
				sleep 0.2
			done
		done <"$LB_WORK/loops"
	fi
	rm -rf -- "$LB_WORK"
	return 0
}

# lb_build_layout NAME: build fixtures/layouts/NAME.sh in $LB_WORK.
lb_build_layout() {
	FX_WORKDIR=$LB_WORK "$LB_TOP/fixtures/layouts/$1.sh" "$LB_WORK"
}

# lb_oracle DEV... : what sfdisk, blkid and dumpe2fs say about disks, with
# the values that change from run to run (times, counters) masked. Two
# layouts with the same identities and geometry print the same.
lb_oracle() {
	local dev part t
	for dev in "$@"; do
		echo "== $dev"
		sfdisk --dump "$dev" 2>/dev/null || echo "(no partition table)"
		echo "-- boot code $(head -c 440 "$dev" | sha256sum | cut -d' ' -f1)"
		for part in "$dev" "$dev"p*; do
			[ -b "$part" ] || continue
			echo "-- blkid $part"
			blkid -p -o export "$part" 2>/dev/null | grep -v '^DEVNAME=' || true
			t=$(blkid -p -o value -s TYPE "$part" 2>/dev/null || true)
			case $t in
			ext2 | ext3 | ext4)
				dumpe2fs -h "$part" 2>/dev/null |
					grep -Ev '^(Filesystem created|Last |Lifetime writes|Mount count|Maximum mount count|Checksum|Journal sequence|Journal start|Next check after|Check interval|Journal checksum|Filesystem flags|Free blocks|Free inodes)' ;;
			esac
		done
	done
}

# lb_wipe DEV... : what a dead disk looks like: every signature gone and the
# first MiB zeroed.
lb_wipe() {
	local dev part
	for dev in "$@"; do
		for part in "$dev"p*; do
			[ -b "$part" ] && wipefs -a -q "$part" 2>/dev/null
		done
		wipefs -a -q "$dev"
		dd if=/dev/zero of="$dev" bs=1M count=1 conv=notrunc,fsync status=none
		partx -d "$dev" >/dev/null 2>&1 || true
	done
}

# ---- shared by the restore tests (tests/restore/*.sh) ----------------------

# lb_sha256 FILE... : "SHA256  FILE" per file, the same digest as sha256sum
# but hole-aware (sparse images hash in a fraction of sha256sum's time).
lb_sha256() {
	python3 - "$@" <<'PY'
import errno, hashlib, os, sys
zero = memoryview(bytes(1 << 20))
for path in sys.argv[1:]:
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    off = 0
    while off < size:
        try:
            data = min(os.lseek(fd, off, os.SEEK_DATA), size)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            data = size
        while off < data:  # a hole reads as zeroes
            n = min(len(zero), data - off)
            h.update(zero[:n])
            off += n
        if off >= size:
            break
        end = min(os.lseek(fd, off, os.SEEK_HOLE), size)
        while off < end:
            buf = os.pread(fd, min(1 << 22, end - off), off)
            if not buf:
                raise SystemExit(f"{path}: short read at {off}")
            h.update(buf)
            off += len(buf)
    os.close(fd)
    print(f"{h.hexdigest()}  {path}")
PY
}

# lb_image_digest FILE... : "DIGEST  FILE" per file, a function of the
# file's contents only, like sha256sum's but without reading the holes of a
# sparse image: SHA-256 over the size and, for each 1 MiB window that is not
# all zeroes, its index and SHA-256. (Not the extent map itself: on ext4,
# SEEK_DATA reports unwritten extents as data or hole depending on the page
# cache, so it changes when nothing writes.)
lb_image_digest() {
	python3 - "$@" <<'PY'
import errno, hashlib, os, sys
W = 1 << 20
zero = bytes(W)
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    h = hashlib.sha256(b"size %d\n" % size)
    windows, off = [], 0
    while off < size:  # the windows that hold any data extent
        try:
            off = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            break
        end = min(os.lseek(fd, off, os.SEEK_HOLE), size)
        first, last = off // W, (end - 1) // W
        if windows and windows[-1] >= first:
            first = windows[-1] + 1
        windows.extend(range(first, last + 1))
        off = end
    for w in windows:
        n = min(W, size - w * W)
        buf = os.pread(fd, n, w * W)
        if len(buf) != n:
            raise SystemExit(f"{path}: short read at {w * W}")
        if buf != zero[:n]:
            h.update(b"%d %s\n" % (w, hashlib.sha256(buf).hexdigest().encode()))
    os.close(fd)
    print(f"{h.hexdigest()}  {path}")
PY
}

# lb_disk_sums DEV... : lb_image_digest of each loop device's backing file,
# after every write to the device has reached the file.
lb_disk_sums() {
	local dev files=()
	for dev in "$@"; do
		# BLKFLSBUF: writes back the device's dirty pages (to the loop
		# device's file) and drops its cache.
		blockdev --flushbufs "$dev" 2>/dev/null || true
		files+=("$(losetup -n -O BACK-FILE "$dev")")
	done
	# and from the loop driver's writes to the file's own blocks: until
	# then the file's holes (which the digest sees) are not settled
	sync "${files[@]}"
	lb_image_digest "${files[@]}"
}

# lb_new_disk_id DEV : give a GPT or MBR disk a fresh random signature, so
# that no other disk on the machine (another test building the same fixture)
# shares it and matching by signature stays unambiguous.
lb_new_disk_id() {
	local id
	case $(sfdisk --dump "$1" 2>/dev/null | sed -n 's/^label: //p') in
	gpt) id=$(cat /proc/sys/kernel/random/uuid) ;;
	dos) id=0x$(printf '%08x' $(((RANDOM << 16 | RANDOM) | 0x80000000))) ;;
	*) return 0 ;;
	esac
	sfdisk -q --no-reread --no-tell-kernel --disk-id "$1" "$id"
}

# lb_own DEV : true when DEV is a loop device this test attached (listed in
# $LB_WORK/loops and backed by a file in $LB_WORK).
lb_own() {
	grep -qxF -- "$1" "$LB_WORK/loops" 2>/dev/null || return 1
	case $(losetup -n -O BACK-FILE "$1" 2>/dev/null) in
	"$LB_WORK"/*) return 0 ;;
	esac
	return 1
}

# lb_guard CAPTURE [compare options...] : before running a restore, fail
# unless every device the plan (compare --json with the same options) would
# use is a loop device of this test, so that a stray disk on the machine
# (another user's loop device) is never written by a test.
lb_guard() {
	local dev json
	json=$("$LIFEBOAT" compare --json "$@" 2>/dev/null) || true
	while IFS= read -r dev; do
		lb_own "$dev" ||
			lb_fail "the plan for $1 picks $dev, which this test did not attach; not restoring"
	done < <(printf '%s' "$json" | python3 -c '
import json, sys
try:
    plan = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for d in plan.get("disks", []):
    if d.get("device"):
        print(d["device"])')
}

# lb_populate DIR: a tree with what a real system has: hard links, symlinks
# (also dangling), a sparse file, xattrs, POSIX ACLs, a fifo, device nodes,
# long and UTF-8 names, setuid and setgid bits, odd owners, a file
# capability, empty files and directories, fixed times.
lb_populate() {
	local d=$1 long
	mkdir -p "$d/etc/ssh" "$d/home/üser/.config" "$d/var/empty" "$d/usr/bin" "$d/dev"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$d/etc/passwd"
	seq 1 200000 >"$d/etc/numbers"
	head -c 3000000 /dev/urandom >"$d/usr/bin/blob"
	ln "$d/usr/bin/blob" "$d/usr/bin/blob-hardlink"
	ln -s ../etc/passwd "$d/usr/bin/link-to-passwd"
	ln -s /nonexistent/target "$d/usr/bin/dangling"
	truncate -s 200M "$d/var/sparse"
	printf 'tail\n' >>"$d/var/sparse"
	printf 'head' | dd of="$d/var/sparse" conv=notrunc status=none
	setfattr -n user.lifeboat -v "hello world" "$d/etc/passwd"
	setfattr -n trusted.secret -v 0x00ff00 "$d/etc/numbers"
	setfacl -m u:1234:rw,g:4321:r "$d/etc/numbers"
	setfacl -d -m u:1234:rwx "$d/home/üser"
	mkfifo "$d/dev/fifo"
	mknod "$d/dev/null-like" c 1 3
	mknod "$d/dev/blk" b 7 200
	long=$(printf 'n%.0s' $(seq 1 250))
	printf 'long\n' >"$d/home/üser/$long"
	printf 'données\n' >"$d/home/üser/ファイル 名 with spaces"
	printf 'quote\n' >"$d/home/üser/\$(x) \"q\" 'y';&|"
	cp "$d/usr/bin/blob" "$d/usr/bin/setuid" && chmod 4755 "$d/usr/bin/setuid"
	touch "$d/usr/bin/setgid" && chmod 2750 "$d/usr/bin/setgid"
	chown -R 12345:54321 "$d/home/üser"
	chown 4294967294:65534 "$d/var/empty"
	: >"$d/etc/empty-file"
	setcap cap_net_raw+ep "$d/usr/bin/setuid" 2>/dev/null || true
	find "$d" -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
	touch -h -d '1999-12-31 23:59:59' "$d/etc/passwd"
}

# Whatever fails under set -e says where, so a failing test is never mute.
lb_on_error() {
	case $- in *e*) ;; *) return 0 ;; esac
	printf 'FAIL: %s: line %s: %s (exit %s)\n' "$(lb_name)" "${BASH_LINENO[0]}" "$BASH_COMMAND" "$1" >&2
}
set -E
trap 'lb_on_error $?' ERR

# lb_qemu LOG TIMEOUT [qemu args...]: runs qemu under TCG (KVM cannot run
# a stock kernel here) with the serial console into LOG; never longer than
# TIMEOUT seconds. Returns qemu's (or timeout's) status.
#
# A guest whose kernel started ("Linux version" on the console) and then
# printed nothing for LB_QEMU_STALL seconds (240) without reaching userspace
# ("Run /init", "Run /sbin/init") is booted once more: TCG with two CPUs
# on a loaded host has been seen to hang there for good (the log ending
# in the kernel's own early set-up, "IP idents hash table ..."). Nothing
# has touched a disk before userspace, so the second boot starts from the
# same state; a guest that reached userspace is never cut short here.
lb_qemu() {
	local log=$1 limit=$2 try pid
	shift 2
	for try in 1 2; do
		timeout --kill-after=5 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 1024 \
			-nographic -no-reboot -monitor none -serial "file:$log" "$@" </dev/null \
			>/dev/null 2>&1 &
		pid=$!
		if ! lb_qemu_stalled "$pid" "$log"; then
			wait "$pid"
			return
		fi
		wait "$pid" 2>/dev/null || true
		echo "note: $(basename "$log"): the guest's kernel stalled before userspace (nothing on its console for ${LB_QEMU_STALL:-240} s, boot $try of 2)" >&2
		[ "$try" = 1 ] && cp "$log" "$log.stalled"
	done
	return 124
}

# lb_qemu_stalled PID LOG: watches the qemu (under timeout) PID until it ends
# (false), or kills it and is true when its guest stalled before userspace
# (lb_qemu).
lb_qemu_stalled() {
	local pid=$1 log=$2 size=-1 now last
	last=$(date +%s)
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		now=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$now" != "$size" ]; then
			size=$now
			last=$(date +%s)
			continue
		fi
		[ $(($(date +%s) - last)) -ge "${LB_QEMU_STALL:-240}" ] || continue
		grep -qa 'Linux version' "$log" || continue
		grep -qa -e 'Run /init' -e 'Run /sbin/init' "$log" && continue
		kill "$pid" 2>/dev/null || true
		return 0
	done
	return 1
}
