// SPDX-License-Identifier: GPL-3.0-or-later
/* What this machine is using right now: mounted filesystems, active swap
 * holders (device-mapper, md) and imported ZFS pools. A disk with any of
 * these is never written. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libmount.h>

#include "base/base.h"
#include "system/system.h"

/* A parse error skips the line, as the kernel's own tables have none. */
static int skip_bad_line(struct libmnt_table *tb, const char *filename, int line)
{
	(void)tb;
	(void)filename;
	(void)line;
	return 1;
}

static struct libmnt_table *table_new(void)
{
	struct libmnt_table *tb = mnt_new_table();

	if (tb)
		mnt_table_set_parser_errcb(tb, skip_bad_line);
	return tb;
}

static void add_dev(struct lb_mount *mt, dev_t dev)
{
	for (size_t i = 0; i < mt->n_devs; i++)
		if (mt->devs[i] == dev)
			return;
	mt->devs = lb_realloc_array(mt->devs, mt->n_devs + 1, sizeof(*mt->devs));
	mt->devs[mt->n_devs++] = dev;
}

static int read_devnum(const char *sysdir, unsigned *maj, unsigned *min)
{
	_cleanup_free_ char *p = lb_asprintf("%s/dev", sysdir), *s = NULL;
	int r = lb_read_line(p, &s);

	if (r < 0)
		return r;
	return sscanf(s, "%u:%u", maj, min) == 2 ? 0 : -EINVAL;
}

/* Every device of the btrfs that has the block device called sysname:
 * /sys/fs/btrfs/<uuid>/devices/ lists them by their kernel names. */
static void add_btrfs_devs(struct lb_mount *mt, const char *sysname)
{
	DIR *d = opendir("/sys/fs/btrfs");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *dir = NULL, *own = NULL;
		DIR *dd;
		struct dirent *e;

		if (de->d_name[0] == '.')
			continue;
		dir = lb_asprintf("/sys/fs/btrfs/%s/devices", de->d_name);
		own = lb_asprintf("%s/%s", dir, sysname);
		if (access(own, F_OK) < 0 || !(dd = opendir(dir)))
			continue;
		while ((e = readdir(dd))) {
			_cleanup_free_ char *sys = NULL;
			unsigned maj, min;

			if (e->d_name[0] == '.')
				continue;
			sys = lb_asprintf("/sys/class/block/%s", e->d_name);
			if (read_devnum(sys, &maj, &min) == 0)
				add_dev(mt, makedev(maj, min));
		}
		closedir(dd);
		break;
	}
	closedir(d);
}

/* The block devices a mount's filesystem lives on, as far as its source
 * names them: the source device itself (a btrfs, FUSE or ZFS mount shows an
 * anonymous 0:N device number, not its disk's), and for btrfs every device
 * of the filesystem. A source that is no block device (tmpfs, a network
 * share, a ZFS dataset) adds none. */
static void resolve_source(struct lb_mount *mt, const char *fstype)
{
	struct stat st;
	_cleanup_free_ char *sys = NULL, *link = NULL;

	if (!mt->source || mt->source[0] != '/' || stat(mt->source, &st) < 0 ||
	    !S_ISBLK(st.st_mode))
		return;
	add_dev(mt, st.st_rdev);
	if (!fstype || strcmp(fstype, "btrfs") != 0)
		return;
	sys = lb_asprintf("/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	link = realpath(sys, NULL);
	if (link && strrchr(link, '/'))
		add_btrfs_devs(mt, strrchr(link, '/') + 1);
}

static void add_zfs_pool(struct lb_sysinfo *si, const char *name, size_t len)
{
	if (!len)
		return;
	for (size_t i = 0; i < si->n_zfs_pools; i++)
		if (strlen(si->zfs_pools[i]) == len && strncmp(si->zfs_pools[i], name, len) == 0)
			return;
	si->zfs_pools = lb_realloc_array(si->zfs_pools, si->n_zfs_pools + 1, sizeof(*si->zfs_pools));
	si->zfs_pools[si->n_zfs_pools++] = lb_asprintf("%.*s", (int)len, name);
}

/* The pools ZFS has imported: a directory each in its kstat tree (the
 * module's statistics: arcstats and the like are files). No tree, no ZFS
 * module: none. */
static void load_zfs_pools(struct lb_sysinfo *si)
{
	const char *env = getenv("LIFEBOAT_ZFS_KSTAT");
	DIR *d = opendir(env ? env : "/proc/spl/kstat/zfs");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		add_zfs_pool(si, de->d_name, strlen(de->d_name));
	}
	closedir(d);
}

/* Mounts from /proc/self/mountinfo, or the file LIFEBOAT_MOUNTINFO names
 * (tests fake mounts with it). */
