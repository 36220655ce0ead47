// SPDX-License-Identifier: GPL-3.0-or-later
/* Image data: a volume's used blocks (ext2/3/4, from its block bitmap via
 * libext2fs; a filesystem whose ops can tell them, as xfs's free-space
 * trees do) or the whole volume (anything else), into the data container;
 * and back onto a device, each chunk checked before it is written. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "data/data.h"
#include "data/datafile.h"

#define WHOLE_STEP (64u << 20)

/* Calls fn for every run of used blocks, in byte units of the volume. */
static int ext_used_runs(const char *dev, uint64_t offset, int (*fn)(void *, uint64_t, uint64_t),
			 void *ud, uint64_t *ret_used)
{
	_cleanup_free_ char *opts = lb_asprintf("offset=%" PRIu64, offset);
	ext2_filsys fs = NULL;
	errcode_t ec;
	blk64_t start, end, first, last;
	uint64_t bs, used = 0;
	int r = 0;

	ec = ext2fs_open2(dev, opts, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP, 0, 0, unix_io_manager, &fs);
	if (ec)
		return lb_err(-EIO, "%s: cannot open the ext filesystem: %s", dev, error_message(ec));
	ec = ext2fs_read_block_bitmap(fs);
	if (ec) {
		ext2fs_close_free(&fs);
		return lb_err(-EIO, "%s: cannot read the block bitmap: %s", dev, error_message(ec));
	}
	bs = fs->blocksize;
	first = fs->super->s_first_data_block;
	last = ext2fs_blocks_count(fs->super) - 1;
	/* the blocks before the first data block (the boot block of a 1 KiB
	 * filesystem) are not in the bitmap: always take them */
	if (first > 0) {
		if (fn)
			r = fn(ud, 0, first * bs);
		used += first * bs;
	}
	start = first;
	while (r >= 0 && start <= last) {
		if (ext2fs_find_first_set_block_bitmap2(fs->block_map, start, last, &start) != 0)
			break;
		if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, start, last, &end) != 0)
			end = last + 1;
		if (fn)
			r = fn(ud, start * bs, (end - start) * bs);
		used += (end - start) * bs;
		start = end;
	}
	ext2fs_close_free(&fs);
	if (ret_used)
		*ret_used = used;
	return r;
}

static int add_run(void *ud, uint64_t off, uint64_t len)
{
	return lb_dw_add_extent(ud, off, len);
}

/* Whether the filesystem's own map of its used blocks (v at offset of fd)
 * can be read: walked once without writing anything, so a map that turns
 * out bad midway never leaves half an image (the whole volume is imaged
 * then, with a warning). */
static bool fs_used_ok(const char *disk_path, int fd, const struct lb_volume *v, uint64_t offset,
		       bool warn, uint64_t *ret)
{
	const struct lb_fs_ops *ops = lb_fs_ops_find(v->type);
	uint64_t used = 0;

	if (!ops || !ops->used)
		return false;
	if (ops->used(disk_path, fd, offset, v->rt_size, NULL, NULL, &used) < 0) {
		if (warn)
			lb_warn("%s: %s: its used blocks cannot be read (%s): imaging all of it", v->id,
				v->type, lb_errmsg());
		return false;
	}
	if (ret)
		*ret = used;
	return true;
}

int lb_image_used_runs(const char *dev, const struct lb_volume *v,
		       int (*fn)(void *, uint64_t, uint64_t), void *ud)
{
	if (lb_type_is_ext(v->type))
		return ext_used_runs(dev, 0, fn, ud, NULL);
	if (lb_fs_ops_find(v->type) && lb_fs_ops_find(v->type)->used) {
		_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);

		if (fd >= 0 && fs_used_ok(dev, fd, v, 0, true, NULL))
			return lb_fs_ops_find(v->type)->used(dev, fd, 0, v->rt_size, fn, ud, NULL);
	}
	if (strcmp(v->type, "swap") == 0)
		return fn(ud, 0, v->swap && v->swap->page_size ? v->swap->page_size : 4096);
	return fn(ud, 0, v->rt_size);
}

int lb_image_used_bytes(const char *disk_path, const struct lb_volume *v, uint64_t *ret)
{
	_cleanup_close_ int fd = -1;

	if (lb_type_is_ext(v->type))
		return ext_used_runs(disk_path, v->rt_offset, NULL, NULL, ret);
	fd = open(disk_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fs_used_ok(disk_path, fd, v, v->rt_offset, false, ret))
		return 0;
	*ret = v->rt_size;
	return 0;
}

