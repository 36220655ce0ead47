// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * btrfs subvolumes and the read-only snapshots a live capture reads from
 * (lifeboat's VSS for btrfs), through libbtrfsutil. The filesystem's top
 * level (subvolume 5) is mounted privately (lb_btrfs_top_mount): read-write
 * when the filesystem is mounted read-write here, so snapshots can be
 * taken beside what it holds; read-only (no log replayed, through a
 * read-only loop device) when it is not mounted, and then nothing is
 * written to it and no snapshot is needed. A snapshot is named
 * .lifeboat-snap.<pid>.<subvolume id>.<tag> in the top level (tag: 8 hex
 * digits drawn at random by each capture, since two captures in two PID
 * namespaces may have one PID), and none is ever recorded as a subvolume.
 *
 * The snapshots a killed capture left are removed by the next one
 * (lb_btrfs_snap_begin), which must tell them from those of a capture
 * still running, wherever that one runs: in a container sharing the
 * filesystem, or on the host seen from a container. A PID tells nothing
 * there (kill(pid, 0) answers for this PID namespace: a capture in another
 * looks dead, and had its snapshots removed under it). What tells is a
 * lock the kernel keeps for the filesystem itself and drops when its
 * holder dies: flock() on the top level's directory, one inode however
 * many times and in whatever namespace subvolume 5 is mounted. Every live
 * capture holds it shared for as long as its top level is mounted, from
 * before its first snapshot to after its last is removed; before that it
 * asks for it exclusive without waiting, and only when it gets it (no
 * other capture of this btrfs runs, anywhere) removes every snapshot named
 * as lifeboat's (the only ones left are a dead capture's), then turns it
 * into a shared one; when it does not, it removes nothing (said in debug).
 * A turn from exclusive to shared is not atomic (flock drops the old lock
 * first): a capture starting in between may take it exclusive and remove
 * leftovers, when this one has no snapshot yet, and this one waits for the
 * shared lock meanwhile.
 *
 * One lock for the filesystem rather than one per snapshot: a snapshot's
 * own lock can only be taken once it exists, and a capture cleaning up in
 * between would find it unlocked and remove it; the shared lock is taken
 * before any snapshot is. Snapshots of an older lifeboat (.lifeboat-snap.
 * <pid>.<id>, no tag, taken without the lock) are removed as before, and
 * only when their PID is dead here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <blkid/blkid.h>
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

bool lb_btrfs_snap_name(const char *name, long *ret_pid, uint64_t *ret_id, bool *ret_old)
{
	const char *p = name;
	char *end;
	long pid;
	uint64_t id;
	bool old;

	if (strncmp(p, LB_BTRFS_SNAP_PREFIX, strlen(LB_BTRFS_SNAP_PREFIX)) != 0)
		return false;
	p += strlen(LB_BTRFS_SNAP_PREFIX);
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || end == p || *end != '.' || pid <= 0)
		return false;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return false;
	id = strtoull(p, &end, 10);
	if (errno || end == p)
		return false;
	/* (an older lifeboat's has no tag) */
	old = !*end;
	if (!old) {
		p = end + 1;
		if (*end != '.' || !lb_held_is_tag(p))
			return false;
	}
	if (ret_pid)
		*ret_pid = pid;
	if (ret_id)
		*ret_id = id;
	if (ret_old)
		*ret_old = old;
	return true;
}

