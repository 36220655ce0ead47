// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The planner's checks of what a restore needs: each disk to write (its
 * size and sector size, its artifacts, its table laid out on scratch), the
 * formatter of each volume to make, and each data file (there and of its
 * recorded size while planning; its header, framing and, with whole, every
 * byte before the first write).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/datafile.h"
#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "plan/internal.h"
#include "data/data.h"

/* Whether a volume's data file is there as the manifest records it: NULL,
 * or what is wrong with it. Only what costs no reading is checked here;
 * the data itself before a restore writes anything (lb_plan_check_data). */
char *lb_plan_data_trouble(const struct lb_plan *p, const struct lb_volume *v)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", p->m->rt_dir ? p->m->rt_dir : ".",
						 v->data->file);
	struct stat st;

	if (lstat(path, &st) < 0)
		return lb_asprintf("its data file %s is missing", path);
	if (!S_ISREG(st.st_mode))
		return lb_asprintf("its data file %s %s, not a regular file", path,
				   lb_file_kind(st.st_mode));
	if ((uint64_t)st.st_size != v->data->size)
		return lb_asprintf("its data file %s has %" PRIu64 " bytes, the manifest says %" PRIu64
				   " (truncated or replaced)",
				   path, (uint64_t)st.st_size, v->data->size);
	return NULL;
}

/* mkfs must be at hand for a volume that will be formatted */
void lb_plan_check_formatter(struct lb_plan *p, const struct lb_plan_volume *pv)
{
	const struct lb_volume *v = pv->vol;
	const struct lb_fs_ops *ops;

	if (pv->action != LB_VOL_FORMAT || strcmp(v->type, "ambiguous") == 0)
		return;
	ops = lb_fs_ops_find(v->type);
	if (!ops)
		lb_plan_problem(p, "%s: lifeboat cannot make %s volumes%s", v->id, v->type,
			v->data ? "" : " (and the capture holds no image of it)");
	else if (!lb_program_exists(ops->program))
		lb_plan_problem(p, "%s: %s is needed to make its %s volume and is not installed", v->id,
			ops->program, v->type);
	if (ops && ops->can_make) {
		_cleanup_free_ char *why = NULL;

		if (ops->can_make(v, &why) < 0)
			lb_plan_problem(p, "%s: %s cannot make it as recorded: %s", v->id, ops->program,
				why);
	}
}

static void check_artifacts(struct lb_plan *p, const struct lb_plan_disk *pd)
{
	const struct lb_disk *d = pd->disk;
	const struct lb_artifact *list[2] = { d->boot_code, d->mbr_gap };

	for (size_t i = 0; i < LB_ARRAY_SIZE(list); i++)
		if (list[i] && lb_artifact_verify(p->m, list[i]) < 0)
			lb_plan_problem(p, "%s: %s", d->id, lb_errmsg());
	for (size_t i = 0; i < d->n_parts; i++)
		if (d->parts[i]->content && lb_artifact_verify(p->m, d->parts[i]->content) < 0)
			lb_plan_problem(p, "%s: %s", d->id, lb_errmsg());
}

void lb_plan_check_disk(struct lb_plan *p, struct lb_plan_disk *pd)
{
	const struct lb_disk *d = pd->disk;
	const struct lb_target *t = pd->target;

	if (pd->verdict == LB_VERDICT_MISSING) {
		if (pd->why)
			lb_plan_problem(p, "%s (%s, %" PRIu64 " sectors of %u bytes) is missing: %s", d->id,
				d->path, d->size, d->sector_size, pd->why);
		else
			lb_plan_problem(p, "%s (%s, %" PRIu64 " sectors of %u bytes) is missing: no disk here "
				   "matches it; map one with --disk-map %s=DEVICE or leave it out with "
				   "--exclude-disk %s",
				d->id, d->path, d->size, d->sector_size, d->id, d->id);
		return;
	}
	if (pd->boot_code)
		check_artifacts(p, pd);
	if (pd->verdict != LB_VERDICT_RECREATE)
		return;
	/* DESIGN: a disk in use here, or holding the capture, is excluded
	 * automatically; that it needed recreating is said, and restore ends
	 * with an error once the rest is done */
	if (t->in_use || t->holds_capture) {
		free(pd->why);
		pd->why = t->in_use ? lb_asprintf("in use here, not written: %s", t->in_use)
				    : lb_strdup("holds the capture, not written");
		pd->verdict = LB_VERDICT_EXCLUDED;
		pd->held_back = true;
		return;
	}
	if (t->unreadable)
		lb_plan_problem(p, "%s -> %s: cannot read the disk: %s", d->id, t->path, t->unreadable);
	if (t->state && t->state->sector_size != d->sector_size)
		lb_plan_problem(p, "%s -> %s: logical sector size %u, recorded %u (migration is not supported)",
			d->id, t->path, t->state->sector_size, d->sector_size);
	else if (t->state && t->state->size < d->size)
		lb_plan_problem(p, "%s -> %s: %" PRIu64 " sectors, smaller than the recorded %" PRIu64
			   " (migration to a smaller disk is not supported)",
			d->id, t->path, t->state->size, d->size);
	check_artifacts(p, pd);
	if (d->label != LB_LABEL_NONE && t->state && t->state->size >= d->size &&
	    t->state->sector_size == d->sector_size && lb_table_check(d, t->state->size) < 0)
		lb_plan_problem(p, "%s: the recorded partition table cannot be made: %s", d->id, lb_errmsg());
}

