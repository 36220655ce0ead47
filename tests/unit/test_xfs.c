// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for xfs (src/fs/xfs_sb.c, xfs_free.c, xfs_log.c, fs_xfs.c) on
 * image files, no devices: the superblock of filesystems mkfs.xfs made,
 * read back with the options it was given; the geometry made again from
 * its own mkfs.xfs argv (and the metadata-UUID fix-up) into an identical
 * superblock; crafted superblocks (a bad CRC, sizes that disagree, a
 * realtime section, an external log, unknown features) refused; the used
 * runs of a real filesystem in order and covering its metadata, refused
 * when a free-space tree block or the log is damaged; a log covered by a
 * superblock transaction (as a freeze leaves it) taken for clean, one
 * that logs anything else (another buffer, an inode, a grown size) not; the checks a loaded
 * geometry passes. Skipped without mkfs.xfs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "base/spawn.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/xfs-int.h"

#define UUID_A "6c1fe0b0-00a1-4c1f-8a00-0000000000a1"
#define UUID_B "6c1fe0b0-00b2-4c1f-8a00-0000000000b2"

static char dir[] = "/tmp/lifeboat-test-xfs.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *argv[] = { (char *)"rm", (char *)"-rf", dir, NULL };

	(void)state;
	return lb_run(argv, true) == 0 ? 0 : -1;
}

static char *image(const char *name, const char *size)
{
	char *p = lb_asprintf("%s/%s", dir, name);
	char *argv[] = { (char *)"truncate", (char *)"-s", (char *)size, p, NULL };

	unlink(p);
	assert_int_equal(lb_run(argv, true), 0);
	return p;
}

/* mkfs.xfs with the options (NULL-terminated) onto a fresh image file */
static char *mkfs(const char *name, const char *size, ...)
{
	char *p = image(name, size);
	char **argv = lb_argv_new("mkfs.xfs");
	va_list ap;

	lb_argv_add(&argv, "-q");
	lb_argv_add(&argv, "-f");
	va_start(ap, size);
	for (const char *o; (o = va_arg(ap, const char *));)
		lb_argv_add(&argv, "%s", o);
	va_end(ap);
	lb_argv_add(&argv, "%s", p);
	assert_int_equal(lb_run(argv, true), 0);
	lb_argv_free(argv);
	return p;
}

static void need_mkfs(void)
{
	if (!lb_program_exists("mkfs.xfs") || !lb_program_exists("xfs_db"))
		skip();
}

static struct lb_xfs_geom *geom_of(const char *path, struct lb_xfs_sb *ret_sb)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct lb_xfs_geom *g = NULL;
	struct lb_xfs_sb sb;

	assert_true(fd >= 0);
	if (lb_xfs_sb_read(fd, 0, &sb) < 0)
		fail_msg("%s: %s", path, lb_errmsg());
	if (lb_xfs_geom_from_sb(&sb, &g) < 0)
		fail_msg("%s: %s", path, lb_errmsg());
	if (ret_sb)
		*ret_sb = sb;
	return g;
}

static void assert_uuid(const uint8_t u[16], const char *text)
{
	char s[37];

	uuid_unparse_lower(u, s);
	assert_string_equal(s, text);
}

/* ---- the superblock of real filesystems ---------------------------------- */

