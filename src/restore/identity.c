// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Right before the first write to a disk: is it still the disk the plan
 * was made for? Between the plan and the write there is a question
 * without time limit and a full data check; the disk is reopened by path.
 * Its device number, size and logical sector size must be those seen when
 * planning, and what is on it must be as the plan saw it: a disk judged
 * blank still blank, one with a table the same table type and signature.
 * Otherwise nothing is written to it and restore stops (issue 16,
 * finding 5). Every open for writing then checks the device number again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "restore/internal.h"

int lb_run_check_not_in_use(const struct lb_target *t)
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

static int changed(const struct lb_target *t, const char *what)
{
	return lb_err(-ESTALE, "%s: not the disk planned: %s; nothing was written to it (run restore "
			       "again to plan anew)",
		      t->path, what);
}

/* device number, size and sector size through an open fd */
static int check_device(const struct lb_target *t, int fd)
{
	const struct lb_disk *was = t->state;
	struct stat st;
	uint64_t bytes = 0;
	int ssz = 0;

	if (fstat(fd, &st) < 0)
		return lb_err(-errno, "%s: %s", t->path, strerror(errno));
	if (!S_ISBLK(st.st_mode) || st.st_rdev != t->rdev) {
		_cleanup_free_ char *why = lb_asprintf("device %u:%u, planned %u:%u", major(st.st_rdev),
						       minor(st.st_rdev), major(t->rdev), minor(t->rdev));
		return changed(t, why);
	}
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0)
		return lb_err(-errno, "%s: cannot read its size: %s", t->path, strerror(errno));
	if ((uint32_t)ssz != was->sector_size) {
		_cleanup_free_ char *why = lb_asprintf("logical sector size %d, planned %u", ssz,
						       was->sector_size);
		return changed(t, why);
	}
	if (bytes != was->size * was->sector_size) {
		_cleanup_free_ char *why = lb_asprintf("%" PRIu64 " bytes, planned %" PRIu64, bytes,
						       was->size * was->sector_size);
		return changed(t, why);
	}
	return 0;
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcasecmp(a, b) == 0);
}

/* what is on it, read again as the survey read it (messages carry the
 * capture's and the disk's text raw: escaped where they are shown) */
static int check_contents(const struct lb_target *t)
{
	const struct lb_disk *was = t->state;
	struct lb_sysinfo *si = NULL;
	struct lb_disk *now = NULL;
	_cleanup_free_ char *why = NULL;
	int r;

	r = lb_sysinfo_load(&si);
	if (r < 0)
		return r;
	r = lb_scan_disk(t->sysname, t->sysname, si, NULL, NULL, false, &now);
	lb_sysinfo_free(si);
	if (r < 0)
		return lb_err(r, "%s: cannot read it again before writing: %s", t->path, lb_errmsg());
	if (t->blank && (now->label != LB_LABEL_NONE || now->volume))
		why = lb_asprintf("it was blank and now holds %s",
				  now->label != LB_LABEL_NONE ? lb_label_type_name(now->label)
							      : now->volume->type);
	else if (now->label != was->label)
		why = lb_asprintf("partition table %s, planned %s", lb_label_type_name(now->label),
				  lb_label_type_name(was->label));
	else if (!same_text(now->signature, was->signature))
		why = lb_asprintf("disk signature %s, planned %s", now->signature ? now->signature : "none",
				  was->signature ? was->signature : "none");
	else if (!was->volume != !now->volume ||
		 (was->volume && (strcmp(was->volume->type, now->volume->type) != 0 ||
				  !same_text(was->volume->uuid, now->volume->uuid))))
		why = lb_strdup("what is on the whole disk is not what was planned");
	lb_disk_free(now);
	return why ? changed(t, why) : 0;
}

int lb_run_check_disk(const struct lb_plan_disk *pd)
{
	const struct lb_target *t = pd->target;
	int fd, r;

	r = lb_run_check_not_in_use(t);
	if (r < 0)
		return r;
	if (!t->state || !t->rdev)
		return lb_err(-ESTALE, "%s: was not read when planning: nothing is written to it", t->path);
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lb_err(-errno, "%s: %s", t->path, strerror(errno));
	r = check_device(t, fd);
	close(fd);
	if (r < 0)
		return r;
	return check_contents(t);
}

int lb_run_disk_close(struct lb_run *run)
{
	int r = 0;

	if (run->fd < 0)
		return 0;
	if (fsync(run->fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", run->open_pd->target->path, strerror(errno));
	close(run->fd);
	run->fd = -1;
	run->open_pd = NULL;
	return r;
}

int lb_run_disk_fd(struct lb_run *run, struct lb_plan_disk *pd)
{
	const struct lb_target *t = pd->target;
	struct stat st;
	int fd, r;

	if (run->open_pd == pd && run->fd >= 0)
		return run->fd;
	r = lb_run_disk_close(run);
	if (r < 0)
		return r;
	fd = open(t->path, O_RDWR | O_CLOEXEC | O_EXCL);
	if (fd < 0)
		return lb_err(-errno, "%s: cannot open exclusively: %s", t->path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_rdev != t->rdev) {
		close(fd);
		return changed(t, "another device under its name");
	}
	run->fd = fd;
	run->open_pd = pd;
	return fd;
}
