// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The data container: how a volume's data travels in a capture. One file per
 * volume, written and read as a stream (no temporary copies, bounded memory),
 * cut into chunks that are compressed (libzstd) and checked (XXH3 of the
 * data) each on its own, so damage is found and named: volume, chunk, device
 * offset. The whole file's SHA-256 goes into the manifest.
 *
 *   header   64 bytes: "LBDATA1\n", version, kind (image|stream), volume
 *            size, chunk size, compression, block size
 *   chunk*   "LBCK", extent count, sequence number, data length, stored
 *            length, XXH3-64 of the data, extents (device offset, length)
 *            for images, then the stored (compressed or plain) bytes
 *   index    "LBIX", chunk count, per chunk: file offset, first device
 *            offset, data length, stored length, XXH3-64
 *   trailer  32 bytes: "LBEND\0\0\0", index offset, chunk count, data bytes
 *
 * All numbers little-endian.
 *
 * The work is a pipeline over a fixed pool of chunk buffers (page-aligned,
 * so device reads and writes can bypass the page cache; the pool is the
 * bound on memory). Writing: the caller names extents (or appends bytes);
 * workers, one per core, read the extents from the device, hash and
 * compress; one thread writes the chunks in order and another takes the
 * file's SHA-256 behind it. Reading: the caller's thread takes the file
 * from a read-ahead thread (seqread.c: O_DIRECT, no page cache to fill);
 * workers decompress and check each chunk (and, for a restore, write it to
 * the device: extents never overlap, so order does not matter there) while
 * another thread takes the SHA-256; chunks are handed out in order.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/fs.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>
#include <zstd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "data/seqread.h"

#define HEADER_SIZE 64
#define CHUNK_HDR 32
#define TRAILER_SIZE 32
#define MAX_EXTENTS 4096
#define FRAME_MAX (CHUNK_HDR + 16 * MAX_EXTENTS)
#define WRITEBACK_STEP (32u << 20)

struct job {
	uint64_t seq;
	uint8_t *raw;		/* the chunk's data: chunk_size bytes, page-aligned */
	size_t raw_len;
	uint8_t *cbuf;		/* its compressed form, when there is one */
	const uint8_t *stored;	/* what the file holds: raw or cbuf */
	size_t stored_len;
	uint8_t *frame;		/* the chunk header and extents as in the file */
	size_t frame_len;
	uint64_t hash;
	struct lb_extent *ext;	/* images: where the data lives, in order */
	uint32_t n_ext;
	bool fill;		/* writing: the workers read the extents first */
	uint64_t file_off;	/* reading: where it was found */
	int err;
	char *msg;		/* err's message, made on another thread */
	unsigned parts;		/* stages still to finish before it is done */
	struct job *next;	/* in the pool or the workers' list */
	struct job *hnext;	/* in the hashing thread's list */
};

struct index_entry {
	uint64_t file_off;
	uint64_t dev_off;
	uint32_t raw_len;
	uint32_t stored_len;
	uint64_t hash;
};

struct pipeline;

struct worker {
	struct pipeline *pl;
	unsigned idx;
};

/* A bounded, ordered pipeline: jobs are taken from the pool and submitted
 * in sequence, the workers (and the hashing thread) finish them in any
 * order, they leave in sequence. */
struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *jobs;	/* the pool */
	size_t n_jobs;
	struct job *free;
	size_t n_free;
	struct job *todo_head, *todo_tail;	/* for the workers */
	struct job *hash_head, *hash_tail;	/* for the hashing thread, in order */
	struct job **done;	/* ring by seq % n_jobs */
	uint64_t next_in, next_out;
	bool closing;
	pthread_t *threads;
	size_t n_threads;
	struct worker *workers;
	size_t n_workers;
	uint32_t chunk_size;
	void (*work)(struct pipeline *pl, struct job *j, unsigned worker);
	/* after a job is hashed: back to the pool (writing) or done (reading) */
	bool hash_then_free;
	void *ctx;
	EVP_MD_CTX *sha;
};

static size_t n_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("LIFEBOAT_THREADS");
	uint32_t t;

	if (env && lb_parse_u32(env, &t) == 0 && t > 0 && t <= 64)
		return t;
	return n < 1 ? 1 : n > 16 ? 16 : (size_t)n;
}

/* Where a job's failure message is kept: lb_errmsg() is per thread. */
static void job_fail(struct job *j, int err, const char *msg)
{
	if (j->err)
		return;
	j->err = err < 0 ? err : -EIO;
	j->msg = lb_strdup(msg);
}

/* Under the lock: one stage of j is finished. */
static void part_done_locked(struct pipeline *pl, struct job *j)
{
	if (--j->parts == 0) {
		pl->done[j->seq % pl->n_jobs] = j;
		pthread_cond_broadcast(&pl->cond);
	}
}

static void release_locked(struct pipeline *pl, struct job *j)
{
	free(j->msg);
	j->msg = NULL;
	j->err = 0;
	j->raw_len = j->stored_len = j->frame_len = 0;
	j->n_ext = 0;
	j->fill = false;
	j->next = pl->free;
	pl->free = j;
	pl->n_free++;
	pthread_cond_broadcast(&pl->cond);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct pipeline *pl = wk->pl;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&pl->lock);
		while (!pl->todo_head && !pl->closing)
			pthread_cond_wait(&pl->cond, &pl->lock);
		if (pl->closing) {
			pthread_mutex_unlock(&pl->lock);
			return NULL;
		}
		j = pl->todo_head;
		pl->todo_head = j->next;
		if (!pl->todo_head)
			pl->todo_tail = NULL;
		pthread_mutex_unlock(&pl->lock);

		pl->work(pl, j, wk->idx);

		pthread_mutex_lock(&pl->lock);
		part_done_locked(pl, j);
		pthread_mutex_unlock(&pl->lock);
	}
}

