// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The stack in a plan: each MD array, LUKS container and LVM volume group
 * is a disk pack (ASR's rule): made again whole when every disk it lives
 * on is recreated, left alone whole when every one is intact; anything in
 * between (a member disk excluded, missing, or intact beside a recreated
 * one) is a problem, never half a pack. The members' own volumes
 * (linux_raid_member, crypto_LUKS, LVM2_member on a partition) are the
 * pack's business, not something to format.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "plan/internal.h"

static const char *const node_action_names[] = {
	[LB_NODE_KEEP] = "keep",
	[LB_NODE_MAKE] = "make",
	[LB_NODE_SKIP] = "skip",
	[LB_NODE_CIPHERTEXT] = "in-ciphertext",
};

const char *lb_node_action_name(enum lb_node_action a)
{
	return node_action_names[a];
}

struct disk_count {
	const struct lb_plan *p;
	size_t recreate, intact, other;
	const struct lb_plan_disk *first, *other_pd;
};

static struct lb_plan_disk *plan_disk_of(const struct lb_plan *p, const struct lb_disk *d)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].disk == d)
			return &p->disks[i];
	return NULL;
}

static int count_disk(struct lb_disk *d, void *ud)
{
	struct disk_count *c = ud;
	const struct lb_plan_disk *pd = plan_disk_of(c->p, d);

	if (!pd)
		return -ENOENT;
	if (!c->first)
		c->first = pd;
	if (pd->verdict == LB_VERDICT_RECREATE) {
		c->recreate++;
	} else if (pd->verdict == LB_VERDICT_INTACT) {
		c->intact++;
	} else {
		c->other++;
		c->other_pd = pd;
	}
	return 0;
}

/* The first plan disk a stack device lives on (for a stack volume's pd). */
struct lb_plan_disk *lb_plan_node_disk(const struct lb_plan *p, const char *id)
{
	struct disk_count c = { .p = p };

	lb_dev_foreach_disk(p->m, id, count_disk, &c);
	return (struct lb_plan_disk *)c.first;
}

/* every disk a node lives on (a group: those of its PVs) */
static int count_node_disks(const struct lb_plan *p, const struct lb_plan_node *pn, struct disk_count *c)
{
	int r = 0;

	if (!pn->vg)
		return lb_dev_foreach_disk(p->m, pn->id, count_disk, c);
	for (size_t i = 0; i < pn->vg->n_pvs && r >= 0; i++)
		r = lb_dev_foreach_disk(p->m, pn->vg->pvs[i]->on, count_disk, c);
	return r;
}

static void decide(struct lb_plan *p, struct lb_plan_node *pn)
{
	struct disk_count c = { .p = p };

	if (count_node_disks(p, pn, &c) < 0 || !c.first) {
		pn->action = LB_NODE_SKIP;
		pn->why = lb_strdup("not on the captured disks");
		lb_plan_problem(p, "%s: not every device it lives on is in the capture", pn->id);
		return;
	}
	if (c.other) {
		pn->action = LB_NODE_SKIP;
		pn->why = lb_asprintf("%s is %s", c.other_pd->disk->id, lb_verdict_name(c.other_pd->verdict));
		if (c.recreate)
			lb_plan_problem(p, "%s: lives on %s, which is %s: an array or group is made again "
					   "whole or not at all",
					pn->id, c.other_pd->disk->id, lb_verdict_name(c.other_pd->verdict));
	} else if (c.recreate && c.intact) {
		pn->action = LB_NODE_SKIP;
		pn->why = lb_strdup("on intact and recreated disks");
		lb_plan_problem(p, "%s: lives on intact and recreated disks: an array or group is made "
				   "again whole or not at all (bring the intact one back into it with its "
				   "own tools, or --exclude-disk the new one)",
				pn->id);
	} else if (c.recreate) {
		pn->action = LB_NODE_MAKE;
		pn->why = lb_strdup("its disks are recreated");
	} else if (lb_journal_has(p->unfinished, p->n_unfinished, pn->id)) {
		/* begun by a restore that was stopped: not known to be whole */
		pn->action = LB_NODE_MAKE;
		pn->why = lb_strdup("left unfinished by an interrupted restore");
	} else {
		pn->action = LB_NODE_KEEP;
		pn->why = lb_strdup("its disks are intact");
	}
}

