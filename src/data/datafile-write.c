// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Writing a data file (datafile-format.c has the layout): the caller fills
 * chunk buffers, by naming device extents (images) or appending bytes
 * (streams), and hands each on in sequence. Threads, one lb_pool:
 *
 *   caller --todo--> workers (read the extents, XXH3, compress, encrypt)
 *          --done (ordered)--> writer (chunks into the file in sequence,
 *                              the index kept) --hashq--> hasher (SHA-256,
 *                              the buffer back to the free queue)
 *
 * The first failure (a device read, a write of the file) stops them all:
 * the pool cancels every queue, and the caller gets the error at its next
 * call.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/fs.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "base/base.h"
#include "data/datafile-int.h"
#include "data/seqread.h"

#define WRITEBACK_STEP (32u << 20)

struct lb_dw {
	int fd;
	uint32_t kind;
	uint32_t chunk_size;
	int level;		/* zstd level, 0: stored plain */
	struct lb_df_crypt *crypt;	/* encrypted: the file's key; NULL: not */
	char *file;		/* its name in the capture (what its key is bound to) */
	struct lb_df_jobs js;
	struct lb_pool *pool;
	struct lb_queue *todo, *done, *hashq;
	struct lb_df_hasher hasher;
	uint64_t next_seq;
	ZSTD_CCtx **cctx;	/* one per worker */
	size_t n_cctx;
	struct lb_df_job *cur;	/* being filled */
	EVP_MD_CTX *sha;
	/* the device extents are read from (images) */
	int dev_fd, direct_fd;
	uint64_t dev_base;
	char *dev_name;		/* for messages: the device read */
	uint32_t dev_align;
	/* the writer thread's own */
	uint64_t file_off;
	uint64_t synced_off, dropped_off;	/* writeback started / done and dropped */
	uint64_t total_raw;
	struct lb_df_index_entry *index;
	size_t n_index;
	lb_progress_fn progress;
	void *progress_ud;
};

/* Reads a job's extents from the device into its buffer: without the page
 * cache where the device allows (the data is read once and is not worth
 * caching), through it otherwise. */
static int fill_job(struct lb_dw *w, struct lb_df_job *j)
{
	uint8_t *p = j->raw;

	for (uint32_t i = 0; i < j->n_ext; i++) {
		uint64_t at = w->dev_base + j->ext[i].off, len = j->ext[i].len;
		int r = -EINVAL;

		if (w->direct_fd >= 0 && at % w->dev_align == 0 && len % w->dev_align == 0 &&
		    (uintptr_t)p % w->dev_align == 0)
			r = lb_pread_all(w->direct_fd, p, (size_t)len, at);
		if (r == -EINVAL)
			r = lb_pread_all(w->dev_fd, p, (size_t)len, at);
		if (r < 0) {
			char msg[160];

			snprintf(msg, sizeof(msg), "cannot read %s at byte %" PRIu64 " (byte %" PRIu64
				 " of the volume): %s",
				 w->dev_name ? w->dev_name : "the device", at, j->ext[i].off,
				 r == -ENODATA ? "end of device" : strerror(-r));
			lb_df_job_fail(j, r, msg);
			return r;
		}
		p += len;
	}
	return 0;
}

static void compress_job(struct lb_dw *w, struct lb_df_job *j, unsigned worker)
{
	if (j->fill && fill_job(w, j) < 0)
		return;
	j->hash = XXH3_64bits(j->raw, j->raw_len);
	j->stored = j->raw;
	j->stored_len = j->raw_len;
	if (w->level != 0) {
		size_t n = ZSTD_compressCCtx(w->cctx[worker], j->cbuf, ZSTD_compressBound(w->chunk_size),
					     j->raw, j->raw_len, w->level);

		/* a chunk that does not shrink is stored plain */
		if (!ZSTD_isError(n) && n < j->raw_len) {
			j->stored = j->cbuf;
			j->stored_len = n;
		}
	}
	/* after compressing: what is stored goes into cbuf, sealed (in place
	 * when it is there already) */
	if (w->crypt && lb_df_chunk_seal(w->crypt, j, j->stored, j->stored_len) < 0)
		lb_df_job_fail(j, -EIO, lb_errmsg());
}

/* A worker: chunks from todo, finished in any order, into done. (A chunk
 * that failed goes on too: the writer reports it in its turn.) */
static int compress_main(void *ud, unsigned idx)
{
	struct lb_dw *w = ud;
	void *p;
	int r;

	while ((r = lb_queue_pop(w->todo, &p)) > 0) {
		struct lb_df_job *j = p;

		compress_job(w, j, idx);
		r = lb_queue_push_seq(w->done, j->seq, j);
		if (r < 0)
			return r;
	}
	return r;
}