static void *hash_main(void *arg)
{
	struct pipeline *pl = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&pl->lock);
		while (!pl->hash_head && !pl->closing)
			pthread_cond_wait(&pl->cond, &pl->lock);
		if (pl->closing) {
			pthread_mutex_unlock(&pl->lock);
			return NULL;
		}
		j = pl->hash_head;
		pl->hash_head = j->hnext;
		if (!pl->hash_head)
			pl->hash_tail = NULL;
		pthread_mutex_unlock(&pl->lock);

		EVP_DigestUpdate(pl->sha, j->frame, j->frame_len);
		EVP_DigestUpdate(pl->sha, j->stored, j->stored_len);

		pthread_mutex_lock(&pl->lock);
		if (pl->hash_then_free)
			release_locked(pl, j);
		else
			part_done_locked(pl, j);
		pthread_mutex_unlock(&pl->lock);
	}
}

static void job_buffers_free(struct job *j)
{
	free(j->raw);
	free(j->cbuf);
	free(j->frame);
	free(j->ext);
	free(j->msg);
}

/* Stops every thread (a job half done is finished first) and frees the
 * pool. */
static void pipeline_stop(struct pipeline *pl)
{
	if (!pl->jobs)
		return;
	pthread_mutex_lock(&pl->lock);
	pl->closing = true;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	for (size_t i = 0; i < pl->n_threads; i++)
		pthread_join(pl->threads[i], NULL);
	for (size_t i = 0; i < pl->n_jobs; i++)
		job_buffers_free(&pl->jobs[i]);
	free(pl->jobs);
	free(pl->done);
	free(pl->threads);
	free(pl->workers);
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
	pl->jobs = NULL;
}

/* n_workers workers, the hashing thread and, when given, one more thread
 * (the writer) on ctx. Buffers are allocated here, once: a job that cannot
 * get its memory fails now, not halfway. */
static int pipeline_start(struct pipeline *pl, size_t n_workers, uint32_t chunk_size,
			  bool need_cbuf, bool need_ext,
			  void (*work)(struct pipeline *, struct job *, unsigned), bool hash_then_free,
			  void *ctx, EVP_MD_CTX *sha, void *(*extra)(void *), void *extra_arg)
{
	size_t cbound = ZSTD_compressBound(chunk_size);

	memset(pl, 0, sizeof(*pl));
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->cond, NULL);
	pl->n_workers = n_workers;
	pl->n_jobs = n_workers * 2 + 2 < 4 ? 4 : n_workers * 2 + 2;
	pl->chunk_size = chunk_size;
	pl->work = work;
	pl->hash_then_free = hash_then_free;
	pl->ctx = ctx;
	pl->sha = sha;
	pl->jobs = lb_zalloc(pl->n_jobs * sizeof(*pl->jobs));
	pl->done = lb_zalloc(pl->n_jobs * sizeof(*pl->done));
	pl->threads = lb_zalloc((n_workers + 2) * sizeof(*pl->threads));
	pl->workers = lb_zalloc((n_workers + 1) * sizeof(*pl->workers));
	for (size_t i = 0; i < pl->n_jobs; i++) {
		struct job *j = &pl->jobs[i];

		if (posix_memalign((void **)&j->raw, 4096, chunk_size) != 0 ||
		    (need_cbuf && !(j->cbuf = malloc(cbound))) || !(j->frame = malloc(FRAME_MAX)) ||
		    (need_ext && !(j->ext = malloc(MAX_EXTENTS * sizeof(*j->ext))))) {
			pipeline_stop(pl);
			return lb_err(-ENOMEM, "out of memory for the data buffers (%zu of %u MiB)",
				      pl->n_jobs, chunk_size >> 20);
		}
		j->next = pl->free;
		pl->free = j;
		pl->n_free++;
	}
	for (size_t i = 0; i < n_workers; i++) {
		pl->workers[i].pl = pl;
		pl->workers[i].idx = (unsigned)i;
		if (pthread_create(&pl->threads[pl->n_threads], NULL, worker_main, &pl->workers[i]) != 0)
			goto fail;
		pl->n_threads++;
	}
	if (pthread_create(&pl->threads[pl->n_threads], NULL, hash_main, pl) != 0)
		goto fail;
	pl->n_threads++;
	if (extra) {
		if (pthread_create(&pl->threads[pl->n_threads], NULL, extra, extra_arg) != 0)
			goto fail;
		pl->n_threads++;
	}
	return 0;
fail:
	pipeline_stop(pl);
	return lb_err(-EAGAIN, "cannot start worker threads");
}

/* A free job from the pool; blocks while every job is in flight: memory
 * stays bounded. */
static struct job *pipeline_get(struct pipeline *pl)
{
	struct job *j;

	pthread_mutex_lock(&pl->lock);
	while (!pl->free)
		pthread_cond_wait(&pl->cond, &pl->lock);
	j = pl->free;
	pl->free = j->next;
	pl->n_free--;
	pthread_mutex_unlock(&pl->lock);
	j->next = NULL;
	return j;
}

