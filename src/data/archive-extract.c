// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Archive data, extraction (archive-capture.c says what an archive holds):
 * a data file's archive onto the mounted target, with libarchive's secure
 * flags, each file's preallocated ranges allocated again, its project and
 * inode flags set (archive-project.c, archive-flags.c), the files written
 * out as the extraction goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "data/archive-int.h"

int lb_ar_err(struct archive *a, const char *what)
{
	const char *msg = archive_error_string(a);
	int e = archive_errno(a);

	return lb_err(e > 0 ? -e : -EIO, "%s: %s", what, msg ? msg : "libarchive error");
}

int lb_ar_open_entry(int rootfd, const char *path)
{
	_cleanup_free_ char *rel = lb_strdup(path);
	size_t n = strlen(rel);

	while (n > 1 && rel[n - 1] == '/')
		rel[--n] = '\0';
	return lb_open_in_root(rootfd, rel, O_RDONLY | O_NOFOLLOW);
}

/* Writeback behind the extraction. The files extracted are only in the
 * page cache until something writes them out, and on a machine with GiBs of
 * memory the kernel starts only once a tenth of it is dirty: left alone,
 * the whole volume goes out at the unmount, after the last file, while
 * nothing else happens (on a 2-core VM, 2.2 GB of files: 10.2 s median
 * against 7.9 s with a syncfs every 300 ms). A thread of its own runs
 * syncfs on the target after every FLUSH_STEP bytes of archive read, so
 * the writing overlaps the extracting; its errors are kept for the end.
 * It is kicked through a queue of one: a kick while one is pending is the
 * same kick (lb_queue_try_push finds it full). */
#define FLUSH_STEP (64u << 20)

struct flusher {
	int fd;			/* the target's root */
	struct lb_queue *kick;	/* NULL: no thread */
	struct lb_pool *pool;
};

/* Returns: 0, or the first syncfs failure, once cancelled. */
static int flusher_main(void *ud, unsigned idx)
{
	struct flusher *f = ud;
	void *p;
	int e = 0;

	(void)idx;
	while (lb_queue_pop(f->kick, &p) > 0)
		if (syncfs(f->fd) < 0 && e == 0)
			e = -errno;
	return e < 0 ? lb_err(e, "syncfs: %s", strerror(-e)) : 0;
}

/* Without it (no fd, no thread) the extraction is as it was: slower. */
static void flusher_start(struct flusher *f, const char *root)
{
	f->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->fd < 0)
		return;
	f->kick = lb_queue_new(1);
	f->pool = lb_pool_new();
	lb_pool_watch(f->pool, f->kick);
	if (lb_pool_start(f->pool, 1, flusher_main, f) < 0) {
		lb_pool_free(f->pool);
		lb_queue_free(f->kick);
		f->pool = NULL;
		f->kick = NULL;
	}
}

/* Stops the thread, then writes out what is left and waits for it: 0, or
 * the first error of any syncfs. */
static int flusher_finish(struct flusher *f)
{
	int e = 0;

	if (f->pool) {
		lb_pool_cancel(f->pool);
		e = lb_pool_wait(f->pool);
		lb_pool_free(f->pool);
		lb_queue_free(f->kick);
		f->pool = NULL;
		f->kick = NULL;
	}
	if (f->fd >= 0) {
		if (syncfs(f->fd) < 0 && e == 0)
			e = -errno;
		close(f->fd);
		f->fd = -1;
	}
	return e;
}

la_ssize_t lb_ar_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct lb_ar_reader *c = ud;
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
		lb_queue_try_push(c->flush, c);
		c->next_flush = c->done + FLUSH_STEP;
	}
	*buf = ch.data;
	return (la_ssize_t)ch.len;
}


/* (not ARCHIVE_EXTRACT_SPARSE: it makes a hole of every block of zeros a
 * file's data holds, and a dense file must stay dense; the holes are where
 * the entry's sparse map has them. Not ARCHIVE_EXTRACT_FFLAGS: the inode
 * flags are set here, archive-flags.c says why) */
