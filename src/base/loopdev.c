// SPDX-License-Identifier: GPL-3.0-or-later
/* Loop devices over sparse files, for drill: attached with autoclear and
 * partscan, so that the kernel detaches them and drops their partitions
 * when the last holder closes, even if lifeboat dies. And read-only loop
 * devices over volumes lifeboat mounts only to read (lb_mount_tmp). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/base.h"

/* A free loop device over the open file ffd (named file), configured
 * with flags. */
static int attach(int ffd, const char *file, uint32_t sector_size, uint32_t flags, bool rw,
		  char **ret_path, int *ret_fd)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		return lb_err(-errno, "/dev/loop-control: %s", strerror(errno));
	for (int attempt = 0; attempt < 16; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		_cleanup_free_ char *path = NULL;
		struct loop_config cfg;
		int lfd;

		if (n < 0)
			return lb_err(-errno, "no free loop device: %s", strerror(errno));
		path = lb_asprintf("/dev/loop%d", n);
		lfd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (lfd < 0)
			return lb_err(-errno, "%s: %s", path, strerror(errno));
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)ffd;
		cfg.block_size = sector_size;
		cfg.info.lo_flags = flags;
		strncpy((char *)cfg.info.lo_file_name, file, LO_NAME_SIZE - 1);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			*ret_path = TAKE_PTR(path);
			*ret_fd = lfd;
			return 0;
		}
		close(lfd);
		if (errno != EBUSY)
			return lb_err(-errno, "%s: cannot attach %s: %s", path, file, strerror(errno));
	}
	return lb_err(-EBUSY, "no loop device could be had for %s", file);
}

int lb_loop_attach(const char *file, uint32_t sector_size, char **ret_path, int *ret_fd)
{
	_cleanup_close_ int ffd = open(file, O_RDWR | O_CLOEXEC);

	if (ffd < 0)
		return lb_err(-errno, "%s: %s", file, strerror(errno));
	return attach(ffd, file, sector_size, LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN, true, ret_path,
		      ret_fd);
}

/* A read-only loop device over the block device (or file) node, with its
 * logical sector size: the kernel sees a read-only device, so nothing
 * mounted from it writes node, not even where a read-only mount would
 * (ext4 cleans up orphan inodes on a read-only mount of a writable
 * device, journal or not). Autoclear: it goes when its last user does. */
int lb_loop_attach_ro(const char *node, char **ret_path, int *ret_fd)
{
	_cleanup_close_ int ffd = open(node, O_RDONLY | O_CLOEXEC);
	int ss = 0;

	if (ffd < 0)
		return lb_err(-errno, "%s: %s", node, strerror(errno));
	if (ioctl(ffd, BLKSSZGET, &ss) < 0)
		ss = 0;		/* a file: the loop's default */
	return attach(ffd, node, (uint32_t)ss, LO_FLAGS_AUTOCLEAR | LO_FLAGS_READ_ONLY, false, ret_path,
		      ret_fd);
}

int lb_loop_detach(int fd)
{
	int r = 0;

	if (fd < 0)
		return 0;
	if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
		r = -errno;
	close(fd);
	return r;
}
