#!/usr/bin/env bash
# bench/data.sh - volume data capture and restore, lifeboat against the tools
# an admin would pick instead, side by side in one run.
#
# One ext4 volume (a SIZE_GIB sparse file -> loop device -> GPT with one
# partition -> mkfs.ext4) filled with DATA_MB of real files copied from
# SOURCE (/usr: share, bin, include, lib, ...; copied again into further
# subdirectories when SOURCE is smaller), plus one 1 GiB sparse file with a
# single byte of data at its end. A second blank loop disk of the same size
# is the restore target. Timed, with the page cache dropped before every
# step (sync; echo 3 > /proc/sys/vm/drop_caches), round by round so machine
# load hits every tool alike, each restore made durable (fsync or unmount)
# inside its timing:
#
#   device   dd if=/dev/zero of=TGTp1 bs=4M oflag=direct conv=fsync (write limit; first,
#            so the target's backing file is allocated for every tool alike)
#            dd if=TGTp1 of=/dev/null bs=4M iflag=direct  (read limit)
#            the limit for the same data flow as a capture and a restore,
#            N = the 4 MiB blocks covering the volume's used bytes, the file
#            in the captures' directory (same disk as the loop devices'
#            backing files):
#            dd if=SRCp1 of=OUT/dd.copy bs=4M count=N iflag=direct oflag=direct conv=fsync
#            dd if=OUT/dd.copy of=TGTp1 bs=4M iflag=direct oflag=direct conv=fsync
#            (dd.copy removed afterwards, untimed)
#   lifeboat capture --disk SRC --data image --output DIR  (zstd level 1)
#            capture --disk SRC --data image --compress none --output DIR
#            restore --yes --quick-format --disk-map SRC=TGT DIR  (both;
#            the target wiped first, untimed: restore writes the partition
#            table, the volume's identity and its used blocks; by default it
#            checks every data file against its SHA-256 before the first
#            write, reading the capture twice)
#            restore --yes --quick-format --single-pass --disk-map SRC=TGT DIR
#            (both images; reads the capture once, checks each chunk just
#            before writing it; target wiped first, untimed)
#   partclone.ext4 -c -s SRCp1 -o - | zstd -T0 > F;  zstd -dc F | partclone.ext4 -r -s - -o TGTp1
#   partclone.ext4 -c -a0 -s SRCp1 -o F;  partclone.ext4 -r -s F -o TGTp1   (no checksums, no compression)
#   e2image -ra SRCp1 F.e2i;  e2image -ra F.e2i TGTp1   (sparse raw image)
#   fsarchiver -jNPROC savefs F.fsa SRCp1;  fsarchiver -jNPROC restfs F.fsa id=0,dest=TGTp1
#   with SRCp1 mounted:
#   tar --xattrs --acls --sparse -C MNT -cf - . | zstd -T0 > F
#            restore: mkfs.ext4, mount, zstd -dc F | tar -x ..., umount
#   lifeboat capture --disk SRC --data archive --output DIR, and its restore,
#            default and with --single-pass
#
# Output: a table of median seconds, CPU seconds, peak RSS, MB/s of the
# volume's used bytes, output size and the time ratio to the lifeboat row of
# the same kind; then the targets of the data-capture issue, each reported as
# met or not (the throughput target against both the plain dd rate and the dd
# copy of the same flow, judged on the latter). Correctness is checked once,
# untimed: e2fsck -fn after the zstd image restores (default and
# --single-pass), file tree and sparse-file allocation after the archive
# restores.
#
# Usage: sudo bench/data.sh    (about 8 min on an idle 2-core VM, 14 min at
#                                load average 5)
# Environment: SIZE_GIB (6), DATA_MB (1900 MB of files), RUNS (3), SLOW (20:
#   a step whose first run takes longer than this many seconds runs only
#   once; the table says how many runs each median is of), SOURCE (/usr),
#   LIFEBOAT (./lifeboat), LIFEBOAT_THREADS (passed through),
#   SKIP ("" or a space-separated list of: partclone e2image fsarchiver tar
#   archive dd).
# Needs: partclone zstd fsarchiver e2fsprogs time (Debian: apt-get install
#   partclone zstd fsarchiver time); a missing partclone or fsarchiver is
#   skipped with a note.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SIZE_GIB=${SIZE_GIB:-6}
DATA_MB=${DATA_MB:-1900}
RUNS=${RUNS:-3}
SLOW=${SLOW:-20}
SOURCE=${SOURCE:-/usr}
SKIP=${SKIP:-}
NPROC=$(nproc)

