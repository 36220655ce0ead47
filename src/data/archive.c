// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Archive data: a mounted volume's files, through libarchive (pax, with
 * ownership, modes, times, hard links, symlinks, sparse files, device nodes,
 * fifos, xattrs, POSIX ACLs, file capabilities and SELinux labels), one
 * filesystem only, the capture directory left out; carried as a stream in
 * the data container. Extracted with libarchive's secure flags: no "..", no
 * absolute paths, no writing through symlinks.
 *
 * Each file's allocation comes back as it was (filemap.c): its data where
 * it had data, zeros included, its holes where it had holes (the entry's
 * sparse map), and its preallocated ranges (fallocate: allocated, reading
 * as zeros) allocated again. Those ranges travel as a pax record of their
 * own, the extended attribute PREALLOC_XATTR, which a restore takes off the
 * entry and fallocates instead of setting. Archives without it (made before
 * it existed) extract as before, holes and data as their sparse maps say.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
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

static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct lb_dw *w = ud;

	if (lb_dw_write(w, buf, len) < 0) {
		archive_set_error(a, EIO, "%s", lb_errmsg());
		return -1;
	}
	return (la_ssize_t)len;
}

static int ar_err(struct archive *a, const char *what)
{
	const char *msg = archive_error_string(a);
	int e = archive_errno(a);

	return lb_err(e > 0 ? -e : -EIO, "%s: %s", what, msg ? msg : "libarchive error");
}

#define COPY_BUF (1u << 20)

/* A file's preallocated ranges, in its entry: an extended attribute in no
 * namespace Linux knows, so no file has a real one of that name (setting
 * it fails with EOPNOTSUPP, which libarchive takes as a warning: an older
 * lifeboat restores the file without its preallocation). Its value:
 * "OFFSET+LENGTH" in decimal bytes, in order, separated by one space. */
#define PREALLOC_XATTR "lifeboat.prealloc"
/* its longest value: a pax header holds it twice (once in base64), and
 * libarchive reads headers of up to 1 MiB */
#define PREALLOC_MAX (64u << 10)

/* Feeds n zero bytes: the pax writer turns those inside a hole of the
 * entry's sparse map back into the hole (as bsdtar does). */
