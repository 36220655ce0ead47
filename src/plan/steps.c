// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The steps a restore takes, in order: every write the plan's verdicts and
 * actions call for, each with its disk or volume and the reason. Restore
 * (src/restore/) carries them out one after the other and decides nothing;
 * compare, restore --dry-run, drill and the rescue menu print the same list.
 *
 * The order, and why:
 *   1. Each disk in the manifest's order, its whole-disk writes together:
 *      a. check-disk before its first write: it is still the disk planned
 *         (device number, size, sector size, signature or blankness), or
 *         nothing is written to it;
 *      b. to recreate: wipe-disk (old GPT headers at both ends, old
 *         superblocks), write-table (libfdisk: GPT backup entries and
 *         header, primary entries and header, protective MBR), boot-code,
 *         mbr-gap, then tell-kernel (BLKPG) once the table is on the disk,
 *         then write-content of a BIOS boot partition (the kernel's view
 *         does not matter to it; it lies inside the new table);
 *      c. intact with its boot code or a BIOS boot partition blank (a
 *         restore stopped after the table): those areas only.
 *      An interrupted restore run again finds the disks whose table was
 *      written intact, and goes on from c and 2.
 *   2. kernel-ensure on each intact disk with volumes to make: the kernel
 *      must know their partitions (a restore stopped before tell-kernel).
 *   2b. The stack, bottom up, once every disk has its table: make-md (the
 *      array with its UUID, name and geometry on its members), make-luks
 *      (the recorded header and keyslots), write-ciphertext (its captured
 *      ciphertext under it: what is inside comes back without a key) or
 *      open-luks (with a key file, when something inside is made), make-vg (each PV with its UUID, the
 *      recorded metadata, activated): each node once everything it sits
 *      on has been made.
 *   3. Each volume in the manifest's order, once every disk has its table:
 *      format or write-image (each wipes the signatures in its range
 *      first), then extract of its archive into the new filesystem.
 *   4. efi-entries, once the ESP's disk is back (only when it was
 *      recreated here, never from a drill).
 *   5. marker last: it records what was restored, and goes into the
 *      restored root filesystem (or --marker PATH).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"
#include "plan/internal.h"

static const char *const step_names[] = {
	[LB_STEP_CHECK_DISK] = "check-disk",
	[LB_STEP_WIPE_DISK] = "wipe-disk",
	[LB_STEP_WRITE_TABLE] = "write-table",
	[LB_STEP_BOOT_CODE] = "boot-code",
	[LB_STEP_MBR_GAP] = "mbr-gap",
	[LB_STEP_TELL_KERNEL] = "tell-kernel",
	[LB_STEP_KERNEL_ENSURE] = "kernel-ensure",
	[LB_STEP_WRITE_CONTENT] = "write-content",
	[LB_STEP_FORMAT] = "format",
	[LB_STEP_WRITE_IMAGE] = "write-image",
	[LB_STEP_EXTRACT] = "extract",
	[LB_STEP_MAKE_MD] = "make-md",
	[LB_STEP_MAKE_LUKS] = "make-luks",
	[LB_STEP_OPEN_LUKS] = "open-luks",
	[LB_STEP_WRITE_CIPHERTEXT] = "write-ciphertext",
	[LB_STEP_MAKE_VG] = "make-vg",
	[LB_STEP_EFI_ENTRIES] = "efi-entries",
	[LB_STEP_MARKER] = "marker",
};

const char *lb_step_kind_name(enum lb_step_kind k)
{
	return step_names[k];
}

struct builder {
	struct lb_plan *p;
	bool *checked;		/* per disk: its check-disk is in the list */
};

static struct lb_step *add(struct builder *b, enum lb_step_kind kind, struct lb_plan_disk *pd,
			   struct lb_plan_volume *pv, const struct lb_artifact *art, char *why)
{
	struct lb_plan *p = b->p;
	struct lb_step *s;

	p->steps = lb_realloc_array(p->steps, p->n_steps + 1, sizeof(*p->steps));
	s = &p->steps[p->n_steps++];
	*s = (struct lb_step){ .kind = kind, .pd = pd, .pv = pv, .art = art, .why = why };
	return s;
}

