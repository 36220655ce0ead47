// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The rehearsal (lifeboat drill): a sparse file per recorded disk (its
 * size and logical sector size), attached as loop devices; the capture
 * planned onto them with an explicit map and restored (quick format, no
 * EFI entries, no log); the result planned again and checked the way
 * compare checks, plus each volume's identity and geometry, each restored
 * filesystem's fsck and each archive's files; everything detached and
 * removed, even on failure or a signal.
 *
 * What the command shows goes through the caller's lb_drill_ui.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "data/data.h"
#include "restore/restore.h"
#include "restore/stack.h"
#include "restore/drill-int.h"
#include "model/stack.h"

struct drill_disk {
	char *file;
	char *dev;
	int fd;
};

struct drill {
	struct lb_manifest *m;
	const struct lb_drill_ui *ui;
	char *workdir;
	bool made_workdir;
	struct drill_disk *dd;
	size_t n;			/* entries of dd to clean up */
	struct lb_plan_opts po;
	struct lb_plan *p, *after;
	bool restored;			/* the stack is up: taken down first */
	struct fsid { char *recorded, *drill; } *fsids;	/* a btrfs's fsid, and the drill's */
	size_t n_fsids;
};

static void line(const struct drill *d, const char *fmt, ...) _printf_(2, 3);
static void line(const struct drill *d, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	d->ui->line(d->ui->ud, s);
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Feature lists equal, but for the flags that describe a filesystem's
 * state (a mounted ext4 records needs_recovery) rather than its making. */
static bool same_features(const char *a, const char *b)
{
	_cleanup_free_ char *x = lb_strdup(a ? a : ""), *y = lb_strdup(b ? b : "");
	static const char *const state[] = { " needs_recovery", " orphan_present" };

	for (size_t i = 0; i < LB_ARRAY_SIZE(state); i++) {
		char *p;

		while ((p = strstr(x, state[i])))
			memmove(p, p + strlen(state[i]), strlen(p + strlen(state[i])) + 1);
		while ((p = strstr(y, state[i])))
			memmove(p, p + strlen(state[i]), strlen(p + strlen(state[i])) + 1);
	}
	return strcmp(x, y) == 0;
}

/* One volume made: its identity and geometry as recorded (cur: what is
 * on it now). */
static unsigned check_volume(const struct drill *dr, const struct lb_volume *v,
			     const struct lb_volume *cur)
{
	if (!cur || !same(v->type, cur->type) || !same(v->uuid, cur->uuid) ||
	    !same(v->label, cur->label)) {
		line(dr, "%s: recorded %s %s, found %s %s", v->id, v->type,
		     v->uuid ? lb_esc(v->uuid) : "-", cur ? lb_esc(cur->type) : "nothing",
		     cur && cur->uuid ? lb_esc(cur->uuid) : "-");
		return 1;
	}
	if (v->ext && cur->ext &&
	    (v->ext->blocks != cur->ext->blocks || v->ext->inodes != cur->ext->inodes ||
	     v->ext->block_size != cur->ext->block_size ||
	     v->ext->inode_size != cur->ext->inode_size ||
	     v->ext->reserved_blocks != cur->ext->reserved_blocks ||
	     !same_features(v->ext->features, cur->ext->features))) {
		line(dr, "%s: ext geometry differs (blocks %" PRIu64 "/%" PRIu64
			 ", inodes %" PRIu64 "/%" PRIu64 ", features '%s' / '%s')",
		     v->id, v->ext->blocks, cur->ext->blocks, v->ext->inodes, cur->ext->inodes,
		     lb_esc(v->ext->features), lb_esc(cur->ext->features));
		return 1;
	}
	return 0;
}

/* After the restore: every volume that was made must have its identity;
 * one on the stack is probed on the node the drill made for it. */
static unsigned check_volumes(const struct drill *dr)
{
	const struct lb_plan *p = dr->after;
	unsigned bad = 0;

	for (size_t i = 0; i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];
		const struct lb_partition *cp;
		struct lb_volume *node_vol = NULL;

		if (pv->action == LB_VOL_SKIP || !pv->pd->target || !pv->pd->target->state)
			continue;
		/* (the same manifest, so the same volumes in the same order) */
		if (i < dr->p->n_vols && dr->p->vols[i].action == LB_VOL_CIPHERTEXT) {
			line(dr, "%s: inside LUKS ciphertext written back: not opened, so not checked "
				 "(its container's header and UUID are)",
			     pv->vol->id);
			continue;
		}
		if (pv->node) {
			if (lb_drill_node_volume(pv, dr->m, &node_vol) < 0) {
				line(dr, "%s: %s", pv->vol->id, lb_esc(lb_errmsg()));
				bad++;
				continue;
			}
			bad += check_volume(dr, pv->vol, node_vol);
			lb_volume_free(node_vol);
			continue;
		}
		cp = pv->part ? lb_disk_find_partition(pv->pd->target->state, pv->part->number) : NULL;
		bad += check_volume(dr, pv->vol,
				    pv->part ? (cp ? cp->volume : NULL) : pv->pd->target->state->volume);
	}
	return bad;
}

