// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Carrying out a checked plan: recreate each disk whose verdict is recreate
 * (write order in partwrite.c), format its volumes with their identities,
 * make any volume left blank on an intact disk (an interrupted run), put
 * back the data of the volumes on intact disks that get it (critical ones,
 * and those named), then write the restore-session marker into the
 * restored root filesystem.
 *
 * Everything is decided in plan.c; this file refuses to start on a plan
 * with problems, and checks again, right before opening each disk, that it
 * is not in use. Running it again after an interruption finishes the job:
 * a disk whose table was written is intact the next time, and its volumes
 * still blank are made.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "data/data.h"
#include "restore/restore.h"

/* For tests of an interrupted restore: LIFEBOAT_FAULT=POINT kills lifeboat
 * there, as a power cut or kill -9 would. */
static void fault_point(const char *point)
{
	const char *f = getenv("LIFEBOAT_FAULT");

	if (f && strcmp(f, point) == 0) {
		fprintf(stderr, "lifeboat: LIFEBOAT_FAULT=%s: killing myself here\n", point);
		sync();
		kill(getpid(), SIGKILL);
	}
}

static void say(const struct lb_restore_opts *o, const char *fmt, ...) _printf_(2, 3);
static void say(const struct lb_restore_opts *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("lifeboat: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (o->log) {
		_cleanup_free_ char *now = lb_utc_now();

		fprintf(o->log, "%s ", now);
		va_start(ap, fmt);
		vfprintf(o->log, fmt, ap);
		va_end(ap);
		fputc('\n', o->log);
		fflush(o->log);
	}
}

/* Reads an artifact and checks it against its SHA-256 before use. */
static int load_artifact(const struct lb_manifest *m, const struct lb_artifact *a, uint8_t **ret)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", m->rt_dir, a->file);
	char *buf = NULL;
	char sum[65];
	struct stat st;
	int n;

	if (lstat(path, &st) < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lb_err(-EPERM, "%s: %s: an artifact must be a plain file", path,
			      lb_file_kind(st.st_mode));
	n = lb_read_file(path, &buf, 64 << 20);
	if (n < 0)
		return lb_err(n, "%s: %s", path, strerror(-n));
	if ((uint64_t)n != a->size || lb_sha256_buf(buf, (size_t)n, sum) < 0 ||
	    strcmp(sum, a->sha256) != 0) {
		free(buf);
		return lb_err(-EBADMSG, "%s: does not match its SHA-256 in the manifest", path);
	}
	*ret = (uint8_t *)buf;
	return 0;
}

/* Writes an artifact at byte off of the disk, into an area of room bytes
 * (its recorded geometry): never past it, whatever the manifest says (it
 * was checked at load; this is the last line). */
static int write_artifact(const struct lb_manifest *m, const struct lb_artifact *a, int fd,
			  uint64_t off, uint64_t room, const char *dev)
{
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	if (a->size > room)
		return lb_err(-ERANGE, "%s: will not write %s: %" PRIu64 " bytes at byte %" PRIu64
				       " where %" PRIu64 " belong to it",
			      dev, a->file, a->size, off, room);
	r = load_artifact(m, a, &buf);
	if (r < 0)
		return r;
	r = lb_pwrite_all(fd, buf, (size_t)a->size, off);
	if (r < 0)
		return lb_err(r, "%s: cannot write %s at byte %" PRIu64 ": %s", dev, a->file, off,
			      strerror(-r));
	return 0;
}

static int check_not_in_use(const struct lb_target *t)
{
	struct lb_sysinfo *si = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	if (getenv("LIFEBOAT_MACHINE"))
		return lb_err(-EPERM, "LIFEBOAT_MACHINE is set: planning only, nothing is written");
	r = lb_sysinfo_load(&si);
	if (r < 0)
		return r;
	r = lb_disk_in_use(si, t->sysname, &why);
	lb_sysinfo_free(si);
	if (r < 0)
		return r;
	if (r > 0)
		return lb_err(-EBUSY, "%s: will not write a disk in use: %s", t->path, why);
	return 0;
}

/* A partition and its disk have page caches of their own: what mkfs wrote
 * through one must be on the disk, and not shadowed by stale pages of the
 * other, before anything reads it back. */
static int flush_device(const char *node)
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

