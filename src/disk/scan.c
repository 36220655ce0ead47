// SPDX-License-Identifier: GPL-3.0-or-later
/* The scanner: finds this machine's fixed disks in sysfs and records each
 * one's identity, partition table (libfdisk), volumes (libblkid and the
 * per-filesystem readers) and boot-code areas. Reads only. */
#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libfdisk/libfdisk.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "disk/disk.h"

#define GPT_TYPE_BIOS_BOOT "21686148-6449-6E6F-744E-656564454649"
#define BIOS_BOOT_MAX (16u << 20)
#define MBR_GAP_MAX (64u << 20)

/* Kinds of block device that are never fixed disks unless named. */
static bool skip_by_name(const char *name)
{
	static const char *const prefixes[] = {
		"loop", "ram", "zram", "sr", "fd", "dm-", "md", "nbd", "mtdblock", "drbd", "rbd",
	};

	for (size_t i = 0; i < LB_ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* The kernel's names for a disk's partitions, by number (loop0p2, sda2),
 * read with one listing of the disk's sysfs directory. */
static char **partition_names(const char *sysname, uint32_t *ret_n)
{
	_cleanup_free_ char *dirpath = lb_asprintf("/sys/class/block/%s", sysname);
	DIR *dir = opendir(dirpath);
	struct dirent *de;
	char **names = NULL;
	uint32_t n = 0;

	*ret_n = 0;
	if (!dir)
		return NULL;
	while ((de = readdir(dir))) {
		_cleanup_free_ char *pf = NULL, *num = NULL;
		uint32_t pn;

		if (strncmp(de->d_name, sysname, strlen(sysname)) != 0)
			continue;
		pf = lb_asprintf("%s/%s/partition", dirpath, de->d_name);
		if (lb_read_line(pf, &num) < 0 || lb_parse_u32(num, &pn) < 0 || pn > 65536)
			continue;
		if (pn >= n) {
			names = lb_realloc_array(names, pn + 1, sizeof(*names));
			memset(names + n, 0, (pn + 1 - n) * sizeof(*names));
			n = pn + 1;
		}
		free(names[pn]);
		names[pn] = lb_strdup(de->d_name);
	}
	closedir(dir);
	*ret_n = n;
	return names;
}

static void free_names(char **names, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The partition's node and device number, when the kernel has one. */
static void find_part_node(const char *sysname, char *const *names, uint32_t n_names, uint32_t n,
			   struct lb_partition *p, struct lb_volume *v)
{
	_cleanup_free_ char *devf = NULL, *dev = NULL;

	if (n >= n_names || !names[n])
		return;
	p->path = lb_asprintf("/dev/%s", names[n]);
	devf = lb_asprintf("/sys/class/block/%s/%s/dev", sysname, names[n]);
	if (lb_read_line(devf, &dev) == 0)
		sscanf(dev, "%u:%u", &v->rt_major, &v->rt_minor);
}

static int probe_volume(const struct lb_disk *d, int fd, struct lb_volume *v)
{
	blkid_probe pr = blkid_new_probe();
	const char *val;
	int r;

	if (!pr)
		return lb_err(-ENOMEM, "%s: cannot set up blkid", d->path);
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)v->rt_offset, (blkid_loff_t)v->rt_size) < 0) {
		blkid_free_probe(pr);
		return lb_err(-EIO, "%s: blkid cannot probe at offset %" PRIu64, d->path, v->rt_offset);
	}
	blkid_probe_set_sectorsize(pr, d->sector_size);
	blkid_probe_enable_partitions(pr, 0);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
						      BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
						      BLKID_SUBLKS_VERSION);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &val, NULL) == 0)
			v->type = lb_strdup(val);
		if (blkid_probe_lookup_value(pr, "USAGE", &val, NULL) == 0)
			v->usage = lb_strdup(val);
		if (blkid_probe_lookup_value(pr, "VERSION", &val, NULL) == 0)
			v->version = lb_strdup(val);
		if (blkid_probe_lookup_value(pr, "UUID", &val, NULL) == 0)
			v->uuid = lb_strdup(val);
		if (blkid_probe_lookup_value(pr, "UUID_SUB", &val, NULL) == 0)
			v->uuid_sub = lb_strdup(val);
		if (blkid_probe_lookup_value(pr, "LABEL", &val, NULL) == 0)
			v->label = lb_strdup(val);
	} else if (r == -2) {
		v->type = lb_strdup("ambiguous");
	}
	blkid_free_probe(pr);
	if (!v->type)
		v->type = lb_strdup("raw");
	return 0;
}

