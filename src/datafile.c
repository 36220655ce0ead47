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
 * All numbers little-endian. Chunks are compressed and checked by worker
 * threads (one per core) and written or handed out in order.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>
#include <zstd.h>

#include "lifeboat.h"
#include "datafile.h"

#define HEADER_SIZE 64
#define CHUNK_HDR 32
#define TRAILER_SIZE 32
#define MAX_EXTENTS 4096

struct job {
	uint64_t seq;
	uint8_t *raw;		/* chunk data */
	size_t raw_len;
	uint8_t *stored;	/* as in the file */
	size_t stored_len;
	uint64_t hash;
	struct lb_extent *ext;
	uint32_t n_ext;
	uint64_t file_off;	/* reading: where it was found */
	int err;		/* reading: what was wrong with it */
	struct job *next;
};

struct index_entry {
	uint64_t file_off;
	uint64_t dev_off;
	uint32_t raw_len;
	uint32_t stored_len;
	uint64_t hash;
};

/* A bounded, ordered pipeline: jobs enter in sequence, workers transform
 * them in any order, they leave in sequence. */
struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *todo_head, *todo_tail;
	struct job **done;	/* ring by seq % cap */
	size_t cap;
	uint64_t next_in, next_out;
	size_t in_flight;
	bool closing;
	pthread_t *workers;
	size_t n_workers;
	void (*work)(struct pipeline *pl, struct job *j);
	void *ctx;
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

static void *worker_main(void *arg)
{
	struct pipeline *pl = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&pl->lock);
		while (!pl->todo_head && !pl->closing)
			pthread_cond_wait(&pl->cond, &pl->lock);
		if (!pl->todo_head) {
			pthread_mutex_unlock(&pl->lock);
			return NULL;
		}
		j = pl->todo_head;
		pl->todo_head = j->next;
		if (!pl->todo_head)
			pl->todo_tail = NULL;
		pthread_mutex_unlock(&pl->lock);

		pl->work(pl, j);

		pthread_mutex_lock(&pl->lock);
		pl->done[j->seq % pl->cap] = j;
		pthread_cond_broadcast(&pl->cond);
		pthread_mutex_unlock(&pl->lock);
	}
}

static int pipeline_start(struct pipeline *pl, void (*work)(struct pipeline *, struct job *),
			  void *ctx)
{
	memset(pl, 0, sizeof(*pl));
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->cond, NULL);
	pl->n_workers = n_cpus();
	pl->cap = pl->n_workers * 2 + 2;
	pl->done = lb_zalloc(pl->cap * sizeof(*pl->done));
	pl->workers = lb_zalloc(pl->n_workers * sizeof(*pl->workers));
	pl->work = work;
	pl->ctx = ctx;
	for (size_t i = 0; i < pl->n_workers; i++)
		if (pthread_create(&pl->workers[i], NULL, worker_main, pl) != 0)
			return lb_err(-EAGAIN, "cannot start worker threads");
	return 0;
}

/* Blocks while the pipeline is full: memory stays bounded. */
static void pipeline_push(struct pipeline *pl, struct job *j)
{
	pthread_mutex_lock(&pl->lock);
	while (pl->in_flight >= pl->cap)
		pthread_cond_wait(&pl->cond, &pl->lock);
	j->seq = pl->next_in++;
	j->next = NULL;
	pl->in_flight++;
	if (pl->todo_tail)
		pl->todo_tail->next = j;
	else
		pl->todo_head = j;
	pl->todo_tail = j;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
}

/* The next job in sequence, or NULL when none is in flight and block is
 * false (or none will come: all taken). */
static struct job *pipeline_pop(struct pipeline *pl, bool block)
{
	struct job *j = NULL;

	pthread_mutex_lock(&pl->lock);
	for (;;) {
		if (pl->next_out == pl->next_in)
			break;
		j = pl->done[pl->next_out % pl->cap];
		if (j) {
			pl->done[pl->next_out % pl->cap] = NULL;
			pl->next_out++;
			pl->in_flight--;
			pthread_cond_broadcast(&pl->cond);
			break;
		}
		if (!block)
			break;
		pthread_cond_wait(&pl->cond, &pl->lock);
	}
	pthread_mutex_unlock(&pl->lock);
	return j;
}

static bool pipeline_full(struct pipeline *pl)
{
	bool full;

	pthread_mutex_lock(&pl->lock);
	full = pl->in_flight >= pl->cap;
	pthread_mutex_unlock(&pl->lock);
	return full;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->raw);
	free(j->stored);
	free(j->ext);
	free(j);
}

