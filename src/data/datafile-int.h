/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The data container's insides, shared by its files and by nothing else:
 *   datafile-format.c  the layout: header, chunk frames, index, trailer
 *                      (encoding, and reading the framing front to back)
 *   datafile-jobs.c    the chunk buffers, the hashing thread
 *   datafile-write.c   lb_dw_*: the writer
 *   datafile-read.c    lb_dr_*: the reader
 *   datafile-check.c   checks of a whole file (framing, SHA-256, every chunk)
 *   datafile-crypt.c   an encrypted file's chunks and end tag
 *
 * The work is a pipeline over a fixed pool of chunk buffers (page-aligned,
 * so device reads and writes can bypass the page cache; the pool is the
 * bound on memory), built from the queues of base/queue.h. Writing: the
 * caller names extents (or appends bytes) into a buffer taken from the
 * pool; workers, one per core, read the extents from the device, hash and
 * compress; one thread takes the chunks in sequence (an ordered queue) and
 * writes them, and another takes the file's SHA-256 behind it and gives the
 * buffer back. Reading: the caller's thread takes the file from a
 * read-ahead thread (seqread.c: O_DIRECT, no page cache to fill); workers
 * decompress and check each chunk (and, for a restore, write it to the
 * device: extents never overlap, so order does not matter there) while the
 * hashing thread takes the SHA-256; a chunk both have finished goes into
 * the ordered queue, and the caller hands them out in sequence.
 */
#ifndef LIFEBOAT_DATA_DATAFILE_INT_H
#define LIFEBOAT_DATA_DATAFILE_INT_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/base.h"
#include "data/datafile.h"

#define DF_HEADER_SIZE 64
#define DF_CHUNK_HDR 32
#define DF_TRAILER_SIZE 32
#define DF_INDEX_HDR 12
#define DF_INDEX_ENTRY 32
#define DF_MAX_EXTENTS 4096
#define DF_FRAME_MAX (DF_CHUNK_HDR + 16 * DF_MAX_EXTENTS)

static inline void lb_put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void lb_put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static inline uint32_t lb_get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline uint64_t lb_get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* ---- chunk buffers and the hashing thread (datafile-jobs.c) ------------ */

/* One chunk on its way through the pipeline. */
struct lb_df_job {
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
	unsigned parts;		/* reading: stages still to finish (atomic) */
};

/* The pool of buffers: every job, and the queue of the free ones. */
struct lb_df_jobs {
	struct lb_df_job *jobs;
	size_t n;
	uint32_t chunk_size;
	struct lb_queue *free;
};

/* Threads for the work of n chunks at once: LIFEBOAT_THREADS, or a worker
 * per core (at most 16). */
size_t lb_df_threads(void);
/* n jobs of chunk_size, all free; their memory taken here, once: a job
 * that cannot get its memory fails now, not halfway. */
int lb_df_jobs_init(struct lb_df_jobs *js, size_t n, uint32_t chunk_size, bool need_cbuf,
		    bool need_ext);
void lb_df_jobs_done(struct lb_df_jobs *js);
/* A free job; waits while every job is in flight (memory stays bounded).
 * NULL once the free queue is cancelled. */
struct lb_df_job *lb_df_job_get(struct lb_df_jobs *js);
/* Without waiting: NULL when none is free. */
struct lb_df_job *lb_df_job_try_get(struct lb_df_jobs *js);
/* Back to the pool, emptied. */
void lb_df_job_put(struct lb_df_jobs *js, struct lb_df_job *j);
/* Where a job's failure message is kept: lb_errmsg() is per thread. */
void lb_df_job_fail(struct lb_df_job *j, int err, const char *msg);
/* Reading: one of the job's stages is finished; the last one hands it on
 * to done, in sequence. */
int lb_df_job_part_done(struct lb_df_job *j, struct lb_queue *done);

/* The hashing thread (lb_pool_start with lb_df_hash_main): takes jobs from
 * in, in order, into sha (frame, then stored bytes); then gives each back
 * to js or, when done is set, marks its part finished there. */
struct lb_df_hasher {
	struct lb_queue *in;
	EVP_MD_CTX *sha;
	struct lb_df_jobs *js;
	struct lb_queue *done;
};
int lb_df_hash_main(void *ud, unsigned idx);

EVP_MD_CTX *lb_df_sha_new(void);
void lb_df_sha_hex(EVP_MD_CTX *sha, char out[65]);

