// SPDX-License-Identifier: GPL-3.0-or-later
/* btrfs: the geometry mkfs.btrfs needs to make the same filesystem again
 * and which device of it a volume is, read from the device's superblock
 * and chunk tree (btrfs_sb.c, btrfs_chunk.c, btrfs_used.c), never from a
 * tool's output; made again with it, its UUID and label, and its own
 * metadata UUID put back afterwards (btrfstune -M). Its used bytes are the
 * superblock copies and this device's chunk stripes.
 *
 * A btrfs over several devices is one filesystem: each device's volume
 * records its devid and device UUID; mkfs_argv is given every device, in
 * devid order. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "model/stack.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"

static int btrfs_read(const char *dev, int fd, uint64_t offset, uint64_t size, void **ret)
{
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	struct lb_btrfs_geom *g = NULL;
	int r;

	(void)dev;
	r = lb_btrfs_sb_read(fd, offset, &sb);
	if (r < 0)
		return r;
	r = lb_btrfs_chunks_read(fd, offset, size, &sb, &cs);
	if (r < 0)
		return r;
	r = lb_btrfs_geom_from(&sb, &cs, &g);
	lb_btrfs_chunks_free(&cs);
	if (r < 0)
		return r;
	*ret = g;
	return 0;
}

/* -O and -R lists: every feature mkfs.btrfs sets, on or off as recorded
 * (raid56 and raid1c34 only on: mkfs.btrfs turns them on for the
 * profiles that need them). */
static void feature_lists(const struct lb_btrfs_geom *g, char **ret_o, char **ret_r)
{
	const struct lb_btrfs_feature *f;

	*ret_o = NULL;
	*ret_r = NULL;
	for (size_t i = 0; (f = lb_btrfs_feature_at(i)); i++) {
		bool on = lb_btrfs_has_feature(g, f->name);
		char **list = f->how == LB_BTRFS_FEAT_MKFS_O ? ret_o :
			      f->how == LB_BTRFS_FEAT_MKFS_R ? ret_r : NULL;
		char *n;

		if (!list || (!on && (strcmp(f->name, "raid56") == 0 || strcmp(f->name, "raid1c34") == 0)))
			continue;
		n = lb_asprintf("%s%s%s%s", *list ? *list : "", *list ? "," : "", on ? "" : "^",
				f->option);
		free(*list);
		*list = n;
	}
}

/* The argv for making v over devs (n of them, in devid order). */
char **lb_btrfs_mkfs_argv(const struct lb_volume *v, const char *const *devs, size_t n, bool quick)
{
	const struct lb_btrfs_geom *g = v->btrfs;
	/* with its own metadata UUID, it is made with that one and given its
	 * fsid afterwards (btrfs_fixup), as btrfstune -M would have done */
	const char *uuid = g && g->metadata_uuid ? g->metadata_uuid : v->uuid;
	char **argv = lb_argv_new("mkfs.btrfs");

	lb_argv_add(&argv, "-f");
	lb_argv_add(&argv, "-q");
	if (quick)
		lb_argv_add(&argv, "--nodiscard");
	if (uuid) {
		lb_argv_add(&argv, "-U");
		lb_argv_add(&argv, "%s", uuid);
	}
	if (v->label) {
		lb_argv_add(&argv, "-L");
		lb_argv_add(&argv, "%s", v->label);
	}
	if (g) {
		_cleanup_free_ char *o = NULL, *r = NULL;

		feature_lists(g, &o, &r);
		lb_argv_add(&argv, "--nodesize");
		lb_argv_add(&argv, "%u", g->node_size);
		lb_argv_add(&argv, "--sectorsize");
		lb_argv_add(&argv, "%u", g->sector_size);
		lb_argv_add(&argv, "--csum");
		lb_argv_add(&argv, "%s", g->csum);
		if (o) {
			lb_argv_add(&argv, "--features");
			lb_argv_add(&argv, "%s", o);
		}
		if (r) {
			lb_argv_add(&argv, "--runtime-features");
			lb_argv_add(&argv, "%s", r);
		}
		lb_argv_add(&argv, "--data");
		lb_argv_add(&argv, "%s", g->data);
		lb_argv_add(&argv, "--metadata");
		lb_argv_add(&argv, "%s", g->metadata);
		/* a single device's size as recorded (several: each its
		 * partition's, which bounds it) */
		if (n == 1) {
			lb_argv_add(&argv, "--byte-count");
			lb_argv_add(&argv, "%" PRIu64, g->dev_bytes);
		}
	}
	for (size_t i = 0; i < n; i++)
		lb_argv_add(&argv, "%s", devs[i]);
	return argv;
}

static char **btrfs_mkfs_argv(const struct lb_volume *v, const char *dev, bool quick)
{
	return lb_btrfs_mkfs_argv(v, &dev, 1, quick);
}

