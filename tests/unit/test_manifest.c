// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for manifest I/O (manifest.c): round trips through the fixture
 * manifests and through a manifest built here that sets every field, and the
 * rejection of broken and hostile manifests.
 *
 * Fixtures are found under $LB_TOP/fixtures/manifests ($LB_TOP defaults to
 * ".", the repository root; tests/run.sh sets it).
 *
 *   test_manifest --canonical FILE   prints FILE as lifeboat writes it, for
 *                                    (re)generating valid-*.xml fixtures */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"

/* ---- helpers ---------------------------------------------------------- */

static char *tmpdir;	/* per run, removed by the group teardown */

static const char *top(void)
{
	const char *t = getenv("LB_TOP");

	return t && *t ? t : ".";
}

static char *fixture(const char *name)
{
	return lb_asprintf("%s/fixtures/manifests/%s", top(), name);
}

static char *tmpfile_path(const char *name)
{
	return lb_asprintf("%s/%s", tmpdir, name);
}

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char *tmpl = lb_asprintf("%s/lifeboat-unit.XXXXXX", t && *t ? t : "/tmp");

	(void)state;
	if (!mkdtemp(tmpl)) {
		free(tmpl);
		return -1;
	}
	tmpdir = tmpl;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (tmpdir)
		lb_rm_rf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
	return 0;
}

static void eq_str(const char *a, const char *b, const char *what)
{
	if (!a && !b)
		return;
	if (!a || !b || strcmp(a, b) != 0)
		fail_msg("%s: \"%s\" != \"%s\"", what, a ? a : "(null)", b ? b : "(null)");
}

#define EQ_STR(a, b, f) eq_str((a)->f, (b)->f, #f)
#define EQ_NUM(a, b, f)                                                                  \
	do {                                                                             \
		if ((uint64_t)(a)->f != (uint64_t)(b)->f)                                \
			fail_msg("%s: %" PRIu64 " != %" PRIu64, #f, (uint64_t)(a)->f,    \
				 (uint64_t)(b)->f);                                      \
	} while (0)
