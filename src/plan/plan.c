// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The planner: which disk on this machine is which recorded disk, and what
 * a restore will do to each. Reads only; everything a restore will write is
 * decided and checked here, before the first write.
 *
 * Matching order (DESIGN.md, from ASR): --disk-map, then the same disk
 * signature, then the same serial, then the same WWN, then the same path and
 * size, then -- the replaced-disk case -- a blank disk with the same logical
 * sector size and at least the recorded size, when one candidate is the
 * unambiguous best fit (equal size first). A disk holding data is never
 * picked by a guess; a device name alone never matches.
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <json-c/json.h>

#include "data/datafile.h"
#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "disk/disk.h"
#include "plan/plan.h"
#include "data/data.h"

static const char *const match_names[] = {
	[LB_MATCH_NONE] = "none",
	[LB_MATCH_MAP] = "disk-map",
	[LB_MATCH_SIGNATURE] = "signature",
	[LB_MATCH_SERIAL] = "serial",
	[LB_MATCH_WWN] = "wwn",
	[LB_MATCH_PATH_SIZE] = "path-and-size",
	[LB_MATCH_BLANK] = "blank-disk",
};

static const char *const verdict_names[] = {
	[LB_VERDICT_INTACT] = "intact",
	[LB_VERDICT_RECREATE] = "recreate",
	[LB_VERDICT_EXCLUDED] = "excluded",
	[LB_VERDICT_MISSING] = "missing",
};

static const char *const action_names[] = {
	[LB_VOL_KEEP] = "keep",
	[LB_VOL_FORMAT] = "format",
	[LB_VOL_CONTENT] = "write-content",
	[LB_VOL_NOTHING] = "nothing",
	[LB_VOL_SKIP] = "skip",
	[LB_VOL_IMAGE] = "write-image",
};

static const char *const rollback_names[] = {
	[LB_ROLLBACK_NONE] = NULL,
	[LB_ROLLBACK_CRITICAL] = "critical",
	[LB_ROLLBACK_NAMED] = "volume",
	[LB_ROLLBACK_ALL] = "all-volumes",
};

const char *lb_match_name(enum lb_match h)
{
	return match_names[h];
}

const char *lb_verdict_name(enum lb_verdict v)
{
	return verdict_names[v];
}

const char *lb_vol_action_name(enum lb_vol_action a)
{
	return action_names[a];
}

const char *lb_vol_rollback_name(enum lb_vol_rollback r)
{
	return rollback_names[r];
}

bool lb_plan_volume_writes(const struct lb_plan_volume *pv)
{
	return pv->action == LB_VOL_FORMAT || pv->action == LB_VOL_IMAGE;
}

int lb_parse_disk_map(const char *arg, struct lb_disk_map *ret)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return lb_err(-EINVAL, "--disk-map %s: expected FROM=TO (a manifest disk id or "
				       "recorded path, then a device)", arg);
	ret->from = lb_zalloc((size_t)(eq - arg) + 1);
	memcpy(ret->from, arg, (size_t)(eq - arg));
	ret->to = lb_strdup(eq + 1);
	return 0;
}

/* ---- this machine's disks --------------------------------------------- */

void lb_target_free(struct lb_target *t)
{
	if (!t)
		return;
	free(t->sysname);
	free(t->path);
	lb_disk_free(t->state);
	free(t->unreadable);
	free(t->in_use);
	free(t);
}

