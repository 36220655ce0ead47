// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * An encrypted data file's chunks (datafile-format.c has the layout;
 * base/crypt.h the primitives). The file has its own key: HKDF of the
 * capture's key, salted with the 16 random bytes of its header and bound to
 * its name in the capture, so no chunk of one file opens in another. Each
 * chunk is AES-256-GCM with
 *   nonce  its sequence number (64 bits) and 0: never reused under the key
 *   AAD    the file's header (kind, volume size, chunk size, compression,
 *          the random bytes) and the chunk's frame but its XXH3 (sequence
 *          number, lengths, extents: where its bytes go on the device)
 * so a chunk cannot be moved, reordered, given other extents or lengths,
 * or taken from another file. The end tag, GCM of nothing with nonce
 * (chunk count, 1) and the count and data bytes as AAD, says where the
 * file ends: no chunk can be dropped from the end, none added.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <openssl/crypto.h>
#include <xxhash.h>

#include "base/base.h"
#include "data/datafile-int.h"

int lb_df_crypt_init(struct lb_df_crypt *cr, const struct lb_key *key, const char *file,
		     const uint8_t hdr[DF_HEADER_SIZE])
{
	memcpy(cr->hdr, hdr, DF_HEADER_SIZE);
	cr->file = file;
	return lb_key_file_key(key, "data", hdr + DF_HDR_RAND, file, cr->key);
}

void lb_df_crypt_wipe(struct lb_df_crypt *cr)
{
	OPENSSL_cleanse(cr->key, sizeof(cr->key));
}

/* The additional data of j: the header, and its frame with the XXH3 left
 * out (it is of the ciphertext: known only after). */
static void chunk_aad(const struct lb_df_crypt *cr, const struct lb_df_job *j, struct iovec aad[4])
{
	static const uint8_t zero[8];

	aad[0] = (struct iovec){ .iov_base = (void *)cr->hdr, .iov_len = DF_HEADER_SIZE };
	aad[1] = (struct iovec){ .iov_base = j->frame, .iov_len = 24 };
	aad[2] = (struct iovec){ .iov_base = (void *)zero, .iov_len = sizeof(zero) };
	aad[3] = (struct iovec){ .iov_base = j->frame + DF_CHUNK_HDR,
				 .iov_len = j->frame_len - DF_CHUNK_HDR };
}

int lb_df_chunk_seal(const struct lb_df_crypt *cr, struct lb_df_job *j, const uint8_t *in,
		     size_t n)
{
	uint8_t nonce[LB_NONCE_LEN];
	struct iovec aad[4];
	int r;

	j->stored = j->cbuf;
	j->stored_len = n + LB_TAG_LEN;
	j->hash = 0;
	lb_df_frame_encode(j);
	chunk_aad(cr, j, aad);
	lb_nonce(nonce, j->seq, 0);
	r = lb_aead_seal(cr->key, nonce, aad, 4, in, n, j->cbuf, j->cbuf + n);
	if (r < 0)
		return r;
	j->hash = XXH3_64bits(j->stored, j->stored_len);
	return 0;
}

int lb_df_chunk_open(const struct lb_df_crypt *cr, const struct lb_df_job *j, uint8_t *out)
{
	size_t n = j->stored_len - LB_TAG_LEN;
	uint8_t nonce[LB_NONCE_LEN];
	struct iovec aad[4];

	chunk_aad(cr, j, aad);
	lb_nonce(nonce, j->seq, 0);
	return lb_aead_open(cr->key, nonce, aad, 4, j->stored, n, out, j->stored + n);
}

int lb_df_end_tag(const struct lb_df_crypt *cr, uint64_t n, uint64_t total,
		  uint8_t tag[LB_TAG_LEN])
{
	uint8_t nonce[LB_NONCE_LEN], end[24], none[1];
	struct iovec aad[2] = {
		{ .iov_base = (void *)cr->hdr, .iov_len = DF_HEADER_SIZE },
		{ .iov_base = end, .iov_len = sizeof(end) },
	};

	memcpy(end, "LBEND\0\0\0", 8);
	lb_put_le64(end + 8, n);
	lb_put_le64(end + 16, total);
	lb_nonce(nonce, n, 1);
	return lb_aead_seal(cr->key, nonce, aad, 2, none, 0, none, tag);
}
