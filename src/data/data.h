/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Volume data: images and archives, the data file container, progress, tree walk, file allocation. */
#ifndef LIFEBOAT_DATA_DATA_H
#define LIFEBOAT_DATA_DATA_H

#include "model/model.h"

/* ---- volume data (data.c, image.c, archive-*.c, datafile-*.c) ---------- */

enum lb_data_mode {
	LB_DATA_NONE = 0,
	LB_DATA_AUTO,
	LB_DATA_IMAGE,
	LB_DATA_ARCHIVE,
};

struct lb_data_opts {
	enum lb_data_mode mode;
	int level;		/* zstd level, 0 for none */
	const char *outdir;	/* where artifacts go (the partial capture) */
	const char *final_dir;	/* the capture's final name, left out of archives */
	const struct lb_key *key;	/* encrypt every data file with it; NULL: not */
	bool report;
};

int lb_data_mode_parse(const char *s, enum lb_data_mode *ret);
int lb_data_capture(struct lb_manifest *m, struct lb_data_opts *o);
/* True when v is mounted read-write here: an image of it would not be
 * consistent. */
bool lb_data_mounted_rw(const struct lb_volume *v);
/* Calls fn for every run of bytes v uses, in bytes of the volume, v read
 * from dev at offset 0: ext2/3/4 from the block bitmap, a filesystem whose
 * ops tell (xfs: its free-space trees, when they can be read; else whole,
 * with a warning), swap its header page, anything else whole. */
int lb_image_used_runs(const char *dev, const struct lb_volume *v,
		       int (*fn)(void *, uint64_t, uint64_t), void *ud);
/* cipher.c: the data segment of open container l as ciphertext, into
 * l->ciphertext; a warning in m, and none, when that cannot be done. */
int lb_cipher_capture(struct lb_manifest *m, struct lb_luks *l, const struct lb_data_opts *o);
int lb_image_used_bytes(const char *disk_path, const struct lb_volume *v, uint64_t *ret);
/* key: encrypted with it (datafile-crypt.c), for the file named file in
 * the capture; NULL: not encrypted */
int lb_image_capture(const char *disk_path, int disk_fd, const struct lb_volume *v, int out_fd,
		     int level, const struct lb_key *key, const char *file,
		     void (*progress)(void *, uint64_t), void *pud, char sha256[65],
		     uint64_t *ret_size);
int lb_image_restore(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
		     uint64_t dev_size, void (*progress)(void *, uint64_t), void *pud);
/* direct_fd: the same device opened with O_DIRECT (or -1); aligned extents
 * go through it */
int lb_image_restore_direct(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
			    int direct_fd, uint64_t dev_size, void (*progress)(void *, uint64_t),
			    void *pud);
/* The same, the volume starting at byte base of the device and dev_size
 * bytes long (a LUKS container's data segment): nothing is written outside. */
int lb_image_restore_at(int data_fd, const char *name, const struct lb_artifact *a, int dev_fd,
			int direct_fd, uint64_t base, uint64_t dev_size,
			void (*progress)(void *, uint64_t), void *pud);
/* The header alone: the container's kind (LB_CONTAINER_*, datafile.h) and
 * the size of the volume it was taken from (0 for a stream). */
int lb_data_read_header(int fd, const char *name, uint32_t *ret_kind, uint64_t *ret_vol_size);
/* Header, every chunk's framing, index, trailer and size, without the data. */
int lb_data_check_framing(int fd, const char *name, const struct lb_artifact *a);
/* The data bytes a data file holds, as its trailer says (0 when it says
 * nothing readable): a progress total, not a check. */
uint64_t lb_data_raw_total(int fd);
/* The framing, then the whole file against its SHA-256 (the damaged chunk
 * named when there is one), nothing decompressed or decrypted: what can be
 * checked of an encrypted file without its key. */
int lb_data_check_sum(int fd, const char *name, const struct lb_artifact *a);
int lb_data_verify_file(int data_fd, const char *name, const struct lb_artifact *a,
			uint64_t *ret_bytes);
int lb_archive_capture(const char *root, char *const *exclude, size_t n_exclude, int out_fd,
		       int level, const struct lb_key *key, const char *file,
		       void (*progress)(void *, uint64_t), void *pud, char sha256[65],
		       uint64_t *ret_size);
/* Several trees in one archive: each root's files under its prefix
 * ("" the archive's root), with its own exclusions (btrfs: a subvolume's
 * tree, its snapshot's, without the subvolumes nested in it). */
struct lb_archive_root {
	const char *dir;
	const char *prefix;
	char *const *exclude;
	size_t n_exclude;
	/* An earlier root of the same filesystem whose files this one's may
	 * share (a btrfs snapshot's parent), or NULL: a regular file of this
	 * root with the same bytes as the one at its path there (one link
	 * each, the same inode flags, lb_same_data) goes into the archive as
	 * a clone of that one's entry (CLONE_XATTR), without its data. */
	const struct lb_archive_root *clone_of;
};
int lb_archive_capture_roots(const struct lb_archive_root *roots, size_t n_roots, int out_fd,
			     int level, const struct lb_key *key, const char *file,
			     void (*progress)(void *, uint64_t), void *pud, char sha256[65],
			     uint64_t *ret_size);