/* Probes a volume and reads the geometry that recreating it needs. */
static int scan_volume(const struct lb_disk *d, int fd, const struct lb_sysinfo *si,
		       struct lb_volume *v, struct lb_manifest *warnings, bool geometry)
{
	const struct lb_mount *mt;
	int r;

	r = probe_volume(d, fd, v);
	if (r < 0)
		return r;
	r = geometry ? lb_fs_read_geom(v, d->path, fd) : 0;
	if (r < 0) {
		/* one odd volume does not stop a capture: it is recorded with
		 * its identity, and a restore makes it with mkfs defaults */
		if (warnings)
			lb_manifest_warn(warnings, "%s: %s geometry not recorded: %s", v->id, v->type,
					 lb_errmsg());
		r = 0;
	}

	if (v->rt_major || v->rt_minor) {
		/* by the source too: a btrfs (every device of it), FUSE or ZFS
		 * mount has an anonymous 0:N device number, not the volume's */
		mt = lb_sysinfo_find_mount_on(si, v->rt_major, v->rt_minor);
		if (mt) {
			v->mountpoint = lb_strdup(mt->target);
			v->mount_options = lb_strdup(mt->options);
			v->rt_writable = mt->sb_rw;
			v->critical = lb_mountpoint_is_critical(mt->target);
		}
		if (lb_sysinfo_is_swap(si, v->rt_major, v->rt_minor)) {
			v->swap_active = true;
			v->critical = true;
		}
	}
	/* a ZFS member's label is its pool's name */
	if (strcmp(v->type, "zfs_member") == 0 && lb_sysinfo_zfs_imported(si, v->label))
		v->rt_in_use = lb_asprintf("a member of the ZFS pool %s, imported here",
					   lb_utf8_is_printable(v->label) ? v->label : "(unprintable name)");
	return 0;
}

/* Saves len bytes of the disk at off as an artifact, when not all zero. */
static int save_area(const struct lb_disk *d, int fd, const char *outdir, const char *file,
		     uint64_t off, size_t len, struct lb_artifact **ret, bool *ret_blank)
{
	_cleanup_free_ uint8_t *buf = lb_zalloc(len);
	int r;

	*ret = NULL;
	r = lb_pread_all(fd, buf, len, off);
	if (r < 0)
		return lb_err(r, "%s: cannot read %zu bytes at %" PRIu64 ": %s", d->path, len, off,
			      strerror(-r));
	if (ret_blank)
		*ret_blank = lb_is_zero(buf, len);
	if (lb_is_zero(buf, len) || !outdir)
		return 0;
	return lb_artifact_save(outdir, file, buf, len, ret);
}