static bool pipeline_has_free(struct pipeline *pl)
{
	bool r;

	pthread_mutex_lock(&pl->lock);
	r = pl->free != NULL;
	pthread_mutex_unlock(&pl->lock);
	return r;
}

static void pipeline_put(struct pipeline *pl, struct job *j)
{
	pthread_mutex_lock(&pl->lock);
	release_locked(pl, j);
	pthread_mutex_unlock(&pl->lock);
}

/* Under the lock: j to the hashing thread, after those before it. */
static void hash_enqueue_locked(struct pipeline *pl, struct job *j)
{
	j->hnext = NULL;
	if (pl->hash_tail)
		pl->hash_tail->hnext = j;
	else
		pl->hash_head = j;
	pl->hash_tail = j;
	pthread_cond_broadcast(&pl->cond);
}

/* Hands j on in sequence: to the workers when work, to the hashing thread
 * when hash (reading: both must finish before it is done). */
static void pipeline_submit(struct pipeline *pl, struct job *j, bool work, bool hash)
{
	pthread_mutex_lock(&pl->lock);
	j->seq = pl->next_in++;
	j->parts = (work ? 1 : 0) + (hash ? 1 : 0);
	j->next = NULL;
	if (work && pl->todo_tail)
		pl->todo_tail->next = j;
	else if (work)
		pl->todo_head = j;
	if (work)
		pl->todo_tail = j;
	if (hash)
		hash_enqueue_locked(pl, j);
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
}

/* The next job in sequence once it is done; NULL when the pipeline is
 * closing, or (block false) when it is not done yet. */
static struct job *pipeline_pop(struct pipeline *pl, bool block)
{
	struct job *j = NULL;

	pthread_mutex_lock(&pl->lock);
	for (;;) {
		if (pl->next_out != pl->next_in && pl->done[pl->next_out % pl->n_jobs]) {
			j = pl->done[pl->next_out % pl->n_jobs];
			pl->done[pl->next_out % pl->n_jobs] = NULL;
			pl->next_out++;
			break;
		}
		if (!block || pl->closing)
			break;
		pthread_cond_wait(&pl->cond, &pl->lock);
	}
	pthread_mutex_unlock(&pl->lock);
	return j;
}

/* Waits until every job is back in the pool (or the pipeline closes). */
static void pipeline_wait_idle(struct pipeline *pl)
{
	pthread_mutex_lock(&pl->lock);
	while (pl->n_free < pl->n_jobs && !pl->closing)
		pthread_cond_wait(&pl->cond, &pl->lock);
	pthread_mutex_unlock(&pl->lock);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static char *sha_hex(EVP_MD_CTX *sha, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *hex;

	EVP_DigestFinal_ex(sha, md, &mdlen);
	hex = lb_hex_encode(md, mdlen);
	memcpy(out, hex, 65);
	free(hex);
	return out;
}

/* ---- writing ---------------------------------------------------------- */

struct lb_dw {
	int fd;
	uint32_t kind;
	uint32_t chunk_size;
	int level;		/* zstd level, 0: stored plain */
	struct pipeline pl;
	ZSTD_CCtx **cctx;	/* one per worker */
	size_t n_cctx;
	struct job *cur;	/* being filled */
	EVP_MD_CTX *sha;
	/* the device extents are read from (images) */
	int dev_fd, direct_fd;
	uint64_t dev_base;
	uint32_t dev_align;
	/* the writer thread's own */
	uint64_t file_off;
	uint64_t synced_off, dropped_off;	/* writeback started / done and dropped */
	uint64_t total_raw;
	struct index_entry *index;
	size_t n_index;
	int err;
	char *errmsg;
	lb_progress_fn progress;
	void *progress_ud;
};

/* Reads a job's extents from the device into its buffer: without the page
 * cache where the device allows (the data is read once and is not worth
 * caching), through it otherwise. */
static int fill_job(struct lb_dw *w, struct job *j)
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

			snprintf(msg, sizeof(msg), "cannot read at byte %" PRIu64 ": %s", at,
				 r == -ENODATA ? "end of device" : strerror(-r));
			job_fail(j, r, msg);
			return r;
		}
		p += len;
	}
	return 0;
}

