// SPDX-License-Identifier: GPL-3.0-or-later
/* An offline capture's installed system: when none of the captured disks
 * is the running system's, the system on them is found read-only (its
 * filesystems mounted with no journal replayed) and its fstab says what
 * would be mounted where, as a live capture reads from /proc/self/mountinfo.
 *
 * Every file of the found system is opened with openat2(RESOLVE_IN_ROOT):
 * a symlink, absolute or not, resolves inside the volume holding it, never
 * on this machine; and only regular files of a bounded size are read. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"

#define FSTAB_MAX (1u << 20)
#define OS_RELEASE_MAX (64u << 10)

/* ---- fstab ------------------------------------------------------------ */

void lb_fstab_free(struct lb_fstab_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].spec);
		free(e[i].file);
		free(e[i].type);
		free(e[i].options);
	}
	free(e);
}

int lb_fstab_parse(const char *buf, struct lb_fstab_entry **ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = lb_strdup(buf);
	struct lb_fstab_entry *e = NULL;
	size_t n = 0;
	uint32_t no = 0;
	char *line, *next = copy;

	while ((line = strsep(&next, "\n"))) {
		char *fields[4] = { 0 }, *save = NULL, *tok;
		int k = 0;

		no++;
		if (line[strspn(line, " \t\r")] == '#')
			continue;
		for (tok = strtok_r(line, " \t\r", &save); tok && k < 4; tok = strtok_r(NULL, " \t\r", &save))
			fields[k++] = tok;
		/* source and mount point at least; the type defaults to
		 * "auto" and the options to "defaults", as mount(8) has it */
		if (k < 2)
			continue;
		e = lb_realloc_array(e, n + 1, sizeof(*e));
		e[n].line = no;
		e[n].spec = lb_unescape_octal(fields[0]);
		e[n].file = lb_unescape_octal(fields[1]);
		e[n].type = lb_strdup(fields[2] ? fields[2] : "auto");
		e[n].options = lb_unescape_octal(fields[3] ? fields[3] : "defaults");
		n++;
	}
	*ret = e;
	*ret_n = n;
	return 0;
}

static bool has_option(const char *options, const char *want)
{
	size_t len = strlen(want);

	for (const char *o = options; o && *o;) {
		const char *comma = strchr(o, ',');
		size_t olen = comma ? (size_t)(comma - o) : strlen(o);

		if (olen == len && strncmp(o, want, len) == 0)
			return true;
		o = comma ? comma + 1 : NULL;
	}
	return false;
}

const char *lb_fstab_skip_reason(const struct lb_fstab_entry *e)
{
	static const char *const pseudo[] = {
		"proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "ramfs", "cgroup", "cgroup2",
		"securityfs", "debugfs", "tracefs", "configfs", "efivarfs", "hugetlbfs", "mqueue",
		"bpf", "pstore", "fusectl", "autofs", "binfmt_misc", "overlay", "squashfs",
		"iso9660", "udf", "none", "rpc_pipefs", "nfsd", "selinuxfs",
	};
	static const char *const network[] = {
		"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "glusterfs", "ceph", "9p",
		"virtiofs", "afs", "davfs", "sshfs", "lustre", "gfs2", "ocfs2", "beegfs",
	};

	if (has_option(e->options, "noauto"))
		return "noauto";
	if (has_option(e->options, "bind") || has_option(e->options, "rbind"))
		return "a bind mount";
	if (has_option(e->options, "_netdev"))
		return "a network file system (_netdev)";
	if (strncmp(e->type, "fuse", 4) == 0)
		return "a FUSE file system";
	for (size_t i = 0; i < LB_ARRAY_SIZE(network); i++)
		if (strcmp(e->type, network[i]) == 0)
			return "a network file system";
	for (size_t i = 0; i < LB_ARRAY_SIZE(pseudo); i++)
		if (strcmp(e->type, pseudo[i]) == 0)
			return "not a file system on a disk";
	/* host:/export, //server/share */
	if (strchr(e->spec, ':') && !strchr(e->spec, '=') && e->spec[0] != '/')
		return "a network file system";
	if (strncmp(e->spec, "//", 2) == 0)
		return "a network file system";
	return NULL;
}

