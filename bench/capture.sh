#!/usr/bin/env bash
# bench/capture.sh - layout capture time on many disks with many partitions.
#
# Builds DISKS loop disks (sparse files) with PARTS GPT partitions each and a
# few filesystems per disk (2 vfat, 4 ext4, 2 swap; the rest blank, which
# blkid still has to probe for every signature it knows), then times, round
# by round so machine load hits every tool alike:
#   lifeboat   lifeboat capture --data none --output FRESH_DIR --disk D1 ... --disk DN
#              (--data none: the layout only, like the other two)
#   shell      bench/capture-baseline.sh FRESH_DIR D1 ... DN
#              (sfdisk --dump per disk, blkid -p per disk and partition)
#   rear       rear savelayout (ReaR's layout capture), from a private copy
#              of the installed ReaR whose disk filter accepts these loop
#              devices (stock ReaR only looks at sd*, vd*, nvme*, ...), with
#              its config, var and log dirs inside the work dir: nothing
#              under /etc/rear or /var/lib/rear is touched.
# and prints the medians, the ratios to lifeboat and the reads each tool
# caused on the disks (/sys/block/*/stat; reads by anything else running on
# the machine at the time count too). Nothing holds the disks open between
# runs, so every run starts with their page cache empty (the kernel drops a
# block device's cache on its last close); the backing files stay cached.
# Setup (mkfs etc.) is not timed. Nothing here is a pass/fail check.
#
# Usage: sudo bench/capture.sh
# Environment: DISKS (16), PARTS (32), PART_MIB (16), RUNS (5),
#   REAR_RUNS (1: one ReaR run takes 1-1.5 minutes at the default size on
#   2 cores; 0 skips ReaR), LIFEBOAT (./lifeboat).
# ReaR: Debian's package (apt-get install rear); skipped with a note when
#   it is not installed.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

DISKS=${DISKS:-16}
PARTS=${PARTS:-32}
PART_MIB=${PART_MIB:-16}
RUNS=${RUNS:-5}
REAR_RUNS=${REAR_RUNS:-1}
[ "$PARTS" -ge 25 ] || bn_die "PARTS must be at least 25 (filesystems go on p1..p25)"

bn_need_root
for p in sfdisk blkid partx mke2fs mkfs.vfat mkswap; do
	command -v "$p" >/dev/null || bn_die "$p is missing"
done
bn_workdir

echo "== capture benchmark: $DISKS disks x $PARTS GPT partitions of $PART_MIB MiB"
bn_machine

# ---- setup (not timed) ----------------------------------------------------
t_setup=$EPOCHREALTIME
disks=()
for i in $(seq "$DISKS"); do
	d=$(fx_attach "disk$i.img" "$((PARTS * PART_MIB + 2))M")
	disks+=("$d")
	{
		echo "label: gpt"
		printf 'label-id: %08X-B0B0-4000-8000-%012X\n' "$i" 0
		echo "unit: sectors"
		for p in $(seq "$PARTS"); do
			printf 'size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=%08X-B0B0-4000-8000-%012X, name="data-%d"\n' \
				$((PART_MIB * 2048)) "$i" "$p" "$p"
		done
	} | sfdisk -q --no-reread --no-tell-kernel "$d"
	partx -a "$d" 2>/dev/null || true # BLKPG; no partition parsers, no udev here
	bn_wait_parts "$d" "$PARTS"
done
i=0
for d in "${disks[@]}"; do
	i=$((i + 1))
	fsid() { printf '%08x-f5f5-4000-8000-%012x' "$i" "$1"; }
	fx_mkvfat "${d}p1" "$(printf '%04X%04X' "$i" 1)" ESP
	fx_mkvfat "${d}p9" "$(printf '%04X%04X' "$i" 9)" DATA
	for p in 2 10 17 25; do fx_mkext ext4 "${d}p$p" "$(fsid "$p")" "fs$p"; done
	for p in 3 20; do fx_mkswap "${d}p$p" "$(fsid "$p")" "swap$p"; done
