// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Archive data, inode flags (chattr's): a regular file's or a directory's
 * flags travel in its entry as the pseudo attribute FLAGS_XATTR
 * (archive-int.h), chattr's letters, read with FS_IOC_GETFLAGS and set with
 * FS_IOC_SETFLAGS, not by libarchive (ARCHIVE_EXTRACT_FFLAGS): it sets a
 * file's nocow after its data, which btrfs ignores then without a word, it
 * drops every flag of a file when the filesystem refuses one, and says
 * nothing when it fails.
 *
 * The flags carried are those an admin sets and a filesystem keeps (the
 * table below). Left out: the project-inherit flag (P, carried with the
 * project ID, archive-project.c), and the flags that say how the
 * filesystem stores the file rather than what was asked of it, which no
 * one sets (extents e, indexed I, inline data N, encrypted E, verity V,
 * huge file h).
 *
 * When each is set, on extraction:
 *   - early, as soon as the file or directory is made, before any data or
 *     any entry inside it: how its data is stored (nocow C, compression c
 *     and m on btrfs, which take effect only on an empty file, and pass to
 *     what is made in a directory) and casefold F (only on an empty
 *     directory). What a file took on from its directory that its entry
 *     does not have is taken off again then, while it is still empty.
 *   - late, once the whole archive is out (data, xattrs, ACLs, times,
 *     modes, the directories' fixups): every other flag. Immutable and
 *     append-only would refuse the rest of the extraction (a hard link to
 *     the file, a file made in the directory, the directory's times), and
 *     the synchronous ones would slow it down and pass to what is made in a
 *     directory.
 * A flag the filesystem does not keep (nocow on xfs or ext4, compression
 * on ext4) is a warning naming the file and the flag, not a failure; the
 * first few are named, then counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/fs.h>

#include "base/base.h"
#include "data/archive-int.h"

enum when { EARLY, LATE };

static const struct flag {
	char letter;
	uint32_t bit;
	const char *name;
	enum when when;
} flags[] = {
	{ 'C', FS_NOCOW_FL, "no copy on write", EARLY },
	{ 'c', FS_COMPR_FL, "compress", EARLY },
	{ 'm', FS_NOCOMP_FL, "no compression", EARLY },
	{ 'F', FS_CASEFOLD_FL, "casefold", EARLY },
	{ 'A', FS_NOATIME_FL, "no atime updates", LATE },
	{ 'd', FS_NODUMP_FL, "no dump", LATE },
	{ 's', FS_SECRM_FL, "secure deletion", LATE },
	{ 'u', FS_UNRM_FL, "undeletable", LATE },
	{ 't', FS_NOTAIL_FL, "no tail-merging", LATE },
	{ 'T', FS_TOPDIR_FL, "top of directory hierarchy", LATE },
	{ 'x', FS_DAX_FL, "direct access", LATE },
	{ 'j', FS_JOURNAL_DATA_FL, "data journalling", LATE },
	{ 'S', FS_SYNC_FL, "synchronous updates", LATE },
	{ 'D', FS_DIRSYNC_FL, "synchronous directory updates", LATE },
	/* (last: once either is set, no other flag can be) */
	{ 'a', FS_APPEND_FL, "append only", LATE },
	{ 'i', FS_IMMUTABLE_FL, "immutable", LATE },
};

static uint32_t mask_of(enum when w)
{
	uint32_t m = 0;

	for (size_t i = 0; i < LB_ARRAY_SIZE(flags); i++)
		if (flags[i].when == w)
			m |= flags[i].bit;
	return m;
}

uint32_t lb_ar_flags_carried(void)
{
	return mask_of(EARLY) | mask_of(LATE);
}

int lb_ar_flags_text(uint32_t bits, char *buf, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < LB_ARRAY_SIZE(flags); i++)
		if ((bits & flags[i].bit) && k + 1 < n)
			buf[k++] = flags[i].letter;
	if (n)
		buf[k < n ? k : n - 1] = '\0';
	return (int)k;
}

int lb_ar_flags_get(int fd, uint32_t *ret)
{
	unsigned int v;

	*ret = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &v) < 0)
		return -errno;	/* (a filesystem without them: vfat, tmpfs) */
	*ret = v & lb_ar_flags_carried();
	return 0;
}

int lb_ar_flags_parse(const void *val, size_t len, uint32_t *ret, char *unknown, size_t n)
{
	const char *p = val;
	size_t u = 0;

	*ret = 0;
	if (n)
		unknown[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		size_t j;

		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
			return -EBADMSG;
		for (j = 0; j < LB_ARRAY_SIZE(flags) && flags[j].letter != p[i]; j++)
			;
		if (j < LB_ARRAY_SIZE(flags))
			*ret |= flags[j].bit;
		else if (u + 1 < n)
			unknown[u++] = p[i], unknown[u] = '\0';
	}
	return 0;
}

