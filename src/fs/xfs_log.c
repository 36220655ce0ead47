// SPDX-License-Identifier: GPL-3.0-or-later
/* Whether an xfs's internal log is clean: its last record, just before the
 * head, is the unmount record the kernel writes when it unmounts cleanly.
 * With anything else in the log, the metadata on the disk is not yet the
 * whole truth (a mount would replay the log first): the free-space trees
 * may call free what the log has since allocated, so only a whole image
 * is safe.
 *
 * The log is a ring of 512-byte basic blocks. Each starts with the cycle
 * it was written in (a record header with its magic, and the cycle in the
 * next word); the head is where the cycle drops. The last record header
 * before the head says how long the record is and how many operations it
 * holds: an unmount record is one operation flagged XLOG_UNMOUNT_TRANS and
 * ends exactly at the head. Anything unexpected reads as not clean. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/xfs-int.h"

#define XLOG_HEADER_MAGIC 0xfeedbabeu
#define XLOG_UNMOUNT_TRANS 0x20
#define XLOG_HEADER_CYCLE_SIZE 32768
#define XLOG_MAX_RECORD_BBS (256 * 1024 / 512 + 8)	/* a record and its headers */

struct logdev {
	int fd;
	uint64_t start;		/* byte of basic block 0 */
	uint64_t bbs;		/* basic blocks in the log */
};

static int read_bb(const struct logdev *l, uint64_t bb, uint8_t buf[512])
{
	int r = lb_pread_all(l->fd, buf, 512, l->start + bb * 512);

	return r < 0 ? lb_err(r, "cannot read the xfs log: %s", strerror(-r)) : 0;
}

static int cycle_of(const struct logdev *l, uint64_t bb, uint32_t *ret)
{
	uint8_t b[512];
	int r = read_bb(l, bb, b);

	if (r < 0)
		return r;
	*ret = lb_be32(b) == XLOG_HEADER_MAGIC ? lb_be32(b + 4) : lb_be32(b);
	return 0;
}

/* The first block whose cycle is not block 0's (l->bbs when all are). */
static int find_head(const struct logdev *l, uint64_t *ret)
{
	uint32_t first, last, c;
	uint64_t lo = 0, hi = l->bbs - 1;
	int r;

	r = cycle_of(l, 0, &first);
	if (r >= 0)
		r = cycle_of(l, hi, &last);
	if (r < 0)
		return r;
	if (first == 0)
		return lb_err(-EUCLEAN, "the xfs log was never written");
	if (last == first) {
		*ret = l->bbs;
		return 0;
	}
	/* [0, lo] hold the first cycle, hi does not */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		r = cycle_of(l, mid, &c);
		if (r < 0)
			return r;
		if (c == first)
			lo = mid;
		else
			hi = mid;
	}
	*ret = hi;
	return 0;
}

int lb_xfs_log_clean(int fd, uint64_t offset, const struct lb_xfs_sb *sb)
{
	uint64_t agno = sb->logstart >> sb->agblklog;
	uint64_t agbno = sb->logstart & (((uint64_t)1 << sb->agblklog) - 1);
	struct logdev l = { .fd = fd };
	uint8_t h[512], op[512];
	uint64_t head = 0, hdr = 0, hblks, len;
	uint32_t size;
	int r;

	l.start = offset + (agno * sb->agblocks + agbno) * sb->block_size;
	l.bbs = (uint64_t)sb->logblocks * (sb->block_size / 512);
	if (l.bbs < 2)
		return lb_err(-EUCLEAN, "the xfs log is too small");
	r = find_head(&l, &head);
	if (r < 0)
		return r;
	/* the last record header before the head (the ring wraps) */
	for (uint64_t back = 1; back <= XLOG_MAX_RECORD_BBS && back <= l.bbs; back++) {
		hdr = (head + l.bbs - back) % l.bbs;
		r = read_bb(&l, hdr, h);
		if (r < 0)
			return r;
		if (lb_be32(h) == XLOG_HEADER_MAGIC)
			break;
		if (back == XLOG_MAX_RECORD_BBS || back == l.bbs)
			return lb_err(-EUCLEAN, "no xfs log record before the log's head");
	}
	size = lb_be32(h + 320);
	hblks = (lb_be32(h + 8) & 2) && size > XLOG_HEADER_CYCLE_SIZE
			? (size + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE
			: 1;
	len = lb_be32(h + 12);
	if (len > 256 * 1024 || hblks > 8)
		return lb_err(-EUCLEAN, "an xfs log record of an impossible size");
	if ((hdr + hblks + (len + 511) / 512) % l.bbs != head % l.bbs || lb_be32(h + 40) != 1)
		return lb_err(-EUCLEAN, "the xfs log is not clean (it was not unmounted cleanly: "
					"mount and unmount it to replay it)");
	r = read_bb(&l, (hdr + hblks) % l.bbs, op);
	if (r < 0)
		return r;
	if (!(op[9] & XLOG_UNMOUNT_TRANS))
		return lb_err(-EUCLEAN, "the xfs log is not clean (it was not unmounted cleanly: "
					"mount and unmount it to replay it)");
	return 0;
}
