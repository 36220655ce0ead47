// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the filesystem ops table (src/fs/fs.c) and each
 * filesystem's field table: every kind of geometry, with every field set
 * (and again with only the required ones), written to a manifest and read
 * back equal, and given by show --json under the names its table says; the
 * tables themselves consistent; the ext checks (issue 16: the encoding that
 * reaches mke2fs -E, the flex-group shift); reading through the table. */
#include <errno.h>
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
#include <json-c/json.h>
#include <libxml/parser.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"

/* ---- helpers ---------------------------------------------------------- */

static const struct lb_field *field(const struct lb_fs_geom *k, const char *name)
{
	for (const struct lb_field *f = k->fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	fail_msg("%s: no field %s", k->element, name);
	return NULL;
}

/* Sets one field from text, as the manifest would give it. */
static void set_field(const struct lb_fs_geom *k, void *g, const char *name, const char *val)
{
	const struct lb_field *f = field(k, name);
	char *base = (char *)g + f->off;

	switch (f->type) {
	case LB_F_STR:
		free(*(char **)base);
		*(char **)base = lb_strdup(val);
		break;
	case LB_F_U32:
		assert_int_equal(lb_parse_u32(val, (uint32_t *)base), 0);
		break;
	case LB_F_U64:
		assert_int_equal(lb_parse_u64(val, (uint64_t *)base), 0);
		break;
	default:
		fail_msg("%s.%s: a type no geometry uses", k->element, name);
	}
}

/* Values the schema and the checks hold each geometry to; everything else
 * gets a distinct value by fill(). */
static const struct {
	const char *element, *field, *value;
} valid_values[] = {
	{ "ext", "block-size", "4096" },
	{ "ext", "cluster-size", "4096" },
	{ "ext", "inode-size", "256" },
	{ "ext", "log-groups-per-flex", "4" },
	{ "ext", "features", "has_journal ext_attr flex_bg casefold" },
	{ "ext", "hash-seed", "6c1fe0b0-0001-4c1f-8a00-0000000000d3" },
	{ "ext", "errors", "remount-ro" },
	{ "ext", "encoding", "utf8-12.1" },
	{ "vfat", "fat-bits", "32" },
	{ "vfat", "sector-size", "512" },
	{ "vfat", "serial", "6C1F-EF11" },
	{ "swap", "page-size", "4096" },
	{ "xfs", "version", "5" },
	{ "xfs", "block-size", "4096" },
	{ "xfs", "sector-size", "512" },
	{ "xfs", "blocks", "65536" },
	{ "xfs", "ag-count", "4" },
	{ "xfs", "ag-blocks", "16384" },
	{ "xfs", "inode-size", "512" },
	{ "xfs", "imaxpct", "25" },
	{ "xfs", "dir-block-size", "8192" },
	{ "xfs", "stripe-unit", "16" },
	{ "xfs", "stripe-width", "64" },
	{ "xfs", "log-blocks", "2560" },
	{ "xfs", "log-start", "32776" },
	{ "xfs", "log-version", "2" },
	{ "xfs", "log-sector-size", "512" },
	{ "xfs", "log-stripe-unit", "32768" },
	{ "xfs", "features", "crc finobt rmapbt reflink inobtcount bigtime sparse ftype meta_uuid" },
	{ "xfs", "meta-uuid", "6c1fe0b0-0002-4c1f-8a00-0000000000d4" },
	{ "btrfs", "node-size", "16384" },
	{ "btrfs", "sector-size", "4096" },
	{ "btrfs", "csum", "xxhash" },
	{ "btrfs", "features", "mixed_backref no_holes metadata_uuid incompat_bit_40" },
	{ "btrfs", "metadata-uuid", "6c1fe0b0-0003-4c1f-8a00-0000000000d5" },
	{ "btrfs", "dev-uuid", "6c1fe0b0-0004-4c1f-8a00-0000000000d6" },
	{ "btrfs", "dev-bytes", "1048576" },
	{ "btrfs", "total-bytes", "2097152" },
	{ "btrfs", "data", "raid1" },
	{ "btrfs", "metadata", "raid10" },
	{ "btrfs", "system", "dup" },
};

/* Every field of g set: numbers distinct and small enough to fit a 1 GiB
 * disk, text distinct, and -hex fields with a byte that needs the -hex form.
 * With all=false only the fields the manifest always writes. */
static void fill(const struct lb_fs_geom *k, void *g, bool all)
{
	size_t i = 0;

	for (const struct lb_field *f = k->fields; f->name; f++, i++) {
		char *base = (char *)g + f->off;

		if (!all && (f->flags & LB_F_OPT))
			continue;
		switch (f->type) {
		case LB_F_STR:
			*(char **)base = (f->flags & LB_F_HEX) ? lb_asprintf("%s\001%zu", f->name, i)
							       : lb_asprintf("%s-%zu", f->name, i);
			break;
		case LB_F_U32:
			*(uint32_t *)base = (uint32_t)(100 + i);
			break;
		case LB_F_U64:
			*(uint64_t *)base = 1000 + i;
			break;
		default:
			fail_msg("%s.%s: a type no geometry uses", k->element, f->name);
		}
	}
	for (i = 0; i < LB_ARRAY_SIZE(valid_values); i++)
		if (strcmp(valid_values[i].element, k->element) == 0 &&
		    (all || !(field(k, valid_values[i].field)->flags & LB_F_OPT)))
			set_field(k, g, valid_values[i].field, valid_values[i].value);
}

static void assert_geom_equal(const struct lb_fs_geom *k, const void *a, const void *b)
{
	for (const struct lb_field *f = k->fields; f->name; f++) {
		const char *x = (const char *)a + f->off, *y = (const char *)b + f->off;

		switch (f->type) {
		case LB_F_STR: {
			const char *s = *(char *const *)x, *t = *(char *const *)y;

			if (!s != !t || (s && strcmp(s, t) != 0))
				fail_msg("%s.%s: \"%s\" != \"%s\"", k->element, f->name,
					 s ? s : "(null)", t ? t : "(null)");
			break;
		}
		case LB_F_U32:
			if (*(const uint32_t *)x != *(const uint32_t *)y)
				fail_msg("%s.%s: %u != %u", k->element, f->name, *(const uint32_t *)x,
					 *(const uint32_t *)y);
			break;
		case LB_F_U64:
			if (*(const uint64_t *)x != *(const uint64_t *)y)
				fail_msg("%s.%s: %" PRIu64 " != %" PRIu64, k->element, f->name,
					 *(const uint64_t *)x, *(const uint64_t *)y);
			break;
		default:
			fail_msg("%s.%s: a type no geometry uses", k->element, f->name);
		}
	}
}

/* The first type in the table that records geometry k. */
static const char *type_of(const struct lb_fs_geom *k)
{
	const struct lb_fs_ops *ops;

	for (size_t i = 0; (ops = lb_fs_ops_at(i)); i++)
		if (ops->geom == k)
			return ops->type;
	fail_msg("%s: no type records it", k->element);
	return NULL;
}

/* A manifest with one whole-disk volume per kind of geometry, each set by fill. */
static struct lb_manifest *manifest_with_every_geometry(bool all)
{
	struct lb_manifest *m = lb_manifest_new();
	const struct lb_fs_geom *k;

	m->format = LB_MANIFEST_FORMAT;
	m->id = lb_strdup("6c1fe0b0-0000-4000-8000-000000000001");
	m->time = lb_strdup("2024-03-05T02:14:07Z");
	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++) {
		struct lb_disk *d = lb_disk_new();
		struct lb_volume *v = lb_volume_new();
		void *g = lb_zalloc(k->size);

		d->id = lb_asprintf("disk%zu", i);
		d->path = lb_asprintf("/dev/sd%c", (char)('a' + i));
		d->selected = true;
		d->size = 2097152;
		d->sector_size = 512;
		d->physical_sector_size = 512;
		v->id = lb_strdup(d->id);
		v->type = lb_strdup(type_of(k));
		fill(k, g, all);
		lb_fs_geom_set(k, v, g);
		d->volume = v;
		lb_manifest_add_disk(m, d);
	}
	return m;
}

