// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Archive data: a mounted volume's files, through libarchive (pax, with
 * ownership, modes, times, hard links, symlinks, sparse files, device nodes,
 * fifos, xattrs, POSIX ACLs, file capabilities and SELinux labels; project
 * IDs and inode flags as pseudo attributes of their own), one
 * filesystem only, the capture directory left out; carried as a stream in
 * the data container. Extracted with libarchive's secure flags: no "..", no
 * absolute paths, no writing through symlinks (archive-extract.c).
 *
 * Each file's allocation comes back as it was (filemap.c): its data where
 * it had data, zeros included, its holes where it had holes (the entry's
 * sparse map), and its preallocated ranges (fallocate: allocated, reading
 * as zeros) allocated again. Those ranges travel as a pax record of their
 * own, the extended attribute PREALLOC_XATTR, which a restore takes off the
 * entry and fallocates instead of setting. Archives without it (made before
 * it existed) extract as before, holes and data as their sparse maps say.
 *
 * Several trees of one filesystem may go into one archive (a btrfs's
 * subvolumes, lb_archive_capture_roots): a tree may name an earlier one
 * whose files it shares (a snapshot's parent), and its regular files with
 * the same bytes as the file at their path there (same.c) are written as
 * clones of that one's entry, without data (CLONE_XATTR, archive-int.h).
 *
 * This file: the capture, the tree walked (walk.c) into the archive.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "data/archive-int.h"

static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct lb_dw *w = ud;

	if (lb_dw_write(w, buf, len) < 0) {
		archive_set_error(a, EIO, "%s", lb_errmsg());
		return -1;
	}
	return (la_ssize_t)len;
}

#define COPY_BUF (1u << 20)

/* Feeds n zero bytes: the pax writer turns those inside a hole of the
 * entry's sparse map back into the hole (as bsdtar does). */
static int write_zeros(struct archive *out, uint64_t n, const char *path)
{
	static const uint8_t zeros[65536];

	while (n) {
		size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;

		if (archive_write_data(out, zeros, k) < 0)
			return lb_ar_err(out, path);
		n -= k;
	}
	return 0;
}

/* Copies [off, off + len) of the file; a file that shrank while it was
 * read is padded with zeros to what its header said. */