/* check-disk, once per disk, before its first write */
static void check_first(struct builder *b, struct lb_plan_disk *pd)
{
	size_t i = (size_t)(pd - b->p->disks);

	if (b->checked[i])
		return;
	b->checked[i] = true;
	add(b, LB_STEP_CHECK_DISK, pd, NULL, NULL,
	    lb_strdup(pd->target->blank ? "before its first write: still blank, as planned"
					: "before its first write: still the disk planned"));
}

static void content_steps(struct builder *b, struct lb_plan_disk *pd)
{
	struct lb_plan *p = b->p;

	for (size_t i = 0; i < p->n_vols; i++) {
		struct lb_plan_volume *pv = &p->vols[i];

		if (pv->pd == pd && pv->action == LB_VOL_CONTENT)
			add(b, LB_STEP_WRITE_CONTENT, pd, pv, pv->part->content,
			    lb_asprintf("partition %u: its recorded contents", pv->part->number));
	}
}

static bool has_content(const struct lb_plan *p, const struct lb_plan_disk *pd)
{
	for (size_t i = 0; i < p->n_vols; i++)
		if (p->vols[i].pd == pd && p->vols[i].action == LB_VOL_CONTENT)
			return true;
	return false;
}

static void recreate_steps(struct builder *b, struct lb_plan_disk *pd)
{
	const struct lb_disk *d = pd->disk;

	check_first(b, pd);
	add(b, LB_STEP_WIPE_DISK, pd, NULL, NULL, lb_strdup(pd->why ? pd->why : "recreate"));
	if (d->label != LB_LABEL_NONE)
		add(b, LB_STEP_WRITE_TABLE, pd, NULL, NULL,
		    lb_asprintf("%s, %zu partition%s", lb_label_type_name(d->label), d->n_parts,
				d->n_parts == 1 ? "" : "s"));
	if (d->boot_code)
		add(b, LB_STEP_BOOT_CODE, pd, NULL, d->boot_code, lb_strdup("recorded boot code"));
	if (d->mbr_gap)
		add(b, LB_STEP_MBR_GAP, pd, NULL, d->mbr_gap, lb_strdup("recorded post-MBR gap"));
	add(b, LB_STEP_TELL_KERNEL, pd, NULL, NULL, lb_strdup("the new partitions"));
	content_steps(b, pd);
}

/* an intact disk whose boot code or BIOS boot contents are blank: a
 * restore stopped after the table; those areas are written now */
static void finish_steps(struct builder *b, struct lb_plan_disk *pd)
{
	const struct lb_disk *d = pd->disk;

	if (!pd->boot_code && !has_content(b->p, pd))
		return;
	check_first(b, pd);
	if (pd->boot_code)
		add(b, LB_STEP_BOOT_CODE, pd, NULL, d->boot_code,
		    lb_strdup("blank on an intact disk (an interrupted restore)"));
	if (pd->boot_code && d->mbr_gap)
		add(b, LB_STEP_MBR_GAP, pd, NULL, d->mbr_gap,
		    lb_strdup("written with the boot code"));
	content_steps(b, pd);
}

static void kernel_steps(struct builder *b)
{
	struct lb_plan *p = b->p;

	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		bool needs = false;

		if (pd->verdict != LB_VERDICT_INTACT || pd->disk->label == LB_LABEL_NONE)
			continue;
		for (size_t j = 0; j < p->n_vols; j++)
			needs |= p->vols[j].pd == pd && lb_plan_volume_writes(&p->vols[j]);
		if (!needs)
			continue;
		check_first(b, pd);
		add(b, LB_STEP_KERNEL_ENSURE, pd, NULL, NULL,
		    lb_strdup("volumes to make on an intact disk: the kernel must know their partitions"));
	}
}

/* a device the stack sits on is there: a partition or disk, or a node
 * already made */
static bool dev_ready(const struct lb_plan *p, const char *id, const bool *made)
{
	const struct lb_plan_node *pn = lb_plan_node_of(p, id);

	return !pn || made[pn - p->nodes];
}

static bool node_ready(const struct lb_plan *p, const struct lb_plan_node *pn, const bool *made)
{
	bool ready = true;

	for (size_t i = 0; pn->md && i < pn->md->n_members; i++)
		ready &= dev_ready(p, pn->md->members[i]->on, made);
	if (pn->luks)
		ready &= dev_ready(p, pn->luks->on, made);
	for (size_t i = 0; pn->vg && i < pn->vg->n_pvs; i++)
		ready &= dev_ready(p, pn->vg->pvs[i]->on, made);
	return ready;
}

