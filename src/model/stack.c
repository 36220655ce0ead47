// SPDX-License-Identifier: GPL-3.0-or-later
/* Stacked storage in the model (stack.h): constructors, destructors and
 * walking a device id down to its disks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"

#define APPEND(arr, n, item)                                              \
	do {                                                              \
		(arr) = lb_realloc_array((arr), (n) + 1, sizeof(*(arr))); \
		(arr)[(n)++] = (item);                                    \
	} while (0)

struct lb_stack *lb_stack_new(void)
{
	return lb_zalloc(sizeof(struct lb_stack));
}

void lb_stack_free(struct lb_stack *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_mds; i++)
		lb_md_free(s->mds[i]);
	free(s->mds);
	for (size_t i = 0; i < s->n_luks; i++)
		lb_luks_free(s->luks[i]);
	free(s->luks);
	for (size_t i = 0; i < s->n_vgs; i++)
		lb_vg_free(s->vgs[i]);
	free(s->vgs);
	free(s);
}

struct lb_md *lb_md_new(void)
{
	return lb_zalloc(sizeof(struct lb_md));
}

struct lb_md_member *lb_md_member_new(void)
{
	struct lb_md_member *mm = lb_zalloc(sizeof(*mm));

	mm->spare = true;
	return mm;
}

static void md_member_free(struct lb_md_member *mm)
{
	if (!mm)
		return;
	free(mm->on);
	free(mm->dev_uuid);
	free(mm->state);
	free(mm);
}

void lb_md_free(struct lb_md *md)
{
	if (!md)
		return;
	for (size_t i = 0; i < md->n_members; i++)
		md_member_free(md->members[i]);
	free(md->members);
	free(md->id);
	free(md->path);
	free(md->name);
	free(md->uuid);
	free(md->level);
	free(md->metadata);
	free(md->layout);
	free(md->bitmap);
	lb_volume_free(md->volume);
	free(md);
}

void lb_md_add_member(struct lb_md *md, struct lb_md_member *mm)
{
	APPEND(md->members, md->n_members, mm);
}

struct lb_luks *lb_luks_new(void)
{
	return lb_zalloc(sizeof(struct lb_luks));
}

void lb_luks_free(struct lb_luks *l)
{
	if (!l)
		return;
	free(l->id);
	free(l->on);
	free(l->name);
	free(l->uuid);
	free(l->label);
	free(l->subsystem);
	free(l->cipher);
	lb_artifact_free(l->header);
	lb_artifact_free(l->ciphertext);
	lb_volume_free(l->volume);
	free(l);
}

struct lb_vg *lb_vg_new(void)
{
	return lb_zalloc(sizeof(struct lb_vg));
}

struct lb_pv *lb_pv_new(void)
{
	return lb_zalloc(sizeof(struct lb_pv));
}

struct lb_lv *lb_lv_new(void)
{
	return lb_zalloc(sizeof(struct lb_lv));
}

static void pv_free(struct lb_pv *pv)
{
	if (!pv)
		return;
	free(pv->on);
	free(pv->uuid);
	free(pv);
}

static void lv_free(struct lb_lv *lv)
{
	if (!lv)
		return;
	free(lv->id);
	free(lv->name);
	free(lv->uuid);
	free(lv->segtype);
	free(lv->pool);
	free(lv->origin);
	lb_volume_free(lv->volume);
	free(lv);
}

void lb_vg_free(struct lb_vg *vg)
{
	if (!vg)
		return;
	for (size_t i = 0; i < vg->n_pvs; i++)
		pv_free(vg->pvs[i]);
	free(vg->pvs);
	for (size_t i = 0; i < vg->n_lvs; i++)
		lv_free(vg->lvs[i]);
	free(vg->lvs);
	free(vg->id);
	free(vg->name);
	free(vg->uuid);
	lb_artifact_free(vg->metadata);
	free(vg);
}

void lb_vg_add_pv(struct lb_vg *vg, struct lb_pv *pv)
{
	APPEND(vg->pvs, vg->n_pvs, pv);
}

void lb_vg_add_lv(struct lb_vg *vg, struct lb_lv *lv)
{
	APPEND(vg->lvs, vg->n_lvs, lv);
}

void lb_stack_add_md(struct lb_stack *s, struct lb_md *md)
{
	APPEND(s->mds, s->n_mds, md);
}

void lb_stack_add_luks(struct lb_stack *s, struct lb_luks *l)
{
	APPEND(s->luks, s->n_luks, l);
}

void lb_stack_add_vg(struct lb_stack *s, struct lb_vg *vg)
{
	APPEND(s->vgs, s->n_vgs, vg);
}

struct lb_dev_ref lb_manifest_find_dev(const struct lb_manifest *m, const char *id)
{
	struct lb_dev_ref ref = { 0 };
	const struct lb_stack *s = m->stack;

	if (!id)
		return ref;
	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_disk *d = m->disks[i];

		if (strcmp(d->id, id) == 0) {
			ref.kind = LB_DEV_DISK;
			ref.disk = d;
			return ref;
		}
		for (size_t j = 0; j < d->n_parts; j++) {
			struct lb_partition *p = d->parts[j];
			size_t n = strlen(d->id);

			/* "disk0p2": the disk's id, 'p', the number */
			if (strncmp(id, d->id, n) == 0 && id[n] == 'p' &&
			    strtoul(id + n + 1, NULL, 10) == p->number) {
				char buf[32];

				snprintf(buf, sizeof(buf), "%u", p->number);
				if (strcmp(id + n + 1, buf) != 0)
					continue;
				ref.kind = LB_DEV_PARTITION;
				ref.disk = d;
				ref.part = p;
				return ref;
			}
		}
	}
	if (!s)
		return ref;
	for (size_t i = 0; i < s->n_mds; i++)
		if (strcmp(s->mds[i]->id, id) == 0) {
			ref.kind = LB_DEV_MD;
			ref.md = s->mds[i];
			return ref;
		}
	for (size_t i = 0; i < s->n_luks; i++)
		if (strcmp(s->luks[i]->id, id) == 0) {
			ref.kind = LB_DEV_LUKS;
			ref.luks = s->luks[i];
			return ref;
		}
	for (size_t i = 0; i < s->n_vgs; i++)
		for (size_t j = 0; j < s->vgs[i]->n_lvs; j++)
			if (strcmp(s->vgs[i]->lvs[j]->id, id) == 0) {
				ref.kind = LB_DEV_LV;
				ref.vg = s->vgs[i];
				ref.lv = s->vgs[i]->lvs[j];
				return ref;
			}
	return ref;
}