bn_need_root
for p in sfdisk partx mkfs.ext4 dumpe2fs e2fsck e2image zstd tar dd wipefs; do
	command -v "$p" >/dev/null || bn_die "$p is missing"
done
[ -x /usr/bin/time ] || bn_die "/usr/bin/time is missing (apt-get install time)"
skip() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
notes=()
command -v partclone.ext4 >/dev/null || { SKIP="$SKIP partclone"; notes+=("partclone not installed (apt-get install partclone): skipped"); }
command -v fsarchiver >/dev/null || { SKIP="$SKIP fsarchiver"; notes+=("fsarchiver not installed (apt-get install fsarchiver): skipped"); }

bn_workdir
t_start=$EPOCHREALTIME
MNT=$BN_WORK/mnt
OUT=$BN_WORK/out
mkdir -p "$MNT" "$OUT"
# Unmount anything of ours before lib.sh's cleanup detaches the loops.
dt_cleanup() {
	local m
	for m in "$MNT" "$BN_WORK"/tmnt; do
		mountpoint -q "$m" 2>/dev/null && umount "$m" 2>/dev/null
	done
	bn_cleanup
}
trap dt_cleanup EXIT

echo "== data benchmark: ${SIZE_GIB} GiB ext4 volume, ${DATA_MB} MB of files from $SOURCE, $NPROC cores"
bn_machine

# ---- helpers ----------------------------------------------------------------

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# dt_step LABEL CMD... : drop caches, run CMD (output to LABEL.log), append
# "WALL CPU PEAK_RSS_KB" to times.LABEL. CPU and peak RSS cover CMD and every
# child it waited for (for a pipeline under bash -c: its largest member).
dt_step() {
	local label=$1 t0 t1 rc=0 ru a
	shift
	for a in "$@"; do
		a=${a##*=}
		case $a in /dev/loop*) [ -b "$a" ] || bn_die "$label: $a is not a block device" ;; esac
	done
	drop_caches
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%U %S %M' -o "$BN_WORK/rusage" "$@" >>"$BN_WORK/$label.log" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$BN_WORK/$label.log" >&2
		bn_die "$label: '$*' failed (exit $rc)"
	fi
	ru=$(tail -n 1 "$BN_WORK/rusage")
	awk -v a="$t0" -v b="$t1" -v ru="$ru" 'BEGIN { split(ru, r, " ");
		printf "%.3f %.2f %d\n", b - a, r[1] + r[2], r[3] }' >>"$BN_WORK/times.$label"
}

# want LABEL: whether to run LABEL in this round: always in round 1, later
# only while its first run was no slower than SLOW seconds.
want() {
	[ "$round" -eq 1 ] && return 0
	[ -f "$BN_WORK/times.$1" ] || return 1
	awk -v s="$SLOW" 'NR == 1 { exit !($1 <= s) }' "$BN_WORK/times.$1"
}

# wait_part DISK: its partition 1 as a block device node, or stop: a
# missing node must never become a regular file in /dev under a writer.
wait_part() {
	partx -a "$1" >/dev/null 2>&1 || true
	fx_wait_node "$1p1" >/dev/null || true
	[ -b "$1p1" ] || bn_die "$1p1 is not a block device"
}

