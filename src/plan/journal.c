// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * What a restore began and did not finish (plan.h): before a volume's first
 * step its id is added to LOG_DIR/unfinished-<capture id>, after its last
 * step it is taken out. A restore killed halfway leaves the volume there:
 * a filesystem made but not yet filled (its archive half extracted, or
 * mkfs cut short) looks like one to keep once its disk's table is written,
 * so the next plan of the same capture makes it again. The file is the
 * only state a restore keeps between runs, and goes when a restore ends
 * with nothing unfinished.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "plan/plan.h"

static char *journal_path(const struct lb_manifest *m)
{
	return lb_asprintf("%s/unfinished-%s", lb_log_dir(), m->id ? m->id : "none");
}

int lb_journal_load(const struct lb_manifest *m, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *path = journal_path(m), *buf = NULL;
	char **ids = NULL, *save = NULL;
	size_t n = 0;
	int r = lb_read_file(path, &buf, 1 << 20);

	*ret = NULL;
	*ret_n = 0;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ids = lb_realloc_array(ids, n + 1, sizeof(*ids));
		ids[n++] = lb_strdup(l);
	}
	*ret = ids;
	*ret_n = n;
	return 0;
}

static int save(const struct lb_manifest *m, char **ids, size_t n)
{
	_cleanup_free_ char *path = journal_path(m);
	_cleanup_free_ char *tmp = lb_asprintf("%s.new", path);
	size_t len = 0;
	char *buf;
	int r;

	if (n == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			return lb_err(-errno, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (lb_mkdir_p(lb_log_dir(), 0755) < 0)
		return lb_err(-errno, "%s: %s", lb_log_dir(), strerror(errno));
	for (size_t i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	buf = lb_zalloc(len + 1);
	for (size_t i = 0; i < n; i++) {
		strcat(buf, ids[i]);
		strcat(buf, "\n");
	}
	/* written whole and renamed into place: a kill leaves the old or the new */
	r = lb_write_file(tmp, buf, len, 0600);
	free(buf);
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		return lb_err(r, "%s: %s", path, strerror(-r));
	return 0;
}

int lb_journal_mark(const struct lb_manifest *m, const char *id, bool begun)
{
	char **ids = NULL;
	size_t n = 0, w = 0;
	bool there = false;
	int r = lb_journal_load(m, &ids, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0) {
			there = true;
			if (!begun) {
				free(ids[i]);
				continue;
			}
		}
		ids[w++] = ids[i];
	}
	n = w;
	if (begun == there) {	/* as it is already: nothing to write */
		for (size_t i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		return 0;
	}
	if (begun) {
		ids = lb_realloc_array(ids, n + 1, sizeof(*ids));
		ids[n++] = lb_strdup(id);
	}
	r = save(m, ids, n);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return r;
}

bool lb_journal_has(char *const *ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}