/* What mkfs.btrfs cannot set: the device's UUID (btrfs_devuuid.c), and
 * the fsid over the metadata UUID mkfs.btrfs was given (btrfstune -M keeps
 * the fsid it was made with as the metadata UUID). */
static int btrfs_fixup(const struct lb_volume *v, const char *dev)
{
	char *argv[5];
	int r;

	/* (over several devices, the restore sets them all at once) */
	if (v->btrfs && v->btrfs->devices == 1) {
		r = lb_btrfs_set_dev_uuids(&dev, &v, 1);
		if (r < 0)
			return r;
	}
	if (!v->btrfs || !v->btrfs->metadata_uuid || !v->uuid)
		return 0;
	argv[0] = (char *)"btrfstune";
	argv[1] = (char *)"-M";
	argv[2] = v->uuid;
	argv[3] = (char *)dev;
	argv[4] = NULL;
	r = lb_run(argv, true);
	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "%s: btrfstune could not set the fsid %s over the "
					       "metadata UUID %s",
			      dev, v->uuid, v->btrfs->metadata_uuid);
	return 0;
}

static int btrfs_can_make(const struct lb_volume *v, char **ret_why)
{
	const struct lb_btrfs_geom *g = v->btrfs;
	_cleanup_free_ char *list = NULL;
	char *save = NULL;

	if (!g)
		return 0;
	list = lb_strdup(g->features);
	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		const struct lb_btrfs_feature *f = lb_btrfs_feature_find(w);

		if (!f || f->how == LB_BTRFS_FEAT_NONE) {
			*ret_why = lb_asprintf("btrfs feature %s cannot be made by mkfs.btrfs", w);
			return -EOPNOTSUPP;
		}
	}
	if (strcmp(g->system, g->metadata) != 0) {
		*ret_why = lb_asprintf("btrfs system profile %s differs from the metadata profile %s: "
				       "mkfs.btrfs makes them the same",
				       g->system, g->metadata);
		return -EOPNOTSUPP;
	}
	if (lb_btrfs_has_feature(g, "mixed_groups") && strcmp(g->data, g->metadata) != 0) {
		*ret_why = lb_asprintf("mixed btrfs block groups with data %s and metadata %s",
				       g->data, g->metadata);
		return -EOPNOTSUPP;
	}
	return 0;
}

struct partial {
	const struct lb_volume **v;
	size_t n;
};

static int collect(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct partial *c = ud;

	(void)d;
	(void)p;
	if (strcmp(v->type, "btrfs") == 0 && v->uuid && v->btrfs && v->btrfs->devices > 1) {
		c->v = lb_realloc_array(c->v, c->n + 1, sizeof(*c->v));
		c->v[c->n++] = v;
	}
	return 0;
}

void lb_btrfs_warn_partial(struct lb_manifest *m)
{
	struct partial c = { 0 };

	for (size_t i = 0; i < m->n_disks; i++) {
		struct lb_disk *d = m->disks[i];

		if (d->volume)
			collect(d, NULL, d->volume, &c);
		for (size_t j = 0; j < d->n_parts; j++)
			if (d->parts[j]->volume)
				collect(d, d->parts[j], d->parts[j]->volume, &c);
	}
	lb_stack_foreach_volume(m, collect, &c);
	for (size_t i = 0; i < c.n; i++) {
		size_t same = 0;
		bool first = true;

		for (size_t j = 0; j < c.n; j++)
			if (strcmp(c.v[i]->uuid, c.v[j]->uuid) == 0) {
				same++;
				first &= j >= i;
			}
		if (first && same < c.v[i]->btrfs->devices)
			lb_manifest_warn(m, "%s: btrfs %s has %" PRIu64 " devices, this capture records "
					    "%zu: a restore cannot make it again; capture every disk it is on",
					 c.v[i]->id, c.v[i]->uuid, c.v[i]->btrfs->devices, same);
	}
	free(c.v);
}

static bool size_ok(uint32_t v, uint32_t lo, uint32_t hi)
{
	return lb_is_pow2(v) && v >= lo && v <= hi;
}

static int why(char **ret_why, const char *what)
{
	*ret_why = lb_asprintf("btrfs geometry is not valid: %s", what);
	return -EINVAL;
}

static bool feature_name_ok(const char *w)
{
	const char *num = NULL;

	if (lb_btrfs_feature_find(w))
		return true;
	if (strncmp(w, "incompat_bit_", 13) == 0)
		num = w + 13;
	else if (strncmp(w, "compat_ro_bit_", 14) == 0)
		num = w + 14;
	return num && *num && strspn(num, "0123456789") == strlen(num) && strlen(num) <= 2;
}

/* What mkfs.btrfs accepts and what makes one filesystem: sizes in range
 * and powers of two, names lifeboat knows, this device inside the whole. */
