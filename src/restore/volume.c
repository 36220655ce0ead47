// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A volume's steps: format (wipe the signatures in its range, zero and
 * check it all unless --quick-format, make the filesystem with its
 * identity), write-image (the same wipe, then its captured image) and
 * extract (mount the new filesystem, extract its captured archive).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "data/data.h"
#include "restore/internal.h"

/* A partition and its disk have page caches of their own: what mkfs wrote
 * through one must be on the disk, and not shadowed by stale pages of the
 * other, before anything reads it back. */
int lb_run_flush_device(const char *node)
{
	int fd = open(node, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return lb_err(-errno, "%s: %s", node, strerror(errno));
	if (fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", node, strerror(errno));
	ioctl(fd, BLKFLSBUF, 0);
	close(fd);
	return r;
}

/* A volume of the stack: on the node this restore made (its size the
 * device's own: an LV or array is what the tools made it). */
static int stack_node(const struct lb_run *run, const struct lb_plan_volume *pv, char **ret,
		      uint64_t *ret_size)
{
	const char *node = lb_run_dev_node(run, pv->vol->id);
	int fd;

	if (!node)
		return lb_err(-ENODEV, "%s: %s was not made by this restore", pv->vol->id, pv->node->id);
	fd = open(node, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, ret_size) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return lb_err(-e, "%s: %s: %s", pv->vol->id, node, strerror(e));
	}
	close(fd);
	*ret = lb_strdup(node);
	return 0;
}

/* The device node a volume lives on, and its size in bytes. */
static int volume_node(const struct lb_run *run, const struct lb_plan_volume *pv, char **ret,
		       uint64_t *ret_size)
{
	const struct lb_target *t = pv->pd->target;
	int r;

	if (pv->node)
		return stack_node(run, pv, ret, ret_size);
	if (pv->part) {
		r = lb_partition_node(t->sysname, pv->part->number, ret);
		if (r < 0)
			return lb_err(r, "%s: no device node for partition %u of %s", pv->vol->id,
				      pv->part->number, t->path);
		*ret_size = pv->part->size * pv->pd->disk->sector_size;
	} else {
		*ret = lb_strdup(t->path);
		*ret_size = pv->pd->disk->size * pv->pd->disk->sector_size;
	}
	return 0;
}

/* A thin volume: writing zeros would allocate every block of it in its
 * pool (which often holds less than its volumes' sizes); discarding gives
 * them back, and the volume then reads as zero without taking room. */
static bool on_thin(const struct lb_run *run, const struct lb_plan_volume *pv)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(run->p->m, pv->vol->id);

	return ref.kind == LB_DEV_LV && strcmp(ref.lv->segtype, "thin") == 0;
}

static int zero_volume(int fd, uint64_t size, bool thin)
{
	uint64_t range[2] = { 0, size };

	if (!thin)
		return lb_zero_range(fd, 0, size, false);
	if (ioctl(fd, BLKDISCARD, range) == 0)
		return 0;
	/* a pool set to ignore discards: zeros, whatever room they take */
	if (errno == EOPNOTSUPP)
		return lb_zero_range(fd, 0, size, false);
	return lb_err(-errno, "cannot discard a thin volume: %s", strerror(errno));
}

/* Wipes old signatures in a volume's range (and zeroes it all with a full
 * format) before anything is made there. Returns an open, exclusive fd. */
static int prepare_volume(const struct lb_plan_volume *pv, const char *node, uint64_t size,
			  struct lb_run *run)
{
	int fd = open(node, O_RDWR | O_CLOEXEC | O_EXCL);
	int r;

	if (fd < 0)
		return lb_err(-errno, "%s: cannot open %s exclusively: %s", pv->vol->id, node,
			      strerror(errno));
	r = lb_wipe_signatures(fd, 0, size, pv->pd->disk->sector_size);
	if (r >= 0 && !run->o->quick) {
		bool thin = on_thin(run, pv);

		lb_run_say(run, "%s: %s and checking %s (%" PRIu64 " MiB)", pv->vol->id,
			   thin ? "discarding (a thin volume)" : "zeroing", node, size >> 20);
		r = zero_volume(fd, size, thin);
		if (r >= 0 && fsync(fd) < 0)
			r = lb_err(-errno, "cannot sync: %s", strerror(errno));
		if (r >= 0)
			r = lb_verify_zero(node, 0, size);
	}
	if (r < 0) {
		close(fd);
		return lb_err(r, "%s on %s: %s", pv->vol->id, node, lb_errmsg());
	}
	return fd;
}

static int open_data(const struct lb_manifest *m, const struct lb_volume *v)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", m->rt_dir, v->data->file);

	return lb_open_artifact(path);
}