static void pipeline_stop(struct pipeline *pl)
{
	struct job *j;

	pthread_mutex_lock(&pl->lock);
	pl->closing = true;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	for (size_t i = 0; i < pl->n_workers; i++)
		if (pl->workers[i])
			pthread_join(pl->workers[i], NULL);
	while ((j = pl->todo_head)) {
		pl->todo_head = j->next;
		job_free(j);
	}
	for (size_t i = 0; i < pl->cap; i++)
		job_free(pl->done[i]);
	free(pl->done);
	free(pl->workers);
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
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

/* ---- writing ---------------------------------------------------------- */

struct lb_dw {
	int fd;
	uint32_t kind;
	uint32_t chunk_size;
	int level;		/* zstd level, 0: stored plain */
	struct pipeline pl;
	struct job *cur;	/* being filled */
	EVP_MD_CTX *sha;
	uint64_t file_off;
	uint64_t total_raw;
	struct index_entry *index;
	size_t n_index;
	int err;
	lb_progress_fn progress;
	void *progress_ud;
};

static void compress_job(struct pipeline *pl, struct job *j)
{
	struct lb_dw *w = pl->ctx;

	j->hash = XXH3_64bits(j->raw, j->raw_len);
	if (w->level > 0) {
		size_t bound = ZSTD_compressBound(j->raw_len);
		size_t n;

		j->stored = malloc(bound);
		if (j->stored) {
			n = ZSTD_compress(j->stored, bound, j->raw, j->raw_len, w->level);
			if (!ZSTD_isError(n) && n < j->raw_len) {
				j->stored_len = n;
				free(j->raw);
				j->raw = NULL;
				return;
			}
			free(j->stored);
			j->stored = NULL;
		}
	}
	/* stored plain: the data is its own payload */
	j->stored = j->raw;
	j->stored_len = j->raw_len;
	j->raw = NULL;
}

static int dw_output(struct lb_dw *w, const void *buf, size_t len)
{
	int r = lb_pwrite_all(w->fd, buf, len, w->file_off);

	if (r < 0)
		return lb_err(r, "cannot write the data file: %s", strerror(-r));
	EVP_DigestUpdate(w->sha, buf, len);
	w->file_off += len;
	return 0;
}

static int dw_write_job(struct lb_dw *w, struct job *j)
{
	uint8_t hdr[CHUNK_HDR];
	struct index_entry *e;
	int r;

	memcpy(hdr, "LBCK", 4);
	put_le32(hdr + 4, j->n_ext);
	put_le64(hdr + 8, j->seq);
	put_le32(hdr + 16, (uint32_t)j->raw_len);
	put_le32(hdr + 20, (uint32_t)j->stored_len);
	put_le64(hdr + 24, j->hash);
	w->index = lb_realloc_array(w->index, w->n_index + 1, sizeof(*w->index));
	e = &w->index[w->n_index++];
	e->file_off = w->file_off;
	e->dev_off = j->n_ext ? j->ext[0].off : w->total_raw;
	e->raw_len = (uint32_t)j->raw_len;
	e->stored_len = (uint32_t)j->stored_len;
	e->hash = j->hash;
	r = dw_output(w, hdr, sizeof(hdr));
	for (uint32_t i = 0; r >= 0 && i < j->n_ext; i++) {
		uint8_t ext[16];

		put_le64(ext, j->ext[i].off);
		put_le64(ext + 8, j->ext[i].len);
		r = dw_output(w, ext, sizeof(ext));
	}
	if (r >= 0)
		r = dw_output(w, j->stored, j->stored_len);
	w->total_raw += j->raw_len;
	if (w->progress)
		w->progress(w->progress_ud, w->total_raw);
	return r;
}

/* Writes whatever finished chunks are next in order. */
static int dw_drain(struct lb_dw *w, bool all)
{
	struct job *j;

	while ((j = pipeline_pop(&w->pl, all || pipeline_full(&w->pl)))) {
		if (w->err >= 0)
			w->err = dw_write_job(w, j);
		job_free(j);
		if (!all && !pipeline_full(&w->pl))
			break;
	}
	return w->err;
}

static struct job *new_job(uint32_t chunk_size)
{
	struct job *j = lb_zalloc(sizeof(*j));

	j->raw = malloc(chunk_size);
	if (!j->raw) {
		free(j);
		return NULL;
	}
	return j;
}

static int dw_submit(struct lb_dw *w)
{
	struct job *j = w->cur;

	w->cur = NULL;
	if (!j || j->raw_len == 0) {
		job_free(j);
		return 0;
	}
	pipeline_push(&w->pl, j);
	return dw_drain(w, false);
}

int lb_dw_open(int fd, uint32_t kind, uint64_t vol_size, uint32_t block_size, int level,
	       struct lb_dw **ret)
{
	struct lb_dw *w = lb_zalloc(sizeof(*w));
	uint8_t hdr[HEADER_SIZE] = { 0 };
	int r;

	w->fd = fd;
	w->kind = kind;
	w->chunk_size = LB_CHUNK_SIZE;
	w->level = level;
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
	put_le32(hdr + 28, level > 0 ? 1 : 0);
	put_le32(hdr + 32, block_size);
	r = pipeline_start(&w->pl, compress_job, w);
	if (r >= 0)
		r = dw_output(w, hdr, sizeof(hdr));
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

/* Image: reads len bytes of the volume at off (the device at base + off)
 * straight into chunks. */
int lb_dw_read_extent(struct lb_dw *w, int dev_fd, uint64_t base, uint64_t off, uint64_t len)
{
	while (len) {
		struct job *j;
		size_t room, n;
		int r;

		if (!w->cur && !(w->cur = new_job(w->chunk_size)))
			return lb_err(-ENOMEM, "out of memory for a data chunk");
		j = w->cur;
		room = w->chunk_size - j->raw_len;
		n = len < room ? (size_t)len : room;
		r = lb_pread_all(dev_fd, j->raw + j->raw_len, n, base + off);
		if (r < 0)
			return lb_err(r, "cannot read at byte %" PRIu64 ": %s", base + off, strerror(-r));
		if (j->n_ext && j->ext[j->n_ext - 1].off + j->ext[j->n_ext - 1].len == off) {
			j->ext[j->n_ext - 1].len += n;
		} else {
			j->ext = lb_realloc_array(j->ext, j->n_ext + 1, sizeof(*j->ext));
			j->ext[j->n_ext].off = off;
			j->ext[j->n_ext].len = n;
			j->n_ext++;
		}
		j->raw_len += n;
		off += n;
		len -= n;
		if (j->raw_len == w->chunk_size || j->n_ext >= MAX_EXTENTS) {
			r = dw_submit(w);
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

		if (!w->cur && !(w->cur = new_job(w->chunk_size)))
			return lb_err(-ENOMEM, "out of memory for a data chunk");
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
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	uint8_t tr[TRAILER_SIZE] = { 0 }, ih[12];
	uint64_t index_off;
	int r;

	r = dw_submit(w);
	if (r >= 0)
		r = dw_drain(w, true);
	if (r < 0)
		goto out;
	index_off = w->file_off;
	memcpy(ih, "LBIX", 4);
	put_le64(ih + 4, w->n_index);
	r = dw_output(w, ih, sizeof(ih));
	for (size_t i = 0; r >= 0 && i < w->n_index; i++) {
		uint8_t e[32];

		put_le64(e, w->index[i].file_off);
		put_le64(e + 8, w->index[i].dev_off);
		put_le32(e + 16, w->index[i].raw_len);
		put_le32(e + 20, w->index[i].stored_len);
		put_le64(e + 24, w->index[i].hash);
		r = dw_output(w, e, sizeof(e));
	}
	memcpy(tr, "LBEND\0\0\0", 8);
	put_le64(tr + 8, index_off);
	put_le64(tr + 16, w->n_index);
	put_le64(tr + 24, w->total_raw);
	if (r >= 0)
		r = dw_output(w, tr, sizeof(tr));
	if (r >= 0 && fsync(w->fd) < 0)
		r = lb_err(-errno, "cannot sync the data file: %s", strerror(errno));
	if (r >= 0) {
		char *hex;

		EVP_DigestFinal_ex(w->sha, md, &mdlen);
		hex = lb_hex_encode(md, mdlen);
		memcpy(sha256, hex, 65);
		free(hex);
		*ret_size = w->file_off;
	}
out:
	lb_dw_abort(w);
	return r;
}

void lb_dw_abort(struct lb_dw *w)
{
	if (!w)
		return;
	job_free(w->cur);
	pipeline_stop(&w->pl);
	EVP_MD_CTX_free(w->sha);
	free(w->index);
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
	uint64_t next_seq;
	uint64_t total_raw;
	bool eof;		/* the index was reached */
	struct pipeline pl;
	EVP_MD_CTX *sha;
	struct job *held;	/* handed out by lb_dr_next */
	struct index_entry *seen;
	size_t n_seen;
};

static void decompress_job(struct pipeline *pl, struct job *j)
{
	struct lb_dr *r = pl->ctx;

	if (j->err)
		return;
	if (r->compression && j->stored_len != j->raw_len) {
		size_t n;

		/* page-aligned, so a restore can write it with O_DIRECT */
		if (posix_memalign((void **)&j->raw, 4096, j->raw_len ? j->raw_len : 1) != 0) {
			j->raw = NULL;
			j->err = -ENOMEM;
			return;
		}
		n = ZSTD_decompress(j->raw, j->raw_len, j->stored, j->stored_len);
		if (ZSTD_isError(n) || n != j->raw_len) {
			j->err = -EBADMSG;
			return;
		}
		free(j->stored);
		j->stored = NULL;
	} else {
		j->raw = j->stored;
		j->stored = NULL;
	}
	if (XXH3_64bits(j->raw, j->raw_len) != j->hash)
		j->err = -EBADMSG;
}

static int dr_input(struct lb_dr *r, void *buf, size_t len)
{
	int e = lb_pread_all(r->fd, buf, len, r->file_off);

	if (e < 0)
		return e;
	EVP_DigestUpdate(r->sha, buf, len);
	r->file_off += len;
	return 0;
}

int lb_dr_open(int fd, const char *name, struct lb_dr **ret)
{
	struct lb_dr *r = lb_zalloc(sizeof(*r));
	uint8_t hdr[HEADER_SIZE];
	off_t end = lseek(fd, 0, SEEK_END);
	int e;

	r->fd = fd;
	r->name = lb_strdup(name);
	r->file_size = end < 0 ? 0 : (uint64_t)end;
	r->sha = EVP_MD_CTX_new();
	if (!r->sha || !EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL)) {
		e = lb_err(-ENOMEM, "cannot set up SHA-256");
		goto fail;
	}
	e = dr_input(r, hdr, sizeof(hdr));
	if (e < 0 || memcmp(hdr, "LBDATA1\n", 8) != 0 || get_le32(hdr + 8) != 1) {
		e = lb_err(-EBADMSG, "%s: not a lifeboat data file (bad header)", name);
		goto fail;
	}
	r->kind = get_le32(hdr + 12);
	r->vol_size = get_le64(hdr + 16);
	r->chunk_size = get_le32(hdr + 24);
	r->compression = get_le32(hdr + 28);
	if ((r->kind != LB_CONTAINER_IMAGE && r->kind != LB_CONTAINER_STREAM) || r->chunk_size == 0 ||
	    r->chunk_size > (64u << 20) || r->compression > 1) {
		e = lb_err(-EBADMSG, "%s: data file header is damaged", name);
		goto fail;
	}
	e = pipeline_start(&r->pl, decompress_job, r);
	if (e < 0)
		goto fail;
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

/* Reads the next chunk from the file into a job for the workers; sets
 * r->eof at the index. Damage in the framing is an error here. */
static int dr_read_chunk(struct lb_dr *r)
{
	uint8_t hdr[CHUNK_HDR];
	struct job *j;
	uint64_t at = r->file_off, sum = 0;
	int e;

	e = lb_pread_all(r->fd, hdr, 4, r->file_off);
	if (e == -ENODATA)
		return lb_err(-EBADMSG, "%s: data file truncated after chunk %" PRIu64, r->name,
			      r->next_seq);
	if (e < 0)
		return lb_err(e, "%s: cannot read the data file: %s", r->name, strerror(-e));
	if (memcmp(hdr, "LBIX", 4) == 0) {
		r->eof = true;
		return 0;
	}
	e = dr_input(r, hdr, sizeof(hdr));
	if (e < 0)
		return lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, r->name, r->next_seq);
	j = lb_zalloc(sizeof(*j));
	j->file_off = at;
	j->n_ext = get_le32(hdr + 4);
	j->raw_len = get_le32(hdr + 16);
	j->stored_len = get_le32(hdr + 20);
	j->hash = get_le64(hdr + 24);
	if (memcmp(hdr, "LBCK", 4) != 0 || get_le64(hdr + 8) != r->next_seq ||
	    j->raw_len > r->chunk_size || j->stored_len > ZSTD_compressBound(r->chunk_size) ||
	    j->n_ext > MAX_EXTENTS || (r->kind == LB_CONTAINER_STREAM && j->n_ext) ||
	    (!r->compression && j->stored_len != j->raw_len)) {
		job_free(j);
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64 ") is damaged",
			      r->name, r->next_seq, at);
	}
	if (j->n_ext) {
		j->ext = lb_zalloc(j->n_ext * sizeof(*j->ext));
		for (uint32_t i = 0; i < j->n_ext; i++) {
			uint8_t ext[16];

			e = dr_input(r, ext, sizeof(ext));
			if (e < 0)
				break;
			j->ext[i].off = get_le64(ext);
			j->ext[i].len = get_le64(ext + 8);
			sum += j->ext[i].len;
			if (j->ext[i].off > r->vol_size || j->ext[i].len > r->vol_size - j->ext[i].off)
				e = -ERANGE;
		}
		if (e >= 0 && sum != j->raw_len)
			e = -EBADMSG;
		if (e < 0) {
			job_free(j);
			return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64
					      ") has a damaged extent list",
				      r->name, r->next_seq, at);
		}
	}
	j->stored = malloc(j->stored_len ? j->stored_len : 1);
	if (!j->stored) {
		job_free(j);
		return lb_err(-ENOMEM, "out of memory for a data chunk");
	}
	e = dr_input(r, j->stored, j->stored_len);
	if (e < 0) {
		job_free(j);
		return lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, r->name, r->next_seq);
	}
	r->seen = lb_realloc_array(r->seen, r->n_seen + 1, sizeof(*r->seen));
	r->seen[r->n_seen].file_off = at;
	r->seen[r->n_seen].dev_off = j->n_ext ? j->ext[0].off : r->total_raw;
	r->seen[r->n_seen].raw_len = (uint32_t)j->raw_len;
	r->seen[r->n_seen].stored_len = (uint32_t)j->stored_len;
	r->seen[r->n_seen].hash = j->hash;
	r->n_seen++;
	r->total_raw += j->raw_len;
	r->next_seq++;
	pipeline_push(&r->pl, j);
	return 0;
}

