// SPDX-License-Identifier: GPL-3.0-or-later
/* A capture from start to its place:
 *
 *   destination → pre-capture hooks → partial directory → scan → data →
 *   manifest (read back) → verify → sync → rename into place →
 *   latest → prune → post-capture hooks
 *
 * The capture is built in PARENT/.NAME.partial.PID.TAG beside its
 * destination, held (lb_held_mkdir: a lock on it tells a running capture's
 * from one a killed capture left, in whatever PID namespace the next one
 * runs), and renamed to NAME only once it verified (the check 'lifeboat
 * verify' makes) and is on disk: a failed or interrupted capture never leaves
 * something that looks like one, and touches no earlier capture. With
 * --into, PARENT is the generations directory, locked for the whole run;
 * 'latest' moves to the new capture only after the rename, and old ones
 * are removed only after that. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "model/model.h"
#include "manifest/manifest.h"
#include "system/system.h"
#include "disk/disk.h"
#include "data/data.h"
#include "ops/ops.h"

struct run {
	const struct lb_capture_req *req;
	struct lb_capture_result *res;
	char *parent;		/* holds the destination and the partial */
	char *dest;
	char *tmp;		/* the partial directory */
	int tmpfd;		/* its lock */
	bool existed;		/* --output: an empty directory was there */
	int lockfd;
	int prelog;		/* the pre-capture hooks' records, until the log is */
	int logfd;
	struct lb_manifest *m;
	struct lb_kdf kdf;	/* encrypted: the KDF's parameters and salt */
	struct lb_key *key;	/* and the key (NULL: not encrypted) */
};

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *r;

	if (path[0] == '/') {
		r = lb_strdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		r = lb_asprintf("%s/%s", cwd, path);
	}
	while (strlen(r) > 1 && r[strlen(r) - 1] == '/')
		r[strlen(r) - 1] = '\0';
	return r;
}

/* --output DIR: must not exist, or be an empty directory (removed only
 * after the pre-capture hooks, so that they fail with nothing written). */
