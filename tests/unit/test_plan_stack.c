// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for the stack in a plan (src/plan/stack.c, steps.c): the
 * arrays, LUKS containers and volume groups of fixtures/manifests/
 * valid-stack.xml are disk packs, made again whole on blank disks (with a
 * key for what is inside LUKS), kept whole on intact ones, refused when
 * mixed; the steps make each node once what it sits on is there, after
 * every table and before any volume; a container whose ciphertext was
 * captured is written back from it with no key, and what is inside comes
 * with it unmade. This machine is a fixture manifest
 * (LIFEBOAT_MACHINE): no device is touched. The LUKS header (a real one,
 * made by cryptsetup on a scratch file: the keys are tried against it) and
 * the LVM metadata are files in a temporary capture directory whose sizes
 * and checksums replace the recorded ones. */
#include <errno.h>
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
#include "manifest/manifest.h"
#include "plan/plan.h"

struct fixture {
	char dir[64];
	struct lb_manifest *m;
	struct lb_plan *p;
};

static char *fixture_path(const char *name)
{
	const char *top = getenv("LB_TOP");

	return lb_asprintf("%s/fixtures/manifests/%s", top && *top ? top : ".", name);
}

/* an artifact of the capture directory, made of TEXT, recorded as it is */
static void make_artifact(const struct fixture *f, struct lb_artifact *a, const char *text)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", f->dir, a->file);
	char sum[65];

	assert_int_equal(lb_write_file(path, text, strlen(text), 0600), 0);
	assert_int_equal(lb_sha256_buf(text, strlen(text), sum), 0);
	free(a->sha256);
	a->sha256 = lb_strdup(sum);
	a->size = strlen(text);
}

/* a real LUKS2 header whose key is KEY (the planner tries the keys
 * against it), made with cryptsetup on a scratch file */
#define KEY "the passphrase"

static void make_header(const struct fixture *f, struct lb_artifact *a)
{
	_cleanup_free_ char *img = lb_asprintf("%s/container.img", f->dir);
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	_cleanup_free_ char *hdr = lb_asprintf("%s/%s", f->dir, a->file);
	char *fmt[] = { "cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
			"--pbkdf-force-iterations", "1000", "--key-file", key, img, NULL };
	char *backup[] = { "cryptsetup", "luksHeaderBackup", img, "--header-backup-file", hdr, NULL };
	char sum[65];
	uint64_t size;

	assert_int_equal(lb_write_file(key, KEY, strlen(KEY), 0600), 0);
	assert_int_equal(lb_write_file(img, "", 0, 0600), 0);
	assert_int_equal(truncate(img, 20 << 20) == 0 ? 0 : -errno, 0);
	if (lb_run(fmt, true) != 0 || lb_run(backup, true) != 0)
		fail_msg("cryptsetup cannot make a LUKS header here");
	assert_int_equal(lb_sha256_file(hdr, sum, &size), 0);
	free(a->sha256);
	a->sha256 = lb_strdup(sum);
	a->size = size;
	unlink(img);
}

static int setup(void **state)
{
	struct fixture *f = lb_zalloc(sizeof(*f));
	_cleanup_free_ char *path = fixture_path("valid-stack.xml");

	strcpy(f->dir, "/tmp/lifeboat-test-plan-stack.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (lb_manifest_load(path, &f->m) < 0)
		fail_msg("%s", lb_errmsg());
	free(f->m->rt_dir);
	f->m->rt_dir = lb_strdup(f->dir);
	make_header(f, f->m->stack->luks[0]->header);
	make_artifact(f, f->m->stack->vgs[0]->metadata, "nas01-vg { }\n");
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
	unsetenv("LIFEBOAT_MACHINE");
	return 0;
}

static struct lb_plan *plan_on(struct fixture *f, const char *machine, struct lb_plan_opts *o)
{
	_cleanup_free_ char *path = fixture_path(machine);
	struct lb_target **targets = NULL;
	size_t n = 0;

	setenv("LIFEBOAT_MACHINE", path, 1);
	if (lb_targets_load(f->dir, false, &targets, &n) < 0)
		fail_msg("%s", lb_errmsg());
	assert_int_equal(lb_plan_build(f->m, o, targets, n, &f->p), 0);
	return f->p;
}

static const struct lb_plan_node *node(const struct lb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_nodes; i++)
		if (strcmp(p->nodes[i].id, id) == 0)
			return &p->nodes[i];
	fail_msg("no node %s in the plan", id);
	return NULL;
}

