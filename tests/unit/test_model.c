// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the data model (model.c) and the small helpers in util.c
 * that the manifest relies on: number parsing, UTF-8 checks, hex, SHA-256. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"

/* ---- helpers ---------------------------------------------------------- */

static struct lb_volume *vol(const char *id)
{
	struct lb_volume *v = lb_volume_new();

	v->id = lb_strdup(id);
	v->type = lb_strdup("ext4");
	return v;
}

static struct lb_partition *part(uint32_t number, const char *vol_id)
{
	struct lb_partition *p = lb_partition_new();

	p->number = number;
	p->start = 2048 * number;
	p->size = 2048;
	if (vol_id)
		p->volume = vol(vol_id);
	return p;
}

static struct lb_disk *disk(const char *id, const char *path)
{
	struct lb_disk *d = lb_disk_new();

	d->id = lb_strdup(id);
	d->path = lb_strdup(path);
	return d;
}

/* disk0 (/dev/sda, GPT): p1 with a volume, p2 without, p3 with one;
 * disk1 (/dev/sdb): a filesystem on the whole disk. */
static struct lb_manifest *sample(void)
{
	struct lb_manifest *m = lb_manifest_new();
	struct lb_disk *d0 = disk("disk0", "/dev/sda"), *d1 = disk("disk1", "/dev/sdb");

	d0->label = LB_LABEL_GPT;
	lb_disk_add_partition(d0, part(1, "disk0p1"));
	lb_disk_add_partition(d0, part(2, NULL));
	lb_disk_add_partition(d0, part(3, "disk0p3"));
	d1->volume = vol("disk1");
	lb_manifest_add_disk(m, d0);
	lb_manifest_add_disk(m, d1);
	return m;
}

/* ---- constructors and destructors ------------------------------------- */

static void test_new_defaults(void **state)
{
	struct lb_manifest *m = lb_manifest_new();
	struct lb_disk *d = lb_disk_new();
	struct lb_partition *p = lb_partition_new();
	struct lb_volume *v = lb_volume_new();

	(void)state;
	assert_int_equal(m->format, LB_MANIFEST_FORMAT);
	assert_int_equal(m->n_disks, 0);
	assert_null(m->disks);
	assert_null(m->boot);
	assert_true(d->selected);
	assert_int_equal(d->label, LB_LABEL_NONE);
	assert_int_equal(d->n_parts, 0);
	assert_int_equal(p->kind, LB_PART_PRIMARY);
	assert_null(p->volume);
	assert_false(v->critical);
	assert_null(v->id);
	lb_volume_free(v);
	lb_partition_free(p);
	lb_disk_free(d);
	lb_manifest_free(m);
}

static void test_free_null(void **state)
{
	(void)state;
	lb_manifest_free(NULL);
	lb_disk_free(NULL);
	lb_partition_free(NULL);
	lb_volume_free(NULL);
	lb_artifact_free(NULL);
	lb_boot_free(NULL);
	lb_efi_entry_free(NULL);
	lb_boot_ref_free(NULL);
	lb_ext_geom_free(NULL);
	lb_vfat_geom_free(NULL);
	lb_swap_geom_free(NULL);
}

/* Objects with only some members set free cleanly (valgrind checks the rest). */
static void test_free_half_built(void **state)
{
	struct lb_manifest *m = lb_manifest_new();
	struct lb_disk *d = lb_disk_new();
	struct lb_partition *p = lb_partition_new();
	struct lb_boot *b = lb_boot_new();

	(void)state;
	p->volume = lb_volume_new();
	p->volume->ext = lb_ext_geom_new();
	p->volume->ext->features = lb_strdup("has_journal");
	p->volume->vfat = lb_vfat_geom_new();
	p->volume->swap = lb_swap_geom_new();
	p->volume->data = lb_artifact_new();
	p->content = lb_artifact_new();
	p->content->file = lb_strdup("x.bin");
	lb_disk_add_partition(d, p);
	lb_disk_add_by_id(d, "ata-X");
	d->boot_code = lb_artifact_new();
	d->volume = lb_volume_new();
	lb_manifest_add_disk(m, d);
	lb_manifest_add_disk(m, lb_disk_new());
	lb_boot_add_efi(b, lb_efi_entry_new());
	lb_boot_add_ref(b, lb_boot_ref_new());
	b->firmware = lb_strdup("uefi");
	m->boot = b;
	m->rt_dir = lb_strdup("/tmp");
	lb_manifest_free(m);
}