static int write_zeros(struct archive *out, uint64_t n, const char *path)
{
	static const uint8_t zeros[65536];

	while (n) {
		size_t k = n > sizeof(zeros) ? sizeof(zeros) : (size_t)n;

		if (archive_write_data(out, zeros, k) < 0)
			return ar_err(out, path);
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
			return ar_err(out, path);
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
		return ar_err(out, src);
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

int lb_archive_capture(const char *root, char *const *exclude, size_t n_exclude, int out_fd,
		       int level, lb_progress_fn progress, void *pud, char sha256[65],
		       uint64_t *ret_size)
{
	struct archive *disk = archive_read_disk_new();
	struct archive *out = archive_write_new();
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	struct archive_entry *e = NULL, *spare = NULL;
	struct lb_walk *walk = NULL;
	struct lb_walk_entry we;
	struct lb_dw *w = NULL;
	unsigned n_changed = 0;
	uint8_t *buf = malloc(COPY_BUF);
	int fd = -1, r;

	if (!buf) {
		r = lb_err(-ENOMEM, "out of memory");
		goto fail;
	}
	r = lb_dw_open(out_fd, LB_CONTAINER_STREAM, 0, 0, level, &w);
	if (r < 0)
		goto fail;
	lb_dw_set_progress(w, progress, pud);
	archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	archive_read_disk_set_standard_lookup(disk);
	/* the holes are found here (set_allocation), not by libarchive:
	 * its SEEK_DATA map takes a preallocated range for a hole */
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_SPARSE);
	archive_write_set_format_pax(out);
	archive_write_set_bytes_per_block(out, 0);
	if (archive_write_open2(out, w, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		r = ar_err(out, "cannot start the archive");
		goto fail;
	}
	r = lb_walk_start(root, exclude, n_exclude, &walk);
	if (r < 0)
		goto fail;
	while ((r = lb_walk_next(walk, &we)) > 0) {
		e = archive_entry_new();
		archive_entry_copy_sourcepath(e, we.path);
		if (S_ISREG(we.st.st_mode)) {
			struct stat now;

			fd = open_file(we.path);
			if (fd < 0) {
				int err = errno;

				if (!changed(&we)) {
					r = lb_err(-err, "%s: %s", we.path, strerror(err));
					goto fail;
				}
			}
			/* a live system changes under the walk: a file gone or
			 * no longer a regular file is left out; one replaced
			 * by another (an atomic rename) is taken as it is now */
			if (fd < 0 || fstat(fd, &now) < 0 || !S_ISREG(now.st_mode))
				goto left_out;
			we.st = now;
		}
		/* owner, modes, times, link target, xattrs, ACLs, holes */
		if (archive_read_disk_entry_from_file(disk, e, fd, &we.st) < ARCHIVE_WARN) {
			if (!changed(&we)) {
				r = ar_err(disk, we.path);
				goto fail;
			}
			goto left_out;
		}
		if (fd >= 0 && archive_entry_size(e) > 0) {
			r = set_allocation(e, fd, we.path);
			if (r < 0)
				goto fail;
		}
		archive_entry_copy_pathname(e, we.rel);
		archive_entry_linkify(lr, &e, &spare);
		if (e) {
			r = write_entry(out, e, fd, buf, we.path);
			if (r < 0)
				goto fail;
		}
		if (spare) {
			/* a deferred hard-link target: its data is not at hand,
			 * the first link carried it */
			r = write_entry(out, spare, -1, buf, we.path);
			archive_entry_free(spare);
			spare = NULL;
			if (r < 0)
				goto fail;
		}
		goto next;
left_out:
		/* the first few named, then counted */
		if (++n_changed <= CHANGED_NAMED)
			lb_warn("%s: changed while the capture ran: left out", we.path);
next:
		if (fd >= 0)
			close(fd);
		fd = -1;
		archive_entry_free(e);
		e = NULL;
	}
	if (r < 0)
		goto fail;
	for (;;) {
		archive_entry_linkify(lr, &e, &spare);
		if (!e)
			break;
		r = write_entry(out, e, -1, buf, archive_entry_pathname(e));
		archive_entry_free(e);
		e = NULL;
		if (r < 0)
			goto fail;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		r = ar_err(out, "cannot finish the archive");
		goto fail;
	}
	if (n_changed > CHANGED_NAMED)
		lb_warn("%s: %u entries changed while the capture ran and were left out (the first %d "
			"named above)",
			root, n_changed, CHANGED_NAMED);
	lb_walk_free(walk);
	archive_write_free(out);
	archive_read_free(disk);
	archive_entry_linkresolver_free(lr);
	free(buf);
	return lb_dw_close(w, sha256, ret_size);
fail:
	if (fd >= 0)
		close(fd);
	lb_walk_free(walk);
	archive_entry_free(e);
	archive_entry_free(spare);
	archive_write_free(out);
	archive_read_free(disk);
	archive_entry_linkresolver_free(lr);
	lb_dw_abort(w);
	free(buf);
	return r;
}

/* ---- extraction ------------------------------------------------------- */

/* Writeback behind the extraction. The files extracted are only in the
 * page cache until something writes them out, and on a machine with GiBs of
 * memory the kernel starts only once a tenth of it is dirty: left alone,
 * the whole volume goes out at the unmount, after the last file, while
 * nothing else happens (on a 2-core VM, 2.2 GB of files: 10.2 s median
 * against 7.9 s with a syncfs every 300 ms). A thread of its own runs
 * syncfs on the target after every FLUSH_STEP bytes of archive read, so
 * the writing overlaps the extracting; its errors are kept for the end. */
#define FLUSH_STEP (64u << 20)

struct flusher {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;			/* the target's root */
	bool pending, stop, started;
	int err;		/* the first syncfs failure */
};

static void *flusher_main(void *arg)
{
	struct flusher *f = arg;

	for (;;) {
		int e;

		pthread_mutex_lock(&f->lock);
		while (!f->pending && !f->stop)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->stop) {
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		f->pending = false;
		pthread_mutex_unlock(&f->lock);
		e = syncfs(f->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&f->lock);
		if (e < 0 && f->err == 0)
			f->err = e;
		pthread_mutex_unlock(&f->lock);
	}
}

/* Without it (no fd, no thread) the extraction is as it was: slower. */
static void flusher_start(struct flusher *f, const char *root)
{
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->started = f->fd >= 0 && pthread_create(&f->thread, NULL, flusher_main, f) == 0;
}

static void flusher_kick(struct flusher *f)
{
	if (!f->started)
		return;
	pthread_mutex_lock(&f->lock);
	f->pending = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* Stops the thread, then writes out what is left and waits for it: 0, or
 * the first error of any syncfs. */
static int flusher_finish(struct flusher *f)
{
	int e = 0;

	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
		f->started = false;
		e = f->err;
	}
	if (f->fd >= 0) {
		if (syncfs(f->fd) < 0 && e == 0)
			e = -errno;
		close(f->fd);
		f->fd = -1;
	}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	return e;
}

struct reader_ctx {
	struct lb_dr *dr;
	int err;
	lb_progress_fn progress;
	void *pud;
	uint64_t done;
	struct flusher *flush;
	uint64_t next_flush;
};

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buf)
{
	struct reader_ctx *c = ud;
	struct lb_chunk ch;
	int r = lb_dr_next(c->dr, &ch);

	if (r < 0) {
		c->err = r;
		archive_set_error(a, EBADMSG, "%s", lb_errmsg());
		return -1;
	}
	if (r == 0)
		return 0;
	c->done += ch.len;
	if (c->progress)
		c->progress(c->pud, c->done);
	if (c->flush && c->done >= c->next_flush) {
		flusher_kick(c->flush);
		c->next_flush = c->done + FLUSH_STEP;
	}
	*buf = ch.data;
	return (la_ssize_t)ch.len;
}

/* (not ARCHIVE_EXTRACT_SPARSE: it makes a hole of every block of zeros a
 * file's data holds, and a dense file must stay dense; the holes are where
 * the entry's sparse map has them) */
#define EXTRACT_FLAGS                                                                   \
	(ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |            \
	 ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS |           \
	 ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |              \
	 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/* One "OFFSET+LENGTH" of a PREALLOC_XATTR value at *p; *p moves past it. */
static int parse_range(const char **p, uint64_t *off, uint64_t *len)
{
	char *end;

	for (int i = 0; i < 2; i++) {
		uint64_t *v = i == 0 ? off : len;

		if (**p < '0' || **p > '9')
			return -EBADMSG;
		errno = 0;
		*v = strtoull(*p, &end, 10);
		if (errno)
			return -EBADMSG;
		*p = end;
		if (i == 0 && *(*p)++ != '+')
			return -EBADMSG;
	}
	return 0;
}

/* A PREALLOC_XATTR value: ranges in order, not overlapping, within size. */
static int parse_prealloc(const void *val, size_t vlen, uint64_t size, struct lb_filemap *ret)
{
	_cleanup_free_ char *text = lb_zalloc(vlen + 1);
	const char *p = text;
	uint64_t at = 0;

	memcpy(text, val, vlen);
	while (*p) {
		uint64_t off, len;

		if (p != text && *p++ != ' ')
			return -EBADMSG;
		if (parse_range(&p, &off, &len) < 0 || off < at || len > size || off > size - len)
			return -EBADMSG;
		lb_filemap_add(ret, off, len, LB_ALLOC_UNWRITTEN);
		at = off + len;
	}
	return 0;
}

/* Takes PREALLOC_XATTR off the entry (it is no attribute to set) and
 * returns its ranges: none when it has none. */
static int take_prealloc(struct archive_entry *e, struct lb_filemap *ret)
{
	struct kept {
		char *name;
		void *val;
		size_t size;
	} *kept = NULL;
	size_t n = 0;
	bool found = false;
	const char *name;
	const void *val;
	size_t size;
	int r = 0;

	*ret = (struct lb_filemap){ 0 };
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		/* (the pax reader lists it twice: as LIBARCHIVE.xattr and as
		 * SCHILY.xattr; the first is taken) */
		if (strcmp(name, PREALLOC_XATTR) == 0) {
			if (!found && archive_entry_filetype(e) == AE_IFREG &&
			    archive_entry_size(e) > 0 && !archive_entry_hardlink(e))
				r = parse_prealloc(val, size, (uint64_t)archive_entry_size(e), ret);
			found = true;
			continue;
		}
		kept = lb_realloc_array(kept, n + 1, sizeof(*kept));
		kept[n].name = lb_strdup(name);
		kept[n].val = lb_zalloc(size ? size : 1);
		if (size)
			memcpy(kept[n].val, val, size);
		kept[n++].size = size;
	}
	if (found) {
		archive_entry_xattr_clear(e);
		for (size_t i = 0; i < n; i++)
			archive_entry_xattr_add_entry(e, kept[i].name, kept[i].val, kept[i].size);
	}
	for (size_t i = 0; i < n; i++) {
		free(kept[i].name);
		free(kept[i].val);
	}
	free(kept);
	if (r < 0)
		lb_filemap_clear(ret);
	return r;
}

/* Allocates the preallocated ranges of the file just made for entry e,
 * before its data is written and its times set (fallocate changes the
 * modification time on xfs). Returns 0, or 1 when the filesystem cannot
 * (the caller writes them as zeros, which allocates them too). */
static int preallocate(struct archive_entry *e, const struct lb_filemap *pre)
{
	const char *path = archive_entry_pathname(e);
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	int r = 0;

	/* (libarchive just made it there: not found means a path too long for
	 * one open, which libarchive reached directory by directory) */
	if (fd < 0)
		return 1;
	for (size_t i = 0; r == 0 && i < pre->n; i++)
		if (fallocate(fd, 0, (off_t)pre->r[i].off, (off_t)pre->r[i].len) < 0) {
			if (errno == EOPNOTSUPP || errno == ENOSYS)
				r = 1;
			else
				r = lb_err(-errno, "%s: cannot preallocate %" PRIu64 " bytes at %" PRIu64
					   ": %s", path, pre->r[i].len, pre->r[i].off, strerror(errno));
		}
	close(fd);
	return r;
}

/* The preallocated ranges written as zeros, through libarchive. */
static int write_prealloc_zeros(struct archive *out, struct archive_entry *e,
				const struct lb_filemap *pre)
{
	static const uint8_t zeros[65536];

	for (size_t i = 0; i < pre->n; i++)
		for (uint64_t done = 0; done < pre->r[i].len;) {
			uint64_t left = pre->r[i].len - done;
			size_t k = left > sizeof(zeros) ? sizeof(zeros) : (size_t)left;

			if (archive_write_data_block(out, zeros, k, (la_int64_t)(pre->r[i].off + done)) <
			    ARCHIVE_WARN)
				return ar_err(out, archive_entry_pathname(e));
			done += k;
		}
	return 0;
}

int lb_archive_extract(int data_fd, const char *name, const struct lb_artifact *a,
		       const char *root, lb_progress_fn progress, void *pud)
{
	struct flusher flush = { .fd = -1 };
	struct reader_ctx c = { .progress = progress, .pud = pud, .flush = &flush,
				.next_flush = FLUSH_STEP };
	struct archive *in = NULL, *out = NULL;
	struct archive_entry *e;
	struct lb_filemap pre = { 0 };
	int cwd = -1, r, fe;
	char sum[65];

	r = lb_dr_open(data_fd, name, &c.dr);
	if (r < 0)
		return r;
	if (lb_dr_kind(c.dr) != LB_CONTAINER_STREAM) {
		lb_dr_close(c.dr);
		return lb_err(-EBADMSG, "%s: the data file is not an archive", name);
	}
	flusher_start(&flush, root);
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(root) < 0) {
		r = lb_err(-errno, "%s: cannot enter %s: %s", name, root, strerror(errno));
		goto out;
	}
	in = archive_read_new();
	out = archive_write_disk_new();
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, EXTRACT_FLAGS);
	if (archive_read_open(in, &c, NULL, read_cb, NULL) != ARCHIVE_OK) {
		r = c.err < 0 ? c.err : ar_err(in, name);
		goto out;
	}
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int zeros = 0;

		lb_filemap_clear(&pre);
		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF) {
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = c.err < 0 ? c.err : ar_err(in, name);
			goto out;
		}
		if (take_prealloc(e, &pre) < 0) {
			r = lb_err(-EBADMSG, "%s: %s: the record of its preallocated ranges is not "
				   "valid", name, archive_entry_pathname(e));
			goto out;
		}
		r = archive_write_header(out, e);
		if (r < ARCHIVE_WARN) {
			/* a hostile entry ("..", absolute, through a symlink) is
			 * refused by libarchive: stop, and say which */
			r = lb_err(-EPERM, "%s: refused to extract %s: %s", name,
				   archive_entry_pathname(e), archive_error_string(out));
			goto out;
		}
		if (pre.n) {
			zeros = preallocate(e, &pre);
			if (zeros < 0) {
				r = lb_err(zeros, "%s: %s", name, lb_errmsg());
				goto out;
			}
		}
		if (archive_entry_size(e) > 0)
			while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN) {
					r = ar_err(out, archive_entry_pathname(e));
					goto out;
				}
		if (r != ARCHIVE_OK && r != ARCHIVE_EOF) {
			r = c.err < 0 ? c.err : ar_err(in, name);
			goto out;
		}
		if (zeros > 0) {
			r = write_prealloc_zeros(out, e, &pre);
			if (r < 0)
				goto out;
		}
		if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
			r = ar_err(out, archive_entry_pathname(e));
			goto out;
		}
	}
	/* drain to the container's end: index, trailer and checksum */
	{
		struct lb_chunk ch;
		int n;

		while ((n = lb_dr_next(c.dr, &ch)) > 0)
			;
		if (n < 0) {
			r = n;
			goto out;
		}
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		r = ar_err(out, "cannot finish extraction");
		goto out;
	}
	lb_dr_finish(c.dr, sum);
	if (a && strcmp(sum, a->sha256) != 0)
		r = lb_err(-EBADMSG, "%s: the data file does not match its SHA-256 in the manifest", name);
out:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0 && r >= 0)
			r = lb_err(-errno, "cannot return to the working directory");
		close(cwd);
	}
	archive_write_free(out);
	archive_read_free(in);
	lb_dr_close(c.dr);
	lb_filemap_clear(&pre);
	/* (after archive_write_free: the directories' times are set last) */
	fe = flusher_finish(&flush);
	if (fe < 0 && r >= 0)
		r = lb_err(fe, "%s: writing the files out to %s failed: %s", name, root, strerror(-fe));
	return r;
}

/* ---- comparing a tree with its archive (drill) ------------------------ */

static int differ(unsigned *n, const char *path, const char *what)
{
	if ((*n)++ < 10)
		printf("drill: %s: %s differs from the archive\n", path, what);
	return 0;
}

static void compare_content(struct archive *in, int fd, const char *path, unsigned *n)
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
			differ(n, path, "content");
			break;
		}
	}
	free(tmp);
}

static void compare_xattrs(struct archive_entry *e, const char *path, unsigned *n)
{
	const char *name;
	const void *val;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		char buf[65536];
		ssize_t got;

		/* (preallocated ranges, not an attribute) */
		if (strcmp(name, PREALLOC_XATTR) == 0)
			continue;
		got = lgetxattr(path, name, buf, sizeof(buf));

		if (got < 0 || (size_t)got != size || memcmp(buf, val, size) != 0) {
			differ(n, path, name);
			return;
		}
	}
}

