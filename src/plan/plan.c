// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The planner: which disk on this machine is which recorded disk
 * (match.c), what a restore will do to each disk and volume (here), what
 * it needs checked (checks.c), and the ordered steps it takes (steps.c).
 * Reads only; everything a restore will write is decided and checked
 * here, before the first write.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "plan/internal.h"

static const char *const match_names[] = {
	[LB_MATCH_NONE] = "none",
	[LB_MATCH_MAP] = "disk-map",
	[LB_MATCH_SIGNATURE] = "signature",
	[LB_MATCH_SERIAL] = "serial",
	[LB_MATCH_WWN] = "wwn",
	[LB_MATCH_PATH_SIZE] = "path-and-size",
	[LB_MATCH_BLANK] = "blank-disk",
};

static const char *const verdict_names[] = {
	[LB_VERDICT_INTACT] = "intact",
	[LB_VERDICT_RECREATE] = "recreate",
	[LB_VERDICT_EXCLUDED] = "excluded",
	[LB_VERDICT_MISSING] = "missing",
};

static const char *const action_names[] = {
	[LB_VOL_KEEP] = "keep",
	[LB_VOL_FORMAT] = "format",
	[LB_VOL_CONTENT] = "write-content",
	[LB_VOL_NOTHING] = "nothing",
	[LB_VOL_SKIP] = "skip",
	[LB_VOL_IMAGE] = "write-image",
	[LB_VOL_CIPHERTEXT] = "in-ciphertext",
};

static const char *const rollback_names[] = {
	[LB_ROLLBACK_NONE] = NULL,
	[LB_ROLLBACK_CRITICAL] = "critical",
	[LB_ROLLBACK_NAMED] = "volume",
	[LB_ROLLBACK_ALL] = "all-volumes",
};

const char *lb_match_name(enum lb_match h)
{
	return match_names[h];
}

const char *lb_verdict_name(enum lb_verdict v)
{
	return verdict_names[v];
}

const char *lb_vol_action_name(enum lb_vol_action a)
{
	return action_names[a];
}

const char *lb_vol_rollback_name(enum lb_vol_rollback r)
{
	return rollback_names[r];
}

bool lb_plan_volume_writes(const struct lb_plan_volume *pv)
{
	return pv->action == LB_VOL_FORMAT || pv->action == LB_VOL_IMAGE;
}

/* ---- building the plan ------------------------------------------------ */