static void test_sb_as_made(void **state)
{
	_cleanup_free_ char *p = NULL;
	struct lb_xfs_geom *g;
	struct lb_xfs_sb sb;

	(void)state;
	need_mkfs();
	p = mkfs("a.img", "1G", "-m", "rmapbt=1,reflink=1,bigtime=1,uuid=" UUID_A, "-d",
		 "agcount=5,su=64k,sw=2", "-i", "maxpct=17", "-n", "size=8192", "-L", "lbl", NULL);
	g = geom_of(p, &sb);
	assert_int_equal(g->version, 5);
	assert_int_equal(g->block_size, 4096);
	assert_int_equal(g->ag_count, 5);
	assert_int_equal(g->stripe_unit, 16);
	assert_int_equal(g->stripe_width, 32);
	assert_int_equal(g->imaxpct, 17);
	assert_int_equal(g->dir_block_size, 8192);
	assert_int_equal(g->blocks, 1024u * 1024 * 1024 / 4096);
	assert_true(lb_xfs_has_feature(g, "crc"));
	assert_true(lb_xfs_has_feature(g, "rmapbt"));
	assert_true(lb_xfs_has_feature(g, "reflink"));
	assert_true(lb_xfs_has_feature(g, "bigtime"));
	assert_false(lb_xfs_has_feature(g, "meta_uuid"));
	assert_false(lb_xfs_has_feature(g, "nrext64"));
	assert_null(g->meta_uuid);
	assert_uuid(sb.uuid, UUID_A);
	assert_string_equal(sb.fname, "lbl");
	lb_xfs_geom_free(g);

	/* the other way round: no rmapbt, reflink, bigtime; no stripe */
	free(p);
	p = mkfs("b.img", "300M", "-m", "rmapbt=0,reflink=0,bigtime=0,finobt=0,inobtcount=0", "-i",
		 "sparse=0", "-b", "size=1024", NULL);
	g = geom_of(p, NULL);
	assert_int_equal(g->block_size, 1024);
	assert_int_equal(g->stripe_unit, 0);
	assert_string_equal(g->features, "crc ftype attr2 lazy-count projid32bit align");
	lb_xfs_geom_free(g);
}

/* Makes the filesystem of volume v again on a new image file, as a
 * restore would: its argv, then its fix-up. */
static char *make_again(const struct lb_volume *v, const char *name, const char *size)
{
	const struct lb_fs_ops *ops = lb_fs_ops_find("xfs");
	char *p = image(name, size);
	char **argv = ops->mkfs_argv(v, p, true);

	if (lb_run(argv, true) != 0)
		fail_msg("mkfs.xfs from the geometry failed");
	lb_argv_free(argv);
	if (ops->fixup(v, p) < 0)
		fail_msg("fixup: %s", lb_errmsg());
	return p;
}

static void assert_same_sb(const struct lb_xfs_sb *a, const struct lb_xfs_sb *b)
{
	assert_memory_equal(a->uuid, b->uuid, 16);
	assert_memory_equal(a->meta_uuid, b->meta_uuid, 16);
	assert_int_equal(a->dblocks, b->dblocks);
	assert_int_equal(a->agcount, b->agcount);
	assert_int_equal(a->agblocks, b->agblocks);
	assert_int_equal(a->logstart, b->logstart);
	assert_int_equal(a->logblocks, b->logblocks);
	assert_int_equal(a->versionnum, b->versionnum);
	assert_int_equal(a->sectsize, b->sectsize);
	assert_int_equal(a->inodesize, b->inodesize);
	assert_int_equal(a->imax_pct, b->imax_pct);
	assert_int_equal(a->unit, b->unit);
	assert_int_equal(a->width, b->width);
	assert_int_equal(a->dirblklog, b->dirblklog);
	assert_int_equal(a->logsectsize, b->logsectsize);
	assert_int_equal(a->logsunit, b->logsunit);
	assert_int_equal(a->features2, b->features2);
	assert_int_equal(a->ro_compat, b->ro_compat);
	assert_int_equal(a->incompat, b->incompat);
	assert_string_equal(a->fname, b->fname);
}

/* What the geometry's own argv and fix-up make is the same superblock,
 * the metadata UUID kept apart from the UUID (xfs_admin -U's case). */
