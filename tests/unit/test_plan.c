// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the planner's volume decisions on an intact disk
 * (plan.c, ASR's rule): critical volumes with captured data get it back,
 * the others keep their contents unless named (--volume, --all-volumes),
 * --no-data is layout only, a critical swap is made again only when it is
 * not the recorded one, and what stops or only warns. The disk here is the
 * recorded one, found as it was (an intact verdict), from in-memory models:
 * no device is touched. The data files are small files in a temporary
 * capture directory (the planner checks only their presence and size). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "plan/plan.h"

#define DATA "data\n"

struct fixture {
	char dir[64];
	struct lb_manifest *m;
	struct lb_plan *p;
};

static struct lb_volume *vol(const char *id, const char *type, const char *mountpoint,
			     const char *method)
{
	struct lb_volume *v = lb_volume_new();

	v->id = lb_strdup(id);
	v->type = lb_strdup(type);
	v->uuid = lb_asprintf("6c1fe0b0-0001-4c1f-8a00-0000000000%s", id + strlen(id) - 2);
	if (mountpoint) {
		v->mountpoint = lb_strdup(mountpoint);
		v->critical = lb_mountpoint_is_critical(mountpoint);
	}
	if (method) {
		v->data = lb_artifact_new();
		v->data->file = lb_asprintf("%s.data", id);
		v->data->size = strlen(DATA);
		v->data->sha256 = lb_strdup("00");
		v->data_method = lb_strdup(method);
	}
	return v;
}

static struct lb_partition *part(uint32_t number, struct lb_volume *v)
{
	struct lb_partition *p = lb_partition_new();

	p->number = number;
	p->start = 2048 * number;
	p->size = 2048;
	p->uuid = lb_asprintf("6C1FE0B0-0001-4C1F-8A00-0000000000A%u", number);
	p->path = lb_asprintf("/dev/sda%u", number);
	p->volume = v;
	return p;
}

/* disk0 (/dev/sda, GPT):
 *   p1 vfat /boot/efi, image    (critical)
 *   p2 swap, active             (critical)
 *   p3 ext4 /, archive          (critical)
 *   p4 ext4 /srv, image         (not critical)
 *   p5 ext4, no data            (not critical) */
static struct lb_disk *system_disk(void)
{
	struct lb_disk *d = lb_disk_new();
	struct lb_volume *swap = vol("disk0p2", "swap", NULL, NULL);

	d->id = lb_strdup("disk0");
	d->path = lb_strdup("/dev/sda");
	d->label = LB_LABEL_GPT;
	d->sector_size = 512;
	d->size = 1 << 20;
	d->selected = true;
	d->signature = lb_strdup("6C1FE0B0-0001-4C1F-8A00-000000000001");
	swap->swap_active = swap->critical = true;
	lb_disk_add_partition(d, part(1, vol("disk0p1", "vfat", "/boot/efi", "image")));
	lb_disk_add_partition(d, part(2, swap));
	lb_disk_add_partition(d, part(3, vol("disk0p3", "ext4", "/", "archive")));
	lb_disk_add_partition(d, part(4, vol("disk0p4", "ext4", "/srv", "image")));
	lb_disk_add_partition(d, part(5, vol("disk0p5", "ext4", NULL, NULL)));
	return d;
}

static int setup(void **state)
{
	struct fixture *f = lb_zalloc(sizeof(*f));
	static const char *const files[] = { "disk0p1.data", "disk0p3.data", "disk0p4.data" };

	strcpy(f->dir, "/tmp/lifeboat-test-plan.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (size_t i = 0; i < LB_ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *path = lb_asprintf("%s/%s", f->dir, files[i]);

		assert_int_equal(lb_write_file(path, DATA, strlen(DATA), 0600), 0);
	}
	f->m = lb_manifest_new();
	f->m->id = lb_strdup("8694589f-0e49-4dce-8dad-4a2a6c2c6682");
	f->m->rt_dir = lb_strdup(f->dir);
	lb_manifest_add_disk(f->m, system_disk());
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

/* Plans the capture onto this machine's disk: the recorded disk as it is
 * (edit lets a test change it first), in use when in_use is given. */
static struct lb_plan *plan_with(struct fixture *f, const struct lb_plan_opts *o,
				 void (*edit)(struct lb_disk *), const char *in_use)
{
	struct lb_target **targets = lb_zalloc(sizeof(*targets));
	struct lb_target *t = lb_zalloc(sizeof(*t));

	t->sysname = lb_strdup("sda");
	t->path = lb_strdup("/dev/sda");
	t->state = system_disk();
	t->in_use = lb_strdup(in_use);
	if (edit)
		edit(t->state);
	targets[0] = t;
	assert_int_equal(lb_plan_build(f->m, o, targets, 1, &f->p), 0);
	assert_int_equal(f->p->disks[0].verdict, LB_VERDICT_INTACT);
	return f->p;
}

static struct lb_plan *plan(struct fixture *f, const struct lb_plan_opts *o)
{
	return plan_with(f, o, NULL, NULL);
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

/* ---- the decisions ---------------------------------------------------- */

static void test_critical_come_back(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	struct lb_plan *p = plan(f, &o);

	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pvol(p, "disk0p1")->action, LB_VOL_IMAGE);
	assert_int_equal(pvol(p, "disk0p1")->rollback, LB_ROLLBACK_CRITICAL);
	assert_int_equal(pvol(p, "disk0p3")->action, LB_VOL_FORMAT);
	assert_true(pvol(p, "disk0p3")->extract);
	assert_int_equal(pvol(p, "disk0p3")->rollback, LB_ROLLBACK_CRITICAL);
	/* a swap as recorded, a volume not critical, one without data: kept */
	assert_int_equal(pvol(p, "disk0p2")->action, LB_VOL_KEEP);
	assert_string_equal(pvol(p, "disk0p2")->why, "critical swap, as recorded");
	assert_int_equal(pvol(p, "disk0p4")->action, LB_VOL_KEEP);
	assert_int_equal(pvol(p, "disk0p4")->rollback, LB_ROLLBACK_NONE);
	assert_non_null(strstr(pvol(p, "disk0p4")->why, "--volume disk0p4"));
	assert_int_equal(pvol(p, "disk0p5")->action, LB_VOL_KEEP);
	/* the layout is intact; a restore writes */
	assert_true(lb_plan_all_intact(p));
	assert_true(lb_plan_writes(p));
}

static void test_no_data_is_layout_only(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false };
	struct lb_plan *p = plan(f, &o);

	assert_int_equal(p->n_problems, 0);
	for (size_t i = 0; i < p->n_vols; i++) {
		assert_int_equal(p->vols[i].action, LB_VOL_KEEP);
		assert_int_equal(p->vols[i].rollback, LB_ROLLBACK_NONE);
	}
	assert_false(lb_plan_writes(p));
}

static void test_named_by_id_path_mountpoint(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "disk0p4", "/dev/sda4", "/srv" };

	for (size_t i = 0; i < LB_ARRAY_SIZE(names); i++) {
		char *list[] = { (char *)names[i] };
		struct lb_plan_opts o = { .data = true, .volumes = list, .n_volumes = 1 };
		struct lb_plan *p = plan(f, &o);

		assert_int_equal(p->n_problems, 0);
		assert_int_equal(pvol(p, "disk0p4")->action, LB_VOL_IMAGE);
		assert_int_equal(pvol(p, "disk0p4")->rollback, LB_ROLLBACK_NAMED);
		/* naming one does not take the critical ones away */
		assert_int_equal(pvol(p, "disk0p1")->rollback, LB_ROLLBACK_CRITICAL);
		lb_plan_free(p);
		f->p = NULL;
	}
}

