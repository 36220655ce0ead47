// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A file tree walk with read-ahead, for archive capture. One thread walks
 * the tree (one filesystem, depth first, a directory before what is in it,
 * excluded paths and sockets left out) and queues what it finds; another
 * takes the entries in order, opens each regular file and asks the kernel
 * to read it (readahead), so the many small reads of a tree of files are in
 * flight together instead of one after the other, and queues the entry on
 * for the consumer. That second queue is bounded by the files' bytes too:
 * the read-ahead stays within a byte window of the consumer.
 *
 *   walker --found (count)--> reader --ready (count, bytes)--> lb_walk_next
 *
 * Without a reader (its thread did not start) the walker queues straight
 * onto ready: only the read-ahead is missed. A walk that fails closes its
 * queue all the same: the consumer takes what was found, then the error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "data/data.h"

#define QUEUE_CAP 8192			/* entries walked ahead of the consumer */
#define AHEAD_BYTES (96ull << 20)	/* file data read ahead of the consumer */
#define AHEAD_FILE (8ull << 20)		/* of one big file, its start */

struct item {
	char *path;
	char *rel;
	struct stat st;
};

struct lb_walk {
	struct lb_queue *found;	/* walker -> reader */
	struct lb_queue *ready;	/* reader (or walker) -> consumer */
	struct lb_queue *out;	/* the walker's: found, or ready without a reader */
	struct lb_pool *pool;
	char *root;
	char *rel_root;		/* the root's archive name: "./", "./home" */
	char *rel_dir;		/* what is in it: "./", "./home/" */
	char *const *exclude;
	size_t n_exclude;
	struct stat *exclude_st;	/* of those that exist: by inode too */
	size_t n_exclude_st;
	dev_t dev;
	/* one reader: readahead() only queues the reads, so one thread keeps
	 * many in flight; more (measured with 2, 4, 8, 16 on 2 cores) only took
	 * CPU from the compression and made the capture 5-10 % slower */
	struct item *held;	/* handed out by lb_walk_next */
};

/* By name, and by inode: the capture directory is left out even when it is
 * reached by another path (a bind mount, a symlinked parent, "..") */
static bool excluded(const struct lb_walk *w, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < w->n_exclude_st; i++)
		if (st->st_dev == w->exclude_st[i].st_dev && st->st_ino == w->exclude_st[i].st_ino)
			return true;
	for (size_t i = 0; i < w->n_exclude; i++) {
		size_t len = strlen(w->exclude[i]);

		if (len && strncmp(path, w->exclude[i], len) == 0 &&
		    (path[len] == '\0' || path[len] == '/'))
			return true;
	}
	return false;
}

/* Queues one entry; false when the consumer is gone. */
static bool put(struct lb_walk *w, const char *path, const char *rel, const struct stat *st)
{
	size_t lp = strlen(path) + 1, lr = strlen(rel) + 1;
	struct item *it = lb_zalloc(sizeof(*it) + lp + lr);

	it->path = (char *)(it + 1);
	it->rel = it->path + lp;
	memcpy(it->path, path, lp);
	memcpy(it->rel, rel, lr);
	it->st = *st;
	if (lb_queue_push(w->out, it) < 0) {
		free(it);
		return false;
	}
	return true;
}

/* Walks the directory at path (rel: its archive name, ending in '/'):
 * its entries, each followed by what is in it. Returns < 0 on a failure
 * worth stopping for, with lb_err(); 1 when the consumer is gone. */
