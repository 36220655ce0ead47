#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Which layer may use which (HACKING.md draws it): every #include "L/x.h"
# in src/<layer>/ must name the layer itself or one it may use. Exit 1 and
# each offending line otherwise. Run by 'make lint'.
set -eu
cd "$(dirname "$0")/../.."

allowed() {
	case "$1" in
	base) echo "base" ;;
	model) echo "base model" ;;
	system | fs) echo "base model $1" ;;
	manifest) echo "base model fs manifest" ;;
	disk) echo "base model system fs manifest disk" ;;
	data) echo "base model system fs manifest data" ;;
	plan) echo "base model system fs manifest disk data plan" ;;
	restore) echo "base model system fs manifest disk data plan restore" ;;
	rescue) echo "base model fs manifest rescue" ;;
	ops) echo "base model system fs manifest disk data plan restore ops" ;;
	cmd) echo "base model system fs manifest disk data plan restore rescue ops cmd" ;;
	*) echo "" ;;
	esac
}

bad=0
for dir in src/*/; do
	layer=$(basename "$dir")
	ok=$(allowed "$layer")
	if [ -z "$ok" ]; then
		echo "check-layers: src/$layer/ is not a known layer (add it here and to HACKING.md)"
		bad=1
		continue
	fi
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		grep -n '^#include "[a-z_]*/' "$f" | while IFS= read -r line; do
			used=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([a-z_]*\)\/.*/\1/')
			case " $ok " in
			*" $used "*) ;;
			*) echo "check-layers: $f:${line%%:*}: $layer may not use $used" ;;
			esac
		done
	done
done | { out=$(cat); [ -z "$out" ] || { printf '%s\n' "$out"; exit 1; }; }
exit $bad