/* Appends a formatted line to a plan's problems or warnings. */
static void add_line(char ***list, size_t *n, const char *fmt, va_list ap) _printf_(3, 0);
static void add_line(char ***list, size_t *n, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	*list = lb_realloc_array(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = s;
}

void lb_plan_problem(struct lb_plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(&p->problems, &p->n_problems, fmt, ap);
	va_end(ap);
}

void lb_plan_warning(struct lb_plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(&p->warnings, &p->n_warnings, fmt, ap);
	va_end(ap);
}

static void add_volume(struct lb_plan *p, struct lb_plan_disk *pd, struct lb_partition *part,
		       struct lb_volume *v)
{
	struct lb_plan_volume *pv;

	p->vols = lb_realloc_array(p->vols, p->n_vols + 1, sizeof(*p->vols));
	pv = &p->vols[p->n_vols++];
	memset(pv, 0, sizeof(*pv));
	pv->pd = pd;
	pv->part = part;
	pv->vol = v;
}

static void plan_volume_layout(struct lb_plan *p, struct lb_plan_volume *pv,
			       const struct lb_plan_opts *opts);

/* --volume NAME names a volume by its manifest id, its partition's (or
 * whole disk's) recorded path, or the mount point recorded for it. */
static bool names_volume(const char *name, const struct lb_plan_volume *pv)
{
	const char *path = pv->node ? NULL : pv->part ? pv->part->path : pv->pd->disk->path;

	return strcmp(name, pv->vol->id) == 0 || (path && strcmp(name, path) == 0) ||
	       (pv->vol->mountpoint && strcmp(name, pv->vol->mountpoint) == 0);
}

static bool named(const struct lb_plan_opts *opts, const struct lb_plan_volume *pv)
{
	for (size_t i = 0; i < opts->n_volumes; i++)
		if (names_volume(opts->volumes[i], pv))
			return true;
	return false;
}

/* --volume and --all-volumes, checked against the capture: each name must
 * be one volume that has something to put back; a usage error if not. */
static void check_named_volumes(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	if (!opts->data && (opts->n_volumes || opts->all_volumes)) {
		lb_plan_problem(p, "%s puts volume data back: it cannot go with --no-data",
			opts->all_volumes ? "--all-volumes" : "--volume");
		p->usage_error = true;
	}
	for (size_t i = 0; i < opts->n_volumes; i++) {
		const char *name = opts->volumes[i];
		const struct lb_plan_volume *hit = NULL;
		size_t n = 0;

		for (size_t j = 0; j < p->n_vols; j++)
			if (names_volume(name, &p->vols[j])) {
				hit = &p->vols[j];
				n++;
			}
		if (n == 0)
			lb_plan_problem(p, "--volume %s: no such volume in the capture (give a volume id such as "
				   "disk0p2, its recorded device path or its mount point)",
				name);
		else if (n > 1)
			lb_plan_problem(p, "--volume %s: names %zu volumes; give a volume id", name, n);
		else if (!hit->vol->data && strcmp(hit->vol->type, "swap") != 0)
			lb_plan_problem(p, "--volume %s: the capture holds no data for %s", name, hit->vol->id);
		else if (hit->pd->verdict == LB_VERDICT_EXCLUDED && !hit->pd->held_back)
			lb_plan_problem(p, "--volume %s: %s is on %s, which is excluded (%s)", name, hit->vol->id,
				hit->pd->disk->id, hit->pd->why ? hit->pd->why : "");
		else
			continue;
		p->usage_error = true;
	}
}

/* The captured data, when there is some and it is wanted, goes onto a
 * volume being made: an image instead of mkfs, an archive after it. A
 * volume left as it is needs none of it: a data file of its that is not
 * as recorded is a warning (a restore naming it would refuse), never a
 * problem. */
static void plan_volume(struct lb_plan *p, struct lb_plan_volume *pv, const struct lb_plan_opts *opts)
{
	const struct lb_volume *v = pv->vol;
	_cleanup_free_ char *trouble = NULL;

	plan_volume_layout(p, pv, opts);
	if (v->data && pv->action == LB_VOL_KEEP) {
		/* (with --no-data no data file is looked at) */
		trouble = opts->data ? lb_plan_data_trouble(p, v) : NULL;
		if (trouble)
			lb_plan_warning(p, "%s: %s; the volume is left as it is", v->id, trouble);
		return;
	}
	if (!opts->data || !v->data || (pv->action != LB_VOL_FORMAT && pv->action != LB_VOL_NOTHING)) {
		lb_plan_check_formatter(p, pv);
		return;
	}
	trouble = lb_plan_data_trouble(p, v);
	if (trouble) {
		lb_plan_problem(p, "%s: %s", v->id, trouble);
		return;
	}
	if (v->data_method && strcmp(v->data_method, "archive") == 0) {
		if (pv->action == LB_VOL_FORMAT)
			pv->extract = true;
	} else {
		pv->action = LB_VOL_IMAGE;
	}
	lb_plan_check_formatter(p, pv);
}

static bool same_swap(const struct lb_volume *rec, const struct lb_volume *cur)
{
	return cur && strcmp(cur->type, "swap") == 0 && lb_plan_same_text(rec->uuid, cur->uuid) &&
	       lb_plan_same_text(rec->label, cur->label);
}

/* A volume on an intact disk that holds something: ASR puts a critical
 * volume's content back on every restore (a broken system on a healthy disk
 * rolls back); another volume keeps its content unless named (--volume,
 * --all-volumes). Swap holds no data: a critical or named one is made again
 * with its identity only when what is there is not the recorded swap. */
static void plan_rollback(struct lb_plan_volume *pv, const struct lb_volume *cur,
			  const struct lb_plan_opts *opts)
{
	const struct lb_volume *v = pv->vol;
	enum lb_vol_rollback why = v->critical	       ? LB_ROLLBACK_CRITICAL
				   : named(opts, pv)   ? LB_ROLLBACK_NAMED
				   : opts->all_volumes ? LB_ROLLBACK_ALL
						       : LB_ROLLBACK_NONE;
	static const char *const said[] = {
		[LB_ROLLBACK_NONE] = "",
		[LB_ROLLBACK_CRITICAL] = "critical",
		[LB_ROLLBACK_NAMED] = "--volume",
		[LB_ROLLBACK_ALL] = "--all-volumes",
	};

	if (strcmp(v->type, "swap") == 0) {
		if (why == LB_ROLLBACK_NONE)
			return;
		if (same_swap(v, cur)) {
			pv->why = lb_asprintf("%s swap, as recorded", said[why]);
		} else if (!opts->data) {
			pv->why = lb_strdup("--no-data");
		} else {
			pv->action = LB_VOL_FORMAT;
			pv->rollback = why;
			pv->why = lb_asprintf("%s swap, not as recorded here: made again", said[why]);
		}
		return;
	}
	if (!v->data) {
		if (why == LB_ROLLBACK_CRITICAL)
			pv->why = lb_strdup("critical, but the capture holds no data for it");
		return;
	}
	if (why == LB_ROLLBACK_NONE) {
		pv->why = lb_asprintf("not critical; --volume %s puts its data back", v->id);
		return;
	}
	if (!opts->data) {
		pv->why = lb_strdup("--no-data");
		return;
	}
	pv->action = strcmp(v->type, "raw") == 0 ? LB_VOL_NOTHING : LB_VOL_FORMAT;
	pv->rollback = why;
	pv->why = lb_asprintf("%s: its data is put back", said[why]);
}

/* A volume on a node of the stack: made when its node is made, left as
 * it is when its node is kept (putting its data back on kept stacked
 * storage is not done yet: said, when it is critical). */
static void stack_volume_layout(struct lb_plan *p, struct lb_plan_volume *pv)
{
	const struct lb_plan_node *pn = pv->node;
	const struct lb_volume *v = pv->vol;

	switch (pn->action) {
	case LB_NODE_MAKE:
		pv->action = LB_VOL_FORMAT;
		pv->why = lb_asprintf("on %s, made again", pn->id);
		break;
	case LB_NODE_KEEP:
		pv->action = LB_VOL_KEEP;
		pv->why = lb_asprintf("on %s, whose disks are intact", pn->id);
		if (v->critical && v->data)
			lb_plan_warning(p, "%s: critical, but on %s (kept as it is): its data is not put back "
					   "(rolling back volumes on kept arrays, LUKS and LVM is not done yet)",
					v->id, pn->id);
		break;
	case LB_NODE_SKIP:
		pv->action = LB_VOL_SKIP;
		pv->why = lb_asprintf("on %s, which is not restored", pn->id);
		break;
	case LB_NODE_CIPHERTEXT:
		pv->action = LB_VOL_CIPHERTEXT;
		pv->why = lb_asprintf("on %s, %s", pn->id, pn->why);
		break;
	}
	if (pn->ciphertext) {
		pv->action = LB_VOL_CIPHERTEXT;
		free(pv->why);
		pv->why = lb_asprintf("in the ciphertext written under %s", pn->id);
	}
}

/* What happens to one volume's layout on a disk with a verdict. */
static void plan_volume_layout(struct lb_plan *p, struct lb_plan_volume *pv,
			       const struct lb_plan_opts *opts)
{
	const struct lb_volume *v = pv->vol;
	const struct lb_plan_disk *pd = pv->pd;
	bool raw = strcmp(v->type, "raw") == 0;
	const struct lb_plan_node *user;

	if (pv->node) {
		stack_volume_layout(p, pv);
		return;
	}
	/* a member of an array, a LUKS container or a PV: its pack's */
	user = lb_plan_node_using(p, v->id);
	if (user) {
		pv->action = user->action == LB_NODE_MAKE ? LB_VOL_NOTHING
			     : user->action == LB_NODE_KEEP ? LB_VOL_KEEP
							    : LB_VOL_SKIP;
		pv->why = lb_asprintf("%s %s", user->kind == LB_DEV_MD ? "member of" : user->kind == LB_DEV_LUKS
								  ? "the container of" : "a PV of",
				      user->id);
		return;
	}
	if (pd->verdict == LB_VERDICT_EXCLUDED || pd->verdict == LB_VERDICT_MISSING) {
		pv->action = LB_VOL_SKIP;
		return;
	}
	if (pd->verdict == LB_VERDICT_INTACT) {
		const struct lb_partition *cp = pv->part && pd->target->state
							? lb_disk_find_partition(pd->target->state, pv->part->number)
							: NULL;
		const struct lb_volume *cur = cp ? cp->volume : pd->target->state->volume;

		pv->action = LB_VOL_KEEP;
		/* A blank partition on an intact disk is an interrupted restore
		 * (or a volume never made): finishing the job makes it. */
		if (!raw && (!cur || strcmp(cur->type, "raw") == 0)) {
			pv->action = LB_VOL_FORMAT;
			pv->why = lb_strdup("blank on an intact disk");
		} else if (!raw && lb_journal_has(p->unfinished, p->n_unfinished, v->id)) {
			/* made, but not filled: a restore was stopped halfway */
			pv->action = LB_VOL_FORMAT;
			pv->why = lb_strdup("left unfinished by an interrupted restore");
		} else if (raw && pv->part && pv->part->content && cp && cp->rt_blank) {
			pv->action = LB_VOL_CONTENT;
			pv->why = lb_strdup("blank on an intact disk");
		} else {
			plan_rollback(pv, cur, opts);
		}
		if (pv->action == LB_VOL_KEEP)
			return;
	} else if (raw) {
		pv->action = pv->part && pv->part->content ? LB_VOL_CONTENT : LB_VOL_NOTHING;
		return;
	} else {
		pv->action = LB_VOL_FORMAT;
	}
	if (strcmp(v->type, "ambiguous") == 0) {
		lb_plan_problem(p, "%s: the capture found more than one signature on it; cannot tell what to make",
			v->id);
		return;
	}
	if (pd->target->in_use && pd->verdict == LB_VERDICT_INTACT && pv->rollback == LB_ROLLBACK_CRITICAL &&
	    !named(opts, pv) && !opts->all_volumes) {
		/* a running system cannot roll itself back; that is the rescue
		 * system's job. A replaced disk beside it is still restored. */
		pv->action = LB_VOL_KEEP;
		pv->rollback = LB_ROLLBACK_NONE;
		free(pv->why);
		pv->why = lb_strdup("critical, but its disk is in use here: left as it is");
		lb_plan_warning(p, "%s: not put back: %s is in use here (%s); to roll the system back, "
			   "restore from the rescue system",
			v->id, pd->target->path, pd->target->in_use);
	} else if (pd->target->in_use && pd->verdict == LB_VERDICT_INTACT && pv->rollback)
		lb_plan_problem(p, "%s: will not put its data back on %s: %s (restore from the rescue system, "
			   "where nothing on this disk is in use)",
			v->id, pd->target->path, pd->target->in_use);
	else if (pd->target->in_use && pd->verdict == LB_VERDICT_INTACT)
		lb_plan_problem(p, "%s: will not format it on %s: %s", v->id, pd->target->path, pd->target->in_use);
}

/* --exclude-disk, --include-disk and what capture left out: excluded
 * disks are never matched nor written. */
static void plan_exclusions(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	const struct lb_manifest *m = p->m;

	for (size_t i = 0; i < opts->n_exclude; i++)
		if (!lb_manifest_find_disk(m, opts->exclude[i])) {
			lb_plan_problem(p, "--exclude-disk %s: no such disk in the capture", opts->exclude[i]);
			p->usage_error = true;
		}
	for (size_t i = 0; i < opts->n_include; i++)
		if (!lb_manifest_find_disk(m, opts->include[i])) {
			lb_plan_problem(p, "--include-disk %s: no such disk in the capture", opts->include[i]);
			p->usage_error = true;
		}
	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		struct lb_disk *d = m->disks[i];

		pd->disk = d;
		if (lb_plan_listed(opts->exclude, opts->n_exclude, d)) {
			pd->verdict = LB_VERDICT_EXCLUDED;
			pd->why = lb_strdup("--exclude-disk");
			if (lb_plan_disk_critical(m, d)) {
				lb_plan_problem(p, "--exclude-disk %s: it holds a volume the system needs to boot", d->id);
				p->usage_error = true;
			}
		} else if (!d->selected && !lb_plan_listed(opts->include, opts->n_include, d)) {
			pd->verdict = LB_VERDICT_EXCLUDED;
			pd->why = lb_strdup(d->exclude_reason ? d->exclude_reason : "not selected at capture");
		}
	}
	lb_plan_exclude_volumes(p, opts);
}

