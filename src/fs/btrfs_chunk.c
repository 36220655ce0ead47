// SPDX-License-Identifier: GPL-3.0-or-later
/* The btrfs chunk tree: bootstrapped by the superblock's sys_chunk_array
 * (the system chunks, which hold the chunk tree itself), then walked from
 * the chunk root, each tree block found through the chunks read so far
 * (logical to physical) on this device. From it: the profiles of data,
 * metadata and system, the devices, and the bytes this device's chunks
 * take (its used runs). Every count and offset read is checked against the
 * bytes that hold it before it is used. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"

#define BTRFS_MAX_TREE_BLOCKS 65536u	/* a chunk tree has far fewer */
/* a chunk is 1 GiB of data or 256 MiB of metadata, at least 1 MiB: a
 * million is a petabyte or a hostile image */
#define BTRFS_MAX_CHUNKS (1u << 20)

static int corrupt(const char *fmt, uint64_t a)
{
	return lb_err(-EUCLEAN, "btrfs chunk tree: %s (%" PRIu64 ")", fmt, a);
}

void lb_btrfs_chunks_free(struct lb_btrfs_chunks *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].stripes);
	free(c->v);
	free(c->devs);
	memset(c, 0, sizeof(*c));
}

static const struct {
	uint64_t bit;
	const char *name;
} profiles[] = {
	{ 0, "single" },
	{ BTRFS_BG_DUP, "dup" },
	{ BTRFS_BG_RAID0, "raid0" },
	{ BTRFS_BG_RAID1, "raid1" },
	{ BTRFS_BG_RAID1C3, "raid1c3" },
	{ BTRFS_BG_RAID1C4, "raid1c4" },
	{ BTRFS_BG_RAID10, "raid10" },
	{ BTRFS_BG_RAID5, "raid5" },
	{ BTRFS_BG_RAID6, "raid6" },
};

const char *lb_btrfs_profile_name(uint64_t type)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if ((type & BTRFS_BG_PROFILES) == profiles[i].bit)
			return profiles[i].name;
	return NULL;
}

int64_t lb_btrfs_profile_bits(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(name, profiles[i].name) == 0)
			return (int64_t)profiles[i].bit;
	return -1;
}

uint64_t lb_btrfs_stripe_bytes(const struct lb_btrfs_chunk *c)
{
	uint64_t n = c->num_stripes;

	if (c->type & BTRFS_BG_RAID0)
		return n ? c->length / n : 0;
	if (c->type & BTRFS_BG_RAID10)
		return c->sub_stripes && n >= c->sub_stripes ? c->length / (n / c->sub_stripes) : 0;
	if (c->type & BTRFS_BG_RAID5)
		return n > 1 ? c->length / (n - 1) : 0;
	if (c->type & BTRFS_BG_RAID6)
		return n > 2 ? c->length / (n - 2) : 0;
	return c->length;	/* single, dup, raid1, raid1c3, raid1c4 */
}

/* The chunk at p (avail bytes) into c: -EUCLEAN when it does not fit or
 * makes no sense; *ret_len its size on disk. */
static int chunk_parse(const uint8_t *p, size_t avail, uint64_t logical, struct lb_btrfs_chunk *c,
		       size_t *ret_len)
{
	size_t len;

	if (avail < BTRFS_CHUNK_SIZE)
		return corrupt("a chunk item is cut short at", logical);
	memset(c, 0, sizeof(*c));
	c->logical = logical;
	c->length = lb_le64(p);
	c->stripe_len = lb_le64(p + 16);
	c->type = lb_le64(p + 24);
	c->num_stripes = lb_le16(p + 44);
	c->sub_stripes = lb_le16(p + 46);
	len = BTRFS_CHUNK_SIZE + (size_t)c->num_stripes * BTRFS_STRIPE_SIZE;
	if (c->num_stripes == 0 || len > avail)
		return corrupt("a chunk's stripes do not fit its item at", logical);
	if (c->length == 0 || logical + c->length < logical || !lb_btrfs_profile_name(c->type) ||
	    __builtin_popcountll(c->type & BTRFS_BG_PROFILES) > 1 || lb_btrfs_stripe_bytes(c) == 0)
		return corrupt("a chunk has a length or profile that makes no sense at", logical);
	c->stripes = lb_zalloc(c->num_stripes * sizeof(*c->stripes));
	for (uint16_t i = 0; i < c->num_stripes; i++) {
		const uint8_t *s = p + BTRFS_CHUNK_SIZE + (size_t)i * BTRFS_STRIPE_SIZE;

		c->stripes[i].devid = lb_le64(s);
		c->stripes[i].offset = lb_le64(s + 8);
		memcpy(c->stripes[i].dev_uuid, s + 16, 16);
		if (c->stripes[i].offset + lb_btrfs_stripe_bytes(c) < c->stripes[i].offset) {
			free(c->stripes);
			c->stripes = NULL;
			return corrupt("a stripe wraps around at", logical);
		}
	}
	*ret_len = len;
	return 0;
}