static void test_all_volumes(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true, .all_volumes = true };
	struct lb_plan *p = plan(f, &o);

	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pvol(p, "disk0p4")->action, LB_VOL_IMAGE);
	assert_int_equal(pvol(p, "disk0p4")->rollback, LB_ROLLBACK_ALL);
	/* nothing to put back on a volume without data, or a swap as recorded */
	assert_int_equal(pvol(p, "disk0p5")->action, LB_VOL_KEEP);
	assert_int_equal(pvol(p, "disk0p2")->action, LB_VOL_KEEP);
}

static void test_bad_names_are_usage_errors(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "disk0p9", "disk0p5" /* no data */, "/nowhere" };

	for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
		char *list[] = { (char *)bad[i] };
		struct lb_plan_opts o = { .data = true, .volumes = list, .n_volumes = 1 };
		struct lb_plan *p = plan(f, &o);

		assert_true(p->usage_error);
		assert_int_equal(p->n_problems, 1);
		assert_true(any_says(p->problems, p->n_problems, bad[i]));
		lb_plan_free(p);
		f->p = NULL;
	}
	{
		char *list[] = { "disk0p4" };
		struct lb_plan_opts o = { .data = false, .volumes = list, .n_volumes = 1 };

		assert_true(plan(f, &o)->usage_error);
	}
}