#define EXTRACT_FLAGS                                                                   \
	(ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |            \
	 ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR |                                    \
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

/* What an entry holds that is no attribute to set: its preallocated
 * ranges, project and inode flags (pseudo attributes, archive-int.h). */
struct taken {
	struct lb_filemap pre;		/* none when it has none */
	struct lb_ar_project proj;	/* .set when it has one */
	uint32_t flags;
	char unknown[16];		/* flag letters this lifeboat does not know */
	char *clone;			/* the entry whose bytes are its bytes, or NULL */
};

static void taken_clear(struct taken *t)
{
	lb_filemap_clear(&t->pre);
	free(t->clone);
	t->clone = NULL;
}

/* A CLONE_XATTR value: a path, relative (libarchive's "./a" or "a"), with
 * no ".." and no NUL, of a regular file entry with data (the one it names
 * is checked when it is opened). */
static int parse_clone(struct archive_entry *e, const void *val, size_t len, char **ret)
{
	const char *v = val;

	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
	    archive_entry_size(e) <= 0 || len == 0 || len >= 4096 || memchr(v, '\0', len) ||
	    v[0] == '/')
		return -EBADMSG;
	*ret = lb_zalloc(len + 1);
	memcpy(*ret, v, len);
	for (const char *p = *ret; *p; p += strcspn(p, "/"), p += *p == '/')
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || !p[2])) {
			free(*ret);
			*ret = NULL;
			return -EBADMSG;
		}
	return 0;
}

/* The entry's inode flags: FLAGS_XATTR's, else (an archive made before
 * it) libarchive's fflags, of those lifeboat carries. */
static void take_fflags(struct archive_entry *e, bool found, struct taken *t)
{
	unsigned long set, clear;

	if (found)
		return;
	archive_entry_fflags(e, &set, &clear);
	t->flags = (uint32_t)set & lb_ar_flags_carried();
}

/* Keeps the attribute of the entry's that is one (kept). */
struct kept {
	char *name;
	void *val;
	size_t size;
};

/* Takes the pseudo attributes off the entry into t: -EBADMSG when its
 * ranges are not valid, -ERANGE when its project is not, -EILSEQ when
 * its flags are not. */
static int take_pseudo(struct archive_entry *e, struct taken *t)
{
	struct kept *kept = NULL;
	size_t n = 0;
	bool found = false, fl = false;
	const char *name;
	const void *val;
	size_t size;
	int r = 0;

	taken_clear(t);
	*t = (struct taken){ 0 };
	if (archive_entry_xattr_reset(e) == 0) {
		take_fflags(e, false, t);
		return 0;
	}
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		/* (the pax reader lists each twice: as LIBARCHIVE.xattr and as
		 * SCHILY.xattr; the first is taken) */
		if (strcmp(name, PREALLOC_XATTR) == 0) {
			if (!found && archive_entry_filetype(e) == AE_IFREG &&
			    archive_entry_size(e) > 0 && !archive_entry_hardlink(e))
				r = parse_prealloc(val, size, (uint64_t)archive_entry_size(e), &t->pre);
			found = true;
			continue;
		}
		if (strcmp(name, PROJECT_XATTR) == 0) {
			/* (-ERANGE: told apart from the ranges' -EBADMSG) */
			if (!t->proj.set && r == 0 && !archive_entry_hardlink(e) &&
			    lb_ar_project_parse(val, size, &t->proj) < 0)
				r = -ERANGE;
			found = true;
			continue;
		}
		if (strcmp(name, FLAGS_XATTR) == 0) {
			if (!fl && r == 0 && lb_ar_flags_parse(val, size, &t->flags, t->unknown,
							       sizeof(t->unknown)) < 0)
				r = -EILSEQ;
			found = fl = true;
			continue;
		}
		if (strcmp(name, CLONE_XATTR) == 0) {
			/* (-EDOM: told apart from the others) */
			if (!t->clone && r == 0 && parse_clone(e, val, size, &t->clone) < 0)
				r = -EDOM;
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
	take_fflags(e, fl, t);
	if (r < 0)
		taken_clear(t);
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
				return lb_ar_err(out, archive_entry_pathname(e));
			done += k;
		}
	return 0;
}