/* Each matched disk: intact (its blank boot code written, unless in use
 * here) or to recreate; each unmatched one missing. */
static void plan_verdict(struct lb_plan *p, struct lb_plan_disk *pd)
{
	char *why = NULL;

	if (pd->verdict == LB_VERDICT_EXCLUDED)
		return;
	if (!pd->target) {
		pd->verdict = LB_VERDICT_MISSING;
	} else if (pd->target->state && lb_disk_is_intact(pd->disk, pd->target->state, &why)) {
		pd->verdict = LB_VERDICT_INTACT;
		/* blank boot code on an intact disk: a restore stopped
		 * between the table and the boot code; finish it */
		pd->boot_code = pd->disk->boot_code && pd->target->state->rt_boot_blank;
		/* a running system's boot code is the rescue system's
		 * to write, as its critical volumes are: left alone, and
		 * the rest of the plan goes on (a write there would
		 * only be refused after other disks were recreated) */
		if (pd->boot_code && pd->target->in_use) {
			pd->boot_code = false;
			pd->boot_code_in_use = true;
			lb_plan_warning(p, "%s: boot code not written: %s is in use here (%s); to write it, "
				   "restore from the rescue system",
				pd->disk->id, pd->target->path, pd->target->in_use);
		}
	} else {
		pd->verdict = LB_VERDICT_RECREATE;
		free(pd->why);
		pd->why = why ? why : lb_strdup("cannot read the disk");
	}
	lb_plan_check_disk(p, pd);
}

