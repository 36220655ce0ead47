/* SPDX-License-Identifier: GPL-3.0-or-later */
/* btrfs on disk, as lifeboat reads it (private to src/fs/ and its unit
 * tests): a device's superblock (btrfs_sb.c) and the chunk tree that maps
 * the filesystem's logical addresses onto its devices (btrfs_chunk.c).
 * Every field on disk is little-endian. */
#ifndef LIFEBOAT_FS_BTRFS_INT_H
#define LIFEBOAT_FS_BTRFS_INT_H

#include <stdint.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

#define BTRFS_SUPER_OFF 65536ull	/* the primary copy */
#define BTRFS_SUPER_SIZE 4096u
#define BTRFS_CSUM_SIZE 32u
#define BTRFS_SYS_CHUNK_ARRAY_MAX 2048u
#define BTRFS_MAX_LEVEL 8u
#define BTRFS_HEADER_SIZE 101u
#define BTRFS_ITEM_SIZE 25u
#define BTRFS_KEY_PTR_SIZE 33u
#define BTRFS_CHUNK_SIZE 48u	/* without its stripes */
#define BTRFS_STRIPE_SIZE 32u
#define BTRFS_DEV_ITEM_SIZE 98u

/* key types and object ids of the chunk tree */
#define BTRFS_DEV_ITEM_KEY 216
#define BTRFS_CHUNK_ITEM_KEY 228
#define BTRFS_DEV_ITEMS_OBJECTID 1ull
#define BTRFS_FIRST_CHUNK_TREE_OBJECTID 256ull
#define BTRFS_CHUNK_TREE_OBJECTID 3ull

/* block group (chunk) type bits */
#define BTRFS_BG_DATA 0x1ull
#define BTRFS_BG_SYSTEM 0x2ull
#define BTRFS_BG_METADATA 0x4ull
#define BTRFS_BG_RAID0 0x8ull
#define BTRFS_BG_RAID1 0x10ull
#define BTRFS_BG_DUP 0x20ull
#define BTRFS_BG_RAID10 0x40ull
#define BTRFS_BG_RAID5 0x80ull
#define BTRFS_BG_RAID6 0x100ull
#define BTRFS_BG_RAID1C3 0x200ull
#define BTRFS_BG_RAID1C4 0x400ull
#define BTRFS_BG_PROFILES 0x7f8ull

/* incompat bits that matter to reading */
#define BTRFS_INCOMPAT_METADATA_UUID (1ull << 10)
#define BTRFS_INCOMPAT_ZONED (1ull << 12)
#define BTRFS_INCOMPAT_EXTENT_TREE_V2 (1ull << 13)
#define BTRFS_INCOMPAT_RAID_STRIPE_TREE (1ull << 14)
/* the incompat bits whose filesystems' free space trees lifeboat reads:
 * mixed_backref .. raid1c34 (0-11) and simple_quota (16); zoned, extent
 * tree v2, the raid stripe tree and any bit it does not know (the remap
 * tree, 17, moves data by a map of its own) change what the tree means
 * or where data lies */
#define BTRFS_INCOMPAT_FST_KNOWN (((1ull << 12) - 1) | (1ull << 16))
/* compat_ro bits: a free space tree, and one the kernel has kept whole */
#define BTRFS_COMPAT_RO_FREE_SPACE_TREE (1ull << 0)
#define BTRFS_COMPAT_RO_FREE_SPACE_TREE_VALID (1ull << 1)
/* free space tree (0), valid (1), verity (2), block group tree (3) */
#define BTRFS_COMPAT_RO_FST_KNOWN 0xfull

/* the root tree's item for the free space tree, and that tree's items */
#define BTRFS_ROOT_TREE_OBJECTID 1ull
#define BTRFS_FREE_SPACE_TREE_OBJECTID 10ull
#define BTRFS_ROOT_ITEM_KEY 132
#define BTRFS_FREE_SPACE_INFO_KEY 198
#define BTRFS_FREE_SPACE_EXTENT_KEY 199
#define BTRFS_FREE_SPACE_BITMAP_KEY 200
#define BTRFS_FREE_SPACE_USING_BITMAPS 1u

