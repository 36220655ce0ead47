// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Checks of a whole data file, each as cheap as what it promises: its
 * header alone; its framing (header, every chunk's frame, index, trailer,
 * size) without the data; its SHA-256 against the manifest's; every chunk
 * decompressed and checked (which names the damaged one).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile-int.h"
#include "data/seqread.h"

int lb_data_read_header(int fd, const char *name, uint32_t *ret_kind, uint64_t *ret_vol_size)
{
	struct lb_df_cursor c = { .fd = fd, .name = name };
	uint8_t hdr[DF_HEADER_SIZE];
	int e;

	lb_df_take_size(&c);
	e = lb_df_read_header(&c, hdr);
	if (e < 0)
		return e;
	*ret_kind = c.kind;
	*ret_vol_size = c.vol_size;
	return 0;
}

/* Every chunk's frame, skipping its stored bytes, up to the index. */
static int walk_frames(struct lb_df_cursor *c)
{
	struct lb_df_job j = { 0 };
	int e = 0;

	j.frame = malloc(DF_FRAME_MAX);
	j.ext = malloc(DF_MAX_EXTENTS * sizeof(*j.ext));
	if (!j.frame || !j.ext)
		e = lb_err(-ENOMEM, "out of memory");
	while (e >= 0 && !c->eof) {
		e = lb_df_read_frame(c, &j);
		if (e < 0 || c->eof)
			break;
		if (j.stored_len > c->file_size - c->file_off) {
			e = lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, c->name,
				   c->next_seq);
			break;
		}
		c->file_off += j.stored_len;
		c->next_seq++;
	}
	free(j.frame);
	free(j.ext);
	return e;
}

/* Checks a data file's whole framing without reading its data: header,
 * every chunk's header and extents, index, trailer, and its size against
 * the manifest's record. What restore does before its first write; the
 * data itself is checked chunk by chunk as it is written. */
int lb_data_check_framing(int fd, const char *name, const struct lb_artifact *a)
{
	struct lb_df_cursor c = { .fd = fd, .name = name };
	uint8_t hdr[DF_HEADER_SIZE];
	int e;

	lb_df_take_size(&c);
	e = lb_df_read_header(&c, hdr);
	if (e >= 0 && a && a->size != c.file_size)
		e = lb_err(-EBADMSG, "%s: the data file has %" PRIu64 " bytes, the manifest says %" PRIu64,
			   name, c.file_size, a->size);
	if (e >= 0 && a && a->encrypted != (c.cipher != 0))
		e = lb_err(-EBADMSG, "%s: %s is %sencrypted, the manifest says it is %s", name, a->file,
			   c.cipher ? "" : "not ", a->encrypted ? "encrypted" : "not");
	if (e < 0)
		return e;
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	e = walk_frames(&c);
	if (e >= 0)
		e = lb_df_check_end(&c, NULL);
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
	lb_df_cursor_done(&c);
	return e;
}

uint64_t lb_data_raw_total(int fd)
{
	uint8_t tr[DF_TRAILER_SIZE];
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < DF_HEADER_SIZE + DF_TRAILER_SIZE ||
	    lb_pread_all(fd, tr, sizeof(tr), (uint64_t)end - DF_TRAILER_SIZE) < 0 ||
	    memcmp(tr, "LBEND\0\0\0", 8) != 0)
		return 0;
	return lb_get_le64(tr + 24);
}

/* The first size bytes of fd into sha, read in chunks (O_DIRECT where it
 * can) on this thread and hashed on another. */