static void test_add_by_id_copies(void **state)
{
	struct lb_disk *d = lb_disk_new();
	char name[] = "wwn-0x5000c500a1b2c3d4";

	(void)state;
	lb_disk_add_by_id(d, name);
	lb_disk_add_by_id(d, "ata-ST4000");
	name[0] = 'X';
	assert_int_equal(d->n_by_id, 2);
	assert_string_equal(d->by_id[0], "wwn-0x5000c500a1b2c3d4");
	assert_string_equal(d->by_id[1], "ata-ST4000");
	lb_disk_free(d);
}

/* ---- lookups ---------------------------------------------------------- */

static void test_find_disk(void **state)
{
	struct lb_manifest *m = sample();

	(void)state;
	assert_ptr_equal(lb_manifest_find_disk(m, "disk0"), m->disks[0]);
	assert_ptr_equal(lb_manifest_find_disk(m, "disk1"), m->disks[1]);
	assert_ptr_equal(lb_manifest_find_disk(m, "/dev/sda"), m->disks[0]);
	assert_ptr_equal(lb_manifest_find_disk(m, "/dev/sdb"), m->disks[1]);
	assert_null(lb_manifest_find_disk(m, "disk2"));
	assert_null(lb_manifest_find_disk(m, "/dev/sdc"));
	assert_null(lb_manifest_find_disk(m, "sda"));
	assert_null(lb_manifest_find_disk(m, ""));
	assert_null(lb_manifest_find_disk(m, NULL));
	lb_manifest_free(m);
}

/* An id wins over a path that happens to be spelled the same. */
static void test_find_disk_id_before_path(void **state)
{
	struct lb_manifest *m = lb_manifest_new();
	struct lb_disk *a = disk("first", "x"), *b = disk("x", "/dev/sdz");

	(void)state;
	lb_manifest_add_disk(m, a);
	lb_manifest_add_disk(m, b);
	assert_ptr_equal(lb_manifest_find_disk(m, "x"), b);
	lb_manifest_free(m);
}

static void test_find_disk_missing_fields(void **state)
{
	struct lb_manifest *m = lb_manifest_new();

	(void)state;
	lb_manifest_add_disk(m, lb_disk_new());	/* no id, no path */
	lb_manifest_add_disk(m, disk("disk1", "/dev/sdb"));
	assert_ptr_equal(lb_manifest_find_disk(m, "/dev/sdb"), m->disks[1]);
	assert_null(lb_manifest_find_disk(m, "disk0"));
	lb_manifest_free(m);
}

static void test_find_partition(void **state)
{
	struct lb_manifest *m = sample();
	struct lb_disk *d = m->disks[0];

	(void)state;
	assert_ptr_equal(lb_disk_find_partition(d, 1), d->parts[0]);
	assert_ptr_equal(lb_disk_find_partition(d, 2), d->parts[1]);
	assert_ptr_equal(lb_disk_find_partition(d, 3), d->parts[2]);
	assert_null(lb_disk_find_partition(d, 0));
	assert_null(lb_disk_find_partition(d, 4));
	assert_null(lb_disk_find_partition(m->disks[1], 1));
	lb_manifest_free(m);
}

static void test_find_volume(void **state)
{
	struct lb_manifest *m = sample();

	(void)state;
	assert_ptr_equal(lb_manifest_find_volume(m, "disk0p1"), m->disks[0]->parts[0]->volume);
	assert_ptr_equal(lb_manifest_find_volume(m, "disk0p3"), m->disks[0]->parts[2]->volume);
	assert_ptr_equal(lb_manifest_find_volume(m, "disk1"), m->disks[1]->volume);
	assert_null(lb_manifest_find_volume(m, "disk0p2"));	/* partition without a volume */
	assert_null(lb_manifest_find_volume(m, "disk0"));	/* a disk, not a volume */
	assert_null(lb_manifest_find_volume(m, NULL));
	lb_manifest_free(m);
}

struct visit {
	char seen[8][16];
	const struct lb_partition *parts[8];
	const struct lb_disk *disks[8];
	int n;
	int stop_at;	/* return 42 on this call (1-based), 0: never */
};

