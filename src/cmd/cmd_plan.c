// SPDX-License-Identifier: GPL-3.0-or-later
/* What compare, restore and drill share: the plan options on the command
 * line, and load → scan this machine → plan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "plan/plan.h"
#include "cmd/cmd.h"
#include "cmd/cmd_plan.h"

int lb_plan_opt(struct lb_plan_opts *po, int c, const char *arg)
{
	switch (c) {
	case LB_OPT_DISK_MAP:
		po->maps = lb_realloc_array(po->maps, po->n_maps + 1, sizeof(*po->maps));
		if (lb_parse_disk_map(arg, &po->maps[po->n_maps]) < 0)
			return -EINVAL;
		po->n_maps++;
		return 1;
	case LB_OPT_EXCLUDE:
		po->exclude = lb_realloc_array(po->exclude, po->n_exclude + 1, sizeof(char *));
		po->exclude[po->n_exclude++] = lb_strdup(arg);
		return 1;
	case LB_OPT_EXCLUDE_VOLUME:
		po->exclude_volumes = lb_realloc_array(po->exclude_volumes, po->n_exclude_volumes + 1,
						       sizeof(char *));
		po->exclude_volumes[po->n_exclude_volumes++] = lb_strdup(arg);
		return 1;
	case LB_OPT_INCLUDE:
		po->include = lb_realloc_array(po->include, po->n_include + 1, sizeof(char *));
		po->include[po->n_include++] = lb_strdup(arg);
		return 1;
	case LB_OPT_VOLUME:
		po->volumes = lb_realloc_array(po->volumes, po->n_volumes + 1, sizeof(char *));
		po->volumes[po->n_volumes++] = lb_strdup(arg);
		return 1;
	case LB_OPT_ALL_VOLUMES:
		po->all_volumes = true;
		return 1;
	case LB_OPT_KEY_FILE:
		po->key_files = lb_realloc_array(po->key_files, po->n_key_files + 1, sizeof(char *));
		po->key_files[po->n_key_files++] = lb_strdup(arg);
		return 1;
	}
	return 0;
}

void lb_plan_opts_clear(struct lb_plan_opts *po)
{
	for (size_t i = 0; i < po->n_maps; i++) {
		free(po->maps[i].from);
		free(po->maps[i].to);
	}
	free(po->maps);
	for (size_t i = 0; i < po->n_exclude; i++)
		free(po->exclude[i]);
	free(po->exclude);
	for (size_t i = 0; i < po->n_exclude_volumes; i++)
		free(po->exclude_volumes[i]);
	free(po->exclude_volumes);
	for (size_t i = 0; i < po->n_include; i++)
		free(po->include[i]);
	free(po->include);
	for (size_t i = 0; i < po->n_volumes; i++)
		free(po->volumes[i]);
	free(po->volumes);
	for (size_t i = 0; i < po->n_key_files; i++)
		free(po->key_files[i]);
	free(po->key_files);
	memset(po, 0, sizeof(*po));
}

int lb_plan_for(const char *cmd, const char *capture, const struct lb_plan_opts *po,
		struct lb_manifest **ret_m, struct lb_plan **ret_p)
{
	struct lb_manifest *m = NULL;
	struct lb_target **targets = NULL;
	size_t n = 0;
	int r;

	r = lb_manifest_load(capture, &m);
	if (r < 0) {
		lb_warn("%s: %s", cmd, lb_errmsg());
		return LB_EXIT_USAGE;
	}
	/* an encrypted capture: the key file that opens it (none: the plan
	 * refuses whatever needs it) */
	r = lb_manifest_unlock(m, po->key_files, po->n_key_files);
	if (r < 0) {
		lb_warn("%s: %s", cmd, lb_errmsg());
		lb_manifest_free(m);
		return LB_EXIT_USAGE;
	}
	r = lb_targets_load(m->rt_dir, false, &targets, &n);
	if (r < 0) {
		lb_warn("%s: cannot survey this machine's disks: %s", cmd, lb_errmsg());
		lb_manifest_free(m);
		return LB_EXIT_FAIL;
	}
	lb_plan_build(m, po, targets, n, ret_p);
	*ret_m = m;
	return LB_EXIT_OK;
}