/* ---- the layout (datafile-format.c) ------------------------------------- */

#define DF_CIPHER_AES256GCM 1
/* header: the cipher (0: none) at 36, the file's random bytes at 40 */
#define DF_HDR_CIPHER 36
#define DF_HDR_RAND 40

/* An encrypted data file's own key, and its header (part of every chunk's
 * additional data). */
struct lb_df_crypt {
	uint8_t key[LB_KEY_LEN];
	uint8_t hdr[DF_HEADER_SIZE];
	const char *file;	/* for messages: the file's name in the capture */
};

/* rand: the file's random bytes when it is encrypted (version 2), else
 * NULL (version 1). */
void lb_df_header_encode(uint8_t hdr[DF_HEADER_SIZE], uint32_t kind, uint64_t vol_size,
			 uint32_t chunk_size, bool compressed, uint32_t block_size,
			 const uint8_t *rand);
/* The file key for the header hdr, named file in the capture. */
int lb_df_crypt_init(struct lb_df_crypt *cr, const struct lb_key *key, const char *file,
		     const uint8_t hdr[DF_HEADER_SIZE]);
void lb_df_crypt_wipe(struct lb_df_crypt *cr);
/* Encrypts in (n bytes: j->raw or j->cbuf) into j->cbuf with its tag, bound
 * to the header, the chunk's sequence number and its frame; j->stored,
 * stored_len and hash (XXH3 of what is stored) set. */
int lb_df_chunk_seal(const struct lb_df_crypt *cr, struct lb_df_job *j, const uint8_t *in,
		     size_t n);
/* The other way, j->frame as read: j->stored (stored_len - tag bytes) into
 * out (may be j->stored); -EBADMSG when it fails its authentication. */
int lb_df_chunk_open(const struct lb_df_crypt *cr, const struct lb_df_job *j, uint8_t *out);
/* The end tag: n chunks of total bytes, no more, no fewer. */
int lb_df_end_tag(const struct lb_df_crypt *cr, uint64_t n, uint64_t total,
		  uint8_t tag[LB_TAG_LEN]);
/* j's frame (chunk header and extents) from its fields. */
void lb_df_frame_encode(struct lb_df_job *j);

/* What the index records of a chunk. */
struct lb_df_index_entry {
	uint64_t file_off;
	uint64_t dev_off;
	uint32_t raw_len;
	uint32_t stored_len;
	uint64_t hash;
};
void lb_df_index_entry_encode(uint8_t e[DF_INDEX_ENTRY], const struct lb_df_index_entry *ie);
void lb_df_trailer_encode(uint8_t tr[DF_TRAILER_SIZE], uint64_t index_off, uint64_t n_chunks,
			  uint64_t total_raw);

/* Reading a data file's framing front to back, from seq when it is set,
 * else from fd with pread. */
struct lb_df_cursor {
	int fd;
	const char *name;	/* for messages: the volume */
	struct lb_seq *seq;
	uint32_t kind;
	uint64_t vol_size;
	uint32_t chunk_size;
	uint32_t compression;
	uint32_t cipher;	/* 0, or DF_CIPHER_* */
	uint8_t hdr[DF_HEADER_SIZE];
	const struct lb_df_crypt *crypt;	/* its key, when known: checks the end tag */
	uint64_t file_off;
	uint64_t file_size;
	uint64_t next_seq;
	uint64_t total_raw;
	bool eof;		/* the index was reached */
	struct lb_df_index_entry *seen;
	size_t n_seen;
};

/* The file's size, taken once: everything after is checked against it. */
void lb_df_take_size(struct lb_df_cursor *c);
int lb_df_read(struct lb_df_cursor *c, void *buf, size_t len);
int lb_df_read_header(struct lb_df_cursor *c, uint8_t hdr[DF_HEADER_SIZE]);
/* The framing of the chunk at c->file_off into j (header and extents;
 * j->frame holds them as read); c->eof set at the index. Damage in the
 * framing is an error here. */
int lb_df_read_frame(struct lb_df_cursor *c, struct lb_df_job *j);
/* The index and trailer must agree with the chunks read (and an encrypted
 * file's end tag, when its key is known); hashed when sha. */
int lb_df_check_end(struct lb_df_cursor *c, EVP_MD_CTX *sha);
void lb_df_cursor_done(struct lb_df_cursor *c);

#endif