static void add_stack_volume(struct lb_plan *p, struct lb_plan_node *pn, struct lb_volume *v)
{
	struct lb_plan_disk *pd = v ? lb_plan_node_disk(p, v->id) : NULL;

	if (!pd)
		return;
	add_volume(p, pd, NULL, v);
	p->vols[p->n_vols - 1].node = pn;
}

static void add_stack_volumes(struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		struct lb_plan_node *pn = &p->nodes[i];

		if (pn->md)
			add_stack_volume(p, pn, pn->md->volume);
		if (pn->luks)
			add_stack_volume(p, pn, pn->luks->volume);
		for (size_t j = 0; pn->vg && j < pn->vg->n_lvs; j++)
			add_stack_volume(p, pn, pn->vg->lvs[j]->volume);
	}
}

static void plan_volumes(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		struct lb_disk *d = pd->disk;

		if (d->volume)
			add_volume(p, pd, NULL, d->volume);
		for (size_t j = 0; j < d->n_parts; j++)
			if (d->parts[j]->volume)
				add_volume(p, pd, d->parts[j], d->parts[j]->volume);
	}
	add_stack_volumes(p);
	check_named_volumes(p, opts);
	for (size_t i = 0; i < p->n_vols; i++) {
		struct lb_plan_volume *pv = &p->vols[i];
		size_t before = p->n_problems;

		plan_volume(p, pv, opts);
		/* a volume's content to put back on an intact disk: its problems
		 * stop a restore, but say nothing about the layout */
		if (pv->rollback)
			p->n_content_problems += p->n_problems - before;
		/* contents to write on an intact disk: checked like a recreated
		 * disk's, before any write */
		if (pv->action == LB_VOL_CONTENT && pv->pd->verdict == LB_VERDICT_INTACT &&
		    !pv->pd->boot_code && lb_artifact_verify(p->m, pv->part->content) < 0)
			lb_plan_problem(p, "%s: %s", pv->vol->id, lb_errmsg());
	}
}

