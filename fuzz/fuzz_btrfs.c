// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the btrfs reader (src/fs/btrfs_*.c) on a "device" made of the
 * fuzzed bytes: the superblock parsed, the chunk tree walked and turned
 * into a geometry (and that geometry checked as a manifest's would be),
 * the free space tree (its block groups in order and apart, each free
 * range inside its block group, in order and apart), the used runs, which
 * must stay in order and inside the device.
 *
 * A btrfs is mostly zeros: the input is the device's size (8 bytes,
 * big-endian; at most DEV_MAX) then records of an offset (8 bytes), a
 * length (4 bytes) and that many bytes, written into a sparse memfd
 * (fuzz/make-btrfs-seeds.py turns images into such seeds). So that the
 * fuzzer gets past the checksums, the harness sets the crc32c of the
 * superblock and of every node-sized block written whose header names the
 * superblock's metadata fsid: the parsers still check them, and the
 * harness's unit tests check that a wrong one is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"
#include "fs/xfs-int.h"
#include "fuzz/fuzz.h"

#define DEV_MAX (1ull << 30)

struct runs {
	uint64_t size, end;
	bool first;
};

static int take_run(void *ud, uint64_t off, uint64_t len)
{
	struct runs *r = ud;

	if (len == 0 || off > r->size || len > r->size - off || (!r->first && off <= r->end))
		abort();
	r->first = false;
	r->end = off + len;
	return 0;
}

/* the superblock's crc32c, then that of the tree blocks in [off, off+len) */
static void fix_sums(int fd, uint64_t dev, uint64_t off, uint64_t len)
{
	uint8_t sb[BTRFS_SUPER_SIZE];
	uint8_t node[65536];
	uint32_t ns;

	if (dev < BTRFS_SUPER_OFF + BTRFS_SUPER_SIZE ||
	    lb_pread_all(fd, sb, sizeof(sb), BTRFS_SUPER_OFF) < 0 || sb[0xc4] != 0 || sb[0xc5] != 0)
		return;
	ns = lb_le32(sb + 0x94);
	if (ns >= 4096 && ns <= sizeof(node) && lb_is_pow2(ns))
		for (uint64_t b = off / ns * ns; b < off + len && b + ns <= dev; b += ns) {
			const uint8_t *fsid = (lb_le64(sb + 0xbc) & BTRFS_INCOMPAT_METADATA_UUID) ? sb + 0x23b
												 : sb + 0x20;

			if (lb_pread_all(fd, node, ns, b) < 0 || memcmp(node + 32, fsid, 16) != 0)
				continue;
			lb_btrfs_csum_set(0, node, ns);
			if (lb_pwrite_all(fd, node, ns, b) < 0)
				abort();
		}
	lb_btrfs_csum_set(0, sb, sizeof(sb));
	if (lb_pwrite_all(fd, sb, sizeof(sb), BTRFS_SUPER_OFF) < 0)
		abort();
}

/* the free space tree read whole: block groups and free ranges in order */
static void free_space(int fd, uint64_t dev)
{
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_free f;
	struct lb_btrfs_sb sb;
	size_t g = 0;

	if (lb_btrfs_sb_read(fd, 0, &sb) < 0 || lb_btrfs_chunks_read(fd, 0, dev, &sb, &cs) < 0)
		return;
	if (lb_btrfs_free_read(fd, 0, dev, &sb, &cs, &f) >= 0) {
		for (size_t i = 0; i < f.n_bg; i++)
			if (f.bg[i].len == 0 || f.bg[i].start + f.bg[i].len < f.bg[i].start ||
			    (i && f.bg[i].start < f.bg[i - 1].start + f.bg[i - 1].len))
				abort();
		for (size_t i = 0; i < f.n_free; i++) {
			const struct lb_btrfs_range *r = &f.free[i];

			while (g < f.n_bg && f.bg[g].start + f.bg[g].len <= r->start)
				g++;
			if (g == f.n_bg || r->len == 0 || r->start < f.bg[g].start ||
			    r->len > f.bg[g].start + f.bg[g].len - r->start ||
			    (i && r->start < f.free[i - 1].start + f.free[i - 1].len))
				abort();
		}
		lb_btrfs_free_free(&f);
	}
	lb_btrfs_chunks_free(&cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lb_fs_geom *k = lb_fs_geom_find("btrfs");
	int fd = fuzz_memfd(NULL, 0);
	struct runs runs = { .first = true };
	uint64_t dev, used = 0;
	void *g = NULL;
	char *why = NULL;
	size_t at = 8;

	if (size < 8) {
		close(fd);
		return 0;
	}
	dev = lb_be64(data) % DEV_MAX;
	if (ftruncate(fd, (off_t)dev) < 0)
		abort();
	while (at + 12 <= size) {
		uint64_t off = lb_be64(data + at) % DEV_MAX;
		uint32_t len = lb_be32(data + at + 8);

		at += 12;
		if (len > size - at)
			len = (uint32_t)(size - at);
		if (off + len > dev)
			break;
		if (lb_pwrite_all(fd, data + at, len, off) < 0)
			abort();
		fix_sums(fd, dev, off, len);
		at += len;
	}
	runs.size = dev;
	if (k->read(NULL, fd, 0, dev, &g) >= 0) {
		k->check(g, &why);
		free(why);
		k->free(g);
	}
	free_space(fd, dev);
	if (lb_btrfs_used_runs(fd, 0, dev, take_run, &runs, &used) >= 0 && used > dev)
		abort();
	close(fd);
	return 0;
}