# The target as a dead disk: no signatures, no table, no partition nodes.
tgt_blank() {
	local i
	# (just after an unmount the partition can be busy for a moment: a
	# failed wipefs here ended the whole run, silently, under set -e)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -b "${TGT}p1" ] || break
		wipefs -a -q "${TGT}p1" >/dev/null 2>&1 && break
		[ "$i" -lt 10 ] || bn_die "wipefs ${TGT}p1 failed: $(wipefs -a -q "${TGT}p1" 2>&1)"
		sleep 0.5
	done
	# (it says, on stdout, that it cannot re-read a loop's table: harmless)
	wipefs -a -q "$TGT" >/dev/null 2>&1
	dd if=/dev/zero of="$TGT" bs=1M count=1 conv=notrunc,fsync status=none
	partx -d "$TGT" >/dev/null 2>&1 || true
}

# The target with the source's partition table, for the partition tools.
tgt_parted() {
	tgt_blank
	sfdisk -q --no-reread --no-tell-kernel "$TGT" <"$BN_WORK/layout.sfdisk"
	wait_part "$TGT"
}

# size of a file or directory in bytes: allocated (what it takes on disk)
alloc_bytes() { du -sB1 -- "$1" | cut -f1; }

# tree_sig DIR: names, types, sizes (not of directories), modes, owners
# and link targets of everything under DIR, hashed.
tree_sig() {
	(cd "$1" && find . -xdev ! -name lost+found -printf '%P|%y|%m|%U:%G|%l|' -a \( -type d -printf '\n' -o -printf '%s\n' \) |
		LC_ALL=C sort | sha256sum | cut -c1-16)
}

# ---- setup (not timed) ------------------------------------------------------
t_setup=$EPOCHREALTIME
SRC=$(fx_attach src.img "${SIZE_GIB}G")
TGT=$(fx_attach tgt.img "${SIZE_GIB}G")
printf 'label: gpt\nlabel-id: 0B0B0B0B-DA7A-4000-8000-000000000001\n,,L,\n' |
	sfdisk -q --no-reread --no-tell-kernel "$SRC"
wait_part "$SRC"
SRCP=${SRC}p1
TGTP=${TGT}p1
sfdisk --dump "$SRC" >"$BN_WORK/layout.sfdisk"
fx_mkext ext4 "$SRCP" 0b0b0b0b-da7a-4000-8000-000000000002 benchdata
mount "$SRCP" "$MNT"
# DATA_MB of files from SOURCE: a deterministic prefix of a walk of its
# usual subdirectories (many small files first, then binaries and
# libraries), again into usr2, usr3, ... while SOURCE is smaller.
roots=()
for d in share bin sbin include libexec lib lib64 local; do
	[ -d "$SOURCE/$d" ] && roots+=("$d")
done
[ "${#roots[@]}" -gt 0 ] || roots=(.)
need=$((DATA_MB * 1000000))
nl=$'\n'
n=0
while [ "$need" -gt $((DATA_MB * 10000)) ]; do
	n=$((n + 1))
	(cd "$SOURCE" && { find "${roots[@]}" -xdev ! -name "*${nl}*" -printf '%y %s %p\n' 2>/dev/null || true; }) |
		awk -v budget="$need" -v sumfile="$BN_WORK/files.bytes" '
			$1 == "f" { if (sum + $2 > budget) exit; sum += $2 }
			{ sub(/^[^ ]+ [^ ]+ /, ""); print }
			END { printf "%d\n", sum >sumfile }' >"$BN_WORK/files"
	got=$(cat "$BN_WORK/files.bytes")
	if [ "$got" -eq 0 ]; then
		[ "$n" -gt 1 ] || bn_die "nothing to copy from $SOURCE"
		break
	fi
	mkdir "$MNT/usr$n"
	tar -C "$SOURCE" --no-recursion --xattrs --acls -T "$BN_WORK/files" -cf - 2>/dev/null |
		tar -C "$MNT/usr$n" --xattrs --xattrs-include='*' --acls -xpf -
	need=$((need - got))
	[ "$n" -lt 20 ] || break
