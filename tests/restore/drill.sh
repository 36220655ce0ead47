#!/usr/bin/env bash
# lifeboat drill, on every fixture layout: the capture is rehearsed on loop
# devices over sparse files; it exits 0 and prints PASSED, leaves no loop
# device (nor kernel partition) behind, leaves --workdir as it found it
# (created: removed; on gpt-server also: existing, still there and empty;
# and the default work dir under /var/tmp, removed), and touches no other
# disk (the captured disks keep every byte). A drill of a tampered capture
# (an artifact with a byte flipped) fails with exit 1 and leaves nothing
# behind either; a drill of a truncated manifest exits 2 and creates nothing.
#   tests/restore/drill.sh [LAYOUT...]
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
layouts=${*:-gpt-server mbr-logical 4kn gpt-odd hostile-labels whole-disk multi-disk}

# drill WHAT WANT [drill options] CAPTURE: run it, output in $LB_WORK/out.
drill() {
	local what=$1 want=$2 rc=0
	shift 2
	"$LIFEBOAT" drill "$@" >"$LB_WORK/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want" ] || {
		cat "$LB_WORK/out"
		lb_fail "$what: drill exit $rc, expected $want"
	}
}

# no_leftovers WHAT [DIR]: no loop device is backed by a file in DIR (a
# --workdir of this test), and every loop device the drill said it used is
# detached from its drill file and has no kernel partition left. (Without
# DIR, the default work dir: another drill on this machine may be running,
# so only the devices this one printed are looked at.)
no_leftovers() {
	local what=$1 dir=${2:-} dev name back
	if [ -n "$dir" ] && losetup -a | grep -F -- "$dir/"; then
		lb_fail "$what: a loop device over a file in $dir is still attached"
	fi
	while IFS= read -r dev; do
		name=${dev#/dev/}
		back=$(cat "/sys/block/$name/loop/backing_file" 2>/dev/null || true)
		case $back in
		*/lifeboat-drill.*/disk*.img* | "${dir:-/nonexistent}"/*)
			lb_fail "$what: $dev is still attached to $back" ;;
		"")
			if compgen -G "/sys/block/$name/${name}p*" >/dev/null; then
				ls "/sys/block/$name"
				lb_fail "$what: $dev is detached but keeps kernel partitions"
			fi ;;
		esac
	done < <(sed -n 's|^drill: disk[0-9]* (.*) on \(/dev/loop[0-9]*\)$|\1|p' "$LB_WORK/out")
}

drill_dirs() { compgen -G '/var/tmp/lifeboat-drill.*' | sort || true; }

flip() { # FILE OFFSET: invert one byte
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

for layout in $layouts; do
	lb_workdir
	export LIFEBOAT_LOG_DIR=$LB_WORK/log
	lb_build_layout "$layout" >/dev/null
	mapfile -t disks <"$LB_WORK/disks"
	for d in "${disks[@]}"; do lb_new_disk_id "$d"; done
	cap=$LB_WORK/cap
	"$LIFEBOAT" capture --output "$cap" "${disks[@]/#/--disk=}" >/dev/null 2>&1 ||
		lb_fail "$layout: capture failed"
	lb_disk_sums "${disks[@]}" >"$LB_WORK/sums.before"

	# --workdir that does not exist: made, then removed
	drill "$layout: drill --workdir (new)" 0 --workdir "$LB_WORK/dw" "$cap"
	grep -q '^drill: PASSED' "$LB_WORK/out" || {
		cat "$LB_WORK/out"
		lb_fail "$layout: drill did not print PASSED"
	}
	[ "$(grep -c '^drill: disk[0-9]* (.*) on /dev/loop' "$LB_WORK/out")" -eq "${#disks[@]}" ] || {
		cat "$LB_WORK/out"
		lb_fail "$layout: drill did not rehearse every disk"
	}
	no_leftovers "$layout: drill --workdir (new)" "$LB_WORK/dw"
	[ ! -e "$LB_WORK/dw" ] || lb_fail "$layout: drill left its new --workdir $LB_WORK/dw behind"

	if [ "$layout" = gpt-server ]; then
		# --workdir that exists (empty): still there, still empty
		mkdir "$LB_WORK/dw"
		drill "$layout: drill --workdir (existing)" 0 --workdir "$LB_WORK/dw" "$cap"
		grep -q '^drill: PASSED' "$LB_WORK/out" || lb_fail "$layout: drill (existing workdir) did not pass"
		no_leftovers "$layout: drill --workdir (existing)" "$LB_WORK/dw"
		[ -d "$LB_WORK/dw" ] && [ -z "$(ls -A "$LB_WORK/dw")" ] || {
			ls -lA "$LB_WORK/dw" || true
			lb_fail "$layout: drill did not leave its existing --workdir as it was (empty)"
		}
		rmdir "$LB_WORK/dw"

		# the default work dir under /var/tmp: none of its own left behind
		drill_dirs >"$LB_WORK/drill-dirs.before"
		drill "$layout: drill" 0 "$cap"
		grep -q '^drill: PASSED' "$LB_WORK/out" || lb_fail "$layout: drill (default workdir) did not pass"
		no_leftovers "$layout: drill"
		if drill_dirs | comm -13 "$LB_WORK/drill-dirs.before" - | grep .; then
			lb_fail "$layout: drill left a work directory under /var/tmp"
		fi
	fi

	lb_disk_sums "${disks[@]}" | diff -u "$LB_WORK/sums.before" - ||
		lb_fail "$layout: a drill wrote to the captured disks"
	echo "ok $layout: drill PASSED, nothing left behind, captured disks untouched"

	# a tampered capture fails, and still leaves nothing behind
	if [ "$layout" = gpt-server ]; then
		for art in disk0-boot-code.bin disk0p2-bios-boot.bin disk0p5.data; do
			rm -rf "$LB_WORK/bad"
			cp -a "$cap" "$LB_WORK/bad"
			[ -f "$LB_WORK/bad/$art" ] || lb_fail "no $art in the capture"
			flip "$LB_WORK/bad/$art" $(($(stat -c %s "$LB_WORK/bad/$art") / 2))
			drill "tampered $art" 1 --workdir "$LB_WORK/dw" "$LB_WORK/bad"
			if grep -q '^drill: PASSED' "$LB_WORK/out"; then
				cat "$LB_WORK/out"
				lb_fail "drill of a capture with $art tampered passed"
			fi
			no_leftovers "tampered $art" "$LB_WORK/dw"
			[ ! -e "$LB_WORK/dw" ] || lb_fail "tampered $art: drill left $LB_WORK/dw behind"
			echo "ok $layout: drill with $art tampered fails (exit 1), nothing left behind"
		done
		truncate -s 1000 "$LB_WORK/bad/manifest.xml"
		drill "truncated manifest" 2 --workdir "$LB_WORK/dw" "$LB_WORK/bad"
		[ ! -e "$LB_WORK/dw" ] || lb_fail "truncated manifest: drill made $LB_WORK/dw"
		echo "ok $layout: drill of a truncated manifest exits 2, creates nothing"
	fi

	# a disk excluded at capture is not rehearsed
	if [ "$layout" = multi-disk ]; then
		"$LIFEBOAT" capture --output "$LB_WORK/capx" "${disks[@]/#/--disk=}" \
			--exclude-disk "${disks[1]}" >/dev/null 2>&1 || lb_fail "capture --exclude-disk failed"
		drill "$layout with disk1 excluded" 0 --workdir "$LB_WORK/dw" "$LB_WORK/capx"
		grep -q '^drill: PASSED' "$LB_WORK/out" || lb_fail "$layout: drill with disk1 excluded did not pass"
		[ "$(grep -c '^drill: disk[0-9]* (.*) on /dev/loop' "$LB_WORK/out")" -eq 1 ] || {
			cat "$LB_WORK/out"
			lb_fail "$layout: drill rehearsed a disk excluded at capture"
		}
		no_leftovers "$layout with disk1 excluded" "$LB_WORK/dw"
		echo "ok $layout: a disk excluded at capture is not rehearsed"
	fi
	lb_cleanup
done