/* One extraction's state. */
struct extraction {
	struct archive *in, *out;
	const char *name;
	struct lb_ar_reader *c;
	struct taken t;			/* the entry's pseudo attributes */
	struct lb_ar_projects dirs;	/* directories' projects, set at the end */
	struct lb_ar_flagset flags;	/* inode flags set after everything */
	int rootfd;			/* the target's root */
	uint64_t n_clones;
	struct timespec root_times[2];	/* the root's, set after everything */
	bool root_seen;
};

/* The entry's pseudo attributes off it into x->t, said when not valid. */
static int take_entry(struct extraction *x, struct archive_entry *e)
{
	int r = take_pseudo(e, &x->t);

	if (r < 0)
		return lb_err(-EBADMSG, "%s: %s: the record of its %s is not valid", x->name,
			      archive_entry_pathname(e),
			      r == -ERANGE   ? "project ID"
			      : r == -EILSEQ ? "inode flags"
			      : r == -EDOM   ? "clone source"
					     : "preallocated ranges");
	if (x->t.unknown[0])
		lb_warn("%s/%s: inode flags '%s' unknown to this lifeboat: not set", x->flags.root,
			archive_entry_pathname(e), x->t.unknown);
	return 0;
}

/* After its data, xattrs and times: the entry's project, its inode flags
 * kept for the end. */
static int entry_done(struct extraction *x, struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);

	if (archive_entry_hardlink(e) || (type != AE_IFREG && type != AE_IFDIR))
		return 0;
	/* (libarchive leaves the root's times as the extraction made them) */
	if (type == AE_IFDIR && (strcmp(archive_entry_pathname(e), ".") == 0 ||
				 strcmp(archive_entry_pathname(e), "./") == 0)) {
		x->root_times[0].tv_sec = archive_entry_atime(e);
		x->root_times[0].tv_nsec = archive_entry_atime_nsec(e);
		x->root_times[1].tv_sec = archive_entry_mtime(e);
		x->root_times[1].tv_nsec = archive_entry_mtime_nsec(e);
		if (!archive_entry_atime_is_set(e))
			x->root_times[0].tv_nsec = UTIME_OMIT;
		x->root_seen = archive_entry_mtime_is_set(e);
	}
	lb_ar_flags_defer(&x->flags, archive_entry_pathname(e), x->t.flags);
	if (x->t.proj.set && type == AE_IFDIR)
		lb_ar_projects_defer(&x->dirs, archive_entry_pathname(e), &x->t.proj);
	else if (x->t.proj.set)
		return lb_ar_project_apply(AT_FDCWD, archive_entry_pathname(e), &x->t.proj);
	return 0;
}