static struct lb_volume *resolve_by_id(const struct lb_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];

		for (size_t j = 0; j < d->n_by_id; j++) {
			size_t len = strlen(d->by_id[j]);
			uint32_t num;

			if (strcmp(d->by_id[j], name) == 0)
				return d->volume;
			if (strncmp(d->by_id[j], name, len) == 0 && strncmp(name + len, "-part", 5) == 0 &&
			    lb_parse_u32(name + len + 5, &num) == 0) {
				const struct lb_partition *p = lb_disk_find_partition(d, num);

				return p ? p->volume : NULL;
			}
		}
	}
	return NULL;
}

static struct lb_volume *resolve_path(const struct lb_manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];

		if (d->volume && d->path && strcmp(d->path, path) == 0)
			return d->volume;
		for (size_t j = 0; j < d->n_parts; j++)
			if (d->parts[j]->path && strcmp(d->parts[j]->path, path) == 0)
				return d->parts[j]->volume;
	}
	return lb_stack_volume_by_path(m, path);
}

struct lb_volume *lb_fstab_resolve(const struct lb_manifest *m, const char *spec)
{
	static const struct {
		const char *prefix, *key;
		bool udev;
	} forms[] = {
		{ "UUID=", "UUID", false },
		{ "LABEL=", "LABEL", false },
		{ "PARTUUID=", "PARTUUID", false },
		{ "PARTLABEL=", "PARTLABEL", false },
		{ "/dev/disk/by-uuid/", "UUID", true },
		{ "/dev/disk/by-label/", "LABEL", true },
		{ "/dev/disk/by-partuuid/", "PARTUUID", true },
		{ "/dev/disk/by-partlabel/", "PARTLABEL", true },
	};

	for (size_t i = 0; i < LB_ARRAY_SIZE(forms); i++) {
		size_t plen = strlen(forms[i].prefix);
		_cleanup_free_ char *v = NULL;

		if (strncmp(spec, forms[i].prefix, plen) != 0)
			continue;
		v = forms[i].udev ? lb_udev_unescape(spec + plen) : lb_strdup(spec + plen);
		if (!forms[i].udev && strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[strlen(v) - 1] == v[0]) {
			v[strlen(v) - 1] = '\0';
			memmove(v, v + 1, strlen(v));
		}
		/* a name in /dev/disk/by-KEY/, not a path through it */
		if (!*v || (forms[i].udev && strchr(spec + plen, '/')))
			return NULL;
		return lb_manifest_resolve(m, forms[i].key, v);
	}
	if (strncmp(spec, "/dev/disk/by-id/", 16) == 0)
		return strchr(spec + 16, '/') ? NULL : resolve_by_id(m, spec + 16);
	if (strncmp(spec, "/dev/disk/", 10) == 0)
		return NULL;	/* by-path, by-diskseq: not recorded */
	if (strncmp(spec, "/dev/", 5) == 0)
		return resolve_path(m, spec);
	return NULL;
}

/* ---- files of the found system ------------------------------------------ */

struct sr_mount {
	char *where;		/* "/", "/boot" */
	char *dir;		/* the temporary mount point */
	int fd;			/* O_PATH of dir */
	struct lb_volume *vol;
};

struct lb_sysroot {
	struct sr_mount *mounts;
	size_t n;
};

/* 1 when PATH under dirfd is of mode type (S_IFREG, S_IFDIR), 0 if not,
 * < 0 when it cannot be told. */
static int is_type(int dirfd, const char *path, mode_t type)
{
	struct stat st;
	int fd = lb_open_in_root(dirfd, path, O_PATH), r;

	if (fd < 0)
		return fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == -EXDEV ? 0 : fd;
	r = fstat(fd, &st) < 0 ? -errno : (st.st_mode & S_IFMT) == type;
	close(fd);
	return r;
}

static bool is_link(int dirfd, const char *path)
{
	struct stat st;
	int fd = lb_open_in_root(dirfd, path, O_PATH | O_NOFOLLOW);
	bool r;

	if (fd < 0)
		return false;
	r = fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
	close(fd);
	return r;
}

static int read_in(int dirfd, const char *path, size_t max, char **ret)
{
	_cleanup_close_ int fd = lb_open_in_root(dirfd, path, O_RDONLY);
	struct stat st;
	int fl;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return lb_read_fd(fd, ret, max);
}

