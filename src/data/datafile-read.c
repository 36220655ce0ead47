// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Reading a data file front to back (datafile-format.c has the layout).
 * The caller's thread reads the framing and the stored bytes from the
 * read-ahead thread (seqread.c) into chunk buffers; then, one lb_pool:
 *
 *   caller --todo--> workers (decrypt, decompress, XXH3, the sink: a restore's
 *                    device writes)         \
 *          --hashq--> hasher (SHA-256)       +-- both finished --> done
 *                                           /    (ordered) --> caller
 *
 * and lb_dr_next hands the chunks out in sequence. A chunk that fails its
 * check is reported in its turn, named.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/datafile-int.h"
#include "data/seqread.h"

struct lb_dr {
	struct lb_df_cursor c;
	char *name;
	bool ended;		/* lb_dr_next returned 0: the end is checked */
	bool started;
	struct lb_df_jobs js;
	struct lb_pool *pool;
	struct lb_queue *todo, *hashq, *done;
	struct lb_df_hasher hasher;
	uint64_t next_out;	/* the sequence number handed out next */
	ZSTD_DCtx **dctx;	/* one per worker */
	size_t n_dctx;
	lb_chunk_sink_fn sink;	/* called by the workers with each sound chunk */
	void *sink_ud;
	EVP_MD_CTX *sha;
	struct lb_df_job *held;	/* handed out by lb_dr_next */
	struct lb_df_crypt *crypt;	/* an encrypted file's key */
	uint8_t **scratch;	/* per worker: a chunk decrypted, compressed */
	char *file;		/* its name in the capture */
};

/* An encrypted chunk: its XXH3 (of what is stored: names damage as a
 * plain file's does), then its authentication; decrypted into raw when it
 * was stored plain, else into the worker's own buffer for zstd. (What is
 * stored is left as it is: the hashing thread reads it meanwhile.) */
static int open_job(struct lb_dr *r, struct lb_df_job *j, unsigned worker, const uint8_t **src,
		    size_t *src_len)
{
	size_t n = j->stored_len - LB_TAG_LEN;
	uint8_t *out = n == j->raw_len ? j->raw : r->scratch[worker];
	char msg[256];

	if (XXH3_64bits(j->stored, j->stored_len) != j->hash)
		return -EBADMSG;
	if (lb_df_chunk_open(r->crypt, j, out) < 0) {
		snprintf(msg, sizeof(msg), "%s fails its authentication (AES-256-GCM): the encrypted "
			 "data file was damaged or tampered with", r->file);
		lb_df_job_fail(j, -EBADMSG, msg);
		return -EBADMSG;
	}
	*src = out;
	*src_len = n;
	return 0;
}