static void compress_job(struct pipeline *pl, struct job *j, unsigned worker)
{
	struct lb_dw *w = pl->ctx;

	if (j->fill && fill_job(w, j) < 0)
		return;
	j->hash = XXH3_64bits(j->raw, j->raw_len);
	j->stored = j->raw;
	j->stored_len = j->raw_len;
	if (w->level != 0) {
		size_t n = ZSTD_compressCCtx(w->cctx[worker], j->cbuf, ZSTD_compressBound(pl->chunk_size),
					     j->raw, j->raw_len, w->level);

		/* a chunk that does not shrink is stored plain */
		if (!ZSTD_isError(n) && n < j->raw_len) {
			j->stored = j->cbuf;
			j->stored_len = n;
		}
	}
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

static int dw_write_job(struct lb_dw *w, struct job *j)
{
	uint8_t *h = j->frame;
	struct index_entry *e;
	struct iovec iov[2];
	int r;

	memcpy(h, "LBCK", 4);
	put_le32(h + 4, j->n_ext);
	put_le64(h + 8, j->seq);
	put_le32(h + 16, (uint32_t)j->raw_len);
	put_le32(h + 20, (uint32_t)j->stored_len);
	put_le64(h + 24, j->hash);
	for (uint32_t i = 0; i < j->n_ext; i++) {
		put_le64(h + CHUNK_HDR + 16 * i, j->ext[i].off);
		put_le64(h + CHUNK_HDR + 16 * i + 8, j->ext[i].len);
	}
	j->frame_len = CHUNK_HDR + 16 * (size_t)j->n_ext;
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

/* The writer thread: chunks in order into the file, then to the hashing
 * thread. After a failure it only drains, so nobody waits forever. */
static void *writer_main(void *arg)
{
	struct lb_dw *w = arg;
	struct job *j;

	while ((j = pipeline_pop(&w->pl, true))) {
		int r = 0;

		if (w->err >= 0 && j->err) {
			r = j->err;
			w->errmsg = lb_strdup(j->msg);
		} else if (w->err >= 0) {
			r = dw_write_job(w, j);
			if (r < 0)
				w->errmsg = lb_strdup(lb_errmsg());
		}
		pthread_mutex_lock(&w->pl.lock);
		if (r < 0)
			w->err = r;
		if (w->err < 0)
			release_locked(&w->pl, j);
		else
			hash_enqueue_locked(&w->pl, j);
		pthread_mutex_unlock(&w->pl.lock);
	}
	return NULL;
}

static int dw_error(struct lb_dw *w)
{
	int r;

	pthread_mutex_lock(&w->pl.lock);
	r = w->err;
	pthread_mutex_unlock(&w->pl.lock);
	if (r < 0)
		return lb_err(r, "%s", w->errmsg ? w->errmsg : "cannot write the data file");
	return 0;
}

static int dw_submit(struct lb_dw *w)
{
	struct job *j = w->cur;

	w->cur = NULL;
	if (!j)
		return 0;
	if (j->raw_len == 0) {
		pipeline_put(&w->pl, j);
		return 0;
	}
	pipeline_submit(&w->pl, j, true, false);
	return dw_error(w);
}

static int dw_plain_write(struct lb_dw *w, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	int r = dw_output(w, &iov, 1);

	if (r >= 0)
		EVP_DigestUpdate(w->sha, buf, len);
	return r;
}

int lb_dw_open(int fd, uint32_t kind, uint64_t vol_size, uint32_t block_size, int level,
	       struct lb_dw **ret)
{
	struct lb_dw *w = lb_zalloc(sizeof(*w));
	uint8_t hdr[HEADER_SIZE] = { 0 };
	size_t n;
	int r;

	w->fd = fd;
	w->kind = kind;
	w->chunk_size = LB_CHUNK_SIZE;
	w->level = level;
	w->dev_fd = w->direct_fd = -1;
	w->sha = EVP_MD_CTX_new();
	if (!w->sha || !EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(w->sha);
		free(w);
		return lb_err(-ENOMEM, "cannot set up SHA-256");
	}
	memcpy(hdr, "LBDATA1\n", 8);
	put_le32(hdr + 8, 1);
	put_le32(hdr + 12, kind);
	put_le64(hdr + 16, vol_size);
	put_le32(hdr + 24, w->chunk_size);
	put_le32(hdr + 28, w->level != 0 ? 1 : 0);
	put_le32(hdr + 32, block_size);
	r = dw_plain_write(w, hdr, sizeof(hdr));
	/* images: the workers read the device too; two more keep it busy
	 * while the others compress */
	n = n_cpus();
	if (kind == LB_CONTAINER_IMAGE && !getenv("LIFEBOAT_THREADS"))
		n += 2;

	if (w->level != 0) {
		w->cctx = lb_zalloc(n * sizeof(*w->cctx));
		for (; r >= 0 && w->n_cctx < n; w->n_cctx++)
			if (!(w->cctx[w->n_cctx] = ZSTD_createCCtx()))
				r = lb_err(-ENOMEM, "cannot set up zstd");
	}
	if (r >= 0)
		r = pipeline_start(&w->pl, n, w->chunk_size, w->level != 0, kind == LB_CONTAINER_IMAGE,
				   compress_job, true, w, w->sha, writer_main, w);
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

void lb_dw_set_device(struct lb_dw *w, int fd, int direct_fd, uint64_t base)
{
	int ssz = 0;

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
		struct job *j;
		size_t room, n;

		if (!w->cur) {
			int r = dw_error(w);

			if (r < 0)
				return r;
			w->cur = pipeline_get(&w->pl);
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
		if (j->raw_len == w->chunk_size || j->n_ext >= MAX_EXTENTS) {
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
			int r = dw_error(w);

			if (r < 0)
				return r;
			w->cur = pipeline_get(&w->pl);
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

int lb_dw_close(struct lb_dw *w, char sha256[65], uint64_t *ret_size)
{
	uint8_t tr[TRAILER_SIZE] = { 0 }, ih[12];
	uint8_t *ix = NULL;
	uint64_t index_off;
	int r;

	r = dw_submit(w);
	if (r >= 0) {
		pipeline_wait_idle(&w->pl);
		r = dw_error(w);
	}
	if (r < 0)
		goto out;
	/* every chunk is written and hashed: the rest is this thread's */
	index_off = w->file_off;
	memcpy(ih, "LBIX", 4);
	put_le64(ih + 4, w->n_index);
	r = dw_plain_write(w, ih, sizeof(ih));
	ix = lb_zalloc(w->n_index * 32 + 1);
	for (size_t i = 0; i < w->n_index; i++) {
		uint8_t *e = ix + 32 * i;

		put_le64(e, w->index[i].file_off);
		put_le64(e + 8, w->index[i].dev_off);
		put_le32(e + 16, w->index[i].raw_len);
		put_le32(e + 20, w->index[i].stored_len);
		put_le64(e + 24, w->index[i].hash);
	}
	if (r >= 0)
		r = dw_plain_write(w, ix, w->n_index * 32);
	memcpy(tr, "LBEND\0\0\0", 8);
	put_le64(tr + 8, index_off);
	put_le64(tr + 16, w->n_index);
	put_le64(tr + 24, w->total_raw);
	if (r >= 0)
		r = dw_plain_write(w, tr, sizeof(tr));
	if (r >= 0 && fsync(w->fd) < 0)
		r = lb_err(-errno, "cannot sync the data file: %s", strerror(errno));
	if (r >= 0) {
		sha_hex(w->sha, sha256);
		*ret_size = w->file_off;
	}
out:
	free(ix);
	lb_dw_abort(w);
	return r;
}

void lb_dw_abort(struct lb_dw *w)
{
	if (!w)
		return;
	pipeline_stop(&w->pl);
	for (size_t i = 0; i < w->n_cctx; i++)
		ZSTD_freeCCtx(w->cctx[i]);
	free(w->cctx);
	EVP_MD_CTX_free(w->sha);
	free(w->index);
	free(w->errmsg);
	free(w);
}

/* ---- reading ---------------------------------------------------------- */

struct lb_dr {
	int fd;
	char *name;		/* for messages: the volume */
	uint32_t kind;
	uint64_t vol_size;
	uint32_t chunk_size;
	uint32_t compression;
	uint64_t file_off;
	uint64_t file_size;
	struct lb_seq *seq;	/* reading front to back: from here, not fd */
	uint64_t next_seq;
	uint64_t total_raw;
	bool eof;		/* the index was reached */
	bool ended;		/* lb_dr_next returned 0: the end is checked */
	bool started;
	struct pipeline pl;
	ZSTD_DCtx **dctx;	/* one per worker */
	size_t n_dctx;
	lb_chunk_sink_fn sink;	/* called by the workers with each sound chunk */
	void *sink_ud;
	EVP_MD_CTX *sha;
	struct job *held;	/* handed out by lb_dr_next */
	struct index_entry *seen;
	size_t n_seen;
};

static void decompress_job(struct pipeline *pl, struct job *j, unsigned worker)
{
	struct lb_dr *r = pl->ctx;
	struct lb_chunk ch;
	int e;

	if (j->stored != j->raw) {
		size_t n = ZSTD_decompressDCtx(r->dctx[worker], j->raw, pl->chunk_size, j->stored,
					       j->stored_len);

		if (ZSTD_isError(n) || n != j->raw_len) {
			j->err = -EBADMSG;
			return;
		}
	}
	if (XXH3_64bits(j->raw, j->raw_len) != j->hash) {
		j->err = -EBADMSG;
		return;
	}
	if (!r->sink)
		return;
	ch.seq = j->seq;
	ch.data = j->raw;
	ch.len = j->raw_len;
	ch.ext = j->ext;
	ch.n_ext = j->n_ext;
	e = r->sink(r->sink_ud, &ch);
	if (e < 0)
		job_fail(j, e, lb_errmsg());
}

static int dr_read(struct lb_dr *r, void *buf, size_t len)
{
	int e = r->seq ? lb_seq_read(r->seq, buf, len) : lb_pread_all(r->fd, buf, len, r->file_off);

	if (e < 0)
		return e;
	r->file_off += len;
	return 0;
}

/* Reads and checks the framing of the chunk at r->file_off into j (header
 * and extents; j->frame holds them as read); sets r->eof at the index.
 * Damage in the framing is an error here. */
static int dr_read_frame(struct lb_dr *r, struct job *j)
{
	uint8_t *h = j->frame;
	uint64_t at = r->file_off, sum = 0;
	int e;

	e = dr_read(r, h, 4);
	if (e == -ENODATA)
		return lb_err(-EBADMSG, "%s: data file truncated after chunk %" PRIu64, r->name,
			      r->next_seq);
	if (e < 0)
		return lb_err(e, "%s: cannot read the data file: %s", r->name, strerror(-e));
	/* (the index's magic is read: dr_check_end reads the rest) */
	if (memcmp(h, "LBIX", 4) == 0) {
		r->eof = true;
		return 0;
	}
	e = dr_read(r, h + 4, CHUNK_HDR - 4);
	if (e < 0)
		return lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, r->name, r->next_seq);
	j->file_off = at;
	j->n_ext = get_le32(h + 4);
	j->raw_len = get_le32(h + 16);
	j->stored_len = get_le32(h + 20);
	j->hash = get_le64(h + 24);
	if (memcmp(h, "LBCK", 4) != 0 || get_le64(h + 8) != r->next_seq ||
	    j->raw_len > r->chunk_size || j->stored_len > ZSTD_compressBound(r->chunk_size) ||
	    j->n_ext > MAX_EXTENTS || (r->kind == LB_CONTAINER_STREAM && j->n_ext) ||
	    (r->kind == LB_CONTAINER_IMAGE && !j->n_ext) ||
	    (!r->compression && j->stored_len != j->raw_len))
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64 ") is damaged",
			      r->name, r->next_seq, at);
	e = dr_read(r, h + CHUNK_HDR, 16 * (size_t)j->n_ext);
	for (uint32_t i = 0; e >= 0 && i < j->n_ext; i++) {
		j->ext[i].off = get_le64(h + CHUNK_HDR + 16 * i);
		j->ext[i].len = get_le64(h + CHUNK_HDR + 16 * i + 8);
		if (j->ext[i].off > r->vol_size || j->ext[i].len > r->vol_size - j->ext[i].off)
			e = -ERANGE;
		else if (j->ext[i].len > j->raw_len - sum)	/* (the sum never wraps) */
			e = -EBADMSG;
		else
			sum += j->ext[i].len;
	}
	if (e >= 0 && j->n_ext && sum != j->raw_len)
		e = -EBADMSG;
	if (e < 0)
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64
				      ") has a damaged extent list",
			      r->name, r->next_seq, at);
	j->frame_len = CHUNK_HDR + 16 * (size_t)j->n_ext;
	if (r->n_seen % 1024 == 0)
		r->seen = lb_realloc_array(r->seen, r->n_seen + 1024, sizeof(*r->seen));
	r->seen[r->n_seen].file_off = at;
	r->seen[r->n_seen].dev_off = j->n_ext ? j->ext[0].off : r->total_raw;
	r->seen[r->n_seen].raw_len = (uint32_t)j->raw_len;
	r->seen[r->n_seen].stored_len = (uint32_t)j->stored_len;
	r->seen[r->n_seen].hash = j->hash;
	r->n_seen++;
	r->total_raw += j->raw_len;
	return 0;
}

/* The index and trailer must agree with the chunks read; hashed when sha. */
static int dr_check_end(struct lb_dr *r, EVP_MD_CTX *sha)
{
	uint8_t ih[12] = "LBIX", tr[TRAILER_SIZE];
	_cleanup_free_ uint8_t *ix = NULL;
	uint64_t index_off = r->file_off - 4;
	int e;

	e = dr_read(r, ih + 4, sizeof(ih) - 4);
	if (e < 0 || get_le64(ih + 4) != r->n_seen)
		return lb_err(-EBADMSG, "%s: the chunk index is damaged or truncated", r->name);
	if (r->file_size < r->file_off || (r->file_size - r->file_off) / 32 < r->n_seen)
		return lb_err(-EBADMSG, "%s: the chunk index is truncated", r->name);
	ix = lb_zalloc(r->n_seen * 32 + 1);
	e = dr_read(r, ix, r->n_seen * 32);
	if (e < 0)
		return lb_err(-EBADMSG, "%s: the chunk index is truncated", r->name);
	for (size_t i = 0; i < r->n_seen; i++) {
		const uint8_t *ent = ix + 32 * i;

		if (get_le64(ent) != r->seen[i].file_off || get_le64(ent + 8) != r->seen[i].dev_off ||
		    get_le32(ent + 16) != r->seen[i].raw_len ||
		    get_le32(ent + 20) != r->seen[i].stored_len || get_le64(ent + 24) != r->seen[i].hash)
			return lb_err(-EBADMSG, "%s: the chunk index is damaged at entry %zu", r->name, i);
	}
	e = dr_read(r, tr, sizeof(tr));
	if (e < 0 || memcmp(tr, "LBEND\0\0\0", 8) != 0 || get_le64(tr + 8) != index_off ||
	    get_le64(tr + 16) != r->n_seen || get_le64(tr + 24) != r->total_raw)
		return lb_err(-EBADMSG, "%s: the data file's trailer is damaged or missing", r->name);
	if (r->file_off != r->file_size)
		return lb_err(-EBADMSG, "%s: %" PRIu64 " stray bytes after the trailer", r->name,
			      r->file_size - r->file_off);
	if (sha) {
		EVP_DigestUpdate(sha, ih, sizeof(ih));
		EVP_DigestUpdate(sha, ix, r->n_seen * 32);
		EVP_DigestUpdate(sha, tr, sizeof(tr));
	}
	return 0;
}

/* The file's size, taken once: everything after is checked against it. */
static void dr_take_size(struct lb_dr *r)
{
	off_t end = lseek(r->fd, 0, SEEK_END);

	r->file_size = end < 0 ? 0 : (uint64_t)end;
}

/* The header; r->fd, r->name and r->file_size set. */
static int dr_read_header(struct lb_dr *r, uint8_t hdr[HEADER_SIZE])
{
	if (dr_read(r, hdr, HEADER_SIZE) < 0 || memcmp(hdr, "LBDATA1\n", 8) != 0 ||
	    get_le32(hdr + 8) != 1)
		return lb_err(-EBADMSG, "%s: not a lifeboat data file (bad header)", r->name);
	r->kind = get_le32(hdr + 12);
	r->vol_size = get_le64(hdr + 16);
	r->chunk_size = get_le32(hdr + 24);
	r->compression = get_le32(hdr + 28);
	/* chunks no larger than the writer makes: every buffer of the pipeline
	 * is a chunk, so a bigger one is memory asked for (64 MiB chunks took
	 * 2.2 GB from a 140 KB file) */
	if ((r->kind != LB_CONTAINER_IMAGE && r->kind != LB_CONTAINER_STREAM) || r->chunk_size == 0 ||
	    r->chunk_size > LB_CHUNK_SIZE || r->compression > 1)
		return lb_err(-EBADMSG, "%s: data file header is damaged", r->name);
	return 0;
}

int lb_dr_open(int fd, const char *name, struct lb_dr **ret)
{
	struct lb_dr *r = lb_zalloc(sizeof(*r));
	uint8_t hdr[HEADER_SIZE];
	int e;

	r->fd = fd;
	r->name = lb_strdup(name);
	r->sha = EVP_MD_CTX_new();
	if (!r->sha || !EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL)) {
		e = lb_err(-ENOMEM, "cannot set up SHA-256");
		goto fail;
	}
	/* everything, the header too, from the read-ahead thread; buffered,
	 * should it come to that, in big steps */
	dr_take_size(r);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	e = lb_seq_open(fd, r->file_size, &r->seq);
	if (e >= 0)
		e = dr_read_header(r, hdr);
	if (e < 0)
		goto fail;
	EVP_DigestUpdate(r->sha, hdr, sizeof(hdr));
	*ret = r;
	return 0;
fail:
	lb_dr_close(r);
	return e;
}

uint32_t lb_dr_kind(const struct lb_dr *r)
{
	return r->kind;
}

uint64_t lb_dr_volume_size(const struct lb_dr *r)
{
	return r->vol_size;
}

void lb_dr_set_sink(struct lb_dr *r, lb_chunk_sink_fn fn, void *ud)
{
	r->sink = fn;
	r->sink_ud = ud;
}

/* The workers start with the first chunk, once the sink is known. */
static int dr_start(struct lb_dr *r)
{
	size_t n = n_cpus();
	int e;

	/* plain chunks are I/O, not CPU: a few more writes in flight */
	if (!r->compression && r->sink && n < 4)
		n = 4;
	r->dctx = lb_zalloc(n * sizeof(*r->dctx));
	for (r->n_dctx = 0; r->n_dctx < n; r->n_dctx++)
		if (!(r->dctx[r->n_dctx] = ZSTD_createDCtx())) {
			e = lb_err(-ENOMEM, "cannot set up zstd");
			goto fail;
		}
	e = pipeline_start(&r->pl, n, r->chunk_size, r->compression != 0,
			   r->kind == LB_CONTAINER_IMAGE, decompress_job, false, r, r->sha, NULL, NULL);
	if (e < 0)
		goto fail;
	/* (only once started may the pipeline be used, or stopped) */
	r->started = true;
	return 0;
fail:
	/* as before the call: it may be tried again */
	for (size_t i = 0; i < r->n_dctx; i++)
		ZSTD_freeDCtx(r->dctx[i]);
	free(r->dctx);
	r->dctx = NULL;
	r->n_dctx = 0;
	return e;
}

/* Reads the next chunk into a job for the workers and the hashing thread. */
static int dr_read_chunk(struct lb_dr *r)
{
	struct job *j = pipeline_get(&r->pl);
	int e;

	e = dr_read_frame(r, j);
	if (e < 0 || r->eof) {
		pipeline_put(&r->pl, j);
		return e;
	}
	/* stored plain: straight into the aligned buffer it is used from */
	j->stored = j->stored_len == j->raw_len ? j->raw : j->cbuf;
	if (j->stored == j->cbuf && !j->cbuf) {
		pipeline_put(&r->pl, j);
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " is compressed in an uncompressed file",
			      r->name, r->next_seq);
	}
	e = dr_read(r, (void *)j->stored, j->stored_len);
	if (e < 0) {
		pipeline_put(&r->pl, j);
		return lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, r->name, r->next_seq);
	}
	r->next_seq++;
	pipeline_submit(&r->pl, j, true, true);
	return 0;
}

