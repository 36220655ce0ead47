// SPDX-License-Identifier: GPL-3.0-or-later
/* The data model: constructors, destructors and lookups. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"

struct lb_manifest *lb_manifest_new(void)
{
	struct lb_manifest *m = lb_zalloc(sizeof(*m));

	m->format = LB_MANIFEST_FORMAT;
	return m;
}

void lb_manifest_free(struct lb_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_disks; i++)
		lb_disk_free(m->disks[i]);
	free(m->disks);
	lb_boot_free(m->boot);
	lb_system_free(m->system);
	lb_stack_free(m->stack);
	free(m->generator);
	free(m->id);
	free(m->time);
	free(m->hostname);
	free(m->kernel);
	free(m->machine_id);
	free(m->data_mode);
	lb_encryption_free(m->encryption);
	lb_key_wipe(m->rt_key);
	free(m->rt_key);
	free(m->rt_dir);
	for (size_t i = 0; i < m->n_rt_warnings; i++)
		free(m->rt_warnings[i]);
	free(m->rt_warnings);
	free(m);
}

struct lb_disk *lb_disk_new(void)
{
	struct lb_disk *d = lb_zalloc(sizeof(*d));

	d->selected = true;
	return d;
}

void lb_disk_free(struct lb_disk *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_parts; i++)
		lb_partition_free(d->parts[i]);
	free(d->parts);
	for (size_t i = 0; i < d->n_by_id; i++)
		free(d->by_id[i]);
	free(d->by_id);
	lb_volume_free(d->volume);
	lb_artifact_free(d->boot_code);
	lb_artifact_free(d->mbr_gap);
	free(d->id);
	free(d->path);
	free(d->sysname);
	free(d->model);
	free(d->vendor);
	free(d->serial);
	free(d->wwn);
	free(d->transport);
	free(d->exclude_reason);
	free(d->signature);
	free(d);
}

struct lb_partition *lb_partition_new(void)
{
	return lb_zalloc(sizeof(struct lb_partition));
}

void lb_partition_free(struct lb_partition *p)
{
	if (!p)
		return;
	lb_volume_free(p->volume);
	lb_artifact_free(p->content);
	free(p->type);
	free(p->uuid);
	free(p->name);
	free(p->path);
	free(p);
}

struct lb_volume *lb_volume_new(void)
{
	return lb_zalloc(sizeof(struct lb_volume));
}

void lb_btrfs_subvols_free(struct lb_btrfs_subvols *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->subvols[i].path);
		free(s->subvols[i].uuid);
		free(s->subvols[i].parent_uuid);
		free(s->subvols[i].received_uuid);
	}
	free(s->subvols);
	free(s);
}

static int by_uuid(const void *a, const void *b)
{
	const struct lb_btrfs_subvol *const *x = a, *const *y = b;

	return strcmp((*x)->uuid, (*y)->uuid);
}

/* (a manifest may list tens of thousands: sorted by UUID once, then
 * searched, never each against all) */
size_t *lb_btrfs_parents(const struct lb_btrfs_subvols *s)
{
	size_t *ret = lb_realloc_array(NULL, s->n ? s->n : 1, sizeof(*ret));
	_cleanup_free_ const struct lb_btrfs_subvol **sorted =
		lb_zalloc((s->n ? s->n : 1) * sizeof(*sorted));
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->subvols[i].uuid)
			sorted[n++] = &s->subvols[i];
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), by_uuid);
	for (size_t i = 0; i < s->n; i++) {
		const struct lb_btrfs_subvol *sv = &s->subvols[i];
		const struct lb_btrfs_subvol key = { .uuid = sv->parent_uuid }, *k = &key;
		const struct lb_btrfs_subvol *const *hit =
			sv->parent_uuid && n ? bsearch(&k, sorted, n, sizeof(*sorted), by_uuid) : NULL;

		ret[i] = hit && *hit != sv ? (size_t)(*hit - s->subvols) : SIZE_MAX;
	}
	return ret;
}

