/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the restore files share among themselves (not for other layers). */
#ifndef LIFEBOAT_RESTORE_INTERNAL_H
#define LIFEBOAT_RESTORE_INTERNAL_H

#include <stdio.h>

#include "restore/restore.h"

/* One restore being carried out. */
struct lb_run {
	struct lb_plan *p;
	const struct lb_restore_opts *o;
	FILE *log;			/* the restore log, or NULL */
	char *log_path;
	struct lb_plan_disk *open_pd;	/* the disk open for writing, */
	int fd;				/* its fd (-1: none) */
	unsigned failed;		/* volumes and disks that could not be restored */
	/* the stack made so far: device id -> its node on this machine */
	char **dev_ids, **dev_nodes;
	size_t n_devs;
};

/* A line of what is being done: said through the reporter and written to
 * the restore log. Whatever came from the capture is escaped by the caller
 * (lb_esc). */
void lb_run_say(struct lb_run *run, const char *fmt, ...) _printf_(2, 3);

/* log.c: the restore log, a file of this restore's own */
int lb_run_log_open(struct lb_run *run);
void lb_run_log_close(struct lb_run *run);

/* identity.c: before the first write to a disk */
int lb_run_check_disk(const struct lb_plan_disk *pd);
int lb_run_check_not_in_use(const struct lb_target *t);
/* the disk of pd open for writing, exclusively; the same device planned */
int lb_run_disk_fd(struct lb_run *run, struct lb_plan_disk *pd);
int lb_run_disk_close(struct lb_run *run);

/* volume.c */
int lb_run_format(struct lb_run *run, struct lb_plan_volume *pv);
int lb_run_write_image(struct lb_run *run, struct lb_plan_volume *pv);
int lb_run_extract(struct lb_run *run, struct lb_plan_volume *pv);
int lb_run_flush_device(const char *node);

/* btrfs-subvols.c: a btrfs's recorded subvolumes made (with their IDs)
 * in its top level, mounted privately, before its archive is extracted
 * there (lb_run_subvols_root); after, their read-only flags and the default
 * set (when r >= 0), and the top level unmounted: r or the first error */
struct lb_run_subvols;
int lb_run_subvols_begin(struct lb_run *run, const struct lb_volume *v, const char *node,
			 struct lb_run_subvols **ret);
const char *lb_run_subvols_root(const struct lb_run_subvols *rs);
/* (their files are extracted: the received ones get their received UUIDs
 * again, which empty ones must not: they are not what was received) */
void lb_run_subvols_filled(struct lb_run_subvols *rs);
int lb_run_subvols_end(struct lb_run *run, struct lb_run_subvols *rs, int r);
/* btrfs-share.c: each snapshot's files deduplicated against its parent's */
void lb_run_subvols_share(struct lb_run *run, int rootfd, const struct lb_btrfs_subvols *s);

/* stack-run.c: make-md, make-luks, open-luks, make-vg */
int lb_run_stack_step(struct lb_run *run, const struct lb_step *s);
/* the node of a device of the stack made by this restore, or NULL */
const char *lb_run_dev_node(const struct lb_run *run, const char *id);
void lb_run_devs_free(struct lb_run *run);

/* marker.c */
int lb_run_marker_in_root(struct lb_run *run, const struct lb_plan_volume *root, char **ret_instance);

#endif
