#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes fuzz/manifest.dict, the libFuzzer dictionary of the manifest and
plan harnesses: the schema's element and attribute names and values, and a
few numbers at the edges. Run from the top of the tree:

    python3 fuzz/make-dict.py"""
import re

s = open("schema/lifeboat-manifest.rng").read()
els = sorted(set(re.findall(r'<element name="([^"]+)"', s)))
ats = sorted(set(re.findall(r'<attribute name="([^"]+)"', s)))
vals = sorted(set(re.findall(r"<value>([^<]+)</value>", s)))
out = [
    "# libFuzzer dictionary of the manifest harnesses (fuzz_manifest, fuzz_plan):",
    "# the schema's element and attribute names and values, made from",
    "# schema/lifeboat-manifest.rng by fuzz/make-dict.py",
]
for e in els:
    out += ['"<%s "' % e, '"</%s>"' % e]
for a in ats:
    out.append('" %s=\\""' % a)
for v in vals:
    out.append('"\\"%s\\""' % v.replace("\\", "\\\\").replace('"', '\\"'))
for n in ("0", "1", "512", "4096", "4294967295", "18446744073709551615"):
    out.append('"\\"%s\\""' % n)
out.append('"/>"')
open("fuzz/manifest.dict", "w").write("\n".join(out) + "\n")
