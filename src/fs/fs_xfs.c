// SPDX-License-Identifier: GPL-3.0-or-later
/* xfs: the geometry mkfs.xfs needs to make the same filesystem again, read
 * from the primary superblock itself (xfs_sb.c), never from a tool's
 * output; made again with it, its UUID and label, and its metadata UUID
 * put back afterwards when it had one of its own (xfs_db, as xfs_admin -U
 * does). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/xfs-int.h"

#define XFS_MIN_SUPPORTED_BYTES (300ull << 20)
#define XFS_MIN_SUPPORTED_LOG_BYTES (64ull << 20)

static int xfs_read(const char *dev, int fd, uint64_t offset, uint64_t size, void **ret)
{
	struct lb_xfs_geom *g = NULL;
	struct lb_xfs_sb sb;
	int r;

	(void)dev;
	(void)size;
	r = lb_xfs_sb_read(fd, offset, &sb);
	if (r >= 0)
		r = lb_xfs_geom_from_sb(&sb, &g);
	if (r < 0)
		return r;
	*ret = g;
	return 0;
}

static int on(const struct lb_xfs_geom *g, const char *name)
{
	return lb_xfs_has_feature(g, name) ? 1 : 0;
}

/* the allocation group an internal log at block start lies in */
static uint64_t log_ag(const struct lb_xfs_geom *g)
{
	unsigned l = 0;

	while (l < 32 && (1u << l) < g->ag_blocks)
		l++;
	return g->log_start >> l;
}

/* -d, -i, -l, -n with the recorded geometry (-m and -b are the caller's) */
static void sections(char ***argv, const struct lb_xfs_geom *g)
{
	bool v4 = g->version == 4;
	uint32_t bb = g->block_size / 512;

	lb_argv_add(argv, "-d");
	if (g->stripe_unit)
		lb_argv_add(argv, "size=%" PRIu64 ",agsize=%" PRIu64 ",sunit=%u,swidth=%u",
			    g->blocks * g->block_size, (uint64_t)g->ag_blocks * g->block_size,
			    g->stripe_unit * bb, g->stripe_width * bb);
	else
		lb_argv_add(argv, "size=%" PRIu64 ",agsize=%" PRIu64, g->blocks * g->block_size,
			    (uint64_t)g->ag_blocks * g->block_size);
	lb_argv_add(argv, "-i");
	if (v4)
		lb_argv_add(argv, "size=%u,maxpct=%u,align=%d,attr=%d,projid32bit=%d", g->inode_size,
			    g->imaxpct, on(g, "align"), on(g, "attr2") ? 2 : 1, on(g, "projid32bit"));
	else
		lb_argv_add(argv, "size=%u,maxpct=%u,sparse=%d,nrext64=%d", g->inode_size, g->imaxpct,
			    on(g, "sparse"), on(g, "nrext64"));
	lb_argv_add(argv, "-l");
	if (v4)
		lb_argv_add(argv, "size=%" PRIu64 ",agnum=%" PRIu64 ",version=%u,lazy-count=%d",
			    (uint64_t)g->log_blocks * g->block_size, log_ag(g), g->log_version,
			    on(g, "lazy-count"));
	else
		lb_argv_add(argv, "size=%" PRIu64 ",agnum=%" PRIu64,
			    (uint64_t)g->log_blocks * g->block_size, log_ag(g));
	if (g->log_stripe_unit > 1) {
		lb_argv_add(argv, "-l");
		lb_argv_add(argv, "su=%u", g->log_stripe_unit);
	}
	if (v4 && g->log_sector_size && g->log_sector_size != g->sector_size) {
		lb_argv_add(argv, "-l");
		lb_argv_add(argv, "sectsize=%u", g->log_sector_size);
	}
	lb_argv_add(argv, "-n");
	if (v4)
		lb_argv_add(argv, "size=%u,version=%s,ftype=%d", g->dir_block_size,
			    on(g, "ascii-ci") ? "ci" : "2", on(g, "ftype"));
	else
		lb_argv_add(argv, "size=%u,version=%s", g->dir_block_size,
			    on(g, "ascii-ci") ? "ci" : "2");
}

