// SPDX-License-Identifier: GPL-3.0-or-later
/* Each device's UUID put back after mkfs.btrfs, which has no option for it
 * (6.2): the UUID lives in the device's own superblock copies (dev_item),
 * in every superblock's system chunk array (the stripes' dev_uuid), and in
 * the chunk tree (each DEV_ITEM, each chunk's stripes). Every copy of each
 * is rewritten with its checksum computed again; nothing else of the
 * filesystem names a device by UUID.
 *
 * Write order: the chunk tree's blocks (every copy), then the superblock
 * copies of each device; the kernel's list of devices is then told to
 * forget what mkfs registered and to scan them again. Interrupted, the
 * filesystem may not mount: running restore again makes it anew. Every
 * write is bounded by its device's size and lies where the chunk tree or
 * the superblock says its bytes are. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "base/base.h"
#include "base/spawn.h"
#include "model/model.h"
#include "fs/fs.h"
#include "fs/btrfs-int.h"

static const uint64_t super_at[] = { 65536ull, 64ull << 20, 256ull << 30, 1ull << 50 };

struct dev {
	const char *path;
	int fd;
	uint64_t size;
	uint64_t devid;
	uint8_t want[16];
	bool blk;		/* a block device (the kernel scans those) */
};

struct fix {
	struct dev *d;
	size_t n;
	struct lb_btrfs_sb sb;	/* the first device's */
	struct lb_btrfs_chunks cs;
	uint8_t *buf;
	unsigned blocks;
};

static struct dev *dev_of(struct fix *f, uint64_t devid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->d[i].devid == devid)
			return &f->d[i];
	return NULL;
}

/* the UUIDs in n stripes at p (BTRFS_STRIPE_SIZE each) set to the wanted */
static void fix_stripes(struct fix *f, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct dev *d = dev_of(f, lb_le64(p + i * BTRFS_STRIPE_SIZE));

		if (d)
			memcpy(p + i * BTRFS_STRIPE_SIZE + 16, d->want, 16);
	}
}

static int bad(const char *what, uint64_t at)
{
	return lb_err(-EUCLEAN, "btrfs device UUIDs: %s (%" PRIu64 ")", what, at);
}

/* the chunk holding tree block logical, not striped */
static const struct lb_btrfs_chunk *chunk_of(struct fix *f, uint64_t logical)
{
	for (size_t i = 0; i < f->cs.n; i++) {
		const struct lb_btrfs_chunk *c = &f->cs.v[i];

		if (logical >= c->logical && logical - c->logical < c->length &&
		    logical - c->logical + f->sb.nodesize <= c->length &&
		    !(c->type & (BTRFS_BG_RAID0 | BTRFS_BG_RAID10 | BTRFS_BG_RAID5 | BTRFS_BG_RAID6)))
			return c;
	}
	return NULL;
}

static int read_block(struct fix *f, const struct lb_btrfs_chunk *c, uint64_t logical,
		      unsigned level)
{
	for (uint16_t s = 0; s < c->num_stripes; s++) {
		struct dev *d = dev_of(f, c->stripes[s].devid);
		uint64_t phys = c->stripes[s].offset + (logical - c->logical);

		if (!d || phys + f->sb.nodesize > d->size ||
		    lb_pread_all(d->fd, f->buf, f->sb.nodesize, phys) < 0)
			continue;
		if (lb_btrfs_csum_ok(f->sb.csum_type, f->buf, f->sb.nodesize) == 1 &&
		    lb_le64(f->buf + 48) == logical && f->buf[100] == level)
			return 0;
	}
	return bad("no copy of a chunk tree block is whole", logical);
}

/* every copy of the block in f->buf, its checksum set again */
static int write_block(struct fix *f, const struct lb_btrfs_chunk *c, uint64_t logical)
{
	int r = lb_btrfs_csum_set(f->sb.csum_type, f->buf, f->sb.nodesize);

	for (uint16_t s = 0; s < c->num_stripes && r >= 0; s++) {
		struct dev *d = dev_of(f, c->stripes[s].devid);
		uint64_t phys = c->stripes[s].offset + (logical - c->logical);

		if (!d)
			return bad("a chunk tree block has a copy on a device not being made",
				   c->stripes[s].devid);
		if (phys + f->sb.nodesize > d->size)
			return bad("a chunk tree block lies past its device's end", logical);
		r = lb_pwrite_all(d->fd, f->buf, f->sb.nodesize, phys);
		if (r < 0)
			r = lb_err(r, "%s: cannot write a chunk tree block: %s", d->path, strerror(-r));
	}
	return r;
}