/* The mount holding PATH (relative to the system's /) and PATH within it. */
static const struct sr_mount *holder(const struct lb_sysroot *s, const char *path,
				     const char **ret_rel)
{
	const struct sr_mount *best = NULL;
	size_t best_len = 0;

	while (*path == '/')
		path++;
	for (size_t i = 0; i < s->n; i++) {
		const char *w = s->mounts[i].where + 1;
		size_t len = strlen(w);

		if (len && !(strncmp(path, w, len) == 0 && (path[len] == '/' || !path[len])))
			continue;
		if (!best || len > best_len) {
			best = &s->mounts[i];
			best_len = len;
		}
	}
	*ret_rel = path + best_len;
	while (**ret_rel == '/')
		(*ret_rel)++;
	if (!**ret_rel)
		*ret_rel = ".";
	return best;
}

int lb_sysroot_read(const struct lb_sysroot *s, const char *path, size_t max, char **ret)
{
	const char *rel;
	const struct sr_mount *mt = s ? holder(s, path, &rel) : NULL;

	if (!mt)
		return -ENOENT;
	return read_in(mt->fd, rel, max, ret);
}

bool lb_sysroot_exists(const struct lb_sysroot *s, const char *path)
{
	const char *rel;
	const struct sr_mount *mt = s ? holder(s, path, &rel) : NULL;
	int fd;

	if (!mt)
		return false;
	fd = lb_open_in_root(mt->fd, rel, O_PATH);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void unmount_one(struct sr_mount *mt)
{
	if (mt->fd >= 0)
		close(mt->fd);
	mt->fd = -1;
	if (mt->dir) {
		/* busy (someone walked in): gone from the tree at least */
		if (umount(mt->dir) < 0 && umount2(mt->dir, MNT_DETACH) < 0)
			lb_debug("sysroot", "cannot unmount %s: %s", mt->dir, strerror(errno));
		else if (rmdir(mt->dir) == 0 || errno != EBUSY)
			lb_loop_btrfs_unmounted(mt->dir);	/* (a btrfs read through a loop) */
		free(mt->dir);
		mt->dir = NULL;
	}
	free(mt->where);
	mt->where = NULL;
}

void lb_sysroot_free(struct lb_sysroot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		unmount_one(&s->mounts[i]);
	free(s->mounts);
	free(s);
}

/* ---- finding the system --------------------------------------------------- */

/* The Discoverable Partitions Specification's root partition types, and
 * this machine's architecture among them. */
#if defined(__x86_64__)
#define NATIVE_ARCH "x86-64"
#elif defined(__i386__)
#define NATIVE_ARCH "x86"
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#elif defined(__arm__)
#define NATIVE_ARCH "arm"
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH "riscv64"
#elif defined(__loongarch64)
#define NATIVE_ARCH "loongarch64"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH "ppc64le"
#elif defined(__s390x__)
#define NATIVE_ARCH "s390x"
#else
#define NATIVE_ARCH ""
#endif

static const struct {
	const char *guid, *arch;
} dps_roots[] = {
	{ "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "x86-64" },
	{ "44479540-F297-41B2-9AF7-D131D5F0458A", "x86" },
	{ "B921B045-1DF0-41C3-AF44-4C6F280D3FAE", "arm64" },
	{ "69DAD710-2CE4-4E3C-B16C-21A1D49ABED3", "arm" },
	{ "72EC70A6-CF74-40E6-BD49-4BDA08E8F224", "riscv64" },
	{ "60D5A7FE-8E7D-435C-B714-3DD8162144E1", "riscv32" },
	{ "993D8D3D-F80E-4225-855A-9DAF8ED7EA97", "ia64" },
	{ "77055800-792C-4F94-B39A-98C91B762BB6", "loongarch64" },
	{ "C31C45E6-3F39-412E-80FB-4809C4980599", "ppc64le" },
	{ "912ADE1D-A839-4913-8964-A10EEE08FBD2", "ppc64" },
	{ "5EEAD9A9-FE09-4A1E-A1D7-520D00531306", "s390x" },
};

/* 0: not a DPS root type; 1: another architecture's; 2: this one's. */
static int dps_root(const struct lb_partition *p)
{
	if (!p || !p->type)
		return 0;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dps_roots); i++)
		if (strcasecmp(p->type, dps_roots[i].guid) == 0)
			return strcmp(dps_roots[i].arch, NATIVE_ARCH) == 0 ? 2 : 1;
	return 0;
}

/* File systems that can hold a root and mount read-only without writing. */
static bool root_type(const char *type)
{
	return lb_type_is_ext(type) || strcmp(type, "xfs") == 0 || strcmp(type, "btrfs") == 0;
}

