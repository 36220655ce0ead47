#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks a lifeboat manifest against the oracles: every identity that
sfdisk --json, blkid -p and dumpe2fs -h report for the disks must be in the
manifest, with the same value.

    check-manifest.py MANIFEST DEV...

DEV are the live devices, in the manifest's disk order. Prints one line per
mismatch and exits 1 if there is any."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

errors = []


def fail(msg):
    errors.append(msg)
    print("MISMATCH: " + msg)


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True).stdout


def text(node, name):
    """An attribute, decoded from NAME-hex when written that way."""
    if node is None:
        return None
    if name in node.attrib:
        return node.attrib[name]
    if name + "-hex" in node.attrib:
        return bytes.fromhex(node.attrib[name + "-hex"]).decode("utf-8", "surrogateescape")
    return None


def blkid_tag(dev, tag):
    p = subprocess.run(["blkid", "-p", "-o", "value", "-s", tag, dev], capture_output=True)
    if p.returncode != 0:
        return None
    v = p.stdout
    if v.endswith(b"\n"):
        v = v[:-1]
    return v.decode("utf-8", "surrogateescape") if v else None


GPT_ATTR_NAMES = {"RequiredPartition": 0, "NoBlockIOProtocol": 1, "LegacyBIOSBootable": 2}


def attrs_bits(s):
    bits = 0
    for word in (s or "").split():
        if word in GPT_ATTR_NAMES:
            bits |= 1 << GPT_ATTR_NAMES[word]
        elif word.startswith("GUID:"):
            for n in word[5:].split(","):
                bits |= 1 << int(n)
    return bits


def same(what, want, got):
    if (want or None) != (got or None):
        fail(f"{what}: oracle says {want!r}, manifest says {got!r}")


def check_volume(dev, vol, where):
    if vol is None:
        fail(f"{where}: no volume element")
        return
    btype = blkid_tag(dev, "TYPE")
    same(f"{where} TYPE", btype or "raw", vol.attrib.get("type"))
    for tag, attr in (("UUID", "uuid"), ("LABEL", "label"), ("VERSION", "version"),
                      ("UUID_SUB", "uuid-sub")):
        same(f"{where} {tag}", blkid_tag(dev, tag), text(vol, attr))
    if btype in ("ext2", "ext3", "ext4"):
        check_ext(dev, vol.find("ext"), where)
    if btype == "vfat" and vol.find("vfat") is None:
        fail(f"{where}: vfat volume without <vfat> geometry")
    if btype == "swap" and vol.find("swap") is None:
        fail(f"{where}: swap volume without <swap> geometry")


def check_ext(dev, ext, where):
    if ext is None:
        fail(f"{where}: ext volume without <ext> geometry")
        return
    out = run("dumpe2fs", "-h", dev).decode("utf-8", "replace")
    info = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    pairs = [("Block size", "block-size"), ("Inode size", "inode-size"),
             ("Inode count", "inodes"), ("Block count", "blocks"),
             ("Reserved block count", "reserved-blocks"),
             ("Blocks per group", "blocks-per-group"), ("Inodes per group", "inodes-per-group")]
    for k, attr in pairs:
        same(f"{where} dumpe2fs {k}", info.get(k), ext.attrib.get(attr))
    same(f"{where} dumpe2fs features", " ".join(sorted(info.get("Filesystem features", "").split())),
         " ".join(sorted(ext.attrib.get("features", "").split())))
    if "Reserved GDT blocks" in info:
        same(f"{where} reserved GDT blocks", info["Reserved GDT blocks"],
             ext.attrib.get("reserved-gdt-blocks"))


def check_disk(disk, dev):
    did = disk.attrib["id"]
    geom = disk.find("geometry")
    ss = int(run("blockdev", "--getss", dev))
    same(f"{did} logical sector size", str(ss), geom.attrib["logical-sector-size"])
    size = int(run("blockdev", "--getsize64", dev)) // ss
    same(f"{did} size", str(size), geom.attrib["size"])
    table = disk.find("table")
    p = subprocess.run(["sfdisk", "--json", dev], capture_output=True)
    if p.returncode != 0 or not p.stdout.strip():
        same(f"{did} label", "none", table.attrib["type"])
        if blkid_tag(dev, "TYPE"):
            check_volume(dev, disk.find("volume"), did)
        return
    pt = json.loads(p.stdout)["partitiontable"]
    same(f"{did} label", pt["label"], table.attrib["type"])
    same(f"{did} label-id", pt.get("id", "").lower(), table.attrib.get("signature", "").lower())
    if pt["label"] == "gpt":
        same(f"{did} first-lba", str(pt.get("firstlba")), table.attrib.get("first-lba"))
        same(f"{did} last-lba", str(pt.get("lastlba")), table.attrib.get("last-lba"))
        same(f"{did} table-length", str(pt.get("table-length", 128)), table.attrib.get("entries"))
    parts = {int(x.attrib["number"]): x for x in table.findall("partition")}
    seen = set()
    for sp in pt.get("partitions", []):
        node = sp["node"]
        num = int(node[len(dev):].lstrip("p"))
        seen.add(num)
        mp = parts.get(num)
        where = f"{did} partition {num}"
        if mp is None:
            fail(f"{where}: missing from the manifest")
            continue
        same(f"{where} start", str(sp["start"]), mp.attrib["start"])
        same(f"{where} size", str(sp["size"]), mp.attrib["size"])
        if pt["label"] == "gpt":
            same(f"{where} type", sp["type"].upper(), mp.attrib["type"].upper())
            same(f"{where} uuid", sp.get("uuid", "").upper(), mp.attrib.get("uuid", "").upper())
            # sfdisk --json escapes names; blkid gives the raw bytes
            part_dev = f"{dev}p{num}"
            same(f"{where} name", blkid_tag(part_dev, "PART_ENTRY_NAME"), text(mp, "name"))
            same(f"{where} attrs", attrs_bits(sp.get("attrs")), int(mp.attrib.get("attrs", "0"), 16))
        else:
            same(f"{where} type", int(sp["type"], 16), int(mp.attrib["type"], 16))
            same(f"{where} bootable", bool(sp.get("bootable")), mp.attrib.get("bootable") == "true")
        if mp.attrib.get("kind") == "extended":
            continue
        part_dev = f"{dev}p{num}"
        check_volume(part_dev, mp.find("volume"), where)
        # blkid's view of the partition entry, in 512-byte units
        off = blkid_tag(part_dev, "PART_ENTRY_OFFSET")
        if off is not None:
            same(f"{where} PART_ENTRY_OFFSET", int(off), int(mp.attrib["start"]) * ss // 512)
        ptype = blkid_tag(part_dev, "PART_ENTRY_TYPE")
        if ptype and pt["label"] == "gpt":
            same(f"{where} PART_ENTRY_TYPE", ptype.upper(), mp.attrib["type"].upper())
    for num in parts:
        if num not in seen:
            fail(f"{did} partition {num}: in the manifest but not on the disk")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    root = ET.parse(sys.argv[1]).getroot()
    disks = root.findall("disk")
    devs = sys.argv[2:]
    if len(disks) != len(devs):
        fail(f"{len(devs)} devices, {len(disks)} disks in the manifest")
        return 1
    for disk, dev in zip(disks, devs):
        check_disk(disk, dev)
    return 1 if errors else 0


sys.exit(main())
