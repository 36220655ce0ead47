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
extern const char lb_schema_rng[];
extern const unsigned lb_schema_rng_len;

/* ---- output (show.c) -------------------------------------------------- */

int lb_show_text(const struct lb_manifest *m, FILE *f);
int lb_show_json(const struct lb_manifest *m, FILE *f);

#endif