void lb_volume_free(struct lb_volume *v)
{
	if (!v)
		return;
	lb_ext_geom_free(v->ext);
	lb_vfat_geom_free(v->vfat);
	lb_swap_geom_free(v->swap);
	lb_xfs_geom_free(v->xfs);
	lb_btrfs_geom_free(v->btrfs);
	lb_artifact_free(v->data);
	free(v->data_method);
	free(v->data_source);
	free(v->data_from);
	free(v->data_to);
	lb_btrfs_subvols_free(v->subvols);
	free(v->id);
	free(v->type);
	free(v->usage);
	free(v->version);
	free(v->uuid);
	free(v->uuid_sub);
	free(v->label);
	free(v->mountpoint);
	free(v->mount_options);
	free(v->mount_source);
	free(v->rt_in_use);
	free(v);
}

struct lb_artifact *lb_artifact_new(void)
{
	return lb_zalloc(sizeof(struct lb_artifact));
}

void lb_artifact_free(struct lb_artifact *a)
{
	if (!a)
		return;
	free(a->file);
	free(a->sha256);
	free(a);
}

uint64_t lb_artifact_plain_size(const struct lb_artifact *a)
{
	if (!a->encrypted)
		return a->size;
	return a->size < LB_SEAL_HDR + LB_TAG_LEN ? 0 : a->size - LB_SEAL_HDR - LB_TAG_LEN;
}

struct lb_encryption *lb_encryption_new(void)
{
	return lb_zalloc(sizeof(struct lb_encryption));
}

void lb_encryption_free(struct lb_encryption *e)
{
	if (!e)
		return;
	free(e->cipher);
	free(e->kdf);
	free(e->salt);
	free(e->key_check);
	free(e->manifest_mac);
	free(e);
}

/* fn on a, when there is one */
#define EACH(a)                                    \
	do {                                       \
		if ((a) && (r = fn((a), ud)) != 0) \
			return r;                  \
	} while (0)

static int foreach_disk_artifact(struct lb_disk *d, int (*fn)(struct lb_artifact *, void *),
				 void *ud)
{
	int r;

	EACH(d->boot_code);
	EACH(d->mbr_gap);
	if (d->volume)
		EACH(d->volume->data);
	for (size_t i = 0; i < d->n_parts; i++) {
		EACH(d->parts[i]->content);
		if (d->parts[i]->volume)
			EACH(d->parts[i]->volume->data);
	}
	return 0;
}

int lb_manifest_foreach_artifact(struct lb_manifest *m,
				 int (*fn)(struct lb_artifact *a, void *ud), void *ud)
{
	const struct lb_stack *s = m->stack;
	int r;

	for (size_t i = 0; i < m->n_disks; i++)
		if ((r = foreach_disk_artifact(m->disks[i], fn, ud)) != 0)
			return r;
	for (size_t i = 0; s && i < s->n_mds; i++)
		if (s->mds[i]->volume)
			EACH(s->mds[i]->volume->data);
	for (size_t i = 0; s && i < s->n_luks; i++) {
		EACH(s->luks[i]->header);
		EACH(s->luks[i]->ciphertext);
		if (s->luks[i]->volume)
			EACH(s->luks[i]->volume->data);
	}
	for (size_t i = 0; s && i < s->n_vgs; i++) {
		EACH(s->vgs[i]->metadata);
		for (size_t j = 0; j < s->vgs[i]->n_lvs; j++)
			if (s->vgs[i]->lvs[j]->volume)
				EACH(s->vgs[i]->lvs[j]->volume->data);
	}
	return 0;
}

#undef EACH

static int give_key(struct lb_artifact *a, void *ud)
{
	a->rt_key = ud;
	return 0;
}

void lb_manifest_set_key(struct lb_manifest *m, struct lb_key *key)
{
	if (m->rt_key != key) {
		lb_key_wipe(m->rt_key);
		free(m->rt_key);
	}
	m->rt_key = key;
	lb_manifest_foreach_artifact(m, give_key, key);
}

struct lb_ext_geom *lb_ext_geom_new(void)
{
	return lb_zalloc(sizeof(struct lb_ext_geom));
}

void lb_ext_geom_free(struct lb_ext_geom *g)
{
	if (!g)
		return;
	free(g->features);
	free(g->hash_alg);
	free(g->hash_seed);
	free(g->default_mount_opts);
	free(g->mount_opts);
	free(g->errors);
	free(g->encoding);
	free(g->creator_os);
	free(g->last_mounted);
	free(g);
}

