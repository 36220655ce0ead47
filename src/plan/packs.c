// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Disk packs (ASR's rules for dynamic disks, here MD arrays, LUKS
 * containers and LVM volume groups) and the disks they put together:
 *
 * - A pack is made again whole or left alone whole. When one disk it
 *   lives on is recreated, or one of its members on an intact disk no
 *   longer carries the recorded signature (wiped, or made into something
 *   else), every other disk of the pack is recreated too (and whatever
 *   else those disks hold with it, as ASR does), repeated until no pack is
 *   left half made. A disk that cannot be written (in use here, holding
 *   the capture, excluded) then leaves the pack half made, which
 *   stack.c refuses.
 * - A disk holds a critical volume also when a critical volume lives on
 *   it through the stack (root on an LV on an array with a member on it):
 *   excluding it is refused.
 * - --exclude-volume V excludes every disk V lives on (ASR's "exclude all
 *   disks of a volume"); refused for a critical volume.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "plan/internal.h"

struct disk_set {
	const struct lb_plan *p;
	struct lb_plan_disk **pds;
	size_t n;
	const struct lb_disk *want;	/* lives_on: the disk looked for */
};

static int add_disk(struct lb_disk *d, void *ud)
{
	struct disk_set *s = ud;

	for (size_t i = 0; i < s->p->n_disks; i++) {
		struct lb_plan_disk *pd = &s->p->disks[i];

		if (pd->disk != d)
			continue;
		for (size_t j = 0; j < s->n; j++)
			if (s->pds[j] == pd)
				return 0;
		s->pds = lb_realloc_array(s->pds, s->n + 1, sizeof(*s->pds));
		s->pds[s->n++] = pd;
		return 0;
	}
	return 0;
}

static int is_want(struct lb_disk *d, void *ud)
{
	const struct disk_set *s = ud;

	return d == s->want ? 1 : 0;
}

/* Every volume of the capture, each once: fn's first non-zero ends it. */
static int foreach_volume(const struct lb_manifest *m, int (*fn)(struct lb_volume *, void *),
			  void *ud)
{
	const struct lb_stack *s = m->stack;
	int r = 0;

	for (size_t i = 0; i < m->n_disks && !r; i++) {
		const struct lb_disk *d = m->disks[i];

		if (d->volume)
			r = fn(d->volume, ud);
		for (size_t j = 0; j < d->n_parts && !r; j++)
			if (d->parts[j]->volume)
				r = fn(d->parts[j]->volume, ud);
	}
	for (size_t i = 0; s && i < s->n_mds && !r; i++)
		if (s->mds[i]->volume)
			r = fn(s->mds[i]->volume, ud);
	for (size_t i = 0; s && i < s->n_luks && !r; i++)
		if (s->luks[i]->volume)
			r = fn(s->luks[i]->volume, ud);
	for (size_t i = 0; s && i < s->n_vgs && !r; i++)
		for (size_t j = 0; j < s->vgs[i]->n_lvs && !r; j++)
			if (s->vgs[i]->lvs[j]->volume)
				r = fn(s->vgs[i]->lvs[j]->volume, ud);
	return r;
}

struct critical_walk {
	const struct lb_manifest *m;
	struct disk_set set;
};

static int critical_on(struct lb_volume *v, void *ud)
{
	struct critical_walk *w = ud;

	if (!v->critical)
		return 0;
	return lb_dev_foreach_disk(w->m, v->id, is_want, &w->set) > 0 ? 1 : 0;
}

bool lb_plan_disk_critical(const struct lb_manifest *m, const struct lb_disk *d)
{
	struct critical_walk w = { .m = m, .set = { .want = d } };

	if (lb_disk_is_critical(d))
		return true;
	return m->stack && foreach_volume(m, critical_on, &w) > 0;
}

/* ---- --exclude-volume ---------------------------------------------------- */

struct name_walk {
	const struct lb_manifest *m;
	const char *name;
	struct lb_volume *hit;
	size_t n;
};

/* the recorded device path of a volume's device, when it has one */
static const char *volume_path(const struct lb_manifest *m, const struct lb_volume *v)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(m, v->id);

	switch (ref.kind) {
	case LB_DEV_DISK:
		return ref.disk->path;
	case LB_DEV_PARTITION:
		return ref.part->path;
	case LB_DEV_MD:
		return ref.md->path;
	default:
		return NULL;
	}
}

static int name_matches(struct lb_volume *v, void *ud)
{
	struct name_walk *w = ud;
	const char *path = volume_path(w->m, v);

	if (strcmp(w->name, v->id) == 0 || (path && strcmp(w->name, path) == 0) ||
	    (v->mountpoint && strcmp(w->name, v->mountpoint) == 0)) {
		w->hit = v;
		w->n++;
	}
	return 0;
}

