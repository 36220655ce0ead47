// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Volume data at capture: which method each volume gets (--data
 * none|auto|image|archive), and writing its artifact. auto: image for
 * unmounted or read-only volumes, archive for mounted ones. Swap holds no
 * data; a raw partition is imaged whole; a volume in use by device-mapper or
 * md, or one with recorded contents already (BIOS boot), gets none. A
 * filesystem mounted read-write on a logical volume is imaged from an LVM
 * snapshot of it when its group has room for one (system/lvsnap.c), and
 * archived when not.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "fs/fs.h"
#include "data/data.h"
#include "data/datafile.h"

#define DEFAULT_CAPTURES "/var/lib/lifeboat/captures"


/* ---- capture ------------------------------------------------------------ */

int lb_data_mode_parse(const char *s, enum lb_data_mode *ret)
{
	static const char *const names[] = { "none", "auto", "image", "archive" };

	for (size_t i = 0; i < LB_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum lb_data_mode)i;
			return 0;
		}
	return -EINVAL;
}

bool lb_data_mounted_rw(const struct lb_volume *v)
{
	if (!v->mountpoint || v->mount_source)
		return false;	/* (a mount point read from the disk: not mounted here) */
	/* (the mount named may be read-only while another of the same
	 * filesystem is not: a btrfs's top level read-only, a subvolume of it
	 * read-write; the superblock says) */
	if (!v->mount_options || v->rt_writable)
		return true;
	return !(strncmp(v->mount_options, "ro", 2) == 0 &&
		 (v->mount_options[2] == '\0' || v->mount_options[2] == ','));
}

/* The method for one volume, or NULL for none (with a note when it is a
 * refusal the user should hear about). */
static const char *choose(enum lb_data_mode mode, const struct lb_partition *p,
			  const struct lb_volume *v, char **ret_note)
{
	*ret_note = NULL;
	if (mode == LB_DATA_NONE || strcmp(v->type, "swap") == 0 || (p && p->content) ||
	    (p && p->kind == LB_PART_EXTENDED))
		return NULL;
	if (v->rt_in_use && mode != LB_DATA_IMAGE) {
		*ret_note = lb_asprintf("%s: %s: an image of it would not be consistent: no data "
					"captured (export the pool first)",
					v->id, v->rt_in_use);
		return NULL;
	}
	if (strcmp(v->type, "ambiguous") == 0) {
		*ret_note = lb_asprintf("%s: more than one signature: no data captured", v->id);
		return NULL;
	}
	if (strcmp(v->type, "crypto_LUKS") == 0 && mode != LB_DATA_IMAGE) {
		*ret_note = lb_asprintf("%s: a LUKS container not open here: no used-block map to "
					"capture its ciphertext by, so no data (--data image takes it "
					"whole: its header and ciphertext, restored without a key)",
					v->id);
		return NULL;
	}
	if (strcmp(v->type, "LVM2_member") == 0 || strcmp(v->type, "linux_raid_member") == 0 ||
	    strcmp(v->type, "crypto_LUKS") == 0) {
		if (mode != LB_DATA_IMAGE) {
			*ret_note = lb_asprintf("%s: %s: its data is captured only as a whole image "
						"when nothing uses it (--data image)",
						v->id, v->type);
			return NULL;
		}
		return "image";
	}
	if (mode == LB_DATA_ARCHIVE || (mode == LB_DATA_AUTO && lb_data_mounted_rw(v))) {
		if (strcmp(v->type, "raw") == 0 || !lb_fs_ops_find(v->type)) {
			if (!lb_data_mounted_rw(v))
				return "image";
			*ret_note = lb_asprintf("%s: %s mounted read-write: lifeboat cannot make %s "
						"volumes to extract an archive into, and an image would "
						"not be consistent: no data captured",
						v->id, v->type, v->type);
			return NULL;
		}
		return "archive";
	}
	return "image";
}

