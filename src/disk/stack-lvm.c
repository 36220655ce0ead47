// SPDX-License-Identifier: GPL-3.0-or-later
/* LVM volume groups whose physical volumes sit on captured devices: the
 * PVs, the group, every visible LV with its volume, and the group's
 * metadata as vgcfgbackup writes it (what a restore gives vgcfgrestore).
 * Read through the lvm program's JSON reports (no library of LVM's is
 * maintained for this); nothing is changed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/spawn.h"
#include "fs/fs.h"
#include "disk/stack-int.h"

/* lvm ARGS... --reportformat json --units s --nosuffix: the report's rows
 * of KIND ("pv", "vg", "lv"); NULL when lvm is missing or says nothing */
static json_object *lvm_report(char *const args[], size_t n_args, const char *kind,
			       json_object **ret_root)
{
	char *argv[16];
	size_t n = 0;
	_cleanup_free_ char *out = NULL;
	struct lb_spawn_opts o = { .quiet = true, .ret_out = &out, .stdin_fd = -1 };
	json_object *root, *report, *first, *rows;

	*ret_root = NULL;
	argv[n++] = "lvm";
	for (size_t i = 0; i < n_args && n < 10; i++)
		argv[n++] = args[i];
	argv[n++] = "--reportformat";
	argv[n++] = "json";
	argv[n++] = "--units";
	argv[n++] = "s";
	argv[n++] = "--nosuffix";
	argv[n] = NULL;
	if (lb_spawn(argv, &o) != 0 || !out)
		return NULL;
	root = json_tokener_parse(out);
	if (!root)
		return NULL;
	if (!json_object_object_get_ex(root, "report", &report) ||
	    !json_object_is_type(report, json_type_array) ||
	    json_object_array_length(report) < 1 ||
	    !(first = json_object_array_get_idx(report, 0)) ||
	    !json_object_object_get_ex(first, kind, &rows) ||
	    !json_object_is_type(rows, json_type_array)) {
		json_object_put(root);
		return NULL;
	}
	*ret_root = root;
	return rows;
}

static const char *field(json_object *row, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(row, name, &v))
		return "";
	return json_object_get_string(v);
}

static uint64_t field_u64(json_object *row, const char *name)
{
	uint64_t v = 0;

	lb_parse_u64(field(row, name), &v);
	return v;
}

static bool vg_known(const struct stack_scan *s, const char *uuid)
{
	for (size_t i = 0; s->m->stack && i < s->m->stack->n_vgs; i++)
		if (strcmp(s->m->stack->vgs[i]->uuid, uuid) == 0)
			return true;
	return false;
}

static int save_metadata(struct stack_scan *s, struct lb_vg *vg)
{
	_cleanup_free_ char *file = lb_asprintf("%s.lvm", vg->id);
	_cleanup_free_ char *path = lb_asprintf("%s/%s", s->outdir, file);
	char *argv[] = { "lvm", "vgcfgbackup", "-f", path, vg->name, NULL };
	char sum[65];
	uint64_t size;
	int r;

	r = lb_run(argv, true);
	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "volume group %s: lvm vgcfgbackup failed", vg->name);
	r = lb_sha256_file(path, sum, &size);
	if (r < 0)
		return r;
	vg->metadata = lb_artifact_new();
	vg->metadata->file = TAKE_PTR(file);
	vg->metadata->size = size;
	vg->metadata->sha256 = lb_strdup(sum);
	return 0;
}

static int read_lvs(struct stack_scan *s, struct lb_vg *vg)
{
	char *args[] = { "lvs", "-a", "-o",
			 "lv_name,lv_uuid,lv_size,segtype,stripes,pool_lv,lv_active,lv_dm_path,"
			 "origin,thin_id,transaction_id,chunk_size",
			 vg->name };
	json_object *root, *rows = lvm_report(args, LB_ARRAY_SIZE(args), "lv", &root);
	int r = 0;

	if (!rows)
		return lb_err(-EIO, "volume group %s: lvm lvs gave no report", vg->name);
	for (size_t i = 0; i < json_object_array_length(rows) && r >= 0; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		struct lb_lv *lv;
		_cleanup_free_ char *sys = NULL;

		/* hidden LVs ([pool_tmeta], [lvol0_pmspare]) are the
		 * metadata's business: vgcfgrestore brings them back */
		if (field(row, "lv_name")[0] == '[')
			continue;
		lv = lb_lv_new();
		lv->id = lb_asprintf("lv%zu", s->n_lv++);
		lv->name = lb_strdup(field(row, "lv_name"));
		lv->uuid = lb_strdup(field(row, "lv_uuid"));
		lv->segtype = lb_strdup(field(row, "segtype"));
		lv->size = field_u64(row, "lv_size");
		lv->stripes = (uint32_t)field_u64(row, "stripes");
		if (*field(row, "pool_lv"))
			lv->pool = lb_strdup(field(row, "pool_lv"));
		lv->active = strcmp(field(row, "lv_active"), "active") == 0;
		if (*field(row, "origin"))
			lv->origin = lb_strdup(field(row, "origin"));
		if (strcmp(lv->segtype, "thin") == 0)
			lv->thin_id = (uint32_t)field_u64(row, "thin_id");
		if (strcmp(lv->segtype, "thin-pool") == 0) {
			lv->transaction_id = field_u64(row, "transaction_id");
			lv->chunk_size = (uint32_t)field_u64(row, "chunk_size");
		}
		lb_vg_add_lv(vg, lv);
		if (!lv->active || strcmp(lv->segtype, "thin-pool") == 0)
			continue;
		sys = stack_sysname_of_path(field(row, "lv_dm_path"));
		if (!sys)
			continue;
		r = stack_node_volume(s, sys, lv->id, &lv->volume);
		stack_dev_add(s, sys, lv->id);
	}
	json_object_put(root);
	return r;
}

