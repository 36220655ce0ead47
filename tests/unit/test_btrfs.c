// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for btrfs (src/fs/btrfs_sb.c, btrfs_chunk.c, btrfs_used.c,
 * fs_btrfs.c) on image files, no devices: the superblock and chunk tree of
 * filesystems mkfs.btrfs made (one device, two devices in raid1, each
 * checksum type), read back with the options it was given; the geometry
 * made again from its own mkfs.btrfs argv into the same superblock fields;
 * the used runs in order, inside the device, holding the superblock and
 * the chunk tree; crafted superblocks and chunk trees (a bad checksum,
 * sizes that disagree, a system chunk array or a leaf whose counts
 * overflow it) refused; the checks a loaded geometry passes and what
 * mkfs.btrfs cannot make. Skipped without mkfs.btrfs. */
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
#include <sys/stat.h>

#include <cmocka.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "base/spawn.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"

#define UUID_A "6c1fe0b0-00a1-4c1f-8a00-0000000000a1"
#define UUID_B "6c1fe0b0-00b2-4c1f-8a00-0000000000b2"
#define SIZE "600M"

static char dir[] = "/tmp/lifeboat-test-btrfs.XXXXXX";

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

static char *image(const char *name)
{
	char *p = lb_asprintf("%s/%s", dir, name);
	char *argv[] = { (char *)"truncate", (char *)"-s", (char *)SIZE, p, NULL };

	unlink(p);
	assert_int_equal(lb_run(argv, true), 0);
	return p;
}

static void need_mkfs(void)
{
	if (!lb_program_exists("mkfs.btrfs"))
		skip();
}

/* mkfs.btrfs with the options (NULL-terminated) onto img (and img2) */
static void mkfs(const char *img, const char *img2, ...)
{
	char **argv = lb_argv_new("mkfs.btrfs");
	va_list ap;

	lb_argv_add(&argv, "-q");
	lb_argv_add(&argv, "-f");
	va_start(ap, img2);
	for (const char *o; (o = va_arg(ap, const char *));)
		lb_argv_add(&argv, "%s", o);
	va_end(ap);
	lb_argv_add(&argv, "%s", img);
	if (img2)
		lb_argv_add(&argv, "%s", img2);
	assert_int_equal(lb_run(argv, true), 0);
	lb_argv_free(argv);
}

static struct lb_btrfs_geom *geom_of(const char *path, struct lb_btrfs_sb *ret_sb)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	const struct lb_fs_geom *k = lb_fs_geom_find("btrfs");
	struct lb_btrfs_geom *g = NULL;
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	char *why = NULL;

	assert_true(fd >= 0);
	if (lb_btrfs_sb_read(fd, 0, &sb) < 0)
		fail_msg("%s: %s", path, lb_errmsg());
	if (lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs) < 0)
		fail_msg("%s: %s", path, lb_errmsg());
	assert_int_equal(lb_btrfs_geom_from(&sb, &cs, &g), 0);
	lb_btrfs_chunks_free(&cs);
	if (k->check(g, &why) < 0)
		fail_msg("%s: %s", path, why);
	if (ret_sb)
		*ret_sb = sb;
	return g;
}

struct runs {
	uint64_t end, sum;
	size_t n;
	bool has_super;
};

static int take_run(void *ud, uint64_t off, uint64_t len)
{
	struct runs *r = ud;

	assert_true(len > 0);
	assert_true(r->n == 0 || off > r->end);	/* in order, merged */
	assert_true(off + len <= 600ull << 20);
	if (off <= BTRFS_SUPER_OFF && off + len >= BTRFS_SUPER_OFF + BTRFS_SUPER_SIZE)
		r->has_super = true;
	r->end = off + len;
	r->sum += len;
	r->n++;
	return 0;
}

/* ---- real filesystems ---------------------------------------------------- */