/* The LUKS container on device ID, or NULL. */
static const struct lb_luks *luks_on(const struct lb_manifest *m, const char *id)
{
	for (size_t i = 0; m->stack && i < m->stack->n_luks; i++)
		if (strcmp(m->stack->luks[i]->on, id) == 0)
			return m->stack->luks[i];
	return NULL;
}

struct capture_ctx {
	struct lb_data_opts *o;
	struct lb_manifest *m;
	int err;
	/* the mounted volumes archived so far: another device of the same
	 * filesystem (a btrfs over several) is archived once */
	const struct lb_volume **archived;
	size_t n_archived;
};

/* The volume already archived that is the same mounted filesystem as v. */
static const struct lb_volume *archived_as(const struct capture_ctx *c, const struct lb_volume *v)
{
	for (size_t i = 0; i < c->n_archived; i++) {
		const struct lb_volume *a = c->archived[i];

		if (a->uuid && v->uuid && strcmp(a->uuid, v->uuid) == 0 &&
		    strcmp(a->type, v->type) == 0 && strcmp(a->mountpoint, v->mountpoint) == 0)
			return a;
	}
	return NULL;
}

/* Volume v's image into out, with progress. */
static int capture_image(const struct lb_disk *d, const struct lb_volume *v, int out,
			 const struct lb_data_opts *o, const char *file, struct lb_progress *pr,
			 char sum[65], uint64_t *size)
{
	uint64_t total = 0;
	int dfd, r;

	dfd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return lb_err(-errno, "%s: %s", d->path, strerror(errno));
	lb_image_used_bytes(d->path, v, &total);
	lb_progress_begin(pr, v->id, total);
	r = lb_image_capture(d->path, dfd, v, out, o->level, o->key, file, lb_progress_update, pr,
			     sum, size);
	lb_progress_end(pr);
	close(dfd);
	return r;
}

/* Volume v's files into out, with progress: where it is mounted, or
 * mounted read-only for it on *mnt. */
static int capture_archive(const char *dev, const struct lb_partition *p, struct lb_volume *v,
			   const struct lb_data_opts *o, int out, const char *file, char **mnt,
			   struct lb_progress *pr, char sum[65], uint64_t *size)
{
	const char *root = v->mount_source ? NULL : v->mountpoint;
	char *excl[3];
	size_t n_excl = 0;
	struct statvfs sv;
	int r;

