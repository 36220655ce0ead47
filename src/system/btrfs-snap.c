// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * btrfs subvolumes and the read-only snapshots a live capture reads from
 * (lifeboat's VSS for btrfs), through libbtrfsutil. The filesystem's top
 * level (subvolume 5) is mounted privately (lb_btrfs_top_mount): read-write
 * when the filesystem is mounted read-write here, so snapshots can be
 * taken beside what it holds; read-only (no log replayed, through a
 * read-only loop device) when it is not mounted, and then nothing is
 * written to it and no snapshot is needed. A snapshot is named
 * .lifeboat-snap.<pid>.<subvolume id> in the top level: one a killed
 * capture left is recognised by its dead PID and removed by the next
 * capture (lb_btrfs_snap_cleanup), and none is ever recorded as a
 * subvolume.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <btrfsutil.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"

#define TOP_LEVEL_ID 5u

/* libbtrfsutil's error as -errno with a message */
static int bu_err(enum btrfs_util_error e, const char *what, const char *where)
{
	int en = errno ? errno : EIO;

	return lb_err(-en, "%s %s: %s (%s)", what, where, btrfs_util_strerror(e), strerror(en));
}

bool lb_btrfs_snap_name(const char *name, long *ret_pid, uint64_t *ret_id)
{
	const char *p = name;
	char *end;
	long pid;
	uint64_t id;

	if (strncmp(p, LB_BTRFS_SNAP_PREFIX, strlen(LB_BTRFS_SNAP_PREFIX)) != 0)
		return false;
	p += strlen(LB_BTRFS_SNAP_PREFIX);
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || end == p || *end != '.' || pid <= 0)
		return false;
	p = end + 1;
	id = strtoull(p, &end, 10);
	if (errno || end == p || *end)
		return false;
	if (ret_pid)
		*ret_pid = pid;
	if (ret_id)
		*ret_id = id;
	return true;
}

int lb_btrfs_top_mount(const char *dev, unsigned flags, struct lb_btrfs_top **ret)
{
	char tmpl[64];
	_cleanup_free_ char *loop = NULL;
	const char *src = dev;
	bool live = flags & LB_BTRFS_TOP_RW;
	unsigned long mflags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	const char *data = "subvolid=5";
	struct lb_btrfs_top *t;
	int r, lfd = -1;

	*ret = NULL;
	if (!live) {
		mflags |= MS_RDONLY;
		data = "subvolid=5,rescue=nologreplay";
	}
	/* not mounted anywhere: read through a read-only loop device, which
	 * nothing the mount does can write through (a btrfs mounted here is
	 * mounted again from its own device: the kernel shares the one
	 * filesystem, a second device with its fsid would be refused) */
	if (!live && !(flags & LB_BTRFS_TOP_DIRECT)) {
		r = lb_loop_attach_ro(dev, &loop, &lfd);
		if (r < 0)
			return lb_err(r, "cannot read %s through a read-only loop device: %s", dev,
				      lb_errmsg());
		src = loop;
	}
	snprintf(tmpl, sizeof(tmpl), "/tmp/lifeboat-mnt.%d.XXXXXX", (int)getpid());
	if (!mkdtemp(tmpl)) {
		r = lb_err(-errno, "cannot make a mount point: %s", strerror(errno));
		lb_loop_detach(lfd);
		return r;
	}
	r = mount(src, tmpl, "btrfs", mflags, data);
	if (r < 0 && !live && errno == EINVAL)
		r = mount(src, tmpl, "btrfs", mflags, "subvolid=5,nologreplay");
	if (r < 0) {
		int e = errno;

		rmdir(tmpl);
		lb_loop_detach(lfd);
		if (lfd >= 0)
			lb_loop_btrfs_rescan(dev);	/* (the mount scanned the loop) */
		return lb_err(-e, "cannot mount the top level of the btrfs on %s: %s", dev, strerror(e));
	}
	if (lfd >= 0) {
		/* (autoclear: it goes with the mount; then dev is scanned again) */
		lb_loop_btrfs_mounted(tmpl, dev);
		close(lfd);
	}
	t = lb_zalloc(sizeof(*t));
	t->dir = lb_strdup(tmpl);
	t->live = live;
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->fd < 0) {
		r = lb_err(-errno, "%s: %s", t->dir, strerror(errno));
		lb_btrfs_top_umount(t);
		return r;
	}
	lb_debug("btrfs", "top level of %s on %s (%s)", dev, t->dir, live ? "read-write" : "read-only");
	*ret = t;
	return 0;
}

int lb_btrfs_top_umount(struct lb_btrfs_top *t)
{
	int r;

	if (!t)
		return 0;
	if (t->fd >= 0)
		close(t->fd);
	r = lb_umount_tmp(t->dir);
	free(t);
	return r;
}

/* a UUID, or NULL when it is all zeros */
static char *uuid_text(const uint8_t u[16])
{
	char buf[37];

	if (uuid_is_null(u))
		return NULL;
	uuid_unparse_lower(u, buf);
	return lb_strdup(buf);
}

