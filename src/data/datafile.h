/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The data container (datafile-*.c; the layout in datafile-format.c):
 * chunked, compressed, checked. */
#ifndef LIFEBOAT_DATAFILE_H
#define LIFEBOAT_DATAFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"

#define LB_CHUNK_SIZE (4u << 20)

enum {
	LB_CONTAINER_IMAGE = 1,	/* device extents: used blocks of a volume */
	LB_CONTAINER_STREAM = 2,	/* a byte stream: a pax archive */
};

struct lb_extent {
	uint64_t off;
	uint64_t len;
};

struct lb_chunk {
	uint64_t seq;
	const uint8_t *data;
	size_t len;
	const struct lb_extent *ext;	/* images: where data goes, in order */
	uint32_t n_ext;
};

typedef void (*lb_progress_fn)(void *ud, uint64_t bytes);

struct lb_dw;
/* level: zstd compression level; 0 stores chunks plain */
int lb_dw_open(int fd, uint32_t kind, uint64_t vol_size, uint32_t block_size, int level,
	       struct lb_dw **ret);
/* The same, encrypted (datafile-crypt.c) with key, for the file named file
 * in the capture (its key is bound to the name). */
int lb_dw_open_key(int fd, uint32_t kind, uint64_t vol_size, uint32_t block_size, int level,
		   const struct lb_key *key, const char *file, struct lb_dw **ret);
void lb_dw_set_progress(struct lb_dw *w, lb_progress_fn fn, void *ud);
/* Images: the device the volume is read from (fd, and the same opened with
 * O_DIRECT or -1), the volume starting at byte base; then its extents, in
 * order, in bytes of the volume. */
void lb_dw_set_device(struct lb_dw *w, int fd, int direct_fd, uint64_t base, const char *name);
int lb_dw_add_extent(struct lb_dw *w, uint64_t off, uint64_t len);
int lb_dw_write(struct lb_dw *w, const void *buf, size_t len);
/* Returns: 0 and the file's SHA-256 and size; frees w either way. */
int lb_dw_close(struct lb_dw *w, char sha256[65], uint64_t *ret_size);
void lb_dw_abort(struct lb_dw *w);

struct lb_dr;
int lb_dr_open(int fd, const char *name, struct lb_dr **ret);
uint32_t lb_dr_kind(const struct lb_dr *r);
uint64_t lb_dr_volume_size(const struct lb_dr *r);
/* Returns: 1 and the next chunk (valid until the next call), 0 at a clean
 * end (index and trailer checked), < 0 on damage, named in lb_errmsg(). */
int lb_dr_next(struct lb_dr *r, struct lb_chunk *ret);
/* The SHA-256 of everything read; call after lb_dr_next returned 0. */
int lb_dr_finish(struct lb_dr *r, char sha256[65]);
void lb_dr_close(struct lb_dr *r);
/* lb_dr_open, then the artifact's key (a may be NULL): what every reader
 * of a capture's data file calls. */
struct lb_artifact;
int lb_dr_open_artifact(int fd, const char *name, const struct lb_artifact *a, struct lb_dr **ret);
/* Whether the file is encrypted; its key then (and its name in the
 * capture), before the first lb_dr_next: without one lb_dr_next refuses. */
bool lb_dr_encrypted(const struct lb_dr *r);
int lb_dr_set_key(struct lb_dr *r, const struct lb_key *key, const char *file);
/* Called on the worker threads with each chunk once it is checked, in no
 * particular order (before lb_dr_next hands it out); < 0 with lb_err()
 * fails that chunk. Set before the first lb_dr_next. */
typedef int (*lb_chunk_sink_fn)(void *ud, const struct lb_chunk *ch);
void lb_dr_set_sink(struct lb_dr *r, lb_chunk_sink_fn fn, void *ud);

#endif