static int check_output(struct run *st)
{
	struct stat s;
	struct dirent *e;
	DIR *d;

	if (lstat(st->dest, &s) < 0)
		return errno == ENOENT ? 0 : lb_err(-errno, "%s: %s", st->dest, strerror(errno));
	if (!S_ISDIR(s.st_mode))
		return lb_err(-EEXIST, "%s exists and is not a directory", st->dest);
	d = opendir(st->dest);
	if (!d)
		return lb_err(-errno, "%s: %s", st->dest, strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			break;
	closedir(d);
	if (e)
		return lb_err(-EEXIST, "%s is not empty: will not overwrite a capture", st->dest);
	st->existed = true;
	return 0;
}

static int destination(struct run *st)
{
	const struct lb_capture_req *q = st->req;
	_cleanup_free_ char *name = NULL;
	int r;

	if (q->output) {
		_cleanup_free_ char *copy = NULL;

		st->dest = absolute(q->output);
		if (!st->dest)
			return lb_err(-errno, "cannot tell the working directory: %s", strerror(errno));
		copy = lb_strdup(st->dest);
		st->parent = lb_strdup(dirname(copy));
	} else {
		st->parent = absolute(q->into);
		if (!st->parent)
			return lb_err(-errno, "cannot tell the working directory: %s", strerror(errno));
	}
	r = lb_mkdir_p(st->parent, 0700);
	if (r < 0)
		return lb_err(r, "cannot create %s: %s", st->parent, strerror(-r));
	if (q->output) {
		r = check_output(st);
		if (r < 0)
			st->res->usage = true;
		return r;
	}
	r = lb_gens_lock(st->parent, &st->lockfd);
	if (r < 0)
		return r;
	r = lb_gens_new_name(st->parent, &name);
	if (r < 0)
		return r;
	st->dest = lb_asprintf("%s/%s", st->parent, name);
	return 0;
}

/* Clears what an interrupted run left, makes the partial directory and its
 * log (with the pre-capture hooks' records). */
static int begin(struct run *st)
{
	const char *name = strrchr(st->dest, '/') + 1;
	_cleanup_free_ char *prefix = NULL, *held = NULL;
	char buf[4096];
	ssize_t n;
	int r;

	/* --into: the directory is ours (locked); --output: only what a
	 * capture to the same name that is gone left */
	r = st->req->into ? lb_gens_clean_partial(st->parent)
			  : lb_gens_clean_dead_partial(st->parent, name, &held);
	if (r > 0)
		lb_info("removed %d partial capture%s an interrupted run left in %s", r,
			r == 1 ? "" : "s", st->parent);
	/* (both would write it: the one to finish last would fail then) */
	if (held)
		return lb_err(-EBUSY, "another capture to %s is running (in %s/%s, here or in "
				      "another PID namespace)", st->dest, st->parent, held);
	if (st->existed && rmdir(st->dest) < 0)
		return lb_err(-errno, "%s: %s", st->dest, strerror(errno));
	prefix = lb_asprintf("%s/.%s.partial.%d.", st->parent, name, (int)getpid());
	r = lb_held_mkdir(prefix, 0700, &st->tmp, &st->tmpfd);
	if (r < 0)
		return r;
	st->logfd = lb_log_open(st->tmp);
	if (st->logfd < 0)
		return st->logfd;
	lb_log(st->logfd, "capture %s: lifeboat %s", st->dest, LB_VERSION);
	lb_log(st->logfd, "data %s, compress %d, %zu disk%s named, %zu excluded, keep %u (0: all)",
	       st->req->data_mode, st->req->data->level, st->req->scan->n_disks,
	       st->req->scan->n_disks == 1 ? "" : "s", st->req->scan->n_exclude, st->req->keep);
	if (st->key)
		lb_log(st->logfd, "encrypted: %s, key by %s (time %u, memory %u KiB, lanes %u)",
		       LB_CIPHER_NAME, LB_KDF_NAME, st->kdf.time, st->kdf.memory, st->kdf.lanes);
	if (st->prelog >= 0 && lseek(st->prelog, 0, SEEK_SET) == 0)
		while ((n = read(st->prelog, buf, sizeof(buf))) > 0)
			if (write(st->logfd, buf, (size_t)n) != n)
				break;
	return 0;
}

static int count_volume(struct lb_disk *d, struct lb_partition *p, struct lb_volume *v, void *ud)
{
	(void)d;
	(void)p;
	(void)v;
	(*(unsigned *)ud)++;
	return 0;
}

static void snapshot_removed(void *ud, const char *vg, const char *lv)
{
	struct run *st = ud;

	lb_info("removed the snapshot %s/%s an interrupted capture left", vg, lv);
	lb_log(st->logfd, "removed the snapshot %s/%s an interrupted capture left", vg, lv);
}

/* Scan, data, manifest: the capture itself, into the partial directory.
 * LVM snapshots an interrupted capture left go first: they are not the
 * machine's, and its volume groups are recorded without them. */
static int capture(struct run *st)
{
	const struct lb_capture_req *q = st->req;
	_cleanup_free_ char *buf = NULL, *mpath = NULL;
	struct lb_manifest *check = NULL;
	size_t len = 0;
	int r;

	r = lb_lvsnap_cleanup(snapshot_removed, st);
	if (r < 0) {
		lb_warn("warning: %s", lb_errmsg());
		lb_log(st->logfd, "warning: %s", lb_errmsg());
	}
	q->scan->outdir = st->tmp;
	r = lb_scan(q->scan, &st->m);
	if (r < 0) {
		st->res->usage = q->scan->bad_args;
		return r;
	}
	/* the scan's artifacts (LUKS headers, LVM metadata, boot code) sealed
	 * now, not after hours of data: their plaintext lives no longer than
	 * that (the data files are encrypted as they are written) */
	if (st->key) {
		r = lb_manifest_seal_artifacts(st->m, st->tmp, st->key);
		if (r < 0)
			return lb_err(r, "cannot encrypt the capture: %s", lb_errmsg());
	}
	free(st->m->data_mode);
	st->m->data_mode = lb_strdup(q->data_mode);
	q->data->outdir = st->tmp;
	/* archives leave out the capture and, with --into, every generation */
	q->data->final_dir = q->into ? st->parent : st->dest;
	r = lb_data_capture(st->m, q->data);
	if (r < 0) {
		st->res->usage = r == -EBUSY;
		return r;
	}
	/* the data files are encrypted already; every other artifact now, in
	 * its place, before the manifest names it */
	if (st->key) {
		r = lb_manifest_seal_artifacts(st->m, st->tmp, st->key);
		if (r < 0)
			return lb_err(r, "cannot encrypt the capture: %s", lb_errmsg());
		lb_manifest_encrypted(st->m, &st->kdf, st->key);
	}
	for (size_t i = 0; i < st->m->n_rt_warnings; i++) {
		lb_warn("warning: %s", st->m->rt_warnings[i]);
		lb_log(st->logfd, "warning: %s", st->m->rt_warnings[i]);
	}
	for (size_t i = 0; st->m->system && i < st->m->system->n_notes; i++)
		lb_warn("note: %s", lb_esc(st->m->system->notes[i]));

	/* what is written must read back and validate, or it is no capture */
	if (st->key)
		lb_manifest_mac_prepare(st->m);
	r = lb_manifest_write_mem(st->m, &buf, &len);
	if (r >= 0 && st->key)
		r = lb_manifest_mac_fill(st->key, buf, len);
	if (r >= 0)
		r = lb_manifest_load_mem(buf, len, LB_MANIFEST_NAME, &check);
	lb_manifest_free(check);
	if (r < 0)
		return lb_err(r, "the manifest does not read back: %s", lb_errmsg());
	mpath = lb_asprintf("%s/%s", st->tmp, LB_MANIFEST_NAME);
	r = lb_write_file(mpath, buf, len, 0600);
	if (r < 0)
		return lb_err(r, "cannot write %s: %s", mpath, strerror(-r));
	st->res->n_disks = st->m->n_disks;
	lb_manifest_foreach_volume(st->m, count_volume, &st->res->n_volumes);
	return 0;
}

/* The check 'lifeboat verify' makes, on the partial directory as written. */
static int verify(struct run *st)
{
	struct lb_manifest *m = NULL;
	unsigned ok = 0, bad = 0;
	int r;

	r = lb_manifest_load(st->tmp, &m);
	if (r < 0)
		return lb_err(r, "the capture does not verify: %s", lb_errmsg());
	/* encrypted: checked with its key, every chunk opened */
	if (st->key) {
		struct lb_key *k = lb_zalloc(sizeof(*k));

		memcpy(k, st->key, sizeof(*k));
		lb_manifest_set_key(m, k);
		r = lb_manifest_mac_check(m, k);
		if (r < 0) {
			lb_manifest_free(m);
			return lb_err(r, "the capture does not verify: %s", lb_errmsg());
		}
	}
	r = lb_capture_verify(m, NULL, NULL, &ok, &bad);
	lb_manifest_free(m);
	if (r < 0)
		return lb_err(r, "the capture does not verify: %s", lb_errmsg());
	lb_log(st->logfd, "verified: %u artifact%s intact", ok, ok == 1 ? "" : "s");
	lb_debug("ops", "%s verified: %u artifacts intact", st->tmp, ok);
	return 0;
}

static int fsync_path(const char *path, int flags)
{
	_cleanup_close_ int fd = open(path, flags | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fsync(fd) < 0)
		return lb_err(-errno, "%s: cannot sync: %s", path, strerror(errno));
	return 0;
}

/* Every file, then the directory: on disk before it gets its name. */
static int sync_dir(const char *dir)
{
	struct dirent *e;
	int r = 0;
	DIR *d = opendir(dir);

	if (!d)
		return lb_err(-errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) && r >= 0) {
		_cleanup_free_ char *path = NULL;

		if (e->d_type != DT_REG)
			continue;
		path = lb_asprintf("%s/%s", dir, e->d_name);
		r = fsync_path(path, 0);
	}
	closedir(d);
	return r < 0 ? r : fsync_path(dir, O_DIRECTORY);
}