static const struct lb_plan_volume *pvol(const struct lb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_vols; i++)
		if (strcmp(p->vols[i].vol->id, id) == 0)
			return &p->vols[i];
	fail_msg("no volume %s in the plan", id);
	return NULL;
}

static bool any_says(const struct lb_plan *p, const char *what)
{
	for (size_t i = 0; i < p->n_problems; i++)
		if (strstr(p->problems[i], what))
			return true;
	return false;
}

static size_t step_at(const struct lb_plan *p, enum lb_step_kind k, const char *node_id)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == k && (!node_id || (p->steps[i].pn &&
							   strcmp(p->steps[i].pn->id, node_id) == 0)))
			return i;
	fail_msg("no %s step%s%s", lb_step_kind_name(k), node_id ? " for " : "", node_id ? node_id : "");
	return 0;
}

static void test_blank_disks_make_the_stack(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1 };
	const struct lb_plan *p = plan_on(f, "machine-stack-blank.xml", &o);
	size_t last_table = 0, first_format = SIZE_MAX;

	for (size_t i = 0; i < p->n_problems; i++)
		print_message("problem: %s\n", p->problems[i]);
	assert_int_equal(p->n_problems, 0);
	for (size_t i = 0; i < p->n_nodes; i++)
		assert_int_equal(p->nodes[i].action, LB_NODE_MAKE);
	assert_true(node(p, "luks0")->open);
	/* members are the packs', the stack's volumes are made on it */
	assert_int_equal(pvol(p, "disk0p2")->action, LB_VOL_NOTHING);
	assert_int_equal(pvol(p, "disk1p1")->action, LB_VOL_NOTHING);
	assert_int_equal(pvol(p, "md0")->action, LB_VOL_FORMAT);
	assert_int_equal(pvol(p, "lv0")->action, LB_VOL_FORMAT);
	assert_int_equal(pvol(p, "lv1")->action, LB_VOL_FORMAT);
	/* bottom up, after every table, before any volume */
	for (size_t i = 0; i < p->n_steps; i++) {
		if (p->steps[i].kind == LB_STEP_TELL_KERNEL)
			last_table = i;
		if (p->steps[i].kind == LB_STEP_FORMAT && first_format == SIZE_MAX)
			first_format = i;
	}
	assert_true(last_table < step_at(p, LB_STEP_MAKE_MD, "md0"));
	assert_true(step_at(p, LB_STEP_MAKE_MD, "md1") < step_at(p, LB_STEP_MAKE_LUKS, "luks0"));
	assert_true(step_at(p, LB_STEP_MAKE_LUKS, "luks0") < step_at(p, LB_STEP_OPEN_LUKS, "luks0"));
	assert_true(step_at(p, LB_STEP_OPEN_LUKS, "luks0") < step_at(p, LB_STEP_MAKE_VG, "vg0"));
	assert_true(step_at(p, LB_STEP_MAKE_VG, "vg0") < first_format);
	/* the marker goes into the root on the LV */
	assert_ptr_equal(p->steps[step_at(p, LB_STEP_MARKER, NULL)].pv, pvol(p, "lv0"));
}

static void test_no_key_no_steps(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	const struct lb_plan *p = plan_on(f, "machine-stack-blank.xml", &o);

	assert_true(any_says(p, "luks0: what is inside the LUKS container is made again"));
	assert_true(any_says(p, "--key-file FILE"));
	assert_int_equal(p->n_steps, 0);
}

