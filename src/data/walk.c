// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * A file tree walk with read-ahead, for archive capture. One thread walks
 * the tree (one filesystem, depth first, a directory before what is in it,
 * excluded paths and sockets left out) and queues what it finds; another
 * opens the regular files just ahead of the consumer and asks the kernel
 * to read them (readahead), so the many small reads of a tree of files are
 * in flight together instead of one after the other. The consumer takes
 * the entries in order; the read-ahead stays within a byte window of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "data/data.h"

#define QUEUE_CAP 8192			/* entries walked ahead of the consumer */
#define AHEAD_BYTES (96ull << 20)	/* file data read ahead of the consumer */
#define AHEAD_FILE (8ull << 20)		/* of one big file, its start */

struct slot {
	char *path;
	char *rel;
	struct stat st;
	uint64_t cum;		/* regular file bytes queued before this one */
};

struct lb_walk {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot q[QUEUE_CAP];
	uint64_t head;		/* next to be queued */
	uint64_t tail;		/* next to be taken */
	uint64_t ahead;		/* next for the reader to look at */
	uint64_t cum;		/* regular file bytes queued so far */
	bool walked;		/* the walk is over (or failed) */
	bool stop;
	int err;
	char *errmsg;
	char *root;
	char *const *exclude;
	size_t n_exclude;
	struct stat *exclude_st;	/* of those that exist: by inode too */
	size_t n_exclude_st;
	dev_t dev;
	pthread_t walker;
	/* one reader: readahead() only queues the reads, so one thread keeps
	 * many in flight; more (measured with 2, 4, 8, 16 on 2 cores) only took
	 * CPU from the compression and made the capture 5-10 % slower */
	pthread_t reader;
	bool has_reader;	/* without one, only the read-ahead is missed */
	struct slot held;	/* handed out by lb_walk_next */
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
	struct slot *s;

	pthread_mutex_lock(&w->lock);
	while (w->head - w->tail >= QUEUE_CAP && !w->stop)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		return false;
	}
	s = &w->q[w->head % QUEUE_CAP];
	s->path = lb_strdup(path);
	s->rel = lb_strdup(rel);
	s->st = *st;
	s->cum = w->cum;
	if (S_ISREG(st->st_mode))
		w->cum += (uint64_t)st->st_size;
	w->head++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
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

static void *walker_main(void *arg)
{
	struct lb_walk *w = arg;
	struct stat st;
	int r;

	if (lstat(w->root, &st) < 0)
		r = lb_err(-errno, "%s: %s", w->root, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		r = lb_err(-ENOTDIR, "%s: not a directory", w->root);
	else if (!put(w, w->root, "./", &st))
		r = 1;
	else
		r = walk_dir(w, w->root, "./");
	pthread_mutex_lock(&w->lock);
	if (r < 0) {
		w->err = r;
		w->errmsg = lb_strdup(lb_errmsg());
	}
	w->walked = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The reader: the next regular file within the window, opened and read
 * ahead; whatever fails here is only a missed read-ahead. */
static void *reader_main(void *arg)
{
	struct lb_walk *w = arg;

	for (;;) {
		_cleanup_free_ char *path = NULL;
		uint64_t size = 0;
		int fd;

		pthread_mutex_lock(&w->lock);
		for (;;) {
			struct slot *s;

			if (w->stop) {
				pthread_mutex_unlock(&w->lock);
				return NULL;
			}
			if (w->ahead < w->tail)
				w->ahead = w->tail;
			if (w->ahead == w->head) {
				if (w->walked) {
					pthread_mutex_unlock(&w->lock);
					return NULL;
				}
				pthread_cond_wait(&w->cond, &w->lock);
				continue;
			}
			s = &w->q[w->ahead % QUEUE_CAP];
			if (!S_ISREG(s->st.st_mode) || s->st.st_size == 0) {
				w->ahead++;
				continue;
			}
			/* far enough ahead: wait for the consumer */
			if (w->ahead > w->tail && s->cum - w->q[w->tail % QUEUE_CAP].cum > AHEAD_BYTES) {
				pthread_cond_wait(&w->cond, &w->lock);
				continue;
			}
			path = lb_strdup(s->path);
			size = (uint64_t)s->st.st_size;
			w->ahead++;
			break;
		}
		pthread_mutex_unlock(&w->lock);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_NOATIME);
		if (fd < 0)
			continue;
		readahead(fd, 0, size < AHEAD_FILE ? size : AHEAD_FILE);
		close(fd);
	}
}

int lb_walk_start(const char *root, char *const *exclude, size_t n_exclude, struct lb_walk **ret)
{
	struct lb_walk *w = lb_zalloc(sizeof(*w));
	struct stat st;

	if (stat(root, &st) < 0) {
		int e = lb_err(-errno, "%s: %s", root, strerror(errno));

		free(w);
		return e;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->root = lb_strdup(root);
	w->exclude = exclude;
	w->n_exclude = n_exclude;
	w->exclude_st = lb_realloc_array(NULL, n_exclude ? n_exclude : 1, sizeof(struct stat));
	for (size_t i = 0; i < n_exclude; i++)
		if (stat(exclude[i], &w->exclude_st[w->n_exclude_st]) == 0)
			w->n_exclude_st++;
	w->dev = st.st_dev;
	if (pthread_create(&w->walker, NULL, walker_main, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w->exclude_st);
		free(w->root);
		free(w);
		return lb_err(-EAGAIN, "cannot start a thread");
	}
	w->has_reader = pthread_create(&w->reader, NULL, reader_main, w) == 0;
	*ret = w;
	return 0;
}

static void slot_clear(struct slot *s)
{
	free(s->path);
	free(s->rel);
	s->path = s->rel = NULL;
}

int lb_walk_next(struct lb_walk *w, struct lb_walk_entry *ret)
{
	int r = 1;

	slot_clear(&w->held);
	pthread_mutex_lock(&w->lock);
	while (w->tail == w->head && !w->walked)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->tail < w->head) {
		w->held = w->q[w->tail % QUEUE_CAP];
		w->q[w->tail % QUEUE_CAP].path = w->q[w->tail % QUEUE_CAP].rel = NULL;
		w->tail++;
		pthread_cond_broadcast(&w->cond);
		ret->path = w->held.path;
		ret->rel = w->held.rel;
		ret->st = w->held.st;
	} else {
		r = w->err < 0 ? lb_err(w->err, "%s", w->errmsg) : 0;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void lb_walk_free(struct lb_walk *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->walker, NULL);
	if (w->has_reader)
		pthread_join(w->reader, NULL);
	for (uint64_t i = w->tail; i < w->head; i++)
		slot_clear(&w->q[i % QUEUE_CAP]);
	slot_clear(&w->held);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->errmsg);
	free(w->exclude_st);
	free(w->root);
	free(w);
}
