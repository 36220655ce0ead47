# shellcheck shell=bash
# tests/vm/lib/vm.sh - the guest harness, sourced after tests/lib.sh (in lib/:
# not a test itself: run.sh runs tests/*/*.sh only).
#
# What this host's kernel cannot do (device-mapper, MD RAID, LUKS, LVM) is
# tested inside a qemu guest running Debian's kernel: lifeboat's own rescue
# image (with mdadm, lvm and cryptsetup in it), booted with scratch disks
# (sparse files in $LB_WORK, virtio) and a script handed in through qemu's
# fw_cfg device (the image's lifeboat.script hook). The script runs as root
# in the guest once the disks are there; whatever it prints reaches the
# serial log; its exit status comes back as "LIFEBOAT-SCRIPT-EXIT: N".
#
#   vm_need                      skip (77) unless qemu, a Debian kernel and
#                                the storage tools are here
#   vm_image                     the rescue image (built once per binary
#                                and initramfs/, cached), path in VM_IMAGE
#   vm_disk NAME SIZE            a scratch disk file, path printed
#   vm_run SCRIPT LOG LIMIT DISK...   boots, runs SCRIPT, returns its status
#
# Guest scripts get the shared guest helpers (lib/guest.sh) put in front
# by vm_script.

VM_DIR=$LB_TOP/tests/vm
VM_CACHE=${LIFEBOAT_TEST_CACHE:-/var/cache/lifeboat-tests}

vm_skip() {
	printf 'SKIP: %s: %s\n' "$(lb_name)" "$*"
	exit 77
}

vm_need() {
	local p
	lb_need_root
	for p in qemu-system-x86_64 busybox zstd cpio timeout mdadm lvm cryptsetup; do
		command -v "$p" >/dev/null 2>&1 ||
			vm_skip "needs $p (tests/install-deps.sh: qemu-system-x86 busybox-static mdadm lvm2 cryptsetup-bin)"
	done
	VM_KERNEL=
	for k in /boot/vmlinuz-*; do
		[ -f "$k" ] && [ -f "/lib/modules/${k#/boot/vmlinuz-}/modules.dep" ] && VM_KERNEL=$k
	done
	[ -n "$VM_KERNEL" ] || vm_skip "needs a Debian kernel with modules (linux-image-amd64)"
	export VM_KERNEL
}

# vm_image: the rescue image for this lifeboat binary, initramfs/ and
# kernel; kept in $VM_CACHE (a test run builds it once, ~10 s).
vm_image() {
	local key
	key=$({
		sha256sum "$LIFEBOAT"
		(cd "$LB_TOP" && find initramfs -type f -print0 | sort -z | xargs -0 sha256sum)
		echo "$VM_KERNEL"
	} | sha256sum | cut -c1-16)
	mkdir -p "$VM_CACHE"
	VM_IMAGE=$VM_CACHE/vm-rescue-$key.img
	if ! [ -s "$VM_IMAGE" ]; then
		"$LIFEBOAT" mkrescue --kernel "$VM_KERNEL" --modules-dir "$LB_TOP/initramfs" --output "$VM_IMAGE.tmp.$$" >"$LB_WORK/mkrescue.log" 2>&1 || {
			cat "$LB_WORK/mkrescue.log" >&2
			rm -f "$VM_IMAGE.tmp.$$"
			lb_fail "lifeboat mkrescue failed"
		}
		mv -f "$VM_IMAGE.tmp.$$" "$VM_IMAGE"
		# older images of this cache are of no use any more
		find "$VM_CACHE" -maxdepth 1 -name 'vm-rescue-*.img' ! -newer "$VM_IMAGE" ! -path "$VM_IMAGE" -mmin +60 -delete 2>/dev/null || true
	fi
	export VM_IMAGE
}

# vm_disk NAME SIZE: a sparse scratch disk in $LB_WORK.
vm_disk() {
	local f=$LB_WORK/$1
	truncate -s "$2" "$f"
	printf '%s\n' "$f"
}

# vm_run SCRIPT LOG LIMIT DISK...: boots the rescue image with the disks
# (virtio, vda, vdb, ... in order) and SCRIPT; at most LIMIT seconds.
# Returns the script's exit status; 124 when the guest timed out, 125 when
# the script's status never came.
vm_run() {
	local script=$1 log=$2 limit=$3 d i=0 rc
	shift 3
	local args=()
	for d in "$@"; do
		args+=(-drive "file=$d,if=virtio,format=raw,cache=unsafe,discard=unmap")
		i=$((i + 1))
	done
	rc=0
	lb_qemu "$log" "$limit" -smp 2 \
		-kernel "$VM_KERNEL" -initrd "$VM_IMAGE" \
		-append "console=ttyS0 panic=1 no_timer_check lifeboat.script lifeboat.wait=5 lifeboat.after=poweroff" \
		-fw_cfg "name=opt/lifeboat/script,file=$script" \
		"${args[@]}" || rc=$?
	[ $rc = 124 ] && return 124
	rc=$(tr -d '\r' <"$log" | sed -n 's/^LIFEBOAT-SCRIPT-EXIT: \([0-9]*\)$/\1/p' | tail -n 1)
	[ -n "$rc" ] || return 125
	return "$rc"
}

# vm_check SCRIPT LOG LIMIT DISK...: vm_run, failing the test (with the
# end of the serial log) unless the script exits 0.
vm_check() {
	local log=$2 rc=0
	vm_run "$@" || rc=$?
	if [ $rc != 0 ]; then
		echo "---- serial log (last 80 lines) ----" >&2
		tr -d '\r' <"$log" | tail -n 80 >&2
		case $rc in
		124) lb_fail "the guest ran out of time ($3 s)" ;;
		125) lb_fail "the guest script's status never came (see $log)" ;;
		*) lb_fail "the guest script exited $rc" ;;
		esac
	fi
}

# vm_script OUT BODY...: a guest script: the shared guest helpers, then the
# files named (concatenated).
vm_script() {
	local out=$1
	shift
	{
		echo '#!/bin/sh'
		cat "$VM_DIR/lib/guest.sh"
		cat "$@"
	} >"$out"
}
