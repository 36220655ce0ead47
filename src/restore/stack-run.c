// SPDX-License-Identifier: GPL-3.0-or-later
/* The stack's steps (stack.h does the making): each node on the devices
 * it sits on, their old signatures wiped first, its node on this machine
 * remembered for what sits on it and for its volume. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "disk/disk.h"
#include "data/data.h"
#include "plan/plan.h"
#include "restore/stack.h"
#include "restore/internal.h"

const char *lb_run_dev_node(const struct lb_run *run, const char *id)
{
	for (size_t i = 0; i < run->n_devs; i++)
		if (strcmp(run->dev_ids[i], id) == 0)
			return run->dev_nodes[i];
	return NULL;
}

static void dev_set(struct lb_run *run, const char *id, const char *node)
{
	for (size_t i = 0; i < run->n_devs; i++)
		if (strcmp(run->dev_ids[i], id) == 0) {
			free(run->dev_nodes[i]);
			run->dev_nodes[i] = lb_strdup(node);
			return;
		}
	run->dev_ids = lb_realloc_array(run->dev_ids, run->n_devs + 1, sizeof(char *));
	run->dev_nodes = lb_realloc_array(run->dev_nodes, run->n_devs + 1, sizeof(char *));
	run->dev_ids[run->n_devs] = lb_strdup(id);
	run->dev_nodes[run->n_devs] = lb_strdup(node);
	run->n_devs++;
}

void lb_run_devs_free(struct lb_run *run)
{
	for (size_t i = 0; i < run->n_devs; i++) {
		free(run->dev_ids[i]);
		free(run->dev_nodes[i]);
	}
	free(run->dev_ids);
	free(run->dev_nodes);
	run->n_devs = 0;
}

/* The node on this machine of the device ID something sits on: a
 * partition or disk of a recreated disk, or a node made before. */
static int dev_node(const struct lb_run *run, const char *id, char **ret)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(run->p->m, id);
	const struct lb_plan_disk *pd = NULL;
	const char *made;

	for (size_t i = 0; ref.disk && i < run->p->n_disks; i++)
		if (run->p->disks[i].disk == ref.disk)
			pd = &run->p->disks[i];
	if (ref.kind == LB_DEV_PARTITION && pd && pd->target)
		return lb_partition_node(pd->target->sysname, ref.part->number, ret);
	if (ref.kind == LB_DEV_DISK && pd && pd->target) {
		*ret = lb_strdup(pd->target->path);
		return 0;
	}
	made = lb_run_dev_node(run, id);
	if (!made)
		return lb_err(-ENODEV, "%s: not made, or not on a disk of this restore", id);
	*ret = lb_strdup(made);
	return 0;
}

/* what a device held before: gone, so nothing old is taken for new */
static int wipe_dev(const char *node)
{
	int fd = open(node, O_RDWR | O_CLOEXEC | O_EXCL);
	uint64_t size = 0;
	int r;

	if (fd < 0)
		return lb_err(-errno, "%s: cannot open it exclusively: %s", node, strerror(errno));
	r = ioctl(fd, BLKGETSIZE64, &size) < 0 ? lb_err(-errno, "%s: %s", node, strerror(errno)) : 0;
	if (r >= 0)
		r = lb_wipe_signatures(fd, 0, size, 512);
	if (r >= 0 && fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", node, strerror(errno));
	close(fd);
	return r;
}

/* the nodes of the devices ON[0..n), wiped: *ret an array of n, to free */
static int member_nodes(struct lb_run *run, const char *const *on, size_t n, char ***ret)
{
	char **nodes = lb_zalloc((n + 1) * sizeof(*nodes));
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		r = dev_node(run, on[i], &nodes[i]);
		if (r >= 0)
			r = wipe_dev(nodes[i]);
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(nodes[i]);
		free(nodes);
		return r;
	}
	*ret = nodes;
	return 0;
}

static void free_nodes(char **nodes, size_t n)
{
	for (size_t i = 0; nodes && i < n; i++)
		free(nodes[i]);
	free(nodes);
}

static int make_md(struct lb_run *run, const struct lb_md *md)
{
	const char **on = lb_zalloc((md->n_members + 1) * sizeof(*on));
	_cleanup_free_ char *node = NULL;
	char **nodes = NULL;
	int r;

	for (size_t i = 0; i < md->n_members; i++)
		on[i] = md->members[i]->on;
	r = member_nodes(run, on, md->n_members, &nodes);
	free(on);
	if (r < 0)
		return r;
	lb_run_say(run, "%s: making the %s array %s (UUID %s) on %zu devices", md->id, md->level,
		   md->name ? lb_esc(md->name) : "", md->uuid, md->n_members);
	r = lb_stack_make_md(md, nodes, run->o->drill, &node);
	free_nodes(nodes, md->n_members);
	if (r < 0)
		return r;
	dev_set(run, md->id, node);
	return 0;
}

