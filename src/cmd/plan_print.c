// SPDX-License-Identifier: GPL-3.0-or-later
/* The one printer of a plan, for compare, restore (--dry-run too), drill
 * and the rescue menu (which runs compare): each disk's verdict and each
 * volume's action, warnings and problems, then the steps a restore takes,
 * in order; as text or JSON. */
#include <errno.h>
#include <stdio.h>

#include <json-c/json.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "cmd/cmd_plan.h"

/* What a step acts on: a volume on its device, a disk, or the machine. */
static char *step_subject(const struct lb_step *s)
{
	if (s->pv && s->pv->node)
		return lb_asprintf("%s on %s", s->pv->vol->id, s->pv->node->id);
	if (s->pv)
		return lb_asprintf("%s on %s", s->pv->vol->id, lb_esc(s->pd->target->path));
	if (s->pn)
		return lb_strdup(s->pn->id);
	if (s->pd)
		return lb_asprintf("%s %s", s->pd->disk->id, lb_esc(s->pd->target->path));
	if (s->path)
		return lb_strdup(lb_esc(s->path));
	return lb_strdup("this machine");
}

static void print_steps(const struct lb_plan *p, FILE *f)
{
	if (!p->n_steps) {
		fprintf(f, "steps: none (%s)\n",
			p->n_problems ? "the plan has problems" : "nothing to write");
		return;
	}
	fputs("steps:\n", f);
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct lb_step *s = &p->steps[i];
		_cleanup_free_ char *subject = step_subject(s);

		fprintf(f, "  %2zu. %-13s %s", i + 1, lb_step_kind_name(s->kind), subject);
		if (s->art)
			fprintf(f, " from %s", lb_esc(s->art->file));
		if (s->why && *s->why && s->kind != LB_STEP_MARKER)
			fprintf(f, " (%s)", lb_esc(s->why));
		else if (s->why && *s->why && s->pd)
			fprintf(f, " (%s)", lb_esc(s->why));
		fputc('\n', f);
	}
	if (p->no_marker)
		fprintf(f, "  no restore-session marker: %s\n", lb_esc(p->no_marker));
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *steps_json(const struct lb_plan *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n_steps; i++) {
		const struct lb_step *s = &p->steps[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "kind", json_object_new_string(lb_step_kind_name(s->kind)));
		json_object_object_add(o, "disk", str_or_null(s->pd ? s->pd->disk->id : NULL));
		json_object_object_add(o, "device", str_or_null(s->pd ? s->pd->target->path : NULL));
		json_object_object_add(o, "volume", str_or_null(s->pv ? s->pv->vol->id : NULL));
		if (s->pn)
			json_object_object_add(o, "node", json_object_new_string(s->pn->id));
		json_object_object_add(o, "file", str_or_null(s->art ? s->art->file : NULL));
		json_object_object_add(o, "path", str_or_null(s->path));
		json_object_object_add(o, "why", str_or_null(s->why));
		json_object_array_add(arr, o);
	}
	return arr;
}

static void print_volume(const struct lb_plan_volume *pv, FILE *f)
{
	fprintf(f, "  %-10s %-6s", pv->vol->id, pv->vol->type);
	if (pv->vol->mountpoint)
		fprintf(f, " %s", lb_esc(pv->vol->mountpoint));
	if (pv->vol->critical)
		fputs(" [critical]", f);
	fprintf(f, ": %s%s", lb_vol_action_name(pv->action), pv->extract ? "+extract-archive" : "");
	if (pv->why)
		fprintf(f, " (%s)", pv->why);
	fputc('\n', f);
}

/* the stack: each array, container and group, its verdict and volumes */
static void print_nodes(const struct lb_plan *p, FILE *f)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		const struct lb_plan_node *pn = &p->nodes[i];

		if (pn->md)
			fprintf(f, "%s %s (UUID %s)", pn->id, lb_esc(pn->md->level), pn->md->uuid);
		else if (pn->luks)
			fprintf(f, "%s LUKS%u on %s (UUID %s)", pn->id, pn->luks->version, pn->luks->on,
				pn->luks->uuid);
		else
			fprintf(f, "%s volume group %s (UUID %s)", pn->id, pn->vg->name, pn->vg->uuid);
		fprintf(f, ": %s%s%s", lb_node_action_name(pn->action), pn->open ? "+open" : "",
			pn->ciphertext ? "+ciphertext" : "");
		if (pn->why)
			fprintf(f, " (%s)", lb_esc(pn->why));
		fputc('\n', f);
		for (size_t j = 0; j < p->n_vols; j++)
			if (p->vols[j].node == pn)
				print_volume(&p->vols[j], f);
	}
}

