// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The partition writer: recreate a recorded partition table exactly with
 * libfdisk (as sfdisk does, through a script of headers and partitions), put
 * back the boot-code areas, tell the kernel partition by partition through
 * BLKPG, and wipe stale signatures.
 *
 * Write order (src/plan/steps.c lays the steps out, src/restore/ carries
 * them out), for each disk to recreate in turn:
 *   1. wipe every signature blkid finds on the whole disk (old GPT headers
 *      at both ends, old filesystem or RAID superblocks);
 *   2. the new table (libfdisk: for GPT the backup entries and header, the
 *      primary entries and header, the protective MBR);
 *   3. the MBR boot-code area (bytes 0-439) and the post-MBR gap, each
 *      checked against its SHA-256 first;
 *   4. BLKPG: remove the kernel's old partitions, add the new ones, wait for
 *      their nodes;
 *   5. BIOS boot partition contents, checked first.
 * Then, once every disk has its table, each volume: wipe the signatures in
 * its range, then its image, or mkfs (and its archive's files).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libfdisk/libfdisk.h>

#include "base/base.h"
#include "model/model.h"
#include "disk/disk.h"

static int set_header_u64(struct fdisk_script *dp, const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return fdisk_script_set_header(dp, name, buf);
}

static int fdisk_fail(int r, const char *path, const char *what)
{
	return lb_err(r < 0 ? r : -EIO, "%s: %s: %s", path, what, strerror(r < 0 ? -r : EIO));
}

/* Builds the partition table for one recorded partition. */
static struct fdisk_partition *make_partition(struct fdisk_context *cxt, const struct lb_disk *rec,
					      const struct lb_partition *p)
{
	struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_label *lb = fdisk_get_label(cxt, rec->label == LB_LABEL_GPT ? "gpt" : "dos");
	struct fdisk_parttype *t;

	fdisk_partition_set_partno(pa, p->number - 1);
	fdisk_partition_set_start(pa, p->start);
	fdisk_partition_set_size(pa, p->size);
	fdisk_partition_size_explicit(pa, 1);	/* exact, never aligned */
	if (rec->label == LB_LABEL_GPT) {
		t = fdisk_label_get_parttype_from_string(lb, p->type);
		if (!t)
			t = fdisk_new_unknown_parttype(0, p->type);
	} else {
		unsigned code = (unsigned)strtoul(p->type, NULL, 16);

		t = fdisk_label_get_parttype_from_code(lb, code);
		if (!t)
			t = fdisk_new_unknown_parttype(code, NULL);
	}
	fdisk_partition_set_type(pa, t);
	fdisk_unref_parttype(t);
	if (p->uuid)
		fdisk_partition_set_uuid(pa, p->uuid);
	if (p->name)
		fdisk_partition_set_name(pa, p->name);
	return pa;
}

/* Lays out the recorded table in libfdisk's memory: label, identity, GPT
 * geometry, every partition exactly, attribute bits, bootable flags. */
static int table_build(struct fdisk_context *cxt, const struct lb_disk *rec, const char *path)
{
	struct fdisk_script *dp = NULL;
	struct fdisk_table *tb = NULL;
	int r;

	if (fdisk_get_sector_size(cxt) != rec->sector_size)
		return lb_err(-EINVAL, "%s: sector size %lu, recorded %u", path,
			      fdisk_get_sector_size(cxt), rec->sector_size);
	fdisk_disable_dialogs(cxt, 1);
	fdisk_enable_wipe(cxt, 1);
	dp = fdisk_new_script(cxt);
	tb = fdisk_new_table();
	fdisk_script_set_header(dp, "label", rec->label == LB_LABEL_GPT ? "gpt" : "dos");
	if (rec->signature)
		fdisk_script_set_header(dp, "label-id", rec->signature);
	fdisk_script_set_header(dp, "unit", "sectors");
	if (rec->label == LB_LABEL_GPT) {
		uint64_t size = fdisk_get_nsectors(cxt);

		if (rec->entries)
			set_header_u64(dp, "table-length", rec->entries);
		if (rec->first_lba)
			set_header_u64(dp, "first-lba", rec->first_lba);
		/* same size: the recorded end; larger: libfdisk puts the usable
		 * range's end and the backup header at the new end */
		if (rec->last_lba && size == rec->size)
			set_header_u64(dp, "last-lba", rec->last_lba);
	}
	for (size_t i = 0; i < rec->n_parts; i++) {
		struct fdisk_partition *pa = make_partition(cxt, rec, rec->parts[i]);

		fdisk_table_add_partition(tb, pa);
		fdisk_unref_partition(pa);
	}
	fdisk_script_set_table(dp, tb);
	r = fdisk_apply_script(cxt, dp);
	if (r < 0) {
		r = fdisk_fail(r, path, "libfdisk cannot lay out the recorded table");
		goto out;
	}
	for (size_t i = 0; i < rec->n_parts; i++) {
		const struct lb_partition *p = rec->parts[i];

		if (rec->label == LB_LABEL_GPT && p->attrs) {
			r = fdisk_gpt_set_partition_attrs(cxt, p->number - 1, p->attrs);
			if (r < 0) {
				r = fdisk_fail(r, path, "cannot set GPT attribute bits");
				goto out;
			}
		}
		if (rec->label == LB_LABEL_DOS && p->bootable) {
			r = fdisk_toggle_partition_flag(cxt, p->number - 1, DOS_FLAG_ACTIVE);
			if (r < 0) {
				r = fdisk_fail(r, path, "cannot set the bootable flag");
				goto out;
			}
		}
	}
	/* what libfdisk made must be what was recorded, partition by
	 * partition (it may place things its own way where unsure) */
	for (size_t i = 0; i < rec->n_parts; i++) {
		const struct lb_partition *p = rec->parts[i];
		struct fdisk_partition *pa = NULL;

		if (fdisk_get_partition(cxt, p->number - 1, &pa) < 0 ||
		    fdisk_partition_get_start(pa) != p->start ||
		    (p->kind != LB_PART_EXTENDED && fdisk_partition_get_size(pa) != p->size)) {
			fdisk_unref_partition(pa);
			r = lb_err(-ERANGE, "%s: libfdisk would not make partition %u exactly as recorded",
				   path, p->number);
			goto out;
		}
		fdisk_unref_partition(pa);
	}
	r = 0;
out:
	fdisk_unref_table(tb);
	fdisk_unref_script(dp);
	return r;
}

/* A scratch file of bytes for the rehearsal, holding nothing: a memfd
 * (tmpfs, files up to 8 EiB: a file in TMPDIR on ext4 stops at 16 TiB),
 * with no name anywhere, so nothing is left behind if lifeboat is killed;
 * where there is no memfd, an unnamed O_TMPFILE in TMPDIR. */
static int scratch_fd(uint64_t bytes)
{
	const char *tmpdir = getenv("TMPDIR");
	int fd = memfd_create("lifeboat-table", MFD_CLOEXEC);

	if (fd < 0 && (errno == ENOSYS || errno == EINVAL))
		fd = open(tmpdir && *tmpdir ? tmpdir : "/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0)
		return lb_err(-errno, "cannot make a scratch file to check the table: %s", strerror(errno));
	if (bytes > INT64_MAX || ftruncate(fd, (off_t)bytes) < 0) {
		int r = lb_err(bytes > INT64_MAX ? -EFBIG : -errno,
			       "cannot size the scratch file to check the table (%" PRIu64 " bytes): %s",
			       bytes, strerror(bytes > INT64_MAX ? EFBIG : errno));

		close(fd);
		return r;
	}
	return fd;
}

/* The table laid out on a sparse scratch file of the target's size and
 * sector size, never on the disk: a layout libfdisk cannot make (overlaps,
 * partitions outside the usable range, logicals outside their extended
 * partition) is found while planning, before any write. */
int lb_table_check(const struct lb_disk *rec, uint64_t target_sectors)
{
	struct fdisk_context *cxt;
	int fd, r;

	fd = scratch_fd(target_sectors * rec->sector_size);
	if (fd < 0)
		return fd;
	cxt = fdisk_new_context();
	if (!cxt) {
		close(fd);
		return lb_err(-ENOMEM, "cannot set up libfdisk");
	}
	fdisk_save_user_sector_size(cxt, rec->physical_sector_size ? rec->physical_sector_size
								   : rec->sector_size,
				    rec->sector_size);
	r = fdisk_assign_device_by_fd(cxt, fd, "scratch", 0);
	if (r < 0)
		r = fdisk_fail(r, "scratch file", "libfdisk cannot open the scratch file");
	else
		r = table_build(cxt, rec, rec->id);
	/* the fd is the caller's: libfdisk does not close it */
	fdisk_unref_context(cxt);
	close(fd);
	return r;
}

int lb_table_write(const struct lb_disk *rec, const char *path, int fd)
{
	struct fdisk_context *cxt = fdisk_new_context();
	int r;

	(void)fd;
	if (!cxt)
		return lb_err(-ENOMEM, "cannot set up libfdisk");
	r = fdisk_assign_device(cxt, path, 0);
	if (r < 0) {
		r = fdisk_fail(r, path, "libfdisk cannot open the disk");
		goto out;
	}
	r = table_build(cxt, rec, path);
	if (r < 0)
		goto out;
	r = fdisk_write_disklabel(cxt);
	if (r < 0) {
		r = fdisk_fail(r, path, "cannot write the partition table");
		goto out;
	}
	/* nosync: 0 would sync() every filesystem on the machine; this
	 * device is fsynced by the caller */
	r = fdisk_deassign_device(cxt, 1);
	if (r < 0)
		r = fdisk_fail(r, path, "cannot close the disk");
out:
	fdisk_unref_context(cxt);
	return r;
}

/* ---- the kernel's view ------------------------------------------------- */

static int blkpg(int fd, int op, int pno, long long start, long long length)
{
	struct blkpg_partition part = { .start = start, .length = length, .pno = pno };
	struct blkpg_ioctl_arg arg = { .op = op, .datalen = sizeof(part), .data = &part };

	return ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
}

/* The kernel partitions of a disk: numbers from sysfs. */
static size_t kernel_partitions(const char *sysname, uint32_t *nums, size_t max)
{
	_cleanup_free_ char *dirpath = lb_asprintf("/sys/class/block/%s", sysname);
	DIR *dir = opendir(dirpath);
	struct dirent *de;
	size_t n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < max) {
		_cleanup_free_ char *pf = NULL, *num = NULL;

		if (strncmp(de->d_name, sysname, strlen(sysname)) != 0)
			continue;
		pf = lb_asprintf("%s/%s/partition", dirpath, de->d_name);
		if (lb_read_line(pf, &num) == 0 && lb_parse_u32(num, &nums[n]) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

/* The sysfs name of partition number of a disk (loop0p2, sda2). */
int lb_partition_node_name(const char *sysname, uint32_t number, char **ret)
{
	_cleanup_free_ char *dirpath = lb_asprintf("/sys/class/block/%s", sysname);
	DIR *dir = opendir(dirpath);
	struct dirent *de;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		_cleanup_free_ char *pf = NULL, *num = NULL;
		uint32_t pn;

		if (strncmp(de->d_name, sysname, strlen(sysname)) != 0)
			continue;
		pf = lb_asprintf("%s/%s/partition", dirpath, de->d_name);
		if (lb_read_line(pf, &num) == 0 && lb_parse_u32(num, &pn) == 0 && pn == number) {
			*ret = lb_strdup(de->d_name);
			closedir(dir);
			return 0;
		}
	}
	closedir(dir);
	return -ENOENT;
}

static bool dev_is_devtmpfs(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		char mp[1024], type[64];

		if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) == 1 && strcmp(mp, "/dev") == 0 &&
		    strstr(line, " - ") && sscanf(strstr(line, " - "), " - %63s", type) == 1)
			return strcmp(type, "devtmpfs") == 0;
	}
	return false;
}

