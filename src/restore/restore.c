// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Carrying out a checked plan: its steps (plan/steps.c builds them and
 * documents their order), one after the other. Nothing is decided here;
 * this file refuses to start on a plan with problems, re-checks each disk
 * right before its first write (check-disk: identity.c), and checks again,
 * before each write on an intact disk, that it is not in use.
 *
 * A volume that fails is named and left; the others go on (the steps of a
 * failed volume after it are skipped, and so is the marker in a failed
 * root). A disk step that fails stops the restore. Running it again after
 * an interruption finishes the job: a disk whose table was written is
 * intact the next time, and its volumes still blank are made.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "restore/internal.h"

/* For tests of an interrupted restore: LIFEBOAT_FAULT=POINT kills lifeboat
 * there, as a power cut or kill -9 would. LIFEBOAT_STOP=POINT stops it
 * (SIGSTOP) there, for a test to change a disk before it goes on. */
static void fault_point(const char *point)
{
	const char *f = getenv("LIFEBOAT_FAULT");
	const char *s = getenv("LIFEBOAT_STOP");

	if (f && strcmp(f, point) == 0) {
		lb_warn("LIFEBOAT_FAULT=%s: killing myself here", point);
		sync();
		kill(getpid(), SIGKILL);
	}
	if (s && strcmp(s, point) == 0) {
		lb_warn("LIFEBOAT_STOP=%s: stopped here until SIGCONT", point);
		kill(getpid(), SIGSTOP);
	}
}

/* Writes an artifact at byte off of the disk, into an area of room bytes
 * (its recorded geometry): never past it, whatever the manifest says (it
 * was checked at load; this is the last line). */
static int write_artifact(struct lb_run *run, struct lb_plan_disk *pd, const struct lb_artifact *a,
			  uint64_t off, uint64_t room)
{
	const char *dev = pd->target->path;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int fd, r;

	/* (checked against the artifact's checksum and, encrypted, its key:
	 * what is written is what the capture holds) */
	r = lb_artifact_load(run->p->m, a, &buf, &len);
	if (r < 0)
		return r;
	if (len > room)
		return lb_err(-ERANGE, "%s: will not write %s: %zu bytes at byte %" PRIu64
				       " where %" PRIu64 " belong to it",
			      dev, a->file, len, off, room);
	fd = lb_run_disk_fd(run, pd);
	if (fd < 0)
		return fd;
	r = lb_pwrite_all(fd, buf, len, off);
	if (r < 0)
		return lb_err(r, "%s: cannot write %s at byte %" PRIu64 ": %s", dev, a->file, off,
			      strerror(-r));
	return 0;
}

static int wipe_disk(struct lb_run *run, struct lb_plan_disk *pd, const struct lb_step *s)
{
	const struct lb_target *t = pd->target;
	int fd = lb_run_disk_fd(run, pd);

	if (fd < 0)
		return fd;
	lb_run_say(run, "%s -> %s: recreating (%s)", pd->disk->id, t->path, lb_esc(s->why));
	return lb_wipe_signatures(fd, 0, t->state->size * t->state->sector_size, pd->disk->sector_size);
}

static int write_table(struct lb_run *run, struct lb_plan_disk *pd)
{
	int fd = lb_run_disk_fd(run, pd);
	int r;

	if (fd < 0)
		return fd;
	r = lb_table_write(pd->disk, pd->target->path, fd);
	if (r < 0)
		return r;
	fault_point("after-table");
	lb_run_say(run, "%s -> %s: partition table written", pd->disk->id, pd->target->path);
	return 0;
}

static int tell_kernel(struct lb_run *run, struct lb_plan_disk *pd)
{
	int fd = lb_run_disk_fd(run, pd);

	if (fd < 0)
		return fd;
	if (fsync(fd) < 0)
		return lb_err(-errno, "%s: cannot sync: %s", pd->target->path, strerror(errno));
	return lb_kernel_update_partitions(pd->disk, pd->target->sysname, fd);
}

