// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * An encrypted capture's artifacts (base/crypt.h): recording how it is
 * encrypted, sealing every artifact but the data files (which are
 * encrypted as they are written: data/datafile-crypt.c), finding the key
 * file that opens it, and reading an artifact back checked and opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"

/* the most an artifact read whole may hold (a LUKS2 header is 16 MiB) */
#define ARTIFACT_MAX (256u << 20)

void lb_manifest_encrypted(struct lb_manifest *m, const struct lb_kdf *kdf,
			   const struct lb_key *key)
{
	struct lb_encryption *e = lb_encryption_new();

	e->cipher = lb_strdup(LB_CIPHER_NAME);
	e->kdf = lb_strdup(LB_KDF_NAME);
	e->kdf_time = kdf->time;
	e->kdf_memory = kdf->memory;
	e->kdf_lanes = kdf->lanes;
	e->salt = lb_hex_encode(kdf->salt, sizeof(kdf->salt));
	e->key_check = lb_strdup(key->check);
	lb_encryption_free(m->encryption);
	m->encryption = e;
}

/* Reads path whole (a capture's file: no link followed). */
static int read_whole(const char *path, char **ret, size_t *ret_len)
{
	int fd = lb_open_artifact(path), n;

	if (fd < 0)
		return fd;
	n = lb_read_fd(fd, ret, ARTIFACT_MAX);
	close(fd);
	if (n < 0)
		return lb_err(n, "%s: %s", path, strerror(-n));
	*ret_len = (size_t)n;
	return 0;
}

struct seal_ctx {
	const char *dir;
	const struct lb_key *key;
};

/* An artifact the scan wrote in the clear, sealed in its place: written
 * beside it, then renamed over it. */
