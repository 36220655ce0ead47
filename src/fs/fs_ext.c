// SPDX-License-Identifier: GPL-3.0-or-later
/* ext2/3/4: read what mke2fs needs to make the same filesystem again,
 * through libext2fs. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <e2p/e2p.h>
#include <ext2fs/ext2fs.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"

#define EXT_LOG_FLEX_MAX 31	/* the kernel's limit (ext4_fill_flex_info) */

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

/* libe2p names unknown features and options in static buffers, and the
 * scanner reads disks in parallel: one reader at a time. */
static pthread_mutex_t e2p_lock = PTHREAD_MUTEX_INITIALIZER;

static int ext_read_locked(const char *dev, uint64_t offset, struct lb_ext_geom **ret)
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

static int ext_read(const char *dev, int fd, uint64_t offset, uint64_t size, void **ret)
{
	struct lb_ext_geom *g = NULL;
	int r;

	(void)fd;
	(void)size;
	pthread_mutex_lock(&e2p_lock);
	r = ext_read_locked(dev, offset, &g);
	pthread_mutex_unlock(&e2p_lock);
	if (r >= 0)
		*ret = g;
	return r;
}

/* Features that describe a filesystem's state, not its making. */
static bool runtime_feature(const char *f)
{
	return strcmp(f, "needs_recovery") == 0 || strcmp(f, "orphan_present") == 0 ||
	       strcmp(f, "mmp") == 0 || strcmp(f, "snapshot_bitmap") == 0;
}

static char **ext_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	const struct lb_ext_geom *g = v->ext;
	char **argv = lb_argv_new("mke2fs");
	_cleanup_free_ char *feat = lb_strdup("none"), *list = NULL;
	_cleanup_free_ char *ext = NULL;
	char *save = NULL;

	lb_argv_add(&argv, "-F");
	lb_argv_add(&argv, "-q");
	lb_argv_add(&argv, "-t");
	lb_argv_add(&argv, "%s", v->type);
	if (v->uuid) {
		lb_argv_add(&argv, "-U");
		lb_argv_add(&argv, "%s", v->uuid);
	}
	if (v->label) {
		lb_argv_add(&argv, "-L");
		lb_argv_add(&argv, "%s", v->label);
	}
	if (!g) {
		lb_argv_add(&argv, "%s", dev);
		return argv;
	}
	list = lb_strdup(g->features);
	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *n;

		if (runtime_feature(w))
			continue;
		n = lb_asprintf("%s,%s", feat, w);
		free(feat);
		feat = n;
	}
	lb_argv_add(&argv, "-O");
	lb_argv_add(&argv, "%s", feat);
	lb_argv_add(&argv, "-b");
	lb_argv_add(&argv, "%u", g->block_size);
	if (g->cluster_size > g->block_size) {
		lb_argv_add(&argv, "-C");
		lb_argv_add(&argv, "%u", g->cluster_size);
	}
	lb_argv_add(&argv, "-I");
	lb_argv_add(&argv, "%u", g->inode_size);
	lb_argv_add(&argv, "-N");
	lb_argv_add(&argv, "%" PRIu64, g->inodes);
	lb_argv_add(&argv, "-g");
	lb_argv_add(&argv, "%u", g->blocks_per_group);
	if (g->log_groups_per_flex && g->log_groups_per_flex <= EXT_LOG_FLEX_MAX) {
		lb_argv_add(&argv, "-G");
		lb_argv_add(&argv, "%u", 1u << g->log_groups_per_flex);
	}
	lb_argv_add(&argv, "-r");
	lb_argv_add(&argv, "%u", g->rev);
	lb_argv_add(&argv, "-m");
	lb_argv_add(&argv, "0"); /* the exact count is set afterwards */
	if (g->journal_blocks && (uint64_t)g->journal_blocks * g->block_size % (1 << 20) == 0) {
		lb_argv_add(&argv, "-J");
		lb_argv_add(&argv, "size=%" PRIu64, (uint64_t)g->journal_blocks * g->block_size >> 20);
	}
	ext = lb_asprintf("lazy_itable_init=%d,lazy_journal_init=%d,nodiscard", quick ? 1 : 0,
			  quick ? 1 : 0);