static void test_as_made(void **state)
{
	_cleanup_free_ char *p = NULL;
	struct lb_btrfs_geom *g;
	struct lb_btrfs_sb sb;
	struct runs runs = { 0 };
	uint64_t used = 0;
	int fd;

	(void)state;
	need_mkfs();
	p = image("a.img");
	mkfs(p, NULL, "-U", UUID_A, "-L", "lbl", "-n", "32768", "--csum", "sha256", "-d", "dup",
	     "-m", "dup", "-O", "^no-holes", NULL);
	g = geom_of(p, &sb);
	assert_int_equal(g->node_size, 32768);
	assert_int_equal(g->sector_size, 4096);
	assert_string_equal(g->csum, "sha256");
	assert_string_equal(g->data, "dup");
	assert_string_equal(g->metadata, "dup");
	assert_string_equal(g->system, "dup");
	assert_int_equal(g->devices, 1);
	assert_int_equal(g->devid, 1);
	assert_int_equal(g->dev_bytes, 600ull << 20);
	assert_true(lb_btrfs_has_feature(g, "skinny_metadata"));
	assert_true(lb_btrfs_has_feature(g, "free_space_tree"));
	assert_false(lb_btrfs_has_feature(g, "no_holes"));
	assert_false(lb_btrfs_has_feature(g, "no"));
	assert_null(g->metadata_uuid);
	assert_string_equal(sb.label, "lbl");
	{
		char s[37];

		uuid_unparse_lower(sb.fsid, s);
		assert_string_equal(s, UUID_A);
	}
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lb_btrfs_used_runs(fd, 0, 600ull << 20, take_run, &runs, &used), 0);
	close(fd);
	assert_true(runs.has_super);
	assert_int_equal(runs.sum, used);
	/* the chunks mkfs made: far less than the device, more than a little */
	assert_true(used > (8u << 20) && used < (500u << 20));
	lb_btrfs_geom_free(g);
}

static void test_csum_types(void **state)
{
	static const char *const types[] = { "crc32c", "xxhash", "sha256" };

	(void)state;
	need_mkfs();
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *p = image("c.img");
		struct lb_btrfs_geom *g;

		mkfs(p, NULL, "--csum", types[i], NULL);
		g = geom_of(p, NULL);
		assert_string_equal(g->csum, types[i]);
		lb_btrfs_geom_free(g);
	}
	{
		_cleanup_free_ char *p = image("c.img");
		_cleanup_close_ int fd = -1;
		struct lb_btrfs_sb sb;

		mkfs(p, NULL, "--csum", "blake2", NULL);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), -EOPNOTSUPP);
		assert_non_null(strstr(lb_errmsg(), "blake2"));
	}
}

static void test_two_devices(void **state)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	struct lb_btrfs_geom *ga, *gb;
	uint64_t used_a = 0, used_b = 0;
	int fd;

	(void)state;
	need_mkfs();
	a = image("r1.img");
	b = image("r2.img");
	mkfs(a, b, "-d", "raid1", "-m", "raid1", NULL);
	ga = geom_of(a, NULL);
	gb = geom_of(b, NULL);
	assert_int_equal(ga->devices, 2);
	assert_int_equal(ga->devid, 1);
	assert_int_equal(gb->devid, 2);
	assert_string_not_equal(ga->dev_uuid, gb->dev_uuid);
	assert_string_equal(ga->data, "raid1");
	assert_string_equal(gb->metadata, "raid1");
	assert_string_equal(gb->system, "raid1");
	assert_int_equal(ga->total_bytes, 2 * (600ull << 20));
	fd = open(a, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lb_btrfs_used_runs(fd, 0, 600ull << 20, NULL, NULL, &used_a), 0);
	close(fd);
	fd = open(b, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lb_btrfs_used_runs(fd, 0, 600ull << 20, NULL, NULL, &used_b), 0);
	close(fd);
	/* raid1: each device holds a copy of every chunk */
	assert_int_equal(used_a, used_b);
	lb_btrfs_geom_free(ga);
	lb_btrfs_geom_free(gb);
}

/* The geometry through its own mkfs.btrfs argv: the same fields again. */
static void test_made_again(void **state)
{
	_cleanup_free_ char *p = NULL, *q = NULL;
	struct lb_volume v = { .type = (char *)"btrfs", .uuid = (char *)UUID_A,
			       .label = (char *)"again" };
	struct lb_btrfs_geom *g, *h;
	char **argv;

	(void)state;
	need_mkfs();
	p = image("m1.img");
	q = image("m2.img");
	mkfs(p, NULL, "-n", "8192", "--csum", "xxhash", "-O", "^no-holes,^skinny-metadata", "-R",
	     "^free-space-tree", "-d", "single", "-m", "single", "-U", UUID_A, NULL);
	g = geom_of(p, NULL);
	v.btrfs = g;
	argv = lb_fs_btrfs.mkfs_argv(&v, q, true);
	assert_int_equal(lb_run(argv, true), 0);
	lb_argv_free(argv);
	h = geom_of(q, NULL);
	assert_int_equal(h->node_size, 8192);
	assert_string_equal(h->csum, "xxhash");
	assert_string_equal(h->features, g->features);
	assert_string_equal(h->data, "single");
	assert_string_equal(h->metadata, "single");
	assert_string_equal(h->system, "single");
	assert_int_equal(h->dev_bytes, g->dev_bytes);
	lb_btrfs_geom_free(h);
	lb_btrfs_geom_free(g);
}

/* Device UUIDs set after mkfs: in the superblocks, the DEV_ITEMs and the
 * chunks' stripes, checksums right (btrfs check), on one device and two. */