done
truncate -s 1G "$MNT/sparse"
echo x >>"$MNT/sparse"
nfiles=$(find "$MNT" -xdev | wc -l)
copies=$(find "$MNT" -mindepth 1 -maxdepth 1 -name 'usr*' | wc -l)
sparse_before=$(alloc_bytes "$MNT/sparse")
sig_src=$(tree_sig "$MNT")
umount "$MNT"
e2fsck -fn "$SRCP" >/dev/null 2>&1 || bn_die "the source filesystem does not check clean"
used=$(dumpe2fs -h "$SRCP" 2>/dev/null | awk -F: '
	/^Block count/ { c = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 }
	END { printf "%d", (c - f) * b }')
part_bytes=$(blockdev --getsize64 "$SRCP")
dd_blocks=$((part_bytes / 4194304))
dd_bytes=$((dd_blocks * 4194304))
# the dd copy rows: the 4 MiB blocks covering the used bytes
copy_blocks=$(((used + 4194303) / 4194304))
[ "$copy_blocks" -le "$dd_blocks" ] || copy_blocks=$dd_blocks
copy_bytes=$((copy_blocks * 4194304))
printf 'volume: %s, %.0f MB used of %.0f MB (%d entries in %d copies of %s; /sparse: 1 GiB apparent, %d bytes allocated)\n' \
	"$SRCP" "$((used / 1000000))" "$((part_bytes / 1000000))" "$nfiles" "$copies" "$SOURCE" "$sparse_before"
printf 'setup (attach, mkfs, copy; not timed): %.0f s\n' "$(awk -v a="$t_setup" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"

# ---- the steps ----------------------------------------------------------------

LB=$LIFEBOAT
cap_lb() { # LABEL MODE [--compress none]
	local label=$1 mode=$2
	shift 2
	rm -rf -- "${OUT:?}/$label"
	dt_step "$label" bash -c '"$@" && sync -- "${@: -1}"/*' _ "$LB" capture --disk "$SRC" --data "$mode" "$@" --output "$OUT/$label"
}
rst_lb() { # LABEL CAPTURE_LABEL [--single-pass]
	local label=$1 cap=$2
	shift 2
	tgt_blank
	dt_step "$label" "$LB" restore --yes --quick-format "$@" --disk-map "$SRC=$TGT" "$OUT/$cap"
}
# fsck_img LABEL: after an image restore (round 1), e2fsck -fn on the target.
checked_img=()
fsck_img() {
	[ "$round" -eq 1 ] || return 0
	if e2fsck -fn "$TGTP" >"$BN_WORK/fsck.$1.log" 2>&1; then
		checked_img+=("$1")
	else
		notes+=("$1: e2fsck -fn on the target after the restore FAILED (see fsck.$1.log)")
	fi
}

round_device() {
	tgt_parted
	want dev.write && dt_step dev.write dd if=/dev/zero of="$TGTP" bs=4M count="$dd_blocks" oflag=direct conv=fsync status=none
	want dev.read && dt_step dev.read dd if="$TGTP" of=/dev/null bs=4M count="$dd_blocks" iflag=direct status=none
	# the same data flows as capture and restore: partition -> file and
	# file -> partition, the file beside the captures (same disk)
	if want dev.p2f || want dev.f2p; then
		rm -f -- "$OUT/dd.copy"
		if want dev.p2f; then
			dt_step dev.p2f dd if="$SRCP" of="$OUT/dd.copy" bs=4M count="$copy_blocks" iflag=direct oflag=direct conv=fsync status=none
		else # (only the restore-side row runs this round: its input, untimed)
			dd if="$SRCP" of="$OUT/dd.copy" bs=4M count="$copy_blocks" iflag=direct oflag=direct conv=fsync status=none
		fi
		want dev.f2p && dt_step dev.f2p dd if="$OUT/dd.copy" of="$TGTP" bs=4M iflag=direct oflag=direct conv=fsync status=none
		rm -f -- "$OUT/dd.copy"
	fi
	return 0
}

round_images() {
	want lb.img && cap_lb lb.img image
	want lb.img.none && cap_lb lb.img.none image --compress none
	if ! skip partclone; then
		want pc.zstd && dt_step pc.zstd bash -c 'partclone.ext4 -q -c -s "$1" -o - -L "$3" | zstd -q -T0 >"$2" && sync -- "$2"' \
			_ "$SRCP" "$OUT/pc.zst" "$BN_WORK/partclone.log"
		want pc.a0 && rm -f "$OUT/pc.img" && dt_step pc.a0 bash -c 'partclone.ext4 -q -c -a0 -s "$1" -o "$2" -L "$3" && sync -- "$2"' \
			_ "$SRCP" "$OUT/pc.img" "$BN_WORK/partclone.log"
	fi
	if ! skip e2image; then
		want e2i && rm -f "$OUT/vol.e2i" && dt_step e2i bash -c 'e2image -ra "$1" "$2" && sync -- "$2"' _ "$SRCP" "$OUT/vol.e2i"
	fi
	if ! skip fsarchiver; then
		want fsa && rm -f "$OUT/vol.fsa" && dt_step fsa bash -c 'fsarchiver -j"$3" savefs "$2" "$1" && sync -- "$2"' \
			_ "$SRCP" "$OUT/vol.fsa" "$NPROC"
	fi
	return 0
}

round_image_restores() {
	if want lb.plan; then
		tgt_blank
		dt_step lb.plan "$LB" restore --dry-run --disk-map "$SRC=$TGT" "$OUT/lb.img"
	fi
	want lb.img.rst && rst_lb lb.img.rst lb.img && fsck_img lb.img.rst
	want lb.img.none.rst && rst_lb lb.img.none.rst lb.img.none
	want lb.img.sp.rst && rst_lb lb.img.sp.rst lb.img --single-pass && fsck_img lb.img.sp.rst
	want lb.img.none.sp.rst && rst_lb lb.img.none.sp.rst lb.img.none --single-pass
	tgt_parted
	if ! skip partclone; then
		want pc.zstd.rst && dt_step pc.zstd.rst bash -c 'zstd -q -dc "$1" | partclone.ext4 -q -r -s - -o "$2" -L "$3" && sync -- "$2"' \
			_ "$OUT/pc.zst" "$TGTP" "$BN_WORK/partclone.log"
		want pc.a0.rst && dt_step pc.a0.rst bash -c 'partclone.ext4 -q -r -s "$1" -o "$2" -L "$3" && sync -- "$2"' \
			_ "$OUT/pc.img" "$TGTP" "$BN_WORK/partclone.log"
	fi
	if ! skip e2image; then
		want e2i.rst && dt_step e2i.rst bash -c 'e2image -ra "$1" "$2" && sync -- "$2"' _ "$OUT/vol.e2i" "$TGTP"
	fi
	if ! skip fsarchiver; then
		want fsa.rst && dt_step fsa.rst fsarchiver -j"$NPROC" restfs "$OUT/vol.fsa" id=0,dest="$TGTP"
	fi
	return 0
}

round_archives() {
	mount "$SRCP" "$MNT"
	if ! skip archive; then
		want lb.arc && cap_lb lb.arc archive
	fi
	if ! skip tar; then
		want tar && dt_step tar bash -c 'tar --xattrs --acls --sparse -C "$1" -cf - . | zstd -q -T0 >"$2" && sync -- "$2"' \
			_ "$MNT" "$OUT/tree.tar.zst"
	fi
	umount "$MNT"
}

# check_tree LABEL: after an archive restore (round 1), the target's tree
# against the source's, and the sparse file's allocation.
check_tree() {
	local sig sp
	[ "$round" -eq 1 ] || return 0
	mkdir -p "$BN_WORK/tmnt"
	mount -o ro "$TGTP" "$BN_WORK/tmnt"
	sig=$(tree_sig "$BN_WORK/tmnt")
	sp=$(alloc_bytes "$BN_WORK/tmnt/sparse")
	umount "$BN_WORK/tmnt"
	printf '%s %s\n' "$([ "$sig" = "$sig_src" ] && echo same || echo DIFFERENT)" "$sp" >"$BN_WORK/check.$1"
}

round_archive_restores() {
	if ! skip archive; then
		if want lb.arc.rst; then
			rst_lb lb.arc.rst lb.arc
			check_tree lb.arc.rst
		fi
		if want lb.arc.sp.rst; then
			rst_lb lb.arc.sp.rst lb.arc --single-pass
			check_tree lb.arc.sp.rst
		fi
	fi
	if ! skip tar && want tar.rst; then
		tgt_parted
		mkdir -p "$BN_WORK/tmnt"
		dt_step tar.rst bash -c 'mkfs.ext4 -q -F -E nodiscard "$1" && mount "$1" "$2" &&
			zstd -q -dc "$3" | tar --xattrs --xattrs-include="*" --acls -xpf - -C "$2" && umount "$2"' \
			_ "$TGTP" "$BN_WORK/tmnt" "$OUT/tree.tar.zst"
		check_tree tar.rst
	fi
	return 0
}

for round in $(seq "$RUNS"); do
	printf 'round %d of %d ...\n' "$round" "$RUNS" >&2
	skip dd || round_device
	round_images
	round_image_restores
	round_archives
	round_archive_restores
done

# ---- report -------------------------------------------------------------------

med() { [ -f "$BN_WORK/times.$1" ] && bn_median "$1" "$2" || echo ""; }
out_size() { # LABEL -> allocated bytes of its output
	case $1 in
	lb.img | lb.img.none | lb.arc) alloc_bytes "$OUT/$1" ;;
	pc.zstd) alloc_bytes "$OUT/pc.zst" ;;
	pc.a0) alloc_bytes "$OUT/pc.img" ;;
	e2i) alloc_bytes "$OUT/vol.e2i" ;;
	fsa) alloc_bytes "$OUT/vol.fsa" ;;
	tar) alloc_bytes "$OUT/tree.tar.zst" ;;
	*) echo "" ;;
	esac
}
# row LABEL NAME REF [BYTES]: BYTES for MB/s (default: the used bytes)
row() {
	local label=$1 name=$2 ref=$3 bytes=${4:-$used} w c m r sz rw
	[ -f "$BN_WORK/times.$label" ] || return 0
	w=$(med "$label" 1)
	c=$(med "$label" 2)
	m=$(med "$label" 3)
	sz=$(out_size "$label")
	r=$(wc -l <"$BN_WORK/times.$label")
	if [ "$label" = "$ref" ]; then
		rw="reference"
	elif [ -f "$BN_WORK/times.$ref" ]; then
		rw=$(awk -v a="$w" -v b="$(med "$ref" 1)" 'BEGIN { printf "%.2fx", a / b }')
	else
		rw="-"
	fi
	printf '%-44s %4d %8.2f %7.2f %8.0f %8s %9s  %s\n' "$name" "$r" "$w" "$c" "$(awk -v k="$m" 'BEGIN { printf "%d", k / 1024 }')" \
		"$(awk -v b="$bytes" -v w="$w" 'BEGIN { if (b > 0) printf "%.0f", b / w / 1e6; else print "-" }')" \
		"$([ -n "$sz" ] && awk -v s="$sz" 'BEGIN { printf "%.0f", s / 1e6 }' || echo -)" "$rw"
}

