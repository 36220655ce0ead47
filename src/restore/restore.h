/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Restoring: carrying out a plan's steps, the restore-session marker, drill. */
#ifndef LIFEBOAT_RESTORE_RESTORE_H
#define LIFEBOAT_RESTORE_RESTORE_H

#include "plan/plan.h"

/* ---- carrying out a plan (restore.c, volume.c, identity.c, log.c) ---- */

struct lb_restore_opts {
	bool quick;		/* --quick-format */
	bool log;		/* keep a restore log (LIFEBOAT_LOG_DIR, or
				 * /var/log/lifeboat), copied into the restored root */
	bool drill;		/* a rehearsal: arrays and LUKS mappings get
				 * names of their own (stack.h) */
};

/* Carries out p's steps in order; ret_log_path: the log written, if any
 * (also on failure: it says what was done). */
int lb_restore_run(struct lb_plan *p, const struct lb_restore_opts *opts, char **ret_instance,
		   char **ret_log_path);
int lb_marker_write(const struct lb_plan *p, const char *path, char **ret_instance);
int lb_marker_render(const struct lb_plan *p, char **ret_xml, size_t *ret_len, char **ret_instance);
/* where restore logs go */
const char *lb_restore_log_dir(void);

/* ---- the rehearsal (drill.c) ---- */

/* What drill shows, drawn by the command layer. */
struct lb_drill_ui {
	void *ud;
	void (*disk)(void *ud, const struct lb_disk *d, const char *dev);	/* attached */
	void (*plan)(void *ud, const struct lb_plan *p);			/* before the restore */
	void (*problem)(void *ud, const char *text);				/* of the plan */
	void (*line)(void *ud, const char *text);				/* a difference, a verdict */
};

/* Rehearses a restore of m on loop devices over sparse files in workdir
 * (NULL: a new directory under /var/tmp), with the key files given
 * (--key-file: LUKS keys; an encrypted capture's is m's already,
 * lb_manifest_unlock); the stack it made is taken down before the loop
 * devices go; 0 when everything came back exactly, < 0 (with lb_err) when
 * not, or on an error. */
int lb_drill_run(struct lb_manifest *m, const char *workdir, char **key_files, size_t n_key_files,
		 const struct lb_drill_ui *ui, char **ret_instance);

#endif