static void test_dev_uuids(void **state)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	struct lb_btrfs_geom ga = { .dev_uuid = (char *)UUID_A }, gb = { .dev_uuid = (char *)UUID_B };
	struct lb_volume va = { .type = (char *)"btrfs", .btrfs = &ga },
			 vb = { .type = (char *)"btrfs", .btrfs = &gb };
	const struct lb_volume *vols[] = { &va, &vb };
	const char *devs[2];
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	struct lb_btrfs_geom *g;
	uuid_t ua, ub;
	int fd;

	(void)state;
	need_mkfs();
	uuid_parse(UUID_A, ua);
	uuid_parse(UUID_B, ub);
	a = image("u1.img");
	mkfs(a, NULL, NULL);
	devs[0] = a;
	assert_int_equal(lb_btrfs_set_dev_uuids(devs, vols, 1), 0);
	g = geom_of(a, NULL);
	assert_string_equal(g->dev_uuid, UUID_A);
	lb_btrfs_geom_free(g);
	if (lb_program_exists("btrfs")) {
		char *argv[] = { (char *)"btrfs", (char *)"check", (char *)"--readonly", a, NULL };

		assert_int_equal(lb_run(argv, true), 0);
	}
	/* again: nothing to do */
	assert_int_equal(lb_btrfs_set_dev_uuids(devs, vols, 1), 0);

	b = image("u2.img");
	mkfs(a, b, "-d", "raid1", "-m", "raid1", NULL);
	devs[1] = b;
	assert_int_equal(lb_btrfs_set_dev_uuids(devs, vols, 2), 0);
	for (size_t i = 0; i < 2; i++) {
		fd = open(devs[i], O_RDONLY | O_CLOEXEC);
		assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
		assert_memory_equal(sb.dev_uuid, i ? ub : ua, 16);
		assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), 0);
		assert_int_equal(cs.n_devs, 2);
		for (size_t j = 0; j < cs.n_devs; j++)
			assert_memory_equal(cs.devs[j].dev_uuid, cs.devs[j].devid == 1 ? ua : ub, 16);
		for (size_t j = 0; j < cs.n; j++)
			for (size_t k = 0; k < cs.v[j].num_stripes; k++)
				assert_memory_equal(cs.v[j].stripes[k].dev_uuid,
						    cs.v[j].stripes[k].devid == 1 ? ua : ub, 16);
		lb_btrfs_chunks_free(&cs);
		/* the 64 MiB copy too */
		{
			uint8_t buf[BTRFS_SUPER_SIZE];

			assert_int_equal(lb_pread_all(fd, buf, sizeof(buf), 64ull << 20), 0);
			assert_int_equal(lb_btrfs_sb_parse(buf, 64ull << 20, &sb), 0);
			assert_memory_equal(sb.dev_uuid, i ? ub : ua, 16);
		}
		close(fd);
	}
}

static void check_clean(char *path)
{
	if (lb_program_exists("btrfs")) {
		char *argv[] = { (char *)"btrfs", (char *)"check", (char *)"--readonly", path, NULL };

		assert_int_equal(lb_run(argv, true), 0);
	}
}

/* A drill's new fsid (lb_btrfs_set_fsid): every superblock copy and tree
 * block (btrfs check compares each block's with the superblock's), on one
 * device, on one with a metadata UUID of its own (kept: only its
 * superblocks change), and on each of two; nothing that is no btrfs. */
