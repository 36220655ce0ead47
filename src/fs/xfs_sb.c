// SPDX-License-Identifier: GPL-3.0-or-later
/* The xfs primary superblock, parsed from its bytes (big-endian fields at
 * the offsets of struct xfs_dsb in the xfs on-disk format), checked, and
 * turned into the geometry mkfs.xfs needs to make the same filesystem.
 * Nothing here trusts the disk: every size and log is checked against the
 * others before anything is derived from it. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/xfs-int.h"

/* ---- CRC32C ------------------------------------------------------------ */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t lb_xfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_init);
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

bool lb_xfs_crc_ok(const uint8_t *buf, size_t len, size_t crc_off)
{
	static const uint8_t zero[4];
	uint32_t crc, stored;

	if (crc_off + 4 > len)
		return false;
	crc = lb_xfs_crc32c(~0u, buf, crc_off);
	crc = lb_xfs_crc32c(crc, zero, 4);
	crc = ~lb_xfs_crc32c(crc, buf + crc_off + 4, len - crc_off - 4);
	stored = (uint32_t)buf[crc_off] | (uint32_t)buf[crc_off + 1] << 8 |
		 (uint32_t)buf[crc_off + 2] << 16 | (uint32_t)buf[crc_off + 3] << 24;
	return crc == stored;
}

/* ---- the superblock ---------------------------------------------------- */

static int bad(const char *what)
{
	return lb_err(-EINVAL, "not a valid xfs superblock: %s", what);
}

/* the smallest l with (1 << l) >= v */
static unsigned log2_roundup(uint64_t v)
{
	unsigned l = 0;

	while (l < 64 && ((uint64_t)1 << l) < v)
		l++;
	return l;
}

static void sb_fields(const uint8_t *b, struct lb_xfs_sb *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->block_size = lb_be32(b + 4);
	sb->dblocks = lb_be64(b + 8);
	sb->rblocks = lb_be64(b + 16);
	sb->rextents = lb_be64(b + 24);
	memcpy(sb->uuid, b + 32, 16);
	sb->logstart = lb_be64(b + 48);
	sb->rextsize = lb_be32(b + 80);
	sb->agblocks = lb_be32(b + 84);
	sb->agcount = lb_be32(b + 88);
	sb->logblocks = lb_be32(b + 96);
	sb->versionnum = lb_be16(b + 100);
	sb->sectsize = lb_be16(b + 102);
	sb->inodesize = lb_be16(b + 104);
	memcpy(sb->fname, b + 108, 12);
	sb->blocklog = b[120];
	sb->sectlog = b[121];
	sb->inodelog = b[122];
	sb->inopblog = b[123];
	sb->agblklog = b[124];
	sb->inprogress = b[126];
	sb->imax_pct = b[127];
	sb->unit = lb_be32(b + 184);
	sb->width = lb_be32(b + 188);
	sb->dirblklog = b[192];
	sb->logsectlog = b[193];
	sb->logsectsize = lb_be16(b + 194);
	sb->logsunit = lb_be32(b + 196);
	sb->features2 = lb_be32(b + 200);
	if ((sb->versionnum & XFS_SB_VERSION_NUMBITS) == 5) {
		sb->compat = lb_be32(b + 208);
		sb->ro_compat = lb_be32(b + 212);
		sb->incompat = lb_be32(b + 216);
		sb->log_incompat = lb_be32(b + 220);
		memcpy(sb->meta_uuid, b + 248, 16);
	}
}

/* The sizes and their logs agree, the groups cover the data section, the
 * internal log lies inside it. */