static int fix_leaf(struct fix *f)
{
	const uint32_t ns = f->sb.nodesize;
	uint32_t n = lb_le32(f->buf + 96);

	if (n > (ns - BTRFS_HEADER_SIZE) / BTRFS_ITEM_SIZE)
		return bad("a leaf has more items than fit", n);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *it = f->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;
		uint32_t off = lb_le32(it + 17), len = lb_le32(it + 21);
		uint8_t *data = f->buf + BTRFS_HEADER_SIZE + off;

		if ((uint64_t)off + len > ns - BTRFS_HEADER_SIZE)
			return bad("a leaf item lies outside its leaf", off);
		if (it[8] == BTRFS_DEV_ITEM_KEY && lb_le64(it) == BTRFS_DEV_ITEMS_OBJECTID &&
		    len >= BTRFS_DEV_ITEM_SIZE) {
			struct dev *d = dev_of(f, lb_le64(data));

			if (d)
				memcpy(data + 66, d->want, 16);
		} else if (it[8] == BTRFS_CHUNK_ITEM_KEY && len >= BTRFS_CHUNK_SIZE) {
			size_t ns_ = lb_le16(data + 44);

			if (BTRFS_CHUNK_SIZE + ns_ * BTRFS_STRIPE_SIZE > len)
				return bad("a chunk's stripes do not fit its item", off);
			fix_stripes(f, data + BTRFS_CHUNK_SIZE, ns_);
		}
	}
	return 0;
}

static int fix_tree(struct fix *f, uint64_t logical, unsigned level)
{
	const struct lb_btrfs_chunk *c = chunk_of(f, logical);
	uint32_t n;
	int r;

	if (++f->blocks > 65536)
		return bad("the chunk tree has more blocks than lifeboat reads", f->blocks);
	if (!c)
		return bad("a chunk tree block lies in no chunk lifeboat can write", logical);
	r = read_block(f, c, logical, level);
	if (r < 0)
		return r;
	if (level == 0) {
		r = fix_leaf(f);
		return r < 0 ? r : write_block(f, c, logical);
	}
	n = lb_le32(f->buf + 96);
	if (n == 0 || n > (f->sb.nodesize - BTRFS_HEADER_SIZE) / BTRFS_KEY_PTR_SIZE)
		return bad("a node's pointer count does not fit it", logical);
	{
		_cleanup_free_ uint64_t *ptr = lb_zalloc(n * sizeof(*ptr));

		for (uint32_t i = 0; i < n; i++)
			ptr[i] = lb_le64(f->buf + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_KEY_PTR_SIZE + 17);
		for (uint32_t i = 0; i < n && r >= 0; i++)
			r = fix_tree(f, ptr[i], level - 1);
	}
	return r;
}