done
printf 'setup (attach, partition, mkfs; not timed): %.1f s\n' "$(awk -v a="$t_setup" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"

# ---- ReaR: a private copy that reads these disks --------------------------
rear_note=""
rear=""
if [ "$REAR_RUNS" -le 0 ]; then
	rear_note="ReaR skipped (REAR_RUNS=0)"
elif ! [ -x /usr/sbin/rear ] || ! [ -d /usr/share/rear ]; then
	rear_note="ReaR not installed (Debian: apt-get install rear); skipped"
else
	rear=$BN_WORK/rear
	mkdir -p "$rear/usr/sbin" "$rear/usr/share" "$rear/etc/rear" "$rear/var/lib/rear" "$rear/var/log/rear" "$rear/tmp"
	cp -a /usr/share/rear "$rear/usr/share/"
	# A copy outside /usr/sbin makes ReaR put its log under the copy's
	# prefix; point its share, config and var dirs there too.
	sed -e "s|^SHARE_DIR=\"/usr/share/rear\"|SHARE_DIR=\"$rear/usr/share/rear\"|" \
		-e "s|^CONFIG_DIR=\"/etc/rear\"|CONFIG_DIR=\"$rear/etc/rear\"|" \
		-e "s|^VAR_DIR=\"/var/lib/rear\"|VAR_DIR=\"$rear/var/lib/rear\"|" \
		/usr/sbin/rear >"$rear/usr/sbin/rear"
	chmod +x "$rear/usr/sbin/rear"
	# Stock ReaR only considers hd* sd* cciss* vd* xvd* dasd* nvme* mmcblk*
	# in /sys/block; make it consider exactly the benchmark's disks.
	f=$rear/usr/share/rear/layout/save/GNU/Linux/200_partition_layout.sh
	# shellcheck disable=SC2016 # $blockd and $BENCH_REAR_DISKS are ReaR's
	sed -i 's/^\( *\)if \[\[ \$blockd = hd\* || \$blockd = sd\* .*\]\] ; then$/\1if [[ " $BENCH_REAR_DISKS " == *" $blockd "* ]] ; then/' "$f"
	names=("${disks[@]#/dev/}")
	cat >"$rear/etc/rear/local.conf" <<-EOF
		# minimal config for 'rear savelayout' in this benchmark:
		# no bootloader guessing (it reads the first bytes of the system
		# disk), and keep the disks in the layout although nothing on them
		# is mounted.
		BOOTLOADER=GRUB2
		AUTOEXCLUDE_DISKS=n
		BENCH_REAR_DISKS="${names[*]}"
	EOF
	if [ "$(grep -c 'BENCH_REAR_DISKS' "$f")" -ne 1 ] ||
		[ "$(grep -c "^SHARE_DIR=\"$rear\|^CONFIG_DIR=\"$rear\|^VAR_DIR=\"$rear" "$rear/usr/sbin/rear")" -ne 3 ]; then
		rear_note="ReaR $(/usr/sbin/rear -V 2>/dev/null | head -n 1): its disk filter or directory settings are not where this script expects them; skipped"
		rear=""
	fi
fi
run_rear() {
	rm -rf -- "$rear/var/lib/rear/layout"
	(cd "$BN_WORK" && TMPDIR=$rear/tmp "$rear/usr/sbin/rear" savelayout)
}

