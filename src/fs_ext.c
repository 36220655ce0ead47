// SPDX-License-Identifier: GPL-3.0-or-later
/* ext2/3/4: read what mke2fs needs to make the same filesystem again,
 * through libext2fs. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <e2p/e2p.h>
#include <ext2fs/ext2fs.h>
#include <uuid/uuid.h>

#include "lifeboat.h"

/* libext2fs reports errcode_t: one adapter to -errno plus a message. */
static int ext_err(errcode_t ec, const char *dev, const char *what)
{
	int e = (ec > 0 && ec < 4096) ? (int)ec : EIO;

	return lb_err(-e, "%s: %s: %s", dev, what, error_message(ec));
}

static char *append_word(char *list, const char *word)
{
	char *r;

	if (!list)
		return lb_strdup(word);
	r = lb_asprintf("%s %s", list, word);
	free(list);
	return r;
}

static char *feature_list(const struct ext2_super_block *sb)
{
	const __u32 sets[3] = { sb->s_feature_compat, sb->s_feature_incompat,
				sb->s_feature_ro_compat };
	const int kinds[3] = { E2P_FEATURE_COMPAT, E2P_FEATURE_INCOMPAT, E2P_FEATURE_RO_INCOMPAT };
	char *list = NULL;

	for (int k = 0; k < 3; k++)
		for (int bit = 0; bit < 32; bit++)
			if (sets[k] & (1u << bit))
				list = append_word(list, e2p_feature2string(kinds[k], 1u << bit));
	return list ? list : lb_strdup("");
}

static char *mntopt_list(unsigned opts)
{
	char *list = NULL;

	for (int bit = 0; bit < 32; bit++)
		if (opts & (1u << bit))
			list = append_word(list, e2p_mntopt2string(1u << bit));
	return list;
}

static char *fixed_string(const char *s, size_t max)
{
	char *r = lb_zalloc(max + 1);

	memcpy(r, s, max);
	if (!*r || !lb_utf8_is_printable(r)) {
		free(r);
		return NULL;
	}
	return r;
}

int lb_ext_read_geom(const char *dev, uint64_t offset, struct lb_ext_geom **ret)
{
	_cleanup_free_ char *opts = lb_asprintf("offset=%" PRIu64, offset);
	struct lb_ext_geom *g;
	struct ext2_super_block *sb;
	ext2_filsys fs = NULL;
	errcode_t ec;
	char uu[37];

	ec = ext2fs_open2(dev, opts, EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP, 0, 0, unix_io_manager,
			  &fs);
	if (ec)
		return ext_err(ec, dev, "cannot open the ext filesystem");
	sb = fs->super;
	g = lb_ext_geom_new();
	g->block_size = EXT2_BLOCK_SIZE(sb);
	g->cluster_size = EXT2_CLUSTER_SIZE(sb);
	g->blocks = ext2fs_blocks_count(sb);
	g->reserved_blocks = ext2fs_r_blocks_count(sb);
	g->inode_size = EXT2_INODE_SIZE(sb);
	g->inodes = sb->s_inodes_count;
	g->blocks_per_group = sb->s_blocks_per_group;
	g->inodes_per_group = sb->s_inodes_per_group;
	g->reserved_gdt_blocks = sb->s_reserved_gdt_blocks;
	g->desc_size = sb->s_desc_size;
	g->log_groups_per_flex = sb->s_log_groups_per_flex;
	g->min_extra_isize = sb->s_min_extra_isize;
	g->want_extra_isize = sb->s_want_extra_isize;
	g->raid_stride = sb->s_raid_stride;
	g->raid_stripe_width = sb->s_raid_stripe_width;
	g->rev = sb->s_rev_level;
	g->features = feature_list(sb);
	g->hash_alg = lb_strdup(e2p_hash2string(sb->s_def_hash_version));
	if (!uuid_is_null((const unsigned char *)sb->s_hash_seed)) {
		uuid_unparse_lower((const unsigned char *)sb->s_hash_seed, uu);
		g->hash_seed = lb_strdup(uu);
	}
	g->default_mount_opts = mntopt_list(sb->s_default_mount_opts);
	g->mount_opts = fixed_string((const char *)sb->s_mount_opts, sizeof(sb->s_mount_opts));
	g->last_mounted = fixed_string((const char *)sb->s_last_mounted, sizeof(sb->s_last_mounted));
	switch (sb->s_errors) {
	case EXT2_ERRORS_CONTINUE:
		g->errors = lb_strdup("continue");
		break;
	case EXT2_ERRORS_RO:
		g->errors = lb_strdup("remount-ro");
		break;
	case EXT2_ERRORS_PANIC:
		g->errors = lb_strdup("panic");
		break;
	}
	if (ext2fs_has_feature_casefold(sb))
		g->encoding = lb_strdup(e2p_encoding2str(sb->s_encoding));
	g->creator_os = e2p_os2string(sb->s_creator_os);
	if (ext2fs_has_feature_journal(sb) && sb->s_journal_inum) {
		struct ext2_inode inode;

		if (ext2fs_read_inode(fs, sb->s_journal_inum, &inode) == 0)
			g->journal_blocks = (uint32_t)(EXT2_I_SIZE(&inode) / g->block_size);
	}
	ext2fs_close_free(&fs);
	*ret = g;
	return 0;
}