static char **xfs_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	const struct lb_xfs_geom *g = v->xfs;
	/* with its own metadata UUID, it is made with that one and given its
	 * UUID afterwards (xfs_fixup), as xfs_admin -U would have done */
	const char *uuid = g && g->meta_uuid ? g->meta_uuid : v->uuid;
	char **argv = lb_argv_new("mkfs.xfs");
	_cleanup_free_ char *m = NULL;

	(void)quick;	/* (discarding or zeroing is the restore's, before mkfs) */
	lb_argv_add(&argv, "-f");
	lb_argv_add(&argv, "-q");
	lb_argv_add(&argv, "-K");
	if (v->label) {
		lb_argv_add(&argv, "-L");
		lb_argv_add(&argv, "%s", v->label);
	}
	if (!g) {
		if (uuid) {
			lb_argv_add(&argv, "-m");
			lb_argv_add(&argv, "uuid=%s", uuid);
		}
		lb_argv_add(&argv, "%s", dev);
		return argv;
	}
	/* mkfs.xfs 5.19 and later refuse to make what they no longer call
	 * supported (under 300 MB, a log under 64 MB) unless told: older ones
	 * made such filesystems by default, and the same one is wanted */
	if (g->blocks * g->block_size < XFS_MIN_SUPPORTED_BYTES ||
	    (uint64_t)g->log_blocks * g->block_size < XFS_MIN_SUPPORTED_LOG_BYTES)
		lb_argv_add(&argv, "--unsupported");
	lb_argv_add(&argv, "-b");
	lb_argv_add(&argv, "size=%u", g->block_size);
	lb_argv_add(&argv, "-s");
	lb_argv_add(&argv, "size=%u", g->sector_size);
	if (g->version == 4)
		m = lb_strdup("crc=0,finobt=0");
	else
		m = lb_asprintf("crc=1,finobt=%d,rmapbt=%d,reflink=%d,inobtcount=%d,bigtime=%d",
				on(g, "finobt"), on(g, "rmapbt"), on(g, "reflink"), on(g, "inobtcount"),
				on(g, "bigtime"));
	if (uuid) {
		char *n = lb_asprintf("%s,uuid=%s", m, uuid);

		free(m);
		m = n;
	}
	lb_argv_add(&argv, "-m");
	lb_argv_add(&argv, "%s", m);
	sections(&argv, g);
	lb_argv_add(&argv, "%s", dev);
	return argv;
}

/* The UUID, over the metadata UUID mkfs.xfs was given: xfs_db's uuid
 * command (what xfs_admin -U runs) keeps the metadata UUID on a v5 xfs. */
static int xfs_fixup(const struct lb_volume *v, const char *dev)
{
	_cleanup_free_ char *cmd = NULL;
	char *argv[6];
	int r;

	if (!v->xfs || !v->xfs->meta_uuid || !v->uuid)
		return 0;
	cmd = lb_asprintf("uuid %s", v->uuid);
	argv[0] = (char *)"xfs_db";
	argv[1] = (char *)"-x";
	argv[2] = (char *)"-c";
	argv[3] = cmd;
	argv[4] = (char *)dev;
	argv[5] = NULL;
	r = lb_run(argv, true);
	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "%s: xfs_db could not set the UUID %s over the metadata "
					       "UUID %s",
			      dev, v->uuid, v->xfs->meta_uuid);
	return 0;
}

static bool size_ok(uint32_t v, uint32_t lo, uint32_t hi)
{
	return lb_is_pow2(v) && v >= lo && v <= hi;
}

static int why(char **ret_why, const char *what)
{
	*ret_why = lb_asprintf("xfs geometry is not valid: %s", what);
	return -EINVAL;
}

/* The features: names lifeboat knows, crc exactly on version 5. */
static int check_features(const struct lb_xfs_geom *g, char **ret_why)
{
	_cleanup_free_ char *list = lb_strdup(g->features);
	char *save = NULL;

	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!lb_xfs_feature_known(w)) {
			*ret_why = lb_asprintf("xfs feature \"%s\" is not one lifeboat knows", w);
			return -EINVAL;
		}
	if ((g->version == 5) != lb_xfs_has_feature(g, "crc"))
		return why(ret_why, "crc goes with version 5 and only with it");
	if (g->meta_uuid) {
		uuid_t u;

		if (uuid_parse(g->meta_uuid, u) < 0 || !lb_xfs_has_feature(g, "meta_uuid"))
			return why(ret_why, "a meta-uuid needs the meta_uuid feature and a UUID");
	}
	return 0;
}

/* What mkfs.xfs accepts and what makes one filesystem: sizes in range and
 * powers of two, the groups covering the data blocks, the log inside one. */
