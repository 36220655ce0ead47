// SPDX-License-Identifier: GPL-3.0-or-later
/* Checking a loaded manifest for what the schema cannot express: geometry,
 * sizes, kinds, ranges, counts, ids; each refusal names the element's line.
 * Every command that loads a manifest gets it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include <libxml/tree.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "manifest/manifest.h"
#include "manifest/manifest-int.h"

/* Every recorded area restore writes through the whole disk fits the
 * geometry it belongs to: the boot code is the MBR's 440 bytes, the post-MBR
 * gap is an MBR disk's and ends before its first partition, a partition's
 * contents fit in it. Restore writes them as recorded, on intact disks too. */
static int check_areas(const struct lb_mf_reader *rd, const struct lb_disk *d)
{
	if (d->boot_code && lb_artifact_plain_size(d->boot_code) != LB_BOOT_CODE_SIZE)
		return lb_mf_bad_artifact(rd, d->boot_code, "disk %s: boot code of %" PRIu64
					  " bytes (the MBR boot-code area is %d)",
					  d->id, lb_artifact_plain_size(d->boot_code), LB_BOOT_CODE_SIZE);
	if (d->mbr_gap && d->label != LB_LABEL_DOS)
		return lb_mf_bad_artifact(rd, d->mbr_gap, "disk %s: a post-MBR gap on a disk with %s table "
					  "(only MBR disks have one)",
					  d->id, d->label == LB_LABEL_GPT ? "a GPT" : "no partition");
	if (d->mbr_gap && (lb_artifact_plain_size(d->mbr_gap) == 0 ||
			   lb_artifact_plain_size(d->mbr_gap) > lb_disk_mbr_gap_room(d)))
		return lb_mf_bad_artifact(rd, d->mbr_gap, "disk %s: post-MBR gap of %" PRIu64 " bytes does "
					  "not fit before the first partition (%" PRIu64 " bytes there)",
					  d->id, lb_artifact_plain_size(d->mbr_gap), lb_disk_mbr_gap_room(d));
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];

		if (p->content && lb_artifact_plain_size(p->content) > lb_partition_room(d, p))
			return lb_mf_bad_artifact(rd, p->content, "disk %s: partition %u's contents of %" PRIu64
						  " bytes do not fit in it (%" PRIu64 " bytes)",
						  d->id, p->number, lb_artifact_plain_size(p->content),
						  lb_partition_room(d, p));
	}
	return 0;
}

/* Bounds on what a manifest may ask for. A GPT entry array is at most what
 * libfdisk reads (4 MiB of 128-byte entries: GPT_NPARTITIONS_MAX); beyond
 * that libfdisk spends minutes looking for a size that fits. */