echo
printf 'used bytes: %.1f MB; MB/s below are used bytes / median wall time (dd read/write rows: %.0f MB, the whole partition; dd copy rows: %.0f MB, the 4 MiB blocks covering the used bytes)\n' \
	"$(awk -v u="$used" 'BEGIN { print u / 1e6 }')" "$(awk -v u="$dd_bytes" 'BEGIN { print u / 1e6 }')" \
	"$(awk -v u="$copy_bytes" 'BEGIN { print u / 1e6 }')"
printf 'time ratio: the median against the lifeboat row of the same kind (>1: slower than lifeboat)\n\n'
printf '%-44s %4s %8s %7s %8s %8s %9s  %s\n' "step" "runs" "wall s" "CPU s" "RSS MiB" "MB/s" "output MB" "time vs lifeboat"
echo "-- device"
row dev.read "dd read  (iflag=direct, 4M)" dev.read "$dd_bytes"
row dev.write "dd write (oflag=direct, 4M)" dev.write "$dd_bytes"
row dev.p2f "dd copy partition -> file (direct, 4M)" dev.p2f "$copy_bytes"
row dev.f2p "dd copy file -> partition (direct, 4M)" dev.f2p "$copy_bytes"
echo "-- image capture"
row lb.img "lifeboat image (zstd -1, XXH3, SHA-256)" lb.img
row lb.img.none "lifeboat image --compress none" lb.img
row pc.zstd "partclone.ext4 | zstd -T0 (level 3)" lb.img
row pc.a0 "partclone.ext4 -a0 (plain)" lb.img
row e2i "e2image -ra (sparse raw file)" lb.img
row fsa "fsarchiver -j$NPROC savefs (default zstd -8)" lb.img
[ -f "$OUT/vol.fsa" ] && printf '  (fsarchiver archive compression: %s)\n' \
	"$(fsarchiver archinfo "$OUT/vol.fsa" 2>&1 | sed -n 's/^Compression level:[[:space:]]*//p' | head -n 1)"
