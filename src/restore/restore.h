/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Restoring: carrying out a plan, the restore-session marker. */
#ifndef LIFEBOAT_RESTORE_RESTORE_H
#define LIFEBOAT_RESTORE_RESTORE_H

#include "plan/plan.h"

/* ---- writing (restore.c, partwrite.c, marker.c) ----------------------- */

struct lb_restore_opts {
	bool quick;		/* --quick-format */
	bool data;
	const char *marker;	/* --marker PATH */
	bool efi;		/* may write this machine's EFI boot entries */
	FILE *log;		/* progress and the record of what was done */
};

int lb_restore_run(struct lb_plan *p, const struct lb_restore_opts *opts, const char *log_path,
		   char **ret_instance);
int lb_marker_write(const struct lb_plan *p, const char *path, char **ret_instance);
int lb_marker_render(const struct lb_plan *p, char **ret_xml, size_t *ret_len, char **ret_instance);

#endif
