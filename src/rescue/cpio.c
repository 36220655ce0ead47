// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The tree written as a cpio (newc) archive with libarchive, compressed
 * with zstd (libzstd here, with long-distance matching: libarchive 3.6
 * cannot ask for it, and it keeps the image under its 20 MiB) or gzip
 * (libarchive's filter): entries in path order, owned by root, with one
 * mtime (SOURCE_DATE_EPOCH when set), so that two builds of the same tree
 * are the same bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zstd.h>

#include "rescue/rescue-int.h"

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(struct rs_entry *const *)a)->path, (*(struct rs_entry *const *)b)->path);
}

/* A busybox applet link gives way to a real program of the same name in
 * any of the image's bin directories. */
static bool shadowed(const struct rs_image *img, const struct rs_entry *e)
{
	static const char *const dirs[] = { "usr/sbin/", "usr/bin/", "sbin/", "bin/" };
	const char *base = strrchr(e->path, '/') ? strrchr(e->path, '/') + 1 : e->path;

	if (!e->weak)
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = lb_asprintf("%s%s", dirs[i], base);
		const struct rs_entry *o = rs_find_entry(img, p);

		if (o && !o->weak)
			return true;
	}
	return false;
}

static int write_file_data(struct archive *a, const struct rs_entry *e, const char *out)
{
	_cleanup_close_ int fd = -1;
	uint8_t buf[1 << 16];

	if (e->data || !e->src)
		return archive_write_data(a, e->data, e->len) == (la_ssize_t)e->len
			       ? 0
			       : lb_err(-EIO, "%s: %s", out, archive_error_string(a));
	fd = open(e->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lb_err(-errno, "%s: %s", e->src, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_err(-errno, "%s: %s", e->src, strerror(errno));
		if (n == 0)
			return 0;
		if (archive_write_data(a, buf, (size_t)n) != n)
			return lb_err(-EIO, "%s: %s", out, archive_error_string(a));
	}
}

/* zstd for the image: the level (default 12) with a 64 MiB long-distance
 * window, which the kernel's initramfs unpacker takes (it allows up to
 * 128 MiB and allocates the window while unpacking) */
#define RS_ZSTD_LEVEL 12
#define RS_ZSTD_WINDOW_LOG 26

struct zout {
	ZSTD_CCtx *cx;
	int fd;
	const char *path;
	uint8_t *buf;
	size_t cap;
	uint64_t bytes;
};

static int zout_flush(struct zout *z, ZSTD_inBuffer *in, ZSTD_EndDirective end)
{
	size_t left;
	int r;

	do {
		ZSTD_outBuffer o = { z->buf, z->cap, 0 };

		left = ZSTD_compressStream2(z->cx, &o, in, end);
		if (ZSTD_isError(left))
			return lb_err(-EIO, "%s: zstd: %s", z->path, ZSTD_getErrorName(left));
		r = o.pos ? lb_pwrite_all(z->fd, z->buf, o.pos, z->bytes) : 0;
		if (r < 0)
			return lb_err(r, "%s: %s", z->path, strerror(-r));
		z->bytes += o.pos;
	} while (end == ZSTD_e_end ? left != 0 : in->pos < in->size);
	return 0;
}

static la_ssize_t zout_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct zout *z = ud;
	ZSTD_inBuffer in = { buf, len, 0 };

	if (zout_flush(z, &in, ZSTD_e_continue) < 0) {
		archive_set_error(a, EIO, "%s", lb_errmsg());
		return -1;
	}
	return (la_ssize_t)len;
}

static int zout_close(struct archive *a, void *ud)
{
	struct zout *z = ud;
	ZSTD_inBuffer in = { NULL, 0, 0 };

	if (zout_flush(z, &in, ZSTD_e_end) < 0) {
		archive_set_error(a, EIO, "%s", lb_errmsg());
		return ARCHIVE_FATAL;
	}
	return ARCHIVE_OK;
}

static int zout_open(struct zout *z, const char *path, int level)
{
	z->path = path;
	z->cap = ZSTD_CStreamOutSize();
	z->buf = lb_zalloc(z->cap);
	z->cx = ZSTD_createCCtx();
	if (!z->cx)
		return lb_err(-ENOMEM, "zstd: out of memory");
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cx, ZSTD_c_compressionLevel,
						level ? level : RS_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cx, ZSTD_c_enableLongDistanceMatching, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cx, ZSTD_c_windowLog, RS_ZSTD_WINDOW_LOG)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cx, ZSTD_c_checksumFlag, 1)))
		return lb_err(-EINVAL, "zstd: level %d not taken", level);
	z->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (z->fd < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	return 0;
}

