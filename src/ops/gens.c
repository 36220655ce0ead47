// SPDX-License-Identifier: GPL-3.0-or-later
/* Generations: a directory of captures, each DIR/<UTC time>/ named
 * YYYYMMDDThhmmssZ (with -N when two fall in one second), and DIR/latest, a
 * symbolic link to the newest good one.
 *
 * Nothing in DIR looks like a capture unless it is a whole, verified one:
 * a capture is written as .NAME.partial.PID and renamed to NAME only after
 * it verified; a generation being removed is first renamed to
 * .NAME.removing.PID; a new 'latest' is made as .latest.PID and renamed over
 * the old one. All are hidden, recognisable and removed by the next run,
 * which holds DIR/.lock (flock) for its whole life. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "ops/ops.h"

bool lb_gens_is_name(const char *name, time_t *ret_time, unsigned *ret_seq)
{
	struct tm tm = { 0 };
	const char *end;
	unsigned seq = 1;

	if (strlen(name) < 16)
		return false;
	for (int i = 0; i < 16; i++) {
		bool digit = name[i] >= '0' && name[i] <= '9';

		if ((i == 8 && name[i] != 'T') || (i == 15 && name[i] != 'Z') ||
		    (i != 8 && i != 15 && !digit))
			return false;
	}
	end = strptime(name, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || end != name + 16)
		return false;
	if (*end) {
		uint32_t v;

		if (end[0] != '-' || end[1] < '1' || end[1] > '9' || lb_parse_u32(end + 1, &v) < 0 ||
		    v < 2 || v > 9999)
			return false;
		seq = v;
	}
	if (ret_time)
		*ret_time = timegm(&tm);
	if (ret_seq)
		*ret_seq = seq;
	return true;
}

bool lb_gens_is_partial(const char *name)
{
	return name[0] == '.' && (strstr(name, ".partial.") || strstr(name, ".removing.") ||
				  strncmp(name, ".latest.", 8) == 0);
}

static int cmp_gen(const void *a, const void *b)
{
	const struct lb_generation *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

char *lb_gens_latest(const char *dir)
{
	_cleanup_free_ char *link = lb_asprintf("%s/latest", dir);
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* it is written as a bare name; a path is taken by its last part */
	return lb_strdup(strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf);
}

int lb_gens_list(const char *dir, struct lb_generation **ret, size_t *ret_n)
{
	_cleanup_free_ char *latest = lb_gens_latest(dir);
	struct lb_generation *g = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	*ret = NULL;
	*ret_n = 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : lb_err(-errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		struct lb_generation x = { 0 };
		_cleanup_free_ char *path = NULL;
		struct stat st;

		if (!lb_gens_is_name(e->d_name, &x.time, &x.seq))
			continue;
		path = lb_asprintf("%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		x.name = lb_strdup(e->d_name);
		x.path = TAKE_PTR(path);
		x.latest = latest && strcmp(latest, x.name) == 0;
		g = lb_realloc_array(g, n + 1, sizeof(*g));
		g[n++] = x;
	}
	closedir(d);
	if (n)
		qsort(g, n, sizeof(*g), cmp_gen);
	*ret = g;
	*ret_n = n;
	return 0;
}

void lb_gens_free(struct lb_generation *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].name);
		free(g[i].path);
	}
	free(g);
}

int lb_gens_new_name(const char *dir, char **ret)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i < 10000; i++) {
		char *name = i == 1 ? lb_strdup(stamp) : lb_asprintf("%s-%d", stamp, i);
		_cleanup_free_ char *path = lb_asprintf("%s/%s", dir, name);
		struct stat st;

		if (lstat(path, &st) < 0 && errno == ENOENT) {
			*ret = name;
			return 0;
		}
		free(name);
	}
	return lb_err(-EEXIST, "%s: no free name for a capture at %s", dir, stamp);
}

int lb_gens_set_latest(const char *dir, const char *name)
{
	_cleanup_free_ char *tmp = lb_asprintf("%s/.latest.%d", dir, (int)getpid());
	_cleanup_free_ char *link = lb_asprintf("%s/latest", dir);

	unlink(tmp);
	if (symlink(name, tmp) < 0)
		return lb_err(-errno, "%s: cannot make a link: %s", tmp, strerror(errno));
	if (rename(tmp, link) < 0) {
		int r = -errno;

		unlink(tmp);
		return lb_err(r, "%s: cannot update: %s", link, strerror(-r));
	}
	return 0;
}

int lb_gens_lock(const char *dir, int *ret_fd)
{
	_cleanup_free_ char *path = lb_asprintf("%s/.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return lb_err(-errno, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;

		close(fd);
		if (r == -EWOULDBLOCK)
			return lb_err(-EBUSY, "%s: another capture into %s is running", path, dir);
		return lb_err(r, "%s: cannot lock: %s", path, strerror(-r));
	}
	*ret_fd = fd;
	return 0;
}

/* Removes every entry of dir that leftover() says an interrupted run left
 * (why: for the debug line; *lockfd: the lock it took on it, held while it
 * is removed); the number removed. */
