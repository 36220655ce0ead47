#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seeds of the xfs harness (fixtures/fuzz/xfs/): filesystems
mkfs.xfs makes on image files (v5 with the defaults, with rmapbt and 1 KiB
blocks, with a stripe and 4 KiB sectors, v4), each as fuzz_xfs.c reads its
input: the device's size (8 bytes, big-endian), then for each 4 KiB block
that is not all zeros its offset (8 bytes), length (4 bytes) and bytes.
No root needed. Run from the top of the tree:

    python3 fuzz/make-xfs-seeds.py"""
import os
import struct
import subprocess
import tempfile

CASES = {
    "v5-default": ["-m", "uuid=6c1fe0b0-00f0-4c1f-8a00-0000000000f1"],
    "v5-rmapbt-1k": ["-b", "size=1024", "-m", "rmapbt=1,uuid=6c1fe0b0-00f0-4c1f-8a00-0000000000f2"],
    "v5-stripe-4k": ["-s", "size=4096", "-d", "su=64k,sw=2,agcount=3",
                     "-m", "uuid=6c1fe0b0-00f0-4c1f-8a00-0000000000f3"],
    "v4": ["-m", "crc=0,uuid=6c1fe0b0-00f0-4c1f-8a00-0000000000f4"],
}
SIZE = 320 << 20
out = "fixtures/fuzz/xfs"
os.makedirs(out, exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    for name, opts in CASES.items():
        img = os.path.join(tmp, name + ".img")
        with open(img, "wb") as f:
            f.truncate(SIZE)
        subprocess.run(["mkfs.xfs", "-q", "-f", *opts, img], check=True,
                       stderr=subprocess.DEVNULL)
        seed = bytearray(struct.pack(">Q", SIZE))
        with open(img, "rb") as f:
            off = 0
            while True:
                blk = f.read(4096)
                if not blk:
                    break
                if blk.count(0) != len(blk):
                    seed += struct.pack(">QI", off, len(blk)) + blk
                off += len(blk)
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
        print(f"{name}: {len(seed)} bytes")