static void test_intact_disks_keep_the_stack(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	const struct lb_plan *p = plan_on(f, "valid-stack.xml", &o);

	assert_int_equal(p->n_problems, 0);
	for (size_t i = 0; i < p->n_nodes; i++)
		assert_int_equal(p->nodes[i].action, LB_NODE_KEEP);
	assert_int_equal(pvol(p, "disk0p1")->action, LB_VOL_KEEP);
	assert_int_equal(pvol(p, "lv0")->action, LB_VOL_KEEP);
	assert_int_equal(p->n_steps, 0);
	assert_true(lb_plan_all_intact(p));
}

static const struct lb_plan_disk *pdisk(const struct lb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (strcmp(p->disks[i].disk->id, id) == 0)
			return &p->disks[i];
	fail_msg("no disk %s in the plan", id);
	return NULL;
}

/* ASR: one member disk recreated, the whole pack is made again, and with
 * it every disk of the pack (disk0 is intact: recreated all the same) */
static void test_one_recreated_disk_makes_the_whole_pack(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1 };
	const struct lb_plan *p = plan_on(f, "machine-stack-mixed.xml", &o);

	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pdisk(p, "disk0")->verdict, LB_VERDICT_RECREATE);
	assert_non_null(strstr(pdisk(p, "disk0")->why, "is made again whole: disk1 is recreated"));
	assert_int_equal(pdisk(p, "disk1")->verdict, LB_VERDICT_RECREATE);
	for (size_t i = 0; i < p->n_nodes; i++)
		assert_int_equal(p->nodes[i].action, LB_NODE_MAKE);
	assert_int_equal(pvol(p, "lv0")->action, LB_VOL_FORMAT);
	assert_true(step_at(p, LB_STEP_WRITE_TABLE, NULL) < step_at(p, LB_STEP_MAKE_MD, "md1"));
}

/* a member wiped on an intact disk (its table as recorded): the pack is
 * not intact, and is made again whole, every disk of it */
static void test_wiped_member_makes_the_whole_pack(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1 };
	const struct lb_plan *p = plan_on(f, "machine-stack-wiped.xml", &o);

	assert_int_equal(p->n_problems, 0);
	for (size_t i = 0; i < p->n_disks; i++)
		assert_int_equal(p->disks[i].verdict, LB_VERDICT_RECREATE);
	assert_non_null(strstr(pdisk(p, "disk0")->why, "disk1p2 no longer holds its linux_raid_member"));
	for (size_t i = 0; i < p->n_nodes; i++)
		assert_int_equal(p->nodes[i].action, LB_NODE_MAKE);
	step_at(p, LB_STEP_MAKE_VG, "vg0");
}

/* an intact machine: excluding one member disk of a pack holding / is
 * refused (the disk holds no critical volume of its own) */
static void test_excluding_a_member_of_a_critical_pack(void **state)
{
	struct fixture *f = *state;
	char *excl[] = { "disk1" };
	struct lb_plan_opts o = { .data = true, .exclude = excl, .n_exclude = 1 };
	const struct lb_plan *p = plan_on(f, "valid-stack.xml", &o);

	assert_true(any_says(p, "--exclude-disk disk1: it holds a volume the system needs to boot"));
	assert_true(p->usage_error);
}

/* --exclude-volume: a critical volume is refused, an unknown one is a
 * usage error, any other excludes every disk it lives on */
static void test_exclude_volume(void **state)
{
	struct fixture *f = *state;
	char *crit[] = { "/" }, *unknown[] = { "lv9" }, *lv0[] = { "lv0" };
	struct lb_plan_opts o = { .data = true, .exclude_volumes = crit, .n_exclude_volumes = 1 };
	const struct lb_plan *p = plan_on(f, "valid-stack.xml", &o);
	struct lb_stack *s = f->m->stack;

	assert_true(any_says(p, "--exclude-volume /: lv0 is a volume the system needs to boot"));
	assert_true(p->usage_error);
	lb_plan_free(f->p);
	o.exclude_volumes = unknown;
	p = plan_on(f, "valid-stack.xml", &o);
	assert_true(any_says(p, "--exclude-volume lv9: no such volume in the capture"));
	lb_plan_free(f->p);
	/* nothing critical any more: lv0's disks (those of vg0's PV, through
	 * luks0 and md1) are excluded, and its pack with them */
	s->mds[0]->volume->critical = false;
	for (size_t i = 0; i < s->vgs[0]->n_lvs; i++)
		s->vgs[0]->lvs[i]->volume->critical = false;
	o.exclude_volumes = lv0;
	p = plan_on(f, "machine-stack-blank.xml", &o);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(pdisk(p, "disk0")->verdict, LB_VERDICT_EXCLUDED);
	assert_string_equal(pdisk(p, "disk1")->why, "--exclude-volume lv0");
	assert_int_equal(node(p, "vg0")->action, LB_NODE_SKIP);
	assert_int_equal(p->n_steps, 0);
}

