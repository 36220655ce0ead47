/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Options and set-up shared by compare, restore and drill. */
#ifndef LIFEBOAT_CMD_PLAN_H
#define LIFEBOAT_CMD_PLAN_H

#include <stdio.h>

#include "model/model.h"
#include "plan/plan.h"

enum {
	LB_OPT_DISK_MAP = 0x100,
	LB_OPT_EXCLUDE,
	LB_OPT_INCLUDE,
	LB_OPT_VOLUME,
	LB_OPT_ALL_VOLUMES,
	LB_OPT_KEY_FILE,
	LB_OPT_EXCLUDE_VOLUME,
};

#define LB_PLAN_LONGOPTS                                                   \
	{ "disk-map", required_argument, NULL, LB_OPT_DISK_MAP },          \
	{ "exclude-disk", required_argument, NULL, LB_OPT_EXCLUDE },       \
	{ "include-disk", required_argument, NULL, LB_OPT_INCLUDE },       \
	{ "volume", required_argument, NULL, LB_OPT_VOLUME },              \
	{ "all-volumes", no_argument, NULL, LB_OPT_ALL_VOLUMES },         \
	{ "key-file", required_argument, NULL, LB_OPT_KEY_FILE },          \
	{ "exclude-volume", required_argument, NULL, LB_OPT_EXCLUDE_VOLUME }

/* Returns 1 when c was a plan option, 0 when not, < 0 on a bad value. */
int lb_plan_opt(struct lb_plan_opts *po, int c, const char *arg);
void lb_plan_opts_clear(struct lb_plan_opts *po);
/* Loads CAPTURE, surveys this machine and plans; returns an LB_EXIT_ code
 * (having said what went wrong). */
int lb_plan_for(const char *cmd, const char *capture, const struct lb_plan_opts *po,
		struct lb_manifest **ret_m, struct lb_plan **ret_p);

/* The one printer of a plan (plan_print.c): compare, restore, drill. */
int lb_plan_print(const struct lb_plan *p, FILE *f);
int lb_plan_print_json(const struct lb_plan *p, FILE *f);

#endif
