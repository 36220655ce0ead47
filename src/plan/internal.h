/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the planner's files share among themselves (not for other layers). */
#ifndef LIFEBOAT_PLAN_INTERNAL_H
#define LIFEBOAT_PLAN_INTERNAL_H

#include "plan/plan.h"

/* plan.c */
void lb_plan_problem(struct lb_plan *p, const char *fmt, ...) _printf_(2, 3);
void lb_plan_warning(struct lb_plan *p, const char *fmt, ...) _printf_(2, 3);

/* match.c */
bool lb_plan_same_text(const char *a, const char *b);
bool lb_plan_listed(char **list, size_t n, const struct lb_disk *d);
/* --disk-map, then each identity, then a blank disk */
void lb_plan_match(struct lb_plan *p, const struct lb_plan_opts *opts);

/* checks.c */
char *lb_plan_data_trouble(const struct lb_plan *p, const struct lb_volume *v);
void lb_plan_check_formatter(struct lb_plan *p, const struct lb_plan_volume *pv);
void lb_plan_check_disk(struct lb_plan *p, struct lb_plan_disk *pd);

/* stack.c */
void lb_plan_stack_nodes(struct lb_plan *p, const struct lb_plan_opts *opts);
void lb_plan_stack_keys(struct lb_plan *p);
struct lb_plan_node *lb_plan_node_of(const struct lb_plan *p, const char *id);
struct lb_plan_node *lb_plan_node_using(const struct lb_plan *p, const char *id);
struct lb_plan_disk *lb_plan_node_disk(const struct lb_plan *p, const char *id);
void lb_plan_free_nodes(struct lb_plan *p);

/* packs.c */
bool lb_plan_disk_critical(const struct lb_manifest *m, const struct lb_disk *d);
void lb_plan_exclude_volumes(struct lb_plan *p, const struct lb_plan_opts *opts);
void lb_plan_packs(struct lb_plan *p);
/* btrfs.c: a btrfs over several devices is made (or imaged) whole, once,
 * or the plan is refused */
void lb_plan_btrfs(struct lb_plan *p);

/* steps.c */
void lb_plan_build_steps(struct lb_plan *p, const struct lb_plan_opts *opts);
void lb_plan_free_steps(struct lb_plan *p);

#endif
