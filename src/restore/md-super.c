// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A member's own UUID in an MD 1.x superblock (stack.h). mdadm --create
 * gives every member a random device UUID and has no option to choose it
 * (--update has none per device), so the recorded one is written into the
 * superblock of the stopped array: the superblock is found where its
 * version puts it (1.1 at the start, 1.2 4 KiB in, 1.0 at the end, 4 KiB
 * aligned), must carry its magic, version 1, its own offset and the
 * array's UUID, and only its device_uuid field and checksum change: the
 * write covers the superblock and its role table, nothing else.
 *
 * Layout (struct mdp_superblock_1, little endian, linux/raid/md_p.h):
 * magic at 0, major_version 4, set_uuid 16, super_offset 144, device_uuid
 * 168, sb_csum 216, max_dev 220, dev_roles (16 bits each) from 256. The
 * checksum is mdadm's calc_sb_1_csum: the 32-bit little-endian words of
 * the superblock and role table (sb_csum taken as 0) summed in 64 bits,
 * then the two halves added.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "restore/stack.h"

#define SB_MAGIC 0xa92b4efcU
#define SB_SIZE 256
#define SB_AREA 4096	/* what a 1.x superblock and its role table fit in */
#define OFF_MAGIC 0
#define OFF_MAJOR 4
#define OFF_SET_UUID 16
#define OFF_SUPER_OFFSET 144
#define OFF_DEVICE_UUID 168
#define OFF_CSUM 216
#define OFF_MAX_DEV 220

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* "8725ef60:7e445db1:..." or "8725ef60-7e44-...": 16 bytes, in order */
static int parse_uuid(const char *s, uint8_t out[16])
{
	size_t n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == ':' || *s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -EINVAL;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && !*s ? 0 : -EINVAL;
}

static uint32_t sb_csum(const uint8_t *sb, size_t size)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i + 4 <= size; i += 4)
		sum += i == OFF_CSUM ? 0 : le32(sb + i);
	if (size - i == 2)
		sum += (uint32_t)sb[i] | (uint32_t)sb[i + 1] << 8;
	return (uint32_t)((sum & 0xffffffffU) + (sum >> 32));
}

/* where version METADATA puts the superblock on a device of SIZE bytes */
static int sb_offset(const char *metadata, uint64_t size, uint64_t *ret)
{
	if (strcmp(metadata, "1.1") == 0)
		*ret = 0;
	else if (strcmp(metadata, "1.2") == 0)
		*ret = 4096;
	else if (strcmp(metadata, "1.0") == 0 && size >= 8192)
		*ret = ((size / 512 - 16) & ~(uint64_t)7) * 512;
	else
		return -EINVAL;
	return 0;
}

int lb_md_set_dev_uuid(const struct lb_md *md, const char *node, const char *dev_uuid)
{
	uint8_t sb[SB_AREA], set[16], dev[16];
	uint64_t size = 0, off = 0;
	uint32_t max_dev;
	size_t len;
	int fd, r;

	if (parse_uuid(md->uuid, set) < 0 || parse_uuid(dev_uuid, dev) < 0)
		return lb_err(-EINVAL, "%s: not a UUID: %s / %s", md->id, lb_esc(md->uuid),
			      lb_esc(dev_uuid));
	fd = open(node, O_RDWR | O_CLOEXEC | O_EXCL);
	if (fd < 0)
		return lb_err(-errno, "%s: cannot open it exclusively: %s", node, strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, &size) < 0 || sb_offset(md->metadata, size, &off) < 0 ||
	    off + SB_AREA > size) {
		r = lb_err(-EINVAL, "%s: no place for a %s superblock on %s", md->id,
			   lb_esc(md->metadata), node);
		goto out;
	}
	r = lb_pread_all(fd, sb, sizeof(sb), off);
	if (r < 0) {
		r = lb_err(r, "%s: cannot read the superblock of %s", md->id, node);
		goto out;
	}
	max_dev = le32(sb + OFF_MAX_DEV);
	if (le32(sb + OFF_MAGIC) != SB_MAGIC || le32(sb + OFF_MAJOR) != 1 ||
	    le64(sb + OFF_SUPER_OFFSET) != off / 512 || memcmp(sb + OFF_SET_UUID, set, 16) != 0 ||
	    max_dev > (SB_AREA - SB_SIZE) / 2) {
		r = lb_err(-EBADMSG, "%s: %s holds no superblock of array %s at byte %llu", md->id,
			   node, md->uuid, (unsigned long long)off);
		goto out;
	}
	len = SB_SIZE + (size_t)max_dev * 2;
	if (sb_csum(sb, len) != le32(sb + OFF_CSUM)) {
		r = lb_err(-EBADMSG, "%s: the superblock on %s fails its checksum", md->id, node);
		goto out;
	}
	memcpy(sb + OFF_DEVICE_UUID, dev, 16);
	put_le32(sb + OFF_CSUM, sb_csum(sb, len));
	r = lb_pwrite_all(fd, sb, len, off);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		r = lb_err(r, "%s: cannot write the superblock of %s", md->id, node);
out:
	close(fd);
	return r;
}
