// SPDX-License-Identifier: GPL-3.0-or-later
/* Loop devices over sparse files, for drill: attached with autoclear and
 * partscan, so that the kernel detaches them and drops their partitions
 * when the last holder closes, even if lifeboat dies. And read-only loop
 * devices over volumes lifeboat mounts only to read (lb_mount_tmp). */
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <pthread.h>
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

/* A btrfs device read through a loop device is registered with the kernel
 * as that loop (same fsid, devid, device UUID and generation: the last one
 * scanned wins), and stays so once the loop is gone: a btrfs over several
 * devices then no longer mounts from its others ("devid N is missing")
 * until NODE is scanned again, which this does (btrfs device scan NODE).
 * Said as a warning when it cannot be. */
void lb_loop_btrfs_rescan(const char *node)
{
	struct btrfs_ioctl_vol_args args = { 0 };
	int fd;

	if (strlen(node) >= sizeof(args.name))
		return;
	memcpy(args.name, node, strlen(node) + 1);
	fd = open("/dev/btrfs-control", O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BTRFS_IOC_SCAN_DEV, &args) < 0)
		lb_warn("%s: cannot register its btrfs with the kernel again after reading it "
			"through a loop device (btrfs device scan %s does): %s",
			node, node, strerror(errno));
	else
		lb_debug("loop", "%s: its btrfs registered again in its loop device's place", node);
	if (fd >= 0)
		close(fd);
}

/* the btrfs mounted through a read-only loop device: each mount point's node */
static pthread_mutex_t ro_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *dir, *node;
} *ro;
static size_t n_ro;

void lb_loop_btrfs_mounted(const char *dir, const char *node)
{
	pthread_mutex_lock(&ro_lock);
	ro = lb_realloc_array(ro, n_ro + 1, sizeof(*ro));
	ro[n_ro].dir = lb_strdup(dir);
	ro[n_ro++].node = lb_strdup(node);
	pthread_mutex_unlock(&ro_lock);
}

void lb_loop_btrfs_unmounted(const char *dir)
{
	char *node = NULL;

	pthread_mutex_lock(&ro_lock);
	for (size_t i = 0; i < n_ro; i++)
		if (strcmp(ro[i].dir, dir) == 0) {
			node = ro[i].node;
			free(ro[i].dir);
			ro[i] = ro[--n_ro];
			break;
		}
	pthread_mutex_unlock(&ro_lock);
	if (node)
		lb_loop_btrfs_rescan(node);
	free(node);
}