struct lb_vfat_geom *lb_vfat_geom_new(void)
{
	return lb_zalloc(sizeof(struct lb_vfat_geom));
}

void lb_vfat_geom_free(struct lb_vfat_geom *g)
{
	if (!g)
		return;
	free(g->serial);
	free(g->boot_label);
	free(g);
}

struct lb_xfs_geom *lb_xfs_geom_new(void)
{
	return lb_zalloc(sizeof(struct lb_xfs_geom));
}

void lb_xfs_geom_free(struct lb_xfs_geom *g)
{
	if (!g)
		return;
	free(g->features);
	free(g->meta_uuid);
	free(g);
}

struct lb_btrfs_geom *lb_btrfs_geom_new(void)
{
	return lb_zalloc(sizeof(struct lb_btrfs_geom));
}

void lb_btrfs_geom_free(struct lb_btrfs_geom *g)
{
	if (!g)
		return;
	free(g->csum);
	free(g->features);
	free(g->metadata_uuid);
	free(g->dev_uuid);
	free(g->data);
	free(g->metadata);
	free(g->system);
	free(g);
}

struct lb_swap_geom *lb_swap_geom_new(void)
{
	return lb_zalloc(sizeof(struct lb_swap_geom));
}

void lb_swap_geom_free(struct lb_swap_geom *g)
{
	free(g);
}

struct lb_boot *lb_boot_new(void)
{
	return lb_zalloc(sizeof(struct lb_boot));
}

void lb_boot_free(struct lb_boot *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_efi; i++)
		lb_efi_entry_free(b->efi[i]);
	free(b->efi);
	for (size_t i = 0; i < b->n_refs; i++)
		lb_boot_ref_free(b->refs[i]);
	free(b->refs);
	free(b->firmware);
	free(b->loader);
	free(b->esp);
	free(b->bios_boot);
	free(b->boot_order);
	free(b->boot_current);
	free(b->cmdline);
	free(b);
}

struct lb_efi_entry *lb_efi_entry_new(void)
{
	return lb_zalloc(sizeof(struct lb_efi_entry));
}

void lb_efi_entry_free(struct lb_efi_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->description);
	free(e->device_path);
	free(e->data);
	free(e);
}

struct lb_boot_ref *lb_boot_ref_new(void)
{
	return lb_zalloc(sizeof(struct lb_boot_ref));
}

void lb_boot_ref_free(struct lb_boot_ref *r)
{
	if (!r)
		return;
	free(r->source);
	free(r->key);
	free(r->value);
	free(r->where);
	free(r->resolves);
	free(r);
}

struct lb_system *lb_system_new(void)
{
	return lb_zalloc(sizeof(struct lb_system));
}

void lb_system_free(struct lb_system *s)
{
	if (!s)
		return;
	free(s->source);
	free(s->root);
	free(s->found_by);
	free(s->name);
	for (size_t i = 0; i < s->n_notes; i++)
		free(s->notes[i]);
	free(s->notes);
	free(s);
}

#define APPEND(arr, n, item)                                             \
	do {                                                             \
		(arr) = lb_realloc_array((arr), (n) + 1, sizeof(*(arr))); \
		(arr)[(n)++] = (item);                                   \
	} while (0)

int lb_manifest_add_disk(struct lb_manifest *m, struct lb_disk *d)
{
	APPEND(m->disks, m->n_disks, d);
	return 0;
}

int lb_disk_add_partition(struct lb_disk *d, struct lb_partition *p)
{
	APPEND(d->parts, d->n_parts, p);
	return 0;
}

int lb_disk_add_by_id(struct lb_disk *d, const char *name)
{
	APPEND(d->by_id, d->n_by_id, lb_strdup(name));
	return 0;
}

int lb_boot_add_efi(struct lb_boot *b, struct lb_efi_entry *e)
{
	APPEND(b->efi, b->n_efi, e);
	return 0;
}

int lb_boot_add_ref(struct lb_boot *b, struct lb_boot_ref *r)
{
	APPEND(b->refs, b->n_refs, r);
	return 0;
}

