// SPDX-License-Identifier: GPL-3.0-or-later
/* The btrfs free space tree, read from the device without the kernel: its
 * root found in the root tree (the ROOT_ITEM of objectid 10), then every
 * leaf walked in key order. Per block group a FREE_SPACE_INFO (key: the
 * group's start, 198, its length) says how many free extents it has and
 * whether they are FREE_SPACE_EXTENT items (key: start, 199, length) or
 * FREE_SPACE_BITMAP items (key: start, 200, length; one bit a sector, set
 * when free). What lb_btrfs_used_runs leaves out of an image is what this
 * calls free, so nothing is taken on trust: each tree block is checked as
 * the kernel checks it (checksum, place, fsid, owner, level, the
 * generation its parent names), keys must rise across the whole tree,
 * every range must lie in its block group after the one before, and each
 * group's extent count must be what its ranges make. Anything else is an
 * error, and the caller keeps whole chunks. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"

/* 16 GiB of 16 KiB tree blocks: a free space tree that big is hostile */
#define MAX_BLOCKS (1u << 20)
/* free ranges kept (16 bytes each): past that, whole chunks */
#define MAX_RANGES (1u << 24)
/* the bytes of a root item up to its level */
#define ROOT_ITEM_MIN 239u

static int corrupt(const char *fmt, uint64_t a)
{
	return lb_err(-EUCLEAN, "btrfs free space tree: %s (%" PRIu64 ")", fmt, a);
}

void lb_btrfs_free_free(struct lb_btrfs_free *f)
{
	if (!f)
		return;
	free(f->bg);
	free(f->free);
	memset(f, 0, sizeof(*f));
}

struct key {
	uint64_t objectid;
	uint8_t type;
	uint64_t offset;
};

static struct key key_at(const uint8_t *p)
{
	return (struct key){ lb_le64(p), p[8], lb_le64(p + 9) };
}