/* The index and trailer must agree with the chunks read. */
static int dr_check_end(struct lb_dr *r)
{
	uint8_t ih[12], tr[TRAILER_SIZE];
	uint64_t index_off = r->file_off;
	int e;

	e = dr_input(r, ih, sizeof(ih));
	if (e < 0 || get_le64(ih + 4) != r->n_seen)
		return lb_err(-EBADMSG, "%s: the chunk index is damaged or truncated", r->name);
	for (size_t i = 0; i < r->n_seen; i++) {
		uint8_t ent[32];

		e = dr_input(r, ent, sizeof(ent));
		if (e < 0 || get_le64(ent) != r->seen[i].file_off ||
		    get_le64(ent + 8) != r->seen[i].dev_off || get_le32(ent + 16) != r->seen[i].raw_len ||
		    get_le32(ent + 20) != r->seen[i].stored_len || get_le64(ent + 24) != r->seen[i].hash)
			return lb_err(-EBADMSG, "%s: the chunk index is damaged at entry %zu", r->name, i);
	}
	e = dr_input(r, tr, sizeof(tr));
	if (e < 0 || memcmp(tr, "LBEND\0\0\0", 8) != 0 || get_le64(tr + 8) != index_off ||
	    get_le64(tr + 16) != r->n_seen || get_le64(tr + 24) != r->total_raw)
		return lb_err(-EBADMSG, "%s: the data file's trailer is damaged or missing", r->name);
	if (r->file_off != r->file_size)
		return lb_err(-EBADMSG, "%s: %" PRIu64 " stray bytes after the trailer", r->name,
			      r->file_size - r->file_off);
	return 0;
}

