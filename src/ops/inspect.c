// SPDX-License-Identifier: GPL-3.0-or-later
/* One capture as list and status see it: its time, its size, whether its
 * manifest loads and its artifacts verify, and what its log says of its
 * last post-capture hooks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "ops/ops.h"

/* Bytes of the regular files in dir (a capture is flat). */
static uint64_t dir_size(const char *dir)
{
	uint64_t sum = 0;
	struct dirent *e;
	int dfd;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		struct stat st;

		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	}
	closedir(d);
	return sum;
}

/* The log's last word on post-capture hooks: the last "post-capture
 * hooks: ..." record, failed or not. */
static bool log_says_hooks_failed(const char *dir)
{
	_cleanup_free_ char *path = lb_asprintf("%s/%s", dir, LB_CAPTURE_LOG);
	_cleanup_free_ char *buf = NULL;
	const char *last = NULL, *p;

	if (lb_read_file(path, &buf, 16 * 1024 * 1024) < 0)
		return false;
	for (p = buf; (p = strstr(p, " post-capture hooks: ")); p++)
		last = p + strlen(" post-capture hooks: ");
	return last && strncmp(last, "failed", 6) == 0;
}

static time_t manifest_time(const struct lb_manifest *m)
{
	struct tm tm = { 0 };
	const char *end;

	if (!m->time)
		return 0;
	end = strptime(m->time, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return end && !*end ? timegm(&tm) : 0;
}

int lb_capture_inspect(const char *path, struct lb_capture_info *ci)
{
	_cleanup_free_ char *copy = lb_strdup(path);
	struct lb_manifest *m = NULL;
	unsigned seq;
	int r;

	memset(ci, 0, sizeof(*ci));
	ci->path = lb_strdup(path);
	ci->name = lb_strdup(basename(copy));
	ci->size = dir_size(path);
	r = lb_manifest_load(path, &m);
	if (r < 0) {
		ci->result = lb_strdup("damaged");
		ci->problem = lb_strdup(lb_errmsg());
		lb_gens_is_name(ci->name, &ci->time, &seq);
		return 0;
	}
	ci->loads = true;
	if (!lb_gens_is_name(ci->name, &ci->time, &seq))
		ci->time = manifest_time(m);
	r = lb_capture_verify(m, NULL, NULL, NULL, NULL);
	ci->verified = r >= 0;
	if (r < 0)
		ci->problem = lb_strdup(lb_errmsg());
	ci->hooks_failed = log_says_hooks_failed(path);
	ci->result = lb_strdup(!ci->verified	     ? "damaged"
			       : ci->hooks_failed ? "post-capture hook failed"
						  : "ok");
	lb_manifest_free(m);
	return 0;
}

void lb_capture_info_clear(struct lb_capture_info *ci)
{
	free(ci->name);
	free(ci->path);
	free(ci->result);
	free(ci->problem);
	memset(ci, 0, sizeof(*ci));
}
