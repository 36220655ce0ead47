#!/usr/bin/env bash
# Progress on a terminal, quiet otherwise: with standard error a pty (and
# LIFEBOAT_PROGRESS_EVERY=0, an update for every chunk), the image capture,
# the archive capture and both restores show the MiB done, of how many
# (the archive capture's total an estimate, said so), the rate and the time
# left; with standard error a file, no progress line at all.
. "$(dirname "$0")/../lib.sh"
lb_need_root
set -euo pipefail
lb_workdir
FX_WORKDIR=$LB_WORK
. "$LB_TOP/fixtures/layouts/lib.sh"
mnt=$LB_WORK/mnt
mkdir -p "$mnt"
trap 'umount -q "$mnt" 2>/dev/null || true; lb_cleanup' EXIT

# on_pty OUT CMD...: CMD with stdin, stdout and stderr on a new pty; what it
# wrote in OUT; its exit status
on_pty() {
	python3 - "$@" <<'EOF'
import os, pty, sys
out, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
with open(out, "wb") as f:
    while True:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        f.write(d)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
EOF
}

# lines OUT: what a terminal would have shown, one progress update a line
lines() { tr '\r' '\n' <"$1" | sed 's/\x1b\[K//g'; }

dev=$(fx_attach "$LB_WORK/disk.img" 200M)
printf 'label: gpt\nsize=90MiB\nsize=90MiB\n' | sfdisk -q "$dev"
fx_reread "$dev"
for p in 1 2; do
	mkfs.ext4 -q "${dev}p$p"
	mount "${dev}p$p" "$mnt"
	head -c 40M /dev/urandom >"$mnt/random"
	lb_populate "$mnt"
	umount "$mnt"
done
# p1 imaged (unmounted), p2 archived (mounted)
mount "${dev}p2" "$mnt"
export LIFEBOAT_PROGRESS_EVERY=0
rc=0
on_pty "$LB_WORK/capture.tty" "$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap" || rc=$?
umount "$mnt"
[ "$rc" = 0 ] || {
	lines "$LB_WORK/capture.tty"
	lb_fail "capture on a pty exited $rc"
}
lines "$LB_WORK/capture.tty" >"$LB_WORK/capture.lines"
grep -Eq '^disk0p1: [0-9.]+ MiB of [0-9.]+ MiB, [0-9]+ MiB/s, [0-9]+ s left' "$LB_WORK/capture.lines" || {
	cat "$LB_WORK/capture.lines"
	lb_fail "the image capture's progress has no total or time left"
}
grep -Eq '^disk0p2: [0-9.]+ MiB of about [0-9.]+ MiB, [0-9]+ MiB/s, about [0-9]+ s left' \
	"$LB_WORK/capture.lines" || {
	cat "$LB_WORK/capture.lines"
	lb_fail "the archive capture's progress has no estimated total or time left"
}

target=$(fx_attach "$LB_WORK/target.img" 200M)
rc=0
on_pty "$LB_WORK/restore.tty" "$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" \
	"$LB_WORK/cap" || rc=$?
[ "$rc" = 0 ] || {
	lines "$LB_WORK/restore.tty"
	lb_fail "restore on a pty exited $rc"
}
lines "$LB_WORK/restore.tty" >"$LB_WORK/restore.lines"
for v in disk0p1 disk0p2; do
	grep -Eq "^$v: [0-9.]+ MiB of [0-9.]+ MiB, [0-9]+ MiB/s, [0-9]+ s left" "$LB_WORK/restore.lines" || {
		cat "$LB_WORK/restore.lines"
		lb_fail "the restore's progress for $v has no total or time left"
	}
done

# quiet otherwise: the same with standard error a file
rm -rf "$LB_WORK/cap"
"$LIFEBOAT" capture --disk "$dev" --output "$LB_WORK/cap" >"$LB_WORK/capture.out" 2>&1 ||
	lb_fail "capture failed"
"$LIFEBOAT" restore --yes --quick-format --disk-map "disk0=$target" "$LB_WORK/cap" \
	>"$LB_WORK/restore.out" 2>&1 || lb_fail "restore failed"
if grep -q 'MiB/s' "$LB_WORK/capture.out" "$LB_WORK/restore.out"; then
	lb_fail "a progress line went to a file"
fi
echo "ok: progress with totals and time left on a pty (the archive capture's an estimate), none to a file"
