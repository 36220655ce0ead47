#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints one line per file under ROOT: path, type, mode, owner, mtime (ns),
size, content SHA-256, link target, device number, project ID (when set),
xattrs (POSIX ACLs included, as system.posix_acl_*), hard-link group, and each regular file's
allocation: its holes (SEEK_DATA/SEEK_HOLE), its unwritten extents (FIEMAP:
preallocated, reading as zeros) and whether it is fully allocated
("allocated": st_blocks covers its size) or not ("sparse"). Two trees with
the same files, contents, metadata and allocation print the same.

Each file is written out (fsync) and its clean pages dropped from the page
cache before its map is taken: on ext4 and xfs, SEEK_DATA reports an
unwritten extent as data while pages of it are cached (after a read, or
the capture's read-ahead), and a file not yet written out (delayed
allocation) may count blocks it does not have yet.

    tree-manifest.py ROOT"""
import errno
import fcntl
import hashlib
import os
import stat
import struct
import sys

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_UNWRITTEN = 0x800
FIEMAP_HDR = struct.Struct("=QQIIII")
FIEMAP_EXT = struct.Struct("=QQQQQIIII")


def ranges_text(ranges):
    return ",".join(f"{o}+{n}" for o, n in ranges) if ranges else "none"


def add_range(ranges, off, length):
    if length <= 0:
        return
    if ranges and ranges[-1][0] + ranges[-1][1] == off:
        ranges[-1] = (ranges[-1][0], ranges[-1][1] + length)
    else:
        ranges.append((off, length))


def holes(fd, size):
    """[(offset, length)] of the holes, as SEEK_DATA/SEEK_HOLE report them."""
    out, off = [], 0
    while off < size:
        try:
            data = min(os.lseek(fd, off, os.SEEK_DATA), size)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            data = size
        add_range(out, off, data - off)
        if data >= size:
            break
        off = min(os.lseek(fd, data, os.SEEK_HOLE), size)
    return out


def unwritten(fd, size):
    """[(offset, length)] of the unwritten extents within the size, or None
    when the filesystem has no FIEMAP."""
    out, start, count = [], 0, 128
    while start < size:
        buf = bytearray(FIEMAP_HDR.size + count * FIEMAP_EXT.size)
        FIEMAP_HDR.pack_into(buf, 0, start, (1 << 64) - 1, FIEMAP_FLAG_SYNC, 0, count, 0)
        try:
            fcntl.ioctl(fd, FS_IOC_FIEMAP, buf, True)
        except OSError as e:
            if e.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
                return None
            raise
        mapped = FIEMAP_HDR.unpack_from(buf, 0)[3]
        if mapped == 0:
            break
        last = False
        for i in range(mapped):
            logical, _, length, _, _, flags, _, _, _ = FIEMAP_EXT.unpack_from(
                buf, FIEMAP_HDR.size + i * FIEMAP_EXT.size)
            end = min(logical + length, size)
            if flags & FIEMAP_EXTENT_UNWRITTEN and logical < size:
                add_range(out, logical, end - logical)
            start = logical + length
            last = last or flags & FIEMAP_EXTENT_LAST
        if last:
            break
    return out


def allocation(p, st):
    """The allocation words of a regular file's line."""
    if st.st_size == 0:
        return []
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        st = os.fstat(fd)
        words = ["holes=" + ranges_text(holes(fd, st.st_size))]
        u = unwritten(fd, st.st_size)
        if u:
            words.append("unwritten=" + ranges_text(u))
    finally:
        os.close(fd)
    # whole 512-byte units of the size, all with blocks behind them
    full = st.st_blocks * 512 >= (st.st_size + 511) // 512 * 512
    words.append("allocated" if full else "sparse")
    return words


FS_IOC_FSGETXATTR = 0x801C581F
FS_XFLAG_PROJINHERIT = 0x200


def project(p):
    """A file's or directory's project ID and inherit flag, when it has
    either (FS_IOC_FSGETXATTR; nothing where the filesystem has none)."""
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        buf = fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28))
    except OSError:
        return []
    finally:
        os.close(fd)
    xflags, _, _, projid = struct.unpack("=IIII", buf[:16])
    if not projid and not xflags & FS_XFLAG_PROJINHERIT:
        return []
    return [f"project={projid}" + ("+inherit" if xflags & FS_XFLAG_PROJINHERIT else "")]


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
            # (the map first: reading the file caches its pages)
            alloc = allocation(p, st)
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            parts += [str(st.st_size), h.hexdigest()] + alloc
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                parts.append("link-group=" + first_path.setdefault(key, repr(rel)))
        if stat.S_ISLNK(st.st_mode):
            parts.append("-> " + repr(os.readlink(p)))
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            parts.append(f"dev={os.major(st.st_rdev)},{os.minor(st.st_rdev)}")
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            parts += project(p)
        try:
            for x in sorted(os.listxattr(p, follow_symlinks=False)):
                parts.append(f"xattr {x}={os.getxattr(p, x, follow_symlinks=False).hex()}")
        except OSError:
            pass
        lines.append(" ".join(parts))
print("\n".join(lines))
