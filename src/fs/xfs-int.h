/* SPDX-License-Identifier: GPL-3.0-or-later */
/* xfs on disk, as lifeboat reads it (private to src/fs/ and its unit tests):
 * the primary superblock's fields (xfs_sb.c) and the free space of its
 * allocation groups (xfs_free.c). Every field on disk is big-endian; the
 * CRC32C of a v5 structure is stored little-endian. */
#ifndef LIFEBOAT_FS_XFS_INT_H
#define LIFEBOAT_FS_XFS_INT_H

#include <stdint.h>

#include "base/base.h"
#include "model/model.h"

#define XFS_SB_MAGIC 0x58465342u	/* "XFSB" */
#define XFS_AGF_MAGIC 0x58414746u	/* "XAGF" */
#define XFS_ABTB_MAGIC 0x41425442u	/* "ABTB": v4 bnobt block */
#define XFS_ABTB_CRC_MAGIC 0x41423342u	/* "AB3B": v5 bnobt block */

/* the superblock's offset of its CRC, the AGF's, a v5 short btree block's */
#define XFS_SB_CRC_OFF 224
#define XFS_AGF_CRC_OFF 216
#define XFS_BTREE_SBLOCK_CRC_OFF 52

/* sb_versionnum */
#define XFS_SB_VERSION_NUMBITS 0x000f
#define XFS_SB_VERSION_ATTRBIT 0x0010
#define XFS_SB_VERSION_NLINKBIT 0x0020
#define XFS_SB_VERSION_QUOTABIT 0x0040
#define XFS_SB_VERSION_ALIGNBIT 0x0080
#define XFS_SB_VERSION_DALIGNBIT 0x0100
#define XFS_SB_VERSION_SHAREDBIT 0x0200
#define XFS_SB_VERSION_LOGV2BIT 0x0400
#define XFS_SB_VERSION_SECTORBIT 0x0800
#define XFS_SB_VERSION_EXTFLGBIT 0x1000
#define XFS_SB_VERSION_DIRV2BIT 0x2000
#define XFS_SB_VERSION_BORGBIT 0x4000	/* ASCII case-insensitive names */
#define XFS_SB_VERSION_MOREBITSBIT 0x8000
/* sb_features2 */
#define XFS_SB_VERSION2_LAZYSBCOUNTBIT 0x0002
#define XFS_SB_VERSION2_ATTR2BIT 0x0008
#define XFS_SB_VERSION2_PARENTBIT 0x0010
#define XFS_SB_VERSION2_PROJID32BIT 0x0080
#define XFS_SB_VERSION2_CRCBIT 0x0100
#define XFS_SB_VERSION2_FTYPE 0x0200
/* sb_features_ro_compat */
#define XFS_SB_FEAT_RO_COMPAT_FINOBT 0x1
#define XFS_SB_FEAT_RO_COMPAT_RMAPBT 0x2
#define XFS_SB_FEAT_RO_COMPAT_REFLINK 0x4
#define XFS_SB_FEAT_RO_COMPAT_INOBTCNT 0x8
/* sb_features_incompat */
#define XFS_SB_FEAT_INCOMPAT_FTYPE 0x01
#define XFS_SB_FEAT_INCOMPAT_SPINODES 0x02
#define XFS_SB_FEAT_INCOMPAT_META_UUID 0x04
#define XFS_SB_FEAT_INCOMPAT_BIGTIME 0x08
#define XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR 0x10
#define XFS_SB_FEAT_INCOMPAT_NREXT64 0x20

/* The primary superblock's fields lifeboat uses, in host order. */
struct lb_xfs_sb {
	uint32_t block_size;
	uint64_t dblocks;
	uint64_t rblocks;
	uint64_t rextents;
	uint8_t uuid[16];
	uint64_t logstart;
	uint32_t rextsize;
	uint32_t agblocks;
	uint32_t agcount;
	uint32_t logblocks;
	uint16_t versionnum;
	uint16_t sectsize;
	uint16_t inodesize;
	uint8_t blocklog, sectlog, inodelog, inopblog, agblklog;
	uint8_t inprogress;
	uint8_t imax_pct;
	uint32_t unit, width;
	uint8_t dirblklog;
	uint8_t logsectlog;
	uint16_t logsectsize;
	uint32_t logsunit;
	uint32_t features2;
	uint32_t compat, ro_compat, incompat, log_incompat;
	uint8_t meta_uuid[16];
	char fname[13];
};

/* CRC32C (Castagnoli) of len bytes, continuing crc (start with ~0u; the
 * value stored is the complement, little-endian). */
uint32_t lb_xfs_crc32c(uint32_t crc, const void *buf, size_t len);
/* Whether the len bytes of a v5 structure hold their CRC at crc_off. */
bool lb_xfs_crc_ok(const uint8_t *buf, size_t len, size_t crc_off);

/* Parses the superblock in the len bytes at buf (at least 512): its magic,
 * a version lifeboat knows, sizes and logs that agree with each other and
 * (v5) its CRC over its sector. -EINVAL and a message when not. */
int lb_xfs_sb_parse(const uint8_t *buf, size_t len, struct lb_xfs_sb *ret);
/* Reads and parses the primary superblock at offset of fd. */
int lb_xfs_sb_read(int fd, uint64_t offset, struct lb_xfs_sb *ret);
/* The recorded geometry of a parsed superblock (-EOPNOTSUPP and a message
 * for what lifeboat cannot make again: a realtime or external log device,
 * a feature it does not know). */
int lb_xfs_geom_from_sb(const struct lb_xfs_sb *sb, struct lb_xfs_geom **ret);

/* Whether NAME is a feature name the manifest may give (crc, finobt, ...). */
bool lb_xfs_feature_known(const char *name);
/* Whether the recorded feature list of g holds NAME. */
bool lb_xfs_has_feature(const struct lb_xfs_geom *g, const char *name);

/* 0 when the internal log of the xfs at offset of fd ends in the record a
 * clean unmount writes; 1 when it is covered (from its tail to its head
 * only transactions that log the superblock alone: a frozen filesystem,
 * an LVM snapshot of a mounted one), so that all other metadata is on the
 * disk; -EUCLEAN and a message when neither (or when it cannot be told). */
int lb_xfs_log_clean(int fd, uint64_t offset, const struct lb_xfs_sb *sb);

/* Calls fn(ud, off, len) for each run of blocks in use (everything but the
 * free extents the allocation groups' bnobt lists), in bytes from the start
 * of the filesystem, in order; *ret_used (may be NULL) their sum. Only for
 * a clean or covered log (lb_xfs_log_clean). Refuses
 * (-EUCLEAN with a message) anything unexpected: a bad magic, CRC, level,
 * record count, an extent out of its group or out of order, a tree deeper
 * than the group allows. */
int lb_xfs_used_runs(int fd, uint64_t offset, uint64_t size, int (*fn)(void *, uint64_t, uint64_t),
		     void *ud, uint64_t *ret_used);

static inline uint16_t lb_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t lb_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t lb_be64(const uint8_t *p)
{
	return (uint64_t)lb_be32(p) << 32 | lb_be32(p + 4);
}

#endif