static void other_swap(struct lb_disk *d)
{
	free(d->parts[1]->volume->uuid);
	d->parts[1]->volume->uuid = lb_strdup("6c1fe0b0-0001-4c1f-8a00-0000000000ff");
}

static void test_swap_not_as_recorded(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	struct lb_plan *p = plan_with(f, &o, other_swap, NULL);

	assert_int_equal(pvol(p, "disk0p2")->action, LB_VOL_FORMAT);
	assert_int_equal(pvol(p, "disk0p2")->rollback, LB_ROLLBACK_CRITICAL);
	assert_true(lb_plan_all_intact(p));
}

static void test_data_file_missing(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	_cleanup_free_ char *root = lb_asprintf("%s/disk0p3.data", f->dir);
	_cleanup_free_ char *srv = lb_asprintf("%s/disk0p4.data", f->dir);
	struct lb_plan *p;

	/* a volume to write: a problem, about the content, not the layout */
	assert_int_equal(unlink(root), 0);
	p = plan(f, &o);
	assert_int_equal(p->n_problems, 1);
	assert_int_equal(p->n_content_problems, 1);
	assert_true(any_says(p->problems, p->n_problems, "disk0p3: its data file"));
	assert_int_equal(p->n_warnings, 0);
	lb_plan_free(p);
	f->p = NULL;

	/* a volume left as it is: a warning */
	assert_int_equal(lb_write_file(root, DATA, strlen(DATA), 0600), 0);
	assert_int_equal(truncate(srv, 1), 0);
	p = plan(f, &o);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(p->n_warnings, 1);
	assert_true(any_says(p->warnings, p->n_warnings, "disk0p4: its data file"));
	lb_plan_free(p);
	f->p = NULL;

	/* --no-data looks at no data file */
	o.data = false;
	assert_int_equal(unlink(root), 0);
	p = plan(f, &o);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(p->n_warnings, 0);
}

static void test_in_use_refused(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	struct lb_plan *p = plan_with(f, &o, NULL, "sda3 is mounted on /");

	/* a running system: the ESP and the root are left as they are, each
	 * with a warning; nothing stops the rest of the plan */
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pvol(p, "disk0p1")->action, LB_VOL_KEEP);
	assert_int_equal(pvol(p, "disk0p3")->action, LB_VOL_KEEP);
	assert_int_equal(p->n_warnings, 2);
	assert_true(any_says(p->warnings, p->n_warnings, "disk0p1: not put back"));
	assert_true(lb_plan_all_intact(p));
	lb_plan_free(p);
	f->p = NULL;

	/* a volume named with --volume there: refused, a content problem */
	char *named[] = { (char *)"disk0p3" };

	o.volumes = named;
	o.n_volumes = 1;
	p = plan_with(f, &o, NULL, "sda3 is mounted on /");
	assert_int_equal(p->n_problems, 1);
	assert_int_equal(p->n_content_problems, 1);
	assert_true(any_says(p->problems, p->n_problems, "disk0p3: will not put its data back"));
	lb_plan_free(p);
	f->p = NULL;
	o.volumes = NULL;
	o.n_volumes = 0;

	/* layout only: nothing to refuse */
	o.data = false;
	p = plan_with(f, &o, NULL, "sda3 is mounted on /");
	assert_int_equal(p->n_problems, 0);
}