	excl[n_excl++] = (char *)o->outdir;
	if (o->final_dir)
		excl[n_excl++] = (char *)o->final_dir;
	excl[n_excl++] = (char *)DEFAULT_CAPTURES;
	/* btrfs: per subvolume, from snapshots when it is mounted (btrfs-capture.c) */
	if (strcmp(v->type, "btrfs") == 0 && dev) {
		lb_progress_begin(pr, v->id, 0);
		if (root && statvfs(root, &sv) == 0 && sv.f_blocks >= sv.f_bfree)
			lb_progress_estimate(pr, (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		r = lb_btrfs_archive(dev, v, excl, n_excl, out, o->level, o->key, file,
				     lb_progress_update, pr, sum, size);
		lb_progress_end(pr);
		return r;
	}
	if (!root) {
		if (!p || !p->path)
			return lb_err(-ENODEV, "%s: no device node to mount for archiving", v->id);
		r = lb_mount_tmp(p->path, v->type, true, mnt);
		if (r < 0)
			return lb_err(r, "%s: to archive it read-only: %s", v->id, lb_errmsg());
		root = *mnt;
	}
	lb_progress_begin(pr, v->id, 0);
	/* the files' bytes are known only at the end of the walk: the space in
	 * use (metadata too, so somewhat more) stands in */
	if (statvfs(root, &sv) == 0 && sv.f_blocks >= sv.f_bfree)
		lb_progress_estimate(pr, (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
	r = lb_archive_capture(root, excl, n_excl, out, o->level, o->key, file, lb_progress_update,
			       pr, sum, size);
	lb_progress_end(pr);
	return r;
}

/* Whether the method can be used on v now; an error when not. */
static int check_method(const char *method, const struct lb_partition *p, const struct lb_volume *v)
{
	if (strcmp(method, "image") == 0 && p && p->path &&
	    lb_block_has_holders(strrchr(p->path, '/') + 1))
		return lb_err(-EBUSY, "%s is in use by device-mapper or md: an image of it would not be "
				      "consistent; deactivate it first",
			      v->id);
	if (strcmp(method, "image") == 0 && v->rt_in_use)
		return lb_err(-EBUSY, "%s is %s: an image of it would not be consistent; export the "
				      "pool first",
			      v->id, v->rt_in_use);
	if (strcmp(method, "image") == 0 && lb_data_mounted_rw(v))
		return lb_err(-EBUSY, "%s is mounted read-write on %s: an image of it would not be "
				      "consistent; use --data archive (or auto) for it",
			      v->id, v->mountpoint);
	return 0;
}

/* Volume v's data by METHOD from the device d/p names, into its artifact. */
/* A volume archived while mounted read-write, with no snapshot to read
 * (not on LVM, not btrfs): each file is as it was when it was read, and
 * the manifest and the log name when the reading began and ended, the
 * window in which files that change together may have been taken apart. */
static void say_live(struct lb_volume *v, char *from)
{
	free(v->data_source);
	free(v->data_from);
	free(v->data_to);
	v->data_source = lb_strdup("live");
	v->data_from = from;
	v->data_to = lb_utc_now();
	lb_info("%s: archived while mounted read-write on %s with no snapshot to read from: each "
		"file as it was when read, from %s to %s", v->id, v->mountpoint, v->data_from,
		v->data_to);
}

static int capture_with(struct capture_ctx *c, const char *method, struct lb_disk *d,
			struct lb_partition *p, struct lb_volume *v)
{
	struct lb_data_opts *o = c->o;
	_cleanup_free_ char *file = NULL, *path = NULL, *mnt = NULL, *from = NULL;
	struct lb_progress pr;
	char sum[65];
	uint64_t size = 0;
	int out, r;

	file = lb_asprintf("%s.data", v->id);
	path = lb_asprintf("%s/%s", o->outdir, file);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	from = lb_utc_now();
	if (strcmp(method, "image") == 0)
		r = capture_image(d, v, out, o, file, &pr, sum, &size);
	else
		r = capture_archive(p && p->path ? p->path : d->path, p, v, o, out, file, &mnt, &pr,
				    sum, &size);
	if (r >= 0 && strcmp(method, "archive") == 0 && !v->data_source && lb_data_mounted_rw(v))
		say_live(v, TAKE_PTR(from));
	if (r >= 0) {
		double secs = lb_progress_seconds(&pr);

		v->data = lb_artifact_new();
		v->data->file = TAKE_PTR(file);
		v->data->size = size;
		v->data->sha256 = lb_strdup(sum);
		v->data->encrypted = o->key != NULL;
		v->data_method = lb_strdup(method);
		if (strcmp(method, "archive") == 0 && v->mountpoint && !v->mount_source) {
			c->archived = lb_realloc_array(c->archived, c->n_archived + 1,
						       sizeof(*c->archived));
			c->archived[c->n_archived++] = v;
		}
		lb_debug("data", "%s: %s, %" PRIu64 " bytes of data into %" PRIu64 " in %.2f s", v->id,
			 method, pr.bytes, size, secs);
		if (o->report)
			lb_info("%s: %s, %.1f MiB in %.1f MiB (%.1f s)", v->id, method,
				(double)pr.bytes / 1048576.0, (double)size / 1048576.0, secs);
	}
	lb_umount_tmp(TAKE_PTR(mnt));
	close(out);
	if (r < 0) {
		unlink(path);
		return lb_err(r, "%s: %s", v->id, lb_errmsg());
	}
	return 0;
}

/* Forgets v's data artifact and removes its file (to take it again). */
static void drop_data(const struct lb_data_opts *o, struct lb_volume *v)
{
	_cleanup_free_ char *path = NULL;

	if (!v->data)
		return;
	path = lb_asprintf("%s/%s", o->outdir, v->data->file);
	unlink(path);
	lb_artifact_free(v->data);
	v->data = NULL;
	free(v->data_method);
	v->data_method = NULL;
}

/* Whether device ID is a member of a recorded array, LUKS container or
 * volume group: what is on it is captured through the stack. */
static bool feeds_stack(const struct lb_manifest *m, const char *id)
{
	const struct lb_stack *s = m->stack;

	for (size_t i = 0; s && i < s->n_mds; i++)
		for (size_t j = 0; j < s->mds[i]->n_members; j++)
			if (strcmp(s->mds[i]->members[j]->on, id) == 0)
				return true;
	for (size_t i = 0; s && i < s->n_luks; i++)
		if (strcmp(s->luks[i]->on, id) == 0)
			return true;
	for (size_t i = 0; s && i < s->n_vgs; i++)
		for (size_t j = 0; j < s->vgs[i]->n_pvs; j++)
			if (strcmp(s->vgs[i]->pvs[j]->on, id) == 0)
				return true;
	return false;
}

static int capture_one(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct capture_ctx *c = ud;
	_cleanup_free_ char *note = NULL;
	const struct lb_luks *luks = NULL;
	const char *method;
	int r;

	if (!d->selected)
		return 0;
	/* an open container: its data is its ciphertext, or lb_cipher_capture
	 * said why there is none */
	if (v->id && (luks = luks_on(c->m, v->id)) && luks->size && c->o->mode != LB_DATA_IMAGE)
		return 0;
	if (luks && luks->ciphertext)
		return 0;
	method = choose(c->o->mode, p, v, &note);
	/* (a member of the recorded stack: its volumes get data of their own;
	 * but a closed LUKS container's note says why it gets none) */
	if (note && !(method == NULL && v->id && feeds_stack(c->m, v->id) &&
		      strcmp(v->type, "crypto_LUKS") != 0))
		lb_manifest_warn(c->m, "%s", note);
	if (!method)
		return 0;
	r = check_method(method, p, v);
	if (r >= 0 && strcmp(method, "archive") == 0 && v->mountpoint && !v->mount_source) {
		const struct lb_volume *a = archived_as(c, v);

		if (a) {
			lb_manifest_warn(c->m, "%s: a device of the %s mounted on %s, archived as %s: "
					       "no data of its own", v->id, v->type, v->mountpoint, a->id);
			return 0;
		}
	}
	if (r >= 0)
		r = capture_with(c, method, d, p, v);
	if (r < 0) {
		c->err = r;
		return 1;
	}
	return 0;
}

/* ---- volumes of the stack (arrays, LUKS containers, LVs) ---- */

/* The LUKS container device ID is, or sits on (NULL: none): what is on it
 * is plaintext, which never goes into a capture. */
static const struct lb_luks *under_luks(const struct lb_manifest *m, const char *id, int depth)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(m, id);
	const struct lb_luks *found = NULL;

	if (depth > 16)
		return NULL;	/* (a loop: the manifest check refuses it) */
	switch (ref.kind) {
	case LB_DEV_LUKS:
		return ref.luks;
	case LB_DEV_MD:
		for (size_t i = 0; i < ref.md->n_members && !found; i++)
			found = under_luks(m, ref.md->members[i]->on, depth + 1);
		return found;
	case LB_DEV_LV:
		for (size_t i = 0; i < ref.vg->n_pvs && !found; i++)
			found = under_luks(m, ref.vg->pvs[i]->on, depth + 1);
		return found;
	default:
		return NULL;
	}
}

/* every disk a stack volume lives on is selected */
static int all_selected(struct lb_disk *d, void *ud)
{
	(void)ud;
	return d->selected ? 0 : 1;
}

/* /dev/NAME of the block device major:minor (sysfs: no udev needed) */
static char *node_of(unsigned major, unsigned minor)
{
	_cleanup_free_ char *uevent = lb_asprintf("/sys/dev/block/%u:%u/uevent", major, minor);
	_cleanup_free_ char *buf = NULL;
	char *save = NULL;

	if (lb_read_file(uevent, &buf, 4096) < 0)
		return NULL;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "DEVNAME=", 8) == 0)
			return lb_asprintf("/dev/%s", l + 8);
	return NULL;
}

/* Whether v, a volume on a device of the stack, is to be imaged from an
 * LVM snapshot: a filesystem mounted read-write here on a logical volume
 * that is no thin volume (a snapshot of one takes no room of its own and
 * is left to lvm's thin tools), not btrfs (a second device with its fsid
 * would be taken for one of its members), and the data by image or auto. */
static bool snapshot_wanted(const struct capture_ctx *c, const struct lb_volume *v)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(c->m, v->id);

