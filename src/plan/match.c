// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Which disk on this machine is which recorded disk, and the intact rules.
 *
 * Matching order (DESIGN.md, from ASR): --disk-map, then the same disk
 * signature, then the same serial, then the same WWN, then the same path and
 * size, then -- the replaced-disk case -- a blank disk with the same logical
 * sector size and at least the recorded size, when one candidate is the
 * unambiguous best fit (equal size first). A disk holding data is never
 * picked by a guess; a device name alone never matches; a loop device is
 * guessed only for a recorded loop device (capture takes loop devices only
 * when named: any other recorded disk gets one only through --disk-map).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "plan/internal.h"

int lb_parse_disk_map(const char *arg, struct lb_disk_map *ret)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return lb_err(-EINVAL, "--disk-map %s: expected FROM=TO (a manifest disk id or "
				       "recorded path, then a device)", arg);
	ret->from = lb_zalloc((size_t)(eq - arg) + 1);
	memcpy(ret->from, arg, (size_t)(eq - arg));
	ret->to = lb_strdup(eq + 1);
	return 0;
}

/* ---- the intact rules ------------------------------------------------- */

bool lb_plan_same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcasecmp(a, b) == 0);
}

bool lb_disk_is_intact(const struct lb_disk *rec, const struct lb_disk *cur, char **ret_why)
{
	char *why = NULL;

	if (rec->label != cur->label)
		why = lb_asprintf("partition table is %s, recorded %s", lb_label_type_name(cur->label),
				  lb_label_type_name(rec->label));
	else if (rec->sector_size != cur->sector_size)
		why = lb_asprintf("logical sector size is %u, recorded %u", cur->sector_size,
				  rec->sector_size);
	else if (rec->label != LB_LABEL_NONE && !lb_plan_same_text(rec->signature, cur->signature))
		why = lb_asprintf("disk signature is %s, recorded %s",
				  cur->signature ? cur->signature : "none", rec->signature);
	else if (rec->label == LB_LABEL_NONE && rec->volume &&
		 (!cur->volume || !lb_plan_same_text(rec->volume->uuid, cur->volume->uuid) ||
		  strcmp(rec->volume->type, cur->volume->type) != 0))
		why = lb_asprintf("whole-disk %s %s is not there", rec->volume->type,
				  rec->volume->uuid ? rec->volume->uuid : "");
	for (size_t i = 0; i < rec->n_parts && !why; i++) {
		const struct lb_partition *p = rec->parts[i];
		const struct lb_partition *c = lb_disk_find_partition(cur, p->number);

		if (!c)
			why = lb_asprintf("partition %u is gone", p->number);
		else if (c->start != p->start)
			why = lb_asprintf("partition %u starts at %" PRIu64 ", recorded %" PRIu64,
					  p->number, c->start, p->start);
		else if (c->size < p->size)
			why = lb_asprintf("partition %u is smaller than recorded", p->number);
		else if (rec->label == LB_LABEL_GPT && !lb_plan_same_text(p->uuid, c->uuid))
			why = lb_asprintf("partition %u has GUID %s, recorded %s", p->number,
					  c->uuid ? c->uuid : "none", p->uuid ? p->uuid : "none");
	}
	if (ret_why)
		*ret_why = why;
	else
		free(why);
	return why == NULL;
}

static bool names_disk(const char *name, const struct lb_disk *d)
{
	return strcmp(name, d->id) == 0 || (d->path && strcmp(name, d->path) == 0);
}

bool lb_plan_listed(char **list, size_t n, const struct lb_disk *d)
{
	for (size_t i = 0; i < n; i++)
		if (names_disk(list[i], d))
			return true;
	return false;
}

static struct lb_target *find_target(struct lb_plan *p, const char *dev)
{
	_cleanup_free_ char *sys = NULL;

