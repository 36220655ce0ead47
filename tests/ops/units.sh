#!/usr/bin/env bash
# The systemd units as make install puts them (issue 15, lifeboat-systemd(7)):
# installed under a PREFIX of this test's own, they pass systemd-analyze
# verify with nothing said (their ExecStart= programs and Documentation=
# pages are found where this install put them); OnFailure= names a template
# that is installed; the paths in them are the install's; with DESTDIR the
# files land under it but name the paths without it, and an existing
# lifeboat.conf is not overwritten; the example configuration parses; the
# catalog builds and explains the two message IDs the code sends; the alert
# helper runs the executables of failure.d in order with the unit's name
# and systemd's MONITOR_* variables, skips the rest and fails when one does.
. "$(dirname "$0")/../lib.sh"
set -euo pipefail
lb_workdir
W=$LB_WORK
command -v systemd-analyze >/dev/null || {
	echo "SKIP: $(lb_name): needs systemd-analyze (apt-get install systemd)"
	exit 77
}
[ -x "$LIFEBOAT" ] || lb_fail "no $LIFEBOAT: run make first"

# ---- installed under a prefix of our own ---------------------------------
P=$W/p
make -s -C "$LB_TOP" install PREFIX="$P/usr" SYSCONFDIR="$P/etc" SYSTEMDUNITDIR="$P/units" \
	CATALOGDIR="$P/catalog" >"$W/install.log" 2>&1 || {
	cat "$W/install.log"
	lb_fail "make install failed"
}
u=$P/units
for f in lifeboat-capture.service lifeboat-capture.timer lifeboat-failure@.service; do
	[ -f "$u/$f" ] || lb_fail "make install did not install $f"
