// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Whether two regular files hold the same bytes, cheaply where the
 * filesystem shares them: on btrfs by the files' extent items (below);
 * elsewhere, or without the right to search trees: a btrfs snapshot and its parent share the
 * extents of every file neither changed since, and FIEMAP lists them at the
 * same physical addresses. A btrfs extent is never written in place (a
 * write makes a new one), so two files that map every logical range to
 * the same physical range, with the same kind (written or preallocated),
 * hold the same bytes. FIEMAP's physical address says nothing exact for
 * an extent that is compressed (btrfs gives the start of the compressed
 * extent, whatever part of it the file uses), inline, encrypted, delayed
 * or of unknown place: those files are read and compared byte by byte. Two
 * files whose extents differ are taken as different without reading them
 * (rewritten with the same bytes, they are stored again: nothing is lost).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#include "base/base.h"
#include "data/data.h"

#define SAME_BATCH 128			/* extents asked for at a time */
#define SAME_READ (1u << 20)		/* read at a time when comparing bytes */

/* flags that make a physical address no proof of the bytes */
#define INEXACT                                                                        \
	(FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED |        \
	 FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED |                      \
	 FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL)
/* flags that tell nothing about the bytes (how they are held, or that the
 * list ends here) */
#define IGNORED (FIEMAP_EXTENT_LAST | FIEMAP_EXTENT_MERGED | FIEMAP_EXTENT_SHARED)

enum verdict { DIFFERENT, SAME, READ_THEM };

/* ---- btrfs: the file extent items themselves ---------------------------
 * Exact for every kind of extent (FIEMAP's addresses are not, for a
 * compressed one): two files whose EXTENT_DATA items are the same but for
 * the generation that wrote them (same file offsets; the same inline bytes,
 * or the same disk extent, part of it at the same offset and length, with
 * the same compression and encoding) hold the same bytes. Read with
 * BTRFS_IOC_TREE_SEARCH_V2 in each file's own subvolume tree (root only:
 * anything else falls back to FIEMAP). */
#define SEARCH_BUF (64u << 10)
#define ITEM_GEN 8		/* the item after its generation */

/* One file's EXTENT_DATA items, a search buffer at a time: the two files'
 * are compared side by side, so nothing grows with their number and the
 * first that differs ends it. */
struct items {
	struct btrfs_ioctl_search_args_v2 *a;
	uint64_t ino, next;	/* the next search's first key offset */
	uint32_t left;		/* items in a->buf not taken yet */
	size_t at;		/* where the next is */
	bool done;		/* the last search made */
};

/* The file's next item into its key offset, its bytes after the
 * generation (valid until the next call) and their length: 1, 0 at the
 * end, or -errno. */
static int items_next(int fd, struct items *it, uint64_t *ret_off, const uint8_t **ret_body,
		      uint32_t *ret_len)
{
	for (;;) {
		struct btrfs_ioctl_search_header h;
		size_t body;

		if (it->left == 0) {
			if (it->done)
				return 0;
			memset(it->a, 0, sizeof(*it->a));
			it->a->key.tree_id = 0;	/* the file's own subvolume */
			it->a->key.min_objectid = it->a->key.max_objectid = it->ino;
			it->a->key.min_type = it->a->key.max_type = BTRFS_EXTENT_DATA_KEY;
			it->a->key.min_offset = it->next;
			it->a->key.max_offset = UINT64_MAX;
			it->a->key.max_transid = UINT64_MAX;
			it->a->key.nr_items = UINT32_MAX;
			it->a->buf_size = SEARCH_BUF;
			if (ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, it->a) < 0)
				return -errno;
			it->left = it->a->key.nr_items;
			it->at = 0;
			if (it->left == 0) {
				it->done = true;
				return 0;
			}
		}
		if (it->at + sizeof(h) > SEARCH_BUF)
			return -EIO;
		memcpy(&h, it->a->buf + it->at, sizeof(h));
		it->at += sizeof(h);
		if (h.len > SEARCH_BUF - it->at || h.len < ITEM_GEN)
			return -EIO;
		body = it->at + ITEM_GEN;
		it->at += h.len;
		it->left--;
		/* (each search starts after the last key: it ends) */
		if (h.offset == UINT64_MAX) {
			it->done = true;
			it->left = 0;
		} else {
			it->next = h.offset + 1;
		}
		if (h.objectid != it->ino || h.type != BTRFS_EXTENT_DATA_KEY)
			continue;
		*ret_off = h.offset;
		*ret_body = (const uint8_t *)it->a->buf + body;
		*ret_len = h.len - ITEM_GEN;
		return 1;
	}
}