static struct lb_plan_node *add_node(struct lb_plan *p, enum lb_dev_kind kind, const char *id)
{
	struct lb_plan_node *pn;

	p->nodes = lb_realloc_array(p->nodes, p->n_nodes + 1, sizeof(*p->nodes));
	pn = &p->nodes[p->n_nodes++];
	memset(pn, 0, sizeof(*pn));
	pn->kind = kind;
	pn->id = id;
	return pn;
}

static bool lv_has_data(const struct lb_lv *lv)
{
	return lv->volume && lv->volume->data;
}

/* A thin pool being made comes back exactly or not at all: its thin
 * volumes are made empty (restore/stack-thin.c) and get their data from
 * the capture, so when the pool's data is restored, every one of them
 * needs its own (a thin snapshot is inactive unless activated, and then
 * has none). Making a pool takes dmsetup's messages. */
static void check_thin(struct lb_plan *p, const struct lb_plan_node *pn, bool data)
{
	const struct lb_vg *vg = pn->vg;

	for (size_t i = 0; i < vg->n_lvs; i++) {
		const struct lb_lv *pool = vg->lvs[i];
		const struct lb_lv *with = NULL, *without = NULL;

		if (strcmp(pool->segtype, "thin-pool") != 0)
			continue;
		if (!lb_program_exists("dmsetup"))
			lb_plan_problem(p, "%s: thin pool %s: dmsetup is needed to make it and is not "
					   "installed", pn->id, pool->name);
		for (size_t j = 0; j < vg->n_lvs; j++) {
			const struct lb_lv *lv = vg->lvs[j];

			if (strcmp(lv->segtype, "thin") != 0 || !lv->pool ||
			    strcmp(lv->pool, pool->name) != 0)
				continue;
			if (lv_has_data(lv))
				with = with ? with : lv;
			else
				without = without ? without : lv;
		}
		if (data && with && without)
			lb_plan_problem(p, "%s: thin pool %s: the capture holds the data of %s but not of "
					   "%s (%s at capture): made again, the pool would give it back empty; "
					   "capture again with it active (lvchange -ay -K %s/%s), or "
					   "restore with --no-data",
					pn->id, pool->name, with->name, without->name,
					without->active ? "no filesystem" : "not active", vg->name,
					without->name);
	}
}

/* Whether everything node pn sits on is inside ciphertext written back:
 * a device of a container whose ciphertext is written, or of a node that
 * comes back with one. */
static bool inside_ciphertext(const struct lb_plan *p, const struct lb_plan_node *pn)
{
	const char *on[64];
	size_t n = 0;

	for (size_t i = 0; pn->md && i < pn->md->n_members && n < LB_ARRAY_SIZE(on); i++)
		on[n++] = pn->md->members[i]->on;
	if (pn->luks)
		on[n++] = pn->luks->on;
	for (size_t i = 0; pn->vg && i < pn->vg->n_pvs && n < LB_ARRAY_SIZE(on); i++)
		on[n++] = pn->vg->pvs[i]->on;
	for (size_t i = 0; i < n; i++) {
		const struct lb_plan_node *under = lb_plan_node_of(p, on[i]);

		if (!under || !(under->ciphertext || under->action == LB_NODE_CIPHERTEXT))
			return false;
	}
	return n > 0;
}

/* A LUKS container made again whose ciphertext was captured gets it back:
 * everything inside it (a filesystem, or a PV with its group and LVs)
 * comes with it, made by nobody, and needs no key. */