static void blank_boot_code(struct lb_disk *d)
{
	d->rt_boot_blank = true;
}

/* An intact disk in use here whose boot code is blank (a running system's,
 * wiped): left alone with a warning, as its critical volumes are. It was
 * planned to be written, and restore refused the write only after other
 * disks had been recreated, on every run. */
static void test_in_use_blank_boot_code(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	struct lb_disk *d = f->m->disks[0];
	struct lb_plan *p;

	d->boot_code = lb_artifact_new();
	d->boot_code->file = lb_strdup("disk0-boot-code.bin");
	d->boot_code->size = LB_BOOT_CODE_SIZE;
	d->boot_code->sha256 = lb_strdup("00");

	p = plan_with(f, &o, blank_boot_code, "sda3 is mounted on /");
	assert_int_equal(p->n_problems, 0);
	assert_false(p->disks[0].boot_code);
	assert_true(p->disks[0].boot_code_in_use);
	assert_true(any_says(p->warnings, p->n_warnings, "disk0: boot code not written: /dev/sda is in use here"));
	assert_false(lb_plan_writes(p));
	/* not as recorded: compare does not call it intact */
	assert_false(lb_plan_all_intact(p));
	lb_plan_free(p);
	f->p = NULL;

	/* not in use (the rescue system): an interrupted restore, finished */
	p = plan_with(f, &o, blank_boot_code, NULL);
	assert_true(p->disks[0].boot_code);
	assert_false(p->disks[0].boot_code_in_use);
	assert_true(lb_plan_writes(p));
}

/* ---- the steps ---------------------------------------------------------- */

/* The ordered list restore carries out: on an intact disk whose critical
 * volumes come back, the disk checked once before its first write, the
 * kernel's partitions made sure of, each volume in the manifest's order
 * (an archive extracted after its format), the marker into the root last. */
static void test_steps_in_order(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	struct lb_plan *p = plan(f, &o);
	static const struct {
		enum lb_step_kind kind;
		const char *vol;
	} want[] = {
		{ LB_STEP_CHECK_DISK, NULL },	 { LB_STEP_KERNEL_ENSURE, NULL },
		{ LB_STEP_WRITE_IMAGE, "disk0p1" }, { LB_STEP_FORMAT, "disk0p3" },
		{ LB_STEP_EXTRACT, "disk0p3" },	 { LB_STEP_MARKER, "disk0p3" },
	};

	assert_int_equal(p->n_steps, LB_ARRAY_SIZE(want));
	for (size_t i = 0; i < LB_ARRAY_SIZE(want); i++) {
		assert_int_equal(p->steps[i].kind, want[i].kind);
		assert_ptr_equal(p->steps[i].pd, &p->disks[0]);
		if (want[i].vol)
			assert_string_equal(p->steps[i].pv->vol->id, want[i].vol);
		else
			assert_null(p->steps[i].pv);
	}
	assert_null(p->no_marker);
}

/* Layout only on an intact disk: nothing to write but --marker PATH */
static void test_steps_marker_only(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false, .marker = "/tmp/marker.xml", .no_efi = true };
	struct lb_plan *p = plan(f, &o);

	assert_int_equal(p->n_steps, 1);
	assert_int_equal(p->steps[0].kind, LB_STEP_MARKER);
	assert_string_equal(p->steps[0].path, "/tmp/marker.xml");
}

/* A plan with problems has no steps: restore refuses it whole. */
static void test_no_steps_with_problems(void **state)
{
	struct fixture *f = *state;
	char *vols[] = { (char *)"nosuch" };
	struct lb_plan_opts o = { .data = true, .volumes = vols, .n_volumes = 1 };
	struct lb_plan *p = plan(f, &o);

	assert_true(p->n_problems > 0);
	assert_int_equal(p->n_steps, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_critical_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steps_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steps_marker_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_steps_with_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_data_is_layout_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_by_id_path_mountpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_are_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swap_not_as_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_file_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_blank_boot_code, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