static enum verdict by_items(int a, int b)
{
	/* (not zeroed: items_next sets the key, the kernel fills the rest;
	 * this runs for every file of a snapshot) */
	_cleanup_free_ struct btrfs_ioctl_search_args_v2 *sa =
		lb_realloc_array(NULL, 1, sizeof(*sa) + SEARCH_BUF);
	_cleanup_free_ struct btrfs_ioctl_search_args_v2 *sb =
		lb_realloc_array(NULL, 1, sizeof(*sb) + SEARCH_BUF);
	struct items x = { .a = sa }, y = { .a = sb };
	struct stat st;

	if (fstat(a, &st) < 0)
		return READ_THEM;
	x.ino = st.st_ino;
	if (fstat(b, &st) < 0)
		return READ_THEM;
	y.ino = st.st_ino;
	for (;;) {
		uint64_t ox = 0, oy = 0;
		const uint8_t *bx = NULL, *by = NULL;
		uint32_t lx = 0, ly = 0;
		int rx = items_next(a, &x, &ox, &bx, &lx), ry = items_next(b, &y, &oy, &by, &ly);

		if (rx < 0 || ry < 0)
			return READ_THEM;
		if (rx != ry)
			return DIFFERENT;
		if (rx == 0)
			return SAME;
		if (ox != oy || lx != ly || memcmp(bx, by, lx) != 0)
			return DIFFERENT;
	}
}

/* ---- any filesystem: FIEMAP --------------------------------------------- */

static struct fiemap *map_new(void)
{
	return lb_zalloc(sizeof(struct fiemap) + SAME_BATCH * sizeof(struct fiemap_extent));
}

/* The next batch of fd's extents from start: their number, < 0 on error. */
static int map_next(int fd, struct fiemap *fm, uint64_t start, uint64_t size)
{
	memset(fm, 0, sizeof(*fm));
	fm->fm_start = start;
	fm->fm_length = size - start;
	fm->fm_extent_count = SAME_BATCH;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
		return -errno;
	return (int)fm->fm_mapped_extents;
}

static bool extent_same(const struct fiemap_extent *x, const struct fiemap_extent *y)
{
	return x->fe_logical == y->fe_logical && x->fe_physical == y->fe_physical &&
	       x->fe_length == y->fe_length &&
	       (x->fe_flags & ~(uint32_t)IGNORED) == (y->fe_flags & ~(uint32_t)IGNORED);
}

/* Both files' extent lists, side by side. */
static enum verdict by_extents(int a, int b, uint64_t size)
{
	_cleanup_free_ struct fiemap *fa = map_new();
	_cleanup_free_ struct fiemap *fb = map_new();
	uint64_t at = 0;

	while (at < size) {
		int na = map_next(a, fa, at, size), nb = map_next(b, fb, at, size);
		const struct fiemap_extent *last;

		if (na < 0 || nb < 0)
			return READ_THEM;
		if (na != nb)
			return DIFFERENT;
		if (na == 0)
			return SAME;	/* (holes alike to the end) */
		for (int i = 0; i < na; i++) {
			if (fa->fm_extents[i].fe_flags & INEXACT ||
			    fb->fm_extents[i].fe_flags & INEXACT)
				return READ_THEM;
			if (!extent_same(&fa->fm_extents[i], &fb->fm_extents[i]))
				return DIFFERENT;
		}
		last = &fa->fm_extents[na - 1];
		if ((last->fe_flags ^ fb->fm_extents[na - 1].fe_flags) & FIEMAP_EXTENT_LAST)
			return DIFFERENT;
		if (last->fe_flags & FIEMAP_EXTENT_LAST)
			return SAME;
		if (last->fe_logical + last->fe_length <= at)
			return READ_THEM;	/* (no progress: not to be trusted) */
		at = last->fe_logical + last->fe_length;
	}
	return SAME;
}

static bool by_bytes(int a, int b, uint64_t size)
{
	_cleanup_free_ uint8_t *x = lb_realloc_array(NULL, 1, SAME_READ);
	_cleanup_free_ uint8_t *y = lb_realloc_array(NULL, 1, SAME_READ);

	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < SAME_READ ? (size_t)(size - off) : SAME_READ;

		if (lb_pread_all(a, x, n, off) < 0 || lb_pread_all(b, y, n, off) < 0 ||
		    memcmp(x, y, n) != 0)
			return false;
		off += n;
	}
	return true;
}

/* (DIFFERENT read too when told: the extents prove only sameness) */
static bool same(int a, int b, uint64_t size, bool read_different)
{
	enum verdict v = by_items(a, b);

	if (v == READ_THEM)
		v = by_extents(a, b, size);
	switch (v) {
	case SAME:
		return true;
	case DIFFERENT:
		if (!read_different)
			return false;
		/* fall through */
	default:
		return by_bytes(a, b, size);
	}
}

bool lb_same_data(int a, int b, uint64_t size)
{
	return same(a, b, size, false);
}

bool lb_same_bytes(int a, int b, uint64_t size)
{
	return same(a, b, size, true);
}