static void node_steps(struct builder *b, struct lb_plan_node *pn)
{
	switch (pn->kind) {
	case LB_DEV_MD:
		add(b, LB_STEP_MAKE_MD, NULL, NULL, NULL,
		    lb_asprintf("%s, %u devices, UUID %s", pn->md->level, pn->md->raid_devices,
				pn->md->uuid))->pn = pn;
		break;
	case LB_DEV_LUKS:
		add(b, LB_STEP_MAKE_LUKS, NULL, NULL, pn->luks->header,
		    lb_asprintf("LUKS%u, UUID %s", pn->luks->version, pn->luks->uuid))->pn = pn;
		if (pn->ciphertext)
			add(b, LB_STEP_WRITE_CIPHERTEXT, NULL, NULL, pn->luks->ciphertext,
			    lb_strdup("everything inside it, as captured ciphertext: no key needed"))
				->pn = pn;
		if (pn->open)
			add(b, LB_STEP_OPEN_LUKS, NULL, NULL, NULL,
			    lb_strdup("what is inside it is made"))->pn = pn;
		break;
	default:
		add(b, LB_STEP_MAKE_VG, NULL, NULL, pn->vg->metadata,
		    lb_asprintf("%s, %zu PV%s, %zu LV%s", pn->vg->name, pn->vg->n_pvs,
				pn->vg->n_pvs == 1 ? "" : "s", pn->vg->n_lvs,
				pn->vg->n_lvs == 1 ? "" : "s"))->pn = pn;
		break;
	}
}

/* the nodes to make, each once everything under it is there */
static void stack_steps(struct builder *b)
{
	struct lb_plan *p = b->p;
	bool *made = lb_zalloc(sizeof(*made) * (p->n_nodes + 1));
	bool progress = true;

	for (size_t i = 0; i < p->n_nodes; i++)
		made[i] = p->nodes[i].action != LB_NODE_MAKE;
	while (progress) {
		progress = false;
		for (size_t i = 0; i < p->n_nodes; i++) {
			if (made[i] || !node_ready(p, &p->nodes[i], made))
				continue;
			node_steps(b, &p->nodes[i]);
			made[i] = progress = true;
		}
	}
	for (size_t i = 0; i < p->n_nodes; i++)
		if (!made[i])
			lb_plan_problem(p, "%s: what it sits on is never made", p->nodes[i].id);
	free(made);
}

static char *volume_why(const struct lb_plan_volume *pv)
{
	if (pv->rollback)
		return lb_asprintf("on an intact disk, %s: %s",
				   pv->rollback == LB_ROLLBACK_CRITICAL ? "critical"
				   : pv->rollback == LB_ROLLBACK_NAMED	? "named with --volume"
									: "--all-volumes",
				   pv->vol->data ? "its data is put back" : "made again");
	if (pv->why)
		return lb_strdup(pv->why);
	return lb_strdup(pv->pd->verdict == LB_VERDICT_RECREATE ? "its disk is recreated" : "");
}

static void volume_steps(struct builder *b)
{
	struct lb_plan *p = b->p;

	for (size_t i = 0; i < p->n_vols; i++) {
		struct lb_plan_volume *pv = &p->vols[i];

		if (!lb_plan_volume_writes(pv))
			continue;
		check_first(b, pv->pd);
		add(b, pv->action == LB_VOL_IMAGE ? LB_STEP_WRITE_IMAGE : LB_STEP_FORMAT, pv->pd, pv,
		    pv->action == LB_VOL_IMAGE ? pv->vol->data : NULL, volume_why(pv));
		if (pv->extract)
			add(b, LB_STEP_EXTRACT, pv->pd, pv, pv->vol->data,
			    lb_strdup("its captured files"));
	}
}

/* the EFI boot entries: only when the ESP's own disk is recreated here
 * (never from a drill, whose loop devices are not this machine's disks) */
static void efi_step(struct builder *b, const struct lb_plan_opts *opts)
{
	struct lb_plan *p = b->p;
	const char *esp = p->m->boot ? p->m->boot->esp : NULL;

	if (!esp || opts->no_efi || getenv("LIFEBOAT_NO_EFI"))
		return;
	for (size_t i = 0; i < p->n_vols; i++)
		if (p->vols[i].vol->id && strcmp(p->vols[i].vol->id, esp) == 0 &&
		    p->vols[i].pd->verdict == LB_VERDICT_RECREATE) {
			add(b, LB_STEP_EFI_ENTRIES, NULL, NULL, NULL,
			    lb_asprintf("the ESP %s is on a recreated disk", esp));
			return;
		}
}