static void test_made_again(void **state)
{
	static const char *const variants[][8] = {
		{ "-m", "rmapbt=1,reflink=1,uuid=" UUID_A, "-d", "agcount=7,su=32k,sw=4", "-l",
		  "su=32k", NULL },
		{ "-m", "reflink=0,finobt=0,uuid=" UUID_A, "-i", "size=1024,maxpct=5,sparse=0", "-n",
		  "size=16384", NULL },
		{ "-m", "uuid=" UUID_A, "-s", "size=4096", "-i", "nrext64=1", NULL },
		/* what an older mkfs.xfs made by default: a small log */
		{ "--unsupported", "-m", "uuid=" UUID_A, "-l", "size=10m", NULL },
	};

	(void)state;
	need_mkfs();
	for (size_t i = 0; i < LB_ARRAY_SIZE(variants); i++) {
		const char *const *o = variants[i];
		_cleanup_free_ char *p = mkfs("orig.img", "1G", o[0], o[1], o[2], o[3], o[4], o[5],
					      o[6], o[7], NULL);
		_cleanup_free_ char *q = NULL;
		char *db[] = { (char *)"xfs_db", (char *)"-x", (char *)"-c",
			       (char *)"uuid " UUID_B, p, NULL };
		struct lb_volume *v = lb_volume_new();
		struct lb_xfs_sb a, b;
		struct lb_xfs_geom *g2;

		/* the first with its own metadata UUID (xfs_admin -U) */
		if (i == 0)
			assert_int_equal(lb_run(db, true), 0);
		v->type = lb_strdup("xfs");
		v->xfs = geom_of(p, &a);
		v->uuid = lb_strdup(i == 0 ? UUID_B : UUID_A);
		v->label = lb_strdup("again");
		memcpy(a.fname, "again", 6);
		if (i == 0) {
			assert_non_null(v->xfs->meta_uuid);
			assert_string_equal(v->xfs->meta_uuid, UUID_A);
			assert_true(lb_xfs_has_feature(v->xfs, "meta_uuid"));
		}
		q = make_again(v, "again.img", "1G");
		g2 = geom_of(q, &b);
		assert_same_sb(&a, &b);
		assert_string_equal(g2->features, v->xfs->features);
		lb_xfs_geom_free(g2);
		lb_volume_free(v);
	}
}

/* ---- crafted superblocks ------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void reseal(uint8_t *sb, size_t len)
{
	uint32_t crc;

	memset(sb + XFS_SB_CRC_OFF, 0, 4);
	crc = ~lb_xfs_crc32c(~0u, sb, len);
	for (int i = 0; i < 4; i++)
		sb[XFS_SB_CRC_OFF + i] = (uint8_t)(crc >> (8 * i));
}

static void test_sb_crafted(void **state)
{
	_cleanup_free_ char *p = NULL;
	uint8_t good[512], b[512];
	struct lb_xfs_sb sb;
	struct lb_xfs_geom *g = NULL;
	_cleanup_close_ int fd = -1;

	(void)state;
	need_mkfs();
	p = mkfs("c.img", "300M", NULL);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lb_pread_all(fd, good, sizeof(good), 0), 0);
	assert_int_equal(lb_xfs_sb_parse(good, sizeof(good), &sb), 0);

	/* one byte changed: the CRC says so */
	memcpy(b, good, sizeof(b));
	b[150] ^= 1;
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), -EINVAL);
	assert_non_null(strstr(lb_errmsg(), "CRC"));
	/* resealed, but sizes that disagree */
	memcpy(b, good, sizeof(b));
	b[124]++;	/* agblklog */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), -EINVAL);
	memcpy(b, good, sizeof(b));
	put_be32(b + 88, 0);	/* agcount */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), -EINVAL);
	memcpy(b, good, sizeof(b));
	put_be32(b + 96, 0x7fffffff);	/* a log larger than its group */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), -EINVAL);
	memcpy(b, good, sizeof(b));
	b[101] = (b[101] & 0xf0) | 3;	/* version 3 */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), -EINVAL);
	memcpy(b, good, sizeof(b));
	b[0] = 'Y';
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), -EINVAL);
	assert_int_equal(lb_xfs_sb_parse(good, 100, &sb), -EINVAL);

	/* parsed, but nothing lifeboat can make again */
	memcpy(b, good, sizeof(b));
	b[23] = 8;	/* rblocks */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), 0);
	assert_int_equal(lb_xfs_geom_from_sb(&sb, &g), -EOPNOTSUPP);
	assert_non_null(strstr(lb_errmsg(), "realtime"));
	memcpy(b, good, sizeof(b));
	memset(b + 48, 0, 8);	/* logstart: an external log */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), 0);
	assert_int_equal(lb_xfs_geom_from_sb(&sb, &g), -EOPNOTSUPP);
	assert_non_null(strstr(lb_errmsg(), "external"));
	memcpy(b, good, sizeof(b));
	b[216] |= 0x10;	/* an incompatible feature bit lifeboat does not know */
	reseal(b, sizeof(b));
	assert_int_equal(lb_xfs_sb_parse(b, sizeof(b), &sb), 0);
	assert_int_equal(lb_xfs_geom_from_sb(&sb, &g), -EOPNOTSUPP);
	assert_null(g);
}