int lb_partition_node(const char *sysname, uint32_t number, char **ret)
{
	_cleanup_free_ char *name = NULL, *devf = NULL, *dev = NULL;
	unsigned maj, min;
	struct stat st;
	int r;

	r = lb_partition_node_name(sysname, number, &name);
	if (r < 0)
		return r;
	devf = lb_asprintf("/sys/class/block/%s/%s/dev", sysname, name);
	if (lb_read_line(devf, &dev) < 0 || sscanf(dev, "%u:%u", &maj, &min) != 2)
		return -EIO;
	*ret = lb_asprintf("/dev/%s", name);
	/* devtmpfs makes the node; wait for it, and make it ourselves where
	 * nothing does (a bare /dev) */
	for (int i = 0; i < 500; i++) {
		if (stat(*ret, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == makedev(maj, min))
			return 0;
		usleep(20000);
	}
	/* devtmpfs makes every node itself and never removes one made by
	 * someone else: a node of ours would outlive the partition */
	if (dev_is_devtmpfs()) {
		r = -ETIMEDOUT;
		free(*ret);
		*ret = NULL;
		return r;
	}
	unlink(*ret);
	if (mknod(*ret, S_IFBLK | 0600, makedev(maj, min)) < 0) {
		r = -errno;
		free(*ret);
		*ret = NULL;
		return r;
	}
	return 0;
}

/* True when the kernel already has exactly the recorded partitions. */
static bool kernel_agrees(const struct lb_disk *rec, const char *sysname)
{
	uint32_t nums[256];
	size_t n = kernel_partitions(sysname, nums, LB_ARRAY_SIZE(nums)), want = 0;

	for (size_t i = 0; i < rec->n_parts; i++) {
		const struct lb_partition *p = rec->parts[i];
		_cleanup_free_ char *node = NULL, *sp = NULL, *zp = NULL;
		uint64_t start = 0, size = 0;

		want++;
		if (lb_partition_node_name(sysname, p->number, &node) < 0)
			return false;
		sp = lb_asprintf("/sys/class/block/%s/%s/start", sysname, node);
		zp = lb_asprintf("/sys/class/block/%s/%s/size", sysname, node);
		if (lb_read_u64(sp, &start) < 0 || lb_read_u64(zp, &size) < 0 ||
		    start * 512 != p->start * rec->sector_size ||
		    (p->kind != LB_PART_EXTENDED && size * 512 != p->size * rec->sector_size))
			return false;
	}
	return n == want;
}

/* Makes sure the kernel knows an intact disk's partitions (after an
 * interruption before BLKPG, or where nothing parsed the table). */
int lb_kernel_ensure_partitions(const struct lb_disk *rec, const char *sysname, int fd)
{
	if (kernel_agrees(rec, sysname))
		return 0;
	return lb_kernel_update_partitions(rec, sysname, fd);
}

int lb_kernel_update_partitions(const struct lb_disk *rec, const char *sysname, int fd)
{
	uint32_t nums[256];
	size_t n = kernel_partitions(sysname, nums, LB_ARRAY_SIZE(nums));
	long long ss = rec->sector_size;

	for (size_t i = 0; i < n; i++) {
		int r = blkpg(fd, BLKPG_DEL_PARTITION, (int)nums[i], 0, 0);

		if (r < 0 && r != -ENXIO)
			return lb_err(r, "%s: the kernel will not drop partition %u: %s", sysname, nums[i],
				      strerror(-r));
	}
	for (size_t i = 0; i < rec->n_parts; i++) {
		const struct lb_partition *p = rec->parts[i];
		/* like the kernel's own parser and libparted: an extended
		 * partition shows as its first sector only, so nothing can be
		 * written through it */
		long long len = p->kind == LB_PART_EXTENDED ? ss : (long long)p->size * ss;
		int r = blkpg(fd, BLKPG_ADD_PARTITION, (int)p->number, (long long)p->start * ss, len);

		if (r < 0)
			return lb_err(r, "%s: the kernel will not add partition %u: %s", sysname, p->number,
				      strerror(-r));
	}
	for (size_t i = 0; i < rec->n_parts; i++) {
		_cleanup_free_ char *node = NULL;
		int r;

		if (rec->parts[i]->kind == LB_PART_EXTENDED)
			continue;
		r = lb_partition_node(sysname, rec->parts[i]->number, &node);
		if (r < 0)
			return lb_err(r, "%s: no device node for partition %u: %s", sysname,
				      rec->parts[i]->number, strerror(-r));
	}
	return 0;
}

/* ---- wiping ------------------------------------------------------------ */

int lb_wipe_signatures(int fd, uint64_t offset, uint64_t size, uint32_t sector_size)
{
	blkid_probe pr = blkid_new_probe();
	int r = 0, n = 0;

	if (!pr)
		return lb_err(-ENOMEM, "cannot set up blkid");
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)size) < 0) {
		blkid_free_probe(pr);
		return lb_err(-EIO, "blkid cannot probe at offset %" PRIu64, offset);
	}
	blkid_probe_set_sectorsize(pr, sector_size);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC | BLKID_PARTS_FORCE_GPT);
	while (blkid_do_probe(pr) == 0 && n++ < 64) {
		if (blkid_do_wipe(pr, 0) < 0) {
			r = lb_err(-EIO, "cannot wipe a signature at offset %" PRIu64, offset);
			break;
		}
	}
	blkid_free_probe(pr);
	return r;
}

