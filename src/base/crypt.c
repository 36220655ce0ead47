// SPDX-License-Identifier: GPL-3.0-or-later
/* A capture's encryption: the key, each file's key, AES-256-GCM, sealed
 * artifacts (crypt.h says which library does what). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "base/base.h"
#include "base/crypt.h"

int lb_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_err(-errno, "cannot get random bytes: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_kdf_init(struct lb_kdf *kdf)
{
	kdf->time = LB_KDF_TIME_DEFAULT;
	kdf->memory = LB_KDF_MEMORY_DEFAULT;
	kdf->lanes = LB_KDF_LANES_DEFAULT;
	return lb_random(kdf->salt, sizeof(kdf->salt));
}

/* HKDF-SHA256 (RFC 5869) of ikm into out. */
static int hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	int ok;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : lb_err(-EIO, "HKDF-SHA256 failed (OpenSSL)");
}

int lb_key_derive(const void *secret, size_t len, const struct lb_kdf *kdf, struct lb_key *ret)
{
	static const char info[] = "lifeboat key check v1";
	uint8_t check[LB_KEY_LEN];
	char *hex;
	int r;

	if (kdf->time < 1 || kdf->time > 64 || kdf->memory < 8 * kdf->lanes ||
	    kdf->memory > (4u << 20) || kdf->lanes < 1 || kdf->lanes > 16)
		return lb_err(-EINVAL, "argon2id parameters out of range (time %u, memory %u KiB, "
				       "lanes %u)",
			      kdf->time, kdf->memory, kdf->lanes);
	r = argon2id_hash_raw(kdf->time, kdf->memory, kdf->lanes, secret, len, kdf->salt,
			      sizeof(kdf->salt), ret->master, sizeof(ret->master));
	if (r != ARGON2_OK)
		return lb_err(r == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EIO,
			      "argon2id: %s", argon2_error_message(r));
	r = hkdf(ret->master, sizeof(ret->master), NULL, 0, (const uint8_t *)info, sizeof(info) - 1,
		 check, sizeof(check));
	if (r < 0)
		return r;
	hex = lb_hex_encode(check, sizeof(check));
	memcpy(ret->check, hex, sizeof(ret->check));
	free(hex);
	return 0;
}

int lb_key_from_file(const char *path, const struct lb_kdf *kdf, struct lb_key *ret)
{
	char *secret = NULL;
	int n, r;

	n = lb_read_file(path, &secret, LB_KEY_FILE_MAX);
	if (n == -EFBIG)
		return lb_err(n, "key file %s: larger than %u MiB", path, LB_KEY_FILE_MAX >> 20);
	if (n < 0)
		return lb_err(n, "key file %s: %s", path, n == -EPERM ? lb_errmsg() : strerror(-n));
	if (n == 0) {
		free(secret);
		return lb_err(-EINVAL, "key file %s is empty", path);
	}
	r = lb_key_derive(secret, (size_t)n, kdf, ret);
	OPENSSL_cleanse(secret, (size_t)n);
	free(secret);
	return r;
}