static bool never_a_target(const char *name)
{
	static const char *const prefixes[] = {
		"ram", "zram", "sr", "fd", "dm-", "md", "nbd", "mtdblock", "drbd", "rbd",
	};

	for (size_t i = 0; i < LB_ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static bool disk_is_blank(const struct lb_disk *d)
{
	return d->label == LB_LABEL_NONE && !d->volume;
}

/* The whole disk holding path's filesystem, when it is on a block device. */
static char *disk_holding(const char *path)
{
	struct stat st;
	char link[PATH_MAX], sys[128];
	ssize_t n;
	char *slash, *name;

	if (!path || stat(path, &st) < 0 || major(st.st_dev) == 0)
		return NULL;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0)
		return NULL;
	link[n] = '\0';
	_cleanup_free_ char *pf = lb_asprintf("%s/partition", sys);
	if (access(pf, F_OK) == 0) {
		slash = strrchr(link, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
	name = strrchr(link, '/');
	return lb_strdup(name ? name + 1 : link);
}

static void add_target(struct lb_target ***arr, size_t *n, struct lb_target *t)
{
	*arr = lb_realloc_array(*arr, *n + 1, sizeof(**arr));
	(*arr)[(*n)++] = t;
}

static char *volume_in_use(const struct lb_volume *v)
{
	if (v && v->mountpoint && !v->mount_source)
		return lb_asprintf("%s is mounted on %s", v->id, v->mountpoint);
	if (v && v->swap_active)
		return lb_asprintf("%s is active swap", v->id);
	return NULL;
}

/* LIFEBOAT_MACHINE: a manifest describing "this machine". */
static int targets_from_manifest(const char *file, struct lb_target ***ret, size_t *ret_n)
{
	struct lb_manifest *mm = NULL;
	int r = lb_manifest_load(file, &mm);

	if (r < 0)
		return r;
	for (size_t i = 0; i < mm->n_disks; i++) {
		struct lb_target *t = lb_zalloc(sizeof(*t));
		struct lb_disk *d = mm->disks[i];

		t->path = lb_strdup(d->path);
		t->sysname = lb_strdup(strrchr(d->path, '/') ? strrchr(d->path, '/') + 1 : d->path);
		t->in_use = volume_in_use(d->volume);
		for (size_t j = 0; j < d->n_parts && !t->in_use; j++)
			t->in_use = volume_in_use(d->parts[j]->volume);
		t->blank = disk_is_blank(d);
		t->state = d;
		mm->disks[i] = NULL;
		add_target(ret, ret_n, t);
	}
	mm->n_disks = 0;
	lb_manifest_free(mm);
	return 0;
}

int lb_targets_load(const char *capture_dir, bool geometry, struct lb_target ***ret, size_t *ret_n)
{
	const char *fake = getenv("LIFEBOAT_MACHINE");
	struct lb_sysinfo *si = NULL;
	struct dirent **list = NULL;
	_cleanup_free_ char *capdisk = NULL;
	int cnt, r;

	*ret = NULL;
	*ret_n = 0;
	if (fake && *fake)
		return targets_from_manifest(fake, ret, ret_n);
	r = lb_sysinfo_load(&si);
	if (r < 0)
		return r;
	capdisk = disk_holding(capture_dir);
	cnt = scandir("/sys/block", &list, NULL, versionsort);
	if (cnt < 0) {
		lb_sysinfo_free(si);
		return lb_err(-errno, "cannot list /sys/block: %s", strerror(errno));
	}
	for (int i = 0; i < cnt; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *sizep = lb_asprintf("/sys/block/%s/size", name);
		uint64_t size = 0;
		struct lb_target *t;

		if (name[0] == '.' || never_a_target(name) || lb_read_u64(sizep, &size) < 0 || !size) {
			free(list[i]);
			continue;
		}
		t = lb_zalloc(sizeof(*t));
		t->sysname = lb_strdup(name);
		t->path = lb_asprintf("/dev/%s", name);
		if (lb_scan_disk(name, name, si, NULL, NULL, geometry, &t->state) < 0)
			t->unreadable = lb_strdup(lb_errmsg());
		if (lb_disk_in_use(si, name, &t->in_use) < 0)
			t->in_use = lb_strdup(lb_errmsg());
		t->holds_capture = capdisk && strcmp(capdisk, name) == 0;
		t->blank = t->state && disk_is_blank(t->state);
		add_target(ret, ret_n, t);
		free(list[i]);
	}
	free(list);
	lb_sysinfo_free(si);
	return 0;
}

/* ---- the intact rules ------------------------------------------------- */

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcasecmp(a, b) == 0);
}

bool lb_disk_is_intact(const struct lb_disk *rec, const struct lb_disk *cur, char **ret_why)
{
	char *why = NULL;

	if (rec->label != cur->label)
		why = lb_asprintf("partition table is %s, recorded %s", lb_label_type_name(cur->label),
				  lb_label_type_name(rec->label));
	else if (rec->sector_size != cur->sector_size)
		why = lb_asprintf("logical sector size is %u, recorded %u", cur->sector_size,
				  rec->sector_size);
	else if (rec->label != LB_LABEL_NONE && !same_text(rec->signature, cur->signature))
		why = lb_asprintf("disk signature is %s, recorded %s",
				  cur->signature ? cur->signature : "none", rec->signature);
	else if (rec->label == LB_LABEL_NONE && rec->volume &&
		 (!cur->volume || !same_text(rec->volume->uuid, cur->volume->uuid) ||
		  strcmp(rec->volume->type, cur->volume->type) != 0))
		why = lb_asprintf("whole-disk %s %s is not there", rec->volume->type,
				  rec->volume->uuid ? rec->volume->uuid : "");
	for (size_t i = 0; i < rec->n_parts && !why; i++) {
		const struct lb_partition *p = rec->parts[i];
		const struct lb_partition *c = lb_disk_find_partition(cur, p->number);

		if (!c)
			why = lb_asprintf("partition %u is gone", p->number);
		else if (c->start != p->start)
			why = lb_asprintf("partition %u starts at %" PRIu64 ", recorded %" PRIu64,
					  p->number, c->start, p->start);
		else if (c->size < p->size)
			why = lb_asprintf("partition %u is smaller than recorded", p->number);
		else if (rec->label == LB_LABEL_GPT && !same_text(p->uuid, c->uuid))
			why = lb_asprintf("partition %u has GUID %s, recorded %s", p->number,
					  c->uuid ? c->uuid : "none", p->uuid ? p->uuid : "none");
	}
	if (ret_why)
		*ret_why = why;
	else
		free(why);
	return why == NULL;
}

/* ---- building the plan ------------------------------------------------ */

/* Appends a formatted line to a plan's problems or warnings. */
static void add_line(char ***list, size_t *n, const char *fmt, va_list ap) _printf_(3, 0);
static void add_line(char ***list, size_t *n, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	*list = lb_realloc_array(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = s;
}

static void problem(struct lb_plan *p, const char *fmt, ...) _printf_(2, 3);
static void problem(struct lb_plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(&p->problems, &p->n_problems, fmt, ap);
	va_end(ap);
}

static void warning(struct lb_plan *p, const char *fmt, ...) _printf_(2, 3);
static void warning(struct lb_plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(&p->warnings, &p->n_warnings, fmt, ap);
	va_end(ap);
}

static bool names_disk(const char *name, const struct lb_disk *d)
{
	return strcmp(name, d->id) == 0 || (d->path && strcmp(name, d->path) == 0);
}

static bool listed(char **list, size_t n, const struct lb_disk *d)
{
	for (size_t i = 0; i < n; i++)
		if (names_disk(list[i], d))
			return true;
	return false;
}

static struct lb_target *find_target(struct lb_plan *p, const char *dev)
{
	_cleanup_free_ char *sys = NULL;

	for (size_t i = 0; i < p->n_targets; i++)
		if (strcmp(p->targets[i]->path, dev) == 0)
			return p->targets[i];
	if (lb_dev_sysname(dev, &sys, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < p->n_targets; i++)
		if (strcmp(p->targets[i]->sysname, sys) == 0)
			return p->targets[i];
	return NULL;
}

static void take(struct lb_plan_disk *pd, struct lb_target *t, enum lb_match how)
{
	if (pd->verdict != LB_VERDICT_EXCLUDED) {
		free(pd->why); /* an ambiguity seen in an earlier pass no longer matters */
		pd->why = NULL;
	}
	pd->target = t;
	pd->how = how;
	t->taken = true;
}

typedef bool (*match_fn)(const struct lb_disk *rec, const struct lb_target *t);

static bool by_signature(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->signature && t->state && t->state->signature && rec->label == t->state->label &&
	       strcasecmp(rec->signature, t->state->signature) == 0;
}

static bool by_serial(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->serial && t->state && t->state->serial && strcmp(rec->serial, t->state->serial) == 0;
}

static bool by_wwn(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->wwn && t->state && t->state->wwn && strcmp(rec->wwn, t->state->wwn) == 0;
}

static bool by_path_size(const struct lb_disk *rec, const struct lb_target *t)
{
	return rec->path && t->state && strcmp(rec->path, t->path) == 0 &&
	       t->state->size * t->state->sector_size == rec->size * rec->sector_size;
}

/* One pass of identity matching: a unique untaken candidate matches. */
static void match_pass(struct lb_plan *p, match_fn fn, enum lb_match how)
{
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		struct lb_target *found = NULL;
		size_t count = 0;

		if (pd->target)
			continue;
		for (size_t j = 0; j < p->n_targets; j++)
			if (!p->targets[j]->taken && fn(pd->disk, p->targets[j])) {
				found = p->targets[j];
				count++;
			}
		if (count == 1)
			take(pd, found, how);
		else if (count > 1 && !pd->why)
			pd->why = lb_asprintf("%zu disks share its %s; map one with --disk-map", count,
					      lb_match_name(how));
	}
}

static void match_blank(struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		const struct lb_disk *rec = pd->disk;
		struct lb_target *best = NULL;
		uint64_t want = rec->size * rec->sector_size, best_size = 0;
		size_t ties = 0;

		if (pd->target || pd->verdict == LB_VERDICT_EXCLUDED || pd->why)
			continue;
		for (size_t j = 0; j < p->n_targets; j++) {
			struct lb_target *t = p->targets[j];
			uint64_t size;

			if (t->taken || !t->blank || t->in_use || t->holds_capture || !t->state ||
			    t->state->sector_size != rec->sector_size)
				continue;
			size = t->state->size * t->state->sector_size;
			if (size < want)
				continue;
			if (!best || size < best_size) {
				best = t;
				best_size = size;
				ties = 1;
			} else if (size == best_size) {
				ties++;
			}
		}
		if (best && ties == 1)
			take(pd, best, LB_MATCH_BLANK);
		else if (best)
			pd->why = lb_asprintf("%zu blank disks of %" PRIu64 " bytes fit equally well; map "
					      "one with --disk-map %s=DEVICE",
					      ties, best_size, rec->id);
	}
}

static void add_volume(struct lb_plan *p, struct lb_plan_disk *pd, struct lb_partition *part,
		       struct lb_volume *v)
{
	struct lb_plan_volume *pv;

	p->vols = lb_realloc_array(p->vols, p->n_vols + 1, sizeof(*p->vols));
	pv = &p->vols[p->n_vols++];
	memset(pv, 0, sizeof(*pv));
	pv->pd = pd;
	pv->part = part;
	pv->vol = v;
}

static void plan_volume_layout(struct lb_plan *p, struct lb_plan_volume *pv,
			       const struct lb_plan_opts *opts);
static void check_formatter(struct lb_plan *p, const struct lb_plan_volume *pv);

/* --volume NAME names a volume by its manifest id, its partition's (or
 * whole disk's) recorded path, or the mount point recorded for it. */
static bool names_volume(const char *name, const struct lb_plan_volume *pv)
{
	const char *path = pv->part ? pv->part->path : pv->pd->disk->path;

	return strcmp(name, pv->vol->id) == 0 || (path && strcmp(name, path) == 0) ||
	       (pv->vol->mountpoint && strcmp(name, pv->vol->mountpoint) == 0);
}

static bool named(const struct lb_plan_opts *opts, const struct lb_plan_volume *pv)
{
	for (size_t i = 0; i < opts->n_volumes; i++)
		if (names_volume(opts->volumes[i], pv))
			return true;
	return false;
}

/* --volume and --all-volumes, checked against the capture: each name must
 * be one volume that has something to put back; a usage error if not. */
static void check_named_volumes(struct lb_plan *p, const struct lb_plan_opts *opts)
{
	if (!opts->data && (opts->n_volumes || opts->all_volumes)) {
		problem(p, "%s puts volume data back: it cannot go with --no-data",
			opts->all_volumes ? "--all-volumes" : "--volume");
		p->usage_error = true;
	}
	for (size_t i = 0; i < opts->n_volumes; i++) {
		const char *name = opts->volumes[i];
		const struct lb_plan_volume *hit = NULL;
		size_t n = 0;

		for (size_t j = 0; j < p->n_vols; j++)
			if (names_volume(name, &p->vols[j])) {
				hit = &p->vols[j];
				n++;
			}
		if (n == 0)
			problem(p, "--volume %s: no such volume in the capture (give a volume id such as "
				   "disk0p2, its recorded device path or its mount point)",
				name);
		else if (n > 1)
			problem(p, "--volume %s: names %zu volumes; give a volume id", name, n);
		else if (!hit->vol->data && strcmp(hit->vol->type, "swap") != 0)
			problem(p, "--volume %s: the capture holds no data for %s", name, hit->vol->id);
		else if (hit->pd->verdict == LB_VERDICT_EXCLUDED && !hit->pd->held_back)
			problem(p, "--volume %s: %s is on %s, which is excluded (%s)", name, hit->vol->id,
				hit->pd->disk->id, hit->pd->why ? hit->pd->why : "");
		else
			continue;
		p->usage_error = true;
	}
}

/* Whether a volume's data file is there as the manifest records it: NULL,
 * or what is wrong with it. Only what costs no reading is checked here;
 * the data itself before a restore writes anything (lb_plan_check_data). */
static char *data_file_trouble(const struct lb_plan *p, const struct lb_volume *v)
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

/* The captured data, when there is some and it is wanted, goes onto a
 * volume being made: an image instead of mkfs, an archive after it. A
 * volume left as it is needs none of it: a data file of its that is not
 * as recorded is a warning (a restore naming it would refuse), never a
 * problem. */
static void plan_volume(struct lb_plan *p, struct lb_plan_volume *pv, const struct lb_plan_opts *opts)
{
	const struct lb_volume *v = pv->vol;
	_cleanup_free_ char *trouble = NULL;

	plan_volume_layout(p, pv, opts);
	if (v->data && pv->action == LB_VOL_KEEP) {
		/* (with --no-data no data file is looked at) */
		trouble = opts->data ? data_file_trouble(p, v) : NULL;
		if (trouble)
			warning(p, "%s: %s; the volume is left as it is", v->id, trouble);
		return;
	}
	if (!opts->data || !v->data || (pv->action != LB_VOL_FORMAT && pv->action != LB_VOL_NOTHING)) {
		check_formatter(p, pv);
		return;
	}
	trouble = data_file_trouble(p, v);
	if (trouble) {
		problem(p, "%s: %s", v->id, trouble);
		return;
	}
	if (v->data_method && strcmp(v->data_method, "archive") == 0) {
		if (pv->action == LB_VOL_FORMAT)
			pv->extract = true;
	} else {
		pv->action = LB_VOL_IMAGE;
	}
	check_formatter(p, pv);
}

static bool same_swap(const struct lb_volume *rec, const struct lb_volume *cur)
{
	return cur && strcmp(cur->type, "swap") == 0 && same_text(rec->uuid, cur->uuid) &&
	       same_text(rec->label, cur->label);
}

/* A volume on an intact disk that holds something: ASR puts a critical
 * volume's content back on every restore (a broken system on a healthy disk
 * rolls back); another volume keeps its content unless named (--volume,
 * --all-volumes). Swap holds no data: a critical or named one is made again
 * with its identity only when what is there is not the recorded swap. */
static void plan_rollback(struct lb_plan_volume *pv, const struct lb_volume *cur,
			  const struct lb_plan_opts *opts)
{
	const struct lb_volume *v = pv->vol;
	enum lb_vol_rollback why = v->critical	       ? LB_ROLLBACK_CRITICAL
				   : named(opts, pv)   ? LB_ROLLBACK_NAMED
				   : opts->all_volumes ? LB_ROLLBACK_ALL
						       : LB_ROLLBACK_NONE;
	static const char *const said[] = {
		[LB_ROLLBACK_NONE] = "",
		[LB_ROLLBACK_CRITICAL] = "critical",
		[LB_ROLLBACK_NAMED] = "--volume",
		[LB_ROLLBACK_ALL] = "--all-volumes",
	};

	if (strcmp(v->type, "swap") == 0) {
		if (why == LB_ROLLBACK_NONE)
			return;
		if (same_swap(v, cur)) {
			pv->why = lb_asprintf("%s swap, as recorded", said[why]);
		} else if (!opts->data) {
			pv->why = lb_strdup("--no-data");
		} else {
			pv->action = LB_VOL_FORMAT;
			pv->rollback = why;
			pv->why = lb_asprintf("%s swap, not as recorded here: made again", said[why]);
		}
		return;
	}
	if (!v->data) {
		if (why == LB_ROLLBACK_CRITICAL)
			pv->why = lb_strdup("critical, but the capture holds no data for it");
		return;
	}
	if (why == LB_ROLLBACK_NONE) {
		pv->why = lb_asprintf("not critical; --volume %s puts its data back", v->id);
		return;
	}
	if (!opts->data) {
		pv->why = lb_strdup("--no-data");
		return;
	}
	pv->action = strcmp(v->type, "raw") == 0 ? LB_VOL_NOTHING : LB_VOL_FORMAT;
	pv->rollback = why;
	pv->why = lb_asprintf("%s: its data is put back", said[why]);
}

/* What happens to one volume's layout on a disk with a verdict. */
static void plan_volume_layout(struct lb_plan *p, struct lb_plan_volume *pv,
			       const struct lb_plan_opts *opts)
{
	const struct lb_volume *v = pv->vol;
	const struct lb_plan_disk *pd = pv->pd;
	bool raw = strcmp(v->type, "raw") == 0;

	if (pd->verdict == LB_VERDICT_EXCLUDED || pd->verdict == LB_VERDICT_MISSING) {
		pv->action = LB_VOL_SKIP;
		return;
	}
	if (pd->verdict == LB_VERDICT_INTACT) {
		const struct lb_partition *cp = pv->part && pd->target->state
							? lb_disk_find_partition(pd->target->state, pv->part->number)
							: NULL;
		const struct lb_volume *cur = cp ? cp->volume : pd->target->state->volume;

		pv->action = LB_VOL_KEEP;
		/* A blank partition on an intact disk is an interrupted restore
		 * (or a volume never made): finishing the job makes it. */
		if (!raw && (!cur || strcmp(cur->type, "raw") == 0)) {
			pv->action = LB_VOL_FORMAT;
			pv->why = lb_strdup("blank on an intact disk");
		} else if (raw && pv->part && pv->part->content && cp && cp->rt_blank) {
			pv->action = LB_VOL_CONTENT;
			pv->why = lb_strdup("blank on an intact disk");
		} else {
			plan_rollback(pv, cur, opts);
		}
		if (pv->action == LB_VOL_KEEP)
			return;
	} else if (raw) {
		pv->action = pv->part && pv->part->content ? LB_VOL_CONTENT : LB_VOL_NOTHING;
		return;
	} else {
		pv->action = LB_VOL_FORMAT;
	}
	if (strcmp(v->type, "ambiguous") == 0) {
		problem(p, "%s: the capture found more than one signature on it; cannot tell what to make",
			v->id);
		return;
	}
	if (pd->target->in_use && pd->verdict == LB_VERDICT_INTACT && pv->rollback == LB_ROLLBACK_CRITICAL &&
	    !named(opts, pv) && !opts->all_volumes) {
		/* a running system cannot roll itself back; that is the rescue
		 * system's job. A replaced disk beside it is still restored. */
		pv->action = LB_VOL_KEEP;
		pv->rollback = LB_ROLLBACK_NONE;
		free(pv->why);
		pv->why = lb_strdup("critical, but its disk is in use here: left as it is");
		warning(p, "%s: not put back: %s is in use here (%s); to roll the system back, "
			   "restore from the rescue system",
			v->id, pd->target->path, pd->target->in_use);
	} else if (pd->target->in_use && pd->verdict == LB_VERDICT_INTACT && pv->rollback)
		problem(p, "%s: will not put its data back on %s: %s (restore from the rescue system, "
			   "where nothing on this disk is in use)",
			v->id, pd->target->path, pd->target->in_use);
	else if (pd->target->in_use && pd->verdict == LB_VERDICT_INTACT)
		problem(p, "%s: will not format it on %s: %s", v->id, pd->target->path, pd->target->in_use);
}

/* mkfs must be at hand for a volume that will be formatted */
static void check_formatter(struct lb_plan *p, const struct lb_plan_volume *pv)
{
	const struct lb_volume *v = pv->vol;
	const struct lb_fs_ops *ops;

	if (pv->action != LB_VOL_FORMAT || strcmp(v->type, "ambiguous") == 0)
		return;
	ops = lb_fs_ops_find(v->type);
	if (!ops)
		problem(p, "%s: lifeboat cannot make %s volumes%s", v->id, v->type,
			v->data ? "" : " (and the capture holds no image of it)");
	else if (!lb_program_exists(ops->program))
		problem(p, "%s: %s is needed to make its %s volume and is not installed", v->id,
			ops->program, v->type);
}

static void check_artifacts(struct lb_plan *p, const struct lb_plan_disk *pd)
{
	const struct lb_disk *d = pd->disk;
	const struct lb_artifact *list[2] = { d->boot_code, d->mbr_gap };

	for (size_t i = 0; i < LB_ARRAY_SIZE(list); i++)
		if (list[i] && lb_artifact_verify(p->m, list[i]) < 0)
			problem(p, "%s: %s", d->id, lb_errmsg());
	for (size_t i = 0; i < d->n_parts; i++)
		if (d->parts[i]->content && lb_artifact_verify(p->m, d->parts[i]->content) < 0)
			problem(p, "%s: %s", d->id, lb_errmsg());
}

static void check_disk(struct lb_plan *p, struct lb_plan_disk *pd)
{
	const struct lb_disk *d = pd->disk;
	const struct lb_target *t = pd->target;

	if (pd->verdict == LB_VERDICT_MISSING) {
		if (pd->why)
			problem(p, "%s (%s, %" PRIu64 " sectors of %u bytes) is missing: %s", d->id,
				d->path, d->size, d->sector_size, pd->why);
		else
			problem(p, "%s (%s, %" PRIu64 " sectors of %u bytes) is missing: no disk here "
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
		problem(p, "%s -> %s: cannot read the disk: %s", d->id, t->path, t->unreadable);
	if (t->state && t->state->sector_size != d->sector_size)
		problem(p, "%s -> %s: logical sector size %u, recorded %u (migration is not supported)",
			d->id, t->path, t->state->sector_size, d->sector_size);
	else if (t->state && t->state->size < d->size)
		problem(p, "%s -> %s: %" PRIu64 " sectors, smaller than the recorded %" PRIu64
			   " (migration to a smaller disk is not supported)",
			d->id, t->path, t->state->size, d->size);
	check_artifacts(p, pd);
	if (d->label != LB_LABEL_NONE && t->state && t->state->size >= d->size &&
	    t->state->sector_size == d->sector_size && lb_table_check(d, t->state->size) < 0)
		problem(p, "%s: the recorded partition table cannot be made: %s", d->id, lb_errmsg());
}

int lb_plan_build(struct lb_manifest *m, const struct lb_plan_opts *opts,
		  struct lb_target **targets, size_t n_targets, struct lb_plan **ret)
{
	struct lb_plan *p = lb_zalloc(sizeof(*p));

	p->m = m;
	p->targets = targets;
	p->n_targets = n_targets;
	p->n_disks = m->n_disks;
	p->disks = lb_zalloc(sizeof(*p->disks) * (m->n_disks + 1));

	for (size_t i = 0; i < opts->n_exclude; i++)
		if (!lb_manifest_find_disk(m, opts->exclude[i])) {
			problem(p, "--exclude-disk %s: no such disk in the capture", opts->exclude[i]);
			p->usage_error = true;
		}
	for (size_t i = 0; i < opts->n_include; i++)
		if (!lb_manifest_find_disk(m, opts->include[i])) {
			problem(p, "--include-disk %s: no such disk in the capture", opts->include[i]);
			p->usage_error = true;
		}
	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		struct lb_disk *d = m->disks[i];

		pd->disk = d;
		if (listed(opts->exclude, opts->n_exclude, d)) {
			pd->verdict = LB_VERDICT_EXCLUDED;
			pd->why = lb_strdup("--exclude-disk");
			if (lb_disk_is_critical(d)) {
				problem(p, "--exclude-disk %s: it holds a volume the system needs to boot", d->id);
				p->usage_error = true;
			}
		} else if (!d->selected && !listed(opts->include, opts->n_include, d)) {
			pd->verdict = LB_VERDICT_EXCLUDED;
			pd->why = lb_strdup(d->exclude_reason ? d->exclude_reason : "not selected at capture");
		}
	}

	/* identities first, so a guess never takes a disk that is someone's */
	for (size_t i = 0; i < opts->n_maps; i++) {
		struct lb_disk *d = lb_manifest_find_disk(m, opts->maps[i].from);
		struct lb_target *t = find_target(p, opts->maps[i].to);
		struct lb_plan_disk *pd;

		if (!d || !t) {
			problem(p, "--disk-map %s=%s: %s", opts->maps[i].from, opts->maps[i].to,
				!d ? "no such disk in the capture" : "no such disk on this machine");
			p->usage_error = true;
			continue;
		}
		pd = NULL;
		for (size_t j = 0; j < p->n_disks; j++)
			if (p->disks[j].disk == d)
				pd = &p->disks[j];
		if (!pd || pd->target || t->taken) {
			problem(p, "--disk-map %s=%s: mapped twice", opts->maps[i].from, opts->maps[i].to);
			p->usage_error = true;
			continue;
		}
		take(pd, t, LB_MATCH_MAP);
	}
	match_pass(p, by_signature, LB_MATCH_SIGNATURE);
	match_pass(p, by_serial, LB_MATCH_SERIAL);
	match_pass(p, by_wwn, LB_MATCH_WWN);
	match_pass(p, by_path_size, LB_MATCH_PATH_SIZE);
	match_blank(p);

	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		char *why = NULL;

		if (pd->verdict == LB_VERDICT_EXCLUDED)
			continue;
		if (!pd->target) {
			pd->verdict = LB_VERDICT_MISSING;
		} else if (pd->target->state && lb_disk_is_intact(pd->disk, pd->target->state, &why)) {
			pd->verdict = LB_VERDICT_INTACT;
			/* blank boot code on an intact disk: a restore stopped
			 * between the table and the boot code; finish it */
			pd->boot_code = pd->disk->boot_code && pd->target->state->rt_boot_blank;
			/* a running system's boot code is the rescue system's
			 * to write, as its critical volumes are: left alone, and
			 * the rest of the plan goes on (a write there would
			 * only be refused after other disks were recreated) */
			if (pd->boot_code && pd->target->in_use) {
				pd->boot_code = false;
				pd->boot_code_in_use = true;
				warning(p, "%s: boot code not written: %s is in use here (%s); to write it, "
					   "restore from the rescue system",
					pd->disk->id, pd->target->path, pd->target->in_use);
			}
		} else {
			pd->verdict = LB_VERDICT_RECREATE;
			free(pd->why);
			pd->why = why ? why : lb_strdup("cannot read the disk");
		}
		check_disk(p, pd);
	}
	for (size_t i = 0; i < p->n_disks; i++) {
		struct lb_plan_disk *pd = &p->disks[i];
		struct lb_disk *d = pd->disk;

		if (d->volume)
			add_volume(p, pd, NULL, d->volume);
		for (size_t j = 0; j < d->n_parts; j++)
			if (d->parts[j]->volume)
				add_volume(p, pd, d->parts[j], d->parts[j]->volume);
	}
	check_named_volumes(p, opts);
	for (size_t i = 0; i < p->n_vols; i++) {
		struct lb_plan_volume *pv = &p->vols[i];
		size_t before = p->n_problems;

		plan_volume(p, pv, opts);
		/* a volume's content to put back on an intact disk: its problems
		 * stop a restore, but say nothing about the layout */
		if (pv->rollback)
			p->n_content_problems += p->n_problems - before;
		/* contents to write on an intact disk: checked like a recreated
		 * disk's, before any write */
		if (pv->action == LB_VOL_CONTENT && pv->pd->verdict == LB_VERDICT_INTACT &&
		    !pv->pd->boot_code && lb_artifact_verify(p->m, pv->part->content) < 0)
			problem(p, "%s: %s", pv->vol->id, lb_errmsg());
	}
	*ret = p;
	return 0;
}

void lb_plan_free(struct lb_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_targets; i++)
		lb_target_free(p->targets[i]);
	free(p->targets);
	for (size_t i = 0; i < p->n_disks; i++)
		free(p->disks[i].why);
	free(p->disks);
	for (size_t i = 0; i < p->n_vols; i++) {
		free(p->vols[i].why);
		free(p->vols[i].result);
	}
	free(p->vols);
	for (size_t i = 0; i < p->n_problems; i++)
		free(p->problems[i]);
	free(p->problems);
	for (size_t i = 0; i < p->n_warnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	free(p);
}

/* Every disk's layout as recorded: a volume whose content a restore puts
 * back on an intact disk (a critical or named one) does not count, one
 * found blank there does (an interrupted restore). */
bool lb_plan_all_intact(const struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].verdict == LB_VERDICT_RECREATE ||
		    p->disks[i].verdict == LB_VERDICT_MISSING || p->disks[i].held_back)
			return false;
	for (size_t i = 0; i < p->n_vols; i++)
		if ((lb_plan_volume_writes(&p->vols[i]) && !p->vols[i].rollback) ||
		    (p->vols[i].action == LB_VOL_CONTENT && p->vols[i].pd->verdict == LB_VERDICT_INTACT))
			return false;
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].boot_code || p->disks[i].boot_code_in_use)
			return false;
	return true;
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
int lb_plan_check_data(struct lb_plan *p, bool whole)
{
	unsigned bad = 0;

	for (size_t i = 0; i < p->n_vols; i++) {
		const struct lb_plan_volume *pv = &p->vols[i];
		_cleanup_free_ char *path = NULL;
		int fd;

		if (pv->action != LB_VOL_IMAGE && !pv->extract)
			continue;
		path = lb_asprintf("%s/%s", p->m->rt_dir, pv->vol->data->file);
		fd = lb_open_artifact(path);
		if (fd < 0) {
			problem(p, "%s: %s", pv->vol->id, lb_errmsg());
			bad++;
			continue;
		}
		if (check_data_header(pv, fd) < 0 ||
		    (whole ? lb_data_check_sum(fd, pv->vol->id, pv->vol->data)
			   : lb_data_check_framing(fd, pv->vol->id, pv->vol->data)) < 0) {
			problem(p, "%s: its data is damaged: %s", pv->vol->id, lb_errmsg());
			bad++;
		}
		close(fd);
	}
	return bad ? -EBADMSG : 0;
}

