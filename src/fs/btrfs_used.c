// SPDX-License-Identifier: GPL-3.0-or-later
/* What one device of a btrfs holds, from its superblock, chunk tree and
 * free space tree: the bytes in use (the superblock copies that fit, every
 * stripe of a metadata, system or striped chunk on this device, and of the
 * other data chunks what the free space tree does not call free; an image
 * of an unmounted btrfs holds only those),
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

struct runs {
	struct run *v;
	size_t n, alloc;
};

static void runs_add(struct runs *rs, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	if (rs->n == rs->alloc) {
		rs->alloc = rs->alloc ? rs->alloc * 2 : 64;
		rs->v = lb_realloc_array(rs->v, rs->alloc, sizeof(*rs->v));
	}
	rs->v[rs->n++] = (struct run){ off, len };
}

/* Whether the free space tree describes chunk c as one block group. */
static bool described(const struct lb_btrfs_free *f, const struct lb_btrfs_chunk *c)
{
	size_t lo = 0, hi = f->n_bg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->bg[mid].start < c->logical)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_bg && f->bg[lo].start == c->logical && f->bg[lo].len == c->length;
}

/* The stripe of chunk c at phys: what of it the free space tree does not
 * call free. Only for a chunk each of whose stripes holds the whole of it
 * (a logical address is the same offset into every stripe). */
static void used_of(struct runs *rs, const struct lb_btrfs_free *f, const struct lb_btrfs_chunk *c,
		    uint64_t phys)
{
	const uint64_t end = c->logical + c->length;
	uint64_t at = c->logical;
	size_t lo = 0, hi = f->n_free;

	/* the first free range that ends past the chunk's start */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->free[mid].start + f->free[mid].len <= c->logical)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < f->n_free && f->free[i].start < end; i++) {
		uint64_t s = f->free[i].start < c->logical ? c->logical : f->free[i].start;
		uint64_t e = f->free[i].start + f->free[i].len;

		if (e > end)
			e = end;
		if (s > at)
			runs_add(rs, phys + (at - c->logical), s - at);
		if (e > at)
			at = e;
	}
	if (end > at)
		runs_add(rs, phys + (at - c->logical), end - at);
}

/* Whether chunk c's used bytes may come from the free space tree: data
 * only (metadata and system chunks are small and taken whole), and only
 * where each stripe holds the whole chunk (single, dup, raid1, raid1c3,
 * raid1c4). A striped chunk (raid0, raid10, raid5, raid6) spreads its
 * logical range over its stripes in stripe_len pieces, with parity for
 * raid5/6: it is taken whole. */
static bool tightened(const struct lb_btrfs_chunk *c)
{
	/* (a type bit lifeboat does not know, such as the remap tree's
	 * "remapped", takes the chunk whole too) */
	return (c->type & BTRFS_BG_DATA) && !(c->type & ~(BTRFS_BG_DATA | BTRFS_BG_PROFILES)) &&
	       !(c->type & (BTRFS_BG_RAID0 | BTRFS_BG_RAID10 | BTRFS_BG_RAID5 | BTRFS_BG_RAID6));
}

int lb_btrfs_used_runs(int fd, uint64_t offset, uint64_t size, int (*fn)(void *, uint64_t, uint64_t),
		       void *ud, uint64_t *ret_used)
{
	struct lb_btrfs_chunks cs;
	struct lb_btrfs_free fr;
	struct lb_btrfs_sb sb;
	struct runs rs = { 0 };
	_cleanup_free_ struct run *runs = NULL;
	size_t n;
	uint64_t end, sum = 0;
	bool have_free;
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
	/* without a free space tree read whole, every chunk is taken whole */
	r = lb_btrfs_free_read(fd, offset, size, &sb, &cs, &fr);
	have_free = r >= 0;
	if (r == -EOPNOTSUPP || r == -ENXIO)	/* (none, or on other devices) */
		lb_debug("btrfs", "device %" PRIu64 ": whole chunks: %s", sb.devid, lb_errmsg());
	else if (r < 0)
		lb_warn("btrfs device %" PRIu64 ": its free space tree cannot be read (%s): its image "
			"holds its chunks whole",
			sb.devid, lb_errmsg());
	r = 0;
	for (size_t i = 0; i < 4; i++)
		if (super_at[i] + BTRFS_SUPER_SIZE <= sb.dev_total_bytes)
			runs_add(&rs, super_at[i], BTRFS_SUPER_SIZE);
	for (size_t i = 0; i < cs.n && r >= 0; i++) {
		const struct lb_btrfs_chunk *c = &cs.v[i];
		uint64_t len = lb_btrfs_stripe_bytes(c);
		bool tight = have_free && tightened(c) && described(&fr, c);

		for (uint16_t s = 0; s < c->num_stripes; s++) {
			if (c->stripes[s].devid != sb.devid)
				continue;
			if (len > sb.dev_total_bytes || c->stripes[s].offset > sb.dev_total_bytes - len) {
				r = lb_err(-EUCLEAN, "btrfs chunk %" PRIu64 " lies past the end of "
						     "device %" PRIu64,
					   c->logical, sb.devid);
				break;
			}
			if (tight)
				used_of(&rs, &fr, c, c->stripes[s].offset);
			else
				runs_add(&rs, c->stripes[s].offset, len);
		}
	}
	if (have_free)
		lb_btrfs_free_free(&fr);
	runs = rs.v;
	n = rs.n;
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
