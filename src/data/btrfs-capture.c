// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A btrfs archived per subvolume (lifeboat's VSS for btrfs). Its top level
 * is mounted privately (system/btrfs-snap.c); its subvolumes are recorded
 * (the volume's <subvolumes>); each subvolume, the top level first, is read
 * from a read-only snapshot taken for the capture when the filesystem is
 * mounted read-write here (one moment of each, whatever writes to it
 * meanwhile), or from where it is in the read-only mount when it is not
 * mounted. One archive holds them all: the top level's tree at its root,
 * each subvolume's under its path, without the subvolumes nested in it
 * (their own trees carry them), in ID order. A snapshot of a subvolume
 * made before it (snapper's, say) carries only what it does not share
 * with its parent: a file with the same bytes at the same path there is
 * named as a clone of that one's entry (archive-capture.c), so N
 * snapshots of a root are not N copies of it; the subvolume records it
 * (clones-from). Every snapshot is removed after, also when the capture
 * fails; those a killed capture left are removed first, when no other
 * capture of the btrfs runs (system/btrfs-snap.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/btrfs.h>
#include <btrfsutil.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "data/data.h"

struct tree {
	char *dir;		/* where it is read: a snapshot, or its place */
	char *snap;		/* the snapshot taken for it, or NULL */
	const char *prefix;	/* "" the top level, else the subvolume's path */
	char **excl;		/* the capture's own exclusions, then nested subvolumes */
	size_t n_excl;
};

/* A directory to leave out (the capture's own) that is inside this btrfs:
 * the subvolume it is in and its path there, as in that one's snapshot. */
struct inside {
	uint64_t subvol;
	char *rel;
};

struct btrfs_capture {
	struct lb_btrfs_top *top;
	struct inside *inside;
	size_t n_inside;
	struct lb_btrfs_subvols *subvols;
	struct tree *trees;	/* [0] the top level, then each subvolume */
	size_t n_trees;
	size_t n_given;		/* exclusions the caller gave (not ours to free) */
};

static void add_excl(struct tree *t, char *path)
{
	t->excl = lb_realloc_array(t->excl, t->n_excl + 1, sizeof(*t->excl));
	t->excl[t->n_excl++] = path;
}

/* The subvolumes nested in tree t (below its prefix), left out of it; in
 * the top level, also the snapshots of other captures. */
static void exclude_nested(struct btrfs_capture *c, struct tree *t)
{
	size_t plen = strlen(t->prefix);

	for (size_t i = 0; i < c->subvols->n; i++) {
		const char *p = c->subvols->subvols[i].path;

		if (plen && (strncmp(p, t->prefix, plen) != 0 || p[plen] != '/'))
			continue;
		add_excl(t, lb_asprintf("%s/%s", t->dir, plen ? p + plen + 1 : p));
	}
	if (!plen) {
		DIR *d = opendir(c->top->dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (lb_btrfs_snap_name(de->d_name, NULL, NULL, NULL))
				add_excl(t, lb_asprintf("%s/%s", t->dir, de->d_name));
		if (d)
			closedir(d);
	}
}

static bool same_fs(int a, int b)
{
	struct btrfs_ioctl_fs_info_args x = { 0 }, y = { 0 };

	return ioctl(a, BTRFS_IOC_FS_INFO, &x) == 0 && ioctl(b, BTRFS_IOC_FS_INFO, &y) == 0 &&
	       memcmp(x.fsid, y.fsid, sizeof(x.fsid)) == 0;
}

/* Which of the directories to leave out are inside this btrfs, found by
 * their subvolume and inode (a snapshot keeps inode numbers): the capture
 * directory on a btrfs root is not read back into its own capture. */
static void find_inside(struct btrfs_capture *c, char *const *exclude, size_t n_exclude)
{
	for (size_t i = 0; i < n_exclude; i++) {
		struct btrfs_ioctl_ino_lookup_args look = { 0 };
		struct stat st;
		uint64_t id;
		size_t len;
		int fd = open(exclude[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			continue;
		look.objectid = 0;
		if (fstat(fd, &st) == 0 && same_fs(fd, c->top->fd) &&
		    btrfs_util_subvolume_id_fd(fd, &id) == BTRFS_UTIL_OK) {
			/* its path in its subvolume (treeid 0: the fd's); a
			 * subvolume's root (inode 256) is the whole of it */
			look.objectid = st.st_ino;
			if (st.st_ino != 256 && ioctl(fd, BTRFS_IOC_INO_LOOKUP, &look) < 0)
				look.objectid = 0;
		}
		close(fd);
		if (!look.objectid)
			continue;
		look.name[sizeof(look.name) - 1] = '\0';
		len = strlen(look.name);
		if (len && look.name[len - 1] == '/')
			look.name[len - 1] = '\0';	/* (the kernel's ends in '/') */
		c->inside = lb_realloc_array(c->inside, c->n_inside + 1, sizeof(*c->inside));
		c->inside[c->n_inside].subvol = id;
		c->inside[c->n_inside].rel = lb_strdup(look.name);
		lb_debug("btrfs", "%s: in subvolume %" PRIu64 " at '%s'", exclude[i], id, look.name);
		c->n_inside++;
	}
}

/* Every tree's place, snapshots taken when live. */
static int prepare(struct btrfs_capture *c, char *const *exclude, size_t n_exclude)
{
	c->n_trees = c->subvols->n + 1;
	c->trees = lb_realloc_array(NULL, c->n_trees, sizeof(*c->trees));
	memset(c->trees, 0, c->n_trees * sizeof(*c->trees));
	c->n_given = n_exclude;
	/* the top level first: its snapshot then holds none of the others */
	for (size_t i = 0; i < c->n_trees; i++) {
		const struct lb_btrfs_subvol *sv = i ? &c->subvols->subvols[i - 1] : NULL;
		struct tree *t = &c->trees[i];
		int r;

		t->prefix = sv ? sv->path : "";
		for (size_t j = 0; j < n_exclude; j++)
			add_excl(t, exclude[j]);
		if (c->top->live) {
			r = lb_btrfs_snap_take(c->top, sv, &t->snap);
			if (r < 0)
				return r;
			t->dir = lb_strdup(t->snap);
		} else {
			t->dir = sv ? lb_asprintf("%s/%s", c->top->dir, sv->path)
				    : lb_strdup(c->top->dir);
		}
		exclude_nested(c, t);
		for (size_t j = 0; j < c->n_inside; j++)
			if (c->inside[j].subvol == (sv ? sv->id : 5u))
				add_excl(t, *c->inside[j].rel ? lb_asprintf("%s/%s", t->dir,
									       c->inside[j].rel)
							      : lb_strdup(t->dir));
	}
	return 0;
}

/* The snapshots removed, the top level unmounted: the first error. */
static int finish(struct btrfs_capture *c)
{
	int first = 0;

	for (size_t i = 0; i < c->n_trees; i++) {
		struct tree *t = &c->trees[i];

		if (t->snap) {
			int r = lb_btrfs_snap_drop(c->top, t->snap);

			if (r < 0 && !first)
				first = lb_err(r, "%s (the next capture removes it)", lb_errmsg());
			free(t->snap);
		}
		free(t->dir);
		for (size_t j = c->n_given; j < t->n_excl; j++)
			free(t->excl[j]);
		free(t->excl);
	}
	free(c->trees);
	for (size_t i = 0; i < c->n_inside; i++)
		free(c->inside[i].rel);
	free(c->inside);
	if (lb_btrfs_top_umount(c->top) < 0 && !first)
		first = lb_err(-EBUSY, "%s", lb_errmsg());
	return first;
}

int lb_btrfs_archive(const char *dev, struct lb_volume *v, char *const *exclude, size_t n_exclude,
		     int out, int level, const struct lb_key *key, const char *file,
		     void (*progress)(void *, uint64_t), void *pud, char sha256[65],
		     uint64_t *ret_size)
{
	struct btrfs_capture c = { 0 };
	struct lb_archive_root *roots = NULL;
	bool live = lb_data_mounted_rw(v), here = v->mountpoint && !v->mount_source;
	int r, f;

	r = lb_btrfs_top_mount(dev, live ? LB_BTRFS_TOP_RW : here ? LB_BTRFS_TOP_DIRECT : 0, &c.top);
	if (r < 0)
		return r;
	if (live)
		r = lb_btrfs_snap_begin(c.top);
	if (r >= 0)
		r = lb_btrfs_subvols_read(c.top, &c.subvols);
	if (r >= 0) {
		find_inside(&c, exclude, n_exclude);
		r = prepare(&c, exclude, n_exclude);
	}
	if (r >= 0) {
		_cleanup_free_ size_t *parents = lb_btrfs_parents(c.subvols);

		roots = lb_realloc_array(NULL, c.n_trees, sizeof(*roots));
		for (size_t i = 0; i < c.n_trees; i++) {
			roots[i] = (struct lb_archive_root){ c.trees[i].dir, c.trees[i].prefix,
							     c.trees[i].excl, c.trees[i].n_excl, NULL };
			/* a snapshot of a subvolume made before it (walked
			 * before it): what they still share, named */
			if (i && parents[i - 1] < i - 1) {
				roots[i].clone_of = &roots[parents[i - 1] + 1];
				c.subvols->subvols[i - 1].clones_from =
					c.subvols->subvols[parents[i - 1]].id;
			}
		}
		lb_debug("btrfs", "%s: %zu subvolumes, %s", v->id, c.subvols->n,
			 live ? "each from a read-only snapshot" : "not mounted: read in place");
		r = lb_archive_capture_roots(roots, c.n_trees, out, level, key, file, progress, pud,
					     sha256, ret_size);
		free(roots);
	}
	/* (whatever happened: no snapshot stays) */
	if (r < 0) {
		_cleanup_free_ char *msg = lb_strdup(lb_errmsg());

		finish(&c);
		lb_btrfs_subvols_free(c.subvols);
		return lb_err(r, "%s", msg);
	}
	f = finish(&c);
	if (f < 0) {
		lb_btrfs_subvols_free(c.subvols);
		return f;
	}
	lb_btrfs_subvols_free(v->subvols);
	v->subvols = c.subvols;
	free(v->data_source);
	v->data_source = live ? lb_strdup("btrfs-snapshot") : NULL;
	return 0;
}

int lb_btrfs_record(const char *dev, struct lb_volume *v)
{
	struct lb_btrfs_top *top = NULL;
	struct lb_btrfs_subvols *s = NULL;
	bool here = v->mountpoint && !v->mount_source;
	int r;

	r = lb_btrfs_top_mount(dev, here ? LB_BTRFS_TOP_DIRECT : 0, &top);
	if (r >= 0)
		r = lb_btrfs_subvols_read(top, &s);
	if (lb_btrfs_top_umount(top) < 0 && r >= 0)
		r = lb_err(-EBUSY, "%s", lb_errmsg());
	if (r < 0) {
		lb_btrfs_subvols_free(s);
		return r;
	}
	lb_btrfs_subvols_free(v->subvols);
	v->subvols = s;
	return 0;
}
