// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Directories held by the process that made them, whichever PID namespace
 * looks at them: the mount points lb_mount_tmp makes under /tmp
 * (lifeboat-mnt.PID.TAG) and a capture's partial directory
 * (PARENT/.NAME.partial.PID.TAG, ops/capture.c). What a killed process
 * left is removed by the next one, which must tell it from what a running
 * one holds, wherever that one runs: in a container sharing /tmp or the
 * capture's parent, or on the host seen from a container. A PID tells
 * nothing there (kill(pid, 0) answers for this PID namespace: a process in
 * another looks dead, and had its mount point removed under it, which
 * detaches its private mount, or its partial capture removed as it wrote
 * it). What tells is a lock the kernel keeps for the directory itself and
 * drops when its holder dies: flock(), exclusive, taken as the directory
 * is made and held for as long as it is there (lb_held_mkdir). A cleanup
 * takes it exclusive without waiting and removes only what it got
 * (lb_held_take); a directory is not locked between its mkdir and its
 * flock, and a cleanup may remove it then: its maker, once it holds the
 * lock, finds it has no link left and makes another.
 *
 * TAG, 8 lowercase hex digits drawn at random, makes the name unique (two
 * processes in two PID namespaces may have one PID) and tells it from an
 * older lifeboat's, made without the lock (lifeboat-mnt.PID.XXXXXX from
 * mkdtemp, .NAME.partial.PID): those are removed as before, only when
 * their PID is not running here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/crypt.h"

/* makes another when a cleanup took the one made, at most */
#define TRIES 64
#define MNT_PREFIX "lifeboat-mnt."

bool lb_held_is_tag(const char *s)
{
	return strlen(s) == LB_HELD_TAG_LEN && strspn(s, "0123456789abcdef") == LB_HELD_TAG_LEN;
}

int lb_held_tag(char ret[LB_HELD_TAG_LEN + 1])
{
	uint8_t tag[LB_HELD_TAG_LEN / 2];
	int r = lb_random(tag, sizeof(tag));

	if (r < 0)
		return r;
	for (size_t j = 0; j < sizeof(tag); j++)
		snprintf(ret + 2 * j, 3, "%02x", tag[j]);
	return 0;
}

int lb_held_mkdir(const char *prefix, mode_t mode, char **ret_path, int *ret_fd)
{
	for (int i = 0; i < TRIES; i++) {
		char hex[LB_HELD_TAG_LEN + 1];
		_cleanup_free_ char *path = NULL;
		struct stat st;
		int r, fd;

		r = lb_held_tag(hex);
		if (r < 0)
			return r;
		path = lb_asprintf("%s%s", prefix, hex);
		if (mkdir(path, mode) < 0) {
			if (errno == EEXIST)
				continue;
			return lb_err(-errno, "cannot create %s: %s", path, strerror(errno));
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;	/* (a cleanup took it) */
			r = lb_err(-errno, "%s: %s", path, strerror(errno));
			rmdir(path);
			return r;
		}
		/* (waits only for a cleanup that took it before the lock) */
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
			r = lb_err(-errno, "%s: cannot lock it: %s", path, strerror(errno));
			close(fd);
			rmdir(path);
			return r;
		}
		if (st.st_nlink == 0) {
			close(fd);
			continue;
		}
		*ret_path = TAKE_PTR(path);
		*ret_fd = fd;
		return 0;
	}
	return lb_err(-EAGAIN, "cannot make a directory %s...: each one made was removed at once",
		      prefix);
}

int lb_held_take(int dirfd, const char *name, int *ret_fd)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	*ret_fd = -1;
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? 0 : -e;
	}
	*ret_fd = fd;
	return 1;
}

/* ---- mount points ------------------------------------------------------ */

/* this process's, each with its lock's fd, until removed */
static pthread_mutex_t mnt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mnt_dir {
	char *dir;
	int fd;
} *mnt_dirs;
static size_t n_mnt_dirs;

/* Whether /tmp/NAME is a mount point of a process gone, made by this
 * lifeboat (lb_held_take: *ret_fd locked) or an older one (its PID is not
 * running here). */
static bool stale_mount_dir(int dfd, const char *name, long *ret_pid, int *ret_fd)
{
	const char *p = name + strlen(MNT_PREFIX);
	char *end;
	long pid;

	*ret_fd = -1;
	if (strncmp(name, MNT_PREFIX, strlen(MNT_PREFIX)) != 0)
		return false;
	errno = 0;
	pid = strtol(p, &end, 10);
	if (errno || end == p || *end != '.' || pid <= 0)
		return false;
	*ret_pid = pid;
	if (lb_held_is_tag(end + 1))
		return lb_held_take(dfd, name, ret_fd) == 1;
	return pid != getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* The mount points lb_mount_tmp made for processes that are gone: a
 * lifeboat killed in its private mount namespace (lb_mounts_private) takes
 * its mounts with it and leaves their directories, empty. Each is removed
 * when empty (rmdir: never a mount point or anything with contents). */
static void clean_stale_mount_dirs(void)
{
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		long pid = 0;
		int fd;

		if (!stale_mount_dir(dfd, e->d_name, &pid, &fd))
			continue;
		if (unlinkat(dfd, e->d_name, AT_REMOVEDIR) == 0)
			lb_debug("mount", "removed /tmp/%s, left by process %ld", e->d_name, pid);
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
}

int lb_mount_dir_new(char **ret_dir)
{
	_cleanup_free_ char *prefix = NULL;
	char *dir = NULL;
	int fd = -1, r;

	clean_stale_mount_dirs();
	prefix = lb_asprintf("/tmp/" MNT_PREFIX "%d.", (int)getpid());
	r = lb_held_mkdir(prefix, 0700, &dir, &fd);
	if (r < 0)
		return lb_err(r, "cannot make a mount point: %s", lb_errmsg());
	pthread_mutex_lock(&mnt_lock);
	mnt_dirs = lb_realloc_array(mnt_dirs, n_mnt_dirs + 1, sizeof(*mnt_dirs));
	mnt_dirs[n_mnt_dirs].dir = lb_strdup(dir);
	mnt_dirs[n_mnt_dirs++].fd = fd;
	pthread_mutex_unlock(&mnt_lock);
	*ret_dir = dir;
	return 0;
}

void lb_mount_dir_drop(const char *dir)
{
	/* (removed before its lock goes: no other process takes it meanwhile) */
	rmdir(dir);
	pthread_mutex_lock(&mnt_lock);
	for (size_t i = 0; i < n_mnt_dirs; i++) {
		if (strcmp(mnt_dirs[i].dir, dir) != 0)
			continue;
		close(mnt_dirs[i].fd);
		free(mnt_dirs[i].dir);
		mnt_dirs[i] = mnt_dirs[--n_mnt_dirs];
		break;
	}
	pthread_mutex_unlock(&mnt_lock);
}