int lb_dr_next(struct lb_dr *r, struct lb_chunk *ret)
{
	struct job *j;
	int e;

	if (r->ended)
		return 0;
	if (!r->started) {
		e = dr_start(r);
		if (e < 0)
			return e;
	}
	if (r->held) {
		pipeline_put(&r->pl, r->held);
		r->held = NULL;
	}
	for (;;) {
		/* keep the workers fed while there are buffers */
		while (!r->eof && pipeline_has_free(&r->pl)) {
			e = dr_read_chunk(r);
			if (e < 0)
				return e;
		}
		/* (only this thread submits and takes: no lock needed to
		 * know whether anything is in flight) */
		if (r->eof && r->pl.next_out == r->pl.next_in) {
			e = dr_check_end(r, r->sha);
			if (e < 0)
				return e;
			r->ended = true;
			return 0;
		}
		j = pipeline_pop(&r->pl, true);
		if (j)
			break;
	}
	if (j->err) {
		uint64_t seq = j->seq, dev = j->n_ext ? j->ext[0].off : 0, fo = j->file_off;

		if (j->msg)
			e = lb_err(j->err, "%s: chunk %" PRIu64 ": %s", r->name, seq, j->msg);
		else if (r->kind == LB_CONTAINER_IMAGE)
			e = lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (device offset %" PRIu64
					     ", file offset %" PRIu64 ") fails its checksum",
				   r->name, seq, dev, fo);
		else
			e = lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64
					     ") fails its checksum",
				   r->name, seq, fo);
		pipeline_put(&r->pl, j);
		return e;
	}
	r->held = j;
	ret->seq = j->seq;
	ret->data = j->raw;
	ret->len = j->raw_len;
	ret->ext = j->ext;
	ret->n_ext = j->n_ext;
	return 1;
}

