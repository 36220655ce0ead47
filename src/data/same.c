// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Whether two regular files hold the same bytes, cheaply where the
 * filesystem shares them: a btrfs snapshot and its parent share the
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
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
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
	_cleanup_free_ uint8_t *x = lb_zalloc(SAME_READ);
	_cleanup_free_ uint8_t *y = lb_zalloc(SAME_READ);

	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < SAME_READ ? (size_t)(size - off) : SAME_READ;

		if (lb_pread_all(a, x, n, off) < 0 || lb_pread_all(b, y, n, off) < 0 ||
		    memcmp(x, y, n) != 0)
			return false;
		off += n;
	}
	return true;
}

bool lb_same_data(int a, int b, uint64_t size)
{
	switch (by_extents(a, b, size)) {
	case SAME:
		return true;
	case DIFFERENT:
		return false;
	default:
		return by_bytes(a, b, size);
	}
}
