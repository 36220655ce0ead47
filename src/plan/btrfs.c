// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A btrfs over several devices is one filesystem (one fsid, a devid per
 * device), recorded as one volume per device. The rules, like a pack's
 * (packs.c):
 *
 * - It is written whole or left alone whole: when one of its devices is
 *   made again (formatted or imaged), every other one is too; one that
 *   cannot be (its disk excluded, missing, held back) refuses the plan,
 *   never half a filesystem. So does a btrfs whose devices the capture
 *   does not all record, or whose devices would come back some from their
 *   images and some made empty.
 * - Made again by mkfs, it is made once: the first of its volumes in the
 *   plan's order runs mkfs.btrfs over all of its devices, in devid order
 *   (btrfs_devs); the others are made with it (btrfs_maker).
 * - Imaged, each device gets its own image (each holds its devid's part).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "plan/internal.h"

static void lb_plan_btrfs_groups(struct lb_plan *p);

static bool multi(const struct lb_plan_volume *pv)
{
	const struct lb_volume *v = pv->vol;

	return strcmp(v->type, "btrfs") == 0 && v->uuid && v->btrfs && v->btrfs->devices > 1;
}

static bool same_fs(const struct lb_plan_volume *a, const struct lb_plan_volume *b)
{
	return multi(b) && strcmp(a->vol->uuid, b->vol->uuid) == 0;
}

static int by_devid(const void *a, const void *b)
{
	const struct lb_plan_volume *x = *(struct lb_plan_volume *const *)a;
	const struct lb_plan_volume *y = *(struct lb_plan_volume *const *)b;

	return x->vol->btrfs->devid < y->vol->btrfs->devid ? -1
	       : x->vol->btrfs->devid > y->vol->btrfs->devid;
}

/* The ids of the group's volumes, for messages. */
static char *ids(struct lb_plan_volume **g, size_t n)
{
	char *s = lb_strdup("");

	for (size_t i = 0; i < n; i++) {
		char *t = lb_asprintf("%s%s%s", s, i ? ", " : "", g[i]->vol->id);

		free(s);
		s = t;
	}
	return s;
}

/* Every device of the group written, or a problem: an action for those
 * that would be left as they are, the one the others have (an image when
 * every one written is imaged and it has one of its own, else made by
 * mkfs: plan_group refuses a mix). */
static bool write_all(struct lb_plan *p, struct lb_plan_volume **g, size_t n, const char *list)
{
	bool ok = true, imaged = true;

	for (size_t i = 0; i < n; i++)
		if (lb_plan_volume_writes(g[i]) && g[i]->action != LB_VOL_IMAGE)
			imaged = false;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *trouble = NULL;

		struct lb_plan_volume *pv = g[i];

		if (lb_plan_volume_writes(pv))
			continue;
		if (pv->action != LB_VOL_KEEP || pv->pd->verdict != LB_VERDICT_INTACT) {
			lb_plan_problem(p, "btrfs %s over %s: %s would not be made again (%s), and a btrfs "
					   "is never made half: restore all of its devices or none",
					pv->vol->uuid, list, pv->vol->id,
					pv->why ? pv->why
					: pv->pd->why ? pv->pd->why
						      : lb_verdict_name(pv->pd->verdict));
			ok = false;
			continue;
		}
		pv->action = imaged && pv->vol->data && pv->vol->data_method &&
					     strcmp(pv->vol->data_method, "image") == 0
				     ? LB_VOL_IMAGE
				     : LB_VOL_FORMAT;
		if (pv->action == LB_VOL_IMAGE && (trouble = lb_plan_data_trouble(p, pv->vol))) {
			lb_plan_problem(p, "%s: %s", pv->vol->id, trouble);
			ok = false;
		}
		free(pv->why);
		pv->why = lb_asprintf("a device of the btrfs %s, which is made again", pv->vol->uuid);
		lb_plan_check_formatter(p, pv);
	}
	return ok;
}