	if (ref.kind != LB_DEV_LV || !lb_data_mounted_rw(v) ||
	    (c->o->mode != LB_DATA_AUTO && c->o->mode != LB_DATA_IMAGE))
		return false;
	if (strcmp(ref.lv->segtype, "thin") == 0 || strcmp(v->type, "btrfs") == 0) {
		lb_manifest_warn(c->m, "%s: %s on a %s logical volume: no LVM snapshot taken of it",
				 v->id, v->type, ref.lv->segtype);
		return false;
	}
	return true;
}

/* The image of v taken from an LVM snapshot of its logical volume, which
 * is removed afterwards whatever happened; archived instead when the group
 * has no room for one or it filled up while it was read. */
static int capture_snapshot(struct capture_ctx *c, struct lb_disk *d, struct lb_partition *p,
			    struct lb_volume *v)
{
	struct lb_dev_ref ref = lb_manifest_find_dev(c->m, v->id);
	struct lb_partition snap_part = { 0 };
	struct lb_disk snap_disk = { .selected = true };
	_cleanup_free_ char *why = NULL, *origin = lb_asprintf("%s/%s", ref.vg->name, ref.lv->name);
	struct lb_lvsnap *snap = NULL;
	int r, valid;

	r = lb_lvsnap_take(ref.vg->name, ref.lv->name, ref.lv->size, &snap, &why);
	if (r != 0) {
		if (!why)
			why = lb_strdup(lb_errmsg());
		if (c->o->mode == LB_DATA_IMAGE) {
			c->err = lb_err(-EBUSY, "%s is mounted read-write on %s and no LVM snapshot of "
						"%s could be taken (%s): use --data archive (or auto) for it",
					v->id, v->mountpoint, origin, why);
			return 1;
		}
		lb_manifest_warn(c->m, "%s: mounted read-write on %s and no LVM snapshot of %s could be "
				       "taken (%s): archived instead",
				 v->id, v->mountpoint, origin, why);
		return capture_one(d, p, v, c);
	}
	lb_info("%s: imaging %s, a snapshot of %s (%.1f MiB of copy-on-write space)", v->id,
		snap->path, origin, (double)snap->sectors / 2048.0);
	snap_disk.path = snap->path;
	snap_part.path = snap->path;
	r = capture_with(c, "image", &snap_disk, &snap_part, v);
	valid = lb_lvsnap_valid(snap);
	if (r < 0)
		why = lb_strdup(lb_errmsg());
	if (lb_lvsnap_drop(snap) < 0)
		lb_manifest_warn(c->m, "%s (the next capture removes it)", lb_errmsg());
	if (r >= 0 && valid == 1) {
		v->data_source = lb_strdup("lvm-snapshot");
		return 0;
	}
	if (valid == 1) {
		c->err = lb_err(r, "%s", why);
		return 1;
	}
	/* it filled up while it was read (or lvm cannot say it did not):
	 * what it gave is of no one moment */
	drop_data(c->o, v);
	free(why);
	why = valid == 0 ? lb_asprintf("the snapshot of %s filled up while it was read (more free "
				       "extents in volume group %s give it more room)",
				       origin, ref.vg->name)
			 : lb_asprintf("lvm cannot say whether the snapshot of %s stayed whole", origin);
	if (c->o->mode == LB_DATA_IMAGE) {
		c->err = lb_err(-EBUSY, "%s: %s: use --data archive (or auto) for it", v->id, why);
		return 1;
	}
	lb_manifest_warn(c->m, "%s: %s: archived instead", v->id, why);
	return capture_one(d, p, v, c);
}