static int dw_output(struct lb_dw *w, const struct iovec *iov_in, int n)
{
	struct iovec iov[3];	/* what is left to write; n <= 3 */
	int first = 0;
	uint64_t want = 0;

	if (n < 1 || n > 3)
		return lb_err(-EINVAL, "cannot write the data file: bad request");
	memcpy(iov, iov_in, (size_t)n * sizeof(*iov));
	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	while (want) {
		ssize_t k = pwritev(w->fd, iov + first, n - first, (off_t)w->file_off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return lb_err(-errno, "cannot write the data file: %s", strerror(errno));
		if (k == 0)
			return lb_err(-EIO, "cannot write the data file: no progress");
		w->file_off += (uint64_t)k;
		want -= (uint64_t)k;
		/* a short write: go on after what was written */
		while (first < n && (size_t)k >= iov[first].iov_len) {
			k -= (ssize_t)iov[first].iov_len;
			first++;
		}
		if (first < n && k) {
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + k;
			iov[first].iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Keeps the device writing while the capture goes on, and the page cache
 * free of what is already on it: starts writeback of each new step, waits
 * for the one before and drops it. (A pipe or a file system without
 * sync_file_range simply gets none of this.) */
static void dw_writeback(struct lb_dw *w)
{
	if (w->file_off - w->synced_off < WRITEBACK_STEP)
		return;
	if (sync_file_range(w->fd, (off_t)w->synced_off, (off_t)(w->file_off - w->synced_off),
			    SYNC_FILE_RANGE_WRITE) < 0)
		return;
	if (w->synced_off > w->dropped_off &&
	    sync_file_range(w->fd, (off_t)w->dropped_off, (off_t)(w->synced_off - w->dropped_off),
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER) == 0) {
		posix_fadvise(w->fd, (off_t)w->dropped_off, (off_t)(w->synced_off - w->dropped_off),
			      POSIX_FADV_DONTNEED);
		w->dropped_off = w->synced_off;
	}
	w->synced_off = w->file_off;
}

static int dw_write_job(struct lb_dw *w, struct lb_df_job *j)
{
	struct lb_df_index_entry *e;
	struct iovec iov[2];
	int r;

	lb_df_frame_encode(j);
	w->index = lb_realloc_array(w->index, w->n_index + 1, sizeof(*w->index));
	e = &w->index[w->n_index++];
	e->file_off = w->file_off;
	e->dev_off = j->n_ext ? j->ext[0].off : w->total_raw;
	e->raw_len = (uint32_t)j->raw_len;
	e->stored_len = (uint32_t)j->stored_len;
	e->hash = j->hash;
	iov[0].iov_base = j->frame;
	iov[0].iov_len = j->frame_len;
	iov[1].iov_base = (void *)j->stored;
	iov[1].iov_len = j->stored_len;
	r = dw_output(w, iov, 2);
	if (r < 0)
		return r;
	dw_writeback(w);
	w->total_raw += j->raw_len;
	if (w->progress)
		w->progress(w->progress_ud, w->total_raw);
	return 0;
}

/* The writer thread: chunks in sequence into the file, then to the hashing
 * thread. A chunk that failed is the pool's error: everything stops. */
static int writer_main(void *ud, unsigned idx)
{
	struct lb_dw *w = ud;
	void *p;
	int r;

	(void)idx;
	while ((r = lb_queue_pop(w->done, &p)) > 0) {
		struct lb_df_job *j = p;

		if (j->err)
			return lb_err(j->err, "%s", j->msg);
		r = dw_write_job(w, j);
		if (r >= 0)
			r = lb_queue_push(w->hashq, j);
		if (r < 0)
			return r;
	}
	if (r == 0)
		lb_queue_close(w->hashq);
	return r;
}

/* A buffer to fill into w->cur, once nothing has failed. */
static int dw_take(struct lb_dw *w)
{
	int r = lb_pool_error(w->pool);

	if (r < 0)
		return r;
	w->cur = lb_df_job_get(&w->js);
	if (w->cur)
		return 0;
	r = lb_pool_error(w->pool);
	return r < 0 ? r : lb_err(-ECANCELED, "cannot write the data file: stopped");
}

static int dw_submit(struct lb_dw *w)
{
	struct lb_df_job *j = w->cur;
	int r;

	w->cur = NULL;
	if (!j)
		return 0;
	if (j->raw_len == 0) {
		lb_df_job_put(&w->js, j);
		return 0;
	}
	j->seq = w->next_seq++;
	r = lb_queue_push(w->todo, j);
	if (r < 0 && lb_pool_error(w->pool) == 0)
		return lb_err(r, "cannot write the data file: stopped");
	return lb_pool_error(w->pool);
}

static int dw_plain_write(struct lb_dw *w, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	int r = dw_output(w, &iov, 1);

	if (r >= 0)
		EVP_DigestUpdate(w->sha, buf, len);
	return r;
}

/* n workers, the writer and the hasher, on n buffers and two more each. */
static int dw_start(struct lb_dw *w, size_t n)
{
	size_t n_jobs = n * 2 + 2 < 4 ? 4 : n * 2 + 2;
	int r;

	r = lb_df_jobs_init(&w->js, n_jobs, w->chunk_size, w->level != 0 || w->crypt,
			    w->kind == LB_CONTAINER_IMAGE);
	if (r < 0)
		return r;
	w->todo = lb_queue_new(n_jobs);
	w->done = lb_queue_new_ordered(n_jobs);
	w->hashq = lb_queue_new(n_jobs);
	w->hasher = (struct lb_df_hasher){ .in = w->hashq, .sha = w->sha, .js = &w->js };
	w->pool = lb_pool_new();
	lb_pool_watch(w->pool, w->todo);
	lb_pool_watch(w->pool, w->done);
	lb_pool_watch(w->pool, w->hashq);
	lb_pool_watch(w->pool, w->js.free);
	if (lb_pool_start(w->pool, n, compress_main, w) < 0 ||
	    lb_pool_start(w->pool, 1, lb_df_hash_main, &w->hasher) < 0 ||
	    lb_pool_start(w->pool, 1, writer_main, w) < 0)
		return lb_err(-EAGAIN, "cannot start worker threads");
	return 0;
}

int lb_dw_open(int fd, uint32_t kind, uint64_t vol_size, uint32_t block_size, int level,
	       struct lb_dw **ret)
{
	return lb_dw_open_key(fd, kind, vol_size, block_size, level, NULL, NULL, ret);
}

int lb_dw_open_key(int fd, uint32_t kind, uint64_t vol_size, uint32_t block_size, int level,
		   const struct lb_key *key, const char *file, struct lb_dw **ret)
{
	struct lb_dw *w = lb_zalloc(sizeof(*w));
	uint8_t hdr[DF_HEADER_SIZE], rand[LB_FILE_RAND_LEN];
	size_t n;
	int r = 0;

	w->fd = fd;
	w->kind = kind;
	w->chunk_size = LB_CHUNK_SIZE;
	w->level = level;
	w->dev_fd = w->direct_fd = -1;
	w->sha = lb_df_sha_new();
	if (!w->sha) {
		free(w);
		return -ENOMEM;
	}
	if (key)
		r = lb_random(rand, sizeof(rand));
	lb_df_header_encode(hdr, kind, vol_size, w->chunk_size, w->level != 0, block_size,
			    key ? rand : NULL);
	if (r >= 0 && key) {
		w->crypt = lb_zalloc(sizeof(*w->crypt));
		w->file = lb_strdup(file);
		r = lb_df_crypt_init(w->crypt, key, w->file, hdr);
	}
	if (r >= 0)
		r = dw_plain_write(w, hdr, sizeof(hdr));
	/* images: the workers read the device too; two more keep it busy
	 * while the others compress */
	n = lb_df_threads();
	if (kind == LB_CONTAINER_IMAGE && !getenv("LIFEBOAT_THREADS"))
		n += 2;
	if (w->level != 0) {
		w->cctx = lb_zalloc(n * sizeof(*w->cctx));
		for (; r >= 0 && w->n_cctx < n; w->n_cctx++)
			if (!(w->cctx[w->n_cctx] = ZSTD_createCCtx()))
				r = lb_err(-ENOMEM, "cannot set up zstd");
	}
	if (r >= 0)
		r = dw_start(w, n);
	if (r < 0) {
		lb_dw_abort(w);
		return r;
	}
	*ret = w;
	return 0;
}

void lb_dw_set_progress(struct lb_dw *w, lb_progress_fn fn, void *ud)
{
	w->progress = fn;
	w->progress_ud = ud;
}

void lb_dw_set_device(struct lb_dw *w, int fd, int direct_fd, uint64_t base, const char *name)
{
	int ssz = 0;

	free(w->dev_name);
	w->dev_name = name ? lb_strdup(name) : NULL;
	w->dev_fd = fd;
	w->direct_fd = direct_fd;
	w->dev_base = base;
	w->dev_align = 4096;
	if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz >= 512 && ssz <= 65536)
		w->dev_align = (uint32_t)ssz;
}

/* Image: the volume's bytes [off, off + len) go into the data file; the
 * workers read them from the device set with lb_dw_set_device. */
int lb_dw_add_extent(struct lb_dw *w, uint64_t off, uint64_t len)
{
	while (len) {
		struct lb_df_job *j;
		size_t room, n;

		if (!w->cur) {
			int r = dw_take(w);

			if (r < 0)
				return r;
			w->cur->fill = true;
		}
		j = w->cur;
		room = w->chunk_size - j->raw_len;
		n = len < room ? (size_t)len : room;
		if (j->n_ext && j->ext[j->n_ext - 1].off + j->ext[j->n_ext - 1].len == off) {
			j->ext[j->n_ext - 1].len += n;
		} else {
			j->ext[j->n_ext].off = off;
			j->ext[j->n_ext].len = n;
			j->n_ext++;
		}
		j->raw_len += n;
		off += n;
		len -= n;
		if (j->raw_len == w->chunk_size || j->n_ext >= DF_MAX_EXTENTS) {
			int r = dw_submit(w);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Stream: appends bytes. */
int lb_dw_write(struct lb_dw *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		size_t room, n;

		if (!w->cur) {
			int r = dw_take(w);

			if (r < 0)
				return r;
		}
		room = w->chunk_size - w->cur->raw_len;
		n = len < room ? len : room;
		memcpy(w->cur->raw + w->cur->raw_len, p, n);
		w->cur->raw_len += n;
		p += n;
		len -= n;
		if (w->cur->raw_len == w->chunk_size) {
			int r = dw_submit(w);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Every chunk written and hashed: the index, the trailer, on this thread. */
static int dw_finish(struct lb_dw *w)
{
	uint8_t tr[DF_TRAILER_SIZE], ih[DF_INDEX_HDR];
	_cleanup_free_ uint8_t *ix = NULL;
	uint64_t index_off = w->file_off;
	int r;

	memcpy(ih, "LBIX", 4);
	lb_put_le64(ih + 4, w->n_index);
	r = dw_plain_write(w, ih, sizeof(ih));
	ix = lb_zalloc(w->n_index * DF_INDEX_ENTRY + 1);
	for (size_t i = 0; i < w->n_index; i++)
		lb_df_index_entry_encode(ix + DF_INDEX_ENTRY * i, &w->index[i]);
	if (r >= 0)
		r = dw_plain_write(w, ix, w->n_index * DF_INDEX_ENTRY);
	if (r >= 0 && w->crypt) {
		uint8_t tag[LB_TAG_LEN];

		r = lb_df_end_tag(w->crypt, w->n_index, w->total_raw, tag);
		if (r >= 0)
			r = dw_plain_write(w, tag, sizeof(tag));
	}
	lb_df_trailer_encode(tr, index_off, w->n_index, w->total_raw);
	if (r >= 0)
		r = dw_plain_write(w, tr, sizeof(tr));
	if (r >= 0 && fsync(w->fd) < 0)
		r = lb_err(-errno, "cannot sync the data file: %s", strerror(errno));
	return r;
}

int lb_dw_close(struct lb_dw *w, char sha256[65], uint64_t *ret_size)
{
	int r;

	r = dw_submit(w);
	if (r >= 0) {
		/* the workers stop when todo is empty, the writer after the
		 * last chunk, the hasher after the writer */
		lb_queue_close(w->todo);
		lb_queue_close_at(w->done, w->next_seq);
		r = lb_pool_wait(w->pool);
	}
	if (r >= 0)
		r = dw_finish(w);
	if (r >= 0) {
		lb_df_sha_hex(w->sha, sha256);
		*ret_size = w->file_off;
	}
	lb_dw_abort(w);
	return r;
}

void lb_dw_abort(struct lb_dw *w)
{
	if (!w)
		return;
	/* (a job half done is finished first) */
	lb_pool_free(w->pool);
	lb_queue_free(w->todo);
	lb_queue_free(w->done);
	lb_queue_free(w->hashq);
	lb_df_jobs_done(&w->js);
	for (size_t i = 0; i < w->n_cctx; i++)
		ZSTD_freeCCtx(w->cctx[i]);
	free(w->cctx);
	EVP_MD_CTX_free(w->sha);
	if (w->crypt)
		lb_df_crypt_wipe(w->crypt);
	free(w->crypt);
	free(w->file);
	free(w->index);
	free(w->dev_name);
	free(w);
}