/* The superblock's fields lifeboat uses, in host order. */
struct lb_btrfs_sb {
	uint8_t fsid[16];
	uint8_t metadata_uuid[16];	/* the fsid unless METADATA_UUID */
	uint64_t bytenr;
	uint64_t generation;
	uint64_t root;
	uint64_t chunk_root;
	uint64_t log_root;	/* 0 unless a log is left to replay */
	uint64_t total_bytes;
	uint64_t bytes_used;
	uint64_t num_devices;
	uint32_t sectorsize;
	uint32_t nodesize;
	uint32_t sys_chunk_array_size;
	uint64_t compat, compat_ro, incompat;
	uint16_t csum_type;
	uint8_t root_level;
	uint8_t chunk_root_level;
	/* this device (the superblock's dev_item) */
	uint64_t devid;
	uint64_t dev_total_bytes;
	uint64_t dev_bytes_used;
	uint8_t dev_uuid[16];
	char label[257];
	uint8_t sys_chunk_array[BTRFS_SYS_CHUNK_ARRAY_MAX];
};

/* The checksum types btrfs has, by csum_type: their names ("crc32c",
 * "xxhash", "sha256", "blake2"), NULL past the last. */
const char *lb_btrfs_csum_name(uint16_t type);
/* Whether the checksum of type in the first BTRFS_CSUM_SIZE bytes of buf
 * is that of the len - 32 bytes after them: 1 when it is, 0 when not,
 * -EOPNOTSUPP (and a message naming it) for a type lifeboat cannot compute. */
int lb_btrfs_csum_ok(uint16_t type, const uint8_t *buf, size_t len);
/* Writes the checksum of type of buf's len - 32 bytes after the first 32
 * into them (-EOPNOTSUPP as above). */
int lb_btrfs_csum_set(uint16_t type, uint8_t *buf, size_t len);

/* Parses the superblock in the BTRFS_SUPER_SIZE bytes at buf, found at
 * byte `at` of its device: its magic, its checksum, sizes that agree with
 * each other. -EINVAL and a message when not; -EOPNOTSUPP when its
 * checksum type is one lifeboat cannot check. */
int lb_btrfs_sb_parse(const uint8_t *buf, uint64_t at, struct lb_btrfs_sb *ret);
/* Reads and parses the primary superblock of the btrfs at offset of fd. */
int lb_btrfs_sb_read(int fd, uint64_t offset, struct lb_btrfs_sb *ret);

/* One chunk: a run of logical addresses and where its stripes lie. */
struct lb_btrfs_stripe {
	uint64_t devid;
	uint64_t offset;	/* bytes from the start of that device */
	uint8_t dev_uuid[16];
};

struct lb_btrfs_chunk {
	uint64_t logical;
	uint64_t length;
	uint64_t type;		/* BTRFS_BG_* */
	uint64_t stripe_len;
	uint16_t num_stripes;
	uint16_t sub_stripes;
	struct lb_btrfs_stripe *stripes;
};

/* The chunk tree read from one device of a btrfs. */
struct lb_btrfs_chunks {
	struct lb_btrfs_chunk *v;
	size_t n;
	size_t alloc;
	/* the devices its DEV_ITEMs name */
	struct lb_btrfs_stripe *devs;	/* devid and dev_uuid; offset unused */
	size_t n_devs;
};

void lb_btrfs_chunks_free(struct lb_btrfs_chunks *c);
/* Reads every chunk of the btrfs at offset (size bytes) of fd, whose
 * superblock is sb: the system chunks of sys_chunk_array, then the chunk
 * tree's items, each tree block read from a copy on this device, its
 * checksum, place, owner and level checked. -EUCLEAN and a message for
 * anything unexpected; -ENXIO when a tree block has no copy on this
 * device. The chunks are sorted by logical address and do not overlap. */
int lb_btrfs_chunks_read(int fd, uint64_t offset, uint64_t size, const struct lb_btrfs_sb *sb,
			 struct lb_btrfs_chunks *ret);
/* A copy on this device (sb->devid; a volume of SIZE bytes at OFFSET in
 * FD) of tree block LOGICAL, which lies in chunk C, into BUF (sb->nodesize
 * bytes): one whose checksum, place, fsid, owner, level and generation (0:
 * any) are right. Returns 0; -ERANGE when C is striped or too short to
 * hold it; -ENXIO when no stripe of C is on this device; -EUCLEAN when no
 * copy here is whole; another -errno when the checksum cannot be computed. */
