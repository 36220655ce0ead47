/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Making the storage stack again (stack.c), one node at a time, bottom up,
 * each with the identity recorded at capture: MD arrays with their UUID,
 * name, level, metadata version, chunk, layout, bitmap and data offset
 * (mdadm --create); LUKS containers from their saved header and keyslots
 * (libcryptsetup), so the same passphrases and keys open them; LVM groups
 * from their recorded metadata, every PV with its UUID (pvcreate
 * --restorefile, vgcfgrestore), then activated. Artifacts are checked
 * against their SHA-256 and used from a private copy.
 */
#ifndef LIFEBOAT_RESTORE_STACK_H
#define LIFEBOAT_RESTORE_STACK_H

#include "model/model.h"
#include "plan/plan.h"

/* Where a restore makes a node: the array's node (/dev/md/lifeboat-ID),
 * the LUKS mapping's name (its recorded one, or lifeboat-ID). A drill's
 * nodes have names of their own (lifeboat-drill-ID): the machine's own
 * arrays and mappings of the same capture are never touched. */
char *lb_stack_md_node(const struct lb_md *md, bool drill);
char *lb_stack_luks_name(const struct lb_luks *l, bool drill);
/* MEMBER_NODES: the members' device nodes, in md->members order. The
 * array's node (lb_stack_md_node): *ret_node. */
int lb_stack_make_md(const struct lb_md *md, char *const *member_nodes, bool drill,
		     char **ret_node);
/* md-super.c: the recorded member UUID DEV_UUID written into the 1.x
 * superblock of member NODE of the stopped array MD (checked to be its). */
int lb_md_set_dev_uuid(const struct lb_md *md, const char *node, const char *dev_uuid);
/* The container's recorded header and keyslots onto NODE. */
int lb_stack_make_luks(const struct lb_manifest *m, const struct lb_luks *l, const char *node);
/* Opens the container on NODE with KEY_FILE as lb_stack_luks_name; the
 * mapping's node: *ret_node. */
int lb_stack_open_luks(const struct lb_luks *l, const char *node, const char *key_file,
		       bool drill, char **ret_node);
/* PV_NODES: the PVs' device nodes, in vg->pvs order. Makes each PV with
 * its UUID, restores the group's metadata and activates it. */
int lb_stack_make_vg(const struct lb_manifest *m, const struct lb_vg *vg, char *const *pv_nodes);
/* Thin pools (stack-thin.c): with the PVs made and the recorded metadata
 * (in the private file RESTOREFILE) restored, each pool's kernel metadata
 * made again: its thin devices with their recorded ids and its
 * transaction id. The pools are left inactive; the recorded metadata is
 * in place again. */
int lb_stack_make_thin(const struct lb_manifest *m, const struct lb_vg *vg, char *const *pv_nodes,
		       const char *restorefile);
/* The text of LVM metadata with every "transaction_id = N" line's N 0
 * (LEN bytes in, *ret_len out; NUL-terminated; to free). */
char *lb_thin_zero_transactions(const char *text, size_t len, size_t *ret_len);
/* stack.c's helpers: ARGV run quietly, its output in the error when it
 * fails (WHAT names the node); a private file holding BUF. */
int lb_stack_run_tool(char *const argv[], const char *what);
int lb_stack_private_file(const char *name, const void *buf, size_t n, bool secret,
			  char **ret_path);
/* The device node of an active LV: /dev/mapper/VG-LV, dashes doubled. */
char *lb_stack_lv_node(const struct lb_vg *vg, const struct lb_lv *lv);
/* Takes down what a plan's MAKE nodes made (a drill's, when done): each
 * group deactivated, each LUKS mapping closed, each array stopped, top
 * down; what is still busy is tried again. < 0 when something stays. */
int lb_stack_take_down(const struct lb_plan *p, bool drill);

#endif