static void pruned(void *ud, const char *name)
{
	struct run *st = ud;

	lb_info("removed %s/%s (keeping the %u newest)", st->parent, name, st->req->keep);
	lb_log(st->logfd, "removed %s/%s (keeping the %u newest)", st->parent, name, st->req->keep);
}

/* Into place, then latest and retention. */
static int place(struct run *st)
{
	int r = sync_dir(st->tmp);

	if (r < 0)
		return r;
	lb_log(st->logfd, "complete: %s", st->dest);
	if (rename(st->tmp, st->dest) < 0)
		return lb_err(-errno, "cannot move the capture into place at %s: %s", st->dest,
			      strerror(errno));
	free(st->tmp);
	st->tmp = NULL;
	st->res->dir = lb_strdup(st->dest);
	fsync_path(st->parent, O_DIRECTORY);
	if (!st->req->into)
		return 0;
	r = lb_gens_set_latest(st->parent, strrchr(st->dest, '/') + 1);
	if (r >= 0)
		fsync_path(st->parent, O_DIRECTORY);
	if (r >= 0 && st->req->keep)
		r = lb_gens_prune(st->parent, st->req->keep, pruned, st);
	if (r < 0)
		lb_log(st->logfd, "%s", lb_errmsg());
	return r;
}

static int post_hooks(struct run *st)
{
	int r;

	if (!st->req->n_post)
		return 0;
	r = lb_hooks_run(st->req->post, st->req->n_post, "post-capture", st->dest,
			 st->req->hook_timeout, st->logfd, false);
	lb_log(st->logfd, "post-capture hooks: %s", r < 0 ? "failed" : "ok");
	if (r < 0)
		st->res->late_failure = true;
	return r;
}