/* Adds chunk c (taking its stripes); the system chunks come twice (the
 * superblock's array and the tree): lb_btrfs_chunks_read keeps one. */
static int chunks_add(struct lb_btrfs_chunks *cs, struct lb_btrfs_chunk *c)
{
	if (cs->n >= BTRFS_MAX_CHUNKS) {
		free(c->stripes);
		c->stripes = NULL;
		return corrupt("more chunks than lifeboat reads", cs->n);
	}
	if (cs->n == cs->alloc) {
		cs->alloc = cs->alloc ? cs->alloc * 2 : 16;
		cs->v = lb_realloc_array(cs->v, cs->alloc, sizeof(*cs->v));
	}
	cs->v[cs->n++] = *c;
	c->stripes = NULL;
	return 0;
}

static int sys_array(const struct lb_btrfs_sb *sb, struct lb_btrfs_chunks *cs)
{
	const uint8_t *p = sb->sys_chunk_array;
	size_t left = sb->sys_chunk_array_size;

	while (left > 0) {
		struct lb_btrfs_chunk c;
		size_t len;
		int r;

		if (left < 17 || p[8] != BTRFS_CHUNK_ITEM_KEY)
			return corrupt("the superblock's system chunk array is not chunks, bytes left",
				       left);
		r = chunk_parse(p + 17, left - 17, lb_le64(p + 9), &c, &len);
		if (r < 0)
			return r;
		if (!(c.type & BTRFS_BG_SYSTEM)) {
			free(c.stripes);
			return corrupt("the system chunk array holds a chunk not of the system at",
				       c.logical);
		}
		r = chunks_add(cs, &c);
		if (r < 0)
			return r;
		p += 17 + len;
		left -= 17 + len;
	}
	return cs->n ? 0 : corrupt("the superblock has no system chunks", 0);
}

struct walk {
	int fd;
	uint64_t offset, size;
	const struct lb_btrfs_sb *sb;
	struct lb_btrfs_chunks *cs;
	size_t n_sys;		/* cs->v[0 .. n_sys): the superblock's system chunks */
	uint64_t last;		/* the logical address of the tree's last chunk item */
	bool any;
	uint8_t *buf;
	unsigned blocks;
};

int lb_btrfs_block_copy(int fd, uint64_t offset, uint64_t size, const struct lb_btrfs_sb *sb,
			const struct lb_btrfs_chunk *c, uint64_t logical, unsigned level,
			uint64_t owner, uint64_t gen, uint8_t *buf)
{
	const uint32_t ns = sb->nodesize;
	uint64_t in = logical - c->logical;
	bool found = false;

	if (logical < c->logical || ns > c->length || in > c->length - ns ||
	    (c->type & (BTRFS_BG_RAID0 | BTRFS_BG_RAID10 | BTRFS_BG_RAID5 | BTRFS_BG_RAID6)))
		return -ERANGE;
	for (uint16_t s = 0; s < c->num_stripes; s++) {
		uint64_t phys = c->stripes[s].offset + in;
		int r;

		if (c->stripes[s].devid != sb->devid || phys < c->stripes[s].offset || phys > size ||
		    ns > size - phys)
			continue;
		found = true;
		if (lb_pread_all(fd, buf, ns, offset + phys) < 0)
			continue;
		r = lb_btrfs_csum_ok(sb->csum_type, buf, ns);
		if (r < 0)
			return r;
		if (r == 1 && lb_le64(buf + 48) == logical &&
		    memcmp(buf + 32, sb->metadata_uuid, 16) == 0 && lb_le64(buf + 88) == owner &&
		    buf[100] == level && (gen == 0 || lb_le64(buf + 80) == gen))
			return 0;
	}
	return found ? -EUCLEAN : -ENXIO;
}

/* Tree block `logical` of the expected level into w->buf: a copy on this
 * device whose checksum, place, fsid, owner and level are right. The
 * chunk tree lives in system chunks, all of which the superblock lists:
 * only those are looked in (not the chunks read so far, up to a million). */
static int read_block(struct walk *w, uint64_t logical, unsigned level)
{
	int r = -ENXIO;

	for (size_t i = 0; i < w->n_sys; i++) {
		const struct lb_btrfs_chunk *c = &w->cs->v[i];

		if (logical < c->logical || logical - c->logical >= c->length)
			continue;
		r = lb_btrfs_block_copy(w->fd, w->offset, w->size, w->sb, c, logical, level,
					BTRFS_CHUNK_TREE_OBJECTID, 0, w->buf);
		break;
	}
	if (r == 0)
		return 0;
	if (r == -ERANGE)
		return corrupt("a chunk tree block lies in a striped or too short chunk at", logical);
	if (r == -ENXIO)
		return lb_err(-ENXIO, "btrfs chunk tree block %" PRIu64 " has no copy on this device "
				      "(devid %" PRIu64 ")",
			      logical, w->sb->devid);
	return corrupt("no copy of a chunk tree block is whole (checksum, place, owner or level) at",
		       logical);
}