struct lb_disk *lb_manifest_find_disk(const struct lb_manifest *m, const char *id_or_path)
{
	if (!id_or_path)
		return NULL;
	for (size_t i = 0; i < m->n_disks; i++)
		if (m->disks[i]->id && strcmp(m->disks[i]->id, id_or_path) == 0)
			return m->disks[i];
	for (size_t i = 0; i < m->n_disks; i++)
		if (m->disks[i]->path && strcmp(m->disks[i]->path, id_or_path) == 0)
			return m->disks[i];
	return NULL;
}

struct lb_partition *lb_disk_find_partition(const struct lb_disk *d, uint32_t number)
{
	for (size_t i = 0; i < d->n_parts; i++)
		if (d->parts[i]->number == number)
			return d->parts[i];
	return NULL;
}

int lb_manifest_foreach_volume(const struct lb_manifest *m,
			       int (*fn)(struct lb_disk *, struct lb_partition *,
					 struct lb_volume *, void *),
			       void *userdata)
{
	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_disk *d = m->disks[i];
		int r;

		if (d->volume && (r = fn(d, NULL, d->volume, userdata)) != 0)
			return r;
		for (size_t j = 0; j < d->n_parts; j++)
			if (d->parts[j]->volume &&
			    (r = fn(d, d->parts[j], d->parts[j]->volume, userdata)) != 0)
				return r;
	}
	return 0;
}

static int find_volume_cb(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v,
			  void *userdata)
{
	const char **want = userdata;

	(void)d;
	(void)p;
	if (v->id && strcmp(v->id, want[0]) == 0) {
		want[1] = (const char *)v;
		return 1;
	}
	return 0;
}

struct lb_volume *lb_manifest_find_volume(const struct lb_manifest *m, const char *id)
{
	const char *want[2] = { id, NULL };

	if (!id)
		return NULL;
	lb_manifest_foreach_volume(m, find_volume_cb, want);
	return (struct lb_volume *)want[1];
}

/* want: the value, "UUID" or "LABEL", and the volume found */
static int stack_identity_cb(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v,
			     void *userdata)
{
	const char **want = userdata;

	(void)d;
	(void)p;
	if (strcmp(want[1], "UUID") == 0 ? v->uuid && strcasecmp(v->uuid, want[0]) == 0
					 : v->label && strcmp(v->label, want[0]) == 0) {
		want[2] = (const char *)v;
		return 1;
	}
	return 0;
}

struct lb_volume *lb_manifest_resolve(const struct lb_manifest *m, const char *key,
				      const char *value)
{
	bool uuid = strcmp(key, "UUID") == 0, label = strcmp(key, "LABEL") == 0;
	bool partuuid = strcmp(key, "PARTUUID") == 0, partlabel = strcmp(key, "PARTLABEL") == 0;

	for (size_t i = 0; i < m->n_disks; i++) {
		const struct lb_disk *d = m->disks[i];

		if (d->volume) {
			if ((uuid && d->volume->uuid && strcasecmp(d->volume->uuid, value) == 0) ||
			    (label && d->volume->label && strcmp(d->volume->label, value) == 0))
				return d->volume;
		}
		for (size_t j = 0; j < d->n_parts; j++) {
			const struct lb_partition *p = d->parts[j];
			struct lb_volume *v = p->volume;

			if (!v)
				continue;
			if ((uuid && v->uuid && strcasecmp(v->uuid, value) == 0) ||
			    (label && v->label && strcmp(v->label, value) == 0) ||
			    (partuuid && p->uuid && strcasecmp(p->uuid, value) == 0) ||
			    (partlabel && p->name && strcmp(p->name, value) == 0))
				return v;
			if (partuuid && d->label == LB_LABEL_DOS && d->signature &&
			    strlen(d->signature) > 2) {
				/* MBR PARTUUID: the disk identifier, a dash, the number */
				_cleanup_free_ char *mbr = lb_asprintf("%s-%02x", d->signature + 2, p->number);

				if (strcasecmp(mbr, value) == 0)
					return v;
			}
		}
	}
	if (uuid || label) {
		const char *want[3] = { value, uuid ? "UUID" : "LABEL", NULL };

		lb_stack_foreach_volume(m, stack_identity_cb, want);
		return (struct lb_volume *)want[2];
	}
	return NULL;
}

