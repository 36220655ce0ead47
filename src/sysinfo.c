// SPDX-License-Identifier: GPL-3.0-or-later
/* What this machine is using right now: mounted filesystems, active swap
 * and holders (device-mapper, md). A disk with any of these is never
 * written. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lifeboat.h"

static int load_mounts(struct lb_sysinfo *si)
{
	const char *path = getenv("LIFEBOAT_MOUNTINFO");
	_cleanup_fclose_ FILE *f = fopen(path ? path : "/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return lb_err(-errno, "cannot read /proc/self/mountinfo: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root target options [optional...] - fstype source superopts */
		char *save = NULL, *tok, *fields[6] = { 0 };
		int n = 0;
		unsigned maj, min;
		struct lb_mount *mt;
		char *dash;

		dash = strstr(line, " - ");
		for (tok = strtok_r(line, " \n", &save); tok && n < 6; tok = strtok_r(NULL, " \n", &save))
			fields[n++] = tok;
		if (n < 6 || sscanf(fields[2], "%u:%u", &maj, &min) != 2)
			continue;
		si->mounts = lb_realloc_array(si->mounts, si->n_mounts + 1, sizeof(*si->mounts));
		mt = &si->mounts[si->n_mounts++];
		mt->major = maj;
		mt->minor = min;
		mt->target = lb_unescape_octal(fields[4]);
		mt->options = lb_strdup(fields[5]);
		mt->source = NULL;
		if (dash) {
			char fstype[256], source[4096];

			if (sscanf(dash, " - %255s %4095s", fstype, source) == 2)
				mt->source = lb_unescape_octal(source);
		}
	}
	free(line);
	return 0;
}

static int load_swaps(struct lb_sysinfo *si)
{
	const char *path = getenv("LIFEBOAT_SWAPS");
	_cleanup_fclose_ FILE *f = fopen(path ? path : "/proc/swaps", "re");
	char *line = NULL;
	size_t cap = 0;
	bool first = true;

	if (!f)
		return 0; /* no swap support */
	while (getline(&line, &cap, f) > 0) {
		char name[4096];
		struct stat st;
		_cleanup_free_ char *dev = NULL;

		if (first) {
			first = false;
			continue;
		}
		if (sscanf(line, "%4095s", name) != 1)
			continue;
		dev = lb_unescape_octal(name);
		if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
			continue;
		si->swaps = lb_realloc_array(si->swaps, si->n_swaps + 1, sizeof(*si->swaps));
		si->swaps[si->n_swaps++] = st.st_rdev;
	}
	free(line);
	return 0;
}

int lb_sysinfo_load(struct lb_sysinfo **ret)
{
	struct lb_sysinfo *si = lb_zalloc(sizeof(*si));
	int r;

	r = load_mounts(si);
	if (r >= 0)
		r = load_swaps(si);
	if (r < 0) {
		lb_sysinfo_free(si);
		return r;
	}
	*ret = si;
	return 0;
}

void lb_sysinfo_free(struct lb_sysinfo *si)
{
	if (!si)
		return;
	for (size_t i = 0; i < si->n_mounts; i++) {
		free(si->mounts[i].target);
		free(si->mounts[i].options);
		free(si->mounts[i].source);
	}
	free(si->mounts);
	free(si->swaps);
	free(si);
}

const struct lb_mount *lb_sysinfo_find_mount(const struct lb_sysinfo *si, unsigned major,
					     unsigned minor)
{
	const struct lb_mount *best = NULL;

	/* prefer the shortest mount point: "/" over a bind mount elsewhere */
	for (size_t i = 0; i < si->n_mounts; i++)
		if (si->mounts[i].major == major && si->mounts[i].minor == minor &&
		    (!best || strlen(si->mounts[i].target) < strlen(best->target)))
			best = &si->mounts[i];
	return best;
}

bool lb_sysinfo_is_swap(const struct lb_sysinfo *si, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < si->n_swaps; i++)
		if (major(si->swaps[i]) == major && minor(si->swaps[i]) == minor)
			return true;
	return false;
}

static int read_devnum(const char *sysdir, unsigned *maj, unsigned *min)
{
	_cleanup_free_ char *p = lb_asprintf("%s/dev", sysdir), *s = NULL;
	int r = lb_read_line(p, &s);

	if (r < 0)
		return r;
	return sscanf(s, "%u:%u", maj, min) == 2 ? 0 : -EINVAL;
}

static bool has_holders(const char *sysdir)
{
	_cleanup_free_ char *p = lb_asprintf("%s/holders", sysdir);
	DIR *d = opendir(p);
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			any = true;
			break;
		}
	closedir(d);
	return any;
}

/* Checks one block device (disk or partition) by its sysfs directory. */
static char *node_in_use(const struct lb_sysinfo *si, const char *sysdir, const char *name)
{
	unsigned maj, min;
	const struct lb_mount *mt;

	if (read_devnum(sysdir, &maj, &min) < 0)
		return NULL;
	mt = lb_sysinfo_find_mount(si, maj, min);
	if (mt)
		return lb_asprintf("%s is mounted on %s", name, mt->target);
	if (lb_sysinfo_is_swap(si, maj, min))
		return lb_asprintf("%s is active swap", name);
	if (has_holders(sysdir))
		return lb_asprintf("%s is held by another device (device-mapper, md or similar)", name);
	return NULL;
}

int lb_disk_in_use(const struct lb_sysinfo *si, const char *sysname, char **ret_reason)
{
	_cleanup_free_ char *sysdir = lb_asprintf("/sys/class/block/%s", sysname);
	char *why;
	DIR *d;
	struct dirent *de;

	why = node_in_use(si, sysdir, sysname);
	if (why) {
		*ret_reason = why;
		return 1;
	}
	d = opendir(sysdir);
	if (!d)
		return lb_err(-errno, "%s: cannot read %s: %s", sysname, sysdir, strerror(errno));
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL, *pf = NULL;

		if (strncmp(de->d_name, sysname, strlen(sysname)) != 0)
			continue;
		sub = lb_asprintf("%s/%s", sysdir, de->d_name);
		pf = lb_asprintf("%s/partition", sub);
		if (access(pf, F_OK) < 0)
			continue;
		why = node_in_use(si, sub, de->d_name);
		if (why) {
			closedir(d);
			*ret_reason = why;
			return 1;
		}
	}
	closedir(d);
	*ret_reason = NULL;
	return 0;
}

bool lb_mountpoint_is_critical(const char *target)
{
	static const char *const critical[] = {
		"/", "/boot", "/boot/efi", "/efi", "/usr", "/var", "/etc",
	};

	if (!target)
		return false;
	for (size_t i = 0; i < LB_ARRAY_SIZE(critical); i++)
		if (strcmp(target, critical[i]) == 0)
			return true;
	return false;
}

bool lb_block_has_holders(const char *sysname)
{
	_cleanup_free_ char *dir = lb_asprintf("/sys/class/block/%s", sysname);

	return has_holders(dir);
}