static int kernel_ensure(struct lb_run *run, struct lb_plan_disk *pd)
{
	int fd, r;

	r = lb_run_disk_close(run);
	if (r < 0)
		return r;
	fd = open(pd->target->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lb_err(-errno, "%s: %s", pd->target->path, strerror(errno));
	r = lb_kernel_ensure_partitions(pd->disk, pd->target->sysname, fd);
	close(fd);
	return r;
}

static int disk_step(struct lb_run *run, const struct lb_step *s)
{
	struct lb_plan_disk *pd = s->pd;
	const struct lb_disk *d = pd->disk;
	int r;

	switch (s->kind) {
	case LB_STEP_CHECK_DISK:
		r = lb_run_disk_close(run);
		if (r >= 0)
			r = lb_run_check_disk(pd);
		return r;
	case LB_STEP_WIPE_DISK:
		return wipe_disk(run, pd, s);
	case LB_STEP_WRITE_TABLE:
		return write_table(run, pd);
	case LB_STEP_BOOT_CODE:
		if (pd->verdict == LB_VERDICT_INTACT)
			lb_run_say(run, "%s -> %s: intact, boot code blank: writing it (finishing an "
					"interrupted restore)",
				   d->id, pd->target->path);
		return write_artifact(run, pd, s->art, 0, LB_BOOT_CODE_SIZE);
	case LB_STEP_MBR_GAP:
		return write_artifact(run, pd, s->art, d->sector_size, lb_disk_mbr_gap_room(d));
	case LB_STEP_TELL_KERNEL:
		return tell_kernel(run, pd);
	case LB_STEP_WRITE_CONTENT:
		lb_run_say(run, "%s: writing its recorded contents (%s)", s->pv->vol->id,
			   lb_esc(s->art->file));
		return write_artifact(run, pd, s->art, s->pv->part->start * d->sector_size,
				      lb_partition_room(d, s->pv->part));
	case LB_STEP_KERNEL_ENSURE:
		return kernel_ensure(run, pd);
	default:
		return lb_err(-EINVAL, "not a disk step: %s", lb_step_kind_name(s->kind));
	}
}

static bool volume_failed(const struct lb_plan_volume *pv)
{
	return pv && pv->result && strncmp(pv->result, "failed", 6) == 0;
}

/* format, write-image, extract: a failure is the volume's, and the rest
 * of the restore goes on */
static int volume_step(struct lb_run *run, const struct lb_step *s, bool last)
{
	struct lb_plan_volume *pv = s->pv;
	int r;

	if (volume_failed(pv))
		return 0;
	r = lb_run_disk_close(run);
	/* (a volume of a node this restore made: the node holds the disk) */
	if (r >= 0 && pv->pd->verdict == LB_VERDICT_INTACT &&
	    !(pv->node && pv->node->action == LB_NODE_MAKE))
		r = lb_run_check_not_in_use(pv->pd->target);
	if (r < 0)
		return r;
	if (s->kind != LB_STEP_EXTRACT && pv->rollback)
		lb_run_say(run, "%s: %s", pv->vol->id, lb_esc(s->why));
	/* begun: a stop from here on leaves it to be made again */
	if (s->kind != LB_STEP_EXTRACT && lb_journal_mark(run->p->m, pv->vol->id, true) < 0)
		return lb_err(-EIO, "%s: cannot record that it is begun: %s", pv->vol->id, lb_errmsg());
	r = s->kind == LB_STEP_FORMAT	   ? lb_run_format(run, pv)
	    : s->kind == LB_STEP_WRITE_IMAGE ? lb_run_write_image(run, pv)
					     : lb_run_extract(run, pv);
	if (r < 0) {
		pv->result = lb_asprintf("failed: %s", lb_errmsg());
		lb_run_say(run, "%s: FAILED: %s", pv->vol->id, lb_esc(lb_errmsg()));
		run->failed++;
		return 0;
	}
	if (!last)
		return 0;
	lb_journal_mark(run->p->m, pv->vol->id, false);
	fault_point("after-volume");
	pv->result = lb_strdup(pv->action == LB_VOL_IMAGE ? "image written"
			       : pv->extract		  ? "formatted, files extracted"
							  : "formatted");
	return 0;
}

static void efi_step(struct lb_run *run)
{
	_cleanup_free_ char *note = NULL;
	int n = lb_boot_restore_efi(run->p->m, &note);

	if (n < 0) {
		lb_run_say(run, "EFI boot entries: FAILED: %s", lb_esc(lb_errmsg()));
		run->failed++;
	} else if (n > 0) {
		lb_run_say(run, "EFI boot entries: %d variable%s written", n, n == 1 ? "" : "s");
	}
	if (note)
		lb_run_say(run, "EFI boot entries: %s", lb_esc(note));
}

static int marker_step(struct lb_run *run, const struct lb_step *s, char **ret_instance)
{
	int r;

	if (s->path) {
		r = lb_marker_write(run->p, s->path, ret_instance);
		if (r >= 0)
			lb_run_say(run, "restore-session marker written to %s", lb_esc(s->path));
		return r;
	}
	if (volume_failed(s->pv)) {
		lb_run_say(run, "%s: the root volume failed: no restore-session marker", s->pv->vol->id);
		return 0;
	}
	return lb_run_marker_in_root(run, s->pv, ret_instance);
}

/* what is left alone, said once at the start */
static void say_left_alone(struct lb_run *run)
{
	const struct lb_plan *p = run->p;

	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];
		bool finish = pd->boot_code;
		size_t back = 0;

		if (pd->verdict == LB_VERDICT_EXCLUDED) {
			lb_run_say(run, "%s: excluded (%s), not written", pd->disk->id, lb_esc(pd->why));
			continue;
		}
		for (size_t j = 0; j < p->n_vols; j++) {
			back += p->vols[j].pd == pd && p->vols[j].rollback;
			finish |= p->vols[j].pd == pd && p->vols[j].action == LB_VOL_CONTENT;
		}
		/* a disk being finished says so at its steps */
		if (pd->verdict != LB_VERDICT_INTACT || finish)
			continue;
		if (back)
			lb_run_say(run, "%s -> %s: intact: its partition table is left alone; data put "
					"back on %zu volume%s",
				   pd->disk->id, pd->target->path, back, back == 1 ? "" : "s");
		else
			lb_run_say(run, "%s -> %s: intact, left alone", pd->disk->id, pd->target->path);
	}
}