int lb_dr_finish(struct lb_dr *r, char sha256[65])
{
	sha_hex(r->sha, sha256);
	return 0;
}

void lb_dr_close(struct lb_dr *r)
{
	if (!r)
		return;
	pipeline_stop(&r->pl);
	lb_seq_close(r->seq);
	for (size_t i = 0; i < r->n_dctx; i++)
		ZSTD_freeDCtx(r->dctx[i]);
	free(r->dctx);
	EVP_MD_CTX_free(r->sha);
	free(r->seen);
	free(r->name);
	free(r);
}

int lb_data_read_header(int fd, const char *name, uint32_t *ret_kind, uint64_t *ret_vol_size)
{
	struct lb_dr r = { .fd = fd, .name = (char *)name };
	uint8_t hdr[HEADER_SIZE];
	int e;

	dr_take_size(&r);
	e = dr_read_header(&r, hdr);
	if (e < 0)
		return e;
	*ret_kind = r.kind;
	*ret_vol_size = r.vol_size;
	return 0;
}

/* Checks a data file's whole framing without reading its data: header,
 * every chunk's header and extents, index, trailer, and its size against
 * the manifest's record. What restore does before its first write; the
 * data itself is checked chunk by chunk as it is written. */
int lb_data_check_framing(int fd, const char *name, const struct lb_artifact *a)
{
	struct lb_dr r = { .fd = fd, .name = (char *)name };
	struct job j = { 0 };
	uint8_t hdr[HEADER_SIZE];
	int e;

	dr_take_size(&r);
	e = dr_read_header(&r, hdr);
	if (e >= 0 && a && a->size != r.file_size)
		e = lb_err(-EBADMSG, "%s: the data file has %" PRIu64 " bytes, the manifest says %" PRIu64,
			   name, r.file_size, a->size);
	if (e < 0)
		return e;
	j.frame = malloc(FRAME_MAX);
	j.ext = malloc(MAX_EXTENTS * sizeof(*j.ext));
	if (!j.frame || !j.ext) {
		e = lb_err(-ENOMEM, "out of memory");
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	while (e >= 0 && !r.eof) {
		e = dr_read_frame(&r, &j);
		if (e < 0 || r.eof)
			break;
		if (j.stored_len > r.file_size - r.file_off) {
			e = lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, name, r.next_seq);
			break;
		}
		r.file_off += j.stored_len;
		r.next_seq++;
	}
	if (e >= 0)
		e = dr_check_end(&r, NULL);
out:
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	free(j.frame);
	free(j.ext);
	free(r.seen);
	return e;
}