/* The marker goes to --marker PATH, or into the restored root volume: one
 * made or kept, on a disk not in use here (the running system's root is
 * never mounted twice). */
static void marker_step(struct builder *b, const struct lb_plan_opts *opts)
{
	struct lb_plan *p = b->p;
	struct lb_plan_volume *root = NULL;

	if (opts->marker) {
		add(b, LB_STEP_MARKER, NULL, NULL, NULL, lb_strdup("--marker"))->path =
			lb_strdup(opts->marker);
		return;
	}
	for (size_t i = 0; i < p->n_vols; i++) {
		struct lb_plan_volume *pv = &p->vols[i];

		if (pv->vol->mountpoint && strcmp(pv->vol->mountpoint, "/") == 0 &&
		    (pv->action == LB_VOL_FORMAT || pv->action == LB_VOL_KEEP ||
		     pv->action == LB_VOL_IMAGE))
			root = pv;
	}
	for (size_t i = 0; i < p->n_vols && !root; i++)
		if (p->vols[i].vol->mountpoint && strcmp(p->vols[i].vol->mountpoint, "/") == 0 &&
		    p->vols[i].action == LB_VOL_CIPHERTEXT) {
			p->no_marker = lb_asprintf("%s: the root volume comes back inside LUKS ciphertext, "
						   "which is never opened here; use --marker",
						   p->vols[i].vol->id);
			return;
		}
	if (!root)
		p->no_marker = lb_strdup("no root volume among the restored ones and no --marker");
	else if (root->pd->target->in_use)
		p->no_marker = lb_asprintf("%s: the root volume is in use here (%s); use --marker",
					   root->vol->id, root->pd->target->in_use);
	else
		add(b, LB_STEP_MARKER, root->pd, root, NULL,
		    lb_asprintf("into the restored root %s", root->vol->id));
}

/* An encrypted capture's artifacts are read only with its key: without it
 * nothing is written (lb_manifest_unlock found it, or not, before the plan).
 * When all it would read is volume contents for intact disks (a roll back),
 * the problem is one of those: the layout still matches (compare, status). */
static void encrypted_check(struct lb_plan *p)
{
	const struct lb_artifact *first = NULL;
	bool layout = false;

	if (!p->m->encryption || p->m->rt_key)
		return;
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct lb_step *s = &p->steps[i];

		if (!s->art)
			continue;
		if (!first)
			first = s->art;
		if (!s->pv || s->pv->rollback == LB_ROLLBACK_NONE)
			layout = true;
	}
	if (!first)
		return;
	if (p->n_key_files)
		lb_plan_problem(p, "the capture is encrypted and none of the %zu --key-file key%s "
				   "opens it (wrong key): %s and the rest cannot be read",
				p->n_key_files, p->n_key_files == 1 ? "" : "s", first->file);
	else
		lb_plan_problem(p, "the capture is encrypted: %s and the rest cannot be read without "
				   "its key (--key-file FILE)",
				first->file);
	if (!layout)
		p->n_content_problems++;
}

void lb_plan_build_steps(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	struct builder b = { .p = p };

	if (p->n_problems)
		return;
	b.checked = lb_zalloc(sizeof(*b.checked) * (p->n_disks + 1));
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];

		if (pd->verdict == LB_VERDICT_RECREATE)
			recreate_steps(&b, pd);
		else if (pd->verdict == LB_VERDICT_INTACT)
			finish_steps(&b, pd);
	}
	kernel_steps(&b);
	stack_steps(&b);
	volume_steps(&b);
	efi_step(&b, opts);
	/* nothing else written: no marker in the root either (restore has
	 * nothing to do); --marker PATH is written all the same */
	if (p->n_steps || opts->marker)
		marker_step(&b, opts);
	encrypted_check(p);
	free(b.checked);
	if (p->n_problems)
		lb_plan_free_steps(p);
}

void lb_plan_free_steps(struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		free(p->steps[i].why);
		free(p->steps[i].path);
	}
	free(p->steps);
	p->steps = NULL;
	p->n_steps = 0;
	free(p->no_marker);
	p->no_marker = NULL;
}