echo "-- image restore"
row lb.plan "lifeboat restore --dry-run (plan only)" lb.img.rst 0
row lb.img.rst "lifeboat restore (zstd image)" lb.img.rst
row lb.img.none.rst "lifeboat restore (plain image)" lb.img.rst
row lb.img.sp.rst "lifeboat restore --single-pass (zstd image)" lb.img.rst
row lb.img.none.sp.rst "lifeboat restore --single-pass (plain image)" lb.img.rst
row pc.zstd.rst "zstd -dc | partclone.ext4 -r" lb.img.rst
row pc.a0.rst "partclone.ext4 -r (-a0 image)" lb.img.rst
row e2i.rst "e2image -ra file -> partition" lb.img.rst
row fsa.rst "fsarchiver -j$NPROC restfs" lb.img.rst
echo "-- archive (volume mounted)"
row lb.arc "lifeboat archive capture" lb.arc
row tar "tar --sparse | zstd -T0 (level 3)" lb.arc
row lb.arc.rst "lifeboat restore (archive)" lb.arc.rst
row lb.arc.sp.rst "lifeboat restore --single-pass (archive)" lb.arc.rst
row tar.rst "mkfs + zstd -dc | tar -x + umount" lb.arc.rst

echo
echo "targets:"
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }
t() { med "$1" 1; }
if [ -n "$(t lb.img)" ] && [ -n "$(t e2i)" ]; then
	printf '  image capture (zstd) faster than e2image -ra: %s (%.2f s vs %.2f s)\n' \
		"$(verdict "$(t lb.img) < $(t e2i)")" "$(t lb.img)" "$(t e2i)"