/* a device sits at most this deep (LV on LUKS on MD on a partition is 4) */
#define STACK_DEPTH_MAX 16

static int foreach_disk(const struct lb_manifest *m, const char *id, int depth,
			int (*fn)(struct lb_disk *, void *), void *ud)
{
	struct lb_dev_ref ref;
	int r = 0;

	if (depth > STACK_DEPTH_MAX)
		return lb_err(-ELOOP, "%s: the storage stack is deeper than %d levels (a loop?)", id,
			      STACK_DEPTH_MAX);
	ref = lb_manifest_find_dev(m, id);
	switch (ref.kind) {
	case LB_DEV_NONE:
		return lb_err(-ENOENT, "%s: no such device in the manifest", id);
	case LB_DEV_DISK:
	case LB_DEV_PARTITION:
		return fn(ref.disk, ud);
	case LB_DEV_MD:
		for (size_t i = 0; i < ref.md->n_members && !r; i++)
			r = foreach_disk(m, ref.md->members[i]->on, depth + 1, fn, ud);
		return r;
	case LB_DEV_LUKS:
		return foreach_disk(m, ref.luks->on, depth + 1, fn, ud);
	case LB_DEV_LV:
		/* an LV may use any PV of its group: the whole group's disks */
		for (size_t i = 0; i < ref.vg->n_pvs && !r; i++)
			r = foreach_disk(m, ref.vg->pvs[i]->on, depth + 1, fn, ud);
		return r;
	}
	return 0;
}

