// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A file's allocation: which ranges hold data, which are preallocated
 * (allocated, unwritten: they read as zeros) and which are holes, so an
 * archive can carry the data and a restore can make the same file again:
 * a dense file with runs of zeros dense, a fallocated one allocated, a
 * sparse one sparse.
 *
 * SEEK_DATA/SEEK_HOLE alone cannot tell a preallocated range from a hole:
 * on ext4, xfs and btrfs an unwritten extent is a hole to SEEK_DATA, or
 * data while pages of it sit in the page cache (after a read; the capture's
 * own read-ahead does that). FIEMAP tells them apart, and with
 * FIEMAP_FLAG_SYNC the file is written out first, so data still in the page
 * cache has its extents (written, not unwritten) by the time they are
 * listed. A filesystem without FIEMAP gets the SEEK_DATA map (no
 * preallocated ranges); one without either, one range of data.
 *
 * What FIEMAP calls a hole or unwritten is checked against SEEK_DATA before
 * it is believed: a part SEEK_DATA reports as data (pages in the page
 * cache) is read, and whatever of it is not zeros is data (written while
 * the capture ran). Nothing that holds data is taken for a hole or a
 * preallocated range.
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

#define FIEMAP_BATCH 256		/* extents asked for at a time */
#define ZERO_CHECK (64u << 10)		/* read at a time to look for data */

void lb_filemap_add(struct lb_filemap *m, uint64_t off, uint64_t len, enum lb_alloc kind)
{
	struct lb_alloc_range *last = m->n ? &m->r[m->n - 1] : NULL;

	if (len == 0 || kind == LB_ALLOC_HOLE)
		return;
	if (last && last->kind == kind && last->off + last->len == off) {
		last->len += len;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->r = lb_realloc_array(m->r, m->cap, sizeof(*m->r));
	}
	m->r[m->n++] = (struct lb_alloc_range){ .off = off, .len = len, .kind = kind };
}

/* The extents within [0, size), from FIEMAP. -EOPNOTSUPP when the
 * filesystem has no FIEMAP. */
static int map_fiemap(int fd, uint64_t size, struct lb_filemap *m)
{
	_cleanup_free_ struct fiemap *fm =
		lb_zalloc(sizeof(*fm) + FIEMAP_BATCH * sizeof(struct fiemap_extent));
	uint64_t at = 0;	/* mapped up to here */
	bool first = true;

	while (at < size) {
		uint64_t was = at;
		bool last = false;

		memset(fm, 0, sizeof(*fm));
		fm->fm_start = at;
		fm->fm_length = size - at;
		/* written out once, before the first look */
		fm->fm_flags = first ? FIEMAP_FLAG_SYNC : 0;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
			if (first && (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL ||
				      errno == EBADR))
				return -EOPNOTSUPP;
			return lb_err(-errno, "cannot list its extents: %s", strerror(errno));
		}
		first = false;
		if (fm->fm_mapped_extents == 0)
			break;
		for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *fe = &fm->fm_extents[i];
			uint64_t lo = fe->fe_logical > at ? fe->fe_logical : at;
			uint64_t end = fe->fe_logical + fe->fe_length;
			uint64_t hi = end < size ? end : size;

			/* unwritten: allocated, reads as zeros; anything
			 * else (inline, encoded, delayed, unknown) is data */
			if (hi > lo)
				lb_filemap_add(m, lo, hi - lo,
				    fe->fe_flags & FIEMAP_EXTENT_UNWRITTEN ? LB_ALLOC_UNWRITTEN
									   : LB_ALLOC_DATA);
			if (end > at)
				at = end;
			if (fe->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
		/* (an answer that maps nothing new would be asked for again
		 * and again: what is left counts as holes, which settle()
		 * looks into) */
		if (last || at == was)
			break;
	}
	return 0;
}

/* The next data at or after off, before end: end when there is none. */
static int seek_data(int fd, uint64_t off, uint64_t end, uint64_t *ret)
{
	off_t r = lseek(fd, (off_t)off, SEEK_DATA);

	if (r < 0 && errno == ENXIO)
		r = (off_t)end;
	else if (r < 0)
		return -errno;
	*ret = (uint64_t)r < end ? (uint64_t)r : end;
	return 0;
}

/* The next hole at or after off (in data), before end: end when there is
 * none. */
static int seek_hole(int fd, uint64_t off, uint64_t end, uint64_t *ret)
{
	off_t r = lseek(fd, (off_t)off, SEEK_HOLE);

	if (r < 0 && errno == ENXIO)
		r = (off_t)end;
	else if (r < 0)
		return -errno;
	*ret = (uint64_t)r < end ? (uint64_t)r : end;
	return 0;
}

