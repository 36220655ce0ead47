// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * lifeboat drill [--workdir DIR] CAPTURE
 *
 * The rehearsal: a sparse file per recorded disk (its size and logical
 * sector size), attached as loop devices; the capture restored onto them
 * with an explicit map; the result checked the way compare checks, plus each
 * volume's identity; a verdict; everything detached and removed, even on
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "data/data.h"
#include "restore/restore.h"
#include "cmd/cmd.h"
#include "cmd/cmd_plan.h"

static void help(FILE *f)
{
	fputs("Usage: lifeboat drill [--workdir DIR] CAPTURE\n\n"
	      "Rehearse a restore on loop devices over sparse files: make one file per\n"
	      "recorded disk, restore the capture onto them, check every disk and volume\n"
	      "against the manifest, print a verdict, and detach and remove everything.\n"
	      "Touches no other disk.\n\n"
	      "Options:\n"
	      "  -w, --workdir DIR   where the sparse files go (default: a new directory\n"
	      "                      under /var/tmp)\n"
	      "  -h, --help          show this help\n\n"
	      "Exit status: 0 the rehearsal restored everything exactly; 1 it did not;\n"
	      "2 bad options or an unreadable or invalid capture.\n",
	      f);
}

struct drill_disk {
	char *file;
	char *dev;
	int fd;
};

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

/* After the restore: every volume that was made must have its identity. */
static unsigned check_volumes(const struct lb_plan *p)
{
	unsigned bad = 0;

	for (size_t i = 0; i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];
		const struct lb_volume *v = pv->vol, *cur;
		const struct lb_partition *cp;

		if (pv->action == LB_VOL_SKIP || !pv->pd->target || !pv->pd->target->state)
			continue;
		cp = pv->part ? lb_disk_find_partition(pv->pd->target->state, pv->part->number) : NULL;
		cur = pv->part ? (cp ? cp->volume : NULL) : pv->pd->target->state->volume;
		if (!cur || !same(v->type, cur->type) || !same(v->uuid, cur->uuid) ||
		    !same(v->label, cur->label)) {
			printf("drill: %s: recorded %s %s, found %s %s\n", v->id, v->type,
			       v->uuid ? v->uuid : "-", cur ? cur->type : "nothing",
			       cur && cur->uuid ? cur->uuid : "-");
			bad++;
			continue;
		}
		if (v->ext && cur->ext &&
		    (v->ext->blocks != cur->ext->blocks || v->ext->inodes != cur->ext->inodes ||
		     v->ext->block_size != cur->ext->block_size ||
		     v->ext->inode_size != cur->ext->inode_size ||
		     v->ext->reserved_blocks != cur->ext->reserved_blocks ||
		     !same_features(v->ext->features, cur->ext->features))) {
			printf("drill: %s: ext geometry differs (blocks %" PRIu64 "/%" PRIu64
			       ", inodes %" PRIu64 "/%" PRIu64 ", features '%s' / '%s')\n",
			       v->id, v->ext->blocks, cur->ext->blocks, v->ext->inodes, cur->ext->inodes,
			       v->ext->features, cur->ext->features);
			bad++;
		}
	}
	return bad;
}

/* The data restored: each filesystem checks clean, and an archive's files
 * are all there with their content and metadata. */
