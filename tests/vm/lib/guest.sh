# Shared by the guest scripts (busybox sh in the rescue image): put in front
# of each script by vm_script. Prints "GUEST-FAIL: why" and exits 1 on a
# failed check.
set -u
fail() {
	echo "GUEST-FAIL: $*"
	exit 1
}
step() { echo "GUEST-STEP: $*"; }
# run CMD...: runs a command, failing the script with its output if it fails
run() {
	out=$("$@" 2>&1) || { echo "$out"; fail "$*"; }
	[ -n "$out" ] && echo "$out"
	return 0
}