bool lb_plan_writes(const struct lb_plan *p)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].verdict == LB_VERDICT_RECREATE || p->disks[i].boot_code)
			return true;
	for (size_t i = 0; i < p->n_vols; i++)
		if (lb_plan_volume_writes(&p->vols[i]) ||
		    (p->vols[i].action == LB_VOL_CONTENT && p->vols[i].pd->verdict == LB_VERDICT_INTACT))
			return true;
	return false;
}

/* ---- printing --------------------------------------------------------- */

int lb_plan_print(const struct lb_plan *p, FILE *f)
{
	const struct lb_manifest *m = p->m;

	fprintf(f, "capture %s (%s%s%s)\n", m->id, m->time, m->hostname ? ", host " : "",
		lb_esc(m->hostname));
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];

		fprintf(f, "%s %s -> %s", pd->disk->id, lb_esc(pd->disk->path),
			pd->target ? lb_esc(pd->target->path) : "(none)");
		if (pd->target)
			fprintf(f, " (matched by %s)", lb_match_name(pd->how));
		fprintf(f, ": %s", lb_verdict_name(pd->verdict));
		if (pd->why)
			fprintf(f, " (%s)", lb_esc(pd->why));
		if (pd->boot_code)
			fputs(", boot code blank: write it", f);
		if (pd->boot_code_in_use)
			fputs(", boot code blank: in use here, left alone", f);
		fputc('\n', f);
		for (size_t j = 0; j < p->n_vols; j++) {
			const struct lb_plan_volume *pv = &p->vols[j];

			if (pv->pd != pd)
				continue;
			fprintf(f, "  %-10s %-6s", pv->vol->id, pv->vol->type);
			if (pv->vol->mountpoint)
				fprintf(f, " %s", lb_esc(pv->vol->mountpoint));
			if (pv->vol->critical)
				fputs(" [critical]", f);
			fprintf(f, ": %s%s", lb_vol_action_name(pv->action),
				pv->extract ? "+extract-archive" : "");
			if (pv->why)
				fprintf(f, " (%s)", pv->why);
			fputc('\n', f);
		}
	}
	for (size_t i = 0; i < p->n_warnings; i++)
		fprintf(f, "warning: %s\n", lb_esc(p->warnings[i]));
	for (size_t i = 0; i < p->n_problems; i++)
		fprintf(f, "problem: %s\n", lb_esc(p->problems[i]));
	return ferror(f) ? -EIO : 0;
}