static int leaf_item(struct walk *w, const uint8_t *key, const uint8_t *data, size_t len)
{
	if (key[8] == BTRFS_CHUNK_ITEM_KEY) {
		struct lb_btrfs_chunk c;
		size_t used;
		int r;

		/* keys in order across the whole tree: a leaf that two node
		 * pointers name (read twice, its chunks and their stripes
		 * taken twice, 65536 times at most) is refused */
		if (w->any && lb_le64(key + 9) <= w->last)
			return corrupt("the chunk tree's items are out of order (a block read twice?) at",
				       lb_le64(key + 9));
		w->any = true;
		w->last = lb_le64(key + 9);
		r = chunk_parse(data, len, lb_le64(key + 9), &c, &used);
		if (r < 0)
			return r;
		if (used != len) {
			free(c.stripes);
			return corrupt("a chunk item's size is not its stripes' at", c.logical);
		}
		return chunks_add(w->cs, &c);
	}
	if (key[8] == BTRFS_DEV_ITEM_KEY && lb_le64(key) == BTRFS_DEV_ITEMS_OBJECTID) {
		struct lb_btrfs_chunks *cs = w->cs;

		if (len < BTRFS_DEV_ITEM_SIZE)
			return corrupt("a device item is cut short, devid", lb_le64(key + 9));
		if (cs->n_devs >= 1u << 16)
			return corrupt("too many devices", cs->n_devs);
		cs->devs = lb_realloc_array(cs->devs, cs->n_devs + 1, sizeof(*cs->devs));
		memset(&cs->devs[cs->n_devs], 0, sizeof(*cs->devs));
		cs->devs[cs->n_devs].devid = lb_le64(data);
		memcpy(cs->devs[cs->n_devs].dev_uuid, data + 66, 16);
		cs->n_devs++;
	}
	return 0;
}

static int walk(struct walk *w, uint64_t logical, unsigned level)
{
	const uint32_t ns = w->sb->nodesize;
	uint32_t n;
	int r;

	if (++w->blocks > BTRFS_MAX_TREE_BLOCKS)
		return corrupt("the chunk tree has more blocks than lifeboat reads", w->blocks);
	r = read_block(w, logical, level);
	if (r < 0)
		return r;
	n = lb_le32(w->buf + 96);
	if (level == 0) {
		if (n > (ns - BTRFS_HEADER_SIZE) / BTRFS_ITEM_SIZE)
			return corrupt("a leaf has more items than fit, at", logical);
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *it = w->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;
			uint32_t off = lb_le32(it + 17), len = lb_le32(it + 21);

			if ((uint64_t)off + len > ns - BTRFS_HEADER_SIZE)
				return corrupt("a leaf item lies outside its leaf at", logical);
			r = leaf_item(w, it, w->buf + BTRFS_HEADER_SIZE + off, len);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (n == 0 || n > (ns - BTRFS_HEADER_SIZE) / BTRFS_KEY_PTR_SIZE)
		return corrupt("a node's pointer count does not fit it, at", logical);
	{
		/* the pointers, before the children overwrite the buffer */
		_cleanup_free_ uint64_t *ptr = lb_zalloc(n * sizeof(*ptr));

		for (uint32_t i = 0; i < n; i++)
			ptr[i] = lb_le64(w->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_KEY_PTR_SIZE + 17);
		for (uint32_t i = 0; i < n; i++) {
			r = walk(w, ptr[i], level - 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int by_logical(const void *a, const void *b)
{
	const struct lb_btrfs_chunk *x = a, *y = b;

	return x->logical < y->logical ? -1 : x->logical > y->logical;
}

int lb_btrfs_chunks_read(int fd, uint64_t offset, uint64_t size, const struct lb_btrfs_sb *sb,
			 struct lb_btrfs_chunks *ret)
{
	struct walk w = { .fd = fd, .offset = offset, .size = size, .sb = sb, .cs = ret };
	int r;

	memset(ret, 0, sizeof(*ret));
	r = sys_array(sb, ret);
	if (r >= 0) {
		w.n_sys = ret->n;
		w.buf = lb_zalloc(sb->nodesize);
		r = walk(&w, sb->chunk_root, sb->chunk_root_level);
		free(w.buf);
	}
	if (r >= 0) {
		size_t k = 0;

		/* in order, each once (a system chunk is in the array and the
		 * tree: one is kept), none overlapping */
		qsort(ret->v, ret->n, sizeof(*ret->v), by_logical);
		for (size_t i = 0; i < ret->n; i++) {
			if (k && ret->v[k - 1].logical == ret->v[i].logical) {
				free(ret->v[i].stripes);
				continue;
			}
			ret->v[k++] = ret->v[i];
		}
		ret->n = k;
		for (size_t i = 1; i < ret->n && r >= 0; i++)
			if (ret->v[i - 1].logical + ret->v[i - 1].length > ret->v[i].logical)
				r = corrupt("chunks overlap at", ret->v[i].logical);
	}
	if (r < 0)
		lb_btrfs_chunks_free(ret);
	return r;
}