/* each superblock copy of d: its own UUID, the system chunk array's */
static int fix_supers(struct fix *f, struct dev *d)
{
	uint8_t b[BTRFS_SUPER_SIZE];

	for (size_t k = 0; k < 4; k++) {
		struct lb_btrfs_sb sb;
		const uint8_t *end;
		uint8_t *p;
		int r;

		if (super_at[k] + BTRFS_SUPER_SIZE > d->size ||
		    lb_pread_all(d->fd, b, sizeof(b), super_at[k]) < 0 ||
		    lb_btrfs_sb_parse(b, super_at[k], &sb) < 0)
			continue;	/* a copy mkfs did not write (or past the end) */
		if (memcmp(sb.fsid, f->sb.fsid, sizeof(sb.fsid)) != 0)
			continue;	/* an older filesystem's copy mkfs left */
		if (sb.devid == d->devid)
			memcpy(b + 0xc9 + 66, d->want, 16);
		p = b + 0x32b;
		end = p + sb.sys_chunk_array_size;
		while (p + 17 + BTRFS_CHUNK_SIZE <= end) {
			size_t n = lb_le16(p + 17 + 44);

			if (p + 17 + BTRFS_CHUNK_SIZE + n * BTRFS_STRIPE_SIZE > end)
				return bad("the system chunk array is cut short", super_at[k]);
			fix_stripes(f, p + 17 + BTRFS_CHUNK_SIZE, n);
			p += 17 + BTRFS_CHUNK_SIZE + n * BTRFS_STRIPE_SIZE;
		}
		r = lb_btrfs_csum_set(sb.csum_type, b, sizeof(b));
		if (r >= 0)
			r = lb_pwrite_all(d->fd, b, sizeof(b), super_at[k]);
		if (r < 0)
			return lb_err(r, "%s: cannot write its superblock at %" PRIu64 ": %s", d->path,
				      super_at[k], lb_errmsg());
	}
	return fsync(d->fd) < 0 ? lb_err(-errno, "%s: cannot sync: %s", d->path, strerror(errno)) : 0;
}

static int scan(struct dev *d, size_t n)
{
	int bad_ = 0;

	for (size_t i = 0; i < n; i++) {
		char *argv[] = { (char *)"btrfs", (char *)"device", (char *)"scan", (char *)d[i].path,
				 NULL };

		if (lb_run(argv, true) != 0)
			bad_ = -EEXIST;
	}
	return bad_;
}

/* After every unmounted btrfs was forgotten: each block device of this
 * machine holding another btrfs (its primary superblock names another
 * fsid) is scanned again, so that one spread over several devices, which
 * mounts only once all of them are registered, still mounts. Those holding
 * this fsid (the filesystem these devices held before, on a disk of its
 * own) stay forgotten. */
static void rescan_others(const uint8_t *fsid)
{
	DIR *dir = opendir("/sys/class/block");
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		_cleanup_free_ char *path = NULL;
		struct lb_btrfs_sb sb;
		bool other;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		path = lb_asprintf("/dev/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		other = lb_btrfs_sb_read(fd, 0, &sb) >= 0 && memcmp(sb.fsid, fsid, sizeof(sb.fsid)) != 0;
		close(fd);
		if (other) {
			char *argv[] = { (char *)"btrfs", (char *)"device", (char *)"scan", path, NULL };

			lb_run(argv, true);
		}
	}
	closedir(dir);
}

/* The kernel forgets the devices mkfs registered and scans them again. A
 * registration it keeps of the filesystem these devices held before (same
 * fsid, devid and device UUID, a later generation: it then refuses the new
 * one) survives a forget by path on some kernels: then every unmounted
 * btrfs is forgotten (btrfs device scan --forget; mounted ones are kept),
 * these are scanned again, and so is every other btrfs of the machine
 * (rescan_others). */
static int rescan(struct dev *d, size_t n, const uint8_t *fsid)
{
	char *all[] = { (char *)"btrfs", (char *)"device", (char *)"scan", (char *)"--forget", NULL };
	int r;

	for (size_t i = 0; i < n; i++) {
		char *forget[] = { (char *)"btrfs", (char *)"device", (char *)"scan",
				   (char *)"--forget", (char *)d[i].path, NULL };

		lb_run(forget, true);
	}
	if (scan(d, n) == 0)
		return 0;
	lb_debug("fs", "btrfs: a stale registration of %s survived its forget: forgetting all",
		 d[0].path);
	lb_run(all, true);
	r = scan(d, n);
	rescan_others(fsid);
	if (r == 0)
		return 0;
	return lb_err(-EEXIST, "%s: the kernel does not take this btrfs's devices (btrfs device scan "
			       "fails, see dmesg)",
		      d[0].path);
}

/* Opens each device and learns its devid; 1 when every UUID is as
 * wanted already. */