static int visit_cb(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct visit *vs = ud;

	assert_true(vs->n < 8);
	snprintf(vs->seen[vs->n], sizeof(vs->seen[0]), "%s", v->id);
	vs->parts[vs->n] = p;
	vs->disks[vs->n] = d;
	vs->n++;
	return vs->n == vs->stop_at ? 42 : 0;
}

static void test_foreach_volume_order(void **state)
{
	struct lb_manifest *m = sample();
	struct visit vs = { .n = 0 };

	(void)state;
	/* A whole-disk volume comes before the disk's partitions. */
	m->disks[0]->volume = vol("disk0");
	assert_int_equal(lb_manifest_foreach_volume(m, visit_cb, &vs), 0);
	assert_int_equal(vs.n, 4);
	assert_string_equal(vs.seen[0], "disk0");
	assert_string_equal(vs.seen[1], "disk0p1");
	assert_string_equal(vs.seen[2], "disk0p3");
	assert_string_equal(vs.seen[3], "disk1");
	assert_null(vs.parts[0]);
	assert_ptr_equal(vs.parts[1], m->disks[0]->parts[0]);
	assert_ptr_equal(vs.parts[2], m->disks[0]->parts[2]);
	assert_null(vs.parts[3]);
	assert_ptr_equal(vs.disks[0], m->disks[0]);
	assert_ptr_equal(vs.disks[2], m->disks[0]);
	assert_ptr_equal(vs.disks[3], m->disks[1]);
	lb_manifest_free(m);
}

static void test_foreach_volume_stops(void **state)
{
	struct lb_manifest *m = sample();
	struct visit vs = { .n = 0, .stop_at = 2 };

	(void)state;
	assert_int_equal(lb_manifest_foreach_volume(m, visit_cb, &vs), 42);
	assert_int_equal(vs.n, 2);
	assert_string_equal(vs.seen[1], "disk0p3");

	vs = (struct visit){ .n = 0, .stop_at = 3 };	/* on the whole-disk volume */
	assert_int_equal(lb_manifest_foreach_volume(m, visit_cb, &vs), 42);
	assert_int_equal(vs.n, 3);
	assert_string_equal(vs.seen[2], "disk1");
	lb_manifest_free(m);
}

static void test_foreach_volume_empty(void **state)
{
	struct lb_manifest *m = lb_manifest_new();
	struct visit vs = { .n = 0 };

	(void)state;
	assert_int_equal(lb_manifest_foreach_volume(m, visit_cb, &vs), 0);
	lb_manifest_add_disk(m, disk("disk0", "/dev/sda"));	/* blank disk */
	assert_int_equal(lb_manifest_foreach_volume(m, visit_cb, &vs), 0);
	assert_int_equal(vs.n, 0);
	lb_manifest_free(m);
}

static void test_disk_is_critical(void **state)
{
	struct lb_manifest *m = sample();
	struct lb_disk *d0 = m->disks[0], *d1 = m->disks[1];
	struct lb_disk *blank = lb_disk_new();

	(void)state;
	assert_false(lb_disk_is_critical(d0));
	assert_false(lb_disk_is_critical(d1));
	assert_false(lb_disk_is_critical(blank));
	d0->parts[2]->volume->critical = true;	/* the last partition */
	assert_true(lb_disk_is_critical(d0));
	d1->volume->critical = true;
	assert_true(lb_disk_is_critical(d1));
	lb_disk_free(blank);
	lb_manifest_free(m);
}

/* ---- names ------------------------------------------------------------ */

static void test_label_names(void **state)
{
	static const struct {
		enum lb_label_type t;
		const char *name;
	} want[] = {
		{ LB_LABEL_NONE, "none" },
		{ LB_LABEL_DOS, "dos" },
		{ LB_LABEL_GPT, "gpt" },
	};
	enum lb_label_type t;

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(want); i++) {
		assert_string_equal(lb_label_type_name(want[i].t), want[i].name);
		t = (enum lb_label_type)99;
		assert_int_equal(lb_label_type_from_name(want[i].name, &t), 0);
		assert_int_equal(t, want[i].t);
	}
	t = LB_LABEL_GPT;
	assert_int_equal(lb_label_type_from_name("GPT", &t), -EINVAL);
	assert_int_equal(lb_label_type_from_name("mbr", &t), -EINVAL);
	assert_int_equal(lb_label_type_from_name("", &t), -EINVAL);
	assert_int_equal(lb_label_type_from_name(NULL, &t), -EINVAL);
	assert_int_equal(t, LB_LABEL_GPT);	/* untouched on failure */
	assert_string_equal(lb_label_type_name((enum lb_label_type)3), "unknown");
	assert_string_equal(lb_label_type_name((enum lb_label_type)-1), "unknown");
}

