# Guest helpers of the stack round trips (busybox sh in the rescue image),
# put after guest.sh by vm_script: what the storage tools say about each
# layer that a restore must bring back exactly, and the data trees.

# md_ids NODE MEMBER...: the array (mdadm --detail) and each member
# (mdadm --examine): identity, level, metadata, chunk, layout, bitmap,
# sizes, data offset and role; not what changes with every write (events,
# times, state, checksums)
md_ids() {
	node=$1
	shift
	echo "array $node"
	mdadm --detail --export "$node" | grep -E '^MD_(UUID|NAME|LEVEL|METADATA|DEVICES)='
	mdadm --detail "$node" | grep -E 'Intent Bitmap|Layout :|Chunk Size :|Array Size :|Used Dev Size :'
	for mm in "$@"; do
		echo "member $mm"
		mdadm --examine "$mm" | grep -E '^ *(Version|Feature Map|Array UUID|Device UUID|Name|Raid Level|Raid Devices|Avail Dev Size|Array Size|Used Dev Size|Data Offset|Super Offset|Layout|Chunk Size|Device Role|Internal Bitmap) :'
	done
}

# luks_ids DEV: the whole of cryptsetup luksDump (the header is put back
# byte for byte: keyslots, digests, segments, tokens, UUID, label)
luks_ids() {
	echo "luks $1"
	cryptsetup luksDump "$1"
}

# lvm_ids: every PV, VG and LV with its UUID, segments and devices
lvm_ids() {
	lvm pvs --noheadings -o pv_name,pv_uuid,vg_name,pe_start,pv_size | sort
	lvm vgs --noheadings -o vg_name,vg_uuid,vg_extent_size,pv_count,lv_count | sort
	lvm lvs --noheadings -o lv_name,vg_name,lv_uuid,segtype,devices,stripes,stripesize,lv_size | sort
}

# fs_ids DEV...: blkid -p's identity of each
fs_ids() {
	for dev in "$@"; do
		echo "blkid $dev"
		blkid -p -o export "$dev" | grep -E '^(TYPE|UUID|UUID_SUB|LABEL|VERSION)='
	done
}

# fill DEV TAG: files on the filesystem on DEV; their sums in /tmp/TAG.sums
fill() {
	mkdir -p /mnt/fill
	run mount "$1" /mnt/fill
	mkdir -p /mnt/fill/dir/sub
	echo "volume $2" >/mnt/fill/name.txt
	dd if=/dev/urandom of=/mnt/fill/dir/blob bs=1k count=900 2>/dev/null
	dd if=/dev/urandom of=/mnt/fill/dir/sub/small bs=1 count=4097 2>/dev/null
	ln -s ../name.txt /mnt/fill/dir/link
	(cd /mnt/fill && find . -type f | sort | xargs md5sum) >/tmp/$2.sums
	run umount /mnt/fill
}

# same_tree DEV TAG: fsck clean, and the files filled in are back
same_tree() {
	run e2fsck -fn "$1"
	mkdir -p /mnt/fill
	run mount -o ro "$1" /mnt/fill
	(cd /mnt/fill && find . -type f | sort | xargs md5sum) >/tmp/$2.tree
	[ "$(readlink /mnt/fill/dir/link)" = ../name.txt ] || fail "$2: the symlink is not back"
	run umount /mnt/fill
	diff /tmp/$2.sums /tmp/$2.tree || fail "$2: its files differ after the restore"
	echo "same files on $2 ($1): $(wc -l </tmp/$2.sums)"
}

# same_ids BEFORE AFTER CASE: the tools say the same before and after
same_ids() {
	diff "$1" "$2" || fail "$3: identities differ after the restore"
	echo "same identities: $3 ($(wc -l <"$2") lines)"
}

# blank DISK...: every signature and the first 80 MiB gone
blank() {
	for d in "$@"; do
		for p in /dev/${d}[0-9]*; do
			[ -b "$p" ] && wipefs -q -a "$p"
		done
		wipefs -q -a /dev/$d
		dd if=/dev/zero of=/dev/$d bs=1M count=80 2>/dev/null
		[ -z "$(blkid -p -o value -s TYPE /dev/$d)" ] || fail "$d is not blank"
	done
}
