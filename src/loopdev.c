// SPDX-License-Identifier: GPL-3.0-or-later
/* Loop devices over sparse files, for drill: attached with autoclear and
 * partscan, so that the kernel detaches them and drops their partitions
 * when the last holder closes, even if lifeboat dies. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lifeboat.h"

int lb_loop_attach(const char *file, uint32_t sector_size, char **ret_path, int *ret_fd)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int ffd = open(file, O_RDWR | O_CLOEXEC);

	if (ctl < 0)
		return lb_err(-errno, "/dev/loop-control: %s", strerror(errno));
	if (ffd < 0)
		return lb_err(-errno, "%s: %s", file, strerror(errno));
	for (int attempt = 0; attempt < 16; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		_cleanup_free_ char *path = NULL;
		struct loop_config cfg;
		int lfd;

		if (n < 0)
			return lb_err(-errno, "no free loop device: %s", strerror(errno));
		path = lb_asprintf("/dev/loop%d", n);
		lfd = open(path, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			return lb_err(-errno, "%s: %s", path, strerror(errno));
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)ffd;
		cfg.block_size = sector_size;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN;
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