static int hash_file(int fd, const char *name, uint64_t size, EVP_MD_CTX *sha)
{
	struct lb_df_jobs js;
	struct lb_df_hasher h = { .sha = sha, .js = &js };
	struct lb_pool *pool;
	uint64_t off = 0;
	int dfd, e;

	e = lb_df_jobs_init(&js, 4, LB_CHUNK_SIZE, false, false);
	if (e < 0)
		return e;
	h.in = lb_queue_new(js.n);
	pool = lb_pool_new();
	lb_pool_watch(pool, h.in);
	lb_pool_watch(pool, js.free);
	e = lb_pool_start(pool, 1, lb_df_hash_main, &h);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	dfd = lb_direct_reopen(fd);
	while (e >= 0 && off < size) {
		struct lb_df_job *j = lb_df_job_get(&js);
		size_t n = size - off < LB_CHUNK_SIZE ? (size_t)(size - off) : LB_CHUNK_SIZE;
		ssize_t got;

		if (!j) {
			e = lb_err(-ECANCELED, "%s: the hashing thread stopped", name);
			break;
		}
		got = lb_pread_direct(&dfd, fd, j->raw, n, off);
		e = got < 0 ? (int)got : got < (ssize_t)n ? -ENODATA : 0;
		if (e < 0) {
			e = lb_err(e, "%s: cannot read the data file: %s", name,
				   e == -ENODATA ? "it is shorter than recorded" : strerror(-e));
			break;
		}
		j->stored = j->raw;
		j->stored_len = n;
		off += n;
		e = lb_queue_push(h.in, j);
	}
	lb_queue_close(h.in);
	if (lb_pool_wait(pool) < 0 && e >= 0)
		e = -EIO;
	if (dfd >= 0)
		close(dfd);
	lb_pool_free(pool);
	lb_queue_free(h.in);
	lb_df_jobs_done(&js);
	return e;
}

/* The framing (lb_data_check_framing), then the SHA-256 of the whole file
 * against the manifest's: the file read once, sequentially, hashed on
 * another thread as it comes. Cheaper than lb_data_verify_file (nothing is
 * decompressed), and as sure: the chunks' own checksums only serve to
 * name the damage, which lb_data_verify_file is then asked to do. */
int lb_data_check_sum(int fd, const char *name, const struct lb_artifact *a)
{
	EVP_MD_CTX *sha;
	char sum[65];
	int e;

	e = lb_data_check_framing(fd, name, a);
	if (e < 0)
		return e;
	sha = lb_df_sha_new();
	if (!sha)
		return -ENOMEM;
	e = hash_file(fd, name, a->size, sha);
	lb_df_sha_hex(sha, sum);
	EVP_MD_CTX_free(sha);
	if (e >= 0 && strcmp(sum, a->sha256) != 0 && a->encrypted && !a->rt_key)
		e = lb_err(-EBADMSG, "%s: the encrypted data file %s does not match its SHA-256 in the "
				     "manifest: it was damaged or tampered with",
			   name, a->file);
	else if (e >= 0 && strcmp(sum, a->sha256) != 0) {
		/* which chunk, if a chunk it is */
		e = lb_data_verify_file(fd, name, a, NULL);
		if (e >= 0)
			e = lb_err(-EBADMSG, "%s: the data file does not match its SHA-256", name);
	}
	return e;
}

int lb_data_verify_file(int data_fd, const char *name, const struct lb_artifact *a,
			uint64_t *ret_bytes)
{
	struct lb_dr *r = NULL;
	struct lb_chunk ch;
	struct stat st;
	char sum[65];
	uint64_t done = 0;
	int e;

	if (ret_bytes)
		*ret_bytes = 0;
	if (a && fstat(data_fd, &st) == 0 && (uint64_t)st.st_size != a->size)
		return lb_err(-EBADMSG, "%s: the data file has %" PRIu64 " bytes, the manifest says "
				     "%" PRIu64, name, (uint64_t)st.st_size, a->size);
	e = lb_dr_open_artifact(data_fd, name, a, &r);
	if (e < 0)
		return e;
	while ((e = lb_dr_next(r, &ch)) > 0)
		done += ch.len;
	if (e == 0) {
		lb_dr_finish(r, sum);
		if (a && strcmp(sum, a->sha256) != 0)
			e = lb_err(-EBADMSG, "%s: every chunk is sound but the file does not match its "
					     "SHA-256 in the manifest",
				   name);
	}
	lb_dr_close(r);
	if (ret_bytes)
		*ret_bytes = done;
	return e;
}