	for (size_t i = 0; i < p->n_targets; i++)
		if (strcmp(p->targets[i]->path, dev) == 0)
			return p->targets[i];
	if (lb_dev_sysname(dev, &sys, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < p->n_targets; i++)
		if (strcmp(p->targets[i]->sysname, sys) == 0)
			return p->targets[i];
	return NULL;
}

static void take(struct lb_plan_disk *pd, struct lb_target *t, enum lb_match how)
{
	if (pd->verdict != LB_VERDICT_EXCLUDED) {
		free(pd->why); /* an ambiguity seen in an earlier pass no longer matters */
		pd->why = NULL;
	}
	pd->target = t;
	pd->how = how;
	t->taken = true;
}

typedef bool (*match_fn)(const struct lb_disk *rec, const struct lb_target *t);

static bool by_signature(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->signature && t->state && t->state->signature && rec->label == t->state->label &&
	       strcasecmp(rec->signature, t->state->signature) == 0;
}

static bool by_serial(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->serial && t->state && t->state->serial && strcmp(rec->serial, t->state->serial) == 0;
}

static bool by_wwn(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->wwn && t->state && t->state->wwn && strcmp(rec->wwn, t->state->wwn) == 0;
}

static bool by_path_size(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->path && t->state && strcmp(rec->path, t->path) == 0 &&
	       t->state->size * t->state->sector_size == rec->size * rec->sector_size;
}

/* One pass of identity matching: a unique untaken candidate matches. */
static void match_pass(struct lb_plan *p, match_fn fn, enum lb_match how)
{
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		struct lb_target *found = NULL;
		size_t count = 0;

		if (pd->target)
			continue;
		for (size_t j = 0; j < p->n_targets; j++)
			if (!p->targets[j]->taken && fn(pd->disk, p->targets[j])) {
				found = p->targets[j];
				count++;
			}
		if (count == 1)
			take(pd, found, how);
		else if (count > 1 && !pd->why)
			pd->why = lb_asprintf("%zu disks share its %s; map one with --disk-map", count,
					      lb_match_name(how));
	}
}

/* A loop device is a file someone attached, not a disk of this machine:
 * capture takes one only when named, and a guess takes a blank one only
 * for a recorded loop device (a rehearsal on loop devices); for any other
 * recorded disk only --disk-map gives it. */
static bool is_loop(const struct lb_target *t)
{
	return strncmp(t->sysname, "loop", 4) == 0;
}

static bool was_loop(const struct lb_disk *rec)
{
	return (rec->transport && strcmp(rec->transport, "loop") == 0) ||
	       (rec->path && strncmp(rec->path, "/dev/loop", 9) == 0);
}

static void match_blank(struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		const struct lb_disk *rec = pd->disk;
		struct lb_target *best = NULL;
		uint64_t want = rec->size * rec->sector_size, best_size = 0;
		size_t ties = 0;

		if (pd->target || pd->verdict == LB_VERDICT_EXCLUDED || pd->why)
			continue;
		for (size_t j = 0; j < p->n_targets; j++) {
			struct lb_target *t = p->targets[j];
			uint64_t size;

			if (t->taken || !t->blank || t->in_use || t->holds_capture || !t->state ||
			    t->state->sector_size != rec->sector_size || (is_loop(t) && !was_loop(rec)))
				continue;
			size = t->state->size * t->state->sector_size;
			if (size < want)
				continue;
			if (!best || size < best_size) {
				best = t;
				best_size = size;
				ties = 1;
			} else if (size == best_size) {
				ties++;
			}
		}
		if (best && ties == 1)
			take(pd, best, LB_MATCH_BLANK);
		else if (best)
			pd->why = lb_asprintf("%zu blank disks of %" PRIu64 " bytes fit equally well; map "
					      "one with --disk-map %s=DEVICE",
					      ties, best_size, rec->id);
	}
}


void lb_plan_match(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	/* identities first, so a guess never takes a disk that is someone's */
	for (size_t i = 0; i < opts->n_maps; i++) {
		struct lb_disk *d = lb_manifest_find_disk(p->m, opts->maps[i].from);
		struct lb_target *t = find_target(p, opts->maps[i].to);
		struct lb_plan_disk *pd;

		if (!d || !t) {
			lb_plan_problem(p, "--disk-map %s=%s: %s", opts->maps[i].from, opts->maps[i].to,
				!d ? "no such disk in the capture" : "no such disk on this machine");
			p->usage_error = true;
			continue;
		}
		pd = NULL;
		for (size_t j = 0; j < p->n_disks; j++)
			if (p->disks[j].disk == d)
				pd = &p->disks[j];
		if (!pd || pd->target || t->taken) {
			lb_plan_problem(p, "--disk-map %s=%s: mapped twice", opts->maps[i].from, opts->maps[i].to);
			p->usage_error = true;
			continue;
		}
		take(pd, t, LB_MATCH_MAP);
	}
	match_pass(p, by_signature, LB_MATCH_SIGNATURE);
	match_pass(p, by_serial, LB_MATCH_SERIAL);
	match_pass(p, by_wwn, LB_MATCH_WWN);
	match_pass(p, by_path_size, LB_MATCH_PATH_SIZE);
	match_blank(p);
}