done
! grep -n '@[A-Z]*@' "$u"/* "$P/usr/libexec/lifeboat/lifeboat-failure" ||
	lb_fail "a path was left unsubstituted"
grep -qx "ExecStart=$P/usr/sbin/lifeboat capture --config $P/etc/lifeboat/lifeboat.conf" \
	"$u/lifeboat-capture.service" || lb_fail "ExecStart= does not run the installed lifeboat with the installed config"
grep -qx "ExecStart=$P/usr/libexec/lifeboat/lifeboat-failure %i" "$u/lifeboat-failure@.service" ||
	lb_fail "the failure template does not run the installed helper"

# systemd-analyze verify: exit 0 and not a word (an unknown key or a bad
# value is only a warning to it)
(cd "$u" && MANPATH=$P/usr/share/man systemd-analyze verify ./lifeboat-capture.service \
	./lifeboat-capture.timer ./lifeboat-failure@.service) >"$W/verify.log" 2>&1 || {
	cat "$W/verify.log"
	lb_fail "systemd-analyze verify failed"
}
[ ! -s "$W/verify.log" ] || { cat "$W/verify.log"; lb_fail "systemd-analyze verify had something to say"; }
echo "ok: systemd-analyze verify passes the three units"

# OnFailure= names an installed template; the timer as issue 15 asks
onf=$(sed -n 's/^OnFailure=//p' "$u/lifeboat-capture.service")
[ "$onf" = 'lifeboat-failure@%n.service' ] || lb_fail "OnFailure= is '$onf'"
[ -f "$u/lifeboat-failure@.service" ] || lb_fail "OnFailure= names a template that is not installed"
grep -qx 'Persistent=true' "$u/lifeboat-capture.timer" || lb_fail "the timer is not Persistent=true"
grep -qx 'OnCalendar=daily' "$u/lifeboat-capture.timer" || lb_fail "the timer is not daily"
grep -q '^RandomizedDelaySec=[1-9]' "$u/lifeboat-capture.timer" || lb_fail "the timer has no RandomizedDelaySec="
grep -qx 'WantedBy=timers.target' "$u/lifeboat-capture.timer" || lb_fail "the timer is not enabled into timers.target"

# the example configuration parses (list reads it before anything else)
mkdir -p "$W/empty"
"$P/usr/sbin/lifeboat" list --config "$P/etc/lifeboat/lifeboat.conf" "$W/empty" >/dev/null 2>"$W/list.err" || {
	cat "$W/list.err"
	lb_fail "the installed lifeboat.conf does not parse"
}
cmp -s "$LB_TOP/etc/lifeboat.conf" "$P/usr/share/lifeboat/lifeboat.conf.example" ||
	lb_fail "the configuration example is not installed"

# ---- DESTDIR ---------------------------------------------------------------
D=$W/dest
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
unitdir=${unitdir:-/lib/systemd/system}
make -s -C "$LB_TOP" install DESTDIR="$D" >"$W/install.log" 2>&1 || {
	cat "$W/install.log"
	lb_fail "make install DESTDIR= failed"
}
for f in "$unitdir/lifeboat-capture.service" "$unitdir/lifeboat-capture.timer" \
	"$unitdir/lifeboat-failure@.service" /usr/lib/systemd/catalog/lifeboat.catalog \
	/usr/local/sbin/lifeboat /usr/local/libexec/lifeboat/lifeboat-failure \
	/etc/lifeboat/lifeboat.conf /usr/local/share/man/man7/lifeboat-systemd.7 \
	/usr/local/share/man/man5/lifeboat.conf.5; do
	[ -f "$D$f" ] || lb_fail "make install DESTDIR=$D did not put $f under it"
done
grep -qx 'ExecStart=/usr/local/sbin/lifeboat capture --config /etc/lifeboat/lifeboat.conf' \
	"$D$unitdir/lifeboat-capture.service" || lb_fail "with DESTDIR, ExecStart= is not the installed path"
! grep -rq "$D" "$D$unitdir" "$D/usr/local/libexec" || lb_fail "DESTDIR leaked into an installed file"
echo "into = /srv/mine" >"$D/etc/lifeboat/lifeboat.conf"
make -s -C "$LB_TOP" install DESTDIR="$D" >"$W/install.log" 2>&1 || lb_fail "make install DESTDIR= failed again"
[ "$(cat "$D/etc/lifeboat/lifeboat.conf")" = "into = /srv/mine" ] ||
	lb_fail "make install overwrote an existing lifeboat.conf"
echo "ok: make install honours PREFIX and DESTDIR and keeps an existing lifeboat.conf"

# ---- the catalog: builds, and explains the IDs the code sends ---------------
ok_id=$(sed -n 's/^#define LB_MESSAGE_CAPTURE_OK "\([0-9a-f]\{32\}\)"$/\1/p' "$LB_TOP/src/cmd/cmd.h")
fail_id=$(sed -n 's/^#define LB_MESSAGE_CAPTURE_FAILED "\([0-9a-f]\{32\}\)"$/\1/p' "$LB_TOP/src/cmd/cmd.h")
[ -n "$ok_id" ] && [ -n "$fail_id" ] && [ "$ok_id" != "$fail_id" ] || lb_fail "no two message IDs in src/cmd/cmd.h"
# the binary carries them
grep -q "$ok_id" "$LIFEBOAT" && grep -q "$fail_id" "$LIFEBOAT" || lb_fail "lifeboat does not carry the message IDs"
if command -v journalctl >/dev/null; then
	journalctl --root="$D" --update-catalog >"$W/catalog.log" 2>&1 || {
		cat "$W/catalog.log"
		lb_fail "journalctl --update-catalog refused the catalog"
	}
	[ ! -s "$W/catalog.log" ] || { cat "$W/catalog.log"; lb_fail "journalctl --update-catalog had something to say"; }
	journalctl --root="$D" --dump-catalog "$ok_id" >"$W/ok.txt"
	journalctl --root="$D" --dump-catalog "$fail_id" >"$W/fail.txt"
	grep -qx 'Subject: A lifeboat capture of this machine is complete' "$W/ok.txt" ||
		lb_fail "the catalog does not explain $ok_id"
	grep -qx 'Subject: A lifeboat capture of this machine failed' "$W/fail.txt" ||
		lb_fail "the catalog does not explain $fail_id"
	grep -q '@LIFEBOAT_ERROR@' "$W/fail.txt" || lb_fail "the failure's text does not show the error"
	echo "ok: the catalog explains $ok_id and $fail_id"
fi

# ---- the alert helper --------------------------------------------------------
fd=$P/etc/lifeboat/failure.d
cat >"$fd/10-record" <<EOF
#!/bin/sh
printf '%s|%s|%s|%s|%s\n' "\$#" "\$1" "\$MONITOR_SERVICE_RESULT" "\$LIFEBOAT_FAILED_UNIT" "\$MONITOR_INVOCATION_ID" >>"$W/alerts"
EOF
cat >"$fd/20-fails" <<EOF
#!/bin/sh
echo 20 >>"$W/alerts"
exit 4
EOF
cat >"$fd/30-after" <<EOF
#!/bin/sh
echo 30 >>"$W/alerts"
EOF
printf '#!/bin/sh\necho backup >>"%s"\n' "$W/alerts" >"$fd/30-after~"
printf '#!/bin/sh\necho notexec >>"%s"\n' "$W/alerts" >"$fd/40-not-executable"
chmod 0755 "$fd/10-record" "$fd/20-fails" "$fd/30-after" "$fd/30-after~"
rc=0
MONITOR_SERVICE_RESULT=exit-code MONITOR_EXIT_CODE=exited MONITOR_EXIT_STATUS=1 \
	MONITOR_INVOCATION_ID=0123456789abcdef0123456789abcdef MONITOR_UNIT=lifeboat-capture.service \
	"$P/usr/libexec/lifeboat/lifeboat-failure" lifeboat-capture.service >"$W/helper.out" 2>&1 || rc=$?
cat "$W/helper.out"
[ "$rc" = 1 ] || lb_fail "the helper exited $rc with a failing alert (expected 1)"
printf '%s\n' '1|lifeboat-capture.service|exit-code|lifeboat-capture.service|0123456789abcdef0123456789abcdef' 20 30 |
	cmp -s - "$W/alerts" || { cat "$W/alerts"; lb_fail "the alerts did not run in order with the unit and MONITOR_*"; }
grep -qx '<3>lifeboat-capture.service failed (exit-code, exited 1); journalctl _SYSTEMD_INVOCATION_ID=0123456789abcdef0123456789abcdef says why' \
	"$W/helper.out" || lb_fail "the helper did not log the failure as an error"
grep -qx "<3>alert $fd/20-fails failed (exit status 4)" "$W/helper.out" ||
	lb_fail "the helper did not say which alert failed"
echo "ok: the alert helper runs failure.d in order with the failed unit and MONITOR_*"
