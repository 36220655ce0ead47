// SPDX-License-Identifier: GPL-3.0-or-later
/* The blocks an unmounted xfs uses: everything but the free extents each
 * allocation group's by-block-number free-space B-tree (bnobt) lists. Read
 * from the disk's bytes and trusted for nothing: each AGF and tree block is
 * checked (magic, level, record count, sequence and owner, and on v5 its
 * CRC, its own address and the filesystem's UUID), the extents must lie in
 * their group in increasing order, the tree may be no deeper than its AGF
 * says nor visit more blocks than the group has, and the free blocks found
 * must add up to what the AGF counts. Anything else: -EUCLEAN, and the
 * caller images the whole volume. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/xfs-int.h"

#define BTREE_MAXLEVELS 9	/* deeper than any bnobt of 2^31 blocks */
#define SBLOCK_HDR 16		/* magic, level, numrecs, left and right siblings */
#define SBLOCK_CRC_HDR 56	/* + blkno, lsn, uuid, owner, crc */

struct walk {
	int fd;
	uint64_t offset;	/* the filesystem's first byte on fd */
	const struct lb_xfs_sb *sb;
	bool v5;
	const uint8_t *uuid;	/* what v5 metadata is stamped with */
	uint32_t agno, ag_len;	/* the group being walked, its blocks */
	uint64_t ag_free;	/* free blocks found in it */
	uint32_t next;		/* the first block after the last extent */
	uint64_t visited;	/* tree blocks read in this group */
	uint8_t *buf[BTREE_MAXLEVELS];
	/* the run of used bytes not yet handed on */
	uint64_t run_off, run_len, used;
	int (*fn)(void *, uint64_t, uint64_t);
	void *ud;
};

static int corrupt(const struct walk *w, const char *what)
{
	return lb_err(-EUCLEAN, "xfs allocation group %u: %s", w->agno, what);
}

static int emit(struct walk *w, uint64_t off, uint64_t len)
{
	int r = 0;

	if (!len)
		return 0;
	w->used += len;
	if (w->run_len && w->run_off + w->run_len == off) {
		w->run_len += len;
		return 0;
	}
	if (w->run_len && w->fn)
		r = w->fn(w->ud, w->run_off, w->run_len);
	w->run_off = off;
	w->run_len = len;
	return r;
}

/* blocks [from, to) of the current group are in use */
static int used_blocks(struct walk *w, uint32_t from, uint32_t to)
{
	uint64_t bs = w->sb->block_size;
	uint64_t base = (uint64_t)w->agno * w->sb->agblocks;

	return emit(w, (base + from) * bs, (uint64_t)(to - from) * bs);
}

static int free_extent(struct walk *w, uint32_t start, uint32_t count)
{
	int r;

	if (count == 0 || start < w->next || start > w->ag_len || count > w->ag_len - start)
		return corrupt(w, "a free extent out of order or outside the group");
	r = used_blocks(w, w->next, start);
	w->next = start + count;
	w->ag_free += count;
	return r;
}

static int read_tree_block(struct walk *w, uint32_t agbno, int level, uint8_t *buf)
{
	uint64_t bs = w->sb->block_size;
	uint64_t fsb = (uint64_t)w->agno * w->sb->agblocks + agbno;
	int r;

	if (agbno == 0 || agbno >= w->ag_len)
		return corrupt(w, "a free-space tree pointer outside the group");
	if (++w->visited > w->ag_len)
		return corrupt(w, "the free-space tree visits more blocks than the group has");
	r = lb_pread_all(w->fd, buf, (size_t)bs, w->offset + fsb * bs);
	if (r < 0)
		return lb_err(r, "cannot read xfs block %" PRIu64 ": %s", fsb, strerror(-r));
	if (lb_be32(buf) != (w->v5 ? XFS_ABTB_CRC_MAGIC : XFS_ABTB_MAGIC))
		return corrupt(w, "a free-space tree block without its magic");
	if (lb_be16(buf + 4) != level)
		return corrupt(w, "a free-space tree block at the wrong level");
	if (!w->v5)
		return 0;
	if (!lb_xfs_crc_ok(buf, (size_t)bs, XFS_BTREE_SBLOCK_CRC_OFF))
		return corrupt(w, "a free-space tree block whose CRC does not match");
	if (lb_be64(buf + 16) != fsb * (bs / 512) || memcmp(buf + 32, w->uuid, 16) != 0 ||
	    lb_be32(buf + 48) != w->agno)
		return corrupt(w, "a free-space tree block that is not this group's");
	return 0;
}

