// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Archive data, compared (drill): a restored tree against the archive it
 * came from, entry by entry: existence, hard links, type, mode, owner,
 * modification time, size, device number, link target, xattrs, content.
 * What differs is returned, not printed: the command says it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "data/archive-int.h"

void lb_archive_diffs_clear(struct lb_archive_diffs *d)
{
	for (unsigned i = 0; i < d->n && i < LB_DIFFS_NAMED; i++) {
		free(d->named[i].path);
		free(d->named[i].what);
	}
	memset(d, 0, sizeof(*d));
}

/* One more entry that differs: the first few named. */
static void differ(struct lb_archive_diffs *d, const char *path, const char *what)
{
	if (d->n < LB_DIFFS_NAMED) {
		d->named[d->n].path = lb_strdup(path);
		d->named[d->n].what = lb_strdup(what);
	}
	d->n++;
}

static void compare_content(struct archive *in, int fd, const char *path,
			    struct lb_archive_diffs *d)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	uint8_t *tmp = NULL;
	size_t cap = 0;
	int r;

	while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
		if (size > cap) {
			free(tmp);
			cap = size;
			tmp = lb_zalloc(cap);
		}
		if (lb_pread_all(fd, tmp, size, (uint64_t)off) < 0 || memcmp(tmp, buf, size) != 0) {
			differ(d, path, "content");
			break;
		}
	}
	free(tmp);
}

/* (the project ID read below rootfd, never through a link: the name is
 * the archive's) */
static void compare_xattrs(struct archive_entry *e, int rootfd, const char *path,
			   struct lb_archive_diffs *d)
{
	const char *name;
	const void *val;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		char buf[65536];
		ssize_t got;

		/* (preallocated ranges and inode flags, not attributes:
		 * the flags are compare_flags') */
		if (strcmp(name, PREALLOC_XATTR) == 0 || strcmp(name, FLAGS_XATTR) == 0 ||
		    strcmp(name, CLONE_XATTR) == 0)
			continue;
		if (strcmp(name, PROJECT_XATTR) == 0) {
			if (!lb_ar_project_matches(rootfd, archive_entry_pathname(e), val, size)) {
				differ(d, path, "project ID");
				return;
			}
			continue;
		}
		got = lgetxattr(path, name, buf, sizeof(buf));

		if (got < 0 || (size_t)got != size || memcmp(buf, val, size) != 0) {
			differ(d, path, name);
			return;
		}
	}
}

/* The inode flags of a regular file or directory: FLAGS_XATTR's, or
 * libarchive's fflags in an archive made before it, or none; read from an
 * fd opened for reading only (an immutable file is not written to, and a
 * drill's tree is mounted read-only). */
static void compare_flags(struct archive_entry *e, const char *path, const struct stat *st,
			  struct lb_archive_diffs *d)
{
	const char *name;
	const void *val;
	size_t size;
	uint32_t want = 0, got;
	bool found = false;
	char unknown[16];
	int fd;

	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return;
	archive_entry_xattr_reset(e);
	while (!found && archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK)
		if (strcmp(name, FLAGS_XATTR) == 0) {
			found = true;
			if (lb_ar_flags_parse(val, size, &want, unknown, sizeof(unknown)) < 0) {
				differ(d, path, "inode flags (the record is not valid)");
				return;
			}
		}
	if (!found) {
		unsigned long set, clear;

		archive_entry_fflags(e, &set, &clear);
		want = (uint32_t)set & lb_ar_flags_carried();
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		differ(d, path, "readability");
		return;
	}
	/* (a filesystem without flags has none: equal when none are recorded) */
	lb_ar_flags_get(fd, &got);
	close(fd);
	if (got != want) {
		char w[32], g[32];
		_cleanup_free_ char *what = NULL;

		lb_ar_flags_text(want, w, sizeof(w));
		lb_ar_flags_text(got, g, sizeof(g));
		what = lb_asprintf("inode flags ('%s' recorded, '%s' found)", w, g);
		differ(d, path, what);
	}
}

/* The permission bits the file has once the entry is extracted: with an
 * access ACL holding a mask, the group bits are the mask's (what
 * setting the ACL makes them), while libarchive's entry, read back, holds
 * the owning group's entry there. */
static mode_t extracted_perm(struct archive_entry *e)
{
	mode_t perm = archive_entry_perm(e) & 07777;
	int type, permset, tag, qual;
	const char *name;

	if (archive_entry_acl_reset(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) <= 0)
		return perm;
	while (archive_entry_acl_next(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &type, &permset, &tag,
				      &qual, &name) == ARCHIVE_OK)
		if (tag == ARCHIVE_ENTRY_ACL_MASK)
			return (perm & ~(mode_t)0070) | (mode_t)((permset & 07) << 3);
	return perm;
}