static void test_kind_names(void **state)
{
	static const struct {
		enum lb_part_kind k;
		const char *name;
	} want[] = {
		{ LB_PART_PRIMARY, "primary" },
		{ LB_PART_EXTENDED, "extended" },
		{ LB_PART_LOGICAL, "logical" },
	};
	enum lb_part_kind k;

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(want); i++) {
		assert_string_equal(lb_part_kind_name(want[i].k), want[i].name);
		k = (enum lb_part_kind)99;
		assert_int_equal(lb_part_kind_from_name(want[i].name, &k), 0);
		assert_int_equal(k, want[i].k);
	}
	k = LB_PART_LOGICAL;
	assert_int_equal(lb_part_kind_from_name("Primary", &k), -EINVAL);
	assert_int_equal(lb_part_kind_from_name("primary ", &k), -EINVAL);
	assert_int_equal(lb_part_kind_from_name(NULL, &k), -EINVAL);
	assert_int_equal(k, LB_PART_LOGICAL);
	assert_string_equal(lb_part_kind_name((enum lb_part_kind)3), "unknown");
}

/* ---- util: numbers ---------------------------------------------------- */

static void test_parse_u64(void **state)
{
	static const char *const bad[] = {
		"", "-1", "-0", "+1", " 1", "1 ", "12x", "x12", "1.5", "1e3",
		"18446744073709551616", "99999999999999999999999",
	};
	uint64_t v;

	(void)state;
	assert_int_equal(lb_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(lb_parse_u64("1228800", &v), 0);
	assert_int_equal(v, 1228800);
	assert_int_equal(lb_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		v = 7;
		if (lb_parse_u64(bad[i], &v) >= 0)
			fail_msg("lb_parse_u64(\"%s\") accepted it as %" PRIu64, bad[i], v);
		assert_int_equal(v, 7);	/* untouched on failure */
	}
	assert_true(lb_parse_u64(NULL, &v) < 0);
}

static void test_parse_u32(void **state)
{
	static const char *const bad[] = {
		"", "-1", "12x", "4294967296", "18446744073709551616", " 5",
	};
	uint32_t v;

	(void)state;
	assert_int_equal(lb_parse_u32("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(lb_parse_u32("4294967295", &v), 0);
	assert_true(v == UINT32_MAX);
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		v = 7;
		if (lb_parse_u32(bad[i], &v) >= 0)
			fail_msg("lb_parse_u32(\"%s\") accepted it as %u", bad[i], v);
		assert_int_equal(v, 7);
	}
	assert_int_equal(lb_parse_u32("4294967296", &v), -ERANGE);
}

/* ---- util: UTF-8 ------------------------------------------------------ */

static void test_utf8_printable(void **state)
{
	static const char *const good[] = {
		"",
		"EFI System Partition",
		"données",
		"ルート",
		"Ωmega",
		"100% \"ü\" ☃ \\x41",
		"$(reboot) `id` \"q\" 'x' <&>|;",
		"\xc2\xa0",		/* U+00A0, just above the C1 controls */
		"\xf0\x9f\x98\x80",	/* U+1F600, four bytes */
		"\xf4\x8f\xbf\xbd",	/* U+10FFFD, the last valid plane */
		"\xef\xbf\xbd",		/* U+FFFD */
	};
	static const struct {
		const char *s, *why;
	} bad[] = {
		{ "a\nb", "newline" },
		{ "a\tb", "tab" },
		{ "\x01", "SOH" },
		{ "\x1f", "US" },
		{ "\x7f", "DEL" },
		{ "\xc2\x80", "C1 control U+0080" },
		{ "\xc2\x9f", "C1 control U+009F" },
		{ "\xc0\xaf", "overlong 2-byte /" },
		{ "\xc1\xbf", "overlong 2-byte" },
		{ "\xe0\x80\xaf", "overlong 3-byte /" },
		{ "\xe0\x9f\xbf", "overlong 3-byte" },
		{ "\xf0\x80\x80\xaf", "overlong 4-byte /" },
		{ "\xf0\x8f\xbf\xbf", "overlong 4-byte" },
		{ "\x80", "lone continuation byte" },
		{ "ab\xbf", "continuation byte after ASCII" },
		{ "\xe3\x83", "truncated sequence" },
		{ "\xe3\x83z", "sequence cut by ASCII" },
		{ "\xed\xa0\x80", "high surrogate U+D800" },
		{ "\xed\xbf\xbf", "low surrogate U+DFFF" },
		{ "\xef\xbf\xbe", "noncharacter U+FFFE" },
		{ "\xef\xbf\xbf", "noncharacter U+FFFF" },
		{ "\xf4\x90\x80\x80", "beyond U+10FFFF" },
		{ "\xf8\x88\x80\x80\x80", "5-byte form" },
		{ "\xfe", "0xFE" },
		{ "\xff", "0xFF" },
		{ "données\x1b[31m", "escape sequence after UTF-8" },
	};

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(good); i++)
		if (!lb_utf8_is_printable(good[i]))
			fail_msg("rejected printable UTF-8 #%zu \"%s\"", i, good[i]);
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++)
		if (lb_utf8_is_printable(bad[i].s))
			fail_msg("accepted %s", bad[i].why);
}