static int load_mounts(struct lb_sysinfo *si)
{
	const char *env = getenv("LIFEBOAT_MOUNTINFO");
	const char *path = env ? env : "/proc/self/mountinfo";
	struct libmnt_table *tb = table_new();
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	int r;

	if (!tb || !it) {
		r = lb_err(-ENOMEM, "cannot read %s: %s", path, strerror(ENOMEM));
		goto out;
	}
	r = mnt_table_parse_file(tb, path);
	if (r < 0) {
		r = lb_err(r, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs), *opts = mnt_fs_get_vfs_options(fs);
		const char *source = mnt_fs_get_source(fs), *sb = mnt_fs_get_fs_options(fs);
		dev_t dev = mnt_fs_get_devno(fs);
		struct lb_mount *mt;

		if (!target)
			continue;
		si->mounts = lb_realloc_array(si->mounts, si->n_mounts + 1, sizeof(*si->mounts));
		mt = &si->mounts[si->n_mounts++];
		*mt = (struct lb_mount){
			.major = major(dev),
			.minor = minor(dev),
			.target = lb_strdup(target),
			.root = lb_strdup(mnt_fs_get_root(fs) ? mnt_fs_get_root(fs) : "/"),
			.options = lb_strdup(opts ? opts : ""),
			.source = source ? lb_strdup(source) : NULL,
			/* (no super options: as the mount's own say) */
			.sb_rw = !mnt_optstr_get_option(sb ? sb : opts ? opts : "", "rw", NULL, NULL),
		};
		resolve_source(mt, mnt_fs_get_fstype(fs));
		if (source && mnt_fs_get_fstype(fs) && strcmp(mnt_fs_get_fstype(fs), "zfs") == 0)
			add_zfs_pool(si, source, strcspn(source, "/@"));
	}
	r = 0;
out:
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return r;
}

/* Active swap from /proc/swaps, or the file LIFEBOAT_SWAPS names: the
 * block devices among them (a swap file is on a volume that is mounted). */
static int load_swaps(struct lb_sysinfo *si)
{
	const char *env = getenv("LIFEBOAT_SWAPS");
	const char *path = env ? env : "/proc/swaps";
	struct libmnt_table *tb;
	struct libmnt_iter *it;
	struct libmnt_fs *fs;

	if (access(path, F_OK) < 0)
		return 0; /* no swap support */
	tb = table_new();
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (tb && it && mnt_table_parse_swaps(tb, path) == 0) {
		while (mnt_table_next_fs(tb, it, &fs) == 0) {
			const char *name = mnt_fs_get_source(fs);
			struct stat st;

			if (!name || stat(name, &st) < 0 || !S_ISBLK(st.st_mode))
				continue;
			si->swaps = lb_realloc_array(si->swaps, si->n_swaps + 1, sizeof(*si->swaps));
			si->swaps[si->n_swaps++] = st.st_rdev;
		}
	}
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return 0;
}

int lb_sysinfo_load(struct lb_sysinfo **ret)
{
	struct lb_sysinfo *si = lb_zalloc(sizeof(*si));
	int r;

	r = load_mounts(si);
	if (r >= 0)
		r = load_swaps(si);
	if (r >= 0)
		load_zfs_pools(si);
	if (r < 0) {
		lb_sysinfo_free(si);
		return r;
	}
	*ret = si;
	return 0;
}

void lb_sysinfo_free(struct lb_sysinfo *si)
{
	if (!si)
		return;
	for (size_t i = 0; i < si->n_mounts; i++) {
		free(si->mounts[i].target);
		free(si->mounts[i].root);
		free(si->mounts[i].options);
		free(si->mounts[i].source);
		free(si->mounts[i].devs);
	}
	free(si->mounts);
	free(si->swaps);
	for (size_t i = 0; i < si->n_zfs_pools; i++)
		free(si->zfs_pools[i]);
	free(si->zfs_pools);
	free(si);
}

const struct lb_mount *lb_sysinfo_find_mount(const struct lb_sysinfo *si, unsigned major,
					     unsigned minor)
{
	const struct lb_mount *best = NULL;

	/* prefer the shortest mount point: "/" over a bind mount elsewhere */
	for (size_t i = 0; i < si->n_mounts; i++)
		if (si->mounts[i].major == major && si->mounts[i].minor == minor &&
		    (!best || strlen(si->mounts[i].target) < strlen(best->target)))
			best = &si->mounts[i];
	return best;
}

static bool mount_on(const struct lb_mount *mt, dev_t dev)
{
	if (mt->major == major(dev) && mt->minor == minor(dev))
		return true;
	for (size_t i = 0; i < mt->n_devs; i++)
		if (mt->devs[i] == dev)
			return true;
	return false;
}

/* Whether mount a is the better one to name: the whole filesystem (root
 * "/") before a subvolume or a bind mount's directory, then the shortest
 * mount point. */
static bool better_mount(const struct lb_mount *a, const struct lb_mount *b)
{
	bool a_whole = strcmp(a->root, "/") == 0, b_whole = strcmp(b->root, "/") == 0;

	if (a_whole != b_whole)
		return a_whole;
	return strlen(a->target) < strlen(b->target);
}