int lb_run_write_image(struct lb_run *run, struct lb_plan_volume *pv)
{
	const struct lb_volume *v = pv->vol;
	_cleanup_free_ char *node = NULL;
	struct lb_progress pr;
	uint64_t size;
	int fd, dfd, r;

	r = volume_node(run, pv, &node, &size);
	if (r < 0)
		return r;
	fd = prepare_volume(pv, node, size, run);
	if (fd < 0)
		return fd;
	dfd = open_data(run->p->m, v);
	if (dfd < 0) {
		close(fd);
		return dfd;
	}
	lb_run_say(run, "%s: writing its image onto %s (%s)", v->id, node, lb_esc(v->data->file));
	/* what went through the page cache so far (wiped signatures, zeros)
	 * must be on the device and gone from the cache before O_DIRECT writes
	 * the same blocks, or a late writeback would undo them */
	r = fsync(fd) < 0 ? lb_err(-errno, "%s: cannot sync: %s", node, strerror(errno)) : 0;
	if (r >= 0) {
		int direct = -1;

		ioctl(fd, BLKFLSBUF, 0);
		if (!getenv("LIFEBOAT_NO_DIRECT"))
			direct = open(node, O_WRONLY | O_CLOEXEC | O_DIRECT);
		lb_progress_begin(&pr, v->id, lb_data_raw_total(dfd));
		r = lb_image_restore_direct(dfd, v->id, v->data, fd, direct, size, lb_progress_update, &pr);
		lb_progress_end(&pr);
		if (direct >= 0)
			close(direct);
		if (r < 0) {
			/* part of an image is no filesystem: nothing may mount it
			 * (a run with a sound capture makes it again) */
			_cleanup_free_ char *why = lb_asprintf("writing %s: %s", node, lb_errmsg());

			/* (the first sync may only report the write error again:
			 * the wipe and its own sync are what count) */
			if (fsync(fd) < 0)
				lb_debug("restore", "%s: sync after the failure: %s", node, strerror(errno));
			ioctl(fd, BLKFLSBUF, 0);
			if (lb_wipe_signatures(fd, 0, size, pv->pd->disk->sector_size) >= 0 && fsync(fd) >= 0)
				r = lb_err(r, "%s (the part written is wiped of its signatures)", why);
			else
				r = lb_err(r, "%s (the part written holds half a filesystem: wipe it with "
					      "wipefs -a)",
					   why);
		}
	}
	close(dfd);
	close(fd);
	if (r < 0)
		return r;
	lb_run_say(run, "%s: image written, %.1f MiB in %.1f s", v->id, (double)pr.bytes / 1048576.0,
	    lb_progress_seconds(&pr));
	r = lb_run_flush_device(node);
	/* a drill's btrfs: the fsid the drill gave it (drill.c), before anything
	 * scans the device */
	if (r >= 0 && run->o->drill && v->uuid && strcmp(v->type, "btrfs") == 0) {
		r = lb_btrfs_set_fsid(node, v->uuid);
		if (r >= 0)
			r = lb_run_flush_device(node);
	}
	return r;
}

int lb_run_extract(struct lb_run *run, struct lb_plan_volume *pv)
{
	const struct lb_volume *v = pv->vol;
	_cleanup_free_ char *node = NULL;
	char *mnt = NULL;
	struct lb_run_subvols *subvols = NULL;
	struct lb_progress pr;
	uint64_t size;
	int dfd, r;

	r = volume_node(run, pv, &node, &size);
	if (r < 0)
		return r;
	/* a btrfs's subvolumes first, in its top level (btrfs-subvols.c) */
	if (v->subvols && strcmp(v->type, "btrfs") == 0)
		r = lb_run_subvols_begin(run, v, node, &subvols);
	else
		r = lb_mount_tmp(node, v->type, false, &mnt);
	if (r < 0)
		return lb_err(r, "%s: to extract its files: %s", v->id, lb_errmsg());
	dfd = open_data(run->p->m, v);
	if (dfd >= 0) {
		lb_run_say(run, "%s: extracting its files onto %s (%s)", v->id, node,
			   lb_esc(v->data->file));
		lb_progress_begin(&pr, v->id, lb_data_raw_total(dfd));
		r = lb_archive_extract(dfd, v->id, v->data,
				       subvols ? lb_run_subvols_root(subvols) : mnt,
				       lb_progress_update, &pr);
		lb_progress_end(&pr);
		close(dfd);
		if (r >= 0)
			lb_run_say(run, "%s: files extracted, %.1f MiB of archive in %.1f s", v->id,
			    (double)pr.bytes / 1048576.0, lb_progress_seconds(&pr));
		if (r >= 0 && subvols)
			lb_run_subvols_filled(subvols);
	} else {
		r = dfd;
	}
	if (subvols)
		r = lb_run_subvols_end(run, subvols, r);
	else if (lb_umount_tmp(mnt) < 0 && r >= 0)
		r = lb_err(-EBUSY, "%s: %s", v->id, lb_errmsg());
	if (r >= 0)
		r = lb_run_flush_device(node);
	return r;
}

/* The node of pv, opened exclusively, its signatures wiped (and, for a
 * full format, discarded or zeroed), then closed: ready for mkfs. */