/* a NULL-terminated list of strings: S appended (a copy) */
static void strv_add(char ***v, const char *s)
{
	size_t n = 0;

	while (*v && (*v)[n])
		n++;
	*v = lb_realloc_array(*v, n + 2, sizeof(**v));
	(*v)[n] = lb_strdup(s);
	(*v)[n + 1] = NULL;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* the same block device */
static bool same_dev(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && S_ISBLK(x.st_mode) && x.st_rdev == y.st_rdev;
}

/* The devices of the btrfs on DEV (DEV first), found by its fsid among
 * every block device blkid sees: one per device UUID, or -ENOTUNIQ when
 * two devices hold the same one (a copy of the filesystem: which one is
 * meant cannot be told). A btrfs over one device: DEV alone. */
static int btrfs_devices(const char *dev, char ***ret)
{
	_cleanup_free_ char *fsid = NULL, *sub = NULL;
	char **devs = NULL, **subs = NULL;
	blkid_cache cache = NULL;
	blkid_dev_iterate it;
	blkid_dev bd;
	int r = 0;

	*ret = NULL;
	strv_add(&devs, dev);
	fsid = blkid_get_tag_value(NULL, "UUID", dev);
	sub = blkid_get_tag_value(NULL, "UUID_SUB", dev);
	if (!fsid || !sub || blkid_get_cache(&cache, "/dev/null") < 0) {
		*ret = devs;
		return 0;
	}
	strv_add(&subs, sub);
	blkid_probe_all(cache);
	it = blkid_dev_iterate_begin(cache);
	blkid_dev_set_search(it, "UUID", fsid);
	while (r >= 0 && blkid_dev_next(it, &bd) == 0) {
		_cleanup_free_ char *type = NULL, *s = NULL;
		const char *name;

		bd = blkid_verify(cache, bd);
		if (!bd)
			continue;
		name = blkid_dev_devname(bd);
		type = blkid_get_tag_value(cache, "TYPE", name);
		s = blkid_get_tag_value(cache, "UUID_SUB", name);
		if (!type || strcmp(type, "btrfs") != 0 || !s || same_dev(name, dev))
			continue;
		for (size_t i = 0; subs[i]; i++)
			if (strcmp(subs[i], s) == 0)
				r = lb_err(-ENOTUNIQ, "%s and %s are both device %s of the btrfs %s: "
						      "which one is meant cannot be told",
					   name, devs[i], s, fsid);
		if (r >= 0) {
			strv_add(&devs, name);
			strv_add(&subs, s);
		}
	}
	blkid_dev_iterate_end(it);
	blkid_put_cache(cache);
	strv_free(subs);
	if (r < 0) {
		strv_free(devs);
		return r;
	}
	*ret = devs;
	return 0;
}

/* The kernel's list of btrfs devices names DEVS again (a mount through
 * read-only loop devices named those, gone with the mount). */
static void btrfs_scan_again(char **devs)
{
	for (size_t i = 0; devs && devs[i]; i++)
		lb_loop_btrfs_rescan(devs[i]);
}

/* A read-only loop device over each of DEVS, attached (*ret_loops; their
 * descriptors in *ret_fds); the mount options naming every one but the
 * first (device=, as the kernel must know them all before the mount). */
static int loops_attach(char **devs, char ***ret_loops, int **ret_fds, char **ret_opts)
{
	size_t n = 0;
	char **loops = NULL;
	int *fds, r = 0;
	char *opts = lb_strdup("");

	while (devs[n])
		n++;
	fds = lb_zalloc(n * sizeof(*fds));
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && r >= 0; i++) {
		char *loop = NULL, *o;

		r = lb_loop_attach_ro(devs[i], &loop, &fds[i]);
		if (r < 0) {
			r = lb_err(r, "cannot read %s through a read-only loop device: %s", devs[i],
				   lb_errmsg());
			break;
		}
		o = lb_asprintf("%s,device=%s", opts, loop);
		free(opts);
		opts = o;
		strv_add(&loops, loop);
		free(loop);
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			lb_loop_detach(fds[i]);
		free(fds);
		strv_free(loops);
		free(opts);
		return r;
	}
	*ret_loops = loops;
	*ret_fds = fds;
	*ret_opts = opts;
	return 0;
}