#define GPT_ENTRY_SIZE 128u
#define GPT_ENTRIES_MAX ((4u << 20) / GPT_ENTRY_SIZE)
#define PARTS_MAX GPT_ENTRIES_MAX
#define MBR_LBA_MAX UINT32_MAX		/* an MBR entry's start and size are 32-bit */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* A disk's recorded geometry: a size, sector sizes the kernel could report,
 * and a byte size that fits in an off_t (so size × sector size, and every
 * partition's bytes, can be computed anywhere without wrapping). */
static int check_disk_geometry(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_disk *d)
{
	uint64_t bytes;

	if (!is_pow2(d->physical_sector_size) || d->physical_sector_size < d->sector_size ||
	    d->physical_sector_size > (1u << 20))
		return lb_mf_bad(rd, n, "disk %s: physical sector size %u is not a power of two multiple of "
					"the logical sector size %u",
				 d->id, d->physical_sector_size, d->sector_size);
	if (d->size == 0)
		return lb_mf_bad(rd, n, "disk %s: size 0 is not a disk", d->id);
	if (__builtin_mul_overflow(d->size, (uint64_t)d->sector_size, &bytes) || bytes > INT64_MAX)
		return lb_mf_bad(rd, n, "disk %s: %" PRIu64 " sectors of %u bytes is too large for a disk",
				 d->id, d->size, d->sector_size);
	return 0;
}

/* What a table may hold: partitions only with a table, and not too many. */
static int check_table(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_disk *d)
{
	if (d->label == LB_LABEL_NONE && d->n_parts)
		return lb_mf_bad(rd, n, "disk %s: has partitions but no partition table", d->id);
	if (d->n_parts > PARTS_MAX)
		return lb_mf_bad(rd, n, "disk %s: %zu partitions, more than %u", d->id, d->n_parts, PARTS_MAX);
	return 0;
}

/* The GPT header fields: an entry count libfdisk accepts, the entry arrays
 * between the headers and the usable range, the backup header at the end. */
static int check_gpt(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_disk *d)
{
	uint64_t esects, elba = d->entries_lba ? d->entries_lba : 2;

	if (d->label != LB_LABEL_GPT)
		return 0;
	if (d->entries == 0 || d->entries > GPT_ENTRIES_MAX)
		return lb_mf_bad(rd, n, "disk %s: %u GPT entries (1 to %u)", d->id, d->entries,
				 GPT_ENTRIES_MAX);
	esects = ((uint64_t)d->entries * GPT_ENTRY_SIZE + d->sector_size - 1) / d->sector_size;
	if (elba < 2 || d->first_lba < elba || d->first_lba - elba < esects ||
	    d->last_lba < d->first_lba || d->last_lba >= d->size || d->size - d->last_lba < 2 + esects)
		return lb_mf_bad(rd, n, "disk %s: GPT usable range %" PRIu64 "-%" PRIu64 " does not fit "
					"(%u entries from sector %" PRIu64 ", %" PRIu64 " sectors)",
				 d->id, d->first_lba, d->last_lba, d->entries, elba, d->size);
	if (d->alt_lba && (d->alt_lba <= d->last_lba || d->alt_lba - d->last_lba <= esects ||
			   d->alt_lba >= d->size))
		return lb_mf_bad(rd, n, "disk %s: GPT backup header at %" PRIu64 " does not fit after the "
					"usable range",
				 d->id, d->alt_lba);
	return 0;
}

struct part_ref {
	const struct lb_partition *p;
	xmlNodePtr node;
};

static int cmp_part_number(const void *a, const void *b)
{
	const struct part_ref *x = a, *y = b;

	return (x->p->number > y->p->number) - (x->p->number < y->p->number);
}

static int cmp_part_start(const void *a, const void *b)
{
	const struct part_ref *x = a, *y = b;

	return (x->p->start > y->p->start) - (x->p->start < y->p->start);
}

/* One partition on its own: its kind and number for the table type, its
 * range inside the usable range (GPT) or the 32-bit fields (MBR). */
static int check_partition(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_disk *d,
			   const struct lb_partition *p)
{
	uint64_t end = p->start + p->size - 1;	/* fits: checked by check_disk */

	if (d->label == LB_LABEL_GPT) {
		if (p->kind != LB_PART_PRIMARY)
			return lb_mf_bad(rd, n, "disk %s: partition %u is %s, GPT has no such kind", d->id,
					 p->number, lb_part_kind_name(p->kind));
		if (p->start < d->first_lba || end > d->last_lba)
			return lb_mf_bad(rd, n, "disk %s: partition %u (%" PRIu64 "-%" PRIu64 ") is outside "
						"the GPT usable range %" PRIu64 "-%" PRIu64,
					 d->id, p->number, p->start, end, d->first_lba, d->last_lba);
		return 0;
	}
	if (p->kind == LB_PART_LOGICAL ? p->number < 5 || p->number > PARTS_MAX : p->number > 4)
		return lb_mf_bad(rd, n, "disk %s: partition %u cannot be %s on an MBR (primary and "
					"extended 1-4, logical from 5)",
				 d->id, p->number, lb_part_kind_name(p->kind));
	if (p->kind != LB_PART_LOGICAL && (p->start > MBR_LBA_MAX || p->size > MBR_LBA_MAX))
		return lb_mf_bad(rd, n, "disk %s: partition %u (start %" PRIu64 ", size %" PRIu64 ") is "
					"beyond what an MBR can address (2^32 sectors)",
				 d->id, p->number, p->start, p->size);
	return 0;
}

/* The partitions together, in O(n log n): numbers used once; on MBR one
 * extended partition at most, every logical inside it; nothing overlaps
 * (primaries and the extended one among themselves, logicals among
 * themselves). */
static int check_partition_set(const struct lb_mf_reader *rd, const struct lb_disk *d,
			       struct part_ref *refs)
{
	const struct part_ref *ext = NULL, *prev = NULL;
	size_t np = d->n_parts;

	if (np == 0)
		return 0;	/* (refs may be NULL: qsort must not see it) */
	qsort(refs, np, sizeof(*refs), cmp_part_number);
	for (size_t i = 1; i < np; i++)
		if (refs[i].p->number == refs[i - 1].p->number)
			return lb_mf_bad(rd, refs[i].node, "disk %s: partition %u appears twice", d->id,
					 refs[i].p->number);
	for (size_t i = 0; i < np; i++) {
		if (refs[i].p->kind != LB_PART_EXTENDED)
			continue;
		if (ext)
			return lb_mf_bad(rd, refs[i].node, "disk %s: partitions %u and %u are both extended",
					 d->id, ext->p->number, refs[i].p->number);
		ext = &refs[i];
	}
	qsort(refs, np, sizeof(*refs), cmp_part_start);
	for (int logical = 0; logical <= 1; logical++) {
		prev = NULL;
		for (size_t i = 0; i < np; i++) {
			const struct lb_partition *p = refs[i].p;

			if ((p->kind == LB_PART_LOGICAL) != logical)
				continue;
			if (logical && !ext)
				return lb_mf_bad(rd, refs[i].node, "disk %s: logical partition %u without an "
								   "extended partition",
						 d->id, p->number);
			if (logical && (p->start <= ext->p->start ||
					p->start + p->size > ext->p->start + ext->p->size))
				return lb_mf_bad(rd, refs[i].node, "disk %s: logical partition %u is not inside "
								   "extended partition %u",
						 d->id, p->number, ext->p->number);
			if (prev && prev->p->start + prev->p->size > p->start)
				return lb_mf_bad(rd, refs[i].node, "disk %s: partitions %u and %u overlap", d->id,
						 prev->p->number, p->number);
			prev = &refs[i];
		}
	}
	return check_areas(rd, d);
}

/* A filesystem's or swap area's recorded geometry: what its tools accept
 * (each filesystem's check) and an extent that fits in the partition or
 * disk that holds it. */
static int check_volume_geometry(const struct lb_mf_reader *rd, xmlNodePtr n,
				 const struct lb_volume *v, uint64_t room)
{
	const struct lb_fs_geom *k;
	uuid_t u;

	/* (mkfs.xfs takes it inside its -m option list, xfs_db in a command:
	 * nothing but a UUID may get there) */
	if (strcmp(v->type, "xfs") == 0 && v->uuid && uuid_parse(v->uuid, u) < 0)
		return lb_mf_bad(rd, n, "volume %s: xfs UUID '%s' is not a UUID", v->id, lb_esc(v->uuid));
	for (size_t i = 0; (k = lb_fs_geom_at(i)); i++) {
		const void *g = lb_fs_geom_get(k, v);
		_cleanup_free_ char *why = NULL;
		uint64_t need = 0;
		bool over;

		if (!g)
			continue;
		if (k->check(g, &why) < 0)
			return lb_mf_bad(rd, n, "volume %s: %s", v->id, why);
		over = k->bytes(g, &need) < 0;
		if (over || need > room)
			return lb_mf_bad(rd, n, "volume %s: its %s geometry (%" PRIu64 "%s bytes) does "
					       "not fit in the %" PRIu64 " bytes that hold it",
					       v->id, v->type, need, over ? " and more" : "", room);
	}
	return 0;
}

struct id_ref {
	const char *id;
	xmlNodePtr node;
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;

	return strcmp(x->id, y->id);
}

/* The first id of refs that appears twice, sorted: O(n log n) */
static const struct id_ref *find_twice(struct id_ref *refs, size_t n)
{
	if (n < 2)
		return NULL;	/* (refs may be NULL: qsort must not see it) */
	qsort(refs, n, sizeof(*refs), cmp_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(refs[i].id, refs[i - 1].id) == 0)
			return &refs[i];
	return NULL;
}

struct id_list {
	struct id_ref *v;
	size_t n;
};

static void id_list_add(struct id_list *l, const char *id, xmlNodePtr node)
{
	if (l->n % 64 == 0)
		l->v = lb_realloc_array(l->v, l->n + 64, sizeof(*l->v));
	l->v[l->n++] = (struct id_ref){ id, node };
}

static int check_disk(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_disk *d,
		      struct id_list *vols)
{
	xmlNodePtr geo = lb_mf_child_elem(n, "geometry"), tbl = lb_mf_child_elem(n, "table");
	xmlNodePtr pn = lb_mf_child_elem(tbl, "partition");
	_cleanup_free_ struct part_ref *refs = NULL;
	int r;

	if (d->sector_size < 512 || d->sector_size > 65536 || (d->sector_size & (d->sector_size - 1)))
		return lb_mf_bad(rd, n, "disk %s: logical sector size %u is not valid", d->id, d->sector_size);
	if (d->label != LB_LABEL_NONE && d->volume)
		return lb_mf_bad(rd, n, "disk %s: has both a partition table and a whole-disk volume", d->id);
	r = check_disk_geometry(rd, geo ? geo : n, d);
	if (r >= 0)
		r = check_table(rd, tbl ? tbl : n, d);
	if (r >= 0)
		r = check_gpt(rd, tbl ? tbl : n, d);
	if (r < 0)
		return r;
	if (d->volume) {
		xmlNodePtr vn = lb_mf_child_elem(n, "volume");

		id_list_add(vols, d->volume->id, vn);
		r = check_volume_geometry(rd, vn, d->volume, d->size * d->sector_size);
		if (r < 0)
			return r;
	}
	refs = lb_zalloc(d->n_parts * sizeof(*refs) + 1);
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct lb_partition *p = d->parts[i];
		xmlNodePtr at = pn ? pn : n;

		refs[i] = (struct part_ref){ p, at };
		for (pn = pn ? pn->next : NULL; pn && !lb_mf_is_elem(pn, "partition"); pn = pn->next)
			;
		if (p->number == 0 || p->size == 0 || p->start == 0 || p->start > d->size ||
		    p->size > d->size - p->start)
			return lb_mf_bad(rd, at, "disk %s: partition %u (start %" PRIu64 ", size %" PRIu64
					 ") does not fit on the disk",
					 d->id, p->number, p->start, p->size);
		if (d->label == LB_LABEL_GPT && p->number > d->entries)
			return lb_mf_bad(rd, at, "disk %s: partition %u is beyond the %u GPT entries", d->id,
					 p->number, d->entries);
	}
	r = check_partition_set(rd, d, refs);
	for (size_t i = 0; i < d->n_parts && r >= 0; i++) {
		const struct lb_partition *p = refs[i].p;

		r = check_partition(rd, refs[i].node, d, p);
		if (r >= 0 && p->volume) {
			xmlNodePtr vn = lb_mf_child_elem(refs[i].node, "volume");

			id_list_add(vols, p->volume->id, vn);
			r = check_volume_geometry(rd, vn, p->volume, p->size * d->sector_size);
		}
	}
	if (r >= 0)
		r = check_areas(rd, d);
	return r;
}

