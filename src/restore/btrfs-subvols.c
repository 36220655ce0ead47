// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A btrfs's subvolumes made again around the extraction of its archive.
 * The new filesystem's top level is mounted privately (subvolid=5); then:
 *
 *  1. each recorded subvolume is made in ID order in the top level under a
 *     name of its own (.lifeboat-new.<id>); a snapshot of one made before
 *     it as a snapshot of that one (empty still: its parent UUID is that
 *     one's again). btrfs gives a new subvolume the
 *     highest ID so far + 1 and has no way to ask for one, so an ID left
 *     free at capture (a subvolume deleted, a capture's snapshot) is taken
 *     by a placeholder (.lifeboat-fill.<id>) and the next one made gets the
 *     recorded ID; a filesystem that is not new is refused;
 *  2. each is moved to its path, shallowest first (a subvolume may have
 *     been moved below one made after it), the directories above it made;
 *  3. the archive is extracted into the top level (lb_run_extract): each
 *     subvolume's files land in it, in ID order, a snapshot's files that
 *     were the same as its parent's as clones of those just extracted
 *     (archive-extract.c: they share their extents again);
 *  4. each snapshot's files that are not clones are deduplicated against
 *     its parent's (btrfs-share.c: all of them in an archive that predates
 *     clones; a file of which a few blocks changed); a received
 *     subvolume given its received UUID, stransid and stime again
 *     (BTRFS_IOC_SET_RECEIVED_SUBVOL, as btrfs receive does: what lets an
 *     incremental btrfs receive find it as the parent of the next one),
 *     while it can still be written (the kernel refuses it with EROFS on a
 *     read-only one), and only once its files are in it (an empty one is
 *     not what was received: lb_run_subvols_filled); the read-only ones
 *     made read-only, the default subvolume set, the placeholders removed.
 *
 * Everything inside the new filesystem through lb_open_in_root and
 * friends. Subvolume UUIDs are new: the kernel sets them and no interface
 * takes one (lifeboat-manifest(5)); received UUIDs are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <uuid/uuid.h>

#include "base/base.h"
#include "model/model.h"
#include "system/system.h"
#include "manifest/manifest.h"
#include "restore/internal.h"

#define FIRST_ID 256u
/* placeholders made for IDs left free at capture, at most (more: the IDs
 * are not kept, the tree is) */
#define FILL_MAX 65536u
#define NEW_PREFIX ".lifeboat-new."
#define FILL_PREFIX ".lifeboat-fill."

struct lb_run_subvols {
	const struct lb_btrfs_subvols *s;
	struct lb_btrfs_top *top;
	uint64_t *got;		/* the ID each subvolume got */
	uint64_t *fills;	/* placeholders to remove */
	size_t n_fills;
	bool filled;		/* their files extracted */
};

static int bu_err(enum btrfs_util_error e, const char *fmt, const char *arg)
{
	int en = errno ? errno : EIO;
	_cleanup_free_ char *what = lb_asprintf(fmt, arg);

	return lb_err(-en, "%s: %s", what, btrfs_util_strerror(e));
}

/* Makes subvolume NAME in the top level, a snapshot of FROM there (its
 * parent, still empty) when not NULL; its ID. */
static int make_one(struct lb_run_subvols *rs, const char *name, const char *from,
		    uint64_t *ret_id)
{
	enum btrfs_util_error e;
	int fd;

	errno = 0;
	if (from) {
		int pfd = lb_open_in_root(rs->top->fd, from, O_RDONLY | O_DIRECTORY);

		if (pfd < 0)
			return lb_err(pfd, "%s: %s", from, strerror(-pfd));
		e = btrfs_util_create_snapshot_fd2(pfd, rs->top->fd, name, 0, NULL, NULL);
		close(pfd);
		if (e)
			return bu_err(e, "cannot make the snapshot %s", name);
	} else {
		e = btrfs_util_create_subvolume_fd(rs->top->fd, name, 0, NULL, NULL);
		if (e)
			return bu_err(e, "cannot make the subvolume %s", name);
	}
	fd = lb_open_in_root(rs->top->fd, name, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return lb_err(fd, "%s: %s", name, strerror(-fd));
	errno = 0;
	e = btrfs_util_subvolume_id_fd(fd, ret_id);
	close(fd);
	return e ? bu_err(e, "%s: no subvolume ID", name) : 0;
}

/* Step 1: every subvolume, with its recorded ID where it can be; a
 * snapshot of a subvolume made before it as a snapshot of that one. */
static int make_all(struct lb_run_subvols *rs)
{
	uint64_t fills_left = FILL_MAX;
	_cleanup_free_ size_t *parents = lb_btrfs_parents(rs->s);

	for (size_t i = 0; i < rs->s->n; i++) {
		const struct lb_btrfs_subvol *sv = &rs->s->subvols[i];
		_cleanup_free_ char *name = lb_asprintf(NEW_PREFIX "%" PRIu64, sv->id);
		_cleanup_free_ char *from = parents[i] < i ? lb_asprintf(NEW_PREFIX "%" PRIu64,
									 rs->s->subvols[parents[i]].id)
							   : NULL;
		uint64_t id;
		int r;

		for (;;) {
			r = make_one(rs, name, from, &id);
			if (r < 0)
				return r;
			if (id >= sv->id || fills_left == 0)
				break;
			/* an ID free at capture: kept free by a placeholder */
			_cleanup_free_ char *fill = lb_asprintf(FILL_PREFIX "%" PRIu64, id);

			if (renameat(rs->top->fd, name, rs->top->fd, fill) < 0)
				return lb_err(-errno, "cannot rename %s: %s", name, strerror(errno));
			rs->fills = lb_realloc_array(rs->fills, rs->n_fills + 1, sizeof(*rs->fills));
			rs->fills[rs->n_fills++] = id;
			fills_left--;
		}
		if (id != sv->id)
			lb_warn("subvolume %s: made with ID %" PRIu64 ", not %" PRIu64 " as recorded",
				lb_esc(sv->path), id, sv->id);
		rs->got[i] = id;
	}
	return 0;
}

static size_t depth(const char *path)
{
	size_t n = 0;

	for (; *path; path++)
		n += *path == '/';
	return n;
}

/* Step 2: each moved to its path, the shallowest first. */
static int move_all(struct lb_run_subvols *rs)
{
	size_t max = 0;

	for (size_t i = 0; i < rs->s->n; i++)
		if (depth(rs->s->subvols[i].path) > max)
			max = depth(rs->s->subvols[i].path);
	for (size_t d = 0; d <= max; d++) {
		for (size_t i = 0; i < rs->s->n; i++) {
			const struct lb_btrfs_subvol *sv = &rs->s->subvols[i];
			_cleanup_free_ char *name = lb_asprintf(NEW_PREFIX "%" PRIu64, sv->id);
			_cleanup_free_ char *dir = lb_strdup(sv->path);
			char *base = strrchr(dir, '/');
			int pfd;

			if (depth(sv->path) != d)
				continue;
			if (base) {
				*base++ = '\0';
				pfd = lb_mkdir_in_root(rs->top->fd, dir, 0755);
			} else {
				base = dir;
				pfd = fcntl(rs->top->fd, F_DUPFD_CLOEXEC, 0);
			}
			if (pfd < 0)
				return lb_err(pfd < -1 ? pfd : -errno, "subvolume %s: cannot make the "
								      "directories above it",
					      lb_esc(sv->path));
			if (renameat(rs->top->fd, name, pfd, base) < 0) {
				int e = errno;

				close(pfd);
				return lb_err(-e, "subvolume %s: cannot move it into place: %s",
					      lb_esc(sv->path), strerror(e));
			}
			close(pfd);
		}
	}
	return 0;
}

int lb_run_subvols_begin(struct lb_run *run, const struct lb_volume *v, const char *node,
			 struct lb_run_subvols **ret)
{
	struct lb_run_subvols *rs = lb_zalloc(sizeof(*rs));
	struct lb_btrfs_subvols *there = NULL;
	int r;

	*ret = NULL;
	rs->s = v->subvols;
	rs->got = lb_realloc_array(NULL, rs->s->n ? rs->s->n : 1, sizeof(*rs->got));
	/* (the paths were checked on reading the manifest; again: they name
	 * places inside the filesystem this writes) */
	for (size_t i = 0; i < rs->s->n; i++)
		if (lb_btrfs_path_bad(rs->s->subvols[i].path)) {
			free(rs->got);
			free(rs);
			return lb_err(-EINVAL, "%s: a subvolume path that is no path", v->id);
		}
	r = lb_btrfs_top_mount(node, LB_BTRFS_TOP_RW, &rs->top);
	if (r >= 0)
		r = lb_btrfs_subvols_read(rs->top, &there);
	if (r >= 0 && there->n)
		r = lb_err(-EEXIST, "%s: the btrfs on %s has subvolumes already: its subvolumes are "
				    "made only in a new one", v->id, node);
	lb_btrfs_subvols_free(there);
	if (r >= 0) {
		lb_run_say(run, "%s: making %zu subvolumes", v->id, rs->s->n);
		r = make_all(rs);
	}
	if (r >= 0)
		r = move_all(rs);
	if (r < 0) {
		_cleanup_free_ char *msg = lb_strdup(lb_errmsg());

		lb_run_subvols_end(run, rs, r);
		return lb_err(r, "%s: %s", v->id, msg);
	}
	*ret = rs;
	return 0;
}

const char *lb_run_subvols_root(const struct lb_run_subvols *rs)
{
	return rs->top->dir;
}

/* A received subvolume (FD, still read-write) given what btrfs receive
 * gave it: its received UUID, stransid and stime. */
static int set_received(int fd, const struct lb_btrfs_subvol *sv)
{
	struct btrfs_ioctl_received_subvol_args a;
	uuid_t u;

	memset(&a, 0, sizeof(a));
	if (uuid_parse(sv->received_uuid, u) < 0)
		return lb_err(-EINVAL, "subvolume %s: its received UUID %s is no UUID",
			      lb_esc(sv->path), lb_esc(sv->received_uuid));
	memcpy(a.uuid, u, sizeof(a.uuid));
	a.stransid = sv->stransid;
	a.stime.sec = sv->stime;
	a.stime.nsec = sv->stime_nsec;
	if (ioctl(fd, BTRFS_IOC_SET_RECEIVED_SUBVOL, &a) < 0)
		return lb_err(-errno, "subvolume %s: cannot give it its received UUID: %s",
			      lb_esc(sv->path), strerror(errno));
	lb_debug("btrfs", "subvolume %s: received UUID %s, stransid %" PRIu64 " set",
		 sv->path, sv->received_uuid, sv->stransid);
	return 0;
}

void lb_run_subvols_filled(struct lb_run_subvols *rs)
{
	rs->filled = true;
}

/* Step 4. */
static int finish(struct lb_run *run, struct lb_run_subvols *rs)
{
	enum btrfs_util_error e;
	uint64_t dflt = rs->s->default_id;
	size_t received = 0, unset = 0;

	/* snapshots share their extents with their parents again, while
	 * they can still be written */
	lb_run_subvols_share(run, rs->top->fd, rs->s);
	for (size_t i = 0; i < rs->s->n; i++) {
		const struct lb_btrfs_subvol *sv = &rs->s->subvols[i];
		int fd, r = 0;

		if (sv->id == rs->s->default_id)
			dflt = rs->got[i];
		unset += sv->received_uuid && !rs->filled;
		if (!sv->readonly && !(sv->received_uuid && rs->filled))
			continue;
		fd = lb_open_in_root(rs->top->fd, sv->path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return lb_err(fd, "subvolume %s: %s", lb_esc(sv->path), strerror(-fd));
		/* (before it is read-only: EROFS after) */
		if (sv->received_uuid && rs->filled) {
			r = set_received(fd, sv);
			received += r >= 0;
		}
		errno = 0;
		e = r >= 0 && sv->readonly ? btrfs_util_set_subvolume_read_only_fd(fd, true)
					   : BTRFS_UTIL_OK;
		close(fd);
		if (r < 0)
			return r;
		if (e)
			return bu_err(e, "subvolume %s: cannot make it read-only", lb_esc(sv->path));
	}
	if (received)
		lb_run_say(run, "%zu received subvolumes given their received UUIDs again", received);
	if (unset)
		lb_run_say(run, "%zu received subvolumes made empty, without their received UUIDs "
				"(an incremental btrfs receive would take them for what was received)",
			   unset);
	errno = 0;
	e = btrfs_util_set_default_subvolume_fd(rs->top->fd, dflt);
	if (e) {
		_cleanup_free_ char *ids = lb_asprintf("%" PRIu64, dflt);

		return bu_err(e, "cannot make subvolume %s the default", ids);
	}
	lb_run_say(run, "subvolumes made, the default %" PRIu64 "%s", dflt,
		   rs->n_fills ? ", placeholders for the IDs free at capture removed" : "");
	return 0;
}

int lb_run_subvols_end(struct lb_run *run, struct lb_run_subvols *rs, int r)
{
	if (!rs)
		return r;
	if (r >= 0)
		r = finish(run, rs);
	/* the placeholders go whatever happened (a run again makes it anew) */
	for (size_t i = 0; i < rs->n_fills && rs->top; i++) {
		_cleanup_free_ char *fill = lb_asprintf(FILL_PREFIX "%" PRIu64, rs->fills[i]);
		enum btrfs_util_error e;

		errno = 0;
		e = btrfs_util_delete_subvolume_fd(rs->top->fd, fill, 0);
		if (e && r >= 0)
			r = bu_err(e, "cannot remove the placeholder %s", fill);
	}
	if (lb_btrfs_top_umount(rs->top) < 0 && r >= 0)
		r = lb_err(-EBUSY, "%s", lb_errmsg());
	free(rs->got);
	free(rs->fills);
	free(rs);
	return r;
}