int lb_plan_print_json(const struct lb_plan *p, FILE *f)
{
	json_object *root = json_object_new_object(), *disks = json_object_new_array(),
		    *probs = json_object_new_array(), *warns = json_object_new_array();

	json_object_object_add(root, "capture", json_object_new_string(p->m->id));
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct lb_plan_disk *pd = &p->disks[i];
		json_object *o = json_object_new_object(), *vols = json_object_new_array();

		json_object_object_add(o, "id", json_object_new_string(pd->disk->id));
		json_object_object_add(o, "recorded_path", json_object_new_string(pd->disk->path));
		json_object_object_add(o, "device",
				       pd->target ? json_object_new_string(pd->target->path) : NULL);
		json_object_object_add(o, "matched_by", json_object_new_string(lb_match_name(pd->how)));
		json_object_object_add(o, "verdict", json_object_new_string(lb_verdict_name(pd->verdict)));
		json_object_object_add(o, "why", pd->why ? json_object_new_string(pd->why) : NULL);
		for (size_t j = 0; j < p->n_vols; j++) {
			const struct lb_plan_volume *pv = &p->vols[j];
			json_object *v;

			if (pv->pd != pd)
				continue;
			v = json_object_new_object();
			json_object_object_add(v, "id", json_object_new_string(pv->vol->id));
			json_object_object_add(v, "type", json_object_new_string(pv->vol->type));
			json_object_object_add(v, "mountpoint",
					       pv->vol->mountpoint ? json_object_new_string(pv->vol->mountpoint)
								   : NULL);
			json_object_object_add(v, "critical", json_object_new_boolean(pv->vol->critical));
			json_object_object_add(v, "action",
					       json_object_new_string(lb_vol_action_name(pv->action)));
			json_object_object_add(v, "extract_archive", json_object_new_boolean(pv->extract));
			json_object_object_add(v, "rollback",
					       pv->rollback ? json_object_new_string(
								      lb_vol_rollback_name(pv->rollback))
							    : NULL);
			json_object_object_add(v, "why", pv->why ? json_object_new_string(pv->why) : NULL);
			json_object_array_add(vols, v);
		}
		json_object_object_add(o, "volumes", vols);
		json_object_array_add(disks, o);
	}
	json_object_object_add(root, "disks", disks);
	for (size_t i = 0; i < p->n_problems; i++)
		json_object_array_add(probs, json_object_new_string(p->problems[i]));
	json_object_object_add(root, "problems", probs);
	for (size_t i = 0; i < p->n_warnings; i++)
		json_object_array_add(warns, json_object_new_string(p->warnings[i]));
	json_object_object_add(root, "warnings", warns);
	json_object_object_add(root, "all_intact", json_object_new_boolean(lb_plan_all_intact(p)));
	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	fputc('\n', f);
	json_object_put(root);
	return ferror(f) ? -EIO : 0;
}