static int scan_table(struct lb_disk *d, struct fdisk_context *cxt)
{
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *itr = NULL;
	struct fdisk_partition *pa;
	char *id = NULL;
	int r;

	if (fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT))
		d->label = LB_LABEL_GPT;
	else if (fdisk_is_labeltype(cxt, FDISK_DISKLABEL_DOS))
		d->label = LB_LABEL_DOS;
	else
		return lb_err(-EOPNOTSUPP, "%s: %s partition tables are not supported", d->path,
			      fdisk_label_get_name(fdisk_get_label(cxt, NULL)));

	if (fdisk_get_disklabel_id(cxt, &id) == 0 && id) {
		d->signature = id;
		if (d->label == LB_LABEL_DOS)
			for (char *s = d->signature + 2; *s; s++)
				*s = (char)tolower((unsigned char)*s);
	}
	if (d->label == LB_LABEL_GPT) {
		static const struct {
			int item;
			size_t off;
		} items[] = {
			{ GPT_LABELITEM_FIRSTLBA, offsetof(struct lb_disk, first_lba) },
			{ GPT_LABELITEM_LASTLBA, offsetof(struct lb_disk, last_lba) },
			{ GPT_LABELITEM_ALTLBA, offsetof(struct lb_disk, alt_lba) },
			{ GPT_LABELITEM_ENTRIESLBA, offsetof(struct lb_disk, entries_lba) },
		};
		struct fdisk_labelitem *li = fdisk_new_labelitem();
		uint64_t v;

		for (size_t i = 0; i < LB_ARRAY_SIZE(items); i++)
			if (fdisk_get_disklabel_item(cxt, items[i].item, li) == 0 &&
			    fdisk_labelitem_get_data_u64(li, &v) == 0)
				*(uint64_t *)((char *)d + items[i].off) = v;
		if (fdisk_get_disklabel_item(cxt, GPT_LABELITEM_ENTRIESALLOC, li) == 0 &&
		    fdisk_labelitem_get_data_u64(li, &v) == 0)
			d->entries = (uint32_t)v;
		fdisk_unref_labelitem(li);
	}

	r = fdisk_get_partitions(cxt, &tb);
	if (r < 0)
		return lb_err(r, "%s: cannot read the partition table", d->path);
	itr = fdisk_new_iter(FDISK_ITER_FORWARD);
	while (fdisk_table_next_partition(tb, itr, &pa) == 0) {
		struct lb_partition *p;
		struct fdisk_parttype *t;
		const char *s;

		if (!fdisk_partition_has_partno(pa) || !fdisk_partition_has_start(pa) ||
		    !fdisk_partition_has_size(pa))
			continue;
		p = lb_partition_new();
		p->number = (uint32_t)fdisk_partition_get_partno(pa) + 1;
		p->start = fdisk_partition_get_start(pa);
		p->size = fdisk_partition_get_size(pa);
		t = fdisk_partition_get_type(pa);
		if (d->label == LB_LABEL_GPT) {
			uint64_t attrs = 0;

			if (t && (s = fdisk_parttype_get_string(t)))
				p->type = lb_strdup(s);
			if ((s = fdisk_partition_get_uuid(pa)))
				p->uuid = lb_strdup(s);
			if ((s = fdisk_partition_get_name(pa)) && *s)
				p->name = lb_strdup(s);
			if (fdisk_gpt_get_partition_attrs(cxt, p->number - 1, &attrs) == 0)
				p->attrs = attrs;
		} else {
			p->type = lb_asprintf("0x%02x", t ? fdisk_parttype_get_code(t) : 0);
			p->bootable = fdisk_partition_is_bootable(pa);
			if (fdisk_partition_is_container(pa))
				p->kind = LB_PART_EXTENDED;
			else if (fdisk_partition_is_nested(pa))
				p->kind = LB_PART_LOGICAL;
		}
		lb_disk_add_partition(d, p);
	}
	fdisk_free_iter(itr);
	fdisk_unref_table(tb);
	return 0;
}

