// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * This machine's disks as the planner sees them: every whole disk in
 * /sys/block that can be a target (or, with LIFEBOAT_MACHINE=FILE, the
 * disks a manifest describes), scanned read-only, with what makes one
 * unwritable here (in use, holding the capture) and its device number, so
 * that restore can tell, right before writing, that it is still the disk
 * planned.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "plan/internal.h"

void lb_target_free(struct lb_target *t)
{
	if (!t)
		return;
	free(t->sysname);
	free(t->path);
	lb_disk_free(t->state);
	free(t->unreadable);
	free(t->in_use);
	free(t);
}

static bool never_a_target(const char *name)
{
	static const char *const prefixes[] = {
		"ram", "zram", "sr", "fd", "dm-", "md", "nbd", "mtdblock", "drbd", "rbd",
	};

	for (size_t i = 0; i < LB_ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static bool disk_is_blank(const struct lb_disk *d)
{
	return d->label == LB_LABEL_NONE && !d->volume;
}

/* The whole disk holding path's filesystem, when it is on a block device. */
static char *disk_holding(const char *path)
{
	struct stat st;
	char link[PATH_MAX], sys[128];
	ssize_t n;
	char *slash, *name;

	if (!path || stat(path, &st) < 0 || major(st.st_dev) == 0)
		return NULL;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0)
		return NULL;
	link[n] = '\0';
	_cleanup_free_ char *pf = lb_asprintf("%s/partition", sys);
	if (access(pf, F_OK) == 0) {
		slash = strrchr(link, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
	name = strrchr(link, '/');
	return lb_strdup(name ? name + 1 : link);
}

/* what restore checks again before writing (0: not a block device) */
static dev_t device_number(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISBLK(st.st_mode) ? st.st_rdev : 0;
}

static void add_target(struct lb_target ***arr, size_t *n, struct lb_target *t)
{
	*arr = lb_realloc_array(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = t;
}

static char *volume_in_use(const struct lb_volume *v)
{
	if (v && v->mountpoint && !v->mount_source)
		return lb_asprintf("%s is mounted on %s", v->id, v->mountpoint);
	if (v && v->swap_active)
		return lb_asprintf("%s is active swap", v->id);
	return NULL;
}

/* LIFEBOAT_MACHINE: a manifest describing "this machine". */
static int targets_from_manifest(const char *file, struct lb_target ***ret, size_t *ret_n)
{
	struct lb_manifest *mm = NULL;
	int r = lb_manifest_load(file, &mm);

	if (r < 0)
		return r;
	for (size_t i = 0; i < mm->n_disks; i++) {
		struct lb_target *t = lb_zalloc(sizeof(*t));
		struct lb_disk *d = mm->disks[i];

		t->path = lb_strdup(d->path);
		t->sysname = lb_strdup(strrchr(d->path, '/') ? strrchr(d->path, '/') + 1 : d->path);
		t->in_use = volume_in_use(d->volume);
		for (size_t j = 0; j < d->n_parts && !t->in_use; j++)
			t->in_use = volume_in_use(d->parts[j]->volume);
		t->blank = disk_is_blank(d);
		t->state = d;
		mm->disks[i] = NULL;
		add_target(ret, ret_n, t);
	}
	mm->n_disks = 0;
	lb_manifest_free(mm);
	return 0;
}

int lb_targets_load(const char *capture_dir, bool geometry, struct lb_target ***ret, size_t *ret_n)
{
	const char *fake = getenv("LIFEBOAT_MACHINE");
	struct lb_sysinfo *si = NULL;
	struct dirent **list = NULL;
	_cleanup_free_ char *capdisk = NULL;
	int cnt, r;

	*ret = NULL;
	*ret_n = 0;
	if (fake && *fake)
		return targets_from_manifest(fake, ret, ret_n);
	r = lb_sysinfo_load(&si);
	if (r < 0)
		return r;
	capdisk = disk_holding(capture_dir);
	cnt = scandir("/sys/block", &list, NULL, versionsort);
	if (cnt < 0) {
		lb_sysinfo_free(si);
		return lb_err(-errno, "cannot list /sys/block: %s", strerror(errno));
	}
	for (int i = 0; i < cnt; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *sizep = lb_asprintf("/sys/block/%s/size", name);
		uint64_t size = 0;
		struct lb_target *t;

		if (name[0] == '.' || never_a_target(name) || lb_read_u64(sizep, &size) < 0 || !size) {
			free(list[i]);
			continue;
		}
		t = lb_zalloc(sizeof(*t));
		t->sysname = lb_strdup(name);
		t->path = lb_asprintf("/dev/%s", name);
		if (lb_scan_disk(name, name, si, NULL, NULL, geometry, &t->state) < 0)
			t->unreadable = lb_strdup(lb_errmsg());
		if (lb_disk_in_use(si, name, &t->in_use) < 0)
			t->in_use = lb_strdup(lb_errmsg());
		t->holds_capture = capdisk && strcmp(capdisk, name) == 0;
		t->rdev = device_number(t->path);
		t->blank = t->state && disk_is_blank(t->state);
		add_target(ret, ret_n, t);
		free(list[i]);
	}
	free(list);
	lb_sysinfo_free(si);
	return 0;
}