fi
if [ -n "$(t lb.img)" ] && [ -n "$(t pc.zstd)" ]; then
	printf '  image capture (zstd) >= 4x faster than partclone | zstd: %s (%.1fx)\n' \
		"$(verdict "$(t pc.zstd) >= 4 * $(t lb.img)")" "$(awk -v a="$(t pc.zstd)" -v b="$(t lb.img)" 'BEGIN { print a / b }')"
fi
if [ -n "$(t pc.a0.rst)" ]; then
	# vs_pc LABEL_ZSTD LABEL_PLAIN MODE: one restore mode against partclone -a0
	vs_pc() {
		[ -n "$(t "$1")" ] || return 0
		printf '  image restore (%s) faster than partclone -a0 restore: %s (zstd image %.2f s, plain image %s, partclone -a0 %.2f s)\n' \
			"$3" "$(verdict "$(t "$1") < $(t pc.a0.rst)")" "$(t "$1")" \
			"$([ -n "$(t "$2")" ] && printf '%.2f s' "$(t "$2")" || echo -)" "$(t pc.a0.rst)"
	}
	vs_pc lb.img.rst lb.img.none.rst "default: all data checked before the first write"
	vs_pc lb.img.sp.rst lb.img.none.sp.rst "--single-pass"
fi
# Throughput with compression off, in MB/s of used bytes, against (a) the
# plain dd rate of the device alone (read for capture, write for restore) and
# (b) the dd copy of the same data flow on the same disk; judged on (b).
rate() { awk -v b="$1" -v w="$2" 'BEGIN { printf "%.6f", b / w / 1e6 }'; }
# thr NAME LABEL ALONE_LABEL ALONE_NAME COPY_LABEL COPY_NAME FLOW
thr() {
	local x a c pa pc
	[ -n "$(t "$2")" ] || return 0
	x=$(rate "$used" "$(t "$2")")
	a=$(rate "$dd_bytes" "$(t "$3")")
	c=$(rate "$copy_bytes" "$(t "$5")")
	pa=$(awk -v x="$x" -v a="$a" 'BEGIN { printf "%.0f", 100 * x / a }')
	pc=$(awk -v x="$x" -v c="$c" 'BEGIN { printf "%.0f", 100 * x / c }')
	printf '    %s: %.0f MB/s of used bytes = %s%% of %s alone (%.0f MB/s), %s%% of %s (%.0f MB/s; same flow: %s); against the dd copy: %s\n' \
		"$1" "$x" "$pa" "$4" "$a" "$pc" "$6" "$c" "$7" "$(verdict "$x >= 0.8 * $c")"
}
if [ -n "$(t dev.read)" ] && [ -n "$(t dev.write)" ] && [ -n "$(t dev.p2f)" ] && [ -n "$(t dev.f2p)" ]; then
	echo '  with compression off, capture and restore >= 80% of the device'"'"'s sequential throughput for the used bytes:'
	thr "capture --compress none" lb.img.none dev.read "dd read" dev.p2f "dd copy partition->file" \
		"read the partition, write the file on the same disk"
	thr "restore, plain image (default: all data checked first, capture read twice)" lb.img.none.rst \
		dev.write "dd write" dev.f2p "dd copy file->partition" "read the file, write the partition on the same disk"
	thr "restore --single-pass, plain image (capture read once)" lb.img.none.sp.rst \
		dev.write "dd write" dev.f2p "dd copy file->partition" "read the file, write the partition on the same disk"