struct candidate {
	struct lb_disk *disk;
	struct lb_partition *part;
	struct lb_volume *vol;
	struct sr_mount mt;
	int dps;
	bool os_release;
};

static bool disk_used_here(const struct lb_disk *d)
{
	if (lb_volume_mounted_here(d->volume))
		return true;
	for (size_t i = 0; i < d->n_parts; i++)
		if (lb_volume_mounted_here(d->parts[i]->volume))
			return true;
	return false;
}

static const char *node_of(const struct lb_disk *d, const struct lb_partition *p)
{
	return p ? p->path : d->path;
}

static bool held(const char *node)
{
	const char *base = node ? strrchr(node, '/') : NULL;

	return base && lb_block_has_holders(base + 1);
}

/* Mounts vol read-only for the system at WHERE; a note when it cannot. */
static int mount_volume(struct lb_system *sys, const char *node, struct lb_volume *v,
			const char *where, struct sr_mount *ret)
{
	char *dir = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->fd = -1;
	if (!node) {
		lb_system_note(sys, "%s: no device node here to read it", v->id);
		return -ENODEV;
	}
	if (held(node)) {
		lb_system_note(sys, "%s: in use by device-mapper or md here: not read", v->id);
		return -EBUSY;
	}
	r = lb_mount_tmp(node, v->type, true, &dir);
	if (r < 0) {
		lb_system_note(sys, "%s: not read: %s read-only, replaying no journal: %s", v->id,
			       v->type, lb_errmsg());
		return r;
	}
	ret->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ret->fd < 0) {
		r = -errno;
		lb_umount_tmp(dir);
		lb_system_note(sys, "%s: cannot open its mount: %s", v->id, strerror(-r));
		return r;
	}
	ret->dir = dir;
	ret->where = lb_strdup(where);
	ret->vol = v;
	return 0;
}

static void add_mount(struct lb_sysroot *s, struct sr_mount *mt)
{
	s->mounts = lb_realloc_array(s->mounts, s->n + 1, sizeof(*s->mounts));
	s->mounts[s->n++] = *mt;
	memset(mt, 0, sizeof(*mt));
	mt->fd = -1;
}

/* Looks at one volume; keeps it mounted when it holds an installed system. */
static void probe(struct lb_system *sys, struct lb_disk *d, struct lb_partition *p,
		  struct lb_volume *v, struct candidate **cands, size_t *n)
{
	struct candidate c = { .disk = d, .part = p, .vol = v, .dps = dps_root(p) };
	int installed, fstab;

	if (!v || !v->type || !root_type(v->type))
		return;
	if (mount_volume(sys, node_of(d, p), v, "/", &c.mt) < 0)
		return;
	c.os_release = is_type(c.mt.fd, "etc/os-release", S_IFREG) > 0 ||
		       is_type(c.mt.fd, "usr/lib/os-release", S_IFREG) > 0;
	fstab = is_type(c.mt.fd, "etc/fstab", S_IFREG) > 0;
	/* a root partition type on an empty file system is no system */
	installed = is_type(c.mt.fd, "etc", S_IFDIR) > 0 || is_type(c.mt.fd, "usr", S_IFDIR) > 0;
	lb_debug("sysroot", "%s: partition type %s, os-release %d, fstab %d, etc or usr %d", v->id,
		 c.dps ? "root" : "other", c.os_release, fstab, installed);
	if ((c.dps && installed) || (c.os_release && fstab)) {
		*cands = lb_realloc_array(*cands, *n + 1, sizeof(**cands));
		(*cands)[(*n)++] = c;
		return;
	}
	unmount_one(&c.mt);
}

/* The one candidate to take, or -1 with a note saying why none. */
static ssize_t choose(struct lb_system *sys, const struct candidate *c, size_t n)
{
	size_t dps = 0, native = 0, last_dps = 0, last_native = 0;
	_cleanup_free_ char *ids = lb_strdup("");

	for (size_t i = 0; i < n; i++) {
		char *t = lb_asprintf("%s%s%s", ids, i ? ", " : "", c[i].vol->id);

		free(ids);
		ids = t;
		if (c[i].dps) {
			dps++;
			last_dps = i;
		}
		if (c[i].dps == 2) {
			native++;
			last_native = i;
		}
	}
	if (n == 1)
		return 0;
	if (dps == 1)
		return (ssize_t)last_dps;
	if (native == 1)
		return (ssize_t)last_native;
	lb_system_note(sys, "more than one installed system on the disks (%s)%s: none recorded as this "
			    "capture's system; capture their disks apart with --disk to record one",
		       ids, dps > 1 ? ", each on a root partition type" : "");
	return -1;
}