static int btrfs_check(const void *geom, char **ret_why)
{
	const struct lb_btrfs_geom *g = geom;
	_cleanup_free_ char *list = NULL;
	char *save = NULL;
	uuid_t u;

	if (!size_ok(g->sector_size, 4096, 65536) || !size_ok(g->node_size, g->sector_size, 65536))
		return why(ret_why, "node or sector size");
	if (!g->csum || (strcmp(g->csum, "crc32c") != 0 && strcmp(g->csum, "xxhash") != 0 &&
			 strcmp(g->csum, "sha256") != 0 && strcmp(g->csum, "blake2") != 0))
		return why(ret_why, "checksum type");
	if (!g->data || !g->metadata || !g->system || lb_btrfs_profile_bits(g->data) < 0 ||
	    lb_btrfs_profile_bits(g->metadata) < 0 || lb_btrfs_profile_bits(g->system) < 0)
		return why(ret_why, "profiles");
	if (g->devices == 0 || g->devid == 0 || g->dev_bytes == 0 || g->dev_bytes > g->total_bytes)
		return why(ret_why, "devices or sizes");
	if (!g->dev_uuid || uuid_parse(g->dev_uuid, u) < 0)
		return why(ret_why, "the device UUID is not a UUID");
	if (g->metadata_uuid && uuid_parse(g->metadata_uuid, u) < 0)
		return why(ret_why, "the metadata UUID is not a UUID");
	list = lb_strdup(g->features ? g->features : "");
	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!feature_name_ok(w)) {
			*ret_why = lb_asprintf("btrfs feature \"%s\" is not one lifeboat knows", w);
			return -EINVAL;
		}
	if (g->metadata_uuid && !lb_btrfs_has_feature(g, "metadata_uuid"))
		return why(ret_why, "a metadata UUID needs the metadata_uuid feature");
	return 0;
}

static int btrfs_bytes(const void *geom, uint64_t *ret)
{
	const struct lb_btrfs_geom *g = geom;

	*ret = g->dev_bytes;
	return 0;
}

static void btrfs_free(void *g)
{
	lb_btrfs_geom_free(g);
}

static int btrfs_used(const char *dev, int fd, uint64_t offset, uint64_t size,
		      int (*fn)(void *, uint64_t, uint64_t), void *ud, uint64_t *ret_used)
{
	(void)dev;
	return lb_btrfs_used_runs(fd, offset, size, fn, ud, ret_used);
}

static const struct lb_field btrfs_fields[] = {
	LB_FIELD(lb_btrfs_geom, "node-size", LB_F_U32, node_size, 0),
	LB_FIELD(lb_btrfs_geom, "sector-size", LB_F_U32, sector_size, 0),
	LB_FIELD(lb_btrfs_geom, "csum", LB_F_STR, csum, 0),
	LB_FIELD(lb_btrfs_geom, "features", LB_F_STR, features, 0),
	LB_FIELD(lb_btrfs_geom, "metadata-uuid", LB_F_STR, metadata_uuid, LB_F_OPT),
	LB_FIELD(lb_btrfs_geom, "devices", LB_F_U64, devices, 0),
	LB_FIELD(lb_btrfs_geom, "devid", LB_F_U64, devid, 0),
	LB_FIELD(lb_btrfs_geom, "dev-uuid", LB_F_STR, dev_uuid, 0),
	LB_FIELD(lb_btrfs_geom, "dev-bytes", LB_F_U64, dev_bytes, 0),
	LB_FIELD(lb_btrfs_geom, "total-bytes", LB_F_U64, total_bytes, 0),
	LB_FIELD(lb_btrfs_geom, "bytes-used", LB_F_U64, bytes_used, 0),
	LB_FIELD(lb_btrfs_geom, "data", LB_F_STR, data, 0),
	LB_FIELD(lb_btrfs_geom, "metadata", LB_F_STR, metadata, 0),
	LB_FIELD(lb_btrfs_geom, "system", LB_F_STR, system, 0),
	LB_FIELD_END,
};

static const struct lb_fs_geom btrfs_geom = {
	.element = "btrfs",
	.fields = btrfs_fields,
	.json = (const char *const[]){ "node-size", "sector-size", "csum", "devices", "devid",
				       "data", "metadata", "features", NULL },
	.size = sizeof(struct lb_btrfs_geom),
	.slot = offsetof(struct lb_volume, btrfs),
	.read = btrfs_read,
	.check = btrfs_check,
	.bytes = btrfs_bytes,
	.free = btrfs_free,
};

const struct lb_fs_ops lb_fs_btrfs = {
	.type = "btrfs",
	.program = "mkfs.btrfs",
	.geom = &btrfs_geom,
	.mkfs_argv = btrfs_mkfs_argv,
	.can_make = btrfs_can_make,
	.fixup = btrfs_fixup,
	.used = btrfs_used,
};