int lb_btrfs_top_mount(const char *dev, unsigned flags, struct lb_btrfs_top **ret)
{
	_cleanup_free_ char *tmpl = NULL;
	char **devs = NULL, **loops = NULL;
	_cleanup_free_ char *opts = NULL, *data = NULL;
	_cleanup_free_ int *lfds = NULL;
	const char *src = dev;
	bool live = flags & LB_BTRFS_TOP_RW;
	unsigned long mflags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct lb_btrfs_top *t;
	int r;

	*ret = NULL;
	if (!live)
		mflags |= MS_RDONLY;
	/* not mounted anywhere: read through a read-only loop device over
	 * each of its devices, which nothing the mount does can write through
	 * (a btrfs mounted here is mounted again from its own device: the
	 * kernel shares the one filesystem, a second device with its fsid
	 * would be refused) */
	if (!live && !(flags & LB_BTRFS_TOP_DIRECT)) {
		r = btrfs_devices(dev, &devs);
		if (r >= 0)
			r = loops_attach(devs, &loops, &lfds, &opts);
		if (r < 0) {
			strv_free(devs);
			return r;
		}
		src = loops[0];
	}
	data = lb_asprintf("subvolid=5%s%s", live ? "" : ",rescue=nologreplay", opts ? opts : "");
	r = lb_mount_dir_new(&tmpl);
	if (r >= 0) {
		r = mount(src, tmpl, "btrfs", mflags, data);
		if (r < 0 && !live && errno == EINVAL) {
			free(data);
			data = lb_asprintf("subvolid=5,nologreplay%s", opts ? opts : "");
			r = mount(src, tmpl, "btrfs", mflags, data);
		}
		if (r < 0) {
			int e = errno;

			lb_mount_dir_drop(tmpl);
			r = lb_err(-e, "cannot mount the top level of the btrfs on %s: %s", dev,
				   strerror(e));
		}
	}
	/* (autoclear: the loop devices go with the mount) */
	for (size_t i = 0; loops && loops[i]; i++)
		if (r < 0)
			lb_loop_detach(lfds[i]);
		else
			close(lfds[i]);
	strv_free(loops);
	if (r < 0) {
		btrfs_scan_again(devs);
		strv_free(devs);
		return r;
	}
	t = lb_zalloc(sizeof(*t));
	t->dir = TAKE_PTR(tmpl);
	t->live = live;
	t->devs = devs;
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
	/* (the capture's lock goes with its fd: unlocked first all the same,
	 * should a child have it still) */
	if (t->fd >= 0) {
		if (t->snap_locked)
			flock(t->fd, LOCK_UN);
		close(t->fd);
	}
	r = lb_umount_tmp(t->dir);
	btrfs_scan_again(t->devs);
	strv_free(t->devs);
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
		/* lifeboat's own snapshots (this capture's, another's, a killed
		 * one's) */
		if (!strchr(path, '/') && lb_btrfs_snap_name(path, NULL, NULL, NULL)) {
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
		if (sv->received_uuid) {
			sv->stransid = info.stransid;
			sv->stime = (uint64_t)info.stime.tv_sec;
			sv->stime_nsec = (uint32_t)info.stime.tv_nsec;
		}
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
	/* (none before the lock: a capture cleaning up would remove it) */
	if (!t->snap_locked)
		return lb_err(-EINVAL, "%s: no snapshot before lb_btrfs_snap_begin", t->dir);
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
	name = lb_asprintf("%s%d.%" PRIu64 ".%s", LB_BTRFS_SNAP_PREFIX, (int)getpid(), id,
			   t->snap_tag);
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

/* Every snapshot named as lifeboat's removed (the exclusive lock held: no
 * capture of this btrfs runs) but an older lifeboat's whose PID runs here
 * (it took no lock); how many, or the first error. */
static int remove_leftovers(const struct lb_btrfs_top *t)
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
		bool old;
		int r, fd;

		if (!lb_btrfs_snap_name(de->d_name, &pid, NULL, &old))
			continue;
		if (old && (pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH))
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

int lb_btrfs_snap_begin(struct lb_btrfs_top *t)
{
	int n = 0, r;

	if (flock(t->fd, LOCK_EX | LOCK_NB) == 0) {
		n = remove_leftovers(t);
	} else if (errno == EWOULDBLOCK) {
		lb_debug("btrfs", "%s: another capture of this btrfs runs (here or in another "
				  "PID namespace): the snapshots in its top level are left alone",
			 t->dir);
	} else {
		return lb_err(-errno, "%s: cannot lock it: %s", t->dir, strerror(errno));
	}
	/* (waits only for a capture removing leftovers) */
	if (flock(t->fd, LOCK_SH) < 0)
		return lb_err(-errno, "%s: cannot lock it: %s", t->dir, strerror(errno));
	r = lb_held_tag(t->snap_tag);
	if (r < 0) {
		flock(t->fd, LOCK_UN);
		return r;
	}
	t->snap_locked = true;
	return n;
}
