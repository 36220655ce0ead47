/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Archive data's insides, shared by its files and by nothing else:
 *   archive-capture.c  a mounted tree into a pax archive in a data file
 *   archive-extract.c  a data file's archive onto a mounted tree
 *   archive-compare.c  a tree against its archive (drill)
 *   archive-project.c  project IDs, archive-flags.c inode flags: read at
 *                      capture, set on extraction, compared
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
/* Sets it on the entry path, opened with lb_ar_open_entry below rootfd. */
int lb_ar_project_apply(int rootfd, const char *path, const struct lb_ar_project *p);
/* Whether the entry path below rootfd has the project the value records. */
bool lb_ar_project_matches(int rootfd, const char *path, const void *val, size_t len);
/* Directories' project IDs, set once everything is extracted. */
struct lb_ar_projects {
	struct {
		char *path;
		struct lb_ar_project p;
	} *v;
	size_t n;
};
void lb_ar_projects_defer(struct lb_ar_projects *l, const char *path, const struct lb_ar_project *p);
int lb_ar_projects_apply(struct lb_ar_projects *l, int rootfd);
void lb_ar_projects_clear(struct lb_ar_projects *l);

/* A regular file's or directory's inode flags (archive-flags.c says which
 * and when each is set), as the pseudo attribute FLAGS_XATTR (in no
 * namespace Linux knows, as PREALLOC_XATTR): chattr's letters, "iC" say.
 * Left out when it has none. Archives made before it existed hold them as
 * libarchive's fflags (SCHILY.fflags), which a restore takes instead. */
#define FLAGS_XATTR "lifeboat.flags"
/* A regular file whose bytes are those of an earlier entry of the same
 * archive (a btrfs snapshot's file, the same as its parent's): the pseudo
 * attribute CLONE_XATTR (in no namespace Linux knows, as PREALLOC_XATTR)
 * holds that entry's path; the entry carries no data (its sparse map is
 * one hole of its size). A restore clones that file's extents into it
 * (FICLONE; a copy where the filesystem cannot), so the two share them
 * again. An archive with such entries is marked in the manifest (the
 * subvolume's clones-from), so a lifeboat that predates them refuses it
 * rather than making holes of them. */
#define CLONE_XATTR "lifeboat.clone"
/* The flags lifeboat carries (FS_*_FL bits). */
uint32_t lb_ar_flags_carried(void);
/* The carried flags of the open file or directory into *ret: 0, or -errno
 * when the filesystem has none (*ret 0). */
int lb_ar_flags_get(int fd, uint32_t *ret);
/* bits as FLAGS_XATTR's value into buf (NUL-terminated): its length. */
int lb_ar_flags_text(uint32_t bits, char *buf, size_t n);
/* A FLAGS_XATTR value into bits: -EBADMSG when it holds anything but
 * letters; letters this lifeboat does not know (from a newer one) into
 * unknown, NUL-terminated, and left out of *ret. */
int lb_ar_flags_parse(const void *val, size_t len, uint32_t *ret, char *unknown, size_t n);
/* Setting them as the extraction goes (paths relative to the working
 * directory, the target's root, named in warnings below root). */
struct lb_ar_flagset {
	const char *root;
	struct {
		char *path;
		uint32_t want;
	} *v;
	size_t n;
	unsigned n_warned;
	bool inheriting;	/* a directory made holds a flag its entries take on */
	bool looked;		/* the first entry (the root) was looked at */
};
/* Right after the entry is made: the flags that must come before its data
 * or its entries, and off what it took on that it should not have. */
void lb_ar_flags_early(struct lb_ar_flagset *s, const char *path, bool dir, uint32_t want);
/* The rest, kept for lb_ar_flags_finish, once everything is extracted. */
void lb_ar_flags_defer(struct lb_ar_flagset *s, const char *path, uint32_t want);
void lb_ar_flags_finish(struct lb_ar_flagset *s);
void lb_ar_flagset_clear(struct lb_ar_flagset *s);

/* libarchive's error on a, as lb_err() with what it was doing. */
int lb_ar_err(struct archive *a, const char *what);
/* An entry extracted (or to compare), by its name in the archive, below
 * the tree's root rootfd (AT_FDCWD: the working directory): resolved
 * inside it (lb_open_in_root: no "..", symlink or mount leads out), opened
 * for reading, never through a link in its place; the entry's name is
 * taken without its trailing slashes ("dir/", as tar records a directory),
 * which would have the kernel follow a link there even with O_NOFOLLOW.
 * An fd, or -errno. */
int lb_ar_open_entry(int rootfd, const char *path);

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