static void plan_group(struct lb_plan *p, struct lb_plan_volume **g, size_t n)
{
	const struct lb_btrfs_geom *bg = g[0]->vol->btrfs;
	_cleanup_free_ char *list = ids(g, n);
	size_t images = 0, writes = 0;

	for (size_t i = 0; i < n; i++)
		if (lb_plan_volume_writes(g[i]))
			writes++;
	if (writes == 0)
		return;
	qsort(g, n, sizeof(*g), by_devid);
	for (size_t i = 1; i < n; i++)
		if (g[i]->vol->btrfs->devid == g[i - 1]->vol->btrfs->devid) {
			lb_plan_problem(p, "btrfs %s: %s and %s are both its device %" PRIu64,
					g[0]->vol->uuid, g[i - 1]->vol->id, g[i]->vol->id,
					g[i]->vol->btrfs->devid);
			return;
		}
	if (n != bg->devices) {
		lb_plan_problem(p, "btrfs %s has %" PRIu64 " devices, the capture records %zu (%s): "
				   "it cannot be made again whole",
				g[0]->vol->uuid, bg->devices, n, list);
		return;
	}
	if (!write_all(p, g, n, list))
		return;
	for (size_t i = 0; i < n; i++)
		if (g[i]->action == LB_VOL_IMAGE)
			images++;
	if (images == n)
		return;
	if (images) {
		lb_plan_problem(p, "btrfs %s over %s: some of its devices would come back from their "
				   "images and some made empty; restore with --no-data, or from a capture "
				   "holding every device's image",
				g[0]->vol->uuid, list);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (g[i]->vol->btrfs->devid != i + 1) {
			lb_plan_warning(p, "btrfs %s: mkfs.btrfs numbers its devices 1 to %zu, the "
					   "capture has %s as devid %" PRIu64,
					g[0]->vol->uuid, n, g[i]->vol->id, g[i]->vol->btrfs->devid);
			break;
		}
	/* the maker: the first of them in the plan's (and the steps') order */
	{
		struct lb_plan_volume *maker = g[0];

		for (size_t i = 1; i < n; i++)
			if (g[i] < maker)
				maker = g[i];
		maker->btrfs_devs = lb_realloc_array(NULL, n, sizeof(*g));
		memcpy(maker->btrfs_devs, g, n * sizeof(*g));
		maker->n_btrfs_devs = n;
		for (size_t i = 0; i < n; i++)
			if (g[i] != maker) {
				g[i]->btrfs_maker = maker;
				free(g[i]->why);
				g[i]->why = lb_asprintf("made with %s: one btrfs over %s", maker->vol->id,
							list);
			}
	}
}

/* Whether the plan writes target tg whole (its disk recreated), or the
 * volume at partition number (0: the whole disk) of it. */
static bool written_here(const struct lb_plan *p, const struct lb_target *tg, uint32_t number)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].target == tg && p->disks[i].verdict == LB_VERDICT_RECREATE)
			return true;
	for (size_t i = 0; i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];

		if (!pv->node && pv->pd && pv->pd->target == tg && lb_plan_volume_writes(pv) &&
		    (pv->part ? pv->part->number : 0) == number)
			return true;
	}
	return false;
}

/* A btrfs written while a disk of this machine that the plan leaves alone
 * holds one with the same fsid (the disk it was captured from, still
 * attached): the kernel tells btrfs devices apart by fsid and devid only,
 * so it would take one for the other (mkfs.btrfs refuses the fsid; an
 * image could be mounted from the other disk). Refused, before any write. */
static void check_twins(struct lb_plan *p, const struct lb_plan_volume *pv)
{
	const char *uuid = pv->vol->uuid;

	for (size_t t = 0; t < p->n_targets; t++) {
		const struct lb_target *tg = p->targets[t];
		const struct lb_disk *d = tg->state;

		if (!d)
			continue;
		for (size_t k = 0; k <= d->n_parts; k++) {
			const struct lb_volume *v = k < d->n_parts ? d->parts[k]->volume : d->volume;
			uint32_t number = k < d->n_parts ? d->parts[k]->number : 0;

			if (!v || !v->type || !v->uuid || strcmp(v->type, "btrfs") != 0 ||
			    strcasecmp(v->uuid, uuid) != 0 || written_here(p, tg, number))
				continue;
			lb_plan_problem(p, "%s: the btrfs %s is also on %s%s%" PRIu32 ", which this "
					   "restore leaves alone: two btrfs with one fsid cannot be told "
					   "apart by the kernel; detach that disk and run the restore "
					   "again",
					pv->vol->id, uuid, tg->path, number ? " partition " : "",
					number);
			return;
		}
	}
}

void lb_plan_btrfs(struct lb_plan *p)
{
	/* (the groups first: a device on an intact disk brought along is
	 * written, not a twin) */
	lb_plan_btrfs_groups(p);
	for (size_t i = 0; i < p->n_vols; i++)
		if (strcmp(p->vols[i].vol->type, "btrfs") == 0 && p->vols[i].vol->uuid &&
		    lb_plan_volume_writes(&p->vols[i]))
			check_twins(p, &p->vols[i]);
}

static void lb_plan_btrfs_groups(struct lb_plan *p)
{
	_cleanup_free_ bool *seen = lb_zalloc(p->n_vols + 1);
	_cleanup_free_ struct lb_plan_volume **g = lb_realloc_array(NULL, p->n_vols + 1, sizeof(*g));

	for (size_t i = 0; i < p->n_vols; i++) {
		size_t n = 0;

		if (seen[i] || !multi(&p->vols[i]))
			continue;
		for (size_t j = i; j < p->n_vols; j++)
			if (!seen[j] && same_fs(&p->vols[i], &p->vols[j])) {
				seen[j] = true;
				g[n++] = &p->vols[j];
			}
		plan_group(p, g, n);
	}
}
