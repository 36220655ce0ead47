// SPDX-License-Identifier: GPL-3.0-or-later
/* The btrfs superblock, parsed from its bytes (little-endian fields at the
 * offsets of struct btrfs_super_block in the btrfs on-disk format), its
 * checksum checked, and the features lifeboat knows by name. Nothing here
 * trusts the disk: every size is checked before anything is derived from
 * it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"
#include "fs/xfs-int.h"

#define BTRFS_MAGIC "_BHRfS_M"

/* ---- checksums --------------------------------------------------------- */

static const char *const csum_names[] = { "crc32c", "xxhash", "sha256", "blake2" };

const char *lb_btrfs_csum_name(uint16_t type)
{
	return type < sizeof(csum_names) / sizeof(csum_names[0]) ? csum_names[type] : NULL;
}

static int hex_byte(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* the checksum of type of the len bytes at p into out (BTRFS_CSUM_SIZE) */
static int csum_of(uint16_t type, const uint8_t *p, size_t len, uint8_t out[BTRFS_CSUM_SIZE])
{
	memset(out, 0, BTRFS_CSUM_SIZE);
	if (type == 0) {
		uint32_t c = ~lb_xfs_crc32c(~0u, p, len);

		for (int i = 0; i < 4; i++)
			out[i] = (uint8_t)(c >> (8 * i));
		return 0;
	}
	if (type == 1) {
		uint64_t h = XXH64(p, len, 0);

		for (int i = 0; i < 8; i++)
			out[i] = (uint8_t)(h >> (8 * i));
		return 0;
	}
	if (type == 2) {
		char hex[65];
		int r = lb_sha256_buf(p, len, hex);

		if (r < 0)
			return r;
		for (int i = 0; i < 32; i++)
			out[i] = (uint8_t)(hex_byte(hex[2 * i]) << 4 | hex_byte(hex[2 * i + 1]));
		return 0;
	}
	return lb_err(-EOPNOTSUPP, "btrfs checksum type %s (%u) is not one lifeboat can check",
		      lb_btrfs_csum_name(type) ? lb_btrfs_csum_name(type) : "unknown", type);
}

int lb_btrfs_csum_ok(uint16_t type, const uint8_t *buf, size_t len)
{
	uint8_t c[BTRFS_CSUM_SIZE];
	int r;

	if (len < BTRFS_CSUM_SIZE)
		return 0;
	r = csum_of(type, buf + BTRFS_CSUM_SIZE, len - BTRFS_CSUM_SIZE, c);
	if (r < 0)
		return r;
	return memcmp(c, buf, BTRFS_CSUM_SIZE) == 0;
}

int lb_btrfs_csum_set(uint16_t type, uint8_t *buf, size_t len)
{
	if (len < BTRFS_CSUM_SIZE)
		return -EINVAL;
	return csum_of(type, buf + BTRFS_CSUM_SIZE, len - BTRFS_CSUM_SIZE, buf);
}

/* ---- features ---------------------------------------------------------- */

static const struct lb_btrfs_feature features[] = {
	{ "mixed_backref", NULL, false, 0, LB_BTRFS_FEAT_AUTO },
	{ "default_subvol", NULL, false, 1, LB_BTRFS_FEAT_USE },
	{ "mixed_groups", "mixed-bg", false, 2, LB_BTRFS_FEAT_MKFS_O },
	{ "compress_lzo", NULL, false, 3, LB_BTRFS_FEAT_USE },
	{ "compress_zstd", NULL, false, 4, LB_BTRFS_FEAT_USE },
	{ "big_metadata", NULL, false, 5, LB_BTRFS_FEAT_AUTO },
	{ "extended_iref", "extref", false, 6, LB_BTRFS_FEAT_MKFS_O },
	{ "raid56", "raid56", false, 7, LB_BTRFS_FEAT_MKFS_O },
	{ "skinny_metadata", "skinny-metadata", false, 8, LB_BTRFS_FEAT_MKFS_O },
	{ "no_holes", "no-holes", false, 9, LB_BTRFS_FEAT_MKFS_O },
	{ "metadata_uuid", NULL, false, 10, LB_BTRFS_FEAT_TUNE },
	{ "raid1c34", "raid1c34", false, 11, LB_BTRFS_FEAT_MKFS_O },
	{ "zoned", NULL, false, 12, LB_BTRFS_FEAT_NONE },
	{ "extent_tree_v2", NULL, false, 13, LB_BTRFS_FEAT_NONE },
	{ "raid_stripe_tree", NULL, false, 14, LB_BTRFS_FEAT_NONE },
	{ "simple_quota", NULL, false, 16, LB_BTRFS_FEAT_NONE },
	{ "free_space_tree", "free-space-tree", true, 0, LB_BTRFS_FEAT_MKFS_R },
	{ "free_space_tree_valid", NULL, true, 1, LB_BTRFS_FEAT_AUTO },
	{ "verity", NULL, true, 2, LB_BTRFS_FEAT_USE },
	{ "block_group_tree", NULL, true, 3, LB_BTRFS_FEAT_NONE },
};

const struct lb_btrfs_feature *lb_btrfs_feature_at(size_t i)
{
	return i < sizeof(features) / sizeof(features[0]) ? &features[i] : NULL;
}

const struct lb_btrfs_feature *lb_btrfs_feature_find(const char *name)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (strcmp(features[i].name, name) == 0)
			return &features[i];
	return NULL;
}

