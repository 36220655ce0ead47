// SPDX-License-Identifier: GPL-3.0-or-later
/* A disk's identity as the kernel tells it (sysfs): model, vendor, serial
 * (or the VPD page), WWN, transport, sector sizes and size, and udev's
 * by-id names when there is a udev. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "disk/disk.h"

char *lb_disk_sysattr(const char *sysname, const char *attr)
{
	_cleanup_free_ char *p = lb_asprintf("/sys/class/block/%s/%s", sysname, attr);
	char *s = NULL;

	if (lb_read_line(p, &s) < 0)
		return NULL;
	if (!*s) {
		free(s);
		return NULL;
	}
	return s;
}

/* The unit serial number VPD page (0x80): 4 header bytes, then the serial. */
static char *vpd_serial(const char *sysname)
{
	_cleanup_free_ char *p = lb_asprintf("/sys/class/block/%s/device/vpd_pg80", sysname);
	_cleanup_free_ char *buf = NULL;
	int n = lb_read_file(p, &buf, 4096);
	char *s;

	if (n <= 4)
		return NULL;
	s = lb_zalloc((size_t)n - 3);
	memcpy(s, buf + 4, (size_t)n - 4);
	lb_strstrip(s);
	if (!*s || !lb_utf8_is_printable(s)) {
		free(s);
		return NULL;
	}
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void lb_disk_scan_identity(struct lb_disk *d)
{
	uint64_t v;
	_cleanup_free_ char *rem = NULL;
	DIR *dir;
	struct dirent *de;

	d->model = lb_disk_sysattr(d->sysname, "device/model");
	d->vendor = lb_disk_sysattr(d->sysname, "device/vendor");
	d->serial = lb_disk_sysattr(d->sysname, "device/serial");
	if (!d->serial)
		d->serial = lb_disk_sysattr(d->sysname, "serial");
	if (!d->serial)
		d->serial = vpd_serial(d->sysname);
	d->wwn = lb_disk_sysattr(d->sysname, "wwid");
	if (!d->wwn)
		d->wwn = lb_disk_sysattr(d->sysname, "device/wwid");
	rem = lb_disk_sysattr(d->sysname, "removable");
	d->removable = rem && strcmp(rem, "1") == 0;
	if (strncmp(d->sysname, "nvme", 4) == 0)
		d->transport = lb_strdup("nvme");
	else if (strncmp(d->sysname, "vd", 2) == 0)
		d->transport = lb_strdup("virtio");
	else if (strncmp(d->sysname, "loop", 4) == 0)
		d->transport = lb_strdup("loop");
	else if (strncmp(d->sysname, "mmcblk", 6) == 0)
		d->transport = lb_strdup("mmc");
	else if (strncmp(d->sysname, "sd", 2) == 0)
		d->transport = lb_strdup("scsi");

	d->sector_size = 512;
	_cleanup_free_ char *lp = lb_asprintf("/sys/class/block/%s/queue/logical_block_size", d->sysname);
	if (lb_read_u64(lp, &v) == 0 && v >= 512 && v <= 65536)
		d->sector_size = (uint32_t)v;
	_cleanup_free_ char *pp = lb_asprintf("/sys/class/block/%s/queue/physical_block_size", d->sysname);
	d->physical_sector_size = d->sector_size;
	if (lb_read_u64(pp, &v) == 0 && v >= d->sector_size)
		d->physical_sector_size = (uint32_t)v;
	_cleanup_free_ char *sp = lb_asprintf("/sys/class/block/%s/size", d->sysname);
	if (lb_read_u64(sp, &v) == 0)
		d->size = v * 512 / d->sector_size;

	/* udev's names, when there is a udev */
	dir = opendir("/dev/disk/by-id");
	if (!dir)
		return;
	char **names = NULL;
	size_t n = 0;
	while ((de = readdir(dir))) {
		char target[PATH_MAX];
		_cleanup_free_ char *link = NULL;
		ssize_t len;
		const char *base;

		if (de->d_name[0] == '.')
			continue;
		link = lb_asprintf("/dev/disk/by-id/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		base = strrchr(target, '/');
		if (strcmp(base ? base + 1 : target, d->sysname) != 0)
			continue;
		names = lb_realloc_array(names, n + 1, sizeof(*names));
		names[n++] = lb_strdup(de->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		lb_disk_add_by_id(d, names[i]);
		free(names[i]);
	}
	free(names);
}