static void decompress_job(struct lb_dr *r, struct lb_df_job *j, unsigned worker)
{
	const uint8_t *src = j->stored;
	size_t src_len = j->stored_len;
	struct lb_chunk ch;
	int e;

	if (r->crypt && open_job(r, j, worker, &src, &src_len) < 0) {
		j->err = -EBADMSG;
		return;
	}
	if (src != j->raw) {
		size_t n = ZSTD_decompressDCtx(r->dctx[worker], j->raw, r->c.chunk_size, src, src_len);

		if (ZSTD_isError(n) || n != j->raw_len) {
			j->err = -EBADMSG;
			return;
		}
	}
	if (!r->crypt && XXH3_64bits(j->raw, j->raw_len) != j->hash) {
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
		lb_df_job_fail(j, e, lb_errmsg());
}

static int decompress_main(void *ud, unsigned idx)
{
	struct lb_dr *r = ud;
	void *p;
	int e;

	while ((e = lb_queue_pop(r->todo, &p)) > 0) {
		decompress_job(r, p, idx);
		e = lb_df_job_part_done(p, r->done);
		if (e < 0)
			return e;
	}
	return e;
}

int lb_dr_open(int fd, const char *name, struct lb_dr **ret)
{
	struct lb_dr *r = lb_zalloc(sizeof(*r));
	uint8_t hdr[DF_HEADER_SIZE];
	int e;

	r->name = lb_strdup(name);
	r->c.fd = fd;
	r->c.name = r->name;
	r->sha = lb_df_sha_new();
	if (!r->sha) {
		e = -ENOMEM;
		goto fail;
	}
	/* everything, the header too, from the read-ahead thread; buffered,
	 * should it come to that, in big steps */
	lb_df_take_size(&r->c);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	e = lb_seq_open(fd, r->c.file_size, &r->c.seq);
	if (e >= 0)
		e = lb_df_read_header(&r->c, hdr);
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
	return r->c.kind;
}

uint64_t lb_dr_volume_size(const struct lb_dr *r)
{
	return r->c.vol_size;
}

int lb_dr_open_artifact(int fd, const char *name, const struct lb_artifact *a, struct lb_dr **ret)
{
	struct lb_dr *r = NULL;
	int e;

	e = lb_dr_open(fd, name, &r);
	if (e >= 0 && a && a->encrypted != (r->c.cipher != 0))
		e = lb_err(-EBADMSG, "%s: %s is %sencrypted, the manifest says it is %s", name, a->file,
			   r->c.cipher ? "" : "not ", a->encrypted ? "encrypted" : "not");
	if (e >= 0 && a)
		e = lb_dr_set_key(r, a->rt_key, a->file);
	if (e < 0) {
		lb_dr_close(r);
		return e;
	}
	*ret = r;
	return 0;
}

bool lb_dr_encrypted(const struct lb_dr *r)
{
	return r->c.cipher != 0;
}

int lb_dr_set_key(struct lb_dr *r, const struct lb_key *key, const char *file)
{
	int e;

	if (!r->c.cipher || !key)
		return 0;
	free(r->file);
	r->file = lb_strdup(file);
	if (!r->crypt)
		r->crypt = lb_zalloc(sizeof(*r->crypt));
	e = lb_df_crypt_init(r->crypt, key, r->file, r->c.hdr);
	if (e < 0)
		return e;
	r->c.crypt = r->crypt;
	return 0;
}

void lb_dr_set_sink(struct lb_dr *r, lb_chunk_sink_fn fn, void *ud)
{
	r->sink = fn;
	r->sink_ud = ud;
}

static void dr_stop(struct lb_dr *r)
{
	lb_pool_free(r->pool);
	r->pool = NULL;
	lb_queue_free(r->todo);
	lb_queue_free(r->hashq);
	lb_queue_free(r->done);
	r->todo = r->hashq = r->done = NULL;
	lb_df_jobs_done(&r->js);
	for (size_t i = 0; i < r->n_dctx; i++) {
		ZSTD_freeDCtx(r->dctx[i]);
		if (r->scratch)
			free(r->scratch[i]);
	}
	free(r->scratch);
	r->scratch = NULL;
	free(r->dctx);
	r->dctx = NULL;
	r->n_dctx = 0;
}

/* The workers start with the first chunk, once the sink is known. */
static int dr_start(struct lb_dr *r)
{
	size_t n = lb_df_threads(), n_jobs;
	int e;

	if (r->c.cipher && !r->crypt)
		return lb_err(-ENOKEY, "%s: the data file is encrypted and no key was given for it "
				       "(--key-file)",
			      r->name);
	/* plain chunks are I/O, not CPU: a few more writes in flight */
	if (!r->c.compression && r->sink && n < 4)
		n = 4;
	n_jobs = n * 2 + 2 < 4 ? 4 : n * 2 + 2;
	r->dctx = lb_zalloc(n * sizeof(*r->dctx));
	if (r->crypt && r->c.compression)
		r->scratch = lb_zalloc(n * sizeof(*r->scratch));
	for (r->n_dctx = 0; r->n_dctx < n; r->n_dctx++)
		if (!(r->dctx[r->n_dctx] = ZSTD_createDCtx()) ||
		    (r->scratch && !(r->scratch[r->n_dctx] =
					     malloc(ZSTD_compressBound(r->c.chunk_size))))) {
			e = lb_err(-ENOMEM, "cannot set up zstd");
			r->n_dctx++;
			goto fail;
		}
	e = lb_df_jobs_init(&r->js, n_jobs, r->c.chunk_size, r->c.compression != 0 || r->c.cipher,
			    r->c.kind == LB_CONTAINER_IMAGE);
	if (e < 0)
		goto fail;
	r->todo = lb_queue_new(n_jobs);
	r->hashq = lb_queue_new(n_jobs);
	r->done = lb_queue_new_ordered(n_jobs);
	r->hasher = (struct lb_df_hasher){ .in = r->hashq, .sha = r->sha, .done = r->done };
	r->pool = lb_pool_new();
	lb_pool_watch(r->pool, r->todo);
	lb_pool_watch(r->pool, r->hashq);
	lb_pool_watch(r->pool, r->done);
	lb_pool_watch(r->pool, r->js.free);
	if (lb_pool_start(r->pool, n, decompress_main, r) < 0 ||
	    lb_pool_start(r->pool, 1, lb_df_hash_main, &r->hasher) < 0) {
		e = lb_err(-EAGAIN, "cannot start worker threads");
		goto fail;
	}
	/* (only once started may the pipeline be used) */
	r->started = true;
	return 0;
fail:
	/* as before the call: it may be tried again */
	dr_stop(r);
	return e;
}

/* A queue refused (e): the pool's error, or said here when it has none. */
static int dr_stopped(struct lb_dr *r, int e)
{
	int pe = lb_pool_error(r->pool);

	return pe < 0 ? pe : lb_err(e, "%s: the data file's reader stopped", r->name);
}

/* Reads the next chunk into a job for the workers and the hashing thread. */
static int dr_read_chunk(struct lb_dr *r, struct lb_df_job *j)
{
	int e;

	e = lb_df_read_frame(&r->c, j);
	if (e < 0 || r->c.eof) {
		lb_df_job_put(&r->js, j);
		return e;
	}
	/* stored plain: straight into the aligned buffer it is used from
	 * (encrypted: into cbuf, decrypted from there) */
	j->stored = j->stored_len == j->raw_len && !r->c.cipher ? j->raw : j->cbuf;
	if (j->stored == j->cbuf && !j->cbuf) {
		lb_df_job_put(&r->js, j);
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " is compressed in an uncompressed file",
			      r->name, r->c.next_seq);
	}
	e = lb_df_read(&r->c, (void *)j->stored, j->stored_len);
	if (e < 0) {
		lb_df_job_put(&r->js, j);
		return lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, r->name,
			      r->c.next_seq);
	}
	j->seq = r->c.next_seq++;
	j->parts = 2;
	e = lb_queue_push(r->todo, j);
	if (e >= 0)
		e = lb_queue_push(r->hashq, j);
	return e < 0 ? dr_stopped(r, e) : 0;
}

