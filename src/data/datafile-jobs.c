// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The data container's chunk buffers and its hashing thread: what the
 * writer, the reader and the checks (datafile-write.c, -read.c, -check.c)
 * build their pipelines from, on the queues of base/queue.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "base/base.h"
#include "data/datafile-int.h"

size_t lb_df_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("LIFEBOAT_THREADS");
	uint32_t t;

	if (env && lb_parse_u32(env, &t) == 0 && t > 0 && t <= 64)
		return t;
	return n < 1 ? 1 : n > 16 ? 16 : (size_t)n;
}

static void job_buffers_free(struct lb_df_job *j)
{
	free(j->raw);
	free(j->cbuf);
	free(j->frame);
	free(j->ext);
	free(j->msg);
}

void lb_df_jobs_done(struct lb_df_jobs *js)
{
	for (size_t i = 0; js->jobs && i < js->n; i++)
		job_buffers_free(&js->jobs[i]);
	free(js->jobs);
	lb_queue_free(js->free);
	memset(js, 0, sizeof(*js));
}

int lb_df_jobs_init(struct lb_df_jobs *js, size_t n, uint32_t chunk_size, bool need_cbuf,
		    bool need_ext)
{
	/* (an encrypted chunk's tag after its bytes) */
	size_t cbound = ZSTD_compressBound(chunk_size) + LB_TAG_LEN;

	memset(js, 0, sizeof(*js));
	js->n = n;
	js->chunk_size = chunk_size;
	js->jobs = lb_zalloc(n * sizeof(*js->jobs));
	js->free = lb_queue_new(n);
	for (size_t i = 0; i < n; i++) {
		struct lb_df_job *j = &js->jobs[i];

		if (posix_memalign((void **)&j->raw, 4096, chunk_size) != 0 ||
		    (need_cbuf && !(j->cbuf = malloc(cbound))) || !(j->frame = malloc(DF_FRAME_MAX)) ||
		    (need_ext && !(j->ext = malloc(DF_MAX_EXTENTS * sizeof(*j->ext))))) {
			lb_df_jobs_done(js);
			return lb_err(-ENOMEM, "out of memory for the data buffers (%zu of %u MiB)", n,
				      chunk_size >> 20);
		}
		/* (never waits: the queue holds them all) */
		lb_queue_push(js->free, j);
	}
	return 0;
}

struct lb_df_job *lb_df_job_get(struct lb_df_jobs *js)
{
	void *j;

	return lb_queue_pop(js->free, &j) > 0 ? j : NULL;
}

struct lb_df_job *lb_df_job_try_get(struct lb_df_jobs *js)
{
	void *j;

	return lb_queue_try_pop(js->free, &j) > 0 ? j : NULL;
}

void lb_df_job_put(struct lb_df_jobs *js, struct lb_df_job *j)
{
	free(j->msg);
	j->msg = NULL;
	j->err = 0;
	j->raw_len = j->stored_len = j->frame_len = 0;
	j->n_ext = 0;
	j->fill = false;
	/* (never waits: there are only so many jobs; after a cancel the job
	 * stays where it is, freed with the others) */
	lb_queue_push(js->free, j);
}

void lb_df_job_fail(struct lb_df_job *j, int err, const char *msg)
{
	if (j->err)
		return;
	j->err = err < 0 ? err : -EIO;
	j->msg = lb_strdup(msg);
}

int lb_df_job_part_done(struct lb_df_job *j, struct lb_queue *done)
{
	if (__atomic_sub_fetch(&j->parts, 1, __ATOMIC_ACQ_REL) != 0)
		return 0;
	return lb_queue_push_seq(done, j->seq, j);
}

int lb_df_hash_main(void *ud, unsigned idx)
{
	struct lb_df_hasher *h = ud;
	void *p;
	int r;

	(void)idx;
	while ((r = lb_queue_pop(h->in, &p)) > 0) {
		struct lb_df_job *j = p;

		EVP_DigestUpdate(h->sha, j->frame, j->frame_len);
		EVP_DigestUpdate(h->sha, j->stored, j->stored_len);
		if (!h->done)
			lb_df_job_put(h->js, j);
		else if ((r = lb_df_job_part_done(j, h->done)) < 0)
			return r;
	}
	return r;
}

EVP_MD_CTX *lb_df_sha_new(void)
{
	EVP_MD_CTX *sha = EVP_MD_CTX_new();

	if (sha && EVP_DigestInit_ex(sha, EVP_sha256(), NULL))
		return sha;
	EVP_MD_CTX_free(sha);
	lb_err(-ENOMEM, "cannot set up SHA-256");
	return NULL;
}

void lb_df_sha_hex(EVP_MD_CTX *sha, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *hex;

	EVP_DigestFinal_ex(sha, md, &mdlen);
	hex = lb_hex_encode(md, mdlen);
	memcpy(out, hex, 65);
	free(hex);
}
