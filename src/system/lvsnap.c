// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * LVM snapshots for a live capture (what VSS is to ASR): a filesystem
 * mounted read-write on a logical volume is imaged from a snapshot of it,
 * taken while lvm suspends the volume (the filesystem frozen, its journal
 * flushed), so the image is of one moment of a running system. The
 * snapshot is named lifeboat-snap-<LV>, sized min(10% of the origin, the
 * group's free space), and removed after the capture; one an interrupted
 * capture left is removed by the next (lb_lvsnap_cleanup). Everything
 * through the lvm program with argv arrays.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/spawn.h"
#include "system/system.h"

#define LV_NAME_MAX 127		/* lvm's limit on a name */

/* s without the blanks around it (in place) */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* lvm ARGV...: its exit status; its stdout (with stderr when both) into
 * *ret_out when that is not NULL */
static int lvm(char *const argv[], bool both, char **ret_out)
{
	struct lb_spawn_opts o = {
		.quiet = true, .ret_out = ret_out, .also_stderr = both, .stdin_fd = -1,
		.timeout = 300,
	};

	return lb_spawn(argv, &o);
}

/* the last line of lvm's words, for a message */
static const char *last_line(char *out)
{
	char *l;

	if (!out)
		return "";
	while (*out && out[strlen(out) - 1] == '\n')
		out[strlen(out) - 1] = '\0';
	l = strrchr(out, '\n');
	return trim(l ? l + 1 : out);
}

/* the group's free extents and extent size (512-byte sectors) */
static int vg_free(const char *vg, uint64_t *ret_free, uint64_t *ret_extent)
{
	char *argv[] = { "lvm", "vgs", "--noheadings", "--nosuffix", "--units", "s",
			 "--separator", "|", "-o", "vg_free_count,vg_extent_size", (char *)vg, NULL };
	_cleanup_free_ char *out = NULL;
	char *sep;
	int r = lvm(argv, false, &out);

	if (r != 0 || !out || !(sep = strchr(out, '|')))
		return lb_err(r < 0 ? r : -EIO, "volume group %s: lvm vgs gave no free space", vg);
	*sep = '\0';
	if (lb_parse_u64(trim(out), ret_free) < 0 || lb_parse_u64(trim(sep + 1), ret_extent) < 0 ||
	    *ret_extent == 0)
		return lb_err(-EIO, "volume group %s: lvm vgs: cannot read '%s|%s'", vg, out, sep + 1);
	return 0;
}

/* the snapshot's device node, as lvm names it */
static int snap_path(struct lb_lvsnap *s)
{
	_cleanup_free_ char *full = lb_asprintf("%s/%s", s->vg, s->name);
	char *argv[] = { "lvm", "lvs", "--noheadings", "-o", "lv_dm_path", full, NULL };
	_cleanup_free_ char *out = NULL;
	struct stat st;
	int r = lvm(argv, false, &out);

	if (r != 0 || !out || !*trim(out))
		return lb_err(r < 0 ? r : -EIO, "snapshot %s: lvm lvs gave no device", full);
	s->path = lb_strdup(trim(out));
	if (stat(s->path, &st) < 0 || !S_ISBLK(st.st_mode))
		return lb_err(-ENODEV, "snapshot %s: %s is no block device", full, s->path);
	return 0;
}

int lb_lvsnap_take(const char *vg, const char *lv, uint64_t lv_sectors, struct lb_lvsnap **ret,
		   char **ret_why)
{
	_cleanup_free_ char *origin = lb_asprintf("%s/%s", vg, lv), *out = NULL, *n = NULL;
	uint64_t free_ext, ext, want;
	struct lb_lvsnap *s;
	int r;

	*ret = NULL;
	*ret_why = NULL;
	if (strlen(LB_LVSNAP_PREFIX) + strlen(lv) > LV_NAME_MAX) {
		*ret_why = lb_asprintf("the name %s%s would be longer than lvm allows", LB_LVSNAP_PREFIX, lv);
		return 1;
	}
	r = vg_free(vg, &free_ext, &ext);
	if (r < 0)
		return r;
	/* a tenth of the origin, at least one extent, at most what is free */
	want = (lv_sectors / 10 + ext - 1) / ext;
	if (want == 0)
		want = 1;
	if (want > free_ext)
		want = free_ext;
	if (want == 0) {
		*ret_why = lb_asprintf("volume group %s has no free extents for a snapshot", vg);
		return 1;
	}
	s = lb_zalloc(sizeof(*s));
	s->vg = lb_strdup(vg);
	s->name = lb_asprintf("%s%s", LB_LVSNAP_PREFIX, lv);
	s->sectors = want * ext;
	n = lb_asprintf("%" PRIu64, want);
	{
		char *argv[] = { "lvm", "lvcreate", "-q", "--snapshot", "-n", s->name, "-l", n, origin,
				 NULL };

		r = lvm(argv, true, &out);
	}
	if (r != 0) {
		/* nothing made: a snapshot target the kernel lacks, a
		 * clustered or full group... archived instead */
		*ret_why = lb_asprintf("lvm lvcreate --snapshot of %s failed: %s", origin, last_line(out));
		free(s->vg);
		free(s->name);
		free(s);
		return r < 0 && r != -ENOENT && r != -EINTR && r != -ETIMEDOUT ? r : 1;
	}
	lb_debug("lvsnap", "took %s/%s of %s: %" PRIu64 " extents of %" PRIu64 " sectors", vg, s->name,
		 origin, want, ext);
	r = snap_path(s);
	if (r < 0) {
		_cleanup_free_ char *msg = lb_strdup(lb_errmsg());

		lb_lvsnap_drop(s);
		return lb_err(r, "%s", msg);
	}
	*ret = s;
	return 0;
}

int lb_lvsnap_valid(const struct lb_lvsnap *s)
{
	_cleanup_free_ char *full = lb_asprintf("%s/%s", s->vg, s->name), *out = NULL;
	char *argv[] = { "lvm", "lvs", "--noheadings", "-o", "lv_attr", full, NULL };
	const char *attr;
	int r = lvm(argv, false, &out);

	if (r != 0 || !out)
		return lb_err(r < 0 ? r : -EIO, "snapshot %s: lvm lvs gave no state", full);
	attr = trim(out);
	/* the fifth letter is the state: a (active) is a snapshot that stayed
	 * whole; I (filled up), S, m, M, X, - and the rest are not */
	if (strlen(attr) < 5)
		return lb_err(-EIO, "snapshot %s: lvm lvs: attributes '%s'", full, attr);
	return attr[4] == 'a';
}

static int remove_lv(const char *vg, const char *name)
{
	_cleanup_free_ char *full = lb_asprintf("%s/%s", vg, name), *out = NULL;
	char *argv[] = { "lvm", "lvremove", "-q", "-f", full, NULL };
	int r = lvm(argv, true, &out);

	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "cannot remove the snapshot %s (lvm lvremove: %s); "
						"remove it with 'lvremove %s'",
			      full, last_line(out), full);
	return 0;
}