/* both NULL, or both set: then compare with fn */
#define EQ_OPT(a, b, f, fn)                                                              \
	do {                                                                             \
		if (!(a)->f != !(b)->f)                                                  \
			fail_msg("%s: %s on one side only", #f, (a)->f ? "set" : "unset");  \
		if ((a)->f)                                                              \
			fn((a)->f, (b)->f);                                              \
	} while (0)

static void eq_artifact(const struct lb_artifact *a, const struct lb_artifact *b)
{
	EQ_STR(a, b, file);
	EQ_NUM(a, b, size);
	EQ_STR(a, b, sha256);
}

static void eq_ext(const struct lb_ext_geom *a, const struct lb_ext_geom *b)
{
	EQ_NUM(a, b, block_size);
	EQ_NUM(a, b, cluster_size);
	EQ_NUM(a, b, blocks);
	EQ_NUM(a, b, reserved_blocks);
	EQ_NUM(a, b, inode_size);
	EQ_NUM(a, b, inodes);
	EQ_NUM(a, b, blocks_per_group);
	EQ_NUM(a, b, inodes_per_group);
	EQ_NUM(a, b, reserved_gdt_blocks);
	EQ_NUM(a, b, desc_size);
	EQ_NUM(a, b, log_groups_per_flex);
	EQ_NUM(a, b, journal_blocks);
	EQ_NUM(a, b, min_extra_isize);
	EQ_NUM(a, b, want_extra_isize);
	EQ_NUM(a, b, raid_stride);
	EQ_NUM(a, b, raid_stripe_width);
	EQ_NUM(a, b, rev);
	EQ_STR(a, b, features);
	EQ_STR(a, b, hash_alg);
	EQ_STR(a, b, hash_seed);
	EQ_STR(a, b, default_mount_opts);
	EQ_STR(a, b, mount_opts);
	EQ_STR(a, b, errors);
	EQ_STR(a, b, encoding);
	EQ_STR(a, b, creator_os);
	EQ_STR(a, b, last_mounted);
}

static void eq_vfat(const struct lb_vfat_geom *a, const struct lb_vfat_geom *b)
{
	EQ_NUM(a, b, fat_bits);
	EQ_NUM(a, b, sector_size);
	EQ_NUM(a, b, cluster_sectors);
	EQ_NUM(a, b, reserved_sectors);
	EQ_NUM(a, b, fats);
	EQ_NUM(a, b, root_entries);
	EQ_NUM(a, b, fat_sectors);
	EQ_NUM(a, b, media);
	EQ_NUM(a, b, hidden_sectors);
	EQ_NUM(a, b, total_sectors);
	EQ_NUM(a, b, sectors_per_track);
	EQ_NUM(a, b, heads);
	EQ_NUM(a, b, drive_number);
	EQ_STR(a, b, serial);
	EQ_STR(a, b, boot_label);
}

static void eq_swap(const struct lb_swap_geom *a, const struct lb_swap_geom *b)
{
	EQ_NUM(a, b, page_size);
	EQ_NUM(a, b, pages);
	EQ_NUM(a, b, version);
}

static void eq_volume(const struct lb_volume *a, const struct lb_volume *b)
{
	EQ_STR(a, b, id);
	EQ_STR(a, b, type);
	EQ_STR(a, b, usage);
	EQ_STR(a, b, version);
	EQ_STR(a, b, uuid);
	EQ_STR(a, b, uuid_sub);
	EQ_STR(a, b, label);
	EQ_STR(a, b, mountpoint);
	EQ_STR(a, b, mount_options);
	EQ_STR(a, b, mount_source);
	EQ_NUM(a, b, critical);
	EQ_NUM(a, b, swap_active);
	EQ_OPT(a, b, ext, eq_ext);
	EQ_OPT(a, b, vfat, eq_vfat);
	EQ_OPT(a, b, swap, eq_swap);
	EQ_OPT(a, b, data, eq_artifact);
	EQ_STR(a, b, data_method);
	EQ_STR(a, b, data_source);
}

static void eq_partition(const struct lb_partition *a, const struct lb_partition *b)
{
	EQ_NUM(a, b, number);
	EQ_NUM(a, b, start);
	EQ_NUM(a, b, size);
	EQ_NUM(a, b, kind);
	EQ_STR(a, b, type);
	EQ_STR(a, b, uuid);
	EQ_STR(a, b, name);
	EQ_NUM(a, b, attrs);
	EQ_NUM(a, b, bootable);
	EQ_STR(a, b, path);
	EQ_OPT(a, b, content, eq_artifact);
	EQ_OPT(a, b, volume, eq_volume);
}

static void eq_disk(const struct lb_disk *a, const struct lb_disk *b)
{
	EQ_STR(a, b, id);
	EQ_STR(a, b, path);
	EQ_STR(a, b, sysname);
	EQ_STR(a, b, model);
	EQ_STR(a, b, vendor);
	EQ_STR(a, b, serial);
	EQ_STR(a, b, wwn);
	EQ_NUM(a, b, n_by_id);
	for (size_t i = 0; i < a->n_by_id; i++)
		eq_str(a->by_id[i], b->by_id[i], "by_id");
	EQ_STR(a, b, transport);
	EQ_NUM(a, b, size);
	EQ_NUM(a, b, sector_size);
	EQ_NUM(a, b, physical_sector_size);
	EQ_NUM(a, b, removable);
	EQ_NUM(a, b, selected);
	EQ_STR(a, b, exclude_reason);
	EQ_NUM(a, b, label);
	EQ_STR(a, b, signature);
	EQ_NUM(a, b, first_lba);
	EQ_NUM(a, b, last_lba);
	EQ_NUM(a, b, alt_lba);
	EQ_NUM(a, b, entries_lba);
	EQ_NUM(a, b, entries);
	EQ_OPT(a, b, boot_code, eq_artifact);
	EQ_OPT(a, b, mbr_gap, eq_artifact);
	EQ_NUM(a, b, n_parts);
	for (size_t i = 0; i < a->n_parts; i++)
		eq_partition(a->parts[i], b->parts[i]);
	EQ_OPT(a, b, volume, eq_volume);
}

static void eq_efi(const struct lb_efi_entry *a, const struct lb_efi_entry *b)
{
	EQ_STR(a, b, name);
	EQ_NUM(a, b, attributes);
	EQ_NUM(a, b, active);
	EQ_STR(a, b, description);
	EQ_STR(a, b, device_path);
	EQ_STR(a, b, data);
}

static void eq_ref(const struct lb_boot_ref *a, const struct lb_boot_ref *b)
{
	EQ_STR(a, b, source);
	EQ_NUM(a, b, line);
	EQ_STR(a, b, key);
	EQ_STR(a, b, value);
	EQ_STR(a, b, where);
	EQ_STR(a, b, resolves);
}

static void eq_boot(const struct lb_boot *a, const struct lb_boot *b)
{
	EQ_STR(a, b, firmware);
	EQ_STR(a, b, loader);
	EQ_STR(a, b, esp);
	EQ_STR(a, b, bios_boot);
	EQ_STR(a, b, boot_order);
	EQ_STR(a, b, boot_current);
	EQ_STR(a, b, cmdline);
	EQ_NUM(a, b, n_efi);
	for (size_t i = 0; i < a->n_efi; i++)
		eq_efi(a->efi[i], b->efi[i]);
	EQ_NUM(a, b, n_refs);
	for (size_t i = 0; i < a->n_refs; i++)
		eq_ref(a->refs[i], b->refs[i]);
}

static void eq_system(const struct lb_system *a, const struct lb_system *b)
{
	EQ_STR(a, b, source);
	EQ_STR(a, b, root);
	EQ_STR(a, b, found_by);
	EQ_STR(a, b, name);
	EQ_NUM(a, b, n_notes);
	for (size_t i = 0; i < a->n_notes; i++)
		eq_str(a->notes[i], b->notes[i], "note");
}

static void eq_manifest(const struct lb_manifest *a, const struct lb_manifest *b)
{
	EQ_NUM(a, b, format);
	EQ_STR(a, b, generator);
	EQ_STR(a, b, id);
	EQ_STR(a, b, time);
	EQ_STR(a, b, hostname);
	EQ_STR(a, b, kernel);
	EQ_STR(a, b, machine_id);
	EQ_STR(a, b, data_mode);
	EQ_NUM(a, b, n_disks);
	for (size_t i = 0; i < a->n_disks; i++)
		eq_disk(a->disks[i], b->disks[i]);
	EQ_OPT(a, b, boot, eq_boot);
	EQ_OPT(a, b, system, eq_system);
}

/* ---- a manifest that sets every field --------------------------------- */

static struct lb_artifact *artifact(const char *file, uint64_t size, char fill)
{
	struct lb_artifact *a = lb_artifact_new();
	char sum[65];

	memset(sum, fill, 64);
	sum[64] = '\0';
	a->file = lb_strdup(file);
	a->size = size;
	a->sha256 = lb_strdup(sum);
	return a;
}

static struct lb_partition *partition(uint32_t number, uint64_t start, uint64_t size,
				      enum lb_part_kind kind, const char *type, const char *path)
{
	struct lb_partition *p = lb_partition_new();

	p->number = number;
	p->start = start;
	p->size = size;
	p->kind = kind;
	p->type = lb_strdup(type);
	p->path = lb_strdup(path);
	return p;
}

static struct lb_volume *volume(const char *id, const char *type, const char *usage,
				const char *version, const char *uuid, const char *label)
{
	struct lb_volume *v = lb_volume_new();

	v->id = lb_strdup(id);
	v->type = lb_strdup(type);
	v->usage = lb_strdup(usage);
	v->version = lb_strdup(version);
	v->uuid = lb_strdup(uuid);
	v->label = lb_strdup(label);
	return v;
}

static struct lb_ext_geom *ext_geom(uint32_t block_size, uint64_t blocks)
{
	struct lb_ext_geom *g = lb_ext_geom_new();

	g->block_size = block_size;
	g->cluster_size = block_size;
	g->blocks = blocks;
	g->reserved_blocks = blocks / 20;
	g->inode_size = 256;
	g->inodes = blocks / 4;
	g->blocks_per_group = block_size * 8;
	g->inodes_per_group = 2048;
	g->reserved_gdt_blocks = 255;
	g->rev = 1;
	g->features = lb_strdup("ext_attr resize_inode dir_index filetype sparse_super large_file");
	return g;
}

static struct lb_vfat_geom *vfat_geom(uint32_t bits, uint64_t total, uint32_t hidden)
{
	struct lb_vfat_geom *g = lb_vfat_geom_new();

	g->fat_bits = bits;
	g->sector_size = 512;
	g->cluster_sectors = bits == 32 ? 8 : 4;
	g->reserved_sectors = bits == 32 ? 32 : 4;
	g->fats = 2;
	g->root_entries = bits == 32 ? 0 : 512;
	g->fat_sectors = bits == 32 ? 1022 : 256;
	g->total_sectors = total;
	g->media = 0xf8;
	g->hidden_sectors = hidden;
	g->sectors_per_track = 63;
	g->heads = 255;
	g->drive_number = 0x80;
	return g;
}

static struct lb_efi_entry *efi_entry(const char *name, bool active, const char *desc,
				      const char *dp, const char *data)
{
	struct lb_efi_entry *e = lb_efi_entry_new();

	e->name = lb_strdup(name);
	e->attributes = 7;
	e->active = active;
	e->description = lb_strdup(desc);
	e->device_path = lb_strdup(dp);
	e->data = lb_strdup(data);
	return e;
}

static struct lb_boot_ref *boot_ref(const char *source, uint32_t line, const char *key,
				    const char *value, const char *where, const char *resolves)
{
	struct lb_boot_ref *r = lb_boot_ref_new();

	r->source = lb_strdup(source);
	r->line = line;
	r->key = lb_strdup(key);
	r->value = lb_strdup(value);
	r->where = lb_strdup(where);
	r->resolves = lb_strdup(resolves);
	return r;
}

#define HOSTILE_NAME "ルート $(rm -rf /) `id` \"q\" 'x' <&>|; données"
#define LABEL_NL "root\nfs"
#define MODEL_CTRL "Samsung SSD 870\x01EVO"
#define LAST_MOUNTED_ESC "/mnt/\x1b[31mred"
#define PART_NAME_TAB "swap\tspace"
#define DESC_CTRL "debian\x7f"
#define WHERE_NL "luks\nroot"
#define PATH_CTRL "/dev/odd\x02name"
#define OS_NAME_CTRL "Debian\x1b[1m 12"
#define NOTE_CTRL "LABEL=a\x01" "b"

static struct lb_manifest *build_full(void)
{
	struct lb_manifest *m = lb_manifest_new();
	struct lb_disk *d;
	struct lb_partition *p;
	struct lb_volume *v;
	struct lb_boot *b;

	m->generator = lb_strdup("lifeboat 0.1.0 (unit test)");
	m->id = lb_strdup("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
	m->time = lb_strdup("2024-03-05T02:14:07Z");
	m->hostname = lb_strdup("hôte-01.example.com");
	m->kernel = lb_strdup("6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC x86_64");
	m->machine_id = lb_strdup("9f1c6a2b3e4d4f5a8b7c6d5e4f3a2b1c");
	m->data_mode = lb_strdup("image");

	/* disk0: GPT, every disk and partition attribute */
	d = lb_disk_new();
	d->id = lb_strdup("disk0");
	d->path = lb_strdup("/dev/sda");
	d->sysname = lb_strdup("sda");
	d->model = lb_strdup(MODEL_CTRL);
	d->vendor = lb_strdup("ATA");
	d->serial = lb_strdup("S6PTNM0T601234X");
	d->wwn = lb_strdup("0x5002538f31234567");
	lb_disk_add_by_id(d, "ata-Samsung_SSD_870_EVO_1TB_S6PTNM0T601234X");
	lb_disk_add_by_id(d, "wwn-0x5002538f31234567");
	d->transport = lb_strdup("sata");
	d->size = 1953525168;
	d->sector_size = 512;
	d->physical_sector_size = 4096;
	d->removable = true;
	d->label = LB_LABEL_GPT;
	d->signature = lb_strdup("6C1FE0B0-0001-4C1F-8A00-000000000001");
	d->first_lba = 2048;
	d->last_lba = 1953525134;
	d->alt_lba = 1953525167;
	d->entries_lba = 2;
	d->entries = 128;
	d->boot_code = artifact("disk0-boot-code.bin", 440, 'a');

	p = partition(1, 2048, 1048576, LB_PART_PRIMARY, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
		      "/dev/sda1");
	p->uuid = lb_strdup("6C1FE0B0-0001-4C1F-8A00-0000000000A1");
	p->name = lb_strdup("EFI System Partition");
	p->attrs = 0x8000000000000001ull;
	v = p->volume = volume("disk0p1", "vfat", "filesystem", "FAT32", "6C1F-EF11", "EFI");
	v->mountpoint = lb_strdup("/boot/efi");
	v->mount_options = lb_strdup("rw,relatime,fmask=0077,dmask=0077,codepage=437");
	v->critical = true;
	v->vfat = vfat_geom(32, 1048576, 2048);
	v->vfat->serial = lb_strdup("6C1F-EF11");
	v->vfat->boot_label = lb_strdup("EFI        ");
	v->data = artifact("disk0p1.img", 1052672, 'b');
	v->data_method = lb_strdup("image");
	lb_disk_add_partition(d, p);

	p = partition(2, 1050624, 2048, LB_PART_PRIMARY, "21686148-6449-6E6F-744E-656564454649",
		      "/dev/sda2");
	p->uuid = lb_strdup("6C1FE0B0-0001-4C1F-8A00-0000000000A2");
	p->name = lb_strdup("BIOS boot");
	p->attrs = 0x0000000000000004ull;
	p->content = artifact("disk0p2-bios-boot.bin", 1048576, 'c');
	p->volume = volume("disk0p2", "raw", NULL, NULL, NULL, NULL);
	lb_disk_add_partition(d, p);

	p = partition(3, 1052672, 1900000000, LB_PART_PRIMARY,
		      "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "/dev/sda3");
	p->uuid = lb_strdup("6C1FE0B0-0001-4C1F-8A00-0000000000A3");
	p->name = lb_strdup(HOSTILE_NAME);
	p->attrs = 0xffffffffffffffffull;
	v = p->volume = volume("disk0p3", "ext4", "filesystem", "1.0",
			       "6c1fe0b0-0001-4c1f-8a00-0000000000b3", LABEL_NL);
	v->uuid_sub = lb_strdup("6c1fe0b0-0001-4c1f-8a00-0000000000c3");
	v->mountpoint = lb_strdup("/");
	v->mount_options = lb_strdup("rw,relatime,errors=remount-ro");
	v->critical = true;
	/* The optional ext attributes are spread over this volume and disk2's:
	 * libxml2 takes seconds to validate one <ext> that has all of them. */
	v->ext = ext_geom(4096, 237500000);
	v->ext->desc_size = 64;
	v->ext->log_groups_per_flex = 4;
	v->ext->journal_blocks = 262144;
	v->ext->min_extra_isize = 32;
	v->ext->want_extra_isize = 32;
	v->ext->hash_alg = lb_strdup("half_md4");
	v->ext->hash_seed = lb_strdup("6c1fe0b0-0001-4c1f-8a00-0000000000d3");
	v->ext->default_mount_opts = lb_strdup("user_xattr acl");
	v->ext->errors = lb_strdup("remount-ro");
	v->ext->creator_os = lb_strdup("Linux");
	v->data = artifact("disk0p3.tar.zst", 123456789, 'd');
	v->data_method = lb_strdup("archive");
	lb_disk_add_partition(d, p);

	p = partition(4, 1900000000 + 1052672, 52000000, LB_PART_PRIMARY,
		      "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "/dev/sda4");
	p->uuid = lb_strdup("6C1FE0B0-0001-4C1F-8A00-0000000000A4");
	p->name = lb_strdup(PART_NAME_TAB);
	v = p->volume = volume("disk0p4", "swap", "other", "1",
			       "6c1fe0b0-0001-4c1f-8a00-0000000000b4", "swap");
	v->critical = true;
	v->swap_active = true;
	v->swap = lb_swap_geom_new();
	v->swap->page_size = 4096;
	v->swap->pages = 6499999;
	v->swap->version = 1;
	lb_disk_add_partition(d, p);
	lb_manifest_add_disk(m, d);

	/* disk1: MBR with extended and logicals, not selected */
	d = lb_disk_new();
	d->id = lb_strdup("disk1");
	d->path = lb_strdup("/dev/sdb");
	d->sysname = lb_strdup("sdb");
	d->size = 976773168;
	d->sector_size = 512;
	d->physical_sector_size = 512;
	d->selected = false;
	d->exclude_reason = lb_strdup("excluded at capture (--exclude-disk)");
	d->label = LB_LABEL_DOS;
	d->signature = lb_strdup("0x4c1fe0b2");
	d->boot_code = artifact("disk1-boot-code.bin", 440, 'e');
	d->mbr_gap = artifact("disk1-mbr-gap.bin", 1048064, 'f');
	p = partition(1, 2048, 2097152, LB_PART_PRIMARY, "0x83", "/dev/sdb1");
	p->bootable = true;
	v = p->volume = volume("disk1p1", "ext2", "filesystem", "1.0",
			       "4c1fe0b2-0000-4000-8000-0000000000b1", "boot");
	v->ext = ext_geom(1024, 1048576);
	lb_disk_add_partition(d, p);
	lb_disk_add_partition(d, partition(2, 2099200, 10487808, LB_PART_EXTENDED, "0x0f", NULL));
	p = partition(5, 2101248, 4194304, LB_PART_LOGICAL, "0x0e", "/dev/sdb5");
	v = p->volume = volume("disk1p5", "vfat", "filesystem", "FAT16", "4C1F-0016", "DOSDATA");
	v->vfat = vfat_geom(16, 4194304, 2048);
	lb_disk_add_partition(d, p);
	p = partition(6, 6297600, 6289408, LB_PART_LOGICAL, "0x82", "/dev/sdb6");
	lb_disk_add_partition(d, p);
	lb_manifest_add_disk(m, d);

	/* disk2: 4Kn, a filesystem on the whole disk */
	d = lb_disk_new();
	d->id = lb_strdup("disk2");
	d->path = lb_strdup("/dev/nvme0n1");
	d->sysname = lb_strdup("nvme0n1");
	d->transport = lb_strdup("nvme");
	d->size = 244190646;
	d->sector_size = 4096;
	d->physical_sector_size = 4096;
	v = d->volume = volume("disk2", "ext4", "filesystem", "1.0",
			       "3401e0d1-0000-4000-8000-0000000000b1", "wholedisk");
	v->mountpoint = lb_strdup("/srv/data");
	v->mount_options = lb_strdup("defaults,nofail");
	v->mount_source = lb_strdup("fstab");
	v->ext = ext_geom(4096, 244190646);
	v->ext->raid_stride = 16;
	v->ext->raid_stripe_width = 64;
	v->ext->mount_opts = lb_strdup("nodelalloc");
	v->ext->encoding = lb_strdup("utf8");
	v->ext->last_mounted = lb_strdup(LAST_MOUNTED_ESC);
	lb_manifest_add_disk(m, d);

	/* disk3: blank, at a path that is not printable */
	d = lb_disk_new();
	d->id = lb_strdup("disk3");
	d->path = lb_strdup(PATH_CTRL);
	d->sysname = lb_strdup(&PATH_CTRL[5]);
	d->size = 131072;
	d->sector_size = 512;
	d->physical_sector_size = 512;
	lb_manifest_add_disk(m, d);

	b = m->boot = lb_boot_new();
	b->firmware = lb_strdup("uefi");
	b->loader = lb_strdup("grub");
	b->esp = lb_strdup("disk0p1");
	b->bios_boot = lb_strdup("disk0p2");
	b->boot_order = lb_strdup("0004,0000,0001");
	b->boot_current = lb_strdup("0004");
	b->cmdline = lb_strdup("BOOT_IMAGE=/vmlinuz root=UUID=6c1fe0b0-0001-4c1f-8a00-0000000000b3 "
			       "ro quiet \"acpi_osi=!Windows 2012\"");
	lb_boot_add_efi(b, efi_entry("Boot0000", true, "UEFI Misc Device", "PciRoot(0x0)/Pci(0x3,0x0)",
				     "01000000100055004500460049000000"));
	lb_boot_add_efi(b, efi_entry("Boot0004", false, DESC_CTRL,
				     "HD(1,GPT,6c1fe0b0-0001-4c1f-8a00-0000000000a1,0x800,0x100000)"
				     "/File(\\EFI\\debian\\shimx64.efi)",
				     "00000000"));
	lb_boot_add_ref(b, boot_ref("fstab", 9, "UUID", "6c1fe0b0-0001-4c1f-8a00-0000000000b3", "/",
				    "disk0p3"));
	lb_boot_add_ref(b, boot_ref("crypttab", 2, "PARTUUID", "6c1fe0b0-0001-4c1f-8a00-0000000000a9",
				    WHERE_NL, NULL));
	lb_boot_add_ref(b, boot_ref("cmdline", 1, "LABEL", "root fs", "root", NULL));

	/* the system an offline capture found: its notes carry what the disk
	 * had in it, hostile or not printable */
	m->system = lb_system_new();
	m->system->source = lb_strdup("disk");
	m->system->root = lb_strdup("disk0p3");
	m->system->found_by = lb_strdup("partition-type");
	m->system->name = lb_strdup(OS_NAME_CTRL);
	lb_system_note(m->system, "read from the disk: %s", HOSTILE_NAME);
	lb_system_note(m->system, "fstab line 3: %s names no captured volume", NOTE_CTRL);
	return m;
}

static void must_contain(const char *xml, const char *what)
{
	if (!strstr(xml, what))
		fail_msg("written manifest lacks %s", what);
}

static void must_not_contain(const char *xml, const char *what)
{
	if (strstr(xml, what))
		fail_msg("written manifest contains %s", what);
}

static void expect_hex(const char *xml, const char *attr, const char *text)
{
	_cleanup_free_ char *hex = lb_hex_encode(text, strlen(text));
	_cleanup_free_ char *want = lb_asprintf(" %s-hex=\"%s\"", attr, hex);

	must_contain(xml, want);
}

static void test_roundtrip_programmatic(void **state)
{
	struct lb_manifest *m = build_full(), *m2 = NULL;
	char *xml = NULL, *xml2 = NULL;
	size_t len = 0, len2 = 0;

	(void)state;
	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	assert_int_equal(strlen(xml), len);

	/* Text that is not printable goes through NAME-hex, everything else
	 * as itself, escaped only as XML needs. */
	expect_hex(xml, "label", LABEL_NL);
	expect_hex(xml, "model", MODEL_CTRL);
	expect_hex(xml, "name", PART_NAME_TAB);
	expect_hex(xml, "last-mounted", LAST_MOUNTED_ESC);
	expect_hex(xml, "description", DESC_CTRL);
	expect_hex(xml, "where", WHERE_NL);
	expect_hex(xml, "path", PATH_CTRL);
	expect_hex(xml, "name", OS_NAME_CTRL);
	must_contain(xml, "<system source=\"disk\" root=\"disk0p3\" found-by=\"partition-type\"");
	must_contain(xml, "<note>fstab line 3: LABEL=a?b names no captured volume</note>");
	must_contain(xml, " mount-source=\"fstab\"");
	must_contain(xml, " name=\"ルート $(rm -rf /) `id` &quot;q&quot; 'x' &lt;&amp;&gt;|; données\"");
	must_contain(xml, " hostname=\"hôte-01.example.com\"");
	must_contain(xml, " attrs=\"0xffffffffffffffff\"");
	must_contain(xml, " attrs=\"0x8000000000000001\"");
	must_contain(xml, " kind=\"extended\"");
	must_contain(xml, " kind=\"logical\"");
	must_contain(xml, "<data file=\"disk0p3.tar.zst\" size=\"123456789\"");
	must_contain(xml, " method=\"archive\"");
	must_not_contain(xml, "&#");	/* no character references for control bytes */
	for (const char *c = xml; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n')
			fail_msg("control byte 0x%02x in the written manifest", *c);

	if (lb_manifest_load_mem(xml, len, "full.xml", &m2) < 0)
		fail_msg("%s", lb_errmsg());
	eq_manifest(m, m2);
	assert_null(m2->rt_dir);	/* only lb_manifest_load sets it */

	assert_int_equal(lb_manifest_write_mem(m2, &xml2, &len2), 0);
	assert_int_equal(len, len2);
	assert_string_equal(xml, xml2);

	free(xml);
	free(xml2);
	lb_manifest_free(m);
	lb_manifest_free(m2);
}

/* Leaving out optional fields leaves them out of the file, and they read
 * back as zero, false and NULL. */
static void test_roundtrip_minimal(void **state)
{
	struct lb_manifest *m = lb_manifest_new(), *m2 = NULL;
	struct lb_disk *d = lb_disk_new();
	char *xml = NULL;
	size_t len = 0;

	(void)state;
	m->id = lb_strdup("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
	m->time = lb_strdup("2024-03-05T02:14:07Z");
	d->id = lb_strdup("disk0");
	d->path = lb_strdup("/dev/vda");
	d->sysname = lb_strdup("vda");
	d->size = 2048;
	d->sector_size = 512;
	d->physical_sector_size = 512;
	lb_manifest_add_disk(m, d);
	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	must_contain(xml, "generator=\"lifeboat " LB_VERSION "\"");
	must_contain(xml, "<identity/>");
	must_contain(xml, "<table type=\"none\"/>");
	must_not_contain(xml, "hostname=");
	must_not_contain(xml, "<boot");
	if (lb_manifest_load_mem(xml, len, "minimal.xml", &m2) < 0)
		fail_msg("%s", lb_errmsg());
	free(m->generator);
	m->generator = lb_strdup("lifeboat " LB_VERSION);
	eq_manifest(m, m2);
	free(xml);
	lb_manifest_free(m);
	lb_manifest_free(m2);
}

/* Text fields that have no -hex form are written with '?' for what is not
 * printable, so the manifest still loads. */
/* A GPT disk whose header fields are zero: the writer keeps them (the schema
 * requires them of a GPT), so what it wrote is refused for what it says,
 * not for a missing attribute; an MBR disk never gets them. */
static void test_write_gpt_zero_fields(void **state)
{
	struct lb_manifest *m = lb_manifest_new(), *m2 = NULL;
	struct lb_disk *d = lb_disk_new();
	char *xml = NULL;
	size_t len = 0;

	(void)state;
	m->id = lb_strdup("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0");
	m->time = lb_strdup("2024-03-05T02:14:07Z");
	d->id = lb_strdup("disk0");
	d->path = lb_strdup("/dev/vda");
	d->size = 2048;
	d->sector_size = 512;
	d->physical_sector_size = 512;
	d->label = LB_LABEL_GPT;
	d->signature = lb_strdup("6C1FE0B0-0001-4C1F-8A00-000000000001");
	lb_manifest_add_disk(m, d);
	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	must_contain(xml, "first-lba=\"0\" last-lba=\"0\" entries=\"0\"");
	assert_true(lb_manifest_load_mem(xml, len, "gpt-zero.xml", &m2) < 0);
	assert_null(m2);
	must_contain(lb_errmsg(), "gpt-zero.xml:7: disk disk0: 0 GPT entries (1 to 32768)");
	free(xml);

	d->label = LB_LABEL_DOS;
	free(d->signature);
	d->signature = lb_strdup("0x6c1fe0b0");
	d->first_lba = 34;
	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	must_not_contain(xml, "lba=");
	must_not_contain(xml, "entries=");
	if (lb_manifest_load_mem(xml, len, "mbr.xml", &m2) < 0)
		fail_msg("%s", lb_errmsg());
	lb_manifest_free(m2);
	free(xml);
	lb_manifest_free(m);
}

static void test_write_unprintable_without_hex(void **state)
{
	struct lb_manifest *m = build_full(), *m2 = NULL;
	char *xml = NULL;
	size_t len = 0;

	(void)state;
	free(m->hostname);
	m->hostname = lb_strdup("host\x01name");
	free(m->disks[0]->transport);
	m->disks[0]->transport = lb_strdup("sa\tta");
	lb_disk_add_by_id(m->disks[0], "ata-\x1b[0m");
	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	must_not_contain(xml, "hostname-hex");
	must_not_contain(xml, "transport-hex");
	if (lb_manifest_load_mem(xml, len, "unprintable.xml", &m2) < 0)
		fail_msg("%s", lb_errmsg());
	assert_string_equal(m2->hostname, "host?name");
	assert_string_equal(m2->disks[0]->transport, "sa?ta");
	assert_int_equal(m2->disks[0]->n_by_id, 3);
	assert_string_equal(m2->disks[0]->by_id[2], "ata-?[0m");
	free(xml);
	lb_manifest_free(m);
	lb_manifest_free(m2);
}

/* ---- the fixture manifests -------------------------------------------- */

static const char *const required_fixtures[] = {
	"valid-gpt-server.xml", "valid-mbr-logical.xml", "valid-4kn.xml",
	"valid-whole-disk.xml", "valid-excluded.xml", "valid-offline-system.xml",
	"valid-xfs.xml", "valid-btrfs.xml", "valid-btrfs-subvols.xml",
};

static void test_roundtrip_fixtures(void **state)
{
	_cleanup_free_ char *pattern = fixture("valid-*.xml");
	glob_t g;
	size_t seen = 0;

	(void)state;
	if (glob(pattern, 0, NULL, &g) != 0)
		fail_msg("no %s (run from the repository root or set LB_TOP)", pattern);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		_cleanup_free_ char *file = NULL, *w1 = NULL, *w2 = NULL;
		struct lb_manifest *m1 = NULL, *m2 = NULL;
		size_t l1 = 0, l2 = 0;
		int n;

		for (size_t j = 0; j < LB_ARRAY_SIZE(required_fixtures); j++)
			if (strcmp(strrchr(path, '/') + 1, required_fixtures[j]) == 0)
				seen++;
		if (lb_manifest_load(path, &m1) < 0)
			fail_msg("%s", lb_errmsg());
		assert_int_equal(lb_manifest_write_mem(m1, &w1, &l1), 0);
		if (lb_manifest_load_mem(w1, l1, path, &m2) < 0)
			fail_msg("%s written back: %s", path, lb_errmsg());
		eq_manifest(m1, m2);
		assert_int_equal(lb_manifest_write_mem(m2, &w2, &l2), 0);
		if (l1 != l2 || memcmp(w1, w2, l1) != 0)
			fail_msg("%s: the second write differs from the first", path);
		n = lb_read_file(path, &file, 1 << 20);
		assert_true(n >= 0);
		if ((size_t)n != l1 || memcmp(file, w1, l1) != 0)
			fail_msg("%s is not in canonical form; regenerate it with "
				 "build/tests/test_manifest --canonical FILE",
				 path);
		lb_manifest_free(m1);
		lb_manifest_free(m2);
	}
	assert_int_equal(seen, LB_ARRAY_SIZE(required_fixtures));
	globfree(&g);
}

static struct lb_manifest *load_fixture(const char *name)
{
	_cleanup_free_ char *path = fixture(name);
	struct lb_manifest *m = NULL;

	if (lb_manifest_load(path, &m) < 0)
		fail_msg("%s", lb_errmsg());
	return m;
}

/* valid-thin.xml (captured in a guest by tests/vm/stack-thin.sh): the
 * pool's chunk and transaction id, each thin volume's pool, device id and
 * origin */
static void test_thin_fields(void **state)
{
	struct lb_manifest *m = load_fixture("valid-thin.xml");
	const struct lb_vg *vg;

	(void)state;
	assert_non_null(m->stack);
	assert_int_equal(m->stack->n_vgs, 1);
	vg = m->stack->vgs[0];
	assert_int_equal(vg->n_lvs, 5);
	assert_string_equal(vg->lvs[3]->segtype, "thin-pool");
	assert_int_equal(vg->lvs[3]->chunk_size, 512);
	assert_int_equal(vg->lvs[3]->transaction_id, 3);
	assert_int_equal(vg->lvs[3]->thin_id, 0);
	assert_string_equal(vg->lvs[4]->segtype, "thin");
	assert_string_equal(vg->lvs[4]->pool, "pool");
	assert_string_equal(vg->lvs[4]->origin, "data");
	assert_int_equal(vg->lvs[4]->thin_id, 2);
	assert_int_equal(vg->lvs[0]->thin_id, 1);
	assert_null(vg->lvs[0]->origin);
	assert_null(vg->lvs[2]->pool);
	lb_manifest_free(m);
}

static size_t count_kind(const struct lb_disk *d, enum lb_part_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_parts; i++)
		n += d->parts[i]->kind == k;
	return n;
}

/* The fixtures say what later tests (the planner's) rely on. */
static void test_fixture_contents(void **state)
{
	struct lb_manifest *m;
	struct lb_disk *d;
	_cleanup_free_ char *dir = fixture("");

	(void)state;
	m = load_fixture("valid-gpt-server.xml");
	assert_int_equal(m->n_disks, 1);
	d = m->disks[0];
	assert_string_equal(d->sysname, "sda");
	assert_int_equal(d->label, LB_LABEL_GPT);
	assert_int_equal(d->n_parts, 5);
	assert_int_equal(d->sector_size, 512);
	assert_non_null(d->boot_code);
	assert_non_null(lb_disk_find_partition(d, 2)->content);
	assert_true(lb_disk_is_critical(d));
	assert_string_equal(m->boot->firmware, "uefi");
	assert_string_equal(m->boot->esp, "disk0p1");
	assert_string_equal(m->boot->bios_boot, "disk0p2");
	assert_int_equal(m->boot->n_efi, 3);
	assert_true(m->boot->n_refs > 0);
	assert_string_equal(lb_manifest_find_volume(m, "disk0p5")->mountpoint, "/");
	/* rt_dir: the directory the manifest file is in */
	dir[strlen(dir) - 1] = '\0';
	assert_string_equal(m->rt_dir, dir);
	lb_manifest_free(m);

	m = load_fixture("valid-mbr-logical.xml");
	d = m->disks[0];
	assert_int_equal(d->label, LB_LABEL_DOS);
	assert_string_equal(d->signature, "0x4c1fe0b2");
	assert_int_equal(count_kind(d, LB_PART_EXTENDED), 1);
	assert_int_equal(count_kind(d, LB_PART_LOGICAL), 3);
	assert_true(lb_disk_find_partition(d, 1)->bootable);
	assert_int_equal(lb_disk_find_partition(d, 3)->kind, LB_PART_EXTENDED);
	assert_int_equal(lb_disk_find_partition(d, 5)->kind, LB_PART_LOGICAL);
	assert_null(lb_disk_find_partition(d, 4));
	lb_manifest_free(m);

	m = load_fixture("valid-4kn.xml");
	d = m->disks[0];
	assert_int_equal(d->sector_size, 4096);
	assert_int_equal(d->physical_sector_size, 4096);
	assert_int_equal(d->first_lba, 256);
	assert_string_equal(d->sysname, "nvme0n1");
	lb_manifest_free(m);

	m = load_fixture("valid-whole-disk.xml");
	assert_int_equal(m->n_disks, 2);
	assert_int_equal(m->disks[0]->label, LB_LABEL_NONE);
	assert_int_equal(m->disks[0]->n_parts, 0);
	assert_ptr_equal(lb_manifest_find_volume(m, "disk0"), m->disks[0]->volume);
	assert_int_equal(m->disks[1]->label, LB_LABEL_NONE);
	assert_null(m->disks[1]->volume);
	assert_int_equal(m->disks[1]->n_parts, 0);
	lb_manifest_free(m);

	m = load_fixture("valid-excluded.xml");
	assert_int_equal(m->n_disks, 2);
	assert_false(m->disks[0]->selected);
	assert_non_null(m->disks[0]->exclude_reason);
	assert_false(lb_disk_is_critical(m->disks[0]));
	assert_true(m->disks[1]->selected);
	assert_null(m->disks[1]->exclude_reason);
	assert_true(lb_disk_is_critical(m->disks[1]));
	lb_manifest_free(m);
}

/* ---- writing and loading files ---------------------------------------- */

/* An offline capture's system, and manifests from before it had one. */
static void test_fixture_offline_system(void **state)
{
	struct lb_manifest *m = load_fixture("valid-offline-system.xml");
	const struct lb_volume *v;

	(void)state;
	assert_non_null(m->system);
	assert_string_equal(m->system->source, "disk");
	assert_string_equal(m->system->root, "disk0p5");
	assert_string_equal(m->system->found_by, "partition-type");
	assert_int_equal(m->system->n_notes, 2);
	v = lb_manifest_find_volume(m, "disk0p5");
	assert_string_equal(v->mountpoint, "/");
	assert_string_equal(v->mount_source, "fstab");
	assert_true(v->critical);
	assert_false(lb_volume_mounted_here(v));
	v = lb_manifest_find_volume(m, "disk0p4");
	assert_true(v->critical);
	assert_false(v->swap_active);
	assert_false(lb_volume_mounted_here(v));
	assert_true(lb_disk_is_critical(m->disks[0]));
	lb_manifest_free(m);

	m = load_fixture("valid-gpt-server.xml");
	assert_null(m->system);
	v = lb_manifest_find_volume(m, "disk0p5");
	assert_null(v->mount_source);
	assert_true(lb_volume_mounted_here(v));
	lb_manifest_free(m);
}

static void test_write_and_load_directory(void **state)
{
	_cleanup_free_ char *dir = tmpfile_path("capture"), *path = NULL;
	struct lb_manifest *m = build_full(), *m2 = NULL;

	(void)state;
	assert_int_equal(lb_mkdir_p(dir, 0700), 0);
	path = lb_asprintf("%s/%s", dir, LB_MANIFEST_NAME);
	assert_int_equal(lb_manifest_write(m, path), 0);
	if (lb_manifest_load(dir, &m2) < 0)
		fail_msg("%s", lb_errmsg());
	eq_manifest(m, m2);
	assert_string_equal(m2->rt_dir, dir);
	lb_manifest_free(m2);
	m2 = NULL;
	assert_int_equal(lb_manifest_load(path, &m2), 0);
	assert_string_equal(m2->rt_dir, dir);
	lb_manifest_free(m2);
	lb_manifest_free(m);

	/* A directory that does not exist cannot be written to. */
	free(path);
	path = tmpfile_path("no/such/dir/manifest.xml");
	m = build_full();
	assert_true(lb_manifest_write(m, path) < 0);
	assert_non_null(strstr(lb_errmsg(), path));
	lb_manifest_free(m);
}

static void test_artifact_save_verify(void **state)
{
	_cleanup_free_ char *dir = tmpfile_path("artifacts");
	_cleanup_free_ char *path = NULL;
	struct lb_manifest *m = lb_manifest_new();
	struct lb_artifact *a = NULL;
	static const char code[] = "lifeboat-boot-code";

	(void)state;
	assert_int_equal(lb_mkdir_p(dir, 0700), 0);
	assert_int_equal(lb_artifact_save(dir, "disk0-boot-code.bin", code, sizeof(code), &a), 0);
	assert_string_equal(a->file, "disk0-boot-code.bin");
	assert_int_equal(a->size, sizeof(code));
	assert_int_equal(strlen(a->sha256), 64);
	m->rt_dir = lb_strdup(dir);
	assert_int_equal(lb_artifact_verify(m, a), 0);

	a->size++;
	assert_int_equal(lb_artifact_verify(m, a), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "the manifest says"));
	a->size--;
	a->sha256[0] = a->sha256[0] == '0' ? '1' : '0';
	assert_int_equal(lb_artifact_verify(m, a), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "SHA-256 does not match"));

	path = lb_asprintf("%s/%s", dir, a->file);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(lb_artifact_verify(m, a), -ENOENT);
	assert_non_null(strstr(lb_errmsg(), path));
	lb_artifact_free(a);
	lb_manifest_free(m);
}

/* ---- rejection -------------------------------------------------------- */

/* Loads path; it must fail with a message naming the file and saying why. */
static void expect_reject(const char *path, const char *why)
{
	struct lb_manifest *m = NULL;
	int r = lb_manifest_load(path, &m);

	if (r >= 0) {
		lb_manifest_free(m);
		fail_msg("%s: loaded, but should fail with \"%s\"", path, why);
	}
	assert_null(m);
	if (!strstr(lb_errmsg(), path))
		fail_msg("%s: message does not name the file: %s", path, lb_errmsg());
	if (!strstr(lb_errmsg(), why))
		fail_msg("%s: expected \"%s\" in: %s", path, why, lb_errmsg());
}

static const struct {
	const char *file, *why;
} bad_fixtures[] = {
	{ "bad-empty.xml", "not well-formed XML" },
	{ "bad-stack-loop.xml", "the storage stack is deeper than 16 levels (a loop?)" },
	{ "bad-stack-unknown-on.xml", "disk7p1: no such device in the manifest" },
	{ "bad-stack-used-twice.xml", "device disk0p1 is used by two layers of the stack" },
	{ "bad-stack-id-clash.xml", "disk1p2: the id names another device of this manifest" },
	{ "bad-stack-thin-pool.xml", "lv0: a thin volume whose pool is not a thin pool of vg0" },
	{ "bad-truncated.xml", "not well-formed XML" },
	{ "bad-root.xml", "Expecting element lifeboat-manifest, got lifeboat-capture" },
	{ "bad-format2.xml", "manifest format 2 is not supported" },
	{ "bad-unknown-element.xml", "Did not expect element firmware-blob there" },
	{ "bad-unknown-attribute.xml", "Invalid attribute color for element identity" },
	{ "bad-guid.xml", "Invalid attribute uuid for element partition" },
	{ "bad-size-negative.xml", "'-1048576'" },
	{ "bad-size-nonnumeric.xml", "'1TB'" },
	{ "bad-sha256-length.xml", "Element boot-code failed to validate attributes" },
	{ "bad-artifact-dotdot.xml", "Element boot-code failed to validate attributes" },
	{ "bad-artifact-absolute.xml", "Element boot-code failed to validate attributes" },
	{ "bad-duplicate-disk.xml", "disk id disk0 appears twice" },
	{ "bad-partition-beyond-end.xml", "partition 1 (start 2048, size 2097152) does not fit" },
	{ "bad-partition-start-zero.xml", "partition 1 (start 0, size 1048576) does not fit" },
	{ "bad-duplicate-partition.xml", "partition 1 appears twice" },
	{ "bad-partition-beyond-entries.xml", "partition 129 is beyond the 128 GPT entries" },
	{ "bad-sector-size.xml", "logical sector size 1000 is not valid" },
	{ "bad-table-and-volume.xml", "both a partition table and a whole-disk volume" },
	{ "bad-gpt-range.xml", "GPT usable range 2048-2097152 does not fit" },
	{ "bad-label-hex-nul.xml", "label-hex: not valid hex text" },
	{ "bad-label-control.xml", "label: control characters are not allowed here (use the -hex form)" },
	{ "bad-hostname-control.xml", "hostname: control characters are not allowed here" },
	{ "bad-billion-laughs.xml", "not well-formed XML" },
	{ "bad-xxe.xml", "must not carry a DTD" },
	{ "bad-system-root.xml", "system root disk0p9 is not a volume of this manifest" },
	{ "bad-mount-source.xml", "Invalid attribute mount-source for element volume" },
	/* (libxml2 names the interleave, not the attribute: the same file
	 * with source="lvm-snapshot" loads, test_data_source) */
	{ "bad-data-source.xml", "Element lv has extra content: volume" },
	/* the semantic checks: each message with the line of the element at fault */
	{ "bad-partition-overlap.xml", ":12: disk disk0: partitions 1 and 2 overlap" },
	{ "bad-partition-outside-usable.xml",
	  ":9: disk disk0: partition 1 (34-1048609) is outside the GPT usable range 2048-2097118" },
	{ "bad-mbr-five-primaries.xml", ":13: disk disk0: partition 5 cannot be primary on an MBR" },
	{ "bad-mbr-logical-without-extended.xml",
	  ":10: disk disk0: logical partition 5 without an extended partition" },
	{ "bad-mbr-logical-outside-extended.xml",
	  ":10: disk disk0: logical partition 5 is not inside extended partition 1" },
	{ "bad-mbr-beyond-2tib.xml", ":9: disk disk0: partition 1 (start 4294967296, size 2048) is "
				     "beyond what an MBR can address" },
	{ "bad-physical-sector-zero.xml", ":7: disk disk0: physical sector size 0 is not a power of two "
					  "multiple of the logical sector size 512" },
	{ "bad-physical-sector-three.xml", ":7: disk disk0: physical sector size 3 is not a power of "
					   "two multiple" },
	{ "bad-duplicate-volume.xml", ":13: volume id disk0p1 appears twice" },
	{ "bad-disk-size-zero.xml", ":7: disk disk0: size 0 is not a disk" },
	{ "bad-partitions-without-table.xml", ":8: disk disk0: has partitions but no partition table" },
	{ "bad-gpt-extended.xml", ":9: disk disk0: partition 1 is extended, GPT has no such kind" },
	{ "bad-gpt-entries-huge.xml", ":8: disk disk0: 4294967295 GPT entries (1 to 32768)" },
	{ "bad-gpt-entries-past-first-lba.xml",
	  ":8: disk disk0: GPT usable range 34-2097118 does not fit (1024 entries from sector 2" },
	{ "bad-disk-size-overflow.xml",
	  ":7: disk disk0: 4503599627370497 sectors of 4096 bytes is too large for a disk" },
	{ "bad-ext-flex-shift.xml", ":10: volume disk0p1: ext geometry is not valid (block size 4096, "
				    "inode size 256, log-groups-per-flex 32)" },
	{ "bad-ext-encoding.xml", ":10: volume disk0p1: ext encoding \"utf8,discard,root_owner=0:0\" "
				  "is not one mke2fs knows" },
	{ "bad-ext-larger-than-partition.xml", ":10: volume disk0p1: its ext4 geometry (1073741824 "
					       "bytes) does not fit in the 536870912 bytes" },
	{ "bad-xfs-feature.xml", ":10: volume disk0p1: xfs feature \"exchange\" is not one lifeboat "
				 "knows" },
	{ "bad-xfs-log-outside.xml", ":10: volume disk0p1: xfs geometry is not valid: log size or place" },
	{ "bad-xfs-meta-uuid-without-feature.xml", ":10: volume disk0p1: xfs geometry is not valid: a "
						   "meta-uuid needs the meta_uuid feature" },
	{ "bad-xfs-larger-than-partition.xml", ":10: volume disk0p1: its xfs geometry (1228800000 "
					       "bytes) does not fit in the 1073741824 bytes" },
	{ "bad-xfs-features-pattern.xml", "Element volume failed to validate content" },
	{ "bad-btrfs-profile.xml", "Element volume failed to validate content" },
	{ "bad-btrfs-dev-bytes.xml", ":9: volume disk0p1: btrfs geometry is not valid: devices or sizes" },
	{ "bad-btrfs-larger-than-partition.xml", ":9: volume disk0p1: its btrfs geometry (1048576001 "
						 "bytes) does not fit in the 1048576000 bytes that hold it" },
	{ "bad-btrfs-feature.xml", ":9: volume disk0p1: btrfs feature \"frobnicate\" is not one "
				   "lifeboat knows" },
	{ "bad-xfs-uuid.xml", ":10: volume disk0p1: xfs UUID '3401e0d1-0000-4000-8000-0000000000c1,reflink=0' is not a UUID" },
	/* every area restore writes through the whole disk bounded by its
	 * recorded geometry, reported at the artifact's own line */
	{ "bad-boot-code-size.xml", ":9: disk disk0: boot code of 1048576 bytes (the MBR boot-code area is 440)" },
	{ "bad-mbr-gap-gpt.xml", ":9: disk disk0: a post-MBR gap on a disk with a GPT table" },
	{ "bad-mbr-gap-overlap.xml", ":9: disk disk0: post-MBR gap of 1048576 bytes does not fit before the first "
				     "partition (1048064 bytes there)" },
	{ "bad-content-too-big.xml", ":10: disk disk0: partition 1's contents of 2097152 bytes do not fit in it" },
	/* a btrfs's subvolumes: what a restore makes inside the filesystem */
	{ "bad-btrfs-subvol-dotdot.xml", ":10: volume disk0: subvolume 258: its path has a \".\" or \"..\" component" },
	{ "bad-btrfs-subvol-absolute.xml", ":10: volume disk0: subvolume 258: its path is absolute" },
	{ "bad-btrfs-subvol-empty-component.xml", ":10: volume disk0: subvolume 258: its path has an empty component" },
	{ "bad-btrfs-subvol-duplicate-id.xml", ":10: volume disk0: subvolume ID 257 is listed twice" },
	{ "bad-btrfs-clones-from-later.xml", ":10: volume disk0: subvolume 260: clones-from 260 is no subvolume listed before it" },
	{ "bad-btrfs-clones-from-missing.xml", ":10: volume disk0: subvolume 260: clones-from 255 is no subvolume listed before it" },
	{ "bad-btrfs-subvol-duplicate-path.xml", ":10: volume disk0: subvolumes 257 and 258 have the same path" },
	{ "bad-btrfs-subvol-id-range.xml", ":10: volume disk0: subvolume ID 99999999999 is out of range (256 to 4294967296)" },
	{ "bad-btrfs-subvol-id-low.xml", ":10: volume disk0: subvolume ID 5 is out of range (256 to 4294967296)" },
	{ "bad-btrfs-default-missing.xml", ":10: volume disk0: the default subvolume 300 is not listed" },
	{ "bad-btrfs-subvols-on-ext4.xml", ":10: volume disk0: <subvolumes> on a ext4 volume" },
	{ "bad-btrfs-stransid-not-received.xml", ":10: volume disk0: subvolume 261: stransid or stime without a received-uuid" },
	{ "bad-btrfs-stime-nsec.xml", "line 10: Element volume failed to validate content" },
};

static void test_reject_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < LB_ARRAY_SIZE(bad_fixtures); i++) {
		_cleanup_free_ char *path = fixture(bad_fixtures[i].file);

		expect_reject(path, bad_fixtures[i].why);
	}
}

