// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The data container: how a volume's data travels in a capture. One file per
 * volume, written and read as a stream (no temporary copies, bounded memory),
 * cut into chunks that are compressed (libzstd) and checked (XXH3 of the
 * data) each on its own, so damage is found and named: volume, chunk, device
 * offset. The whole file's SHA-256 goes into the manifest.
 *
 *   header   64 bytes: "LBDATA1\n", version, kind (image|stream), volume
 *            size, chunk size, compression, block size; version 2 (an
 *            encrypted file): the cipher, the file's 16 random bytes
 *   chunk*   "LBCK", extent count, sequence number, data length, stored
 *            length, XXH3-64 of the data, extents (device offset, length)
 *            for images, then the stored (compressed or plain) bytes
 *   index    "LBIX", chunk count, per chunk: file offset, first device
 *            offset, data length, stored length, XXH3-64; encrypted: the
 *            end tag (16 bytes)
 *   trailer  32 bytes: "LBEND\0\0\0", index offset, chunk count, data bytes
 *
 * An encrypted file (datafile-crypt.c) stores each chunk's compressed (or
 * plain) bytes encrypted with AES-256-GCM and its tag after them; its
 * XXH3-64 is of what is stored, so a check without the key still names a
 * damaged chunk. The framing stays readable: it is the layout, not data.
 *
 * All numbers little-endian. This file writes each part into memory and
 * reads the framing (everything but the chunks' stored bytes) back,
 * checking it as it goes; datafile-int.h says who does the rest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <zstd.h>

#include "base/base.h"
#include "data/datafile-int.h"
#include "data/seqread.h"

void lb_df_header_encode(uint8_t hdr[DF_HEADER_SIZE], uint32_t kind, uint64_t vol_size,
			 uint32_t chunk_size, bool compressed, uint32_t block_size,
			 const uint8_t *rand)
{
	memset(hdr, 0, DF_HEADER_SIZE);
	memcpy(hdr, "LBDATA1\n", 8);
	lb_put_le32(hdr + 8, rand ? 2 : 1);
	if (rand) {
		lb_put_le32(hdr + DF_HDR_CIPHER, DF_CIPHER_AES256GCM);
		memcpy(hdr + DF_HDR_RAND, rand, LB_FILE_RAND_LEN);
	}
	lb_put_le32(hdr + 12, kind);
	lb_put_le64(hdr + 16, vol_size);
	lb_put_le32(hdr + 24, chunk_size);
	lb_put_le32(hdr + 28, compressed ? 1 : 0);
	lb_put_le32(hdr + 32, block_size);
}

void lb_df_frame_encode(struct lb_df_job *j)
{
	uint8_t *h = j->frame;

	memcpy(h, "LBCK", 4);
	lb_put_le32(h + 4, j->n_ext);
	lb_put_le64(h + 8, j->seq);
	lb_put_le32(h + 16, (uint32_t)j->raw_len);
	lb_put_le32(h + 20, (uint32_t)j->stored_len);
	lb_put_le64(h + 24, j->hash);
	for (uint32_t i = 0; i < j->n_ext; i++) {
		lb_put_le64(h + DF_CHUNK_HDR + 16 * i, j->ext[i].off);
		lb_put_le64(h + DF_CHUNK_HDR + 16 * i + 8, j->ext[i].len);
	}
	j->frame_len = DF_CHUNK_HDR + 16 * (size_t)j->n_ext;
}

void lb_df_index_entry_encode(uint8_t e[DF_INDEX_ENTRY], const struct lb_df_index_entry *ie)
{
	lb_put_le64(e, ie->file_off);
	lb_put_le64(e + 8, ie->dev_off);
	lb_put_le32(e + 16, ie->raw_len);
	lb_put_le32(e + 20, ie->stored_len);
	lb_put_le64(e + 24, ie->hash);
}

void lb_df_trailer_encode(uint8_t tr[DF_TRAILER_SIZE], uint64_t index_off, uint64_t n_chunks,
			  uint64_t total_raw)
{
	memset(tr, 0, DF_TRAILER_SIZE);
	memcpy(tr, "LBEND\0\0\0", 8);
	lb_put_le64(tr + 8, index_off);
	lb_put_le64(tr + 16, n_chunks);
	lb_put_le64(tr + 24, total_raw);
}

/* ---- reading the framing ------------------------------------------------- */

void lb_df_take_size(struct lb_df_cursor *c)
{
	off_t end = lseek(c->fd, 0, SEEK_END);

	c->file_size = end < 0 ? 0 : (uint64_t)end;
}

int lb_df_read(struct lb_df_cursor *c, void *buf, size_t len)
{
	int e = c->seq ? lb_seq_read(c->seq, buf, len) : lb_pread_all(c->fd, buf, len, c->file_off);

	if (e < 0)
		return e;
	c->file_off += len;
	return 0;
}

int lb_df_read_header(struct lb_df_cursor *c, uint8_t hdr[DF_HEADER_SIZE])
{
	uint32_t version;

	if (lb_df_read(c, hdr, DF_HEADER_SIZE) < 0 || memcmp(hdr, "LBDATA1\n", 8) != 0 ||
	    ((version = lb_get_le32(hdr + 8)) != 1 && version != 2))
		return lb_err(-EBADMSG, "%s: not a lifeboat data file (bad header)", c->name);
	memcpy(c->hdr, hdr, DF_HEADER_SIZE);
	c->cipher = lb_get_le32(hdr + DF_HDR_CIPHER);
	/* version 1: nothing after the block size; 2: a cipher, the random
	 * bytes, then nothing */
	if ((version == 1 && !lb_is_zero(hdr + DF_HDR_CIPHER, DF_HEADER_SIZE - DF_HDR_CIPHER)) ||
	    (version == 2 && (c->cipher != DF_CIPHER_AES256GCM ||
			      !lb_is_zero(hdr + DF_HDR_RAND + LB_FILE_RAND_LEN,
					  DF_HEADER_SIZE - DF_HDR_RAND - LB_FILE_RAND_LEN))))
		return lb_err(-EBADMSG, "%s: data file header is damaged", c->name);
	c->kind = lb_get_le32(hdr + 12);
	c->vol_size = lb_get_le64(hdr + 16);
	c->chunk_size = lb_get_le32(hdr + 24);
	c->compression = lb_get_le32(hdr + 28);
	/* chunks no larger than the writer makes: every buffer of the pipeline
	 * is a chunk, so a bigger one is memory asked for (64 MiB chunks took
	 * 2.2 GB from a 140 KB file) */
	if ((c->kind != LB_CONTAINER_IMAGE && c->kind != LB_CONTAINER_STREAM) || c->chunk_size == 0 ||
	    c->chunk_size > LB_CHUNK_SIZE || c->compression > 1)
		return lb_err(-EBADMSG, "%s: data file header is damaged", c->name);
	return 0;
}

/* The chunk header's fields, checked against the file's header. */
static int frame_fields(struct lb_df_cursor *c, struct lb_df_job *j, uint64_t at)
{
	const uint8_t *h = j->frame;
	/* encrypted: the stored bytes end in the tag */
	size_t tag = c->cipher ? LB_TAG_LEN : 0, plain;

	j->file_off = at;
	j->n_ext = lb_get_le32(h + 4);
	j->raw_len = lb_get_le32(h + 16);
	j->stored_len = lb_get_le32(h + 20);
	j->hash = lb_get_le64(h + 24);
	plain = j->stored_len - tag;
	if (memcmp(h, "LBCK", 4) != 0 || lb_get_le64(h + 8) != c->next_seq ||
	    j->raw_len > c->chunk_size || j->stored_len < tag ||
	    plain > ZSTD_compressBound(c->chunk_size) || j->n_ext > DF_MAX_EXTENTS ||
	    (c->kind == LB_CONTAINER_STREAM && j->n_ext) ||
	    (c->kind == LB_CONTAINER_IMAGE && !j->n_ext) || (!c->compression && plain != j->raw_len))
		return lb_err(-EBADMSG, "%s: chunk %" PRIu64 " (file offset %" PRIu64 ") is damaged",
			      c->name, c->next_seq, at);
	return 0;
}

/* The extents: within the volume, adding up to the data length. */
static int frame_extents(struct lb_df_cursor *c, struct lb_df_job *j, uint64_t at)
{
	const uint8_t *h = j->frame;
	uint64_t sum = 0;
	int e;

	e = lb_df_read(c, j->frame + DF_CHUNK_HDR, 16 * (size_t)j->n_ext);
	for (uint32_t i = 0; e >= 0 && i < j->n_ext; i++) {
		j->ext[i].off = lb_get_le64(h + DF_CHUNK_HDR + 16 * i);
		j->ext[i].len = lb_get_le64(h + DF_CHUNK_HDR + 16 * i + 8);
		if (j->ext[i].off > c->vol_size || j->ext[i].len > c->vol_size - j->ext[i].off)
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
			      c->name, c->next_seq, at);
	return 0;
}

int lb_df_read_frame(struct lb_df_cursor *c, struct lb_df_job *j)
{
	uint64_t at = c->file_off;
	struct lb_df_index_entry *s;
	int e;

	e = lb_df_read(c, j->frame, 4);
	if (e == -ENODATA)
		return lb_err(-EBADMSG, "%s: data file truncated after chunk %" PRIu64, c->name,
			      c->next_seq);
	if (e < 0)
		return lb_err(e, "%s: cannot read the data file: %s", c->name, strerror(-e));
	/* (the index's magic is read: lb_df_check_end reads the rest) */
	if (memcmp(j->frame, "LBIX", 4) == 0) {
		c->eof = true;
		return 0;
	}
	e = lb_df_read(c, j->frame + 4, DF_CHUNK_HDR - 4);
	if (e < 0)
		return lb_err(-EBADMSG, "%s: data file truncated in chunk %" PRIu64, c->name,
			      c->next_seq);
	e = frame_fields(c, j, at);
	if (e >= 0)
		e = frame_extents(c, j, at);
	if (e < 0)
		return e;
	j->frame_len = DF_CHUNK_HDR + 16 * (size_t)j->n_ext;
	if (c->n_seen % 1024 == 0)
		c->seen = lb_realloc_array(c->seen, c->n_seen + 1024, sizeof(*c->seen));
	s = &c->seen[c->n_seen++];
	s->file_off = at;
	s->dev_off = j->n_ext ? j->ext[0].off : c->total_raw;
	s->raw_len = (uint32_t)j->raw_len;
	s->stored_len = (uint32_t)j->stored_len;
	s->hash = j->hash;
	c->total_raw += j->raw_len;
	return 0;
}

int lb_df_check_end(struct lb_df_cursor *c, EVP_MD_CTX *sha)
{
	uint8_t ih[DF_INDEX_HDR] = "LBIX", tr[DF_TRAILER_SIZE], tag[LB_TAG_LEN], end_tag[LB_TAG_LEN];
	_cleanup_free_ uint8_t *ix = NULL;
	uint64_t index_off = c->file_off - 4;
	int e;

	e = lb_df_read(c, ih + 4, sizeof(ih) - 4);
	if (e < 0 || lb_get_le64(ih + 4) != c->n_seen)
		return lb_err(-EBADMSG, "%s: the chunk index is damaged or truncated", c->name);
	if (c->file_size < c->file_off || (c->file_size - c->file_off) / DF_INDEX_ENTRY < c->n_seen)
		return lb_err(-EBADMSG, "%s: the chunk index is truncated", c->name);
	ix = lb_zalloc(c->n_seen * DF_INDEX_ENTRY + 1);
	e = lb_df_read(c, ix, c->n_seen * DF_INDEX_ENTRY);
	if (e >= 0 && c->cipher)
		e = lb_df_read(c, tag, sizeof(tag));
	if (e < 0)
		return lb_err(-EBADMSG, "%s: the chunk index is truncated", c->name);
	for (size_t i = 0; i < c->n_seen; i++) {
		uint8_t want[DF_INDEX_ENTRY];

		lb_df_index_entry_encode(want, &c->seen[i]);
		if (memcmp(ix + DF_INDEX_ENTRY * i, want, DF_INDEX_ENTRY) != 0)
			return lb_err(-EBADMSG, "%s: the chunk index is damaged at entry %zu", c->name, i);
	}
	e = lb_df_read(c, tr, sizeof(tr));
	if (e < 0 || memcmp(tr, "LBEND\0\0\0", 8) != 0 || lb_get_le64(tr + 8) != index_off ||
	    lb_get_le64(tr + 16) != c->n_seen || lb_get_le64(tr + 24) != c->total_raw)
		return lb_err(-EBADMSG, "%s: the data file's trailer is damaged or missing", c->name);
	if (c->file_off != c->file_size)
		return lb_err(-EBADMSG, "%s: %" PRIu64 " stray bytes after the trailer", c->name,
			      c->file_size - c->file_off);
	/* no chunk dropped from the end, none added: the tag says how many */
	if (c->crypt && (lb_df_end_tag(c->crypt, c->n_seen, c->total_raw, end_tag) < 0 ||
			 CRYPTO_memcmp(tag, end_tag, sizeof(tag)) != 0))
		return lb_err(-EBADMSG, "%s: the end of %s fails its authentication: the encrypted "
					"data file was damaged, cut short or tampered with",
			      c->name, c->crypt->file);
	if (sha) {
		EVP_DigestUpdate(sha, ih, sizeof(ih));
		EVP_DigestUpdate(sha, ix, c->n_seen * DF_INDEX_ENTRY);
		if (c->cipher)
			EVP_DigestUpdate(sha, tag, sizeof(tag));
		EVP_DigestUpdate(sha, tr, sizeof(tr));
	}
	return 0;
}

void lb_df_cursor_done(struct lb_df_cursor *c)
{
	free(c->seen);
	c->seen = NULL;
	c->n_seen = 0;
}
