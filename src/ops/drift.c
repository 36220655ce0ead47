// SPDX-License-Identifier: GPL-3.0-or-later
/* Has this machine's layout changed since a capture? The planner decides
 * which disk is which and whether each is intact (what 'compare' says);
 * on top of that, status counts as a change what a restore would leave
 * alone: a partition added in free space or grown, a volume made, gone or
 * given another identity, on a disk the planner calls intact. A capture
 * older than such a change no longer records the machine. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "ops/ops.h"

static void add(char ***list, size_t *n, char *line)
{
	*list = lb_realloc_array(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = line;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcasecmp(a, b) == 0);
}

/* What is not the same of a volume; NULL when nothing. */
static char *volume_change(const struct lb_volume *rec, const struct lb_volume *cur)
{
	const char *rt = rec && strcmp(rec->type, "raw") != 0 ? rec->type : NULL;
	const char *ct = cur && strcmp(cur->type, "raw") != 0 ? cur->type : NULL;

	if (!rt && !ct)
		return NULL;
	if (!ct)
		return lb_asprintf("its %s is gone", rt);
	if (!rt)
		return lb_asprintf("it holds a new %s", ct);
	if (strcmp(rt, ct) != 0)
		return lb_asprintf("it holds %s, recorded %s", ct, rt);
	if (!same(rec->uuid, cur->uuid))
		return lb_asprintf("its %s has UUID %s, recorded %s", ct, cur->uuid ? cur->uuid : "none",
				   rec->uuid ? rec->uuid : "none");
	if (rec->label && cur->label && strcmp(rec->label, cur->label) != 0)
		return lb_asprintf("its %s is labelled '%s', recorded '%s'", ct, lb_esc(cur->label),
				   lb_esc(rec->label));
	return NULL;
}

static void disk_changes(const struct lb_disk *rec, const struct lb_disk *cur, char ***list,
			 size_t *n)
{
	char *why;

	for (size_t i = 0; i < cur->n_parts; i++) {
		const struct lb_partition *c = cur->parts[i];
		const struct lb_partition *p = lb_disk_find_partition(rec, c->number);

		if (!p) {
			add(list, n, lb_asprintf("%s: partition %u added", rec->id, c->number));
			continue;
		}
		if (c->size > p->size)
			add(list, n, lb_asprintf("%s: partition %u grown from %" PRIu64 " to %" PRIu64
						 " sectors", rec->id, p->number, p->size, c->size));
		why = volume_change(p->volume, c->volume);
		if (why)
			add(list, n, lb_asprintf("%s: partition %u: %s", rec->id, p->number, why));
		free(why);
	}
	if (rec->size != cur->size)
		add(list, n, lb_asprintf("%s: %" PRIu64 " sectors, recorded %" PRIu64, rec->id,
					 cur->size, rec->size));
	if (rec->label == LB_LABEL_NONE && (why = volume_change(rec->volume, cur->volume))) {
		add(list, n, lb_asprintf("%s: %s", rec->id, why));
		free(why);
	}
}

int lb_layout_changes(const struct lb_plan *p, bool layout_intact, char ***ret, size_t *ret_n)
{
	char **list = NULL;
	size_t n = 0;

	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];

		switch (pd->verdict) {
		case LB_VERDICT_EXCLUDED:
			/* held back: it would need recreating */
			if (pd->held_back)
				add(&list, &n, lb_asprintf("%s: held back%s%s", pd->disk->id,
							   pd->why ? ": " : "", pd->why ? pd->why : ""));
			break;
		case LB_VERDICT_RECREATE:
		case LB_VERDICT_MISSING:
			add(&list, &n, lb_asprintf("%s: %s%s%s", pd->disk->id,
						   lb_verdict_name(pd->verdict), pd->why ? ": " : "",
						   pd->why ? pd->why : ""));
			break;
		case LB_VERDICT_INTACT:
			if (pd->target && pd->target->state)
				disk_changes(pd->disk, pd->target->state, &list, &n);
			break;
		}
	}
	/* what compare counts against the layout and no disk above said */
	if (!layout_intact && !n)
		add(&list, &n, lb_strdup("compare finds the layout not intact (see lifeboat compare)"));
	*ret = list;
	*ret_n = n;
	return (int)n;
}