static int sb_check_sizes(const struct lb_xfs_sb *sb)
{
	uint64_t cover;

	if (sb->blocklog < 9 || sb->blocklog > 16 || sb->block_size != 1u << sb->blocklog)
		return bad("block size");
	if (sb->sectlog < 9 || sb->sectlog > 15 || sb->sectsize != 1u << sb->sectlog ||
	    sb->sectsize > sb->block_size)
		return bad("sector size");
	if (sb->inodelog < 8 || sb->inodelog > 11 || sb->inodesize != 1u << sb->inodelog ||
	    sb->inodesize > sb->block_size / 2 || sb->inopblog != sb->blocklog - sb->inodelog)
		return bad("inode size");
	if (sb->agcount == 0 || sb->agblocks < 16 || sb->agblklog != log2_roundup(sb->agblocks) ||
	    sb->agblklog > 31)
		return bad("allocation groups");
	cover = (uint64_t)sb->agcount * sb->agblocks;
	if (sb->dblocks == 0 || sb->dblocks > cover || sb->dblocks <= cover - sb->agblocks)
		return bad("data blocks and allocation groups disagree");
	if (sb->dirblklog > 16 - sb->blocklog)
		return bad("directory block size");
	if (sb->imax_pct > 100)
		return bad("imaxpct");
	if ((sb->unit == 0) != (sb->width == 0) || (sb->unit && sb->width % sb->unit))
		return bad("stripe unit and width");
	if (sb->logsectsize && (sb->logsectlog < 9 || sb->logsectlog > 15 ||
				sb->logsectsize != 1u << sb->logsectlog))
		return bad("log sector size");
	if (sb->logblocks == 0)
		return bad("log size");
	if (sb->logstart) {
		uint64_t agno = sb->logstart >> sb->agblklog;
		uint64_t agbno = sb->logstart & (((uint64_t)1 << sb->agblklog) - 1);

		if (agno >= sb->agcount || agbno + sb->logblocks > sb->agblocks)
			return bad("the internal log lies outside its allocation group");
	}
	if (sb->inprogress)
		return bad("mkfs.xfs did not finish making it");
	return 0;
}

int lb_xfs_sb_parse(const uint8_t *buf, size_t len, struct lb_xfs_sb *ret)
{
	struct lb_xfs_sb sb;
	unsigned version;
	int r;

	if (len < 512)
		return bad("short");
	if (lb_be32(buf) != XFS_SB_MAGIC)
		return bad("no XFSB magic");
	sb_fields(buf, &sb);
	version = sb.versionnum & XFS_SB_VERSION_NUMBITS;
	if (version != 4 && version != 5)
		return lb_err(-EINVAL, "xfs superblock version %u is not one lifeboat knows (4, 5)",
			      version);
	r = sb_check_sizes(&sb);
	if (r < 0)
		return r;
	if (version == 5 && (sb.sectsize > len || !lb_xfs_crc_ok(buf, sb.sectsize, XFS_SB_CRC_OFF)))
		return bad("its CRC does not match");
	*ret = sb;
	return 0;
}

int lb_xfs_sb_read(int fd, uint64_t offset, struct lb_xfs_sb *ret)
{
	_cleanup_free_ uint8_t *buf = lb_zalloc(32768);
	size_t sect;
	int r;

	r = lb_pread_all(fd, buf, 512, offset);
	if (r < 0)
		return lb_err(r, "cannot read the xfs superblock: %s", strerror(-r));
	sect = lb_be16(buf + 102);
	if (lb_be32(buf) == XFS_SB_MAGIC && sect > 512 && sect <= 32768 && lb_is_pow2(sect)) {
		r = lb_pread_all(fd, buf, sect, offset);
		if (r < 0)
			return lb_err(r, "cannot read the xfs superblock: %s", strerror(-r));
	} else {
		sect = 512;
	}
	return lb_xfs_sb_parse(buf, sect, ret);
}

/* ---- the geometry ------------------------------------------------------- */

/* Each feature lifeboat records, by the name the manifest gives it: where
 * its bit is (0 versionnum, 1 features2, 2 ro_compat, 3 incompat). */
static const struct {
	const char *name;
	int word;
	uint32_t bit;
} features[] = {
	{ "crc", 1, XFS_SB_VERSION2_CRCBIT },
	{ "finobt", 2, XFS_SB_FEAT_RO_COMPAT_FINOBT },
	{ "rmapbt", 2, XFS_SB_FEAT_RO_COMPAT_RMAPBT },
	{ "reflink", 2, XFS_SB_FEAT_RO_COMPAT_REFLINK },
	{ "inobtcount", 2, XFS_SB_FEAT_RO_COMPAT_INOBTCNT },
	{ "ftype", 3, XFS_SB_FEAT_INCOMPAT_FTYPE },
	{ "sparse", 3, XFS_SB_FEAT_INCOMPAT_SPINODES },
	{ "meta_uuid", 3, XFS_SB_FEAT_INCOMPAT_META_UUID },
	{ "bigtime", 3, XFS_SB_FEAT_INCOMPAT_BIGTIME },
	{ "nrext64", 3, XFS_SB_FEAT_INCOMPAT_NREXT64 },
	/* v4's own (v5 has them all, fixed) */
	{ "ftype", 1, XFS_SB_VERSION2_FTYPE },
	{ "attr2", 1, XFS_SB_VERSION2_ATTR2BIT },
	{ "lazy-count", 1, XFS_SB_VERSION2_LAZYSBCOUNTBIT },
	{ "projid32bit", 1, XFS_SB_VERSION2_PROJID32BIT },
	{ "align", 0, XFS_SB_VERSION_ALIGNBIT },
	{ "ascii-ci", 0, XFS_SB_VERSION_BORGBIT },
};

