/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What list and status share: DIR from the command line or the
 * configuration, the captures in it, a time as text. */
#ifndef LIFEBOAT_CMD_OPS_H
#define LIFEBOAT_CMD_OPS_H

#include <time.h>

#include "ops/ops.h"

/* DIR: the one argument left, else 'into' from the configuration, else
 * the default directory; an LB_EXIT_ code. */
int lb_cmd_dir_args(const char *cmd, int argc, char **argv, const struct lb_config *cf,
		    const char **ret_dir);
/* Each capture in dir (or dir itself when it holds manifest.xml),
 * inspected (verified), oldest first. */
int lb_cmd_captures(const char *dir, struct lb_capture_info **ret, size_t *ret_n);
void lb_cmd_captures_free(struct lb_capture_info *ci, size_t n);
/* 2026-12-07T05:00:00Z */
void lb_cmd_time(time_t t, char *buf, size_t len);

#endif