/* The entry's metadata against the file at path (lstat in st). */
static void compare_meta(struct archive_entry *e, const char *path, const struct stat *st,
			 struct lb_archive_diffs *d)
{
	if ((st->st_mode & S_IFMT) != (archive_entry_mode(e) & AE_IFMT))
		differ(d, path, "type");
	else if ((st->st_mode & 07777) != extracted_perm(e) && !S_ISLNK(st->st_mode))
		differ(d, path, "mode");
	else if ((la_int64_t)st->st_uid != archive_entry_uid(e) ||
		 (la_int64_t)st->st_gid != archive_entry_gid(e))
		differ(d, path, "owner");
	else if (!S_ISLNK(st->st_mode) && !S_ISDIR(st->st_mode) &&
		 (st->st_mtim.tv_sec != archive_entry_mtime(e) ||
		  st->st_mtim.tv_nsec != archive_entry_mtime_nsec(e)))
		differ(d, path, "modification time");
	else if (S_ISREG(st->st_mode) && st->st_size != archive_entry_size(e))
		differ(d, path, "size");
	else if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) &&
		 st->st_rdev != archive_entry_rdev(e))
		differ(d, path, "device number");
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t len = readlink(path, target, sizeof(target) - 1);

		if (len < 0 || (target[len] = '\0', !archive_entry_symlink(e)) ||
		    strcmp(target, archive_entry_symlink(e)) != 0)
			differ(d, path, "link target");
	}
}

/* The entry's clone record (CLONE_XATTR): the path, below the root, of
 * the file it is a clone of, or NULL. */
static char *clone_of(struct archive_entry *e)
{
	const char *name;
	const void *val;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK)
		if (strcmp(name, CLONE_XATTR) == 0 && size && size < 4096 && !memchr(val, '\0', size))
			return lb_asprintf("%.*s", (int)size, (const char *)val);
	return NULL;
}

/* A clone's bytes against those of the file it is a clone of (whose own
 * entry has its bytes, compared there): read where their extents differ
 * (a restore copies them where the target cannot share them). That file
 * is found inside the root (a hostile archive's restored link leads
 * nowhere else) and only a regular file is opened (a FIFO would block, a
 * device's open may do something). */
static void compare_clone(int fd, int rootfd, const char *src, const char *path, uint64_t size,
			  struct lb_archive_diffs *d)
{
	struct stat st;
	int sfd = rootfd < 0 ? -EBADF : lb_open_file_in_root(rootfd, src, O_RDONLY, &st);

	if (sfd < 0 || !lb_same_bytes(fd, sfd, size))
		differ(d, path, "content (a clone)");
	if (sfd >= 0)
		close(sfd);
}

/* One entry against what is under root. */
static void compare_entry(struct archive *in, struct archive_entry *e, const char *root,
			  int rootfd, struct lb_archive_diffs *d)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", root, archive_entry_pathname(e));
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0) {
		differ(d, path, "existence");
		return;
	}
	if (archive_entry_hardlink(e)) {
		_cleanup_free_ char *target = lb_asprintf("%s/%s", root, archive_entry_hardlink(e));
		struct stat ts;

		if (lstat(target, &ts) < 0 || ts.st_ino != st.st_ino)
			differ(d, path, "hard link");
		return;
	}
	compare_meta(e, path, &st, d);
	compare_xattrs(e, rootfd, path, d);
	compare_flags(e, path, &st, d);
	if (!S_ISREG(st.st_mode) || archive_entry_size(e) <= 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		differ(d, path, "readability");
		return;
	}
	{
		_cleanup_free_ char *src = clone_of(e);

		if (src)
			compare_clone(fd, rootfd, src, path, (uint64_t)archive_entry_size(e), d);
		else
			compare_content(in, fd, path, d);
	}
	close(fd);
}

/* ret is filled as the entries are compared: on a failure too, with what
 * was found before it. */
int lb_archive_compare(int data_fd, const char *name, const struct lb_artifact *a,
		       const char *root, struct lb_archive_diffs *ret)
{
	struct lb_ar_reader c = { 0 };
	struct archive *in = NULL;
	struct archive_entry *e;
	int rootfd, r;

	memset(ret, 0, sizeof(*ret));
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return lb_err(-errno, "%s: cannot open %s: %s", name, root, strerror(errno));
	r = lb_dr_open_artifact(data_fd, name, a, &c.dr);
	if (r < 0) {
		close(rootfd);
		return r;
	}
	in = archive_read_new();
	archive_read_support_format_tar(in);
	if (archive_read_open(in, &c, NULL, lb_ar_read_cb, NULL) != ARCHIVE_OK) {
		r = c.err < 0 ? c.err : lb_ar_err(in, name);
		goto out;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
		compare_entry(in, e, root, rootfd, ret);
	if (r != ARCHIVE_EOF)
		r = c.err < 0 ? c.err : lb_ar_err(in, name);
	else
		r = 0;
out:
	archive_read_free(in);
	lb_dr_close(c.dr);
	close(rootfd);
	return r;
}