static struct lb_manifest *write_and_load(const struct lb_manifest *m)
{
	_cleanup_free_ char *xml = NULL;
	struct lb_manifest *back = NULL;
	size_t len = 0;

	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	if (lb_manifest_load_mem(xml, len, "test.xml", &back) < 0)
		fail_msg("does not load: %s\n%s", lb_errmsg(), xml);
	return back;
}

static void roundtrip(bool all)
{
	struct lb_manifest *m = manifest_with_every_geometry(all), *back = write_and_load(m);
	const struct lb_fs_geom *k;
	size_t i;

	assert_int_equal(back->n_disks, m->n_disks);
	for (i = 0; (k = lb_fs_geom_at(i)); i++) {
		const void *a = lb_fs_geom_get(k, m->disks[i]->volume);
		const void *b = lb_fs_geom_get(k, back->disks[i]->volume);

		assert_non_null(a);
		if (!b)
			fail_msg("%s: not read back", k->element);
		assert_geom_equal(k, a, b);
		/* and no other kind appeared */
		for (size_t j = 0; lb_fs_geom_at(j); j++)
			if (j != i)
				assert_null(lb_fs_geom_get(lb_fs_geom_at(j), back->disks[i]->volume));
	}
	assert_true(i >= 3);	/* ext, vfat, swap at least */
	lb_manifest_free(back);
	lb_manifest_free(m);
}