/* A volume on an array or an LV is captured like a partition's, from the
 * node it had at capture (an image from offset 0, or an archive); one in
 * or above a LUKS container only in an encrypted capture (its plaintext
 * never goes into a capture unencrypted), when the container's ciphertext
 * could not be taken. */
static int capture_stack_volume(struct capture_ctx *c, struct lb_volume *v)
{
	_cleanup_free_ char *node = NULL;
	struct lb_partition node_part = { 0 };
	struct lb_disk node_disk = { .selected = true };
	const struct lb_luks *luks;

	if (c->o->mode == LB_DATA_NONE || strcmp(v->type, "swap") == 0)
		return 0;
	if (lb_dev_foreach_disk(c->m, v->id, all_selected, NULL) != 0)
		return 0;
	luks = under_luks(c->m, v->id, 0);
	if (luks && luks->ciphertext) {
		lb_debug("data", "%s: in the ciphertext of %s", v->id, luks->id);
		return 0;
	}
	if (luks && !c->o->key) {
		/* (the container's own volume: lb_cipher_capture said why not) */
		if (luks->volume != v)
			lb_manifest_warn(c->m, "%s: inside the LUKS container %s, whose ciphertext is "
					       "not captured: no data captured (its plaintext never goes "
					       "into a capture)",
					 v->id, luks->id);
		return 0;
	}
	node = v->rt_major || v->rt_minor ? node_of(v->rt_major, v->rt_minor) : NULL;
	if (!node) {
		lb_manifest_warn(c->m, "%s: no device node for it here: no data captured", v->id);
		return 0;
	}
	node_disk.path = node;
	node_part.path = node;
	if (snapshot_wanted(c, v))
		return capture_snapshot(c, &node_disk, &node_part, v);
	return capture_one(&node_disk, &node_part, v, c);
}