static int seal_one(struct lb_artifact *a, void *ud)
{
	const struct seal_ctx *sc = ud;
	_cleanup_free_ char *path = lb_asprintf("%s/%s", sc->dir, a->file);
	_cleanup_free_ char *tmp = lb_asprintf("%s/.%s.sealing", sc->dir, a->file);
	_cleanup_free_ uint8_t *out = NULL;
	char *buf = NULL, sum[65];
	size_t len = 0, out_len = 0;
	int r;

	if (a->encrypted)
		return 0;	/* a data file: encrypted as it was written */
	r = read_whole(path, &buf, &len);
	if (r < 0)
		return r;
	r = lb_seal_buf(sc->key, a->file, buf, len, &out, &out_len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (r < 0)
		return r;
	r = lb_write_file(tmp, out, out_len, 0600);
	if (r < 0)
		return lb_err(r, "%s: cannot write: %s", tmp, strerror(-r));
	if (rename(tmp, path) < 0) {
		r = lb_err(-errno, "%s: cannot replace it: %s", path, strerror(errno));
		unlink(tmp);
		return r;
	}
	r = lb_sha256_buf(out, out_len, sum);
	if (r < 0)
		return r;
	free(a->sha256);
	a->sha256 = lb_strdup(sum);
	a->size = out_len;
	a->encrypted = true;
	return 0;
}

int lb_manifest_seal_artifacts(struct lb_manifest *m, const char *dir, const struct lb_key *key)
{
	struct seal_ctx sc = { dir, key };

	return lb_manifest_foreach_artifact(m, seal_one, &sc);
}

/* ---- the manifest's own MAC ------------------------------------------------ */

#define MAC_ATTR "manifest-mac=\""
#define MAC_HEX 64

/* The MAC's 64 hex digits in the text: after the first manifest-mac=". */
static char *mac_at(const char *buf, size_t len)
{
	const char *at = memmem(buf, len, MAC_ATTR, strlen(MAC_ATTR));

	if (!at || (size_t)(at - buf) + strlen(MAC_ATTR) + MAC_HEX > len)
		return NULL;
	return (char *)at + strlen(MAC_ATTR);
}

/* SHA-256 of the text with the MAC's digits zero. */
static int zeroed_digest(const char *buf, size_t len, const char *at, uint8_t out[32])
{
	_cleanup_free_ char *copy = lb_zalloc(len + 1);
	unsigned n = 0;

	memcpy(copy, buf, len);
	memset(copy + (at - buf), '0', MAC_HEX);
	if (!EVP_Digest(copy, len, out, &n, EVP_sha256(), NULL) || n != 32)
		return lb_err(-EIO, "SHA-256 failed (OpenSSL)");
	return 0;
}

void lb_manifest_mac_prepare(struct lb_manifest *m)
{
	free(m->encryption->manifest_mac);
	m->encryption->manifest_mac = lb_zalloc(MAC_HEX + 1);
	memset(m->encryption->manifest_mac, '0', MAC_HEX);
}

int lb_manifest_mac_fill(const struct lb_key *k, char *buf, size_t len)
{
	char *at = mac_at(buf, len), *hex;
	uint8_t digest[32], mac[32];
	int r;

	if (!at)
		return lb_err(-EINVAL, "the manifest written has no manifest-mac");
	r = zeroed_digest(buf, len, at, digest);
	if (r >= 0)
		r = lb_key_mac(k, "manifest", digest, sizeof(digest), mac);
	if (r < 0)
		return r;
	hex = lb_hex_encode(mac, sizeof(mac));
	memcpy(at, hex, MAC_HEX);
	free(hex);
	return 0;
}

void lb_manifest_mac_digest(struct lb_manifest *m, const char *buf, size_t len)
{
	const char *at = mac_at(buf, len);

	m->encryption->rt_has_digest =
		at && zeroed_digest(buf, len, at, m->encryption->rt_digest) >= 0;
}

int lb_manifest_mac_check(const struct lb_manifest *m, const struct lb_key *k)
{
	const struct lb_encryption *e = m->encryption;
	uint8_t mac[32];
	char *hex;
	bool same;

	if (!e->rt_has_digest || !e->manifest_mac)
		return lb_err(-EBADMSG, "%s: the encrypted capture's manifest has no MAC of its own: "
					"it was changed since the capture (tampered with)",
			      LB_MANIFEST_NAME);
	if (lb_key_mac(k, "manifest", e->rt_digest, sizeof(e->rt_digest), mac) < 0)
		return -EIO;
	hex = lb_hex_encode(mac, sizeof(mac));
	same = CRYPTO_memcmp(hex, e->manifest_mac, MAC_HEX) == 0;
	free(hex);
	if (!same)
		return lb_err(-EBADMSG, "%s: its MAC does not match under the capture's key: the "
					"manifest was changed since the capture (tampered with)",
			      LB_MANIFEST_NAME);
	return 0;
}

/* The KDF's parameters as the manifest records them. */
static int manifest_kdf(const struct lb_encryption *e, struct lb_kdf *kdf)
{
	_cleanup_free_ uint8_t *salt = NULL;
	size_t n = 0;

	if (strcmp(e->cipher, LB_CIPHER_NAME) != 0 || strcmp(e->kdf, LB_KDF_NAME) != 0)
		return lb_err(-EOPNOTSUPP, "the capture is encrypted with %s, key by %s: this lifeboat "
					   "knows %s by %s",
			      e->cipher, e->kdf, LB_CIPHER_NAME, LB_KDF_NAME);
	if (lb_hex_decode(e->salt, &salt, &n) < 0 || n != sizeof(kdf->salt))
		return lb_err(-EINVAL, "the manifest's encryption salt is not %zu bytes of hex",
			      sizeof(kdf->salt));
	kdf->time = e->kdf_time;
	kdf->memory = e->kdf_memory;
	kdf->lanes = e->kdf_lanes;
	memcpy(kdf->salt, salt, sizeof(kdf->salt));
	return 0;
}

int lb_manifest_unlock(struct lb_manifest *m, char *const *key_files, size_t n)
{
	struct lb_kdf kdf;
	int r;

	if (!m->encryption || m->rt_key)
		return m->rt_key ? 1 : 0;
	r = manifest_kdf(m->encryption, &kdf);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct lb_key *k = lb_zalloc(sizeof(*k));

		/* (a LUKS key file among them: it opens no capture, and is no error) */
		r = lb_key_from_file(key_files[i], &kdf, k);
		if (r >= 0 && CRYPTO_memcmp(k->check, m->encryption->key_check, sizeof(k->check) - 1) == 0) {
			lb_debug("crypt", "key file %s opens the capture", key_files[i]);
			/* the key is right: the manifest must be as it was written */
			r = lb_manifest_mac_check(m, k);
			if (r < 0) {
				lb_key_wipe(k);
				free(k);
				return r;
			}
			lb_manifest_set_key(m, k);
			return 1;
		}
		if (r < 0)
			lb_debug("crypt", "%s", lb_errmsg());
		lb_key_wipe(k);
		free(k);
	}
	return 0;
}

int lb_artifact_load(const struct lb_manifest *m, const struct lb_artifact *a, uint8_t **ret,
		     size_t *ret_len)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", m->rt_dir ? m->rt_dir : ".", a->file);
	char *buf = NULL, sum[65];
	size_t len = 0;
	int r;

	r = read_whole(path, &buf, &len);
	if (r < 0)
		return r;
	if ((uint64_t)len != a->size || lb_sha256_buf(buf, len, sum) < 0 ||
	    strcmp(sum, a->sha256) != 0) {
		free(buf);
		return lb_err(-EBADMSG, "%s: does not match its SHA-256 in the manifest%s", path,
			      a->encrypted ? ": the encrypted artifact was damaged or tampered with"
					   : "");
	}
	if (!a->encrypted) {
		*ret = (uint8_t *)buf;
		*ret_len = len;
		return 0;
	}
	if (!a->rt_key) {
		free(buf);
		return lb_err(-ENOKEY, "%s is encrypted and no --key-file given opens the capture",
			      path);
	}
	r = lb_unseal_buf(a->rt_key, a->file, buf, len, ret, ret_len);
	free(buf);
	return r;
}
