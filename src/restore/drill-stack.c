// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The storage stack in a rehearsal (drill.c): the arrays and LUKS
 * mappings a drill makes on its loop devices have names of their own
 * (stack.h), so the machine's own ones of the same capture stay as they
 * are; a volume group cannot be renamed without changing its identity,
 * so a drill whose group's name LVM already sees on this machine is
 * refused before anything is made (run it from the rescue system or on
 * another machine). Afterwards the volumes on the stack are found on the
 * drill's nodes, and the stack is taken down before the loop devices go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/spawn.h"
#include "model/model.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "restore/restore.h"
#include "restore/stack.h"
#include "restore/drill-int.h"

char *lb_drill_node_of(const struct lb_manifest *m, const char *id)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(m, id);
	_cleanup_free_ char *name = NULL;

	switch (ref.kind) {
	case LB_DEV_MD:
		return lb_stack_md_node(ref.md, true);
	case LB_DEV_LUKS:
		name = lb_stack_luks_name(ref.luks, true);
		return lb_asprintf("/dev/mapper/%s", name);
	case LB_DEV_LV:
		return lb_stack_lv_node(ref.vg, ref.lv);
	default:
		return NULL;
	}
}

int lb_drill_node_volume(const struct lb_plan_volume *pv, const struct lb_manifest *m,
			 struct lb_volume **ret)
{
	_cleanup_free_ char *node = lb_drill_node_of(m, pv->vol->id);

	if (!node)
		return lb_err(-ENODEV, "%s: not a node of the stack", pv->vol->id);
	return lb_scan_node_volume(node, pv->vol->id, pv->pd->disk->sector_size, 0, 0, 0, NULL, NULL,
				   true, ret);
}

/* the names of the volume groups LVM sees here, one a line */
static char *vgs_here(void)
{
	char *argv[] = { "lvm", "vgs", "--noheadings", "-o", "vg_name", NULL };
	char *out = NULL;
	struct lb_spawn_opts o = { .quiet = true, .ret_out = &out, .stdin_fd = -1 };

	if (lb_spawn(argv, &o) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static bool listed(const char *lines, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = lines; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);

		while (len && (*l == ' ' || *l == '\t')) {
			l++;
			len--;
		}
		while (len && (l[len - 1] == ' ' || l[len - 1] == '\t'))
			len--;
		if (len == n && strncmp(l, name, n) == 0)
			return true;
		l = end ? end + 1 : l + len;
	}
	return false;
}

int lb_drill_check_stack(const struct lb_plan *p, void (*say)(void *ud, const char *text), void *ud)
{
	_cleanup_free_ char *here = NULL;
	unsigned clash = 0;

	for (size_t i = 0; i < p->n_nodes; i++) {
		const struct lb_plan_node *pn = &p->nodes[i];
		_cleanup_free_ char *text = NULL;

		if (!pn->vg || pn->action != LB_NODE_MAKE)
			continue;
		if (!here && !(here = vgs_here()))
			return 0;	/* no lvm here: the plan says so */
		if (!listed(here, pn->vg->name))
			continue;
		text = lb_asprintf("%s: a volume group named %s is on this machine: a drill cannot make "
				   "a second one (run it from the rescue system or on another machine)",
				   pn->id, lb_esc(pn->vg->name));
		say(ud, text);
		clash++;
	}
	return clash ? lb_err(-EEXIST, "the capture's volume groups are on this machine") : 0;
}