/* Every bad-*.xml in the directory is tried above. */
static void test_reject_fixtures_all_listed(void **state)
{
	_cleanup_free_ char *pattern = fixture("bad-*.xml");
	glob_t g;

	(void)state;
	if (glob(pattern, 0, NULL, &g) != 0)
		fail_msg("no %s (run from the repository root or set LB_TOP)", pattern);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		bool listed = false;

		for (size_t j = 0; j < LB_ARRAY_SIZE(bad_fixtures); j++)
			listed |= strcmp(base, bad_fixtures[j].file) == 0;
		if (!listed)
			fail_msg("%s is not in bad_fixtures[]", base);
	}
	assert_int_equal(g.gl_pathc, LB_ARRAY_SIZE(bad_fixtures));
	globfree(&g);
}

/* The external entity is neither opened nor expanded into anything. */
static void test_reject_xxe_reads_nothing(void **state)
{
	_cleanup_free_ char *secret = tmpfile_path("secret");
	_cleanup_free_ char *path = tmpfile_path("xxe.xml");
	_cleanup_free_ char *doc = NULL;
	static const char word[] = "lifeboat-secret-canary";
	_cleanup_close_ int in = -1;
	char ev[4096];

	(void)state;
	assert_int_equal(lb_write_file(secret, word, strlen(word), 0600), 0);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, secret, IN_OPEN | IN_ACCESS) >= 0);
	doc = lb_asprintf("<?xml version=\"1.0\"?>\n"
			  "<!DOCTYPE lifeboat-manifest [ <!ENTITY x SYSTEM \"file://%s\"> ]>\n"
			  "<lifeboat-manifest format=\"1\" generator=\"x\">&x;"
			  "<capture id=\"b4d0b4d0-0000-4000-8000-000000000001\" "
			  "time=\"2024-03-05T02:14:07Z\"/>&x;</lifeboat-manifest>\n",
			  secret);
	assert_int_equal(lb_write_file(path, doc, strlen(doc), 0600), 0);
	expect_reject(path, "must not carry a DTD");
	assert_null(strstr(lb_errmsg(), word));
	if (read(in, ev, sizeof(ev)) > 0)
		fail_msg("loading %s opened %s", path, secret);
	assert_int_equal(errno, EAGAIN);
}