static int walk_dir(struct lb_walk *w, const char *path, const char *rel)
{
	DIR *d = opendir(path);
	const char *sep;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int r = 0;

	if (!d) {
		/* gone since it was seen: a live system changes */
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return lb_err(-errno, "%s: cannot read the directory: %s", path, strerror(errno));
	}
	/* the names first, so no directory stays open while its
	 * subdirectories are walked (deep trees need no more descriptors) */
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = lb_realloc_array(names, n + 1, sizeof(*names));
		names[n++] = lb_strdup(de->d_name);
		errno = 0;
	}
	if (errno)
		r = lb_err(-errno, "%s: cannot read the directory: %s", path, strerror(errno));
	closedir(d);
	sep = path[strlen(path) - 1] == '/' ? "" : "/";
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *p = lb_asprintf("%s%s%s", path, sep, names[i]);
		_cleanup_free_ char *rp = lb_asprintf("%s%s", rel, names[i]);
		struct stat st;

		if (lstat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			r = lb_err(-errno, "%s: %s", p, strerror(errno));
			break;
		}
		if (excluded(w, p, &st))
			continue;
		/* sockets live only while their program runs: nothing to keep */
		if (S_ISSOCK(st.st_mode))
			continue;
		if (!put(w, p, rp, &st)) {
			r = 1;
			break;
		}
		/* one filesystem: a mount point is recorded, not entered */
		if (S_ISDIR(st.st_mode) && st.st_dev == w->dev) {
			_cleanup_free_ char *rd = lb_asprintf("%s/", rp);

			r = walk_dir(w, p, rd);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* The walker: the tree into w->out, then the queue closed, whatever the
 * end; a failure is the pool's error, for the consumer once it has taken
 * what came before. */
static int walker_main(void *ud, unsigned idx)
{
	struct lb_walk *w = ud;
	struct stat st;
	int r;

	(void)idx;
	if (lstat(w->root, &st) < 0)
		r = lb_err(-errno, "%s: %s", w->root, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		r = lb_err(-ENOTDIR, "%s: not a directory", w->root);
	else if (!put(w, w->root, w->rel_root, &st))
		r = 1;
	else
		r = walk_dir(w, w->root, w->rel_dir);
	lb_queue_close(w->out);
	return r < 0 ? r : 0;
}

/* The reader: each regular file opened and read ahead, then handed on
 * weighing its size; whatever fails here is only a missed read-ahead. */
static int reader_main(void *ud, unsigned idx)
{
	struct lb_walk *w = ud;
	void *p;
	int r;

	(void)idx;
	while ((r = lb_queue_pop(w->found, &p)) > 0) {
		struct item *it = p;
		uint64_t size = S_ISREG(it->st.st_mode) ? (uint64_t)it->st.st_size : 0;

		if (size) {
			int fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
							O_NONBLOCK | O_NOATIME);

			if (fd >= 0) {
				readahead(fd, 0, size < AHEAD_FILE ? size : AHEAD_FILE);
				close(fd);
			}
		}
		r = lb_queue_push_weighted(w->ready, it, size);
		if (r < 0) {
			free(it);
			return r;
		}
	}
	if (r == 0)
		lb_queue_close(w->ready);
	return r;
}

static void walk_destroy(struct lb_walk *w)
{
	/* (the threads stop at their next push or pop; the pool cancelled
	 * first, so that is no error) */
	lb_pool_cancel(w->pool);
	if (w->found)
		lb_queue_cancel(w->found);
	if (w->ready)
		lb_queue_cancel(w->ready);
	lb_pool_free(w->pool);
	lb_queue_free_all(w->found, free);
	lb_queue_free_all(w->ready, free);
	free(w->held);
	free(w->exclude_st);
	free(w->root);
	free(w->rel_root);
	free(w->rel_dir);
	free(w);
}

int lb_walk_start(const char *root, char *const *exclude, size_t n_exclude, struct lb_walk **ret)
{
	return lb_walk_start_at(root, NULL, exclude, n_exclude, true, ret);
}

int lb_walk_start_at(const char *root, const char *prefix, char *const *exclude, size_t n_exclude,
		     bool ahead, struct lb_walk **ret)
{
	struct lb_walk *w = lb_zalloc(sizeof(*w));
	struct stat st;

	if (stat(root, &st) < 0) {
		int e = lb_err(-errno, "%s: %s", root, strerror(errno));

		free(w);
		return e;
	}
	w->root = lb_strdup(root);
	w->rel_root = prefix && *prefix ? lb_asprintf("./%s", prefix) : lb_strdup("./");
	w->rel_dir = prefix && *prefix ? lb_asprintf("./%s/", prefix) : lb_strdup("./");
	w->exclude = exclude;
	w->n_exclude = n_exclude;
	w->exclude_st = lb_realloc_array(NULL, n_exclude ? n_exclude : 1, sizeof(struct stat));
	for (size_t i = 0; i < n_exclude; i++)
		if (stat(exclude[i], &w->exclude_st[w->n_exclude_st]) == 0)
			w->n_exclude_st++;
	w->dev = st.st_dev;
	w->found = lb_queue_new(QUEUE_CAP);
	w->ready = lb_queue_new(QUEUE_CAP);
	lb_queue_set_max_weight(w->ready, AHEAD_BYTES);
	w->pool = lb_pool_new();
	/* the reader first: the walker queues for it only when it runs */
	w->out = ahead && lb_pool_start(w->pool, 1, reader_main, w) == 0 ? w->found : w->ready;
	if (lb_pool_start(w->pool, 1, walker_main, w) < 0) {
		walk_destroy(w);
		return lb_err(-EAGAIN, "cannot start a thread");
	}
	*ret = w;
	return 0;
}

int lb_walk_next(struct lb_walk *w, struct lb_walk_entry *ret)
{
	void *p;
	int r;

	free(w->held);
	w->held = NULL;
	r = lb_queue_pop(w->ready, &p);
	if (r > 0) {
		w->held = p;
		ret->path = w->held->path;
		ret->rel = w->held->rel;
		ret->st = w->held->st;
		return 1;
	}
	/* the end: the walker is done (its queue was closed before this
	 * one), so its error, if any, is known */
	r = lb_pool_wait(w->pool);
	return r < 0 ? r : 0;
}

void lb_walk_free(struct lb_walk *w)
{
	if (w)
		walk_destroy(w);
}