fi
if [ -n "$(t lb.arc)" ] && [ -n "$(t tar)" ]; then
	printf '  archive capture >= 1.5x faster than tar | zstd: %s (%.2fx)\n' \
		"$(verdict "$(t tar) >= 1.5 * $(t lb.arc)")" "$(awk -v a="$(t tar)" -v b="$(t lb.arc)" 'BEGIN { print a / b }')"
fi
for l in lb.arc.rst lb.arc.sp.rst tar.rst; do
	[ -f "$BN_WORK/check.$l" ] || continue
	read -r same sp <"$BN_WORK/check.$l"
	printf '  %s: file tree %s as the source; /sparse %d bytes allocated after restore (%d before): %s\n' \
		"$l" "$same" "$sp" "$sparse_before" "$( [ "$sp" -le $((sparse_before + 65536)) ] && echo "not inflated" || echo "INFLATED")"
done
for l in "${checked_img[@]}"; do echo "  $l: e2fsck -fn clean on the target after the restore"; done
for x in "${notes[@]}"; do echo "note: $x"; done
echo
rss() { local k; k=$(med "$1" 3); [ -n "$k" ] && awk -v k="$k" 'BEGIN { printf "%d\n", k / 1024 }' || echo "-"; }
printf 'lifeboat peak RSS (MiB): image capture %s, plain %s; restore %s, plain %s; --single-pass %s, plain %s; archive capture %s, restore %s, --single-pass %s\n' \
	"$(rss lb.img)" "$(rss lb.img.none)" "$(rss lb.img.rst)" "$(rss lb.img.none.rst)" "$(rss lb.img.sp.rst)" "$(rss lb.img.none.sp.rst)" \
	"$(rss lb.arc)" "$(rss lb.arc.rst)" "$(rss lb.arc.sp.rst)"
printf 'load average after: %s; whole run %.0f s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" \
	"$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