static void exclude_volume(struct lb_plan *p, const char *name)
{
	struct name_walk w = { .m = p->m, .name = name };
	struct disk_set set = { .p = p };

	foreach_volume(p->m, name_matches, &w);
	if (w.n != 1) {
		lb_plan_problem(p, w.n ? "--exclude-volume %s: names %zu volumes; give a volume id"
				       : "--exclude-volume %s: no such volume in the capture (give a volume "
					 "id such as lv0, its recorded device path or its mount point)",
				name, w.n);
		p->usage_error = true;
		return;
	}
	if (w.hit->critical) {
		lb_plan_problem(p, "--exclude-volume %s: %s is a volume the system needs to boot", name,
				w.hit->id);
		p->usage_error = true;
		return;
	}
	if (lb_dev_foreach_disk(p->m, w.hit->id, add_disk, &set) < 0) {
		lb_plan_problem(p, "--exclude-volume %s: %s", name, lb_errmsg());
		p->usage_error = true;
	}
	for (size_t i = 0; i < set.n; i++) {
		struct lb_plan_disk *pd = set.pds[i];

		if (lb_plan_disk_critical(p->m, pd->disk)) {
			lb_plan_problem(p, "--exclude-volume %s: %s lives on %s, which holds a volume the "
					   "system needs to boot",
					name, w.hit->id, pd->disk->id);
			p->usage_error = true;
		}
		if (pd->verdict == LB_VERDICT_EXCLUDED)
			continue;
		pd->verdict = LB_VERDICT_EXCLUDED;
		free(pd->why);
		pd->why = lb_asprintf("--exclude-volume %s", w.hit->id);
	}
	free(set.pds);
}

void lb_plan_exclude_volumes(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	for (size_t i = 0; i < opts->n_exclude_volumes; i++)
		exclude_volume(p, opts->exclude_volumes[i]);
}

/* ---- packs made whole ---------------------------------------------------- */

/* A member device on an intact disk that no longer carries what was
 * recorded on it (its type and UUID: the array's, the container's, the
 * PV's): why, or NULL. Only partitions and whole disks can be seen
 * here; what sits higher is made again with what it sits on. */
static char *member_damaged(const struct lb_plan *p, const char *on)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(p->m, on);
	const struct lb_volume *rec, *cur = NULL;
	const struct lb_plan_disk *pd = NULL;
	const struct lb_disk *state;

	if (ref.kind != LB_DEV_PARTITION && ref.kind != LB_DEV_DISK)
		return NULL;
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].disk == ref.disk)
			pd = &p->disks[i];
	if (!pd || pd->verdict != LB_VERDICT_INTACT || !pd->target || !pd->target->state)
		return NULL;
	rec = ref.part ? ref.part->volume : ref.disk->volume;
	if (!rec || !rec->type)
		return NULL;
	state = pd->target->state;
	if (ref.part) {
		const struct lb_partition *cp = lb_disk_find_partition(state, ref.part->number);

		cur = cp ? cp->volume : NULL;
	} else {
		cur = state->volume;
	}
	if (cur && cur->type && strcmp(cur->type, rec->type) == 0 &&
	    lb_plan_same_text(cur->uuid, rec->uuid))
		return NULL;
	return lb_asprintf("%s no longer holds its %s %s (found %s)", on, rec->type,
			   rec->uuid ? rec->uuid : "", cur && cur->type ? cur->type : "nothing");
}

/* the devices a pack's node sits on */
static size_t pack_members(const struct lb_stack *s, size_t k, const char ***ret_on,
			   const char **ret_id)
{
	const char **on;
	size_t n = 0;

	if (k < s->n_mds) {
		const struct lb_md *md = s->mds[k];

		on = lb_zalloc((md->n_members + 1) * sizeof(*on));
		for (size_t i = 0; i < md->n_members; i++)
			on[n++] = md->members[i]->on;
		*ret_id = md->id;
	} else if ((k -= s->n_mds) < s->n_luks) {
		on = lb_zalloc(2 * sizeof(*on));
		on[n++] = s->luks[k]->on;
		*ret_id = s->luks[k]->id;
	} else {
		const struct lb_vg *vg = s->vgs[k - s->n_luks];

		on = lb_zalloc((vg->n_pvs + 1) * sizeof(*on));
		for (size_t i = 0; i < vg->n_pvs; i++)
			on[n++] = vg->pvs[i]->on;
		*ret_id = vg->id;
	}
	*ret_on = on;
	return n;
}

/* One pack: when it is damaged or one of its disks is recreated, its
 * intact disks are recreated too. True when a verdict changed. */
static bool make_whole(struct lb_plan *p, size_t k)
{
	struct disk_set set = { .p = p };
	const char **on = NULL, *id = NULL;
	size_t n = pack_members(p->m->stack, k, &on, &id);
	_cleanup_free_ char *reason = NULL;
	bool changed = false;

	for (size_t i = 0; i < n; i++)
		if (lb_dev_foreach_disk(p->m, on[i], add_disk, &set) < 0)
			goto out;	/* (stack.c says what is wrong with it) */
	for (size_t i = 0; i < set.n && !reason; i++)
		if (set.pds[i]->verdict == LB_VERDICT_RECREATE)
			reason = lb_asprintf("%s is recreated", set.pds[i]->disk->id);
	for (size_t i = 0; i < n && !reason; i++)
		reason = member_damaged(p, on[i]);
	for (size_t i = 0; reason && i < set.n; i++) {
		struct lb_plan_disk *pd = set.pds[i];

		if (pd->verdict != LB_VERDICT_INTACT)
			continue;
		pd->verdict = LB_VERDICT_RECREATE;
		pd->boot_code = false;
		pd->boot_code_in_use = false;
		free(pd->why);
		pd->why = lb_asprintf("%s is made again whole: %s", id, reason);
		lb_plan_check_disk(p, pd);
		changed = true;
	}
out:
	free(on);
	free(set.pds);
	return changed;
}

void lb_plan_packs(struct lb_plan *p)
{
	const struct lb_stack *s = p->m->stack;
	size_t n = s ? s->n_mds + s->n_luks + s->n_vgs : 0;
	bool changed = true;

	/* each pass makes at least one more disk recreated: at most n_disks */
	while (changed) {
		changed = false;
		for (size_t k = 0; k < n; k++)
			changed |= make_whole(p, k);
	}
}
