// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A restored btrfs snapshot shares its extents with its restored parent
 * again. Since lifeboat captures a snapshot's files that are its parent's
 * as clones of them (clones-from), those share their extents as they are
 * extracted; the rest of its files were archived whole, like those of any
 * subvolume (all of them in captures made before, or for a snapshot of a
 * subvolume made after it: walked after it, its files could not be named
 * as clones), though most of one may still be its parent's (a large file
 * of which a few blocks changed). Before it is made read-only, each of
 * its regular files that shares nothing with the file at the same path in
 * its parent (lb_same_data: not a clone) is deduplicated against it
 * (FIDEDUPERANGE: the kernel compares the bytes and shares only what is
 * the same, DEDUPE_STEP at a time), so the restored filesystem uses about
 * the space the original did, not one full copy per snapshot. Both trees
 * are walked below descriptors opened inside the restored filesystem,
 * never through a link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "data/data.h"
#include "restore/internal.h"

#define DEDUPE_STEP (16ull << 20)	/* btrfs dedupes at most 16 MiB a call */
#define DEPTH_MAX 256

struct share {
	uint64_t files;
	uint64_t bytes;		/* shared by the kernel */
};

/* dst's bytes shared with src's where they are the same */
static void share_file(int src, int dst, uint64_t size, struct share *sh)
{
	_cleanup_free_ struct file_dedupe_range *d =
		lb_zalloc(sizeof(*d) + sizeof(struct file_dedupe_range_info));

	for (uint64_t off = 0; off < size;) {
		uint64_t len = size - off < DEDUPE_STEP ? size - off : DEDUPE_STEP;

		memset(d, 0, sizeof(*d) + sizeof(d->info[0]));
		d->src_offset = off;
		d->src_length = len;
		d->dest_count = 1;
		d->info[0].dest_fd = dst;
		d->info[0].dest_offset = off;
		if (ioctl(src, FIDEDUPERANGE, d) < 0 || d->info[0].status < 0)
			return;	/* (no dedupe here: the copy stays) */
		if (d->info[0].status == FILE_DEDUPE_RANGE_SAME)
			sh->bytes += d->info[0].bytes_deduped;
		off += len;
	}
	sh->files++;
}

/* Every regular file below dst whose twin below src has its size. */
static void share_dir(int src, int dst, int depth, struct share *sh)
{
	DIR *d;
	struct dirent *de;
	int dfd = fcntl(dst, F_DUPFD_CLOEXEC, 0);

	if (dfd < 0 || depth > DEPTH_MAX || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat ss, ds;
		int s, t;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dst, de->d_name, &ds, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(src, de->d_name, &ss, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (ds.st_mode & S_IFMT) != (ss.st_mode & S_IFMT))
			continue;
		if (S_ISDIR(ds.st_mode)) {
			s = openat(src, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			t = openat(dst, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s >= 0 && t >= 0)
				share_dir(s, t, depth + 1, sh);
		} else if (S_ISREG(ds.st_mode) && ds.st_size == ss.st_size && ds.st_size > 0) {
			s = openat(src, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			t = openat(dst, de->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			/* (a clone shares all of it already) */
			if (s >= 0 && t >= 0 && !lb_same_data(s, t, (uint64_t)ds.st_size))
				share_file(s, t, (uint64_t)ds.st_size, sh);
		} else {
			continue;
		}
		if (s >= 0)
			close(s);
		if (t >= 0)
			close(t);
	}
	closedir(d);
}

void lb_run_subvols_share(struct lb_run *run, int rootfd, const struct lb_btrfs_subvols *s)
{
	_cleanup_free_ size_t *parents = NULL;

	if (s->n == 0)
		return;
	parents = lb_btrfs_parents(s);
	for (size_t i = 0; i < s->n; i++) {
		const struct lb_btrfs_subvol *sv = &s->subvols[i];
		const struct lb_btrfs_subvol *p = parents[i] < s->n ? &s->subvols[parents[i]] : NULL;
		struct share sh = { 0 };
		int src, dst;

		if (!p)
			continue;
		src = lb_open_in_root(rootfd, p->path, O_RDONLY | O_DIRECTORY);
		dst = lb_open_in_root(rootfd, sv->path, O_RDONLY | O_DIRECTORY);
		if (src >= 0 && dst >= 0)
			share_dir(src, dst, 0, &sh);
		if (src >= 0)
			close(src);
		if (dst >= 0)
			close(dst);
		lb_run_say(run, "subvolume %s: %.1f MiB of %" PRIu64 " files shared with %s, its parent",
			   lb_esc(sv->path), (double)sh.bytes / 1048576.0, sh.files, lb_esc(p->path));
	}
}
