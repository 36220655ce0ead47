#!/usr/bin/env bash
# lb-timeout: 1500
# lifeboat's systemd units in a booted Debian 12 machine (issue 15,
# lifeboat-systemd(7)), in one boot under SeaBIOS. lifeboat is put into the
# machine's root with 'make install DESTDIR=', and
# lifeboat-capture.timer enabled with 'systemctl --root= enable'. The timer
# fires at boot because it is Persistent=true and its stamp is from two days
# ago (before the last 'daily' time); the only drop-in sets
# RandomizedDelaySec=0, so that it fires at once. The service captures the
# machine's second disk (lifeboat.conf: disk = /dev/vdb, a small ext4
# volume, imaged) into /var/lib/lifeboat/captures: the capture verifies,
# is 'latest', 'lifeboat status' exits 0, and the journal holds the
# success MESSAGE_ID with its fields. Then a failing pre-capture hook makes
# 'systemctl start' fail: OnFailure= runs lifeboat-failure@, whose alert in
# /etc/lifeboat/failure.d/ gets the unit and systemd's MONITOR_* values,
# the journal holds the failure MESSAGE_ID, journalctl -x explains both from
# the installed catalog, the earlier capture stays 'latest', and the hook
# did not see NOTIFY_SOCKET. The machine's root tree is the cached
# debootstrap of tests/rescue/lib/debian.sh (built once).
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
. "$LB_TOP/tests/rescue/lib/rescue.sh"
. "$LB_TOP/tests/rescue/lib/debian.sh"
rs_need
command -v systemctl >/dev/null || rs_skip "needs systemctl (apt-get install systemd)"
W=$LB_WORK
OK_ID=$(sed -n 's/^#define LB_MESSAGE_CAPTURE_OK "\(.*\)"$/\1/p' "$LB_TOP/src/cmd/cmd.h")
FAIL_ID=$(sed -n 's/^#define LB_MESSAGE_CAPTURE_FAILED "\(.*\)"$/\1/p' "$LB_TOP/src/cmd/cmd.h")
DEB=$LB_TOP/tests/rescue/debian

# ---- the machine, with lifeboat installed as make install does it ----------
tarball=$(dg_base_tarball)
dg_build_machine "$tarball"
root=$(fx_part "$DG_MACHINE" 4)
mnt=$W/mnt
mount -t ext4 "$root" "$mnt"
# not live-debian's test step: this test's own
rm -f "$mnt/etc/systemd/system/multi-user.target.wants/lifeboat-e2e.service"
make -s -C "$LB_TOP" install DESTDIR="$mnt" >"$W/install.log" 2>&1 || {
	umount "$mnt"
	cat "$W/install.log"
	lb_fail "make install DESTDIR=<the machine's root> failed"
}
systemctl --root="$mnt" enable lifeboat-capture.timer >"$W/enable.log" 2>&1 || {
	umount "$mnt"
	cat "$W/enable.log"
	lb_fail "systemctl --root enable lifeboat-capture.timer failed"
}
# the last run two days ago: Persistent=true catches up at boot
mkdir -p "$mnt/var/lib/systemd/timers"
touch -d '2 days ago' "$mnt/var/lib/systemd/timers/stamp-lifeboat-capture.timer"
mkdir -p "$mnt/etc/systemd/system/lifeboat-capture.timer.d"
printf '[Timer]\nRandomizedDelaySec=0\n' >"$mnt/etc/systemd/system/lifeboat-capture.timer.d/test.conf"
cat >"$mnt/etc/lifeboat/lifeboat.conf" <<'C'
# lifeboat's systemd units test (tests/rescue/systemd-units.sh)
into = /var/lib/lifeboat/captures
keep = 3
disk = /dev/vdb
data = auto
C
chmod 0644 "$mnt/etc/lifeboat/lifeboat.conf"
install -m 0755 "$DEB/lifeboat-units-alert" "$mnt/etc/lifeboat/failure.d/50-test"
install -m 0755 "$DEB/lifeboat-units-fail-hook" "$mnt/usr/local/sbin/"
install -m 0755 "$DEB/lifeboat-units-test" "$mnt/usr/local/sbin/"
install -m 0644 "$DEB/lifeboat-units-test.service" "$mnt/etc/systemd/system/"
ln -sf /etc/systemd/system/lifeboat-units-test.service "$mnt/etc/systemd/system/multi-user.target.wants/"
umount "$mnt"
partx -d "$DG_MACHINE" >/dev/null 2>&1 || true
losetup -d "$DG_MACHINE"

# ---- the disk the service captures: GPT, one small ext4 -------------------
d=$(fx_attach data.img 64M)
printf 'label: gpt\nstart=2048, size=81920, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"\n' |
	sfdisk -q --no-reread --no-tell-kernel "$d"
fx_reread "$d"
fx_mkext ext4 "$(fx_part "$d" 1)" 5afe0b07-de6a-4e11-9000-0000000000f9 unitsdata
mount "$(fx_part "$d" 1)" "$mnt"
seq 1 50000 >"$mnt/numbers"
head -c 4M /dev/urandom >"$mnt/blob"
umount "$mnt"
partx -d "$d" >/dev/null 2>&1 || true
losetup -d "$d"

# ---- one boot ------------------------------------------------------------
dg_boot "machine running its units" "$W/serial.log" 1200 \
	-drive "file=$W/machine.img,format=raw,if=virtio" \
	-drive "file=$W/data.img,format=raw,if=virtio"