/* ---- used blocks ------------------------------------------------------------ */

struct runs {
	uint64_t n, end, sum;
	bool ordered;
};

static int take_run(void *ud, uint64_t off, uint64_t len)
{
	struct runs *r = ud;

	if (len == 0 || (r->n && off <= r->end))
		r->ordered = false;
	r->n++;
	r->end = off + len;
	r->sum += len;
	return 0;
}

static void test_used_runs(void **state)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -1;
	struct runs runs = { .ordered = true };
	struct lb_xfs_sb sb;
	uint8_t agf[512], *blk;
	uint64_t used = 0, size, root, log_off;

	(void)state;
	need_mkfs();
	p = mkfs("d.img", "300M", "-m", "rmapbt=1", "-d", "agcount=4", NULL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	size = 300u << 20;
	assert_int_equal(lb_xfs_sb_read(fd, 0, &sb), 0);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), 0);
	if (lb_xfs_used_runs(fd, 0, size, take_run, &runs, &used) < 0)
		fail_msg("%s", lb_errmsg());
	assert_true(runs.ordered);
	assert_true(runs.n >= 4);	/* the headers of each group at least */
	assert_int_equal(runs.sum, used);
	assert_true(used >= (uint64_t)sb.logblocks * sb.block_size);
	assert_true(used < size / 2);
	/* too small a device for it */
	assert_int_equal(lb_xfs_used_runs(fd, 0, size / 2, NULL, NULL, NULL), -EUCLEAN);

	/* group 1's free-space tree root damaged: refused */
	assert_int_equal(lb_pread_all(fd, agf, sizeof(agf), (uint64_t)sb.agblocks * 4096 + 512), 0);
	root = ((uint64_t)sb.agblocks + lb_be32(agf + 16)) * 4096;
	blk = lb_zalloc(4096);
	assert_int_equal(lb_pread_all(fd, blk, 4096, root), 0);
	blk[60] ^= 0xff;
	assert_int_equal(lb_pwrite_all(fd, blk, 4096, root), 0);
	assert_int_equal(lb_xfs_used_runs(fd, 0, size, NULL, NULL, NULL), -EUCLEAN);
	assert_non_null(strstr(lb_errmsg(), "allocation group 1"));
	blk[60] ^= 0xff;
	assert_int_equal(lb_pwrite_all(fd, blk, 4096, root), 0);
	assert_int_equal(lb_xfs_used_runs(fd, 0, size, NULL, NULL, NULL), 0);

	/* a log that holds no unmount record at its head: refused */
	log_off = ((sb.logstart >> sb.agblklog) * sb.agblocks +
		   (sb.logstart & ((1u << sb.agblklog) - 1))) * sb.block_size;
	memset(blk, 0, 4096);
	assert_int_equal(lb_pwrite_all(fd, blk, 4096, log_off), 0);
	assert_int_equal(lb_xfs_used_runs(fd, 0, size, NULL, NULL, NULL), -EUCLEAN);
	assert_non_null(strstr(lb_errmsg(), "log"));
	free(blk);
}

/* ---- a covered log --------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* an operation header at d: its length and flags (client: a transaction) */
static uint8_t *op(uint8_t *d, uint32_t len, uint8_t flags)
{
	put_be32(d, 0x1234);
	put_be32(d + 4, len);
	d[8] = 0x69;
	d[9] = flags;
	return d + 12;
}