/* The data within [0, size), from SEEK_DATA/SEEK_HOLE; all of it when the
 * filesystem cannot say. */
static int map_seek(int fd, uint64_t size, struct lb_filemap *m)
{
	uint64_t off = 0, data = 0, hole = 0;
	int r;

	while (off < size) {
		r = seek_data(fd, off, size, &data);
		if (r == -EINVAL && off == 0) {
			lb_filemap_add(m, 0, size, LB_ALLOC_DATA);
			return 0;
		}
		if (r == 0 && data < size)
			r = seek_hole(fd, data, size, &hole);
		if (r < 0)
			return lb_err(r, "cannot find its holes: %s", strerror(-r));
		if (data >= size)
			break;
		/* (no progress would be a filesystem bug: the rest is data) */
		if (hole <= data)
			hole = size;
		lb_filemap_add(m, data, hole - data, LB_ALLOC_DATA);
		off = hole;
	}
	return 0;
}

/* [off, off + len) of a hole or an unwritten range (kind), where SEEK_DATA
 * says there is data (pages in the page cache): zeros keep their kind
 * (pages read ahead, or read, stay what they were), anything else is data
 * (written since the file was mapped). */
static int settle_cached(int fd, uint64_t off, uint64_t len, enum lb_alloc kind, uint8_t **buf,
			 struct lb_filemap *m)
{
	if (!*buf)
		*buf = lb_zalloc(ZERO_CHECK);
	while (len) {
		size_t n = len > ZERO_CHECK ? ZERO_CHECK : (size_t)len;
		ssize_t got = pread(fd, *buf, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return lb_err(-errno, "cannot read it: %s", strerror(errno));
		/* (shrunk: what is gone is nobody's data) */
		if (got == 0) {
			lb_filemap_add(m, off, len, kind);
			return 0;
		}
		lb_filemap_add(m, off, (uint64_t)got,
			       lb_is_zero(*buf, (size_t)got) ? kind : LB_ALLOC_DATA);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/* FIEMAP's map (in) checked against SEEK_DATA, into out: in its holes and
 * unwritten ranges, what SEEK_DATA reports as data and is not zeros is
 * data. */
static int settle(int fd, uint64_t size, const struct lb_filemap *in, struct lb_filemap *out)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t off = 0;
	size_t i = 0;
	int r = 0;

	while (r >= 0 && off < size) {
		enum lb_alloc kind = LB_ALLOC_HOLE;
		uint64_t end = i < in->n ? in->r[i].off : size;

		if (i < in->n && in->r[i].off <= off) {
			kind = in->r[i].kind;
			end = in->r[i].off + in->r[i].len;
			i++;
		}
		if (kind == LB_ALLOC_DATA) {
			lb_filemap_add(out, off, end - off, kind);
			off = end;
			continue;
		}
		while (r >= 0 && off < end) {
			uint64_t data = off, hole = end;

			r = seek_data(fd, off, end, &data);
			if (r == 0 && data < end)
				r = seek_hole(fd, data, end, &hole);
			if (r < 0) {
				/* (no SEEK_DATA: every byte looked at) */
				data = off;
				hole = end;
				r = 0;
			}
			lb_filemap_add(out, off, data - off, kind);
			if (data >= end)
				break;
			if (hole <= data)
				hole = end;
			r = settle_cached(fd, data, hole - data, kind, &buf, out);
			off = hole;
		}
		off = end;
	}
	return r;
}

int lb_filemap_read(int fd, uint64_t size, struct lb_filemap *ret)
{
	struct lb_filemap raw = { 0 };
	int r;

	*ret = (struct lb_filemap){ 0 };
	if (size == 0)
		return 0;
	r = map_fiemap(fd, size, &raw);
	if (r == -EOPNOTSUPP) {
		lb_filemap_clear(&raw);
		return map_seek(fd, size, ret);
	}
	if (r == 0)
		r = settle(fd, size, &raw, ret);
	lb_filemap_clear(&raw);
	if (r < 0)
		lb_filemap_clear(ret);
	return r;
}

bool lb_filemap_dense(const struct lb_filemap *m, uint64_t size)
{
	return size == 0 ||
	       (m->n == 1 && m->r[0].kind == LB_ALLOC_DATA && m->r[0].off == 0 && m->r[0].len == size);
}

void lb_filemap_clear(struct lb_filemap *m)
{
	free(m->r);
	m->r = NULL;
	m->n = m->cap = 0;
}