static void test_excluded_member_disk(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	char *excl[] = { "disk1" };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1,
				  .exclude = excl, .n_exclude = 1 };
	const struct lb_plan *p = plan_on(f, "machine-stack-blank.xml", &o);

	/* disk1 holds critical volumes (through the stack): refused */
	assert_true(any_says(p, "--exclude-disk disk1: it holds a volume the system needs to boot"));
	assert_true(any_says(p, "md1: lives on disk1, which is excluded"));
	assert_int_equal(node(p, "vg0")->action, LB_NODE_SKIP);
	assert_int_equal(p->n_steps, 0);
}

static void test_damaged_header_stops_it(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1 };
	_cleanup_free_ char *path = lb_asprintf("%s/luks0.header", f->dir);
	const struct lb_plan *p;

	assert_int_equal(lb_write_file(path, "A LUKS header\n", 14, 0600), 0);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	assert_true(any_says(p, "luks0: "));
	assert_int_equal(p->n_steps, 0);
}

static void test_wrong_key_stops_it(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *wrong = lb_asprintf("%s/wrong", f->dir);
	char *keys[] = { wrong };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1 };
	const struct lb_plan *p;

	assert_int_equal(lb_write_file(wrong, "not it", 6, 0600), 0);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	assert_true(any_says(p, "luks0: none of the --key-file keys opens its recorded LUKS header"));
	assert_int_equal(p->n_steps, 0);
}

/* vg0 with a thin pool: lv0 (root, with data) a thin volume in it, and a
 * thin snapshot "snap", inactive at capture: no volume, no data */
static void make_thin(struct fixture *f)
{
	struct lb_vg *vg = f->m->stack->vgs[0];
	struct lb_lv *root = vg->lvs[0], *pool = lb_lv_new(), *snap = lb_lv_new();

	free(root->segtype);
	root->segtype = lb_strdup("thin");
	root->pool = lb_strdup("pool");
	root->volume->data = lb_artifact_new();
	root->volume->data->file = lb_strdup("lv0.data");
	make_artifact(f, root->volume->data, "the root's data\n");
	pool->id = lb_strdup("lv8");
	pool->name = lb_strdup("pool");
	pool->uuid = lb_strdup("3dbq5T-JADn-YUGA-nOXq-WBMd-EHZ8-rqGliB");
	pool->segtype = lb_strdup("thin-pool");
	pool->size = 98304;
	pool->active = true;
	lb_vg_add_lv(vg, pool);
	snap->id = lb_strdup("lv9");
	snap->name = lb_strdup("snap");
	snap->uuid = lb_strdup("NxYO2o-3uHf-mKSz-Cz56-3X0n-2Lnt-JExWUO");
	snap->segtype = lb_strdup("thin");
	snap->pool = lb_strdup("pool");
	snap->size = 57344;
	lb_vg_add_lv(vg, snap);
}

#define THIN_REFUSED "thin pool pool: the capture holds the data of root but not of snap (not active"

/* a pool whose data comes back must come back whole: a thin volume
 * without data would be made empty, so the plan refuses */
static void test_thin_pool_without_all_its_data(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	struct lb_plan_opts o = { .data = true, .key_files = keys, .n_key_files = 1 };
	const struct lb_plan *p;

	make_thin(f);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	for (size_t i = 0; i < p->n_problems; i++)
		print_message("problem: %s\n", p->problems[i]);
	assert_int_equal(node(p, "vg0")->action, LB_NODE_MAKE);
	assert_true(any_says(p, THIN_REFUSED));
}

