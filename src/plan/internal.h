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

/* steps.c */
void lb_plan_build_steps(struct lb_plan *p, const struct lb_plan_opts *opts);
void lb_plan_free_steps(struct lb_plan *p);

#endif
