/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Archive data's insides, shared by its files and by nothing else:
 *   archive-capture.c  a mounted tree into a pax archive in a data file
 *   archive-extract.c  a data file's archive onto a mounted tree
 *   archive-compare.c  a tree against its archive (drill)
 */
#ifndef LIFEBOAT_DATA_ARCHIVE_INT_H
#define LIFEBOAT_DATA_ARCHIVE_INT_H

#include <stdint.h>

#include <archive.h>

#include "base/base.h"
#include "data/datafile.h"

/* A file's preallocated ranges, in its entry: an extended attribute in no
 * namespace Linux knows, so no file has a real one of that name (setting
 * it fails with EOPNOTSUPP, which libarchive takes as a warning: an older
 * lifeboat restores the file without its preallocation). Its value:
 * "OFFSET+LENGTH" in decimal bytes, in order, separated by one space. */
#define PREALLOC_XATTR "lifeboat.prealloc"
/* its longest value: a pax header holds it twice (once in base64), and
 * libarchive reads headers of up to 1 MiB */
#define PREALLOC_MAX (64u << 10)

/* libarchive's error on a, as lb_err() with what it was doing. */
int lb_ar_err(struct archive *a, const char *what);

/* Reading an archive out of a data file (archive_read_open's callback
 * data): lb_ar_read_cb hands out the chunks, counts them for progress and
 * kicks flush (when set) every FLUSH_STEP bytes. */
struct lb_ar_reader {
	struct lb_dr *dr;
	int err;
	lb_progress_fn progress;
	void *pud;
	uint64_t done;
	struct lb_queue *flush;
	uint64_t next_flush;
};
la_ssize_t lb_ar_read_cb(struct archive *a, void *ud, const void **buf);

#endif