/* Writes, after the unmount record mkfs.xfs leaves at the log's blocks 0
 * and 1, what a freeze writes to cover the log: a record at block 2 (its
 * own tail) holding one transaction that logs the superblock's first 128
 * bytes (sb_head, the disk's, then as changed by the caller) as the buffer
 * at daddr blkno, or (type) another kind of log item. */
static void write_cover(int fd, uint64_t log_off, const uint8_t sb_head[128], uint64_t blkno,
			uint16_t type)
{
	uint8_t h[512] = { 0 }, b[512] = { 0 }, *d = b;

	d = op(d, 0, 0x01);				/* start */
	d = op(d, 16, 0);				/* transaction header */
	put_le(d, 0x5452414e, 4);
	d += 16;
	d = op(d, 24, 0);				/* buffer format */
	put_le(d, type, 2);
	put_le(d + 2, 2, 2);				/* format and one region */
	put_le(d + 6, 1, 2);
	put_le(d + 8, blkno, 8);
	put_le(d + 16, 1, 4);				/* map size */
	put_le(d + 20, 1, 4);				/* chunk 0 logged */
	d += 24;
	d = op(d, 128, 0);				/* the region */
	memcpy(d, sb_head, 128);
	d += 128;
	d = op(d, 0, 0x02);				/* commit */
	put_be32(h, 0xfeedbabe);
	put_be32(h + 4, 1);				/* cycle */
	put_be32(h + 8, 2);				/* version */
	put_be32(h + 12, (uint32_t)(d - b));		/* length */
	put_be32(h + 16, 1);				/* lsn (1, 2) */
	put_be32(h + 20, 2);
	put_be32(h + 24, 1);				/* tail lsn: itself */
	put_be32(h + 28, 2);
	put_be32(h + 40, 5);				/* operations */
	memcpy(h + 44, b, 4);				/* the data's first word ... */
	put_be32(b, 1);					/* ... gives way to the cycle */
	put_be32(h + 300, 1);
	put_be32(h + 320, 32768);
	assert_int_equal(lb_pwrite_all(fd, h, 512, log_off + 2 * 512), 0);
	assert_int_equal(lb_pwrite_all(fd, b, 512, log_off + 3 * 512), 0);
}

static void test_covered_log(void **state)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -1;
	struct lb_xfs_sb sb;
	uint8_t head[128], grown[128];
	uint64_t log_off;

	(void)state;
	need_mkfs();
	p = mkfs("c.img", "300M", NULL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lb_xfs_sb_read(fd, 0, &sb), 0);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), 0);
	log_off = ((sb.logstart >> sb.agblklog) * sb.agblocks +
		   (sb.logstart & ((1u << sb.agblklog) - 1))) * sb.block_size;
	assert_int_equal(lb_pread_all(fd, head, sizeof(head), 0), 0);

	/* covered: the used blocks are read */
	write_cover(fd, log_off, head, 0, 0x123c);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), 1);
	assert_int_equal(lb_xfs_used_runs(fd, 0, 300u << 20, NULL, NULL, NULL), 0);
	/* a buffer other than the superblock */
	write_cover(fd, log_off, head, 8, 0x123c);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), -EUCLEAN);
	assert_int_equal(lb_xfs_used_runs(fd, 0, 300u << 20, NULL, NULL, NULL), -EUCLEAN);
	/* an inode */
	write_cover(fd, log_off, head, 0, 0x123b);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), -EUCLEAN);
	/* the superblock of a grown filesystem */
	memcpy(grown, head, sizeof(grown));
	grown[15]++;					/* dblocks */
	write_cover(fd, log_off, grown, 0, 0x123c);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), -EUCLEAN);
	memcpy(grown, head, sizeof(grown));
	grown[91]++;					/* agcount */
	write_cover(fd, log_off, grown, 0, 0x123c);
	assert_int_equal(lb_xfs_log_clean(fd, 0, &sb), -EUCLEAN);
	assert_non_null(strstr(lb_errmsg(), "not clean"));
}