# ---- timed rounds ---------------------------------------------------------
# count the reads every tool causes on the benchmark disks
export BN_IO_DEVS="${disks[*]}"
lbargs=()
for d in "${disks[@]}"; do lbargs+=(--disk "$d"); done
for r in $(seq "$RUNS"); do
	# alternate the order, so neither tool always runs right after the other
	if [ $((r % 2)) -eq 1 ]; then
		bn_time lifeboat "$LIFEBOAT" capture --data none --output "$BN_WORK/lb$r" "${lbargs[@]}"
		bn_time shell "$BN_TOP/bench/capture-baseline.sh" "$BN_WORK/sh$r" "${disks[@]}"
	else
		bn_time shell "$BN_TOP/bench/capture-baseline.sh" "$BN_WORK/sh$r" "${disks[@]}"
		bn_time lifeboat "$LIFEBOAT" capture --data none --output "$BN_WORK/lb$r" "${lbargs[@]}"
	fi
	if [ -n "$rear" ] && [ "$r" -le "$REAR_RUNS" ]; then
		bn_time rear run_rear
	fi
	printf 'round %d: lifeboat %s s, shell %s s%s\n' "$r" "$(tail -n 1 "$BN_WORK/times.lifeboat" | cut -d' ' -f1)" \
		"$(tail -n 1 "$BN_WORK/times.shell" | cut -d' ' -f1)" \
		"$([ -n "$rear" ] && [ "$r" -le "$REAR_RUNS" ] && printf ', rear %s s' "$(tail -n 1 "$BN_WORK/times.rear" | cut -d' ' -f1)")"
done

# ---- what each tool recorded (first round) --------------------------------
m=$BN_WORK/lb1/manifest.xml
echo
echo "recorded:"
printf '  lifeboat: %d disks, %d partitions, %d ext4 / %d vfat / %d swap with geometry (%d bytes of manifest)\n' \
	"$(grep -c '<disk ' "$m")" "$(grep -c '<partition ' "$m")" "$(grep -c '<ext ' "$m")" \
	"$(grep -c '<vfat ' "$m")" "$(grep -c '<swap ' "$m")" "$(stat -c %s "$m")"
printf '  shell:    %d sfdisk dumps, %d blkid -p results with TYPE (ext4 %d, vfat %d, swap %d)\n' \
	"$(find "$BN_WORK/sh1" -name "*.sfdisk" | wc -l)" "$(cat "$BN_WORK/sh1"/*.blkid | grep -c '^TYPE=')" \
	"$(cat "$BN_WORK/sh1"/*.blkid | grep -c '^TYPE=ext4')" "$(cat "$BN_WORK/sh1"/*.blkid | grep -c '^TYPE=vfat')" \
	"$(cat "$BN_WORK/sh1"/*.blkid | grep -c '^TYPE=swap')"
if [ -n "$rear" ]; then
	l=$rear/var/lib/rear/layout/disklayout.conf
	printf "  rear:     %d 'disk' and %d 'part' lines, %d 'fs' and %d 'swap' lines (ReaR records only mounted filesystems and active swap)\n" \
		"$(grep -c '^disk ' "$l")" "$(grep -c '^part ' "$l")" "$(grep -c '^fs ' "$l" || true)" "$(grep -c '^swap ' "$l" || true)"
fi

# lifeboat capture reads the manifest back (parse + RELAX NG validation)
# before it renames the capture into place; lifeboat verify does the same
# load, so it shows how much of the capture that is.
for _ in 1 2 3; do bn_time verify "$LIFEBOAT" verify "$BN_WORK/lb1"; done

# ---- table ----------------------------------------------------------------
echo
bn_header "wall vs lifeboat"
bn_row lifeboat "lifeboat capture" lifeboat
bn_row shell "shell script (sfdisk --dump + blkid -p)" lifeboat
if [ -n "$rear" ]; then
	bn_row rear "ReaR 'rear savelayout'" lifeboat
else
	echo "ReaR: $rear_note"
fi
printf '(lifeboat verify of that manifest, i.e. loading + RELAX NG validation\n that capture also does once: median %s s wall, %s s CPU)\n' \
	"$(bn_median verify 1)" "$(bn_median verify 2)"
printf 'load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs (wall s): lifeboat $(bn_runs lifeboat); shell $(bn_runs shell)${rear:+; rear $(bn_runs rear)}"
