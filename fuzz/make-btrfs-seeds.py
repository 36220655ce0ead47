#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seeds of the btrfs harness (fixtures/fuzz/btrfs/): filesystems
mkfs.btrfs makes on image files (the defaults, single metadata with 4 KiB
nodes, mixed block groups, each of two raid1 devices, files from
--rootdir so that a data chunk's free space tree has extents), each as
fuzz_btrfs.c reads its input: the device's size (8 bytes, big-endian), then
for each 4 KiB block that is not all zeros its offset (8 bytes), length (4
bytes) and bytes. crc32c only: the harness sets those checksums itself.
No root needed. Run from the top of the tree:

    python3 fuzz/make-btrfs-seeds.py"""
import os
import struct
import subprocess
import tempfile

U = "6c1fe0b0-00f0-4c1f-8a00-0000000000"
CASES = {
    "default": [["-U", U + "e1"], 1],
    "single-4k": [["-U", U + "e2", "-m", "single", "-n", "4096"], 1],
    "mixed": [["-U", U + "e3", "-M"], 1],
    "raid1": [["-U", U + "e4", "-d", "raid1", "-m", "raid1"], 2],
    "files": [["-U", U + "e5", "-m", "single", "-n", "4096", "-r", "{root}"], 1],
}
SIZE = 320 << 20
out = "fixtures/fuzz/btrfs"
os.makedirs(out, exist_ok=True)


def seed_of(img):
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
    return seed


with tempfile.TemporaryDirectory() as tmp:
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    for i in range(12):
        with open(os.path.join(root, f"f{i}"), "wb") as f:
            f.write(bytes((i * 7 + j * 13) % 251 for j in range(8192 * (i % 3 + 1))))
    for name, (opts, n) in CASES.items():
        opts = [o.replace("{root}", root) for o in opts]
        imgs = [os.path.join(tmp, f"{name}-{i}.img") for i in range(n)]
        for img in imgs:
            with open(img, "wb") as f:
                f.truncate(SIZE)
        subprocess.run(["mkfs.btrfs", "-q", "-f", *opts, *imgs], check=True,
                       stderr=subprocess.DEVNULL)
        for i, img in enumerate(imgs):
            seed = seed_of(img)
            file = name if n == 1 else f"{name}-dev{i + 1}"
            with open(os.path.join(out, file), "wb") as f:
                f.write(seed)
            print(f"{file}: {len(seed)} bytes")