/* before the EFI entries and the marker: every written disk on the device */
static void flush_disks(struct lb_run *run)
{
	const struct lb_plan *p = run->p;

	lb_run_disk_close(run);
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].verdict == LB_VERDICT_RECREATE || p->disks[i].verdict == LB_VERDICT_INTACT)
			lb_run_flush_device(p->disks[i].target->path);
}

static int run_steps(struct lb_run *run, char **ret_instance)
{
	const struct lb_plan *p = run->p;
	bool flushed = false;
	int r = 0;

	for (size_t i = 0; i < p->n_steps && r >= 0; i++) {
		const struct lb_step *s = &p->steps[i];

		lb_debug("restore", "step %zu: %s", i + 1, lb_step_kind_name(s->kind));
		if ((s->kind == LB_STEP_EFI_ENTRIES || s->kind == LB_STEP_MARKER) && !flushed) {
			flush_disks(run);
			flushed = true;
		}
		switch (s->kind) {
		case LB_STEP_FORMAT:
		case LB_STEP_WRITE_IMAGE:
		case LB_STEP_EXTRACT:
			/* the volume's last step: no extract of it follows */
			r = volume_step(run, s, i + 1 == p->n_steps || s[1].kind != LB_STEP_EXTRACT);
			break;
		case LB_STEP_MAKE_MD:
		case LB_STEP_MAKE_LUKS:
		case LB_STEP_OPEN_LUKS:
		case LB_STEP_WRITE_CIPHERTEXT:
		case LB_STEP_MAKE_VG:
			r = lb_run_disk_close(run);
			/* a node begun stays so until the whole restore is done */
			if (r >= 0)
				r = lb_journal_mark(p->m, s->pn->id, true);
			if (r >= 0)
				r = lb_run_stack_step(run, s);
			if (r < 0) {
				lb_run_say(run, "%s: FAILED: %s", s->pn->id, lb_esc(lb_errmsg()));
				return r;
			}
			break;
		case LB_STEP_EFI_ENTRIES:
			efi_step(run);
			break;
		case LB_STEP_MARKER:
			r = marker_step(run, s, ret_instance);
			break;
		default:
			r = disk_step(run, s);
			if (r < 0)
				lb_run_say(run, "%s: FAILED: %s", s->pd->disk->id, lb_esc(lb_errmsg()));
			if (r < 0)
				return r;
		}
	}
	if (!flushed)
		flush_disks(run);
	if (r < 0)
		lb_run_say(run, "FAILED: %s", lb_esc(lb_errmsg()));
	return r;
}

/* the end: held-back disks and failed volumes named, the sum */
static int summary(struct lb_run *run)
{
	const struct lb_plan *p = run->p;

	if (p->no_marker)
		lb_run_say(run, "no restore-session marker: %s", lb_esc(p->no_marker));
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].held_back) {
			lb_run_say(run, "%s -> %s: NOT restored: %s", p->disks[i].disk->id,
				   p->disks[i].target->path, lb_esc(p->disks[i].why));
			run->failed++;
		}
	if (!run->failed)
		return 0;
	for (size_t i = 0; i < p->n_vols; i++)
		if (p->vols[i].result)
			lb_run_say(run, "%s: %s", p->vols[i].vol->id, lb_esc(p->vols[i].result));
	return lb_err(-EIO, "%u disk%s or volume%s could not be restored (named above); everything "
			    "else was",
		      run->failed, run->failed == 1 ? "" : "s", run->failed == 1 ? "" : "s");
}

int lb_restore_run(struct lb_plan *p, const struct lb_restore_opts *o, char **ret_instance,
		   char **ret_log_path)
{
	struct lb_run run = { .p = p, .o = o, .fd = -1 };
	int r;

	if (p->n_problems)
		return lb_err(-EINVAL, "the plan has %zu problem%s; nothing written", p->n_problems,
			      p->n_problems == 1 ? "" : "s");
	if (o->log && lb_run_log_open(&run) < 0)
		lb_warn("cannot open a log under %s; going on without one", lb_restore_log_dir());
	fault_point("before-write");
	say_left_alone(&run);
	r = run_steps(&run, ret_instance);
	lb_run_disk_close(&run);
	if (r >= 0)
		r = summary(&run);
	/* every node made, everything on it done: nothing left unfinished */
	for (size_t i = 0; r >= 0 && i < p->n_nodes; i++)
		if (p->nodes[i].action == LB_NODE_MAKE)
			lb_journal_mark(p->m, p->nodes[i].id, false);
	lb_run_log_close(&run);
	lb_run_devs_free(&run);
	if (ret_log_path)
		*ret_log_path = TAKE_PTR(run.log_path);
	free(run.log_path);
	return r;
}