int lb_plan_build(struct lb_manifest *m, const struct lb_plan_opts *opts,
		  struct lb_target **targets, size_t n_targets, struct lb_plan **ret)
{
	struct lb_plan *p = lb_zalloc(sizeof(*p));

	p->m = m;
	p->targets = targets;
	p->n_targets = n_targets;
	p->n_disks = m->n_disks;
	p->disks = lb_zalloc(sizeof(*p->disks) * (m->n_disks + 1));

	plan_exclusions(p, opts);
	lb_plan_match(p, opts);
	for (size_t i = 0; i < p->n_disks; i++)
		plan_verdict(p, &p->disks[i]);
	/* a pack is made again whole: every disk of it recreated */
	lb_plan_packs(p);
	/* what an interrupted restore of this capture left: made again */
	if (lb_journal_load(m, &p->unfinished, &p->n_unfinished) < 0)
		lb_plan_warning(p, "cannot read what an earlier restore left unfinished: %s", lb_errmsg());
	lb_plan_stack_nodes(p, opts);
	plan_volumes(p, opts);
	lb_plan_btrfs(p);
	lb_plan_stack_keys(p);
	lb_plan_build_steps(p, opts);
	*ret = p;
	return 0;
}

void lb_plan_free(struct lb_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_targets; i++)
		lb_target_free(p->targets[i]);
	free(p->targets);
	for (size_t i = 0; i < p->n_disks; i++)
		free(p->disks[i].why);
	free(p->disks);
	for (size_t i = 0; i < p->n_vols; i++) {
		free(p->vols[i].why);
		free(p->vols[i].result);
		free(p->vols[i].btrfs_devs);
	}
	free(p->vols);
	lb_plan_free_nodes(p);
	for (size_t i = 0; i < p->n_unfinished; i++)
		free(p->unfinished[i]);
	free(p->unfinished);
	for (size_t i = 0; i < p->n_problems; i++)
		free(p->problems[i]);
	free(p->problems);
	for (size_t i = 0; i < p->n_warnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	lb_plan_free_steps(p);
	free(p);
}

/* Every disk's layout as recorded: a volume whose content a restore puts
 * back on an intact disk (a critical or named one) does not count, one
 * found blank there does (an interrupted restore). */
bool lb_plan_all_intact(const struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].verdict == LB_VERDICT_RECREATE ||
		    p->disks[i].verdict == LB_VERDICT_MISSING || p->disks[i].held_back)
			return false;
	for (size_t i = 0; i < p->n_vols; i++)
		if ((lb_plan_volume_writes(&p->vols[i]) && !p->vols[i].rollback) ||
		    (p->vols[i].action == LB_VOL_CONTENT && p->vols[i].pd->verdict == LB_VERDICT_INTACT))
			return false;
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].boot_code || p->disks[i].boot_code_in_use)
			return false;
	return true;
}

bool lb_plan_writes(const struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].verdict == LB_VERDICT_RECREATE || p->disks[i].boot_code)
			return true;
	for (size_t i = 0; i < p->n_vols; i++)
		if (lb_plan_volume_writes(&p->vols[i]) ||
		    (p->vols[i].action == LB_VOL_CONTENT && p->vols[i].pd->verdict == LB_VERDICT_INTACT))
			return true;
	return false;
}