bool lb_volume_mounted_here(const struct lb_volume *v)
{
	return v && ((v->mountpoint && !v->mount_source) || v->swap_active);
}

/* sectors × sector size, saturated: a size past 2^64 bytes holds anything
 * a file can be */
static uint64_t sectors_bytes(uint64_t sectors, uint32_t sector_size)
{
	if (sector_size && sectors > UINT64_MAX / sector_size)
		return UINT64_MAX;
	return sectors * sector_size;
}

/* The post-MBR gap exists only on an MBR disk: from sector 1 to the start of
 * its first primary or extended partition. */
uint64_t lb_disk_mbr_gap_room(const struct lb_disk *d)
{
	uint64_t first = UINT64_MAX;

	if (d->label != LB_LABEL_DOS)
		return 0;
	for (size_t i = 0; i < d->n_parts; i++)
		if (d->parts[i]->kind != LB_PART_LOGICAL && d->parts[i]->start < first)
			first = d->parts[i]->start;
	if (first == UINT64_MAX || first < 2)
		return 0;
	return sectors_bytes(first - 1, d->sector_size);
}

uint64_t lb_partition_room(const struct lb_disk *d, const struct lb_partition *p)
{
	return sectors_bytes(p->size, d->sector_size);
}

uint64_t lb_volume_room(const struct lb_disk *d, const struct lb_partition *p)
{
	return sectors_bytes(p ? p->size : d->size, d->sector_size);
}

bool lb_disk_is_critical(const struct lb_disk *d)
{
	if (d->volume && d->volume->critical)
		return true;
	for (size_t i = 0; i < d->n_parts; i++)
		if (d->parts[i]->volume && d->parts[i]->volume->critical)
			return true;
	return false;
}

static const char *const label_names[] = {
	[LB_LABEL_NONE] = "none",
	[LB_LABEL_DOS] = "dos",
	[LB_LABEL_GPT] = "gpt",
};

static const char *const kind_names[] = {
	[LB_PART_PRIMARY] = "primary",
	[LB_PART_EXTENDED] = "extended",
	[LB_PART_LOGICAL] = "logical",
};

static int name_lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

const char *lb_label_type_name(enum lb_label_type t)
{
	return (size_t)t < LB_ARRAY_SIZE(label_names) ? label_names[t] : "unknown";
}

int lb_label_type_from_name(const char *s, enum lb_label_type *ret)
{
	int r = name_lookup(label_names, LB_ARRAY_SIZE(label_names), s);

	if (r < 0)
		return r;
	*ret = (enum lb_label_type)r;
	return 0;
}

const char *lb_part_kind_name(enum lb_part_kind k)
{
	return (size_t)k < LB_ARRAY_SIZE(kind_names) ? kind_names[k] : "unknown";
}

int lb_part_kind_from_name(const char *s, enum lb_part_kind *ret)
{
	int r = name_lookup(kind_names, LB_ARRAY_SIZE(kind_names), s);

	if (r < 0)
		return r;
	*ret = (enum lb_part_kind)r;
	return 0;
}

void lb_manifest_warn(struct lb_manifest *m, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	pthread_mutex_lock(&lock);
	APPEND(m->rt_warnings, m->n_rt_warnings, msg);
	pthread_mutex_unlock(&lock);
}

void lb_system_note(struct lb_system *s, const char *fmt, ...)
{
	va_list ap;
	char *msg, *text;
	size_t len;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	/* what a disk said goes into the manifest: printable, and cut (at a
	 * character) to the schema's length for text */
	text = lb_printable_copy(msg);
	free(msg);
	len = strlen(text);
	if (len > 4000) {
		len = 4000;
		while (len && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		text[len] = '\0';
	}
	APPEND(s->notes, s->n_notes, text);
}

bool lb_type_is_ext(const char *type)
{
	return type && (strcmp(type, "ext2") == 0 || strcmp(type, "ext3") == 0 ||
			strcmp(type, "ext4") == 0);
}