/* A chunk that failed its check or its sink, named. */
static int dr_chunk_error(struct lb_dr *r, struct lb_df_job *j)
{
	uint64_t seq = j->seq, dev = j->n_ext ? j->ext[0].off : 0, fo = j->file_off;

	if (j->msg)
		return lb_err(j->err, "%s: chunk %" PRIu64 ": %s", r->name, seq, j->msg);
	if (r->c.cipher)
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64 ") of %s fails "
					"its checksum: the encrypted data file was damaged or tampered with",
			      r->name, seq, fo, r->file ? r->file : "the data file");
	if (r->c.kind == LB_CONTAINER_IMAGE)
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (device offset %" PRIu64
					", file offset %" PRIu64 ") fails its checksum",
			      r->name, seq, dev, fo);
	return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64 ") fails its checksum",
		      r->name, seq, fo);
}

/* The next chunk in sequence, once the workers and the hasher are done
 * with it: 1 and the job, 0 at the end (index and trailer checked). */
static int dr_next_job(struct lb_dr *r, struct lb_df_job **ret)
{
	struct lb_df_job *j;
	void *p;
	int e;

	/* keep the workers fed while there are buffers */
	while (!r->c.eof && (j = lb_df_job_try_get(&r->js))) {
		e = dr_read_chunk(r, j);
		if (e < 0)
			return e;
	}
	/* (only this thread submits and takes: nothing is in flight once
	 * every number read has been handed out) */
	if (r->c.eof && r->next_out == r->c.next_seq) {
		e = lb_df_check_end(&r->c, r->sha);
		return e < 0 ? e : 0;
	}
	e = lb_queue_pop(r->done, &p);
	if (e <= 0)
		return dr_stopped(r, e < 0 ? e : -ECANCELED);
	r->next_out++;
	*ret = p;
	return 1;
}

int lb_dr_next(struct lb_dr *r, struct lb_chunk *ret)
{
	struct lb_df_job *j = NULL;
	int e;

	if (r->ended)
		return 0;
	if (!r->started) {
		e = dr_start(r);
		if (e < 0)
			return e;
	}
	if (r->held) {
		lb_df_job_put(&r->js, r->held);
		r->held = NULL;
	}
	e = dr_next_job(r, &j);
	if (e <= 0) {
		r->ended = e == 0;
		return e;
	}
	if (j->err) {
		e = dr_chunk_error(r, j);
		lb_df_job_put(&r->js, j);
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
	lb_df_sha_hex(r->sha, sha256);
	return 0;
}

void lb_dr_close(struct lb_dr *r)
{
	if (!r)
		return;
	dr_stop(r);
	lb_seq_close(r->c.seq);
	lb_df_cursor_done(&r->c);
	EVP_MD_CTX_free(r->sha);
	if (r->crypt)
		lb_df_crypt_wipe(r->crypt);
	free(r->crypt);
	free(r->file);
	free(r->name);
	free(r);
}
