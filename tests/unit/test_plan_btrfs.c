// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the plan of a btrfs over several devices (src/plan/btrfs.c)
 * on a manifest built in memory: a raid1 btrfs over partition 1 of two
 * disks, both intact here. Named with --volume, both devices get their
 * images back; one disk recreated, the filesystem is made once by the
 * first device's format over both, in devid order, the other made with
 * it; the other disk excluded, or a device the capture does not record,
 * or a feature mkfs.btrfs cannot make, refuse the plan. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"

#define FSID "6c1fe0b0-0001-4c1f-8a00-0000000000f5"
#define DATA "data\n"

struct fixture {
	char dir[64];
	struct lb_manifest *m;
	struct lb_plan *p;
};

static struct lb_volume *btrfs_vol(const char *id, uint64_t devid, bool image)
{
	struct lb_volume *v = lb_volume_new();
	struct lb_btrfs_geom *g = lb_btrfs_geom_new();

	v->id = lb_strdup(id);
	v->type = lb_strdup("btrfs");
	v->uuid = lb_strdup(FSID);
	g->node_size = 16384;
	g->sector_size = 4096;
	g->csum = lb_strdup("crc32c");
	g->features = lb_strdup("mixed_backref no_holes");
	g->devices = 2;
	g->devid = devid;
	g->dev_uuid = lb_asprintf("6c1fe0b0-0002-4c1f-8a00-00000000000%u", (unsigned)devid);
	g->dev_bytes = 1 << 20;
	g->total_bytes = 2 << 20;
	g->data = lb_strdup("raid1");
	g->metadata = lb_strdup("raid1");
	g->system = lb_strdup("raid1");
	v->btrfs = g;
	if (image) {
		v->data = lb_artifact_new();
		v->data->file = lb_asprintf("%s.data", id);
		v->data->size = strlen(DATA);
		v->data->sha256 = lb_strdup("00");
		v->data_method = lb_strdup("image");
	}
	return v;
}

/* disk N (/dev/sdX): GPT, partition 1 the btrfs's device of devid N + 1 */
static struct lb_disk *disk(unsigned n, bool image)
{
	struct lb_disk *d = lb_disk_new();
	struct lb_partition *p = lb_partition_new();
	_cleanup_free_ char *id = lb_asprintf("disk%up1", n);

	d->id = lb_asprintf("disk%u", n);
	d->path = lb_asprintf("/dev/sd%c", 'a' + n);
	d->label = LB_LABEL_GPT;
	d->sector_size = 512;
	d->size = 1 << 20;
	d->selected = true;
	d->signature = lb_asprintf("6C1FE0B0-0001-4C1F-8A00-00000000000%u", n);
	p->number = 1;
	p->start = 2048;
	p->size = 4096;
	p->uuid = lb_asprintf("6C1FE0B0-0001-4C1F-8A00-0000000000A%u", n);
	p->type = lb_strdup("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
	p->path = lb_asprintf("/dev/sd%c1", 'a' + n);
	p->volume = btrfs_vol(id, n + 1, image);
	lb_disk_add_partition(d, p);
	return d;
}

static int setup(void **state)
{
	struct fixture *f = lb_zalloc(sizeof(*f));

	strcpy(f->dir, "/tmp/lifeboat-test-plan-btrfs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (unsigned i = 0; i < 2; i++) {
		_cleanup_free_ char *path = lb_asprintf("%s/disk%up1.data", f->dir, i);

		assert_int_equal(lb_write_file(path, DATA, strlen(DATA), 0600), 0);
	}
	f->m = lb_manifest_new();
	f->m->id = lb_strdup("8694589f-0e49-4dce-8dad-4a2a6c2c66f5");
	f->m->rt_dir = lb_strdup(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lb_plan_free(f->p);
	lb_manifest_free(f->m);
	lb_rm_rf(f->dir);
	free(f);
	return 0;
}

/* Plans the manifest onto two disks as recorded; recreate: the first one's
 * partition GUID changed (so it is recreated). */
static struct lb_plan *plan(struct fixture *f, const struct lb_plan_opts *o, bool recreate)
{
	struct lb_target **targets = lb_zalloc(2 * sizeof(*targets));

	for (unsigned i = 0; i < 2; i++) {
		struct lb_target *t = lb_zalloc(sizeof(*t));

		t->sysname = lb_asprintf("sd%c", 'a' + i);
		t->path = lb_asprintf("/dev/sd%c", 'a' + i);
		t->state = disk(i, false);
		targets[i] = t;
	}
	if (recreate) {
		free(targets[0]->state->parts[0]->uuid);
		targets[0]->state->parts[0]->uuid = lb_strdup("6C1FE0B0-0001-4C1F-8A00-0000000000FF");
	}
	assert_int_equal(lb_plan_build(f->m, o, targets, 2, &f->p), 0);
	return f->p;
}

static const struct lb_plan_volume *pvol(const struct lb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_vols; i++)
		if (strcmp(p->vols[i].vol->id, id) == 0)
			return &p->vols[i];
	fail_msg("no volume %s in the plan", id);
	return NULL;
}

static bool any_says(char **list, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(list[i], what))
			return true;
	return false;
}