int lb_image_capture(const char *disk_path, int disk_fd, const struct lb_volume *v, int out_fd,
		     int level, const struct lb_key *key, const char *file, lb_progress_fn progress,
		     void *pud, char sha256[65], uint64_t *ret_size)
{
	uint32_t bs = v->ext ? v->ext->block_size : v->xfs ? v->xfs->block_size : 4096;
	struct lb_dw *w = NULL;
	int direct, r;

	r = lb_dw_open_key(out_fd, LB_CONTAINER_IMAGE, v->rt_size, bs, level, key, file, &w);
	if (r < 0)
		return r;
	/* the data is read once: straight from the device, not via the cache */
	direct = getenv("LIFEBOAT_NO_DIRECT") ? -1 : open(disk_path, O_RDONLY | O_CLOEXEC | O_DIRECT);
	lb_dw_set_device(w, disk_fd, direct, v->rt_offset, disk_path);
	lb_dw_set_progress(w, progress, pud);
	if (lb_type_is_ext(v->type)) {
		r = ext_used_runs(disk_path, v->rt_offset, add_run, w, NULL);
	} else if (fs_used_ok(disk_path, disk_fd, v, v->rt_offset, true, NULL)) {
		r = lb_fs_ops_find(v->type)->used(disk_path, disk_fd, v->rt_offset, v->rt_size, add_run,
						  w, NULL);
	} else {
		for (uint64_t off = 0; r >= 0 && off < v->rt_size; off += WHOLE_STEP)
			r = lb_dw_add_extent(w, off,
					     v->rt_size - off < WHOLE_STEP ? v->rt_size - off : WHOLE_STEP);
	}
	if (r < 0)
		lb_dw_abort(w);
	else
		r = lb_dw_close(w, sha256, ret_size);
	if (direct >= 0)
		close(direct);
	return r;
}

/* Writes one extent: straight to the device (O_DIRECT: no page cache to
 * fill and flush at the end, so writing overlaps reading and decompressing)
 * when it is aligned for that, through the page cache otherwise. */
static int write_extent(int dev_fd, int direct_fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	if (direct_fd >= 0 && off % 4096 == 0 && len % 4096 == 0 && (uintptr_t)p % 4096 == 0) {
		int r = lb_pwrite_all(direct_fd, p, (size_t)len, off);

		if (r != -EINVAL)
			return r;
	}
	return lb_pwrite_all(dev_fd, p, (size_t)len, off);
}

int lb_image_restore(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
		     uint64_t dev_size, lb_progress_fn progress, void *pud)
{
	return lb_image_restore_direct(data_fd, name, a, dev_fd, -1, dev_size, progress, pud);
}

struct sink_ctx {
	const char *name;
	int dev_fd, direct_fd;
	uint64_t base;		/* the volume's first byte on the device */
};

/* On a worker thread: one checked chunk onto the device. */
static int write_chunk(void *ud, const struct lb_chunk *ch)
{
	const struct sink_ctx *c = ud;
	const uint8_t *p = ch->data;

	for (uint32_t i = 0; i < ch->n_ext; i++) {
		int w = write_extent(c->dev_fd, c->direct_fd, p, ch->ext[i].len,
				     c->base + ch->ext[i].off);

		if (w < 0)
			return lb_err(w, "cannot write at byte %" PRIu64 ": %s", c->base + ch->ext[i].off,
				      strerror(-w));
		p += ch->ext[i].len;
	}
	return 0;
}

int lb_image_restore_direct(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
			    int direct_fd, uint64_t dev_size, lb_progress_fn progress, void *pud)
{
	return lb_image_restore_at(data_fd, name, a, dev_fd, direct_fd, 0, dev_size, progress, pud);
}

int lb_image_restore_at(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
			int direct_fd, uint64_t base, uint64_t dev_size, lb_progress_fn progress,
			void *pud)
{
	struct sink_ctx sc = { .name = name, .dev_fd = dev_fd, .direct_fd = direct_fd, .base = base };
	struct lb_dr *r = NULL;
	struct lb_chunk ch;
	char sum[65];
	uint64_t done = 0;
	int e;

	e = lb_dr_open_artifact(data_fd, name, a, &r);
	if (e < 0)
		return e;
	if (lb_dr_kind(r) != LB_CONTAINER_IMAGE) {
		lb_dr_close(r);
		return lb_err(-EBADMSG, "%s: the data file is not an image", name);
	}
	if (lb_dr_volume_size(r) > dev_size) {
		e = lb_err(-ENOSPC, "%s: the image needs %" PRIu64 " bytes, the target has %" PRIu64, name,
			   lb_dr_volume_size(r), dev_size);
		lb_dr_close(r);
		return e;
	}
	/* the workers write each chunk as soon as it is checked; this thread
	 * reads the file and counts */
	lb_dr_set_sink(r, write_chunk, &sc);
	while ((e = lb_dr_next(r, &ch)) > 0) {
		done += ch.len;
		if (progress)
			progress(pud, done);
	}
	if (e == 0) {
		lb_dr_finish(r, sum);
		if (a && strcmp(sum, a->sha256) != 0)
			e = lb_err(-EBADMSG, "%s: the data file does not match its SHA-256 in the manifest",
				   name);
	}
	lb_dr_close(r);
	if (e >= 0 && fsync(dev_fd) < 0)
		e = lb_err(-errno, "%s: cannot sync: %s", name, strerror(errno));
	if (e >= 0 && direct_fd >= 0 && fsync(direct_fd) < 0)
		e = lb_err(-errno, "%s: cannot sync: %s", name, strerror(errno));
	return e;
}