static int scan_partitions(struct lb_disk *d, int fd, const struct lb_sysinfo *si,
			   const char *outdir, struct lb_manifest *warnings, bool geometry)
{
	uint32_t n_names = 0;
	char **names = partition_names(d->sysname, &n_names);
	int ret = 0;

	for (size_t i = 0; i < d->n_parts; i++) {
		struct lb_partition *p = d->parts[i];
		struct lb_volume *v;
		int r;

		if (p->kind == LB_PART_EXTENDED)
			continue;
		v = lb_volume_new();
		p->volume = v;
		v->id = lb_asprintf("%sp%u", d->id, p->number);
		v->rt_offset = p->start * d->sector_size;
		v->rt_size = p->size * d->sector_size;
		find_part_node(d->sysname, names, n_names, p->number, p, v);
		r = scan_volume(d, fd, si, v, warnings, geometry);
		if (r < 0) {
			ret = r;
			break;
		}
		if (p->type && strcasecmp(p->type, GPT_TYPE_BIOS_BOOT) == 0 && v->rt_size <= BIOS_BOOT_MAX) {
			_cleanup_free_ char *file = lb_asprintf("%s-bios-boot.bin", v->id);

			r = save_area(d, fd, outdir, file, v->rt_offset, (size_t)v->rt_size, &p->content,
				      &p->rt_blank);
			if (r < 0) {
				ret = r;
				break;
			}
		}
	}
	free_names(names, n_names);
	return ret;
}

/* The MBR boot-code area, and on MBR disks the gap before the first
 * partition where GRUB puts its core image. */
static int scan_boot_areas(struct lb_disk *d, int fd, const char *outdir)
{
	_cleanup_free_ char *f1 = lb_asprintf("%s-boot-code.bin", d->id);
	uint64_t first = UINT64_MAX;
	int r;

	r = save_area(d, fd, outdir, f1, 0, 440, &d->boot_code, &d->rt_boot_blank);
	if (r < 0 || d->label != LB_LABEL_DOS)
		return r;
	for (size_t i = 0; i < d->n_parts; i++)
		if (d->parts[i]->kind != LB_PART_LOGICAL && d->parts[i]->start < first)
			first = d->parts[i]->start;
	if (first == UINT64_MAX || first < 2 || (first - 1) * d->sector_size > MBR_GAP_MAX)
		return 0;
	_cleanup_free_ char *f2 = lb_asprintf("%s-mbr-gap.bin", d->id);
	return save_area(d, fd, outdir, f2, d->sector_size, (size_t)((first - 1) * d->sector_size),
			 &d->mbr_gap, NULL);
}

int lb_scan_disk(const char *sysname, const char *id, const struct lb_sysinfo *si,
		 const char *outdir, struct lb_manifest *warnings, bool geometry, struct lb_disk **ret)
{
	struct lb_disk *d = lb_disk_new();
	struct fdisk_context *cxt = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	d->id = lb_strdup(id);
	d->sysname = lb_strdup(sysname);
	d->path = lb_asprintf("/dev/%s", sysname);
	lb_disk_scan_identity(d);
	lb_debug("scan", "%s: %s, %" PRIu64 " sectors of %u bytes", d->id, d->path, d->size,
		 d->sector_size);

	fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = lb_err(-errno, "%s: cannot open: %s", d->path, strerror(errno));
		goto fail;
	}
	cxt = fdisk_new_context();
	if (!cxt) {
		r = lb_err(-ENOMEM, "%s: cannot set up libfdisk", d->path);
		goto fail;
	}
	r = fdisk_assign_device(cxt, d->path, 1);
	if (r < 0) {
		r = lb_err(r, "%s: libfdisk cannot read the disk: %s", d->path, strerror(-r));
		goto fail;
	}
	if (fdisk_has_label(cxt)) {
		r = scan_table(d, cxt);
		if (r < 0)
			goto fail;
		r = scan_partitions(d, fd, si, outdir, warnings, geometry);
		if (r < 0)
			goto fail;
		r = scan_boot_areas(d, fd, outdir);
		if (r < 0)
			goto fail;
	} else {
		struct lb_volume *v = lb_volume_new();
		_cleanup_free_ char *dev = lb_disk_sysattr(sysname, "dev");

		d->volume = v;
		v->id = lb_strdup(d->id);
		v->rt_size = d->size * d->sector_size;
		if (dev)
			sscanf(dev, "%u:%u", &v->rt_major, &v->rt_minor);
		r = scan_volume(d, fd, si, v, warnings, geometry);
		if (r < 0)
			goto fail;
		if (strcmp(v->type, "raw") == 0) {
			/* a blank disk: nothing on it to recreate */
			lb_volume_free(v);
			d->volume = NULL;
		}
	}
	fdisk_unref_context(cxt);
	*ret = d;
	return 0;