static char *os_name(const struct sr_mount *mt)
{
	static const char *const files[] = { "etc/os-release", "usr/lib/os-release" };

	for (size_t i = 0; i < LB_ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *buf = NULL;
		char *line, *next;

		if (read_in(mt->fd, files[i], OS_RELEASE_MAX, &buf) < 0)
			continue;
		next = buf;
		while ((line = strsep(&next, "\n"))) {
			size_t len;

			if (strncmp(line, "PRETTY_NAME=", 12) != 0)
				continue;
			line += 12;
			len = strlen(line);
			if (len >= 2 && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0]) {
				line[len - 1] = '\0';
				line++;
			}
			return *line ? lb_strdup(line) : NULL;
		}
		return NULL;
	}
	return NULL;
}

static void set_mount(struct lb_volume *v, const char *where, const char *options,
		      const char *source)
{
	free(v->mountpoint);
	v->mountpoint = lb_strdup(where);
	free(v->mount_options);
	v->mount_options = lb_strdup(options);
	free(v->mount_source);
	v->mount_source = lb_strdup(source);
	v->critical = lb_mountpoint_is_critical(where);
}

static void apply_entry(struct lb_manifest *m, struct lb_volume *root,
			const struct lb_fstab_entry *e)
{
	struct lb_system *sys = m->system;
	const char *why = lb_fstab_skip_reason(e);
	struct lb_volume *v;
	bool swap = strcmp(e->type, "swap") == 0;

	if (why) {
		lb_debug("sysroot", "fstab line %u: %s", e->line, why);
		return;
	}
	if (!swap && e->file[0] != '/') {
		lb_system_note(sys, "fstab line %u: mount point '%s' is not a path: left out", e->line,
			       e->file);
		return;
	}
	v = lb_fstab_resolve(m, e->spec);
	if (!v) {
		if (swap && e->spec[0] == '/' && strncmp(e->spec, "/dev/", 5) != 0)
			return;	/* a swap file, inside a volume */
		lb_system_note(sys, "fstab line %u: %s (%s) names no captured volume", e->line, e->spec,
			       swap ? "swap" : e->file);
		return;
	}
	if (lb_volume_mounted_here(v)) {
		lb_system_note(sys, "fstab line %u: %s is in use on this machine: its mount point is "
				    "not recorded", e->line, v->id);
		return;
	}
	if (swap) {
		if (strcmp(v->type, "swap") != 0) {
			lb_system_note(sys, "fstab line %u: swap on %s, which holds %s: left out", e->line,
				       v->id, v->type);
			return;
		}
		free(v->mount_source);
		v->mount_source = lb_strdup("fstab");
		v->critical = true;
		return;
	}
	if (strcmp(e->file, "/") == 0) {
		if (v != root)
			lb_system_note(sys, "fstab line %u: / is %s, but the system was found on %s: %s "
					    "kept", e->line, v->id, root->id, root->id);
		else
			set_mount(v, "/", e->options, "fstab");
		return;
	}
	if (v == root || v->mountpoint) {
		lb_system_note(sys, "fstab line %u: %s is already mounted on %s: %s left out", e->line,
			       v->id, v == root ? "/" : v->mountpoint, e->file);
		return;
	}
	set_mount(v, e->file, e->options, "fstab");
}

static void apply_fstab(struct lb_manifest *m, struct lb_sysroot *s, struct lb_volume *root)
{
	_cleanup_free_ char *buf = NULL;
	struct lb_fstab_entry *e = NULL;
	size_t n = 0;
	int r = read_in(s->mounts[0].fd, "etc/fstab", FSTAB_MAX, &buf);

	if (r < 0) {
		if (r == -ENOENT && is_link(s->mounts[0].fd, "etc/fstab"))
			lb_system_note(m->system, "%s: /etc/fstab is a link to nothing on the volume: "
					    "only its root is known", root->id);
		else if (r == -ENOENT)
			lb_system_note(m->system, "%s has no /etc/fstab: only its root is known", root->id);
		else
			lb_system_note(m->system, "%s: /etc/fstab not read (%s): only its root is known",
				       root->id,
				       r == -EPERM   ? "not a regular file"
				       : r == -EFBIG ? "larger than 1 MiB"
				       : r == -EXDEV || r == -ELOOP ? "a link that leaves the volume"
								     : strerror(-r));
		return;
	}
	if (memchr(buf, '\0', (size_t)r)) {
		lb_system_note(m->system, "%s: /etc/fstab is not text: only its root is known", root->id);
		return;
	}
	lb_fstab_parse(buf, &e, &n);
	for (size_t i = 0; i < n; i++)
		apply_entry(m, root, &e[i]);
	lb_fstab_free(e, n);
}

