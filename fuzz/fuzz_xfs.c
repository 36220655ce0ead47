// SPDX-License-Identifier: GPL-3.0-or-later
/* libFuzzer: the xfs reader (src/fs/xfs_*.c) on a "device" made of the
 * fuzzed bytes: the superblock parsed and turned into a geometry (and
 * that geometry checked as a manifest's would be), the log judged clean or
 * not, the free-space trees walked for the used runs, which must stay in
 * order and inside the device.
 *
 * An xfs is mostly zeros: the input is the device's size (8 bytes,
 * big-endian; at most DEV_MAX) then records of an offset (8 bytes), a
 * length (4 bytes) and that many bytes, written into a sparse memfd
 * (fuzz/make-seeds.sh --xfs turns an image into one). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lb_fs_geom *k = lb_fs_geom_find("xfs");
	int fd = fuzz_memfd(NULL, 0);
	struct lb_xfs_geom *g = NULL;
	struct runs runs = { .first = true };
	struct lb_xfs_sb sb;
	uint64_t dev, used = 0;
	char *why = NULL;
	size_t at = 8;

	if (size < 8) {
		close(fd);
		return 0;
	}
	dev = lb_be64(data) % DEV_MAX;
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
		at += len;
	}
	if (ftruncate(fd, (off_t)dev) < 0)
		abort();
	runs.size = dev;
	if (lb_xfs_sb_read(fd, 0, &sb) >= 0) {
		if (lb_xfs_geom_from_sb(&sb, &g) >= 0) {
			k->check(g, &why);
			free(why);
			lb_xfs_geom_free(g);
		}
		lb_xfs_log_clean(fd, 0, &sb);
		if (lb_xfs_used_runs(fd, 0, dev, take_run, &runs, &used) >= 0 && used > dev)
			abort();
	}
	close(fd);
	return 0;
}
