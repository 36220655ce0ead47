#!/usr/bin/env bash
# A capture's file that is a symbolic link, a FIFO or a device is refused
# saying what it is (issue 16, finding 10: "Operation not permitted" was
# all verify said of a boot code artifact that is a link, FIFO or device,
# and show of such a manifest.xml "not a regular file"). On the rollback
# plan's capture (LIFEBOAT_MACHINE: no device is probed or written): the
# boot code and a volume's data file, then manifest.xml (a FIFO or a device;
# a link to it is followed), replaced by each;
# verify exits 1, restore --dry-run --all-volumes 1, show 2, at once, each
# naming the file and saying "is a symbolic link", "is a FIFO" or "is a
# device", never "Operation not permitted".
. "$(dirname "$0")/../lib.sh"
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $(lb_name): needs root (mknod)"; exit 77; }
lb_workdir
fx=$LB_TOP/fixtures/plans/rollback
export LIFEBOAT_MACHINE=$fx/machine.xml

# plant KIND PATH: PATH becomes a symbolic link to the real file, a FIFO or
# /dev/null's device node
plant() {
	rm -f "$2"
	case $1 in
	link) ln -s "$fx/capture/$(basename "$2")" "$2" ;;
	fifo) mkfifo "$2" ;;
	device) mknod "$2" c 1 3 ;;
	esac
}

# expect WHAT RC TEXT COMMAND...: exits RC within 20 s, saying TEXT
expect() {
	local what=$1 want=$2 text=$3 rc=0
	shift 3
	timeout 20 "$@" >"$LB_WORK/out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { cat "$LB_WORK/out"; lb_fail "$what: exit $rc, expected $want"; }
	grep -qF -- "$text" "$LB_WORK/out" || { cat "$LB_WORK/out"; lb_fail "$what: does not say '$text'"; }
	if grep -q 'Operation not permitted' "$LB_WORK/out"; then
		cat "$LB_WORK/out"
		lb_fail "$what: says 'Operation not permitted'"
	fi
}

for kind in link fifo device; do
	case $kind in
	link) says="is a symbolic link" ;;
	fifo) says="is a FIFO" ;;
	device) says="is a device" ;;
	esac
	cap=$LB_WORK/cap-$kind
	cp -r "$fx/capture" "$cap"
	plant "$kind" "$cap/disk0-boot-code.bin"
	plant "$kind" "$cap/disk0p3.data"
	expect "$kind: verify, boot code" 1 "$cap/disk0-boot-code.bin: $says" "$LIFEBOAT" verify "$cap"
	expect "$kind: verify, data file" 1 "$cap/disk0p3.data: $says" "$LIFEBOAT" verify "$cap"
	expect "$kind: restore --dry-run" 1 "$cap/disk0p3.data $says" \
		"$LIFEBOAT" restore --dry-run --all-volumes "$cap"
	# (a manifest.xml that is a link is followed: CAPTURE may name it)
	[ "$kind" = link ] || plant "$kind" "$cap/manifest.xml"
	[ "$kind" = link ] || for cmd in show verify; do
		expect "$kind: $cmd, manifest" 2 "$cap/manifest.xml: $says" "$LIFEBOAT" "$cmd" "$cap"
	done
	echo "ok: $kind: refused saying '$says'"
done