#define EXT_OPT(fmt, ...)                                                  \
	do {                                                               \
		char *n_ = lb_asprintf("%s," fmt, ext, __VA_ARGS__);        \
		free(ext);                                                 \
		ext = n_;                                                  \
	} while (0)
	if (g->hash_seed)
		EXT_OPT("hash_seed=%s", g->hash_seed);
	if (g->raid_stride)
		EXT_OPT("stride=%u", g->raid_stride);
	if (g->raid_stripe_width)
		EXT_OPT("stripe_width=%u", g->raid_stripe_width);
	if (g->encoding)
		EXT_OPT("encoding=%s", g->encoding);
	if (g->mount_opts && !strchr(g->mount_opts, ','))
		EXT_OPT("mount_opts=%s", g->mount_opts);
#undef EXT_OPT
	lb_argv_add(&argv, "-E");
	lb_argv_add(&argv, "%s", ext);
	if (g->errors) {
		lb_argv_add(&argv, "-e");
		lb_argv_add(&argv, "%s", g->errors);
	}
	lb_argv_add(&argv, "%s", dev);
	lb_argv_add(&argv, "%" PRIu64, g->blocks);
	return argv;
}

/* What mke2fs has no option for: the exact reserved block count, the
 * default mount options, the min/want extra inode sizes, the creator. */
