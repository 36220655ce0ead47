#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# zfs-label.py DEV POOL: writes onto DEV (a test's own loop device or
# partition, 64 MiB or more) the part of a ZFS vdev label that libblkid
# reads, so that blkid says TYPE="zfs_member" LABEL="POOL": the first
# label's name/value list (16 KiB in: "name" = POOL, "pool_guid", "guid")
# and four uberblocks (magic 0x00bab10c) from 128 KiB. Nothing else of ZFS:
# no ZFS tools or module is needed (Debian's zfsutils-linux is in contrib
# and needs a module this kernel does not have). Writes only the first
# 256 KiB of DEV.
import struct
import sys

UB_MAGIC = 0x00BAB10C
NVLIST_AT = 16 * 1024
UB_AT = 128 * 1024


def nvpair(name, value):
    """One XDR-encoded pair (big-endian): size, 0, name length, name
    (padded to 4), then the value (string: type 9; uint64: type 8)."""
    nm = name.encode()
    nm_pad = nm + b"\0" * ((4 - len(nm) % 4) % 4)
    if isinstance(value, str):
        v = value.encode()
        body = struct.pack(">III", 9, 1, len(v)) + v + b"\0" * (4 - len(v) % 4)
    else:
        body = struct.pack(">II", 8, 1) + struct.pack(">Q", value)
    size = 12 + len(nm_pad) + len(body)
    return struct.pack(">III", size, 0, len(nm)) + nm_pad + body


def main():
    dev, pool = sys.argv[1], sys.argv[2]
    label = bytearray(256 * 1024)
    nvl = struct.pack(">III", 0, 0, 0)
    nvl += nvpair("version", 5000) + nvpair("name", pool)
    nvl += nvpair("pool_guid", 0x1234567890ABCDEF) + nvpair("guid", 0x0FEDCBA987654321)
    nvl += struct.pack(">II", 0, 0)
    label[NVLIST_AT:NVLIST_AT + len(nvl)] = nvl
    for i in range(4):
        # magic, version, txg, guid sum, timestamp: host (little) endian
        ub = struct.pack("<QQQQQ", UB_MAGIC, 5000, 10 + i, 0x2222222222222222, 1700000000)
        off = UB_AT + (4 + i) * 1024
        label[off:off + len(ub)] = ub
    with open(dev, "r+b") as f:
        f.seek(0)
        f.write(label)
        f.flush()


if __name__ == "__main__":
    main()
