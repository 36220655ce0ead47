#!/usr/bin/env bash
# lifeboat.conf(5) (issue 15): keys from the file (into, keep, disk, data,
# max-age), repeatable keys (disk twice: two disks), the command line over
# the file (--disk, --into, --data, --keep, --max-age), and bad files: each
# refused with exit 2, FILE:LINE in the message, and nothing captured.
. "$(dirname "$0")/lib"
lb_need_root
set -euo pipefail
lb_workdir
ops_disk
d1=$OPS_DISK
ops_disk
d2=$OPS_DISK
conf=$LB_WORK/lifeboat.conf
caps=$LB_WORK/caps

ndisks() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)["disks"]))'; }
ndata() { python3 -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin)["disks"] for p in d.get("partitions", []) if (p.get("volume") or {}).get("data")))'; }

cat >"$conf" <<EOF
# scheduled captures
into = $caps

keep = 2
   disk = $d1
disk=$d2
data = none
max-age = 0.00001
EOF
chmod 0600 "$conf"

# (a) the file's keys: into, keep, both disks, no data
for i in 1 2 3; do
	out=$("$LIFEBOAT" capture --config "$conf" 2>"$LB_WORK/err") ||
		lb_fail "capture $i with the file failed: $(cat "$LB_WORK/err")"
	[ "$(dirname "$out")" = "$caps" ] || lb_fail "capture went to $out, not into $caps (into =)"
done
[ "$(cd "$caps" && ls -d 2* | wc -l)" = 2 ] || lb_fail "keep = 2 kept $(cd "$caps" && ls -d 2* | wc -l)"
[ "$("$LIFEBOAT" show --json "$out" | ndisks)" = 2 ] || lb_fail "disk twice in the file did not capture two disks"
[ "$("$LIFEBOAT" show --json "$out" | ndata)" = 0 ] || lb_fail "data = none captured data"
# list and status take into (and max-age) from the file
[ "$("$LIFEBOAT" list --config "$conf" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["captures"]))')" = 2 ] ||
	lb_fail "list --config does not list the file's directory"
sleep 1
rc=0; "$LIFEBOAT" status --config "$conf" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || lb_fail "status with max-age = 0.00001 after 1 s exited $rc, not 1"
echo "ok keys from the file"

# (b) the command line wins
rc=0; "$LIFEBOAT" status --config "$conf" --max-age 7 >/dev/null 2>&1 || rc=$?
[ "$rc" = 0 ] || lb_fail "status --max-age 7 over the file's max-age exited $rc, not 0"
other=$LB_WORK/other
out=$("$LIFEBOAT" capture --config "$conf" --into "$other" --disk "$d1" --data image 2>"$LB_WORK/err") ||
	lb_fail "capture with options over the file failed: $(cat "$LB_WORK/err")"
[ "$(dirname "$out")" = "$other" ] || lb_fail "--into did not win over into ="
[ "$("$LIFEBOAT" show --json "$out" | ndisks)" = 1 ] || lb_fail "--disk did not win over the file's disks"
[ "$("$LIFEBOAT" show --json "$out" | ndata)" = 1 ] || lb_fail "--data image did not win over data = none"
"$LIFEBOAT" capture --config "$conf" --keep 1 >/dev/null 2>&1 || lb_fail "capture --keep 1 failed"
[ "$(cd "$caps" && ls -d 2* | wc -l)" = 1 ] || lb_fail "--keep 1 did not win over keep = 2"
out=$("$LIFEBOAT" capture --config "$conf" --output "$LB_WORK/one" 2>/dev/null) ||
	lb_fail "capture --output over the file's into failed"
[ "$out" = "$LB_WORK/one" ] || lb_fail "--output did not win over into ="
echo "ok the command line wins"

# (c) bad files: exit 2, FILE:LINE, nothing captured
bad() { # LINE TEXT...: the file's text; the error names that line
	local line=$1 rc=0
	shift
	printf '%s\n' "$@" >"$LB_WORK/bad.conf"
	chmod 0600 "$LB_WORK/bad.conf"
	rm -rf "$LB_WORK/badcaps"
	"$LIFEBOAT" capture --config "$LB_WORK/bad.conf" --into "$LB_WORK/badcaps" --disk "$d1" \
		>/dev/null 2>"$LB_WORK/err" || rc=$?
	[ "$rc" = 2 ] || lb_fail "capture with '$*' exited $rc, not 2"
	grep -qF "$LB_WORK/bad.conf:$line: " "$LB_WORK/err" ||
		lb_fail "the error for '$*' does not name bad.conf:$line: $(cat "$LB_WORK/err")"
	[ ! -e "$LB_WORK/badcaps" ] || lb_fail "capture with '$*' wrote $LB_WORK/badcaps"
	rc=0
	"$LIFEBOAT" status --config "$LB_WORK/bad.conf" "$caps" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || lb_fail "status with '$*' exited $rc, not 2"
	rc=0
	"$LIFEBOAT" list --config "$LB_WORK/bad.conf" "$caps" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || lb_fail "list with '$*' exited $rc, not 2"
}
bad 2 '# comment' 'colour = blue'
bad 3 'keep = 2' '' 'keep = 3'
bad 1 'keep = two'
bad 1 'keep = 0'
bad 2 'data = none' 'just some words'
bad 1 'data = everything'
bad 1 'compress = 25'
bad 1 'max-age = soon'
bad 1 'max-age = -1'
bad 1 'hook-timeout = 1.5'
bad 1 'pre-capture = relative/path'
bad 1 'into = relative'
bad 1 'disk ='
bad 1 '= value'
bad 1 'encrypt = maybe'
rc=0; "$LIFEBOAT" capture --config "$LB_WORK/missing.conf" --into "$LB_WORK/badcaps" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || lb_fail "a missing --config file exited $rc, not 2"
printf 'data = none\n' >"$LB_WORK/open.conf"
chmod 0666 "$LB_WORK/open.conf"
rc=0; "$LIFEBOAT" capture --config "$LB_WORK/open.conf" --into "$LB_WORK/badcaps" --disk "$d1" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || lb_fail "a world-writable configuration exited $rc, not 2"
[ ! -e "$LB_WORK/badcaps" ] || lb_fail "a refused configuration captured"
echo "ok bad files refused"