static int fsck(const struct lb_volume *v, const char *node)
{
	char **argv = NULL;
	int r;

	if (strncmp(v->type, "ext", 3) == 0) {
		argv = lb_argv_new("e2fsck");
		lb_argv_add(&argv, "-fn");
	} else if (strcmp(v->type, "btrfs") == 0) {
		/* (over several devices: each one checks the whole filesystem) */
		argv = lb_argv_new("btrfs");
		lb_argv_add(&argv, "check");
		lb_argv_add(&argv, "--readonly");
	} else if (strcmp(v->type, "vfat") == 0) {
		argv = lb_argv_new("fsck.fat");
		lb_argv_add(&argv, "-n");
	} else {
		return 0;
	}
	lb_argv_add(&argv, "%s", node);
	r = lb_run(argv, true);
	lb_argv_free(argv);
	return r;
}

/* an archive's files all there, with their content and metadata */
static unsigned compare_files(const struct drill *dr, const struct lb_volume *v, const char *node)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", dr->m->rt_dir, v->data->file);
	char *mnt = NULL;
	struct lb_btrfs_top *top = NULL;
	struct lb_archive_diffs diffs = { 0 };
	unsigned n;
	int fd, r;

	/* (a btrfs with subvolumes: its archive is of its top level) */
	if (v->subvols && strcmp(v->type, "btrfs") == 0)
		r = lb_btrfs_top_mount(node, 0, &top);
	else
		r = lb_mount_tmp(node, v->type, true, &mnt);
	if (r < 0) {
		line(dr, "%s: cannot compare its files: %s", v->id, lb_esc(lb_errmsg()));
		return 1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : lb_archive_compare(fd, v->id, v->data, top ? top->dir : mnt, &diffs);
	if (fd >= 0)
		close(fd);
	lb_btrfs_top_umount(top);
	lb_umount_tmp(mnt);
	/* the first few named (found before a failure too), then counted */
	for (unsigned k = 0; k < diffs.n && k < LB_DIFFS_NAMED; k++)
		line(dr, "%s: %s differs from the archive", diffs.named[k].path, diffs.named[k].what);
	n = diffs.n;
	lb_archive_diffs_clear(&diffs);
	if (r < 0) {
		line(dr, "%s: cannot compare: %s", v->id, lb_esc(lb_errmsg()));
		return 1;
	}
	if (n)
		line(dr, "%s: %u file%s differ from the archive", v->id, n, n == 1 ? "" : "s");
	return n ? 1 : 0;
}

/* The data restored: each filesystem checks clean, and an archive's files
 * are all there with their content and metadata. */
static unsigned check_data(const struct drill *dr)
{
	const struct lb_plan *done = dr->p;
	unsigned bad = 0;

	for (size_t i = 0; i < done->n_vols; i++) {
		const struct lb_plan_volume *pv = &done->vols[i];
		const struct lb_volume *v = pv->vol;
		_cleanup_free_ char *node = NULL;
		int r = 0;

		if (pv->action != LB_VOL_IMAGE && !pv->extract)
			continue;
		if (pv->node)
			node = lb_drill_node_of(dr->m, v->id);
		else if (pv->part)
			r = lb_partition_node(dr->after->disks[pv->pd - done->disks].target->sysname,
					      pv->part->number, &node);
		else
			node = lb_strdup(pv->pd->target->path);
		if (r < 0 || !node) {
			line(dr, "%s: no device node to check", v->id);
			bad++;
			continue;
		}
		r = fsck(v, node);
		if (r != 0) {
			line(dr, "%s: the filesystem does not check clean (fsck exit %d)", v->id, r);
			bad++;
			continue;
		}
		if (pv->extract)
			bad += compare_files(dr, v, node);
	}
	return bad;
}

/* Each btrfs gets an fsid of its own in a drill: the machine's own btrfs
 * (the one captured, most often still there) holds the recorded one, and
 * mkfs.btrfs refuses a UUID another device has; the kernel would take
 * the drill's devices of an image for devices of the original (a second
 * btrfs over several devices with a registered fsid does not mount, an
 * unmounted one's registration would name the drill's device). Every
 * device of one btrfs gets the same new fsid; an image's devices are given
 * it (lb_btrfs_set_fsid) as soon as each is written, so the kernel never
 * sees the recorded fsid on a drill device. */