static void test_reject_missing(void **state)
{
	_cleanup_free_ char *path = tmpfile_path("does-not-exist.xml");
	_cleanup_free_ char *dir = tmpfile_path("empty-capture");

	(void)state;
	expect_reject(path, "No such file or directory");
	/* a capture directory without a manifest */
	assert_int_equal(lb_mkdir_p(dir, 0700), 0);
	expect_reject(dir, "manifest.xml: No such file or directory");
}

static void test_reject_non_xml(void **state)
{
	_cleanup_free_ char *path = tmpfile_path("binary.xml");
	uint8_t junk[4096];

	(void)state;
	/* a gzip header, then bytes that are neither UTF-8 nor XML */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 167 + 13);
	memcpy(junk, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
	junk[100] = 0;
	assert_int_equal(lb_write_file(path, junk, sizeof(junk), 0600), 0);
	expect_reject(path, "not well-formed XML");
}

static void test_reject_huge_attribute(void **state)
{
	_cleanup_free_ char *path = tmpfile_path("huge-attribute.xml");
	size_t n = 10u << 20;
	char *doc = lb_zalloc(n + 1024), *p = doc;

	(void)state;
	p += sprintf(p, "<?xml version=\"1.0\"?>\n<lifeboat-manifest format=\"1\" generator=\"x\">\n"
			"<capture id=\"b4d0b4d0-0000-4000-8000-000000000001\" "
			"time=\"2024-03-05T02:14:07Z\" hostname=\"");
	memset(p, 'A', n);
	p += n;
	p += sprintf(p, "\"/>\n</lifeboat-manifest>\n");
	assert_int_equal(lb_write_file(path, doc, (size_t)(p - doc), 0600), 0);
	free(doc);
	expect_reject(path, path);
	assert_true(strlen(lb_errmsg()) < 8192);	/* the value is not quoted back */
	unlink(path);
}

