#!/usr/bin/env bash
# bench/rescue.sh - the rescue image: its size and build time against
# ReaR's, and how long it takes under TCG to boot to the plan and to finish
# an unattended restore.
#
# Part 1, the image (5 rounds, medians):
#   lifeboat mkrescue --kernel K --output FRESH         (zstd, ICU emptied)
# and, once each, for the sizes:
#   the same with ICU's data whole ('icu-data: full')
#   the same with --compress gzip
#   lifeboat mkrescue --kernel K --iso FRESH.iso        (the hybrid ISO)
# against ReaR's "rear mkrescue" on this kind of machine (Debian 12, 2
# cores; rear 2.7 with its default OUTPUT=ISO): 145 MiB ISO, 143 MB
# initrd, 54 s. ReaR is not rerun here: it needs a configured system and a
# minute; its numbers are constants below, the ratios are ReaR / lifeboat.
#
# Part 2, the rescue system under qemu TCG (-accel tcg -cpu max, 1 GiB; KVM
# cannot run a stock kernel on this machine), one run each, with the test
# machine of tests/rescue (GPT: ESP, BIOS boot, ext4 root with a kernel and
# GRUB; captured with --data image when capture has it) on a backup disk
# and a blank target disk:
#   boot to plan     qemu start -> the first line of the plan on the serial
#                    console (kernel, /init, drivers, disks, capture found,
#                    lifeboat restore loaded and planned)
#   whole restore    qemu start -> LIFEBOAT-RESULT: ok, and -> power off
#   restored boot    the restored disk booted on its own (SeaBIOS) to its
#                    init's line
# Times under TCG are 5-20x those of real hardware; compare them with each
# other (and with "12 s to boot, partition, format and power off" of a
# minimal initramfs on this kind of machine), not with a real machine.
#
# Needs root (loop devices over sparse files in a fresh work directory),
# qemu, busybox-static, linux-image-amd64, GRUB, mtools (tests/install-deps.sh).
# About 3-4 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export LIFEBOAT=${LIFEBOAT:-$here/lifeboat}
# shellcheck source=tests/lib.sh
. "$here/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "bench/rescue.sh: needs root (loop devices)" >&2; exit 1; }
[ -x "$LIFEBOAT" ] || { echo "bench/rescue.sh: build lifeboat first (make)" >&2; exit 1; }
lb_workdir
# a private copy: a rebuild during the run cannot mix versions
cp "$LIFEBOAT" "$LB_WORK/lifeboat"
export LIFEBOAT_INITRAMFS=$here/initramfs
LIFEBOAT=$LB_WORK/lifeboat
# shellcheck source=tests/rescue/lib/rescue.sh
. "$here/tests/rescue/lib/rescue.sh"
rs_need
W=$LB_WORK
ROUNDS=${ROUNDS:-5}
REAR_ISO_MIB=145 REAR_INITRD_MB=143 REAR_BUILD_S=54

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

echo "== the image (kernel ${RS_KERNEL#/boot/vmlinuz-}, $ROUNDS rounds)"
: >"$W/times"
for i in $(seq "$ROUNDS"); do
	t=$(now_ms)
	"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --output "$W/r$i.img" >/dev/null 2>"$W/build.log"
	echo $(($(now_ms) - t)) >>"$W/times"
done
build_ms=$(median <"$W/times")
size=$(stat -c %s "$W/r1.img")
unpacked=$(zstd -dc "$W/r1.img" | wc -c)
cp -r "$here/initramfs" "$W/initramfs-icu"
sed -i 's/^icu-data: empty$/icu-data: full/' "$W/initramfs-icu/30lifeboat/module.conf"
"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --modules-dir "$W/initramfs-icu" --output "$W/icu.img" >/dev/null 2>&1
"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --compress gzip --output "$W/gz.img" >/dev/null 2>&1
t=$(now_ms)
"$LIFEBOAT" mkrescue --kernel "$RS_KERNEL" --iso "$W/r.iso" >/dev/null 2>&1
iso_ms=$(($(now_ms) - t))
printf '%-40s %10s %10s %10s\n' "" "size MiB" "build s" "ReaR/this"
printf '%-40s %10s %10s %10s\n' "lifeboat initramfs (zstd, ICU emptied)" "$(mib "$size")" \
	"$(awk -v m="$build_ms" 'BEGIN { printf "%.2f", m / 1000 }')" \
	"$(ratio "$((REAR_INITRD_MB * 1000000))" "$size") size, $(ratio "$((REAR_BUILD_S * 1000))" "$build_ms") time"