int lb_dr_next(struct lb_dr *r, struct lb_chunk *ret)
{
	struct job *j;
	int e;

	job_free(r->held);
	r->held = NULL;
	/* keep the workers fed */
	while (!r->eof && !pipeline_full(&r->pl)) {
		e = dr_read_chunk(r);
		if (e < 0)
			return e;
	}
	j = pipeline_pop(&r->pl, true);
	if (!j) {
		if (!r->eof) {
			e = dr_read_chunk(r);
			if (e < 0)
				return e;
			return lb_dr_next(r, ret);
		}
		e = dr_check_end(r);
		return e < 0 ? e : 0;
	}
	if (j->err) {
		uint64_t seq = j->seq, dev = j->n_ext ? j->ext[0].off : 0, fo = j->file_off;

		job_free(j);
		if (r->kind == LB_CONTAINER_IMAGE)
			return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (device offset %" PRIu64
					      ", file offset %" PRIu64 ") fails its checksum",
				      r->name, seq, dev, fo);
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64
				      ") fails its checksum",
			      r->name, seq, fo);
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
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *hex;

	EVP_DigestFinal_ex(r->sha, md, &mdlen);
	hex = lb_hex_encode(md, mdlen);
	memcpy(sha256, hex, 65);
	free(hex);
	return 0;
}

void lb_dr_close(struct lb_dr *r)
{
	if (!r)
		return;
	job_free(r->held);
	if (r->pl.workers)
		pipeline_stop(&r->pl);
	EVP_MD_CTX_free(r->sha);
	free(r->seen);
	free(r->name);
	free(r);
}