uint64_t lb_data_raw_total(int fd)
{
	uint8_t tr[TRAILER_SIZE];
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < HEADER_SIZE + TRAILER_SIZE ||
	    lb_pread_all(fd, tr, sizeof(tr), (uint64_t)end - TRAILER_SIZE) < 0 ||
	    memcmp(tr, "LBEND\0\0\0", 8) != 0)
		return 0;
	return get_le64(tr + 24);
}

/* The framing (lb_data_check_framing), then the SHA-256 of the whole file
 * against the manifest's: the file read once, sequentially, hashed on
 * another thread as it comes. Cheaper than lb_data_verify_file (nothing is
 * decompressed), and as sure: the chunks' own checksums only serve to
 * name the damage, which lb_data_verify_file is then asked to do. */
int lb_data_check_sum(int fd, const char *name, const struct lb_artifact *a)
{
	struct pipeline pl;
	EVP_MD_CTX *sha;
	uint64_t off = 0, size;
	char sum[65];
	ssize_t got;
	int dfd, e;

	e = lb_data_check_framing(fd, name, a);
	if (e < 0)
		return e;
	size = a->size;
	sha = EVP_MD_CTX_new();
	if (!sha || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(sha);
		return lb_err(-ENOMEM, "cannot set up SHA-256");
	}
	e = pipeline_start(&pl, 0, LB_CHUNK_SIZE, false, false, NULL, true, NULL, sha, NULL, NULL);
	if (e < 0) {
		EVP_MD_CTX_free(sha);
		return e;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	dfd = lb_direct_reopen(fd);
	while (off < size) {
		struct job *j = pipeline_get(&pl);
		size_t n = size - off < LB_CHUNK_SIZE ? (size_t)(size - off) : LB_CHUNK_SIZE;

		got = lb_pread_direct(&dfd, fd, j->raw, n, off);
		e = got < 0 ? (int)got : got < (ssize_t)n ? -ENODATA : 0;
		if (e < 0) {
			pipeline_put(&pl, j);
			e = lb_err(e, "%s: cannot read the data file: %s", name,
				   e == -ENODATA ? "it is shorter than recorded" : strerror(-e));
			break;
		}
		j->stored = j->raw;
		j->stored_len = n;
		off += n;
		pipeline_submit(&pl, j, false, true);
	}
	pipeline_wait_idle(&pl);
	pipeline_stop(&pl);
	if (dfd >= 0)
		close(dfd);
	sha_hex(sha, sum);
	EVP_MD_CTX_free(sha);
	if (e >= 0 && strcmp(sum, a->sha256) != 0) {
		/* which chunk, if a chunk it is */
		e = lb_data_verify_file(fd, name, a, NULL);
		if (e >= 0)
			e = lb_err(-EBADMSG, "%s: the data file does not match its SHA-256", name);
	}
	return e;
}
