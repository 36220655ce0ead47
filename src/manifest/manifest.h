/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The manifest: reading, checking, writing and showing it; artifacts in the capture directory. */
#ifndef LIFEBOAT_MANIFEST_MANIFEST_H
#define LIFEBOAT_MANIFEST_MANIFEST_H

#include "model/model.h"

/* ---- manifest I/O (manifest.c) ---------------------------------------- */

int lb_manifest_write(const struct lb_manifest *m, const char *path);
int lb_manifest_write_mem(const struct lb_manifest *m, char **ret, size_t *ret_len);
/* CAPTURE is a directory or its manifest.xml. Validates against the schema. */
int lb_manifest_load(const char *capture, struct lb_manifest **ret);
int lb_manifest_load_mem(const char *buf, size_t len, const char *name, struct lb_manifest **ret);
/* Checks an artifact's size and checksum against the capture directory. */
int lb_artifact_verify(const struct lb_manifest *m, const struct lb_artifact *a);
/* Writes buf to the capture directory as file and fills the artifact. */
int lb_artifact_save(const char *dir, const char *file, const void *buf, size_t len,
		     struct lb_artifact **ret);

/* ---- an encrypted capture (manifest-crypt.c) ----------------------------- */

/* Records in m how it is encrypted: the KDF's parameters and salt, and the
 * key's check value. */
void lb_manifest_encrypted(struct lb_manifest *m, const struct lb_kdf *kdf,
			   const struct lb_key *key);
/* Seals every artifact in dir not encrypted yet (all but the data files),
 * each in its place, and records it so. */
int lb_manifest_seal_artifacts(struct lb_manifest *m, const char *dir, const struct lb_key *key);
/* The first of the key files that opens an encrypted m becomes its key
 * (lb_manifest_set_key): 1 when one did, 0 when none did or m is not
 * encrypted, < 0 when the manifest's encryption is not one this lifeboat
 * knows or its MAC says it was changed (-EBADMSG). Each try is the KDF's work: a few tenths of a second. */
int lb_manifest_unlock(struct lb_manifest *m, char *const *key_files, size_t n);
/* An encrypted manifest carries a MAC of itself under the key: written
 * with a zero MAC (prepare), then the MAC put into the text written (fill),
 * checked against the text read (digest, at load) once the key is known
 * (check; lb_manifest_unlock does). It tells a manifest changed since the
 * capture: data files renamed, a layout altered. */
void lb_manifest_mac_prepare(struct lb_manifest *m);
int lb_manifest_mac_fill(const struct lb_key *k, char *buf, size_t len);
void lb_manifest_mac_digest(struct lb_manifest *m, const char *buf, size_t len);
int lb_manifest_mac_check(const struct lb_manifest *m, const struct lb_key *k);
/* Reads an artifact whole (no link followed), checked against its size and
 * SHA-256, and opened with the capture's key when it is encrypted: the
 * plaintext, *ret_len bytes. */
int lb_artifact_load(const struct lb_manifest *m, const struct lb_artifact *a, uint8_t **ret,
		     size_t *ret_len);

extern const char lb_schema_rng[];
extern const unsigned lb_schema_rng_len;

/* ---- output (show.c) -------------------------------------------------- */

/* Why PATH cannot be a btrfs subvolume's path in a manifest (absolute,
 * empty, a "." or ".." component...), or NULL (manifest-btrfs.c). */
const char *lb_btrfs_path_bad(const char *path);

int lb_show_text(const struct lb_manifest *m, FILE *f);
int lb_show_json(const struct lb_manifest *m, FILE *f);

#endif