static void mark_ciphertext(struct lb_plan *p)
{
	bool more = true;

	for (size_t i = 0; i < p->n_nodes; i++)
		p->nodes[i].ciphertext = p->nodes[i].luks && p->nodes[i].action == LB_NODE_MAKE &&
					 p->nodes[i].luks->ciphertext;
	while (more) {
		more = false;
		for (size_t i = 0; i < p->n_nodes; i++) {
			struct lb_plan_node *pn = &p->nodes[i];

			if (pn->action != LB_NODE_MAKE || !inside_ciphertext(p, pn))
				continue;
			pn->action = LB_NODE_CIPHERTEXT;
			pn->ciphertext = false;
			free(pn->why);
			pn->why = lb_strdup("inside a LUKS container's ciphertext: it comes back with it");
			more = true;
		}
	}
}

void lb_plan_stack_nodes(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	const struct lb_stack *s = p->m->stack;

	p->key_files = opts->key_files;
	p->n_key_files = opts->n_key_files;
	if (!s)
		return;
	/* the array stays where it is: volumes point into it */
	p->nodes = lb_zalloc(sizeof(*p->nodes) * (s->n_mds + s->n_luks + s->n_vgs + 1));
	for (size_t i = 0; i < s->n_mds; i++)
		add_node(p, LB_DEV_MD, s->mds[i]->id)->md = s->mds[i];
	for (size_t i = 0; i < s->n_luks; i++)
		add_node(p, LB_DEV_LUKS, s->luks[i]->id)->luks = s->luks[i];
	for (size_t i = 0; i < s->n_vgs; i++)
		add_node(p, LB_DEV_LV, s->vgs[i]->id)->vg = s->vgs[i];
	for (size_t i = 0; i < p->n_nodes; i++)
		decide(p, &p->nodes[i]);
	if (opts->data)
		mark_ciphertext(p);
	/* (a group inside ciphertext written back comes with it, not made) */
	for (size_t i = 0; i < p->n_nodes; i++)
		if (p->nodes[i].vg && p->nodes[i].action == LB_NODE_MAKE)
			check_thin(p, &p->nodes[i], opts->data);
}

/* The node whose device ID is, or that holds the LV ID. */
struct lb_plan_node *lb_plan_node_of(const struct lb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		struct lb_plan_node *pn = &p->nodes[i];

		if (strcmp(pn->id, id) == 0)
			return pn;
		for (size_t j = 0; pn->vg && j < pn->vg->n_lvs; j++)
			if (strcmp(pn->vg->lvs[j]->id, id) == 0)
				return pn;
	}
	return NULL;
}

/* The node that uses device ID as a member, container or PV. */
struct lb_plan_node *lb_plan_node_using(const struct lb_plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		struct lb_plan_node *pn = &p->nodes[i];

		for (size_t j = 0; pn->md && j < pn->md->n_members; j++)
			if (strcmp(pn->md->members[j]->on, id) == 0)
				return pn;
		if (pn->luks && strcmp(pn->luks->on, id) == 0)
			return pn;
		for (size_t j = 0; pn->vg && j < pn->vg->n_pvs; j++)
			if (strcmp(pn->vg->pvs[j]->on, id) == 0)
				return pn;
	}
	return NULL;
}

/* Before the first write: what making a node takes is here, its artifact
 * as recorded. */