static int new_fsid(struct lb_disk *disk, struct lb_partition *part, struct lb_volume *v, void *ud)
{
	struct drill *dr = ud;
	struct fsid *f = NULL;
	uuid_t u;
	char s[37];

	(void)disk;
	(void)part;
	if (!v || !v->uuid || strcmp(v->type, "btrfs") != 0)
		return 0;
	for (size_t i = 0; i < dr->n_fsids && !f; i++)
		if (strcmp(dr->fsids[i].recorded, v->uuid) == 0)
			f = &dr->fsids[i];
	if (!f) {
		uuid_generate_random(u);
		uuid_unparse_lower(u, s);
		dr->fsids = lb_realloc_array(dr->fsids, dr->n_fsids + 1, sizeof(*dr->fsids));
		f = &dr->fsids[dr->n_fsids++];
		f->recorded = lb_strdup(v->uuid);
		f->drill = lb_strdup(s);
		line(dr, "btrfs %s: made with the fsid %s in this drill (the recorded one is the "
			 "original's)",
		     lb_esc(f->recorded), f->drill);
	}
	free(v->uuid);
	v->uuid = lb_strdup(f->drill);
	return 0;
}

static void new_fsids(struct drill *dr)
{
	lb_manifest_foreach_volume(dr->m, new_fsid, dr);
	lb_stack_foreach_volume(dr->m, new_fsid, dr);
}

/* The kernel forgets the drill's btrfs devices before they are detached
 * (a registration would outlive its loop device). */
static void forget_btrfs(const struct drill *dr)
{
	const struct lb_plan *p = dr->after ? dr->after : dr->p;

	for (size_t i = 0; p && i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];
		_cleanup_free_ char *node = NULL;

		if (strcmp(pv->vol->type, "btrfs") != 0 || !pv->pd->target)
			continue;
		if (pv->node)
			node = lb_drill_node_of(dr->m, pv->vol->id);
		else if (pv->part)
			lb_partition_node(pv->pd->target->sysname, pv->part->number, &node);
		else
			node = lb_strdup(pv->pd->target->path);
		if (node) {
			char *argv[] = { (char *)"btrfs", (char *)"device", (char *)"scan",
					 (char *)"--forget", node, NULL };

			lb_run(argv, true);
		}
	}
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int make_workdir(struct drill *dr, const char *wopt)
{
	if (wopt) {
		dr->workdir = lb_strdup(wopt);
		if (access(dr->workdir, F_OK) < 0) {
			if (lb_mkdir_p(dr->workdir, 0700) < 0)
				return lb_err(-errno, "cannot create %s: %s", dr->workdir, strerror(errno));
			dr->made_workdir = true;
		}
		return 0;
	}
	char tmpl[] = "/var/tmp/lifeboat-drill.XXXXXX";

	lb_mkdir_p("/var/tmp", 01777);
	if (!mkdtemp(tmpl))
		return lb_err(-errno, "cannot create a work directory: %s", strerror(errno));
	dr->workdir = lb_strdup(tmpl);
	dr->made_workdir = true;
	return 0;
}

/* one sparse file and loop device per selected disk, mapped to it */
static int attach_disks(struct drill *dr)
{
	const struct lb_manifest *m = dr->m;
	int r;

	dr->dd = lb_zalloc(sizeof(*dr->dd) * (m->n_disks + 1));
	for (size_t i = 0; i < m->n_disks; i++)
		dr->dd[i].fd = -1;
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];
		struct drill_disk *dd = &dr->dd[i];
		_cleanup_free_ char *file = NULL;
		int fd;

		if (!d->selected)
			continue;
		file = lb_asprintf("%s/%s.img", dr->workdir, d->id);
		fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return lb_err(-errno, "%s: %s", file, strerror(errno));
		/* ours from here: removed on the way out whatever happens */
		dd->file = TAKE_PTR(file);
		dr->n = i + 1;
		if (ftruncate(fd, (off_t)(d->size * d->sector_size)) < 0) {
			r = lb_err(-errno, "%s: %s", dd->file, strerror(errno));
			close(fd);
			return r;
		}
		close(fd);
		r = lb_loop_attach(dd->file, d->sector_size, &dd->dev, &dd->fd);
		if (r < 0)
			return r;
		dr->ui->disk(dr->ui->ud, d, dd->dev);
		dr->po.maps = lb_realloc_array(dr->po.maps, dr->po.n_maps + 1, sizeof(*dr->po.maps));
		dr->po.maps[dr->po.n_maps].from = lb_strdup(d->id);
		dr->po.maps[dr->po.n_maps].to = lb_strdup(dd->dev);
		dr->po.n_maps++;
	}
	dr->n = m->n_disks;
	return 0;
}