static void test_reject_over_64mib(void **state)
{
	_cleanup_free_ char *path = tmpfile_path("huge.xml");
	int fd;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	/* A valid start, then sparse space: the size alone must stop it. */
	assert_int_equal(lb_pwrite_all(fd, "<?xml version=\"1.0\"?>\n<lifeboat-manifest", 41, 0), 0);
	assert_int_equal(ftruncate(fd, (64 << 20) + 1), 0);
	close(fd);
	expect_reject(path, "too large for a manifest");
	unlink(path);
}

/* The size limit holds for a manifest in memory too, before parsing. */
static void test_reject_mem_over_64mib(void **state)
{
	size_t len = (64u << 20) + 1;
	char *buf = lb_zalloc(len);
	struct lb_manifest *m = NULL;

	(void)state;
	memcpy(buf, "<?xml version=\"1.0\"?>\n<lifeboat-manifest", 41);
	memset(buf + 41, ' ', len - 41);
	assert_int_equal(lb_manifest_load_mem(buf, len, "big-in-memory", &m), -EFBIG);
	assert_null(m);
	assert_non_null(strstr(lb_errmsg(), "big-in-memory: too large for a manifest"));
	free(buf);
}

/* A GPT disk with n one-sector-apart partitions and the given entry count,
 * its usable range just large enough. */