static int key_cmp(const struct key *a, const struct key *b)
{
	if (a->objectid != b->objectid)
		return a->objectid < b->objectid ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

struct fst {
	int fd;
	uint64_t offset, size;
	const struct lb_btrfs_sb *sb;
	const struct lb_btrfs_chunks *cs;
	uint8_t *buf;
	unsigned blocks;
	struct lb_btrfs_free *f;
	size_t alloc_bg, alloc_free;
	/* the keys read so far: the last */
	bool any;
	struct key last;
	/* the block group being read */
	bool in_bg;
	uint64_t bg_start, bg_end;
	uint32_t bg_count, bg_flags, bg_runs;
	uint64_t next;		/* where the next extent or bitmap may start */
};

/* The tree block at logical of the expected level, owner and generation
 * (0: any) into w->buf, from a copy on this device. Only chunks whose
 * stripes each hold the whole chunk are read (tree blocks are metadata,
 * which is never striped on one device). */
static int read_block(struct fst *w, uint64_t logical, unsigned level, uint64_t owner, uint64_t gen)
{
	const struct lb_btrfs_chunk *c = NULL;
	size_t lo = 0, hi = w->cs->n;
	int r;

	if (++w->blocks > MAX_BLOCKS)
		return corrupt("more tree blocks than lifeboat reads", w->blocks);
	while (lo < hi) {	/* the chunks are sorted and apart */
		size_t mid = lo + (hi - lo) / 2;

		if (logical < w->cs->v[mid].logical) {
			hi = mid;
		} else if (logical - w->cs->v[mid].logical >= w->cs->v[mid].length) {
			lo = mid + 1;
		} else {
			c = &w->cs->v[mid];
			break;
		}
	}
	if (!c)
		return corrupt("a tree block lies in no chunk, at", logical);
	r = lb_btrfs_block_copy(w->fd, w->offset, w->size, w->sb, c, logical, level, owner, gen,
				w->buf);
	if (r == -ERANGE)
		return corrupt("a tree block lies in a striped or too short chunk, at", logical);
	if (r == -ENXIO)
		return lb_err(-ENXIO, "btrfs tree block %" PRIu64 " has no copy on this device "
				      "(devid %" PRIu64 ")",
			      logical, w->sb->devid);
	if (r == -EUCLEAN)
		return corrupt("no copy of a tree block is whole (checksum, place, owner, level or "
			       "generation), at",
			       logical);
	return r;
}

/* The free space tree's root, level and generation from the root tree. */
static int find_root(struct fst *w, uint64_t *ret_root, unsigned *ret_level, uint64_t *ret_gen)
{
	const struct key want = { BTRFS_FREE_SPACE_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	const uint32_t ns = w->sb->nodesize;
	uint64_t logical = w->sb->root, gen = w->sb->generation;
	unsigned level = w->sb->root_level;

	if (level >= BTRFS_MAX_LEVEL)
		return corrupt("the root tree's level is too high", level);
	for (;;) {
		uint32_t n;
		int r;

		r = read_block(w, logical, level, BTRFS_ROOT_TREE_OBJECTID, gen);
		if (r < 0)
			return r;
		n = lb_le32(w->buf + 96);
		if (level == 0)
			break;
		if (n == 0 || n > (ns - BTRFS_HEADER_SIZE) / BTRFS_KEY_PTR_SIZE)
			return corrupt("a root tree node's pointer count does not fit it, at", logical);
		{
			/* the last pointer whose key is not past the one wanted */
			uint32_t i;
			const uint8_t *p;
			struct key k = key_at(w->buf + BTRFS_HEADER_SIZE);

			if (key_cmp(&k, &want) > 0)
				return lb_err(-EOPNOTSUPP, "btrfs: no free space tree in the root tree");
			for (i = 1; i < n; i++) {
				k = key_at(w->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_KEY_PTR_SIZE);
				if (key_cmp(&k, &want) > 0)
					break;
			}
			p = w->buf + BTRFS_HEADER_SIZE + (size_t)(i - 1) * BTRFS_KEY_PTR_SIZE;
			logical = lb_le64(p + 17);
			gen = lb_le64(p + 25);
			level--;
		}
	}
	{
		uint32_t n = lb_le32(w->buf + 96);

		if (n > (ns - BTRFS_HEADER_SIZE) / BTRFS_ITEM_SIZE)
			return corrupt("a root tree leaf has more items than fit, at", logical);
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *it = w->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;
			struct key k = key_at(it);
			uint32_t off = lb_le32(it + 17), len = lb_le32(it + 21);
			const uint8_t *ri;

			if (k.objectid != want.objectid || k.type != want.type)
				continue;
			if ((uint64_t)off + len > ns - BTRFS_HEADER_SIZE || len < ROOT_ITEM_MIN)
				return corrupt("the free space tree's root item does not fit its leaf, at",
					       logical);
			ri = w->buf + BTRFS_HEADER_SIZE + off;
			*ret_gen = lb_le64(ri + 160);
			*ret_root = lb_le64(ri + 176);
			*ret_level = ri[238];
			if (*ret_level >= BTRFS_MAX_LEVEL)
				return corrupt("the free space tree's level is too high", *ret_level);
			return 0;
		}
	}
	return lb_err(-EOPNOTSUPP, "btrfs: no free space tree in the root tree");
}

/* The block group read so far is over: its ranges must be its count. */
static int bg_end(struct fst *w)
{
	if (w->in_bg && w->bg_runs != w->bg_count)
		return corrupt("a block group's extent count is not its free ranges', at", w->bg_start);
	w->in_bg = false;
	return 0;
}

/* A free range [start, start + len) of the block group being read, after
 * the ones before it (merged with the last when they touch). */
static int add_free(struct fst *w, uint64_t start, uint64_t len)
{
	struct lb_btrfs_free *f = w->f;

	if (f->n_free && f->free[f->n_free - 1].start + f->free[f->n_free - 1].len == start &&
	    f->free[f->n_free - 1].start >= w->bg_start) {
		f->free[f->n_free - 1].len += len;
		return 0;
	}
	if (f->n_free >= MAX_RANGES)
		return corrupt("more free ranges than lifeboat keeps", f->n_free);
	if (f->n_free == w->alloc_free) {
		w->alloc_free = w->alloc_free ? w->alloc_free * 2 : 256;
		f->free = lb_realloc_array(f->free, w->alloc_free, sizeof(*f->free));
	}
	f->free[f->n_free++] = (struct lb_btrfs_range){ start, len };
	w->bg_runs++;
	return 0;
}

/* a free extent or bitmap's range: inside the group, after the last */
static int in_bg(struct fst *w, const struct key *k)
{
	if (!w->in_bg || k->objectid < w->next || k->offset == 0 || k->objectid >= w->bg_end ||
	    k->offset > w->bg_end - k->objectid || k->objectid % w->sb->sectorsize ||
	    k->offset % w->sb->sectorsize)
		return corrupt("a free range lies outside its block group or before the last, at",
			       k->objectid);
	w->next = k->objectid + k->offset;
	return 0;
}

static int leaf_item(struct fst *w, const struct key *k, const uint8_t *data, uint32_t len)
{
	struct lb_btrfs_free *f = w->f;
	int r;

	if (k->type == BTRFS_FREE_SPACE_INFO_KEY) {
		r = bg_end(w);
		if (r < 0)
			return r;
		if (len < 8 || k->offset == 0 || k->objectid + k->offset < k->objectid ||
		    (f->n_bg && k->objectid < f->bg[f->n_bg - 1].start + f->bg[f->n_bg - 1].len))
			return corrupt("a block group's free space info makes no sense, at", k->objectid);
		w->bg_count = lb_le32(data);
		w->bg_flags = lb_le32(data + 4);
		if (w->bg_flags & ~BTRFS_FREE_SPACE_USING_BITMAPS)
			return corrupt("a block group's free space flags are unknown, at", k->objectid);
		if (f->n_bg >= MAX_RANGES)
			return corrupt("more block groups than lifeboat keeps", f->n_bg);
		if (f->n_bg == w->alloc_bg) {
			w->alloc_bg = w->alloc_bg ? w->alloc_bg * 2 : 64;
			f->bg = lb_realloc_array(f->bg, w->alloc_bg, sizeof(*f->bg));
		}
		f->bg[f->n_bg++] = (struct lb_btrfs_range){ k->objectid, k->offset };
		w->in_bg = true;
		w->bg_start = w->next = k->objectid;
		w->bg_end = k->objectid + k->offset;
		w->bg_runs = 0;
		return 0;
	}
	if (k->type == BTRFS_FREE_SPACE_EXTENT_KEY) {
		r = in_bg(w, k);
		if (r < 0)
			return r;
		if (len != 0 || (w->bg_flags & BTRFS_FREE_SPACE_USING_BITMAPS))
			return corrupt("a free extent in a block group of bitmaps, at", k->objectid);
		return add_free(w, k->objectid, k->offset);
	}
	if (k->type == BTRFS_FREE_SPACE_BITMAP_KEY) {
		const uint32_t ss = w->sb->sectorsize;
		uint64_t bits, run = 0;
		bool in_run = false;

		r = in_bg(w, k);
		if (r < 0)
			return r;
		bits = k->offset / ss;
		if (!(w->bg_flags & BTRFS_FREE_SPACE_USING_BITMAPS) || len != (bits + 7) / 8)
			return corrupt("a free space bitmap is not its range's, at", k->objectid);
		/* (len fits the leaf: bits <= 8 * nodesize) */
		for (uint64_t b = 0; b <= bits; b++) {
			bool set = b < bits && (data[b / 8] >> (b % 8)) & 1;

			if (set && !in_run) {
				run = b;
				in_run = true;
			} else if (!set && in_run) {
				r = add_free(w, k->objectid + run * ss, (b - run) * ss);
				if (r < 0)
					return r;
				in_run = false;
			}
		}
		return 0;
	}
	return corrupt("an item of an unknown type, type", k->type);
}

static int walk(struct fst *w, uint64_t logical, unsigned level, uint64_t gen, bool root)
{
	const uint32_t ns = w->sb->nodesize;
	uint32_t n;
	int r;

	r = read_block(w, logical, level, BTRFS_FREE_SPACE_TREE_OBJECTID, gen);
	if (r < 0)
		return r;
	n = lb_le32(w->buf + 96);
	if (level == 0) {
		if (n > (ns - BTRFS_HEADER_SIZE) / BTRFS_ITEM_SIZE || (n == 0 && !root))
			return corrupt("a leaf's item count does not fit it, at", logical);
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *it = w->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;
			uint32_t off = lb_le32(it + 17), len = lb_le32(it + 21);
			struct key k = key_at(it);

			/* in order across the tree: a block read twice is refused */
			if (w->any && key_cmp(&k, &w->last) <= 0)
				return corrupt("keys out of order (a block read twice?), at", k.objectid);
			w->any = true;
			w->last = k;
			if ((uint64_t)off + len > ns - BTRFS_HEADER_SIZE)
				return corrupt("a leaf item lies outside its leaf, at", logical);
			r = leaf_item(w, &k, w->buf + BTRFS_HEADER_SIZE + off, len);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (n == 0 || n > (ns - BTRFS_HEADER_SIZE) / BTRFS_KEY_PTR_SIZE)
		return corrupt("a node's pointer count does not fit it, at", logical);
	{
		/* the pointers, before the children overwrite the buffer */
		_cleanup_free_ uint64_t *ptr = lb_zalloc(2 * (size_t)n * sizeof(*ptr));

		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *p = w->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_KEY_PTR_SIZE;

			ptr[2 * i] = lb_le64(p + 17);
			ptr[2 * i + 1] = lb_le64(p + 25);
		}
		for (uint32_t i = 0; i < n; i++) {
			r = walk(w, ptr[2 * i], level - 1, ptr[2 * i + 1], false);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int lb_btrfs_free_read(int fd, uint64_t offset, uint64_t size, const struct lb_btrfs_sb *sb,
		       const struct lb_btrfs_chunks *cs, struct lb_btrfs_free *ret)
{
	const uint64_t valid = BTRFS_COMPAT_RO_FREE_SPACE_TREE | BTRFS_COMPAT_RO_FREE_SPACE_TREE_VALID;
	struct fst w = { .fd = fd, .offset = offset, .size = size, .sb = sb, .cs = cs, .f = ret };
	uint64_t root = 0, gen = 0;
	unsigned level = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((sb->compat_ro & valid) != valid)
		return lb_err(-EOPNOTSUPP, "btrfs: no valid free space tree");
	/* a log to replay holds extents the tree calls free; a feature not
	 * among those lifeboat knows (zoned, extent tree v2, the raid stripe
	 * tree, the remap tree, or newer) may change what the tree means or
	 * where data lies */
	if (sb->log_root != 0 || (sb->incompat & ~BTRFS_INCOMPAT_FST_KNOWN) ||
	    (sb->compat_ro & ~BTRFS_COMPAT_RO_FST_KNOWN))
		return lb_err(-EOPNOTSUPP, "btrfs: a log to replay, or a feature whose free space "
					   "lifeboat does not read");
	w.buf = lb_zalloc(sb->nodesize);
	r = find_root(&w, &root, &level, &gen);
	if (r >= 0)
		r = walk(&w, root, level, gen, true);
	if (r >= 0)
		r = bg_end(&w);
	free(w.buf);
	if (r < 0)
		lb_btrfs_free_free(ret);
	return r;
}