static void check_node(struct lb_plan *p, const struct lb_plan_node *pn)
{
	const struct lb_artifact *a = pn->luks ? pn->luks->header : pn->vg ? pn->vg->metadata : NULL;
	const char *tool = pn->md ? "mdadm" : pn->vg ? "lvm" : NULL;

	if (pn->action != LB_NODE_MAKE)
		return;
	/* (LIFEBOAT_MACHINE plans for another machine: not this kernel's) */
	if (pn->md && !getenv("LIFEBOAT_MACHINE") && access("/proc/mdstat", F_OK) < 0)
		lb_plan_problem(p, "%s: this kernel has no MD RAID (no /proc/mdstat; modprobe md_mod)",
				pn->id);
	/* (a LUKS header and its ciphertext are written without the kernel's
	 * help: opening it needs device-mapper) */
	if (!pn->md && !(pn->luks && !pn->open) && !getenv("LIFEBOAT_MACHINE") &&
	    access("/dev/mapper/control", F_OK) < 0)
		lb_plan_problem(p, "%s: this kernel has no device-mapper (no /dev/mapper/control; "
				   "modprobe dm_mod%s)",
				pn->id, pn->luks ? " dm_crypt" : "");
	if (tool && !lb_program_exists(tool))
		lb_plan_problem(p, "%s: %s is needed to make it and is not installed", pn->id, tool);
	if (pn->luks && !a)
		lb_plan_problem(p, "%s: the capture holds no LUKS header for it", pn->id);
	if (pn->vg && !a)
		lb_plan_problem(p, "%s: the capture holds no LVM metadata for it", pn->id);
	if (a && lb_artifact_verify(p->m, a) < 0)
		lb_plan_problem(p, "%s: %s", pn->id, lb_errmsg());
}

/* Before the first write: a key given opens the recorded header (a wrong
 * one would stop the restore after the disks were recreated). */
static void check_keys(struct lb_plan *p, const struct lb_plan_node *pn)
{
	const struct lb_artifact *a = pn->luks->header;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;

	if (!a || lb_artifact_verify(p->m, a) < 0)
		return;	/* (check_node says so) */
	if (a->encrypted) {
		/* the header opened, in memory only (the capture's key is checked
		 * for the whole plan: lb_plan_build_steps) */
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len = 0;

		if (!a->rt_key)
			return;
		if (lb_artifact_load(p->m, a, &buf, &len) < 0) {
			lb_plan_problem(p, "%s: %s", pn->id, lb_errmsg());
			return;
		}
		fd = memfd_create("lifeboat-luks-header", MFD_CLOEXEC);
		if (fd < 0 || lb_pwrite_all(fd, buf, len, 0) < 0) {
			lb_plan_problem(p, "%s: cannot hold its LUKS header in memory", pn->id);
			return;
		}
		path = lb_asprintf("/proc/self/fd/%d", fd);
	} else {
		path = lb_asprintf("%s/%s", p->m->rt_dir, a->file);
	}
	for (size_t i = 0; i < p->n_key_files; i++)
		if (lb_luks_key_opens(path, p->key_files[i]) > 0)
			return;
	lb_plan_problem(p, "%s: none of the --key-file keys opens its recorded LUKS header", pn->id);
}

/* A LUKS container being made is opened when anything in it is made: its
 * own volume, or a layer on it. That needs a key. */
void lb_plan_stack_keys(struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		struct lb_plan_node *pn = &p->nodes[i];
		const struct lb_plan_node *up;

		if (pn->kind != LB_DEV_LUKS || pn->action != LB_NODE_MAKE)
			continue;
		up = lb_plan_node_using(p, pn->id);
		pn->open = up && up->action == LB_NODE_MAKE;
		for (size_t j = 0; j < p->n_vols && !pn->open; j++)
			pn->open = p->vols[j].node == pn && lb_plan_volume_writes(&p->vols[j]);
		if (pn->open && !p->n_key_files)
			lb_plan_problem(p, "%s: what is inside the LUKS container is made again, and that "
					   "needs its passphrase or key: --key-file FILE",
					pn->id);
		else if (pn->open)
			check_keys(p, pn);
	}
	for (size_t i = 0; i < p->n_nodes; i++)
		check_node(p, &p->nodes[i]);
}

void lb_plan_free_nodes(struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_nodes; i++)
		free(p->nodes[i].why);
	free(p->nodes);
}
