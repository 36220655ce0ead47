/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A capture's encryption (crypt.c): every primitive from a well-kept
 * library, nothing home-made.
 *   - the key: Argon2id (libargon2, memory-hard) over a key file's bytes
 *     and the capture's random salt, into a 32-byte master key;
 *   - each file's own key: HKDF-SHA256 (OpenSSL) of the master key, salted
 *     with the file's random 16 bytes and bound to its purpose and name;
 *   - the cipher: AES-256-GCM (OpenSSL EVP), 96-bit nonces that are never
 *     reused under one file key (a chunk's sequence number).
 * The master key is never written anywhere; the manifest holds the KDF's
 * parameters, its salt and a key check (another HKDF of the master key)
 * that tells a wrong key from a damaged file.
 */
#ifndef LIFEBOAT_BASE_CRYPT_H
#define LIFEBOAT_BASE_CRYPT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define LB_KEY_LEN 32
#define LB_SALT_LEN 16
#define LB_NONCE_LEN 12
#define LB_TAG_LEN 16
#define LB_FILE_RAND_LEN 16

#define LB_CIPHER_NAME "aes-256-gcm"
#define LB_KDF_NAME "argon2id"
#define LB_KDF_TIME_DEFAULT 3
#define LB_KDF_MEMORY_DEFAULT 65536	/* KiB: 64 MiB */
#define LB_KDF_LANES_DEFAULT 1
/* the most a key file may hold (cryptsetup's default maximum) */
#define LB_KEY_FILE_MAX (8u << 20)

/* The KDF's parameters: what the manifest records. */
struct lb_kdf {
	uint32_t time;		/* passes */
	uint32_t memory;	/* KiB */
	uint32_t lanes;
	uint8_t salt[LB_SALT_LEN];
};

struct lb_key {
	uint8_t master[LB_KEY_LEN];
	char check[2 * LB_KEY_LEN + 1];	/* hex of the key check */
};

/* len random bytes from the kernel. */
int lb_random(void *buf, size_t len);
/* The KDF's defaults and a fresh salt. */
int lb_kdf_init(struct lb_kdf *kdf);
/* Argon2id of secret into ret (and its key check). */
int lb_key_derive(const void *secret, size_t len, const struct lb_kdf *kdf, struct lb_key *ret);
/* The whole of a key file (a trailing newline included, as cryptsetup
 * reads one) is the secret; an empty one is refused. */
int lb_key_from_file(const char *path, const struct lb_kdf *kdf, struct lb_key *ret);
void lb_key_wipe(struct lb_key *k);
/* A file's own key: purpose ("data", "artifact"), the file's random bytes
 * and its name in the capture go into it. */
int lb_key_file_key(const struct lb_key *k, const char *purpose,
		    const uint8_t rand[LB_FILE_RAND_LEN], const char *name, uint8_t out[LB_KEY_LEN]);

/* HMAC-SHA256 of msg under the key's own key for purpose (HKDF of the
 * master key, info "lifeboat v1 mac PURPOSE"). */
int lb_key_mac(const struct lb_key *k, const char *purpose, const void *msg, size_t len,
	       uint8_t out[32]);

/* AES-256-GCM over in (len bytes) into out (may be in), the additional
 * data the n_aad pieces of aad. open: -EBADMSG when the tag does not
 * match (nothing said: the caller names the file). */
int lb_aead_seal(const uint8_t key[LB_KEY_LEN], const uint8_t nonce[LB_NONCE_LEN],
		 const struct iovec *aad, int n_aad, const uint8_t *in, size_t len, uint8_t *out,
		 uint8_t tag[LB_TAG_LEN]);
int lb_aead_open(const uint8_t key[LB_KEY_LEN], const uint8_t nonce[LB_NONCE_LEN],
		 const struct iovec *aad, int n_aad, const uint8_t *in, size_t len, uint8_t *out,
		 const uint8_t tag[LB_TAG_LEN]);
/* The nonce of a file's piece: its number and a kind (0 a chunk, 1 the
 * end of a data file, 2 a sealed artifact). */
void lb_nonce(uint8_t nonce[LB_NONCE_LEN], uint64_t seq, uint32_t kind);

/* An artifact sealed whole: "LBSEAL1\n", version, cipher, the file's
 * random bytes (32 bytes, the additional data), the ciphertext, the tag. */
#define LB_SEAL_HDR 32
int lb_seal_buf(const struct lb_key *k, const char *name, const void *in, size_t len,
		uint8_t **ret, size_t *ret_len);
/* -EBADMSG, said naming name, when it is not sealed, or damaged, tampered
 * with or sealed with another key. */
int lb_unseal_buf(const struct lb_key *k, const char *name, const void *in, size_t len,
		  uint8_t **ret, size_t *ret_len);

#endif