fail:
	fdisk_unref_context(cxt);
	lb_disk_free(d);
	return r;
}

static int collect_disks(const struct lb_scan_opts *opts, char ***ret, size_t *ret_n)
{
	char **names = NULL;
	size_t n = 0;

	if (opts->n_disks) {
		for (size_t i = 0; i < opts->n_disks; i++) {
			char *s = NULL;
			bool part = false;
			int r = lb_dev_sysname(opts->disks[i], &s, &part);

			if (r < 0)
				goto fail;
			if (part) {
				lb_err(-EINVAL, "%s is a partition; --disk takes whole disks", opts->disks[i]);
				free(s);
				goto fail;
			}
			for (size_t j = 0; j < n; j++)
				if (strcmp(names[j], s) == 0) {
					free(s);
					s = NULL;
					break;
				}
			if (!s)
				continue;
			names = lb_realloc_array(names, n + 1, sizeof(*names));
			names[n++] = s;
		}
	} else {
		struct dirent **list = NULL;
		int cnt = scandir("/sys/block", &list, NULL, versionsort);

		if (cnt < 0)
			return lb_err(-errno, "cannot list /sys/block: %s", strerror(errno));
		for (int i = 0; i < cnt; i++) {
			const char *name = list[i]->d_name;
			_cleanup_free_ char *rem = NULL, *size = NULL;

			if (name[0] != '.' && !skip_by_name(name)) {
				rem = lb_disk_sysattr(name, "removable");
				size = lb_disk_sysattr(name, "size");
				if ((!rem || strcmp(rem, "1") != 0) && size && strcmp(size, "0") != 0) {
					names = lb_realloc_array(names, n + 1, sizeof(*names));
					names[n++] = lb_strdup(name);
				}
			}
			free(list[i]);
		}
		free(list);
	}
	*ret = names;
	*ret_n = n;
	return 0;
fail:
	for (size_t j = 0; j < n; j++)
		free(names[j]);
	free(names);
	return -EINVAL;
}

static void fill_header(struct lb_manifest *m)
{
	struct utsname u;
	uuid_t uu;
	char us[37];
	_cleanup_free_ char *mid = NULL;

	m->generator = lb_strdup("lifeboat " LB_VERSION);
	uuid_generate_random(uu);
	uuid_unparse_lower(uu, us);
	m->id = lb_strdup(us);
	m->time = lb_utc_now();
	if (uname(&u) == 0) {
		m->hostname = lb_strdup(u.nodename);
		m->kernel = lb_asprintf("%s %s", u.release, u.machine);
	}
	if (lb_read_line("/etc/machine-id", &mid) == 0 && *mid)
		m->machine_id = TAKE_PTR(mid);
}

/* Disks are read in parallel: each waits mostly on its own device. The
 * jobs wait in a queue (closed: a worker stops when it is empty), each
 * keeping its own result; up to 8 workers. */
struct scan_job {
	const char *sysname;
	char *id;
	bool excluded;
	struct lb_disk *disk;
	int err;
	char *errmsg;
};

struct scan_pool {
	struct lb_queue *jobs;
	const struct lb_sysinfo *si;
	const char *outdir;
	struct lb_manifest *m;
};