/* with --no-data nothing of the pool's data comes back: no refusal; nor
 * when the snapshot has its data too */
static void test_thin_pool_layout_only_or_whole(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *key = lb_asprintf("%s/key", f->dir);
	char *keys[] = { key };
	struct lb_plan_opts o = { .data = false, .key_files = keys, .n_key_files = 1 };
	struct lb_vg *vg;
	const struct lb_plan *p;

	make_thin(f);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	assert_int_equal(node(p, "vg0")->action, LB_NODE_MAKE);
	assert_false(any_says(p, "thin pool"));
	lb_plan_free(f->p);
	f->p = NULL;
	/* the snapshot active at capture, with its data */
	vg = f->m->stack->vgs[0];
	vg->lvs[vg->n_lvs - 1]->active = true;
	vg->lvs[vg->n_lvs - 1]->volume = vg->lvs[0]->volume;
	o.data = true;
	p = plan_on(f, "machine-stack-blank.xml", &o);
	vg->lvs[vg->n_lvs - 1]->volume = NULL;	/* (lv0's, freed with it) */
	assert_false(any_says(p, "thin pool pool: the capture"));
}

/* a captured ciphertext for luks0 (not a real image: the plan does not
 * read it; lb_plan_check_data does, and refuses it) */
static void add_ciphertext(struct fixture *f)
{
	struct lb_luks *l = f->m->stack->luks[0];

	l->ciphertext = lb_artifact_new();
	l->ciphertext->file = lb_strdup("luks0.data");
	make_artifact(f, l->ciphertext, "not an image\n");
}

static bool has_step(const struct lb_plan *p, enum lb_step_kind k)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == k)
			return true;
	return false;
}

static void test_ciphertext_needs_no_key(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = true };
	struct lb_plan *p;

	add_ciphertext(f);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	for (size_t i = 0; i < p->n_problems; i++)
		print_message("problem: %s\n", p->problems[i]);
	assert_int_equal(p->n_problems, 0);
	assert_int_equal(node(p, "md1")->action, LB_NODE_MAKE);
	assert_int_equal(node(p, "luks0")->action, LB_NODE_MAKE);
	assert_true(node(p, "luks0")->ciphertext);
	assert_false(node(p, "luks0")->open);
	/* the group and its LVs come back inside the ciphertext, unmade */
	assert_int_equal(node(p, "vg0")->action, LB_NODE_CIPHERTEXT);
	assert_int_equal(pvol(p, "lv0")->action, LB_VOL_CIPHERTEXT);
	assert_int_equal(pvol(p, "lv1")->action, LB_VOL_CIPHERTEXT);
	assert_int_equal(pvol(p, "md0")->action, LB_VOL_FORMAT);
	assert_true(step_at(p, LB_STEP_MAKE_MD, "md1") < step_at(p, LB_STEP_MAKE_LUKS, "luks0"));
	assert_true(step_at(p, LB_STEP_MAKE_LUKS, "luks0") <
		    step_at(p, LB_STEP_WRITE_CIPHERTEXT, "luks0"));
	assert_false(has_step(p, LB_STEP_OPEN_LUKS));
	assert_false(has_step(p, LB_STEP_MAKE_VG));
	/* the root is inside it, never opened: no marker there, said why */
	assert_non_null(p->no_marker);
	assert_non_null(strstr(p->no_marker, "lv0: the root volume comes back inside LUKS ciphertext"));
	/* the data is checked before any write: this is no image */
	assert_true(lb_plan_check_data(p, true) < 0);
	assert_true(any_says(p, "luks0: its ciphertext is damaged"));
}

static void test_ciphertext_unused_with_no_data(void **state)
{
	struct fixture *f = *state;
	struct lb_plan_opts o = { .data = false };
	const struct lb_plan *p;

	add_ciphertext(f);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	/* --no-data: what is inside is made again, and that needs the key */
	assert_false(node(p, "luks0")->ciphertext);
	assert_int_equal(node(p, "vg0")->action, LB_NODE_MAKE);
	assert_true(any_says(p, "luks0: what is inside the LUKS container is made again"));
}