static char *many_partitions(uint32_t n, uint32_t entries, size_t *ret_len)
{
	uint64_t esects = ((uint64_t)entries * 128 + 511) / 512, first = 2 + esects;
	uint64_t size = first + 8 * (uint64_t)n + esects + 1;
	size_t cap = 256 * (size_t)n + 4096, len;
	char *doc = lb_zalloc(cap);

	len = (size_t)snprintf(doc, cap,
			       "<lifeboat-manifest format=\"1\" generator=\"x\">\n"
			       "<capture id=\"b4d0b4d0-0000-4000-8000-000000000001\" "
			       "time=\"2024-03-05T02:14:07Z\"/>\n"
			       "<disk id=\"disk0\" path=\"/dev/sda\" selected=\"true\"><identity/>\n"
			       "<geometry size=\"%" PRIu64 "\" logical-sector-size=\"512\" "
			       "physical-sector-size=\"512\"/>\n"
			       "<table type=\"gpt\" signature=\"B4D0B4D0-0000-4000-8000-0000000000D0\" "
			       "first-lba=\"%" PRIu64 "\" last-lba=\"%" PRIu64 "\" entries=\"%u\">\n",
			       size, first, size - 2 - esects, entries);
	for (uint32_t i = 0; i < n; i++)
		len += (size_t)snprintf(doc + len, cap - len,
					"<partition number=\"%u\" start=\"%" PRIu64 "\" size=\"8\" "
					"kind=\"primary\" type=\"0FC63DAF-8483-4772-8E79-3D69D8477DE4\"/>\n",
					i + 1, first + 8 * (uint64_t)i);
	len += (size_t)snprintf(doc + len, cap - len, "</table></disk></lifeboat-manifest>\n");
	*ret_len = len;
	return doc;
}