/* ---- util: hex -------------------------------------------------------- */

static void test_hex(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff, '\n' };
	char *hex = lb_hex_encode(bytes, sizeof(bytes));
	uint8_t *raw = NULL;
	size_t len = 99;

	(void)state;
	assert_string_equal(hex, "00017f80abff0a");
	assert_int_equal(lb_hex_decode(hex, &raw, &len), 0);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(raw, bytes, sizeof(bytes));
	free(raw);
	free(hex);

	hex = lb_hex_encode("", 0);
	assert_string_equal(hex, "");
	assert_int_equal(lb_hex_decode(hex, &raw, &len), 0);
	assert_int_equal(len, 0);
	free(raw);
	free(hex);

	/* Upper case decodes; the result is NUL-terminated for text. */
	assert_int_equal(lb_hex_decode("4C6966", &raw, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal((char *)raw, "Lif");
	free(raw);

	raw = NULL;
	assert_int_equal(lb_hex_decode("abc", &raw, &len), -EINVAL);	/* odd */
	assert_int_equal(lb_hex_decode("zz", &raw, &len), -EINVAL);
	assert_int_equal(lb_hex_decode("0g", &raw, &len), -EINVAL);
	assert_int_equal(lb_hex_decode("0x00", &raw, &len), -EINVAL);
	assert_int_equal(lb_hex_decode("00 ", &raw, &len), -EINVAL);
	assert_null(raw);
}

/* ---- util: SHA-256 ---------------------------------------------------- */

static void test_sha256(void **state)
{
	char sum[65];

	(void)state;
	/* FIPS 180-2, appendix B.1 */
	assert_int_equal(lb_sha256_buf("abc", 3, sum), 0);
	assert_string_equal(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(lb_sha256_buf("", 0, sum), 0);
	assert_string_equal(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* FIPS 180-2, appendix B.2 (two blocks) */
	assert_int_equal(lb_sha256_buf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, sum),
			 0);
	assert_string_equal(sum, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_defaults),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_free_half_built),
		cmocka_unit_test(test_add_by_id_copies),
		cmocka_unit_test(test_find_disk),
		cmocka_unit_test(test_find_disk_id_before_path),
		cmocka_unit_test(test_find_disk_missing_fields),
		cmocka_unit_test(test_find_partition),
		cmocka_unit_test(test_find_volume),
		cmocka_unit_test(test_foreach_volume_order),
		cmocka_unit_test(test_foreach_volume_stops),
		cmocka_unit_test(test_foreach_volume_empty),
		cmocka_unit_test(test_disk_is_critical),
		cmocka_unit_test(test_label_names),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u32),
		cmocka_unit_test(test_utf8_printable),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