int lb_archive_compare(int data_fd, const char *name, const char *root, unsigned *ret_diffs)
{
	struct reader_ctx c = { 0 };
	struct archive *in = NULL;
	struct archive_entry *e;
	unsigned n = 0;
	int r;

	r = lb_dr_open(data_fd, name, &c.dr);
	if (r < 0)
		return r;
	in = archive_read_new();
	archive_read_support_format_tar(in);
	if (archive_read_open(in, &c, NULL, read_cb, NULL) != ARCHIVE_OK) {
		r = c.err < 0 ? c.err : ar_err(in, name);
		goto out;
	}
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		_cleanup_free_ char *path = lb_asprintf("%s/%s", root, archive_entry_pathname(e));
		struct stat st;

		if (lstat(path, &st) < 0) {
			differ(&n, path, "existence");
			continue;
		}
		if (archive_entry_hardlink(e)) {
			_cleanup_free_ char *target = lb_asprintf("%s/%s", root, archive_entry_hardlink(e));
			struct stat ts;

			if (lstat(target, &ts) < 0 || ts.st_ino != st.st_ino)
				differ(&n, path, "hard link");
			continue;
		}
		if ((st.st_mode & S_IFMT) != (archive_entry_mode(e) & AE_IFMT))
			differ(&n, path, "type");
		else if ((st.st_mode & 07777) != (archive_entry_perm(e) & 07777) && !S_ISLNK(st.st_mode))
			differ(&n, path, "mode");
		else if ((la_int64_t)st.st_uid != archive_entry_uid(e) ||
			 (la_int64_t)st.st_gid != archive_entry_gid(e))
			differ(&n, path, "owner");
		else if (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode) &&
			 (st.st_mtim.tv_sec != archive_entry_mtime(e) ||
			  st.st_mtim.tv_nsec != archive_entry_mtime_nsec(e)))
			differ(&n, path, "modification time");
		else if (S_ISREG(st.st_mode) && st.st_size != archive_entry_size(e))
			differ(&n, path, "size");
		else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && st.st_rdev != archive_entry_rdev(e))
			differ(&n, path, "device number");
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlink(path, target, sizeof(target) - 1);

			if (len < 0 || (target[len] = '\0', !archive_entry_symlink(e)) ||
			    strcmp(target, archive_entry_symlink(e)) != 0)
				differ(&n, path, "link target");
		}
		compare_xattrs(e, path, &n);
		if (S_ISREG(st.st_mode) && archive_entry_size(e) > 0) {
			int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

			if (fd < 0) {
				differ(&n, path, "readability");
				continue;
			}
			compare_content(in, fd, path, &n);
			close(fd);
		}
	}
	if (r != ARCHIVE_EOF) {
		r = c.err < 0 ? c.err : ar_err(in, name);
		goto out;
	}
	r = 0;
	*ret_diffs = n;
out:
	archive_read_free(in);
	lb_dr_close(c.dr);
	return r;
}
