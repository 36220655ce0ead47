# shellcheck shell=bash
# bench/lib.sh - helpers sourced by the benchmark scripts.
#
# Benchmarks report ratios measured side by side in one run, never pass/fail
# on a time. Every loop device is attached with fx_attach (recorded in
# "$BN_WORK/loops" the moment it exists) and detached by bn_cleanup, which
# only touches devices still backed by a file inside "$BN_WORK" (never
# losetup -D).

BN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIFEBOAT=${LIFEBOAT:-$BN_TOP/lifeboat}

bn_die() {
	printf '%s: %s\n' "$(basename "$0")" "$*" >&2
	exit 1
}

bn_need_root() {
	[ "$(id -u)" -eq 0 ] || bn_die "needs root (loop devices): sudo $0"
	[ -x "$LIFEBOAT" ] || bn_die "$LIFEBOAT not built: run make -s"
}

# bn_workdir: fresh work dir in $BN_WORK (canonical path, as losetup
# records it), cleaned up on exit; sources the fixture helpers with it.
bn_workdir() {
	BN_WORK=$(realpath -- "$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-bench.XXXXXX")")
	export BN_WORK
	trap bn_cleanup EXIT
	trap 'exit 130' INT TERM
	export FX_WORKDIR=$BN_WORK
	# A private copy of the binary: a rebuild during the run cannot mix
	# two versions into one set of numbers.
	cp -- "$LIFEBOAT" "$BN_WORK/lifeboat"
	LIFEBOAT=$BN_WORK/lifeboat
	# shellcheck source=fixtures/layouts/lib.sh
	. "$BN_TOP/fixtures/layouts/lib.sh"
}

# bn_cleanup: drop the partitions of, then detach, every loop device this
# work dir attached; remove the work dir. Safe to call twice.
bn_cleanup() {
	local dev
	[ -n "${BN_WORK:-}" ] && [ -d "$BN_WORK" ] || return 0
	if [ -f "$BN_WORK/loops" ]; then
		while IFS= read -r dev; do
			case $dev in /dev/loop[0-9]*) ;; *) continue ;; esac
			case $(losetup -n -O BACK-FILE "$dev" 2>/dev/null) in
			"$BN_WORK"/*) ;;
			*) continue ;;
			esac
			# BLKPG partitions outlive losetup -d otherwise.
			partx -d "$dev" >/dev/null 2>&1 || true
			losetup -d "$dev" >/dev/null 2>&1 || true
		done <"$BN_WORK/loops"
	fi
	rm -rf -- "$BN_WORK"
	return 0
}

# bn_cpu_ticks VAR: store in VAR the user+system clock ticks of this
# shell's waited-for children (cutime and cstime in /proc/PID/stat; the
# command name field of a shell holds no space).
bn_cpu_ticks() {
	local st
	read -r -a st <"/proc/$BASHPID/stat"
	printf -v "$1" '%d' $((st[15] + st[16]))
}

# bn_io_reads VAR: store in VAR "READ_IOS READ_KIB", summed over the disks
# in $BN_IO_DEVS (/sys/block/NAME/stat; I/O on a partition counts on its
# disk too).
bn_io_reads() {
	local d st ios=0 sec=0
	for d in ${BN_IO_DEVS:-}; do
		read -r -a st <"/sys/block/${d#/dev/}/stat"
		ios=$((ios + st[0]))
		sec=$((sec + st[2]))
	done
	printf -v "$1" '%d %d' "$ios" $((sec / 2))
}

# bn_time LABEL CMD... : run CMD (stdout and stderr to $BN_WORK/LABEL.log),
# append "WALL CPU READ_IOS READ_KIB" to $BN_WORK/times.LABEL: seconds, CPU
# seconds of the command and every child it waited for, and the reads it
# caused on the disks in $BN_IO_DEVS (0 0 when unset). A failing command
# stops the bench.
bn_time() {
	local label=$1 t0 t1 c0 c1 io0 io1 rc=0
	shift
	bn_io_reads io0
	bn_cpu_ticks c0
	t0=$EPOCHREALTIME
	"$@" >>"$BN_WORK/$label.log" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	bn_cpu_ticks c1
	bn_io_reads io1
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$BN_WORK/$label.log" >&2
		bn_die "$label: '$*' failed (exit $rc)"
	fi
	awk -v a="$t0" -v b="$t1" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
		-v i0="$io0" -v i1="$io1" 'BEGIN {
		split(i0, x, " "); split(i1, y, " ")
		printf "%.3f %.2f %d %d\n", b - a, c / hz, y[1] - x[1], y[2] - x[2] }' >>"$BN_WORK/times.$label"
}

# bn_median LABEL COLUMN: median of column 1 (wall), 2 (CPU), 3 (read I/Os)
# or 4 (KiB read).
bn_median() {
	cut -d' ' -f"$2" "$BN_WORK/times.$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bn_runs LABEL: the individual wall times, for the log.
bn_runs() {
	cut -d' ' -f1 "$BN_WORK/times.$1" | paste -sd' ' -
}

# bn_ratio A B: "N.Nx slower" / "N.Nx faster" / "same" for time A against
# the reference time B.
bn_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == b) { print "1.0x (reference)"; exit }
		if (a > b) printf "%.1fx slower\n", a / b; else printf "%.1fx faster\n", b / a }'
}

# bn_row LABEL NAME REFLABEL: one table row: name, median wall, median
# CPU, number of runs, [median device reads when $BN_IO_DEVS is set,] ratio
# of the wall median to REFLABEL's.
bn_row() {
	local w c ref n io="" ratio=reference
	w=$(bn_median "$1" 1)
	c=$(bn_median "$1" 2)
	ref=$(bn_median "$3" 1)
	n=$(wc -l <"$BN_WORK/times.$1")
	[ "$1" = "$3" ] || ratio=$(bn_ratio "$w" "$ref")
	[ -z "${BN_IO_DEVS:-}" ] ||
		io=$(printf ' %8d %8.0f' "$(bn_median "$1" 3)" "$(awk -v k="$(bn_median "$1" 4)" 'BEGIN { print k / 1024 }')")
	printf '%-42s %9.3f s %9.2f s %4d%s   %s\n' "$2" "$w" "$c" "$n" "$io" "$ratio"
}

bn_header() {
	local io=""
	[ -z "${BN_IO_DEVS:-}" ] || io=$(printf ' %8s %8s' "reads" "MiB read")
	printf '%-42s %11s %11s %4s%s   %s\n' "tool" "median wall" "median CPU" "runs" "$io" "${1:-wall vs lifeboat}"
}

# bn_machine: what the numbers were measured on.
bn_machine() {
	printf 'date: %s\nmachine: %s cores (%s), %s GiB RAM, kernel %s\n' \
		"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		"$(awk '/MemTotal/ { printf "%d", $2 / 1048576 + 0.5 }' /proc/meminfo)" "$(uname -r)"
	printf 'lifeboat: %s, binary sha256 %.12s, tree %s\n' "$("$LIFEBOAT" --version 2>/dev/null | head -n 1)" \
		"$(sha256sum "$LIFEBOAT" | cut -d' ' -f1)" \
		"$(git -C "$BN_TOP" describe --always --dirty 2>/dev/null || echo '?')"
	printf 'load average before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# bn_wait_parts DEV N: wait for partition nodes DEVp1..DEVpN.
bn_wait_parts() {
	local n
	for n in $(seq "$2"); do
		fx_wait_node "$1p$n" || return 1
	done
}