static int open_devs(struct fix *f, const char *const *devs, const struct lb_volume *const *vols)
{
	bool same = true;

	for (size_t i = 0; i < f->n; i++) {
		struct dev *d = &f->d[i];
		struct lb_btrfs_sb sb;
		struct stat st;
		off_t end;
		int r;

		d->path = devs[i];
		d->fd = open(devs[i], O_RDWR | O_CLOEXEC);
		if (d->fd < 0)
			return lb_err(-errno, "%s: cannot open: %s", devs[i], strerror(errno));
		end = lseek(d->fd, 0, SEEK_END);
		if (end < 0)
			return lb_err(-errno, "%s: cannot tell its size: %s", devs[i], strerror(errno));
		d->size = (uint64_t)end;
		d->blk = fstat(d->fd, &st) == 0 && S_ISBLK(st.st_mode);
		r = lb_btrfs_sb_read(d->fd, 0, &sb);
		if (r < 0)
			return lb_err(r, "%s: %s", devs[i], lb_errmsg());
		if (i == 0)
			f->sb = sb;
		else if (memcmp(sb.fsid, f->sb.fsid, 16) != 0 || dev_of(f, sb.devid))
			return bad("the devices made are not one filesystem", i);
		d->devid = sb.devid;
		if (!vols[i]->btrfs || uuid_parse(vols[i]->btrfs->dev_uuid, d->want) < 0)
			return bad("no device UUID recorded for device", i);
		if (memcmp(d->want, sb.dev_uuid, 16) != 0)
			same = false;
	}
	return same ? 1 : 0;
}

int lb_btrfs_set_dev_uuids(const char *const *devs, const struct lb_volume *const *vols, size_t n)
{
	struct fix f = { .n = n };
	int r;

	f.d = lb_zalloc(n * sizeof(*f.d));
	for (size_t i = 0; i < n; i++)
		f.d[i].fd = -1;
	bool changed = false;

	r = open_devs(&f, devs, vols);
	if (r == 0)
		r = lb_btrfs_chunks_read(f.d[0].fd, 0, f.d[0].size, &f.sb, &f.cs);
	if (r == 0) {
		changed = true;
		f.buf = lb_zalloc(f.sb.nodesize);
		r = fix_tree(&f, f.sb.chunk_root, f.sb.chunk_root_level);
		for (size_t i = 0; i < n && r >= 0; i++)
			if (fsync(f.d[i].fd) < 0)
				r = lb_err(-errno, "%s: cannot sync: %s", f.d[i].path, strerror(errno));
		for (size_t i = 0; i < n && r >= 0; i++)
			r = fix_supers(&f, &f.d[i]);
		free(f.buf);
		lb_btrfs_chunks_free(&f.cs);
	}
	for (size_t i = 0; i < n; i++)
		if (f.d[i].fd >= 0)
			close(f.d[i].fd);
	if (changed && r >= 0 && f.d[0].blk)
		r = rescan(f.d, n, f.sb.fsid);
	free(f.d);
	return r < 0 ? r : 0;
}

/* A tree block of the btrfs (whole, naming the fsid OLD) given NEW: its
 * header, and a chunk tree leaf's DEV_ITEMs; 1 when it was one. */
static int refsid_block(uint16_t csum_type, uint8_t *b, uint32_t ns, const uint8_t *old,
			const uint8_t *new_)
{
	uint32_t n;

	if (lb_btrfs_csum_ok(csum_type, b, ns) != 1 || memcmp(b + 32, old, 16) != 0)
		return 0;
	memcpy(b + 32, new_, 16);
	n = lb_le32(b + 96);
	if (b[100] == 0 && lb_le64(b + 88) == BTRFS_CHUNK_TREE_OBJECTID &&
	    n <= (ns - BTRFS_HEADER_SIZE) / BTRFS_ITEM_SIZE)
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *it = b + BTRFS_HEADER_SIZE + (size_t)i * BTRFS_ITEM_SIZE;
			uint32_t off = lb_le32(it + 17), len = lb_le32(it + 21);
			uint8_t *data = b + BTRFS_HEADER_SIZE + off;

			if (it[8] == BTRFS_DEV_ITEM_KEY && len >= BTRFS_DEV_ITEM_SIZE &&
			    (uint64_t)off + len <= ns - BTRFS_HEADER_SIZE &&
			    memcmp(data + 82, old, 16) == 0)
				memcpy(data + 82, new_, 16);
		}
	lb_btrfs_csum_set(csum_type, b, ns);
	return 1;
}