static int scan_worker(void *ud, unsigned idx)
{
	struct scan_pool *pool = ud;
	void *p;
	int r;

	(void)idx;
	while ((r = lb_queue_pop(pool->jobs, &p)) > 0) {
		struct scan_job *j = p;

		j->err = lb_scan_disk(j->sysname, j->id, pool->si, j->excluded ? NULL : pool->outdir,
				      pool->m, true, &j->disk);
		if (j->err < 0)
			j->errmsg = lb_strdup(lb_errmsg());
	}
	return r;
}

static int scan_all(char **names, size_t n, char **excl, size_t n_excl,
		    const struct lb_sysinfo *si, const char *outdir, struct lb_manifest *m)
{
	struct scan_pool pool = { .jobs = lb_queue_new(n), .si = si, .outdir = outdir, .m = m };
	struct scan_job *jobs = lb_zalloc(n * sizeof(*jobs));
	struct lb_pool *workers = lb_pool_new();
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		jobs[i].sysname = names[i];
		jobs[i].id = lb_asprintf("disk%zu", i);
		for (size_t j = 0; j < n_excl; j++)
			jobs[i].excluded |= strcmp(excl[j], names[i]) == 0;
		lb_queue_push(pool.jobs, &jobs[i]);
	}
	lb_queue_close(pool.jobs);
	/* no thread at all: this one does the work */
	if (lb_pool_start(workers, n < 8 ? n : 8, scan_worker, &pool) < 0 && lb_pool_size(workers) == 0)
		scan_worker(&pool, 0);
	lb_pool_free(workers);
	/* in disk order: the first failure is the one reported */
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].err < 0 && r >= 0)
			r = lb_err(jobs[i].err, "%s", jobs[i].errmsg);
		if (jobs[i].disk) {
			if (r >= 0)
				lb_manifest_add_disk(m, jobs[i].disk);
			else
				lb_disk_free(jobs[i].disk);
		}
		free(jobs[i].id);
		free(jobs[i].errmsg);
	}
	free(jobs);
	lb_queue_free(pool.jobs);
	return r;
}

/* Drops a saved artifact of a disk that is not captured after all. */
static void drop_artifact(const char *outdir, struct lb_artifact **a)
{
	if (!*a)
		return;
	if (outdir) {
		_cleanup_free_ char *p = lb_asprintf("%s/%s", outdir, (*a)->file);

		unlink(p);
	}
	lb_artifact_free(*a);
	*a = NULL;
}

static bool volume_holds(const struct lb_sysinfo *si, const struct lb_volume *v, dev_t fs_dev)
{
	return v && (v->rt_major || v->rt_minor) &&
	       lb_sysinfo_fs_on(si, fs_dev, v->rt_major, v->rt_minor);
}

/* Of the default disks (every fixed disk: none named with --disk), the
 * one that holds the capture itself is excluded (recorded, not selected,
 * no data): restoring it would overwrite the capture, and its data would
 * hold a copy of the capture being made. Not when it holds a volume the
 * system needs (the default directory is on the root): there the archive
 * leaves the capture directory out, as it does on a disk named with
 * --disk. The directory's filesystem is found among the mounts by its
 * device number, and its volumes by the mount's source: a btrfs or FUSE
 * filesystem's device number is not its partition's. */
static void exclude_capture_disk(struct lb_manifest *m, const struct lb_sysinfo *si,
				 const char *outdir)
{
	struct stat st;

	if (!outdir || stat(outdir, &st) < 0)
		return;
	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_disk *d = m->disks[i];
		bool holds = volume_holds(si, d->volume, st.st_dev);

		for (size_t j = 0; j < d->n_parts && !holds; j++)
			holds = volume_holds(si, d->parts[j]->volume, st.st_dev);
		if (!holds || !d->selected || lb_disk_is_critical(d))
			continue;
		d->selected = false;
		d->exclude_reason = lb_strdup("holds this capture");
		drop_artifact(outdir, &d->boot_code);
		drop_artifact(outdir, &d->mbr_gap);
		for (size_t j = 0; j < d->n_parts; j++)
			drop_artifact(outdir, &d->parts[j]->content);
	}
}