static int ext_fixup(const struct lb_volume *v, const char *dev)
{
	const struct lb_ext_geom *g = v->ext;
	struct ext2_super_block *sb;
	ext2_filsys fs = NULL;
	errcode_t ec;
	__u32 defm = 0;
	_cleanup_free_ char *list = NULL;
	char *save = NULL;

	if (!g)
		return 0;
	ec = ext2fs_open2(dev, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (ec)
		return ext_err(ec, dev, "cannot open the new filesystem");
	sb = fs->super;
	ext2fs_r_blocks_count_set(sb, g->reserved_blocks);
	list = lb_strdup(g->default_mount_opts ? g->default_mount_opts : "");
	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (e2p_edit_mntopts(w, &defm, ~0u) != 0)
			lb_debug("format", "%s: unknown default mount option %s", dev, w);
	sb->s_default_mount_opts = defm;
	if (g->min_extra_isize)
		sb->s_min_extra_isize = (__u16)g->min_extra_isize;
	if (g->want_extra_isize)
		sb->s_want_extra_isize = (__u16)g->want_extra_isize;
	if (g->creator_os) {
		int os = e2p_string2os(g->creator_os);


		if (os >= 0)
			sb->s_creator_os = (__u32)os;
	}
	ext2fs_mark_super_dirty(fs);
	ec = ext2fs_close_free(&fs);
	if (ec)
		return ext_err(ec, dev, "cannot write the superblock");
	return 0;
}

/* What mke2fs accepts: block and inode sizes, a flex group count it can
 * shift (1 << log-groups-per-flex), an encoding it knows by name (what goes
 * into -E encoding=...: e2p_str2encoding is mke2fs's own lookup). */
static int ext_check(const void *geom, char **ret_why)
{
	const struct lb_ext_geom *g = geom;

	if (!lb_is_pow2(g->block_size) || g->block_size < 1024 || g->block_size > 65536 ||
	    !lb_is_pow2(g->inode_size) || g->inode_size < 128 || g->inode_size > g->block_size ||
	    g->log_groups_per_flex > EXT_LOG_FLEX_MAX) {
		*ret_why = lb_asprintf("ext geometry is not valid (block size %u, inode size %u, "
				       "log-groups-per-flex %u)",
				       g->block_size, g->inode_size, g->log_groups_per_flex);
		return -EINVAL;
	}
	if (g->encoding && e2p_str2encoding(g->encoding) < 0) {
		*ret_why = lb_asprintf("ext encoding \"%s\" is not one mke2fs knows (utf8, "
				       "utf8-12.1)", g->encoding);
		return -EINVAL;
	}
	return 0;
}

static int ext_bytes(const void *geom, uint64_t *ret)
{
	const struct lb_ext_geom *g = geom;

	if (__builtin_mul_overflow(g->blocks, (uint64_t)g->block_size, ret))
		return -EOVERFLOW;
	return 0;
}

static void ext_free(void *g)
{
	lb_ext_geom_free(g);
}

static const struct lb_field ext_fields[] = {
	LB_FIELD(lb_ext_geom, "block-size", LB_F_U32, block_size, 0),
	LB_FIELD(lb_ext_geom, "cluster-size", LB_F_U32, cluster_size, 0),
	LB_FIELD(lb_ext_geom, "blocks", LB_F_U64, blocks, 0),
	LB_FIELD(lb_ext_geom, "reserved-blocks", LB_F_U64, reserved_blocks, 0),
	LB_FIELD(lb_ext_geom, "inode-size", LB_F_U32, inode_size, 0),
	LB_FIELD(lb_ext_geom, "inodes", LB_F_U64, inodes, 0),
	LB_FIELD(lb_ext_geom, "blocks-per-group", LB_F_U32, blocks_per_group, 0),
	LB_FIELD(lb_ext_geom, "inodes-per-group", LB_F_U32, inodes_per_group, 0),
	LB_FIELD(lb_ext_geom, "reserved-gdt-blocks", LB_F_U32, reserved_gdt_blocks, 0),
	LB_FIELD(lb_ext_geom, "desc-size", LB_F_U32, desc_size, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "log-groups-per-flex", LB_F_U32, log_groups_per_flex, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "journal-blocks", LB_F_U32, journal_blocks, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "min-extra-isize", LB_F_U32, min_extra_isize, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "want-extra-isize", LB_F_U32, want_extra_isize, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "raid-stride", LB_F_U32, raid_stride, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "raid-stripe-width", LB_F_U32, raid_stripe_width, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "revision", LB_F_U32, rev, 0),
	LB_FIELD(lb_ext_geom, "features", LB_F_STR, features, 0),
	LB_FIELD(lb_ext_geom, "hash-alg", LB_F_STR, hash_alg, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "hash-seed", LB_F_STR, hash_seed, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "default-mount-options", LB_F_STR, default_mount_opts, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "mount-options", LB_F_STR, mount_opts, LB_F_OPT | LB_F_HEX),
	LB_FIELD(lb_ext_geom, "errors", LB_F_STR, errors, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "encoding", LB_F_STR, encoding, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "creator-os", LB_F_STR, creator_os, LB_F_OPT),
	LB_FIELD(lb_ext_geom, "last-mounted", LB_F_STR, last_mounted, LB_F_OPT | LB_F_HEX),
	LB_FIELD_END,
};

static const struct lb_fs_geom ext_geom = {
	.element = "ext",
	.fields = ext_fields,
	.json = (const char *const[]){ "block-size", "blocks", "inode-size", "inodes",
				       "reserved-blocks", "features", NULL },
	.size = sizeof(struct lb_ext_geom),
	.slot = offsetof(struct lb_volume, ext),
	.read = ext_read,
	.check = ext_check,
	.bytes = ext_bytes,
	.free = ext_free,
};

/* one geometry, three types */
#define EXT_OPS(name)                          \
	{                                      \
		.type = name,                  \
		.program = "mke2fs",           \
		.geom = &ext_geom,             \
		.mkfs_argv = ext_mkfs_argv,    \
		.fixup = ext_fixup,            \
	}
const struct lb_fs_ops lb_fs_ext2 = EXT_OPS("ext2");
const struct lb_fs_ops lb_fs_ext3 = EXT_OPS("ext3");
const struct lb_fs_ops lb_fs_ext4 = EXT_OPS("ext4");