bool lb_btrfs_has_feature(const struct lb_btrfs_geom *g, const char *name)
{
	size_t n = strlen(name);

	if (!g->features)
		return false;
	for (const char *p = g->features; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && memcmp(p, name, n) == 0)
			return true;
		p += l;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* ---- the superblock ---------------------------------------------------- */

static int bad(const char *what)
{
	return lb_err(-EINVAL, "not a valid btrfs superblock: %s", what);
}

static void sb_fields(const uint8_t *b, struct lb_btrfs_sb *sb)
{
	const uint8_t *di = b + 0xc9;	/* dev_item */

	memset(sb, 0, sizeof(*sb));
	memcpy(sb->fsid, b + 0x20, 16);
	sb->bytenr = lb_le64(b + 0x30);
	sb->generation = lb_le64(b + 0x48);
	sb->root = lb_le64(b + 0x50);
	sb->chunk_root = lb_le64(b + 0x58);
	sb->log_root = lb_le64(b + 0x60);
	sb->total_bytes = lb_le64(b + 0x70);
	sb->bytes_used = lb_le64(b + 0x78);
	sb->num_devices = lb_le64(b + 0x88);
	sb->sectorsize = lb_le32(b + 0x90);
	sb->nodesize = lb_le32(b + 0x94);
	sb->sys_chunk_array_size = lb_le32(b + 0xa0);
	sb->compat = lb_le64(b + 0xac);
	sb->compat_ro = lb_le64(b + 0xb4);
	sb->incompat = lb_le64(b + 0xbc);
	sb->csum_type = lb_le16(b + 0xc4);
	sb->root_level = b[0xc6];
	sb->chunk_root_level = b[0xc7];
	sb->devid = lb_le64(di);
	sb->dev_total_bytes = lb_le64(di + 8);
	sb->dev_bytes_used = lb_le64(di + 16);
	memcpy(sb->dev_uuid, di + 66, 16);
	memcpy(sb->label, b + 0x12b, 256);
	sb->label[256] = '\0';
	if (sb->incompat & BTRFS_INCOMPAT_METADATA_UUID)
		memcpy(sb->metadata_uuid, b + 0x23b, 16);
	else
		memcpy(sb->metadata_uuid, sb->fsid, 16);
}

int lb_btrfs_sb_parse(const uint8_t *b, uint64_t at, struct lb_btrfs_sb *sb)
{
	int r;

	if (memcmp(b + 0x40, BTRFS_MAGIC, 8) != 0)
		return bad("no magic");
	sb_fields(b, sb);
	if (!lb_btrfs_csum_name(sb->csum_type))
		return bad("an unknown checksum type");
	r = lb_btrfs_csum_ok(sb->csum_type, b, BTRFS_SUPER_SIZE);
	if (r < 0)
		return r;
	if (r == 0)
		return bad("its checksum does not match");
	if (sb->bytenr != at)
		return bad("it is not where it says it is");
	if (!lb_is_pow2(sb->sectorsize) || sb->sectorsize < 4096 || sb->sectorsize > 65536)
		return bad("sector size");
	if (!lb_is_pow2(sb->nodesize) || sb->nodesize < sb->sectorsize || sb->nodesize > 65536)
		return bad("node size");
	if (sb->sys_chunk_array_size > BTRFS_SYS_CHUNK_ARRAY_MAX)
		return bad("system chunk array size");
	if (sb->num_devices == 0 || sb->devid == 0 || sb->chunk_root_level >= BTRFS_MAX_LEVEL)
		return bad("devices or chunk root level");
	if (sb->total_bytes == 0 || sb->dev_total_bytes == 0 || sb->chunk_root % sb->sectorsize)
		return bad("sizes");
	memcpy(sb->sys_chunk_array, b + 0x32b, sb->sys_chunk_array_size);
	return 0;
}

int lb_btrfs_sb_read(int fd, uint64_t offset, struct lb_btrfs_sb *ret)
{
	_cleanup_free_ uint8_t *buf = lb_zalloc(BTRFS_SUPER_SIZE);
	int r;

	r = lb_pread_all(fd, buf, BTRFS_SUPER_SIZE, offset + BTRFS_SUPER_OFF);
	if (r < 0)
		return lb_err(r, "cannot read the btrfs superblock: %s", strerror(-r));
	return lb_btrfs_sb_parse(buf, BTRFS_SUPER_OFF, ret);
}