/* The data file's header against the volume it goes to: the container a
 * restore of this kind reads (an image for one written as an image, a
 * stream for an archive extracted), and for an image, a volume no larger
 * than the recorded one. A restore checks both only after it zeroed or
 * formatted the volume. */
static int check_data_header(const struct lb_plan_volume *pv, int fd)
{
	const struct lb_volume *v = pv->vol;
	uint32_t want = pv->action == LB_VOL_IMAGE ? LB_CONTAINER_IMAGE : LB_CONTAINER_STREAM;
	uint64_t room = lb_volume_room(pv->pd->disk, pv->part), vol_size;
	uint32_t kind;
	int r;

	r = lb_data_read_header(fd, v->data->file, &kind, &vol_size);
	if (r < 0)
		return r;
	if (kind != want)
		return lb_err(-EBADMSG, "%s: holds %s, the manifest says %s", v->data->file,
			      kind == LB_CONTAINER_IMAGE ? "an image" : "an archive",
			      want == LB_CONTAINER_IMAGE ? "an image" : "an archive");
	if (kind == LB_CONTAINER_IMAGE && vol_size > room)
		return lb_err(-EBADMSG, "%s: an image of a %" PRIu64 "-byte volume, larger than the "
				       "recorded %" PRIu64 " bytes",
			      v->data->file, vol_size, room);
	return 0;
}

/* Checks every data file the restore will write before anything is
 * written: there, readable, its size as recorded, header (its kind and
 * volume size against the volume's), every chunk's
 * framing, index and trailer sound, and (whole) every byte against its
 * SHA-256: a damaged capture costs no disk. Without whole, the data is
 * only checked chunk by chunk as it is written (the capture is read once).
 * A problem for each one that fails. */
/* The ciphertext of a LUKS container: an image no larger than its data
 * segment, sound (whole: every byte against its SHA-256). */
static int check_ciphertext(const struct lb_plan *p, const struct lb_luks *l, bool whole)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", p->m->rt_dir, l->ciphertext->file);
	_cleanup_close_ int fd = lb_open_artifact(path);
	uint64_t vol_size;
	uint32_t kind;
	int r;

	if (fd < 0)
		return fd;
	r = lb_data_read_header(fd, l->ciphertext->file, &kind, &vol_size);
	if (r < 0)
		return r;
	if (kind != LB_CONTAINER_IMAGE || vol_size > l->size * 512)
		return lb_err(-EBADMSG, "%s: not an image of a data segment of at most %" PRIu64 " bytes",
			      l->ciphertext->file, l->size * 512);
	return whole ? lb_data_check_sum(fd, l->id, l->ciphertext)
		     : lb_data_check_framing(fd, l->id, l->ciphertext);
}

int lb_plan_check_data(struct lb_plan *p, bool whole)
{
	unsigned bad = 0;

	for (size_t i = 0; i < p->n_nodes; i++)
		if (p->nodes[i].ciphertext && check_ciphertext(p, p->nodes[i].luks, whole) < 0) {
			lb_plan_problem(p, "%s: its ciphertext is damaged: %s", p->nodes[i].id,
					lb_errmsg());
			bad++;
		}

	for (size_t i = 0; i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];
		_cleanup_free_ char *path = NULL;
		int fd;

		if (pv->action != LB_VOL_IMAGE && !pv->extract)
			continue;
		path = lb_asprintf("%s/%s", p->m->rt_dir, pv->vol->data->file);
		fd = lb_open_artifact(path);
		if (fd < 0) {
			lb_plan_problem(p, "%s: %s", pv->vol->id, lb_errmsg());
			bad++;
			continue;
		}
		if (check_data_header(pv, fd) < 0 ||
		    (whole ? lb_data_check_sum(fd, pv->vol->id, pv->vol->data)
			   : lb_data_check_framing(fd, pv->vol->id, pv->vol->data)) < 0) {
			lb_plan_problem(p, "%s: its data is damaged: %s", pv->vol->id, lb_errmsg());
			bad++;
		}
		close(fd);
	}
	return bad ? -EBADMSG : 0;
}
