// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A LUKS container's data as ciphertext (issue 13): the plaintext of an
 * encrypted volume never goes into a capture. With the container open, the
 * sectors in use are found through its mapping (the used blocks of the
 * filesystem in it; or the PV's label and metadata area and the used blocks
 * of each LV's filesystem, mapped through the LV's device-mapper table),
 * rounded out to whole encryption sectors, and copied from the device
 * underneath at the data segment's offset, into an ordinary image data
 * file whose offsets count from the data segment's start. With the
 * recorded header (the same volume key) they decrypt to the same plaintext:
 * a restore writes them back under the container and needs no key.
 *
 * Not done (a warning says why, and no data is captured for the container):
 * a LUKS2 container being re-encrypted (more than one data segment) or with
 * authenticated encryption (dm-integrity), a container not open here (no used-block map; --data image takes the
 * whole partition), anything inside mounted read-write (an image of it would
 * not be consistent), a volume group reaching outside the container, LVs
 * other than linear ones, arrays or containers inside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/dm-ioctl.h>
#include <libcryptsetup.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "data/datafile.h"
#include "data/cipher-int.h"

int lb_cipher_ranges_add(void *ud, uint64_t off, uint64_t len)
{
	struct lb_cipher_ranges *rs = ud;

	if (len == 0)
		return 0;
	if (off >= rs->limit)
		return lb_err(-ERANGE, "a range at byte %" PRIu64 " lies past the data segment's %" PRIu64
				       " bytes",
			      off, rs->limit);
	if (len > rs->limit - off)
		len = rs->limit - off;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = lb_realloc_array(rs->v, rs->cap, sizeof(*rs->v));
	}
	rs->v[rs->n++] = (struct lb_extent){ off, len };
	return 0;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct lb_extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

void lb_cipher_ranges_settle(struct lb_cipher_ranges *rs, uint32_t sz)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++) {
		uint64_t end = rs->v[i].off + rs->v[i].len;

		rs->v[i].off -= rs->v[i].off % sz;
		end = end % sz ? end + (sz - end % sz) : end;
		rs->v[i].len = (end < rs->limit ? end : rs->limit) - rs->v[i].off;
	}
	qsort(rs->v, rs->n, sizeof(*rs->v), cmp_extent);
	for (size_t i = 0; i < rs->n; i++) {
		struct lb_extent *last = n ? &rs->v[n - 1] : NULL;

		if (last && rs->v[i].off <= last->off + last->len) {
			uint64_t end = rs->v[i].off + rs->v[i].len;

			if (end > last->off + last->len)
				last->len = end - last->off;
		} else {
			rs->v[n++] = rs->v[i];
		}
	}
	rs->n = n;
}

/* ---- the mapping and the device under it ---- */