static void two_disks(struct fixture *f, bool image)
{
	lb_manifest_add_disk(f->m, disk(0, image));
	lb_manifest_add_disk(f->m, disk(1, image));
}

/* --volume disk0p1: disk1p1 gets its image back too */
static void test_named_images_both(void **state)
{
	struct fixture *f = *state;
	char *vols[] = { (char *)"disk0p1" };
	struct lb_plan_opts o = { .data = true, .volumes = vols, .n_volumes = 1 };
	const struct lb_plan *p;

	two_disks(f, true);
	p = plan(f, &o, false);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pvol(p, "disk0p1")->action, LB_VOL_IMAGE);
	assert_int_equal(pvol(p, "disk1p1")->action, LB_VOL_IMAGE);
	assert_non_null(strstr(pvol(p, "disk1p1")->why, "a device of the btrfs " FSID));
	assert_null(pvol(p, "disk0p1")->btrfs_devs);
}

/* one disk recreated, no data: made once over both, in devid order */
static void test_made_once(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false };
	const struct lb_plan_volume *a, *b;
	const struct lb_plan *p;

	two_disks(f, false);
	p = plan(f, &o, true);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(p->disks[0].verdict, LB_VERDICT_RECREATE);
	assert_int_equal(p->disks[1].verdict, LB_VERDICT_INTACT);
	a = pvol(p, "disk0p1");
	b = pvol(p, "disk1p1");
	assert_int_equal(a->action, LB_VOL_FORMAT);
	assert_int_equal(b->action, LB_VOL_FORMAT);
	assert_int_equal(a->n_btrfs_devs, 2);
	assert_ptr_equal(a->btrfs_devs[0], a);
	assert_ptr_equal(a->btrfs_devs[1], b);
	assert_null(a->btrfs_maker);
	assert_ptr_equal(b->btrfs_maker, a);
	assert_non_null(strstr(b->why, "made with disk0p1"));
}

/* --no-data, one disk recreated: both made by mkfs, though both have
 * images */
static void test_no_data_made(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false };
	const struct lb_plan *p;

	two_disks(f, true);
	p = plan(f, &o, true);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pvol(p, "disk0p1")->action, LB_VOL_FORMAT);
	assert_int_equal(pvol(p, "disk1p1")->action, LB_VOL_FORMAT);
	assert_ptr_equal(pvol(p, "disk1p1")->btrfs_maker, pvol(p, "disk0p1"));
}

/* the other device's image missing: refused before any write */
static void test_image_missing_refused(void **state)
{
	struct fixture *f = *state;
	char *vols[] = { (char *)"disk0p1" };
	struct lb_plan_opts o = { .data = true, .volumes = vols, .n_volumes = 1 };
	_cleanup_free_ char *path = lb_asprintf("%s/disk1p1.data", f->dir);
	const struct lb_plan *p;

	two_disks(f, true);
	assert_int_equal(unlink(path), 0);
	p = plan(f, &o, false);
	assert_true(any_says(p->problems, p->n_problems, "disk1p1: its data file"));
}

/* the other disk excluded: never half a btrfs */
static void test_half_refused(void **state)
{
	struct fixture *f = *state;
	char *ex[] = { (char *)"disk1" };
	struct lb_plan_opts o = { .data = false, .exclude = ex, .n_exclude = 1 };
	const struct lb_plan *p;

	two_disks(f, false);
	p = plan(f, &o, true);
	assert_true(any_says(p->problems, p->n_problems, "never made half"));
	assert_int_equal(p->n_steps, 0);
}

/* a device the capture does not record */
static void test_missing_device_refused(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false };
	const struct lb_plan *p;

	two_disks(f, false);
	f->m->disks[0]->parts[0]->volume->btrfs->devices = 3;
	f->m->disks[1]->parts[0]->volume->btrfs->devices = 3;
	p = plan(f, &o, true);
	assert_true(any_says(p->problems, p->n_problems, "has 3 devices, the capture records 2"));
}

/* a feature mkfs.btrfs cannot make, when it would be made: refused by name */
static void test_feature_refused(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false };
	const struct lb_plan *p;

	two_disks(f, false);
	for (unsigned i = 0; i < 2; i++) {
		struct lb_btrfs_geom *g = f->m->disks[i]->parts[0]->volume->btrfs;

		free(g->features);
		g->features = lb_strdup("mixed_backref block_group_tree");
	}
	p = plan(f, &o, true);
	assert_true(any_says(p->problems, p->n_problems, "btrfs feature block_group_tree cannot be made"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_named_images_both, setup, teardown),
		cmocka_unit_test_setup_teardown(test_made_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_data_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_missing_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_device_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