/* The device node a volume lives on, and its size in bytes. */
static int volume_node(const struct lb_plan_volume *pv, char **ret, uint64_t *ret_size)
{
	const struct lb_target *t = pv->pd->target;
	int r;

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

/* Wipes old signatures in a volume's range (and zeroes it all with a full
 * format) before anything is made there. Returns an open, exclusive fd. */
static int prepare_volume(const struct lb_plan_volume *pv, const char *node, uint64_t size,
			  const struct lb_restore_opts *o)
{
	int fd = open(node, O_RDWR | O_CLOEXEC | O_EXCL);
	int r;

	if (fd < 0)
		return lb_err(-errno, "%s: cannot open %s exclusively: %s", pv->vol->id, node,
			      strerror(errno));
	r = lb_wipe_signatures(fd, 0, size, pv->pd->disk->sector_size);
	if (r >= 0 && !o->quick) {
		say(o, "%s: zeroing and checking %s (%" PRIu64 " MiB)", pv->vol->id, node, size >> 20);
		r = lb_zero_range(fd, 0, size, false);
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

static int image_volume(const struct lb_plan *p, const struct lb_plan_volume *pv,
			const struct lb_restore_opts *o)
{
	const struct lb_volume *v = pv->vol;
	_cleanup_free_ char *node = NULL;
	struct lb_progress pr;
	uint64_t size;
	int fd, dfd, r;

	r = volume_node(pv, &node, &size);
	if (r < 0)
		return r;
	fd = prepare_volume(pv, node, size, o);
	if (fd < 0)
		return fd;
	dfd = open_data(p->m, v);
	if (dfd < 0) {
		close(fd);
		return dfd;
	}
	say(o, "%s: writing its image onto %s (%s)", v->id, node, v->data->file);
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
			_cleanup_free_ char *why = lb_strdup(lb_errmsg());

			if (fsync(fd) >= 0 && ioctl(fd, BLKFLSBUF, 0) >= 0 &&
			    lb_wipe_signatures(fd, 0, size, pv->pd->disk->sector_size) >= 0 && fsync(fd) >= 0)
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
	say(o, "%s: image written, %.1f MiB in %.1f s", v->id, (double)pr.bytes / 1048576.0,
	    lb_progress_seconds(&pr));
	return flush_device(node);
}

static int extract_volume(const struct lb_plan *p, const struct lb_plan_volume *pv,
			  const struct lb_restore_opts *o)
{
	const struct lb_volume *v = pv->vol;
	_cleanup_free_ char *node = NULL;
	char *mnt = NULL;
	struct lb_progress pr;
	uint64_t size;
	int dfd, r;

	r = volume_node(pv, &node, &size);
	if (r < 0)
		return r;
	r = lb_mount_tmp(node, v->type, false, &mnt);
	if (r < 0)
		return lb_err(r, "%s: to extract its files: %s", v->id, lb_errmsg());
	dfd = open_data(p->m, v);
	if (dfd >= 0) {
		say(o, "%s: extracting its files onto %s (%s)", v->id, node, v->data->file);
		lb_progress_begin(&pr, v->id, lb_data_raw_total(dfd));
		r = lb_archive_extract(dfd, v->id, v->data, mnt, lb_progress_update, &pr);
		lb_progress_end(&pr);
		close(dfd);
		if (r >= 0)
			say(o, "%s: files extracted, %.1f MiB of archive in %.1f s", v->id,
			    (double)pr.bytes / 1048576.0, lb_progress_seconds(&pr));
	} else {
		r = dfd;
	}
	if (lb_umount_tmp(mnt) < 0 && r >= 0)
		r = lb_err(-EBUSY, "%s: %s", v->id, lb_errmsg());
	if (r >= 0)
		r = flush_device(node);
	return r;
}

static int format_volume(const struct lb_plan_volume *pv, const struct lb_restore_opts *o)
{
	const struct lb_volume *v = pv->vol;
	const struct lb_fs_ops *ops = lb_fs_ops_find(v->type);
	_cleanup_free_ char *node = NULL;
	char **argv;
	uint64_t size;
	int fd, r;

	if (!ops)
		return lb_err(-EOPNOTSUPP, "%s: lifeboat cannot make %s volumes", v->id, v->type);
	r = volume_node(pv, &node, &size);
	if (r < 0)
		return r;
	fd = prepare_volume(pv, node, size, o);
	if (fd < 0)
		return fd;
	r = 0;
	if (fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", node, strerror(errno));
	close(fd);
	if (r < 0)
		return lb_err(r, "%s on %s: %s", v->id, node, lb_errmsg());

	say(o, "%s: making %s on %s%s%s%s", v->id, v->type, node, v->label ? " (label " : "",
	    v->label ? v->label : "", v->label ? ")" : "");
	argv = ops->mkfs_argv(v, node, o->quick);
	r = lb_run(argv, false);
	lb_argv_free(argv);
	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "%s: %s failed on %s%s", v->id, ops->program, node,
			      r > 0 ? " (its messages are above)" : "");
	if (ops->fixup) {
		r = ops->fixup(v, node);
		if (r < 0)
			return r;
	}
	return flush_device(node);
}

static int recreate_disk(struct lb_plan *p, struct lb_plan_disk *pd, const struct lb_restore_opts *o)
{
	const struct lb_disk *d = pd->disk;
	const struct lb_target *t = pd->target;
	int fd, r;

	r = check_not_in_use(t);
	if (r < 0)
		return r;
	say(o, "%s -> %s: recreating (%s)", d->id, t->path, pd->why ? pd->why : "recreate");
	fd = open(t->path, O_RDWR | O_CLOEXEC | O_EXCL);
	if (fd < 0)
		return lb_err(-errno, "%s: cannot open exclusively: %s", t->path, strerror(errno));

	r = lb_wipe_signatures(fd, 0, t->state->size * t->state->sector_size, d->sector_size);
	if (r >= 0 && d->label != LB_LABEL_NONE)
		r = lb_table_write(d, t->path, fd);
	if (r >= 0)
		fault_point("after-table");
	if (r >= 0 && d->boot_code)
		r = write_artifact(p->m, d->boot_code, fd, 0, LB_BOOT_CODE_SIZE, t->path);
	if (r >= 0 && d->mbr_gap)
		r = write_artifact(p->m, d->mbr_gap, fd, d->sector_size, lb_disk_mbr_gap_room(d),
				   t->path);
	if (r >= 0 && fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", t->path, strerror(errno));
	if (r >= 0)
		r = lb_kernel_update_partitions(d, t->sysname, fd);
	for (size_t i = 0; r >= 0 && i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];

		if (pv->pd != pd || pv->action != LB_VOL_CONTENT)
			continue;
		say(o, "%s: writing its recorded contents (%s)", pv->vol->id, pv->part->content->file);
		r = write_artifact(p->m, pv->part->content, fd, pv->part->start * d->sector_size,
				   lb_partition_room(d, pv->part), t->path);
	}
	if (r >= 0 && fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", t->path, strerror(errno));
	close(fd);
	if (r < 0)
		return r;
	if (d->label != LB_LABEL_NONE)
		say(o, "%s -> %s: partition table written", d->id, t->path);
	return 0;
}

/* An intact disk whose boot code is blank: a restore stopped after the
 * table; the boot-code areas and blank BIOS boot contents are written now. */
static int finish_boot_code(struct lb_plan *p, struct lb_plan_disk *pd, const struct lb_restore_opts *o)
{
	const struct lb_disk *d = pd->disk;
	const struct lb_target *t = pd->target;
	int fd, r;

	r = check_not_in_use(t);
	if (r < 0)
		return r;
	say(o, "%s -> %s: intact, %s blank: writing %s (finishing an interrupted restore)", d->id,
	    t->path, pd->boot_code ? "boot code" : "BIOS boot partition", pd->boot_code ? "it" : "its contents");
	fd = open(t->path, O_RDWR | O_CLOEXEC | O_EXCL);
	if (fd < 0)
		return lb_err(-errno, "%s: cannot open exclusively: %s", t->path, strerror(errno));
	r = 0;
	if (pd->boot_code)
		r = write_artifact(p->m, d->boot_code, fd, 0, LB_BOOT_CODE_SIZE, t->path);
	if (r >= 0 && pd->boot_code && d->mbr_gap)
		r = write_artifact(p->m, d->mbr_gap, fd, d->sector_size, lb_disk_mbr_gap_room(d),
				   t->path);
	for (size_t i = 0; r >= 0 && i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];

		if (pv->pd == pd && pv->action == LB_VOL_CONTENT)
			r = write_artifact(p->m, pv->part->content, fd, pv->part->start * d->sector_size,
					   lb_partition_room(d, pv->part), t->path);
	}
	if (r >= 0 && fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", t->path, strerror(errno));
	close(fd);
	return r;
}

/* Mounts the restored root volume and writes the marker and the log in it. */
static int write_marker_in_root(struct lb_plan *p, const struct lb_restore_opts *o,
				const char *log_path, char **ret_instance)
{
	const struct lb_plan_volume *root = NULL;
	_cleanup_free_ char *node = NULL, *inst = NULL;
	char *tmpl = NULL;
	int rootfd, r;

	for (size_t i = 0; i < p->n_vols; i++)
		if (p->vols[i].vol->mountpoint && strcmp(p->vols[i].vol->mountpoint, "/") == 0 &&
		    (p->vols[i].action == LB_VOL_FORMAT || p->vols[i].action == LB_VOL_KEEP ||
		     p->vols[i].action == LB_VOL_IMAGE) &&
		    !(p->vols[i].result && strncmp(p->vols[i].result, "failed", 6) == 0))
			root = &p->vols[i];
	if (!root) {
		say(o, "no root volume among the restored ones and no --marker: no restore-session marker");
		return 0;
	}
	if (root->pd->target->in_use) {
		/* the root is this running system's: never mount it twice */
		say(o, "%s: the root volume is in use here (%s): no marker written; use --marker",
		    root->vol->id, root->pd->target->in_use);
		return 0;
	}
	if (root->part) {
		int fd = open(root->pd->target->path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			lb_kernel_ensure_partitions(root->pd->disk, root->pd->target->sysname, fd);
			close(fd);
		}
		r = lb_partition_node(root->pd->target->sysname, root->part->number, &node);
		if (r < 0)
			return lb_err(r, "%s: no device node to mount", root->vol->id);
	} else {
		node = lb_strdup(root->pd->target->path);
	}
	r = lb_mount_tmp(node, root->vol->type, false, &tmpl);
	if (r < 0)
		return lb_err(r, "the restored root, to write the marker: %s", lb_errmsg());
	/* what the restored root holds was made by the capture's data: every
	 * path is resolved inside it, never through a link out of it */
	rootfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = lb_err(-errno, "the restored root: %s", strerror(errno));
	} else {
		_cleanup_free_ char *xml = NULL;
		size_t len = 0;

		r = lb_marker_render(p, &xml, &len, &inst);
		if (r >= 0)
			r = lb_write_file_in_root(rootfd, "var/lib/lifeboat", "restore-session.xml", xml, len,
						  0644);
		if (r < 0 && xml)
			r = lb_err(r, "%s: /var/lib/lifeboat/restore-session.xml in the restored root: %s",
				   root->vol->id, strerror(-r));
		if (r >= 0 && ret_instance)
			*ret_instance = TAKE_PTR(inst);
	}
	if (r >= 0 && log_path) {
		_cleanup_free_ char *buf = NULL;
		int n = lb_read_file(log_path, &buf, 64 << 20);

		if (n >= 0)
			lb_write_file_in_root(rootfd, "var/log/lifeboat", strrchr(log_path, '/') + 1, buf,
					      (size_t)n, 0600);
	}
	if (rootfd >= 0)
		close(rootfd);
	if (lb_umount_tmp(tmpl) < 0 && r >= 0)
		r = lb_err(-EBUSY, "the restored root: %s", lb_errmsg());
	if (r >= 0)
		say(o, "%s: restore-session marker written (/var/lib/lifeboat/restore-session.xml)",
		    root->vol->id);
	return r;
}

int lb_restore_run(struct lb_plan *p, const struct lb_restore_opts *o, const char *log_path,
		   char **ret_instance)
{
	unsigned failed = 0;
	int r;

	if (p->n_problems)
		return lb_err(-EINVAL, "the plan has %zu problem%s; nothing written", p->n_problems,
			      p->n_problems == 1 ? "" : "s");
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];

		bool content = false;

		for (size_t j = 0; j < p->n_vols; j++)
			content |= p->vols[j].pd == pd && p->vols[j].action == LB_VOL_CONTENT;
		if (pd->verdict == LB_VERDICT_INTACT && (pd->boot_code || content)) {
			r = finish_boot_code(p, pd, o);
			if (r < 0) {
				say(o, "%s: FAILED: %s", pd->disk->id, lb_errmsg());
				return r;
			}
		} else if (pd->verdict == LB_VERDICT_INTACT) {
			size_t back = 0;

			for (size_t j = 0; j < p->n_vols; j++)
				back += p->vols[j].pd == pd && p->vols[j].rollback;
			if (back)
				say(o, "%s -> %s: intact: its partition table is left alone; data put "
				       "back on %zu volume%s",
				    pd->disk->id, pd->target->path, back, back == 1 ? "" : "s");
			else
				say(o, "%s -> %s: intact, left alone", pd->disk->id, pd->target->path);
		}
		else if (pd->verdict == LB_VERDICT_EXCLUDED)
			say(o, "%s: excluded (%s), not written", pd->disk->id, pd->why ? pd->why : "");
		if (pd->verdict != LB_VERDICT_RECREATE)
			continue;
		r = recreate_disk(p, pd, o);
		if (r < 0) {
			say(o, "%s: FAILED: %s", pd->disk->id, lb_errmsg());
			return r;
		}
	}
	/* intact disks with volumes to make: the kernel must know their
	 * partitions (a restore stopped before it told the kernel) */
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		bool needs = false;
		int fd;

		if (pd->verdict != LB_VERDICT_INTACT || pd->disk->label == LB_LABEL_NONE)
			continue;
		for (size_t j = 0; j < p->n_vols; j++)
			needs |= p->vols[j].pd == pd && (p->vols[j].action == LB_VOL_FORMAT ||
							  p->vols[j].action == LB_VOL_IMAGE);
		if (!needs)
			continue;
		r = check_not_in_use(pd->target);
		if (r < 0)
			return r;
		fd = open(pd->target->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return lb_err(-errno, "%s: %s", pd->target->path, strerror(errno));
		r = lb_kernel_ensure_partitions(pd->disk, pd->target->sysname, fd);
		close(fd);
		if (r < 0)
			return r;
	}
	/* a volume that fails is named and left; the others go on */
	for (size_t i = 0; i < p->n_vols; i++) {
		struct lb_plan_volume *pv = &p->vols[i];

		if (pv->action != LB_VOL_FORMAT && pv->action != LB_VOL_IMAGE)
			continue;
		if (pv->pd->verdict == LB_VERDICT_INTACT) {
			r = check_not_in_use(pv->pd->target);
			if (r < 0)
				return r;
		}
		if (pv->rollback)
			say(o, "%s: on an intact disk, %s: %s", pv->vol->id,
			    pv->rollback == LB_ROLLBACK_CRITICAL ? "critical"
			    : pv->rollback == LB_ROLLBACK_NAMED  ? "named with --volume"
								 : "--all-volumes",
			    pv->vol->data ? "its data is put back" : "made again");
		r = pv->action == LB_VOL_IMAGE ? image_volume(p, pv, o) : format_volume(pv, o);
		if (r >= 0 && pv->extract)
			r = extract_volume(p, pv, o);
		if (r < 0) {
			pv->result = lb_asprintf("failed: %s", lb_errmsg());
			say(o, "%s: FAILED: %s", pv->vol->id, lb_errmsg());
			failed++;
			continue;
		}
		fault_point("after-volume");
		pv->result = lb_strdup(pv->action == LB_VOL_IMAGE ? "image written"
				       : pv->extract		  ? "formatted, files extracted"
								  : "formatted");
	}
	/* the EFI boot entries, once the disks they point at are back */
	{
		bool recreated = false;
		_cleanup_free_ char *note = NULL;

		/* only when the ESP's own disk was recreated here (never from a
		 * drill, whose loop devices are not this machine's disks) */
		for (size_t i = 0; i < p->n_vols; i++)
			recreated |= p->m->boot && p->m->boot->esp && p->vols[i].vol->id &&
				     strcmp(p->vols[i].vol->id, p->m->boot->esp) == 0 &&
				     p->vols[i].pd->verdict == LB_VERDICT_RECREATE;
		if (recreated && o->efi && !getenv("LIFEBOAT_NO_EFI")) {
			int n = lb_boot_restore_efi(p->m, &note);

			if (n < 0) {
				say(o, "EFI boot entries: FAILED: %s", lb_errmsg());
				failed++;
			} else if (n > 0) {
				say(o, "EFI boot entries: %d variable%s written", n, n == 1 ? "" : "s");
			}
			if (note)
				say(o, "EFI boot entries: %s", note);
		}
	}
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].verdict == LB_VERDICT_RECREATE || p->disks[i].verdict == LB_VERDICT_INTACT)
			flush_device(p->disks[i].target->path);
	if (o->marker) {
		r = lb_marker_write(p, o->marker, ret_instance);
		if (r >= 0)
			say(o, "restore-session marker written to %s", o->marker);
	} else {
		r = write_marker_in_root(p, o, log_path, ret_instance);
	}
	if (r < 0)
		say(o, "FAILED: %s", lb_errmsg());
	for (size_t i = 0; r >= 0 && i < p->n_disks; i++)
		if (p->disks[i].held_back) {
			say(o, "%s -> %s: NOT restored: %s", p->disks[i].disk->id,
			    p->disks[i].target->path, p->disks[i].why);
			failed++;
		}
	if (r >= 0 && failed) {
		for (size_t i = 0; i < p->n_vols; i++)
			if (p->vols[i].result)
				say(o, "%s: %s", p->vols[i].vol->id, p->vols[i].result);
		r = lb_err(-EIO, "%u disk%s or volume%s could not be restored (named above); "
				 "everything else was",
			   failed, failed == 1 ? "" : "s", failed == 1 ? "" : "s");
	}
	return r;
}