static void test_set_fsid(void **state)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *z = NULL;
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb, before;
	uint8_t buf[BTRFS_SUPER_SIZE];
	uuid_t ub;
	int fd;

	(void)state;
	need_mkfs();
	uuid_parse(UUID_B, ub);
	a = image("f1.img");
	mkfs(a, NULL, "-U", UUID_A, NULL);
	assert_int_equal(lb_btrfs_set_fsid(a, UUID_B), 0);
	fd = open(a, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
	assert_memory_equal(sb.fsid, ub, 16);
	assert_memory_equal(sb.metadata_uuid, ub, 16);
	assert_false(sb.incompat & BTRFS_INCOMPAT_METADATA_UUID);
	assert_int_equal(lb_pread_all(fd, buf, sizeof(buf), 64ull << 20), 0);
	assert_int_equal(lb_btrfs_sb_parse(buf, 64ull << 20, &sb), 0);
	assert_memory_equal(sb.fsid, ub, 16);
	close(fd);
	check_clean(a);

	/* its own metadata UUID: kept */
	mkfs(a, NULL, "-U", UUID_A, NULL);
	if (lb_program_exists("btrfstune")) {
		char *argv[] = { (char *)"btrfstune", (char *)"-m", a, NULL };

		assert_int_equal(lb_run(argv, true), 0);
		fd = open(a, O_RDONLY | O_CLOEXEC);
		assert_int_equal(lb_btrfs_sb_read(fd, 0, &before), 0);
		close(fd);
		assert_true(before.incompat & BTRFS_INCOMPAT_METADATA_UUID);
		assert_int_equal(lb_btrfs_set_fsid(a, UUID_B), 0);
		fd = open(a, O_RDONLY | O_CLOEXEC);
		assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
		close(fd);
		assert_memory_equal(sb.fsid, ub, 16);
		assert_memory_equal(sb.metadata_uuid, before.metadata_uuid, 16);
		check_clean(a);
	}

	/* two devices, each given it on its own */
	b = image("f2.img");
	mkfs(a, b, "-U", UUID_A, "-d", "raid1", "-m", "raid1", NULL);
	assert_int_equal(lb_btrfs_set_fsid(a, UUID_B), 0);
	assert_int_equal(lb_btrfs_set_fsid(b, UUID_B), 0);
	for (size_t i = 0; i < 2; i++) {
		fd = open(i ? b : a, O_RDONLY | O_CLOEXEC);
		assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
		assert_memory_equal(sb.fsid, ub, 16);
		assert_int_equal(sb.devid, i + 1);
		/* (its tree blocks still whole: their checksums were set again) */
		assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), 0);
		assert_int_equal(cs.n_devs, 2);
		lb_btrfs_chunks_free(&cs);
		close(fd);
	}

	/* no btrfs there: refused, nothing written */
	z = image("zero.img");
	fd = open(z, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_true(lb_btrfs_set_fsid(z, UUID_B) < 0);
	assert_true(lb_btrfs_set_fsid(a, "not a uuid") < 0);
}

/* ---- crafted bytes ------------------------------------------------------- */

static uint8_t *read_super(const char *p)
{
	uint8_t *b = lb_zalloc(BTRFS_SUPER_SIZE);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);

	assert_int_equal(lb_pread_all(fd, b, BTRFS_SUPER_SIZE, BTRFS_SUPER_OFF), 0);
	return b;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* sb with its checksum set again, parsed */
static int parse_fixed(uint8_t *b, struct lb_btrfs_sb *sb)
{
	assert_int_equal(lb_btrfs_csum_set(0, b, BTRFS_SUPER_SIZE), 0);
	return lb_btrfs_sb_parse(b, BTRFS_SUPER_OFF, sb);
}

static void test_crafted(void **state)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_free_ uint8_t *orig = NULL;
	uint8_t b[BTRFS_SUPER_SIZE];
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	int fd;

	(void)state;
	need_mkfs();
	p = image("x.img");
	mkfs(p, NULL, NULL);
	orig = read_super(p);
	memcpy(b, orig, sizeof(b));
	assert_int_equal(lb_btrfs_sb_parse(b, BTRFS_SUPER_OFF, &sb), 0);
	/* not where it says it is */
	assert_int_equal(lb_btrfs_sb_parse(b, 64ull << 20, &sb), -EINVAL);
	/* a bit flipped: its checksum */
	b[0x200] ^= 1;
	assert_int_equal(lb_btrfs_sb_parse(b, BTRFS_SUPER_OFF, &sb), -EINVAL);
	assert_non_null(strstr(lb_errmsg(), "checksum"));
	/* node size not a power of two; sector size too small */
	memcpy(b, orig, sizeof(b));
	b[0x94] = 0x01;
	assert_int_equal(parse_fixed(b, &sb), -EINVAL);
	memcpy(b, orig, sizeof(b));
	put64(b + 0x90, 512);
	assert_int_equal(parse_fixed(b, &sb), -EINVAL);
	/* a system chunk array larger than its room */
	memcpy(b, orig, sizeof(b));
	b[0xa0] = 0x01;
	b[0xa1] = 0x08;	/* 2049 */
	assert_int_equal(parse_fixed(b, &sb), -EINVAL);
	/* an unknown checksum type */
	memcpy(b, orig, sizeof(b));
	b[0xc4] = 9;
	assert_int_equal(lb_btrfs_sb_parse(b, BTRFS_SUPER_OFF, &sb), -EINVAL);

	fd = open(p, O_RDONLY | O_CLOEXEC);
	/* a system chunk whose stripe count runs past the array */
	memcpy(b, orig, sizeof(b));
	b[0x32b + 17 + 44] = 0xff;
	assert_int_equal(parse_fixed(b, &sb), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), -EUCLEAN);
	/* a chunk root outside every chunk */
	memcpy(b, orig, sizeof(b));
	put64(b + 0x58, 1ull << 40);
	assert_int_equal(parse_fixed(b, &sb), 0);
	assert_true(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs) < 0);
	/* a chunk root level that does not match its block */
	memcpy(b, orig, sizeof(b));
	b[0xc7] = 3;
	assert_int_equal(parse_fixed(b, &sb), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), -EUCLEAN);
	/* a device smaller than the chunks: the stripes past its end */
	memcpy(b, orig, sizeof(b));
	assert_int_equal(parse_fixed(b, &sb), 0);
	assert_true(lb_btrfs_chunks_read(fd, 0, 1u << 20, &sb, &cs) < 0);
	close(fd);
}

