// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Volume data at capture: which method each volume gets (--data
 * none|auto|image|archive), and writing its artifact. auto: image for
 * unmounted or read-only volumes, archive for mounted ones. Swap holds no
 * data; a raw partition is imaged whole; a volume in use by device-mapper or
 * md, or one with recorded contents already (BIOS boot), gets none.
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

static bool mounted_rw(const struct lb_volume *v)
{
	if (!v->mountpoint || v->mount_source)
		return false;	/* (a mount point read from the disk: not mounted here) */
	if (!v->mount_options)
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
	if (strcmp(v->type, "ambiguous") == 0) {
		*ret_note = lb_asprintf("%s: more than one signature: no data captured", v->id);
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
	if (mode == LB_DATA_ARCHIVE || (mode == LB_DATA_AUTO && mounted_rw(v))) {
		if (strcmp(v->type, "raw") == 0 || !lb_fs_ops_find(v->type)) {
			if (!mounted_rw(v))
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

struct capture_ctx {
	struct lb_data_opts *o;
	struct lb_manifest *m;
	int err;
};

static int capture_one(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	struct capture_ctx *c = ud;
	struct lb_data_opts *o = c->o;
	_cleanup_free_ char *note = NULL, *file = NULL, *path = NULL, *mnt = NULL;
	const char *method;
	struct lb_progress pr;
	char sum[65];
	uint64_t size = 0, total = 0;
	int out = -1, dfd = -1, r;

	if (!d->selected)
		return 0;
	method = choose(o->mode, p, v, &note);
	if (note)
		lb_manifest_warn(c->m, "%s", note);
	if (!method)
		return 0;
	if (strcmp(method, "image") == 0 && p && p->path && lb_block_has_holders(strrchr(p->path, '/') + 1)) {
		c->err = lb_err(-EBUSY, "%s is in use by device-mapper or md: an image of it would not be "
					"consistent; deactivate it first",
				v->id);
		return 1;
	}
	if (strcmp(method, "image") == 0 && mounted_rw(v)) {
		c->err = lb_err(-EBUSY, "%s is mounted read-write on %s: an image of it would not be "
					"consistent; use --data archive (or auto) for it",
				v->id, v->mountpoint);
		return 1;
	}
	file = lb_asprintf("%s.data", v->id);
	path = lb_asprintf("%s/%s", o->outdir, file);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		c->err = lb_err(-errno, "%s: %s", path, strerror(errno));
		return 1;
	}
	if (strcmp(method, "image") == 0) {
		dfd = open(d->path, O_RDONLY | O_CLOEXEC);
		if (dfd < 0) {
			r = lb_err(-errno, "%s: %s", d->path, strerror(errno));
			goto done;
		}
		lb_image_used_bytes(d->path, v, &total);
		lb_progress_begin(&pr, v->id, total);
		r = lb_image_capture(d->path, dfd, v, out, o->level, lb_progress_update, &pr, sum, &size);
	} else {
		const char *root = v->mount_source ? NULL : v->mountpoint;
		char *excl[3];
		size_t n_excl = 0;
		struct statvfs sv;

		if (!root) {
			if (!p || !p->path) {
				r = lb_err(-ENODEV, "%s: no device node to mount for archiving", v->id);
				goto done;
			}
			r = lb_mount_tmp(p->path, v->type, true, &mnt);
			if (r < 0) {
				r = lb_err(r, "%s: to archive it read-only: %s", v->id, lb_errmsg());
				goto done;
			}
			root = mnt;
		}
		excl[n_excl++] = (char *)o->outdir;
		if (o->final_dir)
			excl[n_excl++] = (char *)o->final_dir;
		excl[n_excl++] = (char *)DEFAULT_CAPTURES;
		lb_progress_begin(&pr, v->id, 0);
		/* the files' bytes are known only at the end of the walk: the
		 * space in use (metadata too, so somewhat more) stands in */
		if (statvfs(root, &sv) == 0 && sv.f_blocks >= sv.f_bfree)
			lb_progress_estimate(&pr, (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		r = lb_archive_capture(root, excl, n_excl, out, o->level, lb_progress_update, &pr, sum,
				       &size);
	}
	lb_progress_end(&pr);
	if (r >= 0) {
		double secs = lb_progress_seconds(&pr);

		v->data = lb_artifact_new();
		v->data->file = TAKE_PTR(file);
		v->data->size = size;
		v->data->sha256 = lb_strdup(sum);
		v->data_method = lb_strdup(method);
		lb_debug("data", "%s: %s, %" PRIu64 " bytes of data into %" PRIu64 " in %.2f s", v->id,
			 method, pr.bytes, size, secs);
		if (o->report)
			fprintf(stderr, "lifeboat: %s: %s, %.1f MiB in %.1f MiB (%.1f s)\n", v->id, method,
				(double)pr.bytes / 1048576.0, (double)size / 1048576.0, secs);
	}
done:
	lb_umount_tmp(TAKE_PTR(mnt));
	if (dfd >= 0)
		close(dfd);
	close(out);
	if (r < 0) {
		unlink(path);
		c->err = lb_err(r, "%s: %s", v->id, lb_errmsg());
		return 1;
	}
	return 0;
}

int lb_data_capture(struct lb_manifest *m, struct lb_data_opts *o)
{
	struct capture_ctx c = { .o = o, .m = m };

	lb_manifest_foreach_volume(m, capture_one, &c);
	return c.err;
}