static int ready_node(struct lb_run *run, const struct lb_plan_volume *pv, char **ret_node)
{
	_cleanup_free_ char *node = NULL;
	uint64_t size;
	int fd, r;

	r = volume_node(run, pv, &node, &size);
	if (r < 0)
		return r;
	fd = prepare_volume(pv, node, size, run);
	if (fd < 0)
		return fd;
	r = 0;
	if (fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", node, strerror(errno));
	close(fd);
	if (r < 0)
		return lb_err(r, "%s on %s: %s", pv->vol->id, node, lb_errmsg());
	*ret_node = TAKE_PTR(node);
	return 0;
}

/* The argv making pv: over every device of a btrfs over several (each
 * readied, in devid order: *ret_nodes, to free with lb_argv_free), else
 * over its own node (*ret_nodes NULL). */
static int mkfs_argv(struct lb_run *run, const struct lb_plan_volume *pv, const char *node,
		     char ***ret, char ***ret_nodes)
{
	const struct lb_fs_ops *ops = lb_fs_ops_find(pv->vol->type);
	size_t n = pv->n_btrfs_devs;
	char **nodes;
	int r = 0;

	*ret_nodes = NULL;
	if (!n) {
		*ret = ops->mkfs_argv(pv->vol, node, run->o->quick);
		return 0;
	}
	nodes = lb_zalloc((n + 1) * sizeof(*nodes));
	for (size_t i = 0; i < n && r >= 0; i++)
		if (pv->btrfs_devs[i] == pv)
			nodes[i] = lb_strdup(node);
		else
			r = ready_node(run, pv->btrfs_devs[i], &nodes[i]);
	if (r < 0) {
		lb_argv_free(nodes);
		return r;
	}
	*ret = lb_btrfs_mkfs_argv(pv->vol, (const char *const *)nodes, n, run->o->quick);
	*ret_nodes = nodes;
	return 0;
}

static void argv_freep(char ***p)
{
	lb_argv_free(*p);
}

/* Each device's UUID of a btrfs over several, as recorded. */
static int btrfs_dev_uuids(const struct lb_plan_volume *pv, char **nodes)
{
	_cleanup_free_ const struct lb_volume **vols = lb_zalloc(pv->n_btrfs_devs * sizeof(*vols));

	for (size_t i = 0; i < pv->n_btrfs_devs; i++)
		vols[i] = pv->btrfs_devs[i]->vol;
	return lb_btrfs_set_dev_uuids((const char *const *)nodes, vols, pv->n_btrfs_devs);
}

/* A btrfs made with no files to extract (restore --no-data): its recorded
 * subvolumes made all the same, empty, with their IDs, paths, read-only
 * flags and default (btrfs-subvols.c). Over several devices, whichever
 * device's volume records them. */
static int empty_subvols(struct lb_run *run, const struct lb_plan_volume *pv, const char *node)
{
	const struct lb_volume *v = pv->vol->subvols ? pv->vol : NULL;
	struct lb_run_subvols *rs = NULL;
	int r;

	if (strcmp(pv->vol->type, "btrfs") != 0 || pv->extract)
		return 0;
	for (size_t i = 0; i < pv->n_btrfs_devs; i++) {
		if (pv->btrfs_devs[i]->extract)
			return 0;
		if (!v && pv->btrfs_devs[i]->vol->subvols)
			v = pv->btrfs_devs[i]->vol;
	}
	if (!v || !v->subvols->n)
		return 0;
	r = lb_run_subvols_begin(run, v, node, &rs);
	if (r >= 0)
		r = lb_run_subvols_end(run, rs, r);
	return r;
}

int lb_run_format(struct lb_run *run, struct lb_plan_volume *pv)
{
	const struct lb_volume *v = pv->vol;
	const struct lb_fs_ops *ops = lb_fs_ops_find(v->type);
	_cleanup_free_ char *node = NULL;
	_cleanup_(argv_freep) char **nodes = NULL;
	char **argv = NULL;
	int r;

	if (!ops)
		return lb_err(-EOPNOTSUPP, "%s: lifeboat cannot make %s volumes", v->id, v->type);
	if (pv->btrfs_maker) {
		/* one device of a btrfs over several, made by its maker's step */
		lb_run_say(run, "%s: made with %s's btrfs", v->id, pv->btrfs_maker->vol->id);
		return 0;
	}
	r = ready_node(run, pv, &node);
	if (r < 0)
		return r;

	/* a label is the capture's bytes: escaped, never raw on a terminal */
	lb_run_say(run, "%s: making %s on %s%s%s%s%s", v->id, v->type, node,
		   pv->n_btrfs_devs ? " and its other devices" : "", v->label ? " (label " : "",
		   v->label ? lb_esc(v->label) : "", v->label ? ")" : "");
	r = mkfs_argv(run, pv, node, &argv, &nodes);
	if (r < 0)
		return r;
	r = lb_run(argv, false);
	lb_argv_free(argv);
	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "%s: %s failed on %s%s", v->id, ops->program, node,
			      r > 0 ? " (its messages are above)" : "");
	if (nodes) {
		r = btrfs_dev_uuids(pv, nodes);
		if (r < 0)
			return lb_err(r, "%s: %s", v->id, lb_errmsg());
	}
	if (ops->fixup) {
		r = ops->fixup(v, node);
		if (r < 0)
			return r;
	}
	r = empty_subvols(run, pv, node);
	if (r < 0)
		return r;
	return lb_run_flush_device(node);
}