/* The most partitions a table may hold (as many as libfdisk reads GPT
 * entries) load; one more is refused before any check that walks them. The
 * duplicate and overlap checks sort: 80000 partitions took 13 s when they
 * compared every pair. */
static void test_partition_count_bound(void **state)
{
	struct lb_manifest *m = NULL;
	size_t len;
	char *doc;

	(void)state;
	doc = many_partitions(32768, 32768, &len);
	if (lb_manifest_load_mem(doc, len, "max-partitions.xml", &m) < 0)
		fail_msg("%s", lb_errmsg());
	assert_int_equal(m->disks[0]->n_parts, 32768);
	lb_manifest_free(m);
	m = NULL;
	free(doc);

	doc = many_partitions(32769, 40000, &len);
	assert_true(lb_manifest_load_mem(doc, len, "too-many-partitions.xml", &m) < 0);
	assert_null(m);
	must_contain(lb_errmsg(), "too-many-partitions.xml:5: disk disk0: 32769 partitions, more "
				  "than 32768");
	free(doc);
}

/* Loaded from memory, the message names what the caller called it. */
static void test_reject_mem_names_source(void **state)
{
	static const char doc[] = "<lifeboat-manifest format=\"1\"";
	struct lb_manifest *m = NULL;

	(void)state;
	assert_true(lb_manifest_load_mem(doc, sizeof(doc) - 1, "stdin-capture", &m) < 0);
	assert_null(m);
	assert_non_null(strstr(lb_errmsg(), "stdin-capture: not well-formed XML"));
}

