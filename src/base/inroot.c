// SPDX-License-Identifier: GPL-3.0-or-later
/* Files inside a filesystem whose contents lifeboat did not make (a
 * restored root): every path resolved below its root as openat2's
 * RESOLVE_IN_ROOT does, so no "..", symlink or mount leads out of it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "base/base.h"

int lb_open_in_root(int rootfd, const char *rel, int flags)
{
	/* (openat2 refuses O_PATH with any flag it ignores) */
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY | O_NONBLOCK)),
		.mode = (flags & O_CREAT) ? 0600 : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int lb_open_file_in_root(int rootfd, const char *rel, int flags, struct stat *ret_st)
{
	struct stat st;
	int path, fd;

	/* looked at first through O_PATH (which opens nothing), then opened,
	 * and the same inode still */
	path = lb_open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW);
	if (path < 0)
		return path;
	if (fstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(path);
		return -EINVAL;
	}
	close(path);
	fd = lb_open_in_root(rootfd, rel, flags | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	if (fstat(fd, ret_st) < 0 || ret_st->st_dev != st.st_dev || ret_st->st_ino != st.st_ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int lb_mkdir_in_root(int rootfd, const char *rel, int mode)
{
	_cleanup_free_ char *p = lb_strdup(rel);
	int fd = -1;

	for (char *s = p;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (*p) {
			fd = lb_open_in_root(rootfd, p, O_RDONLY | O_DIRECTORY);
			if (fd == -ENOENT) {
				/* made in its parent, resolved in the root
				 * (the parents before it exist by now) */
				char *slash = strrchr(p, '/');
				int pfd;

				if (slash) {
					*slash = '\0';
					pfd = lb_open_in_root(rootfd, p, O_RDONLY | O_DIRECTORY);
					*slash = '/';
				} else {
					pfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
				}
				if (pfd < 0)
					return -errno;
				if (mkdirat(pfd, slash ? slash + 1 : p, (mode_t)mode) < 0 && errno != EEXIST) {
					int e = -errno;

					close(pfd);
					return e;
				}
				close(pfd);
				fd = lb_open_in_root(rootfd, p, O_RDONLY | O_DIRECTORY);
			}
			if (fd < 0)
				return fd;
			if (c != '\0')
				close(fd);
		}
		if (c == '\0')
			break;
		*s = c;
	}
	return fd >= 0 ? fd : fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
}

int lb_write_file_in_root(int rootfd, const char *dir, const char *name, const void *buf, size_t len,
			  int mode)
{
	_cleanup_free_ char *tmp = lb_asprintf(".%s.lifeboat-%d", name, (int)getpid());
	int dfd, fd, r;

	if (strchr(name, '/') || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	dfd = lb_mkdir_in_root(rootfd, dir, 0755);
	if (dfd < 0)
		return dfd;
	unlinkat(dfd, tmp, 0);
	/* a new file, never one that is there: a link or a device planted
	 * under NAME is replaced by the rename, not written through */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	r = lb_pwrite_all(fd, buf, len, 0);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	else if (fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