int lb_plan_print(const struct lb_plan *p, FILE *f)
{
	const struct lb_manifest *m = p->m;

	fprintf(f, "capture %s (%s%s%s)\n", m->id, m->time, m->hostname ? ", host " : "",
		lb_esc(m->hostname));
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];

		fprintf(f, "%s %s -> %s", pd->disk->id, lb_esc(pd->disk->path),
			pd->target ? lb_esc(pd->target->path) : "(none)");
		if (pd->target)
			fprintf(f, " (matched by %s)", lb_match_name(pd->how));
		fprintf(f, ": %s", lb_verdict_name(pd->verdict));
		if (pd->why)
			fprintf(f, " (%s)", lb_esc(pd->why));
		if (pd->boot_code)
			fputs(", boot code blank: write it", f);
		if (pd->boot_code_in_use)
			fputs(", boot code blank: in use here, left alone", f);
		fputc('\n', f);
		for (size_t j = 0; j < p->n_vols; j++)
			if (p->vols[j].pd == pd && !p->vols[j].node)
				print_volume(&p->vols[j], f);
	}
	print_nodes(p, f);
	for (size_t i = 0; i < p->n_warnings; i++)
		fprintf(f, "warning: %s\n", lb_esc(p->warnings[i]));
	for (size_t i = 0; i < p->n_problems; i++)
		fprintf(f, "problem: %s\n", lb_esc(p->problems[i]));
	print_steps(p, f);
	return ferror(f) ? -EIO : 0;
}

static json_object *volume_json(const struct lb_plan_volume *pv)
{
	json_object *v = json_object_new_object();

	json_object_object_add(v, "id", json_object_new_string(pv->vol->id));
	json_object_object_add(v, "type", json_object_new_string(pv->vol->type));
	json_object_object_add(v, "mountpoint", str_or_null(pv->vol->mountpoint));
	json_object_object_add(v, "critical", json_object_new_boolean(pv->vol->critical));
	json_object_object_add(v, "action", json_object_new_string(lb_vol_action_name(pv->action)));
	json_object_object_add(v, "extract_archive", json_object_new_boolean(pv->extract));
	json_object_object_add(v, "rollback", str_or_null(lb_vol_rollback_name(pv->rollback)));
	json_object_object_add(v, "why", str_or_null(pv->why));
	return v;
}

static json_object *nodes_json(const struct lb_plan *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n_nodes; i++) {
		const struct lb_plan_node *pn = &p->nodes[i];
		json_object *o = json_object_new_object(), *vols = json_object_new_array();

		json_object_object_add(o, "id", json_object_new_string(pn->id));
		json_object_object_add(o, "kind", json_object_new_string(pn->md ? "md" : pn->luks ? "luks" : "vg"));
		json_object_object_add(o, "action", json_object_new_string(lb_node_action_name(pn->action)));
		json_object_object_add(o, "open", json_object_new_boolean(pn->open));
		json_object_object_add(o, "ciphertext", json_object_new_boolean(pn->ciphertext));
		json_object_object_add(o, "why", str_or_null(pn->why));
		for (size_t j = 0; j < p->n_vols; j++)
			if (p->vols[j].node == pn)
				json_object_array_add(vols, volume_json(&p->vols[j]));
		json_object_object_add(o, "volumes", vols);
		json_object_array_add(arr, o);
	}
	return arr;
}

int lb_plan_print_json(const struct lb_plan *p, FILE *f)
{
	json_object *root = json_object_new_object(), *disks = json_object_new_array(),
		    *probs = json_object_new_array(), *warns = json_object_new_array();

	json_object_object_add(root, "capture", json_object_new_string(p->m->id));
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];
		json_object *o = json_object_new_object(), *vols = json_object_new_array();

		json_object_object_add(o, "id", json_object_new_string(pd->disk->id));
		json_object_object_add(o, "recorded_path", json_object_new_string(pd->disk->path));
		json_object_object_add(o, "device",
				       pd->target ? json_object_new_string(pd->target->path) : NULL);
		json_object_object_add(o, "matched_by", json_object_new_string(lb_match_name(pd->how)));
		json_object_object_add(o, "verdict", json_object_new_string(lb_verdict_name(pd->verdict)));
		json_object_object_add(o, "why", pd->why ? json_object_new_string(pd->why) : NULL);
		for (size_t j = 0; j < p->n_vols; j++)
			if (p->vols[j].pd == pd && !p->vols[j].node)
				json_object_array_add(vols, volume_json(&p->vols[j]));
		json_object_object_add(o, "volumes", vols);
		json_object_array_add(disks, o);
	}
	json_object_object_add(root, "disks", disks);
	if (p->n_nodes)
		json_object_object_add(root, "storage", nodes_json(p));
	for (size_t i = 0; i < p->n_problems; i++)
		json_object_array_add(probs, json_object_new_string(p->problems[i]));
	json_object_object_add(root, "problems", probs);
	for (size_t i = 0; i < p->n_warnings; i++)
		json_object_array_add(warns, json_object_new_string(p->warnings[i]));
	json_object_object_add(root, "warnings", warns);
	json_object_object_add(root, "all_intact", json_object_new_boolean(lb_plan_all_intact(p)));
	json_object_object_add(root, "steps", steps_json(p));
	json_object_object_add(root, "no_marker", str_or_null(p->no_marker));
	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	fputc('\n', f);
	json_object_put(root);
	return ferror(f) ? -EIO : 0;
}