int lb_scan(struct lb_scan_opts *opts, struct lb_manifest **ret)
{
	struct lb_manifest *m = NULL;
	struct lb_sysinfo *si = NULL;
	struct lb_sysroot *sr = NULL;
	char **names = NULL, **excl = NULL;
	size_t n = 0, n_excl = 0;
	int r;

	r = lb_sysinfo_load(&si);
	if (r < 0)
		return r;
	r = collect_disks(opts, &names, &n);
	if (r < 0) {
		opts->bad_args = true;
		goto out;
	}
	excl = lb_zalloc((opts->n_exclude + 1) * sizeof(*excl));
	for (size_t i = 0; i < opts->n_exclude; i++) {
		bool found = false;

		r = lb_dev_sysname(opts->exclude[i], &excl[n_excl], NULL);
		if (r < 0) {
			opts->bad_args = true;
			goto out;
		}
		for (size_t j = 0; j < n; j++)
			found |= strcmp(names[j], excl[n_excl]) == 0;
		if (!found) {
			r = lb_err(-EINVAL, "--exclude-disk %s: not among the disks being captured",
				   opts->exclude[i]);
			opts->bad_args = true;
			goto out;
		}
		n_excl++;
	}
	if (n == 0) {
		r = lb_err(-ENODEV, "no disks to capture");
		goto out;
	}

	m = lb_manifest_new();
	fill_header(m);
	r = scan_all(names, n, excl, n_excl, si, opts->outdir, m);
	if (r < 0)
		goto out;
	/* arrays, LUKS containers and volume groups on those disks */
	r = lb_stack_scan(m, si, opts->outdir, true);
	if (r < 0)
		goto out;
	lb_btrfs_warn_partial(m);
	/* not the running system's disks: the system on them, if any, says
	 * what is mounted where and what is critical */
	r = lb_sysroot_find(m, &sr);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct lb_disk *d = m->disks[i];
		bool excluded = false;

		for (size_t j = 0; j < n_excl; j++)
			excluded |= strcmp(excl[j], names[i]) == 0;
		if (!excluded)
			continue;
		if (lb_disk_is_critical(d)) {
			r = lb_err(-EPERM,
				   "cannot exclude %s: it holds a volume the system needs to boot",
				   d->path);
			opts->bad_args = true;
			goto out;
		}
		d->selected = false;
		d->exclude_reason = lb_strdup("--exclude-disk at capture");
	}
	if (opts->n_disks == 0)
		exclude_capture_disk(m, si, opts->outdir);
	m->rt_dir = lb_strdup(opts->outdir);
	r = lb_boot_scan(m, sr);
	if (r < 0)
		goto out;
	*ret = TAKE_PTR(m);
out:
	lb_sysroot_free(sr);
	for (size_t j = 0; j < n; j++)
		free(names[j]);
	free(names);
	for (size_t j = 0; j < n_excl; j++)
		free(excl[j]);
	free(excl);
	lb_manifest_free(m);
	lb_sysinfo_free(si);
	return r;
}

int lb_scan_node_volume(const char *path, const char *id, uint32_t sector_size, uint64_t bytes,
			unsigned major, unsigned minor, const struct lb_sysinfo *si,
			struct lb_manifest *warnings, bool geometry, struct lb_volume **ret)
{
	struct lb_disk node = { .path = (char *)path, .sector_size = sector_size };
	struct lb_volume *v = lb_volume_new();
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		lb_volume_free(v);
		return lb_err(-errno, "%s: cannot open: %s", path, strerror(errno));
	}
	v->id = lb_strdup(id);
	v->rt_size = bytes;
	v->rt_major = major;
	v->rt_minor = minor;
	r = scan_volume(&node, fd, si, v, warnings, geometry);
	if (r < 0) {
		lb_volume_free(v);
		return r;
	}
	*ret = v;
	return 0;
}