/* Every tree block on this device (the metadata and system chunks'
 * stripes here, block by block; a copy elsewhere is its own device's) */
static int refsid_blocks(int fd, const char *dev, uint64_t size, const struct lb_btrfs_sb *sb,
			 const uint8_t *new_)
{
	struct lb_btrfs_chunks cs;
	_cleanup_free_ uint8_t *b = lb_zalloc(sb->nodesize);
	int r;

	r = lb_btrfs_chunks_read(fd, 0, size, sb, &cs);
	if (r < 0)
		return lb_err(r, "%s: %s", dev, lb_errmsg());
	for (size_t i = 0; i < cs.n && r >= 0; i++) {
		const struct lb_btrfs_chunk *c = &cs.v[i];
		uint64_t len = lb_btrfs_stripe_bytes(c);

		if (!(c->type & (BTRFS_BG_METADATA | BTRFS_BG_SYSTEM)))
			continue;
		for (uint16_t k = 0; k < c->num_stripes && r >= 0; k++) {
			uint64_t at = c->stripes[k].offset;

			if (c->stripes[k].devid != sb->devid)
				continue;
			if (len > size || at > size - len || len % sb->nodesize) {
				r = bad("a metadata stripe lies past its device's end", at);
				break;
			}
			for (uint64_t o = 0; o < len && r >= 0; o += sb->nodesize) {
				r = lb_pread_all(fd, b, sb->nodesize, at + o);
				if (r >= 0 && refsid_block(sb->csum_type, b, sb->nodesize,
							   sb->metadata_uuid, new_) == 1)
					r = lb_pwrite_all(fd, b, sb->nodesize, at + o);
				if (r < 0)
					r = lb_err(r, "%s: cannot rewrite the tree block at %" PRIu64 ": %s",
						   dev, at + o, strerror(-r));
			}
		}
	}
	lb_btrfs_chunks_free(&cs);
	return r;
}

int lb_btrfs_set_fsid(const char *dev, const char *fsid)
{
	uint8_t b[BTRFS_SUPER_SIZE], want[16];
	struct lb_btrfs_sb sb = { 0 };
	bool own_meta;
	off_t end;
	int fd, r = 0;

	if (uuid_parse(fsid, want) < 0)
		return lb_err(-EINVAL, "%s: %s is not a UUID", dev, fsid);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return lb_err(-errno, "%s: cannot open: %s", dev, strerror(errno));
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		r = lb_err(-errno, "%s: cannot tell its size: %s", dev, strerror(errno));
	if (r >= 0)
		r = lb_btrfs_sb_read(fd, 0, &sb);
	own_meta = r >= 0 && (sb.incompat & BTRFS_INCOMPAT_METADATA_UUID);
	/* the tree blocks name the metadata UUID: with one of its own (not an
	 * fsid anything else has) they keep it, else they take the new fsid */
	if (r >= 0 && !own_meta)
		r = refsid_blocks(fd, dev, (uint64_t)end, &sb, want);
	for (size_t k = 0; k < 4 && r >= 0; k++) {
		struct lb_btrfs_sb c;

		if (super_at[k] + BTRFS_SUPER_SIZE > (uint64_t)end ||
		    lb_pread_all(fd, b, sizeof(b), super_at[k]) < 0 ||
		    lb_btrfs_sb_parse(b, super_at[k], &c) < 0)
			continue;	/* a copy the image does not hold */
		if (memcmp(c.fsid, sb.fsid, sizeof(c.fsid)) != 0)
			continue;	/* an older filesystem's copy */
		memcpy(b + 0x20, want, 16);
		if (!own_meta)
			memcpy(b + 0xc9 + 82, want, 16);
		r = lb_btrfs_csum_set(c.csum_type, b, sizeof(b));
		if (r >= 0)
			r = lb_pwrite_all(fd, b, sizeof(b), super_at[k]);
		if (r < 0)
			r = lb_err(r, "%s: cannot write its superblock at %" PRIu64 ": %s", dev,
				   super_at[k], lb_errmsg());
	}
	if (r >= 0 && fsync(fd) < 0)
		r = lb_err(-errno, "%s: cannot sync: %s", dev, strerror(errno));
	close(fd);
	return r;
}