int lb_btrfs_block_copy(int fd, uint64_t offset, uint64_t size, const struct lb_btrfs_sb *sb,
			const struct lb_btrfs_chunk *c, uint64_t logical, unsigned level,
			uint64_t owner, uint64_t gen, uint8_t *buf);
/* The bytes a chunk takes on each device holding one of its stripes. */
uint64_t lb_btrfs_stripe_bytes(const struct lb_btrfs_chunk *c);
/* A profile's name for the BTRFS_BG_* bits of a chunk ("single" for none). */
const char *lb_btrfs_profile_name(uint64_t type);
/* The BTRFS_BG_* profile bit of a name; 0 for "single", -1 when unknown. */
int64_t lb_btrfs_profile_bits(const char *name);

/* The free space of a btrfs from its free space tree: the block groups it
 * describes and their free logical ranges, in order. */
struct lb_btrfs_range {
	uint64_t start, len;
};

struct lb_btrfs_free {
	struct lb_btrfs_range *bg;	/* the block groups with a FREE_SPACE_INFO */
	size_t n_bg;
	struct lb_btrfs_range *free;	/* their free ranges, sorted, apart */
	size_t n_free;
};

void lb_btrfs_free_free(struct lb_btrfs_free *f);
/* Reads the free space tree of the btrfs whose superblock is sb and chunks
 * cs (from fd at offset, size bytes), each tree block from a copy on this
 * device, checked (checksum, place, fsid, owner, level, generation), keys
 * in order, every free range inside its block group and each block
 * group's extent count what its ranges make. -EOPNOTSUPP when there is no
 * valid free space tree to read (or a log to replay, or an incompat or
 * compat_ro feature not among those it knows: zoned, extent tree v2, the
 * raid stripe tree and the remap tree change what it means); -EUCLEAN or
 * -ENXIO (and a message) when it cannot be read whole. */
int lb_btrfs_free_read(int fd, uint64_t offset, uint64_t size, const struct lb_btrfs_sb *sb,
		       const struct lb_btrfs_chunks *cs, struct lb_btrfs_free *ret);

/* Calls fn(ud, off, len) for each run of bytes of the device at offset of
 * fd (size bytes) that its btrfs uses: the superblock copies that fit and
 * the stripes of every chunk on this device, in order, merged; *ret_used
 * (may be NULL) their sum. Of a data chunk whose every stripe holds all of
 * it (single, dup, raid1, raid1c3, raid1c4), only the ranges its free
 * space tree does not call free, when that tree can be read whole. */
int lb_btrfs_used_runs(int fd, uint64_t offset, uint64_t size, int (*fn)(void *, uint64_t, uint64_t),
		       void *ud, uint64_t *ret_used);

/* The geometry recorded of a device's superblock and its chunks. */
int lb_btrfs_geom_from(const struct lb_btrfs_sb *sb, const struct lb_btrfs_chunks *c,
		       struct lb_btrfs_geom **ret);

/* The features lifeboat knows: the names of the bits of sb's incompat and
 * compat_ro flags, and how each is made again. */
enum lb_btrfs_feat_how {
	LB_BTRFS_FEAT_MKFS_O,	/* mkfs.btrfs -O NAME (or ^NAME) */
	LB_BTRFS_FEAT_MKFS_R,	/* mkfs.btrfs -R NAME (or ^NAME) */
	LB_BTRFS_FEAT_AUTO,	/* mkfs.btrfs sets it itself (always, or from the sizes) */
	LB_BTRFS_FEAT_USE,	/* appears by use: the data restored brings it */
	LB_BTRFS_FEAT_TUNE,	/* btrfstune afterwards (metadata_uuid) */
	LB_BTRFS_FEAT_NONE,	/* mkfs.btrfs 6.2 cannot make it */
};

struct lb_btrfs_feature {
	const char *name;	/* the manifest's */
	const char *option;	/* mkfs.btrfs's name for -O / -R */
	bool ro;		/* a compat_ro bit, else incompat */
	unsigned bit;
	enum lb_btrfs_feat_how how;
};

/* The i-th feature lifeboat knows; NULL past the last. */
const struct lb_btrfs_feature *lb_btrfs_feature_at(size_t i);
const struct lb_btrfs_feature *lb_btrfs_feature_find(const char *name);
/* Whether the recorded feature list of g holds NAME. */
bool lb_btrfs_has_feature(const struct lb_btrfs_geom *g, const char *name);

#endif