printf '%-40s %10s\n' "  unpacked in memory" "$(mib "$unpacked")"
printf '%-40s %10s\n' "  with ICU's data whole" "$(mib "$(stat -c %s "$W/icu.img")")"
printf '%-40s %10s\n' "  gzip instead of zstd" "$(mib "$(stat -c %s "$W/gz.img")")"
printf '%-40s %10s %10s %10s\n' "lifeboat ISO (BIOS+UEFI, with kernel)" "$(mib "$(stat -c %s "$W/r.iso")")" \
	"$(awk -v m="$iso_ms" 'BEGIN { printf "%.2f", m / 1000 }')" \
	"$(ratio "$((REAR_ISO_MIB * 1048576))" "$(stat -c %s "$W/r.iso")") size"
printf '%-40s %10s %10s\n' "ReaR initrd / ISO (constants)" "$(mib $((REAR_INITRD_MB * 1000000))) / $REAR_ISO_MIB" "$REAR_BUILD_S"
echo "targets: image under 20 MiB, built in under 5 s"
grep 'mkrescue: kernel' "$W/build.log" | sed 's/^/  /'

echo
echo "== under qemu TCG"
rs_build_machine
rs_build_backup 320M
if "$LIFEBOAT" capture --help 2>&1 | grep -qw image; then data=image; else data=none; fi
rs_capture --data "$data"
rs_release_backup
truncate -s "$RS_MACHINE_SIZE" "$W/target.img"

# stamp: each serial line with the milliseconds since qemu started
t0=$(now_ms)
timeout --kill-after=5 600 qemu-system-x86_64 -accel tcg -cpu max -m 1024 -display none -no-reboot \
	-monitor none -serial stdio -kernel "$RS_KERNEL" -initrd "$W/r1.img" \
	-append 'console=ttyS0 panic=1 lifeboat.restore=auto lifeboat.format=quick' \
	-drive "file=$W/backup.img,format=raw,if=virtio" \
	-drive "file=$W/target.img,format=raw,if=virtio" </dev/null 2>&1 |
	while IFS= read -r line; do printf '%s %s\n' $(($(date +%s%N) / 1000000 - t0)) "${line%$'\r'}"; done >"$W/serial"
off_ms=$(($(now_ms) - t0))
at() { awk -v pat="$1" '$0 ~ pat { print $1; exit }' "$W/serial"; }
init_ms=$(at ' Run /init as init process')
plan_ms=$(at '^[0-9]+ disk0 ')
result_ms=$(at ' LIFEBOAT-RESULT: ')
grep -q ' LIFEBOAT-RESULT: ok' "$W/serial" || { tail -n 30 "$W/serial"; echo "the restore failed" >&2; exit 1; }
sec() { awk -v m="${1:-0}" 'BEGIN { printf "%.1f s", m / 1000 }'; }
printf '%-40s %s\n' "kernel to /init" "$(sec "$init_ms")" \
	"boot to plan" "$(sec "$plan_ms")" \
	"whole unattended restore (data: $data)" "$(sec "$result_ms")" \
	"  to power off" "$(sec "$off_ms")"
if [ "$data" = image ]; then
	t=$(now_ms)
	rs_qemu "$W/boot.log" 300 -drive "file=$W/target.img,format=raw,if=virtio" || true
	if tr -d '\r' <"$W/boot.log" | grep -q '^MACHINE-BOOT: restore-session='; then
		printf '%-40s %s\n' "restored disk boots (SeaBIOS)" "$(sec $(($(now_ms) - t)))"
	else
		printf '%-40s %s\n' "restored disk boots (SeaBIOS)" "FAILED"
	fi
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