static int plan(struct drill *dr, bool geometry, struct lb_plan **ret)
{
	struct lb_target **targets = NULL;
	size_t nt = 0;
	int r;

	r = lb_targets_load(dr->m->rt_dir, geometry, &targets, &nt);
	if (r < 0)
		return lb_err(r, "cannot survey disks: %s", lb_errmsg());
	return lb_plan_build(dr->m, &dr->po, targets, nt, ret);
}

/* plan again on the result: every disk intact, every volume as recorded */
static int check_result(struct drill *dr)
{
	unsigned bad;
	int r;

	r = plan(dr, true, &dr->after);
	if (r < 0)
		return r;
	bad = check_volumes(dr);
	bad += check_data(dr);
	for (size_t i = 0; i < dr->after->n_disks; i++) {
		const struct lb_plan_disk *pd = &dr->after->disks[i];

		if (pd->verdict == LB_VERDICT_EXCLUDED || pd->verdict == LB_VERDICT_INTACT)
			continue;
		line(dr, "%s: %s after the restore (%s)", pd->disk->id, lb_verdict_name(pd->verdict),
		     pd->why ? lb_esc(pd->why) : "");
		bad++;
	}
	if (bad || !lb_plan_all_intact(dr->after)) {
		line(dr, "FAILED: %u difference%s between the manifest and the rehearsal", bad,
		     bad == 1 ? "" : "s");
		return lb_err(-EIO, "the rehearsal differs from the manifest");
	}
	return 0;
}

static int rehearse(struct drill *dr, char **ret_instance)
{
	const struct lb_restore_opts ro = { .quick = true, .drill = true };
	int r;

	new_fsids(dr);
	r = attach_disks(dr);
	if (r < 0 || interrupted)
		return r < 0 ? r : -EINTR;
	r = plan(dr, false, &dr->p);
	if (r < 0)
		return r;
	dr->ui->plan(dr->ui->ud, dr->p);
	if (dr->p->n_problems || lb_plan_check_data(dr->p, true) < 0) {
		for (size_t i = 0; i < dr->p->n_problems; i++)
			dr->ui->problem(dr->ui->ud, dr->p->problems[i]);
		return lb_err(-EINVAL, "the plan has problems; nothing was restored");
	}
	r = lb_drill_check_stack(dr->p, dr->ui->problem, dr->ui->ud);
	if (r < 0)
		return lb_err(r, "%s; nothing was restored", lb_errmsg());
	dr->restored = true;
	r = lb_restore_run(dr->p, &ro, ret_instance, NULL);
	if (r < 0)
		return lb_err(r, "restore failed: %s", lb_errmsg());
	if (interrupted)
		return -EINTR;
	return check_result(dr);
}

static void cleanup(struct drill *dr)
{
	/* the arrays, mappings and groups on the loop devices first */
	if (dr->restored && dr->p && lb_stack_take_down(dr->p, true) < 0)
		lb_warn("drill: %s", lb_errmsg());
	if (dr->restored)
		forget_btrfs(dr);
	for (size_t i = 0; i < dr->n; i++) {
		if (dr->dd[i].fd >= 0 && lb_loop_detach(dr->dd[i].fd) < 0)
			lb_warn("drill: cannot detach %s", dr->dd[i].dev);
		if (dr->dd[i].file)
			unlink(dr->dd[i].file);
		free(dr->dd[i].file);
		free(dr->dd[i].dev);
	}
	free(dr->dd);
	if (dr->made_workdir)
		rmdir(dr->workdir);
	free(dr->workdir);
	lb_plan_free(dr->p);
	lb_plan_free(dr->after);
	for (size_t i = 0; i < dr->po.n_maps; i++) {
		free(dr->po.maps[i].from);
		free(dr->po.maps[i].to);
	}
	free(dr->po.maps);
	for (size_t i = 0; i < dr->n_fsids; i++) {
		free(dr->fsids[i].recorded);
		free(dr->fsids[i].drill);
	}
	free(dr->fsids);
}

int lb_drill_run(struct lb_manifest *m, const char *workdir, char **key_files, size_t n_key_files,
		 const struct lb_drill_ui *ui, char **ret_instance)
{
	struct drill dr = { .m = m, .ui = ui, .po = { .data = true, .no_efi = true,
						    .key_files = key_files,
						    .n_key_files = n_key_files } };
	int r;

	r = make_workdir(&dr, workdir);
	if (r < 0)
		return r;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	r = rehearse(&dr, ret_instance);
	if (interrupted) {
		lb_warn("drill: interrupted");
		r = lb_err(-EINTR, "interrupted");
	}
	cleanup(&dr);
	return r;
}
