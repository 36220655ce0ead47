/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The storage stack in a drill (drill-stack.c), for drill.c only. */
#ifndef LIFEBOAT_RESTORE_DRILL_INT_H
#define LIFEBOAT_RESTORE_DRILL_INT_H

#include "model/model.h"
#include "plan/plan.h"

/* The node a drill made for the stack device ID (an array, a LUKS
 * mapping, an LV), or NULL when ID is not one. */
char *lb_drill_node_of(const struct lb_manifest *m, const char *id);
/* The volume on the drill's node of pv (a volume of the stack), probed. */
int lb_drill_node_volume(const struct lb_plan_volume *pv, const struct lb_manifest *m,
			 struct lb_volume **ret);
/* Before anything is made: each volume group the plan makes must not be
 * one LVM sees on this machine already (said through SAY). */
int lb_drill_check_stack(const struct lb_plan *p, void (*say)(void *ud, const char *text), void *ud);

#endif
