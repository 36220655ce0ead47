/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Archive data's insides, shared by its files and by nothing else:
 *   archive-capture.c  a mounted tree into a pax archive in a data file
 *   archive-extract.c  a data file's archive onto a mounted tree
 *   archive-compare.c  a tree against its archive (drill)
 */
#ifndef LIFEBOAT_DATA_ARCHIVE_INT_H
#define LIFEBOAT_DATA_ARCHIVE_INT_H

#include <stdbool.h>
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

/* A file's or directory's project ID (archive-project.c), as the pseudo
 * attribute PROJECT_XATTR (in no namespace Linux knows, as PREALLOC_XATTR):
 * "ID" in decimal, then " inherit" when what is made in the directory
 * takes it on (FS_XFLAG_PROJINHERIT). Left out for project 0 without it. */
#define PROJECT_XATTR "lifeboat.project"
struct lb_ar_project {
	bool set;
	bool inherit;
	uint32_t id;
};
/* Its value for the open file or directory into buf: its length, 0 when
 * there is none (or the filesystem keeps no project IDs). */
int lb_ar_project_get(int fd, char *buf, size_t n);
int lb_ar_project_parse(const void *val, size_t len, struct lb_ar_project *ret);
/* Sets it on path (relative to the working directory, not followed). */
int lb_ar_project_apply(const char *path, const struct lb_ar_project *p);
/* Whether path has the project the value records. */
bool lb_ar_project_matches(const char *path, const void *val, size_t len);
/* Directories' project IDs, set once everything is extracted. */
struct lb_ar_projects {
	struct {
		char *path;
		struct lb_ar_project p;
	} *v;
	size_t n;
};
void lb_ar_projects_defer(struct lb_ar_projects *l, const char *path, const struct lb_ar_project *p);
int lb_ar_projects_apply(struct lb_ar_projects *l);
void lb_ar_projects_clear(struct lb_ar_projects *l);

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
