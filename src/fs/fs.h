/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Filesystems: one ops table entry per type, filled by the fs_<type>.c file
 * that knows it (reading its geometry, making it, fixing it up, describing
 * its geometry's fields for the manifest and show).
 *
 * Adding a filesystem: a new src/fs/fs_<type>.c defining its
 * `const struct lb_fs_ops lb_fs_<type>` (and, when it records geometry, a
 * struct in model.h, a pointer in struct lb_volume, its free in
 * lb_volume_free and its element in schema/lifeboat-manifest.rng), plus its
 * line in the table in fs.c. */
#ifndef LIFEBOAT_FS_FS_H
#define LIFEBOAT_FS_FS_H

#include "base/base.h"
#include "model/model.h"

/* A filesystem's recorded geometry: what making the same one again needs. */
struct lb_fs_geom {
	const char *element;		/* its manifest element, a child of <volume> */
	const struct lb_field *fields;	/* the element's attributes, in manifest order */
	const char *const *json;	/* the fields show --json gives, in its order */
	size_t size;			/* sizeof its struct (model.h) */
	size_t slot;			/* offsetof(struct lb_volume, <its pointer>) */
	/* reads it from the filesystem at offset (size bytes) of dev, open as fd */
	int (*read)(const char *dev, int fd, uint64_t offset, uint64_t size, void **ret);
	/* a loaded geometry its tools accept: 0, or -EINVAL and *ret_why (for
	 * "volume ID: <why>") */
	int (*check)(const void *g, char **ret_why);
	/* *ret: the bytes it spans; -EOVERFLOW (*ret wrapped) when that overflows */
	int (*bytes)(const void *g, uint64_t *ret);
	void (*free)(void *g);	/* accepts NULL */
};

struct lb_fs_ops {
	const char *type;	/* blkid TYPE */
	const char *program;	/* the mkfs it runs */
	const struct lb_fs_geom *geom;	/* NULL: only identity is recorded */
	/* argv for making vol on dev; the caller frees it with lb_argv_free */
	char **(*mkfs_argv)(const struct lb_volume *vol, const char *dev, bool quick);
	/* 0 when its mkfs can make v as recorded; else -EOPNOTSUPP and
	 * *ret_why naming what it cannot make (a plan refusal; may be NULL) */
	int (*can_make)(const struct lb_volume *v, char **ret_why);
	/* what mkfs cannot set, put right afterwards (may be NULL) */
	int (*fixup)(const struct lb_volume *vol, const char *dev);
	/* calls fn(ud, off, len) for each run of bytes the filesystem at offset
	 * (size bytes) of dev, open as fd, uses, in order, and sums them into
	 * *ret_used (may be NULL); -errno when it cannot tell (the caller images
	 * the whole volume then). NULL: the whole volume is in use. */
	int (*used)(const char *dev, int fd, uint64_t offset, uint64_t size,
		    int (*fn)(void *ud, uint64_t off, uint64_t len), void *ud, uint64_t *ret_used);
};

/* ---- the table (fs.c) -------------------------------------------------- */

const struct lb_fs_ops *lb_fs_ops_find(const char *type);
/* The i-th entry of the table; NULL past the last. */
const struct lb_fs_ops *lb_fs_ops_at(size_t i);
/* The i-th kind of geometry, each once, in manifest order; NULL past the last. */
const struct lb_fs_geom *lb_fs_geom_at(size_t i);
/* The kind of geometry whose manifest element is NAME; NULL when none. */
const struct lb_fs_geom *lb_fs_geom_find(const char *element);
/* A volume's geometry of that kind, NULL when it has none. */
void *lb_fs_geom_get(const struct lb_fs_geom *k, const struct lb_volume *v);
void lb_fs_geom_set(const struct lb_fs_geom *k, struct lb_volume *v, void *g);
/* Reads the geometry of v (its type, v->rt_offset and v->rt_size on dev,
 * open as fd) into v; 0 without reading for a type that records none.
 * What it records passes the checks a manifest is loaded with (the kind's
 * check, its extent within v->rt_size): -EINVAL and nothing recorded when
 * not, so no capture writes a manifest that will not load. */
int lb_fs_read_geom(struct lb_volume *v, const char *dev, int fd);

static inline bool lb_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Little-endian fields of on-disk structures. */
static inline uint16_t lb_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t lb_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t lb_le64(const uint8_t *p)
{
	return (uint64_t)lb_le32(p) | (uint64_t)lb_le32(p + 4) << 32;
}

bool lb_program_exists(const char *name);
void lb_argv_free(char **argv);
char **lb_argv_new(const char *first);
void lb_argv_add(char ***argv, const char *fmt, ...) _printf_(2, 3);

/* ---- one per filesystem (fs_<type>.c) --------------------------------- */

extern const struct lb_fs_ops lb_fs_ext2, lb_fs_ext3, lb_fs_ext4;
extern const struct lb_fs_ops lb_fs_vfat;
extern const struct lb_fs_ops lb_fs_swap;
extern const struct lb_fs_ops lb_fs_xfs;
extern const struct lb_fs_ops lb_fs_btrfs;

/* btrfs over several devices: the argv making v over devs (n, in devid
 * order), to be freed with lb_argv_free (fs_btrfs.c) */
char **lb_btrfs_mkfs_argv(const struct lb_volume *v, const char *const *devs, size_t n, bool quick);
/* After mkfs.btrfs made a btrfs over devs (n, in devid order), each
 * device's UUID set to the one recorded in vols[i] (btrfs_devuuid.c: its
 * superblock copies, the system chunk arrays, the chunk tree's device and
 * chunk items, checksums computed again); the kernel then scans them
 * again. 0 also when they are as recorded already. */
int lb_btrfs_set_dev_uuids(const char *const *devs, const struct lb_volume *const *vols, size_t n);
/* A drill's btrfs written from an image: dev's fsid made FSID before the
 * kernel ever scans it, so that it never takes dev for a device of the
 * filesystem the image was captured from: its superblock copies, and
 * every tree block on it (headers, the chunk tree's DEV_ITEMs), checksums
 * computed again; a btrfs with a metadata UUID of its own keeps it in its
 * tree blocks and changes its superblocks only (btrfs_devuuid.c). */
int lb_btrfs_set_fsid(const char *dev, const char *fsid);
/* A warning in m for each btrfs over several devices whose devices m does
 * not all record (a capture limited by --disk): it cannot be made again. */
void lb_btrfs_warn_partial(struct lb_manifest *m);

#endif