tr -d '\r' <"$W/serial.log" | sed -n 's/^.*\(UNITS-\)/\1/p' >"$W/units.txt"
cat "$W/units.txt"
has() { grep -qx -- "$1" "$W/units.txt"; }
has 'UNITS-DONE' || { tr -d '\r' <"$W/serial.log" | tail -n 40; lb_fail "the test step did not finish"; }
! grep -q '^UNITS-TIMEOUT' "$W/units.txt" || lb_fail "a unit did not run in time"

# the timer fired and its capture succeeded
grep -q '^UNITS-TIMER: last=[A-Z]' "$W/units.txt" || lb_fail "lifeboat-capture.timer never triggered"
has 'UNITS-RUN1: result=success status=0' || lb_fail "the capture the timer started did not succeed"
latest1=$(sed -n 's/^UNITS-LATEST1: //p' "$W/units.txt")
case $latest1 in 2*) ;; *) lb_fail "no capture became latest in /var/lib/lifeboat/captures" ;; esac
has 'UNITS-VERIFY1: rc=0' || lb_fail "the timer's capture does not verify"
has 'UNITS-STATUS1: rc=0' || lb_fail "lifeboat status did not exit 0 after the timer's capture"
has 'UNITS-GENS1: 1' || lb_fail "the timer's run did not leave exactly one capture"
# the service's hardening leaves the capture every system call it uses
# (RestrictSUIDSGID= made openat2 fail: no installed system looked for)
! grep -q '^UNITS-WARNING: .*no openat2' "$W/units.txt" ||
	lb_fail "the service's hardening took openat2 from the capture"
grep -q '^UNITS-RUN1-STATUSTEXT: capture complete: 1 disk and 1 volume in /var/lib/lifeboat/captures/2' \
	"$W/units.txt" || lb_fail "the service's status (sd_notify STATUS=) is not the capture's end"

# the failing capture, and OnFailure=
grep -q '^UNITS-START2: rc=[1-9]' "$W/units.txt" || lb_fail "systemctl start did not fail with a failing pre-capture hook"
has 'UNITS-RUN2: result=exit-code status=1' || lb_fail "the failed capture did not end with exit status 1"
grep -q '^UNITS-RUN2-STATUSTEXT: capture failed: .*pre-capture' "$W/units.txt" ||
	lb_fail "the service's status does not say the capture failed"
has 'UNITS-FAILUNIT: result=success status=0' || lb_fail "the OnFailure= unit did not run"
has 'UNITS-ALERT: unit=lifeboat-capture.service result=exit-code exit=exited/1 failed_unit=lifeboat-capture.service' ||
	lb_fail "the alert in failure.d did not get the failed unit and MONITOR_*"
has 'UNITS-HOOKENV: LIFEBOAT_PHASE=pre-capture' || lb_fail "the pre-capture hook did not run"
! grep -q '^UNITS-HOOKENV: NOTIFY_SOCKET=' "$W/units.txt" || lb_fail "the hook saw NOTIFY_SOCKET"
has "UNITS-LATEST2: $latest1" || lb_fail "the failed capture moved latest"
has 'UNITS-GENS2: 1' || lb_fail "the failed capture left something that looks like a capture"
has 'UNITS-STATUS2: rc=0' || lb_fail "lifeboat status changed after a failed capture"

# the journal: both message IDs, their fields, the catalog's text
has "UNITS-JOURNAL-COUNT: $OK_ID 1" || lb_fail "the journal does not hold one success message ($OK_ID)"
has "UNITS-JOURNAL-COUNT: $FAIL_ID 1" || lb_fail "the journal does not hold one failure message ($FAIL_ID)"
has "UNITS-FIELD: $OK_ID PRIORITY=5" || lb_fail "the success message is not a notice"
has "UNITS-FIELD: $OK_ID _SYSTEMD_UNIT=lifeboat-capture.service" || lb_fail "the success message is not the unit's"
has "UNITS-FIELD: $OK_ID LIFEBOAT_CAPTURE=/var/lib/lifeboat/captures/$latest1" ||
	lb_fail "the success message does not name the capture"
has "UNITS-FIELD: $OK_ID LIFEBOAT_DISKS=1" || lb_fail "the success message does not count the disk"
has "UNITS-FIELD: $FAIL_ID PRIORITY=3" || lb_fail "the failure message is not an error"
grep -q "^UNITS-FIELD: $FAIL_ID LIFEBOAT_ERROR=.*pre-capture" "$W/units.txt" ||
	lb_fail "the failure message does not say the pre-capture hook failed"
has "UNITS-FIELD: $FAIL_ID LIFEBOAT_EXIT_STATUS=1" || lb_fail "the failure message has no exit status"
has "UNITS-CATALOG: $OK_ID A lifeboat capture of this machine is complete" ||
	lb_fail "journalctl -x does not explain the success message"
has "UNITS-CATALOG: $FAIL_ID A lifeboat capture of this machine failed" ||
	lb_fail "journalctl -x does not explain the failure message"
grep -q '^UNITS-WARNING: lifeboat: .*pre-capture' "$W/units.txt" ||
	lb_fail "lifeboat's warning is not in the journal at priority warning"
grep -q '^UNITS-FAILLOG: lifeboat-capture.service failed (exit-code, exited 1)' "$W/units.txt" ||
	lb_fail "lifeboat-failure did not log the failure as an error"
echo "ok: the timer fired at boot and the service captured; a failed capture ran OnFailure=; the journal holds $OK_ID and $FAIL_ID, explained by the catalog"