/* ---- tests ------------------------------------------------------------ */

static void test_roundtrip_every_field(void **state)
{
	(void)state;
	roundtrip(true);
}

static void test_roundtrip_required_fields(void **state)
{
	(void)state;
	roundtrip(false);
}

/* The tables hold together: each kind found by its element, each JSON name a
 * field, field names unique, every type's ops found by its name. */
static void test_tables_consistent(void **state)
{
	const struct lb_fs_geom *k;
	const struct lb_fs_ops *ops;

	(void)state;
	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++) {
		assert_ptr_equal(lb_fs_geom_find(k->element), k);
		assert_non_null(k->read);
		assert_non_null(k->check);
		assert_non_null(k->bytes);
		assert_non_null(k->free);
		for (const char *const *n = k->json; *n; n++)
			field(k, *n);
		for (const struct lb_field *f = k->fields; f->name; f++)
			for (const struct lb_field *e = f + 1; e->name; e++)
				if (strcmp(f->name, e->name) == 0)
					fail_msg("%s: field %s twice", k->element, f->name);
	}
	assert_null(lb_fs_geom_find("volume"));
	for (size_t i = 0; (ops = lb_fs_ops_at(i)); i++) {
		assert_ptr_equal(lb_fs_ops_find(ops->type), ops);
		assert_non_null(ops->program);
		assert_non_null(ops->mkfs_argv);
	}
	assert_null(lb_fs_ops_find("raw"));
	assert_null(lb_fs_ops_find(NULL));
}

/* show --json gives each geometry's JSON fields, in the table's order,
 * with the values read back. */
static void test_json_fields(void **state)
{
	struct lb_manifest *m = manifest_with_every_geometry(true);
	const struct lb_fs_geom *k;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_object *root, *disks;

	(void)state;
	assert_non_null(f);
	assert_int_equal(lb_show_json(m, f), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "disks", &disks));
	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++) {
		json_object *d = json_object_array_get_idx(disks, i), *v, *g;
		const void *geom = lb_fs_geom_get(k, m->disks[i]->volume);
		struct json_object_iterator it, end;
		const char *const *n = k->json;

		assert_true(json_object_object_get_ex(d, "volume", &v));
		assert_true(json_object_object_get_ex(v, k->element, &g));
		it = json_object_iter_begin(g);
		end = json_object_iter_end(g);
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it), n++) {
			_cleanup_free_ char *key = lb_strdup(*n);
			const struct lb_field *fd = field(k, *n);
			const char *base = (const char *)geom + fd->off;
			json_object *val = json_object_iter_peek_value(&it);

			assert_non_null(*n);
			for (char *c = key; *c; c++)
				if (*c == '-')
					*c = '_';
			assert_string_equal(json_object_iter_peek_name(&it), key);
			if (fd->type == LB_F_STR)
				assert_string_equal(json_object_get_string(val), *(char *const *)base);
			else if (fd->type == LB_F_U32)
				assert_int_equal(json_object_get_uint64(val), *(const uint32_t *)base);
			else
				assert_int_equal(json_object_get_uint64(val), *(const uint64_t *)base);
		}
		assert_null(*n);
	}
	json_object_put(root);
	free(buf);
	lb_manifest_free(m);
}

static struct lb_manifest *manifest_with_ext(const char *name, const char *value)
{
	struct lb_manifest *m = manifest_with_every_geometry(true);
	const struct lb_fs_geom *k = lb_fs_geom_find("ext");

	set_field(k, lb_fs_geom_get(k, m->disks[0]->volume), name, value);
	return m;
}

/* Issue 16: the ext encoding goes into mke2fs -E encoding=...: only the
 * names mke2fs knows load. */
