/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the stack scanner's files share (stack.c, stack-md.c,
 * stack-luks.c, stack-lvm.c). */
#ifndef LIFEBOAT_DISK_STACK_INT_H
#define LIFEBOAT_DISK_STACK_INT_H

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "disk/disk.h"

/* The block devices the capture knows, by kernel name: a disk, a
 * partition or a node of the stack, and the device id it has in the
 * manifest. */
struct stack_dev {
	char *sysname;		/* sda2, md127, dm-3 */
	char *id;		/* disk0p2, md0, luks0, lv0 */
};

struct stack_scan {
	struct lb_manifest *m;
	const struct lb_sysinfo *si;
	const char *outdir;
	bool geometry;
	struct stack_dev *devs;
	size_t n_devs;
	size_t n_lv;		/* ids handed out */
};

const char *stack_id_of(const struct stack_scan *s, const char *sysname);
void stack_dev_add(struct stack_scan *s, const char *sysname, const char *id);
/* the kernel name of the block device at PATH (a node or a symlink) */
char *stack_sysname_of_path(const char *path);
/* the volume on a node (its filesystem or swap), or NULL when it holds
 * another layer of the stack or nothing */
int stack_node_volume(struct stack_scan *s, const char *sysname, const char *id,
		      struct lb_volume **ret);

/* each scans its kind once more; returns how many nodes it added */
int stack_scan_md(struct stack_scan *s);
int stack_scan_luks(struct stack_scan *s);
int stack_scan_lvm(struct stack_scan *s);

#endif