/* A leaf of the chunk tree whose item count is more than fits, its
 * checksum right: refused, not read past. */
static void test_crafted_leaf(void **state)
{
	_cleanup_free_ char *p = NULL;
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	_cleanup_free_ uint8_t *node = NULL;
	uint64_t phys = 0;
	int fd;

	(void)state;
	need_mkfs();
	p = image("l.img");
	mkfs(p, NULL, "-m", "single", NULL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), 0);
	for (size_t i = 0; i < cs.n; i++)
		if (sb.chunk_root >= cs.v[i].logical &&
		    sb.chunk_root < cs.v[i].logical + cs.v[i].length)
			phys = cs.v[i].stripes[0].offset + sb.chunk_root - cs.v[i].logical;
	lb_btrfs_chunks_free(&cs);
	assert_true(phys > 0);
	node = lb_zalloc(sb.nodesize);
	assert_int_equal(lb_pread_all(fd, node, sb.nodesize, phys), 0);
	assert_int_equal(node[100], 0);	/* a leaf */
	node[96] = 0xff;
	node[97] = 0xff;
	assert_int_equal(lb_btrfs_csum_set(sb.csum_type, node, sb.nodesize), 0);
	assert_int_equal(lb_pwrite_all(fd, node, sb.nodesize, phys), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), -EUCLEAN);
	assert_int_equal(lb_btrfs_used_runs(fd, 0, 600ull << 20, NULL, NULL, NULL), -EUCLEAN);
	/* an item's data past its leaf */
	node[96] = 1;
	node[97] = 0;
	put64(node + BTRFS_HEADER_SIZE + 17, 0xfffff000ull);
	assert_int_equal(lb_btrfs_csum_set(sb.csum_type, node, sb.nodesize), 0);
	assert_int_equal(lb_pwrite_all(fd, node, sb.nodesize, phys), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), -EUCLEAN);
	close(fd);
}

/* Chunk items whose keys do not increase across the tree (as when one
 * leaf is named by two node pointers and read twice, its chunks and their
 * stripes taken again each time): refused, not merged. */
static void test_crafted_order(void **state)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_free_ uint8_t *leaf = NULL;
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	uint64_t phys = 0;
	uint8_t *first = NULL, *second = NULL;
	int fd;

	(void)state;
	need_mkfs();
	p = image("o.img");
	mkfs(p, NULL, "-m", "single", NULL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), 0);
	for (size_t i = 0; i < cs.n; i++)
		if (sb.chunk_root >= cs.v[i].logical &&
		    sb.chunk_root < cs.v[i].logical + cs.v[i].length)
			phys = cs.v[i].stripes[0].offset + sb.chunk_root - cs.v[i].logical;
	lb_btrfs_chunks_free(&cs);
	assert_true(phys > 0);
	leaf = lb_zalloc(sb.nodesize);
	assert_int_equal(lb_pread_all(fd, leaf, sb.nodesize, phys), 0);
	assert_int_equal(leaf[100], 0);	/* a leaf */
	for (uint32_t i = 0; i < lb_le32(leaf + 96) && !second; i++) {
		uint8_t *it = leaf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;

		if (it[8] != BTRFS_CHUNK_ITEM_KEY)
			continue;
		if (!first)
			first = it;
		else
			second = it;
	}
	assert_non_null(second);	/* mkfs makes system, metadata and data chunks */
	memcpy(second + 9, first + 9, 8);
	assert_int_equal(lb_btrfs_csum_set(sb.csum_type, leaf, sb.nodesize), 0);
	assert_int_equal(lb_pwrite_all(fd, leaf, sb.nodesize, phys), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), -EUCLEAN);
	assert_non_null(strstr(lb_errmsg(), "out of order"));
	close(fd);
}

/* ---- checks -------------------------------------------------------------- */