static int cmp_subvol(const void *a, const void *b)
{
	const struct lb_btrfs_subvol *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int lb_btrfs_subvols_read(const struct lb_btrfs_top *t, struct lb_btrfs_subvols **ret)
{
	struct btrfs_util_subvolume_iterator *it = NULL;
	struct lb_btrfs_subvols *s = lb_zalloc(sizeof(*s));
	enum btrfs_util_error e;
	int r = 0;

	*ret = NULL;
	errno = 0;
	e = btrfs_util_get_default_subvolume_fd(t->fd, &s->default_id);
	if (!e)
		e = btrfs_util_create_subvolume_iterator_fd(t->fd, TOP_LEVEL_ID, 0, &it);
	if (e) {
		lb_btrfs_subvols_free(s);
		return bu_err(e, "cannot list the subvolumes of the btrfs on", t->dir);
	}
	for (;;) {
		struct btrfs_util_subvolume_info info;
		struct lb_btrfs_subvol *sv;
		char *path = NULL;

		errno = 0;
		e = btrfs_util_subvolume_iterator_next_info(it, &path, &info);
		if (e == BTRFS_UTIL_ERROR_STOP_ITERATION)
			break;
		if (e) {
			r = bu_err(e, "cannot list the subvolumes of the btrfs on", t->dir);
			break;
		}
		/* lifeboat's own snapshots (this capture's or a killed one's) */
		if (!strchr(path, '/') && lb_btrfs_snap_name(path, NULL, NULL)) {
			free(path);
			continue;
		}
		s->subvols = lb_realloc_array(s->subvols, s->n + 1, sizeof(*s->subvols));
		sv = &s->subvols[s->n++];
		memset(sv, 0, sizeof(*sv));
		sv->id = info.id;
		sv->path = path;
		sv->uuid = uuid_text(info.uuid);
		sv->parent_uuid = uuid_text(info.parent_uuid);
		sv->received_uuid = uuid_text(info.received_uuid);
		sv->readonly = (info.flags & 1ull) != 0;	/* BTRFS_ROOT_SUBVOL_RDONLY */
	}
	btrfs_util_destroy_subvolume_iterator(it);
	if (r < 0) {
		lb_btrfs_subvols_free(s);
		return r;
	}
	if (s->n)
		qsort(s->subvols, s->n, sizeof(*s->subvols), cmp_subvol);
	*ret = s;
	return 0;
}

int lb_btrfs_snap_take(const struct lb_btrfs_top *t, const struct lb_btrfs_subvol *sv, char **ret)
{
	_cleanup_free_ char *name = NULL;
	enum btrfs_util_error e;
	uint64_t id = sv ? sv->id : TOP_LEVEL_ID, got = 0;
	int fd;

	*ret = NULL;
	/* the subvolume itself (never through a link: a path is a name the
	 * tree has now) */
	fd = sv ? openat(t->fd, sv->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		: fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return lb_err(-errno, "subvolume %" PRIu64 " (%s): %s", id, sv ? sv->path : "/",
			      strerror(errno));
	errno = 0;
	e = btrfs_util_subvolume_id_fd(fd, &got);
	if (!e && got != id) {
		close(fd);
		return lb_err(-ESTALE, "subvolume %" PRIu64 " is no longer at %s (moved while the "
				       "capture ran): capture again", id, sv->path);
	}
	name = lb_asprintf("%s%d.%" PRIu64, LB_BTRFS_SNAP_PREFIX, (int)getpid(), id);
	if (!e)
		e = btrfs_util_create_snapshot_fd2(fd, t->fd, name, BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY,
						   NULL, NULL);
	close(fd);
	if (e)
		return bu_err(e, "cannot take a read-only snapshot of subvolume",
			      sv ? sv->path : "5 (the top level)");
	lb_debug("btrfs", "took %s/%s", t->dir, name);
	*ret = lb_asprintf("%s/%s", t->dir, name);
	return 0;
}

int lb_btrfs_snap_drop(const struct lb_btrfs_top *t, const char *snap)
{
	const char *name = strrchr(snap, '/');
	enum btrfs_util_error e;

	name = name ? name + 1 : snap;
	errno = 0;
	e = btrfs_util_delete_subvolume_fd(t->fd, name, 0);
	if (e)
		return bu_err(e, "cannot remove the snapshot", name);
	lb_debug("btrfs", "removed %s/%s", t->dir, name);
	return 0;
}

int lb_btrfs_snap_cleanup(const struct lb_btrfs_top *t)
{
	int dfd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0), n = 0, first = 0;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return lb_err(-errno, "%s: %s", t->dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		enum btrfs_util_error e;
		long pid;
		int r, fd;

		if (!lb_btrfs_snap_name(de->d_name, &pid, NULL))
			continue;
		/* a running capture's (this one's too) stays */
		if (pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		fd = openat(t->fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		errno = 0;
		e = btrfs_util_is_subvolume_fd(fd);
		close(fd);
		if (e != BTRFS_UTIL_OK)
			continue;
		r = lb_btrfs_snap_drop(t, de->d_name);
		if (r < 0) {
			first = first ? first : r;
			continue;
		}
		lb_warn("removed the snapshot %s, left by an interrupted capture (process %ld)",
			de->d_name, pid);
		n++;
	}
	closedir(d);
	return first ? first : n;
}