static int sweep(const char *dir,
		 bool (*leftover)(int dfd, const char *e, const void *ud, char **why, int *lockfd),
		 const void *ud)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : lb_err(-errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		_cleanup_free_ char *path = NULL, *why = NULL;
		int lockfd = -1;

		if (!leftover(dirfd(d), e->d_name, ud, &why, &lockfd))
			continue;
		path = lb_asprintf("%s/%s", dir, e->d_name);
		lb_debug("ops", "removing %s, left by %s", path, why);
		if (lb_rm_rf(path) >= 0)
			n++;
		if (lockfd >= 0)
			close(lockfd);
	}
	closedir(d);
	return n;
}

/* A partial directory .NAME.partial.PID.TAG (capture.c, lb_held_mkdir) or
 * an older lifeboat's .NAME.partial.PID: 0 when e is none (of NAME, when
 * not NULL), else 1 with its PID, and whether it has the tag. */
static int partial_of(const char *e, const char *name, long *ret_pid, bool *ret_tagged)
{
	const char *p = NULL, *num;
	char *end;
	long pid;

	if (e[0] != '.')
		return 0;
	if (name) {
		if (strncmp(e + 1, name, strlen(name)) != 0)
			return 0;
		p = e + 1 + strlen(name);
		if (strncmp(p, ".partial.", 9) != 0)
			return 0;
	} else {
		/* (the last: NAME may hold one) */
		for (const char *q = strstr(e, ".partial."); q; q = strstr(q + 1, ".partial."))
			p = q;
		if (!p)
			return 0;
	}
	num = p + 9;
	errno = 0;
	pid = strtol(num, &end, 10);
	if (errno || end == num || pid <= 0 || (*end && (*end != '.' || !lb_held_is_tag(end + 1))))
		return 0;
	*ret_pid = pid;
	*ret_tagged = *end != '\0';
	return 1;
}

/* (the lock held: no capture into dir runs but one --output dir/NAME,
 * whose partial directory is held) */
static bool any_partial(int dfd, const char *e, const void *ud, char **why, int *lockfd)
{
	long pid;
	bool tagged;

	(void)ud;
	if (!lb_gens_is_partial(e))
		return false;
	if (partial_of(e, NULL, &pid, &tagged) && tagged && lb_held_take(dfd, e, lockfd) != 1)
		return false;
	*why = lb_strdup("an interrupted run");
	return true;
}

int lb_gens_clean_partial(const char *dir)
{
	return sweep(dir, any_partial, NULL);
}

struct dead {
	const char *name;
	char *held;		/* a partial a running capture holds */
};

/* a partial of name whose capture is gone: it holds the lock on it no
 * more, or (an older lifeboat's, with no lock) its PID is not running
 * here (a PID taken again since is running: that partial stays) */
static bool dead_partial(int dfd, const char *e, const void *ud, char **why, int *lockfd)
{
	struct dead *dd = (struct dead *)ud;
	long pid;
	bool tagged;
	int r;

	if (!partial_of(e, dd->name, &pid, &tagged))
		return false;
	if (tagged) {
		r = lb_held_take(dfd, e, lockfd);
		if (r == 0 && !dd->held)
			dd->held = lb_strdup(e);
		if (r != 1)
			return false;
	} else if (pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
		return false;
	}
	*why = lb_asprintf("process %ld, gone", pid);
	return true;
}

int lb_gens_clean_dead_partial(const char *dir, const char *name, char **ret_held)
{
	struct dead dd = { .name = name };
	int r = sweep(dir, dead_partial, &dd);

	*ret_held = dd.held;
	return r;
}

/* Good enough to count among the kept: it loads, and every artifact is
 * there at its recorded size. */
static bool good(const char *path)
{
	struct lb_manifest *m = NULL;
	bool ok;

	if (lb_manifest_load(path, &m) < 0)
		return false;
	ok = lb_capture_check_present(m) >= 0;
	lb_manifest_free(m);
	return ok;
}

static int remove_gen(const char *dir, const struct lb_generation *g)
{
	_cleanup_free_ char *hidden = lb_asprintf("%s/.%s.removing.%d", dir, g->name, (int)getpid());

	if (rename(g->path, hidden) < 0)
		return lb_err(-errno, "%s: cannot remove: %s", g->path, strerror(errno));
	return lb_rm_rf(hidden);
}

int lb_gens_prune(const char *dir, uint32_t keep, void (*fn)(void *ud, const char *name), void *ud)
{
	struct lb_generation *g = NULL;
	size_t n = 0, kept = 0;
	int r, removed = 0;

	if (keep == 0)
		return 0;
	r = lb_gens_list(dir, &g, &n);
	if (r < 0)
		return r;
	/* newest first: everything older than the keep-th good one goes */
	for (size_t i = n; i-- > 0;) {
		if (kept < keep) {
			if (g[i].latest || good(g[i].path))
				kept++;
			continue;
		}
		if (g[i].latest)
			continue;
		r = remove_gen(dir, &g[i]);
		if (r < 0)
			break;
		removed++;
		if (fn)
			fn(ud, g[i].name);
	}
	lb_gens_free(g, n);
	return r < 0 ? r : removed;
}