static void test_check(void **state)
{
	const struct lb_fs_geom *k = lb_fs_geom_find("btrfs");
	struct lb_btrfs_geom g = {
		.node_size = 16384, .sector_size = 4096, .csum = (char *)"crc32c",
		.features = (char *)"mixed_backref no_holes", .devices = 2, .devid = 1,
		.dev_uuid = (char *)UUID_A, .dev_bytes = 1 << 30, .total_bytes = 2ull << 30,
		.data = (char *)"raid1", .metadata = (char *)"raid1", .system = (char *)"raid1",
	};
	struct lb_volume v = { .type = (char *)"btrfs", .btrfs = &g };
	char *why = NULL;

	(void)state;
	assert_non_null(k);
	assert_int_equal(k->check(&g, &why), 0);
	assert_int_equal(lb_fs_btrfs.can_make(&v, &why), 0);
	g.node_size = 2048;
	assert_int_equal(k->check(&g, &why), -EINVAL);
	free(why);
	g.node_size = 16384;
	g.data = (char *)"raid7";
	assert_int_equal(k->check(&g, &why), -EINVAL);
	free(why);
	g.data = (char *)"raid1";
	g.features = (char *)"mixed_backref frobnicate";
	assert_int_equal(k->check(&g, &why), -EINVAL);
	assert_non_null(strstr(why, "frobnicate"));
	free(why);
	/* recorded, but not made by mkfs.btrfs 6.2: refused by name */
	g.features = (char *)"mixed_backref incompat_bit_40";
	assert_int_equal(k->check(&g, &why), 0);
	assert_int_equal(lb_fs_btrfs.can_make(&v, &why), -EOPNOTSUPP);
	assert_non_null(strstr(why, "incompat_bit_40"));
	free(why);
	g.features = (char *)"block_group_tree";
	assert_int_equal(lb_fs_btrfs.can_make(&v, &why), -EOPNOTSUPP);
	assert_non_null(strstr(why, "block_group_tree"));
	free(why);
	g.features = (char *)"";
	g.system = (char *)"dup";
	assert_int_equal(lb_fs_btrfs.can_make(&v, &why), -EOPNOTSUPP);
	free(why);
	g.system = (char *)"raid1";
	g.metadata_uuid = (char *)UUID_A;
	assert_int_equal(k->check(&g, &why), -EINVAL);	/* without the feature */
	free(why);
	g.features = (char *)"metadata_uuid";
	assert_int_equal(k->check(&g, &why), 0);
	g.dev_bytes = 3ull << 30;
	assert_int_equal(k->check(&g, &why), -EINVAL);
	free(why);
}

/* The argv for two devices: both, in the order given, no byte count. */
static void test_argv_two(void **state)
{
	struct lb_btrfs_geom g = {
		.node_size = 16384, .sector_size = 4096, .csum = (char *)"crc32c",
		.features = (char *)"mixed_backref extended_iref skinny_metadata free_space_tree",
		.devices = 2, .devid = 1, .dev_uuid = (char *)UUID_A, .dev_bytes = 1 << 30,
		.total_bytes = 2ull << 30, .data = (char *)"raid1", .metadata = (char *)"raid1",
		.system = (char *)"raid1",
	};
	struct lb_volume v = { .type = (char *)"btrfs", .uuid = (char *)UUID_A, .btrfs = &g };
	const char *devs[] = { "/dev/a1", "/dev/b1" };
	char **argv = lb_btrfs_mkfs_argv(&v, devs, 2, false);
	_cleanup_free_ char *all = lb_strdup("");
	size_t n = 0;

	(void)state;
	for (; argv[n]; n++) {
		char *t = lb_asprintf("%s %s", all, argv[n]);

		free(all);
		all = t;
	}
	assert_string_equal(all, " mkfs.btrfs -f -q -U " UUID_A " --nodesize 16384 --sectorsize 4096 "
				 "--csum crc32c --features ^mixed-bg,extref,skinny-metadata,^no-holes "
				 "--runtime-features free-space-tree --data raid1 --metadata raid1 "
				 "/dev/a1 /dev/b1");
	lb_argv_free(argv);
}

/* ---- the free space tree ------------------------------------------------- */

/* The sum of the used runs of the btrfs in fd (0 when refused). */
static uint64_t used_of(int fd)
{
	struct runs runs = { 0 };
	uint64_t used = 0;

	if (lb_btrfs_used_runs(fd, 0, 600ull << 20, take_run, &runs, &used) < 0)
		return 0;
	assert_int_equal(runs.sum, used);
	assert_true(runs.has_super);
	return used;
}

/* What whole chunks take on this device, with the superblock copies. */
static uint64_t whole_of(const struct lb_btrfs_chunks *cs)
{
	uint64_t sum = 2 * BTRFS_SUPER_SIZE;	/* 64 KiB and 64 MiB, in 600 MiB */

	for (size_t i = 0; i < cs->n; i++)
		sum += cs->v[i].num_stripes * lb_btrfs_stripe_bytes(&cs->v[i]);
	return sum;
}

/* Where logical lies on the device (its chunk's first stripe). */
static uint64_t phys_of(const struct lb_btrfs_chunks *cs, uint64_t logical)
{
	for (size_t i = 0; i < cs->n; i++)
		if (logical >= cs->v[i].logical && logical - cs->v[i].logical < cs->v[i].length)
			return cs->v[i].stripes[0].offset + logical - cs->v[i].logical;
	fail_msg("logical %" PRIu64 " in no chunk", logical);
	return 0;
}