/* ---- stacked storage ---- */

static int no_disk(struct lb_disk *d, void *ud)
{
	(void)d;
	(void)ud;
	return 0;
}

/* a node of the stack: its id names nothing else, what it sits on exists
 * (and is not itself), no loop leads back to it, its volume carries its
 * id and fits in it */
static int check_node(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_manifest *m,
		      const char *id, enum lb_dev_kind kind, const struct lb_volume *v,
		      uint64_t sectors, struct id_list *vols)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(m, id);
	int r;

	if (ref.kind != kind)
		return lb_mf_bad(rd, n, "%s: the id names another device of this manifest", id);
	id_list_add(vols, id, n);
	r = lb_dev_foreach_disk(m, id, no_disk, NULL);
	if (r < 0)
		return lb_mf_bad(rd, n, "%s", lb_errmsg());
	if (!v)
		return 0;
	if (strcmp(v->id, id) != 0)
		return lb_mf_bad(rd, n, "%s: its volume has id %s, not %s", id, v->id, id);
	if (sectors > UINT64_MAX / 512)
		return lb_mf_bad(rd, n, "%s: size %" PRIu64 " sectors is out of range", id, sectors);
	return check_volume_geometry(rd, lb_mf_child_elem(n, "volume"), v, sectors * 512);
}