/* The subtree at agbno, of the given level, in key order. */
static int walk_tree(struct walk *w, uint32_t agbno, int level)
{
	uint8_t *b = w->buf[level];
	size_t hdr = w->v5 ? SBLOCK_CRC_HDR : SBLOCK_HDR;
	size_t room = w->sb->block_size - hdr;
	uint16_t n;
	int r;

	r = read_tree_block(w, agbno, level, b);
	if (r < 0)
		return r;
	n = lb_be16(b + 6);
	if (level == 0) {
		if (n > room / 8)
			return corrupt(w, "a free-space leaf with more records than fit");
		/* (only a root may be empty: else each leaf read is a free
		 * extent found, and the walk is bounded by the group's) */
		if (n == 0 && w->visited > 1)
			return corrupt(w, "an empty free-space leaf below a node");
		for (uint16_t i = 0; i < n && r >= 0; i++)
			r = free_extent(w, lb_be32(b + hdr + 8 * i), lb_be32(b + hdr + 8 * i + 4));
		return r;
	}
	/* a node: n keys, then (after room for all it may hold) n pointers */
	if (n == 0 || n > room / 12)
		return corrupt(w, "a free-space node with no records or more than fit");
	for (uint16_t i = 0; i < n && r >= 0; i++) {
		/* (re-read: the child walked before used the same buffer level) */
		uint32_t child = lb_be32(w->buf[level] + hdr + (room / 12) * 8 + 4 * i);

		r = walk_tree(w, child, level - 1);
	}
	return r;
}

static int walk_group(struct walk *w, uint32_t agno)
{
	uint64_t bs = w->sb->block_size;
	uint64_t ag_byte = (uint64_t)agno * w->sb->agblocks * bs;
	_cleanup_free_ uint8_t *agf = lb_zalloc(w->sb->sectsize);
	uint32_t root, levels, freeblks;
	int r;

	w->agno = agno;
	w->ag_len = agno + 1 < w->sb->agcount
			    ? w->sb->agblocks
			    : (uint32_t)(w->sb->dblocks - (uint64_t)agno * w->sb->agblocks);
	w->ag_free = 0;
	w->next = 0;
	w->visited = 0;
	r = lb_pread_all(w->fd, agf, w->sb->sectsize, w->offset + ag_byte + w->sb->sectsize);
	if (r < 0)
		return lb_err(r, "cannot read the AGF of xfs allocation group %u: %s", agno,
			      strerror(-r));
	if (lb_be32(agf) != XFS_AGF_MAGIC || lb_be32(agf + 4) != 1 || lb_be32(agf + 8) != agno ||
	    lb_be32(agf + 12) != w->ag_len)
		return corrupt(w, "its AGF is not valid");
	if (w->v5 && (!lb_xfs_crc_ok(agf, w->sb->sectsize, XFS_AGF_CRC_OFF) ||
		      memcmp(agf + 64, w->uuid, 16) != 0))
		return corrupt(w, "its AGF's CRC or UUID does not match");
	root = lb_be32(agf + 16);
	levels = lb_be32(agf + 28);
	freeblks = lb_be32(agf + 52);
	if (levels == 0 || levels > BTREE_MAXLEVELS)
		return corrupt(w, "its free-space tree has an impossible height");
	r = walk_tree(w, root, (int)levels - 1);
	if (r >= 0 && w->ag_free != freeblks)
		return corrupt(w, "the free extents do not add up to the AGF's free block count");
	if (r >= 0)
		r = used_blocks(w, w->next, w->ag_len);
	return r;
}

int lb_xfs_used_runs(int fd, uint64_t offset, uint64_t size, int (*fn)(void *, uint64_t, uint64_t),
		     void *ud, uint64_t *ret_used)
{
	struct lb_xfs_sb sb;
	struct walk w = { .fd = fd, .offset = offset, .sb = &sb, .fn = fn, .ud = ud };
	int r;

	r = lb_xfs_sb_read(fd, offset, &sb);
	if (r < 0)
		return r;
	if (sb.rblocks || !sb.logstart)
		return lb_err(-EOPNOTSUPP, "an xfs with a realtime or external log device");
	if (sb.dblocks > size / sb.block_size)
		return lb_err(-EUCLEAN, "the xfs (%" PRIu64 " blocks of %u bytes) is larger than the "
					"%" PRIu64 " bytes that hold it",
			      sb.dblocks, sb.block_size, size);
	r = lb_xfs_log_clean(fd, offset, &sb);
	if (r < 0)
		return r;
	w.v5 = (sb.versionnum & XFS_SB_VERSION_NUMBITS) == 5;
	w.uuid = w.v5 && (sb.incompat & XFS_SB_FEAT_INCOMPAT_META_UUID) ? sb.meta_uuid : sb.uuid;
	for (int l = 0; l < BTREE_MAXLEVELS; l++)
		w.buf[l] = lb_zalloc(sb.block_size);
	for (uint32_t a = 0; a < sb.agcount && r >= 0; a++)
		r = walk_group(&w, a);
	if (r >= 0 && w.run_len && fn)
		r = fn(ud, w.run_off, w.run_len);
	for (int l = 0; l < BTREE_MAXLEVELS; l++)
		free(w.buf[l]);
	if (r >= 0 && ret_used)
		*ret_used = w.used;
	return r < 0 ? r : 0;
}
