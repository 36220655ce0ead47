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
	trap lb_cleanup EXIT
}

# lb_cleanup: drop partitions of, then detach, every loop device this work
# dir attached (listed in $LB_WORK/loops and backed by a file inside
# $LB_WORK); remove the work dir. Errors are ignored; safe to call twice.
lb_cleanup() {
	local dev
	[ -n "${LB_WORK:-}" ] && [ -d "$LB_WORK" ] || return 0
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
		done <"$LB_WORK/loops"
	fi
	rm -rf -- "$LB_WORK"
	return 0
}

# lb_build_layout NAME: build fixtures/layouts/NAME.sh in $LB_WORK.
lb_build_layout() {
	FX_WORKDIR=$LB_WORK "$LB_TOP/fixtures/layouts/$1.sh" "$LB_WORK"
}