/* A btrfs (on DEV) archived per subvolume, each from a read-only snapshot
 * when it is mounted read-write here (btrfs-capture.c); v->subvols and
 * v->data_source set. */
int lb_btrfs_archive(const char *dev, struct lb_volume *v, char *const *exclude, size_t n_exclude,
		     int out, int level, const struct lb_key *key, const char *file,
		     void (*progress)(void *, uint64_t), void *pud, char sha256[65],
		     uint64_t *ret_size);
/* Only the subvolumes of the btrfs on DEV into v->subvols (a capture
 * without its files: --data none or image). */
int lb_btrfs_record(const char *dev, struct lb_volume *v);
int lb_archive_extract(int data_fd, const char *name, const struct lb_artifact *a,
		       const char *root, void (*progress)(void *, uint64_t), void *pud);
/* What lb_archive_compare found: how many entries differ from the archive,
 * and the first LB_DIFFS_NAMED of them (the path, and what differs: the
 * first of type, mode, owner, modification time, size, device number, or
 * existence, hard link, link target, an xattr's name, readability,
 * content), in the archive's order. */
#define LB_DIFFS_NAMED 10
struct lb_archive_diffs {
	unsigned n;
	struct lb_archive_diff {
		char *path;
		char *what;
	} named[LB_DIFFS_NAMED];
};
void lb_archive_diffs_clear(struct lb_archive_diffs *d);
/* Compares a tree with the archive it came from into ret (cleared first;
 * clear it after, on a failure too: it holds what was found before). */
int lb_archive_compare(int data_fd, const char *name, const struct lb_artifact *a,
		       const char *root, struct lb_archive_diffs *ret);

/* ---- tree walk with read-ahead (walk.c) ------------------------------ */

struct lb_walk;
struct lb_walk_entry {
	const char *path;	/* absolute */
	const char *rel;	/* "./" for the root, "./a/b" below it */
	struct stat st;		/* lstat */
};

/* Walks root (one filesystem; paths under exclude and sockets left out)
 * on threads of its own, reading the files ahead of the consumer. */
int lb_walk_start(const char *root, char *const *exclude, size_t n_exclude, struct lb_walk **ret);
/* The same with the tree's names under PREFIX ("home": "./home",
 * "./home/..."; NULL or "": "./"); without the read-ahead unless AHEAD
 * (a tree whose files are mostly not read: a snapshot's clones). */
int lb_walk_start_at(const char *root, const char *prefix, char *const *exclude, size_t n_exclude,
		     bool ahead, struct lb_walk **ret);
/* 1 and the next entry (valid until the next call), 0 at the end, < 0 when
 * the walk failed. */
int lb_walk_next(struct lb_walk *w, struct lb_walk_entry *ret);
void lb_walk_free(struct lb_walk *w);

/* ---- a file's allocation (filemap.c) ---------------------------------- */

enum lb_alloc {
	LB_ALLOC_HOLE = 0,	/* (never in a map: what lies between ranges) */
	LB_ALLOC_DATA,		/* written */
	LB_ALLOC_UNWRITTEN,	/* allocated, reads as zeros (fallocate) */
};

struct lb_alloc_range {
	uint64_t off, len;
	enum lb_alloc kind;
};

/* In order, not touching ranges of one kind; holes are the gaps. */
struct lb_filemap {
	struct lb_alloc_range *r;
	size_t n, cap;
};

/* The map of the file's first size bytes (FIEMAP, with the file written
 * out first, checked against SEEK_DATA; SEEK_DATA alone where there is no
 * FIEMAP). Data is never mapped as a hole or unwritten. */
int lb_filemap_read(int fd, uint64_t size, struct lb_filemap *ret);
/* Appends a range after the last (the caller keeps them in order): one
 * range with the last when they touch and are of one kind; holes and empty
 * ranges are not kept. */
void lb_filemap_add(struct lb_filemap *m, uint64_t off, uint64_t len, enum lb_alloc kind);
/* One range of data from 0 to size (or size 0): no holes, nothing
 * preallocated. */
bool lb_filemap_dense(const struct lb_filemap *m, uint64_t size);
void lb_filemap_clear(struct lb_filemap *m);

/* Whether two regular files of size bytes hold the same bytes (same.c):
 * true when their extents are the same (a btrfs snapshot's file and its
 * parent's), or when read and compared where the extents prove nothing
 * (compressed, inline); false when they differ, or when their extents do
 * (the same bytes written twice count as different). */
bool lb_same_data(int a, int b, uint64_t size);
/* The same, but the bytes read where the extents differ: exact (a drill's
 * clone restored as a copy, where the target could not share extents). */
bool lb_same_bytes(int a, int b, uint64_t size);

#endif