/* A copy of src's size bytes into dst where they cannot be cloned. */
static int copy_bytes(int src, int dst, uint64_t size)
{
	_cleanup_free_ uint8_t *buf = lb_zalloc(1u << 20);
	uint64_t off = 0;

	/* only the source's data: its holes (and preallocated ranges, which
	 * read as zeros too) stay holes, so a small archive cannot make a
	 * sparse file's clone write its whole size */
	while (off < size) {
		off_t d = lseek(src, (off_t)off, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break;
		h = d < 0 ? -1 : lseek(src, d, SEEK_HOLE);
		if (d < 0 || h < 0) {
			d = (off_t)off;	/* (no SEEK_DATA: all of it) */
			h = (off_t)size;
		}
		if ((uint64_t)h > size)
			h = (off_t)size;
		for (off = (uint64_t)d; off < (uint64_t)h;) {
			size_t n = (uint64_t)h - off < (1u << 20) ? (size_t)((uint64_t)h - off)
								 : (1u << 20);
			int r = lb_pread_all(src, buf, n, off);

			if (r < 0)
				return r;
			if (pwrite(dst, buf, n, (off_t)off) != (ssize_t)n)
				return errno ? -errno : -EIO;
			off += n;
		}
		if ((uint64_t)h <= (uint64_t)d)
			break;
	}
	return ftruncate(dst, (off_t)size) < 0 ? -errno : 0;
}

/* The file just made for entry e gets the bytes of the one its clone
 * record names (extracted before it, found inside the target, a regular
 * file of its size): their extents shared (FICLONE), or copied where the
 * filesystem cannot share them (another filesystem, nocow against cow). */
static int clone_into(struct extraction *x, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	uint64_t size = (uint64_t)archive_entry_size(e);
	struct stat st;
	int src, dst, r = 0;

	/* (a regular file, or nothing opened: a device's open may do
	 * something) */
	src = lb_open_file_in_root(x->rootfd, x->t.clone, O_RDONLY, &st);
	if (src < 0 || (uint64_t)st.st_size != size) {
		if (src >= 0)
			close(src);
		return lb_err(-EBADMSG, "%s: %s: the file it is a clone of, %s, is not there or "
					"not of its size", x->name, path, x->t.clone);
	}
	dst = lb_open_in_root(x->rootfd, path, O_WRONLY | O_NOFOLLOW);
	if (dst < 0) {
		close(src);
		return lb_err(dst, "%s: %s: %s", x->name, path, strerror(-dst));
	}
	if (ioctl(dst, FICLONE, src) < 0)
		r = copy_bytes(src, dst, size);
	else
		x->n_clones++;
	close(src);
	close(dst);
	return r < 0 ? lb_err(r, "%s: %s: cannot copy the bytes of %s: %s", x->name, path,
			      x->t.clone, strerror(-r))
		     : 0;
}

/* One entry: its header (libarchive refuses a hostile one: "..",
 * absolute, through a symlink), the inode flags that go before anything
 * else (nocow), its preallocated ranges, its data. */
static int extract_entry(struct extraction *x, struct archive_entry *e)
{
	struct lb_filemap *pre = &x->t.pre;
	mode_t type = archive_entry_filetype(e);
	const void *buf;
	size_t size;
	la_int64_t off;
	int zeros = 0, r;

	r = take_entry(x, e);
	if (r < 0)
		return r;
	if (archive_write_header(x->out, e) < ARCHIVE_WARN)
		return lb_err(-EPERM, "%s: refused to extract %s: %s", x->name,
			      archive_entry_pathname(e), archive_error_string(x->out));
	if (!archive_entry_hardlink(e) && (type == AE_IFREG || type == AE_IFDIR))
		lb_ar_flags_early(&x->flags, archive_entry_pathname(e), type == AE_IFDIR,
				  x->t.flags);
	if (x->t.clone) {
		r = clone_into(x, e);
		if (r < 0)
			return r;
	}
	if (pre->n) {
		zeros = preallocate(e, pre);
		if (zeros < 0)
			return lb_err(zeros, "%s: %s", x->name, lb_errmsg());
	}
	if (archive_entry_size(e) > 0)
		while ((r = archive_read_data_block(x->in, &buf, &size, &off)) == ARCHIVE_OK)
			if (archive_write_data_block(x->out, buf, size, off) < ARCHIVE_WARN)
				return lb_ar_err(x->out, archive_entry_pathname(e));
	if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
		return x->c->err < 0 ? x->c->err : lb_ar_err(x->in, x->name);
	if (zeros > 0) {
		r = write_prealloc_zeros(x->out, e, pre);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(x->out) < ARCHIVE_WARN)
		return lb_ar_err(x->out, archive_entry_pathname(e));
	return entry_done(x, e);
}

/* Every entry of in onto out, the directories' projects, then the data
 * file drained to its end: index, trailer and checksum. */
static int extract_all(struct extraction *x)
{
	struct archive_entry *e;
	struct lb_chunk ch;
	int r;

	for (;;) {
		taken_clear(&x->t);
		r = archive_read_next_header(x->in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			r = x->c->err < 0 ? x->c->err : lb_ar_err(x->in, x->name);
			break;
		}
		r = extract_entry(x, e);
		if (r < 0)
			break;
	}
	taken_clear(&x->t);
	if (r >= 0)
		r = lb_ar_projects_apply(&x->dirs, AT_FDCWD);
	if (r < 0)
		return r;
	while ((r = lb_dr_next(x->c->dr, &ch)) > 0)
		;
	return r;
}

int lb_archive_extract(int data_fd, const char *name, const struct lb_artifact *a,
		       const char *root, lb_progress_fn progress, void *pud)
{
	struct flusher flush = { .fd = -1 };
	struct lb_ar_reader c = { .progress = progress, .pud = pud, .next_flush = FLUSH_STEP };
	struct extraction x = { .name = name, .c = &c, .flags.root = root, .rootfd = -1 };
	int cwd = -1, r, fe;
	char sum[65];

	r = lb_dr_open_artifact(data_fd, name, a, &c.dr);
	if (r < 0)
		return r;
	if (lb_dr_kind(c.dr) != LB_CONTAINER_STREAM) {
		lb_dr_close(c.dr);
		return lb_err(-EBADMSG, "%s: the data file is not an archive", name);
	}
	flusher_start(&flush, root);
	c.flush = flush.kick;
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(root) < 0 ||
	    (x.rootfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = lb_err(-errno, "%s: cannot enter %s: %s", name, root, strerror(errno));
		goto out;
	}
	x.in = archive_read_new();
	x.out = archive_write_disk_new();
	archive_read_support_format_tar(x.in);
	archive_write_disk_set_options(x.out, EXTRACT_FLAGS);
	if (archive_read_open(x.in, &c, NULL, lb_ar_read_cb, NULL) != ARCHIVE_OK) {
		r = c.err < 0 ? c.err : lb_ar_err(x.in, name);
		goto out;
	}
	r = extract_all(&x);
	/* (libarchive's fixups: the directories' modes, ACLs and times) */
	if (r >= 0 && archive_write_close(x.out) != ARCHIVE_OK)
		r = lb_ar_err(x.out, "cannot finish extraction");
	if (r >= 0) {
		lb_dr_finish(c.dr, sum);
		if (a && strcmp(sum, a->sha256) != 0)
			r = lb_err(-EBADMSG,
				   "%s: the data file does not match its SHA-256 in the manifest", name);
	}
	if (r >= 0 && x.n_clones)
		lb_debug("archive", "%s: %" PRIu64 " files cloned from files extracted before", name,
			 x.n_clones);
	if (r >= 0 && x.root_seen && utimensat(AT_FDCWD, ".", x.root_times, 0) < 0)
		lb_warn("%s: cannot set its times: %s", root, strerror(errno));
	/* then the flags that would have refused them (immutable) */
	if (r >= 0)
		lb_ar_flags_finish(&x.flags);
out:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0 && r >= 0)
			r = lb_err(-errno, "cannot return to the working directory");
		close(cwd);
	}
	if (x.rootfd >= 0)
		close(x.rootfd);
	archive_write_free(x.out);
	archive_read_free(x.in);
	lb_dr_close(c.dr);
	lb_ar_projects_clear(&x.dirs);
	lb_ar_flagset_clear(&x.flags);
	fe = flusher_finish(&flush);
	if (fe < 0 && r >= 0)
		r = lb_err(fe, "%s: writing the files out to %s failed: %s", name, root,
			   strerror(-fe));
	return r;
}