bool lb_xfs_feature_known(const char *name)
{
	for (size_t i = 0; i < LB_ARRAY_SIZE(features); i++)
		if (strcmp(features[i].name, name) == 0)
			return true;
	return false;
}

bool lb_xfs_has_feature(const struct lb_xfs_geom *g, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = g->features; p && (p = strstr(p, name)); p += n)
		if ((p == g->features || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static char *feature_names(const struct lb_xfs_sb *sb, bool v5)
{
	const uint32_t words[4] = { sb->versionnum, sb->features2, sb->ro_compat, sb->incompat };
	char *list = lb_strdup("");

	for (size_t i = 0; i < LB_ARRAY_SIZE(features); i++) {
		char *n;

		if (!(words[features[i].word] & features[i].bit))
			continue;
		/* v5 has ftype in incompat; features2's bit only means it on v4 */
		if (v5 && features[i].word == 1 && features[i].bit == XFS_SB_VERSION2_FTYPE)
			continue;
		n = lb_asprintf("%s%s%s", list, *list ? " " : "", features[i].name);
		free(list);
		list = n;
	}
	return list;
}

int lb_xfs_geom_from_sb(const struct lb_xfs_sb *sb, struct lb_xfs_geom **ret)
{
	const uint32_t ro_known = XFS_SB_FEAT_RO_COMPAT_FINOBT | XFS_SB_FEAT_RO_COMPAT_RMAPBT |
				  XFS_SB_FEAT_RO_COMPAT_REFLINK | XFS_SB_FEAT_RO_COMPAT_INOBTCNT;
	const uint32_t in_known = XFS_SB_FEAT_INCOMPAT_FTYPE | XFS_SB_FEAT_INCOMPAT_SPINODES |
				  XFS_SB_FEAT_INCOMPAT_META_UUID | XFS_SB_FEAT_INCOMPAT_BIGTIME |
				  XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR | XFS_SB_FEAT_INCOMPAT_NREXT64;
	bool v5 = (sb->versionnum & XFS_SB_VERSION_NUMBITS) == 5;
	struct lb_xfs_geom *g;

	if (sb->rblocks || sb->rextents)
		return lb_err(-EOPNOTSUPP, "the xfs has a realtime section (%" PRIu64 " blocks): "
					   "lifeboat cannot make its realtime device again",
			      sb->rblocks);
	if (!sb->logstart)
		return lb_err(-EOPNOTSUPP, "the xfs has its log on an external device: lifeboat cannot "
					   "make that log device again");
	if (sb->ro_compat & ~ro_known)
		return lb_err(-EOPNOTSUPP, "the xfs has read-only-compatible features 0x%x lifeboat "
					   "does not know",
			      sb->ro_compat & ~ro_known);
	if (sb->incompat & ~in_known)
		return lb_err(-EOPNOTSUPP, "the xfs has incompatible features 0x%x lifeboat does not "
					   "know",
			      sb->incompat & ~in_known);
	g = lb_xfs_geom_new();
	g->version = v5 ? 5 : 4;
	g->block_size = sb->block_size;
	g->sector_size = sb->sectsize;
	g->blocks = sb->dblocks;
	g->ag_count = sb->agcount;
	g->ag_blocks = sb->agblocks;
	g->inode_size = sb->inodesize;
	g->imaxpct = sb->imax_pct;
	g->dir_block_size = sb->block_size << sb->dirblklog;
	g->stripe_unit = sb->unit;
	g->stripe_width = sb->width;
	g->log_blocks = sb->logblocks;
	g->log_start = sb->logstart;
	g->log_version = (sb->versionnum & XFS_SB_VERSION_LOGV2BIT) ? 2 : 1;
	g->log_sector_size = sb->logsectsize;
	g->log_stripe_unit = sb->logsunit;
	g->features = feature_names(sb, v5);
	if (v5 && (sb->incompat & XFS_SB_FEAT_INCOMPAT_META_UUID) &&
	    memcmp(sb->meta_uuid, sb->uuid, 16) != 0) {
		char uu[37];

		uuid_unparse_lower(sb->meta_uuid, uu);
		g->meta_uuid = lb_strdup(uu);
	}
	*ret = g;
	return 0;
}