static int read_vg(struct stack_scan *s, struct lb_vg *vg)
{
	char *args[] = { "vgs", "-o", "vg_name,vg_uuid,vg_extent_size", vg->name };
	json_object *root, *rows = lvm_report(args, LB_ARRAY_SIZE(args), "vg", &root);
	int r;

	if (!rows || json_object_array_length(rows) != 1) {
		if (rows)
			json_object_put(root);
		return lb_err(-EIO, "volume group %s: lvm vgs gave no report", vg->name);
	}
	vg->extent_size = field_u64(json_object_array_get_idx(rows, 0), "vg_extent_size");
	json_object_put(root);
	r = read_lvs(s, vg);
	if (r < 0)
		return r;
	return save_metadata(s, vg);
}

/* the group of a PV on a known device, with every one of its PVs */
static int add_vg(struct stack_scan *s, json_object *pvs, const char *vg_uuid)
{
	struct lb_vg *vg = lb_vg_new();
	int r;

	vg->uuid = lb_strdup(vg_uuid);
	for (size_t i = 0; i < json_object_array_length(pvs); i++) {
		json_object *row = json_object_array_get_idx(pvs, i);
		_cleanup_free_ char *sys = NULL;
		struct lb_pv *pv;
		const char *id;

		if (strcmp(field(row, "vg_uuid"), vg_uuid) != 0)
			continue;
		if (!vg->name)
			vg->name = lb_strdup(field(row, "vg_name"));
		sys = stack_sysname_of_path(field(row, "pv_name"));
		id = stack_id_of(s, sys);
		pv = lb_pv_new();
		pv->on = lb_strdup(id ? id : "");
		pv->uuid = lb_strdup(field(row, "pv_uuid"));
		pv->pe_start = field_u64(row, "pe_start");
		pv->dev_size = field_u64(row, "dev_size");
		lb_vg_add_pv(vg, pv);
		if (!id)
			lb_manifest_warn(s->m, "volume group %s: physical volume %s is not on a captured disk",
					 vg->name, field(row, "pv_name"));
	}
	if (!s->m->stack)
		s->m->stack = lb_stack_new();
	vg->id = lb_asprintf("vg%zu", s->m->stack->n_vgs);
	r = read_vg(s, vg);
	if (r < 0) {
		lb_vg_free(vg);
		return r;
	}
	lb_stack_add_vg(s->m->stack, vg);
	return 0;
}

int stack_scan_lvm(struct stack_scan *s)
{
	char *args[] = { "pvs", "-o", "pv_name,pv_uuid,vg_name,vg_uuid,pe_start,dev_size" };
	json_object *root, *rows;
	int added = 0, r = 0;

	if (!lb_program_exists("lvm"))
		return 0;
	rows = lvm_report(args, LB_ARRAY_SIZE(args), "pv", &root);
	if (!rows)
		return 0;
	for (size_t i = 0; i < json_object_array_length(rows) && r >= 0; i++) {
		json_object *row = json_object_array_get_idx(rows, i);
		_cleanup_free_ char *sys = stack_sysname_of_path(field(row, "pv_name"));
		const char *vg_uuid = field(row, "vg_uuid");

		if (!*vg_uuid || !stack_id_of(s, sys) || vg_known(s, vg_uuid))
			continue;
		r = add_vg(s, rows, vg_uuid);
		if (r >= 0)
			added++;
	}
	json_object_put(root);
	return r < 0 ? r : added;
}

/* For the restore (restore/stack-thin.c): an lvm report's rows, with the
 * same argv rules as the scan's; a row's field as text ("" when absent) or
 * as a number (0 when absent or not one). */
json_object *lb_lvm_report(char *const args[], size_t n_args, const char *kind,
			   json_object **ret_root)
{
	return lvm_report(args, n_args, kind, ret_root);
}

const char *lb_lvm_field(json_object *row, const char *name)
{
	return field(row, name);
}

uint64_t lb_lvm_field_u64(json_object *row, const char *name)
{
	return field_u64(row, name);
}