/* The boot volumes are read for the boot loader's configuration. */
static void mount_boot_volumes(struct lb_manifest *m, struct lb_sysroot *s)
{
	static const char *const wanted[] = { "/boot", "/boot/efi", "/efi" };

	for (size_t w = 0; w < LB_ARRAY_SIZE(wanted); w++)
		for (size_t i = 0; i < m->n_disks; i++) {
			struct lb_disk *d = m->disks[i];

			for (size_t j = 0; j <= d->n_parts; j++) {
				struct lb_partition *p = j < d->n_parts ? d->parts[j] : NULL;
				struct lb_volume *v = p ? p->volume : d->volume;
				struct sr_mount mt;

				if (!v || !v->mount_source || !v->mountpoint ||
				    strcmp(v->mountpoint, wanted[w]) != 0)
					continue;
				if (!root_type(v->type) && strcmp(v->type, "vfat") != 0) {
					lb_system_note(m->system, "%s: %s is not read here", v->id, v->type);
					continue;
				}
				if (mount_volume(m->system, node_of(d, p), v, wanted[w], &mt) == 0)
					add_mount(s, &mt);
			}
		}
}

int lb_sysroot_find(struct lb_manifest *m, struct lb_sysroot **ret)
{
	struct lb_system *sys;
	struct candidate *c = NULL;
	struct lb_sysroot *s = NULL;
	size_t n = 0;
	ssize_t pick;
	int r;

	*ret = NULL;
	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];

		for (size_t j = 0; j <= d->n_parts; j++) {
			const struct lb_volume *v = j < d->n_parts ? d->parts[j]->volume : d->volume;

			if (lb_volume_mounted_here(v) && v->mountpoint && strcmp(v->mountpoint, "/") == 0)
				return 0;	/* the running system: a live capture */
		}
	}
	/* is openat2 there, to read the system's files safely? */
	r = lb_open_in_root(AT_FDCWD, "/", O_PATH);
	if (r >= 0)
		close(r);
	sys = lb_system_new();
	sys->source = lb_strdup("disk");
	if (r == -ENOSYS) {
		lb_system_note(sys, "this kernel cannot confine a path to a directory (no openat2): "
				    "the disks' installed system was not looked for");
		m->system = sys;
		return 0;
	}

	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_disk *d = m->disks[i];

		if (disk_used_here(d))
			continue;	/* stays a live disk */
		if (d->volume)
			probe(sys, d, NULL, d->volume, &c, &n);
		for (size_t j = 0; j < d->n_parts; j++)
			probe(sys, d, d->parts[j], d->parts[j]->volume, &c, &n);
	}
	pick = n ? choose(sys, c, n) : -1;
	if (pick >= 0) {
		struct candidate *k = &c[pick];

		s = lb_zalloc(sizeof(*s));
		add_mount(s, &k->mt);
		sys->root = lb_strdup(k->vol->id);
		sys->found_by = lb_strdup(k->dps ? "partition-type" : "os-release");
		sys->name = os_name(&s->mounts[0]);
		m->system = sys;
		set_mount(k->vol, "/", NULL, sys->found_by);
		lb_system_note(sys, "read from the disk: the installed system on %s (found by its %s); "
				    "mount points, swap and critical volumes as its /etc/fstab has them, "
				    "not as mounted on the capturing machine",
			       k->vol->id, k->dps ? "root partition type" : "os-release and fstab");
		apply_fstab(m, s, k->vol);
		mount_boot_volumes(m, s);
	}
	for (size_t i = 0; i < n; i++)
		unmount_one(&c[i].mt);
	free(c);
	if (!m->system) {
		if (sys->n_notes)
			m->system = sys;
		else
			lb_system_free(sys);
	}
	*ret = s;
	return 0;
}