static int check_on(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_manifest *m,
		    const char *self, const char *on, struct id_list *used)
{
	if (!*on)
		return 0;	/* not on a captured disk (said at capture) */
	if (strcmp(on, self) == 0 || lb_manifest_find_dev(m, on).kind == LB_DEV_NONE)
		return lb_mf_bad(rd, n, "%s: on=\"%s\" names no other device of this manifest", self, on);
	id_list_add(used, on, n);
	return 0;
}

static xmlNodePtr next_elem(xmlNodePtr n, const char *name)
{
	while (n && !lb_mf_is_elem(n, name))
		n = n->next;
	return n;
}

/* a thin volume is in a thin pool of its group, with a device id no other
 * volume of that pool has (restore makes the pool's devices from them) */
static int check_thin(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_vg *vg,
		      const struct lb_lv *lv)
{
	const struct lb_lv *pool = NULL;

	for (size_t i = 0; lv->pool && i < vg->n_lvs; i++)
		if (strcmp(vg->lvs[i]->name, lv->pool) == 0 && strcmp(vg->lvs[i]->segtype, "thin-pool") == 0)
			pool = vg->lvs[i];
	if (!pool)
		return lb_mf_bad(rd, n, "%s: a thin volume whose pool is not a thin pool of %s", lv->id,
				 vg->id);
	for (size_t i = 0; lv->thin_id && i < vg->n_lvs; i++)
		if (vg->lvs[i] != lv && vg->lvs[i]->thin_id == lv->thin_id && vg->lvs[i]->pool &&
		    strcmp(vg->lvs[i]->pool, lv->pool) == 0)
			return lb_mf_bad(rd, n, "%s: thin id %" PRIu32 " is %s's too", lv->id, lv->thin_id,
					 vg->lvs[i]->id);
	return 0;
}