static unsigned check_data(const struct lb_plan *done, const struct lb_plan *after)
{
	unsigned bad = 0;

	for (size_t i = 0; i < done->n_vols; i++) {
		const struct lb_plan_volume *pv = &done->vols[i];
		const struct lb_volume *v = pv->vol;
		_cleanup_free_ char *node = NULL;
		char **argv = NULL;
		int r;

		if (pv->action != LB_VOL_IMAGE && !pv->extract)
			continue;
		if (pv->part)
			r = lb_partition_node(after->disks[pv->pd - done->disks].target->sysname,
					      pv->part->number, &node);
		else
			node = lb_strdup(pv->pd->target->path), r = 0;
		if (r < 0) {
			printf("drill: %s: no device node to check\n", v->id);
			bad++;
			continue;
		}
		if (strncmp(v->type, "ext", 3) == 0) {
			argv = lb_argv_new("e2fsck");
			lb_argv_add(&argv, "-fn");
		} else if (strcmp(v->type, "vfat") == 0) {
			argv = lb_argv_new("fsck.fat");
			lb_argv_add(&argv, "-n");
		}
		if (argv) {
			lb_argv_add(&argv, "%s", node);
			r = lb_run(argv, true);
			lb_argv_free(argv);
			if (r != 0) {
				printf("drill: %s: the filesystem does not check clean (fsck exit %d)\n", v->id, r);
				bad++;
				continue;
			}
		}
		if (pv->extract) {
			_cleanup_free_ char *path = lb_asprintf("%s/%s", done->m->rt_dir, v->data->file);
			char *mnt = NULL;
			unsigned diffs = 0;
			int fd;

			if (lb_mount_tmp(node, v->type, true, &mnt) < 0) {
				printf("drill: %s: cannot compare its files: %s\n", v->id, lb_errmsg());
				bad++;
				continue;
			}
			fd = open(path, O_RDONLY | O_CLOEXEC);
			r = fd < 0 ? -errno : lb_archive_compare(fd, v->id, mnt, &diffs);
			if (fd >= 0)
				close(fd);
			lb_umount_tmp(mnt);
			if (r < 0) {
				printf("drill: %s: cannot compare: %s\n", v->id, lb_errmsg());
				bad++;
			} else if (diffs) {
				printf("drill: %s: %u file%s differ from the archive\n", v->id, diffs,
				       diffs == 1 ? "" : "s");
				bad++;
			}
		}
	}
	return bad;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int cmd_drill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workdir", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lb_manifest *m = NULL;
	struct lb_plan *p = NULL, *after = NULL;
	struct lb_plan_opts po = { .data = true };
	struct lb_restore_opts ro = { .quick = true, .data = true };
	struct drill_disk *dd = NULL;
	_cleanup_free_ char *workdir = NULL, *instance = NULL;
	const char *wopt = NULL;
	bool made_workdir = false;
	size_t n = 0;
	int c, r, code = LB_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		if (c == 'w') {
			wopt = optarg;
		} else if (c == 'h') {
			help(stdout);
			return LB_EXIT_OK;
		} else {
			help(stderr);
			return LB_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		lb_warn("drill: expects one CAPTURE");
		return LB_EXIT_USAGE;
	}
	/* one restore, capture or drill at a time (a restore could take the
	 * drill's blank loop disks for replaced ones) */
	if (lb_lock_take("drill") < 0) {
		lb_warn("drill: %s; nothing was written", lb_errmsg());
		return LB_EXIT_FAIL;
	}
	/* its temporary mounts die with it, killed or not */
	if (lb_mounts_private() < 0)
		lb_debug("drill", "%s", lb_errmsg());
	r = lb_manifest_load(argv[optind], &m);
	if (r < 0) {
		lb_warn("drill: %s", lb_errmsg());
		return LB_EXIT_USAGE;
	}
	if (wopt) {
		workdir = lb_strdup(wopt);
		if (access(workdir, F_OK) < 0) {
			if (lb_mkdir_p(workdir, 0700) < 0) {
				lb_warn("drill: cannot create %s: %s", workdir, strerror(errno));
				goto out;
			}
			made_workdir = true;
		}
	} else {
		char tmpl[] = "/var/tmp/lifeboat-drill.XXXXXX";

		lb_mkdir_p("/var/tmp", 01777);
		if (!mkdtemp(tmpl)) {
			lb_warn("drill: cannot create a work directory: %s", strerror(errno));
			goto out;
		}
		workdir = lb_strdup(tmpl);
		made_workdir = true;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	dd = lb_zalloc(sizeof(*dd) * (m->n_disks + 1));
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];
		int fd;

		dd[i].fd = -1;
		if (!d->selected)
			continue;
		{
			_cleanup_free_ char *file = lb_asprintf("%s/%s.img", workdir, d->id);

			fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0) {
				lb_warn("drill: %s: %s", file, strerror(errno));
				goto cleanup;
			}
			/* ours from here: removed on the way out whatever happens */
			dd[i].file = TAKE_PTR(file);
			n = i + 1;
		}
		if (ftruncate(fd, (off_t)(d->size * d->sector_size)) < 0) {
			lb_warn("drill: %s: %s", dd[i].file, strerror(errno));
			close(fd);
			goto cleanup;
		}
		close(fd);
		r = lb_loop_attach(dd[i].file, d->sector_size, &dd[i].dev, &dd[i].fd);
		if (r < 0) {
			lb_warn("drill: %s", lb_errmsg());
			goto cleanup;
		}
		printf("drill: %s (%" PRIu64 " sectors of %u bytes) on %s\n", d->id, d->size,
		       d->sector_size, dd[i].dev);
		po.maps = lb_realloc_array(po.maps, po.n_maps + 1, sizeof(*po.maps));
		po.maps[po.n_maps].from = lb_strdup(d->id);
		po.maps[po.n_maps].to = lb_strdup(dd[i].dev);
		po.n_maps++;
	}
	n = m->n_disks;
	if (interrupted)
		goto cleanup;

	{
		struct lb_target **targets = NULL;
		size_t nt = 0;

		r = lb_targets_load(m->rt_dir, false, &targets, &nt);
		if (r < 0) {
			lb_warn("drill: cannot survey disks: %s", lb_errmsg());
			goto cleanup;
		}
		lb_plan_build(m, &po, targets, nt, &p);
	}
	lb_plan_print(p, stdout);
	fflush(stdout);
	if (p->n_problems || lb_plan_check_data(p, true) < 0) {
		for (size_t i = 0; i < p->n_problems; i++)
			printf("problem: %s\n", lb_esc(p->problems[i]));
		lb_warn("drill: the plan has problems; nothing was restored");
		goto cleanup;
	}
	r = lb_restore_run(p, &ro, NULL, &instance);
	if (r < 0) {
		lb_warn("drill: restore failed: %s", lb_errmsg());
		goto cleanup;
	}
	if (interrupted)
		goto cleanup;

	/* check: plan again on the result */
	{
		struct lb_target **targets = NULL;
		size_t nt = 0;
		unsigned bad;

		r = lb_targets_load(m->rt_dir, true, &targets, &nt);
		if (r < 0) {
			lb_warn("drill: cannot survey disks: %s", lb_errmsg());
			goto cleanup;
		}
		lb_plan_build(m, &po, targets, nt, &after);
		bad = check_volumes(after);
		bad += check_data(p, after);
		for (size_t i = 0; i < after->n_disks; i++) {
			const struct lb_plan_disk *pd = &after->disks[i];

			if (pd->verdict == LB_VERDICT_EXCLUDED)
				continue;
			if (pd->verdict != LB_VERDICT_INTACT) {
				printf("drill: %s: %s after the restore (%s)\n", pd->disk->id,
				       lb_verdict_name(pd->verdict), pd->why ? pd->why : "");
				bad++;
			}
		}
		if (bad || !lb_plan_all_intact(after)) {
			printf("drill: FAILED: %u difference%s between the manifest and the rehearsal\n",
			       bad, bad == 1 ? "" : "s");
			goto cleanup;
		}
	}
	printf("drill: PASSED: every disk and volume restored exactly%s%s\n",
	       instance ? "; restore-session " : "", instance ? instance : "");
	code = LB_EXIT_OK;
cleanup:
	if (interrupted)
		lb_warn("drill: interrupted");
	for (size_t i = 0; i < n; i++) {
		if (dd[i].fd >= 0 && lb_loop_detach(dd[i].fd) < 0)
			lb_warn("drill: cannot detach %s", dd[i].dev);
		if (dd[i].file)
			unlink(dd[i].file);
		free(dd[i].file);
		free(dd[i].dev);
	}
	free(dd);
	if (made_workdir)
		rmdir(workdir);
out:
	lb_plan_free(p);
	lb_plan_free(after);
	lb_plan_opts_clear(&po);
	lb_manifest_free(m);
	return code;
}