static int make_luks(struct lb_run *run, const struct lb_luks *l)
{
	_cleanup_free_ char *node = NULL;
	int r = dev_node(run, l->on, &node);

	if (r >= 0)
		r = wipe_dev(node);
	if (r < 0)
		return r;
	lb_run_say(run, "%s: putting back the LUKS%u header and keyslots on %s (UUID %s)", l->id,
		   l->version, node, l->uuid);
	r = lb_stack_make_luks(run->p->m, l, node);
	if (r >= 0)
		dev_set(run, l->id, node);	/* the container, until opened */
	return r;
}

static int open_luks(struct lb_run *run, const struct lb_luks *l)
{
	const char *node = lb_run_dev_node(run, l->id);
	int r = -ENOKEY;

	if (!node)
		return lb_err(-ENODEV, "%s: not made by this restore", l->id);
	for (size_t i = 0; i < run->p->n_key_files; i++) {
		_cleanup_free_ char *mapped = NULL;

		r = lb_stack_open_luks(l, node, run->p->key_files[i], run->o->drill, &mapped);
		if (r >= 0) {
			lb_run_say(run, "%s: opened as %s with %s", l->id, mapped,
				   lb_esc(run->p->key_files[i]));
			dev_set(run, l->id, mapped);
			return 0;
		}
		lb_debug("restore", "%s: %s", l->id, lb_errmsg());
	}
	return lb_err(r, "%s: none of the --key-file keys opens it", l->id);
}

/* The captured ciphertext onto the container's data segment, under the
 * header just put back (the same volume key: it decrypts as it did). No
 * key: nothing is opened. Bounded by the recorded data segment. */
static int write_ciphertext(struct lb_run *run, const struct lb_luks *l)
{
	const char *node = lb_run_dev_node(run, l->id);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1, dfd = -1;
	uint64_t size = 0, base = l->data_offset * 512, room = l->size * 512;
	struct lb_progress pr;
	int r;

	if (!node)
		return lb_err(-ENODEV, "%s: not made by this restore", l->id);
	fd = open(node, O_RDWR | O_CLOEXEC | O_EXCL);
	if (fd < 0)
		return lb_err(-errno, "%s: cannot open it exclusively: %s", node, strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		return lb_err(-errno, "%s: %s", node, strerror(errno));
	if (base > size || room > size - base)
		return lb_err(-ENOSPC, "%s: its data segment (%" PRIu64 " bytes at byte %" PRIu64
				       ") does not fit on %s (%" PRIu64 " bytes)",
			      l->id, room, base, node, size);
	path = lb_asprintf("%s/%s", run->p->m->rt_dir, l->ciphertext->file);
	dfd = lb_open_artifact(path);
	if (dfd < 0)
		return dfd;
	lb_run_say(run, "%s: writing its captured ciphertext under it on %s (no key needed)", l->id,
		   node);
	lb_progress_begin(&pr, l->id, lb_data_raw_total(dfd));
	r = lb_image_restore_at(dfd, l->id, l->ciphertext, fd, -1, base, room, lb_progress_update, &pr);
	lb_progress_end(&pr);
	return r;
}

static int make_vg(struct lb_run *run, const struct lb_vg *vg)
{
	const char **on = lb_zalloc((vg->n_pvs + 1) * sizeof(*on));
	char **nodes = NULL;
	int r;

	for (size_t i = 0; i < vg->n_pvs; i++)
		on[i] = vg->pvs[i]->on;
	r = member_nodes(run, on, vg->n_pvs, &nodes);
	free(on);
	if (r < 0)
		return r;
	lb_run_say(run, "%s: making the volume group %s (UUID %s) with its %zu LV%s", vg->id,
		   vg->name, vg->uuid, vg->n_lvs, vg->n_lvs == 1 ? "" : "s");
	r = lb_stack_make_vg(run->p->m, vg, nodes);
	free_nodes(nodes, vg->n_pvs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < vg->n_lvs; i++) {
		_cleanup_free_ char *node = lb_stack_lv_node(vg, vg->lvs[i]);

		dev_set(run, vg->lvs[i]->id, node);
	}
	return 0;
}

int lb_run_stack_step(struct lb_run *run, const struct lb_step *s)
{
	const struct lb_plan_node *pn = s->pn;

	switch (s->kind) {
	case LB_STEP_MAKE_MD:
		return make_md(run, pn->md);
	case LB_STEP_MAKE_LUKS:
		return make_luks(run, pn->luks);
	case LB_STEP_OPEN_LUKS:
		return open_luks(run, pn->luks);
	case LB_STEP_WRITE_CIPHERTEXT:
		return write_ciphertext(run, pn->luks);
	case LB_STEP_MAKE_VG:
		return make_vg(run, pn->vg);
	default:
		return lb_err(-EINVAL, "not a step of the stack: %s", lb_step_kind_name(s->kind));
	}
}