static int capture_stack_cb(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v,
			    void *ud)
{
	struct capture_ctx *c = ud;

	(void)d;
	(void)p;
	capture_stack_volume(c, v);
	return c->err ? 1 : 0;
}

/* A btrfs whose files were not archived: its subvolumes recorded all the
 * same (once for a btrfs over several devices). */
static int record_subvols(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct capture_ctx *c = ud;

	if (!d->selected || strcmp(v->type, "btrfs") != 0 || v->subvols)
		return 0;
	for (size_t i = 0; i < c->n_archived; i++)
		if (c->archived[i]->subvols && c->archived[i]->uuid && v->uuid &&
		    strcmp(c->archived[i]->uuid, v->uuid) == 0)
			return 0;
	if (lb_btrfs_record(p && p->path ? p->path : d->path, v) < 0) {
		lb_manifest_warn(c->m, "%s: its btrfs subvolumes could not be listed: %s", v->id,
				 lb_errmsg());
		return 0;
	}
	c->archived = lb_realloc_array(c->archived, c->n_archived + 1, sizeof(*c->archived));
	c->archived[c->n_archived++] = v;
	return 0;
}

int lb_data_capture(struct lb_manifest *m, struct lb_data_opts *o)
{
	struct capture_ctx c = { .o = o, .m = m };

	/* first: a container's ciphertext stands for its partition's data */
	for (size_t i = 0; m->stack && i < m->stack->n_luks && !c.err; i++)
		if (lb_dev_foreach_disk(m, m->stack->luks[i]->id, all_selected, NULL) == 0)
			c.err = lb_cipher_capture(m, m->stack->luks[i], o);
	if (!c.err)
		lb_manifest_foreach_volume(m, capture_one, &c);
	if (!c.err)
		lb_stack_foreach_volume(m, capture_stack_cb, &c);
	if (!c.err)
		lb_manifest_foreach_volume(m, record_subvols, &c);
	free(c.archived);
	return c.err;
}
