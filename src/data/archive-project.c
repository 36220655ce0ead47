// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Archive data, project IDs (xfs and ext4 project quotas): a file's or a
 * directory's project ID and its "new files inherit it" flag travel in its
 * entry as the pseudo attribute PROJECT_XATTR (archive-int.h), read and set
 * with FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR. A directory's is set after
 * every entry is extracted, so that what is extracted into it keeps its own
 * (a file with no project in a directory that passes one on stays without).
 *
 * Each is set, and compared, through lb_ar_open_entry: below the tree's
 * root, never through a link. A directory's is set by its name as
 * recorded ("dir/") once every entry is out, and a later entry may have
 * put a link in its place (libarchive removes an empty directory to make
 * it): opened with plain open() and O_NOFOLLOW, the trailing slash
 * followed that link out of the restored filesystem
 * (tests/data/hostile.sh, project-symlink). The directories above it
 * cannot have become links (libarchive removes no directory that holds
 * anything and extracts nothing through a link), but they are resolved
 * below the root all the same, as every file in a restored filesystem.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/fs.h>

#include "base/base.h"
#include "data/archive-int.h"

int lb_ar_project_get(int fd, char *buf, size_t n)
{
	struct fsxattr fsx;
	int k;

	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
		return 0;	/* (a filesystem without project IDs) */
	if (!fsx.fsx_projid && !(fsx.fsx_xflags & FS_XFLAG_PROJINHERIT))
		return 0;
	k = snprintf(buf, n, "%" PRIu32 "%s", (uint32_t)fsx.fsx_projid,
		     (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) ? " inherit" : "");
	return k > 0 && (size_t)k < n ? k : 0;
}

int lb_ar_project_parse(const void *val, size_t len, struct lb_ar_project *ret)
{
	char text[32], *end;
	unsigned long long id;

	if (len == 0 || len >= sizeof(text))
		return -EBADMSG;
	memcpy(text, val, len);
	text[len] = '\0';
	if (text[0] < '0' || text[0] > '9')
		return -EBADMSG;
	errno = 0;
	id = strtoull(text, &end, 10);
	if (errno || id > UINT32_MAX || (*end && strcmp(end, " inherit") != 0))
		return -EBADMSG;
	ret->set = true;
	ret->id = (uint32_t)id;
	ret->inherit = *end != '\0';
	return 0;
}

int lb_ar_project_apply(int rootfd, const char *path, const struct lb_ar_project *p)
{
	int fd = lb_ar_open_entry(rootfd, path);
	struct fsxattr fsx;
	int r = 0;

	if (fd < 0)
		return lb_err(fd, "%s: cannot open it to set its project ID: %s", path,
			      strerror(-fd));
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0) {
		r = lb_err(-errno, "%s: cannot read its project ID: %s", path, strerror(errno));
	} else {
		fsx.fsx_projid = p->id;
		if (p->inherit)
			fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
		else
			fsx.fsx_xflags &= ~(uint32_t)FS_XFLAG_PROJINHERIT;
		if (ioctl(fd, FS_IOC_FSSETXATTR, &fsx) < 0)
			r = lb_err(-errno, "%s: cannot set its project ID %" PRIu32 ": %s", path, p->id,
				   strerror(errno));
	}
	close(fd);
	return r;
}

void lb_ar_projects_defer(struct lb_ar_projects *l, const char *path, const struct lb_ar_project *p)
{
	l->v = lb_realloc_array(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].path = lb_strdup(path);
	l->v[l->n++].p = *p;
}

int lb_ar_projects_apply(struct lb_ar_projects *l, int rootfd)
{
	int r = 0;

	for (size_t i = 0; i < l->n && r >= 0; i++)
		r = lb_ar_project_apply(rootfd, l->v[i].path, &l->v[i].p);
	return r;
}

void lb_ar_projects_clear(struct lb_ar_projects *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	*l = (struct lb_ar_projects){ 0 };
}

bool lb_ar_project_matches(int rootfd, const char *path, const void *val, size_t len)
{
	struct lb_ar_project want = { 0 };
	char got[32];
	int fd = lb_ar_open_entry(rootfd, path);
	int k;

	if (fd < 0)
		return false;
	k = lb_ar_project_get(fd, got, sizeof(got));
	close(fd);
	if (lb_ar_project_parse(val, len, &want) < 0)
		return false;
	return (size_t)k == len && memcmp(got, val, len) == 0;
}