void lb_key_wipe(struct lb_key *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

int lb_key_file_key(const struct lb_key *k, const char *purpose,
		    const uint8_t rand[LB_FILE_RAND_LEN], const char *name, uint8_t out[LB_KEY_LEN])
{
	/* "lifeboat v1 PURPOSE\0NAME": no two purposes or names make one info */
	_cleanup_free_ char *info = lb_asprintf("lifeboat v1 %s%c%s", purpose, 0, name);
	size_t info_len = strlen("lifeboat v1 ") + strlen(purpose) + 1 + strlen(name);

	return hkdf(k->master, sizeof(k->master), rand, LB_FILE_RAND_LEN, (const uint8_t *)info,
		    info_len, out, LB_KEY_LEN);
}

int lb_key_mac(const struct lb_key *k, const char *purpose, const void *msg, size_t len,
	       uint8_t out[32])
{
	_cleanup_free_ char *info = lb_asprintf("lifeboat v1 mac %s", purpose);
	uint8_t mk[LB_KEY_LEN];
	unsigned n = 0;
	int r;

	r = hkdf(k->master, sizeof(k->master), NULL, 0, (const uint8_t *)info, strlen(info), mk,
		 sizeof(mk));
	if (r < 0)
		return r;
	if (!HMAC(EVP_sha256(), mk, sizeof(mk), msg, len, out, &n) || n != 32)
		r = lb_err(-EIO, "HMAC-SHA256 failed (OpenSSL)");
	OPENSSL_cleanse(mk, sizeof(mk));
	return r;
}

void lb_nonce(uint8_t nonce[LB_NONCE_LEN], uint64_t seq, uint32_t kind)
{
	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(seq >> (8 * i));
	for (int i = 0; i < 4; i++)
		nonce[8 + i] = (uint8_t)(kind >> (8 * i));
}

static int aead(bool seal, const uint8_t key[LB_KEY_LEN], const uint8_t nonce[LB_NONCE_LEN],
		const struct iovec *aad, int n_aad, const uint8_t *in, size_t len, uint8_t *out,
		uint8_t tag[LB_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ok, n;

	ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, seal ? 1 : 0) == 1;
	for (int i = 0; ok && i < n_aad; i++)
		ok = EVP_CipherUpdate(ctx, NULL, &n, aad[i].iov_base, (int)aad[i].iov_len) == 1;
	/* (in pieces: an int counts the bytes of one call) */
	for (size_t done = 0; ok && done < len;) {
		size_t step = len - done < (1u << 30) ? len - done : (1u << 30);

		ok = EVP_CipherUpdate(ctx, out + done, &n, in + done, (int)step) == 1;
		done += step;
	}
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, LB_TAG_LEN, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
	if (ok && seal)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, LB_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}

int lb_aead_seal(const uint8_t key[LB_KEY_LEN], const uint8_t nonce[LB_NONCE_LEN],
		 const struct iovec *aad, int n_aad, const uint8_t *in, size_t len, uint8_t *out,
		 uint8_t tag[LB_TAG_LEN])
{
	int r = aead(true, key, nonce, aad, n_aad, in, len, out, tag);

	return r < 0 ? lb_err(-EIO, "AES-256-GCM failed (OpenSSL)") : 0;
}

int lb_aead_open(const uint8_t key[LB_KEY_LEN], const uint8_t nonce[LB_NONCE_LEN],
		 const struct iovec *aad, int n_aad, const uint8_t *in, size_t len, uint8_t *out,
		 const uint8_t tag[LB_TAG_LEN])
{
	uint8_t t[LB_TAG_LEN];

	memcpy(t, tag, sizeof(t));
	return aead(false, key, nonce, aad, n_aad, in, len, out, t);
}

/* ---- sealed artifacts ----------------------------------------------------- */

static void seal_header(uint8_t hdr[LB_SEAL_HDR], const uint8_t rand[LB_FILE_RAND_LEN])
{
	memset(hdr, 0, LB_SEAL_HDR);
	memcpy(hdr, "LBSEAL1\n", 8);
	hdr[8] = 1;	/* version, le32 */
	hdr[12] = 1;	/* cipher: AES-256-GCM, le32 */
	memcpy(hdr + 16, rand, LB_FILE_RAND_LEN);
}

int lb_seal_buf(const struct lb_key *k, const char *name, const void *in, size_t len,
		uint8_t **ret, size_t *ret_len)
{
	uint8_t rand[LB_FILE_RAND_LEN], fkey[LB_KEY_LEN], nonce[LB_NONCE_LEN];
	uint8_t *out = lb_zalloc(LB_SEAL_HDR + len + LB_TAG_LEN);
	struct iovec aad;
	int r;

	r = lb_random(rand, sizeof(rand));
	if (r >= 0)
		r = lb_key_file_key(k, "artifact", rand, name, fkey);
	if (r < 0) {
		free(out);
		return r;
	}
	seal_header(out, rand);
	aad = (struct iovec){ .iov_base = out, .iov_len = LB_SEAL_HDR };
	lb_nonce(nonce, 0, 2);
	r = lb_aead_seal(fkey, nonce, &aad, 1, in, len, out + LB_SEAL_HDR, out + LB_SEAL_HDR + len);
	OPENSSL_cleanse(fkey, sizeof(fkey));
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = LB_SEAL_HDR + len + LB_TAG_LEN;
	return 0;
}

int lb_unseal_buf(const struct lb_key *k, const char *name, const void *in, size_t len,
		  uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p = in;
	uint8_t fkey[LB_KEY_LEN], nonce[LB_NONCE_LEN], want[LB_SEAL_HDR];
	struct iovec aad = { .iov_base = (void *)p, .iov_len = LB_SEAL_HDR };
	size_t n;
	uint8_t *out;
	int r;

	if (len < LB_SEAL_HDR + LB_TAG_LEN)
		return lb_err(-EBADMSG, "%s: not an encrypted artifact (too short): damaged or "
					"tampered with",
			      name);
	seal_header(want, p + 16);
	if (memcmp(want, p, LB_SEAL_HDR) != 0)
		return lb_err(-EBADMSG, "%s: not an encrypted artifact (bad header): damaged or "
					"tampered with",
			      name);
	r = lb_key_file_key(k, "artifact", p + 16, name, fkey);
	if (r < 0)
		return r;
	n = len - LB_SEAL_HDR - LB_TAG_LEN;
	out = lb_zalloc(n + 1);
	lb_nonce(nonce, 0, 2);
	r = lb_aead_open(fkey, nonce, &aad, 1, p + LB_SEAL_HDR, n, out, p + LB_SEAL_HDR + n);
	OPENSSL_cleanse(fkey, sizeof(fkey));
	if (r < 0) {
		OPENSSL_cleanse(out, n);
		free(out);
		return lb_err(-EBADMSG, "%s: fails its authentication (AES-256-GCM): the file was "
					"damaged or tampered with",
			      name);
	}
	*ret = out;
	*ret_len = n;
	return 0;
}