int lb_dev_foreach_disk(const struct lb_manifest *m, const char *id,
			int (*fn)(struct lb_disk *d, void *ud), void *ud)
{
	return foreach_disk(m, id, 0, fn, ud);
}

/* NAME with each '-' doubled, as device-mapper names an LV's parts */
static char *dm_escape(const char *name)
{
	char *r = lb_zalloc(2 * strlen(name) + 1), *o = r;

	for (const char *c = name; *c; c++) {
		*o++ = *c;
		if (*c == '-')
			*o++ = '-';
	}
	return r;
}

static bool names_lv(const char *path, const struct lb_vg *vg, const struct lb_lv *lv)
{
	_cleanup_free_ char *ev = dm_escape(vg->name), *el = dm_escape(lv->name);
	_cleanup_free_ char *mapper = lb_asprintf("/dev/mapper/%s-%s", ev, el);
	_cleanup_free_ char *short_path = lb_asprintf("/dev/%s/%s", vg->name, lv->name);

	return strcmp(path, mapper) == 0 || strcmp(path, short_path) == 0;
}

static bool names_md(const char *path, const struct lb_md *md)
{
	const char *n = md->name ? strchr(md->name, ':') : NULL;
	_cleanup_free_ char *by_name = NULL;

	if (md->path && strcmp(path, md->path) == 0)
		return true;
	if (!md->name)
		return false;
	by_name = lb_asprintf("/dev/md/%s", n ? n + 1 : md->name);
	return strcmp(path, by_name) == 0;
}

struct lb_volume *lb_stack_volume_by_path(const struct lb_manifest *m, const char *path)
{
	const struct lb_stack *s = m->stack;

	if (!s || strncmp(path, "/dev/", 5) != 0)
		return NULL;
	for (size_t i = 0; i < s->n_vgs; i++)
		for (size_t j = 0; j < s->vgs[i]->n_lvs; j++)
			if (s->vgs[i]->lvs[j]->volume && names_lv(path, s->vgs[i], s->vgs[i]->lvs[j]))
				return s->vgs[i]->lvs[j]->volume;
	for (size_t i = 0; i < s->n_luks; i++) {
		const struct lb_luks *l = s->luks[i];

		if (l->volume && l->name && strncmp(path, "/dev/mapper/", 12) == 0 &&
		    strcmp(path + 12, l->name) == 0)
			return l->volume;
	}
	for (size_t i = 0; i < s->n_mds; i++)
		if (s->mds[i]->volume && names_md(path, s->mds[i]))
			return s->mds[i]->volume;
	return NULL;
}

int lb_stack_foreach_volume(const struct lb_manifest *m,
			    int (*fn)(struct lb_disk *, struct lb_partition *, struct lb_volume *,
				      void *),
			    void *ud)
{
	const struct lb_stack *s = m->stack;
	int r;

	for (size_t i = 0; s && i < s->n_mds; i++)
		if (s->mds[i]->volume && (r = fn(NULL, NULL, s->mds[i]->volume, ud)) != 0)
			return r;
	for (size_t i = 0; s && i < s->n_luks; i++)
		if (s->luks[i]->volume && (r = fn(NULL, NULL, s->luks[i]->volume, ud)) != 0)
			return r;
	for (size_t i = 0; s && i < s->n_vgs; i++)
		for (size_t j = 0; j < s->vgs[i]->n_lvs; j++)
			if (s->vgs[i]->lvs[j]->volume &&
			    (r = fn(NULL, NULL, s->vgs[i]->lvs[j]->volume, ud)) != 0)
				return r;
	return 0;
}