static int steps(struct run *st)
{
	const struct lb_capture_req *q = st->req;
	int r = destination(st);

	if (r < 0)
		return r;
	/* the key before anything runs: a bad key file stops it all */
	if (q->key_file) {
		st->key = lb_zalloc(sizeof(*st->key));
		r = lb_kdf_init(&st->kdf);
		if (r >= 0)
			r = lb_key_from_file(q->key_file, &st->kdf, st->key);
		if (r < 0) {
			st->res->usage = r == -ENOENT || r == -EINVAL || r == -EPERM || r == -EFBIG;
			return lb_err(r, "%s: nothing captured", lb_errmsg());
		}
		q->data->key = st->key;
	}
	if (q->n_pre) {
		st->prelog = memfd_create("lifeboat-pre-capture", MFD_CLOEXEC);
		r = lb_hooks_run(q->pre, q->n_pre, "pre-capture", st->dest, q->hook_timeout,
				 st->prelog, q->pre_continue);
		if (r < 0 && !q->pre_continue)
			return lb_err(r, "%s: nothing captured", lb_errmsg());
		if (r < 0)
			lb_warn("a pre-capture hook failed; capturing all the same "
				"(pre-capture-failure = continue)");
	}
	r = begin(st);
	if (r >= 0)
		r = capture(st);
	if (r >= 0)
		r = verify(st);
	if (r >= 0)
		r = place(st);
	if (r < 0 && !st->res->dir)
		return r;
	/* in place: the capture is good whatever comes after */
	if (r < 0)
		st->res->late_failure = true;
	return r < 0 ? r : post_hooks(st);
}

int lb_capture_run(const struct lb_capture_req *req, struct lb_capture_result *res)
{
	struct run st = { .req = req, .res = res, .lockfd = -1, .tmpfd = -1, .prelog = -1,
			  .logfd = -1 };
	int r;

	memset(res, 0, sizeof(*res));
	if (!!req->output == !!req->into)
		return lb_err(-EINVAL, "a capture goes to one output directory or into one "
				       "directory of generations");
	r = steps(&st);
	if (r < 0 && st.logfd >= 0 && !res->dir)
		lb_log(st.logfd, "failed: %s", lb_errmsg());
	if (st.tmp) {
		lb_rm_rf(st.tmp);
		if (st.existed)
			mkdir(st.dest, 0700);
	}
	/* (after it is removed or in place) */
	if (st.tmpfd >= 0)
		close(st.tmpfd);
	if (st.logfd >= 0)
		close(st.logfd);
	if (st.prelog >= 0)
		close(st.prelog);
	if (st.lockfd >= 0)
		close(st.lockfd);
	lb_manifest_free(st.m);
	if (req->data)
		req->data->key = NULL;
	lb_key_wipe(st.key);
	free(st.key);
	free(st.parent);
	free(st.dest);
	free(st.tmp);
	return r;
}

void lb_capture_result_clear(struct lb_capture_result *r)
{
	free(r->dir);
	memset(r, 0, sizeof(*r));
}
