# tests/ops/lib.sh - shared by the tests of operations (generations,
# configuration, status, hooks): one small loop disk of this test's own.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# ops_disk: a 96 MiB GPT loop disk with a 40 MiB ext4 holding a few files,
# free space after it, a random disk GUID (no other test's twin); its path
# in $OPS_DISK. Needs lb_workdir first.
ops_disk() {
	local mnt
	OPS_DISK=$(FX_WORKDIR=$LB_WORK bash -c '. "$1/fixtures/layouts/lib.sh"; fx_attach ops.img 96M' _ "$LB_TOP")
	printf 'label: gpt\nstart=2048, size=81920, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"\n' |
		sfdisk -q --no-reread --no-tell-kernel "$OPS_DISK"
	lb_new_disk_id "$OPS_DISK"
	partprobe "$OPS_DISK"
	for _ in $(seq 50); do [ -b "${OPS_DISK}p1" ] && break; sleep 0.1; done
	mkfs.ext4 -q -F -L opsdata "${OPS_DISK}p1"
	mnt=$LB_WORK/mnt
	mkdir -p "$mnt"
	mount "${OPS_DISK}p1" "$mnt"
	seq 1 20000 >"$mnt/numbers"
	head -c 2000000 /dev/urandom >"$mnt/blob"
	umount "$mnt"
}

# ops_nothing_capture_like DIR NAME... : DIR holds exactly the named
# entries (and .lock); no other name, no manifest.xml outside them.
ops_only() {
	local dir=$1 want got
	shift
	want=$(printf '%s\n' "$@" .lock | sort)
	got=$(ls -A "$dir" | sort)
	[ "$want" = "$got" ] || lb_fail "$dir holds: $(echo $got); expected: $(echo $want)"
}