/* The leaf of the free space tree (a small one is one leaf, and so is its
 * root tree): its bytes in node, where it lies in *ret_phys. */
static void fst_leaf(int fd, const struct lb_btrfs_sb *sb, const struct lb_btrfs_chunks *cs,
		     uint8_t *node, uint64_t *ret_phys)
{
	uint64_t logical = 0;

	assert_int_equal(lb_pread_all(fd, node, sb->nodesize, phys_of(cs, sb->root)), 0);
	assert_int_equal(node[100], 0);
	for (uint32_t i = 0; i < lb_le32(node + 96); i++) {
		const uint8_t *it = node + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;

		if (lb_le64(it) == 10 && it[8] == BTRFS_ROOT_ITEM_KEY)
			logical = lb_le64(node + BTRFS_HEADER_SIZE + lb_le32(it + 17) + 176);
	}
	assert_true(logical > 0);
	*ret_phys = phys_of(cs, logical);
	assert_int_equal(lb_pread_all(fd, node, sb->nodesize, *ret_phys), 0);
	assert_int_equal(lb_le64(node + 88), 10);
	assert_int_equal(node[100], 0);
}

static void put_leaf(int fd, const struct lb_btrfs_sb *sb, uint8_t *node, uint64_t phys)
{
	assert_int_equal(lb_btrfs_csum_set(sb->csum_type, node, sb->nodesize), 0);
	assert_int_equal(lb_pwrite_all(fd, node, sb->nodesize, phys), 0);
}

/* A btrfs with files (mkfs.btrfs --rootdir): its data chunk's used runs
 * are what the free space tree does not call free, far less than the
 * chunks; without a valid free space tree, with a log to replay, or with
 * one crafted (a block group's extent count off by one, a free extent
 * outside its block group, an item count past its leaf), the chunks whole
 * again, never an error or less. */