static int copy_range(struct archive *out, int fd, uint8_t *buf, uint64_t off, uint64_t len,
		      const char *path, bool *shrank)
{
	while (len) {
		size_t want = len > COPY_BUF ? COPY_BUF : (size_t)len;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_err(-errno, "%s: cannot read: %s", path, strerror(errno));
		if (n == 0) {
			*shrank = true;
			return write_zeros(out, len, path);
		}
		if (archive_write_data(out, buf, (size_t)n) < 0)
			return lb_ar_err(out, path);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* One file's data: its data regions (from the entry's sparse map, when
 * libarchive found holes) with zeros for the holes between them. */
static int copy_file(struct archive *out, struct archive_entry *e, int fd, uint8_t *buf,
		     const char *path)
{
	uint64_t size = (uint64_t)archive_entry_size(e), at = 0;
	la_int64_t off, len;
	bool shrank = false, mapped = archive_entry_sparse_reset(e) > 0;
	int r = 0;

	if (mapped) {
		while (r >= 0 && archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
			uint64_t o = (uint64_t)off, l = (uint64_t)len;

			if (o < at || o > size)
				continue;
			if (l > size - o)
				l = size - o;
			r = write_zeros(out, o - at, path);
			if (r >= 0)
				r = copy_range(out, fd, buf, o, l, path, &shrank);
			at = o + l;
		}
	}
	/* (a map with no data, libarchive's (0, 0): all of it holes or
	 * preallocated, zeros that are not read) */
	if (r >= 0 && !mapped)
		r = copy_range(out, fd, buf, 0, size, path, &shrank);
	else if (r >= 0 && at < size)
		r = write_zeros(out, size - at, path);
	if (r >= 0 && shrank)
		lb_warn("%s: shrank while it was read; padded with zeros", path);
	return r;
}

static int write_entry(struct archive *out, struct archive_entry *e, int fd, uint8_t *buf,
		       const char *src)
{
	if (archive_write_header(out, e) < ARCHIVE_WARN)
		return lb_ar_err(out, src);
	if (archive_entry_size(e) > 0 && archive_entry_filetype(e) == AE_IFREG && fd >= 0)
		return copy_file(out, e, fd, buf, src);
	return 0;
}

/* The file's allocation into its entry: the data ranges as its sparse map
 * (none when it is all data; libarchive's (0, 0) when it has none), the
 * preallocated ranges as PREALLOC_XATTR. The record stays within
 * PREALLOC_MAX: the preallocated ranges after that (a file fragmented into
 * thousands of them) go as data, zeros that a restore writes, which
 * allocates them too. */
static int set_allocation(struct archive_entry *e, int fd, const char *path)
{
	uint64_t size = (uint64_t)archive_entry_size(e);
	struct lb_filemap m;
	_cleanup_free_ char *pre = NULL;
	size_t len = 0;
	bool data = false;
	int r;

	archive_entry_sparse_clear(e);
	r = lb_filemap_read(fd, size, &m);
	if (r < 0)
		return lb_err(r, "%s: %s", path, lb_errmsg());
	if (lb_filemap_dense(&m, size)) {
		lb_filemap_clear(&m);
		return 0;
	}
	for (size_t i = 0; i < m.n; i++) {
		const struct lb_alloc_range *a = &m.r[i];
		char item[48];
		int k = snprintf(item, sizeof(item), "%s%" PRIu64 "+%" PRIu64, len ? " " : "", a->off,
				 a->len);

		if (a->kind == LB_ALLOC_DATA || len + (size_t)k > PREALLOC_MAX) {
			archive_entry_sparse_add_entry(e, (la_int64_t)a->off, (la_int64_t)a->len);
			data = true;
			continue;
		}
		pre = lb_realloc_array(pre, len + (size_t)k + 1, 1);
		memcpy(pre + len, item, (size_t)k + 1);
		len += (size_t)k;
	}
	if (!data)
		archive_entry_sparse_add_entry(e, 0, 0);
	if (pre)
		archive_entry_xattr_add_entry(e, PREALLOC_XATTR, pre, len);
	lb_filemap_clear(&m);
	return 0;
}

/* The entry's project ID and inode flags, when it has them (a regular file
 * through its open fd, a directory opened for it). */
static void set_inode_attrs(struct archive_entry *e, int fd, const struct lb_walk_entry *we)
{
	char val[32];
	uint32_t bits;
	int k, dfd = -1;

	if (S_ISDIR(we->st.st_mode))
		fd = dfd = open(we->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	else if (!S_ISREG(we->st.st_mode))
		return;
	if (fd < 0)
		return;
	k = lb_ar_project_get(fd, val, sizeof(val));
	if (k > 0)
		archive_entry_xattr_add_entry(e, PROJECT_XATTR, val, (size_t)k);
	if (lb_ar_flags_get(fd, &bits) == 0 && bits) {
		k = lb_ar_flags_text(bits, val, sizeof(val));
		archive_entry_xattr_add_entry(e, FLAGS_XATTR, val, (size_t)k);
	}
	if (dfd >= 0)
		close(dfd);
}

/* Whether what the walk saw at we->path is gone or is something else now
 * (a symlink replaced while its target was being read, say). */
static bool changed(const struct lb_walk_entry *we)
{
	struct stat now;

	if (lstat(we->path, &now) < 0)
		return errno == ENOENT || errno == ENOTDIR;
	return now.st_ino != we->st.st_ino || now.st_dev != we->st.st_dev ||
	       (now.st_mode & S_IFMT) != (we->st.st_mode & S_IFMT) ||
	       now.st_ctim.tv_sec != we->st.st_ctim.tv_sec ||
	       now.st_ctim.tv_nsec != we->st.st_ctim.tv_nsec;
}


/* entries left out for changing under the walk: the first few named */
#define CHANGED_NAMED 10

/* A regular file opened for reading its data, xattrs, ACLs and holes. */
static int open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	return fd;
}

/* The archive paths of a root's regular files a later root may clone
 * (one link, some data, in the archive): sorted once the root is walked. */
struct pathset {
	char **v;
	size_t n;
	bool wanted;	/* a later root's clone_of */
	const struct lb_archive_root *from;	/* this root's clone_of: an earlier one */
	char *dir;	/* its names in the archive: "./" for the top, "./home/" below */
};

struct capture {
	struct archive *disk, *out;
	struct archive_entry_linkresolver *lr;
	struct lb_dw *w;
	uint8_t *buf;
	unsigned n_changed;
	const struct lb_archive_root *roots;
	struct pathset *sets;	/* one per root */
	size_t cur;		/* the root being walked */
	uint64_t n_clones;
};

/* A regular file opened for its data into *ret_fd (-1 for anything else).
 * Returns: 0; 1 when it is gone or no longer a regular file (a live system
 * changes under the walk: it is left out; one replaced by another, an
 * atomic rename, is taken as it is now); < 0 on an error. */
static int open_regular(struct lb_walk_entry *we, int *ret_fd)
{
	struct stat now;
	int fd;

	*ret_fd = -1;
	if (!S_ISREG(we->st.st_mode))
		return 0;
	fd = open_file(we->path);
	if (fd < 0) {
		int err = errno;

		return changed(we) ? 1 : lb_err(-err, "%s: %s", we->path, strerror(err));
	}
	if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode)) {
		close(fd);
		return 1;
	}
	we->st = now;
	*ret_fd = fd;
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool pathset_has(const struct pathset *s, const char *path)
{
	return s->n && bsearch(&path, s->v, s->n, sizeof(*s->v), cmp_path);
}