/* Reads a device range straight from the device (O_DIRECT: not the page
 * cache, and no gigabytes of cached zeros) and checks it is all zero. */
int lb_verify_zero(const char *path, uint64_t offset, uint64_t size)
{
	size_t bufsz = 4 << 20;
	void *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT), r = 0;

	if (fd < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	if (posix_memalign(&buf, 4096, bufsz) != 0) {
		close(fd);
		return lb_err(-ENOMEM, "out of memory");
	}
	for (uint64_t done = 0; done < size && r >= 0;) {
		size_t n = size - done < bufsz ? (size_t)(size - done) : bufsz;

		r = lb_pread_all(fd, buf, n, offset + done);
		if (r < 0)
			r = lb_err(r, "%s: cannot read back at %" PRIu64 ": %s", path, offset + done,
				   strerror(-r));
		else if (!lb_is_zero(buf, n))
			r = lb_err(-EIO, "%s: read back non-zero data at %" PRIu64 " after zeroing", path,
				   offset + done);
		done += n;
	}
	free(buf);
	close(fd);
	return r;
}

/* Zeroes a range (BLKZEROOUT, else plain writes), then reads it back. */
int lb_zero_range(int fd, uint64_t offset, uint64_t size, bool verify)
{
	uint64_t range[2] = { offset, size };
	size_t bufsz = 4 << 20;
	_cleanup_free_ uint8_t *buf = lb_zalloc(bufsz);

	if (ioctl(fd, BLKZEROOUT, range) < 0) {
		for (uint64_t done = 0; done < size;) {
			size_t n = size - done < bufsz ? (size_t)(size - done) : bufsz;
			int r = lb_pwrite_all(fd, buf, n, offset + done);

			if (r < 0)
				return lb_err(r, "cannot write zeros at %" PRIu64 ": %s", offset + done,
					      strerror(-r));
			done += n;
		}
		if (fdatasync(fd) < 0)
			return lb_err(-errno, "cannot sync: %s", strerror(errno));
	}
	if (!verify)
		return 0;
	posix_fadvise(fd, (off_t)offset, (off_t)size, POSIX_FADV_SEQUENTIAL);
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < bufsz ? (size_t)(size - done) : bufsz;
		int r = lb_pread_all(fd, buf, n, offset + done);

		if (r < 0)
			return lb_err(r, "cannot read back at %" PRIu64 ": %s", offset + done, strerror(-r));
		if (!lb_is_zero(buf, n))
			return lb_err(-EIO, "read back non-zero data at %" PRIu64 " after zeroing",
				      offset + done);
		done += n;
	}
	return 0;
}
