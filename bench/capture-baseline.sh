#!/bin/bash
# capture-baseline.sh OUTDIR DEV... - the layout capture a user would script
# by hand: per disk, `sfdisk --dump` of the partition table and `blkid -p` of
# the disk and of every partition. The baseline bench/capture.sh times
# lifeboat capture against.
set -u
out=${1:?usage: $0 OUTDIR DEV...}
shift
mkdir -p -- "$out"
for dev in "$@"; do
	name=${dev##*/}
	sfdisk --dump "$dev" >"$out/$name.sfdisk"
	{
		blkid -p -o export "$dev"
		for part in "$dev"p[0-9]*; do
			[ -b "$part" ] || continue
			echo
			blkid -p -o export "$part"
		done
	} >"$out/$name.blkid"
done
exit 0