static int xfs_check(const void *geom, char **ret_why)
{
	const struct lb_xfs_geom *g = geom;
	uint64_t cover;

	if (g->version != 4 && g->version != 5)
		return why(ret_why, "version is neither 4 nor 5");
	if (!size_ok(g->block_size, 512, 65536) || !size_ok(g->sector_size, 512, 32768) ||
	    g->sector_size > g->block_size)
		return why(ret_why, "block or sector size");
	if (!size_ok(g->inode_size, 256, 2048) || g->inode_size > g->block_size / 2)
		return why(ret_why, "inode size");
	if (!size_ok(g->dir_block_size, g->block_size, 65536))
		return why(ret_why, "directory block size");
	if (g->ag_count == 0 || g->ag_blocks < 16 || g->ag_blocks > (1u << 31))
		return why(ret_why, "allocation groups");
	cover = (uint64_t)g->ag_count * g->ag_blocks;
	if (g->blocks == 0 || g->blocks > cover || g->blocks <= cover - g->ag_blocks)
		return why(ret_why, "blocks and allocation groups disagree");
	if (g->imaxpct > 100)
		return why(ret_why, "imaxpct over 100");
	if ((g->stripe_unit == 0) != (g->stripe_width == 0) ||
	    (g->stripe_unit && g->stripe_width % g->stripe_unit) ||
	    g->stripe_width > g->ag_blocks)
		return why(ret_why, "stripe unit and width");
	if (g->log_blocks == 0 || g->log_blocks > g->ag_blocks || g->log_start == 0 ||
	    log_ag(g) >= g->ag_count || g->log_start >= ((uint64_t)g->ag_count << 32))
		return why(ret_why, "log size or place");
	if (g->log_version != 1 && g->log_version != 2)
		return why(ret_why, "log version");
	if (g->log_sector_size && !size_ok(g->log_sector_size, 512, 32768))
		return why(ret_why, "log sector size");
	if (g->log_stripe_unit > 256 * 1024)
		return why(ret_why, "log stripe unit over 256 KiB");
	return check_features(g, ret_why);
}

static int xfs_bytes(const void *geom, uint64_t *ret)
{
	const struct lb_xfs_geom *g = geom;

	if (__builtin_mul_overflow(g->blocks, (uint64_t)g->block_size, ret))
		return -EOVERFLOW;
	return 0;
}

static void xfs_free(void *g)
{
	lb_xfs_geom_free(g);
}

static int xfs_used(const char *dev, int fd, uint64_t offset, uint64_t size,
		    int (*fn)(void *, uint64_t, uint64_t), void *ud, uint64_t *ret_used)
{
	(void)dev;
	return lb_xfs_used_runs(fd, offset, size, fn, ud, ret_used);
}

static const struct lb_field xfs_fields[] = {
	LB_FIELD(lb_xfs_geom, "version", LB_F_U32, version, 0),
	LB_FIELD(lb_xfs_geom, "block-size", LB_F_U32, block_size, 0),
	LB_FIELD(lb_xfs_geom, "sector-size", LB_F_U32, sector_size, 0),
	LB_FIELD(lb_xfs_geom, "blocks", LB_F_U64, blocks, 0),
	LB_FIELD(lb_xfs_geom, "ag-count", LB_F_U32, ag_count, 0),
	LB_FIELD(lb_xfs_geom, "ag-blocks", LB_F_U32, ag_blocks, 0),
	LB_FIELD(lb_xfs_geom, "inode-size", LB_F_U32, inode_size, 0),
	LB_FIELD(lb_xfs_geom, "imaxpct", LB_F_U32, imaxpct, 0),
	LB_FIELD(lb_xfs_geom, "dir-block-size", LB_F_U32, dir_block_size, 0),
	LB_FIELD(lb_xfs_geom, "stripe-unit", LB_F_U32, stripe_unit, LB_F_OPT),
	LB_FIELD(lb_xfs_geom, "stripe-width", LB_F_U32, stripe_width, LB_F_OPT),
	LB_FIELD(lb_xfs_geom, "log-blocks", LB_F_U32, log_blocks, 0),
	LB_FIELD(lb_xfs_geom, "log-start", LB_F_U64, log_start, 0),
	LB_FIELD(lb_xfs_geom, "log-version", LB_F_U32, log_version, 0),
	LB_FIELD(lb_xfs_geom, "log-sector-size", LB_F_U32, log_sector_size, LB_F_OPT),
	LB_FIELD(lb_xfs_geom, "log-stripe-unit", LB_F_U32, log_stripe_unit, LB_F_OPT),
	LB_FIELD(lb_xfs_geom, "features", LB_F_STR, features, 0),
	LB_FIELD(lb_xfs_geom, "meta-uuid", LB_F_STR, meta_uuid, LB_F_OPT),
	LB_FIELD_END,
};

static const struct lb_fs_geom xfs_geom = {
	.element = "xfs",
	.fields = xfs_fields,
	.json = (const char *const[]){ "version", "block-size", "blocks", "ag-count", "inode-size",
				       "features", NULL },
	.size = sizeof(struct lb_xfs_geom),
	.slot = offsetof(struct lb_volume, xfs),
	.read = xfs_read,
	.check = xfs_check,
	.bytes = xfs_bytes,
	.free = xfs_free,
};

const struct lb_fs_ops lb_fs_xfs = {
	.type = "xfs",
	.program = "mkfs.xfs",
	.geom = &xfs_geom,
	.mkfs_argv = xfs_mkfs_argv,
	.fixup = xfs_fixup,
	.used = xfs_used,
};