static void zout_free(struct zout *z)
{
	ZSTD_freeCCtx(z->cx);
	free(z->buf);
	if (z->fd >= 0)
		close(z->fd);
}

/* The compression: zstd (the default) through zout, or gzip through
 * libarchive's filter; its name into the stats. */
static int set_filter(struct rs_image *img, struct archive *a, bool *ret_zstd)
{
	const char *comp = img->o->compress;
	char opt[64];

	*ret_zstd = !comp || strcmp(comp, "zstd") == 0;
	if (*ret_zstd) {
		img->stats->compression = lb_strdup("zstd");
		return 0;
	}
	if (strcmp(comp, "gzip") != 0)
		return lb_err(-EINVAL, "compression %s: expected zstd or gzip", comp);
	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK)
		return lb_err(-EOPNOTSUPP, "this libarchive cannot write gzip: %s",
			      archive_error_string(a));
	snprintf(opt, sizeof(opt), "gzip:compression-level=%d", img->o->level ? img->o->level : 6);
	img->stats->compression = lb_strdup(comp);
	if (archive_write_set_options(a, opt) != ARCHIVE_OK)
		lb_debug("rescue", "%s: %s", opt, archive_error_string(a));
	return 0;
}

/* The header of entry E, the I-th: owned by root, the image's mtime. */
static int fill_header(struct rs_image *img, const struct rs_entry *e, size_t i, struct archive_entry *ae)
{
	struct stat st;

	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_mtime(ae, img->mtime, 0);
	archive_entry_set_ino64(ae, (la_int64_t)i + 1);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_size(ae, 0);
	archive_entry_set_perm(ae, e->perm);
	archive_entry_set_nlink(ae, 1);
	switch (e->kind) {
	case RS_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_nlink(ae, 2);
		break;
	case RS_LINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_perm(ae, 0777);
		archive_entry_set_symlink(ae, e->target);
		break;
	case RS_NODE:
		archive_entry_set_filetype(ae, e->node_type == 'b' ? AE_IFBLK : AE_IFCHR);
		archive_entry_set_rdev(ae, makedev(e->node_major, e->node_minor));
		break;
	case RS_FILE:
		if (e->src && !e->data) {
			if (stat(e->src, &st) < 0)
				return lb_err(-errno, "%s: %s", e->src, strerror(errno));
			archive_entry_set_size(ae, st.st_size);
			img->stats->bytes += (uint64_t)st.st_size;
		} else {
			archive_entry_set_size(ae, (la_int64_t)e->len);
			img->stats->bytes += e->len;
		}
		archive_entry_set_filetype(ae, AE_IFREG);
		break;
	}
	return 0;
}

int rs_write_image(struct rs_image *img, const char *out, const char *tmp)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	struct zout z = { .fd = -1 };
	bool zstd = false;
	int r, o;

	qsort(img->e, img->n, sizeof(*img->e), cmp_entry);
	archive_write_set_format_cpio_newc(a);
	r = set_filter(img, a, &zstd);
	if (r >= 0 && zstd)
		r = zout_open(&z, tmp, img->o->level);
	if (r < 0)
		goto out;
	/* the kernel's unpacker reads the archive as one stream: no padding */
	archive_write_set_bytes_in_last_block(a, 1);
	o = zstd ? archive_write_open2(a, &z, NULL, zout_write, zout_close, NULL)
		 : archive_write_open_filename(a, tmp);
	if (o != ARCHIVE_OK) {
		r = lb_err(-EIO, "%s: %s", tmp, archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < img->n && r >= 0; i++) {
		const struct rs_entry *e = img->e[i];

		if (shadowed(img, e))
			continue;
		r = fill_header(img, e, i, ae);
		if (r < 0)
			break;
		if (archive_write_header(a, ae) != ARCHIVE_OK) {
			r = lb_err(-EIO, "%s: /%s: %s", out, e->path, archive_error_string(a));
			break;
		}
		if (e->kind == RS_FILE)
			r = write_file_data(a, e, out);
		img->stats->n_files++;
	}
	if (r >= 0 && archive_write_close(a) != ARCHIVE_OK)
		r = lb_err(-EIO, "%s: %s", out, archive_error_string(a));
out:
	archive_entry_free(ae);
	archive_write_free(a);
	zout_free(&z);
	return r;
}