/* ---- the checks of a loaded geometry ------------------------------------- */

static struct lb_xfs_geom *valid_geom(void)
{
	struct lb_xfs_geom *g = lb_xfs_geom_new();

	g->version = 5;
	g->block_size = 4096;
	g->sector_size = 512;
	g->blocks = 65536;
	g->ag_count = 4;
	g->ag_blocks = 16384;
	g->inode_size = 512;
	g->imaxpct = 25;
	g->dir_block_size = 4096;
	g->log_blocks = 2560;
	g->log_start = 32776;
	g->log_version = 2;
	g->features = lb_strdup("crc finobt ftype");
	return g;
}

static void test_check(void **state)
{
	const struct lb_fs_geom *k = lb_fs_geom_find("xfs");
	struct lb_xfs_geom *g = valid_geom();
	char *why = NULL;

	(void)state;
	assert_int_equal(k->check(g, &why), 0);
#define REFUSED(stmt)                                          \
	do {                                                   \
		struct lb_xfs_geom *b_ = valid_geom();         \
		struct lb_xfs_geom *g_ = b_;                   \
		stmt;                                          \
		assert_int_equal(k->check(g_, &why), -EINVAL); \
		free(why);                                     \
		why = NULL;                                    \
		lb_xfs_geom_free(b_);                          \
	} while (0)
	REFUSED(g_->version = 6);
	REFUSED(g_->block_size = 3000);
	REFUSED(g_->sector_size = 8192);
	REFUSED(g_->inode_size = 4096);
	REFUSED(g_->dir_block_size = 2048);
	REFUSED(g_->ag_count = 0);
	REFUSED(g_->blocks = 65537);
	REFUSED(g_->blocks = 49152);
	REFUSED(g_->imaxpct = 101);
	REFUSED(g_->stripe_unit = 16);
	REFUSED(g_->stripe_unit = 16; g_->stripe_width = 40);
	REFUSED(g_->log_start = 0);
	REFUSED(g_->log_start = (uint64_t)4 << 14);
	REFUSED(g_->log_blocks = 20000);
	REFUSED(g_->log_version = 3);
	REFUSED(g_->log_sector_size = 100);
	REFUSED(free(g_->features); g_->features = lb_strdup("crc exchange"));
	REFUSED(free(g_->features); g_->features = lb_strdup("finobt"));
	REFUSED(g_->version = 4);
	REFUSED(g_->meta_uuid = lb_strdup(UUID_A));
	REFUSED(free(g_->features); g_->features = lb_strdup("crc meta_uuid");
		g_->meta_uuid = lb_strdup("not-a-uuid"));
#undef REFUSED
	free(g->features);
	g->features = lb_strdup("crc meta_uuid");
	g->meta_uuid = lb_strdup(UUID_A);
	assert_int_equal(k->check(g, &why), 0);
	lb_xfs_geom_free(g);
}

/* The v4 argv: crc off and the options only v4 tunes. */
static void test_v4_argv(void **state)
{
	const struct lb_fs_ops *ops = lb_fs_ops_find("xfs");
	struct lb_volume *v = lb_volume_new();
	char **argv;
	bool crc0 = false, attr = false;

	(void)state;
	v->type = lb_strdup("xfs");
	v->xfs = valid_geom();
	v->xfs->version = 4;
	free(v->xfs->features);
	v->xfs->features = lb_strdup("ftype attr2 lazy-count align");
	argv = ops->mkfs_argv(v, "/dev/null", true);
	for (size_t i = 0; argv[i]; i++) {
		if (strncmp(argv[i], "crc=0", 5) == 0)
			crc0 = true;
		if (strstr(argv[i], "attr=2") && strstr(argv[i], "align=1"))
			attr = true;
	}
	assert_true(crc0);
	assert_true(attr);
	lb_argv_free(argv);
	lb_volume_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_as_made),
		cmocka_unit_test(test_made_again),
		cmocka_unit_test(test_sb_crafted),
		cmocka_unit_test(test_used_runs),
		cmocka_unit_test(test_covered_log),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_v4_argv),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