static int check_vg(const struct lb_mf_reader *rd, xmlNodePtr n, const struct lb_manifest *m,
		    const struct lb_vg *vg, struct id_list *vols, struct id_list *used)
{
	xmlNodePtr c = next_elem(n->children, "pv");
	int r = 0;

	for (size_t i = 0; i < vg->n_pvs && r >= 0; i++, c = c ? next_elem(c->next, "pv") : NULL)
		r = check_on(rd, c ? c : n, m, vg->id, vg->pvs[i]->on, used);
	c = next_elem(n->children, "lv");
	for (size_t i = 0; i < vg->n_lvs && r >= 0; i++, c = c ? next_elem(c->next, "lv") : NULL) {
		r = check_node(rd, c ? c : n, m, vg->lvs[i]->id, LB_DEV_LV, vg->lvs[i]->volume,
			       vg->lvs[i]->size, vols);
		if (r >= 0 && strcmp(vg->lvs[i]->segtype, "thin") == 0)
			r = check_thin(rd, c ? c : n, vg, vg->lvs[i]);
	}
	return r;
}

static int check_storage(const struct lb_mf_reader *rd, xmlNodePtr root, const struct lb_manifest *m,
			 struct id_list *vols)
{
	const struct lb_stack *s = m->stack;
	xmlNodePtr st = next_elem(root->children, "storage"), n;
	struct id_list used = { NULL, 0 };
	const struct id_ref *twice;
	int r = 0;

	if (!s || !st)
		return 0;
	n = next_elem(st->children, "md");
	for (size_t i = 0; i < s->n_mds && r >= 0; i++, n = n ? next_elem(n->next, "md") : NULL) {
		const struct lb_md *md = s->mds[i];
		xmlNodePtr at = n ? n : st;

		r = check_node(rd, at, m, md->id, LB_DEV_MD, md->volume, md->size, vols);
		if (r >= 0 && (md->raid_devices == 0 || md->raid_devices > 256 ||
			       md->n_members > 1024))
			r = lb_mf_bad(rd, at, "%s: %u raid devices, %zu members: out of range", md->id,
				      md->raid_devices, md->n_members);
		for (size_t j = 0; j < md->n_members && r >= 0; j++)
			r = check_on(rd, at, m, md->id, md->members[j]->on, &used);
	}
	n = next_elem(st->children, "luks");
	for (size_t i = 0; i < s->n_luks && r >= 0; i++, n = n ? next_elem(n->next, "luks") : NULL) {
		const struct lb_luks *l = s->luks[i];
		xmlNodePtr at = n ? n : st;

		r = check_node(rd, at, m, l->id, LB_DEV_LUKS, l->volume, l->size, vols);
		if (r >= 0)
			r = check_on(rd, at, m, l->id, l->on, &used);
	}
	n = next_elem(st->children, "vg");
	for (size_t i = 0; i < s->n_vgs && r >= 0; i++, n = n ? next_elem(n->next, "vg") : NULL)
		r = check_vg(rd, n ? n : st, m, s->vgs[i], vols, &used);
	if (r >= 0 && (twice = find_twice(used.v, used.n)))
		r = lb_mf_bad(rd, twice->node, "device %s is used by two layers of the stack", twice->id);
	free(used.v);
	return r;
}