static void test_free_space(void **state)
{
	_cleanup_free_ char *p = NULL, *root = NULL, *f = NULL;
	_cleanup_free_ uint8_t *orig = NULL, *node = NULL, *leaf = NULL;
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_free fr;
	struct lb_btrfs_sb sb;
	uint8_t b[BTRFS_SUPER_SIZE];
	uint64_t whole, used, data_free = 0, phys;
	size_t info = 0;
	int fd;

	(void)state;
	need_mkfs();
	root = lb_asprintf("%s/root", dir);
	assert_int_equal(mkdir(root, 0755), 0);
	{
		_cleanup_free_ uint8_t *data = lb_zalloc(1u << 20);

		for (size_t i = 0; i < (1u << 20); i++)
			data[i] = (uint8_t)(i * 2654435761u >> 13);
		for (int i = 0; i < 3; i++) {
			_cleanup_close_ int ffd = -1;

			free(f);
			f = lb_asprintf("%s/f%d", root, i);
			ffd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			assert_true(ffd >= 0);
			data[0] = (uint8_t)i;
			assert_int_equal(lb_pwrite_all(ffd, data, 1u << 20, 0), 0);
		}
	}
	p = image("f.img");
	mkfs(p, NULL, "-m", "single", "-r", root, NULL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lb_btrfs_sb_read(fd, 0, &sb), 0);
	assert_int_equal(lb_btrfs_chunks_read(fd, 0, 600ull << 20, &sb, &cs), 0);
	whole = whole_of(&cs);
	if (lb_btrfs_free_read(fd, 0, 600ull << 20, &sb, &cs, &fr) < 0)
		fail_msg("%s", lb_errmsg());
	/* a block group per chunk, its free ranges inside it, in order */
	assert_int_equal(fr.n_bg, cs.n);
	for (size_t i = 0; i < fr.n_free; i++) {
		while (info < fr.n_bg && fr.bg[info].start + fr.bg[info].len <= fr.free[i].start)
			info++;
		assert_true(info < fr.n_bg && fr.free[i].start >= fr.bg[info].start &&
			    fr.free[i].start + fr.free[i].len <= fr.bg[info].start + fr.bg[info].len);
		assert_true(i == 0 || fr.free[i].start > fr.free[i - 1].start + fr.free[i - 1].len ||
			    fr.free[i].start >= fr.bg[info].start);
		for (size_t c = 0; c < cs.n; c++)
			if (cs.v[c].logical == fr.bg[info].start && (cs.v[c].type & BTRFS_BG_DATA))
				data_free += fr.free[i].len;
	}
	lb_btrfs_free_free(&fr);
	used = used_of(fd);
	/* the 3 MiB of files and the metadata and system chunks (whole) are
	 * in; what is free in the data chunk is not (give or take the two
	 * superblock copies, which may lie in a chunk) */
	assert_true(data_free >= (4u << 20));
	assert_true(used >= (3u << 20));
	assert_true(whole - used + 2 * BTRFS_SUPER_SIZE >= data_free &&
		    whole - used <= data_free + 2 * BTRFS_SUPER_SIZE);

	/* no valid free space tree, or a log to replay: the chunks whole */
	orig = read_super(p);
	memcpy(b, orig, sizeof(b));
	b[0xb4] &= (uint8_t)~2;	/* FREE_SPACE_TREE_VALID */
	assert_int_equal(lb_btrfs_csum_set(0, b, sizeof(b)), 0);
	assert_int_equal(lb_pwrite_all(fd, b, sizeof(b), BTRFS_SUPER_OFF), 0);
	assert_int_equal(used_of(fd), whole);
	memcpy(b, orig, sizeof(b));
	put64(b + 0x60, sb.root);	/* log_root */
	assert_int_equal(lb_btrfs_csum_set(0, b, sizeof(b)), 0);
	assert_int_equal(lb_pwrite_all(fd, b, sizeof(b), BTRFS_SUPER_OFF), 0);
	assert_int_equal(used_of(fd), whole);
	/* an incompat or compat_ro bit lifeboat does not know (the remap
	 * tree's, 17, moves data by its own map): the chunks whole */
	memcpy(b, orig, sizeof(b));
	b[0xbc + 2] |= 2;	/* incompat bit 17 */
	assert_int_equal(lb_btrfs_csum_set(0, b, sizeof(b)), 0);
	assert_int_equal(lb_pwrite_all(fd, b, sizeof(b), BTRFS_SUPER_OFF), 0);
	assert_int_equal(used_of(fd), whole);
	memcpy(b, orig, sizeof(b));
	b[0xb4] |= 0x10;	/* compat_ro bit 4 */
	assert_int_equal(lb_btrfs_csum_set(0, b, sizeof(b)), 0);
	assert_int_equal(lb_pwrite_all(fd, b, sizeof(b), BTRFS_SUPER_OFF), 0);
	assert_int_equal(used_of(fd), whole);
	assert_int_equal(lb_pwrite_all(fd, orig, BTRFS_SUPER_SIZE, BTRFS_SUPER_OFF), 0);
	assert_int_equal(used_of(fd), used);

	/* the free space tree's leaf crafted, its checksum right */
	node = lb_zalloc(sb.nodesize);
	leaf = lb_zalloc(sb.nodesize);
	fst_leaf(fd, &sb, &cs, leaf, &phys);
	for (int how = 0; how < 4; how++) {
		uint32_t n = lb_le32(leaf + 96);
		bool done = false;

		memcpy(node, leaf, sb.nodesize);
		for (uint32_t i = 0; i < n && !done; i++) {
			uint8_t *it = node + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;
			uint8_t *data = node + BTRFS_HEADER_SIZE + lb_le32(it + 17);

			if (how == 0 && it[8] == BTRFS_FREE_SPACE_INFO_KEY) {
				data[0]++;	/* extent count */
				done = true;
			} else if (how == 1 && it[8] == BTRFS_FREE_SPACE_EXTENT_KEY) {
				put64(it + 9, 1ull << 40);	/* past its block group */
				done = true;
			} else if (how == 2 && it[8] == BTRFS_FREE_SPACE_INFO_KEY) {
				data[4] = 0x80;	/* unknown flags */
				done = true;
			} else if (how == 3) {
				node[96] = node[97] = 0xff;	/* items past the leaf */
				done = true;
			}
		}
		assert_true(done);
		put_leaf(fd, &sb, node, phys);
		assert_int_equal(lb_btrfs_free_read(fd, 0, 600ull << 20, &sb, &cs, &fr), -EUCLEAN);
		assert_int_equal(used_of(fd), whole);
	}
	put_leaf(fd, &sb, leaf, phys);
	assert_int_equal(used_of(fd), used);
	/* a copy whose checksum is wrong: not read */
	leaf[200] ^= 1;
	assert_int_equal(lb_pwrite_all(fd, leaf, sb.nodesize, phys), 0);
	assert_int_equal(lb_btrfs_free_read(fd, 0, 600ull << 20, &sb, &cs, &fr), -EUCLEAN);
	assert_int_equal(used_of(fd), whole);
	lb_btrfs_chunks_free(&cs);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_made),
		cmocka_unit_test(test_csum_types),
		cmocka_unit_test(test_two_devices),
		cmocka_unit_test(test_made_again),
		cmocka_unit_test(test_dev_uuids),
		cmocka_unit_test(test_set_fsid),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_crafted_leaf),
		cmocka_unit_test(test_crafted_order),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_argv_two),
		cmocka_unit_test(test_free_space),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
