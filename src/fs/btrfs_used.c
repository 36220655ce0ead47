// SPDX-License-Identifier: GPL-3.0-or-later
/* What one device of a btrfs holds, from its superblock and chunk tree:
 * the bytes in use (the superblock copies that fit and every stripe of a
 * chunk on this device; an image of an unmounted btrfs holds only those),
 * and the geometry recorded for making it again (sizes, checksum,
 * features, this device's devid and UUID, the profiles). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"

/* the superblock copies: 64 KiB, 64 MiB, 256 GiB, 1 PiB */
static const uint64_t super_at[] = { 65536ull, 64ull << 20, 256ull << 30, 1ull << 50 };

struct run {
	uint64_t off, len;
};

static int by_off(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int lb_btrfs_used_runs(int fd, uint64_t offset, uint64_t size, int (*fn)(void *, uint64_t, uint64_t),
		       void *ud, uint64_t *ret_used)
{
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_sb sb;
	_cleanup_free_ struct run *runs = NULL;
	size_t n = 0, alloc;
	uint64_t end, sum = 0;
	int r;

	r = lb_btrfs_sb_read(fd, offset, &sb);
	if (r < 0)
		return r;
	if (sb.dev_total_bytes > size)
		return lb_err(-EUCLEAN, "btrfs device %" PRIu64 " is %" PRIu64 " bytes in its "
					"superblock, its volume %" PRIu64,
			      sb.devid, sb.dev_total_bytes, size);
	r = lb_btrfs_chunks_read(fd, offset, size, &sb, &cs);
	if (r < 0)
		return r;
	alloc = 4;
	for (size_t i = 0; i < cs.n; i++)
		alloc += cs.v[i].num_stripes;
	runs = lb_realloc_array(NULL, alloc, sizeof(*runs));
	for (size_t i = 0; i < 4; i++)
		if (super_at[i] + BTRFS_SUPER_SIZE <= sb.dev_total_bytes)
			runs[n++] = (struct run){ super_at[i], BTRFS_SUPER_SIZE };
	for (size_t i = 0; i < cs.n && r >= 0; i++) {
		const struct lb_btrfs_chunk *c = &cs.v[i];
		uint64_t len = lb_btrfs_stripe_bytes(c);

		for (uint16_t s = 0; s < c->num_stripes; s++) {
			if (c->stripes[s].devid != sb.devid)
				continue;
			if (len > sb.dev_total_bytes || c->stripes[s].offset > sb.dev_total_bytes - len) {
				r = lb_err(-EUCLEAN, "btrfs chunk %" PRIu64 " lies past the end of "
						     "device %" PRIu64,
					   c->logical, sb.devid);
				break;
			}
			runs[n++] = (struct run){ c->stripes[s].offset, len };
		}
	}
	lb_btrfs_chunks_free(&cs);
	if (r < 0)
		return r;
	qsort(runs, n, sizeof(*runs), by_off);
	/* merged: a superblock copy may lie inside a chunk's stripe (it is
	 * never allocated, but a hostile image may say so) */
	for (size_t i = 0; i < n && r >= 0;) {
		uint64_t off = runs[i].off;

		end = runs[i].off + runs[i].len;
		for (i++; i < n && runs[i].off <= end; i++)
			if (runs[i].off + runs[i].len > end)
				end = runs[i].off + runs[i].len;
		sum += end - off;
		if (fn)
			r = fn(ud, off, end - off);
	}
	if (r >= 0 && ret_used)
		*ret_used = sum;
	return r < 0 ? r : 0;
}

static char *uuid_str(const uint8_t u[16])
{
	char s[37];

	uuid_unparse_lower(u, s);
	return lb_strdup(s);
}

/* The names of the bits set in flags of the compat_ro (ro) or incompat
 * set; a bit lifeboat does not know as incompat_bit_N / compat_ro_bit_N. */
static void feature_names(char **list, uint64_t flags, bool ro)
{
	for (unsigned bit = 0; bit < 64; bit++) {
		const struct lb_btrfs_feature *f = NULL;
		char *n;

		if (!(flags & (1ull << bit)))
			continue;
		for (size_t i = 0; (f = lb_btrfs_feature_at(i)); i++)
			if (f->ro == ro && f->bit == bit)
				break;
		if (f)
			n = lb_asprintf("%s%s%s", *list ? *list : "", *list ? " " : "", f->name);
		else
			n = lb_asprintf("%s%s%s_bit_%u", *list ? *list : "", *list ? " " : "",
					ro ? "compat_ro" : "incompat", bit);
		free(*list);
		*list = n;
	}
}

/* The profile that holds the most bytes of the chunks of class bit. */
static char *profile_of(const struct lb_btrfs_chunks *cs, uint64_t bit)
{
	static const uint64_t all[] = { 0, BTRFS_BG_DUP, BTRFS_BG_RAID0, BTRFS_BG_RAID1,
					BTRFS_BG_RAID1C3, BTRFS_BG_RAID1C4, BTRFS_BG_RAID10,
					BTRFS_BG_RAID5, BTRFS_BG_RAID6 };
	uint64_t best = 0, best_bytes = 0;

	for (size_t p = 0; p < sizeof(all) / sizeof(all[0]); p++) {
		uint64_t bytes = 0;

		for (size_t i = 0; i < cs->n; i++)
			if ((cs->v[i].type & bit) && (cs->v[i].type & BTRFS_BG_PROFILES) == all[p])
				bytes += cs->v[i].length;
		if (bytes > best_bytes) {
			best = all[p];
			best_bytes = bytes;
		}
	}
	return lb_strdup(lb_btrfs_profile_name(best));
}

int lb_btrfs_geom_from(const struct lb_btrfs_sb *sb, const struct lb_btrfs_chunks *cs,
		       struct lb_btrfs_geom **ret)
{
	struct lb_btrfs_geom *g = lb_btrfs_geom_new();

	g->node_size = sb->nodesize;
	g->sector_size = sb->sectorsize;
	g->csum = lb_strdup(lb_btrfs_csum_name(sb->csum_type));
	feature_names(&g->features, sb->incompat, false);
	feature_names(&g->features, sb->compat_ro, true);
	if (!g->features)
		g->features = lb_strdup("");
	if ((sb->incompat & BTRFS_INCOMPAT_METADATA_UUID) &&
	    memcmp(sb->metadata_uuid, sb->fsid, 16) != 0)
		g->metadata_uuid = uuid_str(sb->metadata_uuid);
	g->devices = sb->num_devices;
	g->devid = sb->devid;
	g->dev_uuid = uuid_str(sb->dev_uuid);
	g->dev_bytes = sb->dev_total_bytes;
	g->total_bytes = sb->total_bytes;
	g->bytes_used = sb->bytes_used;
	g->data = profile_of(cs, BTRFS_BG_DATA);
	g->metadata = profile_of(cs, BTRFS_BG_METADATA);
	g->system = profile_of(cs, BTRFS_BG_SYSTEM);
	*ret = g;
	return 0;
}