/* ---- extraction --------------------------------------------------------- */

/* warnings named, then counted */
#define FLAGS_NAMED 10

static void warn(struct lb_ar_flagset *s, const char *path, const struct flag *f, const char *why)
{
	if (++s->n_warned <= FLAGS_NAMED)
		lb_warn("%s/%s: inode flag %c (%s) not set: %s", s->root, path, f->letter, f->name,
			why);
}

static const char *why_not(int e)
{
	if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL)
		return "the filesystem does not keep it";
	return strerror(e);
}

/* Makes fd's flags within mask what want says (the others kept), one at a
 * time when all at once is refused (xfs refuses nocow and the immutable
 * flag with it), each one it cannot set said, and read back: btrfs takes
 * nocow on a file that has data without a word, and keeps it off. */
static unsigned int set_flags(struct lb_ar_flagset *s, int fd, const char *path, uint32_t want,
			      uint32_t mask)
{
	unsigned int cur, next, got;
	uint32_t failed = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &cur) < 0) {
		int e = errno;

		for (size_t i = 0; i < LB_ARRAY_SIZE(flags); i++)
			if (want & mask & flags[i].bit)
				warn(s, path, &flags[i], why_not(e));
		return 0;
	}
	next = (cur & ~mask) | (want & mask);
	if (next == cur)
		return cur;
	if (ioctl(fd, FS_IOC_SETFLAGS, &next) < 0) {
		for (size_t i = 0; i < LB_ARRAY_SIZE(flags); i++) {
			unsigned int one = (cur & ~flags[i].bit) | (next & flags[i].bit);

			if (one == cur || !(mask & flags[i].bit))
				continue;
			if (ioctl(fd, FS_IOC_SETFLAGS, &one) == 0) {
				cur = one;
				continue;
			}
			failed |= flags[i].bit;
			/* (a flag inherited that cannot be taken off: no warning
			 * for what the entry does not ask for) */
			if (want & flags[i].bit)
				warn(s, path, &flags[i], why_not(errno));
		}
	}
	if (ioctl(fd, FS_IOC_GETFLAGS, &got) < 0)
		return cur;
	for (size_t i = 0; i < LB_ARRAY_SIZE(flags); i++)
		if ((want & mask & flags[i].bit) && !(got & flags[i].bit) &&
		    !(failed & flags[i].bit))
			warn(s, path, &flags[i], "the filesystem did not keep it");
	return got;
}

/* An entry extracted, relative to the extraction's root (the working
 * directory): resolved inside it, never through a link
 * (lb_ar_open_entry); -1 with errno set when it cannot be opened. */
static int open_entry(const char *path)
{
	int fd = lb_ar_open_entry(AT_FDCWD, path);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

void lb_ar_flags_early(struct lb_ar_flagset *s, const char *path, bool dir, uint32_t want)
{
	int fd;

	/* (nothing to set, and no directory so far passes a flag on: the
	 * first entry, the root, is looked at whatever it records) */
	if (!(want & mask_of(EARLY)) && !s->inheriting && s->looked)
		return;
	s->looked = true;
	fd = open_entry(path);
	if (fd < 0) {
		for (size_t i = 0; i < LB_ARRAY_SIZE(flags); i++)
			if (want & flags[i].bit & mask_of(EARLY))
				warn(s, path, &flags[i], strerror(errno));
		return;
	}
	if ((set_flags(s, fd, path, want, mask_of(EARLY)) & mask_of(EARLY)) && dir)
		s->inheriting = true;
	close(fd);
}

void lb_ar_flags_defer(struct lb_ar_flagset *s, const char *path, uint32_t want)
{
	if (!(want & mask_of(LATE)))
		return;
	s->v = lb_realloc_array(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n].path = lb_strdup(path);
	s->v[s->n++].want = want;
}

void lb_ar_flags_finish(struct lb_ar_flagset *s)
{
	/* (the deepest first: nothing in this list needs its directory
	 * writable, but a restore that went on after it would) */
	for (size_t i = s->n; i-- > 0;) {
		int fd = open_entry(s->v[i].path);

		if (fd < 0) {
			int e = errno;

			for (size_t j = 0; j < LB_ARRAY_SIZE(flags); j++)
				if (s->v[i].want & flags[j].bit & mask_of(LATE))
					warn(s, s->v[i].path, &flags[j], strerror(e));
			continue;
		}
		set_flags(s, fd, s->v[i].path, s->v[i].want, mask_of(LATE));
		close(fd);
	}
	if (s->n_warned > FLAGS_NAMED)
		lb_warn("%s: %u inode flags not set in all (the first %d named above)", s->root,
			s->n_warned, FLAGS_NAMED);
}

void lb_ar_flagset_clear(struct lb_ar_flagset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