struct enc_check {
	const struct lb_mf_reader *rd;
	bool encrypted;
};

static int check_encrypted(struct lb_artifact *a, void *ud)
{
	const struct enc_check *ec = ud;

	if (a->encrypted && !ec->encrypted)
		return lb_mf_bad_artifact(ec->rd, a, "%s is encrypted but the manifest has no "
						     "<encryption>", a->file);
	/* (one left plain would be taken as it is: an artifact anyone could
	 * swap in) */
	if (!a->encrypted && ec->encrypted)
		return lb_mf_bad_artifact(ec->rd, a, "%s is not encrypted in an encrypted capture",
					  a->file);
	return 0;
}

/* An encrypted capture encrypts every artifact; its KDF's parameters are
 * ones this lifeboat will run. */
static int check_encryption(const struct lb_mf_reader *rd, xmlNodePtr root,
			    const struct lb_manifest *m)
{
	const struct lb_encryption *e = m->encryption;
	struct enc_check ec = { rd, e != NULL };

	if (e && (e->kdf_time < 1 || e->kdf_time > 64 || e->kdf_lanes < 1 || e->kdf_lanes > 16 ||
		  e->kdf_memory < 8 * e->kdf_lanes || e->kdf_memory > (4u << 20)))
		return lb_mf_bad(rd, lb_mf_child_elem(root, "encryption"),
				 "argon2id parameters out of range (time 1-64, lanes 1-16, memory "
				 "8 KiB per lane to 4 GiB)");
	return lb_manifest_foreach_artifact((struct lb_manifest *)m, check_encrypted, &ec);
}

int lb_mf_check(const struct lb_mf_reader *rd, xmlNodePtr root, const struct lb_manifest *m)
{
	_cleanup_free_ struct id_ref *disks = lb_zalloc(m->n_disks * sizeof(*disks) + 1);
	struct id_list vols = { NULL, 0 };
	const struct id_ref *twice;
	xmlNodePtr n = root->children;
	int r = 0;

	if (m->system && m->system->root && !lb_manifest_find_volume(m, m->system->root)) {
		xmlNodePtr s = root->children;

		while (s && !lb_mf_is_elem(s, "system"))
			s = s->next;
		return lb_mf_bad(rd, s, "system root %s is not a volume of this manifest", m->system->root);
	}

	for (size_t i = 0; i < m->n_disks; i++) {
		while (n && !lb_mf_is_elem(n, "disk"))
			n = n->next;
		disks[i] = (struct id_ref){ m->disks[i]->id, n };
		if (n)
			n = n->next;
	}
	twice = find_twice(disks, m->n_disks);
	if (twice)
		return lb_mf_bad(rd, twice->node, "disk id %s appears twice", twice->id);
	n = root->children;
	for (size_t i = 0; i < m->n_disks && r >= 0; i++) {
		while (n && !lb_mf_is_elem(n, "disk"))
			n = n->next;
		r = check_disk(rd, n, m->disks[i], &vols);
		if (n)
			n = n->next;
	}
	if (r >= 0)
		r = check_storage(rd, root, m, &vols);
	if (r >= 0 && (twice = find_twice(vols.v, vols.n)))
		r = lb_mf_bad(rd, twice->node, "volume id %s appears twice", twice->id);
	if (r >= 0)
		r = check_encryption(rd, root, m);
	free(vols.v);
	return r;
}
