// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for what an offline capture reads from an installed system's
 * fstab (sysroot.c): parsing (comments, junk, escapes, missing fields),
 * which entries mount a local volume at boot, and resolving each source
 * against the captured volumes only (never this machine's /dev). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"

static struct lb_volume *add_part(struct lb_disk *d, uint32_t n, const char *type,
				  const char *uuid, const char *label, const char *partuuid,
				  const char *partlabel)
{
	struct lb_partition *p = lb_partition_new();
	struct lb_volume *v = lb_volume_new();

	p->number = n;
	p->start = 2048 * n;
	p->size = 2048;
	p->type = lb_strdup("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
	p->uuid = lb_strdup(partuuid);
	p->name = lb_strdup(partlabel);
	/* the kernel's names: loop7p3, sdb1 */
	p->path = lb_asprintf("%s%s%u", d->path,
			      d->path[strlen(d->path) - 1] >= '0' && d->path[strlen(d->path) - 1] <= '9' ? "p" : "",
			      n);
	v->id = lb_asprintf("%sp%u", d->id, n);
	v->type = lb_strdup(type);
	v->uuid = lb_strdup(uuid);
	v->label = lb_strdup(label);
	p->volume = v;
	lb_disk_add_partition(d, p);
	return v;
}

/* disk0 (GPT, /dev/loop7): p1 vfat, p2 ext4 "boot", p3 swap, p4 ext4 root
 * labelled with shell metacharacters; disk1 (MBR 0x1234abcd, /dev/sdb) p1
 * ext4 "srv data"; disk2: ext4 on the whole disk. */
static struct lb_manifest *build(void)
{
	struct lb_manifest *m = lb_manifest_new();
	struct lb_disk *d = lb_disk_new();

	d->id = lb_strdup("disk0");
	d->path = lb_strdup("/dev/loop7");
	d->label = LB_LABEL_GPT;
	lb_disk_add_by_id(d, "nvme-Fast_SSD_S123");
	add_part(d, 1, "vfat", "0FF1-EC01", "ESP", "0ff1e000-0000-4000-8000-0000000000c1", "EFI System");
	add_part(d, 2, "ext4", "0ff1e000-0000-4000-8000-000000000002", "boot",
		 "0ff1e000-0000-4000-8000-0000000000c2", "boot");
	add_part(d, 3, "swap", "0ff1e000-0000-4000-8000-000000000003", "swap",
		 "0FF1E000-0000-4000-8000-0000000000C3", "swap");
	add_part(d, 4, "ext4", "0ff1e000-0000-4000-8000-000000000004", "$(touch x);|&",
		 "0ff1e000-0000-4000-8000-0000000000c4", "root");
	lb_manifest_add_disk(m, d);

	d = lb_disk_new();
	d->id = lb_strdup("disk1");
	d->path = lb_strdup("/dev/sdb");
	d->label = LB_LABEL_DOS;
	d->signature = lb_strdup("0x1234abcd");
	add_part(d, 1, "ext4", "0ff1e000-0000-4000-8000-000000000005", "srv data", NULL, NULL);
	lb_manifest_add_disk(m, d);

	d = lb_disk_new();
	d->id = lb_strdup("disk2");
	d->path = lb_strdup("/dev/sdc");
	d->volume = lb_volume_new();
	d->volume->id = lb_strdup("disk2");
	d->volume->type = lb_strdup("ext4");
	d->volume->uuid = lb_strdup("0ff1e000-0000-4000-8000-000000000006");
	d->volume->label = lb_strdup("whole");
	lb_manifest_add_disk(m, d);
	return m;
}

static const char *resolved(const struct lb_manifest *m, const char *spec)
{
	const struct lb_volume *v = lb_fstab_resolve(m, spec);

	return v ? v->id : "(none)";
}

static void test_parse(void **state)
{
	static const char text[] =
		"# /etc/fstab: static file system information.\n"
		"\n"
		"   # an indented comment\n"
		"UUID=0ff1e000-0000-4000-8000-000000000004\t/\text4\terrors=remount-ro\t0\t1\n"
		"LABEL=my\\040disk /mnt/with\\040space ext4 defaults 0 2\r\n"
		"/dev/sdb1 /srv\n"
		"lonely\n"
		"\t\n"
		"/dev/sdc /data xfs noatime,nofail 0 0 extra fields here\n"
		"no-newline-at-end /x";
	struct lb_fstab_entry *e = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(lb_fstab_parse(text, &e, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(e[0].line, 4);
	assert_string_equal(e[0].spec, "UUID=0ff1e000-0000-4000-8000-000000000004");
	assert_string_equal(e[0].file, "/");
	assert_string_equal(e[0].type, "ext4");
	assert_string_equal(e[0].options, "errors=remount-ro");
	assert_int_equal(e[1].line, 5);
	assert_string_equal(e[1].spec, "LABEL=my disk");	/* octal escapes */
	assert_string_equal(e[1].file, "/mnt/with space");
	assert_string_equal(e[1].options, "defaults");		/* no \r */
	assert_string_equal(e[2].spec, "/dev/sdb1");		/* type and options */
	assert_string_equal(e[2].type, "auto");			/* default as mount(8) */
	assert_string_equal(e[2].options, "defaults");
	assert_int_equal(e[3].line, 9);
	assert_string_equal(e[3].options, "noatime,nofail");
	assert_string_equal(e[4].spec, "no-newline-at-end");
	lb_fstab_free(e, n);

	assert_int_equal(lb_fstab_parse("", &e, &n), 0);
	assert_int_equal(n, 0);
	lb_fstab_free(e, n);
}

static void test_skip(void **state)
{
	static const struct {
		const char *line;
		bool skipped;
	} cases[] = {
		{ "UUID=x / ext4 defaults 0 1", false },
		{ "LABEL=boot /boot auto defaults", false },
		{ "LABEL=boot /mnt ext4 noauto,user 0 0", true },
		{ "LABEL=boot /mnt ext4 user,noauto 0 0", true },
		{ "LABEL=boot /mnt ext4 noautodefrag 0 0", false },	/* not noauto */
		{ "proc /proc proc defaults 0 0", true },
		{ "tmpfs /tmp tmpfs mode=1777 0 0", true },
		{ "none /sys/fs/cgroup cgroup2 defaults", true },
		{ "server:/export /mnt/nfs nfs defaults 0 0", true },
		{ "//server/share /mnt/smb cifs credentials=/x 0 0", true },
		{ "LABEL=iscsi /mnt/iscsi ext4 _netdev 0 0", true },
		{ "sshfs#me@host:/ /mnt/ssh fuse defaults 0 0", true },
		{ "me@host:/ /mnt/ssh fuse.sshfs defaults 0 0", true },
		{ "/srv/a /srv/b none bind 0 0", true },
		{ "PARTUUID=0ff1e000-0000-4000-8000-0000000000c3 none swap sw 0 0", false },
	};

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		struct lb_fstab_entry *e = NULL;
		size_t n = 0;
		const char *why;

		lb_fstab_parse(cases[i].line, &e, &n);
		assert_int_equal(n, 1);
		why = lb_fstab_skip_reason(&e[0]);
		if (!why != !cases[i].skipped)
			fail_msg("'%s': %s", cases[i].line, why ? why : "not skipped");
		lb_fstab_free(e, n);
	}
}

static void test_resolve(void **state)
{
	struct lb_manifest *m = build();

	(void)state;
	assert_string_equal(resolved(m, "UUID=0ff1e000-0000-4000-8000-000000000004"), "disk0p4");
	assert_string_equal(resolved(m, "UUID=0FF1E000-0000-4000-8000-000000000004"), "disk0p4");
	assert_string_equal(resolved(m, "UUID=\"0ff1e000-0000-4000-8000-000000000002\""), "disk0p2");
	assert_string_equal(resolved(m, "UUID=0FF1-EC01"), "disk0p1");
	assert_string_equal(resolved(m, "LABEL=boot"), "disk0p2");
	assert_string_equal(resolved(m, "LABEL=BOOT"), "(none)");	/* labels are exact */
	assert_string_equal(resolved(m, "LABEL=$(touch x);|&"), "disk0p4");
	assert_string_equal(resolved(m, "LABEL=srv data"), "disk1p1");
	assert_string_equal(resolved(m, "LABEL='srv data'"), "disk1p1");
	assert_string_equal(resolved(m, "LABEL=whole"), "disk2");
	assert_string_equal(resolved(m, "PARTUUID=0ff1e000-0000-4000-8000-0000000000c3"), "disk0p3");
	assert_string_equal(resolved(m, "PARTUUID=1234abcd-01"), "disk1p1");	/* MBR */
	assert_string_equal(resolved(m, "PARTUUID=1234ABCD-01"), "disk1p1");
	assert_string_equal(resolved(m, "PARTUUID=1234abcd-02"), "(none)");
	assert_string_equal(resolved(m, "PARTLABEL=EFI System"), "disk0p1");
	assert_string_equal(resolved(m, "/dev/disk/by-uuid/0ff1e000-0000-4000-8000-000000000002"),
			    "disk0p2");
	assert_string_equal(resolved(m, "/dev/disk/by-label/srv\\x20data"), "disk1p1");
	assert_string_equal(resolved(m, "/dev/disk/by-label/$(touch\\x20x);|&"), "disk0p4");
	assert_string_equal(resolved(m, "/dev/disk/by-label/\\x24(touch\\x20x)\\x3b|&"), "disk0p4");
	assert_string_equal(resolved(m, "/dev/disk/by-partlabel/EFI\\x20System"), "disk0p1");
	assert_string_equal(resolved(m, "/dev/disk/by-partuuid/0ff1e000-0000-4000-8000-0000000000c4"),
			    "disk0p4");
	assert_string_equal(resolved(m, "/dev/disk/by-id/nvme-Fast_SSD_S123-part2"), "disk0p2");
	assert_string_equal(resolved(m, "/dev/disk/by-id/nvme-Fast_SSD_S123-part9"), "(none)");
	assert_string_equal(resolved(m, "/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part1"), "(none)");
	/* a device path as recorded at capture, never looked up here */
	assert_string_equal(resolved(m, "/dev/loop7p3"), "disk0p3");
	assert_string_equal(resolved(m, "/dev/sdb1"), "disk1p1");
	assert_string_equal(resolved(m, "/dev/sdc"), "disk2");
	assert_string_equal(resolved(m, "/dev/sda1"), "(none)");
	assert_string_equal(resolved(m, "/dev/disk/by-uuid/../../sdb1"), "(none)");
	assert_string_equal(resolved(m, "UUID="), "(none)");
	assert_string_equal(resolved(m, "LABEL="), "(none)");
	assert_string_equal(resolved(m, "tmpfs"), "(none)");
	assert_string_equal(resolved(m, ""), "(none)");
	lb_manifest_free(m);
}

static struct lb_volume *stack_volume(const char *id, const char *type)
{
	struct lb_volume *v = lb_volume_new();

	v->id = lb_strdup(id);
	v->type = lb_strdup(type);
	return v;
}

/* The names a system gives the stack's nodes at boot: an LV's two (each
 * '-' of a device-mapper name doubled), an open LUKS mapping's, an
 * array's node and its /dev/md/ name */
static void test_resolve_stack(void **state)
{
	struct lb_manifest *m = build();
	struct lb_vg *vg = lb_vg_new();
	struct lb_lv *lv;
	struct lb_luks *l = lb_luks_new();
	struct lb_md *md = lb_md_new();

	(void)state;
	m->stack = lb_stack_new();
	vg->id = lb_strdup("vg0");
	vg->name = lb_strdup("nas01-vg");
	lv = lb_lv_new();
	lv->id = lb_strdup("lv0");
	lv->name = lb_strdup("root");
	lv->volume = stack_volume("lv0", "ext4");
	lv->volume->uuid = lb_strdup("0ff1e000-0000-4000-8000-0000000000f1");
	lb_vg_add_lv(vg, lv);
	lv = lb_lv_new();
	lv->id = lb_strdup("lv1");
	lv->name = lb_strdup("swap-1");
	lv->volume = stack_volume("lv1", "swap");
	lb_vg_add_lv(vg, lv);
	lv = lb_lv_new();
	lv->id = lb_strdup("lv2");
	lv->name = lb_strdup("pool");		/* holds no volume */
	lb_vg_add_lv(vg, lv);
	lb_stack_add_vg(m->stack, vg);
	l->id = lb_strdup("luks0");
	l->name = lb_strdup("cryptdata");
	l->volume = stack_volume("luks0", "xfs");
	lb_stack_add_luks(m->stack, l);
	md->id = lb_strdup("md0");
	md->path = lb_strdup("/dev/md127");
	md->name = lb_strdup("nas01:boot");
	md->volume = stack_volume("md0", "ext4");
	md->volume->label = lb_strdup("mdboot");
	lb_stack_add_md(m->stack, md);

	assert_string_equal(resolved(m, "/dev/mapper/nas01--vg-root"), "lv0");
	assert_string_equal(resolved(m, "/dev/nas01-vg/root"), "lv0");
	assert_string_equal(resolved(m, "/dev/mapper/nas01--vg-swap--1"), "lv1");
	assert_string_equal(resolved(m, "/dev/nas01-vg/swap-1"), "lv1");
	assert_string_equal(resolved(m, "/dev/mapper/nas01-vg-root"), "(none)");	/* not doubled */
	assert_string_equal(resolved(m, "/dev/mapper/nas01--vg-pool"), "(none)");
	assert_string_equal(resolved(m, "/dev/mapper/cryptdata"), "luks0");
	assert_string_equal(resolved(m, "/dev/cryptdata"), "(none)");
	assert_string_equal(resolved(m, "/dev/md127"), "md0");
	assert_string_equal(resolved(m, "/dev/md/boot"), "md0");
	assert_string_equal(resolved(m, "/dev/md/root"), "(none)");
	/* and by their identities, as the disks' volumes are */
	assert_string_equal(resolved(m, "UUID=0FF1E000-0000-4000-8000-0000000000F1"), "lv0");
	assert_string_equal(resolved(m, "/dev/disk/by-uuid/0ff1e000-0000-4000-8000-0000000000f1"), "lv0");
	assert_string_equal(resolved(m, "LABEL=mdboot"), "md0");
	assert_string_equal(resolved(m, "PARTUUID=0ff1e000-0000-4000-8000-0000000000f1"), "(none)");
	lb_manifest_free(m);
}

static void test_udev_unescape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "my\\x20disk", "my disk" },
		{ "\\x2fslash", "/slash" },
		{ "bad\\x2", "bad\\x2" },
		{ "bad\\xzz", "bad\\xzz" },
		{ "nul\\x00kept", "nul\\x00kept" },
		{ "end\\", "end\\" },
	};

	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *r = lb_udev_unescape(cases[i].in);

		assert_string_equal(r, cases[i].out);
	}
}

/* Notes are printable and bounded, whatever a disk put in them. */
static void test_system_note(void **state)
{
	struct lb_system *s = lb_system_new();
	_cleanup_free_ char *big = lb_zalloc(10001);

	(void)state;
	memset(big, 'a', 10000);
	big[3999] = (char)0xc3;		/* é straddling the cut */
	big[4000] = (char)0xa9;
	lb_system_note(s, "fstab line 1: %s", "LABEL=a\x1b[31mb");
	lb_system_note(s, "%s", big);
	lb_system_note(s, "données: %s", "é");
	assert_int_equal(s->n_notes, 3);
	assert_string_equal(s->notes[0], "fstab line 1: LABEL=a?[31mb");
	assert_int_equal(strlen(s->notes[1]), 3999);
	assert_true(lb_utf8_is_printable(s->notes[1]));
	assert_string_equal(s->notes[2], "données: é");
	lb_system_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_stack),
		cmocka_unit_test(test_udev_unescape),
		cmocka_unit_test(test_system_note),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