/* Whether fd (a regular file of one link, open) is a clone of the file at
 * its path in the root the current one may clone: the archive path of that
 * one's entry, or NULL. */
static char *clone_source(struct capture *c, const struct lb_walk_entry *we, int fd)
{
	const struct lb_archive_root *from = c->sets[c->cur].from;
	const char *dir = c->sets[c->cur].dir, *from_dir = c->sets[from - c->roots].dir;
	_cleanup_free_ char *path = NULL;
	char *src;
	const char *below;
	struct stat st;
	uint32_t fa, fb;
	int sfd;

	if (strncmp(we->rel, dir, strlen(dir)) != 0)
		return NULL;
	below = we->rel + strlen(dir);
	src = lb_asprintf("%s%s", from_dir, below);
	if (!pathset_has(&c->sets[from - c->roots], src)) {
		free(src);
		return NULL;
	}
	path = lb_asprintf("%s/%s", from->dir, below);
	sfd = open_file(path);
	if (sfd >= 0 && fstat(sfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    st.st_size == we->st.st_size && lb_ar_flags_get(fd, &fa) == lb_ar_flags_get(sfd, &fb) &&
	    fa == fb && lb_same_data(fd, sfd, (uint64_t)st.st_size)) {
		close(sfd);
		return src;
	}
	if (sfd >= 0)
		close(sfd);
	free(src);
	return NULL;
}

/* A regular file with data, of one link: a clone of the one at its path
 * in the root this one may clone (its entry then carries no data), or its
 * allocation (set_allocation). Returns: 1 a clone, 0, < 0 on an error. */
static int set_data(struct capture *c, struct archive_entry *e, int fd,
		    const struct lb_walk_entry *we)
{
	_cleanup_free_ char *src = NULL;

	if (c->sets[c->cur].from && we->st.st_nlink == 1)
		src = clone_source(c, we, fd);
	if (!src)
		return set_allocation(e, fd, we->path);
	archive_entry_sparse_clear(e);
	archive_entry_sparse_add_entry(e, 0, 0);
	archive_entry_xattr_add_entry(e, CLONE_XATTR, src, strlen(src));
	c->n_clones++;
	return 1;
}

/* A file a later root may clone: its archive path kept. */
static void keep_path(struct capture *c, const struct lb_walk_entry *we)
{
	struct pathset *s = &c->sets[c->cur];

	if (!s->wanted || !S_ISREG(we->st.st_mode) || we->st.st_nlink != 1 || we->st.st_size <= 0)
		return;
	s->v = lb_realloc_array(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = lb_strdup(we->rel);
}

/* One entry of the walk into the archive, or left out (with a warning for
 * the first few) when it changed under the walk. */
static int capture_entry(struct capture *c, struct lb_walk_entry *we)
{
	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	int fd, r;

	archive_entry_copy_sourcepath(e, we->path);
	r = open_regular(we, &fd);
	/* owner, modes, times, link target, xattrs, ACLs, holes */
	if (r == 0 && archive_read_disk_entry_from_file(c->disk, e, fd, &we->st) < ARCHIVE_WARN)
		r = changed(we) ? 1 : lb_ar_err(c->disk, we->path);
	if (r == 0 && fd >= 0 && archive_entry_size(e) > 0) {
		r = set_data(c, e, fd, we);
		r = r < 0 ? r : 0;
	}
	if (r == 0)
		set_inode_attrs(e, fd, we);
	if (r == 0) {
		archive_entry_copy_pathname(e, we->rel);
		archive_entry_linkify(c->lr, &e, &spare);
		/* (a clone's entry: its sparse map, one hole, and nothing
		 * read: libarchive writes the map with the first data) */
		if (e)
			r = write_entry(c->out, e, fd, c->buf, we->path);
		if (r >= 0 && e)
			keep_path(c, we);
		/* a deferred hard-link target: its data is not at hand, the
		 * first link carried it */
		if (r >= 0 && spare)
			r = write_entry(c->out, spare, -1, c->buf, we->path);
	}
	/* the first few named, then counted */
	if (r == 1 && ++c->n_changed <= CHANGED_NAMED)
		lb_warn("%s: changed while the capture ran: left out", we->path);
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	archive_entry_free(spare);
	return r < 0 ? r : 0;
}

static int capture_open(struct capture *c, int out_fd, int level, const struct lb_key *key,
			const char *file, lb_progress_fn progress, void *pud)
{
	int r;

	c->disk = archive_read_disk_new();
	c->out = archive_write_new();
	c->lr = archive_entry_linkresolver_new();
	c->buf = malloc(COPY_BUF);
	if (!c->buf)
		return lb_err(-ENOMEM, "out of memory");
	r = lb_dw_open_key(out_fd, LB_CONTAINER_STREAM, 0, 0, level, key, file, &c->w);
	if (r < 0)
		return r;
	lb_dw_set_progress(c->w, progress, pud);
	archive_entry_linkresolver_set_strategy(c->lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	archive_read_disk_set_standard_lookup(c->disk);
	/* the holes are found here (set_allocation), not by libarchive:
	 * its SEEK_DATA map takes a preallocated range for a hole; and so
	 * are the inode flags (set_inode_attrs: FLAGS_XATTR) */
	archive_read_disk_set_behavior(c->disk, ARCHIVE_READDISK_NO_SPARSE |
						ARCHIVE_READDISK_NO_FFLAGS);
	archive_write_set_format_pax(c->out);
	archive_write_set_bytes_per_block(c->out, 0);
	if (archive_write_open2(c->out, c->w, NULL, write_cb, NULL, NULL) != ARCHIVE_OK)
		return lb_ar_err(c->out, "cannot start the archive");
	return 0;
}

/* The hard links still deferred, the archive's end. */
static int capture_finish(struct capture *c, const char *root)
{
	struct archive_entry *e = NULL, *spare = NULL;

	for (;;) {
		int r;

		archive_entry_linkify(c->lr, &e, &spare);
		if (!e)
			break;
		r = write_entry(c->out, e, -1, c->buf, archive_entry_pathname(e));
		archive_entry_free(e);
		e = NULL;
		if (r < 0)
			return r;
	}
	if (archive_write_close(c->out) != ARCHIVE_OK)
		return lb_ar_err(c->out, "cannot finish the archive");
	if (c->n_changed > CHANGED_NAMED)
		lb_warn("%s: %u entries changed while the capture ran and were left out (the first %d "
			"named above)",
			root, c->n_changed, CHANGED_NAMED);
	return 0;
}

/* Everything but the data file's writer. */
static void capture_free(struct capture *c, size_t n_roots)
{
	for (size_t i = 0; c->sets && i < n_roots; i++) {
		for (size_t j = 0; j < c->sets[i].n; j++)
			free(c->sets[i].v[j]);
		free(c->sets[i].v);
		free(c->sets[i].dir);
	}
	free(c->sets);
	archive_write_free(c->out);
	archive_read_free(c->disk);
	archive_entry_linkresolver_free(c->lr);
	free(c->buf);
}

int lb_archive_capture(const char *root, char *const *exclude, size_t n_exclude, int out_fd,
		       int level, const struct lb_key *key, const char *file, lb_progress_fn progress,
		       void *pud, char sha256[65], uint64_t *ret_size)
{
	struct lb_archive_root one = { root, NULL, exclude, n_exclude, NULL };

	return lb_archive_capture_roots(&one, 1, out_fd, level, key, file, progress, pud, sha256,
					ret_size);
}

int lb_archive_capture_roots(const struct lb_archive_root *roots, size_t n_roots, int out_fd,
			     int level, const struct lb_key *key, const char *file,
			     lb_progress_fn progress, void *pud, char sha256[65], uint64_t *ret_size)
{
	struct capture c = { .roots = roots };
	struct lb_walk_entry we;
	int r;

	c.sets = lb_zalloc((n_roots ? n_roots : 1) * sizeof(*c.sets));
	for (size_t i = 0; i < n_roots; i++) {
		c.sets[i].dir = roots[i].prefix && *roots[i].prefix
					? lb_asprintf("./%s/", roots[i].prefix)
					: lb_strdup("./");
		if (roots[i].clone_of && roots[i].clone_of >= roots && roots[i].clone_of < roots + i) {
			c.sets[i].from = roots[i].clone_of;
			c.sets[roots[i].clone_of - roots].wanted = true;
		}
	}
	r = capture_open(&c, out_fd, level, key, file, progress, pud);
	for (size_t i = 0; i < n_roots && r >= 0; i++) {
		struct lb_walk *walk = NULL;

		c.cur = i;
		/* (a tree of clones is mostly not read: no read-ahead) */
		r = lb_walk_start_at(roots[i].dir, roots[i].prefix, roots[i].exclude,
				     roots[i].n_exclude, !c.sets[i].from, &walk);
		while (r >= 0 && (r = lb_walk_next(walk, &we)) > 0)
			r = capture_entry(&c, &we);
		lb_walk_free(walk);
		if (c.sets[i].n)
			qsort(c.sets[i].v, c.sets[i].n, sizeof(*c.sets[i].v), cmp_path);
	}
	if (r >= 0)
		r = capture_finish(&c, n_roots ? roots[0].dir : "");
	if (r >= 0 && c.n_clones)
		lb_debug("archive", "%" PRIu64 " files as clones of an earlier tree's", c.n_clones);
	/* (the archive freed first: it writes into the data file) */
	capture_free(&c, n_roots);
	if (r >= 0)
		return lb_dw_close(c.w, sha256, ret_size);
	lb_dw_abort(c.w);
	return r;
}