static void test_ext_encoding_checked(void **state)
{
	static const char *const good[] = { "utf8", "utf8-12.1" };
	static const char *const bad[] = { "utf8,discard", "utf8,root_owner=0:0", "UTF8", "utf16",
					   "", "utf8 ", "latin1" };

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(good); i++) {
		struct lb_manifest *m = manifest_with_ext("encoding", good[i]);
		struct lb_manifest *back = write_and_load(m);

		lb_manifest_free(back);
		lb_manifest_free(m);
	}
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		struct lb_manifest *m = manifest_with_ext("encoding", bad[i]), *back = NULL;
		_cleanup_free_ char *xml = NULL;
		size_t len = 0;

		assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
		assert_int_equal(lb_manifest_load_mem(xml, len, "test.xml", &back), -EINVAL);
		assert_null(back);
		if (!strstr(lb_errmsg(), "test.xml:") || !strstr(lb_errmsg(), "is not one mke2fs knows"))
			fail_msg("encoding \"%s\": %s", bad[i], lb_errmsg());
		lb_manifest_free(m);
	}
}

/* The mke2fs argv carries the encoding as recorded, and a flex group count
 * only within the shift the check allows (the UBSan shift of issue 16). */
static void test_ext_mkfs_argv(void **state)
{
	struct lb_manifest *m = manifest_with_ext("log-groups-per-flex", "31");
	struct lb_volume *v = m->disks[0]->volume;
	const struct lb_fs_ops *ops = lb_fs_ops_find(v->type);
	char **argv;
	bool enc = false, flex = false;

	(void)state;
	argv = ops->mkfs_argv(v, "/dev/null", true);
	for (size_t i = 0; argv[i]; i++) {
		if (strstr(argv[i], "encoding=utf8-12.1"))
			enc = true;
		if (strcmp(argv[i], "-G") == 0 && argv[i + 1] && strcmp(argv[i + 1], "2147483648") == 0)
			flex = true;
	}
	assert_true(enc);
	assert_true(flex);
	lb_argv_free(argv);
	v->ext->log_groups_per_flex = 32;	/* refused at load; never shifted */
	argv = ops->mkfs_argv(v, "/dev/null", true);
	for (size_t i = 0; argv[i]; i++)
		assert_string_not_equal(argv[i], "-G");
	lb_argv_free(argv);
	lb_manifest_free(m);
}

/* Reading through the table (a swap header in a file stands in for a device):
 * what capture records is what load accepts, else nothing is recorded. */
static void test_read_geom_through_table(void **state)
{
	char path[] = "/tmp/lifeboat-test-fs.XXXXXX";
	_cleanup_close_ int fd = mkstemp(path);
	struct lb_volume *v = lb_volume_new();
	uint8_t hdr[8] = { 1, 0, 0, 0, 255, 0, 0, 0 };	/* version 1, last page 255 */

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 1024), (ssize_t)sizeof(hdr));
	assert_int_equal(pwrite(fd, "SWAPSPACE2", 10, 4096 - 10), 10);
	v->type = lb_strdup("swap");
	v->rt_size = 1 << 20;
	assert_int_equal(lb_fs_read_geom(v, path, fd), 0);
	assert_non_null(v->swap);
	assert_int_equal(v->swap->page_size, 4096);
	assert_int_equal(v->swap->pages, 255);
	assert_int_equal(v->swap->version, 1);
	lb_swap_geom_free(v->swap);
	v->swap = NULL;
	/* 256 pages of 4096 bytes do not fit in 512 KiB: not recorded */
	v->rt_size = 512 << 10;
	assert_int_equal(lb_fs_read_geom(v, path, fd), -EINVAL);
	assert_null(v->swap);
	assert_non_null(strstr(lb_errmsg(), "larger than the 524288 bytes"));
	/* a btrfs that is not one: refused, nothing recorded */
	free(v->type);
	v->type = lb_strdup("btrfs");
	v->rt_size = 1 << 20;
	assert_int_equal(lb_fs_read_geom(v, path, fd), -EINVAL);
	assert_null(v->btrfs);
	/* a type that records no geometry reads nothing */
	free(v->type);
	v->type = lb_strdup("ntfs");
	assert_int_equal(lb_fs_read_geom(v, path, fd), 0);
	assert_null(v->ext);
	assert_null(v->vfat);
	assert_null(v->swap);
	assert_null(v->xfs);
	assert_null(v->btrfs);
	lb_volume_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_consistent),
		cmocka_unit_test(test_roundtrip_every_field),
		cmocka_unit_test(test_roundtrip_required_fields),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_ext_encoding_checked),
		cmocka_unit_test(test_ext_mkfs_argv),
		cmocka_unit_test(test_read_geom_through_table),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	xmlCleanupParser();
	return r;
}