int lb_lvsnap_drop(struct lb_lvsnap *s)
{
	int r = 0;

	if (!s)
		return 0;
	/* (the node closed first: an open snapshot is not removed) */
	if (s->vg && s->name)
		r = remove_lv(s->vg, s->name);
	if (r >= 0)
		lb_debug("lvsnap", "removed %s/%s", s->vg, s->name);
	free(s->vg);
	free(s->name);
	free(s->path);
	free(s);
	return r;
}

int lb_lvsnap_cleanup(void (*removed)(void *ud, const char *vg, const char *lv), void *ud)
{
	char *argv[] = { "lvm", "lvs", "-a", "--noheadings", "--separator", "|", "-o",
			 "vg_name,lv_name,origin", NULL };
	_cleanup_free_ char *out = NULL;
	char *save = NULL;
	int n = 0, r, first = 0;

	if (access("/dev/mapper/control", F_OK) < 0)
		return 0;	/* no device-mapper: no snapshot can be there */
	r = lvm(argv, false, &out);
	if (r == -ENOENT || !out)
		return 0;	/* no lvm here */
	if (r != 0)
		return lb_err(r < 0 ? r : -EIO, "lvm lvs failed: cannot look for snapshots an "
						"interrupted capture left");
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *vg = trim(l), *lv = strchr(vg, '|'), *origin;

		if (!lv || !(origin = strchr(lv + 1, '|')))
			continue;
		*lv++ = '\0';
		*origin++ = '\0';
		/* ours: the name, and a snapshot (it has an origin) */
		if (strncmp(lv, LB_LVSNAP_PREFIX, strlen(LB_LVSNAP_PREFIX)) != 0 || !*trim(origin))
			continue;
		r = remove_lv(vg, lv);
		if (r < 0) {
			first = first ? first : r;
			continue;
		}
		if (removed)
			removed(ud, vg, lv);
		n++;
	}
	return first ? first : n;
}
