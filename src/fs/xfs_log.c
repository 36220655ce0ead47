// SPDX-License-Identifier: GPL-3.0-or-later
/* Whether an xfs's internal log is clean: its last record, just before the
 * head, is the unmount record the kernel writes when it unmounts cleanly;
 * or the log is covered: from its tail to its head it holds only the
 * transactions that log nothing but the superblock, with which the kernel
 * covers an idle or frozen filesystem's log (a freeze does so since Linux
 * 5.12 instead of writing an unmount record: an LVM snapshot of a mounted
 * xfs is such a log). Then every other block of metadata is on the disk
 * and a mount replays the superblock alone. With anything else in the
 * log, the metadata on the disk is not yet the whole truth (a mount would
 * replay the log first): the free-space trees may call free what the log
 * has since allocated, so only a whole image is safe.
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
#define XLOG_START_TRANS 0x01
#define XLOG_COMMIT_TRANS 0x02
#define XLOG_CONTINUE_TRANS 0x04
#define XLOG_WAS_CONT_TRANS 0x08
#define XLOG_UNMOUNT_TRANS 0x20
#define XFS_TRANSACTION 0x69		/* an operation's client id */
#define XFS_TRANS_HEADER_MAGIC 0x5452414eu
#define XFS_LI_BUF 0x123c
#define XLOG_COVER_MAX_RECORDS 16	/* the kernel covers with two */
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

/* The operations of one record's data (len bytes, its blocks' first words
 * put back from the header's cycle data): only whole transactions of
 * superblock buffers, none of which changes the size or the number of
 * allocation groups the superblock on the disk (sb) gives (a grown xfs:
 * the used blocks are read by that superblock). The log items are in the
 * byte order of the host that wrote them (the kernel replays no other):
 * little-endian here, and anything else reads as not covered. */
static bool ops_log_only_sb(const uint8_t *d, uint32_t len, uint32_t nops,
			    const struct lb_xfs_sb *sb)
{
	uint32_t off = 0, regions = 0;
	bool head_logged = false;	/* the next region is the sb's first 128 bytes */

	for (uint32_t i = 0; i < nops; i++) {
		uint32_t n;
		uint8_t flags;

		if (len - off < 12)
			return false;
		n = lb_be32(d + off + 4);
		flags = d[off + 9];
		if (d[off + 8] != XFS_TRANSACTION ||
		    (flags & (XLOG_CONTINUE_TRANS | XLOG_WAS_CONT_TRANS | XLOG_UNMOUNT_TRANS)))
			return false;
		off += 12;
		if (n > len - off)
			return false;
		if (flags & (XLOG_START_TRANS | XLOG_COMMIT_TRANS)) {
			if (n != 0)
				return false;
		} else if (regions > 0) {
			/* a region of the buffer just named */
			if (head_logged && (n < 92 || lb_be64(d + off + 8) != sb->dblocks ||
					    lb_be32(d + off + 88) != sb->agcount))
				return false;
			head_logged = false;
			regions--;
		} else if (n >= 16 && lb_le32(d + off) == XFS_TRANS_HEADER_MAGIC) {
			;	/* the transaction's header */
		} else if (n >= 24 && lb_le16(d + off) == XFS_LI_BUF) {
			/* a buffer: only the superblock's, at daddr 0 */
			for (int b = 8; b < 16; b++)
				if (d[off + b])
					return false;
			regions = lb_le16(d + off + 2);
			if (regions < 1 || regions > 33)
				return false;
			regions--;
			head_logged = regions > 0 && (lb_le32(d + off + 20) & 1);
		} else {
			return false;
		}
		off += n;
	}
	return regions == 0;
}

/* Whether the log is covered: from the tail the last record header (hdr)
 * names to the head, records of superblock-only transactions that end
 * exactly at the head. */
static bool covered(const struct logdev *l, uint64_t head, const uint8_t hdr[512],
		    const struct lb_xfs_sb *sb)
{
	uint64_t pos = lb_be64(hdr + 24) & 0xffffffffu, walked = 0;
	_cleanup_free_ uint8_t *d = lb_zalloc(XLOG_HEADER_CYCLE_SIZE);
	uint8_t h[512];

	head %= l->bbs;
	for (int rec = 0; rec < XLOG_COVER_MAX_RECORDS; rec++) {
		uint32_t len, bbs;

		if (pos == head)
			return rec > 0;
		if (pos >= l->bbs || read_bb(l, pos, h) < 0 || lb_be32(h) != XLOG_HEADER_MAGIC)
			return false;
		len = lb_be32(h + 12);
		/* one header block: its cycle data covers 32 KiB of data */
		if (len == 0 || len > XLOG_HEADER_CYCLE_SIZE)
			return false;
		bbs = (len + 511) / 512;
		for (uint32_t i = 0; i < bbs; i++) {
			if (read_bb(l, (pos + 1 + i) % l->bbs, d + i * 512) < 0)
				return false;
			memcpy(d + i * 512, h + 44 + 4 * i, 4);
		}
		if (!ops_log_only_sb(d, len, lb_be32(h + 40), sb))
			return false;
		walked += 1 + bbs;
		if (walked > l->bbs)
			return false;
		pos = (pos + 1 + bbs) % l->bbs;
	}
	return false;
}

/* A log whose last record is no unmount record: 1 when it is covered,
 * else -EUCLEAN. */
static int not_clean(const struct logdev *l, uint64_t head, const uint8_t hdr[512],
		     const struct lb_xfs_sb *sb)
{
	if (covered(l, head, hdr, sb)) {
		lb_debug("xfs", "the xfs log is covered: only superblock transactions since its tail");
		return 1;
	}
	return lb_err(-EUCLEAN, "the xfs log is not clean (it was not unmounted cleanly: "
				"mount and unmount it to replay it)");
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
	if ((hdr + hblks + (len + 511) / 512) % l.bbs != head % l.bbs)
		return not_clean(&l, head, h, sb);
	if (lb_be32(h + 40) == 1) {
		r = read_bb(&l, (hdr + hblks) % l.bbs, op);
		if (r < 0)
			return r;
		if (op[9] & XLOG_UNMOUNT_TRANS)
			return 0;
	}
	return not_clean(&l, head, h, sb);
}