const struct lb_mount *lb_sysinfo_find_mount_on(const struct lb_sysinfo *si, unsigned major,
						unsigned minor)
{
	const struct lb_mount *best = NULL;

	for (size_t i = 0; i < si->n_mounts; i++)
		if (mount_on(&si->mounts[i], makedev(major, minor)) &&
		    (!best || better_mount(&si->mounts[i], best)))
			best = &si->mounts[i];
	return best;
}

bool lb_sysinfo_fs_on(const struct lb_sysinfo *si, dev_t fs_dev, unsigned major, unsigned minor)
{
	if (major(fs_dev) == major && minor(fs_dev) == minor)
		return true;
	for (size_t i = 0; i < si->n_mounts; i++)
		if (si->mounts[i].major == major(fs_dev) && si->mounts[i].minor == minor(fs_dev) &&
		    mount_on(&si->mounts[i], makedev(major, minor)))
			return true;
	return false;
}

bool lb_sysinfo_is_swap(const struct lb_sysinfo *si, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < si->n_swaps; i++)
		if (major(si->swaps[i]) == major && minor(si->swaps[i]) == minor)
			return true;
	return false;
}

bool lb_sysinfo_zfs_imported(const struct lb_sysinfo *si, const char *pool)
{
	for (size_t i = 0; pool && i < si->n_zfs_pools; i++)
		if (strcmp(si->zfs_pools[i], pool) == 0)
			return true;
	return false;
}

/* The pool of the ZFS member on /dev/NAME (its blkid LABEL), or NULL. */
static char *zfs_pool_of(const char *name)
{
	_cleanup_free_ char *node = lb_asprintf("/dev/%s", name);
	blkid_probe pr = blkid_new_probe_from_filename(node);
	const char *type = NULL, *label = NULL;
	char *pool = NULL;

	if (!pr)
		return NULL;
	blkid_probe_enable_partitions(pr, 0);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE);
	if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 &&
	    strcmp(type, "zfs_member") == 0 && blkid_probe_lookup_value(pr, "LABEL", &label, NULL) == 0)
		pool = lb_strdup(label);
	blkid_free_probe(pr);
	return pool;
}

static bool has_holders(const char *sysdir)
{
	_cleanup_free_ char *p = lb_asprintf("%s/holders", sysdir);
	DIR *d = opendir(p);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			any = true;
			break;
		}
	closedir(d);
	return any;
}

/* Checks one block device (disk or partition) by its sysfs directory. */
static char *node_in_use(const struct lb_sysinfo *si, const char *sysdir, const char *name)
{
	unsigned maj, min;
	const struct lb_mount *mt;

	if (read_devnum(sysdir, &maj, &min) < 0)
		return NULL;
	mt = lb_sysinfo_find_mount_on(si, maj, min);
	if (mt)
		return lb_asprintf("%s is mounted on %s", name, mt->target);
	if (lb_sysinfo_is_swap(si, maj, min))
		return lb_asprintf("%s is active swap", name);
	if (has_holders(sysdir))
		return lb_asprintf("%s is held by another device (device-mapper, md or similar)", name);
	if (si->n_zfs_pools) {
		_cleanup_free_ char *pool = zfs_pool_of(name);

		/* (a pool's name is the member's label: anyone's bytes) */
		if (lb_sysinfo_zfs_imported(si, pool))
			return lb_asprintf("%s is a member of the ZFS pool %s, imported here", name,
					   lb_utf8_is_printable(pool) ? pool : "(unprintable name)");
	}
	return NULL;
}

int lb_disk_in_use(const struct lb_sysinfo *si, const char *sysname, char **ret_reason)
{
	_cleanup_free_ char *sysdir = lb_asprintf("/sys/class/block/%s", sysname);
	char *why;
	DIR *d;
	struct dirent *de;

	why = node_in_use(si, sysdir, sysname);
	if (why) {
		*ret_reason = why;
		return 1;
	}
	d = opendir(sysdir);
	if (!d)
		return lb_err(-errno, "%s: cannot read %s: %s", sysname, sysdir, strerror(errno));
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL, *pf = NULL;

		if (strncmp(de->d_name, sysname, strlen(sysname)) != 0)
			continue;
		sub = lb_asprintf("%s/%s", sysdir, de->d_name);
		pf = lb_asprintf("%s/partition", sub);
		if (access(pf, F_OK) < 0)
			continue;
		why = node_in_use(si, sub, de->d_name);
		if (why) {
			closedir(d);
			*ret_reason = why;
			return 1;
		}
	}
	closedir(d);
	*ret_reason = NULL;
	return 0;
}

bool lb_mountpoint_is_critical(const char *target)
{
	static const char *const critical[] = {
		"/", "/boot", "/boot/efi", "/efi", "/usr", "/var", "/etc",
	};

	if (!target)
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(critical); i++)
		if (strcmp(target, critical[i]) == 0)
			return true;
	return false;
}

bool lb_block_has_holders(const char *sysname)
{
	_cleanup_free_ char *dir = lb_asprintf("/sys/class/block/%s", sysname);

	return has_holders(dir);
}