/* A volume's data taken from an LVM snapshot says so, and keeps saying so
 * through a write and a load; bad-data-source.xml is this manifest with a
 * source the schema does not know. */
static void test_data_source(void **state)
{
	_cleanup_free_ char *path = fixture("bad-data-source.xml"), *text = NULL, *xml = NULL;
	struct lb_manifest *m = NULL, *m2 = NULL;
	struct lb_dev_ref ref;
	char *at;
	size_t len = 0;
	int n;

	(void)state;
	n = lb_read_file(path, &text, 1 << 20);
	assert_true(n > 0);
	at = strstr(text, "source=\"zfs-snapshot\"");
	assert_non_null(at);
	memcpy(at, "source=\"lvm-snapshot\"", strlen("source=\"zfs-snapshot\""));
	if (lb_manifest_load_mem(text, (size_t)n, path, &m) < 0)
		fail_msg("%s", lb_errmsg());
	ref = lb_manifest_find_dev(m, "lv0");
	assert_int_equal(ref.kind, LB_DEV_LV);
	assert_non_null(ref.lv->volume->data);
	assert_string_equal(ref.lv->volume->data_method, "image");
	assert_string_equal(ref.lv->volume->data_source, "lvm-snapshot");
	assert_null(lb_manifest_find_dev(m, "md0").md->volume->data_source);
	assert_int_equal(lb_manifest_write_mem(m, &xml, &len), 0);
	assert_non_null(strstr(xml, "method=\"image\" source=\"lvm-snapshot\""));
	if (lb_manifest_load_mem(xml, len, "written", &m2) < 0)
		fail_msg("%s", lb_errmsg());
	assert_string_equal(lb_manifest_find_dev(m2, "lv0").lv->volume->data_source, "lvm-snapshot");
	lb_manifest_free(m);
	lb_manifest_free(m2);
}

/* ---- main ------------------------------------------------------------- */

static int canonical(const char *path)
{
	struct lb_manifest *m = NULL;
	char *buf = NULL;
	size_t len = 0;

	if (lb_manifest_load(path, &m) < 0 || lb_manifest_write_mem(m, &buf, &len) < 0) {
		fprintf(stderr, "%s\n", lb_errmsg());
		lb_manifest_free(m);
		return 1;
	}
	fwrite(buf, 1, len, stdout);
	free(buf);
	lb_manifest_free(m);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_programmatic),
		cmocka_unit_test(test_roundtrip_minimal),
		cmocka_unit_test(test_write_unprintable_without_hex),
		cmocka_unit_test(test_write_gpt_zero_fields),
		cmocka_unit_test(test_roundtrip_fixtures),
		cmocka_unit_test(test_thin_fields),
		cmocka_unit_test(test_data_source),
		cmocka_unit_test(test_fixture_contents),
		cmocka_unit_test(test_fixture_offline_system),
		cmocka_unit_test(test_write_and_load_directory),
		cmocka_unit_test(test_artifact_save_verify),
		cmocka_unit_test(test_reject_fixtures),
		cmocka_unit_test(test_reject_fixtures_all_listed),
		cmocka_unit_test(test_reject_xxe_reads_nothing),
		cmocka_unit_test(test_reject_missing),
		cmocka_unit_test(test_reject_non_xml),
		cmocka_unit_test(test_reject_huge_attribute),
		cmocka_unit_test(test_reject_over_64mib),
		cmocka_unit_test(test_reject_mem_over_64mib),
		cmocka_unit_test(test_reject_mem_names_source),
		cmocka_unit_test(test_partition_count_bound),
	};
	int r;

	if (argc == 3 && strcmp(argv[1], "--canonical") == 0)
		r = canonical(argv[2]);
	else
		r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	xmlCleanupParser();
	return r;
}