/* the fixture's artifacts without a file are its volumes' data files:
 * taken as encrypted already (as capture writes them) */
static int mark_data(struct lb_artifact *a, void *ud)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", (const char *)ud, a->file);

	if (access(path, F_OK) < 0)
		a->encrypted = true;
	return 0;
}

/* An encrypted capture (its LUKS header and LVM metadata sealed, as
 * capture --encrypt leaves them): without its key the plan refuses before
 * any step, naming what it cannot read; with it (among the LUKS key) the
 * LUKS key is tried against the header opened in memory, and the plan is
 * sound. */
static void test_encrypted_capture(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *luks_key = lb_asprintf("%s/key", f->dir);
	_cleanup_free_ char *cap_key = lb_asprintf("%s/capture.key", f->dir);
	struct lb_kdf kdf = { .time = 1, .memory = 64, .lanes = 1 };
	struct lb_key key;
	char *only_luks[] = { luks_key }, *both[] = { luks_key, cap_key };
	struct lb_plan_opts o = { .data = true, .key_files = only_luks, .n_key_files = 1 };
	const struct lb_plan *p;
	_cleanup_free_ char *text = NULL;
	struct lb_manifest *m = NULL;
	size_t len = 0;

	memset(kdf.salt, 7, sizeof(kdf.salt));
	assert_int_equal(lb_write_file(cap_key, "capture secret\n", 15, 0600), 0);
	assert_int_equal(lb_key_from_file(cap_key, &kdf, &key), 0);
	lb_manifest_foreach_artifact(f->m, mark_data, f->dir);
	assert_int_equal(lb_manifest_seal_artifacts(f->m, f->dir, &key), 0);
	lb_manifest_encrypted(f->m, &kdf, &key);
	assert_true(f->m->stack->luks[0]->header->encrypted);
	/* written with its MAC and read back, as capture leaves it */
	lb_manifest_mac_prepare(f->m);
	assert_int_equal(lb_manifest_write_mem(f->m, &text, &len), 0);
	assert_int_equal(lb_manifest_mac_fill(&key, text, len), 0);
	assert_int_equal(lb_manifest_load_mem(text, len, "manifest.xml", &m), 0);
	m->rt_dir = lb_strdup(f->dir);
	lb_manifest_free(f->m);
	f->m = m;
	/* a changed byte of it: the key is right, the manifest is not */
	memcpy(strstr(text, "nas01"), "nas02", 5);
	assert_int_equal(lb_manifest_load_mem(text, len, "manifest.xml", &m), 0);
	assert_int_equal(lb_manifest_unlock(m, both, 2), -EBADMSG);
	assert_non_null(strstr(lb_errmsg(), "tampered"));
	lb_manifest_free(m);

	/* the LUKS key opens no capture */
	assert_int_equal(lb_manifest_unlock(f->m, only_luks, 1), 0);
	p = plan_on(f, "machine-stack-blank.xml", &o);
	assert_true(any_says(p, "the capture is encrypted and none of the 1 --key-file key opens it"));
	assert_int_equal(p->n_steps, 0);

	assert_int_equal(lb_manifest_unlock(f->m, both, 2), 1);
	lb_plan_free(f->p);
	f->p = NULL;
	o.key_files = both;
	o.n_key_files = 2;
	p = plan_on(f, "machine-stack-blank.xml", &o);
	for (size_t i = 0; i < p->n_problems; i++)
		print_message("problem: %s\n", p->problems[i]);
	assert_int_equal(p->n_problems, 0);
	assert_true(node(p, "luks0")->open);
	assert_true(p->n_steps > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blank_disks_make_the_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_key_no_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intact_disks_keep_the_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_recreated_disk_makes_the_whole_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wiped_member_makes_the_whole_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_excluding_a_member_of_a_critical_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclude_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_excluded_member_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_header_stops_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_stops_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thin_pool_without_all_its_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thin_pool_layout_only_or_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ciphertext_needs_no_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ciphertext_unused_with_no_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_capture, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