static char *sys_line(const char *fmt, const char *name)
{
	_cleanup_free_ char *path = lb_asprintf(fmt, name);
	char *buf = NULL;
	size_t n;

	if (lb_read_file(path, &buf, 4096) < 0)
		return NULL;
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

/* dm-N of the open mapping NAME, the one device under it, and the
 * mapping's device number */
static int find_mapping(const char *name, char **ret_dm, char **ret_under, dev_t *ret_dev)
{
	DIR *dp = opendir("/sys/class/block");
	struct dirent *e;
	char *dm = NULL;

	if (!dp)
		return lb_err(-errno, "/sys/class/block: %s", strerror(errno));
	while (!dm && (e = readdir(dp))) {
		_cleanup_free_ char *n = NULL;

		if (strncmp(e->d_name, "dm-", 3) != 0)
			continue;
		n = sys_line("/sys/class/block/%s/dm/name", e->d_name);
		if (n && strcmp(n, name) == 0)
			dm = lb_strdup(e->d_name);
	}
	closedir(dp);
	if (!dm)
		return lb_err(-ENODEV, "the mapping %s is not open here", lb_esc(name));
	{
		_cleanup_free_ char *slaves = lb_asprintf("/sys/class/block/%s/slaves", dm);
		_cleanup_free_ char *dev = sys_line("/sys/class/block/%s/dev", dm);
		unsigned maj = 0, mnr = 0;
		char *under = NULL;
		size_t n = 0;

		dp = opendir(slaves);
		while (dp && (e = readdir(dp)))
			if (e->d_name[0] != '.' && n++ == 0)
				under = lb_strdup(e->d_name);
		if (dp)
			closedir(dp);
		if (n != 1 || !dev || sscanf(dev, "%u:%u", &maj, &mnr) != 2) {
			free(under);
			free(dm);
			return lb_err(-ENODEV, "the mapping %s: not one device under it", lb_esc(name));
		}
		*ret_dm = dm;
		*ret_under = under;
		*ret_dev = makedev(maj, mnr);
	}
	return 0;
}

/* Why the open mapping NAME is not one plain data segment at the recorded
 * offset (a ciphertext copy would not decrypt back), or NULL. */
static char *segment_trouble(const struct lb_luks *l)
{
	struct crypt_device *cd = NULL;
	struct crypt_active_device cad;
	struct crypt_params_integrity ip = { 0 };
	char *why = NULL;
	int r = crypt_init_by_name(&cd, l->name);

	if (r < 0)
		return lb_asprintf("libcryptsetup cannot read the mapping %s: %s", lb_esc(l->name),
				   strerror(-r));
	if (crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE)
		why = lb_strdup("it is being re-encrypted (its data lies in more than one segment)");
	else if (crypt_get_integrity_info(cd, &ip) == 0 && (ip.integrity || ip.tag_size))
		why = lb_strdup("it has authenticated encryption (dm-integrity under it)");
	else if ((r = crypt_get_active_device(cd, l->name, &cad)) < 0)
		why = lb_asprintf("libcryptsetup cannot read the mapping %s: %s", lb_esc(l->name),
				  strerror(-r));
	else if (cad.offset != l->data_offset || cad.size != l->size)
		why = lb_asprintf("its mapping covers %" PRIu64 " sectors from sector %" PRIu64
				  ", not the data segment recorded",
				  (uint64_t)cad.size, (uint64_t)cad.offset);
	crypt_free(cd);
	return why;
}

/* ---- an LV's place in the container: its device-mapper table ---- */

struct lv_target {
	uint64_t start, len;	/* bytes of the LV */
	uint64_t dev_off;	/* bytes of the device it lies on */
	dev_t dev;
};

/* the device number as the kernel's dm ioctl wants it (huge_encode_dev) */
static uint64_t dm_dev(dev_t d)
{
	uint64_t maj = major(d), mnr = minor(d);

	return (mnr & 0xff) | (maj << 8) | ((mnr & ~0xffULL) << 12);
}

static int parse_targets(const struct dm_ioctl *io, const char *lv, struct lv_target **ret,
			 size_t *ret_n)
{
	const char *out = (const char *)io + io->data_start;
	struct lv_target *t = lb_zalloc(sizeof(*t) * (io->target_count + 1));
	size_t pos = 0;

	for (uint32_t i = 0; i < io->target_count; i++) {
		const struct dm_target_spec *sp = (const void *)(out + pos);
		const char *params = (const char *)(sp + 1);
		unsigned maj, mnr;
		uint64_t off;

		if (strncmp(sp->target_type, "linear", DM_MAX_TYPE_NAME) != 0 ||
		    sscanf(params, "%u:%u %" SCNu64, &maj, &mnr, &off) != 3) {
			free(t);
			return lb_err(-EOPNOTSUPP, "%s: a %.16s segment: only linear LVs inside a LUKS "
						   "container are captured as ciphertext",
				      lv, sp->target_type);
		}
		t[i] = (struct lv_target){ sp->sector_start * 512, sp->length * 512, off * 512,
					   makedev(maj, mnr) };
		pos = sp->next;
	}
	*ret = t;
	*ret_n = io->target_count;
	return 0;
}

static int lv_targets(const char *lv, dev_t dev, struct lv_target **ret, size_t *ret_n)
{
	_cleanup_close_ int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	size_t size = 16384;
	int r = 0;

	if (fd < 0)
		return lb_err(-errno, "/dev/mapper/control: %s", strerror(errno));
	for (;;) {
		_cleanup_free_ struct dm_ioctl *io = lb_zalloc(size);

		io->version[0] = DM_VERSION_MAJOR;
		io->data_size = (uint32_t)size;
		io->data_start = sizeof(*io);
		io->dev = dm_dev(dev);
		io->flags = DM_STATUS_TABLE_FLAG;
		if (ioctl(fd, DM_TABLE_STATUS, io) < 0)
			return lb_err(-errno, "%s: cannot read its device-mapper table: %s", lv,
				      strerror(errno));
		if (!(io->flags & DM_BUFFER_FULL_FLAG)) {
			r = parse_targets(io, lv, ret, ret_n);
			break;
		}
		if (size >= (4u << 20))
			return lb_err(-E2BIG, "%s: its device-mapper table is too long", lv);
		size *= 4;
	}
	return r;
}

struct lv_map {
	struct lb_cipher_ranges *out;
	const struct lv_target *t;
	size_t n;
	const char *lv;
};

/* a run of the LV's bytes, as runs of the container's mapping */
static int lv_map_run(void *ud, uint64_t off, uint64_t len)
{
	const struct lv_map *mp = ud;
	int r = 0;

	for (size_t i = 0; i < mp->n && len && r >= 0; i++) {
		const struct lv_target *t = &mp->t[i];
		uint64_t n;

		if (off < t->start || off >= t->start + t->len)
			continue;
		n = t->start + t->len - off < len ? t->start + t->len - off : len;
		r = lb_cipher_ranges_add(mp->out, t->dev_off + (off - t->start), n);
		off += n;
		len -= n;
	}
	if (r >= 0 && len)
		r = lb_err(-ERANGE, "%s: byte %" PRIu64 " is in no segment of its table", mp->lv, off);
	return r;
}

/* ---- what is in use in the container ---- */

/* Why v cannot be imaged now, or NULL. */
static char *volume_busy(const struct lb_volume *v, const char *luks_id)
{
	if (!lb_data_mounted_rw(v))
		return NULL;
	return lb_asprintf("%s is mounted read-write on %s inside the LUKS container %s: an image of "
			   "its ciphertext would not be consistent, and its plaintext never goes into "
			   "a capture",
			   v->id, v->mountpoint, luks_id);
}

/* the used bytes of the volume v (or the whole device when v is NULL)
 * read from node, through fn */
static int used_of(const char *node, const struct lb_volume *v, uint64_t dev_bytes,
		   int (*fn)(void *, uint64_t, uint64_t), void *ud)
{
	if (!v)
		return fn(ud, 0, dev_bytes);
	return lb_image_used_runs(node, v, fn, ud);
}

static int add_lv(const struct lb_vg *vg, const struct lb_lv *lv, dev_t mapping, struct lb_cipher_ranges *rs)
{
	_cleanup_free_ char *node = lb_asprintf("/dev/%s/%s", vg->name, lv->name);
	_cleanup_free_ struct lv_target *t = NULL;
	struct lv_map mp = { .out = rs, .lv = lv->id };
	struct stat st;
	int r;

	if (!lv->active)
		return lb_err(-EOPNOTSUPP, "%s (%s) is not active: where its extents lie is not known",
			      lv->id, lb_esc(lv->name));
	if (stat(node, &st) < 0 || !S_ISBLK(st.st_mode))
		return lb_err(-ENODEV, "%s: no device node %s", lv->id, lb_esc(node));
	r = lv_targets(lv->id, st.st_rdev, &t, &mp.n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < mp.n; i++)
		if (t[i].dev != mapping)
			return lb_err(-EXDEV, "%s lies partly outside the container", lv->id);
	mp.t = t;
	return used_of(node, lv->volume, lv->size * 512, lv_map_run, &mp);
}

/* the PV's label and metadata area, and every LV of its group */
static int add_vg(const struct lb_manifest *m, const struct lb_luks *l, dev_t mapping,
		  struct lb_cipher_ranges *rs, char **ret_why)
{
	const struct lb_vg *vg = NULL;
	const struct lb_pv *pv = NULL;

	for (size_t i = 0; m->stack && i < m->stack->n_vgs && !vg; i++)
		for (size_t j = 0; j < m->stack->vgs[i]->n_pvs; j++)
			if (strcmp(m->stack->vgs[i]->pvs[j]->on, l->id) == 0) {
				vg = m->stack->vgs[i];
				pv = vg->pvs[j];
			}
	if (!vg) {
		*ret_why = lb_asprintf("%s holds nothing lifeboat captures as ciphertext (a filesystem, "
				       "swap or an LVM PV)",
				       l->id);
		return 0;
	}
	if (vg->n_pvs != 1) {
		*ret_why = lb_asprintf("the volume group %s on %s has PVs outside it", lb_esc(vg->name),
				       l->id);
		return 0;
	}
	for (size_t i = 0; i < vg->n_lvs; i++)
		if (vg->lvs[i]->volume && (*ret_why = volume_busy(vg->lvs[i]->volume, l->id)))
			return 0;
	lb_cipher_ranges_add(rs, 0, pv->pe_start * 512);
	for (size_t i = 0; i < vg->n_lvs; i++) {
		int r = add_lv(vg, vg->lvs[i], mapping, rs);

		if (r == -EOPNOTSUPP || r == -EXDEV) {
			*ret_why = lb_strdup(lb_errmsg());
			return 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the capture ---- */

static int write_image(const struct lb_luks *l, const struct lb_cipher_ranges *rs, const char *under,
		       const struct lb_data_opts *o, char sum[65], uint64_t *ret_size)
{
	_cleanup_free_ char *node = lb_asprintf("/dev/%s", under);
	_cleanup_free_ char *path = lb_asprintf("%s/%s.data", o->outdir, l->id);
	_cleanup_close_ int out = -1, dfd = -1;
	struct lb_dw *w = NULL;
	int direct, r;

	dfd = open(node, O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return lb_err(-errno, "%s: %s", node, strerror(errno));
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	/* (an encrypted capture seals it too: every data file of it is) */
	if (o->key)
		r = lb_dw_open_key(out, LB_CONTAINER_IMAGE, l->size * 512, l->sector_size, o->level,
				   o->key, strrchr(path, '/') + 1, &w);
	else
		r = lb_dw_open(out, LB_CONTAINER_IMAGE, l->size * 512, l->sector_size, o->level, &w);
	if (r < 0)
		goto fail;
	direct = getenv("LIFEBOAT_NO_DIRECT") ? -1 : open(node, O_RDONLY | O_CLOEXEC | O_DIRECT);
	lb_dw_set_device(w, dfd, direct, l->data_offset * 512, node);
	for (size_t i = 0; i < rs->n && r >= 0; i++)
		r = lb_dw_add_extent(w, rs->v[i].off, rs->v[i].len);
	if (r < 0)
		lb_dw_abort(w);
	else
		r = lb_dw_close(w, sum, ret_size);
	if (direct >= 0)
		close(direct);
	if (r >= 0)
		return 0;
fail:
	unlink(path);
	return r;
}

/* the ranges in use in container l, opened as dm-N mapping; *ret_why when
 * they cannot be told */
static int collect(const struct lb_manifest *m, const struct lb_luks *l, const char *dm,
		   dev_t mapping, struct lb_cipher_ranges *rs, char **ret_why)
{
	_cleanup_free_ char *node = lb_asprintf("/dev/%s", dm);
	const struct lb_volume *v = l->volume;

	if (!v)
		return add_vg(m, l, mapping, rs, ret_why);
	if ((*ret_why = volume_busy(v, l->id)))
		return 0;
	return used_of(node, strcmp(v->type, "raw") == 0 ? NULL : v, rs->limit, lb_cipher_ranges_add, rs);
}

int lb_cipher_capture(struct lb_manifest *m, struct lb_luks *l, const struct lb_data_opts *o)
{
	_cleanup_free_ char *dm = NULL, *under = NULL, *why = NULL;
	struct lb_cipher_ranges rs = { .limit = l->size * 512 };
	uint64_t size = 0, bytes = 0;
	dev_t mapping = 0;
	char sum[65];
	int r;

	if (o->mode == LB_DATA_NONE || !l->name || !l->size)
		return 0;	/* (closed: its partition's business, --data image) */
	if (l->sector_size < 512 || l->sector_size > 4096 || l->sector_size & (l->sector_size - 1))
		why = lb_asprintf("an encryption sector of %u bytes", l->sector_size);
	if (!why)
		why = segment_trouble(l);
	r = why ? 0 : find_mapping(l->name, &dm, &under, &mapping);
	if (r >= 0 && !why)
		r = collect(m, l, dm, mapping, &rs, &why);
	if (r >= 0 && !why) {
		lb_cipher_ranges_settle(&rs, l->sector_size);
		for (size_t i = 0; i < rs.n; i++)
			bytes += rs.v[i].len;
		r = write_image(l, &rs, under, o, sum, &size);
	}
	free(rs.v);
	if (r < 0)
		return lb_err(r, "%s: its ciphertext: %s", l->id, lb_errmsg());
	if (why && o->key) {
		/* an encrypted capture takes what is inside instead, sealed
		 * (lb_data_capture's stack volumes) */
		lb_debug("data", "%s: no ciphertext (%s): what is inside is captured encrypted", l->id,
			 why);
		return 0;
	}
	if (why) {
		lb_manifest_warn(m, "%s: no data captured: %s (capture --encrypt --key-file FILE "
				    "archives what is inside encrypted; or capture from the rescue "
				    "system with the container open and nothing in it mounted)",
				 l->id, why);
		return 0;
	}
	l->ciphertext = lb_artifact_new();
	l->ciphertext->file = lb_asprintf("%s.data", l->id);
	l->ciphertext->size = size;
	l->ciphertext->sha256 = lb_strdup(sum);
	l->ciphertext->encrypted = o->key != NULL;
	if (o->report)
		lb_info("%s: ciphertext, %.1f MiB of its data segment in %.1f MiB", l->id,
			(double)bytes / 1048576.0, (double)size / 1048576.0);
	return 0;
}
