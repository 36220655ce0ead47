#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints one line per file under ROOT: path, type, mode, owner, mtime (ns),
size, content SHA-256, link target, device number, xattrs (POSIX ACLs
included, as system.posix_acl_*), hard-link group, and whether a file is
sparse (allocated less than its size). Two trees with the same files,
contents and metadata print the same.

    tree-manifest.py ROOT"""
import hashlib
import os
import stat
import sys

root = sys.argv[1]
first_path = {}
lines = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames + filenames):
        p = os.path.join(dirpath, name)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        t = stat.S_IFMT(st.st_mode)
        parts = [repr(rel), oct(t), oct(stat.S_IMODE(st.st_mode)), f"{st.st_uid}:{st.st_gid}"]
        if not stat.S_ISLNK(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            parts.append(str(st.st_mtime_ns))
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            parts += [str(st.st_size), h.hexdigest()]
            if st.st_blocks * 512 < st.st_size:
                parts.append("sparse")
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                parts.append("link-group=" + first_path.setdefault(key, repr(rel)))
        if stat.S_ISLNK(st.st_mode):
            parts.append("-> " + repr(os.readlink(p)))
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            parts.append(f"dev={os.major(st.st_rdev)},{os.minor(st.st_rdev)}")
        try:
            for x in sorted(os.listxattr(p, follow_symlinks=False)):
                parts.append(f"xattr {x}={os.getxattr(p, x, follow_symlinks=False).hex()}")
        except OSError:
            pass
        lines.append(" ".join(parts))
print("\n".join(lines))
